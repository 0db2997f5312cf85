/*
 * sdp.h — an SDP parser (RFC 8866 / 4566) for the audio media of a call.
 *
 * Lines are <type>=<value> (CRLF or LF). Kept: o= (user, session id and
 * version), session-level c= and direction, each m= (media type, port,
 * number of ports, protocol, formats), per-media c=, a=rtpmap, a=fmtp,
 * a=ptime, a=sendrecv|sendonly|recvonly|inactive, a=rtcp (RFC 3605),
 * a=rtcp-mux. Media-level attributes override session-level ones; a media
 * without c= uses the session's. c=IN IP4 0.0.0.0 (or IP6 ::) is the RFC 2543
 * hold and is reported as direction SDP_DIR_INACTIVE with hold_zero set.
 * Unknown lines and attributes are ignored; a malformed line of a kind we
 * keep fails the parse (CS_ERR_MALFORMED) — except for lines after the
 * first CS_SDP_MAX_MEDIA media, which are ignored (counted in nmedia_total).
 * Static payload types (RFC 3551: 0 PCMU, 3 GSM, 4 G723, 8 PCMA, 9 G722,
 * 13 CN, 18 G729, ...) get their encoding and clock even without rtpmap.
 *
 * SECURITY: hostile bytes; (pointer, length), never past len; counts
 * capped (CS_SDP_MAX_MEDIA, CS_SDP_MAX_FORMATS). Pure: no globals, no
 * allocation, no logging. Ownership: cs_str fields borrow from the input.
 */
#ifndef CALLSCOPE_CAPTURE_SDP_H
#define CALLSCOPE_CAPTURE_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "str.h"

typedef enum sdp_dir {
    SDP_DIR_SENDRECV = 0,
    SDP_DIR_SENDONLY,
    SDP_DIR_RECVONLY,
    SDP_DIR_INACTIVE
} sdp_dir;

const char *sdp_dir_name(sdp_dir d); /* "sendrecv", ... */

typedef struct sdp_format {
    int pt;          /* 0..127 */
    cs_str encoding; /* "PCMU", "opus", "telephone-event"; empty if unknown dynamic */
    int clock;       /* Hz; 0 if unknown */
    int channels;    /* 1 unless given */
    cs_str fmtp;     /* a=fmtp parameters, empty if none */
} sdp_format;

typedef struct sdp_media {
    cs_str type;        /* "audio", "video", "image", ... */
    uint16_t port;      /* 0 = media rejected/disabled */
    int nports;         /* m=audio 4000/2 -> 2; default 1 */
    cs_str proto;       /* "RTP/AVP", "RTP/SAVP", "udptl", ... */
    int family;         /* AF_INET / AF_INET6 of the effective connection address; 0 if none */
    uint8_t addr[16];
    int hold_zero;      /* c= was 0.0.0.0 */
    sdp_format fmt[CS_SDP_MAX_FORMATS];
    size_t nfmt;
    int ptime;          /* ms, 0 if not given */
    sdp_dir dir;        /* effective (media, else session, else sendrecv) */
    uint16_t rtcp_port; /* a=rtcp port, else port + 1 */
    int rtcp_family;    /* a=rtcp:port IN IP4|IP6 addr given: its family, else 0 (use addr) */
    uint8_t rtcp_addr[16];
    int rtcp_mux;       /* a=rtcp-mux */
} sdp_media;

typedef struct sdp {
    cs_str origin_user;
    uint64_t sess_id, sess_version;
    int family;         /* session-level c= (0 if none) */
    uint8_t addr[16];
    sdp_dir dir;        /* session-level direction attribute */
    sdp_media media[CS_SDP_MAX_MEDIA];
    size_t nmedia;
    size_t nmedia_total; /* m= lines seen, including those past the cap */
} sdp;

/* CS_OK, CS_ERR_MALFORMED (not SDP: no v=0 first line, bad m=/c= line),
 * CS_ERR_TRUNCATED (empty). */
int sdp_parse(const uint8_t *data, size_t len, sdp *out);

/* The format entry for payload type pt in media m, or NULL. */
const sdp_format *sdp_format_of(const sdp_media *m, int pt);

#endif
