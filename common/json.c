/*
 * json.c — the JSON writer declared in json.h.
 *
 * Design: one growable byte buffer with a hard ceiling (max_bytes of text, the
 * terminating NUL not counted) and a small fixed stack of open containers. Each
 * stack level remembers whether it is an object or an array, how many members it
 * has (to place commas and, in pretty mode, the closing newline), and for objects
 * whether a key is waiting for its value. The top level accepts exactly one value.
 *
 * Errors are sticky: the first one is kept in w->err and every later call returns
 * at once, so the text never contains a half-formed continuation after a failure
 * (it may end in the middle of the value that failed). Callers check
 * json_w_error() once at the end.
 *
 * Output format:
 *   compact  {"a":1,"b":[true,null]}
 *   pretty   members on their own lines, indented by 2 spaces per level,
 *            "key": value, empty containers as {} and [], no trailing newline.
 *
 * Strings: RFC 8259 section 7. '"' and '\\' are escaped, control characters
 * below 0x20 use \b \f \n \r \t or \u00XX; '/' and everything from 0x7f up are
 * written as is (U+2028/U+2029 are valid JSON and pass through as UTF-8).
 * Invalid UTF-8 (stray continuation bytes, overlong forms, surrogates, code
 * points above U+10FFFF, truncated sequences) is replaced by U+FFFD, one per
 * "maximal subpart" as Unicode recommends (the W3C/WHATWG decoders do the same),
 * so the output is always valid UTF-8 and valid JSON.
 *
 * Doubles: NaN and infinities have no JSON form and are written as null. Finite
 * values use the shortest of %.15g, %.16g, %.17g that reads back (strtod) as the
 * same double; %.17g always does. A decimal comma from an exotic LC_NUMERIC is
 * turned back into '.'.
 *
 * json_w_save: temporary file "<path>.tmp.XXXXXX" in the same directory, write,
 * fsync, rename over path, fsync the directory (the Redis rdbSave sequence), so a
 * reader sees either the old file or the whole new one. The file gets mode 0644.
 * It writes exactly the text of json_w_data() and refuses a writer in error.
 *
 * Not here: a JSON parser, streaming output to a FILE, pretty-printing options.
 */
#include "json.h"

#include "utf8.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_INITIAL_CAP 256
#define JSON_INDENT      2

enum json_kind { JSON_OBJ = 1, JSON_ARR = 2 };

typedef struct json_level {
    uint8_t kind;        /* JSON_OBJ or JSON_ARR */
    uint8_t key_pending; /* object: a key was written, its value is due */
    size_t count;        /* members (object: keys) written so far */
} json_level;

struct json_w {
    char *buf; /* cap bytes, NUL-terminated text of len bytes; owned */
    size_t len;
    size_t cap;
    size_t max; /* ceiling on len */
    int pretty;
    int err;      /* sticky first error, CS_OK while healthy */
    int depth;    /* open containers, 0..CS_JSON_MAX_DEPTH */
    int top_done; /* the single top-level value has been started */
    json_level stack[CS_JSON_MAX_DEPTH];
};

static void json_fail(json_w *w, int err)
{
    if (w->err == CS_OK)
        w->err = err;
}

/* Makes room for n more bytes plus the NUL, within the ceiling. */
static int json_reserve(json_w *w, size_t n)
{
    if (w->err != CS_OK)
        return -1;
    if (n > w->max || w->len > w->max - n) {
        json_fail(w, CS_ERR_LIMIT);
        return -1;
    }
    size_t need = w->len + n + 1;
    if (need <= w->cap)
        return 0;
    size_t ncap = w->cap ? w->cap : JSON_INITIAL_CAP;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > w->max + 1)
        ncap = w->max + 1; /* need <= max + 1 holds here */
    char *nb = realloc(w->buf, ncap);
    if (nb == NULL) {
        json_fail(w, CS_ERR_NOMEM);
        return -1;
    }
    w->buf = nb;
    w->cap = ncap;
    return 0;
}

static int json_put(json_w *w, const char *s, size_t n)
{
    if (json_reserve(w, n) != 0)
        return -1;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
    return 0;
}

static int json_putc(json_w *w, char c)
{
    return json_put(w, &c, 1);
}

static int json_newline_indent(json_w *w, int level)
{
    size_t n = 1 + (size_t)level * JSON_INDENT;
    if (json_reserve(w, n) != 0)
        return -1;
    w->buf[w->len] = '\n';
    memset(w->buf + w->len + 1, ' ', n - 1);
    w->len += n;
    w->buf[w->len] = '\0';
    return 0;
}

