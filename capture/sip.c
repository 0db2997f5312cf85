/*
 * sip.c — SIP message parser (RFC 3261 sections 7 and 25.1) over (pointer,
 * length).
 *
 * Why it is built this way: capture parses every SIP packet of a SPAN port,
 * so sip_parse() is one forward pass over the bytes. Lines are found with
 * memchr(), header names are classified once by length and first byte, the
 * well-known headers are picked up as they are met, and nothing is
 * allocated: values borrow from the input, and only folded values (rare) are
 * copied, unfolded, into the sip_msg's scratch. No strlen() over the message
 * (the input need not be NUL-terminated).
 *
 * Decisions on real-world oddities (each is accepted, and recorded in
 * sip_msg.quirks so the caller can count it):
 *   - bare LF line ends (SIP_QUIRK_BARE_LF): accepted, like most stacks;
 *   - "sip/2.0" in another case (SIP_QUIRK_VERSION_CASE): RFC 3261 7.1 says
 *     the version is case-sensitive, but rejecting such a message would lose
 *     a call for the sake of pedantry; accepted and flagged;
 *   - a status line without reason phrase, "SIP/2.0 200" with or without
 *     the trailing SP (SIP_QUIRK_NO_REASON): accepted;
 *   - whitespace between a header name and the colon, and at the end of
 *     values: allowed by HCOLON / trimmed (no quirk);
 *   - no empty line after the last header of a message that ends there:
 *     CS_ERR_TRUNCATED (we cannot tell a cut message from a complete one).
 * Strict where the answer matters: a header line without a colon, an empty
 * or non-token header name, a bad CSeq or Content-Length, two different
 * Content-Length values, and a missing Call-ID, CSeq, From or To are
 * CS_ERR_MALFORMED.
 *
 * Multipart bodies (RFC 2046 multipart/mixed, /related, /alternative: SIP-I
 * ISUP + SDP, or SDP + PIDF): the parts are scanned for the first one whose
 * Content-Type is application/sdp; when found, body and content_type refer
 * to that part (its bytes, "application/sdp"), so a caller that only wants
 * the SDP handles both shapes alike. When none is found they stay as they
 * were (the whole body, "multipart/mixed").
 *
 * What it does not do: no validation of URIs beyond what extraction needs,
 * no unescaping of %HH in users, no decoding of S/MIME or compressed bodies
 * (Content-Encoding is left to the caller), no SIP over WebSocket framing.
 *
 * SECURITY: every byte is hostile. All reads are bounded by len; all counts
 * and lengths are capped (CS_SIP_MAX_MSG, CS_SIP_MAX_HEADERS,
 * CS_SIP_MAX_VALUE); Content-Length is compared with the bytes present and
 * never used to size or reach anything beyond them. Numbers are parsed with
 * overflow checks. Pure: no globals (the tables are const), no allocation,
 * no logging.
 *
 * BUGS: a header value is capped at CS_SIP_MAX_VALUE bytes even when the
 * RFC has no limit (CS_ERR_LIMIT). Header names in the multipart part
 * headers are matched case-insensitively but not unfolded. A Request-URI or
 * addr-spec whose user part contains an unquoted '@' in a parameter is not
 * recognised. sip_param() does not unescape quoted-pair in quoted values.
 */
#include "sip.h"

#include <string.h>

#include "error.h"

/* ---------------------------------------------------------------- names */

static const char *const sip_method_names[] = {
    "UNKNOWN", "INVITE", "ACK",    "BYE",       "CANCEL",  "REGISTER", "OPTIONS", "INFO",
    "PRACK",   "UPDATE", "REFER", "NOTIFY",    "SUBSCRIBE", "MESSAGE", "PUBLISH",
};
#define SIP_NMETHODS (sizeof sip_method_names / sizeof sip_method_names[0])

const char *sip_method_name(sip_method m)
{
    if ((unsigned)m >= SIP_NMETHODS)
        return sip_method_names[0];
    return sip_method_names[m];
}

sip_method sip_method_parse(cs_str s)
{
    for (size_t i = 1; i < SIP_NMETHODS; i++)
        if (cs_str_eq(s, cs_str_c(sip_method_names[i])))
            return (sip_method)i;
    return SIP_METHOD_UNKNOWN;
}

/* ------------------------------------------------------------ char classes */

/*
 * token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" )
 */
static int sip_is_token(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c == '-' || c == '.' || c == '!' || c == '%' || c == '*' || c == '_' || c == '+' ||
           c == '`' || c == '\'' || c == '~';
}

static int sip_is_token_str(cs_str s)
{
    if (s.len == 0)
        return 0;
    for (size_t i = 0; i < s.len; i++)
        if (!sip_is_token((unsigned char)s.p[i]))
            return 0;
    return 1;
}

