/*
 * test_rtp.c — rtp_parse, rtcp_parse, rtcp_looks_like and rtp_event_parse.
 *
 * Table-driven boundary cases (each structure at len-1, len, len+1 with the
 * exact error code) and an expected-output test: every line of
 * tests/capture/data/rtp/parse.in ("rtp|rtcp|event NAME HEX") is parsed and
 * printed; the text must equal tests/capture/data/rtp/parse.expected.
 * Set CALLSCOPE_REGEN=1 to print the actual output instead of comparing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rtp.h"
#include "testsupport.h"

/* 12-byte fixed header: V=2, given first/second byte, seq 0x1234,
 * ts 0x01020304, ssrc 0xdeadbeef. */
static size_t hdr(uint8_t *b, uint8_t b0, uint8_t b1)
{
    static const uint8_t rest[10] = {0x12, 0x34, 1, 2, 3, 4, 0xde, 0xad, 0xbe, 0xef};
    b[0] = b0;
    b[1] = b1;
    memcpy(b + 2, rest, sizeof rest);
    return 12;
}

typedef struct rtp_case {
    const char *name;
    uint8_t b0, b1;
    size_t extra;       /* bytes after the fixed header, filled below */
    uint16_t ext_words; /* extension length field, if X */
    uint8_t last;       /* value of the packet's last byte (padding count) */
    int rc;
    size_t payload_off, payload_len;
} rtp_case;

static const rtp_case rtp_cases[] = {
    /* fixed header */
    {"11 bytes", 0x80, 0x00, 0, 0, 0, CS_ERR_TRUNCATED, 0, 0},
    {"12 bytes", 0x80, 0x00, 0, 0, 0, CS_OK, 12, 0},
    {"13 bytes", 0x80, 0x00, 1, 0, 0x55, CS_OK, 12, 1},
    {"version 0", 0x00, 0x00, 1, 0, 0, CS_ERR_MALFORMED, 0, 0},
    {"version 1", 0x40, 0x00, 1, 0, 0, CS_ERR_MALFORMED, 0, 0},
    {"version 3", 0xc0, 0x00, 1, 0, 0, CS_ERR_MALFORMED, 0, 0},
    /* RTCP types in the PT byte: 199 and 205 are RTP (M + PT 71 / 77) */
    {"pt byte 199", 0x80, 199, 4, 0, 0, CS_OK, 12, 4},
    {"pt byte 200 SR", 0x80, 200, 4, 0, 0, CS_ERR_MALFORMED, 0, 0},
    {"pt byte 201 RR", 0x80, 201, 4, 0, 0, CS_ERR_MALFORMED, 0, 0},
    {"pt byte 202 SDES", 0x80, 202, 4, 0, 0, CS_ERR_MALFORMED, 0, 0},
    {"pt byte 203 BYE", 0x80, 203, 4, 0, 0, CS_ERR_MALFORMED, 0, 0},
    {"pt byte 204 APP", 0x80, 204, 4, 0, 0, CS_ERR_MALFORMED, 0, 0},
    {"pt byte 205", 0x80, 205, 4, 0, 0, CS_OK, 12, 4},
    /* CSRCs: CC=2 needs 20 bytes */
    {"cc2 len-1", 0x82, 0, 7, 0, 0, CS_ERR_TRUNCATED, 0, 0},
    {"cc2 len", 0x82, 0, 8, 0, 0, CS_OK, 20, 0},
    {"cc2 len+1", 0x82, 0, 9, 0, 0, CS_OK, 20, 1},
    {"cc15 len-1", 0x8f, 0, 59, 0, 0, CS_ERR_TRUNCATED, 0, 0},
    {"cc15 len", 0x8f, 0, 60, 0, 0, CS_OK, 72, 0},
    /* extension header: 4 bytes, then 4 * length */
    {"ext hdr len-1", 0x90, 0, 3, 0, 0, CS_ERR_TRUNCATED, 0, 0},
    {"ext hdr len", 0x90, 0, 4, 0, 0, CS_OK, 16, 0},
    {"ext 2 words len-1", 0x90, 0, 11, 2, 0, CS_ERR_TRUNCATED, 0, 0},
    {"ext 2 words len", 0x90, 0, 12, 2, 0, CS_OK, 24, 0},
    {"ext 2 words len+1", 0x90, 0, 13, 2, 0, CS_OK, 24, 1},
    {"ext 65535 words", 0x90, 0, 40, 0xffff, 0, CS_ERR_TRUNCATED, 0, 0},
    {"cc1 + ext 1 word", 0x91, 0, 4 + 4 + 4 + 3, 1, 0, CS_OK, 24, 3},
    /* padding: count in the last byte, 0 < count <= payload bytes */
    {"pad count 0", 0xa0, 0, 4, 0, 0, CS_ERR_MALFORMED, 0, 0},
    {"pad 1 of 4", 0xa0, 0, 4, 0, 1, CS_OK, 12, 3},
    {"pad 4 of 4", 0xa0, 0, 4, 0, 4, CS_OK, 12, 0},
    {"pad 5 of 4", 0xa0, 0, 4, 0, 5, CS_ERR_MALFORMED, 0, 0},
    {"pad no payload", 0xa0, 0, 0, 0, 0, CS_ERR_MALFORMED, 0, 0},
    {"pad into ext", 0xb0, 0, 8, 1, 4, CS_ERR_MALFORMED, 0, 0},
    {"pad all after ext", 0xb0, 0, 8 + 2, 1, 2, CS_OK, 20, 0},
};

