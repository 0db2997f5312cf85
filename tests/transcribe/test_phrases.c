/*
 * test_phrases.c — the phrase list and phrase spotting (transcribe/phrases.c).
 *
 * The list: the shipped deploy/phrases.conf parses to its 6 wordings with the
 * right names, kinds, sides and normalised words; each kind of malformed line
 * is refused with CS_ERR_MALFORMED and a message naming its line number;
 * comments, blank lines, CRLF line ends, a last line without a newline,
 * leading blanks and punctuation/case/apostrophes in the words; the limits
 * (PH_MAX_WORDS words, 63-character names and words, PH_MAX_PHRASES lines);
 * ph_list_load of a missing file.
 *
 * Spotting, on hand-built utterances (words 400 ms long, 100 ms apart, with
 * known posteriors): an exact match (score 1, the first and last words'
 * times, utt_index, matched text); one misrecognised word (found at
 * min_score 0.6 with score 5/6, not at 1.0); a phrase split across two
 * utterances; side filtering; two occurrences giving two disjoint hits; no
 * hit in unrelated text; confidence = score x mean posterior; transcript
 * words with apostrophes or capitals ("don't", "I") matching the phrase's
 * normal form; argument errors. A property run over pseudo-random
 * transcripts: at min_score 1.0 the hits are exactly the occurrences a naive
 * scan finds; at any min_score hits are disjoint, in order, inside the
 * utterances' times, with 0 < score <= 1 and score >= min_score.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "phrases.h"
#include "testsupport.h"

/* ---------- helpers ---------- */

#define WORD_MS 400
#define GAP_MS  100

/* One utterance from space-separated words starting at start_ms, each word
 * with posterior conf (or confs[i] when confs is given). */
static void utt_make(asr_utt *u, const char *text, int32_t start_ms, double conf,
                     const double *confs)
{
    memset(u, 0, sizeof *u);
    char *copy = strdup(text);
    assert_non_null(copy);
    size_t cap = 0;
    int32_t t = start_ms;
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (u->n_words == cap) {
            cap = cap ? 2 * cap : 8;
            u->words = realloc(u->words, cap * sizeof *u->words);
            assert_non_null(u->words);
        }
        asr_word *aw = &u->words[u->n_words];
        aw->word = strdup(w);
        assert_non_null(aw->word);
        aw->start_ms = t;
        aw->end_ms = t + WORD_MS;
        aw->confidence = confs ? confs[u->n_words] : conf;
        u->n_words++;
        t += WORD_MS + GAP_MS;
    }
    free(copy);
    u->text = strdup(text);
    assert_non_null(u->text);
    u->start_ms = start_ms;
    u->end_ms = u->n_words ? t - GAP_MS : start_ms;
    u->confidence = conf;
}

static void utts_free(asr_utt *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        asr_utt_clear(&u[i]);
}

