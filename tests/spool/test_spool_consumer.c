/*
 * test_spool_consumer.c — the consumer side: scan order and bounds, claim
 * (and losing a claim), reading a claimed entry, finish, fail (reason file,
 * message sanitising and truncation, name collisions in failed/), release,
 * BUSY for a duplicate of an active call, start-up recovery of active/ and
 * tmp/, the recovery lock against live consumers, and spool_wait hints.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "spool.h"
#include "spool_testutil.h"
#include "testsupport.h"

typedef struct fx {
    char dir[256];
    char root[300];
    spool *sp;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || ts_mkdtemp(f->dir, sizeof f->dir, "spoolc") != 0)
        return -1;
    snprintf(f->root, sizeof f->root, "%s/spool", f->dir);
    if (spool_open(f->root, SPOOL_CONSUMER, &f->sp) != CS_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    spool_close(f->sp);
    ts_rmrf(f->dir);
    free(f);
    return 0;
}

/* Commits entry `name` with call.json = name and call.pcap = 3 bytes. */
static void put(spool *sp, const char *name)
{
    spool_entry *e = NULL;
    assert_int_equal(spool_begin(sp, name, &e), CS_OK);
    assert_int_equal(spool_add_file(e, "call.json", name, strlen(name)), CS_OK);
    assert_int_equal(spool_add_file(e, "call.pcap", "PKT", 3), CS_OK);
    assert_int_equal(spool_commit(e), CS_OK);
}

static int entry_whole(const char *root, const char *sub, const char *name)
{
    char list[256];
    su_list(list, sizeof list, root, sub);
    char p[64];
    snprintf(p, sizeof p, "%s/%s", sub, name);
    su_list(list, sizeof list, root, p);
    return strcmp(list, "call.json,call.pcap") == 0 &&
           su_file_equals(root, sub, name, "call.json", name, strlen(name)) &&
           su_file_equals(root, sub, name, "call.pcap", "PKT", 3);
}

