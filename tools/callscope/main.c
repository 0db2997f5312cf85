/*
 * main.c — `callscope`, the umbrella command line.
 *
 * One program for the operator's everyday work on the database and the
 * archive; the stages themselves are separate daemons. This file only states
 * what the umbrella needs (its configuration table, its options, its commands)
 * and hands the rest to the shared skeleton in common/stage.c.
 *
 * Commands so far: `db migrate`, `db status`. `run`, `report`, `calls`,
 * `verify`, `export`, `retention` and `user` arrive with their stages.
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
};

typedef struct cli_opts {
    const char *db; /* --db, applied after the configuration is built */
    int format;
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

static const cs_stage_opt cli_opts_tab[] = {
    {"db", 'd', required_argument, "CONNINFO",
     "database to use (overrides db.conninfo from the file and --set)", opt_db},
    {"format", 'f', required_argument, "FORMAT", "output format: table (default), csv, json",
     opt_format},
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

    cli_ctx ctx = {.cfg = &cfg, .format = o.format, .args = st.args + 1, .nargs = st.nargs - 1};
    int rc;
    if (strcmp(st.args[0], "db") == 0) {
        rc = cmd_db(&ctx);
    } else {
        fprintf(stderr, "callscope: unknown command '%s'\nTry 'callscope --help' for more information.\n",
                st.args[0]);
        rc = CS_EXIT_USAGE;
    }
    cfg_free(cli_keys, sizeof cli_keys / sizeof cli_keys[0], &cfg);
    return rc;
}
