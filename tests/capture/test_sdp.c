/*
 * test_sdp.c — tests of the SDP parser (capture/sdp.c).
 *
 * 1. Expected output: every tests/capture/data/sdp/NAME.sdp is parsed and
 *    printed by sdp_dump() below; the text must equal NAME.expected
 *    (CALLSCOPE_UPDATE_EXPECTED=1 rewrites them, for authoring). Inputs:
 *    the SDP of callgen's INVITE / 200 / re-INVITE sendonly, IPv6, hold by
 *    0.0.0.0, a=rtcp with and without address, a=rtcp-mux, audio + video +
 *    T.38, static payload types without rtpmap, session-level direction and
 *    ptime, WebRTC-style with bare LF, m= cap, formats cap, errors.
 * 2. Table-driven errors with exact codes; every prefix of a valid SDP
 *    parses or fails cleanly, never reads past its length.
 * Inputs are copied into exactly sized heap buffers (ASan catches
 * over-reads).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "error.h"
#include "sdp.h"
#include "testsupport.h"

static void tb_str(ts_buf *b, const char *label, cs_str s)
{
    ts_buf_printf(b, "%s=", label);
    if (!s.p) {
        ts_buf_printf(b, "<null>");
        return;
    }
    ts_buf_printf(b, "\"%.*s\"", (int)s.len, s.p);
}

static void tb_addr(ts_buf *b, const char *label, int family, const uint8_t *addr)
{
    char txt[INET6_ADDRSTRLEN];
    if (family == AF_INET || family == AF_INET6)
        inet_ntop(family, addr, txt, sizeof txt);
    else
        snprintf(txt, sizeof txt, "none");
    ts_buf_printf(b, "%s=%s%s", label, family == AF_INET ? "ip4:" : family == AF_INET6 ? "ip6:" : "",
              txt);
}

static void sdp_dump(ts_buf *b, int rc, const sdp *s)
{
    ts_buf_printf(b, "result: %s\n", cs_err_name(rc));
    if (rc != CS_OK)
        return;
    ts_buf_printf(b, "origin: ");
    tb_str(b, "user", s->origin_user);
    ts_buf_printf(b, " id=%llu version=%llu\n", (unsigned long long)s->sess_id,
              (unsigned long long)s->sess_version);
    ts_buf_printf(b, "session: ");
    tb_addr(b, "c", s->family, s->addr);
    ts_buf_printf(b, " dir=%s\n", sdp_dir_name(s->dir));
    ts_buf_printf(b, "media: %zu of %zu\n", s->nmedia, s->nmedia_total);
    for (size_t i = 0; i < s->nmedia; i++) {
        const sdp_media *m = &s->media[i];
        ts_buf_printf(b, "m[%zu]: ", i);
        tb_str(b, "type", m->type);
        ts_buf_printf(b, " port=%u nports=%d ", m->port, m->nports);
        tb_str(b, "proto", m->proto);
        ts_buf_printf(b, "\n  ");
        tb_addr(b, "c", m->family, m->addr);
        ts_buf_printf(b, " hold_zero=%d dir=%s ptime=%d\n", m->hold_zero, sdp_dir_name(m->dir),
                  m->ptime);
        ts_buf_printf(b, "  rtcp_port=%u ", m->rtcp_port);
        tb_addr(b, "rtcp_addr", m->rtcp_family, m->rtcp_addr);
        ts_buf_printf(b, " rtcp_mux=%d\n", m->rtcp_mux);
        for (size_t k = 0; k < m->nfmt; k++) {
            const sdp_format *f = &m->fmt[k];
            ts_buf_printf(b, "  pt %d: ", f->pt);
            tb_str(b, "enc", f->encoding);
            ts_buf_printf(b, " clock=%d ch=%d ", f->clock, f->channels);
            tb_str(b, "fmtp", f->fmtp);
            ts_buf_printf(b, "\n");
        }
    }
}

static void test_expected_outputs(void **state)
{
    (void)state;
    char dir[4096];
    ts_source_path(dir, sizeof dir, "tests/capture/data/sdp");
    char *names[256];
    size_t n = ts_list_dir(dir, ".sdp", names, 256);
    assert_true(n >= 15);
    int update = getenv("CALLSCOPE_UPDATE_EXPECTED") != NULL;
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4200], exp_path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(exp_path, sizeof exp_path, "%s/%.*s.expected", dir,
                 (int)(strlen(names[i]) - 4), names[i]);
        size_t len;
        char *raw = ts_read_file(path, &len);
        assert_non_null(raw);
        uint8_t *in = malloc(len ? len : 1);
        memcpy(in, raw, len);
        free(raw);
        sdp s;
        ts_buf out = {0};
        int rc = sdp_parse(in, len, &s);
        sdp_dump(&out, rc, &s);
        if (update) {
            assert_int_equal(ts_write_file(exp_path, out.p, out.len), 0);
        } else {
            size_t elen;
            char *exp = ts_read_file(exp_path, &elen);
            if (!exp || elen != out.len || memcmp(exp, out.p, out.len) != 0) {
                failures++;
                fprintf(stderr, "MISMATCH %s\n--- got:\n%.*s--- expected:\n%s\n", names[i],
                        (int)out.len, out.p, exp ? exp : "<missing>");
            }
            free(exp);
        }
        free(out.p);
        free(in);
        free(names[i]);
    }
    printf("sdp expected-output files: %zu checked, %d mismatches\n", n, failures);
    assert_int_equal(failures, 0);
}

/* Parses an exactly sized heap copy of text. The copy lives until the next
 * call (or parse_copy(NULL, 0, NULL)), so the slices in *s stay readable. */
