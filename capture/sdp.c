/*
 * sdp.c — SDP parser (RFC 8866, formerly RFC 4566) for the media of a call.
 *
 * Why it is built this way: capture needs, from each offer and answer, the
 * addresses and ports RTP and RTCP will use, the payload types with their
 * encodings, and the direction (hold). One forward pass over the lines keeps
 * exactly that in a fixed-size struct sdp; everything else in SDP (timing,
 * bandwidth, ICE candidates, crypto, ...) is skipped. Values borrow from
 * the input; encodings of static payload types borrow from a const table.
 *
 * Decisions:
 *   - the first line must be "v=0" (CS_ERR_MALFORMED otherwise: not SDP);
 *   - empty lines and lines not shaped "<letter>=" are ignored (stray
 *     CRLF at the end of bodies is common);
 *   - m= with no formats is accepted (seen for rejected streams);
 *     non-numeric formats are ignored for non-RTP protocols (udptl t38,
 *     TCP/MSRP); for RTP protocols a format that is not 0..127 is
 *     CS_ERR_MALFORMED;
 *   - c= with a host name instead of an address is legal but unusable: the
 *     family stays 0; 0.0.0.0 and :: both mean hold (hold_zero, direction
 *     inactive);
 *   - a=rtpmap/fmtp for a payload type not in the m= line is ignored;
 *   - o= numbers longer than 64 bits saturate at UINT64_MAX (seen from
 *     stacks that use 128-bit ids);
 *   - a=ptime at session level is the default of every media.
 *
 * SECURITY: hostile bytes. Nothing is read past len; numbers are parsed
 * with overflow checks; media and formats are capped (CS_SDP_MAX_MEDIA,
 * CS_SDP_MAX_FORMATS; past the media cap, lines are ignored and counted in
 * nmedia_total). Addresses go through a bounded stack copy to
 * inet_pton(). Pure: no globals, no allocation, no logging.
 *
 * BUGS: WebRTC/ICE offers put c=IN IP4 0.0.0.0 as a placeholder (RFC 8839)
 * and are reported as hold (inactive) like RFC 2543 hold; their media is
 * DTLS-SRTP anyway. a=rtcp's address is kept but a=rtcp on a disabled media is not
 * checked; multicast TTL and address counts on c= are dropped; b=, k=,
 * a=crypto and ICE candidates are not kept (ICE-negotiated addresses are
 * invisible to capture).
 */
#include "sdp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"

static const char *const sdp_dir_names[] = {"sendrecv", "sendonly", "recvonly", "inactive"};

const char *sdp_dir_name(sdp_dir d)
{
    if ((unsigned)d >= sizeof sdp_dir_names / sizeof sdp_dir_names[0])
        return "unknown";
    return sdp_dir_names[d];
}

/* RFC 3551 tables 4 and 5: statically assigned payload types. */
typedef struct sdp_static_pt {
    int pt;
    const char *enc;
    int clock;
    int channels;
} sdp_static_pt;

static const sdp_static_pt sdp_static[] = {
    {0, "PCMU", 8000, 1},    {3, "GSM", 8000, 1},     {4, "G723", 8000, 1},
    {5, "DVI4", 8000, 1},    {6, "DVI4", 16000, 1},   {7, "LPC", 8000, 1},
    {8, "PCMA", 8000, 1},    {9, "G722", 8000, 1},    {10, "L16", 44100, 2},
    {11, "L16", 44100, 1},   {12, "QCELP", 8000, 1},  {13, "CN", 8000, 1},
    {14, "MPA", 90000, 1},   {15, "G728", 8000, 1},   {16, "DVI4", 11025, 1},
    {17, "DVI4", 22050, 1},  {18, "G729", 8000, 1},   {25, "CelB", 90000, 1},
    {26, "JPEG", 90000, 1},  {28, "nv", 90000, 1},    {31, "H261", 90000, 1},
    {32, "MPV", 90000, 1},   {33, "MP2T", 90000, 1},  {34, "H263", 90000, 1},
};

static const sdp_static_pt *sdp_static_of(int pt)
{
    for (size_t i = 0; i < sizeof sdp_static / sizeof sdp_static[0]; i++)
        if (sdp_static[i].pt == pt)
            return &sdp_static[i];
    return NULL;
}

