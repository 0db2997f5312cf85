/*
 * fuzz_timeline.c — libFuzzer target for decode/timeline.c: one direction's
 * timeline fed a hostile sequence of RTP packets (what a SPAN port delivers
 * into call.pcap), capture-clock advances and reads.
 *
 * Input framing (every field read with a default of 0 past the end):
 *   byte 0   rate (bit 0: 8000 / 16000), hold_ms (bits 1-2: 0 = default 300,
 *            20, 60, 5000), late_ms (bits 3-4: 0 = default 1000, 1, 50,
 *            10000), plc_ms (bits 5-6: 0 = default 100, -1 = none, 20, 10000),
 *            bit 7: no conceal callback
 *   byte 1   call length: (b + 1) * 4 ms + 17 µs (≤ 1.03 s: reading out a
 *            call costs ~40 ns a sample under the sanitizers)
 *   byte 2   bits 0-1 max_buffer_ms (0 = default 120 s, else the minimum
 *            tl_new accepts, hold + late + 2 * TL_MAX_FRAME_MS, plus 0, 500
 *            or 3000 ms);
 *            bits 2-7: first arrival = invite - 100 ms + b * 20 ms
 *   then records of 8 bytes, at most MAX_RECORDS:
 *     op  bits 0-2: 0..4 push, 5 advance, 6 read, 7 push a telephone event;
 *         bit 3 marker; bits 4-5 clock (8000, 16000, 48000, 1);
 *         bit 6 the capture clock steps back instead of forward;
 *         bit 7 large steps (arrival ×64, seq/ts jumps ×1000)
 *     dt  arrival step in units of 500 µs
 *     s   SSRC: bits 0-1 one of four; bits 2-7 == 63: one of 40 (the cap)
 *     dq  signed sequence step
 *     dts signed 16-bit timestamp step (in units of 8)
 *     pt  payload type (pt % 16 == 13: decode returns 0, == 15: returns an error)
 *     len payload length in bytes; 254 = TL_MAX_PAYLOAD, 255 = one more
 *   A read op reads min(dt * 37, what is left) samples. An advance op moves
 *   the capture clock like a push would. A push op whose arrival would pass
 *   TL_MAX_TIME_US (never: bounded) is not generated; one record with op 5
 *   and dt 255 and bit 7 advances to TL_MAX_TIME_US and must get INVAL.
 *
 * Callbacks: decode is G.711-like: one payload byte is one sample at 8 kHz
 * (two at 16 kHz), at most cap, written in full so ASan sees any short
 * buffer; conceal fills exactly n samples. The payload is a heap copy of
 * exactly its length.
 *
 * Invariants (abort on violation): tl_total_samples == round(dur * rate / 1e6);
 * tl_push / tl_advance return only the documented codes; reads never exceed
 * the total; after tl_finish everything is final and the samples read in all
 * are exactly the total; tl_push after tl_finish is CS_ERR_STATE; callbacks
 * are never re-entered and never called from tl_read; conceal is asked for
 * n > 0 samples; stats.streams <= TL_MAX_STREAMS.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "timeline.h"

#define MAX_RECORDS 500
#define INVITE_US   1709542867597000ull

typedef struct fctx {
    int rate;
    int in_cb;
    int reading;
} fctx;

static void check(int ok)
{
    if (!ok)
        abort();
}

/* The harness's own per-sample loops are not coverage-instrumented: they would
 * only slow the target down. */
#define NOCOV __attribute__((no_sanitize("coverage")))

NOCOV static int dec(void *ctx, const tl_stream_info *s, const tl_packet *p, uint64_t at,
                     int16_t *pcm, size_t cap)
{
    (void)at;
    fctx *f = ctx;
    check(!f->in_cb && !f->reading);
    check(s && p && s->index >= 0 && s->index < TL_MAX_STREAMS && s->ssrc == p->ssrc);
    check(p->payload_len <= TL_MAX_PAYLOAD);
    if (p->pt % 16 == 13)
        return 0;
    if (p->pt % 16 == 15)
        return CS_ERR_MALFORMED;
    f->in_cb = 1;
    size_t n = p->payload_len * (size_t)(f->rate / 8000);
    if (n > cap)
        n = cap;
    for (size_t i = 0; i < n; i++)
        pcm[i] = (int16_t)((p->payload[i / (size_t)(f->rate / 8000)] - 128) * 256);
    f->in_cb = 0;
    return (int)n;
}

NOCOV static int conceal(void *ctx, const tl_stream_info *s, const tl_packet *next, uint64_t at,
                         int16_t *pcm, size_t n)
{
    (void)at;
    fctx *f = ctx;
    check(!f->in_cb && !f->reading);
    check(s && n > 0);
    if (next)
        check(next->ssrc == s->ssrc && next->payload_len <= TL_MAX_PAYLOAD);
    for (size_t i = 0; i < n; i++)
        pcm[i] = (int16_t)(i * 7);
    return 0;
}

