/*
 * test_fcr.c — first-call resolution (scoring/fcr.c).
 *
 * Pairs of calls from one ANI at gaps from minutes to days (the spread of
 * callgen's repeat scenario: 1-50 min, 1-20 h, 1-6 d, plus the boundaries
 * 15 min, 24 h, 72 h, 7 d exactly and one µs below) against the 24 h, 72 h
 * and 7 d windows, each expectation written out by hand; pending before the
 * window passes and a later call turning pending into repeat; continuation
 * chains and a continuation judged from its own time; anonymous and
 * unanswered calls; same-queue grouping; argument errors; the ANI
 * classifier; and 20 000 random histories against a quadratic reference.
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
#include "fcr.h"

#define MIN  SC_US_PER_MIN
#define HOUR SC_US_PER_HOUR
#define DAY  SC_US_PER_DAY
#define T0   ((int64_t)1700000000 * 1000000) /* 2023-11-14, any origin works */
#define N(a) (sizeof(a) / sizeof((a)[0]))

static sc_fcr_params params(int64_t window, int64_t now)
{
    sc_fcr_params p = sc_fcr_params_default(now);
    p.window_us = window;
    return p;
}

/* 'C': the second call continues the first (both resolved, no link);
 * 'R': the second repeats the first; 'N': outside the window (both resolved). */
static void test_pairs_by_window(void **state)
{
    (void)state;
    static const struct {
        int64_t gap;
        char w24, w72, w7d;
    } rows[] = {
        {1 * MIN, 'C', 'C', 'C'},      {5 * MIN, 'C', 'C', 'C'},
        {15 * MIN - 1, 'C', 'C', 'C'}, {15 * MIN, 'R', 'R', 'R'},
        {50 * MIN, 'R', 'R', 'R'},     {1 * HOUR, 'R', 'R', 'R'},
        {20 * HOUR, 'R', 'R', 'R'},    {24 * HOUR - 1, 'R', 'R', 'R'},
        {24 * HOUR, 'N', 'R', 'R'},    {30 * HOUR, 'N', 'R', 'R'},
        {2 * DAY, 'N', 'R', 'R'},      {72 * HOUR - 1, 'N', 'R', 'R'},
        {72 * HOUR, 'N', 'N', 'R'},    {4 * DAY, 'N', 'N', 'R'},
        {6 * DAY, 'N', 'N', 'R'},      {7 * DAY - 1, 'N', 'N', 'R'},
        {7 * DAY, 'N', 'N', 'N'},      {30 * DAY, 'N', 'N', 'N'},
    };
    const int64_t windows[] = {SC_FCR_WINDOW_24H_US, SC_FCR_WINDOW_72H_US, SC_FCR_WINDOW_7D_US};
    for (size_t r = 0; r < N(rows); r++) {
        for (size_t w = 0; w < 3; w++) {
            char want = w == 0 ? rows[r].w24 : w == 1 ? rows[r].w72 : rows[r].w7d;
            sc_fcr_call c[2] = {{T0, 1, 1, 0}, {T0 + rows[r].gap, 1, 1, 0}};
            sc_fcr_params p = params(windows[w], T0 + 100 * DAY);
            sc_fcr_result o[2];
            assert_int_equal(sc_fcr_decide(c, 2, &p, o), CS_OK);
            assert_int_equal(o[1].status, SC_FCR_RESOLVED);
            assert_int_equal(o[1].repeated_by, -1);
            assert_int_equal(o[0].repeat_of, -1);
            assert_int_equal(o[0].continuation_of, -1);
            assert_int_equal(o[0].due_us, T0 + windows[w]);
            assert_int_equal(o[1].due_us, T0 + rows[r].gap + windows[w]);
            if (want == 'R') {
                assert_int_equal(o[0].status, SC_FCR_REPEAT);
                assert_int_equal(o[0].repeated_by, 1);
                assert_int_equal(o[1].repeat_of, 0);
                assert_int_equal(o[1].continuation_of, -1);
            } else {
                assert_int_equal(o[0].status, SC_FCR_RESOLVED);
                assert_int_equal(o[0].repeated_by, -1);
                assert_int_equal(o[1].repeat_of, -1);
                assert_int_equal(o[1].continuation_of, want == 'C' ? 0 : -1);
            }
        }
    }
}

