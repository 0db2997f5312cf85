/*
 * main.c — callscope-transcribe, stage 3.
 *
 * Worker mode (default): N worker processes (-j N), each with one
 * PocketSphinx decoder loaded once, claim 'transcribe' jobs from the
 * database (common/jobq.h: lease, retry with back-off, reclaim after a
 * worker died), transcribe each channel of the call's archived recording
 * over its talk segments, spot the configured phrases, and write utterances,
 * words and phrase hits, queue the 'score' job and complete the job in one
 * transaction (transcribe/txstore.h). --once: each worker exits when no job
 * is runnable.
 *
 * File mode (--file, repeatable): no database; each file's channels are
 * segmented by the decode stage's VAD and transcribed the same way; the
 * result goes to stdout (tsv: "<path>\t<words>", or json). The last stderr
 * line is "rtf <cpu_seconds> <audio_seconds>" (front end + recogniser CPU,
 * model loading excluded; audio summed over channels). bench/wer uses it.
 *
 * Job errors: a recording that is missing, purged, unreadable or damaged
 * fails the job at once (state failed, last_error says why); a transient
 * error (database) releases it for a retry. Exit codes: stage.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asr.h"
#include "chan.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "frontend.h"
#include "jobq.h"
#include "json.h"
#include "log.h"
#include "phrases.h"
#include "segment.h"
#include "stage.h"
#include "workers.h"
#include "txstore.h"
#include "vad.h"

#define TX_MAX_WORKERS 64
#define TX_MAX_FILES   4096
#define MS_1S          1000LL
#define MS_1D          (86400LL * 1000)

typedef struct tx_cfg {
    char *db_conninfo;
    int64_t db_connect_tries;
    char *archive_dir;
    int64_t workers;
    int64_t lease_ms;
    int64_t poll_ms;
    char *hmm, *lm, *dict;
    double beam, wbeam;
    int64_t maxhmmpf;
    int fwdflat, bestpath;
    int64_t topn, pl_window;
    char *frontend;
    double floor_dbfs, norm_dbfs, image_gain;
    int64_t pad_ms, merge_gap_ms, max_segment_ms;
    char *phrases;
    double phrase_min_score;
    int64_t score_priority;
} tx_cfg;

static const cfg_key tx_keys[] = {
    CFG_KEY_STRING(tx_cfg, db_conninfo, "db.conninfo", "", CFG_CONNINFO,
                   "libpq connection string or URI of the callscope database"),
    CFG_KEY_INT(tx_cfg, db_connect_tries, "db.connect_tries", "3", 1, 1000,
                "connection attempts with --once before giving up (a daemon retries forever)"),
    CFG_KEY_STRING(tx_cfg, archive_dir, "archive.dir", "/var/lib/callscope/archive", 0,
                   "archive root: recordings.path is relative to it"),
    CFG_KEY_INT(tx_cfg, workers, "transcribe.workers", "1", 1, TX_MAX_WORKERS,
                "worker processes, each with its own decoder (about 100 MB each)"),
    CFG_KEY_DURATION(tx_cfg, lease_ms, "transcribe.lease", "10m", 10 * MS_1S, MS_1D,
                     "job lease; renewed before every channel, reclaimable by others when a "
                     "worker dies"),
    CFG_KEY_DURATION(tx_cfg, poll_ms, "transcribe.poll_interval", "2s", 10, 600 * MS_1S,
                     "how often an idle worker looks for jobs (NOTIFY wakes it sooner)"),
    CFG_KEY_STRING(tx_cfg, hmm, "transcribe.hmm", ASR_DEFAULT_HMM, 0, "acoustic model directory"),
    CFG_KEY_STRING(tx_cfg, lm, "transcribe.lm", ASR_DEFAULT_LM, 0, "language model"),
    CFG_KEY_STRING(tx_cfg, dict, "transcribe.dict", ASR_DEFAULT_DICT, 0,
                   "pronunciation dictionary"),
    CFG_KEY_DOUBLE(tx_cfg, beam, "transcribe.beam", "1e-48", 1e-80, 1e-5,
                   "main search beam (PocketSphinx -beam); wider (smaller) is slower"),
    CFG_KEY_DOUBLE(tx_cfg, wbeam, "transcribe.wbeam", "7e-29", 1e-80, 1e-5,
                   "word-exit beam (PocketSphinx -wbeam)"),
    CFG_KEY_INT(tx_cfg, maxhmmpf, "transcribe.maxhmmpf", "30000", 100, 1000000,
                "most active HMMs per frame (PocketSphinx -maxhmmpf)"),
    CFG_KEY_BOOL(tx_cfg, fwdflat, "transcribe.fwdflat", "yes",
                 "flat-lexicon second pass (PocketSphinx -fwdflat)"),
    CFG_KEY_BOOL(tx_cfg, bestpath, "transcribe.bestpath", "yes",
                 "lattice best-path pass; gives the word posteriors (confidences)"),
    CFG_KEY_INT(tx_cfg, topn, "transcribe.topn", "4", 1, 64,
                "Gaussians scored per codebook (PocketSphinx -topn); fewer is faster"),
    CFG_KEY_INT(tx_cfg, pl_window, "transcribe.pl_window", "5", 0, 100,
                "phoneme look-ahead window in frames (PocketSphinx -pl_window; 0 = off)"),
    CFG_KEY_STRING(tx_cfg, frontend, "transcribe.frontend", "default", 0,
                   "front-end steps for 8 kHz audio: plain, fold, floor, norm or default "
                   "(comma-separated; docs/transcribe.md)"),
    CFG_KEY_DOUBLE(tx_cfg, floor_dbfs, "transcribe.floor_dbfs", "-60", -90, -20,
                   "level of the band-extension noise floor (step floor)"),
    CFG_KEY_DOUBLE(tx_cfg, norm_dbfs, "transcribe.norm_dbfs", "-20", -40, -6,
                   "target speech level (step norm)"),
    CFG_KEY_DOUBLE(tx_cfg, image_gain, "transcribe.image_gain", "1", 0, 1,
                   "level of the folded 4-8 kHz image (step fold)"),
    CFG_KEY_DURATION(tx_cfg, pad_ms, "transcribe.pad", "300ms", 0, 2 * MS_1S,
                     "audio decoded before and after each talk segment"),
    CFG_KEY_DURATION(tx_cfg, merge_gap_ms, "transcribe.merge_gap", "200ms", 0, 10 * MS_1S,
                     "padded talk segments closer than this are decoded as one"),
    CFG_KEY_DURATION(tx_cfg, max_segment_ms, "transcribe.max_segment", "30s", 2 * MS_1S,
                     120 * MS_1S, "longer stretches are cut at their quietest point"),
    CFG_KEY_STRING(tx_cfg, phrases, "transcribe.phrases", "/etc/callscope/phrases.conf", 0,
                   "phrase list for spotting (docs/transcribe.md); a missing file means none"),
    CFG_KEY_DOUBLE(tx_cfg, phrase_min_score, "transcribe.phrase_min_score", "0.6", 0.05, 1,
                   "least alignment score of a phrase hit (1 = exact text match)"),
    CFG_KEY_INT(tx_cfg, score_priority, "transcribe.score_priority", "0", -1000000, 1000000,
                "priority of the score jobs queued"),
};
#define TX_NKEYS (sizeof tx_keys / sizeof tx_keys[0])

typedef struct tx_opts {
    int once;
    const char *workers, *archive, *db, *frontend, *format, *channel, *phrases;
    const char *files[TX_MAX_FILES];
    int nfiles;
    int too_many;
} tx_opts;

static int opt_once(void *ctx, const char *arg, char *err, size_t errcap)
{
    (void)arg;
    (void)err;
    (void)errcap;
    ((tx_opts *)ctx)->once = 1;
    return 0;
}

static int opt_file(void *ctx, const char *arg, char *err, size_t errcap)
{
    tx_opts *o = ctx;
    if (o->nfiles == TX_MAX_FILES) {
        snprintf(err, errcap, "--file: at most %d files", TX_MAX_FILES);
        return -1;
    }
    o->files[o->nfiles++] = arg;
    return 0;
}

#define TX_OPT_STRING(fn, field)                                                                   \
    static int fn(void *ctx, const char *arg, char *err, size_t errcap)                            \
    {                                                                                              \
        (void)err;                                                                                 \
        (void)errcap;                                                                              \
        ((tx_opts *)ctx)->field = arg;                                                             \
        return 0;                                                                                  \
    }
TX_OPT_STRING(opt_workers, workers)
TX_OPT_STRING(opt_archive, archive)
TX_OPT_STRING(opt_db, db)
TX_OPT_STRING(opt_frontend, frontend)
TX_OPT_STRING(opt_format, format)
TX_OPT_STRING(opt_channel, channel)
TX_OPT_STRING(opt_phrases, phrases)

static const cs_stage_opt tx_opts_tab[] = {
    {"once", 0, no_argument, NULL, "work until no job is runnable, then exit", opt_once},
    {"workers", 'j', required_argument, "N", "worker processes (transcribe.workers)", opt_workers},
    {"archive", 0, required_argument, "DIR", "archive root (archive.dir)", opt_archive},
    {"db", 0, required_argument, "CONNINFO", "database (db.conninfo)", opt_db},
    {"frontend", 0, required_argument, "STEPS",
     "front-end steps (transcribe.frontend): plain, fold, floor, norm, default", opt_frontend},
    {"phrases", 0, required_argument, "FILE", "phrase list (transcribe.phrases)", opt_phrases},
    {"file", 'f', required_argument, "AUDIO",
     "file mode: transcribe this audio file (repeatable), no database", opt_file},
    {"format", 0, required_argument, "tsv|json", "file mode output (default tsv)", opt_format},
    {"channel", 0, required_argument, "N", "file mode: only channel N (1 or 2)", opt_channel},
};
#define TX_NOPTS (sizeof tx_opts_tab / sizeof tx_opts_tab[0])

static int apply_overrides(const tx_opts *o, tx_cfg *cfg, char *err, size_t errcap)
{
    static const struct {
        size_t off;
        const char *key, *opt;
    } map[] = {
        {offsetof(tx_opts, workers), "transcribe.workers", "--workers"},
        {offsetof(tx_opts, archive), "archive.dir", "--archive"},
        {offsetof(tx_opts, db), "db.conninfo", "--db"},
        {offsetof(tx_opts, frontend), "transcribe.frontend", "--frontend"},
        {offsetof(tx_opts, phrases), "transcribe.phrases", "--phrases"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = *(const char *const *)((const char *)o + map[i].off);
        char why[256];
        if (!v)
            continue;
        if (cfg_set_value(tx_keys, TX_NKEYS, cfg, map[i].key, v, why, sizeof why) != CS_OK) {
            snprintf(err, errcap, "%s: %s", map[i].opt, why);
            return CS_ERR_CONFIG;
        }
    }
    return CS_OK;
}

/* ---- the engine both modes share ------------------------------------------ */

