/*
 * input.c — live interfaces and capture files through libpcap (input.h).
 *
 * Both kinds of source end up as one pcap_t read with pcap_next_ex(): a file
 * returns frames until PCAP_ERROR_BREAK (end) or PCAP_ERROR (a truncated or
 * corrupt record: libpcap stops there and says why); a live handle is put in
 * non-blocking mode so pcap_next_ex() returns 0 when the ring is empty and the
 * caller's poll loop decides how long to wait. Files are opened with fopen()
 * first so "no such file" and "permission denied" come from errno, not from
 * parsing libpcap's message, and so the file's size is known for progress.
 *
 * Timestamps are requested in microseconds (libpcap converts nanosecond pcap
 * and pcapng files); they are turned into one uint64_t without overflow.
 *
 * This module does not decide what to do with a bad file or a dropped frame:
 * it reports, the program (main.c) counts and logs.
 *
 * SECURITY: reads hostile files and frames but parses none of their content
 * itself; libpcap bounds every record by its snapshot length and its buffer.
 * BUGS: bytes read for a pcapng file are stdio's position, which runs ahead
 * of the frames delivered by up to one read buffer; progress is approximate.
 */
#include "input.h"

#include <dirent.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define CAP_SNAPLEN_MIN 64
#define CAP_SNAPLEN_MAX 262144
/* without immediate mode, the kernel hands over a batch at least this often */
#define CAP_READ_TIMEOUT_MS 100
/* largest kernel buffer pcap_set_buffer_size() takes (an int); spelled out
 * because capture/limits.h shadows <limits.h> on this include path */
#define CAP_BUFFER_MAX 2147483647
/* stdio buffer of a capture file read by libpcap: libpcap freads every
 * record header and body separately; with the default buffer (st_blksize,
 * 4 KB on tmpfs) that is one read(2) per 4 KB. bench/capture: 1 GB from the
 * page cache took 0.46 s with the default buffer, 0.33 s with 64 KB. */
#define CAP_FILE_BUFFER (64u << 10)
/* buffer of the direct reader of classic pcap files (see cap_direct_next);
 * must hold the largest record: 16 + CAP_SNAPLEN_MAX */
#define CAP_DIRECT_BUFFER (1u << 20)
#define CAP_REC_HDR 16

struct cap_input {
    pcap_t *p;
    FILE *fp;           /* files: the stream libpcap reads (closed by pcap_close) */
    char *fbuf;         /* files: fp's stdio buffer, CAP_FILE_BUFFER bytes (freed after it) */
    /* the direct reader (classic pcap files): records read with pread(2) from
     * fileno(fp) into dbuf, bypassing stdio and libpcap until it hands over */
    int direct;         /* 1: records come from dbuf; 0: from libpcap */
    int d_swapped;      /* the file's byte order is not ours */
    int d_nsec;         /* nanosecond timestamps */
    int d_eof;          /* pread returned 0 */
    uint32_t d_snap;    /* pcap_snapshot() of the handle */
    uint8_t *dbuf;      /* CAP_DIRECT_BUFFER bytes */
    size_t d_pos, d_len; /* next record at dbuf + d_pos; d_len bytes valid */
    uint64_t d_base;    /* file offset of dbuf[0] */
    int live;
    int linktype;
    int fd;             /* live: selectable descriptor; files: -1 */
    int done;           /* sticky result after the end or an error (0: none yet) */
    uint64_t size;      /* files: size in bytes at open (0 for pipes) */
    uint64_t frames;
};

static void cap_errf(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cap_direct_setup(cap_input *in, const struct stat *sb);

static void cap_errf(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errcap > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
}

static int cap_apply_filter(pcap_t *p, const char *filter, char *err, size_t errcap)
{
    struct bpf_program prog;

    if (filter == NULL || filter[0] == '\0') {
        return CS_OK;
    }
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        cap_errf(err, errcap, "BPF filter '%s': %s", filter, pcap_geterr(p));
        return CS_ERR_CONFIG;
    }
    if (pcap_setfilter(p, &prog) != 0) {
        cap_errf(err, errcap, "BPF filter '%s': %s", filter, pcap_geterr(p));
        pcap_freecode(&prog);
        return CS_ERR_CONFIG;
    }
    pcap_freecode(&prog);
    return CS_OK;
}

