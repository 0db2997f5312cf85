/*
 * test_json.c — the JSON writer (common/json.c): exact output text in compact and
 * pretty mode, RFC 8259 escaping, UTF-8 repair, numbers, the ceiling, the depth
 * limit, misuse, sticky errors and the atomic save.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "error.h"
#include "json.h"
#include "testsupport.h"

/* Asserts the writer is healthy and its text is exactly `want`. */
static void expect_text(json_w *w, const char *want)
{
    size_t len = 0;
    const char *got = json_w_data(w, &len);
    assert_int_equal(json_w_error(w), CS_OK);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
}

static void build_nested(json_w *w)
{
    json_obj_begin(w);
    json_kv_str(w, "name", "call-1");
    json_kv_int(w, "legs", 2);
    json_key(w, "tags");
    json_arr_begin(w);
    json_str(w, "a");
    json_int(w, -1);
    json_bool(w, 1);
    json_bool(w, 0);
    json_null(w);
    json_arr_begin(w);
    json_arr_end(w);
    json_obj_begin(w);
    json_obj_end(w);
    json_obj_end(w); /* wrong: closes an array with obj_end -> must be caught */
}

static void test_compact_nested(void **state)
{
    (void)state;
    json_w *w = json_w_new(0, 4096);
    assert_non_null(w);
    json_obj_begin(w);
    json_kv_str(w, "name", "call-1");
    json_kv_int(w, "legs", 2);
    json_key(w, "tags");
    json_arr_begin(w);
    json_str(w, "a");
    json_int(w, -1);
    json_bool(w, 1);
    json_bool(w, 0);
    json_null(w);
    json_arr_begin(w);
    json_arr_end(w);
    json_obj_begin(w);
    json_obj_end(w);
    json_arr_end(w);
    json_key(w, "inner");
    json_obj_begin(w);
    json_kv_uint(w, "u", 18446744073709551615ull);
    json_kv_bool(w, "ok", 1);
    json_kv_double(w, "mos", 4.25);
    json_kv_str(w, "none", NULL);
    json_obj_end(w);
    json_obj_end(w);
    expect_text(w, "{\"name\":\"call-1\",\"legs\":2,\"tags\":[\"a\",-1,true,false,null,[],{}],"
                   "\"inner\":{\"u\":18446744073709551615,\"ok\":true,\"mos\":4.25,"
                   "\"none\":null}}");
    json_w_free(w);
}

static void test_pretty_nested(void **state)
{
    (void)state;
    json_w *w = json_w_new(1, 4096);
    assert_non_null(w);
    json_obj_begin(w);
    json_kv_str(w, "name", "call-1");
    json_key(w, "tags");
    json_arr_begin(w);
    json_int(w, 1);
    json_arr_begin(w);
    json_arr_end(w);
    json_obj_begin(w);
    json_kv_int(w, "x", 7);
    json_obj_end(w);
    json_arr_end(w);
    json_key(w, "empty");
    json_obj_begin(w);
    json_obj_end(w);
    json_obj_end(w);
    expect_text(w, "{\n"
                   "  \"name\": \"call-1\",\n"
                   "  \"tags\": [\n"
                   "    1,\n"
                   "    [],\n"
                   "    {\n"
                   "      \"x\": 7\n"
                   "    }\n"
                   "  ],\n"
                   "  \"empty\": {}\n"
                   "}");
    json_w_free(w);
}

static void test_top_level_scalars(void **state)
{
    (void)state;
    json_w *w = json_w_new(1, 64);
    json_str(w, "x");
    expect_text(w, "\"x\"");
    json_int(w, 1); /* a second top-level value */
    assert_int_equal(json_w_error(w), CS_ERR_STATE);
    json_w_free(w);

    w = json_w_new(0, 64);
    assert_int_equal(json_w_error(w), CS_OK);
    expect_text(w, "");
    json_w_free(w);
}

static void test_escaping(void **state)
{
    (void)state;
    json_w *w = json_w_new(0, 4096);
    json_arr_begin(w);
    json_str(w, "q\"b\\s/");
    static const char ctl[] = "\b\f\n\r\t\x01\x1f\x7f";
    json_str_n(w, ctl, sizeof(ctl) - 1);
    json_str_n(w, "nul\0end", 7);
    json_str(w, "ls\xe2\x80\xa8ps\xe2\x80\xa9");         /* U+2028, U+2029 pass through */
    json_str(w, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"); /* é € 😀 valid */
    json_arr_end(w);
    expect_text(w, "[\"q\\\"b\\\\s/\",\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\","
                   "\"nul\\u0000end\",\"ls\xe2\x80\xa8ps\xe2\x80\xa9\","
                   "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]");
    json_w_free(w);
}

#define FFFD "\xef\xbf\xbd"

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"a\x80z", 3, "\"a" FFFD "z\""},                        /* stray continuation */
        {"\xc0\xaf", 2, "\"" FFFD FFFD "\""},                   /* overlong '/' */
        {"\xe0\x80\xaf", 3, "\"" FFFD FFFD FFFD "\""},          /* overlong 3-byte */
        {"\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\""},          /* UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""}, /* > U+10FFFF */
        {"\xe2\x82", 2, "\"" FFFD "\""},                        /* truncated at the end */
        {"\xe2\x82"
         "A",
         3, "\"" FFFD "A\""},                            /* truncated, then ASCII */
        {"\xf0\x9f\x98", 3, "\"" FFFD "\""},             /* truncated 4-byte */
        {"\xff\xfe", 2, "\"" FFFD FFFD "\""},            /* never valid */
        {"\xf4\x8f\xbf\xbf", 4, "\"\xf4\x8f\xbf\xbf\""}, /* U+10FFFF is fine */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_w *w = json_w_new(0, 256);
        json_str_n(w, cases[i].in, cases[i].len);
        expect_text(w, cases[i].out);
        json_w_free(w);
    }
}

