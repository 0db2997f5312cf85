/*
 * jsonp.h — a strict JSON parser (RFC 8259) into a read-only tree.
 *
 * The counterpart of json.h (the writer): decode reads call.json with it, later
 * stages read scorecards and truth files. jsonp_parse() takes (pointer, length)
 * text that need not be NUL-terminated and never reads outside it. The whole
 * tree — values, decoded strings, member tables — lives in one arena owned by
 * the jsonp_doc; jsonp_free() releases everything at once. Every pointer handed
 * out by an accessor borrows from the doc and is valid until jsonp_free(); the
 * input text is not referenced after jsonp_parse() returns.
 *
 * What is accepted (and why it is strict): exactly one JSON value (any type) with
 * optional whitespace (space, tab, CR, LF) around it; nothing else.
 *   - Strings: every escape of RFC 8259 section 7, \uXXXX included; a surrogate
 *     pair becomes one 4-byte UTF-8 sequence; a lone or reversed surrogate is
 *     rejected. Raw bytes must be well-formed UTF-8 (RFC 3629: no overlongs, no
 *     encoded surrogates, nothing above U+10FFFF) and no control byte below
 *     0x20 may appear unescaped: invalid input is REJECTED, never replaced, so a
 *     string read back is always valid UTF-8. \u0000 is allowed and decodes to a
 *     NUL byte inside the string: use the length, or jsonp_str_copy() which
 *     refuses such strings. A byte-order mark is rejected.
 *   - Numbers: the RFC grammar only (no leading '+', no leading zeros, no '.5',
 *     no NaN/Infinity). Every number keeps a double (strtod, correctly rounded;
 *     the C numeric locale is assumed); a number written without fraction and
 *     exponent that fits int64_t also keeps its exact int64_t. A number whose
 *     magnitude overflows a double (1e400) is CS_ERR_OVERFLOW; a lexeme longer
 *     than JSONP_MAX_NUMBER_LEN is CS_ERR_LIMIT; underflow gives 0 or a subnormal.
 *   - Objects: a key that repeats a key of the same object (byte-for-byte after
 *     unescaping) is rejected (CS_ERR_MALFORMED, "duplicate key"), so a lookup
 *     never depends on which duplicate wins. Members keep document order.
 *   - Limits: input longer than opts->max_bytes and nesting deeper than
 *     opts->max_depth are CS_ERR_LIMIT. Memory is bounded by the input: 56 bytes
 *     per value in the tree (plus string bytes), and up to twice that in scratch
 *     while its container is open (growth by doubling); a value takes at least 2
 *     input bytes, so the peak stays under ~90 x the input and the tree under
 *     ~30 x ("[0,0,0,...]" of 1 MiB: 28 MiB of tree). Pass a max_bytes that fits
 *     the file: call.json is a few tens of KiB.
 *
 * Errors: jsonp_parse() returns CS_OK or
 *   CS_ERR_TRUNCATED  the input ends inside a value (offset = len);
 *   CS_ERR_MALFORMED  a byte that cannot continue a valid document (syntax,
 *                     bad escape, lone surrogate, invalid UTF-8, control byte,
 *                     NUL byte, trailing data, duplicate key);
 *   CS_ERR_LIMIT      max_bytes, max_depth or JSONP_MAX_NUMBER_LEN exceeded;
 *   CS_ERR_OVERFLOW   a number out of double range;
 *   CS_ERR_NOMEM      out of memory;
 *   CS_ERR_INVAL      NULL arguments or options out of range.
 * and fills the caller's jsonp_error (optional): the byte offset of the first
 * offending byte, its 1-based line (counting LF) and column (in bytes), and a
 * NUL-terminated reason. Errors are found in document order, except a duplicate
 * key, which is detected when its object closes (its offset is still that of
 * the duplicate key's opening quote). The parser is pure: no globals, no logging.
 *
 * Accessors are NULL-safe so lookups chain: jsonp_get(jsonp_get(root, "pcap"),
 * "frames") is NULL when either level is absent or not an object, and
 * jsonp_int(NULL, &x) is CS_ERR_NOTFOUND. Typed readers return
 *   CS_OK, CS_ERR_NOTFOUND (v is NULL: absent), CS_ERR_EMPTY (v is JSON null —
 *   the "unknown" of call.json's int|null fields), CS_ERR_MALFORMED (wrong type
 *   or not integral), CS_ERR_OVERFLOW (integral but outside int64_t);
 * and leave *out untouched on error.
 *
 * SECURITY: reads hostile bytes (spool files, uploaded scorecards). Bounded
 * recursion (max_depth <= JSONP_MAX_DEPTH_LIMIT), bounded input, no allocation
 * sized from a declared length, object lookups O(log n) for objects of more than
 * JSONP_INDEX_MIN members (O(n) below), duplicate detection O(n log n).
 * BUGS: strtod follows LC_NUMERIC; callscope never changes it from "C".
 */
