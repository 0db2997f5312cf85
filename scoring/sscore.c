/*
 * sscore.c — see sscore.h.
 */
#include "sscore.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fcr.h"
#include "json.h"
#include "log.h"
#include "metrics.h"

#define US_PER_MS      1000LL
#define FCR_GROUP_MAX  5000 /* calls of one ANI considered at once */

/* ---- small helpers --------------------------------------------------------- */

static int q1(db_conn *c, const char *sql, int n, const char *const *p, db_result **r)
{
    return db_query(c, sql, n, p, r);
}

static int64_t val_i64(const db_result *r, int row, int col, int64_t dflt)
{
    int64_t v;
    if (db_result_is_null(r, row, col) || db_result_int64(r, row, col, &v) != CS_OK)
        return dflt;
    return v;
}

static double val_f(const db_result *r, int row, int col, double dflt)
{
    double v;
    if (db_result_is_null(r, row, col) || db_result_double(r, row, col, &v) != CS_OK)
        return dflt;
    return v;
}

/* A growing text buffer for PostgreSQL array literals. */
typedef struct abuf {
    char *b;
    size_t len, cap;
    int n;
} abuf;

static int ab_put(abuf *a, const char *s)
{
    size_t sl = strlen(s);
    if (a->len + sl + 4 > a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 256;
        while (nc < a->len + sl + 4)
            nc *= 2;
        char *nb = realloc(a->b, nc);
        if (!nb)
            return CS_ERR_NOMEM;
        a->b = nb;
        a->cap = nc;
    }
    if (a->len == 0)
        a->b[a->len++] = '{';
    else if (a->n)
        a->b[a->len++] = ',';
    memcpy(a->b + a->len, s, sl);
    a->len += sl;
    a->b[a->len] = '\0';
    a->n++;
    return CS_OK;
}

static const char *ab_done(abuf *a)
{
    if (!a->b) {
        a->b = strdup("{}");
        return a->b;
    }
    a->b[a->len++] = '}';
    a->b[a->len] = '\0';
    return a->b;
}

/* ---- the call's facts ------------------------------------------------------------ */

typedef struct call_facts {
    char outcome[16];
    char ani[128];
    int anonymous;
    int64_t queue_id; /* -1: none */
    int64_t invite_us, answered_us, abandon_us, ended_us, rec_start_us; /* -1: none */
    int64_t hold_ms, hold_count, transfers, duration_ms, ring_ms;
    sc_span *holds;
    size_t nholds;
    sc_span *talk[2];
    size_t ntalk[2];
    sc_phrase_hit *hits;
    char **hit_names;
    size_t nhits;
    int transcribed;
    double loss_pct, jitter_ms, mos;
    int has_rtp;
    char rtp_json[1024]; /* "dir":{loss_pct,jitter_ms,mos},... (no braces) */
} call_facts;

static void facts_free(call_facts *f)
{
    free(f->holds);
    free(f->talk[0]);
    free(f->talk[1]);
    for (size_t i = 0; i < 2 * f->nhits; i++) /* a name and a kind per hit */
        free(f->hit_names[i]);
    free(f->hit_names);
    free(f->hits);
    memset(f, 0, sizeof *f);
}

