/*
 * wq.c — the call.pcap write queue (see wq.h for the model and the reasons).
 *
 * One mutex guards the ring of jobs, the free list and the counters; two
 * condition variables: work (the writer waits for jobs) and done (the caller
 * waits for room, or for a file's jobs). Neither side signals unless the
 * other is known to sleep and its condition now holds, so the common case is
 * one uncontended lock per block on each side and no system call.
 *
 * The writer takes the job at the head of the ring without removing it,
 * writes it with the lock released, then removes it: a slot is reused only
 * after its job is done, and jobs finish in the order they were queued, so
 * "done_seq >= the file's last_seq" means every job of that file is done.
 *
 * The writer thread starts at the first job (an engine that never writes a
 * pcap never starts one) with every signal blocked, so SIGTERM and SIGINT
 * reach the read loop.
 *
 * Blocks are carved from 2 MB chunks (WQ_CHUNK) aligned to 2 MB and advised
 * MADV_HUGEPAGE: with one 16 KB block per open call, 1000 calls' blocks
 * spread over 4 KB pages cost the read loop a TLB miss per frame (the first
 * prefetch of each block's tail was among the hottest instructions of the
 * read loop); in transparent huge pages the blocks of 128 calls share one
 * TLB entry. A block is never freed on its own: the free list takes back
 * every block, chunks are freed by wq_free.
 */
#include "wq.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"

#define WQ_CHUNK ((size_t)2 << 20) /* bytes of blocks per chunk: one transparent huge page */

typedef struct wq_job {
    wq_file *f;
    uint8_t *block;
    size_t len;
    uint64_t off;                /* file offset of the block's first byte */
} wq_job;

struct wq {
    size_t bsize, maxq, batch;
    int threaded; /* 1: a writer thread (may fall back to 0) */
    int started;  /* the writer thread runs */
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    /* LOCK mu: */
    wq_job *ring; /* maxq slots; jobs [head, head + count) */
    size_t head, count;
    uint64_t queued_seq, done_seq;
    int stop;            /* wq_free: finish the ring, then exit */
    int writer_sleeping; /* the writer waits on work */
    int caller_waiting;  /* the caller waits on done until ... */
    size_t wake_count;   /* ... count <= wake_count, or */
    uint64_t wake_seq;   /* ... done_seq >= wake_seq */
    uint8_t **freel;     /* nblocks slots: every block can come back */
    size_t nfree;
    uint8_t *carve;    /* next block of the newest chunk */
    size_t carve_left; /* blocks left there */
    size_t nblocks;    /* blocks carved so far */
    uint8_t **chunks;  /* every chunk, for wq_free */
    size_t nchunks;
    wq_stats st;
};

void wq_file_init(wq_file *f, int fd)
{
    f->fd = fd;
    atomic_init(&f->failed, 0);
    f->last_seq = 0;
    f->off = 0;
}

int wq_file_failed(wq_file *f)
{
    return atomic_load_explicit(&f->failed, memory_order_relaxed);
}

/* pwrite(2), not write(2): in a process with a second thread, write takes
 * the file position lock every time (fdget_pos, 1-2% of capture's time in
 * bench/capture); the queue knows every job's offset anyway. */
static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return CS_ERR_IO;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return CS_OK;
}

/* Writes one job unless its file already failed. Either thread, no lock. */
static int run_job(const wq_job *j)
{
    if (atomic_load_explicit(&j->f->failed, memory_order_relaxed))
        return CS_ERR_IO;
    int rc = write_all(j->f->fd, j->block, j->len, j->off);
    if (rc != CS_OK)
        atomic_store_explicit(&j->f->failed, 1, memory_order_relaxed);
    return rc;
}

/* LOCK mu. The free list has a slot for every block carved. */
static void recycle(wq *q, uint8_t *block)
{
    q->freel[q->nfree++] = block;
}

/* LOCK mu. A new chunk to carve blocks from, the free list grown to match;
 * CS_OK or CS_ERR_NOMEM (nothing lost: the arrays grown are still valid). */
