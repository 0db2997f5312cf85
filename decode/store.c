/*
 * store.c — one call into PostgreSQL in one transaction (see store.h).
 *
 * Why it is built this way. The schema's idempotency rule for decode
 * (docs/schema.md) is: upsert the call, delete its capture-derived children
 * and insert them again, and insert the recording LAST, ON CONFLICT DO
 * NOTHING. The recording trigger takes the chain's advisory lock and holds
 * it until COMMIT, so nothing may follow it: the job is queued before it.
 *
 * Round trips. Legs and streams are inserted one row at a time (their ids
 * are needed by their children); sip_events, dtmf_events, holds, transfers
 * and talk_segments go in one INSERT ... SELECT FROM unnest(array, ...)
 * each, with the arrays sent as text parameters (array literals built here,
 * every element double-quoted and escaped, so data never becomes SQL).
 *
 * Times. call.json times are µs since the epoch; they enter SQL as
 * timestamptz 'epoch' + n * interval '1 microsecond', which is exact for
 * |n| < 2^53 (PostgreSQL multiplies the interval by a double).
 *
 * What it does not do: reconnect (the caller runs db_ensure() and retries),
 * decide whether to rewrite an archive file (the caller asks
 * store_recording_get() first), compute MOS (scoring's E-model, later).
 */
#include "store.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jobq.h"

#define TS(p) "(timestamptz 'epoch' + (" p ")::bigint * interval '1 microsecond')"

/* Longest array-literal parameter (a call with the per-leg caps of
 * call.json is far below; talk segments of a very long call too). */
#define ARR_MAX (64u * 1024 * 1024)

const char *store_decode_status_name(store_decode_status s)
{
    static const char *const names[] = {
        "ok", "partial", "unsupported_codec", "encrypted", "no_audio", "skipped", "failed"};
    if ((int)s < 0 || (size_t)s >= sizeof names / sizeof names[0])
        return NULL;
    return names[s];
}

int store_err_retryable(int err)
{
    return err == CS_ERR_DB_CONN || err == CS_ERR_BUSY;
}

/* ---- a bounded growable buffer for array literals ------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int err;  /* sticky: CS_ERR_NOMEM / CS_ERR_LIMIT */
    size_t n; /* elements in the current array */
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    if (b->err)
        return;
    if (n > ARR_MAX - b->len - 1 || b->len + n + 1 > ARR_MAX) {
        b->err = CS_ERR_LIMIT;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > ARR_MAX)
            cap = ARR_MAX;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->err = CS_ERR_NOMEM;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_reset(sbuf *b)
{
    b->len = 0;
    b->n = 0;
    if (b->p)
        b->p[0] = '\0';
}

static void sb_free(sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void arr_begin(sbuf *b)
{
    sb_reset(b);
    sb_putn(b, "{", 1);
}

static const char *arr_end(sbuf *b)
{
    sb_putn(b, "}", 1);
    return b->err ? NULL : b->p;
}

static void arr_sep(sbuf *b)
{
    if (b->n++)
        sb_putn(b, ",", 1);
}

/* A text element, double-quoted with '"' and '\' escaped; NULL is SQL NULL. */
static void arr_text(sbuf *b, const char *s)
{
    arr_sep(b);
    if (!s) {
        sb_putn(b, "NULL", 4);
        return;
    }
    sb_putn(b, "\"", 1);
    for (const char *run = s;;) {
        size_t k = strcspn(run, "\"\\");
        sb_putn(b, run, k);
        if (!run[k])
            break;
        sb_putn(b, "\\", 1);
        sb_putn(b, run + k, 1);
        run += k + 1;
    }
    sb_putn(b, "\"", 1);
}

/* An integer element; CI_NONE is SQL NULL. */
static void arr_int(sbuf *b, int64_t v)
{
    arr_sep(b);
    if (v == CI_NONE) {
        sb_putn(b, "NULL", 4);
        return;
    }
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    sb_putn(b, t, (size_t)n);
}

/* ---- small helpers ---------------------------------------------------------- */

/* Decimal text of v into t (>= 24 bytes), or NULL for CI_NONE. */
static const char *num(char t[24], int64_t v)
{
    if (v == CI_NONE)
        return NULL;
    snprintf(t, 24, "%lld", (long long)v);
    return t;
}

/* A double with full precision, or NULL when not finite / negative (the
 * columns that take one are all >= 0). */
static const char *dbl(char t[32], double v)
{
    if (!isfinite(v) || v < 0)
        return NULL;
    snprintf(t, 32, "%.17g", v);
    return t;
}

/* "" means unknown in a few call.json strings: store NULL. */
static const char *opt(const char *s)
{
    return (s && *s) ? s : NULL;
}

/* One endpoint of an event's "src:port->dst:port" text. */
typedef struct endpoint {
    char host[INET6_ADDRSTRLEN];
    char port[8];
    int ok;
} endpoint;

/* Parses "1.2.3.4:5060" or "[2001:db8::1]:5060" in s[0, len). Sets ok only
 * when the host is a valid IPv4/IPv6 address and the port 0..65535. */
static void parse_endpoint(const char *s, size_t len, endpoint *e)
{
    memset(e, 0, sizeof *e);
    const char *host, *colon;
    size_t hlen;
    if (len > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb || (size_t)(rb - s) + 1 >= len || rb[1] != ':')
            return;
        host = s + 1;
        hlen = (size_t)(rb - host);
        colon = rb + 1;
    } else {
        colon = NULL;
        for (size_t i = len; i > 0; i--)
            if (s[i - 1] == ':') {
                colon = s + i - 1;
                break;
            }
        if (!colon)
            return;
        host = s;
        hlen = (size_t)(colon - s);
    }
    size_t plen = len - (size_t)(colon + 1 - s);
    if (hlen == 0 || hlen >= sizeof e->host || plen == 0 || plen > 5)
        return;
    unsigned port = 0;
    for (size_t i = 0; i < plen; i++) {
        char ch = colon[1 + i];
        if (ch < '0' || ch > '9')
            return;
        port = port * 10 + (unsigned)(ch - '0');
    }
    if (port > 65535)
        return;
    memcpy(e->host, host, hlen);
    e->host[hlen] = '\0';
    unsigned char bin[16];
    if (inet_pton(AF_INET, e->host, bin) != 1 && inet_pton(AF_INET6, e->host, bin) != 1)
        return;
    snprintf(e->port, sizeof e->port, "%u", port);
    e->ok = 1;
}

