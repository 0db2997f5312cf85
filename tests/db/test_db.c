/*
 * test_db.c — common/db against a real PostgreSQL.
 *
 * Each run gets a private database (testdb). Covered: connecting (and
 * failing to), application_name, bind parameters including NULLs and
 * hostile strings, typed getters and their error codes, SQLSTATEs,
 * transactions, the serialization-retry helper (a real 40001 provoked with
 * a second connection), reconnect after pg_terminate_backend, back-off
 * timing and the stop callback, LISTEN/NOTIFY, conninfo rewriting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "error.h"
#include "testdb.h"

static char g_conninfo[2048];

static db_conn *connect_ok(const char *app)
{
    db_conn *c = NULL;
    int rc = db_connect(g_conninfo, app, &c);
    if (rc != CS_OK) {
        fprintf(stderr, "connect: %s\n", db_last_error(c));
    }
    assert_int_equal(rc, CS_OK);
    assert_non_null(c);
    return c;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Single-value query helper: returns the text of row 0 col 0 (malloc'd). */
static char *scalar(db_conn *c, const char *sql, int n, const char *const *p)
{
    db_result *r = NULL;
    char *out;
    int rc = db_query(c, sql, n, p, &r);
    if (rc != CS_OK) {
        fprintf(stderr, "%s: [%s] %s\n", sql, db_last_sqlstate(c), db_last_error(c));
    }
    assert_int_equal(rc, CS_OK);
    assert_int_equal(db_result_rows(r), 1);
    out = db_result_value(r, 0, 0) != NULL ? strdup(db_result_value(r, 0, 0)) : NULL;
    db_result_free(r);
    return out;
}

static void test_connect_and_app_name(void **state)
{
    (void)state;
    db_conn *c = connect_ok("test_db_app");
    char *v = scalar(c, "SELECT current_setting('application_name')", 0, NULL);
    assert_string_equal(v, "test_db_app");
    free(v);
    assert_true(db_is_ok(c));
    assert_true(db_backend_pid(c) > 0);
    v = scalar(c, "SELECT pg_backend_pid()::text", 0, NULL);
    assert_int_equal(atoi(v), db_backend_pid(c));
    free(v);
    v = scalar(c, "SELECT current_setting('client_encoding')", 0, NULL);
    assert_string_equal(v, "UTF8");
    free(v);
    db_close(c);
    db_close(NULL);
}

static void test_connect_failures(void **state)
{
    (void)state;
    db_conn *c = NULL;
    db_backoff bo = {10, 20, 2, NULL, NULL};
    int64_t t0;

    /* Unreachable server: a handle comes back, with the reason, and the
     * password never appears in the message. */
    assert_int_equal(
        db_connect("host=/nonexistent/cs-socket-dir dbname=x user=u password=s3cr3tPW", "t", &c),
        CS_ERR_DB_CONN);
    assert_non_null(c);
    assert_false(db_is_ok(c));
    assert_true(strlen(db_last_error(c)) > 0);
    assert_null(strstr(db_last_error(c), "s3cr3tPW"));
    assert_int_equal(db_exec(c, "SELECT 1"), CS_ERR_DB_CONN);
    t0 = now_ms();
    assert_int_equal(db_ensure(c, &bo), CS_ERR_DB_CONN);
    assert_true(now_ms() - t0 >= 10); /* one pause of initial_ms between 2 tries */
    assert_null(strstr(db_last_error(c), "s3cr3tPW"));
    db_close(c);

    /* Unparseable conninfo: CS_ERR_CONFIG, and retrying does not help. */
    c = NULL;
    assert_int_equal(db_connect("host", "t", &c), CS_ERR_CONFIG);
    assert_non_null(c);
    assert_int_equal(db_ensure(c, &bo), CS_ERR_CONFIG);
    assert_int_equal(db_exec(c, "SELECT 1"), CS_ERR_CONFIG);
    db_close(c);

    c = NULL;
    assert_int_equal(db_connect("nosuchoption=1", "t", &c), CS_ERR_CONFIG);
    assert_true(strstr(db_last_error(c), "nosuchoption") != NULL);
    db_close(c);

    assert_int_equal(db_connect(NULL, "t", &c), CS_ERR_INVAL);
    assert_null(c);
    assert_int_equal(db_connect(g_conninfo, "t", NULL), CS_ERR_INVAL);
}

