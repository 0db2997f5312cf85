/*
 * cg_rtp.h — RTP/RTCP packets as callgen sends them, and the network faults
 * it applies to them.
 *
 * RTP (RFC 3550): version 2, no padding, no extension, no CSRC; one stream per
 * SSRC with its own sequence number and timestamp bases (random, from the
 * call's rng). Audio packets advance the timestamp by the codec's
 * ts_per_frame every 20 ms; the marker bit is set on the first packet of a
 * talk spurt (callgen sends continuously, so: the first packet of a stream and
 * of every new SSRC, and the first audio packet after a DTMF event).
 *
 * DTMF (RFC 4733 telephone-event): one event is a start packet with the marker
 * bit, updates every 20 ms with a growing duration, and three end packets with
 * the E bit and the final duration; all with the timestamp of the event start
 * and consecutive sequence numbers. The event replaces the audio of its
 * stream while it lasts.
 *
 * RTCP (RFC 3550 section 6.4.1): a compound packet of a Sender Report with one
 * report block, followed by SDES with a CNAME.
 *
 * Faults: cg_fault_apply() turns a stream's packets, in send order, into the
 * order and times they reach the capture point: lost packets vanish,
 * duplicates follow their original 40 us later, a reordered packet is swapped
 * with the next one, and jitter delays each packet by 0..jitter_ms without
 * reordering (arrival times stay increasing; reordering is only what
 * reorder_pct asks for). The counts it returns are exactly what happened.
 *
 * Ownership: the caller owns every buffer; nothing here allocates.
 */
#ifndef CALLGEN_RTP_H
#define CALLGEN_RTP_H

#include <stddef.h>
#include <stdint.h>

#include "cg_rng.h"

#define CG_RTP_HDR      12
#define CG_DTMF_PT      101
#define CG_DTMF_MAX_PKT 64  /* packets of one event: 1 + updates + 3 ends, at most */

typedef struct cg_rtp_stream {
    uint32_t ssrc;
    uint16_t seq;          /* sequence number of the next packet */
    uint32_t ts;           /* RTP timestamp of the next audio frame */
    uint8_t pt;            /* audio payload type */
    int ts_per_frame;      /* timestamp units per 20 ms */
    int clock;             /* RTP clock (Hz) */
    int marker_next;       /* set the marker on the next audio packet */
    uint64_t packets;      /* packets built (before faults) */
    uint64_t octets;       /* payload octets built */
} cg_rtp_stream;

/* A new stream with random SSRC, sequence and timestamp bases from rng. */
void cg_rtp_stream_init(cg_rtp_stream *s, cg_rng *rng, uint8_t pt, int clock, int ts_per_frame);
/* Switches to a new random SSRC (and new seq/ts bases), marker on the next packet. */
void cg_rtp_new_ssrc(cg_rtp_stream *s, cg_rng *rng);

/* Writes a 12-byte RTP header. Returns CG_RTP_HDR, or CS_ERR_OVERFLOW if cap < 12. */
int cg_rtp_header(uint8_t *out, size_t cap, uint8_t pt, int marker, uint16_t seq, uint32_t ts,
                  uint32_t ssrc);

/* Builds the next audio packet (header + payload) and advances seq and ts by
 * one frame. Returns the packet length or CS_ERR_OVERFLOW. */
int cg_rtp_audio(cg_rtp_stream *s, const uint8_t *payload, size_t plen, uint8_t *out,
                 size_t cap);

/* Advances the timestamp by one frame without sending (a frame the sender
 * skipped: DTMF replaced it, or the sender was silent). */
void cg_rtp_skip_frame(cg_rtp_stream *s);

/* One packet of a DTMF event. */
typedef struct cg_dtmf_pkt {
    uint32_t offset_ms;   /* send time relative to the event start */
    int marker;
    int end;              /* E bit */
    uint16_t duration;    /* in RTP timestamp units */
} cg_dtmf_pkt;

/* The packets of one event lasting duration_ms (rounded up to 20 ms frames,
 * at least one frame; at most 1000 ms) on a clock of `clock` Hz. Returns the
 * number of packets written to out (<= cap) or CS_ERR_INVAL/CS_ERR_OVERFLOW.
 * Offsets: start 0, updates every 20 ms, the three end packets at the end
 * time, +20 ms and +40 ms. */
int cg_dtmf_plan(int duration_ms, int clock, cg_dtmf_pkt *out, size_t cap);

/* Event code for a DTMF character: '0'..'9' -> 0..9, '*' 10, '#' 11, 'A'..'D'
 * 12..15; -1 otherwise. */
int cg_dtmf_event(char digit);

/* Builds one telephone-event packet: the 4-byte RFC 4733 payload (event, E bit,
 * volume 10, duration) behind an RTP header with the given timestamp (the
 * event start) and the stream's next sequence number (seq advances, ts does
 * not). Returns the packet length (16) or CS_ERR_OVERFLOW. */
int cg_rtp_dtmf(cg_rtp_stream *s, uint8_t pt, int event, const cg_dtmf_pkt *p, uint32_t ts,
                uint8_t *out, size_t cap);

/* RTCP SR + SDES(CNAME) compound. ntp_us: wall clock of the report (µs since
 * the Unix epoch; converted to NTP). rtp_ts: the RTP timestamp matching it.
 * The report block describes the stream received from remote_ssrc. Returns
 * the length or CS_ERR_OVERFLOW/CS_ERR_INVAL (cname longer than 255). */
typedef struct cg_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp_us;
    uint32_t rtp_ts;
    uint32_t packets;
    uint32_t octets;
    uint32_t remote_ssrc;
    uint8_t fraction_lost;
    uint32_t cum_lost;       /* 24 bits used */
    uint32_t highest_seq;    /* extended highest sequence number received */
    uint32_t jitter;
    const char *cname;
} cg_rtcp_sr;
int cg_rtcp_build(const cg_rtcp_sr *r, uint8_t *out, size_t cap);

typedef struct cg_fault_cfg {
    double loss_pct;      /* 0..100 */
    double duplicate_pct; /* 0..100 */
    double reorder_pct;   /* 0..100 */
    int jitter_ms;        /* 0..1000: extra delay drawn uniformly in [0, jitter_ms] */
} cg_fault_cfg;

typedef struct cg_fault_counts {
    uint64_t sent;        /* packets in */
    uint64_t dropped;
    uint64_t duplicated;  /* extra copies written */
    uint64_t reordered;   /* swaps of two consecutive packets */
    uint64_t delivered;   /* entries out = sent - dropped + duplicated */
} cg_fault_counts;

typedef struct cg_fault_out {
    uint32_t index;       /* which input packet */
    uint64_t t_us;        /* arrival time at the capture point */
} cg_fault_out;

/* Applies the faults to n packets sent at send_us[0..n-1] (non-decreasing).
 * Writes the arrival list into out (cap must be >= 2 * n) in arrival order
 * (t_us non-decreasing) and adds what happened to *counts (not reset).
 * Returns the number of entries or CS_ERR_OVERFLOW/CS_ERR_INVAL. */
int cg_fault_apply(const cg_fault_cfg *c, cg_rng *rng, const uint64_t *send_us, size_t n,
                   cg_fault_out *out, size_t cap, cg_fault_counts *counts);

#endif
