/*
 * spool_testutil.h — helpers shared by the spool tests (tests/spool only).
 *
 * Every test works in its own fresh directory from ts_mkdtemp and inspects the
 * spool with plain system calls (opendir, stat, read), never through the API
 * under test, so a bug in the spool cannot hide itself.
 */
#ifndef CALLSCOPE_SPOOL_TESTUTIL_H
#define CALLSCOPE_SPOOL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#define SU_PATH 512

/* Builds "<root>/<a>[/<b>[/<c>]]" into a static-free caller buffer (b, c may be NULL). */
const char *su_path(char *buf, const char *root, const char *a, const char *b, const char *c);

/* Number of directory entries (without . and ..) in root/sub; -1 if it cannot be read. */
int su_count(const char *root, const char *sub);

/* Names in root/sub, sorted, joined by ',' into buf (e.g. "a,b,c"); "" when empty. */
const char *su_list(char *buf, size_t cap, const char *root, const char *sub);

/* Deterministic pseudo-random bytes (xorshift64*) from `seed`. */
void su_fill(unsigned char *buf, size_t len, uint64_t seed);

/* 1 if the file root/sub/entry/file holds exactly len bytes equal to data, else 0. */
int su_file_equals(const char *root, const char *sub, const char *entry, const char *file,
                   const void *data, size_t len);

/* Reads root/sub/entry/file into a malloc'd NUL-terminated buffer (caller frees). */
char *su_read(const char *root, const char *sub, const char *entry, const char *file, size_t *len);

/* Sets the mtime (and atime) of root/sub/name to `sec` seconds + `nsec`. Returns 0/-1. */
int su_set_mtime(const char *root, const char *sub, const char *name, long long sec, long nsec);

#endif
