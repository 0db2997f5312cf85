/*
 * test_store.c — decode/store.c against a real PostgreSQL (testdb_create +
 * testdb_migrate: the schema, its constraints and the recordings chain
 * trigger are the real ones).
 *
 * Input: the call.json files callscope-capture writes for
 * tests/data/sample.pcap (19 calls), parsed with callinfo_parse, each
 * stored with a fabricated archive_result (calls with RTP) or none (calls
 * without media), fabricated talk segments and per-stream decode results.
 *
 * The expected values are read from the call.json TEXT by PostgreSQL's own
 * JSON parser (the documents are loaded into a scratch table t_doc as
 * jsonb), so the comparison does not go through the C parser under test.
 *
 * What is shown:
 *   - row counts per table equal what the documents hold; ANI, DNIS,
 *     outcome, ended_by, every call/leg/SIP-event/stream time equal to the
 *     microsecond (cs_epoch_us), stream packet/byte/loss counts, the DTMF
 *     digit sequence (one masked digit stored without its digit), holds,
 *     the REFER transfer, queue and agent mapping, a decode reason;
 *   - one transcribe job per recorded call (payload names the call), none
 *     for calls without media; the chain: seq 1..N, prev = previous
 *     chain_hash, chain_hash recomputed by the SQL function;
 *   - storing everything twice leaves identical rows (fingerprint over
 *     every column but surrogate ids and updated_at), one job and one
 *     recording per call, the same seq/chain hashes;
 *   - a second store of an archived call with another SHA-256 keeps the
 *     chained row and says so (already_archived, sha_differs);
 *   - a constraint violated on purpose (sample rate 4000 in the last
 *     statement, talk segment channel 3 in the middle) rolls back
 *     everything: no partial call, and a re-store that fails leaves the
 *     earlier rows intact;
 *   - a connection killed by the server is CS_ERR_DB_CONN (retryable);
 *     after db_ensure the same store succeeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "archive.h"
#include "callinfo.h"
#include "db.h"
#include "error.h"
#include "store.h"
#include "testdb.h"
#include "testsupport.h"

#define MAX_CALLS 64

/* The spooled sample, shared by every test (capture runs once). */
typedef struct sample {
    char dir[256];
    size_t n;
    char *text[MAX_CALLS];
    size_t len[MAX_CALLS];
    callinfo *ci[MAX_CALLS];
} sample;

static sample S;

typedef struct fx {
    char conninfo[1024];
    db_conn *c;
} fx;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_sample(void)
{
    const char *bin_dir = getenv("CALLSCOPE_BINARY_DIR");
    char capture[1024], pcap[1024], conf[512], cmd[4096], spool[512];
    snprintf(capture, sizeof capture, "%s/capture/callscope-capture", bin_dir ? bin_dir : ".");
    if (access(capture, X_OK) != 0) {
        fprintf(stderr, "SKIP: %s not built\n", capture);
        exit(77);
    }
    ts_source_path(pcap, sizeof pcap, "tests/data/sample.pcap");
    if (ts_mkdtemp(S.dir, sizeof S.dir, "store") != 0)
        return -1;
    snprintf(conf, sizeof conf, "%s/empty.conf", S.dir);
    if (ts_write_file(conf, "", 0) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "CALLSCOPE_CONFIG='%s' '%s' --spool '%s/spool' '%s' 2>/dev/null",
             conf, capture, S.dir, pcap);
    if (system(cmd) != 0)
        return -1;
    snprintf(spool, sizeof spool, "%s/spool/ready", S.dir);
    DIR *d = opendir(spool);
    if (!d)
        return -1;
    char *names[MAX_CALLS];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && n < MAX_CALLS)
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/call.json", spool, names[i]);
        S.text[i] = ts_read_file(path, &S.len[i]);
        callinfo_error err;
        if (!S.text[i] || callinfo_parse(S.text[i], S.len[i], &S.ci[i], &err) != CS_OK) {
            fprintf(stderr, "%s: %s\n", path, S.text[i] ? err.msg : "unreadable");
            return -1;
        }
        free(names[i]);
    }
    S.n = n;
    return n > 0 ? 0 : -1;
}

static int group_setup(void **state)
{
    (void)state;
    return load_sample();
}

static int group_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < S.n; i++) {
        callinfo_free(S.ci[i]);
        free(S.text[i]);
    }
    if (S.dir[0])
        ts_rmrf(S.dir);
    return 0;
}

static void exec_ok(fx *f, const char *sql)
{
    if (db_exec(f->c, sql) != CS_OK)
        fail_msg("%s: %s", sql, db_last_error(f->c));
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || testdb_create(f->conninfo, sizeof f->conninfo) != CS_OK ||
        db_connect(f->conninfo, "test_store", &f->c) != CS_OK || testdb_migrate(f->c) != CS_OK)
        return -1;
    /* the documents as jsonb, parsed by PostgreSQL (expected values) */
    if (db_exec(f->c, "CREATE TABLE t_doc (uuid uuid PRIMARY KEY, doc jsonb NOT NULL)") != CS_OK)
        return -1;
    for (size_t i = 0; i < S.n; i++) {
        const char *p[1] = {S.text[i]};
        if (db_command(f->c, "INSERT INTO t_doc SELECT ($1::jsonb->>'uuid')::uuid, $1::jsonb", 1, p,
                       NULL) != CS_OK)
            return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    db_close(f->c);
    testdb_drop(f->conninfo);
    free(f);
    return 0;
}