static void test_integers(void **state)
{
    (void)state;
    json_w *w = json_w_new(0, 256);
    json_arr_begin(w);
    json_int(w, INT64_MIN);
    json_int(w, INT64_MAX);
    json_int(w, 0);
    json_uint(w, UINT64_MAX);
    json_uint(w, 0);
    json_arr_end(w);
    expect_text(w, "[-9223372036854775808,9223372036854775807,0,18446744073709551615,0]");
    json_w_free(w);
}

static void test_doubles(void **state)
{
    (void)state;
    json_w *w = json_w_new(0, 512);
    json_arr_begin(w);
    json_double(w, 0.1);
    json_double(w, 1e300);
    json_double(w, NAN);
    json_double(w, INFINITY);
    json_double(w, -INFINITY);
    json_double(w, 0.1 + 0.2);
    json_double(w, 1.0 / 3.0);
    json_double(w, -2.5);
    json_double(w, 0.0);
    json_double(w, 5e-324);
    json_double(w, 1.7976931348623157e308);
    json_double(w, 100.0);
    json_arr_end(w);
    expect_text(w, "[0.1,1e+300,null,null,null,0.30000000000000004,0.3333333333333333,-2.5,0,"
                   "4.94065645841247e-324,1.7976931348623157e+308,100]");
    json_w_free(w);
}

static void test_ceiling(void **state)
{
    (void)state;
    /* Exactly at the ceiling is fine. */
    json_w *w = json_w_new(0, 7);
    json_str(w, "abcde");
    expect_text(w, "\"abcde\"");
    json_w_free(w);

    /* One byte more is CS_ERR_LIMIT, and the writer stays failed. */
    w = json_w_new(0, 7);
    json_str(w, "abcdef");
    assert_int_equal(json_w_error(w), CS_ERR_LIMIT);
    json_w_free(w);

    /* A growing document crosses the ceiling in the middle: later calls are no-ops. */
    w = json_w_new(0, 1000);
    json_arr_begin(w);
    int i;
    for (i = 0; i < 1000 && json_w_error(w) != CS_ERR_LIMIT; i++)
        json_str(w, "0123456789");
    assert_int_equal(json_w_error(w), CS_ERR_LIMIT);
    assert_true(i > 50 && i < 200);
    size_t len1 = 0;
    json_w_data(w, &len1);
    assert_true(len1 <= 1000);
    json_arr_end(w);
    json_obj_begin(w);
    json_int(w, 1);
    size_t len2 = 0;
    json_w_data(w, &len2);
    assert_int_equal(len1, len2);
    assert_int_equal(json_w_error(w), CS_ERR_LIMIT);
    json_w_free(w);

    /* A large buffer grows past the initial allocation. */
    w = json_w_new(1, 1 << 20);
    json_arr_begin(w);
    for (i = 0; i < 10000; i++)
        json_int(w, i);
    json_arr_end(w);
    assert_int_equal(json_w_error(w), CS_OK);
    size_t len = 0;
    const char *d = json_w_data(w, &len);
    assert_int_equal(len, strlen(d));
    assert_memory_equal(d, "[\n  0,\n  1,\n", 12);
    assert_memory_equal(d + len - 8, "  9999\n]", 8);
    json_w_free(w);
}

static void test_depth(void **state)
{
    (void)state;
    json_w *w = json_w_new(0, 4096);
    for (int i = 0; i < CS_JSON_MAX_DEPTH; i++)
        json_arr_begin(w);
    assert_int_equal(json_w_error(w), CS_ERR_STATE); /* open, but not failed */
    for (int i = 0; i < CS_JSON_MAX_DEPTH; i++)
        json_arr_end(w);
    assert_int_equal(json_w_error(w), CS_OK);
    json_w_free(w);

    w = json_w_new(0, 4096);
    for (int i = 0; i < CS_JSON_MAX_DEPTH + 1; i++)
        json_arr_begin(w);
    assert_int_equal(json_w_error(w), CS_ERR_LIMIT);
    for (int i = 0; i < CS_JSON_MAX_DEPTH + 1; i++)
        json_arr_end(w);
    assert_int_equal(json_w_error(w), CS_ERR_LIMIT);
    json_w_free(w);
}