static int load_facts(db_conn *c, const char *uuid, call_facts *f, char *err, size_t errcap)
{
    const char *p[1] = {uuid};
    db_result *r = NULL;
    memset(f, 0, sizeof *f);
    int rc = q1(c,
                "SELECT c.outcome, coalesce(c.ani, ''), c.queue_id,"
                " cs_epoch_us(c.invite_at), cs_epoch_us(c.answered_at), cs_epoch_us(c.abandon_at),"
                " cs_epoch_us(c.ended_at), cs_epoch_us(r.started_at), c.hold_ms, c.hold_count,"
                " c.transfer_count, c.duration_ms,"
                " (SELECT cs_epoch_us(l.answered_at) - cs_epoch_us(coalesce(l.ringing_at, l.invite_at))"
                "    FROM legs l WHERE l.call_uuid = c.uuid AND l.answered_at IS NOT NULL"
                "    ORDER BY (l.role = 'agent') DESC, l.answered_at LIMIT 1),"
                " EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'transcribe' AND j.call_uuid = c.uuid"
                "         AND j.state = 'done')"
                " FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid WHERE c.uuid = $1::uuid",
                1, p, &r);
    if (rc != CS_OK) {
        snprintf(err, errcap, "reading call %s: %s", uuid, db_last_error(c));
        return rc;
    }
    if (db_result_rows(r) != 1) {
        db_result_free(r);
        snprintf(err, errcap, "call %s is not in the database", uuid);
        return CS_ERR_NOTFOUND;
    }
    snprintf(f->outcome, sizeof f->outcome, "%s", db_result_value(r, 0, 0));
    snprintf(f->ani, sizeof f->ani, "%s", db_result_value(r, 0, 1));
    f->anonymous = sc_ani_is_anonymous(f->ani);
    f->queue_id = val_i64(r, 0, 2, -1);
    f->invite_us = val_i64(r, 0, 3, -1);
    f->answered_us = val_i64(r, 0, 4, -1);
    f->abandon_us = val_i64(r, 0, 5, -1);
    f->ended_us = val_i64(r, 0, 6, -1);
    f->rec_start_us = val_i64(r, 0, 7, f->invite_us);
    f->hold_ms = val_i64(r, 0, 8, 0);
    f->hold_count = val_i64(r, 0, 9, 0);
    f->transfers = val_i64(r, 0, 10, 0);
    f->duration_ms = val_i64(r, 0, 11, 0);
    f->ring_ms = val_i64(r, 0, 12, -1000) / US_PER_MS;
    f->transcribed = db_result_value(r, 0, 13)[0] == 't';
    db_result_free(r);

    /* holds, on the recording's clock */
    rc = q1(c,
            "SELECT (cs_epoch_us(h.start_at) - cs_epoch_us(coalesce(r.started_at, c.invite_at))) / 1000,"
            " (cs_epoch_us(coalesce(h.end_at, c.ended_at)) -"
            "  cs_epoch_us(coalesce(r.started_at, c.invite_at))) / 1000"
            " FROM holds h JOIN calls c ON c.uuid = h.call_uuid"
            " LEFT JOIN recordings r ON r.call_uuid = h.call_uuid"
            " WHERE h.call_uuid = $1::uuid ORDER BY h.start_at",
            1, p, &r);
    if (rc != CS_OK)
        goto dberr;
    int n = db_result_rows(r);
    f->holds = calloc((size_t)(n ? n : 1), sizeof *f->holds);
    if (!f->holds) {
        db_result_free(r);
        return CS_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++)
        f->holds[f->nholds++] = (sc_span){val_i64(r, i, 0, 0), val_i64(r, i, 1, 0)};
    db_result_free(r);

    rc = q1(c,
            "SELECT channel, start_ms, end_ms FROM talk_segments WHERE call_uuid = $1::uuid"
            " ORDER BY channel, start_ms",
            1, p, &r);
    if (rc != CS_OK)
        goto dberr;
    n = db_result_rows(r);
    for (int ch = 0; ch < 2; ch++) {
        f->talk[ch] = calloc((size_t)(n ? n : 1), sizeof(sc_span));
        if (!f->talk[ch]) {
            db_result_free(r);
            return CS_ERR_NOMEM;
        }
    }
    for (int i = 0; i < n; i++) {
        int64_t ch = val_i64(r, i, 0, 0);
        if (ch < 1 || ch > 2)
            continue;
        f->talk[ch - 1][f->ntalk[ch - 1]++] = (sc_span){val_i64(r, i, 1, 0), val_i64(r, i, 2, 0)};
    }
    db_result_free(r);

    /* phrase hits, relative to the agent's answer */
    rc = q1(c,
            "SELECT h.name, h.kind, h.channel, h.start_ms -"
            " coalesce((cs_epoch_us(c.answered_at) - cs_epoch_us(coalesce(r.started_at, c.invite_at)))"
            "          / 1000, 0)"
            " FROM phrase_hits h JOIN calls c ON c.uuid = h.call_uuid"
            " LEFT JOIN recordings r ON r.call_uuid = h.call_uuid"
            " WHERE h.call_uuid = $1::uuid ORDER BY h.start_ms",
            1, p, &r);
    if (rc != CS_OK)
        goto dberr;
    n = db_result_rows(r);
    f->hits = calloc((size_t)(n ? n : 1), sizeof *f->hits);
    f->hit_names = calloc((size_t)(n ? n : 1), 2 * sizeof(char *));
    if (!f->hits || !f->hit_names) {
        db_result_free(r);
        return CS_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        char *nm = strdup(db_result_value(r, i, 0));
        char *kd = strdup(db_result_value(r, i, 1));
        if (!nm || !kd) {
            free(nm);
            free(kd);
            db_result_free(r);
            return CS_ERR_NOMEM;
        }
        /* hit_names holds name and kind strings alternately (2 per hit) */
        f->hit_names[2 * f->nhits] = nm;
        f->hit_names[2 * f->nhits + 1] = kd;
        f->hits[f->nhits] = (sc_phrase_hit){nm, kd, val_i64(r, i, 3, 0), (int)val_i64(r, i, 2, 2)};
        f->nhits++;
    }
    db_result_free(r);

    /* RTP quality per direction (customer_to_pbx, pbx_to_customer,
     * agent_to_pbx, pbx_to_agent): loss = lost / expected over the
     * direction's audio streams, jitter = the worst stream's, MOS from the
     * direction's main codec. The call's figures: loss over all streams,
     * the worst jitter and the worst (lowest) direction MOS. */
    rc = q1(c,
            "SELECT direction, sum(lost)::float8 / nullif(sum(packets + lost), 0) * 100,"
            " max(jitter_ms), (array_agg(codec ORDER BY packets DESC))[1], sum(lost), sum(packets)"
            " FROM rtp_streams WHERE call_uuid = $1::uuid AND packets > 0"
            " AND decode_status NOT IN ('skipped', 'no_audio') GROUP BY direction ORDER BY direction",
            1, p, &r);
    if (rc != CS_OK)
        goto dberr;
    n = db_result_rows(r);
    f->has_rtp = n > 0;
    f->mos = NAN;
    f->jitter_ms = 0;
    double lost = 0, pk = 0;
    f->rtp_json[0] = '\0';
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        double loss = val_f(r, i, 1, 0), jit = val_f(r, i, 2, 0);
        double mos = sc_mos_estimate(db_result_is_null(r, i, 3) ? "" : db_result_value(r, i, 3),
                                     loss, jit);
        lost += val_f(r, i, 4, 0);
        pk += val_f(r, i, 5, 0);
        if (jit > f->jitter_ms)
            f->jitter_ms = jit;
        if (!isnan(mos) && (isnan(f->mos) || mos < f->mos))
            f->mos = mos;
        char one[200];
        if (isnan(mos))
            snprintf(one, sizeof one, "%s\"%s\":{\"loss_pct\":%.4f,\"jitter_ms\":%.3f,\"mos\":null}",
                     i ? "," : "", db_result_value(r, i, 0), loss, jit);
        else
            snprintf(one, sizeof one, "%s\"%s\":{\"loss_pct\":%.4f,\"jitter_ms\":%.3f,\"mos\":%.3f}",
                     i ? "," : "", db_result_value(r, i, 0), loss, jit, mos);
        if (used + strlen(one) + 2 < sizeof f->rtp_json) {
            memcpy(f->rtp_json + used, one, strlen(one) + 1);
            used += strlen(one);
        }
    }
    f->loss_pct = lost + pk > 0 ? lost / (lost + pk) * 100.0 : 0.0;
    db_result_free(r);
    return CS_OK;
