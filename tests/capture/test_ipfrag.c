/*
 * test_ipfrag.c — IP fragment reassembly (capture/ipfrag.c).
 *
 * Fragments are built as real IPv4/IPv6 packets and described by
 * pkt_decode_ip(), exactly as the capture loop does. Checked: completion in
 * order, in reverse and in every order of five fragments; duplicates and
 * overlaps (first wins, exact bytes); tiny 8-byte fragments; the rebuilt
 * header (lengths, flags, checksum, IPv6 Next Header patched through an
 * extension header); the 65535-byte ceiling at len-1/len/len+1; inconsistent
 * ends; the timeout by packet time; eviction by datagram count and by bytes; a
 * flood of distinct ids; callgen's own fragmented IPv4 and IPv6 datagrams
 * written to a pcap and read back with libpcap; and voipshark's fragmented
 * SIP INVITE from ../shared (skipped when the folder is absent).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cg_net.h"
#include "error.h"
#include "ipfrag.h"
#include "limits.h"
#include "pkt.h"
#include "testsupport.h"

#define T0 1700000000000000ull

/* One packet buffer and its decode. */
typedef struct frag {
    uint8_t b[70000];
    size_t n;
    pkt_info in;
} frag;

static void w16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* IPv4 fragment 10.0.0.1 -> 10.0.0.2, protocol 17, header of ihl words. */
static frag *mk4x(frag *f, uint16_t id, uint32_t off, int more, const uint8_t *data,
                  size_t len, unsigned ihl)
{
    size_t hl = ihl * 4;
    memset(f->b, 0, hl);
    f->b[0] = (uint8_t)(0x40 | ihl);
    w16(f->b + 2, (unsigned)(hl + len));
    w16(f->b + 4, id);
    w16(f->b + 6, (more ? 0x2000u : 0) | (off / 8));
    f->b[8] = 64;
    f->b[9] = 17;
    f->b[10] = 0xde; /* a stale checksum: the rebuilt one must be right */
    f->b[11] = 0xad;
    uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
    memcpy(f->b + 12, src, 4);
    memcpy(f->b + 16, dst, 4);
    for (size_t i = 20; i < hl; i++)
        f->b[i] = 1; /* NOP options */
    memcpy(f->b + hl, data, len);
    f->n = hl + len;
    memset(&f->in, 0, sizeof(f->in));
    assert_int_equal(pkt_decode_ip(f->b, f->n, &f->in), PKT_FRAGMENT);
    return f;
}

static frag *mk4(frag *f, uint16_t id, uint32_t off, int more, const uint8_t *data, size_t len)
{
    return mk4x(f, id, off, more, data, len, 5);
}

/* IPv6 fragment 2001:db8::1 -> ::2 with a 8-byte destination options header
 * before the fragment header when dopt, fragment Next Header 17. */
static frag *mk6(frag *f, uint32_t id, uint32_t off, int more, const uint8_t *data, size_t len,
                 int dopt)
{
    uint8_t *p = f->b;
    memset(p, 0, 40);
    p[0] = 0x60;
    p[6] = dopt ? 60 : 44;
    p[7] = 64;
    p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 1;
    p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[39] = 2;
    size_t o = 40;
    if (dopt) {
        uint8_t d[8] = {44, 0, 1, 4, 0, 0, 0, 0};
        memcpy(p + o, d, 8);
        o += 8;
    }
    p[o] = 17;
    p[o + 1] = 0;
    w16(p + o + 2, (off & 0xfff8) | (more ? 1u : 0));
    p[o + 4] = (uint8_t)(id >> 24);
    p[o + 5] = (uint8_t)(id >> 16);
    p[o + 6] = (uint8_t)(id >> 8);
    p[o + 7] = (uint8_t)id;
    o += 8;
    memcpy(p + o, data, len);
    f->n = o + len;
    w16(p + 4, (unsigned)(f->n - 40));
    memset(&f->in, 0, sizeof(f->in));
    assert_int_equal(pkt_decode_ip(f->b, f->n, &f->in), PKT_FRAGMENT);
    return f;
}

/* A UDP datagram (header + body) of n bytes in total, body bytes i*7+1. */
static void mk_udp(uint8_t *u, size_t n)
{
    w16(u, 5060);
    w16(u + 2, 5070);
    w16(u + 4, (unsigned)n);
    w16(u + 6, 0);
    for (size_t i = 8; i < n; i++)
        u[i] = (uint8_t)(i * 7 + 1);
}

