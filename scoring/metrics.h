/*
 * metrics.h — per-call metrics computed from plain inputs: talk metrics
 * (dead air, overtalk, talk per channel, agent talk ratio), DTMF masking and
 * an E-model MOS estimate. No database, no config: the scoring worker reads
 * the rows, passes numbers in and stores what comes out (call_metrics).
 * docs/scoring-metrics.md has every definition with its config key.
 *
 * Times are integer milliseconds on the recording's clock (ms from
 * recordings.started_at, as talk_segments stores them). A span is the
 * half-open interval [start_ms, end_ms); its length is end_ms - start_ms.
 *
 * TALK METRICS (sc_talk_compute). Inputs: the talk segments of the customer
 * (channel 1) and of the agent (channel 2), in any order, possibly
 * overlapping; the connected span (answer .. end of the call); the hold
 * spans; dead_air_min_ms. Let ACTIVE = connected minus every hold. Then:
 *   customer_talk_ms  length of (union of customer segments) ∩ ACTIVE
 *   agent_talk_ms     length of (union of agent segments) ∩ ACTIVE
 *   agent_talk_ratio  agent_talk_ms / (agent_talk_ms + customer_talk_ms);
 *                     NaN when both are 0 (nobody spoke)
 *   overtalk          (customer ∩ agent) ∩ ACTIVE: overtalk_ms its length,
 *                     overtalk_count its number of maximal stretches
 *   dead air          the maximal stretches of ACTIVE where neither channel
 *                     talks, kept when at least dead_air_min_ms long:
 *                     dead_air_ms their total, dead_air_count their number,
 *                     dead_air_longest_ms the longest. A hold ends a stretch
 *                     (silence before and after a hold are two stretches);
 *                     silence from the answer to the first word and from the
 *                     last word to the end counts.
 * Overtalk during a hold is not counted: the parties cannot hear each other.
 * Work is O(n log n) in the number of spans (sort + linear sweeps); memory
 * O(n), allocated and freed inside the call.
 *
 * DTMF MASKING (sc_dtmf_mask). Card numbers keyed on the phone must never be
 * stored in clear: the caller stores ONLY the masked string this returns,
 * never the events. A run is a maximal sequence of consecutive events whose
 * start times are at most run_gap_ms apart (|gap|, so events slightly out of
 * order stay in their run). A run holding >= min_run digits 0-9 has every
 * 0-9 digit replaced by '*' except its last 4 digits 0-9; other keys
 * (*, #, A-D) are kept, so "4111 1111 1111 1111 #" keyed as one run gives
 * "************1111#". A keyed '*' and a masked digit look alike; that is
 * accepted (the count is unchanged, the digits are not recoverable).
 * Lowercase a-d are written uppercase; any other byte is written as '?'.
 *
 * MOS ESTIMATE (sc_mos_estimate). ITU-T G.107 E-model, simplified (only
 * delay and codec/loss impairments; every other factor at its default):
 *   R = 93.2 - Id - Ie_eff
 *   Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl), BurstR = 1 (random)
 *   Id = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)   (Cole & Rosenbluth 2001)
 *   d = 2 * jitter_ms + 20 ms (packetisation) + network delay (default 0)
 *   MOS = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R), clamped to [1, 4.5]
 *         (R < 0 gives 1, R > 100 gives 4.5)
 * Codec constants (ITU-T G.113 Appendix I, narrowband scale):
 *   PCMU, PCMA, G711  Ie 0,  Bpl 25.1 (with G.711 Appendix I PLC, as the
 *                     decode stage and current phones conceal loss)
 *   G729, G729A, ...  Ie 11, Bpl 19.0 (G.729A + VAD)
 *   G722              Ie 0,  Bpl 25.1 — approximation: G.722 is wideband
 *                     (G.107.1 scale); rated as G.711 with PLC on the
 *                     narrowband scale, so it is never above G.711 here.
 *   opus              Ie 0,  Bpl 25.1 — our choice: G.113 has no Opus
 *                     values; at telephony bit rates Opus is at least toll
 *                     quality and its PLC at least as good as G.711's, so the
 *                     G.711-with-PLC values (in-band FEC is not credited).
 * Names match case-insensitively, with or without the dot ("G.729"); any
 * name starting with G729 is G.729. sc_emodel_r takes Ie/Bpl directly for
 * anything else (e.g. G.711 without PLC: Ie 0, Bpl 4.3).
 *
 * All functions are pure: no globals, thread-safe.
 */
