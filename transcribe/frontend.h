/*
 * frontend.h — telephone audio in, what the recogniser's wideband model
 * expects out: 16-bit PCM at 16 kHz.
 *
 * Why. Debian's en-us acoustic model was trained on 16 kHz speech: its
 * mel filter bank spans 130..6800 Hz. Narrowband telephone audio (G.711,
 * G.729) has nothing above 4 kHz, so after a clean 8 -> 16 kHz resampling
 * the upper filters see digital silence and the model returns almost
 * nothing. The steps below give the upper band something speech-like or at
 * least noise-like; bench/wer measures each of them (docs/transcribe.md has
 * the figures and the choice of default).
 *
 * Steps (a set; the order they run in is fixed):
 *   FE_NORM   level normalisation of the segment, before anything else: the
 *             active speech level (the energy mean of the 20 ms frames within
 *             30 dB of the loudest one) is brought to norm_dbfs, the gain
 *             limited to [-20, +30] dB, samples saturated.
 *   (always)  8 kHz input: 2x interpolation, a 63-tap Blackman-windowed sinc
 *             low-pass at 3900 Hz (centred, no delay: output sample 2k is
 *             input sample k). 16 kHz input is copied.
 *   FE_FOLD   8 kHz input only: spectral folding. The mirror image of the
 *             0..4 kHz band that zero-stuffing creates (and the low-pass
 *             removes) is added back at image_gain (1.0 = plain zero-stuffing,
 *             the 4..8 kHz band a mirror of 0..4 kHz at equal level).
 *   FE_FLOOR  8 kHz input only: white noise high-passed above 4.1 kHz (the
 *             low-pass taps modulated by (-1)^n) at floor_dbfs RMS, from a
 *             xorshift generator seeded per call of fe_run (deterministic).
 *
 * Ownership: fe_new allocates the front end (taps, scratch), fe_free frees
 * it. fe_run writes into the caller's buffer. One front end per thread; no
 * globals.
 */
#ifndef CALLSCOPE_FRONTEND_H
#define CALLSCOPE_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

enum {
    FE_FOLD = 1u << 0,
    FE_FLOOR = 1u << 1,
    FE_NORM = 1u << 2,
};

typedef struct fe_opts {
    unsigned steps;    /* FE_* */
    double image_gain; /* FE_FOLD: 0..1; default 1.0 */
    double floor_dbfs; /* FE_FLOOR: -90..-20 dBFS RMS; default -60 */
    double norm_dbfs;  /* FE_NORM: target active speech level, -40..-6 dBFS; default -20 */
    uint64_t seed;     /* FE_FLOOR noise seed */
} fe_opts;

/* The defaults above with steps = the default set (docs/transcribe.md). */
void fe_opts_default(fe_opts *o);

/*
 * Parses a comma-separated list of step names into o->steps: "plain" (no
 * step), "fold", "floor", "norm", or "default" (the default set). Returns
 * CS_OK or CS_ERR_INVAL (err says which word).
 */
int fe_parse_steps(const char *spec, unsigned *steps, char *err, size_t errcap);

/* Writes the step set as the canonical list ("plain" when empty). */
void fe_format_steps(unsigned steps, char *out, size_t cap);

typedef struct fe fe;

/* Checks the options' ranges; CS_ERR_INVAL or CS_ERR_NOMEM. */
int fe_new(const fe_opts *o, fe **out);
/* sphinxbase exports an fe_free(fe_t *) of its own, which PocketSphinx calls
 * on its front end when a decoder is freed: a global fe_free of ours would
 * take those calls (the program's symbol wins) and leak sphinxbase's front
 * end. Ours links as cs_fe_free; callers still write fe_free. (A file that
 * includes both this header and <sphinxbase/fe.h> cannot compile: keep them
 * apart, as asr.c and chan.c do.) */
#define fe_free cs_fe_free
void fe_free(fe *f);

/* Output samples fe_run writes for n input samples at rate. */
size_t fe_out_len(size_t n, int rate);

/*
 * Runs the front end over one segment: n samples at rate (8000 or 16000)
 * into out (cap >= fe_out_len(n, rate)); *out_n gets the count. Returns
 * CS_OK, CS_ERR_INVAL (rate, NULL) or CS_ERR_OVERFLOW (cap too small).
 */
int fe_run(fe *f, const int16_t *in, size_t n, int rate, int16_t *out, size_t cap, size_t *out_n);

#endif
