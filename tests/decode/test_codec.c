/*
 * test_codec.c — decode/codec.c against real codecs and real speech.
 *
 * Classification: every supported rtpmap (case-insensitive), the static
 * payload types, and the unsupported ones with their exact reason strings.
 * Decoding: real speech (LibriVox clip 0870 from ../shared/data/speech, read
 * with libsndfile) encoded 20 ms at a time by callgen's real encoders
 * (tools/callgen/cg_codec.h) and decoded by dc_decode(): G.711 sample-exact
 * against cg_g711_*_decode and >= 30 dB SNR against the 8 kHz input; G.722,
 * G.729 and Opus sample-exact against callgen's reference decoders (same
 * libraries, same settings) and above quality floors measured here (values
 * in docs/decode-codecs.md). Loss: 1 packet in 10 dropped, the output length
 * stays exact and the quality stays within a measured margin; for Opus, FEC
 * from the next packet beats PLC. G.729 Annex B: SID frames from bcg729's own
 * VAD encoder decode to comfort noise. Malformed payloads give exact errors;
 * payloads are copied into buffers of exactly their length so ASan catches
 * any read past them.
 *
 * The speech tests skip (cmocka skip) when ../shared/data/speech is absent.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <bcg729/encoder.h>
#include <opus/opus.h>
#include <pcap/pcap.h>
#include <sndfile.h>

#include "cg_codec.h"
#include "codec.h"
#include "error.h"
#include "rtp.h"
#include "testsupport.h"

#define SPEECH "speech/pocketsphinx_sense_and_sensibility_01_austen_64kb-0870.wav"

static int16_t *g_speech;  /* 16 kHz mono */
static size_t g_nspeech;   /* samples */
static const char *g_skip; /* why the speech tests skip, or NULL */

static void need_speech(void)
{
    if (g_skip != NULL) {
        fprintf(stderr, "skipped: %s\n", g_skip);
        skip();
    }
}

static void load_speech(void)
{
    char path[1024];
    if (!ts_shared_path(path, sizeof path, SPEECH)) {
        g_skip = "../shared/data/" SPEECH " not found (shared test data absent)";
        return;
    }
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *f = sf_open(path, SFM_READ, &si);
    if (f == NULL || si.samplerate != 16000 || si.channels != 1 || si.frames <= 0) {
        g_skip = "speech clip unreadable or not 16 kHz mono";
        if (f != NULL)
            sf_close(f);
        return;
    }
    g_speech = calloc((size_t)si.frames, sizeof *g_speech);
    g_nspeech = (size_t)sf_readf_short(f, g_speech, si.frames);
    sf_close(f);
}

/* Frame k (20 ms at 16 kHz) of the clip, zero-padded. */
static void frame_of(size_t k, int16_t *out)
{
    for (size_t i = 0; i < CG_FRAME_SAMPLES; i++) {
        size_t j = k * CG_FRAME_SAMPLES + i;
        out[i] = j < g_nspeech ? g_speech[j] : 0;
    }
}

static size_t nframes(void)
{
    return g_nspeech / CG_FRAME_SAMPLES;
}

/* A heap copy of exactly len bytes (ASan catches reads past it). */
static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
    uint8_t *q = malloc(len ? len : 1);
    assert_non_null(q);
    if (len)
        memcpy(q, p, len);
    return q;
}

static int decode_exact(dc_decoder *d, const uint8_t *p, size_t len, int16_t *pcm, size_t cap)
{
    uint8_t *q = dup_exact(p, len);
    int r = dc_decode(d, q, len, pcm, cap);
    free(q);
    return r;
}

static dc_decoder *decoder_for(const char *enc, int clock, int ch, const char *fmtp)
{
    dc_codec_info info;
    char err[128];
    assert_int_equal(
        dc_codec_lookup(cs_str_c(enc), clock, ch, cs_str_c(fmtp), &info, err, sizeof err),
        DC_KIND_AUDIO);
    dc_decoder *d = dc_decoder_new(&info);
    assert_non_null(d);
    return d;
}

/* ---- quality ----------------------------------------------------------- */

typedef struct quality {
    int delay;   /* samples the decoded signal lags the reference */
    double corr; /* normalised correlation at that delay, both high-passed at 300 Hz */
    double snr;  /* dB at that delay, whole signal */
} quality;

/* Two one-pole high-passes at 300 Hz (G.729 and Opus high-pass their input). */
static double *highpass(const int16_t *x, size_t n, int rate)
{
    double *y = malloc((n ? n : 1) * sizeof *y);
    assert_non_null(y);
    double a = exp(-2.0 * M_PI * 300.0 / rate);
    for (int pass = 0; pass < 2; pass++) {
        double px = 0, py = 0;
        for (size_t i = 0; i < n; i++) {
            double v = pass == 0 ? x[i] : y[i];
            py = a * (py + v - px);
            px = v;
            y[i] = py;
        }
    }
    return y;
}

static quality measure(const int16_t *ref, const int16_t *dec, size_t n, int maxdelay, int rate)
{
    quality q = {0, -2.0, 0};
    double *hr = highpass(ref, n, rate), *hd = highpass(dec, n, rate);
    for (int d = 0; d <= maxdelay; d++) {
        double xy = 0, xx = 0, yy = 0;
        for (size_t i = 0; i + (size_t)d < n; i++) {
            xy += hr[i] * hd[i + (size_t)d];
            xx += hr[i] * hr[i];
            yy += hd[i + (size_t)d] * hd[i + (size_t)d];
        }
        double c = xy / sqrt(xx * yy + 1e-9);
        if (c > q.corr) {
            q.corr = c;
            q.delay = d;
        }
    }
    free(hr);
    free(hd);
    double sig = 0, err = 0;
    for (size_t i = 0; i + (size_t)q.delay < n; i++) {
        double x = ref[i], y = dec[i + (size_t)q.delay];
        sig += x * x;
        err += (x - y) * (x - y);
    }
    q.snr = 10.0 * log10(sig / (err + 1e-9));
    return q;
}

/* Mean level error (dB) over the lost packets k = drop/2, drop/2 + drop, ...
 * of x against the clean decode, counting packets whose clean RMS > 100;
 * each packet's error clamped to 60 dB (silence). */
static double lost_level_err(const int16_t *clean, const int16_t *x, size_t npk, size_t per,
                             size_t drop)
{
    double sum = 0;
    size_t cnt = 0;
    for (size_t k = drop / 2; k < npk; k += drop) {
        double ec = 0, ex = 0;
        for (size_t i = k * per; i < (k + 1) * per; i++) {
            ec += (double)clean[i] * clean[i];
            ex += (double)x[i] * x[i];
        }
        ec /= (double)per;
        ex /= (double)per;
        if (ec < 1e4)
            continue;
        double e = fabs(10.0 * log10((ex + 1.0) / (ec + 1.0)));
        sum += e > 60.0 ? 60.0 : e;
        cnt++;
    }
    assert_true(cnt > 0);
    return sum / (double)cnt;
}

/* The clean decode with the lost packets zeroed: what no concealment gives. */
static int16_t *zero_lost(const int16_t *clean, size_t npk, size_t per, size_t drop)
{
    int16_t *z = malloc(npk * per * sizeof *z);
    assert_non_null(z);
    memcpy(z, clean, npk * per * sizeof *z);
    for (size_t k = drop / 2; k < npk; k += drop)
        memset(z + k * per, 0, per * sizeof *z);
    return z;
}

/* ---- the encoded clip --------------------------------------------------- */

