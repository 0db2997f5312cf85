/*
 * codec.h — the decode stage's codec layer: from what the SDP negotiated (or
 * the static RTP payload type) to a decoder that turns RTP payloads into
 * 16-bit mono PCM at the archive's rates (8000 or 16000 Hz).
 *
 * Two steps:
 *
 *   1. dc_codec_lookup() / dc_codec_static() classify a payload type: audio we
 *      decode, telephone-event (RFC 4733), comfort noise (RFC 3389), or
 *      unsupported — the last with a reason string "unsupported codec
 *      <name>/<rate>..." for the stream's row. Pure functions: no state, no
 *      allocation, no logging.
 *   2. dc_decoder_new() builds one decoder per (RTP stream, payload type);
 *      dc_decode() turns one payload into samples, dc_conceal() fills a lost
 *      stretch, dc_decode_fec() recovers a lost Opus packet from the in-band
 *      FEC of the packet after it. State is per decoder; nothing is global.
 *
 * Supported (docs/decode-codecs.md has the details and measured quality):
 *
 *   name       rtpmap           static PT  RTP clock  audio  samples/ts unit
 *   PCMU       PCMU/8000        0          8000       8000   1
 *   PCMA       PCMA/8000        8          8000       8000   1
 *   G722       G722/8000        9          8000       16000  2   (RFC 3551 quirk)
 *   G729       G729/8000 (G729A too) 18    8000       8000   1   (Annex B SID ok)
 *   opus       opus/48000/2     -          48000      16000  1/3 (decoded mono 16k)
 *   L16        L16/8000, L16/16000 (mono, or stereo down-mixed)  rate  rate  1
 *   telephone-event  any clock  -          rate       -      (not audio)
 *   CN         CN/<rate>        13         rate       8000/16000 (comfort noise)
 *
 * Everything else (GSM, iLBC, Speex, G.726, G.723, DVI4, L16/44100 — the
 * archive has no resampler —, L16 with more than 2 channels, PCMU at
 * 16 kHz, video, a dynamic payload type with no rtpmap) is
 * DC_KIND_UNSUPPORTED with a reason.
 *
 * SECURITY: payloads are hostile bytes off the wire. dc_decode() never reads
 * outside [payload, payload + len), never writes past pcm[cap), checks the
 * cap before it touches the decoder's state (a refused call may be retried
 * with a larger buffer), and returns an error for a payload that is not a
 * whole number of codec frames (G.729: 10-byte frames plus at most one
 * 2-byte SID at the end; L16: whole 2-byte samples of every channel; Opus:
 * a valid TOC/frame layout of at most 120 ms). Encoding names and fmtp are slices (cs_str)
 * and need no NUL.
 *
 * Ownership: dc_codec_info is a plain value (its name points to a static
 * string). dc_decoder_new() copies the info; the caller frees the decoder
 * with dc_decoder_free(). Buffers passed in are borrowed for the call only.
 */
#ifndef CALLSCOPE_DECODE_CODEC_H
#define CALLSCOPE_DECODE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* Largest output of one dc_decode() call: 120 ms at 16 kHz (Opus's longest
 * packet). G.711/G.722/L16 output grows with the payload (one or two samples
 * per byte), so size pcm from len for those, or use DC_MAX_PAYLOAD * 2. */
#define DC_MAX_PACKET_SAMPLES 1920
/* Payloads longer than this are refused (CS_ERR_LIMIT): no UDP datagram
 * carries more. */
#define DC_MAX_PAYLOAD 65507
/* dc_conceal() runs the codec's loss concealment for at most this many
 * milliseconds of one gap and writes silence for the rest (concealment past
 * a few packets only invents sound). G.729 in Annex B comfort-noise mode
 * (after a SID) is exempt: untransmitted frames are meant to be comfort
 * noise for as long as the gap lasts. */
#define DC_PLC_MAX_MS 120

typedef enum dc_kind {
    DC_KIND_AUDIO = 0,           /* decoded to PCM */
    DC_KIND_TELEPHONE_EVENT = 1, /* RFC 4733 events: no audio of its own */
    DC_KIND_COMFORT_NOISE = 2,   /* RFC 3389 CN: noise level for the silence after it */
    DC_KIND_UNSUPPORTED = 3      /* see the reason string */
} dc_kind;

typedef enum dc_codec_id {
    DC_CODEC_NONE = 0, /* unsupported */
    DC_CODEC_PCMU,
    DC_CODEC_PCMA,
    DC_CODEC_G722,
    DC_CODEC_G729,
    DC_CODEC_OPUS,
    DC_CODEC_L16,
    DC_CODEC_TELEPHONE_EVENT,
    DC_CODEC_CN
} dc_codec_id;

