/*
 * db.h — PostgreSQL access for every callscope program.
 *
 * This is the only module that talks to libpq (only db.c includes
 * <libpq-fe.h>). Everything else sees two opaque handles:
 *
 *   db_conn    one connection; not thread-safe (one per thread/worker).
 *   db_result  the rows of one statement; independent of the connection
 *              once returned (it may outlive the db_conn).
 *
 * Statements are parameterised: db_query() sends the SQL text and the
 * parameter values separately (extended protocol), so data never becomes
 * SQL. db_exec() runs constant SQL only (BEGIN, migrations); the single
 * place where data enters SQL text is db_exec_ident(), which quotes one
 * identifier with libpq's PQescapeIdentifier (LISTEN, CREATE DATABASE).
 *
 * Errors. Every function returns CS_OK or a negative cs_err:
 *   CS_ERR_DB       the server rejected the statement; db_last_sqlstate()
 *                   and db_last_error() say why (e.g. "23505", "duplicate
 *                   key value violates unique constraint ...").
 *   CS_ERR_DB_CONN  the connection is gone (server restart, backend
 *                   terminated, network). db_ensure() reconnects. The
 *                   sqlstate is the server's when it sent one (57P01 ...),
 *                   otherwise "08006".
 *   CS_ERR_INVAL    bad arguments (NULL, out-of-range row/column, channel
 *                   names that are not [a-z0-9_]{1,63}).
 * The last error is kept per connection until the next call on it.
 *
 * Secrets. A conninfo may hold a password; it is kept only inside libpq's
 * connection object and is never logged nor copied into error messages
 * (libpq's own messages name host, port, user and database, not the
 * password). Prefer ~/.pgpass or a service file over passwords in
 * conninfo strings (docs/database.md).
 *
 * Reconnects. After a lost connection the caller calls db_ensure(), which
 * retries with exponential back-off (db_backoff) until it succeeds, the
 * attempts run out, or the caller's stop callback says stop. A reconnect
 * re-issues every LISTEN registered with db_listen(); an open transaction
 * is lost (the caller redoes its unit of work — every stage is idempotent).
 */
#ifndef CALLSCOPE_DB_H
#define CALLSCOPE_DB_H

#include <stddef.h>
#include <stdint.h>

typedef struct db_conn db_conn;
typedef struct db_result db_result;

/* ---- connections ---------------------------------------------------- */

/*
 * Opens a connection. `conninfo` is anything libpq accepts: "key=value ..."
 * (host=/run/postgresql dbname=callscope), a URI (postgresql://...), or
 * "service=NAME" (pg_service.conf). `app_name` (e.g. "callscope-decode") is
 * sent as fallback_application_name: it shows in pg_stat_activity unless
 * the conninfo or PGAPPNAME names one explicitly. Client encoding is UTF8.
 *
 * *out is set to a new handle in every case except CS_ERR_NOMEM and
 * CS_ERR_INVAL (NULL arguments); the caller owns it and frees it with
 * db_close(), also after a failure. Returns:
 *   CS_OK           connected;
 *   CS_ERR_DB_CONN  server unreachable / authentication failed; the handle
 *                   keeps the parameters, db_ensure() retries;
 *   CS_ERR_CONFIG   the conninfo does not parse; db_ensure() will not help.
 * db_last_error(*out) holds the reason after a failure.
 */
int db_connect(const char *conninfo, const char *app_name, db_conn **out);

/* Closes and frees. NULL is a no-op. */
void db_close(db_conn *c);

/* 1 when the connection is believed good (libpq's status; a dead peer is
 * only noticed by the next statement), else 0. */
int db_is_ok(const db_conn *c);

/* The server's process id for this connection (pg_backend_pid()), 0 if none. */
int db_backend_pid(const db_conn *c);

/* Reconnection policy for db_ensure(). */
typedef struct db_backoff {
    unsigned initial_ms; /* first pause; 0 means 100 ms */
    unsigned max_ms;     /* pauses double up to this; 0 means 30000 ms */
    unsigned max_tries;  /* reconnect attempts; 0 means until should_stop */
    /* Polled before each attempt and every <= 100 ms while sleeping;
     * returning nonzero makes db_ensure return CS_ERR_INTERRUPTED.
     * May be NULL (never stop). */
    int (*should_stop)(void *arg);
    void *stop_arg;
} db_backoff;