typedef struct encoded {
    size_t n;       /* packets */
    uint8_t **pay;  /* payload of packet k */
    size_t *len;    /* its length */
    int16_t *ref;   /* what the encoder saw, at the codec's audio rate */
    int16_t *cgdec; /* callgen's reference decode of every packet */
    size_t per;     /* samples per packet at the audio rate */
} encoded;

static encoded encode_clip(cg_codec c)
{
    const cg_codec_info *ci = cg_codec_get(c);
    encoded e;
    e.n = nframes();
    e.per = (size_t)ci->audio_rate / 50;
    e.pay = calloc(e.n, sizeof *e.pay);
    e.len = calloc(e.n, sizeof *e.len);
    e.ref = calloc(e.n * e.per, sizeof *e.ref);
    e.cgdec = calloc(e.n * e.per, sizeof *e.cgdec);
    assert_true(e.pay && e.len && e.ref && e.cgdec);
    cg_encoder *enc = cg_encoder_new(c);
    cg_decoder *dec = cg_decoder_new(c);
    assert_non_null(enc);
    assert_non_null(dec);
    cg_down2 down;
    cg_down2_init(&down);
    for (size_t k = 0; k < e.n; k++) {
        int16_t pcm[CG_FRAME_SAMPLES];
        uint8_t buf[1500];
        frame_of(k, pcm);
        if (e.per == CG_FRAME_SAMPLES)
            memcpy(e.ref + k * e.per, pcm, sizeof pcm);
        else
            cg_down2_run(&down, pcm, CG_FRAME_SAMPLES, e.ref + k * e.per);
        int m = cg_encoder_encode(enc, pcm, buf, sizeof buf);
        assert_true(m > 0);
        e.pay[k] = dup_exact(buf, (size_t)m);
        e.len[k] = (size_t)m;
        assert_int_equal(cg_decoder_decode(dec, buf, (size_t)m, e.cgdec + k * e.per, e.per),
                         (int)e.per);
    }
    cg_encoder_free(enc);
    cg_decoder_free(dec);
    return e;
}

static void encoded_free(encoded *e)
{
    for (size_t k = 0; k < e->n; k++)
        free(e->pay[k]);
    free(e->pay);
    free(e->len);
    free(e->ref);
    free(e->cgdec);
}

/* Decodes every packet; lost(k) packets are concealed (fec = 0) or
 * recovered from packet k+1 (fec = 1). Output: n * per samples. */
static int16_t *decode_clip(dc_decoder *d, const encoded *e, int drop_every, int fec)
{
    int16_t *out = calloc(e->n * e->per, sizeof *out);
    assert_non_null(out);
    size_t pos = 0;
    for (size_t k = 0; k < e->n; k++) {
        int r;
        if (drop_every > 0 && k % (size_t)drop_every == (size_t)drop_every / 2) {
            if (fec && k + 1 < e->n) {
                uint8_t *q = dup_exact(e->pay[k + 1], e->len[k + 1]);
                r = dc_decode_fec(d, q, e->len[k + 1], e->per, out + pos, e->per);
                free(q);
            } else {
                r = dc_conceal(d, e->per, out + pos, e->per);
            }
        } else {
            r = decode_exact(d, e->pay[k], e->len[k], out + pos, e->n * e->per - pos);
        }
        assert_int_equal(r, (int)e->per);
        pos += (size_t)r;
    }
    assert_int_equal(pos, e->n * e->per);
    return out;
}

/* ---- classification ------------------------------------------------------ */

