/*
 * jsonp.c — strict RFC 8259 parser into an arena-held tree (see jsonp.h).
 *
 * Design: recursive descent over (pointer, length), depth bounded by
 * opts->max_depth (<= JSONP_MAX_DEPTH_LIMIT), so the C stack is bounded too.
 * Children of an open array/object are collected on a growable scratch stack;
 * when the container closes they are copied as one block into the arena, so
 * every container is a contiguous table and no per-node allocation happens.
 * Strings are decoded into a scratch byte buffer, then copied into the arena.
 * Objects above JSONP_INDEX_MIN members get a key index sorted by (length,
 * bytes) which serves both duplicate detection and jsonp_get's binary search.
 * The scratch buffers are freed when jsonp_parse returns; the arena is a list
 * of chunks freed by jsonp_free.
 *
 * Grammar (RFC 8259 sections 2-7):
 *   JSON-text = ws value ws
 *   value  = false / null / true / object / array / number / string
 *   object = begin-object [ member *( value-separator member ) ] end-object
 *   member = string name-separator value
 *   array  = begin-array [ value *( value-separator value ) ] end-array
 *   number = [ minus ] int [ frac ] [ exp ]
 *   int    = zero / ( digit1-9 *DIGIT );  frac = "." 1*DIGIT
 *   exp    = ("e" / "E") [ minus / plus ] 1*DIGIT
 *   string = quotation-mark *char quotation-mark
 *   char   = unescaped / escape ( %x22 / %x5C / %x2F / %x62 / %x66 /
 *            %x6E / %x72 / %x74 / %x75 4HEXDIG )
 *   unescaped = %x20-21 / %x23-5B / %x5D-10FFFF
 *   ws     = *( %x20 / %x09 / %x0A / %x0D )
 */
#include "jsonp.h"

#include <float.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "utf8.h"

struct jsonp_val {
    unsigned char type; /* jsonp_type */
    unsigned char is_int;
    unsigned char b;
    uint32_t line, col, off; /* input is at most JSONP_MAX_BYTES_LIMIT (1 GiB) */
    size_t len;              /* string bytes; array/object members */
    union {
        struct {
            int64_t i;
            double d;
        } n;
        const char *s;
        struct {
            struct jsonp_slot *items;
            struct jsonp_slot **index; /* objects > JSONP_INDEX_MIN: sorted by key */
        } c;
    } u;
};

/* One element of an array or member of an object. */
typedef struct jsonp_slot {
    const char *key; /* NULL in arrays */
    uint32_t key_len;
    uint32_t key_off; /* offset of the key's opening quote (duplicate reports) */
    jsonp_val val;
} jsonp_slot;

/* jsonp.h promises 56 bytes per value on 64-bit targets. */
_Static_assert(sizeof(void *) != 8 || sizeof(jsonp_slot) == 56, "jsonp_slot grew");

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t cap, used;
    alignas(max_align_t) unsigned char data[];
} arena_chunk;

struct jsonp_doc {
    jsonp_realloc_fn realloc_fn; /* NULL: the C library */
    void *alloc_ctx;
    arena_chunk *chunks;
    size_t next_chunk; /* size of the next default chunk */
    jsonp_val root;
};

/* Every allocation of a doc and of its parse goes through here (size 0 frees). */
static void *mem(jsonp_realloc_fn fn, void *ctx, void *p, size_t n)
{
    if (fn)
        return fn(ctx, p, n);
    if (n)
        return realloc(p, n);
    free(p);
    return NULL;
}

enum { ARENA_MIN_CHUNK = 4096, ARENA_MAX_CHUNK = 1 << 20 };

