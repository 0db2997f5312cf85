/*
 * test_jobq.c — the job queue (common/jobq) on a real server.
 *
 * Each test gets a fresh database with the real schema applied
 * (testdb_migrate), so the queue is tested against the `jobs` table the
 * migrations define.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "error.h"
#include "jobq.h"
#include "testdb.h"
#include "testsupport.h"

#define U1 "6f1c1f0e-3f4b-4a53-9d1e-000000000001"
#define U2 "6f1c1f0e-3f4b-4a53-9d1e-000000000002"

typedef struct fixture {
    char conninfo[2048];
    db_conn *c;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || testdb_create(f->conninfo, sizeof f->conninfo) != CS_OK ||
        db_connect(f->conninfo, "test_jobq", &f->c) != CS_OK) {
        return -1;
    }
    if (testdb_migrate(f->c) != CS_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc;
    db_close(f->c);
    rc = testdb_drop(f->conninfo);
    free(f);
    return rc == CS_OK ? 0 : -1;
}

static void assert_scalar(db_conn *c, const char *sql, int64_t id, const char *want)
{
    char ids[24];
    const char *p[1] = {ids};
    db_result *r = NULL;
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    int rc = db_query(c, sql, id != 0 ? 1 : 0, id != 0 ? p : NULL, &r);
    if (rc != CS_OK) {
        fprintf(stderr, "%s: %s\n", sql, db_last_error(c));
    }
    assert_int_equal(rc, CS_OK);
    assert_int_equal(db_result_rows(r), 1);
    assert_string_equal(db_result_value(r, 0, 0) != NULL ? db_result_value(r, 0, 0) : "(null)",
                        want);
    db_result_free(r);
}

static void exec_id(db_conn *c, const char *sql, int64_t id)
{
    char ids[24];
    const char *p[1] = {ids};
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    assert_int_equal(db_command(c, sql, 1, p, NULL), CS_OK);
}

static void test_enqueue_claim_complete(void **state)
{
    fixture *f = *state;
    jobq_job j;
    jobq_counts n;
    int64_t id = 0;

    assert_int_equal(jobq_enqueue(f->c, "transcribe", U1, "{\"channel\":1}", 0, &id), CS_OK);
    assert_true(id > 0);
    assert_int_equal(jobq_stats(f->c, "transcribe", &n), CS_OK);
    assert_int_equal(n.queued, 1);
    assert_int_equal(n.ready, 1);
    assert_int_equal(n.running + n.done + n.failed + n.expired, 0);

    assert_int_equal(jobq_claim(f->c, "score", "w1", 30, &j), CS_ERR_EMPTY);
    assert_int_equal(jobq_claim(f->c, "transcribe", "host:1:w1", 30, &j), CS_OK);
    assert_int_equal(j.id, id);
    assert_string_equal(j.kind, "transcribe");
    assert_string_equal(j.call_uuid, U1);
    assert_string_equal(j.payload, "{\"channel\": 1}");
    assert_string_equal(j.lease_owner, "host:1:w1");
    assert_null(j.last_error);
    assert_int_equal(j.priority, 0);
    assert_int_equal(j.attempts, 1);
    assert_int_equal(j.max_attempts, 5);
    jobq_job_clear(&j);
    assert_int_equal(j.id, 0);
    assert_null(j.kind);
    assert_scalar(f->c,
                  "SELECT extract(epoch FROM lease_until - now())::int BETWEEN 28 AND 30 "
                  "FROM jobs WHERE id = $1::bigint",
                  id, "t");

    assert_int_equal(jobq_claim(f->c, "transcribe", "w2", 30, &j), CS_ERR_EMPTY);
    assert_int_equal(jobq_stats(f->c, NULL, &n), CS_OK);
    assert_int_equal(n.running, 1);
    assert_int_equal(n.queued, 0);

    assert_int_equal(jobq_complete(f->c, id, "w2"), CS_ERR_STATE);
    assert_int_equal(jobq_complete(f->c, id, "host:1:w1"), CS_OK);
    assert_int_equal(jobq_complete(f->c, id, "host:1:w1"), CS_ERR_STATE);
    assert_scalar(f->c,
                  "SELECT state || ' ' || (finished_at IS NOT NULL) || ' ' || lease_owner "
                  "FROM jobs WHERE id = $1::bigint",
                  id, "done true host:1:w1");
    assert_int_equal(jobq_stats(f->c, "transcribe", &n), CS_OK);
    assert_int_equal(n.done, 1);
    assert_int_equal(n.running, 0);

    /* NULL payload means {}. Job without a call. */
    assert_int_equal(jobq_enqueue(f->c, "transcribe", NULL, NULL, 0, &id), CS_OK);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w1", 30, &j), CS_OK);
    assert_null(j.call_uuid);
    assert_string_equal(j.payload, "{}");
    jobq_job_clear(&j);
    jobq_job_clear(NULL);
}

