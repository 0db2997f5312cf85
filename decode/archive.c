/*
 * archive.c — the archive writer (see archive.h for the contract).
 *
 * Design. One write is: validate → open the root → make/sync the date
 * directories → create a unique temporary file (O_EXCL) → encode through
 * libsndfile's virtual I/O into it → (Ogg: make the stream serial
 * deterministic) → re-read and SHA-256 → fsync → rename over the final
 * name → fsync the directory. Every directory operation is relative to an
 * open directory descriptor (mkdirat/openat/renameat), so the path is
 * resolved once and the uuid, validated as canonical, is the only name
 * component that comes from outside.
 *
 * Why virtual I/O rather than sf_open_fd: libsndfile's FLAC and Ogg
 * writers buffer inside libFLAC/libogg and do not always surface a failed
 * write(2) (ENOSPC, EFBIG) as an error of sf_write or sf_close. Our own
 * callbacks make the first write error sticky, and the write is failed on
 * it whatever libsndfile reports.
 *
 * What this does not do: it does not read the recording back through the
 * decoder (the tests do), and it does not fsync the archive root's parent
 * (the root is configuration and exists before decode starts).
 */
#include "archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sndfile.h>

#include "error.h"

#define IO_CHUNK     (64 * 1024)
#define FRAME_CHUNK  2048 /* frames interleaved per sf_writef_short call */
#define OGG_PAGE_MAX (27 + 255 + 255 * 255)

/* ---- small helpers ---------------------------------------------------- */

const char *archive_format_name(archive_format f)
{
    switch (f) {
    case ARCHIVE_FLAC:
        return "flac";
    case ARCHIVE_WAV:
        return "wav";
    case ARCHIVE_OPUS:
        return "opus";
    }
    return NULL;
}

int archive_format_parse(const char *s, size_t len, archive_format *out)
{
    static const archive_format all[] = {ARCHIVE_FLAC, ARCHIVE_WAV, ARCHIVE_OPUS};
    if (!s || !out)
        return CS_ERR_INVAL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *n = archive_format_name(all[i]);
        if (strlen(n) == len && memcmp(n, s, len) == 0) {
            *out = all[i];
            return CS_OK;
        }
    }
    return CS_ERR_INVAL;
}

int archive_uuid_valid(const char *s, size_t len)
{
    if (!s || len != ARCHIVE_UUID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

const char *archive_check_name(archive_check c)
{
    switch (c) {
    case ARCHIVE_CHECK_OK:
        return "ok";
    case ARCHIVE_CHECK_MISSING:
        return "missing";
    case ARCHIVE_CHECK_SIZE:
        return "size mismatch";
    case ARCHIVE_CHECK_HASH:
        return "hash mismatch";
    case ARCHIVE_CHECK_UNREADABLE:
        return "unreadable";
    }
    return "unknown";
}

static void hex32(const uint8_t *b, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < ARCHIVE_SHA256_LEN; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * ARCHIVE_SHA256_LEN] = '\0';
}

/* Formats the one-line message into msg (ARCHIVE_MSG_MAX) and returns code. */
__attribute__((format(printf, 3, 4))) static int fail(char *msg, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, ARCHIVE_MSG_MAX, fmt, ap);
    va_end(ap);
    return code;
}

/* errno → cs_err for system calls on the archive. */
static int sys_code(int e)
{
    return e == ENOENT ? CS_ERR_NOTFOUND : CS_ERR_IO;
}

/* SHA-256 of the whole file behind fd (from offset 0); *bytes gets the
 * number of bytes read. Returns 0 or an errno value. */
