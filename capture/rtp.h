/*
 * rtp.h — RTP and RTCP parsing (RFC 3550), per-stream statistics, and
 * RFC 4733 telephone-events (DTMF).
 *
 * Parsing: rtp_parse() validates version 2, CSRC count, header extension
 * length and padding against the bytes present; rtcp_parse() walks a
 * compound packet (several RTCP packets in one datagram, RFC 3550 6.1) and
 * keeps the SR sender info and report blocks.
 *
 * Statistics (rtp_stream_stats): the sequence tracking of RFC 3550 A.1
 * (probation, MAX_DROPOUT 3000, MAX_MISORDER 100, 16-bit wrap to an extended
 * sequence), expected vs received -> lost (never negative in what we
 * report), duplicates (a 1024-entry bitmap of recently seen extended
 * sequence numbers), out-of-order arrivals, the interarrival jitter of A.8 in
 * timestamp units and milliseconds (needs the stream's clock rate), the
 * longest arrival gap, SSRC changes, first/last arrival, packets and payload
 * bytes. Arrival times are the capture timestamps in microseconds.
 * Payload types telephone-event and CN are counted but excluded from jitter.
 *
 * DTMF (rtp_dtmf): RFC 4733 events are recognised by the payload type the
 * SDP mapped to telephone-event. One key press is one event timestamp: the
 * first packet with a new RTP timestamp starts it, the E bit ends it, and
 * the (usually three) repeated end packets are counted once; an event whose
 * end packets were all lost is closed when a new timestamp starts or by
 * rtp_dtmf_flush(). Events 0-9 * # A-D map to digits; others (flash, tones)
 * are ignored.
 *
 * SECURITY: hostile bytes; (pointer, length), never past len. Pure: no
 * globals, no allocation, no logging. Ownership: rtp_hdr.payload borrows.
 */
#ifndef CALLSCOPE_CAPTURE_RTP_H
#define CALLSCOPE_CAPTURE_RTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct rtp_hdr {
    int marker;
    int pt; /* 0..127 */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    int csrc_count;
    int has_extension;
    const uint8_t *payload; /* after CSRCs and extension, before padding */
    size_t payload_len;
} rtp_hdr;

/* CS_OK, CS_ERR_TRUNCATED (shorter than its headers say), CS_ERR_MALFORMED
 * (version != 2, padding longer than the packet, RTCP packet type 200..204 in
 * the PT field which means this is RTCP on an RTP port). */
int rtp_parse(const uint8_t *data, size_t len, rtp_hdr *out);

/* 1 if the bytes look like an RTCP compound packet (version 2, first packet
 * type SR/RR, lengths consistent), else 0. For rtcp-mux demultiplexing. */
int rtcp_looks_like(const uint8_t *data, size_t len);

#define RTCP_MAX_REPORTS 31

typedef struct rtcp_report {
    uint32_t ssrc;           /* the source this block reports on */
    uint8_t fraction_lost;   /* /256 */
    int32_t cumulative_lost; /* 24-bit signed */
    uint32_t highest_seq;    /* extended */
    uint32_t jitter;         /* timestamp units */
    uint32_t lsr, dlsr;
} rtcp_report;

typedef struct rtcp_info {
    uint32_t ssrc; /* sender of the first SR/RR */
    int has_sr;
    uint64_t ntp; /* SR: NTP timestamp */
    uint32_t rtp_ts;
    uint32_t sender_packets;
    uint32_t sender_octets;
    rtcp_report rb[RTCP_MAX_REPORTS];
    int nrb;      /* report blocks from the first SR/RR */
    int npackets; /* RTCP packets in the compound */
    int has_bye;
} rtcp_info;

/* CS_OK, CS_ERR_TRUNCATED, CS_ERR_MALFORMED. */
int rtcp_parse(const uint8_t *data, size_t len, rtcp_info *out);

/*
 * What the counters mean (the truth comparison and the tests rely on this):
 *
 *   packets      every packet handed to rtp_stats_update(): duplicates,
 *                telephone-event/CN, packets during probation and stray
 *                packets after a big sequence jump included (what tshark
 *                and callgen's truth call the stream's packets).
 *   bytes        sum of rtp_hdr.payload_len of those packets.
 *   duplicates   packets whose extended sequence number was already seen
 *                for the current SSRC (1024-packet window; also a repeat
 *                of the previous packet during probation).
 *   out_of_order packets, not duplicates, whose extended sequence number is
 *                below the highest one seen (at most MAX_MISORDER behind).
 *   expected     sum over sequence epochs (an epoch ends with an SSRC
 *                change or a resynchronisation) of highest - lowest + 1
 *                extended sequence numbers, from the first packet of the
 *                epoch's probation run on. A late packet below the lowest
 *                one (within MAX_MISORDER) lowers the base.
 *   lost         max(0, expected - unique packets counted by the sequence
 *                tracker). Duplicates never hide a loss. Packets outside
 *                any epoch (probation failures, a single stray jump) are
 *                in `packets` but neither in expected nor in lost.
 *   seq_jumps    resynchronisations: two sequential packets more than
 *                MAX_DROPOUT ahead (or MAX_MISORDER behind) of the highest.
 *   ssrc_changes times the SSRC differed from the previous packet's.
 *   first_us, last_us  first arrival, latest arrival.
 *   max_gap_us   longest interval between two consecutive arrivals (any
 *                packet; arrivals going back in time give no interval).
 *   jitter_ts    A.8 estimate in timestamp units over the audio packets
 *                (audio != 0, clock_rate > 0) of the current SSRC, in
 *                arrival order, duplicates and unconfirmed jumps
 *                excluded (probation packets included); restarts (keeps its
 *                value, forgets the previous packet) on SSRC change,
 *                resync or clock rate change.
 *   jitter_ms    jitter_ts * 1000 / clock_rate; max_jitter_ms its maximum.
 */
