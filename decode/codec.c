/*
 * codec.c — payload type classification and per-stream decoders.
 *
 * Why this shape: the timeline feeds one decoder per (stream, payload type)
 * the payloads in RTP timestamp order and asks it to conceal what is missing;
 * it needs to know, before the first packet, how many output samples one RTP
 * timestamp unit is worth (dc_codec_info.ts_num / ts_den). Classification is
 * separate from decoding so a stream whose codec we cannot decode still gets
 * a row with a precise reason.
 *
 * Codecs: G.711 is our own code (dc_ulaw/dc_alaw: the arithmetic of the
 * ITU-T G.191 STL reference, expanded into a 256-entry table per decoder and
 * tested sample-exact against tools/callgen's implementation), G.722 is
 * spandsp at 64 kbit/s, G.729/G.729A/G.729B is bcg729 (whose decoder handles
 * Annex A bit streams and Annex B SID frames), Opus is libopus decoding to
 * 16 kHz mono, L16 is byte swapping (stereo L16 down-mixed). Loss concealment: see codec.h.
 *
 * SECURITY: every payload length is checked against the codec's framing and
 * the caller's cap before any library sees it; libraries are only ever given
 * whole frames inside [payload, payload + len) (bcg729 reads exactly 10 bytes
 * of a speech frame and 2 of a SID; spandsp reads len bytes; libopus is told
 * len and validates the packet itself, after opus_packet_get_nb_samples()
 * has rejected broken TOC / framing).
 *
 * BUGS / limits: comfort noise from an RFC 3389 payload is white (the
 * spectral reflection coefficients are ignored); spandsp's PLC is tuned for
 * 8 kHz and is also used, unchanged, for G.722's 16 kHz output (its pitch
 * search then spans 133..400 Hz); L16 at 44100 Hz and any resampling are
 * out of scope.
 */
#include "codec.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bcg729/decoder.h>
#include <opus/opus.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>
#include <spandsp/plc.h>

#include "error.h"

#define DC_G729_FRAME_BYTES   10
#define DC_G729_SID_BYTES     2
#define DC_G729_FRAME_SAMPLES 80
#define DC_OPUS_RATE          16000
#define DC_OPUS_UNIT          40  /* 2.5 ms at 16 kHz: Opus PLC/FEC granularity */
#define DC_OPUS_PLC_CHUNK     320 /* 20 ms per PLC call */
#define DC_SPANDSP_PLC_CHUNK  160 /* plc_fillin() per call; scratch holds it + overlap */
#define DC_TE_MIN_BYTES       4   /* one RFC 4733 event block */
#define DC_CN_MAX_LEVEL       127

_Static_assert(DC_SPANDSP_PLC_CHUNK + PLC_PITCH_OVERLAP_MAX <= DC_MAX_PACKET_SAMPLES &&
                   PLC_HISTORY_LEN <= DC_MAX_PACKET_SAMPLES,
               "scratch must hold one plc_fillin() call and its overlap");

/* ---- classification ------------------------------------------------------ */

/* err = "unsupported codec <name>/<rate><why>", or "" when name is NULL. */
static void dc_set_err(char *err, size_t errcap, const char *name, int rate, const char *why)
{
    if (err == NULL || errcap == 0)
        return;
    if (name == NULL)
        err[0] = '\0';
    else
        snprintf(err, errcap, "unsupported codec %s/%d%s", name, rate, why ? why : "");
}

