/*
 * hpool.c — fixed-size objects from 2 MB huge-page chunks (see hpool.h).
 *
 * The free list is intrusive: a free object's first bytes hold the pointer
 * to the next free object (every object is at least a pointer wide and
 * aligned for one). Chunks are listed for hpool_free.
 */
#include "hpool.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

struct hpool {
    size_t size;       /* object size, a multiple of align */
    size_t chunk;      /* bytes per chunk */
    size_t per_chunk;  /* objects per chunk */
    void *free_head;   /* free list */
    uint8_t *carve;    /* next object of the newest chunk */
    size_t carve_left; /* objects left there */
    size_t carved;
    void **chunks;
    size_t nchunks, capchunks;
};

hpool *hpool_new(size_t obj_size, size_t align)
{
    if (obj_size == 0 || align == 0 || align > 4096 || (align & (align - 1)) != 0)
        return NULL;
    if (align < _Alignof(void *))
        align = _Alignof(void *);
    if (obj_size < sizeof(void *))
        obj_size = sizeof(void *);
    if (obj_size > SIZE_MAX / 2 - HPOOL_CHUNK)
        return NULL;
    hpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->size = (obj_size + align - 1) / align * align;
    p->chunk = (p->size + HPOOL_CHUNK - 1) / HPOOL_CHUNK * HPOOL_CHUNK;
    p->per_chunk = p->chunk / p->size;
    return p;
}

void hpool_free(hpool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nchunks; i++)
        free(p->chunks[i]);
    free(p->chunks);
    free(p);
}

static int add_chunk(hpool *p)
{
    if (p->nchunks == p->capchunks) {
        size_t cap = p->capchunks ? 2 * p->capchunks : 8;
        void **nc = realloc(p->chunks, cap * sizeof *nc);
        if (!nc)
            return 0;
        p->chunks = nc;
        p->capchunks = cap;
    }
    uint8_t *c = aligned_alloc(HPOOL_CHUNK, p->chunk);
    if (!c)
        return 0;
#ifdef MADV_HUGEPAGE
    (void)madvise(c, p->chunk, MADV_HUGEPAGE); /* advice only: 4 KB pages work too */
#endif
    p->chunks[p->nchunks++] = c;
    p->carve = c;
    p->carve_left = p->per_chunk;
    return 1;
}

void *hpool_get(hpool *p)
{
    if (p->free_head) {
        void *o = p->free_head;
        p->free_head = *(void **)o;
        return o;
    }
    if (!p->carve_left && !add_chunk(p))
        return NULL;
    void *o = p->carve;
    p->carve += p->size;
    p->carve_left--;
    p->carved++;
    return o;
}

void hpool_put(hpool *p, void *obj)
{
    if (!obj)
        return;
    *(void **)obj = p->free_head;
    p->free_head = obj;
}

size_t hpool_carved(const hpool *p)
{
    return p->carved;
}
