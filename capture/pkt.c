/*
 * pkt.c — one captured frame, decoded from its link layer down to the UDP or
 * TCP payload (pkt.h).
 *
 * Design: a chain of small decoders, each taking (p, cap, lim) where cap is
 * the number of bytes actually captured from p on and lim the number of bytes
 * the enclosing layer declares (SIZE_MAX where nothing declares a length, as
 * for the outermost IP header). A header that runs past lim is malformed
 * (PKT_ERR_BAD_*); one that stays within lim but runs past cap was cut by the
 * capture's snap length (PKT_ERR_TRUNCATED). Payload bytes past cap are not an
 * error: the payload is reported as captured, so a snaplen-cut SIP message is
 * still seen (and will fail its own parser if it matters).
 *
 * Layers: link type -> (Ethernet/VLAN | SLL | SLL2 | raw | BSD loopback) ->
 * ethertype (-> PPPoE session -> PPP) -> IPv4 / IPv6 (+ extension headers) -> UDP | TCP | SCTP |
 * IP-in-IP | GRE -> (IP | transparent Ethernet | ERSPAN I/II/III -> Ethernet).
 * Tunnels (IP-in-IP, GRE) recurse at most CS_MAX_ENCAP_DEPTH times; VLAN tags
 * at most PKT_MAX_VLAN_TAGS per Ethernet header; IPv6 extension headers at most
 * PKT_MAX_IPV6_EXT per IPv6 header. So every frame costs O(caplen) at worst and
 * the recursion depth is bounded.
 *
 * Fragments: an IPv4 fragment (MF set or offset != 0) or an IPv6 datagram with
 * a Fragment header (other than an atomic fragment, RFC 6946, which is decoded
 * as if the header were absent) is reported as PKT_FRAGMENT with frag_* set
 * and is not decoded further; ipfrag.c reassembles and calls pkt_decode_ip().
 * A fragment whose bytes were not all captured is PKT_ERR_TRUNCATED: it could
 * not be reassembled correctly.
 *
 * Not here: checksums (UDP/TCP/IP checksums are not verified: SPAN copies of
 * offloaded traffic carry wrong ones), MPLS, PPPoE discovery, 802.11, TCP
 * state.
 *
 * SECURITY: all input is hostile. Every read is preceded by a length check
 * against cap; lengths from the wire are compared with lim and cap before use
 * and never used to size anything. No allocation, no globals, no logging.
 *
 * BUGS: 802.3 frames with LLC/SNAP headers are skipped even when SNAP carries
 * IP. GRE with the (deprecated, RFC 1701) routing bit and enhanced GRE
 * (version 1, PPTP) are not followed. The IPv6 Hop-by-Hop header is accepted
 * anywhere in the chain, not only first. ERSPAN III frames whose frame type is
 * not Ethernet are skipped.
 */
#include "pkt.h"

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "limits.h"

/* Link types (LINKTYPE_ / DLT_ numbers as pcap_datalink() returns them). */
enum {
    PKT_DLT_NULL = 0,
    PKT_DLT_EN10MB = 1,
    PKT_DLT_RAW = 12,        /* DLT_RAW on Linux and most systems */
    PKT_DLT_LINKTYPE_RAW = 101,
    PKT_DLT_LOOP = 108,
    PKT_DLT_LINUX_SLL = 113,
    PKT_DLT_IPV4 = 228,
    PKT_DLT_IPV6 = 229,
    PKT_DLT_LINUX_SLL2 = 276,
};

#define PKT_MAX_VLAN_TAGS CS_MAX_ENCAP_DEPTH /* 802.1Q/ad tags per Ethernet header */
#define PKT_MAX_IPV6_EXT 8 /* IPv6 extension headers followed per IPv6 header */

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88A8
#define ETH_QINQ_OLD 0x9100
#define ETH_PPPOE 0x8864     /* PPPoE session stage */
#define GRE_TEB 0x6558      /* transparent Ethernet bridging */
#define GRE_ERSPAN2 0x88BE  /* ERSPAN type I (no S bit) and type II */
#define GRE_ERSPAN3 0x22EB

static int dec_ether(const uint8_t *p, size_t cap, size_t lim, pkt_info *out);
static int dec_ip(const uint8_t *p, size_t cap, size_t lim, int want, pkt_info *out);

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

