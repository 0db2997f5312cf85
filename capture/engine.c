/*
 * engine.c — the capture engine (interface and data flow in engine.h; the
 * call rules in call.c and docs/capture-calls.md).
 *
 * Per frame: pkt_decode -> (ipfrag) -> UDP on a SIP port, or TCP through
 * tcpreasm, goes to the SIP path; any other UDP is looked up in the mediamap
 * by destination, then by source (symmetric RTP), and goes to its call's
 * RTP path. The SIP path finds the leg by Call-ID in a chained hash table
 * (keyed, randomly seeded hash), creates calls and legs from initial INVITEs
 * (joining a known call when a correlation header names a known Call-ID),
 * and appends the frame to the call's call.pcap. The RTP path is one
 * mediamap lookup, one short scan of the call's streams (at most
 * max_streams_per_call) and the statistics update: no allocation unless a
 * stream is created, no scan over calls.
 *
 * Time: packet time only. At most once per second of packet time (and on
 * ce_tick) one sweep over the open calls ends those whose legs all ended
 * more than linger_us ago, and applies rtp_timeout_us, setup_timeout_us and
 * max_call_us; the same sweep expires fragments and TCP flows.
 *
 * Frames written to call.pcap: a UDP SIP/RTP/RTCP frame as captured; for a
 * datagram completed by IP reassembly, one frame made of the completing
 * fragment's link-layer header followed by the whole reassembled datagram
 * (when it was not inside a tunnel; else the completing fragment as
 * captured); for SIP over TCP, the segment that completed the message
 * (earlier segments of a split message are not written).
 *
 * SECURITY: every byte is hostile. Parsing is done by the pure parsers; this
 * file only indexes what they return, and every index is capped: active
 * calls (max_calls), legs per call, streams per call, media keys per call,
 * fragment and TCP state (their own limits).
 *
 * BUGS: a crash loses the calls still open (their spool entries stay in
 * spool/tmp/ and are removed by spool_recover): see docs/capture-calls.md.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "call.h"
#include "callout.h"
#include "error.h"
#include "hpool.h"
#include "ipfrag.h"
#include "limits.h"
#include "log.h"
#include "mediamap.h"
#include "pkt.h"
#include "rtp.h"
#include "sdp.h"
#include "sip.h"
#include "tcpreasm.h"
#include "uuid.h"
#include "wq.h"

#define CE_SWEEP_US 1000000ULL   /* timeouts are checked once per second of packet time */
#define CE_MAX_L2 128            /* link-layer bytes kept in a rebuilt reassembled frame */
#define CE_INDEX_MIN 1024        /* initial Call-ID buckets */

struct capture_engine {
    ce_config cfg;               /* copy; its strings are borrowed */
    spool *sp;                   /* borrowed */
    capture_counters cnt;
    ipfrag *frag;
    tcpreasm *tcp;
    mediamap *mm;
    call_env env;
    wq *wq;                      /* call.pcap blocks (CALLOUT_WBUF bytes each) */
    hpool *calls;                /* every call's memory (huge-page chunks: hpool.h) */
    sip_msg *msg;                /* scratch for sip_parse (large) */
    sdp *sd;                     /* scratch for sdp_parse */
    callout_info info;
    /* Call-ID -> leg */
    call_leg **buckets;
    size_t nbuckets, nindexed;
    uint64_t seed;
    /* open calls, oldest first */
    call *head, *tail;
    uint64_t now_us, last_sweep_us;
    int have_time;
    /* the frame being processed (for call.pcap) */
    uint64_t frame_no;
    int cur_linktype;
    uint64_t cur_ts;
    const uint8_t *cur_data;
    size_t cur_caplen, cur_wire_len;
    const ce_ahead *cur_hint; /* the reader's look-ahead entry of this frame, or NULL */
    uint8_t *rebuild;            /* CE_MAX_L2 + CS_IP_MAX_DATAGRAM bytes */
    int frame_rc;                /* CS_ERR_IO when a spool write failed in this frame */
    uint64_t own_limit_hits;
    cs_log_ratelimit rl_spool, rl_limit;
};

