/*
 * fuzz_vad.c — libFuzzer target for decode/vad.c.
 *
 * Input: a 3-byte header, then little-endian int16 samples (an odd last byte
 * is ignored).
 *   byte 0: bit 0 rate 8000 / 16000; bits 1-2 frame_ms 10, 20, 30, 10;
 *           bit 3 edge parameters (onset, hangover, min segment and merge gap
 *           0, margin 3 dB, min_dbfs -90); bit 4 tile: the samples are
 *           repeated, separated by digital silence, up to 3 s, so the noise
 *           floor, hangover and merge logic see seconds of structure;
 *           bits 5-7: right shift of every sample (quiet input)
 *   byte 1: seed of the block sizes of the second, chunked run (1..4096)
 *   byte 2: tile: length of each silence in units of 10 ms
 *
 * The same audio is run twice — in one vad_feed and in pseudo-random blocks —
 * and must give identical segments. Invariants (abort on violation):
 * 0 <= start < end <= duration (rounded up to the ms), segments in order and
 * apart by at least merge_gap_ms, every segment at least min_segment_ms long,
 * the channel as given, a finite noise floor, frame and sample counters
 * consistent with the input.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "vad.h"

#define TILE_MAX_S 3

static void check(const vad_params *p, int rate, size_t n, const vad_seglist *l)
{
    int64_t dur = (int64_t)((n * 1000 + (size_t)rate - 1) / (size_t)rate);
    for (size_t i = 0; i < l->len; i++) {
        const vad_segment *s = &l->v[i];
        if (s->channel != 7 || s->start_ms < 0 || s->end_ms <= s->start_ms || s->end_ms > dur)
            abort();
        if (s->end_ms - s->start_ms < p->min_segment_ms)
            abort();
        if (i > 0 && s->start_ms < l->v[i - 1].end_ms + p->merge_gap_ms)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint8_t h = data[0];
    int rate = (h & 1) ? 16000 : 8000;
    static const int64_t frames[4] = {10, 20, 30, 10};
    vad_params p;
    vad_params_default(&p);
    p.frame_ms = frames[(h >> 1) & 3];
    if (h & 8) {
        p.onset_ms = p.hangover_ms = p.min_segment_ms = p.merge_gap_ms = 0;
        p.margin_db = 3.;
        p.min_dbfs = -90.;
    }
    int shift = h >> 5;
    size_t ns = (size - 3) / 2;
    const uint8_t *raw = data + 3;

    size_t cap = ns;
    size_t gap = (size_t)data[2] * (size_t)rate / 100;
    if ((h & 16) && ns > 0)
        cap = (size_t)rate * TILE_MAX_S;
    int16_t *x = malloc((cap ? cap : 1) * sizeof *x);
    if (!x)
        return 0;
    size_t n = 0;
    do {
        for (size_t i = 0; i < ns && n < cap; i++) {
            int16_t s = (int16_t)(uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
            x[n++] = (int16_t)(s >> shift);
        }
        for (size_t i = 0; i < gap && n < cap; i++)
            x[n++] = 0;
    } while ((h & 16) && ns > 0 && n < cap);

    vad_seglist whole = {0}, chunked = {0};
    if (vad_run(&p, rate, 7, x, n, &whole) != CS_OK)
        abort();
    check(&p, rate, n, &whole);

    vad *v = NULL;
    if (vad_new(&p, rate, 7, vad_seglist_add, &chunked, &v) != CS_OK)
        abort();
    uint32_t seed = data[1] * 2654435761u + 1;
    for (size_t off = 0; off < n;) {
        seed = seed * 1664525u + 1013904223u;
        size_t k = 1 + (seed >> 20) % 4096;
        if (k > n - off)
            k = n - off;
        if (vad_feed(v, x + off, k) != CS_OK)
            abort();
        off += k;
    }
    if (vad_finish(v) != CS_OK)
        abort();
    vad_stats st;
    vad_get_stats(v, &st);
    vad_free(v);
    size_t flen = (size_t)rate * (size_t)p.frame_ms / 1000;
    if (st.samples != n || st.frames != (n + flen - 1) / flen || st.active_frames > st.frames ||
        !isfinite(st.floor_dbfs) || st.segments != chunked.len)
        abort();
    if (whole.len != chunked.len)
        abort();
    for (size_t i = 0; i < whole.len; i++)
        if (whole.v[i].start_ms != chunked.v[i].start_ms ||
            whole.v[i].end_ms != chunked.v[i].end_ms)
            abort();
    vad_seglist_free(&whole);
    vad_seglist_free(&chunked);
    free(x);
    return 0;
}