#ifndef CALLSCOPE_JSONP_H
#define CALLSCOPE_JSONP_H

#include <stddef.h>
#include <stdint.h>

#define JSONP_DEFAULT_MAX_BYTES (16u * 1024 * 1024)   /* used when opts->max_bytes is 0 */
#define JSONP_MAX_BYTES_LIMIT   (1024u * 1024 * 1024) /* opts->max_bytes above: CS_ERR_INVAL */
#define JSONP_DEFAULT_MAX_DEPTH 64                    /* used when opts->max_depth is 0 */
#define JSONP_MAX_DEPTH_LIMIT   1024                  /* opts->max_depth above: CS_ERR_INVAL */
#define JSONP_MAX_NUMBER_LEN    1024                  /* bytes of one number lexeme */
#define JSONP_INDEX_MIN         8 /* objects with more members get a sorted key index */
#define JSONP_REASON_MAX        96

typedef enum jsonp_type {
    JSONP_NONE = 0, /* only from jsonp_type(NULL): the value is absent */
    JSONP_NULL,
    JSONP_BOOL,
    JSONP_NUMBER,
    JSONP_STRING,
    JSONP_ARRAY,
    JSONP_OBJECT,
} jsonp_type;

typedef struct jsonp_doc jsonp_doc;
typedef struct jsonp_val jsonp_val;

/* An allocator with realloc semantics: (ctx, NULL, n) allocates, (ctx, p, n) resizes,
 * (ctx, p, 0) frees p and returns NULL. Returns NULL on failure. */
typedef void *(*jsonp_realloc_fn)(void *ctx, void *ptr, size_t size);

typedef struct jsonp_opts {
    size_t max_bytes;            /* longest accepted input; 0 = JSONP_DEFAULT_MAX_BYTES */
    int max_depth;               /* deepest nesting of arrays/objects (a bare scalar is depth 0,
                                    "[]" depth 1); 0 = JSONP_DEFAULT_MAX_DEPTH */
    jsonp_realloc_fn realloc_fn; /* NULL: malloc/realloc/free. The doc keeps it (and
                                    alloc_ctx) for jsonp_free: both must outlive it. */
    void *alloc_ctx;
} jsonp_opts;

typedef struct jsonp_error {
    size_t offset;                 /* byte offset of the first offending byte */
    size_t line;                   /* 1-based; lines are counted by LF */
    size_t column;                 /* 1-based, in bytes from the line's start */
    char reason[JSONP_REASON_MAX]; /* e.g. "invalid escape \\q"; "" on success */
} jsonp_error;

/* Parses text[0, len). opts may be NULL (defaults); err may be NULL. On CS_OK *out
 * is a new doc the caller frees with jsonp_free(); on error *out is NULL. */
int jsonp_parse(const char *text, size_t len, const jsonp_opts *opts, jsonp_doc **out,
                jsonp_error *err);
/* Frees the doc and every value, string and table in it. NULL is a no-op. */
void jsonp_free(jsonp_doc *doc);

/* The top-level value (never NULL for a parsed doc; NULL for a NULL doc). */
const jsonp_val *jsonp_root(const jsonp_doc *doc);

