/*
 * test_rtp_stats.c — rtp_stats_update: RFC 3550 A.1 sequence tracking,
 * A.3 loss, duplicates, reordering, wraps, SSRC change, resync, A.8 jitter.
 *
 * Each case of the table is a generated packet sequence (sequence number,
 * timestamp, SSRC, arrival) and the exact counters it must produce, with
 * the meanings documented in rtp.h. The jitter cases compare against values
 * worked out by hand from A.8 (in the comments). The last test prints the
 * cost of rtp_parse + rtp_stats_update per packet (no assertion).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rtp.h"

#define MAXP 4096

typedef struct pk {
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint64_t at; /* arrival, us */
} pk;

typedef struct seqbuf {
    pk p[MAXP];
    size_t n;
} seqbuf;

static void add(seqbuf *b, uint32_t seq, uint32_t ssrc)
{
    assert_true(b->n < MAXP);
    pk *p = &b->p[b->n];
    p->seq = (uint16_t)seq;
    p->ts = (uint32_t)seq * 160u;
    p->ssrc = ssrc;
    p->at = 1000000 + (uint64_t)b->n * 20000;
    b->n++;
}

static void add_run(seqbuf *b, uint32_t from, uint32_t count, uint32_t ssrc)
{
    for (uint32_t i = 0; i < count; i++)
        add(b, from + i, ssrc);
}

static void add_list(seqbuf *b, const int *seqs, uint32_t ssrc)
{
    for (; *seqs >= 0; seqs++)
        add(b, (uint32_t)*seqs, ssrc);
}

/* --- generators -------------------------------------------------------- */

static void g_in_order(seqbuf *b)
{
    add_run(b, 1000, 100, 1);
}

/* 200 sent, every packet with i % 33 == 16 dropped: 16 49 82 115 148 181. */
static void g_loss3(seqbuf *b)
{
    for (uint32_t i = 0; i < 200; i++)
        if (i % 33 != 16)
            add(b, 5000 + i, 1);
}

static void g_reorder(seqbuf *b)
{
    static const int s[] = {0, 1, 2, 4, 3, 5, 6, 8, 7, 9, -1};
    add_list(b, s, 1);
}

static void g_dups(seqbuf *b)
{
    static const int s[] = {0, 1, 2, 2, 3, 3, 3, 4, -1};
    add_list(b, s, 1);
}

static void g_late_dup(seqbuf *b)
{
    static const int s[] = {0, 1, 2, 3, 4, 5, 3, 6, -1};
    add_list(b, s, 1);
}

static void g_wrap(seqbuf *b)
{
    add_run(b, 65530, 20, 7); /* 65530..65535, 0..13 */
}

static void g_wrap_loss(seqbuf *b)
{
    static const int s[] = {65533, 65534, 65535, 1, 2, 3, -1}; /* 0 lost */
    add_list(b, s, 7);
}

static void g_wrap_reorder(seqbuf *b)
{
    static const int s[] = {65533, 65534, 0, 65535, 1, 2, -1};
    add_list(b, s, 7);
}

/* SSRC A: 100..149 without 120; SSRC B: 5000..5049 without 5010. */
static void g_ssrc_change(seqbuf *b)
{
    for (uint32_t s = 100; s < 150; s++)
        if (s != 120)
            add(b, s, 0xaaaa);
    for (uint32_t s = 5000; s < 5050; s++)
        if (s != 5010)
            add(b, s, 0xbbbb);
}

/* Back to the first SSRC later: a change again, new epoch. */
static void g_ssrc_back(seqbuf *b)
{
    add_run(b, 10, 5, 1);
    add_run(b, 900, 5, 2);
    add_run(b, 15, 5, 1);
}

static void g_resync(seqbuf *b)
{
    add_run(b, 0, 50, 1);
    add_run(b, 20000, 50, 1);
}

static void g_stray(seqbuf *b)
{
    add_run(b, 0, 10, 1);
    add(b, 30000, 1);
    add_run(b, 10, 10, 1);
}

