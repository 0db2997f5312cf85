/*
 * segment.c — see segment.h.
 */
#include "segment.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void seg_params_default(seg_params *p)
{
    p->pad_ms = 300;
    p->merge_gap_ms = 200;
    p->max_ms = 30000;
}

static int span_cmp(const void *a, const void *b)
{
    const seg_span *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return (x->end_ms > y->end_ms) - (x->end_ms < y->end_ms);
}

/* The start (ms) of the quietest 20 ms frame whose start lies in [lo, hi). */
static int64_t quietest(const int16_t *pcm, size_t npcm, int rate, int64_t lo, int64_t hi)
{
    int64_t per_ms = rate / 1000, best_at = hi;
    double best = -1;
    for (int64_t t = lo; t + 20 <= hi + 20 && t < hi; t += 10) {
        size_t a = (size_t)(t * per_ms), b = (size_t)((t + 20) * per_ms);
        if (b > npcm)
            break;
        double e = 0;
        for (size_t i = a; i < b; i++)
            e += (double)pcm[i] * pcm[i];
        if (best < 0 || e < best) {
            best = e;
            best_at = t;
        }
    }
    return best_at;
}

int seg_plan(const seg_params *p, const seg_span *talk, size_t n, int64_t duration_ms,
             const int16_t *pcm, size_t npcm, int rate, seg_span **out, size_t *nout)
{
    if (!p || (!talk && n) || !out || !nout || duration_ms < 0 || p->pad_ms < 0 ||
        p->merge_gap_ms < 0 || p->max_ms < 2000 || (pcm && rate != 8000 && rate != 16000))
        return CS_ERR_INVAL;
    *out = NULL;
    *nout = 0;
    seg_span *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return CS_ERR_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (talk[i].end_ms <= talk[i].start_ms)
            continue;
        /* Widen and clamp without overflowing on hostile values. */
        int64_t s = talk[i].start_ms <= p->pad_ms ? 0 : talk[i].start_ms - p->pad_ms;
        int64_t e =
            talk[i].end_ms >= duration_ms - p->pad_ms ? duration_ms : talk[i].end_ms + p->pad_ms;
        if (e <= s)
            continue;
        v[m++] = (seg_span){s, e};
    }
    qsort(v, m, sizeof *v, span_cmp);
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        if (k && v[i].start_ms - v[k - 1].end_ms <= p->merge_gap_ms) {
            if (v[i].end_ms > v[k - 1].end_ms)
                v[k - 1].end_ms = v[i].end_ms;
        } else {
            v[k++] = v[i];
        }
    }
    /* Cut long spans; count first, then fill. */
    size_t total = 0;
    seg_span *res = NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t w = 0;
        for (size_t i = 0; i < k; i++) {
            int64_t s = v[i].start_ms;
            while (v[i].end_ms - s > p->max_ms) {
                int64_t cut = s + p->max_ms;
                if (pcm)
                    cut = quietest(pcm, npcm, rate, s + p->max_ms / 2, s + p->max_ms) + 10;
                /* quietest() returns hi when the pcm ends before the window,
                 * and a frame centre may lie past hi: never exceed max_ms. */
                if (cut <= s || cut > s + p->max_ms)
                    cut = s + p->max_ms;
                if (pass)
                    res[w] = (seg_span){s, cut};
                w++;
                s = cut;
            }
            if (pass)
                res[w] = (seg_span){s, v[i].end_ms};
            w++;
        }
        if (!pass) {
            total = w;
            res = malloc((total ? total : 1) * sizeof *res);
            if (!res) {
                free(v);
                return CS_ERR_NOMEM;
            }
        }
    }
    free(v);
    *out = res;
    *nout = total;
    return CS_OK;
}
