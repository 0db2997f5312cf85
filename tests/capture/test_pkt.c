/*
 * test_pkt.c — frame decoding (capture/pkt.c) on hand-built frames.
 *
 * Three kinds of checks:
 *  - a table of frames covering every link type, every layer and every
 *    result, each decoded and printed; the printout is compared with
 *    tests/capture/data/pkt/frames.txt (set CALLSCOPE_UPDATE_EXPECTED=1 to
 *    rewrite it, then review the diff);
 *  - a truncation sweep: every frame of the table that decodes to PKT_OK or
 *    PKT_FRAGMENT is decoded again at every shorter capture length; every
 *    length that cuts a header must give PKT_ERR_TRUNCATED, and lengths past
 *    the transport header give PKT_OK with the payload as captured;
 *  - field boundaries at len-1 / len / len+1 (UDP length, IPv4 IHL and total
 *    length, TCP data offset and options, IPv6 extension header lengths, VLAN
 *    tag and tunnel nesting bounds) with exact result codes.
 * Frames are built by the small builder below, which fills every length field
 * from what was actually written, so a case states only what it breaks.
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

#include "limits.h"
#include "pkt.h"
#include "testsupport.h"

/* ---- frame builder ------------------------------------------------------ */

typedef struct fb {
    uint8_t b[4096];
    size_t n;
} fb;

static void put8(fb *f, unsigned v)
{
    assert_true(f->n < sizeof(f->b));
    f->b[f->n++] = (uint8_t)v;
}

static void put16(fb *f, unsigned v)
{
    put8(f, v >> 8);
    put8(f, v);
}

static void put32(fb *f, uint32_t v)
{
    put16(f, v >> 16);
    put16(f, v & 0xffff);
}

static void putfill(fb *f, size_t n, unsigned byte)
{
    for (size_t i = 0; i < n; i++)
        put8(f, byte);
}

static void set16(fb *f, size_t at, unsigned v)
{
    f->b[at] = (uint8_t)(v >> 8);
    f->b[at + 1] = (uint8_t)v;
}

/* Ethernet II: dst 02:00:00:00:00:02, src 02:00:00:00:00:01, type. */
static void eth(fb *f, unsigned type)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    for (size_t i = 0; i < 12; i++)
        put8(f, macs[i]);
    put16(f, type);
}

/* A VLAN tag body (after a TPID): TCI with the VID, then the next type. */
static void vtag(fb *f, unsigned vid, unsigned next)
{
    put16(f, 0x2000 | vid);
    put16(f, next);
}

/* IPv4 header 192.0.2.1 -> 192.0.2.2, id 0x1234; returns its offset.
 * ihl in words (5 = no options; options are NOPs). */
static size_t ip4x(fb *f, unsigned proto, unsigned ihl, unsigned frag)
{
    size_t at = f->n;
    put8(f, 0x40 | ihl);
    put8(f, 0);
    put16(f, 0); /* total length: ip4_end */
    put16(f, 0x1234);
    put16(f, frag);
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);
    put32(f, 0xc0000201);
    put32(f, 0xc0000202);
    if (ihl > 5)
        putfill(f, (ihl - 5) * 4, 1);
    return at;
}

static size_t ip4(fb *f, unsigned proto)
{
    return ip4x(f, proto, 5, 0);
}

static void ip4_end(fb *f, size_t at)
{
    set16(f, at + 2, (unsigned)(f->n - at));
}

/* IPv6 header 2001:db8::1 -> 2001:db8::2; returns its offset. */
static size_t ip6(fb *f, unsigned nh)
{
    size_t at = f->n;
    put32(f, 0x60000000);
    put16(f, 0); /* payload length: ip6_end */
    put8(f, nh);
    put8(f, 64);
    put32(f, 0x20010db8);
    put32(f, 0);
    put32(f, 0);
    put32(f, 1);
    put32(f, 0x20010db8);
    put32(f, 0);
    put32(f, 0);
    put32(f, 2);
    return at;
}

static void ip6_end(fb *f, size_t at)
{
    set16(f, at + 4, (unsigned)(f->n - at - 40));
}

/* An extension header of (len8 + 1) * 8 bytes (PadN filled). */
static void ext6(fb *f, unsigned nh, unsigned len8)
{
    put8(f, nh);
    put8(f, len8);
    put8(f, 1); /* PadN */
    put8(f, len8 * 8 + 4);
    putfill(f, len8 * 8 + 4, 0);
}

static void frag6(fb *f, unsigned nh, unsigned offset, int more, uint32_t id)
{
    put8(f, nh);
    put8(f, 0);
    put16(f, (offset & 0xfff8) | (more ? 1 : 0));
    put32(f, id);
}

static size_t udp(fb *f, unsigned sport, unsigned dport)
{
    size_t at = f->n;
    put16(f, sport);
    put16(f, dport);
    put16(f, 0);
    put16(f, 0);
    return at;
}

static void udp_end(fb *f, size_t at)
{
    set16(f, at + 4, (unsigned)(f->n - at));
}

/* TCP header with doff words; options (doff - 5 words) are given as bytes
 * and padded with NOPs. */
static void tcp(fb *f, unsigned sport, unsigned dport, unsigned doff, const uint8_t *opt,
                size_t optlen)
{
    put16(f, sport);
    put16(f, dport);
    put32(f, 1000);
    put32(f, 2000);
    put8(f, doff << 4);
    put8(f, 0x18);
    put16(f, 65535);
    put32(f, 0);
    size_t room = doff > 5 ? (doff - 5) * 4 : 0;
    for (size_t i = 0; i < room; i++)
        put8(f, i < optlen ? opt[i] : 1);
}

static void payload(fb *f, const char *s)
{
    while (*s)
        put8(f, (unsigned char)*s++);
}