int cap_input_check_filter(const char *filter, int linktype, int snaplen, char *err,
                           size_t errcap)
{
    pcap_t *p;
    int rc;

    if (filter == NULL || filter[0] == '\0') {
        return CS_OK;
    }
    p = pcap_open_dead(linktype, snaplen);
    if (p == NULL) {
        cap_errf(err, errcap, "BPF filter '%s': out of memory", filter);
        return CS_ERR_NOMEM;
    }
    /* a dead handle compiles but cannot hold a filter: compile only */
    struct bpf_program prog;
    rc = CS_OK;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        cap_errf(err, errcap, "BPF filter '%s': %s", filter, pcap_geterr(p));
        rc = CS_ERR_CONFIG;
    } else {
        pcap_freecode(&prog);
    }
    pcap_close(p);
    return rc;
}

int cap_input_open_live(const cap_live_opts *o, cap_input **out, char *err, size_t errcap,
                        char *warn, size_t warncap)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    cap_input *in;
    pcap_t *p;
    int rc;

    if (warn != NULL && warncap > 0) {
        warn[0] = '\0';
    }
    if (out == NULL || o == NULL || o->iface == NULL || o->iface[0] == '\0') {
        cap_errf(err, errcap, "no interface given");
        return CS_ERR_INVAL;
    }
    *out = NULL;
    if (o->snaplen < CAP_SNAPLEN_MIN || o->snaplen > CAP_SNAPLEN_MAX) {
        cap_errf(err, errcap, "%s: snaplen %d out of [%d, %d]", o->iface, o->snaplen, CAP_SNAPLEN_MIN,
                 CAP_SNAPLEN_MAX);
        return CS_ERR_INVAL;
    }
    ebuf[0] = '\0';
    p = pcap_create(o->iface, ebuf);
    if (p == NULL) {
        cap_errf(err, errcap, "%s: %s", o->iface, ebuf);
        return CS_ERR_IO;
    }
    if (pcap_set_snaplen(p, o->snaplen) != 0 || pcap_set_promisc(p, o->promisc ? 1 : 0) != 0 ||
        pcap_set_immediate_mode(p, o->immediate ? 1 : 0) != 0 ||
        pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO) != 0 ||
        pcap_set_timeout(p, CAP_READ_TIMEOUT_MS) != 0 ||
        (o->buffer_bytes > 0 &&
         pcap_set_buffer_size(p, o->buffer_bytes > CAP_BUFFER_MAX ? CAP_BUFFER_MAX : (int)o->buffer_bytes) != 0)) {
        cap_errf(err, errcap, "%s: cannot set capture options: %s", o->iface, pcap_geterr(p));
        pcap_close(p);
        return CS_ERR_IO;
    }
    rc = pcap_activate(p);
    if (rc < 0) {
        const char *why = (rc == PCAP_ERROR || rc == PCAP_ERROR_NO_SUCH_DEVICE ||
                           rc == PCAP_ERROR_PERM_DENIED)
                              ? pcap_geterr(p)
                              : pcap_statustostr(rc);
        if (why == NULL || why[0] == '\0') {
            why = pcap_statustostr(rc);
        }
        cap_errf(err, errcap, "%s: %s", o->iface, why);
        pcap_close(p);
        return rc == PCAP_ERROR_NO_SUCH_DEVICE ? CS_ERR_NOTFOUND : CS_ERR_IO;
    }
    if (rc > 0 && warn != NULL && warncap > 0) {
        const char *why = pcap_geterr(p);
        snprintf(warn, warncap, "%s: %s", o->iface,
                 (why != NULL && why[0] != '\0') ? why : pcap_statustostr(rc));
    }
    rc = cap_apply_filter(p, o->filter, err, errcap);
    if (rc != CS_OK) {
        pcap_close(p);
        return rc;
    }
    if (pcap_setnonblock(p, 1, ebuf) != 0) {
        cap_errf(err, errcap, "%s: non-blocking mode: %s", o->iface, ebuf);
        pcap_close(p);
        return CS_ERR_IO;
    }
    in = calloc(1, sizeof *in);
    if (in == NULL) {
        pcap_close(p);
        return CS_ERR_NOMEM;
    }
    in->p = p;
    in->live = 1;
    in->linktype = pcap_datalink(p);
    in->fd = pcap_get_selectable_fd(p);
    *out = in;
    return CS_OK;
}

