/*
 * cmd_calls.c — `callscope calls`: list calls from the database, newest
 * first, filtered by time, queue, agent, outcome and by what was said.
 *
 * What it does. One read-only transaction, one SELECT read through a cursor
 * (FETCH CALLS_FETCH rows at a time), so memory does not grow with the
 * answer and --limit 0 over a year of calls streams. Every filter given is
 * ANDed:
 *   --from/--to   calls.invite_at in [from, to) (calls_invite_at_idx). TIME
 *                 is parsed and validated here, never by the server, and
 *                 passed on as a canonical UTC literal: no time zone (as in
 *                 verify) means UTC whatever the server's TimeZone, and a
 *                 bare date in --to means through the end of that day.
 *   --queue       queues.name, case-insensitive (the answer's queue_id).
 *   --agent       the answering agent (calls.agent_id): agents.extension
 *                 exactly, or agents.name case-insensitive. Names are
 *                 resolved first; one that matches nothing is a warning and
 *                 an empty list, not an error (old names stay valid filters).
 *   --outcome     one of the values schema/001_init.sql allows.
 *   --text        utterances.tsv @@ websearch_to_tsquery('english', TEXT),
 *                 which the GIN index utterances_tsv_idx answers; with
 *                 --channel only utterances of that side (1 customer,
 *                 2 agent) count. A call matches when ONE utterance matches
 *                 the whole query (the words said together, by one side);
 *                 the first such utterance (by start_ms) is reported with a
 *                 ts_headline snippet, computed only for the rows printed.
 * Why websearch_to_tsquery and not plainto_tsquery: for plain words both
 * give the same query ('cancel my account' -> 'cancel' & 'account', stop
 * words dropped, words stemmed so "cancelled" finds "cancel"), but
 * websearch_to_tsquery also takes "quoted phrases" (words in order), "or"
 * and -word, the syntax people know from search engines, and like plainto
 * it never raises a syntax error on user input. A query left without
 * lexemes (only stop words) or with nothing that must be present (only
 * -words, which no index can answer) is a usage error (exit 2).
 *
 * SQL. Two constant statements (with and without --text) with $n
 * parameters; an absent filter is a NULL parameter ("$1 IS NULL OR ..."),
 * which the planner folds away because libpq's unnamed statement is planned
 * with its parameter values. No user input ever becomes SQL text.
 * `--explain` prints PostgreSQL's plan of the same statement with the same
 * parameters instead of running it (tests/tools/test-cli-calls.sh checks
 * that --text uses utterances_tsv_idx).
 *
 * Output (stdout). table: aligned columns for people (widths from the first
 * CALLS_FETCH rows), seconds with one decimal, invite time to the second
 * UTC, "-" for none; csv: a header and one record per call, RFC 4180
 * quoting, a field a spreadsheet would run as a formula (=, @, tab, CR, or
 * +/- not followed by a phone number) prefixed with a single quote; json:
 * one array of objects (common/json.h), invite_time ISO 8601 with
 * microseconds in UTC, durations in seconds as numbers (milliseconds
 * exact), absent values null. When --limit cut the list, an info line on
 * stderr says so.
 *
 * Exit codes: 0 listed (also when nothing matched); 1 the statement failed
 * (e.g. statement_timeout) or stdout could not be written; 2 usage (bad
 * --from/--to/--outcome/--channel/--limit/--text, --channel without --text,
 * extra arguments); 3 configuration (conninfo does not parse); 4 the
 * database cannot be reached, the connection was lost, or the schema is
 * missing ('callscope db migrate').
 *
 * Scores: --min-score/--max-score/--failed filter on the latest score row (CALLS_SCORE_FILTERS).
 *
 * SECURITY. The rows are data from the wire (ANI, DNIS, Call-ID are what a
 * SIP peer sent) and from speech recognition: table output replaces control
 * characters, CSV quotes and defuses formulas, JSON escapes (json.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "cli_time.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "stage.h"

#define CALLS_FETCH     "1000"
#define CALLS_LIMIT_MAX INT64_C(1000000000)
#define CALLS_TIME_MAX  80 /* canonical time literal (room for any int) */

/* ---- the statements ------------------------------------------------------- */

/*
 * Columns of both statements, in this order (CALLS_C_*). Durations are
 * integer milliseconds: answer/abandon from the call's timestamps, talk from
 * call_metrics (scoring) when present, else connected time minus hold as
 * call_metrics.talk_ms defines it.
 */
enum {
    CALLS_C_UUID,
    CALLS_C_INVITE,
    CALLS_C_CALL_ID,
    CALLS_C_ANI,
    CALLS_C_DNIS,
    CALLS_C_QUEUE,
    CALLS_C_AGENT,
    CALLS_C_AGENT_EXT,
    CALLS_C_OUTCOME,
    CALLS_C_ANSWER_MS,
    CALLS_C_ABANDON_MS,
    CALLS_C_TALK_MS,
    CALLS_C_HOLD_MS,
    CALLS_C_HOLD_COUNT,
    CALLS_C_TRANSFERS,
    CALLS_C_DURATION_MS,
    CALLS_C_SCORE,  /* effective score of the latest score row (numeric text), NULL if unscored */
    CALLS_C_PASSED, /* "t" / "f", NULL if unscored */
    /* --text only */
    CALLS_C_M_CHANNEL,
    CALLS_C_M_START_MS,
    CALLS_C_M_END_MS,
    CALLS_C_M_TEXT,
    CALLS_C_SORT_AT, /* ordering key of the page, not printed */
    CALLS_C_M_SNIPPET,
    CALLS_C__TEXT_COUNT
};

