/*
 * cg_scenario.h — callgen's call plans, their rendering into packets, and the
 * streaming writer that merges the calls of a run into one pcap in time order.
 *
 * A run is a list of scenario instances. Planning (cg_run_plan) decides
 * everything about every call from the seed — times, parties, legs, codec,
 * utterances, DTMF, holds, transfers, faults — using one rng stream per call
 * (stream = scenario id and the instance number within the scenario), so
 * adding or removing a scenario does not change the content of the others;
 * only the start times come from a separate schedule stream. Rendering
 * (cg_run_write) turns one call at a time into its packets (SIP, RTP, RTCP,
 * TCP) when the merge reaches the call's first packet, sorts them, and merges
 * the active calls with a heap, so memory is bounded by the number of calls
 * active at once, not by the file size. The render step fills in what is only
 * known once packets exist: SSRCs, packet counts, fault counts, garbage frame
 * numbers. cg_truth writes the model below as JSON afterwards.
 *
 * The load mode (cg_load_run) is a separate, lighter generator for large
 * captures: plain answered calls whose audio payloads are encoded once per
 * codec and cycled, one heap entry per RTP stream, no per-call packet lists.
 *
 * Ownership: a cg_run owns its calls, their utterance lists and everything
 * below; the bank (speech clips) is borrowed and must outlive the run.
 */
#ifndef CALLGEN_SCENARIO_H
#define CALLGEN_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "cg_codec.h"
#include "cg_net.h"
#include "cg_rtp.h"
#include "cg_sip.h"
#include "cg_voice.h"

typedef enum cg_scen {
    CG_SC_DIRECT = 0,
    CG_SC_QUEUED,
    CG_SC_ABANDON_RING,
    CG_SC_ABANDON_QUEUE,
    CG_SC_BUSY,
    CG_SC_NOANSWER,
    CG_SC_TIMEOUT,
    CG_SC_HOLD,
    CG_SC_TRANSFER,
    CG_SC_DTMF,
    CG_SC_REPEAT,
    CG_SC_CODECS,
    CG_SC_FAULTS,
    CG_SC_TCP,
    CG_SC_FRAGMENT,
    CG_SC_VLAN,
    CG_SC_QINQ,
    CG_SC_IPV6,
    CG_SC_GARBAGE,
    CG_SC__COUNT
} cg_scen;

/* "direct", "queued", ... ; NULL for an invalid value. */
const char *cg_scen_name(cg_scen s);
/* One-line description for --help and the docs. */
const char *cg_scen_help(cg_scen s);
/* CS_OK or CS_ERR_INVAL. */
int cg_scen_parse(const char *name, cg_scen *out);

typedef enum cg_outcome {
    CG_OUT_ANSWERED = 0,
    CG_OUT_ABANDONED,
    CG_OUT_BUSY,
    CG_OUT_NO_ANSWER,
    CG_OUT_FAILED,
    CG_OUT_NONE /* the garbage pseudo-call */
} cg_outcome;

typedef enum cg_party {
    CG_BY_NONE = 0,
    CG_BY_CALLER,
    CG_BY_AGENT,
    CG_BY_PBX
} cg_party;

const char *cg_outcome_name(cg_outcome o);
const char *cg_party_name(cg_party p);

#define CG_MAX_LEGS     4
#define CG_MAX_STREAMS  12
#define CG_MAX_DTMF     32
#define CG_MAX_UTT      48
#define CG_MAX_GARBAGE  8
#define CG_MAX_HOLDS    2
#define CG_MAX_AGENTS   3

typedef struct cg_leg {
    char call_id[96];
    char from_tag[32];
    char to_tag[32];
    char from_user[48];
    char to_user[48];
    int inbound;               /* 1: carrier->PBX leg; 0: PBX->agent phone */
    char agent_ext[8];         /* agent legs */
    char correlation[96];      /* value of the correlation header ("" on the inbound leg) */
    cg_sip_transport transport;
    int ipv6;
    int nvlan;
    uint16_t vlan[2];
    char uac_ip[48];
    char uas_ip[48];
    uint64_t invite_us;
    uint64_t answer_us;        /* 0: never answered */
    uint64_t end_us;
    int final_code;            /* final response to the initial INVITE */
    int fragmented;            /* the INVITE was sent as IP fragments */
    int tcp_coalesced;         /* number of TCP segments carrying two SIP messages */
    int tcp_split;             /* number of SIP messages split over two TCP segments */
    int sip_messages;          /* SIP messages of this leg on the wire */
} cg_leg;

