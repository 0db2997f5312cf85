/*
 * test_chain.c — the recordings hash chain recomputed in C equals what the
 * database's trigger stored, and tampering shows.
 *
 * Against a real PostgreSQL (testdb_create + testdb_migrate, so the trigger
 * of schema/001_init.sql is the one under test): three real FLAC recordings
 * are archived with archive_write, their calls and recordings rows inserted,
 * the chain read back and every link recomputed with chain_check_link. Then,
 * with the table's guard triggers disabled (as a tamperer with superuser
 * rights would), one row is edited, one file digest replaced, one row
 * deleted, one archive byte flipped: each is pinned to the right row. A
 * table of edge cases (pre-1970 and fractional times, large numbers) is
 * compared byte for byte with the SQL function cs_recording_chain_hash, and
 * the worked example of docs/schema.md is checked offline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "archive.h"
#include "chain.h"
#include "db.h"
#include "error.h"
#include "testdb.h"
#include "testsupport.h"

static const uint8_t ZERO[CHAIN_HASH_LEN] = {0};

static void hex_to(const char *hex, uint8_t out[CHAIN_HASH_LEN])
{
    assert_int_equal(chain_hex_parse(hex, strlen(hex), out), CS_OK);
}

/* ---- offline ----------------------------------------------------------- */

/* The worked example of docs/schema.md ("The hash chain"). */
static void test_docs_vector(void **state)
{
    (void)state;
    chain_row r = {0};
    r.seq = 1;
    r.call_uuid = "11111111-1111-4111-8111-111111111111";
    unsigned len = 0;
    assert_int_equal(EVP_Digest("file one", 8, r.sha256, &len, EVP_sha256(), NULL), 1);
    uint8_t want_sha[32];
    hex_to("44b0c4fb73f05eafb614f6ce3c5cc3bed368282c9004332c4a41731ad8117080", want_sha);
    assert_memory_equal(r.sha256, want_sha, 32);
    r.format = "flac";
    r.sample_rate = 8000;
    r.channels = 2;
    r.duration_ms = 287750;
    r.bytes = 1234567;
    r.created_at_us = 1709287212250000LL; /* 2024-03-01 10:00:12.25 UTC */
    char t[CHAIN_TEXT_MAX];
    size_t tlen = 0;
    assert_int_equal(chain_text(&r, t, sizeof t, &tlen), CS_OK);
    assert_string_equal(t,
                        "callscope-recording-v1|1|11111111-1111-4111-8111-111111111111|flac|8000|"
                        "2|287750|1234567|1709287212250000");
    assert_int_equal(tlen, strlen(t));
    uint8_t h[32], want[32];
    assert_int_equal(chain_hash_compute(ZERO, &r, h), CS_OK);
    hex_to("1a0f3cd5046661a62f55da001ad7de69735d8bd0fc4bfadd32be4f120520f5bf", want);
    assert_memory_equal(h, want, 32);

    /* chain_check_link on the stored values */
    memcpy(r.chain_hash, h, 32);
    unsigned faults = 99;
    assert_int_equal(chain_check_link(1, ZERO, &r, &faults), CS_OK);
    assert_int_equal(faults, 0);
    r.duration_ms++;
    assert_int_equal(chain_check_link(1, ZERO, &r, &faults), CS_ERR_INTEGRITY);
    assert_int_equal(faults, CHAIN_FAULT_HASH);
    r.duration_ms--;
    assert_int_equal(chain_check_link(2, h, &r, &faults), CS_ERR_INTEGRITY);
    assert_int_equal(faults, CHAIN_FAULT_SEQ | CHAIN_FAULT_PREV);

    /* argument checks */
    assert_int_equal(chain_text(&r, t, tlen, NULL), CS_ERR_OVERFLOW);
    assert_int_equal(chain_text(&r, t, tlen + 1, NULL), CS_OK);
    r.call_uuid = "11111111-1111-4111-8111-11111111111A";
    assert_int_equal(chain_hash_compute(ZERO, &r, h), CS_ERR_INVAL);
    r.call_uuid = "11111111-1111-4111-8111-111111111111";
    r.format = "";
    assert_int_equal(chain_hash_compute(ZERO, &r, h), CS_ERR_INVAL);
    r.format = NULL;
    assert_int_equal(chain_hash_compute(ZERO, &r, h), CS_ERR_INVAL);
}

