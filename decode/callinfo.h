/*
 * callinfo.h — call.json (docs/call-json.md, version 1) loaded into a plain C struct.
 *
 * decode reads a spool entry's call.json with callinfo_parse(): the text is
 * parsed with common/jsonp.h (strict RFC 8259) and every field of the contract
 * is copied into one `callinfo` that owns all its memory (strings, arrays,
 * nested records live in one arena). callinfo_free() releases everything; the
 * input text and the jsonp tree are not referenced after callinfo_parse()
 * returns. The database writer (decode/store.c) and the renderer
 * (decode/render.h) read the struct; nobody writes it after parsing.
 *
 * Representation:
 *   - Integers are int64_t. An int|null field that is JSON null holds CI_NONE
 *     (INT64_MIN); fields the contract declares plain int also accept null
 *     (capture writes null for an unknown time, e.g. a stream's first_us) and
 *     then hold CI_NONE too. Doubles (jitter_ms, max_jitter_ms, max_gap_ms) are
 *     double.
 *   - Strings are NUL-terminated UTF-8 copies; a string|null field that is null
 *     is NULL. A string containing a NUL byte (\u0000) is rejected (MALFORMED):
 *     every string can be handed to C and to PostgreSQL as is.
 *   - Booleans are int 0/1.
 *   - SSRCs ("0x%08x") are parsed to uint32_t; the text form is kept too.
 *   - direction is also mapped to an enum (ci_dir); an unknown direction text
 *     maps to CI_DIR_UNKNOWN and is not an error (the contract reserves it).
 *
 * Validation (what makes a document fail):
 *   - not JSON / not an object: the jsonp error code (CS_ERR_MALFORMED,
 *     CS_ERR_TRUNCATED, CS_ERR_LIMIT, ...), field "" and jsonp's reason;
 *   - "format" not "callscope-call": CS_ERR_MALFORMED, field "/format";
 *   - "version" not 1: CS_ERR_UNSUPPORTED, field "/version";
 *   - any field of the contract absent, of the wrong JSON type, null where the
 *     contract does not allow it, an integer out of its range (ports 0..65535,
 *     payload types 0..127, family 4|6, counts >= 0), an SSRC not "0x" + 8 hex
 *     digits: CS_ERR_MALFORMED, field = the JSON pointer of the value
 *     ("/streams/1/codec_pt"), reason saying what was expected;
 *   - references out of range: a stream's "leg" >= number of legs, a dtmf's
 *     "stream" >= number of streams, a hold's "leg" >= number of legs
 *     (CS_ERR_MALFORMED; the renderer indexes with them).
 *   Unknown extra members are ignored (the contract only ever adds fields).
 *   The message of a failure is meant for spool/failed/<uuid>/reason:
 *   callinfo_error.msg is "<pointer>: <reason>".
 *
 * SECURITY: reads spool files (written by capture, but a spool directory is
 * shared with operators): bounded by jsonp's limits (CALLINFO_MAX_BYTES of
 * text, depth 16); no allocation sized from a declared number; every array is
 * sized from the parsed tree, which is bounded by the input.
 * Pure: no globals, no logging.
 */
#ifndef CALLSCOPE_CALLINFO_H
#define CALLSCOPE_CALLINFO_H

#include <stddef.h>
#include <stdint.h>

#define CI_NONE            INT64_MIN /* a null (unknown) integer */
#define CALLINFO_MAX_BYTES (8u * 1024 * 1024)

typedef enum ci_dir {
    CI_DIR_UNKNOWN = 0,
    CI_DIR_CUSTOMER_TO_PBX, /* inbound leg: what the customer said */
    CI_DIR_PBX_TO_CUSTOMER, /* inbound leg: what the customer heard */
    CI_DIR_AGENT_TO_PBX,    /* agent legs: what an agent said */
    CI_DIR_PBX_TO_AGENT,    /* agent legs: what an agent heard */
} ci_dir;

typedef struct ci_event {
    int64_t at_us;
    char *dir;      /* "src:port->dst:port" */
    char *method;   /* requests; NULL for responses */
    int64_t status; /* responses; CI_NONE for requests */
    int64_t cseq;
    char *cseq_method;
    int sdp;        /* 0/1 */
    char *dir_attr; /* SDP direction or NULL */
} ci_event;

typedef struct ci_leg {
    int64_t index;
    char *role; /* "inbound", "agent", "other" */
    char *call_id, *from_tag, *to_tag, *from_user, *to_user, *ruri_user;
    char *agent_ext; /* or NULL */
    char *transport; /* "udp" / "tcp" */
    int family;      /* 4 or 6 */
    size_t nvlan;
    int64_t vlan[2];
    char *correlated_by;                              /* or NULL */
    int64_t invite_us, ringing_us, answer_us, end_us; /* CI_NONE when null */
    int64_t final_status;                             /* CI_NONE when null */
    char *ended_by;
    int64_t q850_cause; /* CI_NONE when null */
    char *sip_reason;   /* or NULL */
    int64_t sip_messages, retransmissions;
    size_t nevents;
    ci_event *events;
    int64_t events_dropped;
} ci_leg;

