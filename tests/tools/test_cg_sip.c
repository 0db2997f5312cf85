/*
 * test_cg_sip.c — callgen's SIP and SDP text: exact request lines, the
 * headers RFC 3261 requires, Content-Length equal to the body, transaction
 * rules (CANCEL / non-2xx ACK reuse the INVITE branch), IPv6 forms, and
 * buffer boundaries (len-1, len, len+1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_sip.h"
#include "error.h"

static void mk_dialog(cg_sip_dialog *d, int ipv6)
{
    memset(d, 0, sizeof *d);
    snprintf(d->call_id, sizeof d->call_id, "abc123@203.0.113.5");
    snprintf(d->ruri_user, sizeof d->ruri_user, "+18005550100");
    snprintf(d->uac.user, sizeof d->uac.user, "+15551234567");
    snprintf(d->uac.host, sizeof d->uac.host, ipv6 ? "2001:db8:113::5" : "203.0.113.5");
    d->uac.ipv6 = ipv6;
    d->uac.port = 5060;
    snprintf(d->uac.tag, sizeof d->uac.tag, "fromtag1");
    snprintf(d->uac.ua, sizeof d->uac.ua, "TrunkSBC/7.0");
    snprintf(d->uas.user, sizeof d->uas.user, "+18005550100");
    snprintf(d->uas.host, sizeof d->uas.host, ipv6 ? "2001:db8:100::10" : "198.51.100.10");
    d->uas.ipv6 = ipv6;
    d->uas.port = 5060;
    snprintf(d->uas.tag, sizeof d->uas.tag, "totag2");
    snprintf(d->uas.ua, sizeof d->uas.ua, "AcmePBX/2.3");
    d->branch_seed = 42;
}

/* Returns the value of header `name` (first occurrence) in buf, copied. */
static int header(const char *msg, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *p = strstr(msg, "\r\n"); p && p < end; p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (strncmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return 1;
        }
    }
    return 0;
}

static void assert_prefix(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("'%.80s' does not start with '%s'", s, prefix);
}

static void assert_content_length_exact(const char *msg, size_t len)
{
    char v[64];
    assert_true(header(msg, "Content-Length", v, sizeof v));
    const char *body = strstr(msg, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    assert_int_equal(strtoul(v, NULL, 10), len - (size_t)(body - msg));
}

static int sdp_offer(char *out, size_t cap, cg_codec c, int ipv6, const char *dir)
{
    cg_sdp s = {"carrier", 1234, 1, ipv6 ? "2001:db8:113::5" : "203.0.113.5", ipv6, 20000,
                &c, 1, 101, dir};
    return cg_sdp_build(&s, out, cap);
}

static void test_invite(void **state)
{
    (void)state;
    cg_sip_dialog d;
    mk_dialog(&d, 0);
    char sdp[1024], msg[CG_SIP_MAX], v[256];
    int sl = sdp_offer(sdp, sizeof sdp, CG_CODEC_PCMU, 0, "sendrecv");
    assert_true(sl > 0);
    cg_sip_txn t;
    int n = cg_sip_request(&d, 1, "INVITE", NULL, "X-Test: 1\r\n", "application/sdp", sdp,
                           (size_t)sl, &t, msg, sizeof msg);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(msg));
    assert_prefix(msg, "INVITE sip:+18005550100@198.51.100.10:5060 SIP/2.0\r\n");
    assert_true(header(msg, "Via", v, sizeof v));
    assert_non_null(strstr(v, "SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bK"));
    assert_string_equal(v + strlen("SIP/2.0/UDP 203.0.113.5:5060;branch="), t.branch);
    assert_int_equal(strlen(t.branch), 7 + 16);
    assert_true(header(msg, "Max-Forwards", v, sizeof v));
    assert_string_equal(v, "70");
    assert_true(header(msg, "From", v, sizeof v));
    assert_string_equal(v, "<sip:+15551234567@203.0.113.5>;tag=fromtag1");
    assert_true(header(msg, "To", v, sizeof v));
    assert_string_equal(v, "<sip:+18005550100@198.51.100.10>"); /* no tag yet */
    assert_true(header(msg, "Call-ID", v, sizeof v));
    assert_string_equal(v, "abc123@203.0.113.5");
    assert_true(header(msg, "CSeq", v, sizeof v));
    assert_string_equal(v, "1 INVITE");
    assert_true(header(msg, "Contact", v, sizeof v));
    assert_string_equal(v, "<sip:+15551234567@203.0.113.5:5060>");
    assert_true(header(msg, "User-Agent", v, sizeof v));
    assert_string_equal(v, "TrunkSBC/7.0");
    assert_true(header(msg, "X-Test", v, sizeof v));
    assert_true(header(msg, "Content-Type", v, sizeof v));
    assert_string_equal(v, "application/sdp");
    assert_content_length_exact(msg, (size_t)n);
    assert_string_equal(strstr(msg, "\r\n\r\n") + 4, sdp);
    assert_int_equal(t.cseq, 1);
    assert_string_equal(t.method, "INVITE");
    assert_int_equal(t.to_tag, 0);

    /* 100 without To tag, 180 and 200 with it; Via copied from the INVITE */
    n = cg_sip_response(&d, &t, 100, NULL, NULL, NULL, NULL, 0, msg, sizeof msg);
    assert_true(n > 0);
    assert_prefix(msg, "SIP/2.0 100 Trying\r\n");
    assert_true(header(msg, "To", v, sizeof v));
    assert_null(strstr(v, "tag="));
    assert_true(header(msg, "Via", v, sizeof v));
    assert_non_null(strstr(v, t.branch));
    assert_false(header(msg, "Contact", v, sizeof v));
    assert_true(header(msg, "Server", v, sizeof v));
    assert_string_equal(v, "AcmePBX/2.3");
    assert_true(header(msg, "Content-Length", v, sizeof v));
    assert_string_equal(v, "0");
    assert_content_length_exact(msg, (size_t)n);
    d.to_tag_known = 1;
    n = cg_sip_response(&d, &t, 180, NULL, NULL, NULL, NULL, 0, msg, sizeof msg);
    assert_true(header(msg, "To", v, sizeof v));
    assert_string_equal(v, "<sip:+18005550100@198.51.100.10>;tag=totag2");
    assert_true(header(msg, "Contact", v, sizeof v));
    assert_true(header(msg, "CSeq", v, sizeof v));
    assert_string_equal(v, "1 INVITE");
}

