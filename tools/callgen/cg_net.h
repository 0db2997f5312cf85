/*
 * cg_net.h — writing packets into a classic pcap file, as a SPAN port would
 * deliver them: Ethernet (optionally 802.1Q or QinQ tagged), IPv4 or IPv6,
 * UDP or TCP, with correct lengths and checksums, and IP fragmentation when a
 * datagram exceeds the given MTU.
 *
 * The file is a classic libpcap file (magic a1b2c3d4, microsecond timestamps,
 * DLT_EN10MB, snaplen 262144), so Wireshark, tshark and libpcap all read it.
 * Frames must be written in non-decreasing time order; cg_pcap_write refuses a
 * timestamp that goes back (CS_ERR_INVAL) — the caller sorts.
 * Ownership: the cg_pcap owns its FILE; every function copies what it needs.
 */
#ifndef CALLGEN_NET_H
#define CALLGEN_NET_H

#include <stddef.h>
#include <stdint.h>

typedef struct cg_pcap cg_pcap;

/* Creates/truncates path and writes the file header. NULL on error with a
 * message in err. */
cg_pcap *cg_pcap_open(const char *path, char *err, size_t errcap);
/* Writes one frame as captured (caplen = len). CS_OK or CS_ERR_IO/CS_ERR_INVAL. */
int cg_pcap_write(cg_pcap *p, uint64_t ts_us, const uint8_t *frame, size_t len);
uint64_t cg_pcap_frames(const cg_pcap *p);
uint64_t cg_pcap_bytes(const cg_pcap *p); /* bytes written so far, headers included */
/* Flushes and closes; CS_OK or CS_ERR_IO. Frees p in every case. */
int cg_pcap_close(cg_pcap *p);

typedef struct cg_addr {
    int family;     /* AF_INET or AF_INET6 */
    uint8_t ip[16]; /* network order; IPv4 uses the first 4 bytes */
    uint16_t port;  /* host order */
} cg_addr;

/* "192.0.2.10" or "2001:db8::10" -> CS_OK, CS_ERR_INVAL otherwise. */
int cg_addr_parse(const char *ip, uint16_t port, cg_addr *out);
/* The IP address as text (no port, no brackets). */
void cg_addr_format(const cg_addr *a, char *buf, size_t cap);

typedef struct cg_link {
    uint8_t src_mac[6];
    uint8_t dst_mac[6];
    int nvlan;         /* 0, 1 (802.1Q, TPID 0x8100) or 2 (QinQ: outer 0x88a8, inner 0x8100) */
    uint16_t vlan[2];  /* VLAN ids, outer first */
} cg_link;

/* One UDP datagram from src to dst (same family), wrapped in IP and Ethernet.
 * When mtu > 0 and the IP packet is larger than mtu, it is sent as fragments
 * (IPv4: MF/offset; IPv6: Fragment extension header) each fitting mtu, all
 * with the same timestamp, in order. IP identification comes from a counter
 * kept in the cg_pcap. CS_OK or negative cs_err. */
int cg_net_udp(cg_pcap *p, uint64_t ts_us, const cg_link *l, const cg_addr *src,
               const cg_addr *dst, const uint8_t *payload, size_t len, size_t mtu);

/* A TCP connection between a client and a server; seq/ack are tracked so the
 * stream reassembles cleanly in tshark. */
typedef struct cg_tcp {
    cg_addr client;
    cg_addr server;
    uint32_t seq_client; /* next sequence number the client sends */
    uint32_t seq_server;
    int open;
} cg_tcp;

/* SYN, SYN-ACK, ACK at ts_us (+1 us each). isn from isn_seed. */
int cg_tcp_connect(cg_pcap *p, uint64_t ts_us, const cg_link *l, cg_tcp *t,
                   const cg_addr *client, const cg_addr *server, uint32_t isn_seed);
/* One segment (PSH|ACK) carrying exactly these bytes in the given direction,
 * followed 1 us later by the peer's bare ACK. len <= 65000. The caller chooses
 * the segment boundaries (two SIP messages in one, one message split in two). */
int cg_tcp_send(cg_pcap *p, uint64_t ts_us, const cg_link *l, cg_tcp *t, int from_client,
                const uint8_t *data, size_t len);
/* FIN/ACK exchange from the client side. */
int cg_tcp_close(cg_pcap *p, uint64_t ts_us, const cg_link *l, cg_tcp *t);

/* Internet checksum (RFC 1071) over a buffer, folded, not inverted: exposed for tests. */
uint16_t cg_inet_sum(const uint8_t *data, size_t len, uint32_t initial);

#endif
