/*
 * config.c — configuration tables, value parsers and the INI reader.
 *
 * Every value, whether it comes from a table default, a file or --set, goes
 * through one function, cfg_parse_value(), which takes a (pointer, length)
 * slice, never needs a NUL and never reads past the slice. Numbers are
 * parsed digit by digit with explicit overflow checks (no strtoll with its
 * locale, whitespace and errno rules); doubles are the one exception and go
 * through strtod on a bounded local copy.
 *
 * The INI reader walks the file once, line by line, and stops at the first
 * problem with "<file>:<line>: <key>: <what>". It keeps, per table entry, the
 * line that set it, to refuse a key given twice in one file (two values for
 * one key are almost always a merge mistake, and silently taking the last
 * would hide it). It does not support includes, line continuations, inline
 * comments after unquoted values (a '#' there is part of the value, because
 * passwords and paths may contain one) nor variable expansion.
 *
 * SECURITY: the file is trusted to the extent that it is the operator's, but
 * it is still parsed defensively: its size is capped at CFG_FILE_MAX, NUL
 * bytes are refused, and values of CFG_SECRET keys are never echoed into
 * error messages.
 */
#include "config.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_MSG_MAX 256     /* one error message without its "<file>:<line>: " prefix */
#define CFG_NAME_MAX 128    /* longest "section.key" */
#define CFG_ECHO_MAX 60     /* bytes of a bad value quoted back in a message */
#define CFG_MASK "********"

static void cfg_errf(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void cfg_errf(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errcap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

static void *cfg_field(void *dst, const cfg_key *k)
{
    return (char *)dst + k->offset;
}

static const void *cfg_cfield(const void *src, const cfg_key *k)
{
    return (const char *)src + k->offset;
}

static int cfg_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims spaces on both sides of the slice [*p, *p + *len). */
static void cfg_trim(const char **p, size_t *len)
{
    while (*len > 0 && cfg_is_space(**p)) {
        (*p)++;
        (*len)--;
    }
    while (*len > 0 && cfg_is_space((*p)[*len - 1]))
        (*len)--;
}

static const cfg_key *cfg_find_n(const cfg_key *tab, size_t n, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (strncmp(tab[i].name, name, len) == 0 && tab[i].name[len] == '\0')
            return &tab[i];
    }
    return NULL;
}

const cfg_key *cfg_find(const cfg_key *tab, size_t n, const char *name)
{
    if (name == NULL)
        return NULL;
    return cfg_find_n(tab, n, name, strlen(name));
}

/* ---- numbers and their text form ---------------------------------------- */

/* digits = 1*DIGIT; the value must fit in `limit`. Consumes only digits. */
static int cfg_digits(const char *p, size_t len, size_t *used, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    while (i < len && p[i] >= '0' && p[i] <= '9') {
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (limit - d) / 10)
            return CS_ERR_OVERFLOW;
        v = v * 10 + d;
        i++;
    }
    if (i == 0)
        return CS_ERR_MALFORMED;
    *used = i;
    *out = v;
    return CS_OK;
}

/* int = ["+" / "-"] 1*DIGIT, the whole slice. */
static int cfg_parse_int(const char *p, size_t len, int64_t *out)
{
    int neg = 0, rc;
    size_t used;
    uint64_t mag;

    if (len > 0 && (p[0] == '+' || p[0] == '-')) {
        neg = p[0] == '-';
        p++;
        len--;
    }
    rc = cfg_digits(p, len, &used, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
    if (rc != CS_OK)
        return rc;
    if (used != len)
        return CS_ERR_MALFORMED;
    *out = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return CS_OK;
}

typedef struct cfg_unit {
    const char *suffix;
    int64_t mult;
} cfg_unit;

/* Largest unit first: the printer picks the first one that divides evenly. */
static const cfg_unit cfg_duration_units[] = {
    {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}, {"", 1000}, {NULL, 0}};
static const cfg_unit cfg_size_units[] = {{"G", 1073741824},
                                          {"M", 1048576},
                                          {"k", 1024},
                                          {"K", 1024},
                                          {"", 1},
                                          {NULL, 0}};

/* number-with-unit = 1*DIGIT [suffix], the whole slice. */
static int cfg_parse_scaled(const char *p, size_t len, const cfg_unit *units, int64_t *out)
{
    size_t used, slen;
    uint64_t v;
    int rc = cfg_digits(p, len, &used, (uint64_t)INT64_MAX, &v);

    if (rc != CS_OK)
        return rc;
    slen = len - used;
    for (; units->suffix != NULL; units++) {
        if (strlen(units->suffix) == slen && memcmp(units->suffix, p + used, slen) == 0) {
            if (v > (uint64_t)(INT64_MAX / units->mult))
                return CS_ERR_OVERFLOW;
            *out = (int64_t)v * units->mult;
            return CS_OK;
        }
    }
    return CS_ERR_MALFORMED;
}

/* Text of v in the largest unit dividing it evenly (5400000 ms -> "90m");
 * `bare` follows a number no unit divides (and 0). */
static void cfg_fmt_scaled(char *buf, size_t cap, int64_t v, const cfg_unit *units,
                           const char *bare)
{
    for (; v != 0 && units->suffix != NULL; units++) {
        if (units->suffix[0] != '\0' && v % units->mult == 0) {
            snprintf(buf, cap, "%lld%s", (long long)(v / units->mult), units->suffix);
            return;
        }
    }
    snprintf(buf, cap, "%lld%s", (long long)v, bare);
}

static void cfg_fmt_duration(char *buf, size_t cap, int64_t ms)
{
    cfg_fmt_scaled(buf, cap, ms, cfg_duration_units, "s");
}

static void cfg_fmt_size(char *buf, size_t cap, int64_t bytes)
{
    cfg_fmt_scaled(buf, cap, bytes, cfg_size_units, "");
}

/* Shortest of %.15g / %.17g that reads back as the same double. */
static void cfg_fmt_double(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, cap, "%.17g", v);
}

