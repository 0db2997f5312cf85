/*
 * test_config_parse.c — the value parsers through cfg_set: every type, bounds
 * at min-1/min/max/max+1, suffixes, enum names, bool spellings, overflow, and
 * the exact error messages (all CS_ERR_CONFIG); defaults; conninfo masking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "test_cfg_table.h"

static int setup(void **state)
{
    tcfg *c = calloc(1, sizeof *c);
    char err[256];

    if (c == NULL || cfg_defaults(tcfg_keys, TCFG_N, c, err, sizeof err) != CS_OK)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    cfg_free(tcfg_keys, TCFG_N, *state);
    free(*state);
    return 0;
}

static void test_defaults(void **state)
{
    tcfg *c = *state;

    assert_string_equal(c->spool_dir, "/var/spool/callscope");
    assert_int_equal(c->max_size, INT64_C(1073741824));
    assert_null(c->conninfo);
    assert_int_equal(c->db_timeout, 30000);
    assert_int_equal(c->max_calls, 10000);
    assert_int_equal(c->offset, 0);
    assert_int_equal(c->promisc, 1);
    assert_true(c->talk_ratio == 0.5);
    assert_int_equal(c->log_level, 2);
    assert_string_equal(c->secret, "changeme");
}

typedef struct set_case {
    const char *assignment;
    int rc;
    const char *msg;   /* error message when rc != CS_OK */
    int64_t ival;      /* expected value for int-like keys when rc == CS_OK */
} set_case;

/* Keys whose field is an int64_t: read it through the table's offset. */
static int64_t int_field(const tcfg *c, const char *assignment)
{
    char name[64];
    const cfg_key *k;
    size_t n = strcspn(assignment, "=");

    while (n > 0 && assignment[n - 1] == ' ')
        n--;
    snprintf(name, sizeof name, "%.*s", (int)n, assignment);
    k = cfg_find(tcfg_keys, TCFG_N, name);
    assert_non_null(k);
    if (k->type == CFG_BOOL || k->type == CFG_ENUM)
        return *(const int *)((const char *)c + k->offset);
    return *(const int64_t *)((const char *)c + k->offset);
}

static void run_cases(tcfg *c, const set_case *cases, size_t n)
{
    char err[256];
    size_t i;

    for (i = 0; i < n; i++) {
        int rc;
        strcpy(err, "untouched");
        rc = cfg_set(tcfg_keys, TCFG_N, c, cases[i].assignment, err, sizeof err);
        if (rc != cases[i].rc || (rc != CS_OK && strcmp(err, cases[i].msg) != 0))
            print_error("case %zu \"%s\": rc %d err \"%s\"\n", i, cases[i].assignment, rc, err);
        assert_int_equal(rc, cases[i].rc);
        if (rc == CS_OK) {
            assert_string_equal(err, "untouched");
            assert_true(int_field(c, cases[i].assignment) == cases[i].ival);
        } else {
            assert_string_equal(err, cases[i].msg);
        }
    }
}

#define RUN(c, cases) run_cases((c), (cases), sizeof(cases) / sizeof((cases)[0]))
#define E CS_ERR_CONFIG

static void test_int(void **state)
{
    static const set_case cases[] = {
        {"capture.max_calls=0", E, "capture.max_calls: 0 is below the minimum 1", 0},
        {"capture.max_calls=1", CS_OK, NULL, 1},
        {"capture.max_calls=100000", CS_OK, NULL, 100000},
        {"capture.max_calls=100001", E, "capture.max_calls: 100001 is above the maximum 100000", 0},
        {"capture.max_calls=-5", E, "capture.max_calls: -5 is below the minimum 1", 0},
        {"capture.max_calls=+7", CS_OK, NULL, 7},
        {"capture.max_calls = 42 ", CS_OK, NULL, 42},
        {"capture.max_calls=abc", E, "capture.max_calls: \"abc\" is not an integer", 0},
        {"capture.max_calls=12x", E, "capture.max_calls: \"12x\" is not an integer", 0},
        {"capture.max_calls=1 2", E, "capture.max_calls: \"1 2\" is not an integer", 0},
        {"capture.max_calls=", E, "capture.max_calls: \"\" is not an integer", 0},
        {"capture.max_calls=-", E, "capture.max_calls: \"-\" is not an integer", 0},
        {"capture.max_calls=0x10", E, "capture.max_calls: \"0x10\" is not an integer", 0},
        {"capture.offset=9223372036854775807", CS_OK, NULL, INT64_MAX},
        {"capture.offset=9223372036854775808", E,
         "capture.offset: \"9223372036854775808\" is out of range", 0},
        {"capture.offset=-9223372036854775808", CS_OK, NULL, INT64_MIN},
        {"capture.offset=-9223372036854775809", E,
         "capture.offset: \"-9223372036854775809\" is out of range", 0},
        {"capture.offset=99999999999999999999999", E,
         "capture.offset: \"99999999999999999999999\" is out of range", 0},
    };
    tcfg *c = *state;

    RUN(c, cases);
    /* a failed set leaves the previous value */
    assert_int_equal(c->max_calls, 42);
}

