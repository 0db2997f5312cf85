/*
 * db.c — the libpq wrapper (see db.h for the contract).
 *
 * Why a wrapper: libpq's result handling has three failure shapes (NULL
 * result, PGRES_FATAL_ERROR with a live connection, FATAL_ERROR with a dead
 * one) and callers kept getting them wrong; here they collapse into
 * CS_ERR_DB / CS_ERR_DB_CONN plus a stored SQLSTATE and message. It also
 * keeps the one rule that matters for safety in one place: SQL text is
 * constant, data goes through bind parameters.
 *
 * What it does not do: connection pooling (one db_conn per worker; a site
 * with hundreds of workers puts pgbouncer in front — the queue uses only
 * transaction-scoped state, so transaction pooling works, except LISTEN
 * which needs session pooling or a direct connection), async queries,
 * COPY (rejected with CS_ERR_UNSUPPORTED), binary parameters.
 *
 * Notices (e.g. "relation already exists, skipping") are logged at DEBUG
 * instead of libpq's default print to stderr.
 */
#include "db.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "error.h"
#include "log.h"

#define DB_MAX_LISTEN  16
#define DB_CHANNEL_MAX 63
#define DB_ERR_CAP     1024

struct db_conn {
    PGconn *pg;
    int conninfo_ok; /* 0: the conninfo did not parse, reconnecting is pointless */
    char sqlstate[6];
    char err[DB_ERR_CAP];
    size_t nlisten;
    char listen[DB_MAX_LISTEN][DB_CHANNEL_MAX + 1];
};

struct db_result {
    PGresult *pg;
};

/* ---- error bookkeeping ------------------------------------------------- */

static void db_clear_err(db_conn *c)
{
    c->sqlstate[0] = '\0';
    c->err[0] = '\0';
}

/* Copies msg into c->err as one line: newlines become spaces, trailing
 * whitespace is dropped (libpq messages end with '\n' and may be multi-line). */
static void db_set_err(db_conn *c, const char *sqlstate, const char *msg)
{
    size_t n = 0;
    if (sqlstate != NULL) {
        snprintf(c->sqlstate, sizeof c->sqlstate, "%s", sqlstate);
    } else {
        c->sqlstate[0] = '\0';
    }
    if (msg == NULL) {
        msg = "";
    }
    /* whitespace runs (libpq's "\n\t" continuation lines) become one space */
    for (const char *m = msg; *m != '\0' && n + 1 < sizeof c->err; m++) {
        int ws = *m == '\n' || *m == '\r' || *m == '\t' || *m == ' ';
        if (ws && (n == 0 || c->err[n - 1] == ' ')) {
            continue;
        }
        c->err[n++] = ws ? ' ' : *m;
    }
    while (n > 0 && c->err[n - 1] == ' ') {
        n--;
    }
    c->err[n] = '\0';
}

static int db_sqlstate_is_conn(const char *s)
{
    /* class 08 connection exception; 57P01 admin_shutdown, 57P02
     * crash_shutdown, 57P03 cannot_connect_now */
    return (s[0] == '0' && s[1] == '8') || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
           strcmp(s, "57P03") == 0;
}

/* Classifies a failed or NULL PGresult; frees nothing. */
static int db_fail_from(db_conn *c, const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : NULL;
    if (msg == NULL || msg[0] == '\0') {
        msg = PQerrorMessage(c->pg);
    }
    if (PQstatus(c->pg) != CONNECTION_OK || (state != NULL && db_sqlstate_is_conn(state))) {
        db_set_err(c, state != NULL ? state : "08006", msg);
        return CS_ERR_DB_CONN;
    }
    if (res == NULL) {
        db_set_err(c, NULL, msg[0] != '\0' ? msg : "out of memory");
        return CS_ERR_NOMEM;
    }
    db_set_err(c, state != NULL ? state : "", msg);
    return CS_ERR_DB;
}

