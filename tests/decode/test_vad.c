/*
 * test_vad.c — voice-activity detection (decode/vad.c).
 *
 * Unit behaviour on synthetic signals (parameter ranges, digital silence,
 * block-size independence, bursts in noise, hangover, short clicks, clipping,
 * callback stop, list ceiling), then accuracy against truth: callgen writes a
 * few calls with every codec (fixed seed, temp dir) with their reference
 * audio; the detector runs over each channel and is compared with the truth
 * utterances — frame-level precision/recall, onset error, no segment in
 * digital silence, no segment inside dead air >= 5 s — clean, with added
 * comfort-level noise, clipped, and after a real G.729 and Opus round trip.
 * The measured numbers are printed; the floors asserted are a little under
 * them (docs/vad.md). VAD_DEBUG=<variant number> prints every call's
 * segments for that variant.
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
#include <sndfile.h>
#include <time.h>
#include <unistd.h>

#include "cg_codec.h"
#include "error.h"
#include "testsupport.h"
#include "vad.h"

/* ---------- helpers ---------- */

static uint32_t lcg_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s;
}

/* Uniform white noise of the given RMS in dBFS, added with saturation. */
static void add_noise(int16_t *x, size_t n, double dbfs, uint32_t seed)
{
    double rms = 32768. * pow(10., dbfs / 20.);
    double amp = rms * sqrt(3.);
    for (size_t i = 0; i < n; i++) {
        double u = (double)lcg_next(&seed) / 4294967295. * 2. - 1.;
        double y = x[i] + u * amp;
        if (y > 32767.)
            y = 32767.;
        if (y < -32768.)
            y = -32768.;
        x[i] = (int16_t)lrint(y);
    }
}

/* A speech-like burst: 300 Hz + 900 Hz, amplitude modulated at a syllable
 * rate (2.5 Hz, 9 dB deep) so it is not stationary; dbfs is the RMS at the
 * envelope's peak. Added with saturation (a high level clips). */
static void add_burst(int16_t *x, size_t n, int rate, int64_t from_ms, int64_t to_ms, double dbfs)
{
    size_t a = (size_t)(from_ms * rate / 1000), b = (size_t)(to_ms * rate / 1000);
    double amp = 32768. * pow(10., dbfs / 20.) * sqrt(2.) / 1.2;
    for (size_t i = a; i < b && i < n; i++) {
        double t = (double)i / rate, tb = (double)(i - a) / rate;
        double m = sin(3.14159265 * 2.5 * tb);
        double env = 0.35 + 0.65 * m * m;
        double y = x[i] + env * amp *
                              (sin(2 * 3.14159265 * 300 * t) + 0.6 * sin(2 * 3.14159265 * 900 * t));
        if (y > 32767.)
            y = 32767.;
        if (y < -32768.)
            y = -32768.;
        x[i] = (int16_t)lrint(y);
    }
}

static void run_blocks(const vad_params *p, int rate, const int16_t *x, size_t n, size_t block,
                       vad_seglist *out)
{
    vad *v = NULL;
    assert_int_equal(vad_new(p, rate, 1, vad_seglist_add, out, &v), CS_OK);
    for (size_t i = 0; i < n; i += block) {
        size_t k = n - i < block ? n - i : block;
        assert_int_equal(vad_feed(v, x + i, k), CS_OK);
    }
    assert_int_equal(vad_finish(v), CS_OK);
    vad_free(v);
}

/* ---------- unit tests ---------- */

static void test_params(void **state)
{
    (void)state;
    vad_params p;
    vad_params_default(&p);
    assert_int_equal(vad_params_check(&p), CS_OK);
    assert_int_equal(p.frame_ms, 10);
    assert_int_equal(p.hangover_ms, 250);
    assert_int_equal(vad_params_check(NULL), CS_ERR_INVAL);

    struct {
        int64_t *f;
        int64_t lo, hi;
    } ints[] = {
        {&p.frame_ms, 10, 30},     {&p.floor_window_ms, 400, 20000}, {&p.onset_ms, 0, 500},
        {&p.hangover_ms, 0, 2000}, {&p.min_segment_ms, 0, 5000},     {&p.merge_gap_ms, 0, 5000},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t keep = *ints[i].f;
        *ints[i].f = ints[i].lo;
        assert_int_equal(vad_params_check(&p), CS_OK);
        *ints[i].f = ints[i].lo - 1;
        assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
        *ints[i].f = ints[i].hi;
        assert_int_equal(vad_params_check(&p), CS_OK);
        *ints[i].f = ints[i].hi + 1;
        assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
        *ints[i].f = keep;
    }
    double keep = p.margin_db;
    p.margin_db = NAN;
    assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
    p.margin_db = 2.9;
    assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
    p.margin_db = keep;
    p.min_dbfs = -9.;
    assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
    p.min_dbfs = -55.;
    p.floor_rise_db_s = INFINITY;
    assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
    p.floor_rise_db_s = 6.;
    p.stationary_ms = 0; /* off */
    assert_int_equal(vad_params_check(&p), CS_OK);
    p.stationary_ms = 99;
    assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
    p.stationary_ms = 2001;
    assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
    p.stationary_ms = 2000;
    assert_int_equal(vad_params_check(&p), CS_OK);
    p.stationary_ms = 700;
    p.stationary_db = 0.9;
    assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
    p.stationary_db = 20.1;
    assert_int_equal(vad_params_check(&p), CS_ERR_INVAL);
    p.stationary_db = 6.;
    assert_int_equal(vad_params_check(&p), CS_OK);

    vad *v = (vad *)1;
    assert_int_equal(vad_new(&p, 8000, 1, vad_seglist_add, NULL, &v), CS_OK);
    vad_free(v);
    assert_int_equal(vad_new(&p, 7999, 1, vad_seglist_add, NULL, &v), CS_ERR_INVAL);
    assert_null(v);
    assert_int_equal(vad_new(&p, 48001, 1, vad_seglist_add, NULL, &v), CS_ERR_INVAL);
    assert_int_equal(vad_new(&p, 11025, 1, vad_seglist_add, NULL, &v), CS_ERR_INVAL);
    assert_int_equal(vad_new(&p, 16000, 1, NULL, NULL, &v), CS_ERR_INVAL);
    assert_int_equal(vad_new(&p, 16000, 1, vad_seglist_add, NULL, NULL), CS_ERR_INVAL);
}

