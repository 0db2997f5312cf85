/*
 * vad.h — voice-activity detection: talk segments of one channel of a call.
 *
 * What it is for. The decode stage runs one detector per channel of the
 * aligned recording and stores the talk segments (channel, start_ms, end_ms)
 * it reports. Scoring derives dead air, overtalk and talk ratio from them;
 * transcription decodes only the audio inside them. docs/vad.md has the
 * measured accuracy against callgen's truth.
 *
 * How it works (streaming, one channel, 16-bit PCM at 8000 or 16000 Hz):
 *   1. Each frame of frame_ms gets its energy in dBFS: 10 log10 of the
 *      variance of its samples (the frame's mean, i.e. any DC offset, is
 *      removed) over 32768^2; digital silence is -120 dBFS. No filter state
 *      crosses frames, so an abrupt cut to silence leaves no tail.
 *   2. Noise floor: the minimum frame energy over the last floor_window_ms
 *      (kept as 8 sub-window minima, O(1) memory). The floor falls to that
 *      minimum at once and rises towards it by at most floor_rise_db_s per
 *      second, so long stretches of speech cannot pull it up into the speech.
 *      Stationary stretches override the slow rise: when the energies of the
 *      last stationary_ms all lie within stationary_db of each other (and
 *      above the floor), the sound is noise that switched on (comfort noise
 *      after a hold, a noisier line), not speech, and the floor jumps to it.
 *   3. A frame is active when its energy exceeds max(floor + margin_db,
 *      min_dbfs). The absolute min_dbfs keeps room tone, comfort noise and
 *      the quiet background of recorded clips out after digital silence.
 *   4. A segment opens after onset_ms of consecutive active frames (it starts
 *      at the first of them) and closes when no frame has been active for
 *      hangover_ms (it ends at the end of the last active frame), so pauses
 *      between words shorter than the hangover stay inside one segment.
 *   5. Segments shorter than min_segment_ms are dropped (clicks, bursts);
 *      a segment starting less than merge_gap_ms after the previous one ends
 *      is merged into it. A segment is reported once it can no longer merge:
 *      max(hangover_ms + frame_ms, merge_gap_ms) after its end (300 ms with
 *      the defaults, measured), later only while a new one may still merge,
 *      or at vad_finish.
 *
 * Times are milliseconds from the first sample fed (sample 0 = 0 ms), computed
 * from sample counts, so block sizes never change the result: feeding one
 * sample at a time or the whole channel at once gives the same segments.
 * All arithmetic on the samples is in double over finite int16 input: no
 * NaN, no overflow, whatever the input (digital silence, full-scale clipping).
 *
 * Parameters map one to one onto the decode stage's config keys
 * decode.vad_<field> (durations in ms, levels in dB).
 *
 * Not done: no spectral, pitch or zero-crossing cue, so non-stationary noise
 * above floor + margin (babble, music on hold, typing) counts as speech; the
 * first frame seeds the floor, so speech at the very first sample is found
 * from its first pause on; a sound steadier than stationary_db for longer
 * than stationary_ms (a held vowel, a hum) is cut after that time.
 * docs/vad.md has the measurements behind the defaults.
 *
 * Ownership: vad_new allocates the detector, the caller frees it with
 * vad_free. The callback gets a pointer to a segment valid only during the
 * call. vad_seglist owns its array; vad_seglist_free releases it.
 * Not thread-safe per detector; detectors are independent (no globals).
 */
#ifndef CALLSCOPE_VAD_H
#define CALLSCOPE_VAD_H

#include <stddef.h>
#include <stdint.h>

/* Every field has a documented default (vad_params_default) and range
 * (vad_params_check); config key = "decode.vad_" + field name. */