/* Dropout boundary: udelta 2999 is in order (2998 lost), 3000 is a jump. */
static void g_dropout_2999(seqbuf *b)
{
    static const int s[] = {0, 1, 3000, 3001, -1};
    add_list(b, s, 1);
}

static void g_dropout_3000(seqbuf *b)
{
    static const int s[] = {0, 1, 3001, 3002, -1};
    add_list(b, s, 1);
}

/* Misorder boundary: after 0..200 without 100, 101, a packet 99 behind the
 * highest (101) is late, one 100 behind (100) is a jump (stray). */
static void g_misorder(seqbuf *b)
{
    for (uint32_t s = 0; s <= 200; s++)
        if (s != 100 && s != 101)
            add(b, s, 1);
    add(b, 101, 1);
    add(b, 100, 1);
}

static void g_below_base(seqbuf *b)
{
    static const int s[] = {10, 11, 9, 12, -1};
    add_list(b, s, 1);
}

static void g_probation_dup(seqbuf *b)
{
    static const int s[] = {10, 10, 11, 12, -1};
    add_list(b, s, 1);
}

static void g_probation_restart(seqbuf *b)
{
    static const int s[] = {10, 50, 51, 52, -1};
    add_list(b, s, 1);
}

static void g_single(seqbuf *b)
{
    add(b, 7, 1);
}

/* Longer window test: 3000 in order, then a duplicate of the packet 1023
 * and 1024 before the highest: both are > MAX_MISORDER back (strays). */
static void g_long(seqbuf *b)
{
    add_run(b, 0, 3000, 1);
    add(b, 2999 - 50, 1); /* 50 back: duplicate */
    add(b, 2999, 1);      /* the highest again: duplicate */
}

typedef struct stats_case {
    const char *name;
    void (*gen)(seqbuf *);
    uint64_t packets, duplicates, out_of_order, expected, lost, seq_jumps;
    uint32_t ssrc_changes;
} stats_case;

static const stats_case cases[] = {
    {"in order", g_in_order, 100, 0, 0, 100, 0, 0, 0},
    {"3% loss", g_loss3, 194, 0, 0, 200, 6, 0, 0},
    {"reorder", g_reorder, 10, 0, 2, 10, 0, 0, 0},
    {"duplicates", g_dups, 8, 3, 0, 5, 0, 0, 0},
    {"late duplicate", g_late_dup, 8, 1, 0, 7, 0, 0, 0},
    {"seq wrap", g_wrap, 20, 0, 0, 20, 0, 0, 0},
    {"seq wrap with loss", g_wrap_loss, 6, 0, 0, 7, 1, 0, 0},
    {"seq wrap reordered", g_wrap_reorder, 6, 0, 1, 6, 0, 0, 0},
    {"ssrc change", g_ssrc_change, 98, 0, 0, 100, 2, 0, 1},
    {"ssrc back", g_ssrc_back, 15, 0, 0, 15, 0, 0, 2},
    {"resync", g_resync, 100, 0, 0, 100, 0, 1, 0},
    {"stray jump", g_stray, 21, 0, 0, 20, 0, 0, 0},
    {"dropout 2999", g_dropout_2999, 4, 0, 0, 3002, 2998, 0, 0},
    {"dropout 3000", g_dropout_3000, 4, 0, 0, 2 + 2, 0, 1, 0},
    {"misorder 99/100", g_misorder, 201, 0, 1, 201, 1, 0, 0},
    {"late below base", g_below_base, 4, 0, 1, 4, 0, 0, 0},
    {"dup in probation", g_probation_dup, 4, 1, 0, 3, 0, 0, 0},
    {"probation restart", g_probation_restart, 4, 0, 0, 3, 0, 0, 0},
    {"single packet", g_single, 1, 0, 0, 0, 0, 0, 0},
    {"long + dups", g_long, 3002, 2, 0, 3000, 0, 0, 0},
};

static void run(const seqbuf *b, rtp_stream_stats *s, int rate, int audio)
{
    rtp_stats_init(s);
    for (size_t i = 0; i < b->n; i++) {
        rtp_hdr h;
        memset(&h, 0, sizeof h);
        h.seq = b->p[i].seq;
        h.ts = b->p[i].ts;
        h.ssrc = b->p[i].ssrc;
        h.payload_len = 160;
        rtp_stats_update(s, &h, b->p[i].at, rate, audio);
    }
}

