/*
 * fuzz_rtp.c — libFuzzer target for capture/rtp.c: rtp_parse, rtcp_parse,
 * rtcp_looks_like, rtp_event_parse, and the stream state machines
 * (rtp_stats_update, rtp_dtmf_update/flush) over a sequence of packets.
 *
 * Input framing (so one input is a whole stream): records of
 *   len (2 bytes, big-endian) | dt (1 byte, signed ms) | flags (1 byte) | bytes
 * a record whose len runs past the input takes what is left. flags bit 0:
 * audio; bits 1-2: clock rate 0 / 8000 / 16000 / 90000; bit 3: also feed the
 * packet to the DTMF tracker. Each packet is copied into a heap buffer of
 * exactly its length, so ASan reports any read past a packet (a read into
 * the next record of the input would go unnoticed otherwise).
 *
 * Invariants checked (abort on violation): lost <= expected; duplicates and
 * out_of_order <= packets; first_us <= last_us; a reported digit is one of
 * "0123456789*#ABCD"; rtcp nrb <= RTCP_MAX_REPORTS; an RTP payload lies
 * inside the packet.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rtp.h"

static void check_digit(const rtp_dtmf_digit *d)
{
    if (!d->digit || !memchr("0123456789*#ABCD", d->digit, 16))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int rates[4] = {0, 8000, 16000, 90000};
    rtp_stream_stats st;
    rtp_dtmf dt;
    rtp_stats_init(&st);
    rtp_dtmf_init(&dt);
    uint64_t now = 1000000000ull;
    size_t off = 0;
    int rate = 8000;
    while (size - off >= 4) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        int8_t dms = (int8_t)data[off + 2];
        uint8_t flags = data[off + 3];
        off += 4;
        if (len > size - off)
            len = size - off;
        uint8_t *pkt = malloc(len ? len : 1);
        if (!pkt)
            return 0;
        memcpy(pkt, data + off, len);
        off += len;
        now += (uint64_t)((int64_t)dms * 1000);
        rate = rates[(flags >> 1) & 3];

        rtp_hdr h;
        if (rtp_parse(pkt, len, &h) == CS_OK) {
            if (h.payload < pkt || h.payload + h.payload_len > pkt + len)
                abort();
            rtp_stats_update(&st, &h, now, rate, flags & 1);
            if (st.lost > st.expected || st.duplicates > st.packets ||
                st.out_of_order > st.packets || st.first_us > st.last_us)
                abort();
            rtp_event ev;
            (void)rtp_event_parse(h.payload, h.payload_len, &ev);
            if (flags & 8) {
                rtp_dtmf_digit d;
                if (rtp_dtmf_update(&dt, &h, now, rate, &d))
                    check_digit(&d);
            }
        }
        rtcp_info ri;
        int rc = rtcp_parse(pkt, len, &ri);
        if (rc == CS_OK && (ri.nrb < 0 || ri.nrb > RTCP_MAX_REPORTS || ri.npackets < 1))
            abort();
        (void)rtcp_looks_like(pkt, len);
        free(pkt);
    }
    rtp_dtmf_digit d;
    if (rtp_dtmf_flush(&dt, rate, &d))
        check_digit(&d);
    return 0;
}
