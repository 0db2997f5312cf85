/*
 * cg_rng.h — the deterministic random source of callgen.
 *
 * Everything callgen decides at random (which clip, when, which packet is lost)
 * comes from a cg_rng seeded from --seed, so one seed always gives the same
 * capture and truth, byte for byte. splitmix64 seeding, xoshiro256** stream.
 * Not for cryptography. Header-only; the state is the caller's.
 */
#ifndef CALLGEN_RNG_H
#define CALLGEN_RNG_H

#include <stdint.h>

typedef struct cg_rng {
    uint64_t s[4];
} cg_rng;

static inline uint64_t cg_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeds from a 64-bit seed and a stream number, so independent streams
 * (one per call, one per fault model) stay stable when another changes. */
static inline void cg_rng_seed(cg_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = cg_splitmix64(&x);
}

static inline uint64_t cg_rng_next(cg_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* Uniform integer in [0, n); n > 0. */
static inline uint64_t cg_rng_below(cg_rng *r, uint64_t n)
{
    return n ? cg_rng_next(r) % n : 0;
}

/* Uniform double in [0, 1). */
static inline double cg_rng_unit(cg_rng *r)
{
    return (double)(cg_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [lo, hi]. */
static inline int64_t cg_rng_range(cg_rng *r, int64_t lo, int64_t hi)
{
    return hi <= lo ? lo : lo + (int64_t)cg_rng_below(r, (uint64_t)(hi - lo) + 1);
}

#endif