#define CALLS_COLS                                                                                 \
    "c.uuid::text AS uuid, "                                                                       \
    "to_char(c.invite_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS "             \
    "invite_time, "                                                                                \
    "c.call_id, c.ani, c.dnis, qu.name AS queue, a.name AS agent, a.extension AS "                 \
    "agent_extension, "                                                                            \
    "c.outcome, "                                                                                  \
    "round(extract(epoch FROM c.answered_at - c.invite_at) * 1000)::bigint AS answer_ms, "         \
    "round(extract(epoch FROM c.abandon_at - c.invite_at) * 1000)::bigint AS abandon_ms, "         \
    "COALESCE(cm.talk_ms::bigint, CASE WHEN c.answered_at IS NOT NULL THEN greatest(0, "           \
    "round(extract(epoch FROM c.ended_at - c.answered_at) * 1000)::bigint - c.hold_ms) END) "      \
    "AS talk_ms, "                                                                                 \
    "c.hold_ms, c.hold_count, c.transfer_count, c.duration_ms, "                                   \
    "sc.score::text AS score, sc.passed AS passed"

#define CALLS_JOINS                                                                                \
    " LEFT JOIN queues qu ON qu.id = c.queue_id"                                                   \
    " LEFT JOIN agents a ON a.id = c.agent_id"                                                     \
    " LEFT JOIN call_metrics cm ON cm.call_uuid = c.uuid"                                          \
    " LEFT JOIN LATERAL (SELECT COALESCE(s.reviewed_score, s.auto_score) AS score,"                \
    " COALESCE(s.reviewed_passed, s.passed) AS passed, s.critical_failed FROM scores s"             \
    " WHERE s.call_uuid = c.uuid ORDER BY s.computed_at DESC, s.id DESC LIMIT 1) sc ON true"

/*
 * Score filters ($9 --min-score, $10 --max-score, $11 --failed), ANDed like
 * the others, on the call's latest scores row (sc, CALLS_JOINS): the effective
 * score is COALESCE(reviewed_score, auto_score) and passed likewise; --failed
 * is "not passed, or a critical item failed". CALLS_WHERE is shared by both
 * statements, so CALLS_SQL names $7 and $8 (NULL there) for PostgreSQL to
 * type them.
 */
#define CALLS_SCORE_FILTERS                                                                        \
    " AND ($9::numeric IS NULL OR sc.score >= $9::numeric)"                                        \
    " AND ($10::numeric IS NULL OR sc.score <= $10::numeric)"                                      \
    " AND ($11::boolean IS NULL OR NOT $11::boolean OR NOT sc.passed OR sc.critical_failed)"

#define CALLS_WHERE                                                                                \
    " WHERE ($1::timestamptz IS NULL OR c.invite_at >= $1::timestamptz)"                           \
    " AND ($2::timestamptz IS NULL OR c.invite_at < $2::timestamptz)"                              \
    " AND ($3::bigint[] IS NULL OR c.queue_id = ANY ($3::bigint[]))"                               \
    " AND ($4::bigint[] IS NULL OR c.agent_id = ANY ($4::bigint[]))"                               \
    " AND ($5::text IS NULL OR c.outcome = $5::text)" CALLS_SCORE_FILTERS

#define CALLS_ORDER " ORDER BY c.invite_at DESC, c.uuid LIMIT $6::bigint"

/* $1 from, $2 to, $3 queue ids, $4 agent ids, $5 outcome, $6 limit (NULL: all). */
#define CALLS_SQL                                                                                  \
    "SELECT " CALLS_COLS " FROM calls c" CALLS_JOINS CALLS_WHERE                                   \
    " AND ($7::text IS NULL OR true) AND ($8::smallint IS NULL OR true)" CALLS_ORDER
#define CALLS_NPARAMS 11

/* The same plus $7 the query text, $8 the channel (NULL: both). The
 * DISTINCT ON keeps each call's first matching utterance; the snippet is
 * computed for the page only. */
