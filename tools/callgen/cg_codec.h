/*
 * cg_codec.h — the telephone codecs callgen encodes with.
 *
 * Real encoders, not imitations: G.711 (own table-free implementation of the
 * ITU-T G.711 companding), G.722 (spandsp), G.729 Annex A (bcg729), Opus
 * (libopus). Input is always one 20 ms frame of 16 kHz mono audio; the
 * narrowband codecs downsample it to 8 kHz with the same filter as
 * cg_track_write_wav(), so the reference audio callgen writes is exactly what
 * went into the encoder.
 *
 * RTP clock rates are the ones RFC 3551 / RFC 7587 fix: G.722 is clocked at
 * 8000 although it samples at 16 kHz; Opus is always 48000 (SDP "opus/48000/2").
 */
#ifndef CALLGEN_CODEC_H
#define CALLGEN_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CG_FRAME_MS      20
#define CG_FRAME_SAMPLES 320 /* 20 ms at 16 kHz */

typedef enum cg_codec {
    CG_CODEC_PCMU = 0,
    CG_CODEC_PCMA,
    CG_CODEC_G722,
    CG_CODEC_G729,
    CG_CODEC_OPUS,
    CG_CODEC__COUNT
} cg_codec;

typedef struct cg_codec_info {
    const char *name;       /* callgen's name: "pcmu", "pcma", "g722", "g729", "opus" */
    const char *encoding;   /* SDP rtpmap encoding name: "PCMU", "PCMA", "G722", "G729", "opus" */
    int payload_type;       /* 0, 8, 9, 18, 111 (dynamic) */
    int rtp_clock;          /* 8000, 8000, 8000, 8000, 48000 */
    int rtpmap_channels;    /* 0 = omit, 2 for "opus/48000/2" */
    int audio_rate;         /* what the codec carries: 8000, or 16000 for G.722 and Opus */
    int ts_per_frame;       /* RTP timestamp increment per 20 ms frame: 160, or 960 for Opus */
    const char *fmtp;       /* SDP fmtp parameters or NULL ("annexb=no", Opus "useinbandfec=1") */
} cg_codec_info;

/* Static description; never NULL for a valid cg_codec. */
const cg_codec_info *cg_codec_get(cg_codec c);
/* "pcmu"/"PCMU"/"g711u", "pcma"/"g711a", "g722", "g729", "opus" -> CS_OK; CS_ERR_INVAL otherwise. */
int cg_codec_parse(const char *name, cg_codec *out);

typedef struct cg_encoder cg_encoder;

/* NULL when the codec library fails to initialise. Caller frees with cg_encoder_free. */
cg_encoder *cg_encoder_new(cg_codec c);
/* Encodes one 20 ms frame of 16 kHz audio (CG_FRAME_SAMPLES samples) into out.
 * Encoder state carries across calls (filters, predictors). Returns the payload
 * length (> 0) or a negative cs_err (CS_ERR_OVERFLOW when cap is too small,
 * CS_ERR_CODEC when the library fails). */
int cg_encoder_encode(cg_encoder *e, const int16_t *pcm16k, uint8_t *out, size_t cap);
void cg_encoder_free(cg_encoder *e);

/* Decoders, used by callgen's own tests to check its encoders round-trip (and
 * by later stages' tests as an independent reference). Output is at the
 * codec's audio_rate; returns samples written or a negative cs_err. */
typedef struct cg_decoder cg_decoder;
cg_decoder *cg_decoder_new(cg_codec c);
int cg_decoder_decode(cg_decoder *d, const uint8_t *payload, size_t len, int16_t *pcm, size_t cap);
void cg_decoder_free(cg_decoder *d);

/* G.711 companding, exposed for tests and for the decode stage's cross-checks. */
uint8_t cg_g711_ulaw_encode(int16_t s);
int16_t cg_g711_ulaw_decode(uint8_t u);
uint8_t cg_g711_alaw_encode(int16_t s);
int16_t cg_g711_alaw_decode(uint8_t a);

/* 2:1 decimator 16 kHz -> 8 kHz (low-pass FIR), stateful across frames. */
typedef struct cg_down2 {
    int16_t hist[64];
    size_t fill;
} cg_down2;
void cg_down2_init(cg_down2 *d);
/* in: n samples at 16 kHz (n even); out: n/2 samples at 8 kHz. */
void cg_down2_run(cg_down2 *d, const int16_t *in, size_t n, int16_t *out);

#endif
