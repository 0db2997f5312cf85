/*
 * test_verify.c — `callscope verify` end to end: the real binary against a
 * real PostgreSQL and a real archive.
 *
 * Every test gets a fresh database (testdb_create + the real migrations, so
 * the chain trigger of schema/001_init.sql assigns seq and chain hashes) and
 * a fresh archive root holding six calls, each a real two-channel FLAC
 * written by archive_write (tones and noise of 1..6 s, one call per day from
 * 2024-03-01), with their calls and recordings rows inserted as decode
 * would. Then, one case per test: the untouched archive verifies (exit 0,
 * in every format); a flipped byte in one file is a "hash mismatch" naming
 * that path; a deleted file is "missing"; a truncated one a "size
 * mismatch"; a deleted row (guard triggers disabled, as a superuser
 * tamperer would) is reported as the gap between the right seqs; an edited
 * duration_ms pins that seq as edited; --from/--to restrict what is
 * re-hashed and listed but a chain fault outside still fails; usage,
 * configuration and environment errors have their exit codes; progress is
 * logged. The JSON output is checked with jq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive.h"
#include "db.h"
#include "error.h"
#include "testdb.h"
#include "testsupport.h"

#ifndef CALLSCOPE_BIN
#error "CALLSCOPE_BIN must name the callscope binary"
#endif

extern char **environ;

#define NCALLS 6
#define T0_US  1709287212250000LL /* 2024-03-01 10:00:12.25 UTC */
#define DAY_US 86400000000LL

static const char *const UUIDS[NCALLS] = {
    "0b9e6c1a-3f43-4d8e-9a55-6f1e2d3c4b5a", "7d1f00aa-0000-4000-8000-00000000beef",
    "c0ffee00-1234-4abc-8def-0123456789ab", "2a2a2a2a-5555-4666-8777-888899990000",
    "d00dfeed-0101-4202-a303-404040404040", "ffffffff-0000-4000-b000-123412341234",
};

typedef struct fx {
    char conninfo[1024];
    db_conn *c;
    char dir[256];
    char root[300];
    char conf[300];
    char paths[NCALLS][ARCHIVE_PATH_MAX];
    char *out, *err; /* of the last run */
} fx;

static void exec_ok(fx *f, const char *sql)
{
    if (db_exec(f->c, sql) != CS_OK)
        fail_msg("%s: %s", sql, db_last_error(f->c));
}

/* Archives call i (a real FLAC, i+1 seconds of a tone and noise) and inserts
 * its calls and recordings rows. */