/* Splits "A->B" into two endpoints (either may come back not ok). */
static void parse_dir(const char *dir, endpoint *src, endpoint *dst)
{
    memset(src, 0, sizeof *src);
    memset(dst, 0, sizeof *dst);
    if (!dir)
        return;
    const char *arrow = strstr(dir, "->");
    if (!arrow)
        return;
    parse_endpoint(dir, (size_t)(arrow - dir), src);
    parse_endpoint(arrow + 2, strlen(arrow + 2), dst);
}

static int ep_same_host(const endpoint *a, const endpoint *b)
{
    return a->ok && b->ok && strcmp(a->host, b->host) == 0;
}

static int ep_same(const endpoint *a, const endpoint *b)
{
    return ep_same_host(a, b) && strcmp(a->port, b->port) == 0;
}

/* ---- the unit of work ---------------------------------------------------- */

typedef struct txctx {
    const store_call_in *in;
    store_call_out *out;
    int64_t *leg_ids;    /* call->nlegs */
    int64_t *stream_ids; /* call->nstreams */
    sbuf a[12];          /* array-literal buffers */
} txctx;

/* Records a failed step in out->msg/sqlstate and returns err. */
static int fail_step(db_conn *c, store_call_out *out, const char *step, int err)
{
    const char *st = db_last_sqlstate(c);
    snprintf(out->sqlstate, sizeof out->sqlstate, "%s", st ? st : "");
    const char *em = db_last_error(c);
    snprintf(out->msg, sizeof out->msg, "%s: %s", step, (em && *em) ? em : cs_err_msg(err));
    if (out->sqlstate[0]) {
        size_t n = strlen(out->msg);
        snprintf(out->msg + n, sizeof out->msg - n, " (SQLSTATE %s)", out->sqlstate);
    }
    return err;
}

static int arrays_ok(txctx *x, size_t n, store_call_out *out, const char *step)
{
    for (size_t i = 0; i < n; i++)
        if (x->a[i].err) {
            snprintf(out->msg, sizeof out->msg, "%s: %s", step, cs_err_msg(x->a[i].err));
            return x->a[i].err;
        }
    return CS_OK;
}

/* The call's end: end_us, else invite + duration, else the latest time
 * any leg, event or stream shows (*guessed = 1), else CI_NONE (the row is
 * then refused by calls.ended_at NOT NULL). */
static int64_t call_end_us(const callinfo *ci, int *guessed)
{
    *guessed = 0;
    if (ci->end_us != CI_NONE)
        return ci->end_us;
    *guessed = 1;
    if (ci->invite_us != CI_NONE && ci->duration_us != CI_NONE && ci->duration_us >= 0 &&
        ci->duration_us <= INT64_MAX - ci->invite_us)
        return ci->invite_us + ci->duration_us;
    int64_t end = ci->invite_us;
#define LATER(v)                                                                                   \
    do {                                                                                           \
        if ((v) != CI_NONE && (end == CI_NONE || (v) > end))                                       \
            end = (v);                                                                             \
    } while (0)
    for (size_t i = 0; i < ci->nlegs; i++) {
        LATER(ci->legs[i].end_us);
        LATER(ci->legs[i].answer_us);
        for (size_t k = 0; k < ci->legs[i].nevents; k++)
            LATER(ci->legs[i].events[k].at_us);
    }
    for (size_t i = 0; i < ci->nstreams; i++)
        LATER(ci->streams[i].last_us);
#undef LATER
    return end;
}