static void test_rtp_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rtp_cases / sizeof rtp_cases[0]; i++) {
        const rtp_case *c = &rtp_cases[i];
        uint8_t buf[128];
        size_t len = hdr(buf, c->b0, c->b1) + c->extra;
        if (strcmp(c->name, "11 bytes") == 0)
            len = 11;
        for (size_t j = 12; j < len; j++)
            buf[j] = (uint8_t)(0x10 + j);
        size_t xoff = 12 + 4u * (c->b0 & 0x0f);
        if ((c->b0 & 0x10) && len >= xoff + 4) {
            buf[xoff] = 0xbe;
            buf[xoff + 1] = 0xde;
            buf[xoff + 2] = (uint8_t)(c->ext_words >> 8);
            buf[xoff + 3] = (uint8_t)c->ext_words;
        }
        if (len > 12 || (c->b0 & 0x20))
            buf[len - 1] = c->last;
        rtp_hdr h;
        memset(&h, 0xa5, sizeof h);
        int rc = rtp_parse(buf, len, &h);
        if (rc != c->rc)
            fail_msg("%s: rc %s, want %s", c->name, cs_err_name(rc), cs_err_name(c->rc));
        if (rc != CS_OK)
            continue;
        assert_ptr_equal(h.payload, buf + c->payload_off);
        if (h.payload_len != c->payload_len)
            fail_msg("%s: payload_len %zu, want %zu", c->name, h.payload_len, c->payload_len);
        assert_int_equal(h.seq, 0x1234);
        assert_int_equal(h.ts, 0x01020304);
        assert_int_equal(h.ssrc, 0xdeadbeef);
        assert_int_equal(h.csrc_count, c->b0 & 0x0f);
        assert_int_equal(h.has_extension, (c->b0 >> 4) & 1);
        assert_int_equal(h.marker, c->b1 >> 7);
        assert_int_equal(h.pt, c->b1 & 0x7f);
    }
}

/* Every prefix of a valid packet with CSRCs, extension and padding parses
 * or fails with TRUNCATED/MALFORMED, never reads past (ASan checks that on a
 * heap copy of exactly that many bytes). */