static int parse_copy(const char *text, size_t len, sdp *s)
{
    static uint8_t *last;
    free(last);
    last = NULL;
    if (!text)
        return CS_OK;
    last = malloc(len ? len : 1);
    assert_non_null(last);
    if (len)
        memcpy(last, text, len);
    return sdp_parse(last, len, s);
}

static void test_error_table(void **state)
{
    (void)state;
    static const struct {
        const char *name, *text;
        int rc;
    } cases[] = {
        {"empty", "", CS_ERR_TRUNCATED},
        {"v=1", "v=1\r\n", CS_ERR_MALFORMED},
        {"v=0 only", "v=0", CS_OK},
        {"v=0 crlf", "v=0\r\n", CS_OK},
        {"leading blank", "\r\nv=0\r\n", CS_ERR_MALFORMED},
        {"not sdp", "hello world", CS_ERR_MALFORMED},
        {"o= short", "v=0\r\no=- 1\r\n", CS_ERR_MALFORMED},
        {"o= letters", "v=0\r\no=- x 1 IN IP4 h\r\n", CS_ERR_MALFORMED},
        {"o= 128-bit id", "v=0\r\no=- 123456789012345678901234567890 1 IN IP4 h\r\n", CS_OK},
        {"c= no addr", "v=0\r\nc=IN IP4\r\n", CS_ERR_MALFORMED},
        {"c= ATM", "v=0\r\nc=ATM NSAP x\r\n", CS_ERR_MALFORMED},
        {"c= IP5", "v=0\r\nc=IN IP5 1.2.3.4\r\n", CS_ERR_MALFORMED},
        {"c= multicast ttl", "v=0\r\nc=IN IP4 224.2.1.1/127/3\r\n", CS_OK},
        {"m= no proto", "v=0\r\nm=audio 4000\r\n", CS_ERR_MALFORMED},
        {"m= port 65535", "v=0\r\nm=audio 65535 RTP/AVP 0\r\n", CS_OK},
        {"m= port 65536", "v=0\r\nm=audio 65536 RTP/AVP 0\r\n", CS_ERR_MALFORMED},
        {"m= nports 0", "v=0\r\nm=audio 4000/0 RTP/AVP 0\r\n", CS_ERR_MALFORMED},
        {"m= pt 127", "v=0\r\nm=audio 4000 RTP/AVP 127\r\n", CS_OK},
        {"m= pt 128", "v=0\r\nm=audio 4000 RTP/AVP 128\r\n", CS_ERR_MALFORMED},
        {"m= pt word rtp", "v=0\r\nm=audio 4000 RTP/AVP x\r\n", CS_ERR_MALFORMED},
        {"m= udptl t38", "v=0\r\nm=image 4000 udptl t38\r\n", CS_OK},
        {"m= no formats", "v=0\r\nm=audio 0 RTP/AVP\r\n", CS_OK},
        {"rtpmap no clock", "v=0\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus\r\n", CS_ERR_MALFORMED},
        {"rtpmap bad clock", "v=0\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/4x\r\n", CS_ERR_MALFORMED},
        {"rtpmap bad ch", "v=0\r\nm=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/\r\n", CS_ERR_MALFORMED},
        {"rtpmap other pt", "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:96 opus/48000/2\r\n", CS_OK},
        {"rtpmap session", "v=0\r\na=rtpmap:96 whatever\r\n", CS_OK},
        {"fmtp bad pt", "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=fmtp:x y\r\n", CS_ERR_MALFORMED},
        {"rtcp bad port", "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:70000\r\n", CS_ERR_MALFORMED},
        {"rtcp bad addr", "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:4001 IN\r\n", CS_ERR_MALFORMED},
        {"ptime bad", "v=0\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:abc\r\n", CS_ERR_MALFORMED},
        {"unknown lines", "v=0\r\nzzz\r\nx=1\r\n\r\n\r\n", CS_OK},
    };
    sdp s;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse_copy(cases[i].text, strlen(cases[i].text), &s);
        if (rc != cases[i].rc)
            fail_msg("case '%s': got %s, want %s", cases[i].name, cs_err_name(rc),
                     cs_err_name(cases[i].rc));
    }
    assert_int_equal(sdp_parse(NULL, 3, &s), CS_ERR_INVAL);
    assert_int_equal(sdp_parse((const uint8_t *)"v=0", 3, NULL), CS_ERR_INVAL);
}