static ipfrag *new_default(void)
{
    ipfrag *f = ipfrag_new(NULL);
    assert_non_null(f);
    return f;
}

static int add(ipfrag *f, uint64_t ts, const frag *fr, const uint8_t **dg, size_t *len)
{
    return ipfrag_add(f, ts, &fr->in, dg, len);
}

static uint16_t sum16(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* The rebuilt IPv4 datagram: header fields and payload. */
static void check_v4(const uint8_t *dg, size_t len, const uint8_t *udp, size_t n, size_t hl)
{
    assert_int_equal(len, hl + n);
    assert_int_equal(dg[0], 0x40 | (hl / 4));
    assert_int_equal((dg[2] << 8 | dg[3]), hl + n);
    assert_int_equal((dg[6] << 8 | dg[7]), 0); /* MF and offset cleared */
    assert_int_equal(sum16(dg, hl), 0xffff);   /* checksum verifies */
    assert_memory_equal(dg + hl, udp, n);
    pkt_info in;
    memset(&in, 0, sizeof(in));
    assert_int_equal(pkt_decode_ip(dg, len, &in), PKT_OK);
    assert_int_equal(in.sport, 5060);
    assert_int_equal(in.payload_len, n - 8);
}

/* Three fragments, in order and in reverse order. */
static void test_in_order_and_reverse(void **state)
{
    (void)state;
    uint8_t udp[64];
    mk_udp(udp, sizeof(udp));
    static frag fr[3];
    for (int rev = 0; rev < 2; rev++) {
        ipfrag *f = new_default();
        mk4(&fr[0], 77, 0, 1, udp, 24);
        mk4(&fr[1], 77, 24, 1, udp + 24, 24);
        mk4(&fr[2], 77, 48, 0, udp + 48, 16);
        const uint8_t *dg = NULL;
        size_t len = 0;
        for (int i = 0; i < 2; i++)
            assert_int_equal(add(f, T0 + (uint64_t)i, &fr[rev ? 2 - i : i], &dg, &len), 0);
        assert_int_equal(add(f, T0 + 2, &fr[rev ? 0 : 2], &dg, &len), 1);
        check_v4(dg, len, udp, sizeof(udp), 20);
        ipfrag_stats st;
        ipfrag_get_stats(f, &st);
        assert_int_equal(st.fragments, 3);
        assert_int_equal(st.reassembled, 1);
        assert_int_equal(st.overlaps, 0);
        assert_int_equal(st.in_progress, 0);
        assert_int_equal(st.bytes_held, 0);
        ipfrag_free(f);
    }
}

/* Every order of five fragments completes exactly on the fifth. */
static void test_all_orders(void **state)
{
    (void)state;
    uint8_t udp[72];
    mk_udp(udp, sizeof(udp));
    static frag fr[5];
    mk4x(&fr[0], 5, 0, 1, udp, 16, 6); /* the first carries options */
    mk4x(&fr[1], 5, 16, 1, udp + 16, 16, 5);
    mk4x(&fr[2], 5, 32, 1, udp + 32, 8, 5);
    mk4x(&fr[3], 5, 40, 1, udp + 40, 24, 5);
    mk4x(&fr[4], 5, 64, 0, udp + 64, 8, 5);
    int perm[5] = {0, 1, 2, 3, 4}, c[5] = {0}, count = 0;
    ipfrag *f = new_default();
    /* Heap's algorithm, iterative */
    for (int i = 0;;) {
        const uint8_t *dg = NULL;
        size_t len = 0;
        for (int j = 0; j < 4; j++)
            assert_int_equal(add(f, T0, &fr[perm[j]], &dg, &len), 0);
        assert_int_equal(add(f, T0, &fr[perm[4]], &dg, &len), 1);
        check_v4(dg, len, udp, sizeof(udp), 24);
        count++;
        while (i < 5 && c[i] >= i) {
            c[i] = 0;
            i++;
        }
        if (i >= 5)
            break;
        int a = (i % 2 == 0) ? 0 : c[i], t = perm[a];
        perm[a] = perm[i];
        perm[i] = t;
        c[i]++;
        i = 1;
    }
    assert_int_equal(count, 120);
    ipfrag_stats st;
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.reassembled, 120);
    assert_int_equal(st.overlaps, 0);
    assert_int_equal(st.in_progress, 0);
    ipfrag_free(f);
}