static void test_idempotent_enqueue(void **state)
{
    fixture *f = *state;
    jobq_job j;
    int64_t a = 0, b = 0, c = 0, d = 0, e = 0;
    jobq_state st;

    assert_int_equal(jobq_enqueue(f->c, "score", U1, "{\"v\":1}", 0, &a), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "score", U1, "{\"v\":2}", 3, &b), CS_OK);
    assert_int_equal(a, b);
    assert_scalar(f->c, "SELECT count(*) FROM jobs", 0, "1");
    assert_scalar(f->c, "SELECT payload->>'v' || ' ' || priority FROM jobs WHERE id = $1::bigint",
                  a, "2 3");
    /* Another kind or another call is another job; NULL calls never merge. */
    assert_int_equal(jobq_enqueue(f->c, "transcribe", U1, NULL, 0, &c), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "score", U2, NULL, 0, &d), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "score", NULL, NULL, 0, &e), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "score", NULL, NULL, 0, &b), CS_OK);
    assert_true(c != a && d != a && e != a && b != e);
    assert_scalar(f->c, "SELECT count(*) FROM jobs", 0, "5");

    /* Re-enqueue while running: the job starts over, the old worker loses it. */
    assert_int_equal(jobq_claim(f->c, "score", "w1", 30, &j), CS_OK);
    assert_int_equal(j.id, a); /* priority 3 first */
    jobq_job_clear(&j);
    assert_int_equal(jobq_fail(f->c, a, "w1", "boom", NULL, &st), CS_OK);
    assert_int_equal(st, JOBQ_QUEUED);
    exec_id(f->c, "UPDATE jobs SET run_after = now() WHERE id = $1::bigint", a);
    assert_int_equal(jobq_claim(f->c, "score", "w1", 30, &j), CS_OK);
    assert_int_equal(j.attempts, 2);
    assert_string_equal(j.last_error, "boom");
    jobq_job_clear(&j);
    assert_int_equal(jobq_enqueue(f->c, "score", U1, "{\"v\":3}", 3, &b), CS_OK);
    assert_int_equal(b, a);
    assert_scalar(f->c,
                  "SELECT state || ' ' || attempts || ' ' || coalesce(last_error, '-') || ' ' ||"
                  " coalesce(lease_owner, '-') FROM jobs WHERE id = $1::bigint",
                  a, "queued 0 - -");
    assert_int_equal(jobq_complete(f->c, a, "w1"), CS_ERR_STATE);
    assert_int_equal(jobq_extend(f->c, a, "w1", 30), CS_ERR_STATE);
    assert_int_equal(jobq_claim(f->c, "score", "w2", 30, &j), CS_OK);
    assert_int_equal(j.id, a);
    assert_int_equal(j.attempts, 1);
    assert_string_equal(j.payload, "{\"v\": 3}");
    jobq_job_clear(&j);
    assert_int_equal(jobq_complete(f->c, a, "w2"), CS_OK);

    /* Re-enqueue after done: processed again. */
    assert_int_equal(jobq_enqueue(f->c, "score", U1, NULL, 3, &b), CS_OK);
    assert_scalar(f->c,
                  "SELECT state || ' ' || (finished_at IS NULL) FROM jobs WHERE id = $1::bigint", a,
                  "queued true");
}

