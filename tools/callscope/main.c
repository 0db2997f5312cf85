/*
 * main.c — `callscope`, the umbrella command line.
 *
 * One program for the operator's everyday work on the database and the
 * archive; the stages themselves are separate daemons. This file only states
 * what the umbrella needs (its configuration table, its options, its commands)
 * and hands the rest to the shared skeleton in common/stage.c.
 *
 * Commands so far: `db migrate`, `db status`, `verify`. `run`, `report`,
 * `calls`, `export`, `retention` and `user` arrive with their stages.
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
};

typedef struct cli_opts {
    const char *db; /* --db, applied after the configuration is built */
    int format;
    const char *from, *to, *archive; /* verify's --from, --to, --archive */
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

static const cs_stage_opt cli_opts_tab[] = {
    {"db", 'd', required_argument, "CONNINFO",
     "database to use (overrides db.conninfo from the file and --set)", opt_db},
    {"format", 'f', required_argument, "FORMAT", "output format: table (default), csv, json",
     opt_format},
    {"from", 0, required_argument, "TIME",
     "verify: report recordings started at or after TIME (ISO 8601 or YYYY-MM-DD, UTC)", opt_from},
    {"to", 0, required_argument, "TIME",
     "verify: report recordings started before TIME (a bare date: through that day)", opt_to},
    {"archive", 0, required_argument, "DIR", "verify: archive root (overrides archive.dir)",
     opt_archive},
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
                   .args = st.args + 1,
                   .nargs = st.nargs - 1};
    int rc;
    if (strcmp(st.args[0], "db") == 0) {
        rc = cmd_db(&ctx);
    } else if (strcmp(st.args[0], "verify") == 0) {
        rc = cmd_verify(&ctx);
    } else {
        fprintf(stderr,
                "callscope: unknown command '%s'\nTry 'callscope --help' for more information.\n",
                st.args[0]);
        rc = CS_EXIT_USAGE;
    }
    cfg_free(cli_keys, sizeof cli_keys / sizeof cli_keys[0], &cfg);
    return rc;
}
