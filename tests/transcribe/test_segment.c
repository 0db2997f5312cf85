/*
 * test_segment.c — decode spans from talk segments (transcribe/segment.c).
 *
 * Padding and clamping at 0 and at the channel's duration, merging of spans
 * closer than merge_gap_ms (and not of spans further apart), unsorted input
 * giving the sorted result, empty / inverted / out-of-range segments
 * ignored, long spans cut in a silent gap placed at a known time in real
 * samples (8 and 16 kHz), cuts at exactly max_ms without samples, and a
 * property run over pseudo-random plans (odd max_ms, samples shorter than
 * the channel, hostile values) checking that no span is ever longer than
 * max_ms, spans are sorted, disjoint, inside [0, duration] and cover every
 * talk segment.
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
#include "segment.h"
#include "testsupport.h"

static seg_params params(int64_t pad, int64_t gap, int64_t max)
{
    seg_params p;
    seg_params_default(&p);
    p.pad_ms = pad;
    p.merge_gap_ms = gap;
    p.max_ms = max;
    return p;
}

static size_t plan(const seg_params *p, const seg_span *talk, size_t n, int64_t dur,
                   const int16_t *pcm, size_t npcm, int rate, seg_span **out)
{
    size_t nout = 99;
    assert_int_equal(seg_plan(p, talk, n, dur, pcm, npcm, rate, out, &nout), CS_OK);
    assert_non_null(*out);
    return nout;
}

static void test_defaults(void **state)
{
    (void)state;
    seg_params p;
    seg_params_default(&p);
    assert_int_equal(p.pad_ms, 300);
    assert_int_equal(p.merge_gap_ms, 200);
    assert_int_equal(p.max_ms, 30000);
}

static void test_pad_and_clamp(void **state)
{
    (void)state;
    seg_params p = params(300, 200, 30000);
    seg_span talk[] = {{100, 500}, {5000, 6000}, {9800, 9900}};
    seg_span *o;
    size_t n = plan(&p, talk, 3, 10000, NULL, 0, 8000, &o);
    assert_int_equal(n, 3);
    assert_int_equal(o[0].start_ms, 0); /* 100 - 300 clamped */
    assert_int_equal(o[0].end_ms, 800);
    assert_int_equal(o[1].start_ms, 4700);
    assert_int_equal(o[1].end_ms, 6300);
    assert_int_equal(o[2].start_ms, 9500);
    assert_int_equal(o[2].end_ms, 10000); /* 9900 + 300 clamped */
    free(o);

    /* pad 0 keeps the segment as it is */
    p = params(0, 0, 30000);
    n = plan(&p, talk + 1, 1, 10000, NULL, 0, 8000, &o);
    assert_int_equal(n, 1);
    assert_int_equal(o[0].start_ms, 5000);
    assert_int_equal(o[0].end_ms, 6000);
    free(o);
}

static void test_merge(void **state)
{
    (void)state;
    seg_params p = params(300, 200, 30000);
    seg_span *o;
    /* padded: [700,2300) and [2300,3300): touching -> one */
    seg_span a[] = {{1000, 2000}, {2600, 3000}};
    size_t n = plan(&p, a, 2, 60000, NULL, 0, 8000, &o);
    assert_int_equal(n, 1);
    assert_int_equal(o[0].start_ms, 700);
    assert_int_equal(o[0].end_ms, 3300);
    free(o);
    /* padded: [700,2300) and [2400,3300): 100 ms apart -> one */
    seg_span b[] = {{1000, 2000}, {2700, 3000}};
    n = plan(&p, b, 2, 60000, NULL, 0, 8000, &o);
    assert_int_equal(n, 1);
    assert_int_equal(o[0].start_ms, 700);
    assert_int_equal(o[0].end_ms, 3300);
    free(o);
    /* padded: [700,2300) and [2600,3300): 300 ms apart -> two */
    seg_span c[] = {{1000, 2000}, {2900, 3000}};
    n = plan(&p, c, 2, 60000, NULL, 0, 8000, &o);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].end_ms, 2300);
    assert_int_equal(o[1].start_ms, 2600);
    free(o);
    /* one segment inside another, and a chain of three */
    seg_span d[] = {{1000, 5000}, {2000, 3000}, {5300, 5400}, {5800, 6000}, {9000, 9100}};
    p = params(0, 400, 30000);
    n = plan(&p, d, 5, 60000, NULL, 0, 8000, &o);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].start_ms, 1000);
    assert_int_equal(o[0].end_ms, 6000);
    assert_int_equal(o[1].start_ms, 9000);
    assert_int_equal(o[1].end_ms, 9100);
    free(o);
}