typedef struct rtp_stream_stats {
    /* Ordered for the cache: the fields rtp_stats_update() reads or writes
     * for every packet come first (about 150 bytes), then the duplicate
     * ring (one word per packet), then the rest. */
    uint64_t packets;
    uint64_t bytes;
    uint64_t last_us;
    uint64_t max_gap_us;
    uint64_t expected;
    uint64_t lost;
    uint32_t ssrc; /* current SSRC */
    int started;
    /* private: RFC 3550 A.1 state of the current epoch (rtp.c) */
    uint16_t max_seq;
    uint32_t probation;
    uint64_t cycles;   /* starts at 1 << 16 so a late packet never goes below 0 */
    uint64_t base_ext; /* lowest extended sequence number of the epoch */
    uint64_t received_this_ssrc, expected_prior_sum, received_prior_sum;
    int in_epoch;      /* probation passed: base_ext/received_this_ssrc valid */
    /* private: A.8 state */
    int jit_have_prev;
    int jit_rate;
    uint32_t jit_prev_ts;
    uint64_t jit_prev_us;
    double jitter_ts;
    double jitter_ms;
    double max_jitter_ms;
    uint64_t seen_bits[16]; /* private: 1024-bit ring: bit (ext & 1023) set if ext seen */
    /* rarely written */
    uint32_t ssrc_changes;
    uint32_t bad_seq; /* private (A.1) */
    uint64_t duplicates;
    uint64_t out_of_order;
    uint64_t seq_jumps;
    uint64_t first_us;
} rtp_stream_stats;

void rtp_stats_init(rtp_stream_stats *s);
/* Accounts one packet. clock_rate: the payload's RTP clock (0 = unknown,
 * jitter not computed). audio: 0 for telephone-event/CN packets. */
void rtp_stats_update(rtp_stream_stats *s, const rtp_hdr *h, uint64_t arrival_us, int clock_rate,
                      int audio);

/* RFC 4733 event payload. */
typedef struct rtp_event {
    uint8_t event; /* 0-9, 10 '*', 11 '#', 12-15 A-D, others */
    int end;       /* E bit */
    uint8_t volume;
    uint16_t duration; /* timestamp units */
} rtp_event;

/* CS_OK, CS_ERR_TRUNCATED (< 4 bytes). Several events in one payload (RFC 4733
 * 2.5.1.4 redundancy) are not split; the first is reported. */
int rtp_event_parse(const uint8_t *payload, size_t len, rtp_event *out);

/* '0'..'9', '*', '#', 'A'..'D', or 0 for non-digit events. */
char rtp_event_digit(uint8_t event);

typedef struct rtp_dtmf_digit {
    char digit;
    uint64_t start_us;    /* arrival of the event's first packet */
    uint32_t duration_ms; /* largest duration field (summed over segments) / clock */
    uint32_t rtp_ts;      /* event timestamp */
    int ended;            /* 1 if an end packet was seen */
} rtp_dtmf_digit;

/* One event at a time. Private (rtp.c): the newest event timestamp seen
 * (cur.rtp_ts is the event's first segment, seg_ts the current segment of
 * a long event, RFC 4733 2.5.1.3), the durations. */
typedef struct rtp_dtmf {
    int active;  /* cur is open (not yet reported) */
    int have_ts; /* seg_ts is valid: older timestamps are stale */
    rtp_dtmf_digit cur;
    uint8_t event;         /* event code of cur */
    uint32_t seg_ts;       /* timestamp of the current segment */
    uint16_t max_duration; /* longest duration seen in the current segment */
    uint64_t dur_prior;    /* durations of the completed segments */
} rtp_dtmf;

void rtp_dtmf_init(rtp_dtmf *d);
/* Feeds one telephone-event packet. Returns 1 and fills *done when a key
 * press completed (its end seen, or a new event started while the previous
 * one had no end packet), else 0. clock_rate: the event's clock (8000;
 * 0 is taken as 8000). Rules:
 *  - the event timestamp identifies the press; a packet whose timestamp is
 *    older (32-bit serial comparison) than the newest seen, or equal to an
 *    event already reported (repeated or late end packets, late updates),
 *    is ignored;
 *  - the duration reported is the largest duration field seen (end packets
 *    may arrive out of order);
 *  - a long press (RFC 4733 2.5.1.3) continues in a new segment: same
 *    event, no marker, timestamp = previous segment's timestamp + its
 *    duration, while the previous segment had no end. It is one press whose
 *    duration is the sum of the segments; rtp_ts stays the first segment's;
 *  - non-digit events take part in this bookkeeping but are never reported;
 *  - when one packet both closes an open press (its end lost) and is the end
 *    packet of a new press, the old press is returned and the new one stays
 *    open, already ended, and is returned by the next packet with another
 *    timestamp, its next repeated end packet, or rtp_dtmf_flush(). */
int rtp_dtmf_update(rtp_dtmf *d, const rtp_hdr *h, uint64_t arrival_us, int clock_rate,
                    rtp_dtmf_digit *done);
/* Closes an event still open (stream ended). 1 and *done if there was one. */
int rtp_dtmf_flush(rtp_dtmf *d, int clock_rate, rtp_dtmf_digit *done);

#endif