#define CALLS_TEXT_SQL                                                                             \
    "WITH m AS (SELECT DISTINCT ON (u.call_uuid) u.call_uuid, u.channel, u.start_ms, u.end_ms, "   \
    "u.text FROM utterances u WHERE u.tsv @@ websearch_to_tsquery('english', $7::text) "           \
    "AND ($8::smallint IS NULL OR u.channel = $8::smallint) "                                      \
    "ORDER BY u.call_uuid, u.start_ms, u.channel, u.id), "                                         \
    "page AS (SELECT " CALLS_COLS ", m.channel AS match_channel, m.start_ms AS match_start_ms, "   \
    "m.end_ms AS match_end_ms, m.text AS match_text, c.invite_at AS sort_at "                      \
    "FROM calls c JOIN m ON m.call_uuid = c.uuid" CALLS_JOINS CALLS_WHERE CALLS_ORDER ") "         \
    "SELECT page.*, ts_headline('english', match_text, websearch_to_tsquery('english', "           \
    "$7::text), "                                                                                  \
    "'StartSel=[, StopSel=], MaxWords=10, MinWords=5, ShortWord=0, MaxFragments=2, "               \
    "FragmentDelimiter=\" ... \"') "                                                               \
    "FROM page ORDER BY sort_at DESC, uuid"
#define CALLS_TEXT_NPARAMS 11

static const char CALLS_CURSOR[] = "DECLARE cs_calls NO SCROLL CURSOR FOR " CALLS_SQL;
static const char CALLS_TEXT_CURSOR[] = "DECLARE cs_calls NO SCROLL CURSOR FOR " CALLS_TEXT_SQL;
static const char CALLS_EXPLAIN[] = "EXPLAIN " CALLS_SQL;
static const char CALLS_TEXT_EXPLAIN[] = "EXPLAIN " CALLS_TEXT_SQL;

/* ---- the request ------------------------------------------------------------ */

static const char *const OUTCOMES[] = {"answered",  "abandoned", "busy",
                                       "no_answer", "failed",    NULL};

typedef struct calls_req {
    char from[CALLS_TIME_MAX], to[CALLS_TIME_MAX]; /* canonical literals, "" = open */
    const char *queue, *agent, *outcome, *text;
    char min_score[24], max_score[24]; /* "" = open */
    int failed;    /* --failed */
    int channel;   /* 0 both, 1 customer, 2 agent */
    int64_t limit; /* 0: no limit */
    int explain;
    int format;
} calls_req;

/* Prints "callscope: <message>" and the --help hint; returns CS_EXIT_USAGE. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("callscope: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\nTry 'callscope --help' for more information.\n", stderr);
    va_end(ap);
    return CS_EXIT_USAGE;
}

/* Validates the command line into r. CS_EXIT_OK or CS_EXIT_USAGE (message printed). */
static int calls_parse(const cli_ctx *ctx, calls_req *r)
{
    memset(r, 0, sizeof *r);
    r->format = ctx->format;
    r->explain = ctx->explain;
    r->limit = 100;
    if (ctx->nargs != 0)
        return usage_error("calls takes no arguments ('%s'); filters are options, e.g. --text",
                           ctx->args[0]);
    int64_t from_us = INT64_MIN, to_us = INT64_MAX;
    int date_only = 0;
    if (ctx->from) {
        if (cli_parse_time(ctx->from, &from_us, &date_only) != 0)
            return usage_error("--from: '%s' is not YYYY-MM-DD or an ISO 8601 time "
                               "(YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM]; no offset = UTC)",
                               ctx->from);
        cli_format_utc(from_us, CLI_UTC_PG_US, r->from, sizeof r->from);
    }
    if (ctx->to) {
        if (cli_parse_time(ctx->to, &to_us, &date_only) != 0)
            return usage_error("--to: '%s' is not YYYY-MM-DD or an ISO 8601 time "
                               "(YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM]; no offset = UTC)",
                               ctx->to);
        if (date_only)
            to_us += INT64_C(86400000000); /* a bare date: through the end of that day */
        cli_format_utc(to_us, CLI_UTC_PG_US, r->to, sizeof r->to);
    }
    if (from_us >= to_us) {
        fprintf(stderr, "callscope: --from '%s' is not before --to '%s'\n", ctx->from, ctx->to);
        return CS_EXIT_USAGE;
    }
    if (ctx->queue) {
        if (!ctx->queue[0])
            return usage_error("--queue: empty name");
        r->queue = ctx->queue;
    }
    if (ctx->agent) {
        if (!ctx->agent[0])
            return usage_error("--agent: empty name or extension");
        r->agent = ctx->agent;
    }
    if (ctx->outcome) {
        for (int i = 0; OUTCOMES[i]; i++)
            if (strcmp(ctx->outcome, OUTCOMES[i]) == 0)
                r->outcome = OUTCOMES[i];
        if (!r->outcome)
            return usage_error("--outcome: '%s' is not one of answered, abandoned, busy, "
                               "no_answer, failed",
                               ctx->outcome);
    }
    if (ctx->text) {
        const char *p = ctx->text;
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            return usage_error("--text: empty query");
        r->text = ctx->text;
    }
    if (ctx->channel) {
        if (strcasecmp(ctx->channel, "customer") == 0 || strcmp(ctx->channel, "1") == 0)
            r->channel = 1;
        else if (strcasecmp(ctx->channel, "agent") == 0 || strcmp(ctx->channel, "2") == 0)
            r->channel = 2;
        else
            return usage_error("--channel: '%s' is not customer (1) or agent (2)", ctx->channel);
        if (!r->text)
            return usage_error("--channel %s needs --text: it says which side's words count",
                               ctx->channel);
    }
    static const struct {
        size_t off;
        const char *opt;
    } scores[] = {{offsetof(cli_ctx, min_score), "--min-score"},
                  {offsetof(cli_ctx, max_score), "--max-score"}};
    for (int k = 0; k < 2; k++) {
        const char *v = *(const char *const *)((const char *)ctx + scores[k].off);
        if (!v)
            continue;
        char *end = NULL;
        errno = 0;
        double d = strtod(v, &end);
        if (!v[0] || errno || !end || *end || !(d >= 0.0 && d <= 100.0))
            return usage_error("%s: '%s' is not a score from 0 to 100", scores[k].opt, v);
        snprintf(k ? r->max_score : r->min_score, sizeof r->min_score, "%.2f", d);
    }
    if (r->min_score[0] && r->max_score[0] && atof(r->min_score) > atof(r->max_score))
        return usage_error("--min-score %s is above --max-score %s", r->min_score, r->max_score);
    r->failed = ctx->failed;
    if (ctx->limit) {
        const char *s = ctx->limit;
        char *end = NULL;
        errno = 0;
        long long v = isdigit((unsigned char)s[0]) ? strtoll(s, &end, 10) : -1;
        if (v < 0 || errno || !end || *end || v > CALLS_LIMIT_MAX)
            return usage_error("--limit: '%s' is not a whole number from 0 (no limit) to "
                               "1000000000",
                               s);
        r->limit = v;
    }
    return CS_EXIT_OK;
}

