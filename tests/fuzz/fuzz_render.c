/*
 * fuzz_render.c — libFuzzer target for decode/render.c: render_call over a
 * fixed, valid call.json and a call.pcap whose RTP comes from the fuzz input
 * (the hostile part of a spool entry: packets off a SPAN port). Exercises the
 * packet -> stream matching, payload type classification, every decoder
 * behind decode/codec.h, concealment / Opus FEC, the 8 -> 16 kHz
 * interpolator, both timelines and VAD.
 *
 * The call (built with snprintf, parsed with callinfo_parse once per codec
 * combination, then only its end set per run): one inbound leg,
 * four streams (IPv4, telephone-event 101 everywhere):
 *   0 customer_to_pbx 203.0.113.36:20018 -> 198.51.100.10:30072  codec A
 *   1 pbx_to_customer 198.51.100.10:30072 -> 203.0.113.36:20018  codec B
 *   2 pbx_to_customer 198.51.100.10:30074 -> 203.0.113.36:20018  codec C
 *   3 agent_to_pbx    10.20.1.35:40018 -> 198.51.100.10:30074    PCMU (not rendered)
 * each with two SSRCs in "ssrcs". Codecs: PCMU, PCMA, G722, G729, opus/48000/2,
 * L16/16000/1, L16/8000/1, GSM (unsupported), none (codec_pt null),
 * L16/8000/2.
 *
 * Input framing (fields past the end read as 0):
 *   byte 0  codec A (low 4 bits), codec B (high 4 bits), modulo the table
 *   byte 1  codec C (low 4 bits); bit 4 stream 0 is SRTP; bit 5 render at
 *           16000; bit 6 no VAD; bit 7 hold_ms 20
 *   byte 2  bits 0-5 call length (b + 1) * 2.5 ms + 17 µs (≤ 160 ms: under the
 *           sanitizers a run costs mostly per sample of the call — timeline
 *           read-out, interpolator, VAD — and the CTest smoke run must stay
 *           short; packets past the end are still decoded); bits 6-7 plc_ms
 *           (0 = default, -1, 20, 1000)
 *   byte 3  bit 0 the pcap's last record is cut short; bit 1 Ethernet link
 *           type instead of raw IP
 *   then at most MAX_PACKETS records, one pcap frame each, up to the first
 *   frame captured more than 500 ms after the call's end (every packet is
 *   decoded, even past the end, and 8 kHz audio in a 16 kHz render goes
 *   through the 32-tap interpolator: this bounds the work of a run):
 *     f    bits 0-2 the 4-tuple: 0..3 = stream 0..3, 4 = unknown addresses,
 *          5..7 = stream f-4's tuple with the UDP payload taken verbatim from
 *          the input (len bytes, no RTP header built); bit 3 marker; bits 4-5
 *          SSRC: the stream's first, its second, 0x0badf00d, 0; bit 6 the
 *          capture clock steps back; bit 7 the IPv4 MF flag (a fragment)
 *     dt   clock step in 500 µs units
 *     dq   signed sequence number step (per stream)
 *     dts  signed 16-bit timestamp step (per stream)
 *     pt   bits 0-1: the stream's codec_pt, 101, 13 (CN), else (pt >> 2) * 2
 *     len  payload bytes, taken from the input (255 = 1400 bytes, padded)
 *
 * FUZZ_RENDER_VERBOSE=1 in the environment prints each run's stream statuses
 * (to check what a seed reaches).
 *
 * Invariants (abort on violation): render_call returns CS_OK; frames ==
 * round(duration * rate / 1e6); rate 8000/16000 and 16000 when asked; one
 * status per stream, stream 3 on channel 0; SRTP streams decode nothing;
 * decoded <= packets summed per channel (see below); rtp_packets <= pcap_frames; VAD segments
 * inside the call.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "callinfo.h"
#include "error.h"
#include "render.h"

#define MAX_PACKETS 40
#define INVITE_US   1709542867597000ll
#define NSTREAMS    4

static void check(int ok)
{
    if (!ok)
        abort();
}

static const struct codec {
    const char *name; /* NULL: codec_pt null */
    int pt, clock, channels;
} codecs[] = {
    {"PCMU", 0, 8000, 1},    {"PCMA", 8, 8000, 1},  {"G722", 9, 8000, 1}, {"G729", 18, 8000, 1},
    {"opus", 111, 48000, 2}, {"L16", 96, 16000, 1}, {"L16", 97, 8000, 1}, {"GSM", 3, 8000, 1},
    {NULL, 0, 8000, 0},      {"L16", 98, 8000, 2},
};
#define NCODECS (sizeof codecs / sizeof codecs[0])

