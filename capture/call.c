/*
 * call.c — the call model and the SIP dialog state machine (see call.h and
 * docs/capture-calls.md for the rules this implements).
 *
 * A leg goes INVITING -> (CANCELLING) -> CONFIRMED -> ENDED, or straight to
 * ENDED on a final non-2xx response. Who sent a message is decided by tags
 * first (a request whose From tag is the leg's From tag comes from the
 * caller; a response travels the other way) and by addresses when tags do
 * not decide (a message from the initial INVITE's source is the caller's).
 * That side decides the media direction of an SDP: RTP is sent TO the
 * address a side announced, so the caller's SDP of the inbound leg names the
 * pbx_to_customer stream and the callee's the customer_to_pbx stream; on an
 * agent leg the PBX is the caller: agent_to_pbx and pbx_to_agent.
 *
 * Retransmissions: the last CALL_SIGS (CSeq, method, status, side) tuples of
 * a leg are remembered; a message matching one makes no event and changes
 * no state (it is still written to call.pcap by the engine).
 *
 * SECURITY: every string here came off the wire; copies are truncated to the
 * fixed sizes of call.h, counts are capped, and SDP is parsed by sdp_parse
 * over the (pointer, length) body.
 *
 * BUGS: a Call-ID is one leg: forked 2xx responses with different To tags
 * are taken as the same leg (the first tag wins). A stream that carried two
 * interleaved SSRCs counts one SSRC change too many (the change is taken
 * before the old SSRC is seen again). Calls picked up mid-dialog (no INVITE
 * seen) are not followed.
 */
#include "call.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"

/* The layout call.h promises: per-packet fields in the first cache line,
 * call.pcap's per-frame fields in the second. */
_Static_assert(offsetof(call, pcap) == 64, "call: hot fields fit one cache line");
_Static_assert(offsetof(call_pcap, skipped_linktype) <= 64, "call_pcap: hot fields fit one line");

static const char *const dir_names[] = {"unknown", "customer_to_pbx", "pbx_to_customer",
                                        "agent_to_pbx", "pbx_to_agent"};

const char *call_dir_name(call_dir d)
{
    return (unsigned)d < sizeof dir_names / sizeof dir_names[0] ? dir_names[d] : "unknown";
}

const char *call_outcome_name(call_outcome o)
{
    static const char *const n[] = {"answered", "abandoned", "busy", "no_answer", "failed"};
    return (unsigned)o < sizeof n / sizeof n[0] ? n[o] : "failed";
}

const char *call_end_reason_name(call_end_reason r)
{
    static const char *const n[] = {NULL,           "bye",          "cancel",
                                    "rtp_timeout",  "setup_timeout", "max_duration",
                                    "capture_stopped", "final_response"};
    return (unsigned)r < sizeof n / sizeof n[0] ? n[r] : NULL;
}

const char *call_ender_name(call_ender e)
{
    static const char *const n[] = {NULL, "caller", "agent", "pbx", "timeout", "capture"};
    return (unsigned)e < sizeof n / sizeof n[0] ? n[e] : NULL;
}

const char *call_leg_ender_name(call_leg_ender e)
{
    static const char *const n[] = {NULL, "caller", "callee", "timeout", "capture"};
    return (unsigned)e < sizeof n / sizeof n[0] ? n[e] : NULL;
}

call_dir call_dir_reverse(call_dir d)
{
    switch (d) {
    case CALL_DIR_CUSTOMER_TO_PBX: return CALL_DIR_PBX_TO_CUSTOMER;
    case CALL_DIR_PBX_TO_CUSTOMER: return CALL_DIR_CUSTOMER_TO_PBX;
    case CALL_DIR_AGENT_TO_PBX: return CALL_DIR_PBX_TO_AGENT;
    case CALL_DIR_PBX_TO_AGENT: return CALL_DIR_AGENT_TO_PBX;
    default: return CALL_DIR_UNKNOWN;
    }
}

call *call_new(hpool *pool, uint64_t now_us)
{
    /* Cache-line aligned (see the layout in call.h). */
    call *c = pool ? hpool_get(pool) : aligned_alloc(_Alignof(call), sizeof(call));
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
    c->fmts_gen = 1;
    c->streams = c->streams_inline;
    c->capstreams = CALL_INLINE_STREAMS;
    c->hold_open = -1;
    c->invite_us = now_us;
    c->last_activity_us = now_us;
    wq_file_init(&c->pcap.out, -1);
    c->pcap.linktype = -1;
    return c;
}

void call_free(hpool *pool, call *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->nlegs; i++) {
        free(c->legs[i]->events);
        free(c->legs[i]);
    }
    if (c->streams != c->streams_inline)
        free(c->streams);
    free(c->dtmf);
    /* c->pcap.buf is a block of the write queue's chunks, given back by
     * callout_commit/callout_abort (never free()d on its own: wq.c) */
    if (pool)
        hpool_put(pool, c);
    else
        free(c);
}

size_t call_heap_bytes(const call *c)
{
    size_t n = sizeof *c;
    if (c->streams != c->streams_inline)
        n += (size_t)c->capstreams * sizeof(call_stream);
    if (c->dtmf)
        n += CALL_MAX_DTMF * sizeof(call_dtmf);
    if (c->pcap.buf)
        n += 8192;
    for (unsigned i = 0; i < c->nlegs; i++)
        n += sizeof(call_leg) + (size_t)c->legs[i]->capevents * sizeof(call_event);
    return n;
}