static void test_unsorted(void **state)
{
    (void)state;
    seg_params p = params(100, 200, 30000);
    seg_span sorted[] = {{1000, 1500}, {3000, 3200}, {3500, 4000}, {8000, 9000}, {20000, 20100}};
    seg_span shuffled[] = {{8000, 9000}, {3500, 4000}, {20000, 20100}, {1000, 1500}, {3000, 3200}};
    seg_span *a, *b;
    size_t na = plan(&p, sorted, 5, 30000, NULL, 0, 8000, &a);
    size_t nb = plan(&p, shuffled, 5, 30000, NULL, 0, 8000, &b);
    assert_int_equal(na, 4);
    assert_int_equal(nb, na);
    assert_memory_equal(a, b, na * sizeof *a);
    assert_int_equal(a[1].start_ms, 2900);
    assert_int_equal(a[1].end_ms, 4100);
    free(a);
    free(b);
}

static void test_empty_inverted_ignored(void **state)
{
    (void)state;
    seg_params p = params(300, 200, 30000);
    seg_span talk[] = {{500, 500}, {2000, 1000}, {-500, -100}, {12000, 13000}, {4000, 4100}};
    seg_span *o;
    /* empty, inverted, wholly before 0 after padding (ends at 200 > 0: kept
     * as [0,200)), beyond the duration (10 s) */
    size_t n = plan(&p, talk, 5, 10000, NULL, 0, 8000, &o);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].start_ms, 0);
    assert_int_equal(o[0].end_ms, 200);
    assert_int_equal(o[1].start_ms, 3700);
    assert_int_equal(o[1].end_ms, 4400);
    free(o);
    /* nothing at all */
    n = plan(&p, NULL, 0, 10000, NULL, 0, 8000, &o);
    assert_int_equal(n, 0);
    free(o);
    n = plan(&p, talk, 2, 10000, NULL, 0, 8000, &o);
    assert_int_equal(n, 0);
    free(o);
    /* a zero-length channel keeps nothing */
    n = plan(&p, talk + 4, 1, 0, NULL, 0, 8000, &o);
    assert_int_equal(n, 0);
    free(o);
}

