/*
 * wq.h — the write queue: call.pcap blocks written by a second thread, so the
 * read loop never waits on write(2).
 *
 * Why: over a 1 GB load capture, writing every call's call.pcap (about the
 * input's size again, in CALLOUT_WBUF-byte writes to tmpfs) took about a
 * quarter of capture's time, all of it in the kernel, on the thread that also
 * reads and parses the packets (bench/capture, docs/benchmarks.md). With the
 * queue, the read loop only copies frames into a block; a full block is
 * queued and written by the writer thread on another core.
 *
 * Model: a FIFO of jobs (file, offset, block, length) and one writer thread that
 * takes them in order, so the blocks of one file reach it in the order they
 * were queued, and a job is done only when its bytes were written (or failed).
 * Every file is a wq_file the caller owns (call_pcap embeds one); wq_wait
 * returns once every job queued for that file is done: the caller must wait
 * before it closes the descriptor, commits or frees the wq_file. A wq_file
 * whose write failed is marked (wq_file_failed) and its later jobs are
 * dropped, not written (the file would have a hole).
 *
 * Memory: blocks come from a free list; when it is empty, a new block is
 * carved from a 2 MB chunk advised for transparent huge pages (wq.c says why).
 * At most max_queued jobs are queued or being written (wq_submit waits for
 * the writer past that). Blocks given back stay on the free list until
 * wq_free, so the queue keeps the peak number of blocks ever in use (open
 * calls + max_queued + what the writer has not yet given back), rounded up
 * to whole chunks. A block must never be free()d: only wq_submit and wq_put
 * give it back.
 *
 * Wake-ups: the writer is woken when wake_batch jobs are queued, by wq_wait
 * and by wq_free, not for every block (a futex wake per 8 KB block cost more
 * than the write it saves); a queued job may wait for more to come, which is
 * harmless: nothing of an open call is durable before its commit, and the
 * commit waits for its jobs.
 *
 * threaded 0: no thread; wq_submit writes at once, on the caller's thread
 * (same bytes, same results).
 *
 * Shutdown: wq_free writes every queued job, then joins the writer. A crash
 * loses what is queued, which only belongs to calls still open (their spool
 * entries are uncommitted tmp/ directories: docs/callscope-capture.md).
 *
 * Threads: every function is called by one thread (the engine's); the writer
 * thread only runs jobs. A wq_file's failed flag is the only field both
 * threads touch (atomic); its other fields are the caller's.
 * Errors: CS_OK or a negative cs_err; nothing is logged here.
 * Ownership: wq_block hands a block to the caller, who gives it back with
 * wq_submit (the queue then owns and recycles it) or wq_put; wq_free frees
 * every block it holds.
 */
#ifndef CALLSCOPE_CAPTURE_WQ_H
#define CALLSCOPE_CAPTURE_WQ_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wq wq;

/* One destination file: embedded in the caller's state, zeroed before use
 * (wq_file_init). */
typedef struct wq_file {
    int fd;            /* borrowed: open until wq_wait says the file is done */
    atomic_int failed; /* a write failed (set by the writer) */
    uint64_t last_seq; /* sequence number of the last job queued for it; 0 none */
    uint64_t off;      /* file offset of the next job (written with pwrite at it) */
} wq_file;

#define WQ_DEF_MAX_QUEUED 64 /* blocks queued or being written */
#define WQ_DEF_WAKE_BATCH 8  /* queued jobs that wake the writer */

/* Sets f up for descriptor fd (no job, not failed). */
void wq_file_init(wq_file *f, int fd);

/* 1 once a write to f failed (its later jobs are dropped). */
int wq_file_failed(wq_file *f);

/*
 * A queue of block_size-byte blocks (> 0). max_queued >= 1, wake_batch in
 * [1, max_queued]. threaded: start the writer thread at the first job (0:
 * write on the caller's thread). NULL on bad arguments or out of memory.
 */
wq *wq_new(size_t block_size, size_t max_queued, size_t wake_batch, int threaded);

/* Writes every queued job, joins the writer, frees every block held. NULL-safe. */
void wq_free(wq *q);

/* The block size given to wq_new. */
size_t wq_block_size(const wq *q);

/* A free block of wq_block_size bytes (uninitialised), or NULL (out of memory). */
uint8_t *wq_block(wq *q);

/* Gives back an unused block (NULL-safe). */
void wq_put(wq *q, uint8_t *block);

/*
 * Queues len bytes (<= block size) of block for f and takes the block, which
 * the caller must not touch again. Waits while max_queued jobs are queued.
 * A job for a file already failed is dropped (the block is recycled).
 * Threaded: CS_OK (errors show through wq_file_failed / wq_wait); unthreaded:
 * CS_OK or CS_ERR_IO (the write failed: f is marked failed).
 */
int wq_submit(wq *q, wq_file *f, uint8_t *block, size_t len);

/*
 * A file's last block: waits for f's queued jobs only (usually none are
 * left), then writes len bytes of block at f's next offset on the caller's
 * thread and takes the block. Used when a call is committed: queueing its
 * last block and then waiting for it (wq_wait) cost a wake-up of the writer
 * and a sleep of the caller per call, about 0.1 s per GB of the load
 * capture (bench/capture: ~1100 calls, the tail after the read loop).
 * CS_OK, or CS_ERR_IO (f failed now or before; f is marked).
 */
int wq_submit_sync(wq *q, wq_file *f, uint8_t *block, size_t len);

/* Waits until every job queued for f is done. CS_OK, or CS_ERR_IO if a write
 * to f failed. f may then be closed or freed. */
int wq_wait(wq *q, wq_file *f);

/* Counters (read on the caller's thread). */
typedef struct wq_stats {
    uint64_t jobs;             /* blocks queued */
    uint64_t bytes;            /* bytes queued */
    uint64_t dropped;          /* jobs dropped because their file had failed */
    uint64_t full_waits;       /* times wq_submit waited for room */
    uint64_t sync_jobs;        /* blocks written by wq_submit_sync (in jobs too) */
    uint64_t blocks_allocated; /* blocks carved from chunks so far */
} wq_stats;

void wq_get_stats(wq *q, wq_stats *out);

#endif
