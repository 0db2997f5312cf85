/*
 * timeline.c — RTP streams of one direction onto the call's wall clock.
 *
 * Design (the contract is in timeline.h):
 *
 *   tl_push ──> stream (by SSRC) ──> sequence extension, duplicate/late check
 *                                ──> segment (anchor) choice, min-transit update
 *                                ──> sorted jitter buffer (by extended seq)
 *   release (hold_ms after arrival) ──> decode / conceal callbacks
 *                                  ──> mix ring (int32 sums, absolute sample index)
 *   finalisation (newest capture time - hold - late) ──> tl_read (saturated int16)
 *
 * The ring is indexed by absolute output sample (index & (cap - 1)); slots in
 * [read, read + cap) are live, everything else is zero. Nothing is global;
 * memory per direction is bounded by TL_MAX_STREAMS * TL_JB_PACKETS packets
 * and cfg.max_buffer_ms of ring.
 *
 * Anchors are kept in absolute microseconds (the playout time of the
 * segment's base timestamp), positions are computed in double and rounded
 * once per packet, so consecutive frames of one anchor are exactly their
 * timestamp difference apart.
 */
#include "timeline.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

typedef struct tl_seg {
    int used;
    int clock;
    uint64_t base_ts;  /* extended timestamp of the anchor packet */
    uint64_t ref_ts;   /* latest extended timestamp, for 32-bit extension */
    int64_t offset_us; /* playout time of base_ts: minimum transit */
    int64_t win_start, win_min, prev_win_min;
    uint32_t win_n;
    int prev_valid;
} tl_seg;

typedef struct tl_jbe {
    tl_packet p; /* payload points to owned copy */
    uint64_t ext_seq;
    uint64_t ext_ts;
    int seg;
} tl_jbe;

typedef struct tl_stream {
    tl_stream_info info;
    tl_seg seg[TL_MAX_SEGS];
    int cur_seg;
    uint64_t max_ext_seq;
    int seq_reset; /* next release is contiguous whatever its number */
    tl_jbe *jb;    /* sorted by ext_seq, TL_JB_PACKETS slots */
    size_t njb;
    int have_released;
    uint64_t last_rel_seq;
    uint64_t rel_bits; /* bit i: last_rel_seq - i was released */
    int have_pos;
    int64_t next_pos; /* output index after the stream's last audio */
    size_t last_frame;
    int prob_valid; /* a packet of a new sequence numbering, on probation */
    tl_packet prob; /* payload owned */
    int had_prev_num;
    uint16_t prev_num_max; /* highest number of the numbering left behind */
} tl_stream;

struct tl_timeline {
    tl_config cfg;
    tl_ops ops;
    uint64_t total;
    tl_stream *streams[TL_MAX_STREAMS];
    int nstreams;
    uint64_t now_us;
    int have_now;
    int finished;
    uint64_t final_pos; /* samples [0, final_pos) are final */
    uint64_t read_pos;
    int32_t *ring;
    size_t ring_cap; /* power of two */
    size_t ring_max;
    int16_t *dec, *plc;
    size_t frame_cap;
    tl_stats st;
};

static uint64_t samples_at(const tl_timeline *t, uint64_t us)
{
    if (us <= t->cfg.invite_us)
        return 0;
    uint64_t d = us - t->cfg.invite_us;
    uint64_t s = (uint64_t)(((unsigned __int128)d * (unsigned)t->cfg.rate) / 1000000u);
    return s < t->total ? s : t->total;
}