typedef struct engine {
    const tx_cfg *cfg;
    asr *asr;
    fe *fe;
    ph_list phrases;
    seg_params sp;
    vad_params vp;
} engine;

static double proc_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int engine_open(engine *e, const tx_cfg *cfg)
{
    memset(e, 0, sizeof *e);
    e->cfg = cfg;
    char err[512];
    fe_opts fo;
    fe_opts_default(&fo);
    if (fe_parse_steps(cfg->frontend, &fo.steps, err, sizeof err) != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "transcribe.frontend: %s", err);
        return CS_EXIT_CONFIG;
    }
    fo.floor_dbfs = cfg->floor_dbfs;
    fo.norm_dbfs = cfg->norm_dbfs;
    fo.image_gain = cfg->image_gain;
    if (fe_new(&fo, &e->fe) != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "front end options out of range");
        return CS_EXIT_CONFIG;
    }
    e->sp.pad_ms = cfg->pad_ms;
    e->sp.merge_gap_ms = cfg->merge_gap_ms;
    e->sp.max_ms = cfg->max_segment_ms;
    vad_params_default(&e->vp);
    int rc = ph_list_load(cfg->phrases, &e->phrases, err, sizeof err);
    if (rc == CS_ERR_NOTFOUND) {
        cs_info("no phrase list at %s: phrase spotting off", cfg->phrases);
    } else if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "transcribe.phrases: %s", err);
        fe_free(e->fe);
        return CS_EXIT_CONFIG;
    }
    asr_config ac;
    asr_config_default(&ac);
    ac.hmm = cfg->hmm;
    ac.lm = cfg->lm;
    ac.dict = cfg->dict;
    ac.beam = cfg->beam;
    ac.wbeam = cfg->wbeam;
    ac.maxhmmpf = (int)cfg->maxhmmpf;
    ac.fwdflat = cfg->fwdflat;
    ac.bestpath = cfg->bestpath;
    ac.topn = (int)cfg->topn;
    ac.pl_window = (int)cfg->pl_window;
    rc = asr_open(&ac, &e->asr, err, sizeof err);
    if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "%s", err);
        fe_free(e->fe);
        ph_list_free(&e->phrases);
        return rc == CS_ERR_NOMEM ? CS_EXIT_ENV : CS_EXIT_CONFIG;
    }
    return CS_EXIT_OK;
}

