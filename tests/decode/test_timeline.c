/*
 * test_timeline.c — decode/timeline: where every RTP frame lands.
 *
 * Synthetic streams: every 20 ms packet carries 160 G.711 μ-law bytes that are
 * silent except a sync code (the loudest positive code) at sample 80 followed
 * by the frame's global number in three base-100 digits. After the timeline
 * has placed and mixed everything, scanning the output for the sync value
 * gives, for each frame, the sample where it landed; the generator knows when
 * the frame was sent (capture clock) and the constant network delay, so the
 * offset error of every frame is measured. Faults: uniform jitter 0..60 ms
 * (capture order = arrival order, so jitter itself reorders), 3 % loss, 2 %
 * swaps of neighbours (the first one held back until the second arrived),
 * 2 % duplicates, a 20 s hold (nothing sent, timestamp
 * continues, marker after), a timestamp jump, an SSRC change, sequence and
 * timestamp wraps, ±100 ppm of sender clock drift over 30 minutes.
 *
 * callgen: a real call (loss 3 %, jitter 30 ms) is parsed from its pcap, both
 * directions are placed, and each is cross-correlated with callgen's
 * reference audio near its first and its last speech: the lag must be within
 * 20 ms. Skips (the rest of the file still runs) when callgen cannot run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <pcap/pcap.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_codec.h"
#include "error.h"
#include "testsupport.h"
#include "timeline.h"

#define T0_US     1709542800000000ull
#define SYNC_CODE 0x80
#define SYNC_AT   80 /* sample of the sync code inside a frame */
#define CONCEAL_V (-7)

/* ---------------------------------------------------------------- rng */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* ------------------------------------------------ frame payloads, scan */

static void make_payload(uint32_t k, uint8_t out[160])
{
    memset(out, 0xFF, 160); /* μ-law 0xFF = 0 */
    out[SYNC_AT] = SYNC_CODE;
    out[SYNC_AT + 1] = (uint8_t)(0x90 + (k / 10000) % 100);
    out[SYNC_AT + 2] = (uint8_t)(0x90 + (k / 100) % 100);
    out[SYNC_AT + 3] = (uint8_t)(0x90 + k % 100);
}

static int digit_of(int16_t v)
{
    for (int d = 0; d < 100; d++)
        if (cg_g711_ulaw_decode((uint8_t)(0x90 + d)) == v)
            return d;
    return -1;
}

/* ----------------------------------------------------- callbacks (test) */

typedef struct cb_ctx {
    int rate;             /* output rate */
    uint64_t *conceal_at; /* first sample of each conceal call */
    size_t nconceal, conceal_cap;
    int16_t last[320]; /* for the callgen test: last decoded frame */
    size_t last_n;
    int fill_conceal; /* 1: CONCEAL_V, 0: repeat last frame at half gain */
} cb_ctx;

static int cb_decode(void *ctx, const tl_stream_info *s, const tl_packet *p, uint64_t at,
                     int16_t *pcm, size_t cap)
{
    (void)s;
    (void)at;
    cb_ctx *c = ctx;
    if (p->pt != 0)
        return 0; /* not audio: telephone-event, CN */
    int up = c->rate / 8000;
    if (p->payload_len * (size_t)up > cap)
        return CS_ERR_OVERFLOW;
    for (size_t i = 0; i < p->payload_len; i++)
        for (int j = 0; j < up; j++)
            pcm[i * (size_t)up + (size_t)j] = cg_g711_ulaw_decode(p->payload[i]);
    size_t n = p->payload_len * (size_t)up;
    c->last_n = n < 320 ? n : 320;
    memcpy(c->last, pcm, c->last_n * sizeof(int16_t));
    return (int)n;
}

static int cb_conceal(void *ctx, const tl_stream_info *s, const tl_packet *next, uint64_t at,
                      int16_t *pcm, size_t n)
{
    (void)s;
    (void)next;
    cb_ctx *c = ctx;
    if (c->nconceal == c->conceal_cap) {
        c->conceal_cap = c->conceal_cap ? c->conceal_cap * 2 : 256;
        c->conceal_at = realloc(c->conceal_at, c->conceal_cap * sizeof(uint64_t));
        assert_non_null(c->conceal_at);
    }
    c->conceal_at[c->nconceal++] = at;
    for (size_t i = 0; i < n; i++)
        pcm[i] =
            c->fill_conceal ? CONCEAL_V : (int16_t)(c->last_n ? c->last[i % c->last_n] / 2 : 0);
    return 0;
}

/* ---------------------------------------------------- synthetic stream */

typedef struct gpkt {
    uint64_t arrival;
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    int marker;
    uint32_t k;
    uint32_t order; /* generation order, for a stable sort */
} gpkt;

typedef struct scen {
    const char *name;
    int rate;  /* output rate */
    int clock; /* RTP clock */
    double ppm;
    double dur_s; /* of the frame sequence */
    uint64_t seed;
} scen;

typedef struct gen {
    gpkt *pk;
    size_t npk;
    double *expect_us; /* frame k: send time + network delay (capture clock) */
    uint8_t *state;    /* frame k: 0 sent, 1 lost, 2 not sent (hold) */
    uint32_t nframes;
    uint64_t end_us;
    uint32_t lost, dups, swaps;
    uint32_t hold_from, hold_to, jump_at, ssrc_at;
} gen;