static void parse_ok(const char *text, ph_list *l)
{
    char err[256];
    int rc = ph_list_parse(text, strlen(text), l, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("parse failed (%s): %s", cs_err_name(rc), err);
}

static void check_words(const ph_phrase *p, const char *joined)
{
    char buf[1024] = "";
    size_t pos = 0;
    for (size_t i = 0; i < p->n_words; i++)
        pos += (size_t)snprintf(buf + pos, sizeof buf - pos, "%s%s", i ? " " : "", p->words[i]);
    assert_string_equal(buf, joined);
}

/* ---------- the list ---------- */

static void test_parse_shipped(void **state)
{
    (void)state;
    char path[4096], err[512];
    ts_source_path(path, sizeof path, "deploy/phrases.conf");
    ph_list l;
    int rc = ph_list_load(path, &l, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("%s: %s", cs_err_name(rc), err);
    assert_int_equal(l.n, 6);
    assert_string_equal(l.v[0].name, "greeting");
    assert_int_equal(l.v[0].kind, PH_SCRIPTED);
    assert_int_equal(l.v[0].side, 2);
    check_words(&l.v[0], "how can i help you today");
    assert_string_equal(l.v[1].name, "verification");
    check_words(&l.v[1], "can you please confirm your full name and date of birth");
    assert_string_equal(l.v[3].name, "forbidden");
    assert_int_equal(l.v[3].kind, PH_FORBIDDEN);
    assert_int_equal(l.v[3].side, 2);
    assert_string_equal(l.v[4].name, "cancel");
    assert_int_equal(l.v[4].kind, PH_KEYWORD);
    assert_int_equal(l.v[4].side, 1);
    check_words(&l.v[4], "cancel my account");
    for (size_t i = 0; i < l.n; i++) {
        assert_true(l.v[i].n_words >= 1 && l.v[i].n_words <= PH_MAX_WORDS);
        assert_string_equal(ph_kind_name(l.v[i].kind), l.v[i].kind == PH_SCRIPTED    ? "scripted"
                                                       : l.v[i].kind == PH_FORBIDDEN ? "forbidden"
                                                                                     : "keyword");
    }
    ph_list_free(&l);
    assert_null(l.v);
    assert_int_equal(l.n, 0);

    /* the same bytes through ph_list_parse */
    size_t len;
    char *text = ts_read_file(path, &len);
    assert_non_null(text);
    assert_int_equal(ph_list_parse(text, len, &l, err, sizeof err), CS_OK);
    assert_int_equal(l.n, 6);
    ph_list_free(&l);
    free(text);
}

static void test_parse_format(void **state)
{
    (void)state;
    ph_list l;
    parse_ok("# a comment\r\n"
             "\r\n"
             "   \t\n"
             "  greeting\tscripted  agent  :  Thank You, for Calling!  \r\n"
             "  # indented comment\n"
             "dont-know_2 keyword any: I DON'T know... 42 times\n"
             "cancel keyword customer:cancel",
             &l);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].name, "greeting");
    assert_int_equal(l.v[0].side, 2);
    check_words(&l.v[0], "thank you for calling");
    assert_string_equal(l.v[1].name, "dont-know_2");
    assert_int_equal(l.v[1].side, 0);
    assert_int_equal(l.v[1].kind, PH_KEYWORD);
    check_words(&l.v[1], "i dont know 42 times");
    assert_int_equal(l.v[2].side, 1);
    check_words(&l.v[2], "cancel");
    ph_list_free(&l);

    /* empty text and only comments: an empty list */
    parse_ok("", &l);
    assert_int_equal(l.n, 0);
    ph_list_free(&l);
    parse_ok("# nothing\n\n#\r\n", &l);
    assert_int_equal(l.n, 0);
    ph_list_free(&l);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *says;
    } cases[] = {
        {"greeting scripted agent thank you", "expected ':'"},
        {"Greeting scripted agent: thank you", "name 'Greeting'"},
        {"greet!ng scripted agent: thank you", "must be [a-z0-9_-]"},
        {"greeting", "missing KIND"},
        {"greeting scripted", "missing SIDE"},
        {"greeting scripted:", "missing SIDE"},
        {"greeting sometimes agent: thank you", "kind 'sometimes'"},
        {"greeting scripted nobody: thank you", "side 'nobody'"},
        {"greeting scripted agent:", "no words"},
        {"greeting scripted agent: ... !!! ''", "no words"},
        {": scripted agent: x", "expected 'NAME KIND SIDE: words'"},
        {"greeting scripted agent any: x", "expected ':'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512], err[256];
        snprintf(text, sizeof text, "# header\n\n%s\nok scripted any: fine\n", cases[i].line);
        ph_list l;
        l.n = 99;
        int rc = ph_list_parse(text, strlen(text), &l, err, sizeof err);
        if (rc != CS_ERR_MALFORMED)
            fail_msg("'%s': %s, expected CS_ERR_MALFORMED", cases[i].line, cs_err_name(rc));
        if (!strstr(err, "line 3") || !strstr(err, cases[i].says))
            fail_msg("'%s': message '%s' lacks 'line 3' or '%s'", cases[i].line, err,
                     cases[i].says);
        assert_null(l.v);
        assert_int_equal(l.n, 0);
    }
    /* a NUL byte inside a line */
    const char nul[] = "a scripted any: one\nb scripted any: t\0wo\n";
    char err[256];
    ph_list l;
    assert_int_equal(ph_list_parse(nul, sizeof nul - 1, &l, err, sizeof err), CS_ERR_MALFORMED);
    assert_non_null(strstr(err, "line 2"));
    /* NULL err is allowed; NULL text with a length is not */
    assert_int_equal(ph_list_parse("x", 1, &l, NULL, 0), CS_ERR_MALFORMED);
    assert_int_equal(ph_list_parse(NULL, 3, &l, err, sizeof err), CS_ERR_INVAL);
    assert_int_equal(ph_list_parse("", 0, NULL, err, sizeof err), CS_ERR_INVAL);
}

