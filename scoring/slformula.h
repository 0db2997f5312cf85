/*
 * slformula.h — service level: the five standard formulas over call counts.
 *
 * What it is for. Service level (SL) is "the share of calls handled within
 * the threshold T" (score.sl_threshold, default 20 s). Contact centers
 * disagree on what to do with abandoned calls, so the industry uses five
 * formulas; callscope computes any of them from the same five counts, which
 * are sums (the KPI rollups keep the counts per interval and the report picks
 * the formula at read time: changing score.sl_formula never needs a re-score).
 *
 * The counts (all over one interval / queue / agent; kpi_interval columns):
 *   answered            calls answered by an agent
 *   answered_within_t   of those, answered with a queue wait <= T
 *                       (answered_within_sl; "within 20 s" includes 20.000 s)
 *   abandoned           calls the caller hung up before an agent answered
 *   abandoned_within_t  of those, abandoned with a wait <= T (abandoned_within_sl)
 *   short_abandons      of those, abandoned with a wait < the short-abandon
 *                       threshold (score.short_abandon, default 5 s; strictly
 *                       below)
 * The caller counts (the SQL rollup does); this module only divides.
 *
 * The formulas (config name in quotes; docs/kpi.md says when each is used):
 *   (1) SL_ABANDONS_IN_SL        "abandons_in_sl"
 *         (answered_within_t + abandoned_within_t) / (answered + abandoned)
 *   (2) SL_ANSWERED_OF_ANSWERED  "answered"
 *         answered_within_t / answered
 *   (3) SL_ANSWERED_OF_OFFERED   "offered"           (the default)
 *         answered_within_t / (answered + abandoned)
 *   (4) SL_NO_EARLY_ABANDONS     "offered_no_early_abandons"
 *         answered_within_t / (answered + abandoned - abandoned_within_t)
 *   (5) SL_SHORT_ABANDONS_IN_SL  "short_abandons_in_sl"
 *         (answered_within_t + short_abandons) / (answered + abandoned)
 * Worked example (tests/scoring/test_slformula.c): 1000 answered, 860 within
 * 20 s; 60 abandoned, 20 within 20 s, 10 within 5 s → 83.0 %, 86.0 %,
 * 81.1 %, 82.7 %, 82.1 %.
 *
 * Only the config name is stored or shown; the enum values are not stable
 * across versions and are never written anywhere.
 *
 * Pure functions: no allocation, no globals, thread-safe.
 */
#ifndef CALLSCOPE_SLFORMULA_H
#define CALLSCOPE_SLFORMULA_H

#include <stdint.h>

typedef struct sl_counts {
    int64_t answered;           /* answered calls */
    int64_t answered_within_t;  /* answered with wait <= T; <= answered */
    int64_t abandoned;          /* abandoned calls */
    int64_t abandoned_within_t; /* abandoned with wait <= T; <= abandoned */
    int64_t short_abandons;     /* abandoned with wait < short-abandon threshold; <= abandoned */
} sl_counts;

typedef enum sl_formula {
    SL_ABANDONS_IN_SL,       /* (1) abandons within T count as met */
    SL_ANSWERED_OF_ANSWERED, /* (2) abandons ignored */
    SL_ANSWERED_OF_OFFERED,  /* (3) every abandon counts as missed */
    SL_NO_EARLY_ABANDONS,    /* (4) abandons within T ignored, later ones missed */
    SL_SHORT_ABANDONS_IN_SL, /* (5) short abandons count as met, the rest missed */
    SL_FORMULA__COUNT        /* number of formulas; not a formula */
} sl_formula;

/* The formula used when score.sl_formula is not set. */
#define SL_FORMULA_DEFAULT SL_ANSWERED_OF_OFFERED
/* Default threshold T (score.sl_threshold) and short-abandon threshold
 * (score.short_abandon), in ms. */
#define SL_THRESHOLD_MS_DEFAULT     20000
#define SL_SHORT_ABANDON_MS_DEFAULT 5000

/* The config name ("offered", ...); "unknown" for a value out of range.
 * Static string, never NULL. */
const char *sl_formula_name(sl_formula f);

/* The formula in words for reports and --help-config, e.g. "answered within T /
 * (answered + abandoned)"; "unknown" out of range. Static string. */
const char *sl_formula_definition(sl_formula f);

/* Parses a config name (exact, case-insensitive) into *out.
 * Returns 0, or CS_ERR_INVAL when name is NULL or names no formula (then *out
 * is unchanged). */
int sl_formula_parse(const char *name, sl_formula *out);

/* The service level as a fraction in [0, 1]. NaN when the denominator is 0
 * (no calls), when f is out of range, c is NULL, or the counts are
 * inconsistent (a count < 0, a "within" count above its total,
 * short_abandons above abandoned). */
double sl_compute(sl_formula f, const sl_counts *c);

#endif
