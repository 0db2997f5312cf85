/*
 * call.h — the call model: calls, legs, streams, and the SIP dialog state
 * machine that fills them in (docs/capture-calls.md describes the rules).
 *
 *   call   what the customer experienced: one inbound leg plus every agent
 *          leg the PBX placed for it (joined by a correlation header), with
 *          the streams of all its legs, holds, transfers and DTMF digits.
 *   leg    one SIP dialog, keyed by Call-ID. The leg's "caller" is the UAC of
 *          its initial INVITE, the "callee" the UAS.
 *   stream RTP sent in one direction of one leg (customer_to_pbx, ...), one
 *          SSRC or an SSRC followed by its replacements.
 *
 * The engine (engine.c) finds legs by Call-ID and media by address and then
 * hands the parsed message or datagram to call_sip() / call_rtp(); everything
 * here is about one call. Time is packet time (microseconds). No globals, no
 * logging; allocation happens only when a leg, a stream or a leg's event list
 * grows, never per RTP packet.
 *
 * Limits (named below) bound everything a peer can make grow: legs per call,
 * events per leg, streams (configured, default CS_DEF_MAX_STREAMS_PER_CALL),
 * SSRCs listed per stream, holds, transfers, DTMF digits, media addresses.
 * Past a limit the item is dropped and counted (events_dropped, ...).
 *
 * Ownership: a call owns its legs, streams and event arrays; call_free frees
 * them (the engine removes legs from its Call-ID index and media keys from
 * the mediamap before that). Strings copied from SIP are truncated to the
 * sizes below and NUL-terminated; they may hold any byte but NUL.
 */
#ifndef CALLSCOPE_CAPTURE_CALL_H
#define CALLSCOPE_CAPTURE_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "hpool.h"
#include "mediamap.h"
#include "rtp.h"
#include "sdp.h"
#include "sip.h"
#include "spool.h"
#include "uuid.h"
#include "wq.h"

#define CALL_MAX_LEGS       8    /* legs per call; more are not joined (a new call instead) */
#define CALL_MAX_EVENTS     64   /* SIP events kept per leg; more counted in events_dropped */
#define CALL_MAX_HOLDS      16
#define CALL_MAX_TRANSFERS  8
#define CALL_MAX_DTMF       64   /* digits per call */
#define CALL_MAX_MEDIA      32   /* media addresses (RTP + RTCP ports) registered per call */
#define CALL_MAX_SSRCS      4    /* SSRCs listed per stream (all still counted in stats) */
#define CALL_MAX_PTS        8    /* payload types listed per stream */
#define CALL_MAX_FMTS       12   /* rtpmap entries kept per side of a leg */
#define CALL_ID_MAX         256  /* bytes of a Call-ID; longer Call-IDs are not followed */
#define CALL_TAG_MAX        64   /* bytes kept of tags */
#define CALL_USER_MAX       64   /* bytes kept of user parts */
#define CALL_REASON_MAX     96   /* bytes kept of a SIP reason text */
#define CALL_SIGS           8    /* recent transactions remembered to spot retransmissions */
#define CALL_REFUSED_KEEP   8    /* refused SSRCs remembered to count streams once */
#define CALL_INLINE_STREAMS 4    /* streams stored inside the call (more: on the heap) */
#define CALL_HINT_LEGS      4    /* legs with a stream hint (call.stream_hint) */
#define CALL_SSRC_OVERLAP_US 1000000 /* old SSRC back within this of a change: 2 streams */

typedef enum call_role { CALL_ROLE_INBOUND = 0, CALL_ROLE_AGENT, CALL_ROLE_OTHER } call_role;

/* Direction of RTP, from the call's point of view. */
typedef enum call_dir {
    CALL_DIR_UNKNOWN = 0,
    CALL_DIR_CUSTOMER_TO_PBX,
    CALL_DIR_PBX_TO_CUSTOMER,
    CALL_DIR_AGENT_TO_PBX,
    CALL_DIR_PBX_TO_AGENT
} call_dir;

