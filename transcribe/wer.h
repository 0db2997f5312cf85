/*
 * wer.h — word error rate: text normalisation and word-level Levenshtein
 * alignment, the project's one definition of how right a transcript is.
 *
 * Used by the accuracy benchmark (bench/wer), by the transcribe stage's
 * end-to-end test (transcript against callgen's truth) and by anything else
 * that compares a hypothesis with a reference. docs/wer.md has the details.
 *
 * Normalisation (wer_normalise), applied to both sides before aligning:
 *   - the text is split at whitespace (space, \t, \n, \v, \f, \r) into tokens;
 *   - a token of the form "word(N)" (N one or more digits, "word" not empty)
 *     loses the "(N)": PocketSphinx's alternate-pronunciation marker, "read(2)";
 *   - a token that then starts with '<' and ends with '>', or starts with '['
 *     and ends with ']' (at least 2 characters) is dropped: <s>, </s>, <sil>,
 *     [NOISE], [SPEECH], ...;
 *   - in what is left, apostrophes (') are dropped ("don't" -> "dont"), ASCII
 *     letters are lower-cased, ASCII letters and digits make words, and every
 *     other byte (punctuation, control bytes, bytes >= 0x80) separates words;
 *   - words are joined by single spaces, with no space at either end.
 * This is exactly callgen's normalisation of its truth texts
 * (tools/callgen/cg_voice.c, docs/callgen-audio.md "Text normalisation") plus
 * the two PocketSphinx rules ("(N)" suffixes and [...] fillers), which never
 * occur in callgen's sources; test_wer checks both agree on every clip of
 * callgen's bank. Normalising twice changes nothing.
 *
 * Alignment (wer_align): the minimum number of word substitutions (S),
 * deletions (D, reference words missing from the hypothesis) and insertions
 * (I, hypothesis words not in the reference) that turn the normalised
 * reference into the normalised hypothesis; errors = S + D + I. Among the
 * alignments with the fewest errors the one with the most substitutions is
 * reported, which fixes S, D and I uniquely (D - I = ref - hyp words), so
 * swapping reference and hypothesis swaps D and I and keeps S.
 * Time O(n * m) word comparisons, memory O(n + m) for the words plus
 * O(min(n, m)) for the dynamic programme.
 *
 * WER = errors / ref_words (wer_rate). With no reference words it is 0 when
 * the hypothesis is empty too and 1 otherwise (every hypothesised word is
 * wrong; a rate above 1 is possible only with reference words). Corpus WER
 * is the sum of the errors over the sum of the reference words: add each
 * utterance's counts with wer_counts_add and take wer_rate of the total (not
 * the mean of the per-utterance rates).
 *
 * Limits: each text at most WER_MAX_TEXT bytes and WER_MAX_WORDS words after
 * normalisation, else CS_ERR_LIMIT before anything is allocated for the
 * programme (so one alignment costs at most ~4 * 10^8 word comparisons).
 *
 * SECURITY: inputs are (pointer, length) byte strings of any content (a
 * recogniser's output, a TSV file); nothing reads past the length, NUL bytes
 * are ordinary separators, no locale is consulted.
 *
 * Ownership: no state, nothing global; wer_align allocates scratch memory
 * and frees it before returning. Pure functions, no logging.
 */
#ifndef CALLSCOPE_TRANSCRIBE_WER_H
#define CALLSCOPE_TRANSCRIBE_WER_H

#include <stddef.h>
#include <stdint.h>

/* Largest text wer_align accepts, per side, in bytes. */
#define WER_MAX_TEXT (4u << 20)
/* Largest number of normalised words wer_align accepts, per side. */
#define WER_MAX_WORDS 20000u

typedef struct wer_counts {
    uint64_t ref_words;     /* words in the normalised reference */
    uint64_t hyp_words;     /* words in the normalised hypothesis */
    uint64_t substitutions; /* S */
    uint64_t deletions;     /* D: reference words with no hypothesis word */
    uint64_t insertions;    /* I: hypothesis words with no reference word */
} wer_counts;

/* Normalises in[0..len) into out. Writes at most cap bytes including a
 * terminating NUL (nothing when cap is 0, truncated output otherwise, like
 * snprintf) and returns the length of the full normalised text (without the
 * NUL). The result is never longer than len, so cap = len + 1 always
 * suffices. in may be NULL when len is 0; out may be NULL when cap is 0. */
size_t wer_normalise(const char *in, size_t len, char *out, size_t cap);

/* Number of words of the normalised form of in[0..len). */
size_t wer_count_words(const char *in, size_t len);

/* Aligns the normalised forms of ref[0..ref_len) and hyp[0..hyp_len) and
 * fills *out (zeroed first). Returns CS_OK, CS_ERR_INVAL (out NULL, or a NULL
 * text with a non-zero length), CS_ERR_LIMIT (a text over WER_MAX_TEXT bytes
 * or WER_MAX_WORDS words; *out then holds only the word counts) or
 * CS_ERR_NOMEM. */
int wer_align(const char *ref, size_t ref_len, const char *hyp, size_t hyp_len, wer_counts *out);

/* S + D + I. */
uint64_t wer_errors(const wer_counts *c);
/* Reference words the alignment matched exactly: ref_words - S - D. */
uint64_t wer_hits(const wer_counts *c);
/* errors / ref_words; 0 or 1 with no reference words (see above). */
double wer_rate(const wer_counts *c);
/* acc += c, field by field (corpus totals). */
void wer_counts_add(wer_counts *acc, const wer_counts *c);

#endif
