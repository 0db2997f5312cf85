/*
 * main.c — callscope-decode, stage 2: spool entries in, one archived stereo
 * recording and one database transaction per call out.
 *
 * This file says what decode needs and nothing more: its configuration table,
 * its options, the worker loop that moves a spool entry through
 * callinfo -> render -> archive -> store, and the worker processes (-j).
 * Options, the configuration file, logging and signals are the shared
 * skeleton's (common/stage.c); the spool protocol is common/spool.h; decoding
 * is decode/render.h; the file is decode/archive.h; the transaction is
 * decode/store.h.
 *
 * One entry, in this order, and why (docs/callscope-decode.md has the crash
 * analysis of every step):
 *   1. spool_claim (rename ready/X -> active/X): one worker owns the entry;
 *   2. call.json read and parsed (callinfo_parse). A document that does not
 *      parse can never succeed: spool/failed/X with the field's reason;
 *   3. store_recording_get(uuid): is the call already archived? Asked BEFORE
 *      any file is written because the archive is append-only: a file the
 *      recordings chain holds is never rewritten (a newer encoder could give
 *      other bytes than the chained sha256);
 *   4. render_call (call.pcap -> two channels, stream statuses, VAD
 *      segments). A call.pcap that cannot be opened, or holds fewer frames
 *      than call.json says capture wrote (truncated), goes to failed/;
 *   5. archive_write (tmp -> fsync -> rename) unless the call is already
 *      archived; archive.keep_pcap copies call.pcap beside it;
 *   6. store_call: the call, legs, events, streams, DTMF, talk segments, the
 *      transcribe job and (when new) the recordings row, in ONE transaction;
 *   7. spool_finish (the entry is removed) — only after the COMMIT.
 * A crash between 5 and 6 leaves a file without a row: the entry is still in
 * the spool, and the retry rewrites the same file (no row holds it yet). A
 * crash between 6 and 7 leaves the entry: the retry finds the row, keeps the
 * file, and re-stores the same rows (store_call is idempotent by uuid).
 *
 * Errors, per entry:
 *   permanent (call.json malformed, call.pcap unreadable or truncated, the
 *   server refuses the call's data, the archive refuses the format)
 *       -> spool_fail: failed/X with "reason"; the daemon goes on;
 *   transient (out of memory, serialization failures on every attempt)
 *       -> spool_release (back to ready/), retried after decode.retry_delay,
 *          at most decode.retries times, then failed/X;
 *   archive not writable (disk full, quota, permissions, I/O error)
 *       -> spool_release, not counted as an attempt (the disk is at fault,
 *          not the call); daemon: pause decode.retry_delay, try again;
 *          --once: exit 4 with the entries left in ready/;
 *   database unreachable (store says CS_ERR_DB_CONN) or schema missing
 *       -> spool_release, not counted as an attempt; the worker reconnects
 *          with back-off (db_ensure) before it claims anything again. Daemon:
 *          forever; --once: db.connect_tries attempts, then exit 4 with the
 *          entries left in ready/.
 *
 * Workers. -j N > 1 forks N worker processes after start-up recovery; each
 * has its own spool consumer handle and database connection (libpq handles
 * are per process). The parent forwards SIGTERM/SIGINT, waits, sums the
 * workers' counters (each writes them to a pipe as it exits) and exits with
 * the worst worker status. A worker killed by a signal makes the parent stop
 * the others and exit 70 (systemd restarts the service; the restart's
 * recovery puts the dead worker's claim back in ready/). Workers get
 * PR_SET_PDEATHSIG SIGTERM: if the parent dies they finish their entry and
 * exit. -j 1 (the default) runs the worker in the main process.
 *
 * Wake-ups: ready/ is rescanned every decode.scan_interval (default 1 s) and
 * whenever inotify says ready/ changed (SPOOL_NOTIFY; only a hint).
 *
 * Signals: SIGTERM/SIGINT finish the entry in hand and exit 0 (its outcome is
 * stored or the entry is released; nothing is lost).
 *
 * Counters (entries done/failed/retried, calls archived/already archived,
 * seconds of audio, busy seconds, x real time) are logged every
 * decode.stats_interval and at exit, and written as JSON with --json-stats.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "callinfo.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "render.h"
#include "spool.h"
#include "stage.h"
#include "workers.h"
#include "store.h"

#define DECODE_SCAN_BATCH  64  /* entries listed per scan of ready/ */
#define DECODE_DEFER_MAX   256 /* entries remembered for retry back-off per worker */
#define DECODE_JSON_MAX    (16 * 1024)
#define DECODE_SWEEP_DAYS  7    /* archive_sweep_tmp over this many UTC days at start-up */
#define DECODE_SWEEP_AGE_S 300  /* leftover .tmp files younger than this are kept */
#define DECODE_TMP_AGE_S   3600 /* spool_recover: uncommitted writer dirs older than this */
#define DECODE_MAX_WORKERS 64
#define MS_1S              1000LL
#define MS_1D              (86400LL * 1000)

typedef struct decode_cfg {
    char *spool_dir;
    char *archive_dir;
    int format; /* archive_format */
    int keep_pcap;
    char *db_conninfo;
    int64_t db_connect_tries;
    int64_t workers;
    int64_t retries;
    int64_t retry_delay_ms;
    int rate; /* 0 auto, 1 8000, 2 16000 */
    int64_t scan_interval_ms;
    int64_t stats_interval_ms;
} decode_cfg;

static const char *const format_names[] = {"flac", "wav", "opus", NULL};
static const char *const rate_names[] = {"auto", "8000", "16000", NULL};

