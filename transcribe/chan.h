/*
 * chan.h — one channel of a recording through the front end and the
 * recogniser, span by span; and reading a recording into channels.
 *
 * tx_audio_read opens a recording with libsndfile (FLAC, WAV, Ogg Opus — the
 * archive formats — or any other libsndfile reads) and returns its channels
 * de-interleaved as 16-bit PCM. Only 8000 and 16000 Hz are accepted (the
 * archive writes nothing else); anything else is CS_ERR_UNSUPPORTED with the
 * rate in the message. Files are capped at TX_AUDIO_MAX_S seconds.
 *
 * tx_channel runs fe_run + asr_decode over each span and keeps the
 * utterances that have words, in time order.
 *
 * Ownership: tx_audio owns its sample arrays (tx_audio_free); the utterance
 * array from tx_channel is the caller's (tx_utts_free).
 */
#ifndef CALLSCOPE_CHAN_H
#define CALLSCOPE_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"
#include "frontend.h"
#include "segment.h"

#define TX_AUDIO_MAX_S    (6 * 3600) /* longest recording read: 6 h */
#define TX_MAX_CHANNELS   2

typedef struct tx_audio {
    int rate;                        /* 8000 or 16000 */
    int channels;                    /* 1 or 2 */
    size_t frames;                   /* samples per channel */
    int16_t *pcm[TX_MAX_CHANNELS];   /* channel c's samples, frames long */
} tx_audio;

/* CS_OK; CS_ERR_NOTFOUND (no such file), CS_ERR_IO (unreadable),
 * CS_ERR_MALFORMED (libsndfile cannot parse it, or it ends early),
 * CS_ERR_UNSUPPORTED (rate or channel count), CS_ERR_LIMIT (too long),
 * CS_ERR_NOMEM. err gets a sentence naming the file. */
int tx_audio_read(const char *path, tx_audio *out, char *err, size_t errcap);
void tx_audio_free(tx_audio *a);

/* Runs the spans of one channel. *out and *nout get the non-empty utterances.
 * CS_OK or the first error of fe_run/asr_decode (CS_ERR_CODEC, ...). */
int tx_channel(asr *a, fe *f, const int16_t *pcm, size_t n, int rate, const seg_span *spans,
               size_t nspans, asr_utt **out, size_t *nout);
void tx_utts_free(asr_utt *u, size_t n);

#endif