static void test_parse_limits(void **state)
{
    (void)state;
    char text[8192], err[256];
    ph_list l;
    /* PH_MAX_WORDS words: fine; one more: refused */
    for (int extra = 0; extra <= 1; extra++) {
        size_t pos = (size_t)snprintf(text, sizeof text, "p keyword any:");
        for (int i = 0; i < PH_MAX_WORDS + extra; i++)
            pos += (size_t)snprintf(text + pos, sizeof text - pos, " w%d", i);
        int rc = ph_list_parse(text, pos, &l, err, sizeof err);
        if (!extra) {
            assert_int_equal(rc, CS_OK);
            assert_int_equal(l.v[0].n_words, PH_MAX_WORDS);
            ph_list_free(&l);
        } else {
            assert_int_equal(rc, CS_ERR_MALFORMED);
            assert_non_null(strstr(err, "line 1"));
            assert_non_null(strstr(err, "at most 32 words"));
        }
    }
    /* 63-character names and words: fine; 64: refused */
    for (int extra = 0; extra <= 1; extra++) {
        char name[80], word[80];
        memset(name, 'n', sizeof name);
        name[63 + extra] = '\0';
        memset(word, 'w', sizeof word);
        word[63 + extra] = '\0';
        snprintf(text, sizeof text, "%s keyword any: hello\nx keyword any: a %s b\n", name,
                 extra ? "short" : word);
        int rc = ph_list_parse(text, strlen(text), &l, err, sizeof err);
        if (!extra) {
            assert_int_equal(rc, CS_OK);
            assert_int_equal(strlen(l.v[0].name), 63);
            assert_int_equal(strlen(l.v[1].words[1]), 63);
            ph_list_free(&l);
        } else {
            assert_int_equal(rc, CS_ERR_MALFORMED);
            assert_non_null(strstr(err, "line 1"));
        }
        snprintf(text, sizeof text, "ok keyword any: fine\nx keyword any: a %s b\n", word);
        rc = ph_list_parse(text, strlen(text), &l, err, sizeof err);
        if (!extra) {
            assert_int_equal(rc, CS_OK);
            ph_list_free(&l);
        } else {
            assert_int_equal(rc, CS_ERR_MALFORMED);
            assert_non_null(strstr(err, "line 2"));
        }
    }
    /* PH_MAX_PHRASES lines: fine; one more: CS_ERR_LIMIT */
    size_t cap = (PH_MAX_PHRASES + 1) * 32;
    char *big = malloc(cap);
    assert_non_null(big);
    for (int extra = 0; extra <= 1; extra++) {
        size_t pos = 0;
        for (int i = 0; i < PH_MAX_PHRASES + extra; i++)
            pos += (size_t)snprintf(big + pos, cap - pos, "p%d keyword any: w%d\n", i, i);
        int rc = ph_list_parse(big, pos, &l, err, sizeof err);
        if (!extra) {
            assert_int_equal(rc, CS_OK);
            assert_int_equal(l.n, PH_MAX_PHRASES);
            ph_list_free(&l);
        } else {
            assert_int_equal(rc, CS_ERR_LIMIT);
            assert_null(l.v);
        }
    }
    free(big);
}

static void test_load_missing(void **state)
{
    (void)state;
    char dir[256], path[512], err[512];
    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "phrases"), 0);
    snprintf(path, sizeof path, "%s/none.conf", dir);
    ph_list l;
    assert_int_equal(ph_list_load(path, &l, err, sizeof err), CS_ERR_NOTFOUND);
    assert_non_null(strstr(err, path));
    /* a malformed file: the message names the file and the line */
    assert_int_equal(ts_write_file(path, "a keyword any: x\nbad\n", 21), 0);
    assert_int_equal(ph_list_load(path, &l, err, sizeof err), CS_ERR_MALFORMED);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "line 2"));
    ts_rmrf(dir);
}

/* ---------- spotting ---------- */

static const char *LIST = "greeting scripted agent: thank you for calling acme support\n"
                          "greeting scripted agent: how can i help you today\n"
                          "cancel keyword customer: cancel my account\n"
                          "dunno keyword any: i don't know\n";

