/*
 * frontend.c — see frontend.h.
 */
#include "frontend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define FE_HALF     31 /* taps each side of the centre: 63 in all */
#define FE_NTAPS    (2 * FE_HALF + 1)
#define FE_CUTOFF   3900.0
#define FE_RATE_OUT 16000
#define FE_DEFAULT  (FE_FOLD | FE_NORM)

struct fe {
    fe_opts o;
    double lp[FE_NTAPS];   /* interpolation low-pass, passband gain 2 (zero-stuffed input) */
    double hp[FE_NTAPS];   /* noise high-pass, passband gain 1 */
    double noise_scale;    /* white-noise RMS that gives floor_dbfs after hp */
};

void fe_opts_default(fe_opts *o)
{
    o->steps = FE_DEFAULT;
    o->image_gain = 1.0;
    o->floor_dbfs = -60.0;
    o->norm_dbfs = -20.0;
    o->seed = 0x63616c6c73636f70ull; /* "callscop" */
}

static const struct {
    const char *name;
    unsigned bits;
} step_names[] = {{"fold", FE_FOLD}, {"floor", FE_FLOOR}, {"norm", FE_NORM}};
#define N_STEP_NAMES (sizeof step_names / sizeof step_names[0])

int fe_parse_steps(const char *spec, unsigned *steps, char *err, size_t errcap)
{
    if (!spec || !steps)
        return CS_ERR_INVAL;
    unsigned s = 0;
    const char *p = spec;
    for (;;) {
        size_t len = strcspn(p, ",");
        unsigned bits = 0;
        int known = 0;
        if (len == 5 && strncmp(p, "plain", 5) == 0) {
            known = 1;
        } else if (len == 7 && strncmp(p, "default", 7) == 0) {
            bits = FE_DEFAULT;
            known = 1;
        } else {
            for (size_t i = 0; i < N_STEP_NAMES; i++) {
                if (strlen(step_names[i].name) == len && strncmp(p, step_names[i].name, len) == 0) {
                    bits = step_names[i].bits;
                    known = 1;
                }
            }
        }
        if (!known) {
            if (err && errcap)
                snprintf(err, errcap,
                         "front end step '%.*s' is not one of plain, fold, floor, norm, default",
                         (int)(len > 40 ? 40 : len), p);
            return CS_ERR_INVAL;
        }
        s |= bits;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *steps = s;
    return CS_OK;
}

void fe_format_steps(unsigned steps, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < N_STEP_NAMES; i++) {
        if (!(steps & step_names[i].bits))
            continue;
        int n = snprintf(out + used, cap - used, "%s%s", used ? "," : "", step_names[i].name);
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
    if (used == 0)
        snprintf(out, cap, "plain");
}

int fe_new(const fe_opts *o, fe **out)
{
    if (!o || !out)
        return CS_ERR_INVAL;
    *out = NULL;
    if (o->steps & ~(unsigned)(FE_FOLD | FE_FLOOR | FE_NORM))
        return CS_ERR_INVAL;
    if (!(o->image_gain >= 0.0 && o->image_gain <= 1.0))
        return CS_ERR_INVAL;
    if (!(o->floor_dbfs >= -90.0 && o->floor_dbfs <= -20.0))
        return CS_ERR_INVAL;
    if (!(o->norm_dbfs >= -40.0 && o->norm_dbfs <= -6.0))
        return CS_ERR_INVAL;
    fe *f = calloc(1, sizeof *f);
    if (!f)
        return CS_ERR_NOMEM;
    f->o = *o;
    /* Windowed sinc at 16 kHz, cutoff FE_CUTOFF, Blackman window. */
    double fc = FE_CUTOFF / FE_RATE_OUT, sum_even = 0, sum_odd = 0;
    for (int j = -FE_HALF; j <= FE_HALF; j++) {
        double x = 2.0 * fc * j;
        double sinc = j == 0 ? 1.0 : sin(M_PI * x) / (M_PI * x);
        double w = 0.42 + 0.5 * cos(M_PI * j / (FE_HALF + 1)) + 0.08 * cos(2 * M_PI * j / (FE_HALF + 1));
        double h = 2.0 * fc * sinc * w;
        f->lp[j + FE_HALF] = h;
        if (j % 2 == 0)
            sum_even += h;
        else
            sum_odd += h;
    }
    /* Each polyphase branch sums to 1, so a constant input stays constant:
     * unity gain for the interpolated signal (the zero-stuffed input has
     * only every other sample). */
    double hp_energy = 0;
    for (int j = -FE_HALF; j <= FE_HALF; j++) {
        double *h = &f->lp[j + FE_HALF];
        *h /= (j % 2 == 0) ? sum_even : sum_odd;
        double hh = (j % 2 == 0 ? 1.0 : -1.0) * *h * 0.5;
        f->hp[j + FE_HALF] = hh;
        hp_energy += hh * hh;
    }
    /* White noise of RMS s through hp has RMS s * sqrt(sum hp^2). */
    f->noise_scale = 32768.0 * pow(10.0, o->floor_dbfs / 20.0) / sqrt(hp_energy);
    *out = f;
    return CS_OK;
}

void fe_free(fe *f)
{
    free(f);
}

size_t fe_out_len(size_t n, int rate)
{
    return rate == 8000 ? 2 * n : n;
}

static int16_t sat16(double v)
{
    if (v >= 32767.0)
        return 32767;
    if (v <= -32768.0)
        return -32768;
    return (int16_t)lrint(v);
}

/* Gain in linear terms that brings the segment's active level to target. */
static double norm_gain(const int16_t *in, size_t n, int rate, double target_dbfs)
{
    size_t frame = (size_t)rate / 50; /* 20 ms */
    if (n < frame)
        frame = n;
    if (frame == 0)
        return 1.0;
    size_t nframes = n / frame;
    double max_e = 0;
    for (size_t k = 0; k < nframes; k++) {
        double e = 0;
        for (size_t i = 0; i < frame; i++) {
            double v = in[k * frame + i];
            e += v * v;
        }
        e /= (double)frame;
        if (e > max_e)
            max_e = e;
    }
    if (max_e < 1.0) /* digital silence or nearly: leave it alone */
        return 1.0;
    double thresh = max_e * 1e-3, sum = 0; /* frames within 30 dB of the loudest */
    size_t cnt = 0;
    for (size_t k = 0; k < nframes; k++) {
        double e = 0;
        for (size_t i = 0; i < frame; i++) {
            double v = in[k * frame + i];
            e += v * v;
        }
        e /= (double)frame;
        if (e >= thresh) {
            sum += e;
            cnt++;
        }
    }
    double level_db = 10.0 * log10(sum / (double)cnt / (32768.0 * 32768.0));
    double gain_db = target_dbfs - level_db;
    if (gain_db > 30.0)
        gain_db = 30.0;
    if (gain_db < -20.0)
        gain_db = -20.0;
    return pow(10.0, gain_db / 20.0);
}

/* xorshift64*, returning a uniform double in [-0.5, 0.5). */
static double rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0 - 0.5;
}