/* One integer from a query with up to 2 text parameters. */
static int64_t q_int(fx *f, const char *sql, const char *p1, const char *p2)
{
    const char *p[2] = {p1, p2};
    int np = p2 ? 2 : (p1 ? 1 : 0);
    db_result *r = NULL;
    int rc = db_query(f->c, sql, np, p, &r);
    if (rc != CS_OK)
        fail_msg("%s: %s", sql, db_last_error(f->c));
    int64_t v = -1;
    if (db_result_int64(r, 0, 0, &v) != CS_OK)
        fail_msg("%s: no integer result", sql);
    db_result_free(r);
    return v;
}

/* One text value (malloc'd copy; "" for NULL). */
static char *q_text(fx *f, const char *sql, const char *p1)
{
    const char *p[1] = {p1};
    db_result *r = NULL;
    if (db_query(f->c, sql, p1 ? 1 : 0, p, &r) != CS_OK)
        fail_msg("%s: %s", sql, db_last_error(f->c));
    const char *v = db_result_value(r, 0, 0);
    char *s = strdup(v ? v : "");
    db_result_free(r);
    return s;
}

/* ---- fabricated decode results -------------------------------------------- */

typedef struct fab {
    archive_result rec;
    int has_rec;
    store_stream_result st[16];
    vad_segment seg[4];
    unsigned char masked[128];
} fab;

static void sha_hex(const char *text, archive_result *r)
{
    unsigned len = 0;
    assert_int_equal(EVP_Digest(text, strlen(text), r->sha256, &len, EVP_sha256(), NULL), 1);
    for (int i = 0; i < 32; i++)
        snprintf(r->sha256_hex + 2 * i, 3, "%02x", r->sha256[i]);
}

/* A recording for calls with RTP (none for calls without media), talk
 * segments inside the call, the first stream of the first two-stream call
 * with an undecodable payload, DTMF #3 (index 2) masked. */
static void fabricate(const callinfo *ci, const char *sha_seed, fab *fb, store_call_in *in)
{
    memset(fb, 0, sizeof *fb);
    memset(in, 0, sizeof *in);
    in->call = ci;
    fb->has_rec = ci->nstreams > 0;
    int64_t dur_ms = ci->duration_us / 1000;
    if (fb->has_rec) {
        archive_result *r = &fb->rec;
        snprintf(r->path, sizeof r->path, "2024/03/04/%s.flac", ci->uuid);
        char seed[128];
        snprintf(seed, sizeof seed, "%s:%s", sha_seed, ci->uuid);
        sha_hex(seed, r);
        r->bytes = 1000 + (uint64_t)dur_ms * 4;
        r->duration_ms = dur_ms;
        r->sample_rate = 8000;
        r->channels = 2;
        r->format = ARCHIVE_FLAC;
        in->rec = r;
        in->rec_started_us = ci->invite_us;
        fb->seg[0] = (vad_segment){1, 100, 900};
        fb->seg[1] = (vad_segment){2, 1000, dur_ms > 1500 ? dur_ms - 200 : 1200};
        fb->seg[2] = (vad_segment){1, 1100, 1300};
        in->segs = fb->seg;
        in->nsegs = 3;
    }
    assert_true(ci->nstreams <= 16);
    for (size_t i = 0; i < ci->nstreams; i++)
        fb->st[i].status = STORE_DEC_OK;
    in->streams = fb->st;
    assert_true(ci->ndtmf <= 128);
    if (ci->ndtmf > 2)
        fb->masked[2] = 1;
    in->dtmf_masked = fb->masked;
}

static int first_two_stream_call(void)
{
    for (size_t i = 0; i < S.n; i++)
        if (S.ci[i]->nstreams == 2)
            return (int)i;
    return -1;
}

static void store_all(fx *f, const char *sha_seed, int expect_archived)
{
    int two = first_two_stream_call();
    for (size_t i = 0; i < S.n; i++) {
        fab fb;
        store_call_in in;
        fabricate(S.ci[i], sha_seed, &fb, &in);
        if ((int)i == two) {
            fb.st[0].status = STORE_DEC_UNSUPPORTED_CODEC;
            fb.st[0].reason = "payload type 96 was not negotiated in the SDP";
        }
        store_call_out out;
        int rc = store_call(f->c, &in, &out);
        if (rc != CS_OK)
            fail_msg("store %s: %s: %s", S.ci[i]->uuid, cs_err_name(rc), out.msg);
        assert_string_equal(out.msg, "");
        assert_int_equal(out.legs, S.ci[i]->nlegs);
        assert_int_equal(out.streams, S.ci[i]->nstreams);
        if (fb.has_rec) {
            assert_int_equal(out.already_archived, expect_archived);
            assert_true(out.recording.seq > 0);
            assert_true(out.job_id > 0);
            assert_int_equal(strlen(out.recording.chain_hash_hex), 64);
        } else {
            assert_int_equal(out.recording.seq, 0);
            assert_int_equal(out.job_id, 0);
        }
    }
}