static int dc_gcd(int a, int b)
{
    while (b != 0) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static void dc_info_audio(dc_codec_info *out, dc_codec_id id, const char *name, int clock,
                          int channels, int audio_rate)
{
    out->kind = DC_KIND_AUDIO;
    out->id = id;
    out->name = name;
    out->rtp_clock = clock;
    out->channels = channels;
    out->audio_rate = audio_rate;
    int g = dc_gcd(audio_rate, clock);
    out->ts_num = audio_rate / g;
    out->ts_den = clock / g;
}

/* Finds name=value in an fmtp parameter list ("a=1; b=2"), case-insensitive
 * name; 1 and the value slice when present. */
static int dc_fmtp_param(cs_str fmtp, const char *name, cs_str *value)
{
    size_t nlen = strlen(name), i = 0;
    while (i < fmtp.len) {
        while (i < fmtp.len && (fmtp.p[i] == ' ' || fmtp.p[i] == ';' || fmtp.p[i] == '\t'))
            i++;
        size_t start = i;
        while (i < fmtp.len && fmtp.p[i] != ';')
            i++;
        size_t end = i;
        while (end > start && (fmtp.p[end - 1] == ' ' || fmtp.p[end - 1] == '\t'))
            end--;
        size_t eq = start;
        while (eq < end && fmtp.p[eq] != '=')
            eq++;
        size_t kend = eq;
        while (kend > start && fmtp.p[kend - 1] == ' ')
            kend--;
        if (cs_str_ieq(cs_str_make(fmtp.p + start, kend - start), cs_str_make(name, nlen))) {
            size_t v = eq < end ? eq + 1 : end;
            while (v < end && fmtp.p[v] == ' ')
                v++;
            *value = cs_str_make(fmtp.p + v, end - v);
            return 1;
        }
    }
    return 0;
}

static int dc_name_is(cs_str enc, const char *name)
{
    return cs_str_ieq(enc, cs_str_c(name));
}

dc_kind dc_codec_lookup(cs_str encoding, int clock_rate, int channels, cs_str fmtp,
                        dc_codec_info *out, char *err, size_t errcap)
{
    dc_codec_info info;
    memset(&info, 0, sizeof info);
    info.kind = DC_KIND_UNSUPPORTED;
    info.name = "";
    info.rtp_clock = clock_rate;
    info.channels = channels == 0 ? 1 : channels;
    info.ts_den = 1;
    info.annexb = 1;
    char name[32];
    size_t n = encoding.len < sizeof name - 1 ? encoding.len : sizeof name - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)encoding.p[i];
        name[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?'; /* printable in the reason */
    }
    name[n] = '\0';
    const char *why = NULL; /* NULL: plain "unsupported codec X/rate" */
    int mono = info.channels == 1;

    if (out == NULL) {
        dc_set_err(err, errcap, name, clock_rate, ": no output structure");
        return DC_KIND_UNSUPPORTED;
    }
    if (encoding.len == 0 || encoding.p == NULL) {
        why = ": empty encoding name";
    } else if (clock_rate <= 0 || channels < 0) {
        why = ": invalid clock rate or channel count";
    } else if (dc_name_is(encoding, "PCMU") || dc_name_is(encoding, "PCMA")) {
        if (clock_rate == 8000 && mono)
            dc_info_audio(&info, dc_name_is(encoding, "PCMU") ? DC_CODEC_PCMU : DC_CODEC_PCMA,
                          dc_name_is(encoding, "PCMU") ? "PCMU" : "PCMA", 8000, 1, 8000);
        else
            why = ": G.711 is 8000 Hz mono";
    } else if (dc_name_is(encoding, "G722")) {
        if (clock_rate == 8000 && mono)
            dc_info_audio(&info, DC_CODEC_G722, "G722", 8000, 1, 16000);
        else
            why = ": G.722 is clocked at 8000 Hz, mono";
    } else if (dc_name_is(encoding, "G729") || dc_name_is(encoding, "G729A")) {
        if (clock_rate == 8000 && mono) {
            dc_info_audio(&info, DC_CODEC_G729, "G729", 8000, 1, 8000);
            cs_str v;
            if (dc_fmtp_param(fmtp, "annexb", &v))
                info.annexb = !(dc_name_is(v, "no") || dc_name_is(v, "0"));
        } else {
            why = ": G.729 is 8000 Hz mono";
        }
    } else if (dc_name_is(encoding, "opus")) {
        if (clock_rate == 48000 && info.channels <= 2) {
            dc_info_audio(&info, DC_CODEC_OPUS, "opus", 48000, info.channels, DC_OPUS_RATE);
            cs_str v;
            info.fec = dc_fmtp_param(fmtp, "useinbandfec", &v) && dc_name_is(v, "1");
        } else {
            why = ": Opus is clocked at 48000 Hz (RFC 7587)";
        }
    } else if (dc_name_is(encoding, "L16")) {
        if (clock_rate != 8000 && clock_rate != 16000)
            why = ": no resampler (archive rates are 8000 and 16000)";
        else if (info.channels > 2)
            why = ": only mono and stereo L16 are decoded";
        else
            dc_info_audio(&info, DC_CODEC_L16, "L16", clock_rate, info.channels, clock_rate);
    } else if (dc_name_is(encoding, "telephone-event")) {
        info.kind = DC_KIND_TELEPHONE_EVENT;
        info.id = DC_CODEC_TELEPHONE_EVENT;
        info.name = "telephone-event";
        info.ts_num = 0;
    } else if (dc_name_is(encoding, "CN")) {
        /* Comfort noise is clocked like the audio it stands in for; its
         * output rate follows the archive's (8 kHz up to 8000, else 16 kHz). */
        dc_info_audio(&info, DC_CODEC_CN, "CN", clock_rate, 1, clock_rate <= 8000 ? 8000 : 16000);
        info.kind = DC_KIND_COMFORT_NOISE;
    }
    if (info.kind == DC_KIND_UNSUPPORTED) {
        info.id = DC_CODEC_NONE;
        info.name = "";
        info.audio_rate = 0;
        info.ts_num = 0;
        info.ts_den = 1;
        dc_set_err(err, errcap, name, clock_rate, why);
    } else {
        dc_set_err(err, errcap, NULL, 0, NULL);
    }
    *out = info;
    return info.kind;
}

