/*
 * test_log.c — the log line format, levels, call ids, truncation, journal
 * prefix, rate limiting with the real monotonic clock, and cs_fatal/cs_panic
 * in forked children. Output is captured through a real pipe (cs_log_set_fd).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"

typedef struct pipe_fx {
    int rfd, wfd;
} pipe_fx;

static int setup(void **state)
{
    static pipe_fx fx;
    int fds[2];

    if (pipe(fds) != 0)
        return -1;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fx.rfd = fds[0];
    fx.wfd = fds[1];
    unsetenv("JOURNAL_STREAM");
    cs_log_set_fd(fx.wfd);
    cs_log_init("teststage", CS_LOG_INFO);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    pipe_fx *fx = *state;

    cs_log_set_fd(2);
    close(fx->rfd);
    close(fx->wfd);
    return 0;
}

/* Everything currently in the pipe, NUL-terminated. */
static char *drain(pipe_fx *fx)
{
    static char buf[16384];
    size_t len = 0;
    ssize_t r;

    while (len < sizeof buf - 1 && (r = read(fx->rfd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    return buf;
}

static void expect(pipe_fx *fx, const char *level, const char *rest)
{
    char want[4096];

    snprintf(want, sizeof want, "%s teststage[%ld]: %s", level, (long)getpid(), rest);
    assert_string_equal(drain(fx), want);
}

static void test_format(void **state)
{
    pipe_fx *fx = *state;

    cs_log(CS_LOG_INFO, NULL, "hello %d", 42);
    expect(fx, "info", "hello 42\n");
    cs_log(CS_LOG_WARN, "abc-123", "lost %s", "packet");
    expect(fx, "warn", "[call abc-123] lost packet\n");
    cs_error("job %u failed", 7u);
    expect(fx, "error", "job 7 failed\n");
}

static void test_two_lines_are_two_writes(void **state)
{
    pipe_fx *fx = *state;
    char want[256];

    cs_info("x");
    cs_info("y");
    snprintf(want, sizeof want, "info teststage[%ld]: x\ninfo teststage[%ld]: y\n", (long)getpid(),
             (long)getpid());
    assert_string_equal(drain(fx), want);
}

static void test_levels(void **state)
{
    pipe_fx *fx = *state;

    assert_int_equal(cs_log_get_level(), CS_LOG_INFO);
    cs_debug("hidden");
    assert_string_equal(drain(fx), "");
    cs_log_set_level(CS_LOG_DEBUG);
    cs_debug("shown %s", "now");
    expect(fx, "debug", "shown now\n");
    cs_log_set_level(CS_LOG_ERROR);
    cs_warn("hidden");
    cs_info("hidden");
    assert_string_equal(drain(fx), "");
    cs_error("still");
    expect(fx, "error", "still\n");
    cs_log_set_level(CS_LOG_INFO);
}

static void test_level_parse(void **state)
{
    static const struct {
        const char *s;
        int rc;
        cs_log_level want;
    } cases[] = {
        {"error", CS_OK, CS_LOG_ERROR}, {"WARN", CS_OK, CS_LOG_WARN},
        {"Info", CS_OK, CS_LOG_INFO},   {"debug", CS_OK, CS_LOG_DEBUG},
        {"warning", CS_ERR_INVAL, 0},   {"", CS_ERR_INVAL, 0},
        {"panic", CS_ERR_INVAL, 0},     {"debug ", CS_ERR_INVAL, 0},
    };
    size_t i;
    cs_log_level got;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        got = (cs_log_level)99;
        assert_int_equal(cs_log_level_parse(cases[i].s, &got), cases[i].rc);
        if (cases[i].rc == CS_OK)
            assert_int_equal(got, cases[i].want);
        else
            assert_int_equal(got, 99);
    }
    assert_int_equal(cs_log_level_parse(NULL, &got), CS_ERR_INVAL);
}

static void test_control_chars(void **state)
{
    pipe_fx *fx = *state;

    cs_log(CS_LOG_WARN, "evil\nid", "a\nb\rc\td\x1b");
    expect(fx, "warn", "[call evil?id] a?b?c d?\n");
}

static void test_truncation(void **state)
{
    pipe_fx *fx = *state;
    static char big[5000];
    const char *out;
    size_t len;

    memset(big, 'x', sizeof big - 1);
    cs_log(CS_LOG_INFO, "c1", "%s", big);
    out = drain(fx);
    len = strlen(out);
    assert_int_equal(len, CS_LOG_LINE_MAX - 1);
    assert_string_equal(out + len - 4, "...\n");
    assert_ptr_equal(strchr(out, '\n'), out + len - 1);
    assert_int_equal(out[len - 5], 'x');

    /* exactly at the limit: not cut */
    {
        char pre[128];
        int plen = snprintf(pre, sizeof pre, "info teststage[%ld]: ", (long)getpid());
        int fit = CS_LOG_LINE_MAX - 2 - plen;
        cs_log(CS_LOG_INFO, NULL, "%.*s", fit, big);
        out = drain(fx);
        assert_int_equal(strlen(out), (size_t)(plen + fit + 1));
        assert_int_equal(out[strlen(out) - 2], 'x');
        cs_log(CS_LOG_INFO, NULL, "%.*s", fit + 1, big);
        out = drain(fx);
        assert_int_equal(strlen(out), (size_t)(plen + fit + 1));
        assert_string_equal(out + strlen(out) - 4, "...\n");
    }

    /* a very long call id is cut at 128 bytes */
    cs_log(CS_LOG_INFO, big, "m");
    out = drain(fx);
    assert_non_null(strstr(out, "[call xxxxxxxx"));
    assert_non_null(strstr(out, "x...] m\n"));
    assert_true(strlen(out) < 200);
}

static void test_journal_prefix(void **state)
{
    pipe_fx *fx = *state;
    struct stat st;
    char js[64], want[128];

    assert_int_equal(fstat(fx->wfd, &st), 0);
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    cs_log_set_fd(fx->wfd);
    cs_error("to the journal");
    snprintf(want, sizeof want, "<3>teststage[%ld]: to the journal\n", (long)getpid());
    assert_string_equal(drain(fx), want);
    cs_log(CS_LOG_WARN, "c9", "w");
    snprintf(want, sizeof want, "<4>teststage[%ld]: [call c9] w\n", (long)getpid());
    assert_string_equal(drain(fx), want);
    cs_info("i");
    snprintf(want, sizeof want, "<6>teststage[%ld]: i\n", (long)getpid());
    assert_string_equal(drain(fx), want);

    /* JOURNAL_STREAM naming another stream (stderr redirected): level words */
    setenv("JOURNAL_STREAM", "1:2", 1);
    cs_log_set_fd(fx->wfd);
    cs_error("plain");
    expect(fx, "error", "plain\n");
    setenv("JOURNAL_STREAM", "garbage", 1);
    cs_log_set_fd(fx->wfd);
    cs_error("plain");
    expect(fx, "error", "plain\n");
    unsetenv("JOURNAL_STREAM");
    cs_log_set_fd(fx->wfd);
}

/* Waits until the monotonic second has just begun, so a burst fits in it. */
static void align_to_second(void)
{
    struct timespec ts;
    struct timespec nap = {0, 10 * 1000 * 1000};

    do {
        nanosleep(&nap, NULL);
        clock_gettime(CLOCK_MONOTONIC, &ts);
    } while (ts.tv_nsec > 200 * 1000 * 1000);
}

static void test_rate_limit(void **state)
{
    pipe_fx *fx = *state;
    cs_log_ratelimit rl = CS_LOG_RATELIMIT_INIT(1, 3);
    char want[512];
    long pid = (long)getpid();
    int i, printed = 0;

    align_to_second();
    for (i = 0; i < 10; i++)
        printed += cs_log_rl(&rl, CS_LOG_WARN, "c7", "burst %d", i);
    assert_int_equal(printed, 3);
    snprintf(want, sizeof want,
             "warn teststage[%ld]: [call c7] burst 0\n"
             "warn teststage[%ld]: [call c7] burst 1\n"
             "warn teststage[%ld]: [call c7] burst 2\n",
             pid, pid, pid);
    assert_string_equal(drain(fx), want);
    assert_int_equal(rl.suppressed, 7);

    /* still inside the window: suppressed, nothing written */
    assert_int_equal(cs_log_rl(&rl, CS_LOG_WARN, "c7", "again"), 0);
    assert_string_equal(drain(fx), "");

    sleep(2);
    assert_int_equal(cs_log_rl(&rl, CS_LOG_WARN, "c7", "after"), 1);
    snprintf(want, sizeof want,
             "warn teststage[%ld]: [call c7] suppressed 8 similar messages\n"
             "warn teststage[%ld]: [call c7] after\n",
             pid, pid);
    assert_string_equal(drain(fx), want);
    assert_int_equal(rl.printed, 1);
    assert_int_equal(rl.suppressed, 0);

    /* a new window with nothing suppressed reports nothing */
    sleep(2);
    assert_int_equal(cs_log_rl(&rl, CS_LOG_WARN, NULL, "quiet"), 1);
    expect(fx, "warn", "quiet\n");

    /* below the level: neither printed nor counted */
    assert_int_equal(cs_log_rl(&rl, CS_LOG_DEBUG, NULL, "dbg"), 0);
    assert_int_equal(rl.printed, 1);
    assert_int_equal(rl.suppressed, 0);
    assert_string_equal(drain(fx), "");
}

static void test_rate_limit_separate_sites(void **state)
{
    pipe_fx *fx = *state;
    cs_log_ratelimit a = CS_LOG_RATELIMIT_INIT(60, 1);
    cs_log_ratelimit b = CS_LOG_RATELIMIT_INIT(60, 1);

    assert_int_equal(cs_log_rl(&a, CS_LOG_WARN, NULL, "a"), 1);
    assert_int_equal(cs_log_rl(&a, CS_LOG_WARN, NULL, "a"), 0);
    assert_int_equal(cs_log_rl(&b, CS_LOG_WARN, NULL, "b"), 1);
    assert_int_equal(cs_log_rl(&b, CS_LOG_WARN, NULL, "b"), 0);
    (void)drain(fx);
}

/* Runs fn in a child whose log goes to a pipe; returns the wait status. */
static int run_child(void (*fn)(void), char *out, size_t cap, long *child_pid)
{
    int fds[2], status = 0;
    size_t len = 0;
    ssize_t r;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        close(fds[0]);
        cs_log_set_fd(fds[1]);
        fn();
        _exit(99); /* not reached */
    }
    close(fds[1]);
    while (len < cap - 1 && (r = read(fds[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *child_pid = (long)pid;
    return status;
}

static void do_fatal(void)
{
    cs_fatal(4, "database %s is down", "cs");
}

static void do_panic(void)
{
    cs_panic("invariant %d broke", 3);
}

static void test_fatal_and_panic(void **state)
{
    char out[1024], want[256];
    long pid;
    int status;

    (void)state;
    status = run_child(do_fatal, out, sizeof out, &pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 4);
    snprintf(want, sizeof want, "fatal teststage[%ld]: database cs is down\n", pid);
    assert_string_equal(out, want);

    status = run_child(do_panic, out, sizeof out, &pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    snprintf(want, sizeof want, "panic teststage[%ld]: invariant 3 broke\n", pid);
    assert_string_equal(out, want);
}

static void test_stage_name_bound(void **state)
{
    pipe_fx *fx = *state;
    char want[128];

    cs_log_init("a-stage-name-that-is-much-longer-than-thirty-one-bytes", CS_LOG_INFO);
    cs_info("m");
    snprintf(want, sizeof want, "info a-stage-name-that-is-much-longe[%ld]: m\n", (long)getpid());
    assert_string_equal(drain(fx), want);
    cs_log_init("teststage", CS_LOG_INFO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_lines_are_two_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels, setup, teardown),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test_setup_teardown(test_control_chars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_separate_sites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatal_and_panic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_name_bound, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
