/*
 * fuzz_wer.c — libFuzzer target for transcribe/wer.c.
 *
 * Input: byte 0 chooses where the rest is split: the reference is the first
 * floor(byte0 * (size - 1) / 255) bytes after it, the hypothesis the others.
 * Inputs over 4096 bytes are cut there (the alignment is quadratic by
 * design; WER_MAX_WORDS bounds it in production, this keeps runs fast).
 *
 * Invariants (abort on violation):
 *   normalisation: the result is no longer than the input, only [a-z0-9] and
 *   single inner spaces, idempotent, its word count is wer_count_words(),
 *   and a short cap gives a NUL-terminated prefix of the full result;
 *   alignment: CS_OK, word counts as counted, |n - m| <= S + D + I <=
 *   max(n, m), n = H + S + D and m = H + S + I with H >= 0, swapping the
 *   texts keeps S and swaps D and I, a text against itself has no error,
 *   and 0 <= WER, with WER <= 1 whenever m <= n.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "wer.h"

#define FUZZ_MAX 4096

static void check_norm(const char *in, size_t len)
{
    char out[FUZZ_MAX + 1], again[FUZZ_MAX + 1], part[FUZZ_MAX + 1];
    size_t n = wer_normalise(in, len, out, sizeof out);
    if (n > len || out[n] != '\0')
        abort();
    size_t words = 0;
    for (size_t i = 0; i < n; i++) {
        char c = out[i];
        if (c == ' ') {
            if (i == 0 || i + 1 == n || out[i + 1] == ' ')
                abort();
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            abort();
        if (i == 0 || out[i - 1] == ' ')
            words++;
    }
    if (words != wer_count_words(in, len))
        abort();
    if (wer_normalise(out, n, again, sizeof again) != n || memcmp(again, out, n + 1) != 0)
        abort();
    size_t cap = n / 2 + 1;
    memset(part, 'X', sizeof part);
    if (wer_normalise(in, len, part, cap) != n || part[cap - 1] != '\0' ||
        memcmp(part, out, cap - 1) != 0 || part[cap] != 'X')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (size > FUZZ_MAX)
        size = FUZZ_MAX;
    size_t body = size - 1;
    size_t k = (size_t)data[0] * body / 255;
    const char *ref = (const char *)data + 1, *hyp = ref + k;
    size_t rl = k, hl = body - k;

    check_norm(ref, rl);
    check_norm(hyp, hl);

    wer_counts w, r, self;
    if (wer_align(ref, rl, hyp, hl, &w) != CS_OK)
        abort();
    uint64_t n = w.ref_words, m = w.hyp_words, e = wer_errors(&w);
    if (n != wer_count_words(ref, rl) || m != wer_count_words(hyp, hl))
        abort();
    if (e < (n > m ? n - m : m - n) || e > (n > m ? n : m))
        abort();
    if (w.substitutions + w.deletions > n || w.substitutions + w.insertions > m)
        abort();
    if (n - w.substitutions - w.deletions != m - w.substitutions - w.insertions)
        abort();
    if (wer_align(hyp, hl, ref, rl, &r) != CS_OK || r.substitutions != w.substitutions ||
        r.deletions != w.insertions || r.insertions != w.deletions)
        abort();
    if (wer_align(ref, rl, ref, rl, &self) != CS_OK || wer_errors(&self) != 0)
        abort();
    double rate = wer_rate(&w);
    if (rate < 0 || (m <= n && rate > 1.0))
        abort();
    return 0;
}
