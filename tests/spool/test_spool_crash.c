/*
 * test_spool_crash.c — SIGKILL at every step of the spool protocols.
 *
 * A forked writer (or consumer) installs a step hook (spool_testhook.h) that
 * raises SIGKILL when step k is reached; the parent then looks at the spool as
 * the next process would: a scan before recovery must never show a half entry,
 * and after spool_recover the outcome must be exactly the one documented in
 * docs/spool.md for that step (no entry, or one whole entry with every file
 * byte-exact). A last test kills writers at random moments from outside.
 *
 * What this cannot show: a power loss (the page cache survives SIGKILL). The
 * fsync order that covers power loss is checked by reading the code and by
 * the step order the hooks observe (test_step_order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "spool.h"
#include "spool_testhook.h"
#include "spool_testutil.h"
#include "testsupport.h"

#define PCAP_LEN (1024 * 1024 + 7)
#define META_LEN (200 * 1000)

typedef struct fx {
    char dir[256];
    char root[300];
    unsigned char *pcap; /* expected call.pcap */
    unsigned char *meta; /* expected meta.bin */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || ts_mkdtemp(f->dir, sizeof f->dir, "spoolk") != 0)
        return -1;
    snprintf(f->root, sizeof f->root, "%s/spool", f->dir);
    f->pcap = malloc(PCAP_LEN);
    f->meta = malloc(META_LEN);
    if (!f->pcap || !f->meta)
        return -1;
    su_fill(f->pcap, PCAP_LEN, 7);
    su_fill(f->meta, META_LEN, 8);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ts_rmrf(f->dir);
    free(f->pcap);
    free(f->meta);
    free(f);
    return 0;
}

static const char JSON[] = "{\"uuid\":\"call-1\",\"ani\":\"5551234\"}\n";

typedef struct kill_at {
    spool_step step;
    int nth; /* kill at the nth time this step is reached (1-based) */
    int seen;
    int trace_fd; /* if >= 0, every step is written here as one byte */
} kill_at;

static void hook_kill(spool_step step, void *arg)
{
    kill_at *k = arg;
    if (k->trace_fd >= 0) {
        unsigned char b = (unsigned char)step;
        if (write(k->trace_fd, &b, 1) != 1)
            _exit(3);
    }
    if (step == k->step && ++k->seen == k->nth)
        raise(SIGKILL);
}

/* The writer's whole job: call.json via stdio, call.pcap from memory (the hook
 * sees FILE_HALF there), meta.bin streamed through the fd in chunks. */
static int write_call(spool *sp, const fx *f, const char *name)
{
    spool_entry *e = NULL;
    int rc = spool_begin(sp, name, &e);
    if (rc != CS_OK)
        return rc;
    FILE *fp = NULL;
    if ((rc = spool_fopen(e, "call.json", &fp)) != CS_OK) {
        spool_abort(e);
        return rc;
    }
    fputs(JSON, fp);
    rc = spool_add_file(e, "call.pcap", f->pcap, PCAP_LEN);
    int fd = -1;
    if (rc == CS_OK)
        rc = spool_open_fd(e, "meta.bin", &fd);
    for (size_t off = 0; rc == CS_OK && off < META_LEN; off += 4096) {
        size_t n = META_LEN - off < 4096 ? META_LEN - off : 4096;
        if (write(fd, f->meta + off, n) != (ssize_t)n)
            rc = CS_ERR_IO;
    }
    if (rc != CS_OK) {
        spool_abort(e);
        return rc;
    }
    return spool_commit(e);
}

static int entry_whole(const fx *f, const char *sub, const char *name)
{
    char list[256], p[300];
    snprintf(p, sizeof p, "%s/%s", sub, name);
    su_list(list, sizeof list, f->root, p);
    return strcmp(list, "call.json,call.pcap,meta.bin") == 0 &&
           su_file_equals(f->root, sub, name, "call.json", JSON, sizeof JSON - 1) &&
           su_file_equals(f->root, sub, name, "call.pcap", f->pcap, PCAP_LEN) &&
           su_file_equals(f->root, sub, name, "meta.bin", f->meta, META_LEN);
}

/* Forks a child that runs `body` with a hook killing it at (step, nth).
 * Returns the raw wait status. */
