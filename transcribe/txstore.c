/*
 * txstore.c — see txstore.h.
 */
#include "txstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jobq.h"

void tx_input_free(tx_input *in)
{
    if (!in)
        return;
    free(in->path);
    free(in->format);
    free(in->talk[0]);
    free(in->talk[1]);
    memset(in, 0, sizeof *in);
}

int txstore_load(db_conn *c, const char *uuid, tx_input *in, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if (!c || !uuid || !in)
        return CS_ERR_INVAL;
    memset(in, 0, sizeof *in);
    const char *p[1] = {uuid};
    db_result *r = NULL;
    int rc = db_query(c,
                      "SELECT path, format, sample_rate, channels, duration_ms,"
                      " deleted_at IS NOT NULL FROM recordings WHERE call_uuid = $1::uuid",
                      1, p, &r);
    if (rc != CS_OK) {
        snprintf(err, errcap, "reading the recording of %s: %s", uuid, db_last_error(c));
        return rc;
    }
    if (db_result_rows(r) != 1) {
        db_result_free(r);
        snprintf(err, errcap, "call %s has no recording (decode has not archived it)", uuid);
        return CS_ERR_NOTFOUND;
    }
    int64_t dur = 0;
    in->path = strdup(db_result_value(r, 0, 0));
    in->format = strdup(db_result_value(r, 0, 1));
    if (!in->path || !in->format || db_result_int(r, 0, 2, &in->sample_rate) != CS_OK ||
        db_result_int(r, 0, 3, &in->channels) != CS_OK ||
        db_result_int64(r, 0, 4, &dur) != CS_OK || db_result_bool(r, 0, 5, &in->deleted) != CS_OK) {
        db_result_free(r);
        tx_input_free(in);
        return CS_ERR_NOMEM;
    }
    in->duration_ms = dur;
    db_result_free(r);
    r = NULL;
    rc = db_query(c,
                  "SELECT channel, start_ms, end_ms FROM talk_segments WHERE call_uuid = $1::uuid"
                  " ORDER BY channel, start_ms",
                  1, p, &r);
    if (rc != CS_OK) {
        snprintf(err, errcap, "reading the talk segments of %s: %s", uuid, db_last_error(c));
        tx_input_free(in);
        return rc;
    }
    int rows = db_result_rows(r);
    for (int ch = 0; ch < 2; ch++) {
        in->talk[ch] = malloc((size_t)(rows ? rows : 1) * sizeof(seg_span));
        if (!in->talk[ch]) {
            db_result_free(r);
            tx_input_free(in);
            return CS_ERR_NOMEM;
        }
    }
    for (int i = 0; i < rows; i++) {
        int ch = 0;
        int64_t s = 0, e = 0;
        if (db_result_int(r, i, 0, &ch) != CS_OK || db_result_int64(r, i, 1, &s) != CS_OK ||
            db_result_int64(r, i, 2, &e) != CS_OK || ch < 1 || ch > 2)
            continue;
        in->talk[ch - 1][in->ntalk[ch - 1]++] = (seg_span){s, e};
    }
    db_result_free(r);
    return CS_OK;
}

/* Appends s to a PostgreSQL array literal element, quoted. */
static int arr_add_text(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t need = *len + 2 * strlen(s) + 4;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < need)
            ncap *= 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return CS_ERR_NOMEM;
        *buf = nb;
        *cap = ncap;
    }
    char *o = *buf + *len;
    if (*len > 1)
        *o++ = ',';
    *o++ = '"';
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o++ = '"';
    *o = '\0';
    *len = (size_t)(o - *buf);
    return CS_OK;
}

static int arr_add_num(char **buf, size_t *len, size_t *cap, const char *num)
{
    size_t need = *len + strlen(num) + 3;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < need)
            ncap *= 2;
        char *nb = realloc(*buf, ncap);
        if (!nb)
            return CS_ERR_NOMEM;
        *buf = nb;
        *cap = ncap;
    }
    *len += (size_t)sprintf(*buf + *len, "%s%s", *len > 1 ? "," : "", num);
    return CS_OK;
}

typedef struct arr {
    char *b;
    size_t len, cap;
} arr;

static int arr_open(arr *a)
{
    a->cap = 256;
    a->b = malloc(a->cap);
    if (!a->b)
        return CS_ERR_NOMEM;
    strcpy(a->b, "{");
    a->len = 1;
    return CS_OK;
}

