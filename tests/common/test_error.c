/*
 * test_error.c — every code of CS_ERR_MAP has its name and message, unknown
 * values get the fixed placeholders, and the values are dense from 0 down to
 * CS_ERR__LAST + 1 (so a code added in the middle or renumbered fails here).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "error.h"

typedef struct err_row {
    int value;
    const char *name;
    const char *msg;
} err_row;

static const err_row rows[] = {
#define ROW_(name, value, msg) {value, #name, msg},
    CS_ERR_MAP(ROW_)
#undef ROW_
};
#define NROWS (sizeof rows / sizeof rows[0])

static void test_known_codes(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NROWS; i++) {
        assert_string_equal(cs_err_name(rows[i].value), rows[i].name);
        assert_string_equal(cs_err_msg(rows[i].value), rows[i].msg);
    }
    assert_string_equal(cs_err_name(CS_OK), "CS_OK");
    assert_string_equal(cs_err_msg(CS_OK), "success");
    assert_string_equal(cs_err_name(CS_ERR_TRUNCATED), "CS_ERR_TRUNCATED");
    assert_string_equal(cs_err_name(-3), "CS_ERR_TRUNCATED");
    assert_string_equal(cs_err_msg(CS_ERR_CONFIG), "configuration error");
    assert_string_equal(cs_err_name(CS_ERR_INTERRUPTED), "CS_ERR_INTERRUPTED");
}

static void test_unknown_codes(void **state)
{
    static const int unknown[] = {1, 2, CS_ERR__LAST, CS_ERR__LAST - 1, -1000, INT_MIN, INT_MAX};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(cs_err_name(unknown[i]), "CS_ERR_UNKNOWN");
        assert_string_equal(cs_err_msg(unknown[i]), "unknown error");
    }
}

static void test_dense_and_unique(void **state)
{
    size_t i, j;
    int v;

    (void)state;
    assert_int_equal((int)NROWS, -CS_ERR__LAST);
    for (v = 0; v > CS_ERR__LAST; v--)
        assert_string_not_equal(cs_err_name(v), "CS_ERR_UNKNOWN");
    for (i = 0; i < NROWS; i++) {
        assert_true(rows[i].value <= 0);
        assert_true(strlen(rows[i].msg) > 0);
        for (j = i + 1; j < NROWS; j++) {
            assert_int_not_equal(rows[i].value, rows[j].value);
            assert_string_not_equal(rows[i].name, rows[j].name);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_codes),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_dense_and_unique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