/* RFC 3551 table 4 (audio) and 5 (video): the static payload types. */
static const struct {
    int pt;
    const char *name;
    int clock;
    int channels;
} dc_static[] = {
    {0, "PCMU", 8000, 1},   {3, "GSM", 8000, 1},    {4, "G723", 8000, 1},   {5, "DVI4", 8000, 1},
    {6, "DVI4", 16000, 1},  {7, "LPC", 8000, 1},    {8, "PCMA", 8000, 1},   {9, "G722", 8000, 1},
    {10, "L16", 44100, 2},  {11, "L16", 44100, 1},  {12, "QCELP", 8000, 1}, {13, "CN", 8000, 1},
    {14, "MPA", 90000, 1},  {15, "G728", 8000, 1},  {16, "DVI4", 11025, 1}, {17, "DVI4", 22050, 1},
    {18, "G729", 8000, 1},  {25, "CelB", 90000, 1}, {26, "JPEG", 90000, 1}, {28, "nv", 90000, 1},
    {31, "H261", 90000, 1}, {32, "MPV", 90000, 1},  {33, "MP2T", 90000, 1}, {34, "H263", 90000, 1},
};

dc_kind dc_codec_static(int pt, dc_codec_info *out, char *err, size_t errcap)
{
    for (size_t i = 0; i < sizeof dc_static / sizeof dc_static[0]; i++)
        if (dc_static[i].pt == pt)
            return dc_codec_lookup(cs_str_c(dc_static[i].name), dc_static[i].clock,
                                   dc_static[i].channels, CS_STR_NULL, out, err, errcap);
    if (out != NULL) {
        memset(out, 0, sizeof *out);
        out->kind = DC_KIND_UNSUPPORTED;
        out->name = "";
        out->ts_den = 1;
        out->annexb = 1;
    }
    if (err != NULL && errcap > 0) {
        if (pt >= 96 && pt <= 127)
            snprintf(err, errcap, "unsupported codec PT %d: dynamic payload type without rtpmap",
                     pt);
        else if (pt >= 0 && pt <= 127)
            snprintf(err, errcap, "unsupported codec PT %d: unassigned static payload type", pt);
        else
            snprintf(err, errcap, "unsupported codec PT %d: not an RTP payload type", pt);
    }
    return DC_KIND_UNSUPPORTED;
}

/* ---- G.711 (ITU-T G.711; arithmetic of the G.191 STL reference g711.c) ---- */

