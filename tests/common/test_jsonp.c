/*
 * test_jsonp.c — common/jsonp.c, the strict JSON parser.
 *
 * Every input is copied into a heap buffer of exactly its length (no NUL), so
 * ASan reports any read past it. Shown here:
 *   - valid documents print back canonically (table: input -> expected dump);
 *   - malformed documents give the exact code, offset, line and column (table);
 *   - every strict prefix of a real call.json is CS_ERR_TRUNCATED at its length;
 *   - the typed accessors, JSON Pointer, positions, duplicate keys, limits;
 *   - every call.json callscope-capture writes for tests/data/sample.pcap parses,
 *     and each leaf (path, type, value) equals what jq 1.6 reads from the same
 *     file (strings compared as code points, numbers as doubles / int64).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "jsonp.h"
#include "testsupport.h"

/* snprintf that fails the test instead of truncating. */
__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, cap, f, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* Parses a private exact-length copy of text[0, len). */
static int parse_exact(const char *text, size_t len, const jsonp_opts *opts, jsonp_doc **doc,
                       jsonp_error *err)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, text, len);
    int rc = jsonp_parse(len ? copy : NULL, len, opts, doc, err);
    free(copy);
    return rc;
}

/* Shortest %g that reads back as the same double. */
static void put_double(ts_buf *b, double d)
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    ts_buf_printf(b, "%s", tmp);
}

static void put_string(ts_buf *b, const char *s, size_t len)
{
    ts_buf_printf(b, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            ts_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            ts_buf_printf(b, "\\u%04x", c);
        else
            ts_buf_printf(b, "%c", c);
    }
    ts_buf_printf(b, "\"");
}

/* Canonical compact dump: ints exact, other numbers shortest round-trip. */
static void dump(ts_buf *b, const jsonp_val *v)
{
    size_t len;
    const char *s;
    int64_t i;
    double d;
    int bo;
    switch (jsonp_type_of(v)) {
    case JSONP_NULL:
        ts_buf_printf(b, "null");
        break;
    case JSONP_BOOL:
        assert_int_equal(jsonp_bool(v, &bo), CS_OK);
        ts_buf_printf(b, bo ? "true" : "false");
        break;
    case JSONP_NUMBER:
        if (jsonp_is_int(v)) {
            assert_int_equal(jsonp_int(v, &i), CS_OK);
            ts_buf_printf(b, "%" PRId64, i);
        } else {
            assert_int_equal(jsonp_double(v, &d), CS_OK);
            put_double(b, d);
        }
        break;
    case JSONP_STRING:
        s = jsonp_str(v, &len);
        assert_non_null(s);
        assert_int_equal(s[len], '\0');
        put_string(b, s, len);
        break;
    case JSONP_ARRAY:
        ts_buf_printf(b, "[");
        for (size_t k = 0; k < jsonp_len(v); k++) {
            ts_buf_printf(b, k ? "," : "");
            dump(b, jsonp_at(v, k));
        }
        ts_buf_printf(b, "]");
        break;
    case JSONP_OBJECT:
        ts_buf_printf(b, "{");
        for (size_t k = 0; k < jsonp_len(v); k++) {
            ts_buf_printf(b, k ? "," : "");
            s = jsonp_key(v, k, &len);
            put_string(b, s, len);
            ts_buf_printf(b, ":");
            assert_ptr_equal(jsonp_get_n(v, s, len), jsonp_at(v, k));
            dump(b, jsonp_at(v, k));
        }
        ts_buf_printf(b, "}");
        break;
    default:
        fail_msg("value without a type");
    }
}

typedef struct valid_row {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *out;
} valid_row;

static const valid_row valid_rows[] = {
    {"0", 0, "0"},
    {"-0", 0, "0"},
    {"true", 0, "true"},
    {"null", 0, "null"},
    {"\"\"", 0, "\"\""},
    {"  [ ]  ", 0, "[]"},
    {"{}", 0, "{}"},
    {" \t\r\n{ \"k\" : [ 1 , 2 ] } \n", 0, "{\"k\":[1,2]}"},
    {"[1,-2,3.5,1e2,-1.5E-3,0.1,1E+2,2e-0]", 0, "[1,-2,3.5,1e+02,-0.0015,0.1,1e+02,2]"},
    {"[9223372036854775807,-9223372036854775808,9223372036854775808]", 0,
     "[9223372036854775807,-9223372036854775808,9.223372036854776e+18]"},
    {"[1e-400,123456789012345678901234567890]", 0, "[0,1.2345678901234568e+29]"},
    {"{\"a\":{\"b\":[true,false,null]}}", 0, "{\"a\":{\"b\":[true,false,null]}}"},
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0, "\"\\\"\\\\/\\u0008\\u000c\\u000a\\u000d\\u0009\""},
    {"\"\\u00e9\\u20AC\\ud83d\\ude00\\uDBFF\\uDFFF\\u007f\"", 0,
     "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\x7f\""},
    {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\"", 0,
     "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf\""},
    {"\"a\\u0000b\"", 0, "\"a\\u0000b\""},
    {"{\"\":1,\"a\\u0000\":2,\"a\":3,\"A\":4}", 0, "{\"\":1,\"a\\u0000\":2,\"a\":3,\"A\":4}"},
    {"[[[]],{\"x\":{}}]", 0, "[[[]],{\"x\":{}}]"},
};

static void test_valid(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(valid_rows) / sizeof(valid_rows[0]); r++) {
        const valid_row *row = &valid_rows[r];
        size_t len = row->len ? row->len : strlen(row->in);
        jsonp_doc *doc = NULL;
        jsonp_error err;
        int rc = parse_exact(row->in, len, NULL, &doc, &err);
        if (rc != CS_OK)
            fail_msg("row %zu (%s): %s at %zu: %s", r, row->in, cs_err_name(rc), err.offset,
                     err.reason);
        assert_string_equal(err.reason, "");
        ts_buf b = {0};
        dump(&b, jsonp_root(doc));
        if (strcmp(b.p, row->out) != 0)
            fail_msg("row %zu: got %s, want %s", r, b.p, row->out);
        free(b.p);
        jsonp_free(doc);
    }
}

