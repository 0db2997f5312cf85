/*
 * render.c — spool entry to two channels of PCM (see render.h).
 *
 * One pass over call.pcap: every frame advances both timelines to its
 * capture time; an RTP datagram of a rendered stream is pushed into its
 * channel's timeline; final samples are read as they become final. The
 * timeline calls back into decode_cb / conceal_cb with the packet's SSRC,
 * which a small per-channel table maps back to the callinfo stream.
 */
#include "render.h"

#include "codec.h"
#include "error.h"
#include "pkt.h"
#include "rtp.h"
#include "str.h"

#include <arpa/inet.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* ---- 8 -> 16 kHz interpolator ----------------------------------------------- */

#define UP2_BETA 7.0

static double bessel_i0(double x)
{
    double sum = 1, term = 1;
    for (int k = 1; k < 50; k++) {
        term *= (x / (2 * k)) * (x / (2 * k));
        sum += term;
        if (term < 1e-12 * sum)
            break;
    }
    return sum;
}

static void up2_init(render_up2 *u)
{
    const int K = RENDER_UP2_TAPS;
    double sum = 0;
    /* odd output 2c+1 sits between inputs c and c+1; tap j (0..2K-1) weighs
     * input c - K + 1 + j, at distance t = 2(j - K) + 1 half-samples */
    for (int j = 0; j < 2 * K; j++) {
        double t = 2.0 * (j - K) + 1.0;
        double x = 3.14159265358979323846 * t / 2.0;
        double sinc = sin(x) / x;
        double r = t / (2.0 * K);
        double w = bessel_i0(UP2_BETA * sqrt(fmax(0.0, 1.0 - r * r))) / bessel_i0(UP2_BETA);
        u->c[j] = sinc * w;
        sum += u->c[j];
    }
    for (int j = 0; j < 2 * K; j++)
        u->c[j] /= sum;
    u->init = 1;
}

static int16_t sat16(double v)
{
    v = v >= 0 ? v + 0.5 : v - 0.5;
    if (v > 32767)
        return 32767;
    if (v < -32768)
        return -32768;
    return (int16_t)v;
}

void render_up2_run(render_up2 *u, const int16_t *in, size_t n, int16_t *out)
{
    const int K = RENDER_UP2_TAPS;
    if (!u->init)
        up2_init(u);
    for (size_t i = 0; i < n; i++) {
        memmove(u->hist, u->hist + 1, (2 * K - 1) * sizeof(int16_t));
        u->hist[2 * K - 1] = in[i];
        /* centre c = hist[K - 1]; its odd neighbour uses hist[0 .. 2K-1] */
        double acc = 0;
        for (int j = 0; j < 2 * K; j++)
            acc += u->c[j] * u->hist[j];
        out[2 * i] = u->hist[K - 1];
        out[2 * i + 1] = sat16(acc);
    }
}

/* ---- per-stream state ------------------------------------------------------- */

enum { PT_UNKNOWN = 0, PT_AUDIO, PT_EVENT, PT_CN, PT_REFUSED };

typedef struct pt_slot {
    int state;
    int clock;
    dc_decoder *dec;
} pt_slot;

typedef struct sctx {
    const ci_stream *cs;
    render_stream *st;
    pt_slot pt[128];
    int last_audio_pt; /* -1 before the first audio packet */
    render_up2 up;
} sctx;

typedef struct rctx rctx;

typedef struct chctx {
    rctx *r;
    int ch; /* 0 or 1 */
} chctx;

#define TMP_SAMPLES (DC_MAX_PAYLOAD * 2 + 16)

struct rctx {
    const callinfo *ci;
    sctx *s;
    int rate;
    chctx ch[2];
    int16_t tmp[TMP_SAMPLES];
    int16_t tmp2[TMP_SAMPLES];
};

static void set_reason(render_stream *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_reason(render_stream *st, const char *fmt, ...)
{
    if (st->reason[0])
        return; /* the first reason stays */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->reason, sizeof st->reason, fmt, ap);
    va_end(ap);
}

