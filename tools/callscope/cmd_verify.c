/*
 * cmd_verify.c — `callscope verify`: the compliance officer's proof that the
 * archive was not altered.
 *
 * What it does. In one read-only REPEATABLE READ transaction (so the walk
 * sees one snapshot however long it takes, and never writes), it reads the
 * recordings table through a cursor in seq order, from the first row to the
 * last, and for every row:
 *   1. recomputes its chain hash in C (decode/chain.h, the formula of the
 *      database trigger, not the SQL function, which a tamperer could have
 *      replaced) and checks the link: seq is the previous seq + 1 and
 *      prev_chain_hash is the previous row's stored chain_hash. A mismatch
 *      of the recomputed hash pins an EDITED row; a seq gap pins DELETED rows
 *      (between which seqs); a prev mismatch alone a cut link.
 *   2. when the row is inside --from/--to (by recordings.started_at, the
 *      call time) and its file was not purged (deleted_at IS NULL), re-hashes
 *      the file under the archive root (decode/archive.h,
 *      archive_verify_file) and compares SHA-256 and size: a flipped byte is
 *      a "hash mismatch", a truncated or extended file a "size mismatch", an
 *      absent one "missing".
 * The whole chain is always walked from seq 1, because a link can only be
 * checked from the start; --from/--to restrict which files are re-hashed and
 * which rows are reported. A chain fault outside the range is not listed,
 * but a warning on stderr counts it and it still makes the exit status 1:
 * a broken chain puts the rows after it in doubt.
 *
 * Output (stdout). table: one line per problem (SEQ, CALL, PROBLEM, DETAIL)
 * and the summary line "verified N recordings (N files re-hashed): N
 * problems" after the chain head. csv: a header and one record per problem
 * (RFC 4180 quoting); the summary goes to stderr. json: one object
 * {"problems": [...], "verified": N, ...}; the summary line goes to stderr.
 * Problems are streamed as they are found (memory does not grow with the
 * archive). Progress goes to the log (stderr) every verify.progress_rows
 * rows and at least every 10 s.
 *
 * What it does not do. It cannot see rows removed from the END of the chain,
 * nor a tail re-forged after an edit (every later row rewritten with fresh
 * hashes): only a copy of the chain head kept outside the database catches
 * those, which is why the head (seq, chain_hash) is printed every time.
 *
 * Exit codes: 0 the chain and every file checked are intact; 1 problems
 * found; 2 usage (bad --from/--to, extra arguments); 3 configuration; 4
 * environment: database unreachable or without the schema, archive root
 * missing, walk interrupted by a signal or a lost connection (nothing
 * proven).
 *
 * SECURITY. The rows are data a tamperer may have written: every field is
 * parsed with bounds (hex digests by chain_hex_parse, numbers by the typed
 * getters), a path with a ".." component is refused by archive_verify_file
 * and reported as a problem, and nothing read from the database becomes SQL
 * (every statement is constant).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "archive.h"
#include "chain.h"
#include "cli.h"
#include "cli_time.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "stage.h"

#define VERIFY_FETCH         "1000"
#define VERIFY_PROGRESS_SECS 10
#define VERIFY_DETAIL_MAX    512

/* ---- time arguments: cli_time.h ------------------------------------------ */

/* ---- problems and output -------------------------------------------------- */

typedef struct vproblem {
    int64_t seq;      /* the row concerned; for deleted rows the first missing seq */
    int64_t seq_last; /* deleted rows: the last missing seq; else == seq */
    int64_t prev_seq; /* deleted rows: the row before the gap (0: none); else -1 */
    int64_t next_seq; /* deleted rows: the row after the gap; else -1 */
    const char *call; /* call uuid, or NULL (deleted rows) */
    const char *path; /* archive path (as stored), or NULL */
    const char *kind; /* "row edited", "rows deleted", "link broken", "row invalid",
                         "missing", "size mismatch", "hash mismatch", "unreadable", "bad path" */
    const char *detail;
} vproblem;

typedef struct vout {
    int format;
    FILE *f;
    int64_t nproblems;
    int header_done;
} vout;