int cap_input_open_file(const char *path, const char *filter, cap_input **out, char *err,
                        size_t errcap)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    struct stat sb;
    cap_input *in;
    FILE *fp;
    pcap_t *p;
    int rc;

    if (out == NULL || path == NULL || path[0] == '\0') {
        cap_errf(err, errcap, "no file given");
        return CS_ERR_INVAL;
    }
    *out = NULL;
    fp = fopen(path, "rb");
    if (fp == NULL) {
        int e = errno;
        cap_errf(err, errcap, "%s: %s", path, strerror(e));
        return e == ENOENT ? CS_ERR_NOTFOUND : (e == ENOMEM ? CS_ERR_NOMEM : CS_ERR_IO);
    }
    if (fstat(fileno(fp), &sb) != 0) {
        cap_errf(err, errcap, "%s: %s", path, strerror(errno));
        fclose(fp);
        return CS_ERR_IO;
    }
    if (S_ISDIR(sb.st_mode)) {
        cap_errf(err, errcap, "%s: %s", path, strerror(EISDIR));
        fclose(fp);
        return CS_ERR_IO;
    }
    /* One thread reads this stream: stdio's per-call lock is pure cost, and
     * bench/capture found it the hottest instruction of the read path. */
    __fsetlocking(fp, FSETLOCKING_BYCALLER);
    /* Before any read on the stream; without the memory, stdio's default. */
    char *fbuf = malloc(CAP_FILE_BUFFER);
    if (fbuf != NULL && setvbuf(fp, fbuf, _IOFBF, CAP_FILE_BUFFER) != 0) {
        free(fbuf);
        fbuf = NULL;
    }
    ebuf[0] = '\0';
    p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (p == NULL) {
        /* libpcap closes nothing on failure: the stream is still ours. */
        fclose(fp);
        free(fbuf);
        cap_errf(err, errcap, "%s: %s", path, ebuf[0] != '\0' ? ebuf : "not a capture file");
        return CS_ERR_MALFORMED;
    }
    rc = cap_apply_filter(p, filter, err, errcap);
    if (rc != CS_OK) {
        pcap_close(p);
        free(fbuf);
        return rc;
    }
    in = calloc(1, sizeof *in);
    if (in == NULL) {
        pcap_close(p);
        free(fbuf);
        return CS_ERR_NOMEM;
    }
    in->p = p;
    in->fp = fp;
    in->fbuf = fbuf;
    in->linktype = pcap_datalink(p);
    in->fd = -1;
    in->size = S_ISREG(sb.st_mode) && sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
    if (filter == NULL || filter[0] == '\0') {
        cap_direct_setup(in, &sb);
    }
    *out = in;
    return CS_OK;
}

/* ---- the direct reader --------------------------------------------------
 *
 * libpcap reads a classic pcap file with two fread() calls per record (the
 * 16-byte header into a local, the body into its own buffer) behind a
 * callback; over a 1 GB capture from the page cache that copy and call chain
 * was a fifth to a third of callscope-capture's read loop (bench/capture).
 * For the files it knows to be plain, this reader takes the records straight
 * from a large pread(2) buffer instead, and hands each frame out of that
 * buffer: one copy (the kernel's) instead of three.
 *
 * It only takes files libpcap has already opened and accepted, and only
 * records it can deliver exactly as libpcap would:
 *   file:   classic pcap, version 2.4, microsecond or nanosecond magic in
 *           either byte order (not the "patched" Kuznetzov/Navtel formats),
 *           a regular file, no BPF filter, and a link type whose frames
 *           libpcap passes through untouched (Ethernet, raw IP, Linux
 *           cooked v1/v2, IPv4, IPv6: no pseudo-header byte swapping);
 *   record: caplen <= the handle's snapshot length (libpcap's own sanity
 *           limit is at least that), seconds and fraction below 2^31 (libpcap
 *           reads them as signed 32-bit numbers), the whole record present.
 * Anything else (a truncated or corrupt record, an oversized caplen, a
 * timestamp past 2038, a read error) is not judged here: the reader seeks
 * the libpcap stream to that record's offset and hands over, and libpcap
 * delivers, truncates or refuses it with its own message, exactly as if it
 * had read the whole file. Timestamps: microseconds as stored (clamped as
 * cap_ts_us does), nanoseconds divided by 1000 as libpcap's SCALE_DOWN.
 *
 * SECURITY: the record header is hostile: caplen is checked against the
 * snapshot length and against the bytes present before any body byte is
 * touched; the buffer holds the largest acceptable record.
 */