static int run_child(const fx *f, spool_step step, int nth, int consumer,
                     int (*body)(spool *, const fx *))
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        spool *sp = NULL;
        if (spool_open(f->root, consumer ? SPOOL_CONSUMER : 0, &sp) != CS_OK)
            _exit(2);
        kill_at k = {step, nth, 0, -1};
        spool_set_step_hook(sp, hook_kill, &k);
        int rc = body(sp, f);
        spool_close(sp);
        _exit(rc == CS_OK ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static int body_write(spool *sp, const fx *f)
{
    return write_call(sp, f, "call-1");
}

static void assert_killed(int status)
{
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void test_writer_killed_at_each_step(void **state)
{
    fx *f = *state;
    static const struct {
        spool_step step;
        int visible; /* entry in ready/ afterwards */
    } cases[] = {
        {SPOOL_STEP_TMPDIR_CREATED, 0}, {SPOOL_STEP_FILE_HALF, 0}, {SPOOL_STEP_FILES_WRITTEN, 0},
        {SPOOL_STEP_SYNCED, 0},         {SPOOL_STEP_RENAMED, 1},   {SPOOL_STEP_COMMITTED, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ts_rmrf(f->root);
        spool *sp = NULL;
        assert_int_equal(spool_open(f->root, SPOOL_CONSUMER, &sp), CS_OK);
        int status = run_child(f, cases[i].step, 1, 0, body_write);
        assert_killed(status);

        /* Before recovery: ready/ holds nothing or the whole entry. */
        spool_item it[4];
        size_t n = 9;
        assert_int_equal(spool_scan(sp, it, 4, &n, NULL), CS_OK);
        assert_int_equal(n, (size_t)cases[i].visible);
        if (n == 1)
            assert_true(entry_whole(f, "ready", "call-1"));
        assert_int_equal(su_count(f->root, "tmp"), cases[i].visible ? 0 : 1);

        spool_recovery rep;
        assert_int_equal(spool_recover(sp, 0, &rep), CS_OK);
        assert_int_equal(rep.tmp_removed, cases[i].visible ? 0 : 1);
        assert_int_equal(rep.active_to_ready, 0);
        assert_int_equal(su_count(f->root, "tmp"), 0);
        assert_int_equal(spool_scan(sp, it, 4, &n, NULL), CS_OK);
        assert_int_equal(n, (size_t)cases[i].visible);
        if (cases[i].visible) {
            assert_string_equal(it[0].name, "call-1");
            assert_true(entry_whole(f, "ready", "call-1"));
        }
        /* The next writer of the same call succeeds (or is told EXISTS). */
        assert_int_equal(write_call(sp, f, "call-1"), cases[i].visible ? CS_ERR_EXISTS : CS_OK);
        assert_true(entry_whole(f, "ready", "call-1"));
        spool_close(sp);
    }
}

static void test_step_order(void **state)
{
    fx *f = *state;
    spool *sp = NULL;
    assert_int_equal(spool_open(f->root, SPOOL_CONSUMER, &sp), CS_OK);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    kill_at k = {0, 0, 0, pfd[1]};
    spool_set_step_hook(sp, hook_kill, &k);
    assert_int_equal(write_call(sp, f, "call-1"), CS_OK);
    assert_int_equal(spool_claim(sp, "call-1"), CS_OK);
    assert_int_equal(spool_fail(sp, "call-1", CS_ERR_CODEC, "x"), CS_OK);
    assert_int_equal(write_call(sp, f, "call-2"), CS_OK);
    assert_int_equal(spool_claim(sp, "call-2"), CS_OK);
    assert_int_equal(spool_finish(sp, "call-2"), CS_OK);
    close(pfd[1]);
    unsigned char got[64];
    ssize_t n = read(pfd[0], got, sizeof got);
    close(pfd[0]);
    const unsigned char want[] = {
        SPOOL_STEP_TMPDIR_CREATED, SPOOL_STEP_FILE_HALF,    SPOOL_STEP_FILES_WRITTEN,
        SPOOL_STEP_SYNCED,         SPOOL_STEP_RENAMED,      SPOOL_STEP_COMMITTED,
        SPOOL_STEP_CLAIMED,        SPOOL_STEP_FAIL_REASON,  SPOOL_STEP_FAIL_MOVED,
        SPOOL_STEP_TMPDIR_CREATED, SPOOL_STEP_FILE_HALF,    SPOOL_STEP_FILES_WRITTEN,
        SPOOL_STEP_SYNCED,         SPOOL_STEP_RENAMED,      SPOOL_STEP_COMMITTED,
        SPOOL_STEP_CLAIMED,        SPOOL_STEP_FINISH_MOVED, SPOOL_STEP_FINISH_PARTIAL,
    };
    assert_int_equal(n, (ssize_t)sizeof want);
    assert_memory_equal(got, want, sizeof want);
    spool_close(sp);
}

static int body_claim_finish(spool *sp, const fx *f)
{
    (void)f;
    int rc = spool_claim(sp, "call-1");
    return rc != CS_OK ? rc : spool_finish(sp, "call-1");
}

static int body_claim_fail(spool *sp, const fx *f)
{
    (void)f;
    int rc = spool_claim(sp, "call-1");
    return rc != CS_OK ? rc : spool_fail(sp, "call-1", CS_ERR_CODEC, "unknown payload type 99");
}

static void test_consumer_killed_at_each_step(void **state)
{
    fx *f = *state;
    enum { GONE, READY, FAILED };
    static const struct {
        spool_step step;
        int fail; /* body: claim+fail instead of claim+finish */
        int outcome;
        size_t to_ready, to_failed, trash;
    } cases[] = {
        {SPOOL_STEP_CLAIMED, 0, READY, 1, 0, 0},       {SPOOL_STEP_FINISH_MOVED, 0, GONE, 0, 0, 1},
        {SPOOL_STEP_FINISH_PARTIAL, 0, GONE, 0, 0, 1}, {SPOOL_STEP_CLAIMED, 1, READY, 1, 0, 0},
        {SPOOL_STEP_FAIL_REASON, 1, FAILED, 0, 1, 0},  {SPOOL_STEP_FAIL_MOVED, 1, FAILED, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ts_rmrf(f->root);
        spool *sp = NULL;
        assert_int_equal(spool_open(f->root, 0, &sp), CS_OK);
        assert_int_equal(write_call(sp, f, "call-1"), CS_OK);
        int status =
            run_child(f, cases[i].step, 1, 1, cases[i].fail ? body_claim_fail : body_claim_finish);
        assert_killed(status);
        /* Never a half entry in ready/, whatever the step. */
        assert_true(su_count(f->root, "ready") == 0);

        spool_recovery rep;
        assert_int_equal(spool_recover(sp, 3600, &rep), CS_OK);
        assert_int_equal(rep.active_to_ready, cases[i].to_ready);
        assert_int_equal(rep.active_to_failed, cases[i].to_failed);
        assert_int_equal(rep.trash_removed, cases[i].trash);
        assert_int_equal(rep.tmp_removed, 0);
        assert_int_equal(su_count(f->root, "active"), 0);
        assert_int_equal(su_count(f->root, "tmp"), 0);
        char list[256];
        switch (cases[i].outcome) {
        case GONE:
            assert_int_equal(su_count(f->root, "ready"), 0);
            assert_int_equal(su_count(f->root, "failed"), 0);
            break;
        case READY:
            assert_string_equal(su_list(list, sizeof list, f->root, "ready"), "call-1");
            assert_true(entry_whole(f, "ready", "call-1"));
            assert_int_equal(su_count(f->root, "failed"), 0);
            break;
        case FAILED: {
            assert_int_equal(su_count(f->root, "ready"), 0);
            assert_string_equal(su_list(list, sizeof list, f->root, "failed/call-1"),
                                "call.json,call.pcap,meta.bin,reason");
            size_t len;
            char *r = su_read(f->root, "failed", "call-1", "reason", &len);
            assert_non_null(r);
            assert_non_null(strstr(r, "error: CS_ERR_CODEC (-17) codec error\n"
                                      "message: unknown payload type 99\n"));
            free(r);
            break;
        }
        }
        spool_close(sp);
    }
}

/* Writers killed from outside at random moments, many times over. */
static void test_random_kills(void **state)
{
    fx *f = *state;
    ts_rmrf(f->root);
    spool *sp = NULL;
    assert_int_equal(spool_open(f->root, SPOOL_CONSUMER, &sp), CS_OK);
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    int completed = 0, removed = 0;
    const int rounds = 25;
    for (int round = 0; round < rounds; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            spool *c = NULL;
            if (spool_open(f->root, 0, &c) != CS_OK)
                _exit(2);
            char name[32];
            for (int i = 0;; i++) {
                snprintf(name, sizeof name, "r%02d-%04d", round, i);
                if (write_call(c, f, name) != CS_OK)
                    _exit(1);
            }
        }
        struct timespec ts = {0, (long)(rand() % 40000) * 1000L}; /* 0..40 ms */
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_killed(status);
        spool_recovery rep;
        assert_int_equal(spool_recover(sp, 0, &rep), CS_OK);
        assert_true(rep.tmp_removed <= 1);
        removed += (int)rep.tmp_removed;
        assert_int_equal(su_count(f->root, "tmp"), 0);
    }
    /* Every visible entry is whole and the names of each round are contiguous. */
    spool_item *items = calloc(4096, sizeof *items);
    assert_non_null(items);
    size_t n = 0, total = 0;
    assert_int_equal(spool_scan(sp, items, 4096, &n, &total), CS_OK);
    assert_int_equal(n, total);
    for (size_t i = 0; i < n; i++) {
        if (!entry_whole(f, "ready", items[i].name))
            fail_msg("entry %s is not whole (seed %u)", items[i].name, seed);
        completed++;
    }
    for (int round = 0; round < rounds; round++) {
        int count = 0;
        char name[32];
        int plen = snprintf(name, sizeof name, "r%02d-", round);
        for (size_t i = 0; i < n; i++)
            if (strncmp(items[i].name, name, (size_t)plen) == 0)
                count++;
        for (int i = 0; i < count; i++) {
            snprintf(name, sizeof name, "r%02d-%04d", round, i);
            char p[SU_PATH];
            if (access(su_path(p, f->root, "ready", name, NULL), F_OK) != 0)
                fail_msg("round %d: %s missing but %d entries committed (seed %u)", round, name,
                         count, seed);
        }
    }
    print_message("random kills: %d rounds, %d whole entries, %d uncommitted removed\n", rounds,
                  completed, removed);
    free(items);
    spool_close(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_step_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_killed_at_each_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consumer_killed_at_each_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_kills, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