static void archive_and_insert(fx *f, int i)
{
    size_t frames = (size_t)(i + 1) * 8000;
    int16_t *c1 = malloc(frames * sizeof *c1), *c2 = malloc(frames * sizeof *c2);
    assert_non_null(c1);
    assert_non_null(c2);
    uint32_t rnd = 12345u + (uint32_t)i;
    for (size_t k = 0; k < frames; k++) {
        rnd = rnd * 1103515245u + 12345u;
        c1[k] = (int16_t)lrint(8000 * sin(2 * M_PI * (300 + 100 * i) * (double)k / 8000));
        c2[k] = (int16_t)(((int32_t)(rnd >> 16) & 0x7ff) - 1024);
    }
    int64_t started = T0_US + (int64_t)i * DAY_US;
    archive_audio a = {UUIDS[i], started, 8000, c1, c2, frames, ARCHIVE_FLAC};
    archive_result ar;
    if (archive_write(f->root, &a, NULL, &ar) != CS_OK)
        fail_msg("%s", ar.msg);
    free(c1);
    free(c2);
    snprintf(f->paths[i], sizeof f->paths[i], "%s", ar.path);

    char start[32], dur[16], bytes[24], rate[16];
    snprintf(start, sizeof start, "%lld", (long long)started);
    snprintf(dur, sizeof dur, "%lld", (long long)ar.duration_ms);
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)ar.bytes);
    snprintf(rate, sizeof rate, "%d", ar.sample_rate);
    const char *cp[] = {UUIDS[i], start, dur};
    if (db_command(f->c,
                   "INSERT INTO calls (uuid, probe, call_id, invite_at, answered_at, ended_at, "
                   "outcome, ended_by, duration_ms) VALUES ($1::uuid, 'probe-1', 'cid-' || $1, "
                   "to_timestamp($2::numeric / 1000000) - interval '5 s', "
                   "to_timestamp($2::numeric / 1000000), "
                   "to_timestamp($2::numeric / 1000000) + $3::integer * interval '1 ms', "
                   "'answered', 'caller', $3::integer + 5000)",
                   3, cp, NULL) != CS_OK)
        fail_msg("calls: %s", db_last_error(f->c));
    const char *rp[] = {UUIDS[i], ar.path, "flac", rate, start, dur, bytes, ar.sha256_hex};
    db_result *res = NULL;
    if (db_query(f->c,
                 "INSERT INTO recordings (call_uuid, path, format, sample_rate, channels, "
                 "started_at, duration_ms, bytes, sha256) VALUES ($1::uuid, $2, $3, $4::integer, "
                 "2, to_timestamp($5::numeric / 1000000), $6::integer, $7::bigint, "
                 "decode($8, 'hex')) RETURNING seq",
                 8, rp, &res) != CS_OK)
        fail_msg("recordings: %s", db_last_error(f->c));
    int64_t seq = 0;
    assert_int_equal(db_result_int64(res, 0, 0, &seq), CS_OK);
    assert_int_equal(seq, i + 1);
    db_result_free(res);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || testdb_create(f->conninfo, sizeof f->conninfo) != CS_OK ||
        db_connect(f->conninfo, "test_verify", &f->c) != CS_OK || testdb_migrate(f->c) != CS_OK)
        return -1;
    if (ts_mkdtemp(f->dir, sizeof f->dir, "verify") != 0)
        return -1;
    snprintf(f->root, sizeof f->root, "%s/archive", f->dir);
    if (mkdir(f->root, 0755) != 0)
        return -1;
    /* an empty configuration file, so no /etc/callscope/callscope.conf leaks in */
    snprintf(f->conf, sizeof f->conf, "%s/empty.conf", f->dir);
    if (ts_write_file(f->conf, "", 0) != 0 || setenv("CALLSCOPE_CONFIG", f->conf, 1) != 0)
        return -1;
    *state = f;
    return 0;
}

/* The six archived and recorded calls every test starts from. */
static fx *populated(void **state)
{
    fx *f = *state;
    for (int i = 0; i < NCALLS; i++)
        archive_and_insert(f, i);
    return f;
}

static int teardown(void **state)
{
    fx *f = *state;
    db_close(f->c);
    testdb_drop(f->conninfo);
    ts_rmrf(f->dir);
    free(f->out);
    free(f->err);
    free(f);
    return 0;
}

/*
 * Runs callscope with --db <test database> --archive <root> (unless
 * no_defaults) and the given arguments (NULL-terminated); keeps stdout and
 * stderr in f->out / f->err; returns the exit status.
 */
static int run(fx *f, int no_defaults, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = CALLSCOPE_BIN;
    if (!no_defaults) {
        argv[n++] = "--db";
        argv[n++] = f->conninfo;
        argv[n++] = "--archive";
        argv[n++] = f->root;
    }
    va_list ap;
    va_start(ap, no_defaults);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 31)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;

    char outp[400], errp[400];
    snprintf(outp, sizeof outp, "%s/stdout", f->dir);
    snprintf(errp, sizeof errp, "%s/stderr", f->dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, CALLSCOPE_BIN, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    free(f->out);
    free(f->err);
    size_t len;
    f->out = ts_read_file(outp, &len);
    f->err = ts_read_file(errp, &len);
    assert_non_null(f->out);
    assert_non_null(f->err);
    return WEXITSTATUS(st);
}

static void has(const char *text, const char *what)
{
    if (!strstr(text, what))
        fail_msg("expected \"%s\" in:\n%s", what, text);
}