static void engine_close(engine *e)
{
    asr_close(e->asr);
    fe_free(e->fe);
    ph_list_free(&e->phrases);
    memset(e, 0, sizeof *e);
}

static void output_free(tx_output *o)
{
    for (int c = 0; c < 2; c++)
        tx_utts_free(o->utts[c], o->n[c]);
    ph_hits_free(o->hits, o->nhits);
    memset(o, 0, sizeof *o);
}

/* Transcribes channel ch (1-based) of a over talk segments talk/ntalk
 * (NULL: found by the VAD) and spots phrases. */
static int run_channel(engine *e, const tx_audio *a, int ch, const seg_span *talk, size_t ntalk,
                       tx_output *out)
{
    const int16_t *pcm = a->pcm[ch - 1];
    int64_t dur_ms = (int64_t)(a->frames * 1000 / (size_t)a->rate);
    seg_span *vad_talk = NULL;
    int rc = CS_OK;
    if (!talk) {
        vad_seglist l = {0};
        rc = vad_run(&e->vp, a->rate, ch, pcm, a->frames, &l);
        if (rc != CS_OK) {
            vad_seglist_free(&l);
            return rc;
        }
        vad_talk = malloc((l.len ? l.len : 1) * sizeof *vad_talk);
        if (!vad_talk) {
            vad_seglist_free(&l);
            return CS_ERR_NOMEM;
        }
        for (size_t i = 0; i < l.len; i++)
            vad_talk[i] = (seg_span){l.v[i].start_ms, l.v[i].end_ms};
        ntalk = l.len;
        talk = vad_talk;
        vad_seglist_free(&l);
    }
    seg_span *spans = NULL;
    size_t nspans = 0;
    rc = seg_plan(&e->sp, talk, ntalk, dur_ms, pcm, a->frames, a->rate, &spans, &nspans);
    free(vad_talk);
    if (rc != CS_OK)
        return rc;
    asr_reset(e->asr); /* every channel starts from the same state: order-independent */
    rc = tx_channel(e->asr, e->fe, pcm, a->frames, a->rate, spans, nspans, &out->utts[ch - 1],
                    &out->n[ch - 1]);
    free(spans);
    if (rc == CS_OK && e->phrases.n)
        rc = ph_spot(&e->phrases, ch, out->utts[ch - 1], out->n[ch - 1], e->cfg->phrase_min_score,
                     &out->hits, &out->nhits);
    return rc;
}

