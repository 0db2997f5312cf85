/*
 * rtp.c — RTP and RTCP parsing (RFC 3550), per-stream statistics (RFC 3550
 * appendix A.1, A.3, A.8) and RFC 4733 telephone-event tracking.
 *
 * Design. Everything here runs once per RTP packet of every call, millions
 * of times a second on a busy SPAN port, so it is built for the hot path:
 * rtp_parse() reads the fixed header and skips CSRCs/extension with a few
 * bounds checks and no copies; rtp_stats_update() is the A.1 sequence
 * machine plus a 1024-bit duplicate ring (bit = extended seq & 1023), a
 * handful of additions and, for audio packets only, the single division the
 * A.8 jitter needs to bring the arrival interval into timestamp units. No
 * allocation, no logging, no globals: all state lives in the caller's
 * rtp_stream_stats / rtp_dtmf.
 *
 * Where A.1 is adapted for a passive observer (and why):
 *  - A.1 leaves the packets of the probation run out of `received` and sets
 *    the base at the last of them; a recorder wants them counted, so when
 *    probation passes the base is the first packet of the run and those
 *    MIN_SEQUENTIAL packets are counted as received (same for the two
 *    packets of a resynchronisation).
 *  - A.1 resets its counters on a resync; here the old epoch's expected and
 *    received are folded into the *_prior_sum fields first (as on an SSRC
 *    change), so `lost` stays right over the whole stream.
 *  - Extended sequence numbers are 64-bit and start one cycle up, so a late
 *    packet from before the first one seen lowers the base instead of
 *    underflowing.
 *  - A.8 is applied as its definition D(i,j) = (Rj - Ri) - (Sj - Si) with
 *    the arrival difference in microseconds scaled in floating point and
 *    the timestamp difference taken modulo 2^32 as a signed 32-bit value,
 *    which is exact across timestamp wrap and avoids the rounding of an
 *    integer "arrival in timestamp units" clock.
 *
 * What it does not do: SRTP/SRTCP (encrypted payloads parse as RTP with an
 * opaque payload; SRTCP's trailing index and tag make the compound walk
 * fail with CS_ERR_MALFORMED or TRUNCATED unless lengths happen to match),
 * RTCP SDES/BYE/APP/XR/feedback contents (counted, skipped), RFC 4733
 * redundancy (the first event block is used), RFC 5761 reduced-size RTCP
 * in rtcp_looks_like() (first packet must be SR or RR).
 *
 * SECURITY: every byte is attacker-controlled. All parsers take (pointer,
 * length) and check each length before reading; no declared length is used
 * to size anything; loops advance by at least 4 bytes per step. The stats
 * and DTMF state are fixed-size whatever the input (an attacker alternating
 * SSRCs only makes the counters meaningless for that stream, it cannot grow
 * memory or time).
 *
 * BUGS: a stream interleaving two SSRCs counts an SSRC change per packet
 * and restarts sequence tracking each time (loss then reads 0). Jitter
 * includes packets from before a probation failure. A long DTMF press is
 * only joined across segments when the new segment's timestamp is exactly
 * the previous one plus its largest duration seen (a lost last update of a
 * segment splits the press in two).
 */
#include "rtp.h"

#include <string.h>

#include "error.h"

/* Read helpers: the caller has checked the bytes are there. */
static inline uint16_t rtp__be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t rtp__be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define RTP_FIXED_HDR     12u
#define RTCP_HDR          4u
#define RTCP_PT_SR        200
#define RTCP_PT_RR        201
#define RTCP_PT_SDES      202
#define RTCP_PT_BYE       203
#define RTCP_PT_APP       204
#define RTCP_PT_MIN       192 /* RFC 5761 4: RTCP packet types live in 192..223 */
#define RTCP_PT_MAX       223
#define RTCP_SR_INFO      20u /* NTP(8) + RTP ts(4) + packets(4) + octets(4) */
#define RTCP_REPORT_BLOCK 24u

