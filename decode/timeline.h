/*
 * timeline.h — one direction of a call placed on the call's wall clock.
 *
 * A direction (channel 1 = customer: what came in on the trunk; channel 2 =
 * agent side: everything the customer heard) is built from one or more RTP
 * streams (SSRCs), one after the other or overlapping. The caller feeds every
 * RTP packet of the direction in capture order with its arrival time; the
 * timeline decides where each packet's audio belongs and hands out the
 * finished samples, in order, at the output rate. The output ALWAYS spans
 * exactly [invite_us, end_us): tl_total_samples() samples, silence before
 * the first packet, after the last one, and in holds and silences.
 *
 * Placement. A packet's playout time is
 *
 *     anchor_us + (ext_ts - anchor_ts) * 1e6 / clock_rate
 *
 * and its first output sample is round((playout - invite_us) * rate / 1e6).
 * The anchor ties RTP time to the capture clock by the MINIMUM transit
 * (arrival_us - RTP time) seen: network delay only ever adds to transit, so
 * the earliest-arriving packets define the offset and jitter never moves
 * audio. The minimum is lowered at once by any packet that arrives earlier
 * than predicted (a sender clock faster than the capture clock) and raised
 * when the minimum over two consecutive TL_DRIFT_WINDOW_US windows of at
 * least TL_DRIFT_MIN_PACKETS packets each sits more than TL_DRIFT_STEP_US
 * above it (a slower sender clock, or a longer network path): with 100 ppm of
 * drift the error stays below ~6 ms over any call length.
 *
 * Segments (re-anchoring). Each SSRC is its own stream with its own anchors.
 * Within a stream a packet whose transit is more than TL_JUMP_US (1 s) above
 * the current anchor (TL_MARKER_JUMP_US, 120 ms, when it has the marker bit),
 * or more than TL_EARLY_US (100 ms) below it — more than clock drift can
 * explain —, starts a new segment anchored on itself: a sender that reset
 * its timestamps, a timestamp jump. (A first packet delayed by more than
 * 100 ms of jitter thus gets a one-packet segment of its own: harmless.)
 * A timestamp that merely continues across a hold (RFC 3550: the marker starts the talk spurt, the
 * timestamp counts the silence) agrees with the arrival and keeps the anchor.
 * A late packet of the previous segment (reordered around the jump) is still
 * recognised as belonging to it (the last TL_MAX_SEGS segments are kept); a
 * packet that fits no anchor but is older (by sequence number) than one
 * already seen is a very late packet, not a jump, and is dropped as late.
 * Timestamps are extended to 64 bits per segment (32-bit wrap), sequence
 * numbers per stream (16-bit wrap). A sequence number more than TL_SEQ_JUMP
 * away from the highest one is held on probation: a second packet within 16
 * numbers of it confirms a resynchronisation (the stream's buffer is played
 * out, the new numbering continues without a loss being counted); a lone one
 * is dropped (counted in dropped), and a packet within TL_SEQ_JUMP of the
 * numbering left behind is late, never a jump back.
 *
 * Jitter buffer and decoding order. Each stream keeps its packets sorted by
 * extended sequence number and releases the lowest one once the oldest
 * buffered packet arrived at least cfg.hold_ms before the newest capture time
 * seen (tl_push / tl_advance), or when the buffer holds TL_JB_PACKETS. Released
 * packets are decoded in sequence order (decoders keep state). Duplicates
 * (same SSRC and extended sequence number, buffered or recently released) are
 * dropped; a packet whose sequence number was already passed is late and
 * dropped (its gap has been concealed).
 *
 * Loss and silence. Between two released packets of a stream:
 *   - sequence numbers consecutive: any time gap is silence (hold, DTX,
 *     telephone-event, a timestamp jump) — nothing is concealed;
 *   - k packets missing: the conceal callback is called once per missing
 *     frame (frame = the previous packet's decoded length), for at most
 *     min(k, round(gap / frame)) frames placed immediately before the packet
 *     after the gap (the missing timestamps are the ones leading up to it —
 *     after a hold, the lost talk-spurt start is there, not at the hold's
 *     start), and at most cfg.plc_ms of audio in total from the first of
 *     them (the last call may be shorter); the rest of the gap is silent.
 * Audio of one stream never overlaps itself: after a re-anchor that moved it
 * earlier, the head of the next frame is dropped (counted). Streams of one
 * direction that overlap in time are mixed (summed, saturated to 16 bits).
 *
 * Output. Samples become final when no packet can land there any more:
 * before (newest capture time - hold_ms - late_ms). tl_read() hands out final
 * samples; tl_finish() plays out every buffer and makes the rest of the call
 * final. Rounding: total = round((end_us - invite_us) * rate / 1e6) samples,
 * sample i stands for time invite_us + i * 1e6 / rate; audio before invite_us
 * or from the total on is cut. Memory is bounded: the mix ring holds
 * hold_ms + late_ms + the unread samples and grows (doubling) up to
 * cfg.max_buffer_ms; a frame that would need more is dropped (counted) and
 * tl_push returns CS_ERR_LIMIT — read regularly, and call tl_advance() on the
 * direction without packets so both channels become final together.
 *
 * What this module does not do: codecs (the caller's decode/conceal
 * callbacks, e.g. decode/codec.h), telephone-event or comfort-noise
 * interpretation (the decode callback returns 0 samples for them: the time
 * is silence), resampling (the decode callback returns samples at the output
 * rate; clock_rate only converts timestamps).
 *
 * SECURITY: every packet field is chosen by whoever sends RTP. State keyed by
 * it is capped (TL_MAX_STREAMS streams, TL_JB_PACKETS buffered packets of at
 * most TL_MAX_PAYLOAD bytes each, TL_MAX_SEGS anchors, the ring ceiling),
 * times at or past TL_MAX_TIME_US are refused, positions are clamped before
 * any integer conversion. No logging; the counters say what was dropped.
 *
 * BUGS: a re-anchor moves audio at once (no time-stretching); a capture clock
 * stepping backwards looks like early packets and lowers the anchor; RTCP
 * sender reports are not used.
 *
 * Ownership: tl_new copies the config; the caller frees with tl_free. Packet
 * payloads are borrowed during tl_push and copied while buffered. Callbacks
 * are called from tl_push / tl_advance / tl_finish only, never re-entered.
 * Not thread-safe: one timeline per direction per worker.
 */