/* ---- file mode -------------------------------------------------------------- */

static void json_utts(json_w *w, const tx_output *o, int ch)
{
    json_obj_begin(w);
    json_kv_int(w, "channel", ch);
    json_key(w, "utterances");
    json_arr_begin(w);
    for (size_t i = 0; i < o->n[ch - 1]; i++) {
        const asr_utt *u = &o->utts[ch - 1][i];
        json_obj_begin(w);
        json_kv_int(w, "start_ms", u->start_ms);
        json_kv_int(w, "end_ms", u->end_ms);
        json_kv_str(w, "text", u->text);
        json_kv_double(w, "confidence", u->confidence);
        json_key(w, "words");
        json_arr_begin(w);
        for (size_t k = 0; k < u->n_words; k++) {
            json_obj_begin(w);
            json_kv_int(w, "start_ms", u->words[k].start_ms);
            json_kv_int(w, "end_ms", u->words[k].end_ms);
            json_kv_str(w, "word", u->words[k].word);
            json_kv_double(w, "confidence", u->words[k].confidence);
            json_obj_end(w);
        }
        json_arr_end(w);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_obj_end(w);
}

static int file_mode(const tx_cfg *cfg, const tx_opts *o)
{
    int json = 0, only = 0;
    if (o->format && strcmp(o->format, "json") == 0)
        json = 1;
    else if (o->format && strcmp(o->format, "tsv") != 0) {
        fprintf(stderr, "callscope-transcribe: --format: '%s' is not tsv or json\n", o->format);
        return CS_EXIT_USAGE;
    }
    if (o->channel) {
        if (strcmp(o->channel, "1") == 0)
            only = 1;
        else if (strcmp(o->channel, "2") == 0)
            only = 2;
        else {
            fprintf(stderr, "callscope-transcribe: --channel: '%s' is not 1 or 2\n", o->channel);
            return CS_EXIT_USAGE;
        }
    }
    engine e;
    int code = engine_open(&e, cfg);
    if (code != CS_EXIT_OK)
        return code;
    double cpu = 0, audio_s = 0;
    int failed = 0;
    for (int i = 0; i < o->nfiles && !cs_stage_stop_requested(); i++) {
        tx_audio a;
        char err[512];
        int rc = tx_audio_read(o->files[i], &a, err, sizeof err);
        if (rc != CS_OK) {
            cs_error("%s", err);
            failed++;
            continue;
        }
        tx_output out;
        memset(&out, 0, sizeof out);
        double t0 = proc_cpu_s();
        for (int ch = 1; ch <= a.channels && rc == CS_OK; ch++) {
            if (only && ch != only)
                continue;
            rc = run_channel(&e, &a, ch, NULL, 0, &out);
            audio_s += (double)a.frames / a.rate;
        }
        cpu += proc_cpu_s() - t0;
        if (rc != CS_OK) {
            cs_error("%s: transcription failed: %s", o->files[i], cs_err_msg(rc));
            failed++;
        } else if (json) {
            json_w *w = json_w_new(0, (size_t)64 << 20);
            if (w) {
                json_obj_begin(w);
                json_kv_str(w, "path", o->files[i]);
                json_kv_double(w, "audio_seconds", (double)a.frames / a.rate);
                json_key(w, "channels");
                json_arr_begin(w);
                for (int ch = 1; ch <= a.channels; ch++)
                    if (!only || ch == only)
                        json_utts(w, &out, ch);
                json_arr_end(w);
                json_key(w, "phrases");
                json_arr_begin(w);
                for (size_t k = 0; k < out.nhits; k++) {
                    const ph_hit *h = &out.hits[k];
                    json_obj_begin(w);
                    json_kv_str(w, "name", h->name);
                    json_kv_str(w, "kind", ph_kind_name(h->kind));
                    json_kv_int(w, "channel", h->channel);
                    json_kv_int(w, "start_ms", h->start_ms);
                    json_kv_int(w, "end_ms", h->end_ms);
                    json_kv_str(w, "matched", h->matched);
                    json_kv_double(w, "score", h->score);
                    json_kv_double(w, "confidence", h->confidence);
                    json_obj_end(w);
                }
                json_arr_end(w);
                json_obj_end(w);
                size_t len = 0;
                const char *txt = json_w_data(w, &len);
                if (txt)
                    printf("%.*s\n", (int)len, txt);
                json_w_free(w);
            }
        } else {
            /* all channels' words in time order of their utterances */
            printf("%s\t", o->files[i]);
            size_t k[2] = {0, 0};
            int first = 1;
            for (;;) {
                int pick = -1;
                for (int c = 0; c < 2; c++) {
                    if (k[c] >= out.n[c])
                        continue;
                    if (pick < 0 || out.utts[c][k[c]].start_ms < out.utts[pick][k[pick]].start_ms)
                        pick = c;
                }
                if (pick < 0)
                    break;
                printf("%s%s", first ? "" : " ", out.utts[pick][k[pick]].text);
                first = 0;
                k[pick]++;
            }
            printf("\n");
        }
        fflush(stdout);
        output_free(&out);
        tx_audio_free(&a);
    }
    engine_close(&e);
    fprintf(stderr, "rtf %.3f %.3f\n", cpu, audio_s);
    return failed ? CS_EXIT_PARTIAL : CS_EXIT_OK;
}

/* ---- worker mode ------------------------------------------------------------- */

typedef struct tx_counters {
    uint64_t claimed, done, failed, retried, lost_lease, utterances, words, hits;
    double audio_s, cpu_s;
} tx_counters;

typedef struct worker {
    const tx_cfg *cfg;
    int once, id;
    engine e;
    db_conn *db;
    char owner[128];
    tx_counters c;
} worker;

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
        int rc = db_connect(w->cfg->db_conninfo ? w->cfg->db_conninfo : "", "callscope-transcribe",
                            &w->db);
        if (!w->db)
            return rc;
        if (rc == CS_ERR_CONFIG)
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
        jobq_listen(w->db, "transcribe");
    return rc;
}

