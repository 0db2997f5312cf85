/*
 * test_frontend.c — the telephone front end (transcribe/frontend.c),
 * measured on real signals.
 *
 * Plain 8 -> 16 kHz interpolation: a 1 kHz tone keeps its level within
 * 0.1 dB and its 7 kHz image is below -50 dB; a band-limited signal comes out
 * with no delay (output sample 2k is input sample k, and the odd samples are
 * the signal between them). FE_FOLD puts the 7 kHz image at the tone's level
 * with image_gain 1 and scales it with image_gain (-6 and -12 dB at 0.5 and
 * 0.25). FE_FLOOR adds noise of floor_dbfs RMS (within 1 dB) whose energy
 * below 3.5 kHz is at least 30 dB under its energy above 4.5 kHz (Welch
 * periodogram with a plain DFT), and leaves the tone alone. FE_NORM brings a
 * real speech clip (../shared/data/speech/pocketsphinx_goforward.raw or
 * Debian's pocketsphinx-testdata goforward.raw, 16 kHz; downsampled here for
 * the 8 kHz case) at -40 and -10 dBFS to within 1 dB of norm_dbfs on its
 * active frames, leaves digital silence silent, and saturates instead of
 * wrapping. 16 kHz input passes unchanged (except for FE_NORM's gain).
 * Step names round-trip; unknown words are refused with a message;
 * argument, rate, range and buffer errors; determinism per seed.
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

#include "error.h"
#include "frontend.h"
#include "testsupport.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---------- signals and measurements ---------- */

static int16_t *tone(size_t n, int rate, double freq, double amp)
{
    int16_t *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++)
        x[i] = (int16_t)lrint(amp * sin(2 * M_PI * freq * (double)i / rate + 0.3));
    return x;
}

/* Amplitude of the component at freq in x[a, b) (b - a a whole number of
 * its periods, or many of them). */
static double amplitude(const int16_t *x, size_t a, size_t b, int rate, double freq)
{
    double re = 0, im = 0;
    for (size_t i = a; i < b; i++) {
        double ph = 2 * M_PI * freq * (double)i / rate;
        re += x[i] * cos(ph);
        im += x[i] * sin(ph);
    }
    return 2.0 * sqrt(re * re + im * im) / (double)(b - a);
}

static double db(double ratio)
{
    return 20.0 * log10(ratio);
}

static double rms_dbfs(const int16_t *x, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return 10.0 * log10(e / (double)n / (32768.0 * 32768.0));
}

/* The front end's definition of the active level: mean energy of the 20 ms
 * frames within 30 dB of the loudest, in dBFS. */
static double active_dbfs(const int16_t *x, size_t n, int rate)
{
    size_t frame = (size_t)rate / 50, nf = n / frame;
    double *e = calloc(nf, sizeof *e), max = 0, sum = 0;
    assert_non_null(e);
    for (size_t k = 0; k < nf; k++) {
        for (size_t i = 0; i < frame; i++)
            e[k] += (double)x[k * frame + i] * x[k * frame + i];
        e[k] /= (double)frame;
        if (e[k] > max)
            max = e[k];
    }
    size_t cnt = 0;
    for (size_t k = 0; k < nf; k++)
        if (e[k] >= max * 1e-3) {
            sum += e[k];
            cnt++;
        }
    free(e);
    assert_true(cnt > 0);
    return 10.0 * log10(sum / (double)cnt / (32768.0 * 32768.0));
}

/* Welch power spectrum: Hann-windowed DFT blocks of NB samples, half
 * overlapping, averaged. psd[k] for k in [0, NB/2]. */
#define NB 512
static void welch(const int16_t *x, size_t n, double *psd)
{
    static double w[NB], c[NB], s[NB];
    for (size_t i = 0; i < NB; i++) {
        w[i] = 0.5 - 0.5 * cos(2 * M_PI * (double)i / NB);
        c[i] = cos(2 * M_PI * (double)i / NB);
        s[i] = sin(2 * M_PI * (double)i / NB);
    }
    memset(psd, 0, (NB / 2 + 1) * sizeof *psd);
    size_t blocks = 0;
    for (size_t a = 0; a + NB <= n; a += NB / 2, blocks++) {
        double xb[NB];
        for (size_t i = 0; i < NB; i++)
            xb[i] = w[i] * x[a + i];
        for (size_t k = 0; k <= NB / 2; k++) {
            double re = 0, im = 0;
            for (size_t i = 0; i < NB; i++) {
                size_t p = (k * i) % NB;
                re += xb[i] * c[p];
                im -= xb[i] * s[p];
            }
            psd[k] += re * re + im * im;
        }
    }
    assert_true(blocks > 0);
}

