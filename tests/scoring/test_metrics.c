/*
 * test_metrics.c — per-call metrics (scoring/metrics.c).
 *
 * Talk metrics: hand-worked calls (a plain call, a hold splitting a silence,
 * the dead-air threshold at len-1/len, overlapping segments on one channel,
 * segments outside the connected span, overtalk during a hold, nobody
 * speaking, an unanswered call, argument errors), then 3000 random calls
 * compared with an independent millisecond-by-millisecond reference, and a
 * large call (600 000 segments) to show the work stays O(n log n).
 * DTMF: card numbers in one run, menu digit then card, the 11/12-digit
 * boundary, the run gap at 3000/3001 ms, cut output, odd bytes, and random
 * properties (length, no run of >= min_run digits keeps more than 4 clear).
 * MOS: G.711 at 0 % loss ~4.4, G.729 below G.711, strictly falling with
 * loss for every codec (0, 1, 2, 5, 10, 20 %), jitter and delay lower it,
 * hand-computed values, errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "metrics.h"

#define assert_double_equal(a, b, eps) assert_near_((a), (b), (eps), __FILE__, __LINE__)
static void assert_near_(double a, double b, double eps, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        fprintf(stderr, "%s:%d: %.17g != %.17g (eps %g)\n", file, line, a, b, eps);
        fail();
    }
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* ---------- talk metrics: hand-worked ---------- */

#define N(a) (sizeof(a) / sizeof((a)[0]))

static sc_talk_metrics talk(const sc_span *c, size_t nc, const sc_span *a, size_t na, sc_span conn,
                            const sc_span *h, size_t nh, int64_t min)
{
    sc_talk_input in = {c, nc, a, na, conn, h, nh, min};
    sc_talk_metrics m;
    assert_int_equal(sc_talk_compute(&in, &m), CS_OK);
    return m;
}

static void test_talk_plain_call(void **state)
{
    (void)state;
    const sc_span cust[] = {{20000, 30000}, {1000, 5000}};
    const sc_span agent[] = {{29000, 40000}, {5500, 19000}};
    sc_talk_metrics m = talk(cust, N(cust), agent, N(agent), (sc_span){0, 60000}, NULL, 0,
                             SC_DEAD_AIR_MIN_MS_DEFAULT);
    assert_int_equal(m.customer_talk_ms, 14000);
    assert_int_equal(m.agent_talk_ms, 24500);
    assert_double_equal(m.agent_talk_ratio, 24500. / 38500., 1e-12);
    assert_int_equal(m.overtalk_ms, 1000);
    assert_int_equal(m.overtalk_count, 1);
    /* silences: 0-1000, 5000-5500, 19000-20000 are short; 40000-60000 counts */
    assert_int_equal(m.dead_air_ms, 20000);
    assert_int_equal(m.dead_air_count, 1);
    assert_int_equal(m.dead_air_longest_ms, 20000);
    /* threshold 0: every silent stretch */
    m = talk(cust, N(cust), agent, N(agent), (sc_span){0, 60000}, NULL, 0, 0);
    assert_int_equal(m.dead_air_count, 4);
    assert_int_equal(m.dead_air_ms, 1000 + 500 + 1000 + 20000);
}

static void test_talk_hold_splits_silence(void **state)
{
    (void)state;
    const sc_span agent[] = {{0, 1000}};
    const sc_span cust[] = {{26000, 30000}};
    const sc_span hold[] = {{4000, 20000}};
    sc_talk_metrics m =
        talk(cust, 1, agent, 1, (sc_span){0, 30000}, hold, 1, SC_DEAD_AIR_MIN_MS_DEFAULT);
    /* 1000-4000 (3 s) is short; 20000-26000 (6 s) counts */
    assert_int_equal(m.dead_air_ms, 6000);
    assert_int_equal(m.dead_air_count, 1);
    assert_int_equal(m.dead_air_longest_ms, 6000);
    m = talk(cust, 1, agent, 1, (sc_span){0, 30000}, hold, 1, 3000);
    assert_int_equal(m.dead_air_ms, 9000);
    assert_int_equal(m.dead_air_count, 2);
    assert_int_equal(m.dead_air_longest_ms, 6000);
    /* without the hold it is one 25 s stretch */
    m = talk(cust, 1, agent, 1, (sc_span){0, 30000}, NULL, 0, SC_DEAD_AIR_MIN_MS_DEFAULT);
    assert_int_equal(m.dead_air_ms, 25000);
    assert_int_equal(m.dead_air_count, 1);
}

