/*
 * test_stage.c — the program skeleton: cs_stage_parse() driven with argv
 * arrays (common and program options, config file sources and their order,
 * help/version/print-config output, exact usage errors and exit codes), and
 * cs_stage_start() in forked children (exit codes, stderr, signal handling).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "stage.h"
#include "test_cfg_table.h"
#include "testsupport.h"

typedef struct prog_ctx {
    const char *iface;
    int dry_run;
    long limit;
    int calls;
} prog_ctx;

static int opt_iface(void *ctx, const char *arg, char *err, size_t errcap)
{
    prog_ctx *p = ctx;
    (void)err;
    (void)errcap;
    p->iface = arg;
    p->calls++;
    return 0;
}

static int opt_dry_run(void *ctx, const char *arg, char *err, size_t errcap)
{
    prog_ctx *p = ctx;
    (void)err;
    (void)errcap;
    assert_null(arg);
    p->dry_run++;
    p->calls++;
    return 0;
}

static int opt_limit(void *ctx, const char *arg, char *err, size_t errcap)
{
    prog_ctx *p = ctx;
    char *end;

    p->limit = strtol(arg, &end, 10);
    p->calls++;
    if (*arg == '\0' || *end != '\0') {
        snprintf(err, errcap, "\"%s\" is not a number", arg);
        return -1;
    }
    return 0;
}

static const cs_stage_opt prog_opts[] = {
    {"interface", 'i', required_argument, "IFACE", "capture on this network interface", opt_iface},
    {"dry-run", 0, no_argument, NULL, "do everything but write", opt_dry_run},
    {"limit", 'n', required_argument, "N", "stop after N calls", opt_limit},
};

typedef struct fx {
    char dir[512];
    char conf[600];
    char missing[600];
    prog_ctx ctx;
    cs_stage_def def;
    tcfg cfg;
    cs_stage st;
    char *out, *err;
    size_t outlen, errlen;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);

    if (f == NULL || ts_mkdtemp(f->dir, sizeof f->dir, "stage") != 0)
        return -1;
    snprintf(f->conf, sizeof f->conf, "%s/test.conf", f->dir);
    snprintf(f->missing, sizeof f->missing, "%s/missing.conf", f->dir);
    f->def = (cs_stage_def){
        .name = "callscope-test",
        .stage = "test",
        .version = "1.2.3",
        .synopsis = "[OPTION]... PCAP...",
        .description = "Reads PCAP files and does test things.",
        .default_config = f->missing,
        .keys = tcfg_keys,
        .nkeys = TCFG_N,
        .opts = prog_opts,
        .nopts = sizeof prog_opts / sizeof prog_opts[0],
        .ctx = &f->ctx,
        .min_args = 0,
        .max_args = 2,
    };
    unsetenv("CALLSCOPE_CONFIG");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    cfg_free(tcfg_keys, TCFG_N, &f->cfg);
    free(f->out);
    free(f->err);
    ts_rmrf(f->dir);
    unsetenv("CALLSCOPE_CONFIG");
    free(f);
    return 0;
}

/* Runs cs_stage_parse on a NULL-terminated argv; output lands in f->out/f->err. */
static int parse(fx *f, char **argv)
{
    FILE *out, *err;
    int argc = 0, rc;

    while (argv[argc] != NULL)
        argc++;
    free(f->out);
    free(f->err);
    cfg_free(tcfg_keys, TCFG_N, &f->cfg);
    memset(&f->ctx, 0, sizeof f->ctx);
    out = open_memstream(&f->out, &f->outlen);
    err = open_memstream(&f->err, &f->errlen);
    assert_non_null(out);
    assert_non_null(err);
    rc = cs_stage_parse(&f->def, argc, argv, &f->cfg, &f->st, out, err);
    fclose(out);
    fclose(err);
    return rc;
}