typedef struct bad_row {
    const char *in;
    size_t len; /* 0: strlen(in) */
    int rc;
    size_t off, line, col;
    const char *reason; /* substring of err.reason */
} bad_row;

#define T CS_ERR_TRUNCATED
#define M CS_ERR_MALFORMED

static const bad_row bad_rows[] = {
    /* truncated: offset is always the input length */
    {"", 0, T, 0, 1, 1, "no JSON value"},
    {"  \n ", 0, T, 4, 2, 2, "no JSON value"},
    {"{", 0, T, 1, 1, 2, "object"},
    {"[1,", 0, T, 3, 1, 4, "array"},
    {"[1", 0, T, 2, 1, 3, "array"},
    {"{\"a\"", 0, T, 4, 1, 5, "object"},
    {"{\"a\":", 0, T, 5, 1, 6, "value"},
    {"\"abc", 0, T, 4, 1, 5, "string"},
    {"\"abc\\", 0, T, 5, 1, 6, "escape"},
    {"tru", 0, T, 3, 1, 4, "literal"},
    {"-", 0, T, 1, 1, 2, "number"},
    {"1.", 0, T, 2, 1, 3, "number"},
    {"1e", 0, T, 2, 1, 3, "number"},
    {"1e+", 0, T, 3, 1, 4, "number"},
    {"\"\\u12", 0, T, 5, 1, 6, "\\u"},
    {"\"\\ud800", 0, T, 7, 1, 8, "surrogate"},
    {"\"\\ud800\\", 0, T, 8, 1, 9, "surrogate"},
    {"\"\\ud800\\udc", 0, T, 11, 1, 12, "surrogate"},
    {"\"\xe2\x82", 0, T, 3, 1, 4, "string"},
    /* trailing data */
    {"{} x", 0, M, 3, 1, 4, "end of the input"},
    {"[1] [2]", 0, M, 4, 1, 5, "end of the input"},
    {"1 2", 0, M, 2, 1, 3, "end of the input"},
    {"truex", 0, M, 4, 1, 5, "end of the input"},
    {"{\"a\":1}\0", 8, M, 7, 1, 8, "0x00"},
    /* escapes and surrogates: offset of the backslash */
    {"\"\\q\"", 0, M, 1, 1, 2, "invalid escape \\'q'"},
    {"\"ab\\x\"", 0, M, 3, 1, 4, "invalid escape"},
    {"\"\\u12G4\"", 0, M, 1, 1, 2, "hex"},
    {"\"\\u00\"", 0, M, 1, 1, 2, "hex"},
    {"\"\\ud800\"", 0, M, 1, 1, 2, "lone high surrogate"},
    {"\"ab\\ud800x\"", 0, M, 3, 1, 4, "lone high surrogate"},
    {"\"\\ud800\\n\"", 0, M, 1, 1, 2, "lone high surrogate"},
    {"\"\\ud800\\u0041\"", 0, M, 1, 1, 2, "lone high surrogate"},
    {"\"\\ud800\\ud800\"", 0, M, 1, 1, 2, "lone high surrogate"},
    {"\"\\ud800\\uzzzz\"", 0, M, 7, 1, 8, "hex"},
    {"\"\\udc00\"", 0, M, 1, 1, 2, "lone low surrogate"},
    {"\"\\uDFFF\\uD800\"", 0, M, 1, 1, 2, "lone low surrogate"},
    /* control bytes, NUL bytes and invalid UTF-8 */
    {"\"a\0b\"", 5, M, 2, 1, 3, "control byte 0x00"},
    {"\"\t\"", 0, M, 1, 1, 2, "control byte 0x09"},
    {"\"a\nb\"", 0, M, 2, 1, 3, "control byte 0x0a"},
    {"[1,\0]", 5, M, 3, 1, 4, "0x00"},
    {"\0", 1, M, 0, 1, 1, "0x00"},
    {"\"\xc3\"", 0, M, 1, 1, 2, "UTF-8"},
    {"\"\xc0\xaf\"", 0, M, 1, 1, 2, "UTF-8"},
    {"\"\xe0\x80\xaf\"", 0, M, 1, 1, 2, "UTF-8"},
    {"\"\xed\xa0\x80\"", 0, M, 1, 1, 2, "UTF-8"},
    {"\"\xf4\x90\x80\x80\"", 0, M, 1, 1, 2, "UTF-8"},
    {"\"ok\xff\"", 0, M, 3, 1, 4, "UTF-8"},
    {"\"\x80\"", 0, M, 1, 1, 2, "UTF-8"},
    {"\xef\xbb\xbf{}", 0, M, 0, 1, 1, "0xef"},
    /* numbers */
    {"01", 0, M, 1, 1, 2, "leading zero"},
    {"-01", 0, M, 2, 1, 3, "leading zero"},
    {"+1", 0, M, 0, 1, 1, "'+'"},
    {".5", 0, M, 0, 1, 1, "'.'"},
    {"1.e5", 0, M, 2, 1, 3, "after '.'"},
    {"-a", 0, M, 1, 1, 2, "digit"},
    {"1e+x", 0, M, 3, 1, 4, "exponent"},
    {"NaN", 0, M, 0, 1, 1, "'N'"},
    {"nan", 0, M, 1, 1, 2, "literal null"},
    {"Infinity", 0, M, 0, 1, 1, "'I'"},
    {"1e999", 0, CS_ERR_OVERFLOW, 0, 1, 1, "range"},
    {"[0,-1e400]", 0, CS_ERR_OVERFLOW, 3, 1, 4, "range"},
    /* structure */
    {"[1,]", 0, M, 3, 1, 4, "expected a value"},
    {"[,1]", 0, M, 1, 1, 2, "expected a value"},
    {"{\"a\":1,}", 0, M, 7, 1, 8, "string key"},
    {"{a:1}", 0, M, 1, 1, 2, "string key"},
    {"{\"a\" 1}", 0, M, 5, 1, 6, "':'"},
    {"[1 2]", 0, M, 3, 1, 4, "',' or ']'"},
    {"{\"a\":1 \"b\":2}", 0, M, 7, 1, 8, "',' or '}'"},
    {"[true false]", 0, M, 6, 1, 7, "',' or ']'"},
    {"[1}", 0, M, 2, 1, 3, "',' or ']'"},
    {"{\"a\":1]", 0, M, 6, 1, 7, "',' or '}'"},
    {"'a'", 0, M, 0, 1, 1, "'''"},
    /* duplicate keys: offset of the repeating key */
    {"{\"a\":1,\"a\":2}", 0, M, 7, 1, 8, "duplicate key"},
    {"{\"a\":{\"b\":1,\"b\":1}}", 0, M, 12, 1, 13, "duplicate key"},
    {"{\"a\":1,\"\\u0061\":2}", 0, M, 7, 1, 8, "duplicate key"},
    {"{\"\":1,\"\":2}", 0, M, 6, 1, 7, "duplicate key"},
    /* lines and columns */
    {"{\n  \"a\": tru\n}", 0, M, 12, 2, 11, "literal true"},
    {"[\n1,\n\n  x]", 0, M, 8, 4, 3, "expected a value"},
    {"[\r\n1,\r\n  ]", 0, M, 9, 3, 3, "expected a value"},
};