static void test_invalid(void **state)
{
    (void)state;
    seg_params p = params(300, 200, 30000);
    seg_span t = {0, 1000};
    seg_span *o = (seg_span *)&t;
    size_t n = 7;
    int16_t pcm[16] = {0};
    assert_int_equal(seg_plan(NULL, &t, 1, 1000, NULL, 0, 8000, &o, &n), CS_ERR_INVAL);
    assert_int_equal(seg_plan(&p, NULL, 1, 1000, NULL, 0, 8000, &o, &n), CS_ERR_INVAL);
    assert_int_equal(seg_plan(&p, &t, 1, -1, NULL, 0, 8000, &o, &n), CS_ERR_INVAL);
    assert_int_equal(seg_plan(&p, &t, 1, 1000, pcm, 16, 44100, &o, &n), CS_ERR_INVAL);
    assert_int_equal(seg_plan(&p, &t, 1, 1000, NULL, 0, 8000, NULL, &n), CS_ERR_INVAL);
    p.max_ms = 1999;
    assert_int_equal(seg_plan(&p, &t, 1, 1000, NULL, 0, 8000, &o, &n), CS_ERR_INVAL);
    p = params(-1, 200, 30000);
    assert_int_equal(seg_plan(&p, &t, 1, 1000, NULL, 0, 8000, &o, &n), CS_ERR_INVAL);
    p = params(0, -1, 30000);
    assert_int_equal(seg_plan(&p, &t, 1, 1000, NULL, 0, 8000, &o, &n), CS_ERR_INVAL);
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Loud noise everywhere except silent gaps [g, g + glen) ms. */
static int16_t *noisy(int rate, int64_t dur_ms, const int64_t *gaps, size_t ngaps, int64_t glen,
                      size_t *n)
{
    size_t per_ms = (size_t)rate / 1000;
    *n = (size_t)dur_ms * per_ms;
    int16_t *pcm = malloc(*n * sizeof *pcm);
    assert_non_null(pcm);
    uint64_t s = 0x1234567;
    for (size_t i = 0; i < *n; i++)
        pcm[i] = (int16_t)((int)(rng(&s) % 16001) - 8000);
    for (size_t g = 0; g < ngaps; g++)
        for (size_t i = (size_t)gaps[g] * per_ms; i < (size_t)(gaps[g] + glen) * per_ms; i++)
            pcm[i] = (int16_t)((int)(rng(&s) % 7) - 3); /* faint, not digital silence */
    return pcm;
}

static void check_cut_in_gaps(int rate)
{
    const int64_t gaps[] = {20000, 46000};
    size_t npcm;
    int16_t *pcm = noisy(rate, 60000, gaps, 2, 400, &npcm);
    seg_params p = params(0, 200, 30000);
    seg_span talk = {0, 60000};
    seg_span *o;
    size_t n = plan(&p, &talk, 1, 60000, pcm, npcm, rate, &o);
    assert_int_equal(n, 3);
    assert_int_equal(o[0].start_ms, 0);
    /* the cut is the centre of a 20 ms frame lying wholly in the gap */
    assert_true(o[0].end_ms >= 20010 && o[0].end_ms <= 20390);
    assert_int_equal(o[1].start_ms, o[0].end_ms);
    assert_true(o[1].end_ms >= 46010 && o[1].end_ms <= 46390);
    assert_int_equal(o[2].start_ms, o[1].end_ms);
    assert_int_equal(o[2].end_ms, 60000);
    free(o);

    /* Without samples the same span is cut at exactly max_ms. */
    n = plan(&p, &talk, 1, 60000, NULL, 0, rate, &o);
    assert_int_equal(n, 2);
    assert_int_equal(o[0].start_ms, 0);
    assert_int_equal(o[0].end_ms, 30000);
    assert_int_equal(o[1].start_ms, 30000);
    assert_int_equal(o[1].end_ms, 60000);
    free(o);
    free(pcm);
}

static void test_cut_in_pause_8k(void **state)
{
    (void)state;
    check_cut_in_gaps(8000);
}

static void test_cut_in_pause_16k(void **state)
{
    (void)state;
    check_cut_in_gaps(16000);
}

static void test_cut_exact_without_pcm(void **state)
{
    (void)state;
    seg_params p = params(0, 0, 30000);
    seg_span talk = {5000, 75000};
    seg_span *o;
    size_t n = plan(&p, &talk, 1, 100000, NULL, 0, 8000, &o);
    assert_int_equal(n, 3);
    assert_int_equal(o[0].start_ms, 5000);
    assert_int_equal(o[0].end_ms, 35000);
    assert_int_equal(o[1].start_ms, 35000);
    assert_int_equal(o[1].end_ms, 65000);
    assert_int_equal(o[2].start_ms, 65000);
    assert_int_equal(o[2].end_ms, 75000);
    free(o);
    /* exactly max_ms long: not cut */
    talk = (seg_span){0, 30000};
    n = plan(&p, &talk, 1, 100000, NULL, 0, 8000, &o);
    assert_int_equal(n, 1);
    assert_int_equal(o[0].end_ms, 30000);
    free(o);
}

/* Samples that end before the cut window (a channel shorter than the talk
 * segments claim): the cut must still respect max_ms. */
static void test_cut_pcm_short(void **state)
{
    (void)state;
    size_t npcm;
    int16_t *pcm = noisy(8000, 10000, NULL, 0, 0, &npcm);
    seg_params p = params(0, 0, 20000);
    seg_span talk = {0, 50000};
    seg_span *o;
    size_t n = plan(&p, &talk, 1, 50000, pcm, npcm, 8000, &o);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        assert_true(o[i].end_ms - o[i].start_ms <= 20000);
    assert_int_equal(o[2].end_ms, 50000);
    free(o);
    free(pcm);
}

static void check_plan(const seg_params *p, const seg_span *talk, size_t nt, int64_t dur,
                       const seg_span *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_true(o[i].start_ms >= 0);
        assert_true(o[i].end_ms <= dur);
        assert_true(o[i].end_ms > o[i].start_ms);
        assert_true(o[i].end_ms - o[i].start_ms <= p->max_ms);
        if (i)
            assert_true(o[i].start_ms >= o[i - 1].end_ms);
    }
    /* every in-range talk millisecond is covered by a span */
    for (size_t k = 0; k < nt; k++) {
        int64_t a = talk[k].start_ms < 0 ? 0 : talk[k].start_ms;
        int64_t b = talk[k].end_ms > dur ? dur : talk[k].end_ms;
        for (int64_t t = a; t < b; t += 7) {
            int found = 0;
            for (size_t i = 0; i < n && !found; i++)
                found = t >= o[i].start_ms && t < o[i].end_ms;
            if (!found)
                fail_msg("talk ms %lld not in any span", (long long)t);
        }
    }
}

