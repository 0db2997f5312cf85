/*
 * test_directory.c — the scoring stage's directory file (scoring/directory.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "directory.h"
#include "error.h"
#include "testsupport.h"

static void test_shipped(void **state)
{
    (void)state;
    char path[4096];
    dir_list d;
    char err[256];
    ts_source_path(path, sizeof path, "deploy/directory.conf");
    assert_int_equal(dir_load(path, &d, err, sizeof err), CS_OK);
    assert_int_equal(d.n_queues, 3);
    assert_string_equal(d.queues[1].name, "support");
    assert_int_equal(d.queues[1].n_dnis, 2);
    assert_string_equal(d.queues[1].dnis[1], "+18005550111");
    assert_int_equal(d.n_agents, 99);
    assert_string_equal(d.agents[38].extension, "2039");
    assert_true(strlen(d.agents[38].name) > 3);
    dir_free(&d);
}

static void test_forms(void **state)
{
    (void)state;
    const char *t = "# c\r\n\n  queue  q1 :  111\t222  \r\nagent 7: Ann  Lee \nqueue q2: 333\n"
                    "agent +44.x_y-1:Bob\n";
    dir_list d;
    char err[256];
    assert_int_equal(dir_parse(t, strlen(t), &d, err, sizeof err), CS_OK);
    assert_int_equal(d.n_queues, 2);
    assert_string_equal(d.queues[0].name, "q1");
    assert_int_equal(d.queues[0].n_dnis, 2);
    assert_string_equal(d.queues[0].dnis[0], "111");
    assert_string_equal(d.queues[0].dnis[1], "222");
    assert_int_equal(d.n_agents, 2);
    assert_string_equal(d.agents[0].name, "Ann  Lee");
    assert_string_equal(d.agents[1].extension, "+44.x_y-1");
    assert_string_equal(d.agents[1].name, "Bob");
    dir_free(&d);
    /* explicit length: nothing past it is read */
    const char *cut = "agent 1: Al\nagent 2: Bo";
    assert_int_equal(dir_parse(cut, 11, &d, err, sizeof err), CS_OK);
    assert_int_equal(d.n_agents, 1);
    assert_string_equal(d.agents[0].name, "Al");
    dir_free(&d);
    assert_int_equal(dir_parse("", 0, &d, err, sizeof err), CS_OK);
    assert_int_equal(d.n_queues + d.n_agents, 0);
    dir_free(&d);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"queue q1 111\n", "line 1: missing ':'"},
        {"\nqueuex q: 1\n", "line 2: expected"},
        {"queue q/1: 1\n", "line 1: queue name"},
        {"queue q:\n", "line 1: queue q has no DNIS"},
        {"queue a: 1\nqueue b: 2 1\n", "line 2: DNIS 1 is already in queue a"},
        {"queue a: 1 1\n", "line 1: DNIS 1 listed twice"},
        {"agent 1:\n", "line 1: agent name"},
        {"agent a b: x\n", "line 1: extension"},
        {"agent 1: x\nagent 1: y\n", "line 2: extension 1 listed twice"},
        {"agent : x\n", "line 1: extension"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dir_list d;
        char err[256];
        assert_int_equal(dir_parse(bad[i].text, strlen(bad[i].text), &d, err, sizeof err),
                         CS_ERR_MALFORMED);
        if (!strstr(err, bad[i].want))
            fail_msg("'%s': got '%s', want '%s'", bad[i].text, err, bad[i].want);
        assert_int_equal(d.n_queues + d.n_agents, 0);
    }
    dir_list d;
    char err[256];
    const char nul[] = "agent 1: a\0b\n";
    assert_int_equal(dir_parse(nul, sizeof nul - 1, &d, err, sizeof err), CS_ERR_MALFORMED);
    assert_non_null(strstr(err, "NUL"));
    assert_int_equal(dir_load("/nonexistent/dir.conf", &d, err, sizeof err), CS_ERR_NOTFOUND);
    assert_non_null(strstr(err, "/nonexistent/dir.conf"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
