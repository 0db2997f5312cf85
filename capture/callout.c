/*
 * callout.c — call.pcap streaming and call.json rendering (see callout.h).
 *
 * The pcap writer is the classic format, little-endian as written by the
 * host (readers detect the byte order from the magic), so the file opens in
 * Wireshark and libpcap without any conversion. The JSON document follows
 * docs/call-json.md field by field; optional values are null rather than
 * absent, so readers never have to guess.
 */
#include "callout.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "json.h"

/* ---- call.pcap --------------------------------------------------------- */

/* Marks the pcap failed (once), counting it. */
static int pcap_fail(call_pcap *pc, int rc)
{
    if (!pc->failed) {
        pc->failed = 1;
        pc->write_errors++;
    }
    return rc;
}

/* Queues the block being filled (pc->len bytes) and takes a fresh one, or
 * (take_next 0: the call's last block) writes it at once. Picks up a failure
 * of an earlier block written by the queue's thread. */
static int pcap_flush(wq *q, call_pcap *pc, int take_next)
{
    if (pc->failed)
        return CS_ERR_IO;
    if (pc->len == 0 || pc->out.fd < 0)
        return CS_OK;
    /* the last block of a call is written here and now (wq_submit_sync), the others queued */
    int rc = take_next ? wq_submit(q, &pc->out, pc->buf, pc->len)
                       : wq_submit_sync(q, &pc->out, pc->buf, pc->len);
    pc->buf = NULL;
    pc->len = 0;
    if (rc != CS_OK || wq_file_failed(&pc->out))
        return pcap_fail(pc, CS_ERR_IO);
    if (take_next) {
        pc->buf = wq_block(q);
        if (!pc->buf)
            return pcap_fail(pc, CS_ERR_NOMEM);
    }
    return CS_OK;
}

/*
 * Appends n bytes. The block is always filled to exactly CALLOUT_WBUF before
 * it is queued, so every write() but the last is CALLOUT_WBUF bytes at a
 * file offset that is a multiple of it: whole tmpfs/page-cache pages, which
 * the kernel takes markedly cheaper than the ~7 KB writes at odd offsets a
 * "flush when the next record does not fit" buffer makes (measured: 200 MB
 * into 1000 tmpfs files, 0.147 s of system time in 7000-byte writes, 0.113 s
 * in page-aligned 8192-byte ones). Records may straddle blocks; the file's
 * bytes are the same. Every byte goes through a block (even a frame larger
 * than one), so the queue sees the file's bytes in order.
 */
static int pcap_put(wq *q, call_pcap *pc, const void *p, size_t n)
{
    if (pc->failed)
        return CS_ERR_IO;
    if (n < CALLOUT_WBUF - pc->len) { /* the common case: it fits, room remains */
        memcpy(pc->buf + pc->len, p, n);
        pc->len += n;
        return CS_OK;
    }
    const uint8_t *s = p;
    while (n) {
        size_t room = CALLOUT_WBUF - pc->len;
        size_t k = n < room ? n : room;
        memcpy(pc->buf + pc->len, s, k);
        pc->len += k;
        s += k;
        n -= k;
        if (pc->len == CALLOUT_WBUF) {
            int rc = pcap_flush(q, pc, 1);
            if (rc != CS_OK)
                return rc;
        }
    }
    return CS_OK;
}

int callout_begin(call *c, spool *sp)
{
    if (c->pcap.entry)
        return CS_OK;
    return spool_begin(sp, c->uuid, &c->pcap.entry);
}

/* The 8 bytes of uint32_t a then b in host order, as one word. */
static inline uint64_t cat32(uint32_t a, uint32_t b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint64_t)a << 32 | b;
#else
    return (uint64_t)b << 32 | a;
#endif
}