static uint32_t cap_rd32(const uint8_t *b, int swapped)
{
    uint32_t v;

    memcpy(&v, b, sizeof v);
    return swapped ? __builtin_bswap32(v) : v;
}

static int cap_direct_linktype(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
    case DLT_RAW:
    case DLT_LINUX_SLL:
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
#endif
#ifdef DLT_IPV4
    case DLT_IPV4:
#endif
#ifdef DLT_IPV6
    case DLT_IPV6:
#endif
        return 1;
    default:
        return 0;
    }
}

/* Turns the direct reader on for in when the file qualifies (see above);
 * otherwise, or without memory, libpcap reads it all. */
static void cap_direct_setup(cap_input *in, const struct stat *sb)
{
    uint8_t h[24];
    uint32_t magic;
    int snap = pcap_snapshot(in->p);

    if (!S_ISREG(sb->st_mode) || !cap_direct_linktype(in->linktype) || snap <= 0 ||
        (size_t)snap > CAP_DIRECT_BUFFER - CAP_REC_HDR) {
        return;
    }
    if (pread(fileno(in->fp), h, sizeof h, 0) != (ssize_t)sizeof h) {
        return;
    }
    memcpy(&magic, h, sizeof magic);
    switch (magic) {
    case 0xa1b2c3d4u: in->d_swapped = 0, in->d_nsec = 0; break;
    case 0xd4c3b2a1u: in->d_swapped = 1, in->d_nsec = 0; break;
    case 0xa1b23c4du: in->d_swapped = 0, in->d_nsec = 1; break;
    case 0x4d3cb2a1u: in->d_swapped = 1, in->d_nsec = 1; break;
    default: return;
    }
    uint16_t major, minor;
    memcpy(&major, h + 4, sizeof major);
    memcpy(&minor, h + 6, sizeof minor);
    if (in->d_swapped) {
        major = __builtin_bswap16(major);
        minor = __builtin_bswap16(minor);
    }
    if (major != 2 || minor != 4) {
        return;
    }
    in->dbuf = malloc(CAP_DIRECT_BUFFER);
    if (in->dbuf == NULL) {
        return;
    }
    in->d_snap = (uint32_t)snap;
    in->d_base = sizeof h;
    in->d_pos = in->d_len = 0;
    in->direct = 1;
}

/* Moves the unread bytes to the front and fills the buffer from the file.
 * CS_OK (d_eof set when the file ended) or CS_ERR_IO. */
static int cap_direct_fill(cap_input *in)
{
    size_t keep = in->d_len - in->d_pos;
    int fd = fileno(in->fp);

    memmove(in->dbuf, in->dbuf + in->d_pos, keep);
    in->d_base += in->d_pos;
    in->d_pos = 0;
    in->d_len = keep;
    while (in->d_len < CAP_DIRECT_BUFFER) {
        ssize_t n = pread(fd, in->dbuf + in->d_len, CAP_DIRECT_BUFFER - in->d_len,
                          (off_t)(in->d_base + in->d_len));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return CS_ERR_IO;
        }
        if (n == 0) {
            in->d_eof = 1;
            break;
        }
        in->d_len += (size_t)n;
    }
    return CS_OK;
}

/* 1: a frame in *f; 0: the end of the file; -1: libpcap must take over at
 * the current record (the stream is positioned there). */
static int cap_direct_next(cap_input *in, cap_frame *f)
{
    for (int filled = 0;; filled = 1) {
        size_t avail = in->d_len - in->d_pos;
        if (avail >= CAP_REC_HDR) {
            const uint8_t *h = in->dbuf + in->d_pos;
            uint32_t sec = cap_rd32(h, in->d_swapped);
            uint32_t frac = cap_rd32(h + 4, in->d_swapped);
            uint32_t caplen = cap_rd32(h + 8, in->d_swapped);
            uint32_t len = cap_rd32(h + 12, in->d_swapped);
            if (caplen > in->d_snap || ((sec | frac) & 0x80000000u) != 0) {
                break;
            }
            if (avail - CAP_REC_HDR >= caplen) {
                uint64_t usec = in->d_nsec ? frac / 1000u : frac;
                if (usec > 999999u) {
                    usec = 999999u;
                }
                f->ts_us = (uint64_t)sec * 1000000u + usec;
                f->data = h + CAP_REC_HDR;
                f->caplen = caplen;
                f->wire_len = len < caplen ? caplen : len;
                in->d_pos += CAP_REC_HDR + (size_t)caplen;
                return 1;
            }
        }
        if (filled || in->d_eof) {
            if (avail == 0 && in->d_eof) {
                return 0;
            }
            break; /* a partial record at the end: libpcap says how it is truncated */
        }
        if (cap_direct_fill(in) != CS_OK) {
            break; /* libpcap reads it again and reports the error */
        }
    }
    /* hand over: libpcap reads on from this record */
    in->direct = 0;
    if (fseeko(in->fp, (off_t)(in->d_base + in->d_pos), SEEK_SET) != 0) {
        return -2;
    }
    return -1;
}

