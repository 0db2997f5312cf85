/*
 * fuzz_jsonp.c — libFuzzer target for common/jsonp.c.
 *
 * The input is the JSON text itself (libFuzzer hands over a buffer of exactly
 * `size` bytes, so ASan reports any read past it). On success the whole tree is
 * walked through the public accessors, written back with the json.h writer and
 * parsed again; the second tree must equal the first. The input is also parsed
 * with max_depth 4, which may only add CS_ERR_LIMIT, and with an allocator that
 * fails its n-th allocation (n from the first byte), which may only turn the
 * result into CS_ERR_NOMEM and must leave no block behind.
 *
 * Invariants checked (abort on violation):
 *   - an error has a known code, a non-empty reason, line/column >= 1, offset
 *     < size (== size exactly for CS_ERR_TRUNCATED);
 *   - every string and key is NUL-terminated at its length and valid UTF-8;
 *   - every object member is found again by jsonp_get_n (no duplicate keys);
 *   - an integer keeps an exact int64 whose double is the number's double;
 *   - every value's offset lies inside the input, line and column >= 1;
 *   - write -> parse is the identity on the tree.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "jsonp.h"

static int utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

static void check_str(const char *s, size_t len)
{
    if (!s || s[len] != '\0' || !utf8_valid((const unsigned char *)s, len))
        abort();
}

static void walk(const jsonp_val *v, size_t size, json_w *w)
{
    size_t off = SIZE_MAX, line = 0, col = 0, len;
    jsonp_where(v, &off, &line, &col);
    if (off >= size || line < 1 || col < 1 || col > off + 1)
        abort();
    int64_t i;
    double d;
    int b;
    const char *s;
    switch (jsonp_type_of(v)) {
    case JSONP_NULL:
        if (!jsonp_is_null(v) || jsonp_int(v, &i) != CS_ERR_EMPTY)
            abort();
        json_null(w);
        break;
    case JSONP_BOOL:
        if (jsonp_bool(v, &b) != CS_OK || (b != 0 && b != 1))
            abort();
        json_bool(w, b);
        break;
    case JSONP_NUMBER:
        if (jsonp_double(v, &d) != CS_OK)
            abort();
        if (jsonp_is_int(v)) {
            if (jsonp_int(v, &i) != CS_OK || (double)i != d)
                abort();
            json_int(w, i);
        } else {
            int rc = jsonp_int(v, &i);
            if (rc != CS_OK && rc != CS_ERR_MALFORMED && rc != CS_ERR_OVERFLOW)
                abort();
            if (rc == CS_OK && (double)i != d)
                abort();
            json_double(w, d);
        }
        break;
    case JSONP_STRING:
        s = jsonp_str(v, &len);
        check_str(s, len);
        json_str_n(w, s, len);
        break;
    case JSONP_ARRAY:
        json_arr_begin(w);
        for (size_t k = 0; k < jsonp_len(v); k++)
            walk(jsonp_at(v, k), size, w);
        if (jsonp_at(v, jsonp_len(v)) || jsonp_key(v, 0, NULL))
            abort();
        json_arr_end(w);
        break;
    case JSONP_OBJECT:
        json_obj_begin(w);
        for (size_t k = 0; k < jsonp_len(v); k++) {
            s = jsonp_key(v, k, &len);
            check_str(s, len);
            if (jsonp_get_n(v, s, len) != jsonp_at(v, k))
                abort();
            json_key_n(w, s, len);
            walk(jsonp_at(v, k), size, w);
        }
        if (jsonp_at(v, jsonp_len(v)) || jsonp_key(v, jsonp_len(v), NULL))
            abort();
        json_obj_end(w);
        break;
    default:
        abort();
    }
}

static int same(const jsonp_val *a, const jsonp_val *b)
{
    jsonp_type t = jsonp_type_of(a);
    if (t != jsonp_type_of(b))
        return 0;
    size_t la, lb;
    const char *sa, *sb;
    double da, db;
    int64_t ia, ib;
    int ba, bb;
    switch (t) {
    case JSONP_NULL:
        return 1;
    case JSONP_BOOL:
        return jsonp_bool(a, &ba) == CS_OK && jsonp_bool(b, &bb) == CS_OK && ba == bb;
    case JSONP_NUMBER:
        /* an integral double (1e3, -0.0) is written as "1000", "-0": read back as int */
        if (jsonp_is_int(a) && jsonp_is_int(b))
            return jsonp_int(a, &ia) == CS_OK && jsonp_int(b, &ib) == CS_OK && ia == ib;
        return jsonp_double(a, &da) == CS_OK && jsonp_double(b, &db) == CS_OK && da == db;
    case JSONP_STRING:
        sa = jsonp_str(a, &la);
        sb = jsonp_str(b, &lb);
        return la == lb && memcmp(sa, sb, la) == 0;
    case JSONP_ARRAY:
    case JSONP_OBJECT:
        if (jsonp_len(a) != jsonp_len(b))
            return 0;
        for (size_t k = 0; k < jsonp_len(a); k++) {
            if (t == JSONP_OBJECT) {
                sa = jsonp_key(a, k, &la);
                sb = jsonp_key(b, k, &lb);
                if (la != lb || memcmp(sa, sb, la) != 0)
                    return 0;
            }
            if (!same(jsonp_at(a, k), jsonp_at(b, k)))
                return 0;
        }
        return 1;
    default:
        return 0;
    }
}