static double band(const double *psd, int rate, double lo, double hi)
{
    double e = 0;
    for (size_t k = 0; k <= NB / 2; k++) {
        double f = (double)k * rate / NB;
        if (f >= lo && f <= hi)
            e += psd[k];
    }
    return e;
}

static fe *fe_make(unsigned steps, double image_gain, double floor_dbfs, double norm_dbfs)
{
    fe_opts o;
    fe_opts_default(&o);
    o.steps = steps;
    o.image_gain = image_gain;
    o.floor_dbfs = floor_dbfs;
    o.norm_dbfs = norm_dbfs;
    fe *f = NULL;
    assert_int_equal(fe_new(&o, &f), CS_OK);
    assert_non_null(f);
    return f;
}

static int16_t *run(fe *f, const int16_t *in, size_t n, int rate, size_t *m)
{
    size_t cap = fe_out_len(n, rate);
    int16_t *out = malloc((cap ? cap : 1) * sizeof *out);
    assert_non_null(out);
    *m = 12345;
    assert_int_equal(fe_run(f, in, n, rate, out, cap, m), CS_OK);
    assert_int_equal(*m, cap);
    return out;
}

/* ---------- speech ---------- */

/* goforward.raw ("go forward ten meters"): 16 kHz s16le, 2.8 s. */
static int16_t *load_speech(size_t *n)
{
    char path[4096];
    const char *deb = "/usr/share/pocketsphinx/test/data/goforward.raw";
    size_t len = 0;
    char *raw = NULL;
    if (ts_shared_path(path, sizeof path, "speech/pocketsphinx_goforward.raw"))
        raw = ts_read_file(path, &len);
    if (!raw)
        raw = ts_read_file(deb, &len);
    if (!raw)
        return NULL;
    *n = len / 2;
    int16_t *x = malloc(*n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < *n; i++)
        x[i] = (int16_t)((uint16_t)(unsigned char)raw[2 * i] |
                         (uint16_t)((unsigned char)raw[2 * i + 1] << 8));
    free(raw);
    return x;
}

static int16_t sat(double v)
{
    return v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)lrint(v);
}

/* 16 -> 8 kHz: a 101-tap Hann-windowed sinc low-pass at 3.6 kHz, every other
 * sample (what a telephone channel keeps). */
static int16_t *down8k(const int16_t *x, size_t n, size_t *m)
{
    enum { H = 50 };
    double h[2 * H + 1], sum = 0;
    for (int j = -H; j <= H; j++) {
        double fc = 3600.0 / 16000, t = 2 * fc * j;
        double sinc = j == 0 ? 1.0 : sin(M_PI * t) / (M_PI * t);
        h[j + H] = sinc * (0.5 + 0.5 * cos(M_PI * j / (H + 1)));
        sum += h[j + H];
    }
    *m = n / 2;
    int16_t *y = malloc(*m * sizeof *y);
    assert_non_null(y);
    for (size_t k = 0; k < *m; k++) {
        double acc = 0;
        for (int j = -H; j <= H; j++) {
            int64_t u = (int64_t)(2 * k) - j;
            if (u >= 0 && (size_t)u < n)
                acc += h[j + H] / sum * x[u];
        }
        y[k] = sat(acc);
    }
    return y;
}

/* x scaled so its active level is target dBFS. */
static int16_t *at_level(const int16_t *x, size_t n, int rate, double target)
{
    double g = pow(10.0, (target - active_dbfs(x, n, rate)) / 20.0);
    int16_t *y = malloc(n * sizeof *y);
    assert_non_null(y);
    for (size_t i = 0; i < n; i++)
        y[i] = sat(g * x[i]);
    return y;
}

/* ---------- tests ---------- */