static void test_digital_silence(void **state)
{
    (void)state;
    vad_params p;
    vad_params_default(&p);
    static const int rates[] = {8000, 16000};
    static const size_t blocks[] = {1, 7, 160, 1u << 30};
    for (size_t r = 0; r < 2; r++) {
        size_t n = (size_t)rates[r] * 60;
        int16_t *x = calloc(n, sizeof *x);
        assert_non_null(x);
        for (size_t b = 0; b < 4; b++) {
            vad_seglist l = {0};
            vad *v = NULL;
            assert_int_equal(vad_new(&p, rates[r], 2, vad_seglist_add, &l, &v), CS_OK);
            for (size_t i = 0; i < n; i += blocks[b]) {
                size_t k = n - i < blocks[b] ? n - i : blocks[b];
                assert_int_equal(vad_feed(v, x + i, k), CS_OK);
            }
            assert_int_equal(vad_feed(v, NULL, 0), CS_OK);
            assert_int_equal(vad_finish(v), CS_OK);
            vad_stats st;
            vad_get_stats(v, &st);
            assert_int_equal(st.samples, n);
            assert_int_equal(st.frames, 6000);
            assert_int_equal(st.active_frames, 0);
            assert_true(st.floor_dbfs <= -119.);
            assert_int_equal(l.len, 0);
            assert_int_equal(vad_feed(v, x, 1), CS_ERR_STATE);
            assert_int_equal(vad_finish(v), CS_ERR_STATE);
            vad_free(v);
            vad_seglist_free(&l);
        }
        free(x);
    }
}

/* Bursts at known places in steady noise, at both rates, any block size. */
static void test_bursts_in_noise(void **state)
{
    (void)state;
    vad_params p;
    vad_params_default(&p);
    static const int rates[] = {8000, 16000};
    static const double noise[] = {-120., -65., -50.};
    for (size_t r = 0; r < 2; r++) {
        for (size_t q = 0; q < 3; q++) {
            int rate = rates[r];
            size_t n = (size_t)rate * 20;
            int16_t *x = calloc(n, sizeof *x);
            assert_non_null(x);
            if (noise[q] > -100.)
                add_noise(x, n, noise[q], 7);
            add_burst(x, n, rate, 3000, 4500, -25.);   /* A */
            add_burst(x, n, rate, 4650, 5500, -25.);   /* 150 ms pause: bridged */
            add_burst(x, n, rate, 8000, 8030, -20.);   /* 30 ms click: dropped */
            add_burst(x, n, rate, 11000, 12000, -30.); /* B */
            add_burst(x, n, rate, 12400, 13000, -30.); /* 400 ms pause: split */
            add_burst(x, n, rate, 19800, 20000, -30.); /* runs into the end */

            vad_seglist ref = {0};
            run_blocks(&p, rate, x, n, n, &ref);
            printf("# bursts rate %d noise %.0f dBFS:", rate, noise[q]);
            for (size_t i = 0; i < ref.len; i++)
                printf(" [%lld,%lld)", (long long)ref.v[i].start_ms, (long long)ref.v[i].end_ms);
            printf("\n");
            assert_int_equal(ref.len, 4);
            static const int64_t want[4][2] = {
                {3000, 5500}, {11000, 12000}, {12400, 13000}, {19800, 20000}};
            for (size_t i = 0; i < 4; i++) {
                assert_int_equal(ref.v[i].channel, 1);
                assert_true(llabs(ref.v[i].start_ms - want[i][0]) <= 20);
                assert_true(llabs(ref.v[i].end_ms - want[i][1]) <= 20);
            }
            static const size_t blocks[] = {1, 13, 80, 4097};
            for (size_t b = 0; b < 4; b++) {
                vad_seglist l = {0};
                run_blocks(&p, rate, x, n, blocks[b], &l);
                assert_int_equal(l.len, ref.len);
                for (size_t i = 0; i < l.len; i++) {
                    assert_int_equal(l.v[i].channel, ref.v[i].channel);
                    assert_int_equal(l.v[i].start_ms, ref.v[i].start_ms);
                    assert_int_equal(l.v[i].end_ms, ref.v[i].end_ms);
                }
                vad_seglist_free(&l);
            }
            vad_seglist_free(&ref);
            free(x);
        }
    }
}

/* Merge gap: two segments 350 ms apart merge with merge_gap 400, not with 300. */
static void test_merge_and_min_segment(void **state)
{
    (void)state;
    int rate = 8000;
    size_t n = (size_t)rate * 6;
    int16_t *x = calloc(n, sizeof *x);
    assert_non_null(x);
    add_burst(x, n, rate, 1000, 2000, -30.);
    add_burst(x, n, rate, 2350, 3000, -30.);
    add_burst(x, n, rate, 4500, 4580, -30.); /* 80 ms */
    vad_params p;
    vad_params_default(&p);
    p.hangover_ms = 100;
    vad_seglist l = {0};
    assert_int_equal(vad_run(&p, rate, 1, x, n, &l), CS_OK);
    assert_int_equal(l.len, 2);
    assert_int_equal(l.v[0].end_ms, 2000);
    assert_int_equal(l.v[1].start_ms, 2350);
    vad_seglist_free(&l);

    p.merge_gap_ms = 400;
    assert_int_equal(vad_run(&p, rate, 1, x, n, &l), CS_OK);
    assert_int_equal(l.len, 1);
    assert_int_equal(l.v[0].start_ms, 1000);
    assert_int_equal(l.v[0].end_ms, 3000);
    vad_seglist_free(&l);

    p.min_segment_ms = 50; /* the 80 ms burst now counts */
    assert_int_equal(vad_run(&p, rate, 1, x, n, &l), CS_OK);
    assert_int_equal(l.len, 2);
    assert_int_equal(l.v[1].start_ms, 4500);
    assert_int_equal(l.v[1].end_ms, 4580);
    vad_seglist_free(&l);
    free(x);
}