static void test_lookup_supported(void **state)
{
    (void)state;
    static const struct {
        const char *enc;
        int clock, ch;
        const char *fmtp;
        dc_kind kind;
        dc_codec_id id;
        const char *name;
        int rate, num, den, fec, annexb;
    } cases[] = {
        {"PCMU", 8000, 0, "", DC_KIND_AUDIO, DC_CODEC_PCMU, "PCMU", 8000, 1, 1, 0, 1},
        {"pcmu", 8000, 1, "", DC_KIND_AUDIO, DC_CODEC_PCMU, "PCMU", 8000, 1, 1, 0, 1},
        {"PcMa", 8000, 0, "", DC_KIND_AUDIO, DC_CODEC_PCMA, "PCMA", 8000, 1, 1, 0, 1},
        {"G722", 8000, 0, "", DC_KIND_AUDIO, DC_CODEC_G722, "G722", 16000, 2, 1, 0, 1},
        {"G729", 8000, 0, "annexb=no", DC_KIND_AUDIO, DC_CODEC_G729, "G729", 8000, 1, 1, 0, 0},
        {"g729a", 8000, 0, "", DC_KIND_AUDIO, DC_CODEC_G729, "G729", 8000, 1, 1, 0, 1},
        {"G729", 8000, 0, "annexb=yes", DC_KIND_AUDIO, DC_CODEC_G729, "G729", 8000, 1, 1, 0, 1},
        {"opus", 48000, 2, "useinbandfec=1;maxplaybackrate=16000", DC_KIND_AUDIO, DC_CODEC_OPUS,
         "opus", 16000, 1, 3, 1, 1},
        {"OPUS", 48000, 2, "maxplaybackrate=16000; useinbandfec = 1", DC_KIND_AUDIO, DC_CODEC_OPUS,
         "opus", 16000, 1, 3, 1, 1},
        {"opus", 48000, 2, "useinbandfec=0", DC_KIND_AUDIO, DC_CODEC_OPUS, "opus", 16000, 1, 3, 0,
         1},
        {"L16", 8000, 1, "", DC_KIND_AUDIO, DC_CODEC_L16, "L16", 8000, 1, 1, 0, 1},
        {"l16", 16000, 0, "", DC_KIND_AUDIO, DC_CODEC_L16, "L16", 16000, 1, 1, 0, 1},
        {"L16", 8000, 2, "", DC_KIND_AUDIO, DC_CODEC_L16, "L16", 8000, 1, 1, 0, 1},
        {"telephone-event", 8000, 0, "0-16", DC_KIND_TELEPHONE_EVENT, DC_CODEC_TELEPHONE_EVENT,
         "telephone-event", 0, 0, 1, 0, 1},
        {"Telephone-Event", 48000, 0, "", DC_KIND_TELEPHONE_EVENT, DC_CODEC_TELEPHONE_EVENT,
         "telephone-event", 0, 0, 1, 0, 1},
        {"CN", 8000, 0, "", DC_KIND_COMFORT_NOISE, DC_CODEC_CN, "CN", 8000, 1, 1, 0, 1},
        {"cn", 16000, 0, "", DC_KIND_COMFORT_NOISE, DC_CODEC_CN, "CN", 16000, 1, 1, 0, 1},
        {"CN", 48000, 0, "", DC_KIND_COMFORT_NOISE, DC_CODEC_CN, "CN", 16000, 1, 3, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_codec_info info;
        char err[64] = "x";
        dc_kind k = dc_codec_lookup(cs_str_c(cases[i].enc), cases[i].clock, cases[i].ch,
                                    cs_str_c(cases[i].fmtp), &info, err, sizeof err);
        assert_int_equal(k, cases[i].kind);
        assert_int_equal(info.kind, cases[i].kind);
        assert_int_equal(info.id, cases[i].id);
        assert_string_equal(info.name, cases[i].name);
        assert_int_equal(info.rtp_clock, cases[i].clock);
        assert_int_equal(info.audio_rate, cases[i].rate);
        assert_int_equal(info.ts_num, cases[i].num);
        assert_int_equal(info.ts_den, cases[i].den);
        assert_int_equal(info.fec, cases[i].fec);
        assert_int_equal(info.annexb, cases[i].annexb);
        assert_string_equal(err, "");
        dc_decoder *d = dc_decoder_new(&info);
        assert_non_null(d);
        assert_int_equal(dc_decoder_info(d)->id, cases[i].id);
        dc_decoder_free(d);
    }
    /* The encoding name is a slice: no NUL needed, nothing read past it. */
    const char buf[] = {'P', 'C', 'M', 'U', 'X'};
    dc_codec_info info;
    assert_int_equal(dc_codec_lookup(cs_str_make(buf, 4), 8000, 0, CS_STR_NULL, &info, NULL, 0),
                     DC_KIND_AUDIO);
    assert_int_equal(info.id, DC_CODEC_PCMU);
}

static void test_lookup_unsupported(void **state)
{
    (void)state;
    static const struct {
        const char *enc;
        int clock, ch;
        const char *reason;
    } cases[] = {
        {"GSM", 8000, 0, "unsupported codec GSM/8000"},
        {"iLBC", 8000, 0, "unsupported codec iLBC/8000"},
        {"speex", 16000, 0, "unsupported codec speex/16000"},
        {"G726-32", 8000, 0, "unsupported codec G726-32/8000"},
        {"DVI4", 8000, 0, "unsupported codec DVI4/8000"},
        {"G7221", 16000, 0, "unsupported codec G7221/16000"},
        {"G729D", 8000, 0, "unsupported codec G729D/8000"},
        {"H263", 90000, 0, "unsupported codec H263/90000"},
        {"BV32", 16000, 0, "unsupported codec BV32/16000"},
        {"PCMU", 16000, 0, "unsupported codec PCMU/16000: G.711 is 8000 Hz mono"},
        {"PCMA", 8000, 2, "unsupported codec PCMA/8000: G.711 is 8000 Hz mono"},
        {"G722", 16000, 0, "unsupported codec G722/16000: G.722 is clocked at 8000 Hz, mono"},
        {"G729", 16000, 0, "unsupported codec G729/16000: G.729 is 8000 Hz mono"},
        {"opus", 16000, 0, "unsupported codec opus/16000: Opus is clocked at 48000 Hz (RFC 7587)"},
        {"L16", 44100, 1,
         "unsupported codec L16/44100: no resampler (archive rates are 8000 and 16000)"},
        {"L16", 8000, 3, "unsupported codec L16/8000: only mono and stereo L16 are decoded"},
        {"L16", 22050, 1,
         "unsupported codec L16/22050: no resampler (archive rates are 8000 and 16000)"},
        {"", 8000, 0, "unsupported codec /8000: empty encoding name"},
        {"PCMU", 0, 0, "unsupported codec PCMU/0: invalid clock rate or channel count"},
        {"PCMU ", 8000, 0, "unsupported codec PCMU /8000"},
        {"PCM\x01", 8000, 0, "unsupported codec PCM?/8000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_codec_info info;
        char err[128];
        assert_int_equal(dc_codec_lookup(cs_str_c(cases[i].enc), cases[i].clock, cases[i].ch,
                                         CS_STR_NULL, &info, err, sizeof err),
                         DC_KIND_UNSUPPORTED);
        assert_string_equal(err, cases[i].reason);
        assert_int_equal(info.kind, DC_KIND_UNSUPPORTED);
        assert_int_equal(info.id, DC_CODEC_NONE);
        assert_int_equal(info.audio_rate, 0);
        assert_null(dc_decoder_new(&info));
    }
    /* The reason is cut to the buffer, always NUL-terminated. */
    dc_codec_info info;
    char small[12];
    memset(small, 'Z', sizeof small);
    dc_codec_lookup(cs_str_c("GSM"), 8000, 0, CS_STR_NULL, &info, small, sizeof small);
    assert_string_equal(small, "unsupported");
    assert_null(dc_decoder_new(NULL));
}

static void test_static_types(void **state)
{
    (void)state;
    static const struct {
        int pt;
        dc_kind kind;
        dc_codec_id id;
        int rate, clock;
        const char *reason;
    } cases[] = {
        {0, DC_KIND_AUDIO, DC_CODEC_PCMU, 8000, 8000, ""},
        {8, DC_KIND_AUDIO, DC_CODEC_PCMA, 8000, 8000, ""},
        {9, DC_KIND_AUDIO, DC_CODEC_G722, 16000, 8000, ""},
        {18, DC_KIND_AUDIO, DC_CODEC_G729, 8000, 8000, ""},
        {13, DC_KIND_COMFORT_NOISE, DC_CODEC_CN, 8000, 8000, ""},
        {3, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 8000, "unsupported codec GSM/8000"},
        {4, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 8000, "unsupported codec G723/8000"},
        {5, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 8000, "unsupported codec DVI4/8000"},
        {6, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 16000, "unsupported codec DVI4/16000"},
        {10, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 44100,
         "unsupported codec L16/44100: no resampler (archive rates are 8000 and 16000)"},
        {11, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 44100,
         "unsupported codec L16/44100: no resampler (archive rates are 8000 and 16000)"},
        {34, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 90000, "unsupported codec H263/90000"},
        {96, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 0,
         "unsupported codec PT 96: dynamic payload type without rtpmap"},
        {127, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 0,
         "unsupported codec PT 127: dynamic payload type without rtpmap"},
        {20, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 0,
         "unsupported codec PT 20: unassigned static payload type"},
        {128, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 0,
         "unsupported codec PT 128: not an RTP payload type"},
        {-1, DC_KIND_UNSUPPORTED, DC_CODEC_NONE, 0, 0,
         "unsupported codec PT -1: not an RTP payload type"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_codec_info info;
        char err[128];
        assert_int_equal(dc_codec_static(cases[i].pt, &info, err, sizeof err), cases[i].kind);
        assert_int_equal(info.id, cases[i].id);
        assert_int_equal(info.audio_rate, cases[i].rate);
        assert_int_equal(info.rtp_clock, cases[i].clock);
        assert_string_equal(err, cases[i].reason);
    }
}

/* ---- G.711 ------------------------------------------------------------- */

static void test_g711_all_codes(void **state)
{
    (void)state;
    uint8_t codes[256];
    int16_t pcm[256];
    for (int c = 0; c < 256; c++)
        codes[c] = (uint8_t)c;
    dc_decoder *u = decoder_for("PCMU", 8000, 0, NULL);
    dc_decoder *a = decoder_for("PCMA", 8000, 0, NULL);
    assert_int_equal(decode_exact(u, codes, 256, pcm, 256), 256);
    for (int c = 0; c < 256; c++)
        assert_int_equal(pcm[c], cg_g711_ulaw_decode((uint8_t)c));
    assert_int_equal(decode_exact(a, codes, 256, pcm, 256), 256);
    for (int c = 0; c < 256; c++)
        assert_int_equal(pcm[c], cg_g711_alaw_decode((uint8_t)c));
    /* ITU code points: mu-law 0xFF/0x7F = 0, 0x80 = +32124; A-law 0xD5 = +8. */
    assert_int_equal(pcm[0xD5], 8);
    assert_int_equal(pcm[0xAA], 32256);
    dc_decoder_free(u);
    dc_decoder_free(a);
}

static void test_g711_speech(void **state)
{
    (void)state;
    need_speech();
    static const cg_codec cs[] = {CG_CODEC_PCMU, CG_CODEC_PCMA};
    for (size_t i = 0; i < 2; i++) {
        encoded e = encode_clip(cs[i]);
        dc_decoder *d = decoder_for(cg_codec_get(cs[i])->encoding, 8000, 0, NULL);
        int16_t *out = decode_clip(d, &e, 0, 0);
        size_t n = e.n * e.per;
        /* sample-exact against callgen's G.711 */
        for (size_t k = 0; k < e.n; k++)
            for (size_t j = 0; j < e.len[k]; j++) {
                int16_t want = cs[i] == CG_CODEC_PCMU ? cg_g711_ulaw_decode(e.pay[k][j])
                                                      : cg_g711_alaw_decode(e.pay[k][j]);
                assert_int_equal(out[k * e.per + j], want);
            }
        assert_memory_equal(out, e.cgdec, n * sizeof *out);
        quality q = measure(e.ref, out, n, 40, 8000);
        fprintf(stderr, "%s: delay %d, SNR %.1f dB, band corr %.4f\n", cg_codec_get(cs[i])->name,
                q.delay, q.snr, q.corr);
        assert_int_equal(q.delay, 0);
        assert_true(q.snr >= 30.0);
        assert_true(q.corr >= 0.999);

        /* 1 packet in 10 lost: spandsp PLC keeps the length, the band
         * correlation above a measured floor, and the level of the lost
         * packets close to what was sent (silence would miss it by ~60 dB). */
        dc_decoder *d2 = decoder_for(cg_codec_get(cs[i])->encoding, 8000, 0, NULL);
        int16_t *lossy = decode_clip(d2, &e, 10, 0);
        quality ql = measure(e.ref, lossy, n, 40, 8000);
        int16_t *zeroed = zero_lost(out, e.n, e.per, 10);
        double lev = lost_level_err(out, lossy, e.n, e.per, 10);
        double levz = lost_level_err(out, zeroed, e.n, e.per, 10);
        fprintf(stderr,
                "%s 10%% loss: PLC band corr %.4f, SNR %.1f dB, level error on lost packets "
                "%.1f dB (silence: %.1f dB)\n",
                cg_codec_get(cs[i])->name, ql.corr, ql.snr, lev, levz);
        assert_int_equal(ql.delay, 0);
        assert_true(ql.corr >= 0.85);
        assert_true(lev < 6.0);
        assert_true(levz > 20.0);
        free(zeroed);
        free(lossy);
        dc_decoder_free(d2);
        free(out);
        dc_decoder_free(d);
        encoded_free(&e);
    }
}

/* ---- G.722, G.729, Opus ---------------------------------------------------- */

static void test_speech_codecs(void **state)
{
    (void)state;
    need_speech();
    static const struct {
        cg_codec c;
        int clock, ch, dmin, dmax;
        const char *fmtp;
        double min_corr, min_snr; /* measured; docs/decode-codecs.md */
        double loss_corr;         /* band correlation floor with 10 % loss (PLC) */
        double max_lev;           /* level error on the lost packets, dB */
    } cases[] = {
        {CG_CODEC_G722, 8000, 0, 22, 22, NULL, 0.995, 26.0, 0.85, 8.0},
        {CG_CODEC_G729, 8000, 0, 40, 40, "annexb=no", 0.75, -100.0, 0.58, 7.0},
        {CG_CODEC_OPUS, 48000, 2, 80, 130, "useinbandfec=1", 0.90, -100.0, 0.78, 7.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cg_codec_info *ci = cg_codec_get(cases[i].c);
        encoded e = encode_clip(cases[i].c);
        size_t n = e.n * e.per;
        dc_decoder *d = decoder_for(ci->encoding, cases[i].clock, cases[i].ch, cases[i].fmtp);
        int16_t *out = decode_clip(d, &e, 0, 0);
        /* the same library with the same settings as callgen's reference */
        assert_memory_equal(out, e.cgdec, n * sizeof *out);
        quality q = measure(e.ref, out, n, 400, ci->audio_rate);
        dc_decoder *d2 = decoder_for(ci->encoding, cases[i].clock, cases[i].ch, cases[i].fmtp);
        int16_t *lossy = decode_clip(d2, &e, 10, 0);
        quality ql = measure(e.ref, lossy, n, 400, ci->audio_rate);
        double lev = lost_level_err(out, lossy, e.n, e.per, 10);
        fprintf(stderr,
                "%s: delay %d, band corr %.4f, SNR %.1f dB; 10%% loss PLC: corr %.4f, SNR %.1f "
                "dB, level error on lost packets %.1f dB\n",
                ci->name, q.delay, q.corr, q.snr, ql.corr, ql.snr, lev);
        assert_true(lev < cases[i].max_lev);
        assert_in_range(q.delay, cases[i].dmin, cases[i].dmax);
        assert_true(q.corr >= cases[i].min_corr);
        assert_true(q.snr >= cases[i].min_snr);
        assert_true(ql.corr >= cases[i].loss_corr);
        free(lossy);
        free(out);
        dc_decoder_free(d2);
        dc_decoder_free(d);
        encoded_free(&e);
    }
}

/* The clip through libopus as a phone on a lossy link would encode it:
 * 16 kHz mono, VOIP, 32 kbit/s CBR, in-band FEC, expected loss 10 %. (callgen's
 * own Opus settings, 24 kbit/s and 5 %, make libopus 1.3.1 send no LBRR data
 * at all: see test_opus_fec_callgen.) */
static encoded encode_opus_lbrr(void)
{
    encoded e;
    e.n = nframes();
    e.per = CG_FRAME_SAMPLES;
    e.pay = calloc(e.n, sizeof *e.pay);
    e.len = calloc(e.n, sizeof *e.len);
    e.ref = calloc(e.n * e.per, sizeof *e.ref);
    e.cgdec = calloc(e.n * e.per, sizeof *e.cgdec);
    assert_true(e.pay && e.len && e.ref && e.cgdec);
    int err = 0;
    OpusEncoder *enc = opus_encoder_create(16000, 1, OPUS_APPLICATION_VOIP, &err);
    assert_non_null(enc);
    assert_int_equal(opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000)), OPUS_OK);
    assert_int_equal(opus_encoder_ctl(enc, OPUS_SET_VBR(0)), OPUS_OK);
    assert_int_equal(opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(1)), OPUS_OK);
    assert_int_equal(opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(10)), OPUS_OK);
    for (size_t k = 0; k < e.n; k++) {
        uint8_t buf[1500];
        frame_of(k, e.ref + k * e.per);
        opus_int32 m = opus_encode(enc, e.ref + k * e.per, CG_FRAME_SAMPLES, buf, sizeof buf);
        assert_true(m > 0);
        e.pay[k] = dup_exact(buf, (size_t)m);
        e.len[k] = (size_t)m;
    }
    opus_encoder_destroy(enc);
    return e;
}