static int cmp_gpkt(const void *a, const void *b)
{
    const gpkt *x = a, *y = b;
    if (x->arrival != y->arrival)
        return x->arrival < y->arrival ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void generate(const scen *sc, gen *g)
{
    uint64_t rs = sc->seed;
    memset(g, 0, sizeof(*g));
    g->nframes = (uint32_t)(sc->dur_s * 50);
    g->expect_us = calloc(g->nframes, sizeof(double));
    g->state = calloc(g->nframes, 1);
    g->pk = calloc((size_t)g->nframes * 2, sizeof(gpkt));
    assert_non_null(g->expect_us);
    assert_non_null(g->state);
    assert_non_null(g->pk);
    const double d0 = 35000.0; /* constant network delay, µs */
    const double period = 20000.0 * (1.0 + sc->ppm * 1e-6);
    const double first = (double)T0_US + 2503100.0; /* off the sample grid */
    uint32_t tpf = (uint32_t)sc->clock / 50;
    g->hold_from = g->nframes * 3 / 10;
    g->hold_to = g->hold_from + 1000; /* 20 s */
    g->jump_at = g->nframes / 2;
    g->ssrc_at = g->nframes * 7 / 10;

    uint32_t ssrc = 0x11223344, ts_base = 0xFFFFF000u - 7 * tpf, ts_off = 0;
    uint16_t seq = 65500;
    uint32_t kbase = 0; /* first frame of the current SSRC */
    int marker_next = 1;
    for (uint32_t k = 0; k < g->nframes; k++) {
        double send = first + period * k;
        g->expect_us[k] = send + d0;
        if (k == g->jump_at) {
            ts_off += 0x02345678u;
            marker_next = 1;
        }
        if (k == g->ssrc_at) {
            ssrc = 0x55667788;
            seq = 12345;
            ts_base = 0xFFFFFFFFu - 50 * tpf;
            ts_off = 0;
            kbase = k;
            marker_next = 1;
        }
        if (k >= g->hold_from && k < g->hold_to) {
            g->state[k] = 2;
            marker_next = 1;
            continue;
        }
        gpkt p = {0};
        p.ssrc = ssrc;
        p.seq = seq++;
        p.ts = ts_base + (k - kbase) * tpf + ts_off;
        p.marker = marker_next;
        p.k = k;
        marker_next = 0;
        /* first and last packet of each SSRC are never lost (undetectable) */
        int edge = k == 0 || k == kbase || k + 1 == g->ssrc_at || k + 1 == g->nframes;
        if (!edge && rng_unit(&rs) < 0.03) {
            g->state[k] = 1;
            g->lost++;
            continue;
        }
        p.arrival = (uint64_t)llround(send + d0 + rng_unit(&rs) * 60000.0);
        p.order = (uint32_t)g->npk;
        g->pk[g->npk++] = p;
        if (rng_unit(&rs) < 0.02) {
            gpkt d = p;
            d.arrival += 40;
            d.order = (uint32_t)g->npk;
            g->pk[g->npk++] = d;
            g->dups++;
        }
    }
    qsort(g->pk, g->npk, sizeof(gpkt), cmp_gpkt);
    for (size_t i = 0; i + 1 < g->npk; i++) {
        if (g->pk[i + 1].arrival - g->pk[i].arrival < 40000 && rng_unit(&rs) < 0.02) {
            /* a is held back behind b: both arrive at b's time (a packet
             * can be delayed more, never arrive before it was sent) */
            gpkt a = g->pk[i], b = g->pk[i + 1];
            g->pk[i] = b;
            g->pk[i + 1] = a;
            g->pk[i + 1].arrival = b.arrival;
            g->swaps++;
            i++;
        }
    }
    g->end_us = (uint64_t)llround(first + period * g->nframes) + 3000000 + 371;
}

static void gen_free(gen *g)
{
    free(g->pk);
    free(g->expect_us);
    free(g->state);
}

/* Feeds the packets (reading as we go) and returns the output. */
static int16_t *run_timeline(const scen *sc, const gen *g, cb_ctx *cb, size_t *nout, tl_stats *st)
{
    tl_config cfg = {.invite_us = T0_US, .end_us = g->end_us, .rate = sc->rate};
    tl_ops ops = {.decode = cb_decode, .conceal = cb_conceal, .ctx = cb};
    tl_timeline *t = NULL;
    assert_int_equal(tl_new(&cfg, &ops, &t), CS_OK);
    uint64_t total = tl_total_samples(t);
    int16_t *out = malloc(total * sizeof(int16_t) + 1);
    assert_non_null(out);
    size_t n = 0;
    uint8_t pl[160];
    for (size_t i = 0; i < g->npk; i++) {
        const gpkt *q = &g->pk[i];
        make_payload(q->k, pl);
        tl_packet p = {.arrival_us = q->arrival,
                       .ssrc = q->ssrc,
                       .seq = q->seq,
                       .ts = q->ts,
                       .marker = q->marker,
                       .pt = 0,
                       .clock_rate = sc->clock,
                       .payload = pl,
                       .payload_len = sizeof(pl)};
        assert_int_equal(tl_push(t, &p), CS_OK);
        n += tl_read(t, out + n, total - n);
    }
    assert_int_equal(tl_advance(t, g->end_us), CS_OK);
    n += tl_read(t, out + n, total - n);
    assert_int_equal(tl_finish(t), CS_OK);
    n += tl_read(t, out + n, total - n);
    assert_int_equal(tl_read(t, out + n, 1), 0);
    assert_int_equal(tl_available(t), 0);
    assert_int_equal(n, total);
    *st = *tl_get_stats(t);
    tl_free(t);
    *nout = n;
    return out;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void run_scenario(const scen *sc)
{
    gen g;
    generate(sc, &g);
    cb_ctx cb = {.rate = sc->rate, .fill_conceal = 1};
    size_t n = 0;
    tl_stats st;
    int16_t *out = run_timeline(sc, &g, &cb, &n, &st);

    /* length: round((end - invite) * rate / 1e6) */
    uint64_t want = ((g.end_us - T0_US) * (uint64_t)sc->rate + 500000) / 1000000;
    assert_int_equal(n, want);

    /* where each frame landed */
    const int up = sc->rate / 8000;
    const int16_t sync = cg_g711_ulaw_decode(SYNC_CODE);
    int64_t *landed = malloc(g.nframes * sizeof(int64_t));
    assert_non_null(landed);
    for (uint32_t k = 0; k < g.nframes; k++)
        landed[k] = -1;
    uint32_t found = 0, twice = 0;
    for (size_t i = 0; i + 3 * (size_t)up < n; i++) {
        if (out[i] != sync || (i > 0 && out[i - 1] == sync))
            continue;
        int a = digit_of(out[i + (size_t)up]), b = digit_of(out[i + 2 * (size_t)up]),
            c = digit_of(out[i + 3 * (size_t)up]);
        assert_true(a >= 0 && b >= 0 && c >= 0);
        uint32_t k = (uint32_t)(a * 10000 + b * 100 + c);
        assert_true(k < g.nframes);
        if (landed[k] >= 0)
            twice++;
        landed[k] = (int64_t)i - SYNC_AT * up;
        found++;
    }
    double maxerr = 0, sumerr = 0, err_first = 0, err_last = 0;
    uint32_t sent = 0;
    for (uint32_t k = 0; k < g.nframes; k++) {
        if (g.state[k] != 0) {
            assert_int_equal(landed[k], -1);
            continue;
        }
        sent++;
        if (landed[k] < 0)
            fail_msg("%s: frame %u (sent) not in the output", sc->name, k);
        double e_samples = (g.expect_us[k] - (double)T0_US) * sc->rate / 1e6;
        double err_ms = ((double)landed[k] - e_samples) * 1000.0 / sc->rate;
        if (fabs(err_ms) > fabs(maxerr))
            maxerr = err_ms;
        sumerr += err_ms;
        if (sent == 1)
            err_first = err_ms;
        err_last = err_ms;
        if (fabs(err_ms) > 20.0)
            fail_msg("%s: frame %u off by %.2f ms", sc->name, k, err_ms);
    }
    assert_int_equal(twice, 0);
    assert_int_equal(found, sent);

    /* concealment: once per lost frame, where the lost frame belonged */
    assert_int_equal(st.lost, g.lost);
    assert_int_equal(cb.nconceal, g.lost);
    assert_int_equal(st.conceal_calls, g.lost);
    /* each call one frame long, except where a re-anchor shortened the gap */
    uint64_t full = (uint64_t)g.lost * 160 * (uint64_t)up;
    assert_true(st.concealed <= full && st.concealed >= full - full / 50);
    uint64_t *lost_at = malloc((g.lost + 1) * sizeof(uint64_t));
    assert_non_null(lost_at);
    uint32_t nl = 0;
    for (uint32_t k = 0; k < g.nframes; k++)
        if (g.state[k] == 1)
            lost_at[nl++] = (uint64_t)llround((g.expect_us[k] - (double)T0_US) * sc->rate / 1e6);
    qsort(cb.conceal_at, cb.nconceal, sizeof(uint64_t), cmp_u64);
    double maxcerr = 0;
    for (uint32_t i = 0; i < nl; i++) {
        double e = ((double)cb.conceal_at[i] - (double)lost_at[i]) * 1000.0 / sc->rate;
        if (fabs(e) > fabs(maxcerr))
            maxcerr = e;
    }
    assert_true(fabs(maxcerr) <= 20.0);

    /* silence before the first frame, inside the hold, after the last */
    size_t first_pos = (size_t)landed[0];
    for (size_t i = 0; i < first_pos; i++)
        assert_int_equal(out[i], 0);
    size_t h0 = (size_t)((g.expect_us[g.hold_from] - (double)T0_US + 100000) * sc->rate / 1e6);
    size_t h1 = (size_t)((g.expect_us[g.hold_to - 1] - (double)T0_US - 100000) * sc->rate / 1e6);
    size_t nonzero = 0;
    for (size_t i = h0; i < h1; i++)
        nonzero += out[i] != 0;
    assert_int_equal(nonzero, 0);
    size_t last_end = (size_t)landed[g.nframes - 1] + 160 * (size_t)up;
    for (size_t i = last_end; i < n; i++)
        assert_int_equal(out[i], 0);

    /* the faults really happened and were recognised */
    assert_int_equal(st.duplicates, g.dups);
    assert_int_equal(st.late, 0);
    assert_true(st.reordered > 0);
    assert_int_equal(st.segments, 3); /* first SSRC, timestamp jump, second SSRC */
    assert_int_equal(st.streams, 2);
    assert_int_equal(st.limit_drops, 0);
    if (sc->ppm > 0)
        assert_true(st.drift_adjusts > 0);

    print_message("[timeline] %s: %u frames (%u sent, %u lost, %u dups, %u swaps), "
                  "offset error max %+.2f ms mean %+.2f ms first %+.2f ms last %+.2f ms, "
                  "conceal %zu calls (%llu of %llu samples) max error %+.2f ms, reordered %llu, "
                  "segments %llu, "
                  "drift adjusts %llu, trimmed %llu samples, total %zu samples\n",
                  sc->name, g.nframes, sent, g.lost, g.dups, g.swaps, maxerr, sumerr / sent,
                  err_first, err_last, cb.nconceal, (unsigned long long)st.concealed,
                  (unsigned long long)full, maxcerr, (unsigned long long)st.reordered,
                  (unsigned long long)st.segments, (unsigned long long)st.drift_adjusts,
                  (unsigned long long)st.trimmed, n);
    free(lost_at);
    free(landed);
    free(out);
    free(cb.conceal_at);
    gen_free(&g);
}

static void test_faults_drift_slow(void **state)
{
    (void)state;
    scen sc = {"30min 8k +100ppm", 8000, 8000, 100.0, 1800.0, 11};
    run_scenario(&sc);
}

static void test_faults_drift_fast(void **state)
{
    (void)state;
    scen sc = {"30min 8k -100ppm", 8000, 8000, -100.0, 1800.0, 12};
    run_scenario(&sc);
}

static void test_faults_wideband_48k_clock(void **state)
{
    (void)state;
    scen sc = {"5min 16k out, 48 kHz clock", 16000, 48000, 100.0, 300.0, 13};
    run_scenario(&sc);
}

static void test_faults_wideband_8k_clock(void **state)
{
    (void)state;
    scen sc = {"5min 16k out, 8 kHz clock (G.722)", 16000, 8000, -100.0, 300.0, 14};
    run_scenario(&sc);
}

/* ------------------------------------------------- small exact cases */

static int dec_const(void *ctx, const tl_stream_info *s, const tl_packet *p, uint64_t at,
                     int16_t *pcm, size_t cap)
{
    (void)ctx;
    (void)s;
    (void)at;
    if (cap < 160)
        return CS_ERR_OVERFLOW;
    for (int i = 0; i < 160; i++)
        pcm[i] = (int16_t)(p->payload[0] * 100);
    return 160;
}

static void test_config_and_rounding(void **state)
{
    (void)state;
    tl_ops ops = {.decode = dec_const};
    tl_timeline *t = NULL;
    tl_config bad[] = {
        {.invite_us = 10, .end_us = 10, .rate = 8000},
        {.invite_us = 10, .end_us = 9, .rate = 8000},
        {.invite_us = 0, .end_us = 1000000, .rate = 44100},
        {.invite_us = 0, .end_us = 1000000, .rate = 8000, .hold_ms = 6000},
        {.invite_us = 0, .end_us = 1000000, .rate = 8000, .plc_ms = 10001},
        {.invite_us = 0, .end_us = 1000000, .rate = 8000, .late_ms = -1},
        {.invite_us = 0, .end_us = 1000000, .rate = 8000, .max_buffer_ms = 1000},
        {.invite_us = 0, .end_us = 25ull * 3600 * 1000000, .rate = 8000},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(tl_new(&bad[i], &ops, &t), CS_ERR_INVAL);
        assert_null(t);
    }
    tl_config far = {.invite_us = TL_MAX_TIME_US - 10, .end_us = TL_MAX_TIME_US, .rate = 8000};
    assert_int_equal(tl_new(&far, &ops, &t), CS_ERR_INVAL);
    tl_ops noops = {0};
    tl_config ok = {.invite_us = 0, .end_us = 1000000, .rate = 8000};
    assert_int_equal(tl_new(&ok, &noops, &t), CS_ERR_INVAL);

    /* total = round(dur * rate / 1e6): 62 µs -> 0.496 -> 0; 63 µs -> 0.504 -> 1 */
    struct {
        uint64_t dur;
        int rate;
        uint64_t total;
    } r[] = {{1000000, 8000, 8000},   {1000062, 8000, 8000},   {1000063, 8000, 8001},
             {1000031, 16000, 16000}, {1000032, 16000, 16001}, {1, 8000, 0}};
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        tl_config c = {.invite_us = T0_US, .end_us = T0_US + r[i].dur, .rate = r[i].rate};
        assert_int_equal(tl_new(&c, &ops, &t), CS_OK);
        assert_int_equal(tl_total_samples(t), r[i].total);
        /* no packets at all: exactly total zeros */
        assert_int_equal(tl_finish(t), CS_OK);
        int16_t buf[16001];
        size_t n = tl_read(t, buf, sizeof(buf) / sizeof(buf[0]));
        assert_int_equal(n, r[i].total);
        for (size_t j = 0; j < n; j++)
            assert_int_equal(buf[j], 0);
        tl_packet p = {.clock_rate = 8000};
        assert_int_equal(tl_push(t, &p), CS_ERR_STATE);
        tl_free(t);
    }
}

static void push_frames(tl_timeline *t, uint32_t ssrc, uint64_t start_us, int nframes,
                        uint8_t value)
{
    uint8_t pl[160];
    memset(pl, value, sizeof(pl));
    for (int k = 0; k < nframes; k++) {
        tl_packet p = {.arrival_us = start_us + (uint64_t)k * 20000,
                       .ssrc = ssrc,
                       .seq = (uint16_t)(100 + k),
                       .ts = 1000u + (uint32_t)k * 160,
                       .marker = k == 0,
                       .clock_rate = 8000,
                       .payload = pl,
                       .payload_len = sizeof(pl)};
        assert_int_equal(tl_push(t, &p), CS_OK);
    }
}

/* Two agents during a transfer: the overlap is mixed, saturated. */
static void test_mix_saturates(void **state)
{
    (void)state;
    tl_config c = {.invite_us = T0_US, .end_us = T0_US + 4000000, .rate = 8000};
    tl_ops ops = {.decode = dec_const};
    tl_timeline *t = NULL;
    assert_int_equal(tl_new(&c, &ops, &t), CS_OK);
    /* stream A 0.5..2.5 s at 20000; stream B 2.0..3.0 s at 25000 (sum 45000) */
    push_frames(t, 1, T0_US + 500000, 100, 200);
    push_frames(t, 2, T0_US + 2000000, 50, 250);
    assert_int_equal(tl_finish(t), CS_OK);
    static int16_t out[32000];
    assert_int_equal(tl_read(t, out, 32000), 32000);
    for (int i = 0; i < 32000; i++) {
        int ms = i / 8;
        int want = ms < 500 ? 0 : ms < 2000 ? 20000 : ms < 2500 ? 32767 : ms < 3000 ? 25000 : 0;
        if (out[i] != want)
            fail_msg("sample %d (%d ms): %d, want %d", i, ms, out[i], want);
    }
    assert_int_equal(tl_get_stats(t)->streams, 2);
    tl_free(t);
}

/* Audio before the INVITE and after the end is cut, never shifts the rest. */
static void test_clip_to_call(void **state)
{
    (void)state;
    tl_config c = {.invite_us = T0_US, .end_us = T0_US + 1000000, .rate = 8000};
    tl_ops ops = {.decode = dec_const};
    tl_timeline *t = NULL;
    assert_int_equal(tl_new(&c, &ops, &t), CS_OK);
    push_frames(t, 7, T0_US - 110000, 60, 10); /* -110 ms .. +1090 ms */
    assert_int_equal(tl_finish(t), CS_OK);
    int16_t out[8001];
    assert_int_equal(tl_read(t, out, 8001), 8000);
    for (int i = 0; i < 8000; i++)
        assert_int_equal(out[i], 1000);
    assert_int_equal(tl_get_stats(t)->trimmed, 60 * 160 - 8000);
    tl_free(t);
}

/* More SSRCs than the cap: the extra ones are counted and dropped. */
static void test_stream_cap(void **state)
{
    (void)state;
    tl_config c = {.invite_us = T0_US, .end_us = T0_US + 2000000, .rate = 8000};
    tl_ops ops = {.decode = dec_const};
    tl_timeline *t = NULL;
    assert_int_equal(tl_new(&c, &ops, &t), CS_OK);
    for (uint32_t s = 0; s < TL_MAX_STREAMS + 3; s++)
        push_frames(t, 1000 + s, T0_US + 100000 + s * 1000, 1, 1);
    assert_int_equal(tl_get_stats(t)->streams, TL_MAX_STREAMS);
    assert_int_equal(tl_get_stats(t)->dropped, 3);
    tl_free(t); /* with packets still buffered: no leak under ASan */
}

/* Records which source each decode call came from. */
static int dec_source(void *ctx, const tl_stream_info *s, const tl_packet *p, uint64_t at,
                      int16_t *pcm, size_t cap)
{
    int *seen = ctx;
    (void)at;
    assert_int_equal(s->source, p->source);
    seen[p->source & 1]++;
    if (cap < 160)
        return CS_ERR_OVERFLOW;
    for (int i = 0; i < 160; i++)
        pcm[i] = (int16_t)(p->source ? 1000 : -1000);
    return 160;
}

/* Two senders that picked the same SSRC (two ports of one channel) are two
 * streams, each decoded as its own: found by fuzz_render, where the second
 * stream's packets went through the first stream's decoders. */
static void test_same_ssrc_two_sources(void **state)
{
    (void)state;
    int seen[2] = {0, 0};
    tl_config c = {.invite_us = T0_US, .end_us = T0_US + 1000000, .rate = 8000};
    tl_ops ops = {.decode = dec_source, .ctx = seen};
    tl_timeline *t = NULL;
    assert_int_equal(tl_new(&c, &ops, &t), CS_OK);
    uint8_t pl[160] = {0};
    for (int k = 0; k < 10; k++) {
        for (int src = 0; src < 2; src++) {
            tl_packet p = {.arrival_us = T0_US + 100000 + (uint64_t)k * 20000 +
                                         (src ? 500000 : 0),
                           .ssrc = 0x0badf00d,
                           .seq = (uint16_t)(src * 1000 + k),
                           .ts = (uint32_t)(src * 90000 + k * 160),
                           .clock_rate = 8000,
                           .payload = pl,
                           .payload_len = sizeof(pl),
                           .source = src};
            assert_int_equal(tl_push(t, &p), CS_OK);
        }
    }
    assert_int_equal(tl_finish(t), CS_OK);
    assert_int_equal(tl_get_stats(t)->streams, 2);
    static int16_t out[8000];
    assert_int_equal(tl_read(t, out, 8000), 8000);
    assert_int_equal(seen[0], 10);
    assert_int_equal(seen[1], 10);
    /* source 0 at 100..300 ms, source 1 at 600..800 ms, each its own audio */
    assert_int_equal(out[8 * 150], -1000);
    assert_int_equal(out[8 * 650], 1000);
    tl_free(t);
}

/* Loss longer than the PLC limit: 100 ms concealed, the rest silent. */
static void test_plc_limit(void **state)
{
    (void)state;
    cb_ctx cb = {.rate = 8000, .fill_conceal = 1};
    tl_config c = {.invite_us = T0_US, .end_us = T0_US + 2000000, .rate = 8000};
    tl_ops ops = {.decode = cb_decode, .conceal = cb_conceal, .ctx = &cb};
    tl_timeline *t = NULL;
    assert_int_equal(tl_new(&c, &ops, &t), CS_OK);
    uint8_t pl[160];
    memset(pl, 0xFF, sizeof(pl));
    for (int k = 0; k < 50; k++) {
        if (k >= 10 && k < 20)
            continue; /* 10 frames = 200 ms lost */
        tl_packet p = {.arrival_us = T0_US + 200000 + (uint64_t)k * 20000,
                       .ssrc = 9,
                       .seq = (uint16_t)(65530 + k),
                       .ts = 4294967000u + (uint32_t)k * 160,
                       .clock_rate = 8000,
                       .payload = pl,
                       .payload_len = sizeof(pl)};
        assert_int_equal(tl_push(t, &p), CS_OK);
    }
    assert_int_equal(tl_finish(t), CS_OK);
    static int16_t out[16000];
    assert_int_equal(tl_read(t, out, 16000), 16000);
    const tl_stats *st = tl_get_stats(t);
    assert_int_equal(st->lost, 10);
    assert_int_equal(st->conceal_calls, 5);
    assert_int_equal(st->concealed, 800);
    /* the 10 lost frames would sit at 400..600 ms; concealment covers 400..500 */
    for (int i = 0; i < 16000; i++) {
        int ms = i / 8;
        int want = (ms >= 400 && ms < 500) ? CONCEAL_V : 0;
        if (out[i] != want)
            fail_msg("sample %d (%d ms): %d, want %d", i, ms, out[i], want);
    }
    assert_int_equal(cb.conceal_at[0], 3200);
    free(cb.conceal_at);
    tl_free(t);
}

/* One stream with frame counters, for the small cases below. */
typedef struct mini {
    tl_timeline *t;
    cb_ctx cb;
    int16_t *out;
    size_t n, total;
} mini;

static void mini_open(mini *m, uint64_t dur_us, int max_buffer_ms)
{
    memset(m, 0, sizeof(*m));
    m->cb.rate = 8000;
    m->cb.fill_conceal = 1;
    tl_config c = {
        .invite_us = T0_US, .end_us = T0_US + dur_us, .rate = 8000, .max_buffer_ms = max_buffer_ms};
    tl_ops ops = {.decode = cb_decode, .conceal = cb_conceal, .ctx = &m->cb};
    assert_int_equal(tl_new(&c, &ops, &m->t), CS_OK);
    m->total = (size_t)tl_total_samples(m->t);
    m->out = calloc(m->total + 1, sizeof(int16_t));
    assert_non_null(m->out);
}

static int mini_push(mini *m, uint64_t at_us, uint16_t seq, uint32_t ts, int marker, uint32_t k)
{
    uint8_t pl[160];
    make_payload(k, pl);
    tl_packet p = {.arrival_us = T0_US + at_us,
                   .ssrc = 42,
                   .seq = seq,
                   .ts = ts,
                   .marker = marker,
                   .clock_rate = 8000,
                   .payload = pl,
                   .payload_len = sizeof(pl)};
    return tl_push(m->t, &p);
}

static void mini_close(mini *m)
{
    assert_int_equal(tl_finish(m->t), CS_OK);
    m->n += tl_read(m->t, m->out + m->n, m->total - m->n);
    assert_int_equal(m->n, m->total);
}

/* Output sample where frame k's start landed, -1 if absent. */
static long mini_where(const mini *m, uint32_t k)
{
    const int16_t sync = cg_g711_ulaw_decode(SYNC_CODE);
    for (size_t i = 0; i + 3 < m->n; i++) {
        if (m->out[i] != sync)
            continue;
        uint32_t v = (uint32_t)(digit_of(m->out[i + 1]) * 10000 + digit_of(m->out[i + 2]) * 100 +
                                digit_of(m->out[i + 3]));
        if (v == k)
            return (long)i - SYNC_AT;
    }
    return -1;
}

static void mini_free(mini *m)
{
    tl_free(m->t);
    free(m->out);
    free(m->cb.conceal_at);
}

/* A sender renumbers its packets mid-stream (sequence +20000); a packet of
 * the old numbering arrives after the new one started: it is late, not a
 * jump back. Every other frame lands where it was sent, nothing concealed. */
static void test_seq_jump(void **state)
{
    (void)state;
    mini m;
    mini_open(&m, 3000000, 0);
    for (uint32_t k = 0; k < 100; k++) {
        uint16_t seq = (uint16_t)(k < 50 ? 100 + k : 20100 + k);
        uint64_t at = 200000 + (uint64_t)k * 20000;
        if (k == 49)
            continue; /* sent late, below */
        assert_int_equal(mini_push(&m, at, seq, 5000 + k * 160, 0, k), CS_OK);
        if (k == 51)
            assert_int_equal(mini_push(&m, at + 10, 149, 5000 + 49 * 160, 0, 49), CS_OK);
    }
    mini_close(&m);
    const tl_stats *st = tl_get_stats(m.t);
    assert_int_equal(st->resyncs, 1);
    assert_int_equal(st->late, 1);
    /* 49 was the last of the old numbering: its absence is not a loss */
    assert_int_equal(st->lost, 0);
    assert_int_equal(st->conceal_calls, 0);
    for (uint32_t k = 0; k < 100; k++) {
        long want = 1600 + (long)k * 160;
        if (k == 49) {
            assert_int_equal(mini_where(&m, k), -1);
            continue;
        }
        assert_int_equal(mini_where(&m, k), want);
    }
    mini_free(&m);
}

/* Talk spurts: a sender that suppresses silence. After 500 ms without
 * packets one sender keeps its timestamp counting (consistent), the other
 * restarts it one frame on with the marker bit (inconsistent with arrival):
 * both spurts must land at their arrival, the second one by re-anchoring. */
static void test_marker_talkspurt(void **state)
{
    (void)state;
    mini m;
    mini_open(&m, 4000000, 0);
    uint32_t ts = 777;
    uint16_t seq = 65530; /* wraps */
    uint32_t k = 0;
    uint64_t at = 300000;
    for (int spurt = 0; spurt < 3; spurt++) {
        for (int i = 0; i < 25; i++, k++) {
            assert_int_equal(mini_push(&m, at, seq++, ts, i == 0, k), CS_OK);
            at += 20000;
            ts += 160;
        }
        at += 500000;
        if (spurt == 0)
            ts += 4000; /* timestamp counted the silence */
    }
    mini_close(&m);
    const tl_stats *st = tl_get_stats(m.t);
    assert_int_equal(st->segments, 2); /* the third spurt re-anchored */
    assert_int_equal(st->lost, 0);
    assert_int_equal(st->conceal_calls, 0);
    for (uint32_t j = 0; j < k; j++) {
        long want = (long)(300000 + j * 20000 + (j / 25) * 500000) * 8 / 1000;
        assert_int_equal(mini_where(&m, j), want);
    }
    mini_free(&m);
}

/* A 1.5 s key press in the middle of a talk: telephone-event packets every
 * 20 ms with the press's start timestamp, no audio meanwhile; the audio after
 * it keeps the anchor (one segment) and lands sample-exact. */
static void test_dtmf_event(void **state)
{
    (void)state;
    mini m;
    mini_open(&m, 4000000, 0);
    uint16_t seq = 1;
    uint32_t ts0 = 90000;
    for (uint32_t k = 0; k < 150; k++) {
        uint64_t at = 250000 + (uint64_t)k * 20000;
        uint32_t ts = ts0 + k * 160;
        if (k >= 40 && k < 115) { /* event from frame 40 on */
            uint8_t ev[4] = {5, k == 114 ? 0x80 : 0, 0, 0};
            tl_packet p = {.arrival_us = T0_US + at,
                           .ssrc = 42,
                           .seq = seq++,
                           .ts = ts0 + 40 * 160,
                           .marker = k == 40,
                           .pt = 101,
                           .clock_rate = 8000,
                           .event = 1,
                           .payload = ev,
                           .payload_len = sizeof(ev)};
            assert_int_equal(tl_push(m.t, &p), CS_OK);
            continue;
        }
        assert_int_equal(mini_push(&m, at, seq++, ts, k == 115, k), CS_OK);
    }
    mini_close(&m);
    const tl_stats *st = tl_get_stats(m.t);
    assert_int_equal(st->segments, 1);
    assert_int_equal(st->lost, 0);
    assert_int_equal(st->conceal_calls, 0);
    for (uint32_t k = 0; k < 150; k++) {
        if (k >= 40 && k < 115)
            continue;
        assert_int_equal(mini_where(&m, k), (long)(250000 + k * 20000) * 8 / 1000);
    }
    /* the key press itself is silence */
    for (size_t i = (250000 + 40 * 20000) * 8 / 1000; i < (250000 + 115 * 20000) * 8 / 1000; i++)
        assert_int_equal(m.out[i], 0);
    mini_free(&m);
}

/* A reader that never reads: the ring stops at its ceiling, the frame that
 * does not fit is dropped and counted, and reading makes room again. */
static void test_ring_ceiling(void **state)
{
    (void)state;
    mini m;
    mini_open(&m, 10000000, 1800);
    int limited = 0;
    uint32_t k = 0;
    for (; k < 200 && !limited; k++) {
        int rc = mini_push(&m, 100000 + (uint64_t)k * 20000, (uint16_t)k, k * 160, 0, k);
        if (rc == CS_ERR_LIMIT)
            limited = 1;
        else
            assert_int_equal(rc, CS_OK);
    }
    assert_true(limited);
    assert_true(tl_get_stats(m.t)->limit_drops > 0);
    m.n += tl_read(m.t, m.out + m.n, m.total - m.n);
    assert_true(m.n > 0);
    for (uint32_t j = k; j < k + 100; j++) {
        assert_int_equal(mini_push(&m, 100000 + (uint64_t)j * 20000, (uint16_t)j, j * 160, 0, j),
                         CS_OK);
        m.n += tl_read(m.t, m.out + m.n, m.total - m.n);
    }
    mini_close(&m);
    assert_int_equal(mini_where(&m, k + 99), (long)(100000 + (k + 99) * 20000) * 8 / 1000);
    mini_free(&m);
}

/* Hostile input: random SSRCs (more than the cap), sequence numbers,
 * timestamps, markers, clocks, payload sizes, arrival times that jump back
 * and forth. Nothing crashes (ASan/UBSan build), the length stays exact. */
static int dec_any(void *ctx, const tl_stream_info *s, const tl_packet *p, uint64_t at,
                   int16_t *pcm, size_t cap)
{
    (void)ctx;
    (void)s;
    (void)at;
    if (p->payload_len == 0)
        return p->pt == 13 ? CS_ERR_CODEC : 0;
    size_t n = p->payload_len * 4 < cap ? p->payload_len * 4 : cap;
    for (size_t i = 0; i < n; i++)
        pcm[i] = (int16_t)(p->payload[i % p->payload_len] * 257 - 32768);
    return (int)n;
}

static int conceal_any(void *ctx, const tl_stream_info *s, const tl_packet *next, uint64_t at,
                       int16_t *pcm, size_t n)
{
    (void)ctx;
    (void)s;
    (void)next;
    (void)at;
    for (size_t i = 0; i < n; i++)
        pcm[i] = 32767;
    return (n & 1) ? -1 : 0;
}

static void test_hostile_input(void **state)
{
    (void)state;
    uint64_t rs = 99;
    static uint8_t pl[1600];
    for (size_t i = 0; i < sizeof(pl); i++)
        pl[i] = (uint8_t)rng_next(&rs);
    const int clocks[] = {8000, 16000, 48000, 1, 90000, 384000, 384001};
    for (int round = 0; round < 4; round++) {
        tl_config c = {.invite_us = T0_US,
                       .end_us = T0_US + 60000000,
                       .rate = round & 1 ? 16000 : 8000,
                       .hold_ms = round == 2 ? 20 : 0,
                       .late_ms = round == 3 ? 1 : 0};
        tl_ops ops = {.decode = dec_any, .conceal = conceal_any};
        tl_timeline *t = NULL;
        assert_int_equal(tl_new(&c, &ops, &t), CS_OK);
        size_t total = (size_t)tl_total_samples(t), n = 0;
        int16_t *out = malloc(total * sizeof(int16_t));
        assert_non_null(out);
        uint64_t at = T0_US - 5000000;
        uint16_t seq = 0;
        uint32_t ts = 0;
        for (int i = 0; i < 30000; i++) {
            uint64_t r = rng_next(&rs);
            switch (r % 8) {
            case 0:
                at -= rng_next(&rs) % 3000000;
                break;
            case 1:
                at += rng_next(&rs) % 5000000;
                break;
            default:
                at += rng_next(&rs) % 40000;
                break;
            }
            switch ((r >> 8) % 6) {
            case 0:
                seq = (uint16_t)rng_next(&rs);
                break;
            case 1:
                seq -= (uint16_t)(rng_next(&rs) % 5);
                break;
            default:
                seq++;
                break;
            }
            switch ((r >> 16) % 6) {
            case 0:
                ts = (uint32_t)rng_next(&rs);
                break;
            case 1:
                ts -= (uint32_t)(rng_next(&rs) % 100000);
                break;
            default:
                ts += 160;
                break;
            }
            tl_packet p = {.arrival_us = at,
                           .ssrc = (uint32_t)((r >> 24) % 40),
                           .seq = seq,
                           .ts = ts,
                           .marker = (int)((r >> 32) & 1),
                           .pt = (int)((r >> 33) % 128),
                           .clock_rate = clocks[(r >> 40) % 7],
                           .event = (r >> 44) % 10 == 0,
                           .payload = pl,
                           .payload_len = (size_t)((r >> 48) % 1601)};
            int rc = tl_push(t, &p);
            assert_true(rc == CS_OK || rc == CS_ERR_LIMIT);
            n += tl_read(t, out + n, total - n);
        }
        assert_int_equal(tl_finish(t), CS_OK);
        n += tl_read(t, out + n, total - n);
        assert_int_equal(n, total);
        const tl_stats *st = tl_get_stats(t);
        assert_int_equal(st->packets, 30000);
        assert_int_equal(st->streams, TL_MAX_STREAMS);
        assert_true(st->dropped > 0);
        assert_int_equal(tl_push(t, &(tl_packet){.clock_rate = 8000}), CS_ERR_STATE);
        free(out);
        tl_free(t);
    }
}

/* --------------------------------------------------------- callgen call */

typedef struct capture {
    tl_timeline *tl[2]; /* 0 customer, 1 agent */
    int16_t *out[2];
    size_t n[2];
    uint64_t total;
    uint64_t pkts[2];
} capture;

static void drain(capture *c, int ch)
{
    c->n[ch] += tl_read(c->tl[ch], c->out[ch] + c->n[ch], c->total - c->n[ch]);
}

static uint64_t json_u64_after(const char *text, const char *anchor, const char *key)
{
    const char *a = strstr(text, anchor);
    assert_non_null(a);
    const char *k = strstr(a, key);
    assert_non_null(k);
    return strtoull(k + strlen(key), NULL, 10);
}

static int16_t *read_wav(const char *path, size_t *n, int *rate)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    assert_non_null(f);
    assert_int_equal(info.channels, 1);
    int16_t *buf = malloc((size_t)info.frames * sizeof(int16_t) + 1);
    assert_non_null(buf);
    *n = (size_t)sf_read_short(f, buf, info.frames);
    *rate = info.samplerate;
    sf_close(f);
    return buf;
}