typedef struct failing {
    size_t calls, fail_at, live;
} failing;

static void *failing_realloc(void *ctx, void *p, size_t n)
{
    failing *f = ctx;
    if (n == 0) {
        if (p)
            f->live--;
        free(p);
        return NULL;
    }
    if (f->calls++ == f->fail_at)
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        f->live++;
    return q;
}

static void check_error(int rc, const jsonp_error *err, size_t size)
{
    if (rc != CS_ERR_TRUNCATED && rc != CS_ERR_MALFORMED && rc != CS_ERR_LIMIT &&
        rc != CS_ERR_OVERFLOW)
        abort();
    if (!err->reason[0] || err->line < 1 || err->column < 1 || err->column > err->offset + 1)
        abort();
    if (rc == CS_ERR_TRUNCATED ? err->offset != size : err->offset >= size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    jsonp_doc *doc = NULL, *shallow = NULL, *again = NULL;
    jsonp_error err;
    int rc = jsonp_parse(text, size, NULL, &doc, &err);

    jsonp_opts o = {.max_depth = 4};
    jsonp_error err2;
    int rc2 = jsonp_parse(text, size, &o, &shallow, &err2);
    if (rc2 != CS_OK)
        check_error(rc2, &err2, size);
    if (rc2 == CS_OK && rc != CS_OK)
        abort();
    if (rc == CS_OK && rc2 != CS_OK && rc2 != CS_ERR_LIMIT)
        abort();
    if (rc2 == CS_OK && !same(jsonp_root(doc), jsonp_root(shallow)))
        abort();
    jsonp_free(shallow);

    failing fa = {0, size ? data[0] % 16u : 0, 0};
    jsonp_opts fo = {.realloc_fn = failing_realloc, .alloc_ctx = &fa};
    jsonp_doc *fdoc = NULL;
    int rc3 = jsonp_parse(text, size, &fo, &fdoc, &err2);
    if (rc3 != rc && rc3 != CS_ERR_NOMEM)
        abort();
    if (rc3 == CS_OK && !same(jsonp_root(doc), jsonp_root(fdoc)))
        abort();
    jsonp_free(fdoc);
    if (fa.live != 0)
        abort();

    if (rc != CS_OK) {
        check_error(rc, &err, size);
        if (doc)
            abort();
        return 0;
    }
    json_w *w = json_w_new(0, 64u * 1024 * 1024);
    if (!w)
        abort();
    walk(jsonp_root(doc), size, w);
    if (json_w_error(w) != CS_OK)
        abort();
    size_t len;
    const char *out = json_w_data(w, &len);
    rc = jsonp_parse(out, len, NULL, &again, &err);
    if (rc != CS_OK || !same(jsonp_root(doc), jsonp_root(again)))
        abort();
    jsonp_free(again);
    json_w_free(w);
    jsonp_free(doc);
    return 0;
}
