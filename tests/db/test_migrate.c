/*
 * test_migrate.c — the migration runner (common/migrate) on a real server.
 *
 * Every test gets a fresh database. The migrations here are small scripts
 * written for the test whose effects can be checked exactly; the project's
 * real schema is exercised by test_migrate_schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "error.h"
#include "migrate.h"
#include "testdb.h"

static const cs_migration M3[] = {
    {1, "create_a", "CREATE TABLE a (x int NOT NULL); INSERT INTO a VALUES (1), (2);"},
    {2, "create_b", "CREATE TABLE b (y text);"},
    {3, "add_col", "ALTER TABLE a ADD COLUMN z text NOT NULL DEFAULT 'q';"},
};

typedef struct fixture {
    char conninfo[2048];
    db_conn *c;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || testdb_create(f->conninfo, sizeof f->conninfo) != CS_OK ||
        db_connect(f->conninfo, "test_migrate", &f->c) != CS_OK) {
        return -1;
    }
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

static char *scalar(db_conn *c, const char *sql)
{
    db_result *r = NULL;
    char *out;
    int rc = db_query(c, sql, 0, NULL, &r);
    if (rc != CS_OK) {
        fprintf(stderr, "%s: %s\n", sql, db_last_error(c));
    }
    assert_int_equal(rc, CS_OK);
    out = strdup(db_result_value(r, 0, 0) != NULL ? db_result_value(r, 0, 0) : "(null)");
    db_result_free(r);
    return out;
}

static void assert_scalar(db_conn *c, const char *sql, const char *want)
{
    char *v = scalar(c, sql);
    assert_string_equal(v, want);
    free(v);
}

static void test_checksum(void **state)
{
    (void)state;
    char sum[65];
    assert_int_equal(migrate_checksum("", sum), CS_OK);
    assert_string_equal(sum, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(migrate_checksum("abc", sum), CS_OK);
    assert_string_equal(sum, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(migrate_checksum(NULL, sum), CS_ERR_INVAL);
}

static void test_fresh_apply_then_noop(void **state)
{
    fixture *f = *state;
    char err[512], sum[65], *v;
    int applied = -1;

    assert_int_equal(migrate_apply(f->c, M3, 3, &applied, err, sizeof err), CS_OK);
    assert_int_equal(applied, 3);
    assert_string_equal(err, "");
    assert_scalar(f->c, "SELECT string_agg(x::text || z, ',' ORDER BY x) FROM a", "1q,2q");
    assert_scalar(f->c,
                  "SELECT string_agg(version || ':' || name, ',' ORDER BY version) "
                  "FROM schema_migrations",
                  "1:create_a,2:create_b,3:add_col");
    assert_int_equal(migrate_checksum(M3[1].sql, sum), CS_OK);
    v = scalar(f->c, "SELECT checksum FROM schema_migrations WHERE version = 2");
    assert_string_equal(v, sum);
    free(v);
    assert_scalar(f->c, "SELECT count(*) FROM schema_migrations WHERE applied_at <= now()", "3");

    /* Second run: nothing to do, nothing changes. */
    assert_int_equal(migrate_apply(f->c, M3, 3, &applied, err, sizeof err), CS_OK);
    assert_int_equal(applied, 0);
    assert_scalar(f->c, "SELECT count(*) FROM a", "2");
    assert_false(db_in_transaction(f->c));
}