const sdp_format *sdp_format_of(const sdp_media *m, int pt)
{
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->nfmt && i < CS_SDP_MAX_FORMATS; i++)
        if (m->fmt[i].pt == pt)
            return &m->fmt[i];
    return NULL;
}

/* ------------------------------------------------------------- helpers */

/* Splits off the next SP-separated word of *s (runs of SP/HTAB collapse). */
static int sdp_word(cs_str *s, cs_str *w)
{
    size_t i = 0;
    while (i < s->len && (s->p[i] == ' ' || s->p[i] == '\t'))
        i++;
    size_t st = i;
    while (i < s->len && s->p[i] != ' ' && s->p[i] != '\t')
        i++;
    if (i == st)
        return 0;
    *w = cs_str_make(s->p + st, i - st);
    *s = cs_str_make(s->p + i, s->len - i);
    return 1;
}

static int sdp_uint(cs_str s, uint64_t max, uint64_t *out)
{
    return cs_str_to_u64(s, max, out);
}

/* Digits only; saturates at UINT64_MAX instead of failing. */
static int sdp_uint_sat(cs_str s, uint64_t *out)
{
    if (s.len == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned)((unsigned char)s.p[i] - '0');
        if (d > 9)
            return -1;
        v = (v > (UINT64_MAX - d) / 10) ? UINT64_MAX : v * 10 + d;
    }
    *out = v;
    return 0;
}

/*
 * nettype SP addrtype SP connection-address
 *   nettype   = token ;typically "IN"
 *   addrtype  = token ;typically "IP4" and "IP6"
 *   connection-address = multicast-address / ip4-address / ip6-address / FQDN
 *                        (multicast: addr "/" ttl ["/" integer])
 * Returns CS_OK with *family 0 for an FQDN, AF_INET/AF_INET6 with addr.
 */
static int sdp_conn_addr(cs_str *s, int *family, uint8_t addr[16], int *zero)
{
    cs_str nettype, addrtype, a;
    if (!sdp_word(s, &nettype) || !sdp_word(s, &addrtype) || !sdp_word(s, &a))
        return CS_ERR_MALFORMED;
    if (!cs_str_ieq_c(nettype, "IN"))
        return CS_ERR_MALFORMED;
    int af;
    if (cs_str_ieq_c(addrtype, "IP4"))
        af = AF_INET;
    else if (cs_str_ieq_c(addrtype, "IP6"))
        af = AF_INET6;
    else
        return CS_ERR_MALFORMED;
    ptrdiff_t slash = cs_str_chr(a, '/');
    if (slash >= 0)
        a.len = (size_t)slash;
    if (a.len == 0)
        return CS_ERR_MALFORMED;
    char tmp[INET6_ADDRSTRLEN + 1];
    memset(addr, 0, 16);
    *family = 0;
    *zero = 0;
    if (a.len >= sizeof tmp)
        return CS_OK; /* too long for an address: a host name */
    cs_str_copy(a, tmp, sizeof tmp);
    if (inet_pton(af, tmp, addr) != 1) {
        memset(addr, 0, 16);
        return CS_OK; /* FQDN: legal, not usable */
    }
    static const uint8_t zeros[16];
    *family = af;
    *zero = memcmp(addr, zeros, af == AF_INET ? 4 : 16) == 0;
    return CS_OK;
}

static int sdp_is_rtp_proto(cs_str proto)
{
    return cs_str_iprefix(proto, "RTP/") || cs_str_iprefix(proto, "UDP/TLS/RTP/") ||
           cs_str_iprefix(proto, "TCP/RTP/") || cs_str_iprefix(proto, "TCP/TLS/RTP/");
}

/* ------------------------------------------------------------- lines */

/* Per-media state that is not in the public struct. */
typedef struct sdp_mstate {
    int has_c;
    int has_dir;
    int has_rtcp;
    int has_ptime;
} sdp_mstate;

/*
 * media-field = %s"m" "=" media SP port ["/" integer] SP proto 1*(SP fmt) CRLF
 *   media = token ; "audio", "video", "text", "image", "application"
 *   port  = 1*5DIGIT
 *   proto = token *("/" token)
 *   fmt   = token
 * (formats optional here: see the design note)
 */
