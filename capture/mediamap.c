/*
 * mediamap.c — open-addressing hash table of media addresses (see mediamap.h).
 *
 * Layout: slots[cap] of {key, value} (32 bytes; pf 0 = empty); cap is a power of two and the
 * table grows (doubling, rehash) before it passes half full, so a probe
 * sequence is short and always ends at an empty slot. Deletion shifts later
 * members of the probe run back (Knuth 6.4 algorithm R) instead of leaving
 * tombstones, so lookups stay short however many calls come and go.
 *
 * The hash mixes the key with a random per-table seed through a 64-bit
 * multiply-xorshift finaliser (a bijection): an IPv4 key is one 64-bit word
 * (address, port, family), one round; IPv6 takes three. Good enough against
 * chosen-key flooding for a table that is also capped in size.
 */
#include "mediamap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "error.h"

/* The key as two address words (IPv4: the 4 bytes in a, b 0), the port
 * and the family. Built from the caller's bytes with loads as wide as the
 * stores that usually just wrote them (4 bytes for IPv4, 8 for IPv6), and
 * kept in registers: a lookup that read a freshly written key struct back
 * with wider loads stalled on store-to-load forwarding, and with it on
 * every store still draining (bench/capture showed a quarter of capture's
 * time on the first load of the key in mm_hash). */
typedef struct mm_key {
    uint64_t a, b;
    uint32_t pf;    /* family << 16 | port; family 4 or 6 (0: empty slot) */
} mm_key;

/* 32 bytes, so a slot never straddles a cache line: the value's fields are
 * stored in the key's padding instead of as an mm_value. */
typedef struct mm_slot {
    uint64_t a, b;
    uint32_t pf;    /* as mm_key; 0 = empty slot */
    uint8_t dir, rtcp;
    uint16_t leg;
    void *owner;
} mm_slot;
_Static_assert(sizeof(mm_slot) == 32, "mm_slot is half a cache line");

struct mediamap {
    mm_slot *slots;
    size_t cap;   /* power of two */
    size_t count;
    size_t max_entries;
    uint64_t seed;
};

#define MM_MIN_CAP 64

static uint64_t mm_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t mm_hash(const mediamap *m, const mm_key *k)
{
    if (k->pf >> 16 == 4) /* one 64-bit word holds the whole key: no collisions but the seed's */
        return mm_mix(m->seed ^ (k->a | (uint64_t)k->pf << 32));
    uint64_t h = mm_mix(m->seed ^ k->pf);
    h = mm_mix(h ^ k->a);
    return mm_mix(h ^ k->b);
}

static int mm_make_key(int family, const uint8_t *addr, uint16_t port, mm_key *k)
{
    if (family == AF_INET) {
        uint32_t v4;
        memcpy(&v4, addr, 4);
        k->a = v4;
        k->b = 0;
        k->pf = 4u << 16 | port;
    } else if (family == AF_INET6) {
        memcpy(&k->a, addr, 8);
        memcpy(&k->b, addr + 8, 8);
        k->pf = 6u << 16 | port;
    } else {
        return CS_ERR_INVAL;
    }
    return CS_OK;
}

static int mm_key_eq(const mm_slot *s, const mm_key *k)
{
    return s->a == k->a && s->b == k->b && s->pf == k->pf;
}

static mm_key mm_slot_key(const mm_slot *s)
{
    mm_key k = {s->a, s->b, s->pf};
    return k;
}

/* cap zeroed slots, cache-line aligned (cap >= MM_MIN_CAP: a whole number
 * of lines). */
static mm_slot *mm_slots_new(size_t cap)
{
    if (cap > SIZE_MAX / sizeof(mm_slot))
        return NULL;
    mm_slot *s = aligned_alloc(64, cap * sizeof(mm_slot));
    if (s)
        memset(s, 0, cap * sizeof(mm_slot));
    return s;
}

static void mm_set(mm_slot *sl, const mm_value *v)
{
    sl->owner = v->owner;
    sl->leg = v->leg;
    sl->dir = v->dir;
    sl->rtcp = v->rtcp;
}

mediamap *mediamap_new(size_t max_entries)
{
    if (max_entries == 0)
        return NULL;
    mediamap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = MM_MIN_CAP;
    m->slots = mm_slots_new(m->cap);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    m->max_entries = max_entries;
    if (getrandom(&m->seed, sizeof m->seed, GRND_NONBLOCK) != (ssize_t)sizeof m->seed)
        m->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)m;
    return m;
}

