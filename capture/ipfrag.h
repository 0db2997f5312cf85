/*
 * ipfrag.h — IPv4 and IPv6 fragment reassembly with bounded memory.
 *
 * Fragments are keyed by (family, src, dst, protocol, identification). A
 * datagram is complete when the fragments cover [0, total) with no hole,
 * total being known from the fragment without MF. Overlapping fragments are
 * resolved first-wins (the bytes already held are kept) and counted; a
 * fragment that would make the datagram exceed CS_IP_MAX_DATAGRAM, or that
 * disagrees about the end, fails that datagram (counted, dropped).
 *
 * Limits (ipfrag_limits): datagrams in progress, bytes held in total, and a
 * timeout after the first fragment; past a limit the oldest datagram is
 * evicted (counted). Time is the packets' own time (ts_us), never the wall
 * clock, so reading a file gives the same result at any speed.
 *
 * SECURITY: fragments are hostile (overlaps, tiny fragments, teardrop,
 * floods of distinct ids); every path is bounded by the limits above.
 * Pure: no globals, no logging; the caller counts via ipfrag_stats.
 *
 * Ownership: ipfrag_add() copies the fragment; a completed datagram is
 * returned in a buffer owned by the reassembler, valid until the next call.
 */
#ifndef CALLSCOPE_CAPTURE_IPFRAG_H
#define CALLSCOPE_CAPTURE_IPFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

typedef struct ipfrag ipfrag;

typedef struct ipfrag_limits {
    size_t max_datagrams;  /* CS_DEF_FRAG_MAX_DATAGRAMS */
    size_t max_bytes;      /* CS_DEF_FRAG_MAX_BYTES */
    uint64_t timeout_us;   /* CS_DEF_FRAG_TIMEOUT_MS * 1000 */
} ipfrag_limits;

typedef struct ipfrag_stats {
    uint64_t fragments;     /* fragments accepted */
    uint64_t reassembled;   /* datagrams completed */
    uint64_t overlaps;      /* fragments overlapping held bytes */
    uint64_t timeouts;      /* datagrams dropped incomplete after the timeout */
    uint64_t evicted;       /* datagrams dropped to respect a limit */
    uint64_t invalid;       /* fragments rejected (bad offsets/lengths/too large) */
    size_t in_progress;     /* datagrams held now */
    size_t bytes_held;      /* bytes held now */
} ipfrag_stats;

/* NULL on ENOMEM. */
ipfrag *ipfrag_new(const ipfrag_limits *lim);
void ipfrag_free(ipfrag *f);

/*
 * Adds the fragment described by info (result PKT_FRAGMENT of pkt_decode).
 * Returns 1 when this completed a datagram: *dgram and *len get the whole IP
 * datagram (a rebuilt header without fragmentation fields + the payload),
 * ready for pkt_decode_ip(); 0 when more fragments are needed; a negative
 * cs_err when the fragment was rejected (CS_ERR_MALFORMED, CS_ERR_LIMIT,
 * CS_ERR_NOMEM).
 */
int ipfrag_add(ipfrag *f, uint64_t ts_us, const pkt_info *info, const uint8_t **dgram,
               size_t *len);

/* Drops datagrams whose first fragment is older than the timeout at now_us. */
void ipfrag_expire(ipfrag *f, uint64_t now_us);

void ipfrag_get_stats(const ipfrag *f, ipfrag_stats *out);

#endif
