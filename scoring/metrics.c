/*
 * metrics.c — talk metrics, DTMF masking, E-model MOS (see metrics.h).
 *
 * Talk metrics work on span lists: each list is sorted by start and merged
 * (overlapping or touching spans become one), after which intersection and
 * difference are linear two-pointer sweeps whose outputs are again sorted
 * and merged. Every list is bounded by the sum of its inputs' sizes, so the
 * buffers are sized once up front.
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

/* ---------- span lists ---------- */

typedef struct span_list {
    sc_span *v;
    size_t n;
} span_list;

static int span_cmp(const void *a, const void *b)
{
    const sc_span *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    if (x->end_ms != y->end_ms)
        return x->end_ms < y->end_ms ? -1 : 1;
    return 0;
}

/* Sorts l in place and merges overlapping/touching spans; drops empty ones. */
static void span_normalise(span_list *l)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].end_ms > l->v[i].start_ms)
            l->v[k++] = l->v[i];
    l->n = k;
    if (k == 0)
        return;
    qsort(l->v, k, sizeof l->v[0], span_cmp);
    size_t w = 0;
    for (size_t i = 1; i < k; i++) {
        if (l->v[i].start_ms <= l->v[w].end_ms) {
            if (l->v[i].end_ms > l->v[w].end_ms)
                l->v[w].end_ms = l->v[i].end_ms;
        } else {
            l->v[++w] = l->v[i];
        }
    }
    l->n = w + 1;
}

/* out = a ∩ b (both normalised); out->v has room for a.n + b.n. */
static void span_intersect(const span_list *a, const span_list *b, span_list *out)
{
    size_t i = 0, j = 0;
    out->n = 0;
    while (i < a->n && j < b->n) {
        int64_t s = a->v[i].start_ms > b->v[j].start_ms ? a->v[i].start_ms : b->v[j].start_ms;
        int64_t e = a->v[i].end_ms < b->v[j].end_ms ? a->v[i].end_ms : b->v[j].end_ms;
        if (s < e)
            out->v[out->n++] = (sc_span){s, e};
        if (a->v[i].end_ms < b->v[j].end_ms)
            i++;
        else
            j++;
    }
}

/* out = a minus b (both normalised); out->v has room for a.n + b.n. */
static void span_subtract(const span_list *a, const span_list *b, span_list *out)
{
    size_t j = 0;
    out->n = 0;
    for (size_t i = 0; i < a->n; i++) {
        int64_t cur = a->v[i].start_ms, end = a->v[i].end_ms;
        while (j < b->n && b->v[j].end_ms <= cur)
            j++;
        size_t k = j;
        while (cur < end && k < b->n && b->v[k].start_ms < end) {
            if (b->v[k].start_ms > cur)
                out->v[out->n++] = (sc_span){cur, b->v[k].start_ms};
            if (b->v[k].end_ms > cur)
                cur = b->v[k].end_ms;
            k++;
        }
        if (cur < end)
            out->v[out->n++] = (sc_span){cur, end};
    }
}

static int64_t span_total(const span_list *l)
{
    int64_t t = 0;
    for (size_t i = 0; i < l->n; i++)
        t += l->v[i].end_ms - l->v[i].start_ms;
    return t;
}

static int spans_valid(const sc_span *v, size_t n)
{
    if (n > 0 && v == NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].end_ms < v[i].start_ms || v[i].start_ms < -SC_TIME_MAX_MS ||
            v[i].end_ms > SC_TIME_MAX_MS)
            return 0;
    }
    return 1;
}

/* ---------- talk metrics ---------- */

static void talk_zero(sc_talk_metrics *out)
{
    memset(out, 0, sizeof *out);
    out->agent_talk_ratio = NAN;
}

