/*
 * limits.h — every ceiling of the capture stage in one place.
 *
 * State keyed by values an attacker chooses (addresses, ports, Call-IDs,
 * SSRCs, IP identifications, TCP flows) is capped; hitting a cap is counted
 * (capture_counters) and logged rate-limited, never a crash or unbounded
 * growth. The run-time values come from the configuration (capture.*); these
 * are the defaults and the hard maxima the parsers themselves enforce.
 */
#ifndef CALLSCOPE_CAPTURE_LIMITS_H
#define CALLSCOPE_CAPTURE_LIMITS_H

/* Parsers (hard limits, not configurable). */
#define CS_SIP_MAX_MSG        65535  /* bytes of one SIP message, headers + body */
#define CS_SIP_MAX_HEADERS    128    /* header fields kept per message; more -> CS_ERR_LIMIT */
#define CS_SIP_MAX_VALUE      8192   /* bytes of one header value (folded lines joined) */
#define CS_SDP_MAX_MEDIA      8      /* m= sections kept per SDP */
#define CS_SDP_MAX_FORMATS    32     /* payload types kept per m= line */
#define CS_IP_MAX_DATAGRAM    65535  /* bytes of a reassembled IP datagram */
#define CS_MAX_ENCAP_DEPTH    4      /* nested tunnels (IP-in-IP, GRE) followed */

/* Defaults of the capture.* settings (configurable, bounded). */
#define CS_DEF_MAX_CALLS           20000   /* active calls */
#define CS_DEF_MAX_STREAMS_PER_CALL 16     /* RTP streams (SSRC x direction) per call */
#define CS_DEF_FRAG_MAX_DATAGRAMS  1024    /* IP datagrams being reassembled */
#define CS_DEF_FRAG_MAX_BYTES      (8u << 20) /* bytes held by fragments in total */
#define CS_DEF_FRAG_TIMEOUT_MS     30000   /* a datagram not complete by then is dropped */
#define CS_DEF_TCP_MAX_FLOWS       4096    /* TCP SIP flows reassembled at once */
#define CS_DEF_TCP_MAX_FLOW_BYTES  (256u << 10) /* bytes buffered per TCP flow direction */
#define CS_DEF_TCP_IDLE_MS         300000  /* a silent TCP flow is forgotten after */

#endif