static void test_rtp_parse_prefixes(void **state)
{
    (void)state;
    uint8_t full[12 + 8 + 4 + 8 + 6];
    size_t n = hdr(full, 0xb2, 0x08);
    memset(full + n, 0x11, 8);
    n += 8;
    full[n++] = 0x10;
    full[n++] = 0x00;
    full[n++] = 0x00;
    full[n++] = 0x02;
    memset(full + n, 0x22, 8);
    n += 8;
    memcpy(full + n, "\x01\x02\x03\x00\x00\x03", 6);
    n += 6;
    assert_int_equal(n, sizeof full);
    for (size_t len = 0; len <= n; len++) {
        uint8_t *copy = malloc(len ? len : 1);
        assert_non_null(copy);
        memcpy(copy, full, len);
        rtp_hdr h;
        int rc = rtp_parse(copy, len, &h);
        if (len < 32)
            assert_int_equal(rc, CS_ERR_TRUNCATED);
        else if (len == n) {
            assert_int_equal(rc, CS_OK);
            assert_int_equal(h.payload_len, 3);
            assert_memory_equal(h.payload, "\x01\x02\x03", 3);
        } else
            assert_true(rc == CS_OK || rc == CS_ERR_MALFORMED);
        free(copy);
    }
}

/* --- RTCP ------------------------------------------------------------- */

static size_t put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

/* An SR with rc report blocks at p; returns its length. */
static size_t build_sr(uint8_t *p, unsigned rc)
{
    size_t n = 0;
    p[n++] = (uint8_t)(0x80 | rc);
    p[n++] = 200;
    size_t words = (28 + 24 * rc) / 4 - 1;
    p[n++] = (uint8_t)(words >> 8);
    p[n++] = (uint8_t)words;
    n += put32(p + n, 0x11111111);
    n += put32(p + n, 0xe0000001);
    n += put32(p + n, 0x80000000);
    n += put32(p + n, 160000);
    n += put32(p + n, 1000);
    n += put32(p + n, 160000);
    for (unsigned i = 0; i < rc; i++) {
        n += put32(p + n, 0x22220000 + i);
        p[n++] = (uint8_t)(i * 10);
        /* cumulative lost: block 0 = -2 (0xfffffe), others = i */
        uint32_t cl = i == 0 ? 0xfffffeu : i;
        p[n++] = (uint8_t)(cl >> 16);
        p[n++] = (uint8_t)(cl >> 8);
        p[n++] = (uint8_t)cl;
        n += put32(p + n, 0x00010000 + i);
        n += put32(p + n, 40 + i);
        n += put32(p + n, 0x12345678);
        n += put32(p + n, 65536);
    }
    return n;
}

static size_t build_simple(uint8_t *p, int pt, unsigned count, size_t body_words)
{
    p[0] = (uint8_t)(0x80 | count);
    p[1] = (uint8_t)pt;
    p[2] = (uint8_t)(body_words >> 8);
    p[3] = (uint8_t)body_words;
    memset(p + 4, 0x33, 4 * body_words);
    return 4 + 4 * body_words;
}

static void test_rtcp_sr_compound(void **state)
{
    (void)state;
    uint8_t b[1024];
    size_t n = build_sr(b, 2);
    n += build_simple(b + n, 202, 1, 3); /* SDES */
    n += build_simple(b + n, 203, 1, 1); /* BYE */
    rtcp_info ri;
    assert_int_equal(rtcp_parse(b, n, &ri), CS_OK);
    assert_int_equal(ri.npackets, 3);
    assert_int_equal(ri.has_sr, 1);
    assert_int_equal(ri.has_bye, 1);
    assert_int_equal(ri.ssrc, 0x11111111);
    assert_true(ri.ntp == 0xe000000180000000ull);
    assert_int_equal(ri.rtp_ts, 160000);
    assert_int_equal(ri.sender_packets, 1000);
    assert_int_equal(ri.sender_octets, 160000);
    assert_int_equal(ri.nrb, 2);
    assert_int_equal(ri.rb[0].ssrc, 0x22220000);
    assert_int_equal(ri.rb[0].cumulative_lost, -2);
    assert_int_equal(ri.rb[1].cumulative_lost, 1);
    assert_int_equal(ri.rb[1].fraction_lost, 10);
    assert_int_equal(ri.rb[1].highest_seq, 0x00010001);
    assert_int_equal(ri.rb[1].jitter, 41);
    assert_int_equal(ri.rb[1].lsr, 0x12345678);
    assert_int_equal(ri.rb[1].dlsr, 65536);
    /* every strict prefix is TRUNCATED (the walk stops on a length) */
    for (size_t len = 0; len < n; len++) {
        int rc = rtcp_parse(b, len, &ri);
        if (len == 76 || len == 76 + 16)
            assert_int_equal(rc, CS_OK); /* ends exactly after a packet */
        else if (rc != CS_ERR_TRUNCATED)
            fail_msg("prefix %zu: %s", len, cs_err_name(rc));
    }
}