static size_t spot(const ph_list *l, int ch, const asr_utt *u, size_t n, double min, ph_hit **hits)
{
    size_t nh = 0;
    *hits = NULL;
    assert_int_equal(ph_spot(l, ch, u, n, min, hits, &nh), CS_OK);
    return nh;
}

static void test_spot_exact(void **state)
{
    (void)state;
    ph_list l;
    parse_ok(LIST, &l);
    asr_utt u[2];
    utt_make(&u[0], "hello", 1000, 0.9, NULL);
    utt_make(&u[1], "good morning thank you for calling acme support my name is sam", 4000, 0.8,
             NULL);
    ph_hit *h;
    size_t n = spot(&l, 2, u, 2, 1.0, &h);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].name, "greeting");
    assert_ptr_equal(h[0].name, l.v[0].name); /* borrowed */
    assert_int_equal(h[0].kind, PH_SCRIPTED);
    assert_int_equal(h[0].channel, 2);
    assert_string_equal(h[0].matched, "thank you for calling acme support");
    assert_true(h[0].score == 1.0);
    assert_int_equal(h[0].utt_index, 1);
    assert_int_equal(h[0].start_ms, u[1].words[2].start_ms); /* "thank" */
    assert_int_equal(h[0].start_ms, 4000 + 2 * (WORD_MS + GAP_MS));
    assert_int_equal(h[0].end_ms, u[1].words[7].end_ms); /* "support" */
    assert_true(h[0].confidence > 0.8 - 1e-12 && h[0].confidence < 0.8 + 1e-12);
    ph_hits_free(h, n);
    utts_free(u, 2);
    ph_list_free(&l);
}

static void test_spot_misrecognised(void **state)
{
    (void)state;
    ph_list l;
    parse_ok(LIST, &l);
    asr_utt u;
    utt_make(&u, "yes thank you for falling acme support", 0, 0.5, NULL);
    ph_hit *h;
    size_t n = spot(&l, 2, &u, 1, 1.0, &h);
    assert_int_equal(n, 0);
    ph_hits_free(h, n);
    n = spot(&l, 2, &u, 1, 0.6, &h);
    assert_int_equal(n, 1);
    assert_true(h[0].score > 5.0 / 6 - 1e-9 && h[0].score < 5.0 / 6 + 1e-9);
    assert_string_equal(h[0].matched, "thank you for falling acme support");
    assert_int_equal(h[0].start_ms, u.words[1].start_ms);
    assert_int_equal(h[0].end_ms, u.words[6].end_ms);
    ph_hits_free(h, n);
    asr_utt_clear(&u);

    /* a missing word and an extra word cost one each */
    utt_make(&u, "thank you calling acme support", 0, 0.5, NULL);
    n = spot(&l, 2, &u, 1, 0.6, &h);
    assert_int_equal(n, 1);
    assert_true(h[0].score > 5.0 / 6 - 1e-9 && h[0].score < 5.0 / 6 + 1e-9);
    ph_hits_free(h, n);
    asr_utt_clear(&u);
    utt_make(&u, "thank you um for calling acme support", 0, 0.5, NULL);
    n = spot(&l, 2, &u, 1, 0.6, &h);
    assert_int_equal(n, 1);
    assert_true(h[0].score > 5.0 / 6 - 1e-9 && h[0].score < 5.0 / 6 + 1e-9);
    ph_hits_free(h, n);
    /* three errors in six words: below 0.6 */
    asr_utt_clear(&u);
    utt_make(&u, "tank you four falling acme support", 0, 0.5, NULL);
    n = spot(&l, 2, &u, 1, 0.6, &h);
    assert_int_equal(n, 0);
    ph_hits_free(h, n);
    n = spot(&l, 2, &u, 1, 0.5, &h);
    assert_int_equal(n, 1);
    assert_true(h[0].score > 0.5 - 1e-9 && h[0].score < 0.5 + 1e-9);
    ph_hits_free(h, n);
    asr_utt_clear(&u);
    ph_list_free(&l);
}

