/*
 * test_engine_calls.c — the call state machine and timeouts, on SIP and RTP
 * frames built here (Ethernet/IPv4/UDP), fed to the engine one by one, with
 * the resulting call.json files checked with jq:
 *   retransmissions make no second event; an authentication challenge (407)
 *   does not end the leg; a Call-ID reused after BYE is a new call; RTP
 *   inactivity, setup timeout, maximum duration and ce_finish end calls with
 *   the right reason; symmetric RTP is matched by source; a frame of another
 *   link type is counted and not written to call.pcap; exact call.pcap
 *   frame counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "engine.h"
#include "spool.h"
#include "test_engine_util.h"
#include "testsupport.h"
#include "uuid.h"
#include "call.h"
#include "callout.h"

#define T0 1700000000000000ULL /* packet time of the first INVITE */
#define MS 1000ULL
#define S 1000000ULL

/* One dialog between caller 10.0.0.1 and callee 10.0.0.2. */
typedef struct dlg {
    capture_engine *ce;
    const char *call_id;
    const char *ftag;
    const char *caller_media; /* address in the caller's SDP */
    const char *extra;        /* extra header lines for the INVITE, or "" */
    const char *bye_extra;    /* extra header lines for BYE, or "" */
    uint16_t caller_port, callee_port; /* media ports (4000, 6000) */
    uint16_t seq[2];
    uint32_t rtp_ts[2];
    int fed;                  /* frames fed */
} dlg;

static void feed(dlg *d, uint64_t ts, const char *src, uint16_t sport, const char *dst,
                 uint16_t dport, const char *payload, size_t len)
{
    uint8_t frame[4096];
    size_t n = te_udp_frame(frame, sizeof frame, src, sport, dst, dport, payload, len);
    assert_true(n > 0);
    assert_int_equal(te_feed_frame(d->ce, ts, frame, n), 0);
    d->fed++;
}

static size_t sdp_text(char *buf, size_t cap, const char *addr, int port, const char *dir)
{
    int n = snprintf(buf, cap,
                     "v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                     "m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
                     "a=rtpmap:101 telephone-event/8000\r\na=%s\r\n",
                     addr, addr, port, dir);
    return (size_t)n;
}

/* A request. from_caller: direction; cseq/method; to_tag: include the
 * callee's tag; sdir: NULL = no body. */
static void req(dlg *d, uint64_t ts, int from_caller, const char *method, int cseq, int to_tag,
                const char *sdir)
{
    char body[512] = "", msg[2048];
    size_t blen = 0;
    if (sdir)
        blen = from_caller ? sdp_text(body, sizeof body, d->caller_media, d->caller_port, sdir)
                           : sdp_text(body, sizeof body, "10.0.0.2", d->callee_port, sdir);
    const char *a = from_caller ? "10.0.0.1" : "10.0.0.2";
    const char *b = from_caller ? "10.0.0.2" : "10.0.0.1";
    char from[128], to[128];
    if (from_caller) {
        snprintf(from, sizeof from, "<sip:+15550001@10.0.0.1>;tag=%s", d->ftag);
        snprintf(to, sizeof to, "<sip:2001@10.0.0.2>%s", to_tag ? ";tag=tt1" : "");
    } else {
        snprintf(from, sizeof from, "<sip:2001@10.0.0.2>;tag=tt1");
        snprintf(to, sizeof to, "<sip:+15550001@10.0.0.1>;tag=%s", d->ftag);
    }
    int n = snprintf(msg, sizeof msg,
                     "%s sip:x@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK%d%s\r\n"
                     "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n%s"
                     "%sContent-Length: %zu\r\n\r\n%s",
                     method, b, a, cseq, method, from, to, d->call_id, cseq, method,
                     strcmp(method, "INVITE") == 0 && !to_tag ? d->extra
                     : strcmp(method, "BYE") == 0            ? d->bye_extra
                                                             : "",
                     blen ? "Content-Type: application/sdp\r\n" : "", blen, body);
    feed(d, ts, a, 5060, b, 5060, msg, (size_t)n);
}