static const struct tuple {
    const char *dir, *src, *dst;
    int sport, dport;
    uint8_t s4[4], d4[4];
    uint32_t ssrc[2];
} tuples[NSTREAMS + 1] = {
    {"customer_to_pbx",
     "203.0.113.36",
     "198.51.100.10",
     20018,
     30072,
     {203, 0, 113, 36},
     {198, 51, 100, 10},
     {0x88b12bfeu, 0x88b12bffu}},
    {"pbx_to_customer",
     "198.51.100.10",
     "203.0.113.36",
     30072,
     20018,
     {198, 51, 100, 10},
     {203, 0, 113, 36},
     {0xcca170dfu, 0xcca170e0u}},
    {"pbx_to_customer",
     "198.51.100.10",
     "203.0.113.36",
     30074,
     20018,
     {198, 51, 100, 10},
     {203, 0, 113, 36},
     {0x12345678u, 0x12345679u}},
    {"agent_to_pbx",
     "10.20.1.35",
     "198.51.100.10",
     40018,
     30074,
     {10, 20, 1, 35},
     {198, 51, 100, 10},
     {0xdac1121fu, 0xdac11220u}},
    {"unknown", "192.0.2.1", "192.0.2.2", 1000, 2000, {192, 0, 2, 1}, {192, 0, 2, 2}, {1, 2}},
};

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

__attribute__((format(printf, 2, 3))) static void put(buf *b, const char *fmt, ...)
{
    va_list ap;
    if (!b->p) {
        b->cap = 8192;
        b->p = malloc(b->cap);
        check(b->p != NULL);
    }
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        check(n >= 0);
        if (b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n) * 2;
        b->p = realloc(b->p, b->cap);
        check(b->p != NULL);
    }
}