static void csv_field(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void out_begin(vout *o)
{
    if (o->format == CLI_FORMAT_JSON)
        fputs("{\"problems\": [", o->f);
    else if (o->format == CLI_FORMAT_CSV)
        fputs("seq,seq_last,call_uuid,path,problem,detail\n", o->f);
}

static void out_problem(vout *o, const vproblem *p)
{
    o->nproblems++;
    if (o->format == CLI_FORMAT_JSON) {
        json_w *w = json_w_new(0, 64 * 1024);
        if (!w)
            return;
        json_obj_begin(w);
        json_kv_int(w, "seq", p->seq);
        json_kv_int(w, "seq_last", p->seq_last);
        if (p->prev_seq >= 0) {
            json_kv_int(w, "prev_seq", p->prev_seq);
            json_kv_int(w, "next_seq", p->next_seq);
        }
        json_kv_str(w, "call_uuid", p->call);
        json_kv_str(w, "path", p->path);
        json_kv_str(w, "problem", p->kind);
        json_kv_str(w, "detail", p->detail);
        json_obj_end(w);
        size_t len = 0;
        const char *t = json_w_data(w, &len);
        if (json_w_error(w) == CS_OK)
            fprintf(o->f, "%s\n  %.*s", o->nproblems > 1 ? "," : "", (int)len, t);
        json_w_free(w);
    } else if (o->format == CLI_FORMAT_CSV) {
        fprintf(o->f, "%" PRId64 ",%" PRId64 ",", p->seq, p->seq_last);
        csv_field(o->f, p->call);
        fputc(',', o->f);
        csv_field(o->f, p->path);
        fputc(',', o->f);
        csv_field(o->f, p->kind);
        fputc(',', o->f);
        csv_field(o->f, p->detail);
        fputc('\n', o->f);
    } else {
        if (!o->header_done) {
            fprintf(o->f, "%-12s %-36s %-14s %s\n", "SEQ", "CALL", "PROBLEM", "DETAIL");
            o->header_done = 1;
        }
        char seq[48];
        if (p->seq_last != p->seq)
            snprintf(seq, sizeof seq, "%" PRId64 "-%" PRId64, p->seq, p->seq_last);
        else
            snprintf(seq, sizeof seq, "%" PRId64, p->seq);
        fprintf(o->f, "%-12s %-36s %-14s %s\n", seq, p->call ? p->call : "-", p->kind, p->detail);
    }
}

/* ---- the walk ------------------------------------------------------------- */

typedef struct vstate {
    const char *root;
    int64_t from_us, to_us; /* [from, to) over started_at; INT64_MIN / INT64_MAX: open */
    int ranged;
    int64_t progress_rows;
    vout out;
    /* chain position */
    int64_t expect_seq;
    uint8_t expect_prev[CHAIN_HASH_LEN];
    int prev_in_range; /* the previous row was inside the range (1 before any row) */
    /* counts */
    int64_t rows;          /* rows walked (whole chain) */
    int64_t verified;      /* rows inside the range */
    int64_t rehashed;      /* files read and hashed */
    int64_t purged;        /* rows in range whose file was purged (not checked) */
    int64_t hidden_faults; /* chain faults outside the range (not listed) */
    int64_t head_seq;
    uint8_t head_hash[CHAIN_HASH_LEN];
    /* progress */
    struct timespec last_progress;
} vstate;

static void report(vstate *v, int listed, const vproblem *p)
{
    if (listed)
        out_problem(&v->out, p);
    else
        v->hidden_faults++;
}

static void progress(vstate *v)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (v->rows % v->progress_rows != 0 &&
        now.tv_sec - v->last_progress.tv_sec < VERIFY_PROGRESS_SECS)
        return;
    v->last_progress = now;
    cs_info("verify: %" PRId64 " rows walked (at seq %" PRId64 "), %" PRId64
            " files re-hashed, %" PRId64 " problems so far",
            v->rows, v->head_seq, v->rehashed, v->out.nproblems + v->hidden_faults);
}

