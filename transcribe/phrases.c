/*
 * phrases.c — see phrases.h.
 */
#include "phrases.h"
#include "file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define PH_FILE_MAX (1024 * 1024)

const char *ph_kind_name(ph_kind k)
{
    switch (k) {
    case PH_SCRIPTED:
        return "scripted";
    case PH_FORBIDDEN:
        return "forbidden";
    case PH_KEYWORD:
        return "keyword";
    }
    return "keyword";
}

static void phrase_free(ph_phrase *p)
{
    for (size_t i = 0; i < p->n_words; i++)
        free(p->words[i]);
    free(p->words);
    free(p->name);
    memset(p, 0, sizeof *p);
}

void ph_list_free(ph_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        phrase_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Splits s[0..len) into normalised words (see phrases.h). */
static int tokenize(const char *s, size_t len, ph_phrase *p)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && !isalnum((unsigned char)s[i]))
            i++;
        if (i >= len)
            break;
        char w[64];
        size_t wl = 0;
        while (i < len && (isalnum((unsigned char)s[i]) || s[i] == '\'')) {
            if (s[i] != '\'') {
                if (wl + 1 >= sizeof w)
                    return CS_ERR_MALFORMED;
                w[wl++] = (char)tolower((unsigned char)s[i]);
            }
            i++;
        }
        if (wl == 0)
            continue;
        if (p->n_words == PH_MAX_WORDS)
            return CS_ERR_LIMIT;
        char **nw = realloc(p->words, (p->n_words + 1) * sizeof *nw);
        if (!nw)
            return CS_ERR_NOMEM;
        p->words = nw;
        if (!(p->words[p->n_words] = strndup(w, wl)))
            return CS_ERR_NOMEM;
        p->n_words++;
    }
    return CS_OK;
}

static int next_field(const char **p, const char *end, const char **f, size_t *fl)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    const char *b = s;
    while (s < end && *s != ' ' && *s != '\t' && *s != ':')
        s++;
    *f = b;
    *fl = (size_t)(s - b);
    *p = s;
    return *fl > 0;
}

static int field_is(const char *f, size_t fl, const char *word)
{
    return strlen(word) == fl && strncmp(f, word, fl) == 0;
}

static int parse_line(const char *b, const char *e, ph_phrase *p, char *err, size_t errcap,
                      unsigned lineno)
{
    const char *s = b, *f;
    size_t fl;
    if (!next_field(&s, e, &f, &fl) || fl > 63) {
        snprintf(err, errcap, "phrases line %u: expected 'NAME KIND SIDE: words'", lineno);
        return CS_ERR_MALFORMED;
    }
    for (size_t i = 0; i < fl; i++) {
        char c = f[i];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '_' || c == '-')) {
            snprintf(err, errcap, "phrases line %u: name '%.*s' must be [a-z0-9_-]", lineno,
                     (int)fl, f);
            return CS_ERR_MALFORMED;
        }
    }
    if (!(p->name = strndup(f, fl)))
        return CS_ERR_NOMEM;
    if (!next_field(&s, e, &f, &fl)) {
        snprintf(err, errcap, "phrases line %u: missing KIND (scripted, forbidden, keyword)",
                 lineno);
        return CS_ERR_MALFORMED;
    }
    if (field_is(f, fl, "scripted"))
        p->kind = PH_SCRIPTED;
    else if (field_is(f, fl, "forbidden"))
        p->kind = PH_FORBIDDEN;
    else if (field_is(f, fl, "keyword"))
        p->kind = PH_KEYWORD;
    else {
        snprintf(err, errcap, "phrases line %u: kind '%.*s' is not scripted, forbidden or keyword",
                 lineno, (int)(fl > 40 ? 40 : fl), f);
        return CS_ERR_MALFORMED;
    }
    if (!next_field(&s, e, &f, &fl)) {
        snprintf(err, errcap, "phrases line %u: missing SIDE (agent, customer, any)", lineno);
        return CS_ERR_MALFORMED;
    }
    if (field_is(f, fl, "any"))
        p->side = 0;
    else if (field_is(f, fl, "customer"))
        p->side = 1;
    else if (field_is(f, fl, "agent"))
        p->side = 2;
    else {
        snprintf(err, errcap, "phrases line %u: side '%.*s' is not agent, customer or any", lineno,
                 (int)(fl > 40 ? 40 : fl), f);
        return CS_ERR_MALFORMED;
    }
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    if (s >= e || *s != ':') {
        snprintf(err, errcap, "phrases line %u: expected ':' before the words", lineno);
        return CS_ERR_MALFORMED;
    }
    s++;
    int rc = tokenize(s, (size_t)(e - s), p);
    if (rc == CS_ERR_LIMIT || rc == CS_ERR_MALFORMED) {
        snprintf(err, errcap, "phrases line %u: at most %d words of at most 63 characters", lineno,
                 PH_MAX_WORDS);
        return CS_ERR_MALFORMED;
    }
    if (rc != CS_OK)
        return rc;
    if (p->n_words == 0) {
        snprintf(err, errcap, "phrases line %u: no words after ':'", lineno);
        return CS_ERR_MALFORMED;
    }
    return CS_OK;
}

