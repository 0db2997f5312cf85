/*
 * engine.h — the capture engine: everything that happens to a frame after
 * libpcap hands it over, up to the finished call in the spool.
 *
 *   frame -> pkt_decode -> (ipfrag) -> UDP: SIP? RTP/RTCP of a known call?
 *                                      TCP: tcpreasm -> SIP messages
 *   SIP  -> dialogs (legs) -> calls (legs merged by correlation headers)
 *   SDP  -> media addresses -> hash table (addr, port) -> call stream
 *   RTP  -> stream stats, DTMF; RTCP -> SR/RR figures
 *   every SIP/RTP/RTCP frame of a call is appended to that call's call.pcap
 *   (streamed into the call's spool entry under spool/tmp/, never held in RAM)
 *   call over (all legs ended + linger, RTP inactivity, max duration, stop)
 *     -> call.json written -> spool_commit (atomic rename into ready/)
 *
 * The engine runs on its caller's thread and is driven by packet time: time only moves
 * when frames arrive (ce_frame) or the caller says so (ce_tick), so reading a
 * file gives the same calls whatever the speed, and a live capture calls
 * ce_tick with the wall clock when the wire is quiet.
 *
 * call.pcap blocks are written by a writer thread (wq.h, unless
 * pcap_writer_thread is 0), so the caller's thread does not wait on write(2)
 * for them; a call's commit waits for its own blocks, ce_finish for all and
 * joins the thread. Everything else stays on the caller's thread.
 *
 * It never talks to the database, never blocks on anything but the spool's
 * own disk writes, and never exits over bad input: malformed frames are
 * counted by reason (capture_counters) and skipped.
 *
 * Ownership: the engine borrows the spool handle and the config for its
 * whole life; frame bytes are borrowed only during ce_frame().
 */
#ifndef CALLSCOPE_CAPTURE_ENGINE_H
#define CALLSCOPE_CAPTURE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

#define CE_MAX_SIP_PORTS 16
#define CE_MAX_CORRELATION_HEADERS 4

/* What the engine needs to know; filled from the capture.* configuration. */
typedef struct ce_config {
    const char *probe;                 /* probe name, part of every call uuid */
    uint16_t sip_ports[CE_MAX_SIP_PORTS]; /* UDP/TCP ports carrying SIP (default 5060) */
    size_t nsip_ports;
    int sip_any_port;                  /* also try any UDP payload that looks like SIP */
    const char *correlation_headers[CE_MAX_CORRELATION_HEADERS]; /* "X-Orig-Call-ID", ... */
    size_t ncorrelation_headers;
    size_t max_calls;                  /* active calls; past it new calls are refused, counted */
    size_t max_streams_per_call;
    size_t frag_max_datagrams, frag_max_bytes;
    uint64_t frag_timeout_us;
    size_t tcp_max_flows, tcp_max_flow_bytes;
    uint64_t tcp_idle_us;
    uint64_t rtp_timeout_us;           /* no RTP and no SIP for this long ends an answered call */
    uint64_t setup_timeout_us;         /* an unanswered INVITE with no final response ends after */
    uint64_t max_call_us;              /* a call longer than this is ended ("max duration") */
    uint64_t linger_us;                /* after the last leg ended, wait this long for stragglers */
    int write_pcap;                    /* write call.pcap into each entry (default 1) */
    int pcap_writer_thread;            /* call.pcap written by a second thread (default 1) */
    int snaplen;                       /* snaplen recorded in call.pcap headers */
    int answer_needs_identity;         /* see call_env (capture.answer_needs_identity) */
} ce_config;

/* Sets the built-in defaults (limits.h, port 5060, X-Orig-Call-ID, ...). */
void ce_config_defaults(ce_config *c);

