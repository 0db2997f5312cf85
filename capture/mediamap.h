/*
 * mediamap.h — the media address table: (family, address, port) -> the call,
 * leg and direction whose SDP announced that address.
 *
 * Every RTP/RTCP datagram is looked up here (by destination, then by source
 * for symmetric RTP), so a lookup is one hash and a short probe: open
 * addressing with linear probing and backward-shift deletion (no tombstones),
 * power-of-two capacity kept at most half full. The hash is keyed with a
 * per-table random seed, so a flood of chosen addresses cannot make every
 * key collide. Lookups never allocate; only inserts (SIP/SDP path) may grow
 * the table.
 *
 * Ownership of entries: an address belongs to the call that announced it
 * last (a PBX reuses media ports across calls): mediamap_put replaces the
 * value, and mediamap_del removes a key only if it still belongs to the
 * owner given, so a finished call can delete all its keys without removing
 * a newer call's. The table stores the owner pointer and never dereferences
 * it.
 *
 * Limits: at most max_entries keys (CS_ERR_LIMIT past it, counted by the
 * caller). No globals, no logging; one thread at a time.
 */
#ifndef CALLSCOPE_CAPTURE_MEDIAMAP_H
#define CALLSCOPE_CAPTURE_MEDIAMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct mediamap mediamap;

/* What an address leads to. Copied in and out. */
typedef struct mm_value {
    void *owner;     /* the call (opaque here) */
    uint16_t leg;    /* leg index in that call */
    uint8_t dir;     /* call_dir of RTP sent TO this address */
    uint8_t rtcp;    /* 1: the RTCP port (a=rtcp or port+1); 0: the RTP port */
} mm_value;

/* max_entries: ceiling on keys (>= 1). NULL on ENOMEM or max_entries 0. */
mediamap *mediamap_new(size_t max_entries);
void mediamap_free(mediamap *m);

/* Inserts or replaces. family: AF_INET (addr: 4 bytes) or AF_INET6 (16).
 * CS_OK; CS_ERR_LIMIT (table full); CS_ERR_NOMEM (growing failed: the table
 * is unchanged); CS_ERR_INVAL (bad family). */
int mediamap_put(mediamap *m, int family, const uint8_t *addr, uint16_t port, const mm_value *v);

/* 1 and *out if present, else 0. Never allocates. */
int mediamap_get(const mediamap *m, int family, const uint8_t *addr, uint16_t port, mm_value *out);

/* Asks the CPU to load the slot where the key's lookup starts (a hint for
 * a lookup soon to come; reads nothing but the table's own fields). */
void mediamap_prefetch(const mediamap *m, int family, const uint8_t *addr, uint16_t port);

/*
 * The same lookups with the key's hash computed once (a look-ahead that
 * prefetches a key's slot and looks it up a frame later). mediamap_key_hash:
 * 1 and *h for a valid family, else 0. mediamap_get_hashed with h from
 * mediamap_key_hash of the same key on the same table is mediamap_get; any
 * other h can only miss a present key, never return another key's value.
 */
int mediamap_key_hash(const mediamap *m, int family, const uint8_t *addr, uint16_t port,
                      uint64_t *h);
int mediamap_get_hashed(const mediamap *m, uint64_t h, int family, const uint8_t *addr,
                        uint16_t port, mm_value *out);
void mediamap_prefetch_hashed(const mediamap *m, uint64_t h);

/* Removes the key if its value's owner is `owner` (NULL: any owner).
 * Returns 1 if removed, 0 if absent or owned by someone else. */
int mediamap_del(mediamap *m, int family, const uint8_t *addr, uint16_t port, const void *owner);

/* Keys held now. */
size_t mediamap_count(const mediamap *m);

#endif