/* ---- small helpers ----------------------------------------------------- */

static void copy_str(char *dst, size_t cap, cs_str s)
{
    cs_str_copy(s, dst, cap);
}

/* A wire string against a stored (possibly truncated) copy. */
static int str_is(cs_str s, const char *stored)
{
    size_t n = strlen(stored);
    if (n == 0)
        return 0;
    if (s.len > CALL_TAG_MAX)
        s.len = CALL_TAG_MAX;
    return s.len == n && memcmp(s.p, stored, n) == 0;
}

static int addr_ip_eq(const call_addr *a, const call_addr *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, a->family == 6 ? 16 : 4) == 0;
}

static int addr_eq(const call_addr *a, const call_addr *b)
{
    return addr_ip_eq(a, b) && a->port == b->port;
}

/* 1 when the message was sent by the leg's caller (UAC of the initial INVITE). */
static int sent_by_caller(const call_leg *l, const sip_msg *m, const call_pkt *p)
{
    int req_by_caller = -1;
    if (str_is(m->from_tag, l->from_tag))
        req_by_caller = 1;
    else if (str_is(m->from_tag, l->to_tag))
        req_by_caller = 0;
    if (req_by_caller >= 0)
        return m->is_request ? req_by_caller : !req_by_caller;
    if (addr_eq(&p->src, &l->uac))
        return 1;
    if (addr_eq(&p->src, &l->uas))
        return 0;
    return addr_ip_eq(&p->src, &l->uac) && !addr_ip_eq(&p->src, &l->uas);
}

/* Direction of RTP sent TO the address announced by one side of a leg. */
static call_dir side_dir(call_role role, int caller_side)
{
    if (role == CALL_ROLE_AGENT)
        return caller_side ? CALL_DIR_AGENT_TO_PBX : CALL_DIR_PBX_TO_AGENT;
    return caller_side ? CALL_DIR_PBX_TO_CUSTOMER : CALL_DIR_CUSTOMER_TO_PBX;
}

/* The side (0 caller, 1 callee) that receives RTP of direction d. */
static int recv_side(call_dir d)
{
    return (d == CALL_DIR_PBX_TO_CUSTOMER || d == CALL_DIR_AGENT_TO_PBX) ? 0 : 1;
}

static int all_ended(const call *c)
{
    return c->nlegs > 0 && c->legs_ended == c->nlegs;
}

int call_all_legs_ended(const call *c)
{
    return all_ended(c);
}

int call_any_answered(const call *c)
{
    for (unsigned i = 0; i < c->nlegs; i++)
        if (c->legs[i]->answer_us)
            return 1;
    return 0;
}

static void leg_set_ended(call *c, call_leg *l, uint64_t ts, call_leg_ender by)
{
    if (l->state == LEG_ENDED)
        return;
    l->state = LEG_ENDED;
    l->ended_us = ts;
    l->ended_by = by;
    c->legs_ended++;
    if (all_ended(c))
        c->all_ended_us = ts;
}

/* ---- legs -------------------------------------------------------------- */

call_leg *call_add_leg(call *c, const sip_msg *m, const call_pkt *p, call_role role,
                       int corr_hdr)
{
    if (c->nlegs >= CALL_MAX_LEGS || m->call_id.len == 0 || m->call_id.len > CALL_ID_MAX)
        return NULL;
    call_leg *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->call = c;
    l->index = c->nlegs;
    l->role = role;
    l->corr_hdr = corr_hdr;
    memcpy(l->call_id, m->call_id.p, m->call_id.len);
    l->call_id_len = m->call_id.len;
    copy_str(l->from_tag, sizeof l->from_tag, m->from_tag);
    copy_str(l->from_user, sizeof l->from_user, m->from_user);
    copy_str(l->to_user, sizeof l->to_user, m->to_user);
    copy_str(l->ruri_user, sizeof l->ruri_user, m->ruri_user);
    l->tcp = p->tcp;
    l->family = p->src.family;
    l->nvlan = p->nvlan;
    memcpy(l->vlan, p->vlan, sizeof l->vlan);
    l->uac = p->src;
    l->uas = p->dst;
    l->invite_cseq = m->cseq;
    l->invite_us = p->ts_us;
    l->last_us = p->ts_us;
    l->state = LEG_INVITING;
    l->q850 = -1;
    l->fmts[0].te_pt = -1;
    l->fmts[1].te_pt = -1;
    c->legs[c->nlegs++] = l;
    c->fmts_gen++;
    if (c->nlegs == 1)
        c->invite_us = p->ts_us;
    return l;
}