static void test_plain_tone(void **state)
{
    (void)state;
    fe *f = fe_make(0, 1.0, -60, -20);
    size_t n = 8000, m;
    int16_t *x = tone(n, 8000, 1000, 10000);
    int16_t *y = run(f, x, n, 8000, &m);
    assert_int_equal(m, 16000);
    /* away from the edges (filter length), 875 whole periods at 16 kHz */
    double a1 = amplitude(y, 1000, 15000, 16000, 1000);
    double a7 = amplitude(y, 1000, 15000, 16000, 7000);
    double ain = amplitude(x, 500, 7500, 8000, 1000);
    printf("# plain: 1 kHz %.2f dB re input, 7 kHz image %.1f dB re tone\n", db(a1 / ain),
           db(a7 / a1));
    assert_true(fabs(db(a1 / ain)) < 0.1);
    assert_true(db(a7 / a1) < -50.0);
    /* 3 kHz, near the band edge: still within 0.5 dB */
    free(x);
    free(y);
    x = tone(n, 8000, 3000, 10000);
    y = run(f, x, n, 8000, &m);
    double a3 = amplitude(y, 1000, 15000, 16000, 3000);
    double i5 = amplitude(y, 1000, 15000, 16000, 5000);
    printf("# plain: 3 kHz %.2f dB, 5 kHz image %.1f dB\n", db(a3 / 10000), db(i5 / a3));
    assert_true(fabs(db(a3 / 10000)) < 0.5);
    assert_true(db(i5 / a3) < -40.0);
    free(x);
    free(y);
    fe_free(f);
}

static void test_plain_no_delay(void **state)
{
    (void)state;
    fe *f = fe_make(0, 1.0, -60, -20);
    const double fr[] = {310, 1130, 2270, 2900}, ph[] = {0.1, 1.7, 2.9, 4.4};
    size_t n = 4000, m;
    int16_t *x = malloc(n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < n; i++) {
        double v = 0;
        for (int k = 0; k < 4; k++)
            v += 5000 * sin(2 * M_PI * fr[k] * (double)i / 8000 + ph[k]);
        x[i] = (int16_t)lrint(v);
    }
    int16_t *y = run(f, x, n, 8000, &m);
    double max_even = 0, max_odd = 0;
    for (size_t k = 64; k + 64 < n; k++) {
        double e = fabs((double)y[2 * k] - x[k]);
        double t = ((double)k + 0.5) / 8000, v = 0;
        for (int q = 0; q < 4; q++)
            v += 5000 * sin(2 * M_PI * fr[q] * t + ph[q]);
        double o = fabs((double)y[2 * k + 1] - v);
        if (e > max_even)
            max_even = e;
        if (o > max_odd)
            max_odd = o;
    }
    printf("# no delay: max |y[2k] - x[k]| = %.1f, max |y[2k+1] - x(k+1/2)| = %.1f (peak 20000)\n",
           max_even, max_odd);
    assert_true(max_even < 20); /* 0.1 % of the peak */
    assert_true(max_odd < 40);  /* 0.2 %: 2.9 kHz is near the band edge */
    free(x);
    free(y);
    fe_free(f);
}

static void test_fold(void **state)
{
    (void)state;
    size_t n = 8000, m;
    int16_t *x = tone(n, 8000, 1000, 8000);
    const double gains[] = {1.0, 0.5, 0.25};
    for (int g = 0; g < 3; g++) {
        fe *f = fe_make(FE_FOLD, gains[g], -60, -20);
        int16_t *y = run(f, x, n, 8000, &m);
        double a1 = amplitude(y, 1000, 15000, 16000, 1000);
        double a7 = amplitude(y, 1000, 15000, 16000, 7000);
        printf("# fold image_gain %.2f: tone %.2f dB, 7 kHz image %.2f dB re tone\n", gains[g],
               db(a1 / 8000), db(a7 / a1));
        assert_true(fabs(db(a1 / 8000)) < 0.1);
        assert_true(fabs(db(a7 / a1) - db(gains[g])) < 0.5);
        free(y);
        fe_free(f);
    }
    /* fold is an 8 kHz step: 16 kHz input is untouched */
    fe *f = fe_make(FE_FOLD, 1.0, -60, -20);
    int16_t *x16 = tone(n, 16000, 1000, 8000);
    int16_t *y = run(f, x16, n, 16000, &m);
    assert_memory_equal(y, x16, n * sizeof *y);
    free(y);
    free(x16);
    fe_free(f);
    free(x);
}

static void check_floor(double floor_dbfs)
{
    size_t n = 16000, m;
    int16_t *zero = calloc(n, sizeof *zero);
    assert_non_null(zero);
    fe *f = fe_make(FE_FLOOR, 1.0, floor_dbfs, -20);
    int16_t *y = run(f, zero, n, 8000, &m);
    double level = rms_dbfs(y + 64, m - 128);
    static double psd[NB / 2 + 1];
    welch(y + 64, m - 128, psd);
    double lo = band(psd, 16000, 0, 3500), hi = band(psd, 16000, 4500, 8000);
    printf("# floor %.0f dBFS: RMS %.2f dBFS, energy <3.5 kHz %.1f dB re >4.5 kHz\n", floor_dbfs,
           level, 10 * log10(lo / hi));
    assert_true(fabs(level - floor_dbfs) < 1.0);
    assert_true(10 * log10(lo / hi) < -30.0);
    free(y);
    fe_free(f);
    free(zero);
}

