/*
 * test_sipframe.c — the SIP framing rule (sip_frame, sip_frame_header,
 * sip_skip_keepalive) on its own.
 *
 * A table of header blocks with their exact result; every prefix of a
 * message (header block one byte short, body one byte short, exact, one
 * byte more); the CS_SIP_MAX_MSG boundaries for the header block and for
 * Content-Length; and an expected-output test: a stream of messages and
 * keep-alives (tests/capture/data/tcpreasm/stream1.bin) framed one by one,
 * printed and compared with stream1.expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "limits.h"
#include "tcpreasm.h"
#include "testsupport.h"

typedef struct frame_row {
    const char *name;
    const char *in; /* NUL-terminated for convenience; length is strlen */
    int rc;
    size_t msg_len; /* on CS_OK */
    int has_length; /* on CS_OK */
} frame_row;

#define RQ     "INVITE sip:bob@example.com SIP/2.0\r\n"
#define RQ_LEN (sizeof RQ - 1)

static const frame_row rows[] = {
    {"no content-length", RQ "Via: x\r\n\r\nBODY", CS_OK, RQ_LEN + 10, 0},
    {"long name", RQ "Content-Length: 4\r\n\r\nBODYmore", CS_OK, RQ_LEN + 21 + 4, 1},
    {"compact l", RQ "l: 4\r\n\r\nBODY", CS_OK, RQ_LEN + 8 + 4, 1},
    {"compact L upper", RQ "L:4\r\n\r\nBODY", CS_OK, RQ_LEN + 7 + 4, 1},
    {"upper case", RQ "CONTENT-LENGTH: 4\r\n\r\nBODY", CS_OK, RQ_LEN + 21 + 4, 1},
    {"mixed case no space", RQ "content-Length:4\r\n\r\nBODY", CS_OK, RQ_LEN + 20 + 4, 1},
    {"leading zeros", RQ "Content-Length: 0004\r\n\r\nBODY", CS_OK, RQ_LEN + 24 + 4, 1},
    {"many leading zeros", RQ "l: 000000000000000000000000000004\r\n\r\nBODY", CS_OK,
     RQ_LEN + 37 + 4, 1},
    {"zero", RQ "l: 0\r\n\r\nBODY", CS_OK, RQ_LEN + 8, 1},
    {"space before colon", RQ "Content-Length \t : 4\r\n\r\nBODY", CS_OK, RQ_LEN + 24 + 4, 1},
    {"folded value", RQ "Content-Length:\r\n   4\r\n\r\nBODY", CS_OK, RQ_LEN + 25 + 4, 1},
    {"folded after value", RQ "l: 4 \r\n \r\n\r\nBODY", CS_OK, RQ_LEN + 12 + 4, 1},
    {"trailing spaces", RQ "l: 4  \t\r\n\r\nBODY", CS_OK, RQ_LEN + 11 + 4, 1},
    {"LF only", "INVITE sip:x SIP/2.0\nl: 2\n\nab", CS_OK, 29, 1},
    {"CRLF then LF", "SIP/2.0 200 OK\r\nl: 2\r\n\nab", CS_OK, 25, 1},
    {"LF then CRLF", "SIP/2.0 200 OK\nl: 2\n\r\nab", CS_OK, 24, 1},
    {"duplicate same value", RQ "l: 4\r\nContent-Length: 004\r\n\r\nBODY", CS_OK, RQ_LEN + 29 + 4,
     1},
    {"duplicate different", RQ "l: 4\r\nContent-Length: 5\r\n\r\nBODYX", CS_ERR_MALFORMED, 0, 0},
    {"duplicate different first too big", RQ "l: 99999999\r\nl: 5\r\n\r\n", CS_ERR_MALFORMED, 0, 0},
    {"not a number", RQ "Content-Length: 4x\r\n\r\nBODY", CS_ERR_MALFORMED, 0, 0},
    {"two numbers", RQ "Content-Length: 4 4\r\n\r\nBODY", CS_ERR_MALFORMED, 0, 0},
    {"empty value", RQ "Content-Length:\r\n\r\nBODY", CS_ERR_MALFORMED, 0, 0},
    {"negative", RQ "Content-Length: -4\r\n\r\nBODY", CS_ERR_MALFORMED, 0, 0},
    {"plus sign", RQ "Content-Length: +4\r\n\r\nBODY", CS_ERR_MALFORMED, 0, 0},
    {"too big", RQ "Content-Length: 65536\r\n\r\n", CS_ERR_LIMIT, 0, 0},
    {"huge", RQ "l: 184467440737095516160000\r\n\r\n", CS_ERR_LIMIT, 0, 0},
    {"other header ending in l", RQ "Xl: 4\r\nl:1\r\n\r\nB", CS_OK, RQ_LEN + 14 + 1, 1},
    {"longer name", RQ "Content-Lengthy: 4\r\n\r\nBODY", CS_OK, RQ_LEN + 22, 0},
    {"prefixed name", RQ "X-Content-Length: 4\r\n\r\nBODY", CS_OK, RQ_LEN + 23, 0},
    {"l without colon", RQ "l 4\r\n\r\nBODY", CS_OK, RQ_LEN + 7, 0},
    {"continuation line is not a header", RQ "Subject: a\r\n Content-Length: 4\r\n\r\nBODY", CS_OK,
     RQ_LEN + 34, 0},
    {"in the start line only", "INVITE sip:l:4 SIP/2.0\r\n\r\nBODY", CS_OK, 26, 0},
    {"in the body only", RQ "\r\nContent-Length: 4\r\n\r\n", CS_OK, RQ_LEN + 2, 0},
    {"leading CRLF", "\r\n" RQ "\r\n", CS_ERR_MALFORMED, 0, 0},
    {"leading LF", "\n" RQ "\r\n", CS_ERR_MALFORMED, 0, 0},
    {"keep-alive alone", "\r\n\r\n", CS_ERR_MALFORMED, 0, 0},
    {"empty", "", CS_ERR_TRUNCATED, 0, 0},
    {"start line only", RQ, CS_ERR_TRUNCATED, 0, 0},
    {"CR at end", RQ "l: 4\r\n\r", CS_ERR_TRUNCATED, 0, 0},
    {"body one short", RQ "l: 4\r\n\r\nBOD", CS_ERR_TRUNCATED, 0, 0},
    {"lone CRs are not line ends", RQ "l: 1\r\r\r\r", CS_ERR_TRUNCATED, 0, 0},
};
#define NROWS (sizeof rows / sizeof rows[0])

