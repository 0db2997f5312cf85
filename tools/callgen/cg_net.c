/*
 * cg_net.c — callgen's packet writer: classic pcap records of Ethernet / IP /
 * UDP or TCP frames, built byte by byte with correct lengths and checksums.
 *
 * Design: a cg_pcap owns its FILE and two scratch buffers sized from constants
 * (the largest transport datagram and the largest frame), so no frame is built
 * on the stack and no VLA is used. Every frame goes through cg_pcap_write, which
 * enforces non-decreasing timestamps and the snaplen; after the first I/O error
 * the writer stays failed.
 *
 * Wire formats written (all multi-byte fields big-endian):
 *   Ethernet II   dst(6) src(6) [TPID TCI]{0,2} ethertype(2); QinQ outer TPID
 *                 0x88a8, single tag and inner tag 0x8100; TCI = VLAN id (PCP 0).
 *                 Frames shorter than 60 bytes are zero-padded to 60, as a
 *                 switch delivers them on a SPAN port (decoders must trust the
 *                 IP/UDP lengths, not the frame length).
 *   IPv4 (RFC 791) IHL 5, TOS 0, DF clear, TTL 64, identification from a 16-bit
 *                 counter per cg_pcap (one per IP packet; all fragments of a
 *                 datagram share it), header checksum.
 *                 Fragments: offset in 8-byte units, MF on all but the last,
 *                 every fragment's IP packet <= mtu.
 *   IPv6 (RFC 8200) traffic class 0, flow label 0, hop limit 64. Fragments carry
 *                 a Fragment header (next header 44) with a 32-bit identification
 *                 from its own counter; the IPv6 header is the unfragmentable part.
 *   UDP (RFC 768) checksum over the IPv4/IPv6 pseudo header, 0 sent as 0xffff
 *                 (mandatory for IPv6, always computed for IPv4 as well).
 *   TCP (RFC 9293) data offset 5 (no options), window 65535, checksum; SYN,
 *                 SYN-ACK, ACK; PSH|ACK data segments each acknowledged by the
 *                 peer 1 us later; FIN|ACK from the client, FIN|ACK from the
 *                 server, last ACK. The cg_link describes the client->server
 *                 direction; server->client frames swap the MAC addresses.
 * The pcap file header and record headers are host-endian (magic a1b2c3d4 as
 * read on this host), version 2.4, microsecond timestamps.
 *
 * Limits: UDP payload <= 65507 (IPv4) / 65527 (IPv6, no jumbograms); TCP
 * segment <= 65000 bytes; mtu 0 means no fragmentation, otherwise it must leave
 * at least 8 bytes of data per fragment. Timestamps up to 2^32 s (classic pcap).
 *
 * SECURITY: writes only; reads nothing from outside except the arguments.
 * Not here: IPv4 options, IPv6 extension headers other than Fragment, TCP
 * options, retransmissions, out-of-order segments.
 */
#include "cg_net.h"

#include "error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CG_PCAP_MAGIC    0xa1b2c3d4u
#define CG_PCAP_SNAPLEN  262144u
#define CG_DLT_EN10MB    1u
#define CG_ETH_HDR       14
#define CG_VLAN_TAG      4
#define CG_ETH_MAX_HDR   (CG_ETH_HDR + 2 * CG_VLAN_TAG)
#define CG_ETH_MIN_FRAME 60
#define CG_IP4_HDR       20
#define CG_IP6_HDR       40
#define CG_IP6_FRAG_HDR  8
#define CG_UDP_HDR       8
#define CG_TCP_HDR       20
#define CG_IP_MAX        65535 /* IPv4 total length / IPv6 payload length */
#define CG_L4_MAX        CG_IP_MAX
#define CG_FRAME_MAX     (CG_ETH_MAX_HDR + CG_IP6_HDR + CG_IP6_FRAG_HDR + CG_IP_MAX)
#define CG_TCP_MAX_DATA  65000
#define CG_TTL           64
#define CG_PROTO_TCP     6
#define CG_PROTO_UDP     17
#define CG_PROTO_FRAG    44

#define CG_TCP_FIN 0x01
#define CG_TCP_SYN 0x02
#define CG_TCP_PSH 0x08
#define CG_TCP_ACK 0x10

struct cg_pcap {
    FILE *f;
    int err;          /* sticky: CS_OK or the first CS_ERR_IO */
    uint64_t last_ts; /* of the previous frame */
    uint64_t frames;
    uint64_t bytes;
    uint16_t ip4_id;             /* next IPv4 identification */
    uint32_t ip6_frag;           /* next IPv6 fragment identification */
    uint8_t l4[CG_L4_MAX];       /* the transport datagram being sent */
    uint8_t frame[CG_FRAME_MAX]; /* the frame being written */
};