/* seconds and microseconds of a pcap header as one count, clamped at both ends */
static uint64_t cap_ts_us(const struct timeval *tv)
{
    const uint64_t max_sec = UINT64_MAX / 1000000u - 1u;
    uint64_t sec, usec;

    if (tv->tv_sec < 0) {
        return 0;
    }
    sec = (uint64_t)tv->tv_sec;
    if (sec > max_sec) {
        return UINT64_MAX;
    }
    usec = tv->tv_usec < 0 ? 0 : (uint64_t)tv->tv_usec;
    if (usec > 999999u) {
        usec = 999999u;
    }
    return sec * 1000000u + usec;
}

int cap_input_next(cap_input *in, cap_frame *f, char *err, size_t errcap)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;

    if (in == NULL || f == NULL) {
        return CS_ERR_INVAL;
    }
    if (in->done != 0) {
        return in->done;
    }
    if (in->direct) {
        rc = cap_direct_next(in, f);
        if (rc == 1) {
            in->frames++;
            return 1;
        }
        if (rc == 0) {
            in->done = CS_ERR_EMPTY;
            return in->done;
        }
        if (rc == -2) {
            cap_errf(err, errcap, "cannot seek back to the record at offset %llu: %s",
                     (unsigned long long)(in->d_base + in->d_pos), strerror(errno));
            in->done = CS_ERR_MALFORMED;
            return in->done;
        }
        /* -1: libpcap takes over at this record */
    }
    rc = pcap_next_ex(in->p, &h, &data);
    if (rc == 1) {
        f->ts_us = cap_ts_us(&h->ts);
        f->data = data;
        f->caplen = h->caplen;
        f->wire_len = h->len < h->caplen ? h->caplen : h->len;
        in->frames++;
        return 1;
    }
    if (rc == 0) {
        /* live, non-blocking: nothing in the ring right now */
        return 0;
    }
    if (rc == PCAP_ERROR_BREAK && !in->live) {
        in->done = CS_ERR_EMPTY;
        return in->done;
    }
    cap_errf(err, errcap, "%s", rc == PCAP_ERROR ? pcap_geterr(in->p) : pcap_statustostr(rc));
    in->done = in->live ? CS_ERR_IO : CS_ERR_MALFORMED;
    return in->done;
}

int cap_input_peek(const cap_input *in, size_t k, const uint8_t **data, size_t *caplen)
{
    if (in == NULL || !in->direct || in->done != 0 || k == 0) {
        return 0;
    }
    size_t pos = in->d_pos;
    for (;;) {
        if (in->d_len - pos < CAP_REC_HDR) {
            return 0;
        }
        uint32_t cl = cap_rd32(in->dbuf + pos + 8, in->d_swapped);
        if (cl > in->d_snap || in->d_len - pos - CAP_REC_HDR < cl) {
            return 0;
        }
        if (--k == 0) {
            *data = in->dbuf + pos + CAP_REC_HDR;
            *caplen = cl;
            return 1;
        }
        pos += CAP_REC_HDR + (size_t)cl;
    }
}

int cap_input_linktype(const cap_input *in)
{
    return in->linktype;
}

int cap_input_fd(const cap_input *in)
{
    return in->fd;
}

int cap_input_is_live(const cap_input *in)
{
    return in->live;
}

int cap_input_kstats(cap_input *in, cap_kstats *out, char *err, size_t errcap)
{
    struct pcap_stat ps;

    memset(out, 0, sizeof *out);
    if (!in->live) {
        return CS_OK;
    }
    if (pcap_stats(in->p, &ps) != 0) {
        cap_errf(err, errcap, "pcap_stats: %s", pcap_geterr(in->p));
        return CS_ERR_IO;
    }
    out->received = ps.ps_recv;
    out->dropped = ps.ps_drop;
    out->ifdropped = ps.ps_ifdrop;
    return CS_OK;
}

