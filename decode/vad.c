/*
 * vad.c — energy-based voice-activity detection with an adaptive noise floor.
 *
 * Design: see vad.h. State is a handful of numbers per channel: the running
 * sums of the current frame, the energies of the last stationary_ms of
 * frames, eight sub-window minima for the noise floor, the segment state
 * machine and one pending segment waiting to see whether the next one merges
 * into it. Positions are
 * kept in samples (uint64_t) and converted to ms only when a segment is
 * reported, so results do not depend on how the caller cuts its blocks.
 *
 * SECURITY: the input is decoded audio from the wire, i.e. arbitrary int16
 * values; every value is finite, the frame sums are exact in a double
 * (at most 1440 samples of at most 2^30 each), the variance is clamped at 0
 * and a tiny epsilon is added, so log10 always gets a finite positive
 * argument (digital silence gives -120 dBFS).
 */
#include "vad.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

#define VAD_NSUB       8     /* sub-windows of the noise-floor minimum */
#define VAD_ST_MAX     200   /* frames of the stationarity window (2000 ms / 10 ms) */
#define VAD_SILENCE_DB -120. /* energy of digital silence */

struct vad {
    vad_params p;
    int rate, channel;
    vad_segment_fn fn;
    void *user;
    int failed, finished;

    /* framing */
    uint64_t frame_len; /* samples per frame */
    uint64_t pos;       /* samples consumed so far */
    uint64_t in_frame;  /* samples of the current frame so far */
    double acc;         /* sum of squares of the current frame */
    double sum;         /* sum of the current frame (its mean is removed) */

    /* noise floor */
    double sub_min[VAD_NSUB];
    int sub_filled; /* completed sub-windows, <= VAD_NSUB */
    int sub_idx;    /* sub-window being filled */
    uint64_t sub_frames, sub_len;
    double cur_min;
    double floor_db;
    int floor_init;
    double rise_per_frame;
    double st_ring[VAD_ST_MAX]; /* energies of the last st_n frames */
    size_t st_n, st_pos, st_count;

    /* segment state machine, in frames / samples */
    uint64_t onset_n, hang_n;
    int in_speech;
    uint64_t run;             /* consecutive active frames while not in speech */
    uint64_t run_start;       /* sample where that run began */
    uint64_t seg_start;       /* sample where the open segment began */
    uint64_t last_active_end; /* sample after the last active frame */
    uint64_t inactive;        /* inactive frames since the last active one */

    int has_pending;
    uint64_t pend_start, pend_end; /* samples */

    vad_stats st;
};

void vad_params_default(vad_params *p)
{
    p->frame_ms = 10;
    p->margin_db = 9.;
    p->min_dbfs = -55.;
    p->floor_window_ms = 2000;
    p->floor_rise_db_s = 6.;
    p->onset_ms = 30;
    p->hangover_ms = 250;
    p->min_segment_ms = 100;
    p->merge_gap_ms = 300;
    p->stationary_ms = 700;
    p->stationary_db = 6.;
}

static int in_range_d(double x, double lo, double hi)
{
    return isfinite(x) && x >= lo && x <= hi;
}

int vad_params_check(const vad_params *p)
{
    if (!p)
        return CS_ERR_INVAL;
    if (p->frame_ms < 10 || p->frame_ms > 30)
        return CS_ERR_INVAL;
    if (!in_range_d(p->margin_db, 3., 40.) || !in_range_d(p->min_dbfs, -90., -10.) ||
        !in_range_d(p->floor_rise_db_s, 0.1, 100.))
        return CS_ERR_INVAL;
    if (p->floor_window_ms < 400 || p->floor_window_ms > 20000)
        return CS_ERR_INVAL;
    if (p->onset_ms < 0 || p->onset_ms > 500 || p->hangover_ms < 0 || p->hangover_ms > 2000)
        return CS_ERR_INVAL;
    if (p->stationary_ms < 0 || p->stationary_ms > 2000 ||
        (p->stationary_ms > 0 && p->stationary_ms < 100) || !in_range_d(p->stationary_db, 1., 20.))
        return CS_ERR_INVAL;
    if (p->min_segment_ms < 0 || p->min_segment_ms > 5000 || p->merge_gap_ms < 0 ||
        p->merge_gap_ms > 5000)
        return CS_ERR_INVAL;
    return CS_OK;
}

