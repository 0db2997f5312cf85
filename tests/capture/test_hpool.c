/*
 * test_hpool.c — capture/hpool.c: fixed-size objects from 2 MB chunks.
 *
 * Objects are aligned as asked, never overlap (each keeps its own pattern
 * across several chunks), come back from the free list before new ones are
 * carved, and hpool_free frees the ones never given back (ASan's leak
 * check in build/asan). Bad arguments give NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "hpool.h"

enum { SIZE = 5568, ALIGN = 64, N = 1000 }; /* about a call; 376 per chunk */

static unsigned char *objs[N];

static void fill(int round)
{
    for (int i = 0; i < N; i++) {
        memset(objs[i], (i * 13 + round) & 0xff, SIZE);
    }
    for (int i = 0; i < N; i++) {
        for (size_t k = 0; k < SIZE; k += 211) {
            assert_int_equal(objs[i][k], (i * 13 + round) & 0xff);
        }
        assert_int_equal(objs[i][SIZE - 1], (i * 13 + round) & 0xff);
    }
}

static void test_objects(void **state)
{
    (void)state;
    hpool *p = hpool_new(SIZE, ALIGN);
    assert_non_null(p);
    for (int i = 0; i < N; i++) {
        objs[i] = hpool_get(p);
        assert_non_null(objs[i]);
        assert_int_equal((uintptr_t)objs[i] % ALIGN, 0);
    }
    assert_int_equal(hpool_carved(p), N); /* three chunks */
    fill(0);
    /* given back, then taken again: no new object carved */
    for (int i = 0; i < N; i += 2) {
        hpool_put(p, objs[i]);
    }
    for (int i = 0; i < N; i += 2) {
        objs[i] = hpool_get(p);
        assert_non_null(objs[i]);
    }
    assert_int_equal(hpool_carved(p), N);
    fill(1);
    hpool_put(p, NULL);
    for (int i = 0; i < N / 2; i++) {
        hpool_put(p, objs[i]);
    }
    hpool_free(p); /* the other half never given back */
}

static void test_sizes(void **state)
{
    (void)state;
    assert_null(hpool_new(0, 64));
    assert_null(hpool_new(64, 0));
    assert_null(hpool_new(64, 48));
    assert_null(hpool_new(64, 8192));
    hpool_free(NULL);
    /* tiny objects hold the free list's pointer; huge ones get a chunk each */
    hpool *p = hpool_new(1, 1);
    assert_non_null(p);
    void *a = hpool_get(p), *b = hpool_get(p);
    assert_non_null(a);
    assert_non_null(b);
    assert_true((uintptr_t)b - (uintptr_t)a >= sizeof(void *));
    hpool_put(p, a);
    assert_ptr_equal(hpool_get(p), a);
    hpool_free(p);
    p = hpool_new(3 * HPOOL_CHUNK + 1, 64);
    assert_non_null(p);
    unsigned char *h = hpool_get(p);
    assert_non_null(h);
    h[0] = 1;
    h[3 * HPOOL_CHUNK] = 2;
    assert_int_equal(hpool_carved(p), 1);
    hpool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objects),
        cmocka_unit_test(test_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