/* ---- the table ----------------------------------------------------------- */

/* Each builder writes one frame; p is a case parameter. */
typedef void (*build_fn)(fb *f, int p);

/* Ethernet / IPv4 / UDP 5060 -> 5060 with "SIP/2.0"; p VLAN tags (TPID 0x8100
 * each, the last one p: 0x88a8 when p < 0). */
static void b_eth_udp4(fb *f, int p)
{
    int tags = p < 0 ? -p : p;
    eth(f, tags ? (p < 0 ? 0x88a8 : 0x8100) : 0x0800);
    for (int i = 0; i < tags; i++)
        vtag(f, (unsigned)(100 + i), i + 1 < tags ? 0x8100 : 0x0800);
    size_t ip = ip4(f, 17);
    size_t u = udp(f, 5060, 5060);
    payload(f, "SIP/2.0");
    udp_end(f, u);
    ip4_end(f, ip);
}

/* The same with the 0x9100 (pre-standard QinQ) outer TPID. */
static void b_eth_9100(fb *f, int p)
{
    (void)p;
    eth(f, 0x9100);
    vtag(f, 10, 0x8100);
    vtag(f, 20, 0x0800);
    size_t ip = ip4(f, 17);
    size_t u = udp(f, 1, 2);
    payload(f, "x");
    udp_end(f, u);
    ip4_end(f, ip);
}

/* IPv4 with p words of options, UDP, 5 bytes of payload, 8 bytes of Ethernet
 * padding after the IP datagram. */
static void b_eth_udp4_opts_pad(fb *f, int p)
{
    eth(f, 0x0800);
    size_t ip = ip4x(f, 17, (unsigned)p, 0);
    size_t u = udp(f, 5061, 5062);
    payload(f, "hello");
    udp_end(f, u);
    ip4_end(f, ip);
    putfill(f, 8, 0xee);
}

static void b_eth_udp6(fb *f, int p)
{
    (void)p;
    eth(f, 0x86dd);
    size_t ip = ip6(f, 17);
    size_t u = udp(f, 5060, 5080);
    payload(f, "INVITE");
    udp_end(f, u);
    ip6_end(f, ip);
}

/* IPv6 with hop-by-hop, routing and destination options before UDP. */
static void b_eth_udp6_ext(fb *f, int p)
{
    (void)p;
    eth(f, 0x86dd);
    size_t ip = ip6(f, 0);
    ext6(f, 43, 0);
    ext6(f, 60, 1);
    ext6(f, 17, 0);
    size_t u = udp(f, 5060, 5060);
    payload(f, "BYE");
    udp_end(f, u);
    ip6_end(f, ip);
}

/* IPv6 with p destination options headers (the bound is PKT_MAX_IPV6_EXT = 8). */
static void b_ip6_many_ext(fb *f, int p)
{
    size_t ip = ip6(f, p > 0 ? 60 : 17);
    for (int i = 0; i < p; i++)
        ext6(f, i + 1 < p ? 60 : 17, 0);
    size_t u = udp(f, 1, 2);
    udp_end(f, u);
    ip6_end(f, ip);
}

/* Ethernet / IPv4 / TCP with options (MSS, SACK-permitted, timestamps, NOP). */
static void b_eth_tcp4(fb *f, int p)
{
    (void)p;
    static const uint8_t opt[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 0};
    eth(f, 0x0800);
    size_t ip = ip4(f, 6);
    tcp(f, 40000, 5060, 10, opt, sizeof(opt));
    payload(f, "OPTIONS sip:a SIP/2.0\r\n");
    ip4_end(f, ip);
}

static void b_eth_tcp6(fb *f, int p)
{
    (void)p;
    eth(f, 0x86dd);
    size_t ip = ip6(f, 6);
    tcp(f, 5060, 40001, 5, NULL, 0);
    ip6_end(f, ip);
}

static void b_eth_arp(fb *f, int p)
{
    (void)p;
    eth(f, 0x0806);
    putfill(f, 28, 0);
}

/* 802.3 length field + LLC/SNAP header. */
static void b_eth_llc(fb *f, int p)
{
    (void)p;
    eth(f, 38);
    put8(f, 0xaa);
    put8(f, 0xaa);
    put8(f, 3);
    putfill(f, 35, 0);
}

static void b_eth_icmp(fb *f, int p)
{
    (void)p;
    eth(f, 0x0800);
    size_t ip = ip4(f, 1);
    put32(f, 0x08000000);
    put32(f, 0);
    ip4_end(f, ip);
}

static void b_eth_sctp(fb *f, int p)
{
    (void)p;
    eth(f, 0x0800);
    size_t ip = ip4(f, 132);
    put16(f, 5060);
    put16(f, 5061);
    put32(f, 0);
    put32(f, 0);
    ip4_end(f, ip);
}

static void b_ip6_nonext(fb *f, int p)
{
    (void)p;
    size_t ip = ip6(f, 59);
    ip6_end(f, ip);
}

/* IPv4 fragment: p = 0 first (MF), 1 middle (MF, offset 8), 2 last (offset 16). */
static void b_eth_frag4(fb *f, int p)
{
    eth(f, 0x0800);
    unsigned frag = p == 0 ? 0x2000 : p == 1 ? 0x2001 : 0x0002;
    size_t ip = ip4x(f, 17, 5, frag);
    putfill(f, 8, 0x40 + (unsigned)p);
    ip4_end(f, ip);
}

/* IPv6 fragment header after a destination options header; p as above. */
static void b_eth_frag6(fb *f, int p)
{
    eth(f, 0x86dd);
    size_t ip = ip6(f, 60);
    ext6(f, 44, 0);
    frag6(f, 17, (unsigned)p * 8, p < 2, 0xabcdef01);
    putfill(f, 8, 0x60 + (unsigned)p);
    ip6_end(f, ip);
}

