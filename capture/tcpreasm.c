/*
 * tcpreasm.c — TCP stream reassembly and SIP message framing (SIP over TCP).
 *
 * Design. Each flow direction (family, src, dst, sport, dport) is one entry
 * of a chained hash table (per-instance random seed, so an attacker cannot
 * aim many flows at one bucket) and of an LRU list; at max_flows the least
 * recently used direction is evicted (counted); max_flows counts directions
 * (a connection carrying SIP both ways holds two). A direction holds:
 *
 *   next_seq   the sequence number of the next byte owed to the framer;
 *   buf        in-order bytes of the message being assembled (only the tail
 *              that does not yet form a complete message: complete messages
 *              are handed to the callback at once, in place when possible);
 *   ooo        segments ahead of a hole, sorted by sequence number, never
 *              overlapping (a new segment is trimmed to the bytes no queued
 *              segment holds yet: first arrival wins);
 *   the framer state: where the header-end search stopped, the length of
 *              the message once its header block is complete, and whether
 *              the stream is in step with message boundaries (SYNC) or
 *              looking for the next start line (RESYNC).
 *
 * Sequence numbers are compared in serial number arithmetic (RFC 1982 with
 * SERIAL_BITS = 32): b is after a when (int32_t)(b - a) > 0. Bytes before
 * next_seq were delivered already and are dropped (retransmissions).
 *
 * Memory: every byte held for a direction — the in-order tail plus each
 * queued segment's bytes and its bookkeeping (sizeof(tr_seg)) — counts
 * against max_flow_bytes. A segment ahead of a hole that does not fit makes
 * the direction give up on the hole: a gap is counted, the partial message
 * before the hole is dropped and the stream resynchronises at the first
 * start line after it. A hole still open after hole_us of packet time is
 * given up on the same way (on the next segment, or by tcpreasm_expire).
 * An in-order tail that would not fit is dropped (overflow counted) and the
 * direction resynchronises. Only one segment's worth of bytes can exceed the
 * limit, transiently, inside one tcpreasm_add call.
 *
 * Framing (RFC 3261 7.5 and 18.3): a message is a header block ending at the
 * first empty line, then Content-Length bytes of body (0 when absent). The
 * stream layer also checks that each message starts with something shaped
 * like a start line (a token, SP and a URI scheme, or "SIP/2.0 "); a stream
 * that does not is a framing error. CR/LF between messages are keep-alives
 * (RFC 5626 3.5.1) and skipped.
 *
 * What it does not do: no TCP state machine beyond SYN (start at ISN+1),
 * FIN (deliver what is complete, then forget the direction) and RST (forget
 * both directions); no window checks; no urgent data; no TLS.
 *
 * SECURITY: every input byte, sequence number, flag and length is hostile.
 * All length arithmetic is on size_t after checking operands against the
 * buffer; sequence arithmetic is modulo 2^32; no allocation is sized from a
 * peer-declared length (Content-Length only decides how many bytes to wait
 * for, and is capped at CS_SIP_MAX_MSG); every buffer is bounded as above;
 * the framer never reads outside (data, len). Pure: no globals, no logging.
 *
 * BUGS: a FIN that arrives ahead of a hole ends the direction at once (the
 * hole is given up) instead of waiting for a late reordered segment. Start
 * line recognition during resynchronisation is a heuristic: a body line
 * shaped like "WORD scheme:" can be taken for a request line (the SIP parser
 * then rejects the bogus message); a request whose Request-URI is not
 * "scheme:..." is a framing error.
 */
#include "tcpreasm.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "error.h"
#include "limits.h"

/* Start-line shape (heuristic bounds, not resource limits): the longest
 * method token and URI scheme accepted when looking for a message start. */
#define TR_MAX_METHOD 32
#define TR_MAX_SCHEME 16
/* Largest hash table allocated, whatever max_flows says. */
#define TR_MAX_BUCKETS (1u << 20)
/* Largest payload accepted from one segment (sanity bound on a hand-made
 * pkt_info; real segments are at most one IP datagram). */
#define TR_MAX_SEGMENT (1u << 24)

enum { TR_SYNC = 0, TR_RESYNC = 1 };

typedef struct tr_seg {
    struct tr_seg *next;
    uint32_t seq; /* sequence number of data[0] */
    uint32_t len;
    uint64_t ts_us; /* arrival time of the segment these bytes came in */
    uint8_t data[];
} tr_seg;

typedef struct tr_key {
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport, dport;
    uint8_t family;
    uint8_t zero[3];
} tr_key;