static void path_join(const char *root, const char *rel, char *out, size_t cap)
{
    if (rel[0] == '/')
        snprintf(out, cap, "%s", rel);
    else
        snprintf(out, cap, "%s/%s", root, rel);
}

/* Fails the job for good (the input cannot get better by waiting). */
static void job_fail_final(worker *w, const jobq_job *j, const char *msg)
{
    cs_log(CS_LOG_ERROR, j->call_uuid, "transcription failed: %s", msg);
    int rc = jobq_fail_final(w->db, j->id, w->owner, msg);
    if (rc == CS_OK)
        w->c.failed++;
    else if (rc == CS_ERR_STATE)
        w->c.lost_lease++;
}

static void job_retry(worker *w, const jobq_job *j, const char *msg)
{
    cs_log(CS_LOG_WARN, j->call_uuid, "transcription will be retried: %s", msg);
    jobq_state st = JOBQ_QUEUED;
    if (jobq_fail(w->db, j->id, w->owner, msg, NULL, &st) == CS_OK) {
        if (st == JOBQ_FAILED)
            w->c.failed++;
        else
            w->c.retried++;
    }
}

static void process_job(worker *w, jobq_job *j)
{
    char err[600];
    if (!j->call_uuid) {
        job_fail_final(w, j, "transcribe job without a call uuid");
        return;
    }
    tx_input in;
    int rc = txstore_load(w->db, j->call_uuid, &in, err, sizeof err);
    if (rc == CS_ERR_NOTFOUND) {
        job_fail_final(w, j, err);
        return;
    }
    if (rc != CS_OK) {
        job_retry(w, j, err);
        return;
    }
    if (in.deleted) {
        snprintf(err, sizeof err, "the recording of %s was purged; nothing to transcribe",
                 j->call_uuid);
        tx_input_free(&in);
        job_fail_final(w, j, err);
        return;
    }
    char path[PATH_MAX];
    path_join(w->cfg->archive_dir, in.path, path, sizeof path);
    tx_audio a;
    rc = tx_audio_read(path, &a, err, sizeof err);
    if (rc != CS_OK) {
        tx_input_free(&in);
        if (rc == CS_ERR_NOMEM)
            job_retry(w, j, err);
        else
            job_fail_final(w, j, err);
        return;
    }
    tx_output out;
    memset(&out, 0, sizeof out);
    double t0 = proc_cpu_s();
    for (int ch = 1; ch <= a.channels && ch <= 2 && rc == CS_OK; ch++) {
        if (cs_stage_stop_requested()) {
            rc = CS_ERR_INTERRUPTED;
            break;
        }
        if (jobq_extend(w->db, j->id, w->owner, (int)(w->cfg->lease_ms / 1000)) == CS_ERR_STATE) {
            rc = CS_ERR_STATE;
            break;
        }
        rc = run_channel(&w->e, &a, ch, in.talk[ch - 1], in.ntalk[ch - 1], &out);
        w->c.audio_s += (double)a.frames / a.rate;
    }
    w->c.cpu_s += proc_cpu_s() - t0;
    if (rc == CS_OK)
        rc = txstore_save(w->db, j->call_uuid, &out, j->id, w->owner, (int)w->cfg->score_priority);
    if (rc == CS_OK) {
        w->c.done++;
        for (int c = 0; c < 2; c++) {
            w->c.utterances += out.n[c];
            for (size_t i = 0; i < out.n[c]; i++)
                w->c.words += out.utts[c][i].n_words;
        }
        w->c.hits += out.nhits;
        cs_log(CS_LOG_INFO, j->call_uuid, "transcribed: %zu + %zu utterances, %zu phrase hits",
               out.n[0], out.n[1], out.nhits);
    } else if (rc == CS_ERR_INTERRUPTED) {
        cs_log(CS_LOG_INFO, j->call_uuid,
               "stopping: job left unfinished (redone once its lease expires)");
    } else if (rc == CS_ERR_STATE) {
        w->c.lost_lease++;
        cs_log(CS_LOG_WARN, j->call_uuid, "lease lost (another worker has the job): result dropped");
    } else if (rc == CS_ERR_DB || rc == CS_ERR_DB_CONN) {
        snprintf(err, sizeof err, "storing the transcript: %s", db_last_error(w->db));
        if (db_is_ok(w->db))
            job_retry(w, j, err);
        else
            cs_log(CS_LOG_WARN, j->call_uuid, "%s (the lease will expire and the job be redone)",
                   err);
    } else {
        snprintf(err, sizeof err, "recogniser: %s", cs_err_msg(rc));
        job_fail_final(w, j, err);
    }
    output_free(&out);
    tx_audio_free(&a);
    tx_input_free(&in);
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
        jobq_job j;
        memset(&j, 0, sizeof j);
        rc = jobq_claim(w->db, "transcribe", w->owner, (int)(w->cfg->lease_ms / 1000), &j);
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

static int worker_main(const tx_cfg *cfg, int once, int id, tx_counters *c)
{
    worker *w = calloc(1, sizeof *w);
    memset(c, 0, sizeof *c);
    if (!w)
        return CS_EXIT_ENV;
    w->cfg = cfg;
    w->once = once;
    w->id = id;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(w->owner, sizeof w->owner, "%s:%d:%d", host, (int)getpid(), id);
    int code = engine_open(&w->e, cfg);
    if (code == CS_EXIT_OK) {
        code = worker_loop(w);
        engine_close(&w->e);
    }
    *c = w->c;
    db_close(w->db);
    free(w);
    return code;
}

static void counters_add(tx_counters *a, const tx_counters *b)
{
    a->claimed += b->claimed;
    a->done += b->done;
    a->failed += b->failed;
    a->retried += b->retried;
    a->lost_lease += b->lost_lease;
    a->utterances += b->utterances;
    a->words += b->words;
    a->hits += b->hits;
    a->audio_s += b->audio_s;
    a->cpu_s += b->cpu_s;
}

/* cs_workers glue */
typedef struct tx_run {
    const tx_cfg *cfg;
    int once;
} tx_run;

static int worker_entry(void *arg, int id, void *counters)
{
    const tx_run *r = arg;
    return worker_main(r->cfg, r->once, id, counters);
}

static void counters_add_any(void *total, const void *one)
{
    counters_add(total, one);
}

static int run_workers(const tx_cfg *cfg, int once, int n, tx_counters *total)
{
    tx_run r = {cfg, once};
    cs_workers_spec spec = {
        .n = n,
        .fn = worker_entry,
        .arg = &r,
        .counters_size = sizeof *total,
        .add = counters_add_any,
        .on_crash = CS_WORKERS_CONTINUE,
        .crash_note = "its job will be reclaimed when its lease expires",
    };
    return cs_workers_run(&spec, total);
}

int main(int argc, char **argv)
{
    tx_cfg cfg;
    tx_opts o;
    cs_stage st;
    char err[512];
    int exit_code;
    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    const cs_stage_def def = {
        .name = "callscope-transcribe",
        .stage = "transcribe",
        .synopsis = "[OPTION]...",
        .description =
            "Transcribes archived calls with PocketSphinx, each channel separately (1 customer,\n"
            "2 agent) over the talk segments the decode stage found, and stores utterances and\n"
            "words with times (ms from call start) and confidences, plus the configured phrases\n"
            "it spotted; then queues the call for scoring. Jobs come from the database\n"
            "(kind 'transcribe'); -j N runs N workers, each loading the models once.\n"
            "A missing, purged or damaged recording fails its job with the reason in\n"
            "jobs.last_error; a worker that dies leaves its job to be reclaimed.\n"
            "--once: exit when no job is runnable (0 done, 1 some failed, 4 database down).\n"
            "--file AUDIO (repeatable): transcribe files without a database; stdout gets\n"
            "'<path>\\t<words>' (or JSON with --format json), the last stderr line is\n"
            "'rtf <cpu_seconds> <audio_seconds>'.\n"
            "See callscope-transcribe(1) in docs/transcribe.md.",
        .default_config = "/etc/callscope/callscope.conf",
        .keys = tx_keys,
        .nkeys = TX_NKEYS,
        .opts = tx_opts_tab,
        .nopts = TX_NOPTS,
        .ctx = &o,
        .min_args = 0,
        .max_args = 0,
    };
    cs_stage_start(&def, argc, argv, &cfg, &st);
    if (apply_overrides(&o, &cfg, err, sizeof err) != CS_OK) {
        fprintf(stderr,
                "callscope-transcribe: %s\nTry 'callscope-transcribe --help' for more "
                "information.\n",
                err);
        exit_code = CS_EXIT_USAGE;
        goto out;
    }
    if (o.nfiles) {
        exit_code = file_mode(&cfg, &o);
        goto out;
    }
    char safe[512];
    cfg_mask_conninfo(cfg.db_conninfo ? cfg.db_conninfo : "", safe, sizeof safe);
    cs_info("archive %s, database '%s', %lld worker%s, front end %s%s", cfg.archive_dir, safe,
            (long long)cfg.workers, cfg.workers == 1 ? "" : "s", cfg.frontend,
            o.once ? ", once" : "");
    tx_counters total;
    if (cfg.workers <= 1)
        exit_code = worker_main(&cfg, o.once, 0, &total);
    else
        exit_code = run_workers(&cfg, o.once, (int)cfg.workers, &total);
    if (exit_code == CS_EXIT_OK && total.failed)
        exit_code = CS_EXIT_PARTIAL;
    cs_info("final: %llu claimed, %llu done, %llu failed, %llu retried, %llu lost leases, "
            "%llu utterances, %llu words, %llu phrase hits, %.1f s audio, %.1f s CPU (rtf %.3f)",
            (unsigned long long)total.claimed, (unsigned long long)total.done,
            (unsigned long long)total.failed, (unsigned long long)total.retried,
            (unsigned long long)total.lost_lease, (unsigned long long)total.utterances,
            (unsigned long long)total.words, (unsigned long long)total.hits, total.audio_s,
            total.cpu_s, total.audio_s > 0 ? total.cpu_s / total.audio_s : 0.0);
out:
    cfg_free(tx_keys, TX_NKEYS, &cfg);
    return exit_code;
}