/* IPv6 atomic fragment (offset 0, M 0): decoded as a whole datagram. */
static void b_eth_frag6_atomic(fb *f, int p)
{
    (void)p;
    eth(f, 0x86dd);
    size_t ip = ip6(f, 44);
    frag6(f, 17, 0, 0, 7);
    size_t u = udp(f, 5060, 5060);
    payload(f, "ACK");
    udp_end(f, u);
    ip6_end(f, ip);
}

/* p nested IP-in-IP tunnels (alternating IPv4 and IPv6 outer headers) around
 * IPv4 / UDP. */
static void b_ipip(fb *f, int p)
{
    size_t at[8];
    eth(f, p > 0 && (p % 2) == 0 ? 0x86dd : 0x0800);
    for (int i = 0; i < p; i++) {
        int v6 = ((p - i) % 2) == 0;
        int next_v6 = i + 1 < p && ((p - i - 1) % 2) == 0;
        unsigned proto = next_v6 ? 41 : 4;
        at[i] = v6 ? ip6(f, proto) : ip4(f, proto);
    }
    size_t ip = ip4(f, 17);
    size_t u = udp(f, 5060, 5060);
    payload(f, "inner");
    udp_end(f, u);
    ip4_end(f, ip);
    for (int i = p - 1; i >= 0; i--) {
        if ((f->b[at[i]] >> 4) == 6)
            ip6_end(f, at[i]);
        else
            ip4_end(f, at[i]);
    }
}

/* IPv6 in IPv4 (protocol 41). */
static void b_6in4(fb *f, int p)
{
    (void)p;
    eth(f, 0x0800);
    size_t o = ip4(f, 41);
    size_t ip = ip6(f, 17);
    size_t u = udp(f, 5060, 5060);
    payload(f, "v6");
    udp_end(f, u);
    ip6_end(f, ip);
    ip4_end(f, o);
}

/* GRE: p bit 0 checksum, bit 1 key, bit 2 sequence; carries IPv4/UDP. */
static void b_gre_ip(fb *f, int p)
{
    eth(f, 0x0800);
    size_t o = ip4(f, 47);
    put16(f, (p & 1 ? 0x8000u : 0) | (p & 2 ? 0x2000u : 0) | (p & 4 ? 0x1000u : 0));
    put16(f, 0x0800);
    if (p & 1)
        put32(f, 0);
    if (p & 2)
        put32(f, 42);
    if (p & 4)
        put32(f, 7);
    size_t ip = ip4(f, 17);
    size_t u = udp(f, 5060, 5060);
    payload(f, "gre");
    udp_end(f, u);
    ip4_end(f, ip);
    ip4_end(f, o);
}

/* GRE carrying IPv6 over an IPv6 outer header. */
static void b_gre6_ip6(fb *f, int p)
{
    (void)p;
    eth(f, 0x86dd);
    size_t o = ip6(f, 47);
    put16(f, 0);
    put16(f, 0x86dd);
    size_t ip = ip6(f, 17);
    size_t u = udp(f, 5060, 5060);
    payload(f, "gre6");
    udp_end(f, u);
    ip6_end(f, ip);
    ip6_end(f, o);
}

/* GRE flags word p (raw) with protocol 0x0800 and a 4-byte body. */
static void b_gre_flags(fb *f, int p)
{
    eth(f, 0x0800);
    size_t o = ip4(f, 47);
    put16(f, (unsigned)p);
    put16(f, 0x0800);
    putfill(f, 4, 0);
    ip4_end(f, o);
}

/* Inner Ethernet frame with one VLAN tag, IPv4, UDP (for GRE / ERSPAN). */
static void inner_eth(fb *f)
{
    eth(f, 0x8100);
    vtag(f, 300, 0x0800);
    size_t ip = ip4(f, 17);
    size_t u = udp(f, 5060, 5060);
    payload(f, "mirrored");
    udp_end(f, u);
    ip4_end(f, ip);
}

/* GRE transparent Ethernet bridging (0x6558). */
static void b_gre_teb(fb *f, int p)
{
    (void)p;
    eth(f, 0x0800);
    size_t o = ip4(f, 47);
    put16(f, 0x2000);
    put16(f, 0x6558);
    put32(f, 1);
    inner_eth(f);
    ip4_end(f, o);
}

/* ERSPAN: p = 1 type I (no S bit, no header), 2 type II, 3 type III,
 * 4 type III with the platform subheader (O bit), 5 type III frame type 2,
 * 6 type II with a wrong version. */
static void b_erspan(fb *f, int p)
{
    eth(f, 0x0800);
    size_t o = ip4(f, 47);
    if (p == 1) {
        put16(f, 0);
        put16(f, 0x88be);
    } else if (p == 2 || p == 6) {
        put16(f, 0x1000);
        put16(f, 0x88be);
        put32(f, 99);
        put32(f, ((p == 6 ? 2u : 1u) << 28) | 0x0064); /* ver, VLAN 0x064 ... */
        put32(f, 0x00000005);
    } else {
        put16(f, 0x1000);
        put16(f, 0x22eb);
        put32(f, 99);
        put32(f, 0x20640005);         /* ver 2, VLAN 100, session 5 */
        put32(f, 0x11223344);         /* timestamp */
        put8(f, 0);                   /* SGT */
        put8(f, 0);
        put8(f, p == 5 ? (2u << 2) : 0); /* P FT(5) HwID hi */
        put8(f, p == 4 ? 1 : 0);      /* HwID lo D Gra O */
        if (p == 4)
            put32(f, 0), put32(f, 0);
    }
    inner_eth(f);
    ip4_end(f, o);
}

