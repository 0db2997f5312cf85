/*
 * testsupport.c — see testsupport.h.
 */
#include "testsupport.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ts_mkdtemp(char *buf, size_t cap, const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    int n = snprintf(buf, cap, "%s/cs-%s.XXXXXX", base, tag ? tag : "test");
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return mkdtemp(buf) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int ts_rmrf(const char *path)
{
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

const char *ts_source_path(char *buf, size_t cap, const char *rel)
{
    snprintf(buf, cap, "%s/%s", env_or("CALLSCOPE_SOURCE_DIR", "."), rel);
    return buf;
}

int ts_shared_path(char *buf, size_t cap, const char *rel)
{
    snprintf(buf, cap, "%s/%s", env_or("CALLSCOPE_SHARED_DATA", "../shared/data"), rel);
    return access(buf, R_OK) == 0;
}

char *ts_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int ts_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(data, 1, len, f);
    int rc = (put == len) ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

void ts_buf_printf(ts_buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            fprintf(stderr, "ts_buf_printf: bad format \"%s\"\n", fmt);
            abort();
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 64;
        char *p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "ts_buf_printf: out of memory\n");
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
}

static int ts_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t ts_list_dir(const char *dir, const char *suffix, char **names, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ts_list_dir: %s: %s\n", dir, strerror(errno));
        abort();
    }
    size_t n = 0, sl = strlen(suffix);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < cap) {
        size_t l = strlen(de->d_name);
        if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0) {
            names[n] = strdup(de->d_name);
            if (!names[n])
                abort();
            n++;
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], ts_cmp_names);
    return n;
}
