/*
 * main.c — callscope-score, stage 4.
 *
 * Workers (-j N) claim 'score' jobs (queued by transcribe, one per call) and,
 * for each call, in ONE transaction:
 *   1. re-map the call's queue (DNIS) and agent (answering extension) from the
 *      directory tables (the directory may have been loaded after decode);
 *   2. compute its metrics (scoring/metrics.h) from the call, its holds, talk
 *      segments, RTP streams and DTMF events, and upsert call_metrics;
 *   3. mask keyed card numbers in dtmf_events (runs of >= score.dtmf_min_run
 *      digits keep only their last 4; the others become NULL/masked);
 *   4. decide first-call resolution (scoring/fcr.h) for every call of the
 *      same ANI under an advisory lock on the ANI, so a later call updates
 *      the earlier calls' FCR; the configured window goes to fcr_status, all
 *      three windows (24h, 72h, 7d) to call_metrics.extra.fcr;
 *   5. evaluate the active scorecard (scoring/scorecard.h) and upsert scores
 *      and score_items (the item rows keep their ids, so reviews stay
 *      attached);
 *   6. refresh the KPI rollup cells of every call touched (cs_kpi_refresh);
 *   7. complete the job.
 * At start-up it loads the directory file (queues by DNIS, agents by
 * extension) and the scorecard file into the database; a changed scorecard
 * becomes a new version (every score keeps the version it used). Pending FCR
 * decisions whose window has passed are settled by a sweep every
 * score.sweep_interval.
 *
 * Exit codes: stage.h. See docs/scoring.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "directory.h"
#include "error.h"
#include "file.h"
#include "jobq.h"
#include "log.h"
#include "scorecard.h"
#include "sscore.h"
#include "stage.h"
#include "workers.h"

#define SC_MAX_WORKERS 64
#define MS_1S          1000LL
#define MS_1D          (86400LL * 1000)

static const cfg_key sc_keys[] = {
    CFG_KEY_STRING(sscore_cfg, db_conninfo, "db.conninfo", "", CFG_CONNINFO,
                   "libpq connection string or URI of the callscope database"),
    CFG_KEY_INT(sscore_cfg, db_connect_tries, "db.connect_tries", "3", 1, 1000,
                "connection attempts with --once before giving up"),
    CFG_KEY_INT(sscore_cfg, workers, "score.workers", "1", 1, SC_MAX_WORKERS, "worker processes"),
    CFG_KEY_DURATION(sscore_cfg, lease_ms, "score.lease", "2m", 10 * MS_1S, MS_1D, "job lease"),
    CFG_KEY_DURATION(sscore_cfg, poll_ms, "score.poll_interval", "2s", 10, 600 * MS_1S,
                     "how often an idle worker looks for jobs (NOTIFY wakes it sooner)"),
    CFG_KEY_STRING(sscore_cfg, scorecard, "score.scorecard", "/etc/callscope/scorecard.json", 0,
                   "scorecard file (docs/scorecard.md); loaded as a new version when changed"),
    CFG_KEY_STRING(sscore_cfg, directory, "score.directory", "/etc/callscope/directory.conf", 0,
                   "queues by DNIS and agents by extension (docs/scoring.md); a missing file "
                   "means none"),
    CFG_KEY_DURATION(sscore_cfg, dead_air_min_ms, "score.dead_air_min", "5s", 500, 600 * MS_1S,
                     "both channels silent at least this long while connected = dead air"),
    CFG_KEY_DURATION(sscore_cfg, short_abandon_ms, "score.short_abandon", "5s", 0, 600 * MS_1S,
                     "abandons sooner than this are short abandons"),
    CFG_KEY_DURATION(sscore_cfg, sl_threshold_ms, "score.sl_threshold", "20s", 0, 3600 * MS_1S,
                     "service-level threshold T (answered within T)"),
    CFG_KEY_DURATION(sscore_cfg, fcr_window_ms, "score.fcr_window", "7d", 3600 * MS_1S,
                     90 * MS_1D, "first-call-resolution window (24h, 72h or 7d are usual)"),
    CFG_KEY_BOOL(sscore_cfg, fcr_same_queue, "score.fcr_same_queue", "no",
                 "only a later call to the same queue makes a call a repeat"),
    CFG_KEY_DURATION(sscore_cfg, fcr_continuation_ms, "score.fcr_continuation", "15m", 0,
                     MS_1D, "a call this soon after the previous one is a continuation, not a "
                            "repeat"),
    CFG_KEY_INT(sscore_cfg, dtmf_min_run, "score.dtmf_min_run", "12", 4, 64,
                "keyed digit runs at least this long are masked but for their last 4"),
    CFG_KEY_DURATION(sscore_cfg, dtmf_run_gap_ms, "score.dtmf_run_gap", "3s", 100, 60 * MS_1S,
                     "digits further apart than this start a new run"),
    CFG_KEY_DURATION(sscore_cfg, sweep_ms, "score.sweep_interval", "5m", MS_1S, MS_1D,
                     "how often pending FCR decisions whose window passed are settled"),
};
#define SC_NKEYS (sizeof sc_keys / sizeof sc_keys[0])

typedef struct sc_opts {
    int once;
    const char *workers, *db, *scorecard, *directory;
} sc_opts;

static int opt_once(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)arg;
    (void)err;
    (void)errcap;
    ((sc_opts *)ctx)->once = 1;
    return 0;
}
#define SC_OPT_STRING(fn, field)                                                                   \
    static int fn(void *ctx, const char *arg, char *err, size_t errcap)                            \
    {                                                                                              \
        (void)err;                                                                                 \
        (void)errcap;                                                                              \
        ((sc_opts *)ctx)->field = arg;                                                             \
        return 0;                                                                                  \
    }
SC_OPT_STRING(opt_workers, workers)
SC_OPT_STRING(opt_db, db)
SC_OPT_STRING(opt_scorecard, scorecard)
SC_OPT_STRING(opt_directory, directory)

static const cs_stage_opt sc_opts_tab[] = {
    {"once", 0, no_argument, NULL, "work until no job is runnable, then exit", opt_once},
    {"workers", 'j', required_argument, "N", "worker processes (score.workers)", opt_workers},
    {"db", 0, required_argument, "CONNINFO", "database (db.conninfo)", opt_db},
    {"scorecard", 0, required_argument, "FILE", "scorecard file (score.scorecard)", opt_scorecard},
    {"directory", 0, required_argument, "FILE", "queues and agents (score.directory)",
     opt_directory},
};
#define SC_NOPTS (sizeof sc_opts_tab / sizeof sc_opts_tab[0])

static int apply_overrides(const sc_opts *o, sscore_cfg *cfg, char *err, size_t errcap)
{
    static const struct {
        size_t off;
        const char *key, *opt;
    } map[] = {
        {offsetof(sc_opts, workers), "score.workers", "--workers"},
        {offsetof(sc_opts, db), "db.conninfo", "--db"},
        {offsetof(sc_opts, scorecard), "score.scorecard", "--scorecard"},
        {offsetof(sc_opts, directory), "score.directory", "--directory"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = *(const char *const *)((const char *)o + map[i].off);
        char why[256];
        if (!v)
            continue;
        if (cfg_set_value(sc_keys, SC_NKEYS, cfg, map[i].key, v, why, sizeof why) != CS_OK) {
            snprintf(err, errcap, "%s: %s", map[i].opt, why);
            return CS_ERR_CONFIG;
        }
    }
    return CS_OK;
}

/* ---- workers -------------------------------------------------------------- */