typedef struct loss_result {
    quality clean, plc, fec;
    double snr_plc, snr_fec; /* vs the clean decode over lost + next packets, dB */
    double lev_plc, lev_fec; /* level error on lost packets, dB */
    int fec_is_plc;          /* FEC output identical to PLC output */
} loss_result;

static loss_result opus_loss(const encoded *e)
{
    loss_result r;
    size_t n = e->n * e->per;
    dc_decoder *dc = decoder_for("opus", 48000, 2, "useinbandfec=1");
    dc_decoder *dp = decoder_for("opus", 48000, 2, "useinbandfec=1");
    dc_decoder *df = decoder_for("opus", 48000, 2, "useinbandfec=1");
    int16_t *clean = decode_clip(dc, e, 0, 0);
    int16_t *plc = decode_clip(dp, e, 10, 0);
    int16_t *fec = decode_clip(df, e, 10, 1);
    r.clean = measure(e->ref, clean, n, 400, 16000);
    r.plc = measure(e->ref, plc, n, 400, 16000);
    r.fec = measure(e->ref, fec, n, 400, 16000);
    double sp = 0, ep = 0, ef = 0;
    for (size_t k = 5; k + 1 < e->n; k += 10)
        for (size_t i = k * e->per; i < (k + 2) * e->per; i++) {
            double c = clean[i];
            sp += c * c;
            ep += (c - plc[i]) * (c - plc[i]);
            ef += (c - fec[i]) * (c - fec[i]);
        }
    r.snr_plc = 10.0 * log10(sp / (ep + 1e-9));
    r.snr_fec = 10.0 * log10(sp / (ef + 1e-9));
    r.lev_plc = lost_level_err(clean, plc, e->n, e->per, 10);
    r.lev_fec = lost_level_err(clean, fec, e->n, e->per, 10);
    r.fec_is_plc = memcmp(plc, fec, n * sizeof *fec) == 0;
    /* the packets before the first loss are untouched */
    assert_memory_equal(clean, plc, 5 * e->per * sizeof *clean);
    assert_memory_equal(clean, fec, 5 * e->per * sizeof *clean);
    free(clean);
    free(plc);
    free(fec);
    dc_decoder_free(dc);
    dc_decoder_free(dp);
    dc_decoder_free(df);
    return r;
}