static void test_params_nulls_types(void **state)
{
    (void)state;
    db_conn *c = connect_ok("test_db");
    db_result *r = NULL;
    int64_t i64 = 0, affected = -1;
    int iv = 0, bv = -1;
    double dv = 0;
    const char *hostile = "x'); DROP TABLE t; --\\ \"q\" \xc3\xa9";
    const char *p1[5] = {"1", hostile, "2.5", "t", "9000000000"};
    const char *p2[5] = {"2", NULL, NULL, NULL, NULL};

    assert_int_equal(db_exec(c, "CREATE TABLE t (id int, s text, d float8, b bool, big bigint)"),
                     CS_OK);
    assert_int_equal(
        db_command(c, "INSERT INTO t VALUES ($1::int, $2, $3::float8, $4::bool, $5::bigint)", 5, p1,
                   &affected),
        CS_OK);
    assert_int_equal(affected, 1);
    assert_int_equal(
        db_command(c, "INSERT INTO t VALUES ($1::int, $2, $3::float8, $4::bool, $5::bigint)", 5, p2,
                   NULL),
        CS_OK);

    assert_int_equal(db_query(c, "SELECT id, s, d, b, big FROM t ORDER BY id", 0, NULL, &r), CS_OK);
    assert_int_equal(db_result_rows(r), 2);
    assert_int_equal(db_result_cols(r), 5);
    assert_int_equal(db_result_col(r, "s"), 1);
    assert_int_equal(db_result_col(r, "big"), 4);
    assert_int_equal(db_result_col(r, "nope"), -1);
    assert_int_equal(db_result_col(r, "S"), -1);

    /* Row 0: values round-trip exactly, the hostile string stays data. */
    assert_string_equal(db_result_value(r, 0, 1), hostile);
    assert_int_equal(db_result_len(r, 0, 1), strlen(hostile));
    assert_int_equal(db_result_is_null(r, 0, 1), 0);
    assert_int_equal(db_result_int(r, 0, 0, &iv), CS_OK);
    assert_int_equal(iv, 1);
    assert_int_equal(db_result_double(r, 0, 2, &dv), CS_OK);
    assert_true(dv == 2.5);
    assert_int_equal(db_result_bool(r, 0, 3, &bv), CS_OK);
    assert_int_equal(bv, 1);
    assert_int_equal(db_result_int64(r, 0, 4, &i64), CS_OK);
    assert_int_equal(i64, 9000000000LL);

    /* Typed getter errors, *out untouched. */
    iv = 42;
    assert_int_equal(db_result_int(r, 0, 4, &iv), CS_ERR_OVERFLOW);
    assert_int_equal(iv, 42);
    assert_int_equal(db_result_int(r, 0, 1, &iv), CS_ERR_MALFORMED);
    assert_int_equal(db_result_bool(r, 0, 0, &bv), CS_ERR_MALFORMED);
    assert_int_equal(db_result_int(r, 2, 0, &iv), CS_ERR_INVAL);
    assert_int_equal(db_result_int(r, 0, 5, &iv), CS_ERR_INVAL);
    assert_int_equal(db_result_int(r, -1, 0, &iv), CS_ERR_INVAL);
    assert_int_equal(iv, 42);
    assert_null(db_result_value(r, 2, 0));
    assert_null(db_result_value(r, 0, 5));
    assert_int_equal(db_result_is_null(r, 0, 5), -1);

    /* Row 1: NULLs. */
    for (int col = 1; col < 5; col++) {
        assert_int_equal(db_result_is_null(r, 1, col), 1);
        assert_null(db_result_value(r, 1, col));
        assert_int_equal(db_result_len(r, 1, col), 0);
    }
    assert_int_equal(db_result_int64(r, 1, 4, &i64), CS_ERR_NOTFOUND);
    assert_int_equal(db_result_double(r, 1, 2, &dv), CS_ERR_NOTFOUND);
    assert_int_equal(db_result_bool(r, 1, 3, &bv), CS_ERR_NOTFOUND);
    db_result_free(r);
    r = NULL;

    /* The table survived the hostile parameter. */
    char *v = scalar(c, "SELECT count(*) FROM t", 0, NULL);
    assert_string_equal(v, "2");
    free(v);

    /* Out-of-range numbers as text. */
    assert_int_equal(db_query(c,
                              "SELECT '99999999999999999999'::numeric::text, '1e400', '', '-0.5'",
                              0, NULL, &r),
                     CS_OK);
    assert_int_equal(db_result_int64(r, 0, 0, &i64), CS_ERR_OVERFLOW);
    assert_int_equal(db_result_double(r, 0, 1, &dv), CS_ERR_OVERFLOW);
    assert_int_equal(db_result_int64(r, 0, 2, &i64), CS_ERR_MALFORMED);
    assert_int_equal(db_result_double(r, 0, 3, &dv), CS_OK);
    assert_true(dv == -0.5);
    db_result_free(r);

    /* Rows affected; statements without rows. */
    assert_int_equal(db_command(c, "UPDATE t SET s = 'u' WHERE id > $1::int", 1,
                                (const char *[]){"0"}, &affected),
                     CS_OK);
    assert_int_equal(affected, 2);
    assert_int_equal(db_query(c, "DELETE FROM t WHERE id = 99", 0, NULL, &r), CS_OK);
    assert_int_equal(db_result_rows(r), 0);
    assert_int_equal(db_result_affected(r), 0);
    db_result_free(r);

    /* Argument checks. */
    assert_int_equal(db_query(c, "SELECT $1", 1, NULL, &r), CS_ERR_INVAL);
    assert_null(r);
    assert_int_equal(db_query(NULL, "SELECT 1", 0, NULL, &r), CS_ERR_INVAL);
    db_close(c);
}

