/*
 * spool_testutil.c — directory inspection for the spool tests (see the header).
 */
#include "spool_testutil.h"
#include "testsupport.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *su_path(char *buf, const char *root, const char *a, const char *b, const char *c)
{
    if (c)
        snprintf(buf, SU_PATH, "%s/%s/%s/%s", root, a, b, c);
    else if (b)
        snprintf(buf, SU_PATH, "%s/%s/%s", root, a, b);
    else
        snprintf(buf, SU_PATH, "%s/%s", root, a);
    return buf;
}

static int su_names(const char *root, const char *sub, char ***out)
{
    char p[SU_PATH];
    DIR *d = opendir(su_path(p, root, sub, NULL, NULL));
    if (!d)
        return -1;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv)
                abort();
            v = nv;
        }
        v[n] = strdup(de->d_name);
        if (!v[n])
            abort();
        n++;
    }
    closedir(d);
    *out = v;
    return n;
}

static int su_strcmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int su_count(const char *root, const char *sub)
{
    char **v = NULL;
    int n = su_names(root, sub, &v);
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return n;
}

const char *su_list(char *buf, size_t cap, const char *root, const char *sub)
{
    char **v = NULL;
    int n = su_names(root, sub, &v);
    buf[0] = '\0';
    if (n < 0) {
        snprintf(buf, cap, "<unreadable>");
        return buf;
    }
    qsort(v, (size_t)n, sizeof *v, su_strcmp);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s", i ? "," : "", v[i]);
        if (w > 0 && (size_t)w < cap - len)
            len += (size_t)w;
        free(v[i]);
    }
    free(v);
    return buf;
}

void su_fill(unsigned char *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed ? seed : 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < len; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        buf[i] = (unsigned char)((x * 0x2545F4914F6CDD1Dull) >> 56);
    }
}

char *su_read(const char *root, const char *sub, const char *entry, const char *file, size_t *len)
{
    char p[SU_PATH];
    return ts_read_file(su_path(p, root, sub, entry, file), len);
}

int su_file_equals(const char *root, const char *sub, const char *entry, const char *file,
                   const void *data, size_t len)
{
    size_t got = 0;
    char *b = su_read(root, sub, entry, file, &got);
    if (!b)
        return 0;
    int eq = got == len && memcmp(b, data, len) == 0;
    free(b);
    return eq;
}

int su_set_mtime(const char *root, const char *sub, const char *name, long long sec, long nsec)
{
    char p[SU_PATH];
    struct timespec ts[2] = {{(time_t)sec, nsec}, {(time_t)sec, nsec}};
    return utimensat(AT_FDCWD, su_path(p, root, sub, name, NULL), ts, AT_SYMLINK_NOFOLLOW);
}
