/*
 * cg_codec.c — callgen's encoders and decoders (G.711, G.722, G.729A, Opus).
 *
 * Why: callgen's captures must carry what real phones send, so every payload
 * comes from a real codec: G.711 from the ITU-T G.711 companding rules (the
 * same arithmetic as the ITU-T G.191 STL reference g711.c, checked bit for bit
 * against sox's tables by test_cg_codec), G.722 from spandsp, G.729 Annex A
 * from bcg729, Opus from libopus.
 *
 * Shape: one cg_encoder per RTP stream, fed consecutive 20 ms frames of 16 kHz
 * audio. The narrowband codecs (PCMU, PCMA, G.729) first decimate to 8 kHz
 * with the encoder's own cg_down2, started from silence, so a fresh cg_down2
 * run over the same frames (cg_track_write_wav at 8000) gives exactly the
 * samples the encoder saw. Every encoder writes into a private buffer of the
 * codec's largest payload first and copies only when the caller's cap fits:
 * the bytes produced never depend on cap, and a short cap is CS_ERR_OVERFLOW.
 *
 * The decimator (cg_down2): a 63-tap linear-phase FIR, windowed sinc
 * (Blackman window, cutoff 3600 Hz at fs = 16 kHz), coefficients in Q15
 * summing to exactly 32768 (unity DC gain); kept as a table so the filter is
 * bit-identical on every machine (no libm in the signal path). Magnitude
 * response of the quantised taps (computed from the table):
 *      0..3000 Hz  within 0.03 dB          3400 Hz  -2.0 dB
 *      3600 Hz     -6.0 dB                 3800 Hz  -13.8 dB
 *      4000 Hz     -27.3 dB                4200 Hz  -52.1 dB
 *      4400..8000 Hz  below -68 dB (e.g. 6000 Hz -75 dB)
 * Group delay: 31 input samples, i.e. exactly 15 samples (1.875 ms) at
 * 8 kHz: output j is centred on input sample 2j - 30.
 *
 * Not here: RTP packetisation (cg_rtp), packet loss concealment in the
 * decoders (a lost packet is the caller's business), G.729 Annex B (VAD/CNG:
 * SDP says annexb=no, every 10 ms frame is a 10-byte speech frame).
 *
 * Determinism: G.711, G.722, G.729 and the decimator are integer code and give
 * the same bytes everywhere. libopus is a float build on Debian; its output is
 * stable for one library build on one CPU family but is not promised across
 * libopus versions or SIMD paths.
 */
#include "cg_codec.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bcg729/decoder.h>
#include <bcg729/encoder.h>
#include <opus/opus.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>

#include "error.h"

/* Largest payload of one 20 ms frame per codec. Opus: RFC 6716's 1275-byte
 * ceiling for one frame (at 24 kbit/s packets are ~60 bytes). */
#define CG_OPUS_MAX_PAYLOAD 1275
#define CG_G729_FRAME_BYTES 10   /* one 10 ms G.729 frame, 80 bits */
#define CG_G729_FRAME_SAMPLES 80 /* 10 ms at 8 kHz */
#define CG_NB_SAMPLES (CG_FRAME_SAMPLES / 2)

static const cg_codec_info cg_codec_table[CG_CODEC__COUNT] = {
    [CG_CODEC_PCMU] = {"pcmu", "PCMU", 0, 8000, 0, 8000, 160, NULL},
    [CG_CODEC_PCMA] = {"pcma", "PCMA", 8, 8000, 0, 8000, 160, NULL},
    [CG_CODEC_G722] = {"g722", "G722", 9, 8000, 0, 16000, 160, NULL},
    [CG_CODEC_G729] = {"g729", "G729", 18, 8000, 0, 8000, 160, "annexb=no"},
    [CG_CODEC_OPUS] = {"opus", "opus", 111, 48000, 2, 16000, 960,
                       "useinbandfec=1;maxplaybackrate=16000;sprop-maxcapturerate=16000"},
};

const cg_codec_info *cg_codec_get(cg_codec c)
{
    if ((unsigned)c >= CG_CODEC__COUNT)
        return NULL;
    return &cg_codec_table[c];
}

int cg_codec_parse(const char *name, cg_codec *out)
{
    static const struct {
        const char *alias;
        cg_codec codec;
    } aliases[] = {
        {"pcmu", CG_CODEC_PCMU}, {"g711u", CG_CODEC_PCMU}, {"pcma", CG_CODEC_PCMA},
        {"g711a", CG_CODEC_PCMA}, {"g722", CG_CODEC_G722}, {"g729", CG_CODEC_G729},
        {"opus", CG_CODEC_OPUS},
    };
    if (name == NULL || out == NULL)
        return CS_ERR_INVAL;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcasecmp(name, aliases[i].alias) == 0) {
            *out = aliases[i].codec;
            return CS_OK;
        }
    }
    return CS_ERR_INVAL;
}

