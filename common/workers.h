/*
 * workers.h — the worker processes of the database stages (callscope-decode,
 * -transcribe, -score with -j N).
 *
 * cs_workers_run forks spec->n children. Child i (1..n) runs
 * spec->fn(spec->arg, i, counters) with counters_size zeroed bytes, writes
 * them back to the parent through a pipe and exits with fn's return value
 * (an exit code). Children get PR_SET_PDEATHSIG SIGTERM, so they stop when
 * the parent dies. The parent forwards SIGTERM to every child once
 * cs_stage_stop_requested() (polled every 50 ms, so a signal is never
 * missed between the check and the wait), waits for all of them, adds each
 * child's counters into *total with spec->add, and returns the worst exit
 * code (cs_exit_worse).
 *
 * A child killed by a signal is logged ("worker PID killed by signal N: "
 * followed by spec->crash_note, what becomes of its work), then:
 *   CS_WORKERS_CONTINUE  the others go on; the result is at least
 *                        CS_EXIT_PARTIAL (a job queue: its lease expires and
 *                        the job is reclaimed);
 *   CS_WORKERS_STOP_ALL  a stop is requested, every other child gets
 *                        SIGTERM, the result is CS_EXIT_INTERNAL (decode: the
 *                        restart's spool recovery puts its entry back).
 * A fork failure stops the children already started (CS_EXIT_ENV).
 * counters_size must be at most PIPE_BUF (a child's write is then atomic).
 *
 * Called by one thread; the children inherit the caller's signal handlers.
 */
#ifndef CALLSCOPE_WORKERS_H
#define CALLSCOPE_WORKERS_H

#include <stddef.h>

typedef int (*cs_worker_fn)(void *arg, int id, void *counters);
typedef void (*cs_counters_add_fn)(void *total, const void *one);

typedef enum cs_workers_crash { CS_WORKERS_CONTINUE, CS_WORKERS_STOP_ALL } cs_workers_crash;

typedef struct cs_workers_spec {
    int n; /* >= 1 */
    cs_worker_fn fn;
    void *arg;
    size_t counters_size; /* 1 .. PIPE_BUF */
    cs_counters_add_fn add;
    cs_workers_crash on_crash;
    const char *crash_note;
} cs_workers_spec;

/* Runs the workers; *total (counters_size bytes) is zeroed first. An exit
 * code: CS_EXIT_INTERNAL for a bad spec, CS_EXIT_ENV when no pipe. */
int cs_workers_run(const cs_workers_spec *spec, void *total);

/* The worse of two exit codes: 70 > 4 > 3 > 2 > 1 > 0 (an unknown code
 * counts as 70). */
int cs_exit_worse(int a, int b);

#endif
