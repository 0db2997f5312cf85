/*
 * fuzz_pkt.c — libFuzzer target for frame decoding (capture/pkt.c), with the
 * IP reassembler (capture/ipfrag.c) behind it as the capture loop uses them.
 *
 * Input: byte 0 picks the link type from fz_linktypes (low 4 bits). When its
 * top bit is clear the rest is one frame; when set, the rest is a sequence of
 * frames, each preceded by a 2-byte big-endian length (the last one takes what
 * is left), so fragments of one datagram can meet in one input. Every frame is
 * copied into a buffer of exactly its length (ASan sees any over-read). A
 * PKT_FRAGMENT goes to an ipfrag instance with small limits (eviction and
 * timeouts are reached: frames are 300 ms apart, timeout 1 s); a completed
 * datagram is decoded again with pkt_decode_ip().
 *
 * Checked besides memory safety: every pointer pkt_decode() returns lies
 * inside the frame (or the reassembled datagram), and ipfrag never holds more
 * than its limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipfrag.h"
#include "pkt.h"

static const int fz_linktypes[16] = {1, 113, 276, 12, 101, 228, 229, 0,
                                     108, 1, 1, 1, 113, 12, 0, 147 /* unknown */};

static void fz_check_inside(const uint8_t *base, size_t len, const uint8_t *p, size_t n)
{
    if (!p)
        return;
    if (p < base || (size_t)(p - base) > len || n > len - (size_t)(p - base))
        abort();
}

static void fz_check(int r, const uint8_t *buf, size_t len, const pkt_info *in)
{
    if (r < PKT_ERR_ENCAP || r > PKT_SKIP_LINKTYPE)
        abort();
    if (in->ip)
        fz_check_inside(buf, len, in->ip, in->ip_len);
    if (r == PKT_OK)
        fz_check_inside(buf, len, in->payload, in->payload_len);
    if (r == PKT_FRAGMENT)
        fz_check_inside(buf, len, in->frag_data, in->frag_len);
}

static void fz_frame(ipfrag *fr, int linktype, const uint8_t *data, size_t len, uint64_t ts)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return;
    memcpy(buf, data, len);
    pkt_info in;
    int r = pkt_decode(linktype, buf, len, &in);
    fz_check(r, buf, len, &in);
    if (r == PKT_FRAGMENT) {
        const uint8_t *dg;
        size_t dlen;
        if (ipfrag_add(fr, ts, &in, &dg, &dlen) == 1) {
            r = pkt_decode_ip(dg, dlen, &in);
            fz_check(r, dg, dlen, &in);
        }
        ipfrag_stats st;
        ipfrag_get_stats(fr, &st);
        if (st.in_progress > 4 || st.bytes_held > 16384)
            abort();
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int linktype = fz_linktypes[data[0] & 15];
    int multi = (data[0] & 0x80) != 0;
    data++;
    size--;
    ipfrag_limits lim = {.max_datagrams = 4, .max_bytes = 16384, .timeout_us = 1000000};
    ipfrag *fr = ipfrag_new(&lim);
    if (!fr)
        return 0;
    uint64_t ts = 1000000000000ull;
    if (!multi) {
        fz_frame(fr, linktype, data, size, ts);
    } else {
        while (size > 0) {
            size_t n = size;
            if (size >= 2) {
                n = (size_t)data[0] << 8 | data[1];
                data += 2;
                size -= 2;
                if (n > size)
                    n = size;
            }
            fz_frame(fr, linktype, data, n, ts);
            data += n;
            size -= n;
            ts += 300000;
        }
    }
    ipfrag_expire(fr, ts + 2000000);
    ipfrag_stats st;
    ipfrag_get_stats(fr, &st);
    if (st.in_progress != 0 || st.bytes_held != 0)
        abort();
    ipfrag_free(fr);
    return 0;
}