static int add_chunk(wq *q)
{
    size_t per = WQ_CHUNK / q->bsize ? WQ_CHUNK / q->bsize : 1;
    size_t bytes = per * q->bsize;
    size_t align = bytes >= WQ_CHUNK ? WQ_CHUNK : 64;
    size_t rounded = (bytes + align - 1) / align * align;
    if (rounded < bytes || q->nblocks + per < per)
        return CS_ERR_NOMEM;
    uint8_t **nf = realloc(q->freel, (q->nblocks + per) * sizeof *nf);
    if (!nf)
        return CS_ERR_NOMEM;
    q->freel = nf;
    uint8_t **nc = realloc(q->chunks, (q->nchunks + 1) * sizeof *nc);
    if (!nc)
        return CS_ERR_NOMEM;
    q->chunks = nc;
    uint8_t *c = aligned_alloc(align, rounded);
    if (!c)
        return CS_ERR_NOMEM;
#ifdef MADV_HUGEPAGE
    if (align == WQ_CHUNK)
        (void)madvise(c, rounded, MADV_HUGEPAGE); /* advice only: 4 KB pages work too */
#endif
    q->chunks[q->nchunks++] = c;
    q->carve = c;
    q->carve_left = per;
    q->nblocks += per;
    return CS_OK;
}

static void *writer_main(void *arg)
{
    wq *q = arg;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->count == 0 && !q->stop) {
            q->writer_sleeping = 1;
            pthread_cond_wait(&q->work, &q->mu);
            q->writer_sleeping = 0;
        }
        if (q->count == 0)
            break; /* stop, and nothing left */
        wq_job j = q->ring[q->head];
        pthread_mutex_unlock(&q->mu);
        run_job(&j);
        pthread_mutex_lock(&q->mu);
        q->head = (q->head + 1) % q->maxq;
        q->count--;
        q->done_seq++;
        recycle(q, j.block);
        if (q->caller_waiting && (q->count <= q->wake_count || q->done_seq >= q->wake_seq))
            pthread_cond_signal(&q->done);
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

wq *wq_new(size_t block_size, size_t max_queued, size_t wake_batch, int threaded)
{
    if (block_size == 0 || max_queued == 0 || wake_batch == 0 || wake_batch > max_queued)
        return NULL;
    wq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->bsize = block_size;
    q->maxq = max_queued;
    q->batch = wake_batch;
    q->threaded = threaded ? 1 : 0;
    q->ring = calloc(max_queued, sizeof *q->ring);
    if (!q->ring) {
        free(q);
        return NULL;
    }
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        free(q->ring);
        free(q->freel);
        free(q);
        return NULL;
    }
    if (pthread_cond_init(&q->work, NULL) != 0) {
        pthread_mutex_destroy(&q->mu);
        free(q->ring);
        free(q->freel);
        free(q);
        return NULL;
    }
    if (pthread_cond_init(&q->done, NULL) != 0) {
        pthread_cond_destroy(&q->work);
        pthread_mutex_destroy(&q->mu);
        free(q->ring);
        free(q->freel);
        free(q);
        return NULL;
    }
    return q;
}

void wq_free(wq *q)
{
    if (!q)
        return;
    if (q->started) {
        pthread_mutex_lock(&q->mu);
        q->stop = 1;
        pthread_cond_signal(&q->work);
        pthread_mutex_unlock(&q->mu);
        pthread_join(q->th, NULL);
    }
    for (size_t i = 0; i < q->nchunks; i++) /* every block, queued, free or not given back */
        free(q->chunks[i]);
    free(q->chunks);
    pthread_cond_destroy(&q->done);
    pthread_cond_destroy(&q->work);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    free(q->freel);
    free(q);
}

size_t wq_block_size(const wq *q)
{
    return q->bsize;
}

uint8_t *wq_block(wq *q)
{
    uint8_t *b = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->nfree) {
        b = q->freel[--q->nfree];
    } else if (q->carve_left || add_chunk(q) == CS_OK) {
        b = q->carve;
        q->carve += q->bsize;
        q->carve_left--;
        q->st.blocks_allocated++;
    }
    pthread_mutex_unlock(&q->mu);
    return b;
}

