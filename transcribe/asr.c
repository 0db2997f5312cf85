/*
 * asr.c — see asr.h.
 */
#include "asr.h"

#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fe.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"

struct asr {
    ps_decoder_t *ps;
    double cpu_s;
    /* Features of the segment being decoded and the real frame number of
     * each (see extract); grown as needed, kept for the next segment. */
    mfcc_t **cep;
    mfcc_t *cep_block;
    int32_t *real;
    size_t cap;
    fe_t *fe; /* this channel's front end (asr_reset), NULL until its first segment */
};

void asr_config_default(asr_config *c)
{
    c->hmm = ASR_DEFAULT_HMM;
    c->lm = ASR_DEFAULT_LM;
    c->dict = ASR_DEFAULT_DICT;
    c->beam = 1e-48;
    c->wbeam = 7e-29;
    c->maxhmmpf = 30000;
    c->fwdflat = 1;
    c->bestpath = 1;
    c->topn = 4;
    c->pl_window = 5;
}

void asr_utt_clear(asr_utt *u)
{
    if (!u)
        return;
    for (size_t i = 0; i < u->n_words; i++)
        free(u->words[i].word);
    free(u->words);
    free(u->text);
    memset(u, 0, sizeof *u);
}

/* sphinxbase's log hook: errors into our log, the rest (model loading
 * chatter, per-utterance statistics) to debug. */
static void ps_log_cb(void *user, err_lvl_t lvl, const char *fmt, ...)
{
    (void)user;
    cs_log_level level = (lvl >= ERR_ERROR) ? CS_LOG_ERROR : CS_LOG_DEBUG;
    if (level > cs_log_get_level())
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (len)
        cs_log(level, NULL, "pocketsphinx: %s", line);
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int check_path(const char *what, const char *path, char *err, size_t errcap)
{
    if (!path || !*path) {
        snprintf(err, errcap, "transcribe: no %s configured", what);
        return CS_ERR_CONFIG;
    }
    if (access(path, R_OK) != 0) {
        snprintf(err, errcap,
                 "transcribe: %s '%s' is not readable (Debian's model is in the package "
                 "pocketsphinx-en-us)",
                 what, path);
        return CS_ERR_NOTFOUND;
    }
    return CS_OK;
}

int asr_open(const asr_config *cfg, asr **out, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if (!cfg || !out)
        return CS_ERR_INVAL;
    *out = NULL;
    int rc;
    if ((rc = check_path("acoustic model", cfg->hmm, err, errcap)) != CS_OK ||
        (rc = check_path("language model", cfg->lm, err, errcap)) != CS_OK ||
        (rc = check_path("dictionary", cfg->dict, err, errcap)) != CS_OK)
        return rc;
    err_set_callback(ps_log_cb, NULL);
    /* sphinxbase also writes some chatter (the whole configuration table at
     * cmd_ln_init) straight to its log file, stderr by default: none. */
    err_set_logfp(NULL);
    char beam[32], wbeam[32], maxhmmpf[32], topn[16], plw[16];
    snprintf(topn, sizeof topn, "%d", cfg->topn);
    snprintf(plw, sizeof plw, "%d", cfg->pl_window);
    snprintf(beam, sizeof beam, "%g", cfg->beam);
    snprintf(wbeam, sizeof wbeam, "%g", cfg->wbeam);
    snprintf(maxhmmpf, sizeof maxhmmpf, "%d", cfg->maxhmmpf);
    cmd_ln_t *cl =
        cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", cfg->hmm, "-lm", cfg->lm, "-dict", cfg->dict,
                    "-beam", beam, "-wbeam", wbeam, "-maxhmmpf", maxhmmpf, "-fwdflat",
                    cfg->fwdflat ? "yes" : "no", "-bestpath", cfg->bestpath ? "yes" : "no", "-topn", topn, "-pl_window", plw, NULL);
    if (!cl) {
        snprintf(err, errcap, "transcribe: PocketSphinx refused the configuration");
        return CS_ERR_CONFIG;
    }
    asr *a = calloc(1, sizeof *a);
    if (!a) {
        cmd_ln_free_r(cl);
        return CS_ERR_NOMEM;
    }
    a->ps = ps_init(cl);
    cmd_ln_free_r(cl); /* the decoder keeps its own reference */
    if (!a->ps) {
        free(a);
        snprintf(err, errcap,
                 "transcribe: PocketSphinx could not load the models (hmm '%s', lm '%s', dict "
                 "'%s'); run with -v for its messages",
                 cfg->hmm, cfg->lm, cfg->dict);
        return CS_ERR_CONFIG;
    }
    *out = a;
    return CS_OK;
}

