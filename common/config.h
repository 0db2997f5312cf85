/*
 * config.h — declarative configuration tables and INI files.
 *
 * A program describes its settings in one const table of cfg_key entries
 * (in the manner of Redis' static_configs[]): the key's name ("section.key"),
 * its type, its default as text, its bounds, a help line and where the parsed
 * value goes — an offset into the program's own config struct. There is no
 * global state: the table is const and every function takes the struct to
 * fill (`dst`) or read (`src`). Defaults are parsed by the same code as file
 * values, so a bad default is caught by cfg_defaults().
 *
 * Types and the C type of the field they fill (checked at compile time by
 * the CFG_* macros: a mismatched field does not compile):
 *   CFG_STRING    char *   malloc'd copy owned by the struct; NULL = not set
 *   CFG_INT       int64_t  decimal, optional sign, [min, max]
 *   CFG_BOOL      int      1/0 from true/false, yes/no, on/off, 1/0 (any case)
 *   CFG_DOUBLE    double   finite decimal number, [min, max]
 *   CFG_ENUM      int      index into a NULL-terminated list of names (any case)
 *   CFG_DURATION  int64_t  milliseconds; text is a whole number with an optional
 *                          suffix ms, s, m, h, d (no suffix = seconds), [min, max] in ms
 *   CFG_SIZE      int64_t  bytes; text is a whole number with an optional suffix
 *                          k/K (1024), M (1024^2), G (1024^3), [min, max] in bytes
 *
 * Flags: CFG_SECRET masks the whole value in cfg_print() and keeps it out of
 * error messages; CFG_CONNINFO masks only a password inside a libpq conninfo
 * ("password=...", or the "user:password@" part / "password=" parameter of a
 * postgresql:// URI).
 *
 * The file format (docs/configuration.md): "[section]" headers, "key = value"
 * lines, whole-line comments starting with '#' or ';', blank lines, values
 * optionally in double quotes with \" and \\ escapes (a quoted value may be
 * followed by a comment). Keys before any section header must be written in
 * full ("spool.dir = ..."). An unknown key, a bad or out-of-bounds value, a
 * key given twice in one file, or a syntax error stops the load with
 * CS_ERR_CONFIG and a message "<file>:<line>: <key>: <what>", e.g.
 *     callscope.conf:12: capture.max_calls: 0 is below the minimum 1
 *
 * Errors: every int-returning function returns CS_OK or a negative cs_err and,
 * on error, writes one line (no newline) into err (truncated to errcap; err may
 * be NULL when errcap is 0). On error dst may be partly updated but stays
 * consistent (each string owned exactly once), so cfg_free() is always safe.
 *
 * Ownership: strings in dst are owned by dst and freed by cfg_free(); setting
 * a string key again frees the old value. dst must be zero-initialised (or
 * already filled by these functions) before the first call.
 */
#ifndef CALLSCOPE_CONFIG_H
#define CALLSCOPE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A configuration file larger than this is refused (CS_ERR_LIMIT). */
#define CFG_FILE_MAX (1024 * 1024)

typedef enum cfg_type {
    CFG_STRING,
    CFG_INT,
    CFG_BOOL,
    CFG_DOUBLE,
    CFG_ENUM,
    CFG_DURATION,
    CFG_SIZE
} cfg_type;

#define CFG_SECRET 0x1u   /* value never printed nor echoed in errors */
#define CFG_CONNINFO 0x2u /* a libpq conninfo: mask the password inside */

typedef struct cfg_key {
    const char *name;               /* "section.key": [a-z0-9_] words joined by one '.' */
    cfg_type type;
    unsigned flags;                 /* CFG_SECRET | CFG_CONNINFO */
    size_t offset;                  /* of the field inside the caller's struct */
    const char *def;                /* default as text; NULL: string unset (strings only) */
    int64_t imin, imax;             /* CFG_INT, CFG_DURATION (ms), CFG_SIZE (bytes) */
    double dmin, dmax;              /* CFG_DOUBLE */
    const char *const *enum_names;  /* CFG_ENUM: NULL-terminated */
    const char *help;               /* one sentence */
} cfg_key;

/* Offset of `field` in `st`, failing to compile unless the field has type T. */
#define CFG_OFFSET_(st, field, T) (offsetof(st, field) + 0 * sizeof(_Generic(((st *)0)->field, T: 1)))

#define CFG_KEY_STRING(st, field, name_, def_, flags_, help_)                                      \
    {.name = (name_), .type = CFG_STRING, .flags = (flags_),                                       \
     .offset = CFG_OFFSET_(st, field, char *), .def = (def_), .help = (help_)}