static void leg_event(call_leg *l, const sip_msg *m, const call_pkt *p, int has_sdp, int dir_attr)
{
    if (l->nevents == l->capevents) {
        if (l->capevents >= CALL_MAX_EVENTS) {
            l->events_dropped++;
            return;
        }
        unsigned ncap = l->capevents ? l->capevents * 2 : 8;
        if (ncap > CALL_MAX_EVENTS)
            ncap = CALL_MAX_EVENTS;
        call_event *ne = realloc(l->events, ncap * sizeof *ne);
        if (!ne) {
            l->events_dropped++;
            return;
        }
        l->events = ne;
        l->capevents = ncap;
    }
    call_event *e = &l->events[l->nevents++];
    memset(e, 0, sizeof *e);
    e->at_us = p->ts_us;
    e->src = p->src;
    e->dst = p->dst;
    e->cseq = m->cseq;
    e->status = (int16_t)(m->is_request ? 0 : m->status);
    e->method = (uint8_t)(m->is_request ? m->method : 0);
    e->cseq_method = (uint8_t)m->cseq_method;
    e->sdp = (uint8_t)has_sdp;
    e->dir_attr = (int8_t)dir_attr;
}

/* 1 if this transaction step was seen already; remembers it otherwise. */
static int leg_retransmission(call_leg *l, const sip_msg *m, int from_caller)
{
    call_sig s = {m->cseq, (int16_t)(m->is_request ? 0 : m->status),
                  (uint8_t)(m->is_request ? m->method : 0), (uint8_t)m->cseq_method,
                  (uint8_t)from_caller};
    unsigned n = l->nsig < CALL_SIGS ? l->nsig : CALL_SIGS;
    for (unsigned i = 0; i < n; i++) {
        const call_sig *o = &l->sig[i];
        if (o->cseq == s.cseq && o->status == s.status && o->method == s.method &&
            o->cseq_method == s.cseq_method && o->from_caller == s.from_caller)
            return 1;
    }
    l->sig[l->nsig % CALL_SIGS] = s;
    l->nsig++;
    return 0;
}

static void leg_reason(call_leg *l, const sip_msg *m)
{
    if (m->reason_hdr.len) {
        int q = sip_q850_cause(m->reason_hdr);
        if (q >= 0)
            l->q850 = q;
        cs_str text;
        if (sip_param(m->reason_hdr, "text", &text)) {
            if (text.len >= 2 && text.p[0] == '"' && text.p[text.len - 1] == '"')
                text = cs_str_make(text.p + 1, text.len - 2);
            copy_str(l->sip_reason, sizeof l->sip_reason, text);
        }
    }
    if (!m->is_request && m->status >= 300 && !l->sip_reason[0])
        copy_str(l->sip_reason, sizeof l->sip_reason, m->reason);
}

/* ---- SDP --------------------------------------------------------------- */

/* The SDP part of a body, or an empty slice. */
static cs_str sdp_body(const sip_msg *m)
{
    cs_str b = m->body;
    if (b.len == 0)
        return CS_STR_NULL;
    if (cs_str_ieq_c(m->content_type, "application/sdp"))
        return b;
    if (!cs_str_iprefix(m->content_type, "multipart/"))
        return CS_STR_NULL;
    /* multipart: from the first line "v=0" to the next boundary line. */
    for (size_t i = 0; i + 3 <= b.len; i++) {
        if ((i == 0 || b.p[i - 1] == '\n') && memcmp(b.p + i, "v=0", 3) == 0) {
            cs_str rest = cs_str_make(b.p + i, b.len - i);
            for (size_t j = 0; j + 3 <= rest.len; j++)
                if (rest.p[j] == '\n' && rest.p[j + 1] == '-' && rest.p[j + 2] == '-')
                    return cs_str_make(rest.p, j + 1);
            return rest;
        }
    }
    return CS_STR_NULL;
}

static const sdp_media *first_audio(const sdp *sd)
{
    for (size_t i = 0; i < sd->nmedia; i++)
        if (cs_str_ieq_c(sd->media[i].type, "audio"))
            return &sd->media[i];
    return NULL;
}

static int media_register(call *c, const call_env *env, int family, const uint8_t *addr,
                          uint16_t port, const mm_value *v)
{
    call_addr k;
    memset(&k, 0, sizeof k);
    k.family = (uint8_t)(family == AF_INET6 ? 6 : 4);
    memcpy(k.ip, addr, family == AF_INET6 ? 16 : 4);
    k.port = port;
    unsigned i;
    for (i = 0; i < c->nmedia; i++)
        if (addr_eq(&c->media[i], &k))
            break;
    if (i == c->nmedia && c->nmedia >= CALL_MAX_MEDIA) {
        c->media_dropped++;
        return CS_ERR_LIMIT;
    }
    int rc = mediamap_put(env->mm, family, addr, port, v);
    if (rc != CS_OK) {
        c->media_dropped++;
        return rc;
    }
    if (i == c->nmedia)
        c->media[c->nmedia++] = k;
    return CS_OK;
}

void call_media_release(call *c, mediamap *mm)
{
    for (unsigned i = 0; i < c->nmedia; i++) {
        const call_addr *k = &c->media[i];
        mediamap_del(mm, k->family == 6 ? AF_INET6 : AF_INET, k->ip, k->port, c);
    }
    c->nmedia = 0;
}

/* RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP, UDP/TLS/RTP/SAVPF: SRTP profiles. */
static uint8_t proto_is_srtp(cs_str proto)
{
    for (size_t i = 0; i + 4 <= proto.len; i++)
        if (cs_str_ieq_c((cs_str){proto.p + i, 4}, "SAVP"))
            return 1;
    return 0;
}