dberr:
    snprintf(err, errcap, "reading the facts of %s: %s", uuid, db_last_error(c));
    return rc;
}

/* ---- DTMF ------------------------------------------------------------------------ */

/* Masks card-number runs in dtmf_events; *masked_out gets the digits masked
 * and *digits (cap bytes) the masked digit string of the call. */
static int mask_dtmf(db_conn *c, const sscore_cfg *cfg, const char *uuid, char *digits,
                     size_t cap, uint64_t *masked_out)
{
    const char *p[1] = {uuid};
    db_result *r = NULL;
    digits[0] = '\0';
    int rc = q1(c,
                "SELECT id, coalesce(digit, '*'), cs_epoch_us(at) / 1000 FROM dtmf_events"
                " WHERE call_uuid = $1::uuid ORDER BY at, id",
                1, p, &r);
    if (rc != CS_OK)
        return rc;
    int n = db_result_rows(r);
    if (n == 0) {
        db_result_free(r);
        return CS_OK;
    }
    sc_dtmf *ev = calloc((size_t)n, sizeof *ev);
    char *out = malloc((size_t)n + 1);
    abuf ids = {0};
    if (!ev || !out) {
        free(ev);
        free(out);
        db_result_free(r);
        return CS_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++)
        ev[i] = (sc_dtmf){db_result_value(r, i, 1)[0], val_i64(r, i, 2, 0)};
    size_t need = sc_dtmf_mask(ev, (size_t)n, (int)cfg->dtmf_min_run, cfg->dtmf_run_gap_ms, out,
                               (size_t)n + 1);
    if (need > (size_t)n)
        need = (size_t)n;
    for (int i = 0; i < n && rc == CS_OK; i++) {
        if (out[i] == '*' && ev[i].digit != '*')
            rc = ab_put(&ids, db_result_value(r, i, 0));
    }
    db_result_free(r);
    snprintf(digits, cap, "%.*s", (int)need, out);
    if (rc == CS_OK && ids.n) {
        const char *q[1] = {ab_done(&ids)};
        db_result *u = NULL;
        rc = db_query(c,
                      "UPDATE dtmf_events SET digit = NULL, masked = true"
                      " WHERE id = ANY ($1::bigint[]) AND NOT masked",
                      1, q, &u);
        if (rc == CS_OK)
            *masked_out += (uint64_t)db_result_affected(u);
        db_result_free(u);
    }
    free(ids.b);
    free(ev);
    free(out);
    return rc;
}

/* ---- FCR ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    int64_t ms;
} fcr_windows[] = {{"24h", 86400000LL}, {"72h", 3 * 86400000LL}, {"7d", 7 * 86400000LL}};

/*
 * Recomputes FCR for every scored call of this ANI and appends their uuids
 * (and the current call's) to *touched.
 */
