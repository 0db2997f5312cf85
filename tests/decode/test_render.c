/*
 * test_render.c — decode/render: fidelity against truth.
 *
 * callgen makes one `direct` call per codec (pcmu, pcma, g722, g729, opus)
 * and two with 3 % loss (pcmu, opus), with its reference tracks (exactly what
 * went into the encoders, sample 0 = INVITE); callscope-capture spools each;
 * render_entry renders the spool entry. For each channel against its
 * reference track:
 *   - offset: lag of the best normalised cross-correlation over a 1 s window
 *     at the first and at the last speech of the reference (search ±60 ms):
 *     |lag| <= 20 ms at both ends;
 *   - duration: frames / rate within 40 ms of the truth's end - invite;
 *   - fidelity at the start lag over the whole call: waveform SNR (G.711,
 *     G.722) or correlation after a 300 Hz high-pass (G.729, Opus: perceptual
 *     coders, see docs/callgen-audio.md), each with a per-codec floor below
 *     what was measured (numbers in docs/decode-render.md);
 *   - every stream decoded (status reason ""), VAD found talk on both channels.
 * Plus: the interpolator's response (passband gain, image rejection, even
 * samples = input), and a call.json edited to declare a payload type that the
 * packets do not use (reason recorded, channel silent, the other channel
 * intact). Skips when callgen / callscope-capture cannot run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callinfo.h"
#include "error.h"
#include "jsonp.h"
#include "render.h"
#include "testsupport.h"

__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, cap, f, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* ---- interpolator ---------------------------------------------------------- */

/* Amplitude of frequency f in x[from, to) (rate sr), by projection. */
static double amp_at(const int16_t *x, size_t from, size_t to, double f, int sr)
{
    double s = 0, c = 0;
    for (size_t i = from; i < to; i++) {
        double ph = 2 * M_PI * f * (double)i / sr;
        s += x[i] * sin(ph);
        c += x[i] * cos(ph);
    }
    return 2 * sqrt(s * s + c * c) / (double)(to - from);
}

static void test_up2_response(void **state)
{
    (void)state;
    const size_t n = 8000;
    int16_t *in = malloc(n * sizeof *in), *out = malloc(2 * n * sizeof *out);
    assert_non_null(in);
    assert_non_null(out);
    const double freqs[] = {300, 1000, 2000, 3000, 3400, 3600};
    for (size_t k = 0; k < sizeof freqs / sizeof freqs[0]; k++) {
        double f = freqs[k];
        for (size_t i = 0; i < n; i++)
            in[i] = (int16_t)lround(10000 * sin(2 * M_PI * f * (double)i / 8000));
        render_up2 u = {0};
        /* in two pieces: the state carries across calls */
        render_up2_run(&u, in, 1234, out);
        render_up2_run(&u, in + 1234, n - 1234, out + 2468);
        for (size_t i = 0; i + RENDER_UP2_DELAY / 2 < n; i++)
            if (out[2 * (i + RENDER_UP2_DELAY / 2)] != in[i])
                fail_msg("even sample %zu is not the input", i);
        double a = amp_at(out, 2000, 2 * n - 100, f, 16000);
        double img = amp_at(out, 2000, 2 * n - 100, 8000 - f, 16000);
        double gain = 20 * log10(a / 10000), rej = 20 * log10(img / 10000 + 1e-9);
        print_message("[render] up2 %4.0f Hz: gain %+.3f dB, image at %4.0f Hz %.1f dB\n", f, gain,
                      8000 - f, rej);
        if (f <= 3000) {
            assert_true(fabs(gain) < 0.05);
            assert_true(rej < -60);
        } else if (f <= 3400) {
            assert_true(fabs(gain) < 0.5);
            assert_true(rej < -30);
        }
    }
    free(in);
    free(out);
}

/* ---- callgen calls ------------------------------------------------------------ */

static int16_t *read_wav(const char *path, size_t *n, int *rate)
{
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    assert_non_null(f);
    assert_int_equal(info.channels, 1);
    int16_t *buf = malloc((size_t)info.frames * sizeof(int16_t) + 1);
    assert_non_null(buf);
    *n = (size_t)sf_read_short(f, buf, info.frames);
    *rate = info.samplerate;
    sf_close(f);
    return buf;
}