static void print_loss(const char *what, const loss_result *r)
{
    fprintf(stderr,
            "%s, 10%% loss: band corr clean %.4f, PLC %.4f, FEC %.4f; SNR vs clean decode over "
            "lost+next packets: PLC %.1f dB, FEC %.1f dB; level error on lost packets: PLC "
            "%.1f dB, FEC %.1f dB%s\n",
            what, r->clean.corr, r->plc.corr, r->fec.corr, r->snr_plc, r->snr_fec, r->lev_plc,
            r->lev_fec, r->fec_is_plc ? " (FEC output = PLC output: no LBRR)" : "");
}

/* Opus with 1 packet in 10 lost: in-band FEC from the next packet recovers
 * better than PLC when the sender includes LBRR data. */
static void test_opus_fec(void **state)
{
    (void)state;
    need_speech();
    encoded e = encode_opus_lbrr();
    loss_result r = opus_loss(&e);
    print_loss("opus 32 kbit/s FEC", &r);
    assert_false(r.fec_is_plc);
    assert_true(r.plc.corr >= r.clean.corr - 0.15);
    assert_true(r.fec.corr >= r.clean.corr - 0.05);
    assert_true(r.fec.corr > r.plc.corr + 0.02);
    assert_true(r.snr_fec > r.snr_plc + 3.0);
    assert_true(r.lev_fec < r.lev_plc);
    encoded_free(&e);
}

/* callgen's Opus stream (24 kbit/s, 5 % expected loss) carries no LBRR with
 * libopus 1.3.1: FEC then falls back to PLC inside libopus — never worse. */
static void test_opus_fec_callgen(void **state)
{
    (void)state;
    need_speech();
    encoded e = encode_clip(CG_CODEC_OPUS);
    loss_result r = opus_loss(&e);
    print_loss("opus callgen 24 kbit/s", &r);
    assert_true(r.fec.corr >= r.plc.corr - 1e-9);
    assert_true(r.plc.corr >= r.clean.corr - 0.15);
    encoded_free(&e);
}

/* "opus/48000/2" allows a stereo sender and packets of 2.5..120 ms: a
 * stereo encoder at 48 kHz with 60 ms frames decodes to 16 kHz mono, 960
 * samples per packet, still correlated with the speech. */
static void test_opus_stereo_60ms(void **state)
{
    (void)state;
    need_speech();
    size_t nf = g_nspeech / 960, n = nf * 960;
    int err = 0;
    OpusEncoder *enc = opus_encoder_create(48000, 2, OPUS_APPLICATION_VOIP, &err);
    assert_non_null(enc);
    assert_int_equal(opus_encoder_ctl(enc, OPUS_SET_BITRATE(48000)), OPUS_OK);
    dc_decoder *d = decoder_for("opus", 48000, 2, NULL);
    int16_t *out = calloc(n, sizeof *out), *st = calloc(2 * 2880, sizeof *st);
    assert_true(out && st);
    for (size_t k = 0; k < nf; k++) {
        /* 16 kHz -> 48 kHz by sample repetition (the test needs a stereo
         * 48 kHz source, not a good resampler); right channel = left / 2 */
        for (size_t i = 0; i < 2880; i++) {
            int16_t v = g_speech[k * 960 + i / 3];
            st[2 * i] = v;
            st[2 * i + 1] = (int16_t)(v / 2);
        }
        uint8_t buf[1500];
        opus_int32 m = opus_encode(enc, st, 2880, buf, sizeof buf);
        assert_true(m > 0);
        assert_int_equal(decode_exact(d, buf, (size_t)m, out + k * 960, 959), CS_ERR_OVERFLOW);
        assert_int_equal(decode_exact(d, buf, (size_t)m, out + k * 960, 960), 960);
    }
    quality q = measure(g_speech, out, n, 400, 16000);
    fprintf(stderr, "opus stereo 48 kHz, 60 ms packets -> mono 16 kHz: delay %d, band corr %.4f\n",
            q.delay, q.corr);
    assert_int_equal(q.delay, 104);
    assert_true(q.corr >= 0.93);
    opus_encoder_destroy(enc);
    dc_decoder_free(d);
    free(out);
    free(st);
}

/* Concealment lengths that are not whole codec frames, and long gaps. */
static void test_conceal_lengths(void **state)
{
    (void)state;
    static const struct {
        const char *enc;
        int clock, ch;
    } cs[] = {{"PCMU", 8000, 0},  {"G722", 8000, 0}, {"G729", 8000, 0},
              {"opus", 48000, 2}, {"L16", 16000, 0}, {"CN", 8000, 0}};
    static const size_t lens[] = {0, 1, 39, 41, 79, 81, 333, 1920, 16000};
    int16_t *pcm = malloc(16001 * sizeof *pcm);
    assert_non_null(pcm);
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        dc_codec_info info;
        dc_codec_lookup(cs_str_c(cs[i].enc), cs[i].clock, cs[i].ch, CS_STR_NULL, &info, NULL, 0);
        dc_decoder *d = dc_decoder_new(&info);
        assert_non_null(d);
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) {
            pcm[lens[j]] = 12345; /* canary one past the end */
            assert_int_equal(dc_conceal(d, lens[j], pcm, lens[j]), (int)lens[j]);
            assert_int_equal(pcm[lens[j]], 12345);
            if (lens[j] > 0)
                assert_int_equal(dc_conceal(d, lens[j], pcm, lens[j] - 1), CS_ERR_OVERFLOW);
        }
        /* after DC_PLC_MAX_MS of one gap: silence */
        assert_int_equal(dc_conceal(d, 4000, pcm, 4000), 4000);
        for (size_t k = 0; k < 4000; k++)
            assert_int_equal(pcm[k], 0);
        assert_int_equal(dc_conceal(d, 10, NULL, 10), CS_ERR_INVAL);
        assert_int_equal(dc_conceal(d, 0, NULL, 0), 0);
        dc_decoder_free(d);
    }
    assert_int_equal(dc_conceal(NULL, 10, pcm, 10), CS_ERR_INVAL);
    free(pcm);
}

/* G.729 Annex B: bcg729's own encoder with VAD on sends SID frames (2 bytes)
 * and nothing in steady silence; the decoder turns both into comfort noise. */
