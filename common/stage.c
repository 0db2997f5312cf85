/*
 * stage.c — options, configuration, logging and signals for every program.
 *
 * The order of work is fixed and visible in cs_stage_parse():
 *   1. getopt_long over the common options and the program's own (whose
 *      callbacks run as their options are met, in command-line order);
 *   2. --help / --version / --help-config answer and stop, before any file is
 *      read, so help works even with a broken configuration;
 *   3. positional argument count;
 *   4. configuration: table defaults, then the file, then every --set in order;
 *   5. --print-config prints the result and stops.
 * cs_stage_parse() never exits and writes only to the FILEs it is given, so a
 * test drives it with an argv array; cs_stage_start() is the thin wrapper that
 * exits, starts logging and installs the signal handlers.
 *
 * Global state: the stop flag (a volatile sig_atomic_t written by the signal
 * handler), and getopt's own optind/optarg, which are reset on every parse.
 * This file does not drop privileges, daemonise or fork: systemd does the
 * first two, and the stages are single processes.
 */
#include "stage.h"

#include "error.h"

#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#ifndef CALLSCOPE_VERSION
#define CALLSCOPE_VERSION "unknown"
#endif

#define STAGE_ERR_MAX 512
#define STAGE_HELP_COL 30 /* column where option help starts */

enum {
    STAGE_OPT_SET = 256,
    STAGE_OPT_PRINT_CONFIG,
    STAGE_OPT_HELP_CONFIG,
    STAGE_OPT_PROGRAM = 512 /* program option i is STAGE_OPT_PROGRAM + i */
};

static volatile sig_atomic_t stage_stop;

static const struct option stage_common_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"config", required_argument, NULL, 'c'},
    {"set", required_argument, NULL, STAGE_OPT_SET},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"print-config", no_argument, NULL, STAGE_OPT_PRINT_CONFIG},
    {"help-config", no_argument, NULL, STAGE_OPT_HELP_CONFIG},
};
#define STAGE_NCOMMON (sizeof stage_common_opts / sizeof stage_common_opts[0])
#define STAGE_COMMON_SHORTS "hVcvq"

/* Help lines of the common options, in the order of stage_common_opts. */
static const char *const stage_common_help[] = {
    "display this help and exit",
    "output version information and exit",
    "read the configuration from FILE",
    "set one configuration key (repeatable; after the file)",
    "log more: debug messages (repeatable)",
    "log less: warnings and errors only; twice: errors only",
    "print the effective configuration (secrets masked) and exit",
    "list every configuration key with type, default and help, and exit",
};
static const char *const stage_common_args[] = {NULL, NULL, "FILE", "KEY=VALUE",
                                                NULL, NULL, NULL,   NULL};

static const char *stage_name(const cs_stage_def *def)
{
    return def->name != NULL ? def->name : "callscope";
}

static void stage_usage_hint(const cs_stage_def *def, FILE *errout)
{
    fprintf(errout, "Try '%s --help' for more information.\n", stage_name(def));
}

/* "  -c, --config=FILE" padded to the help column, then the help text. */
static void stage_usage_line(FILE *out, int short_name, const char *name, int has_arg,
                             const char *arg, const char *help)
{
    char left[128];
    int n;

    if (arg == NULL)
        arg = "ARG";
    n = snprintf(left, sizeof left, "  %c%c%c --%s%s%s%s", short_name ? '-' : ' ',
                 short_name ? short_name : ' ', short_name ? ',' : ' ', name,
                 has_arg == optional_argument ? "[=" : has_arg == required_argument ? "=" : "",
                 has_arg != no_argument ? arg : "", has_arg == optional_argument ? "]" : "");
    if (n < 0)
        return;
    if (n < STAGE_HELP_COL - 1)
        fprintf(out, "%-*s%s\n", STAGE_HELP_COL, left, help != NULL ? help : "");
    else
        fprintf(out, "%s\n%*s%s\n", left, STAGE_HELP_COL, "", help != NULL ? help : "");
}

