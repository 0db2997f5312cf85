/*
 * jobq.c — the job queue (see jobq.h for the protocol).
 *
 * Every operation is a single SQL statement, so it is atomic on its own and
 * also composes with a caller's transaction. Correctness under concurrency
 * rests on two PostgreSQL behaviours:
 *
 *  - FOR UPDATE SKIP LOCKED in the claim's sub-select: a row another worker
 *    is claiming is skipped, not waited for; a row that another worker has
 *    claimed and committed since our snapshot is re-checked against the
 *    WHERE clause on its newest version (READ COMMITTED re-evaluation) and
 *    skipped because it is no longer queued/expired. So no job is handed to
 *    two workers at once.
 *  - Guarded updates (WHERE state = 'running' AND lease_owner = $owner):
 *    after a reclaim the old owner's complete/fail/extend match no row and
 *    return CS_ERR_STATE; only one finisher wins.
 *
 * What it does not do: exactly-once execution. A worker can crash after
 * finishing the work but before jobq_complete commits; the job then runs
 * again after its lease expires. Stages are idempotent per call for this
 * reason (ARCHITECTURE.md).
 */
#include "jobq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define JOBQ_KIND_MAX  58 /* "jobs_" + kind fits a 63-byte channel name */
#define JOBQ_OWNER_MAX 200

static int jobq_kind_ok(const char *kind)
{
    size_t n;
    if (kind == NULL) {
        return 0;
    }
    for (n = 0; kind[n] != '\0'; n++) {
        char k = kind[n];
        if (n >= JOBQ_KIND_MAX || !((k >= 'a' && k <= 'z') || (k >= '0' && k <= '9') || k == '_')) {
            return 0;
        }
    }
    return n > 0;
}

static int jobq_owner_ok(const char *owner)
{
    return owner != NULL && owner[0] != '\0' && strlen(owner) <= JOBQ_OWNER_MAX;
}

void jobq_job_clear(jobq_job *j)
{
    if (j == NULL) {
        return;
    }
    free(j->kind);
    free(j->call_uuid);
    free(j->payload);
    free(j->lease_owner);
    free(j->last_error);
    memset(j, 0, sizeof *j);
}

const char *jobq_state_name(jobq_state s)
{
    switch (s) {
    case JOBQ_QUEUED:
        return "queued";
    case JOBQ_RUNNING:
        return "running";
    case JOBQ_DONE:
        return "done";
    case JOBQ_FAILED:
        return "failed";
    }
    return "?";
}

int jobq_state_parse(const char *s, jobq_state *out)
{
    static const jobq_state all[] = {JOBQ_QUEUED, JOBQ_RUNNING, JOBQ_DONE, JOBQ_FAILED};
    if (s == NULL || out == NULL) {
        return CS_ERR_INVAL;
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, jobq_state_name(all[i])) == 0) {
            *out = all[i];
            return CS_OK;
        }
    }
    return CS_ERR_INVAL;
}

static const char JOBQ_ENQUEUE_SQL[] =
    "WITH j AS ("
    " INSERT INTO jobs (kind, call_uuid, payload, priority)"
    " VALUES ($1, $2::uuid, coalesce($3::jsonb, '{}'::jsonb), $4::integer)"
    " ON CONFLICT (kind, call_uuid) WHERE call_uuid IS NOT NULL DO UPDATE"
    " SET state = 'queued', attempts = 0, payload = EXCLUDED.payload,"
    "     priority = EXCLUDED.priority, run_after = now(), lease_owner = NULL,"
    "     lease_until = NULL, last_error = NULL, finished_at = NULL, updated_at = now()"
    " RETURNING id)"
    " SELECT id, pg_notify('jobs_' || $1, id::text) FROM j";

int jobq_enqueue(db_conn *c, const char *kind, const char *call_uuid, const char *payload_json,
                 int priority, int64_t *id)
{
    char prio[16];
    const char *p[4];
    db_result *r = NULL;
    int rc;
    if (id != NULL) {
        *id = 0;
    }
    if (c == NULL || !jobq_kind_ok(kind)) {
        return CS_ERR_INVAL;
    }
    snprintf(prio, sizeof prio, "%d", priority);
    p[0] = kind;
    p[1] = call_uuid;
    p[2] = payload_json;
    p[3] = prio;
    rc = db_query(c, JOBQ_ENQUEUE_SQL, 4, p, &r);
    if (rc == CS_OK && id != NULL) {
        rc = db_result_int64(r, 0, 0, id);
    }
    db_result_free(r);
    return rc;
}

/*
 * The claim. The CTE first retires expired jobs that used all their
 * attempts; the main UPDATE then takes one runnable job. The two row sets
 * are disjoint (attempts >= max vs < max), so the statement never updates
 * a row twice.
 */