static void test_spot_across_utterances(void **state)
{
    (void)state;
    ph_list l;
    parse_ok(LIST, &l);
    asr_utt u[3];
    utt_make(&u[0], "okay", 0, 0.7, NULL);
    utt_make(&u[1], "well thank you for", 2000, 0.7, NULL);
    utt_make(&u[2], "calling acme support", 5000, 0.7, NULL);
    ph_hit *h;
    size_t n = spot(&l, 2, u, 3, 1.0, &h);
    assert_int_equal(n, 1);
    assert_int_equal(h[0].utt_index, 1);
    assert_int_equal(h[0].start_ms, u[1].words[1].start_ms);
    assert_int_equal(h[0].end_ms, u[2].words[2].end_ms);
    assert_string_equal(h[0].matched, "thank you for calling acme support");
    ph_hits_free(h, n);
    utts_free(u, 3);
    ph_list_free(&l);
}

static void test_spot_sides(void **state)
{
    (void)state;
    ph_list l;
    parse_ok(LIST, &l);
    asr_utt u;
    utt_make(&u, "thank you for calling acme support i want to cancel my account i don't know", 0,
             0.9, NULL);
    ph_hit *h;
    /* agent channel: greeting and the any-side phrase, not the customer's */
    size_t n = spot(&l, 2, &u, 1, 1.0, &h);
    assert_int_equal(n, 2);
    assert_string_equal(h[0].name, "greeting");
    assert_string_equal(h[1].name, "dunno");
    ph_hits_free(h, n);
    /* customer channel: cancel and the any-side phrase, not the agent's */
    n = spot(&l, 1, &u, 1, 1.0, &h);
    assert_int_equal(n, 2);
    assert_string_equal(h[0].name, "cancel");
    assert_int_equal(h[0].kind, PH_KEYWORD);
    assert_int_equal(h[0].channel, 1);
    assert_string_equal(h[1].name, "dunno");
    ph_hits_free(h, n);
    asr_utt_clear(&u);
    ph_list_free(&l);
}

static void test_spot_two_occurrences(void **state)
{
    (void)state;
    ph_list l;
    parse_ok("cancel keyword customer: cancel my account\n"
             "thanks keyword any: thank you\n",
             &l);
    asr_utt u[2];
    utt_make(&u[0], "i said cancel my account", 0, 0.9, NULL);
    utt_make(&u[1], "please cancel my account now thank you thank you", 10000, 0.6, NULL);
    ph_hit *h;
    size_t n = spot(&l, 1, u, 2, 1.0, &h);
    assert_int_equal(n, 4);
    assert_string_equal(h[0].name, "cancel");
    assert_int_equal(h[0].utt_index, 0);
    assert_int_equal(h[0].start_ms, u[0].words[2].start_ms);
    assert_string_equal(h[1].name, "cancel");
    assert_int_equal(h[1].utt_index, 1);
    assert_int_equal(h[1].start_ms, u[1].words[1].start_ms);
    assert_true(h[1].start_ms > h[0].end_ms);
    assert_string_equal(h[2].name, "thanks");
    assert_string_equal(h[3].name, "thanks");
    assert_int_equal(h[2].start_ms, u[1].words[5].start_ms);
    assert_int_equal(h[3].start_ms, u[1].words[7].start_ms);
    assert_true(h[3].start_ms > h[2].end_ms);
    ph_hits_free(h, n);
    /* appending to an existing array */
    size_t nh = 0;
    h = NULL;
    assert_int_equal(ph_spot(&l, 1, u, 1, 1.0, &h, &nh), CS_OK);
    assert_int_equal(nh, 1);
    assert_int_equal(ph_spot(&l, 1, u + 1, 1, 1.0, &h, &nh), CS_OK);
    assert_int_equal(nh, 4);
    assert_string_equal(h[0].matched, "cancel my account");
    ph_hits_free(h, nh);
    utts_free(u, 2);
    ph_list_free(&l);
}

static void test_spot_unrelated(void **state)
{
    (void)state;
    ph_list l;
    parse_ok(LIST, &l);
    asr_utt u[2];
    utt_make(&u[0], "the weather is lovely today isn't it", 0, 0.9, NULL);
    utt_make(&u[1], "yes quite warm for november", 3000, 0.9, NULL);
    ph_hit *h;
    for (int ch = 1; ch <= 2; ch++) {
        size_t n = spot(&l, ch, u, 2, 0.6, &h);
        assert_int_equal(n, 0);
        ph_hits_free(h, n);
    }
    utts_free(u, 2);
    /* no utterances, or utterances without words */
    size_t n = spot(&l, 1, NULL, 0, 0.6, &h);
    assert_int_equal(n, 0);
    utt_make(&u[0], "", 0, 0.9, NULL);
    n = spot(&l, 1, u, 1, 0.6, &h);
    assert_int_equal(n, 0);
    asr_utt_clear(&u[0]);
    ph_list_free(&l);
}