/* Clipped speech-like audio, a DC offset, int16 extremes: finite, sane. */
static void test_clipping_and_dc(void **state)
{
    (void)state;
    int rate = 16000;
    size_t n = (size_t)rate * 10;
    int16_t *x = calloc(n, sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < (size_t)rate * 2; i++)
        x[i] = 12000;                      /* constant DC: not speech */
    add_burst(x, n, rate, 2000, 5000, 0.); /* peaks clipped at full scale */
    for (size_t i = (size_t)rate * 7; i < n; i++)
        x[i] = (i % 2) ? INT16_MAX : INT16_MIN; /* Nyquist, full scale, stationary */
    vad_params p;
    vad_params_default(&p);
    vad_seglist l = {0};
    vad *v = NULL;
    assert_int_equal(vad_new(&p, rate, 1, vad_seglist_add, &l, &v), CS_OK);
    assert_int_equal(vad_feed(v, x, n), CS_OK);
    assert_int_equal(vad_finish(v), CS_OK);
    vad_stats st;
    vad_get_stats(v, &st);
    assert_true(isfinite(st.floor_dbfs));
    assert_true(st.floor_dbfs > -10.); /* the stationary tone became the floor */
    vad_free(v);
    for (size_t i = 0; i < l.len; i++)
        printf("# clipping: [%lld,%lld)\n", (long long)l.v[i].start_ms, (long long)l.v[i].end_ms);
    assert_int_equal(l.len, 2);
    assert_true(l.v[0].start_ms >= 1990 && l.v[0].start_ms <= 2010);
    assert_true(l.v[0].end_ms >= 4990 && l.v[0].end_ms <= 5010);
    /* a full-scale stationary tone is taken for speech only until the
     * stationarity window has seen it */
    assert_true(l.v[1].start_ms >= 6990 && l.v[1].start_ms <= 7010);
    assert_true(l.v[1].end_ms - l.v[1].start_ms <= p.stationary_ms + 20);
    vad_seglist_free(&l);
    free(x);
}

/* Noise that switches on (digital silence, then steady comfort/codec noise,
 * as after a hold or when a codec starts sending comfort noise): the floor
 * must catch up, so the false segment it causes is bounded; a burst later in
 * that noise is still found. */
static void test_noise_step(void **state)
{
    (void)state;
    static const double levels[] = {-50., -45., -40.};
    for (size_t q = 0; q < 3; q++) {
        for (int rate = 8000; rate <= 16000; rate += 8000) {
            size_t n = (size_t)rate * 30, on = (size_t)rate * 5;
            int16_t *x = calloc(n, sizeof *x);
            assert_non_null(x);
            add_noise(x + on, n - on, levels[q], 11);
            add_burst(x, n, rate, 20000, 22000, -20.);
            vad_params p;
            vad_params_default(&p);
            vad_seglist l = {0};
            assert_int_equal(vad_run(&p, rate, 1, x, n, &l), CS_OK);
            int64_t false_ms = 0;
            for (size_t i = 0; i < l.len; i++)
                if (l.v[i].end_ms <= 19000)
                    false_ms += l.v[i].end_ms - l.v[i].start_ms;
            printf("# noise step to %.0f dBFS at %d Hz: %lld ms taken as speech;", levels[q], rate,
                   (long long)false_ms);
            for (size_t i = 0; i < l.len; i++)
                printf(" [%lld,%lld)", (long long)l.v[i].start_ms, (long long)l.v[i].end_ms);
            printf("\n");
            assert_true(false_ms <= p.stationary_ms + 20);
            assert_true(l.len >= 1);
            assert_true(llabs(l.v[l.len - 1].start_ms - 20000) <= 20);
            assert_true(llabs(l.v[l.len - 1].end_ms - 22000) <= 20);
            vad_seglist_free(&l);
            free(x);
        }
    }
}

/* The very start of a channel: noise from sample 0 is never speech (the
 * first frame seeds the floor). Speech from sample 0: test_shared_speech. */
static void test_channel_start(void **state)
{
    (void)state;
    int rate = 8000;
    size_t n = (size_t)rate * 10;
    int16_t *x = calloc(n, sizeof *x);
    assert_non_null(x);
    add_noise(x, n, -45., 5);
    add_burst(x, n, rate, 5000, 6000, -20.);
    vad_params p;
    vad_params_default(&p);
    vad_seglist l = {0};
    assert_int_equal(vad_run(&p, rate, 1, x, n, &l), CS_OK);
    assert_int_equal(l.len, 1);
    assert_true(llabs(l.v[0].start_ms - 5000) <= 20 && llabs(l.v[0].end_ms - 6000) <= 20);
    vad_seglist_free(&l);

    free(x);
}

/* Streaming: each segment is reported no later than max(hangover + one
 * frame, merge gap) after its end, plus the 20 ms block it was fed in. */
typedef struct delay_probe {
    vad *v;
    int rate;
    int64_t worst_ms;
    size_t n;
} delay_probe;

static int delay_cb(void *user, const vad_segment *seg)
{
    delay_probe *d = user;
    vad_stats st;
    vad_get_stats(d->v, &st);
    int64_t now_ms = (int64_t)(st.samples * 1000 / (uint64_t)d->rate);
    if (now_ms - seg->end_ms > d->worst_ms)
        d->worst_ms = now_ms - seg->end_ms;
    d->n++;
    return 0;
}

static void test_report_delay(void **state)
{
    (void)state;
    int rate = 16000;
    size_t n = (size_t)rate * 20;
    int16_t *x = calloc(n, sizeof *x);
    assert_non_null(x);
    add_noise(x, n, -60., 3);
    for (int k = 0; k < 6; k++)
        add_burst(x, n, rate, 1000 + 3000 * k, 2200 + 3000 * k, -25.);
    vad_params p;
    vad_params_default(&p);
    delay_probe d = {.rate = rate};
    assert_int_equal(vad_new(&p, rate, 1, delay_cb, &d, &d.v), CS_OK);
    for (size_t i = 0; i < n; i += 320)
        assert_int_equal(vad_feed(d.v, x + i, n - i < 320 ? n - i : 320), CS_OK);
    size_t before_finish = d.n;
    assert_int_equal(vad_finish(d.v), CS_OK);
    vad_free(d.v);
    int64_t bound =
        p.hangover_ms + p.frame_ms > p.merge_gap_ms ? p.hangover_ms + p.frame_ms : p.merge_gap_ms;
    bound += 20;
    printf("# report delay: worst %lld ms after the segment's end (bound %lld)\n",
           (long long)d.worst_ms, (long long)bound);
    assert_int_equal(d.n, 6);
    assert_int_equal(before_finish, 6); /* all reported while streaming */
    assert_true(d.worst_ms <= bound);
    free(x);
}

static int stop_cb(void *user, const vad_segment *seg)
{
    (void)seg;
    ++*(int *)user;
    return 42;
}