static void test_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < NROWS; i++) {
        const frame_row *r = &rows[i];
        size_t len = strlen(r->in), m = 12345, h = 777, b = 777;
        int has = 9;
        int rc = sip_frame((const uint8_t *)r->in, len, &m);
        if (rc != r->rc)
            fail_msg("%s: got %s want %s", r->name, cs_err_name(rc), cs_err_name(r->rc));
        if (rc == CS_OK) {
            if (m != r->msg_len)
                fail_msg("%s: msg_len %zu want %zu", r->name, m, r->msg_len);
            assert_int_equal(sip_frame_header((const uint8_t *)r->in, len, &h, &b, &has), CS_OK);
            assert_int_equal(h + b, m);
            if (has != r->has_length)
                fail_msg("%s: has_length %d want %d", r->name, has, r->has_length);
        } else {
            assert_int_equal(m, 12345); /* untouched on failure */
        }
    }
}

/* Every prefix of a two-message buffer: header block short, body short,
 * exact, one more byte (the start of the next message). */
static void test_every_prefix(void **state)
{
    static const char two[] = RQ "Call-ID: a\r\nContent-Length: 5\r\n\r\nhello"
                                 "SIP/2.0 200 OK\r\n\r\n";
    const size_t hdr = RQ_LEN + 12 + 19 + 2, total = hdr + 5;
    size_t m;

    (void)state;
    for (size_t l = 0; l <= sizeof two - 1; l++) {
        m = 0;
        int rc = sip_frame((const uint8_t *)two, l, &m);
        if (l < total) {
            if (rc != CS_ERR_TRUNCATED)
                fail_msg("prefix %zu: %s", l, cs_err_name(rc));
        } else {
            assert_int_equal(rc, CS_OK);
            assert_int_equal(m, total);
        }
        size_t h = 0, b = 0;
        int has = 0;
        rc = sip_frame_header((const uint8_t *)two, l, &h, &b, &has);
        if (l < hdr)
            assert_int_equal(rc, CS_ERR_TRUNCATED);
        else {
            assert_int_equal(rc, CS_OK);
            assert_int_equal(h, hdr);
            assert_int_equal(b, 5);
            assert_int_equal(has, 1);
        }
    }
    /* The second message on its own. */
    assert_int_equal(sip_frame((const uint8_t *)two + total, sizeof two - 1 - total, &m), CS_OK);
    assert_int_equal(m, 18);
}