static void test_priority_order(void **state)
{
    fixture *f = *state;
    int64_t ida = 0, idb = 0, idc = 0, idd = 0;
    jobq_job j;

    assert_int_equal(jobq_enqueue(f->c, "decode", NULL, "{\"n\":\"a\"}", 0, &ida), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "decode", NULL, "{\"n\":\"b\"}", 5, &idb), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "decode", NULL, "{\"n\":\"c\"}", 5, &idc), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "decode", NULL, "{\"n\":\"d\"}", -1, &idd), CS_OK);
    /* Same priority and same run_after: id decides. */
    assert_int_equal(db_exec(f->c, "UPDATE jobs SET run_after = '2020-01-01'"), CS_OK);
    const int64_t order[4] = {idb, idc, ida, idd};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(jobq_claim(f->c, "decode", "w", 30, &j), CS_OK);
        assert_int_equal(j.id, order[i]);
        jobq_job_clear(&j);
    }
    assert_int_equal(jobq_claim(f->c, "decode", "w", 30, &j), CS_ERR_EMPTY);

    /* Earlier run_after wins within a priority; future run_after waits. */
    assert_int_equal(jobq_enqueue(f->c, "late", NULL, NULL, 0, &ida), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "late", NULL, NULL, 0, &idb), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "late", NULL, NULL, 0, &idc), CS_OK);
    exec_id(f->c, "UPDATE jobs SET run_after = now() - interval '1 hour' WHERE id = $1::bigint",
            idb);
    exec_id(f->c, "UPDATE jobs SET run_after = now() + interval '1 hour' WHERE id = $1::bigint",
            ida);
    assert_int_equal(jobq_claim(f->c, "late", "w", 30, &j), CS_OK);
    assert_int_equal(j.id, idb);
    jobq_job_clear(&j);
    assert_int_equal(jobq_claim(f->c, "late", "w", 30, &j), CS_OK);
    assert_int_equal(j.id, idc);
    jobq_job_clear(&j);
    assert_int_equal(jobq_claim(f->c, "late", "w", 30, &j), CS_ERR_EMPTY);
}

static void test_backoff_and_max_attempts(void **state)
{
    fixture *f = *state;
    const jobq_backoff pol = {100.0, 250.0};
    jobq_state st = JOBQ_RUNNING;
    jobq_counts n;
    jobq_job j;
    int64_t id = 0;
    char longerr[5001];

    memset(longerr, 'e', 5000);
    longerr[5000] = '\0';
    assert_int_equal(jobq_enqueue(f->c, "transcribe", U1, NULL, 0, &id), CS_OK);
    exec_id(f->c, "UPDATE jobs SET max_attempts = 3 WHERE id = $1::bigint", id);

    /* attempt 1 fails: +100 s */
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, &j), CS_OK);
    jobq_job_clear(&j);
    assert_int_equal(jobq_fail(f->c, id, "other", "x", &pol, &st), CS_ERR_STATE);
    assert_int_equal(jobq_fail(f->c, id, "w", "decoder said no", &pol, &st), CS_OK);
    assert_int_equal(st, JOBQ_QUEUED);
    assert_scalar(f->c,
                  "SELECT round(extract(epoch FROM run_after - now())) || ' ' || state || ' ' ||"
                  " last_error || ' ' || (lease_owner IS NULL) FROM jobs WHERE id = $1::bigint",
                  id, "100 queued decoder said no true");
    assert_int_equal(jobq_stats(f->c, "transcribe", &n), CS_OK);
    assert_int_equal(n.queued, 1);
    assert_int_equal(n.ready, 0);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, &j), CS_ERR_EMPTY);

    /* attempt 2 fails: +200 s */
    exec_id(f->c, "UPDATE jobs SET run_after = now() WHERE id = $1::bigint", id);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, &j), CS_OK);
    assert_int_equal(j.attempts, 2);
    jobq_job_clear(&j);
    assert_int_equal(jobq_fail(f->c, id, "w", longerr, &pol, &st), CS_OK);
    assert_int_equal(st, JOBQ_QUEUED);
    assert_scalar(f->c,
                  "SELECT round(extract(epoch FROM run_after - now())) || ' ' || length(last_error)"
                  " FROM jobs WHERE id = $1::bigint",
                  id, "200 4000");

    /* attempt 3 fails: that was the last one */
    exec_id(f->c, "UPDATE jobs SET run_after = now() WHERE id = $1::bigint", id);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, &j), CS_OK);
    assert_int_equal(j.attempts, 3);
    jobq_job_clear(&j);
    assert_int_equal(jobq_fail(f->c, id, "w", "final", &pol, &st), CS_OK);
    assert_int_equal(st, JOBQ_FAILED);
    assert_scalar(f->c,
                  "SELECT state || ' ' || last_error || ' ' || (finished_at IS NOT NULL)"
                  " FROM jobs WHERE id = $1::bigint",
                  id, "failed final true");
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, &j), CS_ERR_EMPTY);
    assert_int_equal(jobq_fail(f->c, id, "w", "again", &pol, &st), CS_ERR_STATE);
    assert_int_equal(jobq_stats(f->c, "transcribe", &n), CS_OK);
    assert_int_equal(n.failed, 1);

    /* The cap: attempt 3 of a 5-attempt job would wait 400 s, capped at 250. */
    assert_int_equal(jobq_enqueue(f->c, "transcribe", U2, NULL, 0, &id), CS_OK);
    exec_id(f->c, "UPDATE jobs SET attempts = 2 WHERE id = $1::bigint", id);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, &j), CS_OK);
    assert_int_equal(j.attempts, 3);
    jobq_job_clear(&j);
    assert_int_equal(jobq_fail(f->c, id, "w", "capped", &pol, &st), CS_OK);
    assert_scalar(f->c,
                  "SELECT round(extract(epoch FROM run_after - now()))"
                  " FROM jobs WHERE id = $1::bigint",
                  id, "250");

    /* The default policy: 30 s for a first failure. */
    exec_id(f->c, "UPDATE jobs SET attempts = 0, run_after = now() WHERE id = $1::bigint", id);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, &j), CS_OK);
    jobq_job_clear(&j);
    assert_int_equal(jobq_fail(f->c, id, "w", "default", NULL, NULL), CS_OK);
    assert_scalar(f->c,
                  "SELECT round(extract(epoch FROM run_after - now()))"
                  " FROM jobs WHERE id = $1::bigint",
                  id, "30");
    const jobq_backoff bad = {0, 10};
    assert_int_equal(jobq_fail(f->c, id, "w", "x", &bad, NULL), CS_ERR_INVAL);
}