static void test_rtcp_max_blocks(void **state)
{
    (void)state;
    uint8_t b[1024];
    size_t n = build_sr(b, 31);
    rtcp_info ri;
    assert_int_equal(rtcp_parse(b, n, &ri), CS_OK);
    assert_int_equal(ri.nrb, RTCP_MAX_REPORTS);
    assert_int_equal(ri.rb[30].ssrc, 0x22220000 + 30);
    assert_int_equal(ri.rb[30].cumulative_lost, 30);
}

static void test_rtcp_errors(void **state)
{
    (void)state;
    uint8_t b[256];
    rtcp_info ri;
    size_t n;

    /* RR with RC=1: needs 8 + 24 = 32 bytes inside its length */
    n = build_simple(b, 201, 1, 7); /* 32 bytes: exact */
    assert_int_equal(rtcp_parse(b, n, &ri), CS_OK);
    assert_int_equal(ri.nrb, 1);
    assert_int_equal(ri.has_sr, 0);
    assert_int_equal(ri.ssrc, 0x33333333);
    n = build_simple(b, 201, 1, 6); /* length one word short of the block */
    assert_int_equal(rtcp_parse(b, n, &ri), CS_ERR_TRUNCATED);
    n = build_simple(b, 201, 1, 8); /* one spare word: allowed (profile ext.) */
    assert_int_equal(rtcp_parse(b, n, &ri), CS_OK);
    /* RR with RC=0 and just the SSRC */
    n = build_simple(b, 201, 0, 1);
    assert_int_equal(rtcp_parse(b, n, &ri), CS_OK);
    assert_int_equal(rtcp_parse(b, n - 1, &ri), CS_ERR_TRUNCATED);
    assert_int_equal(rtcp_parse(b, n + 1, &ri), CS_ERR_TRUNCATED); /* 1 stray byte */
    n = build_simple(b, 201, 0, 0);                                /* RR without SSRC */
    assert_int_equal(rtcp_parse(b, n, &ri), CS_ERR_TRUNCATED);
    /* SR without complete sender info */
    n = build_simple(b, 200, 0, 5);
    assert_int_equal(rtcp_parse(b, n, &ri), CS_ERR_TRUNCATED);
    n = build_simple(b, 200, 0, 6);
    assert_int_equal(rtcp_parse(b, n, &ri), CS_OK);
    assert_int_equal(ri.has_sr, 1);
    /* version, packet type */
    n = build_simple(b, 201, 0, 1);
    b[0] = 0x40;
    assert_int_equal(rtcp_parse(b, n, &ri), CS_ERR_MALFORMED);
    n = build_simple(b, 191, 0, 1);
    assert_int_equal(rtcp_parse(b, n, &ri), CS_ERR_MALFORMED);
    n = build_simple(b, 224, 0, 1);
    assert_int_equal(rtcp_parse(b, n, &ri), CS_ERR_MALFORMED);
    n = build_simple(b, 207, 0, 1); /* XR alone: counted */
    assert_int_equal(rtcp_parse(b, n, &ri), CS_OK);
    assert_int_equal(ri.npackets, 1);
    /* empty and tiny */
    assert_int_equal(rtcp_parse(b, 0, &ri), CS_ERR_TRUNCATED);
    assert_int_equal(rtcp_parse(b, 3, &ri), CS_ERR_TRUNCATED);
    /* padding: last packet only, 0 < count <= packet body */
    n = build_simple(b, 201, 0, 2);
    b[0] |= 0x20;
    b[n - 1] = 4;
    assert_int_equal(rtcp_parse(b, n, &ri), CS_OK);
    b[n - 1] = 8; /* the padding eats the SSRC */
    assert_int_equal(rtcp_parse(b, n, &ri), CS_ERR_TRUNCATED);
    b[n - 1] = 9; /* reaches into the common header */
    assert_int_equal(rtcp_parse(b, n, &ri), CS_ERR_MALFORMED);
    b[n - 1] = 0;
    assert_int_equal(rtcp_parse(b, n, &ri), CS_ERR_MALFORMED);
    size_t m = build_simple(b, 201, 0, 1);
    b[0] |= 0x20;
    b[m - 1] = 4;
    m += build_simple(b + m, 202, 0, 1);
    assert_int_equal(rtcp_parse(b, m, &ri), CS_ERR_MALFORMED); /* padding not last */
}

