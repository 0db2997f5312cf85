/*
 * cmd_report.c — `callscope report kpi`: contact-center KPIs over a time
 * range, from the rollups, never from the calls themselves: the whole UTC
 * days of the range from the daily rollup kpi_daily (schema/003_kpi_daily.sql:
 * one row per day, queue and agent) and the 15-minute intervals before and
 * after them from kpi_interval (schema/002_kpi_rollup.sql). So a month of a
 * million calls is one aggregate over a few thousand rows, and --by hour (or
 * a range shorter than a day) reads the 15-minute rows.
 *
 *   callscope report kpi --from TIME --to TIME [--by hour|day|week|month|queue|agent]
 *                        [--queue NAME] [--agent AGENT] [--sl-formula NAME]
 *                        [--format table|csv|json]
 *
 * Range. The rollup's resolution is the 15-minute interval a call was
 * offered in (by invite_at), so --from is rounded down and --to up to whole
 * intervals (an info line says so): every call offered in [from, to) is
 * counted, and calls of the same partial intervals outside it too. TIME is
 * parsed here (YYYY-MM-DD or ISO 8601; no offset = UTC; a bare --to date
 * means through that day, as in `calls`) and passed on as a UTC literal.
 *
 * Grouping (--by): hour, day, week (ISO, starting Monday; labelled by that
 * Monday's date), month — all on UTC; queue (queue name; calls of no queue
 * as "(no queue)"); agent ("name (extension)"; calls nobody answered, i.e.
 * abandoned, busy, ..., as "(no agent)"). Without --by one total row. With
 * --by the table ends with a TOTAL line and the JSON has "total"; the CSV
 * has the groups only. --queue / --agent restrict the rows (names as in
 * `calls`: queue name any case, agent extension or name any case).
 *
 * The columns (docs/kpi.md defines the KPIs; docs/callscope.md the report):
 *   offered, answered, abandoned, short abandons (wait < short-abandon threshold)
 *   abandonment rate  abandoned / (answered + abandoned), as docs/kpi.md defines
 *                     it (busy, no-answer, failed calls never queued) — short
 *                     abandons INCLUDED (shown beside it, so the excluded
 *                     variant can be derived)
 *   service level     sl_compute() of scoring/slformula.h with --sl-formula or
 *                     report.sl_formula (default "offered": answered within T /
 *                     (answered + abandoned)); T as stored in the rollup
 *   ASA               sum of answered calls' waits / answered
 *   average wait      (answered waits + abandoned waits) / (answered + abandoned)
 *   longest wait      of any answered or abandoned call
 *   average abandon   abandoned calls' waits / abandoned
 *   AHT               handle time (talk + hold) / answered calls with a handle time
 *   average hold      hold time / answered calls that were put on hold
 *   transfer rate     answered calls transferred at least once / answered
 *   FCR rate          resolved / (resolved + repeat); pending calls are excluded
 *                     from it and counted in their own column
 *   average score     effective QA score (reviewed over automatic) / scored calls
 *   critical fails    calls whose latest score failed a critical item
 * A ratio whose denominator is 0 is "-" (table), empty (CSV), null (JSON).
 * When the rows of the range were rolled up with different thresholds a
 * warning says so (the report shows the largest T).
 *
 * Output: table (one decimal; percentages and seconds), CSV (RFC 4180, a
 * header line, two decimals for percentages, milliseconds for seconds, the
 * formula and T on every row, the key defused like `calls` does), JSON (one
 * object: the range, grouping, formula, thresholds, "rows" and "total";
 * doubles unrounded).
 *
 * Exit codes: 0 printed; 1 the query failed or stdout could not be written;
 * 2 usage (no 'kpi', missing/bad --from/--to, bad --by/--sl-formula); 3
 * configuration (bad report.sl_formula, conninfo); 4 database unreachable
 * or schema not migrated.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
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
#include "slformula.h"
#include "stage.h"

#define REPORT_TIME_MAX 80
#define INTERVAL_US     INT64_C(900000000)   /* 15 minutes */
#define DAY_US          INT64_C(86400000000) /* one day */

/* ---- time arguments: cli_time.h ------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* ---- the request ------------------------------------------------------------ */

typedef enum report_by {
    BY_TOTAL,
    BY_HOUR,
    BY_DAY,
    BY_WEEK,
    BY_MONTH,
    BY_QUEUE,
    BY_AGENT,
    BY__COUNT
} report_by;

static const char *const BY_NAMES[BY__COUNT] = {"total", "hour",  "day",  "week",
                                                "month", "queue", "agent"};

/*
 * Per grouping: the label, the GROUP BY and the ORDER BY; all constant text (no user input ever
 * becomes SQL). Times are truncated in UTC; week labels are the Monday (ISO week start).
 */
