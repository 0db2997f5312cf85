/*
 * ipfrag.c — IPv4 and IPv6 fragment reassembly with bounded memory (ipfrag.h).
 *
 * Design: datagrams in progress live in a chained hash table keyed by (family,
 * source, destination, protocol, identification) and, at the same time, in a
 * list ordered by creation (oldest first) that drives both the timeout and the
 * eviction of the oldest datagram when a limit is hit. Each datagram keeps a
 * list of pieces sorted by offset that never overlap: a new fragment only adds
 * the byte ranges not yet held (first wins), so "covered bytes == total" is
 * exactly "no hole", and completion is an O(1) test. The header used for the
 * rebuilt datagram is the one of the fragment at offset 0 (RFC 791 section
 * 3.2; RFC 8200 section 4.5: the Unfragmentable Part of the first fragment).
 *
 * Memory: bytes_held counts the fragment bytes copied (payload pieces and the
 * saved first-fragment header) and is kept <= max_bytes by evicting the oldest
 * datagrams; a datagram holds at most IPFRAG_MAX_PIECES pieces, so bookkeeping
 * is bounded too. The rebuilt datagram goes into one buffer allocated once
 * (IPFRAG_OUT_MAX bytes) and reused; it is valid until the next call.
 *
 * Time is the packets' own (ts_us); ipfrag_add() first expires what is older
 * than the timeout at ts_us, so memory is released even when the caller never
 * calls ipfrag_expire(). Times that go backwards never expire anything early.
 * Limits of 0 in ipfrag_limits (or a NULL pointer) mean the defaults of
 * limits.h.
 *
 * Rebuilt datagram:
 *   IPv4: the first fragment's header (options included) with MF and the
 *         fragment offset cleared (DF kept), Total Length set and the header
 *         checksum recomputed; then the payload.
 *   IPv6: the first fragment's Unfragmentable Part with the Fragment header
 *         removed, the Next Header field that pointed at it set to the
 *         fragment's Next Header, Payload Length set; then the payload.
 *
 * Not here: ICMP "time exceeded" or any other reply; RFC 5722's rule that an
 * overlapping IPv6 fragment discards the datagram (we keep first-wins for both
 * families: a passive recorder wants what the endpoint most likely saw).
 *
 * SECURITY: fragments are hostile. Offsets and lengths are checked before any
 * copy (end <= the largest possible datagram), a last fragment that disagrees
 * about the end or a piece beyond it fails the datagram, allocations are sized
 * from bytes actually received (never from a declared length), and every table
 * is capped (datagrams, bytes, pieces). Pure: no globals, no logging.
 *
 * BUGS: the timeout list is in creation order; with packet times going back and
 * forth (merged captures) a datagram may live past its timeout until the ones
 * created before it have expired. Hash chains are not salted; their length is
 * bounded by max_datagrams.
 */
#include "ipfrag.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "limits.h"

/* Pieces (non-overlapping byte ranges) one datagram may hold. A 65535-byte
 * datagram cut at the smallest IPv6 MTU (1280) has 52 fragments. */
#define IPFRAG_MAX_PIECES 512
/* Largest IPv4 payload (fragment offset + length) with a 20-byte header. */
#define IPFRAG_V4_MAX_PAYLOAD (CS_IP_MAX_DATAGRAM - 20)
/* Largest IPv6 payload: the Payload Length field is 16 bits. */
#define IPFRAG_V6_MAX_PAYLOAD 65535u
/* Largest rebuilt datagram: an IPv6 header plus a full payload. */
#define IPFRAG_OUT_MAX (40 + 65535)

typedef struct ipf_piece {
    struct ipf_piece *next; /* next by offset */
    uint32_t start;
    uint32_t len;
    uint8_t data[];
} ipf_piece;

typedef struct ipf_dgram {
    struct ipf_dgram *hnext;   /* hash chain */
    struct ipf_dgram **hprev;  /* the pointer that points at this one */
    struct ipf_dgram *older;   /* age list */
    struct ipf_dgram *newer;
    uint64_t first_ts;
    int family;
    uint8_t src[16];
    uint8_t dst[16];
    uint8_t proto;
    uint32_t id;
    int have_total;
    uint32_t total;    /* payload bytes, known from the fragment without MF */
    uint32_t covered;  /* payload bytes held (pieces never overlap) */
    uint8_t *hdr;      /* the offset-0 fragment's header / Unfragmentable Part */
    uint32_t hdr_len;
    uint32_t nh_off;   /* IPv6: offset in hdr of the Next Header to patch */
    ipf_piece *pieces;
    uint32_t npieces;
    size_t bytes;      /* bytes held by this datagram (pieces + hdr) */
} ipf_dgram;