static void test_rtcp_looks_like(void **state)
{
    (void)state;
    uint8_t b[512];
    size_t n = build_sr(b, 1);
    n += build_simple(b + n, 202, 1, 2);
    assert_int_equal(rtcp_looks_like(b, n), 1);
    assert_int_equal(rtcp_looks_like(b, n - 1), 0);
    assert_int_equal(rtcp_looks_like(b, n + 4), 0); /* garbage tail */
    n = build_simple(b, 201, 0, 1);
    assert_int_equal(rtcp_looks_like(b, n), 1);
    assert_int_equal(rtcp_looks_like(b, n - 1), 0);
    n = build_simple(b, 202, 0, 1); /* SDES first: not a compound start */
    assert_int_equal(rtcp_looks_like(b, n), 0);
    uint8_t rtp[20];
    hdr(rtp, 0x80, 0x00);
    memset(rtp + 12, 0, 8);
    assert_int_equal(rtcp_looks_like(rtp, sizeof rtp), 0);
    hdr(rtp, 0x80, 0xe0); /* M + PT 96 */
    assert_int_equal(rtcp_looks_like(rtp, sizeof rtp), 0);
    assert_int_equal(rtcp_looks_like(rtp, 0), 0);
}

static void test_event_parse(void **state)
{
    (void)state;
    static const uint8_t ev[4] = {11, 0x80 | 0x0a, 0x03, 0x20};
    rtp_event e;
    assert_int_equal(rtp_event_parse(ev, 3, &e), CS_ERR_TRUNCATED);
    assert_int_equal(rtp_event_parse(ev, 0, &e), CS_ERR_TRUNCATED);
    assert_int_equal(rtp_event_parse(ev, 4, &e), CS_OK);
    assert_int_equal(e.event, 11);
    assert_int_equal(e.end, 1);
    assert_int_equal(e.volume, 10);
    assert_int_equal(e.duration, 800);
    assert_int_equal(rtp_event_parse(ev, 5, &e), CS_OK);
    static const char want[] = "0123456789*#ABCD";
    for (int i = 0; i < 16; i++)
        assert_int_equal(rtp_event_digit((uint8_t)i), want[i]);
    assert_int_equal(rtp_event_digit(16), 0);
    assert_int_equal(rtp_event_digit(255), 0);
}