int vad_new(const vad_params *p, int rate, int channel, vad_segment_fn fn, void *user, vad **out)
{
    if (!out)
        return CS_ERR_INVAL;
    *out = NULL;
    if (vad_params_check(p) != CS_OK || !fn || rate < VAD_RATE_MIN || rate > VAD_RATE_MAX ||
        ((int64_t)rate * p->frame_ms) % 1000 != 0)
        return CS_ERR_INVAL;
    vad *v = calloc(1, sizeof *v);
    if (!v)
        return CS_ERR_NOMEM;
    v->p = *p;
    v->rate = rate;
    v->channel = channel;
    v->fn = fn;
    v->user = user;
    v->frame_len = (uint64_t)((int64_t)rate * p->frame_ms / 1000);
    uint64_t win_frames = (uint64_t)(p->floor_window_ms / p->frame_ms);
    v->sub_len = win_frames / VAD_NSUB ? win_frames / VAD_NSUB : 1;
    v->cur_min = HUGE_VAL;
    v->floor_db = VAD_SILENCE_DB;
    v->rise_per_frame = p->floor_rise_db_s * (double)p->frame_ms / 1000.;
    v->st_n = (size_t)(p->stationary_ms / p->frame_ms); /* 0 (off) .. VAD_ST_MAX */
    v->onset_n = (uint64_t)((p->onset_ms + p->frame_ms - 1) / p->frame_ms);
    if (v->onset_n == 0)
        v->onset_n = 1;
    v->hang_n = (uint64_t)(p->hangover_ms / p->frame_ms);
    v->st.floor_dbfs = VAD_SILENCE_DB;
    *out = v;
    return CS_OK;
}

static int64_t to_ms(const vad *v, uint64_t samples)
{
    /* exact for the supported rates; rounds down otherwise */
    return (int64_t)(samples * 1000u / (uint64_t)v->rate);
}

static int emit(vad *v, uint64_t start, uint64_t end)
{
    vad_segment s = {.channel = v->channel, .start_ms = to_ms(v, start), .end_ms = to_ms(v, end)};
    if (s.end_ms <= s.start_ms)
        return 0;
    v->st.segments++;
    int rc = v->fn(v->user, &s);
    if (rc != 0)
        v->failed = 1;
    return rc;
}

/* A candidate segment [start, end) closed by the hangover or by the end. */
static int candidate(vad *v, uint64_t start, uint64_t end)
{
    uint64_t min_len = (uint64_t)v->p.min_segment_ms * (uint64_t)v->rate / 1000u;
    if (end - start < min_len) {
        v->st.dropped_short++;
        return 0;
    }
    uint64_t gap = (uint64_t)v->p.merge_gap_ms * (uint64_t)v->rate / 1000u;
    if (v->has_pending && start < v->pend_end + gap) {
        v->pend_end = end;
        v->st.merged++;
        return 0;
    }
    if (v->has_pending) {
        int rc = emit(v, v->pend_start, v->pend_end);
        if (rc)
            return rc;
    }
    v->has_pending = 1;
    v->pend_start = start;
    v->pend_end = end;
    return 0;
}

/* Stationary stretch: the last stationary_ms of energies lie within
 * stationary_db of each other and above the floor. Speech never does that
 * (syllables modulate it by 10-30 dB); noise that switched on does. The
 * floor history is then replaced by the stretch's minimum, so the floor
 * jumps to the new noise instead of creeping up at floor_rise_db_s. */
static void stationary_jump(vad *v, double e)
{
    if (v->st_n == 0)
        return;
    v->st_ring[v->st_pos] = e;
    v->st_pos = (v->st_pos + 1) % v->st_n;
    if (v->st_count < v->st_n) {
        v->st_count++;
        return;
    }
    double lo = v->st_ring[0], hi = v->st_ring[0];
    for (size_t i = 1; i < v->st_n; i++) {
        if (v->st_ring[i] < lo)
            lo = v->st_ring[i];
        if (v->st_ring[i] > hi)
            hi = v->st_ring[i];
    }
    if (hi - lo >= v->p.stationary_db || lo <= v->floor_db)
        return;
    for (int i = 0; i < VAD_NSUB; i++)
        v->sub_min[i] = lo;
    v->sub_filled = VAD_NSUB;
    v->cur_min = lo;
    v->floor_db = lo;
}

static double update_floor(vad *v, double e)
{
    stationary_jump(v, e);
    if (e < v->cur_min)
        v->cur_min = e;
    double target = v->cur_min;
    for (int i = 0; i < v->sub_filled; i++)
        if (v->sub_min[i] < target)
            target = v->sub_min[i];
    if (++v->sub_frames >= v->sub_len) {
        v->sub_min[v->sub_idx] = v->cur_min;
        v->sub_idx = (v->sub_idx + 1) % VAD_NSUB;
        if (v->sub_filled < VAD_NSUB)
            v->sub_filled++;
        v->sub_frames = 0;
        v->cur_min = HUGE_VAL;
    }
    if (!v->floor_init) {
        /* no history yet: the first frame is the floor, so noise at the very
         * start is never speech; speech at the very start is found once the
         * floor has fallen to its first pause (docs/vad.md) */
        v->floor_init = 1;
        v->floor_db = target;
    } else if (target < v->floor_db) {
        v->floor_db = target;
    } else {
        /* a floor below min_dbfs - margin_db changes nothing: rise from there */
        double base = v->p.min_dbfs - v->p.margin_db;
        if (v->floor_db < base)
            v->floor_db = base < target ? base : target;
        double up = target - v->floor_db;
        v->floor_db += up < v->rise_per_frame ? up : v->rise_per_frame;
    }
    return v->floor_db;
}