/* ---- database ----------------------------------------------------------------- */

static int calls_db_open(const cli_ctx *ctx, db_conn **out)
{
    char safe[512];
    const char *ci = ctx->cfg->db_conninfo ? ctx->cfg->db_conninfo : "";
    cfg_mask_conninfo(ci, safe, sizeof safe);
    int rc = db_connect(ci, "callscope-calls", out);
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

/* A statement failed (rc from db_*): say why, choose the exit code. */
static int calls_db_fail(db_conn *c, int rc, const char *what)
{
    const char *st = db_last_sqlstate(c);
    if (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0 || strcmp(st, "42883") == 0) {
        cs_error("calls: %s: %s (is the schema migrated? 'callscope db migrate')", what,
                 db_last_error(c));
        return CS_EXIT_ENV;
    }
    cs_error("calls: %s: %s", what, db_last_error(c));
    return rc == CS_ERR_DB_CONN ? CS_EXIT_ENV : CS_EXIT_PARTIAL;
}

/*
 * Resolves a --queue or --agent name into a bigint[] literal of ids
 * ("{3,7}"; "{}" when nothing matches, with a warning) in out.
 */
static int resolve_ids(db_conn *c, const char *sql, const char *what, const char *name, char *out,
                       size_t cap)
{
    db_result *res = NULL;
    const char *p[] = {name};
    int rc = db_query(c, sql, 1, p, &res);
    if (rc != CS_OK)
        return calls_db_fail(c, rc, what);
    const char *v = db_result_value(res, 0, 0);
    if (!v || db_result_len(res, 0, 0) + 1 > cap) {
        db_result_free(res);
        cs_error("calls: %s '%s' matches too many rows", what, name);
        return CS_EXIT_PARTIAL;
    }
    snprintf(out, cap, "%s", v);
    db_result_free(res);
    if (strcmp(out, "{}") == 0)
        cs_warn("calls: no %s '%s'; no call can match", what, name);
    return CS_EXIT_OK;
}

/* Checks that --text gives a query with a word that must be present. */
static int check_text(db_conn *c, const char *text)
{
    db_result *res = NULL;
    const char *p[] = {text};
    int rc = db_query(c,
                      "SELECT numnode(q), querytree(q) FROM websearch_to_tsquery('english', "
                      "$1::text) AS q",
                      1, p, &res);
    if (rc != CS_OK)
        return calls_db_fail(c, rc, "--text");
    int nodes = 0;
    const char *tree = db_result_value(res, 0, 1);
    int bad =
        db_result_int(res, 0, 0, &nodes) != CS_OK || nodes == 0 || !tree || strcmp(tree, "T") == 0;
    db_result_free(res);
    if (nodes == 0)
        return usage_error("--text: '%s' has no word to search for (only stop words such as "
                           "'the', 'my' or punctuation)",
                           text);
    if (bad)
        return usage_error("--text: '%s' has no word that must be present (a query of only "
                           "-words cannot use the index)",
                           text);
    return CS_EXIT_OK;
}

/* ---- output -------------------------------------------------------------------- */

typedef struct calls_out {
    int format;
    int text;        /* rows carry the match columns */
    int64_t printed; /* rows written */
    int widths_done; /* table: widths fixed from the first batch */
    int w[CALLS_C__TEXT_COUNT];
} calls_out;

static const char *channel_name(const char *v)
{
    if (!v)
        return NULL;
    return strcmp(v, "1") == 0 ? "customer" : strcmp(v, "2") == 0 ? "agent" : v;
}

/* A CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF;
 * prefixed with ' when a spreadsheet would take it for a formula. NULL is an
 * empty field. */
static void csv_field(FILE *f, const char *s, int first)
{
    if (!first)
        fputc(',', f);
    if (!s)
        return;
    int formula = s[0] == '=' || s[0] == '@' || s[0] == '\t' || s[0] == '\r';
    if (s[0] == '+' || s[0] == '-') {
        /* "+4930..." and "-" are data; "+cmd|..." or "-2+3" are not */
        for (const char *p = s + 1; *p && !formula; p++)
            formula = !isdigit((unsigned char)*p) && *p != ' ' && *p != '-' && *p != '(' &&
                      *p != ')' && *p != '.';
    }
    int quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    if (quote)
        fputc('"', f);
}

/* ms as seconds with 3 decimals (exact), into b; NULL for NULL. */
static const char *secs3(const db_result *res, int row, int col, char *b, size_t cap)
{
    int64_t ms;
    if (db_result_int64(res, row, col, &ms) != CS_OK)
        return NULL;
    snprintf(b, cap, "%s%" PRId64 ".%03" PRId64, ms < 0 ? "-" : "", (ms < 0 ? -ms : ms) / 1000,
             (ms < 0 ? -ms : ms) % 1000);
    return b;
}

static const char *bool_text(const db_result *res, int i, int col)
{
    const char *v = db_result_value(res, i, col);
    if (!v || db_result_is_null(res, i, col))
        return NULL;
    return v[0] == 't' ? "true" : "false";
}

static const char CSV_HEADER[] =
    "uuid,invite_time,call_id,ani,dnis,queue,agent,agent_extension,outcome,answer_seconds,"
    "abandon_seconds,talk_seconds,hold_seconds,hold_count,transfers,duration_seconds,score,passed";
static const char CSV_HEADER_TEXT[] = ",match_channel,match_start_ms,match_end_ms,"
                                      "match_start_seconds,match_text,match_snippet";

static void row_csv(FILE *f, const db_result *res, int i, int text)
{
    static const int plain[] = {CALLS_C_UUID,  CALLS_C_INVITE,    CALLS_C_CALL_ID,
                                CALLS_C_ANI,   CALLS_C_DNIS,      CALLS_C_QUEUE,
                                CALLS_C_AGENT, CALLS_C_AGENT_EXT, CALLS_C_OUTCOME};
    char b[32];
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++)
        csv_field(f, db_result_value(res, i, plain[k]), k == 0);
    csv_field(f, secs3(res, i, CALLS_C_ANSWER_MS, b, sizeof b), 0);
    csv_field(f, secs3(res, i, CALLS_C_ABANDON_MS, b, sizeof b), 0);
    csv_field(f, secs3(res, i, CALLS_C_TALK_MS, b, sizeof b), 0);
    csv_field(f, secs3(res, i, CALLS_C_HOLD_MS, b, sizeof b), 0);
    csv_field(f, db_result_value(res, i, CALLS_C_HOLD_COUNT), 0);
    csv_field(f, db_result_value(res, i, CALLS_C_TRANSFERS), 0);
    csv_field(f, secs3(res, i, CALLS_C_DURATION_MS, b, sizeof b), 0);
    csv_field(f, db_result_value(res, i, CALLS_C_SCORE), 0);
    csv_field(f, bool_text(res, i, CALLS_C_PASSED), 0);
    if (text) {
        csv_field(f, channel_name(db_result_value(res, i, CALLS_C_M_CHANNEL)), 0);
        csv_field(f, db_result_value(res, i, CALLS_C_M_START_MS), 0);
        csv_field(f, db_result_value(res, i, CALLS_C_M_END_MS), 0);
        csv_field(f, secs3(res, i, CALLS_C_M_START_MS, b, sizeof b), 0);
        csv_field(f, db_result_value(res, i, CALLS_C_M_TEXT), 0);
        csv_field(f, db_result_value(res, i, CALLS_C_M_SNIPPET), 0);
    }
    fputc('\n', f);
}