static unsigned leg_sdp(call *c, call_leg *l, const sdp *sd, int from_caller, const call_env *env)
{
    unsigned flags = 0;
    int side = from_caller ? 0 : 1;
    call_fmtset *fs = &l->fmts[side];
    const sdp_media *am = first_audio(sd);
    if (am) {
        c->fmts_gen++; /* streams' cached codec decisions are stale */
        fs->n = 0;
        fs->te_pt = -1;
        fs->srtp = proto_is_srtp(am->proto);
        for (size_t i = 0; i < am->nfmt && fs->n < CALL_MAX_FMTS; i++) {
            const sdp_format *f = &am->fmt[i];
            fs->f[fs->n].pt = (uint8_t)f->pt;
            fs->f[fs->n].channels = f->channels > 0 && f->channels < 256 ? (uint8_t)f->channels : 1;
            copy_str(fs->f[fs->n].enc, sizeof fs->f[fs->n].enc, f->encoding);
            fs->f[fs->n].clock = f->clock > 0 ? (uint32_t)f->clock : 0;
            if (cs_str_ieq_c(f->encoding, "telephone-event") && fs->te_pt < 0)
                fs->te_pt = f->pt;
            fs->n++;
        }
    }
    mm_value v = {c, (uint16_t)l->index, (uint8_t)side_dir(l->role, from_caller), 0};
    for (size_t i = 0; i < sd->nmedia; i++) {
        const sdp_media *md = &sd->media[i];
        if (!cs_str_ieq_c(md->type, "audio") || md->port == 0 || md->family == 0 ||
            md->hold_zero)
            continue;
        v.rtcp = 0;
        if (media_register(c, env, md->family, md->addr, md->port, &v) != CS_OK)
            flags |= CALL_SIP_MEDIA_LIMIT;
        int rfam = md->rtcp_family ? md->rtcp_family : md->family;
        const uint8_t *raddr = md->rtcp_family ? md->rtcp_addr : md->addr;
        if (!md->rtcp_mux && md->rtcp_port &&
            (md->rtcp_port != md->port || raddr != md->addr)) {
            v.rtcp = 1;
            if (media_register(c, env, rfam, raddr, md->rtcp_port, &v) != CS_OK)
                flags |= CALL_SIP_MEDIA_LIMIT;
        }
    }
    return flags;
}

/* ---- holds and transfers ----------------------------------------------- */

static void hold_offer(call *c, call_leg *l, const sip_msg *m, const sdp *sd, int from_caller,
                       uint64_t ts)
{
    const sdp_media *am = first_audio(sd);
    if (!am)
        return;
    int hold = am->dir == SDP_DIR_SENDONLY || am->dir == SDP_DIR_INACTIVE || am->hold_zero;
    if (hold) {
        l->resume_cseq = 0;
        if (c->hold_open >= 0 || c->nholds >= CALL_MAX_HOLDS)
            return;
        call_hold *h = &c->holds[c->nholds];
        h->start_us = ts;
        h->end_us = 0;
        h->leg = l->index;
        h->by_agent = !(l->role == CALL_ROLE_INBOUND && from_caller);
        c->hold_open = (int)c->nholds++;
    } else if (c->hold_open >= 0 && c->holds[c->hold_open].leg == l->index) {
        l->resume_cseq = m->cseq;
        l->resume_from_caller = from_caller;
    }
}

static const char *leg_ext(const call_leg *l)
{
    if (l->agent_ext[0])
        return l->agent_ext;
    return l->to_user[0] ? l->to_user : l->ruri_user;
}

static void leg_answered(call *c, call_leg *l, uint64_t ts)
{
    if (l->role != CALL_ROLE_AGENT)
        return;
    const call_leg *prev = NULL;
    for (unsigned i = 0; i < c->nlegs; i++) {
        const call_leg *k = c->legs[i];
        if (k != l && k->role == CALL_ROLE_AGENT && k->answer_us &&
            (!prev || k->answer_us > prev->answer_us))
            prev = k;
    }
    c->answered_agents++;
    if (!prev)
        return;
    for (unsigned i = 0; i < c->ntransfers; i++) {
        call_transfer *t = &c->transfers[i];
        if (t->refer && !t->matched) {
            t->matched = 1;
            return;
        }
    }
    if (c->ntransfers >= CALL_MAX_TRANSFERS)
        return;
    call_transfer *t = &c->transfers[c->ntransfers++];
    memset(t, 0, sizeof *t);
    t->at_us = ts;
    t->refer = 0;
    copy_str(t->from, sizeof t->from, cs_str_c(leg_ext(prev)));
    copy_str(t->to, sizeof t->to, cs_str_c(leg_ext(l)));
}

static void leg_refer(call *c, call_leg *l, const sip_msg *m, uint64_t ts)
{
    if (c->ntransfers >= CALL_MAX_TRANSFERS)
        return;
    call_transfer *t = &c->transfers[c->ntransfers++];
    memset(t, 0, sizeof *t);
    t->at_us = ts;
    t->refer = 1;
    copy_str(t->from, sizeof t->from, cs_str_c(leg_ext(l)));
    cs_str user;
    if (m->refer_to.len && sip_uri_user(m->refer_to, &user) == 0)
        copy_str(t->to, sizeof t->to, user);
}