typedef struct worker {
    const sscore_cfg *cfg;
    const scorecard *card;
    int64_t card_id;
    int once, id;
    db_conn *db;
    char owner[128];
    sscore_counters c;
    double last_sweep;
} worker;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int stop_cb(void *arg)
{
    (void)arg;
    return cs_stage_stop_requested();
}

static int worker_db(worker *w)
{
    if (w->db && db_is_ok(w->db))
        return CS_OK;
    if (!w->db) {
        int rc = db_connect(w->cfg->db_conninfo ? w->cfg->db_conninfo : "", "callscope-score",
                            &w->db);
        if (!w->db || rc == CS_ERR_CONFIG)
            return rc;
    }
    db_backoff bo = {
        .initial_ms = 200,
        .max_ms = w->once ? 2000 : 30000,
        .max_tries = w->once ? (unsigned)w->cfg->db_connect_tries : 0,
        .should_stop = stop_cb,
    };
    int rc = db_ensure(w->db, &bo);
    if (rc == CS_OK)
        jobq_listen(w->db, "score");
    return rc;
}

static void process_job(worker *w, jobq_job *j)
{
    char err[600];
    if (!j->call_uuid) {
        jobq_fail_final(w->db, j->id, w->owner, "score job without a call uuid");
        w->c.failed++;
        return;
    }
    int rc = db_begin(w->db);
    if (rc == CS_OK)
        rc = sscore_call(w->db, w->cfg, w->card, w->card_id, j->call_uuid, &w->c, err,
                         sizeof err);
    if (rc == CS_OK)
        rc = jobq_complete(w->db, j->id, w->owner);
    if (rc == CS_OK)
        rc = db_commit(w->db);
    if (rc == CS_OK) {
        w->c.done++;
        return;
    }
    if (db_in_transaction(w->db))
        db_rollback(w->db);
    if (rc == CS_ERR_STATE) {
        cs_log(CS_LOG_WARN, j->call_uuid, "lease lost: result dropped");
        return;
    }
    if (rc == CS_ERR_NOTFOUND) {
        cs_log(CS_LOG_ERROR, j->call_uuid, "scoring failed: %s", err);
        if (jobq_fail_final(w->db, j->id, w->owner, err) == CS_OK)
            w->c.failed++;
        return;
    }
    if (rc == CS_ERR_DB || rc == CS_ERR_DB_CONN) {
        snprintf(err, sizeof err, "scoring: %s", db_last_error(w->db));
        cs_log(CS_LOG_WARN, j->call_uuid, "%s (will retry)", err);
        if (db_is_ok(w->db)) {
            jobq_state st = JOBQ_QUEUED;
            if (jobq_fail(w->db, j->id, w->owner, err, NULL, &st) == CS_OK)
                st == JOBQ_FAILED ? w->c.failed++ : w->c.retried++;
        }
        return;
    }
    snprintf(err + strlen(err), sizeof err - strlen(err), "%s%s", err[0] ? ": " : "",
             cs_err_msg(rc));
    cs_log(CS_LOG_ERROR, j->call_uuid, "scoring failed: %s", err);
    if (jobq_fail_final(w->db, j->id, w->owner, err) == CS_OK)
        w->c.failed++;
}