static void test_incremental_and_status(void **state)
{
    fixture *f = *state;
    migrate_status *st = NULL;
    size_t n = 99;
    int applied = -1;

    /* Never migrated: every version pending, no table needed. */
    assert_int_equal(migrate_status_list(f->c, M3, 3, &st, &n), CS_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(st[i].version, (int)i + 1);
        assert_int_equal(st[i].state, MIGRATE_PENDING);
        assert_int_equal(st[i].checksum_ok, -1);
        assert_string_equal(st[i].applied_at, "");
    }
    assert_string_equal(st[2].name, "add_col");
    migrate_status_free(st);
    assert_scalar(f->c, "SELECT to_regclass('schema_migrations') IS NULL", "t");

    /* An older binary knew two migrations. */
    assert_int_equal(migrate_apply(f->c, M3, 2, &applied, NULL, 0), CS_OK);
    assert_int_equal(applied, 2);
    assert_int_equal(migrate_status_list(f->c, M3, 3, &st, &n), CS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(st[0].state, MIGRATE_APPLIED);
    assert_int_equal(st[0].checksum_ok, 1);
    assert_int_equal(strlen(st[0].applied_at), 20); /* 2024-01-02T03:04:05Z */
    assert_int_equal(st[0].applied_at[19], 'Z');
    assert_int_equal(st[1].state, MIGRATE_APPLIED);
    assert_int_equal(st[2].state, MIGRATE_PENDING);
    assert_string_equal(migrate_state_name(st[2].state), "pending");
    migrate_status_free(st);

    /* The newer binary applies only the third. */
    assert_int_equal(migrate_apply(f->c, M3, 3, &applied, NULL, 0), CS_OK);
    assert_int_equal(applied, 1);
    assert_scalar(f->c, "SELECT count(*) FROM schema_migrations", "3");

    /* Empty list, empty database table: fine, nothing listed beyond the db. */
    assert_int_equal(migrate_status_list(f->c, NULL, 0, &st, &n), CS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(st[0].state, MIGRATE_UNKNOWN);
    migrate_status_free(st);
}

static void test_changed_checksum_is_refused(void **state)
{
    fixture *f = *state;
    char err[512];
    int applied = -1;
    migrate_status *st = NULL;
    size_t n = 0;
    const cs_migration edited[] = {
        M3[0],
        {2, "create_b", "CREATE TABLE b (y text, extra int);"},
        M3[2],
        {4, "create_d", "CREATE TABLE d (k int);"},
    };

    assert_int_equal(migrate_apply(f->c, M3, 3, &applied, NULL, 0), CS_OK);
    assert_int_equal(migrate_apply(f->c, edited, 4, &applied, err, sizeof err), CS_ERR_INTEGRITY);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err, "migration 2 (create_b)"));
    assert_non_null(strstr(err, "checksum"));
    /* Nothing after the refusal ran. */
    assert_scalar(f->c, "SELECT to_regclass('d') IS NULL", "t");
    assert_scalar(f->c, "SELECT count(*) FROM schema_migrations", "3");
    assert_false(db_in_transaction(f->c));

    assert_int_equal(migrate_status_list(f->c, edited, 4, &st, &n), CS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(st[0].checksum_ok, 1);
    assert_int_equal(st[1].checksum_ok, 0);
    assert_int_equal(st[3].state, MIGRATE_PENDING);
    migrate_status_free(st);
}

static void test_database_newer_than_binary(void **state)
{
    fixture *f = *state;
    char err[512];
    int applied = -1;
    migrate_status *st = NULL;
    size_t n = 0;

    assert_int_equal(migrate_apply(f->c, M3, 3, &applied, NULL, 0), CS_OK);
    assert_int_equal(migrate_apply(f->c, M3, 2, &applied, err, sizeof err), CS_ERR_STATE);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err, "migration 3 (add_col)"));
    assert_non_null(strstr(err, "newer"));

    assert_int_equal(migrate_status_list(f->c, M3, 2, &st, &n), CS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(st[2].version, 3);
    assert_int_equal(st[2].state, MIGRATE_UNKNOWN);
    assert_string_equal(st[2].name, "add_col");
    assert_int_equal(st[2].checksum_ok, -1);
    assert_string_equal(migrate_state_name(st[2].state), "unknown");
    migrate_status_free(st);
}

static void test_failing_migration_rolls_back(void **state)
{
    fixture *f = *state;
    char err[512];
    int applied = -1;
    const cs_migration broken[] = {
        M3[0],
        {2, "broken",
         "CREATE TABLE p1 (x int); INSERT INTO p1 VALUES (1);"
         "ALTER TABLE a ADD COLUMN w int; CREATE TABLE p2 (y int);"
         "SELECT 1 / 0;"},
        {3, "after", "CREATE TABLE p3 (x int);"},
    };

    assert_int_equal(migrate_apply(f->c, broken, 3, &applied, err, sizeof err), CS_ERR_DB);
    assert_int_equal(applied, 1);
    assert_non_null(strstr(err, "migration 2 (broken) failed"));
    assert_non_null(strstr(err, "22012")); /* division_by_zero */
    assert_false(db_in_transaction(f->c));
    /* Nothing of migration 2 remains, and 3 never ran. */
    assert_scalar(f->c,
                  "SELECT to_regclass('p1') IS NULL AND to_regclass('p2') IS NULL"
                  " AND to_regclass('p3') IS NULL",
                  "t");
    assert_scalar(f->c,
                  "SELECT count(*) FROM information_schema.columns"
                  " WHERE table_name = 'a' AND column_name = 'w'",
                  "0");
    assert_scalar(f->c, "SELECT string_agg(version::text, ',') FROM schema_migrations", "1");
    /* The advisory lock went with the rolled-back transaction. (Only this
     * session's locks: pg_locks is server-wide, and other tests migrate
     * their own databases on the same server at the same time.) */
    assert_scalar(f->c,
                  "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                  " AND pid = pg_backend_pid()",
                  "0");

    /* Fixed in a later build (a broken migration was never released, so
     * its text may still change): applies cleanly. */
    const cs_migration fixed[] = {
        M3[0], {2, "broken", "CREATE TABLE p1 (x int);"}, {3, "after", "CREATE TABLE p3 (x int);"}};
    assert_int_equal(migrate_apply(f->c, fixed, 3, &applied, err, sizeof err), CS_OK);
    assert_int_equal(applied, 2);
}