static void test_hex_parse(void **state)
{
    (void)state;
    const char *ok = "1A0f3cd5046661a62f55da001ad7de69735d8bd0fc4bfadd32be4f120520f5bf";
    uint8_t a[32], b[32];
    assert_int_equal(chain_hex_parse(ok, 64, a), CS_OK);
    assert_int_equal(a[0], 0x1a);
    assert_int_equal(a[31], 0xbf);
    char pg[80];
    snprintf(pg, sizeof pg, "\\x%s", ok);
    assert_int_equal(chain_hex_parse(pg, strlen(pg), b), CS_OK);
    assert_memory_equal(a, b, 32);
    char hex[65];
    chain_hex_format(a, hex);
    assert_string_equal(hex, "1a0f3cd5046661a62f55da001ad7de69735d8bd0fc4bfadd32be4f120520f5bf");
    assert_int_equal(chain_hex_parse(ok, 63, a), CS_ERR_MALFORMED);
    assert_int_equal(chain_hex_parse(pg, 65, a), CS_ERR_MALFORMED);
    char bad[65];
    memcpy(bad, ok, 65);
    bad[10] = 'g';
    memcpy(a, b, 32);
    assert_int_equal(chain_hex_parse(bad, 64, a), CS_ERR_MALFORMED);
    assert_memory_equal(a, b, 32); /* untouched on error */
}

/* ---- against PostgreSQL -------------------------------------------------- */

typedef struct fx {
    char conninfo[1024];
    db_conn *c;
    char dir[256];
    char root[300];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || testdb_create(f->conninfo, sizeof f->conninfo) != CS_OK ||
        db_connect(f->conninfo, "test_chain", &f->c) != CS_OK || testdb_migrate(f->c) != CS_OK)
        return -1;
    if (ts_mkdtemp(f->dir, sizeof f->dir, "chain") != 0)
        return -1;
    snprintf(f->root, sizeof f->root, "%s/archive", f->dir);
    if (mkdir(f->root, 0755) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    db_close(f->c);
    testdb_drop(f->conninfo);
    ts_rmrf(f->dir);
    free(f);
    return 0;
}

static void exec_ok(fx *f, const char *sql)
{
    if (db_exec(f->c, sql) != CS_OK)
        fail_msg("%s: %s", sql, db_last_error(f->c));
}