/* A response to a request sent by the caller (req_from_caller) or callee. */
static void resp(dlg *d, uint64_t ts, int req_from_caller, int status, int cseq,
                 const char *method, const char *sdir)
{
    char body[512] = "", msg[2048];
    size_t blen = 0;
    if (sdir)
        blen = req_from_caller ? sdp_text(body, sizeof body, "10.0.0.2", d->callee_port, sdir)
                               : sdp_text(body, sizeof body, d->caller_media, d->caller_port, sdir);
    const char *a = req_from_caller ? "10.0.0.2" : "10.0.0.1";
    const char *b = req_from_caller ? "10.0.0.1" : "10.0.0.2";
    char from[128], to[128];
    if (req_from_caller) {
        snprintf(from, sizeof from, "<sip:+15550001@10.0.0.1>;tag=%s", d->ftag);
        snprintf(to, sizeof to, "<sip:2001@10.0.0.2>%s", status > 100 ? ";tag=tt1" : "");
    } else {
        snprintf(from, sizeof from, "<sip:2001@10.0.0.2>;tag=tt1");
        snprintf(to, sizeof to, "<sip:+15550001@10.0.0.1>;tag=%s", d->ftag);
    }
    int n = snprintf(msg, sizeof msg,
                     "SIP/2.0 %d Whatever\r\nVia: SIP/2.0/UDP %s:5060;branch=z9hG4bK%d%s\r\n"
                     "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
                     "%sContent-Length: %zu\r\n\r\n%s",
                     status, b, cseq, method, from, to, d->call_id, cseq, method,
                     blen ? "Content-Type: application/sdp\r\n" : "", blen, body);
    feed(d, ts, a, 5060, b, 5060, msg, (size_t)n);
}

/* One RTP packet; from_caller: caller 10.0.0.1:4000 -> callee 10.0.0.2:6000. */
static void rtp(dlg *d, uint64_t ts, int from_caller, uint32_t ssrc)
{
    uint8_t p[12 + 160];
    int k = from_caller ? 0 : 1;
    memset(p, 0xff, sizeof p);
    p[0] = 0x80;
    p[1] = 0;
    p[2] = (uint8_t)(d->seq[k] >> 8);
    p[3] = (uint8_t)d->seq[k];
    p[4] = (uint8_t)(d->rtp_ts[k] >> 24);
    p[5] = (uint8_t)(d->rtp_ts[k] >> 16);
    p[6] = (uint8_t)(d->rtp_ts[k] >> 8);
    p[7] = (uint8_t)d->rtp_ts[k];
    p[8] = (uint8_t)(ssrc >> 24);
    p[9] = (uint8_t)(ssrc >> 16);
    p[10] = (uint8_t)(ssrc >> 8);
    p[11] = (uint8_t)ssrc;
    d->seq[k]++;
    d->rtp_ts[k] += 160;
    if (from_caller)
        feed(d, ts, "10.0.0.1", d->caller_port, "10.0.0.2", d->callee_port, (const char *)p,
             sizeof p);
    else
        feed(d, ts, "10.0.0.2", d->callee_port, "10.0.0.1", d->caller_port, (const char *)p,
             sizeof p);
}

static void dlg_init(dlg *d, capture_engine *ce, const char *call_id, const char *ftag)
{
    memset(d, 0, sizeof *d);
    d->ce = ce;
    d->call_id = call_id;
    d->ftag = ftag;
    d->caller_media = "10.0.0.1";
    d->extra = "";
    d->bye_extra = "";
    d->caller_port = 4000;
    d->callee_port = 6000;
}