int tl_new(const tl_config *cfg, const tl_ops *ops, tl_timeline **out)
{
    if (!cfg || !ops || !ops->decode || !out)
        return CS_ERR_INVAL;
    *out = NULL;
    tl_config c = *cfg;
    if (c.rate != 8000 && c.rate != 16000)
        return CS_ERR_INVAL;
    if (c.hold_ms == 0)
        c.hold_ms = 300;
    if (c.late_ms == 0)
        c.late_ms = 1000;
    if (c.plc_ms == 0)
        c.plc_ms = 100;
    if (c.max_buffer_ms == 0)
        c.max_buffer_ms = 120000;
    if (c.max_dur_us == 0)
        c.max_dur_us = 24ull * 3600 * 1000000;
    if (c.hold_ms < 20 || c.hold_ms > 5000 || c.late_ms < 0 || c.late_ms > 10000 ||
        c.plc_ms > 10000 || c.max_buffer_ms < c.hold_ms + c.late_ms + 2 * TL_MAX_FRAME_MS ||
        c.max_buffer_ms > 3600 * 1000)
        return CS_ERR_INVAL;
    if (c.end_us <= c.invite_us || c.end_us - c.invite_us > c.max_dur_us ||
        c.end_us >= TL_MAX_TIME_US)
        return CS_ERR_INVAL;

    tl_timeline *t = calloc(1, sizeof(*t));
    if (!t)
        return CS_ERR_NOMEM;
    t->cfg = c;
    t->ops = *ops;
    t->total =
        (uint64_t)(((unsigned __int128)(c.end_us - c.invite_us) * (unsigned)c.rate + 500000u) /
                   1000000u);
    t->frame_cap = (size_t)c.rate * TL_MAX_FRAME_MS / 1000;
    size_t need = (size_t)c.rate * (size_t)(c.hold_ms + c.late_ms + 2 * TL_MAX_FRAME_MS) / 1000;
    t->ring_cap = 1;
    while (t->ring_cap < need)
        t->ring_cap <<= 1;
    t->ring_max = (size_t)c.rate * (size_t)c.max_buffer_ms / 1000;
    if (t->ring_max < t->ring_cap)
        t->ring_max = t->ring_cap;
    t->ring = calloc(t->ring_cap, sizeof(int32_t));
    t->dec = malloc(t->frame_cap * sizeof(int16_t));
    t->plc = malloc(t->frame_cap * sizeof(int16_t));
    if (!t->ring || !t->dec || !t->plc) {
        tl_free(t);
        return CS_ERR_NOMEM;
    }
    *out = t;
    return CS_OK;
}

void tl_free(tl_timeline *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->nstreams; i++) {
        tl_stream *s = t->streams[i];
        for (size_t j = 0; j < s->njb; j++)
            free((void *)s->jb[j].p.payload);
        free(s->jb);
        if (s->prob_valid)
            free((void *)s->prob.payload);
        free(s);
    }
    free(t->ring);
    free(t->dec);
    free(t->plc);
    free(t);
}

/* Grows the ring so that [read_pos, end) fits. CS_OK or CS_ERR_LIMIT/NOMEM. */
static int ring_fit(tl_timeline *t, uint64_t end)
{
    uint64_t need = end - t->read_pos;
    if (need <= t->ring_cap)
        return CS_OK;
    if (need > t->ring_max)
        return CS_ERR_LIMIT;
    size_t ncap = t->ring_cap;
    while (ncap < need)
        ncap <<= 1;
    int32_t *nr = calloc(ncap, sizeof(int32_t));
    if (!nr)
        return CS_ERR_NOMEM;
    for (size_t i = 0; i < t->ring_cap; i++) {
        uint64_t abs = t->read_pos + i;
        nr[abs & (ncap - 1)] = t->ring[abs & (t->ring_cap - 1)];
    }
    free(t->ring);
    t->ring = nr;
    t->ring_cap = ncap;
    return CS_OK;
}

