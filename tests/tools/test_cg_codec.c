/*
 * test_cg_codec.c — callgen's codecs and decimator against fixed truths.
 *
 * G.711: known code points of the standard, error bounds over all 65536
 * inputs, and (when sox is installed) byte-for-byte agreement with sox's
 * independent G.711 tables for every input and every code. Every codec:
 * payload size of a 20 ms frame, exact CS_ERR_OVERFLOW at cap = size - 1,
 * and an encode -> decode round trip of a real recording (LibriVox clip of
 * pocketsphinx-testdata) with a quality floor measured on this machine and
 * asserted with margin. The decimator: impulse response position (group
 * delay), DC gain, 1 kHz pass, 6 kHz stop.
 *
 * Needs pocketsphinx-testdata; exits 77 (skipped) without it.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cg_codec.h"
#include "cg_voice.h"
#include "error.h"
#include "testsupport.h"

#define TESTDATA "/usr/share/pocketsphinx/test/data"

/* The clip every round trip uses: 7.1 s of one LibriVox reader. */
static cg_bank g_bank;
static const cg_clip *g_speech;

static double to_db(double x)
{
    return 10.0 * log10(x);
}

/* ---- G.711 ------------------------------------------------------------- */

static void test_g711_code_points(void **state)
{
    (void)state;
    /* mu-law (G.711 table 2a): 0 -> 0xFF, -1 -> 0x7F ("negative zero"),
     * extremes -> 0x80 / 0x00; decoding is the segment midpoint. */
    assert_int_equal(cg_g711_ulaw_encode(0), 0xFF);
    assert_int_equal(cg_g711_ulaw_encode(-1), 0x7F);
    assert_int_equal(cg_g711_ulaw_encode(32767), 0x80);
    assert_int_equal(cg_g711_ulaw_encode(-32768), 0x00);
    assert_int_equal(cg_g711_ulaw_encode(1000), 0xCE);
    assert_int_equal(cg_g711_ulaw_encode(-1000), 0x4E);
    assert_int_equal(cg_g711_ulaw_decode(0xFF), 0);
    assert_int_equal(cg_g711_ulaw_decode(0x7F), 0);
    assert_int_equal(cg_g711_ulaw_decode(0x80), 32124);
    assert_int_equal(cg_g711_ulaw_decode(0x00), -32124);
    assert_int_equal(cg_g711_ulaw_decode(0xCE), 988);
    assert_int_equal(cg_g711_ulaw_decode(0xFE), 8);
    /* A-law (G.711 table 1a): 0 -> 0xD5, even bits inverted. */
    assert_int_equal(cg_g711_alaw_encode(0), 0xD5);
    assert_int_equal(cg_g711_alaw_encode(-1), 0x55);
    assert_int_equal(cg_g711_alaw_encode(32767), 0xAA);
    assert_int_equal(cg_g711_alaw_encode(-32768), 0x2A);
    assert_int_equal(cg_g711_alaw_encode(1000), 0xFA);
    assert_int_equal(cg_g711_alaw_decode(0xD5), 8);
    assert_int_equal(cg_g711_alaw_decode(0x55), -8);
    assert_int_equal(cg_g711_alaw_decode(0xAA), 32256);
    assert_int_equal(cg_g711_alaw_decode(0x2A), -32256);
    assert_int_equal(cg_g711_alaw_decode(0xFA), 1008);
}

/* Half the quantisation step of the segment a code lies in (16-bit scale). */
static int ulaw_half_step(uint8_t u)
{
    return 4 << (((~u) >> 4) & 7);
}

static int alaw_half_step(uint8_t a)
{
    int e = ((a ^ 0x55) & 0x7F) >> 4;
    return e <= 1 ? 8 : 8 << (e - 1);
}