static void test_table(void **state)
{
    (void)state;
    static seqbuf b;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const stats_case *c = &cases[i];
        b.n = 0;
        c->gen(&b);
        rtp_stream_stats s;
        run(&b, &s, 8000, 1);
#define CHECK(field)                                                                               \
    if (s.field != c->field)                                                                       \
        fail_msg("%s: " #field " = %llu, want %llu", c->name, (unsigned long long)s.field,         \
                 (unsigned long long)c->field);
        CHECK(packets)
        CHECK(duplicates)
        CHECK(out_of_order)
        CHECK(expected)
        CHECK(lost)
        CHECK(seq_jumps)
        CHECK(ssrc_changes)
#undef CHECK
        assert_int_equal(s.bytes, 160 * c->packets);
        assert_int_equal(s.ssrc, b.p[b.n - 1].ssrc);
        assert_int_equal(s.first_us, 1000000);
        assert_int_equal(s.last_us, 1000000 + (b.n - 1) * 20000);
        assert_int_equal(s.max_gap_us, b.n > 1 ? 20000 : 0);
    }
}

/* Loss counted while the stream runs: the public fields are current after
 * every packet. */
static void test_running_counters(void **state)
{
    (void)state;
    rtp_stream_stats s;
    rtp_stats_init(&s);
    static const int seqs[] = {1, 2, 5, 3, 4};
    static const uint64_t want_lost[] = {0, 0, 2, 1, 0};
    for (int i = 0; i < 5; i++) {
        rtp_hdr h = {0};
        h.seq = (uint16_t)seqs[i];
        h.ssrc = 9;
        rtp_stats_update(&s, &h, 100 + (uint64_t)i, 0, 1);
        assert_int_equal(s.lost, want_lost[i]);
    }
    assert_int_equal(s.out_of_order, 2);
    assert_true(s.jitter_ts == 0.0); /* clock rate 0: no jitter */
}

static void feed_timed(rtp_stream_stats *s, uint16_t seq, uint32_t ts, uint64_t at, int audio)
{
    rtp_hdr h = {0};
    h.seq = seq;
    h.ts = ts;
    h.ssrc = 0x55;
    rtp_stats_update(s, &h, at, 8000, audio);
}

static void test_jitter_periodic(void **state)
{
    (void)state;
    rtp_stream_stats s;
    /* 20 ms / 160 units, timestamps wrapping past 2^32 midway */
    rtp_stats_init(&s);
    uint32_t ts = 0xffffffffu - 160u * 25u;
    for (int i = 0; i < 50; i++, ts += 160)
        feed_timed(&s, (uint16_t)(65500 + i), ts, 1700000000000000ull + (uint64_t)i * 20000, 1);
    assert_true(s.jitter_ts == 0.0);
    assert_true(s.max_jitter_ms == 0.0);
    assert_int_equal(s.expected, 50);
    assert_int_equal(s.lost, 0);
}

/*
 * Sent every 20 ms (160 units); arrival delay alternates 0, 10 ms, 0, 10 ms,
 * 0: each D = +-10 ms = +-80 units. A.8 by hand:
 *   J1 = 0 + (80 - 0)/16             = 5
 *   J2 = 5 + (80 - 5)/16             = 9.6875
 *   J3 = 9.6875 + (80 - 9.6875)/16   = 14.08203125
 *   J4 = 14.08203125 + 65.91796875/16 = 18.201904296875
 * (= 80 * (1 - (15/16)^4)); in ms: /8 = 2.275238037109375.
 */
