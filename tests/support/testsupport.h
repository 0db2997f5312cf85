/*
 * testsupport.h — small helpers for cmocka tests.
 *
 * Paths come from the environment CTest sets (CALLSCOPE_SOURCE_DIR,
 * CALLSCOPE_BINARY_DIR, CALLSCOPE_SHARED_DATA); when a test is run by hand
 * they fall back to the current directory. Nothing here reads global state
 * of the code under test.
 */
#ifndef CALLSCOPE_TESTSUPPORT_H
#define CALLSCOPE_TESTSUPPORT_H

#include <stddef.h>

/* Creates a fresh private directory (mode 0700) under $TMPDIR or /tmp and
 * writes its path into buf. Returns 0, or -1 with errno set. */
int ts_mkdtemp(char *buf, size_t cap, const char *tag);

/* Removes a directory tree (like rm -rf). Returns 0 or -1. */
int ts_rmrf(const char *path);

/* Joins the source directory and a relative path into buf. Returns buf. */
const char *ts_source_path(char *buf, size_t cap, const char *rel);

/* Joins ../shared/data and rel into buf and returns 1 if it exists, else 0
 * (the caller skips with a clear message: the folder is optional). */
int ts_shared_path(char *buf, size_t cap, const char *rel);

/* Reads a whole file into a malloc'd NUL-terminated buffer (caller frees);
 * *len gets the byte count (without the NUL). NULL on error. */
char *ts_read_file(const char *path, size_t *len);

/* Writes len bytes to path (creating/truncating). Returns 0 or -1. */
int ts_write_file(const char *path, const void *data, size_t len);

/* The names of dir's entries ending in suffix, sorted (strcmp), at most cap;
 * each strdup'ed (the caller frees them). Returns the count; aborts the test
 * when dir cannot be read. */
size_t ts_list_dir(const char *dir, const char *suffix, char **names, size_t cap);

/* A growing text buffer for golden-file dumps. Start it zeroed
 * (ts_buf b = {0}); p is NUL-terminated after the first append; the caller
 * frees p. Running out of memory aborts the test. */
typedef struct ts_buf {
    char *p;
    size_t len, cap;
} ts_buf;

void ts_buf_printf(ts_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