#ifndef CALLSCOPE_DECODE_TIMELINE_H
#define CALLSCOPE_DECODE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#define TL_MAX_STREAMS       32           /* SSRCs per direction; more are dropped */
#define TL_MAX_SEGS          4            /* anchors remembered per stream */
#define TL_JB_PACKETS        256          /* packets buffered per stream */
#define TL_MAX_PAYLOAD       1500         /* bytes; a bigger payload is dropped */
#define TL_JUMP_US           1000000      /* transit disagreement that re-anchors */
#define TL_MARKER_JUMP_US    120000       /* the same for a marker-bit packet */
#define TL_EARLY_US          100000       /* arriving this much earlier re-anchors */
#define TL_DRIFT_WINDOW_US   5000000      /* slow minimum-transit window */
#define TL_DRIFT_MIN_PACKETS 50           /* packets a window needs to count */
#define TL_DRIFT_STEP_US     4000         /* raise the anchor past this */
#define TL_MAX_FRAME_MS      250          /* decoded samples per packet, at most */
#define TL_SEQ_JUMP          3000         /* sequence jump = resynchronisation */
#define TL_MAX_TIME_US       (1ull << 62) /* times at or past this are invalid */

/* One RTP packet as captured. payload is borrowed for the call. */
typedef struct tl_packet {
    uint64_t arrival_us; /* capture time, µs since the epoch */
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    int marker;
    int pt;
    int clock_rate; /* RTP clock of this payload type (8000, 48000 ...), > 0 */
    int event;      /* 1 = RFC 4733 telephone-event: every packet of a key press
                     * carries the press's start timestamp, so it is sequenced
                     * and placed but never used to anchor or re-anchor */
    const uint8_t *payload;
    size_t payload_len;
    int source; /* the caller's id of the stream the packet came on (0 when the
                 * caller has one): packets with one SSRC from two sources are
                 * two streams (two senders may pick the same SSRC) */
} tl_packet;

/* What the callbacks learn about the stream (read-only). */
typedef struct tl_stream_info {
    uint32_t ssrc;
    int source; /* tl_packet.source of its packets */
    int index;  /* 0.. in order of first packet; stable for the call */
} tl_stream_info;

