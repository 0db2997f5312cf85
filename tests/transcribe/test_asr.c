/*
 * test_asr.c — the PocketSphinx wrapper (transcribe/asr.c) with the real
 * decoder and Debian's en-us model (pocketsphinx-en-us; the whole test exits
 * 77 when the model is absent).
 *
 * goforward.raw (../shared/data/speech or pocketsphinx-testdata) decodes to
 * "go forward ten meters" within WER 0.25; its words are in time order, with
 * posteriors in [0, 1], times inside [offset, offset + duration], the text
 * is the words joined by single spaces, the utterance's times are its first
 * and last words' and its confidence the duration-weighted mean. offset_ms
 * shifts every time by exactly itself. An all-zero segment and an empty one
 * give no words and text "". A missing model file is CS_ERR_NOTFOUND with
 * the path in the message. One decoder decodes many segments (the clip three
 * times, with silence between, same text each time). Argument errors; the
 * CPU counter grows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asr.h"
#include "error.h"
#include "testsupport.h"
#include "wer.h"

#define MODEL_DIR "/usr/share/pocketsphinx/model/en-us"
#define REF       "go forward ten meters"

typedef struct fixture {
    asr *a;
    int16_t *pcm;
    size_t n;
} fixture;

/* goforward.raw: 16 kHz s16le mono, 2.8 s. */
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

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->pcm = load_goforward(&fx->n);
    if (!fx->pcm) {
        fprintf(stderr, "test_asr: goforward.raw not found (../shared/data/speech or "
                        "pocketsphinx-testdata)\n");
        free(fx);
        return -1;
    }
    asr_config c;
    asr_config_default(&c);
    char err[512];
    int rc = asr_open(&c, &fx->a, err, sizeof err);
    if (rc != CS_OK) {
        fprintf(stderr, "test_asr: asr_open: %s: %s\n", cs_err_name(rc), err);
        free(fx->pcm);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    asr_close(fx->a);
    free(fx->pcm);
    free(fx);
    return 0;
}

static double wer_of(const char *hyp)
{
    wer_counts c;
    assert_int_equal(wer_align(REF, strlen(REF), hyp, strlen(hyp), &c), CS_OK);
    return wer_rate(&c);
}

/* The invariants every decoded utterance keeps. */
static void check_utt(const asr_utt *u, int64_t offset_ms, size_t n_samples)
{
    int64_t end_max = offset_ms + (int64_t)((n_samples + 15) / 16); /* the segment's end */
    assert_non_null(u->text);
    size_t pos = 0;
    for (size_t i = 0; i < u->n_words; i++) {
        const asr_word *w = &u->words[i];
        assert_non_null(w->word);
        assert_true(w->word[0] != '\0' && w->word[0] != '<' && w->word[0] != '[');
        assert_null(strchr(w->word, '('));
        assert_true(w->confidence >= 0.0 && w->confidence <= 1.0);
        assert_true(w->start_ms >= offset_ms);
        assert_true(w->end_ms > w->start_ms);
        assert_true(w->end_ms <= end_max);
        if (i)
            assert_true(w->start_ms >= u->words[i - 1].end_ms);
        /* the text is the words joined by single spaces */
        size_t wl = strlen(w->word);
        if (i)
            assert_int_equal(u->text[pos++], ' ');
        assert_memory_equal(u->text + pos, w->word, wl);
        pos += wl;
    }
    assert_int_equal(strlen(u->text), pos);
    if (u->n_words) {
        assert_int_equal(u->start_ms, u->words[0].start_ms);
        assert_int_equal(u->end_ms, u->words[u->n_words - 1].end_ms);
        double cs = 0, ds = 0;
        for (size_t i = 0; i < u->n_words; i++) {
            double d = u->words[i].end_ms - u->words[i].start_ms;
            cs += u->words[i].confidence * d;
            ds += d;
        }
        assert_true(fabs(u->confidence - cs / ds) < 1e-9);
    } else {
        assert_string_equal(u->text, "");
        assert_int_equal(u->start_ms, offset_ms);
        assert_int_equal(u->end_ms, offset_ms);
    }
}