static void test_talk_threshold_boundary(void **state)
{
    (void)state;
    const sc_span cust[] = {{0, 1000}, {6000, 7000}};       /* gap 5000 */
    const sc_span agent[] = {{7000, 8000}, {12999, 14000}}; /* gap 4999 */
    sc_talk_metrics m = talk(cust, N(cust), agent, N(agent), (sc_span){0, 14000}, NULL, 0, 5000);
    assert_int_equal(m.dead_air_count, 1);
    assert_int_equal(m.dead_air_ms, 5000);
    m = talk(cust, N(cust), agent, N(agent), (sc_span){0, 14000}, NULL, 0, 5001);
    assert_int_equal(m.dead_air_count, 0);
    assert_int_equal(m.dead_air_ms, 0);
    m = talk(cust, N(cust), agent, N(agent), (sc_span){0, 14000}, NULL, 0, 4999);
    assert_int_equal(m.dead_air_count, 2);
    assert_int_equal(m.dead_air_ms, 9999);
    /* customer 6000-7000 touches agent 7000-8000: no overtalk, no gap */
    assert_int_equal(m.overtalk_ms, 0);
    assert_int_equal(m.overtalk_count, 0);
}

static void test_talk_merge_and_clip(void **state)
{
    (void)state;
    /* one channel's overlapping and touching segments are one stretch of
     * talk, not overtalk; talk outside connected is clipped */
    const sc_span cust[] = {{-5000, 2000}, {1000, 3000}, {3000, 4000}, {3500, 3600}, {9000, 12000}};
    const sc_span agent[] = {{2500, 2600}, {2550, 2700}, {3900, 4100}};
    sc_talk_metrics m = talk(cust, N(cust), agent, N(agent), (sc_span){0, 10000}, NULL, 0, 5000);
    assert_int_equal(m.customer_talk_ms, 4000 + 1000);
    assert_int_equal(m.agent_talk_ms, 200 + 200);
    assert_int_equal(m.overtalk_ms, 200 + 100);
    assert_int_equal(m.overtalk_count, 2);
    assert_int_equal(m.dead_air_count, 0); /* 4100-9000 is 4900 */
    /* empty segments are ignored */
    const sc_span empty[] = {{5000, 5000}};
    m = talk(empty, 1, NULL, 0, (sc_span){0, 10000}, NULL, 0, 5000);
    assert_int_equal(m.customer_talk_ms, 0);
    assert_true(isnan(m.agent_talk_ratio));
    assert_int_equal(m.dead_air_ms, 10000);
}

static void test_talk_overtalk_on_hold(void **state)
{
    (void)state;
    const sc_span cust[] = {{1000, 9000}};
    const sc_span agent[] = {{2000, 8000}};
    const sc_span hold[] = {{4000, 6000}, {5000, 7000}}; /* overlapping holds */
    sc_talk_metrics m = talk(cust, 1, agent, 1, (sc_span){0, 10000}, hold, N(hold), 5000);
    assert_int_equal(m.overtalk_ms, 2000 + 1000);
    assert_int_equal(m.overtalk_count, 2);
    assert_int_equal(m.customer_talk_ms, 8000 - 3000);
    assert_int_equal(m.agent_talk_ms, 6000 - 3000);
    assert_double_equal(m.agent_talk_ratio, 3000. / 8000., 1e-12);
    /* hold covering the whole call: nothing active */
    const sc_span all[] = {{-1, 20000}};
    m = talk(cust, 1, agent, 1, (sc_span){0, 10000}, all, 1, 0);
    assert_int_equal(m.customer_talk_ms + m.agent_talk_ms + m.dead_air_ms + m.overtalk_ms, 0);
    assert_true(isnan(m.agent_talk_ratio));
}