static void test_errors_sqlstate(void **state)
{
    (void)state;
    db_conn *c = connect_ok("test_db");
    db_result *r = (db_result *)&r; /* must be reset to NULL on error */

    assert_int_equal(db_exec(c, "CREATE TABLE u (k text PRIMARY KEY)"), CS_OK);
    assert_int_equal(db_command(c, "INSERT INTO u VALUES ($1)", 1, (const char *[]){"a"}, NULL),
                     CS_OK);
    assert_int_equal(db_query(c, "INSERT INTO u VALUES ($1)", 1, (const char *[]){"a"}, &r),
                     CS_ERR_DB);
    assert_null(r);
    assert_string_equal(db_last_sqlstate(c), "23505");
    assert_non_null(strstr(db_last_error(c), "duplicate key"));
    assert_null(strchr(db_last_error(c), '\n'));

    assert_int_equal(db_exec(c, "SELEC 1"), CS_ERR_DB);
    assert_string_equal(db_last_sqlstate(c), "42601");
    assert_int_equal(db_query(c, "SELECT $1::int", 1, (const char *[]){"x"}, NULL), CS_ERR_DB);
    assert_string_equal(db_last_sqlstate(c), "22P02");
    assert_int_equal(db_exec(c, "SELECT * FROM no_such_table"), CS_ERR_DB);
    assert_string_equal(db_last_sqlstate(c), "42P01");

    /* The connection stays usable and the error is cleared on success. */
    assert_true(db_is_ok(c));
    assert_int_equal(db_exec(c, "SELECT 1"), CS_OK);
    assert_string_equal(db_last_sqlstate(c), "");
    assert_string_equal(db_last_error(c), "");

    /* COPY is refused without wedging the connection. */
    assert_int_equal(db_exec(c, "COPY u FROM STDIN"), CS_ERR_UNSUPPORTED);
    assert_int_equal(db_exec(c, "COPY u TO STDOUT"), CS_ERR_UNSUPPORTED);
    assert_int_equal(db_exec(c, "SELECT 1"), CS_OK);

    assert_true(db_sqlstate_is_retryable("40001"));
    assert_true(db_sqlstate_is_retryable("40P01"));
    assert_false(db_sqlstate_is_retryable("23505"));
    assert_false(db_sqlstate_is_retryable(NULL));
    db_close(c);
}

static int64_t count_rows(db_conn *c, const char *table_sql)
{
    db_result *r = NULL;
    int64_t n = -1;
    assert_int_equal(db_query(c, table_sql, 0, NULL, &r), CS_OK);
    assert_int_equal(db_result_int64(r, 0, 0, &n), CS_OK);
    db_result_free(r);
    return n;
}