#ifndef CALLSCOPE_SC_METRICS_H
#define CALLSCOPE_SC_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* [start_ms, end_ms), ms on the recording's clock. */
typedef struct sc_span {
    int64_t start_ms, end_ms;
} sc_span;

/* Every time given to sc_talk_compute must lie in [-SC_TIME_MAX_MS,
 * SC_TIME_MAX_MS] (about 142 000 years), so lengths never overflow. */
#define SC_TIME_MAX_MS ((int64_t)1 << 52)

/* score.dead_air_min */
#define SC_DEAD_AIR_MIN_MS_DEFAULT 5000

/* Borrowed arrays; an array may be NULL only when its count is 0. */
typedef struct sc_talk_input {
    const sc_span *customer; /* channel 1 talk segments, any order */
    size_t n_customer;
    const sc_span *agent; /* channel 2 talk segments, any order */
    size_t n_agent;
    sc_span connected;    /* answer .. end; empty (end <= start) when never answered */
    const sc_span *holds; /* hold spans, any order, may overlap */
    size_t n_holds;
    int64_t dead_air_min_ms; /* >= 0; 0 counts every silent stretch */
} sc_talk_input;

typedef struct sc_talk_metrics {
    int64_t dead_air_ms, dead_air_longest_ms;
    int dead_air_count;
    int64_t overtalk_ms;
    int overtalk_count;
    int64_t customer_talk_ms, agent_talk_ms;
    double agent_talk_ratio; /* NaN when nobody spoke */
} sc_talk_metrics;

/* Computes *out from *in (definitions above). Segments with end == start are
 * ignored. Returns 0; CS_ERR_INVAL for a NULL pointer (or NULL array with a
 * count), a span with end < start, a time beyond SC_TIME_MAX_MS or
 * dead_air_min_ms < 0; CS_ERR_OVERFLOW when the counts are too large to
 * allocate for; CS_ERR_NOMEM. On error *out is zeroed with a NaN ratio. */
int sc_talk_compute(const sc_talk_input *in, sc_talk_metrics *out);

/* One DTMF key press: the key ('0'-'9', '*', '#', 'A'-'D') and when it
 * started (ms; any clock, only differences are used). */
typedef struct sc_dtmf {
    char digit;
    int64_t start_ms;
} sc_dtmf;

/* score.dtmf_min_run and score.dtmf_run_gap */
#define SC_DTMF_MIN_RUN_DEFAULT    12
#define SC_DTMF_RUN_GAP_MS_DEFAULT 3000
/* Digits left in clear at the end of a masked run. */
#define SC_DTMF_CLEAR_TAIL 4

/* Writes the keys of ev[0..n) as a string, masked (rules above), into
 * out[0..cap): at most cap - 1 characters and a NUL (nothing when cap is 0;
 * out may then be NULL). Returns the full length (n), like snprintf: the
 * output was cut when the return is >= cap. A cut output is a prefix of the
 * full masked string, so it never holds a digit in clear that the full one
 * masks. ev may be NULL when n is 0. min_run <= 4 masks nothing (the last 4
 * stay clear); run_gap_ms < 0 makes every key its own run. */
size_t sc_dtmf_mask(const sc_dtmf *ev, size_t n, int min_run, int64_t run_gap_ms, char *out,
                    size_t cap);

/* Packetisation delay assumed in d (ms). */
#define SC_MOS_PACKET_MS 20.0

/* Ie and Bpl of a codec by its encoding name (table above). Returns 0, or
 * CS_ERR_NOTFOUND for NULL, "telephone-event" or any unknown name. */
int sc_mos_codec(const char *codec_name, double *ie, double *bpl);

/* The E-model rating factor R for codec constants ie, bpl, packet loss
 * loss_pct (%, clamped to 100), burst ratio burst_r (1 = random loss) and
 * one-way delay delay_ms. NaN when an argument is negative, not finite, or
 * burst_r is 0. */
double sc_emodel_r(double ie, double bpl, double loss_pct, double burst_r, double delay_ms);

/* MOS from R (G.107 Annex B polynomial) clamped to [1, 4.5]; NaN for NaN. */
double sc_mos_from_r(double r);

/* MOS estimate for codec_name at loss_pct (%) and interarrival jitter
 * jitter_ms (RFC 3550, in ms), network delay 0. NaN for an unknown codec,
 * a negative or non-finite loss or jitter. */
double sc_mos_estimate(const char *codec_name, double loss_pct, double jitter_ms);

/* The same with a one-way network delay (ms, >= 0) added to d. */
double sc_mos_estimate_delay(const char *codec_name, double loss_pct, double jitter_ms,
                             double network_delay_ms);

#endif