/* Mixes n samples in at output index pos (may be negative or past the end). */
static int mix_in(tl_timeline *t, int64_t pos, const int16_t *pcm, size_t n)
{
    int64_t lo = pos, hi = pos + (int64_t)n;
    if (lo < 0) {
        t->st.trimmed += (uint64_t)(-lo < (int64_t)n ? -lo : (int64_t)n);
        lo = 0;
    }
    if (hi > (int64_t)t->total) {
        int64_t cut = hi - (lo > (int64_t)t->total ? lo : (int64_t)t->total);
        t->st.trimmed += (uint64_t)cut;
        hi = (int64_t)t->total;
    }
    if (lo >= hi)
        return CS_OK;
    if (lo < (int64_t)t->final_pos) {
        int64_t f = (int64_t)t->final_pos < hi ? (int64_t)t->final_pos : hi;
        t->st.late_samples += (uint64_t)(f - lo);
        lo = f;
        if (lo >= hi)
            return CS_OK;
    }
    int rc = ring_fit(t, (uint64_t)hi);
    if (rc != CS_OK) {
        t->st.limit_drops++;
        return rc;
    }
    size_t mask = t->ring_cap - 1;
    for (int64_t i = lo; i < hi; i++)
        t->ring[(uint64_t)i & mask] += pcm[i - pos];
    return CS_OK;
}

static double ts_time_us(const tl_seg *g, uint64_t ext_ts)
{
    return ((double)((int64_t)(ext_ts - g->base_ts))) * 1e6 / g->clock;
}

static int64_t position(const tl_timeline *t, const tl_seg *g, uint64_t ext_ts)
{
    double us = (double)(g->offset_us - (int64_t)t->cfg.invite_us) + ts_time_us(g, ext_ts);
    double s = us * t->cfg.rate / 1e6;
    if (s > 9e15)
        s = 9e15;
    if (s < -9e15)
        s = -9e15;
    return (int64_t)llround(s);
}

/* Plays one packet: concealment of the gap before it, then its audio. */
static int release_one(tl_timeline *t, tl_stream *s)
{
    tl_jbe e = s->jb[0];
    s->njb--;
    memmove(s->jb, s->jb + 1, s->njb * sizeof(tl_jbe));
    int rc = CS_OK;

    uint64_t gap_seq = 0;
    if (s->have_released && !s->seq_reset)
        gap_seq = e.ext_seq - s->last_rel_seq - 1;
    s->seq_reset = 0;
    const tl_seg *g = &s->seg[e.seg];
    int64_t pos = position(t, g, e.ext_ts);

    if (gap_seq > 0) {
        t->st.lost += gap_seq;
        int64_t gap = s->have_pos ? pos - s->next_pos : 0;
        size_t frame = s->last_frame;
        if (t->ops.conceal && t->cfg.plc_ms > 0 && gap > 0 && frame > 0) {
            uint64_t k = ((uint64_t)gap + frame / 2) / frame;
            if (k > gap_seq)
                k = gap_seq;
            int64_t budget = (int64_t)t->cfg.rate * t->cfg.plc_ms / 1000;
            /* the lost frames are the ones just before this packet */
            int64_t at = pos - (int64_t)(k * frame);
            if (at < s->next_pos)
                at = s->next_pos;
            for (uint64_t i = 0; i < k && budget > 0 && at < pos; i++) {
                int64_t m = (int64_t)frame;
                if (m > budget)
                    m = budget;
                if (m > pos - at)
                    m = pos - at;
                t->st.conceal_calls++;
                if (t->ops.conceal(t->ops.ctx, &s->info, &e.p, at < 0 ? 0 : (uint64_t)at, t->plc,
                                   (size_t)m) == 0) {
                    t->st.concealed += (uint64_t)m;
                    int r = mix_in(t, at, t->plc, (size_t)m);
                    if (r != CS_OK)
                        rc = r;
                }
                at += m;
                budget -= m;
            }
        }
    }

    int n = t->ops.decode(t->ops.ctx, &s->info, &e.p, pos < 0 ? 0 : (uint64_t)pos, t->dec,
                          t->frame_cap);
    if (n < 0) {
        t->st.decode_errors++;
        n = 0;
    }
    if ((size_t)n > t->frame_cap)
        n = (int)t->frame_cap;
    if (n > 0) {
        size_t skip = 0;
        if (s->have_pos && pos < s->next_pos) {
            int64_t ov = s->next_pos - pos;
            skip = ov < n ? (size_t)ov : (size_t)n;
            t->st.trimmed += skip;
        }
        if (skip < (size_t)n) {
            int r = mix_in(t, pos + (int64_t)skip, t->dec + skip, (size_t)n - skip);
            if (r != CS_OK)
                rc = r;
        }
        if (!s->have_pos || pos + n > s->next_pos)
            s->next_pos = pos + n;
        s->last_frame = (size_t)n;
        s->have_pos = 1;
    }
    /* a packet without audio (telephone-event, CN) leaves next_pos alone: its
     * position may come from another clock and must not trim what follows */

    if (s->have_released && e.ext_seq > s->last_rel_seq) {
        uint64_t sh = e.ext_seq - s->last_rel_seq;
        s->rel_bits = sh >= 64 ? 0 : s->rel_bits << sh;
    } else {
        s->rel_bits = 0;
    }
    s->rel_bits |= 1;
    s->last_rel_seq = e.ext_seq;
    s->have_released = 1;
    free((void *)e.p.payload);
    return rc;
}