static void test_g729_annexb(void **state)
{
    (void)state;
    need_speech();
    /* 8 kHz: the clip, then 2 s of low noise (RMS ~ 30). */
    size_t nsp = nframes() * 160, nsil = 16000, n = nsp + nsil;
    int16_t *in = calloc(n, sizeof *in), *out = calloc(n, sizeof *out);
    assert_true(in && out);
    cg_down2 down;
    cg_down2_init(&down);
    for (size_t k = 0; k < nframes(); k++) {
        int16_t f[CG_FRAME_SAMPLES];
        frame_of(k, f);
        cg_down2_run(&down, f, CG_FRAME_SAMPLES, in + k * 160);
    }
    uint32_t s = 12345;
    for (size_t i = nsp; i < n; i++) {
        s = s * 1103515245u + 12345u;
        in[i] = (int16_t)((int)((s >> 16) % 101) - 50);
    }
    bcg729EncoderChannelContextStruct *enc = initBcg729EncoderChannel(1);
    assert_non_null(enc);
    dc_decoder *d = decoder_for("G729", 8000, 0, "annexb=yes");
    size_t sid = 0, untx = 0, speech = 0;
    double cng_energy = 0;
    size_t cng_n = 0;
    for (size_t f = 0; f < n / 80; f++) {
        uint8_t buf[10];
        uint8_t flen = 0;
        bcg729Encoder(enc, in + f * 80, buf, &flen);
        int r;
        if (flen == 0) {
            untx++;
            r = dc_conceal(d, 80, out + f * 80, 80);
        } else {
            assert_true(flen == 10 || flen == 2);
            sid += flen == 2;
            speech += flen == 10;
            r = decode_exact(d, buf, flen, out + f * 80, 80);
        }
        assert_int_equal(r, 80);
        if (f * 80 >= nsp + 4000)
            for (size_t i = 0; i < 80; i++) {
                cng_energy += (double)out[f * 80 + i] * out[f * 80 + i];
                cng_n++;
            }
    }
    closeBcg729EncoderChannel(enc);
    double cng_rms = sqrt(cng_energy / (double)cng_n);
    quality q = measure(in, out, nsp, 80, 8000);
    fprintf(stderr,
            "g729 annex B: %zu speech, %zu SID, %zu untransmitted frames; speech band corr %.3f "
            "at delay %d; comfort noise RMS %.1f (input noise RMS ~29)\n",
            speech, sid, untx, q.corr, q.delay, cng_rms);
    assert_true(sid > 0);
    assert_true(untx > 0);
    assert_true(q.corr >= 0.70);
    /* comfort noise, not silence, and at roughly the input's level */
    assert_true(cng_rms > 3.0 && cng_rms < 300.0);
    /* A packet of two speech frames and a SID: 30 ms. */
    uint8_t pkt[22] = {0};
    pkt[20] = 0x42;
    pkt[21] = 0x10;
    int16_t pcm[240];
    assert_int_equal(decode_exact(d, pkt, 22, pcm, 240), 240);
    assert_int_equal(decode_exact(d, pkt, 22, pcm, 239), CS_ERR_OVERFLOW);
    assert_int_equal(decode_exact(d, pkt, 2, pcm, 80), 80);
    dc_decoder_free(d);
    free(in);
    free(out);
}

/* RFC 3389 comfort noise and RFC 4733 events. */
static void test_cn_and_events(void **state)
{
    (void)state;
    int16_t pcm[8000];
    dc_codec_info info;
    assert_int_equal(dc_codec_static(13, &info, NULL, 0), DC_KIND_COMFORT_NOISE);
    dc_decoder *cn = dc_decoder_new(&info);
    assert_non_null(cn);
    /* before any CN payload: silence */
    assert_int_equal(dc_conceal(cn, 100, pcm, 100), 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(pcm[i], 0);
    static const uint8_t lv40[] = {40, 0x80, 0x7f}, lv127[] = {127}, bad[] = {128};
    assert_int_equal(decode_exact(cn, lv40, sizeof lv40, pcm, 0), 0);
    assert_int_equal(dc_conceal(cn, 8000, pcm, 8000), 8000);
    double e = 0;
    for (int i = 0; i < 8000; i++)
        e += (double)pcm[i] * pcm[i];
    double db = 20.0 * log10(sqrt(e / 8000) / 32768.0);
    fprintf(stderr, "CN level 40: noise at %.2f dBov\n", db);
    assert_true(fabs(db + 40.0) < 0.5);
    assert_int_equal(decode_exact(cn, lv127, 1, pcm, 0), 0);
    assert_int_equal(dc_conceal(cn, 100, pcm, 100), 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(pcm[i], 0);
    assert_int_equal(decode_exact(cn, bad, 1, pcm, 0), CS_ERR_MALFORMED);
    assert_int_equal(decode_exact(cn, bad, 0, pcm, 0), CS_ERR_TRUNCATED);
    dc_decoder_free(cn);

    dc_decoder *te = NULL;
    assert_int_equal(
        dc_codec_lookup(cs_str_c("telephone-event"), 8000, 0, cs_str_c("0-15"), &info, NULL, 0),
        DC_KIND_TELEPHONE_EVENT);
    te = dc_decoder_new(&info);
    assert_non_null(te);
    static const uint8_t ev[] = {5, 0x8a, 0x03, 0x20};
    assert_int_equal(decode_exact(te, ev, 4, pcm, 0), 0);
    assert_int_equal(decode_exact(te, ev, 3, pcm, 0), CS_ERR_TRUNCATED);
    pcm[0] = 7;
    assert_int_equal(dc_conceal(te, 10, pcm, 10), 10);
    assert_int_equal(pcm[0], 0);
    dc_decoder_free(te);
}

/* Malformed payloads and caps, boundary by boundary. */
static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *enc;
        int clock, ch;
        uint8_t bytes[8];
        size_t len, cap;
        int want;
    } cases[] = {
        {"PCMU", 8000, 0, {0}, 0, 100, CS_ERR_TRUNCATED},
        {"PCMU", 8000, 0, {1, 2, 3}, 3, 2, CS_ERR_OVERFLOW},
        {"PCMU", 8000, 0, {1, 2, 3}, 3, 3, 3},
        {"PCMA", 8000, 0, {1}, 1, 1, 1},
        {"G722", 8000, 0, {1, 2, 3}, 3, 5, CS_ERR_OVERFLOW},
        {"G722", 8000, 0, {1, 2, 3}, 3, 6, 6},
        {"G722", 8000, 0, {0}, 0, 6, CS_ERR_TRUNCATED},
        {"L16", 8000, 0, {1, 2, 3}, 3, 10, CS_ERR_MALFORMED},
        {"L16", 8000, 0, {0x80, 0, 0x7f, 0xff}, 4, 1, CS_ERR_OVERFLOW},
        {"L16", 8000, 0, {0x80, 0, 0x7f, 0xff}, 4, 2, 2},
        /* stereo L16: 4-byte frames, down-mixed to the mean */
        {"L16", 8000, 2, {0x80, 0, 0x7f, 0xff, 0x10, 0, 0x10, 0}, 8, 2, 2},
        {"L16", 8000, 2, {0x80, 0, 0x7f, 0xff, 0x10, 0}, 6, 10, CS_ERR_MALFORMED},
        {"L16", 8000, 2, {0x80, 0, 0x7f, 0xff, 0x10, 0, 0x10, 0}, 8, 1, CS_ERR_OVERFLOW},
        {"G729", 8000, 0, {0}, 0, 160, CS_ERR_TRUNCATED},
        {"G729", 8000, 0, {0}, 1, 160, CS_ERR_MALFORMED},
        {"G729", 8000, 0, {0}, 3, 160, CS_ERR_MALFORMED},
        {"G729", 8000, 0, {0}, 9, 160, CS_ERR_MALFORMED},
        {"G729", 8000, 0, {0}, 2, 80, 80},
        {"G729", 8000, 0, {0}, 2, 79, CS_ERR_OVERFLOW},
        {"G729", 8000, 0, {0}, 10, 80, 80},
        {"opus", 48000, 2, {0}, 0, 1920, CS_ERR_TRUNCATED},
        /* code 3 TOC without its frame-count byte */
        {"opus", 48000, 2, {0x03}, 1, 1920, CS_ERR_MALFORMED},
        /* code 3, 0 frames */
        {"opus", 48000, 2, {0x03, 0x00}, 2, 1920, CS_ERR_MALFORMED},
        /* code 3, 49 frames of 20 ms: longer than 120 ms */
        {"opus", 48000, 2, {0x4b, 0x31}, 2, 1920, CS_ERR_MALFORMED},
        /* code 2 (two frames, first length given) with the length byte missing */
        {"opus", 48000, 2, {0x4a}, 1, 1920, CS_ERR_MALFORMED},
        /* code 2, first frame longer than the packet */
        {"opus", 48000, 2, {0x4a, 0x20, 1, 2}, 4, 1920, CS_ERR_MALFORMED},
        /* code 1 (two equal frames) with an odd remainder */
        {"opus", 48000, 2, {0x49, 1, 2, 3}, 4, 1920, CS_ERR_MALFORMED},
        /* SILK NB 20 ms, one frame: a valid TOC; 320 samples at 16 kHz */
        {"opus", 48000, 2, {0x08}, 1, 320, 320},
        {"opus", 48000, 2, {0x08}, 1, 319, CS_ERR_OVERFLOW},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_decoder *d = decoder_for(cases[i].enc, cases[i].clock, cases[i].ch, NULL);
        int16_t *pcm = malloc((cases[i].cap ? cases[i].cap : 1) * sizeof *pcm);
        assert_non_null(pcm);
        int r = decode_exact(d, cases[i].bytes, cases[i].len, pcm, cases[i].cap);
        if (r != cases[i].want)
            fail_msg("case %zu (%s len %zu cap %zu): got %d (%s), want %d", i, cases[i].enc,
                     cases[i].len, cases[i].cap, r, cs_err_name(r), cases[i].want);
        if (i == 9) { /* L16 is big-endian */
            assert_int_equal(pcm[0], -32768);
            assert_int_equal(pcm[1], 32767);
        }
        if (i == 10) { /* (-32768 + 32767) >> 1, (4096 + 4096) >> 1 */
            assert_int_equal(pcm[0], -1);
            assert_int_equal(pcm[1], 4096);
        }
        free(pcm);
        dc_decoder_free(d);
    }
    /* too long for any datagram; NULL arguments */
    dc_decoder *d = decoder_for("PCMU", 8000, 0, NULL);
    uint8_t *big = calloc(DC_MAX_PAYLOAD + 1, 1);
    int16_t *pcm = malloc((DC_MAX_PAYLOAD + 1) * sizeof *pcm);
    assert_true(big && pcm);
    assert_int_equal(dc_decode(d, big, DC_MAX_PAYLOAD, pcm, DC_MAX_PAYLOAD + 1), DC_MAX_PAYLOAD);
    assert_int_equal(dc_decode(d, big, DC_MAX_PAYLOAD + 1, pcm, DC_MAX_PAYLOAD + 1), CS_ERR_LIMIT);
    assert_int_equal(dc_decode(d, NULL, 1, pcm, 1), CS_ERR_INVAL);
    assert_int_equal(dc_decode(d, big, 1, NULL, 1), CS_ERR_INVAL);
    assert_int_equal(dc_decode(NULL, big, 1, pcm, 1), CS_ERR_INVAL);
    dc_decoder_free(d);
    /* FEC: malformed next packet refused, other codecs conceal */
    d = decoder_for("opus", 48000, 2, NULL);
    static const uint8_t toc3[] = {0x03};
    uint8_t *q = dup_exact(toc3, 1);
    assert_int_equal(dc_decode_fec(d, q, 1, 320, pcm, 320), CS_ERR_MALFORMED);
    assert_int_equal(dc_decode_fec(d, q, 0, 320, pcm, 320), CS_ERR_TRUNCATED);
    assert_int_equal(dc_decode_fec(d, NULL, 1, 320, pcm, 320), CS_ERR_INVAL);
    static const uint8_t silk[] = {0x08};
    assert_int_equal(dc_decode_fec(d, silk, 1, 320, pcm, 319), CS_ERR_OVERFLOW);
    assert_int_equal(dc_decode_fec(d, silk, 1, 333, pcm, 333), 333);
    free(q);
    dc_decoder_free(d);
    d = decoder_for("PCMA", 8000, 0, NULL);
    assert_int_equal(dc_decode_fec(d, NULL, 0, 160, pcm, 160), 160);
    dc_decoder_free(d);
    dc_decoder_free(NULL);
    free(big);
    free(pcm);
}