void ce_config_defaults(ce_config *c)
{
    memset(c, 0, sizeof *c);
    c->probe = "probe";
    c->sip_ports[0] = 5060;
    c->nsip_ports = 1;
    c->sip_any_port = 0;
    c->correlation_headers[0] = "X-Orig-Call-ID";
    c->ncorrelation_headers = 1;
    c->max_calls = CS_DEF_MAX_CALLS;
    c->max_streams_per_call = CS_DEF_MAX_STREAMS_PER_CALL;
    c->frag_max_datagrams = CS_DEF_FRAG_MAX_DATAGRAMS;
    c->frag_max_bytes = CS_DEF_FRAG_MAX_BYTES;
    c->frag_timeout_us = (uint64_t)CS_DEF_FRAG_TIMEOUT_MS * 1000;
    c->tcp_max_flows = CS_DEF_TCP_MAX_FLOWS;
    c->tcp_max_flow_bytes = CS_DEF_TCP_MAX_FLOW_BYTES;
    c->tcp_idle_us = (uint64_t)CS_DEF_TCP_IDLE_MS * 1000;
    c->rtp_timeout_us = 60ULL * 1000000;
    c->setup_timeout_us = 300ULL * 1000000;
    c->max_call_us = 4ULL * 3600 * 1000000;
    c->linger_us = 2ULL * 1000000;
    c->write_pcap = 1;
    c->pcap_writer_thread = 1;
    c->snaplen = 262144;
}

/* ---- Call-ID index ----------------------------------------------------- */

static uint64_t cid_hash(const capture_engine *ce, const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ ce->seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ULL;
    h ^= h >> 32;
    return h;
}

static call_leg *index_find(const capture_engine *ce, cs_str id)
{
    if (id.len == 0 || id.len > CALL_ID_MAX)
        return NULL;
    uint64_t h = cid_hash(ce, id.p, id.len);
    for (call_leg *l = ce->buckets[h & (ce->nbuckets - 1)]; l; l = l->hnext)
        if (l->hash == h && l->call_id_len == id.len && memcmp(l->call_id, id.p, id.len) == 0)
            return l;
    return NULL;
}

static void index_add(capture_engine *ce, call_leg *l)
{
    if (ce->nindexed >= ce->nbuckets) {
        size_t nb = ce->nbuckets * 2;
        call_leg **nbk = calloc(nb, sizeof *nbk);
        if (nbk) { /* on ENOMEM the chains just get longer */
            for (size_t i = 0; i < ce->nbuckets; i++) {
                call_leg *k = ce->buckets[i];
                while (k) {
                    call_leg *next = k->hnext;
                    k->hnext = nbk[k->hash & (nb - 1)];
                    nbk[k->hash & (nb - 1)] = k;
                    k = next;
                }
            }
            free(ce->buckets);
            ce->buckets = nbk;
            ce->nbuckets = nb;
        }
    }
    l->hash = cid_hash(ce, l->call_id, l->call_id_len);
    call_leg **b = &ce->buckets[l->hash & (ce->nbuckets - 1)];
    l->hnext = *b;
    *b = l;
    ce->nindexed++;
}

static void index_del(capture_engine *ce, call_leg *l)
{
    for (call_leg **pp = &ce->buckets[l->hash & (ce->nbuckets - 1)]; *pp; pp = &(*pp)->hnext)
        if (*pp == l) {
            *pp = l->hnext;
            l->hnext = NULL;
            ce->nindexed--;
            return;
        }
}

/* ---- calls ------------------------------------------------------------- */

static void list_add(capture_engine *ce, call *c)
{
    c->prev = ce->tail;
    c->next = NULL;
    if (ce->tail)
        ce->tail->next = c;
    else
        ce->head = c;
    ce->tail = c;
}

static void list_del(capture_engine *ce, call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        ce->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        ce->tail = c->prev;
    c->prev = c->next = NULL;
}

static int finish_call(capture_engine *ce, call *c, call_end_reason reason, uint64_t end_us)
{
    call_conclude(c, reason, end_us);
    for (unsigned i = 0; i < c->nlegs; i++)
        index_del(ce, c->legs[i]);
    call_media_release(c, ce->mm);
    list_del(ce, c);
    ce->cnt.calls_active--;
    ce->cnt.calls_finished++;
    int rc = callout_commit(c, ce->sp, ce->wq, &ce->info);
    if (rc == CS_OK) {
        ce->cnt.spool_written++;
        cs_log(CS_LOG_DEBUG, c->uuid, "call done: %s, %s", call_outcome_name(c->outcome),
               call_end_reason_name(c->end_reason));
    } else {
        ce->cnt.spool_errors++;
        cs_log_rl(&ce->rl_spool, CS_LOG_ERROR, c->uuid, "call entry not written: %s",
                  cs_err_msg(rc));
        rc = CS_ERR_IO;
    }
    call_free(ce->calls, c);
    return rc;
}