static void put_bytes(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        check(b->p != NULL);
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void call_json(buf *b, const int cidx[NSTREAMS], int srtp0, int64_t end_us)
{
    put(b,
        "{\"format\":\"callscope-call\",\"version\":1,"
        "\"uuid\":\"e3ddbee3-4fd9-5011-b29d-1333b5e65363\",\"probe\":\"fuzz\","
        "\"call_id\":\"c1@203.0.113.36\",\"invite_us\":%lld,\"ringing_us\":null,"
        "\"answer_us\":%lld,\"end_us\":%lld,\"duration_us\":%lld,\"outcome\":\"answered\","
        "\"abandon_us\":null,\"ended_by\":\"caller\",\"end_reason\":\"bye\",\"final_status\":200,"
        "\"q850_cause\":null,\"sip_reason\":null,\"ani\":\"+15552410586\","
        "\"dnis\":\"+18005550110\",\"agents\":[\"2035\"],\"holds\":[],\"transfers\":[],"
        "\"legs\":[{\"index\":0,\"role\":\"inbound\",\"call_id\":\"c1@203.0.113.36\","
        "\"from_tag\":\"a\",\"to_tag\":\"b\",\"from_user\":\"+15552410586\","
        "\"to_user\":\"+18005550110\",\"ruri_user\":\"+18005550110\",\"agent_ext\":null,"
        "\"transport\":\"udp\",\"family\":4,\"vlan\":[],\"correlated_by\":null,"
        "\"invite_us\":%lld,\"ringing_us\":null,\"answer_us\":%lld,\"end_us\":%lld,"
        "\"final_status\":200,\"ended_by\":\"caller\",\"q850_cause\":null,\"sip_reason\":null,"
        "\"sip_messages\":4,\"retransmissions\":0,\"events\":[],\"events_dropped\":0}],"
        "\"streams\":[",
        (long long)INVITE_US, (long long)INVITE_US, (long long)end_us,
        (long long)(end_us - INVITE_US), (long long)INVITE_US, (long long)INVITE_US,
        (long long)end_us);
    for (int i = 0; i < NSTREAMS; i++) {
        const struct tuple *t = &tuples[i];
        const struct codec *c = &codecs[cidx[i]];
        char pt[16] = "null", ch[16] = "null", name[32] = "null";
        if (c->name) {
            snprintf(pt, sizeof pt, "%d", c->pt);
            snprintf(ch, sizeof ch, "%d", c->channels);
            snprintf(name, sizeof name, "\"%s\"", c->name);
        }
        put(b,
            "%s{\"index\":%d,\"leg\":0,\"direction\":\"%s\",\"ssrc\":\"0x%08x\","
            "\"ssrcs\":[\"0x%08x\",\"0x%08x\"],\"src\":\"%s\",\"src_port\":%d,\"dst\":\"%s\","
            "\"dst_port\":%d,\"payload_types\":[%d,101],\"codec\":%s,\"codec_pt\":%s,"
            "\"clock_rate\":%d,\"telephone_event_pt\":101,\"channels\":%s,\"srtp\":%s,"
            "\"packets\":10,\"bytes\":1600,\"expected\":10,\"lost\":0,\"duplicates\":0,"
            "\"out_of_order\":0,\"jitter_ms\":0,\"max_jitter_ms\":0,\"max_gap_ms\":20,"
            "\"ssrc_changes\":0,\"first_us\":%lld,\"last_us\":%lld,\"rtcp\":{\"packets\":0,"
            "\"sr\":0,\"rr\":0,\"last_fraction_lost\":null,\"last_cumulative_lost\":null,"
            "\"last_jitter\":null}}",
            i ? "," : "", i, t->dir, t->ssrc[0], t->ssrc[0], t->ssrc[1], t->src, t->sport, t->dst,
            t->dport, c->pt, name, pt, c->clock, ch, i == 0 && srtp0 ? "true" : "false",
            (long long)INVITE_US, (long long)end_us);
    }
    put(b, "],\"streams_refused\":0,\"rtp_refused\":0,\"dtmf\":[],\"dtmf_dropped\":0,"
           "\"pcap\":{\"file\":\"call.pcap\",\"frames\":0,\"bytes\":0,\"linktype\":101,"
           "\"skipped_linktype\":0,\"complete\":true},\"counters\":{\"sip_messages\":4,"
           "\"rtp_packets\":0,\"rtcp_packets\":0,\"malformed\":0,\"media_dropped\":0}}");
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* pcap headers: host order, the magic says which */
}

static void be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v & 0xffff);
}

/* One pcap record: [Ethernet] IPv4 UDP payload. */
static void put_frame(buf *pc, int eth, uint64_t at, const struct tuple *t, int mf,
                      const uint8_t *udp_payload, size_t n)
{
    uint8_t rec[16], hdr[14 + 20 + 8];
    size_t hl = 0;
    if (eth) {
        memset(hdr, 0, 12);
        hdr[0] = 2;
        hdr[6] = 4;
        be16(hdr + 12, 0x0800);
        hl = 14;
    }
    uint8_t *ip = hdr + hl;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    be16(ip + 2, (unsigned)(20 + 8 + n));
    be16(ip + 6, mf ? 0x2000 : 0x4000);
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, t->s4, 4);
    memcpy(ip + 16, t->d4, 4);
    uint8_t *udp = ip + 20;
    be16(udp, (unsigned)t->sport);
    be16(udp + 2, (unsigned)t->dport);
    be16(udp + 4, (unsigned)(8 + n));
    be16(udp + 6, 0);
    hl += 28;
    put32(rec, (uint32_t)(at / 1000000));
    put32(rec + 4, (uint32_t)(at % 1000000));
    put32(rec + 8, (uint32_t)(hl + n));
    put32(rec + 12, (uint32_t)(hl + n));
    put_bytes(pc, rec, sizeof rec);
    put_bytes(pc, hdr, hl);
    put_bytes(pc, udp_payload, n);
}