const char *pkt_result_name(int r)
{
    switch (r) {
    case PKT_OK:
        return "ok";
    case PKT_FRAGMENT:
        return "fragment";
    case PKT_SKIP_L2:
        return "skip_l2";
    case PKT_SKIP_L3:
        return "skip_l3";
    case PKT_SKIP_SCTP:
        return "sctp";
    case PKT_SKIP_LINKTYPE:
        return "skip_linktype";
    case PKT_ERR_TRUNCATED:
        return "truncated";
    case PKT_ERR_BAD_IP:
        return "bad_ip";
    case PKT_ERR_BAD_UDP:
        return "bad_udp";
    case PKT_ERR_BAD_TCP:
        return "bad_tcp";
    case PKT_ERR_ENCAP:
        return "encap";
    default:
        return "unknown";
    }
}

/* A tunnel is entered: counts it and refuses nesting past the bound. */
static int enter_tunnel(pkt_info *out)
{
    if (out->encap_depth >= CS_MAX_ENCAP_DEPTH)
        return PKT_ERR_ENCAP;
    out->encap_depth++;
    return PKT_OK;
}

/*
 * RFC 768:
 *   0      7 8     15 16    23 24    31
 *  |     Source      |   Destination   |
 *  |      Port       |      Port       |
 *  |     Length      |    Checksum     |
 * Length counts header and data, so 8 <= Length <= IP payload length.
 */
static int dec_udp(const uint8_t *p, size_t cap, size_t lim, pkt_info *out)
{
    if (lim < 8)
        return PKT_ERR_BAD_UDP;
    if (cap < 8)
        return PKT_ERR_TRUNCATED;
    size_t ulen = rd16(p + 4);
    if (ulen < 8 || ulen > lim)
        return PKT_ERR_BAD_UDP;
    out->sport = rd16(p);
    out->dport = rd16(p + 2);
    out->payload = p + 8;
    out->payload_len = min_sz(ulen, cap) - 8;
    return PKT_OK;
}

/*
 * RFC 9293 section 3.1:
 *  |          Source Port          |       Destination Port        |
 *  |                        Sequence Number                        |
 *  |                    Acknowledgment Number                      |
 *  |  Data |       |C|E|U|A|P|R|S|F|                               |
 *  | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *  |           Checksum            |         Urgent Pointer        |
 *  |                           [Options]                           |
 * Options: kind 0 (end of list) and 1 (no-op) are one byte; every other kind
 * is kind, length (>= 2, counting both), data — and must end inside the header.
 */
static int dec_tcp(const uint8_t *p, size_t cap, size_t lim, pkt_info *out)
{
    if (lim < 20)
        return PKT_ERR_BAD_TCP;
    if (cap < 20)
        return PKT_ERR_TRUNCATED;
    size_t hl = (size_t)(p[12] >> 4) * 4;
    if (hl < 20 || hl > lim)
        return PKT_ERR_BAD_TCP;
    if (hl > cap)
        return PKT_ERR_TRUNCATED;
    size_t i = 20;
    while (i < hl) {
        uint8_t kind = p[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= hl)
            return PKT_ERR_BAD_TCP;
        size_t olen = p[i + 1];
        if (olen < 2 || olen > hl - i)
            return PKT_ERR_BAD_TCP;
        i += olen;
    }
    out->sport = rd16(p);
    out->dport = rd16(p + 2);
    out->tcp_seq = rd32(p + 4);
    out->tcp_ack = rd32(p + 8);
    out->tcp_flags = p[13];
    out->payload = p + hl;
    out->payload_len = cap - hl;
    return PKT_OK;
}

/*
 * ERSPAN type II (draft-foschiano-erspan, section 4.1), after the GRE header:
 *  |  Ver  |          VLAN         | COS | En|T|    Session ID     |
 *  |      Reserved         |                  Index                |
 * ERSPAN type III (section 4.2):
 *  |  Ver  |          VLAN         | COS |BSO|T|     Session ID    |
 *  |                          Timestamp                            |
 *  |             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
 *  [ 8-byte platform specific subheader when O = 1 ]
 * Ver is 1 for type II, 2 for type III; FT 0 means an Ethernet frame follows.
 * Type I is GRE protocol 0x88BE without the S bit and without this header.
 */