static int put_call(db_conn *c, const callinfo *ci, txctx *x)
{
    char t[12][24];
    int end_guessed = 0;
    int64_t end_us = call_end_us(ci, &end_guessed);
    int64_t hold_ms = 0;
    for (size_t i = 0; i < ci->nholds; i++) {
        int64_t end = ci->holds[i].end_us != CI_NONE ? ci->holds[i].end_us : end_us;
        if (end != CI_NONE && ci->holds[i].start_us != CI_NONE && end > ci->holds[i].start_us)
            hold_ms += (end - ci->holds[i].start_us) / 1000;
    }
    /* duration_ms = ended_at - invite_at, as the schema defines it */
    int64_t duration_ms = CI_NONE;
    if (end_us != CI_NONE && ci->invite_us != CI_NONE && end_us >= ci->invite_us)
        duration_ms = (end_us - ci->invite_us) / 1000;
    /* end_sip_status: the final status when the call failed (not a 2xx). */
    int64_t end_status = ci->final_status;
    if (end_status != CI_NONE && (end_status < 300 || end_status > 699))
        end_status = CI_NONE;
    int64_t q850 = ci->q850_cause;
    if (q850 != CI_NONE && (q850 < 0 || q850 > 127))
        q850 = CI_NONE;

    /* flags: how the call ended when not by signalling, and what capture cut. */
    sbuf *f = &x->a[0];
    arr_begin(f);
    if (ci->end_reason && strcmp(ci->end_reason, "bye") != 0 &&
        strcmp(ci->end_reason, "cancel") != 0 && strcmp(ci->end_reason, "final_response") != 0)
        arr_text(f, ci->end_reason);
    if (ci->streams_refused > 0)
        arr_text(f, "streams_refused");
    if (ci->dtmf_dropped > 0)
        arr_text(f, "dtmf_dropped");
    int ev_dropped = 0;
    for (size_t i = 0; i < ci->nlegs; i++)
        if (ci->legs[i].events_dropped > 0)
            ev_dropped = 1;
    if (ev_dropped)
        arr_text(f, "sip_events_dropped");
    if (end_guessed)
        arr_text(f, "end_unknown");
    if (!ci->has_pcap)
        arr_text(f, "no_pcap");
    else if (!ci->pcap.complete)
        arr_text(f, "pcap_incomplete");
    const char *flags = arr_end(f);
    if (!flags)
        return arrays_ok(x, 1, x->out, "calls");

    const char *p[21] = {
        ci->uuid,
        ci->probe,
        ci->call_id ? ci->call_id : "",
        num(t[0], ci->invite_us),
        num(t[1], ci->ringing_us),
        num(t[2], ci->answer_us),
        num(t[3], end_us),
        opt(ci->ani),
        opt(ci->dnis),
        ci->nagents > 0 ? ci->agents[0] : NULL,
        ci->outcome,
        num(t[4], ci->abandon_us),
        ci->ended_by,
        num(t[5], end_status),
        num(t[6], q850),
        ci->sip_reason ? ci->sip_reason : ci->end_reason,
        num(t[7], duration_ms),
        num(t[8], (int64_t)ci->nholds),
        num(t[9], hold_ms),
        num(t[10], (int64_t)ci->ntransfers),
        flags,
    };
    static const char sql[] =
        "INSERT INTO calls (uuid, probe, call_id, invite_at, ringing_at, answered_at, ended_at,"
        " ani, dnis, queue_id, agent_id, outcome, abandon_at, ended_by, end_sip_status,"
        " end_q850_cause, end_reason, duration_ms, hold_count, hold_ms, transfer_count, flags)"
        " VALUES ($1::uuid, $2, $3, " TS("$4") ", " TS("$5") ", " TS("$6") ", " TS(
            "$7") ","
                  " $8, $9, (SELECT queue_id FROM queue_dnis WHERE dnis = $9),"
                  " (SELECT id FROM agents WHERE extension = $10), $11, " TS(
                      "$12") ", $13,"
                             " $14::smallint, $15::smallint, $16, $17::integer, $18::integer, "
                             "$19::integer,"
                             " $20::integer, $21::text[])"
                             " ON CONFLICT (uuid) DO UPDATE SET probe = EXCLUDED.probe, call_id = "
                             "EXCLUDED.call_id,"
                             " invite_at = EXCLUDED.invite_at, ringing_at = EXCLUDED.ringing_at,"
                             " answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at, "
                             "ani = EXCLUDED.ani,"
                             " dnis = EXCLUDED.dnis, queue_id = EXCLUDED.queue_id, agent_id = "
                             "EXCLUDED.agent_id,"
                             " outcome = EXCLUDED.outcome, abandon_at = EXCLUDED.abandon_at,"
                             " ended_by = EXCLUDED.ended_by, end_sip_status = "
                             "EXCLUDED.end_sip_status,"
                             " end_q850_cause = EXCLUDED.end_q850_cause, end_reason = "
                             "EXCLUDED.end_reason,"
                             " duration_ms = EXCLUDED.duration_ms, hold_count = "
                             "EXCLUDED.hold_count,"
                             " hold_ms = EXCLUDED.hold_ms, transfer_count = "
                             "EXCLUDED.transfer_count,"
                             " flags = EXCLUDED.flags";
    int rc = db_command(c, sql, 21, p, NULL);
    return rc ? fail_step(c, x->out, "calls", rc) : CS_OK;
}

static int delete_children(db_conn *c, const char *uuid, store_call_out *out)
{
    /* dtmf_events before rtp_streams (they cascade from streams anyway),
     * streams/holds before legs (they point at legs with SET NULL). */
    static const char *const sql[] = {
        "DELETE FROM talk_segments WHERE call_uuid = $1::uuid",
        "DELETE FROM dtmf_events WHERE call_uuid = $1::uuid",
        "DELETE FROM rtp_streams WHERE call_uuid = $1::uuid",
        "DELETE FROM holds WHERE call_uuid = $1::uuid",
        "DELETE FROM transfers WHERE call_uuid = $1::uuid",
        "DELETE FROM legs WHERE call_uuid = $1::uuid",
    };
    const char *p[1] = {uuid};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        int rc = db_command(c, sql[i], 1, p, NULL);
        if (rc)
            return fail_step(c, out, "delete old rows", rc);
    }
    return CS_OK;
}

/* The schema's vocabularies; a value the contract may add later is stored
 * as the neutral one rather than failing the whole call. */
static const char *leg_role(const char *r)
{
    if (r && (strcmp(r, "inbound") == 0 || strcmp(r, "agent") == 0))
        return r;
    return "other";
}

static const char *leg_transport(const char *t)
{
    static const char *const ok[] = {"udp", "tcp", "tls", "sctp", "ws", "wss"};
    for (size_t i = 0; t && i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(t, ok[i]) == 0)
            return ok[i];
    return NULL;
}