/* jobq_fail_final: failed on the first attempt, reason kept, owner checked. */
static void test_fail_final(void **state)
{
    fixture *f = *state;
    jobq_job j;
    jobq_counts n;
    int64_t id = 0;

    assert_int_equal(jobq_enqueue(f->c, "transcribe", U1, NULL, 0, &id), CS_OK);
    assert_int_equal(jobq_fail_final(f->c, id, "w", "not claimed"), CS_ERR_STATE);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, &j), CS_OK);
    assert_int_equal(j.attempts, 1);
    jobq_job_clear(&j);
    assert_int_equal(jobq_fail_final(f->c, id, "other", "x"), CS_ERR_STATE);
    assert_int_equal(jobq_fail_final(f->c, id, "w", "recording 'a.flac' is damaged"), CS_OK);
    assert_scalar(f->c,
                  "SELECT state || ' ' || attempts || ' ' || last_error || ' ' ||"
                  " (finished_at IS NOT NULL) || ' ' || (lease_until IS NULL)"
                  " FROM jobs WHERE id = $1::bigint",
                  id, "failed 1 recording 'a.flac' is damaged true true");
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, &j), CS_ERR_EMPTY);
    assert_int_equal(jobq_fail_final(f->c, id, "w", "again"), CS_ERR_STATE);
    assert_int_equal(jobq_stats(f->c, "transcribe", &n), CS_OK);
    assert_int_equal(n.failed, 1);
    assert_int_equal(jobq_fail_final(NULL, id, "w", "x"), CS_ERR_INVAL);
    assert_int_equal(jobq_fail_final(f->c, 0, "w", "x"), CS_ERR_INVAL);
    /* enqueueing again (a re-decode) revives it */
    assert_int_equal(jobq_enqueue(f->c, "transcribe", U1, NULL, 0, NULL), CS_OK);
    assert_scalar(f->c, "SELECT state || ' ' || attempts FROM jobs WHERE id = $1::bigint", id,
                  "queued 0");
}

