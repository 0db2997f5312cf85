/*
 * test_config_file.c — INI files on disk: sections, comments, quoting, CRLF,
 * errors naming file:line:key, duplicates, size limit, the override order
 * defaults < file < --set, cfg_print (masked, and loadable again), cfg_help.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "test_cfg_table.h"
#include "testsupport.h"

typedef struct fx {
    char dir[512];
    char path[600];
    tcfg c;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char err[256];

    if (f == NULL || ts_mkdtemp(f->dir, sizeof f->dir, "cfgfile") != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/callscope.conf", f->dir);
    if (cfg_defaults(tcfg_keys, TCFG_N, &f->c, err, sizeof err) != CS_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    cfg_free(tcfg_keys, TCFG_N, &f->c);
    ts_rmrf(f->dir);
    free(f);
    return 0;
}

static int load(fx *f, const char *text, char *err, size_t cap)
{
    assert_int_equal(ts_write_file(f->path, text, strlen(text)), 0);
    return cfg_load_file(tcfg_keys, TCFG_N, &f->c, f->path, err, cap);
}

static void test_full_file(void **state)
{
    fx *f = *state;
    char err[512] = "";
    const char *text = "\xEF\xBB\xBF# callscope configuration\n"
                       "; another comment style\n"
                       "\n"
                       "[spool]\n"
                       "  dir   =   /srv/spool  \n"
                       "max_size = 64M\r\n"
                       "[ db ]   # the database\n"
                       "conninfo = \"host=/run/pg password='p w' \\\"x\\\\\" ; trailing comment\n"
                       "timeout = 2m\n"
                       "\n"
                       "[capture]\n"
                       "max_calls = 500\n"
                       "promisc = off\n"
                       "offset = -3\n"
                       "[scoring]\n"
                       "talk_ratio = 0.75\n"
                       "[log]\n"
                       "level = debug\n"
                       "[review]\n"
                       "session_secret = a#b;c\n";

    assert_int_equal(load(f, text, err, sizeof err), CS_OK);
    assert_string_equal(err, "");
    assert_string_equal(f->c.spool_dir, "/srv/spool");
    assert_int_equal(f->c.max_size, 64 * 1048576);
    assert_string_equal(f->c.conninfo, "host=/run/pg password='p w' \"x\\");
    assert_int_equal(f->c.db_timeout, 120000);
    assert_int_equal(f->c.max_calls, 500);
    assert_int_equal(f->c.promisc, 0);
    assert_int_equal(f->c.offset, -3);
    assert_true(f->c.talk_ratio == 0.75);
    assert_int_equal(f->c.log_level, 3);
    assert_string_equal(f->c.secret, "a#b;c");
}

static void test_top_level_full_names(void **state)
{
    fx *f = *state;
    char err[512];

    assert_int_equal(load(f, "spool.dir = /top\ncapture.max_calls=9\n", err, sizeof err), CS_OK);
    assert_string_equal(f->c.spool_dir, "/top");
    assert_int_equal(f->c.max_calls, 9);
    /* no trailing newline on the last line */
    assert_int_equal(load(f, "[capture]\nmax_calls=8", err, sizeof err), CS_OK);
    assert_int_equal(f->c.max_calls, 8);
    /* an empty file changes nothing */
    assert_int_equal(load(f, "", err, sizeof err), CS_OK);
    assert_int_equal(f->c.max_calls, 8);
}

/* The file is shared by every callscope program: another program's keys are
 * skipped (whatever their value), a key no program knows is still an error. */