static int put_legs(db_conn *c, const callinfo *ci, txctx *x)
{
    static const char sql[] =
        "INSERT INTO legs (call_uuid, call_id, from_tag, to_tag, role, from_user, to_user,"
        " ruri_user, agent_extension, invite_at, ringing_at, answered_at, ended_at, final_status,"
        " transport) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, " TS("$10") ", " TS(
            "$11") ", " TS("$12") ", " TS("$13") ", $14::smallint, $15) RETURNING id";
    for (size_t i = 0; i < ci->nlegs; i++) {
        const ci_leg *l = &ci->legs[i];
        char t[5][24];
        int64_t fs = l->final_status;
        if (fs != CI_NONE && (fs < 100 || fs > 699))
            fs = CI_NONE;
        const char *p[15] = {ci->uuid,
                             l->call_id ? l->call_id : "",
                             opt(l->from_tag),
                             opt(l->to_tag),
                             leg_role(l->role),
                             opt(l->from_user),
                             opt(l->to_user),
                             opt(l->ruri_user),
                             opt(l->agent_ext),
                             num(t[0], l->invite_us),
                             num(t[1], l->ringing_us),
                             num(t[2], l->answer_us),
                             num(t[3], l->end_us),
                             num(t[4], fs),
                             leg_transport(l->transport)};
        db_result *r = NULL;
        int rc = db_query(c, sql, 15, p, &r);
        if (rc == CS_OK && (rc = db_result_int64(r, 0, 0, &x->leg_ids[i])) != CS_OK)
            snprintf(x->out->msg, sizeof x->out->msg, "legs: no id returned");
        db_result_free(r);
        if (rc)
            return x->out->msg[0] ? rc : fail_step(c, x->out, "legs", rc);
        x->out->legs++;
    }
    return CS_OK;
}

/* The PBX side of a leg, from its initial INVITE: the inbound leg's INVITE
 * goes to the PBX, an agent leg's INVITE comes from it. */
static void leg_pbx(const ci_leg *l, endpoint *pbx)
{
    memset(pbx, 0, sizeof *pbx);
    for (size_t i = 0; i < l->nevents; i++) {
        const ci_event *e = &l->events[i];
        if (!e->method || strcmp(e->method, "INVITE") != 0)
            continue;
        endpoint s, d;
        parse_dir(e->dir, &s, &d);
        if (strcmp(l->role, "inbound") == 0)
            *pbx = d;
        else if (strcmp(l->role, "agent") == 0)
            *pbx = s;
        return;
    }
}

static const char *event_direction(const endpoint *pbx, const endpoint *s, const endpoint *d)
{
    if (!pbx->ok)
        return "unknown";
    /* the whole endpoint first (PBX and phone may share a host), then the host */
    if (ep_same(s, pbx) && !ep_same(d, pbx))
        return "from_pbx";
    if (ep_same(d, pbx) && !ep_same(s, pbx))
        return "to_pbx";
    if (ep_same_host(s, pbx) && !ep_same_host(d, pbx))
        return "from_pbx";
    if (ep_same_host(d, pbx) && !ep_same_host(s, pbx))
        return "to_pbx";
    return "unknown";
}

static int put_sip_events(db_conn *c, const callinfo *ci, txctx *x)
{
    sbuf *a = x->a;
    for (int k = 0; k < 12; k++)
        arr_begin(&a[k]);
    size_t n = 0;
    for (size_t li = 0; li < ci->nlegs; li++) {
        const ci_leg *l = &ci->legs[li];
        endpoint pbx;
        leg_pbx(l, &pbx);
        int confirmed = 0; /* a 2xx to an INVITE seen: later INVITEs are re-INVITEs */
        for (size_t i = 0; i < l->nevents; i++) {
            const ci_event *e = &l->events[i];
            endpoint s, d;
            parse_dir(e->dir, &s, &d);
            char summary[160];
            const char *sdp = e->sdp ? " sdp" : "";
            const char *attr_k = (e->sdp && e->dir_attr) ? " a=" : "";
            const char *attr_v = (e->sdp && e->dir_attr) ? e->dir_attr : "";
            int64_t status = e->status;
            const char *method = e->method;
            if (method && status != CI_NONE)
                status = CI_NONE; /* the schema wants exactly one of them */
            if (!method && (status == CI_NONE || status < 100 || status > 699)) {
                method = "?"; /* a response with an impossible status: keep the row */
                status = CI_NONE;
            }
            if (method) {
                int re = confirmed && strcmp(method, "INVITE") == 0;
                snprintf(summary, sizeof summary, "%s%.60s%s%s%.16s", re ? "re-" : "", method, sdp,
                         attr_k, attr_v);
            } else {
                if (status >= 200 && status < 300 && e->cseq_method &&
                    strcmp(e->cseq_method, "INVITE") == 0)
                    confirmed = 1;
                snprintf(summary, sizeof summary, "%lld %.60s%s%s%.16s", (long long)status,
                         e->cseq_method ? e->cseq_method : "", sdp, attr_k, attr_v);
            }
            int64_t cseq = e->cseq;
            if (cseq != CI_NONE && (cseq < 0 || cseq > 4294967295LL))
                cseq = CI_NONE;
            arr_int(&a[0], x->leg_ids[li]);
            arr_int(&a[1], e->at_us);
            arr_text(&a[2], event_direction(&pbx, &s, &d));
            arr_text(&a[3], method);
            arr_int(&a[4], status);
            arr_int(&a[5], cseq);
            arr_text(&a[6], e->cseq_method);
            arr_text(&a[7], s.ok ? s.host : NULL);
            arr_text(&a[8], s.ok ? s.port : NULL);
            arr_text(&a[9], d.ok ? d.host : NULL);
            arr_text(&a[10], d.ok ? d.port : NULL);
            arr_text(&a[11], summary);
            n++;
        }
    }
    if (n == 0)
        return CS_OK;
    const char *p[12];
    for (int k = 0; k < 12; k++)
        p[k] = arr_end(&a[k]);
    int rc = arrays_ok(x, 12, x->out, "sip_events");
    if (rc)
        return rc;
    static const char sql[] =
        "INSERT INTO sip_events (leg_id, at, direction, method, status, cseq, cseq_method,"
        " src_ip, src_port, dst_ip, dst_port, summary)"
        " SELECT u.leg_id, " TS(
            "u.at_us") ", u.dir, u.method, u.status, u.cseq, u.cseq_method,"
                       " u.src_ip::inet, u.src_port::integer, u.dst_ip::inet, u.dst_port::integer, "
                       "u.summary"
                       " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], "
                       "$5::smallint[],"
                       " $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], "
                       "$11::text[], $12::text[])"
                       " WITH ORDINALITY AS u(leg_id, at_us, dir, method, status, cseq, "
                       "cseq_method, src_ip,"
                       " src_port, dst_ip, dst_port, summary, ord) ORDER BY u.ord";
    int64_t affected = 0;
    rc = db_command(c, sql, 12, p, &affected);
    if (rc)
        return fail_step(c, x->out, "sip_events", rc);
    x->out->sip_events = (size_t)affected;
    return CS_OK;
}