static void *arena_alloc(jsonp_doc *doc, size_t n)
{
    const size_t a = alignof(max_align_t);
    n = (n + a - 1) & ~(a - 1);
    arena_chunk *c = doc->chunks;
    if (c && n > doc->next_chunk / 2) {
        /* a large block gets a chunk of its own behind the head, whose free
         * space stays in use */
        arena_chunk *big = mem(doc->realloc_fn, doc->alloc_ctx, NULL, sizeof(*big) + n);
        if (!big)
            return NULL;
        big->cap = big->used = n;
        big->next = c->next;
        c->next = big;
        return big->data;
    }
    if (!c || c->cap - c->used < n) {
        size_t cap = doc->next_chunk;
        if (cap < n)
            cap = n;
        c = mem(doc->realloc_fn, doc->alloc_ctx, NULL, sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = doc->chunks;
        doc->chunks = c;
        if (doc->next_chunk < ARENA_MAX_CHUNK)
            doc->next_chunk *= 2;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

typedef struct parser {
    const unsigned char *p;
    size_t len, pos;
    size_t line, line_start; /* line of pos (1-based) and offset where it starts */
    int depth, max_depth;
    jsonp_doc *doc;
    jsonp_slot *st; /* children of the open containers */
    size_t st_n, st_cap;
    char *sb; /* string being decoded */
    size_t sb_n, sb_cap;
    int rc;
    size_t err_off;
    char reason[JSONP_REASON_MAX];
} parser;

__attribute__((format(printf, 4, 5))) static int fail(parser *ps, int rc, size_t off,
                                                      const char *fmt, ...)
{
    ps->rc = rc;
    ps->err_off = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->reason, sizeof(ps->reason), fmt, ap);
    va_end(ap);
    return rc;
}

static int fail_truncated(parser *ps, const char *what)
{
    return fail(ps, CS_ERR_TRUNCATED, ps->len, "input ends inside %s", what);
}

/* Describes the byte at pos for messages: 'x' or 0xNN. */
static const char *byte_desc(const parser *ps, size_t pos, char buf[8])
{
    unsigned c = ps->p[pos];
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, 8, "'%c'", (char)c);
    else
        snprintf(buf, 8, "0x%02x", c);
    return buf;
}

static int fail_unexpected(parser *ps, const char *expected)
{
    char d[8];
    return fail(ps, CS_ERR_MALFORMED, ps->pos, "unexpected byte %s, expected %s",
                byte_desc(ps, ps->pos, d), expected);
}

static void skip_ws(parser *ps)
{
    while (ps->pos < ps->len) {
        unsigned char c = ps->p[ps->pos];
        if (c == '\n') {
            ps->line++;
            ps->line_start = ps->pos + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        ps->pos++;
    }
}

static void mark(parser *ps, jsonp_val *v)
{
    memset(v, 0, sizeof(*v));
    v->off = (uint32_t)ps->pos;
    v->line = (uint32_t)ps->line;
    v->col = (uint32_t)(ps->pos - ps->line_start + 1);
}

static int sb_put(parser *ps, const void *b, size_t n)
{
    if (ps->sb_cap - ps->sb_n < n) {
        size_t cap = ps->sb_cap ? ps->sb_cap : 256;
        while (cap - ps->sb_n < n)
            cap *= 2;
        char *nb = mem(ps->doc->realloc_fn, ps->doc->alloc_ctx, ps->sb, cap);
        if (!nb)
            return fail(ps, CS_ERR_NOMEM, ps->pos, "out of memory");
        ps->sb = nb;
        ps->sb_cap = cap;
    }
    memcpy(ps->sb + ps->sb_n, b, n);
    ps->sb_n += n;
    return CS_OK;
}

/* Reads four hex digits from s[0, avail): 0 and *out, 1 when a non-hex byte comes
 * first, -1 when the input ends before four digits. */
static int hex4(const unsigned char *s, size_t avail, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < 4; i++) {
        if (i >= avail)
            return -1;
        unsigned c = s[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return 1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(unsigned cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xc0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the string starting at the quote at ps->pos into ps->sb. */
static int scan_string(parser *ps)
{
    const unsigned char *p = ps->p;
    size_t i = ps->pos + 1, end = ps->len;
    ps->sb_n = 0;
    for (;;) {
        size_t run = i;
        while (i < end && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\')
            i++;
        if (i > run && sb_put(ps, p + run, i - run))
            return ps->rc;
        if (i >= end)
            return fail_truncated(ps, "a string");
        unsigned c = p[i];
        if (c == '"') {
            ps->pos = i + 1;
            unsigned char z = 0;
            if (sb_put(ps, &z, 1)) /* terminator, not counted by the caller */
                return ps->rc;
            ps->sb_n--;
            return CS_OK;
        }
        if (c < 0x20)
            return fail(ps, CS_ERR_MALFORMED, i, "control byte 0x%02x in a string", c);
        if (c >= 0x80) {
            size_t n = cs_utf8_seq(p + i, end - i, NULL);
            if (n == CS_UTF8_CUT)
                return fail_truncated(ps, "a string");
            if (n == 0)
                return fail(ps, CS_ERR_MALFORMED, i, "invalid UTF-8 byte 0x%02x", c);
            if (sb_put(ps, p + i, n))
                return ps->rc;
            i += n;
            continue;
        }
        /* backslash */
        size_t esc = i;
        if (end - i < 2)
            return fail_truncated(ps, "an escape");
        unsigned e = p[i + 1];
        unsigned char out[4];
        size_t on = 1;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            out[0] = (unsigned char)e;
            break;
        case 'b':
            out[0] = '\b';
            break;
        case 'f':
            out[0] = '\f';
            break;
        case 'n':
            out[0] = '\n';
            break;
        case 'r':
            out[0] = '\r';
            break;
        case 't':
            out[0] = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            int h = hex4(p + i + 2, end - i - 2, &cp);
            if (h < 0)
                return fail_truncated(ps, "a \\u escape");
            if (h > 0)
                return fail(ps, CS_ERR_MALFORMED, esc, "\\u needs four hex digits");
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(ps, CS_ERR_MALFORMED, esc, "lone low surrogate \\u%04X", cp);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                size_t j = i + 6; /* where the low half's backslash must be */
                if (j >= end || (p[j] == '\\' && j + 1 >= end))
                    return fail_truncated(ps, "a surrogate pair");
                if (p[j] != '\\' || p[j + 1] != 'u')
                    return fail(ps, CS_ERR_MALFORMED, esc, "lone high surrogate \\u%04X", cp);
                h = hex4(p + j + 2, end - j - 2, &lo);
                if (h < 0)
                    return fail_truncated(ps, "a surrogate pair");
                if (h > 0)
                    return fail(ps, CS_ERR_MALFORMED, j, "\\u needs four hex digits");
                if (lo < 0xdc00 || lo > 0xdfff)
                    return fail(ps, CS_ERR_MALFORMED, esc, "lone high surrogate \\u%04X", cp);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            }
            on = utf8_put(cp, out);
            i += 4;
            break;
        }
        default: {
            char d[8];
            return fail(ps, CS_ERR_MALFORMED, esc, "invalid escape \\%s", byte_desc(ps, i + 1, d));
        }
        }
        if (sb_put(ps, out, on))
            return ps->rc;
        i += 2;
    }
}

/* Copies the decoded string in ps->sb into the arena (NUL-terminated). */
static const char *sb_commit(parser *ps)
{
    char *s = arena_alloc(ps->doc, ps->sb_n + 1);
    if (!s) {
        fail(ps, CS_ERR_NOMEM, ps->pos, "out of memory");
        return NULL;
    }
    if (ps->sb_n)
        memcpy(s, ps->sb, ps->sb_n);
    s[ps->sb_n] = '\0';
    return s;
}

static int is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

static int parse_number(parser *ps, jsonp_val *v)
{
    const unsigned char *p = ps->p;
    size_t start = ps->pos, i = start, end = ps->len;
    int neg = 0, integral = 1, int_ok = 1;
    uint64_t mag = 0;
    if (p[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= end)
        return fail_truncated(ps, "a number");
    if (p[i] == '0') {
        i++;
        if (i < end && is_digit(p[i]))
            return fail(ps, CS_ERR_MALFORMED, i, "leading zero in a number");
    } else if (is_digit(p[i])) {
        while (i < end && is_digit(p[i])) {
            unsigned d = p[i] - '0';
            if (mag > (UINT64_MAX - d) / 10)
                int_ok = 0;
            else
                mag = mag * 10 + d;
            i++;
        }
    } else {
        ps->pos = i;
        return fail_unexpected(ps, "a digit");
    }
    if (i < end && p[i] == '.') {
        integral = 0;
        i++;
        if (i >= end)
            return fail_truncated(ps, "a number");
        if (!is_digit(p[i])) {
            ps->pos = i;
            return fail_unexpected(ps, "a digit after '.'");
        }
        while (i < end && is_digit(p[i]))
            i++;
    }
    if (i < end && (p[i] == 'e' || p[i] == 'E')) {
        integral = 0;
        i++;
        if (i < end && (p[i] == '+' || p[i] == '-'))
            i++;
        if (i >= end)
            return fail_truncated(ps, "a number");
        if (!is_digit(p[i])) {
            ps->pos = i;
            return fail_unexpected(ps, "a digit in the exponent");
        }
        while (i < end && is_digit(p[i]))
            i++;
    }
    size_t n = i - start;
    if (n > JSONP_MAX_NUMBER_LEN)
        return fail(ps, CS_ERR_LIMIT, start, "number longer than %d bytes", JSONP_MAX_NUMBER_LEN);
    double d;
    if (integral && int_ok && mag <= (1ull << 53)) { /* exact: strtod would agree */
        d = (double)mag;
        if (neg)
            d = -d;
    } else {
        char buf[JSONP_MAX_NUMBER_LEN + 1];
        memcpy(buf, p + start, n);
        buf[n] = '\0';
        d = strtod(buf, NULL);
    }
    if (d > DBL_MAX || d < -DBL_MAX)
        return fail(ps, CS_ERR_OVERFLOW, start, "number out of range of a double");
    v->type = JSONP_NUMBER;
    v->u.n.d = d;
    if (integral && int_ok) {
        if (!neg && mag <= (uint64_t)INT64_MAX) {
            v->is_int = 1;
            v->u.n.i = (int64_t)mag;
        } else if (neg && mag <= (uint64_t)INT64_MAX + 1) {
            v->is_int = 1;
            v->u.n.i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        }
    }
    ps->pos = i;
    return CS_OK;
}

static int parse_literal(parser *ps, jsonp_val *v, const char *lit, jsonp_type t, int b)
{
    size_t n = strlen(lit);
    for (size_t k = 0; k < n; k++) {
        if (ps->pos + k >= ps->len)
            return fail_truncated(ps, "a literal");
        if (ps->p[ps->pos + k] != (unsigned char)lit[k]) {
            char d[8];
            return fail(ps, CS_ERR_MALFORMED, ps->pos + k, "unexpected byte %s in literal %s",
                        byte_desc(ps, ps->pos + k, d), lit);
        }
    }
    v->type = (unsigned char)t;
    v->b = (unsigned char)b;
    ps->pos += n;
    return CS_OK;
}

static int st_push(parser *ps, const jsonp_slot *s)
{
    if (ps->st_n == ps->st_cap) {
        size_t cap = ps->st_cap ? ps->st_cap * 2 : 64;
        jsonp_slot *ns = mem(ps->doc->realloc_fn, ps->doc->alloc_ctx, ps->st, cap * sizeof(*ns));
        if (!ns)
            return fail(ps, CS_ERR_NOMEM, ps->pos, "out of memory");
        ps->st = ns;
        ps->st_cap = cap;
    }
    ps->st[ps->st_n++] = *s;
    return CS_OK;
}

static int key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return alen < blen ? -1 : 1;
    return alen ? memcmp(a, b, alen) : 0;
}

static int slot_cmp(const void *x, const void *y)
{
    const jsonp_slot *a = *(const jsonp_slot *const *)x, *b = *(const jsonp_slot *const *)y;
    int c = key_cmp(a->key, a->key_len, b->key, b->key_len);
    if (c)
        return c;
    return a < b ? -1 : a > b; /* equal keys stay in document order */
}

/* Moves the children st[base..] into the arena as v's table; objects also get
 * checked for duplicates and, when large, a sorted index. */
static int close_container(parser *ps, jsonp_val *v, size_t base)
{
    size_t n = ps->st_n - base;
    v->len = n;
    ps->st_n = base;
    if (!n)
        return CS_OK;
    jsonp_slot *items = arena_alloc(ps->doc, n * sizeof(*items));
    if (!items)
        return fail(ps, CS_ERR_NOMEM, ps->pos, "out of memory");
    memcpy(items, ps->st + base, n * sizeof(*items));
    v->u.c.items = items;
    if (v->type != JSONP_OBJECT)
        return CS_OK;
    if (n <= JSONP_INDEX_MIN) {
        for (size_t j = 1; j < n; j++)
            for (size_t k = 0; k < j; k++)
                if (!key_cmp(items[j].key, items[j].key_len, items[k].key, items[k].key_len))
                    return fail(ps, CS_ERR_MALFORMED, items[j].key_off, "duplicate key");
        return CS_OK;
    }
    jsonp_slot **idx = arena_alloc(ps->doc, n * sizeof(*idx));
    if (!idx)
        return fail(ps, CS_ERR_NOMEM, ps->pos, "out of memory");
    for (size_t j = 0; j < n; j++)
        idx[j] = &items[j];
    qsort(idx, n, sizeof(*idx), slot_cmp);
    size_t dup = SIZE_MAX;
    for (size_t j = 1; j < n; j++)
        if (!key_cmp(idx[j]->key, idx[j]->key_len, idx[j - 1]->key, idx[j - 1]->key_len) &&
            idx[j]->key_off < dup)
            dup = idx[j]->key_off;
    if (dup != SIZE_MAX)
        return fail(ps, CS_ERR_MALFORMED, dup, "duplicate key");
    v->u.c.index = idx;
    return CS_OK;
}

static int parse_value(parser *ps, jsonp_val *v);

static int parse_container(parser *ps, jsonp_val *v, int object)
{
    const char close = object ? '}' : ']';
    if (ps->depth >= ps->max_depth)
        return fail(ps, CS_ERR_LIMIT, ps->pos, "nesting deeper than %d", ps->max_depth);
    ps->depth++;
    v->type = object ? JSONP_OBJECT : JSONP_ARRAY;
    size_t base = ps->st_n;
    ps->pos++;
    skip_ws(ps);
    if (ps->pos >= ps->len)
        return fail_truncated(ps, object ? "an object" : "an array");
    if (ps->p[ps->pos] == (unsigned char)close) {
        ps->pos++;
        ps->depth--;
        return close_container(ps, v, base);
    }
    for (;;) {
        jsonp_slot s;
        memset(&s, 0, sizeof(s));
        if (object) {
            if (ps->p[ps->pos] != '"')
                return fail_unexpected(ps, "a string key");
            s.key_off = (uint32_t)ps->pos;
            if (scan_string(ps))
                return ps->rc;
            s.key_len = (uint32_t)ps->sb_n;
            if (!(s.key = sb_commit(ps)))
                return ps->rc;
            skip_ws(ps);
            if (ps->pos >= ps->len)
                return fail_truncated(ps, "an object");
            if (ps->p[ps->pos] != ':')
                return fail_unexpected(ps, "':'");
            ps->pos++;
            skip_ws(ps);
        }
        if (parse_value(ps, &s.val) || st_push(ps, &s))
            return ps->rc;
        skip_ws(ps);
        if (ps->pos >= ps->len)
            return fail_truncated(ps, object ? "an object" : "an array");
        unsigned char c = ps->p[ps->pos];
        if (c == (unsigned char)close) {
            ps->pos++;
            ps->depth--;
            return close_container(ps, v, base);
        }
        if (c != ',')
            return fail_unexpected(ps, object ? "',' or '}'" : "',' or ']'");
        ps->pos++;
        skip_ws(ps);
        if (ps->pos >= ps->len)
            return fail_truncated(ps, object ? "an object" : "an array");
    }
}

/* ps->pos is at the value's first byte (whitespace already skipped). */
static int parse_value(parser *ps, jsonp_val *v)
{
    if (ps->pos >= ps->len)
        return fail_truncated(ps, "a value");
    mark(ps, v);
    switch (ps->p[ps->pos]) {
    case '{':
        return parse_container(ps, v, 1);
    case '[':
        return parse_container(ps, v, 0);
    case '"':
        if (scan_string(ps))
            return ps->rc;
        v->type = JSONP_STRING;
        v->len = ps->sb_n;
        return (v->u.s = sb_commit(ps)) ? CS_OK : ps->rc;
    case 't':
        return parse_literal(ps, v, "true", JSONP_BOOL, 1);
    case 'f':
        return parse_literal(ps, v, "false", JSONP_BOOL, 0);
    case 'n':
        return parse_literal(ps, v, "null", JSONP_NULL, 0);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return parse_number(ps, v);
    default:
        return fail_unexpected(ps, "a value");
    }
}

static void fill_error(jsonp_error *err, int rc, size_t off, const char *text, size_t len,
                       const char *reason)
{
    if (!err)
        return;
    err->offset = off;
    err->line = 1;
    size_t ls = 0;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n') {
            err->line++;
            ls = i + 1;
        }
    err->column = off - ls + 1;
    snprintf(err->reason, sizeof(err->reason), "%s", rc ? reason : "");
}

int jsonp_parse(const char *text, size_t len, const jsonp_opts *opts, jsonp_doc **out,
                jsonp_error *err)
{
    if (out)
        *out = NULL;
    size_t max_bytes = opts && opts->max_bytes ? opts->max_bytes : JSONP_DEFAULT_MAX_BYTES;
    int max_depth = opts && opts->max_depth ? opts->max_depth : JSONP_DEFAULT_MAX_DEPTH;
    if (!out || (!text && len) || max_bytes > JSONP_MAX_BYTES_LIMIT || max_depth < 0 ||
        max_depth > JSONP_MAX_DEPTH_LIMIT) {
        fill_error(err, CS_ERR_INVAL, 0, text, 0, "invalid argument");
        return CS_ERR_INVAL;
    }
    if (len > max_bytes) {
        char why[JSONP_REASON_MAX];
        snprintf(why, sizeof(why), "input longer than %zu bytes", max_bytes);
        fill_error(err, CS_ERR_LIMIT, max_bytes, text, len, why);
        return CS_ERR_LIMIT;
    }
    jsonp_realloc_fn fn = opts ? opts->realloc_fn : NULL;
    void *ctx = opts ? opts->alloc_ctx : NULL;
    jsonp_doc *doc = mem(fn, ctx, NULL, sizeof(*doc));
    if (!doc) {
        fill_error(err, CS_ERR_NOMEM, 0, text, 0, "out of memory");
        return CS_ERR_NOMEM;
    }
    memset(doc, 0, sizeof(*doc));
    doc->realloc_fn = fn;
    doc->alloc_ctx = ctx;
    doc->next_chunk = len < ARENA_MIN_CHUNK ? ARENA_MIN_CHUNK : len;
    if (doc->next_chunk > ARENA_MAX_CHUNK)
        doc->next_chunk = ARENA_MAX_CHUNK;

    parser ps;
    memset(&ps, 0, sizeof(ps));
    ps.p = (const unsigned char *)text;
    ps.len = len;
    ps.line = 1;
    ps.max_depth = max_depth;
    ps.doc = doc;
    skip_ws(&ps);
    if (ps.pos >= len)
        fail(&ps, CS_ERR_TRUNCATED, len, "no JSON value in the input");
    else if (parse_value(&ps, &doc->root) == CS_OK) {
        skip_ws(&ps);
        if (ps.pos < len)
            fail_unexpected(&ps, "the end of the input");
    }
    mem(fn, ctx, ps.st, 0);
    mem(fn, ctx, ps.sb, 0);
    fill_error(err, ps.rc, ps.err_off, text, len, ps.reason);
    if (ps.rc) {
        jsonp_free(doc);
        return ps.rc;
    }
    *out = doc;
    return CS_OK;
}

void jsonp_free(jsonp_doc *doc)
{
    if (!doc)
        return;
    arena_chunk *c = doc->chunks;
    while (c) {
        arena_chunk *next = c->next;
        mem(doc->realloc_fn, doc->alloc_ctx, c, 0);
        c = next;
    }
    mem(doc->realloc_fn, doc->alloc_ctx, doc, 0);
}

const jsonp_val *jsonp_root(const jsonp_doc *doc)
{
    return doc ? &doc->root : NULL;
}

jsonp_type jsonp_type_of(const jsonp_val *v)
{
    return v ? (jsonp_type)v->type : JSONP_NONE;
}

const char *jsonp_type_name(jsonp_type t)
{
    switch (t) {
    case JSONP_NULL:
        return "null";
    case JSONP_BOOL:
        return "boolean";
    case JSONP_NUMBER:
        return "number";
    case JSONP_STRING:
        return "string";
    case JSONP_ARRAY:
        return "array";
    case JSONP_OBJECT:
        return "object";
    default:
        return "none";
    }
}

int jsonp_is_null(const jsonp_val *v)
{
    return v && v->type == JSONP_NULL;
}

void jsonp_where(const jsonp_val *v, size_t *offset, size_t *line, size_t *column)
{
    if (!v)
        return;
    if (offset)
        *offset = v->off;
    if (line)
        *line = v->line;
    if (column)
        *column = v->col;
}

/* CS_OK when v has type t; otherwise the reader's error code. */
static int want(const jsonp_val *v, jsonp_type t)
{
    if (!v)
        return CS_ERR_NOTFOUND;
    if (v->type == t)
        return CS_OK;
    return v->type == JSONP_NULL ? CS_ERR_EMPTY : CS_ERR_MALFORMED;
}

int jsonp_int(const jsonp_val *v, int64_t *out)
{
    int rc = want(v, JSONP_NUMBER);
    if (rc)
        return rc;
    if (v->is_int) {
        *out = v->u.n.i;
        return CS_OK;
    }
    const double two53 = 9007199254740992.0; /* beyond it a double stands for many ints */
    double d = v->u.n.d;
    if (d >= two53 || d <= -two53)
        return CS_ERR_OVERFLOW;
    if ((double)(int64_t)d != d)
        return CS_ERR_MALFORMED;
    *out = (int64_t)d;
    return CS_OK;
}

int jsonp_double(const jsonp_val *v, double *out)
{
    int rc = want(v, JSONP_NUMBER);
    if (rc == CS_OK)
        *out = v->u.n.d;
    return rc;
}

int jsonp_is_int(const jsonp_val *v)
{
    return v && v->type == JSONP_NUMBER && v->is_int;
}

int jsonp_bool(const jsonp_val *v, int *out)
{
    int rc = want(v, JSONP_BOOL);
    if (rc == CS_OK)
        *out = v->b;
    return rc;
}

const char *jsonp_str(const jsonp_val *v, size_t *len)
{
    if (!v || v->type != JSONP_STRING)
        return NULL;
    if (len)
        *len = v->len;
    return v->u.s;
}

int jsonp_str_eq(const jsonp_val *v, const char *s)
{
    if (!v || v->type != JSONP_STRING || !s)
        return 0;
    return key_cmp(v->u.s, v->len, s, strlen(s)) == 0;
}

int jsonp_str_copy(const jsonp_val *v, char *buf, size_t cap)
{
    int rc = want(v, JSONP_STRING);
    if (rc)
        return rc;
    if (!buf || !cap)
        return CS_ERR_INVAL;
    buf[0] = '\0';
    if (memchr(v->u.s, '\0', v->len))
        return CS_ERR_MALFORMED;
    if (v->len >= cap)
        return CS_ERR_OVERFLOW;
    memcpy(buf, v->u.s, v->len + 1);
    return CS_OK;
}

size_t jsonp_len(const jsonp_val *v)
{
    return v && (v->type == JSONP_ARRAY || v->type == JSONP_OBJECT) ? v->len : 0;
}

const jsonp_val *jsonp_at(const jsonp_val *v, size_t i)
{
    if (i >= jsonp_len(v))
        return NULL;
    return &v->u.c.items[i].val;
}

const char *jsonp_key(const jsonp_val *v, size_t i, size_t *len)
{
    if (!v || v->type != JSONP_OBJECT || i >= v->len)
        return NULL;
    if (len)
        *len = v->u.c.items[i].key_len;
    return v->u.c.items[i].key;
}

const jsonp_val *jsonp_get_n(const jsonp_val *v, const char *key, size_t key_len)
{
    if (!v || v->type != JSONP_OBJECT || (!key && key_len))
        return NULL;
    const jsonp_slot *items = v->u.c.items;
    if (!v->u.c.index) {
        for (size_t i = 0; i < v->len; i++)
            if (!key_cmp(items[i].key, items[i].key_len, key, key_len))
                return &items[i].val;
        return NULL;
    }
    size_t lo = 0, hi = v->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const jsonp_slot *s = v->u.c.index[mid];
        int c = key_cmp(s->key, s->key_len, key, key_len);
        if (c == 0)
            return &s->val;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const jsonp_val *jsonp_get(const jsonp_val *v, const char *key)
{
    return key ? jsonp_get_n(v, key, strlen(key)) : NULL;
}

const jsonp_val *jsonp_pointer(const jsonp_val *v, const char *ptr)
{
    if (!v || !ptr)
        return NULL;
    char tok[256];
    while (*ptr) {
        if (*ptr != '/')
            return NULL;
        ptr++;
        size_t n = 0;
        while (*ptr && *ptr != '/') {
            char c = *ptr++;
            if (c == '~') {
                if (*ptr == '0')
                    c = '~';
                else if (*ptr == '1')
                    c = '/';
                else
                    return NULL;
                ptr++;
            }
            if (n >= sizeof(tok))
                return NULL;
            tok[n++] = c;
        }
        if (v->type == JSONP_OBJECT) {
            v = jsonp_get_n(v, tok, n);
        } else if (v->type == JSONP_ARRAY) {
            size_t idx = 0;
            if (n == 0 || (n > 1 && tok[0] == '0') || n > 19)
                return NULL;
            for (size_t k = 0; k < n; k++) {
                if (tok[k] < '0' || tok[k] > '9')
                    return NULL;
                idx = idx * 10 + (size_t)(tok[k] - '0');
            }
            v = jsonp_at(v, idx);
        } else {
            return NULL;
        }
        if (!v)
            return NULL;
    }
    return v;
}

int jsonp_get_int(const jsonp_val *obj, const char *key, int64_t *out)
{
    return jsonp_int(jsonp_get(obj, key), out);
}

int jsonp_get_double(const jsonp_val *obj, const char *key, double *out)
{
    return jsonp_double(jsonp_get(obj, key), out);
}

int jsonp_get_bool(const jsonp_val *obj, const char *key, int *out)
{
    return jsonp_bool(jsonp_get(obj, key), out);
}

const char *jsonp_get_str(const jsonp_val *obj, const char *key, size_t *len)
{
    return jsonp_str(jsonp_get(obj, key), len);
}
