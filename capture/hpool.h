/*
 * hpool.h — fixed-size objects from 2 MB chunks in transparent huge pages.
 *
 * Why: the read loop touches the state of every active call for every frame
 * (bench/capture: 1000 calls, one frame of each in turn). Objects malloc'd one
 * by one sit on 4 KB pages, one or two pages per call, and the TLB cannot
 * hold them all: a page walk per frame and object. In chunks advised
 * MADV_HUGEPAGE (2 MB, 2 MB aligned) hundreds of calls share one TLB entry
 * (docs/benchmarks.md, bench/capture).
 *
 * Model: objects of one size (rounded up to the alignment) are carved from
 * chunks; hpool_put puts an object on a free list that hpool_get takes from
 * first. Chunks are never given back before hpool_free, so a pool keeps the
 * peak number of objects ever in use, rounded up to whole chunks. With THP
 * off or refused, the chunks are ordinary memory (same behaviour, 4 KB pages).
 *
 * Threads: one thread per pool. Errors: NULL on bad arguments or ENOMEM.
 * Ownership: the pool owns every chunk; hpool_free frees every object,
 * given back or not. An object must never be passed to free().
 */
#ifndef CALLSCOPE_CAPTURE_HPOOL_H
#define CALLSCOPE_CAPTURE_HPOOL_H

#include <stddef.h>

typedef struct hpool hpool;

#define HPOOL_CHUNK ((size_t)2 << 20) /* one transparent huge page on x86-64 */

/* A pool of obj_size-byte objects (> 0) aligned to align (a power of two,
 * 1..4096). NULL on bad arguments or out of memory. */
hpool *hpool_new(size_t obj_size, size_t align);

/* Frees every chunk (every object, given back or not). NULL-safe. */
void hpool_free(hpool *p);

/* An object (uninitialised) or NULL (out of memory). */
void *hpool_get(hpool *p);

/* Gives an object of this pool back (NULL-safe). */
void hpool_put(hpool *p, void *obj);

/* Objects carved from chunks so far (the peak in use, at most). */
size_t hpool_carved(const hpool *p);

#endif