static void sweep(capture_engine *ce, uint64_t now)
{
    const ce_config *cf = &ce->cfg;
    call *c = ce->head;
    while (c) {
        call *next = c->next;
        int rc = CS_OK;
        if (call_all_legs_ended(c)) {
            if (now >= c->all_ended_us + cf->linger_us)
                rc = finish_call(ce, c, CALL_END_NONE, 0);
        } else if (now >= c->invite_us + cf->max_call_us) {
            rc = finish_call(ce, c, CALL_END_MAX_DURATION, c->invite_us + cf->max_call_us);
        } else if (call_any_answered(c)) {
            if (now >= c->last_activity_us + cf->rtp_timeout_us)
                rc = finish_call(ce, c, CALL_END_RTP_TIMEOUT, c->last_activity_us);
        } else if (now >= c->last_activity_us + cf->setup_timeout_us) {
            rc = finish_call(ce, c, CALL_END_SETUP_TIMEOUT, c->last_activity_us);
        }
        if (rc != CS_OK)
            ce->frame_rc = rc;
        c = next;
    }
    ipfrag_expire(ce->frag, now);
    tcpreasm_expire(ce->tcp, now);
    ce->last_sweep_us = now;
}

static void advance(capture_engine *ce, uint64_t ts)
{
    if (!ce->have_time) {
        ce->have_time = 1;
        ce->now_us = ts;
        ce->last_sweep_us = ts;
        return;
    }
    if (ts > ce->now_us)
        ce->now_us = ts;
    if (ce->now_us >= ce->last_sweep_us + CE_SWEEP_US)
        sweep(ce, ce->now_us);
}

static void write_frame(capture_engine *ce, call *c)
{
    if (!ce->cfg.write_pcap || !ce->cur_data)
        return;
    int was_failed = c->pcap.failed;
    int rc = callout_frame(c, ce->wq, ce->frame_no, ce->cur_linktype, ce->cfg.snaplen, ce->cur_ts,
                           ce->cur_data, ce->cur_caplen, ce->cur_wire_len);
    if (rc != CS_OK && !was_failed) {
        ce->cnt.spool_errors++;
        ce->frame_rc = CS_ERR_IO;
        cs_log_rl(&ce->rl_spool, CS_LOG_ERROR, c->uuid, "call.pcap write failed: %s",
                  cs_err_msg(rc));
    }
}

static void limit_hit(capture_engine *ce, const char *what)
{
    ce->own_limit_hits++;
    cs_log_rl(&ce->rl_limit, CS_LOG_WARN, NULL, "limit reached: %s", what);
}

/* ---- SIP --------------------------------------------------------------- */

static void fill_pkt(const pkt_info *pi, uint64_t ts, call_pkt *p)
{
    memset(p, 0, sizeof *p);
    p->ts_us = ts;
    /* constant-size copies: inlined, no memcpy call per packet */
    if (pi->family == AF_INET6) {
        p->src.family = p->dst.family = 6;
        memcpy(p->src.ip, pi->src, 16);
        memcpy(p->dst.ip, pi->dst, 16);
    } else {
        p->src.family = p->dst.family = 4;
        memcpy(p->src.ip, pi->src, 4);
        memcpy(p->dst.ip, pi->dst, 4);
    }
    p->src.port = pi->sport;
    p->dst.port = pi->dport;
    p->tcp = pi->proto == PKT_PROTO_TCP;
    p->nvlan = pi->nvlan < 2 ? pi->nvlan : 2;
    memcpy(p->vlan, pi->vlan, sizeof p->vlan);
}

static int is_keepalive(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] != '\r' && d[i] != '\n' && d[i] != 0)
            return 0;
    return 1;
}