int callout_frame(call *c, wq *q, uint64_t frame_no, int linktype, int snaplen, uint64_t ts_us,
                  const uint8_t *data, size_t caplen, size_t wire_len)
{
    call_pcap *pc = &c->pcap;
    if (pc->failed || !pc->entry)
        return pc->failed ? CS_ERR_IO : CS_OK;
    if (frame_no && pc->last_frame == frame_no)
        return CS_OK;
    pc->last_frame = frame_no;
    if (pc->linktype < 0) {
        pc->buf = wq_block(q);
        if (!pc->buf)
            return pcap_fail(pc, CS_ERR_NOMEM);
        int fd = -1;
        int rc = spool_open_fd(pc->entry, "call.pcap", &fd);
        if (rc != CS_OK)
            return pcap_fail(pc, rc);
        wq_file_init(&pc->out, fd);
        pc->linktype = linktype;
        uint32_t hdr[6] = {0xa1b2c3d4u, 2u | (4u << 16), 0, 0,
                           (uint32_t)(snaplen > 0 ? snaplen : 262144), (uint32_t)linktype};
        rc = pcap_put(q, pc, hdr, sizeof hdr);
        if (rc != CS_OK)
            return rc;
    }
    if (linktype != pc->linktype) {
        pc->skipped_linktype++;
        return CS_OK;
    }
    uint32_t rec[4] = {(uint32_t)(ts_us / 1000000u), (uint32_t)(ts_us % 1000000u),
                       (uint32_t)caplen, (uint32_t)(wire_len < caplen ? caplen : wire_len)};
    if (pc->len + sizeof rec < CALLOUT_WBUF && caplen < CALLOUT_WBUF - pc->len - sizeof rec) {
        /* the common case: the record fits and room remains. The header
         * goes out as two 64-bit words built in registers (the same bytes
         * as rec): copying rec itself loaded 16 bytes just written as four
         * 4-byte stores, a load the store buffer cannot forward, which
         * waited for every older store of the frame to reach the cache
         * (two thirds of callout_frame's samples in bench/capture) */
        uint64_t w0 = cat32(rec[0], rec[1]), w1 = cat32(rec[2], rec[3]);
        memcpy(pc->buf + pc->len, &w0, sizeof w0);
        memcpy(pc->buf + pc->len + sizeof w0, &w1, sizeof w1);
        memcpy(pc->buf + pc->len + sizeof rec, data, caplen);
        pc->len += sizeof rec + caplen;
    } else {
        int rc = pcap_put(q, pc, rec, sizeof rec);
        if (rc == CS_OK)
            rc = pcap_put(q, pc, data, caplen);
        if (rc != CS_OK)
            return rc;
    }
    pc->frames++;
    pc->bytes += caplen;
    /* The call's next frame lands here, about one frame of every open call
     * later: ask for those lines now, for writing, so the copy does not
     * wait for them then (with 1000 calls, a block's next lines are
     * otherwise always cold, and the copy's stores stalled the loop). */
    if (pc->buf && pc->len + 256 <= CALLOUT_WBUF) {
        const uint8_t *next = pc->buf + pc->len;
        __builtin_prefetch(next, 1, 3);
        __builtin_prefetch(next + 64, 1, 3);
        __builtin_prefetch(next + 128, 1, 3);
        __builtin_prefetch(next + 192, 1, 3);
    }
    return CS_OK;
}

void callout_abort(call *c, wq *q)
{
    wq_wait(q, &c->pcap.out); /* before the entry closes the descriptor */
    spool_abort(c->pcap.entry);
    c->pcap.entry = NULL;
    c->pcap.out.fd = -1;
    wq_put(q, c->pcap.buf);
    c->pcap.buf = NULL;
}

/* ---- call.json --------------------------------------------------------- */

static void addr_text(const call_addr *a, char *buf, size_t cap)
{
    if (!a->family || !inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->ip, buf, (socklen_t)cap))
        snprintf(buf, cap, "?");
}

static void kv_us(json_w *w, const char *key, uint64_t us)
{
    json_key(w, key);
    if (us)
        json_uint(w, us);
    else
        json_null(w);
}