static void test_talk_silent_and_unanswered(void **state)
{
    (void)state;
    sc_talk_metrics m = talk(NULL, 0, NULL, 0, (sc_span){100, 30100}, NULL, 0, 5000);
    assert_true(isnan(m.agent_talk_ratio));
    assert_int_equal(m.dead_air_ms, 30000);
    assert_int_equal(m.dead_air_longest_ms, 30000);
    assert_int_equal(m.dead_air_count, 1);
    const sc_span cust[] = {{0, 4000}};
    m = talk(cust, 1, NULL, 0, (sc_span){5000, 5000}, NULL, 0, 5000);
    assert_int_equal(m.customer_talk_ms, 0);
    assert_int_equal(m.dead_air_ms, 0);
    assert_int_equal(m.dead_air_count, 0);
    assert_true(isnan(m.agent_talk_ratio));
    /* only the agent spoke: ratio 1 */
    m = talk(NULL, 0, cust, 1, (sc_span){0, 4000}, NULL, 0, 5000);
    assert_double_equal(m.agent_talk_ratio, 1., 0.);
}

static void test_talk_errors(void **state)
{
    (void)state;
    sc_talk_metrics m;
    const sc_span ok[] = {{0, 10}};
    const sc_span bad[] = {{10, 9}};
    const sc_span huge[] = {{0, SC_TIME_MAX_MS + 1}};
    sc_talk_input in = {ok, 1, ok, 1, {0, 100}, NULL, 0, 5000};
    assert_int_equal(sc_talk_compute(&in, &m), CS_OK);
    assert_int_equal(sc_talk_compute(NULL, &m), CS_ERR_INVAL);
    assert_int_equal(sc_talk_compute(&in, NULL), CS_ERR_INVAL);
    in.customer = bad;
    assert_int_equal(sc_talk_compute(&in, &m), CS_ERR_INVAL);
    assert_true(isnan(m.agent_talk_ratio));
    assert_int_equal(m.agent_talk_ms, 0);
    in.customer = huge;
    assert_int_equal(sc_talk_compute(&in, &m), CS_ERR_INVAL);
    in.customer = NULL;
    assert_int_equal(sc_talk_compute(&in, &m), CS_ERR_INVAL);
    in.n_customer = 0;
    assert_int_equal(sc_talk_compute(&in, &m), CS_OK);
    in.holds = NULL;
    in.n_holds = 2;
    assert_int_equal(sc_talk_compute(&in, &m), CS_ERR_INVAL);
    in.n_holds = 0;
    in.connected = (sc_span){100, 0};
    assert_int_equal(sc_talk_compute(&in, &m), CS_ERR_INVAL);
    in.connected = (sc_span){0, 100};
    in.dead_air_min_ms = -1;
    assert_int_equal(sc_talk_compute(&in, &m), CS_ERR_INVAL);
    in.dead_air_min_ms = 0;
    in.n_agent = SIZE_MAX / 2;
    assert_int_equal(sc_talk_compute(&in, &m), CS_ERR_OVERFLOW);
}

/* ---------- talk metrics: reference ---------- */

/* Random times lie in [-REF_OFF, REF_T - REF_OFF); the reference paints ms t at
 * index t + REF_OFF. */
#define REF_T   4500
#define REF_OFF 200

static void paint(unsigned char *v, const sc_span *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (int64_t t = s[i].start_ms; t < s[i].end_ms; t++) {
            assert_true(t + REF_OFF >= 0 && t + REF_OFF < REF_T);
            v[t + REF_OFF] = 1;
        }
}