typedef struct ci_rtcp {
    int64_t packets, sr, rr;
    int64_t last_fraction_lost, last_cumulative_lost, last_jitter; /* CI_NONE when null */
} ci_rtcp;

typedef struct ci_stream {
    int64_t index;
    int64_t leg; /* 0 <= leg < callinfo.nlegs */
    char *direction;
    ci_dir dir;
    char *ssrc_text;
    uint32_t ssrc;
    size_t nssrcs;
    uint32_t *ssrcs;
    char **ssrcs_text;
    char *src;
    int64_t src_port;
    char *dst;
    int64_t dst_port;
    size_t npayload_types;
    int *payload_types;
    char *codec;                /* or NULL */
    int64_t codec_pt;           /* CI_NONE when null, else 0..127 */
    int64_t clock_rate;         /* CI_NONE when null */
    int64_t telephone_event_pt; /* CI_NONE when null, else 0..127 */
    int64_t channels;           /* SDP channel count of the codec; CI_NONE when null or absent */
    int srtp;                   /* the SDP offered SRTP: payloads are encrypted (0 when absent) */
    int64_t packets, bytes, expected, lost, duplicates, out_of_order;
    double jitter_ms, max_jitter_ms, max_gap_ms;
    int64_t ssrc_changes;
    int64_t first_us, last_us; /* CI_NONE when null */
    ci_rtcp rtcp;
} ci_stream;

typedef struct ci_hold {
    int64_t start_us, end_us; /* end_us CI_NONE: never resumed */
    int64_t leg;
    char *by; /* "agent" / "caller" */
} ci_hold;

typedef struct ci_transfer {
    int64_t at_us;
    char *kind;      /* "refer" / "new_agent_leg" */
    char *from, *to; /* or NULL */
} ci_transfer;

typedef struct ci_dtmf {
    char *digit; /* one character */
    int64_t at_us, duration_ms;
    int64_t stream; /* 0 <= stream < callinfo.nstreams */
} ci_dtmf;

typedef struct ci_pcap {
    char *file;
    int64_t frames, bytes, linktype, skipped_linktype;
    int complete;
} ci_pcap;

typedef struct ci_counters {
    int64_t sip_messages, rtp_packets, rtcp_packets, malformed, media_dropped;
} ci_counters;

typedef struct callinfo {
    char *format;    /* "callscope-call" */
    int64_t version; /* 1 */
    char *uuid, *probe;
    char *call_id; /* NULL only when capture had no inbound leg */
    int64_t invite_us, ringing_us, answer_us, end_us, duration_us;
    char *outcome;
    int64_t abandon_us;
    char *ended_by, *end_reason;
    int64_t final_status, q850_cause;
    char *sip_reason; /* or NULL */
    char *ani, *dnis;
    size_t nagents;
    char **agents;
    size_t nholds;
    ci_hold *holds;
    size_t ntransfers;
    ci_transfer *transfers;
    size_t nlegs;
    ci_leg *legs;
    size_t nstreams;
    ci_stream *streams;
    int64_t streams_refused, rtp_refused;
    size_t ndtmf;
    ci_dtmf *dtmf;
    int64_t dtmf_dropped;
    int has_pcap; /* 0 when "pcap" is null (then pcap is zeroed) */
    ci_pcap pcap;
    ci_counters counters;
    void *arena_; /* private: owns every allocation above */
} callinfo;

typedef struct callinfo_error {
    char field[160]; /* JSON pointer of the offending value ("" = the document) */
    char msg[320];   /* "<field>: <reason>", NUL-terminated */
} callinfo_error;

/* Parses text[0, len) (need not be NUL-terminated). On CS_OK *out is a new
 * callinfo the caller frees with callinfo_free(). On error *out is NULL and err
 * (optional) names the field. Returns CS_OK, CS_ERR_MALFORMED,
 * CS_ERR_UNSUPPORTED (version), a jsonp error (TRUNCATED, LIMIT, OVERFLOW),
 * CS_ERR_NOMEM, CS_ERR_INVAL (NULL text with len > 0, NULL out). */
int callinfo_parse(const char *text, size_t len, callinfo **out, callinfo_error *err);

/* Frees ci and everything it holds. NULL is a no-op. */
void callinfo_free(callinfo *ci);

/* "customer_to_pbx" -> CI_DIR_CUSTOMER_TO_PBX ...; NULL or unknown -> CI_DIR_UNKNOWN. */
ci_dir ci_dir_from_name(const char *s);
const char *ci_dir_name(ci_dir d); /* static string; "unknown" */

#endif