/*
 * RFC 3550 5.1 RTP Fixed Header Fields:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           timestamp                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           synchronization source (SSRC) identifier            |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |            contributing source (CSRC) identifiers             |
 *    |                             ....                              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * padding (P): "the packet contains one or more additional padding octets
 * at the end which are not part of the payload. The last octet of the
 * padding contains a count of how many padding octets should be ignored,
 * including itself."
 *
 * RFC 3550 5.3.1 RTP Header Extension (after the CSRC list):
 *
 *    |      defined by profile       |           length              |
 *    |                        header extension                       |
 *
 * "the 16-bit length field that counts the number of 32-bit words in the
 * extension, excluding the four-octet extension header". RFC 8285's
 * one-byte (0xBEDE) and two-byte (0x100x) forms use this same container,
 * so the same length rule skips them; their elements are not parsed.
 */
int rtp_parse(const uint8_t *data, size_t len, rtp_hdr *out)
{
    if (len < RTP_FIXED_HDR)
        return CS_ERR_TRUNCATED;
    if ((data[0] >> 6) != 2)
        return CS_ERR_MALFORMED;
    /* M + PT 72..76 = RTCP SR/RR/SDES/BYE/APP on an RTP port (RFC 5761 4). */
    if (data[1] >= RTCP_PT_SR && data[1] <= RTCP_PT_APP)
        return CS_ERR_MALFORMED;

    int padding = (data[0] >> 5) & 1;
    int ext = (data[0] >> 4) & 1;
    unsigned cc = data[0] & 0x0f;
    size_t off = RTP_FIXED_HDR + 4u * cc;
    if (off > len)
        return CS_ERR_TRUNCATED;
    if (ext) {
        if (len - off < 4)
            return CS_ERR_TRUNCATED;
        size_t words = rtp__be16(data + off + 2);
        off += 4;
        if (len - off < 4 * words)
            return CS_ERR_TRUNCATED;
        off += 4 * words;
    }
    size_t plen = len - off;
    if (padding) {
        /* The count byte is the packet's last: it must lie in the payload
         * area, count itself (> 0) and not reach into the headers. */
        size_t pad = data[len - 1];
        if (pad == 0 || pad > plen)
            return CS_ERR_MALFORMED;
        plen -= pad;
    }
    out->marker = data[1] >> 7;
    out->pt = data[1] & 0x7f;
    out->seq = rtp__be16(data + 2);
    out->ts = rtp__be32(data + 4);
    out->ssrc = rtp__be32(data + 8);
    out->csrc_count = (int)cc;
    out->has_extension = ext;
    out->payload = data + off;
    out->payload_len = plen;
    return CS_OK;
}

/*
 * RFC 3550 6.4.1 SR and 6.4.2 RR (RR is the same without sender info):
 *
 *         0                   1                   2                   3
 *  header |V=2|P|    RC   |   PT=SR=200   |             length            |
 *         |                         SSRC of sender                        |
 *  sender |              NTP timestamp, most significant word             |
 *  info   |             NTP timestamp, least significant word             |
 *         |                         RTP timestamp                         |
 *         |                     sender's packet count                     |
 *         |                      sender's octet count                     |
 *  report |                 SSRC_1 (SSRC of first source)                 |
 *  block  | fraction lost |       cumulative number of packets lost       |
 *    1    |           extended highest sequence number received           |
 *         |                      interarrival jitter                      |
 *         |                         last SR (LSR)                         |
 *         |                   delay since last SR (DLSR)                  |
 *
 * "length: 16 bits. The length of this RTCP packet in 32-bit words minus
 * one, including the header and any padding." 6.1: "Multiple RTCP packets
 * can be concatenated without any intervening separators to form a compound
 * RTCP packet". Padding: "the padding bit MUST only be set on the last
 * packet of a compound" (its last octet counts the padding octets).
 */