/* 64 bytes in eight 8-byte fragments, even ones first then odd ones backwards. */
static void test_tiny_fragments(void **state)
{
    (void)state;
    uint8_t udp[64];
    mk_udp(udp, sizeof(udp));
    static frag fr[8];
    for (int i = 0; i < 8; i++)
        mk4(&fr[i], 9, (uint32_t)i * 8, i < 7, udp + i * 8, 8);
    static const int order[8] = {0, 2, 4, 6, 7, 5, 3, 1};
    ipfrag *f = new_default();
    const uint8_t *dg;
    size_t len;
    for (int i = 0; i < 7; i++)
        assert_int_equal(add(f, T0, &fr[order[i]], &dg, &len), 0);
    ipfrag_stats st;
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.bytes_held, 56 + 20);
    assert_int_equal(add(f, T0, &fr[order[7]], &dg, &len), 1);
    check_v4(dg, len, udp, sizeof(udp), 20);
    ipfrag_free(f);
}

static void test_duplicates(void **state)
{
    (void)state;
    uint8_t udp[32];
    mk_udp(udp, sizeof(udp));
    static frag a, b;
    mk4(&a, 1, 0, 1, udp, 16);
    mk4(&b, 1, 16, 0, udp + 16, 16);
    ipfrag *f = new_default();
    const uint8_t *dg;
    size_t len;
    assert_int_equal(add(f, T0, &a, &dg, &len), 0);
    assert_int_equal(add(f, T0, &a, &dg, &len), 0);
    assert_int_equal(add(f, T0, &a, &dg, &len), 0);
    ipfrag_stats st;
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.overlaps, 2);
    assert_int_equal(st.bytes_held, 16 + 20);
    assert_int_equal(add(f, T0, &b, &dg, &len), 1);
    check_v4(dg, len, udp, sizeof(udp), 20);
    /* after completion the same id starts a new datagram */
    assert_int_equal(add(f, T0, &b, &dg, &len), 0);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.in_progress, 1);
    assert_int_equal(st.fragments, 5);
    ipfrag_free(f);
}

/* First wins: the bytes held are kept, only the gaps are filled. */
static void test_overlaps_first_wins(void **state)
{
    (void)state;
    uint8_t A[24], B[24], C[8];
    memset(A, 'A', sizeof(A));
    memset(B, 'B', sizeof(B));
    memset(C, 'C', sizeof(C));
    static frag fa, fb, fc, fd;
    const uint8_t *dg;
    size_t len;
    ipfrag_stats st;

    /* A [0,16) then B [8,32) then C [32,40) last */
    ipfrag *f = new_default();
    assert_int_equal(add(f, T0, mk4(&fa, 3, 0, 1, A, 16), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&fb, 3, 8, 1, B, 24), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&fc, 3, 32, 0, C, 8), &dg, &len), 1);
    assert_int_equal(len, 20 + 40);
    assert_memory_equal(dg + 20, "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCC", 40);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.overlaps, 1);

    /* B [8,32) first, then A [0,16): A only fills [0,8) */
    assert_int_equal(add(f, T0, mk4(&fb, 4, 8, 1, B, 24), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&fa, 4, 0, 1, A, 16), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&fc, 4, 32, 0, C, 8), &dg, &len), 1);
    assert_memory_equal(dg + 20, "AAAAAAAABBBBBBBBBBBBBBBBBBBBBBBBCCCCCCCC", 40);

    /* a fragment spanning two held pieces with a gap between them:
     * A [0,8), C [16,24) held, then B [0,24) fills only [8,16) */
    assert_int_equal(add(f, T0, mk4(&fa, 6, 0, 1, A, 8), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&fc, 6, 16, 1, C, 8), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&fb, 6, 0, 1, B, 24), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&fd, 6, 24, 0, C, 8), &dg, &len), 1);
    assert_memory_equal(dg + 20, "AAAAAAAABBBBBBBBCCCCCCCCCCCCCCCC", 32);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.overlaps, 3);
    assert_int_equal(st.reassembled, 3);
    assert_int_equal(st.bytes_held, 0);
    ipfrag_free(f);
}