static const cfg_key decode_keys[] = {
    CFG_KEY_STRING(decode_cfg, spool_dir, "spool.dir", "/var/spool/callscope", 0,
                   "spool directory shared with callscope-capture"),
    CFG_KEY_STRING(decode_cfg, archive_dir, "archive.dir", "/var/lib/callscope/archive", 0,
                   "archive root (must exist): recordings go to YYYY/MM/DD/<uuid>.<format>"),
    CFG_KEY_ENUM(decode_cfg, format, "archive.format", "flac", format_names,
                 "recording format: flac (lossless), wav (lossless), opus (Ogg Opus, lossy)"),
    CFG_KEY_BOOL(decode_cfg, keep_pcap, "archive.keep_pcap", "no",
                 "also keep the call's call.pcap beside the recording as evidence"),
    CFG_KEY_STRING(decode_cfg, db_conninfo, "db.conninfo", "", CFG_CONNINFO,
                   "libpq connection string or URI of the callscope database (empty: libpq's "
                   "PG* environment variables and defaults)"),
    CFG_KEY_INT(decode_cfg, db_connect_tries, "db.connect_tries", "3", 1, 1000,
                "--once: connection attempts, with exponential back-off, before exit 4 (the "
                "daemon retries for ever)"),
    CFG_KEY_INT(decode_cfg, workers, "decode.workers", "1", 1, DECODE_MAX_WORKERS,
                "worker processes (each decodes one call at a time)"),
    CFG_KEY_INT(decode_cfg, retries, "decode.retries", "3", 0, 1000,
                "retries of an entry after a transient error before it goes to failed/"),
    CFG_KEY_DURATION(decode_cfg, retry_delay_ms, "decode.retry_delay", "30s", 0, MS_1D,
                     "pause before an entry that failed transiently is tried again"),
    CFG_KEY_ENUM(decode_cfg, rate, "decode.rate", "auto", rate_names,
                 "recording sample rate: auto (16000 when any stream is wideband, else 8000), "
                 "8000 (as auto: wideband calls stay 16000) or 16000 (always)"),
    CFG_KEY_DURATION(decode_cfg, scan_interval_ms, "decode.scan_interval", "1s", 10, 60 * MS_1S,
                     "rescan spool/ready/ this often when nothing woke us"),
    CFG_KEY_DURATION(decode_cfg, stats_interval_ms, "decode.stats_interval", "60s", 0, MS_1D,
                     "log the counters this often (0: only at exit)"),
};
#define DECODE_NKEYS (sizeof decode_keys / sizeof decode_keys[0])

/* ---- options ----------------------------------------------------------- */

typedef struct decode_opts {
    int once;
    const char *workers;
    const char *spool;
    const char *archive;
    const char *db;
    const char *json_stats;
    const char *stats_interval;
} decode_opts;

static int opt_once(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)arg;
    (void)err;
    (void)errcap;
    ((decode_opts *)ctx)->once = 1;
    return 0;
}

#define DECODE_OPT_STRING(fn, field)                                                               \
    static int fn(void *ctx, const char *arg, char *err, size_t errcap)                            \
    {                                                                                              \
        (void)err;                                                                                 \
        (void)errcap;                                                                              \
        ((decode_opts *)ctx)->field = arg;                                                         \
        return 0;                                                                                  \
    }
DECODE_OPT_STRING(opt_workers, workers)
DECODE_OPT_STRING(opt_spool, spool)
DECODE_OPT_STRING(opt_archive, archive)
DECODE_OPT_STRING(opt_db, db)
DECODE_OPT_STRING(opt_json_stats, json_stats)
DECODE_OPT_STRING(opt_stats_interval, stats_interval)

static const cs_stage_opt decode_opts_tab[] = {
    {"once", 0, no_argument, NULL, "process what is in spool/ready/ now, then exit", opt_once},
    {"workers", 'j', required_argument, "N", "worker processes (decode.workers)", opt_workers},
    {"spool", 0, required_argument, "DIR", "spool directory (spool.dir)", opt_spool},
    {"archive", 0, required_argument, "DIR", "archive root (archive.dir)", opt_archive},
    {"db", 0, required_argument, "CONNINFO", "database (db.conninfo)", opt_db},
    {"json-stats", 0, required_argument, "FILE", "write the final counters as JSON to FILE",
     opt_json_stats},
    {"stats-interval", 0, required_argument, "DURATION",
     "log the counters this often (decode.stats_interval)", opt_stats_interval},
};
#define DECODE_NOPTS (sizeof decode_opts_tab / sizeof decode_opts_tab[0])