void wq_put(wq *q, uint8_t *block)
{
    if (!block)
        return;
    pthread_mutex_lock(&q->mu);
    recycle(q, block);
    pthread_mutex_unlock(&q->mu);
}

/* Starts the writer with every signal blocked; 0 on failure (then unthreaded). */
static int start_writer(wq *q)
{
    sigset_t all, old;
    sigfillset(&all);
    if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
        return 0;
    int ok = pthread_create(&q->th, NULL, writer_main, q) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

/* LOCK mu. Waits on done until count <= wake_count or done_seq >= wake_seq. */
static void wait_done(wq *q, size_t wake_count, uint64_t wake_seq)
{
    while (q->count > wake_count && q->done_seq < wake_seq) {
        if (q->writer_sleeping)
            pthread_cond_signal(&q->work);
        q->caller_waiting = 1;
        q->wake_count = wake_count;
        q->wake_seq = wake_seq;
        pthread_cond_wait(&q->done, &q->mu);
        q->caller_waiting = 0;
    }
}

int wq_submit(wq *q, wq_file *f, uint8_t *block, size_t len)
{
    wq_job j = {f, block, len, f->off};
    if (len > q->bsize) /* a caller bug: never write past the block */
        j.len = q->bsize;
    f->off += j.len;
    if (q->threaded && !q->started) {
        q->started = start_writer(q);
        if (!q->started)
            q->threaded = 0;
    }
    if (!q->threaded) {
        int dropped = wq_file_failed(f);
        int rc = dropped ? CS_ERR_IO : run_job(&j);
        pthread_mutex_lock(&q->mu);
        q->st.jobs++;
        q->st.bytes += j.len;
        q->st.dropped += (uint64_t)dropped;
        recycle(q, block);
        pthread_mutex_unlock(&q->mu);
        return rc;
    }
    pthread_mutex_lock(&q->mu);
    if (wq_file_failed(f)) {
        q->st.dropped++;
        recycle(q, block);
        pthread_mutex_unlock(&q->mu);
        return CS_OK;
    }
    if (q->count == q->maxq) {
        q->st.full_waits++;
        wait_done(q, q->maxq / 2, UINT64_MAX);
    }
    q->ring[(q->head + q->count) % q->maxq] = j;
    q->count++;
    f->last_seq = ++q->queued_seq;
    q->st.jobs++;
    q->st.bytes += j.len;
    if (q->writer_sleeping && q->count >= q->batch)
        pthread_cond_signal(&q->work);
    pthread_mutex_unlock(&q->mu);
    return CS_OK;
}

int wq_submit_sync(wq *q, wq_file *f, uint8_t *block, size_t len)
{
    wq_job j = {f, block, len > q->bsize ? q->bsize : len, f->off};
    f->off += j.len;
    pthread_mutex_lock(&q->mu);
    if (q->started && f->last_seq)
        wait_done(q, 0, f->last_seq); /* f's earlier blocks first: the file stays in order */
    int dropped = wq_file_failed(f);
    q->st.jobs++;
    q->st.sync_jobs++;
    q->st.bytes += j.len;
    q->st.dropped += (uint64_t)dropped;
    pthread_mutex_unlock(&q->mu);
    int rc = dropped ? CS_ERR_IO : run_job(&j);
    pthread_mutex_lock(&q->mu);
    recycle(q, block);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int wq_wait(wq *q, wq_file *f)
{
    if (q->started && f->last_seq) {
        pthread_mutex_lock(&q->mu);
        wait_done(q, 0, f->last_seq);
        pthread_mutex_unlock(&q->mu);
    }
    return wq_file_failed(f) ? CS_ERR_IO : CS_OK;
}

void wq_get_stats(wq *q, wq_stats *out)
{
    pthread_mutex_lock(&q->mu);
    *out = q->st;
    pthread_mutex_unlock(&q->mu);
}