static void test_transactions(void **state)
{
    (void)state;
    db_conn *c = connect_ok("test_db");
    db_conn *other = connect_ok("test_db_other");

    assert_int_equal(db_exec(c, "CREATE TABLE tx (v int UNIQUE)"), CS_OK);
    assert_false(db_in_transaction(c));

    assert_int_equal(db_begin(c), CS_OK);
    assert_true(db_in_transaction(c));
    assert_int_equal(db_exec(c, "INSERT INTO tx VALUES (1)"), CS_OK);
    /* not visible to another session before COMMIT */
    assert_int_equal(count_rows(other, "SELECT count(*) FROM tx"), 0);
    assert_int_equal(db_rollback(c), CS_OK);
    assert_false(db_in_transaction(c));
    assert_int_equal(count_rows(c, "SELECT count(*) FROM tx"), 0);

    assert_int_equal(db_begin_iso(c, DB_SERIALIZABLE), CS_OK);
    {
        db_result *r = NULL;
        assert_int_equal(
            db_query(c, "SELECT current_setting('transaction_isolation')", 0, NULL, &r), CS_OK);
        assert_string_equal(db_result_value(r, 0, 0), "serializable");
        db_result_free(r);
    }
    assert_int_equal(db_exec(c, "INSERT INTO tx VALUES (1)"), CS_OK);
    assert_int_equal(db_commit(c), CS_OK);
    assert_int_equal(count_rows(other, "SELECT count(*) FROM tx"), 1);

    /* A failed statement poisons the transaction; COMMIT reports it. */
    assert_int_equal(db_begin(c), CS_OK);
    assert_int_equal(db_exec(c, "INSERT INTO tx VALUES (2)"), CS_OK);
    assert_int_equal(db_exec(c, "INSERT INTO tx VALUES (1)"), CS_ERR_DB);
    assert_string_equal(db_last_sqlstate(c), "23505");
    assert_true(db_in_transaction(c));
    assert_int_equal(db_exec(c, "SELECT 1"), CS_ERR_DB);
    assert_string_equal(db_last_sqlstate(c), "25P02");
    assert_int_equal(db_commit(c), CS_ERR_DB);
    assert_string_equal(db_last_sqlstate(c), "25P02");
    assert_false(db_in_transaction(c));
    assert_int_equal(count_rows(c, "SELECT count(*) FROM tx"), 1);
    db_close(other);
    db_close(c);
}

/* The retry helper. The unit of work reads row k under REPEATABLE READ and
 * then updates it; on the first `conflicts` calls a second connection
 * updates the same row in between, which makes PostgreSQL raise 40001. */
typedef struct retry_ctx {
    db_conn *other;
    int calls;
    int conflicts;
    int fail_with;
} retry_ctx;

static int retry_work(db_conn *c, void *arg)
{
    retry_ctx *x = arg;
    int rc;
    x->calls++;
    if (x->fail_with != 0) {
        assert_int_equal(db_exec(c, "UPDATE kv SET v = v + 100 WHERE k = 1"), CS_OK);
        return x->fail_with;
    }
    rc = db_exec(c, "SELECT v FROM kv WHERE k = 1"); /* takes the snapshot */
    if (rc != CS_OK) {
        return rc;
    }
    if (x->calls <= x->conflicts) {
        assert_int_equal(db_exec(x->other, "UPDATE kv SET v = v + 10 WHERE k = 1"), CS_OK);
    }
    return db_exec(c, "UPDATE kv SET v = v + 1 WHERE k = 1");
}

static void test_transaction_retry(void **state)
{
    (void)state;
    db_conn *c = connect_ok("test_db");
    retry_ctx x = {connect_ok("test_db_other"), 0, 1, 0};
    char *v;

    assert_int_equal(db_exec(c, "CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL);"
                                "INSERT INTO kv VALUES (1, 0)"),
                     CS_OK);

    /* One conflict, then success: fn ran twice, both updates visible. */
    assert_int_equal(db_transaction(c, DB_REPEATABLE_READ, 3, retry_work, &x), CS_OK);
    assert_int_equal(x.calls, 2);
    v = scalar(c, "SELECT v::text FROM kv WHERE k = 1", 0, NULL);
    assert_string_equal(v, "11");
    free(v);

    /* Conflicts every time: bounded, CS_ERR_BUSY, sqlstate kept. */
    x.calls = 0;
    x.conflicts = 100;
    assert_int_equal(db_transaction(c, DB_REPEATABLE_READ, 3, retry_work, &x), CS_ERR_BUSY);
    assert_int_equal(x.calls, 3);
    assert_string_equal(db_last_sqlstate(c), "40001");
    assert_false(db_in_transaction(c));
    v = scalar(c, "SELECT v::text FROM kv WHERE k = 1", 0, NULL);
    assert_string_equal(v, "41"); /* only the other connection's three +10 */
    free(v);

    /* fn's own error: rolled back once, not retried, error passed through. */
    x.calls = 0;
    x.fail_with = CS_ERR_MALFORMED;
    assert_int_equal(db_transaction(c, DB_READ_COMMITTED, 3, retry_work, &x), CS_ERR_MALFORMED);
    assert_int_equal(x.calls, 1);
    v = scalar(c, "SELECT v::text FROM kv WHERE k = 1", 0, NULL);
    assert_string_equal(v, "41");
    free(v);

    /* Not inside another transaction. */
    assert_int_equal(db_begin(c), CS_OK);
    assert_int_equal(db_transaction(c, DB_READ_COMMITTED, 3, retry_work, &x), CS_ERR_STATE);
    assert_int_equal(db_rollback(c), CS_OK);
    db_close(x.other);
    db_close(c);
}

