/*
 * test_slformula.c — service-level formulas (scoring/slformula.c).
 *
 * The standard worked example (1000 answered, 860 within 20 s; 60 abandoned,
 * 20 within 20 s, 10 within 5 s) must give 83.0, 86.0, 81.1, 82.7, 82.1 %
 * to one decimal, and the exact fractions; names round-trip through the
 * parser; zero denominators and inconsistent counts give NaN; a random sweep
 * checks every result lies in [0, 1] and the orderings that follow from the
 * definitions ((1) >= (5) >= (3), (4) >= (3)).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "slformula.h"

/* cmocka here has no double assertion: compare within eps and say what differed. */
#define assert_double_equal(a, b, eps) assert_near_((a), (b), (eps), __FILE__, __LINE__)
static void assert_near_(double a, double b, double eps, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        fprintf(stderr, "%s:%d: %.17g != %.17g (eps %g)\n", file, line, a, b, eps);
        fail();
    }
}

static const sl_counts worked = {
    .answered = 1000,
    .answered_within_t = 860,
    .abandoned = 60,
    .abandoned_within_t = 20,
    .short_abandons = 10,
};

static double pct1(double frac)
{
    return round(frac * 1000.) / 10.;
}

static void test_worked_example(void **state)
{
    (void)state;
    static const struct {
        sl_formula f;
        double pct;   /* one decimal, as the issue states it */
        double exact; /* the fraction */
    } want[] = {
        {SL_ABANDONS_IN_SL, 83.0, 880. / 1060.},
        {SL_ANSWERED_OF_ANSWERED, 86.0, 860. / 1000.},
        {SL_ANSWERED_OF_OFFERED, 81.1, 860. / 1060.},
        {SL_NO_EARLY_ABANDONS, 82.7, 860. / 1040.},
        {SL_SHORT_ABANDONS_IN_SL, 82.1, 870. / 1060.},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        double v = sl_compute(want[i].f, &worked);
        printf("%-26s %.4f %%\n", sl_formula_name(want[i].f), v * 100.);
        assert_double_equal(pct1(v), want[i].pct, 1e-9);
        assert_double_equal(v, want[i].exact, 1e-12);
    }
}

static void test_names(void **state)
{
    (void)state;
    const char *expect[SL_FORMULA__COUNT] = {"abandons_in_sl", "answered", "offered",
                                             "offered_no_early_abandons", "short_abandons_in_sl"};
    for (int i = 0; i < SL_FORMULA__COUNT; i++) {
        assert_string_equal(sl_formula_name((sl_formula)i), expect[i]);
        sl_formula f = SL_FORMULA__COUNT;
        assert_int_equal(sl_formula_parse(expect[i], &f), CS_OK);
        assert_int_equal(f, i);
    }
    sl_formula f = SL_ANSWERED_OF_ANSWERED;
    assert_int_equal(sl_formula_parse("OFFERED", &f), CS_OK);
    assert_int_equal(f, SL_ANSWERED_OF_OFFERED);
    f = SL_ANSWERED_OF_ANSWERED;
    assert_int_equal(sl_formula_parse("offered ", &f), CS_ERR_INVAL);
    assert_int_equal(sl_formula_parse("", &f), CS_ERR_INVAL);
    assert_int_equal(sl_formula_parse("offere", &f), CS_ERR_INVAL);
    assert_int_equal(sl_formula_parse("offeredx", &f), CS_ERR_INVAL);
    assert_int_equal(sl_formula_parse(NULL, &f), CS_ERR_INVAL);
    assert_int_equal(f, SL_ANSWERED_OF_ANSWERED); /* unchanged on error */
    assert_int_equal(sl_formula_parse("offered", NULL), CS_ERR_INVAL);
    assert_string_equal(sl_formula_definition(SL_ANSWERED_OF_OFFERED),
                        "answered within T / (answered + abandoned)");
    assert_string_equal(sl_formula_definition(SL_NO_EARLY_ABANDONS),
                        "answered within T / (answered + abandoned after T)");
    for (int i = 0; i < SL_FORMULA__COUNT; i++)
        assert_true(strstr(sl_formula_definition((sl_formula)i), "answered within T") != NULL);
    assert_string_equal(sl_formula_definition(SL_FORMULA__COUNT), "unknown");
    assert_string_equal(sl_formula_name(SL_FORMULA__COUNT), "unknown");
    assert_string_equal(sl_formula_name((sl_formula)-1), "unknown");
    assert_int_equal(SL_FORMULA_DEFAULT, SL_ANSWERED_OF_OFFERED);
}

