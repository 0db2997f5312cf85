/*
 * sscore.h — the scoring stage's database side: scoring one call (metrics,
 * DTMF masking, FCR of the ANI's calls, scorecard, KPI rollup), the FCR
 * sweep, storing the directory and the scorecard version.
 *
 * Every function runs on the caller's connection and joins its transaction;
 * sscore_call expects one to be open (the worker completes the job in it).
 * Ownership: nothing returned needs freeing.
 */
#ifndef CALLSCOPE_SSCORE_H
#define CALLSCOPE_SSCORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "directory.h"
#include "scorecard.h"

/* The stage's configuration (keys in main.c; docs/scoring.md). */
typedef struct sscore_cfg {
    char *db_conninfo;
    int64_t db_connect_tries;
    int64_t workers;
    int64_t lease_ms, poll_ms;
    char *scorecard, *directory;
    int64_t dead_air_min_ms, short_abandon_ms, sl_threshold_ms;
    int64_t fcr_window_ms;
    int fcr_same_queue;
    int64_t fcr_continuation_ms;
    int64_t dtmf_min_run, dtmf_run_gap_ms;
    int64_t sweep_ms;
} sscore_cfg;

/* Plain data: workers send it to the parent through a pipe. */
typedef struct sscore_counters {
    uint64_t claimed, done, failed, retried, fcr_updates, dtmf_masked;
} sscore_counters;

/*
 * Scores call uuid inside the open transaction. CS_OK; CS_ERR_NOTFOUND (no
 * such call: err says so); db errors; CS_ERR_NOMEM.
 */
int sscore_call(db_conn *c, const sscore_cfg *cfg, const scorecard *card, int64_t card_id,
                const char *uuid, sscore_counters *n, char *err, size_t errcap);

/* Settles pending FCR decisions whose window has passed (resolved) and
 * refreshes their KPI cells; *settled gets the count. Own transaction. */
int sscore_sweep(db_conn *c, const sscore_cfg *cfg, int64_t *settled);

/* Upserts queues, queue_dnis and agents (names updated, nothing deleted:
 * a queue or agent no longer listed keeps its history). Own transaction. */
int sscore_directory_store(db_conn *c, const dir_list *d, char *err, size_t errcap);

/* Finds or creates the scorecard version whose definition is the card's
 * canonical JSON and makes it the active one of its name. Own transaction. */
int sscore_card_version(db_conn *c, const scorecard *card, int64_t *id, int *version,
                        int *created, char *err, size_t errcap);

#endif