struct ipfrag {
    ipfrag_limits lim;
    ipf_dgram **buckets;
    size_t nbuckets; /* a power of two */
    ipf_dgram *oldest;
    ipf_dgram *newest;
    ipfrag_stats st;
    uint8_t *out; /* IPFRAG_OUT_MAX bytes: the last rebuilt datagram */
};

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

ipfrag *ipfrag_new(const ipfrag_limits *lim)
{
    ipfrag *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    if (lim)
        f->lim = *lim;
    if (f->lim.max_datagrams == 0)
        f->lim.max_datagrams = CS_DEF_FRAG_MAX_DATAGRAMS;
    if (f->lim.max_bytes == 0)
        f->lim.max_bytes = CS_DEF_FRAG_MAX_BYTES;
    if (f->lim.timeout_us == 0)
        f->lim.timeout_us = (uint64_t)CS_DEF_FRAG_TIMEOUT_MS * 1000u;
    size_t n = 16;
    while (n < f->lim.max_datagrams && n < ((size_t)1 << 20))
        n <<= 1;
    f->nbuckets = n;
    f->buckets = calloc(n, sizeof(*f->buckets));
    f->out = malloc(IPFRAG_OUT_MAX);
    if (!f->buckets || !f->out) {
        free(f->buckets);
        free(f->out);
        free(f);
        return NULL;
    }
    return f;
}

/* FNV-1a over the key; chains are bounded by max_datagrams whatever the ids. */
static size_t key_hash(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
                       uint32_t id)
{
    uint32_t h = 2166136261u;
    size_t alen = family == AF_INET6 ? 16 : 4;
    for (size_t i = 0; i < alen; i++)
        h = (h ^ src[i]) * 16777619u;
    for (size_t i = 0; i < alen; i++)
        h = (h ^ dst[i]) * 16777619u;
    h = (h ^ proto) * 16777619u;
    for (int i = 0; i < 4; i++)
        h = (h ^ ((id >> (8 * i)) & 0xff)) * 16777619u;
    h ^= (uint32_t)family;
    return h;
}

static void dgram_drop(ipfrag *f, ipf_dgram *d)
{
    *d->hprev = d->hnext;
    if (d->hnext)
        d->hnext->hprev = d->hprev;
    if (d->older)
        d->older->newer = d->newer;
    else
        f->oldest = d->newer;
    if (d->newer)
        d->newer->older = d->older;
    else
        f->newest = d->older;
    ipf_piece *p = d->pieces;
    while (p) {
        ipf_piece *n = p->next;
        free(p);
        p = n;
    }
    free(d->hdr);
    f->st.bytes_held -= d->bytes;
    f->st.in_progress--;
    free(d);
}

void ipfrag_free(ipfrag *f)
{
    if (!f)
        return;
    while (f->oldest)
        dgram_drop(f, f->oldest);
    free(f->buckets);
    free(f->out);
    free(f);
}

void ipfrag_expire(ipfrag *f, uint64_t now_us)
{
    if (!f)
        return;
    while (f->oldest && now_us > f->oldest->first_ts &&
           now_us - f->oldest->first_ts >= f->lim.timeout_us) {
        dgram_drop(f, f->oldest);
        f->st.timeouts++;
    }
}

void ipfrag_get_stats(const ipfrag *f, ipfrag_stats *out)
{
    if (f)
        *out = f->st;
    else
        memset(out, 0, sizeof(*out));
}

/* The header of a fragment (IPv4 header with options, or IPv6 Unfragmentable
 * Part) as pkt_decode() described it; checks that info is self-consistent.
 * *nh_off gets, for IPv6, the offset of the Next Header byte that names the
 * Fragment header. */