static void test_callback_stop_and_limit(void **state)
{
    (void)state;
    int rate = 8000;
    size_t n = (size_t)rate * 8;
    int16_t *x = calloc(n, sizeof *x);
    assert_non_null(x);
    add_burst(x, n, rate, 1000, 2000, -30.);
    add_burst(x, n, rate, 4000, 5000, -30.);
    vad_params p;
    vad_params_default(&p);
    int calls = 0;
    vad *v = NULL;
    assert_int_equal(vad_new(&p, rate, 1, stop_cb, &calls, &v), CS_OK);
    assert_int_equal(vad_feed(v, x, n), 42);
    assert_int_equal(calls, 1);
    assert_int_equal(vad_feed(v, x, n), CS_ERR_STATE);
    assert_int_equal(vad_finish(v), CS_ERR_STATE);
    vad_free(v);
    vad_free(NULL);

    vad_seglist l = {.max = 1};
    assert_int_equal(vad_run(&p, rate, 3, x, n, &l), CS_ERR_LIMIT);
    assert_int_equal(l.len, 1);
    assert_int_equal(l.v[0].channel, 3);
    assert_int_equal(l.v[0].start_ms, 1000);
    vad_seglist_free(&l);
    vad_seglist_free(NULL);
    assert_int_equal(vad_run(&p, rate, 3, x, n, NULL), CS_ERR_INVAL);
    free(x);
}

/* ---------- accuracy against callgen's truth ---------- */

#define MAX_UTT 64
/* The words of an utterance: its 10 ms frames of the clean reference within
 * WORD_DB of its loudest frame (25 dB: the quiet sphinx4 recording's room
 * noise sits 32 dB under its peak, 30 dB would call it words); word onset:
 * the first 30 ms of such frames. */
#define WORD_DB   25.
#define MAX_CALLS 32

typedef struct utt {
    int ch; /* 0 customer, 1 agent */
    int64_t s, e;
} utt;

typedef struct tcall {
    char id[64];
    char cid[160];
    char codec[8];
    utt u[MAX_UTT];
    size_t nu;
    int64_t dead[8][2]; /* the truth's deliberate dead_air[] intervals */
    size_t ndead;
} tcall;

static const char *find_in(const char *p, const char *end, const char *needle)
{
    size_t k = strlen(needle);
    for (; p + k <= end; p++)
        if (memcmp(p, needle, k) == 0)
            return p;
    return NULL;
}

static int str_field(const char *p, const char *end, const char *key, char *out, size_t cap)
{
    const char *q = find_in(p, end, key);
    if (!q)
        return -1;
    q += strlen(key);
    size_t i = 0;
    while (q < end && *q != '"' && i + 1 < cap)
        out[i++] = *q++;
    out[i] = 0;
    return 0;
}

/* Minimal reader for callgen's pretty-printed, fixed-order truth. */
static size_t parse_truth(const char *t, size_t len, tcall *calls, size_t cap)
{
    const char *end = t + len, *p = t;
    size_t n = 0;
    while ((p = find_in(p, end, "\"scenario\": \"")) && n < cap) {
        const char *next = find_in(p + 1, end, "\"scenario\": \"");
        const char *ce = next ? next : end;
        tcall *c = &calls[n];
        memset(c, 0, sizeof *c);
        char outcome[32] = "";
        const char *idp = p;
        while (idp > t && memcmp(idp, "\"id\": \"", 7) != 0)
            idp--;
        str_field(idp, ce, "\"id\": \"", c->id, sizeof c->id);
        str_field(p, ce, "\"inbound_call_id\": \"", c->cid, sizeof c->cid);
        str_field(p, ce, "\"codec\": \"", c->codec, sizeof c->codec);
        str_field(p, ce, "\"outcome\": \"", outcome, sizeof outcome);
        const char *us = find_in(p, ce, "\"utterances\": [");
        const char *ue = us ? find_in(us, ce, "\"phrases\":") : NULL;
        if (strcmp(outcome, "answered") == 0 && us && ue) {
            const char *q = us;
            while ((q = find_in(q, ue, "\"channel\": \"")) && c->nu < MAX_UTT) {
                utt *u = &c->u[c->nu++];
                q += 12;
                u->ch = strncmp(q, "agent", 5) == 0;
                const char *s = find_in(q, ue, "\"start_ms\": ");
                const char *e = find_in(q, ue, "\"end_ms\": ");
                assert_non_null(s);
                assert_non_null(e);
                u->s = strtoll(s + 12, NULL, 10);
                u->e = strtoll(e + 10, NULL, 10);
            }
            const char *ds = find_in(p, ce, "\"dead_air\": [");
            const char *de = ds ? find_in(ds, ce, "\"overtalk\":") : NULL;
            const char *dq = ds;
            while (dq && de && (dq = find_in(dq, de, "\"start_ms\": ")) && c->ndead < 8) {
                const char *e = find_in(dq, de, "\"end_ms\": ");
                assert_non_null(e);
                c->dead[c->ndead][0] = strtoll(dq + 12, NULL, 10);
                c->dead[c->ndead][1] = strtoll(e + 10, NULL, 10);
                c->ndead++;
                dq = e;
            }
            n++;
        }
        p = ce;
        if (!next)
            break;
    }
    return n;
}

static int16_t *read_wav(const char *path, int *rate, size_t *n)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f)
        return NULL;
    assert_int_equal(info.channels, 1);
    int16_t *x = malloc((size_t)info.frames * sizeof *x + 1);
    assert_non_null(x);
    sf_count_t got = sf_read_short(f, x, info.frames);
    sf_close(f);
    assert_int_equal(got, info.frames);
    *rate = info.samplerate;
    *n = (size_t)info.frames;
    return x;
}

/* Real codec round trip of a 16 kHz reference: encode 20 ms frames, decode.
 * Output at the codec's audio rate, compensated for the codec's delay. */
static int16_t *round_trip(cg_codec codec, const int16_t *x16, size_t n16, int *rate_out,
                           size_t *n_out)
{
    cg_encoder *enc = cg_encoder_new(codec);
    cg_decoder *dec = cg_decoder_new(codec);
    assert_non_null(enc);
    assert_non_null(dec);
    int rate = cg_codec_get(codec)->audio_rate;
    size_t frames = n16 / CG_FRAME_SAMPLES;
    size_t per = (size_t)rate / 50;
    int16_t *y = calloc(frames * per + 1, sizeof *y);
    assert_non_null(y);
    uint8_t pl[512];
    for (size_t k = 0; k < frames; k++) {
        int len = cg_encoder_encode(enc, x16 + k * CG_FRAME_SAMPLES, pl, sizeof pl);
        assert_true(len > 0);
        int got = cg_decoder_decode(dec, pl, (size_t)len, y + k * per, per);
        assert_int_equal(got, (int)per);
    }
    cg_encoder_free(enc);
    cg_decoder_free(dec);
    /* delay against the 16 kHz input (docs/callgen-audio.md): the 2:1
     * decimator's 15 samples at 8 kHz, plus G.729's 5 ms look-ahead; Opus
     * 104 samples at 16 kHz */
    size_t delay = codec == CG_CODEC_OPUS ? 104 : codec == CG_CODEC_G729 ? 15 + 40 : 15;
    size_t total = frames * per;
    if (delay < total) {
        memmove(y, y + delay, (total - delay) * sizeof *y);
        memset(y + total - delay, 0, delay * sizeof *y);
    }
    *rate_out = rate;
    *n_out = frames * per;
    return y;
}