void mediamap_free(mediamap *m)
{
    if (!m)
        return;
    free(m->slots);
    free(m);
}

/* Index of the key's slot, or of the empty slot where it would go, probing from hash h. */
static inline size_t mm_find_h(const mediamap *m, const mm_key *k, uint64_t h)
{
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    while (m->slots[i].pf && !mm_key_eq(&m->slots[i], k))
        i = (i + 1) & mask;
    return i;
}

static inline size_t mm_find(const mediamap *m, const mm_key *k)
{
    return mm_find_h(m, k, mm_hash(m, k));
}

static int mm_grow(mediamap *m)
{
    size_t ncap = m->cap * 2;
    mm_slot *ns = mm_slots_new(ncap);
    if (!ns)
        return CS_ERR_NOMEM;
    mm_slot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].pf) {
            mm_key k = mm_slot_key(&old[i]);
            m->slots[mm_find(m, &k)] = old[i];
        }
    free(old);
    return CS_OK;
}

int mediamap_put(mediamap *m, int family, const uint8_t *addr, uint16_t port, const mm_value *v)
{
    mm_key k;
    int rc = mm_make_key(family, addr, port, &k);
    if (rc != CS_OK)
        return rc;
    size_t i = mm_find(m, &k);
    if (m->slots[i].pf) {
        mm_set(&m->slots[i], v);
        return CS_OK;
    }
    if (m->count >= m->max_entries)
        return CS_ERR_LIMIT;
    if ((m->count + 1) * 2 > m->cap) {
        rc = mm_grow(m);
        if (rc != CS_OK)
            return rc;
        i = mm_find(m, &k);
    }
    m->slots[i].a = k.a;
    m->slots[i].b = k.b;
    m->slots[i].pf = k.pf;
    mm_set(&m->slots[i], v);
    m->count++;
    return CS_OK;
}

static int mm_get_at(const mediamap *m, size_t i, mm_value *out)
{
    const mm_slot *sl = &m->slots[i];
    if (!sl->pf)
        return 0;
    out->owner = sl->owner;
    out->leg = sl->leg;
    out->dir = sl->dir;
    out->rtcp = sl->rtcp;
    return 1;
}

int mediamap_get(const mediamap *m, int family, const uint8_t *addr, uint16_t port, mm_value *out)
{
    mm_key k;
    if (mm_make_key(family, addr, port, &k) != CS_OK)
        return 0;
    return mm_get_at(m, mm_find(m, &k), out);
}

int mediamap_key_hash(const mediamap *m, int family, const uint8_t *addr, uint16_t port,
                      uint64_t *h)
{
    mm_key k;
    if (mm_make_key(family, addr, port, &k) != CS_OK)
        return 0;
    *h = mm_hash(m, &k);
    return 1;
}

int mediamap_get_hashed(const mediamap *m, uint64_t h, int family, const uint8_t *addr,
                        uint16_t port, mm_value *out)
{
    mm_key k;
    if (mm_make_key(family, addr, port, &k) != CS_OK)
        return 0;
    return mm_get_at(m, mm_find_h(m, &k, h), out);
}

void mediamap_prefetch_hashed(const mediamap *m, uint64_t h)
{
    __builtin_prefetch(&m->slots[(size_t)h & (m->cap - 1)]);
}

void mediamap_prefetch(const mediamap *m, int family, const uint8_t *addr, uint16_t port)
{
    uint64_t h;
    if (mediamap_key_hash(m, family, addr, port, &h))
        mediamap_prefetch_hashed(m, h);
}

int mediamap_del(mediamap *m, int family, const uint8_t *addr, uint16_t port, const void *owner)
{
    mm_key k;
    if (mm_make_key(family, addr, port, &k) != CS_OK)
        return 0;
    size_t mask = m->cap - 1;
    size_t i = mm_find(m, &k);
    if (!m->slots[i].pf || (owner && m->slots[i].owner != owner))
        return 0;
    /* Backward-shift deletion: move up every later member of the run whose
     * home slot is not in (i, j]. */
    size_t j = i;
    for (;;) {
        m->slots[i].pf = 0;
        for (;;) {
            j = (j + 1) & mask;
            if (!m->slots[j].pf) {
                m->count--;
                return 1;
            }
            mm_key kj = mm_slot_key(&m->slots[j]);
            size_t home = (size_t)mm_hash(m, &kj) & mask;
            /* j's entry may stay if home lies cyclically in (i, j]. */
            int stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        m->slots[i] = m->slots[j];
        i = j;
    }
}

size_t mediamap_count(const mediamap *m)
{
    return m->count;
}