/* Everything decode wrote, as text, without surrogate ids and updated_at:
 * children are named by their parents' natural keys. */
static char *fingerprint(fx *f)
{
    static const char sql[] =
        "SELECT md5(concat_ws('|',"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT (to_jsonb(c) - 'updated_at')::text t"
        "   FROM calls c) x),"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT (to_jsonb(l) - 'id')::text t"
        "   FROM legs l) x),"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT (to_jsonb(e) - 'id' - 'leg_id'"
        "   || jsonb_build_object('leg', l.call_id || '/' || coalesce(l.from_tag, '')))::text t"
        "   FROM sip_events e JOIN legs l ON l.id = e.leg_id) x),"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT (to_jsonb(s) - 'id' - 'leg_id'"
        "   || jsonb_build_object('leg', l.call_id || '/' || coalesce(l.from_tag, '')))::text t"
        "   FROM rtp_streams s LEFT JOIN legs l ON l.id = s.leg_id) x),"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT (to_jsonb(d) - 'id' - 'stream_id'"
        "   || jsonb_build_object('ssrc', s.ssrc))::text t"
        "   FROM dtmf_events d LEFT JOIN rtp_streams s ON s.id = d.stream_id) x),"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT (to_jsonb(h) - 'id' - 'leg_id'"
        "   || jsonb_build_object('leg', l.call_id))::text t"
        "   FROM holds h LEFT JOIN legs l ON l.id = h.leg_id) x),"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT (to_jsonb(r) - 'id')::text t"
        "   FROM transfers r) x),"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT (to_jsonb(g) - 'id')::text t"
        "   FROM talk_segments g) x),"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT to_jsonb(r)::text t"
        "   FROM recordings r) x),"
        " (SELECT string_agg(t, ',' ORDER BY t) FROM (SELECT concat_ws(':', kind, call_uuid,"
        "   payload::text, state, attempts) t FROM jobs) x)))";
    return q_text(f, sql, NULL);
}

static int64_t count(fx *f, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return q_int(f, sql, NULL, NULL);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_store_sample(void **state)
{
    fx *f = *state;
    exec_ok(f, "INSERT INTO queues (id, name) VALUES (7, 'main line');"
               "INSERT INTO queue_dnis VALUES ('+18005550101', 7);"
               "INSERT INTO agents (id, extension, name) VALUES (44, '2044', 'Agent 2044'),"
               " (73, '2073', 'Agent 2073')");
    store_all(f, "first", 0);

    int64_t ncalls = (int64_t)S.n;
    assert_int_equal(ncalls, 19);
    assert_int_equal(count(f, "calls"), ncalls);
    /* row counts as the documents hold them */
    assert_int_equal(count(f, "legs"),
                     q_int(f, "SELECT sum(jsonb_array_length(doc->'legs')) FROM t_doc", 0, 0));
    assert_int_equal(count(f, "sip_events"),
                     q_int(f,
                           "SELECT count(*) FROM t_doc, jsonb_array_elements(doc->'legs') l,"
                           " jsonb_array_elements(l->'events') e",
                           0, 0));
    assert_int_equal(count(f, "rtp_streams"),
                     q_int(f, "SELECT sum(jsonb_array_length(doc->'streams')) FROM t_doc", 0, 0));
    assert_int_equal(count(f, "rtp_streams"), 38);
    assert_int_equal(count(f, "dtmf_events"), 18);
    assert_int_equal(count(f, "holds"), 1);
    assert_int_equal(count(f, "transfers"), 1);
    int64_t with_media =
        q_int(f, "SELECT count(*) FROM t_doc WHERE jsonb_array_length(doc->'streams') > 0", 0, 0);
    assert_int_equal(with_media, 15);
    assert_int_equal(count(f, "recordings"), with_media);
    assert_int_equal(count(f, "talk_segments"), 3 * with_media);

    /* calls: every field against the document; times to the microsecond */
    assert_int_equal(
        q_int(f,
              "SELECT count(*) FROM calls c JOIN t_doc d ON d.uuid = c.uuid WHERE"
              " c.ani = d.doc->>'ani' AND c.dnis = d.doc->>'dnis'"
              " AND c.outcome = d.doc->>'outcome' AND c.ended_by = d.doc->>'ended_by'"
              " AND c.probe = d.doc->>'probe' AND c.call_id = d.doc->>'call_id'"
              " AND cs_epoch_us(c.invite_at) = (d.doc->>'invite_us')::bigint"
              " AND cs_epoch_us(c.ringing_at) IS NOT DISTINCT FROM (d.doc->>'ringing_us')::bigint"
              " AND cs_epoch_us(c.answered_at) IS NOT DISTINCT FROM (d.doc->>'answer_us')::bigint"
              " AND cs_epoch_us(c.ended_at) = (d.doc->>'end_us')::bigint"
              " AND cs_epoch_us(c.abandon_at) IS NOT DISTINCT FROM (d.doc->>'abandon_us')::bigint"
              " AND c.duration_ms = (d.doc->>'duration_us')::bigint / 1000"
              " AND c.hold_count = jsonb_array_length(d.doc->'holds')"
              " AND c.transfer_count = jsonb_array_length(d.doc->'transfers')",
              0, 0),
        ncalls);
    /* the outcomes of the sample, as capture classified them */
    char *oc = q_text(f,
                      "SELECT string_agg(outcome || '=' || n, ' ' ORDER BY outcome) FROM"
                      " (SELECT outcome, count(*) n FROM calls GROUP BY outcome) x",
                      NULL);
    assert_string_equal(oc, "abandoned=2 answered=14 busy=1 no_answer=2");
    print_message("outcomes: %s\n", oc);
    free(oc);
    /* a failed call keeps its final status; answered ones have none */
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM calls c JOIN t_doc d ON d.uuid = c.uuid WHERE"
                           " c.end_sip_status IS DISTINCT FROM CASE WHEN"
                           " (d.doc->>'final_status')::int >= 300 THEN"
                           " (d.doc->>'final_status')::int END",
                           0, 0),
                     0);
    /* queue by DNIS, agent by the first answering extension */
    assert_int_equal(
        q_int(f, "SELECT count(*) FROM calls WHERE queue_id = 7", 0, 0),
        q_int(f, "SELECT count(*) FROM t_doc WHERE doc->>'dnis' = '+18005550101'", 0, 0));
    assert_true(q_int(f, "SELECT count(*) FROM calls WHERE queue_id = 7", 0, 0) > 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM calls WHERE agent_id = 44", 0, 0),
                     q_int(f, "SELECT count(*) FROM t_doc WHERE doc->'agents'->>0 = '2044'", 0, 0));
    assert_int_equal(q_int(f, "SELECT count(*) FROM calls WHERE agent_id = 44", 0, 0), 1);

    /* legs: keys, users and times */
    assert_int_equal(
        q_int(f,
              "SELECT count(*) FROM t_doc d, jsonb_array_elements(d.doc->'legs') j"
              " JOIN legs l ON l.call_id = j->>'call_id'"
              " AND l.from_tag IS NOT DISTINCT FROM j->>'from_tag' WHERE l.call_uuid = d.uuid"
              " AND l.role = j->>'role' AND l.from_user = j->>'from_user'"
              " AND l.to_user = j->>'to_user' AND l.transport = j->>'transport'"
              " AND cs_epoch_us(l.invite_at) = (j->>'invite_us')::bigint"
              " AND cs_epoch_us(l.answered_at) IS NOT DISTINCT FROM (j->>'answer_us')::bigint"
              " AND cs_epoch_us(l.ended_at) IS NOT DISTINCT FROM (j->>'end_us')::bigint"
              " AND l.final_status IS NOT DISTINCT FROM (j->>'final_status')::int",
              0, 0),
        count(f, "legs"));
    /* SIP events: method/status, CSeq, time to the µs, addresses, ordered per leg */
    assert_int_equal(
        q_int(f,
              "SELECT count(*) FROM (SELECT l.id leg, j->>'at_us' t_us, j->>'method' m,"
              "  j->>'status' st, j->>'cseq' cs, CASE WHEN j->>'dir' LIKE '[%'"
              "  THEN split_part(substr(j->>'dir', 2), ']', 1) ELSE split_part(j->>'dir', ':', 1) "
              "END src"
              "  FROM t_doc d, jsonb_array_elements(d.doc->'legs') lj,"
              "  jsonb_array_elements(lj->'events') j, legs l"
              "  WHERE l.call_uuid = d.uuid AND l.call_id = lj->>'call_id'"
              "  AND l.from_tag IS NOT DISTINCT FROM lj->>'from_tag') x"
              " JOIN sip_events e ON e.leg_id = x.leg AND cs_epoch_us(e.at) = x.t_us::bigint"
              " AND e.method IS NOT DISTINCT FROM x.m AND e.status::text IS NOT DISTINCT FROM x.st"
              " AND e.cseq::text = x.cs AND host(e.src_ip) = x.src",
              0, 0),
        count(f, "sip_events"));
    /* directions: an inbound leg's initial INVITE goes to the PBX, its
     * responses come from it (up to the 2xx) */
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM sip_events e JOIN legs l ON l.id = e.leg_id"
                           " WHERE l.role = 'inbound' AND e.cseq_method = 'INVITE' AND e.at <="
                           " coalesce(l.answered_at, 'infinity') AND"
                           " ((e.method = 'INVITE' AND e.direction <> 'to_pbx') OR"
                           " (e.status >= 100 AND e.direction <> 'from_pbx'))",
                           0, 0),
                     0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM sip_events WHERE direction = 'unknown'", 0, 0),
                     0);
    /* the hold: a re-INVITE a=sendonly the PBX sent to the customer */
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM sip_events e JOIN legs l ON l.id = e.leg_id"
                           " WHERE l.role = 'inbound' AND e.summary = 're-INVITE sdp a=sendonly'"
                           " AND e.direction = 'from_pbx'",
                           0, 0),
                     1);

    /* streams: SSRC, 5-tuple, codec, counts, times */
    assert_int_equal(
        q_int(f,
              "SELECT count(*) FROM t_doc d, jsonb_array_elements(d.doc->'streams') j"
              " JOIN rtp_streams s ON s.ssrc = ('x' || lpad(substr(j->>'ssrc', 3), 16, '0'))"
              "::bit(64)::bigint AND s.src_ip = (j->>'src')::inet"
              " AND s.src_port = (j->>'src_port')::int WHERE s.call_uuid = d.uuid"
              " AND s.dst_ip = (j->>'dst')::inet AND s.dst_port = (j->>'dst_port')::int"
              " AND s.direction = j->>'direction' AND s.codec = j->>'codec'"
              " AND s.clock_rate = (j->>'clock_rate')::int"
              " AND s.packets = (j->>'packets')::bigint AND s.bytes = (j->>'bytes')::bigint"
              " AND s.lost = (j->>'lost')::bigint AND s.duplicates = (j->>'duplicates')::bigint"
              " AND s.out_of_order = (j->>'out_of_order')::bigint"
              " AND s.jitter_ms = (j->>'jitter_ms')::float8"
              " AND s.payload_types = ARRAY(SELECT jsonb_array_elements_text(j->'payload_types')"
              "::smallint)"
              " AND cs_epoch_us(s.first_at) = (j->>'first_us')::bigint"
              " AND cs_epoch_us(s.last_at) = (j->>'last_us')::bigint",
              0, 0),
        38);
    assert_true(q_int(f, "SELECT sum(packets) FROM rtp_streams", 0, 0) > 10000);
    /* RTCP about a stream is what its receiver reported: the report blocks
     * sent by the reverse stream's sender (same leg, opposite direction) */
    assert_int_equal(
        q_int(f,
              "SELECT count(*) FROM t_doc d, jsonb_array_elements(d.doc->'streams') j"
              " JOIN rtp_streams s ON s.ssrc = ('x' || lpad(substr(j->>'ssrc', 3), 16, '0'))"
              "::bit(64)::bigint AND s.src_port = (j->>'src_port')::int"
              " LEFT JOIN LATERAL (SELECT r->'rtcp' rt FROM jsonb_array_elements(d.doc->'streams')"
              " r WHERE r->>'leg' = j->>'leg' AND r->>'direction' = CASE j->>'direction'"
              " WHEN 'customer_to_pbx' THEN 'pbx_to_customer' WHEN 'pbx_to_customer' THEN"
              " 'customer_to_pbx' WHEN 'agent_to_pbx' THEN 'pbx_to_agent' WHEN 'pbx_to_agent'"
              " THEN 'agent_to_pbx' END LIMIT 1) rv ON true WHERE s.call_uuid = d.uuid AND ("
              " s.rtcp_cum_lost IS DISTINCT FROM (rv.rt->>'last_cumulative_lost')::bigint OR"
              " s.rtcp_loss_fraction IS DISTINCT FROM (rv.rt->>'last_fraction_lost')::float8 / 256"
              " OR s.rtcp_reports <> coalesce(CASE WHEN rv.rt->>'last_fraction_lost' IS NOT NULL"
              " THEN (rv.rt->>'sr')::int + (rv.rt->>'rr')::int END, 0) OR"
              " abs(coalesce(s.rtcp_jitter_ms, -1) - coalesce((rv.rt->>'last_jitter')::float8 *"
              " 1000 / s.clock_rate, -1)) > 1e-9)",
              0, 0),
        0);
    int64_t with_rtcp =
        q_int(f, "SELECT count(*) FROM rtp_streams WHERE rtcp_loss_fraction IS NOT NULL", 0, 0);
    assert_true(with_rtcp > 0);
    print_message("streams with RTCP reports from their receiver: %lld\n", (long long)with_rtcp);
    /* the decode result of the stream marked undecodable */
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM rtp_streams WHERE decode_status ="
                           " 'unsupported_codec' AND decode_reason LIKE 'payload type 96 %'",
                           0, 0),
                     1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM rtp_streams WHERE decode_status = 'ok'", 0, 0),
                     37);

    /* DTMF: the digit sequence of the document, the third digit masked */
    char *want = q_text(f,
                        "SELECT string_agg(CASE WHEN o = 3 THEN '-' ELSE e->>'digit' END, ''"
                        " ORDER BY o) FROM t_doc, jsonb_array_elements(doc->'dtmf')"
                        " WITH ORDINALITY AS x(e, o)",
                        NULL);
    char *got =
        q_text(f, "SELECT string_agg(coalesce(digit, '-'), '' ORDER BY at) FROM dtmf_events", NULL);
    assert_int_equal(strlen(want), 18);
    assert_string_equal(got, want);
    print_message("dtmf: %s\n", got);
    free(want);
    free(got);
    assert_int_equal(q_int(f, "SELECT count(*) FROM dtmf_events WHERE masked", 0, 0), 1);
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM dtmf_events e JOIN rtp_streams s ON"
                           " s.id = e.stream_id AND s.call_uuid = e.call_uuid",
                           0, 0),
                     18);
    /* hold and transfer */
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM holds h JOIN t_doc d ON d.uuid = h.call_uuid,"
                           " jsonb_array_elements(d.doc->'holds') j WHERE"
                           " cs_epoch_us(h.start_at) = (j->>'start_us')::bigint AND"
                           " cs_epoch_us(h.end_at) = (j->>'end_us')::bigint AND h.held_by ="
                           " j->>'by' AND h.leg_id IS NOT NULL",
                           0, 0),
                     1);
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM transfers WHERE mechanism = 'refer' AND"
                           " from_extension = '2005' AND to_extension = '2073' AND"
                           " to_agent_id = 73 AND from_agent_id IS NULL",
                           0, 0),
                     1);

    /* one transcribe job per recorded call, naming it */
    assert_int_equal(count(f, "jobs"), with_media);
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM jobs j JOIN recordings r ON r.call_uuid ="
                           " j.call_uuid WHERE j.kind = 'transcribe' AND j.state = 'queued' AND"
                           " (j.payload->>'call_uuid')::uuid = j.call_uuid",
                           0, 0),
                     with_media);

    /* the recordings and their chain */
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM recordings WHERE chain_hash IS NOT NULL AND"
                           " path = to_char(started_at AT TIME ZONE 'UTC', '\"2024/03/04/\"')"
                           " || call_uuid || '.flac' AND format = 'flac' AND channels = 2 AND"
                           " sample_rate = 8000",
                           0, 0),
                     with_media);
    assert_int_equal(q_int(f, "SELECT min(seq) FROM recordings", 0, 0), 1);
    assert_int_equal(q_int(f, "SELECT max(seq) FROM recordings", 0, 0), with_media);
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM recordings r LEFT JOIN recordings p ON"
                           " p.seq = r.seq - 1 WHERE r.prev_chain_hash IS DISTINCT FROM"
                           " coalesce(p.chain_hash, decode(repeat('00', 32), 'hex'))"
                           " OR r.chain_hash <> cs_recording_chain_hash(r.prev_chain_hash, r.seq,"
                           " r.call_uuid, r.sha256, r.format, r.sample_rate, r.channels,"
                           " r.duration_ms, r.bytes, r.created_at)",
                           0, 0),
                     0);
    /* seq follows the order of the stores (the calls were stored sorted by uuid) */
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM (SELECT seq, row_number() OVER (ORDER BY"
                           " call_uuid::text) rn FROM recordings) x WHERE seq <> rn",
                           0, 0),
                     0);
    /* talk segments relative to the recording */
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM talk_segments WHERE channel = 1 AND start_ms ="
                           " 100 AND end_ms = 900",
                           0, 0),
                     with_media);
}