typedef enum call_outcome {
    CALL_OUT_ANSWERED = 0,
    CALL_OUT_ABANDONED,
    CALL_OUT_BUSY,
    CALL_OUT_NO_ANSWER,
    CALL_OUT_FAILED
} call_outcome;

typedef enum call_end_reason {
    CALL_END_NONE = 0,
    CALL_END_BYE,
    CALL_END_CANCEL,
    CALL_END_RTP_TIMEOUT,
    CALL_END_SETUP_TIMEOUT,
    CALL_END_MAX_DURATION,
    CALL_END_CAPTURE_STOPPED,
    CALL_END_FINAL_RESPONSE
} call_end_reason;

/* Who ended the call (call level). */
typedef enum call_ender {
    CALL_BY_NONE = 0,
    CALL_BY_CALLER,
    CALL_BY_AGENT,
    CALL_BY_PBX,
    CALL_BY_TIMEOUT,
    CALL_BY_CAPTURE
} call_ender;

/* Who ended a leg (leg level). */
typedef enum call_leg_ender {
    LEG_BY_NONE = 0,
    LEG_BY_CALLER,
    LEG_BY_CALLEE,
    LEG_BY_TIMEOUT,
    LEG_BY_CAPTURE
} call_leg_ender;

typedef enum call_leg_state {
    LEG_INVITING = 0, /* initial INVITE seen, no final response */
    LEG_CANCELLING,   /* CANCEL seen, waiting for the final response */
    LEG_CONFIRMED,    /* 2xx to the initial INVITE */
    LEG_ENDED         /* BYE seen, or a final non-2xx response */
} call_leg_state;

const char *call_dir_name(call_dir d);          /* "customer_to_pbx", ..., "unknown" */
const char *call_outcome_name(call_outcome o);  /* "answered", ... */
const char *call_end_reason_name(call_end_reason r); /* "bye", ... ; NULL for NONE */
const char *call_ender_name(call_ender e);      /* "caller", ... ; NULL for NONE */
const char *call_leg_ender_name(call_leg_ender e);

/* An IP endpoint: family 4 or 6 (0 = none), address in network order. */
typedef struct call_addr {
    uint8_t family;
    uint8_t ip[16];
    uint16_t port;
} call_addr;

/* What the engine knows about the frame a message or datagram came in. */
typedef struct call_pkt {
    uint64_t ts_us;
    call_addr src, dst;
    int tcp;
    int nvlan;
    uint16_t vlan[2];
} call_pkt;

typedef struct call_event {
    uint64_t at_us;
    call_addr src, dst;
    uint32_t cseq;
    int16_t status;       /* 0 for requests */
    uint8_t method;       /* sip_method of a request */
    uint8_t cseq_method;  /* sip_method of the CSeq */
    uint8_t sdp;          /* carried an SDP body */
    int8_t dir_attr;      /* sdp_dir of the first audio media, -1 none */
} call_event;

/* rtpmap entries of one side's latest SDP. */
typedef struct call_fmtset {
    unsigned n;
    struct {
        uint8_t pt;
        uint8_t channels; /* rtpmap's channel count, 1 unless given */
        char enc[24];
        uint32_t clock;
    } f[CALL_MAX_FMTS];
    int te_pt;    /* telephone-event payload type, -1 none */
    uint8_t srtp; /* the m= line's protocol is SRTP (RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP[F]) */
} call_fmtset;

typedef struct call_sig {
    uint32_t cseq;
    int16_t status;
    uint8_t method, cseq_method, from_caller;
} call_sig;