/* Header block and Content-Length at CS_SIP_MAX_MSG - 1, exactly, + 1. */
static void test_max_boundaries(void **state)
{
    const size_t cap = CS_SIP_MAX_MSG + 16;
    uint8_t *buf = malloc(cap);
    size_t m = 0;

    (void)state;
    assert_non_null(buf);
    /* A header block of exactly n bytes: start line, one long header, CRLFCRLF. */
    for (size_t n = CS_SIP_MAX_MSG - 1; n <= CS_SIP_MAX_MSG + 1; n++) {
        memset(buf, 'a', cap);
        memcpy(buf, RQ "X: ", RQ_LEN + 3);
        memcpy(buf + n - 4, "\r\n\r\n", 4);
        int rc = sip_frame(buf, cap, &m);
        if (n <= CS_SIP_MAX_MSG) {
            assert_int_equal(rc, CS_OK);
            assert_int_equal(m, n);
        } else {
            assert_int_equal(rc, CS_ERR_LIMIT);
        }
        /* Cut before the terminator: more is needed, unless the cut is
         * already at the limit. */
        rc = sip_frame(buf, n - 1, &m);
        assert_int_equal(rc, n - 1 >= CS_SIP_MAX_MSG ? CS_ERR_LIMIT : CS_ERR_TRUNCATED);
    }
    /* No terminator at all: TRUNCATED below the limit, LIMIT at it. */
    memset(buf, 'a', cap);
    assert_int_equal(sip_frame(buf, CS_SIP_MAX_MSG - 1, &m), CS_ERR_TRUNCATED);
    assert_int_equal(sip_frame(buf, CS_SIP_MAX_MSG, &m), CS_ERR_LIMIT);
    assert_int_equal(sip_frame(buf, CS_SIP_MAX_MSG + 1, &m), CS_ERR_LIMIT);

    /* Content-Length making the message MAX - 1, MAX, MAX + 1 bytes. */
    for (int d = -1; d <= 1; d++) {
        char hdr[128];
        int hl = 0;
        /* The header's length does not depend on the digits (always 5). */
        size_t h = RQ_LEN + strlen("Content-Length: 00000\r\n\r\n");
        size_t body = CS_SIP_MAX_MSG - h + (size_t)(ptrdiff_t)d;
        hl = snprintf(hdr, sizeof hdr, RQ "Content-Length: %05zu\r\n\r\n", body);
        assert_int_equal((size_t)hl, h);
        memset(buf, 'b', cap);
        memcpy(buf, hdr, (size_t)hl);
        int rc = sip_frame(buf, cap, &m);
        if (d <= 0) {
            assert_int_equal(rc, CS_OK);
            assert_int_equal(m, h + body);
            assert_int_equal(sip_frame(buf, h + body - 1, &m), CS_ERR_TRUNCATED);
        } else {
            assert_int_equal(rc, CS_ERR_LIMIT);
            assert_int_equal(sip_frame(buf, h, &m), CS_ERR_LIMIT);
        }
    }
    free(buf);
}

