/*
 * store.h — the decode stage's database writer: one call, one transaction.
 *
 * What it owns. store_call() writes everything decode knows about one call
 * into PostgreSQL (schema/001_init.sql, docs/schema.md) in ONE READ
 * COMMITTED transaction, through common/db.h only (parameterised
 * statements; libpq is never seen here):
 *
 *   calls          upsert on uuid (created_at kept, updated_at by trigger)
 *   legs           \
 *   sip_events      |  the call's rows deleted, then inserted again from
 *   rtp_streams     |  call.json (sip_events go with their legs, DTMF with
 *   dtmf_events     |  their streams): re-storing a call leaves the same
 *   holds           |  rows (same content; the bigint ids are new ones)
 *   transfers       |
 *   talk_segments  /
 *   jobs           jobq_enqueue(kind "transcribe", call uuid, payload
 *                  {"call_uuid": "<uuid>"}) when the call has a recording;
 *                  one row per (kind, call): a second store re-queues it
 *   recordings     LAST statement (the chain trigger holds the chain lock
 *                  until COMMIT): inserted without seq, prev_chain_hash,
 *                  chain_hash, created_at (the trigger assigns them) —
 *                  but only when the call has no recording yet.
 *
 * The archive is append-only and chained: a call that already has a
 * recordings row keeps it, whatever the caller passes. store_call() then
 * sets out->already_archived and returns the chained row (path, sha256,
 * seq, ...) in out->recording, with out->sha_differs when the caller's file
 * digest is not the chained one. A worker should call store_recording_get()
 * BEFORE writing the archive file and, when the call is already archived,
 * not rewrite the file (archive.h: a newer encoder could produce other
 * bytes than the chained sha256) and pass rec = NULL.
 *
 * Mapping details (what comes from which call.json field, units, the
 * choices made where the schema asks more than call.json says) are in
 * docs/decode-store.md.
 *
 * Errors. CS_OK, or:
 *   CS_ERR_INVAL     NULL arguments, a uuid that is not canonical lowercase,
 *                    array lengths that do not match the call;
 *   CS_ERR_DB_CONN   the connection was lost (before or during COMMIT: the
 *                    outcome of a lost COMMIT is unknown, which is fine, the
 *                    store is idempotent). RETRYABLE: keep the spool entry,
 *                    db_ensure(), try again later;
 *   CS_ERR_BUSY      serialization failure / deadlock on every attempt, or
 *                    a server-side condition that passes (SQLSTATE class
 *                    08 connection, 53 insufficient resources, 57 operator
 *                    intervention, 58 system error, 55P03 lock not
 *                    available). RETRYABLE;
 *   CS_ERR_DB        the server rejected the call's data (a constraint,
 *                    a bad value): NOT retryable, the entry goes to
 *                    spool/failed/ with out->msg as the reason;
 *   CS_ERR_STATE     c is already inside a transaction.
 * Any error rolls the whole transaction back: no partial call, no job, no
 * recording row. store_err_retryable() tells the two classes apart.
 * out->msg names the step and the server's message, out->sqlstate the
 * SQLSTATE ("" when none).
 *
 * SECURITY: the strings come from call.json (hostile SIP text cut and
 * validated by capture and callinfo): they only ever travel as bind
 * parameters or as quoted elements of array-literal parameters, never as
 * SQL text. Vocabularies the schema checks are normalised where a
 * neutral value exists (leg role -> "other", transport -> NULL, stream
 * direction -> "unknown", hold by -> "unknown", impossible SIP status/Q.850
 * cause/CSeq -> NULL).
 *
 * BUGS: times the schema orders (ringing/answer/end >= invite, hold end >=
 * start) are stored as captured; a pcap whose clock ran backwards can make
 * the server refuse the call (CS_ERR_DB, the entry goes to failed/ with the
 * constraint's name). rtp_streams.mos and rtcp_rtt_ms are left NULL.
 *
 * Ownership: every argument is borrowed for the duration of the call;
 * nothing is kept. No global state. One db_conn per thread, as db.h says.
 */
#ifndef CALLSCOPE_STORE_H
#define CALLSCOPE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "archive.h"
#include "callinfo.h"
#include "db.h"
#include "vad.h"

