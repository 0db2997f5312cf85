/*
 * test_migrate_schema.c — the project's real migrations (schema/NNN_*.sql,
 * embedded by schema/CMakeLists.txt) on a fresh database.
 *
 * Checks: the embedded bytes equal the files; everything applies cleanly;
 * the tables the pipeline needs exist; the job queue works on the real
 * `jobs` table; re-applying is a no-op and the status is all applied with
 * matching checksums.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "error.h"
#include "jobq.h"
#include "migrate.h"
#include "schema.h"
#include "testdb.h"
#include "testsupport.h"

static char g_conninfo[2048];

static const char *const EXPECTED_TABLES[] = {
    "calls",         "legs",       "sip_events",  "rtp_streams", "dtmf_events", "recordings",
    "talk_segments", "utterances", "words",       "jobs",        "queues",      "agents",
    "scorecards",    "scores",     "score_items", "score_reviews",     "users",       "audit_log",
};

static db_conn *connect_ok(void)
{
    db_conn *c = NULL;
    assert_int_equal(db_connect(g_conninfo, "test_migrate_schema", &c), CS_OK);
    return c;
}

static char *scalar(db_conn *c, const char *sql, int n, const char *const *p)
{
    db_result *r = NULL;
    char *out;
    int rc = db_query(c, sql, n, p, &r);
    if (rc != CS_OK) {
        fprintf(stderr, "%s: %s\n", sql, db_last_error(c));
    }
    assert_int_equal(rc, CS_OK);
    out = strdup(db_result_value(r, 0, 0) != NULL ? db_result_value(r, 0, 0) : "(null)");
    db_result_free(r);
    return out;
}

static void test_embedded_equals_files(void **state)
{
    (void)state;
    size_t n = 0;
    const cs_migration *m = cs_schema_migrations(&n);
    char rel[128], path[1024];

    assert_true(n >= 1);
    assert_non_null(m);
    assert_int_equal(m[0].version, 1);
    assert_string_equal(m[0].name, "init");
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *text;
        if (i > 0) {
            assert_true(m[i].version > m[i - 1].version);
        }
        snprintf(rel, sizeof rel, "schema/%03d_%s.sql", m[i].version, m[i].name);
        text = ts_read_file(ts_source_path(path, sizeof path, rel), &len);
        assert_non_null(text);
        assert_int_equal(strlen(m[i].sql), len);
        assert_memory_equal(m[i].sql, text, len);
        free(text);
    }
}

static void test_apply_fresh_then_noop(void **state)
{
    (void)state;
    db_conn *c = connect_ok();
    size_t n = 0, ns = 0;
    const cs_migration *m = cs_schema_migrations(&n);
    migrate_status *st = NULL;
    char err[1024];
    int applied = -1;

    int rc = migrate_apply(c, m, n, &applied, err, sizeof err);
    if (rc != CS_OK) {
        fprintf(stderr, "migrate: %s\n", err);
    }
    assert_int_equal(rc, CS_OK);
    assert_int_equal(applied, (int)n);

    int missing = 0;
    for (size_t i = 0; i < sizeof EXPECTED_TABLES / sizeof EXPECTED_TABLES[0]; i++) {
        const char *p[1] = {EXPECTED_TABLES[i]};
        char *v = scalar(c,
                         "SELECT count(*) FROM information_schema.tables WHERE table_name = $1"
                         " AND table_schema = current_schema()",
                         1, p);
        if (strcmp(v, "1") != 0) {
            fprintf(stderr, "table %s is missing after the migrations\n", EXPECTED_TABLES[i]);
            missing++;
        }
        free(v);
    }

    assert_int_equal(migrate_apply(c, m, n, &applied, err, sizeof err), CS_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(migrate_status_list(c, m, n, &st, &ns), CS_OK);
    assert_int_equal(ns, n);
    for (size_t i = 0; i < ns; i++) {
        assert_int_equal(st[i].state, MIGRATE_APPLIED);
        assert_int_equal(st[i].checksum_ok, 1);
    }
    migrate_status_free(st);
    db_close(c);
    assert_int_equal(missing, 0);
}

/* The job queue (common/jobq, tested in depth by test_jobq*) runs on the
 * jobs table the migration creates. */
static void test_queue_runs_on_real_table(void **state)
{
    (void)state;
    db_conn *c = connect_ok();

    /* And the queue runs on the real table. */
    {
        jobq_job j;
        int64_t id = 0;
        assert_int_equal(jobq_enqueue(c, "schema_check", NULL, "{\"k\":1}", 0, &id), CS_OK);
        assert_int_equal(jobq_claim(c, "schema_check", "w", 30, &j), CS_OK);
        assert_int_equal(j.id, id);
        jobq_job_clear(&j);
        assert_int_equal(jobq_complete(c, id, "w"), CS_OK);
    }
    db_close(c);
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
        cmocka_unit_test(test_embedded_equals_files),
        cmocka_unit_test(test_apply_fresh_then_noop),
        cmocka_unit_test(test_queue_runs_on_real_table),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