static void test_lease_expiry_and_reclaim(void **state)
{
    fixture *f = *state;
    jobq_counts n;
    jobq_job j;
    int64_t id = 0;

    assert_int_equal(jobq_enqueue(f->c, "transcribe", U1, NULL, 0, &id), CS_OK);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w1", 1, &j), CS_OK);
    jobq_job_clear(&j);
    assert_int_equal(jobq_extend(f->c, id, "w2", 1), CS_ERR_STATE);
    assert_int_equal(jobq_extend(f->c, id, "w1", 1), CS_OK);
    /* Still leased: nobody else gets it. */
    assert_int_equal(jobq_claim(f->c, "transcribe", "w2", 30, &j), CS_ERR_EMPTY);

    usleep(1300 * 1000); /* w1 "hangs" past its 1 s lease */
    assert_int_equal(jobq_stats(f->c, "transcribe", &n), CS_OK);
    assert_int_equal(n.running, 1);
    assert_int_equal(n.expired, 1);

    assert_int_equal(jobq_claim(f->c, "transcribe", "w2", 30, &j), CS_OK);
    assert_int_equal(j.id, id);
    assert_int_equal(j.attempts, 2);
    assert_string_equal(j.lease_owner, "w2");
    jobq_job_clear(&j);

    /* The stale owner wakes up: every finishing move is refused. */
    assert_int_equal(jobq_complete(f->c, id, "w1"), CS_ERR_STATE);
    assert_int_equal(jobq_fail(f->c, id, "w1", "late", NULL, NULL), CS_ERR_STATE);
    assert_int_equal(jobq_extend(f->c, id, "w1", 30), CS_ERR_STATE);
    assert_int_equal(jobq_complete(f->c, id, "w2"), CS_OK);
    assert_scalar(f->c,
                  "SELECT state || ' ' || lease_owner || ' ' || attempts FROM jobs"
                  " WHERE id = $1::bigint",
                  id, "done w2 2");
}

static void test_expired_last_attempt_fails(void **state)
{
    fixture *f = *state;
    jobq_counts n;
    jobq_job j;
    int64_t id = 0, other = 0;

    assert_int_equal(jobq_enqueue(f->c, "transcribe", U1, NULL, 0, &id), CS_OK);
    exec_id(f->c, "UPDATE jobs SET max_attempts = 1 WHERE id = $1::bigint", id);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w1", 30, &j), CS_OK);
    jobq_job_clear(&j);
    exec_id(f->c, "UPDATE jobs SET lease_until = now() - interval '1 second' WHERE id = $1::bigint",
            id);
    assert_int_equal(jobq_enqueue(f->c, "transcribe", U2, NULL, -5, &other), CS_OK);

    /* The claim retires the exhausted job and hands out the other one. */
    assert_int_equal(jobq_claim(f->c, "transcribe", "w2", 30, &j), CS_OK);
    assert_int_equal(j.id, other);
    jobq_job_clear(&j);
    assert_scalar(f->c,
                  "SELECT state || ' | ' || last_error || ' | ' || attempts FROM jobs"
                  " WHERE id = $1::bigint",
                  id, "failed | lease of w1 expired on attempt 1 of 1 | 1");
    assert_int_equal(jobq_claim(f->c, "transcribe", "w2", 30, &j), CS_ERR_EMPTY);
    assert_int_equal(jobq_complete(f->c, id, "w1"), CS_ERR_STATE);
    assert_int_equal(jobq_stats(f->c, "transcribe", &n), CS_OK);
    assert_int_equal(n.failed, 1);
    assert_int_equal(n.running, 1);
}