static int worker_loop(worker *w)
{
    for (;;) {
        if (cs_stage_stop_requested())
            return CS_EXIT_OK;
        int rc = worker_db(w);
        if (rc == CS_ERR_INTERRUPTED)
            return CS_EXIT_OK;
        if (rc != CS_OK) {
            cs_error("database unreachable: %s", w->db ? db_last_error(w->db) : cs_err_msg(rc));
            if (w->once || rc == CS_ERR_CONFIG)
                return rc == CS_ERR_CONFIG ? CS_EXIT_CONFIG : CS_EXIT_ENV;
            continue;
        }
        if (mono_s() - w->last_sweep >= (double)w->cfg->sweep_ms / 1000.0) {
            int64_t settled = 0;
            if (sscore_sweep(w->db, w->cfg, &settled) == CS_OK) {
                w->last_sweep = mono_s();
                if (settled)
                    cs_info("FCR: %lld pending calls settled (window passed)", (long long)settled);
            }
        }
        jobq_job j;
        memset(&j, 0, sizeof j);
        rc = jobq_claim(w->db, "score", w->owner, (int)(w->cfg->lease_ms / 1000), &j);
        if (rc == CS_ERR_EMPTY) {
            if (w->once)
                return CS_EXIT_OK;
            db_wait_notify(w->db, (int)w->cfg->poll_ms, NULL, 0, NULL);
            continue;
        }
        if (rc != CS_OK) {
            if (w->once && db_is_ok(w->db)) {
                cs_error("claiming a job: %s", db_last_error(w->db));
                return CS_EXIT_ENV;
            }
            continue;
        }
        w->c.claimed++;
        process_job(w, &j);
        jobq_job_clear(&j);
    }
}