/* INVITE, 100, 180, 200, ACK at T0 + base; returns the 200's time. */
static uint64_t setup_answered(dlg *d, uint64_t base)
{
    req(d, T0 + base, 1, "INVITE", 1, 0, "sendrecv");
    resp(d, T0 + base + 10 * MS, 1, 100, 1, "INVITE", NULL);
    resp(d, T0 + base + 100 * MS, 1, 180, 1, "INVITE", NULL);
    resp(d, T0 + base + 2 * S, 1, 200, 1, "INVITE", "sendrecv");
    req(d, T0 + base + 2 * S + 20 * MS, 1, "ACK", 1, 1, NULL);
    return T0 + base + 2 * S;
}

typedef struct fixture {
    te_run r;
    spool *sp;
    capture_engine *ce;
    ce_config cfg;
} fixture;

static void fx_begin(fixture *f, const char *tag)
{
    assert_int_equal(te_setup(&f->r, tag), 0);
    f->ce = te_begin(&f->r, &f->cfg, &f->sp);
    assert_non_null(f->ce);
}

static void fx_end(fixture *f)
{
    te_end(&f->r, f->ce, f->sp);
    assert_int_equal(f->r.finish_rc, 0);
}

static void assert_jq(const te_run *r, const char *filter, const char *want)
{
    char *got = te_jq(r, filter);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "jq %s:\n got  %s\n want %s\n", filter, got, want);
    assert_string_equal(got, want);
    free(got);
}

static void test_direct_retransmissions(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    fx_begin(&f, "engine-direct");
    dlg d;
    dlg_init(&d, f.ce, "direct-1@10.0.0.1", "ft1");
    req(&d, T0, 1, "INVITE", 1, 0, "sendrecv");
    req(&d, T0 + 500 * MS, 1, "INVITE", 1, 0, "sendrecv"); /* retransmission */
    resp(&d, T0 + 510 * MS, 1, 100, 1, "INVITE", NULL);
    resp(&d, T0 + 600 * MS, 1, 180, 1, "INVITE", NULL);
    resp(&d, T0 + 700 * MS, 1, 180, 1, "INVITE", NULL);     /* retransmission */
    resp(&d, T0 + 2 * S, 1, 200, 1, "INVITE", "sendrecv");
    resp(&d, T0 + 2500 * MS, 1, 200, 1, "INVITE", "sendrecv"); /* retransmission */
    req(&d, T0 + 2520 * MS, 1, "ACK", 1, 1, NULL);
    for (int i = 0; i < 50; i++) {
        rtp(&d, T0 + 3 * S + (uint64_t)i * 20 * MS, 1, 0x1111);
        rtp(&d, T0 + 3 * S + (uint64_t)i * 20 * MS + 5 * MS, 0, 0x2222);
    }
    req(&d, T0 + 10 * S, 1, "BYE", 2, 1, NULL);
    resp(&d, T0 + 10 * S + 15 * MS, 1, 200, 2, "BYE", NULL);
    fx_end(&f);

    assert_int_equal(te_ready_count(&f.r), 1);
    assert_jq(&f.r, ".[0] | [.outcome, .ended_by, .end_reason, .final_status] | @csv",
              "\"answered\",\"caller\",\"bye\",200");
    assert_jq(&f.r, ".[0] | [.invite_us, .ringing_us, .answer_us, .end_us, .duration_us] | @csv",
              "1700000000000000,1700000000600000,1700000002000000,1700000010015000,10015000");
    assert_jq(&f.r, ".[0].legs[0] | [.sip_messages, .retransmissions, (.events | length), "
                    ".events_dropped, .ended_by, .role, .agent_ext] | @csv",
              "10,3,7,0,\"caller\",\"inbound\",\"2001\"");
    assert_jq(&f.r, ".[0].legs[0].events | map(.method // (.status | tostring)) | join(\",\")",
              "INVITE,100,180,200,ACK,BYE,200");
    assert_jq(&f.r, ".[0].legs[0].events[0].dir", "10.0.0.1:5060->10.0.0.2:5060");
    assert_jq(&f.r,
              ".[0].streams | map(\"\\(.direction) \\(.packets) \\(.codec) \\(.ssrc) \\(.lost)\") "
              "| join(\",\")",
              "customer_to_pbx 50 PCMU 0x00001111 0,pbx_to_customer 50 PCMU 0x00002222 0");
    assert_jq(&f.r, ".[0] | [.pcap.frames, .counters.sip_messages, .counters.rtp_packets] | @csv",
              "110,10,100");
    char *uuid = te_jq(&f.r, ".[0].uuid");
    assert_non_null(uuid);
    char path[700];
    snprintf(path, sizeof path, "%s/ready/%s/call.pcap", f.r.spool, uuid);
    assert_int_equal(te_pcap_frames(path, NULL), d.fed);
    free(uuid);
    te_cleanup(&f.r);
}