static void cfg_fmt_int(char *buf, size_t cap, const cfg_key *k, int64_t v)
{
    if (k->type == CFG_DURATION)
        cfg_fmt_duration(buf, cap, v);
    else if (k->type == CFG_SIZE)
        cfg_fmt_size(buf, cap, v);
    else
        snprintf(buf, cap, "%lld", (long long)v);
}

static int cfg_parse_double(const char *p, size_t len, double *out)
{
    char tmp[64];
    char *end;
    double v;
    size_t i;

    if (len == 0 || len >= sizeof tmp)
        return CS_ERR_MALFORMED;
    for (i = 0; i < len; i++) {
        /* strtod also takes hex, "inf", "nan" and leading spaces: only plain decimals here */
        if (!((p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == 'e' || p[i] == 'E' ||
              p[i] == '+' || p[i] == '-'))
            return CS_ERR_MALFORMED;
    }
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    errno = 0;
    v = strtod(tmp, &end);
    if (end != tmp + len)
        return CS_ERR_MALFORMED;
    if (errno == ERANGE || !isfinite(v))
        return CS_ERR_OVERFLOW;
    *out = v;
    return CS_OK;
}

static int cfg_parse_bool(const char *p, size_t len, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    size_t i;

    for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strlen(yes[i]) == len && strncasecmp(yes[i], p, len) == 0) {
            *out = 1;
            return CS_OK;
        }
        if (strlen(no[i]) == len && strncasecmp(no[i], p, len) == 0) {
            *out = 0;
            return CS_OK;
        }
    }
    return CS_ERR_MALFORMED;
}

static int cfg_parse_enum(const cfg_key *k, const char *p, size_t len, int *out)
{
    int i;

    for (i = 0; k->enum_names[i] != NULL; i++) {
        if (strlen(k->enum_names[i]) == len && strncasecmp(k->enum_names[i], p, len) == 0) {
            *out = i;
            return CS_OK;
        }
    }
    return CS_ERR_MALFORMED;
}