typedef struct call_leg {
    struct call *call;       /* back pointer (not owned) */
    struct call_leg *hnext;  /* Call-ID index chain (engine's) */
    uint64_t hash;           /* Call-ID hash (engine's) */
    unsigned index;
    call_role role;
    int corr_hdr;            /* correlation header index that joined it, -1 */
    char call_id[CALL_ID_MAX + 1];
    size_t call_id_len;
    char from_tag[CALL_TAG_MAX + 1], to_tag[CALL_TAG_MAX + 1];
    char from_user[CALL_USER_MAX + 1], to_user[CALL_USER_MAX + 1], ruri_user[CALL_USER_MAX + 1];
    char agent_ext[CALL_USER_MAX + 1]; /* answerer: P-Asserted-Identity of the 2xx, else to_user */
    int tcp;
    uint8_t family;
    int nvlan;
    uint16_t vlan[2];
    call_addr uac, uas;      /* initial INVITE's source and destination */
    uint32_t invite_cseq;
    uint64_t invite_us, ringing_us, answer_us, cancel_us, bye_us, ended_us, last_us;
    int final_status;        /* final response to the initial INVITE, 0 none */
    call_leg_state state;
    call_leg_ender ended_by;
    int bye_from_caller;     /* valid when bye_us != 0 */
    int answer_identified;   /* the 2xx to the initial INVITE named who answered (P-Asserted-Identity) */
    int q850;                /* -1 none */
    char sip_reason[CALL_REASON_MAX + 1];
    call_event *events;
    unsigned nevents, capevents;
    uint64_t events_dropped;
    uint64_t sip_messages, retransmissions;
    call_sig sig[CALL_SIGS];
    unsigned nsig;
    call_fmtset fmts[2];     /* [0] the caller's latest SDP, [1] the callee's */
    uint32_t resume_cseq;    /* re-INVITE/UPDATE that resumes a hold, 0 none */
    int resume_from_caller;
} call_leg;

typedef struct call_stream {
    /* Hot: read or written for every RTP packet, kept together at the start
     * of the (cache-line aligned) stream, followed by the hot part of st. */
    _Alignas(64) unsigned leg;
    call_dir dir;
    uint32_t cur_ssrc;
    unsigned nssrcs;
    int te_pt;               /* -1 none */
    /* The decision for the last payload type seen (call.c): valid while
     * codec_gen equals the call's fmts_gen and the packet's PT is codec_pt. */
    uint32_t codec_gen;      /* 0: nothing cached */
    int codec_pt;
    int codec_clock;         /* RTP clock from the SDP, 0 unknown */
    int codec_cn;            /* the SDP names it "CN" */
    int codec_k;             /* its index in pts[], -1 not listed */
    rtp_stream_stats st;
    struct {
        uint8_t pt;
        uint64_t packets;
    } pts[CALL_MAX_PTS];
    unsigned npts;
    /* Cold: stream creation, SSRC changes, DTMF, RTCP, the end. */
    unsigned index;
    call_addr src, dst;      /* of its first packet */
    uint32_t prev_ssrc;
    uint64_t changed_us;     /* last SSRC change, 0 none */
    uint32_t ssrcs[CALL_MAX_SSRCS];
    rtp_dtmf dtmf;
    struct {
        uint64_t packets, sr, rr;
        int have_rb;
        uint8_t fraction_lost;
        int32_t cumulative_lost;
        uint32_t jitter;
    } rtcp;
} call_stream;

typedef struct call_hold {
    uint64_t start_us, end_us; /* end 0 = not resumed */
    unsigned leg;
    int by_agent;
} call_hold;

typedef struct call_transfer {
    uint64_t at_us;
    int refer;               /* 1 REFER, 0 new agent leg */
    int matched;             /* a REFER whose new agent leg answered */
    char from[CALL_USER_MAX + 1], to[CALL_USER_MAX + 1];
} call_transfer;

typedef struct call_dtmf {
    char digit;
    uint64_t at_us;
    uint32_t duration_ms;
    unsigned stream;
} call_dtmf;

/* call.pcap state; managed by callout.c. */
typedef struct call_pcap {
    /* per frame (64 bytes) */
    int failed;              /* a write failed: no further frames */
    int linktype;            /* of the first frame; -1 before it */
    spool_entry *entry;      /* the call's spool entry (owned until commit/abort) */
    uint8_t *buf;            /* block being filled, CALLOUT_WBUF bytes (from the wq) */
    size_t len;
    uint64_t last_frame;     /* engine frame number last written (no double writes) */
    uint64_t frames, bytes;
    /* rare */
    uint64_t skipped_linktype, write_errors;
    wq_file out;             /* call.pcap in the write queue; out.fd owned by the entry, -1 none */
} call_pcap;