static void test_auth_challenge(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    fx_begin(&f, "engine-auth");
    dlg d;
    dlg_init(&d, f.ce, "auth-1@10.0.0.1", "ft2");
    req(&d, T0, 1, "INVITE", 1, 0, "sendrecv");
    resp(&d, T0 + 10 * MS, 1, 407, 1, "INVITE", NULL);
    req(&d, T0 + 20 * MS, 1, "ACK", 1, 1, NULL);
    req(&d, T0 + 50 * MS, 1, "INVITE", 2, 0, "sendrecv");
    resp(&d, T0 + 1 * S, 1, 200, 2, "INVITE", "sendrecv");
    req(&d, T0 + 1 * S + 10 * MS, 1, "ACK", 2, 1, NULL);
    req(&d, T0 + 5 * S, 0, "BYE", 1, 1, NULL); /* callee's own CSeq space */
    resp(&d, T0 + 5 * S + 10 * MS, 0, 200, 1, "BYE", NULL);
    fx_end(&f);
    assert_int_equal(te_ready_count(&f.r), 1);
    assert_jq(&f.r, ".[0] | [.outcome, .ended_by, .end_reason, .final_status, .answer_us, .invite_us] | @csv",
              "\"answered\",\"agent\",\"bye\",200,1700000001000000,1700000000000000");
    assert_jq(&f.r, ".[0].legs[0].ended_by", "callee");
    te_cleanup(&f.r);
}

static void test_reused_call_id(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    fx_begin(&f, "engine-reuse");
    dlg d;
    dlg_init(&d, f.ce, "reuse-1@10.0.0.1", "ftA");
    setup_answered(&d, 0);
    req(&d, T0 + 5 * S, 1, "BYE", 2, 1, NULL);
    resp(&d, T0 + 5 * S + 10 * MS, 1, 200, 2, "BYE", NULL);
    /* 300 ms later, inside the linger time: a new dialog with the same Call-ID */
    dlg d2;
    dlg_init(&d2, f.ce, "reuse-1@10.0.0.1", "ftB");
    req(&d2, T0 + 5300 * MS, 1, "INVITE", 1, 0, "sendrecv");
    resp(&d2, T0 + 5400 * MS, 1, 486, 1, "INVITE", NULL);
    req(&d2, T0 + 5410 * MS, 1, "ACK", 1, 1, NULL);
    /* and the same again once the linger time has passed, same tag and CSeq */
    req(&d2, T0 + 60 * S, 1, "INVITE", 1, 0, "sendrecv");
    resp(&d2, T0 + 60 * S + 10 * MS, 1, 480, 1, "INVITE", NULL);
    fx_end(&f);
    assert_int_equal(te_ready_count(&f.r), 3);
    assert_jq(&f.r, "map(\"\\(.call_id) \\(.outcome) \\(.invite_us)\") | join(\",\")",
              "reuse-1@10.0.0.1 answered 1700000000000000,"
              "reuse-1@10.0.0.1 busy 1700000005300000,"
              "reuse-1@10.0.0.1 no_answer 1700000060000000");
    assert_jq(&f.r, "map(.uuid) | unique | length", "3");
    assert_jq(&f.r, ".[1] | [.ended_by, .end_reason, .end_us] | @csv",
              "\"pbx\",\"final_response\",1700000005410000");
    te_cleanup(&f.r);
}