static int dec_erspan(uint16_t type, int seq_bit, const uint8_t *p, size_t cap, size_t lim,
                      pkt_info *out)
{
    size_t hl;
    if (type == GRE_ERSPAN2) {
        if (!seq_bit)
            return dec_ether(p, cap, lim, out); /* type I */
        hl = 8;
        if (lim < hl)
            return PKT_ERR_ENCAP;
        if (cap < hl)
            return PKT_ERR_TRUNCATED;
        if ((p[0] >> 4) != 1)
            return PKT_ERR_ENCAP;
    } else {
        hl = 12;
        if (lim < hl)
            return PKT_ERR_ENCAP;
        if (cap < hl)
            return PKT_ERR_TRUNCATED;
        if ((p[0] >> 4) != 2)
            return PKT_ERR_ENCAP;
        unsigned ft = (p[10] >> 2) & 0x1f;
        if (p[11] & 1)
            hl += 8;
        if (lim < hl)
            return PKT_ERR_ENCAP;
        if (cap < hl)
            return PKT_ERR_TRUNCATED;
        if (ft != 0)
            return PKT_SKIP_L2;
    }
    return dec_ether(p + hl, cap - hl, lim - hl, out);
}

/*
 * RFC 2784 + RFC 2890:
 *  |C| |K|S| Reserved0       | Ver |         Protocol Type         |
 *  |      Checksum (optional)      |       Reserved1 (Optional)    |
 *  |                         Key (optional)                        |
 *  |                 Sequence Number (Optional)                    |
 * "A receiver MUST discard a packet where any of bits 1-5 are non-zero" (bit 1
 * is RFC 1701's routing bit, bit 4 strict source route; bits 2-3 became K and
 * S), and bits 5-7 of the first octet are the RFC 1701 recursion control.
 */
static int dec_gre(const uint8_t *p, size_t cap, size_t lim, pkt_info *out)
{
    if (lim < 4)
        return PKT_ERR_ENCAP;
    if (cap < 4)
        return PKT_ERR_TRUNCATED;
    uint16_t flags = rd16(p);
    unsigned ver = flags & 7;
    if (ver == 1)
        return PKT_SKIP_L3; /* enhanced GRE (PPTP) carries PPP */
    if (ver != 0 || (flags & 0x4000) || (flags & 0x0800) || (flags & 0x0700))
        return PKT_ERR_ENCAP;
    size_t hl = 4;
    if (flags & 0x8000)
        hl += 4;
    if (flags & 0x2000)
        hl += 4;
    if (flags & 0x1000)
        hl += 4;
    if (hl > lim)
        return PKT_ERR_ENCAP;
    if (hl > cap)
        return PKT_ERR_TRUNCATED;
    int r = enter_tunnel(out);
    if (r != PKT_OK)
        return r;
    uint16_t type = rd16(p + 2);
    p += hl;
    cap -= hl;
    lim -= hl;
    switch (type) {
    case ETH_IPV4:
        return dec_ip(p, cap, lim, 4, out);
    case ETH_IPV6:
        return dec_ip(p, cap, lim, 6, out);
    case GRE_TEB:
        return dec_ether(p, cap, lim, out);
    case GRE_ERSPAN2:
    case GRE_ERSPAN3:
        return dec_erspan(type, (flags & 0x1000) != 0, p, cap, lim, out);
    default:
        return PKT_SKIP_L2;
    }
}

/* The transport (or tunnel) protocol of an IP datagram: p..cap are the bytes
 * after the IP headers as captured, lim what the IP header declares. */
static int dec_l4(uint8_t proto, const uint8_t *p, size_t cap, size_t lim, pkt_info *out)
{
    int r;
    switch (proto) {
    case PKT_PROTO_UDP:
        return dec_udp(p, cap, lim, out);
    case PKT_PROTO_TCP:
        return dec_tcp(p, cap, lim, out);
    case PKT_PROTO_SCTP:
        /* RFC 9260: source port, destination port, tag, checksum. */
        if (cap >= 4) {
            out->sport = rd16(p);
            out->dport = rd16(p + 2);
        }
        return PKT_SKIP_SCTP;
    case 4:  /* IPv4 in IP (RFC 2003) */
    case 41: /* IPv6 in IP (RFC 4213) */
        r = enter_tunnel(out);
        if (r != PKT_OK)
            return r;
        return dec_ip(p, cap, lim, proto == 4 ? 4 : 6, out);
    case 47:
        return dec_gre(p, cap, lim, out);
    default:
        return PKT_SKIP_L3;
    }
}