/* Linux cooked v1 / v2 with IPv4 UDP; p = 1 with a VLAN tag in the payload. */
static void b_sll(fb *f, int p)
{
    put16(f, 0);     /* packet type: to us */
    put16(f, 1);     /* ARPHRD_ETHER */
    put16(f, 6);
    putfill(f, 8, 0x22);
    put16(f, p ? 0x8100 : 0x0800);
    if (p)
        vtag(f, 7, 0x0800);
    size_t ip = ip4(f, 17);
    size_t u = udp(f, 5060, 5060);
    payload(f, "sll");
    udp_end(f, u);
    ip4_end(f, ip);
}

static void b_sll_other(fb *f, int p)
{
    (void)p;
    put16(f, 4);
    put16(f, 824); /* ARPHRD_NETLINK */
    put16(f, 0);
    putfill(f, 8, 0);
    put16(f, 0x0010);
    putfill(f, 16, 0);
}

static void b_sll2(fb *f, int p)
{
    (void)p;
    put16(f, 0x86dd);
    put16(f, 0);
    put32(f, 3);
    put16(f, 1);
    put8(f, 0);
    put8(f, 6);
    putfill(f, 8, 0x33);
    size_t ip = ip6(f, 17);
    size_t u = udp(f, 5060, 5060);
    payload(f, "sll2");
    udp_end(f, u);
    ip6_end(f, ip);
}

/* Raw IP: p = 4 or 6. */
static void b_raw(fb *f, int p)
{
    size_t ip = p == 6 ? ip6(f, 17) : ip4(f, 17);
    size_t u = udp(f, 5060, 5060);
    payload(f, "raw");
    udp_end(f, u);
    if (p == 6)
        ip6_end(f, ip);
    else
        ip4_end(f, ip);
}

/* BSD loopback: p is the family word as it must appear in the file
 * (negative: little-endian), then IPv4 or IPv6 by the family. */
static void b_null(fb *f, int p)
{
    uint32_t fam = (uint32_t)(p < 0 ? -p : p);
    if (p < 0) {
        put8(f, fam);
        put8(f, fam >> 8);
        put8(f, fam >> 16);
        put8(f, fam >> 24);
    } else {
        put32(f, fam);
    }
    b_raw(f, fam == 2 ? 4 : 6);
}

/* PPPoE session: p = 0 IPv4, 1 IPv6, 2 LCP, 3 bad VER/TYPE; the LENGTH field
 * is the PPP payload + the 2-byte protocol. */
static void b_pppoe(fb *f, int p)
{
    eth(f, 0x8864);
    size_t at = f->n;
    put8(f, p == 3 ? 0x12 : 0x11);
    put8(f, 0);
    put16(f, 0x0abc);
    put16(f, 0);
    put16(f, p == 1 ? 0x0057 : p == 2 ? 0xc021 : 0x0021);
    if (p == 2)
        putfill(f, 10, 0);
    else
        b_raw(f, p == 1 ? 6 : 4);
    set16(f, at + 4, (unsigned)(f->n - at - 6));
}

typedef struct frame_case {
    const char *name;
    int linktype;
    build_fn build;
    int param;
    int expect;
} frame_case;