static void cg_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void cg_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint16_t cg_inet_sum(const uint8_t *data, size_t len, uint32_t initial)
{
    uint64_t sum = initial;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)data[i] << 8 | data[i + 1];
    if (i < len)
        sum += (uint32_t)data[i] << 8; /* odd byte, padded with zero on the right */
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

cg_pcap *cg_pcap_open(const char *path, char *err, size_t errcap)
{
    if (path == NULL) {
        if (err && errcap)
            snprintf(err, errcap, "no path given");
        return NULL;
    }
    cg_pcap *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        if (err && errcap)
            snprintf(err, errcap, "out of memory");
        return NULL;
    }
    p->f = fopen(path, "wbe");
    if (p->f == NULL) {
        if (err && errcap)
            snprintf(err, errcap, "%s: %s", path, strerror(errno));
        free(p);
        return NULL;
    }
    struct {
        uint32_t magic;
        uint16_t major, minor;
        int32_t thiszone;
        uint32_t sigfigs, snaplen, linktype;
    } hdr = {CG_PCAP_MAGIC, 2, 4, 0, 0, CG_PCAP_SNAPLEN, CG_DLT_EN10MB};
    _Static_assert(sizeof(hdr) == 24, "pcap file header is 24 bytes");
    if (fwrite(&hdr, sizeof(hdr), 1, p->f) != 1) {
        if (err && errcap)
            snprintf(err, errcap, "%s: %s", path, strerror(errno));
        fclose(p->f);
        free(p);
        return NULL;
    }
    p->bytes = sizeof(hdr);
    p->ip4_id = 1;
    p->ip6_frag = 1;
    return p;
}

int cg_pcap_write(cg_pcap *p, uint64_t ts_us, const uint8_t *frame, size_t len)
{
    if (p == NULL || frame == NULL || len == 0 || len > CG_PCAP_SNAPLEN)
        return CS_ERR_INVAL;
    if (p->err != CS_OK)
        return p->err;
    if (p->frames > 0 && ts_us < p->last_ts)
        return CS_ERR_INVAL;
    if (ts_us / 1000000u > UINT32_MAX)
        return CS_ERR_INVAL;
    uint32_t rec[4] = {(uint32_t)(ts_us / 1000000u), (uint32_t)(ts_us % 1000000u), (uint32_t)len,
                       (uint32_t)len};
    if (fwrite(rec, sizeof(rec), 1, p->f) != 1 || fwrite(frame, len, 1, p->f) != 1) {
        p->err = CS_ERR_IO;
        return p->err;
    }
    p->last_ts = ts_us;
    p->frames++;
    p->bytes += sizeof(rec) + len;
    return CS_OK;
}

uint64_t cg_pcap_frames(const cg_pcap *p)
{
    return p->frames;
}

uint64_t cg_pcap_bytes(const cg_pcap *p)
{
    return p->bytes;
}

int cg_pcap_close(cg_pcap *p)
{
    if (p == NULL)
        return CS_OK;
    int rc = p->err;
    if (fclose(p->f) != 0)
        rc = CS_ERR_IO;
    free(p);
    return rc;
}

int cg_addr_parse(const char *ip, uint16_t port, cg_addr *out)
{
    if (ip == NULL || out == NULL)
        return CS_ERR_INVAL;
    cg_addr a;
    memset(&a, 0, sizeof(a));
    a.port = port;
    if (inet_pton(AF_INET, ip, a.ip) == 1) {
        a.family = AF_INET;
    } else if (inet_pton(AF_INET6, ip, a.ip) == 1) {
        a.family = AF_INET6;
    } else {
        return CS_ERR_INVAL;
    }
    *out = a;
    return CS_OK;
}

void cg_addr_format(const cg_addr *a, char *buf, size_t cap)
{
    if (buf == NULL || cap == 0)
        return;
    buf[0] = '\0';
    if (a == NULL || (a->family != AF_INET && a->family != AF_INET6))
        return;
    if (cap > (socklen_t)-1)
        cap = (socklen_t)-1;
    if (inet_ntop(a->family, a->ip, buf, (socklen_t)cap) == NULL)
        buf[0] = '\0';
}

static int cg_link_check(const cg_link *l)
{
    if (l == NULL || l->nvlan < 0 || l->nvlan > 2)
        return CS_ERR_INVAL;
    for (int i = 0; i < l->nvlan; i++) {
        if (l->vlan[i] > 0x0fff)
            return CS_ERR_INVAL;
    }
    return CS_OK;
}