typedef struct tr_dir {
    tr_key key;
    uint64_t hash;
    struct tr_dir *hnext;         /* hash chain */
    struct tr_dir *older, *newer; /* LRU list */
    uint64_t last_us;             /* packet time of the last segment */
    uint64_t hole_since;          /* packet time the current hole opened */
    uint32_t next_seq;
    uint32_t isn;
    int have_isn;
    int mode;           /* TR_SYNC or TR_RESYNC */
    int line_start;     /* RESYNC: the next byte starts a line */
    int skip_first;     /* RESYNC: the next byte is the start of a broken message */
    int start_ok;       /* SYNC: the current message's start line was checked */
    size_t hdr_scanned; /* header-end search resumes here (message-relative) */
    size_t msg_total;   /* length of the current message once known, else 0 */
    uint64_t held_ts;   /* latest arrival time among the bytes in buf */
    uint8_t *buf;       /* in-order tail: the message being assembled */
    size_t len, cap;
    tr_seg *ooo;      /* sorted by seq, non-overlapping, all after next_seq */
    size_t ooo_bytes; /* bytes charged for ooo: data + sizeof(tr_seg) each */
    pkt_info info;    /* last segment's info, pointers cleared (for expire) */
} tr_dir;

struct tcpreasm {
    tcpreasm_limits lim;
    tcpreasm_msg_fn fn;
    void *arg;
    uint64_t seed;
    tr_dir **buckets;
    size_t nbuckets; /* power of two */
    tr_dir *oldest, *newest;
    tcpreasm_stats st;
};

/* ------------------------------------------------------------------------ */
/* The framing rule                                                         */
/* ------------------------------------------------------------------------ */

size_t sip_skip_keepalive(const uint8_t *data, size_t len)
{
    size_t i = 0;
    while (i < len && (data[i] == '\r' || data[i] == '\n'))
        i++;
    return i;
}

/*
 * RFC 3261 7: the header block ends with an empty line.
 *     generic-message  =  start-line *message-header CRLF [ message-body ]
 * Lenient as 7.5 allows: a line ends with LF, optionally preceded by CR, so
 * CRLFCRLF, LFLF, CRLF LF and LF CRLF all end the block.
 *
 * Resumable: *scanned is where the previous call stopped (0 at first); no
 * terminator ends before it. On CS_OK *hdr_len is the block's length
 * including the empty line. CS_ERR_TRUNCATED: need more bytes;
 * CS_ERR_LIMIT: no end within CS_SIP_MAX_MSG bytes.
 */
static int tr_hdr_end(const uint8_t *p, size_t len, size_t *scanned, size_t *hdr_len)
{
    size_t lim = len < CS_SIP_MAX_MSG ? len : CS_SIP_MAX_MSG;
    size_t i = *scanned;

    while (i < lim) {
        const uint8_t *lf = memchr(p + i, '\n', lim - i);
        if (!lf) {
            i = lim;
            break;
        }
        i = (size_t)(lf - p);
        if (i + 1 >= len) /* the byte after the LF is not there yet */
            break;
        if (p[i + 1] == '\n') {
            *hdr_len = i + 2;
            return *hdr_len <= CS_SIP_MAX_MSG ? CS_OK : CS_ERR_LIMIT;
        }
        if (p[i + 1] == '\r') {
            if (i + 2 >= len)
                break;
            if (p[i + 2] == '\n') {
                *hdr_len = i + 3;
                return *hdr_len <= CS_SIP_MAX_MSG ? CS_OK : CS_ERR_LIMIT;
            }
        }
        i++;
    }
    *scanned = i;
    return len >= CS_SIP_MAX_MSG ? CS_ERR_LIMIT : CS_ERR_TRUNCATED;
}

static int tr_is_wsp(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* RFC 3261 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*"
 *                           / "_" / "+" / "`" / "'" / "~" ) */
static int tr_is_token(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("-.!%*_+`'~", c) != NULL;
}

/* Skips an end of line at p[*i] (CRLF or LF) if one is there; returns 1 and
 * advances, else 0. Never reads at or past end. */
static int tr_eol(const uint8_t *p, size_t end, size_t *i)
{
    if (*i < end && p[*i] == '\n') {
        (*i)++;
        return 1;
    }
    if (*i + 1 < end && p[*i] == '\r' && p[*i + 1] == '\n') {
        *i += 2;
        return 1;
    }
    return 0;
}

/* Skips linear whitespace, folds included:
 *     LWS  =  [*WSP CRLF] 1*WSP
 * (any run of WSP, and any line end directly followed by WSP). */
static size_t tr_skip_lws(const uint8_t *p, size_t end, size_t i)
{
    for (;;) {
        while (i < end && tr_is_wsp(p[i]))
            i++;
        size_t j = i;
        if (tr_eol(p, end, &j) && j < end && tr_is_wsp(p[j]))
            i = j;
        else
            return i;
    }
}