static void test_run_with_options(void **state)
{
    fx *f = *state;
    char *argv[] = {"callscope-test", "-i", "eth1", "a.pcap", "--set", "capture.max_calls=7",
                    "-vv", "--dry-run", "--set=spool.dir=/s", "b.pcap", "--limit=5", NULL};

    assert_int_equal(parse(f, argv), CS_STAGE_RUN);
    assert_string_equal(f->out, "");
    assert_string_equal(f->err, "");
    assert_string_equal(f->ctx.iface, "eth1");
    assert_int_equal(f->ctx.dry_run, 1);
    assert_int_equal(f->ctx.limit, 5);
    assert_int_equal(f->ctx.calls, 3);
    assert_int_equal(f->cfg.max_calls, 7);
    assert_string_equal(f->cfg.spool_dir, "/s");
    assert_int_equal(f->cfg.db_timeout, 30000); /* default */
    assert_int_equal(f->st.verbose, 2);
    assert_int_equal(f->st.log_level, CS_LOG_DEBUG);
    assert_null(f->st.config_path); /* the default file does not exist */
    assert_int_equal(f->st.nargs, 2);
    assert_string_equal(f->st.args[0], "a.pcap");
    assert_string_equal(f->st.args[1], "b.pcap");
}

static void test_verbosity(void **state)
{
    static const struct {
        char *flags;
        cs_log_level level;
    } cases[] = {
        {NULL, CS_LOG_INFO}, {"-v", CS_LOG_DEBUG},  {"-vvv", CS_LOG_DEBUG},
        {"-q", CS_LOG_WARN}, {"-qq", CS_LOG_ERROR}, {"-qqqq", CS_LOG_ERROR},
        {"-vq", CS_LOG_INFO},
    };
    fx *f = *state;
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[] = {"callscope-test", cases[i].flags, NULL};
        assert_int_equal(parse(f, argv), CS_STAGE_RUN);
        assert_int_equal(f->st.log_level, cases[i].level);
    }
    {
        char *argv[] = {"callscope-test", "--quiet", "--verbose", "--verbose", NULL};
        assert_int_equal(parse(f, argv), CS_STAGE_RUN);
        assert_int_equal(f->st.log_level, CS_LOG_DEBUG);
        assert_int_equal(f->st.quiet, 1);
    }
}

static void test_config_sources(void **state)
{
    fx *f = *state;
    char env_conf[700], want[1400];

    assert_int_equal(ts_write_file(f->conf, "[capture]\nmax_calls = 50\n", 25), 0);
    snprintf(env_conf, sizeof env_conf, "%s/env.conf", f->dir);
    assert_int_equal(ts_write_file(env_conf, "[capture]\nmax_calls = 60\n", 25), 0);

    /* --config FILE */
    {
        char *argv[] = {"callscope-test", "-c", f->conf, NULL};
        assert_int_equal(parse(f, argv), CS_STAGE_RUN);
        assert_int_equal(f->cfg.max_calls, 50);
        assert_string_equal(f->st.config_path, f->conf);
    }
    /* --set after the file wins, whatever its position on the command line */
    {
        char *argv[] = {"callscope-test", "--set", "capture.max_calls=70", "--config", f->conf,
                        NULL};
        assert_int_equal(parse(f, argv), CS_STAGE_RUN);
        assert_int_equal(f->cfg.max_calls, 70);
    }
    /* the later of two --set wins */
    {
        char *argv[] = {"callscope-test", "--set", "capture.max_calls=1", "--set",
                        "capture.max_calls=2", NULL};
        assert_int_equal(parse(f, argv), CS_STAGE_RUN);
        assert_int_equal(f->cfg.max_calls, 2);
    }
    /* CALLSCOPE_CONFIG when no --config */
    setenv("CALLSCOPE_CONFIG", env_conf, 1);
    {
        char *argv[] = {"callscope-test", NULL};
        assert_int_equal(parse(f, argv), CS_STAGE_RUN);
        assert_int_equal(f->cfg.max_calls, 60);
        assert_string_equal(f->st.config_path, env_conf);
    }
    /* --config beats CALLSCOPE_CONFIG */
    {
        char *argv[] = {"callscope-test", "--config", f->conf, NULL};
        assert_int_equal(parse(f, argv), CS_STAGE_RUN);
        assert_int_equal(f->cfg.max_calls, 50);
    }
    /* CALLSCOPE_CONFIG naming a missing file is an error, like --config */
    setenv("CALLSCOPE_CONFIG", f->missing, 1);
    {
        char *argv[] = {"callscope-test", NULL};
        assert_int_equal(parse(f, argv), CS_EXIT_CONFIG);
        snprintf(want, sizeof want,
                 "callscope-test: %s: cannot open: No such file or directory\n", f->missing);
        assert_string_equal(f->err, want);
    }
    unsetenv("CALLSCOPE_CONFIG");
    /* explicit --config must exist */
    {
        char *argv[] = {"callscope-test", "-c", f->missing, NULL};
        assert_int_equal(parse(f, argv), CS_EXIT_CONFIG);
        assert_string_equal(f->err, want);
    }
    /* the program's default file is read when it exists */
    f->def.default_config = f->conf;
    {
        char *argv[] = {"callscope-test", NULL};
        assert_int_equal(parse(f, argv), CS_STAGE_RUN);
        assert_int_equal(f->cfg.max_calls, 50);
        assert_string_equal(f->st.config_path, f->conf);
    }
    /* a bad file: exit 3 with file:line: key */
    assert_int_equal(ts_write_file(f->conf, "[capture]\nmax_calls = 0\n", 24), 0);
    {
        char *argv[] = {"callscope-test", NULL};
        assert_int_equal(parse(f, argv), CS_EXIT_CONFIG);
        snprintf(want, sizeof want,
                 "callscope-test: %s:2: capture.max_calls: 0 is below the minimum 1\n", f->conf);
        assert_string_equal(f->err, want);
    }
}

