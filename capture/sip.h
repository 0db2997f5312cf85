/*
 * sip.h — a hand-written SIP message parser (RFC 3261) over (pointer, length).
 *
 * Grammar implemented (RFC 3261 section 7 and 25.1, simplified where noted):
 *   SIP-message    = Request / Response
 *   Request-Line   = Method SP Request-URI SP "SIP/2.0" CRLF
 *   Status-Line    = "SIP/2.0" SP 3DIGIT SP Reason-Phrase CRLF
 *   message-header = field-name HCOLON field-value CRLF   (LWS folding allowed:
 *                    a line starting with SP/HTAB continues the previous value)
 *   message-body   = after the empty line; Content-Length bytes when present
 * Bare LF line ends are accepted (seen in the field); header names are
 * case-insensitive; compact forms (i f t v m l c k s e o r u b y a) are the
 * same headers as their long names. Several values may share one header
 * field (comma-separated) or come in several fields; sip_list_next() walks
 * them respecting quotes and <...>.
 *
 * SECURITY: the message is hostile. Nothing is read past len; every header
 * count and length is capped (limits.h: CS_SIP_MAX_HEADERS,
 * CS_SIP_MAX_VALUE); Content-Length larger than the bytes present is
 * CS_ERR_TRUNCATED (UDP: the datagram is the message), never trusted for a
 * read. Folded values are unfolded into the sip_msg's own scratch space.
 * Pure: no globals, no allocation, no logging.
 *
 * Ownership: every cs_str in sip_msg borrows from the input buffer or from
 * the sip_msg's scratch; valid while both live and are unchanged. A sip_msg
 * is large (scratch included): allocate one per parser thread and reuse it.
 *
 * Multipart bodies (multipart/mixed, /related, /alternative): when a part
 * has Content-Type application/sdp, body and content_type refer to that part
 * (quirks has SIP_QUIRK_MULTIPART); otherwise they describe the whole body.
 *
 * BUGS: S/MIME is ignored.
 */
#ifndef CALLSCOPE_CAPTURE_SIP_H
#define CALLSCOPE_CAPTURE_SIP_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "str.h"

typedef enum sip_method {
    SIP_METHOD_UNKNOWN = 0,
    SIP_METHOD_INVITE,
    SIP_METHOD_ACK,
    SIP_METHOD_BYE,
    SIP_METHOD_CANCEL,
    SIP_METHOD_REGISTER,
    SIP_METHOD_OPTIONS,
    SIP_METHOD_INFO,
    SIP_METHOD_PRACK,
    SIP_METHOD_UPDATE,
    SIP_METHOD_REFER,
    SIP_METHOD_NOTIFY,
    SIP_METHOD_SUBSCRIBE,
    SIP_METHOD_MESSAGE,
    SIP_METHOD_PUBLISH
} sip_method;

/* "INVITE", ... ; "UNKNOWN" for SIP_METHOD_UNKNOWN. */
const char *sip_method_name(sip_method m);
/* Case-sensitive per RFC 3261 (methods are upper case tokens). */
sip_method sip_method_parse(cs_str s);

/* Real-world deviations that sip_parse() accepted (sip_msg.quirks), so the
 * caller can count them. */
#define SIP_QUIRK_BARE_LF      0x01u /* a line ended in LF without CR */
#define SIP_QUIRK_VERSION_CASE 0x02u /* "sip/2.0": not the RFC's exact case */
#define SIP_QUIRK_NO_REASON    0x04u /* status line without reason phrase */
#define SIP_QUIRK_FOLDED       0x08u /* a header value was folded (unfolded in scratch) */
#define SIP_QUIRK_MULTIPART    0x10u /* body is the application/sdp part of a multipart */

typedef struct sip_header {
    cs_str name;  /* as written (compact or long form) */
    cs_str value; /* trimmed, unfolded */
} sip_header;

typedef struct sip_msg {
    int is_request;
    /* request line */
    sip_method method;      /* SIP_METHOD_UNKNOWN for extension methods (see method_str) */
    cs_str method_str;
    cs_str request_uri;
    /* status line */
    int status;             /* 100..699 */
    cs_str reason;
    /* headers in order */
    sip_header hdr[CS_SIP_MAX_HEADERS];
    size_t nhdr;
    /* well-known headers, extracted (empty when absent) */
    cs_str call_id;         /* Call-ID / i */
    cs_str from;            /* From / f: whole value */
    cs_str to;              /* To / t */
    cs_str from_tag;        /* ;tag= parameter of From */
    cs_str to_tag;
    cs_str from_user;       /* user part of the From URI ("+15551234567") */
    cs_str to_user;
    cs_str ruri_user;       /* user part of the Request-URI (requests) */
    uint32_t cseq;          /* CSeq number */
    sip_method cseq_method; /* CSeq method */
    cs_str via_branch;      /* branch of the top Via */
    cs_str contact;
    cs_str content_type;    /* media type without parameters, e.g. "application/sdp" */
    int64_t content_length; /* -1 when absent */
    cs_str user_agent;      /* User-Agent or Server */
    cs_str reason_hdr;      /* Reason header (RFC 3326: "Q.850;cause=16;text=...") */
    cs_str refer_to;        /* Refer-To / r */
    cs_str body;            /* message body (Content-Length bytes, or to the end) */
    unsigned quirks;        /* SIP_QUIRK_* accepted in this message */
    /* private: unfolded values */
    char scratch[CS_SIP_MAX_MSG];
    size_t scratch_used;
} sip_msg;

/*
 * Parses one whole message of len bytes. CS_OK; CS_ERR_MALFORMED (bad start
 * line, header without colon, no Call-ID/CSeq/From/To), CS_ERR_TRUNCATED
 * (no end of headers, body shorter than Content-Length), CS_ERR_LIMIT (too
 * many headers, value too long, message longer than CS_SIP_MAX_MSG).
 * On error *out is left in an unspecified but safe state.
 */
int sip_parse(const uint8_t *data, size_t len, sip_msg *out);

/* Cheap test whether a UDP/TCP payload starts like a SIP message (request
 * line with a known or token method and "SIP/2.0", or a status line). */
int sip_looks_like(const uint8_t *data, size_t len);

/* The idx-th header field named `name` (long name; its compact form matches
 * too), case-insensitive. Empty cs_str (p == NULL) when absent. */
cs_str sip_header_get(const sip_msg *m, const char *name, size_t idx);

/* Walks a comma-separated header value: returns 1 and the next element in
 * *item (trimmed) and advances *rest, 0 at the end. Commas inside quotes or
 * <...> do not split. */
int sip_list_next(cs_str *rest, cs_str *item);

/* The value of parameter `name` in a ;-separated parameter list of a header
 * value (outside <...>), e.g. tag, branch, cause. Returns 1 if found (value
 * may be empty for a flag parameter), 0 if not. Case-insensitive names. */
int sip_param(cs_str value, const char *name, cs_str *out);

/* The user part of a name-addr / addr-spec / URI ("\"Bob\" <sip:+1555@h;x>"
 * -> "+1555"; "tel:+1555;p" -> "+1555"). 0 and the user, or -1 if none. */
int sip_uri_user(cs_str value, cs_str *user);

/* The URI inside a name-addr (between < >) or the addr-spec itself. */
cs_str sip_uri_of(cs_str value);

/* Q.850 cause from a Reason header value ("Q.850;cause=16"): 0..127 or -1. */
int sip_q850_cause(cs_str reason_hdr);

#endif
