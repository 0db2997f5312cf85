/*
 * cg_sip.c — SIP message and SDP body text for callgen (see cg_sip.h).
 *
 * Design: every message is assembled in the caller's buffer through a small
 * bounded appender (sb_*) that remembers the first overflow, so a message is
 * either complete or the call returns CS_ERR_OVERFLOW; there is no partial
 * success. The header order is the one common user agents use:
 *     Via, Max-Forwards, From, To, Call-ID, CSeq, Contact, User-Agent|Server,
 *     <extra headers>, Content-Type, Content-Length
 * Content-Length is the exact byte count of the body that follows the blank
 * line. The branch of a new transaction is "z9hG4bK" + 16 hex digits derived
 * from (branch_seed, branch_count) with splitmix64, so reruns are identical.
 *
 * SECURITY: writes only; the inputs come from callgen itself.
 */
#include "cg_sip.h"

#include "cg_rng.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct sb {
    char *p;
    size_t cap;
    size_t len;
    int err;
} sb;

static void sb_init(sb *b, char *out, size_t cap)
{
    b->p = out;
    b->cap = cap;
    b->len = 0;
    b->err = (out == NULL || cap == 0) ? CS_ERR_INVAL : CS_OK;
    if (b->err == CS_OK)
        out[0] = '\0';
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sb *b, const char *fmt, ...)
{
    if (b->err != CS_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->err = CS_ERR_OVERFLOW;
        b->p[b->len] = '\0';
        return;
    }
    b->len += (size_t)n;
}