static int sip_is_sp(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* --------------------------------------------------------- header names */

/* The headers sip_parse() extracts, and the compact forms (RFC 3261 7.3.3,
 * RFC 3515, 3841, 3892, 3903, 4028, 4474, 6665). */
enum sip_hid {
    SIP_H_OTHER = 0,
    SIP_H_CALL_ID,
    SIP_H_FROM,
    SIP_H_TO,
    SIP_H_VIA,
    SIP_H_CONTACT,
    SIP_H_CONTENT_LENGTH,
    SIP_H_CONTENT_TYPE,
    SIP_H_CSEQ,
    SIP_H_USER_AGENT,
    SIP_H_SERVER,
    SIP_H_REASON,
    SIP_H_REFER_TO,
};

typedef struct sip_compact {
    char c;
    const char *name;
} sip_compact;

static const sip_compact sip_compacts[] = {
    {'i', "Call-ID"},        {'f', "From"},         {'t', "To"},
    {'v', "Via"},            {'m', "Contact"},      {'l', "Content-Length"},
    {'c', "Content-Type"},   {'k', "Supported"},    {'s', "Subject"},
    {'e', "Content-Encoding"}, {'o', "Event"},      {'r', "Refer-To"},
    {'u', "Allow-Events"},   {'b', "Referred-By"},  {'y', "Identity"},
    {'a', "Accept-Contact"}, {'x', "Session-Expires"}, {'j', "Reject-Contact"},
    {'d', "Request-Disposition"}, {'n', "Identity-Info"},
};
#define SIP_NCOMPACT (sizeof sip_compacts / sizeof sip_compacts[0])

/* The long name of a compact form, or NULL. */
static const char *sip_compact_long(char c)
{
    int lc = cs_lower((unsigned char)c);
    for (size_t i = 0; i < SIP_NCOMPACT; i++)
        if (sip_compacts[i].c == lc)
            return sip_compacts[i].name;
    return NULL;
}

/* Classifies a header name (as written) into the ids above: a switch on the
 * length first, so most names cost one or two comparisons. */
static enum sip_hid sip_classify(cs_str n)
{
    switch (n.len) {
    case 1:
        switch (cs_lower((unsigned char)n.p[0])) {
        case 'i': return SIP_H_CALL_ID;
        case 'f': return SIP_H_FROM;
        case 't': return SIP_H_TO;
        case 'v': return SIP_H_VIA;
        case 'm': return SIP_H_CONTACT;
        case 'l': return SIP_H_CONTENT_LENGTH;
        case 'c': return SIP_H_CONTENT_TYPE;
        case 'r': return SIP_H_REFER_TO;
        default: return SIP_H_OTHER;
        }
    case 2:
        return cs_str_ieq_c(n, "To") ? SIP_H_TO : SIP_H_OTHER;
    case 3:
        return cs_str_ieq_c(n, "Via") ? SIP_H_VIA : SIP_H_OTHER;
    case 4:
        if (cs_str_ieq_c(n, "From"))
            return SIP_H_FROM;
        return cs_str_ieq_c(n, "CSeq") ? SIP_H_CSEQ : SIP_H_OTHER;
    case 6:
        if (cs_str_ieq_c(n, "Reason"))
            return SIP_H_REASON;
        return cs_str_ieq_c(n, "Server") ? SIP_H_SERVER : SIP_H_OTHER;
    case 7:
        if (cs_str_ieq_c(n, "Call-ID"))
            return SIP_H_CALL_ID;
        return cs_str_ieq_c(n, "Contact") ? SIP_H_CONTACT : SIP_H_OTHER;
    case 8:
        return cs_str_ieq_c(n, "Refer-To") ? SIP_H_REFER_TO : SIP_H_OTHER;
    case 10:
        return cs_str_ieq_c(n, "User-Agent") ? SIP_H_USER_AGENT : SIP_H_OTHER;
    case 12:
        return cs_str_ieq_c(n, "Content-Type") ? SIP_H_CONTENT_TYPE : SIP_H_OTHER;
    case 14:
        return cs_str_ieq_c(n, "Content-Length") ? SIP_H_CONTENT_LENGTH : SIP_H_OTHER;
    default:
        return SIP_H_OTHER;
    }
}

/* --------------------------------------------------------------- lines */

/* One line of the message: [p, p+len) without its CR LF / LF; next is the
 * offset just after the LF. Returns 0 when no LF is left (truncated). */
typedef struct sip_line {
    const char *p;
    size_t len;
    size_t next;
    int bare_lf;
} sip_line;

static int sip_getline(const char *buf, size_t len, size_t off, sip_line *ln)
{
    if (off >= len)
        return 0;
    const char *lf = memchr(buf + off, '\n', len - off);
    if (!lf)
        return 0;
    size_t end = (size_t)(lf - buf);
    ln->p = buf + off;
    ln->next = end + 1;
    ln->bare_lf = 1;
    if (end > off && buf[end - 1] == '\r') {
        end--;
        ln->bare_lf = 0;
    }
    ln->len = end - off;
    return 1;
}

/* ---------------------------------------------------------- start line */

/*
 * RFC 3261 25.1:
 *   Request-Line   =  Method SP Request-URI SP SIP-Version CRLF
 *   Status-Line    =  SIP-Version SP Status-Code SP Reason-Phrase CRLF
 *   SIP-Version    =  "SIP" "/" 1*DIGIT "." 1*DIGIT
 *   Status-Code    =  3DIGIT            (100..699 here)
 *   Reason-Phrase  =  *(reserved / unreserved / escaped / UTF8-NONASCII /
 *                     UTF8-CONT / SP / HTAB)
 *   Method         =  INVITEm / ACKm / ... / extension-method
 *   extension-method = token
 * Only SIP/2.0 is accepted (any case; see the design note).
 */
#define SIP_VERSION "SIP/2.0"
#define SIP_VERSION_LEN 7

/* 1 if s is "SIP/2.0" in any case; sets the quirk when not exact. */
static int sip_is_version(cs_str s, unsigned *quirks)
{
    if (s.len != SIP_VERSION_LEN || !cs_str_ieq_c(s, SIP_VERSION))
        return 0;
    if (memcmp(s.p, SIP_VERSION, SIP_VERSION_LEN) != 0)
        *quirks |= SIP_QUIRK_VERSION_CASE;
    return 1;
}

static int sip_start_line(cs_str l, sip_msg *m)
{
    /* Status line: "SIP/2.0" SP 3DIGIT [SP Reason-Phrase] */
    if (l.len >= SIP_VERSION_LEN + 1 && l.p[SIP_VERSION_LEN] == ' ' &&
        sip_is_version(cs_str_make(l.p, SIP_VERSION_LEN), &m->quirks)) {
        cs_str rest = cs_str_make(l.p + SIP_VERSION_LEN + 1, l.len - SIP_VERSION_LEN - 1);
        if (rest.len < 3)
            return CS_ERR_MALFORMED;
        int code = 0;
        for (int i = 0; i < 3; i++) {
            unsigned d = (unsigned)((unsigned char)rest.p[i] - '0');
            if (d > 9)
                return CS_ERR_MALFORMED;
            code = code * 10 + (int)d;
        }
        if (code < 100 || code > 699)
            return CS_ERR_MALFORMED;
        if (rest.len > 3 && rest.p[3] != ' ')
            return CS_ERR_MALFORMED;
        m->is_request = 0;
        m->status = code;
        m->reason = rest.len > 4 ? cs_str_trim(cs_str_make(rest.p + 4, rest.len - 4)) : CS_STR_NULL;
        if (m->reason.len == 0) {
            m->reason = CS_STR_NULL;
            m->quirks |= SIP_QUIRK_NO_REASON;
        }
        return CS_OK;
    }
    /* Request line: Method SP Request-URI SP SIP-Version, trailing
     * whitespace tolerated. */
    cs_str t = l;
    while (t.len && sip_is_sp((unsigned char)t.p[t.len - 1]))
        t.len--;
    ptrdiff_t sp1 = cs_str_chr(t, ' ');
    if (sp1 <= 0)
        return CS_ERR_MALFORMED;
    cs_str method = cs_str_make(t.p, (size_t)sp1);
    if (!sip_is_token_str(method))
        return CS_ERR_MALFORMED;
    if (t.len < SIP_VERSION_LEN + 1 || t.p[t.len - SIP_VERSION_LEN - 1] != ' ' ||
        !sip_is_version(cs_str_make(t.p + t.len - SIP_VERSION_LEN, SIP_VERSION_LEN), &m->quirks))
        return CS_ERR_MALFORMED;
    size_t ustart = (size_t)sp1 + 1;
    size_t uend = t.len - SIP_VERSION_LEN - 1;
    if (uend <= ustart)
        return CS_ERR_MALFORMED;
    cs_str uri = cs_str_make(t.p + ustart, uend - ustart);
    if (cs_str_chr(uri, ' ') >= 0 || cs_str_chr(uri, '\t') >= 0)
        return CS_ERR_MALFORMED;
    m->is_request = 1;
    m->method_str = method;
    m->method = sip_method_parse(method);
    m->request_uri = uri;
    return CS_OK;
}

/* ---------------------------------------------------------- well-known */

/*
 * CSeq  =  "CSeq" HCOLON 1*DIGIT LWS Method
 * (RFC 3261 8.1.1.5: the number is less than 2**31.)
 */
static int sip_cseq(cs_str v, sip_msg *m)
{
    size_t i = 0;
    while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9')
        i++;
    uint64_t n;
    if (i == 0 || cs_str_to_u64(cs_str_make(v.p, i), 0xffffffffu, &n) != 0)
        return CS_ERR_MALFORMED;
    size_t j = i;
    while (j < v.len && sip_is_sp((unsigned char)v.p[j]))
        j++;
    if (j == i || j == v.len)
        return CS_ERR_MALFORMED;
    cs_str meth = cs_str_make(v.p + j, v.len - j);
    if (!sip_is_token_str(meth))
        return CS_ERR_MALFORMED;
    m->cseq = (uint32_t)n;
    m->cseq_method = sip_method_parse(meth);
    return CS_OK;
}

/* Content-Length  =  ( "Content-Length" / "l" ) HCOLON 1*DIGIT */
static int sip_content_length(cs_str v, sip_msg *m)
{
    uint64_t n;
    if (cs_str_to_u64(v, (uint64_t)INT64_MAX, &n) != 0)
        return CS_ERR_MALFORMED;
    if (m->content_length >= 0 && (uint64_t)m->content_length != n)
        return CS_ERR_MALFORMED;
    m->content_length = (int64_t)n;
    return CS_OK;
}

/* media-type = m-type SLASH m-subtype *(SEMI m-parameter): the type without
 * parameters, trimmed. */
static cs_str sip_media_type(cs_str v)
{
    ptrdiff_t semi = cs_str_chr(v, ';');
    if (semi >= 0)
        v.len = (size_t)semi;
    return cs_str_trim(v);
}

static int sip_note_header(sip_msg *m, enum sip_hid id, cs_str v, int *have_cseq)
{
    switch (id) {
    case SIP_H_CALL_ID:
        if (!m->call_id.p)
            m->call_id = v;
        break;
    case SIP_H_FROM:
        if (!m->from.p)
            m->from = v;
        break;
    case SIP_H_TO:
        if (!m->to.p)
            m->to = v;
        break;
    case SIP_H_VIA:
        if (!m->via_branch.p) {
            cs_str rest = v, top;
            if (sip_list_next(&rest, &top)) {
                cs_str br;
                if (sip_param(top, "branch", &br) && br.len)
                    m->via_branch = br;
            }
        }
        break;
    case SIP_H_CONTACT:
        if (!m->contact.p)
            m->contact = v;
        break;
    case SIP_H_CONTENT_LENGTH:
        return sip_content_length(v, m);
    case SIP_H_CONTENT_TYPE:
        if (!m->content_type.p)
            m->content_type = sip_media_type(v);
        break;
    case SIP_H_CSEQ:
        if (*have_cseq)
            break;
        *have_cseq = 1;
        return sip_cseq(v, m);
    case SIP_H_USER_AGENT:
        m->user_agent = v; /* User-Agent wins over Server */
        break;
    case SIP_H_SERVER:
        if (!m->user_agent.p)
            m->user_agent = v;
        break;
    case SIP_H_REASON:
        if (!m->reason_hdr.p)
            m->reason_hdr = v;
        break;
    case SIP_H_REFER_TO:
        if (!m->refer_to.p)
            m->refer_to = v;
        break;
    case SIP_H_OTHER:
        break;
    }
    return CS_OK;
}

/* ------------------------------------------------------------ multipart */

/*
 * RFC 2046 5.1.1:
 *   multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF
 *                     body-part *encapsulation close-delimiter
 *                     transport-padding [CRLF epilogue]
 *   dash-boundary  := "--" boundary
 *   encapsulation  := delimiter transport-padding CRLF body-part
 *   delimiter      := CRLF dash-boundary
 *   close-delimiter := delimiter "--"
 *   body-part      := MIME-part-headers [CRLF *OCTET]
 * Bare LF is accepted as for the message. Returns 1 and the SDP part's bytes
 * when a part has Content-Type application/sdp.
 */
static int sip_find_dash_boundary(cs_str body, size_t from, cs_str bnd, size_t *at)
{
    /* A line starting with "--" boundary, at from or after a LF. */
    size_t i = from;
    while (i + 2 + bnd.len <= body.len) {
        if ((i == 0 || body.p[i - 1] == '\n') && body.p[i] == '-' && body.p[i + 1] == '-' &&
            memcmp(body.p + i + 2, bnd.p, bnd.len) == 0) {
            *at = i;
            return 1;
        }
        const char *lf = memchr(body.p + i, '\n', body.len - i);
        if (!lf)
            return 0;
        i = (size_t)(lf - body.p) + 1;
    }
    return 0;
}

static int sip_multipart_sdp(cs_str ctype_value, cs_str body, cs_str *sdp_part)
{
    cs_str bnd;
    if (!sip_param(ctype_value, "boundary", &bnd) || bnd.len == 0 || bnd.len > 70)
        return 0;
    size_t at;
    if (!sip_find_dash_boundary(body, 0, bnd, &at))
        return 0;
    for (;;) {
        size_t p = at + 2 + bnd.len;
        if (p + 2 <= body.len && body.p[p] == '-' && body.p[p + 1] == '-')
            return 0; /* close-delimiter */
        if (p >= body.len)
            return 0;
        const char *lf = memchr(body.p + p, '\n', body.len - p);
        if (!lf)
            return 0;
        size_t part = (size_t)(lf - body.p) + 1;
        size_t next;
        int more = sip_find_dash_boundary(body, part, bnd, &next);
        size_t part_end = more ? next : body.len;
        /* The delimiter's CRLF belongs to the delimiter, not the part. */
        if (more && part_end > part && body.p[part_end - 1] == '\n')
            part_end--;
        if (more && part_end > part && body.p[part_end - 1] == '\r')
            part_end--;
        /* Part headers up to the empty line. */
        sip_line ln;
        size_t off = part;
        int is_sdp = 0;
        cs_str whole = cs_str_make(body.p, part_end);
        while (sip_getline(whole.p, whole.len, off, &ln)) {
            off = ln.next;
            if (ln.len == 0) {
                if (is_sdp) {
                    *sdp_part = cs_str_make(body.p + off, part_end - off);
                    return 1;
                }
                break;
            }
            cs_str l = cs_str_make(ln.p, ln.len);
            ptrdiff_t colon = cs_str_chr(l, ':');
            if (colon <= 0)
                continue;
            cs_str name = cs_str_trim(cs_str_make(l.p, (size_t)colon));
            cs_str val = cs_str_make(l.p + colon + 1, l.len - (size_t)colon - 1);
            if ((cs_str_ieq_c(name, "Content-Type") || cs_str_ieq_c(name, "c")) &&
                cs_str_ieq_c(sip_media_type(val), "application/sdp"))
                is_sdp = 1;
        }
        if (!more)
            return 0;
        at = next;
    }
}

/* --------------------------------------------------------------- parse */

/*
 * RFC 3261 7.3.1 and 25.1:
 *   message-header  =  field-name HCOLON field-value CRLF   (simplified:
 *                      extension-header = header-name HCOLON header-value)
 *   header-name     =  token
 *   HCOLON          =  *( SP / HTAB ) ":" SWS
 *   header-value    =  *(TEXT-UTF8char / UTF8-CONT / LWS)
 *   LWS             =  [*WSP CRLF] 1*WSP ; linear whitespace
 *   SWS             =  [LWS] ; sep whitespace
 * "Header fields can be extended over multiple lines by preceding each extra
 * line with at least one SP or horizontal tab" (7.3.1); the line break and
 * the whitespace around it are equivalent to one SP, which is what the
 * unfolded value gets.
 */
static int sip_add_header(sip_msg *m, const char *buf, size_t len, sip_line *ln, size_t *off,
                          int *have_cseq)
{
    cs_str l = cs_str_make(ln->p, ln->len);
    ptrdiff_t colon = cs_str_chr(l, ':');
    if (colon < 0)
        return CS_ERR_MALFORMED;
    cs_str name = cs_str_make(l.p, (size_t)colon);
    while (name.len && sip_is_sp((unsigned char)name.p[name.len - 1]))
        name.len--;
    if (!sip_is_token_str(name))
        return CS_ERR_MALFORMED;
    cs_str value = cs_str_trim(cs_str_make(l.p + colon + 1, l.len - (size_t)colon - 1));

    /* Continuation lines? */
    sip_line nx;
    size_t pos = ln->next;
    if (sip_getline(buf, len, pos, &nx) && nx.len && sip_is_sp((unsigned char)nx.p[0])) {
        char *dst = m->scratch + m->scratch_used;
        size_t room = sizeof m->scratch - m->scratch_used;
        size_t n = value.len;
        if (n > room)
            return CS_ERR_LIMIT;
        if (n)
            memcpy(dst, value.p, n);
        while (sip_getline(buf, len, pos, &nx) && nx.len && sip_is_sp((unsigned char)nx.p[0])) {
            if (nx.bare_lf)
                m->quirks |= SIP_QUIRK_BARE_LF;
            cs_str piece = cs_str_trim(cs_str_make(nx.p, nx.len));
            pos = nx.next;
            if (piece.len == 0)
                continue;
            size_t add = piece.len + (n ? 1 : 0);
            if (add > room - n || n + add > CS_SIP_MAX_VALUE)
                return CS_ERR_LIMIT;
            if (n)
                dst[n++] = ' ';
            memcpy(dst + n, piece.p, piece.len);
            n += piece.len;
        }
        value = cs_str_make(dst, n);
        m->scratch_used += n;
        m->quirks |= SIP_QUIRK_FOLDED;
    }
    *off = pos;
    if (value.len > CS_SIP_MAX_VALUE)
        return CS_ERR_LIMIT;
    if (m->nhdr >= CS_SIP_MAX_HEADERS)
        return CS_ERR_LIMIT;
    m->hdr[m->nhdr].name = name;
    m->hdr[m->nhdr].value = value;
    m->nhdr++;
    return sip_note_header(m, sip_classify(name), value, have_cseq);
}

static void sip_reset(sip_msg *m)
{
    /* Field by field: clearing the 64 KiB scratch and the header table on
     * every packet would cost more than the parse. */
    m->is_request = 0;
    m->method = SIP_METHOD_UNKNOWN;
    m->method_str = m->request_uri = m->reason = CS_STR_NULL;
    m->status = 0;
    m->nhdr = 0;
    m->call_id = m->from = m->to = m->from_tag = m->to_tag = CS_STR_NULL;
    m->from_user = m->to_user = m->ruri_user = CS_STR_NULL;
    m->cseq = 0;
    m->cseq_method = SIP_METHOD_UNKNOWN;
    m->via_branch = m->contact = m->content_type = CS_STR_NULL;
    m->content_length = -1;
    m->user_agent = m->reason_hdr = m->refer_to = m->body = CS_STR_NULL;
    m->quirks = 0;
    m->scratch_used = 0;
}

int sip_parse(const uint8_t *data, size_t len, sip_msg *out)
{
    if (!out || (!data && len))
        return CS_ERR_INVAL;
    sip_reset(out);
    if (len == 0)
        return CS_ERR_TRUNCATED;
    if (len > CS_SIP_MAX_MSG)
        return CS_ERR_LIMIT;
    const char *buf = (const char *)data;

    sip_line ln;
    if (!sip_getline(buf, len, 0, &ln))
        return CS_ERR_TRUNCATED;
    if (ln.bare_lf)
        out->quirks |= SIP_QUIRK_BARE_LF;
    int rc = sip_start_line(cs_str_make(ln.p, ln.len), out);
    if (rc != CS_OK)
        return rc;

    int have_cseq = 0;
    size_t off = ln.next;
    for (;;) {
        if (!sip_getline(buf, len, off, &ln))
            return CS_ERR_TRUNCATED;
        if (ln.bare_lf)
            out->quirks |= SIP_QUIRK_BARE_LF;
        if (ln.len == 0) {
            off = ln.next;
            break;
        }
        if (sip_is_sp((unsigned char)ln.p[0]))
            return CS_ERR_MALFORMED; /* continuation without a header */
        rc = sip_add_header(out, buf, len, &ln, &off, &have_cseq);
        if (rc != CS_OK)
            return rc;
    }
    if (!out->call_id.p || out->call_id.len == 0 || !have_cseq || !out->from.p || !out->to.p)
        return CS_ERR_MALFORMED;

    size_t avail = len - off;
    if (out->content_length >= 0) {
        if ((uint64_t)out->content_length > avail)
            return CS_ERR_TRUNCATED;
        out->body = cs_str_make(buf + off, (size_t)out->content_length);
    } else {
        out->body = cs_str_make(buf + off, avail);
    }
    if (out->body.len == 0)
        out->body = CS_STR_NULL;

    cs_str tag;
    if (sip_param(out->from, "tag", &tag) && tag.len)
        out->from_tag = tag;
    if (sip_param(out->to, "tag", &tag) && tag.len)
        out->to_tag = tag;
    if (sip_uri_user(out->from, &out->from_user) != 0)
        out->from_user = CS_STR_NULL;
    if (sip_uri_user(out->to, &out->to_user) != 0)
        out->to_user = CS_STR_NULL;
    if (out->is_request && sip_uri_user(out->request_uri, &out->ruri_user) != 0)
        out->ruri_user = CS_STR_NULL;

    if (out->body.len && out->content_type.len > 10 &&
        cs_str_iprefix(out->content_type, "multipart/")) {
        cs_str ctv = sip_header_get(out, "Content-Type", 0);
        cs_str part;
        if (sip_multipart_sdp(ctv, out->body, &part)) {
            out->body = part;
            out->content_type = CS_STR_LIT("application/sdp");
            out->quirks |= SIP_QUIRK_MULTIPART;
        }
    }
    return CS_OK;
}

int sip_looks_like(const uint8_t *data, size_t len)
{
    if (!data || len < SIP_VERSION_LEN + 5)
        return 0;
    const char *buf = (const char *)data;
    sip_line ln;
    if (!sip_getline(buf, len, 0, &ln))
        return 0;
    cs_str l = cs_str_make(ln.p, ln.len);
    unsigned q = 0;
    if (l.len >= SIP_VERSION_LEN + 4 && l.p[SIP_VERSION_LEN] == ' ' &&
        sip_is_version(cs_str_make(l.p, SIP_VERSION_LEN), &q))
        return l.p[SIP_VERSION_LEN + 1] >= '1' && l.p[SIP_VERSION_LEN + 1] <= '6';
    while (l.len && sip_is_sp((unsigned char)l.p[l.len - 1]))
        l.len--;
    ptrdiff_t sp1 = cs_str_chr(l, ' ');
    if (sp1 <= 0 || !sip_is_token_str(cs_str_make(l.p, (size_t)sp1)))
        return 0;
    return l.len > (size_t)sp1 + SIP_VERSION_LEN + 2 && l.p[l.len - SIP_VERSION_LEN - 1] == ' ' &&
           sip_is_version(cs_str_make(l.p + l.len - SIP_VERSION_LEN, SIP_VERSION_LEN), &q);
}

/* ------------------------------------------------------------ accessors */

cs_str sip_header_get(const sip_msg *m, const char *name, size_t idx)
{
    if (!m || !name)
        return CS_STR_NULL;
    cs_str want = cs_str_c(name);
    if (want.len == 1) {
        const char *lng = sip_compact_long(want.p[0]);
        if (lng)
            want = cs_str_c(lng);
    }
    char compact = 0;
    for (size_t i = 0; i < SIP_NCOMPACT; i++)
        if (cs_str_ieq_c(want, sip_compacts[i].name)) {
            compact = sip_compacts[i].c;
            break;
        }
    for (size_t i = 0; i < m->nhdr; i++) {
        cs_str n = m->hdr[i].name;
        int hit = (n.len == 1 && compact && cs_lower((unsigned char)n.p[0]) == compact) ||
                  cs_str_ieq(n, want);
        if (hit && idx-- == 0)
            return m->hdr[i].value;
    }
    return CS_STR_NULL;
}

/* Scans s from i for the end of the current element: the first unquoted,
 * un-bracketed byte equal to stop, or s.len.
 *   quoted-string  =  SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
 *   quoted-pair    =  "\" (%x00-09 / %x0B-0C / %x0E-7F)
 *   name-addr      =  [ display-name ] LAQUOT addr-spec RAQUOT */
static size_t sip_scan(cs_str s, size_t i, char stop)
{
    int inq = 0, inb = 0;
    for (; i < s.len; i++) {
        char c = s.p[i];
        if (inq) {
            if (c == '\\')
                i++; /* quoted-pair: skip the next byte (bounded by the loop) */
            else if (c == '"')
                inq = 0;
        } else if (c == '"') {
            inq = 1;
        } else if (inb) {
            if (c == '>')
                inb = 0;
        } else if (c == '<') {
            inb = 1;
        } else if (c == stop) {
            return i;
        }
    }
    return s.len;
}

int sip_list_next(cs_str *rest, cs_str *item)
{
    if (!rest || !item)
        return 0;
    cs_str s = *rest;
    for (;;) {
        while (s.len && (cs_is_ws((unsigned char)s.p[0]) || s.p[0] == ',')) {
            s.p++;
            s.len--;
        }
        if (s.len == 0) {
            *rest = cs_str_make(s.p, 0);
            return 0;
        }
        size_t end = sip_scan(s, 0, ',');
        cs_str it = cs_str_trim(cs_str_make(s.p, end));
        s.p += end;
        s.len -= end;
        if (it.len) {
            *item = it;
            *rest = s;
            return 1;
        }
    }
}

/*
 * generic-param  =  token [ EQUAL gen-value ]
 * gen-value      =  token / host / quoted-string
 * Parameters follow the first ';' outside quotes and <...>; the scan ends at
 * the first ',' outside them (the next list element).
 */
int sip_param(cs_str value, const char *name, cs_str *out)
{
    if (!name || !value.p)
        return 0;
    cs_str want = cs_str_c(name);
    size_t end = sip_scan(value, 0, ',');
    cs_str v = cs_str_make(value.p, end);
    size_t i = sip_scan(v, 0, ';');
    while (i < v.len) {
        size_t start = i + 1;
        size_t stop = sip_scan(v, start, ';');
        cs_str p = cs_str_make(v.p + start, stop - start);
        ptrdiff_t eq = cs_str_chr(p, '=');
        cs_str pn = cs_str_trim(eq >= 0 ? cs_str_make(p.p, (size_t)eq) : p);
        if (cs_str_ieq(pn, want)) {
            cs_str pv = eq >= 0 ? cs_str_trim(cs_str_make(p.p + eq + 1, p.len - (size_t)eq - 1))
                                : cs_str_make(p.p + p.len, 0);
            if (pv.len >= 2 && pv.p[0] == '"' && pv.p[pv.len - 1] == '"')
                pv = cs_str_make(pv.p + 1, pv.len - 2);
            if (out)
                *out = pv;
            return 1;
        }
        i = stop;
    }
    return 0;
}

/*
 * name-addr     =  [ display-name ] LAQUOT addr-spec RAQUOT
 * addr-spec     =  SIP-URI / SIPS-URI / absoluteURI
 * display-name  =  *(token LWS)/ quoted-string
 * In From/To/Contact without <...>, what follows ';' are header
 * parameters (RFC 3261 20.10), so the addr-spec ends there.
 */
cs_str sip_uri_of(cs_str value)
{
    value = cs_str_trim(value);
    if (!value.p)
        return CS_STR_NULL;
    /* The first '<' outside a quoted display name. */
    size_t lt = 0;
    for (int inq = 0; lt < value.len; lt++) {
        char c = value.p[lt];
        if (inq && c == '\\')
            lt++;
        else if (c == '"')
            inq = !inq;
        else if (!inq && c == '<')
            break;
    }
    if (lt < value.len) {
        cs_str in = cs_str_make(value.p + lt + 1, value.len - lt - 1);
        ptrdiff_t gt = cs_str_chr(in, '>');
        if (gt < 0)
            return CS_STR_NULL;
        return cs_str_trim(cs_str_make(in.p, (size_t)gt));
    }
    size_t end = 0;
    while (end < value.len && value.p[end] != ';' && value.p[end] != ',' &&
           !cs_is_ws((unsigned char)value.p[end]))
        end++;
    return cs_str_make(value.p, end);
}

/*
 * SIP-URI  =  "sip:" [ userinfo ] hostport uri-parameters [ headers ]
 * SIPS-URI =  "sips:" [ userinfo ] hostport uri-parameters [ headers ]
 * userinfo =  ( user / telephone-subscriber ) [ ":" password ] "@"
 * telephone-uri = "tel:" telephone-subscriber   (RFC 3966)
 * The user is cut at ':' (password) and at ';' (telephone-subscriber
 * parameters such as ;npdi, ;rn=), so "sip:+1555;npdi@h" gives "+1555".
 */
int sip_uri_user(cs_str value, cs_str *user)
{
    cs_str uri = sip_uri_of(value);
    cs_str rest;
    if (cs_str_iprefix(uri, "sip:"))
        rest = cs_str_make(uri.p + 4, uri.len - 4);
    else if (cs_str_iprefix(uri, "sips:"))
        rest = cs_str_make(uri.p + 5, uri.len - 5);
    else if (cs_str_iprefix(uri, "tel:"))
        rest = cs_str_make(uri.p + 4, uri.len - 4);
    else
        return -1;
    if (uri.p[0] == 's' || uri.p[0] == 'S') {
        ptrdiff_t at = cs_str_chr(rest, '@');
        if (at < 0)
            return -1;
        rest.len = (size_t)at;
    }
    size_t n = 0;
    while (n < rest.len && rest.p[n] != ':' && rest.p[n] != ';' && rest.p[n] != '?')
        n++;
    if (n == 0)
        return -1;
    if (user)
        *user = cs_str_make(rest.p, n);
    return 0;
}

/*
 * RFC 3326:
 *   Reason        =  "Reason" HCOLON reason-value *(COMMA reason-value)
 *   reason-value  =  protocol *(SEMI reason-params)
 *   protocol      =  "SIP" / "Q.850" / token
 *   reason-params =  protocol-cause / reason-text / reason-extension
 *   protocol-cause =  "cause" EQUAL cause
 *   cause         =  1*DIGIT
 */
int sip_q850_cause(cs_str reason_hdr)
{
    cs_str rest = reason_hdr, item;
    while (sip_list_next(&rest, &item)) {
        size_t semi = sip_scan(item, 0, ';');
        cs_str proto = cs_str_trim(cs_str_make(item.p, semi));
        if (!cs_str_ieq_c(proto, "Q.850"))
            continue;
        cs_str cause;
        uint64_t n;
        if (sip_param(item, "cause", &cause) && cs_str_to_u64(cause, 127, &n) == 0)
            return (int)n;
        return -1;
    }
    return -1;
}
