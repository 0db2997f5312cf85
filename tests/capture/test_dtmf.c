/*
 * test_dtmf.c — rtp_dtmf_update / rtp_dtmf_flush on hand-built RFC 4733
 * packet sequences.
 *
 * Each case is a list of telephone-event packets (timestamp, marker, event,
 * E bit, duration, arrival in ms) and the presses it must produce, printed
 * as "digit@start_ms/duration_ms[E]" (E: an end packet was seen) and joined
 * by spaces, flush included. The rules under test are the ones written in
 * rtp.h above rtp_dtmf_update().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "rtp.h"

typedef struct ev_pkt {
    uint32_t ts;
    int marker;
    int event;
    int end;
    int duration;
    int at_ms;
} ev_pkt;

/* Each list ends with event -1. */

/* A normal press of 5 at ts 8000: start with marker, 3 updates, 3 ends. */
static const ev_pkt p_normal[] = {
    {8000, 1, 5, 0, 160, 0},  {8000, 0, 5, 0, 320, 20}, {8000, 0, 5, 0, 480, 40},
    {8000, 0, 5, 0, 640, 60}, {8000, 0, 5, 1, 800, 80}, {8000, 0, 5, 1, 800, 81},
    {8000, 0, 5, 1, 800, 82}, {0, 0, -1, 0, 0, 0},
};

/* The start packet (marker) was lost: the press begins at the first update. */
static const ev_pkt p_lost_start[] = {
    {8000, 0, 7, 0, 320, 20}, {8000, 0, 7, 0, 480, 40}, {8000, 0, 7, 1, 640, 60},
    {8000, 0, 7, 1, 640, 61}, {8000, 0, 7, 1, 640, 62}, {0, 0, -1, 0, 0, 0},
};

/* All end packets of the first press lost: closed by the next press. The
 * second press also loses its ends: closed by the flush. */
static const ev_pkt p_lost_ends[] = {
    {1000, 1, 1, 0, 160, 0},   {1000, 0, 1, 0, 320, 20},  {1000, 0, 1, 0, 480, 40},
    {5000, 1, 2, 0, 160, 500}, {5000, 0, 2, 0, 320, 520}, {0, 0, -1, 0, 0, 0},
};

/* Two presses of the same digit back to back: different timestamps. */
static const ev_pkt p_same_digit_twice[] = {
    {1000, 1, 9, 0, 160, 0},   {1000, 0, 9, 1, 400, 50},  {1000, 0, 9, 1, 400, 51},
    {1000, 0, 9, 1, 400, 52},  {1800, 1, 9, 0, 160, 100}, {1800, 0, 9, 1, 400, 150},
    {1800, 0, 9, 1, 400, 151}, {1800, 0, 9, 1, 400, 152}, {0, 0, -1, 0, 0, 0},
};

/* Out of order: an end packet overtakes the last update; late updates and
 * late ends of the reported press are ignored. */
static const ev_pkt p_out_of_order[] = {
    {2000, 1, 11, 0, 160, 0},  {2000, 0, 11, 0, 320, 20}, {2000, 0, 11, 1, 640, 40},
    {2000, 0, 11, 0, 480, 41}, {2000, 0, 11, 1, 640, 42}, {2000, 0, 11, 1, 640, 43},
    {0, 0, -1, 0, 0, 0},
};

/* Duplicated packets (every packet twice). */
static const ev_pkt p_duplicates[] = {
    {3000, 1, 10, 0, 160, 0},  {3000, 1, 10, 0, 160, 0},  {3000, 0, 10, 0, 320, 20},
    {3000, 0, 10, 0, 320, 20}, {3000, 0, 10, 1, 480, 40}, {3000, 0, 10, 1, 480, 40},
    {3000, 0, 10, 1, 480, 41}, {3000, 0, 10, 1, 480, 41}, {0, 0, -1, 0, 0, 0},
};

/* Long press across the 16-bit duration (RFC 4733 2.5.1.3): the first
 * segment reaches 65535 without E, the next segment starts at ts + 65535
 * without marker: one press of (65535 + 1600) / 8 = 8391 ms. */
static const ev_pkt p_long_press[] = {
    {100, 1, 0, 0, 160, 0},
    {100, 0, 0, 0, 32000, 4000},
    {100, 0, 0, 0, 65535, 8192},
    {100 + 65535, 0, 0, 0, 800, 8292},
    {100 + 65535, 0, 0, 1, 1600, 8392},
    {100 + 65535, 0, 0, 1, 1600, 8393},
    {0, 0, -1, 0, 0, 0},
};

/* A new press right after the old one with a marker is not a segment. */
static const ev_pkt p_not_segment[] = {
    {100, 1, 4, 0, 800, 0},
    {900, 1, 4, 0, 160, 100},
    {900, 0, 4, 1, 320, 120},
    {0, 0, -1, 0, 0, 0},
};

/* The only packets of the second press are its end packets, and the first
 * press had no end: the first is returned, the second after its repeat. */
static const ev_pkt p_end_only_after_open[] = {
    {1000, 1, 3, 0, 160, 0},   {2000, 0, 6, 1, 400, 300}, {2000, 0, 6, 1, 400, 301},
    {2000, 0, 6, 1, 400, 302}, {0, 0, -1, 0, 0, 0},
};