static int update_fcr(db_conn *c, const sscore_cfg *cfg, const char *uuid, const call_facts *f,
                      abuf *touched, uint64_t *updates)
{
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", uuid);
    int rc = ab_put(touched, quoted);
    if (rc != CS_OK || f->anonymous)
        return rc;
    const char *p[1] = {f->ani};
    db_result *r = NULL;
    /* one ANI at a time: concurrent workers scoring calls of the same caller
     * would otherwise each miss the other's call */
    rc = db_query(c, "SELECT pg_advisory_xact_lock(hashtextextended('cs-fcr:' || $1, 0))", 1, p,
                  &r);
    db_result_free(r);
    if (rc != CS_OK)
        return rc;
    rc = db_query(c,
                  "SELECT c.uuid, cs_epoch_us(c.invite_at), coalesce(c.queue_id, -1),"
                  " c.outcome = 'answered', cs_epoch_us(now())"
                  " FROM calls c JOIN call_metrics m ON m.call_uuid = c.uuid"
                  " WHERE c.ani = $1 ORDER BY c.invite_at, c.uuid LIMIT 5000",
                  1, p, &r);
    if (rc != CS_OK)
        return rc;
    int n = db_result_rows(r);
    sc_fcr_call *calls = calloc((size_t)(n ? n : 1), sizeof *calls);
    sc_fcr_result *res[3];
    for (int w = 0; w < 3; w++)
        res[w] = calloc((size_t)(n ? n : 1), sizeof *res[w]);
    if (!calls || !res[0] || !res[1] || !res[2]) {
        rc = CS_ERR_NOMEM;
        goto out;
    }
    int64_t now_us = n ? val_i64(r, 0, 4, 0) : 0;
    for (int i = 0; i < n; i++) {
        calls[i].invite_us = val_i64(r, i, 1, 0);
        calls[i].queue_id = val_i64(r, i, 2, -1);
        calls[i].answered = db_result_value(r, i, 3)[0] == 't';
        calls[i].anonymous = 0;
    }
    for (int w = 0; w < 3 && rc == CS_OK; w++) {
        sc_fcr_params fp = {
            .window_us = fcr_windows[w].ms * US_PER_MS,
            .continuation_us = cfg->fcr_continuation_ms * US_PER_MS,
            .same_queue = cfg->fcr_same_queue,
            .now_us = now_us,
        };
        rc = sc_fcr_decide(calls, (size_t)n, &fp, res[w]);
    }
    /* the configured window: its own decision (it may be none of the three) */
    sc_fcr_result *mine = calloc((size_t)(n ? n : 1), sizeof *mine);
    if (rc == CS_OK && !mine)
        rc = CS_ERR_NOMEM;
    if (rc == CS_OK) {
        sc_fcr_params fp = {
            .window_us = cfg->fcr_window_ms * US_PER_MS,
            .continuation_us = cfg->fcr_continuation_ms * US_PER_MS,
            .same_queue = cfg->fcr_same_queue,
            .now_us = now_us,
        };
        rc = sc_fcr_decide(calls, (size_t)n, &fp, mine);
    }
    for (int i = 0; i < n && rc == CS_OK; i++) {
        char extra[256], win[64], due[32];
        snprintf(extra, sizeof extra, "{\"24h\":\"%s\",\"72h\":\"%s\",\"7d\":\"%s\"}",
                 sc_fcr_status_name(res[0][i].status), sc_fcr_status_name(res[1][i].status),
                 sc_fcr_status_name(res[2][i].status));
        snprintf(win, sizeof win, "%lld milliseconds", (long long)cfg->fcr_window_ms);
        snprintf(due, sizeof due, "%lld", (long long)(calls[i].invite_us + cfg->fcr_window_ms * US_PER_MS));
        const char *rep_of = mine[i].repeat_of >= 0 ? db_result_value(r, (int)mine[i].repeat_of, 0) : NULL;
        const char *rep_by = mine[i].repeated_by >= 0 ? db_result_value(r, (int)mine[i].repeated_by, 0) : NULL;
        const char *q[7] = {db_result_value(r, i, 0), sc_fcr_status_name(mine[i].status), win, due,
                            rep_of, rep_by, extra};
        db_result *u = NULL;
        rc = db_query(c,
                      "UPDATE call_metrics SET fcr_status = $2, fcr_window = $3::interval,"
                      " fcr_due_at = to_timestamp($4::float8 / 1e6), repeat_of = $5::uuid,"
                      " repeated_by = $6::uuid,"
                      " extra = jsonb_set(extra, '{fcr}', $7::jsonb)"
                      " WHERE call_uuid = $1::uuid AND (fcr_status, repeat_of, repeated_by,"
                      "   extra -> 'fcr', fcr_window) IS DISTINCT FROM"
                      "   ($2, $5::uuid, $6::uuid, $7::jsonb, $3::interval)",
                      7, q, &u);
        if (rc == CS_OK && db_result_affected(u) > 0) {
            (*updates)++;
            snprintf(quoted, sizeof quoted, "\"%s\"", db_result_value(r, i, 0));
            rc = ab_put(touched, quoted);
        }
        db_result_free(u);
    }
    free(mine);
out:
    free(calls);
    for (int w = 0; w < 3; w++)
        free(res[w]);
    db_result_free(r);
    return rc;
}

/* ---- the scorecard ------------------------------------------------------------------- */