/* IPv6: Unfragmentable Part kept, Fragment header removed, Next Header of the
 * destination options header patched, Payload Length fixed. */
static void test_ipv6(void **state)
{
    (void)state;
    uint8_t udp[40];
    mk_udp(udp, sizeof(udp));
    static frag a, b;
    for (int dopt = 0; dopt < 2; dopt++) {
        ipfrag *f = new_default();
        const uint8_t *dg;
        size_t len;
        mk6(&a, 0x01020304, 0, 1, udp, 24, dopt);
        mk6(&b, 0x01020304, 24, 0, udp + 24, 16, dopt);
        assert_int_equal(add(f, T0, &b, &dg, &len), 0);
        assert_int_equal(add(f, T0, &a, &dg, &len), 1);
        size_t hl = dopt ? 48 : 40;
        assert_int_equal(len, hl + sizeof(udp));
        assert_int_equal(dg[0] >> 4, 6);
        assert_int_equal((dg[4] << 8 | dg[5]), hl - 40 + sizeof(udp));
        assert_int_equal(dg[6], dopt ? 60 : 17);
        if (dopt)
            assert_int_equal(dg[40], 17);
        assert_memory_equal(dg + hl, udp, sizeof(udp));
        pkt_info in;
        memset(&in, 0, sizeof(in));
        assert_int_equal(pkt_decode_ip(dg, len, &in), PKT_OK);
        assert_int_equal(in.family, AF_INET6);
        assert_int_equal(in.dport, 5070);
        assert_int_equal(in.payload_len, sizeof(udp) - 8);
        ipfrag_free(f);
    }
}

/* The ceiling: IPv4 offset + length <= 65535 - 20, IPv6 <= 65535. */
static void test_max_datagram(void **state)
{
    (void)state;
    static uint8_t big[65536];
    static frag a, b;
    const uint8_t *dg;
    size_t len;
    ipfrag_stats st;
    mk_udp(big, 65515);
    ipfrag *f = new_default();

    /* last fragment ending at 65514 / 65515 / 65516 */
    static const struct {
        uint32_t len;
        int want;
    } v4[] = {{2, 0}, {3, 0}, {4, CS_ERR_MALFORMED}};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(add(f, T0, mk4(&a, (uint16_t)(100 + i), 65512, 0, big, v4[i].len), &dg,
                             &len),
                         v4[i].want);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.invalid, 1);
    assert_int_equal(st.in_progress, 2);

    /* a whole 65535-byte datagram: 20 + 65515 */
    assert_int_equal(add(f, T0, mk4(&a, 200, 0, 1, big, 65512), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&b, 200, 65512, 0, big + 65512, 3), &dg, &len), 1);
    assert_int_equal(len, 65535);
    check_v4(dg, len, big, 65515, 20);
    /* with a 24-byte first header the same payload makes 65539 bytes: refused */
    assert_int_equal(add(f, T0, mk4x(&a, 201, 0, 1, big, 65504, 6), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&b, 201, 65504, 0, big + 65504, 11), &dg, &len),
                     CS_ERR_MALFORMED);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.invalid, 2);

    /* IPv6: end 65534 / 65535 / 65536 */
    static const struct {
        uint32_t len;
        int want;
    } v6[] = {{6, 0}, {7, 0}, {8, CS_ERR_MALFORMED}};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(add(f, T0, mk6(&a, (uint32_t)(300 + i), 65528, 0, big, v6[i].len, 0),
                             &dg, &len),
                         v6[i].want);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.invalid, 3);
    ipfrag_free(f);
}