static void test_cancel_ack_bye(void **state)
{
    (void)state;
    cg_sip_dialog d;
    mk_dialog(&d, 0);
    char msg[CG_SIP_MAX], v[256];
    cg_sip_txn inv, can, bye;
    assert_true(cg_sip_request(&d, 1, "INVITE", NULL, NULL, NULL, NULL, 0, &inv, msg,
                               sizeof msg) > 0);
    d.to_tag_known = 1; /* 180 with tag seen */
    int n = cg_sip_request(&d, 1, "CANCEL", &inv, NULL, NULL, NULL, 0, &can, msg, sizeof msg);
    assert_true(n > 0);
    assert_prefix(msg, "CANCEL sip:+18005550100@198.51.100.10:5060 SIP/2.0\r\n");
    assert_string_equal(can.branch, inv.branch);
    assert_true(header(msg, "CSeq", v, sizeof v));
    assert_string_equal(v, "1 CANCEL");
    assert_true(header(msg, "To", v, sizeof v));
    assert_null(strstr(v, "tag=")); /* CANCEL copies the INVITE's To */
    n = cg_sip_response(&d, &inv, 487, NULL, NULL, NULL, NULL, 0, msg, sizeof msg);
    assert_prefix(msg, "SIP/2.0 487 Request Terminated\r\n");
    cg_sip_txn ack;
    n = cg_sip_request(&d, 1, "ACK", &inv, NULL, NULL, NULL, 0, &ack, msg, sizeof msg);
    assert_string_equal(ack.branch, inv.branch);
    assert_true(header(msg, "CSeq", v, sizeof v));
    assert_string_equal(v, "1 ACK");
    assert_true(header(msg, "To", v, sizeof v));
    assert_non_null(strstr(v, ";tag=totag2"));
    /* in-dialog BYE from the callee: its own CSeq space, R-URI = caller's contact */
    n = cg_sip_request(&d, 0, "BYE", NULL, NULL, NULL, NULL, 0, &bye, msg, sizeof msg);
    assert_prefix(msg, "BYE sip:+15551234567@203.0.113.5:5060 SIP/2.0\r\n");
    assert_string_not_equal(bye.branch, inv.branch);
    assert_true(header(msg, "CSeq", v, sizeof v));
    assert_string_equal(v, "1 BYE");
    assert_true(header(msg, "From", v, sizeof v));
    assert_string_equal(v, "<sip:+18005550100@198.51.100.10>;tag=totag2");
    assert_true(header(msg, "Via", v, sizeof v));
    assert_non_null(strstr(v, "198.51.100.10:5060"));
    n = cg_sip_response(&d, &bye, 200, NULL, NULL, NULL, NULL, 0, msg, sizeof msg);
    assert_true(header(msg, "Via", v, sizeof v));
    assert_non_null(strstr(v, bye.branch));
    assert_true(header(msg, "CSeq", v, sizeof v));
    assert_string_equal(v, "1 BYE");
    /* the caller's next request continues its own CSeq space */
    n = cg_sip_request(&d, 1, "BYE", NULL, NULL, NULL, NULL, 0, &bye, msg, sizeof msg);
    assert_int_equal(bye.cseq, 2);
    assert_content_length_exact(msg, (size_t)n);
}

