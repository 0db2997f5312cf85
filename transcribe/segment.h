/*
 * segment.h — which stretches of a channel the recogniser decodes.
 *
 * The decode stage's voice-activity detector stores talk segments per
 * channel (talk_segments). Decoding only those, rather than the whole
 * channel, spends the recogniser's time on speech (a contact-center channel
 * is silent more than half the time) and gives each utterance its real time.
 *
 * seg_plan turns talk segments into decode spans:
 *   1. each segment is widened by pad_ms on both sides (the VAD's onset and
 *      hangover clip soft word edges), clamped to [0, duration_ms];
 *   2. spans that then overlap or lie closer than merge_gap_ms are joined;
 *   3. a span longer than max_ms is cut, repeatedly, at the quietest 20 ms
 *      frame of the audio between max_ms / 2 and max_ms after its start, so
 *      a cut falls in a pause rather than inside a word where possible.
 * Input segments need not be sorted; empty or inverted ones are ignored.
 *
 * Ownership: *out is malloc'd; the caller frees it.
 */
#ifndef CALLSCOPE_SEGMENT_H
#define CALLSCOPE_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct seg_span {
    int64_t start_ms, end_ms; /* [start, end) from call start */
} seg_span;

typedef struct seg_params {
    int64_t pad_ms;       /* 0..2000; default 300 */
    int64_t merge_gap_ms; /* 0..10000; default 200 */
    int64_t max_ms;       /* 2000..120000; default 30000 */
} seg_params;

void seg_params_default(seg_params *p);

/*
 * Plans the spans for one channel. pcm/npcm/rate (8000 or 16000) are the
 * channel's samples, used only to place cuts in long spans (pcm may be NULL:
 * cuts then fall at exactly max_ms). duration_ms bounds the spans.
 * CS_OK, CS_ERR_INVAL, CS_ERR_NOMEM.
 */
int seg_plan(const seg_params *p, const seg_span *talk, size_t n, int64_t duration_ms,
             const int16_t *pcm, size_t npcm, int rate, seg_span **out, size_t *nout);

#endif