/*
 * Makes sure the connection is usable: returns CS_OK at once when libpq
 * believes it is; otherwise reconnects (first attempt immediately, then
 * pausing initial_ms, 2*initial_ms, ... capped at max_ms) and re-LISTENs.
 * `bo` may be NULL for the defaults with max_tries = 5. Returns CS_OK,
 * CS_ERR_DB_CONN (tries exhausted), CS_ERR_INTERRUPTED (stop requested),
 * CS_ERR_CONFIG (conninfo never parsed). Logs each failed attempt at WARN
 * (host/database only, never the password).
 */
int db_ensure(db_conn *c, const db_backoff *bo);

/* ---- errors ------------------------------------------------------------ */

/* The SQLSTATE of the last failed call on c ("" after success or for
 * client-side errors). Borrowed; valid until the next call on c. */
const char *db_last_sqlstate(const db_conn *c);
/* The message of the last failed call on c (one line, no trailing newline;
 * "" after success). Borrowed; valid until the next call on c. */
const char *db_last_error(const db_conn *c);

/* 1 if sqlstate is a serialization failure (40001) or deadlock (40P01):
 * the transaction may succeed when retried. */
int db_sqlstate_is_retryable(const char *sqlstate);

/* ---- statements ---------------------------------------------------------- */

/*
 * Runs constant SQL text with no parameters (simple query protocol: several
 * statements separated by ';' are allowed, which migrations need). Results
 * are discarded. Never pass text assembled from data.
 */
int db_exec(db_conn *c, const char *sql);

/*
 * Runs `before` + quoted(ident) + `after` as in db_exec(), where ident is
 * quoted as an SQL identifier by libpq (e.g. before="LISTEN ", ident=
 * "jobs_score", after=""). For the few commands that cannot take bind
 * parameters (LISTEN, CREATE/DROP DATABASE). before/after must be constant.
 */
int db_exec_ident(db_conn *c, const char *before, const char *ident, const char *after);

/*
 * Runs one parameterised statement: $1..$n in `sql` take params[0..n-1] as
 * text (a NULL entry is SQL NULL; cast in SQL where the type matters, e.g.
 * $1::bigint). nparams may be 0 with params NULL. When `res` is non-NULL it
 * receives the result (caller frees with db_result_free), also for
 * statements that return no rows; on error *res is NULL.
 */
int db_query(db_conn *c, const char *sql, int nparams, const char *const *params, db_result **res);

/* Like db_query without a result; *affected (may be NULL) gets the number of
 * rows the INSERT/UPDATE/DELETE touched. */
int db_command(db_conn *c, const char *sql, int nparams, const char *const *params,
               int64_t *affected);

/* ---- results ------------------------------------------------------------- */

int db_result_rows(const db_result *r);
int db_result_cols(const db_result *r);
/* Column index by name, or -1. */
int db_result_col(const db_result *r, const char *name);
/* Rows affected by the statement (INSERT/UPDATE/DELETE ... ), 0 if none. */
int64_t db_result_affected(const db_result *r);

/* The text value, NUL-terminated, borrowed from r (valid until
 * db_result_free); NULL for SQL NULL or an out-of-range row/column. */
const char *db_result_value(const db_result *r, int row, int col);
/* Length in bytes of the text value (0 for NULL / out of range). */
size_t db_result_len(const db_result *r, int row, int col);
/* 1 for SQL NULL, 0 for a value, -1 for an out-of-range row/column. */
int db_result_is_null(const db_result *r, int row, int col);

/*
 * Typed getters. Return CS_OK and set *out; CS_ERR_INVAL for an out-of-range
 * row/column, CS_ERR_NOTFOUND for SQL NULL, CS_ERR_MALFORMED when the text is
 * not a number/boolean (e.g. "12abc"), CS_ERR_OVERFLOW when it does not fit.
 * *out is untouched on error. Booleans are PostgreSQL's "t"/"f".
 */