int sc_talk_compute(const sc_talk_input *in, sc_talk_metrics *out)
{
    if (out == NULL)
        return CS_ERR_INVAL;
    talk_zero(out);
    if (in == NULL)
        return CS_ERR_INVAL;
    size_t nc = in->n_customer, na = in->n_agent, nh = in->n_holds;
    /* Sizes of the lists below, each bounded by the sum of its inputs:
     *   cust nc, agent na, holds nh, conn 1, active nh+1,
     *   cust∩active nc+nh+1, agent∩active na+nh+1, overtalk nc+na+2nh+2,
     *   talk union nc+na+2nh+2, silence (active minus union) nc+na+3nh+3. */
    const size_t lim = SIZE_MAX / sizeof(sc_span) / 16;
    if (nc > lim || na > lim || nh > lim)
        return CS_ERR_OVERFLOW;
    if (in->dead_air_min_ms < 0 || !spans_valid(in->customer, in->n_customer) ||
        !spans_valid(in->agent, in->n_agent) || !spans_valid(in->holds, in->n_holds) ||
        !spans_valid(&in->connected, 1))
        return CS_ERR_INVAL;
    size_t total = nc + na + nh + 1 + (nh + 1) + (nc + nh + 1) + (na + nh + 1) +
                   (nc + na + 2 * nh + 2) * 2 + (nc + na + 3 * nh + 3);
    sc_span *buf = malloc(total * sizeof *buf);
    if (buf == NULL)
        return CS_ERR_NOMEM;
    sc_span *p = buf;
    span_list cust = {p, nc}, agent, holds, conn, active, cact, aact, over, uni, sil;
    if (nc)
        memcpy(cust.v, in->customer, nc * sizeof *p);
    p += nc;
    agent = (span_list){p, na};
    if (na)
        memcpy(agent.v, in->agent, na * sizeof *p);
    p += na;
    holds = (span_list){p, nh};
    if (nh)
        memcpy(holds.v, in->holds, nh * sizeof *p);
    p += nh;
    conn = (span_list){p, 1};
    conn.v[0] = in->connected;
    p += 1;
    active = (span_list){p, 0};
    p += nh + 1;
    cact = (span_list){p, 0};
    p += nc + nh + 1;
    aact = (span_list){p, 0};
    p += na + nh + 1;
    over = (span_list){p, 0};
    p += nc + na + 2 * nh + 2;
    uni = (span_list){p, 0};
    p += nc + na + 2 * nh + 2;
    sil = (span_list){p, 0};

    span_normalise(&cust);
    span_normalise(&agent);
    span_normalise(&holds);
    span_normalise(&conn);
    span_subtract(&conn, &holds, &active);
    span_intersect(&cust, &active, &cact);
    span_intersect(&agent, &active, &aact);
    span_intersect(&cact, &aact, &over);
    span_normalise(&over); /* already merged; kept for safety (touching pieces) */

    out->customer_talk_ms = span_total(&cact);
    out->agent_talk_ms = span_total(&aact);
    int64_t both = out->customer_talk_ms + out->agent_talk_ms;
    if (both > 0)
        out->agent_talk_ratio = (double)out->agent_talk_ms / (double)both;
    out->overtalk_ms = span_total(&over);
    out->overtalk_count = over.n > INT32_MAX ? INT32_MAX : (int)over.n;

    memcpy(uni.v, cact.v, cact.n * sizeof *p);
    memcpy(uni.v + cact.n, aact.v, aact.n * sizeof *p);
    uni.n = cact.n + aact.n;
    span_normalise(&uni);
    span_subtract(&active, &uni, &sil);
    for (size_t i = 0; i < sil.n; i++) {
        int64_t len = sil.v[i].end_ms - sil.v[i].start_ms;
        if (len < in->dead_air_min_ms)
            continue;
        out->dead_air_ms += len;
        if (out->dead_air_count < INT32_MAX)
            out->dead_air_count++;
        if (len > out->dead_air_longest_ms)
            out->dead_air_longest_ms = len;
    }
    free(buf);
    return CS_OK;
}

/* ---------- DTMF masking ---------- */

static char dtmf_key(char c)
{
    if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D'))
        return c;
    if (c >= 'a' && c <= 'd')
        return (char)(c - 'a' + 'A');
    return '?';
}

static int dtmf_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* |a - b| <= gap without overflow. */
static int dtmf_close(int64_t a, int64_t b, int64_t gap)
{
    if (gap < 0)
        return 0;
    uint64_t d = a >= b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
    return d <= (uint64_t)gap;
}