typedef struct call {
    /* Hot, first cache line: read or written for every RTP packet. */
    _Alignas(64) unsigned nlegs;
    unsigned nstreams;
    call_stream *streams;    /* capstreams entries: streams_inline, or 64-byte aligned heap */
    uint64_t last_activity_us;
    uint64_t rtp_packets, rtcp_packets;
    uint32_t fmts_gen;       /* bumped whenever a leg's payload-type sets change */
    /* stream index + 1 last used per (leg, direction - 1) for the first
     * CALL_HINT_LEGS legs, 0 none (or index > 254): a hint, checked before
     * use (call.c stream_find) */
    uint8_t stream_hint[CALL_HINT_LEGS][4];
    /* Second cache line: what every frame written to call.pcap touches. */
    call_pcap pcap;
    /* Cold. */
    struct call *prev, *next; /* engine's list of open calls */
    unsigned legs_ended, capstreams;
    uint64_t malformed;
    char uuid[UUID_STR_LEN + 1];
    call_leg *legs[CALL_MAX_LEGS];
    uint64_t streams_refused;   /* distinct streams refused (max_streams), see refused[] */
    uint64_t rtp_refused;       /* RTP packets of refused streams */
    uint32_t refused[CALL_REFUSED_KEEP];        /* SSRCs refused lately (distinct counting) */
    unsigned nrefused;
    call_hold holds[CALL_MAX_HOLDS];
    unsigned nholds;
    int hold_open;           /* index into holds, -1 none */
    call_transfer transfers[CALL_MAX_TRANSFERS];
    unsigned ntransfers;
    call_dtmf *dtmf;         /* CALL_MAX_DTMF entries, allocated at the first digit */
    unsigned ndtmf;
    uint64_t dtmf_dropped;
    call_addr media[CALL_MAX_MEDIA]; /* keys this call put into the mediamap */
    unsigned nmedia;
    uint64_t media_dropped;
    uint64_t invite_us, all_ended_us;
    unsigned answered_agents;
    int answer_needs_identity; /* call_env's, as of the last SIP message */
    /* counters */
    uint64_t sip_messages;
    /* the conclusion, filled by call_conclude */
    int concluded;
    call_outcome outcome;
    call_end_reason end_reason;
    call_ender ended_by;
    uint64_t answer_us, abandon_us, end_us;
    /* The first CALL_INLINE_STREAMS streams live in the call itself, so
     * their address is known from the call's alone (call_prefetch). */
    call_stream streams_inline[CALL_INLINE_STREAMS];
} call;

/*
 * Asks the CPU to start loading what call_rtp() will touch first — the
 * call's first two cache lines and the hot lines of its first two streams — so
 * the misses overlap instead of following one another (the stream's address
 * otherwise comes from the call's line). Only a hint: nothing is read.
 * always_inline: GCC 12 deems a function made only of prefetches "const"
 * and deletes the call before it would inline it.
 */
__attribute__((always_inline)) static inline void call_prefetch(const call *c)
{
    __builtin_prefetch(c);
    __builtin_prefetch(&c->pcap);
    for (int i = 0; i < 2; i++) {
        const char *s = (const char *)&c->streams_inline[i];
        __builtin_prefetch(s);
        __builtin_prefetch(s + 64);
        __builtin_prefetch(s + 128);
        __builtin_prefetch(s + 192);
    }
}

/* Limits and settings the model needs (from ce_config). */
typedef struct call_env {
    mediamap *mm;            /* borrowed */
    size_t max_streams;
    /* capture.answer_needs_identity: on a call without agent legs, the
     * inbound leg's 2xx is an agent's answer only when it carries
     * P-Asserted-Identity (PBXs that answer into their own IVR or queue) */
    int answer_needs_identity;
} call_env;

/* A new call, empty (no legs), from pool (the engine's: hpool_new(sizeof(call),
 * _Alignof(call))) or, pool NULL, from aligned_alloc. NULL on ENOMEM. */