typedef struct vad_params {
    int64_t frame_ms;        /* analysis frame, 10..30; default 10 */
    double margin_db;        /* speech above noise floor, 3..40; default 9 */
    double min_dbfs;         /* absolute threshold, -90..-10; default -55 */
    int64_t floor_window_ms; /* noise-floor minimum window, 400..20000; default 2000 */
    double floor_rise_db_s;  /* max noise-floor rise per second, 0.1..100; default 6 */
    int64_t onset_ms;        /* active time before a segment opens, 0..500; default 30 */
    int64_t hangover_ms;     /* inactive time before it closes, 0..2000; default 250 */
    int64_t min_segment_ms;  /* shorter segments are dropped, 0..5000; default 100 */
    int64_t merge_gap_ms;    /* segments closer than this merge, 0..5000; default 300 */
    int64_t stationary_ms;   /* stationarity window, 0 (off) or 100..2000; default 700 */
    double stationary_db;    /* max energy range of a stationary stretch, 1..20; default 6 */
} vad_params;

#define VAD_RATE_MIN 8000
#define VAD_RATE_MAX 48000

/* One talk segment: [start_ms, end_ms) from the start of the channel. */
typedef struct vad_segment {
    int channel;      /* what the caller passed to vad_new (e.g. 1 customer, 2 agent) */
    int64_t start_ms; /* >= 0 */
    int64_t end_ms;   /* > start_ms */
} vad_segment;

/* Counters, read-only for the caller. */
typedef struct vad_stats {
    uint64_t samples;       /* samples fed */
    uint64_t frames;        /* frames analysed (a final partial frame counts) */
    uint64_t active_frames; /* frames above threshold */
    uint64_t segments;      /* segments reported */
    uint64_t dropped_short; /* candidates shorter than min_segment_ms */
    uint64_t merged;        /* candidates merged into the previous segment */
    double floor_dbfs;      /* current noise-floor estimate (-120 before any frame) */
} vad_stats;

/* Receives each finished segment in time order. Return 0 to go on; any other
 * value stops the detector and is returned by vad_feed/vad_finish. */
typedef int (*vad_segment_fn)(void *user, const vad_segment *seg);

typedef struct vad vad;

/* Fills p with the defaults listed above. */
void vad_params_default(vad_params *p);
/* CS_OK, or CS_ERR_INVAL when a field is outside its range. */
int vad_params_check(const vad_params *p);

/* Creates a detector for one channel. rate: 8000..48000 with rate * frame_ms
 * a multiple of 1000 (8000 and 16000 always qualify). p is copied.
 * CS_ERR_INVAL for bad params/rate/out or a NULL fn, CS_ERR_NOMEM. */
int vad_new(const vad_params *p, int rate, int channel, vad_segment_fn fn, void *user, vad **out);
/* Feeds n samples (any n, 0 included; pcm may be NULL when n is 0).
 * CS_OK, the callback's non-zero value (the detector then stays failed and
 * returns CS_ERR_STATE), or CS_ERR_STATE after vad_finish. */
int vad_feed(vad *v, const int16_t *pcm, size_t n);
/* End of the channel: analyses a final partial frame, closes the open segment
 * and reports the pending one. Later feeds fail with CS_ERR_STATE. */
int vad_finish(vad *v);
/* Copies the counters. */
void vad_get_stats(const vad *v, vad_stats *out);
/* NULL is ignored. Segments not yet reported are lost (call vad_finish). */
void vad_free(vad *v);

/* A growing array of segments with a ceiling, usable as the callback
 * (fn = vad_seglist_add, user = the list). Start it zeroed and set max
 * (0 = VAD_SEGLIST_MAX); the caller frees with vad_seglist_free. */
#define VAD_SEGLIST_MAX 1000000
typedef struct vad_seglist {
    vad_segment *v; /* owned, len valid entries */
    size_t len, cap, max;
} vad_seglist;

/* Appends seg: CS_OK, CS_ERR_LIMIT past max, CS_ERR_NOMEM. */
int vad_seglist_add(void *list, const vad_segment *seg);
void vad_seglist_free(vad_seglist *l);

/* One shot over a whole channel: new, feed, finish, free; segments appended
 * to out (which the caller frees). Same errors as above. */
int vad_run(const vad_params *p, int rate, int channel, const int16_t *pcm, size_t n,
            vad_seglist *out);

#endif
