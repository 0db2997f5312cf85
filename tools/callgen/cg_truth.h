/*
 * cg_truth.h — the truth JSON callgen writes beside every pcap.
 *
 * The truth says what the capture contains on purpose: every call with its
 * legs, times, outcome, parties, utterances, DTMF, holds, transfers, faults
 * and RTP streams, and the deliberately malformed frames. Later stages'
 * tests compare their results with it. The format is documented field by
 * field in docs/callgen.md; it is versioned by "format" (bump it on any
 * incompatible change).
 *
 * Determinism: the document contains no paths, host names or wall-clock
 * times, only what follows from the options and the seed, so the same
 * options give byte-identical files.
 * Ownership: borrows the run / load result; writes the file atomically
 * (temporary + rename, via json_w_save).
 */
#ifndef CALLGEN_TRUTH_H
#define CALLGEN_TRUTH_H

#include <stddef.h>

#include "cg_scenario.h"

#define CG_VERSION      "1.0.0"
#define CG_TRUTH_FORMAT 1

/* Writes the truth of a planned and written run. CS_OK or negative cs_err
 * (message in err). */
int cg_truth_write(const cg_run *r, const char *path, char *err, size_t errcap);

/* Writes the truth of a load run: summary plus per-call essentials. */
int cg_truth_write_load(const cg_load_opts *o, const cg_load_result *res, const char *path,
                        char *err, size_t errcap);

#endif
