/*
 * file.c — cs_file_read (see file.h).
 */
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int cs_file_read(const char *path, size_t max, const char *what, char **out, size_t *len,
                 char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    if (!path || !out || !len || max == (size_t)-1)
        return CS_ERR_INVAL;
    *out = NULL;
    *len = 0;
    if (!what)
        what = "file";
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errcap, "%s '%s': %s", what, path, strerror(e));
        return e == ENOENT ? CS_ERR_NOTFOUND : CS_ERR_IO;
    }
    char *buf = malloc(max + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errcap, "%s '%s': out of memory", what, path);
        return CS_ERR_NOMEM;
    }
    /* one byte more than allowed tells "exactly max" from "larger" */
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, errcap, "%s '%s': %s", what, path, e ? strerror(e) : "read error");
        return CS_ERR_IO;
    }
    if (n > max) {
        free(buf);
        snprintf(err, errcap, "%s '%s': larger than %zu bytes", what, path, max);
        return CS_ERR_LIMIT;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return CS_OK;
}