static const char good[] = "v=0\r\n"
                           "o=alice 2890844526 2890844527 IN IP4 192.0.2.1\r\n"
                           "s=-\r\n"
                           "c=IN IP4 192.0.2.1\r\n"
                           "t=0 0\r\n"
                           "m=audio 49170 RTP/AVP 0 8 101\r\n"
                           "a=rtpmap:101 telephone-event/8000\r\n"
                           "a=fmtp:101 0-16\r\n"
                           "a=ptime:20\r\n"
                           "a=sendonly\r\n";

static void test_boundaries(void **state)
{
    (void)state;
    sdp s;
    size_t len = sizeof good - 1;
    /* len: everything. */
    assert_int_equal(parse_copy(good, len, &s), CS_OK);
    assert_int_equal(s.nmedia, 1);
    assert_int_equal(s.media[0].dir, SDP_DIR_SENDONLY);
    assert_int_equal(s.media[0].rtcp_port, 49171);
    assert_true(cs_str_eq(s.media[0].fmt[2].fmtp, cs_str_c("0-16")));
    /* len-1 drops the final LF: same result. */
    assert_int_equal(parse_copy(good, len - 1, &s), CS_OK);
    assert_int_equal(s.media[0].dir, SDP_DIR_SENDONLY);
    /* len-3 cuts "sendonly" to "sendon": unknown attribute, default dir. */
    assert_int_equal(parse_copy(good, len - 4, &s), CS_OK);
    assert_int_equal(s.media[0].dir, SDP_DIR_SENDRECV);
    /* Every prefix: ok or malformed, never a crash or an over-read. */
    for (size_t k = 0; k <= len; k++) {
        int rc = parse_copy(good, k, &s);
        if (k == 0)
            assert_int_equal(rc, CS_ERR_TRUNCATED);
        else if (k < 3)
            assert_int_equal(rc, CS_ERR_MALFORMED);
        else
            assert_true(rc == CS_OK || rc == CS_ERR_MALFORMED);
    }
    /* m= cap: CS_SDP_MAX_MEDIA kept exactly, one more counted only. */
    for (size_t nm = CS_SDP_MAX_MEDIA - 1; nm <= CS_SDP_MAX_MEDIA + 1; nm++) {
        char buf[2048];
        size_t o = (size_t)snprintf(buf, sizeof buf, "v=0\r\nc=IN IP4 192.0.2.1\r\n");
        for (size_t i = 0; i < nm; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "m=audio %zu RTP/AVP 0\r\na=ptime:%zu\r\n",
                                  4000 + 2 * i, 10 + i);
        assert_int_equal(parse_copy(buf, o, &s), CS_OK);
        assert_int_equal(s.nmedia_total, nm);
        assert_int_equal(s.nmedia, nm < CS_SDP_MAX_MEDIA ? nm : CS_SDP_MAX_MEDIA);
        /* the last kept media keeps its own ptime (lines past the cap ignored) */
        assert_int_equal(s.media[s.nmedia - 1].ptime, (int)(10 + s.nmedia - 1));
    }
    /* formats cap */
    for (size_t nf = CS_SDP_MAX_FORMATS - 1; nf <= CS_SDP_MAX_FORMATS + 1; nf++) {
        char buf[1024];
        size_t o = (size_t)snprintf(buf, sizeof buf, "v=0\r\nm=audio 4000 RTP/AVP");
        for (size_t i = 0; i < nf; i++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %zu", 90 + i);
        o += (size_t)snprintf(buf + o, sizeof buf - o, "\r\n");
        assert_int_equal(parse_copy(buf, o, &s), CS_OK);
        assert_int_equal(s.media[0].nfmt, nf < CS_SDP_MAX_FORMATS ? nf : CS_SDP_MAX_FORMATS);
    }
    parse_copy(NULL, 0, NULL);
}

static void test_format_of_and_names(void **state)
{
    (void)state;
    sdp s;
    assert_int_equal(parse_copy(good, sizeof good - 1, &s), CS_OK);
    const sdp_format *f = sdp_format_of(&s.media[0], 8);
    assert_non_null(f);
    assert_true(cs_str_eq(f->encoding, cs_str_c("PCMA")));
    assert_int_equal(f->clock, 8000);
    f = sdp_format_of(&s.media[0], 101);
    assert_non_null(f);
    assert_true(cs_str_eq(f->encoding, cs_str_c("telephone-event")));
    assert_null(sdp_format_of(&s.media[0], 9));
    assert_null(sdp_format_of(NULL, 0));
    assert_string_equal(sdp_dir_name(SDP_DIR_SENDRECV), "sendrecv");
    assert_string_equal(sdp_dir_name(SDP_DIR_SENDONLY), "sendonly");
    assert_string_equal(sdp_dir_name(SDP_DIR_RECVONLY), "recvonly");
    assert_string_equal(sdp_dir_name(SDP_DIR_INACTIVE), "inactive");
    assert_string_equal(sdp_dir_name((sdp_dir)9), "unknown");
    /* IPv6 connection address in bytes */
    const char *v6 = "v=0\r\nc=IN IP6 2001:db8::1\r\nm=audio 5000 RTP/AVP 0\r\n";
    assert_int_equal(parse_copy(v6, strlen(v6), &s), CS_OK);
    static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    assert_int_equal(s.media[0].family, AF_INET6);
    assert_memory_equal(s.media[0].addr, want, 16);
    parse_copy(NULL, 0, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_outputs),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_format_of_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