/* ---- real captures written by others ------------------------------------ */

/* One RTP stream of a capture: the decoder and what it produced. */
typedef struct cap_stream {
    uint32_t ssrc;
    dc_decoder *d;
    cg_decoder *ref;       /* callgen's decoder (G.711: own code; G.722/G.729) */
    OpusDecoder *ref_opus; /* plain libopus at 16 kHz mono */
    size_t refchecked, invalid;
    size_t packets, samples, pairs, pairs_ok, seq_gaps;
    uint16_t last_seq;
    uint32_t last_ts;
    int last_n;
    double energy;
} cap_stream;

/* UDP payload of an Ethernet (optionally VLAN-tagged) IPv4/IPv6 frame, or NULL. */
static const uint8_t *udp_payload(const uint8_t *f, size_t len, size_t *plen)
{
    size_t off = 12;
    if (len < 14)
        return NULL;
    unsigned et = (unsigned)(f[12] << 8 | f[13]);
    while ((et == 0x8100 || et == 0x88a8) && len >= off + 6) {
        off += 4;
        et = (unsigned)(f[off] << 8 | f[off + 1]);
    }
    off += 2;
    if (et == 0x0800) {
        if (len < off + 20 || (f[off] >> 4) != 4)
            return NULL;
        size_t ihl = (size_t)(f[off] & 15) * 4;
        if (f[off + 9] != 17 || (((f[off + 6] & 0x3f) << 8) | f[off + 7]) != 0 || len < off + ihl)
            return NULL;
        off += ihl;
    } else if (et == 0x86dd) {
        if (len < off + 40 || f[off + 6] != 17)
            return NULL;
        off += 40;
    } else {
        return NULL;
    }
    if (len < off + 8)
        return NULL;
    size_t ulen = (size_t)(f[off + 4] << 8 | f[off + 5]);
    if (ulen < 8 || off + ulen > len)
        return NULL;
    *plen = ulen - 8;
    return f + off + 8;
}