static void test_g711_bounds(void **state)
{
    (void)state;
    /* The quantisation error never exceeds half a step of the segment plus
     * the input granularity the companders drop (2 bits for mu-law, 3 for
     * A-law, plus the one's-complement offset of negatives), except in
     * overload, where the code is the extreme one. */
    for (int x = -32768; x <= 32767; x++) {
        uint8_t u = cg_g711_ulaw_encode((int16_t)x), a = cg_g711_alaw_encode((int16_t)x);
        int eu = abs(cg_g711_ulaw_decode(u) - x), ea = abs(cg_g711_alaw_decode(a) - x);
        int bu = ulaw_half_step(u) + 4, ba = alaw_half_step(a) + 8;
        if (abs(x) > 32124 + 512)
            assert_int_equal(u & 0x7F, 0);
        else if (eu > bu)
            fail_msg("x=%d: mu-law code %02x error %d > %d", x, u, eu, bu);
        if (ea > ba)
            fail_msg("x=%d: A-law code %02x error %d > %d", x, a, ea, ba);
        /* negatives mirror positives in one's complement (G.191 STL) */
        if (x < 0) {
            assert_int_equal(u, cg_g711_ulaw_encode((int16_t)~x) & 0x7F);
            assert_int_equal(a, cg_g711_alaw_encode((int16_t)~x) ^ 0x80);
        }
    }
    /* Decoding then re-encoding a code is the identity (mu-law's negative
     * zero 0x7F becomes 0xFF). */
    for (int c = 0; c < 256; c++) {
        uint8_t u = cg_g711_ulaw_encode(cg_g711_ulaw_decode((uint8_t)c));
        assert_int_equal(u, c == 0x7F ? 0xFF : c);
        assert_int_equal(cg_g711_alaw_encode(cg_g711_alaw_decode((uint8_t)c)), c);
    }
}

/* Runs sox with args; 0 on success, 1 when sox is missing, -1 on failure. */
static int run_sox(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp("sox", argv);
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st) == 0 ? 0 : WEXITSTATUS(st) == 127 ? 1 : -1;
}