static int worker_main(const sscore_cfg *cfg, const scorecard *card, int64_t card_id, int once,
                       int id, sscore_counters *c)
{
    worker w;
    memset(&w, 0, sizeof w);
    memset(c, 0, sizeof *c);
    w.cfg = cfg;
    w.card = card;
    w.card_id = card_id;
    w.once = once;
    w.id = id;
    w.last_sweep = -1e9;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(w.owner, sizeof w.owner, "%s:%d:%d", host, (int)getpid(), id);
    int code = worker_loop(&w);
    *c = w.c;
    db_close(w.db);
    return code;
}

/* cs_workers glue */
typedef struct sc_run {
    const sscore_cfg *cfg;
    const scorecard *card;
    int64_t card_id;
    int once;
} sc_run;

static int worker_entry(void *arg, int id, void *counters)
{
    const sc_run *r = arg;
    return worker_main(r->cfg, r->card, r->card_id, r->once, id, counters);
}

static void counters_add(void *total, const void *one)
{
    sscore_counters *t = total;
    const sscore_counters *c = one;
    t->claimed += c->claimed;
    t->done += c->done;
    t->failed += c->failed;
    t->retried += c->retried;
    t->fcr_updates += c->fcr_updates;
    t->dtmf_masked += c->dtmf_masked;
}

static int run_workers(const sscore_cfg *cfg, const scorecard *card, int64_t card_id, int once,
                       int n, sscore_counters *total)
{
    sc_run r = {cfg, card, card_id, once};
    cs_workers_spec spec = {
        .n = n,
        .fn = worker_entry,
        .arg = &r,
        .counters_size = sizeof *total,
        .add = counters_add,
        .on_crash = CS_WORKERS_CONTINUE,
        .crash_note = "its job will be reclaimed",
    };
    return cs_workers_run(&spec, total);
}

/* Loads the scorecard file; *card_id gets the database version in use. */
static int load_card(db_conn *db, const sscore_cfg *cfg, scorecard **card, int64_t *card_id)
{
    char err[512];
    char *buf = NULL;
    size_t n = 0;
    int rc = cs_file_read(cfg->scorecard, SC_MAX_FILE_BYTES, "score.scorecard", &buf, &n, err,
                          sizeof err);
    if (rc == CS_ERR_NOMEM)
        return CS_EXIT_ENV;
    if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "%s%s", err,
               rc == CS_ERR_NOTFOUND ? " (deploy/scorecard.json is the default to start from)"
                                     : "");
        return CS_EXIT_CONFIG;
    }
    rc = scorecard_parse(buf, n, card, err, sizeof err);
    free(buf);
    if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "score.scorecard '%s': %s", cfg->scorecard, err);
        return CS_EXIT_CONFIG;
    }
    int version = 0, created = 0;
    rc = sscore_card_version(db, *card, card_id, &version, &created, err, sizeof err);
    if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "storing the scorecard: %s", err);
        return CS_EXIT_ENV;
    }
    cs_info("scorecard '%s' version %d%s (%zu items)", (*card)->name, version,
            created ? ", new" : "", (*card)->n_items);
    return CS_EXIT_OK;
}