static int store_score(db_conn *c, const char *uuid, int64_t card_id, const sc_result *res)
{
    char cid[24], score[32], passed[8], crit[8];
    snprintf(cid, sizeof cid, "%lld", (long long)card_id);
    if (isnan(res->score))
        score[0] = '\0';
    else
        snprintf(score, sizeof score, "%.2f", res->score);
    snprintf(passed, sizeof passed, "%s", res->passed ? "true" : "false");
    snprintf(crit, sizeof crit, "%s", res->critical_failed ? "true" : "false");
    const char *p[5] = {uuid, cid, score[0] ? score : NULL, isnan(res->score) ? NULL : passed, crit};
    db_result *r = NULL;
    int rc = db_query(c,
                      "INSERT INTO scores (call_uuid, scorecard_id, auto_score, passed, critical_failed)"
                      " VALUES ($1::uuid, $2::bigint, $3::numeric, $4::boolean, $5::boolean)"
                      " ON CONFLICT (call_uuid, scorecard_id) DO UPDATE SET auto_score ="
                      " EXCLUDED.auto_score, passed = EXCLUDED.passed, critical_failed ="
                      " EXCLUDED.critical_failed, computed_at = now() RETURNING id",
                      5, p, &r);
    if (rc != CS_OK)
        return rc;
    char sid[24];
    snprintf(sid, sizeof sid, "%s", db_result_value(r, 0, 0));
    db_result_free(r);
    for (size_t i = 0; i < res->n_items && rc == CS_OK; i++) {
        const sc_item_result *it = &res->items[i];
        char pts[32], maxp[32];
        snprintf(pts, sizeof pts, "%.2f", it->points);
        snprintf(maxp, sizeof maxp, "%.2f", it->max_points);
        const char *q[8] = {sid,
                            it->item->key,
                            it->section,
                            it->item->critical ? "true" : "false",
                            sc_verdict_name(it->verdict),
                            pts,
                            maxp,
                            it->evidence ? it->evidence : "{}"};
        rc = db_command(c,
                        "INSERT INTO score_items (score_id, item_key, section, critical, result,"
                        " points, max_points, evidence) VALUES ($1::bigint, $2, $3, $4::boolean, $5,"
                        " $6::numeric, $7::numeric, $8::jsonb)"
                        " ON CONFLICT (score_id, item_key) DO UPDATE SET section = EXCLUDED.section,"
                        " critical = EXCLUDED.critical, result = EXCLUDED.result, points ="
                        " EXCLUDED.points, max_points = EXCLUDED.max_points, evidence ="
                        " EXCLUDED.evidence",
                        8, q, NULL);
    }
    return rc;
}

/* ---- one call ------------------------------------------------------------------------- */

static void ms_text(char *out, size_t cap, int64_t v)
{
    if (v < 0)
        out[0] = '\0';
    else
        snprintf(out, cap, "%lld", (long long)v);
}