static int release_all(tl_timeline *t, tl_stream *s)
{
    int rc = CS_OK;
    while (s->njb > 0) {
        int r = release_one(t, s);
        if (r != CS_OK)
            rc = r;
    }
    return rc;
}

/* Releases what the hold time allows and moves the final position. */
static int settle(tl_timeline *t)
{
    int rc = CS_OK;
    uint64_t hold = (uint64_t)t->cfg.hold_ms * 1000;
    for (int i = 0; i < t->nstreams; i++) {
        tl_stream *s = t->streams[i];
        while (s->njb > 0) {
            uint64_t oldest = UINT64_MAX;
            for (size_t j = 0; j < s->njb; j++)
                if (s->jb[j].p.arrival_us < oldest)
                    oldest = s->jb[j].p.arrival_us;
            if (oldest + hold > t->now_us && s->njb < TL_JB_PACKETS)
                break;
            int r = release_one(t, s);
            if (r != CS_OK)
                rc = r;
        }
    }
    uint64_t lag = hold + (uint64_t)t->cfg.late_ms * 1000;
    if (t->now_us > lag) {
        uint64_t f = samples_at(t, t->now_us - lag);
        if (f > t->final_pos)
            t->final_pos = f;
    }
    return rc;
}

/* The stream of (ssrc, source): CS_OK and *out, CS_ERR_LIMIT (too many
 * streams), CS_ERR_NOMEM. */
static int stream_get(tl_timeline *t, uint32_t ssrc, int source, tl_stream **out)
{
    for (int i = 0; i < t->nstreams; i++) {
        if (t->streams[i]->info.ssrc == ssrc && t->streams[i]->info.source == source) {
            *out = t->streams[i];
            return CS_OK;
        }
    }
    if (t->nstreams >= TL_MAX_STREAMS)
        return CS_ERR_LIMIT;
    tl_stream *s = calloc(1, sizeof(*s));
    if (!s)
        return CS_ERR_NOMEM;
    s->jb = calloc(TL_JB_PACKETS, sizeof(tl_jbe));
    if (!s->jb) {
        free(s);
        return CS_ERR_NOMEM;
    }
    s->info.ssrc = ssrc;
    s->info.source = source;
    s->info.index = t->nstreams;
    s->cur_seg = -1;
    t->streams[t->nstreams++] = s;
    t->st.streams++;
    *out = s;
    return CS_OK;
}

static uint64_t extend_ts(const tl_seg *g, uint32_t ts)
{
    return g->ref_ts + (uint64_t)(int64_t)(int32_t)(ts - (uint32_t)g->ref_ts);
}