static void test_shared_file(void **state)
{
    fx *f = *state;
    char err[512];

    assert_int_equal(load(f, "[score]\nscorecard = /etc/x.json\nworkers = not-a-number\n"
                             "[capture]\nmax_calls = 7\nsnaplen = 65535\n"
                             "[transcribe]\nphrases = /p\n",
                          err, sizeof err),
                     CS_OK);
    assert_int_equal(f->c.max_calls, 7);
    assert_int_equal(cfg_key_is_callscope("score.scorecard"), 1);
    assert_int_equal(cfg_key_is_callscope("score.scorcard"), 0);
    assert_int_equal(cfg_key_is_callscope(NULL), 0);
    assert_int_equal(load(f, "[score]\nscorcard = /etc/x.json\n", err, sizeof err), CS_ERR_CONFIG);
    assert_non_null(strstr(err, ":2: score.scorcard: unknown key"));
    /* --set stays strict: it names this program's own keys */
    assert_int_equal(cfg_set(tcfg_keys, TCFG_N, &f->c, "score.scorecard=/x", err, sizeof err),
                     CS_ERR_CONFIG);
}

static void test_errors(void **state)
{
    static const struct {
        const char *text;
        int line;
        const char *what;
    } cases[] = {
        {"# c\n\n[capture]\nmax_callz = 3\n", 4, "capture.max_callz: unknown key"},
        {"dir = /x\n", 1, "dir: unknown key"},
        {"[capture]\n# 2\n# 3\n# 4\n# 5\n# 6\n# 7\n# 8\n# 9\n# 10\n# 11\nmax_calls = 0\n", 12,
         "capture.max_calls: 0 is below the minimum 1"},
        {"[capture]\nmax_calls = 100001\n", 2,
         "capture.max_calls: 100001 is above the maximum 100000"},
        {"[db]\ntimeout = soon\n", 2,
         "db.timeout: \"soon\" is not a duration (whole number with optional suffix ms, s, m, h, "
         "d)"},
        {"[spool]\ndir = /a\n\ndir = /b\n", 4, "spool.dir: set twice in this file (first on line 2)"},
        {"[spool]\ndir = /a\n[spool]\ndir = /b\n", 4,
         "spool.dir: set twice in this file (first on line 2)"},
        {"spool.dir = /a\n[spool]\ndir = /b\n", 3,
         "spool.dir: set twice in this file (first on line 1)"},
        {"[spool]\njust words\n", 2, "syntax error: expected \"key = value\" or \"[section]\""},
        {"[spool\n", 1, "syntax error: missing ']'"},
        {"[]\n", 1, "syntax error: bad section name"},
        {"[sp ool]\n", 1, "syntax error: bad section name"},
        {"[spool] x\n", 1, "syntax error: text after ']'"},
        {"[spool]\n= /x\n", 2, "syntax error: bad key name"},
        {"[spool]\nd ir = /x\n", 2, "syntax error: bad key name"},
        {"[spool]\ndir = \"/x\n", 2, "spool.dir: missing closing quote"},
        {"[spool]\ndir = \"/x\" y\n", 2, "spool.dir: text after the closing quote"},
        {"[spool]\ndir = \"/x\\n\"\n", 2,
         "spool.dir: bad escape in quoted value (only \\\" and \\\\ are allowed)"},
        {"[spool]\ndir = \"/x\\\"\n", 2, "spool.dir: missing closing quote"},
    };
    fx *f = *state;
    char err[512], want[1024];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = load(f, cases[i].text, err, sizeof err);
        snprintf(want, sizeof want, "%s:%d: %s", f->path, cases[i].line, cases[i].what);
        if (rc != CS_ERR_CONFIG || strcmp(err, want) != 0)
            print_error("case %zu: rc %d: %s\n", i, rc, err);
        assert_int_equal(rc, CS_ERR_CONFIG);
        assert_string_equal(err, want);
    }
}

static void test_nul_byte(void **state)
{
    fx *f = *state;
    char err[512], want[700];
    static const char text[] = "[spool]\ndir = /a\0b\n";

    assert_int_equal(ts_write_file(f->path, text, sizeof text - 1), 0);
    assert_int_equal(cfg_load_file(tcfg_keys, TCFG_N, &f->c, f->path, err, sizeof err),
                     CS_ERR_CONFIG);
    snprintf(want, sizeof want, "%s:2: syntax error: NUL byte", f->path);
    assert_string_equal(err, want);
}