static void test_bool(void **state)
{
    static const set_case cases[] = {
        {"capture.promisc=false", CS_OK, NULL, 0}, {"capture.promisc=TRUE", CS_OK, NULL, 1},
        {"capture.promisc=No", CS_OK, NULL, 0},    {"capture.promisc=yes", CS_OK, NULL, 1},
        {"capture.promisc=off", CS_OK, NULL, 0},   {"capture.promisc=On", CS_OK, NULL, 1},
        {"capture.promisc=0", CS_OK, NULL, 0},     {"capture.promisc=1", CS_OK, NULL, 1},
        {"capture.promisc=maybe", E,
         "capture.promisc: \"maybe\" is not a boolean (true/false, yes/no, on/off, 1/0)", 0},
        {"capture.promisc=2", E,
         "capture.promisc: \"2\" is not a boolean (true/false, yes/no, on/off, 1/0)", 0},
        {"capture.promisc=y", E,
         "capture.promisc: \"y\" is not a boolean (true/false, yes/no, on/off, 1/0)", 0},
    };

    RUN((tcfg *)*state, cases);
}

static void test_double(void **state)
{
    static const struct {
        const char *a;
        int rc;
        const char *msg;
        double v;
    } cases[] = {
        {"scoring.talk_ratio=0", CS_OK, NULL, 0.0},
        {"scoring.talk_ratio=1", CS_OK, NULL, 1.0},
        {"scoring.talk_ratio=0.25", CS_OK, NULL, 0.25},
        {"scoring.talk_ratio=2.5e-1", CS_OK, NULL, 0.25},
        {"scoring.talk_ratio=1.0000001", E, "scoring.talk_ratio: 1.0000001 is above the maximum 1",
         0},
        {"scoring.talk_ratio=-0.1", E, "scoring.talk_ratio: -0.1 is below the minimum 0", 0},
        {"scoring.talk_ratio=nan", E, "scoring.talk_ratio: \"nan\" is not a number", 0},
        {"scoring.talk_ratio=inf", E, "scoring.talk_ratio: \"inf\" is not a number", 0},
        {"scoring.talk_ratio=0x1p-1", E, "scoring.talk_ratio: \"0x1p-1\" is not a number", 0},
        {"scoring.talk_ratio=.", E, "scoring.talk_ratio: \".\" is not a number", 0},
        {"scoring.talk_ratio=1e400", E, "scoring.talk_ratio: \"1e400\" is out of range", 0},
        {"scoring.talk_ratio=", E, "scoring.talk_ratio: \"\" is not a number", 0},
    };
    tcfg *c = *state;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = cfg_set(tcfg_keys, TCFG_N, c, cases[i].a, err, sizeof err);
        if (rc != cases[i].rc)
            print_error("case %s: %d %s\n", cases[i].a, rc, err);
        assert_int_equal(rc, cases[i].rc);
        if (rc == CS_OK)
            assert_true(c->talk_ratio == cases[i].v);
        else
            assert_string_equal(err, cases[i].msg);
    }
}

static void test_enum(void **state)
{
    static const set_case cases[] = {
        {"log.level=error", CS_OK, NULL, 0}, {"log.level=WARN", CS_OK, NULL, 1},
        {"log.level=info", CS_OK, NULL, 2},  {"log.level=Debug", CS_OK, NULL, 3},
        {"log.level=loud", E, "log.level: \"loud\" is not one of: error, warn, info, debug", 0},
        {"log.level=", E, "log.level: \"\" is not one of: error, warn, info, debug", 0},
        {"log.level=debugx", E, "log.level: \"debugx\" is not one of: error, warn, info, debug",
         0},
    };

    RUN((tcfg *)*state, cases);
}

