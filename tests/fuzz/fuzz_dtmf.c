/*
 * fuzz_dtmf.c — libFuzzer target for sc_dtmf_mask (scoring/metrics.c) and
 * sc_ani_is_anonymous (scoring/fcr.c).
 *
 * Input: byte 0 = min_run (byte % 20), byte 1 = run gap (byte * 40 ms;
 * 255 = -1, "every key alone"), then 3 bytes per key press: the key byte
 * and a signed 16-bit time step in ms (little endian), so times go forward,
 * back, and repeat. At most FUZZ_MAX_KEYS keys. The whole input, as a
 * NUL-terminated string, also goes to sc_ani_is_anonymous.
 *
 * Invariants (abort on violation): the return is n; the output is n
 * printable characters from "0-9*#A-D?" and a NUL; keys that are not digits
 * 0-9 come out unchanged (uppercased a-d, '?' for other bytes); in every run
 * (reference split here, by |gap| <= run gap) with >= min_run digits,
 * exactly min(4, digits) digits stay clear and they are the last ones, and a
 * run with fewer keeps all; every cut (cap 1..n) is a NUL-terminated prefix
 * of the full output; masking the output again changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcr.h"
#include "metrics.h"

#define FUZZ_MAX_KEYS 2048

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char expect_key(unsigned char b)
{
    if (is_digit((char)b) || b == '*' || b == '#' || (b >= 'A' && b <= 'D'))
        return (char)b;
    if (b >= 'a' && b <= 'd')
        return (char)(b - 'a' + 'A');
    return '?';
}

static int close_enough(int64_t a, int64_t b, int64_t gap)
{
    int64_t d = a > b ? a - b : b - a; /* times stay within +-2^27 here */
    return gap >= 0 && d <= gap;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sc_dtmf ev[FUZZ_MAX_KEYS], again[FUZZ_MAX_KEYS];
    static char out[FUZZ_MAX_KEYS + 1], out2[FUZZ_MAX_KEYS + 1], cut[FUZZ_MAX_KEYS + 1];

    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    (void)sc_ani_is_anonymous(s);
    free(s);

    if (size < 2)
        return 0;
    int min_run = data[0] % 20;
    int64_t gap = data[1] == 255 ? -1 : (int64_t)data[1] * 40;
    size_t n = 0;
    int64_t t = 0;
    for (size_t i = 2; i + 3 <= size && n < FUZZ_MAX_KEYS; i += 3) {
        int16_t step = (int16_t)(uint16_t)(data[i + 1] | (data[i + 2] << 8));
        t += step;
        ev[n++] = (sc_dtmf){(char)data[i], t};
    }

    if (sc_dtmf_mask(ev, n, min_run, gap, out, sizeof out) != n || out[n] != '\0' ||
        strlen(out) != n)
        abort();
    for (size_t i = 0; i < n; i++) {
        char want = expect_key((unsigned char)ev[i].digit);
        if (is_digit(want) ? (out[i] != want && out[i] != '*') : out[i] != want)
            abort();
    }
    /* runs */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1, digits = is_digit(ev[i].digit);
        while (j < n && close_enough(ev[j].start_ms, ev[j - 1].start_ms, gap)) {
            digits += is_digit(ev[j].digit);
            j++;
        }
        int masked_run = digits >= (size_t)min_run;
        size_t seen = 0;
        for (size_t k = j; k-- > i;) {
            if (!is_digit(ev[k].digit))
                continue;
            int clear = out[k] == ev[k].digit;
            if (masked_run && (seen < 4) != clear)
                abort();
            if (!masked_run && !clear)
                abort();
            seen++;
        }
        i = j;
    }
    /* cuts */
    for (size_t cap = 1; cap <= n && cap <= 64; cap++) {
        if (sc_dtmf_mask(ev, n, min_run, gap, cut, cap) != n || strlen(cut) != cap - 1 ||
            memcmp(cut, out, cap - 1) != 0)
            abort();
    }
    if (sc_dtmf_mask(ev, n, min_run, gap, NULL, 0) != n)
        abort();
    /* idempotent (with min_run > 4; below it nothing is ever masked) */
    if (min_run > 4) {
        for (size_t i = 0; i < n; i++)
            again[i] = (sc_dtmf){out[i], ev[i].start_ms};
        if (sc_dtmf_mask(again, n, min_run, gap, out2, sizeof out2) != n || strcmp(out, out2) != 0)
            abort();
    }
    return 0;
}
