/*
 * test_cg_rtp.c — callgen's RTP packetiser: header bytes, sequence and
 * timestamp progression per codec (160 per 20 ms, 960 for Opus), the marker
 * bit on talk-spurt starts, RFC 4733 event packet sequences, RTCP SR layout,
 * and the fault model's counts checked against the packets it produced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cg_codec.h"
#include "cg_rtp.h"
#include "error.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void test_header_bytes(void **state)
{
    (void)state;
    uint8_t b[12];
    assert_int_equal(cg_rtp_header(b, sizeof b, 8, 1, 0xBEEF, 0x01020304, 0xA1B2C3D4), 12);
    const uint8_t want[12] = {0x80, 0x88, 0xBE, 0xEF, 1, 2, 3, 4, 0xA1, 0xB2, 0xC3, 0xD4};
    assert_memory_equal(b, want, 12);
    assert_int_equal(cg_rtp_header(b, 11, 0, 0, 0, 0, 0), CS_ERR_OVERFLOW);
    assert_int_equal(cg_rtp_header(b, 12, 0, 0, 1, 0, 0), 12);
    assert_int_equal(b[1], 0x00);
}

static void test_progression_per_codec(void **state)
{
    (void)state;
    for (int c = 0; c < CG_CODEC__COUNT; c++) {
        const cg_codec_info *ci = cg_codec_get((cg_codec)c);
        cg_rng r;
        cg_rng_seed(&r, 99, (uint64_t)c);
        cg_rtp_stream s;
        cg_rtp_stream_init(&s, &r, (uint8_t)ci->payload_type, ci->rtp_clock, ci->ts_per_frame);
        assert_int_equal(ci->ts_per_frame, c == CG_CODEC_OPUS ? 960 : 160);
        s.seq = 65534; /* exercise the wrap */
        uint32_t ts0 = s.ts;
        uint8_t pay[20] = {0}, pk[64];
        for (int k = 0; k < 5; k++) {
            int n = cg_rtp_audio(&s, pay, sizeof pay, pk, sizeof pk);
            assert_int_equal(n, 32);
            assert_int_equal(pk[1] & 0x7f, ci->payload_type);
            assert_int_equal((pk[1] & 0x80) != 0, k == 0); /* marker only on the first */
            assert_int_equal(rd16(pk + 2), (uint16_t)(65534 + k));
            assert_int_equal(rd32(pk + 4), ts0 + (uint32_t)(k * ci->ts_per_frame));
            assert_int_equal(rd32(pk + 8), s.ssrc);
        }
        assert_int_equal(s.packets, 5);
        assert_int_equal(s.octets, 100);
        /* a skipped frame advances the timestamp but not the sequence */
        cg_rtp_skip_frame(&s);
        cg_rtp_audio(&s, pay, sizeof pay, pk, sizeof pk);
        assert_int_equal(rd16(pk + 2), (uint16_t)(65534 + 5));
        assert_int_equal(rd32(pk + 4), ts0 + (uint32_t)(6 * ci->ts_per_frame));
        /* new SSRC: marker on the next packet, different SSRC */
        uint32_t old = s.ssrc;
        cg_rtp_new_ssrc(&s, &r);
        assert_int_not_equal(s.ssrc, old);
        cg_rtp_audio(&s, pay, sizeof pay, pk, sizeof pk);
        assert_true(pk[1] & 0x80);
        assert_int_equal(rd32(pk + 8), s.ssrc);
        assert_int_equal(cg_rtp_audio(&s, pay, sizeof pay, pk, 31), CS_ERR_OVERFLOW);
    }
}