/* One row of the cursor: checks its chain link and, in range, its file. */
static void verify_row(vstate *v, const db_result *res, int i)
{
    chain_row r;
    memset(&r, 0, sizeof r);
    int64_t started_us = 0;
    int deleted = 0, channels = 0;
    const char *uuid = db_result_value(res, i, 3);
    const char *path = db_result_value(res, i, 11);
    char detail[VERIFY_DETAIL_MAX];
    const char *bad = NULL;

    if (db_result_int64(res, i, 0, &r.seq) != CS_OK)
        bad = "seq";
    else if (chain_hex_parse(db_result_value(res, i, 1), db_result_len(res, i, 1),
                             r.prev_chain_hash) != CS_OK)
        bad = "prev_chain_hash";
    else if (chain_hex_parse(db_result_value(res, i, 2), db_result_len(res, i, 2), r.chain_hash) !=
             CS_OK)
        bad = "chain_hash";
    else if (!uuid)
        bad = "call_uuid";
    else if (chain_hex_parse(db_result_value(res, i, 4), db_result_len(res, i, 4), r.sha256) !=
             CS_OK)
        bad = "sha256";
    else if (!(r.format = db_result_value(res, i, 5)))
        bad = "format";
    else if (db_result_int(res, i, 6, &r.sample_rate) != CS_OK)
        bad = "sample_rate";
    else if (db_result_int(res, i, 7, &channels) != CS_OK || channels < INT16_MIN ||
             channels > INT16_MAX)
        bad = "channels";
    else if (db_result_int(res, i, 8, &r.duration_ms) != CS_OK)
        bad = "duration_ms";
    else if (db_result_int64(res, i, 9, &r.bytes) != CS_OK)
        bad = "bytes";
    else if (db_result_int64(res, i, 10, &r.created_at_us) != CS_OK)
        bad = "created_at";
    else if (!path)
        bad = "path";
    else if (db_result_bool(res, i, 12, &deleted) != CS_OK)
        bad = "deleted_at";
    else if (db_result_int64(res, i, 13, &started_us) != CS_OK)
        bad = "started_at";
    r.call_uuid = uuid;
    r.channels = (int16_t)channels;

    v->rows++;
    int in_range = !bad && started_us >= v->from_us && started_us < v->to_us;
    if (bad) {
        /* Cannot place the row in the range: always list it. */
        snprintf(detail, sizeof detail,
                 "seq %" PRId64 ": unreadable %s column; the link to the next "
                 "row is checked against its stored chain_hash",
                 r.seq, bad);
        vproblem p = {r.seq, r.seq, -1, -1, uuid, path, "row invalid", detail};
        report(v, 1, &p);
        v->expect_seq = r.seq + 1;
        memcpy(v->expect_prev, r.chain_hash, CHAIN_HASH_LEN);
        v->prev_in_range = 1;
        v->head_seq = r.seq;
        memcpy(v->head_hash, r.chain_hash, CHAIN_HASH_LEN);
        return;
    }
    v->verified += in_range;

    unsigned faults = 0;
    int rc = chain_check_link(v->expect_seq, v->expect_prev, &r, &faults);
    if (rc == CS_ERR_INVAL) {
        snprintf(detail, sizeof detail,
                 "seq %" PRId64 ": fields the chain formula cannot take (uuid '%s', format '%s')",
                 r.seq, uuid, r.format);
        vproblem p = {r.seq, r.seq, -1, -1, uuid, path, "row invalid", detail};
        report(v, in_range, &p);
    } else if (rc != CS_OK && rc != CS_ERR_INTEGRITY) {
        snprintf(detail, sizeof detail, "seq %" PRId64 ": chain hash not computed: %s", r.seq,
                 cs_err_msg(rc));
        vproblem p = {r.seq, r.seq, -1, -1, uuid, path, "row invalid", detail};
        report(v, in_range, &p);
    }
    if (faults & CHAIN_FAULT_SEQ) {
        int64_t prev = v->expect_seq - 1;
        char gap[64];
        if (r.seq - v->expect_seq > 1)
            snprintf(gap, sizeof gap, "seq %" PRId64 "-%" PRId64, v->expect_seq, r.seq - 1);
        else
            snprintf(gap, sizeof gap, "seq %" PRId64, v->expect_seq);
        const char *how =
            (faults & CHAIN_FAULT_PREV) ? "rows deleted" : "rows deleted and the link re-forged";
        if (prev > 0)
            snprintf(detail, sizeof detail,
                     "%s missing between seq %" PRId64 " and seq %" PRId64 ": %s", gap, prev, r.seq,
                     how);
        else
            snprintf(detail, sizeof detail,
                     "%s missing before seq %" PRId64 " (the start of the chain): %s", gap, r.seq,
                     how);
        vproblem p = {v->expect_seq, r.seq - 1, prev, r.seq, NULL, NULL, "rows deleted", detail};
        report(v, in_range || v->prev_in_range, &p);
    } else if (faults & CHAIN_FAULT_PREV) {
        char want[2 * CHAIN_HASH_LEN + 1], got[2 * CHAIN_HASH_LEN + 1];
        chain_hex_format(v->expect_prev, want);
        chain_hex_format(r.prev_chain_hash, got);
        snprintf(detail, sizeof detail,
                 "seq %" PRId64 ": prev_chain_hash %.16s... is not the chain_hash %.16s... of seq "
                 "%" PRId64 ": link cut (a chain_hash replaced)",
                 r.seq, got, want, v->expect_seq - 1);
        vproblem p = {r.seq, r.seq, -1, -1, uuid, path, "link broken", detail};
        report(v, in_range, &p);
    }
    if (faults & CHAIN_FAULT_HASH) {
        uint8_t re[CHAIN_HASH_LEN];
        char got[2 * CHAIN_HASH_LEN + 1], want[2 * CHAIN_HASH_LEN + 1];
        chain_hex_format(r.chain_hash, got);
        if (chain_hash_compute(r.prev_chain_hash, &r, re) == CS_OK)
            chain_hex_format(re, want);
        else
            snprintf(want, sizeof want, "?");
        snprintf(detail, sizeof detail,
                 "seq %" PRId64 " (call %s): its fields hash to %.16s..., the stored chain_hash "
                 "is %.16s...: row edited after it was chained",
                 r.seq, uuid, want, got);
        vproblem p = {r.seq, r.seq, -1, -1, uuid, path, "row edited", detail};
        report(v, in_range, &p);
    }
    v->expect_seq = r.seq + 1;
    memcpy(v->expect_prev, r.chain_hash, CHAIN_HASH_LEN);
    v->prev_in_range = in_range;
    v->head_seq = r.seq;
    memcpy(v->head_hash, r.chain_hash, CHAIN_HASH_LEN);

    if (!in_range)
        return;
    if (deleted) {
        v->purged++;
        return;
    }
    archive_verify_report rep;
    rc = archive_verify_file(v->root, path, r.sha256, r.bytes, &rep);
    if (rc == CS_OK || rep.check == ARCHIVE_CHECK_SIZE || rep.check == ARCHIVE_CHECK_HASH)
        v->rehashed++;
    if (rc == CS_OK)
        return;
    const char *kind = rc == CS_ERR_INVAL ? "bad path" : archive_check_name(rep.check);
    snprintf(detail, sizeof detail, "seq %" PRId64 ": %s", r.seq, rep.msg);
    vproblem p = {r.seq, r.seq, -1, -1, uuid, path, kind, detail};
    report(v, 1, &p);
}