static const frame_case cases[] = {
    {"eth-udp4", 1, b_eth_udp4, 0, PKT_OK},
    {"eth-vlan-udp4", 1, b_eth_udp4, 1, PKT_OK},
    {"eth-qinq-88a8", 1, b_eth_udp4, -2, PKT_OK},
    {"eth-vlan3", 1, b_eth_udp4, 3, PKT_OK},
    {"eth-vlan4-max", 1, b_eth_udp4, CS_MAX_ENCAP_DEPTH, PKT_OK},
    {"eth-vlan5-over", 1, b_eth_udp4, CS_MAX_ENCAP_DEPTH + 1, PKT_ERR_ENCAP},
    {"eth-qinq-9100", 1, b_eth_9100, 0, PKT_OK},
    {"eth-udp4-ihl5-padded", 1, b_eth_udp4_opts_pad, 5, PKT_OK},
    {"eth-udp4-ihl6-padded", 1, b_eth_udp4_opts_pad, 6, PKT_OK},
    {"eth-udp4-ihl15-padded", 1, b_eth_udp4_opts_pad, 15, PKT_OK},
    {"eth-udp4-ihl4", 1, b_eth_udp4_opts_pad, 4, PKT_ERR_BAD_IP},
    {"eth-udp6", 1, b_eth_udp6, 0, PKT_OK},
    {"eth-udp6-ext", 1, b_eth_udp6_ext, 0, PKT_OK},
    {"ip6-ext8-max", 229, b_ip6_many_ext, 8, PKT_OK},
    {"ip6-ext9-over", 229, b_ip6_many_ext, 9, PKT_ERR_BAD_IP},
    {"eth-tcp4-opts", 1, b_eth_tcp4, 0, PKT_OK},
    {"eth-tcp6", 1, b_eth_tcp6, 0, PKT_OK},
    {"eth-arp", 1, b_eth_arp, 0, PKT_SKIP_L2},
    {"eth-llc-snap", 1, b_eth_llc, 0, PKT_SKIP_L2},
    {"eth-icmp", 1, b_eth_icmp, 0, PKT_SKIP_L3},
    {"eth-sctp", 1, b_eth_sctp, 0, PKT_SKIP_SCTP},
    {"ip6-no-next", 229, b_ip6_nonext, 0, PKT_SKIP_L3},
    {"eth-frag4-first", 1, b_eth_frag4, 0, PKT_FRAGMENT},
    {"eth-frag4-middle", 1, b_eth_frag4, 1, PKT_FRAGMENT},
    {"eth-frag4-last", 1, b_eth_frag4, 2, PKT_FRAGMENT},
    {"eth-frag6-first", 1, b_eth_frag6, 0, PKT_FRAGMENT},
    {"eth-frag6-middle", 1, b_eth_frag6, 1, PKT_FRAGMENT},
    {"eth-frag6-last", 1, b_eth_frag6, 2, PKT_FRAGMENT},
    {"eth-frag6-atomic", 1, b_eth_frag6_atomic, 0, PKT_OK},
    {"ipip-1", 1, b_ipip, 1, PKT_OK},
    {"ipip-2-6in4in6", 1, b_ipip, 2, PKT_OK},
    {"ipip-4-max", 1, b_ipip, CS_MAX_ENCAP_DEPTH, PKT_OK},
    {"ipip-5-over", 1, b_ipip, CS_MAX_ENCAP_DEPTH + 1, PKT_ERR_ENCAP},
    {"6in4", 1, b_6in4, 0, PKT_OK},
    {"gre-ip", 1, b_gre_ip, 0, PKT_OK},
    {"gre-ip-csum", 1, b_gre_ip, 1, PKT_OK},
    {"gre-ip-key", 1, b_gre_ip, 2, PKT_OK},
    {"gre-ip-seq", 1, b_gre_ip, 4, PKT_OK},
    {"gre-ip-csum-key-seq", 1, b_gre_ip, 7, PKT_OK},
    {"gre6-ip6", 1, b_gre6_ip6, 0, PKT_OK},
    {"gre-routing-bit", 1, b_gre_flags, 0x4000, PKT_ERR_ENCAP},
    {"gre-ssr-bit", 1, b_gre_flags, 0x0800, PKT_ERR_ENCAP},
    {"gre-recursion", 1, b_gre_flags, 0x0100, PKT_ERR_ENCAP},
    {"gre-version1-pptp", 1, b_gre_flags, 0x0001, PKT_SKIP_L3},
    {"gre-version2", 1, b_gre_flags, 0x0002, PKT_ERR_ENCAP},
    {"gre-teb", 1, b_gre_teb, 0, PKT_OK},
    {"erspan-1", 1, b_erspan, 1, PKT_OK},
    {"erspan-2", 1, b_erspan, 2, PKT_OK},
    {"erspan-3", 1, b_erspan, 3, PKT_OK},
    {"erspan-3-subheader", 1, b_erspan, 4, PKT_OK},
    {"erspan-3-ft2", 1, b_erspan, 5, PKT_SKIP_L2},
    {"erspan-2-badver", 1, b_erspan, 6, PKT_ERR_ENCAP},
    {"pppoe-udp4", 1, b_pppoe, 0, PKT_OK},
    {"pppoe-udp6", 1, b_pppoe, 1, PKT_OK},
    {"pppoe-lcp", 1, b_pppoe, 2, PKT_SKIP_L2},
    {"pppoe-bad-version", 1, b_pppoe, 3, PKT_ERR_ENCAP},
    {"sll-udp4", 113, b_sll, 0, PKT_OK},
    {"sll-vlan-udp4", 113, b_sll, 1, PKT_OK},
    {"sll-netlink", 113, b_sll_other, 0, PKT_SKIP_L2},
    {"sll2-udp6", 276, b_sll2, 0, PKT_OK},
    {"raw12-v4", 12, b_raw, 4, PKT_OK},
    {"raw12-v6", 12, b_raw, 6, PKT_OK},
    {"raw101-v4", 101, b_raw, 4, PKT_OK},
    {"raw101-v6", 101, b_raw, 6, PKT_OK},
    {"ipv4-lt-v4", 228, b_raw, 4, PKT_OK},
    {"ipv4-lt-v6", 228, b_raw, 6, PKT_ERR_BAD_IP},
    {"ipv6-lt-v6", 229, b_raw, 6, PKT_OK},
    {"ipv6-lt-v4", 229, b_raw, 4, PKT_ERR_BAD_IP},
    {"null-inet-le", 0, b_null, -2, PKT_OK},
    {"null-inet-be", 0, b_null, 2, PKT_OK},
    {"null-inet6-24-le", 0, b_null, -24, PKT_OK},
    {"null-inet6-28-be", 0, b_null, 28, PKT_OK},
    {"null-inet6-30-le", 0, b_null, -30, PKT_OK},
    {"null-family-7", 0, b_null, 7, PKT_SKIP_L2},
    {"loop-inet", 108, b_null, 2, PKT_OK},
    {"loop-inet6-30", 108, b_null, 30, PKT_OK},
    {"loop-inet-le", 108, b_null, -2, PKT_SKIP_L2},
    {"linktype-802.11", 105, b_eth_udp4, 0, PKT_SKIP_LINKTYPE},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void build(const frame_case *c, fb *f)
{
    memset(f, 0, sizeof(*f));
    c->build(f, c->param);
}

static void hexaddr(char *buf, size_t cap, int family, const uint8_t *a)
{
    if (family == AF_INET)
        snprintf(buf, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    else {
        size_t k = 0;
        for (int i = 0; i < 16 && k + 3 < cap; i += 2)
            k += (size_t)snprintf(buf + k, cap - k, "%s%02x%02x", i ? ":" : "", a[i], a[i + 1]);
    }
}

/* One line describing a decode; fields after the result only when set. */
static void describe(char *buf, size_t cap, const char *name, int r, const pkt_info *in,
                     const uint8_t *frame)
{
    size_t k = (size_t)snprintf(buf, cap, "%s: %s", name, pkt_result_name(r));
    if (in->nvlan)
        k += (size_t)snprintf(buf + k, cap - k, " vlan=%d[%u,%u]", in->nvlan, in->vlan[0],
                              in->vlan[1]);
    if (in->encap_depth)
        k += (size_t)snprintf(buf + k, cap - k, " encap=%d", in->encap_depth);
    if (in->family) {
        char s[64], d[64];
        hexaddr(s, sizeof(s), in->family, in->src);
        hexaddr(d, sizeof(d), in->family, in->dst);
        k += (size_t)snprintf(buf + k, cap - k, " ip%d %s>%s proto=%u ip@%zu+%zu",
                              in->family == AF_INET ? 4 : 6, s, d, in->proto,
                              (size_t)(in->ip - frame), in->ip_len);
    }
    if (r == PKT_FRAGMENT)
        k += (size_t)snprintf(buf + k, cap - k, " frag id=%#x off=%u more=%d data@%zu+%zu next=%u",
                              in->frag_id, in->frag_offset, in->frag_more,
                              (size_t)(in->frag_data - frame), in->frag_len, in->frag_next);
    if (in->sport || in->dport)
        k += (size_t)snprintf(buf + k, cap - k, " %u>%u", in->sport, in->dport);
    if (in->proto == PKT_PROTO_TCP && r == PKT_OK)
        k += (size_t)snprintf(buf + k, cap - k, " seq=%u ack=%u flags=%#x", in->tcp_seq,
                              in->tcp_ack, in->tcp_flags);
    if (in->payload) {
        k += (size_t)snprintf(buf + k, cap - k, " payload@%zu+%zu \"",
                              (size_t)(in->payload - frame), in->payload_len);
        for (size_t i = 0; i < in->payload_len && i < 24 && k + 2 < cap; i++) {
            unsigned char ch = in->payload[i];
            buf[k++] = (ch >= 0x20 && ch < 0x7f && ch != '"') ? (char)ch : '.';
        }
        if (k + 2 < cap)
            buf[k++] = '"';
        buf[k] = '\0';
    }
}

/* Every case gives its expected result; the printout matches the file. */
static void test_table_expected_output(void **state)
{
    (void)state;
    size_t cap = NCASES * 400, k = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (size_t i = 0; i < NCASES; i++) {
        fb f;
        pkt_info in;
        char line[400];
        build(&cases[i], &f);
        int r = pkt_decode(cases[i].linktype, f.b, f.n, &in);
        if (r != cases[i].expect)
            fail_msg("%s: got %s, want %s", cases[i].name, pkt_result_name(r),
                     pkt_result_name(cases[i].expect));
        describe(line, sizeof(line), cases[i].name, r, &in, f.b);
        k += (size_t)snprintf(text + k, cap - k, "%s\n", line);
    }
    char path[4096];
    ts_source_path(path, sizeof(path), "tests/capture/data/pkt/frames.txt");
    const char *upd = getenv("CALLSCOPE_UPDATE_EXPECTED");
    if (upd && *upd == '1')
        assert_int_equal(ts_write_file(path, text, k), 0);
    size_t elen = 0;
    char *exp = ts_read_file(path, &elen);
    if (!exp)
        fail_msg("cannot read %s", path);
    if (elen != k || memcmp(exp, text, k) != 0) {
        size_t line = 1, i = 0;
        while (i < k && i < elen && exp[i] == text[i])
            line += text[i++] == '\n';
        fprintf(stderr, "%s", text);
        fail_msg("decode printout (above) differs from %s at line %zu", path, line);
    }
    free(exp);
    free(text);
}

/* Every prefix of a frame that ends inside a header is PKT_ERR_TRUNCATED;
 * from the end of the transport header on it is PKT_OK with the payload as
 * captured. Fragments must be complete. */
static void test_truncation_sweep(void **state)
{
    (void)state;
    int swept = 0;
    for (size_t i = 0; i < NCASES; i++) {
        const frame_case *c = &cases[i];
        if (c->expect != PKT_OK && c->expect != PKT_FRAGMENT)
            continue;
        fb f;
        pkt_info full, in;
        build(c, &f);
        assert_int_equal(pkt_decode(c->linktype, f.b, f.n, &full), c->expect);
        size_t need = c->expect == PKT_OK ? (size_t)(full.payload - f.b)
                                          : (size_t)(full.frag_data - f.b) + full.frag_len;
        for (size_t len = 0; len < f.n; len++) {
            /* a copy of exactly len bytes, so ASan sees any read past it */
            uint8_t *cut = malloc(len ? len : 1);
            assert_non_null(cut);
            memcpy(cut, f.b, len);
            int r = pkt_decode(c->linktype, cut, len, &in);
            int want = len < need ? PKT_ERR_TRUNCATED : c->expect;
            if (r != want)
                fail_msg("%s cut at %zu (header end %zu): got %s, want %s", c->name, len,
                         need, pkt_result_name(r), pkt_result_name(want));
            if (r == PKT_OK) {
                size_t paylen = len - need;
                if (paylen > full.payload_len)
                    paylen = full.payload_len;
                assert_int_equal(in.payload_len, paylen);
                assert_ptr_equal(in.payload, cut + need);
            }
            free(cut);
        }
        swept++;
    }
    assert_true(swept > 50);
}

/* ---- field boundaries ----------------------------------------------------- */

/* Ethernet / IPv4 / UDP with 10 payload bytes; the UDP length field set to p. */
static void b_udp_len(fb *f, int p)
{
    eth(f, 0x0800);
    size_t ip = ip4(f, 17);
    size_t u = udp(f, 1, 2);
    payload(f, "0123456789");
    ip4_end(f, ip);
    set16(f, u + 4, (unsigned)p);
}

/* IPv4 total length set to 20 + 8 + 10 + p (frame keeps 18 bytes of payload). */
static void b_ip_tot(fb *f, int p)
{
    eth(f, 0x0800);
    size_t ip = ip4(f, 17);
    size_t u = udp(f, 1, 2);
    payload(f, "0123456789");
    udp_end(f, u);
    set16(f, ip + 2, (unsigned)(38 + p));
}

/* TCP data offset p words; 40 bytes of TCP in the IPv4 datagram. */
static void b_tcp_doff(fb *f, int p)
{
    eth(f, 0x0800);
    size_t ip = ip4(f, 6);
    tcp(f, 1, 2, 5, NULL, 0);
    putfill(f, 20, 1);
    ip4_end(f, ip);
    f->b[ip + 20 + 12] = (uint8_t)(p << 4);
}

/* TCP with 8 bytes of options: a MSS-like option (kind 2) of length p at
 * offset 4 of the options, after 4 NOPs. */
static void b_tcp_optlen(fb *f, int p)
{
    uint8_t opt[8] = {1, 1, 1, 1, 2, (uint8_t)p, 0, 0};
    eth(f, 0x0800);
    size_t ip = ip4(f, 6);
    tcp(f, 1, 2, 7, opt, sizeof(opt));
    ip4_end(f, ip);
}

/* IPv6 / dest opts (16 bytes) / UDP with 4 payload bytes; the IPv6 payload
 * length is set to 16 + 8 + 4 + p. */
static void b_ip6_plen(fb *f, int p)
{
    size_t ip = ip6(f, 60);
    ext6(f, 17, 1);
    size_t u = udp(f, 1, 2);
    payload(f, "abcd");
    udp_end(f, u);
    set16(f, ip + 4, (unsigned)(28 + p));
}

/* IPv6 with a dest opts header whose Hdr Ext Len is p, and 24 bytes after the
 * IPv6 header in all (a header of (p + 1) * 8 bytes must fit). */
static void b_ip6_extlen(fb *f, int p)
{
    size_t ip = ip6(f, 60);
    put8(f, 59);
    put8(f, (unsigned)p);
    putfill(f, 22, 0);
    ip6_end(f, ip);
}

/* A GRE header with checksum + key + sequence (16 bytes) in an IPv4 datagram
 * of 20 + p bytes. */
static void b_gre_short(fb *f, int p)
{
    eth(f, 0x0800);
    size_t o = ip4(f, 47);
    put16(f, 0xb000);
    put16(f, 0x0800);
    putfill(f, 12, 0);
    putfill(f, 40, 0);
    set16(f, o + 2, (unsigned)(20 + p));
}

/* PPPoE / IPv4 / UDP "raw" (31 bytes of IP) with the LENGTH field 33 + p. */
static void b_pppoe_len(fb *f, int p)
{
    b_pppoe(f, 0);
    set16(f, 14 + 4, (unsigned)(33 + p));
}

typedef struct bound_case {
    const char *name;
    int linktype;
    build_fn build;
    int param;
    int expect;
    long payload_len; /* when expect is PKT_OK; -1 = not checked */
} bound_case;

static const bound_case bounds[] = {
    /* UDP length: 8 <= len <= IP payload (18) */
    {"udp-len-7", 1, b_udp_len, 7, PKT_ERR_BAD_UDP, -1},
    {"udp-len-8", 1, b_udp_len, 8, PKT_OK, 0},
    {"udp-len-9", 1, b_udp_len, 9, PKT_OK, 1},
    {"udp-len-17", 1, b_udp_len, 17, PKT_OK, 9},
    {"udp-len-18", 1, b_udp_len, 18, PKT_OK, 10},
    {"udp-len-19", 1, b_udp_len, 19, PKT_ERR_BAD_UDP, -1},
    {"udp-len-0", 1, b_udp_len, 0, PKT_ERR_BAD_UDP, -1},
    /* IPv4 total length: >= IHL*4 (20), <= captured: more is a cut capture */
    {"ip-tot-19", 1, b_ip_tot, -19, PKT_ERR_BAD_IP, -1},
    {"ip-tot-20-hdr-only", 1, b_ip_tot, -18, PKT_ERR_BAD_UDP, -1},
    {"ip-tot-27-udp-cut", 1, b_ip_tot, -11, PKT_ERR_BAD_UDP, -1},
    {"ip-tot-37-udp-says-more", 1, b_ip_tot, -1, PKT_ERR_BAD_UDP, -1},
    {"ip-tot-38", 1, b_ip_tot, 0, PKT_OK, 10},
    {"ip-tot-39-snaplen", 1, b_ip_tot, 1, PKT_OK, 10},
    {"ip-tot-65535-snaplen", 1, b_ip_tot, 65535 - 38, PKT_OK, 10},
    /* TCP data offset: 5 <= doff, doff*4 <= IP payload (40 bytes = 10 words) */
    {"tcp-doff-4", 1, b_tcp_doff, 4, PKT_ERR_BAD_TCP, -1},
    {"tcp-doff-5", 1, b_tcp_doff, 5, PKT_OK, 20},
    {"tcp-doff-10", 1, b_tcp_doff, 10, PKT_OK, 0},
    {"tcp-doff-11", 1, b_tcp_doff, 11, PKT_ERR_BAD_TCP, -1},
    {"tcp-doff-0", 1, b_tcp_doff, 0, PKT_ERR_BAD_TCP, -1},
    /* TCP option at offset 4 of 8 option bytes: 2 <= length <= 4 */
    {"tcp-opt-len-1", 1, b_tcp_optlen, 1, PKT_ERR_BAD_TCP, -1},
    {"tcp-opt-len-2", 1, b_tcp_optlen, 2, PKT_OK, 0},
    {"tcp-opt-len-3", 1, b_tcp_optlen, 3, PKT_OK, 0},
    {"tcp-opt-len-4", 1, b_tcp_optlen, 4, PKT_OK, 0},
    {"tcp-opt-len-5", 1, b_tcp_optlen, 5, PKT_ERR_BAD_TCP, -1},
    {"tcp-opt-len-255", 1, b_tcp_optlen, 255, PKT_ERR_BAD_TCP, -1},
    /* IPv6 payload length vs. dest opts (16) + UDP (8) + 4 captured */
    {"ip6-plen-15-in-ext", 229, b_ip6_plen, -13, PKT_ERR_BAD_IP, -1},
    {"ip6-plen-16-no-udp", 229, b_ip6_plen, -12, PKT_ERR_BAD_UDP, -1},
    {"ip6-plen-27", 229, b_ip6_plen, -1, PKT_ERR_BAD_UDP, -1},
    {"ip6-plen-28", 229, b_ip6_plen, 0, PKT_OK, 4},
    {"ip6-plen-29-snaplen", 229, b_ip6_plen, 1, PKT_OK, 4},
    {"ip6-plen-1", 229, b_ip6_plen, -27, PKT_ERR_BAD_IP, -1},
    /* IPv6 ext header length: (len+1)*8 <= 24 */
    {"ip6-extlen-1", 229, b_ip6_extlen, 1, PKT_SKIP_L3, -1},
    {"ip6-extlen-2", 229, b_ip6_extlen, 2, PKT_SKIP_L3, -1},
    {"ip6-extlen-3", 229, b_ip6_extlen, 3, PKT_ERR_BAD_IP, -1},
    /* GRE header (16 bytes) inside the IP datagram */
    {"gre-15", 1, b_gre_short, 15, PKT_ERR_ENCAP, -1},
    {"gre-16-empty", 1, b_gre_short, 16, PKT_ERR_BAD_IP, -1},
    {"gre-36", 1, b_gre_short, 36, PKT_ERR_BAD_IP, -1},
    {"gre-3", 1, b_gre_short, 3, PKT_ERR_ENCAP, -1},
    /* PPPoE LENGTH: >= 2, and the IP datagram must fit in LENGTH - 2 */
    {"pppoe-len-32", 1, b_pppoe_len, -1, PKT_ERR_BAD_IP, -1},
    {"pppoe-len-33", 1, b_pppoe_len, 0, PKT_OK, 3},
    {"pppoe-len-34", 1, b_pppoe_len, 1, PKT_OK, 3},
    {"pppoe-len-2", 1, b_pppoe_len, -31, PKT_ERR_BAD_IP, -1},
    {"pppoe-len-1", 1, b_pppoe_len, -32, PKT_ERR_ENCAP, -1},
};

static void test_field_boundaries(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        const bound_case *c = &bounds[i];
        fb f;
        pkt_info in;
        memset(&f, 0, sizeof(f));
        c->build(&f, c->param);
        uint8_t *copy = malloc(f.n);
        assert_non_null(copy);
        memcpy(copy, f.b, f.n);
        int r = pkt_decode(c->linktype, copy, f.n, &in);
        if (r != c->expect)
            fail_msg("%s: got %s, want %s", c->name, pkt_result_name(r),
                     pkt_result_name(c->expect));
        if (c->payload_len >= 0)
            assert_int_equal(in.payload_len, (size_t)c->payload_len);
        free(copy);
    }
}

/* pkt_decode_ip keeps the L2 fields and decodes from the IP header on. */
static void test_decode_ip_keeps_l2(void **state)
{
    (void)state;
    fb f;
    pkt_info in;
    memset(&f, 0, sizeof(f));
    b_eth_udp4(&f, 2);
    assert_int_equal(pkt_decode(1, f.b, f.n, &in), PKT_OK);
    assert_int_equal(in.nvlan, 2);
    const uint8_t *ip = in.ip;
    size_t len = in.ip_len;
    in.encap_depth = 1;
    in.sport = 9;
    assert_int_equal(pkt_decode_ip(ip, len, &in), PKT_OK);
    assert_int_equal(in.nvlan, 2);
    assert_int_equal(in.vlan[0], 100);
    assert_int_equal(in.vlan[1], 101);
    assert_int_equal(in.encap_depth, 1);
    assert_int_equal(in.sport, 5060);
    assert_int_equal(in.payload_len, 7);
    assert_memory_equal(in.payload, "SIP/2.0", 7);
    /* nothing at all */
    assert_int_equal(pkt_decode_ip(NULL, 0, &in), PKT_ERR_TRUNCATED);
    assert_int_equal(pkt_decode(1, NULL, 0, &in), PKT_ERR_TRUNCATED);
    /* version 5 */
    uint8_t v5[20] = {0x55};
    assert_int_equal(pkt_decode_ip(v5, sizeof(v5), &in), PKT_ERR_BAD_IP);
}

static void test_result_names(void **state)
{
    (void)state;
    assert_string_equal(pkt_result_name(PKT_OK), "ok");
    assert_string_equal(pkt_result_name(PKT_FRAGMENT), "fragment");
    assert_string_equal(pkt_result_name(PKT_SKIP_L2), "skip_l2");
    assert_string_equal(pkt_result_name(PKT_SKIP_L3), "skip_l3");
    assert_string_equal(pkt_result_name(PKT_SKIP_SCTP), "sctp");
    assert_string_equal(pkt_result_name(PKT_SKIP_LINKTYPE), "skip_linktype");
    assert_string_equal(pkt_result_name(PKT_ERR_TRUNCATED), "truncated");
    assert_string_equal(pkt_result_name(PKT_ERR_BAD_IP), "bad_ip");
    assert_string_equal(pkt_result_name(PKT_ERR_BAD_UDP), "bad_udp");
    assert_string_equal(pkt_result_name(PKT_ERR_BAD_TCP), "bad_tcp");
    assert_string_equal(pkt_result_name(PKT_ERR_ENCAP), "encap");
    assert_string_equal(pkt_result_name(42), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_expected_output),
        cmocka_unit_test(test_truncation_sweep),
        cmocka_unit_test(test_field_boundaries),
        cmocka_unit_test(test_decode_ip_keeps_l2),
        cmocka_unit_test(test_result_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