/* Lag (samples) of out against ref[from, to) with the best normalised
 * correlation, |lag| <= maxlag. Both signals are high-passed (300 Hz) first,
 * like the band correlation below: G.729's 140 Hz high-pass shifts the phase of
 * the lowest band, which would otherwise dominate speech correlation. */
static int best_lag(const double *out, size_t nout, const double *ref, size_t from, size_t to,
                    int maxlag, double *corr)
{
    double best = -2, rr = 0;
    int bl = 0;
    for (size_t i = from; i < to; i++)
        rr += ref[i] * ref[i];
    for (int lag = -maxlag; lag <= maxlag; lag++) {
        double xy = 0, yy = 0;
        for (size_t i = from; i < to; i++) {
            int64_t j = (int64_t)i + lag;
            double y = (j >= 0 && (size_t)j < nout) ? out[j] : 0;
            xy += y * ref[i];
            yy += y * y;
        }
        double c = (rr > 0 && yy > 0) ? xy / sqrt(rr * yy) : 0;
        if (c > best) {
            best = c;
            bl = lag;
        }
    }
    *corr = best;
    return bl;
}

/* 2nd-order Butterworth high-pass at fc (bilinear), in place on doubles. */
static void highpass(double *x, size_t n, double fc, int sr)
{
    double k = tan(M_PI * fc / sr), q = sqrt(2.0);
    double norm = 1 / (1 + k * q + k * k);
    double b0 = norm, b1 = -2 * norm, b2 = norm;
    double a1 = 2 * (k * k - 1) * norm, a2 = (1 - k * q + k * k) * norm;
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (size_t i = 0; i < n; i++) {
        double y = b0 * x[i] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
        x2 = x1;
        x1 = x[i];
        y2 = y1;
        y1 = y;
        x[i] = y;
    }
}

static double *hp_copy(const int16_t *x, size_t n, int sr)
{
    double *d = malloc((n + 1) * sizeof(double));
    assert_non_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    highpass(d, n, 300, sr);
    return d;
}

typedef struct fidelity {
    double snr_db;    /* waveform SNR over [0, n) at the lag */
    double band_corr; /* correlation after a 300 Hz high-pass */
} fidelity;

static fidelity measure(const int16_t *out, size_t nout, const int16_t *ref, size_t nref, int lag,
                        int sr)
{
    size_t n = nref < nout ? nref : nout;
    double *a = calloc(n, sizeof(double)), *b = calloc(n, sizeof(double));
    assert_non_null(a);
    assert_non_null(b);
    double sig = 0, err = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t j = (int64_t)i + lag;
        double y = (j >= 0 && (size_t)j < nout) ? out[j] : 0;
        a[i] = ref[i];
        b[i] = y;
        sig += a[i] * a[i];
        err += (y - a[i]) * (y - a[i]);
    }
    highpass(a, n, 300, sr);
    highpass(b, n, 300, sr);
    double xy = 0, xx = 0, yy = 0;
    for (size_t i = 0; i < n; i++) {
        xy += a[i] * b[i];
        xx += a[i] * a[i];
        yy += b[i] * b[i];
    }
    free(a);
    free(b);
    fidelity f = {.snr_db = 10 * log10(sig / (err + 1e-9)),
                  .band_corr = xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0};
    return f;
}

typedef struct codec_case {
    const char *codec;
    const char *extra;   /* more callgen options */
    int rate;            /* expected render rate */
    double min_snr;      /* waveform SNR floor (dB), or -inf */
    double min_corr;     /* band correlation floor */
    double min_win_corr; /* correlation at the best lag in the 1 s windows */
    int force_rate;      /* render_opts.rate (0 = automatic) */
} codec_case;

/* Floors sit a few dB / hundredths under what test_render measured
 * (docs/decode-render.md); lossy coders are judged by correlation only. */