json_w *json_w_new(int pretty, size_t max_bytes)
{
    json_w *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    size_t cap = max_bytes < JSON_INITIAL_CAP ? max_bytes + 1 : JSON_INITIAL_CAP;
    w->buf = malloc(cap);
    if (w->buf == NULL) {
        free(w);
        return NULL;
    }
    w->buf[0] = '\0';
    w->cap = cap;
    w->max = max_bytes < SIZE_MAX - 1 ? max_bytes : SIZE_MAX - 1; /* len + NUL must fit */
    w->pretty = pretty != 0;
    w->err = CS_OK;
    return w;
}

void json_w_free(json_w *w)
{
    if (w == NULL)
        return;
    free(w->buf);
    free(w);
}

/* Everything a value needs before its first byte: state check, comma, indent. */
static int json_before_value(json_w *w)
{
    if (w->err != CS_OK)
        return -1;
    if (w->depth == 0) {
        if (w->top_done) {
            json_fail(w, CS_ERR_STATE);
            return -1;
        }
        w->top_done = 1;
        return 0;
    }
    json_level *lv = &w->stack[w->depth - 1];
    if (lv->kind == JSON_OBJ) {
        if (!lv->key_pending) {
            json_fail(w, CS_ERR_STATE);
            return -1;
        }
        lv->key_pending = 0;
        return 0;
    }
    if (lv->count > 0 && json_putc(w, ',') != 0)
        return -1;
    lv->count++;
    if (w->pretty)
        return json_newline_indent(w, w->depth);
    return 0;
}

static void json_begin(json_w *w, uint8_t kind, char open)
{
    if (json_before_value(w) != 0)
        return;
    if (w->depth >= CS_JSON_MAX_DEPTH) {
        json_fail(w, CS_ERR_LIMIT);
        return;
    }
    if (json_putc(w, open) != 0)
        return;
    json_level *lv = &w->stack[w->depth++];
    lv->kind = kind;
    lv->key_pending = 0;
    lv->count = 0;
}

static void json_end(json_w *w, uint8_t kind, char close)
{
    if (w->err != CS_OK)
        return;
    if (w->depth == 0) {
        json_fail(w, CS_ERR_STATE);
        return;
    }
    json_level *lv = &w->stack[w->depth - 1];
    if (lv->kind != kind || lv->key_pending) {
        json_fail(w, CS_ERR_STATE);
        return;
    }
    if (w->pretty && lv->count > 0 && json_newline_indent(w, w->depth - 1) != 0)
        return;
    if (json_putc(w, close) != 0)
        return;
    w->depth--;
}

void json_obj_begin(json_w *w)
{
    json_begin(w, JSON_OBJ, '{');
}

void json_obj_end(json_w *w)
{
    json_end(w, JSON_OBJ, '}');
}

void json_arr_begin(json_w *w)
{
    json_begin(w, JSON_ARR, '[');
}

void json_arr_end(json_w *w)
{
    json_end(w, JSON_ARR, ']');
}

static void json_string(json_w *w, const char *str, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *s = (const uint8_t *)str;
    if (json_putc(w, '"') != 0)
        return;
    size_t i = 0;
    while (i < len) {
        /* Copy the longest run that needs no escaping in one go. */
        size_t run = i;
        while (run < len && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) {
            if (json_put(w, str + i, run - i) != 0)
                return;
            i = run;
            continue;
        }
        uint8_t c = s[i];
        char esc[6];
        size_t elen = 2;
        esc[0] = '\\';
        if (c >= 0x80) {
            size_t bad = 1;
            size_t n = cs_utf8_seq(s + i, len - i, &bad);
            if (n == CS_UTF8_CUT)
                n = 0; /* the string ends inside a sequence: replaced too */
            int rc = n ? json_put(w, str + i, n) : json_put(w, "\xef\xbf\xbd", 3);
            if (rc != 0)
                return;
            i += n ? n : bad;
            continue;
        }
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            elen = 6;
            break;
        }
        if (json_put(w, esc, elen) != 0)
            return;
        i++;
    }
    json_putc(w, '"');
}

void json_key_n(json_w *w, const char *key, size_t len)
{
    if (w->err != CS_OK)
        return;
    if (key == NULL && len > 0) {
        json_fail(w, CS_ERR_INVAL);
        return;
    }
    if (w->depth == 0) {
        json_fail(w, CS_ERR_STATE);
        return;
    }
    json_level *lv = &w->stack[w->depth - 1];
    if (lv->kind != JSON_OBJ || lv->key_pending) {
        json_fail(w, CS_ERR_STATE);
        return;
    }
    if (lv->count > 0 && json_putc(w, ',') != 0)
        return;
    if (w->pretty && json_newline_indent(w, w->depth) != 0)
        return;
    json_string(w, key ? key : "", len);
    if (w->pretty)
        json_put(w, ": ", 2);
    else
        json_putc(w, ':');
    lv->count++;
    lv->key_pending = 1;
}