static int hash_fd(int fd, uint8_t digest[ARCHIVE_SHA256_LEN], uint64_t *bytes)
{
    unsigned char *buf = malloc(IO_CHUNK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int e = 0;
    uint64_t off = 0;
    if (!buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        e = ENOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = pread(fd, buf, IO_CHUNK, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            goto out;
        }
        if (n == 0)
            break;
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            e = ENOMEM;
            goto out;
        }
        off += (uint64_t)n;
    }
    unsigned len = 0;
    if (EVP_DigestFinal_ex(ctx, digest, &len) != 1 || len != ARCHIVE_SHA256_LEN)
        e = ENOMEM;
    *bytes = off;
out:
    EVP_MD_CTX_free(ctx);
    free(buf);
    return e;
}

static int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = pwrite(fd, b, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (w == 0)
            return EIO;
        b += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int pread_all(int fd, void *p, size_t n, off_t off)
{
    unsigned char *b = p;
    while (n > 0) {
        ssize_t r = pread(fd, b, n, off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (r == 0)
            return EIO; /* shorter than its own headers say */
        b += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

/* Rejects "..", empty names and NUL-less garbage in a relative path. */
static int path_safe(const char *p)
{
    if (!p || !*p)
        return 0;
    const char *s = p;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 0;
        s += n;
        if (*s == '/')
            s++;
    }
    return 1;
}

/* ---- the write protocol ------------------------------------------------- */

typedef struct wctx {
    int rootfd, dirfd, fd;
    char date[48];  /* "YYYY/MM/DD" */
    char final[64]; /* "<uuid>.<ext>" */
    char tmp[128];  /* ".<uuid>.<ext>.tmp.<pid>.<rand>" */
    const archive_hooks *hooks;
    archive_result *out;
} wctx;

static void step(const wctx *w, archive_step s)
{
    if (w->hooks && w->hooks->step)
        w->hooks->step(s, w->hooks->arg);
}

static int err_sys(wctx *w, int e, const char *what, const char *name)
{
    w->out->sys_errno = e;
    return fail(w->out->msg, sys_code(e), "archive: %s %s/%s: %s", what, w->date, name,
                strerror(e));
}

/* mkdir (if needed) and open parent/name, then fsync parent so the entry is
 * durable even when an earlier writer created it and died before syncing. */
static int err_dir(wctx *w, int e, const char *what, const char *rel)
{
    w->out->sys_errno = e;
    return fail(w->out->msg, sys_code(e), "archive: %s %s: %s", what, rel, strerror(e));
}

/* rel is the directory's path from the root, for messages only. */
static int enter_dir(wctx *w, int parent, const char *name, const char *rel, int *child)
{
    if (mkdirat(parent, name, 0750) != 0 && errno != EEXIST)
        return err_dir(w, errno, "creating directory", rel);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return err_dir(w, errno, "opening directory", rel);
    if (fsync(parent) != 0) {
        int e = errno;
        close(fd);
        return err_dir(w, e, "syncing the parent of", rel);
    }
    *child = fd;
    return CS_OK;
}

static void wctx_close(wctx *w)
{
    if (w->fd >= 0) {
        close(w->fd);
        unlinkat(w->dirfd, w->tmp, 0);
        w->fd = -1;
    }
    if (w->dirfd >= 0)
        close(w->dirfd);
    if (w->rootfd >= 0)
        close(w->rootfd);
    w->dirfd = w->rootfd = -1;
}

/* Validates, prepares root/YYYY/MM/DD and creates the temporary file. */
static int wctx_begin(wctx *w, const char *root, const char *uuid, int64_t started_us,
                      const char *ext, const archive_hooks *hooks, archive_result *out)
{
    memset(out, 0, sizeof *out);
    memset(w, 0, sizeof *w);
    w->rootfd = w->dirfd = w->fd = -1;
    w->hooks = hooks;
    w->out = out;
    if (!root || !uuid || !archive_uuid_valid(uuid, strlen(uuid)))
        return fail(out->msg, CS_ERR_INVAL,
                    "archive: the call uuid must be canonical lowercase 8-4-4-4-12 hex");

    /* floor division: sample 0 before 1970 still lands on the right day */
    int64_t secs = started_us / 1000000;
    if (started_us % 1000000 < 0)
        secs--;
    time_t t = (time_t)secs;
    struct tm tm;
    if ((int64_t)t != secs || !gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 ||
        tm.tm_year + 1900 > 9999)
        return fail(out->msg, CS_ERR_INVAL, "archive: start time %lld us is out of range",
                    (long long)started_us);
    char y[16], m[16], d[16];
    int n1 = snprintf(y, sizeof y, "%04d", tm.tm_year + 1900);
    int n2 = snprintf(m, sizeof m, "%02d", tm.tm_mon + 1);
    int n3 = snprintf(d, sizeof d, "%02d", tm.tm_mday);
    int n4 = snprintf(w->date, sizeof w->date, "%s/%s/%s", y, m, d);
    int n5 = snprintf(w->final, sizeof w->final, "%s.%s", uuid, ext);
    int n6 = snprintf(out->path, sizeof out->path, "%s/%s", w->date, w->final);
    if (n1 != 4 || n2 != 2 || n3 != 2 || n4 != 10 || n5 < 0 || (size_t)n5 >= sizeof w->final ||
        n6 < 0 || (size_t)n6 >= sizeof out->path)
        return fail(out->msg, CS_ERR_INVAL, "archive: cannot form the archive path");

    w->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->rootfd < 0) {
        out->sys_errno = errno;
        return fail(out->msg, sys_code(errno), "archive: opening the archive root %s: %s", root,
                    strerror(errno));
    }
    int yfd = -1, mfd = -1;
    char ym[32];
    snprintf(ym, sizeof ym, "%.4s/%.2s", y, m);
    int rc = enter_dir(w, w->rootfd, y, y, &yfd);
    if (rc == CS_OK)
        rc = enter_dir(w, yfd, m, ym, &mfd);
    if (rc == CS_OK)
        rc = enter_dir(w, mfd, d, w->date, &w->dirfd);
    if (yfd >= 0)
        close(yfd);
    if (mfd >= 0)
        close(mfd);
    if (rc != CS_OK)
        return rc;

    for (int attempt = 0; attempt < 16; attempt++) {
        uint32_t r = 0;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
            r = (uint32_t)clock() ^ (uint32_t)attempt * 2654435761u;
        snprintf(w->tmp, sizeof w->tmp, ".%s.tmp.%ld.%08x", w->final, (long)getpid(), r);
        w->fd = openat(w->dirfd, w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (w->fd >= 0 || errno != EEXIST)
            break;
    }
    if (w->fd < 0)
        return err_sys(w, errno, "creating", w->tmp);
    step(w, ARCHIVE_STEP_TMP_CREATED);
    return CS_OK;
}

/* Hash, fsync, rename, fsync the directory. The content is complete. */
static int wctx_publish(wctx *w)
{
    archive_result *out = w->out;
    int e = hash_fd(w->fd, out->sha256, &out->bytes);
    if (e != 0)
        return err_sys(w, e, "hashing", w->tmp);
    hex32(out->sha256, out->sha256_hex);
    if (fsync(w->fd) != 0)
        return err_sys(w, errno, "syncing", w->tmp);
    step(w, ARCHIVE_STEP_SYNCED);
    int fd = w->fd;
    w->fd = -1; /* from here on the temporary file must not be unlinked blindly */
    if (close(fd) != 0) {
        int ce = errno;
        unlinkat(w->dirfd, w->tmp, 0);
        return err_sys(w, ce, "closing", w->tmp);
    }
    if (renameat(w->dirfd, w->tmp, w->dirfd, w->final) != 0) {
        int re = errno;
        unlinkat(w->dirfd, w->tmp, 0);
        return err_sys(w, re, "renaming into place", w->final);
    }
    step(w, ARCHIVE_STEP_RENAMED);
    if (fsync(w->dirfd) != 0)
        return err_sys(w, errno, "syncing the directory of", w->final);
    step(w, ARCHIVE_STEP_DONE);
    return CS_OK;
}

/* ---- libsndfile virtual I/O over the temporary file -------------------- */

typedef struct vio_file {
    int fd;
    sf_count_t pos, len;
    int err; /* first errno; sticky */
} vio_file;

static sf_count_t vio_filelen(void *u)
{
    return ((vio_file *)u)->len;
}

static sf_count_t vio_seek(sf_count_t offset, int whence, void *u)
{
    vio_file *v = u;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? v->pos : v->len;
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
        return -1;
    if (base + offset < 0)
        return -1;
    v->pos = base + offset;
    return v->pos;
}

static sf_count_t vio_read(void *ptr, sf_count_t count, void *u)
{
    vio_file *v = u;
    sf_count_t done = 0;
    while (done < count) {
        ssize_t n = pread(v->fd, (char *)ptr + done, (size_t)(count - done), (off_t)v->pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (!v->err)
                v->err = errno;
            break;
        }
        if (n == 0)
            break;
        done += n;
        v->pos += n;
    }
    return done;
}

static sf_count_t vio_write(const void *ptr, sf_count_t count, void *u)
{
    vio_file *v = u;
    if (v->err)
        return 0;
    int e = pwrite_all(v->fd, ptr, (size_t)count, (off_t)v->pos);
    if (e) {
        v->err = e;
        return 0;
    }
    v->pos += count;
    if (v->pos > v->len)
        v->len = v->pos;
    return count;
}

static sf_count_t vio_tell(void *u)
{
    return ((vio_file *)u)->pos;
}

/* ---- Ogg: deterministic stream serial ----------------------------------- */

static uint32_t ogg_crc(const unsigned char *p, size_t n)
{
    /* CRC-32, polynomial 0x04c11db7, MSB first, initial 0, no final xor
     * (RFC 3533 section 6). Bitwise: pages are few and small. */
    uint32_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 24;
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
    }
    return crc;
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Rewrites the serial number of every page of the Ogg file to `serial`
 * and recomputes the page CRCs. Returns CS_OK, CS_ERR_CODEC (not a
 * sequence of whole Ogg pages) or CS_ERR_IO (errno in *e). */
static int ogg_set_serial(int fd, uint64_t len, uint32_t serial, int *e)
{
    unsigned char *page = malloc(OGG_PAGE_MAX);
    if (!page) {
        *e = ENOMEM;
        return CS_ERR_IO;
    }
    int rc = CS_OK;
    uint64_t off = 0;
    while (off < len) {
        if (len - off < 27) {
            rc = CS_ERR_CODEC;
            break;
        }
        if ((*e = pread_all(fd, page, 27, (off_t)off)) != 0) {
            rc = CS_ERR_IO;
            break;
        }
        unsigned nseg = page[26];
        if (memcmp(page, "OggS", 4) != 0 || page[4] != 0 || len - off < 27u + nseg) {
            rc = CS_ERR_CODEC;
            break;
        }
        if ((*e = pread_all(fd, page + 27, nseg, (off_t)(off + 27))) != 0) {
            rc = CS_ERR_IO;
            break;
        }
        size_t body = 0;
        for (unsigned i = 0; i < nseg; i++)
            body += page[27 + i];
        size_t plen = 27 + nseg + body;
        if (len - off < plen) {
            rc = CS_ERR_CODEC;
            break;
        }
        if ((*e = pread_all(fd, page + 27 + nseg, body, (off_t)(off + 27 + nseg))) != 0) {
            rc = CS_ERR_IO;
            break;
        }
        put_le32(page + 14, serial);
        memset(page + 22, 0, 4);
        put_le32(page + 22, ogg_crc(page, plen));
        if ((*e = pwrite_all(fd, page + 14, 12, (off_t)(off + 14))) != 0) {
            rc = CS_ERR_IO;
            break;
        }
        off += plen;
    }
    free(page);
    return rc;
}

static uint32_t uuid_serial(const char *uuid)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = uuid[i];
        v = v << 4 | (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
}

/* ---- public writers ---------------------------------------------------- */

static int encode(wctx *w, const archive_audio *a)
{
    archive_result *out = w->out;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = a->sample_rate;
    info.channels = 2;
    info.format = a->format == ARCHIVE_FLAC  ? SF_FORMAT_FLAC | SF_FORMAT_PCM_16
                  : a->format == ARCHIVE_WAV ? SF_FORMAT_WAV | SF_FORMAT_PCM_16
                                             : SF_FORMAT_OGG | SF_FORMAT_OPUS;
    if (!sf_format_check(&info))
        return fail(out->msg, CS_ERR_UNSUPPORTED, "archive: libsndfile cannot write %s at %d Hz",
                    archive_format_name(a->format), a->sample_rate);
    vio_file v = {w->fd, 0, 0, 0};
    SF_VIRTUAL_IO io = {vio_filelen, vio_seek, vio_read, vio_write, vio_tell};
    SNDFILE *sf = sf_open_virtual(&io, SFM_WRITE, &info, &v);
    if (!sf) {
        if (v.err)
            return err_sys(w, v.err, "writing", w->tmp);
        return fail(out->msg, CS_ERR_CODEC, "archive: libsndfile cannot open %s/%s: %s", w->date,
                    w->tmp, sf_strerror(NULL));
    }
    int16_t *buf = malloc(FRAME_CHUNK * 2 * sizeof *buf);
    int rc = buf ? CS_OK : fail(out->msg, CS_ERR_NOMEM, "archive: out of memory");
    size_t half = a->frames / 2, done = 0;
    int half_seen = 0;
    while (rc == CS_OK && done < a->frames) {
        size_t n = a->frames - done < FRAME_CHUNK ? a->frames - done : FRAME_CHUNK;
        for (size_t i = 0; i < n; i++) {
            buf[2 * i] = a->ch1[done + i];
            buf[2 * i + 1] = a->ch2[done + i];
        }
        sf_count_t got = sf_writef_short(sf, buf, (sf_count_t)n);
        if (v.err)
            rc = err_sys(w, v.err, "writing", w->tmp);
        else if (got != (sf_count_t)n)
            rc = fail(out->msg, CS_ERR_CODEC, "archive: encoding %s/%s: %s", w->date, w->tmp,
                      sf_strerror(sf));
        done += n;
        if (rc == CS_OK && !half_seen && done >= half) {
            half_seen = 1;
            step(w, ARCHIVE_STEP_HALF_WRITTEN);
        }
    }
    free(buf);
    int cerr = sf_close(sf);
    if (rc != CS_OK)
        return rc;
    if (v.err)
        return err_sys(w, v.err, "writing", w->tmp);
    if (cerr != 0)
        return fail(out->msg, CS_ERR_CODEC, "archive: finishing %s/%s: %s", w->date, w->tmp,
                    sf_error_number(cerr));
    if (a->format == ARCHIVE_OPUS) {
        int e = 0;
        rc = ogg_set_serial(w->fd, (uint64_t)v.len, uuid_serial(a->uuid), &e);
        if (rc == CS_ERR_IO)
            return err_sys(w, e, "rewriting the Ogg serial of", w->tmp);
        if (rc != CS_OK)
            return fail(out->msg, rc, "archive: %s/%s is not a sequence of Ogg pages", w->date,
                        w->tmp);
    }
    step(w, ARCHIVE_STEP_WRITTEN);
    return CS_OK;
}

int archive_write(const char *root, const archive_audio *a, const archive_hooks *hooks,
                  archive_result *out)
{
    if (!out)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if (!a || !archive_format_name(a->format))
        return fail(out->msg, CS_ERR_INVAL, "archive: no audio or unknown format");
    if (a->sample_rate != 8000 && a->sample_rate != 16000)
        return fail(out->msg, CS_ERR_INVAL,
                    "archive: sample rate %d Hz (only 8000 and 16000 are archived)",
                    a->sample_rate);
    if (a->frames > 0 && (!a->ch1 || !a->ch2))
        return fail(out->msg, CS_ERR_INVAL, "archive: missing channel samples");
    if (a->frames > (size_t)INT64_MAX / 1000)
        return fail(out->msg, CS_ERR_INVAL, "archive: too many frames");
    wctx w;
    int rc =
        wctx_begin(&w, root, a->uuid, a->started_us, archive_format_name(a->format), hooks, out);
    if (rc == CS_OK)
        rc = encode(&w, a);
    if (rc == CS_OK)
        rc = wctx_publish(&w);
    wctx_close(&w);
    if (rc == CS_OK) {
        out->duration_ms = (int64_t)(a->frames * 1000 / (size_t)a->sample_rate);
        out->sample_rate = a->sample_rate;
        out->channels = 2;
        out->format = a->format;
        out->sys_errno = 0;
        out->msg[0] = '\0';
    }
    return rc;
}

int archive_copy_pcap(const char *root, const char *uuid, int64_t started_us, const char *src_path,
                      const archive_hooks *hooks, archive_result *out)
{
    if (!out)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    if (!src_path)
        return fail(out->msg, CS_ERR_INVAL, "archive: no pcap to copy");
    int src = open(src_path, O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        out->sys_errno = errno;
        return fail(out->msg, sys_code(errno), "archive: opening %s: %s", src_path,
                    strerror(errno));
    }
    struct stat st;
    int serr = fstat(src, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
    if (serr != 0) {
        out->sys_errno = serr;
        close(src);
        return fail(out->msg, CS_ERR_IO, "archive: %s is not a readable file", src_path);
    }
    wctx w;
    int rc = wctx_begin(&w, root, uuid, started_us, "pcap", hooks, out);
    unsigned char *buf = rc == CS_OK ? malloc(IO_CHUNK) : NULL;
    if (rc == CS_OK && !buf)
        rc = fail(out->msg, CS_ERR_NOMEM, "archive: out of memory");
    uint64_t off = 0;
    int half_seen = 0;
    while (rc == CS_OK) {
        ssize_t n = read(src, buf, IO_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            out->sys_errno = errno;
            rc = fail(out->msg, CS_ERR_IO, "archive: reading %s: %s", src_path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        int e = pwrite_all(w.fd, buf, (size_t)n, (off_t)off);
        if (e)
            rc = err_sys(&w, e, "writing", w.tmp);
        off += (uint64_t)n;
        if (rc == CS_OK && !half_seen && off >= (uint64_t)st.st_size / 2) {
            half_seen = 1;
            step(&w, ARCHIVE_STEP_HALF_WRITTEN);
        }
    }
    free(buf);
    close(src);
    if (rc == CS_OK) {
        step(&w, ARCHIVE_STEP_WRITTEN);
        rc = wctx_publish(&w);
    }
    wctx_close(&w);
    if (rc == CS_OK) {
        out->sys_errno = 0;
        out->msg[0] = '\0';
    }
    return rc;
}

/* ---- maintenance and verification --------------------------------------- */

/* ".<uuid>.<ext>.tmp.<anything>" as wctx_begin names them. */
static int is_our_tmp(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 + ARCHIVE_UUID_LEN + 1 || name[0] != '.' ||
        !archive_uuid_valid(name + 1, ARCHIVE_UUID_LEN) || name[1 + ARCHIVE_UUID_LEN] != '.')
        return 0;
    const char *ext = name + 2 + ARCHIVE_UUID_LEN;
    static const char *const exts[] = {"flac.tmp.", "wav.tmp.", "opus.tmp.", "pcap.tmp."};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strncmp(ext, exts[i], strlen(exts[i])) == 0)
            return 1;
    return 0;
}

int archive_sweep_tmp(const char *root, const char *rel_dir, unsigned min_age_s, size_t *removed)
{
    if (removed)
        *removed = 0;
    if (!root || !rel_dir || !path_safe(rel_dir) || rel_dir[0] == '/')
        return CS_ERR_INVAL;
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return sys_code(errno);
    int dfd = openat(rootfd, rel_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(rootfd);
    if (dfd < 0)
        return errno == ENOENT ? CS_OK : CS_ERR_IO;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return CS_ERR_IO;
    }
    time_t now = time(NULL);
    size_t count = 0;
    int rc = CS_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_our_tmp(de->d_name))
            continue;
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        /* 0 = all: a file time can be a moment ahead of time() (finer clock). */
        if (min_age_s > 0 && now - st.st_mtime < (time_t)min_age_s)
            continue;
        if (unlinkat(dfd, de->d_name, 0) == 0)
            count++;
        else if (errno != ENOENT)
            rc = CS_ERR_IO;
    }
    if (count > 0 && fsync(dfd) != 0)
        rc = CS_ERR_IO;
    closedir(d);
    if (removed)
        *removed = count;
    return rc;
}

int archive_verify_file(const char *root, const char *rel_path,
                        const uint8_t expected_sha256[ARCHIVE_SHA256_LEN], int64_t expected_bytes,
                        archive_verify_report *rep)
{
    if (!rep)
        return CS_ERR_INVAL;
    memset(rep, 0, sizeof *rep);
    if (!rel_path || !expected_sha256 || !path_safe(rel_path) || (rel_path[0] != '/' && !root))
        return fail(rep->msg, CS_ERR_INVAL, "verify: bad path or arguments");
    char full[4096];
    int n = rel_path[0] == '/' ? snprintf(full, sizeof full, "%s", rel_path)
                               : snprintf(full, sizeof full, "%s/%s", root, rel_path);
    if (n < 0 || (size_t)n >= sizeof full)
        return fail(rep->msg, CS_ERR_INVAL, "verify: path too long");
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rep->sys_errno = errno;
        if (errno == ENOENT) {
            rep->check = ARCHIVE_CHECK_MISSING;
            return fail(rep->msg, CS_ERR_NOTFOUND, "%s: missing", rel_path);
        }
        rep->check = ARCHIVE_CHECK_UNREADABLE;
        return fail(rep->msg, CS_ERR_IO, "%s: unreadable: %s", rel_path, strerror(errno));
    }
    struct stat st;
    int e = 0;
    if (fstat(fd, &st) != 0)
        e = errno;
    else if (!S_ISREG(st.st_mode))
        e = EISDIR;
    else
        e = hash_fd(fd, rep->sha256, &rep->bytes);
    close(fd);
    if (e != 0) {
        rep->sys_errno = e;
        rep->check = ARCHIVE_CHECK_UNREADABLE;
        return fail(rep->msg, CS_ERR_IO, "%s: unreadable: %s", rel_path, strerror(e));
    }
    hex32(rep->sha256, rep->sha256_hex);
    char want[2 * ARCHIVE_SHA256_LEN + 1];
    hex32(expected_sha256, want);
    if (expected_bytes >= 0 && rep->bytes != (uint64_t)expected_bytes) {
        rep->check = ARCHIVE_CHECK_SIZE;
        return fail(rep->msg, CS_ERR_INTEGRITY,
                    "%s: size mismatch: %llu bytes on disk, %lld recorded", rel_path,
                    (unsigned long long)rep->bytes, (long long)expected_bytes);
    }
    if (memcmp(rep->sha256, expected_sha256, ARCHIVE_SHA256_LEN) != 0) {
        rep->check = ARCHIVE_CHECK_HASH;
        return fail(rep->msg, CS_ERR_INTEGRITY, "%s: SHA-256 mismatch: %s on disk, %s recorded",
                    rel_path, rep->sha256_hex, want);
    }
    rep->check = ARCHIVE_CHECK_OK;
    return CS_OK;
}