static void test_spot_confidence(void **state)
{
    (void)state;
    ph_list l;
    parse_ok(LIST, &l);
    const double confs[] = {0.1, 0.9, 0.6, 0.3, 1.0};
    asr_utt u;
    utt_make(&u, "uh cancel my account yes", 0, 0, confs);
    ph_hit *h;
    size_t n = spot(&l, 1, &u, 1, 1.0, &h);
    assert_int_equal(n, 1);
    double want = 1.0 * (0.9 + 0.6 + 0.3) / 3;
    assert_true(h[0].confidence > want - 1e-9 && h[0].confidence < want + 1e-9);
    ph_hits_free(h, n);
    asr_utt_clear(&u);
    /* with a misrecognised word: score 2/3 x mean over the matched words */
    utt_make(&u, "uh cancel me account yes", 0, 0, confs);
    n = spot(&l, 1, &u, 1, 0.6, &h);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].matched, "cancel me account");
    want = (2.0 / 3) * (0.9 + 0.6 + 0.3) / 3;
    assert_true(h[0].score > 2.0 / 3 - 1e-9 && h[0].score < 2.0 / 3 + 1e-9);
    assert_true(h[0].confidence > want - 1e-9 && h[0].confidence < want + 1e-9);
    ph_hits_free(h, n);
    asr_utt_clear(&u);
    ph_list_free(&l);
}

/* Dictionary words keep apostrophes ("don't") and a transcript may carry
 * capitals: both are compared in the phrase's normal form. */
static void test_spot_normal_form(void **state)
{
    (void)state;
    ph_list l;
    parse_ok(LIST, &l);
    asr_utt u;
    utt_make(&u, "well I don't know", 0, 0.9, NULL);
    ph_hit *h;
    size_t n = spot(&l, 1, &u, 1, 1.0, &h);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].name, "dunno");
    assert_string_equal(h[0].matched, "I don't know"); /* the transcript's own words */
    ph_hits_free(h, n);
    asr_utt_clear(&u);
    ph_list_free(&l);
}