/* Writes the Ethernet header (reversed: MACs swapped) into f; returns its size. */
static size_t cg_eth(uint8_t *f, const cg_link *l, int reversed, uint16_t ethertype)
{
    memcpy(f, reversed ? l->src_mac : l->dst_mac, 6);
    memcpy(f + 6, reversed ? l->dst_mac : l->src_mac, 6);
    size_t o = 12;
    for (int i = 0; i < l->nvlan; i++) {
        uint16_t tpid = (l->nvlan == 2 && i == 0) ? 0x88a8 : 0x8100;
        cg_put16(f + o, tpid);
        cg_put16(f + o + 2, l->vlan[i]);
        o += CG_VLAN_TAG;
    }
    cg_put16(f + o, ethertype);
    return o + 2;
}

/* Sum of the pseudo header (RFC 768 / RFC 8200 section 8.1), folded. */
static uint32_t cg_pseudo_sum(const cg_addr *src, const cg_addr *dst, uint8_t proto, uint32_t l4len)
{
    uint8_t ph[40];
    if (src->family == AF_INET) {
        memcpy(ph, src->ip, 4);
        memcpy(ph + 4, dst->ip, 4);
        ph[8] = 0;
        ph[9] = proto;
        cg_put16(ph + 10, (uint16_t)l4len);
        return cg_inet_sum(ph, 12, 0);
    }
    memcpy(ph, src->ip, 16);
    memcpy(ph + 16, dst->ip, 16);
    cg_put32(ph + 32, l4len);
    ph[36] = ph[37] = ph[38] = 0;
    ph[39] = proto;
    return cg_inet_sum(ph, 40, 0);
}

static void cg_ip4_hdr(uint8_t *h, const cg_addr *src, const cg_addr *dst, uint8_t proto,
                       uint16_t total, uint16_t id, uint16_t frag_field)
{
    h[0] = 0x45;
    h[1] = 0;
    cg_put16(h + 2, total);
    cg_put16(h + 4, id);
    cg_put16(h + 6, frag_field);
    h[8] = CG_TTL;
    h[9] = proto;
    h[10] = h[11] = 0;
    memcpy(h + 12, src->ip, 4);
    memcpy(h + 16, dst->ip, 4);
    cg_put16(h + 10, (uint16_t)~cg_inet_sum(h, CG_IP4_HDR, 0));
}

static void cg_ip6_hdr(uint8_t *h, const cg_addr *src, const cg_addr *dst, uint8_t next,
                       uint16_t payload_len)
{
    cg_put32(h, 0x60000000u);
    cg_put16(h + 4, payload_len);
    h[6] = next;
    h[7] = CG_TTL;
    memcpy(h + 8, src->ip, 16);
    memcpy(h + 24, dst->ip, 16);
}

/* Pads to the Ethernet minimum and writes the frame in p->frame. */
static int cg_emit(cg_pcap *p, uint64_t ts_us, size_t len)
{
    if (len < CG_ETH_MIN_FRAME) {
        memset(p->frame + len, 0, CG_ETH_MIN_FRAME - len);
        len = CG_ETH_MIN_FRAME;
    }
    return cg_pcap_write(p, ts_us, p->frame, len);
}

/*
 * Sends the transport datagram p->l4[0..l4len) as one IP packet or, when mtu
 * is set and the packet does not fit, as fragments of it.
 */