static void test_help(void **state)
{
    static const char *const must[] = {
        "Usage: callscope-test [OPTION]... PCAP...\n",
        "Reads PCAP files and does test things.\n",
        "  -i, --interface=IFACE",
        "capture on this network interface",
        "      --dry-run",
        "  -n, --limit=N",
        "  -h, --help",
        "  -V, --version",
        "  -c, --config=FILE",
        "      --set=KEY=VALUE",
        "  -v, --verbose",
        "  -q, --quiet",
        "      --print-config",
        "      --help-config",
        "CALLSCOPE_CONFIG",
        "  2   usage error",
        "  70  internal error",
    };
    fx *f = *state;
    size_t i;
    char *argv[] = {"callscope-test", "--help", "--set", "capture.max_calls=0", NULL};

    /* --help answers before the configuration is built, so the bad --set is not an error */
    assert_int_equal(parse(f, argv), CS_EXIT_OK);
    assert_string_equal(f->err, "");
    for (i = 0; i < sizeof must / sizeof must[0]; i++) {
        if (strstr(f->out, must[i]) == NULL)
            print_error("missing \"%s\" in:\n%s", must[i], f->out);
        assert_non_null(strstr(f->out, must[i]));
    }
    {
        char *argv2[] = {"callscope-test", "-h", NULL};
        char *first = strdup(f->out);
        assert_int_equal(parse(f, argv2), CS_EXIT_OK);
        assert_string_equal(f->out, first);
        free(first);
    }
}

static void test_version_and_config_output(void **state)
{
    fx *f = *state;
    char *expected = NULL;
    size_t len = 0;
    FILE *m;

    {
        char *argv[] = {"callscope-test", "-V", NULL};
        assert_int_equal(parse(f, argv), CS_EXIT_OK);
        assert_string_equal(f->out, "callscope-test 1.2.3\n");
    }
    {
        char *argv[] = {"callscope-test", "--help-config", NULL};
        assert_int_equal(parse(f, argv), CS_EXIT_OK);
        assert_non_null(strstr(f->out, "capture.max_calls\n    integer in [1, 100000]"));
        assert_non_null(strstr(f->out, "review.session_secret\n"));
    }
    {
        char *argv[] = {"callscope-test", "--print-config", "--set",
                        "db.conninfo=host=x password=hunter2", "--set", "capture.max_calls=3",
                        NULL};
        assert_int_equal(parse(f, argv), CS_EXIT_OK);
        m = open_memstream(&expected, &len);
        cfg_print(tcfg_keys, TCFG_N, &f->cfg, m);
        fclose(m);
        assert_string_equal(f->out, expected);
        assert_non_null(strstr(f->out, "conninfo = host=x password=********\n"));
        assert_non_null(strstr(f->out, "max_calls = 3\n"));
        assert_null(strstr(f->out, "hunter2"));
        free(expected);
    }
}