static void test_rtp_timeout(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    fx_begin(&f, "engine-rtpto");
    dlg d;
    dlg_init(&d, f.ce, "rtpto-1@10.0.0.1", "ft3");
    setup_answered(&d, 0);
    uint64_t last = 0;
    for (int i = 0; i < 100; i++) {
        last = T0 + 3 * S + (uint64_t)i * 20 * MS;
        rtp(&d, last, 1, 0xabc);
    }
    /* 59 s of silence: still open; 60 s: ended by the timeout */
    assert_int_equal(ce_tick(f.ce, last + 59 * S), 0);
    assert_int_equal(te_ready_count(&f.r), 0);
    assert_int_equal(ce_tick(f.ce, last + 60 * S), 0);
    assert_int_equal(te_ready_count(&f.r), 1);
    fx_end(&f);
    assert_jq(&f.r, ".[0] | [.outcome, .ended_by, .end_reason, .end_us == " "(.streams[0].last_us)] | @csv",
              "\"answered\",\"timeout\",\"rtp_timeout\",true");
    assert_jq(&f.r, ".[0].legs[0].ended_by", "timeout");
    te_cleanup(&f.r);
}

static void test_setup_timeout(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    fx_begin(&f, "engine-setupto");
    dlg d;
    dlg_init(&d, f.ce, "ring-1@10.0.0.1", "ft4");
    req(&d, T0, 1, "INVITE", 1, 0, "sendrecv");
    resp(&d, T0 + 100 * MS, 1, 180, 1, "INVITE", NULL);
    assert_int_equal(ce_tick(f.ce, T0 + 100 * MS + 299 * S), 0);
    assert_int_equal(te_ready_count(&f.r), 0);
    assert_int_equal(ce_tick(f.ce, T0 + 100 * MS + 300 * S), 0);
    assert_int_equal(te_ready_count(&f.r), 1);
    fx_end(&f);
    assert_jq(&f.r, "map(\"\\(.outcome) \\(.ended_by) \\(.end_reason) \\(.end_us - .invite_us) \\(.ringing_us - .invite_us)\") | join(\",\")",
              "no_answer timeout setup_timeout 100000 100000");
    te_cleanup(&f.r);
}

static void test_max_duration(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    f.cfg.max_call_us = 30 * S;
    fx_begin(&f, "engine-maxdur");
    dlg e;
    dlg_init(&e, f.ce, "long-1@10.0.0.1", "ft5");
    setup_answered(&e, 1 * S);
    for (int i = 0; i < 40 * 50; i++)
        rtp(&e, T0 + 4 * S + (uint64_t)i * 20 * MS, 1, 0xdef);
    /* cut at 30 s (checked once per second of packet time); the later RTP
     * matches no call any more */
    assert_int_equal(te_ready_count(&f.r), 1);
    fx_end(&f);
    assert_true(f.r.cnt.rtp_unmatched > 0);
    assert_jq(&f.r, "map(\"\\(.outcome) \\(.ended_by) \\(.end_reason) \\(.end_us - .invite_us)\") | join(\",\")",
              "answered timeout max_duration 30000000");
    te_cleanup(&f.r);
}

static void test_capture_stopped(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    fx_begin(&f, "engine-stop");
    dlg d;
    dlg_init(&d, f.ce, "open-1@10.0.0.1", "ft6");
    setup_answered(&d, 0);
    rtp(&d, T0 + 3 * S, 1, 0x77);
    dlg e;
    dlg_init(&e, f.ce, "open-2@10.0.0.1", "ft7");
    req(&e, T0 + 4 * S, 1, "INVITE", 1, 0, "sendrecv");
    assert_int_equal(te_ready_count(&f.r), 0);
    fx_end(&f);
    assert_int_equal(te_ready_count(&f.r), 2);
    assert_jq(&f.r, "map(\"\\(.outcome) \\(.ended_by) \\(.end_reason) \\(.end_us - .invite_us) \\(.legs[0].ended_by)\") | join(\",\")",
              "answered capture capture_stopped 3000000 capture,"
              "failed capture capture_stopped 0 capture");
    assert_int_equal(f.r.cnt.calls_active, 2);
    te_cleanup(&f.r);
}