call *call_new(hpool *pool, uint64_t now_us);
/* Frees the call and everything it owns (the call itself back to pool, the
 * one call_new took it from). It must no longer be in the engine's indexes;
 * media keys are removed by call_media_release. */
void call_free(hpool *pool, call *c);

/*
 * Adds a leg from an initial INVITE (m: a parsed request; p: its frame).
 * role and corr_hdr as decided by the engine. The leg's Call-ID must be at
 * most CALL_ID_MAX bytes. Returns the leg (owned by c), or NULL (CALL_MAX_LEGS
 * reached or ENOMEM). The INVITE itself is then given to call_sip().
 */
call_leg *call_add_leg(call *c, const sip_msg *m, const call_pkt *p, call_role role,
                       int corr_hdr);

/* Result flags of call_sip(). */
enum {
    CALL_SIP_RETRANSMISSION = 1u << 0, /* same transaction seen already: no new event */
    CALL_SIP_SDP_BAD = 1u << 1,        /* an SDP body failed to parse (counted as malformed) */
    CALL_SIP_MEDIA_LIMIT = 1u << 2,    /* a media address was not registered (limit) */
};

/*
 * Applies one SIP message of leg `leg` to the leg and its call: event list,
 * dialog state, ringing/answer/end times, CANCEL/BYE, holds, REFER, and every
 * SDP's media addresses into env->mm (parsed here with sdp_parse; `sd` is
 * scratch space for it). Returns CALL_SIP_* flags.
 */
unsigned call_sip(call *c, call_leg *leg, const sip_msg *m, const call_pkt *p,
                  const call_env *env, sdp *sd);

/* Result of call_rtp(). */
typedef struct call_rtp_out {
    int rtcp;         /* it was RTCP */
    int malformed;    /* failed to parse (counted in the call too) */
    int new_stream;   /* a stream was created */
    int refused;      /* max streams reached: not accounted; 2 = first packet of
                       * a stream not refused before (count it once) */
    int dtmf;         /* digits completed by this packet */
} call_rtp_out;

/*
 * One RTP or RTCP datagram matched to this call through the mediamap value v;
 * reversed: matched by its source address (symmetric RTP), so the direction
 * is the opposite of v->dir. Never allocates except when a stream is created.
 */
void call_rtp(call *c, const mm_value *v, int reversed, const call_pkt *p, const uint8_t *data,
              size_t len, const call_env *env, call_rtp_out *out);

/* The dominant payload type of a stream (most packets, telephone-event and
 * CN excluded) and its encoding and clock from the leg's SDP ("" and 0 when
 * the SDP did not say). Returns 0 when the stream has no audio packets. */
int call_stream_codec(const call *c, const call_stream *s, int *pt, const char **enc, int *clock);
/* The channel count of the stream's codec (call_stream_codec's payload type)
 * as the SDP gave it, 0 when unknown, and whether the SDP that announced it
 * offered SRTP (the payload is then encrypted and cannot be decoded). */
void call_stream_format(const call *c, const call_stream *s, int *channels, int *srtp);

/* The direction opposite to d (customer_to_pbx <-> pbx_to_customer, ...). */
call_dir call_dir_reverse(call_dir d);

/* 1 when every leg has ended (BYE or final non-2xx). */
int call_all_legs_ended(const call *c);
/* 1 when some leg got a 2xx to its INVITE. */
int call_any_answered(const call *c);

/*
 * Ends the call: reason CALL_END_NONE derives the end from the legs (all
 * ended); a timeout, max duration or capture stop gives it explicitly, with
 * end_us the time the call is considered over. Flushes open DTMF events,
 * fills outcome, answer_us, abandon_us, end_us, ended_by and every leg's end.
 * Idempotent.
 */
void call_conclude(call *c, call_end_reason reason, uint64_t end_us);

/* Removes every media key this call registered from mm (only those it still
 * owns). */
void call_media_release(call *c, mediamap *mm);

/* Approximate heap bytes held by the call (for the memory measurement). */
size_t call_heap_bytes(const call *c);

#endif