static void test_usage_errors(void **state)
{
    static const struct {
        char *args[4];
        int rc;
        const char *err;
    } cases[] = {
        {{"--bogus"}, CS_EXIT_USAGE, "callscope-test: unrecognized option '--bogus'\n"},
        {{"-x"}, CS_EXIT_USAGE, "callscope-test: invalid option -- 'x'\n"},
        {{"--config"}, CS_EXIT_USAGE, "callscope-test: option '--config' requires an argument\n"},
        {{"-c"}, CS_EXIT_USAGE, "callscope-test: option requires an argument -- 'c'\n"},
        {{"-i"}, CS_EXIT_USAGE, "callscope-test: option requires an argument -- 'i'\n"},
        {{"--help=x"}, CS_EXIT_USAGE,
         "callscope-test: option '--help' doesn't allow an argument\n"},
        {{"--dry-run=1"}, CS_EXIT_USAGE,
         "callscope-test: option '--dry-run' doesn't allow an argument\n"},
        {{"--bogus=1"}, CS_EXIT_USAGE, "callscope-test: unrecognized option '--bogus'\n"},
        {{"--limit", "abc"}, CS_EXIT_USAGE, "callscope-test: --limit: \"abc\" is not a number\n"},
        {{"a", "b", "c"}, CS_EXIT_USAGE, "callscope-test: too many arguments (3 given)\n"},
        {{"--set", "capture.max_calls=0"}, CS_EXIT_CONFIG,
         "callscope-test: --set: capture.max_calls: 0 is below the minimum 1\n"},
        {{"--set", "nokey"}, CS_EXIT_CONFIG,
         "callscope-test: --set: \"nokey\": expected KEY=VALUE\n"},
    };
    fx *f = *state;
    char want[512];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[6] = {"callscope-test"};
        int rc, j;
        for (j = 0; j < 4 && cases[i].args[j] != NULL; j++)
            argv[j + 1] = cases[i].args[j];
        rc = parse(f, argv);
        if (cases[i].rc == CS_EXIT_USAGE)
            snprintf(want, sizeof want,
                     "%sTry 'callscope-test --help' for more information.\n", cases[i].err);
        else
            snprintf(want, sizeof want, "%s", cases[i].err);
        if (rc != cases[i].rc || strcmp(f->err, want) != 0)
            print_error("case %zu: rc %d err \"%s\"\n", i, rc, f->err);
        assert_int_equal(rc, cases[i].rc);
        assert_string_equal(f->err, want);
        assert_string_equal(f->out, "");
    }
    /* too few arguments */
    f->def.min_args = 1;
    {
        char *argv[] = {"callscope-test", NULL};
        assert_int_equal(parse(f, argv), CS_EXIT_USAGE);
        assert_string_equal(f->err, "callscope-test: missing arguments (0 given)\n"
                                    "Try 'callscope-test --help' for more information.\n");
    }
}

static void test_bad_definitions(void **state)
{
    static const cs_stage_opt clash_long[] = {
        {"config", 0, no_argument, NULL, "x", opt_dry_run},
    };
    static const cs_stage_opt clash_short[] = {
        {"cfg", 'c', no_argument, NULL, "x", opt_dry_run},
    };
    static const cs_stage_opt dup[] = {
        {"a", 'a', no_argument, NULL, "x", opt_dry_run},
        {"b", 'a', no_argument, NULL, "x", opt_dry_run},
    };
    fx *f = *state;
    char *argv[] = {"callscope-test", NULL};

    f->def.opts = clash_long;
    f->def.nopts = 1;
    assert_int_equal(parse(f, argv), CS_EXIT_INTERNAL);
    assert_string_equal(f->err,
                        "callscope-test: internal error: option --config is incomplete or clashes\n");
    f->def.opts = clash_short;
    assert_int_equal(parse(f, argv), CS_EXIT_INTERNAL);
    f->def.opts = dup;
    f->def.nopts = 2;
    assert_int_equal(parse(f, argv), CS_EXIT_INTERNAL);
    assert_string_equal(f->err,
                        "callscope-test: internal error: option --b is incomplete or clashes\n");
}

