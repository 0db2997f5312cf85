/*
 * spool.c — the durable queue of directories between capture and decode.
 *
 * Why directories and renames: rename(2) inside one file system is atomic, so
 * an entry is either in tmp/ (not a call yet), in ready/ (whole and durable),
 * in active/ (owned by exactly one consumer) or in failed/ — never in two
 * places and never half-visible. Durability comes from the order
 *     write files -> fsync files -> fsync entry dir -> rename -> fsync parents
 * (the same order as Redis' rdbSave and Postfix' queue manager), so after a
 * power loss the rename is never on disk before the data it names.
 *
 * All work goes through directory descriptors opened once by spool_open
 * (openat/renameat2/unlinkat), so the root path is parsed once and a path
 * never gets longer than one entry name plus one file name.
 *
 * Deleting a finished entry is itself made atomic: the entry is first renamed
 * into tmp/.trash.<...> and only then unlinked file by file, so a crash half
 * way through a delete can never put a half entry back in ready/ (recovery
 * removes trash dirs). Failing an entry writes its "reason" file durably
 * before the rename into failed/, so recovery can finish an interrupted fail.
 *
 * What this file does not do: it never logs (callers log, spool_errno says
 * why a system call failed), never retries on its own, never reads the
 * entries' contents, and keeps no global state (the test step hook lives in
 * the handle). Allocation: only the handle and each writer entry are malloc'd;
 * scans write into the caller's array.
 *
 * SECURITY: the spool root is trusted (created by the operator, 0750); names
 * read back from ready/, active/ and tmp/ are still checked before use, symlinks
 * are never followed inside entries, and recursive deletion is depth-bounded.
 */
#include "spool.h"
#include "spool_testhook.h"
#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { SP_TMP, SP_READY, SP_ACTIVE, SP_FAILED, SP_NDIRS };
static const char *const sp_dir_names[SP_NDIRS] = {"tmp", "ready", "active", "failed"};

#define SP_TRASH_PREFIX ".trash."
#define SP_REASON       "reason"
#define SP_REASON_TMP   ".reason.tmp"
#define SP_LOCK_FILE    "consumers.lock"
#define SP_RM_MAX_DEPTH 8   /* entries are flat; deeper trees are not ours */
#define SP_UNIQUE_TRIES 16  /* random-suffix collisions tolerated before giving up */
#define SP_FAILED_ALTS  100 /* failed/<name>.<time>.<n> candidates */
/* "<name>.<pid>.<16 hex>" plus the trash prefix, well under NAME_MAX. */
#define SP_TMPNAME_CAP (sizeof(SP_TRASH_PREFIX) + SPOOL_NAME_MAX + 1 + 20 + 1 + 16 + 1)

struct spool {
    char *root;           /* as given to spool_open; owned */
    int rootfd;           /* the root directory */
    int dfd[SP_NDIRS];    /* tmp/, ready/, active/, failed/ */
    int lockfd;           /* consumers.lock held LOCK_SH (SPOOL_CONSUMER), else -1 */
    int inofd;            /* inotify on ready/ (SPOOL_NOTIFY), else -1 */
    int last_errno;       /* errno of the last failed system call */
    spool_stats st;       /* counters since open */
    spool_step_hook hook; /* test hook (spool_testhook.h), usually NULL */
    void *hook_arg;
};

struct spool_file {
    char name[SPOOL_FILE_NAME_MAX + 1];
    int fd;   /* open for writing until commit; -1 once closed */
    FILE *fp; /* set when opened by spool_fopen; owns fd then */
};

struct spool_entry {
    spool *sp; /* borrowed: the handle outlives its entries */
    int dirfd; /* tmp/<tmpname>/ */
    int err;   /* first error of this entry; sticks until commit/abort */
    size_t nfiles;
    char name[SPOOL_NAME_MAX + 1];
    char tmpname[SP_TMPNAME_CAP];
    struct spool_file files[SPOOL_MAX_FILES];
};

/* ---- small helpers ------------------------------------------------------ */

static int sp_map_errno(int e)
{
    switch (e) {
    case 0:
        return CS_ERR_IO;
    case ENOENT:
        return CS_ERR_NOTFOUND;
    case EEXIST:
    case ENOTEMPTY:
        return CS_ERR_EXISTS;
    case ENOMEM:
        return CS_ERR_NOMEM;
    case EXDEV:
        return CS_ERR_CONFIG;
    case EINTR:
        return CS_ERR_INTERRUPTED;
    default:
        return CS_ERR_IO;
    }
}

/* Records errno in the handle and maps it to a cs_err. */
static int sp_syserr(spool *sp)
{
    int e = errno;
    sp->last_errno = e;
    return sp_map_errno(e);
}

