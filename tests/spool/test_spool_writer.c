/*
 * test_spool_writer.c — the writer side of the spool: layout created by
 * spool_open, name rules at their boundaries, commit/abort, the EXISTS rule
 * for a call spooled twice, sticky entry errors, the per-entry file limit, a
 * 10 MB streamed file round-tripping byte-exact, the one-file-system check,
 * and allocation-failure torture (calloc/strdup wrapped at link time, see
 * CMakeLists.txt) proving every allocation failure is CS_ERR_NOMEM with
 * nothing left behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "spool.h"
#include "spool_testutil.h"
#include "testsupport.h"

/* ---- allocation failure injection (-Wl,--wrap=calloc,--wrap=strdup) ---- */

void *__real_calloc(size_t n, size_t size);
char *__real_strdup(const char *s);
static long alloc_countdown = -1; /* test-only: -1 = never fail; k = fail the k-th call */
static long alloc_calls;

static int alloc_should_fail(void)
{
    alloc_calls++;
    if (alloc_countdown < 0)
        return 0;
    return alloc_countdown-- == 0;
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
    if (alloc_should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_calloc(n, size);
}

char *__wrap_strdup(const char *s);
char *__wrap_strdup(const char *s)
{
    if (alloc_should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_strdup(s);
}

/* ---- fixture ------------------------------------------------------------ */

typedef struct fx {
    char dir[256];  /* private temp dir */
    char root[300]; /* dir/spool */
    spool *sp;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || ts_mkdtemp(f->dir, sizeof f->dir, "spoolw") != 0)
        return -1;
    snprintf(f->root, sizeof f->root, "%s/spool", f->dir);
    umask(022);
    if (spool_open(f->root, 0, &f->sp) != CS_OK)
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

static const char JSON[] = "{\"uuid\":\"c1\",\"legs\":2}\n";

/* ---- tests -------------------------------------------------------------- */

static void test_open_layout(void **state)
{
    fx *f = *state;
    const char *subs[] = {"tmp", "ready", "active", "failed"};
    char p[SU_PATH];
    for (size_t i = 0; i < 4; i++) {
        struct stat st;
        assert_int_equal(stat(su_path(p, f->root, subs[i], NULL, NULL), &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0750);
        assert_int_equal(su_count(f->root, subs[i]), 0);
    }
    assert_string_equal(spool_root(f->sp), f->root);
    /* Reopening an existing spool works and changes nothing. */
    spool *again = NULL;
    assert_int_equal(spool_open(f->root, SPOOL_CONSUMER | SPOOL_NOTIFY, &again), CS_OK);
    assert_non_null(again);
    spool_close(again);
    /* Bad arguments. */
    spool *bad = (spool *)1;
    assert_int_equal(spool_open("", 0, &bad), CS_ERR_INVAL);
    assert_null(bad);
    assert_int_equal(spool_open(f->root, 0x80, &bad), CS_ERR_INVAL);
    assert_int_equal(spool_open(NULL, 0, &bad), CS_ERR_INVAL);
    /* Parent does not exist: only one level is created. */
    snprintf(p, sizeof p, "%s/no/such/spool", f->dir);
    assert_int_equal(spool_open(p, 0, &bad), CS_ERR_NOTFOUND);
    assert_int_equal(spool_open(p, 0, NULL), CS_ERR_INVAL);
}

static void test_names(void **state)
{
    (void)state;
    char n128[129], n129[130];
    memset(n128, 'a', 128);
    n128[128] = '\0';
    memset(n129, 'b', 129);
    n129[129] = '\0';
    static const struct {
        const char *s;
        size_t len; /* 0 = strlen */
        int want;
    } tab[] = {
        {"0f8fad5b-d9cb-469f-a165-70867728950e", 0, CS_OK},
        {"a", 0, CS_OK},
        {"A.b_c-9", 0, CS_OK},
        {"a..b", 0, CS_OK},
        {"", 0, CS_ERR_INVAL},
        {".", 0, CS_ERR_INVAL},
        {"..", 0, CS_ERR_INVAL},
        {".hidden", 0, CS_ERR_INVAL},
        {"a/b", 0, CS_ERR_INVAL},
        {"/abs", 0, CS_ERR_INVAL},
        {"a b", 0, CS_ERR_INVAL},
        {"a\nb", 0, CS_ERR_INVAL},
        {"caf\xc3\xa9", 0, CS_ERR_INVAL},
        {"a\0b", 3, CS_ERR_INVAL},
        {"abc", 2, CS_OK}, /* (ptr,len): only "ab" is looked at */
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        size_t len = tab[i].len ? tab[i].len : strlen(tab[i].s);
        assert_int_equal(spool_name_check(tab[i].s, len), tab[i].want);
    }
    assert_int_equal(spool_name_check(NULL, 0), CS_ERR_INVAL);
    assert_int_equal(spool_name_check(n128, 127), CS_OK);
    assert_int_equal(spool_name_check(n128, 128), CS_OK);
    assert_int_equal(spool_name_check(n129, 129), CS_ERR_INVAL);
    /* File names: 64 bytes max, "reason" reserved. */
    assert_int_equal(spool_file_name_check(n128, 63), CS_OK);
    assert_int_equal(spool_file_name_check(n128, 64), CS_OK);
    assert_int_equal(spool_file_name_check(n128, 65), CS_ERR_INVAL);
    assert_int_equal(spool_file_name_check("reason", 6), CS_ERR_INVAL);
    assert_int_equal(spool_file_name_check("reason2", 7), CS_OK);
    assert_int_equal(spool_file_name_check("reaso", 5), CS_OK);
    assert_int_equal(spool_file_name_check("call.pcap", 9), CS_OK);
}

static void test_begin_rejects_names(void **state)
{
    fx *f = *state;
    char n128[129], n129[130];
    memset(n128, 'a', 128);
    n128[128] = '\0';
    memset(n129, 'b', 129);
    n129[129] = '\0';
    spool_entry *e = (spool_entry *)1;
    assert_int_equal(spool_begin(f->sp, "../evil", &e), CS_ERR_INVAL);
    assert_null(e);
    assert_int_equal(spool_begin(f->sp, n129, &e), CS_ERR_INVAL);
    assert_int_equal(spool_begin(f->sp, NULL, &e), CS_ERR_INVAL);
    assert_int_equal(su_count(f->root, "tmp"), 0);
    assert_int_equal(spool_begin(f->sp, n128, &e), CS_OK);
    assert_int_equal(su_count(f->root, "tmp"), 1);
    /* A bad file name sticks: the commit fails and leaves nothing. */
    assert_int_equal(spool_add_file(e, "a/b", "x", 1), CS_ERR_INVAL);
    assert_int_equal(spool_add_file(e, "ok", "x", 1), CS_ERR_INVAL);
    assert_int_equal(spool_commit(e), CS_ERR_INVAL);
    assert_int_equal(su_count(f->root, "tmp"), 0);
    assert_int_equal(su_count(f->root, "ready"), 0);
}

static void test_commit_roundtrip(void **state)
{
    fx *f = *state;
    spool_entry *e = NULL;
    assert_int_equal(spool_begin(f->sp, "call-1", &e), CS_OK);
    /* tmp/call-1.<pid>.<16 hex> */
    char list[1024];
    su_list(list, sizeof list, f->root, "tmp");
    char prefix[64];
    snprintf(prefix, sizeof prefix, "call-1.%ld.", (long)getpid());
    assert_memory_equal(list, prefix, strlen(prefix));
    assert_int_equal(strlen(list), strlen(prefix) + 16);

    assert_int_equal(spool_add_file(e, "call.json", JSON, sizeof JSON - 1), CS_OK);
    FILE *fp = NULL;
    assert_int_equal(spool_fopen(e, "notes.txt", &fp), CS_OK);
    fprintf(fp, "line %d\n", 1);
    fputs("line 2\n", fp);
    int fd = -1;
    assert_int_equal(spool_open_fd(e, "call.pcap", &fd), CS_OK);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "PCAP", 4), 4);
    assert_int_equal(spool_add_file(e, "empty", NULL, 0), CS_OK);
    /* Nothing visible before commit. */
    assert_int_equal(su_count(f->root, "ready"), 0);
    assert_int_equal(spool_commit(e), CS_OK);

    assert_string_equal(su_list(list, sizeof list, f->root, "ready"), "call-1");
    assert_string_equal(su_list(list, sizeof list, f->root, "ready/call-1"),
                        "call.json,call.pcap,empty,notes.txt");
    assert_true(su_file_equals(f->root, "ready", "call-1", "call.json", JSON, sizeof JSON - 1));
    assert_true(su_file_equals(f->root, "ready", "call-1", "notes.txt", "line 1\nline 2\n", 14));
    assert_true(su_file_equals(f->root, "ready", "call-1", "call.pcap", "PCAP", 4));
    assert_true(su_file_equals(f->root, "ready", "call-1", "empty", "", 0));
    char p[SU_PATH];
    struct stat st;
    assert_int_equal(stat(su_path(p, f->root, "ready", "call-1", "call.json"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(su_count(f->root, "tmp"), 0);
    spool_stats s;
    spool_get_stats(f->sp, &s);
    assert_int_equal(s.committed, 1);
    assert_int_equal(s.aborted, 0);
}

static void test_abort_and_empty(void **state)
{
    fx *f = *state;
    spool_entry *e = NULL;
    assert_int_equal(spool_begin(f->sp, "call-2", &e), CS_OK);
    int fd = -1;
    assert_int_equal(spool_open_fd(e, "call.pcap", &fd), CS_OK);
    assert_int_equal(write(fd, "abc", 3), 3);
    spool_abort(e);
    assert_int_equal(su_count(f->root, "tmp"), 0);
    assert_int_equal(su_count(f->root, "ready"), 0);
    spool_abort(NULL);

    assert_int_equal(spool_begin(f->sp, "call-3", &e), CS_OK);
    assert_int_equal(spool_commit(e), CS_ERR_EMPTY);
    assert_int_equal(su_count(f->root, "tmp"), 0);
    assert_int_equal(su_count(f->root, "ready"), 0);
    assert_int_equal(spool_commit(NULL), CS_ERR_INVAL);
    spool_stats s;
    spool_get_stats(f->sp, &s);
    assert_int_equal(s.aborted, 2);
    assert_int_equal(s.committed, 0);
}

static void test_exists_keeps_first(void **state)
{
    fx *f = *state;
    spool_entry *e = NULL;
    assert_int_equal(spool_begin(f->sp, "dup", &e), CS_OK);
    assert_int_equal(spool_add_file(e, "call.json", "first", 5), CS_OK);
    /* Second writer of the same call starts before the first commits. */
    spool_entry *e2 = NULL;
    assert_int_equal(spool_begin(f->sp, "dup", &e2), CS_OK);
    assert_int_equal(spool_add_file(e2, "call.json", "second!", 7), CS_OK);
    assert_int_equal(spool_add_file(e2, "call.pcap", "x", 1), CS_OK);
    assert_int_equal(su_count(f->root, "tmp"), 2);
    assert_int_equal(spool_commit(e), CS_OK);
    assert_int_equal(spool_commit(e2), CS_ERR_EXISTS);
    char list[256];
    assert_string_equal(su_list(list, sizeof list, f->root, "ready/dup"), "call.json");
    assert_true(su_file_equals(f->root, "ready", "dup", "call.json", "first", 5));
    assert_int_equal(su_count(f->root, "tmp"), 0);
    spool_stats s;
    spool_get_stats(f->sp, &s);
    assert_int_equal(s.committed, 1);
    assert_int_equal(s.commit_exists, 1);
    assert_int_equal(s.aborted, 1);
}

static void test_duplicate_file_and_limit(void **state)
{
    fx *f = *state;
    spool_entry *e = NULL;
    assert_int_equal(spool_begin(f->sp, "dupfile", &e), CS_OK);
    assert_int_equal(spool_add_file(e, "a", "1", 1), CS_OK);
    assert_int_equal(spool_add_file(e, "a", "2", 1), CS_ERR_EXISTS);
    int fd = 7;
    assert_int_equal(spool_open_fd(e, "b", &fd), CS_ERR_EXISTS); /* sticky */
    assert_int_equal(fd, -1);
    assert_int_equal(spool_commit(e), CS_ERR_EXISTS);
    assert_int_equal(su_count(f->root, "ready"), 0);
    assert_int_equal(su_count(f->root, "tmp"), 0);

    assert_int_equal(spool_begin(f->sp, "many", &e), CS_OK);
    char name[16];
    for (int i = 0; i < SPOOL_MAX_FILES; i++) {
        snprintf(name, sizeof name, "f%02d", i);
        assert_int_equal(spool_add_file(e, name, name, strlen(name)), CS_OK);
    }
    assert_int_equal(spool_add_file(e, "one-more", "x", 1), CS_ERR_LIMIT);
    spool_abort(e);
    assert_int_equal(spool_begin(f->sp, "many", &e), CS_OK);
    for (int i = 0; i < SPOOL_MAX_FILES; i++) {
        snprintf(name, sizeof name, "f%02d", i);
        assert_int_equal(spool_add_file(e, name, name, strlen(name)), CS_OK);
    }
    assert_int_equal(spool_commit(e), CS_OK);
    assert_int_equal(su_count(f->root, "ready/many"), SPOOL_MAX_FILES);
    assert_true(su_file_equals(f->root, "ready", "many", "f31", "f31", 3));
}

static void test_large_stream(void **state)
{
    fx *f = *state;
    const size_t total = 10u * 1024 * 1024 + 12345; /* not a multiple of the chunk */
    const size_t chunk = 65536;
    unsigned char *data = malloc(total);
    assert_non_null(data);
    su_fill(data, total, 42);
    spool_entry *e = NULL;
    assert_int_equal(spool_begin(f->sp, "big", &e), CS_OK);
    int fd = -1;
    assert_int_equal(spool_open_fd(e, "call.pcap", &fd), CS_OK);
    for (size_t off = 0; off < total; off += chunk) {
        size_t n = total - off < chunk ? total - off : chunk;
        assert_int_equal(write(fd, data + off, n), (ssize_t)n);
    }
    FILE *fp = NULL;
    assert_int_equal(spool_fopen(e, "copy.pcap", &fp), CS_OK);
    assert_int_equal(fwrite(data, 1, total, fp), total);
    assert_int_equal(spool_commit(e), CS_OK);
    assert_true(su_file_equals(f->root, "ready", "big", "call.pcap", data, total));
    assert_true(su_file_equals(f->root, "ready", "big", "copy.pcap", data, total));

    /* And through the consumer API: claim, read with the returned fd. */
    assert_int_equal(spool_claim(f->sp, "big"), CS_OK);
    int rfd = -1;
    assert_int_equal(spool_claimed_open(f->sp, "big", "call.pcap", &rfd), CS_OK);
    unsigned char *back = malloc(total + 1);
    assert_non_null(back);
    size_t got = 0;
    for (;;) {
        ssize_t r = read(rfd, back + got, total + 1 - got);
        assert_true(r >= 0);
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(rfd);
    assert_int_equal(got, total);
    assert_memory_equal(back, data, total);
    assert_int_equal(spool_finish(f->sp, "big"), CS_OK);
    free(back);
    free(data);
}

static void test_other_filesystem(void **state)
{
    fx *f = *state;
    struct stat a, b;
    if (stat("/dev/shm", &b) != 0 || stat(f->dir, &a) != 0 || a.st_dev == b.st_dev) {
        skip();
        return;
    }
    char other[256], root[300], link[SU_PATH];
    snprintf(other, sizeof other, "/dev/shm/cs-spool-ready.%ld", (long)getpid());
    assert_int_equal(mkdir(other, 0700), 0);
    snprintf(root, sizeof root, "%s/xdev", f->dir);
    assert_int_equal(mkdir(root, 0750), 0);
    snprintf(link, sizeof link, "%s/ready", root);
    assert_int_equal(symlink(other, link), 0);
    spool *sp = (spool *)1;
    assert_int_equal(spool_open(root, 0, &sp), CS_ERR_CONFIG);
    assert_null(sp);
    rmdir(other);
}

static void test_alloc_failures(void **state)
{
    fx *f = *state;
    char root[SU_PATH];
    snprintf(root, sizeof root, "%s/torture", f->dir);
    /* Count the allocations of one full cycle, then fail each one in turn. */
    long needed = -1;
    for (long k = 0; k < 64; k++) {
        alloc_calls = 0;
        alloc_countdown = k;
        spool *sp = NULL;
        int rc = spool_open(root, SPOOL_CONSUMER, &sp);
        spool_entry *e = NULL;
        if (rc == CS_OK)
            rc = spool_begin(sp, "t", &e);
        if (rc == CS_OK)
            rc = spool_add_file(e, "call.json", "{}", 2);
        if (rc == CS_OK)
            rc = spool_commit(e);
        if (rc == CS_OK)
            rc = spool_claim(sp, "t");
        if (rc == CS_OK)
            rc = spool_finish(sp, "t");
        int left_over = alloc_countdown >= 0; /* the failure point was never reached */
        alloc_countdown = -1;
        if (rc == CS_OK) {
            assert_true(left_over);
            needed = k;
        } else {
            assert_int_equal(rc, CS_ERR_NOMEM);
        }
        if (sp) {
            assert_int_equal(su_count(root, "tmp"), 0);
            assert_int_equal(su_count(root, "ready"), 0);
            assert_int_equal(su_count(root, "active"), 0);
        }
        spool_close(sp);
        if (rc == CS_OK)
            break;
    }
    /* calloc(handle) + strdup(root) + calloc(entry). */
    assert_int_equal(needed, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_layout, setup, teardown),
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_begin_rejects_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exists_keeps_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_file_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_filesystem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_failures, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