static void test_file_problems(void **state)
{
    fx *f = *state;
    char err[1024], want[1024], missing[700];
    char *big;

    snprintf(missing, sizeof missing, "%s/nope.conf", f->dir);
    assert_int_equal(cfg_load_file(tcfg_keys, TCFG_N, &f->c, missing, err, sizeof err),
                     CS_ERR_NOTFOUND);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    assert_string_equal(err, want);
    assert_int_equal(cfg_load_file(tcfg_keys, TCFG_N, &f->c, f->dir, err, sizeof err), CS_ERR_IO);
    snprintf(want, sizeof want, "%s: not a regular file", f->dir);
    assert_string_equal(err, want);

    /* exactly CFG_FILE_MAX bytes of comments is fine; one more is refused */
    big = malloc(CFG_FILE_MAX + 1);
    assert_non_null(big);
    memset(big, '#', CFG_FILE_MAX + 1);
    assert_int_equal(ts_write_file(f->path, big, CFG_FILE_MAX), 0);
    assert_int_equal(cfg_load_file(tcfg_keys, TCFG_N, &f->c, f->path, err, sizeof err), CS_OK);
    assert_int_equal(ts_write_file(f->path, big, CFG_FILE_MAX + 1), 0);
    assert_int_equal(cfg_load_file(tcfg_keys, TCFG_N, &f->c, f->path, err, sizeof err),
                     CS_ERR_LIMIT);
    free(big);
}

static void test_override_order(void **state)
{
    fx *f = *state;
    char err[512];
    char path2[700];

    assert_int_equal(f->c.max_calls, 10000);            /* default */
    assert_int_equal(load(f, "[capture]\nmax_calls = 500\n[spool]\ndir=/file\n", err, sizeof err),
                     CS_OK);
    assert_int_equal(f->c.max_calls, 500);               /* file beats default */
    assert_int_equal(f->c.promisc, 1);                   /* untouched key keeps its default */
    assert_int_equal(cfg_set(tcfg_keys, TCFG_N, &f->c, "capture.max_calls=700", err, sizeof err),
                     CS_OK);
    assert_int_equal(f->c.max_calls, 700);               /* --set beats file */
    assert_string_equal(f->c.spool_dir, "/file");
    assert_int_equal(cfg_set(tcfg_keys, TCFG_N, &f->c, "spool.dir=/set", err, sizeof err), CS_OK);
    assert_string_equal(f->c.spool_dir, "/set");

    /* the same key in a second file is not a duplicate: the later file wins */
    snprintf(path2, sizeof path2, "%s/second.conf", f->dir);
    assert_int_equal(ts_write_file(path2, "capture.max_calls = 9\n", 22), 0);
    assert_int_equal(cfg_load_file(tcfg_keys, TCFG_N, &f->c, path2, err, sizeof err), CS_OK);
    assert_int_equal(f->c.max_calls, 9);
}

static char *print_to_string(const tcfg *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);

    assert_non_null(m);
    cfg_print(tcfg_keys, TCFG_N, c, m);
    fclose(m);
    return buf;
}