static void test_jitter_alternating(void **state)
{
    (void)state;
    rtp_stream_stats s;
    rtp_stats_init(&s);
    static const double want[] = {0, 5, 9.6875, 14.08203125, 18.201904296875};
    uint32_t ts = 0xfffffe00u; /* wraps after the second packet */
    for (int i = 0; i < 5; i++, ts += 160) {
        uint64_t at = 5000000 + (uint64_t)i * 20000 + (i % 2 ? 10000 : 0);
        feed_timed(&s, (uint16_t)(100 + i), ts, at, 1);
        if (fabs(s.jitter_ts - want[i]) > 1e-9)
            fail_msg("packet %d: jitter %.12f, want %.12f", i, s.jitter_ts, want[i]);
    }
    assert_true(fabs(s.jitter_ms - 2.275238037109375) < 1e-9);
    assert_true(fabs(s.max_jitter_ms - 2.275238037109375) < 1e-9);
    /* a non-audio packet (DTMF) with a wild timestamp does not move it */
    feed_timed(&s, 105, 12345, 5000000 + 5 * 20000, 0);
    assert_true(fabs(s.jitter_ts - want[4]) < 1e-9);
    /* a duplicate does not move it either */
    feed_timed(&s, 104, ts - 160, 5000000 + 5 * 20000 + 500, 1);
    assert_true(fabs(s.jitter_ts - want[4]) < 1e-9);
    assert_int_equal(s.duplicates, 1);
}

/* An SSRC change forgets the previous packet (new timestamp base): no spike. */
static void test_jitter_ssrc_change(void **state)
{
    (void)state;
    rtp_stream_stats s;
    rtp_stats_init(&s);
    rtp_hdr h = {0};
    for (int i = 0; i < 10; i++) {
        h.seq = (uint16_t)i;
        h.ts = 160u * (uint32_t)i;
        h.ssrc = i < 5 ? 1 : 2;
        if (i >= 5)
            h.ts += 0x40000000u;
        rtp_stats_update(&s, &h, (uint64_t)i * 20000, 8000, 1);
    }
    assert_true(s.jitter_ts == 0.0);
    assert_int_equal(s.ssrc_changes, 1);
    assert_int_equal(s.expected, 10);
}

static void test_gap_and_backwards_time(void **state)
{
    (void)state;
    rtp_stream_stats s;
    rtp_stats_init(&s);
    feed_timed(&s, 1, 160, 1000, 1);
    feed_timed(&s, 2, 320, 21000, 1);
    feed_timed(&s, 3, 480, 521000, 1); /* 500 ms gap */
    feed_timed(&s, 4, 640, 400000, 1); /* clock went back: no interval */
    feed_timed(&s, 5, 800, 541000, 1);
    assert_int_equal(s.max_gap_us, 500000);
    assert_int_equal(s.first_us, 1000);
    assert_int_equal(s.last_us, 541000);
}

/* Hot path cost, printed only. */
static void test_speed(void **state)
{
    (void)state;
    uint8_t pkt[172];
    memset(pkt, 0xd5, sizeof pkt);
    pkt[0] = 0x80;
    pkt[1] = 0x08;
    pkt[8] = 0x12;
    rtp_stream_stats s;
    rtp_stats_init(&s);
    const uint32_t n = 20000000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint32_t i = 0; i < n; i++) {
        pkt[2] = (uint8_t)(i >> 8);
        pkt[3] = (uint8_t)i;
        uint32_t ts = i * 160;
        pkt[4] = (uint8_t)(ts >> 24);
        pkt[5] = (uint8_t)(ts >> 16);
        pkt[6] = (uint8_t)(ts >> 8);
        pkt[7] = (uint8_t)ts;
        rtp_hdr h;
        if (rtp_parse(pkt, sizeof pkt, &h) == 0)
            rtp_stats_update(&s, &h, (uint64_t)i * 20000 + (i & 7), 8000, 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
    printf("rtp_parse + rtp_stats_update: %.1f ns/packet (%.1f M packets/s), lost %llu\n", ns,
           1e3 / ns, (unsigned long long)s.lost);
    assert_int_equal(s.packets, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_running_counters),
        cmocka_unit_test(test_jitter_periodic),
        cmocka_unit_test(test_jitter_alternating),
        cmocka_unit_test(test_jitter_ssrc_change),
        cmocka_unit_test(test_gap_and_backwards_time),
        cmocka_unit_test(test_speed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
