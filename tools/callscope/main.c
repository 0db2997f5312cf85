/*
 * main.c — `callscope`, the umbrella command line.
 *
 * One program for the operator's everyday work on the database and the
 * archive; the stages themselves are separate daemons. This file only states
 * what the umbrella needs (its configuration table, its options, its commands)
 * and hands the rest to the shared skeleton in common/stage.c.
 *
 * Commands so far: `db migrate`, `db status`, `verify`, `calls`, `show`, `run`,
 * `report kpi`. `export`, `retention` and `user` arrive with their stages.
 * Options are parsed here for every command (getopt permutes, so they may
 * come before or after the command name); each command validates its own,
 * and an option that belongs to another command is a usage error.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "stage.h"

static const char *const cli_format_names[] = {"table", "csv", "json", NULL};

static const cfg_key cli_keys[] = {
    CFG_KEY_STRING(cli_config, db_conninfo, "db.conninfo", "", CFG_CONNINFO,
                   "libpq connection string or URI of the callscope database (empty: libpq's "
                   "PG* environment variables and defaults)"),
    CFG_KEY_INT(cli_config, db_connect_tries, "db.connect_tries", "3", 1, 1000,
                "connection attempts, with exponential back-off, before giving up"),
    CFG_KEY_STRING(cli_config, archive_dir, "archive.dir", "/var/lib/callscope/archive", 0,
                   "archive root: recordings.path is relative to it (verify re-hashes files here)"),
    CFG_KEY_INT(cli_config, verify_progress_rows, "verify.progress_rows", "100000", 1,
                INT64_C(1000000000),
                "verify logs its progress every this many rows (and at least every 10 s)"),
    CFG_KEY_STRING(cli_config, report_sl_formula, "report.sl_formula", "offered", 0,
                   "report kpi's service-level formula (scoring/slformula.h): offered = answered "
                   "within T / (answered + abandoned); answered, abandons_in_sl, "
                   "offered_no_early_abandons, short_abandons_in_sl"),
};

typedef struct cli_opts {
    const char *db; /* --db, applied after the configuration is built */
    int format;
    const char *from, *to, *archive; /* verify's --from, --to, --archive */
    /* calls' filters (--from/--to too); validated by cmd_calls.c */
    const char *queue, *agent, *outcome, *text, *channel, *limit;
    int explain;
    const char *work; /* run: --work DIR */
    const char *min_score, *max_score;
    int failed;
    const char *by, *sl_formula; /* report's --by, --sl-formula; validated by cmd_report.c */
} cli_opts;

static int opt_db(void *ctx, const char *arg, char *err, size_t errcap)
{
    cli_opts *o = ctx;
    (void)err;
    (void)errcap;
    o->db = arg;
    return 0;
}

static int opt_format(void *ctx, const char *arg, char *err, size_t errcap)
{
    cli_opts *o = ctx;
    for (int i = 0; cli_format_names[i]; i++) {
        if (strcmp(arg, cli_format_names[i]) == 0) {
            o->format = i;
            return 0;
        }
    }
    snprintf(err, errcap, "--format: '%s' is not one of table, csv, json", arg);
    return -1;
}

static int opt_from(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    ((cli_opts *)ctx)->from = arg;
    return 0;
}

static int opt_to(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    ((cli_opts *)ctx)->to = arg;
    return 0;
}

static int opt_archive(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    ((cli_opts *)ctx)->archive = arg;
    return 0;
}

/* calls' string options: stores arg in the cli_opts field at `off`. */
#define CALLS_OPT(field)                                                                           \
    static int opt_##field(void *ctx, const char *arg, char *err, size_t errcap)                   \
    {                                                                                              \
        (void)err;                                                                                 \
        (void)errcap;                                                                              \
        ((cli_opts *)ctx)->field = arg;                                                            \
        return 0;                                                                                  \
    }
CALLS_OPT(queue)
CALLS_OPT(agent)
CALLS_OPT(outcome)
CALLS_OPT(text)
CALLS_OPT(channel)
CALLS_OPT(limit)
CALLS_OPT(min_score)
CALLS_OPT(max_score)
#undef CALLS_OPT

static int opt_failed(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)arg;
    (void)err;
    (void)errcap;
    ((cli_opts *)ctx)->failed = 1;
    return 0;
}

static int opt_work(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    ((cli_opts *)ctx)->work = arg;
    return 0;
}

static int opt_by(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    ((cli_opts *)ctx)->by = arg;
    return 0;
}