static void test_ipv6_and_tcp(void **state)
{
    (void)state;
    cg_sip_dialog d;
    mk_dialog(&d, 1);
    d.transport = CG_SIP_TCP;
    char sdp[1024], msg[CG_SIP_MAX], v[256];
    int sl = sdp_offer(sdp, sizeof sdp, CG_CODEC_G729, 1, "sendrecv");
    assert_non_null(strstr(sdp, "c=IN IP6 2001:db8:113::5\r\n"));
    assert_non_null(strstr(sdp, "o=carrier 1234 1 IN IP6 2001:db8:113::5\r\n"));
    int n = cg_sip_request(&d, 1, "INVITE", NULL, NULL, "application/sdp", sdp, (size_t)sl,
                           NULL, msg, sizeof msg);
    assert_true(n > 0);
    assert_prefix(msg, "INVITE sip:+18005550100@[2001:db8:100::10]:5060 SIP/2.0\r\n");
    assert_true(header(msg, "Via", v, sizeof v));
    assert_prefix(v, "SIP/2.0/TCP [2001:db8:113::5]:5060;branch=");
    assert_true(header(msg, "Contact", v, sizeof v));
    assert_string_equal(v, "<sip:+15551234567@[2001:db8:113::5]:5060;transport=tcp>");
    assert_content_length_exact(msg, (size_t)n);
}

static void test_sdp_exact(void **state)
{
    (void)state;
    char sdp[1024];
    int n = sdp_offer(sdp, sizeof sdp, CG_CODEC_PCMU, 0, "sendrecv");
    const char *want = "v=0\r\n"
                       "o=carrier 1234 1 IN IP4 203.0.113.5\r\n"
                       "s=callscope\r\n"
                       "c=IN IP4 203.0.113.5\r\n"
                       "t=0 0\r\n"
                       "m=audio 20000 RTP/AVP 0 101\r\n"
                       "a=rtpmap:0 PCMU/8000\r\n"
                       "a=rtpmap:101 telephone-event/8000\r\n"
                       "a=fmtp:101 0-16\r\n"
                       "a=ptime:20\r\n"
                       "a=sendrecv\r\n";
    assert_string_equal(sdp, want);
    assert_int_equal(n, (int)strlen(want));
    n = sdp_offer(sdp, sizeof sdp, CG_CODEC_OPUS, 0, "sendonly");
    assert_true(n > 0);
    assert_non_null(strstr(sdp, "m=audio 20000 RTP/AVP 111 101\r\n"));
    assert_non_null(strstr(sdp, "a=rtpmap:111 opus/48000/2\r\n"));
    assert_non_null(strstr(sdp, "a=fmtp:111 "));
    assert_non_null(strstr(sdp, "a=rtpmap:101 telephone-event/48000\r\n"));
    assert_non_null(strstr(sdp, "a=sendonly\r\n"));
    n = sdp_offer(sdp, sizeof sdp, CG_CODEC_G722, 0, "sendrecv");
    assert_non_null(strstr(sdp, "a=rtpmap:9 G722/8000\r\n"));
    n = sdp_offer(sdp, sizeof sdp, CG_CODEC_G729, 0, "sendrecv");
    assert_non_null(strstr(sdp, "a=rtpmap:18 G729/8000\r\n"));
    assert_non_null(strstr(sdp, "a=fmtp:18 annexb=no\r\n"));
}