int ph_list_parse(const char *text, size_t len, ph_list *out, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if ((!text && len) || !out)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    const char *p = text, *end = text + len;
    unsigned lineno = 0;
    int rc = CS_OK;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        lineno++;
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        const char *le = e;
        while (le > s && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
            le--;
        if (s < le && *s != '#') {
            if (memchr(s, '\0', (size_t)(le - s))) {
                snprintf(err, errcap, "phrases line %u: NUL byte", lineno);
                rc = CS_ERR_MALFORMED;
                break;
            }
            if (out->n == PH_MAX_PHRASES) {
                snprintf(err, errcap, "phrases: more than %d lines", PH_MAX_PHRASES);
                rc = CS_ERR_LIMIT;
                break;
            }
            ph_phrase *nv = realloc(out->v, (out->n + 1) * sizeof *nv);
            if (!nv) {
                rc = CS_ERR_NOMEM;
                break;
            }
            out->v = nv;
            memset(&out->v[out->n], 0, sizeof out->v[out->n]);
            rc = parse_line(s, le, &out->v[out->n], err, errcap, lineno);
            out->n++;
            if (rc != CS_OK)
                break;
        }
        p = nl ? nl + 1 : end;
    }
    if (rc != CS_OK)
        ph_list_free(out);
    return rc;
}

int ph_list_load(const char *path, ph_list *out, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    if (!path || !out)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t n = 0;
    int frc = cs_file_read(path, PH_FILE_MAX, "phrases file", &buf, &n, err, errcap);
    if (frc != CS_OK)
        return frc;
    char sub[400];
    int rc = ph_list_parse(buf, n, out, sub, sizeof sub);
    free(buf);
    if (rc != CS_OK)
        snprintf(err, errcap, "%s: %s", path, sub);
    return rc;
}

void ph_hits_free(ph_hit *h, size_t n)
{
    if (!h)
        return;
    for (size_t i = 0; i < n; i++)
        free(h[i].matched);
    free(h);
}

/* One transcript word in the channel's sequence. */
typedef struct tword {
    const asr_word *w;
    size_t utt;
} tword;

static int add_hit(ph_hit **hits, size_t *nhits, const ph_phrase *p, int channel, const tword *tw,
                   size_t from, size_t to, double score)
{
    size_t len = 0;
    double conf = 0;
    for (size_t k = from; k < to; k++) {
        len += strlen(tw[k].w->word) + 1;
        conf += tw[k].w->confidence;
    }
    char *m = malloc(len + 1);
    if (!m)
        return CS_ERR_NOMEM;
    size_t pos = 0;
    for (size_t k = from; k < to; k++) {
        size_t wl = strlen(tw[k].w->word);
        if (pos)
            m[pos++] = ' ';
        memcpy(m + pos, tw[k].w->word, wl);
        pos += wl;
    }
    m[pos] = '\0';
    ph_hit *nh = realloc(*hits, (*nhits + 1) * sizeof *nh);
    if (!nh) {
        free(m);
        return CS_ERR_NOMEM;
    }
    *hits = nh;
    ph_hit *h = &nh[(*nhits)++];
    h->channel = channel;
    h->kind = p->kind;
    h->name = p->name;
    h->matched = m;
    h->start_ms = tw[from].w->start_ms;
    h->end_ms = tw[to - 1].w->end_ms;
    h->score = score;
    h->confidence = score * (conf / (double)(to - from));
    h->utt_index = tw[from].utt;
    return CS_OK;
}

/* A phrase word (already normalised) against a transcript word, which is
 * compared in the same normal form: ASCII case folded, apostrophes dropped
 * (the dictionary's "don't" is the phrase's "dont"). */
static int word_eq(const char *pw, const char *tw)
{
    for (;;) {
        while (*tw == '\'')
            tw++;
        if (!*pw || !*tw)
            return !*pw && !*tw;
        if ((char)tolower((unsigned char)*tw) != *pw)
            return 0;
        pw++;
        tw++;
    }
}