/* ---- the state machine ------------------------------------------------- */

static void on_invite_response(call *c, call_leg *l, const sip_msg *m, uint64_t ts)
{
    if (l->state == LEG_ENDED || l->state == LEG_CONFIRMED)
        return;
    if (!l->to_tag[0] && m->to_tag.len)
        copy_str(l->to_tag, sizeof l->to_tag, m->to_tag);
    if (m->status < 200) {
        if ((m->status == 180 || m->status == 183) && !l->ringing_us)
            l->ringing_us = ts;
        return;
    }
    if (m->status == 401 || m->status == 407) {
        /* Authentication challenge: the caller sends a new INVITE (new CSeq,
         * still no To tag), which becomes the initial transaction. */
        l->to_tag[0] = '\0';
        return;
    }
    l->final_status = m->status;
    if (m->status < 300) {
        l->state = LEG_CONFIRMED;
        l->answer_us = ts;
        if (m->to_tag.len)
            copy_str(l->to_tag, sizeof l->to_tag, m->to_tag);
        cs_str pai = sip_header_get(m, "P-Asserted-Identity", 0);
        cs_str user = CS_STR_NULL;
        if (l->role == CALL_ROLE_AGENT && l->to_user[0])
            copy_str(l->agent_ext, sizeof l->agent_ext, cs_str_c(l->to_user));
        else if (pai.len && sip_uri_user(pai, &user) == 0 && user.len) {
            copy_str(l->agent_ext, sizeof l->agent_ext, user);
            l->answer_identified = 1;
        }
        else
            copy_str(l->agent_ext, sizeof l->agent_ext, cs_str_c(l->to_user));
        leg_answered(c, l, ts);
        return;
    }
    leg_reason(l, m);
    leg_set_ended(c, l, ts, l->state == LEG_CANCELLING ? LEG_BY_CALLER : LEG_BY_CALLEE);
}

unsigned call_sip(call *c, call_leg *leg, const sip_msg *m, const call_pkt *p,
                  const call_env *env, sdp *sd)
{
    unsigned flags = 0;
    uint64_t ts = p->ts_us;
    int from_caller = sent_by_caller(leg, m, p);

    c->sip_messages++;
    leg->sip_messages++;
    c->answer_needs_identity = env->answer_needs_identity;
    if (ts > c->last_activity_us)
        c->last_activity_us = ts;
    if (ts > leg->last_us)
        leg->last_us = ts;

    if (leg_retransmission(leg, m, from_caller)) {
        leg->retransmissions++;
        return CALL_SIP_RETRANSMISSION;
    }

    int has_sdp = 0, dir_attr = -1;
    cs_str body = sdp_body(m);
    if (body.len) {
        if (sdp_parse((const uint8_t *)body.p, body.len, sd) == CS_OK) {
            has_sdp = 1;
            const sdp_media *am = first_audio(sd);
            if (am)
                dir_attr = (int)am->dir;
        } else {
            flags |= CALL_SIP_SDP_BAD;
            c->malformed++;
        }
    }
    leg_event(leg, m, p, has_sdp, dir_attr);
    if (has_sdp)
        flags |= leg_sdp(c, leg, sd, from_caller, env);

    if (m->is_request && m->method == SIP_METHOD_INVITE && from_caller && m->to_tag.len == 0 &&
        leg->state == LEG_INVITING)
        leg->invite_cseq = m->cseq; /* INVITE again after a 401/407 challenge */
    int initial = m->cseq == leg->invite_cseq && m->cseq_method == SIP_METHOD_INVITE;
    if (!m->is_request) {
        if (initial && from_caller == 0)
            on_invite_response(c, leg, m, ts);
        else if (m->status >= 200 && m->status < 300 && leg->resume_cseq &&
                 m->cseq == leg->resume_cseq && c->hold_open >= 0) {
            c->holds[c->hold_open].end_us = ts;
            c->hold_open = -1;
            leg->resume_cseq = 0;
        }
        return flags;
    }

    switch (m->method) {
    case SIP_METHOD_INVITE:
    case SIP_METHOD_UPDATE:
        if (has_sdp && leg->state == LEG_CONFIRMED && !(initial && from_caller))
            hold_offer(c, leg, m, sd, from_caller, ts);
        break;
    case SIP_METHOD_CANCEL:
        if (leg->state == LEG_INVITING) {
            leg->state = LEG_CANCELLING;
            leg->cancel_us = ts;
            leg_reason(leg, m);
        }
        break;
    case SIP_METHOD_BYE:
        if (leg->state != LEG_ENDED) {
            leg->bye_us = ts;
            leg->bye_from_caller = from_caller;
            leg_reason(leg, m);
            leg_set_ended(c, leg, ts, from_caller ? LEG_BY_CALLER : LEG_BY_CALLEE);
        }
        break;
    case SIP_METHOD_REFER:
        leg_refer(c, leg, m, ts);
        break;
    default:
        break;
    }
    return flags;
}

/* ---- RTP --------------------------------------------------------------- */