/* Fragments that disagree about the datagram are rejected and fail it. */
static void test_inconsistent(void **state)
{
    (void)state;
    uint8_t d[64];
    memset(d, 'x', sizeof(d));
    static frag a, b;
    const uint8_t *dg;
    size_t len;
    ipfrag_stats st;
    ipfrag *f = new_default();

    /* two different ends: 32 then 40 */
    assert_int_equal(add(f, T0, mk4(&a, 1, 16, 0, d, 16), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&b, 1, 24, 0, d, 16), &dg, &len), CS_ERR_MALFORMED);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.invalid, 1);
    assert_int_equal(st.in_progress, 0);
    assert_int_equal(st.bytes_held, 0);

    /* a non-last fragment past the known end (ends 40 > 32), and at it (ok) */
    assert_int_equal(add(f, T0, mk4(&a, 2, 16, 0, d, 16), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&b, 2, 8, 1, d, 24), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&b, 2, 16, 1, d, 24), &dg, &len), CS_ERR_MALFORMED);

    /* the end arrives after a piece beyond it */
    assert_int_equal(add(f, T0, mk4(&a, 3, 32, 1, d, 16), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&b, 3, 8, 0, d, 8), &dg, &len), CS_ERR_MALFORMED);

    /* a non-last fragment whose length is not a multiple of 8, or 0 */
    assert_int_equal(add(f, T0, mk4(&a, 4, 0, 1, d, 12), &dg, &len), CS_ERR_MALFORMED);
    assert_int_equal(add(f, T0, mk4(&a, 4, 8, 1, d, 0), &dg, &len), CS_ERR_MALFORMED);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.invalid, 5);
    assert_int_equal(st.in_progress, 0);

    /* nonsense arguments */
    pkt_info bad;
    memset(&bad, 0, sizeof(bad));
    assert_int_equal(ipfrag_add(f, T0, &bad, &dg, &len), CS_ERR_INVAL);
    bad = a.in;
    bad.frag_len = a.in.ip_len; /* runs past the datagram */
    assert_int_equal(ipfrag_add(f, T0, &bad, &dg, &len), CS_ERR_INVAL);
    assert_int_equal(ipfrag_add(NULL, T0, &a.in, &dg, &len), CS_ERR_INVAL);
    assert_int_equal(ipfrag_add(f, T0, NULL, &dg, &len), CS_ERR_INVAL);
    ipfrag_free(f);
}

/* A datagram missing a fragment is dropped once its first fragment is older
 * than the timeout, by ipfrag_expire or by a later ipfrag_add. */
static void test_timeout(void **state)
{
    (void)state;
    uint8_t d[16] = {0};
    static frag a, b, c;
    const uint8_t *dg;
    size_t len;
    ipfrag_stats st;
    ipfrag_limits lim = {.max_datagrams = 16, .max_bytes = 4096, .timeout_us = 1000000};
    ipfrag *f = ipfrag_new(&lim);
    assert_non_null(f);
    assert_int_equal(add(f, T0, mk4(&a, 1, 0, 1, d, 8), &dg, &len), 0);
    assert_int_equal(add(f, T0 + 500000, mk4(&b, 2, 0, 1, d, 8), &dg, &len), 0);
    ipfrag_expire(f, T0 + 999999);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.in_progress, 2);
    assert_int_equal(st.timeouts, 0);
    ipfrag_expire(f, T0 + 1000000);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.in_progress, 1);
    assert_int_equal(st.timeouts, 1);
    /* time going back expires nothing */
    ipfrag_expire(f, T0);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.in_progress, 1);
    /* the last fragment of id 1 comes too late: a new, incomplete datagram */
    assert_int_equal(add(f, T0 + 1200000, mk4(&c, 1, 8, 0, d, 8), &dg, &len), 0);
    /* a later add expires id 2 (first seen at T0 + 0.5 s) */
    assert_int_equal(add(f, T0 + 1500000, mk4(&c, 9, 8, 0, d, 8), &dg, &len), 0);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.timeouts, 2);
    assert_int_equal(st.in_progress, 2);
    assert_int_equal(st.reassembled, 0);
    ipfrag_free(f);
}