static void test_scan_order_and_bound(void **state)
{
    fx *f = *state;
    const char *names[] = {"e1", "e2", "e3", "e4", "e5"};
    for (int i = 0; i < 5; i++)
        put(f->sp, names[i]);
    /* Oldest first by mtime; e2/e4 share an mtime and are ordered by name. */
    assert_int_equal(su_set_mtime(f->root, "ready", "e1", 1700000500, 0), 0);
    assert_int_equal(su_set_mtime(f->root, "ready", "e2", 1700000100, 5), 0);
    assert_int_equal(su_set_mtime(f->root, "ready", "e3", 1700000100, 1), 0);
    assert_int_equal(su_set_mtime(f->root, "ready", "e4", 1700000100, 5), 0);
    assert_int_equal(su_set_mtime(f->root, "ready", "e5", 1600000000, 0), 0);
    /* Things that are not entries are skipped. */
    char p[SU_PATH];
    assert_int_equal(mkdir(su_path(p, f->root, "ready", ".hidden", NULL), 0750), 0);
    assert_int_equal(ts_write_file(su_path(p, f->root, "ready", "plainfile", NULL), "x", 1), 0);
    assert_int_equal(mkdir(su_path(p, f->root, "ready", "bad name", NULL), 0750), 0);

    spool_item items[8];
    size_t n = 99, total = 99;
    assert_int_equal(spool_scan(f->sp, items, 8, &n, &total), CS_OK);
    assert_int_equal(n, 5);
    assert_int_equal(total, 5);
    const char *want[] = {"e5", "e3", "e2", "e4", "e1"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(items[i].name, want[i]);
    assert_int_equal(items[0].mtime.tv_sec, 1600000000);
    assert_int_equal(items[2].mtime.tv_nsec, 5);

    /* Bounded: the 2 oldest of 5. */
    assert_int_equal(spool_scan(f->sp, items, 2, &n, &total), CS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(total, 5);
    assert_string_equal(items[0].name, "e5");
    assert_string_equal(items[1].name, "e3");
    /* cap 0: count only. */
    assert_int_equal(spool_scan(f->sp, NULL, 0, &n, &total), CS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, 5);
    assert_int_equal(spool_scan(f->sp, NULL, 1, &n, NULL), CS_ERR_INVAL);
}

static void test_claim_read_finish(void **state)
{
    fx *f = *state;
    put(f->sp, "c1");
    assert_int_equal(spool_claim(f->sp, "c1"), CS_OK);
    assert_int_equal(su_count(f->root, "ready"), 0);
    assert_true(entry_whole(f->root, "active", "c1"));
    /* A second claim (another consumer) loses. */
    assert_int_equal(spool_claim(f->sp, "c1"), CS_ERR_NOTFOUND);
    assert_int_equal(spool_claim(f->sp, "nope"), CS_ERR_NOTFOUND);
    assert_int_equal(spool_claim(f->sp, "../c1"), CS_ERR_INVAL);

    int fd = -1;
    assert_int_equal(spool_claimed_open(f->sp, "c1", "call.pcap", &fd), CS_OK);
    char buf[8];
    assert_int_equal(read(fd, buf, sizeof buf), 3);
    assert_memory_equal(buf, "PKT", 3);
    close(fd);
    assert_int_equal(spool_claimed_open(f->sp, "c1", "missing", &fd), CS_ERR_NOTFOUND);
    assert_int_equal(fd, -1);
    assert_int_equal(spool_claimed_open(f->sp, "c1", "../../x", &fd), CS_ERR_INVAL);

    char path[SU_PATH], want[SU_PATH];
    assert_int_equal(spool_claimed_path(f->sp, "c1", "call.json", path, sizeof path), CS_OK);
    snprintf(want, sizeof want, "%s/active/c1/call.json", f->root);
    assert_string_equal(path, want);
    assert_int_equal(spool_claimed_path(f->sp, "c1", NULL, path, sizeof path), CS_OK);
    snprintf(want, sizeof want, "%s/active/c1", f->root);
    assert_string_equal(path, want);
    /* Exactly fitting, and one byte short. */
    size_t need = strlen(want) + 1;
    assert_int_equal(spool_claimed_path(f->sp, "c1", NULL, path, need), CS_OK);
    assert_int_equal(spool_claimed_path(f->sp, "c1", NULL, path, need - 1), CS_ERR_OVERFLOW);
    assert_string_equal(path, "");

    assert_int_equal(spool_finish(f->sp, "c1"), CS_OK);
    assert_int_equal(su_count(f->root, "active"), 0);
    assert_int_equal(su_count(f->root, "tmp"), 0);
    assert_int_equal(su_count(f->root, "ready"), 0);
    assert_int_equal(spool_finish(f->sp, "c1"), CS_ERR_NOTFOUND);
    spool_stats s;
    spool_get_stats(f->sp, &s);
    assert_int_equal(s.claimed, 1);
    assert_int_equal(s.claim_lost, 2);
    assert_int_equal(s.finished, 1);
}

static void test_fail_reason(void **state)
{
    fx *f = *state;
    put(f->sp, "bad1");
    assert_int_equal(spool_claim(f->sp, "bad1"), CS_OK);
    assert_int_equal(spool_fail(f->sp, "bad1", CS_ERR_CODEC, "G.729 frame\x01 broken\nhere"),
                     CS_OK);
    assert_int_equal(su_count(f->root, "active"), 0);
    char list[256];
    assert_string_equal(su_list(list, sizeof list, f->root, "failed/bad1"),
                        "call.json,call.pcap,reason");
    size_t len = 0;
    char *r = su_read(f->root, "failed", "bad1", "reason", &len);
    assert_non_null(r);
    /* time: YYYY-MM-DDTHH:MM:SSZ */
    assert_memory_equal(r, "time: ", 6);
    assert_int_equal(r[6 + 4], '-');
    assert_int_equal(r[6 + 19], 'Z');
    assert_int_equal(r[6 + 20], '\n');
    const char *rest = r + 27;
    assert_string_equal(rest, "error: CS_ERR_CODEC (-17) codec error\n"
                              "message: G.729 frame? broken?here\n");
    free(r);

    /* Same name fails again: failed/bad1.<time>.1 */
    put(f->sp, "bad1");
    assert_int_equal(spool_claim(f->sp, "bad1"), CS_OK);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(spool_fail(f->sp, "bad1", CS_ERR_IO, big), CS_OK);
    assert_int_equal(su_count(f->root, "failed"), 2);
    su_list(list, sizeof list, f->root, "failed");
    assert_memory_equal(list, "bad1,bad1.", 10);
    assert_memory_equal(list + strlen(list) - 2, ".1", 2);
    char alt[256];
    snprintf(alt, sizeof alt, "%s", list + 5);
    r = su_read(f->root, "failed", alt, "reason", &len);
    assert_non_null(r);
    const char *m = strstr(r, "message: ");
    assert_non_null(m);
    m += 9;
    assert_int_equal(strlen(m), SPOOL_REASON_MAX + 1); /* cut at the maximum, plus '\n' */
    assert_int_equal(m[SPOOL_REASON_MAX], '\n');
    assert_non_null(strstr(r, "error: CS_ERR_IO (-6) "));
    free(r);
    assert_int_equal(spool_fail(f->sp, "gone", CS_ERR_IO, NULL), CS_ERR_NOTFOUND);
    spool_stats s;
    spool_get_stats(f->sp, &s);
    assert_int_equal(s.failed, 2);
}

static void test_release_and_busy(void **state)
{
    fx *f = *state;
    put(f->sp, "r1");
    assert_int_equal(su_set_mtime(f->root, "ready", "r1", 1000000000, 0), 0);
    assert_int_equal(spool_claim(f->sp, "r1"), CS_OK);
    time_t before = time(NULL);
    assert_int_equal(spool_release(f->sp, "r1"), CS_OK);
    assert_true(entry_whole(f->root, "ready", "r1"));
    assert_int_equal(su_count(f->root, "active"), 0);
    spool_item it[2];
    size_t n = 0;
    assert_int_equal(spool_scan(f->sp, it, 2, &n, NULL), CS_OK);
    assert_int_equal(n, 1);
    assert_true(it[0].mtime.tv_sec >= before); /* back of the queue */

    /* A duplicate commit while r1 is active: claim of the duplicate is BUSY,
     * releasing the active one is EXISTS and leaves it active. */
    assert_int_equal(spool_claim(f->sp, "r1"), CS_OK);
    put(f->sp, "r1");
    assert_int_equal(spool_claim(f->sp, "r1"), CS_ERR_BUSY);
    assert_int_equal(spool_release(f->sp, "r1"), CS_ERR_EXISTS);
    assert_true(entry_whole(f->root, "active", "r1"));
    assert_true(entry_whole(f->root, "ready", "r1"));
    assert_int_equal(spool_finish(f->sp, "r1"), CS_OK);
    assert_int_equal(spool_claim(f->sp, "r1"), CS_OK);
    assert_int_equal(spool_release(f->sp, "nope"), CS_ERR_NOTFOUND);
    spool_stats s;
    spool_get_stats(f->sp, &s);
    assert_int_equal(s.released, 1);
    assert_int_equal(s.claimed, 3);
    assert_int_equal(s.claim_lost, 1);
}

static void mk_tmp_leftover(const char *root, const char *name, long long mtime)
{
    char p[SU_PATH];
    assert_int_equal(mkdir(su_path(p, root, "tmp", name, NULL), 0750), 0);
    assert_int_equal(ts_write_file(su_path(p, root, "tmp", name, "call.pcap"), "half", 4), 0);
    if (mtime) {
        struct timespec ts[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};
        assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
        assert_int_equal(su_set_mtime(root, "tmp", name, mtime, 0), 0);
    }
}

static void test_recover(void **state)
{
    fx *f = *state;
    put(f->sp, "a1");
    put(f->sp, "a2");
    put(f->sp, "a3");
    put(f->sp, "a4");
    assert_int_equal(su_set_mtime(f->root, "ready", "a1", 1111111111, 0), 0);
    assert_int_equal(spool_claim(f->sp, "a1"), CS_OK);
    assert_int_equal(spool_claim(f->sp, "a2"), CS_OK);
    assert_int_equal(spool_claim(f->sp, "a3"), CS_OK);
    assert_int_equal(spool_claim(f->sp, "a4"), CS_OK);
    put(f->sp, "a3"); /* duplicate of an active call */
    /* a4: a consumer wrote its reason and died before the rename. */
    char p[SU_PATH];
    assert_int_equal(ts_write_file(su_path(p, f->root, "active", "a4", "reason"), "r\n", 2), 0);
    /* a2: a stale half-written reason temp file. */
    assert_int_equal(ts_write_file(su_path(p, f->root, "active", "a2", ".reason.tmp"), "r", 1), 0);
    time_t now = time(NULL);
    mk_tmp_leftover(f->root, "old.123.0123456789abcdef", (long long)now - 3600);
    mk_tmp_leftover(f->root, "young.123.0123456789abcdef", 0);
    mk_tmp_leftover(f->root, ".trash.x.1.0123456789abcdef", 0);
    /* A live stream: old dir, fresh file -> kept. */
    mk_tmp_leftover(f->root, "stream.1.0123456789abcdef", (long long)now - 3600);
    assert_int_equal(
        ts_write_file(su_path(p, f->root, "tmp", "stream.1.0123456789abcdef", "call.pcap"),
                      "halfmore", 8),
        0);
    struct stat sst;
    assert_int_equal(stat(su_path(p, f->root, "tmp", "stream.1.0123456789abcdef", NULL), &sst), 0);
    assert_true(sst.st_mtime < now - 3000); /* only the file is fresh */

    /* Another live consumer holds the lock: recovery refuses. */
    spool *other = NULL;
    assert_int_equal(spool_open(f->root, SPOOL_CONSUMER, &other), CS_OK);
    spool_recovery rep;
    assert_int_equal(spool_recover(f->sp, 600, &rep), CS_ERR_BUSY);
    assert_int_equal(su_count(f->root, "active"), 4);
    spool_close(other);

    /* A writer-only handle can run recovery too (takes the lock itself)... but
     * our consumer handle still holds it shared, so that is BUSY as well. */
    spool *writer = NULL;
    assert_int_equal(spool_open(f->root, 0, &writer), CS_OK);
    assert_int_equal(spool_recover(writer, 600, NULL), CS_ERR_BUSY);
    assert_int_equal(spool_errno(writer), EWOULDBLOCK);

    assert_int_equal(spool_recover(f->sp, 600, &rep), CS_OK);
    assert_int_equal(rep.active_to_ready, 2);
    assert_int_equal(rep.active_to_failed, 2);
    assert_int_equal(rep.tmp_removed, 1);
    assert_int_equal(rep.tmp_kept, 2);
    assert_int_equal(rep.trash_removed, 1);
    char list[512];
    assert_string_equal(su_list(list, sizeof list, f->root, "ready"), "a1,a2,a3");
    assert_true(entry_whole(f->root, "ready", "a1"));
    assert_true(entry_whole(f->root, "ready", "a2")); /* .reason.tmp removed */
    assert_string_equal(su_list(list, sizeof list, f->root, "failed"), "a3,a4");
    assert_string_equal(su_list(list, sizeof list, f->root, "failed/a4"),
                        "call.json,call.pcap,reason");
    assert_true(su_file_equals(f->root, "failed", "a4", "reason", "r\n", 2));
    size_t len;
    char *r = su_read(f->root, "failed", "a3", "reason", &len);
    assert_non_null(r);
    assert_non_null(strstr(r, "error: CS_ERR_EXISTS (-8)"));
    assert_non_null(strstr(r, "a newer copy is in ready/"));
    free(r);
    assert_int_equal(su_count(f->root, "active"), 0);
    assert_string_equal(su_list(list, sizeof list, f->root, "tmp"),
                        "stream.1.0123456789abcdef,young.123.0123456789abcdef");
    /* mtime of a recovered entry is kept (it keeps its place in the queue). */
    spool_item it[1];
    size_t n = 0;
    assert_int_equal(spool_scan(f->sp, it, 1, &n, NULL), CS_OK);
    assert_string_equal(it[0].name, "a1");
    assert_int_equal(it[0].mtime.tv_sec, 1111111111);
    spool_stats s;
    spool_get_stats(f->sp, &s);
    assert_int_equal(s.recovered, 2);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.tmp_removed, 1);
    assert_int_equal(s.trash_removed, 1);

    /* Age 0 removes every writer leftover; the handle still works as consumer. */
    assert_int_equal(spool_recover(f->sp, 0, &rep), CS_OK);
    assert_int_equal(rep.tmp_removed, 2);
    assert_int_equal(rep.active_to_ready, 0);
    assert_int_equal(su_count(f->root, "tmp"), 0);
    assert_int_equal(spool_claim(f->sp, "a1"), CS_OK);
    /* Our shared lock is back: another handle's recovery is refused. */
    assert_int_equal(spool_recover(writer, 0, NULL), CS_ERR_BUSY);
    spool_close(writer);
}

static long long ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_wait(void **state)
{
    fx *f = *state;
    spool *w = NULL;
    assert_int_equal(spool_open(f->root, SPOOL_NOTIFY, &w), CS_OK);
    assert_true(spool_notify_fd(w) >= 0);
    assert_int_equal(spool_notify_fd(f->sp), -1);
    assert_int_equal(spool_wait(w, 0), CS_ERR_TIMEOUT);
    put(f->sp, "w1");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(spool_wait(w, 5000), CS_OK);
    assert_true(ms_since(&t0) < 1000);
    assert_int_equal(spool_wait(w, 0), CS_ERR_TIMEOUT); /* drained */
    /* release also wakes */
    assert_int_equal(spool_claim(f->sp, "w1"), CS_OK);
    assert_int_equal(spool_wait(w, 0), CS_ERR_TIMEOUT); /* leaving ready/ is no hint */
    assert_int_equal(spool_release(f->sp, "w1"), CS_OK);
    assert_int_equal(spool_wait(w, 1000), CS_OK);
    spool_close(w);

    /* Without inotify: sleeps the timeout. */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(spool_wait(f->sp, 50), CS_ERR_TIMEOUT);
    assert_true(ms_since(&t0) >= 49);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_scan_order_and_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_read_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_and_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