static void kv_secs(json_w *w, const char *key, const db_result *res, int i, int col)
{
    int64_t ms;
    json_key(w, key);
    if (db_result_int64(res, i, col, &ms) == CS_OK)
        json_double(w, (double)ms / 1000.0);
    else
        json_null(w);
}

static void kv_int(json_w *w, const char *key, const db_result *res, int i, int col)
{
    int64_t v;
    json_key(w, key);
    if (db_result_int64(res, i, col, &v) == CS_OK)
        json_int(w, v);
    else
        json_null(w);
}

static void row_json(FILE *f, const db_result *res, int i, int text, int64_t n)
{
    json_w *w = json_w_new(0, 1u << 20);
    if (!w)
        return;
    json_obj_begin(w);
    json_kv_str(w, "uuid", db_result_value(res, i, CALLS_C_UUID));
    json_kv_str(w, "invite_time", db_result_value(res, i, CALLS_C_INVITE));
    json_kv_str(w, "call_id", db_result_value(res, i, CALLS_C_CALL_ID));
    json_kv_str(w, "ani", db_result_value(res, i, CALLS_C_ANI));
    json_kv_str(w, "dnis", db_result_value(res, i, CALLS_C_DNIS));
    json_kv_str(w, "queue", db_result_value(res, i, CALLS_C_QUEUE));
    json_kv_str(w, "agent", db_result_value(res, i, CALLS_C_AGENT));
    json_kv_str(w, "agent_extension", db_result_value(res, i, CALLS_C_AGENT_EXT));
    json_kv_str(w, "outcome", db_result_value(res, i, CALLS_C_OUTCOME));
    kv_secs(w, "answer_seconds", res, i, CALLS_C_ANSWER_MS);
    kv_secs(w, "abandon_seconds", res, i, CALLS_C_ABANDON_MS);
    kv_secs(w, "talk_seconds", res, i, CALLS_C_TALK_MS);
    kv_secs(w, "hold_seconds", res, i, CALLS_C_HOLD_MS);
    kv_int(w, "hold_count", res, i, CALLS_C_HOLD_COUNT);
    kv_int(w, "transfers", res, i, CALLS_C_TRANSFERS);
    kv_secs(w, "duration_seconds", res, i, CALLS_C_DURATION_MS);
    {
        double sc;
        json_key(w, "score");
        if (!db_result_is_null(res, i, CALLS_C_SCORE) &&
            db_result_double(res, i, CALLS_C_SCORE, &sc) == CS_OK)
            json_double(w, sc);
        else
            json_null(w);
        const char *pv = bool_text(res, i, CALLS_C_PASSED);
        json_key(w, "passed");
        if (pv)
            json_bool(w, pv[0] == 't');
        else
            json_null(w);
    }
    if (text) {
        json_key(w, "match");
        json_obj_begin(w);
        json_kv_str(w, "channel", channel_name(db_result_value(res, i, CALLS_C_M_CHANNEL)));
        kv_int(w, "channel_number", res, i, CALLS_C_M_CHANNEL);
        kv_int(w, "start_ms", res, i, CALLS_C_M_START_MS);
        kv_int(w, "end_ms", res, i, CALLS_C_M_END_MS);
        kv_secs(w, "start_seconds", res, i, CALLS_C_M_START_MS);
        json_kv_str(w, "text", db_result_value(res, i, CALLS_C_M_TEXT));
        json_kv_str(w, "snippet", db_result_value(res, i, CALLS_C_M_SNIPPET));
        json_obj_end(w);
    }
    json_obj_end(w);
    size_t len = 0;
    const char *t = json_w_data(w, &len);
    if (json_w_error(w) == CS_OK)
        fprintf(f, "%s\n  %.*s", n > 0 ? "," : "", (int)len, t);
    else
        cs_error("calls: call %s not written as JSON: %s", db_result_value(res, i, CALLS_C_UUID),
                 cs_err_msg(json_w_error(w)));
    json_w_free(w);
}

