/*
 * test_wq.c — capture/wq.c, the call.pcap write queue.
 *
 * Real files in a temporary directory, real writer thread. Each test runs
 * threaded and unthreaded (the same bytes must come out):
 *   - many files fed blocks interleaved, with partial last blocks and a queue
 *     smaller than the number of blocks (wq_submit must wait for room): every
 *     file holds exactly its bytes in order once wq_wait returns for it, even
 *     while other files still have blocks queued;
 *   - a file whose writes fail (a read-only descriptor): wq_wait says
 *     CS_ERR_IO, wq_file_failed is set, later blocks of that file are dropped
 *     and counted, the other files are unharmed;
 *   - wq_free with blocks still queued writes them all before it returns;
 *   - blocks are recycled: unthreaded one block goes round, threaded far
 *     fewer blocks are allocated than jobs queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "testsupport.h"
#include "wq.h"

#define NFILES 13
#define BLOCK  512

/* the byte at offset i of file f */
static uint8_t pattern(int f, size_t i)
{
    return (uint8_t)(f * 31 + i * 7 + i / 251);
}

static void open_files(const char *dir, int *fds, int flags)
{
    char path[512];
    for (int f = 0; f < NFILES; f++) {
        snprintf(path, sizeof path, "%s/f%d", dir, f);
        fds[f] = open(path, flags, 0640);
        assert_true(fds[f] >= 0);
    }
}

static void check_file(const char *dir, int f, size_t want)
{
    char path[512];
    snprintf(path, sizeof path, "%s/f%d", dir, f);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t n = 0;
    int c;
    while ((c = fgetc(fp)) != EOF) {
        if ((uint8_t)c != pattern(f, n)) {
            fail_msg("file %d: byte %zu is %d, want %d", f, n, c, pattern(f, n));
        }
        n++;
    }
    fclose(fp);
    assert_int_equal(n, want);
}

/* Feeds each file (f + 1) * 1000 + f bytes in blocks of at most BLOCK,
 * round robin; file 0 is waited for halfway while the others go on. */
static void run_order(int threaded)
{
    char dir[256];
    int fds[NFILES];
    wq_file wf[NFILES];
    size_t done[NFILES] = {0};
    size_t want[NFILES];

    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "wq"), 0);
    open_files(dir, fds, O_WRONLY | O_CREAT | O_TRUNC);
    wq *q = wq_new(BLOCK, 4, 2, threaded);
    assert_non_null(q);
    assert_int_equal(wq_block_size(q), BLOCK);
    for (int f = 0; f < NFILES; f++) {
        wq_file_init(&wf[f], fds[f]);
        want[f] = (size_t)(f + 1) * 1000 + (size_t)f;
    }
    int waited0 = 0;
    for (int more = 1; more;) {
        more = 0;
        for (int f = 0; f < NFILES; f++) {
            if (done[f] == want[f]) {
                continue;
            }
            uint8_t *b = wq_block(q);
            assert_non_null(b);
            size_t n = want[f] - done[f] < BLOCK ? want[f] - done[f] : BLOCK;
            if (f % 3 == 1 && n > 100) {
                n -= 100; /* uneven block sizes */
            }
            for (size_t i = 0; i < n; i++) {
                b[i] = pattern(f, done[f] + i);
            }
            /* a file's last block as a committed call's: written at once, after the queued */
            if (done[f] + n == want[f])
                assert_int_equal(wq_submit_sync(q, &wf[f], b, n), CS_OK);
            else
                assert_int_equal(wq_submit(q, &wf[f], b, n), CS_OK);
            done[f] += n;
            more |= done[f] < want[f];
        }
        if (!waited0 && done[0] == want[0]) {
            waited0 = 1;
            assert_int_equal(wq_wait(q, &wf[0]), CS_OK);
            check_file(dir, 0, want[0]); /* complete while others are queued */
        }
    }
    for (int f = 0; f < NFILES; f++) {
        assert_int_equal(wq_wait(q, &wf[f]), CS_OK);
        assert_int_equal(wq_file_failed(&wf[f]), 0);
        check_file(dir, f, want[f]);
        close(fds[f]);
    }
    wq_stats st;
    wq_get_stats(q, &st);
    size_t total = 0;
    for (int f = 0; f < NFILES; f++) {
        total += want[f];
    }
    assert_int_equal(st.bytes, total);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.sync_jobs, NFILES);
    /* blocks are recycled: unthreaded the one block goes round; threaded,
     * far fewer blocks than jobs (a block beyond the free list's 4 is freed
     * and a later one malloc'd again, so there is no exact bound) */
    if (threaded)
        assert_true(st.blocks_allocated < st.jobs / 2);
    else
        assert_int_equal(st.blocks_allocated, 1);
    printf("# threaded %d: %llu jobs, %llu full waits, %llu blocks allocated\n", threaded,
           (unsigned long long)st.jobs, (unsigned long long)st.full_waits,
           (unsigned long long)st.blocks_allocated);
    wq_free(q);
    ts_rmrf(dir);
}

static void test_order_threaded(void **state)
{
    (void)state;
    run_order(1);
}

static void test_order_unthreaded(void **state)
{
    (void)state;
    run_order(0);
}