static void rtcp__blocks(const uint8_t *p, unsigned n, rtcp_info *out)
{
    for (unsigned i = 0; i < n && out->nrb < RTCP_MAX_REPORTS; i++, p += RTCP_REPORT_BLOCK) {
        rtcp_report *r = &out->rb[out->nrb++];
        r->ssrc = rtp__be32(p);
        r->fraction_lost = p[4];
        uint32_t cl = (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
        /* 24-bit two's complement */
        r->cumulative_lost = (cl & 0x800000u) ? (int32_t)cl - 0x1000000 : (int32_t)cl;
        r->highest_seq = rtp__be32(p + 8);
        r->jitter = rtp__be32(p + 12);
        r->lsr = rtp__be32(p + 16);
        r->dlsr = rtp__be32(p + 20);
    }
}

int rtcp_parse(const uint8_t *data, size_t len, rtcp_info *out)
{
    memset(out, 0, sizeof *out);
    if (len < RTCP_HDR)
        return CS_ERR_TRUNCATED;
    int have_report = 0;
    size_t off = 0;
    while (off < len) {
        if (len - off < RTCP_HDR)
            return CS_ERR_TRUNCATED;
        const uint8_t *p = data + off;
        if ((p[0] >> 6) != 2)
            return CS_ERR_MALFORMED;
        int pt = p[1];
        if (pt < RTCP_PT_MIN || pt > RTCP_PT_MAX)
            return CS_ERR_MALFORMED;
        size_t plen = ((size_t)rtp__be16(p + 2) + 1) * 4;
        if (plen > len - off)
            return CS_ERR_TRUNCATED;
        size_t body = plen; /* bytes of this packet without padding */
        if (p[0] & 0x20) {
            size_t pad = p[plen - 1];
            if (off + plen != len || pad == 0 || pad > plen - RTCP_HDR)
                return CS_ERR_MALFORMED;
            body -= pad;
        }
        unsigned rc = p[0] & 0x1f;
        if (pt == RTCP_PT_SR || pt == RTCP_PT_RR) {
            size_t need = RTCP_HDR + 4 + (pt == RTCP_PT_SR ? RTCP_SR_INFO : 0) +
                          (size_t)rc * RTCP_REPORT_BLOCK;
            if (need > body)
                return CS_ERR_TRUNCATED;
            if (!have_report) {
                have_report = 1;
                out->ssrc = rtp__be32(p + 4);
                const uint8_t *blocks = p + 8;
                if (pt == RTCP_PT_SR) {
                    out->has_sr = 1;
                    out->ntp = (uint64_t)rtp__be32(p + 8) << 32 | rtp__be32(p + 12);
                    out->rtp_ts = rtp__be32(p + 16);
                    out->sender_packets = rtp__be32(p + 20);
                    out->sender_octets = rtp__be32(p + 24);
                    blocks += RTCP_SR_INFO;
                }
                rtcp__blocks(blocks, rc, out);
            }
        } else if (pt == RTCP_PT_BYE) {
            out->has_bye = 1;
        }
        /* SDES, APP, XR (207), feedback (205/206): counted, not decoded. */
        out->npackets++;
        off += plen;
    }
    return CS_OK;
}

int rtcp_looks_like(const uint8_t *data, size_t len)
{
    /* Smallest compound: an RR header plus its SSRC. */
    if (len < RTCP_HDR + 4 || (data[0] >> 6) != 2)
        return 0;
    if (data[1] != RTCP_PT_SR && data[1] != RTCP_PT_RR)
        return 0;
    size_t off = 0;
    while (off < len) {
        if (len - off < RTCP_HDR)
            return 0;
        const uint8_t *p = data + off;
        if ((p[0] >> 6) != 2 || p[1] < RTCP_PT_MIN || p[1] > RTCP_PT_MAX)
            return 0;
        size_t plen = ((size_t)rtp__be16(p + 2) + 1) * 4;
        if (plen > len - off)
            return 0;
        off += plen;
    }
    return 1;
}

/*
 * RFC 3550 A.1 RTP Data Header Validity Checks (the sequence part):
 *
 *    void init_seq(source *s, u_int16 seq)
 *    {
 *        s->base_seq = seq;
 *        s->max_seq = seq;
 *        s->bad_seq = RTP_SEQ_MOD + 1;   // so seq == bad_seq is false
 *        s->cycles = 0;
 *        s->received = 0;
 *        s->received_prior = 0;
 *        s->expected_prior = 0;
 *    }
 *
 *    int update_seq(source *s, u_int16 seq)
 *    {
 *        u_int16 udelta = seq - s->max_seq;
 *        const int MAX_DROPOUT = 3000;
 *        const int MAX_MISORDER = 100;
 *        const int MIN_SEQUENTIAL = 2;
 *
 *        if (s->probation) {
 *            // packet is in sequence
 *            if (seq == s->max_seq + 1) {
 *                s->probation--;
 *                s->max_seq = seq;
 *                if (s->probation == 0) {
 *                    init_seq(s, seq);
 *                    s->received++;
 *                    return 1;
 *                }
 *            } else {
 *                s->probation = MIN_SEQUENTIAL - 1;
 *                s->max_seq = seq;
 *            }
 *            return 0;
 *        } else if (udelta < MAX_DROPOUT) {
 *            // in order, with permissible gap
 *            if (seq < s->max_seq) {
 *                // Sequence number wrapped - count another 64K cycle.
 *                s->cycles += RTP_SEQ_MOD;
 *            }
 *            s->max_seq = seq;
 *        } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
 *            // the sequence number made a very large jump
 *            if (seq == s->bad_seq) {
 *                // Two sequential packets -- assume that the other side
 *                // restarted without telling us so just re-sync
 *                // (i.e., pretend this was the first packet).
 *                init_seq(s, seq);
 *            }
 *            else {
 *                s->bad_seq = (seq + 1) & (RTP_SEQ_MOD-1);
 *                return 0;
 *            }
 *        } else {
 *            // duplicate or reordered packet
 *        }
 *        s->received++;
 *        return 1;
 *    }
 *
 * A new source starts with init_seq(s, seq); s->max_seq = seq - 1;
 * s->probation = MIN_SEQUENTIAL.
 *
 * A.3 Determining Number of Packets Expected and Lost:
 *
 *    extended_max = s->cycles + s->max_seq;
 *    expected = extended_max - s->base_seq + 1;
 *    lost = expected - s->received;
 */
#define RTP_SEQ_MOD        (1u << 16)
#define RTP_MAX_DROPOUT    3000u
#define RTP_MAX_MISORDER   100u
#define RTP_MIN_SEQUENTIAL 2u
#define RTP_SEEN_BITS      1024u

/* What the sequence machine made of one packet. */
enum {
    SEQ_NEW,       /* new highest (counted) */
    SEQ_LATE,      /* below the highest, not seen before (counted) */
    SEQ_DUP,       /* seen before */
    SEQ_PROBATION, /* source not yet valid (not counted) */
    SEQ_STRAY,     /* a big jump not (yet) confirmed (not counted) */
    SEQ_RESYNC     /* second packet of a confirmed big jump: new epoch */
};

static inline int rtp__seen(const rtp_stream_stats *s, uint64_t ext)
{
    unsigned b = (unsigned)(ext & (RTP_SEEN_BITS - 1));
    return (int)((s->seen_bits[b >> 6] >> (b & 63)) & 1);
}

static inline void rtp__mark(rtp_stream_stats *s, uint64_t ext)
{
    unsigned b = (unsigned)(ext & (RTP_SEEN_BITS - 1));
    s->seen_bits[b >> 6] |= (uint64_t)1 << (b & 63);
}

/* The ring slots of (from, to] now stand for new sequence numbers. */
static void rtp__advance(rtp_stream_stats *s, uint64_t from, uint64_t to)
{
    if (to - from >= RTP_SEEN_BITS) {
        memset(s->seen_bits, 0, sizeof s->seen_bits);
        return;
    }
    for (uint64_t e = from + 1; e <= to; e++) {
        unsigned b = (unsigned)(e & (RTP_SEEN_BITS - 1));
        s->seen_bits[b >> 6] &= ~((uint64_t)1 << (b & 63));
    }
}

/* Closes the current epoch into the prior sums. */
static void rtp__fold(rtp_stream_stats *s)
{
    if (s->in_epoch) {
        s->expected_prior_sum += s->cycles + s->max_seq - s->base_ext + 1;
        s->received_prior_sum += s->received_this_ssrc;
    }
    s->in_epoch = 0;
    s->received_this_ssrc = 0;
}

/* A new source (or SSRC): probation from this packet on. */
static void rtp__seq_start(rtp_stream_stats *s, uint16_t seq)
{
    rtp__fold(s);
    s->max_seq = (uint16_t)(seq - 1);
    s->bad_seq = RTP_SEQ_MOD + 1;
    s->probation = RTP_MIN_SEQUENTIAL;
    s->cycles = RTP_SEQ_MOD;
    s->jit_have_prev = 0;
}

/* init_seq at the packet that completes a run of n sequential packets
 * (probation or resync): they all count, the base is the run's first. */
static void rtp__epoch_begin(rtp_stream_stats *s, uint16_t seq, unsigned n)
{
    s->max_seq = seq;
    s->bad_seq = RTP_SEQ_MOD + 1;
    s->cycles = RTP_SEQ_MOD; /* one cycle up: base_ext stays >= 0 across a wrap */
    uint64_t top = s->cycles + seq;
    s->base_ext = top - (n - 1);
    s->in_epoch = 1;
    s->received_this_ssrc = n;
    memset(s->seen_bits, 0, sizeof s->seen_bits);
    for (uint64_t e = s->base_ext; e <= top; e++)
        rtp__mark(s, e);
}

static int rtp__update_seq(rtp_stream_stats *s, uint16_t seq)
{
    uint16_t udelta = (uint16_t)(seq - s->max_seq);
    if (s->probation) {
        if (seq == (uint16_t)(s->max_seq + 1)) {
            s->probation--;
            s->max_seq = seq;
            if (s->probation == 0) {
                rtp__epoch_begin(s, seq, RTP_MIN_SEQUENTIAL);
                return SEQ_NEW;
            }
            return SEQ_PROBATION;
        }
        /* A repeat of the previous packet does not restart probation. */
        if (seq == s->max_seq && s->probation < RTP_MIN_SEQUENTIAL)
            return SEQ_DUP;
        s->probation = RTP_MIN_SEQUENTIAL - 1;
        s->max_seq = seq;
        return SEQ_PROBATION;
    }
    uint64_t top = s->cycles + s->max_seq;
    if (udelta < RTP_MAX_DROPOUT) {
        if (udelta == 0)
            return SEQ_DUP; /* the highest packet again */
        if (seq < s->max_seq)
            s->cycles += RTP_SEQ_MOD;
        s->max_seq = seq;
        uint64_t ext = s->cycles + seq;
        rtp__advance(s, top, ext);
        rtp__mark(s, ext);
        s->received_this_ssrc++;
        return SEQ_NEW;
    }
    if (udelta <= RTP_SEQ_MOD - RTP_MAX_MISORDER) {
        if (seq == s->bad_seq) {
            rtp__fold(s);
            rtp__epoch_begin(s, seq, 2);
            return SEQ_RESYNC;
        }
        s->bad_seq = (seq + 1u) & (RTP_SEQ_MOD - 1);
        return SEQ_STRAY;
    }
    /* Duplicate or reordered: at most MAX_MISORDER behind the highest. */
    uint64_t ext = top - (uint16_t)(s->max_seq - seq);
    if (ext < s->base_ext) {
        /* From before the first packet of the epoch: the base moves down
         * (the ring slots between were cleared or stand for seqs never
         * seen, since the window spans 1024 > MAX_MISORDER). */
        for (uint64_t e = ext; e < s->base_ext; e++) {
            unsigned b = (unsigned)(e & (RTP_SEEN_BITS - 1));
            s->seen_bits[b >> 6] &= ~((uint64_t)1 << (b & 63));
        }
        s->base_ext = ext;
    } else if (rtp__seen(s, ext)) {
        return SEQ_DUP;
    }
    rtp__mark(s, ext);
    s->received_this_ssrc++;
    return SEQ_LATE;
}

void rtp_stats_init(rtp_stream_stats *s)
{
    memset(s, 0, sizeof *s);
}

/*
 * RFC 3550 A.8 Estimating the Interarrival Jitter:
 *
 *    int transit = arrival - r->ts;
 *    int d = transit - s->transit;
 *    s->transit = transit;
 *    if (d < 0) d = -d;
 *    s->jitter += (1./16.) * ((double)d - s->jitter);
 *
 * with 6.4.1: D(i,j) = (Rj - Ri) - (Sj - Si) = (Rj - Sj) - (Ri - Si),
 * J(i) = J(i-1) + (|D(i-1,i)| - J(i-1))/16.
 */
static void rtp__jitter(rtp_stream_stats *s, const rtp_hdr *h, uint64_t arrival_us, int clock_rate)
{
    if (s->jit_have_prev && s->jit_rate == clock_rate) {
        double dr = ((double)arrival_us - (double)s->jit_prev_us) * clock_rate / 1e6;
        double ds = (double)(int32_t)(h->ts - s->jit_prev_ts);
        double d = dr - ds;
        if (d < 0)
            d = -d;
        s->jitter_ts += (d - s->jitter_ts) / 16.0;
        s->jitter_ms = s->jitter_ts * 1000.0 / clock_rate;
        if (s->jitter_ms > s->max_jitter_ms)
            s->max_jitter_ms = s->jitter_ms;
    }
    s->jit_have_prev = 1;
    s->jit_rate = clock_rate;
    s->jit_prev_ts = h->ts;
    s->jit_prev_us = arrival_us;
}

void rtp_stats_update(rtp_stream_stats *s, const rtp_hdr *h, uint64_t arrival_us, int clock_rate,
                      int audio)
{
    s->packets++;
    s->bytes += h->payload_len;
    if (!s->started) {
        s->started = 1;
        s->first_us = s->last_us = arrival_us;
        s->ssrc = h->ssrc;
        rtp__seq_start(s, h->seq);
    } else {
        if (arrival_us > s->last_us) {
            if (arrival_us - s->last_us > s->max_gap_us)
                s->max_gap_us = arrival_us - s->last_us;
            s->last_us = arrival_us;
        }
        if (h->ssrc != s->ssrc) {
            s->ssrc_changes++;
            s->ssrc = h->ssrc;
            rtp__seq_start(s, h->seq);
        }
    }

    int r = rtp__update_seq(s, h->seq);
    if (r == SEQ_DUP) {
        s->duplicates++;
    } else if (r != SEQ_STRAY) {
        if (r == SEQ_LATE)
            s->out_of_order++;
        else if (r == SEQ_RESYNC) {
            s->seq_jumps++;
            s->jit_have_prev = 0;
        }
        if (audio && clock_rate > 0)
            rtp__jitter(s, h, arrival_us, clock_rate);
    }

    uint64_t exp = s->expected_prior_sum, rcv = s->received_prior_sum;
    if (s->in_epoch) {
        exp += s->cycles + s->max_seq - s->base_ext + 1;
        rcv += s->received_this_ssrc;
    }
    s->expected = exp;
    s->lost = exp > rcv ? exp - rcv : 0;
}

/*
 * RFC 4733 2.3 Payload Format:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     event     |E|R| volume    |          duration             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 4733 3.2 (DTMF events): 0-9 -> 0-9, * -> 10, # -> 11, A-D -> 12-15,
 * Flash -> 16.
 */
int rtp_event_parse(const uint8_t *payload, size_t len, rtp_event *out)
{
    if (len < 4)
        return CS_ERR_TRUNCATED;
    out->event = payload[0];
    out->end = payload[1] >> 7;
    out->volume = payload[1] & 0x3f;
    out->duration = rtp__be16(payload + 2);
    return CS_OK;
}

char rtp_event_digit(uint8_t event)
{
    static const char digits[16] = "0123456789*#ABCD";
    return event < 16 ? digits[event] : 0;
}

void rtp_dtmf_init(rtp_dtmf *d)
{
    memset(d, 0, sizeof *d);
}

/* Fills *done from the open press and closes it. 1 if it is a digit. */
static int rtp__dtmf_close(rtp_dtmf *d, int clock_rate, rtp_dtmf_digit *done)
{
    uint64_t rate = clock_rate > 0 ? (uint64_t)clock_rate : 8000;
    uint64_t units = d->dur_prior + d->max_duration;
    uint64_t ms = units * 1000 / rate;
    d->active = 0;
    d->cur.duration_ms = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
    d->cur.digit = rtp_event_digit(d->event);
    if (!d->cur.digit)
        return 0;
    *done = d->cur;
    return 1;
}

int rtp_dtmf_update(rtp_dtmf *d, const rtp_hdr *h, uint64_t arrival_us, int clock_rate,
                    rtp_dtmf_digit *done)
{
    rtp_event ev;
    if (rtp_event_parse(h->payload, h->payload_len, &ev) != CS_OK)
        return 0;
    if (d->have_ts) {
        int32_t diff = (int32_t)(h->ts - d->seg_ts);
        if (diff < 0)
            return 0; /* an older press: late or replayed */
        if (diff == 0) {
            if (!d->active)
                return 0; /* repeated end packet of a press already reported */
            if (ev.duration > d->max_duration)
                d->max_duration = ev.duration;
            if (ev.end) {
                d->cur.ended = 1;
                return rtp__dtmf_close(d, clock_rate, done);
            }
            return 0;
        }
        /* RFC 4733 2.5.1.3: a long event goes on in a new segment whose
         * timestamp is the previous segment's plus its duration. */
        if (d->active && !d->cur.ended && ev.event == d->event && !h->marker &&
            (uint32_t)diff == d->max_duration && d->max_duration > 0) {
            d->dur_prior += d->max_duration;
            d->seg_ts = h->ts;
            d->max_duration = ev.duration;
            if (ev.end) {
                d->cur.ended = 1;
                return rtp__dtmf_close(d, clock_rate, done);
            }
            return 0;
        }
    }
    int ret = 0;
    if (d->active)
        ret = rtp__dtmf_close(d, clock_rate, done);
    d->have_ts = 1;
    d->active = 1;
    d->event = ev.event;
    d->seg_ts = h->ts;
    d->max_duration = ev.duration;
    d->dur_prior = 0;
    d->cur.digit = rtp_event_digit(ev.event);
    d->cur.start_us = arrival_us;
    d->cur.duration_ms = 0;
    d->cur.rtp_ts = h->ts;
    d->cur.ended = ev.end;
    if (ev.end && !ret)
        return rtp__dtmf_close(d, clock_rate, done);
    return ret;
}

int rtp_dtmf_flush(rtp_dtmf *d, int clock_rate, rtp_dtmf_digit *done)
{
    if (!d->active)
        return 0;
    return rtp__dtmf_close(d, clock_rate, done);
}
