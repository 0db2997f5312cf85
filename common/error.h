/*
 * error.h — the one error enum of callscope.
 *
 * Every fallible function in the project returns an int: 0 (CS_OK) on success,
 * one of the negative values below on failure. Values are never renumbered and
 * never reused; new codes are appended before CS_ERR__LAST. cs_err_name() gives
 * the symbolic name ("CS_ERR_TRUNCATED"), cs_err_msg() a sentence for humans.
 * Both return static strings (never NULL, also for unknown codes).
 *
 * Parsers return these codes and never log; the caller decides what to log.
 */
#ifndef CALLSCOPE_ERROR_H
#define CALLSCOPE_ERROR_H

/* X-macro: name, value, message. Keep values dense and append-only. */
#define CS_ERR_MAP(X)                                                                  \
    X(CS_OK, 0, "success")                                                             \
    X(CS_ERR_NOMEM, -1, "out of memory")                                               \
    X(CS_ERR_INVAL, -2, "invalid argument")                                            \
    X(CS_ERR_TRUNCATED, -3, "input ends before the structure it declares")             \
    X(CS_ERR_MALFORMED, -4, "malformed input")                                         \
    X(CS_ERR_LIMIT, -5, "a configured limit was reached")                              \
    X(CS_ERR_IO, -6, "input/output error")                                             \
    X(CS_ERR_NOTFOUND, -7, "not found")                                                \
    X(CS_ERR_EXISTS, -8, "already exists")                                             \
    X(CS_ERR_UNSUPPORTED, -9, "unsupported")                                           \
    X(CS_ERR_CONFIG, -10, "configuration error")                                       \
    X(CS_ERR_DB, -11, "database error")                                                \
    X(CS_ERR_DB_CONN, -12, "database connection lost or unavailable")                  \
    X(CS_ERR_BUSY, -13, "resource busy, try again")                                    \
    X(CS_ERR_EMPTY, -14, "nothing to do")                                              \
    X(CS_ERR_OVERFLOW, -15, "value or buffer overflow")                                \
    X(CS_ERR_STATE, -16, "operation not valid in the current state")                   \
    X(CS_ERR_CODEC, -17, "codec error")                                                \
    X(CS_ERR_INTEGRITY, -18, "integrity check failed")                                 \
    X(CS_ERR_TIMEOUT, -19, "timed out")                                                \
    X(CS_ERR_INTERRUPTED, -20, "interrupted by a stop request")

typedef enum cs_err {
#define CS_ERR_ENUM_(name, value, msg) name = value,
    CS_ERR_MAP(CS_ERR_ENUM_)
#undef CS_ERR_ENUM_
    CS_ERR__LAST = -21 /* one below the lowest code; not an error itself */
} cs_err;

/* "CS_ERR_TRUNCATED" for -3; "CS_ERR_UNKNOWN" for a value not in the map. */
const char *cs_err_name(int err);
/* A human sentence for the code; "unknown error" for a value not in the map. */
const char *cs_err_msg(int err);

#endif