static void check_error(const char *what, int rc, const jsonp_error *err, int want_rc, size_t off,
                        size_t line, size_t col, const char *reason)
{
    if (rc != want_rc || err->offset != off || err->line != line || err->column != col ||
        (reason && !strstr(err->reason, reason)))
        fail_msg("%s: got %s at %zu (%zu:%zu) \"%s\"; want %s at %zu (%zu:%zu) \"%s\"", what,
                 cs_err_name(rc), err->offset, err->line, err->column, err->reason,
                 cs_err_name(want_rc), off, line, col, reason ? reason : "");
}

static void test_malformed(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(bad_rows) / sizeof(bad_rows[0]); r++) {
        const bad_row *row = &bad_rows[r];
        size_t len = row->len ? row->len : strlen(row->in);
        jsonp_doc *doc = (jsonp_doc *)1;
        jsonp_error err;
        int rc = parse_exact(row->in, len, NULL, &doc, &err);
        char what[64];
        snprintf(what, sizeof(what), "bad row %zu", r);
        check_error(what, rc, &err, row->rc, row->off, row->line, row->col, row->reason);
        assert_null(doc);
    }
}

static char *nested(size_t n, const char *open, const char *close, const char *leaf)
{
    size_t lo = strlen(open), lc = strlen(close), ll = strlen(leaf);
    char *s = malloc(n * (lo + lc) + ll + 1);
    assert_non_null(s);
    char *p = s;
    for (size_t i = 0; i < n; i++, p += lo)
        memcpy(p, open, lo);
    memcpy(p, leaf, ll);
    p += ll;
    for (size_t i = 0; i < n; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return s;
}

static void test_depth(void **state)
{
    (void)state;
    jsonp_doc *doc;
    jsonp_error err;
    char *s = nested(64, "[", "]", "1");
    assert_int_equal(parse_exact(s, strlen(s), NULL, &doc, &err), CS_OK);
    const jsonp_val *v = jsonp_root(doc);
    for (int i = 0; i < 64; i++)
        v = jsonp_at(v, 0);
    assert_true(jsonp_is_int(v));
    jsonp_free(doc);
    free(s);

    s = nested(65, "[", "]", "1");
    assert_int_equal(parse_exact(s, strlen(s), NULL, &doc, &err), CS_ERR_LIMIT);
    check_error("depth 65", CS_ERR_LIMIT, &err, CS_ERR_LIMIT, 64, 1, 65, "nesting deeper than 64");
    free(s);

    /* 100000 unclosed brackets: stops at the limit, no deep recursion */
    s = nested(100000, "[", "", "");
    assert_int_equal(parse_exact(s, strlen(s), NULL, &doc, &err), CS_ERR_LIMIT);
    assert_int_equal(err.offset, 64);
    free(s);

    s = nested(65, "{\"a\":", "}", "null");
    assert_int_equal(parse_exact(s, strlen(s), NULL, &doc, &err), CS_ERR_LIMIT);
    assert_int_equal(err.offset, 64 * 5);
    free(s);

    jsonp_opts o = {.max_depth = 3};
    assert_int_equal(parse_exact("[[[1]]]", 7, &o, &doc, &err), CS_OK);
    jsonp_free(doc);
    assert_int_equal(parse_exact("[[{\"a\":1}]]", 11, &o, &doc, &err), CS_OK);
    jsonp_free(doc);
    assert_int_equal(parse_exact("[[[[1]]]]", 9, &o, &doc, &err), CS_ERR_LIMIT);
    assert_int_equal(err.offset, 3);
    o.max_depth = JSONP_MAX_DEPTH_LIMIT + 1;
    assert_int_equal(parse_exact("1", 1, &o, &doc, &err), CS_ERR_INVAL);
    o.max_depth = JSONP_MAX_DEPTH_LIMIT;
    s = nested(JSONP_MAX_DEPTH_LIMIT, "[", "]", "");
    assert_int_equal(parse_exact(s, strlen(s), &o, &doc, &err), CS_OK);
    jsonp_free(doc);
    free(s);
}

static void test_limits(void **state)
{
    (void)state;
    jsonp_doc *doc;
    jsonp_error err;
    jsonp_opts o = {.max_bytes = 10};
    assert_int_equal(parse_exact("[1,2,3,4]", 9, &o, &doc, &err), CS_OK);
    jsonp_free(doc);
    assert_int_equal(parse_exact("[1,2,3,40]", 10, &o, &doc, &err), CS_OK);
    jsonp_free(doc);
    assert_int_equal(parse_exact("[1,2,3,400]", 11, &o, &doc, &err), CS_ERR_LIMIT);
    check_error("max_bytes", CS_ERR_LIMIT, &err, CS_ERR_LIMIT, 10, 1, 11, "longer than 10");
    o.max_bytes = (size_t)JSONP_MAX_BYTES_LIMIT + 1;
    assert_int_equal(parse_exact("1", 1, &o, &doc, &err), CS_ERR_INVAL);

    /* number lexemes: JSONP_MAX_NUMBER_LEN bytes pass, one more is CS_ERR_LIMIT */
    char num[JSONP_MAX_NUMBER_LEN + 8];
    memset(num, '0', sizeof(num));
    num[0] = '[';
    num[1] = '0';
    num[2] = '.';
    num[1 + JSONP_MAX_NUMBER_LEN] = ']';
    assert_int_equal(parse_exact(num, JSONP_MAX_NUMBER_LEN + 2, NULL, &doc, &err), CS_OK);
    jsonp_free(doc);
    memset(num, '0', sizeof(num));
    num[0] = '[';
    num[1] = '0';
    num[2] = '.';
    num[2 + JSONP_MAX_NUMBER_LEN] = ']';
    assert_int_equal(parse_exact(num, JSONP_MAX_NUMBER_LEN + 3, NULL, &doc, &err), CS_ERR_LIMIT);
    check_error("long number", CS_ERR_LIMIT, &err, CS_ERR_LIMIT, 1, 1, 2, "longer than");

    /* 310 digits: valid JSON, beyond double range */
    memset(num, '9', 310);
    assert_int_equal(parse_exact(num, 310, NULL, &doc, &err), CS_ERR_OVERFLOW);
    assert_int_equal(err.offset, 0);
    /* 300 digits: a double, not an int64 */
    assert_int_equal(parse_exact(num, 300, NULL, &doc, &err), CS_OK);
    int64_t i = 7;
    double d;
    assert_false(jsonp_is_int(jsonp_root(doc)));
    assert_int_equal(jsonp_int(jsonp_root(doc), &i), CS_ERR_OVERFLOW);
    assert_int_equal(i, 7);
    assert_int_equal(jsonp_double(jsonp_root(doc), &d), CS_OK);
    assert_true(d > 9.99e299 && d <= 1e300);
    jsonp_free(doc);

    /* arguments */
    assert_int_equal(jsonp_parse("1", 1, NULL, NULL, &err), CS_ERR_INVAL);
    assert_int_equal(jsonp_parse(NULL, 1, NULL, &doc, &err), CS_ERR_INVAL);
    assert_int_equal(jsonp_parse(NULL, 0, NULL, &doc, NULL), CS_ERR_TRUNCATED);
    assert_null(doc);
    assert_int_equal(parse_exact("[]", 2, NULL, &doc, NULL), CS_OK);
    jsonp_free(doc);
    jsonp_free(NULL);
    assert_null(jsonp_root(NULL));
}

static const char accessor_doc[] =
    "{\"i\":42,\"neg\":-7,\"f\":1.5,\"e\":1e3,\"big\":9223372036854775808,\"huge\":1e300,"
    "\"n\":null,\"s\":\"uuid-like\",\"z\":\"a\\u0000b\",\"t\":true,\"arr\":[10,20,30],"
    "\"o\":{\"a/b\":1,\"m~n\":2},\"max\":9223372036854775807,\"min\":-9223372036854775808,"
    "\"exact\":9007199254740991.0,\"inexact\":9007199254740992.0}";

static void test_accessors(void **state)
{
    (void)state;
    jsonp_doc *doc;
    jsonp_error err;
    assert_int_equal(parse_exact(accessor_doc, strlen(accessor_doc), NULL, &doc, &err), CS_OK);
    const jsonp_val *r = jsonp_root(doc);
    int64_t i = 99;
    double d = 0;
    int b = 5;

    assert_int_equal(jsonp_type_of(r), JSONP_OBJECT);
    assert_int_equal(jsonp_len(r), 16);
    assert_int_equal(jsonp_get_int(r, "i", &i), CS_OK);
    assert_int_equal(i, 42);
    assert_int_equal(jsonp_get_int(r, "neg", &i), CS_OK);
    assert_int_equal(i, -7);
    assert_int_equal(jsonp_get_int(r, "max", &i), CS_OK);
    assert_true(i == INT64_MAX);
    assert_int_equal(jsonp_get_int(r, "min", &i), CS_OK);
    assert_true(i == INT64_MIN);
    assert_int_equal(jsonp_get_int(r, "e", &i), CS_OK);
    assert_int_equal(i, 1000);
    assert_false(jsonp_is_int(jsonp_get(r, "e")));
    assert_int_equal(jsonp_get_int(r, "exact", &i), CS_OK);
    assert_true(i == 9007199254740991LL);
    i = 99;
    assert_int_equal(jsonp_get_int(r, "inexact", &i), CS_ERR_OVERFLOW);
    assert_int_equal(jsonp_get_int(r, "f", &i), CS_ERR_MALFORMED);
    assert_int_equal(jsonp_get_int(r, "big", &i), CS_ERR_OVERFLOW);
    assert_int_equal(jsonp_get_int(r, "huge", &i), CS_ERR_OVERFLOW);
    assert_int_equal(jsonp_get_int(r, "n", &i), CS_ERR_EMPTY);
    assert_int_equal(jsonp_get_int(r, "absent", &i), CS_ERR_NOTFOUND);
    assert_int_equal(jsonp_get_int(r, "s", &i), CS_ERR_MALFORMED);
    assert_int_equal(jsonp_get_int(r, "arr", &i), CS_ERR_MALFORMED);
    assert_int_equal(i, 99);

    assert_int_equal(jsonp_get_double(r, "f", &d), CS_OK);
    assert_true(d == 1.5);
    assert_int_equal(jsonp_get_double(r, "i", &d), CS_OK);
    assert_true(d == 42.0);
    assert_int_equal(jsonp_get_double(r, "big", &d), CS_OK);
    assert_true(d == 9223372036854775808.0);
    assert_int_equal(jsonp_get_double(r, "n", &d), CS_ERR_EMPTY);
    assert_int_equal(jsonp_get_double(r, "t", &d), CS_ERR_MALFORMED);

    assert_int_equal(jsonp_get_bool(r, "t", &b), CS_OK);
    assert_int_equal(b, 1);
    assert_int_equal(jsonp_get_bool(r, "i", &b), CS_ERR_MALFORMED);
    assert_int_equal(jsonp_get_bool(r, "n", &b), CS_ERR_EMPTY);
    assert_int_equal(jsonp_bool(NULL, &b), CS_ERR_NOTFOUND);
    assert_int_equal(b, 1);

    size_t len = 0;
    assert_string_equal(jsonp_get_str(r, "s", &len), "uuid-like");
    assert_int_equal(len, 9);
    assert_null(jsonp_get_str(r, "i", &len));
    assert_null(jsonp_get_str(r, "n", NULL));
    const char *z = jsonp_get_str(r, "z", &len);
    assert_int_equal(len, 3);
    assert_memory_equal(z, "a\0b", 4);
    assert_true(jsonp_str_eq(jsonp_get(r, "s"), "uuid-like"));
    assert_false(jsonp_str_eq(jsonp_get(r, "s"), "uuid-lik"));
    assert_false(jsonp_str_eq(jsonp_get(r, "z"), "a"));
    assert_false(jsonp_str_eq(jsonp_get(r, "i"), "42"));
    char buf[10];
    assert_int_equal(jsonp_str_copy(jsonp_get(r, "s"), buf, sizeof(buf)), CS_OK);
    assert_string_equal(buf, "uuid-like");
    assert_int_equal(jsonp_str_copy(jsonp_get(r, "s"), buf, 9), CS_ERR_OVERFLOW);
    assert_string_equal(buf, "");
    assert_int_equal(jsonp_str_copy(jsonp_get(r, "z"), buf, sizeof(buf)), CS_ERR_MALFORMED);
    assert_int_equal(jsonp_str_copy(jsonp_get(r, "n"), buf, sizeof(buf)), CS_ERR_EMPTY);
    assert_int_equal(jsonp_str_copy(jsonp_get(r, "nope"), buf, sizeof(buf)), CS_ERR_NOTFOUND);

    const jsonp_val *arr = jsonp_get(r, "arr");
    assert_int_equal(jsonp_len(arr), 3);
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(jsonp_int(jsonp_at(arr, k), &i), CS_OK);
        assert_int_equal(i, 10 * (int64_t)(k + 1));
    }
    assert_null(jsonp_at(arr, 3));
    assert_null(jsonp_get(arr, "0"));
    assert_null(jsonp_key(arr, 0, NULL));
    assert_int_equal(jsonp_len(jsonp_get(r, "i")), 0);
    assert_null(jsonp_at(jsonp_get(r, "s"), 0));
    assert_null(jsonp_get(jsonp_get(r, "absent"), "x"));
    assert_null(jsonp_get(r, NULL));

    /* members in document order */
    static const char *const keys[] = {"i", "neg", "f",   "e", "big", "huge", "n",     "s",
                                       "z", "t",   "arr", "o", "max", "min",  "exact", "inexact"};
    for (size_t k = 0; k < 16; k++) {
        assert_string_equal(jsonp_key(r, k, &len), keys[k]);
        assert_int_equal(len, strlen(keys[k]));
        assert_ptr_equal(jsonp_at(r, k), jsonp_get(r, keys[k]));
    }
    assert_null(jsonp_key(r, 16, NULL));

    assert_int_equal(jsonp_type_of(NULL), JSONP_NONE);
    assert_string_equal(jsonp_type_name(jsonp_type_of(jsonp_get(r, "n"))), "null");
    assert_string_equal(jsonp_type_name(jsonp_type_of(jsonp_get(r, "t"))), "boolean");
    assert_string_equal(jsonp_type_name(JSONP_NONE), "none");
    assert_true(jsonp_is_null(jsonp_get(r, "n")));
    assert_false(jsonp_is_null(jsonp_get(r, "absent")));
    assert_false(jsonp_is_null(jsonp_get(r, "i")));

    /* JSON Pointer */
    assert_ptr_equal(jsonp_pointer(r, ""), r);
    assert_ptr_equal(jsonp_pointer(r, "/arr/1"), jsonp_at(arr, 1));
    assert_null(jsonp_pointer(r, "/arr/01"));
    assert_null(jsonp_pointer(r, "/arr/3"));
    assert_null(jsonp_pointer(r, "/arr/"));
    assert_null(jsonp_pointer(r, "/arr/-1"));
    assert_null(jsonp_pointer(r, "arr"));
    assert_int_equal(jsonp_int(jsonp_pointer(r, "/o/a~1b"), &i), CS_OK);
    assert_int_equal(i, 1);
    assert_int_equal(jsonp_int(jsonp_pointer(r, "/o/m~0n"), &i), CS_OK);
    assert_int_equal(i, 2);
    assert_null(jsonp_pointer(r, "/o/m~2n"));
    assert_null(jsonp_pointer(r, "/i/x"));
    jsonp_free(doc);

    /* positions */
    static const char ml[] = "{\n  \"a\": [1,\n    2]\n}";
    assert_int_equal(parse_exact(ml, strlen(ml), NULL, &doc, &err), CS_OK);
    size_t off = 0, line = 0, col = 0;
    jsonp_where(jsonp_pointer(jsonp_root(doc), "/a"), &off, &line, &col);
    assert_int_equal(off, 9);
    assert_int_equal(line, 2);
    assert_int_equal(col, 8);
    jsonp_where(jsonp_pointer(jsonp_root(doc), "/a/1"), &off, &line, &col);
    assert_int_equal(off, 17);
    assert_int_equal(line, 3);
    assert_int_equal(col, 5);
    jsonp_where(jsonp_root(doc), &off, NULL, NULL);
    assert_int_equal(off, 0);
    jsonp_free(doc);
}