/* ---- G.711 (ITU-T G.711; arithmetic as in the G.191 STL g711.c) ---------- */

/* mu-law: 14-bit magnitude (one's complement for negatives) plus the bias of
 * 33, clipped at 8191, coded as 3-bit segment + 4-bit step, all bits inverted. */
uint8_t cg_g711_ulaw_encode(int16_t s)
{
    int absno = s < 0 ? ((~(int)s) >> 2) + 33 : ((int)s >> 2) + 33;
    if (absno > 0x1FFF)
        absno = 0x1FFF;
    int segno = 1;
    for (int i = absno >> 6; i != 0; i >>= 1)
        segno++;
    int high = 8 - segno;
    int low = 0x0F - ((absno >> segno) & 0x0F);
    int code = (high << 4) | low;
    if (s >= 0)
        code |= 0x80;
    return (uint8_t)code;
}

int16_t cg_g711_ulaw_decode(uint8_t u)
{
    int inv = (~u) & 0xFF;
    int exponent = (inv >> 4) & 0x07;
    int mantissa = inv & 0x0F;
    int step = 4 << (exponent + 1);
    int mag = (0x80 << exponent) + step * mantissa + step / 2 - 4 * 33;
    return (int16_t)(u < 0x80 ? -mag : mag);
}

/* A-law: 12-bit magnitude (one's complement for negatives), segment +
 * 4-bit step, even bits inverted (XOR 0x55), sign bit set for positive. */
uint8_t cg_g711_alaw_encode(int16_t s)
{
    int ix = s < 0 ? ((~(int)s) >> 4) : ((int)s >> 4);
    if (ix > 15) {
        int iexp = 1;
        while (ix > 16 + 15) {
            ix >>= 1;
            iexp++;
        }
        ix -= 16;
        ix += iexp << 4;
    }
    if (s >= 0)
        ix |= 0x80;
    return (uint8_t)(ix ^ 0x55);
}

int16_t cg_g711_alaw_decode(uint8_t a)
{
    int ix = (a ^ 0x55) & 0x7F;
    int iexp = ix >> 4;
    int mant = ix & 0x0F;
    if (iexp > 0)
        mant += 16;
    mant = (mant << 4) + 8;
    if (iexp > 1)
        mant <<= iexp - 1;
    return (int16_t)(a > 0x7F ? mant : -mant);
}

/* ---- 2:1 decimator ------------------------------------------------------ */

#define CG_DOWN2_TAPS 63
#define CG_DOWN2_RING 64 /* ring buffer of the last inputs; power of two >= taps */

/* Blackman-windowed sinc, fc = 3600/16000, normalised to a DC gain of 1 and
 * rounded to Q15 (centre tap adjusted so the sum is exactly 32768). */
static const int16_t cg_down2_taps[CG_DOWN2_TAPS] = {
    0,    0,     0,     3,     3,    -8,    -11,  13,   29,    -14,  -59,  0,     101,
    40,   -146,  -121,  180,   253,  -173,  -441, 88,   677,   128,  -943, -549,  1207,
    1327, -1432, -2982, 1585,  10259, 14740, 10259, 1585, -2982, -1432, 1327, 1207, -549,
    -943, 128,   677,   88,    -441,  -173,  253,  180,  -121,  -146, 40,   101,   0,
    -59,  -14,   29,    13,    -11,   -8,    3,    3,    0,     0,    0,
};

void cg_down2_init(cg_down2 *d)
{
    memset(d->hist, 0, sizeof d->hist);
    d->fill = 0;
}

void cg_down2_run(cg_down2 *d, const int16_t *in, size_t n, int16_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        d->hist[d->fill & (CG_DOWN2_RING - 1)] = in[i];
        d->fill++;
        if ((d->fill & 1) != 0)
            continue; /* one output per two inputs, after the second */
        int64_t acc = 0;
        for (size_t k = 0; k < CG_DOWN2_TAPS; k++)
            acc += (int64_t)cg_down2_taps[k] * d->hist[(d->fill - 1 - k) & (CG_DOWN2_RING - 1)];
        acc = (acc + (1 << 14)) >> 15; /* round half up; arithmetic shift on gcc/clang */
        if (acc > INT16_MAX)
            acc = INT16_MAX;
        else if (acc < INT16_MIN)
            acc = INT16_MIN;
        out[o++] = (int16_t)acc;
    }
}