static int16_t dc_ulaw(uint8_t u)
{
    int inv = (~u) & 0xFF;
    int exponent = (inv >> 4) & 0x07;
    int step = 8 << exponent;
    int mag = (0x80 << exponent) + step * (inv & 0x0F) + step / 2 - 132;
    return (int16_t)(u < 0x80 ? -mag : mag);
}

static int16_t dc_alaw(uint8_t a)
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

/* ---- decoders ------------------------------------------------------------ */

struct dc_decoder {
    dc_codec_info info;
    int16_t g711[256]; /* PCMU/PCMA: code -> sample */
    plc_state_t *plc;  /* G.711, G.722, L16 */
    g722_decode_state_t *g722;
    bcg729DecoderChannelContextStruct *g729;
    int g729_cng; /* last G.729 frame was a SID (comfort-noise mode) */
    OpusDecoder *opus;
    size_t concealed;              /* samples concealed since the last decoded packet */
    int cn_level;                  /* CN: last level in -dBov, -1 before any */
    uint32_t rng;                  /* CN noise generator (xorshift32), per decoder */
    int16_t hist[PLC_HISTORY_LEN]; /* spandsp codecs: the last output samples */
    int16_t scratch[DC_MAX_PACKET_SAMPLES];
};

dc_decoder *dc_decoder_new(const dc_codec_info *info)
{
    if (info == NULL || info->kind == DC_KIND_UNSUPPORTED)
        return NULL;
    dc_decoder *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->info = *info;
    d->cn_level = -1;
    d->rng = 0x9E3779B9u;
    switch (info->id) {
    case DC_CODEC_PCMU:
    case DC_CODEC_PCMA:
        for (int c = 0; c < 256; c++)
            d->g711[c] = info->id == DC_CODEC_PCMU ? dc_ulaw((uint8_t)c) : dc_alaw((uint8_t)c);
        d->plc = plc_init(NULL);
        if (d->plc == NULL)
            goto fail;
        break;
    case DC_CODEC_L16:
        d->plc = plc_init(NULL);
        if (d->plc == NULL)
            goto fail;
        break;
    case DC_CODEC_G722:
        d->g722 = g722_decode_init(NULL, 64000, 0);
        d->plc = plc_init(NULL);
        if (d->g722 == NULL || d->plc == NULL)
            goto fail;
        break;
    case DC_CODEC_G729:
        d->g729 = initBcg729DecoderChannel();
        if (d->g729 == NULL)
            goto fail;
        break;
    case DC_CODEC_OPUS: {
        int err = OPUS_OK;
        d->opus = opus_decoder_create(DC_OPUS_RATE, 1, &err);
        if (d->opus == NULL || err != OPUS_OK)
            goto fail;
        break;
    }
    case DC_CODEC_TELEPHONE_EVENT:
    case DC_CODEC_CN:
        break;
    default:
        goto fail;
    }
    return d;
fail:
    dc_decoder_free(d);
    return NULL;
}

const dc_codec_info *dc_decoder_info(const dc_decoder *d)
{
    return d != NULL ? &d->info : NULL;
}

void dc_decoder_free(dc_decoder *d)
{
    if (d == NULL)
        return;
    if (d->plc != NULL)
        plc_free(d->plc);
    if (d->g722 != NULL)
        g722_decode_free(d->g722);
    if (d->g729 != NULL)
        closeBcg729DecoderChannel(d->g729);
    if (d->opus != NULL)
        opus_decoder_destroy(d->opus);
    free(d);
}

/* Appends n output samples to the history window (the last
 * PLC_HISTORY_LEN samples). */
static void dc_hist_push(dc_decoder *d, const int16_t *pcm, size_t n)
{
    if (n == 0)
        return;
    if (n >= PLC_HISTORY_LEN) {
        memcpy(d->hist, pcm + n - PLC_HISTORY_LEN, sizeof d->hist);
        return;
    }
    memmove(d->hist, d->hist + n, (PLC_HISTORY_LEN - n) * sizeof *pcm);
    memcpy(d->hist + PLC_HISTORY_LEN - n, pcm, n * sizeof *pcm);
}