static int opt_sl_formula(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    ((cli_opts *)ctx)->sl_formula = arg;
    return 0;
}

static int opt_explain(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)arg;
    (void)err;
    (void)errcap;
    ((cli_opts *)ctx)->explain = 1;
    return 0;
}

static const cs_stage_opt cli_opts_tab[] = {
    {"db", 'd', required_argument, "CONNINFO",
     "database to use (overrides db.conninfo from the file and --set)", opt_db},
    {"format", 'f', required_argument, "FORMAT", "output format: table (default), csv, json",
     opt_format},
    {"from", 0, required_argument, "TIME",
     "verify, calls: recordings/calls started at or after TIME (ISO 8601 or YYYY-MM-DD, UTC)",
     opt_from},
    {"to", 0, required_argument, "TIME",
     "verify, calls: ... started before TIME (a bare date: through that day)", opt_to},
    {"archive", 0, required_argument, "DIR", "verify: archive root (overrides archive.dir)",
     opt_archive},
    {"queue", 0, required_argument, "NAME", "calls: only calls of queue NAME", opt_queue},
    {"agent", 0, required_argument, "AGENT",
     "calls: only calls answered by AGENT (name or extension)", opt_agent},
    {"outcome", 0, required_argument, "OUTCOME",
     "calls: answered, abandoned, busy, no_answer or failed", opt_outcome},
    {"text", 0, required_argument, "QUERY",
     "calls: only calls whose transcript has the words (\"phrase\", or, -word)", opt_text},
    {"channel", 0, required_argument, "SIDE",
     "calls: with --text, only words said by customer or agent", opt_channel},
    {"limit", 0, required_argument, "N",
     "calls: at most N calls, newest first (default 100; 0: all)", opt_limit},
    {"explain", 0, no_argument, NULL, "calls: print PostgreSQL's plan instead of the calls",
     opt_explain},
    {"min-score", 0, required_argument, "N", "calls: only calls scored at least N (0..100)",
     opt_min_score},
    {"max-score", 0, required_argument, "N", "calls: only calls scored at most N (0..100)",
     opt_max_score},
    {"failed", 0, no_argument, NULL,
     "calls: only calls that failed their scorecard (or a "
     "critical item)",
     opt_failed},
    {"work", 0, required_argument, "DIR",
     "run: working directory for the spool (and the archive, unless archive.dir is set); "
     "default ./callscope-run",
     opt_work},
    {"by", 0, required_argument, "GROUP",
     "report: one row per hour, day, week, month (UTC), queue or agent (default: one total)",
     opt_by},
    {"sl-formula", 0, required_argument, "NAME",
     "report: service-level formula (offered, answered, abandons_in_sl, "
     "offered_no_early_abandons, short_abandons_in_sl); overrides report.sl_formula",
     opt_sl_formula},
};