/*
 * RFC 791 section 3.1:
 *  |Version|  IHL  |Type of Service|          Total Length         |
 *  |         Identification        |Flags|      Fragment Offset    |
 *  |  Time to Live |    Protocol   |         Header Checksum       |
 *  |                       Source Address                          |
 *  |                    Destination Address                        |
 *  |                    Options                    |    Padding    |
 * IHL >= 5 words; Total Length >= IHL * 4; Flags bit 2 = MF; the offset counts
 * 8-byte units.
 */
static int dec_ipv4(const uint8_t *p, size_t cap, size_t lim, pkt_info *out)
{
    if (cap < 20)
        return lim < 20 ? PKT_ERR_BAD_IP : PKT_ERR_TRUNCATED;
    if ((p[0] >> 4) != 4)
        return PKT_ERR_BAD_IP;
    size_t hl = (size_t)(p[0] & 0x0f) * 4;
    size_t tot = rd16(p + 2);
    if (hl < 20 || tot < hl || tot > lim)
        return PKT_ERR_BAD_IP;
    if (hl > cap)
        return PKT_ERR_TRUNCATED;
    size_t dlen = min_sz(tot, cap);
    out->family = AF_INET;
    memset(out->src, 0, sizeof(out->src));
    memset(out->dst, 0, sizeof(out->dst));
    memcpy(out->src, p + 12, 4);
    memcpy(out->dst, p + 16, 4);
    out->proto = p[9];
    out->ip = p;
    out->ip_len = dlen;
    uint16_t fo = rd16(p + 6);
    if (fo & 0x3fff) {
        if (tot > cap)
            return PKT_ERR_TRUNCATED;
        out->frag_id = rd16(p + 4);
        out->frag_offset = (uint32_t)(fo & 0x1fff) * 8;
        out->frag_more = (fo & 0x2000) != 0;
        out->frag_data = p + hl;
        out->frag_len = tot - hl;
        out->frag_next = p[9];
        return PKT_FRAGMENT;
    }
    return dec_l4(p[9], p + hl, dlen - hl, tot - hl, out);
}

/*
 * RFC 8200 section 3:
 *  |Version| Traffic Class |           Flow Label                  |
 *  |         Payload Length        |  Next Header  |   Hop Limit   |
 *  |                         Source Address (128)                  |
 *  |                      Destination Address (128)                |
 * Section 4: Hop-by-Hop (0), Routing (43) and Destination Options (60) are
 *  | Next Header  |  Hdr Ext Len  | ... (Hdr Ext Len + 1) * 8 bytes in all
 * Section 4.5, Fragment (44), 8 bytes:
 *  |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 *  |                         Identification                        |
 * No Next Header is 59.
 */
static int dec_ipv6(const uint8_t *p, size_t cap, size_t lim, pkt_info *out)
{
    if (cap < 40)
        return lim < 40 ? PKT_ERR_BAD_IP : PKT_ERR_TRUNCATED;
    if ((p[0] >> 4) != 6)
        return PKT_ERR_BAD_IP;
    size_t tot = 40 + (size_t)rd16(p + 4);
    if (tot > lim)
        return PKT_ERR_BAD_IP;
    size_t dlen = min_sz(tot, cap);
    out->family = AF_INET6;
    memcpy(out->src, p + 8, 16);
    memcpy(out->dst, p + 24, 16);
    out->ip = p;
    out->ip_len = dlen;
    uint8_t nh = p[6];
    size_t off = 40;
    int next_ext = 0;
    for (;;) {
        out->proto = nh;
        if (nh == 0 || nh == 43 || nh == 60) {
            if (++next_ext > PKT_MAX_IPV6_EXT)
                return PKT_ERR_BAD_IP;
            if (tot - off < 2)
                return PKT_ERR_BAD_IP;
            if (dlen - off < 2)
                return PKT_ERR_TRUNCATED;
            size_t hl = ((size_t)p[off + 1] + 1) * 8;
            if (tot - off < hl)
                return PKT_ERR_BAD_IP;
            if (dlen - off < hl)
                return PKT_ERR_TRUNCATED;
            nh = p[off];
            off += hl;
        } else if (nh == 44) {
            if (++next_ext > PKT_MAX_IPV6_EXT)
                return PKT_ERR_BAD_IP;
            if (tot - off < 8)
                return PKT_ERR_BAD_IP;
            if (dlen - off < 8)
                return PKT_ERR_TRUNCATED;
            uint16_t fo = rd16(p + off + 2);
            uint8_t fnh = p[off];
            if ((fo & 0xfff8) == 0 && (fo & 1) == 0) {
                nh = fnh; /* atomic fragment (RFC 6946): a whole datagram */
                off += 8;
                continue;
            }
            if (tot > cap)
                return PKT_ERR_TRUNCATED;
            out->proto = fnh;
            out->frag_id = rd32(p + off + 4);
            out->frag_offset = fo & 0xfff8;
            out->frag_more = fo & 1;
            out->frag_data = p + off + 8;
            out->frag_len = tot - off - 8;
            out->frag_next = fnh;
            return PKT_FRAGMENT;
        } else if (nh == 59) {
            return PKT_SKIP_L3;
        } else {
            break;
        }
    }
    return dec_l4(nh, p + off, dlen - off, tot - off, out);
}