static void test_boundaries(void **state)
{
    (void)state;
    char sdp[1024], small[1024];
    int n = sdp_offer(sdp, sizeof sdp, CG_CODEC_PCMA, 0, "sendrecv");
    assert_true(n > 0);
    /* cap = len: no room for the NUL -> overflow; len+1 fits exactly */
    assert_int_equal(sdp_offer(small, (size_t)n, CG_CODEC_PCMA, 0, "sendrecv"), CS_ERR_OVERFLOW);
    assert_int_equal(sdp_offer(small, (size_t)n - 1, CG_CODEC_PCMA, 0, "sendrecv"),
                     CS_ERR_OVERFLOW);
    assert_int_equal(sdp_offer(small, (size_t)n + 1, CG_CODEC_PCMA, 0, "sendrecv"), n);
    assert_string_equal(small, sdp);

    cg_sip_dialog d, d2;
    mk_dialog(&d, 0);
    d2 = d;
    char msg[CG_SIP_MAX], m2[CG_SIP_MAX];
    int len = cg_sip_request(&d, 1, "OPTIONS", NULL, NULL, NULL, NULL, 0, NULL, msg, sizeof msg);
    assert_true(len > 0);
    cg_sip_dialog d3 = d2;
    assert_int_equal(cg_sip_request(&d3, 1, "OPTIONS", NULL, NULL, NULL, NULL, 0, NULL, m2,
                                    (size_t)len),
                     CS_ERR_OVERFLOW);
    d3 = d2;
    assert_int_equal(cg_sip_request(&d3, 1, "OPTIONS", NULL, NULL, NULL, NULL, 0, NULL, m2,
                                    (size_t)len + 1),
                     len);
    assert_string_equal(m2, msg);
    assert_int_equal(cg_sip_request(&d3, 1, "CANCEL", NULL, NULL, NULL, NULL, 0, NULL, m2,
                                    sizeof m2),
                     CS_ERR_INVAL);
    assert_int_equal(cg_sip_response(&d3, NULL, 200, NULL, NULL, NULL, NULL, 0, m2, sizeof m2),
                     CS_ERR_INVAL);
    char uri[64];
    assert_int_equal(cg_sip_uri("2001", "10.20.1.1", 0, 5060, uri, sizeof uri), 23);
    assert_string_equal(uri, "sip:2001@10.20.1.1:5060");
    assert_int_equal(cg_sip_uri("2001", "10.20.1.1", 0, 5060, uri, 23), CS_ERR_OVERFLOW);
    assert_int_equal(cg_sip_uri(NULL, "::1", 1, 5060, uri, sizeof uri), 14);
    assert_string_equal(uri, "sip:[::1]:5060");
}

static void test_branches_deterministic(void **state)
{
    (void)state;
    cg_sip_dialog a, b;
    mk_dialog(&a, 0);
    mk_dialog(&b, 0);
    char m1[CG_SIP_MAX], m2[CG_SIP_MAX];
    cg_sip_txn t1, t2, t3;
    cg_sip_request(&a, 1, "INVITE", NULL, NULL, NULL, NULL, 0, &t1, m1, sizeof m1);
    cg_sip_request(&b, 1, "INVITE", NULL, NULL, NULL, NULL, 0, &t2, m2, sizeof m2);
    assert_string_equal(m1, m2);
    cg_sip_request(&a, 1, "BYE", NULL, NULL, NULL, NULL, 0, &t3, m1, sizeof m1);
    assert_string_not_equal(t1.branch, t3.branch);
    assert_string_equal(cg_sip_reason(486), "Busy Here");
    assert_string_equal(cg_sip_reason(408), "Request Timeout");
    assert_string_equal(cg_sip_reason(480), "Temporarily Unavailable");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invite),
        cmocka_unit_test(test_cancel_ack_bye),
        cmocka_unit_test(test_ipv6_and_tcp),
        cmocka_unit_test(test_sdp_exact),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_branches_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
