/*
 * callout.h — a call's spool entry: call.pcap streamed while the call runs,
 * call.json written when it ends, then the atomic commit (docs/call-json.md).
 *
 * call.pcap: classic pcap (microsecond timestamps, version 2.4) whose link
 * type is that of the call's first frame; frames of another link type are
 * counted (pcap.skipped_linktype) and not written. The file is created in
 * the entry (spool_open_fd) at the call's first frame and fed through
 * CALLOUT_WBUF-byte blocks of the engine's write queue (wq.h): a full block
 * is queued and written by the queue's thread while the call fills the
 * next, so a call holds one block in memory whatever its length, and the
 * read loop does not wait on write(2). callout_commit and callout_abort wait
 * for the call's queued blocks before the descriptor is closed. A write
 * error stops the call's pcap (counted; with the writer thread it is noticed
 * at the call's next block or at its commit, so a few more frames may be
 * counted than reached the file); the call.json is still written and says
 * "complete": false.
 *
 * call.json: one document per call, written with common/json.h.
 *
 * Errors are returned (CS_ERR_IO, CS_ERR_NOMEM, spool codes), never logged
 * here; the engine counts and logs them.
 * Ownership: the spool entry and its descriptor belong to call->pcap until
 * callout_commit or callout_abort, which always release them.
 */
#ifndef CALLSCOPE_CAPTURE_CALLOUT_H
#define CALLSCOPE_CAPTURE_CALLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "call.h"
#include "spool.h"
#include "wq.h"

/* per-call pcap block (the wq's block size). 16 KB rather than 8: the
 * writer's system time over a 1 GB capture fell by about 15 % (0.94 s ->
 * 0.80 s), for 8 KB more per open call (bench/capture: 19 -> 27 KB per
 * active call, the target is 50). */
#define CALLOUT_WBUF 16384
#define CALLOUT_JSON_MAX (16u << 20) /* ceiling of one call.json */

/* What call.json needs besides the call. */
typedef struct callout_info {
    const char *probe;
    const char *const *corr_headers; /* names, indexed by call_leg.corr_hdr */
    size_t ncorr_headers;
} callout_info;

/* Starts the call's spool entry (named by c->uuid). */
int callout_begin(call *c, spool *sp);

/*
 * Appends one frame to call.pcap. frame_no: the engine's frame counter, so a
 * frame that carried two messages of the same call is written once. The
 * first frame fixes the link type and creates the file (snaplen in its
 * header). q: a queue of CALLOUT_WBUF-byte blocks. CS_OK (also when the
 * frame is skipped); CS_ERR_IO on a write error (the call's pcap stops
 * there), CS_ERR_NOMEM (no block).
 */
int callout_frame(call *c, wq *q, uint64_t frame_no, int linktype, int snaplen, uint64_t ts_us,
                  const uint8_t *data, size_t caplen, size_t wire_len);

/* Renders call.json into a malloc'd string (caller frees). CS_OK or the
 * JSON writer's error. The call must be concluded. */
int callout_json(const call *c, const callout_info *info, char **out, size_t *len);

/*
 * Flushes call.pcap, adds call.json and commits the entry (begun now if
 * callout_begin had failed). Always releases the entry. CS_OK or an error
 * (the entry is gone either way).
 */
int callout_commit(call *c, spool *sp, wq *q, const callout_info *info);

/* Drops the entry without committing (NULL-safe on a call without one),
 * after the call's queued blocks are done. */
void callout_abort(call *c, wq *q);

#endif