static void kv_str_or_null(json_w *w, const char *key, const char *s)
{
    json_key(w, key);
    if (s && *s)
        json_str(w, s);
    else
        json_null(w);
}

static void write_event(json_w *w, const call_event *e)
{
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], dir[2 * INET6_ADDRSTRLEN + 32];
    addr_text(&e->src, s, sizeof s);
    addr_text(&e->dst, d, sizeof d);
    if (e->src.family == 6)
        snprintf(dir, sizeof dir, "[%s]:%u->[%s]:%u", s, e->src.port, d, e->dst.port);
    else
        snprintf(dir, sizeof dir, "%s:%u->%s:%u", s, e->src.port, d, e->dst.port);
    json_obj_begin(w);
    json_kv_uint(w, "at_us", e->at_us);
    json_kv_str(w, "dir", dir);
    json_key(w, "method");
    if (e->status)
        json_null(w);
    else
        json_str(w, sip_method_name((sip_method)e->method));
    json_key(w, "status");
    if (e->status)
        json_int(w, e->status);
    else
        json_null(w);
    json_kv_uint(w, "cseq", e->cseq);
    json_kv_str(w, "cseq_method", sip_method_name((sip_method)e->cseq_method));
    json_kv_bool(w, "sdp", e->sdp);
    json_key(w, "dir_attr");
    if (e->dir_attr >= 0)
        json_str(w, sdp_dir_name((sdp_dir)e->dir_attr));
    else
        json_null(w);
    json_obj_end(w);
}

static void write_leg(json_w *w, const call_leg *l, const callout_info *info)
{
    static const char *const roles[] = {"inbound", "agent", "other"};
    json_obj_begin(w);
    json_kv_uint(w, "index", l->index);
    json_kv_str(w, "role", roles[l->role]);
    json_key(w, "call_id");
    json_str_n(w, l->call_id, l->call_id_len);
    json_kv_str(w, "from_tag", l->from_tag);
    json_kv_str(w, "to_tag", l->to_tag);
    json_kv_str(w, "from_user", l->from_user);
    json_kv_str(w, "to_user", l->to_user);
    json_kv_str(w, "ruri_user", l->ruri_user);
    kv_str_or_null(w, "agent_ext", l->role == CALL_ROLE_AGENT || l->answer_us ? l->agent_ext : NULL);
    json_kv_str(w, "transport", l->tcp ? "tcp" : "udp");
    json_kv_int(w, "family", l->family == 6 ? 6 : 4);
    json_key(w, "vlan");
    json_arr_begin(w);
    for (int i = 0; i < l->nvlan && i < 2; i++)
        json_uint(w, l->vlan[i]);
    json_arr_end(w);
    json_key(w, "correlated_by");
    if (l->corr_hdr >= 0 && (size_t)l->corr_hdr < info->ncorr_headers)
        json_str(w, info->corr_headers[l->corr_hdr]);
    else
        json_null(w);
    kv_us(w, "invite_us", l->invite_us);
    kv_us(w, "ringing_us", l->ringing_us);
    kv_us(w, "answer_us", l->answer_us);
    kv_us(w, "end_us", l->ended_us);
    json_key(w, "final_status");
    if (l->final_status)
        json_int(w, l->final_status);
    else
        json_null(w);
    json_key(w, "ended_by");
    json_str(w, call_leg_ender_name(l->ended_by));
    json_key(w, "q850_cause");
    if (l->q850 >= 0)
        json_int(w, l->q850);
    else
        json_null(w);
    kv_str_or_null(w, "sip_reason", l->sip_reason);
    json_kv_uint(w, "sip_messages", l->sip_messages);
    json_kv_uint(w, "retransmissions", l->retransmissions);
    json_key(w, "events");
    json_arr_begin(w);
    for (unsigned i = 0; i < l->nevents; i++)
        write_event(w, &l->events[i]);
    json_arr_end(w);
    json_kv_uint(w, "events_dropped", l->events_dropped);
    json_obj_end(w);
}

