/*
 * fuzz_phrases.c — libFuzzer target for transcribe/phrases.c.
 *
 * Input: a phrase list (arbitrary bytes) for ph_list_parse. When it parses,
 * every phrase is spotted in a fixed set of three utterances per channel
 * (words of the shipped list's phrases, repeats, misrecognitions, words with
 * apostrophes and capitals, an utterance without words) at min_score 1.0,
 * 0.6 and 0.05.
 *
 * Invariants (abort on violation):
 *   parse: CS_OK, or CS_ERR_MALFORMED / CS_ERR_LIMIT with a message and an
 *   empty list; a parsed list has 1..PH_MAX_PHRASES phrases, each with a
 *   name of [a-z0-9_-]{1,63}, a known kind and side, and 1..PH_MAX_WORDS
 *   words of [a-z0-9]{1,63};
 *   spot: CS_OK; every hit is of a phrase whose side allows the channel,
 *   names a phrase of the list (the pointer is the list's), lies within the
 *   utterances' times (start < end), has 0 < score <= 1, score >= min_score,
 *   0 <= confidence <= score, utt_index inside the array (an utterance with
 *   words, whose start is at or before the hit's), and non-empty matched
 *   words.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "phrases.h"

/* ---------- the fixed transcript ---------- */

#define MAX_UTT_WORDS 16

typedef struct utt_src {
    int32_t start_ms;
    const char *words[MAX_UTT_WORDS];
} utt_src;

static const utt_src agent[] = {
    {1000, {"thank", "you", "for", "calling", "acme", "support", "how", "can", "I", "help", NULL}},
    {6000, {NULL}},
    {9000,
     {"can", "you", "please", "confirm", "your", "full", "name", "and", "date", "of", "birth",
      "that's", "not", "my", "problem", NULL}},
};
static const utt_src customer[] = {
    {3500, {"hi", "i", "want", "to", "cancel", "my", "account", "cancel", "my", "account", NULL}},
    {9000, {"i", "don't", "know", "complaint", "complaint", NULL}},
    {12000, {"thank", "you", "goodbye", "uh", NULL}},
};

/* Utterances in time order, none overlapping the next. Builds the
 * utterances of one side: word k of an utterance spans
 * [start + 500 k, start + 500 k + 400) with posterior 0.4 + 0.04 k (at most 1). */
static size_t build(const utt_src *src, size_t n, asr_utt *u, asr_word *pool)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&u[i], 0, sizeof u[i]);
        u[i].words = pool + used;
        u[i].start_ms = u[i].end_ms = src[i].start_ms;
        for (size_t k = 0; k < MAX_UTT_WORDS && src[i].words[k]; k++) {
            asr_word *w = &pool[used++];
            w->word = (char *)src[i].words[k];
            w->start_ms = src[i].start_ms + 500 * (int32_t)k;
            w->end_ms = w->start_ms + 400;
            w->confidence = 0.4 + 0.04 * (double)k;
            u[i].n_words++;
            u[i].end_ms = w->end_ms;
        }
        u[i].text = (char *)"";
    }
    return n;
}

/* ---------- checks ---------- */

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int word_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

static void check_list(const ph_list *l)
{
    if (l->n > PH_MAX_PHRASES || (l->n && !l->v))
        abort();
    for (size_t i = 0; i < l->n; i++) {
        const ph_phrase *p = &l->v[i];
        if (!p->name || !name_ok(p->name))
            abort();
        if (p->kind != PH_SCRIPTED && p->kind != PH_FORBIDDEN && p->kind != PH_KEYWORD)
            abort();
        if (p->side < 0 || p->side > 2)
            abort();
        if (p->n_words < 1 || p->n_words > PH_MAX_WORDS)
            abort();
        for (size_t k = 0; k < p->n_words; k++)
            if (!word_ok(p->words[k]))
                abort();
    }
}

static void check_hits(const ph_list *l, int channel, const asr_utt *u, size_t nu, double min,
                       const ph_hit *h, size_t nh)
{
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (size_t i = 0; i < nu; i++)
        if (u[i].n_words) {
            if (u[i].words[0].start_ms < lo)
                lo = u[i].words[0].start_ms;
            if (u[i].words[u[i].n_words - 1].end_ms > hi)
                hi = u[i].words[u[i].n_words - 1].end_ms;
        }
    for (size_t i = 0; i < nh; i++) {
        const ph_hit *x = &h[i];
        const ph_phrase *p = NULL;
        for (size_t k = 0; k < l->n && !p; k++)
            if (l->v[k].name == x->name)
                p = &l->v[k];
        if (!p || (p->side && p->side != channel) || x->channel != channel || x->kind != p->kind)
            abort();
        if (x->start_ms < lo || x->end_ms > hi || x->start_ms >= x->end_ms)
            abort();
        if (!(x->score > 0.0 && x->score <= 1.0) || x->score < min - 1e-9)
            abort();
        if (!(x->confidence >= 0.0 && x->confidence <= x->score + 1e-12))
            abort();
        if (x->utt_index >= nu || u[x->utt_index].n_words == 0 ||
            u[x->utt_index].start_ms > x->start_ms)
            abort();
        if (!x->matched || !x->matched[0])
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ph_list l;
    char err[256];
    err[0] = 'x';
    int rc = ph_list_parse((const char *)data, size, &l, err, sizeof err);
    if (rc != CS_OK) {
        if ((rc != CS_ERR_MALFORMED && rc != CS_ERR_LIMIT) || !err[0] || l.n || l.v)
            abort();
        return 0;
    }
    check_list(&l);

    asr_word pool_a[3 * MAX_UTT_WORDS], pool_c[3 * MAX_UTT_WORDS];
    asr_utt ua[3], uc[3];
    size_t na = build(agent, 3, ua, pool_a), nc = build(customer, 3, uc, pool_c);
    static const double mins[] = {1.0, 0.6, 0.05};
    for (size_t m = 0; m < 3; m++) {
        for (int ch = 1; ch <= 2; ch++) {
            const asr_utt *u = ch == 2 ? ua : uc;
            size_t nu = ch == 2 ? na : nc;
            ph_hit *h = NULL;
            size_t nh = 0;
            if (ph_spot(&l, ch, u, nu, mins[m], &h, &nh) != CS_OK)
                abort();
            check_hits(&l, ch, u, nu, mins[m], h, nh);
            ph_hits_free(h, nh);
        }
    }
    ph_list_free(&l);
    return 0;
}