static const char JOBQ_CLAIM_SQL[] =
    "WITH retired AS ("
    " UPDATE jobs SET state = 'failed', lease_until = NULL, finished_at = now(),"
    "   updated_at = now(),"
    "   last_error = 'lease of ' || coalesce(lease_owner, '?') || ' expired on attempt '"
    "                || attempts || ' of ' || max_attempts"
    " WHERE id IN (SELECT id FROM jobs WHERE kind = $1 AND state = 'running'"
    "              AND lease_until < now() AND attempts >= max_attempts"
    "              FOR UPDATE SKIP LOCKED))"
    " UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $2,"
    "   lease_until = now() + make_interval(secs => $3::integer), updated_at = now()"
    " WHERE id = (SELECT id FROM jobs WHERE kind = $1"
    "             AND ((state = 'queued' AND run_after <= now())"
    "                  OR (state = 'running' AND lease_until < now()"
    "                      AND attempts < max_attempts))"
    "             ORDER BY priority DESC, run_after, id"
    "             FOR UPDATE SKIP LOCKED LIMIT 1)"
    " RETURNING id, kind, call_uuid, payload::text, lease_owner, last_error,"
    "   priority, attempts, max_attempts";

/* strdup of a result cell; NULL stays NULL. Returns 0, or -1 on no memory. */
static int jobq_dup(const db_result *r, int col, char **out)
{
    const char *v = db_result_value(r, 0, col);
    *out = NULL;
    if (v == NULL) {
        return 0;
    }
    *out = strdup(v);
    return *out != NULL ? 0 : -1;
}

int jobq_claim(db_conn *c, const char *kind, const char *owner, int lease_seconds, jobq_job *job)
{
    char lease[16];
    const char *p[3];
    db_result *r = NULL;
    int rc;
    if (job == NULL) {
        return CS_ERR_INVAL;
    }
    memset(job, 0, sizeof *job);
    if (c == NULL || !jobq_kind_ok(kind) || !jobq_owner_ok(owner) || lease_seconds <= 0) {
        return CS_ERR_INVAL;
    }
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    p[0] = kind;
    p[1] = owner;
    p[2] = lease;
    rc = db_query(c, JOBQ_CLAIM_SQL, 3, p, &r);
    if (rc != CS_OK) {
        return rc;
    }
    if (db_result_rows(r) == 0) {
        db_result_free(r);
        return CS_ERR_EMPTY;
    }
    if ((rc = db_result_int64(r, 0, 0, &job->id)) == CS_OK &&
        (rc = db_result_int(r, 0, 6, &job->priority)) == CS_OK &&
        (rc = db_result_int(r, 0, 7, &job->attempts)) == CS_OK &&
        (rc = db_result_int(r, 0, 8, &job->max_attempts)) == CS_OK) {
        if (jobq_dup(r, 1, &job->kind) != 0 || jobq_dup(r, 2, &job->call_uuid) != 0 ||
            jobq_dup(r, 3, &job->payload) != 0 || jobq_dup(r, 4, &job->lease_owner) != 0 ||
            jobq_dup(r, 5, &job->last_error) != 0) {
            rc = CS_ERR_NOMEM;
        }
    }
    db_result_free(r);
    if (rc != CS_OK) {
        /* The row is claimed but we cannot hand it out: its lease expires
         * and another worker reclaims it. */
        jobq_job_clear(job);
    }
    return rc;
}

/* Runs a guarded single-row update; 0 rows means the owner lost the job. */
static int jobq_guarded(db_conn *c, const char *sql, int n, const char *const *p)
{
    int64_t affected = 0;
    int rc = db_command(c, sql, n, p, &affected);
    if (rc != CS_OK) {
        return rc;
    }
    return affected == 1 ? CS_OK : CS_ERR_STATE;
}

int jobq_extend(db_conn *c, int64_t id, const char *owner, int lease_seconds)
{
    char ids[24], lease[16];
    const char *p[3];
    if (c == NULL || id <= 0 || !jobq_owner_ok(owner) || lease_seconds <= 0) {
        return CS_ERR_INVAL;
    }
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    snprintf(lease, sizeof lease, "%d", lease_seconds);
    p[0] = ids;
    p[1] = owner;
    p[2] = lease;
    return jobq_guarded(c,
                        "UPDATE jobs SET lease_until = now() + make_interval(secs => $3::integer),"
                        " updated_at = now()"
                        " WHERE id = $1::bigint AND state = 'running' AND lease_owner = $2",
                        3, p);
}

int jobq_complete(db_conn *c, int64_t id, const char *owner)
{
    char ids[24];
    const char *p[2];
    if (c == NULL || id <= 0 || !jobq_owner_ok(owner)) {
        return CS_ERR_INVAL;
    }
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    p[0] = ids;
    p[1] = owner;
    /* lease_owner is kept: on a finished job it names the worker that did it. */
    return jobq_guarded(c,
                        "UPDATE jobs SET state = 'done', lease_until = NULL, last_error = NULL,"
                        " finished_at = now(), updated_at = now()"
                        " WHERE id = $1::bigint AND state = 'running' AND lease_owner = $2",
                        2, p);
}