void cs_stage_usage(const cs_stage_def *def, FILE *out)
{
    size_t i;

    fprintf(out, "Usage: %s %s\n", stage_name(def), def->synopsis != NULL ? def->synopsis : "[OPTION]...");
    if (def->description != NULL)
        fprintf(out, "%s\n", def->description);
    if (def->nopts > 0) {
        fprintf(out, "\nOptions:\n");
        for (i = 0; i < def->nopts; i++) {
            const cs_stage_opt *o = &def->opts[i];
            stage_usage_line(out, o->short_name, o->name, o->has_arg, o->arg_name, o->help);
        }
    }
    fprintf(out, "\nCommon options:\n");
    for (i = 0; i < STAGE_NCOMMON; i++) {
        const struct option *o = &stage_common_opts[i];
        stage_usage_line(out, o->val < 256 ? o->val : 0, o->name, o->has_arg,
                         stage_common_args[i], stage_common_help[i]);
    }
    fprintf(out, "\nConfiguration file: --config FILE, else $CALLSCOPE_CONFIG,\n  else %s%s.\n",
            def->default_config != NULL ? def->default_config : "none",
            def->default_config != NULL ? " if it exists" : "");
    fprintf(out, "Order: built-in defaults, then the file, then each --set in order.\n");
    fprintf(out, "\nExit status:\n"
                 "  0   success\n"
                 "  1   some items failed and were set aside; the rest was done\n"
                 "  2   usage error (bad option or argument)\n"
                 "  3   configuration error\n"
                 "  4   environment error (database, permissions, disk)\n"
                 "  70  internal error\n");
}

/* Program options must not clash with the common ones or each other. */
static int stage_check_def(const cs_stage_def *def, FILE *errout)
{
    size_t i, j;

    if (def->nkeys > 0 && def->keys == NULL) {
        fprintf(errout, "%s: internal error: no configuration table\n", stage_name(def));
        return CS_EXIT_INTERNAL;
    }
    for (i = 0; i < def->nopts; i++) {
        const cs_stage_opt *o = &def->opts[i];
        int clash = o->name == NULL || o->handle == NULL ||
                    (o->short_name != 0 &&
                     (o->short_name < '0' || o->short_name > 'z' ||
                      strchr(STAGE_COMMON_SHORTS, o->short_name) != NULL));
        for (j = 0; !clash && j < STAGE_NCOMMON; j++)
            clash = strcmp(o->name, stage_common_opts[j].name) == 0;
        for (j = 0; !clash && j < i; j++)
            clash = strcmp(o->name, def->opts[j].name) == 0 ||
                    (o->short_name != 0 && o->short_name == def->opts[j].short_name);
        if (clash) {
            fprintf(errout, "%s: internal error: option --%s is incomplete or clashes\n",
                    stage_name(def), o->name != NULL ? o->name : "(null)");
            return CS_EXIT_INTERNAL;
        }
    }
    return CS_OK;
}

/* The getopt tables for common + program options; caller frees both. */
static int stage_build_getopt(const cs_stage_def *def, struct option **longopts, char **shorts)
{
    size_t i, k = 0;
    struct option *lo = calloc(STAGE_NCOMMON + def->nopts + 1, sizeof *lo);
    char *so = malloc(sizeof(":hVc:vq") + 3 * def->nopts);

    if (lo == NULL || so == NULL) {
        free(lo);
        free(so);
        return CS_ERR_NOMEM;
    }
    memcpy(lo, stage_common_opts, sizeof stage_common_opts);
    strcpy(so, ":hVc:vq");
    k = strlen(so);
    for (i = 0; i < def->nopts; i++) {
        const cs_stage_opt *o = &def->opts[i];
        lo[STAGE_NCOMMON + i].name = o->name;
        lo[STAGE_NCOMMON + i].has_arg = o->has_arg;
        lo[STAGE_NCOMMON + i].val = STAGE_OPT_PROGRAM + (int)i;
        if (o->short_name != 0) {
            so[k++] = (char)o->short_name;
            if (o->has_arg != no_argument)
                so[k++] = ':';
            if (o->has_arg == optional_argument)
                so[k++] = ':';
        }
    }
    so[k] = '\0';
    *longopts = lo;
    *shorts = so;
    return CS_OK;
}

/* The program option for getopt's return value c, or NULL. */
static const cs_stage_opt *stage_program_opt(const cs_stage_def *def, int c)
{
    size_t i;

    if (c >= STAGE_OPT_PROGRAM && (size_t)(c - STAGE_OPT_PROGRAM) < def->nopts)
        return &def->opts[c - STAGE_OPT_PROGRAM];
    for (i = 0; i < def->nopts; i++) {
        if (def->opts[i].short_name != 0 && def->opts[i].short_name == c)
            return &def->opts[i];
    }
    return NULL;
}