int sscore_call(db_conn *c, const sscore_cfg *cfg, const scorecard *card, int64_t card_id,
                const char *uuid, sscore_counters *n, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    const char *p1[1] = {uuid};
    /* 1. queue and agent from the directory */
    int rc = db_command(c,
                        "UPDATE calls SET queue_id = coalesce((SELECT queue_id FROM queue_dnis"
                        "   WHERE dnis = calls.dnis), queue_id),"
                        " agent_id = coalesce((SELECT a.id FROM legs l JOIN agents a ON"
                        "   a.extension = l.agent_extension WHERE l.call_uuid = calls.uuid AND"
                        "   l.answered_at IS NOT NULL ORDER BY (l.role = 'agent') DESC,"
                        "   l.answered_at LIMIT 1), agent_id)"
                        " WHERE uuid = $1::uuid",
                        1, p1, NULL);
    if (rc != CS_OK) {
        snprintf(err, errcap, "mapping queue and agent: %s", db_last_error(c));
        return rc;
    }
    call_facts f;
    rc = load_facts(c, uuid, &f, err, errcap);
    if (rc != CS_OK) {
        facts_free(&f);
        return rc;
    }
    int answered = strcmp(f.outcome, "answered") == 0 && f.answered_us >= 0;
    /* 2. metrics */
    sc_talk_metrics tm;
    memset(&tm, 0, sizeof tm);
    tm.agent_talk_ratio = NAN;
    int64_t answer_ms = answered ? (f.answered_us - f.invite_us) / US_PER_MS : -1;
    int64_t abandon_ms = (strcmp(f.outcome, "abandoned") == 0 && f.abandon_us >= 0)
                             ? (f.abandon_us - f.invite_us) / US_PER_MS
                             : -1;
    int64_t connected_ms = answered && f.ended_us >= f.answered_us
                               ? (f.ended_us - f.answered_us) / US_PER_MS
                               : 0;
    int64_t talk_ms = connected_ms > f.hold_ms ? connected_ms - f.hold_ms : 0;
    if (answered) {
        sc_talk_input ti = {
            .customer = f.talk[0],
            .n_customer = f.ntalk[0],
            .agent = f.talk[1],
            .n_agent = f.ntalk[1],
            .connected = {(f.answered_us - f.rec_start_us) / US_PER_MS,
                          (f.ended_us - f.rec_start_us) / US_PER_MS},
            .holds = f.holds,
            .n_holds = f.nholds,
            .dead_air_min_ms = cfg->dead_air_min_ms,
        };
        rc = sc_talk_compute(&ti, &tm);
        if (rc != CS_OK) {
            snprintf(err, errcap, "talk metrics");
            facts_free(&f);
            return rc;
        }
    }
    char digits[512];
    rc = mask_dtmf(c, cfg, uuid, digits, sizeof digits, &n->dtmf_masked);
    if (rc != CS_OK) {
        snprintf(err, errcap, "DTMF masking: %s", db_last_error(c));
        facts_free(&f);
        return rc;
    }
    /* 5 (before the upsert so the phrases summary can use it). scorecard */
    sc_metric_value mv[] = {
        {"answer_seconds", answer_ms / 1000.0, answer_ms >= 0},
        {"ring_seconds", f.ring_ms / 1000.0, answered && f.ring_ms >= 0},
        {"talk_seconds", talk_ms / 1000.0, answered},
        {"hold_seconds", f.hold_ms / 1000.0, answered},
        {"hold_count", (double)f.hold_count, answered},
        {"transfers", (double)f.transfers, answered},
        {"handle_seconds", (talk_ms + f.hold_ms) / 1000.0, answered},
        {"dead_air_seconds", tm.dead_air_ms / 1000.0, answered && f.ntalk[0] + f.ntalk[1] > 0},
        {"dead_air_longest_seconds", tm.dead_air_longest_ms / 1000.0,
         answered && f.ntalk[0] + f.ntalk[1] > 0},
        {"overtalk_seconds", tm.overtalk_ms / 1000.0, answered && f.ntalk[0] + f.ntalk[1] > 0},
        {"agent_talk_ratio", tm.agent_talk_ratio, answered && !isnan(tm.agent_talk_ratio)},
        {"mos", f.mos, f.has_rtp && !isnan(f.mos)},
        {"loss_pct", f.loss_pct, f.has_rtp},
        {"jitter_ms", f.jitter_ms, f.has_rtp},
    };
    sc_call_facts facts = {
        .outcome = f.outcome,
        .metrics = mv,
        .n_metrics = sizeof mv / sizeof mv[0],
        .hits = f.hits,
        .n_hits = f.nhits,
        .no_transcript = !f.transcribed,
    };
    sc_result res;
    memset(&res, 0, sizeof res);
    rc = scorecard_eval(card, &facts, &res);
    if (rc != CS_OK) {
        snprintf(err, errcap, "evaluating the scorecard");
        sc_result_free(&res);
        facts_free(&f);
        return rc;
    }
    /* phrases summary: what the card's phrase items looked for */
    json_w *pj = json_w_new(0, 64 * 1024);
    if (!pj) {
        sc_result_free(&res);
        facts_free(&f);
        return CS_ERR_NOMEM;
    }
    json_obj_begin(pj);
    static const char *const keys[] = {"scripted_found", "scripted_missing", "forbidden_found"};
    for (int k = 0; k < 3; k++) {
        json_key(pj, keys[k]);
        json_arr_begin(pj);
        for (size_t i = 0; i < res.n_items; i++) {
            const sc_item_result *it = &res.items[i];
            if (!it->item->phrase || it->verdict == SC_NA)
                continue;
            int present = it->item->kind == SC_KIND_PHRASE_PRESENT;
            if ((k == 0 && present && it->verdict == SC_PASS) ||
                (k == 1 && present && it->verdict == SC_FAIL) ||
                (k == 2 && !present && it->verdict == SC_FAIL))
                json_str(pj, it->item->phrase);
        }
        json_arr_end(pj);
    }
    json_obj_end(pj);
    size_t plen = 0;
    const char *phr = json_w_data(pj, &plen);

    char a_ms[24], ab_ms[24], r_ms[24], t_ms[24], h_ms[24], hc[24], tr[24], hd[24], da[24],
        dac[24], dal[24], ot[24], otc[24], ct[24], at[24], ratio[32], dtn[24], mos[32], loss[32],
        jit[32], extra[1800];
    ms_text(a_ms, sizeof a_ms, answer_ms);
    ms_text(ab_ms, sizeof ab_ms, abandon_ms);
    ms_text(r_ms, sizeof r_ms, answered ? f.ring_ms : -1);
    snprintf(t_ms, sizeof t_ms, "%lld", (long long)talk_ms);
    snprintf(h_ms, sizeof h_ms, "%lld", (long long)f.hold_ms);
    snprintf(hc, sizeof hc, "%lld", (long long)f.hold_count);
    snprintf(tr, sizeof tr, "%lld", (long long)f.transfers);
    snprintf(hd, sizeof hd, "%lld", (long long)(answered ? talk_ms + f.hold_ms : 0));
    snprintf(da, sizeof da, "%lld", (long long)tm.dead_air_ms);
    snprintf(dac, sizeof dac, "%d", tm.dead_air_count);
    snprintf(dal, sizeof dal, "%lld", (long long)tm.dead_air_longest_ms);
    snprintf(ot, sizeof ot, "%lld", (long long)tm.overtalk_ms);
    snprintf(otc, sizeof otc, "%d", tm.overtalk_count);
    snprintf(ct, sizeof ct, "%lld", (long long)tm.customer_talk_ms);
    snprintf(at, sizeof at, "%lld", (long long)tm.agent_talk_ms);
    if (isnan(tm.agent_talk_ratio))
        ratio[0] = '\0';
    else
        snprintf(ratio, sizeof ratio, "%.6f", tm.agent_talk_ratio);
    snprintf(dtn, sizeof dtn, "%zu", strlen(digits));
    if (f.has_rtp && !isnan(f.mos))
        snprintf(mos, sizeof mos, "%.3f", f.mos);
    else
        mos[0] = '\0';
    snprintf(loss, sizeof loss, "%.4f", f.loss_pct);
    snprintf(jit, sizeof jit, "%.3f", f.jitter_ms);
    json_w *ej = json_w_new(0, sizeof extra);
    if (ej) {
        json_obj_begin(ej);
        json_kv_str(ej, "dtmf", digits);
        json_kv_int(ej, "connected_ms", connected_ms);
        json_obj_end(ej);
        size_t el = 0;
        const char *et = json_w_data(ej, &el);
        /* + "rtp": the per-direction figures (built above as JSON members) */
        if (et && el >= 2)
            snprintf(extra, sizeof extra, "%.*s,\"rtp\":{%s}}", (int)(el - 1), et, f.rtp_json);
        else
            snprintf(extra, sizeof extra, "{}");
        json_w_free(ej);
    } else {
        snprintf(extra, sizeof extra, "{}");
    }
    char fcr_init[16];
    snprintf(fcr_init, sizeof fcr_init, "%s", (answered && !f.anonymous) ? "pending" : "not_applicable");
    char due[32];
    snprintf(due, sizeof due, "%lld", (long long)(f.invite_us + cfg->fcr_window_ms * US_PER_MS));
    const char *q[26] = {uuid, a_ms[0] ? a_ms : NULL, ab_ms[0] ? ab_ms : NULL, r_ms[0] ? r_ms : NULL,
                         t_ms, h_ms, hc, tr, hd, da, dac, dal, ot, otc, ct, at,
                         ratio[0] ? ratio : NULL, dtn, phr ? phr : "{}", mos[0] ? mos : NULL,
                         f.has_rtp ? loss : NULL, f.has_rtp ? jit : NULL, fcr_init, due, extra, NULL};
    rc = db_command(c,
                    "INSERT INTO call_metrics (call_uuid, answer_time_ms, abandon_time_ms, ring_time_ms,"
                    " talk_ms, hold_ms, hold_count, transfers, handle_ms, dead_air_ms, dead_air_count,"
                    " dead_air_longest_ms, overtalk_ms, overtalk_count, customer_talk_ms, agent_talk_ms,"
                    " agent_talk_ratio, dtmf_count, phrases, mos, loss_pct, jitter_ms, fcr_status,"
                    " fcr_due_at, extra)"
                    " VALUES ($1::uuid, $2::int, $3::int, $4::int, $5::int, $6::int, $7::int, $8::int,"
                    " $9::int, $10::int, $11::int, $12::int, $13::int, $14::int, $15::int, $16::int,"
                    " $17::float8, $18::int, $19::jsonb, $20::float8, $21::float8, $22::float8, $23,"
                    " to_timestamp($24::float8 / 1e6), $25::jsonb)"
                    " ON CONFLICT (call_uuid) DO UPDATE SET answer_time_ms = EXCLUDED.answer_time_ms,"
                    " abandon_time_ms = EXCLUDED.abandon_time_ms, ring_time_ms = EXCLUDED.ring_time_ms,"
                    " talk_ms = EXCLUDED.talk_ms, hold_ms = EXCLUDED.hold_ms, hold_count ="
                    " EXCLUDED.hold_count, transfers = EXCLUDED.transfers, handle_ms ="
                    " EXCLUDED.handle_ms, dead_air_ms = EXCLUDED.dead_air_ms, dead_air_count ="
                    " EXCLUDED.dead_air_count, dead_air_longest_ms = EXCLUDED.dead_air_longest_ms,"
                    " overtalk_ms = EXCLUDED.overtalk_ms, overtalk_count = EXCLUDED.overtalk_count,"
                    " customer_talk_ms = EXCLUDED.customer_talk_ms, agent_talk_ms ="
                    " EXCLUDED.agent_talk_ms, agent_talk_ratio = EXCLUDED.agent_talk_ratio,"
                    " dtmf_count = EXCLUDED.dtmf_count, phrases = EXCLUDED.phrases, mos = EXCLUDED.mos,"
                    " loss_pct = EXCLUDED.loss_pct, jitter_ms = EXCLUDED.jitter_ms,"
                    " extra = call_metrics.extra || EXCLUDED.extra, computed_at = now()",
                    25, q, NULL);
    json_w_free(pj);
    if (rc == CS_OK)
        rc = store_score(c, uuid, card_id, &res);
    sc_result_free(&res);
    if (rc != CS_OK) {
        snprintf(err, errcap, "storing metrics and score: %s", db_last_error(c));
        facts_free(&f);
        return rc;
    }
    /* 4. FCR of the ANI's calls, then 6. the KPI cells of every call touched */
    abuf touched = {0};
    rc = update_fcr(c, cfg, uuid, &f, &touched, &n->fcr_updates);
    facts_free(&f);
    if (rc == CS_OK) {
        char t[24], s[24];
        snprintf(t, sizeof t, "%lld", (long long)cfg->sl_threshold_ms);
        snprintf(s, sizeof s, "%lld", (long long)cfg->short_abandon_ms);
        const char *q2[3] = {ab_done(&touched), t, s};
        db_result *r = NULL;
        rc = db_query(c, "SELECT cs_kpi_refresh($1::uuid[], $2::int, $3::int)", 3, q2, &r);
        db_result_free(r);
    }
    free(touched.b);
    if (rc != CS_OK)
        snprintf(err, errcap, "FCR and KPI rollup: %s", db_last_error(c));
    return rc;
}