static void test_real_captures(void **state)
{
    (void)state;
    /* nth: which stream of that payload type (order of appearance; -1 all):
     * the L16 capture holds four calls, each with its own rtpmap for PT 99. */
    static const struct {
        const char *file;
        int pt, nth;
        const char *enc;
        int clock, ch;
        const char *fmtp;
        size_t min_packets;
    } cases[] = {
        {"wireshark-wiki_sip-rtp-g729a.pcap", 18, -1, "G729", 8000, 0, "annexb=no", 400},
        {"wireshark-wiki_sip-rtp-g722.pcap", 9, -1, "G722", 8000, 0, "", 400},
        {"wireshark-wiki_sip-rtp-l16.pcap", 99, 0, "L16", 8000, 2, "", 400},
        {"wireshark-wiki_sip-rtp-l16.pcap", 99, 1, "L16", 16000, 2, "", 400},
        {"wireshark-wiki_sip-rtp-opus-hybrid.pcap", 99, -1, "opus", 48000, 2, "useinbandfec=1", 5},
        {"wireshark-wiki_sip-rtp-g711.pcap", 0, -1, "PCMU", 8000, 0, "", 400},
        {"wireshark-wiki_sip-rtp-g711.pcap", 8, -1, "PCMA", 8000, 0, "", 400},
        {"pkts_sip_rtp.pcap", 0, -1, "PCMU", 8000, 0, "", 500},
        {"sipp_g711a.pcap", 8, -1, "PCMA", 8000, 0, "", 100},
    };
    /* the other two calls of the L16 capture: reported, not decoded */
    char err[128];
    dc_codec_info info;
    assert_int_equal(
        dc_codec_lookup(cs_str_c("L16"), 11025, 0, CS_STR_NULL, &info, err, sizeof err),
        DC_KIND_UNSUPPORTED);
    assert_string_equal(err,
                        "unsupported codec L16/11025: no resampler (archive rates are 8000 and "
                        "16000)");
    assert_int_equal(
        dc_codec_lookup(cs_str_c("L16"), 48000, 0, CS_STR_NULL, &info, err, sizeof err),
        DC_KIND_UNSUPPORTED);
    char path[1024];
    if (!ts_shared_path(path, sizeof path, "pcaps")) {
        fprintf(stderr, "skipped: ../shared/data/pcaps not found (shared test data absent)\n");
        skip();
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char rel[256], ebuf[PCAP_ERRBUF_SIZE];
        snprintf(rel, sizeof rel, "pcaps/%s", cases[c].file);
        if (!ts_shared_path(path, sizeof path, rel))
            fail_msg("%s missing from ../shared/data", rel);
        pcap_t *pc = pcap_open_offline(path, ebuf);
        assert_non_null(pc);
        assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
        cap_stream st[8];
        size_t nst = 0;
        int16_t *pcm = malloc(70000 * sizeof *pcm), *ref = malloc(70000 * sizeof *ref);
        assert_true(pcm && ref);
        struct pcap_pkthdr *h;
        const u_char *frame;
        while (pcap_next_ex(pc, &h, &frame) == 1) {
            size_t ulen = 0;
            const uint8_t *u = udp_payload(frame, h->caplen, &ulen);
            rtp_hdr rh;
            if (u == NULL || ulen < 12 || rtp_parse(u, ulen, &rh) != CS_OK ||
                rh.pt != cases[c].pt || rh.payload_len == 0)
                continue;
            size_t s = 0;
            while (s < nst && st[s].ssrc != rh.ssrc)
                s++;
            if (s == nst) {
                assert_true(nst < 8);
                memset(&st[s], 0, sizeof st[s]);
                st[s].ssrc = rh.ssrc;
                if (cases[c].nth < 0 || (size_t)cases[c].nth == s) {
                    st[s].d = decoder_for(cases[c].enc, cases[c].clock, cases[c].ch, cases[c].fmtp);
                    cg_codec cc;
                    if (strcmp(cases[c].enc, "opus") == 0) {
                        int e = 0;
                        st[s].ref_opus = opus_decoder_create(16000, 1, &e);
                        assert_non_null(st[s].ref_opus);
                    } else if (cg_codec_parse(cases[c].enc, &cc) == CS_OK) {
                        st[s].ref = cg_decoder_new(cc);
                        assert_non_null(st[s].ref);
                    }
                }
                nst++;
            }
            cap_stream *cs = &st[s];
            if (cs->d == NULL)
                continue;
            int n = decode_exact(cs->d, rh.payload, rh.payload_len, pcm, 70000);
            /* an independent decode of the same payload */
            int m = 0;
            if (cs->ref_opus != NULL)
                m = opus_decode(cs->ref_opus, rh.payload, (opus_int32)rh.payload_len, ref,
                                DC_MAX_PACKET_SAMPLES, 0);
            else if (cs->ref != NULL)
                m = cg_decoder_decode(cs->ref, rh.payload, rh.payload_len, ref, 70000);
            if (cs->ref_opus != NULL && m == OPUS_INVALID_PACKET) {
                /* libopus itself refuses it: so must we */
                assert_int_equal(n, CS_ERR_MALFORMED);
                cs->invalid++;
                continue;
            }
            if (n <= 0)
                fail_msg("%s PT %d seq %u: %d (%s)", cases[c].file, rh.pt, rh.seq, n,
                         cs_err_name(n));
            if (cs->ref_opus != NULL || cs->ref != NULL) {
                assert_int_equal(m, n);
                assert_memory_equal(pcm, ref, (size_t)n * sizeof *pcm);
                cs->refchecked++;
            }
            /* the samples of a packet match the RTP timestamp step to the
             * next one (ts_num / ts_den output samples per unit) */
            const dc_codec_info *ci = dc_decoder_info(cs->d);
            if (cs->packets > 0 && (uint16_t)(cs->last_seq + 1) == rh.seq) {
                cs->pairs++;
                uint64_t step = (uint32_t)(rh.ts - cs->last_ts);
                cs->pairs_ok += step * (uint64_t)ci->ts_num == (uint64_t)cs->last_n * ci->ts_den;
            } else if (cs->packets > 0) {
                cs->seq_gaps++;
            }
            cs->packets++;
            cs->samples += (size_t)n;
            cs->last_seq = rh.seq;
            cs->last_ts = rh.ts;
            cs->last_n = n;
            for (int i = 0; i < n; i++)
                cs->energy += (double)pcm[i] * pcm[i];
        }
        pcap_close(pc);
        free(pcm);
        free(ref);
        assert_true(nst > 0);
        for (size_t s = 0; s < nst; s++) {
            if (st[s].d == NULL)
                continue;
            const dc_codec_info *ci = dc_decoder_info(st[s].d);
            double secs = (double)st[s].samples / ci->audio_rate;
            double dbfs = 10.0 * log10(st[s].energy / (double)(st[s].samples ? st[s].samples : 1) /
                                           (32768.0 * 32768.0) +
                                       1e-12);
            fprintf(stderr,
                    "%s PT %d %s ssrc %08x: %zu packets, %.2f s at %d Hz, level %.1f dBFS, "
                    "ts steps matching the decoded length %zu/%zu, seq gaps %zu, "
                    "sample-exact with an independent decoder %zu, invalid (libopus agrees) "
                    "%zu\n",
                    cases[c].file, cases[c].pt, ci->name, st[s].ssrc, st[s].packets, secs,
                    ci->audio_rate, dbfs, st[s].pairs_ok, st[s].pairs, st[s].seq_gaps,
                    st[s].refchecked, st[s].invalid);
            if (st[s].ref != NULL || st[s].ref_opus != NULL)
                assert_int_equal(st[s].refchecked, st[s].packets);
            cg_decoder_free(st[s].ref);
            if (st[s].ref_opus != NULL)
                opus_decoder_destroy(st[s].ref_opus);
            if (st[s].packets >= cases[c].min_packets) {
                assert_int_equal(st[s].pairs_ok, st[s].pairs); /* every step */
                assert_true(dbfs > -60.0);                     /* real audio, not silence */
            }
            dc_decoder_free(st[s].d);
        }
    }
}

int main(void)
{
    load_speech();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_supported), cmocka_unit_test(test_lookup_unsupported),
        cmocka_unit_test(test_static_types),     cmocka_unit_test(test_g711_all_codes),
        cmocka_unit_test(test_g711_speech),      cmocka_unit_test(test_speech_codecs),
        cmocka_unit_test(test_opus_fec),         cmocka_unit_test(test_opus_fec_callgen),
        cmocka_unit_test(test_opus_stereo_60ms), cmocka_unit_test(test_conceal_lengths),
        cmocka_unit_test(test_g729_annexb),      cmocka_unit_test(test_cn_and_events),
        cmocka_unit_test(test_malformed),        cmocka_unit_test(test_real_captures),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(g_speech);
    return rc;
}