/* Objects above JSONP_INDEX_MIN members: indexed lookups, duplicates anywhere. */
static void test_large_object(void **state)
{
    (void)state;
    ts_buf b = {0};
    ts_buf_printf(&b, "{");
    for (int k = 0; k < 1000; k++)
        ts_buf_printf(&b, "%s\"k%d\":%d", k ? "," : "", k, k);
    ts_buf_printf(&b, "}");
    jsonp_doc *doc;
    jsonp_error err;
    assert_int_equal(parse_exact(b.p, b.len, NULL, &doc, &err), CS_OK);
    const jsonp_val *r = jsonp_root(doc);
    assert_int_equal(jsonp_len(r), 1000);
    for (int k = 0; k < 1000; k++) {
        char key[16];
        int64_t i;
        snprintf(key, sizeof(key), "k%d", k);
        assert_int_equal(jsonp_get_int(r, key, &i), CS_OK);
        assert_int_equal(i, k);
        assert_ptr_equal(jsonp_get(r, key), jsonp_at(r, (size_t)k));
    }
    assert_null(jsonp_get(r, "k1000"));
    assert_null(jsonp_get(r, "k"));
    assert_null(jsonp_get(r, ""));
    jsonp_free(doc);

    /* two duplicates, "k5" then "k3" after it: the earlier repeat is reported */
    b.len--;
    size_t at5 = b.len + 1;
    ts_buf_printf(&b, ",\"k5\":0");
    ts_buf_printf(&b, ",\"k3\":0}");
    assert_int_equal(parse_exact(b.p, b.len, NULL, &doc, &err), CS_ERR_MALFORMED);
    check_error("large dup", CS_ERR_MALFORMED, &err, CS_ERR_MALFORMED, at5, 1, at5 + 1,
                "duplicate key");
    free(b.p);

    /* exactly JSONP_INDEX_MIN + 1 members with the duplicate last (the seed file) */
    static const char nine[] = "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,"
                               "\"a\":9}";
    assert_int_equal(parse_exact(nine, strlen(nine), NULL, &doc, &err), CS_ERR_MALFORMED);
    assert_int_equal(err.offset, strlen(nine) - 6);
}

