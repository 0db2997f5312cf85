/*
 * render.h — a spool entry (call.json + call.pcap) rendered to the call's two
 * channels of PCM, with per-stream decode status and VAD talk segments.
 *
 * Channels (docs/decode-render.md):
 *   channel 1 = customer   = every stream with direction customer_to_pbx
 *                            (what came in on the trunk);
 *   channel 2 = agent side = every stream with direction pbx_to_customer
 *                            (everything the customer heard: IVR, queue,
 *                            agents, transfers — relayed by the PBX on the
 *                            inbound leg).
 *   Streams of agent legs (agent_to_pbx, pbx_to_agent) and of direction
 *   unknown are not rendered (their status says so: channel 0).
 * Each channel is one decode/timeline.h timeline spanning exactly
 * [invite_us, end_us) of call.json; sample 0 is the inbound INVITE.
 *
 * Packets: call.pcap is read with libpcap; each frame is decoded with
 * capture's pkt_decode() (any link type capture supports; IP fragments are
 * skipped and counted — RTP is never fragmented in practice) and parsed with
 * rtp_parse(). A UDP datagram belongs to a stream when its source and
 * destination address and port equal the stream's src/src_port/dst/dst_port
 * (the stream whose ssrcs list holds its SSRC first, else the first stream
 * with that 4-tuple). Everything else (SIP, RTCP, agent legs) only moves the
 * timelines' clock (tl_advance).
 *
 * Payload types, per stream: codec_pt with the stream's codec / clock_rate
 * (dc_codec_lookup; Opus as opus/48000/2), telephone_event_pt as
 * telephone-event (sequenced, placed, never audio), a static type (0 PCMU,
 * 8 PCMA, 9 G722, 18 G729, 13 CN) from the RFC 3551 table. Anything else is
 * "payload type N never negotiated" and an unsupported codec keeps codec.h's
 * reason ("unsupported codec GSM/8000"); those packets are not pushed (the
 * stream is silence where they were), the first reason is kept in the
 * stream's status, and the call still renders. One dc_decoder per
 * (stream, payload type); the timeline's conceal callback runs dc_conceal,
 * or dc_decode_fec when the packet after the gap is Opus of the same type.
 *
 * Rate: 16000 when any rendered stream's codec decodes at 16 kHz (G.722,
 * Opus, L16/16000), else 8000. 8 kHz audio in a 16 kHz render goes through
 * render_up2 (below): a half-band windowed-sinc interpolator, 32 taps on the
 * odd phase (16 either side), even phase = the input sample itself (so the
 * input is kept bit-exact), Kaiser window beta 7, odd-phase taps normalised
 * to unity DC gain; measured response in docs/decode-render.md (test_render
 * asserts it: flat to 3.4 kHz, images attenuated); delay RENDER_UP2_DELAY = 32
 * output samples (2 ms), not compensated (a frame's place is fixed by the
 * timeline; 2 ms is far inside the 20 ms alignment budget).
 *
 * VAD: decode/vad.h with default parameters over each channel; segments of
 * channel 1 first, then channel 2, each in time order.
 *
 * Ownership: render_entry/render_call allocate the result; render_free
 * releases it (channels, statuses, segments). ci is borrowed. Errors: the
 * function returns a cs_err and writes a NUL-terminated message into err
 * (when errcap > 0) naming what failed (file, field) — for spool/failed/.
 *
 * SECURITY: call.pcap holds hostile bytes. pkt_decode/rtp_parse never read
 * past caplen; the timeline caps streams, buffers and payloads; a decoder per
 * (rendered stream, payload type) at most (128 per stream); output size is
 * the call's duration (capped by RENDER_MAX_DURATION_US).
 * BUGS: no RTCP-based lip sync; a DTMF press is silence (not a tone).
 */
#ifndef CALLSCOPE_DECODE_RENDER_H
#define CALLSCOPE_DECODE_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "callinfo.h"
#include "timeline.h"
#include "vad.h"