static void test_dtmf_sequence(void **state)
{
    (void)state;
    cg_dtmf_pkt p[CG_DTMF_MAX_PKT];
    int n = cg_dtmf_plan(100, 8000, p, CG_DTMF_MAX_PKT);
    assert_int_equal(n, 5 + 3);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(p[i].marker, i == 0);
        assert_int_equal(p[i].end, 0);
        assert_int_equal(p[i].duration, 160 * (i + 1));
        assert_int_equal(p[i].offset_ms, 20 * i);
    }
    for (int i = 5; i < 8; i++) {
        assert_int_equal(p[i].marker, 0);
        assert_int_equal(p[i].end, 1);
        assert_int_equal(p[i].duration, 800);
        assert_int_equal(p[i].offset_ms, 20 * i);
    }
    /* Opus clock: 960 units per 20 ms; 90 ms rounds up to 5 frames */
    n = cg_dtmf_plan(90, 48000, p, CG_DTMF_MAX_PKT);
    assert_int_equal(n, 8);
    assert_int_equal(p[7].duration, 4800);
    assert_int_equal(cg_dtmf_plan(0, 8000, p, CG_DTMF_MAX_PKT), CS_ERR_INVAL);
    assert_int_equal(cg_dtmf_plan(1001, 8000, p, CG_DTMF_MAX_PKT), CS_ERR_INVAL);
    assert_int_equal(cg_dtmf_plan(100, 8000, p, 7), CS_ERR_OVERFLOW);
    assert_int_equal(cg_dtmf_plan(100, 8000, p, 8), 8);

    /* packets: same timestamp, consecutive sequence numbers, exact payload */
    cg_rng r;
    cg_rng_seed(&r, 5, 5);
    cg_rtp_stream s;
    cg_rtp_stream_init(&s, &r, 0, 8000, 160);
    uint16_t seq0 = s.seq;
    n = cg_dtmf_plan(100, 8000, p, CG_DTMF_MAX_PKT);
    uint8_t pk[32];
    for (int i = 0; i < n; i++) {
        assert_int_equal(cg_rtp_dtmf(&s, 101, cg_dtmf_event('#'), &p[i], 777, pk, sizeof pk), 16);
        assert_int_equal(pk[1], (i == 0 ? 0x80 : 0) | 101);
        assert_int_equal(rd16(pk + 2), (uint16_t)(seq0 + i));
        assert_int_equal(rd32(pk + 4), 777);
        assert_int_equal(pk[12], 11);
        assert_int_equal(pk[13], (i >= 5 ? 0x80 : 0) | 10);
        assert_int_equal(rd16(pk + 14), p[i].duration);
    }
    assert_int_equal(cg_rtp_dtmf(&s, 101, 1, &p[0], 0, pk, 15), CS_ERR_OVERFLOW);
    assert_int_equal(cg_dtmf_event('0'), 0);
    assert_int_equal(cg_dtmf_event('9'), 9);
    assert_int_equal(cg_dtmf_event('*'), 10);
    assert_int_equal(cg_dtmf_event('D'), 15);
    assert_int_equal(cg_dtmf_event('x'), -1);
}

static void test_rtcp(void **state)
{
    (void)state;
    cg_rtcp_sr sr = {0};
    sr.ssrc = 0x11223344;
    sr.ntp_us = 1709542800500000ULL; /* 2024-03-04T09:00:00.5Z */
    sr.rtp_ts = 1000;
    sr.packets = 250;
    sr.octets = 40000;
    sr.remote_ssrc = 0x55667788;
    sr.highest_seq = 1234;
    sr.cname = "pbx@198.51.100.10"; /* 17 chars: chunk 4+2+17+1 = 24 */
    uint8_t b[128];
    int n = cg_rtcp_build(&sr, b, sizeof b);
    assert_int_equal(n, 52 + 4 + 24);
    assert_int_equal(b[0], 0x81);
    assert_int_equal(b[1], 200);
    assert_int_equal(rd16(b + 2), 12);
    assert_int_equal(rd32(b + 4), 0x11223344);
    assert_int_equal(rd32(b + 8), (uint32_t)(1709542800ULL + 2208988800ULL));
    assert_int_equal(rd32(b + 12), 0x80000000u); /* .5 s */
    assert_int_equal(rd32(b + 20), 250);
    assert_int_equal(rd32(b + 24), 40000);
    assert_int_equal(rd32(b + 28), 0x55667788);
    assert_int_equal(rd32(b + 36), 1234);
    assert_int_equal(b[52], 0x81);
    assert_int_equal(b[53], 202);
    assert_int_equal(rd16(b + 54), (4 + 24) / 4 - 1);
    assert_int_equal(b[60], 1);
    assert_int_equal(b[61], 17);
    assert_memory_equal(b + 62, "pbx@198.51.100.10", 17);
    assert_int_equal(b[79], 0);
    assert_int_equal(cg_rtcp_build(&sr, b, (size_t)n - 1), CS_ERR_OVERFLOW);
    assert_int_equal(cg_rtcp_build(&sr, b, (size_t)n), n);
}

