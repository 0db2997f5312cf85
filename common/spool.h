/*
 * spool.h — the durable queue between capture and decode.
 *
 * A spool is a Postfix-style queue of directories under one root:
 *
 *   <root>/tmp/     entries being written:   tmp/<name>.<pid>.<16 hex>/
 *                   and finished entries being deleted: tmp/.trash.<name>.<pid>.<16 hex>/
 *   <root>/ready/   complete entries, one directory per call: ready/<name>/{call.json, ...}
 *   <root>/active/  entries claimed by one consumer (rename ready/X -> active/X)
 *   <root>/failed/  entries set aside, each holding the entry's files plus "reason"
 *   <root>/consumers.lock   flock(2): consumers hold it shared, recovery exclusive
 *
 * Protocol (docs/spool.md has the crash analysis of every step):
 *   writer:   spool_begin -> spool_add_file / spool_open_fd / spool_fopen -> spool_commit
 *             (fsync every file, fsync the entry directory, rename into ready/ without
 *             replacing, fsync ready/ and tmp/), or spool_abort.
 *   consumer: spool_scan (oldest first) -> spool_claim -> spool_claimed_open ... ->
 *             spool_finish | spool_fail | spool_release.
 *   start-up: spool_recover (active/ back to ready/, stale tmp/ leftovers removed).
 * A crash leaves either no entry or a whole entry in ready/, never half of one.
 *
 * Duplicates: committing a name that is already in ready/ returns CS_ERR_EXISTS and
 * leaves the first entry untouched (consumers are idempotent by call uuid, so the
 * first copy is the one that counts). The check is atomic (renameat2 RENAME_NOREPLACE;
 * on file systems without it a plain rename, which cannot replace a non-empty
 * directory, and entries always hold at least one file).
 *
 * Names: entry names and file names match [A-Za-z0-9._-]+, do not start with '.',
 * and are at most SPOOL_NAME_MAX / SPOOL_FILE_NAME_MAX bytes. The file name "reason"
 * is reserved (spool_fail writes it). Anything else is CS_ERR_INVAL.
 *
 * Errors: every function returns CS_OK or a negative cs_err (common/error.h) and never
 * logs; spool_errno() gives the errno of the last failed system call on the handle so
 * the caller can log it. errno mapping: ENOENT -> NOTFOUND, EEXIST/ENOTEMPTY -> EXISTS,
 * ENOMEM -> NOMEM, EXDEV -> CONFIG, EINTR -> INTERRUPTED, anything else -> IO.
 *
 * Threads: a handle and its entries are used by one thread at a time. Several
 * processes (or handles) may share one spool: rename is the only synchronisation.
 * No global state: everything lives in the handle.
 * Permissions: directories are created with mode 0750, files 0640 (minus umask);
 * existing directories are not chmod'ed.
 */
#ifndef CALLSCOPE_SPOOL_H
#define CALLSCOPE_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define SPOOL_NAME_MAX      128  /* bytes of an entry name (a call uuid is 36) */
#define SPOOL_FILE_NAME_MAX 64   /* bytes of a file name inside an entry */
#define SPOOL_MAX_FILES     32   /* files per entry */
#define SPOOL_REASON_MAX    1024 /* bytes of the message kept in failed/X/reason */

typedef struct spool spool;
typedef struct spool_entry spool_entry;

/* spool_open flags. */
enum {
    /* This handle consumes (claims) entries: it holds consumers.lock shared for its
     * lifetime so that spool_recover in another process does not steal its claims. */
    SPOOL_CONSUMER = 1u << 0,
    /* Set up an inotify watch on ready/ for spool_wait (a hint only; if inotify is
     * unavailable the handle still opens and spool_wait just sleeps). */
    SPOOL_NOTIFY = 1u << 1,
};

/* Counters since spool_open. Read-only copy from spool_get_stats. */
typedef struct spool_stats {
    uint64_t committed;     /* entries renamed into ready/ */
    uint64_t commit_exists; /* commits refused because ready/<name> existed */
    uint64_t aborted;       /* entries abandoned by the writer (abort or failed commit) */
    uint64_t claimed;       /* claims won */
    uint64_t claim_lost;    /* claims lost to another consumer (NOTFOUND/BUSY) */
    uint64_t finished;      /* entries removed after processing */
    uint64_t failed;        /* entries moved to failed/ (spool_fail and recovery) */
    uint64_t released;      /* entries put back into ready/ by spool_release */
    uint64_t recovered;     /* entries moved active/ -> ready/ by spool_recover */
    uint64_t tmp_removed;   /* uncommitted writer leftovers removed by spool_recover */
    uint64_t trash_removed; /* half-deleted finished entries removed by spool_recover */
} spool_stats;