static void test_g711_matches_sox(void **state)
{
    (void)state;
    char dir[256], lin[300], ul[300], al[300], ulin[300], alin[300];
    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "g711"), 0);
    snprintf(lin, sizeof lin, "%s/all.s16", dir);
    snprintf(ul, sizeof ul, "%s/all.ul", dir);
    snprintf(al, sizeof al, "%s/all.al", dir);
    snprintf(ulin, sizeof ulin, "%s/codes.ul.s16", dir);
    snprintf(alin, sizeof alin, "%s/codes.al.s16", dir);
    int16_t *all = malloc(65536 * sizeof *all);
    assert_non_null(all);
    for (int i = 0; i < 65536; i++)
        all[i] = (int16_t)(i - 32768);
    assert_int_equal(ts_write_file(lin, all, 65536 * sizeof *all), 0);
    char *enc_u[] = {"sox", "-V1", "-D", "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1",
                     "-L", lin, "-t", "raw", "-e", "u-law", "-b", "8", ul, NULL};
    int rc = run_sox(enc_u);
    if (rc == 1) {
        fprintf(stderr, "sox not installed: G.711 cross-check skipped\n");
        free(all);
        ts_rmrf(dir);
        skip();
    }
    assert_int_equal(rc, 0);
    char *enc_a[] = {"sox", "-V1", "-D", "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1",
                     "-L", lin, "-t", "raw", "-e", "a-law", "-b", "8", al, NULL};
    assert_int_equal(run_sox(enc_a), 0);
    size_t nu = 0, na = 0;
    uint8_t *su = (uint8_t *)ts_read_file(ul, &nu);
    uint8_t *sa = (uint8_t *)ts_read_file(al, &na);
    assert_non_null(su);
    assert_non_null(sa);
    assert_int_equal(nu, 65536);
    assert_int_equal(na, 65536);
    /* sox rounds the 16-bit input to 14 (mu) / 13 (A) bits before
     * companding where the ITU reference truncates, so the two agree on
     * every input exact at that precision; the positive ones are compared
     * here (negatives follow by the one's-complement mirror tested above). */
    size_t bad_u = 0, bad_a = 0, cmp_u = 0, cmp_a = 0;
    for (int i = 32768; i < 65536; i++) {
        if (all[i] % 4 == 0) {
            bad_u += su[i] != cg_g711_ulaw_encode(all[i]);
            cmp_u++;
        }
        if (all[i] % 8 == 0) {
            bad_a += sa[i] != cg_g711_alaw_encode(all[i]);
            cmp_a++;
        }
    }
    assert_int_equal(cmp_u, 8192);
    assert_int_equal(cmp_a, 4096);
    assert_int_equal(bad_u, 0);
    assert_int_equal(bad_a, 0);

    /* The 256 codes decoded by sox. */
    uint8_t codes[256];
    for (int c = 0; c < 256; c++)
        codes[c] = (uint8_t)c;
    assert_int_equal(ts_write_file(ul, codes, sizeof codes), 0);
    assert_int_equal(ts_write_file(al, codes, sizeof codes), 0);
    char *dec_u[] = {"sox", "-V1", "-D", "-t", "raw", "-r", "8000", "-e", "u-law", "-b", "8", "-c", "1", ul,
                     "-t", "raw", "-e", "signed", "-b", "16", "-L", ulin, NULL};
    char *dec_a[] = {"sox", "-V1", "-D", "-t", "raw", "-r", "8000", "-e", "a-law", "-b", "8", "-c", "1", al,
                     "-t", "raw", "-e", "signed", "-b", "16", "-L", alin, NULL};
    assert_int_equal(run_sox(dec_u), 0);
    assert_int_equal(run_sox(dec_a), 0);
    size_t ndu = 0, nda = 0;
    uint8_t *du = (uint8_t *)ts_read_file(ulin, &ndu);
    uint8_t *da = (uint8_t *)ts_read_file(alin, &nda);
    assert_non_null(du);
    assert_non_null(da);
    assert_int_equal(ndu, 512);
    assert_int_equal(nda, 512);
    for (int c = 0; c < 256; c++) {
        int16_t vu = (int16_t)(du[2 * c] | (du[2 * c + 1] << 8));
        int16_t va = (int16_t)(da[2 * c] | (da[2 * c + 1] << 8));
        assert_int_equal(cg_g711_ulaw_decode((uint8_t)c), vu);
        assert_int_equal(cg_g711_alaw_decode((uint8_t)c), va);
    }
    free(su);
    free(sa);
    free(du);
    free(da);
    free(all);
    ts_rmrf(dir);
}

/* ---- table, parse ------------------------------------------------------- */