static int sdp_m_line(cs_str v, sdp_media *md)
{
    cs_str type, port, proto, w;
    if (!sdp_word(&v, &type) || !sdp_word(&v, &port) || !sdp_word(&v, &proto))
        return CS_ERR_MALFORMED;
    md->type = type;
    md->proto = proto;
    md->nports = 1;
    ptrdiff_t slash = cs_str_chr(port, '/');
    uint64_t n;
    if (slash >= 0) {
        if (sdp_uint(cs_str_make(port.p + slash + 1, port.len - (size_t)slash - 1), 65535, &n) ||
            n == 0)
            return CS_ERR_MALFORMED;
        md->nports = (int)n;
        port.len = (size_t)slash;
    }
    if (sdp_uint(port, 65535, &n))
        return CS_ERR_MALFORMED;
    md->port = (uint16_t)n;
    int rtp = sdp_is_rtp_proto(proto);
    while (sdp_word(&v, &w)) {
        if (sdp_uint(w, 127, &n) != 0) {
            if (rtp)
                return CS_ERR_MALFORMED;
            continue;
        }
        if (md->nfmt >= CS_SDP_MAX_FORMATS || sdp_format_of(md, (int)n))
            continue;
        sdp_format *f = &md->fmt[md->nfmt++];
        f->pt = (int)n;
        f->encoding = CS_STR_NULL;
        f->clock = 0;
        f->channels = 1;
        f->fmtp = CS_STR_NULL;
        const sdp_static_pt *st = sdp_static_of((int)n);
        if (st && rtp) {
            f->encoding = cs_str_c(st->enc);
            f->clock = st->clock;
            f->channels = st->channels;
        }
    }
    return CS_OK;
}

/*
 * RFC 8866 6.6:  a=rtpmap:<payload type> <encoding name>/<clock rate>
 *                [/<encoding parameters>]
 */
static int sdp_rtpmap(cs_str v, sdp_media *md)
{
    cs_str ptw, enc;
    uint64_t pt, clock, ch = 1;
    if (!sdp_word(&v, &ptw) || !sdp_word(&v, &enc) || sdp_uint(ptw, 127, &pt))
        return CS_ERR_MALFORMED;
    ptrdiff_t s1 = cs_str_chr(enc, '/');
    if (s1 <= 0)
        return CS_ERR_MALFORMED;
    cs_str rest = cs_str_make(enc.p + s1 + 1, enc.len - (size_t)s1 - 1);
    enc.len = (size_t)s1;
    ptrdiff_t s2 = cs_str_chr(rest, '/');
    cs_str cl = s2 >= 0 ? cs_str_make(rest.p, (size_t)s2) : rest;
    if (sdp_uint(cl, 10000000, &clock))
        return CS_ERR_MALFORMED;
    if (s2 >= 0 &&
        sdp_uint(cs_str_make(rest.p + s2 + 1, rest.len - (size_t)s2 - 1), 255, &ch))
        return CS_ERR_MALFORMED;
    sdp_format *f = (sdp_format *)sdp_format_of(md, (int)pt);
    if (!f)
        return CS_OK;
    f->encoding = enc;
    f->clock = (int)clock;
    f->channels = (int)ch;
    return CS_OK;
}

/* RFC 8866 6.15:  a=fmtp:<format> <format specific parameters> */
static int sdp_fmtp(cs_str v, sdp_media *md)
{
    cs_str ptw;
    uint64_t pt;
    if (!sdp_word(&v, &ptw))
        return CS_ERR_MALFORMED;
    if (sdp_uint(ptw, 127, &pt) != 0)
        return sdp_is_rtp_proto(md->proto) ? CS_ERR_MALFORMED : CS_OK;
    sdp_format *f = (sdp_format *)sdp_format_of(md, (int)pt);
    if (f)
        f->fmtp = cs_str_trim(v);
    return CS_OK;
}

/* RFC 3605:  rtcp-attribute = "a=rtcp:" port [nettype space addrtype space
 *                             connection-address] CRLF */