/* One analysed frame of `len` samples ending at sample v->pos. */
static int frame_done(vad *v, uint64_t len)
{
    /* variance: the frame's mean (DC offset) is not speech; exact sums of
     * int16 values, so this only rounds, and it is clamped at 0 */
    double mean = v->sum / (double)len;
    double ms = v->acc / (double)len - mean * mean;
    if (ms < 0.)
        ms = 0.;
    double e = 10. * log10(ms / (32768. * 32768.) + 1e-12);
    double floor_db = update_floor(v, e);
    double thr = floor_db + v->p.margin_db;
    if (thr < v->p.min_dbfs)
        thr = v->p.min_dbfs;
    int active = e > thr;
    uint64_t start = v->pos - len, end = v->pos;

    v->st.frames++;
    v->st.floor_dbfs = floor_db;
    if (active)
        v->st.active_frames++;

    if (!v->in_speech) {
        if (active) {
            if (v->run == 0)
                v->run_start = start;
            if (++v->run >= v->onset_n) {
                v->in_speech = 1;
                v->seg_start = v->run_start;
                v->last_active_end = end;
                v->inactive = 0;
            }
        } else {
            v->run = 0;
        }
    } else if (active) {
        v->last_active_end = end;
        v->inactive = 0;
    } else if (++v->inactive > v->hang_n) {
        v->in_speech = 0;
        v->run = 0;
        int rc = candidate(v, v->seg_start, v->last_active_end);
        if (rc)
            return rc;
    }

    /* Report the pending segment once nothing can merge into it any more. */
    if (v->has_pending) {
        uint64_t gap = (uint64_t)v->p.merge_gap_ms * (uint64_t)v->rate / 1000u;
        uint64_t limit = v->pend_end + gap;
        int can_merge = v->in_speech ? v->seg_start < limit : v->run > 0 && v->run_start < limit;
        if (v->pos >= limit && !can_merge) {
            v->has_pending = 0;
            return emit(v, v->pend_start, v->pend_end);
        }
    }
    return 0;
}

int vad_feed(vad *v, const int16_t *pcm, size_t n)
{
    if (!v || (n > 0 && !pcm))
        return CS_ERR_INVAL;
    if (v->failed || v->finished)
        return CS_ERR_STATE;
    for (size_t i = 0; i < n; i++) {
        double x = (double)pcm[i];
        v->acc += x * x;
        v->sum += x;
        v->pos++;
        v->st.samples++;
        if (++v->in_frame == v->frame_len) {
            int rc = frame_done(v, v->frame_len);
            v->in_frame = 0;
            v->acc = v->sum = 0.;
            if (rc)
                return rc;
        }
    }
    return CS_OK;
}

int vad_finish(vad *v)
{
    if (!v)
        return CS_ERR_INVAL;
    if (v->failed || v->finished)
        return CS_ERR_STATE;
    v->finished = 1;
    int rc = 0;
    if (v->in_frame > 0) {
        rc = frame_done(v, v->in_frame);
        v->in_frame = 0;
        v->acc = v->sum = 0.;
        if (rc)
            return rc;
    }
    if (v->in_speech) {
        v->in_speech = 0;
        rc = candidate(v, v->seg_start, v->last_active_end);
        if (rc)
            return rc;
    }
    if (v->has_pending) {
        v->has_pending = 0;
        rc = emit(v, v->pend_start, v->pend_end);
    }
    return rc;
}

void vad_get_stats(const vad *v, vad_stats *out)
{
    *out = v->st;
}

void vad_free(vad *v)
{
    free(v);
}

int vad_seglist_add(void *list, const vad_segment *seg)
{
    vad_seglist *l = list;
    size_t max = l->max ? l->max : VAD_SEGLIST_MAX;
    if (l->len >= max)
        return CS_ERR_LIMIT;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        if (cap > max)
            cap = max;
        vad_segment *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return CS_ERR_NOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->len++] = *seg;
    return CS_OK;
}

void vad_seglist_free(vad_seglist *l)
{
    if (!l)
        return;
    free(l->v);
    l->v = NULL;
    l->len = l->cap = 0;
}

int vad_run(const vad_params *p, int rate, int channel, const int16_t *pcm, size_t n,
            vad_seglist *out)
{
    if (!out)
        return CS_ERR_INVAL;
    vad *v = NULL;
    int rc = vad_new(p, rate, channel, vad_seglist_add, out, &v);
    if (rc)
        return rc;
    rc = vad_feed(v, pcm, n);
    if (rc == CS_OK)
        rc = vad_finish(v);
    vad_free(v);
    return rc;
}