static void test_print_masks_and_reloads(void **state)
{
    fx *f = *state;
    char err[512];
    char *out;
    tcfg again = {0};
    const char *want = "[spool]\n"
                       "dir = \" padded \\\"dir\\\" \"\n"
                       "max_size = 64M\n"
                       "\n"
                       "[db]\n"
                       "conninfo = host=/run/pg user=cs password=********\n"
                       "timeout = 90m\n"
                       "\n"
                       "[capture]\n"
                       "max_calls = 500\n"
                       "offset = -3\n"
                       "promisc = no\n"
                       "\n"
                       "[scoring]\n"
                       "talk_ratio = 0.1\n"
                       "\n"
                       "[log]\n"
                       "level = warn\n"
                       "\n"
                       "[review]\n"
                       "session_secret = ********\n";

    assert_int_equal(load(f,
                          "[spool]\ndir = \" padded \\\"dir\\\" \"\nmax_size=65536k\n"
                          "[db]\nconninfo = host=/run/pg user=cs password=hunter2\n"
                          "timeout = 5400s\n[capture]\nmax_calls=500\noffset=-3\npromisc=false\n"
                          "[scoring]\ntalk_ratio=0.1\n[log]\nlevel=WARN\n"
                          "[review]\nsession_secret=topsecret\n",
                          err, sizeof err),
                     CS_OK);
    out = print_to_string(&f->c);
    assert_string_equal(out, want);
    assert_null(strstr(out, "hunter2"));
    assert_null(strstr(out, "topsecret"));

    /* the printed text loads back to the same values (secrets aside) */
    assert_int_equal(cfg_defaults(tcfg_keys, TCFG_N, &again, err, sizeof err), CS_OK);
    assert_int_equal(cfg_load_text(tcfg_keys, TCFG_N, &again, "printed", out, strlen(out), err,
                                   sizeof err),
                     CS_OK);
    assert_string_equal(again.spool_dir, f->c.spool_dir);
    assert_int_equal(again.max_size, f->c.max_size);
    assert_int_equal(again.db_timeout, f->c.db_timeout);
    assert_int_equal(again.max_calls, f->c.max_calls);
    assert_int_equal(again.offset, f->c.offset);
    assert_int_equal(again.promisc, f->c.promisc);
    assert_true(again.talk_ratio == f->c.talk_ratio);
    assert_int_equal(again.log_level, f->c.log_level);
    cfg_free(tcfg_keys, TCFG_N, &again);
    free(out);

    /* an unset string is printed as a comment */
    cfg_free(tcfg_keys, TCFG_N, &f->c);
    assert_int_equal(cfg_defaults(tcfg_keys, TCFG_N, &f->c, err, sizeof err), CS_OK);
    out = print_to_string(&f->c);
    assert_non_null(strstr(out, "[db]\n# conninfo = (not set)\ntimeout = 30s\n"));
    assert_non_null(strstr(out, "max_size = 1G\n"));
    free(out);
}

static void test_help_lists_every_key(void **state)
{
    char *buf = NULL;
    size_t len = 0, i;
    FILE *m = open_memstream(&buf, &len);

    (void)state;
    assert_non_null(m);
    cfg_help(tcfg_keys, TCFG_N, m);
    fclose(m);
    for (i = 0; i < TCFG_N; i++) {
        assert_non_null(strstr(buf, tcfg_keys[i].name));
        assert_non_null(strstr(buf, tcfg_keys[i].help));
    }
    assert_non_null(strstr(buf, "capture.max_calls\n    integer in [1, 100000], default 10000\n"
                                "    Calls tracked at once.\n"));
    assert_non_null(strstr(buf, "capture.offset\n    integer, default 0\n"));
    assert_non_null(strstr(buf, "db.timeout\n    duration in [100ms, 1d], default 30s\n"));
    assert_non_null(strstr(buf, "spool.max_size\n    size in [1k, 1024G], default 1G\n"));
    assert_non_null(strstr(buf, "log.level\n    one of error | warn | info | debug, default info\n"));
    assert_non_null(strstr(buf, "db.conninfo\n    string, password masked, not set by "
                                "default\n"));
    assert_non_null(strstr(buf, "scoring.talk_ratio\n    number in [0, 1], default 0.5\n"));
    assert_non_null(strstr(buf, "review.session_secret\n    string, secret, default \"changeme\"\n"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_level_full_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nul_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_override_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print_masks_and_reloads, setup, teardown),
        cmocka_unit_test(test_help_lists_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