/* want: 4 or 6 when the enclosing layer names the version, 0 to take it from
 * the first nibble. */
static int dec_ip(const uint8_t *p, size_t cap, size_t lim, int want, pkt_info *out)
{
    if (cap < 1)
        return lim < 1 ? PKT_ERR_BAD_IP : PKT_ERR_TRUNCATED;
    int v = p[0] >> 4;
    if (want && v != want)
        return PKT_ERR_BAD_IP;
    if (v == 4)
        return dec_ipv4(p, cap, lim, out);
    if (v == 6)
        return dec_ipv6(p, cap, lim, out);
    return PKT_ERR_BAD_IP;
}

/*
 * RFC 2516 section 4 (PPPoE session stage, ethertype 0x8864):
 *  |  VER  | TYPE  |      CODE     |          SESSION_ID           |
 *  |            LENGTH             |           payload             ~
 * VER = TYPE = 1, CODE = 0; LENGTH counts the payload, which starts with the
 * PPP protocol field (RFC 1661): 0x0021 IPv4, 0x0057 IPv6 (RFC 5072).
 */
static int dec_pppoe(const uint8_t *p, size_t cap, size_t lim, pkt_info *out)
{
    if (lim < 8)
        return PKT_ERR_ENCAP;
    if (cap < 8)
        return PKT_ERR_TRUNCATED;
    size_t plen = rd16(p + 4);
    if (p[0] != 0x11 || p[1] != 0 || plen < 2 || plen > lim - 6)
        return PKT_ERR_ENCAP;
    uint16_t proto = rd16(p + 6);
    if (proto == 0x0021)
        return dec_ip(p + 8, cap - 8, plen - 2, 4, out);
    if (proto == 0x0057)
        return dec_ip(p + 8, cap - 8, plen - 2, 6, out);
    return PKT_SKIP_L2; /* LCP, IPCP, ... */
}

/* An ethertype at p[-2..-1] with the bytes after it; follows 802.1Q/802.1ad
 * tags (IEEE 802.1Q: TPID, then TCI = PCP(3) DEI(1) VID(12), then the next
 * type). Types below 0x0600 are 802.3 lengths: an LLC frame. */
static int dec_ethertype(uint16_t type, const uint8_t *p, size_t cap, size_t lim,
                         pkt_info *out)
{
    int tags = 0;
    while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
        if (++tags > PKT_MAX_VLAN_TAGS)
            return PKT_ERR_ENCAP;
        if (cap < 4)
            return PKT_ERR_TRUNCATED;
        if (out->nvlan < 2)
            out->vlan[out->nvlan] = rd16(p) & 0x0fff;
        out->nvlan++;
        type = rd16(p + 2);
        p += 4;
        cap -= 4;
        lim = lim == SIZE_MAX ? lim : lim - min_sz(lim, 4);
    }
    if (type == ETH_PPPOE)
        return dec_pppoe(p, cap, lim, out);
    if (type == ETH_IPV4)
        return dec_ip(p, cap, lim, 4, out);
    if (type == ETH_IPV6)
        return dec_ip(p, cap, lim, 6, out);
    return PKT_SKIP_L2;
}

