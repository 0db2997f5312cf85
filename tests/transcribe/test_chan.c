/*
 * test_chan.c — reading recordings and running one channel through the
 * front end and the recogniser (transcribe/chan.c).
 *
 * tx_audio_read: stereo FLAC and WAV written here with libsndfile at 8 and
 * 16 kHz (more than one read block) come back with each channel's samples
 * exactly, de-interleaved; mono too. A missing file is CS_ERR_NOTFOUND; a
 * file of random bytes and a truncated FLAC are CS_ERR_MALFORMED; 44.1 kHz
 * and three channels are CS_ERR_UNSUPPORTED — every message names the file.
 *
 * tx_channel (real PocketSphinx, Debian's en-us model; skipped without it):
 * goforward.raw, downsampled here to 8 kHz and placed 2 s into a 7 s channel
 * of quiet noise, decoded over one span covering the whole channel and over
 * the span seg_plan makes from its talk segment: the words fall between 2 s
 * and the clip's end, the first one near the speech onset, and the text is
 * close to "go forward ten meters"; a span of silence gives no utterance;
 * spans past the end are skipped; utterances come back in time order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "error.h"
#include "testsupport.h"
#include "wer.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static char dir[256];

static int setup(void **state)
{
    (void)state;
    return ts_mkdtemp(dir, sizeof dir, "chan");
}

static int teardown(void **state)
{
    (void)state;
    ts_rmrf(dir);
    return 0;
}

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* Writes frames of interleaved samples with libsndfile. */
static void write_audio(const char *path, int format, int rate, int channels, const int16_t *x,
                        size_t frames)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        fail_msg("sf_open(%s): %s", path, sf_strerror(NULL));
    assert_int_equal(sf_writef_short(sf, x, (sf_count_t)frames), (sf_count_t)frames);
    assert_int_equal(sf_close(sf), 0);
}

/* Two different channels: a sine on the left, a ramp on the right. */
static int16_t *stereo(size_t frames, int rate)
{
    int16_t *x = malloc(2 * frames * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < frames; i++) {
        x[2 * i] = (int16_t)lrint(12000 * sin(2 * M_PI * 440 * (double)i / rate));
        x[2 * i + 1] = (int16_t)((int)(i % 2000) * 16 - 16000);
    }
    return x;
}

static void check_read(int format, int rate, const char *name)
{
    char path[512], err[512];
    path_in(path, sizeof path, name);
    size_t frames = 3 * (size_t)rate + 123; /* several 4096-frame blocks */
    int16_t *x = stereo(frames, rate);
    write_audio(path, format, rate, 2, x, frames);
    tx_audio a;
    int rc = tx_audio_read(path, &a, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("%s: %s: %s", name, cs_err_name(rc), err);
    assert_int_equal(a.rate, rate);
    assert_int_equal(a.channels, 2);
    assert_int_equal(a.frames, frames);
    for (size_t i = 0; i < frames; i++) {
        if (a.pcm[0][i] != x[2 * i] || a.pcm[1][i] != x[2 * i + 1])
            fail_msg("%s: frame %zu: got (%d, %d), wrote (%d, %d)", name, i, a.pcm[0][i],
                     a.pcm[1][i], x[2 * i], x[2 * i + 1]);
    }
    tx_audio_free(&a);
    assert_null(a.pcm[0]);
    assert_int_equal(a.frames, 0);
    free(x);
}

static void test_read_stereo(void **state)
{
    (void)state;
    check_read(SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 8000, "a8.flac");
    check_read(SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, "a16.flac");
    check_read(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, "a8.wav");
    check_read(SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, "a16.wav");
}

static void test_read_mono(void **state)
{
    (void)state;
    char path[512], err[512];
    path_in(path, sizeof path, "mono.wav");
    int16_t x[1000];
    for (int i = 0; i < 1000; i++)
        x[i] = (int16_t)(i * 7 - 3500);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, x, 1000);
    tx_audio a;
    assert_int_equal(tx_audio_read(path, &a, err, sizeof err), CS_OK);
    assert_int_equal(a.channels, 1);
    assert_int_equal(a.frames, 1000);
    assert_memory_equal(a.pcm[0], x, sizeof x);
    assert_null(a.pcm[1]);
    tx_audio_free(&a);
    tx_audio_free(NULL);
}