static void write_stream(json_w *w, const call *c, const call_stream *s)
{
    char buf[INET6_ADDRSTRLEN], hex[16];
    json_obj_begin(w);
    json_kv_uint(w, "index", s->index);
    json_kv_uint(w, "leg", s->leg);
    json_kv_str(w, "direction", call_dir_name(s->dir));
    snprintf(hex, sizeof hex, "0x%08" PRIx32, s->nssrcs ? s->ssrcs[0] : 0);
    json_kv_str(w, "ssrc", hex);
    json_key(w, "ssrcs");
    json_arr_begin(w);
    for (unsigned i = 0; i < s->nssrcs; i++) {
        snprintf(hex, sizeof hex, "0x%08" PRIx32, s->ssrcs[i]);
        json_str(w, hex);
    }
    json_arr_end(w);
    addr_text(&s->src, buf, sizeof buf);
    json_kv_str(w, "src", buf);
    json_kv_uint(w, "src_port", s->src.port);
    addr_text(&s->dst, buf, sizeof buf);
    json_kv_str(w, "dst", buf);
    json_kv_uint(w, "dst_port", s->dst.port);
    json_key(w, "payload_types");
    json_arr_begin(w);
    for (unsigned i = 0; i < s->npts; i++)
        json_uint(w, s->pts[i].pt);
    json_arr_end(w);
    int pt, clock;
    const char *enc;
    call_stream_codec(c, s, &pt, &enc, &clock);
    kv_str_or_null(w, "codec", enc);
    json_key(w, "codec_pt");
    if (pt >= 0)
        json_int(w, pt);
    else
        json_null(w);
    json_key(w, "clock_rate");
    if (clock > 0)
        json_int(w, clock);
    else
        json_null(w);
    int channels, srtp;
    call_stream_format(c, s, &channels, &srtp);
    json_key(w, "channels");
    if (channels > 0)
        json_int(w, channels);
    else
        json_null(w);
    json_kv_bool(w, "srtp", srtp);
    json_key(w, "telephone_event_pt");
    if (s->te_pt >= 0)
        json_int(w, s->te_pt);
    else
        json_null(w);
    const rtp_stream_stats *st = &s->st;
    json_kv_uint(w, "packets", st->packets);
    json_kv_uint(w, "bytes", st->bytes);
    json_kv_uint(w, "expected", st->expected);
    json_kv_uint(w, "lost", st->lost);
    json_kv_uint(w, "duplicates", st->duplicates);
    json_kv_uint(w, "out_of_order", st->out_of_order);
    json_kv_double(w, "jitter_ms", st->jitter_ms);
    json_kv_double(w, "max_jitter_ms", st->max_jitter_ms);
    json_kv_double(w, "max_gap_ms", (double)st->max_gap_us / 1000.0);
    json_kv_uint(w, "ssrc_changes", st->ssrc_changes);
    kv_us(w, "first_us", st->first_us);
    kv_us(w, "last_us", st->last_us);
    json_key(w, "rtcp");
    json_obj_begin(w);
    json_kv_uint(w, "packets", s->rtcp.packets);
    json_kv_uint(w, "sr", s->rtcp.sr);
    json_kv_uint(w, "rr", s->rtcp.rr);
    json_key(w, "last_fraction_lost");
    if (s->rtcp.have_rb)
        json_uint(w, s->rtcp.fraction_lost);
    else
        json_null(w);
    json_key(w, "last_cumulative_lost");
    if (s->rtcp.have_rb)
        json_int(w, s->rtcp.cumulative_lost);
    else
        json_null(w);
    json_key(w, "last_jitter");
    if (s->rtcp.have_rb)
        json_uint(w, s->rtcp.jitter);
    else
        json_null(w);
    json_obj_end(w);
    json_obj_end(w);
}