static call *new_call(capture_engine *ce, const sip_msg *m, uint64_t ts)
{
    if (ce->cnt.calls_active >= ce->cfg.max_calls) {
        ce->cnt.calls_refused++;
        limit_hit(ce, "max_calls");
        return NULL;
    }
    call *c = call_new(ce->calls, ts);
    if (!c)
        return NULL;
    if (uuid_call(ce->cfg.probe, m->call_id.p, m->call_id.len, ts, c->uuid) != CS_OK) {
        call_free(ce->calls, c);
        return NULL;
    }
    if (ce->cfg.write_pcap) {
        int rc = callout_begin(c, ce->sp);
        if (rc != CS_OK) {
            /* call.json is still attempted at the end; the pcap is lost. */
            c->pcap.failed = 1;
            ce->cnt.spool_errors++;
            ce->frame_rc = CS_ERR_IO;
            cs_log_rl(&ce->rl_spool, CS_LOG_ERROR, c->uuid, "spool entry not begun: %s",
                      cs_err_msg(rc));
        }
    }
    list_add(ce, c);
    ce->cnt.calls_started++;
    ce->cnt.calls_active++;
    return c;
}

static void on_sip(capture_engine *ce, const call_pkt *p, const uint8_t *data, size_t len)
{
    if (is_keepalive(data, len))
        return;
    sip_msg *m = ce->msg;
    if (sip_parse(data, len, m) != CS_OK) {
        ce->cnt.malformed++;
        ce->cnt.malformed_by[6]++;
        return;
    }
    ce->cnt.sip_messages++;
    if (m->is_request)
        ce->cnt.sip_requests++;
    else
        ce->cnt.sip_responses++;

    int initial_invite = m->is_request && m->method == SIP_METHOD_INVITE && m->to_tag.len == 0;
    call_leg *leg = index_find(ce, m->call_id);
    if (leg && initial_invite && leg->state == LEG_ENDED && call_all_legs_ended(leg->call)) {
        int same = m->cseq == leg->invite_cseq && m->from_tag.len == strlen(leg->from_tag) &&
                   memcmp(m->from_tag.p, leg->from_tag, m->from_tag.len) == 0;
        if (!same || p->ts_us >= leg->call->all_ended_us + ce->cfg.linger_us) {
            /* The Call-ID is reused by a new dialog: the old call is over. */
            int rc = finish_call(ce, leg->call, CALL_END_NONE, 0);
            if (rc != CS_OK)
                ce->frame_rc = rc;
            leg = NULL;
        }
    }
    call *c;
    if (leg) {
        c = leg->call;
    } else {
        if (!initial_invite || m->call_id.len == 0 || m->call_id.len > CALL_ID_MAX) {
            ce->cnt.sip_unmatched++;
            return;
        }
        c = NULL;
        int corr = -1;
        for (size_t i = 0; i < ce->cfg.ncorrelation_headers && !c; i++) {
            cs_str v = cs_str_trim(sip_header_get(m, ce->cfg.correlation_headers[i], 0));
            call_leg *k = index_find(ce, v);
            if (k && k->call->nlegs < CALL_MAX_LEGS) {
                c = k->call;
                corr = (int)i;
            }
        }
        int fresh = 0;
        if (!c) {
            c = new_call(ce, m, p->ts_us);
            if (!c)
                return;
            fresh = 1;
        }
        leg = call_add_leg(c, m, p, corr >= 0 ? CALL_ROLE_AGENT : CALL_ROLE_INBOUND, corr);
        if (!leg) {
            ce->cnt.sip_unmatched++;
            if (fresh) {
                list_del(ce, c);
                ce->cnt.calls_active--;
                ce->cnt.calls_started--;
                callout_abort(c, ce->wq);
                call_free(ce->calls, c);
            }
            return;
        }
        index_add(ce, leg);
    }
    unsigned flags = call_sip(c, leg, m, p, &ce->env, ce->sd);
    if (flags & CALL_SIP_SDP_BAD) {
        ce->cnt.malformed++;
        ce->cnt.malformed_by[6]++;
    }
    if (flags & CALL_SIP_MEDIA_LIMIT)
        limit_hit(ce, "media addresses");
    write_frame(ce, c);
}

static void tcp_msg(void *arg, uint64_t ts_us, const pkt_info *info, const uint8_t *msg,
                    size_t len)
{
    capture_engine *ce = arg;
    call_pkt p;
    fill_pkt(info, ts_us, &p);
    on_sip(ce, &p, msg, len);
}

/* ---- L4 dispatch ------------------------------------------------------- */

static int sip_port(const capture_engine *ce, uint16_t port)
{
    for (size_t i = 0; i < ce->cfg.nsip_ports; i++)
        if (ce->cfg.sip_ports[i] == port)
            return 1;
    return 0;
}