/*
 * RFC 3261 20.14 and 25.1:
 *     Content-Length  =  ( "Content-Length" / "l" ) HCOLON 1*DIGIT
 *     HCOLON          =  *( SP / HTAB ) ":" SWS
 *     SWS             =  [LWS]
 * Header names are case-insensitive (7.3.1); a line starting with SP/HTAB
 * continues the previous header. Leading zeros are fine; trailing LWS is
 * allowed; anything else after the digits is CS_ERR_MALFORMED. Two
 * Content-Length headers with different values: CS_ERR_MALFORMED (checked
 * first, in header order); a value above CS_SIP_MAX_MSG: CS_ERR_LIMIT.
 * p[0, hlen) is a complete header block (from tr_hdr_end).
 */
static int tr_content_length(const uint8_t *p, size_t hlen, size_t *cl, int *has)
{
    static const char long_name[] = "content-length";
    size_t i = 0, found = 0;
    int seen = 0;

    /* Skip the start line. */
    const uint8_t *lf = memchr(p, '\n', hlen);
    if (!lf)
        return CS_ERR_MALFORMED;
    i = (size_t)(lf - p) + 1;

    while (i < hlen) {
        size_t ls = i;
        const uint8_t *nl = memchr(p + i, '\n', hlen - i);
        size_t next = nl ? (size_t)(nl - p) + 1 : hlen;

        if (tr_is_wsp(p[ls])) { /* continuation of the previous header */
            i = next;
            continue;
        }
        size_t n = ls;
        while (n < hlen && tr_is_token(p[n]))
            n++;
        size_t name_len = n - ls;
        int is_cl = (name_len == 1 && (p[ls] == 'l' || p[ls] == 'L'));
        if (name_len == sizeof long_name - 1) {
            is_cl = 1;
            for (size_t k = 0; k < name_len; k++)
                if ((p[ls + k] | 0x20) != (uint8_t)long_name[k]) {
                    is_cl = 0;
                    break;
                }
        }
        if (!is_cl) {
            i = next;
            continue;
        }
        while (n < hlen && tr_is_wsp(p[n]))
            n++;
        if (n >= hlen || p[n] != ':') { /* "l..." that is not a header name */
            i = next;
            continue;
        }
        n = tr_skip_lws(p, hlen, n + 1);
        size_t v = 0, digits = 0;
        while (n < hlen && p[n] >= '0' && p[n] <= '9') {
            if (v <= CS_SIP_MAX_MSG)
                v = v * 10 + (size_t)(p[n] - '0');
            digits++;
            n++;
        }
        if (digits == 0)
            return CS_ERR_MALFORMED;
        if (v > CS_SIP_MAX_MSG)
            v = (size_t)CS_SIP_MAX_MSG + 1; /* saturated: all too-big values compare equal */
        n = tr_skip_lws(p, hlen, n);
        if (!tr_eol(p, hlen, &n))
            return CS_ERR_MALFORMED;
        if (seen && v != found)
            return CS_ERR_MALFORMED;
        seen = 1;
        found = v;
        i = n;
    }
    if (seen && found > CS_SIP_MAX_MSG)
        return CS_ERR_LIMIT;
    *cl = seen ? found : 0;
    *has = seen;
    return CS_OK;
}

int sip_frame_header(const uint8_t *data, size_t len, size_t *hdr_len, size_t *body_len,
                     int *has_length)
{
    size_t scanned = 0, h = 0, cl = 0;
    int has = 0, r;

    if ((!data && len) || !hdr_len || !body_len || !has_length)
        return CS_ERR_INVAL;
    if (len == 0)
        return CS_ERR_TRUNCATED;
    if (data[0] == '\r' || data[0] == '\n')
        return CS_ERR_MALFORMED; /* keep-alive or empty start line: not a message */
    r = tr_hdr_end(data, len, &scanned, &h);
    if (r != CS_OK)
        return r;
    r = tr_content_length(data, h, &cl, &has);
    if (r != CS_OK)
        return r;
    if (cl > CS_SIP_MAX_MSG - h)
        return CS_ERR_LIMIT;
    *hdr_len = h;
    *body_len = cl;
    *has_length = has;
    return CS_OK;
}

int sip_frame(const uint8_t *data, size_t len, size_t *msg_len)
{
    size_t h, b;
    int has;

    if (!msg_len)
        return CS_ERR_INVAL;
    int r = sip_frame_header(data, len, &h, &b, &has);
    if (r != CS_OK)
        return r;
    if (len - h < b)
        return CS_ERR_TRUNCATED;
    *msg_len = h + b;
    return CS_OK;
}

/* Does p[0, n) begin with a URI scheme and ":" (RFC 3986 3.1, at most
 * TR_MAX_SCHEME bytes)? 1 yes, 0 no, -1 undecided. */