/* Table cells: the text of one cell, control characters made spaces. */
typedef struct cell {
    char s[160];
} cell;

static void cell_set(cell *c, const char *v)
{
    size_t n = 0;
    if (!v || !v[0])
        v = "-";
    for (; *v && n + 1 < sizeof c->s; v++)
        c->s[n++] = (unsigned char)*v < 0x20 || *v == 0x7f ? ' ' : *v;
    c->s[n] = 0;
}

/* ms as seconds with one decimal. */
static void cell_secs(cell *c, const db_result *res, int i, int col)
{
    int64_t ms;
    if (db_result_int64(res, i, col, &ms) != CS_OK) {
        cell_set(c, "-");
        return;
    }
    int64_t tenths = (ms < 0 ? ms - 50 : ms + 50) / 100; /* half away from zero */
    snprintf(c->s, sizeof c->s, "%s%" PRId64 ".%" PRId64, tenths < 0 ? "-" : "",
             (tenths < 0 ? -tenths : tenths) / 10, (tenths < 0 ? -tenths : tenths) % 10);
}

/* Table columns, in order. */
enum {
    T_INVITE,
    T_UUID,
    T_ANI,
    T_DNIS,
    T_QUEUE,
    T_AGENT,
    T_OUTCOME,
    T_ANSWER,
    T_TALK,
    T_DURATION,
    T_SCORE,
    T_SIDE,
    T_AT,
    T_MATCH,
    T__COUNT
};
static const char *const T_HEAD[T__COUNT] = {
    "INVITE (UTC)", "CALL", "ANI",      "DNIS", "QUEUE", "AGENT", "OUTCOME",
    "ANSWER",       "TALK", "DURATION", "SCORE", "SIDE", "AT",    "MATCH"};
static const int T_RIGHT[T__COUNT] = {[T_ANSWER] = 1, [T_TALK] = 1, [T_DURATION] = 1,
                                      [T_SCORE] = 1,  [T_AT] = 1};