static const char JOBQ_FAIL_SQL[] =
    "UPDATE jobs SET"
    " state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,"
    " run_after = CASE WHEN attempts >= max_attempts THEN run_after"
    "   ELSE now() + make_interval(secs => least($5::float8,"
    "          $4::float8 * power(2::float8, least(greatest(attempts - 1, 0), 60)))) END,"
    " lease_owner = CASE WHEN attempts >= max_attempts THEN lease_owner ELSE NULL END,"
    " lease_until = NULL,"
    " last_error = left(coalesce($3, ''), 4000),"
    " finished_at = CASE WHEN attempts >= max_attempts THEN now() ELSE NULL END,"
    " updated_at = now()"
    " WHERE id = $1::bigint AND state = 'running' AND lease_owner = $2"
    " RETURNING state";

int jobq_fail(db_conn *c, int64_t id, const char *owner, const char *error_text,
              const jobq_backoff *policy, jobq_state *state_out)
{
    static const jobq_backoff def = JOBQ_BACKOFF_DEFAULT;
    char ids[24], base[32], cap[32];
    const char *p[5];
    db_result *r = NULL;
    int rc;
    if (policy == NULL) {
        policy = &def;
    }
    if (c == NULL || id <= 0 || !jobq_owner_ok(owner) || !(policy->base_s > 0) ||
        !(policy->cap_s >= policy->base_s)) {
        return CS_ERR_INVAL;
    }
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    snprintf(base, sizeof base, "%.6f", policy->base_s);
    snprintf(cap, sizeof cap, "%.6f", policy->cap_s);
    p[0] = ids;
    p[1] = owner;
    p[2] = error_text;
    p[3] = base;
    p[4] = cap;
    rc = db_query(c, JOBQ_FAIL_SQL, 5, p, &r);
    if (rc == CS_OK) {
        if (db_result_rows(r) != 1) {
            rc = CS_ERR_STATE;
        } else if (state_out != NULL) {
            rc = jobq_state_parse(db_result_value(r, 0, 0), state_out);
        }
    }
    db_result_free(r);
    return rc;
}

int jobq_fail_final(db_conn *c, int64_t id, const char *owner, const char *error_text)
{
    char ids[24];
    const char *p[3];
    db_result *r = NULL;
    if (c == NULL || id <= 0 || !jobq_owner_ok(owner)) {
        return CS_ERR_INVAL;
    }
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    p[0] = ids;
    p[1] = owner;
    p[2] = error_text;
    int rc = db_query(c,
                      "UPDATE jobs SET state = 'failed', lease_until = NULL,"
                      " last_error = left(coalesce($3, ''), 4000), finished_at = now(),"
                      " updated_at = now()"
                      " WHERE id = $1::bigint AND state = 'running' AND lease_owner = $2"
                      " RETURNING state",
                      3, p, &r);
    if (rc == CS_OK && db_result_rows(r) != 1) {
        rc = CS_ERR_STATE;
    }
    db_result_free(r);
    return rc;
}

int jobq_stats(db_conn *c, const char *kind, jobq_counts *out)
{
    const char *p[1];
    db_result *r = NULL;
    int64_t *fields[6];
    int rc;
    if (c == NULL || out == NULL || (kind != NULL && !jobq_kind_ok(kind))) {
        return CS_ERR_INVAL;
    }
    memset(out, 0, sizeof *out);
    p[0] = kind;
    rc = db_query(c,
                  "SELECT count(*) FILTER (WHERE state = 'queued'),"
                  " count(*) FILTER (WHERE state = 'queued' AND run_after <= now()),"
                  " count(*) FILTER (WHERE state = 'running'),"
                  " count(*) FILTER (WHERE state = 'running' AND lease_until < now()),"
                  " count(*) FILTER (WHERE state = 'done'),"
                  " count(*) FILTER (WHERE state = 'failed')"
                  " FROM jobs WHERE $1::text IS NULL OR kind = $1::text",
                  1, p, &r);
    if (rc != CS_OK) {
        return rc;
    }
    fields[0] = &out->queued;
    fields[1] = &out->ready;
    fields[2] = &out->running;
    fields[3] = &out->expired;
    fields[4] = &out->done;
    fields[5] = &out->failed;
    for (int i = 0; i < 6 && rc == CS_OK; i++) {
        rc = db_result_int64(r, 0, i, fields[i]);
    }
    db_result_free(r);
    return rc;
}

int jobq_listen(db_conn *c, const char *kind)
{
    char channel[64];
    if (c == NULL || !jobq_kind_ok(kind)) {
        return CS_ERR_INVAL;
    }
    snprintf(channel, sizeof channel, "jobs_%s", kind);
    return db_listen(c, channel);
}