static int db_open(const cli_ctx *ctx, db_conn **out)
{
    char safe[512];
    const char *ci = ctx->cfg->db_conninfo ? ctx->cfg->db_conninfo : "";
    cfg_mask_conninfo(ci, safe, sizeof safe);
    int rc = db_connect(ci, "callscope-verify", out);
    if (rc == CS_ERR_CONFIG) {
        cs_error("db.conninfo '%s' does not parse: %s", safe, db_last_error(*out));
        return CS_EXIT_CONFIG;
    }
    if (rc != CS_OK) {
        db_backoff bo = {
            .initial_ms = 200, .max_ms = 5000, .max_tries = (unsigned)ctx->cfg->db_connect_tries};
        rc = db_ensure(*out, &bo);
    }
    if (rc != CS_OK) {
        cs_error("cannot connect to the database '%s': %s", safe, db_last_error(*out));
        return CS_EXIT_ENV;
    }
    return CS_EXIT_OK;
}

/* A statement failed: say why and choose the exit code. */
static int db_fail(db_conn *c, const char *what)
{
    const char *st = db_last_sqlstate(c);
    if (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0)
        cs_error("verify: %s: %s (is the schema migrated? 'callscope db migrate')", what,
                 db_last_error(c));
    else
        cs_error("verify: %s: %s", what, db_last_error(c));
    return CS_EXIT_ENV;
}

