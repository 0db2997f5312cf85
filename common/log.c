/*
 * log.c — the log sink of every callscope program.
 *
 * One line per record, assembled in a stack buffer of CS_LOG_LINE_MAX bytes
 * and handed to the kernel with one write(2), so concurrent threads and
 * processes never interleave inside a line and no lock is needed for output.
 * Nothing is buffered: a line is on its way before cs_fatal() exits or
 * cs_panic() aborts.
 *
 * The only global state is what the style guide allows: the stage name, the
 * verbosity, the output fd and whether that fd is the journal. They are set at
 * start-up (cs_log_init, cs_log_set_fd) before threads exist. Rate limiters
 * live at their call sites; their counters are updated under one mutex because
 * a call site may be reached from several worker threads.
 *
 * SECURITY: messages and call ids may carry bytes from the wire. Control
 * characters are replaced so a hostile Call-ID cannot forge extra log lines,
 * and every append is bounded by the buffer.
 */
#include "log.h"

#include "error.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_STAGE_MAX 32   /* bytes kept of the stage name, NUL included */
#define LOG_CALL_ID_MAX 128 /* bytes of a call id shown before "..." */

static char log_stage[LOG_STAGE_MAX] = "callscope";
static cs_log_level log_max = CS_LOG_INFO;
static int log_fd = 2;
static int log_journal; /* 1: log_fd is the stream named by JOURNAL_STREAM */
static pthread_mutex_t log_rl_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_words[] = {"panic", "fatal", "error", "warn", "info", "debug"};
/* syslog priorities: crit, crit, err, warning, info, debug (as Postfix maps them) */
static const int log_prio[] = {2, 2, 3, 4, 6, 7};