static char *read_source(const char *rel, size_t *len)
{
    char path[4096];
    ts_source_path(path, sizeof(path), rel);
    char *s = ts_read_file(path, len);
    if (!s)
        fail_msg("cannot read %s", path);
    return s;
}

/* Every strict prefix of a real call.json is CS_ERR_TRUNCATED at its length;
 * one extra byte after the document is CS_ERR_MALFORMED at the old length. */
static void test_prefixes(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "tests/fuzz/corpus/jsonp/call-transfer.json", "tests/fuzz/corpus/jsonp/call-dtmf.json",
        "tests/fuzz/corpus/jsonp/call-hold.json", "tests/fuzz/corpus/jsonp/call-busy.json",
        "tests/fuzz/corpus/jsonp/call-abandoned.json"};
    size_t checked = 0;
    for (size_t f = 0; f < sizeof(seeds) / sizeof(seeds[0]); f++) {
        size_t len;
        char *s = read_source(seeds[f], &len);
        jsonp_doc *doc;
        jsonp_error err;
        assert_int_equal(parse_exact(s, len, NULL, &doc, &err), CS_OK);
        jsonp_free(doc);
        for (size_t n = 0; n < len; n++) {
            int rc = parse_exact(s, n, NULL, &doc, &err);
            if (rc != CS_ERR_TRUNCATED || err.offset != n)
                fail_msg("%s prefix %zu: %s at %zu", seeds[f], n, cs_err_name(rc), err.offset);
            checked++;
        }
        s[len] = '}';
        assert_int_equal(parse_exact(s, len + 1, NULL, &doc, &err), CS_ERR_MALFORMED);
        assert_int_equal(err.offset, len);
        free(s);
    }
    assert_true(checked > 30000);
}