static const struct {
    const char *label, *group, *order;
} BY_SQL[BY__COUNT] = {
    [BY_TOTAL] = {"'total'::text", NULL, NULL},
    [BY_HOUR] = {"to_char(date_trunc('hour', k.interval_start AT TIME ZONE 'UTC'), "
                 "'YYYY-MM-DD HH24:00')",
                 "1", "1"},
    [BY_DAY] = {"to_char(k.interval_start AT TIME ZONE 'UTC', 'YYYY-MM-DD')", "1", "1"},
    [BY_WEEK] = {"to_char(date_trunc('week', k.interval_start AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
                 "1", "1"},
    [BY_MONTH] = {"to_char(k.interval_start AT TIME ZONE 'UTC', 'YYYY-MM')", "1", "1"},
    /* grouped by id, the name looked up once per group (not joined to every row) */
    [BY_QUEUE] = {"(SELECT q.name FROM queues q WHERE q.id = k.queue_id)", "k.queue_id",
                  "1 NULLS LAST, k.queue_id NULLS LAST"},
    [BY_AGENT] = {"(SELECT a.name || ' (' || a.extension || ')' FROM agents a WHERE a.id = "
                  "k.agent_id)",
                  "k.agent_id", "1 NULLS LAST, k.agent_id NULLS LAST"},
};
static const char *const BY_NONE_LABEL[BY__COUNT] = {
    [BY_QUEUE] = "(no queue)", [BY_AGENT] = "(no agent)"};

/*
 * The rows summed: one relation k over both rollups, with the per-row settings as ranges
 * (t_min/t_max: T, s_min/s_max: short-abandon threshold, f_min/f_max: FCR window). Whole UTC
 * days of the range come from kpi_daily ($5 .. $6), the 15-minute intervals before and after
 * them from kpi_interval ($1 .. $5, $6 .. $2); with no whole day $5 = $6 = $2.
 */
#define KPI_COMMON_COLS                                                                            \
    "interval_start, queue_id, agent_id, offered, answered, abandoned, short_abandons, "           \
    "answered_within_sl, abandoned_within_sl, sum_wait_ms, max_wait_ms, sum_abandon_ms, "          \
    "sum_handle_ms, handled, sum_hold_ms, holds, transfers, fcr_resolved, fcr_repeat, "            \
    "fcr_pending, score_sum, score_count, critical_fails, "
#define KPI_INTERVAL_COLS                                                                          \
    KPI_COMMON_COLS "sl_threshold_ms AS t_min, sl_threshold_ms AS t_max, "                         \
                    "short_abandon_ms AS s_min, short_abandon_ms AS s_max, "                       \
                    "fcr_window AS f_min, fcr_window AS f_max FROM kpi_interval"
#define KPI_SOURCE                                                                                 \
    " FROM (SELECT " KPI_COMMON_COLS                                                               \
    "sl_threshold_min_ms AS t_min, sl_threshold_max_ms AS t_max, short_abandon_min_ms AS s_min, "  \
    "short_abandon_max_ms AS s_max, fcr_window_min AS f_min, fcr_window_max AS f_max "             \
    "FROM kpi_daily"                                                                               \
    " WHERE interval_start >= $5::timestamptz AND interval_start < $6::timestamptz"                \
    " UNION ALL SELECT " KPI_INTERVAL_COLS                                                         \
    " WHERE interval_start >= $1::timestamptz AND interval_start < $5::timestamptz"                \
    " UNION ALL SELECT " KPI_INTERVAL_COLS                                                         \
    " WHERE interval_start >= $6::timestamptz AND interval_start < $2::timestamptz) k"

/* The sums, in the order of the SELECT after the label (R_*). */
#define REPORT_SUMS                                                                                \
    "COALESCE(sum(k.offered), 0)::bigint, COALESCE(sum(k.answered), 0)::bigint, "                  \
    "COALESCE(sum(k.abandoned), 0)::bigint, COALESCE(sum(k.short_abandons), 0)::bigint, "          \
    "COALESCE(sum(k.answered_within_sl), 0)::bigint, "                                             \
    "COALESCE(sum(k.abandoned_within_sl), 0)::bigint, "                                            \
    "COALESCE(sum(k.sum_wait_ms), 0)::bigint, COALESCE(max(k.max_wait_ms), 0)::bigint, "           \
    "COALESCE(sum(k.sum_abandon_ms), 0)::bigint, COALESCE(sum(k.sum_handle_ms), 0)::bigint, "      \
    "COALESCE(sum(k.handled), 0)::bigint, COALESCE(sum(k.sum_hold_ms), 0)::bigint, "               \
    "COALESCE(sum(k.holds), 0)::bigint, COALESCE(sum(k.transfers), 0)::bigint, "                   \
    "COALESCE(sum(k.fcr_resolved), 0)::bigint, COALESCE(sum(k.fcr_repeat), 0)::bigint, "           \
    "COALESCE(sum(k.fcr_pending), 0)::bigint, COALESCE(sum(k.score_sum), 0)::text, "               \
    "COALESCE(sum(k.score_count), 0)::bigint, COALESCE(sum(k.critical_fails), 0)::bigint, "        \
    "COALESCE(min(k.t_min), -1)::bigint, COALESCE(max(k.t_max), -1)::bigint, "                     \
    "COALESCE(min(k.s_min), -1)::bigint, COALESCE(max(k.s_max), -1)::bigint, "                     \
    "COALESCE(extract(epoch FROM min(k.f_min)), -1)::bigint, "                                     \
    "COALESCE(extract(epoch FROM max(k.f_max)), -1)::bigint"

