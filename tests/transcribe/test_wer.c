/*
 * test_wer.c — word error rate (transcribe/wer.c).
 *
 * Normalisation: a table of inputs and exact outputs (markers, fillers,
 * "(N)" suffixes, apostrophes, punctuation, bytes >= 0x80, NUL bytes),
 * snprintf-style truncation at cap = len - 1, len, len + 1, idempotence.
 * Alignment: textbook cases with exact S/D/I, real PocketSphinx output
 * (pocketsphinx_continuous -backtrace yes on the Debian testdata clips: the
 * word segments with <s>, <sil>, </s> and "been(2)"), limits and argument
 * errors with their exact codes. Properties over pseudo-random texts: the
 * error total equals an independent full-matrix Levenshtein, WER(x, x) = 0,
 * swapping the texts swaps D and I, bounds |n - m| <= E <= max(n, m).
 * Agreement with callgen: every LibriVox and cards transcript line of the
 * testdata, normalised here, is the text of one clip of callgen's bank
 * (cg_bank_load normalised it with its own function) — skipped when
 * pocketsphinx-testdata is absent. The shared speech set's TRANSCRIPTS.tsv is
 * already in normal form (skipped without ../shared/data).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_voice.h"
#include "error.h"
#include "testsupport.h"
#include "wer.h"

#define TESTDATA "/usr/share/pocketsphinx/test/data"

static char *norm(const char *s, size_t len)
{
    size_t need = wer_normalise(s, len, NULL, 0);
    char *out = malloc(need + 1);
    assert_non_null(out);
    assert_int_equal(wer_normalise(s, len, out, need + 1), need);
    assert_int_equal(strlen(out), need);
    assert_true(need <= len);
    return out;
}

/* words of a normalised text: single spaces, none at the ends */
static size_t count_words(const char *t)
{
    if (t[0] == '\0')
        return 0;
    size_t n = 1;
    for (const char *p = t; *p; p++)
        n += *p == ' ';
    return n;
}

/* ---------- normalisation ---------- */

static void test_normalise_table(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"   \t\n ", ""},
        {"hello", "hello"},
        {"Hello World", "hello world"},
        {"  Hello,   World!  ", "hello world"},
        {"<s> he was not an ill disposed young man </s>", "he was not an ill disposed young man"},
        {"<s> ten of clubs  </s>", "ten of clubs"},
        {"<sil> go <sil> forward </s>", "go forward"},
        {"[NOISE] ten [SPEECH] meters [BREATH]", "ten meters"},
        {"been(2) made read(12)", "been made read"},
        {"a(2)", "a"},
        {"(2)", "2"},          /* no word before the parenthesis: kept */
        {"word(x)", "word x"}, /* not digits: ordinary separators */
        {"word(2", "word 2"},  /* no closing parenthesis */
        {"word()", "word"},    /* no digits: separators only */
        {"[NOISE](2)", ""},    /* suffix first, then the filler */
        {"don't can't O'Brien", "dont cant obrien"},
        {"'quoted'", "quoted"},
        {"'", ""},
        {"mr. smith-jones, 2nd floor", "mr smith jones 2nd floor"},
        {"rock&roll", "rock roll"},
        {"<s>hello", "s hello"}, /* not a whole marker token */
        {"<", ""},               /* too short to be a marker; no word */
        {"<>", ""},
        {"[]x", "x"}, /* "[]x" is no marker; [ ] separate */
        {"x<sil>", "x sil"},
        {"caf\xc3\xa9 na\xc3\xafve", "caf na ve"}, /* bytes >= 0x80 separate */
        {"A1B2 C3", "a1b2 c3"},
        {"TEN\tOF\r\nCLUBS\v\f", "ten of clubs"},
        {"(sense_and_sensibility_01_austen_64kb-0870)",
         "sense and sensibility 01 austen 64kb 0870"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *o = norm(cases[i].in, strlen(cases[i].in));
        if (strcmp(o, cases[i].out) != 0)
            fail_msg("case %zu: \"%s\" -> \"%s\", expected \"%s\"", i, cases[i].in, o,
                     cases[i].out);
        /* idempotent */
        char *o2 = norm(o, strlen(o));
        assert_string_equal(o2, o);
        assert_int_equal(wer_count_words(cases[i].in, strlen(cases[i].in)), count_words(o));
        free(o);
        free(o2);
    }
}