static int cg_ip_send(cg_pcap *p, uint64_t ts_us, const cg_link *l, int reversed,
                      const cg_addr *src, const cg_addr *dst, uint8_t proto, size_t l4len,
                      size_t mtu)
{
    int v6 = src->family == AF_INET6;
    size_t iph = v6 ? CG_IP6_HDR : CG_IP4_HDR;
    size_t eth = cg_eth(p->frame, l, reversed, v6 ? 0x86dd : 0x0800);
    uint8_t *ip = p->frame + eth;

    if (mtu == 0 || iph + l4len <= mtu) {
        if (v6) {
            cg_ip6_hdr(ip, src, dst, proto, (uint16_t)l4len);
        } else {
            cg_ip4_hdr(ip, src, dst, proto, (uint16_t)(iph + l4len), p->ip4_id, 0);
            p->ip4_id++;
        }
        memcpy(ip + iph, p->l4, l4len);
        return cg_emit(p, ts_us, eth + iph + l4len);
    }

    size_t per = v6 ? mtu - CG_IP6_HDR - CG_IP6_FRAG_HDR : mtu - CG_IP4_HDR;
    per &= ~(size_t)7; /* every fragment but the last carries a multiple of 8 */
    uint16_t id4 = 0;
    uint32_t id6 = 0;
    if (v6)
        id6 = p->ip6_frag++;
    else
        id4 = p->ip4_id++;
    for (size_t off = 0; off < l4len; off += per) {
        size_t n = l4len - off < per ? l4len - off : per;
        int more = off + n < l4len;
        /* IPv4: flags(3) offset(13); IPv6 Fragment header: offset(13) res(2) M(1). */
        uint16_t frag_field;
        if (v6)
            frag_field = (uint16_t)((off / 8) << 3 | (more ? 1u : 0u));
        else
            frag_field = (uint16_t)((off / 8) | (more ? 0x2000u : 0u));
        size_t hdr;
        if (v6) {
            cg_ip6_hdr(ip, src, dst, CG_PROTO_FRAG, (uint16_t)(CG_IP6_FRAG_HDR + n));
            uint8_t *fh = ip + CG_IP6_HDR;
            fh[0] = proto;
            fh[1] = 0;
            cg_put16(fh + 2, frag_field);
            cg_put32(fh + 4, id6);
            hdr = CG_IP6_HDR + CG_IP6_FRAG_HDR;
        } else {
            cg_ip4_hdr(ip, src, dst, proto, (uint16_t)(CG_IP4_HDR + n), id4, frag_field);
            hdr = CG_IP4_HDR;
        }
        memcpy(ip + hdr, p->l4 + off, n);
        int rc = cg_emit(p, ts_us, eth + hdr + n);
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}

static int cg_pair_check(const cg_addr *src, const cg_addr *dst)
{
    if (src == NULL || dst == NULL || src->family != dst->family)
        return CS_ERR_INVAL;
    if (src->family != AF_INET && src->family != AF_INET6)
        return CS_ERR_INVAL;
    return CS_OK;
}

int cg_net_udp(cg_pcap *p, uint64_t ts_us, const cg_link *l, const cg_addr *src, const cg_addr *dst,
               const uint8_t *payload, size_t len, size_t mtu)
{
    if (p == NULL || cg_link_check(l) != CS_OK || cg_pair_check(src, dst) != CS_OK)
        return CS_ERR_INVAL;
    if (payload == NULL && len > 0)
        return CS_ERR_INVAL;
    int v6 = src->family == AF_INET6;
    size_t max = v6 ? CG_IP_MAX - CG_UDP_HDR : CG_IP_MAX - CG_IP4_HDR - CG_UDP_HDR;
    if (len > max)
        return CS_ERR_INVAL;
    size_t min_mtu = (v6 ? CG_IP6_HDR + CG_IP6_FRAG_HDR : CG_IP4_HDR) + 8;
    if (mtu > 0 && mtu < min_mtu)
        return CS_ERR_INVAL;
    if (p->err != CS_OK)
        return p->err;
    if (p->frames > 0 && ts_us < p->last_ts)
        return CS_ERR_INVAL; /* before any fragment is written */

    size_t l4len = CG_UDP_HDR + len;
    uint8_t *u = p->l4;
    cg_put16(u, src->port);
    cg_put16(u + 2, dst->port);
    cg_put16(u + 4, (uint16_t)l4len);
    cg_put16(u + 6, 0);
    if (len > 0)
        memcpy(u + CG_UDP_HDR, payload, len);
    uint16_t sum = cg_inet_sum(u, l4len, cg_pseudo_sum(src, dst, CG_PROTO_UDP, (uint32_t)l4len));
    uint16_t csum = (uint16_t)~sum;
    cg_put16(u + 6, csum == 0 ? 0xffff : csum);
    return cg_ip_send(p, ts_us, l, 0, src, dst, CG_PROTO_UDP, l4len, mtu);
}

/* One TCP segment; reversed = server to client. */
static int cg_tcp_segment(cg_pcap *p, uint64_t ts_us, const cg_link *l, const cg_tcp *t,
                          int reversed, uint32_t seq, uint32_t ack, uint8_t flags,
                          const uint8_t *data, size_t len)
{
    const cg_addr *src = reversed ? &t->server : &t->client;
    const cg_addr *dst = reversed ? &t->client : &t->server;
    size_t l4len = CG_TCP_HDR + len;
    uint8_t *s = p->l4;
    cg_put16(s, src->port);
    cg_put16(s + 2, dst->port);
    cg_put32(s + 4, seq);
    cg_put32(s + 8, (flags & CG_TCP_ACK) ? ack : 0);
    s[12] = (CG_TCP_HDR / 4) << 4;
    s[13] = flags;
    cg_put16(s + 14, 65535);
    cg_put16(s + 16, 0);
    cg_put16(s + 18, 0);
    if (len > 0)
        memcpy(s + CG_TCP_HDR, data, len);
    uint16_t sum = cg_inet_sum(s, l4len, cg_pseudo_sum(src, dst, CG_PROTO_TCP, (uint32_t)l4len));
    cg_put16(s + 16, (uint16_t)~sum);
    return cg_ip_send(p, ts_us, l, reversed, src, dst, CG_PROTO_TCP, l4len, 0);
}

/* A 32-bit mix (the murmur3 finaliser): spreads a seed into an ISN. */
static uint32_t cg_mix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static int cg_tcp_args(cg_pcap *p, uint64_t ts_us, const cg_link *l, const cg_tcp *t)
{
    if (p == NULL || t == NULL || cg_link_check(l) != CS_OK)
        return CS_ERR_INVAL;
    if (p->err != CS_OK)
        return p->err;
    if (p->frames > 0 && ts_us < p->last_ts)
        return CS_ERR_INVAL;
    return CS_OK;
}

int cg_tcp_connect(cg_pcap *p, uint64_t ts_us, const cg_link *l, cg_tcp *t, const cg_addr *client,
                   const cg_addr *server, uint32_t isn_seed)
{
    int rc = cg_tcp_args(p, ts_us, l, t);
    if (rc != CS_OK)
        return rc;
    if (cg_pair_check(client, server) != CS_OK)
        return CS_ERR_INVAL;
    memset(t, 0, sizeof(*t));
    t->client = *client;
    t->server = *server;
    uint32_t isn_c = cg_mix32(isn_seed);
    uint32_t isn_s = cg_mix32(isn_seed ^ 0x5bd1e995u);
    rc = cg_tcp_segment(p, ts_us, l, t, 0, isn_c, 0, CG_TCP_SYN, NULL, 0);
    if (rc == CS_OK)
        rc = cg_tcp_segment(p, ts_us + 1, l, t, 1, isn_s, isn_c + 1, CG_TCP_SYN | CG_TCP_ACK, NULL,
                            0);
    if (rc == CS_OK)
        rc = cg_tcp_segment(p, ts_us + 2, l, t, 0, isn_c + 1, isn_s + 1, CG_TCP_ACK, NULL, 0);
    if (rc != CS_OK)
        return rc;
    t->seq_client = isn_c + 1;
    t->seq_server = isn_s + 1;
    t->open = 1;
    return CS_OK;
}

int cg_tcp_send(cg_pcap *p, uint64_t ts_us, const cg_link *l, cg_tcp *t, int from_client,
                const uint8_t *data, size_t len)
{
    int rc = cg_tcp_args(p, ts_us, l, t);
    if (rc != CS_OK)
        return rc;
    if (data == NULL || len == 0 || len > CG_TCP_MAX_DATA)
        return CS_ERR_INVAL;
    if (!t->open)
        return CS_ERR_STATE;
    int rev = !from_client;
    uint32_t *mine = from_client ? &t->seq_client : &t->seq_server;
    uint32_t *peer = from_client ? &t->seq_server : &t->seq_client;
    rc = cg_tcp_segment(p, ts_us, l, t, rev, *mine, *peer, CG_TCP_PSH | CG_TCP_ACK, data, len);
    if (rc != CS_OK)
        return rc;
    *mine += (uint32_t)len;
    return cg_tcp_segment(p, ts_us + 1, l, t, !rev, *peer, *mine, CG_TCP_ACK, NULL, 0);
}

int cg_tcp_close(cg_pcap *p, uint64_t ts_us, const cg_link *l, cg_tcp *t)
{
    int rc = cg_tcp_args(p, ts_us, l, t);
    if (rc != CS_OK)
        return rc;
    if (!t->open)
        return CS_ERR_STATE;
    uint32_t c = t->seq_client, s = t->seq_server;
    rc = cg_tcp_segment(p, ts_us, l, t, 0, c, s, CG_TCP_FIN | CG_TCP_ACK, NULL, 0);
    if (rc == CS_OK)
        rc = cg_tcp_segment(p, ts_us + 1, l, t, 1, s, c + 1, CG_TCP_FIN | CG_TCP_ACK, NULL, 0);
    if (rc == CS_OK)
        rc = cg_tcp_segment(p, ts_us + 2, l, t, 0, c + 1, s + 1, CG_TCP_ACK, NULL, 0);
    if (rc != CS_OK)
        return rc;
    t->seq_client = c + 1;
    t->seq_server = s + 1;
    t->open = 0;
    return CS_OK;
}