typedef struct score {
    uint64_t tp, fp, fn;
    uint64_t core, core_hit; /* loud truth frames (within WORD_DB of the utterance peak) */
    double onset_clip[512], onset_word[512];
    size_t n_onset, missed_onsets;
    uint64_t silence_overlap_ms; /* segment time inside runs of >= 1 s digital zeros */
    uint64_t dead_air_overlap_ms;
    size_t dead_air_gaps;
    size_t truth_dead_air; /* the truth's dead_air[] intervals checked */
    uint64_t segments;
} score;

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (n == 0)
        return 0.;
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.;
}

static double frame_db(const int16_t *x, size_t n, int rate, int64_t ms)
{
    size_t a = (size_t)(ms * rate / 1000), b = a + (size_t)rate / 100;
    if (b > n)
        b = n;
    if (a >= b)
        return -120.;
    double acc = 0., sum = 0.;
    for (size_t i = a; i < b; i++) {
        acc += (double)x[i] * x[i];
        sum += x[i];
    }
    double mean = sum / (double)(b - a);
    double var = acc / (double)(b - a) - mean * mean; /* a DC offset is not a word */
    return 10. * log10((var > 0. ? var : 0.) / (32768. * 32768.) + 1e-12);
}

/* Word onset oracle on a clean reference: the first of three consecutive
 * 10 ms frames (30 ms) within WORD_DB of the utterance's peak; `to` if none. */
static int64_t word_onset(const int16_t *x, size_t n, int rate, int64_t from, int64_t to,
                          double peak)
{
    for (int64_t t = from; t + 30 <= to; t += 10)
        if (frame_db(x, n, rate, t) >= peak - WORD_DB &&
            frame_db(x, n, rate, t + 10) >= peak - WORD_DB &&
            frame_db(x, n, rate, t + 20) >= peak - WORD_DB)
            return t;
    return to;
}

static int covered(const vad_seglist *l, int64_t t)
{
    for (size_t i = 0; i < l->len; i++)
        if (l->v[i].start_ms <= t && t < l->v[i].end_ms)
            return 1;
    return 0;
}

static int64_t overlap_ms(const vad_seglist *l, int64_t a, int64_t b)
{
    int64_t o = 0;
    for (size_t i = 0; i < l->len; i++) {
        int64_t s = l->v[i].start_ms > a ? l->v[i].start_ms : a;
        int64_t e = l->v[i].end_ms < b ? l->v[i].end_ms : b;
        if (e > s)
            o += e - s;
    }
    return o;
}

/* Scores one call: segs[ch] over audio of duration dur_ms; clean[ch] is the
 * callgen reference (for digital-silence runs and word onsets). */
static void score_call(score *sc, const tcall *c, vad_seglist segs[2], int16_t *clean[2],
                       size_t clean_n[2], int clean_rate, int64_t dur_ms)
{
    double peak[MAX_UTT];
    for (size_t i = 0; i < c->nu; i++) {
        peak[i] = -120.;
        for (int64_t t = c->u[i].s; t < c->u[i].e; t += 10) {
            double d = frame_db(clean[c->u[i].ch], clean_n[c->u[i].ch], clean_rate, t);
            if (d > peak[i])
                peak[i] = d;
        }
    }
    for (int ch = 0; ch < 2; ch++) {
        sc->segments += segs[ch].len;
        for (int64_t t = 0; t + 10 <= dur_ms; t += 10) {
            int truth = 0, core = 0;
            for (size_t i = 0; i < c->nu; i++)
                if (c->u[i].ch == ch && c->u[i].s <= t + 5 && t + 5 < c->u[i].e) {
                    truth = 1;
                    if (frame_db(clean[ch], clean_n[ch], clean_rate, t) >= peak[i] - WORD_DB)
                        core = 1;
                }
            int det = covered(&segs[ch], t + 5);
            sc->tp += truth && det;
            sc->fp += !truth && det;
            sc->fn += truth && !det;
            sc->core += core;
            sc->core_hit += core && det;
        }
        /* onsets */
        for (size_t i = 0; i < c->nu; i++) {
            const utt *u = &c->u[i];
            if (u->ch != ch)
                continue;
            /* word onset: first 10 ms frame of the clean reference within
             * WORD_DB of the utterance's loudest frame */
            int64_t word = word_onset(clean[ch], clean_n[ch], clean_rate, u->s, u->e, peak[i]);
            const vad_segment *hit = NULL;
            for (size_t k = 0; k < segs[ch].len && !hit; k++)
                if (segs[ch].v[k].start_ms >= u->s - 200 && segs[ch].v[k].start_ms < u->e)
                    hit = &segs[ch].v[k];
            if (!hit) {
                sc->missed_onsets++;
                continue;
            }
            if (sc->n_onset < 512) {
                sc->onset_clip[sc->n_onset] = fabs((double)(hit->start_ms - u->s));
                sc->onset_word[sc->n_onset] = fabs((double)(hit->start_ms - word));
                sc->n_onset++;
            }
        }
        /* runs of >= 1 s exact digital zeros in the reference */
        size_t run = 0;
        for (size_t i = 0; i <= clean_n[ch]; i++) {
            if (i < clean_n[ch] && clean[ch][i] == 0) {
                run++;
                continue;
            }
            if (run >= (size_t)clean_rate) {
                int64_t a = (int64_t)((i - run) * 1000 / (size_t)clean_rate);
                int64_t b = (int64_t)(i * 1000 / (size_t)clean_rate);
                /* one frame of slack at each end (frames straddle the edge) */
                sc->silence_overlap_ms += (uint64_t)overlap_ms(&segs[ch], a + 10, b - 10);
            }
            run = 0;
        }
    }
    /* the truth's deliberate dead air (6-12 s): no segment inside */
    for (size_t i = 0; i < c->ndead; i++) {
        sc->truth_dead_air++;
        sc->dead_air_overlap_ms +=
            (uint64_t)(overlap_ms(&segs[0], c->dead[i][0] + 20, c->dead[i][1] - 20) +
                       overlap_ms(&segs[1], c->dead[i][0] + 20, c->dead[i][1] - 20));
    }
    /* dead air: >= 5 s with no utterance on either channel, from the first
     * utterance to the last one */
    int64_t first = INT64_MAX, last_end = 0;
    for (size_t i = 0; i < c->nu; i++) {
        if (c->u[i].s < first)
            first = c->u[i].s;
        if (c->u[i].e > last_end)
            last_end = c->u[i].e;
    }
    for (int64_t t = first; t < last_end;) {
        int64_t busy_until = -1;
        for (size_t i = 0; i < c->nu; i++)
            if (c->u[i].s <= t && t < c->u[i].e && c->u[i].e > busy_until)
                busy_until = c->u[i].e;
        if (busy_until > t) {
            t = busy_until;
            continue;
        }
        int64_t next = last_end;
        for (size_t i = 0; i < c->nu; i++)
            if (c->u[i].s >= t && c->u[i].s < next)
                next = c->u[i].s;
        if (next - t >= 5000) {
            /* segments sit on the 10 ms frame grid and the 8 kHz reference
             * smears a clip's edge by 2 ms (decimator): two frames of slack */
            sc->dead_air_gaps++;
            sc->dead_air_overlap_ms += (uint64_t)(overlap_ms(&segs[0], t + 20, next - 20) +
                                                  overlap_ms(&segs[1], t + 20, next - 20));
        }
        t = next;
    }
}