/* Edge cases compared with the SQL function itself. */
static void test_matches_sql_function(void **state)
{
    fx *f = *state;
    static const struct {
        const char *prev_hex; /* NULL: zeros */
        int64_t seq;
        const char *uuid, *format;
        int32_t rate;
        int16_t channels;
        int32_t duration_ms;
        int64_t bytes;
        const char *created_at;
        int64_t created_us;
    } cases[] = {
        {NULL, 1, "11111111-1111-4111-8111-111111111111", "flac", 8000, 2, 287750, 1234567,
         "2024-03-01 10:00:12.25+00", 1709287212250000LL},
        {"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100", 2,
         "0b9e6c1a-3f43-4d8e-9a55-6f1e2d3c4b5a", "opus", 16000, 1, 0, 0,
         "1969-12-31 23:59:59.999999+00", -1},
        {"00000000000000000000000000000000000000000000000000000000000000ff", 1000000007,
         "7d1f00aa-0000-4000-8000-00000000beef", "wav", 192000, 2, 2147483647, 9007199254740993LL,
         "1901-06-07 01:02:03.000004+00", -2163884276999996LL},
        {NULL, 9223372036854775807LL, "00000000-0000-0000-0000-000000000000", "flac", 8000, 2,
         60000, 480044, "2099-12-31 23:59:59.123456+05:30", 4102424999123456LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chain_row r = {0};
        uint8_t prev[32] = {0};
        if (cases[i].prev_hex)
            hex_to(cases[i].prev_hex, prev);
        r.seq = cases[i].seq;
        r.call_uuid = cases[i].uuid;
        for (int k = 0; k < 32; k++)
            r.sha256[k] = (uint8_t)(k * 7 + i);
        r.format = cases[i].format;
        r.sample_rate = cases[i].rate;
        r.channels = cases[i].channels;
        r.duration_ms = cases[i].duration_ms;
        r.bytes = cases[i].bytes;
        r.created_at_us = cases[i].created_us;
        uint8_t h[32];
        assert_int_equal(chain_hash_compute(prev, &r, h), CS_OK);

        char prev_hex[65], sha_hex[65], seq[24], rate[16], ch[8], dur[16], bytes[24];
        chain_hex_format(prev, prev_hex);
        chain_hex_format(r.sha256, sha_hex);
        snprintf(seq, sizeof seq, "%lld", (long long)r.seq);
        snprintf(rate, sizeof rate, "%d", (int)r.sample_rate);
        snprintf(ch, sizeof ch, "%d", (int)r.channels);
        snprintf(dur, sizeof dur, "%d", (int)r.duration_ms);
        snprintf(bytes, sizeof bytes, "%lld", (long long)r.bytes);
        const char *params[] = {prev_hex, seq, r.call_uuid, sha_hex, r.format,
                                rate,     ch,  dur,         bytes,   cases[i].created_at};
        db_result *res = NULL;
        int rc = db_query(f->c,
                          "SELECT encode(cs_recording_chain_hash(decode($1, 'hex'), $2::bigint, "
                          "$3::uuid, decode($4, 'hex'), $5, $6::integer, $7::smallint, "
                          "$8::integer, $9::bigint, $10::timestamptz), 'hex'), "
                          "cs_epoch_us($10::timestamptz)",
                          10, params, &res);
        if (rc != CS_OK)
            fail_msg("case %zu: %s", i, db_last_error(f->c));
        int64_t us = 0;
        assert_int_equal(db_result_int64(res, 0, 1, &us), CS_OK);
        assert_int_equal(us, cases[i].created_us);
        char mine[65];
        chain_hex_format(h, mine);
        if (strcmp(mine, db_result_value(res, 0, 0)) != 0)
            fail_msg("case %zu: C %s, SQL %s", i, mine, db_result_value(res, 0, 0));
        db_result_free(res);
    }
}

typedef struct stored {
    int n;
    chain_row rows[8];
    char uuids[8][40];
    char formats[8][16];
    char paths[8][ARCHIVE_PATH_MAX];
    unsigned faults[8];
} stored;

/* Reads the chain as `callscope verify` would and checks every link. Returns
 * the number of faulty links. */
static int walk(fx *f, stored *s)
{
    db_result *res = NULL;
    if (db_query(f->c,
                 "SELECT seq, encode(prev_chain_hash, 'hex'), encode(chain_hash, 'hex'), "
                 "call_uuid, encode(sha256, 'hex'), format, sample_rate, channels, duration_ms, "
                 "bytes, (extract(epoch FROM created_at) * 1000000)::bigint, path "
                 "FROM recordings ORDER BY seq",
                 0, NULL, &res) != CS_OK)
        fail_msg("%s", db_last_error(f->c));
    memset(s, 0, sizeof *s);
    s->n = db_result_rows(res);
    assert_true(s->n <= 8);
    int64_t expect_seq = 1;
    uint8_t expect_prev[32] = {0};
    int bad = 0;
    for (int i = 0; i < s->n; i++) {
        chain_row *r = &s->rows[i];
        int v = 0;
        assert_int_equal(db_result_int64(res, i, 0, &r->seq), CS_OK);
        hex_to(db_result_value(res, i, 1), r->prev_chain_hash);
        hex_to(db_result_value(res, i, 2), r->chain_hash);
        snprintf(s->uuids[i], sizeof s->uuids[i], "%s", db_result_value(res, i, 3));
        r->call_uuid = s->uuids[i];
        hex_to(db_result_value(res, i, 4), r->sha256);
        snprintf(s->formats[i], sizeof s->formats[i], "%s", db_result_value(res, i, 5));
        r->format = s->formats[i];
        assert_int_equal(db_result_int(res, i, 6, &r->sample_rate), CS_OK);
        assert_int_equal(db_result_int(res, i, 7, &v), CS_OK);
        r->channels = (int16_t)v;
        assert_int_equal(db_result_int(res, i, 8, &r->duration_ms), CS_OK);
        assert_int_equal(db_result_int64(res, i, 9, &r->bytes), CS_OK);
        assert_int_equal(db_result_int64(res, i, 10, &r->created_at_us), CS_OK);
        snprintf(s->paths[i], sizeof s->paths[i], "%s", db_result_value(res, i, 11));
        int rc = chain_check_link(expect_seq, expect_prev, r, &s->faults[i]);
        assert_true(rc == CS_OK || rc == CS_ERR_INTEGRITY);
        bad += rc != CS_OK;
        expect_seq = r->seq + 1;
        memcpy(expect_prev, r->chain_hash, 32);
    }
    db_result_free(res);
    return bad;
}

#define T0_US 1709287212250000LL /* 2024-03-01 10:00:12.25 UTC */

static const char *const UUIDS[3] = {
    "0b9e6c1a-3f43-4d8e-9a55-6f1e2d3c4b5a",
    "7d1f00aa-0000-4000-8000-00000000beef",
    "c0ffee00-1234-4abc-8def-0123456789ab",
};

/* Archives call i (a real FLAC of i+1 seconds) and inserts its rows. */
static void archive_and_insert(fx *f, int i, archive_result *ar)
{
    size_t frames = (size_t)(i + 1) * 8000;
    int16_t *c1 = malloc(frames * sizeof *c1), *c2 = malloc(frames * sizeof *c2);
    assert_non_null(c1);
    assert_non_null(c2);
    for (size_t k = 0; k < frames; k++) {
        c1[k] = (int16_t)lrint(8000 * sin(2 * M_PI * (300 + 100 * i) * (double)k / 8000));
        c2[k] = (int16_t)lrint(5000 * sin(2 * M_PI * 500 * (double)k / 8000));
    }
    int64_t started = T0_US + (int64_t)i * 60000000;
    archive_audio a = {UUIDS[i], started, 8000, c1, c2, frames, ARCHIVE_FLAC};
    if (archive_write(f->root, &a, NULL, ar) != CS_OK)
        fail_msg("%s", ar->msg);
    free(c1);
    free(c2);

    char start[32], dur[16], bytes[24];
    snprintf(start, sizeof start, "%lld", (long long)started);
    snprintf(dur, sizeof dur, "%lld", (long long)ar->duration_ms);
    snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)ar->bytes);
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
    char rate[16];
    snprintf(rate, sizeof rate, "%d", ar->sample_rate);
    const char *rp[] = {UUIDS[i], ar->path,      archive_format_name(ar->format), rate, start, dur,
                        bytes,    ar->sha256_hex};
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