/* Picks (or creates) the segment of a packet; returns its slot, -1 on error. */
static int seg_choose(tl_timeline *t, tl_stream *s, const tl_packet *p, int behind,
                      uint64_t *ext_ts)
{
    if (p->event && s->cur_seg >= 0) {
        *ext_ts = extend_ts(&s->seg[s->cur_seg], p->ts);
        return s->cur_seg;
    }
    for (int k = 0; k < TL_MAX_SEGS && s->cur_seg >= 0; k++) {
        int i = (s->cur_seg - k + TL_MAX_SEGS) % TL_MAX_SEGS;
        tl_seg *g = &s->seg[i];
        if (!g->used || g->clock != p->clock_rate)
            continue;
        uint64_t x = extend_ts(g, p->ts);
        double transit = (double)(int64_t)p->arrival_us - ts_time_us(g, x);
        double d = transit - (double)g->offset_us;
        double thr = p->marker ? TL_MARKER_JUMP_US : TL_JUMP_US;
        if (d <= -(double)TL_EARLY_US || d >= thr)
            continue;
        int64_t tr = (int64_t)llround(transit);
        if (x > g->ref_ts)
            g->ref_ts = x;
        if (tr < g->offset_us)
            g->offset_us = tr;
        /* slow window: raise the anchor when two full windows agree */
        if ((int64_t)p->arrival_us - g->win_start >= TL_DRIFT_WINDOW_US) {
            int valid = g->win_n >= TL_DRIFT_MIN_PACKETS;
            if (valid && g->prev_valid) {
                int64_t m = g->win_min < g->prev_win_min ? g->win_min : g->prev_win_min;
                if (m > g->offset_us + TL_DRIFT_STEP_US) {
                    g->offset_us = m;
                    t->st.drift_adjusts++;
                }
            }
            g->prev_win_min = g->win_min;
            g->prev_valid = valid;
            g->win_start = (int64_t)p->arrival_us;
            g->win_min = tr;
            g->win_n = 1;
        } else {
            if (tr < g->win_min)
                g->win_min = tr;
            g->win_n++;
        }
        *ext_ts = x;
        return i;
    }
    /* no anchor fits: a jump, unless the packet is older than one already
     * seen (then it is a very late packet, not a new timeline) */
    if (behind && s->cur_seg >= 0)
        return -2;
    int slot = (s->cur_seg + 1) % TL_MAX_SEGS;
    for (size_t j = 0; j < s->njb; j++) {
        if (s->jb[j].seg == slot) {
            if (release_all(t, s) == CS_ERR_NOMEM)
                return -1;
            break;
        }
    }
    tl_seg *g = &s->seg[slot];
    memset(g, 0, sizeof(*g));
    g->used = 1;
    g->clock = p->clock_rate;
    g->base_ts = (1ull << 32) | p->ts;
    g->ref_ts = g->base_ts;
    g->offset_us = (int64_t)p->arrival_us;
    g->win_start = (int64_t)p->arrival_us;
    g->win_min = g->offset_us;
    g->win_n = 1;
    s->cur_seg = slot;
    t->st.segments++;
    *ext_ts = g->base_ts;
    return slot;
}

/* Drops a packet as late or duplicate if it is one; 1 when dropped. */
static int drop_old(tl_timeline *t, tl_stream *s, uint64_t ext)
{
    if (s->have_released && ext <= s->last_rel_seq) {
        uint64_t back = s->last_rel_seq - ext;
        if (back < 64 && (s->rel_bits >> back) & 1)
            t->st.duplicates++;
        else
            t->st.late++;
        return 1;
    }
    for (size_t j = s->njb; j > 0 && s->jb[j - 1].ext_seq >= ext; j--) {
        if (s->jb[j - 1].ext_seq == ext) {
            t->st.duplicates++;
            return 1;
        }
    }
    return 0;
}

