/*
 * test_file.c — cs_file_read (common/file.c): a file read whole and
 * NUL-terminated, exactly max bytes accepted and one more refused (never
 * truncated), empty files, NUL bytes kept, and each failure with its code
 * and a message naming the file: missing, a directory, unreadable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file.h"
#include "testsupport.h"

static char g_dir[256];

static void put(const char *name, const void *bytes, size_t n, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_whole_file(void **state)
{
    (void)state;
    char path[512], err[256];
    put("a.conf", "one\0two\n", 8, path, sizeof path);
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(cs_file_read(path, 8, "test file", &buf, &len, err, sizeof err), CS_OK);
    assert_int_equal(len, 8);
    assert_memory_equal(buf, "one\0two\n", 8);
    assert_int_equal(buf[8], '\0');
    free(buf);
    /* one byte over the limit: refused, not cut */
    buf = (char *)1;
    assert_int_equal(cs_file_read(path, 7, "test file", &buf, &len, err, sizeof err),
                     CS_ERR_LIMIT);
    assert_null(buf);
    assert_int_equal(len, 0);
    assert_non_null(strstr(err, "test file '"));
    assert_non_null(strstr(err, "a.conf': larger than 7 bytes"));
    /* empty */
    put("empty", "", 0, path, sizeof path);
    assert_int_equal(cs_file_read(path, 0, "f", &buf, &len, err, sizeof err), CS_OK);
    assert_int_equal(len, 0);
    assert_int_equal(buf[0], '\0');
    free(buf);
}

static void test_failures(void **state)
{
    (void)state;
    char path[512], err[256];
    char *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/missing", g_dir);
    assert_int_equal(cs_file_read(path, 100, "phrases file", &buf, &len, err, sizeof err),
                     CS_ERR_NOTFOUND);
    assert_non_null(strstr(err, "phrases file '"));
    assert_non_null(strstr(err, "No such file or directory"));
    /* a directory opens but does not read */
    assert_int_equal(cs_file_read(g_dir, 100, "directory file", &buf, &len, err, sizeof err),
                     CS_ERR_IO);
    assert_non_null(strstr(err, "Is a directory"));
    if (geteuid() != 0) { /* root reads anything */
        put("secret", "x", 1, path, sizeof path);
        assert_int_equal(chmod(path, 0), 0);
        assert_int_equal(cs_file_read(path, 100, "f", &buf, &len, err, sizeof err), CS_ERR_IO);
        assert_non_null(strstr(err, "Permission denied"));
    }
    assert_int_equal(cs_file_read(NULL, 100, "f", &buf, &len, err, sizeof err), CS_ERR_INVAL);
    assert_int_equal(cs_file_read(path, 100, "f", NULL, &len, NULL, 0), CS_ERR_INVAL);
    assert_null(buf);
}

int main(void)
{
    if (ts_mkdtemp(g_dir, sizeof g_dir, "file") != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_file),
        cmocka_unit_test(test_failures),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ts_rmrf(g_dir);
    return rc;
}