jsonp_type jsonp_type_of(const jsonp_val *v); /* JSONP_NONE for NULL */
const char *jsonp_type_name(jsonp_type t);    /* "null", "object", ...; "none" */
int jsonp_is_null(const jsonp_val *v);        /* 1 only for a present JSON null */

/* Where the value starts in the parsed text: byte offset, 1-based line and column
 * (any pointer may be NULL). For messages like "call.json:12:5: ...". No-op for NULL. */
void jsonp_where(const jsonp_val *v, size_t *offset, size_t *line, size_t *column);

/* Numbers. jsonp_int: the exact int64 of an integer lexeme; a number written with
 * fraction or exponent is accepted when its double is integral and |d| < 2^53
 * (1e3 -> 1000, 1.5 -> CS_ERR_MALFORMED). An integer lexeme outside int64_t, or
 * an integral double beyond 2^53, is CS_ERR_OVERFLOW. jsonp_double: any number
 * (an int64 above 2^53 rounds). */
int jsonp_int(const jsonp_val *v, int64_t *out);
int jsonp_double(const jsonp_val *v, double *out);
/* 1 when v is a number written as an integer lexeme that fits int64_t. */
int jsonp_is_int(const jsonp_val *v);
int jsonp_bool(const jsonp_val *v, int *out);

/* Strings: the decoded UTF-8 bytes, NUL-terminated (the terminator is not counted
 * in *len; len may be NULL). NULL when v is not a string. May contain NUL bytes
 * (from \u0000): trust *len, not strlen. */
const char *jsonp_str(const jsonp_val *v, size_t *len);
/* 1 when v is a string equal to the C string s (byte-for-byte), else 0. */
int jsonp_str_eq(const jsonp_val *v, const char *s);
/* Copies the string into buf (cap bytes, NUL-terminated). CS_ERR_OVERFLOW when it
 * does not fit (buf then holds ""), CS_ERR_MALFORMED when it contains a NUL byte
 * or is not a string, CS_ERR_EMPTY for JSON null, CS_ERR_NOTFOUND for NULL. */
int jsonp_str_copy(const jsonp_val *v, char *buf, size_t cap);

/* Arrays and objects: number of elements/members (0 for any other value or NULL). */
size_t jsonp_len(const jsonp_val *v);
/* Element i of an array, or the value of member i of an object (document order);
 * NULL when i >= jsonp_len(v) or v is neither. */
const jsonp_val *jsonp_at(const jsonp_val *v, size_t i);
/* The key of member i of an object (NUL-terminated, *len without it; len may be
 * NULL); NULL when v is not an object or i is out of range. Iterate with
 *   for (size_t i = 0; i < jsonp_len(obj); i++) { k = jsonp_key(obj, i, &kl);
 *                                                 val = jsonp_at(obj, i); } */
const char *jsonp_key(const jsonp_val *v, size_t i, size_t *len);
/* The value of the member named key (C string / (pointer, length)); NULL when v
 * is not an object or has no such member. */
const jsonp_val *jsonp_get(const jsonp_val *v, const char *key);
const jsonp_val *jsonp_get_n(const jsonp_val *v, const char *key, size_t key_len);

/* JSON Pointer (RFC 6901): "" is v itself, "/streams/0/codec" walks members and
 * array indexes ("~1" = '/', "~0" = '~'; array indexes are decimal without
 * leading zeros). NULL when any step is absent or the pointer is malformed. */
const jsonp_val *jsonp_pointer(const jsonp_val *v, const char *ptr);

/* Shorthands for a member of an object: jsonp_int(jsonp_get(obj, key), out) etc. */
int jsonp_get_int(const jsonp_val *obj, const char *key, int64_t *out);
int jsonp_get_double(const jsonp_val *obj, const char *key, double *out);
int jsonp_get_bool(const jsonp_val *obj, const char *key, int *out);
const char *jsonp_get_str(const jsonp_val *obj, const char *key, size_t *len);

#endif