int callout_json(const call *c, const callout_info *info, char **out, size_t *len)
{
    json_w *w = json_w_new(1, CALLOUT_JSON_MAX);
    if (!w)
        return CS_ERR_NOMEM;
    const call_leg *l0 = c->nlegs ? c->legs[0] : NULL;

    json_obj_begin(w);
    json_kv_str(w, "format", "callscope-call");
    json_kv_int(w, "version", 1);
    json_kv_str(w, "uuid", c->uuid);
    json_kv_str(w, "probe", info->probe ? info->probe : "");
    json_key(w, "call_id");
    if (l0)
        json_str_n(w, l0->call_id, l0->call_id_len);
    else
        json_null(w);
    kv_us(w, "invite_us", c->invite_us);
    kv_us(w, "ringing_us", l0 ? l0->ringing_us : 0);
    kv_us(w, "answer_us", c->answer_us);
    kv_us(w, "end_us", c->end_us);
    json_kv_uint(w, "duration_us", c->end_us - c->invite_us);
    json_kv_str(w, "outcome", call_outcome_name(c->outcome));
    kv_us(w, "abandon_us", c->abandon_us);
    json_key(w, "ended_by");
    json_str(w, call_ender_name(c->ended_by));
    json_key(w, "end_reason");
    json_str(w, call_end_reason_name(c->end_reason));
    json_key(w, "final_status");
    if (l0 && l0->final_status)
        json_int(w, l0->final_status);
    else
        json_null(w);
    /* Reason of the inbound leg, else of the first leg that has one. */
    int q850 = -1;
    const char *reason = NULL;
    for (unsigned i = 0; i < c->nlegs; i++) {
        if (q850 < 0 && c->legs[i]->q850 >= 0)
            q850 = c->legs[i]->q850;
        if (!reason && c->legs[i]->sip_reason[0])
            reason = c->legs[i]->sip_reason;
    }
    json_key(w, "q850_cause");
    if (q850 >= 0)
        json_int(w, q850);
    else
        json_null(w);
    kv_str_or_null(w, "sip_reason", reason);
    json_kv_str(w, "ani", l0 ? l0->from_user : "");
    json_kv_str(w, "dnis", l0 ? (l0->to_user[0] ? l0->to_user : l0->ruri_user) : "");

    /* agents, in answer order */
    json_key(w, "agents");
    json_arr_begin(w);
    {
        const call_leg *order[CALL_MAX_LEGS];
        unsigned n = 0;
        int has_agents = 0;
        for (unsigned i = 0; i < c->nlegs; i++)
            if (c->legs[i]->role == CALL_ROLE_AGENT)
                has_agents = 1;
        for (unsigned i = 0; i < c->nlegs; i++) {
            const call_leg *l = c->legs[i];
            if (!l->answer_us || (has_agents ? l->role != CALL_ROLE_AGENT : i != 0))
                continue;
            unsigned k = n++;
            while (k > 0 && order[k - 1]->answer_us > l->answer_us) {
                order[k] = order[k - 1];
                k--;
            }
            order[k] = l;
        }
        for (unsigned i = 0; i < n; i++)
            json_str(w, order[i]->agent_ext);
    }
    json_arr_end(w);

    json_key(w, "holds");
    json_arr_begin(w);
    for (unsigned i = 0; i < c->nholds; i++) {
        const call_hold *h = &c->holds[i];
        json_obj_begin(w);
        json_kv_uint(w, "start_us", h->start_us);
        kv_us(w, "end_us", h->end_us);
        json_kv_uint(w, "leg", h->leg);
        json_kv_str(w, "by", h->by_agent ? "agent" : "caller");
        json_obj_end(w);
    }
    json_arr_end(w);

    json_key(w, "transfers");
    json_arr_begin(w);
    for (unsigned i = 0; i < c->ntransfers; i++) {
        const call_transfer *t = &c->transfers[i];
        json_obj_begin(w);
        json_kv_uint(w, "at_us", t->at_us);
        json_kv_str(w, "kind", t->refer ? "refer" : "new_agent_leg");
        kv_str_or_null(w, "from", t->from);
        kv_str_or_null(w, "to", t->to);
        json_obj_end(w);
    }
    json_arr_end(w);

    json_key(w, "legs");
    json_arr_begin(w);
    for (unsigned i = 0; i < c->nlegs; i++)
        write_leg(w, c->legs[i], info);
    json_arr_end(w);

    json_key(w, "streams");
    json_arr_begin(w);
    for (unsigned i = 0; i < c->nstreams; i++)
        write_stream(w, c, &c->streams[i]);
    json_arr_end(w);
    json_kv_uint(w, "streams_refused", c->streams_refused);
    json_kv_uint(w, "rtp_refused", c->rtp_refused);

    json_key(w, "dtmf");
    json_arr_begin(w);
    for (unsigned i = 0; i < c->ndtmf; i++) {
        const call_dtmf *d = &c->dtmf[i];
        json_obj_begin(w);
        json_key(w, "digit");
        json_str_n(w, &d->digit, 1);
        json_kv_uint(w, "at_us", d->at_us);
        json_kv_uint(w, "duration_ms", d->duration_ms);
        json_kv_uint(w, "stream", d->stream);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_kv_uint(w, "dtmf_dropped", c->dtmf_dropped);

    json_key(w, "pcap");
    if (c->pcap.linktype >= 0 && c->pcap.out.fd >= 0) {
        json_obj_begin(w);
        json_kv_str(w, "file", "call.pcap");
        json_kv_uint(w, "frames", c->pcap.frames);
        json_kv_uint(w, "bytes", c->pcap.bytes);
        json_kv_int(w, "linktype", c->pcap.linktype);
        json_kv_uint(w, "skipped_linktype", c->pcap.skipped_linktype);
        json_kv_bool(w, "complete", !c->pcap.failed);
        json_obj_end(w);
    } else {
        json_null(w);
    }

    json_key(w, "counters");
    json_obj_begin(w);
    json_kv_uint(w, "sip_messages", c->sip_messages);
    json_kv_uint(w, "rtp_packets", c->rtp_packets);
    json_kv_uint(w, "rtcp_packets", c->rtcp_packets);
    json_kv_uint(w, "malformed", c->malformed);
    json_kv_uint(w, "media_dropped", c->media_dropped);
    json_obj_end(w);
    json_obj_end(w);

    int rc = json_w_error(w);
    if (rc == CS_OK) {
        *out = json_w_take(w, len);
        if (!*out)
            rc = CS_ERR_NOMEM;
    }
    json_w_free(w);
    return rc;
}

int callout_commit(call *c, spool *sp, wq *q, const callout_info *info)
{
    int rc = CS_OK;
    if (!c->pcap.entry) {
        rc = spool_begin(sp, c->uuid, &c->pcap.entry);
        if (rc != CS_OK) {
            c->pcap.entry = NULL;
            return rc;
        }
    }
    int prc = pcap_flush(q, &c->pcap, 0);
    wq_put(q, c->pcap.buf);
    c->pcap.buf = NULL;
    /* every block of call.pcap written before call.json says whether it is
     * complete, and before the commit closes the descriptor */
    if (wq_wait(q, &c->pcap.out) != CS_OK)
        prc = pcap_fail(&c->pcap, CS_ERR_IO);
    char *doc = NULL;
    size_t len = 0;
    rc = callout_json(c, info, &doc, &len);
    if (rc == CS_OK)
        rc = spool_add_file(c->pcap.entry, "call.json", doc, len);
    free(doc);
    if (rc != CS_OK) {
        callout_abort(c, q);
        return rc;
    }
    rc = spool_commit(c->pcap.entry);
    c->pcap.entry = NULL;
    c->pcap.out.fd = -1;
    if (rc == CS_OK && prc != CS_OK && c->pcap.linktype >= 0)
        rc = CS_OK; /* the pcap is marked incomplete in call.json; the entry stands */
    return rc;
}
