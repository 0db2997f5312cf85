/*
 * pkt.h — decoding one captured frame down to its transport payload.
 *
 * Link layers: Ethernet II (with any number of 802.1Q / 802.1ad QinQ tags,
 * up to CS_MAX_ENCAP_DEPTH... kept: the first two VLAN ids), Linux cooked
 * capture v1 (DLT_LINUX_SLL) and v2 (DLT_LINUX_SLL2), raw IP (DLT_RAW,
 * DLT_IPV4, DLT_IPV6), BSD loopback (DLT_NULL, DLT_LOOP).
 * Network: IPv4 (options skipped), IPv6 with extension headers (hop-by-hop,
 * routing, destination options, fragment), IP-in-IP (IPv4/IPv6 in either),
 * GRE (incl. ERSPAN type II/III carrying Ethernet) — the innermost IP header
 * is the one reported. Transport: UDP, TCP (header and options validated),
 * SCTP (recognised and reported as PKT_SKIP_SCTP: not decoded).
 *
 * SECURITY: every byte comes from the wire. pkt_decode() takes (data,
 * caplen), never reads past caplen, trusts no length field without checking
 * it against what was captured, and never allocates. It is pure: no globals,
 * no logging.
 *
 * IP fragments are not reassembled here: a fragment is reported with
 * PKT_FRAGMENT and the fragment fields filled; the caller hands it to the
 * reassembler (ipfrag.h), which calls pkt_decode_ip() on the whole datagram.
 *
 * Ownership: pkt_info's pointers borrow from the caller's buffer.
 */
#ifndef CALLSCOPE_CAPTURE_PKT_H
#define CALLSCOPE_CAPTURE_PKT_H

#include <stddef.h>
#include <stdint.h>

/* What pkt_decode found. Negative values are malformed frames (counted by
 * reason); PKT_SKIP_* are well-formed frames that carry nothing for us. */
typedef enum pkt_result {
    PKT_OK = 0,            /* transport payload found (UDP or TCP) */
    PKT_FRAGMENT = 1,      /* an IP fragment: see frag_* fields */
    PKT_SKIP_L2 = 2,       /* not IP (ARP, LLDP, STP, ...) */
    PKT_SKIP_L3 = 3,       /* IP carrying another protocol (ICMP, ESP, OSPF, ...) */
    PKT_SKIP_SCTP = 4,     /* SIP over SCTP is not decoded (counted) */
    PKT_SKIP_LINKTYPE = 5, /* a link type we do not decode */
    PKT_ERR_TRUNCATED = -1, /* a header runs past the captured bytes */
    PKT_ERR_BAD_IP = -2,    /* bad IP version/header length/total length */
    PKT_ERR_BAD_UDP = -3,   /* UDP length inconsistent */
    PKT_ERR_BAD_TCP = -4,   /* TCP data offset inconsistent */
    PKT_ERR_ENCAP = -5,     /* tunnels nested deeper than CS_MAX_ENCAP_DEPTH, bad GRE */
} pkt_result;

/* Name for counters and logs: "ok", "fragment", "truncated", ... */
const char *pkt_result_name(int r);

#define PKT_PROTO_UDP 17
#define PKT_PROTO_TCP 6
#define PKT_PROTO_SCTP 132

typedef struct pkt_info {
    /* L2 */
    int nvlan;              /* VLAN tags seen (0..), ids of the first two kept */
    uint16_t vlan[2];
    int encap_depth;        /* tunnels crossed (IP-in-IP, GRE) */
    /* L3 (innermost) */
    int family;             /* AF_INET or AF_INET6 */
    uint8_t src[16];        /* network order; IPv4 in the first 4 bytes */
    uint8_t dst[16];
    uint8_t proto;          /* PKT_PROTO_* or other */
    const uint8_t *ip;      /* the innermost IP header */
    size_t ip_len;          /* its datagram length as captured (<= total length) */
    /* fragments (result PKT_FRAGMENT) */
    uint32_t frag_id;       /* IPv4 identification or IPv6 fragment identification */
    uint32_t frag_offset;   /* bytes */
    int frag_more;          /* MF flag */
    const uint8_t *frag_data; /* fragment payload (after IP and fragment headers) */
    size_t frag_len;
    uint8_t frag_next;      /* protocol of the reassembled payload */
    /* L4 */
    uint16_t sport, dport;
    uint32_t tcp_seq, tcp_ack;
    uint8_t tcp_flags;      /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 */
    const uint8_t *payload; /* UDP/TCP payload */
    size_t payload_len;
} pkt_info;

/* linktype: a DLT_* value from pcap_datalink(). Returns a pkt_result. */
int pkt_decode(int linktype, const uint8_t *data, size_t caplen, pkt_info *out);

/* Decodes from an IP header on (used for reassembled datagrams and raw IP);
 * keeps the L2 fields already in *out. Returns a pkt_result. */
int pkt_decode_ip(const uint8_t *ip, size_t len, pkt_info *out);

#endif
