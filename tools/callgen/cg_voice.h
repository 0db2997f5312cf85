/*
 * cg_voice.h — the speech callgen puts on the wire, and the per-channel tracks.
 *
 * All audio is real speech or a real speech synthesiser, never tones:
 *  - recorded speech with reference transcripts from Debian's
 *    pocketsphinx-testdata (/usr/share/pocketsphinx/test/data): the LibriVox
 *    "Sense and Sensibility" reader speaks for the agent side, the "cards",
 *    "goforward", "numbers" and TI-digits speakers for the customer side, so
 *    the two directions of a call are different voices;
 *  - the scripted phrases a QA scorecard looks for (greeting, identity
 *    verification, closing, a forbidden phrase) synthesised once by Festival
 *    with the CMU US SLT HTS voice (festvox-us-slt-hts) and cached as WAV
 *    files, so their exact words are known.
 * Every clip is held at 16 kHz mono. Text is normalised: lower case words
 * separated by single spaces, no punctuation.
 *
 * A cg_track is one channel of one call on the call's clock (16 kHz): clips
 * are mixed in at given offsets; the rest stays digital silence unless line
 * noise is added. Ownership: the bank owns its clips; a track owns its buffer.
 */
#ifndef CALLGEN_VOICE_H
#define CALLGEN_VOICE_H

#include <stddef.h>
#include <stdint.h>

#include "cg_rng.h"

#define CG_VOICE_RATE 16000

typedef enum cg_role {
    CG_ROLE_AGENT = 0,
    CG_ROLE_CUSTOMER = 1
} cg_role;

typedef enum cg_phrase {
    CG_PHRASE_NONE = 0, /* ordinary speech */
    CG_PHRASE_GREETING,
    CG_PHRASE_VERIFICATION,
    CG_PHRASE_CLOSING,
    CG_PHRASE_FORBIDDEN,
    CG_PHRASE__COUNT
} cg_phrase;

typedef struct cg_clip {
    char id[64];        /* "librivox-0870", "cards-003", "tts-greeting" */
    char speaker[32];   /* "librivox-austen", "cards", "slt-hts" */
    cg_role role;       /* which side of a call says it */
    cg_phrase phrase;   /* CG_PHRASE_NONE for ordinary speech */
    char *text;         /* normalised transcript, owned by the bank */
    int16_t *pcm;       /* 16 kHz mono samples, owned by the bank */
    size_t nsamples;
} cg_clip;

typedef struct cg_bank {
    cg_clip *clips;
    size_t n;
} cg_bank;

typedef struct cg_bank_opts {
    const char *testdata_dir; /* NULL: /usr/share/pocketsphinx/test/data */
    const char *tts_cache;    /* directory for synthesised phrases (created); NULL: no phrases */
    const char *text2wave;    /* NULL: "text2wave" from PATH */
} cg_bank_opts;

/* Loads every clip. Fails with a message naming the missing file or package
 * (e.g. "apt-get install pocketsphinx-testdata"). CS_OK or negative cs_err. */
int cg_bank_load(cg_bank *b, const cg_bank_opts *o, char *err, size_t errcap);
void cg_bank_free(cg_bank *b);

/* A random ordinary-speech clip for the role (never a phrase clip). */
const cg_clip *cg_bank_pick(const cg_bank *b, cg_role role, cg_rng *rng);
/* The clip of a scripted phrase, or NULL when phrases were not loaded. */
const cg_clip *cg_bank_phrase(const cg_bank *b, cg_phrase p);
/* "greeting", "verification", "closing", "forbidden" ("" for NONE). */
const char *cg_phrase_name(cg_phrase p);

/* Duration of a clip in milliseconds (rounded down). */
uint64_t cg_clip_ms(const cg_clip *c);

typedef struct cg_track {
    int16_t *pcm; /* 16 kHz mono, owned */
    size_t n;
} cg_track;

/* A silent track of duration_ms. CS_OK or CS_ERR_NOMEM. */
int cg_track_init(cg_track *t, uint64_t duration_ms);
/* Mixes the clip in starting at at_ms (saturating add); the part past the end
 * of the track is dropped. Returns CS_OK, or CS_ERR_INVAL if at_ms is past the end. */
int cg_track_place(cg_track *t, const cg_clip *c, uint64_t at_ms);
/* Adds deterministic low-level line noise at the given level (e.g. -60 dBFS). */
void cg_track_add_noise(cg_track *t, uint64_t seed, double dbfs);
/* 20 ms frame k (CG_FRAME_SAMPLES samples at 16 kHz); zero-padded past the end. */
void cg_track_frame(const cg_track *t, size_t k, int16_t *out);
/* Writes the track as a 16-bit PCM WAV at rate 16000, or 8000 through the same
 * decimator the narrowband encoders use. CS_OK or CS_ERR_IO. */
int cg_track_write_wav(const cg_track *t, const char *path, int rate);
void cg_track_free(cg_track *t);

#endif