/* Samples one Opus packet decodes to at 16 kHz, or a negative cs_err. */
static int dc_opus_samples(const uint8_t *p, size_t len)
{
    int n = opus_packet_get_nb_samples(p, (opus_int32)len, DC_OPUS_RATE);
    if (n == OPUS_BAD_ARG || n == OPUS_INVALID_PACKET || n < 0)
        return CS_ERR_MALFORMED;
    if (n == 0 || n > DC_MAX_PACKET_SAMPLES)
        return CS_ERR_MALFORMED;
    /* get_nb_samples reads the TOC and frame count only; the frame layout
     * (lengths of code 2/3 packets) is checked here so a truncated packet is
     * refused before the decoder state is touched. */
    const unsigned char *frames[48];
    opus_int16 sizes[48];
    unsigned char toc = 0;
    int payload_offset = 0;
    if (opus_packet_parse(p, (opus_int32)len, &toc, frames, sizes, &payload_offset) < 0)
        return CS_ERR_MALFORMED;
    return n;
}

static int dc_decode_one(dc_decoder *d, const uint8_t *payload, size_t len, int16_t *pcm,
                         size_t cap);

/* Decoded samples of a spandsp-concealed codec: plc_rx() smooths the first
 * samples after a gap; our copy of the history is what the next gap starts
 * from (see dc_conceal). */
static void dc_plc_rx(dc_decoder *d, int16_t *pcm, size_t n)
{
    plc_rx(d->plc, pcm, (int)n);
    dc_hist_push(d, pcm, n);
}

int dc_decode(dc_decoder *d, const uint8_t *payload, size_t len, int16_t *pcm, size_t cap)
{
    if (d == NULL || payload == NULL || (pcm == NULL && cap > 0))
        return CS_ERR_INVAL;
    if (len == 0)
        return CS_ERR_TRUNCATED;
    if (len > DC_MAX_PAYLOAD)
        return CS_ERR_LIMIT;
    int r = dc_decode_one(d, payload, len, pcm, cap);
    if (r > 0)
        d->concealed = 0;
    return r;
}

static int dc_decode_one(dc_decoder *d, const uint8_t *payload, size_t len, int16_t *pcm,
                         size_t cap)
{
    switch (d->info.id) {
    case DC_CODEC_PCMU:
    case DC_CODEC_PCMA:
        if (len > cap)
            return CS_ERR_OVERFLOW;
        for (size_t i = 0; i < len; i++)
            pcm[i] = d->g711[payload[i]];
        dc_plc_rx(d, pcm, len);
        return (int)len;
    case DC_CODEC_L16: {
        /* RFC 3551 4.5.11: big-endian, channels interleaved; stereo is
         * down-mixed to the mean of left and right (rounded down). */
        size_t ch = d->info.channels == 2 ? 2 : 1, frame = 2 * ch, n = len / frame;
        if (len % frame != 0)
            return CS_ERR_MALFORMED;
        if (n > cap)
            return CS_ERR_OVERFLOW;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = payload + i * frame;
            int v = (int16_t)(uint16_t)((p[0] << 8) | p[1]);
            if (ch == 2)
                v = (v + (int16_t)(uint16_t)((p[2] << 8) | p[3])) >> 1;
            pcm[i] = (int16_t)v;
        }
        dc_plc_rx(d, pcm, n);
        return (int)n;
    }
    case DC_CODEC_G722: {
        if (len > cap / 2)
            return CS_ERR_OVERFLOW;
        int n = g722_decode(d->g722, pcm, payload, (int)len);
        if (n != (int)(2 * len))
            return CS_ERR_CODEC;
        dc_plc_rx(d, pcm, (size_t)n);
        return n;
    }
    case DC_CODEC_G729: {
        size_t frames = len / DC_G729_FRAME_BYTES, rest = len % DC_G729_FRAME_BYTES;
        if (rest != 0 && rest != DC_G729_SID_BYTES)
            return CS_ERR_MALFORMED;
        size_t total = frames + (rest != 0);
        if (total > cap / DC_G729_FRAME_SAMPLES)
            return CS_ERR_OVERFLOW;
        for (size_t f = 0; f < frames; f++)
            bcg729Decoder(d->g729, payload + f * DC_G729_FRAME_BYTES, DC_G729_FRAME_BYTES, 0, 0, 0,
                          pcm + f * DC_G729_FRAME_SAMPLES);
        d->g729_cng = 0;
        if (rest != 0) {
            bcg729Decoder(d->g729, payload + frames * DC_G729_FRAME_BYTES, DC_G729_SID_BYTES, 0, 1,
                          0, pcm + frames * DC_G729_FRAME_SAMPLES);
            d->g729_cng = 1;
        }
        return (int)(total * DC_G729_FRAME_SAMPLES);
    }
    case DC_CODEC_OPUS: {
        int n = dc_opus_samples(payload, len);
        if (n < 0)
            return n;
        if ((size_t)n > cap)
            return CS_ERR_OVERFLOW;
        int r = opus_decode(d->opus, payload, (opus_int32)len, pcm, n, 0);
        if (r == OPUS_INVALID_PACKET)
            return CS_ERR_MALFORMED;
        return r >= 0 ? r : CS_ERR_CODEC;
    }
    case DC_CODEC_TELEPHONE_EVENT:
        return len < DC_TE_MIN_BYTES ? CS_ERR_TRUNCATED : 0;
    case DC_CODEC_CN:
        /* RFC 3389 section 3: byte 0 = noise level, 0..127 -dBov (the
         * first bit is reserved zero); reflection coefficients follow. */
        if (payload[0] > DC_CN_MAX_LEVEL)
            return CS_ERR_MALFORMED;
        d->cn_level = payload[0];
        return 0;
    default:
        return CS_ERR_INVAL;
    }
}