static void expect_error(const char *path, int want, const char *also)
{
    char err[512];
    tx_audio a;
    memset(&a, 0x5a, sizeof a);
    int rc = tx_audio_read(path, &a, err, sizeof err);
    if (rc != want)
        fail_msg("%s: %s (%s), expected %s", path, cs_err_name(rc), err, cs_err_name(want));
    if (!strstr(err, path))
        fail_msg("message '%s' does not name %s", err, path);
    if (also && !strstr(err, also))
        fail_msg("message '%s' does not say '%s'", err, also);
    /* nothing left allocated or dangling */
    assert_null(a.pcm[0]);
    assert_null(a.pcm[1]);
    assert_int_equal(a.frames, 0);
}

static void test_read_errors(void **state)
{
    (void)state;
    char path[512];
    path_in(path, sizeof path, "missing.flac");
    expect_error(path, CS_ERR_NOTFOUND, NULL);

    /* random bytes */
    path_in(path, sizeof path, "random.flac");
    unsigned char junk[20000];
    uint32_t s = 7;
    for (size_t i = 0; i < sizeof junk; i++) {
        s = s * 1103515245u + 12345u;
        junk[i] = (unsigned char)(s >> 24);
    }
    assert_int_equal(ts_write_file(path, junk, sizeof junk), 0);
    expect_error(path, CS_ERR_MALFORMED, NULL);
    /* an empty file */
    path_in(path, sizeof path, "empty.wav");
    assert_int_equal(ts_write_file(path, "", 0), 0);
    expect_error(path, CS_ERR_MALFORMED, NULL);

    /* a FLAC cut in the middle */
    char full[512];
    path_in(full, sizeof full, "whole.flac");
    size_t frames = 5 * 8000;
    int16_t *x = stereo(frames, 8000);
    /* noise makes the frames large, so half the bytes is half the audio */
    for (size_t i = 0; i < 2 * frames; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (int16_t)(x[i] / 2 + (int16_t)((s >> 16) % 8001) - 4000);
    }
    write_audio(full, SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 8000, 2, x, frames);
    size_t len;
    char *bytes = ts_read_file(full, &len);
    assert_non_null(bytes);
    path_in(path, sizeof path, "cut.flac");
    assert_int_equal(ts_write_file(path, bytes, len / 2), 0);
    expect_error(path, CS_ERR_MALFORMED, NULL);
    /* and a WAV cut in the middle (its header claims more data) */
    path_in(full, sizeof full, "whole.wav");
    write_audio(full, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, x, frames);
    free(bytes);
    bytes = ts_read_file(full, &len);
    assert_non_null(bytes);
    path_in(path, sizeof path, "cut.wav");
    assert_int_equal(ts_write_file(path, bytes, len / 2 + 1), 0);
    /* libsndfile trusts the file size over the header for WAV: either it
     * reads what is there or it reports the damage — never garbage */
    char err[512];
    tx_audio a;
    int rc = tx_audio_read(path, &a, err, sizeof err);
    if (rc == CS_OK) {
        assert_true(a.frames < frames);
        for (size_t i = 0; i < a.frames; i++)
            assert_int_equal(a.pcm[1][i], x[2 * i + 1]);
        tx_audio_free(&a);
    } else {
        assert_int_equal(rc, CS_ERR_MALFORMED);
        assert_non_null(strstr(err, path));
    }
    free(bytes);
    free(x);

    /* 44.1 kHz and three channels */
    path_in(path, sizeof path, "cd.wav");
    int16_t *y = stereo(4410, 44100);
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2, y, 4410);
    expect_error(path, CS_ERR_UNSUPPORTED, "44100");
    path_in(path, sizeof path, "three.wav");
    write_audio(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 3, y, 2940);
    expect_error(path, CS_ERR_UNSUPPORTED, "3 channels");
    free(y);

    tx_audio b;
    assert_int_equal(tx_audio_read(NULL, &b, NULL, 0), CS_ERR_INVAL);
    assert_int_equal(tx_audio_read(path, NULL, NULL, 0), CS_ERR_INVAL);
}