/* Leaves COPY mode if a statement unexpectedly started it. */
static void db_abort_copy(db_conn *c, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    PGresult *r;
    if (st == PGRES_COPY_IN) {
        PQputCopyEnd(c->pg, "COPY is not supported by callscope's db layer");
    }
    while ((r = PQgetResult(c->pg)) != NULL) {
        if (PQresultStatus(r) == PGRES_COPY_OUT) {
            char *buf = NULL;
            while (PQgetCopyData(c->pg, &buf, 0) > 0) {
                PQfreemem(buf);
                buf = NULL;
            }
        }
        PQclear(r);
    }
}

/* Takes ownership of res: returns CS_OK and hands it to *out (or frees it),
 * or classifies the failure and frees it. */
static int db_finish(db_conn *c, PGresult *res, db_result **out)
{
    ExecStatusType st;
    if (out != NULL) {
        *out = NULL;
    }
    if (res == NULL) {
        return db_fail_from(c, NULL);
    }
    st = PQresultStatus(res);
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        db_abort_copy(c, res);
        PQclear(res);
        db_set_err(c, NULL, "COPY is not supported");
        return CS_ERR_UNSUPPORTED;
    }
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        int rc = db_fail_from(c, res);
        PQclear(res);
        return rc;
    }
    db_clear_err(c);
    if (out == NULL) {
        PQclear(res);
        return CS_OK;
    }
    *out = malloc(sizeof **out);
    if (*out == NULL) {
        PQclear(res);
        db_set_err(c, NULL, "out of memory");
        return CS_ERR_NOMEM;
    }
    (*out)->pg = res;
    return CS_OK;
}

static void db_notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    while (n > 0 && message[n - 1] == '\n') {
        n--;
    }
    cs_log(CS_LOG_DEBUG, NULL, "postgres: %.*s", (int)n, message);
}

/* ---- connections -------------------------------------------------------- */

int db_connect(const char *conninfo, const char *app_name, db_conn **out)
{
    const char *keys[4];
    const char *vals[4];
    char *perr = NULL;
    PQconninfoOption *opts;
    db_conn *c;
    int n = 0;

    if (out == NULL) {
        return CS_ERR_INVAL;
    }
    *out = NULL;
    if (conninfo == NULL) {
        return CS_ERR_INVAL;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        return CS_ERR_NOMEM;
    }
    opts = PQconninfoParse(conninfo, &perr);
    c->conninfo_ok = opts != NULL;
    PQconninfoFree(opts);

    keys[n] = "dbname";
    vals[n++] = conninfo;
    keys[n] = "fallback_application_name";
    vals[n++] = (app_name != NULL && app_name[0] != '\0') ? app_name : "callscope";
    keys[n] = "client_encoding";
    vals[n++] = "UTF8";
    keys[n] = NULL;
    vals[n] = NULL;

    *out = c;
    if (!c->conninfo_ok) {
        /* perr names the offending option or syntax, never a value. */
        db_set_err(c, NULL, perr != NULL ? perr : "invalid connection string");
        PQfreemem(perr);
        return CS_ERR_CONFIG;
    }
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (c->pg == NULL) {
        free(c);
        *out = NULL;
        return CS_ERR_NOMEM;
    }
    PQsetNoticeProcessor(c->pg, db_notice, NULL);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        db_set_err(c, "08006", PQerrorMessage(c->pg));
        return CS_ERR_DB_CONN;
    }
    return CS_OK;
}

void db_close(db_conn *c)
{
    if (c == NULL) {
        return;
    }
    if (c->pg != NULL) {
        PQfinish(c->pg);
    }
    free(c);
}

int db_is_ok(const db_conn *c)
{
    return c != NULL && c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK;
}

int db_backend_pid(const db_conn *c)
{
    return db_is_ok(c) ? PQbackendPID(c->pg) : 0;
}

static int64_t db_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void db_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Sleeps ms in slices of at most 100 ms; returns 1 if asked to stop. */
static int db_sleep_stoppable(unsigned ms, const db_backoff *bo)
{
    while (ms > 0) {
        unsigned slice = ms > 100 ? 100 : ms;
        if (bo != NULL && bo->should_stop != NULL && bo->should_stop(bo->stop_arg)) {
            return 1;
        }
        db_sleep_ms(slice);
        ms -= slice;
    }
    return 0;
}

