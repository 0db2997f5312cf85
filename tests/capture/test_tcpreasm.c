/*
 * test_tcpreasm.c — TCP reassembly of SIP streams, on hand-built segments.
 *
 * Each test builds pkt_info values by hand (what pkt_decode would report
 * for a TCP segment) and checks the messages handed to the callback — their
 * bytes, order and timestamps — and the counters: coalesced and split
 * messages (2, 3, 50 segments, byte by byte), out-of-order delivery,
 * retransmissions, overlaps, sequence wrap around 2^32, a lost segment (gap
 * then resync), hole timeout, flow eviction, the per-flow byte cap, idle
 * expiry, garbage then a message, keep-alives, SYN/FIN/RST handling, a
 * framing error from a huge Content-Length or header block.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "limits.h"
#include "tcpreasm.h"

#define MAXMSG 64

typedef struct got {
    size_t n;
    char *msg[MAXMSG];
    size_t len[MAXMSG];
    uint64_t ts[MAXMSG];
    uint16_t sport[MAXMSG];
} got;

static void collect(void *arg, uint64_t ts_us, const pkt_info *info, const uint8_t *msg, size_t len)
{
    got *g = arg;
    assert_true(g->n < MAXMSG);
    g->msg[g->n] = malloc(len + 1);
    assert_non_null(g->msg[g->n]);
    memcpy(g->msg[g->n], msg, len);
    g->msg[g->n][len] = '\0';
    g->len[g->n] = len;
    g->ts[g->n] = ts_us;
    g->sport[g->n] = info->sport;
    g->n++;
}

static void got_clear(got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->msg[i]);
    memset(g, 0, sizeof *g);
}

/* A SIP message with a body of body_len bytes ('a'..'z' repeating), tagged
 * so that each one is distinct. Returns its length; buf gets the bytes. */
static size_t mkmsg(char *buf, size_t cap, const char *start, int tag, size_t body_len)
{
    int n = snprintf(buf, cap,
                     "%s\r\nCall-ID: call-%d@example.com\r\nCSeq: %d INVITE\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     start, tag, tag, body_len);
    assert_true(n > 0 && (size_t)n + body_len < cap);
    for (size_t i = 0; i < body_len; i++)
        buf[(size_t)n + i] = (char)('a' + i % 26);
    buf[(size_t)n + body_len] = '\0';
    return (size_t)n + body_len;
}

#define INV   "INVITE sip:bob@example.com SIP/2.0"
#define OK200 "SIP/2.0 200 OK"

/* One segment of flow `flow` (client port 40000 + flow -> 5060). */
static int seg(tcpreasm *t, uint64_t ts, int flow, uint32_t seq, uint8_t flags, const void *data,
               size_t len)
{
    pkt_info in;
    memset(&in, 0, sizeof in);
    in.family = AF_INET;
    memcpy(in.src, "\x0a\x00\x00\x01", 4);
    memcpy(in.dst, "\x0a\x00\x00\x02", 4);
    in.proto = PKT_PROTO_TCP;
    in.sport = (uint16_t)(40000 + flow);
    in.dport = 5060;
    in.tcp_seq = seq;
    in.tcp_flags = flags;
    in.payload = data;
    in.payload_len = len;
    return tcpreasm_add(t, ts, &in);
}

/* The reverse direction of flow `flow`. */
static int seg_rev(tcpreasm *t, uint64_t ts, int flow, uint32_t seq, uint8_t flags,
                   const void *data, size_t len)
{
    pkt_info in;
    memset(&in, 0, sizeof in);
    in.family = AF_INET;
    memcpy(in.src, "\x0a\x00\x00\x02", 4);
    memcpy(in.dst, "\x0a\x00\x00\x01", 4);
    in.proto = PKT_PROTO_TCP;
    in.sport = 5060;
    in.dport = (uint16_t)(40000 + flow);
    in.tcp_seq = seq;
    in.tcp_flags = flags;
    in.payload = data;
    in.payload_len = len;
    return tcpreasm_add(t, ts, &in);
}

#define SYN 0x02
#define FIN 0x01
#define RST 0x04
#define ACK 0x10
#define PSH 0x08

static tcpreasm_stats stats(const tcpreasm *t)
{
    tcpreasm_stats s;
    tcpreasm_get_stats(t, &s);
    return s;
}

static void expect_msg(const got *g, size_t i, const char *want, size_t len)
{
    assert_true(i < g->n);
    assert_int_equal(g->len[i], len);
    assert_memory_equal(g->msg[i], want, len);
}

/* Opens flow `flow` with a SYN at isn; data then starts at isn + 1. */
static void open_flow(tcpreasm *t, int flow, uint32_t isn)
{
    assert_int_equal(seg(t, 1, flow, isn, SYN, NULL, 0), CS_OK);
}

static void test_coalesced(void **state)
{
    got g = {0};
    char a[512], b[512], both[1024];
    size_t la = mkmsg(a, sizeof a, INV, 1, 30), lb = mkmsg(b, sizeof b, OK200, 2, 0);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    memcpy(both, a, la);
    memcpy(both + la, b, lb);
    open_flow(t, 1, 1000);
    assert_int_equal(seg(t, 5, 1, 1001, ACK | PSH, both, la + lb), CS_OK);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 0, a, la);
    expect_msg(&g, 1, b, lb);
    assert_int_equal(g.ts[0], 5);
    assert_int_equal(g.sport[1], 40001);
    tcpreasm_stats s = stats(t);
    assert_int_equal(s.segments, 1);
    assert_int_equal(s.messages, 2);
    assert_int_equal(s.flows, 1);
    assert_int_equal(s.framing_errors + s.gaps + s.retransmitted + s.out_of_order, 0);
    tcpreasm_free(t);
    got_clear(&g);
}