/* Anchors one packet and puts a copy into the stream's jitter buffer. */
static int insert(tl_timeline *t, tl_stream *s, const tl_packet *p, uint64_t ext, int behind)
{
    int rc = CS_OK;
    if (drop_old(t, s, ext))
        return CS_OK;
    uint64_t ext_ts = 0;
    int slot = seg_choose(t, s, p, behind, &ext_ts);
    if (slot == -2) {
        t->st.late++;
        return CS_OK;
    }
    if (slot < 0)
        return CS_ERR_NOMEM;
    /* seg_choose may have played the buffer out */
    if (s->have_released && ext <= s->last_rel_seq) {
        t->st.late++;
        return CS_OK;
    }
    size_t at = s->njb;
    while (at > 0 && s->jb[at - 1].ext_seq > ext)
        at--;
    if (at < s->njb)
        t->st.reordered++;
    if (s->njb >= TL_JB_PACKETS) {
        if (at == 0) { /* older than everything in a full buffer */
            t->st.late++;
            return CS_OK;
        }
        rc = release_one(t, s);
        at--;
    }
    uint8_t *copy = NULL;
    if (p->payload_len > 0) {
        copy = malloc(p->payload_len);
        if (!copy)
            return CS_ERR_NOMEM;
        memcpy(copy, p->payload, p->payload_len);
    }
    memmove(s->jb + at + 1, s->jb + at, (s->njb - at) * sizeof(tl_jbe));
    tl_jbe *e = &s->jb[at];
    e->p = *p;
    e->p.payload = copy;
    e->ext_seq = ext;
    e->ext_ts = ext_ts;
    e->seg = slot;
    s->njb++;
    return rc;
}

/*
 * A sequence number more than TL_SEQ_JUMP away from the highest one is kept
 * on probation (RFC 3550 A.1 in spirit): a second packet within 16 numbers of
 * it confirms the new numbering (the buffer is played out, both are taken);
 * a packet within TL_SEQ_JUMP of the numbering just left behind is late,
 * never a new jump.
 */
static int seq_jump(tl_timeline *t, tl_stream *s, const tl_packet *p)
{
    if (s->had_prev_num) {
        int16_t dp = (int16_t)(uint16_t)(p->seq - s->prev_num_max);
        if (dp <= TL_SEQ_JUMP && dp >= -TL_SEQ_JUMP) {
            t->st.late++;
            return CS_OK;
        }
    }
    int16_t dq = s->prob_valid ? (int16_t)(uint16_t)(p->seq - s->prob.seq) : 0;
    if (!s->prob_valid || dq == 0 || dq > 16 || dq < -16) {
        if (s->prob_valid) {
            t->st.dropped++;
            free((void *)s->prob.payload);
        }
        s->prob = *p;
        s->prob.payload = NULL;
        s->prob_valid = 1;
        if (p->payload_len > 0) {
            uint8_t *copy = malloc(p->payload_len);
            if (!copy) {
                s->prob_valid = 0;
                return CS_ERR_NOMEM;
            }
            memcpy(copy, p->payload, p->payload_len);
            s->prob.payload = copy;
        }
        return CS_OK;
    }
    int rc = release_all(t, s);
    t->st.resyncs++;
    s->prev_num_max = (uint16_t)s->max_ext_seq;
    s->had_prev_num = 1;
    uint64_t base = (s->have_released ? s->last_rel_seq : s->max_ext_seq) + 1;
    uint16_t lo = dq > 0 ? s->prob.seq : p->seq;
    uint64_t ext_lo = base + (uint16_t)(lo - (uint16_t)base);
    uint64_t ext_q = ext_lo + (uint64_t)(int64_t)(int16_t)(uint16_t)(s->prob.seq - lo);
    uint64_t ext_p = ext_lo + (uint64_t)(int64_t)(int16_t)(uint16_t)(p->seq - lo);
    s->max_ext_seq = ext_q > ext_p ? ext_q : ext_p;
    s->seq_reset = 1;
    s->have_released = 0;
    s->rel_bits = 0;
    tl_packet q = s->prob;
    s->prob_valid = 0;
    int r = insert(t, s, &q, ext_q, 0);
    free((void *)q.payload);
    if (r != CS_OK)
        rc = r;
    r = insert(t, s, p, ext_p, dq < 0);
    return r != CS_OK ? r : rc;
}