#define RENDER_MAX_DURATION_US (6ull * 3600 * 1000000) /* longer calls: CS_ERR_LIMIT */
#define RENDER_UP2_TAPS        16                      /* odd-phase taps each side of the centre */
#define RENDER_UP2_DELAY       32 /* output samples (16 kHz) of interpolator delay */
#define RENDER_REASON_MAX      128

typedef struct render_stream {
    int index;          /* into callinfo.streams */
    int channel;        /* 1 customer, 2 agent side, 0 not rendered */
    int audio_rate;     /* of its codec_pt's decoder (0: not decodable) */
    uint64_t packets;   /* RTP packets of the stream found in call.pcap */
    uint64_t decoded;   /* packets decoded to audio */
    uint64_t not_audio; /* telephone-event and CN packets */
    uint64_t refused;   /* packets with a payload type we cannot decode */
    uint64_t decode_errors;
    uint64_t concealed;             /* conceal calls (lost frames) */
    uint64_t concealed_samples;     /* at the render rate */
    uint64_t fec;                   /* concealed frames recovered from Opus FEC */
    char reason[RENDER_REASON_MAX]; /* "" = decoded normally; else why (not) */
} render_stream;

typedef struct render_result {
    int rate;      /* 8000 or 16000 */
    size_t frames; /* samples per channel = round(duration * rate) */
    int16_t *ch1;  /* customer, frames samples (owned) */
    int16_t *ch2;  /* agent side, frames samples (owned) */
    size_t nstreams;
    render_stream *streams; /* one per callinfo stream, same order (owned) */
    size_t nsegments;
    vad_segment *segments; /* talk segments (owned) */
    tl_stats tl[2];        /* timeline counters of channel 1 and 2 */
    uint64_t pcap_frames;  /* frames read from call.pcap */
    uint64_t rtp_packets;  /* matched to a rendered stream */
    uint64_t fragments;    /* IP fragments skipped */
} render_result;

typedef struct render_opts {
    int rate;    /* 0 or 8000: automatic (above); 16000: always 16 kHz (8 kHz
                    streams interpolated); anything else is CS_ERR_INVAL */
    int hold_ms; /* timeline jitter buffer; 0 = timeline default */
    int plc_ms;  /* concealment per gap; 0 = timeline default */
    int no_vad;  /* 1: skip VAD (segments empty) */
} render_opts;

/* Renders a spool entry directory: reads DIR/call.json (callinfo_parse) and
 * DIR/call.pcap. On CS_OK *ci_out (if not NULL) gets the callinfo (caller frees
 * with callinfo_free) and *out the result. opts may be NULL. */
int render_entry(const char *dir, const render_opts *opts, callinfo **ci_out, render_result **out,
                 char *err, size_t errcap);

/* Renders from a loaded callinfo and a pcap path. Returns CS_OK,
 * CS_ERR_INVAL (NULL args, opts->rate not 0/8000/16000), CS_ERR_MALFORMED (invite_us/end_us null or
 * end <= invite), CS_ERR_LIMIT (longer than RENDER_MAX_DURATION_US),
 * CS_ERR_IO (pcap cannot be opened), CS_ERR_NOMEM. A truncated pcap renders
 * what was read. */
int render_call(const callinfo *ci, const char *pcap_path, const render_opts *opts,
                render_result **out, char *err, size_t errcap);

void render_free(render_result *r);

/* The 8 -> 16 kHz interpolator (for tests and for anyone else): state of one
 * stream. Start zeroed. */
typedef struct render_up2 {
    int16_t hist[2 * RENDER_UP2_TAPS]; /* last inputs, oldest first */
    double c[2 * RENDER_UP2_TAPS];     /* odd-phase taps (set on first use) */
    int init;
} render_up2;

/* Writes 2*n samples to out from n input samples. */
void render_up2_run(render_up2 *u, const int16_t *in, size_t n, int16_t *out);

#endif