/* Same as above, but the next thing after the lone end packet is a new
 * press (which is then itself returned by the flush). */
static const ev_pkt p_end_only_then_new[] = {
    {1000, 1, 3, 0, 160, 0},
    {2000, 0, 6, 1, 400, 300},
    {3000, 1, 8, 0, 160, 600},
    {0, 0, -1, 0, 0, 0},
};

/* Non-digit events (16 flash, 32 tone) are never reported, but still close
 * an open press. */
static const ev_pkt p_non_digit[] = {
    {1000, 1, 2, 0, 160, 0},    {2000, 1, 16, 0, 160, 100}, {2000, 0, 16, 1, 320, 120},
    {3000, 1, 32, 1, 160, 200}, {4000, 1, 12, 1, 240, 300}, {0, 0, -1, 0, 0, 0},
};

/* A stale packet (older timestamp) after a newer press is ignored, also
 * across the 32-bit timestamp wrap. */
static const ev_pkt p_stale_wrap[] = {
    {0xffffff00u, 1, 1, 1, 320, 0},   {0x00000100u, 1, 2, 0, 160, 100},
    {0xffffff00u, 0, 1, 1, 320, 101}, {0xfffffff0u, 1, 5, 1, 160, 102},
    {0x00000100u, 0, 2, 1, 480, 140}, {0, 0, -1, 0, 0, 0},
};

typedef struct dtmf_case {
    const char *name;
    const ev_pkt *pkts;
    const char *want;
} dtmf_case;

static const dtmf_case cases[] = {
    {"normal press", p_normal, "5@0/100E"},
    {"lost start", p_lost_start, "7@20/80E"},
    {"lost ends", p_lost_ends, "1@0/60 2@500/40"},
    {"same digit twice", p_same_digit_twice, "9@0/50E 9@100/50E"},
    {"out of order", p_out_of_order, "#@0/80E"},
    {"duplicates", p_duplicates, "*@0/60E"},
    {"long press", p_long_press, "0@0/8391E"},
    {"not a segment", p_not_segment, "4@0/100 4@100/40E"},
    {"end only after open", p_end_only_after_open, "3@0/20 6@300/50E"},
    {"end only then new", p_end_only_then_new, "3@0/20 6@300/50E 8@600/20"},
    {"non-digit events", p_non_digit, "2@0/20 A@300/30E"},
    {"stale and wrap", p_stale_wrap, "1@0/40E 2@100/60E"},
};

static void show(char *out, size_t cap, const rtp_dtmf_digit *d)
{
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s%c@%llu/%u%s", n ? " " : "", d->digit,
             (unsigned long long)(d->start_us / 1000), d->duration_ms, d->ended ? "E" : "");
}

static void run_case(const ev_pkt *pkts, char *out, size_t cap)
{
    rtp_dtmf d;
    rtp_dtmf_init(&d);
    out[0] = '\0';
    for (const ev_pkt *p = pkts; p->event >= 0; p++) {
        uint8_t pl[4] = {(uint8_t)p->event, (uint8_t)((p->end ? 0x80 : 0) | 10),
                         (uint8_t)(p->duration >> 8), (uint8_t)p->duration};
        rtp_hdr h;
        memset(&h, 0, sizeof h);
        h.marker = p->marker;
        h.pt = 101;
        h.ts = p->ts;
        h.ssrc = 0x1234;
        h.payload = pl;
        h.payload_len = sizeof pl;
        rtp_dtmf_digit done;
        if (rtp_dtmf_update(&d, &h, (uint64_t)p->at_ms * 1000, 8000, &done))
            show(out, cap, &done);
    }
    rtp_dtmf_digit done;
    if (rtp_dtmf_flush(&d, 8000, &done))
        show(out, cap, &done);
    /* a second flush finds nothing */
    assert_int_equal(rtp_dtmf_flush(&d, 8000, &done), 0);
}

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[512];
        run_case(cases[i].pkts, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name, out, cases[i].want);
    }
}

/* Payload shorter than an event block: ignored, state untouched. */
static void test_short_payload(void **state)
{
    (void)state;
    rtp_dtmf d;
    rtp_dtmf_init(&d);
    uint8_t pl[4] = {5, 0x8a, 0, 160};
    rtp_hdr h = {0};
    h.ts = 10;
    h.payload = pl;
    h.payload_len = 3;
    rtp_dtmf_digit done;
    assert_int_equal(rtp_dtmf_update(&d, &h, 0, 8000, &done), 0);
    assert_int_equal(rtp_dtmf_flush(&d, 8000, &done), 0);
    h.payload_len = 4;
    assert_int_equal(rtp_dtmf_update(&d, &h, 0, 8000, &done), 1);
    assert_int_equal(done.digit, '5');
    assert_int_equal(done.rtp_ts, 10);
    assert_int_equal(done.duration_ms, 20);
    /* clock rate 16000 halves the milliseconds; 0 means 8000 */
    h.ts = 20;
    assert_int_equal(rtp_dtmf_update(&d, &h, 0, 16000, &done), 1);
    assert_int_equal(done.duration_ms, 10);
    h.ts = 30;
    assert_int_equal(rtp_dtmf_update(&d, &h, 0, 0, &done), 1);
    assert_int_equal(done.duration_ms, 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_short_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