int db_result_int64(const db_result *r, int row, int col, int64_t *out);
int db_result_int(const db_result *r, int row, int col, int *out);
int db_result_double(const db_result *r, int row, int col, double *out);
int db_result_bool(const db_result *r, int row, int col, int *out);

/* Frees r; NULL is a no-op. */
void db_result_free(db_result *r);

/* ---- transactions -------------------------------------------------------- */

typedef enum db_isolation {
    DB_READ_COMMITTED = 0,
    DB_REPEATABLE_READ = 1,
    DB_SERIALIZABLE = 2
} db_isolation;

/* BEGIN / COMMIT / ROLLBACK. db_commit returns CS_ERR_DB (with the sqlstate)
 * when the server rolled back instead (e.g. a failed statement inside). */
int db_begin(db_conn *c);
int db_begin_iso(db_conn *c, db_isolation iso);
int db_commit(db_conn *c);
int db_rollback(db_conn *c);
/* 1 inside a transaction block (also a failed one), else 0. */
int db_in_transaction(const db_conn *c);

/* The unit of work for db_transaction: returns CS_OK to commit, anything
 * else to roll back. It must only use c for its statements and must not
 * BEGIN/COMMIT itself; it may run again, so it must not keep side effects
 * outside the database from a failed attempt. */
typedef int (*db_tx_fn)(db_conn *c, void *arg);

/*
 * Runs fn inside BEGIN ISOLATION LEVEL iso ... COMMIT. When fn or COMMIT
 * fails with a serialization failure or deadlock (db_sqlstate_is_retryable)
 * it rolls back, pauses briefly (5 ms * attempt) and runs fn again, at most
 * max_attempts times in all (0 means 5). Returns CS_OK after a commit, fn's
 * error after a rollback, CS_ERR_BUSY when every attempt hit a conflict
 * (db_last_sqlstate keeps 40001/40P01), CS_ERR_DB_CONN when the connection
 * was lost (a COMMIT lost this way has an unknown outcome), CS_ERR_STATE if
 * c is already inside a transaction.
 */
int db_transaction(db_conn *c, db_isolation iso, unsigned max_attempts, db_tx_fn fn, void *arg);

/* ---- LISTEN / NOTIFY ------------------------------------------------------ */

/* Channel names are [a-z0-9_]{1,63}; anything else is CS_ERR_INVAL. */

/* LISTEN channel; remembered and re-issued by db_ensure after a reconnect
 * (at most 16 channels per connection, CS_ERR_LIMIT beyond). */
int db_listen(db_conn *c, const char *channel);
/* UNLISTEN channel and forget it. */
int db_unlisten(db_conn *c, const char *channel);

/* SELECT pg_notify($1, $2). Inside a transaction the notification is sent at
 * COMMIT (and dropped on ROLLBACK). payload may be NULL ("") and must be
 * shorter than 8000 bytes (server limit). */
int db_notify(db_conn *c, const char *channel, const char *payload);

/*
 * Waits up to timeout_ms (0: just check; negative: forever) for a
 * notification on any channel this connection listens to, polling the
 * connection's socket. Returns CS_OK and fills channel (cap bytes,
 * truncated; may be NULL) and *payload (malloc'd, caller frees; may be NULL
 * to discard), CS_ERR_TIMEOUT when none arrived, CS_ERR_DB_CONN when the
 * connection dropped, CS_ERR_INTERRUPTED when poll() was interrupted by a
 * signal (so a stop flag set by a handler is seen at once).
 * Notifications are hints: a worker that times out rescans its queue anyway.
 */
int db_wait_notify(db_conn *c, int timeout_ms, char *channel, size_t cap, char **payload);

/* ---- conninfo helpers ------------------------------------------------------ */

/*
 * Rewrites conninfo (key=value or URI) as key=value text with dbname
 * replaced by `dbname` (used to reach a sibling database on the same server,
 * e.g. a test database). Values are quoted as libpq requires. The output
 * keeps any password the input had: it is for connecting, never for logs.
 * Returns CS_OK, CS_ERR_CONFIG (does not parse), CS_ERR_OVERFLOW (cap).
 */
int db_conninfo_with_dbname(const char *conninfo, const char *dbname, char *out, size_t cap);

#endif