static const call_fmtset *fmts_for(const call_leg *l, call_dir d, int pt, int *clock,
                                   const char **enc)
{
    int s = recv_side(d);
    for (int k = 0; k < 2; k++) {
        const call_fmtset *fs = &l->fmts[k == 0 ? s : !s];
        for (unsigned i = 0; i < fs->n; i++)
            if (fs->f[i].pt == pt) {
                *clock = (int)fs->f[i].clock;
                *enc = fs->f[i].enc;
                return fs;
            }
    }
    *clock = 0;
    *enc = "";
    return NULL;
}

int call_stream_codec(const call *c, const call_stream *s, int *pt, const char **enc, int *clock)
{
    int best = -1;
    uint64_t most = 0;
    for (unsigned i = 0; i < s->npts; i++) {
        int p = s->pts[i].pt;
        if (p == s->te_pt || p == 13)
            continue;
        if (best < 0 || s->pts[i].packets > most) {
            best = p;
            most = s->pts[i].packets;
        }
    }
    *pt = best;
    *enc = "";
    *clock = 0;
    if (best < 0 || s->leg >= c->nlegs)
        return 0;
    fmts_for(c->legs[s->leg], s->dir, best, clock, enc);
    return 1;
}

void call_stream_format(const call *c, const call_stream *s, int *channels, int *srtp)
{
    int pt, clock;
    const char *enc;
    *channels = 0;
    *srtp = 0;
    if (!call_stream_codec(c, s, &pt, &enc, &clock))
        return;
    const call_leg *l = c->legs[s->leg];
    int side = recv_side(s->dir);
    for (int k = 0; k < 2; k++) {
        const call_fmtset *fs = &l->fmts[k == 0 ? side : !side];
        for (unsigned i = 0; i < fs->n; i++)
            if (fs->f[i].pt == pt) {
                *channels = fs->f[i].channels;
                *srtp = fs->srtp;
                return;
            }
    }
}

static int te_pt_for(const call_leg *l, call_dir d)
{
    int s = recv_side(d);
    return l->fmts[s].te_pt >= 0 ? l->fmts[s].te_pt : l->fmts[!s].te_pt;
}

static void add_dtmf(call *c, const rtp_dtmf_digit *d, unsigned stream)
{
    if (!d->digit)
        return;
    if (!c->dtmf) {
        c->dtmf = calloc(CALL_MAX_DTMF, sizeof *c->dtmf);
        if (!c->dtmf) {
            c->dtmf_dropped++;
            return;
        }
    }
    if (c->ndtmf >= CALL_MAX_DTMF) {
        c->dtmf_dropped++;
        return;
    }
    call_dtmf *e = &c->dtmf[c->ndtmf++];
    e->digit = d->digit;
    e->at_us = d->start_us;
    e->duration_ms = d->duration_ms;
    e->stream = stream;
}

static call_stream *stream_new(call *c, const call_env *env, unsigned leg, call_dir dir,
                               const call_pkt *p)
{
    if (c->nstreams >= env->max_streams)
        return NULL;
    if (c->nstreams == c->capstreams) {
        unsigned ncap = c->capstreams ? c->capstreams * 2 : 4;
        if (ncap > env->max_streams)
            ncap = (unsigned)env->max_streams;
        call_stream *ns = aligned_alloc(_Alignof(call_stream), ncap * sizeof *ns);
        if (!ns)
            return NULL;
        if (c->nstreams)
            memcpy(ns, c->streams, c->nstreams * sizeof *ns);
        if (c->streams != c->streams_inline)
            free(c->streams);
        c->streams = ns;
        c->capstreams = ncap;
    }
    call_stream *s = &c->streams[c->nstreams];
    memset(s, 0, sizeof *s);
    s->index = c->nstreams++;
    s->leg = leg;
    s->dir = dir;
    s->src = p->src;
    s->dst = p->dst;
    s->te_pt = te_pt_for(c->legs[leg], dir);
    s->codec_k = -1;
    rtp_stats_init(&s->st);
    rtp_dtmf_init(&s->dtmf);
    return s;
}

static void stream_note_ssrc(call_stream *s, uint32_t ssrc, uint64_t ts)
{
    /* The current SSRC is listed already, or the list was full when it
     * became current (and still is): nothing changes. */
    if (s->nssrcs && s->cur_ssrc == ssrc)
        return;
    if (s->nssrcs && s->cur_ssrc != ssrc) {
        s->prev_ssrc = s->cur_ssrc;
        s->changed_us = ts;
    }
    s->cur_ssrc = ssrc;
    for (unsigned i = 0; i < s->nssrcs; i++)
        if (s->ssrcs[i] == ssrc)
            return;
    if (s->nssrcs < CALL_MAX_SSRCS)
        s->ssrcs[s->nssrcs++] = ssrc;
}

/*
 * The stream of (leg, dir) whose current SSRC is ssrc, else the first stream
 * of (leg, dir) (an SSRC change) unless the SSRC interleaves with its
 * previous one, else a new stream. Within one (leg, dir) no two streams
 * share a current SSRC (a stream takes an SSRC only when none has it), so
 * the hint — the stream last returned for (leg, dir) — is the answer
 * whenever its current SSRC matches.
 */