/* Allocation-failure torture: an allocator that counts live blocks and fails
 * the fail_at-th allocation (0-based; SIZE_MAX never). */
typedef struct torture {
    size_t calls, fail_at, live;
} torture;

static void *torture_realloc(void *ctx, void *p, size_t n)
{
    torture *t = ctx;
    if (n == 0) {
        if (p)
            t->live--;
        free(p);
        return NULL;
    }
    if (t->calls++ == t->fail_at)
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        t->live++;
    return q;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    size_t len;
    char *s = read_source("tests/fuzz/corpus/jsonp/call-transfer.json", &len);
    /* a large object too, so the key index allocation is exercised */
    ts_buf big = {0};
    ts_buf_printf(&big, "{");
    for (int k = 0; k < 3000; k++)
        ts_buf_printf(&big, "%s\"key%d\":[\"v\",%d]", k ? "," : "", k, k);
    ts_buf_printf(&big, "}");
    const char *texts[2] = {s, big.p};
    size_t lens[2] = {len, big.len};
    for (int f = 0; f < 2; f++) {
        torture t = {0, SIZE_MAX, 0};
        jsonp_opts o = {.realloc_fn = torture_realloc, .alloc_ctx = &t};
        jsonp_doc *doc;
        jsonp_error err;
        assert_int_equal(parse_exact(texts[f], lens[f], &o, &doc, &err), CS_OK);
        size_t total = t.calls;
        assert_true(total >= 3);
        assert_true(t.live > 0);
        jsonp_free(doc);
        assert_int_equal(t.live, 0);
        for (size_t k = 0; k < total; k++) {
            t = (torture){0, k, 0};
            doc = (jsonp_doc *)1;
            assert_int_equal(parse_exact(texts[f], lens[f], &o, &doc, &err), CS_ERR_NOMEM);
            assert_null(doc);
            assert_string_equal(err.reason, "out of memory");
            assert_int_equal(t.live, 0);
        }
        print_message("document %d: %zu allocations, each failed once: CS_ERR_NOMEM, no leak\n", f,
                      total);
    }
    free(big.p);
    free(s);
}

/* An allocator that keeps each block's size in front of it: live and peak bytes. */
typedef struct meter {
    size_t live, peak;
} meter;

static void *meter_realloc(void *ctx, void *p, size_t n)
{
    meter *m = ctx;
    max_align_t *h = p ? (max_align_t *)p - 1 : NULL;
    size_t old = h ? *(size_t *)h : 0;
    if (n == 0) {
        m->live -= old;
        free(h);
        return NULL;
    }
    max_align_t *q = realloc(h, sizeof(*q) + n);
    if (!q)
        return NULL;
    *(size_t *)q = n;
    m->live = m->live - old + n;
    if (m->live > m->peak)
        m->peak = m->live;
    return q + 1;
}

