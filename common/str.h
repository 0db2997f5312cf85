/*
 * str.h — byte slices: (pointer, length) views into someone else's buffer.
 *
 * Parsers of hostile bytes work on cs_str and never need a NUL terminator
 * (in the manner of rtpengine's str). A cs_str borrows: it is valid as long
 * as the buffer it points into. Functions here never read outside
 * [p, p + len) and never allocate. Header-only.
 */
#ifndef CALLSCOPE_STR_H
#define CALLSCOPE_STR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cs_str {
    const char *p;
    size_t len;
} cs_str;

#define CS_STR_NULL ((cs_str){NULL, 0})
#define CS_STR_LIT(s) ((cs_str){(s), sizeof(s) - 1})

static inline cs_str cs_str_make(const void *p, size_t len)
{
    cs_str s = {(const char *)p, len};
    return s;
}

static inline cs_str cs_str_c(const char *s)
{
    return cs_str_make(s, s ? strlen(s) : 0);
}

static inline int cs_str_empty(cs_str s)
{
    return s.len == 0;
}

static inline int cs_str_eq(cs_str a, cs_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline int cs_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* ASCII case-insensitive equality. */
static inline int cs_str_ieq(cs_str a, cs_str b)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++)
        if (cs_lower((unsigned char)a.p[i]) != cs_lower((unsigned char)b.p[i]))
            return 0;
    return 1;
}

static inline int cs_str_ieq_c(cs_str a, const char *b)
{
    return cs_str_ieq(a, cs_str_c(b));
}

/* ASCII case-insensitive prefix test. */
static inline int cs_str_iprefix(cs_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && cs_str_ieq(cs_str_make(s.p, n), cs_str_make(prefix, n));
}

static inline int cs_is_ws(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Leading and trailing spaces, tabs, CR and LF removed. */
static inline cs_str cs_str_trim(cs_str s)
{
    while (s.len && cs_is_ws((unsigned char)s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && cs_is_ws((unsigned char)s.p[s.len - 1]))
        s.len--;
    return s;
}

/* Index of the first byte c, or -1. */
static inline ptrdiff_t cs_str_chr(cs_str s, char c)
{
    const void *hit = s.len ? memchr(s.p, c, s.len) : NULL;
    return hit ? (const char *)hit - s.p : -1;
}

/* Parses an unsigned decimal number filling all of s (no sign, no spaces),
 * at most max. Returns 0 and *out, or -1 (empty, non-digit, overflow). */
static inline int cs_str_to_u64(cs_str s, uint64_t max, uint64_t *out)
{
    if (s.len == 0 || s.len > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned)((unsigned char)s.p[i] - '0');
        if (d > 9 || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Copies s into buf (cap > 0) as a C string, truncating; returns buf. */
static inline char *cs_str_copy(cs_str s, char *buf, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n)
        memcpy(buf, s.p, n);
    buf[n] = '\0';
    return buf;
}

#endif