/* Past max_datagrams the oldest is evicted; past max_bytes too. */
static void test_eviction(void **state)
{
    (void)state;
    uint8_t d[64];
    memset(d, 'e', sizeof(d));
    static frag a;
    const uint8_t *dg;
    size_t len;
    ipfrag_stats st;
    ipfrag_limits lim = {.max_datagrams = 4, .max_bytes = 1000, .timeout_us = 1000000};
    ipfrag *f = ipfrag_new(&lim);
    assert_non_null(f);
    for (uint16_t id = 1; id <= 5; id++)
        assert_int_equal(add(f, T0 + id, mk4(&a, id, 0, 1, d, 16), &dg, &len), 0);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.evicted, 1);
    assert_int_equal(st.in_progress, 4);
    assert_int_equal(st.bytes_held, 4 * 36);
    /* id 1 was the oldest: its last fragment alone does not complete */
    assert_int_equal(add(f, T0 + 10, mk4(&a, 1, 16, 0, d, 8), &dg, &len), 0);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.evicted, 2); /* id 2 made room for the new id 1 */
    /* id 3 is still there */
    assert_int_equal(add(f, T0 + 11, mk4(&a, 3, 16, 0, d, 8), &dg, &len), 1);
    assert_int_equal(len, 20 + 24);
    ipfrag_free(f);

    /* bytes: 100 allowed; 2 x (20 + 32) = 104 needs an eviction */
    ipfrag_limits lb = {.max_datagrams = 100, .max_bytes = 100, .timeout_us = 1000000};
    f = ipfrag_new(&lb);
    assert_non_null(f);
    assert_int_equal(add(f, T0, mk4(&a, 1, 0, 1, d, 32), &dg, &len), 0);
    assert_int_equal(add(f, T0, mk4(&a, 2, 0, 1, d, 32), &dg, &len), 0);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.evicted, 1);
    assert_int_equal(st.in_progress, 1);
    assert_int_equal(st.bytes_held, 52);
    /* one datagram alone larger than the limit: refused, counted */
    assert_int_equal(add(f, T0, mk4(&a, 2, 32, 1, d, 64), &dg, &len), CS_ERR_LIMIT);
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.evicted, 2);
    assert_int_equal(st.in_progress, 0);
    assert_int_equal(st.bytes_held, 0);
    ipfrag_free(f);
}

/* A flood of distinct ids stays within the limits. */
static void test_flood(void **state)
{
    (void)state;
    uint8_t d[64];
    memset(d, 'f', sizeof(d));
    static frag a;
    const uint8_t *dg;
    size_t len;
    ipfrag_stats st;
    ipfrag *f = new_default();
    for (uint32_t i = 0; i < 20000; i++) {
        mk4(&a, (uint16_t)i, 8, 1, d, 64);
        assert_int_equal(add(f, T0 + i, &a, &dg, &len), 0);
        ipfrag_get_stats(f, &st);
        assert_true(st.in_progress <= CS_DEF_FRAG_MAX_DATAGRAMS);
        assert_true(st.bytes_held <= CS_DEF_FRAG_MAX_BYTES);
    }
    assert_int_equal(st.in_progress, CS_DEF_FRAG_MAX_DATAGRAMS);
    assert_int_equal(st.evicted, 20000 - CS_DEF_FRAG_MAX_DATAGRAMS);
    ipfrag_free(f);
}

/* ---- callgen's fragmented datagrams, through a pcap file ------------------ */

static void run_pcap(const char *path, const uint8_t *const *want, const size_t *want_len,
                     size_t nwant, int *found)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc)
        fail_msg("%s: %s", path, err);
    ipfrag *f = new_default();
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        pkt_info in;
        int r = pkt_decode(pcap_datalink(pc), data, h->caplen, &in);
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        if (r == PKT_FRAGMENT) {
            const uint8_t *dg;
            size_t dlen;
            int a = ipfrag_add(f, ts, &in, &dg, &dlen);
            assert_true(a >= 0);
            if (a == 0)
                continue;
            r = pkt_decode_ip(dg, dlen, &in);
        }
        assert_int_equal(r, PKT_OK);
        for (size_t i = 0; i < nwant; i++)
            if (in.payload_len == want_len[i] && !memcmp(in.payload, want[i], want_len[i]))
                found[i]++;
    }
    ipfrag_stats st;
    ipfrag_get_stats(f, &st);
    assert_int_equal(st.in_progress, 0);
    assert_int_equal(st.overlaps, 0);
    ipfrag_free(f);
    pcap_close(pc);
}