size_t sc_dtmf_mask(const sc_dtmf *ev, size_t n, int min_run, int64_t run_gap_ms, char *out,
                    size_t cap)
{
    if (ev == NULL)
        n = 0;
    size_t w = 0; /* characters written so far (all of them, cut or not) */
    size_t i = 0;
    while (i < n) {
        /* The run [i, j) and its count of digits 0-9. */
        size_t j = i + 1, digits = dtmf_is_digit(dtmf_key(ev[i].digit));
        while (j < n && dtmf_close(ev[j].start_ms, ev[j - 1].start_ms, run_gap_ms)) {
            digits += dtmf_is_digit(dtmf_key(ev[j].digit));
            j++;
        }
        int mask = (min_run <= 0 || digits >= (size_t)min_run) && digits > SC_DTMF_CLEAR_TAIL;
        size_t masked = mask ? digits - SC_DTMF_CLEAR_TAIL : 0; /* leading digits to hide */
        for (size_t k = i; k < j; k++, w++) {
            char c = dtmf_key(ev[k].digit);
            if (dtmf_is_digit(c) && masked > 0) {
                c = '*';
                masked--;
            }
            if (cap > 0 && w < cap - 1)
                out[w] = c;
        }
        i = j;
    }
    if (cap > 0)
        out[w < cap - 1 ? w : cap - 1] = '\0';
    return w;
}

/* ---------- E-model MOS ---------- */

static int name_is(const char *name, const char *want)
{
    return strcasecmp(name, want) == 0;
}

int sc_mos_codec(const char *codec_name, double *ie, double *bpl)
{
    if (codec_name == NULL)
        return CS_ERR_NOTFOUND;
    double i, b;
    if (name_is(codec_name, "PCMU") || name_is(codec_name, "PCMA") || name_is(codec_name, "G711") ||
        name_is(codec_name, "G.711")) {
        i = 0.;
        b = 25.1;
    } else if (strncasecmp(codec_name, "G729", 4) == 0 ||
               strncasecmp(codec_name, "G.729", 5) == 0) {
        i = 11.;
        b = 19.;
    } else if (name_is(codec_name, "G722") || name_is(codec_name, "G.722")) {
        i = 0.;
        b = 25.1;
    } else if (name_is(codec_name, "opus")) {
        i = 0.;
        b = 25.1;
    } else {
        return CS_ERR_NOTFOUND;
    }
    if (ie)
        *ie = i;
    if (bpl)
        *bpl = b;
    return CS_OK;
}

double sc_emodel_r(double ie, double bpl, double loss_pct, double burst_r, double delay_ms)
{
    if (!isfinite(ie) || !isfinite(bpl) || !isfinite(loss_pct) || !isfinite(burst_r) ||
        !isfinite(delay_ms) || ie < 0. || bpl < 0. || loss_pct < 0. || burst_r <= 0. ||
        delay_ms < 0.)
        return NAN;
    double ppl = loss_pct > 100. ? 100. : loss_pct;
    double den = ppl / burst_r + bpl;
    double ie_eff = den > 0. ? ie + (95. - ie) * ppl / den : ie;
    double id = 0.024 * delay_ms;
    if (delay_ms > 177.3)
        id += 0.11 * (delay_ms - 177.3);
    return 93.2 - id - ie_eff;
}

double sc_mos_from_r(double r)
{
    if (isnan(r))
        return NAN;
    if (r <= 0.)
        return 1.;
    if (r >= 100.)
        return 4.5;
    double mos = 1. + 0.035 * r + 7e-6 * r * (r - 60.) * (100. - r);
    if (mos < 1.)
        mos = 1.;
    if (mos > 4.5)
        mos = 4.5;
    return mos;
}

double sc_mos_estimate_delay(const char *codec_name, double loss_pct, double jitter_ms,
                             double network_delay_ms)
{
    double ie, bpl;
    if (sc_mos_codec(codec_name, &ie, &bpl) != CS_OK)
        return NAN;
    if (!isfinite(jitter_ms) || jitter_ms < 0. || !isfinite(network_delay_ms) ||
        network_delay_ms < 0.)
        return NAN;
    double d = 2. * jitter_ms + SC_MOS_PACKET_MS + network_delay_ms;
    return sc_mos_from_r(sc_emodel_r(ie, bpl, loss_pct, 1., d));
}

double sc_mos_estimate(const char *codec_name, double loss_pct, double jitter_ms)
{
    return sc_mos_estimate_delay(codec_name, loss_pct, jitter_ms, 0.);
}