static const codec_case cases[] = {
    {"pcmu", "", 8000, 33.0, 0.999, 0.99, 0},
    {"pcma", "", 8000, 33.0, 0.999, 0.99, 0},
    {"g722", "", 16000, 22.0, 0.99, 0.98, 0},
    {"g729", "", 8000, -INFINITY, 0.75, 0.7, 0},
    {"opus", "", 16000, -INFINITY, 0.88, 0.85, 0},
    {"pcmu", "--loss 3", 8000, 9.0, 0.93, 0.85, 0},
    {"opus", "--loss 3", 16000, -INFINITY, 0.88, 0.85, 0},
    /* 8 kHz audio in a 16 kHz render: decode and conceal through render_up2;
     * compared with the reference interpolated by render_up2 too */
    {"pcmu", "--loss 3", 16000, 9.0, 0.93, 0.85, 16000},
    {"pcmu", "", 16000, 33.0, 0.999, 0.99, 16000},
};

static const char *tool(const char *rel, char *buf, size_t cap)
{
    const char *bin = getenv("CALLSCOPE_BINARY_DIR");
    fmt(buf, cap, "%s/%s", bin ? bin : ".", rel);
    return access(buf, X_OK) == 0 ? buf : NULL;
}

/* Generates and spools one call into dir; fills the entry path. 0 or -1 (skip). */
static int make_call(const char *dir, const char *codec, const char *extra, unsigned seed,
                     char *entry, size_t cap)
{
    char cg[4096], cap_bin[4096], cmd[16384], path[8192];
    if (!tool("tools/callgen/callgen", cg, sizeof cg) ||
        !tool("capture/callscope-capture", cap_bin, sizeof cap_bin))
        return -1;
    fmt(cmd, sizeof cmd,
        "'%s' --seed %u --scenario direct --codec %s %s --no-phrases -q --ref-audio '%s/ref' "
        "-o '%s/call.pcap'",
        cg, seed, codec, extra, dir, dir);
    if (system(cmd) != 0)
        return -1;
    fmt(path, sizeof path, "%s/empty.conf", dir);
    assert_int_equal(ts_write_file(path, "", 0), 0);
    fmt(cmd, sizeof cmd, "CALLSCOPE_CONFIG='%s' '%s' --spool '%s/spool' '%s/call.pcap' 2>/dev/null",
        path, cap_bin, dir, dir);
    assert_int_equal(system(cmd), 0);
    fmt(path, sizeof path, "%s/spool/ready", dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    entry[0] = '\0';
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            fmt(entry, cap, "%s/%s", path, de->d_name);
    closedir(d);
    assert_true(entry[0] != '\0');
    return 0;
}

/* DIR/ref/<id>.<side>.wav of the one call. */
static void ref_path(const char *dir, const char *side, char *out, size_t cap)
{
    char refdir[4200];
    fmt(refdir, sizeof refdir, "%s/ref", dir);
    DIR *d = opendir(refdir);
    assert_non_null(d);
    struct dirent *de;
    char suffix[64];
    fmt(suffix, sizeof suffix, ".%s.wav", side);
    out[0] = '\0';
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), sl = strlen(suffix);
        if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0)
            fmt(out, cap, "%s/%s", refdir, de->d_name);
    }
    closedir(d);
    assert_true(out[0] != '\0');
}

static void truth_times(const char *dir, int64_t *invite, int64_t *end)
{
    char path[4200];
    fmt(path, sizeof path, "%s/call.truth.json", dir);
    size_t len;
    char *text = ts_read_file(path, &len);
    assert_non_null(text);
    jsonp_doc *doc;
    assert_int_equal(jsonp_parse(text, len, NULL, &doc, NULL), CS_OK);
    assert_int_equal(jsonp_int(jsonp_pointer(jsonp_root(doc), "/calls/0/invite_us"), invite),
                     CS_OK);
    assert_int_equal(jsonp_int(jsonp_pointer(jsonp_root(doc), "/calls/0/end_us"), end), CS_OK);
    jsonp_free(doc);
    free(text);
}