int fe_run(fe *f, const int16_t *in, size_t n, int rate, int16_t *out, size_t cap, size_t *out_n)
{
    if (!f || (!in && n) || !out_n || (rate != 8000 && rate != 16000))
        return CS_ERR_INVAL;
    size_t m = fe_out_len(n, rate);
    if (cap < m || (!out && m))
        return CS_ERR_OVERFLOW;
    *out_n = m;
    double g = (f->o.steps & FE_NORM) ? norm_gain(in, n, rate, f->o.norm_dbfs) : 1.0;
    if (rate == 16000) {
        for (size_t i = 0; i < n; i++)
            out[i] = sat16(g * in[i]);
        return CS_OK;
    }
    double image = (f->o.steps & FE_FOLD) ? f->o.image_gain : 0.0;
    int floor = (f->o.steps & FE_FLOOR) != 0;
    uint64_t seed = f->o.seed ? f->o.seed : 1;
    /* Noise history for the high-pass: a ring of FE_NTAPS white samples. */
    double ring[FE_NTAPS] = {0};
    size_t ring_pos = 0;
    if (floor) {
        for (size_t i = 0; i < FE_HALF; i++) {
            ring[ring_pos] = rng_next(&seed) * sqrt(12.0) * f->noise_scale;
            ring_pos = (ring_pos + 1) % FE_NTAPS;
        }
    }
    for (size_t t = 0; t < m; t++) {
        /* z[u] = 2 x[u/2] for even u, 0 for odd; L[t] = sum_j lp[j] z[t - j]
         * over the j with t - j even. */
        double acc = 0;
        int j0 = (t % 2 == 0) ? -FE_HALF + 1 : -FE_HALF; /* first j with t - j even */
        if (((int64_t)t - j0) % 2 != 0)
            j0++;
        for (int j = j0; j <= FE_HALF; j += 2) {
            int64_t u = (int64_t)t - j;
            if (u < 0 || (size_t)u >= m)
                continue;
            acc += f->lp[j + FE_HALF] * g * in[u / 2];
        }
        double y = acc;
        if (image > 0) {
            double z = (t % 2 == 0) ? 2.0 * g * in[t / 2] : 0.0;
            y += image * (z - acc);
        }
        if (floor) {
            ring[ring_pos] = rng_next(&seed) * sqrt(12.0) * f->noise_scale;
            ring_pos = (ring_pos + 1) % FE_NTAPS;
            /* ring now holds the last FE_NTAPS samples, oldest at ring_pos */
            double nz = 0;
            for (size_t k = 0; k < FE_NTAPS; k++)
                nz += f->hp[k] * ring[(ring_pos + k) % FE_NTAPS];
            y += nz;
        }
        out[t] = sat16(y);
    }
    return CS_OK;
}