static void test_floor(void **state)
{
    (void)state;
    check_floor(-60);
    check_floor(-40);
    check_floor(-30);
    /* the tone is left alone, the noise sits above it in frequency */
    size_t n = 8000, m;
    int16_t *x = tone(n, 8000, 1000, 8000);
    fe *f = fe_make(FE_FLOOR, 1.0, -40, -20);
    int16_t *y = run(f, x, n, 8000, &m);
    double a1 = amplitude(y, 1000, 15000, 16000, 1000);
    assert_true(fabs(db(a1 / 8000)) < 0.1);
    free(y);
    free(x);
    fe_free(f);
}

static void check_norm(const int16_t *sp, size_t n, int rate, double in_dbfs, double target)
{
    int16_t *x = at_level(sp, n, rate, in_dbfs);
    double in_level = active_dbfs(x, n, rate);
    fe *f = fe_make(FE_NORM, 1.0, -60, target);
    size_t m;
    int16_t *y = run(f, x, n, rate, &m);
    double out_level = active_dbfs(y, m, 16000);
    printf("# norm %d Hz: speech at %.1f dBFS -> %.2f dBFS (target %.0f)\n", rate, in_level,
           out_level, target);
    assert_true(fabs(out_level - target) < 1.0);
    free(y);
    fe_free(f);
    free(x);
}

static void test_norm_speech(void **state)
{
    (void)state;
    size_t n;
    int16_t *sp = load_speech(&n);
    if (!sp) {
        printf("# skip: no goforward.raw (../shared/data/speech or pocketsphinx-testdata)\n");
        skip();
    }
    check_norm(sp, n, 16000, -40, -20);
    check_norm(sp, n, 16000, -10, -20);
    check_norm(sp, n, 16000, -25, -30);
    size_t n8;
    int16_t *sp8 = down8k(sp, n, &n8);
    check_norm(sp8, n8, 8000, -40, -20);
    check_norm(sp8, n8, 8000, -10, -20);
    free(sp8);
    free(sp);
}

static void test_norm_silence(void **state)
{
    (void)state;
    size_t n = 8000, m;
    int16_t *zero = calloc(n, sizeof *zero);
    assert_non_null(zero);
    const unsigned steps[] = {FE_NORM, FE_NORM | FE_FOLD, 0};
    for (int s = 0; s < 3; s++) {
        fe *f = fe_make(steps[s], 1.0, -60, -20);
        for (int rate = 8000; rate <= 16000; rate += 8000) {
            int16_t *y = run(f, zero, n, rate, &m);
            for (size_t i = 0; i < m; i++)
                assert_int_equal(y[i], 0);
            free(y);
        }
        fe_free(f);
    }
    /* a near-silent segment (one LSB of dither) is not blown up by 30 dB */
    for (size_t i = 0; i < n; i += 2)
        zero[i] = 1;
    fe *f = fe_make(FE_NORM, 1.0, -60, -20);
    int16_t *y = run(f, zero, n, 16000, &m);
    for (size_t i = 0; i < m; i++)
        assert_true(abs(y[i]) <= 1);
    free(y);
    fe_free(f);
    free(zero);
}