/*
 * Semi-global alignment of one wording against the channel's words: D[i][j]
 * = least cost of aligning phrase words [0, i) with transcript words ending
 * at j (D[0][j] = 0: free start). start[i][j] tracks where the alignment
 * entered the transcript. Only two rows are kept.
 */
static int spot_one(const ph_phrase *p, int channel, const tword *tw, size_t nt, double min_score,
                    ph_hit **hits, size_t *nhits)
{
    size_t P = p->n_words;
    size_t *prev = malloc((nt + 1) * sizeof *prev), *cur = malloc((nt + 1) * sizeof *cur);
    size_t *ps = malloc((nt + 1) * sizeof *ps), *cs = malloc((nt + 1) * sizeof *cs);
    int rc = CS_OK;
    if (!prev || !cur || !ps || !cs) {
        rc = CS_ERR_NOMEM;
        goto out;
    }
    for (size_t j = 0; j <= nt; j++) {
        prev[j] = 0;
        ps[j] = j;
    }
    for (size_t i = 1; i <= P; i++) {
        cur[0] = i;
        cs[0] = 0;
        for (size_t j = 1; j <= nt; j++) {
            size_t sub = prev[j - 1] + !word_eq(p->words[i - 1], tw[j - 1].w->word);
            size_t del = prev[j] + 1;    /* phrase word missing from the transcript */
            size_t ins = cur[j - 1] + 1; /* extra transcript word */
            /* Equal costs: the latest start wins, so a stretch is never
             * widened by a substituted word where a missing phrase word
             * costs the same (that pulled "birth" from an utterance 13 s
             * earlier into a "that is not my problem" hit in bench/phrases,
             * and its evidence time with it). */
            size_t best = sub, st = ps[j - 1];
            if (del < best || (del == best && ps[j] > st)) {
                best = del;
                st = ps[j];
            }
            if (ins < best || (ins == best && cs[j - 1] > st)) {
                best = ins;
                st = cs[j - 1];
            }
            cur[j] = best;
            cs[j] = st;
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
        t = ps;
        ps = cs;
        cs = t;
    }
    /* prev = D[P][.], ps = start positions. Walk left to right; within a
     * run of qualifying ends keep the best, report non-overlapping runs. */
    size_t max_cost = (size_t)((1.0 - min_score) * (double)P + 1e-9);
    if (max_cost >= P) /* a hit matches at least one word: score > 0 */
        max_cost = P - 1;
    size_t last_end = 0;
    for (size_t j = 1; j <= nt; j++) {
        if (prev[j] > max_cost || ps[j] < last_end || ps[j] >= j)
            continue;
        size_t best_j = j;
        while (best_j + 1 <= nt && prev[best_j + 1] <= max_cost && ps[best_j + 1] < best_j &&
               prev[best_j + 1] <= prev[best_j] && ps[best_j + 1] >= last_end)
            best_j++;
        /* trim the ends: the alignment may enter/leave with extra words only
         * if they matched; start..best_j is the matched stretch */
        double score = 1.0 - (double)prev[best_j] / (double)P;
        if ((rc = add_hit(hits, nhits, p, channel, tw, ps[best_j], best_j, score)) != CS_OK)
            goto out;
        last_end = best_j;
        j = best_j;
    }
out:
    free(prev);
    free(cur);
    free(ps);
    free(cs);
    return rc;
}

int ph_spot(const ph_list *l, int channel, const asr_utt *utts, size_t n, double min_score,
            ph_hit **hits, size_t *nhits)
{
    if (!l || (!utts && n) || !hits || !nhits || (channel != 1 && channel != 2) ||
        !(min_score > 0.0 && min_score <= 1.0))
        return CS_ERR_INVAL;
    size_t nt = 0;
    for (size_t i = 0; i < n; i++)
        nt += utts[i].n_words;
    if (nt == 0)
        return CS_OK;
    tword *tw = malloc(nt * sizeof *tw);
    if (!tw)
        return CS_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < utts[i].n_words; j++)
            tw[k++] = (tword){&utts[i].words[j], i};
    int rc = CS_OK;
    for (size_t i = 0; i < l->n && rc == CS_OK; i++) {
        if (l->v[i].side && l->v[i].side != channel)
            continue;
        rc = spot_one(&l->v[i], channel, tw, nt, min_score, hits, nhits);
    }
    free(tw);
    return rc;
}