/* JOURNAL_STREAM is "<st_dev>:<st_ino>" of the stream systemd connected. */
static int log_fd_is_journal(int fd)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char tail;
    struct stat st;

    if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) != 2)
        return 0;
    if (fstat(fd, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void cs_log_init(const char *stage, cs_log_level max_level)
{
    snprintf(log_stage, sizeof log_stage, "%s", stage != NULL ? stage : "callscope");
    cs_log_set_level(max_level);
    log_journal = log_fd_is_journal(log_fd);
}

void cs_log_set_level(cs_log_level max_level)
{
    if (max_level < CS_LOG_ERROR)
        max_level = CS_LOG_ERROR;
    if (max_level > CS_LOG_DEBUG)
        max_level = CS_LOG_DEBUG;
    log_max = max_level;
}

cs_log_level cs_log_get_level(void)
{
    return log_max;
}

int cs_log_level_parse(const char *s, cs_log_level *out)
{
    static const cs_log_level levels[] = {CS_LOG_ERROR, CS_LOG_WARN, CS_LOG_INFO, CS_LOG_DEBUG};
    size_t i;

    if (s == NULL || out == NULL)
        return CS_ERR_INVAL;
    for (i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcasecmp(s, log_words[levels[i]]) == 0) {
            *out = levels[i];
            return CS_OK;
        }
    }
    return CS_ERR_INVAL;
}

void cs_log_set_fd(int fd)
{
    log_fd = fd;
    log_journal = log_fd_is_journal(fd);
}

/* Replaces control bytes in buf[from, to) so the record stays one line. */
static void log_sanitize(char *buf, size_t from, size_t to)
{
    size_t i;

    for (i = from; i < to; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\t')
            buf[i] = ' ';
        else if (c < 0x20 || c == 0x7f)
            buf[i] = '?';
    }
}

/*
 * Appends formatted text at *len in buf (capacity cap, room for the NUL
 * included). Sets *cut when the text did not fit. *len never exceeds cap - 1.
 */
static void log_vappend(char *buf, size_t cap, size_t *len, int *cut, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
static void log_vappend(char *buf, size_t cap, size_t *len, int *cut, const char *fmt, va_list ap)
{
    size_t room = cap - *len;
    int n;

    if (room <= 1) {
        *cut = 1;
        return;
    }
    n = vsnprintf(buf + *len, room, fmt, ap);
    if (n < 0) {
        buf[*len] = '\0';
        *cut = 1;
        return;
    }
    if ((size_t)n >= room) {
        *len = cap - 1;
        *cut = 1;
    } else {
        *len += (size_t)n;
    }
}

static void log_append(char *buf, size_t cap, size_t *len, int *cut, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void log_append(char *buf, size_t cap, size_t *len, int *cut, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vappend(buf, cap, len, cut, fmt, ap);
    va_end(ap);
}

static void log_write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(log_fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a failing log sink */
        }
        buf += w;
        len -= (size_t)w;
    }
}

/* Formats and writes one record; the level filter is the caller's job. */
static void log_emit(cs_log_level level, const char *call_id, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void log_emit(cs_log_level level, const char *call_id, const char *fmt, va_list ap)
{
    char line[CS_LOG_LINE_MAX];
    const size_t cap = sizeof line - 1; /* the last byte is kept for '\n' */
    size_t len = 0, from;
    int cut = 0, ignored = 0;

    if (level < CS_LOG_PANIC || level > CS_LOG_DEBUG)
        level = CS_LOG_ERROR;
    if (log_journal)
        log_append(line, cap, &len, &ignored, "<%d>%s[%ld]: ", log_prio[level], log_stage,
                   (long)getpid());
    else
        log_append(line, cap, &len, &ignored, "%s %s[%ld]: ", log_words[level], log_stage,
                   (long)getpid());
    if (call_id != NULL) {
        size_t idlen = strnlen(call_id, LOG_CALL_ID_MAX + 1);
        log_append(line, cap, &len, &ignored, "[call ");
        from = len;
        log_append(line, cap, &len, &ignored, "%.*s%s", (int)(idlen > LOG_CALL_ID_MAX ? LOG_CALL_ID_MAX : idlen),
                   call_id, idlen > LOG_CALL_ID_MAX ? "..." : "");
        log_sanitize(line, from, len);
        log_append(line, cap, &len, &ignored, "] ");
    }
    from = len;
    log_vappend(line, cap, &len, &cut, fmt, ap);
    log_sanitize(line, from, len);
    if (cut || ignored) {
        /* cap - 1 bytes are in use; the tail becomes "..." */
        memcpy(line + len - 3, "...", 3);
    }
    line[len++] = '\n';
    log_write_all(line, len);
}

void cs_logv(cs_log_level level, const char *call_id, const char *fmt, va_list ap)
{
    if (level > log_max)
        return;
    log_emit(level, call_id, fmt, ap);
}

void cs_log(cs_log_level level, const char *call_id, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    cs_logv(level, call_id, fmt, ap);
    va_end(ap);
}

_Noreturn void cs_fatal(int exit_code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(CS_LOG_FATAL, NULL, fmt, ap);
    va_end(ap);
    exit(exit_code);
}

_Noreturn void cs_panic(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(CS_LOG_PANIC, NULL, fmt, ap);
    va_end(ap);
    abort();
}

static time_t log_monotonic_s(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return ts.tv_sec;
}

static void log_plain(cs_log_level level, const char *call_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void log_plain(cs_log_level level, const char *call_id, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_emit(level, call_id, fmt, ap);
    va_end(ap);
}

/*
 * A window opens with the first line after the previous one has expired
 * (or at the first line ever: printed == suppressed == 0 means "no window").
 * The clock is counted in whole seconds and a window expires only when more
 * than interval_s of them have passed, so a window lasts at least interval_s
 * (and less than interval_s + 1) seconds: never more than `burst` lines in any
 * interval_s.
 * Lines beyond `burst` inside a window are counted, and the count is reported
 * once, just before the first line of the next window.
 */
int cs_log_rl(cs_log_ratelimit *rl, cs_log_level level, const char *call_id, const char *fmt, ...)
{
    uint64_t dropped = 0;
    int allowed;
    va_list ap;
    time_t now;

    if (level > log_max)
        return 0;
    now = log_monotonic_s();
    pthread_mutex_lock(&log_rl_lock);
    if ((rl->printed == 0 && rl->suppressed == 0) ||
        now - rl->window_start > (time_t)rl->interval_s) {
        dropped = rl->suppressed;
        rl->window_start = now;
        rl->printed = 0;
        rl->suppressed = 0;
    }
    allowed = rl->printed < rl->burst;
    if (allowed)
        rl->printed++;
    else
        rl->suppressed++;
    pthread_mutex_unlock(&log_rl_lock);

    if (dropped > 0)
        log_plain(level, call_id, "suppressed %llu similar messages", (unsigned long long)dropped);
    if (!allowed)
        return 0;
    va_start(ap, fmt);
    log_emit(level, call_id, fmt, ap);
    va_end(ap);
    return 1;
}
