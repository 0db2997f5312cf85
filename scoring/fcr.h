/*
 * fcr.h — first-call resolution: which calls of one caller were resolved,
 * which were followed by a repeat call, which are still pending.
 *
 * What it is for. The scoring worker loads every call of one ANI (in INVITE
 * order) whenever a call of that ANI is scored, passes them here with the
 * settings and "now", and writes each call's status, repeat_of, repeated_by
 * and due time back to call_metrics: a later call thereby updates the
 * earlier calls' FCR. Pure: no database, no clock, no globals.
 *
 * Rules (docs/scoring-metrics.md; settings in brackets with their defaults):
 *   1. A call is NOT_APPLICABLE when its ANI is anonymous/withheld
 *      (sc_ani_is_anonymous; never grouped with anything) or it was not
 *      answered (an abandoned or failed call resolved nothing and is not a
 *      contact; it neither is a repeat nor makes another call one).
 *   2. The other calls form groups: all of them [score.fcr_same_queue = no],
 *      or one group per queue id [yes]. Within a group, in INVITE order, a
 *      call whose INVITE is less than the continuation gap
 *      [score.fcr_continuation = 15 min] after the previous call's INVITE is
 *      a CONTINUATION of it (a dropped call dialled again, a call back the
 *      agent asked for): it is not a new contact. Continuations chain.
 *   3. For each call c of a group, let k be the first later call of the group
 *      that is not a continuation. c is a REPEAT (repeated_by = k) when
 *      invite(k) - invite(c) < window [score.fcr_window = 7 d]; otherwise c
 *      is PENDING while now < invite(c) + window, then RESOLVED. The window
 *      is half-open: a call exactly window after c does not repeat it.
 *      A continuation is judged by the same rule from its own INVITE, so a
 *      call and its continuations are repeated by the same later contact.
 *   4. repeat_of of a call k that is not a continuation: the previous call
 *      of its group, when that one is repeated by k (i.e. within its
 *      window); otherwise -1. continuation_of of a continuation: the
 *      previous call of its group.
 * Times are microseconds (timestamptz precision). Windows the docs name:
 * 24 h, 72 h, 7 d (SC_FCR_WINDOW_*).
 *
 * Work: O(n) for any-queue grouping, O(n log n) by queue; one allocation of
 * one (queue, index) pair per eligible call, freed before returning.
 */
#ifndef CALLSCOPE_FCR_H
#define CALLSCOPE_FCR_H

#include <stddef.h>
#include <stdint.h>

#define SC_US_PER_MIN  ((int64_t)60 * 1000000)
#define SC_US_PER_HOUR (60 * SC_US_PER_MIN)
#define SC_US_PER_DAY  (24 * SC_US_PER_HOUR)

#define SC_FCR_WINDOW_24H_US           (24 * SC_US_PER_HOUR)
#define SC_FCR_WINDOW_72H_US           (72 * SC_US_PER_HOUR)
#define SC_FCR_WINDOW_7D_US            (7 * SC_US_PER_DAY)
#define SC_FCR_WINDOW_US_DEFAULT       SC_FCR_WINDOW_7D_US  /* score.fcr_window */
#define SC_FCR_CONTINUATION_US_DEFAULT (15 * SC_US_PER_MIN) /* score.fcr_continuation */
#define SC_FCR_SAME_QUEUE_DEFAULT      0                    /* score.fcr_same_queue */

typedef enum sc_fcr_status {
    SC_FCR_NOT_APPLICABLE, /* "not_applicable" */
    SC_FCR_PENDING,        /* "pending" */
    SC_FCR_RESOLVED,       /* "resolved" */
    SC_FCR_REPEAT,         /* "repeat" */
} sc_fcr_status;

/* One call of the ANI; the array is in INVITE order (non-decreasing). */
typedef struct sc_fcr_call {
    int64_t invite_us; /* INVITE time, µs since the epoch (any fixed origin) */
    int64_t queue_id;  /* opaque; compared only with score.fcr_same_queue = yes */
    int answered;      /* nonzero: an agent answered */
    int anonymous;     /* nonzero: ANI withheld (sc_ani_is_anonymous) */
} sc_fcr_call;

typedef struct sc_fcr_params {
    int64_t window_us;       /* > 0; score.fcr_window */
    int64_t continuation_us; /* >= 0 (0: no continuations); score.fcr_continuation */
    int same_queue;          /* nonzero: group by queue_id; score.fcr_same_queue */
    int64_t now_us;          /* the present, same clock as invite_us */
} sc_fcr_params;

typedef struct sc_fcr_result {
    sc_fcr_status status;
    ptrdiff_t repeated_by;     /* index of the call that repeats this one, or -1 */
    ptrdiff_t repeat_of;       /* index of the call this one repeats, or -1 */
    ptrdiff_t continuation_of; /* index of the call this one continues, or -1 */
    int64_t due_us;            /* invite + window (saturated): when PENDING turns RESOLVED
                                  (fcr_due_at); 0 for NOT_APPLICABLE */
} sc_fcr_result;

/* The defaults above with now_us = now. */
sc_fcr_params sc_fcr_params_default(int64_t now_us);

/* Decides calls[0..n) into out[0..n) (rules above). Returns 0; CS_ERR_INVAL
 * for NULL arrays with n > 0, window_us <= 0, continuation_us < 0, or calls
 * not in INVITE order; CS_ERR_OVERFLOW / CS_ERR_NOMEM. On error out is left unspecified. */
int sc_fcr_decide(const sc_fcr_call *calls, size_t n, const sc_fcr_params *p, sc_fcr_result *out);

/* "resolved", "repeat", "pending", "not_applicable" (the call_metrics
 * values); "unknown" out of range. Static string. */
const char *sc_fcr_status_name(sc_fcr_status s);

/* Nonzero when ani is withheld: NULL, empty or blank; "anonymous",
 * "restricted", "unavailable", "private", "unknown", "withheld" in any case
 * (surrounding blanks ignored); or a number of zeros only (an optional
 * leading '+', e.g. "0", "+000"). */
int sc_ani_is_anonymous(const char *ani);

#endif