static void check_faults(const cg_fault_cfg *cfg, size_t n, uint64_t seed)
{
    uint64_t *send = calloc(n, sizeof *send);
    cg_fault_out *out = calloc(2 * n, sizeof *out);
    int *seen = calloc(n, sizeof *seen);
    assert_non_null(send);
    assert_non_null(out);
    assert_non_null(seen);
    for (size_t i = 0; i < n; i++)
        send[i] = 1000000 + i * 20000;
    cg_rng r;
    cg_rng_seed(&r, seed, 1);
    cg_fault_counts fc = {0};
    int m = cg_fault_apply(cfg, &r, send, n, out, 2 * n, &fc);
    assert_true(m >= 0);
    assert_int_equal(fc.sent, n);
    assert_int_equal(fc.delivered, (uint64_t)m);
    assert_int_equal((uint64_t)m, fc.sent - fc.dropped + fc.duplicated);
    uint64_t dups = 0, distinct = 0, inversions = 0;
    int64_t last_first = -1;
    for (int i = 0; i < m; i++) {
        assert_true(out[i].index < n);
        assert_true(out[i].t_us >= send[out[i].index]);
        if (i > 0)
            assert_true(out[i].t_us >= out[i - 1].t_us);
        if (seen[out[i].index]++) {
            dups++;
            assert_int_equal(out[i - 1].index, out[i].index); /* copy right behind */
            continue;
        }
        distinct++;
        if ((int64_t)out[i].index < last_first)
            inversions++;
        last_first = out[i].index;
    }
    assert_int_equal(dups, fc.duplicated);
    assert_int_equal(distinct, n - fc.dropped);
    assert_int_equal(inversions, fc.reordered);
    if (cfg->loss_pct > 0)
        assert_true(fc.dropped > 0);
    if (cfg->duplicate_pct > 0)
        assert_true(fc.duplicated > 0);
    if (cfg->reorder_pct > 0)
        assert_true(fc.reordered > 0);
    free(send);
    free(out);
    free(seen);
}

static void test_faults(void **state)
{
    (void)state;
    cg_fault_cfg none = {0, 0, 0, 0};
    check_faults(&none, 1000, 1);
    cg_fault_cfg all = {5, 3, 2, 30};
    check_faults(&all, 20000, 2);
    check_faults(&all, 20000, 3);
    cg_fault_cfg loss = {50, 0, 0, 0};
    check_faults(&loss, 5000, 4);
    cg_fault_cfg reorder = {0, 0, 40, 0};
    check_faults(&reorder, 5000, 5);
    /* without faults the output is the input, same times, no rng drawn */
    uint64_t send[3] = {10, 20, 30};
    cg_fault_out out[6];
    cg_fault_counts fc = {0};
    cg_rng r, r0;
    cg_rng_seed(&r, 1, 1);
    r0 = r;
    assert_int_equal(cg_fault_apply(&none, &r, send, 3, out, 6, &fc), 3);
    assert_memory_equal(&r, &r0, sizeof r);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].index, i);
        assert_int_equal(out[i].t_us, send[i]);
    }
    assert_int_equal(cg_fault_apply(&none, &r, send, 3, out, 5, &fc), CS_ERR_OVERFLOW);
    /* deterministic: same seed, same result */
    cg_fault_out a[200], b[200];
    uint64_t s2[100];
    for (int i = 0; i < 100; i++)
        s2[i] = (uint64_t)i * 20000;
    cg_fault_cfg f = {10, 10, 10, 40};
    cg_fault_counts ca = {0}, cb = {0};
    cg_rng_seed(&r, 7, 7);
    int na = cg_fault_apply(&f, &r, s2, 100, a, 200, &ca);
    cg_rng_seed(&r, 7, 7);
    int nb = cg_fault_apply(&f, &r, s2, 100, b, 200, &cb);
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++) {
        assert_int_equal(a[i].index, b[i].index);
        assert_int_equal(a[i].t_us, b[i].t_us);
    }
    assert_memory_equal(&ca, &cb, sizeof ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_bytes),
        cmocka_unit_test(test_progression_per_codec),
        cmocka_unit_test(test_dtmf_sequence),
        cmocka_unit_test(test_rtcp),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
