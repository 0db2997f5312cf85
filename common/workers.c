/*
 * workers.c — cs_workers_run (see workers.h).
 */
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "stage.h"

int cs_exit_worse(int a, int b)
{
    static const int order[] = {CS_EXIT_OK,     CS_EXIT_PARTIAL, CS_EXIT_USAGE,
                                CS_EXIT_CONFIG, CS_EXIT_ENV,     CS_EXIT_INTERNAL};
    int n = (int)(sizeof order / sizeof order[0]), ra = n - 1, rb = n - 1;
    for (int i = 0; i < n; i++) {
        if (order[i] == a)
            ra = i;
        if (order[i] == b)
            rb = i;
    }
    return ra >= rb ? order[ra] : order[rb];
}

static void signal_all(const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
}

/* In the child: runs the worker, reports its counters, exits. */
static void child(const cs_workers_spec *spec, int id, int wfd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(CS_EXIT_OK); /* the parent is already gone */
    void *c = calloc(1, spec->counters_size);
    if (!c)
        _exit(CS_EXIT_ENV);
    int code = spec->fn(spec->arg, id, c);
    ssize_t wr = write(wfd, c, spec->counters_size);
    (void)wr;
    close(wfd);
    _exit(code);
}

int cs_workers_run(const cs_workers_spec *spec, void *total)
{
    if (!spec || !total || spec->n < 1 || !spec->fn || !spec->add || spec->counters_size == 0 ||
        spec->counters_size > PIPE_BUF)
        return CS_EXIT_INTERNAL;
    memset(total, 0, spec->counters_size);
    int n = spec->n, pfd[2], exit_code = CS_EXIT_OK, alive = 0;
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    void *one = malloc(spec->counters_size);
    if (!pids || !one) {
        free(pids);
        free(one);
        return CS_EXIT_ENV;
    }
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        cs_log(CS_LOG_FATAL, NULL, "pipe: %s", strerror(errno));
        free(pids);
        free(one);
        return CS_EXIT_ENV;
    }
    pid_t parent = getpid();
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) {
            cs_error("fork: %s", strerror(errno));
            exit_code = CS_EXIT_ENV;
            cs_stage_request_stop();
            break;
        }
        if (p == 0) {
            close(pfd[0]);
            child(spec, i + 1, pfd[1], parent);
        }
        pids[i] = p;
        alive++;
    }
    close(pfd[1]);
    int forwarded = 0, stopped = 0;
    while (alive > 0) {
        if (cs_stage_stop_requested() && !forwarded) {
            forwarded = 1;
            signal_all(pids, n);
        }
        int status;
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p == 0 || (p < 0 && errno == EINTR)) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (p < 0)
            break;
        int ours = 0;
        for (int i = 0; i < n; i++)
            if (pids[i] == p) {
                pids[i] = 0;
                ours = 1;
            }
        if (!ours)
            continue; /* not one of the workers (the caller's own child) */
        alive--;
        if (WIFEXITED(status)) {
            exit_code = cs_exit_worse(exit_code, WEXITSTATUS(status));
        } else if (WIFSIGNALED(status)) {
            cs_error("worker %d killed by signal %d: %s", (int)p, WTERMSIG(status),
                     spec->crash_note ? spec->crash_note : "its work is left for recovery");
            if (spec->on_crash == CS_WORKERS_STOP_ALL) {
                exit_code = CS_EXIT_INTERNAL;
                if (!stopped) {
                    stopped = 1;
                    cs_stage_request_stop();
                    signal_all(pids, n);
                }
            } else {
                exit_code = cs_exit_worse(exit_code, CS_EXIT_PARTIAL);
            }
        }
    }
    for (;;) {
        ssize_t r = read(pfd[0], one, spec->counters_size);
        if (r < 0 && errno == EINTR)
            continue;
        if (r != (ssize_t)spec->counters_size)
            break;
        spec->add(total, one);
    }
    close(pfd[0]);
    free(pids);
    free(one);
    return exit_code;
}