/* ---- handle ------------------------------------------------------------ */

/*
 * Opens the spool at `root` (borrowed; copied). Creates root (one level) and its
 * four subdirectories with mode 0750 if missing, and checks that all four are
 * directories on the same file system as root (CS_ERR_CONFIG otherwise: rename
 * would not be atomic across them). flags: SPOOL_CONSUMER | SPOOL_NOTIFY.
 * On success *out is a new handle the caller frees with spool_close.
 */
int spool_open(const char *root, unsigned flags, spool **out);
/* Closes the handle. Open writer entries must be committed or aborted first
 * (their tmp dirs would stay behind until spool_recover). NULL is a no-op. */
void spool_close(spool *sp);

/* errno of the last failed system call on this handle (0 if none). */
int spool_errno(const spool *sp);
void spool_get_stats(const spool *sp, spool_stats *out);
/* The root path as given to spool_open (owned by the handle). */
const char *spool_root(const spool *sp);

/* CS_OK if s[0..len) is a valid entry name, else CS_ERR_INVAL. Needs no NUL. */
int spool_name_check(const char *s, size_t len);
/* Same for a file name inside an entry (also rejects the reserved "reason"). */
int spool_file_name_check(const char *s, size_t len);

/* ---- writer ------------------------------------------------------------ */

/*
 * Begins an entry `name` (NUL-terminated, checked): creates tmp/<name>.<pid>.<rand>/.
 * *out is a new entry the caller must end with spool_commit or spool_abort (both
 * free it). Beginning does not check ready/ for duplicates; commit does.
 */
int spool_begin(spool *sp, const char *name, spool_entry **out);

/* Adds file `fname` with the `len` bytes at `data` (borrowed). The data reach the
 * disk at commit (fsync). CS_ERR_EXISTS if the entry already has that file,
 * CS_ERR_LIMIT beyond SPOOL_MAX_FILES. */
int spool_add_file(spool_entry *e, const char *fname, const void *data, size_t len);

/* Creates file `fname` and gives a write-only descriptor for streaming into it.
 * The entry owns the descriptor: the caller writes but never closes it; commit
 * fsyncs and closes it, abort closes it. */
int spool_open_fd(spool_entry *e, const char *fname, int *fd_out);

/* Like spool_open_fd but a stdio stream. The entry owns the FILE: the caller
 * never fcloses it; commit flushes (a write error then fails the commit), fsyncs
 * and closes it. */
int spool_fopen(spool_entry *e, const char *fname, FILE **fp_out);

/*
 * Makes the entry durable and visible: flushes, fsyncs and closes every file, fsyncs
 * the entry directory, renames it to ready/<name> without replacing, fsyncs ready/
 * and tmp/. Always takes ownership of `e` and frees it: on failure the tmp
 * directory is removed (nothing of the entry is left) and the error returned:
 *   CS_ERR_EXISTS   ready/<name> exists (the first one is kept unchanged);
 *   CS_ERR_EMPTY    the entry holds no file;
 *   CS_ERR_IO ...   a write, flush or fsync failed (or an earlier add failed: the
 *                   first error of an entry sticks and is returned here).
 * If the final directory fsyncs fail the entry is already in ready/: CS_OK is not
 * returned but the entry may be processed; spool_errno says why.
 */
int spool_commit(spool_entry *e);

/* Abandons the entry: closes its files, removes its tmp directory, frees `e`.
 * NULL is a no-op. */
void spool_abort(spool_entry *e);

/* ---- consumer ---------------------------------------------------------- */

typedef struct spool_item {
    char name[SPOOL_NAME_MAX + 1]; /* NUL-terminated entry name */
    struct timespec mtime;         /* the entry directory's mtime (queue order) */
} spool_item;