void asr_close(asr *a)
{
    if (!a)
        return;
    asr_reset(a);
    ps_free(a->ps);
    free(a->cep);
    free(a->cep_block);
    free(a->real);
    free(a);
}

double asr_cpu_seconds(const asr *a)
{
    return a ? a->cpu_s : 0.0;
}

/* A word worth keeping: not <s>, </s>, <sil>, [NOISE], ... */
static int is_filler(const char *w)
{
    return !w || !*w || w[0] == '<' || w[0] == '[' || w[0] == '+';
}

/*
 * Runs PocketSphinx's front end over the segment, one frame shift at a time,
 * into a->cep, recording in a->real the real frame number of every frame it
 * keeps; *nfr gets the count.
 *
 * Why. The front end drops non-speech frames (-remove_silence, on by
 * default, and better for accuracy than keeping them), and the search
 * numbers only the frames it was given: ps_seg_frames of a word after a
 * removed stretch of silence is early by that stretch (1.5 s of leading
 * silence put "go" of goforward.raw 210 ms early). Fed one shift at a time,
 * the front end releases in each call the frames that end at the newest
 * one (the pre-speech buffer when speech starts, then each frame while in
 * speech), which gives each kept frame's real number. The search then runs
 * on these features (ps_process_cep), as ps_process_raw would.
 */
static int extract_fe(asr *a, fe_t *fe, const int16_t *pcm, size_t n, size_t *nfr)
{
    int shift = 0, size = 0;
    fe_get_input_size(fe, &shift, &size);
    int dim = fe_get_output_size(fe);
    if (shift <= 0 || size <= 0 || dim <= 0)
        return CS_ERR_CODEC;
    size_t need = n / (size_t)shift + 8;
    if (need > a->cap) {
        mfcc_t *block = realloc(a->cep_block, need * (size_t)dim * sizeof *block);
        if (!block)
            return CS_ERR_NOMEM;
        a->cep_block = block;
        mfcc_t **rows = realloc(a->cep, need * sizeof *rows);
        if (!rows)
            return CS_ERR_NOMEM;
        a->cep = rows;
        int32_t *real = realloc(a->real, need * sizeof *real);
        if (!real)
            return CS_ERR_NOMEM;
        a->real = real;
        a->cap = need;
    }
    for (size_t i = 0; i < a->cap; i++)
        a->cep[i] = a->cep_block + i * (size_t)dim;
    if (fe_start_utt(fe) < 0)
        return CS_ERR_CODEC;
    size_t count = 0, fed = 0;
    const int16 *p = (const int16 *)pcm;
    while (fed < n) {
        size_t chunk = n - fed < (size_t)shift ? n - fed : (size_t)shift, left = chunk;
        int32 k = (int32)(a->cap - count - 1); /* one row kept for fe_end_utt */
        if (fe_process_frames(fe, &p, &left, a->cep + count, &k, NULL) < 0)
            return CS_ERR_CODEC;
        fed += chunk - left;
        if (left == chunk && k == 0)
            return CS_ERR_CODEC; /* no progress: never expected */
        int64_t computed = fed >= (size_t)size ? 1 + (int64_t)(fed - (size_t)size) / shift : 0;
        for (int32 i = 0; i < k; i++)
            a->real[count + (size_t)i] = (int32_t)(computed - k + i);
        count += (size_t)k;
    }
    int32 tail = 0;
    if (fe_end_utt(fe, a->cep[count], &tail) < 0)
        return CS_ERR_CODEC;
    if (tail > 0) {
        int64_t computed = fed >= (size_t)size ? 1 + (int64_t)(fed - (size_t)size) / shift : 0;
        a->real[count++] = (int32_t)computed;
    }
    *nfr = count;
    return CS_OK;
}

/* extract() with the channel's own front end (see asr_reset): created from
 * the decoder's configuration at the channel's first segment. */
static int extract(asr *a, const int16_t *pcm, size_t n, size_t *nfr)
{
    if (!a->fe && !(a->fe = fe_init_auto_r(ps_get_config(a->ps))))
        return CS_ERR_NOMEM;
    return extract_fe(a, a->fe, pcm, n, nfr);
}

