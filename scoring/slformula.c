/*
 * slformula.c — the five service-level formulas (see slformula.h).
 *
 * Counts are int64 and are converted to double only for the final division:
 * every numerator and denominator is a sum of at most two counts that were
 * checked non-negative, and the sum is formed in double, so no overflow.
 */
#include "slformula.h"

#include <math.h>
#include <stddef.h>
#include <strings.h>

#include "error.h"

static const char *const sl_names[SL_FORMULA__COUNT] = {
    [SL_ABANDONS_IN_SL] = "abandons_in_sl",
    [SL_ANSWERED_OF_ANSWERED] = "answered",
    [SL_ANSWERED_OF_OFFERED] = "offered",
    [SL_NO_EARLY_ABANDONS] = "offered_no_early_abandons",
    [SL_SHORT_ABANDONS_IN_SL] = "short_abandons_in_sl",
};

static const char *const sl_defs[SL_FORMULA__COUNT] = {
    [SL_ABANDONS_IN_SL] = "(answered within T + abandoned within T) / (answered + abandoned)",
    [SL_ANSWERED_OF_ANSWERED] = "answered within T / answered",
    [SL_ANSWERED_OF_OFFERED] = "answered within T / (answered + abandoned)",
    [SL_NO_EARLY_ABANDONS] = "answered within T / (answered + abandoned after T)",
    [SL_SHORT_ABANDONS_IN_SL] = "(answered within T + short abandons) / (answered + abandoned)",
};

const char *sl_formula_definition(sl_formula f)
{
    if ((int)f < 0 || f >= SL_FORMULA__COUNT)
        return "unknown";
    return sl_defs[f];
}

const char *sl_formula_name(sl_formula f)
{
    if ((int)f < 0 || f >= SL_FORMULA__COUNT)
        return "unknown";
    return sl_names[f];
}

int sl_formula_parse(const char *name, sl_formula *out)
{
    if (name == NULL || out == NULL)
        return CS_ERR_INVAL;
    for (int i = 0; i < SL_FORMULA__COUNT; i++) {
        if (strcasecmp(name, sl_names[i]) == 0) {
            *out = (sl_formula)i;
            return CS_OK;
        }
    }
    return CS_ERR_INVAL;
}

static int sl_counts_ok(const sl_counts *c)
{
    return c->answered >= 0 && c->answered_within_t >= 0 && c->abandoned >= 0 &&
           c->abandoned_within_t >= 0 && c->short_abandons >= 0 &&
           c->answered_within_t <= c->answered && c->abandoned_within_t <= c->abandoned &&
           c->short_abandons <= c->abandoned;
}

double sl_compute(sl_formula f, const sl_counts *c)
{
    if (c == NULL || !sl_counts_ok(c))
        return NAN;
    double ans = (double)c->answered, ans_t = (double)c->answered_within_t;
    double ab = (double)c->abandoned, ab_t = (double)c->abandoned_within_t;
    double sh = (double)c->short_abandons;
    double num, den;
    switch (f) {
    case SL_ABANDONS_IN_SL:
        num = ans_t + ab_t;
        den = ans + ab;
        break;
    case SL_ANSWERED_OF_ANSWERED:
        num = ans_t;
        den = ans;
        break;
    case SL_ANSWERED_OF_OFFERED:
        num = ans_t;
        den = ans + ab;
        break;
    case SL_NO_EARLY_ABANDONS:
        num = ans_t;
        den = ans + (ab - ab_t);
        break;
    case SL_SHORT_ABANDONS_IN_SL:
        num = ans_t + sh;
        den = ans + ab;
        break;
    default:
        return NAN;
    }
    if (den <= 0.)
        return NAN;
    return num / den;
}
