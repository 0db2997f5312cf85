/*
 * fuzz_ipfrag.c — libFuzzer target for IP fragment reassembly
 * (capture/ipfrag.c).
 *
 * The input is a sequence of 6-byte records, each describing one synthetic
 * fragment that is built as a real IPv4 or IPv6 packet and described by
 * pkt_decode_ip(), as the capture loop does:
 *   byte 0  bit 0 IPv6, bit 1 MF/M, bits 2-3 identification (4 datagrams),
 *           bits 4-6 time advance in 250 ms steps, bit 7 IPv4 options /
 *           an IPv6 destination options header before the fragment header
 *   byte 1-2 fragment offset in 8-byte units (13 bits)
 *   byte 3-4 fragment length in bytes (up to 65535 minus the headers)
 *   byte 5  fill byte of the fragment data
 * Limits are small (3 datagrams, 48 KiB, 1 s) so eviction and timeouts are
 * reached. A completed datagram is checked (its length fields agree with its
 * size) and decoded with pkt_decode_ip(); the stats must stay within limits,
 * and after a final expiry nothing may be held.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ipfrag.h"
#include "pkt.h"

#define FZ_MAX_BYTES 49152

static size_t fz_build(uint8_t *p, unsigned flags, unsigned off8, size_t len, uint8_t fill)
{
    int v6 = flags & 1, more = (flags >> 1) & 1, ext = (flags >> 7) & 1;
    unsigned id = (flags >> 2) & 3;
    size_t o;
    if (!v6) {
        size_t hl = ext ? 32 : 20;
        if (len > 65535 - hl)
            len = 65535 - hl;
        memset(p, 0, hl);
        p[0] = (uint8_t)(0x40 | (hl / 4));
        p[2] = (uint8_t)((hl + len) >> 8);
        p[3] = (uint8_t)(hl + len);
        p[5] = (uint8_t)id;
        p[6] = (uint8_t)((more ? 0x20 : 0) | ((off8 >> 8) & 0x1f));
        p[7] = (uint8_t)off8;
        p[8] = 64;
        p[9] = 17;
        p[12] = 10, p[15] = 1, p[16] = 10, p[19] = 2;
        for (size_t i = 20; i < hl; i++)
            p[i] = 1;
        o = hl;
    } else {
        size_t hl = ext ? 56 : 48;
        if (len > 65535 + 40 - hl)
            len = 65535 + 40 - hl;
        memset(p, 0, hl);
        p[0] = 0x60;
        p[6] = ext ? 60 : 44;
        p[7] = 64;
        p[8] = 0x20, p[23] = 1, p[24] = 0x20, p[39] = 2;
        o = 40;
        if (ext) {
            p[o] = 44;
            o += 8;
        }
        p[o] = 17;
        p[o + 2] = (uint8_t)(off8 >> 5);
        p[o + 3] = (uint8_t)((off8 << 3) | (more ? 1 : 0));
        p[o + 7] = (uint8_t)id;
        o += 8;
        size_t plen = o - 40 + len;
        p[4] = (uint8_t)(plen >> 8);
        p[5] = (uint8_t)plen;
    }
    memset(p + o, fill, len);
    return o + len;
}

static void fz_check_dgram(const uint8_t *dg, size_t len)
{
    if (len < 20)
        abort();
    if ((dg[0] >> 4) == 4) {
        if (((size_t)dg[2] << 8 | dg[3]) != len || (dg[6] & 0x3f) != 0 || dg[7] != 0)
            abort();
    } else if ((dg[0] >> 4) == 6) {
        if (len < 40 || ((size_t)dg[4] << 8 | dg[5]) != len - 40)
            abort();
    } else {
        abort();
    }
    pkt_info in;
    memset(&in, 0, sizeof(in));
    int r = pkt_decode_ip(dg, len, &in);
    if (r == PKT_FRAGMENT)
        abort(); /* the fragmentation fields must be gone */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pkt[65535 + 40];
    ipfrag_limits lim = {.max_datagrams = 3, .max_bytes = FZ_MAX_BYTES, .timeout_us = 1000000};
    ipfrag *fr = ipfrag_new(&lim);
    if (!fr)
        return 0;
    uint64_t ts = 5000000000000ull;
    for (size_t i = 0; i + 6 <= size; i += 6) {
        const uint8_t *r = data + i;
        unsigned off8 = ((unsigned)r[1] << 8 | r[2]) & 0x1fff;
        size_t len = (size_t)r[3] << 8 | r[4];
        ts += (uint64_t)((r[0] >> 4) & 7) * 250000u;
        size_t n = fz_build(pkt, r[0], off8, len, r[5]);
        pkt_info in;
        memset(&in, 0, sizeof(in));
        if (pkt_decode_ip(pkt, n, &in) != PKT_FRAGMENT)
            continue;
        const uint8_t *dg;
        size_t dlen;
        int a = ipfrag_add(fr, ts, &in, &dg, &dlen);
        if (a == 1)
            fz_check_dgram(dg, dlen);
        else if (a != 0 && a != CS_ERR_MALFORMED && a != CS_ERR_LIMIT)
            abort();
        ipfrag_stats st;
        ipfrag_get_stats(fr, &st);
        if (st.in_progress > 3 || st.bytes_held > FZ_MAX_BYTES)
            abort();
    }
    ipfrag_expire(fr, ts + 1000000);
    ipfrag_stats st;
    ipfrag_get_stats(fr, &st);
    if (st.in_progress != 0 || st.bytes_held != 0)
        abort();
    ipfrag_free(fr);
    return 0;
}