static void run_case(const codec_case *cc, unsigned seed)
{
    char dir[4096], entry[8192], err[256];
    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "render"), 0);
    if (make_call(dir, cc->codec, cc->extra, seed, entry, sizeof entry) != 0) {
        ts_rmrf(dir);
        print_message("SKIP: callgen or callscope-capture not available (or no "
                      "pocketsphinx-testdata)\n");
        skip();
    }
    callinfo *ci = NULL;
    render_result *res = NULL;
    render_opts ro = {.rate = cc->force_rate};
    int rc = render_entry(entry, &ro, &ci, &res, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("%s: %s: %s", entry, cs_err_name(rc), err);
    assert_int_equal(res->rate, cc->rate);
    int64_t invite, end;
    truth_times(dir, &invite, &end);
    double dur_err_ms = (double)res->frames * 1000.0 / res->rate - (double)(end - invite) / 1000.0;

    for (size_t i = 0; i < res->nstreams; i++) {
        const render_stream *st = &res->streams[i];
        if (!st->channel)
            continue;
        if (st->reason[0] || st->decoded == 0)
            fail_msg("%s stream %zu: reason \"%s\", %llu decoded", cc->codec, i, st->reason,
                     (unsigned long long)st->decoded);
    }
    const char *sides[2] = {"customer", "agent"};
    for (int ch = 0; ch < 2; ch++) {
        char path[8192];
        ref_path(dir, sides[ch], path, sizeof path);
        size_t nref;
        int rate;
        int16_t *ref = read_wav(path, &nref, &rate);
        if (rate * 2 == res->rate && cc->force_rate) {
            int16_t *up = malloc(2 * nref * sizeof *up + 1);
            assert_non_null(up);
            render_up2 u = {0};
            render_up2_run(&u, ref, nref, up);
            free(ref);
            ref = up;
            nref *= 2;
            rate *= 2;
        }
        assert_int_equal(rate, res->rate);
        const int16_t *out = ch ? res->ch2 : res->ch1;
        size_t first = 0, last = 0;
        int any = 0;
        for (size_t i = 0; i < nref; i++)
            if (abs(ref[i]) > 2000) {
                if (!any)
                    first = i;
                last = i;
                any = 1;
            }
        assert_true(any);
        size_t win = (size_t)rate, pre = (size_t)rate / 5;
        size_t s0 = first > pre ? first - pre : 0, s1 = s0 + win < nref ? s0 + win : nref;
        size_t e1 = last + pre < nref ? last + pre : nref, e0 = e1 > win ? e1 - win : 0;
        int maxlag = rate * 60 / 1000;
        double cs, ce;
        double *hout = hp_copy(out, res->frames, rate), *href = hp_copy(ref, nref, rate);
        int ls = best_lag(hout, res->frames, href, s0, s1, maxlag, &cs);
        int le = best_lag(hout, res->frames, href, e0, e1, maxlag, &ce);
        free(hout);
        free(href);
        fidelity fd = measure(out, res->frames, ref, nref, ls, rate);
        size_t segs = 0;
        for (size_t k = 0; k < res->nsegments; k++)
            segs += res->segments[k].channel == ch + 1;
        const tl_stats *ts = &res->tl[ch];
        unsigned long long fec = 0;
        for (size_t k = 0; k < res->nstreams; k++)
            if (res->streams[k].channel == ch + 1)
                fec += res->streams[k].fec;
        print_message("[render] %-4s %-8s ch%d %-8s %5d Hz: offset start %+6.2f ms (corr %.3f) "
                      "end %+6.2f ms (corr %.3f); duration %+.1f ms; SNR %5.1f dB, band corr "
                      "%.4f; lost %llu, concealed %llu (FEC %llu); %zu talk segments\n",
                      cc->codec,
                      cc->force_rate ? (cc->extra[0] ? "loss3@16k" : "clean@16k")
                      : cc->extra[0] ? cc->extra
                                     : "clean",
                      ch + 1, sides[ch], rate, ls * 1000.0 / rate, cs, le * 1000.0 / rate, ce,
                      dur_err_ms, fd.snr_db, fd.band_corr, (unsigned long long)ts->lost,
                      (unsigned long long)ts->conceal_calls, fec, segs);
        assert_true(abs(ls) * 1000 <= 20 * rate);
        assert_true(abs(le) * 1000 <= 20 * rate);
        assert_true(cs > cc->min_win_corr && ce > cc->min_win_corr);
        assert_true(fd.snr_db >= cc->min_snr);
        assert_true(fd.band_corr >= cc->min_corr);
        assert_true(segs > 0);
        if (cc->extra[0])
            assert_true(ts->lost > 0 && ts->conceal_calls > 0);
        if (cc->extra[0] && strcmp(cc->codec, "opus") == 0)
            assert_true(fec > 0); /* in-band FEC recovered the lost packets */
        free(ref);
    }
    assert_true(fabs(dur_err_ms) <= 40);
    render_free(res);
    callinfo_free(ci);
    ts_rmrf(dir);
}