/* File 1 is opened read-only: every write to it fails. */
static void run_failure(int threaded)
{
    char dir[256], path[512];
    int fds[2];
    wq_file wf[2];

    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "wq"), 0);
    snprintf(path, sizeof path, "%s/f0", dir);
    fds[0] = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    snprintf(path, sizeof path, "%s/f1", dir);
    fds[1] = open(path, O_RDONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fds[0] >= 0 && fds[1] >= 0);
    wq *q = wq_new(BLOCK, 8, 1, threaded);
    assert_non_null(q);
    wq_file_init(&wf[0], fds[0]);
    wq_file_init(&wf[1], fds[1]);
    size_t off = 0;
    for (int k = 0; k < 6; k++) {
        for (int f = 0; f < 2; f++) {
            uint8_t *b = wq_block(q);
            assert_non_null(b);
            for (size_t i = 0; i < BLOCK; i++) {
                b[i] = pattern(f, off + i);
            }
            int rc = wq_submit(q, &wf[f], b, BLOCK);
            if (f == 0 || threaded) {
                assert_int_equal(rc, CS_OK); /* threaded: errors show later */
            } else {
                assert_int_equal(rc, CS_ERR_IO);
            }
        }
        off += BLOCK;
        if (k == 2) {
            assert_int_equal(wq_wait(q, &wf[1]), CS_ERR_IO);
            assert_int_equal(wq_file_failed(&wf[1]), 1);
        }
    }
    /* a last block written at once: to the failed file, an error (and nothing written) */
    uint8_t *b = wq_block(q);
    assert_non_null(b);
    assert_int_equal(wq_submit_sync(q, &wf[1], b, BLOCK), CS_ERR_IO);
    assert_int_equal(wq_wait(q, &wf[1]), CS_ERR_IO);
    assert_int_equal(wq_wait(q, &wf[0]), CS_OK);
    check_file(dir, 0, 6 * BLOCK);
    wq_stats st;
    wq_get_stats(q, &st);
    assert_true(st.dropped >= 3); /* the blocks queued after the failure was known */
    wq_free(q);
    close(fds[0]);
    close(fds[1]);
    ts_rmrf(dir);
}

static void test_failure_threaded(void **state)
{
    (void)state;
    run_failure(1);
}

static void test_failure_unthreaded(void **state)
{
    (void)state;
    run_failure(0);
}

/* wq_free with jobs queued and the writer possibly asleep (a wake batch
 * larger than what is queued): everything is written before it returns. */
static void test_free_flushes(void **state)
{
    (void)state;
    char dir[256];
    int fds[NFILES];
    wq_file wf[NFILES];

    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "wq"), 0);
    open_files(dir, fds, O_WRONLY | O_CREAT | O_TRUNC);
    wq *q = wq_new(BLOCK, 64, 64, 1);
    assert_non_null(q);
    for (int f = 0; f < NFILES; f++) {
        wq_file_init(&wf[f], fds[f]);
        uint8_t *b = wq_block(q);
        assert_non_null(b);
        for (size_t i = 0; i < 100; i++) {
            b[i] = pattern(f, i);
        }
        assert_int_equal(wq_submit(q, &wf[f], b, 100), CS_OK);
    }
    uint8_t *spare = wq_block(q);
    wq_put(q, spare); /* a block given back unused */
    wq_put(q, NULL);
    wq_free(q);
    for (int f = 0; f < NFILES; f++) {
        check_file(dir, f, 100);
        close(fds[f]);
    }
    ts_rmrf(dir);
}

/* Blocks come from 2 MB chunks: 300 blocks of 16 KB span three chunks, none
 * overlaps another (each keeps its own pattern), given back they are reused
 * (no new block carved), and wq_free frees the ones never given back (ASan's
 * leak check in build/asan). */
static void test_block_pool(void **state)
{
    (void)state;
    enum { N = 300, BS = 16384 };
    wq *q = wq_new(BS, 8, 1, 1);
    assert_non_null(q);
    static uint8_t *b[N];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            b[i] = wq_block(q);
            assert_non_null(b[i]);
            memset(b[i], (i * 7 + round) & 0xff, BS);
        }
        for (int i = 0; i < N; i++) {
            for (size_t k = 0; k < BS; k += 997) {
                assert_int_equal(b[i][k], (i * 7 + round) & 0xff);
            }
            assert_int_equal(b[i][BS - 1], (i * 7 + round) & 0xff);
        }
        wq_stats st;
        wq_get_stats(q, &st);
        assert_int_equal(st.blocks_allocated, N); /* round 1: all reused */
        for (int i = 0; i < N - 10; i++) {
            wq_put(q, b[i]);
        }
        if (round == 0) {
            for (int i = N - 10; i < N; i++) {
                wq_put(q, b[i]);
            }
        }
    }
    wq_free(q); /* 10 blocks still out: freed with their chunk */
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_null(wq_new(0, 4, 1, 0));
    assert_null(wq_new(BLOCK, 0, 1, 0));
    assert_null(wq_new(BLOCK, 4, 0, 0));
    assert_null(wq_new(BLOCK, 4, 5, 0));
    wq_free(NULL);
    /* an unused queue never starts its thread and frees cleanly */
    wq *q = wq_new(BLOCK, 4, 4, 1);
    assert_non_null(q);
    wq_file wf;
    wq_file_init(&wf, -1);
    assert_int_equal(wq_wait(q, &wf), CS_OK);
    wq_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_threaded),   cmocka_unit_test(test_order_unthreaded),
        cmocka_unit_test(test_failure_threaded), cmocka_unit_test(test_failure_unthreaded),
        cmocka_unit_test(test_free_flushes),     cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_block_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