int main(int argc, char **argv)
{
    cli_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cli_opts o = {.db = NULL, .format = CLI_FORMAT_TABLE};
    const cs_stage_def def = {
        .name = "callscope",
        .stage = "callscope",
        .synopsis = "[OPTION]... COMMAND [ARG]...",
        .description =
            "The callscope umbrella command.\n"
            "\n"
            "Commands:\n"
            "  db migrate      apply the pending schema migrations (transactional; re-running\n"
            "                  is a no-op)\n"
            "  db status       list every migration: version, name, applied or pending\n"
            "  verify          walk the recordings hash chain and re-hash the archive files;\n"
            "                  reports edited/deleted rows, altered/missing files (exit 1)\n"
            "  calls           list calls, newest first, by --from/--to, --queue, --agent,\n"
            "                  --outcome and what was said: --text QUERY [--channel SIDE];\n"
            "                  --limit N (default 100); e.g. calls --text \"cancel my account\"\n"
            "  show CALL       one call in full (uuid or Call-ID): metrics, FCR, score and\n"
            "                  items, transcript, recording; --format json for the export\n"
            "  run CAPTURE...  every stage over the captures (capture, decode, transcribe,\n"
            "                  score, each --once) into the database, then the KPI summary;\n"
            "                  --config FILE is passed on to every stage, --work DIR\n"
            "  report kpi      KPIs (offered, abandonment, service level, ASA, AHT, FCR, QA\n"
            "                  score, ...) over --from/--to from the rollups (daily for\n"
            "                  whole UTC days, 15-minute for the rest and --by hour);\n"
            "                  --by hour|day|week|month|queue|agent, --queue, --agent,\n"
            "                  --sl-formula NAME\n"
            "\n"
            "The database is db.conninfo from the configuration file, --set or --db.\n"
            "See callscope(1) in docs/callscope.md.",
        .default_config = "/etc/callscope/callscope.conf",
        .keys = cli_keys,
        .nkeys = sizeof cli_keys / sizeof cli_keys[0],
        .opts = cli_opts_tab,
        .nopts = sizeof cli_opts_tab / sizeof cli_opts_tab[0],
        .ctx = &o,
        .min_args = 1,
        .max_args = -1,
    };
    cs_stage st;
    cs_stage_start(&def, argc, argv, &cfg, &st);
    if (o.db) {
        char err[256];
        if (cfg_set_value(cli_keys, sizeof cli_keys / sizeof cli_keys[0], &cfg, "db.conninfo", o.db,
                          err, sizeof err) != 0) {
            fprintf(stderr, "callscope: --db: %s\n", err);
            cfg_free(cli_keys, sizeof cli_keys / sizeof cli_keys[0], &cfg);
            return CS_EXIT_CONFIG;
        }
    }

    cli_ctx ctx = {.cfg = &cfg,
                   .format = o.format,
                   .from = o.from,
                   .to = o.to,
                   .archive = o.archive,
                   .queue = o.queue,
                   .agent = o.agent,
                   .outcome = o.outcome,
                   .text = o.text,
                   .channel = o.channel,
                   .limit = o.limit,
                   .explain = o.explain,
                   .min_score = o.min_score,
                   .max_score = o.max_score,
                   .failed = o.failed,
                   .work = o.work,
                   .archive_configured = cfg.archive_dir &&
                                         strcmp(cfg.archive_dir, "/var/lib/callscope/archive") != 0,
                   .config_path = st.config_path,
                   .by = o.by,
                   .sl_formula = o.sl_formula,
                   .args = st.args + 1,
                   .nargs = st.nargs - 1};
    int is_calls = strcmp(st.args[0], "calls") == 0;
    int is_report = strcmp(st.args[0], "report") == 0;
    /* --queue and --agent filter reports too */
    const char *calls_only = o.queue && !is_report   ? "--queue"
                             : o.agent && !is_report ? "--agent"
                             : o.outcome             ? "--outcome"
                             : o.text                ? "--text"
                             : o.channel             ? "--channel"
                             : o.limit               ? "--limit"
                             : o.explain             ? "--explain"
                             : o.min_score           ? "--min-score"
                             : o.max_score           ? "--max-score"
                             : o.failed              ? "--failed"
                                                     : NULL;
    int rc;
    if ((o.by || o.sl_formula) && !is_report) {
        fprintf(stderr,
                "callscope: %s applies to 'report' only\nTry 'callscope --help' for more "
                "information.\n",
                o.by ? "--by" : "--sl-formula");
        rc = CS_EXIT_USAGE;
    } else if (calls_only && !is_calls) {
        fprintf(stderr,
                "callscope: %s applies to 'calls' only\nTry 'callscope --help' for more "
                "information.\n",
                calls_only);
        rc = CS_EXIT_USAGE;
    } else if (is_calls && o.archive) {
        fprintf(stderr, "callscope: --archive applies to 'verify' only\nTry 'callscope --help' "
                        "for more information.\n");
        rc = CS_EXIT_USAGE;
    } else if (strcmp(st.args[0], "db") == 0) {
        rc = cmd_db(&ctx);
    } else if (strcmp(st.args[0], "verify") == 0) {
        rc = cmd_verify(&ctx);
    } else if (is_calls) {
        rc = cmd_calls(&ctx);
    } else if (o.work && strcmp(st.args[0], "run") != 0) {
        fprintf(stderr, "callscope: --work applies to 'run' only\nTry 'callscope --help' for more "
                        "information.\n");
        rc = CS_EXIT_USAGE;
    } else if (is_report) {
        rc = cmd_report(&ctx);
    } else if (strcmp(st.args[0], "show") == 0) {
        rc = cmd_show(&ctx);
    } else if (strcmp(st.args[0], "run") == 0) {
        rc = cmd_run(&ctx);
    } else {
        fprintf(stderr,
                "callscope: unknown command '%s'\nTry 'callscope --help' for more information.\n",
                st.args[0]);
        rc = CS_EXIT_USAGE;
    }
    cfg_free(cli_keys, sizeof cli_keys / sizeof cli_keys[0], &cfg);
    return rc;
}