static void test_invalid_lists(void **state)
{
    fixture *f = *state;
    char err[256];
    int applied = -1;
    migrate_status *st = NULL;
    size_t n = 0;
    const cs_migration unsorted[] = {{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}};
    const cs_migration dup[] = {{1, "a", "SELECT 1"}, {1, "b", "SELECT 1"}};
    const cs_migration zero[] = {{0, "a", "SELECT 1"}};
    const cs_migration noname[] = {{1, "", "SELECT 1"}};
    const cs_migration nosql[] = {{1, "a", NULL}};

    assert_int_equal(migrate_apply(f->c, unsorted, 2, &applied, err, sizeof err), CS_ERR_INVAL);
    assert_non_null(strstr(err, "ascending"));
    assert_int_equal(migrate_apply(f->c, dup, 2, &applied, NULL, 0), CS_ERR_INVAL);
    assert_int_equal(migrate_apply(f->c, zero, 1, &applied, NULL, 0), CS_ERR_INVAL);
    assert_int_equal(migrate_apply(f->c, noname, 1, &applied, NULL, 0), CS_ERR_INVAL);
    assert_int_equal(migrate_apply(f->c, nosql, 1, &applied, NULL, 0), CS_ERR_INVAL);
    assert_int_equal(migrate_apply(f->c, NULL, 1, &applied, NULL, 0), CS_ERR_INVAL);
    assert_int_equal(migrate_status_list(f->c, dup, 2, &st, &n), CS_ERR_INVAL);
    assert_null(st);
    /* Nothing was created by the refusals. */
    assert_scalar(f->c, "SELECT to_regclass('schema_migrations') IS NULL", "t");

    /* Inside a caller's transaction: refused. */
    assert_int_equal(db_begin(f->c), CS_OK);
    assert_int_equal(migrate_apply(f->c, M3, 3, &applied, NULL, 0), CS_ERR_STATE);
    assert_int_equal(db_rollback(f->c), CS_OK);
}

/* Three processes migrate the same fresh database at once. The first
 * migration sleeps so that they overlap; the scripts are not idempotent
 * (plain CREATE TABLE), so a double application would fail loudly. */
static void test_concurrent_migrators(void **state)
{
    fixture *f = *state;
    const cs_migration slow[] = {
        {1, "slow", "SELECT pg_sleep(0.3); CREATE TABLE s1 (x int); INSERT INTO s1 VALUES (1);"},
        {2, "two", "CREATE TABLE s2 (x int); INSERT INTO s1 VALUES (2);"},
        {3, "three", "CREATE TABLE s3 (x int); INSERT INTO s1 VALUES (3);"},
    };
    pid_t kids[3];
    int total = 0;

    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            db_conn *c = NULL;
            char err[512];
            int applied = 0, rc;
            if (db_connect(f->conninfo, "test_migrate_child", &c) != CS_OK) {
                _exit(100);
            }
            rc = migrate_apply(c, slow, 3, &applied, err, sizeof err);
            if (rc != CS_OK) {
                fprintf(stderr, "child %d: %s\n", i, err);
            }
            db_close(c);
            _exit(rc == CS_OK ? applied : 101);
        }
    }
    for (int i = 0; i < 3; i++) {
        int status = 0;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status));
        assert_true(WEXITSTATUS(status) <= 3);
        total += WEXITSTATUS(status);
    }
    assert_int_equal(total, 3);
    assert_scalar(f->c, "SELECT string_agg(x::text, ',' ORDER BY x) FROM s1", "1,2,3");
    assert_scalar(f->c, "SELECT count(*) FROM schema_migrations", "3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum),
        cmocka_unit_test_setup_teardown(test_fresh_apply_then_noop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incremental_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_checksum_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_newer_than_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_migration_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_migrators, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