static call_stream *stream_find(call *c, const call_env *env, unsigned leg, call_dir dir,
                                uint32_t ssrc, const call_pkt *p, int *created)
{
    uint8_t *hint =
        leg < CALL_HINT_LEGS && dir >= CALL_DIR_CUSTOMER_TO_PBX && dir <= CALL_DIR_PBX_TO_AGENT
            ? &c->stream_hint[leg][dir - 1]
            : NULL;
    if (hint && *hint && *hint <= c->nstreams) {
        call_stream *h = &c->streams[*hint - 1];
        if (h->cur_ssrc == ssrc && h->leg == leg && h->dir == dir)
            return h;
    }
    call_stream *s = NULL;
    call_stream *cand = NULL;
    int interleaved = 0;
    for (unsigned i = 0; i < c->nstreams; i++) {
        call_stream *t = &c->streams[i];
        if (t->leg != leg || t->dir != dir)
            continue;
        if (t->cur_ssrc == ssrc) {
            cand = t;
            interleaved = 0;
            break;
        }
        if (t->changed_us && t->prev_ssrc == ssrc &&
            p->ts_us - t->changed_us < CALL_SSRC_OVERLAP_US)
            interleaved = 1;
        if (!cand)
            cand = t;
    }
    if (cand && !interleaved) {
        s = cand;
    } else {
        s = stream_new(c, env, leg, dir, p);
        if (s)
            *created = 1;
    }
    if (s && hint)
        *hint = s->index < 255 ? (uint8_t)(s->index + 1) : 0;
    return s;
}

static void rtcp_account(call *c, unsigned leg, call_dir dir, const rtcp_info *ri)
{
    call_stream *best = NULL;
    for (unsigned i = 0; i < c->nstreams; i++) {
        call_stream *s = &c->streams[i];
        if (s->leg != leg || s->dir != dir)
            continue;
        if (!best || s->cur_ssrc == ri->ssrc)
            best = s;
    }
    if (!best)
        return;
    best->rtcp.packets++;
    if (ri->has_sr)
        best->rtcp.sr++;
    else
        best->rtcp.rr++;
    if (ri->nrb > 0) {
        best->rtcp.have_rb = 1;
        best->rtcp.fraction_lost = ri->rb[0].fraction_lost;
        best->rtcp.cumulative_lost = ri->rb[0].cumulative_lost;
        best->rtcp.jitter = ri->rb[0].jitter;
    }
}

void call_rtp(call *c, const mm_value *v, int reversed, const call_pkt *p, const uint8_t *data,
              size_t len, const call_env *env, call_rtp_out *out)
{
    memset(out, 0, sizeof *out);
    if (v->leg >= c->nlegs)
        return;
    call_dir dir = (call_dir)v->dir;
    if (reversed)
        dir = call_dir_reverse(dir);
    if (p->ts_us > c->last_activity_us)
        c->last_activity_us = p->ts_us;

    if (v->rtcp || rtcp_looks_like(data, len)) {
        rtcp_info ri;
        out->rtcp = 1;
        c->rtcp_packets++;
        if (rtcp_parse(data, len, &ri) != CS_OK) {
            out->malformed = 1;
            c->malformed++;
            return;
        }
        rtcp_account(c, v->leg, dir, &ri);
        return;
    }

    rtp_hdr h;
    if (rtp_parse(data, len, &h) != CS_OK) {
        out->malformed = 1;
        c->malformed++;
        return;
    }
    c->rtp_packets++;
    call_stream *s = stream_find(c, env, v->leg, dir, h.ssrc, p, &out->new_stream);
    if (!s) {
        c->rtp_refused++;
        out->refused = 1;
        unsigned n = c->nrefused < CALL_REFUSED_KEEP ? c->nrefused : CALL_REFUSED_KEEP;
        for (unsigned i = 0; i < n; i++)
            if (c->refused[i] == h.ssrc)
                return;
        c->refused[c->nrefused % CALL_REFUSED_KEEP] = h.ssrc;
        c->nrefused++;
        c->streams_refused++;
        out->refused = 2;
        return;
    }
    stream_note_ssrc(s, h.ssrc, p->ts_us);
    if (s->codec_gen != c->fmts_gen || s->codec_pt != h.pt) {
        /* A new payload type, or new SDP: decide again (the same answers
         * the per-packet searches gave: they depend only on the PT and the
         * leg's payload-type sets, which bump fmts_gen when they change). */
        const call_leg *l = c->legs[v->leg];
        unsigned k;
        for (k = 0; k < s->npts; k++)
            if (s->pts[k].pt == h.pt)
                break;
        if (k == s->npts && s->npts < CALL_MAX_PTS) {
            s->pts[s->npts].pt = (uint8_t)h.pt;
            s->pts[s->npts].packets = 0;
            s->npts++;
        }
        s->codec_k = k < s->npts ? (int)k : -1;
        if (s->te_pt < 0)
            s->te_pt = te_pt_for(l, dir);
        const char *enc;
        fmts_for(l, dir, h.pt, &s->codec_clock, &enc);
        s->codec_cn = strcmp(enc, "CN") == 0;
        s->codec_pt = h.pt;
        s->codec_gen = c->fmts_gen;
    }
    if (s->codec_k >= 0)
        s->pts[s->codec_k].packets++;
    int clock = s->codec_clock;
    int is_te = h.pt == s->te_pt;
    int audio = !is_te && h.pt != 13 && !s->codec_cn;
    rtp_stats_update(&s->st, &h, p->ts_us, clock, audio);
    if (is_te) {
        rtp_dtmf_digit d;
        if (rtp_dtmf_update(&s->dtmf, &h, p->ts_us, clock ? clock : 8000, &d)) {
            add_dtmf(c, &d, s->index);
            out->dtmf++;
        }
    }
}