static void test_empty_and_invalid(void **state)
{
    (void)state;
    sl_counts zero = {0};
    for (int i = 0; i < SL_FORMULA__COUNT; i++)
        assert_true(isnan(sl_compute((sl_formula)i, &zero)));
    /* Only abandoned calls: (2) has no denominator, the others do. */
    sl_counts ab_only = {.abandoned = 4, .abandoned_within_t = 3, .short_abandons = 1};
    assert_true(isnan(sl_compute(SL_ANSWERED_OF_ANSWERED, &ab_only)));
    assert_double_equal(sl_compute(SL_ABANDONS_IN_SL, &ab_only), 0.75, 1e-12);
    assert_double_equal(sl_compute(SL_ANSWERED_OF_OFFERED, &ab_only), 0., 1e-12);
    assert_double_equal(sl_compute(SL_NO_EARLY_ABANDONS, &ab_only), 0., 1e-12);
    assert_double_equal(sl_compute(SL_SHORT_ABANDONS_IN_SL, &ab_only), 0.25, 1e-12);
    /* Every abandon within T: (4)'s denominator is 0. */
    sl_counts early = {.abandoned = 2, .abandoned_within_t = 2};
    assert_true(isnan(sl_compute(SL_NO_EARLY_ABANDONS, &early)));
    /* All answered within T: 100 % everywhere. */
    sl_counts perfect = {.answered = 7, .answered_within_t = 7};
    for (int i = 0; i < SL_FORMULA__COUNT; i++)
        assert_double_equal(sl_compute((sl_formula)i, &perfect), 1., 0.);

    const sl_counts bad[] = {
        {.answered = -1},
        {.answered = 1, .answered_within_t = 2},
        {.abandoned = 1, .abandoned_within_t = 2},
        {.abandoned = 1, .short_abandons = 2},
        {.answered = 5, .answered_within_t = -1},
        {.answered = 5, .abandoned = -1},
        {.answered = 5, .abandoned = 3, .abandoned_within_t = -1},
        {.answered = 5, .abandoned = 3, .short_abandons = -1},
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++)
        for (int i = 0; i < SL_FORMULA__COUNT; i++)
            assert_true(isnan(sl_compute((sl_formula)i, &bad[b])));
    assert_true(isnan(sl_compute(SL_ANSWERED_OF_OFFERED, NULL)));
    assert_true(isnan(sl_compute(SL_FORMULA__COUNT, &worked)));
    assert_true(isnan(sl_compute((sl_formula)-1, &worked)));
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random consistent counts, including huge ones (no overflow: the result stays
 * in [0, 1]), and the orderings implied by the definitions. */
static void test_properties(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int it = 0; it < 100000; it++) {
        int64_t scale = (it % 10 == 0) ? (INT64_MAX / 4) : 1000;
        sl_counts c;
        c.answered = (int64_t)(rng(&s) % (uint64_t)scale);
        c.answered_within_t = c.answered ? (int64_t)(rng(&s) % (uint64_t)(c.answered + 1)) : 0;
        c.abandoned = (int64_t)(rng(&s) % (uint64_t)scale);
        c.abandoned_within_t = (int64_t)(rng(&s) % (uint64_t)(c.abandoned + 1));
        c.short_abandons = (int64_t)(rng(&s) % (uint64_t)(c.abandoned_within_t + 1));
        double v[SL_FORMULA__COUNT];
        for (int i = 0; i < SL_FORMULA__COUNT; i++) {
            v[i] = sl_compute((sl_formula)i, &c);
            if (!isnan(v[i])) {
                assert_true(v[i] >= 0. && v[i] <= 1.);
            }
        }
        if (c.answered + c.abandoned > 0) {
            /* short abandons (<5 s) are a subset of the abandons within T here */
            assert_true(v[SL_ABANDONS_IN_SL] >= v[SL_SHORT_ABANDONS_IN_SL] - 1e-12);
            assert_true(v[SL_SHORT_ABANDONS_IN_SL] >= v[SL_ANSWERED_OF_OFFERED] - 1e-12);
            if (!isnan(v[SL_NO_EARLY_ABANDONS])) {
                assert_true(v[SL_NO_EARLY_ABANDONS] >= v[SL_ANSWERED_OF_OFFERED] - 1e-12);
            }
        }
        if (c.answered > 0) {
            assert_true(v[SL_ANSWERED_OF_ANSWERED] >= v[SL_NO_EARLY_ABANDONS] - 1e-12);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_empty_and_invalid),
        cmocka_unit_test(test_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