/* The stream in the opposite direction on the same leg (its sender's RTCP
 * report blocks are about this stream), or -1. */
static long reverse_stream(const callinfo *ci, size_t si)
{
    const ci_stream *s = &ci->streams[si];
    ci_dir want;
    switch (s->dir) {
    case CI_DIR_CUSTOMER_TO_PBX:
        want = CI_DIR_PBX_TO_CUSTOMER;
        break;
    case CI_DIR_PBX_TO_CUSTOMER:
        want = CI_DIR_CUSTOMER_TO_PBX;
        break;
    case CI_DIR_AGENT_TO_PBX:
        want = CI_DIR_PBX_TO_AGENT;
        break;
    case CI_DIR_PBX_TO_AGENT:
        want = CI_DIR_AGENT_TO_PBX;
        break;
    default:
        return -1;
    }
    for (size_t i = 0; i < ci->nstreams; i++)
        if (i != si && ci->streams[i].leg == s->leg && ci->streams[i].dir == want)
            return (long)i;
    return -1;
}

/* Copies s into out (cap bytes) cut at a UTF-8 boundary. */
static const char *cut_utf8(const char *s, char *out, size_t cap)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    if (n < cap)
        return s;
    n = cap - 1;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static int put_streams(db_conn *c, const callinfo *ci, txctx *x)
{
    static const char sql[] =
        "INSERT INTO rtp_streams (call_uuid, leg_id, ssrc, direction, src_ip, src_port, dst_ip,"
        " dst_port, payload_types, codec, clock_rate, packets, bytes, lost, duplicates,"
        " out_of_order, jitter_ms, max_gap_ms, ssrc_changes, first_at, last_at, rtcp_reports,"
        " rtcp_loss_fraction, rtcp_cum_lost, rtcp_jitter_ms, decode_status, decode_reason)"
        " VALUES ($1::uuid, $2::bigint, $3::bigint, $4, $5::inet, $6::integer, $7::inet,"
        " $8::integer, $9::smallint[], $10, $11::integer, $12::bigint, $13::bigint, $14::bigint,"
        " $15::bigint, $16::bigint, $17::double precision, $18::integer, $19::integer, " TS(
            "$20") ", " TS("$21") ", $22::integer, $23::double precision, $24::bigint,"
                                  " $25::double precision, $26, $27) RETURNING id";
    for (size_t i = 0; i < ci->nstreams; i++) {
        const ci_stream *s = &ci->streams[i];
        char t[20][24];
        char d[4][32];
        char reason[STORE_REASON_MAX + 1];
        sbuf *pt = &x->a[0];
        arr_begin(pt);
        for (size_t k = 0; k < s->npayload_types; k++)
            arr_int(pt, s->payload_types[k]);
        const char *pts = arr_end(pt);
        if (!pts)
            return arrays_ok(x, 1, x->out, "rtp_streams");

        /* RTCP about this stream comes from its receiver: the reverse stream. */
        long rv = reverse_stream(ci, i);
        const ci_rtcp *rr = rv >= 0 ? &ci->streams[rv].rtcp : NULL;
        int have_rb = rr && rr->last_fraction_lost != CI_NONE;
        int64_t reports = have_rb ? rr->sr + rr->rr : 0;
        const char *loss_frac = NULL, *cum = NULL, *rjit = NULL;
        if (have_rb) {
            loss_frac = dbl(d[1], (double)rr->last_fraction_lost / 256.0);
            cum = num(t[12], rr->last_cumulative_lost);
            if (rr->last_jitter != CI_NONE && s->clock_rate != CI_NONE && s->clock_rate > 0)
                rjit = dbl(d[2], (double)rr->last_jitter * 1000.0 / (double)s->clock_rate);
        }
        store_decode_status st = STORE_DEC_SKIPPED;
        const char *why = "decode result not supplied";
        if (x->in->streams) {
            st = x->in->streams[i].status;
            why = x->in->streams[i].reason;
        }
        const char *stname = store_decode_status_name(st);
        int64_t max_gap = CI_NONE;
        if (isfinite(s->max_gap_ms) && s->max_gap_ms >= 0 && s->max_gap_ms < 2147483647.0)
            max_gap = (int64_t)llround(s->max_gap_ms);
        int64_t clock = s->clock_rate;
        if (clock != CI_NONE && (clock <= 0 || clock > 2147483647))
            clock = CI_NONE;
        const char *p[27] = {ci->uuid,
                             num(t[0], x->leg_ids[s->leg]),
                             num(t[1], (int64_t)s->ssrc),
                             s->direction ? s->direction : "unknown",
                             s->src,
                             num(t[2], s->src_port),
                             s->dst,
                             num(t[3], s->dst_port),
                             pts,
                             opt(s->codec),
                             num(t[4], clock),
                             num(t[5], s->packets),
                             num(t[6], s->bytes),
                             num(t[7], s->lost),
                             num(t[8], s->duplicates),
                             num(t[9], s->out_of_order),
                             dbl(d[0], s->jitter_ms),
                             num(t[10], max_gap),
                             num(t[11], s->ssrc_changes),
                             num(t[13], s->first_us),
                             num(t[14], s->last_us),
                             num(t[15], reports),
                             loss_frac,
                             cum,
                             rjit,
                             stname ? stname : "failed",
                             cut_utf8(why, reason, sizeof reason)};
        if (ci_dir_from_name(p[3]) == CI_DIR_UNKNOWN)
            p[3] = "unknown"; /* the contract reserves other names; the schema refuses them */
        db_result *r = NULL;
        int rc = db_query(c, sql, 27, p, &r);
        if (rc == CS_OK && (rc = db_result_int64(r, 0, 0, &x->stream_ids[i])) != CS_OK)
            snprintf(x->out->msg, sizeof x->out->msg, "rtp_streams: no id returned");
        db_result_free(r);
        if (rc)
            return x->out->msg[0] ? rc : fail_step(c, x->out, "rtp_streams", rc);
        x->out->streams++;
    }
    return CS_OK;
}