/* Inserts one utterance and its words; *id gets the utterance id. */
static int insert_utt(db_conn *c, const char *uuid, int channel, const asr_utt *u, int64_t *id)
{
    char ch[8], s[16], e[16], conf[32];
    snprintf(ch, sizeof ch, "%d", channel);
    snprintf(s, sizeof s, "%d", (int)u->start_ms);
    snprintf(e, sizeof e, "%d", (int)u->end_ms);
    snprintf(conf, sizeof conf, "%.6f", u->confidence);
    const char *p[6] = {uuid, ch, s, e, u->text, conf};
    db_result *r = NULL;
    int rc = db_query(c,
                      "INSERT INTO utterances (call_uuid, channel, start_ms, end_ms, text, confidence)"
                      " VALUES ($1::uuid, $2::smallint, $3::int, $4::int, $5, $6::float8) RETURNING id",
                      6, p, &r);
    if (rc != CS_OK)
        return rc;
    rc = db_result_int64(r, 0, 0, id);
    db_result_free(r);
    if (rc != CS_OK || u->n_words == 0)
        return rc;
    arr st = {0}, en = {0}, wd = {0}, cf = {0};
    if ((rc = arr_open(&st)) || (rc = arr_open(&en)) || (rc = arr_open(&wd)) ||
        (rc = arr_open(&cf)))
        goto out;
    for (size_t i = 0; i < u->n_words; i++) {
        char a[16], b[16], k[32];
        snprintf(a, sizeof a, "%d", (int)u->words[i].start_ms);
        snprintf(b, sizeof b, "%d", (int)u->words[i].end_ms);
        snprintf(k, sizeof k, "%.6f", u->words[i].confidence);
        if ((rc = arr_add_num(&st.b, &st.len, &st.cap, a)) ||
            (rc = arr_add_num(&en.b, &en.len, &en.cap, b)) ||
            (rc = arr_add_text(&wd.b, &wd.len, &wd.cap, u->words[i].word)) ||
            (rc = arr_add_num(&cf.b, &cf.len, &cf.cap, k)))
            goto out;
    }
    strcat(st.b, "}");
    strcat(en.b, "}");
    strcat(wd.b, "}");
    strcat(cf.b, "}");
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)*id);
    const char *q[5] = {ids, st.b, en.b, wd.b, cf.b};
    rc = db_command(c,
                    "INSERT INTO words (utterance_id, start_ms, end_ms, word, confidence)"
                    " SELECT $1::bigint, s, e, w, k FROM unnest($2::int[], $3::int[], $4::text[],"
                    " $5::float8[]) AS t(s, e, w, k)",
                    5, q, NULL);
out:
    free(st.b);
    free(en.b);
    free(wd.b);
    free(cf.b);
    return rc;
}

static int insert_hit(db_conn *c, const char *uuid, const ph_hit *h, int64_t utt_id)
{
    char ch[8], s[16], e[16], conf[32], uid[24];
    snprintf(ch, sizeof ch, "%d", h->channel);
    snprintf(s, sizeof s, "%d", (int)h->start_ms);
    snprintf(e, sizeof e, "%d", (int)h->end_ms);
    snprintf(conf, sizeof conf, "%.6f", h->confidence);
    snprintf(uid, sizeof uid, "%lld", (long long)utt_id);
    const char *p[8] = {uuid, ch, ph_kind_name(h->kind), h->name, h->matched,
                        utt_id > 0 ? uid : NULL, s, e};
    const char *q[9] = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], conf};
    return db_command(c,
                      "INSERT INTO phrase_hits (call_uuid, channel, kind, name, matched_text,"
                      " utterance_id, start_ms, end_ms, confidence) VALUES ($1::uuid, $2::smallint,"
                      " $3, $4, $5, $6::bigint, $7::int, $8::int, $9::float8)",
                      9, q, NULL);
}

static int save_body(db_conn *c, const char *uuid, const tx_output *out)
{
    const char *p[1] = {uuid};
    int rc = db_command(c, "DELETE FROM phrase_hits WHERE call_uuid = $1::uuid", 1, p, NULL);
    if (rc == CS_OK)
        rc = db_command(c, "DELETE FROM utterances WHERE call_uuid = $1::uuid", 1, p, NULL);
    int64_t *ids[2] = {NULL, NULL};
    for (int ch = 0; ch < 2 && rc == CS_OK; ch++) {
        ids[ch] = calloc(out->n[ch] ? out->n[ch] : 1, sizeof(int64_t));
        if (!ids[ch]) {
            rc = CS_ERR_NOMEM;
            break;
        }
        for (size_t i = 0; i < out->n[ch] && rc == CS_OK; i++)
            rc = insert_utt(c, uuid, ch + 1, &out->utts[ch][i], &ids[ch][i]);
    }
    for (size_t i = 0; i < out->nhits && rc == CS_OK; i++) {
        const ph_hit *h = &out->hits[i];
        int64_t uid = 0;
        if (h->channel >= 1 && h->channel <= 2 && h->utt_index < out->n[h->channel - 1])
            uid = ids[h->channel - 1][h->utt_index];
        rc = insert_hit(c, uuid, h, uid);
    }
    free(ids[0]);
    free(ids[1]);
    return rc;
}

int txstore_save(db_conn *c, const char *uuid, const tx_output *out, int64_t job_id,
                 const char *owner, int score_priority)
{
    if (!c || !uuid || !out || !owner)
        return CS_ERR_INVAL;
    int rc = db_begin(c);
    if (rc != CS_OK)
        return rc;
    rc = save_body(c, uuid, out);
    if (rc == CS_OK)
        rc = jobq_enqueue(c, "score", uuid, NULL, score_priority, NULL);
    if (rc == CS_OK)
        rc = jobq_complete(c, job_id, owner);
    if (rc == CS_OK)
        return db_commit(c);
    db_rollback(c);
    return rc;
}