/* --- expected output ------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s && n < cap) {
        if (*s == ' ' || *s == '\t') {
            s++;
            continue;
        }
        int hi = hexval(s[0]), lo = s[1] ? hexval(s[1]) : -1;
        if (hi < 0 || lo < 0)
            break;
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return n;
}

static void print_line(FILE *f, const char *kind, const char *name, const uint8_t *b, size_t n)
{
    fprintf(f, "%s %s: ", kind, name);
    if (strcmp(kind, "rtp") == 0) {
        rtp_hdr h;
        int rc = rtp_parse(b, n, &h);
        fprintf(f, "%s", cs_err_name(rc));
        if (rc == CS_OK) {
            fprintf(f, " m=%d pt=%d seq=%u ts=%" PRIu32 " ssrc=%08" PRIx32 " cc=%d x=%d len=%zu",
                    h.marker, h.pt, h.seq, h.ts, h.ssrc, h.csrc_count, h.has_extension,
                    h.payload_len);
            fprintf(f, " payload=");
            for (size_t i = 0; i < h.payload_len && i < 16; i++)
                fprintf(f, "%02x", h.payload[i]);
        }
    } else if (strcmp(kind, "rtcp") == 0) {
        rtcp_info ri;
        int rc = rtcp_parse(b, n, &ri);
        fprintf(f, "%s looks_like=%d", cs_err_name(rc), rtcp_looks_like(b, n));
        if (rc == CS_OK) {
            fprintf(f, " packets=%d ssrc=%08" PRIx32 " sr=%d bye=%d", ri.npackets, ri.ssrc,
                    ri.has_sr, ri.has_bye);
            if (ri.has_sr)
                fprintf(f, " ntp=%016" PRIx64 " rtp_ts=%" PRIu32 " spk=%" PRIu32 " soc=%" PRIu32,
                        ri.ntp, ri.rtp_ts, ri.sender_packets, ri.sender_octets);
            for (int i = 0; i < ri.nrb; i++)
                fprintf(f,
                        " [rb ssrc=%08" PRIx32 " fl=%u cl=%" PRId32 " hs=%" PRIu32 " j=%" PRIu32
                        " lsr=%08" PRIx32 " dlsr=%" PRIu32 "]",
                        ri.rb[i].ssrc, ri.rb[i].fraction_lost, ri.rb[i].cumulative_lost,
                        ri.rb[i].highest_seq, ri.rb[i].jitter, ri.rb[i].lsr, ri.rb[i].dlsr);
        }
    } else {
        rtp_event e;
        int rc = rtp_event_parse(b, n, &e);
        fprintf(f, "%s", cs_err_name(rc));
        if (rc == CS_OK) {
            char d = rtp_event_digit(e.event);
            fprintf(f, " event=%u digit=%c end=%d volume=%u duration=%u", e.event, d ? d : '-',
                    e.end, e.volume, e.duration);
        }
    }
    fputc('\n', f);
}

static void test_expected_output(void **state)
{
    (void)state;
    char in_path[4096], exp_path[4096];
    ts_source_path(in_path, sizeof in_path, "tests/capture/data/rtp/parse.in");
    ts_source_path(exp_path, sizeof exp_path, "tests/capture/data/rtp/parse.expected");
    size_t in_len = 0, exp_len = 0;
    char *in = ts_read_file(in_path, &in_len);
    assert_non_null(in);
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    assert_non_null(f);
    char *save = NULL;
    int lines = 0;
    for (char *line = strtok_r(in, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char kind[16], name[64];
        int used = 0;
        if (sscanf(line, "%15s %63s %n", kind, name, &used) < 2)
            fail_msg("bad line: %s", line);
        uint8_t buf[2048];
        size_t n = unhex(line + used, buf, sizeof buf);
        /* exactly n bytes on the heap: ASan catches any over-read */
        uint8_t *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, buf, n);
        print_line(f, kind, name, copy, n);
        free(copy);
        lines++;
    }
    fclose(f);
    free(in);
    assert_true(lines >= 20);
    if (getenv("CALLSCOPE_REGEN")) {
        fwrite(out, 1, out_len, stdout);
        free(out);
        return;
    }
    char *exp = ts_read_file(exp_path, &exp_len);
    int same = exp && exp_len == out_len && memcmp(exp, out, out_len) == 0;
    if (!same)
        fprintf(stderr, "--- got:\n%s--- want (%s):\n%s", out, exp_path, exp ? exp : "(none)\n");
    free(exp);
    free(out);
    assert_true(same);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtp_parse_table),  cmocka_unit_test(test_rtp_parse_prefixes),
        cmocka_unit_test(test_rtcp_sr_compound), cmocka_unit_test(test_rtcp_max_blocks),
        cmocka_unit_test(test_rtcp_errors),      cmocka_unit_test(test_rtcp_looks_like),
        cmocka_unit_test(test_event_parse),      cmocka_unit_test(test_expected_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
