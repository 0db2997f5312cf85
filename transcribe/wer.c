/*
 * wer.c — word error rate (see wer.h for the definitions and limits).
 *
 * Normalisation is one pass over the bytes, token by token, in the same
 * order of rules as callgen's cg_norm_text (tools/callgen/cg_voice.c): a
 * whitespace-delimited token is first stripped of a PocketSphinx "(N)"
 * suffix, then dropped whole if it is a <...> or [...] marker, else its
 * letters and digits are emitted, apostrophes skipped and anything else
 * closes the current word. Character classes are plain ASCII tests so the
 * result never depends on the C locale.
 *
 * Alignment is the textbook dynamic programme over two rows (the shorter
 * text indexes the row). Each cell carries (errors, substitutions) and is
 * minimised lexicographically by (errors, -substitutions); that order is
 * compatible with adding the per-step costs match (0, 0), substitution
 * (1, 1), deletion and insertion (1, 0), so the row recurrence finds the
 * optimum of the whole alignment, and D and I follow from E, S and the word
 * counts (wer.h). Words are compared by length and a 64-bit FNV-1a hash
 * first, bytes only when both agree.
 *
 * BUGS: none known. The cost is quadratic by design; WER_MAX_WORDS keeps one
 * call bounded (a one-hour call channel is about 9,000 words).
 */
#include "wer.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct wer_word {
    uint32_t off, len; /* slice of the normalised text */
    uint64_t hash;     /* FNV-1a of the bytes */
} wer_word;

typedef struct wer_cell {
    uint32_t e; /* errors so far */
    uint32_t s; /* substitutions among them */
} wer_cell;