/* Best lag (samples) of out against ref over ref[from, to), |lag| <= maxlag. */
static int best_lag(const int16_t *out, size_t nout, const int16_t *ref, size_t from, size_t to,
                    int maxlag, double *corr)
{
    double best = -2;
    int bl = 0;
    double rr = 0;
    for (size_t i = from; i < to; i++)
        rr += (double)ref[i] * ref[i];
    for (int lag = -maxlag; lag <= maxlag; lag++) {
        double xy = 0, yy = 0;
        for (size_t i = from; i < to; i++) {
            int64_t j = (int64_t)i + lag;
            double y = (j >= 0 && (size_t)j < nout) ? out[j] : 0;
            xy += y * ref[i];
            yy += y * y;
        }
        double c = (rr > 0 && yy > 0) ? xy / sqrt(rr * yy) : 0;
        if (c > best) {
            best = c;
            bl = lag;
        }
    }
    *corr = best;
    return bl;
}

static void callgen_case(const char *scenario, const char *extra)
{
    const char *callgen = getenv("CALLGEN");
    if (!callgen || !*callgen) {
        print_message("[timeline] CALLGEN not set: skipping the callgen case\n");
        skip();
    }
    char dir[512], cmd[2048], path[1400];
    assert_int_equal(ts_mkdtemp(dir, sizeof(dir), "timeline"), 0);
    snprintf(cmd, sizeof(cmd),
             "'%s' --seed 5 --scenario %s --codec pcmu %s --no-phrases -q "
             "--ref-audio '%s/ref' -o '%s/call.pcap'",
             callgen, scenario, extra, dir, dir);
    int rc = system(cmd);
    if (rc != 0) {
        print_message("[timeline] callgen failed (%d; pocketsphinx-testdata missing?): "
                      "skipping\n",
                      rc);
        ts_rmrf(dir);
        skip();
    }
    snprintf(path, sizeof(path), "%s/call.truth.json", dir);
    size_t tlen = 0;
    char *truth = ts_read_file(path, &tlen);
    assert_non_null(truth);
    uint64_t invite = json_u64_after(truth, "\"calls\": [", "\"invite_us\": ");
    uint64_t end = json_u64_after(truth, "\"calls\": [", "\"end_us\": ");
    free(truth);

    capture c = {0};
    tl_config cfg = {.invite_us = invite, .end_us = end, .rate = 8000};
    cb_ctx cb[2] = {{.rate = 8000}, {.rate = 8000}};
    for (int ch = 0; ch < 2; ch++) {
        tl_ops ops = {.decode = cb_decode, .conceal = cb_conceal, .ctx = &cb[ch]};
        assert_int_equal(tl_new(&cfg, &ops, &c.tl[ch]), CS_OK);
        c.total = tl_total_samples(c.tl[ch]);
        c.out[ch] = malloc(c.total * sizeof(int16_t) + 1);
        assert_non_null(c.out[ch]);
    }

    snprintf(path, sizeof(path), "%s/call.pcap", dir);
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    assert_non_null(pc);
    assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
    struct pcap_pkthdr *h;
    const u_char *d;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        uint64_t at = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
        size_t len = h->caplen, off = 12;
        if (len < 14)
            continue;
        uint16_t et = (uint16_t)(d[off] << 8 | d[off + 1]);
        while ((et == 0x8100 || et == 0x88a8) && len >= off + 6) {
            off += 4;
            et = (uint16_t)(d[off] << 8 | d[off + 1]);
        }
        off += 2;
        if (et != 0x0800 || len < off + 20 || (d[off] >> 4) != 4)
            continue;
        size_t ihl = (size_t)(d[off] & 15) * 4;
        if (d[off + 9] != 17 || len < off + ihl + 8 || (d[off + 6] & 0x3f) || d[off + 7])
            continue; /* not UDP, or a fragment */
        const u_char *ip = d + off;
        int from_carrier = ip[12] == 203 && ip[13] == 0 && ip[14] == 113;
        int to_carrier = ip[16] == 203 && ip[17] == 0 && ip[18] == 113;
        int pbx_src = ip[12] == 198 && ip[13] == 51 && ip[14] == 100 && ip[15] == 10;
        int pbx_dst = ip[16] == 198 && ip[17] == 51 && ip[18] == 100 && ip[19] == 10;
        const u_char *udp = ip + ihl;
        uint16_t sport = (uint16_t)(udp[0] << 8 | udp[1]), dport = (uint16_t)(udp[2] << 8 | udp[3]);
        int ch = from_carrier && pbx_dst ? 0 : pbx_src && to_carrier ? 1 : -1;
        for (int o = 0; o < 2; o++)
            assert_int_equal(tl_advance(c.tl[o], at), CS_OK);
        if (ch < 0 || sport == 5060 || dport == 5060 || (sport & 1) || (dport & 1))
            continue;
        const u_char *r = udp + 8;
        size_t rl = len - off - ihl - 8;
        if (rl < 12 || (r[0] >> 6) != 2)
            continue;
        size_t hl = 12 + (size_t)(r[0] & 15) * 4;
        if (r[0] & 0x10) {
            if (rl < hl + 4)
                continue;
            hl += 4 + (size_t)(r[hl + 2] << 8 | r[hl + 3]) * 4;
        }
        if (rl < hl)
            continue;
        tl_packet p = {
            .arrival_us = at,
            .ssrc = (uint32_t)r[8] << 24 | (uint32_t)r[9] << 16 | (uint32_t)r[10] << 8 | r[11],
            .seq = (uint16_t)(r[2] << 8 | r[3]),
            .ts = (uint32_t)r[4] << 24 | (uint32_t)r[5] << 16 | (uint32_t)r[6] << 8 | r[7],
            .marker = r[1] >> 7,
            .pt = r[1] & 0x7f,
            .clock_rate = 8000,
            .event = (r[1] & 0x7f) == 101,
            .payload = r + hl,
            .payload_len = rl - hl};
        assert_int_equal(tl_push(c.tl[ch], &p), CS_OK);
        c.pkts[ch]++;
        drain(&c, 0);
        drain(&c, 1);
    }
    pcap_close(pc);
    for (int ch = 0; ch < 2; ch++) {
        assert_int_equal(tl_finish(c.tl[ch]), CS_OK);
        drain(&c, ch);
        assert_int_equal(c.n[ch], c.total);
    }

    /* reference tracks: DIR/ref/<Call-ID>.customer.wav / .agent.wav */
    char refdir[600];
    snprintf(refdir, sizeof(refdir), "%s/ref", dir);
    DIR *dd = opendir(refdir);
    assert_non_null(dd);
    char base[1200] = "";
    struct dirent *de;
    while ((de = readdir(dd)) != NULL) {
        const char *suf = strstr(de->d_name, ".customer.wav");
        if (suf && suf[strlen(".customer.wav")] == 0) {
            int w = snprintf(base, sizeof(base), "%s/%.*s", refdir, (int)(suf - de->d_name),
                             de->d_name);
            assert_true(w > 0 && (size_t)w < sizeof(base));
            break;
        }
    }
    closedir(dd);
    assert_true(base[0] != 0);
    const char *names[2] = {"customer", "agent"};
    for (int ch = 0; ch < 2; ch++) {
        snprintf(path, sizeof(path), "%s.%s.wav", base, names[ch]);
        size_t nref = 0;
        int rate = 0;
        int16_t *ref = read_wav(path, &nref, &rate);
        assert_int_equal(rate, 8000);
        /* first and last speech in the reference */
        size_t first = 0, last = 0;
        int any = 0;
        for (size_t i = 0; i < nref; i++) {
            if (abs(ref[i]) > 2000) {
                if (!any)
                    first = i;
                last = i;
                any = 1;
            }
        }
        assert_true(any);
        const size_t win = 4 * 8000, maxlag = 480; /* 4 s windows, ±60 ms */
        size_t s0 = first > 4000 ? first - 4000 : 0;
        size_t s1 = s0 + win < nref ? s0 + win : nref;
        size_t e1 = last + 4000 < nref ? last + 4000 : nref;
        size_t e0 = e1 > win ? e1 - win : 0;
        double cs = 0, ce = 0;
        int ls = best_lag(c.out[ch], c.n[ch], ref, s0, s1, (int)maxlag, &cs);
        int le = best_lag(c.out[ch], c.n[ch], ref, e0, e1, (int)maxlag, &ce);
        const tl_stats *st = tl_get_stats(c.tl[ch]);
        print_message("[timeline] callgen %s %s: %llu packets, %u streams, %llu lost, "
                      "%llu concealed frames, %llu reordered, %llu dups; length %zu samples "
                      "(call %.3f s, reference %zu); offset near start (%.1f s) %+.3f ms "
                      "corr %.3f, near end (%.1f s) %+.3f ms corr %.3f\n",
                      scenario, names[ch], (unsigned long long)c.pkts[ch], st->streams,
                      (unsigned long long)st->lost, (unsigned long long)st->conceal_calls,
                      (unsigned long long)st->reordered, (unsigned long long)st->duplicates,
                      c.n[ch], (double)(end - invite) / 1e6, nref, s0 / 8000.0, ls * 1000.0 / 8000,
                      cs, e0 / 8000.0, le * 1000.0 / 8000, ce);
        assert_true(abs(ls) <= 160);
        assert_true(abs(le) <= 160);
        assert_true(cs > 0.6);
        assert_true(ce > 0.6);
        free(ref);
    }
    for (int ch = 0; ch < 2; ch++) {
        tl_free(c.tl[ch]);
        free(c.out[ch]);
        free(cb[ch].conceal_at);
    }
    ts_rmrf(dir);
}