static void test_symmetric_rtp(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    fx_begin(&f, "engine-sym");
    dlg d;
    dlg_init(&d, f.ce, "nat-1@10.0.0.1", "ft8");
    d.caller_media = "192.168.1.5"; /* behind NAT: the SDP address is never seen */
    setup_answered(&d, 0);
    for (int i = 0; i < 10; i++) {
        rtp(&d, T0 + 3 * S + (uint64_t)i * 20 * MS, 1, 0x10); /* to the callee's SDP address */
        rtp(&d, T0 + 3 * S + (uint64_t)i * 20 * MS, 0, 0x20); /* from it: matched by source */
    }
    req(&d, T0 + 5 * S, 1, "BYE", 2, 1, NULL);
    resp(&d, T0 + 5 * S + 5 * MS, 1, 200, 2, "BYE", NULL);
    fx_end(&f);
    assert_jq(&f.r, ".[0].streams | map(\"\\(.direction) \\(.packets) \\(.dst):\\(.dst_port)\") | join(\",\")",
              "customer_to_pbx 10 10.0.0.2:6000,pbx_to_customer 10 10.0.0.1:4000");
    assert_int_equal(f.r.cnt.rtp_unmatched, 0);
    te_cleanup(&f.r);
}

static void test_other_linktype_not_written(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    fx_begin(&f, "engine-linktype");
    dlg d;
    dlg_init(&d, f.ce, "lt-1@10.0.0.1", "ft9");
    setup_answered(&d, 0);
    /* the same RTP as raw IP (DLT_RAW): counted, decoded, not in call.pcap */
    uint8_t p[12 + 20] = {0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x42};
    uint8_t frame[256];
    size_t n = te_udp_frame(frame, sizeof frame, "10.0.0.1", 4000, "10.0.0.2", 6000, p, sizeof p);
    assert_int_equal(ce_frame(f.ce, DLT_RAW, T0 + 3 * S, frame + 14, n - 14, n - 14), 0);
    req(&d, T0 + 5 * S, 1, "BYE", 2, 1, NULL);
    fx_end(&f);
    assert_jq(&f.r, ".[0] | [.pcap.frames, .pcap.skipped_linktype, .pcap.linktype, .counters.rtp_packets] | @csv",
              "6,1,1,1");
    te_cleanup(&f.r);
}

static void test_max_calls(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    f.cfg.max_calls = 1;
    fx_begin(&f, "engine-maxcalls");
    dlg a, b, c;
    dlg_init(&a, f.ce, "a@10.0.0.1", "fa");
    dlg_init(&b, f.ce, "b@10.0.0.1", "fb");
    dlg_init(&c, f.ce, "c@10.0.0.1", "fc");
    setup_answered(&a, 0);
    req(&b, T0 + 3 * S, 1, "INVITE", 1, 0, "sendrecv"); /* refused: one call max */
    resp(&b, T0 + 3 * S + 10 * MS, 1, 180, 1, "INVITE", NULL);
    req(&a, T0 + 4 * S, 1, "BYE", 2, 1, NULL);
    resp(&a, T0 + 4 * S + 10 * MS, 1, 200, 2, "BYE", NULL);
    assert_int_equal(ce_tick(f.ce, T0 + 7 * S), 0); /* linger over: a is written */
    req(&c, T0 + 8 * S, 1, "INVITE", 1, 0, "sendrecv"); /* accepted again */
    resp(&c, T0 + 8 * S + 10 * MS, 1, 486, 1, "INVITE", NULL);
    fx_end(&f);
    assert_int_equal(te_ready_count(&f.r), 2);
    assert_int_equal(f.r.cnt.calls_refused, 1);
    assert_int_equal(f.r.cnt.calls_started, 2);
    assert_int_equal(f.r.cnt.sip_unmatched, 1);
    assert_true(f.r.cnt.limit_hits >= 1);
    assert_jq(&f.r, "map(\"\\(.call_id) \\(.outcome)\") | join(\",\")",
              "a@10.0.0.1 answered,c@10.0.0.1 busy");
    te_cleanup(&f.r);
}