static void reference(const sc_talk_input *in, sc_talk_metrics *m)
{
    static unsigned char c[REF_T], a[REF_T], h[REF_T], k[REF_T];
    memset(c, 0, sizeof c);
    memset(a, 0, sizeof a);
    memset(h, 0, sizeof h);
    memset(k, 0, sizeof k);
    paint(c, in->customer, in->n_customer);
    paint(a, in->agent, in->n_agent);
    paint(h, in->holds, in->n_holds);
    paint(k, &in->connected, 1);
    memset(m, 0, sizeof *m);
    int64_t over_run = 0, sil_run = 0;
    for (int t = 0; t <= REF_T; t++) {
        int act = t < REF_T && k[t] && !h[t];
        int ov = act && c[t] && a[t];
        int si = act && !c[t] && !a[t];
        if (act && c[t])
            m->customer_talk_ms++;
        if (act && a[t])
            m->agent_talk_ms++;
        if (ov) {
            over_run++;
        } else if (over_run) {
            m->overtalk_ms += over_run;
            m->overtalk_count++;
            over_run = 0;
        }
        if (si) {
            sil_run++;
        } else if (sil_run) {
            if (sil_run >= in->dead_air_min_ms) {
                m->dead_air_ms += sil_run;
                m->dead_air_count++;
                if (sil_run > m->dead_air_longest_ms)
                    m->dead_air_longest_ms = sil_run;
            }
            sil_run = 0;
        }
    }
    int64_t both = m->customer_talk_ms + m->agent_talk_ms;
    m->agent_talk_ratio = both ? (double)m->agent_talk_ms / (double)both : NAN;
}

static void rand_spans(uint64_t *s, sc_span *v, size_t n, int64_t maxlen)
{
    for (size_t i = 0; i < n; i++) {
        int64_t st = (int64_t)(rng(s) % 3200) - 100;
        int64_t len = (int64_t)(rng(s) % (uint64_t)(maxlen + 1));
        v[i] = (sc_span){st, st + len};
    }
}

static void test_talk_vs_reference(void **state)
{
    (void)state;
    uint64_t s = 12345;
    sc_span c[40], a[40], h[6];
    for (int it = 0; it < 3000; it++) {
        size_t nc = rng(&s) % 40, na = rng(&s) % 40, nh = rng(&s) % 6;
        rand_spans(&s, c, nc, 150 + (int64_t)(it % 7) * 40);
        rand_spans(&s, a, na, 150 + (int64_t)(it % 5) * 60);
        rand_spans(&s, h, nh, 400);
        int64_t cs = (int64_t)(rng(&s) % 800) - 50;
        sc_span conn = {cs, cs + (int64_t)(rng(&s) % 2600)};
        sc_talk_input in = {c, nc, a, na, conn, h, nh, (int64_t)(rng(&s) % 300)};
        sc_talk_metrics got, want;
        assert_int_equal(sc_talk_compute(&in, &got), CS_OK);
        reference(&in, &want);
        assert_int_equal(got.customer_talk_ms, want.customer_talk_ms);
        assert_int_equal(got.agent_talk_ms, want.agent_talk_ms);
        assert_int_equal(got.overtalk_ms, want.overtalk_ms);
        assert_int_equal(got.overtalk_count, want.overtalk_count);
        assert_int_equal(got.dead_air_ms, want.dead_air_ms);
        assert_int_equal(got.dead_air_count, want.dead_air_count);
        assert_int_equal(got.dead_air_longest_ms, want.dead_air_longest_ms);
        if (isnan(want.agent_talk_ratio))
            assert_true(isnan(got.agent_talk_ratio));
        else
            assert_double_equal(got.agent_talk_ratio, want.agent_talk_ratio, 1e-12);
        /* the partition of ACTIVE: talk union + silence = active */
        assert_true(got.customer_talk_ms + got.agent_talk_ms - got.overtalk_ms + got.dead_air_ms <=
                    conn.end_ms - conn.start_ms);
    }
}