void asr_reset(asr *a)
{
    if (a && a->fe) {
        fe_free(a->fe);
        a->fe = NULL;
    }
}

/* The real frame number of search frame f (see extract). */
static int64_t real_frame(const asr *a, size_t nfr, int f)
{
    if (f < 0 || nfr == 0)
        return f < 0 ? 0 : f;
    /* the search may count one frame past the features it was given: it
     * is the last one (never a time past the end of the segment) */
    return a->real[(size_t)f < nfr ? (size_t)f : nfr - 1];
}

int asr_decode(asr *a, const int16_t *pcm16k, size_t n, int64_t offset_ms, asr_utt *out)
{
    if (!a || !out || (!pcm16k && n) || offset_ms < 0 || offset_ms > INT32_MAX)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    double t0 = thread_cpu_s();
    int rc = CS_OK;
    size_t nfr = 0;
    if (ps_start_utt(a->ps) < 0) {
        rc = CS_ERR_CODEC;
        goto done;
    }
    if ((rc = extract(a, pcm16k, n, &nfr)) != CS_OK) {
        ps_end_utt(a->ps);
        goto done;
    }
    if (nfr == 0) { /* nothing the front end calls speech: no words */
        ps_end_utt(a->ps);
        goto words;
    }
    if (ps_process_cep(a->ps, a->cep, (int)nfr, FALSE, TRUE) < 0) {
        ps_end_utt(a->ps);
        rc = CS_ERR_CODEC;
        goto done;
    }
    if (ps_end_utt(a->ps) < 0) {
        rc = CS_ERR_CODEC;
        goto done;
    }
    out->frames = ps_get_n_frames(a->ps);
words:;
    logmath_t *lm = ps_get_logmath(a->ps);
    size_t cap = 0, text_len = 0;
    double conf_sum = 0, dur_sum = 0;
    for (ps_seg_t *s = nfr ? ps_seg_iter(a->ps) : NULL; s; s = ps_seg_next(s)) {
        const char *w = ps_seg_word(s);
        if (is_filler(w))
            continue;
        size_t wl = strcspn(w, "(");
        if (wl == 0)
            continue;
        if (out->n_words == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            asr_word *nw = realloc(out->words, ncap * sizeof *nw);
            if (!nw) {
                ps_seg_free(s);
                rc = CS_ERR_NOMEM;
                goto done;
            }
            out->words = nw;
            cap = ncap;
        }
        int sf = 0, ef = 0;
        ps_seg_frames(s, &sf, &ef);
        int32 ascr = 0, lscr = 0, lback = 0;
        int32 lp = ps_seg_prob(s, &ascr, &lscr, &lback);
        double p = logmath_exp(lm, lp);
        if (!(p >= 0.0))
            p = 0.0;
        if (p > 1.0)
            p = 1.0;
        asr_word *aw = &out->words[out->n_words];
        aw->word = strndup(w, wl);
        if (!aw->word) {
            ps_seg_free(s);
            rc = CS_ERR_NOMEM;
            goto done;
        }
        aw->start_ms = (int32_t)(offset_ms + real_frame(a, nfr, sf) * 10);
        aw->end_ms = (int32_t)(offset_ms + (real_frame(a, nfr, ef) + 1) * 10);
        aw->confidence = p;
        out->n_words++;
        text_len += wl + 1;
        double d = (double)(ef + 1 - sf);
        conf_sum += p * d;
        dur_sum += d;
    }
    out->text = malloc(text_len + 1);
    if (!out->text) {
        rc = CS_ERR_NOMEM;
        goto done;
    }
    size_t pos = 0;
    for (size_t i = 0; i < out->n_words; i++) {
        size_t wl = strlen(out->words[i].word);
        if (i)
            out->text[pos++] = ' ';
        memcpy(out->text + pos, out->words[i].word, wl);
        pos += wl;
    }
    out->text[pos] = '\0';
    if (out->n_words) {
        out->start_ms = out->words[0].start_ms;
        out->end_ms = out->words[out->n_words - 1].end_ms;
        out->confidence = dur_sum > 0 ? conf_sum / dur_sum : 0.0;
    } else {
        out->start_ms = out->end_ms = (int32_t)offset_ms;
    }
done:
    a->cpu_s += thread_cpu_s() - t0;
    if (rc != CS_OK)
        asr_utt_clear(out);
    return rc;
}