/* The memory bound of jsonp.h: tree < 30 x input, peak < 90 x input. */
static void test_memory_bound(void **state)
{
    (void)state;
    const size_t k = ((1u << 20) - 3) / 2, n = 3 + 2 * k; /* "[" k x "0," "0]" */
    char *s = malloc(n);
    assert_non_null(s);
    s[0] = '[';
    for (size_t i = 0; i < k; i++) {
        s[1 + 2 * i] = '0';
        s[2 + 2 * i] = ',';
    }
    s[n - 2] = '0';
    s[n - 1] = ']';
    meter m = {0, 0};
    jsonp_opts o = {.realloc_fn = meter_realloc, .alloc_ctx = &m};
    jsonp_doc *doc;
    jsonp_error err;
    assert_int_equal(parse_exact(s, n, &o, &doc, &err), CS_OK);
    assert_int_equal(jsonp_len(jsonp_root(doc)), k + 1);
    print_message("1 MiB of \"[0,0,...]\": tree %zu KiB (%.1fx), peak %zu KiB (%.1fx)\n",
                  m.live / 1024, (double)m.live / n, m.peak / 1024, (double)m.peak / n);
    assert_true(m.live < 30 * n);
    assert_true(m.peak < 90 * n);
    jsonp_free(doc);
    assert_int_equal(m.live, 0);
    free(s);
}

/* --- call.json from callscope-capture over tests/data/sample.pcap vs jq --- */

static const char jq_prog[] =
    "tostream | select(length == 2) | .[0] as $p | .[1] as $v | ($v | type) as $t |\n"
    "($p | map(tostring) | join(\"/\")) + \"\\t\" + $t + \"\\t\" +\n"
    "(if $t == \"string\" then ($v | explode | map(tostring) | join(\",\"))\n"
    " elif $t == \"array\" or $t == \"object\" then \"empty\"\n"
    " else ($v | tojson) end)\n";

/* The same leaf listing from our tree; numbers as %.17g (compared numerically). */
static void leaves(ts_buf *b, const jsonp_val *v, char *path, size_t plen, size_t pcap)
{
    jsonp_type t = jsonp_type_of(v);
    size_t n = jsonp_len(v);
    if ((t == JSONP_ARRAY || t == JSONP_OBJECT) && n > 0) {
        for (size_t k = 0; k < n; k++) {
            int w;
            if (t == JSONP_ARRAY)
                w = snprintf(path + plen, pcap - plen, "%s%zu", plen ? "/" : "", k);
            else
                w = snprintf(path + plen, pcap - plen, "%s%s", plen ? "/" : "",
                             jsonp_key(v, k, NULL));
            assert_true(w > 0 && (size_t)w < pcap - plen);
            leaves(b, jsonp_at(v, k), path, plen + (size_t)w, pcap);
            path[plen] = '\0';
        }
        return;
    }
    ts_buf_printf(b, "%s\t%s\t", path, jsonp_type_name(t));
    size_t len;
    const unsigned char *s;
    double d;
    int bo;
    switch (t) {
    case JSONP_STRING:
        s = (const unsigned char *)jsonp_str(v, &len);
        for (size_t i = 0; i < len;) {
            unsigned cp, c = s[i];
            size_t m = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
            cp = m == 1 ? c : c & (0x7f >> m);
            for (size_t j = 1; j < m; j++)
                cp = cp << 6 | (s[i + j] & 0x3f);
            ts_buf_printf(b, "%s%u", i ? "," : "", cp);
            i += m;
        }
        break;
    case JSONP_NUMBER:
        assert_int_equal(jsonp_double(v, &d), CS_OK);
        ts_buf_printf(b, "%.17g", d);
        break;
    case JSONP_BOOL:
        assert_int_equal(jsonp_bool(v, &bo), CS_OK);
        ts_buf_printf(b, bo ? "true" : "false");
        break;
    case JSONP_NULL:
        ts_buf_printf(b, "null");
        break;
    default:
        ts_buf_printf(b, "empty");
    }
    ts_buf_printf(b, "\n");
}

/* The tab before the third field of the line [l, e). */
static const char *value_field(const char *l, const char *e)
{
    const char *t = memchr(l, '\t', (size_t)(e - l));
    return t ? memchr(t + 1, '\t', (size_t)(e - t - 1)) : NULL;
}

/* Compares our listing with jq's line by line; returns the number of leaves. */
static size_t compare_with_jq(const char *file, const char *ours, const char *progfile)
{
    char cmd[8192];
    fmt(cmd, sizeof(cmd), "jq -r -f '%s' < '%s'", progfile, file);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    ts_buf theirs = {0};
    char line[8192];
    while (fgets(line, sizeof(line), f))
        ts_buf_printf(&theirs, "%s", line);
    assert_int_equal(pclose(f), 0);
    assert_non_null(theirs.p);

    size_t n = 0;
    const char *a = ours, *b = theirs.p;
    while (*a && *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        assert_non_null(ea);
        assert_non_null(eb);
        const char *ta = value_field(a, ea), *tb = value_field(b, eb);
        assert_non_null(ta);
        assert_non_null(tb);
        if (ta - a != tb - b || memcmp(a, b, (size_t)(ta - a)) != 0)
            fail_msg("%s leaf %zu: ours %.*s, jq %.*s", file, n, (int)(ea - a), a, (int)(eb - b),
                     b);
        if (strncmp(ta - 7, "\tnumber", 7) == 0) {
            double da = strtod(ta + 1, NULL), db = strtod(tb + 1, NULL);
            if (da != db)
                fail_msg("%s leaf %zu: ours %.*s, jq %.*s", file, n, (int)(ea - a), a,
                         (int)(eb - b), b);
        } else if (ea - ta != eb - tb || memcmp(ta, tb, (size_t)(ea - ta)) != 0) {
            fail_msg("%s leaf %zu: ours %.*s, jq %.*s", file, n, (int)(ea - a), a, (int)(eb - b),
                     b);
        }
        a = ea + 1;
        b = eb + 1;
        n++;
    }
    if (*a || *b)
        fail_msg("%s: leaf counts differ after %zu (ours \"%.40s\", jq \"%.40s\")", file, n, a, b);
    free(theirs.p);
    return n;
}