/*
 * decode: turn one payload into at most cap samples at the output rate and
 *   return the count; 0 = this packet is not audio (telephone-event, CN,
 *   a payload type to skip): its time is silence; < 0 = error (counted, the
 *   frame is silence). at = output sample index where the audio will go.
 * conceal: produce exactly n samples of concealment at output index at (one
 *   missing frame, or its part up to the PLC limit); next is the packet after
 *   the gap (for Opus in-band FEC), borrowed for the call. Return 0, or < 0
 *   to leave silence. May be NULL: gaps are then silence (still counted).
 * Both get the stream so the caller keeps one decoder per SSRC.
 */
typedef struct tl_ops {
    int (*decode)(void *ctx, const tl_stream_info *s, const tl_packet *p, uint64_t at, int16_t *pcm,
                  size_t cap);
    int (*conceal)(void *ctx, const tl_stream_info *s, const tl_packet *next, uint64_t at,
                   int16_t *pcm, size_t n);
    void *ctx;
} tl_ops;

typedef struct tl_config {
    uint64_t invite_us;  /* start of the call: output sample 0 */
    uint64_t end_us;     /* end of the call (> invite_us) */
    int rate;            /* output rate: 8000 or 16000 */
    int hold_ms;         /* jitter-buffer hold, 0 = 300; 20..5000 */
    int late_ms;         /* extra wait before samples are final, 0 = 1000; <= 10000 */
    int plc_ms;          /* concealment per gap at most, 0 = 100; < 0 = none; <= 10000 */
    int max_buffer_ms;   /* mix ring ceiling, 0 = 120000 */
    uint64_t max_dur_us; /* call length accepted, 0 = 24 h */
} tl_config;

typedef struct tl_stats {
    uint64_t packets;       /* handed to tl_push */
    uint64_t duplicates;    /* same SSRC + sequence number again */
    uint64_t late;          /* arrived after their place was played out */
    uint64_t reordered;     /* arrived before a packet with a lower sequence */
    uint64_t dropped;       /* other drops: too many streams, payload too big, bad clock */
    uint64_t lost;          /* missing sequence numbers between released packets */
    uint64_t conceal_calls; /* conceal callback calls */
    uint64_t concealed;     /* samples concealed */
    uint64_t decode_errors; /* decode callback returned < 0 */
    uint64_t segments;      /* anchors created (first packet of a stream included) */
    uint64_t drift_adjusts; /* anchors raised by the slow window */
    uint64_t trimmed;       /* samples dropped: self-overlap, before invite, after end */
    uint64_t late_samples;  /* samples dropped because already final */
    uint64_t limit_drops;   /* frames dropped for the ring ceiling */
    uint32_t streams;       /* SSRCs seen */
    uint32_t resyncs;       /* sequence jumps */
} tl_stats;

typedef struct tl_timeline tl_timeline;

/* CS_OK and *out, CS_ERR_INVAL (bad config: end <= invite, rate, limits),
 * CS_ERR_NOMEM. ops->decode must not be NULL. */
int tl_new(const tl_config *cfg, const tl_ops *ops, tl_timeline **out);
void tl_free(tl_timeline *t);

/* Takes one packet (capture order). CS_OK (also when the packet was dropped
 * as duplicate/late: see the stats), CS_ERR_INVAL (NULL, clock_rate <= 0,
 * arrival_us >= TL_MAX_TIME_US),
 * CS_ERR_STATE after tl_finish, CS_ERR_LIMIT when a frame did not fit the
 * ring ceiling (dropped; the timeline stays usable), CS_ERR_NOMEM. */
int tl_push(tl_timeline *t, const tl_packet *p);

/* Tells the timeline that capture time reached now_us (packets of the other
 * direction, the end of the capture); releases and finalises accordingly.
 * CS_ERR_INVAL for now_us >= TL_MAX_TIME_US; time never goes back. */
int tl_advance(tl_timeline *t, uint64_t now_us);

/* Plays out every buffered packet and makes all remaining samples final. */
int tl_finish(tl_timeline *t);

/* Copies up to cap final samples into out and consumes them; returns the
 * count (0 = nothing final yet, or everything read). */
size_t tl_read(tl_timeline *t, int16_t *out, size_t cap);

/* Final samples not yet read. */
size_t tl_available(const tl_timeline *t);

/* round((end_us - invite_us) * rate / 1e6): what tl_read hands out in all. */
uint64_t tl_total_samples(const tl_timeline *t);

const tl_stats *tl_get_stats(const tl_timeline *t);

#endif
