/*
 * json.h — a small JSON writer (RFC 8259) into a bounded growable buffer.
 *
 * Used for callgen's truth files, capture's call.json spool records, and the
 * CSV/JSON outputs of the CLI. The writer inserts commas and (optionally)
 * indentation itself; strings are given as (pointer, length), need no NUL,
 * and are escaped (control characters as \u00XX, invalid UTF-8 bytes replaced
 * by U+FFFD so the output is always valid JSON). Numbers: integers exactly;
 * doubles with up to 17 significant digits, NaN/Inf written as null.
 *
 * The buffer has a ceiling (max bytes) given at creation: growing past it is
 * CS_ERR_LIMIT, never an unbounded allocation. After the first error the
 * writer stays failed and json_w_error() returns that error; every call is
 * then a no-op, so callers may check once at the end.
 * Nesting deeper than CS_JSON_MAX_DEPTH is CS_ERR_LIMIT. Misuse (a value where
 * a key is expected, unbalanced end) is CS_ERR_STATE.
 * Ownership: the writer owns its buffer; json_w_take() hands it to the caller.
 */
#ifndef CALLSCOPE_JSON_H
#define CALLSCOPE_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CS_JSON_MAX_DEPTH 64

typedef struct json_w json_w;

/* pretty: 0 = compact, otherwise indent by 2 spaces. max_bytes: ceiling. NULL on ENOMEM. */
json_w *json_w_new(int pretty, size_t max_bytes);
void json_w_free(json_w *w);

void json_obj_begin(json_w *w);
void json_obj_end(json_w *w);
void json_arr_begin(json_w *w);
void json_arr_end(json_w *w);
/* An object key; NUL-terminated convenience and (ptr,len) forms. */
void json_key(json_w *w, const char *key);
void json_key_n(json_w *w, const char *key, size_t len);
void json_str(json_w *w, const char *s);              /* NULL writes null */
void json_str_n(json_w *w, const char *s, size_t len);
void json_int(json_w *w, int64_t v);
void json_uint(json_w *w, uint64_t v);
void json_double(json_w *w, double v);
void json_bool(json_w *w, int v);
void json_null(json_w *w);

/* Shorthands for "key": value inside an object. */
void json_kv_str(json_w *w, const char *key, const char *s);
void json_kv_int(json_w *w, const char *key, int64_t v);
void json_kv_uint(json_w *w, const char *key, uint64_t v);
void json_kv_double(json_w *w, const char *key, double v);
void json_kv_bool(json_w *w, const char *key, int v);

/* CS_OK, or the first error hit. Also CS_ERR_STATE if containers are still open. */
int json_w_error(const json_w *w);
/* The text so far (NUL-terminated, owned by w) and its length. */
const char *json_w_data(const json_w *w, size_t *len);
/* Hands the buffer to the caller (free() it); w is left empty. */
char *json_w_take(json_w *w, size_t *len);
/* Writes the document to a file via a temporary + rename (atomic). CS_OK or CS_ERR_IO
 * (CS_ERR_INVAL for an empty path; the writer's own error, nothing written, when
 * json_w_error(w) is not CS_OK). */
int json_w_save(const json_w *w, const char *path);

#endif
