/*
 * test_spool_concurrent.c — several processes on one spool.
 *
 * N forked consumers race to claim M entries: each records what it claimed
 * (and checked the entry's contents) in its own file; every entry must be
 * claimed exactly once and the spool must end empty. A second test runs
 * writers and consumers at the same time, the consumers sleeping in
 * spool_wait (inotify hint) between rescans, as callscope-decode does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "spool.h"
#include "spool_testutil.h"
#include "testsupport.h"

typedef struct fx {
    char dir[256];
    char root[300];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || ts_mkdtemp(f->dir, sizeof f->dir, "spoolx") != 0)
        return -1;
    snprintf(f->root, sizeof f->root, "%s/spool", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ts_rmrf(f->dir);
    free(f);
    return 0;
}

static int put(spool *sp, const char *name)
{
    spool_entry *e = NULL;
    int rc = spool_begin(sp, name, &e);
    if (rc == CS_OK)
        rc = spool_add_file(e, "call.json", name, strlen(name));
    return rc == CS_OK ? spool_commit(e) : (spool_abort(e), rc);
}

/* Claims, checks call.json == name, finishes, appends name to out_fd.
 * Returns 1 if claimed, 0 if lost, -1 on error. */
static int consume_one(spool *sp, const char *name, int out_fd)
{
    int rc = spool_claim(sp, name);
    if (rc == CS_ERR_NOTFOUND || rc == CS_ERR_BUSY)
        return 0;
    if (rc != CS_OK)
        return -1;
    int fd = -1;
    if (spool_claimed_open(sp, name, "call.json", &fd) != CS_OK)
        return -1;
    char buf[SPOOL_NAME_MAX + 2];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n != (ssize_t)strlen(name) || memcmp(buf, name, (size_t)n) != 0)
        return -1;
    if (spool_finish(sp, name) != CS_OK)
        return -1;
    char line[SPOOL_NAME_MAX + 2];
    int len = snprintf(line, sizeof line, "%s\n", name);
    if (write(out_fd, line, (size_t)len) != len)
        return -1;
    return 1;
}

/* Consumer process body. stop_file: exit only when it exists and ready/ is empty
 * (NULL: exit at the first empty scan). */
static void consumer_main(const char *root, const char *out_path, const char *stop_file)
{
    spool *sp = NULL;
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    if (out < 0 || spool_open(root, SPOOL_CONSUMER | (stop_file ? SPOOL_NOTIFY : 0), &sp) != CS_OK)
        _exit(2);
    spool_item items[8];
    for (;;) {
        size_t n = 0;
        if (spool_scan(sp, items, 8, &n, NULL) != CS_OK)
            _exit(3);
        if (n == 0) {
            if (stop_file == NULL || access(stop_file, F_OK) == 0) {
                /* One more scan after seeing the stop file closes the race. */
                if (spool_scan(sp, items, 8, &n, NULL) != CS_OK)
                    _exit(3);
                if (n == 0)
                    break;
            } else {
                int rc = spool_wait(sp, 50);
                if (rc != CS_OK && rc != CS_ERR_TIMEOUT)
                    _exit(4);
                continue;
            }
        }
        for (size_t i = 0; i < n; i++)
            if (consume_one(sp, items[i].name, out) < 0)
                _exit(5);
    }
    spool_stats st;
    spool_get_stats(sp, &st);
    char line[64];
    int len = snprintf(line, sizeof line, "#lost %llu\n", (unsigned long long)st.claim_lost);
    if (write(out, line, (size_t)len) != len)
        _exit(6);
    spool_close(sp);
    close(out);
    _exit(0);
}

/* Reads every consumer's file; counts[i] += times entry i was claimed. */
/* Lines are "call-<i>" (per_writer 0) or "w<w>-<i>" (index w * per_writer + i). */
static unsigned long long tally(const fx *f, int nconsumers, int *counts, int nentries,
                                int per_writer)
{
    unsigned long long lost = 0;
    for (int c = 0; c < nconsumers; c++) {
        char p[SU_PATH];
        snprintf(p, sizeof p, "%s/claimed.%d", f->dir, c);
        size_t len = 0;
        char *txt = ts_read_file(p, &len);
        assert_non_null(txt);
        for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
            unsigned long long l;
            int w = 0, i = -1;
            if (sscanf(line, "#lost %llu", &l) == 1) {
                lost += l;
                continue;
            }
            if (per_writer)
                assert_int_equal(sscanf(line, "w%d-%d", &w, &i), 2);
            else
                assert_int_equal(sscanf(line, "call-%d", &i), 1);
            int idx = w * per_writer + i;
            assert_true(idx >= 0 && idx < nentries);
            counts[idx]++;
        }
        free(txt);
    }
    return lost;
}

