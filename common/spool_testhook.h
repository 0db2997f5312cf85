/*
 * spool_testhook.h — internal: step hooks for the spool crash tests.
 *
 * Not part of the public API (only tests/spool includes it). A hook set on a
 * handle is called between the steps of the write and consume protocols, so
 * a test can SIGKILL a writer or a consumer at each step and then check what
 * recovery and the next scan see. The hook is per handle: no global state.
 */
#ifndef CALLSCOPE_SPOOL_TESTHOOK_H
#define CALLSCOPE_SPOOL_TESTHOOK_H

#include "spool.h"

typedef enum spool_step {
    SPOOL_STEP_TMPDIR_CREATED = 1, /* spool_begin: tmp/<name>.<pid>.<rand>/ exists */
    SPOOL_STEP_FILE_HALF,          /* spool_add_file: first half of the data written */
    SPOOL_STEP_FILES_WRITTEN,      /* spool_commit: all data written, nothing fsync'd */
    SPOOL_STEP_SYNCED,             /* spool_commit: files and entry dir fsync'd, not renamed */
    SPOOL_STEP_RENAMED,            /* spool_commit: in ready/, ready/ not fsync'd yet */
    SPOOL_STEP_COMMITTED,          /* spool_commit: everything done */
    SPOOL_STEP_CLAIMED,            /* spool_claim: in active/ */
    SPOOL_STEP_FINISH_MOVED,       /* spool_finish: moved to tmp/.trash.*, not deleted */
    SPOOL_STEP_FINISH_PARTIAL,     /* spool_finish: first file of the trash dir deleted */
    SPOOL_STEP_FAIL_REASON,        /* spool_fail: reason file durable, still in active/ */
    SPOOL_STEP_FAIL_MOVED,         /* spool_fail: in failed/, dirs not fsync'd yet */
} spool_step;

typedef void (*spool_step_hook)(spool_step step, void *arg);

/* Installs `hook` (NULL removes it) with its argument on the handle. */
void spool_set_step_hook(spool *sp, spool_step_hook hook, void *arg);

#endif