typedef struct fixture {
    char dir[512];
    char ref[600];
    tcall calls[MAX_CALLS];
    size_t ncalls;
} fixture;

static int truth_setup(void **state)
{
    static fixture fx;
    char bin[1024];
    const char *b = getenv("CALLSCOPE_BINARY_DIR");
    snprintf(bin, sizeof bin, "%s/tools/callgen/callgen", b ? b : ".");
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "skip: callgen not built (%s)\n", bin);
        *state = NULL;
        return 0;
    }
    assert_int_equal(ts_mkdtemp(fx.dir, sizeof fx.dir, "vad"), 0);
    snprintf(fx.ref, sizeof fx.ref, "%s/ref", fx.dir);
    char cmd[4096];
    /* Every codec (mixed cycles them), dead air and overtalk deviations,
     * holds (digital silence), queued IVR. Phrases need Festival: fall back
     * to recorded clips only when it is missing. */
#define CALLGEN_FMT                                                                                \
    "'%s' -q --seed 20261123 --scenario direct,queued,hold,codecs,transfer --calls 2 "             \
    "--codec mixed --ref-audio '%s' -o '%s/c.pcap' %s 2>/dev/null"
    snprintf(cmd, sizeof cmd, CALLGEN_FMT, bin, fx.ref, fx.dir, "");
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, CALLGEN_FMT, bin, fx.ref, fx.dir, "--no-phrases");
        rc = system(cmd);
    }
    if (rc != 0) {
        fprintf(stderr, "skip: callgen failed (exit %d): pocketsphinx-testdata missing?\n", rc);
        ts_rmrf(fx.dir);
        *state = NULL;
        return 0;
    }
    char path[700];
    snprintf(path, sizeof path, "%s/c.truth.json", fx.dir);
    size_t len = 0;
    char *t = ts_read_file(path, &len);
    assert_non_null(t);
    fx.ncalls = parse_truth(t, len, fx.calls, MAX_CALLS);
    free(t);
    assert_true(fx.ncalls >= 8);
    *state = &fx;
    return 0;
}

static int truth_teardown(void **state)
{
    fixture *fx = *state;
    if (fx)
        ts_rmrf(fx->dir);
    return 0;
}

enum variant { V_CLEAN, V_NOISE, V_NOISE45, V_CLIP, V_G729, V_OPUS, V__N };
static const char *const variant_name[V__N] = {"clean reference",  "+ noise -55 dBFS",
                                               "+ noise -45 dBFS", "clipped (x16)",
                                               "G.729 round trip", "Opus round trip"};

static void load_channel(const fixture *fx, const tcall *c, int ch, int16_t **x, size_t *n,
                         int *rate)
{
    char cid[160], path[900];
    snprintf(cid, sizeof cid, "%s", c->cid);
    for (char *q = cid; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '-' || *q == '_' || *q == '.'))
            *q = '_';
    snprintf(path, sizeof path, "%s/%s.%s.wav", fx->ref, cid, ch ? "agent" : "customer");
    *x = read_wav(path, rate, n);
    assert_non_null(*x);
}