int tl_push(tl_timeline *t, const tl_packet *p)
{
    if (!t || !p || p->clock_rate <= 0 || (p->payload_len > 0 && !p->payload) ||
        p->arrival_us >= TL_MAX_TIME_US)
        return CS_ERR_INVAL;
    if (t->finished)
        return CS_ERR_STATE;
    t->st.packets++;
    if (!t->have_now || p->arrival_us > t->now_us)
        t->now_us = p->arrival_us;
    t->have_now = 1;

    tl_stream *s = NULL;
    int rc = stream_get(t, p->ssrc, p->source, &s);
    if (rc == CS_ERR_NOMEM)
        return rc;
    if (rc != CS_OK || p->payload_len > TL_MAX_PAYLOAD || p->clock_rate > 384000) {
        t->st.dropped++;
        return settle(t);
    }

    /* extended sequence number (16-bit wrap) */
    if (!s->have_released && s->njb == 0 && s->max_ext_seq == 0) {
        s->max_ext_seq = (1ull << 32) | p->seq;
        rc = insert(t, s, p, s->max_ext_seq, 0);
    } else {
        int16_t delta = (int16_t)(uint16_t)(p->seq - (uint16_t)s->max_ext_seq);
        if (delta > TL_SEQ_JUMP || delta < -TL_SEQ_JUMP) {
            rc = seq_jump(t, s, p);
        } else {
            uint64_t ext = (uint64_t)((int64_t)s->max_ext_seq + delta);
            if (delta > 0)
                s->max_ext_seq = ext;
            rc = insert(t, s, p, ext, delta < 0);
        }
    }
    int r = settle(t);
    return rc != CS_OK ? rc : r;
}

int tl_advance(tl_timeline *t, uint64_t now_us)
{
    if (!t)
        return CS_ERR_INVAL;
    if (t->finished)
        return CS_OK;
    if (now_us >= TL_MAX_TIME_US)
        return CS_ERR_INVAL;
    if (!t->have_now || now_us > t->now_us)
        t->now_us = now_us;
    t->have_now = 1;
    return settle(t);
}

int tl_finish(tl_timeline *t)
{
    if (!t)
        return CS_ERR_INVAL;
    if (t->finished)
        return CS_OK;
    int rc = CS_OK;
    for (int i = 0; i < t->nstreams; i++) {
        tl_stream *s = t->streams[i];
        int r = release_all(t, s);
        if (r != CS_OK)
            rc = r;
        if (s->prob_valid) { /* a jump never confirmed */
            t->st.dropped++;
            free((void *)s->prob.payload);
            s->prob_valid = 0;
        }
    }
    t->final_pos = t->total;
    t->finished = 1;
    return rc;
}

size_t tl_read(tl_timeline *t, int16_t *out, size_t cap)
{
    if (!t || !out)
        return 0;
    uint64_t avail = t->final_pos - t->read_pos;
    size_t n = avail < cap ? (size_t)avail : cap;
    size_t mask = t->ring_cap - 1;
    for (size_t i = 0; i < n; i++) {
        int32_t *slot = &t->ring[(t->read_pos + i) & mask];
        int32_t v = *slot;
        out[i] = (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
        *slot = 0;
    }
    t->read_pos += n;
    return n;
}

size_t tl_available(const tl_timeline *t)
{
    return t ? (size_t)(t->final_pos - t->read_pos) : 0;
}

uint64_t tl_total_samples(const tl_timeline *t)
{
    return t ? t->total : 0;
}

const tl_stats *tl_get_stats(const tl_timeline *t)
{
    return t ? &t->st : NULL;
}