/* The parsed call of each codec combination, parsed on first use and kept
 * (parsing is most of the cost of a short run). The harness then sets the
 * call's end_us / duration_us in it: they are the only fields that vary. */
static callinfo *calls[NCODECS][NCODECS][NCODECS][2];

static callinfo *call_for(const int cidx[NSTREAMS], int srtp0)
{
    callinfo **slot = &calls[cidx[0]][cidx[1]][cidx[2]][srtp0];
    if (*slot)
        return *slot;
    buf js = {0};
    call_json(&js, cidx, srtp0, INVITE_US + 1000000);
    callinfo_error cerr;
    int rc = callinfo_parse(js.p, js.len, slot, &cerr);
    if (rc != CS_OK) {
        fprintf(stderr, "fuzz_render: call.json rejected: %s\n%.*s\n", cerr.msg, (int)js.len, js.p);
        abort();
    }
    free(js.p);
    return *slot;
}

static int memfd = -1;
static int verbose; /* FUZZ_RENDER_VERBOSE set: each run prints the stream statuses */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t h[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < 4 && i < size; i++)
        h[i] = data[i];
    const uint8_t *p = size > 4 ? data + 4 : data;
    size_t left = size > 4 ? size - 4 : 0;

    int cidx[NSTREAMS] = {(h[0] & 15) % (int)NCODECS, (h[0] >> 4) % (int)NCODECS,
                          (h[1] & 15) % (int)NCODECS, 0};
    int srtp0 = (h[1] >> 4) & 1;
    static const int plcs[4] = {0, -1, 20, 1000};
    render_opts opts = {.rate = (h[1] & 0x20) ? 16000 : 0,
                        .no_vad = (h[1] >> 6) & 1,
                        .hold_ms = (h[1] & 0x80) ? 20 : 0,
                        .plc_ms = plcs[h[2] >> 6]};
    int64_t dur_us = ((int64_t)(h[2] & 63) + 1) * 2500 + 17;
    int64_t end_us = INVITE_US + dur_us;

    callinfo *ci = call_for(cidx, srtp0);
    ci->end_us = end_us;
    ci->duration_us = dur_us;

    /* call.pcap */
    buf pc = {0};
    uint8_t gh[24];
    put32(gh, 0xa1b2c3d4u);
    gh[4] = 2, gh[5] = 0, gh[6] = 4, gh[7] = 0;  /* version 2.4, host order */
    if (*(const uint8_t *)&(uint16_t){1} == 0) { /* big-endian host */
        gh[4] = 0, gh[5] = 2, gh[6] = 0, gh[7] = 4;
    }
    put32(gh + 8, 0);
    put32(gh + 12, 0);
    put32(gh + 16, 65535);
    put32(gh + 20, (h[3] & 2) ? 1 : 101); /* LINKTYPE_ETHERNET / LINKTYPE_RAW */
    put_bytes(&pc, gh, sizeof gh);
    uint64_t now = (uint64_t)INVITE_US - 20000;
    uint16_t seq[NSTREAMS] = {100, 65000, 7, 300};
    uint32_t ts[NSTREAMS] = {1000, 0xffffe000u, 5, 77};
    static uint8_t pay[12 + 1400];
    for (int k = 0; k < MAX_PACKETS && left > 0; k++) {
        uint8_t b[7] = {0};
        size_t take = left < 7 ? left : 7;
        memcpy(b, p, take);
        p += take;
        left -= take;
        int ti = b[0] & 7, raw = ti >= 5;
        if (raw)
            ti -= 4;
        int si = ti < NSTREAMS ? ti : 0;
        uint64_t step = (uint64_t)b[1] * 500;
        if (b[0] & 0x40)
            now = now > step ? now - step : 0;
        else
            now += step;
        size_t n = b[6] == 255 ? 1400 : b[6];
        size_t have = n < left ? n : left;
        uint8_t *body = raw ? pay : pay + 12;
        memcpy(body, p, have);
        memset(body + have, 0x55, n - have);
        p += have;
        left -= have;
        if (!raw) {
            seq[si] = (uint16_t)(seq[si] + (uint16_t)(int8_t)b[2]);
            ts[si] += (uint32_t)(int32_t)(int16_t)((b[3] << 8) | b[4]);
            static const uint32_t other[2] = {0x0badf00du, 0};
            int sel = (b[0] >> 4) & 3;
            uint32_t ssrc = sel < 2 ? tuples[ti].ssrc[sel] : other[sel - 2];
            int sp = b[5] & 3;
            int pt = sp == 0 ? codecs[cidx[si]].pt : sp == 1 ? 101 : sp == 2 ? 13 : (b[5] >> 2) * 2;
            pay[0] = 0x80;
            pay[1] = (uint8_t)((b[0] & 8 ? 0x80 : 0) | pt);
            be16(pay + 2, seq[si]);
            be32(pay + 4, ts[si]);
            be32(pay + 8, ssrc);
            n += 12;
        }
        put_frame(&pc, h[3] & 2, now, &tuples[ti], b[0] >> 7, pay, n);
        if (now > (uint64_t)end_us + 500000)
            break; /* the capture has ended: bounds the decoding work of a run */
    }
    if ((h[3] & 1) && pc.len > 24 + 16)
        pc.len -= 5;

    check(ftruncate(memfd, 0) == 0);
    check(pwrite(memfd, pc.p, pc.len, 0) == (ssize_t)pc.len);
    free(pc.p);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);

    render_result *res = NULL;
    char err[256];
    int rc = render_call(ci, path, &opts, &res, err, sizeof err);
    if (rc != CS_OK) {
        fprintf(stderr, "fuzz_render: render_call: %s: %s\n", cs_err_name(rc), err);
        abort();
    }
    check(res->rate == 8000 || res->rate == 16000);
    if (opts.rate == 16000)
        check(res->rate == 16000);
    check(res->frames == (size_t)(((uint64_t)dur_us * (uint64_t)res->rate + 500000) / 1000000));
    check(res->ch1 && res->ch2);
    check(res->nstreams == NSTREAMS && res->streams);
    check(res->streams[3].channel == 0 && res->streams[3].packets == 0);
    check(res->streams[0].channel == 1 && res->streams[1].channel == 2 &&
          res->streams[2].channel == 2);
    uint64_t pk = 0, chpk[3] = {0, 0, 0}, chdec[3] = {0, 0, 0};
    for (size_t i = 0; i < res->nstreams; i++) {
        const render_stream *st = &res->streams[i];
        if (verbose)
            fprintf(stderr,
                    "stream %zu ch %d packets %llu decoded %llu concealed %llu fec %llu: %s\n", i,
                    st->channel, (unsigned long long)st->packets, (unsigned long long)st->decoded,
                    (unsigned long long)st->concealed, (unsigned long long)st->fec, st->reason);
        check(st->index == (int)i);
        check(st->channel >= 0 && st->channel <= 2);
        chpk[st->channel] += st->packets;
        chdec[st->channel] += st->decoded;
        check(memchr(st->reason, 0, sizeof st->reason) != NULL);
        pk += st->packets;
    }
    /* decoded <= packets holds per channel, not per stream: the decode callback
     * finds its stream by SSRC within the channel (render.c's ssrc map), so one
     * SSRC sent on the 4-tuples of streams 1 and 2 is counted in the packets
     * of each but decoded as the stream that used the SSRC first. */
    check(chdec[1] <= chpk[1] && chdec[2] <= chpk[2] && chdec[0] == 0);
    if (srtp0)
        check(res->streams[0].decoded == 0);
    check(pk == res->rtp_packets && res->rtp_packets <= res->pcap_frames);
    if (opts.no_vad)
        check(res->nsegments == 0);
    for (size_t i = 0; i < res->nsegments; i++) {
        const vad_segment *sg = &res->segments[i];
        check(sg->channel == 1 || sg->channel == 2);
        check(sg->start_ms >= 0 && sg->end_ms > sg->start_ms && sg->end_ms <= dur_us / 1000 + 1);
    }
    render_free(res);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    verbose = getenv("FUZZ_RENDER_VERBOSE") != NULL;
    memfd = memfd_create("call.pcap", 0);
    check(memfd >= 0);
    return 0;
}