/* Checks typed reads of the fields decode relies on against the contract. */
static void check_call_fields(const jsonp_val *r, const char *uuid_dir)
{
    int64_t v, inv, end, dur;
    char uuid[37];
    assert_true(jsonp_str_eq(jsonp_get(r, "format"), "callscope-call"));
    assert_int_equal(jsonp_get_int(r, "version", &v), CS_OK);
    assert_int_equal(v, 1);
    assert_int_equal(jsonp_str_copy(jsonp_get(r, "uuid"), uuid, sizeof(uuid)), CS_OK);
    assert_string_equal(uuid, uuid_dir);
    assert_int_equal(jsonp_get_int(r, "invite_us", &inv), CS_OK);
    assert_int_equal(jsonp_get_int(r, "end_us", &end), CS_OK);
    assert_int_equal(jsonp_get_int(r, "duration_us", &dur), CS_OK);
    assert_true(dur == end - inv);
    int rc = jsonp_get_int(r, "answer_us", &v);
    assert_true(rc == CS_OK || rc == CS_ERR_EMPTY);
    assert_int_equal(rc == CS_OK, jsonp_str_eq(jsonp_get(r, "outcome"), "answered"));
    const jsonp_val *streams = jsonp_get(r, "streams");
    assert_int_equal(jsonp_type_of(streams), JSONP_ARRAY);
    for (size_t k = 0; k < jsonp_len(streams); k++) {
        const jsonp_val *s = jsonp_at(streams, k);
        int64_t idx, leg, pt, rate, first, last;
        assert_int_equal(jsonp_get_int(s, "index", &idx), CS_OK);
        assert_true(idx == (int64_t)k);
        assert_int_equal(jsonp_get_int(s, "leg", &leg), CS_OK);
        assert_non_null(jsonp_at(jsonp_get(r, "legs"), (size_t)leg));
        assert_int_equal(jsonp_get_int(s, "codec_pt", &pt), CS_OK);
        assert_true(pt >= 0 && pt < 128);
        assert_int_equal(jsonp_get_int(s, "clock_rate", &rate), CS_OK);
        assert_true(rate == 8000 || rate == 16000 || rate == 48000);
        assert_int_equal(jsonp_get_int(s, "first_us", &first), CS_OK);
        assert_int_equal(jsonp_get_int(s, "last_us", &last), CS_OK);
        assert_true(first >= inv && last >= first && last <= end);
        assert_non_null(jsonp_get_str(s, "codec", NULL));
    }
}

static void test_capture_calls_vs_jq(void **state)
{
    (void)state;
    const char *bin_dir = getenv("CALLSCOPE_BINARY_DIR");
    char capture[4096], pcap[4096], dir[4096], cmd[16384], path[8192];
    fmt(capture, sizeof(capture), "%s/capture/callscope-capture", bin_dir ? bin_dir : ".");
    if (access(capture, X_OK) != 0) {
        print_message("SKIP: %s not built; build target callscope-capture\n", capture);
        skip();
    }
    if (system("jq --version > /dev/null 2>&1") != 0) {
        print_message("SKIP: jq not installed\n");
        skip();
    }
    ts_source_path(pcap, sizeof(pcap), "tests/data/sample.pcap");
    assert_int_equal(ts_mkdtemp(dir, sizeof(dir), "jsonp"), 0);
    fmt(path, sizeof(path), "%s/empty.conf", dir);
    assert_int_equal(ts_write_file(path, "", 0), 0);
    fmt(cmd, sizeof(cmd), "CALLSCOPE_CONFIG='%s' '%s' --spool '%s/spool' '%s' 2>/dev/null", path,
        capture, dir, pcap);
    assert_int_equal(system(cmd), 0);
    char prog[4096];
    fmt(prog, sizeof(prog), "%s/leaves.jq", dir);
    assert_int_equal(ts_write_file(prog, jq_prog, strlen(jq_prog)), 0);

    /* the truth file (read with jsonp too) says how many calls the pcap holds */
    size_t tlen;
    char *truth = read_source("tests/data/sample.truth.json", &tlen);
    jsonp_doc *tdoc;
    jsonp_error err;
    assert_int_equal(parse_exact(truth, tlen, NULL, &tdoc, &err), CS_OK);
    int64_t want_calls = 0;
    assert_int_equal(jsonp_int(jsonp_pointer(jsonp_root(tdoc), "/totals/calls"), &want_calls),
                     CS_OK);
    jsonp_free(tdoc);
    free(truth);

    fmt(path, sizeof(path), "%s/spool/ready", dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    size_t files = 0, total_leaves = 0, transfers = 0, dtmf = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char file[8192];
        fmt(file, sizeof(file), "%s/%s/call.json", path, de->d_name);
        size_t len;
        char *text = ts_read_file(file, &len);
        assert_non_null(text);
        jsonp_doc *doc;
        int rc = parse_exact(text, len, NULL, &doc, &err);
        if (rc != CS_OK)
            fail_msg("%s: %s at %zu:%zu: %s", file, cs_err_name(rc), err.line, err.column,
                     err.reason);
        check_call_fields(jsonp_root(doc), de->d_name);
        transfers += jsonp_len(jsonp_get(jsonp_root(doc), "transfers"));
        dtmf += jsonp_len(jsonp_get(jsonp_root(doc), "dtmf"));
        ts_buf ours = {0};
        char p[1024] = "";
        leaves(&ours, jsonp_root(doc), p, 0, sizeof(p));
        total_leaves += compare_with_jq(file, ours.p, prog);
        free(ours.p);
        jsonp_free(doc);
        free(text);
        files++;
    }
    closedir(d);
    print_message("%zu call.json files, %zu leaves equal to jq's\n", files, total_leaves);
    assert_int_equal(files, (size_t)want_calls);
    assert_true(total_leaves > 3000);
    assert_int_equal(transfers, 1);
    assert_int_equal(dtmf, 18);
    ts_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_depth),        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_accessors),    cmocka_unit_test(test_large_object),
        cmocka_unit_test(test_prefixes),     cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_memory_bound), cmocka_unit_test(test_capture_calls_vs_jq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
