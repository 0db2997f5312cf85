/*
 * callinfo.c — call.json into struct callinfo (see callinfo.h).
 *
 * One walk over the jsonp tree with a running JSON pointer, so every failure
 * names the field it is about. All copies go to a block arena hung off the
 * callinfo: freeing is one loop over the blocks.
 */
#include "callinfo.h"

#include "error.h"
#include "jsonp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ------------------------------------------------------------- */

typedef struct ci_block {
    struct ci_block *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char data[];
} ci_block;

typedef struct ci_arena {
    ci_block *head;
} ci_arena;

#define CI_BLOCK_MIN 8192

static void *arena_alloc(ci_arena *a, size_t n)
{
    const size_t al = _Alignof(max_align_t);
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / 2)
        return NULL;
    n = (n + al - 1) / al * al;
    ci_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > CI_BLOCK_MIN ? n : CI_BLOCK_MIN;
        b = malloc(sizeof(ci_block) + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static void arena_free(ci_arena *a)
{
    ci_block *b = a ? a->head : NULL;
    while (b) {
        ci_block *n = b->next;
        free(b);
        b = n;
    }
    free(a);
}

/* ---- walk context -------------------------------------------------------- */

typedef struct ctx {
    ci_arena *arena;
    callinfo_error *err;
    char path[160];
    size_t plen;
    int rc; /* first error, sticky */
} ctx;

/* Records the first failure at path + "/" + key (key may be NULL). */
__attribute__((format(printf, 4, 5))) static int fail(ctx *c, const char *key, int rc,
                                                      const char *fmt, ...)
{
    if (c->rc != CS_OK)
        return c->rc;
    c->rc = rc;
    if (c->err) {
        char reason[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof reason, fmt, ap);
        va_end(ap);
        /* precisions keep both within their buffers (paths are short in practice) */
        snprintf(c->err->field, sizeof c->err->field, "%.100s%s%.50s", c->path, key ? "/" : "",
                 key ? key : "");
        snprintf(c->err->msg, sizeof c->err->msg, "%.158s: %.150s",
                 c->err->field[0] ? c->err->field : "/", reason);
    }
    return rc;
}

static size_t push_key(ctx *c, const char *key)
{
    size_t old = c->plen;
    int w = snprintf(c->path + old, sizeof c->path - old, "/%s", key);
    if (w > 0 && (size_t)w < sizeof c->path - old)
        c->plen += (size_t)w;
    else
        c->path[old] = '\0';
    return old;
}

static size_t push_index(ctx *c, size_t i)
{
    char k[24];
    snprintf(k, sizeof k, "%zu", i);
    return push_key(c, k);
}

static void pop(ctx *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

static const jsonp_val *member(ctx *c, const jsonp_val *obj, const char *key)
{
    const jsonp_val *v = jsonp_get(obj, key);
    if (!v)
        fail(c, key, CS_ERR_MALFORMED, "missing");
    return v;
}

static int wrong_type(ctx *c, const char *key, const jsonp_val *v, const char *want)
{
    return fail(c, key, CS_ERR_MALFORMED, "expected %s, got %s", want,
                jsonp_type_name(jsonp_type_of(v)));
}

/* Integer member within [lo, hi]; nullable: JSON null gives CI_NONE. */
static void rd_int(ctx *c, const jsonp_val *obj, const char *key, int64_t *out, int nullable,
                   int64_t lo, int64_t hi)
{
    const jsonp_val *v = member(c, obj, key);
    if (!v)
        return;
    if (jsonp_is_null(v)) {
        if (nullable)
            *out = CI_NONE;
        else
            wrong_type(c, key, v, "integer");
        return;
    }
    int64_t x;
    int rc = jsonp_int(v, &x);
    if (rc == CS_ERR_OVERFLOW || (rc == CS_OK && (x < lo || x > hi))) {
        fail(c, key, CS_ERR_MALFORMED, "integer out of range %lld..%lld", (long long)lo,
             (long long)hi);
        return;
    }
    if (rc != CS_OK) {
        wrong_type(c, key, v, nullable ? "integer or null" : "integer");
        return;
    }
    *out = x;
}

#define U_MAX  INT64_MAX
#define US_MAX ((int64_t)1 << 62) /* times: same bound as decode/timeline */
#define NN     0                  /* not nullable */
#define NULLOK 1

static void rd_count(ctx *c, const jsonp_val *obj, const char *key, int64_t *out)
{
    rd_int(c, obj, key, out, NN, 0, U_MAX);
}

static void rd_time(ctx *c, const jsonp_val *obj, const char *key, int64_t *out)
{
    rd_int(c, obj, key, out, NULLOK, 0, US_MAX);
}

static char *copy_str(ctx *c, const char *s, size_t len)
{
    char *p = arena_alloc(c->arena, len + 1);
    if (!p) {
        fail(c, NULL, CS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

/* A string value (key names it in messages; may be NULL when v is an element). */
static char *str_of(ctx *c, const char *key, const jsonp_val *v, int nullable)
{
    if (!v)
        return NULL;
    if (nullable && jsonp_is_null(v))
        return NULL;
    size_t len;
    const char *s = jsonp_str(v, &len);
    if (!s) {
        wrong_type(c, key, v, nullable ? "string or null" : "string");
        return NULL;
    }
    if (memchr(s, '\0', len)) {
        fail(c, key, CS_ERR_MALFORMED, "string contains a NUL byte");
        return NULL;
    }
    return copy_str(c, s, len);
}

static void rd_str(ctx *c, const jsonp_val *obj, const char *key, char **out, int nullable)
{
    *out = str_of(c, key, member(c, obj, key), nullable);
}

static void rd_double(ctx *c, const jsonp_val *obj, const char *key, double *out)
{
    const jsonp_val *v = member(c, obj, key);
    if (v && jsonp_double(v, out) != CS_OK)
        wrong_type(c, key, v, "number");
}

static void rd_bool(ctx *c, const jsonp_val *obj, const char *key, int *out)
{
    const jsonp_val *v = member(c, obj, key);
    if (v && jsonp_bool(v, out) != CS_OK)
        wrong_type(c, key, v, "boolean");
}

static const jsonp_val *rd_typed(ctx *c, const jsonp_val *obj, const char *key, jsonp_type t,
                                 int nullable)
{
    const jsonp_val *v = member(c, obj, key);
    if (!v)
        return NULL;
    if (nullable && jsonp_is_null(v))
        return NULL;
    if (jsonp_type_of(v) != t) {
        char want[32];
        snprintf(want, sizeof want, "%s%s", jsonp_type_name(t), nullable ? " or null" : "");
        wrong_type(c, key, v, want);
        return NULL;
    }
    return v;
}

/* Allocates n elements of size sz (n from the parsed tree, bounded by the input). */
static void *alloc_n(ctx *c, size_t n, size_t sz)
{
    if (n == 0)
        return NULL;
    if (n > SIZE_MAX / sz) {
        fail(c, NULL, CS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    void *p = arena_alloc(c->arena, n * sz);
    if (!p)
        fail(c, NULL, CS_ERR_NOMEM, "out of memory");
    return p;
}

/* Checks that element i is an object (named by its index). */
static const jsonp_val *elem_obj(ctx *c, const jsonp_val *arr, size_t i)
{
    const jsonp_val *v = jsonp_at(arr, i);
    if (jsonp_type_of(v) != JSONP_OBJECT) {
        char k[24];
        snprintf(k, sizeof k, "%zu", i);
        wrong_type(c, k, v, "object");
        return NULL;
    }
    return v;
}

/* "0x" + 8 hex digits -> *out. */
static int parse_ssrc(const char *s, uint32_t *out)
{
    if (!s || strlen(s) != 10 || s[0] != '0' || s[1] != 'x')
        return -1;
    uint32_t x = 0;
    for (int i = 2; i < 10; i++) {
        char ch = s[i];
        unsigned d;
        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            d = (unsigned)(ch - 'A' + 10);
        else
            return -1;
        x = x << 4 | d;
    }
    *out = x;
    return 0;
}

/* ---- records --------------------------------------------------------------- */

static void rd_event(ctx *c, const jsonp_val *o, ci_event *e)
{
    rd_time(c, o, "at_us", &e->at_us);
    rd_str(c, o, "dir", &e->dir, NN);
    rd_str(c, o, "method", &e->method, NULLOK);
    rd_int(c, o, "status", &e->status, NULLOK, 100, 699);
    rd_count(c, o, "cseq", &e->cseq);
    rd_str(c, o, "cseq_method", &e->cseq_method, NN);
    rd_bool(c, o, "sdp", &e->sdp);
    rd_str(c, o, "dir_attr", &e->dir_attr, NULLOK);
}

static void rd_leg(ctx *c, const jsonp_val *o, ci_leg *l)
{
    int64_t fam = 0;
    rd_count(c, o, "index", &l->index);
    rd_str(c, o, "role", &l->role, NN);
    rd_str(c, o, "call_id", &l->call_id, NN);
    rd_str(c, o, "from_tag", &l->from_tag, NN);
    rd_str(c, o, "to_tag", &l->to_tag, NN);
    rd_str(c, o, "from_user", &l->from_user, NN);
    rd_str(c, o, "to_user", &l->to_user, NN);
    rd_str(c, o, "ruri_user", &l->ruri_user, NN);
    rd_str(c, o, "agent_ext", &l->agent_ext, NULLOK);
    rd_str(c, o, "transport", &l->transport, NN);
    rd_int(c, o, "family", &fam, NN, 4, 6);
    if (c->rc == CS_OK && fam != 4 && fam != 6)
        fail(c, "family", CS_ERR_MALFORMED, "expected 4 or 6");
    l->family = (int)fam;
    const jsonp_val *vl = rd_typed(c, o, "vlan", JSONP_ARRAY, NN);
    if (vl) {
        size_t old = push_key(c, "vlan");
        if (jsonp_len(vl) > 2)
            fail(c, NULL, CS_ERR_MALFORMED, "more than 2 VLAN ids");
        for (size_t i = 0; i < jsonp_len(vl) && i < 2 && c->rc == CS_OK; i++) {
            int64_t id;
            int rc = jsonp_int(jsonp_at(vl, i), &id);
            if (rc != CS_OK || id < 0 || id > 4095) {
                char k[24];
                snprintf(k, sizeof k, "%zu", i);
                fail(c, k, CS_ERR_MALFORMED, "expected a VLAN id 0..4095");
            }
            l->vlan[i] = id;
            l->nvlan = i + 1;
        }
        pop(c, old);
    }
    rd_str(c, o, "correlated_by", &l->correlated_by, NULLOK);
    rd_time(c, o, "invite_us", &l->invite_us);
    rd_time(c, o, "ringing_us", &l->ringing_us);
    rd_time(c, o, "answer_us", &l->answer_us);
    rd_time(c, o, "end_us", &l->end_us);
    rd_int(c, o, "final_status", &l->final_status, NULLOK, 100, 699);
    rd_str(c, o, "ended_by", &l->ended_by, NN);
    rd_int(c, o, "q850_cause", &l->q850_cause, NULLOK, 0, 65535);
    rd_str(c, o, "sip_reason", &l->sip_reason, NULLOK);
    rd_count(c, o, "sip_messages", &l->sip_messages);
    rd_count(c, o, "retransmissions", &l->retransmissions);
    const jsonp_val *ev = rd_typed(c, o, "events", JSONP_ARRAY, NN);
    if (ev) {
        size_t old = push_key(c, "events");
        l->nevents = jsonp_len(ev);
        l->events = alloc_n(c, l->nevents, sizeof(ci_event));
        for (size_t i = 0; i < l->nevents && c->rc == CS_OK; i++) {
            const jsonp_val *e = elem_obj(c, ev, i);
            size_t o2 = push_index(c, i);
            if (e)
                rd_event(c, e, &l->events[i]);
            pop(c, o2);
        }
        pop(c, old);
    }
    rd_count(c, o, "events_dropped", &l->events_dropped);
}

static void rd_ssrc(ctx *c, const char *key, const jsonp_val *v, char **text, uint32_t *out)
{
    *text = str_of(c, key, v, NN);
    if (*text && parse_ssrc(*text, out) != 0)
        fail(c, key, CS_ERR_MALFORMED, "expected \"0x\" and 8 hex digits");
}

static void rd_stream(ctx *c, const jsonp_val *o, ci_stream *s)
{
    rd_count(c, o, "index", &s->index);
    rd_count(c, o, "leg", &s->leg);
    rd_str(c, o, "direction", &s->direction, NN);
    s->dir = ci_dir_from_name(s->direction);
    rd_ssrc(c, "ssrc", member(c, o, "ssrc"), &s->ssrc_text, &s->ssrc);
    const jsonp_val *a = rd_typed(c, o, "ssrcs", JSONP_ARRAY, NN);
    if (a) {
        size_t old = push_key(c, "ssrcs");
        s->nssrcs = jsonp_len(a);
        s->ssrcs = alloc_n(c, s->nssrcs, sizeof(uint32_t));
        s->ssrcs_text = alloc_n(c, s->nssrcs, sizeof(char *));
        for (size_t i = 0; i < s->nssrcs && c->rc == CS_OK; i++) {
            char k[24];
            snprintf(k, sizeof k, "%zu", i);
            rd_ssrc(c, k, jsonp_at(a, i), &s->ssrcs_text[i], &s->ssrcs[i]);
        }
        pop(c, old);
    }
    rd_str(c, o, "src", &s->src, NN);
    rd_int(c, o, "src_port", &s->src_port, NN, 0, 65535);
    rd_str(c, o, "dst", &s->dst, NN);
    rd_int(c, o, "dst_port", &s->dst_port, NN, 0, 65535);
    a = rd_typed(c, o, "payload_types", JSONP_ARRAY, NN);
    if (a) {
        size_t old = push_key(c, "payload_types");
        s->npayload_types = jsonp_len(a);
        s->payload_types = alloc_n(c, s->npayload_types, sizeof(int));
        for (size_t i = 0; i < s->npayload_types && c->rc == CS_OK; i++) {
            int64_t pt;
            int rc = jsonp_int(jsonp_at(a, i), &pt);
            if (rc != CS_OK || pt < 0 || pt > 127) {
                char k[24];
                snprintf(k, sizeof k, "%zu", i);
                fail(c, k, CS_ERR_MALFORMED, "expected a payload type 0..127");
            } else {
                s->payload_types[i] = (int)pt;
            }
        }
        pop(c, old);
    }
    rd_str(c, o, "codec", &s->codec, NULLOK);
    rd_int(c, o, "codec_pt", &s->codec_pt, NULLOK, 0, 127);
    rd_int(c, o, "clock_rate", &s->clock_rate, NULLOK, 1, 1000000);
    rd_int(c, o, "telephone_event_pt", &s->telephone_event_pt, NULLOK, 0, 127);
    /* added to version 1 later: absent in entries written before */
    s->channels = CI_NONE;
    s->srtp = 0;
    if (jsonp_get(o, "channels"))
        rd_int(c, o, "channels", &s->channels, NULLOK, 1, 255);
    if (jsonp_get(o, "srtp"))
        rd_bool(c, o, "srtp", &s->srtp);
    rd_count(c, o, "packets", &s->packets);
    rd_count(c, o, "bytes", &s->bytes);
    rd_count(c, o, "expected", &s->expected);
    rd_int(c, o, "lost", &s->lost, NN, INT64_MIN + 1, INT64_MAX);
    rd_count(c, o, "duplicates", &s->duplicates);
    rd_count(c, o, "out_of_order", &s->out_of_order);
    rd_double(c, o, "jitter_ms", &s->jitter_ms);
    rd_double(c, o, "max_jitter_ms", &s->max_jitter_ms);
    rd_double(c, o, "max_gap_ms", &s->max_gap_ms);
    rd_count(c, o, "ssrc_changes", &s->ssrc_changes);
    rd_time(c, o, "first_us", &s->first_us);
    rd_time(c, o, "last_us", &s->last_us);
    const jsonp_val *r = rd_typed(c, o, "rtcp", JSONP_OBJECT, NN);
    if (r) {
        size_t old = push_key(c, "rtcp");
        rd_count(c, r, "packets", &s->rtcp.packets);
        rd_count(c, r, "sr", &s->rtcp.sr);
        rd_count(c, r, "rr", &s->rtcp.rr);
        rd_int(c, r, "last_fraction_lost", &s->rtcp.last_fraction_lost, NULLOK, 0, 255);
        rd_int(c, r, "last_cumulative_lost", &s->rtcp.last_cumulative_lost, NULLOK, -(1 << 23),
               (1 << 23) - 1);
        rd_int(c, r, "last_jitter", &s->rtcp.last_jitter, NULLOK, 0, UINT32_MAX);
        pop(c, old);
    }
}

/* Iterates the array member key of obj: for each element object calls fn. */
#define RD_ARRAY(c, obj, key, n, arr, type, fn)                                                    \
    do {                                                                                           \
        const jsonp_val *a_ = rd_typed(c, obj, key, JSONP_ARRAY, NN);                              \
        if (!a_)                                                                                   \
            break;                                                                                 \
        size_t old_ = push_key(c, key);                                                            \
        (n) = jsonp_len(a_);                                                                       \
        (arr) = alloc_n(c, (n), sizeof(type));                                                     \
        for (size_t i_ = 0; i_ < (n) && (c)->rc == CS_OK; i_++) {                                  \
            const jsonp_val *e_ = elem_obj(c, a_, i_);                                             \
            size_t o2_ = push_index(c, i_);                                                        \
            if (e_)                                                                                \
                fn(c, e_, &(arr)[i_]);                                                             \
            pop(c, o2_);                                                                           \
        }                                                                                          \
        pop(c, old_);                                                                              \
    } while (0)

static void rd_hold(ctx *c, const jsonp_val *o, ci_hold *h)
{
    rd_int(c, o, "start_us", &h->start_us, NN, 0, US_MAX);
    rd_time(c, o, "end_us", &h->end_us);
    rd_count(c, o, "leg", &h->leg);
    rd_str(c, o, "by", &h->by, NN);
}

static void rd_transfer(ctx *c, const jsonp_val *o, ci_transfer *t)
{
    rd_int(c, o, "at_us", &t->at_us, NN, 0, US_MAX);
    rd_str(c, o, "kind", &t->kind, NN);
    rd_str(c, o, "from", &t->from, NULLOK);
    rd_str(c, o, "to", &t->to, NULLOK);
}

static void rd_dtmf(ctx *c, const jsonp_val *o, ci_dtmf *d)
{
    rd_str(c, o, "digit", &d->digit, NN);
    rd_int(c, o, "at_us", &d->at_us, NN, 0, US_MAX);
    rd_count(c, o, "duration_ms", &d->duration_ms);
    rd_count(c, o, "stream", &d->stream);
}

static void rd_top(ctx *c, const jsonp_val *r, callinfo *ci)
{
    rd_str(c, r, "format", &ci->format, NN);
    if (c->rc == CS_OK && strcmp(ci->format, "callscope-call") != 0)
        fail(c, "format", CS_ERR_MALFORMED, "expected \"callscope-call\"");
    rd_int(c, r, "version", &ci->version, NN, INT64_MIN + 1, INT64_MAX);
    if (c->rc == CS_OK && ci->version != 1)
        fail(c, "version", CS_ERR_UNSUPPORTED, "version %lld, only 1 is supported",
             (long long)ci->version);
    rd_str(c, r, "uuid", &ci->uuid, NN);
    rd_str(c, r, "probe", &ci->probe, NN);
    rd_str(c, r, "call_id", &ci->call_id, NULLOK);
    rd_time(c, r, "invite_us", &ci->invite_us);
    rd_time(c, r, "ringing_us", &ci->ringing_us);
    rd_time(c, r, "answer_us", &ci->answer_us);
    rd_time(c, r, "end_us", &ci->end_us);
    rd_int(c, r, "duration_us", &ci->duration_us, NN, INT64_MIN + 1, INT64_MAX);
    rd_str(c, r, "outcome", &ci->outcome, NN);
    rd_time(c, r, "abandon_us", &ci->abandon_us);
    rd_str(c, r, "ended_by", &ci->ended_by, NN);
    rd_str(c, r, "end_reason", &ci->end_reason, NN);
    rd_int(c, r, "final_status", &ci->final_status, NULLOK, 100, 699);
    rd_int(c, r, "q850_cause", &ci->q850_cause, NULLOK, 0, 65535);
    rd_str(c, r, "sip_reason", &ci->sip_reason, NULLOK);
    rd_str(c, r, "ani", &ci->ani, NN);
    rd_str(c, r, "dnis", &ci->dnis, NN);
    const jsonp_val *ag = rd_typed(c, r, "agents", JSONP_ARRAY, NN);
    if (ag) {
        size_t old = push_key(c, "agents");
        ci->nagents = jsonp_len(ag);
        ci->agents = alloc_n(c, ci->nagents, sizeof(char *));
        for (size_t i = 0; i < ci->nagents && c->rc == CS_OK; i++) {
            char k[24];
            snprintf(k, sizeof k, "%zu", i);
            ci->agents[i] = str_of(c, k, jsonp_at(ag, i), NN);
        }
        pop(c, old);
    }
    RD_ARRAY(c, r, "holds", ci->nholds, ci->holds, ci_hold, rd_hold);
    RD_ARRAY(c, r, "transfers", ci->ntransfers, ci->transfers, ci_transfer, rd_transfer);
    RD_ARRAY(c, r, "legs", ci->nlegs, ci->legs, ci_leg, rd_leg);
    RD_ARRAY(c, r, "streams", ci->nstreams, ci->streams, ci_stream, rd_stream);
    rd_count(c, r, "streams_refused", &ci->streams_refused);
    rd_count(c, r, "rtp_refused", &ci->rtp_refused);
    RD_ARRAY(c, r, "dtmf", ci->ndtmf, ci->dtmf, ci_dtmf, rd_dtmf);
    rd_count(c, r, "dtmf_dropped", &ci->dtmf_dropped);
    const jsonp_val *p = rd_typed(c, r, "pcap", JSONP_OBJECT, NULLOK);
    if (p) {
        size_t old = push_key(c, "pcap");
        ci->has_pcap = 1;
        rd_str(c, p, "file", &ci->pcap.file, NN);
        rd_count(c, p, "frames", &ci->pcap.frames);
        rd_count(c, p, "bytes", &ci->pcap.bytes);
        rd_int(c, p, "linktype", &ci->pcap.linktype, NN, 0, 65535);
        rd_count(c, p, "skipped_linktype", &ci->pcap.skipped_linktype);
        rd_bool(c, p, "complete", &ci->pcap.complete);
        pop(c, old);
    }
    const jsonp_val *k = rd_typed(c, r, "counters", JSONP_OBJECT, NN);
    if (k) {
        size_t old = push_key(c, "counters");
        rd_count(c, k, "sip_messages", &ci->counters.sip_messages);
        rd_count(c, k, "rtp_packets", &ci->counters.rtp_packets);
        rd_count(c, k, "rtcp_packets", &ci->counters.rtcp_packets);
        rd_count(c, k, "malformed", &ci->counters.malformed);
        rd_count(c, k, "media_dropped", &ci->counters.media_dropped);
        pop(c, old);
    }
    if (c->rc != CS_OK)
        return;
    /* references the renderer and the store index with */
    char key[64];
    for (size_t i = 0; i < ci->nstreams; i++)
        if (ci->streams[i].leg >= (int64_t)ci->nlegs) {
            snprintf(key, sizeof key, "streams/%zu/leg", i);
            fail(c, key, CS_ERR_MALFORMED, "leg %lld does not exist (%zu legs)",
                 (long long)ci->streams[i].leg, ci->nlegs);
            return;
        }
    for (size_t i = 0; i < ci->nholds; i++)
        if (ci->holds[i].leg >= (int64_t)ci->nlegs) {
            snprintf(key, sizeof key, "holds/%zu/leg", i);
            fail(c, key, CS_ERR_MALFORMED, "leg %lld does not exist (%zu legs)",
                 (long long)ci->holds[i].leg, ci->nlegs);
            return;
        }
    for (size_t i = 0; i < ci->ndtmf; i++)
        if (ci->dtmf[i].stream >= (int64_t)ci->nstreams) {
            snprintf(key, sizeof key, "dtmf/%zu/stream", i);
            fail(c, key, CS_ERR_MALFORMED, "stream %lld does not exist (%zu streams)",
                 (long long)ci->dtmf[i].stream, ci->nstreams);
            return;
        }
}

int callinfo_parse(const char *text, size_t len, callinfo **out, callinfo_error *err)
{
    if (err) {
        err->field[0] = '\0';
        err->msg[0] = '\0';
    }
    if (!out || (!text && len > 0))
        return CS_ERR_INVAL;
    *out = NULL;
    jsonp_opts opts = {.max_bytes = CALLINFO_MAX_BYTES, .max_depth = 16};
    jsonp_doc *doc = NULL;
    jsonp_error jerr;
    int rc = jsonp_parse(text ? text : "", len, &opts, &doc, &jerr);
    if (rc != CS_OK) {
        if (err) {
            snprintf(err->msg, sizeof err->msg, "/: not valid JSON (%s at line %zu column %zu: %s)",
                     cs_err_name(rc), jerr.line, jerr.column, jerr.reason);
        }
        return rc;
    }
    ctx c = {.err = err, .rc = CS_OK};
    c.arena = calloc(1, sizeof(ci_arena));
    callinfo *ci = c.arena ? arena_alloc(c.arena, sizeof(callinfo)) : NULL;
    if (!ci) {
        arena_free(c.arena);
        jsonp_free(doc);
        return CS_ERR_NOMEM;
    }
    ci->arena_ = c.arena;
    const jsonp_val *root = jsonp_root(doc);
    if (jsonp_type_of(root) != JSONP_OBJECT)
        wrong_type(&c, NULL, root, "object");
    else
        rd_top(&c, root, ci);
    jsonp_free(doc);
    if (c.rc != CS_OK) {
        callinfo_free(ci);
        return c.rc;
    }
    *out = ci;
    return CS_OK;
}

void callinfo_free(callinfo *ci)
{
    if (ci)
        arena_free(ci->arena_); /* ci itself lives in the arena */
}

static const char *const dir_names[] = {"unknown", "customer_to_pbx", "pbx_to_customer",
                                        "agent_to_pbx", "pbx_to_agent"};

ci_dir ci_dir_from_name(const char *s)
{
    if (!s)
        return CI_DIR_UNKNOWN;
    for (size_t i = 1; i < sizeof dir_names / sizeof dir_names[0]; i++)
        if (strcmp(s, dir_names[i]) == 0)
            return (ci_dir)i;
    return CI_DIR_UNKNOWN;
}

const char *ci_dir_name(ci_dir d)
{
    if ((unsigned)d < sizeof dir_names / sizeof dir_names[0])
        return dir_names[d];
    return "unknown";
}