void json_key(json_w *w, const char *key)
{
    if (key == NULL) {
        json_fail(w, CS_ERR_INVAL);
        return;
    }
    json_key_n(w, key, strlen(key));
}

void json_str_n(json_w *w, const char *s, size_t len)
{
    if (w->err != CS_OK)
        return;
    if (s == NULL && len > 0) {
        json_fail(w, CS_ERR_INVAL);
        return;
    }
    if (s == NULL) {
        json_null(w);
        return;
    }
    if (json_before_value(w) != 0)
        return;
    json_string(w, s, len);
}

void json_str(json_w *w, const char *s)
{
    json_str_n(w, s, s ? strlen(s) : 0);
}

static void json_raw_value(json_w *w, const char *text, size_t len)
{
    if (json_before_value(w) != 0)
        return;
    json_put(w, text, len);
}

void json_int(json_w *w, int64_t v)
{
    char b[32];
    int n = snprintf(b, sizeof(b), "%" PRId64, v);
    json_raw_value(w, b, (size_t)n);
}

void json_uint(json_w *w, uint64_t v)
{
    char b[32];
    int n = snprintf(b, sizeof(b), "%" PRIu64, v);
    json_raw_value(w, b, (size_t)n);
}

void json_double(json_w *w, double v)
{
    if (!isfinite(v)) {
        json_raw_value(w, "null", 4);
        return;
    }
    char b[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(b, sizeof(b), "%.*g", prec, v);
        if (strtod(b, NULL) == v)
            break;
    }
    for (int i = 0; i < n; i++) {
        if (b[i] == ',')
            b[i] = '.';
    }
    json_raw_value(w, b, (size_t)n);
}

void json_bool(json_w *w, int v)
{
    if (v)
        json_raw_value(w, "true", 4);
    else
        json_raw_value(w, "false", 5);
}

void json_null(json_w *w)
{
    json_raw_value(w, "null", 4);
}

void json_kv_str(json_w *w, const char *key, const char *s)
{
    json_key(w, key);
    json_str(w, s);
}

void json_kv_int(json_w *w, const char *key, int64_t v)
{
    json_key(w, key);
    json_int(w, v);
}

void json_kv_uint(json_w *w, const char *key, uint64_t v)
{
    json_key(w, key);
    json_uint(w, v);
}

void json_kv_double(json_w *w, const char *key, double v)
{
    json_key(w, key);
    json_double(w, v);
}

void json_kv_bool(json_w *w, const char *key, int v)
{
    json_key(w, key);
    json_bool(w, v);
}

int json_w_error(const json_w *w)
{
    if (w->err != CS_OK)
        return w->err;
    if (w->depth > 0)
        return CS_ERR_STATE;
    return CS_OK;
}

const char *json_w_data(const json_w *w, size_t *len)
{
    if (len)
        *len = w->buf ? w->len : 0;
    return w->buf ? w->buf : "";
}

char *json_w_take(json_w *w, size_t *len)
{
    char *out = w->buf;
    size_t n = w->len;
    if (out == NULL) {
        out = malloc(1);
        if (out == NULL)
            return NULL;
        out[0] = '\0';
        n = 0;
    }
    w->buf = NULL;
    w->len = 0;
    w->cap = 0;
    w->err = CS_OK;
    w->depth = 0;
    w->top_done = 0;
    if (len)
        *len = n;
    return out;
}

static int json_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* fsync of the directory holding path, so the rename itself is durable. */
static int json_fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (slash == NULL)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int json_w_save(const json_w *w, const char *path)
{
    int err = json_w_error(w);
    if (err != CS_OK)
        return err;
    if (path == NULL || path[0] == '\0')
        return CS_ERR_INVAL;
    static const char suffix[] = ".tmp.XXXXXX";
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof(suffix));
    if (tmp == NULL)
        return CS_ERR_NOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof(suffix));
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        free(tmp);
        return CS_ERR_IO;
    }
    size_t len;
    const char *data = json_w_data(w, &len);
    int ok = fchmod(fd, 0644) == 0 && json_write_all(fd, data, len) == 0 && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        unlink(tmp);
        free(tmp);
        return CS_ERR_IO;
    }
    free(tmp);
    if (json_fsync_dir(path) != 0)
        return CS_ERR_IO;
    return CS_OK;
}
