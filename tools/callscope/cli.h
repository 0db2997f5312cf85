/*
 * cli.h — what the umbrella CLI's subcommands share.
 *
 * main.c parses the common options and the configuration with the stage
 * skeleton (common/stage.h) and dispatches on the first positional argument;
 * each cmd_*.c implements one command group and returns a cs_exit code.
 */
#ifndef CALLSCOPE_CLI_H
#define CALLSCOPE_CLI_H

#include <stdint.h>

typedef enum cli_format {
    CLI_FORMAT_TABLE = 0,
    CLI_FORMAT_CSV = 1,
    CLI_FORMAT_JSON = 2
} cli_format;

/* The umbrella's configuration; filled by the stage skeleton. */
typedef struct cli_config {
    char *db_conninfo;            /* db.conninfo */
    int64_t db_connect_tries;     /* db.connect_tries */
    char *archive_dir;            /* archive.dir: the archive root */
    int64_t verify_progress_rows; /* verify.progress_rows */
    char *report_sl_formula;      /* report.sl_formula: slformula.h config name */
} cli_config;

/* Command-line state beyond the configuration. */
typedef struct cli_ctx {
    const cli_config *cfg;
    int format;            /* cli_format, from --format */
    const char *from, *to; /* --from / --to (verify), NULL if not given */
    const char *archive;   /* --archive (verify), overrides archive.dir; NULL if not given */
    /* calls' filters (cmd_calls.c validates them), NULL if not given */
    const char *queue;   /* --queue NAME */
    const char *agent;   /* --agent NAME-or-EXTENSION */
    const char *outcome; /* --outcome answered|abandoned|busy|no_answer|failed */
    const char *text;    /* --text QUERY */
    const char *channel; /* --channel customer|agent */
    const char *limit;   /* --limit N */
    int explain;         /* --explain: print the plan instead of the calls */
    const char *min_score, *max_score; /* --min-score / --max-score N (0..100) */
    int failed;                        /* --failed: failed or critical-failed calls only */
    const char *work;    /* --work DIR (run) */
    int archive_configured;  /* archive.dir differs from its default (run) */
    const char *config_path; /* the configuration file read, or NULL (run passes it on) */
    const char *by;          /* --by hour|day|week|month|queue|agent (report) */
    const char *sl_formula;  /* --sl-formula NAME (report), overrides report.sl_formula */
    char **args;         /* positional arguments after the command group name */
    int nargs;
} cli_ctx;

/* `callscope db migrate|status`. Returns a cs_exit code. */
int cmd_db(const cli_ctx *ctx);

/* `callscope verify` (cmd_verify.c). Returns a cs_exit code. */
int cmd_verify(const cli_ctx *ctx);

/* `callscope calls` (cmd_calls.c): the calls matching the filters in ctx,
 * newest first, in ctx->format on stdout. Returns a cs_exit code. */
int cmd_calls(const cli_ctx *ctx);

/* `callscope show CALL` (cmd_show.c): one call in full, JSON or table. */
int cmd_show(const cli_ctx *ctx);

/* `callscope run CAPTURE...` (cmd_run.c): every stage over the captures,
 * then the KPI summary. */
int cmd_run(const cli_ctx *ctx);

/* `callscope report kpi` (cmd_report.c): KPIs summed from kpi_interval over
 * --from/--to, grouped by --by, in ctx->format on stdout. */
int cmd_report(const cli_ctx *ctx);

#endif