static const char CURSOR_SQL[] =
    "DECLARE cs_verify NO SCROLL CURSOR FOR "
    "SELECT seq, encode(prev_chain_hash, 'hex'), encode(chain_hash, 'hex'), call_uuid::text, "
    "encode(sha256, 'hex'), format, sample_rate, channels, duration_ms, bytes, "
    "(extract(epoch FROM created_at) * 1000000)::bigint, path, deleted_at IS NOT NULL, "
    "(extract(epoch FROM started_at) * 1000000)::bigint "
    "FROM recordings ORDER BY seq";

static int walk(db_conn *c, vstate *v)
{
    if (db_begin_iso(c, DB_REPEATABLE_READ) != CS_OK)
        return db_fail(c, "BEGIN");
    if (db_exec(c, "SET TRANSACTION READ ONLY") != CS_OK || db_exec(c, CURSOR_SQL) != CS_OK) {
        int rc = db_fail(c, "reading recordings");
        db_rollback(c);
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &v->last_progress);
    for (;;) {
        if (cs_stage_stop_requested()) {
            cs_error("verify: interrupted at seq %" PRId64 " after %" PRId64
                     " rows; nothing is proven",
                     v->head_seq, v->rows);
            db_rollback(c);
            return CS_EXIT_ENV;
        }
        db_result *res = NULL;
        if (db_query(c, "FETCH FORWARD " VERIFY_FETCH " FROM cs_verify", 0, NULL, &res) != CS_OK) {
            int rc = db_fail(c, "reading recordings");
            db_rollback(c);
            return rc;
        }
        int n = db_result_rows(res);
        for (int i = 0; i < n; i++) {
            verify_row(v, res, i);
            progress(v);
        }
        db_result_free(res);
        if (n == 0)
            break;
    }
    db_rollback(c); /* read only: nothing to commit */
    return CS_EXIT_OK;
}