/*
 * Lists ready/ oldest first (by directory mtime, then name) into items[0..cap):
 * the `cap` oldest entries, *n_out of them. *total_out (may be NULL) gets the
 * number of valid entries seen in ready/. Names that are not valid entry names
 * and non-directories are skipped. Bounded: no allocation proportional to ready/.
 */
int spool_scan(spool *sp, spool_item *items, size_t cap, size_t *n_out, size_t *total_out);

/*
 * Claims ready/<name> by renaming it to active/<name>. Exactly one of several
 * concurrent claimers wins. CS_ERR_NOTFOUND: gone (another consumer won);
 * CS_ERR_BUSY: an entry of the same name is already active (a duplicate commit of
 * a call still being processed: try later).
 */
int spool_claim(spool *sp, const char *name);

/* Opens file `fname` of the claimed entry `name` read-only; the caller closes *fd_out. */
int spool_claimed_open(spool *sp, const char *name, const char *fname, int *fd_out);
/* Writes "<root>/active/<name>/<fname>" (fname may be NULL: the entry directory)
 * into buf. CS_ERR_OVERFLOW if it does not fit in cap bytes with the NUL. */
int spool_claimed_path(const spool *sp, const char *name, const char *fname, char *buf, size_t cap);

/* Done with a claimed entry: moves it out of active/ atomically (into tmp/.trash.*),
 * fsyncs active/, then deletes it. */
int spool_finish(spool *sp, const char *name);

/*
 * Sets a claimed entry aside: writes failed-at time, cs_err_name(err) and `msg`
 * (may be NULL; control bytes become '?', cut at SPOOL_REASON_MAX) into the entry's
 * "reason" file, fsyncs, renames active/<name> to failed/<name> (or, if that exists,
 * failed/<name>.<unix time>.<n>), fsyncs active/ and failed/.
 */
int spool_fail(spool *sp, const char *name, int err, const char *msg);

/* Puts a claimed entry back into ready/ for a later retry, with its mtime set to now
 * (it goes to the back of the queue). CS_ERR_EXISTS if ready/<name> exists again (a
 * duplicate arrived): the entry stays claimed and the caller may finish it. */
int spool_release(spool *sp, const char *name);

/* ---- recovery and wake-ups --------------------------------------------- */

typedef struct spool_recovery {
    size_t active_to_ready;  /* claimed by a crashed consumer, back in ready/ */
    size_t active_to_failed; /* had a "reason" (interrupted fail) or a duplicate in ready/ */
    size_t tmp_removed;      /* uncommitted writer leftovers older than max age, removed */
    size_t tmp_kept;         /* writer dirs younger than max age (may be live writers) */
    size_t trash_removed;    /* finished entries whose deletion was interrupted */
} spool_recovery;

/*
 * Start-up recovery. Needs consumers.lock exclusively (taken and given back here):
 * CS_ERR_BUSY if another consumer handle is open on this spool, because its claims
 * in active/ are alive. Then:
 *   active/X with a "reason" file -> failed/X (finishes an interrupted spool_fail);
 *   active/X otherwise -> ready/X (mtime kept), or failed/X if ready/X exists;
 *   tmp/.trash.* -> removed;
 *   tmp/<writer dir> whose newest mtime (dir or any file) is at least
 *   `tmp_max_age_s` seconds old -> removed: they were never committed, so they are
 *   not calls yet (a writer that crashed before commit loses that entry);
 *   0 removes every writer dir (only when no writer can be running).
 * `rep` (may be NULL) gets the counts; the handle counters are updated too.
 */
int spool_recover(spool *sp, unsigned tmp_max_age_s, spool_recovery *rep);

/*
 * Waits until ready/ may have changed or `timeout_ms` (< 0: no timeout) passed.
 * CS_OK: look again (an inotify event arrived; the events are drained);
 * CS_ERR_TIMEOUT: time passed without a hint (rescan anyway: hints can be lost);
 * CS_ERR_INTERRUPTED: a signal arrived. Without SPOOL_NOTIFY (or inotify) it sleeps.
 * The design is rescan-driven: a hint only says "look again".
 */
int spool_wait(spool *sp, int timeout_ms);
/* The inotify descriptor for the caller's own poll loop (-1 if none); owned by the
 * handle. After it polls readable, call spool_wait(sp, 0) to drain it. */
int spool_notify_fd(const spool *sp);

#endif