static void test_pending(void **state)
{
    (void)state;
    sc_fcr_call c[2] = {{T0, 1, 1, 0}, {T0 + 2 * HOUR, 1, 1, 0}};
    sc_fcr_result o[2];
    /* one hour after the first call, before the second: pending */
    sc_fcr_params p = params(SC_FCR_WINDOW_24H_US, T0 + HOUR);
    assert_int_equal(sc_fcr_decide(c, 1, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_PENDING);
    assert_int_equal(o[0].due_us, T0 + 24 * HOUR);
    /* the second call arrives: the first becomes a repeat at once */
    p.now_us = T0 + 3 * HOUR;
    assert_int_equal(sc_fcr_decide(c, 2, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_REPEAT);
    assert_int_equal(o[1].status, SC_FCR_PENDING);
    /* just before / at the second call's due time */
    p.now_us = T0 + 26 * HOUR - 1;
    assert_int_equal(sc_fcr_decide(c, 2, &p, o), CS_OK);
    assert_int_equal(o[1].status, SC_FCR_PENDING);
    p.now_us = T0 + 26 * HOUR;
    assert_int_equal(sc_fcr_decide(c, 2, &p, o), CS_OK);
    assert_int_equal(o[1].status, SC_FCR_RESOLVED);
    /* a single call: pending until invite + window, resolved from then on */
    p.now_us = T0 + 24 * HOUR - 1;
    assert_int_equal(sc_fcr_decide(c, 1, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_PENDING);
    p.now_us = T0 + 24 * HOUR;
    assert_int_equal(sc_fcr_decide(c, 1, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_RESOLVED);
    /* the default window is 7 days */
    p = sc_fcr_params_default(T0 + 6 * DAY);
    assert_int_equal(sc_fcr_decide(c, 1, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_PENDING);
    assert_int_equal(o[0].due_us, T0 + 7 * DAY);
    /* due time saturates instead of overflowing */
    sc_fcr_call late = {INT64_MAX - HOUR, 1, 1, 0};
    assert_int_equal(sc_fcr_decide(&late, 1, &p, o), CS_OK);
    assert_int_equal(o[0].due_us, INT64_MAX);
    assert_int_equal(o[0].status, SC_FCR_PENDING);
}

static void test_continuations(void **state)
{
    (void)state;
    /* a chain 0, 10, 20, 30 min, then a new contact at 3 h */
    sc_fcr_call c[5] = {{T0, 1, 1, 0},
                        {T0 + 10 * MIN, 1, 1, 0},
                        {T0 + 20 * MIN, 1, 1, 0},
                        {T0 + 30 * MIN, 1, 1, 0},
                        {T0 + 3 * HOUR, 1, 1, 0}};
    sc_fcr_result o[5];
    sc_fcr_params p = params(SC_FCR_WINDOW_24H_US, T0 + 100 * DAY);
    assert_int_equal(sc_fcr_decide(c, 5, &p, o), CS_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(o[i].status, SC_FCR_REPEAT);
        assert_int_equal(o[i].repeated_by, 4);
        assert_int_equal(o[i].repeat_of, -1);
        assert_int_equal(o[i].continuation_of, i - 1);
    }
    assert_int_equal(o[4].status, SC_FCR_RESOLVED);
    assert_int_equal(o[4].repeat_of, 3);
    assert_int_equal(o[4].continuation_of, -1);
    /* without the 3 h call: a continuation does not make a repeat */
    assert_int_equal(sc_fcr_decide(c, 4, &p, o), CS_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(o[i].status, SC_FCR_RESOLVED);
    /* continuation judged from its own time: 0, 10 min, 24 h 5 min */
    sc_fcr_call d[3] = {
        {T0, 1, 1, 0}, {T0 + 10 * MIN, 1, 1, 0}, {T0 + 24 * HOUR + 5 * MIN, 1, 1, 0}};
    assert_int_equal(sc_fcr_decide(d, 3, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_RESOLVED); /* 24 h 5 min after it */
    assert_int_equal(o[1].status, SC_FCR_REPEAT);   /* 23 h 55 min after it */
    assert_int_equal(o[1].repeated_by, 2);
    assert_int_equal(o[2].repeat_of, 1);
    /* continuation gap 0: every call is a contact */
    p.continuation_us = 0;
    assert_int_equal(sc_fcr_decide(c, 5, &p, o), CS_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(o[i].repeated_by, i + 1);
        assert_int_equal(o[i + 1].repeat_of, i);
    }
    /* same instant, gap 0: still a contact (a repeat) */
    sc_fcr_call same[2] = {{T0, 1, 1, 0}, {T0, 1, 1, 0}};
    assert_int_equal(sc_fcr_decide(same, 2, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_REPEAT);
}

static void test_anonymous_and_unanswered(void **state)
{
    (void)state;
    /* answered 0; unanswered 2 h; anonymous 3 h; answered 30 h */
    sc_fcr_call c[4] = {{T0, 1, 1, 0},
                        {T0 + 2 * HOUR, 1, 0, 0},
                        {T0 + 3 * HOUR, 1, 1, 1},
                        {T0 + 30 * HOUR, 1, 1, 0}};
    sc_fcr_result o[4];
    sc_fcr_params p = params(SC_FCR_WINDOW_24H_US, T0 + 100 * DAY);
    assert_int_equal(sc_fcr_decide(c, 4, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_RESOLVED);
    assert_int_equal(o[1].status, SC_FCR_NOT_APPLICABLE);
    assert_int_equal(o[2].status, SC_FCR_NOT_APPLICABLE);
    assert_int_equal(o[3].status, SC_FCR_RESOLVED);
    assert_int_equal(o[1].due_us, 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(o[i].repeated_by, -1);
        assert_int_equal(o[i].repeat_of, -1);
        assert_int_equal(o[i].continuation_of, -1);
    }
    /* 72 h: the answered ones link across the skipped calls */
    p.window_us = SC_FCR_WINDOW_72H_US;
    assert_int_equal(sc_fcr_decide(c, 4, &p, o), CS_OK);
    assert_int_equal(o[0].repeated_by, 3);
    assert_int_equal(o[3].repeat_of, 0);
    /* an unanswered call 5 min after does not hide a repeat at 20 min as a
     * continuation: continuation is measured between contacts */
    sc_fcr_call d[3] = {{T0, 1, 1, 0}, {T0 + 5 * MIN, 1, 0, 0}, {T0 + 20 * MIN, 1, 1, 0}};
    assert_int_equal(sc_fcr_decide(d, 3, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_REPEAT);
    assert_int_equal(o[0].repeated_by, 2);
    /* all withheld: nothing to decide */
    sc_fcr_call e[2] = {{T0, 1, 1, 1}, {T0 + HOUR, 1, 1, 1}};
    assert_int_equal(sc_fcr_decide(e, 2, &p, o), CS_OK);
    assert_int_equal(o[0].status, SC_FCR_NOT_APPLICABLE);
    assert_int_equal(o[1].status, SC_FCR_NOT_APPLICABLE);
}

static void test_same_queue(void **state)
{
    (void)state;
    /* q1 at 0, q2 at 2 h, q1 at 5 h, q2 at 5 h 5 min */
    sc_fcr_call c[4] = {{T0, 1, 1, 0},
                        {T0 + 2 * HOUR, 2, 1, 0},
                        {T0 + 5 * HOUR, 1, 1, 0},
                        {T0 + 5 * HOUR + 5 * MIN, 2, 1, 0}};
    sc_fcr_result o[4];
    sc_fcr_params p = params(SC_FCR_WINDOW_24H_US, T0 + 100 * DAY);
    assert_int_equal(sc_fcr_decide(c, 4, &p, o), CS_OK); /* any queue */
    assert_int_equal(o[0].repeated_by, 1);
    assert_int_equal(o[1].repeated_by, 2);
    assert_int_equal(o[2].status, SC_FCR_RESOLVED);
    assert_int_equal(o[3].continuation_of, 2); /* 5 min after call 2 */
    assert_int_equal(o[3].status, SC_FCR_RESOLVED);
    p.same_queue = 1;
    assert_int_equal(sc_fcr_decide(c, 4, &p, o), CS_OK);
    assert_int_equal(o[0].repeated_by, 2);
    assert_int_equal(o[2].repeat_of, 0);
    assert_int_equal(o[1].repeated_by, 3);
    assert_int_equal(o[3].repeat_of, 1);
    assert_int_equal(o[3].continuation_of, -1); /* call 2 is another queue */
    assert_int_equal(o[2].status, SC_FCR_RESOLVED);
    assert_int_equal(o[3].status, SC_FCR_RESOLVED);
    /* negative and extreme queue ids sort correctly */
    sc_fcr_call d[3] = {
        {T0, INT64_MIN, 1, 0}, {T0 + HOUR, INT64_MAX, 1, 0}, {T0 + 2 * HOUR, INT64_MIN, 1, 0}};
    assert_int_equal(sc_fcr_decide(d, 3, &p, o), CS_OK);
    assert_int_equal(o[0].repeated_by, 2);
    assert_int_equal(o[1].status, SC_FCR_RESOLVED);
}

static void test_errors_and_names(void **state)
{
    (void)state;
    sc_fcr_call c[2] = {{T0 + 1, 1, 1, 0}, {T0, 1, 1, 0}};
    sc_fcr_result o[2];
    sc_fcr_params p = params(SC_FCR_WINDOW_24H_US, T0);
    assert_int_equal(sc_fcr_decide(c, 2, &p, o), CS_ERR_INVAL); /* out of order */
    assert_int_equal(sc_fcr_decide(c, 1, &p, o), CS_OK);
    assert_int_equal(sc_fcr_decide(NULL, 0, &p, NULL), CS_OK);
    assert_int_equal(sc_fcr_decide(NULL, 1, &p, o), CS_ERR_INVAL);
    assert_int_equal(sc_fcr_decide(c, 1, &p, NULL), CS_ERR_INVAL);
    assert_int_equal(sc_fcr_decide(c, 1, NULL, o), CS_ERR_INVAL);
    p.window_us = 0;
    assert_int_equal(sc_fcr_decide(c, 1, &p, o), CS_ERR_INVAL);
    p.window_us = HOUR;
    p.continuation_us = -1;
    assert_int_equal(sc_fcr_decide(c, 1, &p, o), CS_ERR_INVAL);
    assert_string_equal(sc_fcr_status_name(SC_FCR_RESOLVED), "resolved");
    assert_string_equal(sc_fcr_status_name(SC_FCR_REPEAT), "repeat");
    assert_string_equal(sc_fcr_status_name(SC_FCR_PENDING), "pending");
    assert_string_equal(sc_fcr_status_name(SC_FCR_NOT_APPLICABLE), "not_applicable");
    assert_string_equal(sc_fcr_status_name((sc_fcr_status)42), "unknown");
    p = sc_fcr_params_default(5);
    assert_int_equal(p.window_us, 7 * DAY);
    assert_int_equal(p.continuation_us, 15 * MIN);
    assert_int_equal(p.same_queue, 0);
    assert_int_equal(p.now_us, 5);
}

static void test_ani(void **state)
{
    (void)state;
    static const char *const anon[] = {
        NULL,          "",        "   ",     "anonymous",  "Anonymous", "RESTRICTED",
        "unavailable", "Private", "unknown", " withheld ", "0",         "0000000000",
        "+0",          "+000",    "+"};
    static const char *const real[] = {"+14155550100", "4155550100", "100",  "0049301234",
                                       "01",           "anonymous1", "anon", "private line",
                                       "+1",           "sip",        "10"};
    for (size_t i = 0; i < N(anon); i++) {
        if (!sc_ani_is_anonymous(anon[i]))
            fail_msg("\"%s\" should be anonymous", anon[i] ? anon[i] : "(null)");
    }
    for (size_t i = 0; i < N(real); i++) {
        if (sc_ani_is_anonymous(real[i]))
            fail_msg("\"%s\" should not be anonymous", real[i]);
    }
    /* "00" is all zeros: withheld */
    assert_true(sc_ani_is_anonymous("00"));
}

/* ---------- random histories vs a quadratic reference ---------- */

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int eligible(const sc_fcr_call *c)
{
    return c->answered && !c->anonymous;
}

static int same_group(const sc_fcr_call *a, const sc_fcr_call *b, const sc_fcr_params *p)
{
    return !p->same_queue || a->queue_id == b->queue_id;
}

/* The previous eligible call of i's group, or -1. */
static ptrdiff_t ref_prev(const sc_fcr_call *c, size_t i, const sc_fcr_params *p)
{
    for (size_t j = i; j-- > 0;)
        if (eligible(&c[j]) && same_group(&c[j], &c[i], p))
            return (ptrdiff_t)j;
    return -1;
}

static void reference(const sc_fcr_call *c, size_t n, const sc_fcr_params *p, sc_fcr_result *o)
{
    for (size_t i = 0; i < n; i++) {
        o[i] = (sc_fcr_result){SC_FCR_NOT_APPLICABLE, -1, -1, -1, 0};
        if (!eligible(&c[i]))
            continue;
        ptrdiff_t pr = ref_prev(c, i, p);
        if (pr >= 0 && c[i].invite_us - c[pr].invite_us < p->continuation_us)
            o[i].continuation_of = pr;
    }
    for (size_t i = 0; i < n; i++) {
        if (!eligible(&c[i]))
            continue;
        o[i].due_us = c[i].invite_us + p->window_us;
        o[i].status = p->now_us < o[i].due_us ? SC_FCR_PENDING : SC_FCR_RESOLVED;
        for (size_t j = i + 1; j < n; j++) {
            if (!eligible(&c[j]) || !same_group(&c[i], &c[j], p) || o[j].continuation_of >= 0)
                continue;
            if (c[j].invite_us - c[i].invite_us < p->window_us) {
                o[i].status = SC_FCR_REPEAT;
                o[i].repeated_by = (ptrdiff_t)j;
            }
            break;
        }
    }
    for (size_t j = 0; j < n; j++) {
        if (!eligible(&c[j]) || o[j].continuation_of >= 0)
            continue;
        ptrdiff_t pr = ref_prev(c, j, p);
        if (pr >= 0 && o[pr].repeated_by == (ptrdiff_t)j)
            o[j].repeat_of = pr;
    }
}

static void test_random_vs_reference(void **state)
{
    (void)state;
    uint64_t s = 424242;
    sc_fcr_call c[60];
    sc_fcr_result got[60], want[60];
    static const int64_t gaps[] = {0,         3 * MIN,   14 * MIN, 15 * MIN, 40 * MIN, 5 * HOUR,
                                   20 * HOUR, 24 * HOUR, 2 * DAY,  3 * DAY,  6 * DAY,  8 * DAY};
    size_t counts[4] = {0};
    for (int it = 0; it < 20000; it++) {
        size_t n = rng(&s) % 60;
        int64_t t = T0;
        for (size_t i = 0; i < n; i++) {
            t += gaps[rng(&s) % N(gaps)] + (int64_t)(rng(&s) % 3) - 1;
            if (i > 0 && t < c[i - 1].invite_us)
                t = c[i - 1].invite_us;
            c[i] = (sc_fcr_call){t, (int64_t)(rng(&s) % 3), rng(&s) % 6 != 0, rng(&s) % 10 == 0};
        }
        static const int64_t windows[] = {SC_FCR_WINDOW_24H_US, SC_FCR_WINDOW_72H_US,
                                          SC_FCR_WINDOW_7D_US};
        sc_fcr_params p = params(windows[rng(&s) % 3], t - (int64_t)(rng(&s) % (8 * DAY)));
        p.same_queue = (int)(rng(&s) % 2);
        p.continuation_us = (rng(&s) % 4) ? 15 * MIN : (int64_t)(rng(&s) % HOUR);
        assert_int_equal(sc_fcr_decide(c, n, &p, got), CS_OK);
        reference(c, n, &p, want);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(got[i].status, want[i].status);
            assert_int_equal(got[i].repeated_by, want[i].repeated_by);
            assert_int_equal(got[i].repeat_of, want[i].repeat_of);
            assert_int_equal(got[i].continuation_of, want[i].continuation_of);
            assert_int_equal(got[i].due_us, want[i].due_us);
            /* the schema's constraints hold */
            assert_true(got[i].repeated_by < 0 || got[i].status == SC_FCR_REPEAT);
            assert_true(got[i].status != SC_FCR_PENDING || got[i].due_us > p.now_us);
            counts[got[i].status]++;
        }
    }
    printf("statuses: not_applicable %zu pending %zu resolved %zu repeat %zu\n", counts[0],
           counts[1], counts[2], counts[3]);
    for (int k = 0; k < 4; k++)
        assert_true(counts[k] > 1000); /* every branch exercised */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_by_window),
        cmocka_unit_test(test_pending),
        cmocka_unit_test(test_continuations),
        cmocka_unit_test(test_anonymous_and_unanswered),
        cmocka_unit_test(test_same_queue),
        cmocka_unit_test(test_errors_and_names),
        cmocka_unit_test(test_ani),
        cmocka_unit_test(test_random_vs_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
