/*
 * utf8.h — well-formed UTF-8, one sequence at a time, over (pointer, length).
 *
 * Used by the JSON writer (which replaces ill-formed input by U+FFFD, one per
 * maximal subpart, as Unicode recommends) and the strict JSON parser (which
 * rejects it). Well-formed sequences (Unicode Table 3-7, RFC 3629 section 4):
 *   00..7F | C2..DF 80..BF | E0 A0..BF 80..BF | E1..EC 80..BF 80..BF
 *   | ED 80..9F 80..BF | EE..EF 80..BF 80..BF | F0 90..BF 80..BF 80..BF
 *   | F1..F3 80..BF 80..BF 80..BF | F4 80..8F 80..BF 80..BF
 * Header only, no state.
 */
#ifndef CALLSCOPE_UTF8_H
#define CALLSCOPE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* cs_utf8_seq's answer when s[0, avail) is a well-formed prefix cut by the end. */
#define CS_UTF8_CUT ((size_t)-1)

/* Length (1..4) of the well-formed sequence at s[0, avail) (avail >= 1); 0
 * when it is ill-formed; CS_UTF8_CUT when the input ends inside a sequence that
 * was well-formed so far. For 0 and CS_UTF8_CUT, *sub (when not NULL) gets the
 * length of the maximal subpart (>= 1): the bytes one U+FFFD replaces. */
static inline size_t cs_utf8_seq(const uint8_t *s, size_t avail, size_t *sub)
{
    uint8_t c = s[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        if (sub)
            *sub = 1;
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xbf;
        if (i >= avail || s[i] < l || s[i] > h) {
            if (sub)
                *sub = i;
            return i >= avail ? CS_UTF8_CUT : 0;
        }
    }
    return need;
}

#endif