/* ---- the end ----------------------------------------------------------- */

void call_conclude(call *c, call_end_reason reason, uint64_t end_us)
{
    if (c->concluded)
        return;
    c->concluded = 1;
    for (unsigned i = 0; i < c->nstreams; i++) {
        call_stream *s = &c->streams[i];
        rtp_dtmf_digit d;
        if (s->te_pt >= 0 && rtp_dtmf_flush(&s->dtmf, 8000, &d))
            add_dtmf(c, &d, s->index);
    }
    const call_leg *l0 = c->nlegs ? c->legs[0] : NULL;
    uint64_t last = c->last_activity_us;

    /* legs */
    for (unsigned i = 0; i < c->nlegs; i++) {
        call_leg *l = c->legs[i];
        if (l->state == LEG_ENDED) {
            l->ended_us = l->last_us;
        } else {
            l->ended_us = reason == CALL_END_NONE ? last : end_us;
            l->ended_by = reason == CALL_END_CAPTURE_STOPPED ? LEG_BY_CAPTURE : LEG_BY_TIMEOUT;
        }
    }

    /* who ended it, and when */
    if (reason != CALL_END_NONE) {
        c->end_reason = reason;
        c->ended_by = reason == CALL_END_CAPTURE_STOPPED ? CALL_BY_CAPTURE : CALL_BY_TIMEOUT;
        c->end_us = end_us;
    } else {
        c->end_us = 0;
        for (unsigned i = 0; i < c->nlegs; i++)
            if (c->legs[i]->ended_us > c->end_us)
                c->end_us = c->legs[i]->ended_us;
        if (!l0) {
            c->end_reason = CALL_END_BYE;
            c->ended_by = CALL_BY_PBX;
        } else if (l0->bye_us) {
            c->end_reason = CALL_END_BYE;
            if (l0->bye_from_caller) {
                c->ended_by = CALL_BY_CALLER;
            } else {
                int agents = 0, agent_bye = 0;
                for (unsigned i = 1; i < c->nlegs; i++) {
                    const call_leg *l = c->legs[i];
                    if (l->role != CALL_ROLE_AGENT)
                        continue;
                    agents++;
                    if (l->bye_us && !l->bye_from_caller && l->bye_us <= l0->bye_us)
                        agent_bye = 1;
                }
                c->ended_by = (!agents || agent_bye) ? CALL_BY_AGENT : CALL_BY_PBX;
            }
        } else if (l0->cancel_us) {
            c->end_reason = CALL_END_CANCEL;
            c->ended_by = CALL_BY_CALLER;
        } else {
            c->end_reason = CALL_END_FINAL_RESPONSE;
            c->ended_by = CALL_BY_PBX;
        }
    }
    if (c->end_us < c->invite_us)
        c->end_us = c->invite_us;

    /* outcome */
    const call_leg *first_agent = NULL;
    int has_agents = 0, agents_gave_up = 1;
    for (unsigned i = 0; i < c->nlegs; i++) {
        const call_leg *l = c->legs[i];
        if (l->role != CALL_ROLE_AGENT)
            continue;
        has_agents = 1;
        if (l->answer_us && (!first_agent || l->answer_us < first_agent->answer_us))
            first_agent = l;
        if (!(l->final_status == 480 || l->final_status == 408 || l->final_status == 487 ||
              l->final_status == 486))
            agents_gave_up = 0;
    }
    c->answer_us = 0;
    c->abandon_us = 0;
    if (first_agent) {
        c->outcome = CALL_OUT_ANSWERED;
        c->answer_us = first_agent->answer_us;
    } else if (!l0) {
        c->outcome = CALL_OUT_FAILED;
    } else if (!has_agents && l0->answer_us &&
               (!c->answer_needs_identity || l0->answer_identified)) {
        c->outcome = CALL_OUT_ANSWERED;
        c->answer_us = l0->answer_us;
    } else if (l0->cancel_us && !l0->answer_us) {
        c->outcome = CALL_OUT_ABANDONED;
        c->abandon_us = l0->cancel_us;
    } else if (l0->answer_us && l0->bye_us && l0->bye_from_caller) {
        c->outcome = CALL_OUT_ABANDONED;
        c->abandon_us = l0->bye_us;
    } else if (l0->final_status == 486 || l0->final_status == 600) {
        c->outcome = CALL_OUT_BUSY;
    } else if (l0->final_status == 480 || l0->final_status == 408 ||
               c->end_reason == CALL_END_SETUP_TIMEOUT) {
        c->outcome = CALL_OUT_NO_ANSWER;
    } else if (has_agents && agents_gave_up && l0->bye_us && !l0->bye_from_caller) {
        c->outcome = CALL_OUT_NO_ANSWER;
    } else {
        c->outcome = CALL_OUT_FAILED;
    }
}