static void test_truth_accuracy(void **state)
{
    fixture *fx = *state;
    if (!fx)
        skip();
    vad_params p;
    vad_params_default(&p);
    score *sc = calloc(V__N, sizeof *sc);
    assert_non_null(sc);
    size_t calls_per_variant[V__N] = {0};
    double audio_s = 0., cpu_s = 0.;

    for (size_t ci = 0; ci < fx->ncalls; ci++) {
        const tcall *c = &fx->calls[ci];
        int16_t *clean[2];
        size_t n[2];
        int rate[2];
        for (int ch = 0; ch < 2; ch++)
            load_channel(fx, c, ch, &clean[ch], &n[ch], &rate[ch]);
        assert_int_equal(rate[0], rate[1]);
        for (int var = 0; var < V__N; var++) {
            if ((var == V_G729 || var == V_OPUS) && rate[0] != 16000)
                continue; /* round trips start from a 16 kHz reference */
            vad_seglist segs[2] = {{0}, {0}};
            int64_t dur = 0;
            for (int ch = 0; ch < 2; ch++) {
                int16_t *x = NULL;
                size_t xn = n[ch];
                int xr = rate[ch];
                if (var == V_G729 || var == V_OPUS) {
                    x = round_trip(var == V_G729 ? CG_CODEC_G729 : CG_CODEC_OPUS, clean[ch], n[ch],
                                   &xr, &xn);
                } else {
                    x = malloc(xn * sizeof *x + 1);
                    assert_non_null(x);
                    memcpy(x, clean[ch], xn * sizeof *x);
                    if (var == V_NOISE || var == V_NOISE45)
                        add_noise(x, xn, var == V_NOISE ? -55. : -45.,
                                  (uint32_t)(ci * 2 + (size_t)ch + 1));
                    if (var == V_CLIP)
                        for (size_t i = 0; i < xn; i++) {
                            int32_t y = x[i] * 16;
                            x[i] = (int16_t)(y > 32767 ? 32767 : y < -32768 ? -32768 : y);
                        }
                }
                struct timespec t0, t1;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                assert_int_equal(vad_run(&p, xr, ch + 1, x, xn, &segs[ch]), CS_OK);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                if (var == V_CLEAN) {
                    audio_s += (double)xn / xr;
                    cpu_s +=
                        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
                }
                if (getenv("VAD_DEBUG") && var == atoi(getenv("VAD_DEBUG"))) {
                    printf("DBG %s ch%d:", c->id, ch);
                    for (size_t i = 0; i < segs[ch].len; i++)
                        printf(" [%lld,%lld)", (long long)segs[ch].v[i].start_ms,
                               (long long)segs[ch].v[i].end_ms);
                    printf("\n");
                }
                dur = (int64_t)(xn * 1000 / (size_t)xr);
                free(x);
            }
            score_call(&sc[var], c, segs, clean, n, rate[0], dur);
            calls_per_variant[var]++;
            vad_seglist_free(&segs[0]);
            vad_seglist_free(&segs[1]);
        }
        free(clean[0]);
        free(clean[1]);
    }

    printf("# VAD vs callgen truth (10 ms frames; truth utterances include the clips'\n"
           "# recorded leading/trailing silence)\n");
    printf("# %-17s %5s %9s %6s %6s %8s %10s %10s %7s %7s %9s\n", "variant", "calls", "precision",
           "recall", "loud", "segments", "onset_clip", "onset_word", "missed", "silence",
           "dead_air");
    double prec[V__N], rec[V__N], loud[V__N], on_clip[V__N], on_word[V__N];
    for (int var = 0; var < V__N; var++) {
        score *s = &sc[var];
        prec[var] = s->tp + s->fp ? (double)s->tp / (double)(s->tp + s->fp) : 0.;
        rec[var] = s->tp + s->fn ? (double)s->tp / (double)(s->tp + s->fn) : 0.;
        loud[var] = s->core ? (double)s->core_hit / (double)s->core : 0.;
        on_clip[var] = median(s->onset_clip, s->n_onset);
        on_word[var] = median(s->onset_word, s->n_onset);
        printf("# %-17s %5zu %9.3f %6.3f %6.3f %8llu %7.0f ms %7.0f ms %3zu/%-3zu %4llu ms "
               "%2zu:%llu ms\n",
               variant_name[var], calls_per_variant[var], prec[var], rec[var], loud[var],
               (unsigned long long)s->segments, on_clip[var], on_word[var], s->missed_onsets,
               s->n_onset + s->missed_onsets, (unsigned long long)s->silence_overlap_ms,
               s->dead_air_gaps, (unsigned long long)s->dead_air_overlap_ms);
    }
    /* Floors: measured (docs/vad.md) minus a margin. recall is against the
     * clip extents (which include the clips' recorded silence), loud recall
     * against the frames within WORD_DB of each utterance's peak. */
    static const struct {
        double prec, rec, loud, onset_word_ms;
    } floor_[V__N] = {
        [V_CLEAN] = {0.98, 0.89, 0.99, 40.},   [V_NOISE] = {0.98, 0.85, 0.99, 40.},
        [V_NOISE45] = {0.98, 0.81, 0.98, 40.}, [V_CLIP] = {0.98, 0.95, 0.99, 250.},
        [V_G729] = {0.98, 0.87, 0.98, 40.},    [V_OPUS] = {0.98, 0.88, 0.99, 40.},
    };
    for (int var = 0; var < V__N; var++) {
        assert_true(calls_per_variant[var] >= 2);
        assert_true(prec[var] >= floor_[var].prec);
        assert_true(rec[var] >= floor_[var].rec);
        assert_true(loud[var] >= floor_[var].loud);
        assert_true(on_word[var] <= floor_[var].onset_word_ms);
        assert_true(on_clip[var] <= 300.);
        assert_int_equal(sc[var].missed_onsets, 0);
        assert_int_equal(sc[var].silence_overlap_ms, 0);
        assert_int_equal(sc[var].dead_air_overlap_ms, 0);
    }
    assert_true(sc[V_CLEAN].dead_air_gaps >= 2);
    printf("# speed: %.0f s of audio in %.3f s, %.0fx real time (not asserted)\n", audio_s, cpu_s,
           audio_s / (cpu_s > 0. ? cpu_s : 1e-9));
    printf("# truth dead_air[] intervals checked per variant: %zu (no segment inside)\n",
           sc[V_CLEAN].truth_dead_air);
    assert_true(sc[V_CLEAN].truth_dead_air >= 2);
    free(sc);
}

/* Real speech written by others (../shared/data/speech: speakers callgen's
 * bank does not have), concatenated at 16 kHz with digital silence of known
 * lengths between the clips (dead air of 6 s included); truth = clip extents. */