/* a == b for an address of the family (4 or 16 bytes), inline: the libc memcmp call
 * for these few bytes cost the read loop 7 % (bench/capture). */
static inline int addr_eq(int family, const uint8_t *a, const uint8_t *b)
{
    if (family == AF_INET) {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        return x == y;
    }
    uint64_t x[2], y[2];
    memcpy(x, a, 16);
    memcpy(y, b, 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

static void on_l4(capture_engine *ce, const pkt_info *pi, uint64_t ts)
{
    ce->cnt.decoded++;
    int sipp = sip_port(ce, pi->sport) || sip_port(ce, pi->dport);
    if (pi->proto == PKT_PROTO_TCP) {
        if (sipp || ce->cfg.sip_any_port) {
            int rc = tcpreasm_add(ce->tcp, ts, pi);
            if (rc == CS_ERR_LIMIT)
                ce->own_limit_hits++;
        }
        return;
    }
    if (pi->proto != PKT_PROTO_UDP)
        return;
    call_pkt p;
    if (sipp) {
        fill_pkt(pi, ts, &p);
        on_sip(ce, &p, pi->payload, pi->payload_len);
        return;
    }
    mm_value v;
    int reversed = 0;
    /* the look-ahead hashed this frame's destination already (when it is this key) */
    const ce_ahead *hn = ce->cur_hint;
    int hit = hn && hn->ok && hn->family == pi->family && hn->port == pi->dport &&
                      addr_eq(pi->family, hn->addr, pi->dst)
                  ? mediamap_get_hashed(ce->mm, hn->hash, pi->family, pi->dst, pi->dport, &v)
                  : mediamap_get(ce->mm, pi->family, pi->dst, pi->dport, &v);
    if (!hit) {
        if (!mediamap_get(ce->mm, pi->family, pi->src, pi->sport, &v)) {
            if (ce->cfg.sip_any_port && sip_looks_like(pi->payload, pi->payload_len)) {
                fill_pkt(pi, ts, &p);
                on_sip(ce, &p, pi->payload, pi->payload_len);
            } else {
                ce->cnt.rtp_unmatched++;
            }
            return;
        }
        reversed = 1;
    }
    call *c = v.owner;
    call_prefetch(c); /* overlaps the call's and its streams' cache misses */
    fill_pkt(pi, ts, &p);
    call_rtp_out out;
    call_rtp(c, &v, reversed, &p, pi->payload, pi->payload_len, &ce->env, &out);
    if (out.rtcp)
        ce->cnt.rtcp_packets++;
    else if (!out.malformed)
        ce->cnt.rtp_packets++;
    if (out.malformed) {
        ce->cnt.malformed++;
        ce->cnt.malformed_by[7]++;
    }
    if (out.new_stream)
        ce->cnt.streams++;
    if (out.refused == 2) {
        ce->cnt.streams_refused++;
        limit_hit(ce, "max_streams_per_call");
    }
    ce->cnt.dtmf_events += (uint64_t)out.dtmf;
    write_frame(ce, c);
}

/* ---- public ------------------------------------------------------------ */

capture_engine *ce_new(const ce_config *cfg, spool *sp, char *err, size_t errcap)
{
#define CE_BAD(...)                                  \
    do {                                             \
        if (err && errcap)                           \
            snprintf(err, errcap, __VA_ARGS__);      \
        return NULL;                                 \
    } while (0)
    if (!cfg || !sp)
        CE_BAD("no configuration or spool");
    if (cfg->nsip_ports > CE_MAX_SIP_PORTS)
        CE_BAD("too many SIP ports (at most %d)", CE_MAX_SIP_PORTS);
    if (cfg->ncorrelation_headers > CE_MAX_CORRELATION_HEADERS)
        CE_BAD("too many correlation headers (at most %d)", CE_MAX_CORRELATION_HEADERS);
    for (size_t i = 0; i < cfg->ncorrelation_headers; i++)
        if (!cfg->correlation_headers[i] || !cfg->correlation_headers[i][0])
            CE_BAD("correlation header %zu is empty", i + 1);
    if (cfg->max_calls == 0 || cfg->max_streams_per_call == 0)
        CE_BAD("max_calls and max_streams_per_call must be at least 1");
    if (cfg->max_streams_per_call > 1024)
        CE_BAD("max_streams_per_call is at most 1024");
    if (!cfg->probe || strlen(cfg->probe) > 255)
        CE_BAD("probe name missing or longer than 255 bytes");

    capture_engine *ce = calloc(1, sizeof *ce);
    if (!ce)
        CE_BAD("out of memory");
    ce->cfg = *cfg;
    ce->sp = sp;
    ipfrag_limits fl = {cfg->frag_max_datagrams, cfg->frag_max_bytes, cfg->frag_timeout_us};
    tcpreasm_limits tl = {cfg->tcp_max_flows, cfg->tcp_max_flow_bytes, cfg->tcp_idle_us, 0};
    size_t mm_max = cfg->max_calls > SIZE_MAX / CALL_MAX_MEDIA ? SIZE_MAX
                                                                : cfg->max_calls * CALL_MAX_MEDIA;
    ce->frag = ipfrag_new(&fl);
    ce->tcp = tcpreasm_new(&tl, tcp_msg, ce);
    ce->mm = mediamap_new(mm_max);
    ce->msg = malloc(sizeof *ce->msg);
    ce->sd = malloc(sizeof *ce->sd);
    ce->nbuckets = CE_INDEX_MIN;
    ce->buckets = calloc(ce->nbuckets, sizeof *ce->buckets);
    ce->rebuild = malloc(CE_MAX_L2 + CS_IP_MAX_DATAGRAM);
    ce->wq = wq_new(CALLOUT_WBUF, WQ_DEF_MAX_QUEUED, WQ_DEF_WAKE_BATCH, cfg->pcap_writer_thread);
    ce->calls = hpool_new(sizeof(call), _Alignof(call));
    if (!ce->frag || !ce->tcp || !ce->mm || !ce->msg || !ce->sd || !ce->buckets || !ce->rebuild ||
        !ce->wq || !ce->calls) {
        hpool_free(ce->calls);
        wq_free(ce->wq);
        ipfrag_free(ce->frag);
        tcpreasm_free(ce->tcp);
        mediamap_free(ce->mm);
        free(ce->msg);
        free(ce->sd);
        free(ce->buckets);
        free(ce->rebuild);
        free(ce);
        CE_BAD("out of memory");
    }
    if (getrandom(&ce->seed, sizeof ce->seed, GRND_NONBLOCK) != (ssize_t)sizeof ce->seed)
        ce->seed = (uint64_t)(uintptr_t)ce * 0x9e3779b97f4a7c15ULL;
    ce->env.mm = ce->mm;
    ce->env.max_streams = cfg->max_streams_per_call;
    ce->env.answer_needs_identity = cfg->answer_needs_identity;
    ce->info.probe = cfg->probe;
    ce->info.corr_headers = ce->cfg.correlation_headers;
    ce->info.ncorr_headers = cfg->ncorrelation_headers;
    cs_log_ratelimit rl = CS_LOG_RATELIMIT_INIT(10, 5);
    ce->rl_spool = rl;
    ce->rl_limit = rl;
    return ce;
#undef CE_BAD
}

static int ce_frame_one(capture_engine *ce, int linktype, uint64_t ts_us, const uint8_t *data,
                        size_t caplen, size_t wire_len);

int ce_frame(capture_engine *ce, int linktype, uint64_t ts_us, const uint8_t *data, size_t caplen,
             size_t wire_len)
{
    return ce_frame_hinted(ce, linktype, ts_us, data, caplen, wire_len, NULL);
}

int ce_frame_hinted(capture_engine *ce, int linktype, uint64_t ts_us, const uint8_t *data,
                    size_t caplen, size_t wire_len, const ce_ahead *hint)
{
    ce->cur_hint = hint;
    int rc = ce_frame_one(ce, linktype, ts_us, data, caplen, wire_len);
    ce->cur_hint = NULL;
    return rc;
}

static int ce_frame_one(capture_engine *ce, int linktype, uint64_t ts_us, const uint8_t *data,
                        size_t caplen, size_t wire_len)
{
    ce->frame_rc = CS_OK;
    ce->cnt.frames++;
    ce->cnt.bytes += wire_len;
    advance(ce, ts_us);
    ce->frame_no++;
    ce->cur_linktype = linktype;
    ce->cur_ts = ts_us;
    ce->cur_data = data;
    ce->cur_caplen = caplen;
    ce->cur_wire_len = wire_len;

    pkt_info pi;
    int r = pkt_decode(linktype, data, caplen, &pi);
    switch (r) {
    case PKT_OK:
        on_l4(ce, &pi, ts_us);
        break;
    case PKT_FRAGMENT: {
        const uint8_t *dg;
        size_t dlen;
        ce->cnt.fragments++;
        int rc = ipfrag_add(ce->frag, ts_us, &pi, &dg, &dlen);
        if (rc == 1) {
            ce->cnt.reassembled++;
            pkt_info full = pi;
            int r2 = pkt_decode_ip(dg, dlen, &full);
            if (r2 == PKT_OK) {
                size_t l2 = (pi.ip && pi.ip >= data) ? (size_t)(pi.ip - data) : CE_MAX_L2 + 1;
                if (pi.encap_depth == 0 && l2 <= CE_MAX_L2 && l2 <= caplen) {
                    memcpy(ce->rebuild, data, l2);
                    memcpy(ce->rebuild + l2, dg, dlen);
                    ce->cur_data = ce->rebuild;
                    ce->cur_caplen = ce->cur_wire_len = l2 + dlen;
                    /* the payload pointers must follow the copy */
                    ptrdiff_t shift = (ce->rebuild + l2) - dg;
                    full.ip = full.ip ? full.ip + shift : NULL;
                    full.payload = full.payload ? full.payload + shift : NULL;
                }
                on_l4(ce, &full, ts_us);
            } else if (r2 < 0) {
                ce->cnt.malformed++;
                ce->cnt.malformed_by[-r2]++;
            }
        } else if (rc == CS_ERR_LIMIT) {
            limit_hit(ce, "IP fragments");
        } else if (rc < 0 && rc != CS_ERR_NOMEM) {
            ce->cnt.malformed++;
            ce->cnt.malformed_by[-PKT_ERR_BAD_IP]++;
        }
        break;
    }
    case PKT_SKIP_L2: ce->cnt.skipped_l2++; break;
    case PKT_SKIP_L3: ce->cnt.skipped_l3++; break;
    case PKT_SKIP_SCTP: ce->cnt.skipped_sctp++; break;
    case PKT_SKIP_LINKTYPE: ce->cnt.skipped_linktype++; break;
    default:
        if (r < 0 && r >= PKT_ERR_ENCAP) {
            ce->cnt.malformed++;
            ce->cnt.malformed_by[-r]++;
        }
        break;
    }
    ce->cur_data = NULL;
    return ce->frame_rc;
}

/*
 * The UDP destination of a plain frame (Ethernet, at most one 802.1Q tag,
 * IPv4 without fragmentation or IPv6 without extension headers, then UDP),
 * read over (data, caplen) with every offset checked; 0 for anything else.
 * Only a hint for ce_prefetch: pkt_decode remains the decoder.
 */
static int peek_udp_dst(int linktype, const uint8_t *d, size_t n, int *family,
                        const uint8_t **addr, uint16_t *port)
{
    if (linktype != 1 /* DLT_EN10MB */ || n < 14)
        return 0;
    size_t off = 12;
    unsigned type = (unsigned)d[off] << 8 | d[off + 1];
    if (type == 0x8100) {
        if (n < 18)
            return 0;
        off += 4;
        type = (unsigned)d[off] << 8 | d[off + 1];
    }
    off += 2;
    size_t l4;
    if (type == 0x0800) {
        if (n < off + 20 || (d[off] >> 4) != 4 || d[off + 9] != 17 ||
            ((d[off + 6] & 0x3f) | d[off + 7]) != 0)
            return 0;
        *family = AF_INET;
        *addr = d + off + 16;
        l4 = off + (size_t)(d[off] & 0x0f) * 4;
    } else if (type == 0x86dd) {
        if (n < off + 40 || d[off + 6] != 17)
            return 0;
        *family = AF_INET6;
        *addr = d + off + 24;
        l4 = off + 40;
    } else {
        return 0;
    }
    if (n < l4 + 4)
        return 0;
    *port = (uint16_t)(d[l4 + 2] << 8 | d[l4 + 3]);
    return 1;
}

void ce_ahead_begin(const capture_engine *ce, int linktype, const uint8_t *data, size_t caplen,
                    ce_ahead *a)
{
    const uint8_t *addr;
    a->ok = 0;
    if (!peek_udp_dst(linktype, data, caplen, &a->family, &addr, &a->port))
        return;
    memcpy(a->addr, addr, a->family == AF_INET ? 4 : 16);
    if (!mediamap_key_hash(ce->mm, a->family, a->addr, a->port, &a->hash))
        return;
    a->ok = 1;
    mediamap_prefetch_hashed(ce->mm, a->hash);
}

void ce_ahead_step(const capture_engine *ce, const ce_ahead *a, int stage)
{
    mm_value v;
    if (!a->ok || stage < 1 || stage > 2 ||
        !mediamap_get_hashed(ce->mm, a->hash, a->family, a->addr, a->port, &v))
        return;
    const call *c = v.owner;
    if (stage == 1) {
        __builtin_prefetch(c);
        __builtin_prefetch(&c->pcap);
        return;
    }
    /* stage 2: the call's lines are here by now: the stream this frame will
     * most likely update (the call's hint for the leg and direction, as
     * call_rtp's stream_find reads it first; RTP sent to this address has
     * direction v.dir) and where the call's call.pcap block continues, the
     * next lines the frame will miss (the block's for writing) */
    unsigned dir = v.dir;
    if (v.leg < CALL_HINT_LEGS && dir >= CALL_DIR_CUSTOMER_TO_PBX && dir <= CALL_DIR_PBX_TO_AGENT) {
        unsigned h = c->stream_hint[v.leg][dir - 1];
        if (h && h <= c->nstreams) {
            /* every line call_rtp touches: the header, st's hot fields and
             * its seen_bits ring, and pts[0] (the count of the usual, first
             * payload type: the sixth line, which alone cost call_rtp 80 %
             * of its samples when it was left out) */
            _Static_assert(offsetof(call_stream, pts) + sizeof c->streams->pts[0] <= 6 * 64,
                           "call_stream: per-packet lines");
            const char *st = (const char *)&c->streams[h - 1];
            __builtin_prefetch(st);
            __builtin_prefetch(st + 64);
            __builtin_prefetch(st + 128);
            __builtin_prefetch(st + 192);
            __builtin_prefetch(st + 256);
            __builtin_prefetch(st + 320);
        }
    }
    const call_pcap *pc = &c->pcap;
    if (pc->buf && pc->len + 256 <= CALLOUT_WBUF) {
        const uint8_t *next = pc->buf + pc->len;
        __builtin_prefetch(next, 1, 3);
        __builtin_prefetch(next + 64, 1, 3);
        __builtin_prefetch(next + 128, 1, 3);
        __builtin_prefetch(next + 192, 1, 3);
    }
}

void ce_prefetch(const capture_engine *ce, int linktype, const uint8_t *data, size_t caplen,
                 int stage)
{
    ce_ahead a;
    ce_ahead_begin(ce, linktype, data, caplen, &a);
    if (stage > 0)
        ce_ahead_step(ce, &a, stage);
}

int ce_tick(capture_engine *ce, uint64_t now_us)
{
    ce->frame_rc = CS_OK;
    advance(ce, now_us);
    return ce->frame_rc;
}

int ce_finish(capture_engine *ce)
{
    if (!ce)
        return CS_OK;
    int first = CS_OK;
    while (ce->head) {
        call *c = ce->head;
        int rc = call_all_legs_ended(c)
                     ? finish_call(ce, c, CALL_END_NONE, 0)
                     : finish_call(ce, c, CALL_END_CAPTURE_STOPPED, c->last_activity_us);
        if (rc != CS_OK && first == CS_OK)
            first = rc;
    }
    wq_free(ce->wq); /* every call committed: nothing is queued; joins the writer */
    hpool_free(ce->calls); /* every call freed */
    ipfrag_free(ce->frag);
    tcpreasm_free(ce->tcp);
    mediamap_free(ce->mm);
    free(ce->msg);
    free(ce->sd);
    free(ce->buckets);
    free(ce->rebuild);
    free(ce);
    return first;
}

void ce_get_counters(const capture_engine *ce, capture_counters *out)
{
    *out = ce->cnt;
    ipfrag_stats fs;
    tcpreasm_stats ts;
    ipfrag_get_stats(ce->frag, &fs);
    tcpreasm_get_stats(ce->tcp, &ts);
    out->limit_hits = ce->own_limit_hits + fs.evicted + ts.evicted + ts.overflow;
}
