/*
 * txstore.h — the transcribe stage's database side: what a job reads (the
 * recording row and the call's talk segments) and what it writes
 * (utterances, words, phrase hits, the scoring job), in one transaction.
 *
 * Re-running a job replaces the call's transcript: the save deletes the
 * call's utterances (their words cascade) and phrase hits before inserting
 * the new ones, in the same transaction as jobq_complete, so a transcript
 * is never doubled and never half-written. When the lease was lost in the
 * meantime (another worker reclaimed the job), jobq_complete fails with
 * CS_ERR_STATE and the whole transaction is rolled back: the result of the
 * worker that holds the lease stands.
 *
 * Ownership: tx_input owns its strings and arrays (tx_input_free).
 */
#ifndef CALLSCOPE_TXSTORE_H
#define CALLSCOPE_TXSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"
#include "db.h"
#include "phrases.h"
#include "segment.h"

typedef struct tx_input {
    char *path;          /* recordings.path (relative to the archive root, or absolute) */
    char *format;        /* flac, wav, opus */
    int sample_rate;     /* as recorded */
    int channels;        /* 1 or 2 */
    int64_t duration_ms; /* recordings.duration_ms */
    int deleted;         /* the file was purged (retention, erasure) */
    seg_span *talk[2];   /* talk segments of channel 1 (customer) and 2 (agent) */
    size_t ntalk[2];
} tx_input;

void tx_input_free(tx_input *in);

/*
 * Reads the recording row and talk segments of call uuid. CS_OK;
 * CS_ERR_NOTFOUND (no recording row: err says so); db errors.
 */
int txstore_load(db_conn *c, const char *uuid, tx_input *in, char *err, size_t errcap);

typedef struct tx_output {
    asr_utt *utts[2]; /* per channel (index 0 = channel 1), time order */
    size_t n[2];
    ph_hit *hits;     /* phrase hits; utt_index refers into utts[channel - 1] */
    size_t nhits;
} tx_output;

/*
 * Replaces the call's transcript with out, queues the call's 'score' job
 * (priority score_priority) and completes job (job_id, owner) — one
 * transaction. CS_OK; CS_ERR_STATE (lease lost: nothing written); db errors
 * (rolled back).
 */
int txstore_save(db_conn *c, const char *uuid, const tx_output *out, int64_t job_id,
                 const char *owner, int score_priority);

#endif