static void sp_step(spool *sp, spool_step step)
{
    if (sp->hook)
        sp->hook(step, sp->hook_arg);
}

static int sp_name_ok(const char *s, size_t len, size_t max)
{
    if (s == NULL || len == 0 || len > max || s[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* For NUL-terminated names: reads at most max+1 bytes. */
static int sp_cname_ok(const char *s, size_t max)
{
    if (s == NULL)
        return 0;
    return sp_name_ok(s, strnlen(s, max + 1), max);
}

static int sp_cfile_ok(const char *s)
{
    return s != NULL && spool_file_name_check(s, strnlen(s, SPOOL_FILE_NAME_MAX + 1)) == CS_OK;
}

int spool_name_check(const char *s, size_t len)
{
    return sp_name_ok(s, len, SPOOL_NAME_MAX) ? CS_OK : CS_ERR_INVAL;
}

int spool_file_name_check(const char *s, size_t len)
{
    if (!sp_name_ok(s, len, SPOOL_FILE_NAME_MAX))
        return CS_ERR_INVAL;
    if (len == sizeof(SP_REASON) - 1 && memcmp(s, SP_REASON, len) == 0)
        return CS_ERR_INVAL;
    return CS_OK;
}

static int sp_write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync of a directory; EINVAL means the file system cannot sync directories. */
static int sp_fsync_fd(spool *sp, int fd)
{
    if (fsync(fd) != 0 && errno != EINVAL)
        return sp_syserr(sp);
    return CS_OK;
}

/* 16 lowercase hex digits; getrandom, or the clock when it is unavailable
 * (uniqueness is still enforced by O_EXCL/mkdir/RENAME_NOREPLACE). */
static void sp_rand_hex(char out[17])
{
    unsigned char b[8];
    if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t)sizeof b) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid();
        memcpy(b, &v, sizeof b);
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof b; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[16] = '\0';
}

/* rename that never replaces an existing target. File systems without
 * RENAME_NOREPLACE get a plain rename, which cannot replace a non-empty dir. */
static int sp_rename_noreplace(spool *sp, int from, const char *fname, int to, const char *tname)
{
    if (renameat2(from, fname, to, tname, RENAME_NOREPLACE) == 0)
        return CS_OK;
    if (errno == EINVAL || errno == ENOSYS) {
        if (renameat(from, fname, to, tname) == 0)
            return CS_OK;
    }
    return sp_syserr(sp);
}

static int sp_is_dot(const char *n)
{
    return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/* Removes pfd/name recursively without following symlinks. ENOENT is success.
 * If hook_first, SPOOL_STEP_FINISH_PARTIAL fires after the first removed file. */
static int sp_rmrf_at(spool *sp, int pfd, const char *name, unsigned depth, int hook_first)
{
    if (depth > SP_RM_MAX_DEPTH) {
        sp->last_errno = ELOOP;
        return CS_ERR_LIMIT;
    }
    int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return CS_OK;
        if (errno == ENOTDIR || errno == ELOOP) {
            if (unlinkat(pfd, name, 0) == 0 || errno == ENOENT)
                return CS_OK;
        }
        return sp_syserr(sp);
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int rc = sp_syserr(sp);
        close(fd);
        return rc;
    }
    int rc = CS_OK;
    /* Two passes: readdir may skip names when the directory changes under it. */
    for (int pass = 0; pass < 2; pass++) {
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d)) != NULL) {
            if (sp_is_dot(de->d_name))
                continue;
            int isdir = de->d_type == DT_DIR;
            if (de->d_type == DT_UNKNOWN) {
                struct stat st;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                    isdir = S_ISDIR(st.st_mode);
            }
            int r = CS_OK;
            if (isdir)
                r = sp_rmrf_at(sp, fd, de->d_name, depth + 1, 0);
            else if (unlinkat(fd, de->d_name, 0) != 0 && errno != ENOENT)
                r = sp_syserr(sp);
            if (r != CS_OK && rc == CS_OK)
                rc = r;
            if (r == CS_OK && hook_first) {
                hook_first = 0;
                sp_step(sp, SPOOL_STEP_FINISH_PARTIAL);
            }
            errno = 0;
        }
        if (errno != 0 && rc == CS_OK)
            rc = sp_syserr(sp);
        if (unlinkat(pfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
            closedir(d);
            return rc;
        }
        if (errno != ENOTEMPTY && errno != EEXIST)
            break;
        rewinddir(d);
    }
    if (rc == CS_OK)
        rc = sp_syserr(sp);
    closedir(d);
    return rc;
}