static int wer_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int wer_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int wer_is_alnum(unsigned char c)
{
    return wer_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* End of token in[start..end) without a trailing "(N)" (N = 1+ digits) when
 * something precedes the parenthesis; end unchanged otherwise. */
static size_t wer_strip_alt(const char *in, size_t start, size_t end)
{
    if (end - start < 4 || in[end - 1] != ')')
        return end;
    size_t p = end - 1; /* index of ')' */
    while (p > start && wer_is_digit((unsigned char)in[p - 1]))
        p--;
    /* in[p..end-1) are digits; the '(' must be at p - 1 with a word before it */
    if (p == end - 1 || p < start + 2 || in[p - 1] != '(')
        return end;
    return p - 1;
}

static int wer_is_marker(const char *in, size_t start, size_t end)
{
    if (end - start < 2)
        return 0;
    char a = in[start], z = in[end - 1];
    return (a == '<' && z == '>') || (a == '[' && z == ']');
}

/* The normaliser: writes like snprintf into out[0..cap), returns the full
 * length, counts words into *words. */
static size_t wer_norm_core(const char *in, size_t len, char *out, size_t cap, size_t *words)
{
    size_t o = 0, i = 0, nw = 0;
    while (i < len) {
        while (i < len && wer_is_space((unsigned char)in[i]))
            i++;
        size_t start = i;
        while (i < len && !wer_is_space((unsigned char)in[i]))
            i++;
        if (i == start)
            break;
        size_t end = wer_strip_alt(in, start, i);
        if (wer_is_marker(in, start, end))
            continue;
        int in_word = 0;
        for (size_t k = start; k < end; k++) {
            unsigned char ch = (unsigned char)in[k];
            if (ch == '\'')
                continue;
            if (!wer_is_alnum(ch)) {
                in_word = 0;
                continue;
            }
            if (!in_word) {
                if (o > 0) {
                    if (o + 1 < cap)
                        out[o] = ' ';
                    o++;
                }
                nw++;
                in_word = 1;
            }
            if (o + 1 < cap)
                out[o] = (char)((ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch);
            o++;
        }
    }
    if (cap > 0)
        out[o < cap ? o : cap - 1] = '\0';
    if (words != NULL)
        *words = nw;
    return o;
}

size_t wer_normalise(const char *in, size_t len, char *out, size_t cap)
{
    if (in == NULL)
        len = 0;
    if (out == NULL)
        cap = 0;
    return wer_norm_core(in, len, out, cap, NULL);
}

size_t wer_count_words(const char *in, size_t len)
{
    size_t n = 0;
    if (in == NULL)
        len = 0;
    wer_norm_core(in, len, NULL, 0, &n);
    return n;
}

/* Splits a normalised text (single spaces, no ends) into words. */
static void wer_split(const char *t, size_t len, wer_word *w, size_t n)
{
    size_t i = 0, k = 0;
    while (i < len && k < n) {
        size_t start = i;
        uint64_t h = 14695981039346656037ull;
        while (i < len && t[i] != ' ') {
            h = (h ^ (unsigned char)t[i]) * 1099511628211ull;
            i++;
        }
        w[k].off = (uint32_t)start;
        w[k].len = (uint32_t)(i - start);
        w[k].hash = h;
        k++;
        i++; /* the space */
    }
}

static int wer_word_eq(const char *ta, const wer_word *a, const char *tb, const wer_word *b)
{
    return a->len == b->len && a->hash == b->hash && memcmp(ta + a->off, tb + b->off, a->len) == 0;
}

/* Better of two cells: fewer errors, then more substitutions. */
static wer_cell wer_best(wer_cell x, wer_cell y)
{
    if (y.e < x.e || (y.e == x.e && y.s > x.s))
        return y;
    return x;
}

/* (errors, substitutions) of the best alignment of a (outer) with b (inner). */
static int wer_dp(const char *ta, const wer_word *a, size_t na, const char *tb, const wer_word *b,
                  size_t nb, wer_cell *res)
{
    wer_cell *prev = malloc((nb + 1) * sizeof *prev);
    wer_cell *cur = malloc((nb + 1) * sizeof *cur);
    if (prev == NULL || cur == NULL) {
        free(prev);
        free(cur);
        return CS_ERR_NOMEM;
    }
    for (size_t j = 0; j <= nb; j++)
        prev[j] = (wer_cell){(uint32_t)j, 0};
    for (size_t i = 1; i <= na; i++) {
        cur[0] = (wer_cell){(uint32_t)i, 0};
        for (size_t j = 1; j <= nb; j++) {
            wer_cell d = prev[j - 1];
            if (!wer_word_eq(ta, &a[i - 1], tb, &b[j - 1])) {
                d.e++;
                d.s++;
            }
            wer_cell up = {prev[j].e + 1, prev[j].s};
            wer_cell left = {cur[j - 1].e + 1, cur[j - 1].s};
            cur[j] = wer_best(wer_best(d, up), left);
        }
        wer_cell *t = prev;
        prev = cur;
        cur = t;
    }
    *res = prev[nb];
    free(prev);
    free(cur);
    return CS_OK;
}

int wer_align(const char *ref, size_t ref_len, const char *hyp, size_t hyp_len, wer_counts *out)
{
    if (out == NULL)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if ((ref == NULL && ref_len > 0) || (hyp == NULL && hyp_len > 0))
        return CS_ERR_INVAL;
    if (ref_len > WER_MAX_TEXT || hyp_len > WER_MAX_TEXT)
        return CS_ERR_LIMIT;
    size_t n = wer_count_words(ref, ref_len);
    size_t m = wer_count_words(hyp, hyp_len);
    out->ref_words = n;
    out->hyp_words = m;
    if (n > WER_MAX_WORDS || m > WER_MAX_WORDS)
        return CS_ERR_LIMIT;
    if (n == 0 || m == 0) {
        out->deletions = n;
        out->insertions = m;
        return CS_OK;
    }

    int rc = CS_ERR_NOMEM;
    char *tr = malloc(ref_len + 1);
    char *th = malloc(hyp_len + 1);
    wer_word *wr = malloc(n * sizeof *wr);
    wer_word *wh = malloc(m * sizeof *wh);
    if (tr == NULL || th == NULL || wr == NULL || wh == NULL)
        goto done;
    size_t lr = wer_normalise(ref, ref_len, tr, ref_len + 1);
    size_t lh = wer_normalise(hyp, hyp_len, th, hyp_len + 1);
    wer_split(tr, lr, wr, n);
    wer_split(th, lh, wh, m);

    wer_cell c;
    if (n >= m)
        rc = wer_dp(tr, wr, n, th, wh, m, &c);
    else
        rc = wer_dp(th, wh, m, tr, wr, n, &c);
    if (rc != CS_OK)
        goto done;
    /* E = S + D + I and n - m = D - I (n = H + S + D, m = H + S + I) */
    uint64_t di = (uint64_t)c.e - c.s;
    out->substitutions = c.s;
    out->deletions = (di + n - m) / 2;
    out->insertions = (di + m - n) / 2;
done:
    free(tr);
    free(th);
    free(wr);
    free(wh);
    return rc;
}

uint64_t wer_errors(const wer_counts *c)
{
    return c->substitutions + c->deletions + c->insertions;
}

uint64_t wer_hits(const wer_counts *c)
{
    uint64_t lost = c->substitutions + c->deletions;
    return c->ref_words > lost ? c->ref_words - lost : 0;
}

double wer_rate(const wer_counts *c)
{
    if (c->ref_words == 0)
        return wer_errors(c) > 0 ? 1.0 : 0.0;
    return (double)wer_errors(c) / (double)c->ref_words;
}

void wer_counts_add(wer_counts *acc, const wer_counts *c)
{
    acc->ref_words += c->ref_words;
    acc->hyp_words += c->hyp_words;
    acc->substitutions += c->substitutions;
    acc->deletions += c->deletions;
    acc->insertions += c->insertions;
}