/* IEEE 802.3 / Ethernet II: destination (6), source (6), type or length (2). */
static int dec_ether(const uint8_t *p, size_t cap, size_t lim, pkt_info *out)
{
    if (cap < 14)
        return lim < 14 ? PKT_ERR_ENCAP : PKT_ERR_TRUNCATED;
    uint16_t type = rd16(p + 12);
    if (type < 0x0600)
        return PKT_SKIP_L2; /* 802.3 length: LLC / SNAP */
    return dec_ethertype(type, p + 14, cap - 14, lim == SIZE_MAX ? lim : lim - 14, out);
}

/*
 * BSD loopback: a 4-byte address family, in the capturing host's byte order
 * for DLT_NULL and in network order for DLT_LOOP. AF_INET is 2 everywhere;
 * AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
 */
static int family_of(uint32_t fam)
{
    if (fam == 2)
        return 4;
    if (fam == 24 || fam == 28 || fam == 30)
        return 6;
    return 0;
}

static int dec_loop(int linktype, const uint8_t *p, size_t cap, pkt_info *out)
{
    if (cap < 4)
        return PKT_ERR_TRUNCATED;
    int v = family_of(rd32(p));
    if (!v && linktype == PKT_DLT_NULL)
        v = family_of(rd32le(p));
    if (!v)
        return PKT_SKIP_L2;
    return dec_ip(p + 4, cap - 4, SIZE_MAX, v, out);
}

int pkt_decode(int linktype, const uint8_t *data, size_t caplen, pkt_info *out)
{
    /* zeroed in 64-byte pieces: the compiler writes those with vector
     * stores, where one memset of the whole struct became `rep stos`, whose
     * start-up cost was 2 % of the read loop in bench/capture */
    _Static_assert(sizeof(*out) <= 192, "pkt_info: three pieces");
    memset(out, 0, sizeof(*out) < 64 ? sizeof(*out) : 64);
    if (sizeof(*out) > 64)
        memset((char *)out + 64, 0, sizeof(*out) < 128 ? sizeof(*out) - 64 : 64);
    if (sizeof(*out) > 128)
        memset((char *)out + 128, 0, sizeof(*out) - 128);
    if (!data)
        caplen = 0;
    switch (linktype) {
    case PKT_DLT_EN10MB:
        return dec_ether(data, caplen, SIZE_MAX, out);
    case PKT_DLT_LINUX_SLL:
        /* packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2) */
        if (caplen < 16)
            return PKT_ERR_TRUNCATED;
        return dec_ethertype(rd16(data + 14), data + 16, caplen - 16, SIZE_MAX, out);
    case PKT_DLT_LINUX_SLL2:
        /* protocol(2) reserved(2) ifindex(4) ARPHRD type(2) packet type(1)
         * address length(1) address(8) */
        if (caplen < 20)
            return PKT_ERR_TRUNCATED;
        return dec_ethertype(rd16(data), data + 20, caplen - 20, SIZE_MAX, out);
    case PKT_DLT_RAW:
    case PKT_DLT_LINKTYPE_RAW:
        return dec_ip(data, caplen, SIZE_MAX, 0, out);
    case PKT_DLT_IPV4:
        return dec_ip(data, caplen, SIZE_MAX, 4, out);
    case PKT_DLT_IPV6:
        return dec_ip(data, caplen, SIZE_MAX, 6, out);
    case PKT_DLT_NULL:
    case PKT_DLT_LOOP:
        return dec_loop(linktype, data, caplen, out);
    default:
        return PKT_SKIP_LINKTYPE;
    }
}

int pkt_decode_ip(const uint8_t *ip, size_t len, pkt_info *out)
{
    int nvlan = out->nvlan;
    uint16_t vlan0 = out->vlan[0], vlan1 = out->vlan[1];
    int depth = out->encap_depth;
    memset(out, 0, sizeof(*out));
    out->nvlan = nvlan;
    out->vlan[0] = vlan0;
    out->vlan[1] = vlan1;
    out->encap_depth = depth;
    if (!ip)
        len = 0;
    return dec_ip(ip, len, SIZE_MAX, 0, out);
}
