/*
 * tcpreasm.h — TCP stream reassembly and SIP message framing for SIP over TCP.
 *
 * SIP over TCP (RFC 3261 section 18.3) is a byte stream: one segment may carry
 * two messages, one message may span segments, and segments may arrive out of
 * order, retransmitted or overlapping. Each flow direction (src, dst, ports)
 * keeps the next expected sequence number and a bounded buffer of in-order
 * bytes plus a bounded list of out-of-order segments; retransmitted bytes are
 * dropped. Messages are cut from the in-order bytes by the SIP framing rule:
 * the header block ends at the first CRLFCRLF, the body is Content-Length
 * (or "l") bytes (absent = 0 on a stream); CRLF keep-alives between messages
 * are skipped. A header block longer than CS_SIP_MAX_MSG or a Content-Length
 * that cannot be satisfied within it makes the flow fail once and stay
 * failed (resynchronised only at the next message start it can find, i.e. a
 * line beginning with "SIP/2.0 " or a request line "<METHOD> sip:"),
 * counted; never an unbounded buffer.
 *
 * Limits: flows (LRU eviction, counted), bytes per flow direction, idle time
 * (packet time). SYN starts a flow at ISN+1; a flow seen mid-stream starts at
 * the first segment seen. RST/FIN end it.
 *
 * SECURITY: sequence numbers, lengths and Content-Length are hostile;
 * arithmetic is modulo 2^32 and checked. Pure: no globals, no logging.
 * Ownership: message bytes handed to the callback are borrowed for the
 * duration of the call only.
 */
#ifndef CALLSCOPE_CAPTURE_TCPREASM_H
#define CALLSCOPE_CAPTURE_TCPREASM_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

typedef struct tcpreasm tcpreasm;

typedef struct tcpreasm_limits {
    size_t max_flows;       /* CS_DEF_TCP_MAX_FLOWS */
    size_t max_flow_bytes;  /* CS_DEF_TCP_MAX_FLOW_BYTES, per direction, in and out of order */
    uint64_t idle_us;       /* CS_DEF_TCP_IDLE_MS * 1000 */
    uint64_t hole_us;       /* a hole not filled within this packet time is given up on
                             * (gap counted, stream resynchronised); 0 = idle_us */
} tcpreasm_limits;

typedef struct tcpreasm_stats {
    uint64_t segments;      /* segments with payload seen */
    uint64_t messages;      /* SIP messages framed */
    uint64_t retransmitted; /* segments whose bytes were all seen already */
    uint64_t out_of_order;  /* segments buffered ahead of a hole */
    uint64_t gaps;          /* holes given up on (bytes never seen): stream resynchronised */
    uint64_t framing_errors;/* bad Content-Length / header block too long */
    uint64_t evicted;       /* flows dropped to respect max_flows */
    uint64_t overflow;      /* segments dropped: flow buffer full */
    size_t flows;           /* flows held now */
} tcpreasm_stats;

/* Called once per complete SIP message, in stream order. ts_us is the time of
 * the segment that completed the message (the latest arrival among its bytes:
 * with reordering, the segment that filled its last hole); info describes
 * that segment (addresses and ports of the direction the message travelled;
 * from tcpreasm_expire, the direction's last segment with its pointers NULL). */
typedef void (*tcpreasm_msg_fn)(void *arg, uint64_t ts_us, const pkt_info *info,
                                const uint8_t *msg, size_t len);

/* lim NULL or a zero field = the default from limits.h. fn must not call back
 * into the same tcpreasm. Returns NULL when out of memory or fn is NULL. */
tcpreasm *tcpreasm_new(const tcpreasm_limits *lim, tcpreasm_msg_fn fn, void *arg);
void tcpreasm_free(tcpreasm *t);

/* Feeds one TCP segment (pkt_decode result PKT_OK with proto TCP). Returns
 * CS_OK or a negative cs_err for a segment it had to drop (counted). */
int tcpreasm_add(tcpreasm *t, uint64_t ts_us, const pkt_info *info);

/* Forgets flows idle longer than the limit at now_us. */
void tcpreasm_expire(tcpreasm *t, uint64_t now_us);

void tcpreasm_get_stats(const tcpreasm *t, tcpreasm_stats *out);

/*
 * The framing rule on its own, for UDP datagrams (one message per datagram,
 * RFC 3261 18.3 says Content-Length is optional on UDP) and for tests:
 * given bytes that start at a message, returns in *msg_len the length of the
 * first complete message. CS_OK; CS_ERR_TRUNCATED if more bytes are needed;
 * CS_ERR_MALFORMED / CS_ERR_LIMIT for a broken header block.
 */
int sip_frame(const uint8_t *data, size_t len, size_t *msg_len);

/* The header half of sip_frame: CS_OK once the header block is complete, with
 * *hdr_len (start line + headers + empty line), *body_len (Content-Length, 0
 * when absent) and *has_length (1 when a Content-Length was present: a UDP
 * caller takes the rest of the datagram as body when it is 0). The body need
 * not be present yet. Same error codes as sip_frame. */
int sip_frame_header(const uint8_t *data, size_t len, size_t *hdr_len, size_t *body_len,
                     int *has_length);

/* Number of leading CR/LF bytes: keep-alives before a message (RFC 5626
 * "\r\n\r\n" ping, "\r\n" pong; RFC 3261 7.5 says ignore CRLF before a start
 * line). sip_frame() wants data that starts at a message, not at a CR/LF. */
size_t sip_skip_keepalive(const uint8_t *data, size_t len);

#endif