static int frag_header(const pkt_info *in, size_t *hdr_len, uint32_t *nh_off)
{
    if (!in->ip || !in->frag_data || in->frag_data < in->ip)
        return CS_ERR_INVAL;
    size_t before = (size_t)(in->frag_data - in->ip);
    if (before > in->ip_len || in->frag_len > in->ip_len - before)
        return CS_ERR_INVAL;
    const uint8_t *ip = in->ip;
    if (in->family == AF_INET) {
        if (in->ip_len < 20 || (ip[0] >> 4) != 4)
            return CS_ERR_INVAL;
        size_t hl = (size_t)(ip[0] & 0x0f) * 4;
        if (hl < 20 || hl != before)
            return CS_ERR_INVAL;
        *hdr_len = hl;
        *nh_off = 9;
        return CS_OK;
    }
    /* IPv6: walk the extension headers up to the Fragment header that sits
     * just before frag_data (8 bytes). */
    if (before < 48 || (ip[0] >> 4) != 6)
        return CS_ERR_INVAL;
    size_t unfrag = before - 8;
    size_t off = 40;
    uint32_t nho = 6;
    uint8_t nh = ip[6];
    while (off < unfrag) {
        if (nh != 0 && nh != 43 && nh != 60)
            return CS_ERR_INVAL;
        if (unfrag - off < 2)
            return CS_ERR_INVAL;
        size_t hl = ((size_t)ip[off + 1] + 1) * 8;
        if (hl > unfrag - off)
            return CS_ERR_INVAL;
        nho = (uint32_t)off;
        nh = ip[off];
        off += hl;
    }
    if (off != unfrag || nh != 44)
        return CS_ERR_INVAL;
    *hdr_len = unfrag;
    *nh_off = nho;
    return CS_OK;
}

static ipf_dgram *dgram_find(ipfrag *f, size_t h, const pkt_info *in)
{
    size_t alen = in->family == AF_INET6 ? 16 : 4;
    for (ipf_dgram *d = f->buckets[h & (f->nbuckets - 1)]; d; d = d->hnext)
        if (d->id == in->frag_id && d->proto == in->frag_next && d->family == in->family &&
            memcmp(d->src, in->src, alen) == 0 && memcmp(d->dst, in->dst, alen) == 0)
            return d;
    return NULL;
}

static ipf_dgram *dgram_create(ipfrag *f, size_t h, uint64_t ts_us, const pkt_info *in)
{
    ipf_dgram *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->first_ts = ts_us;
    d->family = in->family;
    memcpy(d->src, in->src, 16);
    memcpy(d->dst, in->dst, 16);
    d->proto = in->frag_next;
    d->id = in->frag_id;
    ipf_dgram **b = &f->buckets[h & (f->nbuckets - 1)];
    d->hnext = *b;
    if (*b)
        (*b)->hprev = &d->hnext;
    d->hprev = b;
    *b = d;
    d->older = f->newest;
    if (f->newest)
        f->newest->newer = d;
    else
        f->oldest = d;
    f->newest = d;
    f->st.in_progress++;
    return d;
}

/* Evicts the oldest datagrams other than keep until n more bytes fit.
 * Returns 0 when they fit, -1 when keep alone is in the way. */
static int make_room(ipfrag *f, const ipf_dgram *keep, size_t n)
{
    while (f->st.bytes_held + n > f->lim.max_bytes) {
        ipf_dgram *victim = f->oldest;
        if (victim == keep)
            victim = victim->newer;
        if (!victim)
            return -1;
        dgram_drop(f, victim);
        f->st.evicted++;
    }
    return 0;
}

/* Adds the bytes [start, start+len) of data not held yet (first wins).
 * *overlap is set when some were held already. */
static int add_ranges(ipfrag *f, ipf_dgram *d, uint32_t start, uint32_t len,
                      const uint8_t *data, int *overlap)
{
    uint32_t end = start + len;
    ipf_piece **link = &d->pieces;
    uint32_t pos = start;
    while (pos < end) {
        while (*link && (*link)->start + (*link)->len <= pos)
            link = &(*link)->next;
        ipf_piece *nx = *link;
        if (nx && nx->start <= pos) {
            *overlap = 1; /* pos is held: skip to the end of that piece */
            pos = nx->start + nx->len;
            continue;
        }
        uint32_t gap_end = nx && nx->start < end ? nx->start : end;
        if (nx && nx->start < end)
            *overlap = 1;
        uint32_t n = gap_end - pos;
        if (d->npieces >= IPFRAG_MAX_PIECES)
            return CS_ERR_LIMIT;
        if (make_room(f, d, n) != 0)
            return CS_ERR_LIMIT;
        ipf_piece *p = malloc(sizeof(*p) + n);
        if (!p)
            return CS_ERR_NOMEM;
        p->start = pos;
        p->len = n;
        memcpy(p->data, data + (pos - start), n);
        p->next = nx;
        *link = p;
        link = &p->next;
        d->npieces++;
        d->covered += n;
        d->bytes += n;
        f->st.bytes_held += n;
        pos = gap_end;
    }
    return CS_OK;
}