static int db_relisten(db_conn *c)
{
    for (size_t i = 0; i < c->nlisten; i++) {
        int rc = db_exec_ident(c, "LISTEN ", c->listen[i], "");
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

int db_ensure(db_conn *c, const db_backoff *bo)
{
    unsigned delay, max_delay, max_tries;
    unsigned tries = 0;

    if (c == NULL) {
        return CS_ERR_INVAL;
    }
    if (!c->conninfo_ok || c->pg == NULL) {
        return CS_ERR_CONFIG;
    }
    if (PQstatus(c->pg) == CONNECTION_OK) {
        return CS_OK;
    }
    delay = (bo != NULL && bo->initial_ms != 0) ? bo->initial_ms : 100;
    max_delay = (bo != NULL && bo->max_ms != 0) ? bo->max_ms : 30000;
    max_tries = bo != NULL ? bo->max_tries : 5;
    if (delay > max_delay) {
        delay = max_delay;
    }
    for (;;) {
        if (bo != NULL && bo->should_stop != NULL && bo->should_stop(bo->stop_arg)) {
            return CS_ERR_INTERRUPTED;
        }
        tries++;
        PQreset(c->pg);
        if (PQstatus(c->pg) == CONNECTION_OK) {
            int rc = db_relisten(c);
            if (rc == CS_OK) {
                db_clear_err(c);
                cs_log(CS_LOG_INFO, NULL, "database: reconnected to %s on %s after %u attempt(s)",
                       PQdb(c->pg), PQhost(c->pg), tries);
                return CS_OK;
            }
            if (rc != CS_ERR_DB_CONN) {
                return rc;
            }
        } else {
            db_set_err(c, "08006", PQerrorMessage(c->pg));
        }
        cs_log(CS_LOG_WARN, NULL, "database: reconnect attempt %u to %s on %s failed: %s", tries,
               PQdb(c->pg), PQhost(c->pg), c->err);
        if (max_tries != 0 && tries >= max_tries) {
            return CS_ERR_DB_CONN;
        }
        if (db_sleep_stoppable(delay, bo)) {
            return CS_ERR_INTERRUPTED;
        }
        delay = delay > max_delay / 2 ? max_delay : delay * 2;
    }
}

const char *db_last_sqlstate(const db_conn *c)
{
    return c != NULL ? c->sqlstate : "";
}

const char *db_last_error(const db_conn *c)
{
    return c != NULL ? c->err : "";
}

int db_sqlstate_is_retryable(const char *s)
{
    return s != NULL && (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0);
}

/* ---- statements ---------------------------------------------------------- */

/* Common precondition: a handle with a libpq connection object. A dead
 * connection is reported without a round trip. */
static int db_check(db_conn *c)
{
    if (c->pg == NULL) {
        db_set_err(c, NULL, "connection string did not parse");
        return CS_ERR_CONFIG;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        db_set_err(c, "08003", "no connection to the server");
        return CS_ERR_DB_CONN;
    }
    return CS_OK;
}

int db_exec(db_conn *c, const char *sql)
{
    int rc;
    if (c == NULL || sql == NULL) {
        return CS_ERR_INVAL;
    }
    if ((rc = db_check(c)) != CS_OK) {
        return rc;
    }
    return db_finish(c, PQexec(c->pg, sql), NULL);
}

int db_exec_ident(db_conn *c, const char *before, const char *ident, const char *after)
{
    char *q, *sql;
    size_t len;
    int rc;
    if (c == NULL || before == NULL || ident == NULL || after == NULL) {
        return CS_ERR_INVAL;
    }
    if ((rc = db_check(c)) != CS_OK) {
        return rc;
    }
    q = PQescapeIdentifier(c->pg, ident, strlen(ident));
    if (q == NULL) {
        db_set_err(c, NULL, PQerrorMessage(c->pg));
        return CS_ERR_INVAL;
    }
    len = strlen(before) + strlen(q) + strlen(after) + 1;
    sql = malloc(len);
    if (sql == NULL) {
        PQfreemem(q);
        return CS_ERR_NOMEM;
    }
    snprintf(sql, len, "%s%s%s", before, q, after);
    PQfreemem(q);
    rc = db_finish(c, PQexec(c->pg, sql), NULL);
    free(sql);
    return rc;
}

int db_query(db_conn *c, const char *sql, int nparams, const char *const *params, db_result **res)
{
    int rc;
    if (res != NULL) {
        *res = NULL;
    }
    if (c == NULL || sql == NULL || nparams < 0 || (nparams > 0 && params == NULL)) {
        return CS_ERR_INVAL;
    }
    if ((rc = db_check(c)) != CS_OK) {
        return rc;
    }
    return db_finish(c, PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0), res);
}

int db_command(db_conn *c, const char *sql, int nparams, const char *const *params,
               int64_t *affected)
{
    db_result *r = NULL;
    int rc = db_query(c, sql, nparams, params, &r);
    if (affected != NULL) {
        *affected = rc == CS_OK ? db_result_affected(r) : 0;
    }
    db_result_free(r);
    return rc;
}

/* ---- results ---------------------------------------------------------- */

int db_result_rows(const db_result *r)
{
    return r != NULL ? PQntuples(r->pg) : 0;
}

int db_result_cols(const db_result *r)
{
    return r != NULL ? PQnfields(r->pg) : 0;
}

int db_result_col(const db_result *r, const char *name)
{
    if (r == NULL || name == NULL) {
        return -1;
    }
    /* Exact, case-sensitive match (PQfnumber would case-fold unquoted names). */
    for (int i = 0; i < PQnfields(r->pg); i++) {
        if (strcmp(PQfname(r->pg, i), name) == 0) {
            return i;
        }
    }
    return -1;
}

int64_t db_result_affected(const db_result *r)
{
    const char *s;
    if (r == NULL) {
        return 0;
    }
    s = PQcmdTuples(r->pg);
    return (s != NULL && s[0] != '\0') ? strtoll(s, NULL, 10) : 0;
}

static int db_in_range(const db_result *r, int row, int col)
{
    return r != NULL && row >= 0 && col >= 0 && row < PQntuples(r->pg) && col < PQnfields(r->pg);
}

const char *db_result_value(const db_result *r, int row, int col)
{
    if (!db_in_range(r, row, col) || PQgetisnull(r->pg, row, col)) {
        return NULL;
    }
    return PQgetvalue(r->pg, row, col);
}

size_t db_result_len(const db_result *r, int row, int col)
{
    if (!db_in_range(r, row, col) || PQgetisnull(r->pg, row, col)) {
        return 0;
    }
    return (size_t)PQgetlength(r->pg, row, col);
}

int db_result_is_null(const db_result *r, int row, int col)
{
    if (!db_in_range(r, row, col)) {
        return -1;
    }
    return PQgetisnull(r->pg, row, col) ? 1 : 0;
}

/* Fetches the text of a cell for the typed getters. */
static int db_cell(const db_result *r, int row, int col, const char **s)
{
    if (!db_in_range(r, row, col)) {
        return CS_ERR_INVAL;
    }
    if (PQgetisnull(r->pg, row, col)) {
        return CS_ERR_NOTFOUND;
    }
    *s = PQgetvalue(r->pg, row, col);
    return CS_OK;
}

int db_result_int64(const db_result *r, int row, int col, int64_t *out)
{
    const char *s;
    char *end;
    long long v;
    int rc = db_cell(r, row, col, &s);
    if (rc != CS_OK) {
        return rc;
    }
    if (out == NULL || s[0] == '\0') {
        return out == NULL ? CS_ERR_INVAL : CS_ERR_MALFORMED;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end != '\0') {
        return CS_ERR_MALFORMED;
    }
    if (errno == ERANGE) {
        return CS_ERR_OVERFLOW;
    }
    *out = (int64_t)v;
    return CS_OK;
}

int db_result_int(const db_result *r, int row, int col, int *out)
{
    int64_t v;
    int rc;
    if (out == NULL) {
        return CS_ERR_INVAL;
    }
    rc = db_result_int64(r, row, col, &v);
    if (rc != CS_OK) {
        return rc;
    }
    if (v < INT_MIN || v > INT_MAX) {
        return CS_ERR_OVERFLOW;
    }
    *out = (int)v;
    return CS_OK;
}

int db_result_double(const db_result *r, int row, int col, double *out)
{
    const char *s;
    char *end;
    double v;
    int rc = db_cell(r, row, col, &s);
    if (rc != CS_OK) {
        return rc;
    }
    if (out == NULL) {
        return CS_ERR_INVAL;
    }
    if (s[0] == '\0') {
        return CS_ERR_MALFORMED;
    }
    errno = 0;
    v = strtod(s, &end);
    if (*end != '\0') {
        return CS_ERR_MALFORMED;
    }
    /* PostgreSQL prints "Infinity"/"NaN" for float8; strtod accepts both. An
     * ERANGE overflow from a finite text is reported; underflow to 0 is fine. */
    if (errno == ERANGE && isinf(v)) {
        return CS_ERR_OVERFLOW;
    }
    *out = v;
    return CS_OK;
}

int db_result_bool(const db_result *r, int row, int col, int *out)
{
    const char *s;
    int rc = db_cell(r, row, col, &s);
    if (rc != CS_OK) {
        return rc;
    }
    if (out == NULL) {
        return CS_ERR_INVAL;
    }
    if (strcmp(s, "t") == 0) {
        *out = 1;
    } else if (strcmp(s, "f") == 0) {
        *out = 0;
    } else {
        return CS_ERR_MALFORMED;
    }
    return CS_OK;
}

void db_result_free(db_result *r)
{
    if (r == NULL) {
        return;
    }
    PQclear(r->pg);
    free(r);
}

/* ---- transactions -------------------------------------------------------- */

int db_begin(db_conn *c)
{
    return db_exec(c, "BEGIN");
}

int db_begin_iso(db_conn *c, db_isolation iso)
{
    switch (iso) {
    case DB_READ_COMMITTED:
        return db_exec(c, "BEGIN ISOLATION LEVEL READ COMMITTED");
    case DB_REPEATABLE_READ:
        return db_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    case DB_SERIALIZABLE:
        return db_exec(c, "BEGIN ISOLATION LEVEL SERIALIZABLE");
    }
    return CS_ERR_INVAL;
}

int db_commit(db_conn *c)
{
    db_result *r = NULL;
    int rc;
    if (c == NULL) {
        return CS_ERR_INVAL;
    }
    if ((rc = db_check(c)) != CS_OK) {
        return rc;
    }
    rc = db_finish(c, PQexec(c->pg, "COMMIT"), &r);
    if (rc == CS_OK) {
        /* COMMIT of a failed transaction "succeeds" with tag ROLLBACK. */
        const char *tag = PQcmdStatus(r->pg);
        if (tag != NULL && strcmp(tag, "ROLLBACK") == 0) {
            db_set_err(c, "25P02", "transaction was rolled back: a statement inside it failed");
            rc = CS_ERR_DB;
        }
    }
    db_result_free(r);
    return rc;
}

int db_rollback(db_conn *c)
{
    return db_exec(c, "ROLLBACK");
}

int db_in_transaction(const db_conn *c)
{
    PGTransactionStatusType t;
    if (c == NULL || c->pg == NULL) {
        return 0;
    }
    t = PQtransactionStatus(c->pg);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* Rolls back after a failed attempt but keeps the attempt's error. */
static void db_rollback_keep_err(db_conn *c)
{
    char state[sizeof c->sqlstate];
    char err[sizeof c->err];
    memcpy(state, c->sqlstate, sizeof state);
    memcpy(err, c->err, sizeof err);
    if (db_is_ok(c)) {
        (void)db_rollback(c);
    }
    memcpy(c->sqlstate, state, sizeof state);
    memcpy(c->err, err, sizeof err);
}

int db_transaction(db_conn *c, db_isolation iso, unsigned max_attempts, db_tx_fn fn, void *arg)
{
    if (c == NULL || fn == NULL) {
        return CS_ERR_INVAL;
    }
    if (db_in_transaction(c)) {
        db_set_err(c, NULL, "db_transaction called inside a transaction");
        return CS_ERR_STATE;
    }
    if (max_attempts == 0) {
        max_attempts = 5;
    }
    for (unsigned attempt = 1;; attempt++) {
        int rc = db_begin_iso(c, iso);
        if (rc != CS_OK) {
            return rc;
        }
        rc = fn(c, arg);
        if (rc == CS_OK) {
            rc = db_commit(c);
            if (rc == CS_OK) {
                return CS_OK;
            }
        }
        if (rc == CS_ERR_DB_CONN) {
            return rc;
        }
        db_rollback_keep_err(c);
        if (!(rc == CS_ERR_DB && db_sqlstate_is_retryable(c->sqlstate))) {
            return rc;
        }
        if (attempt >= max_attempts) {
            return CS_ERR_BUSY;
        }
        cs_log(CS_LOG_DEBUG, NULL, "database: transaction conflict (%s), retry %u of %u",
               c->sqlstate, attempt + 1, max_attempts);
        db_sleep_ms(5 * attempt);
    }
}

/* ---- LISTEN / NOTIFY ------------------------------------------------------- */

static int db_channel_ok(const char *ch)
{
    size_t n;
    if (ch == NULL) {
        return 0;
    }
    for (n = 0; ch[n] != '\0'; n++) {
        char k = ch[n];
        if (n >= DB_CHANNEL_MAX ||
            !((k >= 'a' && k <= 'z') || (k >= '0' && k <= '9') || k == '_')) {
            return 0;
        }
    }
    return n > 0;
}

int db_listen(db_conn *c, const char *channel)
{
    size_t i;
    int rc;
    if (c == NULL || !db_channel_ok(channel)) {
        return CS_ERR_INVAL;
    }
    for (i = 0; i < c->nlisten; i++) {
        if (strcmp(c->listen[i], channel) == 0) {
            break;
        }
    }
    if (i == c->nlisten && c->nlisten == DB_MAX_LISTEN) {
        db_set_err(c, NULL, "too many LISTEN channels on one connection");
        return CS_ERR_LIMIT;
    }
    rc = db_exec_ident(c, "LISTEN ", channel, "");
    if (rc == CS_OK && i == c->nlisten) {
        snprintf(c->listen[c->nlisten++], sizeof c->listen[0], "%s", channel);
    }
    return rc;
}

int db_unlisten(db_conn *c, const char *channel)
{
    int rc;
    if (c == NULL || !db_channel_ok(channel)) {
        return CS_ERR_INVAL;
    }
    for (size_t i = 0; i < c->nlisten; i++) {
        if (strcmp(c->listen[i], channel) == 0) {
            memmove(c->listen[i], c->listen[i + 1], (c->nlisten - i - 1) * sizeof c->listen[0]);
            c->nlisten--;
            break;
        }
    }
    rc = db_exec_ident(c, "UNLISTEN ", channel, "");
    return rc;
}

int db_notify(db_conn *c, const char *channel, const char *payload)
{
    const char *p[2];
    if (c == NULL || !db_channel_ok(channel)) {
        return CS_ERR_INVAL;
    }
    p[0] = channel;
    p[1] = payload != NULL ? payload : "";
    return db_query(c, "SELECT pg_notify($1, $2)", 2, p, NULL);
}

/* Pops one queued notification into the caller's buffers. 1 if one was there. */
static int db_take_notify(db_conn *c, char *channel, size_t cap, char **payload, int *rc)
{
    PGnotify *n = PQnotifies(c->pg);
    *rc = CS_OK;
    if (n == NULL) {
        return 0;
    }
    if (channel != NULL && cap > 0) {
        snprintf(channel, cap, "%s", n->relname);
    }
    if (payload != NULL) {
        *payload = strdup(n->extra != NULL ? n->extra : "");
        if (*payload == NULL) {
            *rc = CS_ERR_NOMEM;
        }
    }
    PQfreemem(n);
    return 1;
}

int db_wait_notify(db_conn *c, int timeout_ms, char *channel, size_t cap, char **payload)
{
    int64_t deadline;
    int rc;
    if (payload != NULL) {
        *payload = NULL;
    }
    if (c == NULL) {
        return CS_ERR_INVAL;
    }
    if ((rc = db_check(c)) != CS_OK) {
        return rc;
    }
    deadline = timeout_ms >= 0 ? db_now_ms() + timeout_ms : 0;
    for (;;) {
        struct pollfd pfd;
        int wait_ms, prc;
        if (PQconsumeInput(c->pg) == 0) {
            db_set_err(c, "08006", PQerrorMessage(c->pg));
            return CS_ERR_DB_CONN;
        }
        if (db_take_notify(c, channel, cap, payload, &rc)) {
            if (rc == CS_OK) {
                db_clear_err(c);
            }
            return rc;
        }
        if (timeout_ms >= 0) {
            int64_t left = deadline - db_now_ms();
            if (left <= 0) {
                return CS_ERR_TIMEOUT;
            }
            wait_ms = left > INT_MAX ? INT_MAX : (int)left;
        } else {
            wait_ms = -1;
        }
        pfd.fd = PQsocket(c->pg);
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (pfd.fd < 0) {
            db_set_err(c, "08006", "connection has no socket");
            return CS_ERR_DB_CONN;
        }
        prc = poll(&pfd, 1, wait_ms);
        if (prc < 0) {
            if (errno == EINTR) {
                return CS_ERR_INTERRUPTED;
            }
            db_set_err(c, NULL, strerror(errno));
            return CS_ERR_IO;
        }
    }
}

/* ---- conninfo helpers -------------------------------------------------------- */

/* Appends " key='value'" with \ and ' escaped; returns 0 or -1 on overflow. */
static int db_append_kv(char *out, size_t cap, size_t *pos, const char *key, const char *val)
{
    size_t p = *pos;
    const char *s;
    if (p != 0) {
        if (p + 1 >= cap) {
            return -1;
        }
        out[p++] = ' ';
    }
    for (s = key; *s != '\0'; s++) {
        if (p + 1 >= cap) {
            return -1;
        }
        out[p++] = *s;
    }
    if (p + 2 >= cap) {
        return -1;
    }
    out[p++] = '=';
    out[p++] = '\'';
    for (s = val; *s != '\0'; s++) {
        if (*s == '\\' || *s == '\'') {
            if (p + 1 >= cap) {
                return -1;
            }
            out[p++] = '\\';
        }
        if (p + 1 >= cap) {
            return -1;
        }
        out[p++] = *s;
    }
    if (p + 1 >= cap) {
        return -1;
    }
    out[p++] = '\'';
    out[p] = '\0';
    *pos = p;
    return 0;
}

int db_conninfo_with_dbname(const char *conninfo, const char *dbname, char *out, size_t cap)
{
    PQconninfoOption *opts, *o;
    size_t pos = 0;
    int rc = CS_OK;
    if (conninfo == NULL || dbname == NULL || out == NULL || cap == 0) {
        return CS_ERR_INVAL;
    }
    opts = PQconninfoParse(conninfo, NULL);
    if (opts == NULL) {
        return CS_ERR_CONFIG;
    }
    out[0] = '\0';
    for (o = opts; o->keyword != NULL && rc == CS_OK; o++) {
        if (strcmp(o->keyword, "dbname") == 0 || o->val == NULL) {
            continue;
        }
        if (db_append_kv(out, cap, &pos, o->keyword, o->val) != 0) {
            rc = CS_ERR_OVERFLOW;
        }
    }
    if (rc == CS_OK && db_append_kv(out, cap, &pos, "dbname", dbname) != 0) {
        rc = CS_ERR_OVERFLOW;
    }
    PQconninfoFree(opts);
    if (rc != CS_OK) {
        out[0] = '\0';
    }
    return rc;
}