/* Opens a private DIR stream on directory fd `dfd` (the fd itself stays open). */
static DIR *sp_opendir_fd(spool *sp, int dfd)
{
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        sp_syserr(sp);
        return NULL;
    }
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        sp_syserr(sp);
        close(fd);
    }
    return d;
}

/* ---- handle ------------------------------------------------------------- */

static void sp_free(spool *sp)
{
    if (sp == NULL)
        return;
    for (int i = 0; i < SP_NDIRS; i++)
        if (sp->dfd[i] >= 0)
            close(sp->dfd[i]);
    if (sp->rootfd >= 0)
        close(sp->rootfd);
    if (sp->lockfd >= 0)
        close(sp->lockfd);
    if (sp->inofd >= 0)
        close(sp->inofd);
    free(sp->root);
    free(sp);
}

/* Best effort: inotify is a hint, so failure leaves inofd at -1. */
static void sp_setup_notify(spool *sp)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/ready", sp->root);
    if (n < 0 || (size_t)n >= sizeof path)
        return;
    sp->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (sp->inofd < 0)
        return;
    if (inotify_add_watch(sp->inofd, path, IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) < 0) {
        close(sp->inofd);
        sp->inofd = -1;
    }
}

int spool_open(const char *root, unsigned flags, spool **out)
{
    if (out == NULL)
        return CS_ERR_INVAL;
    *out = NULL;
    if (root == NULL || root[0] == '\0' || (flags & ~(unsigned)(SPOOL_CONSUMER | SPOOL_NOTIFY)))
        return CS_ERR_INVAL;
    spool *sp = calloc(1, sizeof *sp);
    if (sp == NULL)
        return CS_ERR_NOMEM;
    sp->rootfd = sp->lockfd = sp->inofd = -1;
    for (int i = 0; i < SP_NDIRS; i++)
        sp->dfd[i] = -1;
    int rc = CS_OK;
    sp->root = strdup(root);
    if (sp->root == NULL) {
        rc = CS_ERR_NOMEM;
        goto fail;
    }
    if (mkdir(root, 0750) != 0 && errno != EEXIST) {
        rc = sp_syserr(sp);
        goto fail;
    }
    sp->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat rst;
    if (sp->rootfd < 0 || fstat(sp->rootfd, &rst) != 0) {
        rc = sp_syserr(sp);
        goto fail;
    }
    int created = 0;
    for (int i = 0; i < SP_NDIRS; i++) {
        if (mkdirat(sp->rootfd, sp_dir_names[i], 0750) == 0)
            created = 1;
        else if (errno != EEXIST) {
            rc = sp_syserr(sp);
            goto fail;
        }
        struct stat st;
        sp->dfd[i] = openat(sp->rootfd, sp_dir_names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sp->dfd[i] < 0 || fstat(sp->dfd[i], &st) != 0) {
            rc = sp_syserr(sp);
            goto fail;
        }
        if (st.st_dev != rst.st_dev) {
            sp->last_errno = EXDEV;
            rc = CS_ERR_CONFIG;
            goto fail;
        }
    }
    if (created && (rc = sp_fsync_fd(sp, sp->rootfd)) != CS_OK)
        goto fail;
    if (flags & SPOOL_CONSUMER) {
        sp->lockfd = openat(sp->rootfd, SP_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (sp->lockfd < 0 || flock(sp->lockfd, LOCK_SH) != 0) {
            rc = sp_syserr(sp);
            goto fail;
        }
    }
    if (flags & SPOOL_NOTIFY)
        sp_setup_notify(sp);
    *out = sp;
    return CS_OK;
fail:
    sp_free(sp);
    return rc;
}

void spool_close(spool *sp)
{
    sp_free(sp);
}

int spool_errno(const spool *sp)
{
    return sp ? sp->last_errno : 0;
}

void spool_get_stats(const spool *sp, spool_stats *out)
{
    if (sp && out)
        *out = sp->st;
}

const char *spool_root(const spool *sp)
{
    return sp ? sp->root : NULL;
}

void spool_set_step_hook(spool *sp, spool_step_hook hook, void *arg)
{
    if (sp) {
        sp->hook = hook;
        sp->hook_arg = arg;
    }
}

/* ---- writer ------------------------------------------------------------- */

int spool_begin(spool *sp, const char *name, spool_entry **out)
{
    if (out == NULL)
        return CS_ERR_INVAL;
    *out = NULL;
    if (sp == NULL || !sp_cname_ok(name, SPOOL_NAME_MAX))
        return CS_ERR_INVAL;
    spool_entry *e = calloc(1, sizeof *e);
    if (e == NULL)
        return CS_ERR_NOMEM;
    e->sp = sp;
    e->dirfd = -1;
    for (size_t i = 0; i < SPOOL_MAX_FILES; i++)
        e->files[i].fd = -1;
    memcpy(e->name, name, strlen(name) + 1);
    int made = 0;
    for (int t = 0; t < SP_UNIQUE_TRIES && !made; t++) {
        char hex[17];
        sp_rand_hex(hex);
        snprintf(e->tmpname, sizeof e->tmpname, "%s.%ld.%s", name, (long)getpid(), hex);
        if (mkdirat(sp->dfd[SP_TMP], e->tmpname, 0750) == 0)
            made = 1;
        else if (errno != EEXIST) {
            int rc = sp_syserr(sp);
            free(e);
            return rc;
        }
    }
    if (!made) {
        sp->last_errno = EEXIST;
        free(e);
        return CS_ERR_IO;
    }
    e->dirfd = openat(sp->dfd[SP_TMP], e->tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (e->dirfd < 0) {
        int rc = sp_syserr(sp);
        unlinkat(sp->dfd[SP_TMP], e->tmpname, AT_REMOVEDIR);
        free(e);
        return rc;
    }
    sp_step(sp, SPOOL_STEP_TMPDIR_CREATED);
    *out = e;
    return CS_OK;
}

static int sp_entry_fail(spool_entry *e, int rc)
{
    if (e->err == CS_OK)
        e->err = rc;
    return rc;
}

/* Creates a new file in the entry; returns its slot index or a negative cs_err. */
static int sp_entry_newfile(spool_entry *e, const char *fname)
{
    if (e->err != CS_OK)
        return e->err;
    if (!sp_cfile_ok(fname))
        return sp_entry_fail(e, CS_ERR_INVAL);
    for (size_t i = 0; i < e->nfiles; i++)
        if (strcmp(e->files[i].name, fname) == 0)
            return sp_entry_fail(e, CS_ERR_EXISTS);
    if (e->nfiles >= SPOOL_MAX_FILES)
        return sp_entry_fail(e, CS_ERR_LIMIT);
    int fd = openat(e->dirfd, fname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return sp_entry_fail(e, sp_syserr(e->sp));
    struct spool_file *f = &e->files[e->nfiles];
    memcpy(f->name, fname, strlen(fname) + 1);
    f->fd = fd;
    f->fp = NULL;
    return (int)e->nfiles++;
}

int spool_add_file(spool_entry *e, const char *fname, const void *data, size_t len)
{
    if (e == NULL || (data == NULL && len > 0))
        return e ? sp_entry_fail(e, CS_ERR_INVAL) : CS_ERR_INVAL;
    int slot = sp_entry_newfile(e, fname);
    if (slot < 0)
        return slot;
    int fd = e->files[slot].fd;
    size_t half = len / 2;
    if (sp_write_all(fd, data, half) != 0)
        return sp_entry_fail(e, sp_syserr(e->sp));
    sp_step(e->sp, SPOOL_STEP_FILE_HALF);
    if (len > half && sp_write_all(fd, (const unsigned char *)data + half, len - half) != 0)
        return sp_entry_fail(e, sp_syserr(e->sp));
    return CS_OK;
}

int spool_open_fd(spool_entry *e, const char *fname, int *fd_out)
{
    if (fd_out)
        *fd_out = -1;
    if (e == NULL || fd_out == NULL)
        return CS_ERR_INVAL;
    int slot = sp_entry_newfile(e, fname);
    if (slot < 0)
        return slot;
    *fd_out = e->files[slot].fd;
    return CS_OK;
}

int spool_fopen(spool_entry *e, const char *fname, FILE **fp_out)
{
    if (fp_out)
        *fp_out = NULL;
    if (e == NULL || fp_out == NULL)
        return CS_ERR_INVAL;
    int slot = sp_entry_newfile(e, fname);
    if (slot < 0)
        return slot;
    FILE *fp = fdopen(e->files[slot].fd, "w");
    if (fp == NULL)
        return sp_entry_fail(e, sp_syserr(e->sp));
    e->files[slot].fp = fp;
    *fp_out = fp;
    return CS_OK;
}

/* Flushes, fsyncs and closes every file; returns the first error, closes all. */
static int sp_entry_sync_close(spool_entry *e)
{
    int rc = CS_OK;
    for (size_t i = 0; i < e->nfiles; i++) {
        struct spool_file *f = &e->files[i];
        int r = CS_OK;
        if (f->fp != NULL) {
            if (fflush(f->fp) != 0 || ferror(f->fp))
                r = sp_syserr(e->sp);
            if (r == CS_OK && fsync(fileno(f->fp)) != 0)
                r = sp_syserr(e->sp);
            if (fclose(f->fp) != 0 && r == CS_OK)
                r = sp_syserr(e->sp);
            f->fp = NULL;
        } else if (f->fd >= 0) {
            if (fsync(f->fd) != 0)
                r = sp_syserr(e->sp);
            if (close(f->fd) != 0 && r == CS_OK)
                r = sp_syserr(e->sp);
        }
        f->fd = -1;
        if (r != CS_OK && rc == CS_OK)
            rc = r;
    }
    return rc;
}

/* Closes whatever is open, removes the tmp dir, frees e. */
static void sp_entry_discard(spool_entry *e)
{
    for (size_t i = 0; i < e->nfiles; i++) {
        if (e->files[i].fp != NULL)
            fclose(e->files[i].fp);
        else if (e->files[i].fd >= 0)
            close(e->files[i].fd);
    }
    if (e->dirfd >= 0)
        close(e->dirfd);
    int saved = e->sp->last_errno;
    sp_rmrf_at(e->sp, e->sp->dfd[SP_TMP], e->tmpname, 0, 0);
    e->sp->last_errno = saved; /* keep the reason of the failure, not of the cleanup */
    e->sp->st.aborted++;
    free(e);
}

int spool_commit(spool_entry *e)
{
    if (e == NULL)
        return CS_ERR_INVAL;
    spool *sp = e->sp;
    int rc = e->err;
    if (rc == CS_OK && e->nfiles == 0)
        rc = CS_ERR_EMPTY;
    if (rc == CS_OK) {
        sp_step(sp, SPOOL_STEP_FILES_WRITTEN);
        rc = sp_entry_sync_close(e);
    }
    if (rc == CS_OK)
        rc = sp_fsync_fd(sp, e->dirfd);
    if (rc == CS_OK) {
        sp_step(sp, SPOOL_STEP_SYNCED);
        rc = sp_rename_noreplace(sp, sp->dfd[SP_TMP], e->tmpname, sp->dfd[SP_READY], e->name);
        if (rc == CS_ERR_EXISTS)
            sp->st.commit_exists++;
    }
    if (rc != CS_OK) {
        sp_entry_discard(e);
        return rc;
    }
    sp->st.committed++;
    sp_step(sp, SPOOL_STEP_RENAMED);
    close(e->dirfd);
    free(e);
    rc = sp_fsync_fd(sp, sp->dfd[SP_READY]);
    if (rc == CS_OK)
        rc = sp_fsync_fd(sp, sp->dfd[SP_TMP]);
    sp_step(sp, SPOOL_STEP_COMMITTED);
    return rc;
}

void spool_abort(spool_entry *e)
{
    if (e != NULL)
        sp_entry_discard(e);
}

/* ---- consumer ----------------------------------------------------------- */

static int sp_item_cmp(const spool_item *a, const spool_item *b)
{
    if (a->mtime.tv_sec != b->mtime.tv_sec)
        return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
    if (a->mtime.tv_nsec != b->mtime.tv_nsec)
        return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
    return strcmp(a->name, b->name);
}

int spool_scan(spool *sp, spool_item *items, size_t cap, size_t *n_out, size_t *total_out)
{
    if (n_out)
        *n_out = 0;
    if (total_out)
        *total_out = 0;
    if (sp == NULL || n_out == NULL || (items == NULL && cap > 0))
        return CS_ERR_INVAL;
    DIR *d = sp_opendir_fd(sp, sp->dfd[SP_READY]);
    if (d == NULL)
        return sp_map_errno(sp->last_errno);
    size_t n = 0, total = 0;
    int rc = CS_OK;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strnlen(de->d_name, SPOOL_NAME_MAX + 1);
        struct stat st;
        if (!sp_name_ok(de->d_name, len, SPOOL_NAME_MAX) ||
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) {
            errno = 0; /* invalid, claimed meanwhile (ENOENT) or not a directory */
            continue;
        }
        total++;
        spool_item cand;
        memcpy(cand.name, de->d_name, len + 1);
        cand.mtime = st.st_mtim;
        size_t pos;
        if (n < cap)
            pos = n++;
        else if (cap > 0 && sp_item_cmp(&cand, &items[cap - 1]) < 0)
            pos = cap - 1;
        else
            continue;
        while (pos > 0 && sp_item_cmp(&cand, &items[pos - 1]) < 0) {
            items[pos] = items[pos - 1];
            pos--;
        }
        items[pos] = cand;
        errno = 0;
    }
    if (errno != 0)
        rc = sp_syserr(sp);
    closedir(d);
    *n_out = n;
    if (total_out)
        *total_out = total;
    return rc;
}

int spool_claim(spool *sp, const char *name)
{
    if (sp == NULL || !sp_cname_ok(name, SPOOL_NAME_MAX))
        return CS_ERR_INVAL;
    int rc = sp_rename_noreplace(sp, sp->dfd[SP_READY], name, sp->dfd[SP_ACTIVE], name);
    if (rc == CS_ERR_EXISTS)
        rc = CS_ERR_BUSY;
    if (rc == CS_ERR_NOTFOUND || rc == CS_ERR_BUSY)
        sp->st.claim_lost++;
    if (rc != CS_OK)
        return rc;
    sp->st.claimed++;
    sp_step(sp, SPOOL_STEP_CLAIMED);
    return CS_OK;
}

int spool_claimed_path(const spool *sp, const char *name, const char *fname, char *buf, size_t cap)
{
    if (sp == NULL || buf == NULL || cap == 0 || !sp_cname_ok(name, SPOOL_NAME_MAX) ||
        (fname != NULL && !sp_cname_ok(fname, SPOOL_FILE_NAME_MAX)))
        return CS_ERR_INVAL;
    int n = fname ? snprintf(buf, cap, "%s/active/%s/%s", sp->root, name, fname)
                  : snprintf(buf, cap, "%s/active/%s", sp->root, name);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return CS_ERR_OVERFLOW;
    }
    return CS_OK;
}

int spool_claimed_open(spool *sp, const char *name, const char *fname, int *fd_out)
{
    if (fd_out)
        *fd_out = -1;
    if (sp == NULL || fd_out == NULL || !sp_cname_ok(name, SPOOL_NAME_MAX) ||
        !sp_cname_ok(fname, SPOOL_FILE_NAME_MAX))
        return CS_ERR_INVAL;
    char rel[SPOOL_NAME_MAX + 1 + SPOOL_FILE_NAME_MAX + 1];
    snprintf(rel, sizeof rel, "%s/%s", name, fname);
    int fd = openat(sp->dfd[SP_ACTIVE], rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return sp_syserr(sp);
    *fd_out = fd;
    return CS_OK;
}

int spool_finish(spool *sp, const char *name)
{
    if (sp == NULL || !sp_cname_ok(name, SPOOL_NAME_MAX))
        return CS_ERR_INVAL;
    char trash[SP_TMPNAME_CAP];
    int rc = CS_ERR_EXISTS;
    for (int t = 0; t < SP_UNIQUE_TRIES && rc == CS_ERR_EXISTS; t++) {
        char hex[17];
        sp_rand_hex(hex);
        snprintf(trash, sizeof trash, SP_TRASH_PREFIX "%s.%ld.%s", name, (long)getpid(), hex);
        rc = sp_rename_noreplace(sp, sp->dfd[SP_ACTIVE], name, sp->dfd[SP_TMP], trash);
    }
    if (rc != CS_OK)
        return rc;
    sp->st.finished++;
    rc = sp_fsync_fd(sp, sp->dfd[SP_ACTIVE]);
    sp_step(sp, SPOOL_STEP_FINISH_MOVED);
    int r = sp_rmrf_at(sp, sp->dfd[SP_TMP], trash, 0, 1);
    return rc != CS_OK ? rc : r;
}

/* "time: ...\nerror: NAME (code) text\nmessage: ...\n" into buf; returns length. */
static size_t sp_reason_text(char *buf, size_t cap, int err, const char *msg)
{
    struct timespec now;
    struct tm tm;
    char when[32] = "unknown";
    clock_gettime(CLOCK_REALTIME, &now);
    if (gmtime_r(&now.tv_sec, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(buf, cap, "time: %s\nerror: %s (%d) %s\nmessage: ", when, cs_err_name(err),
                     err, cs_err_msg(err));
    size_t len = (n < 0) ? 0 : ((size_t)n >= cap ? cap - 1 : (size_t)n);
    if (msg != NULL) {
        size_t mlen = strnlen(msg, SPOOL_REASON_MAX + 1);
        if (mlen > SPOOL_REASON_MAX) {
            mlen = SPOOL_REASON_MAX;
            while (mlen > 0 && ((unsigned char)msg[mlen] & 0xC0) == 0x80)
                mlen--; /* do not split a UTF-8 sequence */
        }
        for (size_t i = 0; i < mlen && len + 2 < cap; i++) {
            unsigned char c = (unsigned char)msg[i];
            buf[len++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        }
    }
    buf[len++] = '\n';
    buf[len] = '\0';
    return len;
}

/* Writes active/<name>/reason durably (via .reason.tmp + rename + fsync). */
static int sp_write_reason(spool *sp, const char *name, int err, const char *msg)
{
    char text[SPOOL_REASON_MAX + 256];
    size_t len = sp_reason_text(text, sizeof text, err, msg);
    int dfd = openat(sp->dfd[SP_ACTIVE], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return sp_syserr(sp);
    int rc = CS_OK;
    int fd =
        openat(dfd, SP_REASON_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        rc = sp_syserr(sp);
    if (rc == CS_OK && (sp_write_all(fd, text, len) != 0 || fsync(fd) != 0))
        rc = sp_syserr(sp);
    if (fd >= 0 && close(fd) != 0 && rc == CS_OK)
        rc = sp_syserr(sp);
    if (rc == CS_OK && renameat(dfd, SP_REASON_TMP, dfd, SP_REASON) != 0)
        rc = sp_syserr(sp);
    if (rc == CS_OK)
        rc = sp_fsync_fd(sp, dfd);
    close(dfd);
    return rc;
}

/* Renames active/<name> into failed/ (name, or name.<time>.<n> when taken) and fsyncs. */
static int sp_move_failed(spool *sp, const char *name)
{
    int rc = sp_rename_noreplace(sp, sp->dfd[SP_ACTIVE], name, sp->dfd[SP_FAILED], name);
    long long now = (long long)time(NULL);
    for (int i = 1; rc == CS_ERR_EXISTS && i <= SP_FAILED_ALTS; i++) {
        char alt[SPOOL_NAME_MAX + 48];
        snprintf(alt, sizeof alt, "%s.%lld.%d", name, now, i);
        rc = sp_rename_noreplace(sp, sp->dfd[SP_ACTIVE], name, sp->dfd[SP_FAILED], alt);
    }
    if (rc != CS_OK)
        return rc;
    sp->st.failed++;
    sp_step(sp, SPOOL_STEP_FAIL_MOVED);
    rc = sp_fsync_fd(sp, sp->dfd[SP_FAILED]);
    int r = sp_fsync_fd(sp, sp->dfd[SP_ACTIVE]);
    return rc != CS_OK ? rc : r;
}

int spool_fail(spool *sp, const char *name, int err, const char *msg)
{
    if (sp == NULL || !sp_cname_ok(name, SPOOL_NAME_MAX))
        return CS_ERR_INVAL;
    int rc = sp_write_reason(sp, name, err, msg);
    if (rc != CS_OK)
        return rc;
    sp_step(sp, SPOOL_STEP_FAIL_REASON);
    return sp_move_failed(sp, name);
}

int spool_release(spool *sp, const char *name)
{
    if (sp == NULL || !sp_cname_ok(name, SPOOL_NAME_MAX))
        return CS_ERR_INVAL;
    /* Back of the queue: the scan orders by the entry directory's mtime. */
    if (utimensat(sp->dfd[SP_ACTIVE], name, NULL, AT_SYMLINK_NOFOLLOW) != 0)
        return sp_syserr(sp);
    int rc = sp_rename_noreplace(sp, sp->dfd[SP_ACTIVE], name, sp->dfd[SP_READY], name);
    if (rc != CS_OK)
        return rc;
    sp->st.released++;
    rc = sp_fsync_fd(sp, sp->dfd[SP_READY]);
    int r = sp_fsync_fd(sp, sp->dfd[SP_ACTIVE]);
    return rc != CS_OK ? rc : r;
}

/* ---- recovery ----------------------------------------------------------- */

/* One entry left in active/ by a crashed consumer. */
static int sp_recover_active(spool *sp, const char *name, spool_recovery *rep)
{
    char rel[NAME_MAX + sizeof(SP_REASON_TMP) + 2]; /* d_name is at most NAME_MAX */
    struct stat st;
    snprintf(rel, sizeof rel, "%s/" SP_REASON, name);
    if (fstatat(sp->dfd[SP_ACTIVE], rel, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        /* spool_fail had made its decision durable: complete it. */
        int rc = sp_move_failed(sp, name);
        if (rc == CS_OK)
            rep->active_to_failed++;
        return rc;
    }
    snprintf(rel, sizeof rel, "%s/" SP_REASON_TMP, name);
    unlinkat(sp->dfd[SP_ACTIVE], rel, 0);
    int rc = sp_rename_noreplace(sp, sp->dfd[SP_ACTIVE], name, sp->dfd[SP_READY], name);
    if (rc == CS_OK) {
        rep->active_to_ready++;
        sp->st.recovered++;
        return CS_OK;
    }
    if (rc != CS_ERR_EXISTS)
        return rc;
    /* A duplicate of this call was committed while it was claimed: keep both,
     * the ready one is processed, this one is set aside for the operator. */
    rc = sp_write_reason(sp, name, CS_ERR_EXISTS,
                         "claimed by a consumer that stopped; a newer copy is in ready/");
    if (rc == CS_OK)
        rc = sp_move_failed(sp, name);
    if (rc == CS_OK)
        rep->active_to_failed++;
    return rc;
}

/* Newest mtime of a writer's tmp dir and its files (a long stream touches only
 * the file). -1 if the dir is gone. */
static time_t sp_tmp_newest(spool *sp, const char *name)
{
    struct stat st;
    if (fstatat(sp->dfd[SP_TMP], name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -1;
    time_t newest = st.st_mtim.tv_sec;
    int fd = openat(sp->dfd[SP_TMP], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return newest;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return newest;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (sp_is_dot(de->d_name))
            continue;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtim.tv_sec > newest)
            newest = st.st_mtim.tv_sec;
    }
    closedir(d);
    return newest;
}

static int sp_recover_tmp(spool *sp, unsigned max_age_s, spool_recovery *rep)
{
    DIR *d = sp_opendir_fd(sp, sp->dfd[SP_TMP]);
    if (d == NULL)
        return sp_map_errno(sp->last_errno);
    int rc = CS_OK;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        int r = CS_OK;
        if (strncmp(n, SP_TRASH_PREFIX, sizeof(SP_TRASH_PREFIX) - 1) == 0) {
            r = sp_rmrf_at(sp, sp->dfd[SP_TMP], n, 0, 0);
            if (r == CS_OK) {
                rep->trash_removed++;
                sp->st.trash_removed++;
            }
        } else if (n[0] != '.') {
            time_t newest = sp_tmp_newest(sp, n);
            if (newest < 0)
                continue;
            /* 0 = every writer dir, even one whose mtime is a moment ahead of
             * time() (file times are taken from a finer clock). */
            if (max_age_s == 0 || now - newest >= (time_t)max_age_s) {
                r = sp_rmrf_at(sp, sp->dfd[SP_TMP], n, 0, 0);
                if (r == CS_OK) {
                    rep->tmp_removed++;
                    sp->st.tmp_removed++;
                }
            } else {
                rep->tmp_kept++;
            }
        }
        if (r != CS_OK && rc == CS_OK)
            rc = r;
    }
    closedir(d);
    return rc;
}

int spool_recover(spool *sp, unsigned tmp_max_age_s, spool_recovery *rep)
{
    spool_recovery local;
    if (rep == NULL)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    if (sp == NULL)
        return CS_ERR_INVAL;
    int own_lock = sp->lockfd < 0;
    int lfd = sp->lockfd;
    if (own_lock) {
        lfd = openat(sp->rootfd, SP_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (lfd < 0)
            return sp_syserr(sp);
    }
    int rc = CS_OK;
    if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        sp->last_errno = e;
        rc = e == EWOULDBLOCK ? CS_ERR_BUSY : sp_map_errno(e);
        goto out;
    }
    DIR *d = sp_opendir_fd(sp, sp->dfd[SP_ACTIVE]);
    if (d == NULL) {
        rc = sp_map_errno(sp->last_errno);
        goto out;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!sp_name_ok(de->d_name, strnlen(de->d_name, SPOOL_NAME_MAX + 1), SPOOL_NAME_MAX))
            continue; /* not ours: leave it for the operator */
        int r = sp_recover_active(sp, de->d_name, rep);
        if (r != CS_OK && rc == CS_OK)
            rc = r;
    }
    closedir(d);
    int r = sp_recover_tmp(sp, tmp_max_age_s, rep);
    if (r != CS_OK && rc == CS_OK)
        rc = r;
    for (int i = 0; i < SP_NDIRS; i++) {
        r = sp_fsync_fd(sp, sp->dfd[i]);
        if (r != CS_OK && rc == CS_OK)
            rc = r;
    }
out:
    if (own_lock)
        close(lfd);
    else
        flock(lfd, LOCK_SH); /* back to the consumer's shared lock */
    return rc;
}

/* ---- wake-ups ----------------------------------------------------------- */

int spool_wait(spool *sp, int timeout_ms)
{
    if (sp == NULL)
        return CS_ERR_INVAL;
    struct pollfd p = {.fd = sp->inofd, .events = POLLIN};
    nfds_t nfds = sp->inofd >= 0 ? 1 : 0;
    int n = poll(nfds ? &p : NULL, nfds, timeout_ms < 0 ? -1 : timeout_ms);
    if (n < 0)
        return sp_syserr(sp);
    if (n == 0)
        return CS_ERR_TIMEOUT;
    /* Drain: the events themselves do not matter, only that something happened. */
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    while (read(sp->inofd, buf, sizeof buf) > 0)
        ;
    return CS_OK;
}

int spool_notify_fd(const spool *sp)
{
    return sp ? sp->inofd : -1;
}