/* ---- encoders ----------------------------------------------------------- */

struct cg_encoder {
    cg_codec codec;
    cg_down2 down; /* narrowband codecs only */
    g722_encode_state_t *g722;
    bcg729EncoderChannelContextStruct *g729;
    OpusEncoder *opus;
};

cg_encoder *cg_encoder_new(cg_codec c)
{
    if ((unsigned)c >= CG_CODEC__COUNT)
        return NULL;
    cg_encoder *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    e->codec = c;
    cg_down2_init(&e->down);
    switch (c) {
    case CG_CODEC_G722:
        e->g722 = g722_encode_init(NULL, 64000, 0);
        if (e->g722 == NULL)
            goto fail;
        break;
    case CG_CODEC_G729:
        e->g729 = initBcg729EncoderChannel(0);
        if (e->g729 == NULL)
            goto fail;
        break;
    case CG_CODEC_OPUS: {
        int err = OPUS_OK;
        e->opus = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
        if (e->opus == NULL || err != OPUS_OK)
            goto fail;
        if (opus_encoder_ctl(e->opus, OPUS_SET_BITRATE(24000)) != OPUS_OK ||
            opus_encoder_ctl(e->opus, OPUS_SET_VBR(0)) != OPUS_OK ||
            opus_encoder_ctl(e->opus, OPUS_SET_INBAND_FEC(1)) != OPUS_OK ||
            opus_encoder_ctl(e->opus, OPUS_SET_PACKET_LOSS_PERC(5)) != OPUS_OK ||
            opus_encoder_ctl(e->opus, OPUS_SET_COMPLEXITY(5)) != OPUS_OK)
            goto fail;
        break;
    }
    default:
        break;
    }
    return e;
fail:
    cg_encoder_free(e);
    return NULL;
}

void cg_encoder_free(cg_encoder *e)
{
    if (e == NULL)
        return;
    if (e->g722 != NULL)
        g722_encode_free(e->g722);
    if (e->g729 != NULL)
        closeBcg729EncoderChannel(e->g729);
    if (e->opus != NULL)
        opus_encoder_destroy(e->opus);
    free(e);
}

/* Payload bytes of one 20 ms frame for the constant-rate codecs. */
static size_t cg_encoder_fixed_size(cg_codec c)
{
    switch (c) {
    case CG_CODEC_PCMU:
    case CG_CODEC_PCMA:
    case CG_CODEC_G722:
        return CG_NB_SAMPLES; /* 8 bits per 8 kHz sample; G.722: 4 bits per 16 kHz sample */
    case CG_CODEC_G729:
        return 2 * CG_G729_FRAME_BYTES;
    default:
        return 0;
    }
}

int cg_encoder_encode(cg_encoder *e, const int16_t *pcm16k, uint8_t *out, size_t cap)
{
    uint8_t buf[CG_OPUS_MAX_PAYLOAD];
    int16_t nb[CG_NB_SAMPLES];
    int len = 0;

    if (e == NULL || pcm16k == NULL || out == NULL)
        return CS_ERR_INVAL;
    /* Fixed-size payloads: refuse a short cap before touching the state, so
     * the caller may retry the frame. Opus's size is known only after
     * encoding: a short cap there has consumed the frame. */
    if (e->codec != CG_CODEC_OPUS && cap < cg_encoder_fixed_size(e->codec))
        return CS_ERR_OVERFLOW;
    switch (e->codec) {
    case CG_CODEC_PCMU:
    case CG_CODEC_PCMA:
        cg_down2_run(&e->down, pcm16k, CG_FRAME_SAMPLES, nb);
        for (size_t i = 0; i < CG_NB_SAMPLES; i++)
            buf[i] = e->codec == CG_CODEC_PCMU ? cg_g711_ulaw_encode(nb[i])
                                               : cg_g711_alaw_encode(nb[i]);
        len = CG_NB_SAMPLES;
        break;
    case CG_CODEC_G722:
        len = g722_encode(e->g722, buf, pcm16k, CG_FRAME_SAMPLES);
        if (len != CG_FRAME_SAMPLES / 2)
            return CS_ERR_CODEC;
        break;
    case CG_CODEC_G729:
        cg_down2_run(&e->down, pcm16k, CG_FRAME_SAMPLES, nb);
        for (size_t f = 0; f < CG_NB_SAMPLES / CG_G729_FRAME_SAMPLES; f++) {
            uint8_t flen = 0;
            bcg729Encoder(e->g729, nb + f * CG_G729_FRAME_SAMPLES, buf + len, &flen);
            if (flen != CG_G729_FRAME_BYTES)
                return CS_ERR_CODEC;
            len += flen;
        }
        break;
    case CG_CODEC_OPUS: {
        opus_int32 r = opus_encode(e->opus, pcm16k, CG_FRAME_SAMPLES, buf, (opus_int32)sizeof buf);
        if (r <= 0)
            return CS_ERR_CODEC;
        len = (int)r;
        break;
    }
    default:
        return CS_ERR_INVAL;
    }
    if ((size_t)len > cap)
        return CS_ERR_OVERFLOW;
    memcpy(out, buf, (size_t)len);
    return len;
}