/* Concealment budget left in the current gap, in samples. */
static size_t dc_plc_budget(const dc_decoder *d)
{
    size_t max = (size_t)d->info.audio_rate * DC_PLC_MAX_MS / 1000;
    return d->concealed < max ? max - d->concealed : 0;
}

static uint32_t dc_xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* Opus PLC (next == NULL) or FEC for `samples` samples, in chunks the
 * decoder accepts (multiples of 2.5 ms); a tail shorter than that is
 * decoded whole into scratch and cut. */
static int dc_opus_fill(dc_decoder *d, const uint8_t *next, size_t len, size_t samples,
                        int16_t *pcm)
{
    size_t done = 0;
    while (done < samples) {
        size_t want = samples - done;
        if (next == NULL && want > DC_OPUS_PLC_CHUNK)
            want = DC_OPUS_PLC_CHUNK;
        if (want > DC_MAX_PACKET_SAMPLES)
            want = DC_MAX_PACKET_SAMPLES;
        size_t whole = (want + DC_OPUS_UNIT - 1) / DC_OPUS_UNIT * DC_OPUS_UNIT;
        int16_t *dst = whole == want ? pcm + done : d->scratch;
        /* FEC covers only the last part of a long gap: conceal first. */
        int fec = next != NULL && done + want == samples;
        int r = opus_decode(d->opus, fec ? next : NULL, fec ? (opus_int32)len : 0, dst, (int)whole,
                            fec);
        if (r < 0)
            return CS_ERR_CODEC;
        if ((size_t)r < want)
            memset(dst + r, 0, (want - (size_t)r) * sizeof *dst);
        if (dst == d->scratch)
            memcpy(pcm + done, d->scratch, want * sizeof *pcm);
        done += want;
    }
    return (int)samples;
}