/* One message (and the start of the next) cut into n nearly equal parts. */
static void split_n(size_t parts)
{
    got g = {0};
    char a[2048], b[512], all[4096];
    size_t la = mkmsg(a, sizeof a, INV, 7, 700), lb = mkmsg(b, sizeof b, OK200, 8, 3);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);
    assert_non_null(t);
    memcpy(all, a, la);
    memcpy(all + la, b, lb);
    size_t total = la + lb;

    open_flow(t, 1, 5000);
    uint32_t seq = 5001;
    size_t off = 0;
    for (size_t i = 0; i < parts; i++) {
        size_t end = total * (i + 1) / parts;
        size_t n = end - off;
        assert_int_equal(seg(t, 100 + i, 1, seq, ACK, all + off, n), CS_OK);
        /* The first message is out exactly when its last byte has arrived. */
        size_t want = (end >= la) + (end >= total);
        if (g.n != want)
            fail_msg("parts %zu: after part %zu (%zu bytes) %zu messages, want %zu", parts, i, end,
                     g.n, want);
        if (end >= la && off < la)
            assert_int_equal(g.ts[0], 100 + i);
        seq += (uint32_t)n;
        off = end;
    }
    expect_msg(&g, 0, a, la);
    expect_msg(&g, 1, b, lb);
    assert_int_equal(stats(t).messages, 2);
    assert_int_equal(stats(t).framing_errors, 0);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_split(void **state)
{
    (void)state;
    split_n(2);
    split_n(3);
    split_n(50);
}