/* ---- decoders ----------------------------------------------------------- */

struct cg_decoder {
    cg_codec codec;
    g722_decode_state_t *g722;
    bcg729DecoderChannelContextStruct *g729;
    OpusDecoder *opus;
};

cg_decoder *cg_decoder_new(cg_codec c)
{
    if ((unsigned)c >= CG_CODEC__COUNT)
        return NULL;
    cg_decoder *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->codec = c;
    switch (c) {
    case CG_CODEC_G722:
        d->g722 = g722_decode_init(NULL, 64000, 0);
        if (d->g722 == NULL)
            goto fail;
        break;
    case CG_CODEC_G729:
        d->g729 = initBcg729DecoderChannel();
        if (d->g729 == NULL)
            goto fail;
        break;
    case CG_CODEC_OPUS: {
        int err = OPUS_OK;
        d->opus = opus_decoder_create(16000, 1, &err);
        if (d->opus == NULL || err != OPUS_OK)
            goto fail;
        break;
    }
    default:
        break;
    }
    return d;
fail:
    cg_decoder_free(d);
    return NULL;
}

void cg_decoder_free(cg_decoder *d)
{
    if (d == NULL)
        return;
    if (d->g722 != NULL)
        g722_decode_free(d->g722);
    if (d->g729 != NULL)
        closeBcg729DecoderChannel(d->g729);
    if (d->opus != NULL)
        opus_decoder_destroy(d->opus);
    free(d);
}

/* Payload lengths: G.711 any length (one sample per byte), G.722 any length
 * (two samples per byte), G.729 a whole number of 10-byte frames, Opus one
 * packet of 1..1275 bytes. An empty payload is CS_ERR_INVAL (no PLC here). */
int cg_decoder_decode(cg_decoder *d, const uint8_t *payload, size_t len, int16_t *pcm, size_t cap)
{
    if (d == NULL || payload == NULL || pcm == NULL || len == 0)
        return CS_ERR_INVAL;
    switch (d->codec) {
    case CG_CODEC_PCMU:
    case CG_CODEC_PCMA:
        if (len > cap || len > INT32_MAX)
            return CS_ERR_OVERFLOW;
        for (size_t i = 0; i < len; i++)
            pcm[i] = d->codec == CG_CODEC_PCMU ? cg_g711_ulaw_decode(payload[i])
                                               : cg_g711_alaw_decode(payload[i]);
        return (int)len;
    case CG_CODEC_G722: {
        if (len > cap / 2 || len > INT32_MAX / 2)
            return CS_ERR_OVERFLOW;
        int n = g722_decode(d->g722, pcm, payload, (int)len);
        return n == (int)(len * 2) ? n : CS_ERR_CODEC;
    }
    case CG_CODEC_G729: {
        if (len % CG_G729_FRAME_BYTES != 0)
            return CS_ERR_MALFORMED;
        size_t frames = len / CG_G729_FRAME_BYTES;
        if (frames > cap / CG_G729_FRAME_SAMPLES || frames > INT32_MAX / CG_G729_FRAME_SAMPLES)
            return CS_ERR_OVERFLOW;
        for (size_t f = 0; f < frames; f++)
            bcg729Decoder(d->g729, payload + f * CG_G729_FRAME_BYTES, CG_G729_FRAME_BYTES, 0, 0, 0,
                          pcm + f * CG_G729_FRAME_SAMPLES);
        return (int)(frames * CG_G729_FRAME_SAMPLES);
    }
    case CG_CODEC_OPUS: {
        if (len > CG_OPUS_MAX_PAYLOAD)
            return CS_ERR_MALFORMED;
        int frames = opus_decoder_get_nb_samples(d->opus, payload, (opus_int32)len);
        if (frames < 0)
            return CS_ERR_MALFORMED;
        if ((size_t)frames > cap)
            return CS_ERR_OVERFLOW;
        int n = opus_decode(d->opus, payload, (opus_int32)len, pcm, frames, 0);
        return n >= 0 ? n : CS_ERR_CODEC;
    }
    default:
        return CS_ERR_INVAL;
    }
}