/* Runs cs_stage_start in a child with stdout/stderr on pipes; returns the wait status. */
static int start_child(fx *f, char **argv, int after_start, char *out, char *err, size_t cap)
{
    int po[2], pe[2], status = 0, argc = 0;
    ssize_t r;
    size_t ol = 0, el = 0;
    pid_t pid;

    while (argv[argc] != NULL)
        argc++;
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tcfg c = {0};
        cs_stage st;
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        cs_stage_start(&f->def, argc, argv, &c, &st);
        if (after_start == 1) {
            /* the stop flag: raise SIGTERM, we must survive and see it */
            if (cs_stage_stop_requested() != 0)
                _exit(10);
            raise(SIGTERM);
            _exit(cs_stage_stop_requested() == SIGTERM ? 20 : 11);
        }
        if (after_start == 2) {
            /* SIGPIPE ignored: writing to a closed pipe fails with EPIPE */
            int p[2];
            if (pipe(p) != 0)
                _exit(12);
            close(p[0]);
            _exit(write(p[1], "x", 1) < 0 && errno == EPIPE ? 21 : 13);
        }
        cs_info("running with max_calls %lld", (long long)c.max_calls);
        _exit(0);
    }
    close(po[1]);
    close(pe[1]);
    while (ol < cap - 1 && (r = read(po[0], out + ol, cap - 1 - ol)) > 0)
        ol += (size_t)r;
    while (el < cap - 1 && (r = read(pe[0], err + el, cap - 1 - el)) > 0)
        el += (size_t)r;
    out[ol] = '\0';
    err[el] = '\0';
    close(po[0]);
    close(pe[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_start_in_child(void **state)
{
    fx *f = *state;
    char out[8192], err[8192];

    {
        char *argv[] = {"callscope-test", "--bogus", NULL};
        assert_int_equal(start_child(f, argv, 0, out, err, sizeof out), CS_EXIT_USAGE);
        assert_string_equal(out, "");
        assert_string_equal(err, "callscope-test: unrecognized option '--bogus'\n"
                                 "Try 'callscope-test --help' for more information.\n");
    }
    {
        char *argv[] = {"callscope-test", "--help", NULL};
        assert_int_equal(start_child(f, argv, 0, out, err, sizeof out), CS_EXIT_OK);
        assert_non_null(strstr(out, "Usage: callscope-test"));
        assert_string_equal(err, "");
    }
    {
        char *argv[] = {"callscope-test", "--set", "capture.max_calls=0", NULL};
        assert_int_equal(start_child(f, argv, 0, out, err, sizeof out), CS_EXIT_CONFIG);
    }
    {
        char *argv[] = {"callscope-test", "--set", "capture.max_calls=42", NULL};
        assert_int_equal(start_child(f, argv, 0, out, err, sizeof out), 0);
        assert_non_null(strstr(err, "info test["));
        assert_non_null(strstr(err, "]: running with max_calls 42\n"));
    }
    {
        char *argv[] = {"callscope-test", "-q", "--set", "capture.max_calls=42", NULL};
        assert_int_equal(start_child(f, argv, 0, out, err, sizeof out), 0);
        assert_string_equal(err, ""); /* -q: info is not logged */
    }
    {
        char *argv[] = {"callscope-test", NULL};
        assert_int_equal(start_child(f, argv, 1, out, err, sizeof out), 20);
        assert_int_equal(start_child(f, argv, 2, out, err, sizeof out), 21);
    }
}

static void test_request_stop(void **state)
{
    (void)state;
    assert_int_equal(cs_stage_stop_requested(), 0);
    cs_stage_request_stop();
    assert_int_equal(cs_stage_stop_requested(), SIGTERM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_with_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verbosity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_and_config_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_definitions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_in_child, setup, teardown),
        cmocka_unit_test(test_request_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