/* 600 000 segments (reversed order, worst for a naive sort): alternating
 * 1 s turns with a 6 s silence every 100 turns, half an hour of holds. */
static void test_talk_large(void **state)
{
    (void)state;
    const size_t n = 300000;
    sc_span *c = malloc(n * sizeof *c), *a = malloc(n * sizeof *a);
    assert_non_null(c);
    assert_non_null(a);
    int64_t t = 0;
    size_t silences = 0;
    for (size_t i = 0; i < n; i++) {
        c[n - 1 - i] = (sc_span){t, t + 1000};
        a[n - 1 - i] = (sc_span){t + 1000, t + 2000};
        t += 2000;
        if (i % 100 == 99 && i + 1 < n) {
            t += 6000;
            silences++;
        }
    }
    sc_talk_input in = {c, n, a, n, {0, t}, NULL, 0, 5000};
    sc_talk_metrics m;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(sc_talk_compute(&in, &m), CS_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    printf("600000 segments: %.3f s\n", sec);
    assert_int_equal(m.customer_talk_ms, (int64_t)n * 1000);
    assert_int_equal(m.agent_talk_ms, (int64_t)n * 1000);
    assert_int_equal(m.overtalk_count, 0);
    assert_int_equal(m.dead_air_count, (int)silences);
    assert_int_equal(m.dead_air_ms, (int64_t)silences * 6000);
    assert_true(sec < 5.); /* a quadratic sweep would take minutes */
    free(c);
    free(a);
}

/* ---------- DTMF ---------- */

static size_t keys(sc_dtmf *ev, const char *digits, int64_t t0, int64_t step)
{
    size_t n = strlen(digits);
    for (size_t i = 0; i < n; i++)
        ev[i] = (sc_dtmf){digits[i], t0 + (int64_t)i * step};
    return n;
}

static const char *mask(const sc_dtmf *ev, size_t n)
{
    static char out[256];
    size_t len =
        sc_dtmf_mask(ev, n, SC_DTMF_MIN_RUN_DEFAULT, SC_DTMF_RUN_GAP_MS_DEFAULT, out, sizeof out);
    assert_int_equal(len, n);
    assert_int_equal(strlen(out), n);
    return out;
}

static void test_dtmf_card(void **state)
{
    (void)state;
    sc_dtmf ev[64];
    size_t n = keys(ev, "4111111111111111#", 0, 400);
    assert_string_equal(mask(ev, n), "************1111#");
    /* menu digit, pause, then the card (as callgen's dtmf scenario keys it) */
    n = keys(ev, "2", 1000, 400);
    n += keys(ev + n, "4539578763621486#", 9000, 350);
    assert_string_equal(mask(ev, n), "2************1486#");
    /* 11 digits stay clear, 12 do not */
    n = keys(ev, "12345678901", 0, 500);
    assert_string_equal(mask(ev, n), "12345678901");
    n = keys(ev, "123456789012", 0, 500);
    assert_string_equal(mask(ev, n), "********9012");
    /* separators inside the run are kept and do not count as digits */
    n = keys(ev, "4111*1111*1111*1111", 0, 300);
    assert_string_equal(mask(ev, n), "***************1111");
    n = keys(ev, "1234#5678#901", 0, 300); /* 11 digits */
    assert_string_equal(mask(ev, n), "1234#5678#901");
    /* empty */
    char out[4] = "xyz";
    assert_int_equal(sc_dtmf_mask(NULL, 0, 12, 3000, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(sc_dtmf_mask(NULL, 5, 12, 3000, out, sizeof out), 0);
}

static void test_dtmf_gap(void **state)
{
    (void)state;
    sc_dtmf ev[32];
    /* 8 + 8 digits: 3000 ms apart is one run, 3001 ms is two */
    size_t n = keys(ev, "12345678", 0, 200);
    n += keys(ev + n, "87654321", 1400 + 3000, 200);
    assert_string_equal(mask(ev, n), "************4321");
    n = keys(ev, "12345678", 0, 200);
    n += keys(ev + n, "87654321", 1400 + 3001, 200);
    assert_string_equal(mask(ev, n), "1234567887654321");
    /* slightly out of order stays in the run */
    n = keys(ev, "123456789012", 10000, 300);
    ev[5].start_ms = ev[4].start_ms - 50;
    assert_string_equal(mask(ev, n), "********9012");
    /* parameters */
    char out[32];
    n = keys(ev, "1234567", 0, 100);
    assert_int_equal(sc_dtmf_mask(ev, n, 6, 3000, out, sizeof out), 7);
    assert_string_equal(out, "***4567");
    assert_int_equal(sc_dtmf_mask(ev, n, 0, 3000, out, sizeof out), 7);
    assert_string_equal(out, "***4567");
    assert_int_equal(sc_dtmf_mask(ev, n, 3, -1, out, sizeof out), 7); /* every key alone */
    assert_string_equal(out, "1234567");
    assert_int_equal(sc_dtmf_mask(ev, n, 8, 3000, out, sizeof out), 7);
    assert_string_equal(out, "1234567");
    /* extreme times: no overflow in the gap */
    ev[0] = (sc_dtmf){'1', INT64_MIN};
    ev[1] = (sc_dtmf){'2', INT64_MAX};
    assert_int_equal(sc_dtmf_mask(ev, 2, 1, INT64_MAX, out, sizeof out), 2);
    assert_string_equal(out, "12");
}

static void test_dtmf_cut_and_bytes(void **state)
{
    (void)state;
    sc_dtmf ev[32];
    size_t n = keys(ev, "4111111111111111#", 0, 400);
    char full[64], cut[8];
    assert_int_equal(sc_dtmf_mask(ev, n, 12, 3000, full, sizeof full), 17);
    for (size_t cap = 0; cap < sizeof cut; cap++) {
        memset(cut, 'x', sizeof cut);
        assert_int_equal(sc_dtmf_mask(ev, n, 12, 3000, cap ? cut : NULL, cap), 17);
        if (cap) {
            assert_int_equal(strlen(cut), cap - 1);
            assert_memory_equal(cut, full, cap - 1);
            assert_null(strpbrk(cut, "0123456789")); /* the start of a card is never clear */
        }
    }
    n = keys(ev, "ab\x01 Cd*#", 0, 100);
    assert_string_equal(mask(ev, n), "AB??CD*#");
}

static void test_dtmf_properties(void **state)
{
    (void)state;
    uint64_t s = 777;
    static const char alphabet[] = "0123456789012345678901234567890123456789*#AB";
    sc_dtmf ev[200];
    char out[256];
    for (int it = 0; it < 20000; it++) {
        size_t n = rng(&s) % 200;
        int64_t t = 0;
        for (size_t i = 0; i < n; i++) {
            ev[i].digit = alphabet[rng(&s) % (sizeof alphabet - 1)];
            t += (rng(&s) % 10 == 0) ? 2500 + (int64_t)(rng(&s) % 1000) : 300;
            ev[i].start_ms = t;
        }
        int min_run = 1 + (int)(rng(&s) % 16);
        assert_int_equal(sc_dtmf_mask(ev, n, min_run, 3000, out, sizeof out), n);
        /* masking the stored result again (masked keys come back as '*')
         * changes nothing */
        if (min_run > SC_DTMF_CLEAR_TAIL) {
            sc_dtmf again[200];
            char out2[256];
            for (size_t i = 0; i < n; i++)
                again[i] = (sc_dtmf){out[i], ev[i].start_ms};
            assert_int_equal(sc_dtmf_mask(again, n, min_run, 3000, out2, sizeof out2), n);
            assert_string_equal(out2, out);
        }
        /* per run: same keys except digits -> '*'; clear digits <= 4 when masked */
        size_t i = 0;
        while (i < n) {
            size_t j = i + 1, digits = ev[i].digit >= '0' && ev[i].digit <= '9';
            while (j < n && ev[j].start_ms - ev[j - 1].start_ms <= 3000) {
                digits += ev[j].digit >= '0' && ev[j].digit <= '9';
                j++;
            }
            size_t clear = 0;
            for (size_t k = i; k < j; k++) {
                int dig = ev[k].digit >= '0' && ev[k].digit <= '9';
                if (dig) {
                    assert_true(out[k] == ev[k].digit || out[k] == '*');
                    clear += out[k] != '*';
                } else {
                    assert_int_equal(out[k], ev[k].digit);
                }
            }
            if (digits >= (size_t)min_run) {
                assert_int_equal(clear, digits < 4 ? digits : 4);
                /* the clear ones are the last ones */
                size_t seen = 0;
                for (size_t k = j; k-- > i;) {
                    if (ev[k].digit < '0' || ev[k].digit > '9')
                        continue;
                    if (seen++ < 4)
                        assert_int_equal(out[k], ev[k].digit);
                    else
                        assert_int_equal(out[k], '*');
                }
            } else {
                assert_int_equal(clear, digits);
            }
            i = j;
        }
    }
}

/* ---------- MOS ---------- */

static void test_mos_values(void **state)
{
    (void)state;
    double g711 = sc_mos_estimate("PCMU", 0., 0.);
    double g729 = sc_mos_estimate("G729", 0., 0.);
    printf("MOS at 0 %% loss, 0 jitter: G.711 %.3f  G.729 %.3f  G.722 %.3f  Opus %.3f\n", g711,
           g729, sc_mos_estimate("G722", 0., 0.), sc_mos_estimate("opus", 0., 0.));
    assert_double_equal(g711, 4.4, 0.05);
    assert_true(g729 < g711 - 0.2);
    /* hand-computed: d = 20 ms, Id = 0.48, R = 92.72 / 81.72 */
    double r = 92.72;
    assert_double_equal(g711, 1. + 0.035 * r + 7e-6 * r * (r - 60.) * (100. - r), 1e-9);
    r = 81.72;
    assert_double_equal(g729, 1. + 0.035 * r + 7e-6 * r * (r - 60.) * (100. - r), 1e-9);
    /* G.729 at 2 % loss, jitter 10 ms: d = 40, Id = 0.96,
     * Ie_eff = 11 + 84 * 2 / 21 = 19, R = 73.24 */
    r = 93.2 - 0.96 - 19.;
    assert_double_equal(sc_mos_estimate("g.729a", 2., 10.),
                        1. + 0.035 * r + 7e-6 * r * (r - 60.) * (100. - r), 1e-9);
    /* delay beyond 177.3 ms adds 0.11 per ms */
    assert_double_equal(sc_emodel_r(0., 25.1, 0., 1., 200.), 93.2 - 4.8 - 0.11 * 22.7, 1e-9);
    assert_double_equal(sc_emodel_r(11., 19., 0., 1., 0.), 82.2, 1e-12);
    /* G.711 without PLC suffers more than with it */
    assert_true(sc_emodel_r(0., 4.3, 5., 1., 20.) < sc_emodel_r(0., 25.1, 5., 1., 20.) - 20.);
    assert_double_equal(sc_mos_estimate("PCMA", 0., 0.), g711, 0.);
    assert_double_equal(sc_mos_estimate("pcmu", 0., 0.), g711, 0.);
}

static void test_mos_monotonic(void **state)
{
    (void)state;
    static const char *const codecs[] = {"PCMU", "PCMA", "G729", "G722", "opus"};
    static const double loss[] = {0., 1., 2., 5., 10., 20.};
    static const double jitter[] = {0., 20., 60.};
    for (size_t c = 0; c < N(codecs); c++) {
        for (size_t j = 0; j < N(jitter); j++) {
            printf("%-5s jitter %2.0f ms:", codecs[c], jitter[j]);
            double prev = INFINITY;
            for (size_t l = 0; l < N(loss); l++) {
                double m = sc_mos_estimate(codecs[c], loss[l], jitter[j]);
                printf(" %.2f", m);
                assert_true(m >= 1. && m <= 4.5);
                assert_true(m < prev);
                prev = m;
            }
            printf("\n");
        }
        /* jitter alone lowers it too */
        assert_true(sc_mos_estimate(codecs[c], 1., 100.) < sc_mos_estimate(codecs[c], 1., 10.));
        assert_true(sc_mos_estimate_delay(codecs[c], 1., 10., 150.) <
                    sc_mos_estimate(codecs[c], 1., 10.));
        /* the end of the scale */
        assert_true(sc_mos_estimate(codecs[c], 100., 0.) >= 1.);
        assert_double_equal(sc_mos_estimate(codecs[c], 1000., 0.),
                            sc_mos_estimate(codecs[c], 100., 0.), 0.);
        assert_double_equal(sc_mos_estimate(codecs[c], 0., 1e6), 1., 0.);
    }
}

static void test_mos_errors(void **state)
{
    (void)state;
    assert_true(isnan(sc_mos_estimate(NULL, 0., 0.)));
    assert_true(isnan(sc_mos_estimate("telephone-event", 0., 0.)));
    assert_true(isnan(sc_mos_estimate("GSM", 0., 0.)));
    assert_true(isnan(sc_mos_estimate("PCMU", -0.1, 0.)));
    assert_true(isnan(sc_mos_estimate("PCMU", 0., -1.)));
    assert_true(isnan(sc_mos_estimate("PCMU", NAN, 0.)));
    assert_true(isnan(sc_mos_estimate("PCMU", 0., INFINITY)));
    assert_true(isnan(sc_mos_estimate_delay("PCMU", 0., 0., -1.)));
    assert_true(isnan(sc_emodel_r(0., 25.1, 1., 0., 0.)));
    assert_true(isnan(sc_mos_from_r(NAN)));
    assert_double_equal(sc_mos_from_r(-5.), 1., 0.);
    assert_double_equal(sc_mos_from_r(3.), 1., 0.); /* the polynomial dips below 1 there */
    assert_double_equal(sc_mos_from_r(120.), 4.5, 0.);
    double ie = -1., bpl = -1.;
    assert_int_equal(sc_mos_codec("G.722", &ie, &bpl), CS_OK);
    assert_double_equal(ie, 0., 0.);
    assert_double_equal(bpl, 25.1, 0.);
    assert_int_equal(sc_mos_codec("G729AB", &ie, &bpl), CS_OK);
    assert_double_equal(ie, 11., 0.);
    assert_double_equal(bpl, 19., 0.);
    assert_int_equal(sc_mos_codec("G72", &ie, &bpl), CS_ERR_NOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_talk_plain_call),
        cmocka_unit_test(test_talk_hold_splits_silence),
        cmocka_unit_test(test_talk_threshold_boundary),
        cmocka_unit_test(test_talk_merge_and_clip),
        cmocka_unit_test(test_talk_overtalk_on_hold),
        cmocka_unit_test(test_talk_silent_and_unanswered),
        cmocka_unit_test(test_talk_errors),
        cmocka_unit_test(test_talk_vs_reference),
        cmocka_unit_test(test_talk_large),
        cmocka_unit_test(test_dtmf_card),
        cmocka_unit_test(test_dtmf_gap),
        cmocka_unit_test(test_dtmf_cut_and_bytes),
        cmocka_unit_test(test_dtmf_properties),
        cmocka_unit_test(test_mos_values),
        cmocka_unit_test(test_mos_monotonic),
        cmocka_unit_test(test_mos_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