/* Options that override configuration keys, applied after the file and --set. */
static int apply_overrides(const decode_opts *o, decode_cfg *cfg, char *err, size_t errcap)
{
    static const struct {
        size_t off;
        const char *key;
        const char *opt;
    } map[] = {
        {offsetof(decode_opts, workers), "decode.workers", "--workers"},
        {offsetof(decode_opts, spool), "spool.dir", "--spool"},
        {offsetof(decode_opts, archive), "archive.dir", "--archive"},
        {offsetof(decode_opts, db), "db.conninfo", "--db"},
        {offsetof(decode_opts, stats_interval), "decode.stats_interval", "--stats-interval"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = *(const char *const *)((const char *)o + map[i].off);
        char why[256];
        if (v == NULL) {
            continue;
        }
        if (cfg_set_value(decode_keys, DECODE_NKEYS, cfg, map[i].key, v, why, sizeof why) !=
            CS_OK) {
            snprintf(err, errcap, "%s: %s", map[i].opt, why);
            return CS_ERR_CONFIG;
        }
    }
    return CS_OK;
}

/* ---- counters ------------------------------------------------------------ */

/* Plain data: workers send it to the parent through a pipe (< PIPE_BUF). */
typedef struct decode_counters {
    uint64_t claimed;       /* entries claimed */
    uint64_t done;          /* entries stored and removed from the spool */
    uint64_t failed;        /* entries moved to failed/ */
    uint64_t retried;       /* entries released for a later retry (transient error) */
    uint64_t db_waits;      /* entries released because the database was unreachable */
    uint64_t archive_waits; /* entries released because the archive could not be written */
    uint64_t archived;      /* recordings written (new rows) */
    uint64_t already;       /* calls already archived: row and file kept */
    uint64_t no_audio;      /* calls stored without a recording */
    uint64_t reconnects;
    double audio_s; /* seconds of call audio rendered */
    double busy_s;  /* seconds spent on entries (claim to finish) */
} decode_counters;

static void counters_add(decode_counters *a, const decode_counters *b)
{
    a->claimed += b->claimed;
    a->done += b->done;
    a->failed += b->failed;
    a->retried += b->retried;
    a->db_waits += b->db_waits;
    a->archive_waits += b->archive_waits;
    a->archived += b->archived;
    a->already += b->already;
    a->no_audio += b->no_audio;
    a->reconnects += b->reconnects;
    a->audio_s += b->audio_s;
    a->busy_s += b->busy_s;
}

static void log_counters(const decode_counters *c, const char *when)
{
    cs_info("%s: entries done=%llu failed=%llu retried=%llu db_waits=%llu archive_waits=%llu; "
            "calls archived=%llu already_archived=%llu no_audio=%llu; audio %.1f s in %.2f s "
            "busy (%.0fx real time); reconnects=%llu",
            when, (unsigned long long)c->done, (unsigned long long)c->failed,
            (unsigned long long)c->retried, (unsigned long long)c->db_waits,
            (unsigned long long)c->archive_waits, (unsigned long long)c->archived,
            (unsigned long long)c->already, (unsigned long long)c->no_audio, c->audio_s, c->busy_s,
            c->busy_s > 0 ? c->audio_s / c->busy_s : 0.0, (unsigned long long)c->reconnects);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- one worker ---------------------------------------------------------- */

typedef struct decode_run {
    const decode_cfg *cfg;
    int once;
    render_opts ropts;
} decode_run;

/* An entry waiting for its retry. */
typedef struct defer_slot {
    char name[SPOOL_NAME_MAX + 1];
    unsigned attempts;
    double not_before; /* mono_s */
} defer_slot;

typedef struct worker {
    const decode_run *run;
    int id; /* 0 in the main process, 1..N for forked workers */
    spool *sp;
    db_conn *db;
    int db_ok;       /* connected and the schema is there */
    int db_conn_bad; /* CS_ERR_CONFIG from db_connect: never retry */
    decode_counters c;
    defer_slot defer[DECODE_DEFER_MAX];
    size_t ndefer;
} worker;

typedef enum entry_outcome {
    ENTRY_SKIPPED = 0, /* claimed by someone else meanwhile */
    ENTRY_DONE,
    ENTRY_FAILED,
    ENTRY_RETRY,   /* released, transient */
    ENTRY_DBDOWN,  /* released, the database is unreachable */
    ENTRY_ENVDOWN, /* released, the archive cannot be written (disk, permissions) */
} entry_outcome;

static defer_slot *defer_find(worker *w, const char *name)
{
    for (size_t i = 0; i < w->ndefer; i++) {
        if (strcmp(w->defer[i].name, name) == 0) {
            return &w->defer[i];
        }
    }
    return NULL;
}

static void defer_drop(worker *w, const char *name)
{
    defer_slot *d = defer_find(w, name);
    if (d != NULL) {
        *d = w->defer[--w->ndefer];
    }
}

/* Records one more transient failure; returns the attempts so far. When the
 * table is full the oldest slot is reused (that entry then retries sooner). */
static unsigned defer_add(worker *w, const char *name, double delay_s)
{
    defer_slot *d = defer_find(w, name);
    if (d == NULL) {
        if (w->ndefer == DECODE_DEFER_MAX) {
            memmove(&w->defer[0], &w->defer[1], (DECODE_DEFER_MAX - 1) * sizeof w->defer[0]);
            w->ndefer--;
        }
        d = &w->defer[w->ndefer++];
        memset(d, 0, sizeof *d);
        snprintf(d->name, sizeof d->name, "%s", name);
    }
    d->attempts++;
    d->not_before = mono_s() + delay_s;
    return d->attempts;
}

static int stop_cb(void *arg)
{
    (void)arg;
    return cs_stage_stop_requested() != 0;
}

/* 1 when the schema is in place (recordings exists), 0 when not, <0 error. */
static int schema_present(db_conn *db)
{
    db_result *r = NULL;
    int rc = db_query(db, "SELECT to_regclass('recordings') IS NOT NULL", 0, NULL, &r);
    if (rc != CS_OK) {
        return rc;
    }
    int v = 0;
    rc = db_result_bool(r, 0, 0, &v);
    db_result_free(r);
    return rc != CS_OK ? rc : v;
}

/*
 * Makes sure the worker has a usable database with the schema. Returns CS_OK,
 * CS_ERR_DB_CONN (gave up: --once), CS_ERR_INTERRUPTED (stop), CS_ERR_CONFIG
 * (conninfo does not parse), CS_ERR_STATE (schema missing, --once).
 */
static int worker_db(worker *w)
{
    const decode_cfg *cfg = w->run->cfg;
    char safe[512];

    if (w->db_ok && db_is_ok(w->db)) {
        return CS_OK;
    }
    cfg_mask_conninfo(cfg->db_conninfo ? cfg->db_conninfo : "", safe, sizeof safe);
    if (w->db == NULL) {
        int rc = db_connect(cfg->db_conninfo ? cfg->db_conninfo : "", "callscope-decode", &w->db);
        if (rc == CS_ERR_CONFIG) {
            cs_log(CS_LOG_FATAL, NULL, "db.conninfo '%s' does not parse: %s", safe,
                   db_last_error(w->db));
            return CS_ERR_CONFIG;
        }
        if (w->db == NULL) {
            return rc;
        }
    }
    for (;;) {
        db_backoff bo = {
            .initial_ms = 200,
            .max_ms = w->run->once ? 2000 : 30000,
            .max_tries = w->run->once ? (unsigned)cfg->db_connect_tries : 0,
            .should_stop = stop_cb,
        };
        int had = db_is_ok(w->db);
        int rc = db_ensure(w->db, &bo);
        if (rc == CS_ERR_INTERRUPTED) {
            return rc;
        }
        if (rc != CS_OK) {
            cs_error("database %s unreachable: %s", safe, db_last_error(w->db));
            return rc;
        }
        if (!had) {
            w->c.reconnects++;
        }
        int s = schema_present(w->db);
        if (s == 1) {
            if (!w->db_ok) {
                cs_info("database %s: connected", safe);
            }
            w->db_ok = 1;
            return CS_OK;
        }
        if (s == 0) {
            cs_error("database %s has no callscope schema: run 'callscope db migrate'", safe);
            if (w->run->once) {
                return CS_ERR_STATE;
            }
        } else if (s != CS_ERR_DB_CONN) {
            cs_error("database %s: checking the schema: %s", safe, db_last_error(w->db));
            if (w->run->once) {
                return CS_ERR_STATE;
            }
        }
        /* daemon: wait and look again (the server may be restarting, or the
         * operator migrating) */
        for (int i = 0; i < 50 && !cs_stage_stop_requested(); i++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (cs_stage_stop_requested()) {
            return CS_ERR_INTERRUPTED;
        }
    }
}

/* Reads the claimed entry's call.json into a new buffer (*len bytes). */
static int read_call_json(worker *w, const char *name, char **text, size_t *len, char *err,
                          size_t errcap)
{
    int fd = -1;
    int rc = spool_claimed_open(w->sp, name, "call.json", &fd);
    *text = NULL;
    *len = 0;
    if (rc != CS_OK) {
        snprintf(err, errcap, "call.json: cannot open: %s (%s)", cs_err_msg(rc),
                 strerror(spool_errno(w->sp)));
        return rc == CS_ERR_NOTFOUND ? CS_ERR_MALFORMED : rc;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errcap, "call.json: not a regular file");
        close(fd);
        return CS_ERR_MALFORMED;
    }
    if ((uint64_t)st.st_size > CALLINFO_MAX_BYTES) {
        snprintf(err, errcap, "call.json: %lld bytes, more than %u", (long long)st.st_size,
                 CALLINFO_MAX_BYTES);
        close(fd);
        return CS_ERR_LIMIT;
    }
    size_t cap = (size_t)st.st_size + 1;
    char *buf = malloc(cap);
    if (buf == NULL) {
        close(fd);
        return CS_ERR_NOMEM;
    }
    size_t n = 0;
    while (n < cap - 1) {
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            snprintf(err, errcap, "call.json: read error: %s", strerror(errno));
            free(buf);
            close(fd);
            return CS_ERR_IO;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return CS_OK;
}

/* Per-stream status for the database from what the renderer made of it
 * (docs/decode-store.md, "Suggested mapping"). */
static void stream_results(const callinfo *ci, const render_result *rr, store_stream_result *out)
{
    for (size_t i = 0; i < ci->nstreams; i++) {
        store_stream_result *o = &out[i];
        if (rr == NULL) {
            o->status = STORE_DEC_NO_AUDIO;
            o->reason = "the spool entry has no call.pcap";
            continue;
        }
        const render_stream *st = &rr->streams[i];
        o->reason = st->reason[0] ? st->reason : NULL;
        if (st->channel == 0) {
            o->status = STORE_DEC_SKIPPED;
        } else if (st->packets == 0) {
            o->status = STORE_DEC_NO_AUDIO;
        } else if (st->decoded == 0 && st->refused > 0) {
            o->status = STORE_DEC_UNSUPPORTED_CODEC;
        } else if (st->decoded == 0 && st->decode_errors > 0) {
            o->status = STORE_DEC_FAILED;
        } else if (st->decoded == 0) {
            o->status = STORE_DEC_SKIPPED;
            if (o->reason == NULL) {
                o->reason = "no audio packets (telephone-event / comfort noise only)";
            }
        } else if (st->refused > 0 || st->decode_errors > 0) {
            o->status = STORE_DEC_PARTIAL;
        } else {
            o->status = STORE_DEC_OK;
        }
    }
}

static entry_outcome entry_fail(worker *w, const char *name, int err, const char *msg)
{
    int rc = spool_fail(w->sp, name, err, msg);
    defer_drop(w, name);
    cs_error("%s: moved to failed/: %s", name, msg);
    if (rc != CS_OK) {
        cs_error("%s: spool_fail: %s (%s)", name, cs_err_msg(rc), strerror(spool_errno(w->sp)));
    }
    w->c.failed++;
    return ENTRY_FAILED;
}

/* A transient failure: back to ready/ for a retry, or to failed/ after the
 * last one. */
static entry_outcome entry_retry(worker *w, const char *name, int err, const char *msg)
{
    const decode_cfg *cfg = w->run->cfg;
    unsigned attempts = defer_add(w, name, (double)cfg->retry_delay_ms / 1000.0);
    if (attempts > (unsigned)cfg->retries) {
        char why[SPOOL_REASON_MAX];
        snprintf(why, sizeof why, "%s (after %u attempts)", msg, attempts);
        return entry_fail(w, name, err, why);
    }
    int rc = spool_release(w->sp, name);
    if (rc == CS_ERR_EXISTS) {
        /* a duplicate arrived meanwhile: keep this copy, the next try finds the other */
        return entry_fail(w, name, CS_ERR_EXISTS, "duplicate entry in ready/ (the newer is kept)");
    }
    cs_warn("%s: %s; retry %u of %lld in %lld ms", name, msg, attempts, (long long)cfg->retries,
            (long long)cfg->retry_delay_ms);
    w->c.retried++;
    return ENTRY_RETRY;
}

static entry_outcome entry_dbdown(worker *w, const char *name, const char *msg)
{
    int rc = spool_release(w->sp, name);
    cs_warn("%s: database unavailable (%s): entry back in ready/", name, msg);
    if (rc != CS_OK) {
        cs_error("%s: spool_release: %s", name, cs_err_msg(rc));
    }
    w->db_ok = 0;
    w->c.db_waits++;
    return ENTRY_DBDOWN;
}

static entry_outcome entry_envdown(worker *w, const char *name, const char *msg)
{
    int rc = spool_release(w->sp, name);
    cs_error("%s: archive not writable (%s): entry back in ready/", name, msg);
    if (rc != CS_OK) {
        cs_error("%s: spool_release: %s", name, cs_err_msg(rc));
    }
    w->c.archive_waits++;
    return ENTRY_ENVDOWN;
}

static entry_outcome process_entry(worker *w, const char *name)
{
    const decode_run *run = w->run;
    const decode_cfg *cfg = run->cfg;
    char err[SPOOL_REASON_MAX];
    char *text = NULL;
    size_t len = 0;
    callinfo *ci = NULL;
    render_result *rr = NULL;
    entry_outcome out;
    int rc;

    rc = spool_claim(w->sp, name);
    if (rc == CS_ERR_NOTFOUND || rc == CS_ERR_BUSY) {
        return ENTRY_SKIPPED;
    }
    if (rc != CS_OK) {
        cs_error("%s: cannot claim: %s (%s)", name, cs_err_msg(rc), strerror(spool_errno(w->sp)));
        return ENTRY_SKIPPED;
    }
    w->c.claimed++;
    double t0 = mono_s();

    /* 2. call.json */
    err[0] = '\0';
    rc = read_call_json(w, name, &text, &len, err, sizeof err);
    if (rc == CS_ERR_NOMEM) {
        out = entry_retry(w, name, rc, "out of memory reading call.json");
        goto done;
    }
    if (rc != CS_OK) {
        out = entry_fail(w, name, rc, err);
        goto done;
    }
    callinfo_error cerr;
    rc = callinfo_parse(text, len, &ci, &cerr);
    free(text);
    text = NULL;
    if (rc == CS_ERR_NOMEM) {
        out = entry_retry(w, name, rc, "out of memory parsing call.json");
        goto done;
    }
    if (rc != CS_OK) {
        snprintf(err, sizeof err, "call.json %s", cerr.msg);
        out = entry_fail(w, name, rc, err);
        goto done;
    }

    /* 3. already archived? */
    store_recording have;
    int archived = 0;
    rc = store_recording_get(w->db, ci->uuid, &have);
    if (rc == CS_OK) {
        archived = 1;
    } else if (rc == CS_ERR_INVAL) {
        snprintf(err, sizeof err, "call.json /uuid: '%s' is not a canonical lowercase uuid",
                 ci->uuid);
        out = entry_fail(w, name, CS_ERR_MALFORMED, err);
        goto done;
    } else if (rc == CS_ERR_DB_CONN || rc == CS_ERR_BUSY) {
        snprintf(err, sizeof err, "looking up the recording: %s", db_last_error(w->db));
        out = entry_dbdown(w, name, err);
        goto done;
    } else if (rc != CS_ERR_NOTFOUND) {
        snprintf(err, sizeof err, "looking up the recording: %s (%s)", cs_err_msg(rc),
                 db_last_error(w->db));
        out = entry_retry(w, name, rc, err);
        goto done;
    }

    /* 4. render */
    if (ci->has_pcap) {
        char pcap[4096] = "";
        rc = spool_claimed_path(w->sp, name, "call.pcap", pcap, sizeof pcap);
        if (rc == CS_OK) {
            rc = render_call(ci, pcap, &run->ropts, &rr, err, sizeof err);
        } else {
            snprintf(err, sizeof err, "spool path too long");
        }
        if (rc == CS_ERR_NOMEM) {
            out = entry_retry(w, name, rc, "out of memory rendering");
            goto done;
        }
        if (rc != CS_OK) {
            char why[SPOOL_REASON_MAX + 16]; /* spool_fail cuts at SPOOL_REASON_MAX */
            size_t plen = strlen(pcap);
            /* the entry moves to failed/: name the file, not its active/ path */
            if (plen > 0 && strncmp(err, pcap, plen) == 0) {
                snprintf(why, sizeof why, "render: call.pcap%s", err + plen);
            } else {
                snprintf(why, sizeof why, "render: %s", err);
            }
            out = entry_fail(w, name, rc, why);
            goto done;
        }
        if (rr->pcap_frames < (uint64_t)(ci->pcap.frames > 0 ? ci->pcap.frames : 0)) {
            snprintf(err, sizeof err,
                     "call.pcap truncated: %llu of the %lld frames call.json lists could be read",
                     (unsigned long long)rr->pcap_frames, (long long)ci->pcap.frames);
            out = entry_fail(w, name, CS_ERR_TRUNCATED, err);
            goto done;
        }
    }

    /* 5. archive */
    archive_result ar;
    int wrote = 0;
    memset(&ar, 0, sizeof ar);
    if (!archived && rr != NULL && rr->frames > 0) {
        archive_audio aa = {
            .uuid = ci->uuid,
            .started_us = ci->invite_us,
            .sample_rate = rr->rate,
            .ch1 = rr->ch1,
            .ch2 = rr->ch2,
            .frames = rr->frames,
            .format = (archive_format)cfg->format,
        };
        rc = archive_write(cfg->archive_dir, &aa, NULL, &ar);
        if (rc != CS_OK) {
            if (rc == CS_ERR_NOMEM) {
                out = entry_retry(w, name, rc, ar.msg);
            } else if (rc == CS_ERR_IO || rc == CS_ERR_NOTFOUND || ar.sys_errno != 0) {
                out = entry_envdown(w, name, ar.msg); /* disk, permissions: not the call */
            } else {
                out = entry_fail(w, name, rc, ar.msg); /* the format refuses this audio */
            }
            goto done;
        }
        wrote = 1;
        if (cfg->keep_pcap) {
            char pcap[4096];
            archive_result pr;
            memset(&pr, 0, sizeof pr);
            rc = spool_claimed_path(w->sp, name, "call.pcap", pcap, sizeof pcap);
            if (rc == CS_OK) {
                rc = archive_copy_pcap(cfg->archive_dir, ci->uuid, ci->invite_us, pcap, NULL, &pr);
            } else {
                snprintf(pr.msg, sizeof pr.msg, "spool path too long");
            }
            if (rc != CS_OK) {
                out = rc == CS_ERR_NOMEM ? entry_retry(w, name, rc, pr.msg)
                                         : entry_envdown(w, name, pr.msg);
                goto done;
            }
        }
    }

    /* 6. store, one transaction */
    store_stream_result *sr = NULL;
    if (ci->nstreams > 0) {
        sr = calloc(ci->nstreams, sizeof *sr);
        if (sr == NULL) {
            out = entry_retry(w, name, CS_ERR_NOMEM, "out of memory");
            goto done;
        }
        stream_results(ci, rr, sr);
    }
    store_call_in in = {
        .call = ci,
        .rec = wrote ? &ar : NULL,
        .rec_started_us = ci->invite_us,
        .streams = sr,
        .segs = rr != NULL ? rr->segments : NULL,
        .nsegs = rr != NULL ? rr->nsegments : 0,
    };
    store_call_out so;
    rc = store_call(w->db, &in, &so);
    free(sr);
    if (rc == CS_ERR_DB_CONN) {
        out = entry_dbdown(w, name, so.msg);
        goto done;
    }
    if (rc == CS_OK) {
        rc = spool_finish(w->sp, name);
        if (rc != CS_OK) {
            /* stored: a retry would only re-store the same rows */
            cs_error("%s: stored, but spool_finish failed: %s (%s)", name, cs_err_msg(rc),
                     strerror(spool_errno(w->sp)));
        }
        defer_drop(w, name);
        w->c.done++;
        if (so.already_archived) {
            w->c.already++;
            if (so.sha_differs) {
                /* another process chained this call between our lookup and our
                 * store, and our rename replaced its file with other bytes */
                cs_log(CS_LOG_ERROR, ci->call_id,
                       "%s: archived concurrently by another process; %s now differs from the "
                       "chained sha256 %s (callscope verify will report it)",
                       name, so.recording.path, so.recording.sha256_hex);
            }
        } else if (so.recording.seq > 0) {
            w->c.archived++;
        } else {
            w->c.no_audio++;
        }
        if (rr != NULL) {
            w->c.audio_s += (double)rr->frames / (double)rr->rate;
        }
        cs_log(CS_LOG_DEBUG, ci->call_id, "%s: stored (%s, seq %lld, %zu streams, %zu segments)",
               name, so.already_archived ? "already archived" : so.recording.path,
               (long long)so.recording.seq, so.streams, so.segments);
        out = ENTRY_DONE;
        goto done;
    }
    if (wrote) {
        /* the file is not chained: remove it so the archive holds no orphan
         * (a retry writes it again) */
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", cfg->archive_dir, ar.path);
        unlink(p);
    }
    if (rc == CS_ERR_DB &&
        (strncmp(so.sqlstate, "42", 2) == 0 || strncmp(so.sqlstate, "3F", 2) == 0)) {
        /* undefined table/column, no privilege: the schema or the role, not
         * the call's data — retried (an operator may fix it meanwhile), then
         * failed/ (a missing schema is caught before any claim, worker_db) */
        out = entry_retry(w, name, rc, so.msg);
    } else if (store_err_retryable(rc)) {
        out = entry_retry(w, name, rc, so.msg);
    } else {
        snprintf(err, sizeof err, "database refused the call: %s", so.msg);
        out = entry_fail(w, name, rc, err);
    }

done:
    w->c.busy_s += mono_s() - t0;
    free(text);
    render_free(rr);
    callinfo_free(ci);
    return out;
}

/* The worker loop. Returns an exit code. */
static int worker_loop(worker *w)
{
    const decode_run *run = w->run;
    const decode_cfg *cfg = run->cfg;
    spool_item items[DECODE_SCAN_BATCH];
    double stats_every = (double)cfg->stats_interval_ms / 1000.0;
    double next_stats = stats_every > 0 ? mono_s() + stats_every : 0;
    int exit_code = CS_EXIT_OK;
    char label[32];

    if (w->id > 0) {
        snprintf(label, sizeof label, "worker %d stats", w->id);
    } else {
        snprintf(label, sizeof label, "stats");
    }
    while (!cs_stage_stop_requested()) {
        int rc = worker_db(w);
        if (rc == CS_ERR_INTERRUPTED) {
            break;
        }
        if (rc == CS_ERR_CONFIG) {
            return CS_EXIT_CONFIG;
        }
        if (rc != CS_OK) {
            return CS_EXIT_ENV; /* --once only: the daemon waits in worker_db */
        }
        size_t n = 0, total = 0;
        rc = spool_scan(w->sp, items, DECODE_SCAN_BATCH, &n, &total);
        if (rc != CS_OK) {
            cs_error("cannot scan %s/ready: %s (%s)", cfg->spool_dir, cs_err_msg(rc),
                     strerror(spool_errno(w->sp)));
            if (run->once) {
                return CS_EXIT_ENV;
            }
        }
        size_t worked = 0, waiting = 0;
        double now = mono_s(), earliest = 0;
        int dbdown = 0, envdown = 0;
        for (size_t i = 0; i < n && !cs_stage_stop_requested(); i++) {
            defer_slot *d = defer_find(w, items[i].name);
            if (d != NULL && d->not_before > now) {
                if (waiting++ == 0 || d->not_before < earliest) {
                    earliest = d->not_before;
                }
                continue;
            }
            entry_outcome o = process_entry(w, items[i].name);
            if (o != ENTRY_SKIPPED) {
                worked++;
            }
            if (o == ENTRY_FAILED && run->once) {
                exit_code = CS_EXIT_PARTIAL; /* the daemon logs and counts, exits 0 */
            }
            if (o == ENTRY_RETRY) {
                waiting++;
                d = defer_find(w, items[i].name);
                if (d != NULL && (waiting == 1 || d->not_before < earliest)) {
                    earliest = d->not_before;
                }
            }
            if (o == ENTRY_DBDOWN) {
                dbdown = 1;
                break;
            }
            if (o == ENTRY_ENVDOWN) {
                envdown = 1;
                break;
            }
            now = mono_s();
            if (next_stats > 0 && now >= next_stats) {
                next_stats = now + stats_every;
                log_counters(&w->c, label);
            }
        }
        if (dbdown) {
            continue; /* reconnect first */
        }
        if (envdown) {
            if (run->once) {
                return CS_EXIT_ENV; /* the entries stay in ready/ */
            }
            /* daemon: wait decode.retry_delay (at least 1 s), then try again */
            double until =
                mono_s() +
                (cfg->retry_delay_ms < 1000 ? 1.0 : (double)cfg->retry_delay_ms / 1000.0);
            while (!cs_stage_stop_requested() && mono_s() < until) {
                struct timespec ts = {0, 100 * 1000000L};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        now = mono_s();
        if (next_stats > 0 && now >= next_stats) {
            next_stats = now + stats_every;
            log_counters(&w->c, label);
        }
        if (worked > 0 && n == DECODE_SCAN_BATCH) {
            continue; /* more may be there */
        }
        if (worked > 0) {
            continue; /* look again at once: entries may have arrived meanwhile */
        }
        if (run->once && waiting == 0) {
            break; /* nothing left that this worker may do */
        }
        /* wait for new entries, a hint, or the earliest retry */
        int wait_ms = (int)cfg->scan_interval_ms;
        if (waiting > 0) {
            double left = (earliest - now) * 1000.0;
            if (left < wait_ms) {
                wait_ms = left < 0 ? 0 : (int)left + 1;
            }
        }
        spool_wait(w->sp, wait_ms);
    }
    return exit_code;
}

/* Runs one worker (in this process). Returns its exit code; *c gets its counters. */
static int worker_main(const decode_run *run, int id, decode_counters *c)
{
    worker *w = calloc(1, sizeof *w);
    int exit_code;

    memset(c, 0, sizeof *c);
    if (w == NULL) {
        cs_log(CS_LOG_FATAL, NULL, "out of memory");
        return CS_EXIT_ENV;
    }
    w->run = run;
    w->id = id;
    int rc = spool_open(run->cfg->spool_dir, SPOOL_CONSUMER | SPOOL_NOTIFY, &w->sp);
    if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "cannot open the spool %s: %s (%s)", run->cfg->spool_dir,
               cs_err_msg(rc), strerror(errno));
        free(w);
        return rc == CS_ERR_CONFIG ? CS_EXIT_CONFIG : CS_EXIT_ENV;
    }
    exit_code = worker_loop(w);
    *c = w->c;
    spool_close(w->sp);
    db_close(w->db);
    free(w);
    return exit_code;
}

/* ---- start-up ------------------------------------------------------------ */

static int startup_recovery(const decode_cfg *cfg)
{
    spool *sp = NULL;
    spool_recovery rep;
    int rc = spool_open(cfg->spool_dir, 0, &sp);
    if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "cannot open the spool %s: %s (%s)", cfg->spool_dir,
               cs_err_msg(rc), strerror(errno));
        return rc == CS_ERR_CONFIG ? CS_EXIT_CONFIG : CS_EXIT_ENV;
    }
    rc = spool_recover(sp, DECODE_TMP_AGE_S, &rep);
    if (rc == CS_ERR_BUSY) {
        cs_warn("another consumer is running on %s: its claims are alive, no recovery",
                cfg->spool_dir);
    } else if (rc != CS_OK) {
        cs_error("spool recovery on %s: %s (%s)", cfg->spool_dir, cs_err_msg(rc),
                 strerror(spool_errno(sp)));
    } else if (rep.active_to_ready + rep.active_to_failed + rep.tmp_removed + rep.trash_removed >
               0) {
        cs_info("spool recovery: %zu claimed entries back to ready/, %zu to failed/, %zu "
                "uncommitted and %zu half-deleted entries removed",
                rep.active_to_ready, rep.active_to_failed, rep.tmp_removed, rep.trash_removed);
    }
    spool_close(sp);

    struct stat st;
    if (stat(cfg->archive_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cs_log(CS_LOG_FATAL, NULL, "archive directory %s: %s", cfg->archive_dir,
               errno != 0 ? strerror(errno) : "not a directory");
        return CS_EXIT_ENV;
    }
    size_t swept = 0;
    time_t now = time(NULL);
    for (int d = 0; d < DECODE_SWEEP_DAYS; d++) {
        time_t t = now - (time_t)d * 86400;
        struct tm tm;
        char rel[40];
        size_t n = 0;
        gmtime_r(&t, &tm);
        snprintf(rel, sizeof rel, "%04d/%02d/%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        if (archive_sweep_tmp(cfg->archive_dir, rel, DECODE_SWEEP_AGE_S, &n) == CS_OK) {
            swept += n;
        }
    }
    if (swept > 0) {
        cs_info("archive: %zu leftover temporary files removed", swept);
    }
    return CS_STAGE_RUN;
}

/* ---- JSON ---------------------------------------------------------------- */

static int write_json_stats(const char *path, const decode_counters *c, double elapsed_s,
                            int workers, int once, int exit_code)
{
    json_w *w = json_w_new(1, DECODE_JSON_MAX);
    int rc;

    if (w == NULL) {
        return CS_ERR_NOMEM;
    }
    json_obj_begin(w);
    json_kv_str(w, "program", "callscope-decode");
    json_kv_str(w, "version", CALLSCOPE_VERSION);
    json_kv_int(w, "workers", workers);
    json_kv_bool(w, "once", once);
    json_kv_double(w, "elapsed_s", elapsed_s);
    json_kv_uint(w, "claimed", c->claimed);
    json_kv_uint(w, "done", c->done);
    json_kv_uint(w, "failed", c->failed);
    json_kv_uint(w, "retried", c->retried);
    json_kv_uint(w, "db_waits", c->db_waits);
    json_kv_uint(w, "archive_waits", c->archive_waits);
    json_kv_uint(w, "archived", c->archived);
    json_kv_uint(w, "already_archived", c->already);
    json_kv_uint(w, "no_audio", c->no_audio);
    json_kv_uint(w, "reconnects", c->reconnects);
    json_kv_double(w, "audio_s", c->audio_s);
    json_kv_double(w, "busy_s", c->busy_s);
    json_kv_double(w, "x_realtime", c->busy_s > 0 ? c->audio_s / c->busy_s : 0.0);
    json_kv_int(w, "exit_code", exit_code);
    json_obj_end(w);
    rc = json_w_save(w, path);
    json_w_free(w);
    return rc;
}

/* ---- worker processes ------------------------------------------------------ */

/* cs_workers glue */
static int worker_entry(void *arg, int id, void *counters)
{
    return worker_main(arg, id, counters);
}

static void counters_add_any(void *total, const void *one)
{
    counters_add(total, one);
}

static int run_workers(const decode_run *run, int n, decode_counters *total)
{
    cs_workers_spec spec = {
        .n = n,
        .fn = worker_entry,
        .arg = (void *)run,
        .counters_size = sizeof *total,
        .add = counters_add_any,
        .on_crash = CS_WORKERS_STOP_ALL,
        .crash_note = "stopping the others (the restart's recovery puts its entry back)",
    };
    return cs_workers_run(&spec, total);
}

int main(int argc, char **argv)
{
    decode_cfg cfg;
    decode_opts o;
    cs_stage st;
    char err[512];
    int exit_code;

    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    const cs_stage_def def = {
        .name = "callscope-decode",
        .stage = "decode",
        .synopsis = "[OPTION]...",
        .description =
            "Takes finished calls from spool/ready/ (written by callscope-capture), decodes\n"
            "their audio into one stereo recording (channel 1 customer, channel 2 what the\n"
            "customer heard), archives it under archive/YYYY/MM/DD/<uuid>.<format> with its\n"
            "SHA-256 in the recordings hash chain, and stores the call (legs, SIP events,\n"
            "streams, DTMF, talk segments, transcribe job) in one database transaction.\n"
            "Idempotent by call uuid: a call already archived keeps its file and row.\n"
            "\n"
            "A malformed entry goes to spool/failed/<uuid>/ with a 'reason' file; while\n"
            "the database is down entries stay in the spool and are retried. SIGTERM\n"
            "finishes the call in hand and exits 0.\n"
            "--once: exit 0 all done, 1 some entries went to failed/, 4 database\n"
            "unreachable (the rest stays in ready/).\n"
            "See callscope-decode(1) in docs/callscope-decode.md.",
        .default_config = "/etc/callscope/callscope.conf",
        .keys = decode_keys,
        .nkeys = DECODE_NKEYS,
        .opts = decode_opts_tab,
        .nopts = DECODE_NOPTS,
        .ctx = &o,
        .min_args = 0,
        .max_args = 0,
    };
    cs_stage_start(&def, argc, argv, &cfg, &st);

    if (apply_overrides(&o, &cfg, err, sizeof err) != CS_OK) {
        fprintf(stderr,
                "callscope-decode: %s\nTry 'callscope-decode --help' for more information.\n", err);
        exit_code = CS_EXIT_USAGE;
        goto out;
    }
    decode_run run = {
        .cfg = &cfg,
        .once = o.once,
        .ropts = {.rate = cfg.rate == 2 ? 16000 : 0},
    };
    if (cfg.rate == 1) {
        cs_warn("decode.rate = 8000: calls with a wideband stream (G.722, Opus, L16/16000) are "
                "still recorded at 16000 Hz (the renderer does not downsample)");
    }
    double t0 = mono_s();
    char safe[512];
    cfg_mask_conninfo(cfg.db_conninfo ? cfg.db_conninfo : "", safe, sizeof safe);
    cs_info("spool %s, archive %s (%s%s), database '%s', %lld worker%s%s", cfg.spool_dir,
            cfg.archive_dir, format_names[cfg.format], cfg.keep_pcap ? " + pcap" : "", safe,
            (long long)cfg.workers, cfg.workers == 1 ? "" : "s", o.once ? ", once" : "");

    exit_code = startup_recovery(&cfg);
    if (exit_code != CS_STAGE_RUN) {
        goto out;
    }
    decode_counters total;
    if (cfg.workers <= 1) {
        exit_code = worker_main(&run, 0, &total);
    } else {
        exit_code = run_workers(&run, (int)cfg.workers, &total);
    }
    log_counters(&total, "final");
    if (o.json_stats != NULL) {
        int rc = write_json_stats(o.json_stats, &total, mono_s() - t0, (int)cfg.workers, o.once,
                                  exit_code);
        if (rc != CS_OK) {
            cs_error("cannot write %s: %s", o.json_stats, cs_err_msg(rc));
            exit_code = cs_exit_worse(exit_code, CS_EXIT_ENV);
        }
    }
    cs_info("exiting with status %d", exit_code);

out:
    cfg_free(decode_keys, DECODE_NKEYS, &cfg);
    return exit_code;
}