static int put_dtmf(db_conn *c, const callinfo *ci, txctx *x)
{
    sbuf *a = x->a;
    for (int k = 0; k < 5; k++)
        arr_begin(&a[k]);
    size_t n = 0;
    for (size_t i = 0; i < ci->ndtmf; i++) {
        const ci_dtmf *e = &ci->dtmf[i];
        char digit[2] = {0, 0};
        if (e->digit && e->digit[0] && !e->digit[1]) {
            char ch = e->digit[0];
            if (ch >= 'a' && ch <= 'd')
                ch = (char)(ch - 'a' + 'A');
            if ((ch >= '0' && ch <= '9') || ch == '*' || ch == '#' || (ch >= 'A' && ch <= 'D'))
                digit[0] = ch;
        }
        if (!digit[0]) {
            x->out->dtmf_skipped++;
            continue;
        }
        int masked = x->in->dtmf_masked && x->in->dtmf_masked[i];
        int64_t dur = e->duration_ms;
        if (dur != CI_NONE && (dur < 0 || dur > 2147483647))
            dur = CI_NONE;
        arr_int(&a[0], x->stream_ids[e->stream]);
        arr_text(&a[1], masked ? NULL : digit);
        arr_text(&a[2], masked ? "t" : "f");
        arr_int(&a[3], e->at_us);
        arr_int(&a[4], dur);
        n++;
    }
    if (n == 0)
        return CS_OK;
    const char *p[6] = {ci->uuid};
    for (int k = 0; k < 5; k++)
        p[k + 1] = arr_end(&a[k]);
    int rc = arrays_ok(x, 5, x->out, "dtmf_events");
    if (rc)
        return rc;
    static const char sql[] =
        "INSERT INTO dtmf_events (call_uuid, stream_id, source, digit, masked, at, duration_ms)"
        " SELECT $1::uuid, u.stream_id, 'rfc4733', u.digit, u.masked, " TS(
            "u.at_us") ", u.duration_ms FROM unnest($2::bigint[], $3::text[], $4::boolean[], "
                       "$5::bigint[],"
                       " $6::integer[]) WITH ORDINALITY AS u(stream_id, digit, masked, at_us, "
                       "duration_ms, ord)"
                       " ORDER BY u.ord";
    int64_t affected = 0;
    rc = db_command(c, sql, 6, p, &affected);
    if (rc)
        return fail_step(c, x->out, "dtmf_events", rc);
    x->out->dtmf = (size_t)affected;
    return CS_OK;
}

static int put_holds_transfers(db_conn *c, const callinfo *ci, txctx *x)
{
    sbuf *a = x->a;
    int rc;
    int64_t affected = 0;
    if (ci->nholds > 0) {
        for (int k = 0; k < 4; k++)
            arr_begin(&a[k]);
        for (size_t i = 0; i < ci->nholds; i++) {
            const ci_hold *h = &ci->holds[i];
            const char *by = "unknown";
            if (h->by && (strcmp(h->by, "agent") == 0 || strcmp(h->by, "caller") == 0))
                by = h->by;
            arr_int(&a[0], x->leg_ids[h->leg]);
            arr_text(&a[1], by);
            arr_int(&a[2], h->start_us);
            arr_int(&a[3], h->end_us);
        }
        const char *p[5] = {ci->uuid};
        for (int k = 0; k < 4; k++)
            p[k + 1] = arr_end(&a[k]);
        if ((rc = arrays_ok(x, 4, x->out, "holds")) != CS_OK)
            return rc;
        static const char sql[] =
            "INSERT INTO holds (call_uuid, leg_id, held_by, start_at, end_at)"
            " SELECT $1::uuid, u.leg_id, u.held_by, " TS("u.start_us") ", " TS(
                "u.end_us") " FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[])"
                            " WITH ORDINALITY AS u(leg_id, held_by, start_us, end_us, ord) ORDER "
                            "BY u.ord";
        if ((rc = db_command(c, sql, 5, p, &affected)) != CS_OK)
            return fail_step(c, x->out, "holds", rc);
        x->out->holds = (size_t)affected;
    }
    if (ci->ntransfers > 0) {
        for (int k = 0; k < 4; k++)
            arr_begin(&a[k]);
        for (size_t i = 0; i < ci->ntransfers; i++) {
            const ci_transfer *t = &ci->transfers[i];
            arr_int(&a[0], t->at_us);
            arr_text(&a[1], (t->kind && strcmp(t->kind, "refer") == 0) ? "refer" : "new_leg");
            arr_text(&a[2], opt(t->from));
            arr_text(&a[3], opt(t->to));
        }
        const char *p[5] = {ci->uuid};
        for (int k = 0; k < 4; k++)
            p[k + 1] = arr_end(&a[k]);
        if ((rc = arrays_ok(x, 4, x->out, "transfers")) != CS_OK)
            return rc;
        /* kind: capture cannot tell attended from blind (no Replaces seen);
         * both mechanisms are recorded as blind (docs/decode-store.md). */
        static const char sql[] =
            "INSERT INTO transfers (call_uuid, at, kind, mechanism, from_extension, to_extension,"
            " from_agent_id, to_agent_id)"
            " SELECT $1::uuid, " TS(
                "u.at_us") ", 'blind', u.mech, u.fx, u.tx,"
                           " (SELECT id FROM agents WHERE extension = u.fx),"
                           " (SELECT id FROM agents WHERE extension = u.tx)"
                           " FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])"
                           " WITH ORDINALITY AS u(at_us, mech, fx, tx, ord) ORDER BY u.ord";
        if ((rc = db_command(c, sql, 5, p, &affected)) != CS_OK)
            return fail_step(c, x->out, "transfers", rc);
        x->out->transfers = (size_t)affected;
    }
    return CS_OK;
}