static void test_spot_invalid(void **state)
{
    (void)state;
    ph_list l;
    parse_ok(LIST, &l);
    asr_utt u;
    utt_make(&u, "cancel my account", 0, 0.9, NULL);
    ph_hit *h = NULL;
    size_t n = 0;
    assert_int_equal(ph_spot(&l, 0, &u, 1, 0.6, &h, &n), CS_ERR_INVAL);
    assert_int_equal(ph_spot(&l, 3, &u, 1, 0.6, &h, &n), CS_ERR_INVAL);
    assert_int_equal(ph_spot(&l, 1, &u, 1, 0.0, &h, &n), CS_ERR_INVAL);
    assert_int_equal(ph_spot(&l, 1, &u, 1, 1.01, &h, &n), CS_ERR_INVAL);
    assert_int_equal(ph_spot(NULL, 1, &u, 1, 0.6, &h, &n), CS_ERR_INVAL);
    assert_int_equal(ph_spot(&l, 1, NULL, 1, 0.6, &h, &n), CS_ERR_INVAL);
    assert_int_equal(ph_spot(&l, 1, &u, 1, 0.6, NULL, &n), CS_ERR_INVAL);
    assert_null(h);
    assert_int_equal(n, 0);
    /* a tiny min_score still never reports a hit with score 0 */
    assert_int_equal(ph_spot(&l, 1, &u, 1, 1e-15, &h, &n), CS_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(h[i].score > 0.0);
    ph_hits_free(h, n);
    asr_utt_clear(&u);
    ph_list_free(&l);
}

/* ---------- property ---------- */

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static const char *VOCAB[] = {"thank", "you",     "for",    "calling",
                              "my",    "account", "cancel", "please"};
#define NVOCAB (sizeof VOCAB / sizeof VOCAB[0])

static void test_property(void **state)
{
    (void)state;
    uint64_t s = 0x5eed5eedull;
    for (int iter = 0; iter < 300; iter++) {
        /* one phrase of 1..4 distinct words (occurrences cannot overlap) */
        size_t pw = 1 + rng(&s) % 4;
        const char *pwords[4];
        char line[256];
        size_t pos = (size_t)snprintf(line, sizeof line, "p keyword any:");
        for (size_t i = 0; i < pw; i++) {
            size_t k;
            int dup;
            do {
                k = rng(&s) % NVOCAB;
                dup = 0;
                for (size_t j = 0; j < i; j++)
                    dup |= pwords[j] == VOCAB[k];
            } while (dup);
            pwords[i] = VOCAB[k];
            pos += (size_t)snprintf(line + pos, sizeof line - pos, " %s", VOCAB[k]);
        }
        ph_list l;
        parse_ok(line, &l);
        /* 1..4 utterances of 0..12 words from a small vocabulary */
        size_t nu = 1 + rng(&s) % 4;
        asr_utt u[4];
        const char *flat[64];
        size_t nflat = 0;
        int32_t t0 = 0;
        for (size_t k = 0; k < nu; k++) {
            char text[512] = "";
            size_t tp = 0, nw = rng(&s) % 13;
            for (size_t i = 0; i < nw; i++) {
                const char *w = VOCAB[rng(&s) % NVOCAB];
                flat[nflat++] = w;
                tp += (size_t)snprintf(text + tp, sizeof text - tp, "%s%s", i ? " " : "", w);
            }
            utt_make(&u[k], text, t0, 0.25 + (double)(rng(&s) % 4) / 4, NULL);
            t0 += 10000;
        }
        /* exact: the hits are the naive scan's occurrences */
        ph_hit *h;
        size_t n = spot(&l, 1 + (int)(iter % 2), u, nu, 1.0, &h);
        size_t want = 0;
        for (size_t j = 0; j + pw <= nflat; j++) {
            size_t i = 0;
            while (i < pw && strcmp(flat[j + i], pwords[i]) == 0)
                i++;
            if (i == pw)
                want++;
        }
        if (n != want) {
            fprintf(stderr, "phrase '%s' n=%zu want=%zu:", line, n, want);
            for (size_t i = 0; i < nflat; i++)
                fprintf(stderr, " %s", flat[i]);
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, "\n hit '%s'", h[i].matched);
            fprintf(stderr, "\n");
        }
        assert_int_equal(n, want);
        for (size_t i = 0; i < n; i++)
            assert_true(h[i].score == 1.0);
        ph_hits_free(h, n);
        /* any threshold: disjoint, ordered, inside the utterances */
        double min = 0.05 + (double)(rng(&s) % 96) / 100;
        n = spot(&l, 1, u, nu, min, &h);
        for (size_t i = 0; i < n; i++) {
            assert_true(h[i].score > 0.0 && h[i].score <= 1.0);
            assert_true(h[i].score >= min - 1e-9);
            assert_true(h[i].confidence >= 0.0 && h[i].confidence <= h[i].score + 1e-12);
            assert_true(h[i].utt_index < nu);
            const asr_utt *hu = &u[h[i].utt_index];
            assert_true(h[i].start_ms >= hu->start_ms && h[i].start_ms < hu->end_ms);
            assert_true(h[i].end_ms > h[i].start_ms);
            int32_t last_end = 0;
            for (size_t k = 0; k < nu; k++)
                if (u[k].n_words && u[k].end_ms > last_end)
                    last_end = u[k].end_ms;
            assert_true(h[i].end_ms <= last_end);
            if (i)
                assert_true(h[i].start_ms > h[i - 1].end_ms);
        }
        ph_hits_free(h, n);
        utts_free(u, nu);
        ph_list_free(&l);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_shipped),      cmocka_unit_test(test_parse_format),
        cmocka_unit_test(test_parse_errors),       cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_load_missing),       cmocka_unit_test(test_spot_exact),
        cmocka_unit_test(test_spot_misrecognised), cmocka_unit_test(test_spot_across_utterances),
        cmocka_unit_test(test_spot_sides),         cmocka_unit_test(test_spot_two_occurrences),
        cmocka_unit_test(test_spot_unrelated),     cmocka_unit_test(test_spot_confidence),
        cmocka_unit_test(test_spot_normal_form),   cmocka_unit_test(test_spot_invalid),
        cmocka_unit_test(test_property),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