static void test_store_twice_identical(void **state)
{
    fx *f = *state;
    store_all(f, "first", 0);
    char *fp1 = fingerprint(f);
    char *chain1 = q_text(f,
                          "SELECT string_agg(seq || encode(chain_hash, 'hex'), ',' ORDER BY seq)"
                          " FROM recordings",
                          NULL);
    int64_t jobs1 = count(f, "jobs"), recs1 = count(f, "recordings");
    int64_t legs1 = count(f, "legs"), ev1 = count(f, "sip_events");

    /* the same calls again, with the same files */
    store_all(f, "first", 1);
    char *fp2 = fingerprint(f);
    char *chain2 = q_text(f,
                          "SELECT string_agg(seq || encode(chain_hash, 'hex'), ',' ORDER BY seq)"
                          " FROM recordings",
                          NULL);
    assert_string_equal(fp1, fp2);
    assert_string_equal(chain1, chain2);
    assert_int_equal(count(f, "jobs"), jobs1);
    assert_int_equal(count(f, "recordings"), recs1);
    assert_int_equal(count(f, "legs"), legs1);
    assert_int_equal(count(f, "sip_events"), ev1);
    assert_int_equal(count(f, "calls"), (int64_t)S.n);
    print_message("stored twice: %lld calls, %lld legs, %lld SIP events, %lld recordings,"
                  " %lld jobs, fingerprint %s\n",
                  (long long)S.n, (long long)legs1, (long long)ev1, (long long)recs1,
                  (long long)jobs1, fp2);

    /* an archived call stored again with another file digest: the chained
     * row is kept and the caller is told */
    int k = first_two_stream_call();
    const callinfo *ci = S.ci[k];
    char *sha1 = q_text(
        f, "SELECT encode(sha256, 'hex') FROM recordings WHERE call_uuid = $1::uuid", ci->uuid);
    fab fb;
    store_call_in in;
    fabricate(ci, "second", &fb, &in);
    assert_string_not_equal(fb.rec.sha256_hex, sha1);
    store_call_out out;
    assert_int_equal(store_call(f->c, &in, &out), CS_OK);
    assert_int_equal(out.already_archived, 1);
    assert_int_equal(out.sha_differs, 1);
    assert_string_equal(out.recording.sha256_hex, sha1);
    assert_string_equal(out.recording.path, fb.rec.path);
    char *sha2 = q_text(
        f, "SELECT encode(sha256, 'hex') FROM recordings WHERE call_uuid = $1::uuid", ci->uuid);
    assert_string_equal(sha2, sha1);
    assert_int_equal(count(f, "recordings"), recs1);

    /* the worker that skipped rewriting passes no file: same answer, no mismatch */
    in.rec = NULL;
    assert_int_equal(store_call(f->c, &in, &out), CS_OK);
    assert_int_equal(out.already_archived, 1);
    assert_int_equal(out.sha_differs, 0);
    assert_string_equal(out.recording.sha256_hex, sha1);
    assert_true(out.job_id > 0);
    assert_int_equal(count(f, "jobs"), jobs1);

    /* store_recording_get sees the same row */
    store_recording rec;
    assert_int_equal(store_recording_get(f->c, ci->uuid, &rec), CS_OK);
    assert_string_equal(rec.sha256_hex, sha1);
    assert_int_equal(rec.started_us, ci->invite_us);
    assert_int_equal(rec.duration_ms, ci->duration_us / 1000);
    assert_int_equal(rec.sample_rate, 8000);
    assert_int_equal(rec.channels, 2);
    assert_string_equal(rec.format, "flac");
    assert_int_equal(store_recording_get(f->c, "00000000-0000-4000-8000-000000000000", &rec),
                     CS_ERR_NOTFOUND);
    assert_int_equal(store_recording_get(f->c, "not-a-uuid", &rec), CS_ERR_INVAL);

    free(fp1);
    free(fp2);
    free(chain1);
    free(chain2);
    free(sha1);
    free(sha2);
}