#define STORE_MSG_MAX    512
#define STORE_PATH_MAX   1024 /* recordings.path read back (longer is CS_ERR_OVERFLOW) */
#define STORE_JOB_KIND   "transcribe"
#define STORE_REASON_MAX 400 /* decode_reason is cut to this many bytes (UTF-8 safe) */

/* rtp_streams.decode_status (the schema's CHECK list, in order). */
typedef enum store_decode_status {
    STORE_DEC_OK = 0,            /* decoded */
    STORE_DEC_PARTIAL,           /* gaps or some undecodable packets */
    STORE_DEC_UNSUPPORTED_CODEC, /* payload type not negotiated / codec we cannot decode */
    STORE_DEC_ENCRYPTED,         /* SRTP */
    STORE_DEC_NO_AUDIO,          /* no audio packets */
    STORE_DEC_SKIPPED,           /* not audio (telephone-event only), or not decoded */
    STORE_DEC_FAILED,            /* the decoder failed */
} store_decode_status;

/* "ok", "partial", "unsupported_codec", "encrypted", "no_audio", "skipped",
 * "failed"; NULL outside the enum. */
const char *store_decode_status_name(store_decode_status s);

/* What decode made of one stream of the call (index = callinfo stream index). */
typedef struct store_stream_result {
    store_decode_status status;
    const char *reason; /* rtp_streams.decode_reason, NULL for none; borrowed */
} store_stream_result;

/* Everything store_call() writes. All borrowed. */
typedef struct store_call_in {
    const callinfo *call; /* required: the parsed call.json */
    /* The archived file (archive_write's result), or NULL: the call has no
     * recording of its own (no audio), or it is already archived and the
     * worker did not rewrite the file. */
    const archive_result *rec;
    int64_t rec_started_us; /* packet time of sample 0 (archive_audio.started_us) */
    /* call->nstreams results, or NULL: every stream is stored as skipped,
     * reason "decode result not supplied". */
    const store_stream_result *streams;
    /* Talk segments, ms from sample 0 (vad_segment.channel 1 or 2). */
    const vad_segment *segs;
    size_t nsegs;
    /* call->ndtmf flags (nonzero: the digit fell in a masking window and is
     * stored masked, without the digit), or NULL: none masked. */
    const unsigned char *dtmf_masked;
    /* Job queued for the recording: kind NULL = STORE_JOB_KIND, "" = none. */
    const char *job_kind;
    int job_priority;
} store_call_in;

/* One recordings row as stored. */
typedef struct store_recording {
    int64_t seq; /* 0: no row */
    char path[STORE_PATH_MAX];
    char format[8];
    int sample_rate;
    int channels;
    int64_t started_us;
    int64_t duration_ms;
    int64_t bytes;
    char sha256_hex[2 * ARCHIVE_SHA256_LEN + 1];
    char chain_hash_hex[2 * ARCHIVE_SHA256_LEN + 1];
    int64_t created_us;
} store_recording;

typedef struct store_call_out {
    int already_archived; /* 1: a recordings row existed and was kept */
    int sha_differs;      /* already_archived, in->rec given, its sha256 is not the chained one */
    store_recording recording; /* the call's row (new or kept); seq 0 when none */
    int64_t job_id;            /* the queued job, 0 when none */
    /* Rows written (children). */
    size_t legs, sip_events, streams, dtmf, holds, transfers, segments;
    size_t dtmf_skipped; /* DTMF events whose digit is not [0-9*#A-D] (not stored) */
    char sqlstate[6];
    char msg[STORE_MSG_MAX]; /* on error: "<step>: <reason>"; "" on success */
} store_call_out;

/*
 * Writes the call in one transaction (retried by db_transaction on
 * serialization failure / deadlock). out is required and fully rewritten.
 * Returns the codes listed above.
 */
int store_call(db_conn *c, const store_call_in *in, store_call_out *out);

/*
 * Reads the recordings row of call `uuid` into *out. CS_OK, CS_ERR_NOTFOUND
 * (no row), CS_ERR_INVAL (bad uuid), CS_ERR_OVERFLOW (path longer than
 * STORE_PATH_MAX - 1), or a db error. Joins the caller's transaction if one
 * is open.
 */
int store_recording_get(db_conn *c, const char *uuid, store_recording *out);

/* 1 when err means "try again later, keep the spool entry" (CS_ERR_DB_CONN,
 * CS_ERR_BUSY), else 0. */
int store_err_retryable(int err);

#endif
