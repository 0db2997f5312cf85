/*
 * test_mediamap.c — the media address table: insert/replace/lookup/delete,
 * ownership on delete, the entry cap (exact error codes at max-1, max,
 * max+1), IPv4 vs IPv6 keys, growth, and deletion inside long probe runs
 * checked against a simple reference model over many random operations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "error.h"
#include "mediamap.h"

static void ip4(uint8_t *a, unsigned x)
{
    a[0] = 10;
    a[1] = (uint8_t)(x >> 16);
    a[2] = (uint8_t)(x >> 8);
    a[3] = (uint8_t)x;
}

static void test_basic(void **state)
{
    (void)state;
    mediamap *m = mediamap_new(100);
    assert_non_null(m);
    uint8_t a[16] = {0};
    ip4(a, 1);
    int owner1, owner2;
    mm_value v = {&owner1, 2, 3, 0}, out;
    assert_int_equal(mediamap_get(m, AF_INET, a, 4000, &out), 0);
    assert_int_equal(mediamap_put(m, AF_INET, a, 4000, &v), CS_OK);
    assert_int_equal(mediamap_get(m, AF_INET, a, 4000, &out), 1);
    assert_ptr_equal(out.owner, &owner1);
    assert_int_equal(out.leg, 2);
    assert_int_equal(out.dir, 3);
    /* other port, other family: different keys */
    assert_int_equal(mediamap_get(m, AF_INET, a, 4001, &out), 0);
    assert_int_equal(mediamap_get(m, AF_INET6, a, 4000, &out), 0);
    assert_int_equal(mediamap_put(m, 99, a, 4000, &v), CS_ERR_INVAL);
    /* replace by a newer owner; the old owner's delete does nothing */
    mm_value v2 = {&owner2, 0, 1, 1};
    assert_int_equal(mediamap_put(m, AF_INET, a, 4000, &v2), CS_OK);
    assert_int_equal(mediamap_count(m), 1);
    assert_int_equal(mediamap_del(m, AF_INET, a, 4000, &owner1), 0);
    assert_int_equal(mediamap_get(m, AF_INET, a, 4000, &out), 1);
    assert_ptr_equal(out.owner, &owner2);
    assert_int_equal(out.rtcp, 1);
    assert_int_equal(mediamap_del(m, AF_INET, a, 4000, &owner2), 1);
    assert_int_equal(mediamap_get(m, AF_INET, a, 4000, &out), 0);
    assert_int_equal(mediamap_del(m, AF_INET, a, 4000, NULL), 0);
    assert_int_equal(mediamap_count(m), 0);
    mediamap_free(m);
    assert_null(mediamap_new(0));
}

static void test_cap(void **state)
{
    (void)state;
    const size_t max = 300;
    mediamap *m = mediamap_new(max);
    assert_non_null(m);
    uint8_t a[16] = {0};
    mm_value v = {m, 0, 1, 0};
    for (size_t i = 0; i < max - 1; i++) {
        ip4(a, (unsigned)i);
        assert_int_equal(mediamap_put(m, AF_INET, a, 1000, &v), CS_OK);
    }
    ip4(a, (unsigned)(max - 1));
    assert_int_equal(mediamap_put(m, AF_INET, a, 1000, &v), CS_OK); /* max-th */
    assert_int_equal(mediamap_count(m), max);
    ip4(a, (unsigned)max);
    assert_int_equal(mediamap_put(m, AF_INET, a, 1000, &v), CS_ERR_LIMIT); /* max+1 */
    /* replacing an existing key is fine when full */
    ip4(a, 5);
    assert_int_equal(mediamap_put(m, AF_INET, a, 1000, &v), CS_OK);
    assert_int_equal(mediamap_del(m, AF_INET, a, 1000, NULL), 1);
    ip4(a, (unsigned)max);
    assert_int_equal(mediamap_put(m, AF_INET, a, 1000, &v), CS_OK);
    mediamap_free(m);
}

/* Random operations against a direct-indexed model: 4096 keys (ip6 with a
 * small variable part, port), values the key number. */
static void test_model(void **state)
{
    (void)state;
    enum { N = 4096 };
    static int present[N];
    static uint16_t leg_of[N];
    memset(present, 0, sizeof present);
    mediamap *m = mediamap_new(N);
    assert_non_null(m);
    uint32_t x = 12345;
    for (int step = 0; step < 200000; step++) {
        x = x * 1103515245u + 12345u;
        unsigned k = (x >> 8) % N, op = (x >> 24) % 3;
        uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
        a[15] = (uint8_t)(k & 0x3f);
        uint16_t port = (uint16_t)(20000 + (k >> 6) * 2);
        mm_value v = {NULL, (uint16_t)step, 0, 0}, out;
        if (op == 0) {
            assert_int_equal(mediamap_put(m, AF_INET6, a, port, &v), CS_OK);
            present[k] = 1;
            leg_of[k] = (uint16_t)step;
        } else if (op == 1) {
            assert_int_equal(mediamap_del(m, AF_INET6, a, port, NULL), present[k]);
            present[k] = 0;
        } else {
            int got = mediamap_get(m, AF_INET6, a, port, &out);
            assert_int_equal(got, present[k]);
            if (got)
                assert_int_equal(out.leg, leg_of[k]);
        }
    }
    size_t n = 0;
    for (int i = 0; i < N; i++)
        n += (size_t)present[i];
    assert_int_equal(mediamap_count(m), n);
    mediamap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