static void test_reconnect_after_terminate(void **state)
{
    (void)state;
    db_conn *c = connect_ok("test_db_victim");
    db_conn *killer = connect_ok("test_db_killer");
    db_backoff bo = {10, 100, 5, NULL, NULL};
    char pid[16], ch[64];
    char *v, *payload = NULL;
    int old_pid = db_backend_pid(c);

    assert_int_equal(db_listen(c, "cs_reconnect"), CS_OK);
    snprintf(pid, sizeof pid, "%d", old_pid);
    v = scalar(killer, "SELECT pg_terminate_backend($1::int)::text", 1, (const char *[]){pid});
    assert_string_equal(v, "true");
    free(v);

    /* The next statement notices: connection error, not a statement error. */
    assert_int_equal(db_exec(c, "SELECT 1"), CS_ERR_DB_CONN);
    assert_false(db_is_ok(c));
    assert_int_equal(db_exec(c, "SELECT 1"), CS_ERR_DB_CONN);
    assert_string_equal(db_last_sqlstate(c), "08003");

    assert_int_equal(db_ensure(c, &bo), CS_OK);
    assert_true(db_is_ok(c));
    assert_true(db_backend_pid(c) != old_pid);
    v = scalar(c, "SELECT current_setting('application_name')", 0, NULL);
    assert_string_equal(v, "test_db_victim");
    free(v);
    /* db_ensure on a good connection is a no-op */
    assert_int_equal(db_ensure(c, &bo), CS_OK);

    /* The LISTEN was re-issued on the new session. */
    assert_int_equal(db_notify(killer, "cs_reconnect", "after"), CS_OK);
    assert_int_equal(db_wait_notify(c, 5000, ch, sizeof ch, &payload), CS_OK);
    assert_string_equal(ch, "cs_reconnect");
    assert_string_equal(payload, "after");
    free(payload);
    db_close(killer);
    db_close(c);
}

static int stop_after(void *arg)
{
    int *n = arg;
    return ++*n >= 3;
}

static void test_ensure_backoff_and_stop(void **state)
{
    (void)state;
    char victim[2048], admin[1024], name[64];
    db_conn *c = NULL, *a = NULL;
    db_backoff bo = {20, 40, 3, NULL, NULL};
    int stop_calls = 0;
    int64_t t0, dt;
    char *v;

    /* A database of its own that we drop under the connection, so every
     * reconnect fails (database does not exist). */
    assert_int_equal(testdb_create(victim, sizeof victim), CS_OK);
    assert_int_equal(db_connect(victim, "test_db_backoff", &c), CS_OK);
    v = scalar(c, "SELECT current_database()", 0, NULL);
    snprintf(name, sizeof name, "%s", v);
    free(v);
    testdb_admin_conninfo(admin, sizeof admin);
    assert_int_equal(db_connect(admin, "test_db_backoff", &a), CS_OK);
    assert_int_equal(db_exec_ident(a, "DROP DATABASE ", name, " WITH (FORCE)"), CS_OK);
    db_close(a);
    assert_int_equal(db_exec(c, "SELECT 1"), CS_ERR_DB_CONN);

    /* tries: 1 at once, pause 20, 2, pause 40, 3 -> give up: >= 60 ms. */
    t0 = now_ms();
    assert_int_equal(db_ensure(c, &bo), CS_ERR_DB_CONN);
    dt = now_ms() - t0;
    assert_true(dt >= 60);
    assert_true(dt < 5000);
    assert_non_null(strstr(db_last_error(c), name));

    /* Unlimited tries, but the stop callback ends it (3rd poll says stop). */
    bo.max_tries = 0;
    bo.should_stop = stop_after;
    bo.stop_arg = &stop_calls;
    assert_int_equal(db_ensure(c, &bo), CS_ERR_INTERRUPTED);
    assert_int_equal(stop_calls, 3);
    db_close(c);
}