static void test_consumers_race(void **state)
{
    fx *f = *state;
    enum { M = 400, N = 4 };
    spool *sp = NULL;
    assert_int_equal(spool_open(f->root, 0, &sp), CS_OK);
    char name[32];
    for (int i = 0; i < M; i++) {
        snprintf(name, sizeof name, "call-%04d", i);
        assert_int_equal(put(sp, name), CS_OK);
    }
    /* All entries share a few mtimes: every consumer sees the same scan
     * order, which maximises collisions. */
    pid_t pids[N];
    for (int c = 0; c < N; c++) {
        pids[c] = fork();
        assert_true(pids[c] >= 0);
        if (pids[c] == 0) {
            char out[SU_PATH];
            snprintf(out, sizeof out, "%s/claimed.%d", f->dir, c);
            consumer_main(f->root, out, NULL);
        }
    }
    for (int c = 0; c < N; c++) {
        int status;
        assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    int counts[M] = {0};
    unsigned long long lost = tally(f, N, counts, M, 0);
    for (int i = 0; i < M; i++)
        if (counts[i] != 1)
            fail_msg("call-%04d claimed %d times", i, counts[i]);
    assert_int_equal(su_count(f->root, "ready"), 0);
    assert_int_equal(su_count(f->root, "active"), 0);
    assert_int_equal(su_count(f->root, "tmp"), 0);
    print_message("%d consumers, %d entries: each claimed once, %llu claims lost to a rival\n", N,
                  M, lost);
    spool_close(sp);
}

static void test_writers_and_consumers(void **state)
{
    fx *f = *state;
    enum { W = 2, PER = 150, C = 3 };
    char stop[SU_PATH];
    snprintf(stop, sizeof stop, "%s/writers-done", f->dir);
    spool *sp = NULL;
    assert_int_equal(spool_open(f->root, 0, &sp), CS_OK); /* creates the layout */
    pid_t cons[C], wr[W];
    for (int c = 0; c < C; c++) {
        cons[c] = fork();
        assert_true(cons[c] >= 0);
        if (cons[c] == 0) {
            char out[SU_PATH];
            snprintf(out, sizeof out, "%s/claimed.%d", f->dir, c);
            consumer_main(f->root, out, stop);
        }
    }
    for (int w = 0; w < W; w++) {
        wr[w] = fork();
        assert_true(wr[w] >= 0);
        if (wr[w] == 0) {
            spool *ws = NULL;
            if (spool_open(f->root, 0, &ws) != CS_OK)
                _exit(2);
            char name[32];
            for (int i = 0; i < PER; i++) {
                snprintf(name, sizeof name, "w%d-%04d", w, i);
                if (put(ws, name) != CS_OK)
                    _exit(3);
                if (i % 16 == 0)
                    usleep(2000);
            }
            spool_close(ws);
            _exit(0);
        }
    }
    for (int w = 0; w < W; w++) {
        int status;
        assert_int_equal(waitpid(wr[w], &status, 0), wr[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(ts_write_file(stop, "", 0), 0);
    for (int c = 0; c < C; c++) {
        int status;
        assert_int_equal(waitpid(cons[c], &status, 0), cons[c]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    int counts[W * PER] = {0};
    tally(f, C, counts, W * PER, PER);
    for (int i = 0; i < W * PER; i++)
        if (counts[i] != 1)
            fail_msg("w%d-%04d claimed %d times", i / PER, i % PER, counts[i]);
    assert_int_equal(su_count(f->root, "ready"), 0);
    assert_int_equal(su_count(f->root, "active"), 0);
    assert_int_equal(su_count(f->root, "tmp"), 0);
    spool_close(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_consumers_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writers_and_consumers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