static void sb_mem(sb *b, const char *s, size_t n)
{
    if (b->err != CS_OK || n == 0)
        return;
    if (n >= b->cap - b->len) {
        b->err = CS_ERR_OVERFLOW;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static int sb_done(const sb *b)
{
    return b->err != CS_OK ? b->err : (int)b->len;
}

const char *cg_sip_reason(int code)
{
    switch (code) {
    case 100: return "Trying";
    case 180: return "Ringing";
    case 183: return "Session Progress";
    case 200: return "OK";
    case 202: return "Accepted";
    case 408: return "Request Timeout";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 486: return "Busy Here";
    case 487: return "Request Terminated";
    case 488: return "Not Acceptable Here";
    case 500: return "Server Internal Error";
    case 603: return "Decline";
    default: return "Unknown";
    }
}

static void sb_hostport(sb *b, const char *host, int ipv6, uint16_t port)
{
    if (ipv6)
        sb_printf(b, "[%s]:%u", host, (unsigned)port);
    else
        sb_printf(b, "%s:%u", host, (unsigned)port);
}

static void sb_uri(sb *b, const char *user, const char *host, int ipv6, uint16_t port)
{
    sb_printf(b, "sip:");
    if (user && user[0])
        sb_printf(b, "%s@", user);
    sb_hostport(b, host, ipv6, port);
}

int cg_sip_uri(const char *user, const char *host, int ipv6, uint16_t port, char *out, size_t cap)
{
    if (!host)
        return CS_ERR_INVAL;
    sb b;
    sb_init(&b, out, cap);
    sb_uri(&b, user, host, ipv6, port);
    return sb_done(&b);
}

static const char *transport_name(cg_sip_transport t)
{
    return t == CG_SIP_TCP ? "TCP" : "UDP";
}

/* "From: <sip:user@host>;tag=x" style name-addr of a party (no port in
 * From/To: they name the user, not the device). */
static void sb_nameaddr(sb *b, const char *hname, const cg_sip_party *p, int with_tag)
{
    sb_printf(b, "%s: <", hname);
    sb_printf(b, "sip:%s@", p->user);
    if (p->ipv6)
        sb_printf(b, "[%s]", p->host);
    else
        sb_printf(b, "%s", p->host);
    sb_printf(b, ">");
    if (with_tag && p->tag[0])
        sb_printf(b, ";tag=%s", p->tag);
    sb_printf(b, "\r\n");
}

static void sb_contact(sb *b, const cg_sip_party *p, cg_sip_transport t)
{
    sb_printf(b, "Contact: <");
    sb_uri(b, p->user, p->host, p->ipv6, p->port);
    if (t == CG_SIP_TCP)
        sb_printf(b, ";transport=tcp");
    sb_printf(b, ">\r\n");
}

static void sb_body(sb *b, const char *ctype, const char *body, size_t blen)
{
    if (body && blen > 0 && ctype)
        sb_printf(b, "Content-Type: %s\r\n", ctype);
    sb_printf(b, "Content-Length: %zu\r\n\r\n", body ? blen : 0);
    if (body)
        sb_mem(b, body, blen);
}

static void new_branch(cg_sip_dialog *d, char *out, size_t cap)
{
    uint64_t x = d->branch_seed + (uint64_t)d->branch_count++ * 0x9e3779b97f4a7c15ULL;
    uint64_t v = cg_splitmix64(&x);
    snprintf(out, cap, "z9hG4bK%016llx", (unsigned long long)v);
}

int cg_sip_request(cg_sip_dialog *d, int from_uac, const char *method, const cg_sip_txn *invite,
                   const char *extra, const char *ctype, const char *body, size_t blen,
                   cg_sip_txn *txn, char *out, size_t cap)
{
    if (!d || !method || strlen(method) >= sizeof(((cg_sip_txn *)0)->method))
        return CS_ERR_INVAL;
    int is_cancel = strcmp(method, "CANCEL") == 0;
    int is_ack = strcmp(method, "ACK") == 0;
    if (is_cancel && !invite)
        return CS_ERR_INVAL;
    const cg_sip_party *me = from_uac ? &d->uac : &d->uas;
    const cg_sip_party *peer = from_uac ? &d->uas : &d->uac;
    cg_sip_txn t;
    memset(&t, 0, sizeof t);
    t.from_uac = from_uac ? 1 : 0;
    snprintf(t.method, sizeof t.method, "%s", method);
    if (invite) {
        /* CANCEL or ACK of a non-2xx: same branch and CSeq number as the INVITE. */
        snprintf(t.branch, sizeof t.branch, "%s", invite->branch);
        t.cseq = invite->cseq;
    } else {
        new_branch(d, t.branch, sizeof t.branch);
        if (is_ack) {
            t.cseq = d->cseq[t.from_uac ? 0 : 1];
        } else {
            t.cseq = ++d->cseq[t.from_uac ? 0 : 1];
        }
    }
    /* CANCEL copies the INVITE's To (no tag); everything else in a dialog whose
     * callee has answered carries the tag. */
    t.to_tag = !is_cancel && d->to_tag_known;
    int initial = !d->to_tag_known || invite != NULL;

    sb b;
    sb_init(&b, out, cap);
    sb_printf(&b, "%s ", method);
    if (initial && from_uac)
        sb_uri(&b, d->ruri_user, d->uas.host, d->uas.ipv6, d->uas.port);
    else
        sb_uri(&b, peer->user, peer->host, peer->ipv6, peer->port);
    sb_printf(&b, " SIP/2.0\r\n");
    sb_printf(&b, "Via: SIP/2.0/%s ", transport_name(d->transport));
    sb_hostport(&b, me->host, me->ipv6, me->port);
    sb_printf(&b, ";branch=%s\r\n", t.branch);
    sb_printf(&b, "Max-Forwards: 70\r\n");
    if (from_uac) {
        sb_nameaddr(&b, "From", &d->uac, 1);
        sb_nameaddr(&b, "To", &d->uas, t.to_tag);
    } else {
        sb_nameaddr(&b, "From", &d->uas, 1);
        sb_nameaddr(&b, "To", &d->uac, 1);
    }
    sb_printf(&b, "Call-ID: %s\r\n", d->call_id);
    sb_printf(&b, "CSeq: %u %s\r\n", (unsigned)t.cseq, is_cancel ? "CANCEL" : method);
    if (strcmp(method, "INVITE") == 0 || strcmp(method, "REFER") == 0 ||
        strcmp(method, "NOTIFY") == 0 || strcmp(method, "UPDATE") == 0)
        sb_contact(&b, me, d->transport);
    sb_printf(&b, "User-Agent: %s\r\n", me->ua);
    if (strcmp(method, "INVITE") == 0) {
        sb_printf(&b, "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, UPDATE\r\n");
        sb_printf(&b, "Supported: replaces, timer\r\n");
    }
    if (extra)
        sb_printf(&b, "%s", extra);
    sb_body(&b, ctype, body, blen);
    int rc = sb_done(&b);
    if (rc >= 0 && txn)
        *txn = t;
    return rc;
}

int cg_sip_response(const cg_sip_dialog *d, const cg_sip_txn *req, int code, const char *reason,
                    const char *extra, const char *ctype, const char *body, size_t blen,
                    char *out, size_t cap)
{
    if (!d || !req || code < 100 || code > 699)
        return CS_ERR_INVAL;
    const cg_sip_party *sender = req->from_uac ? &d->uac : &d->uas;
    const cg_sip_party *me = req->from_uac ? &d->uas : &d->uac;
    sb b;
    sb_init(&b, out, cap);
    sb_printf(&b, "SIP/2.0 %d %s\r\n", code, reason ? reason : cg_sip_reason(code));
    sb_printf(&b, "Via: SIP/2.0/%s ", transport_name(d->transport));
    sb_hostport(&b, sender->host, sender->ipv6, sender->port);
    sb_printf(&b, ";branch=%s\r\n", req->branch);
    /* From/To keep the request's orientation; the responder's tag goes on To. */
    if (req->from_uac) {
        sb_nameaddr(&b, "From", &d->uac, 1);
        sb_nameaddr(&b, "To", &d->uas, code != 100 || req->to_tag);
    } else {
        sb_nameaddr(&b, "From", &d->uas, 1);
        sb_nameaddr(&b, "To", &d->uac, 1);
    }
    sb_printf(&b, "Call-ID: %s\r\n", d->call_id);
    sb_printf(&b, "CSeq: %u %s\r\n", (unsigned)req->cseq, req->method);
    int is_invite = strcmp(req->method, "INVITE") == 0;
    if ((is_invite && code > 100 && code < 300) || (strcmp(req->method, "REFER") == 0 &&
                                                    code >= 200 && code < 300))
        sb_contact(&b, me, d->transport);
    sb_printf(&b, "Server: %s\r\n", me->ua);
    if (extra)
        sb_printf(&b, "%s", extra);
    sb_body(&b, ctype, body, blen);
    return sb_done(&b);
}

int cg_sdp_dtmf_clock(cg_codec c)
{
    return c == CG_CODEC_OPUS ? 48000 : 8000;
}

int cg_sdp_build(const cg_sdp *s, char *out, size_t cap)
{
    if (!s || !s->addr || !s->direction || (s->ncodecs > 0 && !s->codecs))
        return CS_ERR_INVAL;
    sb b;
    sb_init(&b, out, cap);
    const char *fam = s->ipv6 ? "IP6" : "IP4";
    sb_printf(&b, "v=0\r\n");
    sb_printf(&b, "o=%s %llu %llu IN %s %s\r\n", s->origin_user ? s->origin_user : "-",
              (unsigned long long)s->sess_id, (unsigned long long)s->sess_version, fam, s->addr);
    sb_printf(&b, "s=callscope\r\n");
    sb_printf(&b, "c=IN %s %s\r\n", fam, s->addr);
    sb_printf(&b, "t=0 0\r\n");
    sb_printf(&b, "m=audio %u RTP/AVP", (unsigned)s->port);
    for (size_t i = 0; i < s->ncodecs; i++)
        sb_printf(&b, " %d", cg_codec_get(s->codecs[i])->payload_type);
    if (s->dtmf_pt > 0)
        sb_printf(&b, " %d", s->dtmf_pt);
    sb_printf(&b, "\r\n");
    int dtmf_clock = s->ncodecs > 0 ? cg_sdp_dtmf_clock(s->codecs[0]) : 8000;
    for (size_t i = 0; i < s->ncodecs; i++) {
        const cg_codec_info *ci = cg_codec_get(s->codecs[i]);
        if (ci->rtpmap_channels > 0)
            sb_printf(&b, "a=rtpmap:%d %s/%d/%d\r\n", ci->payload_type, ci->encoding,
                      ci->rtp_clock, ci->rtpmap_channels);
        else
            sb_printf(&b, "a=rtpmap:%d %s/%d\r\n", ci->payload_type, ci->encoding,
                      ci->rtp_clock);
        if (ci->fmtp)
            sb_printf(&b, "a=fmtp:%d %s\r\n", ci->payload_type, ci->fmtp);
    }
    if (s->dtmf_pt > 0) {
        sb_printf(&b, "a=rtpmap:%d telephone-event/%d\r\n", s->dtmf_pt, dtmf_clock);
        sb_printf(&b, "a=fmtp:%d 0-16\r\n", s->dtmf_pt);
    }
    sb_printf(&b, "a=ptime:20\r\n");
    sb_printf(&b, "a=%s\r\n", s->direction);
    return sb_done(&b);
}