#define REPORT_WHERE                                                                               \
    " WHERE ($3::bigint[] IS NULL OR k.queue_id = ANY ($3::bigint[]))"                             \
    " AND ($4::bigint[] IS NULL OR k.agent_id = ANY ($4::bigint[]))"

enum {
    R_LABEL,
    R_OFFERED,
    R_ANSWERED,
    R_ABANDONED,
    R_SHORT,
    R_ANS_SL,
    R_ABN_SL,
    R_SUM_WAIT,
    R_MAX_WAIT,
    R_SUM_ABANDON,
    R_SUM_HANDLE,
    R_HANDLED,
    R_SUM_HOLD,
    R_HOLDS,
    R_TRANSFERS,
    R_FCR_RES,
    R_FCR_REP,
    R_FCR_PEND,
    R_SCORE_SUM,
    R_SCORED,
    R_CRIT,
    R_T_MIN,
    R_T_MAX,
    R_SHORT_MIN,
    R_SHORT_MAX,
    R_FCRW_MIN,
    R_FCRW_MAX,
    R__COUNT
};

/* One group's sums (additive except the max/min fields). */
typedef struct kpi_row {
    char label[160];
    int none;            /* the label is NULL: no queue / no agent */
    int64_t v[R__COUNT]; /* by R_* (R_LABEL, R_SCORE_SUM unused) */
    double score_sum;
} kpi_row;

typedef struct report_req {
    char from[REPORT_TIME_MAX], to[REPORT_TIME_MAX];         /* SQL literals */
    char from_iso[REPORT_TIME_MAX], to_iso[REPORT_TIME_MAX]; /* for people */
    char day_from[REPORT_TIME_MAX], day_to[REPORT_TIME_MAX]; /* whole days: kpi_daily */
    int64_t days;                                            /* whole days read from kpi_daily */
    report_by by;
    sl_formula formula;
    const char *queue, *agent;
    int format;
} report_req;

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

static int report_parse(const cli_ctx *ctx, report_req *r)
{
    memset(r, 0, sizeof *r);
    r->format = ctx->format;
    if (ctx->nargs < 1 || strcmp(ctx->args[0], "kpi") != 0)
        return usage_error("report: which report? The one there is: report kpi --from TIME "
                           "--to TIME [--by ...]");
    if (ctx->nargs > 1)
        return usage_error("report kpi takes no further arguments ('%s')", ctx->args[1]);
    if (!ctx->from || !ctx->to)
        return usage_error("report kpi needs --from TIME and --to TIME (YYYY-MM-DD or ISO 8601, "
                           "UTC unless an offset is given)");
    int64_t from_us, to_us;
    int date_only = 0;
    if (cli_parse_time(ctx->from, &from_us, &date_only) != 0)
        return usage_error("--from: '%s' is not YYYY-MM-DD or an ISO 8601 time "
                           "(YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM]; no offset = UTC)",
                           ctx->from);
    if (cli_parse_time(ctx->to, &to_us, &date_only) != 0)
        return usage_error("--to: '%s' is not YYYY-MM-DD or an ISO 8601 time "
                           "(YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM]; no offset = UTC)",
                           ctx->to);
    if (date_only)
        to_us += INT64_C(86400000000); /* a bare date: through the end of that day */
    if (from_us >= to_us)
        return usage_error("--from '%s' is not before --to '%s'", ctx->from, ctx->to);
    /* whole 15-minute intervals: from down, to up */
    int64_t f = floor_div(from_us, INTERVAL_US) * INTERVAL_US;
    int64_t t = -floor_div(-to_us, INTERVAL_US) * INTERVAL_US;
    cli_format_utc(f, CLI_UTC_PG, r->from, sizeof r->from);
    cli_format_utc(t, CLI_UTC_PG, r->to, sizeof r->to);
    cli_format_utc(f, CLI_UTC_ISO, r->from_iso, sizeof r->from_iso);
    cli_format_utc(t, CLI_UTC_ISO, r->to_iso, sizeof r->to_iso);
    if (f != from_us || t != to_us)
        cs_info("report: the rollup has 15-minute resolution: reporting the intervals from %s "
                "to %s",
                r->from_iso, r->to_iso);
    r->by = BY_TOTAL;
    if (ctx->by) {
        int found = 0;
        for (int i = BY_HOUR; i < BY__COUNT; i++)
            if (strcasecmp(ctx->by, BY_NAMES[i]) == 0) {
                r->by = (report_by)i;
                found = 1;
            }
        if (!found)
            return usage_error("--by: '%s' is not one of hour, day, week, month, queue, agent",
                               ctx->by);
    }
    /* the whole UTC days inside [f, t) come from the daily rollup (not for --by hour) */
    int64_t d0 = -floor_div(-f, DAY_US) * DAY_US, d1 = floor_div(t, DAY_US) * DAY_US;
    if (r->by == BY_HOUR || d0 >= d1)
        d0 = d1 = t;
    r->days = (d1 - d0) / DAY_US;
    cli_format_utc(d0, CLI_UTC_PG, r->day_from, sizeof r->day_from);
    cli_format_utc(d1, CLI_UTC_PG, r->day_to, sizeof r->day_to);
    if (ctx->sl_formula) {
        if (sl_formula_parse(ctx->sl_formula, &r->formula) != CS_OK)
            return usage_error("--sl-formula: '%s' is not one of abandons_in_sl, answered, "
                               "offered, offered_no_early_abandons, short_abandons_in_sl",
                               ctx->sl_formula);
    } else {
        const char *name = ctx->cfg->report_sl_formula ? ctx->cfg->report_sl_formula : "offered";
        if (sl_formula_parse(name, &r->formula) != CS_OK) {
            cs_error("report.sl_formula: '%s' is not one of abandons_in_sl, answered, offered, "
                     "offered_no_early_abandons, short_abandons_in_sl",
                     name);
            return CS_EXIT_CONFIG;
        }
    }
    if (ctx->queue && !ctx->queue[0])
        return usage_error("--queue: empty name");
    if (ctx->agent && !ctx->agent[0])
        return usage_error("--agent: empty name or extension");
    r->queue = ctx->queue;
    r->agent = ctx->agent;
    return CS_EXIT_OK;
}