static void test_duration(void **state)
{
    static const set_case cases[] = {
        {"db.timeout=99ms", E, "db.timeout: 99ms is below the minimum 100ms", 0},
        {"db.timeout=100ms", CS_OK, NULL, 100},
        {"db.timeout=1d", CS_OK, NULL, 86400000},
        {"db.timeout=86400001ms", E, "db.timeout: 86400001ms is above the maximum 1d", 0},
        {"db.timeout=1441m", E, "db.timeout: 1441m is above the maximum 1d", 0},
        {"db.timeout=90", CS_OK, NULL, 90000},
        {"db.timeout=5s", CS_OK, NULL, 5000},
        {"db.timeout=2m", CS_OK, NULL, 120000},
        {"db.timeout=3h", CS_OK, NULL, 10800000},
        {"db.timeout=1500ms", CS_OK, NULL, 1500},
        {"db.timeout=0", E, "db.timeout: 0s is below the minimum 100ms", 0},
        {"db.timeout=5x", E,
         "db.timeout: \"5x\" is not a duration (whole number with optional suffix ms, s, m, h, d)",
         0},
        {"db.timeout=-5s", E,
         "db.timeout: \"-5s\" is not a duration (whole number with optional suffix ms, s, m, h, d)",
         0},
        {"db.timeout=1.5s", E,
         "db.timeout: \"1.5s\" is not a duration (whole number with optional suffix ms, s, m, h, "
         "d)",
         0},
        {"db.timeout=5 s", E,
         "db.timeout: \"5 s\" is not a duration (whole number with optional suffix ms, s, m, h, d)",
         0},
        {"db.timeout=s", E,
         "db.timeout: \"s\" is not a duration (whole number with optional suffix ms, s, m, h, d)",
         0},
        {"db.timeout=9223372036854775807d", E,
         "db.timeout: \"9223372036854775807d\" is out of range", 0},
    };

    RUN((tcfg *)*state, cases);
}

static void test_size(void **state)
{
    static const set_case cases[] = {
        {"spool.max_size=1023", E, "spool.max_size: 1023 is below the minimum 1k", 0},
        {"spool.max_size=1024", CS_OK, NULL, 1024},
        {"spool.max_size=1k", CS_OK, NULL, 1024},
        {"spool.max_size=2K", CS_OK, NULL, 2048},
        {"spool.max_size=1M", CS_OK, NULL, 1048576},
        {"spool.max_size=3G", CS_OK, NULL, INT64_C(3221225472)},
        {"spool.max_size=1024G", CS_OK, NULL, INT64_C(1) << 40},
        {"spool.max_size=1025G", E, "spool.max_size: 1025G is above the maximum 1024G", 0},
        {"spool.max_size=1099511627777", E,
         "spool.max_size: 1099511627777 is above the maximum 1024G", 0},
        {"spool.max_size=10T", E,
         "spool.max_size: \"10T\" is not a size (whole number of bytes with optional suffix k, M, "
         "G)",
         0},
        {"spool.max_size=1m", E,
         "spool.max_size: \"1m\" is not a size (whole number of bytes with optional suffix k, M, "
         "G)",
         0},
        {"spool.max_size=9000000000G", E, "spool.max_size: \"9000000000G\" is out of range", 0},
    };

    RUN((tcfg *)*state, cases);
}

static void test_string_and_syntax(void **state)
{
    static const set_case cases[] = {
        {"capture.max_calls", E, "\"capture.max_calls\": expected KEY=VALUE", 0},
        {"=5", E, "\"=5\": expected KEY=VALUE", 0},
        {"", E, "\"\": expected KEY=VALUE", 0},
        {"nope.key=1", E, "nope.key: unknown key", 0},
        {"spool=1", E, "spool: unknown key", 0},
        {"spool.DIR=/x", E, "spool.DIR: unknown key", 0},
    };
    tcfg *c = *state;
    char err[256];

    RUN(c, cases);
    assert_int_equal(cfg_set(tcfg_keys, TCFG_N, c, "spool.dir=/tmp/x", err, sizeof err), CS_OK);
    assert_string_equal(c->spool_dir, "/tmp/x");
    /* set twice: the old string is freed (ASan would report a leak) */
    assert_int_equal(cfg_set(tcfg_keys, TCFG_N, c, "spool.dir= /a=b ", err, sizeof err), CS_OK);
    assert_string_equal(c->spool_dir, "/a=b");
    assert_int_equal(cfg_set(tcfg_keys, TCFG_N, c, "spool.dir=", err, sizeof err), CS_OK);
    assert_string_equal(c->spool_dir, "");
    assert_int_equal(cfg_set_value(tcfg_keys, TCFG_N, c, "db.conninfo", " host=x ", err, sizeof err),
                     CS_OK);
    assert_string_equal(c->conninfo, " host=x ");
    assert_int_equal(cfg_set_value(tcfg_keys, TCFG_N, c, "db.nope", "1", err, sizeof err), E);
    assert_string_equal(err, "db.nope: unknown key");
    assert_int_equal(cfg_set_value(tcfg_keys, TCFG_N, c, "capture.max_calls", "0", err, sizeof err),
                     E);
    assert_string_equal(err, "capture.max_calls: 0 is below the minimum 1");
    /* a short error buffer is truncated, never overrun */
    {
        char small[8];
        memset(small, 'Z', sizeof small);
        assert_int_equal(cfg_set(tcfg_keys, TCFG_N, c, "capture.max_calls=0", small, 6), E);
        assert_string_equal(small, "captu");
        assert_int_equal(small[6], 'Z');
    }
    assert_int_equal(cfg_set(tcfg_keys, TCFG_N, c, "capture.max_calls=0", NULL, 0), E);
    assert_int_equal(cfg_set(tcfg_keys, TCFG_N, c, NULL, err, sizeof err), CS_ERR_INVAL);
}