static void test_goforward(void **state)
{
    fixture *fx = *state;
    asr_utt u;
    assert_int_equal(asr_decode(fx->a, fx->pcm, fx->n, 5000, &u), CS_OK);
    printf("# goforward: \"%s\" (WER %.2f, confidence %.2f, %d frames)\n", u.text, wer_of(u.text),
           u.confidence, u.frames);
    for (size_t i = 0; i < u.n_words; i++)
        printf("#   %6d %6d %-10s %.3f\n", u.words[i].start_ms, u.words[i].end_ms, u.words[i].word,
               u.words[i].confidence);
    assert_true(wer_of(u.text) <= 0.25);
    assert_true(u.n_words >= 3);
    check_utt(&u, 5000, fx->n);
    /* frames: the 10 ms frames the front end kept (it drops silence) */
    assert_true(u.frames > 100 && u.frames <= (int)(fx->n / 160) + 2);
    /* the speech is in the middle of the clip: the first word starts after
     * the leading silence, the last ends before the clip does */
    assert_true(u.start_ms > 5000);
    assert_true(u.end_ms <= 5000 + (int32_t)(fx->n / 16));
    asr_utt_clear(&u);
    assert_null(u.text);
    assert_null(u.words);
    assert_int_equal(u.n_words, 0);
}

static void test_offset_shifts(void **state)
{
    fixture *fx = *state;
    asr_utt a, b;
    assert_int_equal(asr_decode(fx->a, fx->pcm, fx->n, 0, &a), CS_OK);
    assert_int_equal(asr_decode(fx->a, fx->pcm, fx->n, 3600123, &b), CS_OK);
    check_utt(&a, 0, fx->n);
    check_utt(&b, 3600123, fx->n);
    assert_string_equal(a.text, b.text);
    assert_int_equal(a.n_words, b.n_words);
    for (size_t i = 0; i < a.n_words; i++) {
        assert_int_equal(b.words[i].start_ms, a.words[i].start_ms + 3600123);
        assert_int_equal(b.words[i].end_ms, a.words[i].end_ms + 3600123);
        assert_true(fabs(a.words[i].confidence - b.words[i].confidence) < 1e-9);
    }
    assert_int_equal(b.start_ms, a.start_ms + 3600123);
    assert_int_equal(b.end_ms, a.end_ms + 3600123);
    asr_utt_clear(&a);
    asr_utt_clear(&b);
}

/* The same words after 1.5 s of quiet noise (a pause, the padding of a
 * span): every word moves by 1.5 s. PocketSphinx's front end drops most of
 * that silence; the times must still be the real ones. */
static void test_times_after_silence(void **state)
{
    fixture *fx = *state;
    const size_t pre = 16000 * 3 / 2, post = 16000;
    size_t n = pre + fx->n + post;
    int16_t *x = malloc(n * sizeof *x);
    assert_non_null(x);
    uint32_t s = 99;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (int16_t)((int)((s >> 16) % 21) - 10);
    }
    memcpy(x + pre, fx->pcm, fx->n * sizeof *x);
    asr_utt a, b;
    assert_int_equal(asr_decode(fx->a, fx->pcm, fx->n, 1000, &a), CS_OK);
    assert_int_equal(asr_decode(fx->a, x, n, 1000, &b), CS_OK);
    check_utt(&b, 1000, n);
    printf("# after 1.5 s of silence: \"%s\"; first word %d -> %d ms, last end %d -> %d ms\n",
           b.text, a.start_ms, b.start_ms, a.end_ms, b.end_ms);
    assert_true(wer_of(b.text) <= 0.25);
    /* words found in both: shifted by 1500 ms, within two frames */
    size_t matched = 0;
    for (size_t i = 0; i < b.n_words; i++)
        for (size_t j = 0; j < a.n_words; j++)
            if (strcmp(b.words[i].word, a.words[j].word) == 0) {
                int32_t d = b.words[i].start_ms - a.words[j].start_ms - 1500;
                if (d < -20 || d > 20)
                    fail_msg("'%s' starts at %d ms, %d ms from 1.5 s after %d ms", b.words[i].word,
                             b.words[i].start_ms, d, a.words[j].start_ms);
                matched++;
                break;
            }
    assert_true(matched >= 3);
    asr_utt_clear(&a);
    asr_utt_clear(&b);
    free(x);
}

/* A segment cut in the middle of the last word: every time stays inside
 * the segment. */
static void test_cut_segment(void **state)
{
    fixture *fx = *state;
    for (size_t cut = 16000 * 19 / 10; cut <= 16000 * 22 / 10; cut += 1600) {
        asr_utt u;
        assert_int_equal(asr_decode(fx->a, fx->pcm, cut, 20000, &u), CS_OK);
        check_utt(&u, 20000, cut);
        if (u.n_words)
            assert_true(u.end_ms <= 20000 + (int32_t)(cut / 16));
        asr_utt_clear(&u);
    }
}