/* Decides what payload type pt of stream s is (once). */
static pt_slot *classify(sctx *s, int pt)
{
    pt_slot *slot = &s->pt[pt & 127];
    if (slot->state != PT_UNKNOWN)
        return slot;
    const ci_stream *cs = s->cs;
    dc_codec_info info;
    char why[RENDER_REASON_MAX] = "";
    dc_kind kind;
    if (cs->srtp) {
        /* SRTP: the payload is ciphertext; decoding it would archive noise */
        slot->state = PT_REFUSED;
        set_reason(s->st, "SRTP (encrypted payload): not decodable without the keys");
        return slot;
    }
    if (cs->codec_pt == pt) {
        if (!cs->codec || cs->clock_rate == CI_NONE) {
            snprintf(why, sizeof why, "payload type %d has no codec in call.json", pt);
            kind = DC_KIND_UNSUPPORTED;
        } else {
            int channels = cs->channels != CI_NONE ? (int)cs->channels
                           : strcasecmp(cs->codec, "opus") == 0 ? 2
                                                                : 0;
            kind = dc_codec_lookup(cs_str_c(cs->codec), (int)cs->clock_rate, channels, CS_STR_NULL,
                                   &info, why, sizeof why);
        }
    } else if (cs->telephone_event_pt == pt) {
        slot->state = PT_EVENT;
        slot->clock = cs->clock_rate != CI_NONE ? (int)cs->clock_rate : 8000;
        return slot;
    } else if (pt < 96) {
        kind = dc_codec_static(pt, &info, why, sizeof why);
    } else {
        snprintf(why, sizeof why, "payload type %d never negotiated", pt);
        kind = DC_KIND_UNSUPPORTED;
    }
    if (kind == DC_KIND_UNSUPPORTED) {
        slot->state = PT_REFUSED;
        set_reason(s->st, "%s", why);
        return slot;
    }
    slot->clock = info.rtp_clock;
    if (kind == DC_KIND_TELEPHONE_EVENT) {
        slot->state = PT_EVENT;
        return slot;
    }
    slot->dec = dc_decoder_new(&info);
    if (!slot->dec) {
        slot->state = PT_REFUSED;
        set_reason(s->st, "decoder for %s/%d could not be created", info.name, info.rtp_clock);
        return slot;
    }
    slot->state = kind == DC_KIND_COMFORT_NOISE ? PT_CN : PT_AUDIO;
    return slot;
}

/* The render stream a timeline stream belongs to: tl_packet.source is the
 * call.json stream index, so two streams that happen to share an SSRC on one
 * channel are decoded each with its own decoders. */
static sctx *stream_of(chctx *c, const tl_stream_info *si)
{
    if (si->source < 0 || (size_t)si->source >= c->r->ci->nstreams)
        return NULL;
    return &c->r->s[si->source];
}

/* Copies n samples at rate `from` into pcm at the render rate. Returns the
 * count written or -1 when it does not fit. */
static int to_rate(rctx *r, sctx *s, int from, const int16_t *in, int n, int16_t *pcm, size_t cap)
{
    if (from == r->rate) {
        if ((size_t)n > cap)
            return -1;
        memcpy(pcm, in, (size_t)n * sizeof(int16_t));
        return n;
    }
    if (from * 2 != r->rate || (size_t)n * 2 > cap)
        return -1;
    render_up2_run(&s->up, in, (size_t)n, pcm);
    return 2 * n;
}

static int decode_cb(void *ctx, const tl_stream_info *si, const tl_packet *p, uint64_t at,
                     int16_t *pcm, size_t cap)
{
    (void)at;
    chctx *c = ctx;
    rctx *r = c->r;
    sctx *s = stream_of(c, si);
    if (!s)
        return 0;
    pt_slot *slot = &s->pt[p->pt & 127];
    if (slot->state == PT_EVENT) {
        s->st->not_audio++;
        return 0;
    }
    if (!slot->dec)
        return 0;
    int n = dc_decode(slot->dec, p->payload, p->payload_len, r->tmp, TMP_SAMPLES);
    if (slot->state == PT_CN) {
        s->st->not_audio++;
        s->last_audio_pt = p->pt; /* CN noise fills the following gap */
        return 0;
    }
    if (n < 0) {
        s->st->decode_errors++;
        return n;
    }
    s->last_audio_pt = p->pt;
    int w = to_rate(r, s, dc_decoder_info(slot->dec)->audio_rate, r->tmp, n, pcm, cap);
    if (w < 0) {
        s->st->decode_errors++;
        return CS_ERR_OVERFLOW;
    }
    if (w > 0)
        s->st->decoded++;
    return w;
}