static void test_byte_by_byte(void **state)
{
    got g = {0};
    char a[2048];
    size_t la = mkmsg(a, sizeof a, INV, 3, 100);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    open_flow(t, 2, 77);
    for (size_t i = 0; i < la; i++) {
        assert_int_equal(seg(t, 10 + i, 2, 78 + (uint32_t)i, ACK, a + i, 1), CS_OK);
        assert_int_equal(g.n, i + 1 == la ? 1 : 0);
    }
    expect_msg(&g, 0, a, la);
    assert_int_equal(g.ts[0], 10 + la - 1);
    assert_int_equal(stats(t).segments, la);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_out_of_order(void **state)
{
    got g = {0};
    char a[1024], b[1024], all[2048];
    size_t la = mkmsg(a, sizeof a, INV, 1, 200), lb = mkmsg(b, sizeof b, OK200, 2, 10);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    memcpy(all, a, la);
    memcpy(all + la, b, lb);
    size_t total = la + lb, q = total / 4;
    open_flow(t, 1, 0);
    /* Parts 4, 2, 3 then 1. */
    assert_int_equal(seg(t, 10, 1, 1 + (uint32_t)(3 * q), ACK, all + 3 * q, total - 3 * q), CS_OK);
    assert_int_equal(seg(t, 11, 1, 1 + (uint32_t)q, ACK, all + q, q), CS_OK);
    assert_int_equal(seg(t, 12, 1, 1 + (uint32_t)(2 * q), ACK, all + 2 * q, q), CS_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(stats(t).out_of_order, 3);
    assert_int_equal(seg(t, 13, 1, 1, ACK, all, q), CS_OK);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 0, a, la);
    expect_msg(&g, 1, b, lb);
    /* Each message carries the latest arrival among its bytes: the first was
     * completed by part 1; the second came in part 4 (and 3 if it starts there). */
    assert_true(la > 3 * q);
    assert_int_equal(g.ts[0], 13);
    assert_int_equal(g.ts[1], 10);
    tcpreasm_stats s = stats(t);
    assert_int_equal(s.gaps, 0);
    assert_int_equal(s.retransmitted, 0);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_retransmission(void **state)
{
    got g = {0};
    char a[1024], b[1024];
    size_t la = mkmsg(a, sizeof a, INV, 1, 50), lb = mkmsg(b, sizeof b, OK200, 2, 0);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    open_flow(t, 1, 100);
    assert_int_equal(seg(t, 2, 1, 101, ACK, a, la), CS_OK);
    assert_int_equal(seg(t, 3, 1, 101, ACK, a, la), CS_OK);           /* whole again */
    assert_int_equal(seg(t, 4, 1, 101 + 10, ACK, a + 10, 20), CS_OK); /* a middle part */
    assert_int_equal(g.n, 1);
    assert_int_equal(stats(t).retransmitted, 2);
    /* A queued segment retransmitted ahead of a hole: still one copy. */
    uint32_t s2 = 101 + (uint32_t)la;
    assert_int_equal(seg(t, 5, 1, s2 + 5, ACK, b + 5, lb - 5), CS_OK);
    assert_int_equal(seg(t, 6, 1, s2 + 5, ACK, b + 5, lb - 5), CS_OK);
    assert_int_equal(stats(t).retransmitted, 3);
    assert_int_equal(stats(t).out_of_order, 1);
    /* The SYN again (same ISN) changes nothing. */
    assert_int_equal(seg(t, 7, 1, 100, SYN, NULL, 0), CS_OK);
    assert_int_equal(seg(t, 8, 1, s2, ACK, b, 5), CS_OK);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 1, b, lb);
    assert_int_equal(g.ts[1], 8);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_overlap(void **state)
{
    got g = {0};
    char a[1024];
    size_t la = mkmsg(a, sizeof a, INV, 1, 300);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    assert_true(la > 400);
    open_flow(t, 1, 0);
    /* In-order overlap: [0,100) then [50,200). */
    assert_int_equal(seg(t, 2, 1, 1, ACK, a, 100), CS_OK);
    assert_int_equal(seg(t, 3, 1, 1 + 50, ACK, a + 50, 150), CS_OK);
    /* Queued overlaps: [300,350) [320,400) [250,330) [360,370), then [200,260). */
    assert_int_equal(seg(t, 4, 1, 1 + 300, ACK, a + 300, 50), CS_OK);
    assert_int_equal(seg(t, 5, 1, 1 + 320, ACK, a + 320, 80), CS_OK);
    assert_int_equal(seg(t, 6, 1, 1 + 250, ACK, a + 250, 80), CS_OK);
    assert_int_equal(seg(t, 7, 1, 1 + 360, ACK, a + 360, 10), CS_OK); /* covered */
    assert_int_equal(stats(t).retransmitted, 1);
    assert_int_equal(seg(t, 8, 1, 1 + 200, ACK, a + 200, 60), CS_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(seg(t, 9, 1, 1 + 390, ACK, a + 390, la - 390), CS_OK);
    assert_int_equal(g.n, 1);
    expect_msg(&g, 0, a, la);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_seq_wrap(void **state)
{
    got g = {0};
    char a[1024], b[1024], all[2048];
    size_t la = mkmsg(a, sizeof a, INV, 1, 40), lb = mkmsg(b, sizeof b, OK200, 2, 40);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    memcpy(all, a, la);
    memcpy(all + la, b, lb);
    const uint32_t isn = 0xFFFFFFFFu - 60; /* the first message crosses 2^32 */
    open_flow(t, 1, isn);
    uint32_t s0 = isn + 1;
    /* Second half first (its seq has wrapped to a small number), then the first. */
    size_t half = la + 10;
    assert_int_equal(seg(t, 2, 1, s0 + (uint32_t)half, ACK, all + half, la + lb - half), CS_OK);
    assert_true(s0 + (uint32_t)half < 1000);
    assert_int_equal(stats(t).out_of_order, 1);
    assert_int_equal(seg(t, 3, 1, s0, ACK, all, half), CS_OK);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 0, a, la);
    expect_msg(&g, 1, b, lb);
    /* Retransmission from before the wrap is recognised as old. */
    assert_int_equal(seg(t, 4, 1, s0, ACK, all, 20), CS_OK);
    assert_int_equal(stats(t).retransmitted, 1);
    assert_int_equal(g.n, 2);
    tcpreasm_free(t);
    got_clear(&g);
}

/* A lost segment: the partial message is given up when the queued bytes no
 * longer fit the flow limit; the stream resumes at the next message. */
static void test_lost_segment_limit(void **state)
{
    got g = {0};
    char a[4096], b[1024], c[1024];
    size_t la = mkmsg(a, sizeof a, INV, 1, 1500), lb = mkmsg(b, sizeof b, OK200, 2, 100),
           lc = mkmsg(c, sizeof c, "BYE sip:bob@example.com SIP/2.0", 3, 0);
    tcpreasm_limits lim = {.max_flows = 8, .max_flow_bytes = 1200, .idle_us = 1000000000};
    tcpreasm *t = tcpreasm_new(&lim, collect, &g);

    (void)state;
    assert_non_null(t);
    /* 500 in order + the rest of a queued fit; adding b does not. */
    assert_true(500 + (la - 1000) + 64 <= 1200 && 500 + (la - 1000) + lb > 1200);
    open_flow(t, 1, 0);
    uint32_t s = 1;
    assert_int_equal(seg(t, 2, 1, s, ACK, a, 500), CS_OK);
    /* a[500..1000) is lost; the rest of a, then b, then c arrive. */
    assert_int_equal(seg(t, 3, 1, s + 1000, ACK, a + 1000, la - 1000), CS_OK);
    assert_int_equal(stats(t).out_of_order, 1);
    assert_int_equal(stats(t).gaps, 0);
    uint32_t sb = s + (uint32_t)la;
    assert_int_equal(seg(t, 4, 1, sb, ACK, b, lb), CS_OK); /* does not fit: hole given up */
    assert_int_equal(stats(t).gaps, 1);
    assert_int_equal(g.n, 1);
    expect_msg(&g, 0, b, lb);
    assert_int_equal(g.ts[0], 4);
    assert_int_equal(seg(t, 5, 1, sb + (uint32_t)lb, ACK, c, lc), CS_OK);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 1, c, lc);
    tcpreasm_stats st = stats(t);
    assert_int_equal(st.framing_errors, 0);
    assert_int_equal(st.messages, 2);
    tcpreasm_free(t);
    got_clear(&g);
}

/* A hole open longer than hole_us is given up on the next segment, or by
 * tcpreasm_expire. */
static void test_lost_segment_timeout(void **state)
{
    got g = {0};
    char a[2048], b[1024], c[1024];
    size_t la = mkmsg(a, sizeof a, INV, 1, 300), lb = mkmsg(b, sizeof b, OK200, 2, 0),
           lc = mkmsg(c, sizeof c, OK200, 3, 0);
    tcpreasm_limits lim = {.idle_us = 60000000, .hole_us = 2000000};
    tcpreasm *t = tcpreasm_new(&lim, collect, &g);

    (void)state;
    assert_non_null(t);
    open_flow(t, 1, 0);
    uint32_t sb = 1 + (uint32_t)la, sc = sb + (uint32_t)lb;
    assert_int_equal(seg(t, 1000000, 1, 1, ACK, a, 100), CS_OK); /* rest of a lost */
    assert_int_equal(seg(t, 1500000, 1, sb, ACK, b, lb), CS_OK);
    assert_int_equal(g.n, 0);
    /* 2 s later than the hole opened: not yet (strictly more than hole_us). */
    tcpreasm_expire(t, 3500000);
    assert_int_equal(g.n, 0);
    assert_int_equal(seg(t, 3600000, 1, sc, ACK, c, lc), CS_OK);
    assert_int_equal(stats(t).gaps, 1);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 0, b, lb);
    expect_msg(&g, 1, c, lc);
    assert_int_equal(g.ts[0], 1500000); /* the time b arrived */
    assert_int_equal(g.ts[1], 3600000);

    /* The same through tcpreasm_expire, on flow 2. */
    open_flow(t, 2, 0);
    assert_int_equal(seg(t, 4000000, 2, 1, ACK, a, 100), CS_OK);
    assert_int_equal(seg(t, 4100000, 2, sb, ACK, b, lb), CS_OK);
    tcpreasm_expire(t, 6000000);
    assert_int_equal(g.n, 2);
    tcpreasm_expire(t, 6100001);
    assert_int_equal(g.n, 3);
    expect_msg(&g, 2, b, lb);
    assert_int_equal(g.sport[2], 40002);
    assert_int_equal(stats(t).gaps, 2);
    assert_int_equal(stats(t).flows, 2); /* not idle: kept */
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_flow_eviction(void **state)
{
    got g = {0};
    char a[1024];
    size_t la = mkmsg(a, sizeof a, INV, 1, 10);
    tcpreasm_limits lim = {.max_flows = 2};
    tcpreasm *t = tcpreasm_new(&lim, collect, &g);

    (void)state;
    assert_non_null(t);
    /* Flows 1 and 2 hold half a message each; flow 1 is touched last. */
    assert_int_equal(seg(t, 1, 1, 1000, SYN, NULL, 0), CS_OK);
    assert_int_equal(seg(t, 2, 2, 2000, SYN, NULL, 0), CS_OK);
    assert_int_equal(seg(t, 3, 2, 2001, ACK, a, 20), CS_OK);
    assert_int_equal(seg(t, 4, 1, 1001, ACK, a, 20), CS_OK);
    assert_int_equal(stats(t).flows, 2);
    /* Flow 3 evicts flow 2, the least recently used. */
    assert_int_equal(seg(t, 5, 3, 3000, SYN, NULL, 0), CS_OK);
    tcpreasm_stats s = stats(t);
    assert_int_equal(s.flows, 2);
    assert_int_equal(s.evicted, 1);
    assert_int_equal(seg(t, 6, 1, 1021, ACK, a + 20, la - 20), CS_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.sport[0], 40001);
    /* Flow 2 comes back mid-stream: its half message is skipped silently. */
    assert_int_equal(seg(t, 7, 2, 2021, ACK, a + 20, la - 20), CS_OK);
    assert_int_equal(g.n, 1);
    s = stats(t);
    assert_int_equal(s.evicted, 2);
    assert_int_equal(s.framing_errors, 0);
    /* A bare ACK of an unknown direction creates nothing. */
    assert_int_equal(seg(t, 8, 9, 1, ACK, NULL, 0), CS_OK);
    assert_int_equal(stats(t).flows, 2);
    tcpreasm_free(t);
    got_clear(&g);
}

/* The per-direction byte cap: a message larger than the flow may hold is
 * dropped (overflow) and the stream resumes at the next message. */
static void test_flow_byte_cap(void **state)
{
    got g = {0};
    char a[4096], b[1024], all[6000];
    size_t la = mkmsg(a, sizeof a, INV, 1, 2000), lb = mkmsg(b, sizeof b, OK200, 2, 5);
    tcpreasm_limits lim = {.max_flow_bytes = 1000};
    tcpreasm *t = tcpreasm_new(&lim, collect, &g);

    (void)state;
    assert_non_null(t);
    memcpy(all, a, la);
    memcpy(all + la, b, lb);
    open_flow(t, 1, 0);
    size_t off = 0;
    int limited = 0;
    while (off < la + lb) {
        size_t n = la + lb - off < 600 ? la + lb - off : 600;
        int rc = seg(t, 2, 1, 1 + (uint32_t)off, ACK, all + off, n);
        if (rc == CS_ERR_LIMIT)
            limited++;
        else
            assert_int_equal(rc, CS_OK);
        off += n;
    }
    assert_int_equal(limited, 1);
    tcpreasm_stats s = stats(t);
    assert_int_equal(s.overflow, 1);
    assert_int_equal(g.n, 1);
    expect_msg(&g, 0, b, lb);
    /* One in-order segment that is a whole message bigger than the cap is
     * still framed in place (nothing needs holding). */
    off = 1 + la + lb;
    assert_int_equal(seg(t, 3, 1, (uint32_t)off, ACK, a, la), CS_OK);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 1, a, la);
    /* Queued bytes count too: 600 + 600 queued ahead of a hole do not fit. */
    off += la;
    uint32_t base = (uint32_t)off;
    assert_int_equal(seg(t, 4, 1, base + 100, ACK, all + 100, 600), CS_OK);
    assert_int_equal(stats(t).gaps, 0);
    assert_int_equal(seg(t, 5, 1, base + 700, ACK, all + 700, 600), CS_OK);
    assert_int_equal(stats(t).gaps, 1);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_idle_expiry(void **state)
{
    got g = {0};
    char a[1024];
    size_t la = mkmsg(a, sizeof a, INV, 1, 10);
    tcpreasm_limits lim = {.idle_us = 1000};
    tcpreasm *t = tcpreasm_new(&lim, collect, &g);

    (void)state;
    assert_non_null(t);
    assert_int_equal(seg(t, 100, 1, 10, SYN, NULL, 0), CS_OK);
    assert_int_equal(seg(t, 200, 1, 11, ACK, a, 30), CS_OK);
    assert_int_equal(seg(t, 900, 2, 10, SYN, NULL, 0), CS_OK);
    tcpreasm_expire(t, 1200); /* flow 1 idle exactly 1000 us: kept */
    assert_int_equal(stats(t).flows, 2);
    tcpreasm_expire(t, 1201);
    assert_int_equal(stats(t).flows, 1);
    /* The rest of flow 1's message now starts a new mid-stream flow: skipped. */
    assert_int_equal(seg(t, 1300, 1, 41, ACK, a + 30, la - 30), CS_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(stats(t).framing_errors, 0);
    tcpreasm_expire(t, 100000);
    assert_int_equal(stats(t).flows, 0);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_garbage_then_message(void **state)
{
    got g = {0};
    char a[1024], buf[2048];
    size_t la = mkmsg(a, sizeof a, INV, 1, 10);
    static const char junk[] = "\x16\x03\x01\x02\x00GET / HTTP/1.1 \r\nsome: thing\r\n\r\nINVITE";
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    /* After a SYN the stream is in step: garbage is a framing error. */
    open_flow(t, 1, 0);
    memcpy(buf, junk, sizeof junk - 1);
    memcpy(buf + sizeof junk - 1, "\r\n", 2);
    memcpy(buf + sizeof junk + 1, a, la);
    size_t n = sizeof junk + 1 + la;
    assert_int_equal(seg(t, 2, 1, 1, ACK, buf, n), CS_ERR_MALFORMED);
    assert_int_equal(g.n, 1);
    expect_msg(&g, 0, a, la);
    assert_int_equal(stats(t).framing_errors, 1);
    /* Mid-stream (no SYN seen): the same bytes are skipped silently. */
    assert_int_equal(seg(t, 3, 2, 12345, ACK, buf, n), CS_OK);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 1, a, la);
    assert_int_equal(stats(t).framing_errors, 1);
    /* Garbage split so the candidate start line straddles segments. */
    assert_int_equal(seg(t, 4, 3, 500, ACK, "xx\r\nINV", 7), CS_OK);
    assert_int_equal(seg(t, 5, 3, 507, ACK, a + 3, la - 3), CS_OK);
    assert_int_equal(g.n, 3);
    expect_msg(&g, 2, a, la);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_keepalives(void **state)
{
    got g = {0};
    char a[1024], b[1024], buf[4096];
    size_t la = mkmsg(a, sizeof a, INV, 1, 10), lb = mkmsg(b, sizeof b, OK200, 1, 0);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    open_flow(t, 1, 0);
    assert_int_equal(seg(t, 2, 1, 1, ACK, "\r\n\r\n", 4), CS_OK); /* ping */
    size_t n = 0;
    memcpy(buf, a, la);
    n += la;
    memcpy(buf + n, "\r\n\r\n\r\n", 6);
    n += 6;
    memcpy(buf + n, b, lb);
    n += lb;
    memcpy(buf + n, "\r\n", 2);
    n += 2;
    assert_int_equal(seg(t, 3, 1, 5, ACK, buf, n), CS_OK);
    assert_int_equal(seg(t, 4, 1, 5 + (uint32_t)n, ACK, "\r\n\r\n", 4), CS_OK);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 0, a, la);
    expect_msg(&g, 1, b, lb);
    assert_int_equal(stats(t).framing_errors, 0);
    /* The pong direction. */
    assert_int_equal(seg_rev(t, 5, 1, 900, ACK, "\r\n", 2), CS_OK);
    assert_int_equal(seg_rev(t, 6, 1, 902, ACK, b, lb), CS_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.sport[2], 5060);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_fin_rst_syn(void **state)
{
    got g = {0};
    char a[1024], b[1024];
    size_t la = mkmsg(a, sizeof a, INV, 1, 10), lb = mkmsg(b, sizeof b, OK200, 1, 0);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    /* FIN with the last bytes of a message: delivered, then the direction goes. */
    open_flow(t, 1, 0);
    assert_int_equal(seg(t, 2, 1, 1, ACK, a, 10), CS_OK);
    assert_int_equal(seg(t, 3, 1, 11, ACK | FIN, a + 10, la - 10), CS_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(stats(t).flows, 0);
    /* FIN ahead of a hole: the queued message after the hole is delivered. */
    open_flow(t, 2, 0);
    assert_int_equal(seg(t, 4, 2, 1, ACK, a, 10), CS_OK);
    assert_int_equal(seg(t, 5, 2, 1 + (uint32_t)la, ACK | FIN, b, lb), CS_OK);
    assert_int_equal(g.n, 2);
    expect_msg(&g, 1, b, lb);
    assert_int_equal(stats(t).gaps, 1);
    assert_int_equal(stats(t).flows, 0);
    /* RST forgets both directions. */
    open_flow(t, 3, 0);
    assert_int_equal(seg_rev(t, 6, 3, 50, SYN | ACK, NULL, 0), CS_OK);
    assert_int_equal(stats(t).flows, 2);
    assert_int_equal(seg(t, 7, 3, 1, ACK, a, 10), CS_OK);
    assert_int_equal(seg_rev(t, 8, 3, 51, RST, NULL, 0), CS_OK);
    assert_int_equal(stats(t).flows, 0);
    /* A new SYN (other ISN) on the same ports restarts the direction. */
    open_flow(t, 4, 0);
    assert_int_equal(seg(t, 9, 4, 1, ACK, a, 10), CS_OK);
    open_flow(t, 4, 7000);
    assert_int_equal(seg(t, 10, 4, 7001, ACK, b, lb), CS_OK);
    assert_int_equal(g.n, 3);
    expect_msg(&g, 2, b, lb);
    /* SYN carrying data (TCP Fast Open): data starts at ISN + 1. */
    assert_int_equal(seg(t, 11, 5, 9000, SYN, b, lb), CS_OK);
    assert_int_equal(g.n, 4);
    expect_msg(&g, 3, b, lb);
    assert_int_equal(stats(t).framing_errors, 0);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_framing_errors(void **state)
{
    got g = {0};
    char b[1024], buf[4096];
    size_t lb = mkmsg(b, sizeof b, OK200, 1, 4);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);

    (void)state;
    assert_non_null(t);
    /* Content-Length past CS_SIP_MAX_MSG: fail once, resync at the next message. */
    open_flow(t, 1, 0);
    int n = snprintf(buf, sizeof buf, INV "\r\nContent-Length: 70000\r\n\r\nbody");
    memcpy(buf + n, b, lb);
    assert_int_equal(seg(t, 2, 1, 1, ACK, buf, (size_t)n + lb), CS_ERR_LIMIT);
    assert_int_equal(g.n, 1);
    expect_msg(&g, 0, b, lb);
    /* Duplicate Content-Length values. */
    n = snprintf(buf, sizeof buf, INV "\r\nl: 1\r\nl: 2\r\n\r\nxy");
    memcpy(buf + n, b, lb);
    assert_int_equal(seg(t, 3, 1, 1 + (uint32_t)(n + (int)lb), ACK, buf, (size_t)n + lb),
                     CS_ERR_MALFORMED);
    assert_int_equal(g.n, 2);
    assert_int_equal(stats(t).framing_errors, 2);

    /* A header block that never ends: LIMIT once CS_SIP_MAX_MSG bytes are
     * buffered, without holding more than that. */
    open_flow(t, 2, 0);
    uint32_t s = 1;
    n = snprintf(buf, sizeof buf, INV "\r\n");
    assert_int_equal(seg(t, 4, 2, s, ACK, buf, (size_t)n), CS_OK);
    s += (uint32_t)n;
    memset(buf, 'h', sizeof buf);
    int rc = CS_OK;
    for (int i = 0; i < 20 && rc == CS_OK; i++) {
        rc = seg(t, 5, 2, s, ACK, buf, 4000);
        s += 4000;
    }
    assert_int_equal(rc, CS_ERR_LIMIT);
    assert_int_equal(stats(t).framing_errors, 3);
    assert_int_equal(seg(t, 6, 2, s, ACK, "\r\n", 2), CS_OK);
    assert_int_equal(seg(t, 7, 2, s + 2, ACK, b, lb), CS_OK);
    assert_int_equal(g.n, 3);
    expect_msg(&g, 2, b, lb);
    tcpreasm_free(t);
    got_clear(&g);
}

static void test_ipv6_and_args(void **state)
{
    got g = {0};
    char b[1024];
    size_t lb = mkmsg(b, sizeof b, OK200, 1, 0);
    tcpreasm *t = tcpreasm_new(NULL, collect, &g);
    pkt_info in;

    (void)state;
    assert_non_null(t);
    assert_null(tcpreasm_new(NULL, NULL, NULL));
    memset(&in, 0, sizeof in);
    in.family = AF_INET6;
    in.src[15] = 1;
    in.dst[15] = 2;
    in.proto = PKT_PROTO_TCP;
    in.sport = 5060;
    in.dport = 5061;
    in.tcp_seq = 10;
    in.payload = (const uint8_t *)b;
    in.payload_len = 20;
    assert_int_equal(tcpreasm_add(t, 1, &in), CS_OK);
    /* Another IPv6 address: another flow, mid-stream, its start skipped. */
    in.src[0] = 0x20;
    in.tcp_seq = 30;
    in.payload = (const uint8_t *)b + 20;
    in.payload_len = lb - 20;
    assert_int_equal(tcpreasm_add(t, 2, &in), CS_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(stats(t).flows, 2);
    in.src[0] = 0;
    assert_int_equal(tcpreasm_add(t, 3, &in), CS_OK);
    assert_int_equal(g.n, 1);
    expect_msg(&g, 0, b, lb);

    in.proto = PKT_PROTO_UDP;
    assert_int_equal(tcpreasm_add(t, 4, &in), CS_ERR_INVAL);
    in.proto = PKT_PROTO_TCP;
    in.family = 99;
    assert_int_equal(tcpreasm_add(t, 4, &in), CS_ERR_INVAL);
    in.family = AF_INET6;
    in.payload = NULL;
    assert_int_equal(tcpreasm_add(t, 4, &in), CS_ERR_INVAL);
    assert_int_equal(tcpreasm_add(t, 4, NULL), CS_ERR_INVAL);
    assert_int_equal(tcpreasm_add(NULL, 4, &in), CS_ERR_INVAL);
    tcpreasm_expire(NULL, 0);
    tcpreasm_free(NULL);
    tcpreasm_stats s;
    tcpreasm_get_stats(NULL, &s);
    assert_int_equal(s.messages, 0);
    tcpreasm_free(t);
    got_clear(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesced),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_retransmission),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_seq_wrap),
        cmocka_unit_test(test_lost_segment_limit),
        cmocka_unit_test(test_lost_segment_timeout),
        cmocka_unit_test(test_flow_eviction),
        cmocka_unit_test(test_flow_byte_cap),
        cmocka_unit_test(test_idle_expiry),
        cmocka_unit_test(test_garbage_then_message),
        cmocka_unit_test(test_keepalives),
        cmocka_unit_test(test_fin_rst_syn),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_ipv6_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