void cap_input_progress(const cap_input *in, uint64_t *bytes_read, uint64_t *size)
{
    *bytes_read = 0;
    *size = 0;
    if (in->live || in->fp == NULL) {
        return;
    }
    off_t pos = in->direct ? (off_t)(in->d_base + in->d_pos) : ftello(in->fp);
    *bytes_read = pos > 0 ? (uint64_t)pos : 0;
    *size = in->size;
    if (in->size > 0 && *bytes_read > in->size) {
        *bytes_read = in->size;
    }
}

uint64_t cap_input_frames(const cap_input *in)
{
    return in->frames;
}

void cap_input_close(cap_input *in)
{
    if (in == NULL) {
        return;
    }
    pcap_close(in->p); /* also closes in->fp */
    free(in->fbuf);    /* only once the stream is closed */
    free(in->dbuf);
    free(in);
}

/* ---- rotated files ----------------------------------------------------- */

typedef struct cap_dir_item {
    char *path;
    struct timespec mtime;
    const char *name; /* points into path */
} cap_dir_item;

static int cap_dir_cmp(const void *a, const void *b)
{
    const cap_dir_item *x = a, *y = b;

    if (x->mtime.tv_sec != y->mtime.tv_sec) {
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    }
    if (x->mtime.tv_nsec != y->mtime.tv_nsec) {
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

static void cap_dir_items_free(cap_dir_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].path);
    }
    free(items);
}

int cap_input_list_dir(const char *dir, char ***paths, size_t *n, char *err, size_t errcap)
{
    cap_dir_item *items = NULL;
    size_t count = 0, cap = 0;
    struct dirent *de;
    DIR *d;
    int rc = CS_OK;

    *paths = NULL;
    *n = 0;
    d = opendir(dir);
    if (d == NULL) {
        int e = errno;
        cap_errf(err, errcap, "%s: %s", dir, strerror(e));
        return e == ENOENT ? CS_ERR_NOTFOUND : (e == ENOMEM ? CS_ERR_NOMEM : CS_ERR_IO);
    }
    for (;;) {
        struct stat sb;
        size_t dl, nl;
        char *path;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0) {
                cap_errf(err, errcap, "%s: %s", dir, strerror(errno));
                rc = CS_ERR_IO;
            }
            break;
        }
        if (de->d_name[0] == '.') {
            continue;
        }
        dl = strlen(dir);
        nl = strlen(de->d_name);
        path = malloc(dl + 1 + nl + 1);
        if (path == NULL) {
            rc = CS_ERR_NOMEM;
            break;
        }
        memcpy(path, dir, dl);
        path[dl] = '/';
        memcpy(path + dl + 1, de->d_name, nl + 1);
        /* a file that vanished between readdir and stat (rotation) is skipped */
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(path);
            continue;
        }
        if (count == cap) {
            size_t ncap = cap == 0 ? 64 : cap * 2;
            cap_dir_item *t;
            if (count >= CAP_INPUT_MAX_DIR_FILES) {
                free(path);
                cap_errf(err, errcap, "%s: more than %d files", dir, CAP_INPUT_MAX_DIR_FILES);
                rc = CS_ERR_LIMIT;
                break;
            }
            t = realloc(items, ncap * sizeof *items);
            if (t == NULL) {
                free(path);
                rc = CS_ERR_NOMEM;
                break;
            }
            items = t;
            cap = ncap;
        }
        items[count].path = path;
        items[count].name = path + dl + 1;
        items[count].mtime = sb.st_mtim;
        count++;
    }
    closedir(d);
    if (rc != CS_OK) {
        cap_dir_items_free(items, count);
        return rc;
    }
    if (count == 0) {
        free(items);
        return CS_OK;
    }
    qsort(items, count, sizeof *items, cap_dir_cmp);
    char **out = malloc(count * sizeof *out);
    if (out == NULL) {
        cap_dir_items_free(items, count);
        return CS_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        out[i] = items[i].path;
    }
    free(items);
    *paths = out;
    *n = count;
    return CS_OK;
}

void cap_input_free_list(char **paths, size_t n)
{
    if (paths == NULL) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        free(paths[i]);
    }
    free(paths);
}