static void table_cells(const db_result *res, int i, int text, cell *c)
{
    const char *inv = db_result_value(res, i, CALLS_C_INVITE);
    /* "2024-03-01T10:00:12.250000Z" -> "2024-03-01 10:00:12" */
    cell_set(&c[T_INVITE], inv);
    if (inv && strlen(c[T_INVITE].s) >= 19) {
        c[T_INVITE].s[10] = ' ';
        c[T_INVITE].s[19] = 0;
    }
    cell_set(&c[T_UUID], db_result_value(res, i, CALLS_C_UUID));
    cell_set(&c[T_ANI], db_result_value(res, i, CALLS_C_ANI));
    cell_set(&c[T_DNIS], db_result_value(res, i, CALLS_C_DNIS));
    cell_set(&c[T_QUEUE], db_result_value(res, i, CALLS_C_QUEUE));
    cell_set(&c[T_AGENT], db_result_value(res, i, CALLS_C_AGENT));
    cell_set(&c[T_OUTCOME], db_result_value(res, i, CALLS_C_OUTCOME));
    cell_secs(&c[T_ANSWER], res, i, CALLS_C_ANSWER_MS);
    cell_secs(&c[T_TALK], res, i, CALLS_C_TALK_MS);
    cell_secs(&c[T_DURATION], res, i, CALLS_C_DURATION_MS);
    {
        const char *sv = db_result_value(res, i, CALLS_C_SCORE);
        const char *pv = bool_text(res, i, CALLS_C_PASSED);
        if (sv && !db_result_is_null(res, i, CALLS_C_SCORE))
            snprintf(c[T_SCORE].s, sizeof c[T_SCORE].s, "%s%s", sv,
                     pv ? (pv[0] == 't' ? " pass" : " FAIL") : "");
        else
            cell_set(&c[T_SCORE], "-");
    }
    if (!text)
        return;
    cell_set(&c[T_SIDE], channel_name(db_result_value(res, i, CALLS_C_M_CHANNEL)));
    int64_t ms;
    if (db_result_int64(res, i, CALLS_C_M_START_MS, &ms) == CS_OK && ms >= 0)
        snprintf(c[T_AT].s, sizeof c[T_AT].s, "%" PRId64 ":%02" PRId64 ".%" PRId64, ms / 60000,
                 ms / 1000 % 60, ms / 100 % 10);
    else
        cell_set(&c[T_AT], "-");
    cell_set(&c[T_MATCH], db_result_value(res, i, CALLS_C_M_SNIPPET));
}

static void table_line(FILE *f, const calls_out *o, cell *c)
{
    int n = o->text ? T__COUNT : T_SIDE;
    for (int k = 0; k < n; k++) {
        int last = k == n - 1;
        if (last && !T_RIGHT[k])
            fputs(c[k].s, f);
        else if (last)
            fprintf(f, "%*s", o->w[k], c[k].s);
        else
            fprintf(f, T_RIGHT[k] ? "%*s  " : "%-*s  ", o->w[k], c[k].s);
    }
    fputc('\n', f);
}

static void table_batch(FILE *f, calls_out *o, const db_result *res, int n)
{
    cell c[T__COUNT];
    if (!o->widths_done) {
        for (int k = 0; k < T__COUNT; k++)
            o->w[k] = (int)strlen(T_HEAD[k]);
        for (int i = 0; i < n; i++) {
            table_cells(res, i, o->text, c);
            for (int k = 0; k < T__COUNT; k++)
                if ((int)strlen(c[k].s) > o->w[k])
                    o->w[k] = (int)strlen(c[k].s);
        }
        for (int k = 0; k < T__COUNT; k++)
            snprintf(c[k].s, sizeof c[k].s, "%s", T_HEAD[k]);
        table_line(f, o, c);
        o->widths_done = 1;
    }
    for (int i = 0; i < n; i++) {
        table_cells(res, i, o->text, c);
        table_line(f, o, c);
    }
}

static void out_rows(FILE *f, calls_out *o, const db_result *res, int n)
{
    if (o->format == CLI_FORMAT_TABLE) {
        if (n > 0)
            table_batch(f, o, res, n);
    } else {
        for (int i = 0; i < n; i++) {
            if (o->format == CLI_FORMAT_CSV)
                row_csv(f, res, i, o->text);
            else
                row_json(f, res, i, o->text, o->printed + i);
        }
    }
    o->printed += n;
}

/* ---- the command -------------------------------------------------------------------- */

/* Prints the plan of the statement instead of running it. */
static int calls_explain(db_conn *c, const char *sql, int nparams, const char *const *params)
{
    db_result *res = NULL;
    int rc = db_query(c, sql, nparams, params, &res);
    if (rc != CS_OK)
        return calls_db_fail(c, rc, "EXPLAIN");
    for (int i = 0; i < db_result_rows(res); i++)
        printf("%s\n", db_result_value(res, i, 0));
    db_result_free(res);
    return CS_EXIT_OK;
}