static void test_property_never_longer_than_max(void **state)
{
    (void)state;
    uint64_t s = 0xfeedbeefull;
    size_t npcm_full;
    const int64_t gaps[] = {7000, 33000, 61000};
    int16_t *pcm = noisy(8000, 120000, gaps, 3, 250, &npcm_full);
    for (int iter = 0; iter < 400; iter++) {
        seg_params p = params((int64_t)(rng(&s) % 2001), (int64_t)(rng(&s) % 3000),
                              2000 + (int64_t)(rng(&s) % 40000));
        if (iter % 3 == 0)
            p.max_ms = 2000 + (int64_t)(rng(&s) % 50) * 2 + 1; /* odd: cut not on the 10 ms grid */
        int64_t dur = 1 + (int64_t)(rng(&s) % 120000);
        size_t nt = rng(&s) % 12;
        seg_span talk[12];
        for (size_t k = 0; k < nt; k++) {
            int64_t a = (int64_t)(rng(&s) % 130000) - 5000, len = (int64_t)(rng(&s) % 60000);
            talk[k] = (seg_span){a, a + len};
        }
        /* samples: none, the whole channel, or only its first part */
        size_t npcm = 0;
        const int16_t *pc = NULL;
        switch (iter % 3) {
        case 1:
            pc = pcm;
            npcm = (size_t)dur * 8;
            break;
        case 2:
            pc = pcm;
            npcm = (size_t)(rng(&s) % ((uint64_t)dur * 8));
            break;
        default:
            break;
        }
        seg_span *o;
        size_t n = plan(&p, talk, nt, dur, pc, npcm, 8000, &o);
        check_plan(&p, talk, nt, dur, o, n);
        free(o);
    }
    /* hostile values: no overflow (UBSan), nothing outside [0, duration] */
    seg_span hostile[] = {{INT64_MIN, INT64_MAX}, {INT64_MAX - 10, INT64_MAX}, {INT64_MIN, 5}};
    seg_params p = params(2000, 10000, 120000);
    seg_span *o;
    size_t n = plan(&p, hostile, 3, 300000, NULL, 0, 8000, &o);
    assert_int_equal(n, 3);
    check_plan(&p, hostile, 0, 300000, o, n);
    assert_int_equal(o[0].start_ms, 0);
    assert_int_equal(o[2].end_ms, 300000);
    free(o);
    free(pcm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_pad_and_clamp),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_unsorted),
        cmocka_unit_test(test_empty_inverted_ignored),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_cut_in_pause_8k),
        cmocka_unit_test(test_cut_in_pause_16k),
        cmocka_unit_test(test_cut_exact_without_pcm),
        cmocka_unit_test(test_cut_pcm_short),
        cmocka_unit_test(test_property_never_longer_than_max),
    };
    return cmocka_run_group_tests(tests, 0, 0);
}