typedef struct stage_flags {
    int help, version, print_config, help_config;
    const char *config_opt;
    const char **sets; /* --set arguments in order (borrowed from argv) */
    size_t nsets;
} stage_flags;

/* Step 1: the command line. CS_STAGE_RUN or an exit code. */
static int stage_getopt(const cs_stage_def *def, int argc, char **argv, cs_stage *st,
                        stage_flags *fl, FILE *errout)
{
    struct option *longopts;
    char *shorts;
    char err[STAGE_ERR_MAX];
    int c, rc = CS_STAGE_RUN;

    if (stage_build_getopt(def, &longopts, &shorts) != CS_OK) {
        fprintf(errout, "%s: out of memory\n", stage_name(def));
        return CS_EXIT_INTERNAL;
    }
    optind = 0; /* glibc: full re-initialisation */
    opterr = 0; /* our own messages */
    while (rc == CS_STAGE_RUN && (c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        const cs_stage_opt *po;
        switch (c) {
        case 'h':
            fl->help = 1;
            break;
        case 'V':
            fl->version = 1;
            break;
        case 'c':
            fl->config_opt = optarg;
            break;
        case 'v':
            st->verbose++;
            break;
        case 'q':
            st->quiet++;
            break;
        case STAGE_OPT_SET:
            fl->sets[fl->nsets++] = optarg;
            break;
        case STAGE_OPT_PRINT_CONFIG:
            fl->print_config = 1;
            break;
        case STAGE_OPT_HELP_CONFIG:
            fl->help_config = 1;
            break;
        case ':':
        case '?': {
            /* glibc sets optopt to the option's val also for long options:
             * tell them apart by the word that failed */
            const char *word = argv[optind - 1];
            int is_long = strncmp(word, "--", 2) == 0;
            int namelen = (int)strcspn(word, "=");
            if (c == ':' && is_long)
                fprintf(errout, "%s: option '%.*s' requires an argument\n", stage_name(def),
                        namelen, word);
            else if (c == ':')
                fprintf(errout, "%s: option requires an argument -- '%c'\n", stage_name(def),
                        optopt);
            else if (is_long && optopt != 0)
                fprintf(errout, "%s: option '%.*s' doesn't allow an argument\n",
                        stage_name(def), namelen, word);
            else if (is_long)
                fprintf(errout, "%s: unrecognized option '%.*s'\n", stage_name(def), namelen,
                        word);
            else
                fprintf(errout, "%s: invalid option -- '%c'\n", stage_name(def), optopt);
            rc = CS_EXIT_USAGE;
            break;
        }
        default:
            po = stage_program_opt(def, c);
            if (po == NULL) {
                fprintf(errout, "%s: internal error: getopt returned %d\n", stage_name(def), c);
                rc = CS_EXIT_INTERNAL;
                break;
            }
            err[0] = '\0';
            if (po->handle(def->ctx, optarg, err, sizeof err) != 0) {
                fprintf(errout, "%s: --%s: %s\n", stage_name(def), po->name,
                        err[0] != '\0' ? err : "invalid argument");
                rc = CS_EXIT_USAGE;
            }
            break;
        }
    }
    free(longopts);
    free(shorts);
    if (rc == CS_STAGE_RUN) {
        st->args = argv + optind;
        st->nargs = argc - optind;
    }
    return rc;
}

/* Step 4: defaults, file, --set. CS_STAGE_RUN or an exit code. */
static int stage_configure(const cs_stage_def *def, void *cfg, cs_stage *st,
                           const stage_flags *fl, FILE *errout)
{
    char err[STAGE_ERR_MAX];
    const char *path = fl->config_opt;
    const char *env = getenv("CALLSCOPE_CONFIG");
    int optional = 0, rc;
    size_t i;

    rc = cfg_defaults(def->keys, def->nkeys, cfg, err, sizeof err);
    if (rc != CS_OK) {
        fprintf(errout, "%s: internal error: %s\n", stage_name(def), err);
        return CS_EXIT_INTERNAL;
    }
    if (path == NULL && env != NULL && env[0] != '\0')
        path = env;
    if (path == NULL && def->default_config != NULL) {
        path = def->default_config;
        optional = 1;
    }
    if (path != NULL) {
        rc = cfg_load_file(def->keys, def->nkeys, cfg, path, err, sizeof err);
        if (rc == CS_ERR_NOTFOUND && optional) {
            path = NULL;
        } else if (rc != CS_OK) {
            fprintf(errout, "%s: %s\n", stage_name(def), err);
            return CS_EXIT_CONFIG;
        }
    }
    st->config_path = path;
    for (i = 0; i < fl->nsets; i++) {
        rc = cfg_set(def->keys, def->nkeys, cfg, fl->sets[i], err, sizeof err);
        if (rc != CS_OK) {
            fprintf(errout, "%s: --set: %s\n", stage_name(def), err);
            return CS_EXIT_CONFIG;
        }
    }
    return CS_STAGE_RUN;
}

int cs_stage_parse(const cs_stage_def *def, int argc, char **argv, void *cfg, cs_stage *st,
                   FILE *out, FILE *errout)
{
    stage_flags fl = {0};
    int rc, level;

    memset(st, 0, sizeof *st);
    rc = stage_check_def(def, errout);
    if (rc != CS_OK)
        return rc;
    fl.sets = calloc(argc > 0 ? (size_t)argc : 1, sizeof *fl.sets);
    if (fl.sets == NULL) {
        fprintf(errout, "%s: out of memory\n", stage_name(def));
        return CS_EXIT_INTERNAL;
    }
    rc = stage_getopt(def, argc, argv, st, &fl, errout);
    if (rc != CS_STAGE_RUN) {
        stage_usage_hint(def, errout);
        goto done;
    }
    if (fl.help) {
        cs_stage_usage(def, out);
        rc = CS_EXIT_OK;
        goto done;
    }
    if (fl.version) {
        fprintf(out, "%s %s\n", stage_name(def),
                def->version != NULL ? def->version : CALLSCOPE_VERSION);
        rc = CS_EXIT_OK;
        goto done;
    }
    if (fl.help_config) {
        cfg_help(def->keys, def->nkeys, out);
        rc = CS_EXIT_OK;
        goto done;
    }
    if (st->nargs < def->min_args || (def->max_args >= 0 && st->nargs > def->max_args)) {
        fprintf(errout, "%s: %s arguments (%d given)\n", stage_name(def),
                st->nargs < def->min_args ? "missing" : "too many", st->nargs);
        stage_usage_hint(def, errout);
        rc = CS_EXIT_USAGE;
        goto done;
    }
    rc = stage_configure(def, cfg, st, &fl, errout);
    if (rc != CS_STAGE_RUN)
        goto done;
    level = (int)CS_LOG_INFO + st->verbose - st->quiet;
    st->log_level = level < CS_LOG_ERROR   ? CS_LOG_ERROR
                    : level > CS_LOG_DEBUG ? CS_LOG_DEBUG
                                           : (cs_log_level)level;
    if (fl.print_config) {
        cfg_print(def->keys, def->nkeys, cfg, out);
        rc = CS_EXIT_OK;
    }
done:
    free(fl.sets);
    fflush(out);
    fflush(errout);
    return rc;
}

static void stage_on_signal(int sig)
{
    stage_stop = sig;
}

int cs_stage_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = stage_on_signal;
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return CS_ERR_IO;
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return CS_ERR_IO;
    return CS_OK;
}

int cs_stage_stop_requested(void)
{
    return stage_stop;
}

void cs_stage_request_stop(void)
{
    stage_stop = SIGTERM;
}

void cs_stage_start(const cs_stage_def *def, int argc, char **argv, void *cfg, cs_stage *st)
{
    int rc = cs_stage_parse(def, argc, argv, cfg, st, stdout, stderr);

    if (rc != CS_STAGE_RUN) {
        cfg_free(def->keys, def->nkeys, cfg);
        exit(rc);
    }
    cs_log_init(def->stage != NULL ? def->stage : stage_name(def), st->log_level);
    if (cs_stage_signals() != CS_OK)
        cs_fatal(CS_EXIT_INTERNAL, "cannot install signal handlers");
    if (st->config_path != NULL)
        cs_debug("configuration read from %s", st->config_path);
}