typedef struct bad_cfg {
    int64_t n;
    char *s;
    int e;
} bad_cfg;

static void test_bad_tables(void **state)
{
    static const cfg_key below[] = {
        CFG_KEY_INT(bad_cfg, n, "bad.key", "0", 1, 10, "x"),
    };
    static const cfg_key nodot[] = {
        CFG_KEY_INT(bad_cfg, n, "nodot", "1", 1, 10, "x"),
    };
    static const cfg_key nodef[] = {
        CFG_KEY_INT(bad_cfg, n, "bad.nodef", NULL, 1, 10, "x"),
    };
    static const cfg_key inverted[] = {
        CFG_KEY_INT(bad_cfg, n, "bad.inv", "5", 10, 1, "x"),
    };
    static const cfg_key noenum[] = {
        CFG_KEY_ENUM(bad_cfg, e, "bad.enum", "a", NULL, "x"),
    };
    bad_cfg b = {0};
    char err[256];

    (void)state;
    assert_int_equal(cfg_defaults(below, 1, &b, err, sizeof err), E);
    assert_string_equal(err, "bad.key: default: 0 is below the minimum 1");
    assert_int_equal(cfg_defaults(nodot, 1, &b, err, sizeof err), E);
    assert_string_equal(err, "nodot: key name must be \"section.key\"");
    assert_int_equal(cfg_defaults(nodef, 1, &b, err, sizeof err), E);
    assert_string_equal(err, "bad.nodef: default: only string keys may have no default");
    assert_int_equal(cfg_defaults(inverted, 1, &b, err, sizeof err), E);
    assert_string_equal(err, "bad.inv: default: minimum above maximum");
    assert_int_equal(cfg_defaults(noenum, 1, &b, err, sizeof err), E);
    assert_string_equal(err, "bad.enum: default: enum without names");
}

static void test_mask_conninfo(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"host=/tmp dbname=cs user=u password=hunter2",
         "host=/tmp dbname=cs user=u password=********"},
        {"password = 'a b\\' c' host=x", "password = ******** host=x"},
        {"PASSWORD=x port=5432", "PASSWORD=******** port=5432"},
        {"host=x mypassword=1", "host=x mypassword=1"},
        {"host=x passwordfile=/p", "host=x passwordfile=/p"},
        {"host=/run/postgresql dbname=callscope", "host=/run/postgresql dbname=callscope"},
        {"postgresql://u:hunter2@db.example:5432/cs?sslmode=require&password=x2",
         "postgresql://u:********@db.example:5432/cs?sslmode=require&password=********"},
        {"postgres://u@db/cs", "postgres://u@db/cs"},
        {"postgresql://db/cs?password=p&user=u", "postgresql://db/cs?password=********&user=u"},
        {"", ""},
    };
    char out[256];
    size_t i, need;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        need = cfg_mask_conninfo(cases[i].in, out, sizeof out);
        assert_string_equal(out, cases[i].out);
        assert_int_equal(need, strlen(cases[i].out));
    }
    /* a small buffer: truncated, terminated, the needed length returned */
    memset(out, 'Z', sizeof out);
    need = cfg_mask_conninfo("user=u password=secret", out, 10);
    assert_int_equal(need, strlen("user=u password=********"));
    assert_string_equal(out, "user=u pa");
    assert_int_equal(out[10], 'Z');
    assert_int_equal(cfg_mask_conninfo("password=s", NULL, 0), strlen("password=********"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_and_syntax, setup, teardown),
        cmocka_unit_test(test_bad_tables),
        cmocka_unit_test(test_mask_conninfo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