typedef struct cg_stream_truth {
    uint32_t ssrc;
    int leg;
    char from[16];              /* "carrier", "pbx", "agent" */
    char to[16];
    char channel[16];           /* "customer" or "agent": which track it carries */
    char src[64];               /* ip:port */
    char dst[64];
    uint64_t packets;           /* RTP packets of this SSRC on the wire (after faults) */
    uint64_t first_us;
    uint64_t last_us;
    uint64_t rtcp_packets;
} cg_stream_truth;

typedef struct cg_utt {
    int channel;                /* 0 customer, 1 agent */
    uint64_t start_ms;          /* relative to the inbound INVITE */
    uint64_t end_ms;
    const cg_clip *clip;        /* borrowed from the bank */
    char source[16];            /* "customer", "agent", "ivr" */
    char agent_ext[8];          /* for agent utterances */
} cg_utt;

typedef struct cg_dtmf_truth {
    char digit;
    uint64_t at_ms;             /* event start, relative to the inbound INVITE */
    int duration_ms;
    int card;                   /* part of a card-number run */
} cg_dtmf_truth;

typedef struct cg_interval {
    uint64_t start_ms;
    uint64_t end_ms;
} cg_interval;

typedef struct cg_transfer {
    uint64_t at_ms;             /* REFER sent */
    char from_ext[8];
    char to_ext[8];
    char method[16];            /* "refer" */
    int new_leg;                /* index of the new agent leg */
} cg_transfer;

typedef struct cg_garbage {
    char kind[24];              /* "random_bytes", "truncated_sip", "bad_content_length" */
    uint64_t t_us;
    uint64_t frame;             /* 1-based frame number in the pcap, filled when written */
    size_t len;
} cg_garbage;

typedef struct cg_call {
    int index;                  /* position in the run, 0-based, in start-time order */
    char id[32];                /* stable label: "<scenario>-<n>" */
    cg_scen scen;
    int instance;               /* n: instance number within the scenario */
    uint64_t rng_stream;
    char ani[16];
    char dnis[16];
    char queue[16];
    cg_codec codec;
    int carrier_host;           /* last octet of the carrier address */
    int ipv6;
    cg_sip_transport transport;
    int nvlan;
    uint16_t vlan[2];

    uint64_t t0_us;             /* inbound INVITE */
    uint64_t ring_us;           /* first 180, 0 if none */
    uint64_t answer_us;         /* the 2xx that connected an agent, 0 if none */
    uint64_t end_us;            /* last SIP message of the call */
    uint64_t abandon_us;        /* abandoned calls */
    cg_outcome outcome;
    cg_party hangup_by;

    cg_leg legs[CG_MAX_LEGS];
    int nlegs;
    char agents[CG_MAX_AGENTS][8];
    int nagents;

    cg_interval holds[CG_MAX_HOLDS];
    int nholds;
    cg_transfer transfers[1];
    int ntransfers;
    cg_dtmf_truth dtmf[CG_MAX_DTMF];
    int ndtmf;
    cg_utt utts[CG_MAX_UTT];
    int nutts;
    cg_interval dead_air[2];
    int ndead_air;
    cg_interval overtalk[2];
    int novertalk;
    unsigned phrases_said;      /* bit (1 << cg_phrase) */
    unsigned phrases_omitted;   /* deliberately left out */
    int phrases_loaded;
    uint64_t ivr_end_ms;        /* queued calls: end of the IVR/queue period */

    cg_fault_cfg faults;
    int ssrc_change;
    cg_fault_counts fault_counts;
    uint64_t ssrc_changes;

    cg_stream_truth streams[CG_MAX_STREAMS];
    int nstreams;
    uint64_t sip_messages;
    uint64_t rtp_packets;
    uint64_t rtcp_packets;
    uint64_t frames;

    int repeat_of;              /* index of the previous call of the same ANI, -1 */
    uint64_t repeat_gap_us;

    cg_garbage garbage[CG_MAX_GARBAGE];
    int ngarbage;
} cg_call;