static void test_pcmu(void **state)
{
    (void)state;
    run_case(&cases[0], 11);
}
static void test_pcma(void **state)
{
    (void)state;
    run_case(&cases[1], 12);
}
static void test_g722(void **state)
{
    (void)state;
    run_case(&cases[2], 13);
}
static void test_g729(void **state)
{
    (void)state;
    run_case(&cases[3], 14);
}
static void test_opus(void **state)
{
    (void)state;
    run_case(&cases[4], 15);
}
static void test_pcmu_loss(void **state)
{
    (void)state;
    run_case(&cases[5], 16);
}
static void test_opus_loss(void **state)
{
    (void)state;
    run_case(&cases[6], 17);
}
static void test_pcmu_loss_at_16k(void **state)
{
    (void)state;
    run_case(&cases[7], 16);
}
static void test_pcmu_at_16k(void **state)
{
    (void)state;
    run_case(&cases[8], 11);
}

/* call.json says the customer's codec is PT 112 while the packets carry 111:
 * the stream's status names the payload type, channel 1 is silence, channel 2
 * renders as before. A GSM codec_pt gives codec.h's reason. */
static void test_undecodable(void **state)
{
    (void)state;
    char dir[4096], entry[8192], err[256], cmd[32768], path[8192];
    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "render"), 0);
    if (make_call(dir, "opus", "", 21, entry, sizeof entry) != 0 ||
        system("jq --version >/dev/null 2>&1") != 0) {
        ts_rmrf(dir);
        print_message("SKIP: callgen, callscope-capture or jq not available\n");
        skip();
    }
    const char *edits[2] = {
        "(.streams[] | select(.direction == \"customer_to_pbx\") | .codec_pt) = 112",
        "(.streams[] | select(.direction == \"customer_to_pbx\") | .codec) = \"GSM\" | "
        "(.streams[] | select(.direction == \"customer_to_pbx\") | .clock_rate) = 8000"};
    const char *want[2] = {"payload type 111 never negotiated", "unsupported codec GSM"};
    for (int e = 0; e < 2; e++) {
        fmt(path, sizeof path, "%s/edit.jq", dir);
        fmt(cmd, sizeof cmd, "%s\n", edits[e]);
        assert_int_equal(ts_write_file(path, cmd, strlen(cmd)), 0);
        fmt(cmd, sizeof cmd,
            "jq -f '%s' < '%s/call.json' > '%s/call.json.new' && mv '%s/call.json.new' "
            "'%s/call.json'",
            path, entry, entry, entry, entry);
        assert_int_equal(system(cmd), 0);
        render_result *res = NULL;
        int rc = render_entry(entry, NULL, NULL, &res, err, sizeof err);
        if (rc != CS_OK)
            fail_msg("%s: %s", cs_err_name(rc), err);
        size_t nz1 = 0, nz2 = 0;
        for (size_t i = 0; i < res->frames; i++) {
            nz1 += res->ch1[i] != 0;
            nz2 += res->ch2[i] != 0;
        }
        for (size_t i = 0; i < res->nstreams; i++) {
            const render_stream *st = &res->streams[i];
            print_message("[render] edit %d: stream %zu ch%d packets %llu decoded %llu refused "
                          "%llu reason \"%s\"\n",
                          e, i, st->channel, (unsigned long long)st->packets,
                          (unsigned long long)st->decoded, (unsigned long long)st->refused,
                          st->reason);
            if (st->channel == 1) {
                assert_non_null(strstr(st->reason, want[e]));
                assert_int_equal(st->decoded, 0);
                assert_true(st->refused > 100);
            } else if (st->channel == 2) {
                assert_string_equal(st->reason, "");
                assert_true(st->decoded > 100);
            }
        }
        assert_int_equal(nz1, 0);
        assert_true(nz2 > res->frames / 10);
        render_free(res);
    }
    render_result *bad_res = NULL;
    render_opts bad = {.rate = 44100};
    assert_int_equal(render_entry(entry, &bad, NULL, &bad_res, err, sizeof err), CS_ERR_INVAL);
    assert_null(bad_res);
    assert_non_null(strstr(err, "44100"));
    /* errors name the file and the field */
    fmt(cmd, sizeof cmd, "jq 'del(.end_us)' < '%s/call.json' > '%s/x' && mv '%s/x' '%s/call.json'",
        entry, entry, entry, entry);
    assert_int_equal(system(cmd), 0);
    render_result *res = NULL;
    assert_int_equal(render_entry(entry, NULL, NULL, &res, err, sizeof err), CS_ERR_MALFORMED);
    assert_null(res);
    assert_non_null(strstr(err, "/end_us"));
    fmt(path, sizeof path, "%s/nonexistent", dir);
    assert_int_equal(render_entry(path, NULL, NULL, &res, err, sizeof err), CS_ERR_IO);
    ts_rmrf(dir);
}