static int push_rc_ok(int rc)
{
    return rc == CS_OK || rc == CS_ERR_LIMIT || rc == CS_ERR_NOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t h[3] = {0, 0, 0};
    for (size_t i = 0; i < 3 && i < size; i++)
        h[i] = data[i];
    static const int holds[4] = {0, 20, 60, 5000};
    static const int lates[4] = {0, 1, 50, 10000};
    static const int plcs[4] = {0, -1, 20, 10000};
    static const int bufs[4] = {0, 0, 500, 3000};
    static const int clocks[4] = {8000, 16000, 48000, 1};

    fctx f = {.rate = (h[0] & 1) ? 16000 : 8000};
    uint64_t dur_us = ((uint64_t)h[1] + 1) * 4000 + 17;
    tl_config cfg = {.invite_us = INVITE_US,
                     .end_us = INVITE_US + dur_us,
                     .rate = f.rate,
                     .hold_ms = holds[(h[0] >> 1) & 3],
                     .late_ms = lates[(h[0] >> 3) & 3],
                     .plc_ms = plcs[(h[0] >> 5) & 3],
                     .max_buffer_ms = 0};
    if (h[2] & 3) /* the smallest ceiling tl_new accepts, plus a little */
        cfg.max_buffer_ms = (cfg.hold_ms ? cfg.hold_ms : 300) + (cfg.late_ms ? cfg.late_ms : 1000) +
                            2 * TL_MAX_FRAME_MS + bufs[h[2] & 3];
    tl_ops ops = {.decode = dec, .conceal = (h[0] & 0x80) ? NULL : conceal, .ctx = &f};
    tl_timeline *t = NULL;
    int rc = tl_new(&cfg, &ops, &t);
    check(rc == CS_OK && t);
    uint64_t total = tl_total_samples(t);
    check(total == (dur_us * (uint64_t)f.rate + 500000) / 1000000);

    int16_t *out = malloc(sizeof(int16_t) * 10000);
    check(out != NULL);
    uint64_t read = 0;
    uint64_t now = INVITE_US - 100000 + (uint64_t)(h[2] >> 2) * 20000;
    uint16_t seq[4] = {100, 40000, 65530, 7};
    uint32_t ts[4] = {1000, 0xfffff000u, 123456789u, 0};

    const uint8_t *p = size > 3 ? data + 3 : data;
    size_t left = size > 3 ? size - 3 : 0;
    for (int r = 0; r < MAX_RECORDS && left > 0; r++) {
        uint8_t b[8] = {0};
        size_t take = left < 8 ? left : 8;
        memcpy(b, p, take);
        p += take;
        left -= take;
        int op = b[0] & 7, big = b[0] >> 7;
        uint64_t step = (uint64_t)b[1] * 500 * (big ? 64 : 1);
        if (op == 6) {
            size_t want = (size_t)b[1] * 37;
            size_t got = tl_read(t, out, want);
            check(got <= want);
            read += got;
            check(read <= total);
            check(tl_available(t) <= total - read);
            continue;
        }
        if (b[0] & 0x40)
            now = now > step ? now - step : 0;
        else
            now += step;
        if (op == 5) {
            if (big && b[1] == 255) {
                check(tl_advance(t, TL_MAX_TIME_US) == CS_ERR_INVAL);
                continue;
            }
            rc = tl_advance(t, now);
            check(rc == CS_OK || rc == CS_ERR_LIMIT || rc == CS_ERR_NOMEM);
            continue;
        }
        int si = b[2] & 3;
        uint32_t ssrc = 0x11110000u + (uint32_t)si;
        if ((b[2] >> 2) == 63)
            ssrc = 0x22220000u + (uint32_t)(b[3] % 40);
        int dq = (int8_t)b[3];
        int dts = (int16_t)((b[4] << 8) | b[5]) * 8;
        if (big) {
            dq *= 1000;
            dts *= 1000;
        }
        seq[si] = (uint16_t)(seq[si] + (uint16_t)dq);
        ts[si] += (uint32_t)dts;
        size_t len = b[7] == 255 ? TL_MAX_PAYLOAD + 1 : b[7] == 254 ? TL_MAX_PAYLOAD : b[7];
        uint8_t *pl = malloc(len ? len : 1);
        check(pl != NULL);
        memset(pl, b[6], len);
        tl_packet pk = {.arrival_us = now,
                        .ssrc = ssrc,
                        .seq = seq[si],
                        .ts = ts[si],
                        .marker = (b[0] >> 3) & 1,
                        .pt = b[6] & 127,
                        .clock_rate = clocks[(b[0] >> 4) & 3],
                        .event = op == 7,
                        .payload = pl,
                        .payload_len = len};
        rc = tl_push(t, &pk);
        free(pl);
        check(push_rc_ok(rc));
        check(tl_get_stats(t)->streams <= TL_MAX_STREAMS);
        /* some records read right away, as the renderer does */
        if (b[6] & 0x80) {
            f.reading = 1;
            size_t got = tl_read(t, out, 10000);
            f.reading = 0;
            read += got;
            check(read <= total);
        }
    }
    tl_packet bad = {.arrival_us = now, .ssrc = 1, .clock_rate = 0};
    check(tl_push(t, &bad) == CS_ERR_INVAL);
    rc = tl_finish(t);
    check(rc == CS_OK || rc == CS_ERR_LIMIT || rc == CS_ERR_NOMEM);
    check(tl_available(t) == total - read);
    f.reading = 1;
    size_t got;
    while ((got = tl_read(t, out, 10000)) > 0) {
        read += got;
        check(read <= total);
    }
    f.reading = 0;
    check(read == total);
    check(tl_available(t) == 0);
    tl_packet late = {.arrival_us = now, .ssrc = 1, .clock_rate = 8000};
    check(tl_push(t, &late) == CS_ERR_STATE);
    const tl_stats *st = tl_get_stats(t);
    check(st->streams <= TL_MAX_STREAMS);
    free(out);
    tl_free(t);
    return 0;
}