/* Runs the cursor and writes the rows. */
static int calls_list(db_conn *c, const calls_req *r, const char *sql, int nparams,
                      const char *const *params)
{
    int rc;
    if ((rc = db_begin(c)) != CS_OK || (rc = db_exec(c, "SET TRANSACTION READ ONLY")) != CS_OK)
        return calls_db_fail(c, rc, "BEGIN");
    if ((rc = db_command(c, sql, nparams, params, NULL)) != CS_OK) {
        int ex = calls_db_fail(c, rc, "listing calls");
        db_rollback(c);
        return ex;
    }
    calls_out o = {.format = r->format, .text = r->text != NULL};
    FILE *f = stdout;
    if (o.format == CLI_FORMAT_JSON)
        fputc('[', f);
    else if (o.format == CLI_FORMAT_CSV)
        fprintf(f, "%s%s\n", CSV_HEADER, o.text ? CSV_HEADER_TEXT : "");
    int more = 0, ex = CS_EXIT_OK;
    for (;;) {
        if (cs_stage_stop_requested()) {
            cs_error("calls: interrupted after %" PRId64 " calls", o.printed);
            ex = CS_EXIT_ENV;
            break;
        }
        db_result *res = NULL;
        if ((rc = db_query(c, "FETCH FORWARD " CALLS_FETCH " FROM cs_calls", 0, NULL, &res)) !=
            CS_OK) {
            ex = calls_db_fail(c, rc, "listing calls");
            break;
        }
        int n = db_result_rows(res);
        /* the statement asked for limit + 1 rows: the extra one only says "more" */
        if (r->limit > 0 && o.printed + n > r->limit) {
            n = (int)(r->limit - o.printed);
            more = 1;
        }
        out_rows(f, &o, res, n);
        db_result_free(res);
        if (ferror(f)) {
            ex = CS_EXIT_PARTIAL; /* e.g. `| head` closed the pipe: stop quietly */
            break;
        }
        if (n == 0 || more)
            break;
    }
    db_rollback(c); /* read only: nothing to commit */
    if (o.format == CLI_FORMAT_JSON)
        fputs(o.printed ? "\n]\n" : "]\n", f);
    else if (o.format == CLI_FORMAT_TABLE && o.printed == 0 && ex == CS_EXIT_OK)
        fputs("no calls match\n", f);
    if (fflush(f) != 0 || ferror(f))
        return ex == CS_EXIT_OK ? CS_EXIT_PARTIAL : ex;
    if (more && ex == CS_EXIT_OK)
        cs_info("calls: showing the newest %" PRId64 " call%s; more match (--limit 0 lists all)",
                r->limit, r->limit == 1 ? "" : "s");
    return ex;
}

int cmd_calls(const cli_ctx *ctx)
{
    calls_req r;
    int ex = calls_parse(ctx, &r);
    if (ex != CS_EXIT_OK)
        return ex;
    db_conn *c = NULL;
    if ((ex = calls_db_open(ctx, &c)) != CS_EXIT_OK) {
        db_close(c);
        return ex;
    }
    char queue_ids[4096] = "", agent_ids[4096] = "", limit[24] = "", channel[4] = "";
    if (r.queue)
        ex = resolve_ids(c,
                         "SELECT COALESCE(array_agg(id ORDER BY id), '{}')::text FROM queues "
                         "WHERE lower(name) = lower($1::text)",
                         "queue", r.queue, queue_ids, sizeof queue_ids);
    if (ex == CS_EXIT_OK && r.agent)
        ex = resolve_ids(c,
                         "SELECT COALESCE(array_agg(id ORDER BY id), '{}')::text FROM agents "
                         "WHERE extension = $1::text OR lower(name) = lower($1::text)",
                         "agent", r.agent, agent_ids, sizeof agent_ids);
    if (ex == CS_EXIT_OK && r.text)
        ex = check_text(c, r.text);
    if (ex != CS_EXIT_OK) {
        db_close(c);
        return ex;
    }
    if (r.limit > 0)
        snprintf(limit, sizeof limit, "%" PRId64, r.explain ? r.limit : r.limit + 1);
    if (r.channel)
        snprintf(channel, sizeof channel, "%d", r.channel);
    const char *params[CALLS_TEXT_NPARAMS] = {r.from[0] ? r.from : NULL,
                                              r.to[0] ? r.to : NULL,
                                              r.queue ? queue_ids : NULL,
                                              r.agent ? agent_ids : NULL,
                                              r.outcome,
                                              limit[0] ? limit : NULL,
                                              r.text,
                                              r.channel ? channel : NULL,
                                              r.min_score[0] ? r.min_score : NULL,
                                              r.max_score[0] ? r.max_score : NULL,
                                              r.failed ? "true" : NULL};
    if (r.explain)
        ex = calls_explain(c, r.text ? CALLS_TEXT_EXPLAIN : CALLS_EXPLAIN,
                           r.text ? CALLS_TEXT_NPARAMS : CALLS_NPARAMS, params);
    else
        ex = calls_list(c, &r, r.text ? CALLS_TEXT_CURSOR : CALLS_CURSOR,
                        r.text ? CALLS_TEXT_NPARAMS : CALLS_NPARAMS, params);
    db_close(c);
    return ex;
}