static void test_max_streams(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    f.cfg.max_streams_per_call = 1;
    fx_begin(&f, "engine-maxstreams");
    dlg d;
    dlg_init(&d, f.ce, "streams@10.0.0.1", "fs");
    setup_answered(&d, 0);
    for (int i = 0; i < 10; i++) {
        rtp(&d, T0 + 3 * S + (uint64_t)i * 20 * MS, 1, 0x31);
        rtp(&d, T0 + 3 * S + (uint64_t)i * 20 * MS, 0, 0x32);
    }
    req(&d, T0 + 5 * S, 1, "BYE", 2, 1, NULL);
    fx_end(&f);
    assert_int_equal(f.r.cnt.streams, 1);
    assert_int_equal(f.r.cnt.streams_refused, 1);
    assert_int_equal(f.r.cnt.rtp_packets, 20);
    assert_jq(&f.r, ".[0] | [(.streams | length), .streams_refused, .rtp_refused, .streams[0].packets, .pcap.frames] | @csv",
              "1,1,10,10,26");
    te_cleanup(&f.r);
}

static void test_uuid(void **state)
{
    (void)state;
    /* expected values computed independently (Python hashlib) */
    char u[UUID_STR_LEN + 1];
    assert_int_equal(uuid_call("probe", "abc@host", 8, 1700000000000000ULL, u), 0);
    assert_string_equal(u, "79793bf6-9340-5d5e-ba09-dab236cf545f");
    assert_int_equal(uuid_call(NULL, NULL, 0, 0, u), 0);
    assert_string_equal(u, "eadb6c51-1e57-5df8-8a19-d1b205a972ea");
    /* the Call-ID length is what counts, not a NUL */
    assert_int_equal(uuid_call("probe", "abc@hostXYZ", 8, 1700000000000000ULL, u), 0);
    assert_string_equal(u, "79793bf6-9340-5d5e-ba09-dab236cf545f");
}

/* call.json of a small call against tests/capture/data/engine/golden.call.json
 * (regenerate with TE_UPDATE_GOLDEN=1 after a deliberate format change). */
static void test_golden_json(void **state)
{
    (void)state;
    fixture f;
    ce_config_defaults(&f.cfg);
    f.cfg.probe = "golden";
    fx_begin(&f, "engine-golden");
    dlg d;
    dlg_init(&d, f.ce, "golden-1@10.0.0.1", "fg");
    d.bye_extra = "Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n";
    setup_answered(&d, 0);
    for (int i = 0; i < 5; i++) {
        rtp(&d, T0 + 3 * S + (uint64_t)i * 20 * MS, 1, 0x51);
        rtp(&d, T0 + 3 * S + (uint64_t)i * 20 * MS + MS, 0, 0x52);
    }
    req(&d, T0 + 4 * S, 0, "INVITE", 1, 1, "sendonly");
    resp(&d, T0 + 4 * S + 10 * MS, 0, 200, 1, "INVITE", "recvonly");
    req(&d, T0 + 6 * S, 0, "INVITE", 2, 1, "sendrecv");
    resp(&d, T0 + 6 * S + 10 * MS, 0, 200, 2, "INVITE", "sendrecv");
    req(&d, T0 + 8 * S, 0, "BYE", 3, 1, NULL);
    resp(&d, T0 + 8 * S + 10 * MS, 0, 200, 3, "BYE", NULL);
    fx_end(&f);
    char *uuid = te_jq(&f.r, ".[0].uuid");
    assert_non_null(uuid);
    char path[700], golden[700];
    snprintf(path, sizeof path, "%s/ready/%s/call.json", f.r.spool, uuid);
    ts_source_path(golden, sizeof golden, "tests/capture/data/engine/golden.call.json");
    size_t glen = 0, len = 0;
    char *got = ts_read_file(path, &len);
    assert_non_null(got);
    if (getenv("TE_UPDATE_GOLDEN"))
        assert_int_equal(ts_write_file(golden, got, len), 0);
    char *want = ts_read_file(golden, &glen);
    assert_non_null(want);
    if (len != glen || memcmp(got, want, len) != 0) {
        fprintf(stderr, "call.json differs from %s; got:\n%s\n", golden, got);
        fail();
    }
    free(got);
    free(want);
    free(uuid);
    te_cleanup(&f.r);
}

