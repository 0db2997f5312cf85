/*
 * file.h — whole small files (configuration the stages load at start-up:
 * the scorecard, the directory of queues and agents, the phrase list).
 *
 * cs_file_read reads the file at path into a new buffer of at most max
 * bytes plus a terminating NUL the callers may rely on (the bytes may hold
 * NULs of their own: *len says how many there are). A file larger than max
 * is refused, never truncated. On failure err gets "<what> '<path>':
 * <reason>" (what names the file for the user, e.g. "directory file").
 *
 * Returns CS_OK (*out owned by the caller: free()), CS_ERR_NOTFOUND (no
 * such file), CS_ERR_IO (cannot open or read, e.g. a directory or no
 * permission), CS_ERR_LIMIT (larger than max), CS_ERR_NOMEM, CS_ERR_INVAL
 * (NULL arguments). No state.
 */
#ifndef CALLSCOPE_FILE_H
#define CALLSCOPE_FILE_H

#include <stddef.h>

int cs_file_read(const char *path, size_t max, const char *what, char **out, size_t *len,
                 char *err, size_t errcap);

#endif