static int conceal_cb(void *ctx, const tl_stream_info *si, const tl_packet *next, uint64_t at,
                      int16_t *pcm, size_t n)
{
    (void)at;
    chctx *c = ctx;
    rctx *r = c->r;
    sctx *s = stream_of(c, si);
    if (!s || s->last_audio_pt < 0)
        return -1;
    dc_decoder *d = s->pt[s->last_audio_pt].dec;
    if (!d)
        return -1;
    const dc_codec_info *info = dc_decoder_info(d);
    int from = info->audio_rate;
    if (from == 0)
        return -1;
    size_t need = from == r->rate ? n : (n + 1) / 2;
    if (need > TMP_SAMPLES / 2)
        return -1;
    int got;
    if (info->id == DC_CODEC_OPUS && next && next->pt == s->last_audio_pt) {
        got = dc_decode_fec(d, next->payload, next->payload_len, need, r->tmp, TMP_SAMPLES);
        if (got > 0)
            s->st->fec++;
    } else {
        got = dc_conceal(d, need, r->tmp, TMP_SAMPLES);
    }
    if (got < 0)
        return -1;
    s->st->concealed++;
    s->st->concealed_samples += n;
    if (from == r->rate) {
        memcpy(pcm, r->tmp, n * sizeof(int16_t));
        return 0;
    }
    if (to_rate(r, s, from, r->tmp, (int)need, r->tmp2, TMP_SAMPLES) < 0)
        return -1;
    memcpy(pcm, r->tmp2, n * sizeof(int16_t));
    return 0;
}

/* ---- packets -------------------------------------------------------------- */

static int addr_eq(const char *text, int family, const uint8_t *ip)
{
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, ip, buf, sizeof buf))
        return 0;
    return strcmp(buf, text) == 0;
}