static void test_norm_saturates(void **state)
{
    (void)state;
    size_t n;
    int16_t *sp = load_speech(&n);
    if (!sp) {
        printf("# skip: no goforward.raw (../shared/data/speech or pocketsphinx-testdata)\n");
        skip();
    }
    /* at -30 dBFS brought to -6: +24 dB, speech peaks go past full scale */
    int16_t *x = at_level(sp, n, 16000, -30);
    double g = pow(10.0, (-6 - active_dbfs(x, n, 16000)) / 20.0);
    fe *f = fe_make(FE_NORM, 1.0, -60, -6);
    size_t m, clipped = 0;
    int16_t *y = run(f, x, n, 16000, &m);
    for (size_t i = 0; i < n; i++) {
        double want = g * x[i];
        if (want >= 32767) {
            assert_int_equal(y[i], 32767);
            clipped++;
        } else if (want <= -32768) {
            assert_int_equal(y[i], -32768);
            clipped++;
        } else {
            assert_true(fabs(y[i] - want) <= 1.0 + fabs(want) * 1e-3);
        }
    }
    printf("# saturation: %zu of %zu samples clipped, none wrapped\n", clipped, n);
    assert_true(clipped > 0);
    free(y);
    /* 8 kHz: the interpolated output never changes sign against its
     * unclipped value either */
    size_t n8;
    int16_t *x8 = down8k(x, n, &n8);
    y = run(f, x8, n8, 8000, &m);
    size_t rails = 0;
    for (size_t i = 0; i < m; i++)
        rails += y[i] == 32767 || y[i] == -32768;
    for (size_t k = 0; k < n8; k++)
        if (abs(x8[k]) > 2000)
            assert_true((y[2 * k] > 0) == (x8[k] > 0));
    assert_true(rails > 0);
    free(y);
    free(x8);
    fe_free(f);
    free(x);
    free(sp);
}

static void test_16k_passthrough(void **state)
{
    (void)state;
    size_t n = 16000, m;
    int16_t *x = malloc(n * sizeof *x);
    assert_non_null(x);
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (int16_t)(s >> 16);
    }
    fe *f = fe_make(FE_FOLD | FE_FLOOR, 1.0, -40, -20);
    int16_t *y = run(f, x, n, 16000, &m);
    assert_int_equal(m, n);
    assert_memory_equal(y, x, n * sizeof *x);
    free(y);
    fe_free(f);
    /* with norm: one gain for the whole segment */
    for (size_t i = 0; i < n; i++)
        x[i] = (int16_t)(x[i] / 64);
    f = fe_make(FE_NORM | FE_FOLD | FE_FLOOR, 1.0, -40, -20);
    y = run(f, x, n, 16000, &m);
    double g = pow(10.0, (-20 - active_dbfs(x, n, 16000)) / 20.0);
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(y[i] - g * x[i]) <= 0.5 + 1e-6 * fabs(g * x[i]));
    free(y);
    fe_free(f);
    free(x);
}

static void test_steps_names(void **state)
{
    (void)state;
    char buf[64], err[256];
    unsigned s;
    for (unsigned bits = 0; bits < 8; bits++) {
        fe_format_steps(bits, buf, sizeof buf);
        s = 99;
        assert_int_equal(fe_parse_steps(buf, &s, err, sizeof err), CS_OK);
        assert_int_equal(s, bits);
    }
    fe_format_steps(0, buf, sizeof buf);
    assert_string_equal(buf, "plain");
    fe_format_steps(FE_FOLD | FE_FLOOR | FE_NORM, buf, sizeof buf);
    assert_string_equal(buf, "fold,floor,norm");
    assert_int_equal(fe_parse_steps("norm,fold", &s, err, sizeof err), CS_OK);
    assert_int_equal(s, FE_FOLD | FE_NORM);
    assert_int_equal(fe_parse_steps("plain", &s, err, sizeof err), CS_OK);
    assert_int_equal(s, 0);
    fe_opts o;
    fe_opts_default(&o);
    assert_int_equal(fe_parse_steps("default", &s, err, sizeof err), CS_OK);
    assert_int_equal(s, o.steps);
    assert_int_equal(fe_parse_steps("default,floor", &s, err, sizeof err), CS_OK);
    assert_int_equal(s, o.steps | FE_FLOOR);
    /* unknown words: refused, named, *steps untouched */
    const char *bad[] = {"fold,bogus", "", "fold,,norm", "Fold", "fold ", "norm,", "foldx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = 77;
        err[0] = '\0';
        assert_int_equal(fe_parse_steps(bad[i], &s, err, sizeof err), CS_ERR_INVAL);
        assert_int_equal(s, 77);
        assert_non_null(strstr(err, "is not one of plain, fold, floor, norm, default"));
    }
    assert_int_equal(fe_parse_steps("fold,bogus", &s, err, sizeof err), CS_ERR_INVAL);
    assert_non_null(strstr(err, "'bogus'"));
    assert_int_equal(fe_parse_steps("bogus", &s, NULL, 0), CS_ERR_INVAL);
    assert_int_equal(fe_parse_steps(NULL, &s, err, sizeof err), CS_ERR_INVAL);
    /* a short buffer truncates, never overruns */
    char tiny[6];
    memset(tiny, 'x', sizeof tiny);
    fe_format_steps(FE_FOLD | FE_FLOOR | FE_NORM, tiny, 5);
    assert_true(strlen(tiny) < 5);
    assert_int_equal(tiny[5], 'x');
}