/* ---------- tx_channel with the real recogniser ---------- */

#define REF "go forward ten meters"

static int16_t *load_goforward(size_t *n)
{
    char path[4096];
    size_t len = 0;
    char *raw = NULL;
    if (ts_shared_path(path, sizeof path, "speech/pocketsphinx_goforward.raw"))
        raw = ts_read_file(path, &len);
    if (!raw)
        raw = ts_read_file("/usr/share/pocketsphinx/test/data/goforward.raw", &len);
    if (!raw)
        return NULL;
    *n = len / 2;
    int16_t *x = malloc(*n * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < *n; i++)
        x[i] = (int16_t)((uint16_t)(unsigned char)raw[2 * i] |
                         (uint16_t)((unsigned char)raw[2 * i + 1] << 8));
    free(raw);
    return x;
}

/* 16 -> 8 kHz: a 101-tap Hann-windowed sinc low-pass at 3.6 kHz, every
 * other sample (what a telephone channel keeps). */
static int16_t *down8k(const int16_t *x, size_t n, size_t *m)
{
    enum { H = 50 };
    double h[2 * H + 1], sum = 0;
    for (int j = -H; j <= H; j++) {
        double t = 2 * (3600.0 / 16000) * j;
        double sinc = j == 0 ? 1.0 : sin(M_PI * t) / (M_PI * t);
        h[j + H] = sinc * (0.5 + 0.5 * cos(M_PI * j / (H + 1)));
        sum += h[j + H];
    }
    *m = n / 2;
    int16_t *y = malloc(*m * sizeof *y);
    assert_non_null(y);
    for (size_t k = 0; k < *m; k++) {
        double acc = 0;
        for (int j = -H; j <= H; j++) {
            int64_t u = (int64_t)(2 * k) - j;
            if (u >= 0 && (size_t)u < n)
                acc += h[j + H] / sum * x[u];
        }
        y[k] = (int16_t)lrint(acc > 32767 ? 32767 : acc < -32768 ? -32768 : acc);
    }
    return y;
}

static double wer_of(const char *hyp)
{
    wer_counts c;
    assert_int_equal(wer_align(REF, strlen(REF), hyp, strlen(hyp), &c), CS_OK);
    return wer_rate(&c);
}