static void test_codec_table(void **state)
{
    (void)state;
    static const struct {
        cg_codec c;
        const char *name, *enc;
        int pt, clock, ch, rate, ts;
        const char *fmtp;
    } want[] = {
        {CG_CODEC_PCMU, "pcmu", "PCMU", 0, 8000, 0, 8000, 160, NULL},
        {CG_CODEC_PCMA, "pcma", "PCMA", 8, 8000, 0, 8000, 160, NULL},
        {CG_CODEC_G722, "g722", "G722", 9, 8000, 0, 16000, 160, NULL},
        {CG_CODEC_G729, "g729", "G729", 18, 8000, 0, 8000, 160, "annexb=no"},
        {CG_CODEC_OPUS, "opus", "opus", 111, 48000, 2, 16000, 960,
         "useinbandfec=1;maxplaybackrate=16000;sprop-maxcapturerate=16000"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const cg_codec_info *ci = cg_codec_get(want[i].c);
        assert_non_null(ci);
        assert_string_equal(ci->name, want[i].name);
        assert_string_equal(ci->encoding, want[i].enc);
        assert_int_equal(ci->payload_type, want[i].pt);
        assert_int_equal(ci->rtp_clock, want[i].clock);
        assert_int_equal(ci->rtpmap_channels, want[i].ch);
        assert_int_equal(ci->audio_rate, want[i].rate);
        assert_int_equal(ci->ts_per_frame, want[i].ts);
        if (want[i].fmtp == NULL)
            assert_null(ci->fmtp);
        else
            assert_string_equal(ci->fmtp, want[i].fmtp);
        cg_codec back = CG_CODEC__COUNT;
        assert_int_equal(cg_codec_parse(want[i].name, &back), CS_OK);
        assert_int_equal(back, want[i].c);
        assert_int_equal(cg_codec_parse(want[i].enc, &back), CS_OK);
        assert_int_equal(back, want[i].c);
    }
    assert_null(cg_codec_get(CG_CODEC__COUNT));
    cg_codec c = CG_CODEC__COUNT;
    assert_int_equal(cg_codec_parse("g711u", &c), CS_OK);
    assert_int_equal(c, CG_CODEC_PCMU);
    assert_int_equal(cg_codec_parse("G711A", &c), CS_OK);
    assert_int_equal(c, CG_CODEC_PCMA);
    assert_int_equal(cg_codec_parse("g72", &c), CS_ERR_INVAL);
    assert_int_equal(cg_codec_parse("", &c), CS_ERR_INVAL);
    assert_int_equal(cg_codec_parse("opus ", &c), CS_ERR_INVAL);
    assert_int_equal(cg_codec_parse(NULL, &c), CS_ERR_INVAL);
}

/* ---- payload sizes and caps -------------------------------------------- */

static void frame_of(const cg_clip *clip, size_t k, int16_t *out)
{
    cg_track t = {clip->pcm, clip->nsamples};
    cg_track_frame(&t, k, out);
}

static void test_payload_sizes(void **state)
{
    (void)state;
    static const int fixed[CG_CODEC__COUNT] = {160, 160, 160, 20, 0};
    for (int c = 0; c < CG_CODEC__COUNT; c++) {
        cg_encoder *e = cg_encoder_new((cg_codec)c);
        assert_non_null(e);
        uint8_t out[1500];
        int16_t pcm[CG_FRAME_SAMPLES];
        size_t frames = g_speech->nsamples / CG_FRAME_SAMPLES;
        int minlen = 100000, maxlen = 0;
        for (size_t k = 0; k < frames; k++) {
            frame_of(g_speech, k, pcm);
            if (fixed[c] > 0) {
                /* a cap one short is refused without consuming the frame */
                assert_int_equal(cg_encoder_encode(e, pcm, out, (size_t)fixed[c] - 1),
                                 CS_ERR_OVERFLOW);
                assert_int_equal(cg_encoder_encode(e, pcm, out, (size_t)fixed[c]), fixed[c]);
                continue;
            }
            int n = cg_encoder_encode(e, pcm, out, sizeof out);
            assert_true(n > 0);
            minlen = n < minlen ? n : minlen;
            maxlen = n > maxlen ? n : maxlen;
        }
        if (c == CG_CODEC_OPUS) {
            fprintf(stderr, "opus 24 kbit/s payloads: %d..%d bytes\n", minlen, maxlen);
            assert_in_range(minlen, 20, 200);
            assert_in_range(maxlen, 20, 200);
            frame_of(g_speech, frames / 2, pcm);
            assert_int_equal(cg_encoder_encode(e, pcm, out, 1), CS_ERR_OVERFLOW);
            assert_int_equal(cg_encoder_encode(e, pcm, out, 0), CS_ERR_OVERFLOW);
        }
        assert_int_equal(cg_encoder_encode(e, NULL, out, sizeof out), CS_ERR_INVAL);
        assert_int_equal(cg_encoder_encode(e, pcm, NULL, sizeof out), CS_ERR_INVAL);
        cg_encoder_free(e);
    }
    assert_null(cg_encoder_new(CG_CODEC__COUNT));
    assert_null(cg_decoder_new(CG_CODEC__COUNT));
    cg_encoder_free(NULL);
    cg_decoder_free(NULL);
}

static void test_decoder_errors(void **state)
{
    (void)state;
    uint8_t pay[20] = {0};
    int16_t pcm[400];
    cg_decoder *d = cg_decoder_new(CG_CODEC_G729);
    assert_non_null(d);
    assert_int_equal(cg_decoder_decode(d, pay, 15, pcm, 400), CS_ERR_MALFORMED);
    assert_int_equal(cg_decoder_decode(d, pay, 20, pcm, 159), CS_ERR_OVERFLOW);
    assert_int_equal(cg_decoder_decode(d, pay, 20, pcm, 160), 160);
    assert_int_equal(cg_decoder_decode(d, pay, 0, pcm, 160), CS_ERR_INVAL);
    cg_decoder_free(d);
    d = cg_decoder_new(CG_CODEC_PCMU);
    assert_non_null(d);
    assert_int_equal(cg_decoder_decode(d, pay, 20, pcm, 19), CS_ERR_OVERFLOW);
    assert_int_equal(cg_decoder_decode(d, pay, 20, pcm, 20), 20);
    assert_int_equal(pcm[0], -32124); /* mu-law 0x00 */
    cg_decoder_free(d);
    d = cg_decoder_new(CG_CODEC_G722);
    assert_non_null(d);
    assert_int_equal(cg_decoder_decode(d, pay, 20, pcm, 39), CS_ERR_OVERFLOW);
    assert_int_equal(cg_decoder_decode(d, pay, 20, pcm, 40), 40);
    cg_decoder_free(d);
}

/* ---- round trips of real speech ---------------------------------------- */

typedef struct quality {
    int delay;     /* samples by which the decoded signal lags the reference */
    double corr;   /* normalised correlation at that delay (both high-passed) */
    double snr;    /* dB, whole signal, at that delay */
    double segsnr; /* dB, mean over 20 ms segments with speech, each clamped to [-10, 35] */
    double envcorr; /* correlation of the 10 ms log-energy envelopes */
    double level;  /* dB, decoded energy relative to the reference */
} quality;

/* Two one-pole high-passes at 300 Hz: G.729 and Opus high-pass their input
 * (G.729 at 140 Hz, with its phase shift), so waveform correlation is
 * measured in the telephone band, where both are meant to be faithful. */
static double *highpass(const int16_t *x, size_t n, int rate)
{
    double *y = malloc((n ? n : 1) * sizeof *y);
    assert_non_null(y);
    double a = exp(-2.0 * M_PI * 300.0 / rate), px = 0, py = 0;
    for (size_t i = 0; i < n; i++) {
        py = a * (py + x[i] - px);
        px = x[i];
        y[i] = py;
    }
    px = py = 0;
    for (size_t i = 0; i < n; i++) {
        double v = y[i];
        py = a * (py + v - px);
        px = v;
        y[i] = py;
    }
    return y;
}

static quality measure(const int16_t *ref, const int16_t *dec, size_t n, int maxdelay, int rate)
{
    quality q = {0, -2.0, 0, 0, 0, 0};
    double *hr = highpass(ref, n, rate), *hd = highpass(dec, n, rate);
    for (int d = 0; d <= maxdelay; d++) {
        double xy = 0, xx = 0, yy = 0;
        for (size_t i = 0; i + (size_t)d < n; i++) {
            double x = hr[i], y = hd[i + (size_t)d];
            xy += x * y;
            xx += x * x;
            yy += y * y;
        }
        double c = xy / sqrt(xx * yy + 1e-9);
        if (c > q.corr) {
            q.corr = c;
            q.delay = d;
        }
    }
    free(hr);
    free(hd);
    size_t seg = (size_t)rate / 50, half = seg / 2, d = (size_t)q.delay;
    double sig = 0, err = 0, out = 0, segsum = 0;
    size_t nseg = 0;
    for (size_t s0 = 0; s0 + seg + d <= n; s0 += seg) {
        double ss = 0, ee = 0;
        for (size_t i = s0; i < s0 + seg; i++) {
            double x = ref[i], y = dec[i + d];
            ss += x * x;
            ee += (x - y) * (x - y);
            out += y * y;
        }
        sig += ss;
        err += ee;
        if (ss / (double)seg > 1e4) { /* a segment with speech (RMS > 100) */
            double v = to_db((ss + 1e-9) / (ee + 1e-9));
            segsum += v < -10 ? -10 : v > 35 ? 35 : v;
            nseg++;
        }
    }
    q.snr = to_db(sig / (err + 1e-9));
    q.segsnr = nseg ? segsum / (double)nseg : 0;
    q.level = to_db(out / sig);
    size_t ne = (n - d) / half;
    double *er = malloc(ne * sizeof *er), *ed = malloc(ne * sizeof *ed), mr = 0, md = 0;
    assert_non_null(er);
    assert_non_null(ed);
    for (size_t j = 0; j < ne; j++) {
        double s = 0, t = 0;
        for (size_t i = j * half; i < (j + 1) * half; i++) {
            s += (double)ref[i] * ref[i];
            t += (double)dec[i + d] * dec[i + d];
        }
        er[j] = to_db(s / (double)half + 1);
        ed[j] = to_db(t / (double)half + 1);
        mr += er[j];
        md += ed[j];
    }
    mr /= (double)ne;
    md /= (double)ne;
    double xy = 0, xx = 0, yy = 0;
    for (size_t j = 0; j < ne; j++) {
        xy += (er[j] - mr) * (ed[j] - md);
        xx += (er[j] - mr) * (er[j] - mr);
        yy += (ed[j] - md) * (ed[j] - md);
    }
    q.envcorr = xy / sqrt(xx * yy + 1e-9);
    free(er);
    free(ed);
    return q;
}

/* Encodes the speech clip frame by frame, decodes every payload; returns
 * the reference (what the encoder saw: 16 kHz input, or the 8 kHz
 * decimation) and the decoded signal, both n samples. */
static size_t round_trip(cg_codec c, int16_t **ref, int16_t **dec)
{
    const cg_codec_info *ci = cg_codec_get(c);
    size_t frames = g_speech->nsamples / CG_FRAME_SAMPLES;
    size_t per = (size_t)ci->audio_rate / 50;
    *ref = calloc(frames * per, sizeof **ref);
    *dec = calloc(frames * per, sizeof **dec);
    assert_non_null(*ref);
    assert_non_null(*dec);
    cg_encoder *e = cg_encoder_new(c);
    cg_decoder *d = cg_decoder_new(c);
    assert_non_null(e);
    assert_non_null(d);
    cg_down2 down;
    cg_down2_init(&down);
    for (size_t k = 0; k < frames; k++) {
        int16_t pcm[CG_FRAME_SAMPLES];
        uint8_t pay[1500];
        frame_of(g_speech, k, pcm);
        if (per == CG_FRAME_SAMPLES)
            memcpy(*ref + k * per, pcm, sizeof pcm);
        else
            cg_down2_run(&down, pcm, CG_FRAME_SAMPLES, *ref + k * per);
        int n = cg_encoder_encode(e, pcm, pay, sizeof pay);
        assert_true(n > 0);
        int m = cg_decoder_decode(d, pay, (size_t)n, *dec + k * per, per);
        assert_int_equal(m, (int)per);
    }
    cg_encoder_free(e);
    cg_decoder_free(d);
    return frames * per;
}

/* Floors: measured on the LibriVox clip 0870 (Debian 12: libopus 1.3.1,
 * bcg729 1.1.1, spandsp 0.0.6) and set below with margin; the measured
 * values are in docs/callgen-audio.md. Delays are the codecs' own: none for
 * G.711, 22 samples of G.722's QMF pair, G.729's 5 ms look-ahead (40 at
 * 8 kHz), Opus's 6.5 ms (104 at 16 kHz). SNR is meaningless for the
 * analysis-by-synthesis codecs (G.729, Opus), so they are held to band
 * correlation, envelope and level instead. */
static void test_round_trip(void **state)
{
    (void)state;
    static const struct {
        cg_codec c;
        int maxdelay, dmin, dmax;
        double min_corr, min_snr, min_segsnr, min_env, max_level_db;
    } cases[] = {
        {CG_CODEC_PCMU, 400, 0, 0, 0.999, 33.0, 31.0, 0.99, 0.5},
        {CG_CODEC_PCMA, 400, 0, 0, 0.999, 33.0, 31.0, 0.99, 0.5},
        {CG_CODEC_G722, 400, 22, 22, 0.995, 26.0, 28.0, 0.99, 0.5},
        {CG_CODEC_G729, 400, 40, 40, 0.75, -100.0, -100.0, 0.85, 3.0},
        {CG_CODEC_OPUS, 400, 80, 130, 0.90, -100.0, -100.0, 0.88, 3.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int16_t *ref = NULL, *dec = NULL;
        size_t n = round_trip(cases[i].c, &ref, &dec);
        const cg_codec_info *ci = cg_codec_get(cases[i].c);
        quality q = measure(ref, dec, n, cases[i].maxdelay, ci->audio_rate);
        fprintf(stderr,
                "%-4s: delay %3d, band corr %.4f, SNR %5.1f dB, segSNR %5.1f dB, "
                "envelope corr %.3f, level %+.2f dB\n",
                ci->name, q.delay, q.corr, q.snr, q.segsnr, q.envcorr, q.level);
        assert_in_range(q.delay, cases[i].dmin, cases[i].dmax);
        if (q.corr < cases[i].min_corr || q.snr < cases[i].min_snr ||
            q.segsnr < cases[i].min_segsnr || q.envcorr < cases[i].min_env ||
            fabs(q.level) > cases[i].max_level_db)
            fail_msg("%s below its floor (corr %.3f, SNR %.1f, segSNR %.1f dB, envelope %.2f, "
                     "level within %.1f dB)",
                     ci->name, cases[i].min_corr, cases[i].min_snr, cases[i].min_segsnr,
                     cases[i].min_env, cases[i].max_level_db);
        free(ref);
        free(dec);
    }
}

/* ---- decimator ---------------------------------------------------------- */

static double sine_gain_db(double hz)
{
    enum { N = 16000 };
    int16_t *in = malloc(N * sizeof *in), *out = malloc(N / 2 * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    for (int i = 0; i < N; i++)
        in[i] = (int16_t)lround(10000.0 * sin(2.0 * M_PI * hz * i / 16000.0));
    cg_down2 d;
    cg_down2_init(&d);
    for (int k = 0; k < N / CG_FRAME_SAMPLES; k++) /* in frames, as the encoders do */
        cg_down2_run(&d, in + k * CG_FRAME_SAMPLES, CG_FRAME_SAMPLES,
                     out + k * CG_FRAME_SAMPLES / 2);
    double ei = 0, eo = 0;
    for (int i = 2000; i < N; i++)
        ei += (double)in[i] * in[i];
    for (int i = 1000; i < N / 2; i++) /* after the 31-sample start-up */
        eo += (double)out[i] * out[i];
    free(in);
    free(out);
    return to_db((eo / (N / 2 - 1000)) / (ei / (N - 2000)) + 1e-30);
}

static void test_down2(void **state)
{
    (void)state;
    double g1k = sine_gain_db(1000), g3k = sine_gain_db(3000), g6k = sine_gain_db(6000);
    fprintf(stderr, "down2: 1 kHz %.3f dB, 3 kHz %.3f dB, 6 kHz %.1f dB\n", g1k, g3k, g6k);
    assert_true(fabs(g1k) <= 0.5);
    assert_true(fabs(g3k) <= 0.5);
    assert_true(g6k <= -40.0);

    /* Impulse at input 100: the centre tap lands on output (100 + 30) / 2;
     * DC: a constant passes unchanged once the filter is full. */
    int16_t in[CG_FRAME_SAMPLES] = {0}, out[CG_FRAME_SAMPLES / 2];
    in[100] = 32767;
    cg_down2 d;
    cg_down2_init(&d);
    cg_down2_run(&d, in, CG_FRAME_SAMPLES, out);
    int peak = 0;
    for (int i = 1; i < CG_FRAME_SAMPLES / 2; i++)
        if (abs(out[i]) > abs(out[peak]))
            peak = i;
    assert_int_equal(peak, 65);
    assert_int_equal(out[65], (14740 * 32767 + (1 << 14)) >> 15);
    for (int i = 0; i < CG_FRAME_SAMPLES; i++)
        in[i] = 1000;
    cg_down2_init(&d);
    cg_down2_run(&d, in, CG_FRAME_SAMPLES, out);
    cg_down2_run(&d, in, CG_FRAME_SAMPLES, out);
    for (int i = 0; i < CG_FRAME_SAMPLES / 2; i++)
        assert_int_equal(out[i], 1000);
    /* A full-scale square wave (125 Hz) overshoots at its edges (Gibbs):
     * the output saturates instead of wrapping, so away from the edges
     * every output sample has the sign of the input it is centred on. */
    for (int i = 0; i < CG_FRAME_SAMPLES; i++)
        in[i] = (i / 64) % 2 ? INT16_MIN : INT16_MAX;
    cg_down2_init(&d);
    cg_down2_run(&d, in, CG_FRAME_SAMPLES, out);
    int saturated = 0;
    for (int j = 15; j < CG_FRAME_SAMPLES / 2; j++) {
        int c = 2 * j - 30, edge = c % 64;
        if (edge < 4 || edge > 60)
            continue;
        assert_true((out[j] > 0) == (in[c] > 0));
        saturated += out[j] == INT16_MAX || out[j] == INT16_MIN;
    }
    assert_true(saturated > 0);
}

static void test_state_carries(void **state)
{
    (void)state;
    /* Determinism: two fresh encoders fed the same frames give the same
     * bytes; and state carries across frames: the same frame encoded by a
     * fresh encoder differs from the one that saw the frames before it. */
    for (int c = 0; c < CG_CODEC__COUNT; c++) {
        cg_encoder *a = cg_encoder_new((cg_codec)c), *b = cg_encoder_new((cg_codec)c);
        assert_non_null(a);
        assert_non_null(b);
        for (size_t k = 0; k < 50; k++) {
            int16_t pcm[CG_FRAME_SAMPLES];
            uint8_t pa[1500], pb[1500];
            frame_of(g_speech, k + 20, pcm);
            int na = cg_encoder_encode(a, pcm, pa, sizeof pa);
            int nb = cg_encoder_encode(b, pcm, pb, sizeof pb);
            assert_true(na > 0);
            assert_int_equal(na, nb);
            assert_memory_equal(pa, pb, (size_t)na);
        }
        cg_encoder *f = cg_encoder_new((cg_codec)c);
        assert_non_null(f);
        int16_t pcm[CG_FRAME_SAMPLES];
        uint8_t pa[1500], pf[1500];
        frame_of(g_speech, 70, pcm);
        int na = cg_encoder_encode(a, pcm, pa, sizeof pa);
        int nf = cg_encoder_encode(f, pcm, pf, sizeof pf);
        assert_true(na > 0 && nf > 0);
        assert_true(na != nf || memcmp(pa, pf, (size_t)na) != 0);
        cg_encoder_free(f);
        cg_encoder_free(a);
        cg_encoder_free(b);
    }
}

int main(void)
{
    char err[512];
    cg_bank_opts o = {TESTDATA, NULL, NULL};
    if (access(TESTDATA, F_OK) != 0) {
        fprintf(stderr, "SKIP: %s missing (apt-get install pocketsphinx-testdata)\n", TESTDATA);
        return 77;
    }
    int rc = cg_bank_load(&g_bank, &o, err, sizeof err);
    if (rc != CS_OK) {
        fprintf(stderr, "cannot load the speech bank: %s (%s)\n", err, cs_err_name(rc));
        return 1;
    }
    for (size_t i = 0; i < g_bank.n; i++)
        if (strcmp(g_bank.clips[i].id, "librivox-0870") == 0)
            g_speech = &g_bank.clips[i];
    if (g_speech == NULL) {
        fprintf(stderr, "clip librivox-0870 not in the bank\n");
        cg_bank_free(&g_bank);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_g711_code_points), cmocka_unit_test(test_g711_bounds),
        cmocka_unit_test(test_g711_matches_sox), cmocka_unit_test(test_codec_table),
        cmocka_unit_test(test_payload_sizes),    cmocka_unit_test(test_decoder_errors),
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_down2),
        cmocka_unit_test(test_state_carries),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cg_bank_free(&g_bank);
    return rc;
}