static int load_directory(db_conn *db, const sscore_cfg *cfg)
{
    char err[512];
    dir_list d;
    int rc = dir_load(cfg->directory, &d, err, sizeof err);
    if (rc == CS_ERR_NOTFOUND) {
        cs_info("no directory at %s: queues and agents as already in the database",
                cfg->directory);
        return CS_EXIT_OK;
    }
    if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "score.directory: %s", err);
        return CS_EXIT_CONFIG;
    }
    rc = sscore_directory_store(db, &d, err, sizeof err);
    if (rc == CS_OK)
        cs_info("directory: %zu queues, %zu agents", d.n_queues, d.n_agents);
    else
        cs_log(CS_LOG_FATAL, NULL, "storing the directory: %s", err);
    dir_free(&d);
    return rc == CS_OK ? CS_EXIT_OK : CS_EXIT_ENV;
}

int main(int argc, char **argv)
{
    sscore_cfg cfg;
    sc_opts o;
    cs_stage st;
    char err[512];
    int exit_code;
    scorecard *card = NULL;
    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    const cs_stage_def def = {
        .name = "callscope-score",
        .stage = "score",
        .synopsis = "[OPTION]...",
        .description =
            "Scores transcribed calls: per-call QA metrics (answer time, talk, hold, dead air,\n"
            "overtalk, talk ratio, RTP quality, masked DTMF), first-call resolution (a later\n"
            "call from the same ANI updates the earlier calls), the active scorecard's items\n"
            "and score, and the KPI rollup that `callscope report kpi` reads. Jobs come from\n"
            "the database (kind 'score', queued by callscope-transcribe); -j N runs N workers.\n"
            "At start-up the directory (queues, agents) and the scorecard file are loaded; a\n"
            "changed scorecard becomes a new version.\n"
            "--once: exit when no job is runnable (0 done, 1 some failed, 4 database down).\n"
            "See callscope-score(1) in docs/scoring.md.",
        .default_config = "/etc/callscope/callscope.conf",
        .keys = sc_keys,
        .nkeys = SC_NKEYS,
        .opts = sc_opts_tab,
        .nopts = SC_NOPTS,
        .ctx = &o,
    };
    cs_stage_start(&def, argc, argv, &cfg, &st);
    if (apply_overrides(&o, &cfg, err, sizeof err) != CS_OK) {
        fprintf(stderr, "callscope-score: %s\nTry 'callscope-score --help' for more information.\n",
                err);
        exit_code = CS_EXIT_USAGE;
        goto out;
    }
    /* start-up work on one connection, before the workers fork */
    db_conn *db = NULL;
    int rc = db_connect(cfg.db_conninfo ? cfg.db_conninfo : "", "callscope-score", &db);
    if (rc == CS_OK) {
        db_backoff bo = {.initial_ms = 200, .max_ms = 2000,
                         .max_tries = (unsigned)cfg.db_connect_tries, .should_stop = stop_cb};
        rc = db_ensure(db, &bo);
    }
    if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "database unreachable: %s",
               db ? db_last_error(db) : cs_err_msg(rc));
        db_close(db);
        exit_code = rc == CS_ERR_CONFIG ? CS_EXIT_CONFIG : CS_EXIT_ENV;
        goto out;
    }
    int64_t card_id = 0;
    exit_code = load_directory(db, &cfg);
    if (exit_code == CS_EXIT_OK)
        exit_code = load_card(db, &cfg, &card, &card_id);
    db_close(db);
    if (exit_code != CS_EXIT_OK)
        goto out;
    sscore_counters total;
    if (cfg.workers <= 1)
        exit_code = worker_main(&cfg, card, card_id, o.once, 0, &total);
    else
        exit_code = run_workers(&cfg, card, card_id, o.once, (int)cfg.workers, &total);
    if (exit_code == CS_EXIT_OK && total.failed)
        exit_code = CS_EXIT_PARTIAL;
    cs_info("final: %llu claimed, %llu scored, %llu failed, %llu retried, %llu FCR updates, "
            "%llu DTMF digits masked",
            (unsigned long long)total.claimed, (unsigned long long)total.done,
            (unsigned long long)total.failed, (unsigned long long)total.retried,
            (unsigned long long)total.fcr_updates, (unsigned long long)total.dtmf_masked);
out:
    scorecard_free(card);
    cfg_free(sc_keys, SC_NKEYS, &cfg);
    return exit_code;
}