static int sdp_rtcp(cs_str v, sdp_media *md)
{
    cs_str portw;
    uint64_t port;
    if (!sdp_word(&v, &portw) || sdp_uint(portw, 65535, &port))
        return CS_ERR_MALFORMED;
    md->rtcp_port = (uint16_t)port;
    md->rtcp_family = 0;
    memset(md->rtcp_addr, 0, sizeof md->rtcp_addr);
    cs_str t = cs_str_trim(v);
    if (t.len) {
        int zero;
        int rc = sdp_conn_addr(&t, &md->rtcp_family, md->rtcp_addr, &zero);
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}

static int sdp_dir_attr(cs_str name, sdp_dir *d)
{
    if (cs_str_ieq_c(name, "sendrecv"))
        *d = SDP_DIR_SENDRECV;
    else if (cs_str_ieq_c(name, "sendonly"))
        *d = SDP_DIR_SENDONLY;
    else if (cs_str_ieq_c(name, "recvonly"))
        *d = SDP_DIR_RECVONLY;
    else if (cs_str_ieq_c(name, "inactive"))
        *d = SDP_DIR_INACTIVE;
    else
        return 0;
    return 1;
}

/*
 * attribute-fields = *(%s"a" "=" attribute CRLF)
 * attribute        = (attribute-name ":" attribute-value) / attribute-name
 * md is NULL at session level.
 */
static int sdp_a_line(cs_str v, sdp *s, sdp_media *md, sdp_mstate *ms, int *sess_ptime)
{
    ptrdiff_t colon = cs_str_chr(v, ':');
    cs_str name = colon >= 0 ? cs_str_make(v.p, (size_t)colon) : v;
    cs_str val = colon >= 0 ? cs_str_make(v.p + colon + 1, v.len - (size_t)colon - 1) : CS_STR_NULL;
    name = cs_str_trim(name);
    sdp_dir d;
    if (colon < 0 && sdp_dir_attr(name, &d)) {
        if (md) {
            md->dir = d;
            ms->has_dir = 1;
        } else {
            s->dir = d;
        }
        return CS_OK;
    }
    if (cs_str_ieq_c(name, "ptime")) {
        uint64_t n;
        cs_str t = cs_str_trim(val);
        ptrdiff_t dot = cs_str_chr(t, '.'); /* "20.0" seen in the field */
        if (dot >= 0)
            t.len = (size_t)dot;
        if (sdp_uint(t, 10000, &n))
            return CS_ERR_MALFORMED;
        if (md) {
            md->ptime = (int)n;
            ms->has_ptime = 1;
        } else {
            *sess_ptime = (int)n;
        }
        return CS_OK;
    }
    if (!md)
        return CS_OK;
    if (cs_str_ieq_c(name, "rtpmap"))
        return sdp_rtpmap(val, md);
    if (cs_str_ieq_c(name, "fmtp"))
        return sdp_fmtp(val, md);
    if (cs_str_ieq_c(name, "rtcp")) {
        ms->has_rtcp = 1;
        return sdp_rtcp(val, md);
    }
    if (cs_str_ieq_c(name, "rtcp-mux") && colon < 0)
        md->rtcp_mux = 1;
    return CS_OK;
}

static void sdp_media_init(sdp_media *md)
{
    md->type = md->proto = CS_STR_NULL;
    md->port = 0;
    md->nports = 1;
    md->family = 0;
    memset(md->addr, 0, sizeof md->addr);
    md->hold_zero = 0;
    md->nfmt = 0;
    md->ptime = 0;
    md->dir = SDP_DIR_SENDRECV;
    md->rtcp_port = 0;
    md->rtcp_family = 0;
    memset(md->rtcp_addr, 0, sizeof md->rtcp_addr);
    md->rtcp_mux = 0;
}

/*
 * session-description = version-field origin-field session-name-field
 *                       [information-field] [uri-field] *email-field
 *                       *phone-field [connection-field] *bandwidth-field
 *                       1*time-description [key-field] *attribute-field
 *                       *media-description
 * version-field = %s"v" "=" 1*DIGIT CRLF      (only 0 exists)
 * origin-field  = %s"o" "=" username SP sess-id SP sess-version SP
 *                 nettype SP addrtype SP unicast-address CRLF
 * media-description = media-field [information-field] *connection-field
 *                     *bandwidth-field [key-field] *attribute-field
 * Order is not enforced beyond "v= first" (real stacks vary).
 */
int sdp_parse(const uint8_t *data, size_t len, sdp *out)
{
    if (!out || (!data && len))
        return CS_ERR_INVAL;
    out->origin_user = CS_STR_NULL;
    out->sess_id = out->sess_version = 0;
    out->family = 0;
    memset(out->addr, 0, sizeof out->addr);
    out->dir = SDP_DIR_SENDRECV;
    out->nmedia = out->nmedia_total = 0;
    if (len == 0)
        return CS_ERR_TRUNCATED;

    const char *buf = (const char *)data;
    sdp_mstate ms[CS_SDP_MAX_MEDIA];
    memset(ms, 0, sizeof ms);
    int sess_zero = 0, sess_ptime = 0, first = 1;
    /* -1: session level; 0..: media index; CS_SDP_MAX_MEDIA: past the cap */
    size_t cur = (size_t)-1;
    size_t off = 0;
    while (off < len) {
        const char *lf = memchr(buf + off, '\n', len - off);
        size_t end = lf ? (size_t)(lf - buf) : len;
        cs_str line = cs_str_make(buf + off, end - off);
        off = lf ? end + 1 : len;
        while (line.len && (line.p[line.len - 1] == '\r' || line.p[line.len - 1] == ' ' ||
                            line.p[line.len - 1] == '\t'))
            line.len--;
        if (first) {
            if (line.len != 3 || memcmp(line.p, "v=0", 3) != 0)
                return CS_ERR_MALFORMED;
            first = 0;
            continue;
        }
        if (line.len < 2 || line.p[1] != '=')
            continue;
        char type = line.p[0];
        cs_str v = cs_str_make(line.p + 2, line.len - 2);
        int rc = CS_OK;
        if (type == 'm') {
            out->nmedia_total++;
            if (out->nmedia >= CS_SDP_MAX_MEDIA) {
                cur = CS_SDP_MAX_MEDIA;
                continue;
            }
            cur = out->nmedia++;
            sdp_media_init(&out->media[cur]);
            rc = sdp_m_line(v, &out->media[cur]);
        } else if (cur == CS_SDP_MAX_MEDIA) {
            continue;
        } else if (type == 'c') {
            int zero;
            if (cur == (size_t)-1) {
                rc = sdp_conn_addr(&v, &out->family, out->addr, &sess_zero);
            } else {
                sdp_media *md = &out->media[cur];
                rc = sdp_conn_addr(&v, &md->family, md->addr, &zero);
                md->hold_zero = zero;
                ms[cur].has_c = 1;
            }
        } else if (type == 'a') {
            if (cur == (size_t)-1)
                rc = sdp_a_line(v, out, NULL, NULL, &sess_ptime);
            else
                rc = sdp_a_line(v, out, &out->media[cur], &ms[cur], &sess_ptime);
        } else if (type == 'o' && cur == (size_t)-1) {
            cs_str user, id, ver;
            if (!sdp_word(&v, &user) || !sdp_word(&v, &id) || !sdp_word(&v, &ver) ||
                sdp_uint_sat(id, &out->sess_id) || sdp_uint_sat(ver, &out->sess_version))
                return CS_ERR_MALFORMED;
            out->origin_user = user;
        }
        if (rc != CS_OK)
            return rc;
    }
    if (first)
        return CS_ERR_MALFORMED;

    for (size_t i = 0; i < out->nmedia; i++) {
        sdp_media *md = &out->media[i];
        if (!ms[i].has_c) {
            md->family = out->family;
            memcpy(md->addr, out->addr, sizeof md->addr);
            md->hold_zero = sess_zero;
        }
        if (!ms[i].has_dir)
            md->dir = out->dir;
        if (md->hold_zero)
            md->dir = SDP_DIR_INACTIVE;
        if (!ms[i].has_ptime)
            md->ptime = sess_ptime;
        if (!ms[i].has_rtcp)
            md->rtcp_port = md->port ? (uint16_t)(md->port + 1) : 0;
    }
    return CS_OK;
}