/* RFC 1071 internet checksum of an IPv4 header (checksum field zeroed). */
static uint16_t ip_checksum(const uint8_t *h, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += rd16(h + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Writes the whole datagram into f->out; returns its length, 0 if too large. */
static size_t rebuild(ipfrag *f, const ipf_dgram *d)
{
    size_t n = (size_t)d->hdr_len + d->total;
    uint8_t *o = f->out;
    if (d->family == AF_INET) {
        if (n > CS_IP_MAX_DATAGRAM)
            return 0;
        memcpy(o, d->hdr, d->hdr_len);
        wr16(o + 2, (uint32_t)n);
        wr16(o + 6, rd16(o + 6) & 0x4000u); /* keep DF, clear MF and offset */
        o[10] = o[11] = 0;
        wr16(o + 10, ip_checksum(o, d->hdr_len));
    } else {
        size_t plen = n - 40;
        if (plen > IPFRAG_V6_MAX_PAYLOAD)
            return 0;
        memcpy(o, d->hdr, d->hdr_len);
        wr16(o + 4, (uint32_t)plen);
        o[d->nh_off] = d->proto;
    }
    for (const ipf_piece *p = d->pieces; p; p = p->next)
        memcpy(o + d->hdr_len + p->start, p->data, p->len);
    return n;
}

static int reject(ipfrag *f, ipf_dgram *d, int err)
{
    if (d)
        dgram_drop(f, d);
    if (err == CS_ERR_MALFORMED)
        f->st.invalid++;
    else if (err == CS_ERR_LIMIT)
        f->st.evicted++;
    return err;
}

int ipfrag_add(ipfrag *f, uint64_t ts_us, const pkt_info *info, const uint8_t **dgram,
               size_t *len)
{
    if (!f || !info || !dgram || !len)
        return CS_ERR_INVAL;
    if (info->family != AF_INET && info->family != AF_INET6)
        return CS_ERR_INVAL;
    size_t hdr_len = 0;
    uint32_t nh_off = 0;
    if (frag_header(info, &hdr_len, &nh_off) != CS_OK)
        return CS_ERR_INVAL;

    ipfrag_expire(f, ts_us);

    size_t h = key_hash(info->family, info->src, info->dst, info->frag_next, info->frag_id);
    ipf_dgram *d = dgram_find(f, h, info);

    /* RFC 791 / RFC 8200: every fragment but the last carries a multiple of 8
     * bytes, and none is empty; the datagram's payload fits its length field. */
    uint64_t start = info->frag_offset;
    uint64_t end = start + info->frag_len;
    uint64_t max = info->family == AF_INET ? IPFRAG_V4_MAX_PAYLOAD : IPFRAG_V6_MAX_PAYLOAD;
    if ((info->frag_more && (info->frag_len == 0 || info->frag_len % 8 != 0)) ||
        start % 8 != 0 || end > max)
        return reject(f, d, CS_ERR_MALFORMED);
    if (d && d->have_total &&
        (info->frag_more ? end > d->total : end != d->total))
        return reject(f, d, CS_ERR_MALFORMED);
    if (d && !info->frag_more && !d->have_total) {
        /* the end is now known: nothing held may lie beyond it */
        for (const ipf_piece *p = d->pieces; p; p = p->next)
            if (p->start + p->len > end)
                return reject(f, d, CS_ERR_MALFORMED);
    }

    if (!d) {
        if (f->st.in_progress >= f->lim.max_datagrams && f->oldest) {
            dgram_drop(f, f->oldest);
            f->st.evicted++;
        }
        d = dgram_create(f, h, ts_us, info);
        if (!d)
            return CS_ERR_NOMEM;
    }
    if (!info->frag_more) {
        d->have_total = 1;
        d->total = (uint32_t)end;
    }
    if (start == 0 && !d->hdr) {
        if (make_room(f, d, hdr_len) != 0)
            return reject(f, d, CS_ERR_LIMIT);
        d->hdr = malloc(hdr_len);
        if (!d->hdr)
            return reject(f, d, CS_ERR_NOMEM);
        memcpy(d->hdr, info->ip, hdr_len);
        d->hdr_len = (uint32_t)hdr_len;
        d->nh_off = nh_off;
        d->bytes += hdr_len;
        f->st.bytes_held += hdr_len;
    }
    int overlap = 0;
    int r = add_ranges(f, d, (uint32_t)start, (uint32_t)info->frag_len, info->frag_data,
                       &overlap);
    if (r != CS_OK)
        return reject(f, d, r);
    f->st.fragments++;
    if (overlap)
        f->st.overlaps++;

    if (!d->have_total || d->covered != d->total || !d->hdr)
        return 0;
    size_t n = rebuild(f, d);
    if (n == 0)
        return reject(f, d, CS_ERR_MALFORMED);
    dgram_drop(f, d);
    f->st.reassembled++;
    *dgram = f->out;
    *len = n;
    return 1;
}