static void test_notify(void **state)
{
    (void)state;
    db_conn *l = connect_ok("test_db_listener");
    db_conn *s = connect_ok("test_db_sender");
    char ch[64];
    char *payload = NULL;
    const char *odd = "it's \"quoted\"; SELECT 1; --";
    int64_t t0;

    assert_int_equal(db_listen(l, "cs_chan"), CS_OK);
    assert_int_equal(db_listen(l, "cs_chan"), CS_OK); /* idempotent */
    assert_int_equal(db_listen(l, "Bad-Name"), CS_ERR_INVAL);
    assert_int_equal(db_listen(l, ""), CS_ERR_INVAL);
    assert_int_equal(db_notify(s, "x;y", "p"), CS_ERR_INVAL);

    /* Nothing yet: times out after about timeout_ms. */
    t0 = now_ms();
    assert_int_equal(db_wait_notify(l, 100, ch, sizeof ch, &payload), CS_ERR_TIMEOUT);
    assert_true(now_ms() - t0 >= 95);
    assert_null(payload);
    assert_int_equal(db_wait_notify(l, 0, NULL, 0, NULL), CS_ERR_TIMEOUT);

    assert_int_equal(db_notify(s, "cs_chan", odd), CS_OK);
    assert_int_equal(db_wait_notify(l, 5000, ch, sizeof ch, &payload), CS_OK);
    assert_string_equal(ch, "cs_chan");
    assert_string_equal(payload, odd);
    free(payload);
    payload = NULL;

    /* Inside a transaction: dropped on rollback, delivered on commit. */
    assert_int_equal(db_begin(s), CS_OK);
    assert_int_equal(db_notify(s, "cs_chan", "rolled back"), CS_OK);
    assert_int_equal(db_rollback(s), CS_OK);
    assert_int_equal(db_begin(s), CS_OK);
    assert_int_equal(db_notify(s, "cs_chan", "committed"), CS_OK);
    assert_int_equal(db_wait_notify(l, 100, NULL, 0, NULL), CS_ERR_TIMEOUT);
    assert_int_equal(db_commit(s), CS_OK);
    assert_int_equal(db_wait_notify(l, 5000, ch, 4, &payload), CS_OK);
    assert_string_equal(ch, "cs_"); /* truncated to cap */
    assert_string_equal(payload, "committed");
    free(payload);
    payload = NULL;
    assert_int_equal(db_wait_notify(l, 50, NULL, 0, &payload), CS_ERR_TIMEOUT);

    /* After UNLISTEN nothing arrives. */
    assert_int_equal(db_unlisten(l, "cs_chan"), CS_OK);
    assert_int_equal(db_notify(s, "cs_chan", "late"), CS_OK);
    assert_int_equal(db_wait_notify(l, 100, NULL, 0, NULL), CS_ERR_TIMEOUT);
    db_close(s);
    db_close(l);
}

static void test_conninfo_with_dbname(void **state)
{
    (void)state;
    char out[512];
    assert_int_equal(db_conninfo_with_dbname("host=/tmp/x user=u password='a b\\'c' dbname=old",
                                             "new_db", out, sizeof out),
                     CS_OK);
    assert_string_equal(out, "user='u' password='a b\\'c' host='/tmp/x' dbname='new_db'");
    assert_int_equal(
        db_conninfo_with_dbname("postgresql://u@localhost:5433/postgres?sslmode=disable", "t1", out,
                                sizeof out),
        CS_OK);
    assert_string_equal(out, "user='u' host='localhost' port='5433' sslmode='disable' dbname='t1'");
    assert_int_equal(db_conninfo_with_dbname("host=/tmp/x", "t1", out, 10), CS_ERR_OVERFLOW);
    assert_string_equal(out, "");
    assert_int_equal(db_conninfo_with_dbname("host", "t1", out, sizeof out), CS_ERR_CONFIG);
    assert_int_equal(db_conninfo_with_dbname(NULL, "t1", out, sizeof out), CS_ERR_INVAL);
}

static int group_setup(void **state)
{
    (void)state;
    return testdb_create(g_conninfo, sizeof g_conninfo) == CS_OK ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    return testdb_drop(g_conninfo) == CS_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_and_app_name),
        cmocka_unit_test(test_connect_failures),
        cmocka_unit_test(test_params_nulls_types),
        cmocka_unit_test(test_errors_sqlstate),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_transaction_retry),
        cmocka_unit_test(test_reconnect_after_terminate),
        cmocka_unit_test(test_ensure_backoff_and_stop),
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_conninfo_with_dbname),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
