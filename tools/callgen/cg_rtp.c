/*
 * cg_rtp.c — RTP/RTCP packet building and the fault model (see cg_rtp.h).
 *
 * RTP fixed header (RFC 3550 5.1):
 *    0                   1                   2                   3
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   |                           timestamp                           |
 *   |           synchronization source (SSRC) identifier            |
 * telephone-event payload (RFC 4733 2.3):
 *   |     event     |E|R| volume    |          duration             |
 * RTCP SR (RFC 3550 6.4.1): header (RC=1, PT=200, length 12), SSRC, NTP
 * timestamp (64 bits), RTP timestamp, packet count, octet count, then one
 * report block (SSRC, fraction lost, cumulative lost (24), extended highest
 * sequence, jitter, LSR, DLSR). SDES (6.5): one chunk, CNAME item, a zero
 * terminator and padding to a 32-bit boundary.
 *
 * The fault model draws from the caller's rng only when a fault is enabled,
 * so a run without faults consumes no random numbers here.
 * SECURITY: writes only.
 */
#include "cg_rtp.h"

#include "error.h"

#include <string.h>

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void cg_rtp_stream_init(cg_rtp_stream *s, cg_rng *rng, uint8_t pt, int clock, int ts_per_frame)
{
    memset(s, 0, sizeof *s);
    s->pt = pt;
    s->clock = clock;
    s->ts_per_frame = ts_per_frame;
    cg_rtp_new_ssrc(s, rng);
}

void cg_rtp_new_ssrc(cg_rtp_stream *s, cg_rng *rng)
{
    uint32_t old = s->ssrc;
    do {
        s->ssrc = (uint32_t)cg_rng_next(rng);
    } while (s->ssrc == 0 || s->ssrc == old);
    s->seq = (uint16_t)cg_rng_next(rng);
    s->ts = (uint32_t)cg_rng_next(rng);
    s->marker_next = 1;
}