int cmd_verify(const cli_ctx *ctx)
{
    if (ctx->nargs != 0) {
        fprintf(stderr, "callscope: usage: callscope verify [--from TIME] [--to TIME] "
                        "[--archive DIR] [--format table|csv|json]\n"
                        "Try 'callscope --help' for more information.\n");
        return CS_EXIT_USAGE;
    }
    vstate v;
    memset(&v, 0, sizeof v);
    v.from_us = INT64_MIN;
    v.to_us = INT64_MAX;
    int date_only = 0;
    if (ctx->from) {
        if (cli_parse_time(ctx->from, &v.from_us, &date_only) != 0) {
            fprintf(stderr,
                    "callscope: --from: '%s' is not YYYY-MM-DD or an ISO 8601 time "
                    "(YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM])\n",
                    ctx->from);
            return CS_EXIT_USAGE;
        }
        v.ranged = 1;
    }
    if (ctx->to) {
        if (cli_parse_time(ctx->to, &v.to_us, &date_only) != 0) {
            fprintf(stderr,
                    "callscope: --to: '%s' is not YYYY-MM-DD or an ISO 8601 time "
                    "(YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM])\n",
                    ctx->to);
            return CS_EXIT_USAGE;
        }
        if (date_only)
            v.to_us += INT64_C(86400000000); /* through the end of that day */
        v.ranged = 1;
    }
    if (v.from_us >= v.to_us) {
        fprintf(stderr, "callscope: --from '%s' is not before --to '%s'\n", ctx->from, ctx->to);
        return CS_EXIT_USAGE;
    }
    v.root = ctx->archive ? ctx->archive : ctx->cfg->archive_dir;
    if (!v.root || !v.root[0]) {
        cs_error("verify: archive.dir is empty; set it or give --archive");
        return CS_EXIT_CONFIG;
    }
    struct stat st;
    if (stat(v.root, &st) != 0) {
        cs_error("verify: archive root %s: %s", v.root, strerror(errno));
        return CS_EXIT_ENV;
    }
    if (!S_ISDIR(st.st_mode)) {
        cs_error("verify: archive root %s: not a directory", v.root);
        return CS_EXIT_ENV;
    }
    v.progress_rows = ctx->cfg->verify_progress_rows > 0 ? ctx->cfg->verify_progress_rows : 100000;
    v.expect_seq = 1;
    v.prev_in_range = 1;
    v.out.format = ctx->format;
    v.out.f = stdout;

    db_conn *c = NULL;
    int rc = db_open(ctx, &c);
    if (rc != CS_EXIT_OK) {
        db_close(c);
        return rc;
    }
    out_begin(&v.out);
    rc = walk(c, &v);
    db_close(c);
    if (rc != CS_EXIT_OK) {
        if (ctx->format == CLI_FORMAT_JSON)
            fputs("\n]}\n", stdout); /* keep what was printed parseable */
        return rc;
    }

    char head[2 * CHAIN_HASH_LEN + 1];
    chain_hex_format(v.head_hash, head);
    char summary[256];
    snprintf(summary, sizeof summary,
             "verified %" PRId64 " recordings (%" PRId64 " files re-hashed): %" PRId64 " problems",
             v.verified, v.rehashed, v.out.nproblems);
    if (ctx->format == CLI_FORMAT_JSON) {
        json_w *w = json_w_new(0, 4096);
        if (w) {
            json_obj_begin(w);
            json_kv_int(w, "verified", v.verified);
            json_kv_int(w, "files_rehashed", v.rehashed);
            json_kv_int(w, "purged", v.purged);
            json_kv_int(w, "problem_count", v.out.nproblems);
            json_kv_int(w, "faults_outside_range", v.hidden_faults);
            json_kv_int(w, "rows_walked", v.rows);
            json_kv_str(w, "from", ctx->from);
            json_kv_str(w, "to", ctx->to);
            json_key(w, "head");
            json_obj_begin(w);
            json_kv_int(w, "seq", v.head_seq);
            json_kv_str(w, "chain_hash", v.rows ? head : NULL);
            json_obj_end(w);
            json_obj_end(w);
            size_t len = 0;
            const char *t = json_w_data(w, &len);
            /* t is "{...}": splice its members after the problems array. */
            if (json_w_error(w) == CS_OK && len >= 2)
                printf("%s],%.*s\n", v.out.nproblems ? "\n" : "", (int)(len - 1), t + 1);
            json_w_free(w);
        }
        fprintf(stderr, "%s\n", summary);
    } else if (ctx->format == CLI_FORMAT_CSV) {
        fprintf(stderr, "%s\n", summary);
    } else {
        if (v.rows)
            printf("chain head: seq %" PRId64 ", chain_hash %s (%" PRId64 " rows walked)\n",
                   v.head_seq, head, v.rows);
        else
            printf("chain head: empty (no recordings)\n");
        printf("%s\n", summary);
    }
    if (v.purged)
        cs_info("verify: %" PRId64 " purged recordings in range had no file to check", v.purged);
    if (v.hidden_faults)
        cs_warn("verify: %" PRId64 " chain fault%s outside --from/--to not listed; run without "
                "them to see %s",
                v.hidden_faults, v.hidden_faults == 1 ? "" : "s",
                v.hidden_faults == 1 ? "it" : "them");
    fflush(stdout);
    return v.out.nproblems || v.hidden_faults ? CS_EXIT_PARTIAL : CS_EXIT_OK;
}