static int tr_scheme_match(const uint8_t *p, size_t n)
{
    size_t e;
    for (e = 0; e < n && e <= TR_MAX_SCHEME; e++) {
        uint8_t c = p[e];
        int alpha = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
        if (e == 0 ? !alpha
                   : !(alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
            break;
    }
    if (e >= n)
        return -1;
    return (e > 0 && e <= TR_MAX_SCHEME && p[e] == ':') ? 1 : 0;
}

/* Does p[0, n) begin like a SIP start line (RFC 3261 7.1, 7.2)?
 *     Request-Line  =  Method SP Request-URI SP SIP-Version CRLF
 *     Status-Line   =  SIP-Version SP Status-Code SP Reason-Phrase CRLF
 *     absoluteURI   =  scheme ":" ( hier-part / opaque-part )
 *     scheme        =  ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
 * Checked: "SIP/2.0 " (case-insensitive), or Method (a token of at most
 * TR_MAX_METHOD bytes), one SP, a scheme of at most TR_MAX_SCHEME bytes and
 * ":". Returns 1 match, 0 no match, -1 undecided (need more bytes). */
static int tr_start_match(const uint8_t *p, size_t n)
{
    static const char ver[] = "sip/2.0 ";
    int status = 1; /* 1 match, 0 no, -1 undecided */
    size_t k;

    for (k = 0; k < sizeof ver - 1; k++) {
        if (k >= n) {
            status = -1;
            break;
        }
        if ((p[k] | (k < 3 ? 0x20 : 0)) != (uint8_t)ver[k]) {
            status = 0;
            break;
        }
    }
    if (status == 1)
        return 1;

    int req = -1;
    for (k = 0; k < n && k <= TR_MAX_METHOD && tr_is_token(p[k]); k++)
        ;
    if (k < n) {
        if (k == 0 || k > TR_MAX_METHOD || p[k] != ' ')
            req = 0;
        else
            req = tr_scheme_match(p + k + 1, n - k - 1);
    } else if (k > TR_MAX_METHOD) {
        req = 0;
    }
    if (req == 1)
        return 1;
    if (req == 0 && status == 0)
        return 0;
    return -1;
}

/* Compares p[0, n) with the literal lit: 1 equal, 0 differs, -1 p is an
 * equal but shorter prefix. */
static int tr_lit(const uint8_t *p, size_t n, const char *lit)
{
    size_t k;
    for (k = 0; lit[k]; k++) {
        if (k >= n)
            return -1;
        if (p[k] != (uint8_t)lit[k])
            return 0;
    }
    return 1;
}

/* A start line glued to the end of a body that did not end in a line break:
 * stricter than tr_start_match since any byte may be its first. Status:
 * "SIP/2.0 " 3DIGIT SP; request: a method of RFC 3261 and its extensions
 * (3262, 3265, 3311, 3428, 3515, 3903, 6086), SP, scheme ":".
 * 1 match, 0 no, -1 undecided. */
static int tr_glued_match(const uint8_t *p, size_t n)
{
    static const char *const methods[] = {
        "INVITE ",    "ACK ",    "BYE ",     "CANCEL ", "OPTIONS ", "REGISTER ", "PRACK ",
        "SUBSCRIBE ", "NOTIFY ", "PUBLISH ", "INFO ",   "REFER ",   "MESSAGE ",  "UPDATE ",
    };
    if (n == 0)
        return -1;
    if (p[0] == 'S') {
        int m = tr_lit(p, n, "SIP/2.0 ");
        if (m == 1) {
            for (size_t k = 8; k < 12; k++) {
                if (k >= n)
                    return -1;
                if (k < 11 ? !(p[k] >= '0' && p[k] <= '9') : p[k] != ' ')
                    return 0;
            }
            return 1;
        }
        if (m < 0)
            return -1;
    }
    int undecided = 0;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        if (p[0] != (uint8_t)methods[i][0])
            continue;
        int m = tr_lit(p, n, methods[i]);
        if (m == 1) {
            size_t ml = strlen(methods[i]);
            m = tr_scheme_match(p + ml, n - ml);
        }
        if (m == 1)
            return 1;
        if (m < 0)
            undecided = 1;
    }
    return undecided ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Flows                                                                    */
/* ------------------------------------------------------------------------ */

static uint64_t tr_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t tr_hash(const tcpreasm *t, const tr_key *k)
{
    uint64_t h = t->seed;
    const uint8_t *b = (const uint8_t *)k;
    for (size_t i = 0; i < sizeof *k; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = tr_mix(h ^ w);
    }
    return h;
}

static void tr_make_key(tr_key *k, const pkt_info *in, int reverse)
{
    size_t alen = in->family == AF_INET ? 4 : 16;
    memset(k, 0, sizeof *k);
    memcpy(k->src, reverse ? in->dst : in->src, alen);
    memcpy(k->dst, reverse ? in->src : in->dst, alen);
    k->sport = reverse ? in->dport : in->sport;
    k->dport = reverse ? in->sport : in->dport;
    k->family = (uint8_t)in->family;
}

static void tr_lru_unlink(tcpreasm *t, tr_dir *d)
{
    if (d->older)
        d->older->newer = d->newer;
    else
        t->oldest = d->newer;
    if (d->newer)
        d->newer->older = d->older;
    else
        t->newest = d->older;
    d->older = d->newer = NULL;
}

static void tr_lru_push(tcpreasm *t, tr_dir *d)
{
    d->older = t->newest;
    d->newer = NULL;
    if (t->newest)
        t->newest->newer = d;
    else
        t->oldest = d;
    t->newest = d;
}

static tr_dir *tr_find(const tcpreasm *t, const tr_key *k, uint64_t h)
{
    for (tr_dir *d = t->buckets[h & (t->nbuckets - 1)]; d; d = d->hnext)
        if (d->hash == h && memcmp(&d->key, k, sizeof *k) == 0)
            return d;
    return NULL;
}

static void tr_drop_ooo(tr_dir *d)
{
    while (d->ooo) {
        tr_seg *s = d->ooo;
        d->ooo = s->next;
        free(s);
    }
    d->ooo_bytes = 0;
}

/* The framer is at a message boundary again. */
static void tr_reset_msg(tr_dir *d)
{
    d->start_ok = 0;
    d->hdr_scanned = 0;
    d->msg_total = 0;
}

/* Forgets the message being assembled: framer state and bytes. Frees the
 * buffer (a direction between messages holds none), so never call it while
 * d->buf is being framed. */
static void tr_drop_partial(tr_dir *d)
{
    tr_reset_msg(d);
    d->len = 0;
    d->held_ts = 0;
    free(d->buf);
    d->buf = NULL;
    d->cap = 0;
}

/* Looks for the next start line; line_start says whether the next byte
 * begins a line (after a gap) or is the start of a broken message (after a
 * framing error: that start must not be found again). */
static void tr_resync_state(tr_dir *d, int line_start)
{
    tr_reset_msg(d);
    d->mode = TR_RESYNC;
    d->line_start = line_start;
    d->skip_first = !line_start;
}

static void tr_resync(tr_dir *d, int line_start)
{
    tr_drop_partial(d);
    tr_resync_state(d, line_start);
}

static void tr_free_dir(tcpreasm *t, tr_dir *d)
{
    tr_dir **pp = &t->buckets[d->hash & (t->nbuckets - 1)];
    while (*pp != d)
        pp = &(*pp)->hnext;
    *pp = d->hnext;
    tr_lru_unlink(t, d);
    tr_drop_ooo(d);
    free(d->buf);
    free(d);
    t->st.flows--;
}

static tr_dir *tr_new_dir(tcpreasm *t, const tr_key *k, uint64_t h)
{
    if (t->st.flows >= t->lim.max_flows && t->oldest) {
        tr_free_dir(t, t->oldest);
        t->st.evicted++;
    }
    tr_dir *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->key = *k;
    d->hash = h;
    size_t b = h & (t->nbuckets - 1);
    d->hnext = t->buckets[b];
    t->buckets[b] = d;
    tr_lru_push(t, d);
    t->st.flows++;
    return d;
}

/* ------------------------------------------------------------------------ */
/* Framing a direction's in-order bytes                                     */
/* ------------------------------------------------------------------------ */

/* RESYNC: finds the next message start in p[0, n): a line that looks like
 * a start line (tr_start_match), or a start line glued to the previous
 * body (tr_glued_match). Returns the bytes to discard; switches to SYNC
 * when one was found (it is then at p[returned]). An undecided candidate is
 * kept (the bytes before it are discarded): it is at most TR_MAX_METHOD +
 * TR_MAX_SCHEME + 2 bytes long. After a framing error the first byte is
 * never a candidate (the broken message's own start). */
static size_t tr_seek_start(tr_dir *d, const uint8_t *p, size_t n)
{
    size_t i = 0;

    if (d->skip_first && n > 0) {
        d->skip_first = 0;
        d->line_start = p[0] == '\n';
        i = 1;
    }
    for (; i < n; i++) {
        int at_line = i == 0 ? d->line_start : p[i - 1] == '\n';
        int m = at_line ? tr_start_match(p + i, n - i) : tr_glued_match(p + i, n - i);
        if (at_line && m == 0)
            m = tr_glued_match(p + i, n - i);
        if (m == 1) {
            d->mode = TR_SYNC;
            d->start_ok = 1;
            return i;
        }
        if (m < 0) {
            d->line_start = at_line;
            return i;
        }
    }
    if (n > 0)
        d->line_start = p[n - 1] == '\n';
    return n;
}

/*
 * Cuts messages from p[0, n), the direction's unconsumed in-order bytes,
 * handing each complete one to the callback with time ts. Returns the bytes
 * consumed (messages, keep-alives, bytes skipped while resynchronising); the
 * rest is the start of an incomplete message. *err gets the framing error
 * seen, if any (the direction has then resynchronised past it).
 */
static size_t tr_frame(tcpreasm *t, tr_dir *d, const uint8_t *p, size_t n, uint64_t ts,
                       const pkt_info *info, int *err)
{
    size_t pos = 0;

    while (pos < n) {
        const uint8_t *q = p + pos;
        size_t rem = n - pos;

        if (d->mode == TR_RESYNC) {
            size_t skip = tr_seek_start(d, q, rem);
            pos += skip;
            if (d->mode == TR_RESYNC)
                break;
            continue;
        }
        if (!d->start_ok) {
            size_t k = sip_skip_keepalive(q, rem);
            if (k) {
                pos += k;
                continue;
            }
            int m = tr_start_match(q, rem);
            if (m < 0)
                break;
            if (m == 0) {
                t->st.framing_errors++;
                *err = CS_ERR_MALFORMED;
                tr_resync_state(d, 0);
                continue;
            }
            d->start_ok = 1;
        }
        if (d->msg_total == 0) {
            size_t h = 0, cl = 0;
            int has = 0;
            int r = tr_hdr_end(q, rem, &d->hdr_scanned, &h);
            if (r == CS_ERR_TRUNCATED)
                break;
            if (r == CS_OK)
                r = tr_content_length(q, h, &cl, &has);
            if (r == CS_OK && cl > CS_SIP_MAX_MSG - h)
                r = CS_ERR_LIMIT;
            if (r != CS_OK) {
                t->st.framing_errors++;
                *err = r;
                tr_resync_state(d, 0);
                continue;
            }
            d->msg_total = h + cl;
        }
        if (rem < d->msg_total)
            break;
        size_t mlen = d->msg_total;
        uint64_t mts = d->held_ts > ts ? d->held_ts : ts; /* when its last byte came */
        tr_reset_msg(d);
        d->held_ts = 0; /* bytes held before this call all belonged to this message */
        t->st.messages++;
        t->fn(t->arg, mts, info, q, mlen);
        pos += mlen;
    }
    return pos;
}

static int tr_reserve(tr_dir *d, size_t need)
{
    if (need <= d->cap)
        return CS_OK;
    size_t cap = d->cap ? d->cap : 2048;
    while (cap < need)
        cap *= 2;
    uint8_t *nb = realloc(d->buf, cap);
    if (!nb)
        return CS_ERR_NOMEM;
    d->buf = nb;
    d->cap = cap;
    return CS_OK;
}

/* Feeds n in-order bytes (they start at next_seq) through the framer and
 * keeps what is left of an incomplete message, within max_flow_bytes. */
static int tr_feed(tcpreasm *t, tr_dir *d, const uint8_t *p, size_t n, uint64_t ts,
                   const pkt_info *info)
{
    int err = CS_OK;
    size_t left;

    d->next_seq += (uint32_t)n;
    if (d->len == 0) {
        size_t used = tr_frame(t, d, p, n, ts, info, &err);
        p += used;
        left = n - used;
    } else {
        if (tr_reserve(d, d->len + n) != CS_OK) {
            tr_resync(d, 0);
            t->st.overflow++;
            return CS_ERR_NOMEM;
        }
        memcpy(d->buf + d->len, p, n);
        d->len += n;
        size_t used = tr_frame(t, d, d->buf, d->len, ts, info, &err);
        if (used)
            memmove(d->buf, d->buf + used, d->len - used);
        d->len -= used;
        p = d->buf;
        left = d->len;
    }
    if (left == 0) { /* at a message boundary (or resynchronising): no buffer */
        tr_drop_partial(d);
        return err;
    }
    if (ts > d->held_ts)
        d->held_ts = ts;
    if (left + d->ooo_bytes > t->lim.max_flow_bytes) {
        t->st.overflow++;
        tr_resync(d, 0);
        return CS_ERR_LIMIT;
    }
    if (p != d->buf) {
        if (tr_reserve(d, left) != CS_OK) {
            t->st.overflow++;
            tr_resync(d, 0);
            return CS_ERR_NOMEM;
        }
        memcpy(d->buf, p, left);
        d->len = left;
    }
    return err;
}

/* Hands over queued segments that have become in order. */
static int tr_drain(tcpreasm *t, tr_dir *d, const pkt_info *info)
{
    int err = CS_OK;

    while (d->ooo) {
        tr_seg *s = d->ooo;
        int32_t off = (int32_t)(s->seq - d->next_seq);
        if (off > 0)
            break;
        d->ooo = s->next;
        d->ooo_bytes -= s->len + sizeof *s;
        uint32_t skip = (uint32_t)-off;
        if (skip < s->len) {
            int r = tr_feed(t, d, s->data + skip, s->len - skip, s->ts_us, info);
            if (r != CS_OK)
                err = r;
        }
        free(s);
    }
    return err;
}

/* Gives up on the hole before to_seq: the partial message before it is lost,
 * the stream resumes at to_seq at the next start line. */
static int tr_skip_hole(tcpreasm *t, tr_dir *d, uint32_t to_seq, uint64_t ts, const pkt_info *info)
{
    t->st.gaps++;
    tr_resync(d, 1);
    d->next_seq = to_seq;
    d->hole_since = ts;
    return tr_drain(t, d, info);
}

/* Queues the bytes of [seq, seq+n) no queued segment holds yet. The caller
 * checked that they fit within max_flow_bytes. */
static int tr_queue(tr_dir *d, uint32_t seq, const uint8_t *p, uint32_t n, uint64_t ts)
{
    tr_seg **pp = &d->ooo;
    uint32_t base = d->next_seq;
    uint32_t cur = seq - base, end = cur + n; /* offsets from next_seq, no wrap */

    while (cur < end) {
        tr_seg *s = *pp;
        uint32_t s_start = s ? s->seq - base : end;
        uint32_t s_end = s ? s_start + s->len : end;
        if (s && s_end <= cur) {
            pp = &s->next;
            continue;
        }
        if (cur < s_start) {
            uint32_t piece = (s_start < end ? s_start : end) - cur;
            tr_seg *ns = malloc(sizeof *ns + piece);
            if (!ns)
                return CS_ERR_NOMEM;
            ns->seq = base + cur;
            ns->len = piece;
            ns->ts_us = ts;
            memcpy(ns->data, p + (cur - (seq - base)), piece);
            ns->next = s;
            *pp = ns;
            pp = &ns->next;
            d->ooo_bytes += piece + sizeof *ns;
            cur += piece;
        }
        if (s && cur < s_end)
            cur = s_end;
        if (s)
            pp = &s->next;
    }
    return CS_OK;
}

/* Bytes [seq, seq+n) that would be newly queued, plus bookkeeping, as an
 * upper bound (each queued piece costs one tr_seg). */
static size_t tr_queue_cost(const tr_dir *d, uint32_t seq, uint32_t n, int *all_seen)
{
    uint32_t base = d->next_seq;
    uint32_t cur = seq - base, end = cur + n;
    size_t bytes = 0, pieces = 0;

    for (const tr_seg *s = d->ooo; s && cur < end; s = s->next) {
        uint32_t s_start = s->seq - base, s_end = s_start + s->len;
        if (s_end <= cur)
            continue;
        if (cur < s_start) {
            uint32_t stop = s_start < end ? s_start : end;
            bytes += stop - cur;
            pieces++;
        }
        if (cur < s_end)
            cur = s_end;
    }
    if (cur < end) {
        bytes += end - cur;
        pieces++;
    }
    *all_seen = pieces == 0;
    return bytes + pieces * sizeof(tr_seg);
}

/* Places one segment's payload: in order (framed at once), behind
 * (retransmission, trimmed) or ahead of a hole (queued, within the limit). */
static int tr_place(tcpreasm *t, tr_dir *d, uint32_t seq, const uint8_t *p, size_t n, uint64_t ts,
                    const pkt_info *info)
{
    int err = CS_OK;

    for (;;) {
        int32_t off = (int32_t)(seq - d->next_seq);
        if (off <= 0) {
            uint32_t skip = (uint32_t)-off;
            if (skip >= n) {
                t->st.retransmitted++;
                return err;
            }
            int r = tr_feed(t, d, p + skip, n - skip, ts, info);
            int r2 = tr_drain(t, d, info);
            if (r == CS_OK)
                r = r2;
            if (d->ooo) /* the hole shrank: its timer restarts */
                d->hole_since = ts;
            return r != CS_OK ? r : err;
        }
        int all_seen = 0;
        size_t cost = tr_queue_cost(d, seq, (uint32_t)n, &all_seen);
        if (all_seen) {
            t->st.retransmitted++;
            return err;
        }
        if (d->len + d->ooo_bytes + cost <= t->lim.max_flow_bytes) {
            if (!d->ooo)
                d->hole_since = ts;
            int r = tr_queue(d, seq, p, (uint32_t)n, ts);
            if (r != CS_OK) {
                t->st.overflow++;
                return r;
            }
            t->st.out_of_order++;
            return err;
        }
        /* Does not fit: give up on the first hole and try again. */
        uint32_t to = seq;
        if (d->ooo && (int32_t)(d->ooo->seq - seq) < 0)
            to = d->ooo->seq;
        int r = tr_skip_hole(t, d, to, ts, info);
        if (r != CS_OK)
            err = r;
    }
}

/* ------------------------------------------------------------------------ */
/* Public API                                                               */
/* ------------------------------------------------------------------------ */

tcpreasm *tcpreasm_new(const tcpreasm_limits *lim, tcpreasm_msg_fn fn, void *arg)
{
    if (!fn)
        return NULL;
    tcpreasm *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (lim)
        t->lim = *lim;
    if (t->lim.max_flows == 0)
        t->lim.max_flows = CS_DEF_TCP_MAX_FLOWS;
    if (t->lim.max_flow_bytes == 0)
        t->lim.max_flow_bytes = CS_DEF_TCP_MAX_FLOW_BYTES;
    if (t->lim.idle_us == 0)
        t->lim.idle_us = (uint64_t)CS_DEF_TCP_IDLE_MS * 1000;
    if (t->lim.hole_us == 0)
        t->lim.hole_us = t->lim.idle_us;
    t->fn = fn;
    t->arg = arg;
    t->nbuckets = 16;
    while (t->nbuckets < t->lim.max_flows && t->nbuckets < TR_MAX_BUCKETS)
        t->nbuckets *= 2;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != (ssize_t)sizeof t->seed)
        t->seed = tr_mix((uint64_t)(uintptr_t)t ^ (uint64_t)time(NULL));
    return t;
}

void tcpreasm_free(tcpreasm *t)
{
    if (!t)
        return;
    while (t->oldest)
        tr_free_dir(t, t->oldest);
    free(t->buckets);
    free(t);
}

int tcpreasm_add(tcpreasm *t, uint64_t ts_us, const pkt_info *info)
{
    if (!t || !info || info->proto != PKT_PROTO_TCP ||
        (info->family != AF_INET && info->family != AF_INET6) ||
        (info->payload_len && !info->payload) || info->payload_len > TR_MAX_SEGMENT)
        return CS_ERR_INVAL;

    const uint8_t fl = info->tcp_flags;
    const int syn = fl & 0x02, fin = fl & 0x01, rst = fl & 0x04;
    tr_key k;
    tr_make_key(&k, info, 0);
    uint64_t h = tr_hash(t, &k);
    tr_dir *d = tr_find(t, &k, h);

    if (info->payload_len)
        t->st.segments++;

    if (rst) {
        /* The connection is gone: both directions, whatever is queued. */
        if (d)
            tr_free_dir(t, d);
        tr_key rk;
        tr_make_key(&rk, info, 1);
        tr_dir *r = tr_find(t, &rk, tr_hash(t, &rk));
        if (r)
            tr_free_dir(t, r);
        return CS_OK;
    }
    if (!d && !syn && info->payload_len == 0)
        return CS_OK; /* a bare ACK or FIN of a direction we do not follow */

    if (d && syn && !(d->have_isn && d->isn == info->tcp_seq)) {
        tr_free_dir(t, d); /* a new connection on the same ports */
        d = NULL;
    }
    if (!d) {
        d = tr_new_dir(t, &k, h);
        if (!d)
            return CS_ERR_NOMEM;
        if (syn) {
            d->have_isn = 1;
            d->isn = info->tcp_seq;
            d->next_seq = info->tcp_seq + 1;
            d->mode = TR_SYNC;
        } else {
            /* Joined mid-stream: the first byte may be inside a message. */
            d->next_seq = info->tcp_seq;
            d->mode = TR_RESYNC;
            d->line_start = 1;
        }
    } else {
        tr_lru_unlink(t, d);
        tr_lru_push(t, d);
    }
    d->last_us = ts_us;
    d->info = *info;
    d->info.ip = NULL;
    d->info.payload = NULL;
    d->info.frag_data = NULL;
    d->info.ip_len = d->info.payload_len = d->info.frag_len = 0;

    int err = CS_OK, r;
    if (d->ooo && ts_us > d->hole_since && ts_us - d->hole_since > t->lim.hole_us) {
        r = tr_skip_hole(t, d, d->ooo->seq, ts_us, info);
        if (r != CS_OK)
            err = r;
    }
    if (info->payload_len) {
        uint32_t seq = info->tcp_seq + (syn ? 1u : 0u);
        r = tr_place(t, d, seq, info->payload, info->payload_len, ts_us, info);
        if (r != CS_OK)
            err = r;
    }
    if (fin) {
        while (d->ooo) { /* FIN ahead of a hole: the hole will not be filled now */
            r = tr_skip_hole(t, d, d->ooo->seq, ts_us, info);
            if (r != CS_OK)
                err = r;
        }
        tr_free_dir(t, d);
    }
    return err;
}

void tcpreasm_expire(tcpreasm *t, uint64_t now_us)
{
    if (!t)
        return;
    tr_dir *d = t->oldest;
    while (d) {
        tr_dir *next = d->newer;
        int idle = now_us > d->last_us && now_us - d->last_us > t->lim.idle_us;
        int hole = d->ooo && now_us > d->hole_since && now_us - d->hole_since > t->lim.hole_us;
        if (hole || (idle && d->ooo)) {
            pkt_info info = d->info; /* the direction's last segment, pointers NULL */
            while (d->ooo)
                (void)tr_skip_hole(t, d, d->ooo->seq, now_us, &info);
        }
        if (idle)
            tr_free_dir(t, d);
        d = next;
    }
}

void tcpreasm_get_stats(const tcpreasm *t, tcpreasm_stats *out)
{
    if (!out)
        return;
    if (!t) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = t->st;
}