/* Every call of tests/data/sample.pcap (every scenario: IVR, transfer, hold,
 * DTMF, faults with an SSRC change, IPv6, VLANs, TCP, fragments, all codecs)
 * renders; each rendered stream finds exactly the packets capture counted and
 * decodes them; unrendered (agent-leg) streams say why. */
static void test_sample_entries(void **state)
{
    (void)state;
    char cap_bin[4096], dir[4096], pcap[4096], cmd[16384], path[8192];
    if (!tool("capture/callscope-capture", cap_bin, sizeof cap_bin)) {
        print_message("SKIP: callscope-capture not built\n");
        skip();
    }
    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "render"), 0);
    ts_source_path(pcap, sizeof pcap, "tests/data/sample.pcap");
    fmt(path, sizeof path, "%s/empty.conf", dir);
    assert_int_equal(ts_write_file(path, "", 0), 0);
    fmt(cmd, sizeof cmd, "CALLSCOPE_CONFIG='%s' '%s' --spool '%s/spool' '%s' 2>/dev/null", path,
        cap_bin, dir, pcap);
    assert_int_equal(system(cmd), 0);
    fmt(path, sizeof path, "%s/spool/ready", dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    size_t calls = 0, rendered = 0, wide = 0, segs = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char entry[12288], err[256];
        fmt(entry, sizeof entry, "%s/%s", path, de->d_name);
        callinfo *ci = NULL;
        render_result *res = NULL;
        int rc = render_entry(entry, NULL, &ci, &res, err, sizeof err);
        if (rc != CS_OK)
            fail_msg("%s: %s: %s", de->d_name, cs_err_name(rc), err);
        uint64_t want = (uint64_t)llround((double)(ci->end_us - ci->invite_us) * res->rate / 1e6);
        assert_true(res->frames == want);
        for (size_t i = 0; i < res->nstreams; i++) {
            const render_stream *st = &res->streams[i];
            const ci_stream *cs = &ci->streams[i];
            if (!st->channel) {
                assert_non_null(strstr(st->reason, "not rendered"));
                continue;
            }
            if ((int64_t)st->packets != cs->packets || st->reason[0] || st->decoded == 0)
                fail_msg("%s stream %zu (%s %s): %llu packets (capture %lld), %llu decoded, "
                         "reason \"%s\"",
                         de->d_name, i, cs->direction, cs->codec ? cs->codec : "-",
                         (unsigned long long)st->packets, (long long)cs->packets,
                         (unsigned long long)st->decoded, st->reason);
            rendered++;
        }
        wide += res->rate == 16000;
        segs += res->nsegments;
        render_free(res);
        callinfo_free(ci);
        calls++;
    }
    closedir(d);
    print_message("[render] sample.pcap: %zu calls rendered (%zu at 16 kHz), %zu streams decoded "
                  "with capture's packet counts, %zu talk segments\n",
                  calls, wide, rendered, segs);
    assert_int_equal(calls, 19);
    assert_true(rendered >= 30);
    assert_true(wide > 0);
    ts_rmrf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_up2_response),
        cmocka_unit_test(test_pcmu),
        cmocka_unit_test(test_pcma),
        cmocka_unit_test(test_g722),
        cmocka_unit_test(test_g729),
        cmocka_unit_test(test_opus),
        cmocka_unit_test(test_pcmu_loss),
        cmocka_unit_test(test_opus_loss),
        cmocka_unit_test(test_pcmu_loss_at_16k),
        cmocka_unit_test(test_pcmu_at_16k),
        cmocka_unit_test(test_undecodable),
        cmocka_unit_test(test_sample_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