int dc_conceal(dc_decoder *d, size_t samples, int16_t *pcm, size_t cap)
{
    if (d == NULL || (pcm == NULL && samples > 0))
        return CS_ERR_INVAL;
    if (samples > cap)
        return CS_ERR_OVERFLOW;
    if (samples > INT32_MAX)
        return CS_ERR_LIMIT;
    size_t budget = dc_plc_budget(d), plc = samples < budget ? samples : budget;
    switch (d->info.id) {
    case DC_CODEC_PCMU:
    case DC_CODEC_PCMA:
    case DC_CODEC_L16:
    case DC_CODEC_G722:
        /* Two spandsp 0.0.6 bugs are worked around here. (1) At the start
         * of a gap plc_fillin() rotates its history ring with an
         * overlapping memcpy (normalise_history) unless the ring starts at
         * 0: so the state is re-initialised and refilled with a whole
         * history (our copy), which leaves the ring at 0. (2) It writes at
         * least the pitch overlap (up to PLC_PITCH_OVERLAP_MAX samples)
         * whatever len says: so it fills the scratch buffer and only
         * `want` samples are copied out. */
        if (plc > 0 && d->concealed == 0) {
            plc_init(d->plc);
            memcpy(d->scratch, d->hist, sizeof d->hist);
            plc_rx(d->plc, d->scratch, PLC_HISTORY_LEN);
        }
        for (size_t done = 0; done < plc; done += DC_SPANDSP_PLC_CHUNK) {
            size_t want = plc - done < DC_SPANDSP_PLC_CHUNK ? plc - done : DC_SPANDSP_PLC_CHUNK;
            plc_fillin(d->plc, d->scratch, (int)want);
            memcpy(pcm + done, d->scratch, want * sizeof *pcm);
        }
        break;
    case DC_CODEC_G729: {
        if (d->g729_cng)
            plc = samples; /* Annex B: untransmitted frames are comfort noise */
        for (size_t done = 0; done < plc; done += DC_G729_FRAME_SAMPLES) {
            size_t want = plc - done < DC_G729_FRAME_SAMPLES ? plc - done : DC_G729_FRAME_SAMPLES;
            int16_t *dst = want == DC_G729_FRAME_SAMPLES ? pcm + done : d->scratch;
            bcg729Decoder(d->g729, NULL, 0, 1, 0, 0, dst);
            if (dst == d->scratch)
                memcpy(pcm + done, d->scratch, want * sizeof *pcm);
        }
        break;
    }
    case DC_CODEC_OPUS:
        if (plc > 0) {
            int r = dc_opus_fill(d, NULL, 0, plc, pcm);
            if (r < 0)
                return r;
        }
        break;
    case DC_CODEC_CN:
        if (d->cn_level >= 0) {
            /* Uniform noise in [-a, a] has RMS a / sqrt(3); 0 dBov = 32768. */
            double rms = 32768.0 * pow(10.0, -d->cn_level / 20.0), a = rms * sqrt(3.0);
            if (a > 32767.0)
                a = 32767.0;
            for (size_t i = 0; i < samples; i++) {
                double u = (double)(dc_xorshift(&d->rng) >> 8) / 8388608.0 - 1.0;
                pcm[i] = (int16_t)lrint(u * a);
            }
            return (int)samples;
        }
        plc = 0;
        break;
    default:
        plc = 0;
        break;
    }
    if (samples > plc)
        memset(pcm + plc, 0, (samples - plc) * sizeof *pcm);
    if (d->plc != NULL)
        dc_hist_push(d, pcm, samples);
    d->concealed = samples < SIZE_MAX - d->concealed ? d->concealed + samples : SIZE_MAX;
    return (int)samples;
}

int dc_decode_fec(dc_decoder *d, const uint8_t *next, size_t len, size_t samples, int16_t *pcm,
                  size_t cap)
{
    if (d == NULL)
        return CS_ERR_INVAL;
    if (d->info.id != DC_CODEC_OPUS)
        return dc_conceal(d, samples, pcm, cap);
    if (next == NULL || (pcm == NULL && samples > 0))
        return CS_ERR_INVAL;
    if (len == 0)
        return CS_ERR_TRUNCATED;
    if (len > DC_MAX_PAYLOAD)
        return CS_ERR_LIMIT;
    if (samples > cap)
        return CS_ERR_OVERFLOW;
    int n = dc_opus_samples(next, len);
    if (n < 0)
        return n;
    if (samples == 0)
        return 0;
    return dc_opus_fill(d, next, len, samples, pcm);
}