static void test_errors(void **state)
{
    (void)state;
    fe_opts o;
    fe_opts_default(&o);
    fe *f = NULL;
    fe_opts bad = o;
    bad.image_gain = 1.5;
    assert_int_equal(fe_new(&bad, &f), CS_ERR_INVAL);
    bad = o;
    bad.floor_dbfs = -10;
    assert_int_equal(fe_new(&bad, &f), CS_ERR_INVAL);
    bad = o;
    bad.norm_dbfs = -50;
    assert_int_equal(fe_new(&bad, &f), CS_ERR_INVAL);
    bad = o;
    bad.norm_dbfs = NAN;
    assert_int_equal(fe_new(&bad, &f), CS_ERR_INVAL);
    bad = o;
    bad.steps = 8;
    assert_int_equal(fe_new(&bad, &f), CS_ERR_INVAL);
    assert_null(f);
    assert_int_equal(fe_new(&o, &f), CS_OK);

    assert_int_equal(fe_out_len(100, 8000), 200);
    assert_int_equal(fe_out_len(100, 16000), 100);
    int16_t in[100] = {0}, out[200];
    size_t m = 0;
    /* a short output buffer */
    assert_int_equal(fe_run(f, in, 100, 8000, out, 199, &m), CS_ERR_OVERFLOW);
    assert_int_equal(fe_run(f, in, 100, 16000, out, 99, &m), CS_ERR_OVERFLOW);
    assert_int_equal(fe_run(f, in, 100, 8000, NULL, 0, &m), CS_ERR_OVERFLOW);
    /* rates other than 8000 and 16000 */
    const int rates[] = {0, -8000, 11025, 22050, 32000, 44100, 48000, 8001};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++)
        assert_int_equal(fe_run(f, in, 100, rates[i], out, 200, &m), CS_ERR_INVAL);
    assert_int_equal(fe_run(NULL, in, 100, 8000, out, 200, &m), CS_ERR_INVAL);
    assert_int_equal(fe_run(f, NULL, 100, 8000, out, 200, &m), CS_ERR_INVAL);
    assert_int_equal(fe_run(f, in, 100, 8000, out, 200, NULL), CS_ERR_INVAL);
    /* empty and tiny segments */
    assert_int_equal(fe_run(f, NULL, 0, 8000, out, 0, &m), CS_OK);
    assert_int_equal(m, 0);
    in[0] = 1000;
    assert_int_equal(fe_run(f, in, 1, 8000, out, 2, &m), CS_OK);
    assert_int_equal(m, 2);
    assert_int_equal(fe_run(f, in, 3, 16000, out, 3, &m), CS_OK);
    assert_int_equal(m, 3);
    fe_free(f);
    fe_free(NULL);
}

static void test_deterministic(void **state)
{
    (void)state;
    size_t n = 4000, m1, m2;
    int16_t *x = tone(n, 8000, 440, 3000);
    fe_opts o;
    fe_opts_default(&o);
    o.steps = FE_FOLD | FE_FLOOR | FE_NORM;
    o.floor_dbfs = -40;
    fe *a, *b;
    assert_int_equal(fe_new(&o, &a), CS_OK);
    assert_int_equal(fe_new(&o, &b), CS_OK);
    int16_t *y1 = run(a, x, n, 8000, &m1);
    int16_t *y2 = run(b, x, n, 8000, &m2);
    int16_t *y3 = run(a, x, n, 8000, &m2); /* the same front end again */
    assert_memory_equal(y1, y2, m1 * sizeof *y1);
    assert_memory_equal(y1, y3, m1 * sizeof *y1);
    fe_free(b);
    o.seed ^= 0x5555;
    assert_int_equal(fe_new(&o, &b), CS_OK);
    int16_t *y4 = run(b, x, n, 8000, &m2);
    assert_memory_not_equal(y1, y4, m1 * sizeof *y1);
    free(y1);
    free(y2);
    free(y3);
    free(y4);
    fe_free(a);
    fe_free(b);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_tone),     cmocka_unit_test(test_plain_no_delay),
        cmocka_unit_test(test_fold),           cmocka_unit_test(test_floor),
        cmocka_unit_test(test_norm_speech),    cmocka_unit_test(test_norm_silence),
        cmocka_unit_test(test_norm_saturates), cmocka_unit_test(test_16k_passthrough),
        cmocka_unit_test(test_steps_names),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