static void test_callgen_transfer(void **state)
{
    (void)state;
    callgen_case("transfer", "--loss 3 --jitter 30");
}

static void test_callgen_hold(void **state)
{
    (void)state;
    callgen_case("hold", "--loss 3 --jitter 30");
}

static void test_callgen_dtmf(void **state)
{
    (void)state;
    callgen_case("dtmf", "--loss 3 --jitter 30");
}

static void test_callgen_faults(void **state)
{
    (void)state;
    callgen_case("faults", "--loss 3 --jitter 30 --ssrc-change");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_and_rounding),
        cmocka_unit_test(test_mix_saturates),
        cmocka_unit_test(test_clip_to_call),
        cmocka_unit_test(test_stream_cap),
        cmocka_unit_test(test_same_ssrc_two_sources),
        cmocka_unit_test(test_plc_limit),
        cmocka_unit_test(test_seq_jump),
        cmocka_unit_test(test_marker_talkspurt),
        cmocka_unit_test(test_ring_ceiling),
        cmocka_unit_test(test_dtmf_event),
        cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_faults_drift_slow),
        cmocka_unit_test(test_faults_drift_fast),
        cmocka_unit_test(test_faults_wideband_48k_clock),
        cmocka_unit_test(test_faults_wideband_8k_clock),
        cmocka_unit_test(test_callgen_transfer),
        cmocka_unit_test(test_callgen_hold),
        cmocka_unit_test(test_callgen_dtmf),
        cmocka_unit_test(test_callgen_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