static void test_normalise_nul_and_length(void **state)
{
    (void)state;
    /* a NUL byte is a separator; the length, not the NUL, ends the input */
    static const char in[] = "ab\0cd ef";
    char out[16];
    assert_int_equal(wer_normalise(in, sizeof in - 1, out, sizeof out), 8);
    assert_string_equal(out, "ab cd ef");
    /* only the first 4 bytes */
    assert_int_equal(wer_normalise(in, 4, out, sizeof out), 4);
    assert_string_equal(out, "ab c");
    /* NULL input with length 0, NULL output with cap 0 */
    assert_int_equal(wer_normalise(NULL, 0, out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(wer_normalise("x y", 3, NULL, 0), 3);
    assert_int_equal(wer_count_words(NULL, 0), 0);
    assert_int_equal(wer_count_words(in, sizeof in - 1), 3);
}

static void test_normalise_truncation(void **state)
{
    (void)state;
    const char *in = "<s> Go Forward, TEN meters </s>";
    const char *want = "go forward ten meters";
    size_t n = strlen(want); /* 21 */
    char out[64];
    /* cap = len + 1: whole; cap = len: one byte short; cap = len - 1 */
    for (size_t cap = n + 2; cap + 2 > n && cap > 0; cap--) {
        memset(out, 'X', sizeof out);
        assert_int_equal(wer_normalise(in, strlen(in), out, cap), n);
        size_t kept = cap - 1 < n ? cap - 1 : n;
        assert_memory_equal(out, want, kept);
        assert_int_equal(out[kept], '\0');
        assert_int_equal(out[cap], 'X'); /* nothing written at or past cap */
    }
    memset(out, 'X', sizeof out);
    assert_int_equal(wer_normalise(in, strlen(in), out, 1), n);
    assert_int_equal(out[0], '\0');
    assert_int_equal(out[1], 'X');
    memset(out, 'X', sizeof out);
    assert_int_equal(wer_normalise(in, strlen(in), out, 0), n);
    assert_int_equal(out[0], 'X');
}

/* ---------- alignment ---------- */

typedef struct align_case {
    const char *ref, *hyp;
    uint64_t n, m, s, d, i;
} align_case;

static void check_case(const align_case *c, size_t k)
{
    wer_counts w;
    assert_int_equal(wer_align(c->ref, strlen(c->ref), c->hyp, strlen(c->hyp), &w), CS_OK);
    if (w.ref_words != c->n || w.hyp_words != c->m || w.substitutions != c->s ||
        w.deletions != c->d || w.insertions != c->i)
        fail_msg("case %zu \"%s\" / \"%s\": n %llu m %llu S %llu D %llu I %llu, expected "
                 "%llu %llu %llu %llu %llu",
                 k, c->ref, c->hyp, (unsigned long long)w.ref_words,
                 (unsigned long long)w.hyp_words, (unsigned long long)w.substitutions,
                 (unsigned long long)w.deletions, (unsigned long long)w.insertions,
                 (unsigned long long)c->n, (unsigned long long)c->m, (unsigned long long)c->s,
                 (unsigned long long)c->d, (unsigned long long)c->i);
    /* swapped: same S, D and I exchanged */
    wer_counts r;
    assert_int_equal(wer_align(c->hyp, strlen(c->hyp), c->ref, strlen(c->ref), &r), CS_OK);
    assert_int_equal(r.ref_words, c->m);
    assert_int_equal(r.hyp_words, c->n);
    assert_int_equal(r.substitutions, c->s);
    assert_int_equal(r.deletions, c->i);
    assert_int_equal(r.insertions, c->d);
}

static void test_align_textbook(void **state)
{
    (void)state;
    static const align_case cases[] = {
        /* ref, hyp, n, m, S, D, I */
        {"the cat sat", "the cat sat", 3, 3, 0, 0, 0},
        {"the cat sat", "the bat sat", 3, 3, 1, 0, 0},
        {"the cat sat", "the sat", 3, 2, 0, 1, 0},
        {"the cat sat", "the cat sat down", 3, 4, 0, 0, 1},
        {"the cat sat", "", 3, 0, 0, 3, 0},
        {"", "the cat", 0, 2, 0, 0, 2},
        {"", "", 0, 0, 0, 0, 0},
        {"a b c d", "x y", 4, 2, 2, 2, 0},
        {"a b", "b c", 2, 2, 2, 0, 0},     /* E = 2 both ways; most substitutions wins */
        {"a b c", "b c d", 3, 3, 0, 1, 1}, /* E = 2: D + I beats S + S + S */
        {"kitten sitting", "sitting kitten", 2, 2, 2, 0, 0},
        {"one two three four five", "one three five six", 5, 4, 2, 1, 0}, /* or D 2 I 1 */
        {"go forward ten meters", "go forward ten meters", 4, 4, 0, 0, 0},
        /* case, punctuation and markers do not count */
        {"<s> Go forward, ten meters. </s>", "go <sil> FORWARD ten meters", 4, 4, 0, 0, 0},
        /* repeated words */
        {"a a a a", "a a", 4, 2, 0, 2, 0},
        {"a b a b a b", "b a b a", 6, 4, 0, 2, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_case(&cases[k], k);
}

/* callgen truth texts against hypotheses as PocketSphinx writes them */
static void test_align_callgen_and_pocketsphinx(void **state)
{
    (void)state;
    static const align_case cases[] = {
        /* librivox-0920: truth (cg_bank text) vs the word segments of
         * `pocketsphinx_continuous -backtrace yes` on the clip (Debian model):
         * "a" deleted, "than he was" -> "many watts" */
        {"had he married a more a amiable woman he might have been made still more "
         "respectable than he was",
         "<s> had he married a more amiable woman he might have been(2) made still more "
         "respectable many watts </s>",
         19, 17, 2, 2, 0},
        /* cards-005 vs its pocketsphinx_continuous hypothesis; the backtrace has
         * <sil> segments between the words */
        {"eight of spades four of clubs seven of hearts",
         "<s> eight <sil> of spades for up close <sil> seven of hearts </s>", 9, 9, 3, 0, 0},
        /* librivox-0870 vs pocketsphinx_continuous (plain text output) */
        {"and mister john dashwood had then leisure to consider how much there might be "
         "prudently in his power to do for them",
         "and mr john guess what and then at leisure to consider how much there might be "
         "greatly in his power to do how about",
         22, 24, 6, 0, 2},
        /* a filler and a noise marker in a telephone hypothesis */
        {"ten of clubs", "[NOISE] ten of <sil> clubs [SPEECH]", 3, 3, 0, 0, 0},
        {"four queen of clubs", "for(2) queen of clubs", 4, 4, 1, 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        check_case(&cases[k], k);

    wer_counts w;
    assert_int_equal(
        wer_align(cases[0].ref, strlen(cases[0].ref), cases[0].hyp, strlen(cases[0].hyp), &w),
        CS_OK);
    assert_int_equal(wer_errors(&w), 4);
    assert_int_equal(wer_hits(&w), 15);
    assert_float_equal(wer_rate(&w), 4.0 / 19.0, 1e-12);
}

static void test_rate_and_corpus(void **state)
{
    (void)state;
    wer_counts z = {0};
    assert_float_equal(wer_rate(&z), 0.0, 0);
    wer_counts ins = {.ref_words = 0, .hyp_words = 3, .insertions = 3};
    assert_float_equal(wer_rate(&ins), 1.0, 0);
    wer_counts over = {.ref_words = 2, .hyp_words = 5, .substitutions = 2, .insertions = 3};
    assert_float_equal(wer_rate(&over), 2.5, 1e-12);
    assert_int_equal(wer_hits(&over), 0);

    /* corpus WER = sum of errors / sum of reference words, not the mean rate */
    static const char *ref[] = {"a b c d e f g h i j", "k"};
    static const char *hyp[] = {"a b c d e f g h i x", "z"};
    wer_counts acc = {0};
    double mean = 0;
    for (int k = 0; k < 2; k++) {
        wer_counts c;
        assert_int_equal(wer_align(ref[k], strlen(ref[k]), hyp[k], strlen(hyp[k]), &c), CS_OK);
        wer_counts_add(&acc, &c);
        mean += wer_rate(&c) / 2;
    }
    assert_int_equal(acc.ref_words, 11);
    assert_int_equal(acc.hyp_words, 11);
    assert_int_equal(acc.substitutions, 2);
    assert_int_equal(wer_errors(&acc), 2);
    assert_float_equal(wer_rate(&acc), 2.0 / 11.0, 1e-12);
    assert_float_equal(mean, 0.55, 1e-12);
}

static void test_align_errors_and_limits(void **state)
{
    (void)state;
    wer_counts w;
    assert_int_equal(wer_align("a", 1, "a", 1, NULL), CS_ERR_INVAL);
    assert_int_equal(wer_align(NULL, 1, "a", 1, &w), CS_ERR_INVAL);
    assert_int_equal(wer_align("a", 1, NULL, 1, &w), CS_ERR_INVAL);
    assert_int_equal(wer_align(NULL, 0, NULL, 0, &w), CS_OK);
    assert_int_equal(wer_errors(&w), 0);

    /* exactly WER_MAX_WORDS words: accepted; one more: CS_ERR_LIMIT */
    size_t len = 2 * (WER_MAX_WORDS + 1);
    char *t = malloc(len);
    assert_non_null(t);
    for (size_t k = 0; k < len; k += 2) {
        t[k] = 'a';
        t[k + 1] = ' ';
    }
    assert_int_equal(wer_align(t, 2 * WER_MAX_WORDS, "a b", 3, &w), CS_OK);
    assert_int_equal(w.ref_words, WER_MAX_WORDS);
    assert_int_equal(w.substitutions, 1);
    assert_int_equal(w.deletions, WER_MAX_WORDS - 2);
    assert_int_equal(wer_align(t, 2 * WER_MAX_WORDS - 1, "a b", 3, &w), CS_OK);
    assert_int_equal(wer_align(t, 2 * WER_MAX_WORDS + 1, "a b", 3, &w), CS_ERR_LIMIT);
    assert_int_equal(w.ref_words, WER_MAX_WORDS + 1);
    assert_int_equal(wer_errors(&w), 0);
    assert_int_equal(wer_align("a b", 3, t, 2 * WER_MAX_WORDS + 2, &w), CS_ERR_LIMIT);
    free(t);

    /* bytes: WER_MAX_TEXT of spaces is fine, one more byte is not */
    char *sp = malloc(WER_MAX_TEXT + 1);
    assert_non_null(sp);
    memset(sp, ' ', WER_MAX_TEXT + 1);
    assert_int_equal(wer_align(sp, WER_MAX_TEXT, "a", 1, &w), CS_OK);
    assert_int_equal(w.insertions, 1);
    assert_int_equal(wer_align(sp, WER_MAX_TEXT + 1, "a", 1, &w), CS_ERR_LIMIT);
    assert_int_equal(wer_align("a", 1, sp, WER_MAX_TEXT + 1, &w), CS_ERR_LIMIT);
    free(sp);
}

/* ---------- properties ---------- */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Independent reference: full-matrix Levenshtein over word indices. */
static size_t ref_lev(const int *a, size_t n, const int *b, size_t m)
{
    size_t *d = malloc((n + 1) * (m + 1) * sizeof *d);
    assert_non_null(d);
#define D(i, j) d[(i) * (m + 1) + (j)]
    for (size_t i = 0; i <= n; i++)
        D(i, 0) = i;
    for (size_t j = 0; j <= m; j++)
        D(0, j) = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t best = D(i - 1, j - 1) + (a[i - 1] != b[j - 1]);
            if (D(i - 1, j) + 1 < best)
                best = D(i - 1, j) + 1;
            if (D(i, j - 1) + 1 < best)
                best = D(i, j - 1) + 1;
            D(i, j) = best;
        }
    size_t r = D(n, m);
#undef D
    free(d);
    return r;
}

/* A text of n words from a 6-word vocabulary, with random decorations
 * (case, punctuation, markers) that normalisation removes. */
static size_t gen_text(uint32_t *seed, int *ids, size_t n, char *buf, size_t cap)
{
    static const char *vocab[] = {"ten", "of", "clubs", "go", "forward", "meters"};
    static const char *deco[] = {"", "<sil> ", "[NOISE] ", ", ", "  "};
    size_t o = 0;
    for (size_t k = 0; k < n; k++) {
        ids[k] = (int)(lcg(seed) % 6);
        const char *w = vocab[ids[k]];
        int up = lcg(seed) % 4 == 0;
        int alt = lcg(seed) % 5 == 0;
        o += (size_t)snprintf(buf + o, cap - o, "%s", deco[lcg(seed) % 5]);
        for (const char *p = w; *p; p++)
            buf[o++] = up ? (char)(*p - 'a' + 'A') : *p;
        o += (size_t)snprintf(buf + o, cap - o, "%s ", alt ? "(2)" : "");
    }
    buf[o] = '\0';
    return o;
}

static void test_properties(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    enum { MAXW = 40 };
    int a[MAXW], b[MAXW];
    char ta[MAXW * 24], tb[MAXW * 24];
    for (int round = 0; round < 3000; round++) {
        size_t n = lcg(&seed) % MAXW, m = lcg(&seed) % MAXW;
        size_t la = gen_text(&seed, a, n, ta, sizeof ta);
        size_t lb = gen_text(&seed, b, m, tb, sizeof tb);
        wer_counts w, r, self;
        assert_int_equal(wer_align(ta, la, tb, lb, &w), CS_OK);
        assert_int_equal(w.ref_words, n);
        assert_int_equal(w.hyp_words, m);
        uint64_t e = wer_errors(&w);
        assert_int_equal(e, ref_lev(a, n, b, m));
        assert_true(e >= (n > m ? n - m : m - n));
        assert_true(e <= (n > m ? n : m));
        assert_int_equal(w.ref_words, wer_hits(&w) + w.substitutions + w.deletions);
        assert_int_equal(w.hyp_words, wer_hits(&w) + w.substitutions + w.insertions);
        assert_int_equal(wer_align(tb, lb, ta, la, &r), CS_OK);
        assert_int_equal(r.substitutions, w.substitutions);
        assert_int_equal(r.deletions, w.insertions);
        assert_int_equal(r.insertions, w.deletions);
        assert_int_equal(wer_align(ta, la, ta, la, &self), CS_OK);
        assert_int_equal(wer_errors(&self), 0);
        assert_float_equal(wer_rate(&self), 0.0, 0);
    }
}

/* ---------- agreement with callgen's normalisation ---------- */

/* Every "<s> words </s> (id)" line of a testdata transcription file,
 * normalised by wer_normalise, must be the text of a clip in the bank. */
static size_t check_transcription(const cg_bank *bank, const char *path)
{
    size_t len = 0, lines = 0;
    char *data = ts_read_file(path, &len);
    assert_non_null(data);
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *paren = strrchr(line, '(');
        assert_non_null(paren);
        char *got = norm(line, (size_t)(paren - line));
        int found = 0;
        for (size_t k = 0; k < bank->n && !found; k++)
            found = strcmp(bank->clips[k].text, got) == 0;
        if (!found)
            fail_msg("%s: \"%s\" is in no clip of callgen's bank", path, got);
        free(got);
        lines++;
    }
    free(data);
    return lines;
}

static void test_callgen_agreement(void **state)
{
    (void)state;
    if (access(TESTDATA "/librivox/transcription", R_OK) != 0) {
        printf("# skip: %s missing (apt-get install pocketsphinx-testdata)\n", TESTDATA);
        skip();
    }
    cg_bank bank = {0};
    char err[256] = "";
    cg_bank_opts o = {0};
    int rc = cg_bank_load(&bank, &o, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("cg_bank_load: %s (%s)", cs_err_name(rc), err);
    assert_true(bank.n >= 12);
    size_t lines = check_transcription(&bank, TESTDATA "/librivox/transcription");
    lines += check_transcription(&bank, TESTDATA "/cards/cards.transcription");
    assert_int_equal(lines, 10);
    /* every bank text (tidigits, goforward too) is a fixed point */
    for (size_t k = 0; k < bank.n; k++) {
        char *t = norm(bank.clips[k].text, strlen(bank.clips[k].text));
        assert_string_equal(t, bank.clips[k].text);
        assert_true(t[0] != '\0');
        free(t);
    }
    printf("# %zu transcript lines agree with callgen's bank of %zu clips\n", lines, bank.n);
    cg_bank_free(&bank);
}

static void test_shared_transcripts(void **state)
{
    (void)state;
    char path[4096];
    if (!ts_shared_path(path, sizeof path, "speech/TRANSCRIPTS.tsv")) {
        printf("# skip: ../shared/data/speech not present\n");
        skip();
    }
    size_t len = 0, rows = 0;
    char *data = ts_read_file(path, &len);
    assert_non_null(data);
    char *save = NULL;
    for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *text = strrchr(line, '\t');
        assert_non_null(text);
        text++;
        if (strncmp(line, "file\t", 5) == 0)
            continue;
        char *t = norm(text, strlen(text));
        assert_string_equal(t, text);
        free(t);
        rows++;
    }
    free(data);
    assert_true(rows >= 20);
    printf("# %zu shared transcripts are in normal form\n", rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_table),
        cmocka_unit_test(test_normalise_nul_and_length),
        cmocka_unit_test(test_normalise_truncation),
        cmocka_unit_test(test_align_textbook),
        cmocka_unit_test(test_align_callgen_and_pocketsphinx),
        cmocka_unit_test(test_rate_and_corpus),
        cmocka_unit_test(test_align_errors_and_limits),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_callgen_agreement),
        cmocka_unit_test(test_shared_transcripts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