/* ---- sweep, directory, scorecard versions ------------------------------------------- */

int sscore_sweep(db_conn *c, const sscore_cfg *cfg, int64_t *settled)
{
    *settled = 0;
    int rc = db_begin(c);
    if (rc != CS_OK)
        return rc;
    db_result *r = NULL;
    rc = db_query(c,
                  "UPDATE call_metrics SET fcr_status = 'resolved'"
                  " WHERE fcr_status = 'pending' AND fcr_due_at <= now() RETURNING call_uuid",
                  0, NULL, &r);
    abuf ids = {0};
    int n = rc == CS_OK ? db_result_rows(r) : 0;
    for (int i = 0; i < n && rc == CS_OK; i++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", db_result_value(r, i, 0));
        rc = ab_put(&ids, quoted);
    }
    db_result_free(r);
    if (rc == CS_OK && n) {
        char t[24], s[24];
        snprintf(t, sizeof t, "%lld", (long long)cfg->sl_threshold_ms);
        snprintf(s, sizeof s, "%lld", (long long)cfg->short_abandon_ms);
        const char *q[3] = {ab_done(&ids), t, s};
        rc = db_query(c, "SELECT cs_kpi_refresh($1::uuid[], $2::int, $3::int)", 3, q, &r);
        db_result_free(r);
    }
    free(ids.b);
    if (rc == CS_OK)
        rc = db_commit(c);
    else
        db_rollback(c);
    if (rc == CS_OK)
        *settled = n;
    return rc;
}