static int put_segments(db_conn *c, const store_call_in *in, txctx *x)
{
    if (in->nsegs == 0)
        return CS_OK;
    sbuf *a = x->a;
    for (int k = 0; k < 3; k++)
        arr_begin(&a[k]);
    for (size_t i = 0; i < in->nsegs; i++) {
        arr_int(&a[0], in->segs[i].channel);
        arr_int(&a[1], in->segs[i].start_ms);
        arr_int(&a[2], in->segs[i].end_ms);
    }
    const char *p[4] = {in->call->uuid};
    for (int k = 0; k < 3; k++)
        p[k + 1] = arr_end(&a[k]);
    int rc = arrays_ok(x, 3, x->out, "talk_segments");
    if (rc)
        return rc;
    static const char sql[] =
        "INSERT INTO talk_segments (call_uuid, channel, start_ms, end_ms)"
        " SELECT $1::uuid, u.ch, u.s, u.e FROM unnest($2::smallint[], $3::integer[],"
        " $4::integer[]) WITH ORDINALITY AS u(ch, s, e, ord) ORDER BY u.ord";
    int64_t affected = 0;
    if ((rc = db_command(c, sql, 4, p, &affected)) != CS_OK)
        return fail_step(c, x->out, "talk_segments", rc);
    x->out->segments = (size_t)affected;
    return CS_OK;
}

/* Columns of a recordings row, in the order read_recording() expects. */
#define REC_COLS                                                                                   \
    "seq, path, format, sample_rate, channels, cs_epoch_us(started_at), duration_ms, bytes,"       \
    " encode(sha256, 'hex'), encode(chain_hash, 'hex'), cs_epoch_us(created_at)"

static int read_recording(const db_result *r, store_recording *out)
{
    memset(out, 0, sizeof *out);
    int64_t v = 0;
    int rc = db_result_int64(r, 0, 0, &out->seq);
    const char *path = db_result_value(r, 0, 1);
    const char *fmt = db_result_value(r, 0, 2);
    const char *sha = db_result_value(r, 0, 8);
    const char *ch = db_result_value(r, 0, 9);
    if (rc || !path || !fmt || !sha || !ch)
        return rc ? rc : CS_ERR_MALFORMED;
    if (strlen(path) >= sizeof out->path)
        return CS_ERR_OVERFLOW;
    snprintf(out->path, sizeof out->path, "%s", path);
    snprintf(out->format, sizeof out->format, "%s", fmt);
    snprintf(out->sha256_hex, sizeof out->sha256_hex, "%s", sha);
    snprintf(out->chain_hash_hex, sizeof out->chain_hash_hex, "%s", ch);
    if ((rc = db_result_int64(r, 0, 3, &v)) != CS_OK)
        return rc;
    out->sample_rate = (int)v;
    if ((rc = db_result_int64(r, 0, 4, &v)) != CS_OK)
        return rc;
    out->channels = (int)v;
    if ((rc = db_result_int64(r, 0, 5, &out->started_us)) != CS_OK ||
        (rc = db_result_int64(r, 0, 6, &out->duration_ms)) != CS_OK ||
        (rc = db_result_int64(r, 0, 7, &out->bytes)) != CS_OK ||
        (rc = db_result_int64(r, 0, 10, &out->created_us)) != CS_OK)
        return rc;
    return CS_OK;
}

int store_recording_get(db_conn *c, const char *uuid, store_recording *out)
{
    if (!c || !uuid || !out || !archive_uuid_valid(uuid, strlen(uuid)))
        return CS_ERR_INVAL;
    const char *p[1] = {uuid};
    db_result *r = NULL;
    int rc =
        db_query(c, "SELECT " REC_COLS " FROM recordings WHERE call_uuid = $1::uuid", 1, p, &r);
    if (rc == CS_OK)
        rc = db_result_rows(r) == 0 ? CS_ERR_NOTFOUND : read_recording(r, out);
    db_result_free(r);
    return rc;
}

