/*
 * test_workers.c — cs_workers_run (common/workers.c) with real fork()ed
 * children: every child's counters reach the parent and are added; the exit
 * code is the worst of the children's; a child killed by a signal either
 * leaves the others running (CS_WORKERS_CONTINUE: at least PARTIAL) or stops
 * them (CS_WORKERS_STOP_ALL: INTERNAL, the others get SIGTERM); a stop
 * request is forwarded to every child; bad specs are refused. Plus
 * cs_exit_worse's order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stage.h"
#include "workers.h"

typedef struct cnt {
    uint64_t ran, id_sum, stopped;
} cnt;

static void add(void *total, const void *one)
{
    cnt *t = total;
    const cnt *c = one;
    t->ran += c->ran;
    t->id_sum += c->id_sum;
    t->stopped += c->stopped;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to 5 s for a stop request (SIGTERM through cs_stage's handler). */
static int wait_for_stop(void)
{
    for (int i = 0; i < 500; i++) {
        if (cs_stage_stop_requested())
            return 1;
        sleep_ms(10);
    }
    return 0;
}

typedef enum { ALL_OK, TWO_ENV, TWO_KILLED, ONE_KILLED_OTHERS_WAIT, ALL_WAIT } mode;

static int worker(void *arg, int id, void *counters)
{
    mode m = *(const mode *)arg;
    cnt *c = counters;
    c->ran = 1;
    c->id_sum = (uint64_t)id;
    switch (m) {
    case ALL_OK:
        return CS_EXIT_OK;
    case TWO_ENV:
        return id == 2 ? CS_EXIT_ENV : CS_EXIT_OK;
    case TWO_KILLED:
        if (id == 2)
            raise(SIGKILL);
        sleep_ms(100); /* still running when worker 2 dies */
        return CS_EXIT_OK;
    case ONE_KILLED_OTHERS_WAIT:
        if (id == 1) {
            sleep_ms(50);
            raise(SIGKILL);
        }
        c->stopped = (uint64_t)wait_for_stop();
        return CS_EXIT_OK;
    case ALL_WAIT:
        c->stopped = (uint64_t)wait_for_stop();
        return CS_EXIT_OK;
    }
    return CS_EXIT_INTERNAL;
}

static int run(mode m, int n, cs_workers_crash policy, cnt *total)
{
    cs_workers_spec spec = {.n = n,
                            .fn = worker,
                            .arg = &m,
                            .counters_size = sizeof(cnt),
                            .add = add,
                            .on_crash = policy,
                            .crash_note = "test"};
    return cs_workers_run(&spec, total);
}

static void test_counters_and_codes(void **state)
{
    (void)state;
    cnt t;
    assert_int_equal(run(ALL_OK, 4, CS_WORKERS_CONTINUE, &t), CS_EXIT_OK);
    assert_int_equal(t.ran, 4);
    assert_int_equal(t.id_sum, 1 + 2 + 3 + 4);
    assert_int_equal(run(TWO_ENV, 3, CS_WORKERS_CONTINUE, &t), CS_EXIT_ENV);
    assert_int_equal(t.ran, 3); /* a failing worker still reports */
}

static void test_crash_continue(void **state)
{
    (void)state;
    cnt t;
    assert_int_equal(run(TWO_KILLED, 3, CS_WORKERS_CONTINUE, &t), CS_EXIT_PARTIAL);
    assert_int_equal(t.ran, 2); /* the killed one reports nothing, the others finish */
    assert_int_equal(t.id_sum, 1 + 3);
    assert_int_equal(cs_stage_stop_requested(), 0);
}

static void test_crash_stop_all(void **state)
{
    (void)state;
    cnt t;
    assert_int_equal(run(ONE_KILLED_OTHERS_WAIT, 3, CS_WORKERS_STOP_ALL, &t), CS_EXIT_INTERNAL);
    assert_int_equal(t.ran, 2);
    assert_int_equal(t.stopped, 2); /* both others were told to stop, and stopped */
    assert_int_not_equal(cs_stage_stop_requested(), 0);
}

static void test_stop_forwarded(void **state)
{
    (void)state;
    /* a stop asked before the run reaches every worker */
    cs_stage_request_stop();
    cnt t;
    assert_int_equal(run(ALL_WAIT, 2, CS_WORKERS_CONTINUE, &t), CS_EXIT_OK);
    assert_int_equal(t.ran, 2);
    assert_int_equal(t.stopped, 2);
}

static void test_bad_spec_and_worse(void **state)
{
    (void)state;
    cnt t;
    mode m = ALL_OK;
    cs_workers_spec spec = {.n = 0, .fn = worker, .arg = &m, .counters_size = sizeof t, .add = add};
    assert_int_equal(cs_workers_run(&spec, &t), CS_EXIT_INTERNAL);
    spec.n = 1;
    spec.counters_size = 1 << 20; /* more than PIPE_BUF */
    assert_int_equal(cs_workers_run(&spec, &t), CS_EXIT_INTERNAL);
    assert_int_equal(cs_exit_worse(CS_EXIT_OK, CS_EXIT_PARTIAL), CS_EXIT_PARTIAL);
    assert_int_equal(cs_exit_worse(CS_EXIT_ENV, CS_EXIT_CONFIG), CS_EXIT_ENV);
    assert_int_equal(cs_exit_worse(CS_EXIT_INTERNAL, CS_EXIT_ENV), CS_EXIT_INTERNAL);
    assert_int_equal(cs_exit_worse(CS_EXIT_USAGE, CS_EXIT_PARTIAL), CS_EXIT_USAGE);
    assert_int_equal(cs_exit_worse(CS_EXIT_OK, 42), CS_EXIT_INTERNAL); /* unknown: worst */
}

int main(void)
{
    /* the workers inherit the SIGTERM handler, as in the stage programs */
    if (cs_stage_signals() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_and_codes), cmocka_unit_test(test_crash_continue),
        cmocka_unit_test(test_crash_stop_all),     cmocka_unit_test(test_bad_spec_and_worse),
        cmocka_unit_test(test_stop_forwarded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