/* The rendered stream this datagram belongs to, or -1. */
static int match_stream(const callinfo *ci, const render_stream *st, const pkt_info *pi,
                        uint32_t ssrc)
{
    int tuple = -1;
    for (size_t i = 0; i < ci->nstreams; i++) {
        const ci_stream *cs = &ci->streams[i];
        if (!st[i].channel || cs->src_port != pi->sport || cs->dst_port != pi->dport)
            continue;
        if (!addr_eq(cs->src, pi->family, pi->src) || !addr_eq(cs->dst, pi->family, pi->dst))
            continue;
        for (size_t k = 0; k < cs->nssrcs; k++)
            if (cs->ssrcs[k] == ssrc)
                return (int)i;
        if (tuple < 0)
            tuple = (int)i;
    }
    return tuple;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errcap, const char *fmt,
                                                      ...)
{
    if (err && errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int drain(tl_timeline *t, int16_t *buf, size_t *have, size_t total)
{
    *have += tl_read(t, buf + *have, total - *have);
    return 0;
}

int render_call(const callinfo *ci, const char *pcap_path, const render_opts *opts,
                render_result **out, char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    if (!ci || !pcap_path || !out)
        return CS_ERR_INVAL;
    *out = NULL;
    render_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    if (opts->rate != 0 && opts->rate != 8000 && opts->rate != 16000) {
        fail(err, errcap, "render rate %d: 0, 8000 or 16000", opts->rate);
        return CS_ERR_INVAL;
    }
    if (ci->invite_us == CI_NONE || ci->end_us == CI_NONE || ci->end_us <= ci->invite_us) {
        fail(err, errcap, "call.json: invite_us/end_us unknown or end not after invite");
        return CS_ERR_MALFORMED;
    }
    if ((uint64_t)(ci->end_us - ci->invite_us) > RENDER_MAX_DURATION_US) {
        fail(err, errcap, "call lasts %lld s, more than the %llu s rendered",
             (long long)((ci->end_us - ci->invite_us) / 1000000),
             (unsigned long long)(RENDER_MAX_DURATION_US / 1000000));
        return CS_ERR_LIMIT;
    }

    int rc = CS_OK;
    render_result *res = calloc(1, sizeof *res);
    rctx *r = calloc(1, sizeof *r);
    tl_timeline *tl[2] = {NULL, NULL};
    pcap_t *pc = NULL;
    if (!res || !r)
        goto nomem;
    res->nstreams = ci->nstreams;
    if (ci->nstreams) {
        res->streams = calloc(ci->nstreams, sizeof *res->streams);
        r->s = calloc(ci->nstreams, sizeof *r->s);
        if (!res->streams || !r->s)
            goto nomem;
    }
    r->ci = ci;
    /* channels and the render rate */
    int wide = 0;
    for (size_t i = 0; i < ci->nstreams; i++) {
        const ci_stream *cs = &ci->streams[i];
        render_stream *st = &res->streams[i];
        sctx *s = &r->s[i];
        s->cs = cs;
        s->st = st;
        s->last_audio_pt = -1;
        st->index = (int)i;
        st->channel = cs->dir == CI_DIR_CUSTOMER_TO_PBX   ? 1
                      : cs->dir == CI_DIR_PBX_TO_CUSTOMER ? 2
                                                          : 0;
        if (!st->channel) {
            set_reason(st, "not rendered: direction %s", cs->direction);
            continue;
        }
        if (cs->codec_pt == CI_NONE) {
            set_reason(st, "no audio payload type");
            continue;
        }
        pt_slot *slot = classify(s, (int)cs->codec_pt);
        if (slot->dec) {
            st->audio_rate = dc_decoder_info(slot->dec)->audio_rate;
            if (st->audio_rate == 16000)
                wide = 1;
        }
    }
    r->rate = wide || opts->rate == 16000 ? 16000 : 8000;
    res->rate = r->rate;

    tl_config cfg = {.invite_us = (uint64_t)ci->invite_us,
                     .end_us = (uint64_t)ci->end_us,
                     .rate = r->rate,
                     .hold_ms = opts->hold_ms,
                     .plc_ms = opts->plc_ms};
    for (int ch = 0; ch < 2; ch++) {
        r->ch[ch].r = r;
        r->ch[ch].ch = ch;
        tl_ops ops = {.decode = decode_cb, .conceal = conceal_cb, .ctx = &r->ch[ch]};
        rc = tl_new(&cfg, &ops, &tl[ch]);
        if (rc != CS_OK) {
            fail(err, errcap, "timeline: %s", cs_err_msg(rc));
            goto out;
        }
    }
    res->frames = (size_t)tl_total_samples(tl[0]);
    res->ch1 = calloc(res->frames + 1, sizeof(int16_t));
    res->ch2 = calloc(res->frames + 1, sizeof(int16_t));
    if (!res->ch1 || !res->ch2)
        goto nomem;
    size_t have[2] = {0, 0};

    char perr[PCAP_ERRBUF_SIZE] = "";
    pc = pcap_open_offline(pcap_path, perr);
    if (!pc) {
        fail(err, errcap, "%s: %s", pcap_path, perr);
        rc = CS_ERR_IO;
        goto out;
    }
    int linktype = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    int nr;
    uint64_t last_at = 0;
    while ((nr = pcap_next_ex(pc, &h, &data)) == 1) {
        res->pcap_frames++;
        if (h->ts.tv_sec < 0)
            continue;
        uint64_t at = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        if (at >= TL_MAX_TIME_US)
            continue;
        if (at > last_at)
            last_at = at;
        for (int ch = 0; ch < 2; ch++)
            tl_advance(tl[ch], last_at);
        pkt_info pi;
        int pr = pkt_decode(linktype, data, h->caplen, &pi);
        if (pr == PKT_FRAGMENT) {
            res->fragments++;
            continue;
        }
        if (pr != PKT_OK || pi.proto != PKT_PROTO_UDP)
            continue;
        rtp_hdr rh;
        if (rtp_parse(pi.payload, pi.payload_len, &rh) != CS_OK)
            continue;
        int si = match_stream(ci, res->streams, &pi, rh.ssrc);
        if (si < 0)
            continue;
        sctx *s = &r->s[si];
        render_stream *st = s->st;
        st->packets++;
        res->rtp_packets++;
        pt_slot *slot = classify(s, rh.pt);
        if (slot->state == PT_REFUSED) {
            st->refused++;
            continue;
        }
        tl_packet tp = {.arrival_us = at,
                        .ssrc = rh.ssrc,
                        .seq = rh.seq,
                        .ts = rh.ts,
                        .marker = rh.marker,
                        .pt = rh.pt,
                        .clock_rate = slot->clock > 0 ? slot->clock : 8000,
                        .event = slot->state == PT_EVENT,
                        .payload = rh.payload,
                        .payload_len = rh.payload_len,
                        .source = (int)si};
        int prc = tl_push(tl[st->channel - 1], &tp);
        if (prc == CS_ERR_NOMEM)
            goto nomem;
        drain(tl[0], res->ch1, &have[0], res->frames);
        drain(tl[1], res->ch2, &have[1], res->frames);
    }
    for (int ch = 0; ch < 2; ch++)
        tl_finish(tl[ch]);
    drain(tl[0], res->ch1, &have[0], res->frames);
    drain(tl[1], res->ch2, &have[1], res->frames);
    for (int ch = 0; ch < 2; ch++)
        res->tl[ch] = *tl_get_stats(tl[ch]);
    for (size_t i = 0; i < ci->nstreams; i++) {
        render_stream *st = &res->streams[i];
        if (st->channel && st->packets == 0 && !st->reason[0])
            set_reason(st, "no RTP packet of the stream in call.pcap");
    }

    if (!opts->no_vad) {
        vad_params vp;
        vad_params_default(&vp);
        vad_seglist segs = {0};
        rc = vad_run(&vp, r->rate, 1, res->ch1, res->frames, &segs);
        if (rc == CS_OK)
            rc = vad_run(&vp, r->rate, 2, res->ch2, res->frames, &segs);
        if (rc != CS_OK) {
            vad_seglist_free(&segs);
            fail(err, errcap, "vad: %s", cs_err_msg(rc));
            goto out;
        }
        res->segments = segs.v;
        res->nsegments = segs.len;
    }
    rc = CS_OK;
    goto out;

nomem:
    rc = CS_ERR_NOMEM;
    fail(err, errcap, "out of memory");
out:
    if (pc)
        pcap_close(pc);
    for (int ch = 0; ch < 2; ch++)
        tl_free(tl[ch]);
    if (r) {
        for (size_t i = 0; r->s && i < ci->nstreams; i++)
            for (int pt = 0; pt < 128; pt++)
                dc_decoder_free(r->s[i].pt[pt].dec);
        free(r->s);
        free(r);
    }
    if (rc != CS_OK) {
        render_free(res);
        return rc;
    }
    *out = res;
    return CS_OK;
}

int render_entry(const char *dir, const render_opts *opts, callinfo **ci_out, render_result **out,
                 char *err, size_t errcap)
{
    if (err && errcap)
        err[0] = '\0';
    if (!dir || !out)
        return CS_ERR_INVAL;
    *out = NULL;
    if (ci_out)
        *ci_out = NULL;
    char path[4096];
    int w = snprintf(path, sizeof path, "%s/call.json", dir);
    if (w < 0 || (size_t)w >= sizeof path - 16)
        return CS_ERR_INVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail(err, errcap, "%s: cannot open", path);
        return CS_ERR_IO;
    }
    size_t cap = 65536, len = 0;
    char *text = malloc(cap);
    int rc = CS_OK;
    while (text) {
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (len < cap)
            break;
        if (cap >= CALLINFO_MAX_BYTES) {
            rc = CS_ERR_LIMIT;
            break;
        }
        char *t = realloc(text, cap * 2);
        if (!t) {
            free(text);
            text = NULL;
            break;
        }
        text = t;
        cap *= 2;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (!text)
        return CS_ERR_NOMEM;
    if (rc != CS_OK || ioerr) {
        free(text);
        fail(err, errcap, "%s: %s", path, ioerr ? "read error" : "too large");
        return ioerr ? CS_ERR_IO : rc;
    }
    callinfo *ci = NULL;
    callinfo_error cerr;
    rc = callinfo_parse(text, len, &ci, &cerr);
    free(text);
    if (rc != CS_OK) {
        fail(err, errcap, "call.json %s", cerr.msg);
        return rc;
    }
    snprintf(path, sizeof path, "%s/call.pcap", dir);
    rc = render_call(ci, path, opts, out, err, errcap);
    if (rc != CS_OK || !ci_out)
        callinfo_free(ci);
    else
        *ci_out = ci;
    return rc;
}

void render_free(render_result *r)
{
    if (!r)
        return;
    free(r->ch1);
    free(r->ch2);
    free(r->streams);
    free(r->segments);
    free(r);
}