static int put_job_and_recording(db_conn *c, const store_call_in *in, txctx *x)
{
    const callinfo *ci = in->call;
    store_call_out *out = x->out;
    int rc = store_recording_get(c, ci->uuid, &out->recording);
    if (rc == CS_OK) {
        out->already_archived = 1;
        if (in->rec && strcmp(in->rec->sha256_hex, out->recording.sha256_hex) != 0)
            out->sha_differs = 1;
    } else if (rc == CS_ERR_NOTFOUND) {
        memset(&out->recording, 0, sizeof out->recording);
    } else {
        return out->msg[0] ? rc : fail_step(c, out, "recordings (lookup)", rc);
    }
    int have = out->already_archived || in->rec;

    const char *kind = in->job_kind ? in->job_kind : STORE_JOB_KIND;
    if (have && kind[0]) {
        char payload[80];
        snprintf(payload, sizeof payload, "{\"call_uuid\": \"%s\"}", ci->uuid);
        rc = jobq_enqueue(c, kind, ci->uuid, payload, in->job_priority, &out->job_id);
        if (rc)
            return fail_step(c, out, "jobs", rc);
    }

    if (out->already_archived || !in->rec)
        return CS_OK;
    /* The last statement of the transaction (chain lock until COMMIT). */
    const archive_result *a = in->rec;
    char t[6][24];
    const char *fmt = archive_format_name(a->format);
    const char *p[9] = {ci->uuid,
                        a->path,
                        fmt ? fmt : "?",
                        num(t[0], a->sample_rate),
                        num(t[1], a->channels),
                        num(t[2], in->rec_started_us),
                        num(t[3], a->duration_ms),
                        num(t[4], (int64_t)a->bytes),
                        a->sha256_hex};
    static const char sql[] =
        "INSERT INTO recordings (call_uuid, path, format, sample_rate, channels, started_at,"
        " duration_ms, bytes, sha256) VALUES ($1::uuid, $2, $3, $4::integer, $5::smallint, " TS(
            "$6") ", $7::integer, $8::bigint, decode($9, 'hex'))"
                  " ON CONFLICT (call_uuid) DO NOTHING RETURNING " REC_COLS;
    db_result *r = NULL;
    rc = db_query(c, sql, 9, p, &r);
    if (rc) {
        db_result_free(r);
        return fail_step(c, out, "recordings", rc);
    }
    if (db_result_rows(r) == 1) {
        rc = read_recording(r, &out->recording);
        db_result_free(r);
        if (rc)
            snprintf(out->msg, sizeof out->msg, "recordings: cannot read back the row: %s",
                     cs_err_msg(rc));
        return rc;
    }
    db_result_free(r);
    /* Another writer chained this call between our lookup and insert. */
    rc = store_recording_get(c, ci->uuid, &out->recording);
    if (rc)
        return fail_step(c, out, "recordings (re-read)", rc);
    out->already_archived = 1;
    out->sha_differs = strcmp(a->sha256_hex, out->recording.sha256_hex) != 0;
    return CS_OK;
}

static int store_tx(db_conn *c, void *arg)
{
    txctx *x = arg;
    const store_call_in *in = x->in;
    const callinfo *ci = in->call;
    /* may run again after a serialization failure: start clean */
    memset(x->out, 0, sizeof *x->out);
    int rc;
    if ((rc = put_call(c, ci, x)) != CS_OK ||
        (rc = delete_children(c, ci->uuid, x->out)) != CS_OK ||
        (rc = put_legs(c, ci, x)) != CS_OK || (rc = put_sip_events(c, ci, x)) != CS_OK ||
        (rc = put_streams(c, ci, x)) != CS_OK || (rc = put_dtmf(c, ci, x)) != CS_OK ||
        (rc = put_holds_transfers(c, ci, x)) != CS_OK || (rc = put_segments(c, in, x)) != CS_OK ||
        (rc = put_job_and_recording(c, in, x)) != CS_OK)
        return rc;
    return CS_OK;
}

/* Server-side conditions that pass: try again later rather than fail the entry. */
static int sqlstate_transient(const char *st)
{
    if (!st || strlen(st) != 5)
        return 0;
    return strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0 || strncmp(st, "57", 2) == 0 ||
           strncmp(st, "58", 2) == 0 || strcmp(st, "55P03") == 0 || strncmp(st, "40", 2) == 0;
}

static int check_refs(const callinfo *ci, store_call_out *out)
{
    for (size_t i = 0; i < ci->nstreams; i++)
        if (ci->streams[i].leg < 0 || (uint64_t)ci->streams[i].leg >= ci->nlegs)
            goto bad;
    for (size_t i = 0; i < ci->ndtmf; i++)
        if (ci->dtmf[i].stream < 0 || (uint64_t)ci->dtmf[i].stream >= ci->nstreams)
            goto bad;
    for (size_t i = 0; i < ci->nholds; i++)
        if (ci->holds[i].leg < 0 || (uint64_t)ci->holds[i].leg >= ci->nlegs)
            goto bad;
    return CS_OK;
bad:
    snprintf(out->msg, sizeof out->msg, "call.json: a leg/stream reference is out of range");
    return CS_ERR_INVAL;
}

int store_call(db_conn *c, const store_call_in *in, store_call_out *out)
{
    if (!out)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if (!c || !in || !in->call || !in->call->uuid ||
        !archive_uuid_valid(in->call->uuid, strlen(in->call->uuid)) ||
        (in->nsegs > 0 && !in->segs)) {
        snprintf(out->msg, sizeof out->msg, "store: bad arguments (NULL, or a non-canonical uuid)");
        return CS_ERR_INVAL;
    }
    const callinfo *ci = in->call;
    int rc = check_refs(ci, out);
    if (rc)
        return rc;
    txctx x;
    memset(&x, 0, sizeof x);
    x.in = in;
    x.out = out;
    x.leg_ids = calloc(ci->nlegs ? ci->nlegs : 1, sizeof *x.leg_ids);
    x.stream_ids = calloc(ci->nstreams ? ci->nstreams : 1, sizeof *x.stream_ids);
    if (!x.leg_ids || !x.stream_ids) {
        rc = CS_ERR_NOMEM;
        snprintf(out->msg, sizeof out->msg, "store: out of memory");
    } else {
        rc = db_transaction(c, DB_READ_COMMITTED, 0, store_tx, &x);
    }
    for (size_t k = 0; k < sizeof x.a / sizeof x.a[0]; k++)
        sb_free(&x.a[k]);
    free(x.leg_ids);
    free(x.stream_ids);
    if (rc == CS_OK) {
        out->msg[0] = '\0';
        out->sqlstate[0] = '\0';
        return CS_OK;
    }
    if (!out->msg[0])
        fail_step(c, out, rc == CS_ERR_DB_CONN ? "connection" : "commit", rc);
    if (rc == CS_ERR_DB && sqlstate_transient(out->sqlstate))
        rc = CS_ERR_BUSY;
    return rc;
}