int sscore_directory_store(db_conn *c, const dir_list *d, char *err, size_t errcap)
{
    int rc = db_begin(c);
    for (size_t i = 0; i < d->n_queues && rc == CS_OK; i++) {
        const char *p[1] = {d->queues[i].name};
        rc = db_command(c, "INSERT INTO queues (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", 1,
                        p, NULL);
        for (size_t k = 0; k < d->queues[i].n_dnis && rc == CS_OK; k++) {
            const char *q[2] = {d->queues[i].dnis[k], d->queues[i].name};
            rc = db_command(c,
                            "INSERT INTO queue_dnis (dnis, queue_id) SELECT $1, id FROM queues"
                            " WHERE name = $2 ON CONFLICT (dnis) DO UPDATE SET queue_id ="
                            " EXCLUDED.queue_id",
                            2, q, NULL);
        }
    }
    for (size_t i = 0; i < d->n_agents && rc == CS_OK; i++) {
        const char *p[2] = {d->agents[i].extension, d->agents[i].name};
        rc = db_command(c,
                        "INSERT INTO agents (extension, name) VALUES ($1, $2) ON CONFLICT"
                        " (extension) DO UPDATE SET name = EXCLUDED.name",
                        2, p, NULL);
    }
    if (rc == CS_OK)
        rc = db_commit(c);
    if (rc != CS_OK) {
        snprintf(err, errcap, "%s", db_last_error(c));
        if (db_in_transaction(c))
            db_rollback(c);
    }
    return rc;
}

int sscore_card_version(db_conn *c, const scorecard *card, int64_t *id, int *version,
                        int *created, char *err, size_t errcap)
{
    char *canon = scorecard_canonical_json(card);
    if (!canon)
        return CS_ERR_NOMEM;
    *created = 0;
    int rc = db_begin(c);
    db_result *r = NULL;
    const char *p[2] = {card->name, canon};
    if (rc == CS_OK) {
        db_result *l = NULL;
        rc = db_query(c, "SELECT pg_advisory_xact_lock(hashtextextended('cs-card:' || $1, 0))",
                      1, p, &l);
        db_result_free(l);
    }
    if (rc == CS_OK)
        rc = db_query(c,
                      "SELECT id, version FROM scorecards WHERE name = $1 AND definition = $2::jsonb"
                      " ORDER BY version DESC LIMIT 1",
                      2, p, &r);
    if (rc == CS_OK && db_result_rows(r) == 0) {
        db_result_free(r);
        r = NULL;
        rc = db_command(c, "UPDATE scorecards SET active = false WHERE name = $1 AND active", 1, p,
                        NULL);
        if (rc == CS_OK)
            rc = db_query(c,
                          "INSERT INTO scorecards (name, version, definition, active) SELECT $1,"
                          " coalesce(max(version), 0) + 1, $2::jsonb, true FROM scorecards"
                          " WHERE name = $1 RETURNING id, version",
                          2, p, &r);
        *created = 1;
    } else if (rc == CS_OK) {
        /* an older version's definition came back: it becomes the active one
         * (two statements: at most one active row per name at any moment) */
        const char *q[2] = {db_result_value(r, 0, 0), card->name};
        rc = db_command(c,
                        "UPDATE scorecards SET active = false WHERE name = $2 AND active"
                        " AND id <> $1::bigint",
                        2, q, NULL);
        if (rc == CS_OK)
            rc = db_command(c, "UPDATE scorecards SET active = true WHERE id = $1::bigint", 1, q,
                            NULL);
    }
    if (rc == CS_OK) {
        int64_t v = 0;
        *id = val_i64(r, 0, 0, 0);
        v = val_i64(r, 0, 1, 0);
        *version = (int)v;
        rc = db_commit(c);
    }
    db_result_free(r);
    if (rc != CS_OK) {
        snprintf(err, errcap, "%s", db_last_error(c));
        if (db_in_transaction(c))
            db_rollback(c);
    }
    free(canon);
    return rc;
}