static void test_silence(void **state)
{
    fixture *fx = *state;
    size_t n = 16000 * 2;
    int16_t *zero = calloc(n, sizeof *zero);
    assert_non_null(zero);
    asr_utt u;
    assert_int_equal(asr_decode(fx->a, zero, n, 7000, &u), CS_OK);
    assert_int_equal(u.n_words, 0);
    assert_non_null(u.text);
    assert_string_equal(u.text, "");
    check_utt(&u, 7000, n);
    asr_utt_clear(&u);
    /* an empty segment */
    assert_int_equal(asr_decode(fx->a, NULL, 0, 100, &u), CS_OK);
    assert_int_equal(u.n_words, 0);
    assert_string_equal(u.text, "");
    assert_int_equal(u.start_ms, 100);
    asr_utt_clear(&u);
    free(zero);
}

static void test_reuse(void **state)
{
    fixture *fx = *state;
    size_t nz = 8000;
    int16_t *zero = calloc(nz, sizeof *zero);
    assert_non_null(zero);
    char *first = NULL;
    double cpu0 = asr_cpu_seconds(fx->a);
    for (int k = 0; k < 3; k++) {
        asr_utt u;
        assert_int_equal(asr_decode(fx->a, fx->pcm, fx->n, 10000 * k, &u), CS_OK);
        check_utt(&u, 10000 * k, fx->n);
        if (!first)
            first = strdup(u.text);
        else
            assert_string_equal(u.text, first);
        asr_utt_clear(&u);
        assert_int_equal(asr_decode(fx->a, zero, nz, 0, &u), CS_OK);
        assert_int_equal(u.n_words, 0);
        asr_utt_clear(&u);
    }
    assert_true(wer_of(first) <= 0.25);
    double cpu = asr_cpu_seconds(fx->a) - cpu0;
    printf("# 3 decodes of %.2f s: %.2f s CPU (real-time factor %.3f)\n", fx->n / 16000.0, cpu,
           cpu / (3 * (fx->n + nz) / 16000.0));
    assert_true(cpu > 0.0);
    free(first);
    free(zero);
}

static void test_invalid(void **state)
{
    fixture *fx = *state;
    asr_utt u;
    assert_int_equal(asr_decode(NULL, fx->pcm, fx->n, 0, &u), CS_ERR_INVAL);
    assert_int_equal(asr_decode(fx->a, NULL, 10, 0, &u), CS_ERR_INVAL);
    assert_int_equal(asr_decode(fx->a, fx->pcm, fx->n, -1, &u), CS_ERR_INVAL);
    assert_int_equal(asr_decode(fx->a, fx->pcm, fx->n, (int64_t)INT32_MAX + 1, &u), CS_ERR_INVAL);
    assert_int_equal(asr_decode(fx->a, fx->pcm, fx->n, 0, NULL), CS_ERR_INVAL);
    assert_true(asr_cpu_seconds(NULL) == 0.0);
    asr_utt_clear(NULL);
    asr_close(NULL);
}

static void test_missing_model(void **state)
{
    (void)state;
    const char *missing = "/nonexistent/callscope-test/model.file";
    for (int which = 0; which < 3; which++) {
        asr_config c;
        asr_config_default(&c);
        if (which == 0)
            c.hmm = missing;
        else if (which == 1)
            c.lm = missing;
        else
            c.dict = missing;
        asr *a = (asr *)&c;
        char err[512];
        assert_int_equal(asr_open(&c, &a, err, sizeof err), CS_ERR_NOTFOUND);
        assert_null(a);
        if (!strstr(err, missing))
            fail_msg("message '%s' does not name the path", err);
        assert_non_null(strstr(err, "pocketsphinx-en-us"));
    }
    asr_config c;
    asr_config_default(&c);
    c.dict = "";
    asr *a;
    char err[256];
    assert_int_equal(asr_open(&c, &a, err, sizeof err), CS_ERR_CONFIG);
    assert_non_null(strstr(err, "dictionary"));
    assert_int_equal(asr_open(NULL, &a, err, sizeof err), CS_ERR_INVAL);
}

int main(void)
{
    if (access(MODEL_DIR "/en-us/mdef", R_OK) != 0 || access(ASR_DEFAULT_LM, R_OK) != 0 ||
        access(ASR_DEFAULT_DICT, R_OK) != 0) {
        printf("# skip: %s is absent (apt-get install pocketsphinx-en-us)\n", MODEL_DIR);
        return 77;
    }
    size_t n;
    int16_t *probe = load_goforward(&n);
    if (!probe) {
        printf("# skip: goforward.raw is absent (../shared/data/speech or "
               "apt-get install pocketsphinx-testdata)\n");
        return 77;
    }
    free(probe);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goforward),
        cmocka_unit_test(test_offset_shifts),
        cmocka_unit_test(test_times_after_silence),
        cmocka_unit_test(test_cut_segment),
        cmocka_unit_test(test_silence),
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_missing_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