/* ---- database ----------------------------------------------------------------- */

static int report_db_open(const cli_ctx *ctx, db_conn **out)
{
    char safe[512];
    const char *ci = ctx->cfg->db_conninfo ? ctx->cfg->db_conninfo : "";
    cfg_mask_conninfo(ci, safe, sizeof safe);
    int rc = db_connect(ci, "callscope-report", out);
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

static int report_db_fail(db_conn *c, int rc, const char *what)
{
    const char *st = db_last_sqlstate(c);
    if (strcmp(st, "42P01") == 0 || strcmp(st, "42703") == 0 || strcmp(st, "42883") == 0) {
        cs_error("report: %s: %s (is the schema migrated? 'callscope db migrate')", what,
                 db_last_error(c));
        return CS_EXIT_ENV;
    }
    cs_error("report: %s: %s", what, db_last_error(c));
    return rc == CS_ERR_DB_CONN ? CS_EXIT_ENV : CS_EXIT_PARTIAL;
}

/* --queue / --agent into a bigint[] literal ("{}" and a warning if nothing matches). */
static int resolve_ids(db_conn *c, const char *sql, const char *what, const char *name, char *out,
                       size_t cap)
{
    db_result *res = NULL;
    const char *p[] = {name};
    int rc = db_query(c, sql, 1, p, &res);
    if (rc != CS_OK)
        return report_db_fail(c, rc, what);
    const char *v = db_result_value(res, 0, 0);
    if (!v || db_result_len(res, 0, 0) + 1 > cap) {
        db_result_free(res);
        cs_error("report: %s '%s' matches too many rows", what, name);
        return CS_EXIT_PARTIAL;
    }
    snprintf(out, cap, "%s", v);
    db_result_free(res);
    if (strcmp(out, "{}") == 0)
        cs_warn("report: no %s '%s'; the report is empty", what, name);
    return CS_EXIT_OK;
}

/* ---- arithmetic --------------------------------------------------------------- */

static double ratio(int64_t num, int64_t den)
{
    return den > 0 ? (double)num / (double)den : NAN;
}

typedef struct kpi_vals {
    double abandon_rate, service_level, transfer_rate, fcr_rate; /* fractions */
    double asa_ms, avg_wait_ms, avg_abandon_ms, aht_ms, avg_hold_ms, avg_score;
} kpi_vals;

static kpi_vals kpi_compute(const kpi_row *r, sl_formula f)
{
    const int64_t *v = r->v;
    sl_counts c = {.answered = v[R_ANSWERED],
                   .answered_within_t = v[R_ANS_SL],
                   .abandoned = v[R_ABANDONED],
                   .abandoned_within_t = v[R_ABN_SL],
                   .short_abandons = v[R_SHORT]};
    kpi_vals k = {
        .abandon_rate = ratio(v[R_ABANDONED], v[R_ANSWERED] + v[R_ABANDONED]),
        .service_level = sl_compute(f, &c),
        .transfer_rate = ratio(v[R_TRANSFERS], v[R_ANSWERED]),
        .fcr_rate = ratio(v[R_FCR_RES], v[R_FCR_RES] + v[R_FCR_REP]),
        .asa_ms = ratio(v[R_SUM_WAIT], v[R_ANSWERED]),
        .avg_wait_ms = ratio(v[R_SUM_WAIT] + v[R_SUM_ABANDON], v[R_ANSWERED] + v[R_ABANDONED]),
        .avg_abandon_ms = ratio(v[R_SUM_ABANDON], v[R_ABANDONED]),
        .aht_ms = ratio(v[R_SUM_HANDLE], v[R_HANDLED]),
        .avg_hold_ms = ratio(v[R_SUM_HOLD], v[R_HOLDS]),
        .avg_score = v[R_SCORED] > 0 ? r->score_sum / (double)v[R_SCORED] : NAN,
    };
    return k;
}

/* Adds row a into the total t. */
static void kpi_add(kpi_row *t, const kpi_row *a)
{
    for (int i = R_OFFERED; i < R__COUNT; i++) {
        int64_t x = a->v[i], *y = &t->v[i];
        switch (i) {
        case R_MAX_WAIT:
            *y = x > *y ? x : *y;
            break;
        case R_T_MIN:
        case R_SHORT_MIN:
        case R_FCRW_MIN:
            if (x >= 0 && (*y < 0 || x < *y))
                *y = x;
            break;
        case R_T_MAX:
        case R_SHORT_MAX:
        case R_FCRW_MAX:
            *y = x > *y ? x : *y;
            break;
        default:
            *y += x;
        }
    }
    t->score_sum += a->score_sum;
}

/* ---- output ------------------------------------------------------------------- */

/* Seconds as "7 days", "72 h", "90 s". */
static void window_text(int64_t s, char *out, size_t cap)
{
    if (s < 0)
        snprintf(out, cap, "-");
    else if (s % 86400 == 0)
        snprintf(out, cap, "%" PRId64 " day%s", s / 86400, s == 86400 ? "" : "s");
    else if (s % 3600 == 0)
        snprintf(out, cap, "%" PRId64 " h", s / 3600);
    else
        snprintf(out, cap, "%" PRId64 " s", s);
}

/* Milliseconds as "20 s" or "20.5 s" (trailing zeros dropped); "-" when < 0. */
static void ms_text(int64_t ms, char *out, size_t cap)
{
    if (ms < 0) {
        snprintf(out, cap, "-");
        return;
    }
    int n = snprintf(out, cap, "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
    while (n > 0 && (size_t)n < cap && out[n - 1] == '0')
        out[--n] = 0;
    if (n > 0 && (size_t)n < cap && out[n - 1] == '.')
        out[--n] = 0;
    snprintf(out + strlen(out), cap - strlen(out), " s");
}

static void fmt_num(char *out, size_t cap, double v, double scale, int decimals)
{
    if (isnan(v))
        snprintf(out, cap, "%s", "");
    else
        snprintf(out, cap, "%.*f", decimals, v * scale);
}

/* CSV field: RFC 4180 quoting; a leading =, @, +, -, tab or CR is defused with '. */
static void csv_field(FILE *f, const char *s, int first)
{
    if (!first)
        fputc(',', f);
    if (!s)
        return;
    int formula =
        s[0] == '=' || s[0] == '@' || s[0] == '\t' || s[0] == '\r' || s[0] == '+' || s[0] == '-';
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

static const char CSV_HEADER[] =
    "key,offered,answered,abandoned,short_abandons,abandon_rate_pct,service_level_pct,"
    "answered_within_sl,abandoned_within_sl,asa_seconds,avg_wait_seconds,max_wait_seconds,"
    "avg_abandon_seconds,aht_seconds,avg_hold_seconds,transfer_rate_pct,fcr_rate_pct,"
    "fcr_resolved,fcr_repeat,fcr_pending,avg_score,scored,critical_fails,sl_formula,"
    "sl_threshold_seconds,short_abandon_seconds,fcr_window_seconds";

static void csv_ms(FILE *f, int64_t ms)
{
    if (ms < 0) {
        fputc(',', f);
        return;
    }
    fprintf(f, ",%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
}

static void row_csv(FILE *f, const kpi_row *r, sl_formula sf)
{
    kpi_vals k = kpi_compute(r, sf);
    const int64_t *v = r->v;
    char b[64];
    csv_field(f, r->none ? NULL : r->label, 1);
    fprintf(f, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64, v[R_OFFERED], v[R_ANSWERED],
            v[R_ABANDONED], v[R_SHORT]);
    fmt_num(b, sizeof b, k.abandon_rate, 100, 2);
    fprintf(f, ",%s", b);
    fmt_num(b, sizeof b, k.service_level, 100, 2);
    fprintf(f, ",%s,%" PRId64 ",%" PRId64, b, v[R_ANS_SL], v[R_ABN_SL]);
    const double secs[] = {k.asa_ms, k.avg_wait_ms};
    for (size_t i = 0; i < 2; i++) {
        fmt_num(b, sizeof b, secs[i], 0.001, 3);
        fprintf(f, ",%s", b);
    }
    csv_ms(f, v[R_ANSWERED] + v[R_ABANDONED] > 0 ? v[R_MAX_WAIT] : -1);
    const double secs2[] = {k.avg_abandon_ms, k.aht_ms, k.avg_hold_ms};
    for (size_t i = 0; i < 3; i++) {
        fmt_num(b, sizeof b, secs2[i], 0.001, 3);
        fprintf(f, ",%s", b);
    }
    fmt_num(b, sizeof b, k.transfer_rate, 100, 2);
    fprintf(f, ",%s", b);
    fmt_num(b, sizeof b, k.fcr_rate, 100, 2);
    fprintf(f, ",%s,%" PRId64 ",%" PRId64 ",%" PRId64, b, v[R_FCR_RES], v[R_FCR_REP],
            v[R_FCR_PEND]);
    fmt_num(b, sizeof b, k.avg_score, 1, 2);
    fprintf(f, ",%s,%" PRId64 ",%" PRId64 ",%s", b, v[R_SCORED], v[R_CRIT], sl_formula_name(sf));
    csv_ms(f, v[R_T_MAX]);
    csv_ms(f, v[R_SHORT_MAX]);
    if (v[R_FCRW_MAX] >= 0)
        fprintf(f, ",%" PRId64, v[R_FCRW_MAX]);
    else
        fputc(',', f);
    fputc('\n', f);
}

static void kv_num(json_w *w, const char *key, double v)
{
    json_key(w, key);
    if (isnan(v))
        json_null(w);
    else
        json_double(w, v);
}

static void row_json(json_w *w, const kpi_row *r, sl_formula sf, int with_key)
{
    kpi_vals k = kpi_compute(r, sf);
    const int64_t *v = r->v;
    json_obj_begin(w);
    if (with_key)
        json_kv_str(w, "key", r->none ? NULL : r->label);
    json_kv_int(w, "offered", v[R_OFFERED]);
    json_kv_int(w, "answered", v[R_ANSWERED]);
    json_kv_int(w, "abandoned", v[R_ABANDONED]);
    json_kv_int(w, "short_abandons", v[R_SHORT]);
    kv_num(w, "abandon_rate_pct", k.abandon_rate * 100);
    kv_num(w, "service_level_pct", k.service_level * 100);
    json_kv_int(w, "answered_within_sl", v[R_ANS_SL]);
    json_kv_int(w, "abandoned_within_sl", v[R_ABN_SL]);
    kv_num(w, "asa_seconds", k.asa_ms / 1000);
    kv_num(w, "avg_wait_seconds", k.avg_wait_ms / 1000);
    kv_num(w, "max_wait_seconds",
           v[R_ANSWERED] + v[R_ABANDONED] > 0 ? (double)v[R_MAX_WAIT] / 1000 : NAN);
    kv_num(w, "avg_abandon_seconds", k.avg_abandon_ms / 1000);
    kv_num(w, "aht_seconds", k.aht_ms / 1000);
    kv_num(w, "avg_hold_seconds", k.avg_hold_ms / 1000);
    kv_num(w, "transfer_rate_pct", k.transfer_rate * 100);
    kv_num(w, "fcr_rate_pct", k.fcr_rate * 100);
    json_kv_int(w, "fcr_resolved", v[R_FCR_RES]);
    json_kv_int(w, "fcr_repeat", v[R_FCR_REP]);
    json_kv_int(w, "fcr_pending", v[R_FCR_PEND]);
    kv_num(w, "avg_score", k.avg_score);
    json_kv_int(w, "scored", v[R_SCORED]);
    json_kv_int(w, "critical_fails", v[R_CRIT]);
    json_obj_end(w);
}

/* Table. */
enum {
    T_KEY,
    T_OFFERED,
    T_ANSWERED,
    T_ABANDONED,
    T_SHORT,
    T_ABN_RATE,
    T_SL,
    T_ASA,
    T_AVG_WAIT,
    T_MAX_WAIT,
    T_AVG_ABN,
    T_AHT,
    T_AVG_HOLD,
    T_XFER,
    T_FCR,
    T_PENDING,
    T_SCORE,
    T_CRIT,
    T__COUNT
};
static const char *const T_HEAD[T__COUNT] = {
    "",         "OFFERED", "ANSWERED", "ABANDONED",   "SHORT",       "ABANDON%",
    "SL%",      "ASA",     "AVG WAIT", "MAX WAIT",    "AVG ABANDON", "AHT",
    "AVG HOLD", "XFER%",   "FCR%",     "FCR PENDING", "SCORE",       "CRIT"};

typedef struct cell {
    char s[160];
} cell;

static void cell_label(cell *c, const char *v)
{
    size_t n = 0;
    for (; *v && n + 1 < sizeof c->s; v++)
        c->s[n++] = (unsigned char)*v < 0x20 || *v == 0x7f ? ' ' : *v;
    c->s[n] = 0;
}

static void cell_num(cell *c, double v, double scale)
{
    if (isnan(v))
        snprintf(c->s, sizeof c->s, "-");
    else
        snprintf(c->s, sizeof c->s, "%.1f", v * scale);
}

static void table_cells(const kpi_row *r, sl_formula sf, const char *none, cell *c)
{
    kpi_vals k = kpi_compute(r, sf);
    const int64_t *v = r->v;
    cell_label(&c[T_KEY], r->none ? (none ? none : "-") : r->label);
    snprintf(c[T_OFFERED].s, sizeof c->s, "%" PRId64, v[R_OFFERED]);
    snprintf(c[T_ANSWERED].s, sizeof c->s, "%" PRId64, v[R_ANSWERED]);
    snprintf(c[T_ABANDONED].s, sizeof c->s, "%" PRId64, v[R_ABANDONED]);
    snprintf(c[T_SHORT].s, sizeof c->s, "%" PRId64, v[R_SHORT]);
    cell_num(&c[T_ABN_RATE], k.abandon_rate, 100);
    cell_num(&c[T_SL], k.service_level, 100);
    cell_num(&c[T_ASA], k.asa_ms, 0.001);
    cell_num(&c[T_AVG_WAIT], k.avg_wait_ms, 0.001);
    cell_num(&c[T_MAX_WAIT], v[R_ANSWERED] + v[R_ABANDONED] > 0 ? (double)v[R_MAX_WAIT] : NAN,
             0.001);
    cell_num(&c[T_AVG_ABN], k.avg_abandon_ms, 0.001);
    cell_num(&c[T_AHT], k.aht_ms, 0.001);
    cell_num(&c[T_AVG_HOLD], k.avg_hold_ms, 0.001);
    cell_num(&c[T_XFER], k.transfer_rate, 100);
    cell_num(&c[T_FCR], k.fcr_rate, 100);
    snprintf(c[T_PENDING].s, sizeof c->s, "%" PRId64, v[R_FCR_PEND]);
    cell_num(&c[T_SCORE], k.avg_score, 1);
    snprintf(c[T_CRIT].s, sizeof c->s, "%" PRId64, v[R_CRIT]);
}

static void table_line(FILE *f, const int *w, const cell *c)
{
    for (int k = 0; k < T__COUNT; k++) {
        if (k == 0)
            fprintf(f, "%-*s", w[k], c[k].s);
        else
            fprintf(f, "  %*s", w[k], c[k].s);
    }
    fputc('\n', f);
}

static void print_table(FILE *f, const report_req *r, const kpi_row *rows, int n,
                        const kpi_row *total)
{
    cell c[T__COUNT];
    int w[T__COUNT];
    const char *none = BY_NONE_LABEL[r->by];
    for (int k = 0; k < T__COUNT; k++)
        w[k] = (int)strlen(T_HEAD[k]);
    for (int i = -1; i < n; i++) {
        table_cells(i < 0 ? total : &rows[i], r->formula, none, c);
        if (i < 0)
            snprintf(c[T_KEY].s, sizeof c->s, "TOTAL");
        for (int k = 0; k < T__COUNT; k++)
            if ((int)strlen(c[k].s) > w[k])
                w[k] = (int)strlen(c[k].s);
    }
    char t[32], s[32], fw[32];
    ms_text(total->v[R_T_MAX], t, sizeof t);
    ms_text(total->v[R_SHORT_MAX], s, sizeof s);
    window_text(total->v[R_FCRW_MAX], fw, sizeof fw);
    fprintf(f, "KPI report %s .. %s (UTC), %s%s\n", r->from_iso, r->to_iso,
            r->by == BY_TOTAL ? "total" : "by ", r->by == BY_TOTAL ? "" : BY_NAMES[r->by]);
    fprintf(f, "service level (SL%%): %s = %s, T = %s; short abandon < %s; FCR window %s\n",
            sl_formula_name(r->formula), sl_formula_definition(r->formula), t, s, fw);
    fprintf(f, "times in seconds; ABANDON%% = abandoned / (answered + abandoned), short "
               "abandons included; FCR%% = resolved / (resolved + repeat)\n\n");
    for (int k = 0; k < T__COUNT; k++)
        snprintf(c[k].s, sizeof c->s, "%s", T_HEAD[k]);
    snprintf(c[T_KEY].s, sizeof c->s, "%s", r->by == BY_TOTAL ? "" : BY_NAMES[r->by]);
    for (size_t i = 0; c[T_KEY].s[i]; i++)
        c[T_KEY].s[i] = (char)toupper((unsigned char)c[T_KEY].s[i]);
    table_line(f, w, c);
    if (r->by == BY_TOTAL) {
        table_cells(total, r->formula, none, c);
        snprintf(c[T_KEY].s, sizeof c->s, "TOTAL");
        table_line(f, w, c);
        return;
    }
    for (int i = 0; i < n; i++) {
        table_cells(&rows[i], r->formula, none, c);
        table_line(f, w, c);
    }
    if (n == 0)
        fputs("(no calls in the range)\n", f);
    table_cells(total, r->formula, none, c);
    snprintf(c[T_KEY].s, sizeof c->s, "TOTAL");
    table_line(f, w, c);
}

static int print_json(FILE *f, const report_req *r, const kpi_row *rows, int n,
                      const kpi_row *total)
{
    json_w *w = json_w_new(1, (size_t)1 << 28);
    if (!w)
        return CS_ERR_NOMEM;
    json_obj_begin(w);
    json_kv_str(w, "report", "kpi");
    json_kv_str(w, "from", r->from_iso);
    json_kv_str(w, "to", r->to_iso);
    json_kv_str(w, "by", r->by == BY_TOTAL ? NULL : BY_NAMES[r->by]);
    json_kv_str(w, "sl_formula", sl_formula_name(r->formula));
    json_kv_str(w, "sl_formula_definition", sl_formula_definition(r->formula));
    kv_num(w, "sl_threshold_seconds",
           total->v[R_T_MAX] >= 0 ? (double)total->v[R_T_MAX] / 1000 : NAN);
    kv_num(w, "short_abandon_seconds",
           total->v[R_SHORT_MAX] >= 0 ? (double)total->v[R_SHORT_MAX] / 1000 : NAN);
    kv_num(w, "fcr_window_seconds", total->v[R_FCRW_MAX] >= 0 ? (double)total->v[R_FCRW_MAX] : NAN);
    if (r->by != BY_TOTAL) {
        json_key(w, "rows");
        json_arr_begin(w);
        for (int i = 0; i < n; i++)
            row_json(w, &rows[i], r->formula, 1);
        json_arr_end(w);
    }
    json_key(w, "total");
    row_json(w, total, r->formula, 0);
    json_obj_end(w);
    int rc = json_w_error(w);
    if (rc == CS_OK) {
        size_t len = 0;
        const char *t = json_w_data(w, &len);
        fwrite(t, 1, len, f);
        fputc('\n', f);
    }
    json_w_free(w);
    return rc;
}

/* ---- the command ----------------------------------------------------------------- */

static int report_query(db_conn *c, const report_req *r, const char *const *params,
                        kpi_row **rows_out, int *n_out)
{
    char sql[8192];
    const char *label = BY_SQL[r->by].label;
    if (r->by == BY_TOTAL)
        snprintf(sql, sizeof sql, "SELECT %s, " REPORT_SUMS KPI_SOURCE REPORT_WHERE, label);
    else
        snprintf(sql, sizeof sql,
                 "SELECT %s, " REPORT_SUMS KPI_SOURCE REPORT_WHERE " GROUP BY %s ORDER BY %s",
                 label, BY_SQL[r->by].group, BY_SQL[r->by].order);
    cs_debug("report: %" PRId64 " whole day(s) from kpi_daily [%s, %s), the rest of [%s, %s) "
             "from kpi_interval",
             r->days, r->day_from, r->day_to, r->from, r->to);
    db_result *res = NULL;
    int rc = db_query(c, sql, 6, params, &res);
    if (rc != CS_OK)
        return report_db_fail(c, rc, "summing the KPI rollups");
    int n = db_result_rows(res);
    kpi_row *rows = calloc(n > 0 ? (size_t)n : 1, sizeof *rows);
    if (!rows) {
        db_result_free(res);
        cs_error("report: out of memory for %d rows", n);
        return CS_EXIT_PARTIAL;
    }
    for (int i = 0; i < n; i++) {
        const char *l = db_result_value(res, i, R_LABEL);
        rows[i].none = l == NULL;
        snprintf(rows[i].label, sizeof rows[i].label, "%s", l ? l : "");
        for (int k = R_OFFERED; k < R__COUNT; k++) {
            if (k == R_SCORE_SUM) {
                const char *s = db_result_value(res, i, k);
                rows[i].score_sum = s ? strtod(s, NULL) : 0.0;
            } else if (db_result_int64(res, i, k, &rows[i].v[k]) != CS_OK) {
                rows[i].v[k] = -1;
            }
        }
    }
    db_result_free(res);
    *rows_out = rows;
    *n_out = n;
    return CS_EXIT_OK;
}

int cmd_report(const cli_ctx *ctx)
{
    report_req r;
    int ex = report_parse(ctx, &r);
    if (ex != CS_EXIT_OK)
        return ex;
    db_conn *c = NULL;
    if ((ex = report_db_open(ctx, &c)) != CS_EXIT_OK) {
        db_close(c);
        return ex;
    }
    char queue_ids[4096] = "", agent_ids[4096] = "";
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
    kpi_row *rows = NULL;
    int n = 0;
    if (ex == CS_EXIT_OK) {
        const char *params[6] = {r.from,     r.to,     r.queue ? queue_ids : NULL,
                                 r.agent ? agent_ids : NULL, r.day_from, r.day_to};
        ex = report_query(c, &r, params, &rows, &n);
    }
    db_close(c);
    if (ex != CS_EXIT_OK) {
        free(rows);
        return ex;
    }
    kpi_row total;
    memset(&total, 0, sizeof total);
    snprintf(total.label, sizeof total.label, "total");
    total.v[R_T_MIN] = total.v[R_T_MAX] = total.v[R_SHORT_MIN] = total.v[R_SHORT_MAX] = -1;
    total.v[R_FCRW_MIN] = total.v[R_FCRW_MAX] = -1;
    for (int i = 0; i < n; i++)
        kpi_add(&total, &rows[i]);
    if (total.v[R_T_MIN] != total.v[R_T_MAX] || total.v[R_SHORT_MIN] != total.v[R_SHORT_MAX])
        cs_warn("report: the range was rolled up with different thresholds (T %" PRId64 "..%" PRId64
                " ms, short abandon %" PRId64 "..%" PRId64
                " ms); service level uses each interval's own; rebuild with "
                "cs_kpi_refresh_range() for one",
                total.v[R_T_MIN], total.v[R_T_MAX], total.v[R_SHORT_MIN], total.v[R_SHORT_MAX]);
    if (total.v[R_FCRW_MIN] != total.v[R_FCRW_MAX])
        cs_warn("report: the range mixes FCR windows (%" PRId64 "..%" PRId64 " s)",
                total.v[R_FCRW_MIN], total.v[R_FCRW_MAX]);
    FILE *f = stdout;
    if (r.format == CLI_FORMAT_JSON) {
        int rc = print_json(f, &r, rows, n, &total);
        if (rc != CS_OK)
            cs_error("report: JSON not written: %s", cs_err_msg(rc));
    } else if (r.format == CLI_FORMAT_CSV) {
        fprintf(f, "%s\n", CSV_HEADER);
        if (r.by == BY_TOTAL)
            row_csv(f, &total, r.formula);
        else
            for (int i = 0; i < n; i++)
                row_csv(f, &rows[i], r.formula);
    } else {
        print_table(f, &r, rows, n, &total);
    }
    free(rows);
    if (fflush(f) != 0 || ferror(f))
        return CS_EXIT_PARTIAL;
    return CS_EXIT_OK;
}