static void test_args_and_keepalive(void **state)
{
    size_t m, h, b;
    int has;

    (void)state;
    assert_int_equal(sip_frame(NULL, 0, &m), CS_ERR_TRUNCATED);
    assert_int_equal(sip_frame(NULL, 5, &m), CS_ERR_INVAL);
    assert_int_equal(sip_frame((const uint8_t *)"x", 1, NULL), CS_ERR_INVAL);
    assert_int_equal(sip_frame_header((const uint8_t *)"x", 1, NULL, &b, &has), CS_ERR_INVAL);
    assert_int_equal(sip_frame_header((const uint8_t *)"x", 1, &h, NULL, &has), CS_ERR_INVAL);
    assert_int_equal(sip_frame_header((const uint8_t *)"x", 1, &h, &b, NULL), CS_ERR_INVAL);

    assert_int_equal(sip_skip_keepalive(NULL, 0), 0);
    assert_int_equal(sip_skip_keepalive((const uint8_t *)"\r\n\r\nINVITE", 10), 4);
    assert_int_equal(sip_skip_keepalive((const uint8_t *)"\r\n", 2), 2);
    assert_int_equal(sip_skip_keepalive((const uint8_t *)"\n\r\n\rX\r\n", 7), 4);
    assert_int_equal(sip_skip_keepalive((const uint8_t *)"SIP", 3), 0);
}

/* A stream of messages framed one by one, printed, compared with a file. */
static void test_expected_output(void **state)
{
    char path[4096], epath[4096];
    size_t len = 0, elen = 0;

    (void)state;
    ts_source_path(path, sizeof path, "tests/capture/data/tcpreasm/stream1.bin");
    ts_source_path(epath, sizeof epath, "tests/capture/data/tcpreasm/stream1.expected");
    char *in = ts_read_file(path, &len);
    char *want = ts_read_file(epath, &elen);
    assert_non_null(in);
    assert_non_null(want);

    size_t cap = 8192, used = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t pos = 0;
    const uint8_t *p = (const uint8_t *)in;
    while (pos < len) {
        size_t k = sip_skip_keepalive(p + pos, len - pos);
        if (k) {
            used += (size_t)snprintf(out + used, cap - used, "%zu keepalive %zu\n", pos, k);
            pos += k;
            continue;
        }
        size_t m = 0, h = 0, b = 0;
        int has = 0;
        int rc = sip_frame(p + pos, len - pos, &m);
        if (rc != CS_OK) {
            used += (size_t)snprintf(out + used, cap - used, "%zu %s\n", pos, cs_err_name(rc));
            break;
        }
        assert_int_equal(sip_frame_header(p + pos, len - pos, &h, &b, &has), CS_OK);
        const char *eol = memchr(p + pos, '\n', m);
        int first = eol ? (int)(eol - (const char *)(p + pos)) : 0;
        if (first > 0 && p[pos + (size_t)first - 1] == '\r')
            first--;
        used += (size_t)snprintf(out + used, cap - used,
                                 "%zu message len=%zu hdr=%zu body=%zu cl=%s \"%.*s\"\n", pos, m, h,
                                 b, has ? "yes" : "no", first, (const char *)(p + pos));
        pos += m;
        assert_true(used < cap - 256);
    }
    if (used != elen || memcmp(out, want, used) != 0) {
        fprintf(stderr, "---- got\n%.*s---- want\n%s", (int)used, out, want);
        fail_msg("stream1: output differs from stream1.expected");
    }
    free(out);
    free(in);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),           cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_max_boundaries),  cmocka_unit_test(test_args_and_keepalive),
        cmocka_unit_test(test_expected_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