static void test_chain_in_database(void **state)
{
    fx *f = *state;
    archive_result ar[3];
    for (int i = 0; i < 3; i++)
        archive_and_insert(f, i, &ar[i]);

    stored s;
    assert_int_equal(walk(f, &s), 0);
    assert_int_equal(s.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.rows[i].seq, i + 1);
        assert_string_equal(s.rows[i].call_uuid, UUIDS[i]);
        assert_memory_equal(s.rows[i].prev_chain_hash, i ? s.rows[i - 1].chain_hash : ZERO, 32);
        assert_int_equal(s.rows[i].duration_ms, (i + 1) * 1000);
        archive_verify_report rep;
        assert_int_equal(
            archive_verify_file(f->root, s.paths[i], s.rows[i].sha256, s.rows[i].bytes, &rep),
            CS_OK);
    }
    char h[65];
    chain_hex_format(s.rows[2].chain_hash, h);
    print_message("3 rows chained and recomputed in C; head %s\n", h);

    /* A tamperer with superuser rights switches the guards off. */
    exec_ok(f, "ALTER TABLE recordings DISABLE TRIGGER USER");

    /* 1. an edited key field is pinned to its row */
    exec_ok(f, "UPDATE recordings SET duration_ms = duration_ms + 1 WHERE seq = 2");
    assert_int_equal(walk(f, &s), 1);
    assert_int_equal(s.faults[0], 0);
    assert_int_equal(s.faults[1], CHAIN_FAULT_HASH);
    assert_int_equal(s.faults[2], 0);
    exec_ok(f, "UPDATE recordings SET duration_ms = duration_ms - 1 WHERE seq = 2");
    assert_int_equal(walk(f, &s), 0);

    /* 2. a file swapped together with its digest: the chain catches the row */
    exec_ok(f, "UPDATE recordings SET sha256 = sha256('forged'::bytea) WHERE seq = 1");
    assert_int_equal(walk(f, &s), 1);
    assert_int_equal(s.faults[0], CHAIN_FAULT_HASH);
    archive_verify_report rep;
    assert_int_equal(archive_verify_file(f->root, s.paths[0], s.rows[0].sha256, -1, &rep),
                     CS_ERR_INTEGRITY);
    assert_int_equal(rep.check, ARCHIVE_CHECK_HASH);
    const char *p0[] = {ar[0].sha256_hex};
    assert_int_equal(db_command(f->c,
                                "UPDATE recordings SET sha256 = decode($1, 'hex') WHERE seq = 1", 1,
                                p0, NULL),
                     CS_OK);
    assert_int_equal(walk(f, &s), 0);

    /* 3. a flipped byte in an archive file: chain intact, file check fails */
    char p[600];
    snprintf(p, sizeof p, "%s/%s", f->root, s.paths[2]);
    size_t len;
    char *b = ts_read_file(p, &len);
    assert_non_null(b);
    b[len / 3] ^= 1;
    assert_int_equal(ts_write_file(p, b, len), 0);
    free(b);
    assert_int_equal(walk(f, &s), 0);
    assert_int_equal(
        archive_verify_file(f->root, s.paths[2], s.rows[2].sha256, s.rows[2].bytes, &rep),
        CS_ERR_INTEGRITY);
    print_message("flipped byte: %s\n", rep.msg);

    /* 4. a deleted row: the next row has a seq gap and a broken prev link */
    exec_ok(f, "DELETE FROM recordings WHERE seq = 2");
    assert_int_equal(walk(f, &s), 1);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.faults[0], 0);
    assert_int_equal(s.faults[1], CHAIN_FAULT_SEQ | CHAIN_FAULT_PREV);
    exec_ok(f, "ALTER TABLE recordings ENABLE TRIGGER USER");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_vector),
        cmocka_unit_test(test_hex_parse),
        cmocka_unit_test_setup_teardown(test_matches_sql_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_in_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