typedef struct cg_gen_opts {
    uint64_t seed;
    uint64_t start_us;          /* time of the first call */
    cg_scen scen[CG_SC__COUNT]; /* scenarios in the run, in order */
    int nscen;
    int all;                    /* --scenario all */
    int calls;                  /* instances per scenario (non-"all" runs) */
    int codec;                  /* fixed cg_codec, or -1 for mixed */
    cg_fault_cfg faults;        /* applied to every call's RTP (on top of the faults scenario) */
    int ssrc_change;
    const char *corr_header;    /* "X-Orig-Call-ID" */
    const char *ref_audio_dir;  /* NULL: no reference WAVs */
    int quiet;
} cg_gen_opts;

typedef struct cg_run {
    const cg_gen_opts *opts;    /* borrowed */
    const cg_bank *bank;        /* borrowed */
    cg_call *calls;             /* owned, ncalls entries, sorted by t0_us */
    size_t ncalls;
    uint64_t frames;
    uint64_t bytes;
    uint64_t sip_messages;
    uint64_t rtp_packets;
    uint64_t rtcp_packets;
    uint64_t garbage_frames;
    void *priv_;                /* owned: per-call SIP scripts (private to cg_scenario.c) */
} cg_run;

/* Plans every call of the run. CS_OK, CS_ERR_NOMEM or CS_ERR_INVAL (no scenario). */
int cg_run_plan(cg_run *r, const cg_gen_opts *o, const cg_bank *bank);

/* Renders and writes every call into pcap_path, filling the render-time
 * fields of the calls; writes reference WAVs when opts->ref_audio_dir is set.
 * Progress goes to stderr unless quiet. CS_OK or a negative cs_err with a
 * message in err. */
int cg_run_write(cg_run *r, const char *pcap_path, char *err, size_t errcap);

void cg_run_free(cg_run *r);

/* Load mode. */
typedef struct cg_load_opts {
    uint64_t seed;
    uint64_t start_us;
    uint64_t size_bytes;        /* stop after this many bytes (0: no limit) */
    int concurrent;             /* calls active at once */
    uint64_t duration_s;        /* capture duration (0: no limit); one of the two limits is needed */
    int codec;                  /* fixed cg_codec or -1 mixed */
    const char *corr_header;
    int quiet;
} cg_load_opts;

typedef struct cg_load_call {
    char call_id[64];
    char ani[16];
    char dnis[16];
    char agent[8];
    cg_codec codec;
    uint64_t invite_us;
    uint64_t answer_us;
    uint64_t end_us;            /* BYE; 0 when the capture ended first */
    uint32_t ssrc[2];           /* carrier->pbx, pbx->carrier */
    uint64_t packets[2];
    cg_party hangup_by;
} cg_load_call;

typedef struct cg_load_result {
    cg_load_call *calls;        /* owned (realloc'd array) */
    size_t ncalls;
    uint64_t frames;
    uint64_t bytes;
    uint64_t rtp_packets;
    uint64_t sip_messages;
    uint64_t max_concurrent;
    double seconds;             /* wall-clock time of the run */
    double mb_per_s;
} cg_load_result;

/* Writes a load capture. CS_OK or negative cs_err with a message in err. */
int cg_load_run(const cg_load_opts *o, const cg_bank *bank, const char *pcap_path,
                cg_load_result *res, char *err, size_t errcap);
void cg_load_result_free(cg_load_result *res);

/* Formats µs since the epoch as ISO 8601 UTC with milliseconds:
 * "2024-03-04T09:00:00.000Z". */
void cg_iso_time(uint64_t us, char *out, size_t cap);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or without Z, or with a space).
 * CS_OK or CS_ERR_INVAL. */
int cg_parse_time(const char *s, uint64_t *us);

#endif