static void test_callgen_fragments(void **state)
{
    (void)state;
    char dir[4096], path[4200], err[256];
    assert_int_equal(ts_mkdtemp(dir, sizeof(dir), "ipfrag"), 0);
    snprintf(path, sizeof(path), "%s/frag.pcap", dir);
    cg_pcap *p = cg_pcap_open(path, err, sizeof(err));
    assert_non_null(p);

    static uint8_t pay[3][9000];
    static const size_t plen[3] = {3000, 1473, 8000};
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < plen[k]; i++)
            pay[k][i] = (uint8_t)(i * 31 + k * 7 + (i >> 8));
    cg_addr a4, b4, a6, b6;
    assert_int_equal(cg_addr_parse("192.0.2.10", 5060, &a4), CS_OK);
    assert_int_equal(cg_addr_parse("198.51.100.20", 5060, &b4), CS_OK);
    assert_int_equal(cg_addr_parse("2001:db8::10", 5060, &a6), CS_OK);
    assert_int_equal(cg_addr_parse("2001:db8::20", 5060, &b6), CS_OK);
    cg_link plain = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, 0, {0, 0}};
    cg_link qinq = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, 2, {10, 20}};
    uint64_t t = T0;
    assert_int_equal(cg_net_udp(p, t++, &plain, &a4, &b4, pay[0], plen[0], 1500), CS_OK);
    assert_int_equal(cg_net_udp(p, t++, &qinq, &a4, &b4, pay[1], plen[1], 576), CS_OK);
    assert_int_equal(cg_net_udp(p, t++, &plain, &a6, &b6, pay[0], plen[0], 1280), CS_OK);
    assert_int_equal(cg_net_udp(p, t++, &qinq, &b6, &a6, pay[2], plen[2], 1500), CS_OK);
    assert_int_equal(cg_net_udp(p, t++, &plain, &b4, &a4, pay[2], plen[2], 1500), CS_OK);
    /* a small one, not fragmented */
    assert_int_equal(cg_net_udp(p, t++, &plain, &b4, &a4, pay[1], 100, 1500), CS_OK);
    assert_true(cg_pcap_frames(p) > 20);
    assert_int_equal(cg_pcap_close(p), CS_OK);

    const uint8_t *want[4] = {pay[0], pay[1], pay[2], pay[1]};
    size_t want_len[4] = {plen[0], plen[1], plen[2], 100};
    int found[4] = {0};
    run_pcap(path, want, want_len, 4, found);
    assert_int_equal(found[0], 2); /* IPv4 and IPv6 */
    assert_int_equal(found[1], 1);
    assert_int_equal(found[2], 2);
    assert_int_equal(found[3], 1);
    ts_rmrf(dir);
}

/* voipshark: an INVITE of 1717 bytes in two IPv4 fragments (frames 58, 59;
 * tshark: "Reassembled IPv4 in frame 59", udp.length 1725). */
static void test_voipshark(void **state)
{
    (void)state;
    char path[4096];
    if (!ts_shared_path(path, sizeof(path),
                        "pcaps/voipshark_SIP-SRTP-Normal_Call_two_parties.pcap")) {
        fprintf(stderr, "voipshark capture not found under ../shared/data: skipped\n");
        skip();
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    assert_non_null(pc);
    ipfrag *f = new_default();
    struct pcap_pkthdr *h;
    const u_char *data;
    unsigned long frame = 0, done = 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        frame++;
        pkt_info in;
        int r = pkt_decode(pcap_datalink(pc), data, h->caplen, &in);
        if (r != PKT_FRAGMENT)
            continue;
        assert_true(frame == 58 || frame == 59);
        const uint8_t *dg;
        size_t dlen;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        int a = ipfrag_add(f, ts, &in, &dg, &dlen);
        assert_int_equal(a, frame == 59 ? 1 : 0);
        if (a != 1)
            continue;
        assert_int_equal(pkt_decode_ip(dg, dlen, &in), PKT_OK);
        assert_int_equal(in.proto, PKT_PROTO_UDP);
        assert_int_equal(in.payload_len, 1725 - 8);
        static const char start[] = "INVITE sip:2222@192.168.20.130";
        assert_memory_equal(in.payload, start, sizeof(start) - 1);
        static const char cid[] = "20d1c8822125483494b04e47206cec19";
        int has = 0;
        for (size_t i = 0; i + sizeof(cid) - 1 <= in.payload_len; i++)
            has |= !memcmp(in.payload + i, cid, sizeof(cid) - 1);
        assert_true(has);
        done++;
    }
    assert_int_equal(done, 1);
    ipfrag_free(f);
    pcap_close(pc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_reverse),
        cmocka_unit_test(test_all_orders),
        cmocka_unit_test(test_tiny_fragments),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_overlaps_first_wins),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_max_datagram),
        cmocka_unit_test(test_inconsistent),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_flood),
        cmocka_unit_test(test_callgen_fragments),
        cmocka_unit_test(test_voipshark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