static int count_lines_with(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

/* The last JSON output satisfies jq -e EXPR. */
static void jq_true(fx *f, const char *expr)
{
    char path[400], cmd[1400];
    snprintf(path, sizeof path, "%s/out.json", f->dir);
    assert_int_equal(ts_write_file(path, f->out, strlen(f->out)), 0);
    snprintf(cmd, sizeof cmd, "jq -e '%s' '%s' >/dev/null", expr, path);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("jq -e '%s' is not true for:\n%s", expr, f->out);
}

static void full_path(fx *f, int i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", f->root, f->paths[i]);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_clean_archive(void **state)
{
    fx *f = populated(state);
    assert_int_equal(run(f, 0, "-q", "verify", NULL), 0);
    has(f->out, "verified 6 recordings (6 files re-hashed): 0 problems");
    has(f->out, "chain head: seq 6, chain_hash ");
    assert_null(strstr(f->out, "PROBLEM"));

    assert_int_equal(run(f, 0, "-q", "--format", "json", "verify", NULL), 0);
    jq_true(f, ".verified == 6 and .files_rehashed == 6 and .problem_count == 0 and "
               ".problems == [] and .head.seq == 6 and (.head.chain_hash | length) == 64");
    has(f->err, "verified 6 recordings (6 files re-hashed): 0 problems");
    /* the head printed is the database's */
    db_result *res = NULL;
    assert_int_equal(db_query(f->c,
                              "SELECT encode(chain_hash, 'hex') FROM recordings WHERE seq = 6", 0,
                              NULL, &res),
                     CS_OK);
    has(f->out, db_result_value(res, 0, 0));
    db_result_free(res);

    assert_int_equal(run(f, 0, "-q", "--format", "csv", "verify", NULL), 0);
    assert_string_equal(f->out, "seq,seq_last,call_uuid,path,problem,detail\n");
    print_message("clean archive: 6 recordings, 6 files re-hashed, 0 problems, exit 0\n");
}

static void test_flipped_byte(void **state)
{
    fx *f = populated(state);
    char p[600];
    full_path(f, 2, p, sizeof p);
    size_t len;
    char *b = ts_read_file(p, &len);
    assert_non_null(b);
    b[len / 2] ^= 0x01;
    assert_int_equal(ts_write_file(p, b, len), 0);
    free(b);

    assert_int_equal(run(f, 0, "-q", "verify", NULL), 1);
    has(f->out, f->paths[2]);
    has(f->out, "hash mismatch");
    has(f->out, UUIDS[2]);
    has(f->out, "verified 6 recordings (6 files re-hashed): 1 problems");
    assert_int_equal(count_lines_with(f->out, "mismatch"), 2); /* PROBLEM column + detail */
    print_message("flipped byte:\n%s", f->out);

    assert_int_equal(run(f, 0, "-q", "--format", "json", "verify", NULL), 1);
    char expr[512];
    snprintf(expr, sizeof expr,
             ".problem_count == 1 and (.problems | length) == 1 and .problems[0].seq == 3 and "
             ".problems[0].problem == \"hash mismatch\" and .problems[0].path == \"%s\" and "
             ".problems[0].call_uuid == \"%s\"",
             f->paths[2], UUIDS[2]);
    jq_true(f, expr);
}

static void test_missing_and_truncated_file(void **state)
{
    fx *f = populated(state);
    char p[600];
    full_path(f, 4, p, sizeof p);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(run(f, 0, "-q", "verify", NULL), 1);
    has(f->out, f->paths[4]);
    has(f->out, "missing");
    has(f->out, "verified 6 recordings (5 files re-hashed): 1 problems");
    print_message("missing file:\n%s", f->out);

    full_path(f, 0, p, sizeof p);
    assert_int_equal(truncate(p, 100), 0);
    assert_int_equal(run(f, 0, "-q", "--format", "json", "verify", NULL), 1);
    char expr[512];
    snprintf(expr, sizeof expr,
             ".problem_count == 2 and .problems[0].seq == 1 and "
             ".problems[0].problem == \"size mismatch\" and .problems[0].path == \"%s\" and "
             ".problems[1].seq == 5 and .problems[1].problem == \"missing\" and "
             ".problems[1].path == \"%s\"",
             f->paths[0], f->paths[4]);
    jq_true(f, expr);
}

static void test_deleted_row(void **state)
{
    fx *f = populated(state);
    exec_ok(f, "ALTER TABLE recordings DISABLE TRIGGER USER");
    exec_ok(f, "DELETE FROM recordings WHERE seq = 3");
    assert_int_equal(run(f, 0, "-q", "verify", NULL), 1);
    has(f->out, "rows deleted");
    has(f->out, "seq 3 missing between seq 2 and seq 4");
    has(f->out, "verified 5 recordings (5 files re-hashed): 1 problems");
    print_message("deleted row:\n%s", f->out);

    assert_int_equal(run(f, 0, "-q", "--format", "json", "verify", NULL), 1);
    jq_true(f, ".problem_count == 1 and .problems[0].problem == \"rows deleted\" and "
               ".problems[0].seq == 3 and .problems[0].seq_last == 3 and "
               ".problems[0].prev_seq == 2 and .problems[0].next_seq == 4 and "
               ".problems[0].call_uuid == null");

    /* two more, one of them the first row */
    exec_ok(f, "DELETE FROM recordings WHERE seq IN (1, 4)");
    assert_int_equal(run(f, 0, "-q", "verify", NULL), 1);
    has(f->out, "seq 1 missing before seq 2 (the start of the chain)");
    has(f->out, "seq 3-4 missing between seq 2 and seq 5");
    has(f->out, "verified 3 recordings (3 files re-hashed): 2 problems");
    exec_ok(f, "ALTER TABLE recordings ENABLE TRIGGER USER");
}

static void test_edited_row(void **state)
{
    fx *f = populated(state);
    exec_ok(f, "ALTER TABLE recordings DISABLE TRIGGER USER");
    exec_ok(f, "UPDATE recordings SET duration_ms = duration_ms + 1 WHERE seq = 4");
    exec_ok(f, "ALTER TABLE recordings ENABLE TRIGGER USER");
    assert_int_equal(run(f, 0, "-q", "verify", NULL), 1);
    has(f->out, "row edited");
    has(f->out, "seq 4 (call 2a2a2a2a-5555-4666-8777-888899990000)");
    has(f->out, "verified 6 recordings (6 files re-hashed): 1 problems");
    print_message("edited row:\n%s", f->out);

    assert_int_equal(run(f, 0, "-q", "--format", "csv", "verify", NULL), 1);
    has(f->out, "\n4,4,2a2a2a2a-5555-4666-8777-888899990000,");
    has(f->out, ",row edited,");
    assert_int_equal(count_lines_with(f->out, "\n"), 2); /* header + one record */

    /* the chain_hash re-forged to match the edit: now the next link is cut */
    exec_ok(f, "ALTER TABLE recordings DISABLE TRIGGER USER");
    exec_ok(f, "UPDATE recordings SET chain_hash = cs_recording_chain_hash(prev_chain_hash, seq, "
               "call_uuid, sha256, format, sample_rate, channels, duration_ms, bytes, created_at) "
               "WHERE seq = 4");
    assert_int_equal(run(f, 0, "-q", "--format", "json", "verify", NULL), 1);
    jq_true(f, ".problem_count == 1 and .problems[0].problem == \"link broken\" and "
               ".problems[0].seq == 5");
}

static void test_range(void **state)
{
    fx *f = populated(state);
    /* calls 2 and 3 (2024-03-02, 2024-03-03): a bare --to date is inclusive */
    assert_int_equal(run(f, 0, "-q", "--from", "2024-03-02", "--to", "2024-03-03", "verify", NULL),
                     0);
    has(f->out, "verified 2 recordings (2 files re-hashed): 0 problems");
    assert_int_equal(run(f, 0, "-q", "--from", "2024-03-02T10:00:12.25Z", "--to",
                         "2024-03-03T10:00:12.25Z", "verify", NULL),
                     0);
    has(f->out, "verified 1 recordings (1 files re-hashed): 0 problems");
    assert_int_equal(run(f, 0, "-q", "--from", "2024-03-02T11:00:12.25+01:00", "--to",
                         "2024-03-03T10:00:12.250001Z", "verify", NULL),
                     0);
    has(f->out, "verified 2 recordings (2 files re-hashed): 0 problems");

    /* a flipped file outside the range is not re-hashed */
    char p[600];
    full_path(f, 4, p, sizeof p);
    size_t len;
    char *b = ts_read_file(p, &len);
    assert_non_null(b);
    b[len - 1] ^= 0x80;
    assert_int_equal(ts_write_file(p, b, len), 0);
    free(b);
    assert_int_equal(run(f, 0, "-q", "--to", "2024-03-04", "verify", NULL), 0);
    has(f->out, "verified 4 recordings (4 files re-hashed): 0 problems");
    assert_int_equal(run(f, 0, "-q", "--from", "2024-03-05", "verify", NULL), 1);
    has(f->out, "verified 2 recordings (2 files re-hashed): 1 problems");
    has(f->out, f->paths[4]);

    /* an edited row outside the range is not listed but still fails */
    exec_ok(f, "ALTER TABLE recordings DISABLE TRIGGER USER");
    exec_ok(f, "UPDATE recordings SET bytes = bytes + 1 WHERE seq = 1");
    exec_ok(f, "ALTER TABLE recordings ENABLE TRIGGER USER");
    assert_int_equal(run(f, 0, "--from", "2024-03-02", "--to", "2024-03-03", "verify", NULL), 1);
    has(f->out, "verified 2 recordings (2 files re-hashed): 0 problems");
    has(f->err, "1 chain fault outside --from/--to not listed");
}

static void test_errors(void **state)
{
    fx *f = populated(state);
    assert_int_equal(run(f, 0, "--from", "2024-02-30", "verify", NULL), 2);
    has(f->err, "--from");
    assert_int_equal(run(f, 0, "--to", "yesterday", "verify", NULL), 2);
    assert_int_equal(run(f, 0, "--from", "2024-03-05", "--to", "2024-03-01", "verify", NULL), 2);
    assert_int_equal(run(f, 0, "verify", "extra", NULL), 2);
    assert_int_equal(run(f, 0, "--format", "xml", "verify", NULL), 2);

    char missing[400];
    snprintf(missing, sizeof missing, "%s/no-such-root", f->dir);
    assert_int_equal(run(f, 1, "--db", f->conninfo, "--archive", missing, "verify", NULL), 4);
    has(f->err, "no-such-root");
    /* the configured root, when --archive is absent */
    char set[500];
    snprintf(set, sizeof set, "archive.dir=%s", f->root);
    assert_int_equal(run(f, 1, "-q", "--db", f->conninfo, "--set", set, "verify", NULL), 0);
    has(f->out, "verified 6 recordings (6 files re-hashed): 0 problems");
    assert_int_equal(run(f, 1, "--db", f->conninfo, "--set", "archive.dir=", "verify", NULL), 3);
    assert_int_equal(run(f, 1, "--set", "verify.progress_rows=0", "verify", NULL), 3);

    assert_int_equal(run(f, 1, "--archive", f->root, "--set", "db.connect_tries=1", "--db",
                         "host=/nonexistent-cs dbname=x", "verify", NULL),
                     4);
    /* a database without the schema */
    char empty[1024];
    assert_int_equal(testdb_create(empty, sizeof empty), CS_OK);
    assert_int_equal(run(f, 1, "--archive", f->root, "--db", empty, "verify", NULL), 4);
    has(f->err, "callscope db migrate");
    testdb_drop(empty);
}

static void test_progress(void **state)
{
    fx *f = populated(state);
    assert_int_equal(run(f, 0, "--set", "verify.progress_rows=2", "verify", NULL), 0);
    assert_int_equal(count_lines_with(f->err, "rows walked"), 3);
    has(f->err, "6 rows walked (at seq 6), 6 files re-hashed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flipped_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_truncated_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edited_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