/* Heap per active call: 200 answered calls, each with 2 streams, 100 RTP
 * packets, a hold and a resume, measured with mallinfo2 (not meaningful
 * under ASan, which has its own allocator: then only printed). */
static void test_memory_per_call(void **state)
{
    (void)state;
    enum { NCALLS = 200 };
    fixture f;
    ce_config_defaults(&f.cfg);
    fx_begin(&f, "engine-memory");
    static dlg d[NCALLS];
    static char ids[NCALLS][32], tags[NCALLS][16];
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < NCALLS; i++) {
        snprintf(ids[i], sizeof ids[i], "mem-%d@10.0.0.1", i);
        snprintf(tags[i], sizeof tags[i], "m%d", i);
        dlg_init(&d[i], f.ce, ids[i], tags[i]);
        d[i].caller_port = (uint16_t)(10000 + 2 * i);
        d[i].callee_port = (uint16_t)(30000 + 2 * i);
        setup_answered(&d[i], (uint64_t)i * MS);
    }
    for (int k = 0; k < 50; k++)
        for (int i = 0; i < NCALLS; i++) {
            rtp(&d[i], T0 + 3 * S + (uint64_t)k * 20 * MS, 1, 0x1000u + (uint32_t)i);
            rtp(&d[i], T0 + 3 * S + (uint64_t)k * 20 * MS, 0, 0x2000u + (uint32_t)i);
        }
    for (int i = 0; i < NCALLS; i++) {
        req(&d[i], T0 + 5 * S, 0, "INVITE", 1, 1, "sendonly");
        resp(&d[i], T0 + 5 * S + MS, 0, 200, 1, "INVITE", "recvonly");
        req(&d[i], T0 + 6 * S, 0, "INVITE", 2, 1, "sendrecv");
        resp(&d[i], T0 + 6 * S + MS, 0, 200, 2, "INVITE", "sendrecv");
    }
    struct mallinfo2 after = mallinfo2();
    capture_counters cnt;
    ce_get_counters(f.ce, &cnt);
    assert_int_equal(cnt.calls_active, NCALLS);
    size_t per_call = (after.uordblks - before.uordblks) / NCALLS;
    fprintf(stderr,
            "memory: %zu bytes of heap per active call (sizeof call %zu, leg %zu, stream %zu, "
            "event %zu; pcap write buffer %d)\n",
            per_call, sizeof(call), sizeof(call_leg), sizeof(call_stream), sizeof(call_event),
            CALLOUT_WBUF);
    if (after.uordblks > before.uordblks)
        assert_true(per_call <= 50 * 1024);
    fx_end(&f);
    assert_int_equal(te_ready_count(&f.r), NCALLS);
    te_cleanup(&f.r);
}

int main(void)
{
    if (!te_have_jq()) {
        fprintf(stderr, "jq not installed: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_retransmissions),
        cmocka_unit_test(test_auth_challenge),
        cmocka_unit_test(test_reused_call_id),
        cmocka_unit_test(test_rtp_timeout),
        cmocka_unit_test(test_setup_timeout),
        cmocka_unit_test(test_max_duration),
        cmocka_unit_test(test_capture_stopped),
        cmocka_unit_test(test_symmetric_rtp),
        cmocka_unit_test(test_other_linktype_not_written),
        cmocka_unit_test(test_max_calls),
        cmocka_unit_test(test_max_streams),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_golden_json),
        cmocka_unit_test(test_memory_per_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