/* Counters, printed every --stats-interval and at exit. */
typedef struct capture_counters {
    uint64_t frames;            /* frames handed to the engine */
    uint64_t bytes;
    uint64_t decoded;           /* frames with a UDP/TCP payload */
    uint64_t malformed;         /* sum of malformed_by[] */
    uint64_t malformed_by[8];   /* index: -pkt_result (1..5), 6 = SIP parse error, 7 = RTP/RTCP parse error */
    uint64_t skipped_l2, skipped_l3, skipped_sctp, skipped_linktype;
    uint64_t fragments, reassembled;
    uint64_t sip_messages, sip_requests, sip_responses;
    uint64_t sip_unmatched;     /* responses/requests for no known dialog (ignored) */
    uint64_t rtp_packets, rtcp_packets;
    uint64_t rtp_unmatched;     /* UDP that matched no call's media address */
    uint64_t calls_started, calls_active, calls_finished;
    uint64_t calls_refused;     /* max_calls reached */
    uint64_t streams;           /* RTP streams created */
    uint64_t streams_refused;   /* max_streams_per_call reached */
    uint64_t dtmf_events;
    uint64_t spool_written;     /* entries committed */
    uint64_t spool_errors;      /* entries that could not be written (disk) */
    uint64_t limit_hits;        /* any cap hit (frag, tcp, calls, streams) */
} capture_counters;

typedef struct capture_engine capture_engine;

/* Creates an engine writing into sp (borrowed). NULL on ENOMEM or a bad
 * config (message in err). */
capture_engine *ce_new(const ce_config *cfg, spool *sp, char *err, size_t errcap);

/* Ends every open call with reason "capture stopped" (ended_by "capture"),
 * spools them, and frees the engine. Returns CS_OK or the first spool error
 * (the calls that could be written were written). */
int ce_finish(capture_engine *ce);

/* One captured frame. linktype is pcap_datalink()'s DLT_*; ts_us the capture
 * time in microseconds since the epoch; wire_len the original length. Never
 * fails on bad input (counted); returns CS_ERR_IO only when the spool cannot
 * be written (disk full), which the caller logs (rate-limited) and goes on. */
int ce_frame(capture_engine *ce, int linktype, uint64_t ts_us, const uint8_t *data, size_t caplen,
             size_t wire_len);

/*
 * A hint about a frame that ce_frame will get soon (a reader's look-ahead,
 * cap_input_peek): with 1000 calls the state a frame touches (its media-map
 * slot, its call, its streams) is rarely in the CPU's caches, and each
 * lookup waits for the previous one. Stage 0 (three frames ahead) asks for
 * the frame's media-map slot; stage 1 (two ahead) looks the frame up, now
 * from the cache, and asks for its call's two hot lines; stage 2 (the next
 * frame) asks for the stream the call's hint names and for the next lines
 * of the call's call.pcap block. Only
 * plain Ethernet/IPv4/IPv6/UDP frames are looked at; nothing is changed,
 * counted or kept; data is read only during the call.
 */
void ce_prefetch(const capture_engine *ce, int linktype, const uint8_t *data, size_t caplen,
                 int stage);

/*
 * ce_prefetch in two parts, so a look-ahead of several frames reads each
 * frame's headers and hashes its media-map key once, not once per stage:
 * ce_ahead_begin is stage 0 and keeps the frame's UDP destination and hash
 * in *a (a->ok 0: not a plain UDP frame, nothing to do); ce_ahead_step(a, 1)
 * and (a, 2) are stages 1 and 2 from *a alone (the frame's bytes may be
 * gone by then). ce_prefetch(stage) = ce_ahead_begin + ce_ahead_step(stage).
 * The same promise: nothing is changed, counted or kept by the engine.
 */
typedef struct ce_ahead {
    int ok;
    int family;
    uint16_t port;
    uint8_t addr[16];
    uint64_t hash; /* media-map hash of (family, addr, port) */
} ce_ahead;

void ce_ahead_begin(const capture_engine *ce, int linktype, const uint8_t *data, size_t caplen,
                    ce_ahead *a);
void ce_ahead_step(const capture_engine *ce, const ce_ahead *a, int stage);

/* ce_frame with this frame's look-ahead entry (NULL: none): when the entry
 * holds the frame's UDP destination, its media-map hash is not computed
 * again. An entry of another frame is ignored (its key differs). */
int ce_frame_hinted(capture_engine *ce, int linktype, uint64_t ts_us, const uint8_t *data,
                    size_t caplen, size_t wire_len, const ce_ahead *hint);

/* Advances time with no frame (timeouts, linger, fragment/TCP expiry). */
int ce_tick(capture_engine *ce, uint64_t now_us);

void ce_get_counters(const capture_engine *ce, capture_counters *out);

#endif