typedef struct dc_codec_info {
    dc_kind kind;
    dc_codec_id id;
    const char *name; /* canonical encoding name ("PCMU", "opus", ...); static string;
                         "" when unsupported */
    int rtp_clock;    /* RTP timestamp rate, from the rtpmap or the static table */
    int channels;     /* as negotiated (an omitted count is 1) */
    int audio_rate;   /* rate of the PCM dc_decode() writes: 8000 or 16000; 0 for
                         telephone-event and unsupported */
    /* Output samples per RTP timestamp unit = ts_num / ts_den (reduced):
     * 1/1 for G.711, 2/1 for G.722, 1/3 for Opus at 16 kHz; 0/1 when not audio. */
    int ts_num, ts_den;
    int fec;    /* Opus: the fmtp says useinbandfec=1 (FEC is attempted anyway) */
    int annexb; /* G.729: 1 annexb=yes or absent (RFC 4856 default), 0 annexb=no */
} dc_codec_info;

/* Classifies an rtpmap entry: encoding name (case-insensitive), clock rate,
 * channel count (0 = omitted = 1) and fmtp parameters (may be empty).
 * Always fills *out. Returns out->kind. When unsupported, err (if not NULL,
 * errcap > 0) receives a NUL-terminated reason, truncated to errcap, e.g.
 * "unsupported codec GSM/8000" or "unsupported codec L16/44100: no resampler
 * (archive rates are 8000 and 16000)"; for the other kinds err is set to "". */
dc_kind dc_codec_lookup(cs_str encoding, int clock_rate, int channels, cs_str fmtp,
                        dc_codec_info *out, char *err, size_t errcap);

/* The same for a payload type with no rtpmap: the RFC 3551 static table
 * (0 PCMU, 8 PCMA, 9 G722, 18 G729, 13 CN; 10/11 L16/44100 are unsupported,
 * see above; other static types are named in the reason). pt 96..127 without
 * an rtpmap: "unsupported codec PT <pt>: dynamic payload type without rtpmap".
 * pt outside 0..127 is unsupported too. */
dc_kind dc_codec_static(int pt, dc_codec_info *out, char *err, size_t errcap);

typedef struct dc_decoder dc_decoder;

/* A decoder for one stream and payload type. info is copied. NULL when the
 * kind is unsupported, info is NULL, or memory / the codec library fails.
 * Telephone-event and CN decoders exist too (so a timeline can treat every
 * payload type alike): they produce no samples from dc_decode(). */
dc_decoder *dc_decoder_new(const dc_codec_info *info);
/* The info the decoder was built from (read-only, owned by the decoder). */
const dc_codec_info *dc_decoder_info(const dc_decoder *d);

/* Decodes one RTP payload into pcm (at info.audio_rate). Returns the number
 * of samples written (>= 0; 0 for telephone-event and CN) or a negative
 * cs_err:
 *   CS_ERR_INVAL      d or pcm (with cap > 0) or payload NULL
 *   CS_ERR_TRUNCATED  empty payload (or telephone-event shorter than 4 bytes)
 *   CS_ERR_MALFORMED  not a whole number of frames (G.729 length % 10 not 0
 *                     or 2, L16 length not a multiple of 2 x channels,
 *                     bad Opus TOC/framing, CN level byte above 127)
 *   CS_ERR_LIMIT      len > DC_MAX_PAYLOAD
 *   CS_ERR_OVERFLOW   the samples would not fit in cap (state untouched)
 *   CS_ERR_CODEC      the codec library failed
 * A CN payload records the noise level for the following dc_conceal(). */
int dc_decode(dc_decoder *d, const uint8_t *payload, size_t len, int16_t *pcm, size_t cap);

/* Fills `samples` samples (at info.audio_rate) for a stretch with no packet.
 * Returns samples or a negative cs_err (CS_ERR_OVERFLOW when samples > cap,
 * CS_ERR_INVAL). What it writes, per codec:
 *   Opus   libopus PLC (opus_decode with no data) for up to DC_PLC_MAX_MS,
 *          then silence;
 *   G.729  bcg729 frame erasure for up to DC_PLC_MAX_MS, then silence; after
 *          a SID frame, G.729B comfort noise for the whole stretch;
 *   G.711, G.722, L16
 *          spandsp's PLC (G.711 Appendix I style pitch repetition fading to
 *          zero) for up to DC_PLC_MAX_MS, then silence; the first packet
 *          after the gap is overlap-added with the concealment;
 *   CN     white noise at the level of the last CN payload (silence before
 *          one arrived, and at level 127);
 *   telephone-event  silence.
 * Codecs that conceal in whole frames (Opus 2.5 ms, G.729 10 ms) decode the
 * last frame whole and keep only the samples asked for. */
int dc_conceal(dc_decoder *d, size_t samples, int16_t *pcm, size_t cap);

/* Opus in-band FEC: the packet before `next` was lost; recovers `samples`
 * samples (the lost packet's duration at info.audio_rate) from the LBRR data
 * in `next`. The caller then decodes `next` itself with dc_decode(). When
 * `next` carries no FEC, libopus conceals instead. For every other codec it
 * is dc_conceal(d, samples, ...). Returns samples or a negative cs_err; an
 * invalid `next` is CS_ERR_MALFORMED / CS_ERR_TRUNCATED with the state
 * untouched (the caller conceals instead). */
int dc_decode_fec(dc_decoder *d, const uint8_t *next, size_t len, size_t samples, int16_t *pcm,
                  size_t cap);

void dc_decoder_free(dc_decoder *d);

#endif