static void test_shared_speech(void **state)
{
    (void)state;
    static const char *const clips[] = {
        "speech/speechbrain_spk1_snt1.wav",
        "speech/speechbrain_spk2_snt1.wav",
        "speech/pocketsphinx_forever_input_2_16k.wav",
        "speech/speechbrain_spk1_snt2.wav",
        "speech/speechbrain_spk2_snt2.wav",
        "speech/sphinx4_10001-90210-01803.wav",
        "speech/speechbrain_spk1_snt3.wav",
        "speech/speechbrain_spk2_snt3.wav",
        "speech/speechbrain_spk1_snt4.wav",
        "speech/speechbrain_spk2_snt4.wav",
        "speech/speechbrain_spk1_snt5.wav",
        "speech/speechbrain_spk2_snt5.wav",
    };
    static const int64_t gaps_ms[] = {400, 900, 6000, 350, 1500, 700, 6500, 500, 1200, 300, 2500};
    enum { NCLIP = sizeof clips / sizeof clips[0] };
    char path[1024];
    if (!ts_shared_path(path, sizeof path, clips[0])) {
        printf("# skip: ../shared/data/speech not present\n");
        skip();
    }
    const int rate = 16000;
    size_t cap = (size_t)rate * 120, n = (size_t)rate * 2; /* 2 s of silence first */
    int16_t *track = calloc(cap, sizeof *track);
    assert_non_null(track);
    tcall *c = calloc(1, sizeof *c);
    assert_non_null(c);
    for (size_t i = 0; i < NCLIP; i++) {
        assert_true(ts_shared_path(path, sizeof path, clips[i]));
        int r = 0;
        size_t cn = 0;
        int16_t *x = read_wav(path, &r, &cn);
        assert_non_null(x);
        assert_int_equal(r, rate);
        assert_true(n + cn < cap);
        memcpy(track + n, x, cn * sizeof *x);
        free(x);
        utt *u = &c->u[c->nu++];
        u->ch = 0;
        u->s = (int64_t)(n * 1000 / (size_t)rate);
        n += cn;
        u->e = (int64_t)(n * 1000 / (size_t)rate);
        n += (size_t)(i < NCLIP - 1 ? gaps_ms[i] : 1500) * (size_t)rate / 1000;
        assert_true(n < cap);
    }
    n -= n % CG_FRAME_SAMPLES;

    /* Speech from sample 0 (each clip alone, no silence before it): the first
     * segment starts near the first loud frame (the floor is seeded by the
     * first frame and falls at the first pause). */
    for (size_t i = 0; i < NCLIP; i++) {
        size_t a = (size_t)(c->u[i].s * rate / 1000), b = (size_t)(c->u[i].e * rate / 1000);
        vad_params q;
        vad_params_default(&q);
        vad_seglist l = {0};
        assert_int_equal(vad_run(&q, rate, 1, track + a, b - a, &l), CS_OK);
        double peak = -120.;
        for (int64_t t = 0; t < c->u[i].e - c->u[i].s; t += 10) {
            double d = frame_db(track + a, b - a, rate, t);
            if (d > peak)
                peak = d;
        }
        int64_t word = word_onset(track + a, b - a, rate, 0, c->u[i].e - c->u[i].s, peak);
        printf("# %s from sample 0: word at %lld ms, first segment [%lld,%lld)\n", clips[i],
               (long long)word, l.len ? (long long)l.v[0].start_ms : -1LL,
               l.len ? (long long)l.v[0].end_ms : -1LL);
        assert_true(l.len >= 1);
        /* not late (early is possible: "forever" has -40 dBFS room noise) */
        assert_true(l.v[0].start_ms <= word + 250);
        vad_seglist_free(&l);
    }

    int16_t *zero = calloc(n, sizeof *zero);
    assert_non_null(zero);
    int16_t *clean[2] = {track, zero};
    size_t clean_n[2] = {n, n};

    enum { S_CLEAN, S_NOISE, S_G729, S_PCMU, S__N };
    static const char *const names[S__N] = {"clean", "+ noise -55 dBFS", "G.729 round trip",
                                            "PCMU round trip"};
    static const struct {
        double prec, rec, loud, onset_word_ms;
    } floor_[S__N] = {
        [S_CLEAN] = {0.98, 0.85, 0.98, 40.},
        [S_NOISE] = {0.98, 0.81, 0.98, 40.},
        [S_G729] = {0.98, 0.79, 0.95, 40.},
        [S_PCMU] = {0.98, 0.83, 0.96, 40.},
    };
    vad_params p;
    vad_params_default(&p);
    printf("# %-17s %9s %6s %6s %8s %10s %10s %7s %7s %9s\n", "shared speech", "precision",
           "recall", "loud", "segments", "onset_clip", "onset_word", "missed", "silence",
           "dead_air");
    for (int var = 0; var < S__N; var++) {
        int16_t *x = NULL;
        size_t xn = n;
        int xr = rate;
        if (var == S_G729 || var == S_PCMU) {
            x = round_trip(var == S_G729 ? CG_CODEC_G729 : CG_CODEC_PCMU, track, n, &xr, &xn);
        } else {
            x = malloc(n * sizeof *x);
            assert_non_null(x);
            memcpy(x, track, n * sizeof *x);
            if (var == S_NOISE)
                add_noise(x, n, -55., 99);
        }
        vad_seglist segs[2] = {{0}, {0}};
        assert_int_equal(vad_run(&p, xr, 1, x, xn, &segs[0]), CS_OK);
        free(x);
        score *sc = calloc(1, sizeof *sc);
        assert_non_null(sc);
        score_call(sc, c, segs, clean, clean_n, rate, (int64_t)(xn * 1000 / (size_t)xr));
        double prec = sc->tp + sc->fp ? (double)sc->tp / (double)(sc->tp + sc->fp) : 0.;
        double rec = sc->tp + sc->fn ? (double)sc->tp / (double)(sc->tp + sc->fn) : 0.;
        double loud = sc->core ? (double)sc->core_hit / (double)sc->core : 0.;
        double on_clip = median(sc->onset_clip, sc->n_onset);
        double on_word = median(sc->onset_word, sc->n_onset);
        printf("# %-17s %9.3f %6.3f %6.3f %8llu %7.0f ms %7.0f ms %3zu/%-3zu %4llu ms "
               "%2zu:%llu ms\n",
               names[var], prec, rec, loud, (unsigned long long)sc->segments, on_clip, on_word,
               sc->missed_onsets, sc->n_onset + sc->missed_onsets,
               (unsigned long long)sc->silence_overlap_ms, sc->dead_air_gaps,
               (unsigned long long)sc->dead_air_overlap_ms);
        assert_true(prec >= floor_[var].prec);
        assert_true(rec >= floor_[var].rec);
        assert_true(loud >= floor_[var].loud);
        assert_true(on_word <= floor_[var].onset_word_ms);
        assert_true(on_clip <= 300.);
        assert_int_equal(sc->missed_onsets, 0);
        assert_int_equal(sc->silence_overlap_ms, 0);
        assert_int_equal(sc->dead_air_gaps, 2);
        assert_int_equal(sc->dead_air_overlap_ms, 0);
        free(sc);
        vad_seglist_free(&segs[0]);
    }
    free(zero);
    free(track);
    free(c);
}

int main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_params),          cmocka_unit_test(test_digital_silence),
        cmocka_unit_test(test_bursts_in_noise), cmocka_unit_test(test_merge_and_min_segment),
        cmocka_unit_test(test_clipping_and_dc), cmocka_unit_test(test_callback_stop_and_limit),
        cmocka_unit_test(test_noise_step),      cmocka_unit_test(test_channel_start),
        cmocka_unit_test(test_report_delay),
    };
    const struct CMUnitTest truth[] = {
        cmocka_unit_test(test_truth_accuracy),
        cmocka_unit_test(test_shared_speech),
    };
    int rc = cmocka_run_group_tests_name("vad", unit, NULL, NULL);
    rc += cmocka_run_group_tests_name("vad_truth", truth, truth_setup, truth_teardown);
    return rc;
}