static void assert_empty(fx *f)
{
    static const char *const tables[] = {"calls",       "legs",      "sip_events", "rtp_streams",
                                         "dtmf_events", "holds",     "transfers",  "talk_segments",
                                         "jobs",        "recordings"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (count(f, tables[i]) != 0)
            fail_msg("%s is not empty after a failed store", tables[i]);
}

static void test_rollback(void **state)
{
    fx *f = *state;
    /* the call with DTMF: it writes every kind of child row */
    int k = -1;
    for (size_t i = 0; i < S.n; i++)
        if (S.ci[i]->ndtmf > 0)
            k = (int)i;
    assert_true(k >= 0);
    const callinfo *ci = S.ci[k];
    fab fb;
    store_call_in in;
    store_call_out out;

    /* a bad value in the last statement (recordings.sample_rate >= 8000) */
    fabricate(ci, "first", &fb, &in);
    fb.rec.sample_rate = 4000;
    int rc = store_call(f->c, &in, &out);
    assert_int_equal(rc, CS_ERR_DB);
    assert_string_equal(out.sqlstate, "23514");
    assert_false(store_err_retryable(rc));
    assert_non_null(strstr(out.msg, "recordings"));
    print_message("rejected: %s\n", out.msg);
    assert_empty(f);
    assert_int_equal(db_in_transaction(f->c), 0);

    /* a bad value in the middle (talk segment channel 3) */
    fabricate(ci, "first", &fb, &in);
    fb.seg[1].channel = 3;
    rc = store_call(f->c, &in, &out);
    assert_int_equal(rc, CS_ERR_DB);
    assert_string_equal(out.sqlstate, "23514");
    assert_non_null(strstr(out.msg, "talk_segments"));
    assert_empty(f);

    /* stored properly, then a failing re-store leaves the first rows intact
     * (its deletes are rolled back too) */
    fabricate(ci, "first", &fb, &in);
    assert_int_equal(store_call(f->c, &in, &out), CS_OK);
    char *fp1 = fingerprint(f);
    int64_t legs = count(f, "legs"), dtmf = count(f, "dtmf_events");
    assert_true(legs > 0 && dtmf == (int64_t)ci->ndtmf);
    fabricate(ci, "first", &fb, &in);
    fb.seg[0].end_ms = fb.seg[0].start_ms; /* end_ms > start_ms violated */
    assert_int_equal(store_call(f->c, &in, &out), CS_ERR_DB);
    char *fp2 = fingerprint(f);
    assert_string_equal(fp1, fp2);
    assert_int_equal(count(f, "legs"), legs);
    assert_int_equal(count(f, "dtmf_events"), dtmf);
    free(fp1);
    free(fp2);
}

static void test_connection_lost(void **state)
{
    fx *f = *state;
    const callinfo *ci = S.ci[first_two_stream_call()];
    db_conn *admin = NULL;
    assert_int_equal(db_connect(f->conninfo, "test_store_admin", &admin), CS_OK);
    char pid[24];
    snprintf(pid, sizeof pid, "%d", db_backend_pid(f->c));
    const char *p[1] = {pid};
    assert_int_equal(db_command(admin, "SELECT pg_terminate_backend($1::int, 5000)", 1, p, NULL),
                     CS_OK);
    fab fb;
    store_call_in in;
    store_call_out out;
    fabricate(ci, "first", &fb, &in);
    int rc = store_call(f->c, &in, &out);
    assert_int_equal(rc, CS_ERR_DB_CONN);
    assert_true(store_err_retryable(rc));
    print_message("connection lost: %s\n", out.msg);
    db_result *r = NULL;
    assert_int_equal(db_query(admin, "SELECT count(*) FROM calls", 0, NULL, &r), CS_OK);
    assert_string_equal(db_result_value(r, 0, 0), "0");
    db_result_free(r);
    /* the caller reconnects and stores the same call */
    assert_int_equal(db_ensure(f->c, NULL), CS_OK);
    assert_int_equal(store_call(f->c, &in, &out), CS_OK);
    assert_int_equal(count(f, "calls"), 1);
    assert_int_equal(count(f, "recordings"), 1);
    assert_int_equal(count(f, "jobs"), 1);
    db_close(admin);
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    store_call_out out;
    store_call_in in = {0};
    assert_int_equal(store_call(f->c, NULL, &out), CS_ERR_INVAL);
    assert_int_equal(store_call(f->c, &in, &out), CS_ERR_INVAL);
    assert_int_equal(store_call(NULL, &in, &out), CS_ERR_INVAL);
    assert_int_equal(store_call(f->c, &in, NULL), CS_ERR_INVAL);
    /* a uuid that is not canonical lowercase never reaches the database */
    callinfo copy = *S.ci[0];
    char upper[40];
    snprintf(upper, sizeof upper, "%s", copy.uuid);
    for (char *s = upper; *s; s++)
        if (*s >= 'a' && *s <= 'f')
            *s = (char)(*s - 'a' + 'A');
    copy.uuid = upper;
    in.call = &copy;
    assert_int_equal(store_call(f->c, &in, &out), CS_ERR_INVAL);
    assert_int_equal(count(f, "calls"), 0);
    /* inside an open transaction: refused, not joined */
    exec_ok(f, "BEGIN");
    in.call = S.ci[0];
    assert_int_equal(store_call(f->c, &in, &out), CS_ERR_STATE);
    exec_ok(f, "ROLLBACK");
    assert_string_equal(store_decode_status_name(STORE_DEC_UNSUPPORTED_CODEC), "unsupported_codec");
    assert_null(store_decode_status_name((store_decode_status)7));
    assert_false(store_err_retryable(CS_ERR_DB));
    assert_true(store_err_retryable(CS_ERR_BUSY));
}

/* A call.json whose end is unknown (null end_us) is still stored: ended_at
 * = invite + duration, flagged end_unknown. */
static void test_unknown_end(void **state)
{
    fx *f = *state;
    callinfo copy = *S.ci[first_two_stream_call()];
    int64_t want = copy.invite_us + copy.duration_us;
    copy.end_us = CI_NONE;
    fab fb;
    store_call_in in;
    store_call_out out;
    fabricate(&copy, "first", &fb, &in);
    assert_int_equal(store_call(f->c, &in, &out), CS_OK);
    char us[24];
    snprintf(us, sizeof us, "%lld", (long long)want);
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM calls WHERE cs_epoch_us(ended_at) = $1::bigint"
                           " AND 'end_unknown' = ANY (flags)",
                           us, NULL),
                     1);
    assert_int_equal(q_int(f, "SELECT duration_ms FROM calls", NULL, NULL),
                     copy.duration_us / 1000);
}