static void test_channel(void **state)
{
    (void)state;
    if (access(ASR_DEFAULT_LM, R_OK) != 0 || access(ASR_DEFAULT_DICT, R_OK) != 0 ||
        access(ASR_DEFAULT_HMM "/mdef", R_OK) != 0) {
        printf("# skip: Debian's en-us model is absent (apt-get install pocketsphinx-en-us)\n");
        skip();
    }
    size_t n16;
    int16_t *clip = load_goforward(&n16);
    if (!clip) {
        printf("# skip: goforward.raw is absent (../shared/data/speech or "
               "pocketsphinx-testdata)\n");
        skip();
    }
    size_t n8;
    int16_t *clip8 = down8k(clip, n16, &n8);
    /* 7 s of quiet noise with the clip at 2 s */
    const size_t at = 2 * 8000, n = 7 * 8000;
    int16_t *ch = malloc(n * sizeof *ch);
    assert_non_null(ch);
    uint32_t s = 3;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        ch[i] = (int16_t)((int)((s >> 16) % 9) - 4);
    }
    for (size_t i = 0; i < n8; i++)
        ch[at + i] += clip8[i];
    int32_t clip_end = 2000 + (int32_t)(n8 / 8);

    asr_config c;
    asr_config_default(&c);
    asr *a;
    char err[512];
    assert_int_equal(asr_open(&c, &a, err, sizeof err), CS_OK);
    fe_opts fo;
    fe_opts_default(&fo);
    fe *f;
    assert_int_equal(fe_new(&fo, &f), CS_OK);

    /* Spans: the whole channel; the plan seg_plan makes from the talk
     * segment (where the clip has speech, ~0.45..2.2 s into it); silence
     * only; one past the end. Given out of order. */
    seg_params sp;
    seg_params_default(&sp);
    seg_span talk = {2450, 4200}, *planned;
    size_t nplanned;
    assert_int_equal(seg_plan(&sp, &talk, 1, 7000, ch, n, 8000, &planned, &nplanned), CS_OK);
    assert_int_equal(nplanned, 1);
    for (int round = 0; round < 2; round++) {
        seg_span spans[3] = {round ? planned[0] : (seg_span){0, 7000}, {5500, 6900}, {8000, 9000}};
        asr_utt *u;
        size_t nu;
        assert_int_equal(tx_channel(a, f, ch, n, 8000, spans, 3, &u, &nu), CS_OK);
        assert_int_equal(nu, 1); /* the silent span and the one past the end give nothing */
        printf("# span [%lld, %lld): \"%s\" at %d..%d ms (WER %.2f)\n",
               (long long)spans[0].start_ms, (long long)spans[0].end_ms, u[0].text, u[0].start_ms,
               u[0].end_ms, wer_of(u[0].text));
        assert_true(wer_of(u[0].text) <= 0.5);
        /* the words are where the clip's speech is: onset ~2.45 s */
        assert_true(u[0].start_ms >= 2300 && u[0].start_ms <= 2700);
        assert_true(u[0].end_ms <= clip_end + 50);
        for (size_t i = 0; i < u[0].n_words; i++) {
            assert_true(u[0].words[i].start_ms >= 2000);
            assert_true(u[0].words[i].end_ms <= clip_end + 50);
        }
        tx_utts_free(u, nu);
    }
    free(planned);

    /* Two spans of speech given out of order: utterances in time order. */
    int16_t *ch2 = malloc(2 * n * sizeof *ch2);
    assert_non_null(ch2);
    memcpy(ch2, ch, n * sizeof *ch2);
    memcpy(ch2 + n, ch, n * sizeof *ch2); /* the clip again at 9 s */
    seg_span two[2] = {{8500, 12500}, {1500, 5500}};
    asr_utt *u;
    size_t nu;
    assert_int_equal(tx_channel(a, f, ch2, 2 * n, 8000, two, 2, &u, &nu), CS_OK);
    assert_int_equal(nu, 2);
    printf("# two spans: %d..%d \"%s\", %d..%d \"%s\"\n", u[0].start_ms, u[0].end_ms, u[0].text,
           u[1].start_ms, u[1].end_ms, u[1].text);
    assert_true(u[0].end_ms <= u[1].start_ms);
    assert_true(u[0].start_ms >= 2300 && u[0].start_ms <= 2700);
    assert_true(u[1].start_ms >= 9300 && u[1].start_ms <= 9700);
    tx_utts_free(u, nu);
    free(ch2);

    /* argument errors */
    seg_span one = {0, 1000};
    assert_int_equal(tx_channel(a, f, ch, n, 44100, &one, 1, &u, &nu), CS_ERR_INVAL);
    assert_int_equal(tx_channel(NULL, f, ch, n, 8000, &one, 1, &u, &nu), CS_ERR_INVAL);
    assert_int_equal(tx_channel(a, NULL, ch, n, 8000, &one, 1, &u, &nu), CS_ERR_INVAL);
    assert_int_equal(tx_channel(a, f, ch, n, 8000, NULL, 1, &u, &nu), CS_ERR_INVAL);
    /* no spans: no utterances */
    assert_int_equal(tx_channel(a, f, ch, n, 8000, NULL, 0, &u, &nu), CS_OK);
    assert_int_equal(nu, 0);
    tx_utts_free(u, nu);

    fe_free(f);
    asr_close(a);
    free(ch);
    free(clip8);
    free(clip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_stereo),
        cmocka_unit_test(test_read_mono),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_channel),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
