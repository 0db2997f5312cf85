/*
 * log.h — logging for every callscope program.
 *
 * Lines go to stderr (journald picks them up under systemd) as
 *     <level> <stage>[<pid>]: [call <id>] message
 * with a "<N>" syslog priority prefix instead of the level word when
 * stderr is the journal (JOURNAL_STREAM set) so journald keeps the levels.
 *
 * Levels have fixed meanings:
 *   CS_LOG_FATAL  the environment is broken (config, permissions, disk); the program exits
 *   CS_LOG_PANIC  a bug of ours (an invariant broke); the program aborts
 *   CS_LOG_ERROR  one item failed (a call, a job, an entry) and was set aside; work goes on
 *   CS_LOG_WARN   something unexpected but handled (malformed packet, retry)
 *   CS_LOG_INFO   milestones a operator wants in the journal (start, stop, call done)
 *   CS_LOG_DEBUG  detail for developers, off by default
 *
 * Global state (allowed by the style guide): the stage name, the verbosity and
 * the sink. Rate limiting is per call site: cs_log_rl() lets through at most
 * `burst` lines per `interval_s` seconds for one static cs_log_ratelimit and then
 * reports how many lines it suppressed when the window reopens.
 * Thread-safe: one write(2) per line.
 *
 * Lines are at most CS_LOG_LINE_MAX bytes including the newline; a longer
 * message is cut and ends in "..." (never an overflow). That is below
 * PIPE_BUF, so lines from several processes sharing a pipe never interleave.
 * Control characters in the message and the call id (hostile bytes from the
 * wire may reach a log line) are written as '?', so one call is one line.
 * Journal detection follows systemd: JOURNAL_STREAM holds "<dev>:<ino>" of
 * the journal stream; the "<N>" prefix is used only while the log fd is that
 * stream (a child whose stderr was redirected to a file gets level words).
 */
#ifndef CALLSCOPE_LOG_H
#define CALLSCOPE_LOG_H

#include <stdarg.h>
#include <stdint.h>
#include <time.h>

typedef enum cs_log_level {
    CS_LOG_PANIC = 0,
    CS_LOG_FATAL = 1,
    CS_LOG_ERROR = 2,
    CS_LOG_WARN = 3,
    CS_LOG_INFO = 4,
    CS_LOG_DEBUG = 5
} cs_log_level;

/* Set once at start-up: stage name (copied, at most 31 bytes kept) and verbosity. */
void cs_log_init(const char *stage, cs_log_level max_level);
void cs_log_set_level(cs_log_level max_level);
cs_log_level cs_log_get_level(void);
/* Parse "error", "warn", "info", "debug" (case-insensitive); CS_ERR_INVAL otherwise. */
int cs_log_level_parse(const char *s, cs_log_level *out);

/* Redirect output to fd (tests); default is 2 (stderr). Borrows fd; re-checks
 * JOURNAL_STREAM against it. */
void cs_log_set_fd(int fd);

/* Longest line written, newline included. */
#define CS_LOG_LINE_MAX 2048

/* call_id may be NULL (no "[call ...]" part). */
void cs_log(cs_log_level level, const char *call_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cs_logv(cs_log_level level, const char *call_id, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Logs at FATAL and exits with `exit_code`. */
_Noreturn void cs_fatal(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs at PANIC and aborts (core dump). */
_Noreturn void cs_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Per-call-site rate limit. Zero-initialise with CS_LOG_RATELIMIT_INIT(interval_s, burst). */
typedef struct cs_log_ratelimit {
    unsigned interval_s; /* window length in seconds */
    unsigned burst;      /* lines allowed per window */
    time_t window_start; /* monotonic seconds when the window opened */
    unsigned printed;    /* lines printed in this window */
    uint64_t suppressed; /* lines dropped in this window */
} cs_log_ratelimit;
#define CS_LOG_RATELIMIT_INIT(interval, burst_) {(interval), (burst_), 0, 0, 0}

/* Like cs_log, but subject to `rl`. Returns 1 if printed, 0 if suppressed. */
int cs_log_rl(cs_log_ratelimit *rl, cs_log_level level, const char *call_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define cs_error(...) cs_log(CS_LOG_ERROR, NULL, __VA_ARGS__)
#define cs_warn(...)  cs_log(CS_LOG_WARN, NULL, __VA_ARGS__)
#define cs_info(...)  cs_log(CS_LOG_INFO, NULL, __VA_ARGS__)
#define cs_debug(...) cs_log(CS_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