#define CFG_KEY_INT(st, field, name_, def_, min_, max_, help_)                                     \
    {.name = (name_), .type = CFG_INT, .offset = CFG_OFFSET_(st, field, int64_t), .def = (def_),   \
     .imin = (min_), .imax = (max_), .help = (help_)}
#define CFG_KEY_BOOL(st, field, name_, def_, help_)                                                \
    {.name = (name_), .type = CFG_BOOL, .offset = CFG_OFFSET_(st, field, int), .def = (def_),      \
     .help = (help_)}
#define CFG_KEY_DOUBLE(st, field, name_, def_, min_, max_, help_)                                  \
    {.name = (name_), .type = CFG_DOUBLE, .offset = CFG_OFFSET_(st, field, double),                \
     .def = (def_), .dmin = (min_), .dmax = (max_), .help = (help_)}
#define CFG_KEY_ENUM(st, field, name_, def_, names_, help_)                                        \
    {.name = (name_), .type = CFG_ENUM, .offset = CFG_OFFSET_(st, field, int), .def = (def_),      \
     .enum_names = (names_), .help = (help_)}
/* min_/max_ in milliseconds */
#define CFG_KEY_DURATION(st, field, name_, def_, min_, max_, help_)                                \
    {.name = (name_), .type = CFG_DURATION, .offset = CFG_OFFSET_(st, field, int64_t),             \
     .def = (def_), .imin = (min_), .imax = (max_), .help = (help_)}
/* min_/max_ in bytes */
#define CFG_KEY_SIZE(st, field, name_, def_, min_, max_, help_)                                    \
    {.name = (name_), .type = CFG_SIZE, .offset = CFG_OFFSET_(st, field, int64_t), .def = (def_), \
     .imin = (min_), .imax = (max_), .help = (help_)}

/* 1 when name is a configuration key of some callscope program
 * (config_registry.c). A file may hold keys of other programs: loading
 * skips them, and refuses keys no program knows. */
int cfg_key_is_callscope(const char *name);
/* Writes the registry, one key per line (tests compare it with the programs). */
void cfg_registry_print(FILE *out);

/* Sets every key to its default. CS_ERR_CONFIG if a default does not parse
 * (a bug in the table: "capture.max_calls: default: ..."). */
int cfg_defaults(const cfg_key *tab, size_t n, void *dst, char *err, size_t errcap);

/* Reads an INI file (at most CFG_FILE_MAX bytes). Returns CS_ERR_NOTFOUND if
 * it does not exist, CS_ERR_IO if it cannot be read, CS_ERR_LIMIT if too big,
 * CS_ERR_CONFIG for its content. */
int cfg_load_file(const cfg_key *tab, size_t n, void *dst, const char *path, char *err,
                  size_t errcap);

/* Parses INI text of `len` bytes (need not be NUL-terminated); `origin` names
 * it in messages (a file name). Same rules and errors as cfg_load_file. */
int cfg_load_text(const cfg_key *tab, size_t n, void *dst, const char *origin, const char *text,
                  size_t len, char *err, size_t errcap);

/* One "section.key=value" assignment: whitespace around key and value is
 * trimmed, the value is not unquoted. CS_ERR_CONFIG, message "<key>: <what>"
 * ("\"<assignment>\": expected KEY=VALUE" without '='). */
int cfg_set(const cfg_key *tab, size_t n, void *dst, const char *assignment, char *err,
            size_t errcap);

/* Parses `value` for the key `name`. CS_ERR_CONFIG "<key>: <what>". */
int cfg_set_value(const cfg_key *tab, size_t n, void *dst, const char *name, const char *value,
                  char *err, size_t errcap);

/* The table entry named `name`, or NULL. */
const cfg_key *cfg_find(const cfg_key *tab, size_t n, const char *name);

/* Writes the effective configuration as a loadable INI file, secrets masked
 * as "********". Unset strings are written as a comment. */
void cfg_print(const cfg_key *tab, size_t n, const void *src, FILE *out);

/* Lists every key: name, type, bounds, default, help. */
void cfg_help(const cfg_key *tab, size_t n, FILE *out);

/* Frees the strings owned by dst and sets them to NULL. */
void cfg_free(const cfg_key *tab, size_t n, void *dst);

/* Copies conninfo into out (capacity cap, always NUL-terminated when cap > 0)
 * with any password replaced by "********". Returns the length it needed. */
size_t cfg_mask_conninfo(const char *conninfo, char *out, size_t cap);

#endif