int cg_rtp_header(uint8_t *out, size_t cap, uint8_t pt, int marker, uint16_t seq, uint32_t ts,
                  uint32_t ssrc)
{
    if (!out || cap < CG_RTP_HDR)
        return CS_ERR_OVERFLOW;
    out[0] = 0x80; /* V=2, P=0, X=0, CC=0 */
    out[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    put16(out + 2, seq);
    put32(out + 4, ts);
    put32(out + 8, ssrc);
    return CG_RTP_HDR;
}

int cg_rtp_audio(cg_rtp_stream *s, const uint8_t *payload, size_t plen, uint8_t *out, size_t cap)
{
    if (cap < CG_RTP_HDR || plen > cap - CG_RTP_HDR)
        return CS_ERR_OVERFLOW;
    cg_rtp_header(out, cap, s->pt, s->marker_next, s->seq, s->ts, s->ssrc);
    if (plen)
        memcpy(out + CG_RTP_HDR, payload, plen);
    s->marker_next = 0;
    s->seq++;
    s->ts += (uint32_t)s->ts_per_frame;
    s->packets++;
    s->octets += plen;
    return (int)(CG_RTP_HDR + plen);
}

void cg_rtp_skip_frame(cg_rtp_stream *s)
{
    s->ts += (uint32_t)s->ts_per_frame;
}

int cg_dtmf_event(char digit)
{
    if (digit >= '0' && digit <= '9')
        return digit - '0';
    switch (digit) {
    case '*': return 10;
    case '#': return 11;
    case 'A': return 12;
    case 'B': return 13;
    case 'C': return 14;
    case 'D': return 15;
    default: return -1;
    }
}

int cg_dtmf_plan(int duration_ms, int clock, cg_dtmf_pkt *out, size_t cap)
{
    if (duration_ms <= 0 || duration_ms > 1000 || clock <= 0 || clock > 48000 || !out)
        return CS_ERR_INVAL;
    int frames = (duration_ms + 19) / 20;
    uint32_t unit = (uint32_t)clock / 50; /* timestamp units per 20 ms */
    size_t need = (size_t)frames + 3;
    if (need > cap)
        return CS_ERR_OVERFLOW;
    size_t n = 0;
    /* start + updates: packet i (sent at i*20 ms) covers i+1 frames so far */
    for (int i = 0; i < frames; i++) {
        out[n].offset_ms = (uint32_t)i * 20;
        out[n].marker = i == 0;
        out[n].end = 0;
        out[n].duration = (uint16_t)(unit * (uint32_t)(i + 1));
        n++;
    }
    uint16_t total = (uint16_t)(unit * (uint32_t)frames);
    for (int i = 0; i < 3; i++) {
        out[n].offset_ms = (uint32_t)(frames + i) * 20;
        out[n].marker = 0;
        out[n].end = 1;
        out[n].duration = total;
        n++;
    }
    return (int)n;
}

int cg_rtp_dtmf(cg_rtp_stream *s, uint8_t pt, int event, const cg_dtmf_pkt *p, uint32_t ts,
                uint8_t *out, size_t cap)
{
    if (cap < CG_RTP_HDR + 4)
        return CS_ERR_OVERFLOW;
    if (event < 0 || event > 255)
        return CS_ERR_INVAL;
    cg_rtp_header(out, cap, pt, p->marker, s->seq, ts, s->ssrc);
    out[12] = (uint8_t)event;
    out[13] = (uint8_t)((p->end ? 0x80 : 0) | 10); /* E, R=0, volume 10 (-10 dBm0) */
    put16(out + 14, p->duration);
    s->seq++;
    s->packets++;
    s->octets += 4;
    return CG_RTP_HDR + 4;
}

int cg_rtcp_build(const cg_rtcp_sr *r, uint8_t *out, size_t cap)
{
    if (!r || !out)
        return CS_ERR_INVAL;
    const char *cname = r->cname ? r->cname : "";
    size_t cl = strlen(cname);
    if (cl > 255)
        return CS_ERR_INVAL;
    /* SDES chunk: SSRC(4) + type(1) + len(1) + text + at least one zero, padded to 4 */
    size_t chunk = 4 + 2 + cl + 1;
    chunk = (chunk + 3) & ~(size_t)3;
    size_t need = 52 + 4 + chunk;
    if (cap < need)
        return CS_ERR_OVERFLOW;
    memset(out, 0, need);
    out[0] = 0x81; /* V=2, RC=1 */
    out[1] = 200;
    put16(out + 2, 12);
    put32(out + 4, r->ssrc);
    uint64_t sec = r->ntp_us / 1000000u + 2208988800ULL;
    uint64_t frac = ((r->ntp_us % 1000000u) << 32) / 1000000u;
    put32(out + 8, (uint32_t)sec);
    put32(out + 12, (uint32_t)frac);
    put32(out + 16, r->rtp_ts);
    put32(out + 20, r->packets);
    put32(out + 24, r->octets);
    put32(out + 28, r->remote_ssrc);
    out[32] = r->fraction_lost;
    out[33] = (uint8_t)(r->cum_lost >> 16);
    out[34] = (uint8_t)(r->cum_lost >> 8);
    out[35] = (uint8_t)r->cum_lost;
    put32(out + 36, r->highest_seq);
    put32(out + 40, r->jitter);
    put32(out + 44, 0); /* LSR: no SR received yet from the peer in our model */
    put32(out + 48, 0); /* DLSR */
    uint8_t *sd = out + 52;
    sd[0] = 0x81; /* V=2, SC=1 */
    sd[1] = 202;
    put16(sd + 2, (uint32_t)((4 + chunk) / 4 - 1));
    put32(sd + 4, r->ssrc);
    sd[8] = 1; /* CNAME */
    sd[9] = (uint8_t)cl;
    memcpy(sd + 10, cname, cl);
    return (int)need;
}

int cg_fault_apply(const cg_fault_cfg *c, cg_rng *rng, const uint64_t *send_us, size_t n,
                   cg_fault_out *out, size_t cap, cg_fault_counts *counts)
{
    if (!c || !rng || (n > 0 && (!send_us || !out)) || !counts)
        return CS_ERR_INVAL;
    if (cap < 2 * n)
        return CS_ERR_OVERFLOW;
    size_t m = 0;
    uint64_t last = 0;
    int pending = -1;
    uint64_t jit_us = c->jitter_ms > 0 ? (uint64_t)c->jitter_ms * 1000u : 0;

#define CG_EMIT(idx)                                                                     \
    do {                                                                                 \
        uint64_t t_ = send_us[(idx)];                                                    \
        if (jit_us)                                                                      \
            t_ += cg_rng_below(rng, jit_us + 1);                                         \
        if (m > 0 && t_ <= last)                                                         \
            t_ = last + 1;                                                               \
        out[m].index = (uint32_t)(idx);                                                  \
        out[m].t_us = t_;                                                                \
        last = t_;                                                                       \
        m++;                                                                             \
        if (c->duplicate_pct > 0 && cg_rng_unit(rng) * 100.0 < c->duplicate_pct) {      \
            out[m].index = (uint32_t)(idx);                                              \
            out[m].t_us = last + 40;                                                     \
            last += 40;                                                                  \
            m++;                                                                         \
            counts->duplicated++;                                                        \
        }                                                                                \
    } while (0)

    for (size_t k = 0; k < n; k++) {
        counts->sent++;
        if (c->loss_pct > 0 && cg_rng_unit(rng) * 100.0 < c->loss_pct) {
            counts->dropped++;
            continue;
        }
        if (pending >= 0) {
            CG_EMIT(k);
            CG_EMIT((size_t)pending);
            pending = -1;
            counts->reordered++;
            continue;
        }
        if (c->reorder_pct > 0 && k + 1 < n && cg_rng_unit(rng) * 100.0 < c->reorder_pct) {
            pending = (int)k;
            continue;
        }
        CG_EMIT(k);
    }
    if (pending >= 0)
        CG_EMIT((size_t)pending);
#undef CG_EMIT
    counts->delivered += m;
    return (int)m;
}
