/*
 * cg_sip.h — the text of the SIP messages and SDP bodies callgen puts on the wire.
 *
 * A cg_sip_dialog holds what both ends of one dialog (one leg) know: Call-ID,
 * the two parties (user, address, tag, User-Agent), the transport and the CSeq
 * counters. cg_sip_request() writes a request from either side, cg_sip_response()
 * answers a request described by the cg_sip_txn the request call filled in.
 * Messages follow RFC 3261: Via with a "z9hG4bK" branch (new for every
 * transaction; CANCEL and the ACK of a non-2xx reuse the INVITE's), From/To with
 * tags, Call-ID, CSeq, Contact, Max-Forwards (requests), User-Agent (requests)
 * or Server (responses), and an exact Content-Length (also "0" without a body).
 * Branches are derived from the dialog's branch_seed, so the text is a pure
 * function of the dialog state: deterministic for a seed.
 *
 * SDP (RFC 4566 / 3264): v=, o=, s=, c= (IN IP4 or IN IP6), t=0 0, one
 * m=audio line with the offered codecs and telephone-event, a=rtpmap for each,
 * a=fmtp for codecs that have parameters and "0-16" for telephone-event,
 * a=ptime:20 and the direction attribute.
 *
 * Ownership: every function writes into the caller's buffer (out, cap) and
 * returns the length written (NUL-terminated, not counted) or a negative
 * cs_err (CS_ERR_OVERFLOW when cap is too small, CS_ERR_INVAL for bad input).
 * Not here: parsing, authentication, SIP over TLS, Record-Route/Route sets.
 */
#ifndef CALLGEN_SIP_H
#define CALLGEN_SIP_H

#include <stddef.h>
#include <stdint.h>

#include "cg_codec.h"

/* Largest message callgen writes (a fragmented INVITE is about 2 KB). */
#define CG_SIP_MAX 16384

typedef enum cg_sip_transport {
    CG_SIP_UDP = 0,
    CG_SIP_TCP = 1
} cg_sip_transport;

typedef struct cg_sip_party {
    char user[48];    /* URI user part: "+15551234567", "2001", "pbx" */
    char host[64];    /* IP address text, no brackets */
    int ipv6;         /* host is an IPv6 address (bracketed in URIs and Via) */
    uint16_t port;    /* SIP port */
    char tag[32];     /* From/To tag of this party */
    char ua[64];      /* User-Agent (requests) / Server (responses) */
} cg_sip_party;

typedef struct cg_sip_dialog {
    char call_id[96];
    cg_sip_party uac;        /* the caller: From of the initial INVITE */
    cg_sip_party uas;        /* the callee: To of the initial INVITE */
    char ruri_user[48];      /* user part of the initial Request-URI (DNIS, extension) */
    cg_sip_transport transport;
    int to_tag_known;        /* set once the callee sent a response with its tag */
    uint32_t cseq[2];        /* last CSeq sent by uac [0] and uas [1] */
    uint64_t branch_seed;    /* branch ids derive from this and branch_count */
    uint32_t branch_count;
} cg_sip_dialog;

/* One transaction as its request was sent; filled by cg_sip_request. */
typedef struct cg_sip_txn {
    int from_uac;       /* the request was sent by the uac */
    char method[16];
    uint32_t cseq;
    char branch[48];
    int to_tag;         /* the request's To carried the peer's tag */
} cg_sip_txn;

/* Writes a request from the uac (from_uac != 0) or the uas.
 * method: "INVITE", "ACK", "BYE", "CANCEL", "REFER", "NOTIFY", ...
 * invite: for "CANCEL" and the ACK of a non-2xx final response, the INVITE
 *         transaction they belong to (branch and CSeq number are reused);
 *         NULL otherwise ("ACK" of a 2xx takes the INVITE's CSeq number from
 *         the dialog: the last CSeq the sender used).
 * extra: further header lines, each ending in "\r\n", or NULL.
 * ctype/body/blen: the body (NULL/0 for none).
 * txn: filled with the transaction (may be NULL). */
int cg_sip_request(cg_sip_dialog *d, int from_uac, const char *method, const cg_sip_txn *invite,
                   const char *extra, const char *ctype, const char *body, size_t blen,
                   cg_sip_txn *txn, char *out, size_t cap);

/* Writes the response to req from the other side. The To tag of the
 * responder is included unless code == 100. Contact is added to 1xx (not 100)
 * and 2xx responses to INVITE, and to 2xx responses to other dialog-forming
 * methods (REFER). */
int cg_sip_response(const cg_sip_dialog *d, const cg_sip_txn *req, int code, const char *reason,
                    const char *extra, const char *ctype, const char *body, size_t blen,
                    char *out, size_t cap);

/* The standard reason phrase for a status code ("OK", "Busy Here", ...). */
const char *cg_sip_reason(int code);

/* "sip:user@host:port" (IPv6 hosts bracketed; user may be NULL or ""). */
int cg_sip_uri(const char *user, const char *host, int ipv6, uint16_t port, char *out,
               size_t cap);

typedef struct cg_sdp {
    const char *origin_user;   /* o= user, e.g. "pbx" or "-" */
    uint64_t sess_id;
    uint64_t sess_version;
    const char *addr;          /* c= and o= address */
    int ipv6;
    uint16_t port;             /* m=audio port (RTCP is port+1) */
    const cg_codec *codecs;    /* offered codecs, preference order */
    size_t ncodecs;
    int dtmf_pt;               /* telephone-event payload type (101), 0 = none */
    const char *direction;     /* "sendrecv", "sendonly", "recvonly", "inactive" */
} cg_sdp;

/* The telephone-event clock that goes with a codec: 48000 for Opus, else 8000. */
int cg_sdp_dtmf_clock(cg_codec c);

/* Writes the SDP body (lines end in CRLF). */
int cg_sdp_build(const cg_sdp *s, char *out, size_t cap);

#endif