static void test_notify_hint_and_transactions(void **state)
{
    fixture *f = *state;
    db_conn *l = NULL;
    char ch[64], want[32];
    char *payload = NULL;
    int64_t id = 0;
    jobq_job j;

    assert_int_equal(db_connect(f->conninfo, "test_jobq_listener", &l), CS_OK);
    assert_int_equal(jobq_listen(l, "transcribe"), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "transcribe", U1, NULL, 0, &id), CS_OK);
    assert_int_equal(db_wait_notify(l, 5000, ch, sizeof ch, &payload), CS_OK);
    assert_string_equal(ch, "jobs_transcribe");
    snprintf(want, sizeof want, "%lld", (long long)id);
    assert_string_equal(payload, want);
    free(payload);
    payload = NULL;
    /* Other kinds do not wake this listener. */
    assert_int_equal(jobq_enqueue(f->c, "score", U1, NULL, 0, &id), CS_OK);
    assert_int_equal(db_wait_notify(l, 100, NULL, 0, NULL), CS_ERR_TIMEOUT);

    /* Enqueue inside a rolled-back transaction: no job, no hint. */
    assert_int_equal(db_begin(f->c), CS_OK);
    assert_int_equal(jobq_enqueue(f->c, "transcribe", U2, NULL, 0, &id), CS_OK);
    assert_int_equal(db_rollback(f->c), CS_OK);
    assert_int_equal(db_wait_notify(l, 100, NULL, 0, NULL), CS_ERR_TIMEOUT);
    assert_scalar(f->c, "SELECT count(*) FROM jobs WHERE kind = 'transcribe'", 0, "1");

    /* Claim + complete in the caller's transaction: rolled back together. */
    assert_int_equal(db_begin(f->c), CS_OK);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w1", 30, &j), CS_OK);
    assert_int_equal(jobq_complete(f->c, j.id, "w1"), CS_OK);
    assert_int_equal(db_rollback(f->c), CS_OK);
    assert_scalar(f->c, "SELECT state || ' ' || attempts FROM jobs WHERE id = $1::bigint", j.id,
                  "queued 0");
    jobq_job_clear(&j);
    db_close(l);
}

static void test_invalid_arguments(void **state)
{
    fixture *f = *state;
    jobq_job j;
    jobq_counts n;
    int64_t id = 7;
    char owner[202];

    memset(owner, 'o', 201);
    owner[201] = '\0';
    assert_int_equal(jobq_enqueue(f->c, "Bad Kind", NULL, NULL, 0, &id), CS_ERR_INVAL);
    assert_int_equal(id, 0);
    assert_int_equal(jobq_enqueue(f->c, "", NULL, NULL, 0, NULL), CS_ERR_INVAL);
    assert_int_equal(jobq_enqueue(f->c,
                                  "a23456789012345678901234567890123456789012345678901234567890",
                                  NULL, NULL, 0, NULL),
                     CS_ERR_INVAL);
    assert_int_equal(jobq_enqueue(f->c, "transcribe", NULL, "{not json", 0, NULL), CS_ERR_DB);
    assert_string_equal(db_last_sqlstate(f->c), "22P02");
    assert_int_equal(jobq_enqueue(f->c, "transcribe", "not-a-uuid", NULL, 0, NULL), CS_ERR_DB);
    assert_string_equal(db_last_sqlstate(f->c), "22P02");
    assert_int_equal(jobq_claim(f->c, "transcribe", "", 30, &j), CS_ERR_INVAL);
    assert_int_equal(jobq_claim(f->c, "transcribe", owner, 30, &j), CS_ERR_INVAL);
    owner[200] = '\0';
    assert_int_equal(jobq_claim(f->c, "transcribe", owner, 30, &j), CS_ERR_EMPTY);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 0, &j), CS_ERR_INVAL);
    assert_int_equal(jobq_claim(f->c, "transcribe", "w", 30, NULL), CS_ERR_INVAL);
    assert_int_equal(jobq_complete(f->c, 0, "w"), CS_ERR_INVAL);
    assert_int_equal(jobq_complete(f->c, 12345, "w"), CS_ERR_STATE);
    assert_int_equal(jobq_stats(f->c, "Bad Kind", &n), CS_ERR_INVAL);
    assert_int_equal(jobq_listen(f->c, "bad-kind"), CS_ERR_INVAL);

    jobq_state s = JOBQ_DONE;
    assert_int_equal(jobq_state_parse("failed", &s), CS_OK);
    assert_int_equal(s, JOBQ_FAILED);
    assert_int_equal(jobq_state_parse("FAILED", &s), CS_ERR_INVAL);
    assert_string_equal(jobq_state_name(JOBQ_RUNNING), "running");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_enqueue_claim_complete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_enqueue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_and_max_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_final, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_expiry_and_reclaim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_last_attempt_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_hint_and_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