/* "a, b, c" into buf. */
static void cfg_fmt_enum_names(char *buf, size_t cap, const cfg_key *k, const char *sep)
{
    size_t used = 0;
    int i;

    buf[0] = '\0';
    for (i = 0; k->enum_names[i] != NULL && used < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i > 0 ? sep : "", k->enum_names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

static const char *cfg_type_word(cfg_type t)
{
    switch (t) {
    case CFG_STRING:
        return "string";
    case CFG_INT:
        return "integer";
    case CFG_BOOL:
        return "boolean";
    case CFG_DOUBLE:
        return "number";
    case CFG_ENUM:
        return "enum";
    case CFG_DURATION:
        return "duration";
    case CFG_SIZE:
        return "size";
    }
    return "?";
}

/* What a value of this type looks like, for "... is not a <what>" messages. */
static const char *cfg_type_hint(cfg_type t)
{
    switch (t) {
    case CFG_INT:
        return "an integer";
    case CFG_BOOL:
        return "a boolean (true/false, yes/no, on/off, 1/0)";
    case CFG_DOUBLE:
        return "a number";
    case CFG_DURATION:
        return "a duration (whole number with optional suffix ms, s, m, h, d)";
    case CFG_SIZE:
        return "a size (whole number of bytes with optional suffix k, M, G)";
    default:
        return "a valid value";
    }
}

static int cfg_int_bounds(const cfg_key *k, int64_t v, char *msg, size_t cap)
{
    char a[48], b[48];

    if (v < k->imin) {
        cfg_fmt_int(a, sizeof a, k, v);
        cfg_fmt_int(b, sizeof b, k, k->imin);
        cfg_errf(msg, cap, "%s is below the minimum %s", a, b);
        return CS_ERR_CONFIG;
    }
    if (v > k->imax) {
        cfg_fmt_int(a, sizeof a, k, v);
        cfg_fmt_int(b, sizeof b, k, k->imax);
        cfg_errf(msg, cap, "%s is above the maximum %s", a, b);
        return CS_ERR_CONFIG;
    }
    return CS_OK;
}

/*
 * Parses the slice for key k and stores it in dst. On error writes "<what>"
 * (without the key) into msg and returns CS_ERR_CONFIG, or CS_ERR_NOMEM.
 */
static int cfg_parse_value(const cfg_key *k, const char *p, size_t len, void *dst, char *msg,
                           size_t cap)
{
    int secret = (k->flags & CFG_SECRET) != 0;
    int echo = len > CFG_ECHO_MAX ? CFG_ECHO_MAX : (int)len;
    const char *ell = len > CFG_ECHO_MAX ? "..." : "";
    int64_t iv = 0;
    double dv = 0;
    int bv = 0, rc;
    char a[48], b[48], names[CFG_MSG_MAX];

    if (memchr(p, '\0', len) != NULL) {
        cfg_errf(msg, cap, "the value contains a NUL byte");
        return CS_ERR_CONFIG;
    }
    switch (k->type) {
    case CFG_STRING: {
        char *s = malloc(len + 1);
        char **slot = cfg_field(dst, k);
        if (s == NULL) {
            cfg_errf(msg, cap, "out of memory");
            return CS_ERR_NOMEM;
        }
        memcpy(s, p, len);
        s[len] = '\0';
        free(*slot);
        *slot = s;
        return CS_OK;
    }
    case CFG_INT:
    case CFG_DURATION:
    case CFG_SIZE:
        if (k->type == CFG_INT)
            rc = cfg_parse_int(p, len, &iv);
        else
            rc = cfg_parse_scaled(p, len, k->type == CFG_SIZE ? cfg_size_units : cfg_duration_units,
                                  &iv);
        break;
    case CFG_BOOL:
        rc = cfg_parse_bool(p, len, &bv);
        break;
    case CFG_DOUBLE:
        rc = cfg_parse_double(p, len, &dv);
        break;
    case CFG_ENUM:
        rc = cfg_parse_enum(k, p, len, &bv);
        if (rc != CS_OK) {
            cfg_fmt_enum_names(names, sizeof names, k, ", ");
            if (secret)
                cfg_errf(msg, cap, "the value is not one of: %s", names);
            else
                cfg_errf(msg, cap, "\"%.*s%s\" is not one of: %s", echo, p, ell, names);
            return CS_ERR_CONFIG;
        }
        break;
    default:
        cfg_errf(msg, cap, "key has an unknown type %d", (int)k->type);
        return CS_ERR_CONFIG;
    }
    if (rc == CS_ERR_OVERFLOW) {
        if (secret)
            cfg_errf(msg, cap, "the value is out of range");
        else
            cfg_errf(msg, cap, "\"%.*s%s\" is out of range", echo, p, ell);
        return CS_ERR_CONFIG;
    }
    if (rc != CS_OK) {
        if (secret)
            cfg_errf(msg, cap, "the value is not %s", cfg_type_hint(k->type));
        else
            cfg_errf(msg, cap, "\"%.*s%s\" is not %s", echo, p, ell, cfg_type_hint(k->type));
        return CS_ERR_CONFIG;
    }
    switch (k->type) {
    case CFG_INT:
    case CFG_DURATION:
    case CFG_SIZE:
        if (cfg_int_bounds(k, iv, msg, cap) != CS_OK)
            return CS_ERR_CONFIG;
        *(int64_t *)cfg_field(dst, k) = iv;
        break;
    case CFG_DOUBLE:
        if (dv < k->dmin || dv > k->dmax) {
            cfg_fmt_double(a, sizeof a, dv);
            cfg_fmt_double(b, sizeof b, dv < k->dmin ? k->dmin : k->dmax);
            cfg_errf(msg, cap, "%s is %s %s", a,
                     dv < k->dmin ? "below the minimum" : "above the maximum", b);
            return CS_ERR_CONFIG;
        }
        *(double *)cfg_field(dst, k) = dv;
        break;
    default: /* CFG_BOOL, CFG_ENUM */
        *(int *)cfg_field(dst, k) = bv;
        break;
    }
    return CS_OK;
}

/* ---- table-level operations ---------------------------------------------- */

/* A table entry that cannot work is a programming error; say which. */
static int cfg_check_key(const cfg_key *k, char *err, size_t errcap)
{
    const char *dot = k->name != NULL ? strrchr(k->name, '.') : NULL;

    if (k->name == NULL || dot == NULL || dot == k->name || dot[1] == '\0' ||
        strlen(k->name) >= CFG_NAME_MAX) {
        cfg_errf(err, errcap, "%s: key name must be \"section.key\"",
                 k->name != NULL ? k->name : "(null)");
        return CS_ERR_CONFIG;
    }
    if (k->def == NULL && k->type != CFG_STRING) {
        cfg_errf(err, errcap, "%s: default: only string keys may have no default", k->name);
        return CS_ERR_CONFIG;
    }
    if (k->type == CFG_ENUM && (k->enum_names == NULL || k->enum_names[0] == NULL)) {
        cfg_errf(err, errcap, "%s: default: enum without names", k->name);
        return CS_ERR_CONFIG;
    }
    if ((k->type == CFG_INT || k->type == CFG_DURATION || k->type == CFG_SIZE) &&
        k->imin > k->imax) {
        cfg_errf(err, errcap, "%s: default: minimum above maximum", k->name);
        return CS_ERR_CONFIG;
    }
    if (k->type == CFG_DOUBLE && !(k->dmin <= k->dmax)) {
        cfg_errf(err, errcap, "%s: default: minimum above maximum", k->name);
        return CS_ERR_CONFIG;
    }
    return CS_OK;
}

int cfg_defaults(const cfg_key *tab, size_t n, void *dst, char *err, size_t errcap)
{
    char msg[CFG_MSG_MAX];
    size_t i;
    int rc;

    if (tab == NULL || dst == NULL) {
        cfg_errf(err, errcap, "cfg_defaults: no table or destination");
        return CS_ERR_INVAL;
    }
    for (i = 0; i < n; i++) {
        const cfg_key *k = &tab[i];
        rc = cfg_check_key(k, err, errcap);
        if (rc != CS_OK)
            return rc;
        if (k->def == NULL) {
            char **slot = cfg_field(dst, k);
            free(*slot);
            *slot = NULL;
            continue;
        }
        rc = cfg_parse_value(k, k->def, strlen(k->def), dst, msg, sizeof msg);
        if (rc != CS_OK) {
            cfg_errf(err, errcap, "%s: default: %s", k->name, msg);
            return rc;
        }
    }
    return CS_OK;
}

int cfg_set_value(const cfg_key *tab, size_t n, void *dst, const char *name, const char *value,
                  char *err, size_t errcap)
{
    const cfg_key *k = cfg_find(tab, n, name);
    char msg[CFG_MSG_MAX];
    int rc;

    if (name == NULL || value == NULL || dst == NULL) {
        cfg_errf(err, errcap, "cfg_set_value: missing argument");
        return CS_ERR_INVAL;
    }
    if (k == NULL) {
        cfg_errf(err, errcap, "%s: unknown key", name);
        return CS_ERR_CONFIG;
    }
    rc = cfg_parse_value(k, value, strlen(value), dst, msg, sizeof msg);
    if (rc != CS_OK)
        cfg_errf(err, errcap, "%s: %s", k->name, msg);
    return rc;
}

int cfg_set(const cfg_key *tab, size_t n, void *dst, const char *assignment, char *err,
            size_t errcap)
{
    const char *eq, *key, *val;
    size_t klen, vlen;
    const cfg_key *k;
    char msg[CFG_MSG_MAX];
    int rc;

    if (assignment == NULL || dst == NULL) {
        cfg_errf(err, errcap, "cfg_set: missing argument");
        return CS_ERR_INVAL;
    }
    eq = strchr(assignment, '=');
    key = assignment;
    klen = eq != NULL ? (size_t)(eq - assignment) : strlen(assignment);
    cfg_trim(&key, &klen);
    if (eq == NULL || klen == 0) {
        cfg_errf(err, errcap, "\"%.*s\": expected KEY=VALUE", CFG_ECHO_MAX, assignment);
        return CS_ERR_CONFIG;
    }
    k = cfg_find_n(tab, n, key, klen);
    if (k == NULL) {
        cfg_errf(err, errcap, "%.*s: unknown key", (int)(klen > CFG_NAME_MAX ? CFG_NAME_MAX : klen),
                 key);
        return CS_ERR_CONFIG;
    }
    val = eq + 1;
    vlen = strlen(val);
    cfg_trim(&val, &vlen);
    rc = cfg_parse_value(k, val, vlen, dst, msg, sizeof msg);
    if (rc != CS_OK)
        cfg_errf(err, errcap, "%s: %s", k->name, msg);
    return rc;
}

void cfg_free(const cfg_key *tab, size_t n, void *dst)
{
    size_t i;

    if (tab == NULL || dst == NULL)
        return;
    for (i = 0; i < n; i++) {
        if (tab[i].type == CFG_STRING) {
            char **slot = cfg_field(dst, &tab[i]);
            free(*slot);
            *slot = NULL;
        }
    }
}

/* ---- the INI reader -------------------------------------------------------- */

static int cfg_is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

static int cfg_is_name(const char *p, size_t len)
{
    size_t i;

    if (len == 0)
        return 0;
    for (i = 0; i < len; i++) {
        if (!cfg_is_name_char(p[i]))
            return 0;
    }
    return 1;
}

/* Only spaces, or spaces then a comment, in the slice. */
static int cfg_rest_is_blank(const char *p, size_t len)
{
    cfg_trim(&p, &len);
    return len == 0 || p[0] == '#' || p[0] == ';';
}

/*
 * quoted = DQUOTE *( qchar / "\" DQUOTE / "\\" ) DQUOTE [ comment ]
 * Unescapes the slice starting at the opening quote into a new buffer
 * (caller frees). On error returns NULL with *why set (NULL: out of memory).
 */
static char *cfg_unquote(const char *p, size_t len, size_t *outlen, const char **why)
{
    char *out = malloc(len);
    size_t i = 1, o = 0;

    if (out == NULL) {
        *why = NULL; /* out of memory */
        return NULL;
    }
    while (i < len && p[i] != '"') {
        if (p[i] == '\\') {
            if (i + 1 >= len || (p[i + 1] != '"' && p[i + 1] != '\\')) {
                *why = "bad escape in quoted value (only \\\" and \\\\ are allowed)";
                free(out);
                return NULL;
            }
            i++;
        }
        out[o++] = p[i++];
    }
    if (i >= len) {
        *why = "missing closing quote";
        free(out);
        return NULL;
    }
    if (!cfg_rest_is_blank(p + i + 1, len - i - 1)) {
        *why = "text after the closing quote";
        free(out);
        return NULL;
    }
    *outlen = o;
    return out;
}

typedef struct cfg_reader {
    const cfg_key *tab;
    size_t n;
    void *dst;
    const char *origin;
    unsigned *seen; /* per table entry: the line that set it, 0 = not yet */
    char section[CFG_NAME_MAX];
    char *err;
    size_t errcap;
} cfg_reader;

static int cfg_section_line(cfg_reader *r, unsigned lineno, const char *p, size_t len)
{
    const char *close = memchr(p, ']', len);
    const char *name = p + 1;
    size_t nlen;

    if (close == NULL) {
        cfg_errf(r->err, r->errcap, "%s:%u: syntax error: missing ']'", r->origin, lineno);
        return CS_ERR_CONFIG;
    }
    nlen = (size_t)(close - name);
    cfg_trim(&name, &nlen);
    if (!cfg_is_name(name, nlen) || nlen >= CFG_NAME_MAX - 1) {
        cfg_errf(r->err, r->errcap, "%s:%u: syntax error: bad section name", r->origin, lineno);
        return CS_ERR_CONFIG;
    }
    if (!cfg_rest_is_blank(close + 1, len - (size_t)(close + 1 - p))) {
        cfg_errf(r->err, r->errcap, "%s:%u: syntax error: text after ']'", r->origin, lineno);
        return CS_ERR_CONFIG;
    }
    memcpy(r->section, name, nlen);
    r->section[nlen] = '\0';
    return CS_OK;
}

static int cfg_key_line(cfg_reader *r, unsigned lineno, const char *p, size_t len)
{
    const char *eq = memchr(p, '=', len);
    const char *key = p, *val;
    size_t klen, vlen, flen, qlen;
    char full[CFG_NAME_MAX];
    const cfg_key *k;
    char msg[CFG_MSG_MAX];
    char *unq = NULL;
    const char *why = NULL;
    int rc;

    if (eq == NULL) {
        cfg_errf(r->err, r->errcap, "%s:%u: syntax error: expected \"key = value\" or \"[section]\"",
                 r->origin, lineno);
        return CS_ERR_CONFIG;
    }
    klen = (size_t)(eq - p);
    cfg_trim(&key, &klen);
    if (!cfg_is_name(key, klen)) {
        cfg_errf(r->err, r->errcap, "%s:%u: syntax error: bad key name", r->origin, lineno);
        return CS_ERR_CONFIG;
    }
    flen = r->section[0] != '\0' ? strlen(r->section) + 1 + klen : klen;
    if (flen >= sizeof full) {
        cfg_errf(r->err, r->errcap, "%s:%u: syntax error: key name too long", r->origin, lineno);
        return CS_ERR_CONFIG;
    }
    full[0] = '\0';
    if (r->section[0] != '\0') {
        size_t sl = strlen(r->section);
        memcpy(full, r->section, sl);
        full[sl] = '.';
        full[sl + 1] = '\0';
    }
    memcpy(full + strlen(full), key, klen);
    full[flen] = '\0';
    k = cfg_find(r->tab, r->n, full);
    if (k == NULL && cfg_key_is_callscope(full)) {
        return CS_OK; /* another callscope program's key: the file is shared */
    }
    if (k == NULL) {
        cfg_errf(r->err, r->errcap, "%s:%u: %s: unknown key", r->origin, lineno, full);
        return CS_ERR_CONFIG;
    }
    if (r->seen[k - r->tab] != 0) {
        cfg_errf(r->err, r->errcap, "%s:%u: %s: set twice in this file (first on line %u)",
                 r->origin, lineno, full, r->seen[k - r->tab]);
        return CS_ERR_CONFIG;
    }
    val = eq + 1;
    vlen = len - (size_t)(val - p);
    cfg_trim(&val, &vlen);
    if (vlen > 0 && val[0] == '"') {
        unq = cfg_unquote(val, vlen, &qlen, &why);
        if (unq == NULL) {
            cfg_errf(r->err, r->errcap, "%s:%u: %s: %s", r->origin, lineno, full,
                     why != NULL ? why : "out of memory");
            return why != NULL ? CS_ERR_CONFIG : CS_ERR_NOMEM;
        }
        val = unq;
        vlen = qlen;
    }
    rc = cfg_parse_value(k, val, vlen, r->dst, msg, sizeof msg);
    free(unq);
    if (rc != CS_OK) {
        cfg_errf(r->err, r->errcap, "%s:%u: %s: %s", r->origin, lineno, full, msg);
        return rc;
    }
    r->seen[k - r->tab] = lineno;
    return CS_OK;
}

int cfg_load_text(const cfg_key *tab, size_t n, void *dst, const char *origin, const char *text,
                  size_t len, char *err, size_t errcap)
{
    cfg_reader r = {.tab = tab, .n = n, .dst = dst, .origin = origin, .err = err, .errcap = errcap};
    size_t pos = 0;
    unsigned lineno = 0;
    int rc = CS_OK;

    if (tab == NULL || dst == NULL || (text == NULL && len > 0)) {
        cfg_errf(err, errcap, "cfg_load_text: missing argument");
        return CS_ERR_INVAL;
    }
    if (r.origin == NULL)
        r.origin = "(config)";
    r.seen = calloc(n > 0 ? n : 1, sizeof *r.seen);
    if (r.seen == NULL) {
        cfg_errf(err, errcap, "%s: out of memory", r.origin);
        return CS_ERR_NOMEM;
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; /* a UTF-8 byte order mark some editors write */
    while (pos < len && rc == CS_OK) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;

        pos += llen + (nl != NULL);
        lineno++;
        if (memchr(line, '\0', llen) != NULL) {
            cfg_errf(err, errcap, "%s:%u: syntax error: NUL byte", r.origin, lineno);
            rc = CS_ERR_CONFIG;
            break;
        }
        cfg_trim(&line, &llen);
        if (llen == 0 || line[0] == '#' || line[0] == ';')
            continue;
        if (line[0] == '[')
            rc = cfg_section_line(&r, lineno, line, llen);
        else
            rc = cfg_key_line(&r, lineno, line, llen);
    }
    free(r.seen);
    return rc;
}

int cfg_load_file(const cfg_key *tab, size_t n, void *dst, const char *path, char *err,
                  size_t errcap)
{
    struct stat st;
    char *buf;
    size_t got = 0;
    int fd, rc;

    if (path == NULL) {
        cfg_errf(err, errcap, "cfg_load_file: no path");
        return CS_ERR_INVAL;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        cfg_errf(err, errcap, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? CS_ERR_NOTFOUND : CS_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cfg_errf(err, errcap, "%s: not a regular file", path);
        close(fd);
        return CS_ERR_IO;
    }
    if (st.st_size > CFG_FILE_MAX) {
        cfg_errf(err, errcap, "%s: larger than %d bytes", path, CFG_FILE_MAX);
        close(fd);
        return CS_ERR_LIMIT;
    }
    /* one byte more than allowed, to notice a file that grew since fstat */
    buf = malloc(CFG_FILE_MAX + 1);
    if (buf == NULL) {
        close(fd);
        cfg_errf(err, errcap, "%s: out of memory", path);
        return CS_ERR_NOMEM;
    }
    for (;;) {
        ssize_t r = read(fd, buf + got, CFG_FILE_MAX + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cfg_errf(err, errcap, "%s: read error: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return CS_ERR_IO;
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (got > CFG_FILE_MAX) {
            cfg_errf(err, errcap, "%s: larger than %d bytes", path, CFG_FILE_MAX);
            free(buf);
            close(fd);
            return CS_ERR_LIMIT;
        }
    }
    close(fd);
    rc = cfg_load_text(tab, n, dst, path, buf, got, err, errcap);
    free(buf);
    return rc;
}

/* ---- output ---------------------------------------------------------------- */

typedef struct cfg_out {
    char *buf;
    size_t cap, len; /* len counts every byte wanted, also past cap */
} cfg_out;

static void cfg_put(cfg_out *o, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++, o->len++) {
        if (o->len + 1 < o->cap)
            o->buf[o->len] = s[i];
    }
}

/* Copies the value starting at *i (keyword form: quoted or up to a space;
 * URI parameter: up to '&') as CFG_MASK, advancing *i past it. */
static void cfg_mask_value(cfg_out *o, const char *s, size_t *i, int uri_param)
{
    size_t j = *i;

    if (!uri_param && s[j] == '\'') {
        j++;
        while (s[j] != '\0' && s[j] != '\'') {
            if (s[j] == '\\' && s[j + 1] != '\0')
                j++;
            j++;
        }
        if (s[j] == '\'')
            j++;
    } else {
        while (s[j] != '\0' && s[j] != '&' && !(cfg_is_space(s[j]) || s[j] == '\n'))
            j++;
    }
    cfg_put(o, CFG_MASK, strlen(CFG_MASK));
    *i = j;
}

size_t cfg_mask_conninfo(const char *s, char *out, size_t cap)
{
    cfg_out o = {out, cap, 0};
    size_t i = 0, j;
    int uri = 0;

    if (s == NULL)
        s = "";
    if (strncasecmp(s, "postgresql://", 13) == 0 || strncasecmp(s, "postgres://", 11) == 0) {
        const char *auth = strstr(s, "://") + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;

        uri = 1;
        for (j = 0; j < alen; j++) {
            if (auth[j] == '@')
                at = auth + j;
        }
        if (at != NULL) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            if (colon != NULL) {
                cfg_put(&o, s, (size_t)(colon + 1 - s));
                cfg_put(&o, CFG_MASK, strlen(CFG_MASK));
                i = (size_t)(at - s);
            }
        }
    }
    while (s[i] != '\0') {
        char prev = i > 0 ? s[i - 1] : ' ';
        int boundary = uri ? (prev == '?' || prev == '&') : (cfg_is_space(prev) || prev == '\n');
        if (boundary && strncasecmp(s + i, "password", 8) == 0) {
            j = i + 8;
            while (!uri && cfg_is_space(s[j]))
                j++;
            if (s[j] == '=') {
                j++;
                while (!uri && cfg_is_space(s[j]))
                    j++;
                cfg_put(&o, s + i, j - i);
                cfg_mask_value(&o, s, &j, uri);
                i = j;
                continue;
            }
        }
        cfg_put(&o, s + i, 1);
        i++;
    }
    if (cap > 0)
        out[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len;
}

/* Writes a string value so that cfg_load_text reads it back unchanged. */
static void cfg_print_string(const char *s, FILE *out)
{
    size_t len = strlen(s);
    int quote = len > 0 && (cfg_is_space(s[0]) || cfg_is_space(s[len - 1]) || s[0] == '"');

    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void cfg_print(const cfg_key *tab, size_t n, const void *src, FILE *out)
{
    char prev[CFG_NAME_MAX] = "";
    char num[64];
    size_t i;

    for (i = 0; i < n; i++) {
        const cfg_key *k = &tab[i];
        const char *dot = strrchr(k->name, '.');
        size_t slen = (size_t)(dot - k->name);

        if (strlen(prev) != slen || strncmp(prev, k->name, slen) != 0) {
            fprintf(out, "%s[%.*s]\n", i > 0 ? "\n" : "", (int)slen, k->name);
            snprintf(prev, sizeof prev, "%.*s", (int)slen, k->name);
        }
        if (k->type == CFG_STRING) {
            const char *s = *(char *const *)cfg_cfield(src, k);
            if (s == NULL) {
                fprintf(out, "# %s = (not set)\n", dot + 1);
            } else if (k->flags & CFG_SECRET) {
                fprintf(out, "%s = %s\n", dot + 1, CFG_MASK);
            } else if (k->flags & CFG_CONNINFO) {
                size_t need = cfg_mask_conninfo(s, NULL, 0);
                char *m = malloc(need + 1);
                fprintf(out, "%s = ", dot + 1);
                if (m != NULL) {
                    cfg_mask_conninfo(s, m, need + 1);
                    cfg_print_string(m, out);
                    free(m);
                } else {
                    fputs(CFG_MASK, out); /* never the unmasked text */
                }
                fputc('\n', out);
            } else {
                fprintf(out, "%s = ", dot + 1);
                cfg_print_string(s, out);
                fputc('\n', out);
            }
            continue;
        }
        if (k->flags & CFG_SECRET) {
            fprintf(out, "%s = %s\n", dot + 1, CFG_MASK);
            continue;
        }
        switch (k->type) {
        case CFG_BOOL:
            fprintf(out, "%s = %s\n", dot + 1, *(const int *)cfg_cfield(src, k) ? "yes" : "no");
            break;
        case CFG_ENUM: {
            int v = *(const int *)cfg_cfield(src, k), m = 0;
            while (k->enum_names[m] != NULL)
                m++;
            fprintf(out, "%s = %s\n", dot + 1, v >= 0 && v < m ? k->enum_names[v] : "?");
            break;
        }
        case CFG_DOUBLE:
            cfg_fmt_double(num, sizeof num, *(const double *)cfg_cfield(src, k));
            fprintf(out, "%s = %s\n", dot + 1, num);
            break;
        default:
            cfg_fmt_int(num, sizeof num, k, *(const int64_t *)cfg_cfield(src, k));
            fprintf(out, "%s = %s\n", dot + 1, num);
            break;
        }
    }
}

/* "integer in [1, 100000]" / "integer >= 1" / "integer" */
static void cfg_fmt_bounds(char *buf, size_t cap, const cfg_key *k)
{
    char a[48], b[48];
    int lo, hi;

    if (k->type == CFG_DOUBLE) {
        lo = k->dmin > -DBL_MAX;
        hi = k->dmax < DBL_MAX;
        cfg_fmt_double(a, sizeof a, k->dmin);
        cfg_fmt_double(b, sizeof b, k->dmax);
    } else if (k->type == CFG_INT || k->type == CFG_DURATION || k->type == CFG_SIZE) {
        lo = k->imin > INT64_MIN;
        hi = k->imax < INT64_MAX;
        cfg_fmt_int(a, sizeof a, k, k->imin);
        cfg_fmt_int(b, sizeof b, k, k->imax);
    } else {
        buf[0] = '\0';
        return;
    }
    if (lo && hi)
        snprintf(buf, cap, " in [%s, %s]", a, b);
    else if (lo)
        snprintf(buf, cap, " >= %s", a);
    else if (hi)
        snprintf(buf, cap, " <= %s", b);
    else
        buf[0] = '\0';
}

void cfg_help(const cfg_key *tab, size_t n, FILE *out)
{
    char bounds[128], names[CFG_MSG_MAX];
    size_t i;

    for (i = 0; i < n; i++) {
        const cfg_key *k = &tab[i];

        fprintf(out, "%s\n    ", k->name);
        if (k->type == CFG_ENUM) {
            cfg_fmt_enum_names(names, sizeof names, k, " | ");
            fprintf(out, "one of %s", names);
        } else {
            cfg_fmt_bounds(bounds, sizeof bounds, k);
            fprintf(out, "%s%s", cfg_type_word(k->type), bounds);
        }
        if (k->flags & (CFG_SECRET | CFG_CONNINFO))
            fprintf(out, ", %s", k->flags & CFG_SECRET ? "secret" : "password masked");
        if (k->def == NULL)
            fprintf(out, ", not set by default\n");
        else if (k->type == CFG_STRING)
            fprintf(out, ", default \"%s\"\n", k->def);
        else
            fprintf(out, ", default %s\n", k->def);
        fprintf(out, "    %s\n", k->help != NULL ? k->help : "");
    }
}