/* Four worker processes store the calls at once (call i by worker i % 4),
 * each on its own connection: every call stored once, the chain has no gap
 * and no fork (the recording is the last statement; the trigger's lock
 * orders the writers). */
static void test_concurrent_workers(void **state)
{
    fx *f = *state;
    enum { WORKERS = 4 };
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        assert_true(pids[w] >= 0);
        if (pids[w] == 0) {
            db_conn *c = NULL;
            if (db_connect(f->conninfo, "test_store_worker", &c) != CS_OK)
                _exit(2);
            for (size_t i = (size_t)w; i < S.n; i += WORKERS) {
                fab fb;
                store_call_in in;
                store_call_out out;
                fabricate(S.ci[i], "first", &fb, &in);
                int rc = store_call(c, &in, &out);
                if (rc != CS_OK) {
                    fprintf(stderr, "worker %d: %s: %s\n", w, cs_err_name(rc), out.msg);
                    _exit(3);
                }
            }
            db_close(c);
            _exit(0);
        }
    }
    for (int w = 0; w < WORKERS; w++) {
        int st = 0;
        assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    assert_int_equal(count(f, "calls"), (int64_t)S.n);
    assert_int_equal(count(f, "recordings"), 15);
    assert_int_equal(count(f, "jobs"), 15);
    assert_int_equal(q_int(f, "SELECT max(seq) FROM recordings", 0, 0), 15);
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM recordings r LEFT JOIN recordings p ON"
                           " p.seq = r.seq - 1 WHERE r.prev_chain_hash IS DISTINCT FROM"
                           " coalesce(p.chain_hash, decode(repeat('00', 32), 'hex'))"
                           " OR r.chain_hash <> cs_recording_chain_hash(r.prev_chain_hash, r.seq,"
                           " r.call_uuid, r.sha256, r.format, r.sample_rate, r.channels,"
                           " r.duration_ms, r.bytes, r.created_at)",
                           0, 0),
                     0);
    /* chain order is time order */
    assert_int_equal(q_int(f,
                           "SELECT count(*) FROM recordings r JOIN recordings p ON p.seq ="
                           " r.seq - 1 WHERE r.created_at < p.created_at",
                           0, 0),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_sample, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_twice_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_workers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