static void test_misuse(void **state)
{
    (void)state;
    json_w *w;

    /* A value where a key is expected. */
    w = json_w_new(0, 256);
    json_obj_begin(w);
    json_int(w, 1);
    assert_int_equal(json_w_error(w), CS_ERR_STATE);
    json_w_free(w);

    /* A key inside an array. */
    w = json_w_new(0, 256);
    json_arr_begin(w);
    json_key(w, "k");
    assert_int_equal(json_w_error(w), CS_ERR_STATE);
    json_w_free(w);

    /* Two keys in a row. */
    w = json_w_new(0, 256);
    json_obj_begin(w);
    json_key(w, "a");
    json_key(w, "b");
    assert_int_equal(json_w_error(w), CS_ERR_STATE);
    json_w_free(w);

    /* Closing an object whose key has no value. */
    w = json_w_new(0, 256);
    json_obj_begin(w);
    json_key(w, "a");
    json_obj_end(w);
    assert_int_equal(json_w_error(w), CS_ERR_STATE);
    json_w_free(w);

    /* Unbalanced end, and the wrong kind of end. */
    w = json_w_new(0, 256);
    json_arr_end(w);
    assert_int_equal(json_w_error(w), CS_ERR_STATE);
    json_w_free(w);
    w = json_w_new(0, 256);
    build_nested(w);
    assert_int_equal(json_w_error(w), CS_ERR_STATE);
    json_w_free(w);

    /* A key at top level; a NULL key. */
    w = json_w_new(0, 256);
    json_key(w, "a");
    assert_int_equal(json_w_error(w), CS_ERR_STATE);
    json_w_free(w);
    w = json_w_new(0, 256);
    json_obj_begin(w);
    json_key(w, NULL);
    assert_int_equal(json_w_error(w), CS_ERR_INVAL);
    json_w_free(w);

    /* The first error sticks even when a different one follows. */
    w = json_w_new(0, 8);
    json_arr_begin(w);
    json_str(w, "too long for this");
    json_key(w, "k");
    assert_int_equal(json_w_error(w), CS_ERR_LIMIT);
    json_w_free(w);

    /* Key with embedded bytes via the (ptr,len) form. */
    w = json_w_new(0, 256);
    json_obj_begin(w);
    json_key_n(w, "k\"ey-ignored", 4);
    json_null(w);
    json_obj_end(w);
    expect_text(w, "{\"k\\\"ey\":null}");
    json_w_free(w);
}

static void test_take(void **state)
{
    (void)state;
    json_w *w = json_w_new(0, 256);
    json_arr_begin(w);
    json_int(w, 5);
    json_arr_end(w);
    size_t len = 0;
    char *s = json_w_take(w, &len);
    assert_string_equal(s, "[5]");
    assert_int_equal(len, 3);
    free(s);
    /* w is empty and usable again. */
    json_w_data(w, &len);
    assert_int_equal(len, 0);
    json_str(w, "again");
    expect_text(w, "\"again\"");
    json_w_free(w);
}

static void test_save_atomic(void **state)
{
    (void)state;
    char dir[512], path[600];
    assert_int_equal(ts_mkdtemp(dir, sizeof(dir), "json"), 0);
    snprintf(path, sizeof(path), "%s/truth.json", dir);
    /* An old version is replaced as a whole. */
    assert_int_equal(ts_write_file(path, "old contents that are longer", 28), 0);

    json_w *w = json_w_new(1, 4096);
    json_obj_begin(w);
    json_kv_str(w, "seed", "42");
    json_kv_double(w, "loss", 0.5);
    json_obj_end(w);
    assert_int_equal(json_w_save(w, path), CS_OK);
    size_t want_len = 0, got_len = 0;
    const char *want = json_w_data(w, &want_len);
    char *got = ts_read_file(path, &got_len);
    assert_non_null(got);
    assert_int_equal(got_len, want_len);
    assert_memory_equal(got, want, want_len);
    assert_string_equal(got, "{\n  \"seed\": \"42\",\n  \"loss\": 0.5\n}");
    free(got);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* No temporary file is left behind: the directory holds exactly one entry. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            entries++;
    }
    closedir(d);
    assert_int_equal(entries, 1);

    /* Into a directory that does not exist: CS_ERR_IO. */
    char bad[700];
    snprintf(bad, sizeof(bad), "%s/missing/x.json", dir);
    assert_int_equal(json_w_save(w, bad), CS_ERR_IO);
    json_w_free(w);

    /* A failed or unfinished writer is not saved and the old file stays. */
    w = json_w_new(0, 4096);
    json_obj_begin(w);
    assert_int_equal(json_w_save(w, path), CS_ERR_STATE);
    json_w_free(w);
    got = ts_read_file(path, &got_len);
    assert_non_null(got);
    assert_string_equal(got, "{\n  \"seed\": \"42\",\n  \"loss\": 0.5\n}");
    free(got);

    assert_int_equal(ts_rmrf(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_nested),
        cmocka_unit_test(test_pretty_nested),
        cmocka_unit_test(test_top_level_scalars),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_ceiling),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_save_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
