/*
 * stage.h — the program skeleton every callscope program's main() uses.
 *
 * In the manner of Postfix's single_server: main() fills one cs_stage_def (its
 * name, synopsis, configuration table, extra options) and hands it with
 * argc/argv to cs_stage_start(), which parses the common options, builds the
 * configuration (table defaults, then the config file, then each --set in
 * command-line order), starts logging under the stage name, installs the
 * signal handlers, and returns only when the program should run. The work
 * loop then polls cs_stage_stop_requested().
 *
 * Common options (docs/configuration.md):
 *   -h, --help            usage on stdout, exit 0
 *   -V, --version         "<name> <version>" on stdout, exit 0
 *   -c, --config=FILE     configuration file; must exist
 *       --set=KEY=VALUE   override one key; repeatable, applied in order
 *   -v, --verbose         one log level more (info -> debug); repeatable
 *   -q, --quiet           one log level less (info -> warn -> error); repeatable
 *       --print-config    print the effective configuration (secrets masked), exit 0
 *       --help-config     list every configuration key, exit 0
 * The config file is --config if given, else $CALLSCOPE_CONFIG if set (must
 * exist too), else def->default_config if that file exists, else none.
 * A bad option prints one line and "Try '<name> --help' ..." on stderr, exit 2.
 *
 * Signals: SIGINT and SIGTERM set a volatile sig_atomic_t stop flag (without
 * SA_RESTART, so a blocking call returns EINTR and the loop notices); SIGPIPE
 * is ignored (a closed socket is an error return, not a death). The flag is
 * the one global here.
 *
 * Ownership: cs_stage_start/cs_stage_parse fill the caller's config struct
 * (zero-initialised by the caller; strings freed with cfg_free) and a
 * cs_stage whose pointers borrow from argv, the environment or def.
 */
#ifndef CALLSCOPE_STAGE_H
#define CALLSCOPE_STAGE_H

#include <getopt.h> /* no_argument, required_argument, optional_argument */
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "log.h"

/* Exit codes of every callscope program (sysexits in spirit). */
typedef enum cs_exit {
    CS_EXIT_OK = 0,        /* all work done */
    CS_EXIT_PARTIAL = 1,   /* some items failed and were set aside; the rest was done */
    CS_EXIT_USAGE = 2,     /* bad command line */
    CS_EXIT_CONFIG = 3,    /* bad or unreadable configuration */
    CS_EXIT_ENV = 4,       /* broken environment: database down, permissions, disk */
    CS_EXIT_INTERNAL = 70  /* a bug of ours (EX_SOFTWARE) */
} cs_exit;

/* cs_stage_parse() result meaning "go on and run" (not an exit code). */
#define CS_STAGE_RUN (-1)

/*
 * A program-specific option. `handle` is called for each occurrence, in
 * command-line order, with arg NULL for has_arg == no_argument (values from
 * <getopt.h>). It returns 0, or non-zero after writing a reason into err,
 * which makes a usage error (exit 2).
 */
typedef struct cs_stage_opt {
    const char *name;    /* long name without "--" */
    int short_name;      /* a letter, or 0; must not clash with h V c v q */
    int has_arg;         /* no_argument, required_argument, optional_argument */
    const char *arg_name; /* for the usage text, e.g. "FILE" */
    const char *help;    /* one line */
    int (*handle)(void *ctx, const char *arg, char *err, size_t errcap);
} cs_stage_opt;

typedef struct cs_stage_def {
    const char *name;           /* program name: "callscope-capture" */
    const char *stage;          /* stage name in log lines: "capture" */
    const char *version;        /* NULL: the build's CALLSCOPE_VERSION */
    const char *synopsis;       /* after the name: "[OPTION]... [PCAP]..." */
    const char *description;    /* a paragraph for --help */
    const char *default_config; /* read only if it exists; NULL: none */
    const cfg_key *keys;        /* the program's configuration table */
    size_t nkeys;
    const cs_stage_opt *opts;   /* program options, may be NULL */
    size_t nopts;
    void *ctx;                  /* passed to every cs_stage_opt.handle */
    int min_args, max_args;     /* positional arguments; max_args < 0: unlimited */
} cs_stage_def;

typedef struct cs_stage {
    const char *config_path;  /* the file read, or NULL */
    cs_log_level log_level;   /* from -v / -q, starting at info */
    int verbose, quiet;       /* how often -v / -q were given */
    char **args;              /* positional arguments (borrowed from argv) */
    int nargs;
} cs_stage;

/*
 * Parses argv and builds the configuration into cfg without exiting, logging
 * or touching signals: help, version, --print-config and --help-config are
 * written to out, errors to errout. Returns CS_STAGE_RUN when the program
 * should run, else the exit code (CS_EXIT_OK after help output, CS_EXIT_USAGE,
 * CS_EXIT_CONFIG, CS_EXIT_INTERNAL for a bad def). argv may be permuted
 * (getopt). Resets getopt's state, so it may be called more than once.
 */
int cs_stage_parse(const cs_stage_def *def, int argc, char **argv, void *cfg, cs_stage *st,
                   FILE *out, FILE *errout);

/*
 * cs_stage_parse with stdout/stderr; exits (freeing cfg) unless the program
 * should run; then starts logging (cs_log_init with def->stage and the
 * verbosity) and installs the signal handlers.
 */
void cs_stage_start(const cs_stage_def *def, int argc, char **argv, void *cfg, cs_stage *st);

/* Writes the usage text: synopsis, description, program options, common
 * options, exit codes. */
void cs_stage_usage(const cs_stage_def *def, FILE *out);

/* Installs the SIGINT/SIGTERM handlers and ignores SIGPIPE. CS_OK or CS_ERR_IO. */
int cs_stage_signals(void);

/* The signal number that asked to stop (SIGINT, SIGTERM), or 0. */
int cs_stage_stop_requested(void);

/* Asks the work loop to stop as a signal would (records SIGTERM). */
void cs_stage_request_stop(void);

#endif
