/*
 * jobq.h — the work queue on PostgreSQL's `jobs` table (schema/001_init.sql).
 *
 * States:  queued --claim--> running --complete--> done
 *                              |  \--fail (attempts < max)--> queued (run_after = back-off)
 *                              |  \--fail (attempts >= max)--> failed
 *                              \--lease expired--> reclaimable by any worker
 *                                 (or failed, if it already had max_attempts claims)
 *
 * - One row per (kind, call_uuid). jobq_enqueue() is idempotent for a
 *   call-bound job: enqueueing it again resets the existing row to queued
 *   with attempts 0, run_after now, a new payload/priority and no error —
 *   re-processing a call redoes the downstream work. If that job was running,
 *   its worker loses the lease (its complete/fail/extend get CS_ERR_STATE)
 *   and the job runs again. Jobs with call_uuid NULL are never merged.
 * - Claiming is one statement (UPDATE ... WHERE id = (SELECT ... FOR UPDATE
 *   SKIP LOCKED LIMIT 1)): concurrent workers never get the same job and
 *   never wait on each other. Order: priority DESC, run_after, id.
 * - A claim is a lease (lease_owner, lease_until). A worker that dies stops
 *   renewing it; once lease_until has passed any worker may reclaim the job.
 *   Long work calls jobq_extend() before the lease runs out. Only the current
 *   lease owner may extend/complete/fail: a worker whose lease was reclaimed
 *   gets CS_ERR_STATE and must drop its result (the work is idempotent).
 * - attempts counts claims. A failed attempt goes back to queued after
 *   base * 2^(attempts-1) seconds (capped), or to failed after max_attempts.
 *   An expired lease on the last attempt also ends in failed.
 * - Enqueue sends NOTIFY jobs_<kind> (payload: the job id) when the
 *   enqueueing transaction commits. It is only a hint to wake idle workers;
 *   workers also poll, so a lost notification only delays work.
 *
 * Every function is one statement on the caller's connection, so it joins
 * the caller's transaction if one is open: a worker should write its
 * results and call jobq_complete() in the same transaction.
 *
 * Kinds are [a-z0-9_]{1,58} (they become channel names); owners are free
 * text of at most 200 bytes ("host:pid:worker").
 */
#ifndef CALLSCOPE_JOBQ_H
#define CALLSCOPE_JOBQ_H

#include <stdint.h>

#include "db.h"

typedef enum jobq_state {
    JOBQ_QUEUED = 0,
    JOBQ_RUNNING = 1,
    JOBQ_DONE = 2,
    JOBQ_FAILED = 3
} jobq_state;

/* A claimed job. Every string is a malloc'd copy owned by the struct:
 * the caller frees them with jobq_job_clear() (not free() on the struct,
 * which may live on the stack). */
typedef struct jobq_job {
    int64_t id;
    char *kind;
    char *call_uuid;   /* NULL for a job not bound to a call */
    char *payload;     /* JSON text, "{}" at least */
    char *lease_owner; /* the owner passed to jobq_claim */
    char *last_error;  /* error of the previous attempt, NULL if none */
    int priority;
    int attempts; /* claims so far, including this one (>= 1) */
    int max_attempts;
} jobq_job;

/* Frees the strings of j and zeroes it; NULL is a no-op. */
void jobq_job_clear(jobq_job *j);

/*
 * Queues a job (see the idempotency rule above). call_uuid may be NULL;
 * payload_json may be NULL ("{}") and must be valid JSON (else CS_ERR_DB,
 * sqlstate 22P02). *id (may be NULL) gets the job's id.
 */
int jobq_enqueue(db_conn *c, const char *kind, const char *call_uuid, const char *payload_json,
                 int priority, int64_t *id);

/*
 * Claims the next runnable job of `kind` for `owner` for lease_seconds (> 0).
 * Returns CS_OK and fills *job (clear it with jobq_job_clear), CS_ERR_EMPTY
 * when nothing is runnable, or a db error. Before choosing, the same
 * statement marks failed every expired job of this kind that already used
 * its max_attempts.
 */
int jobq_claim(db_conn *c, const char *kind, const char *owner, int lease_seconds, jobq_job *job);

/* Pushes lease_until to now + lease_seconds. CS_ERR_STATE when owner no
 * longer holds the job (reclaimed, re-enqueued, finished). */
int jobq_extend(db_conn *c, int64_t id, const char *owner, int lease_seconds);

/* Marks the job done. CS_ERR_STATE when owner no longer holds it. */
int jobq_complete(db_conn *c, int64_t id, const char *owner);

/* Retry policy of jobq_fail: delay = base_s * 2^(attempts-1), at most cap_s. */
typedef struct jobq_backoff {
    double base_s; /* > 0 */
    double cap_s;  /* >= base_s */
} jobq_backoff;
/* base 30 s, cap 1 h */
#define JOBQ_BACKOFF_DEFAULT                                                                       \
    {                                                                                              \
        30.0, 3600.0                                                                               \
    }

/*
 * Records a failed attempt with error_text (kept as last_error, truncated to
 * 4000 characters): back to queued after the back-off (policy NULL =
 * JOBQ_BACKOFF_DEFAULT), or failed once attempts >= max_attempts.
 * *state_out (may be NULL) gets JOBQ_QUEUED or JOBQ_FAILED.
 * CS_ERR_STATE when owner no longer holds the job.
 */
int jobq_fail(db_conn *c, int64_t id, const char *owner, const char *error_text,
              const jobq_backoff *policy, jobq_state *state_out);

/*
 * Fails the job for good, whatever its attempts: state failed, error_text
 * kept as last_error. For input that cannot get better by waiting (a
 * damaged file, a missing row). CS_ERR_STATE when owner no longer holds it.
 */
int jobq_fail_final(db_conn *c, int64_t id, const char *owner, const char *error_text);

typedef struct jobq_counts {
    int64_t queued;  /* all queued, including those waiting for run_after */
    int64_t ready;   /* queued with run_after <= now */
    int64_t running; /* leased, including expired leases */
    int64_t expired; /* running with lease_until < now (a worker died) */
    int64_t done;
    int64_t failed;
} jobq_counts;

/* Counts jobs per state for one kind, or all kinds when kind is NULL. */
int jobq_stats(db_conn *c, const char *kind, jobq_counts *out);

/* LISTEN jobs_<kind> on c, so db_wait_notify() wakes when work is queued. */
int jobq_listen(db_conn *c, const char *kind);

/* "queued", "running", "done", "failed"; parse returns CS_ERR_INVAL otherwise. */
const char *jobq_state_name(jobq_state s);
int jobq_state_parse(const char *s, jobq_state *out);

#endif
