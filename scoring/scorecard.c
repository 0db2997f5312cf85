/*
 * scorecard.c — scorecard files: strict parsing, canonical JSON, evaluation.
 *
 * Design: the file is parsed by common/jsonp (strict RFC 8259, duplicate JSON
 * members already rejected) into a tree, and this file walks the tree once,
 * checking every member of every object against a fixed list of fields and
 * copying what it keeps into a flat scorecard (items of all sections in one
 * array; a section is a range of it). Every error names the JSON path of the
 * offending value, so a supervisor editing the file can find it. The
 * canonical text is written with common/json (shortest exact doubles), which is
 * what makes parse(canonical(card)) canonicalise to the same bytes.
 *
 * Evaluation indexes the call's metrics by sc_metric once, then walks the items
 * in order; phrase items look at the earliest hit of their phrase (a linear
 * scan of the hits per item: cards have tens of items, calls tens of hits).
 * Points are summed in integer hundredths (weights are multiples of 0.01), so
 * the score is one correctly rounded division.
 *
 * SECURITY: reads a configuration file that may be hostile or simply wrong:
 * input length capped (SC_MAX_FILE_BYTES), nesting capped (jsonp max_depth),
 * counts and string lengths capped, every string checked for control bytes,
 * values quoted in messages cut to a few dozen bytes and escaped.
 * BUGS: a metric threshold compared with "==" is an exact double comparison.
 */
#include "scorecard.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "jsonp.h"

#define SC_MAX_DEPTH         16 /* the format nests 6 deep; deeper is not a card */
#define SC_QUOTE_MAX         40 /* bytes of a value quoted in a message */
#define SC_CANON_MAX         (8u * 1024 * 1024)
#define SC_EVIDENCE_MAX      4096
#define SC_PATH_MAX          96
#define SC_KIND_EVIDENCE_MAX 32 /* bytes of a hit's kind copied into evidence */

static const char *const kind_names[] = {"metric", "phrase_present", "phrase_absent"};
static const char *const op_names[] = {"<=", "<", ">=", ">", "=="};
static const char *const metric_names[SC_M__COUNT] = {
    "answer_seconds",   "ring_seconds",     "talk_seconds",
    "hold_seconds",     "hold_count",       "transfers",
    "handle_seconds",   "dead_air_seconds", "dead_air_longest_seconds",
    "overtalk_seconds", "agent_talk_ratio", "mos",
    "loss_pct",         "jitter_ms",
};
static const char *const outcome_names[SC_OUT_COUNT] = {"answered", "abandoned", "busy",
                                                        "no_answer", "failed"};
static const char *const verdict_names[] = {"na", "pass", "fail"};

const char *sc_kind_name(sc_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

const char *sc_op_name(sc_op op)
{
    return (unsigned)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "?";
}

const char *sc_metric_name(sc_metric m)
{
    return (unsigned)m < SC_M__COUNT ? metric_names[m] : "?";
}

const char *sc_verdict_name(sc_verdict v)
{
    return (unsigned)v < sizeof verdict_names / sizeof verdict_names[0] ? verdict_names[v] : "?";
}

static int name_eq(const char *a, size_t alen, const char *b)
{
    size_t bl = strlen(b);
    return alen == bl && memcmp(a, b, bl) == 0;
}

int sc_metric_from_name(const char *name, size_t len)
{
    if (!name)
        return -1;
    for (int i = 0; i < SC_M__COUNT; i++) {
        if (name_eq(name, len, metric_names[i]))
            return i;
    }
    return -1;
}

unsigned sc_outcome_from_name(const char *name, size_t len)
{
    if (!name)
        return 0;
    for (unsigned i = 0; i < SC_OUT_COUNT; i++) {
        if (name_eq(name, len, outcome_names[i]))
            return 1u << i;
    }
    return 0;
}

/* ---- error messages ---- */

typedef struct perr {
    char *buf;
    size_t cap;
} perr;

/* Writes "<path>[.<field>]: <message>" (or just the message for an empty
 * path) and returns code. */
__attribute__((format(printf, 5, 6))) static int bad(perr *e, int code, const char *path,
                                                     const char *field, const char *fmt, ...)
{
    if (!e->buf || e->cap == 0)
        return code;
    int n = 0;
    if (path[0] && field)
        n = snprintf(e->buf, e->cap, "%s.%s: ", path, field);
    else if (path[0] || field)
        n = snprintf(e->buf, e->cap, "%s: ", path[0] ? path : field);
    if (n < 0)
        n = 0;
    if ((size_t)n < e->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->buf + n, e->cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* 's' quoted for a message: at most SC_QUOTE_MAX input bytes, anything but
 * printable ASCII (and the quote and backslash) as \xNN, "..." when cut. */
static const char *quote(char *buf, size_t cap, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    buf[o++] = '\'';
    size_t i;
    for (i = 0; i < len && i < SC_QUOTE_MAX && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    if (i < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}
#define QBUF (SC_QUOTE_MAX * 4 + 16)

static const char *type_name(const jsonp_val *v)
{
    return jsonp_type_name(jsonp_type_of(v));
}

/* ---- small checked readers ---- */

static char *dupn(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* A string of 1..max bytes without control bytes (C0 and DEL). */
static int read_text(perr *e, const jsonp_val *v, const char *path, const char *field, size_t max,
                     const char **s, size_t *len)
{
    if (!v)
        return bad(e, CS_ERR_MALFORMED, path, field, "missing");
    if (jsonp_type_of(v) != JSONP_STRING)
        return bad(e, CS_ERR_MALFORMED, path, field, "expected a string, got %s", type_name(v));
    *s = jsonp_str(v, len);
    if (*len == 0)
        return bad(e, CS_ERR_MALFORMED, path, field, "empty string");
    if (*len > max)
        return bad(e, CS_ERR_MALFORMED, path, field, "longer than %zu bytes", max);
    for (size_t i = 0; i < *len; i++) {
        unsigned char c = (unsigned char)(*s)[i];
        if (c < 0x20 || c == 0x7f)
            return bad(e, CS_ERR_MALFORMED, path, field, "control byte 0x%02x at byte %zu", c, i);
    }
    return CS_OK;
}

/* A name of 1..max bytes from [a-z0-9_] (dash too when dash). */
static int read_ident(perr *e, const jsonp_val *v, const char *path, const char *field, size_t max,
                      int dash, const char **s, size_t *len)
{
    if (!v)
        return bad(e, CS_ERR_MALFORMED, path, field, "missing");
    if (jsonp_type_of(v) != JSONP_STRING)
        return bad(e, CS_ERR_MALFORMED, path, field, "expected a string, got %s", type_name(v));
    *s = jsonp_str(v, len);
    int ok = *len >= 1 && *len <= max;
    for (size_t i = 0; ok && i < *len; i++) {
        char c = (*s)[i];
        ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (dash && c == '-');
    }
    if (!ok) {
        char q[QBUF];
        return bad(e, CS_ERR_MALFORMED, path, field, "%s is not [a-z0-9_%s]{1,%zu}",
                   quote(q, sizeof q, *s, *len), dash ? "-" : "", max);
    }
    return CS_OK;
}

static int read_number(perr *e, const jsonp_val *v, const char *path, const char *field,
                       double *out)
{
    if (!v)
        return bad(e, CS_ERR_MALFORMED, path, field, "missing");
    if (jsonp_type_of(v) != JSONP_NUMBER || jsonp_double(v, out) != CS_OK)
        return bad(e, CS_ERR_MALFORMED, path, field, "expected a number, got %s", type_name(v));
    *out += 0.0; /* -0 reads as 0: one canonical zero */
    return CS_OK;
}

/* Checks that every member of obj is one of the names in fields[]. */
static int check_fields(perr *e, const jsonp_val *obj, const char *path, const char *const *fields,
                        size_t n, const char *expected)
{
    for (size_t i = 0; i < jsonp_len(obj); i++) {
        size_t kl;
        const char *k = jsonp_key(obj, i, &kl);
        size_t j;
        for (j = 0; j < n; j++) {
            if (name_eq(k, kl, fields[j]))
                break;
        }
        if (j == n) {
            char q[QBUF];
            return bad(e, CS_ERR_MALFORMED, path, NULL, "unknown field %s (expected %s)",
                       quote(q, sizeof q, k, kl), expected);
        }
    }
    return CS_OK;
}

/* ---- parsing ---- */

static const char *const card_fields[] = {"name", "pass_score", "sections"};
static const char *const section_fields[] = {"name", "items"};
static const char *const item_fields[] = {"key",      "label",      "kind",    "weight",
                                          "critical", "applies_to", "metric",  "op",
                                          "value",    "phrase",     "within_s"};
static const char *const metric_only[] = {"metric", "op", "value"};
static const char *const phrase_only[] = {"phrase", "within_s"};

static int parse_applies_to(perr *e, const jsonp_val *v, const char *ip, unsigned *out)
{
    if (!v) {
        *out = SC_OUT_ANSWERED;
        return CS_OK;
    }
    if (jsonp_type_of(v) != JSONP_ARRAY)
        return bad(e, CS_ERR_MALFORMED, ip, "applies_to", "expected an array of outcomes, got %s",
                   type_name(v));
    if (jsonp_len(v) == 0)
        return bad(e, CS_ERR_MALFORMED, ip, "applies_to",
                   "empty (an item applies to at least one outcome)");
    unsigned bits = 0;
    for (size_t i = 0; i < jsonp_len(v); i++) {
        char f[48];
        snprintf(f, sizeof f, "applies_to[%zu]", i);
        const jsonp_val *o = jsonp_at(v, i);
        if (jsonp_type_of(o) != JSONP_STRING)
            return bad(e, CS_ERR_MALFORMED, ip, f, "expected a string, got %s", type_name(o));
        size_t ol;
        const char *os = jsonp_str(o, &ol);
        unsigned b = sc_outcome_from_name(os, ol);
        char q[QBUF];
        if (!b)
            return bad(e, CS_ERR_MALFORMED, ip, f,
                       "%s is not one of answered, abandoned, busy, no_answer, failed",
                       quote(q, sizeof q, os, ol));
        if (bits & b)
            return bad(e, CS_ERR_MALFORMED, ip, f, "%s is listed twice",
                       quote(q, sizeof q, os, ol));
        bits |= b;
    }
    *out = bits;
    return CS_OK;
}

static int parse_item(perr *e, scorecard *c, const jsonp_val *v, size_t si, const char *ip)
{
    if (jsonp_type_of(v) != JSONP_OBJECT)
        return bad(e, CS_ERR_MALFORMED, ip, NULL, "expected an object, got %s", type_name(v));
    int rc = check_fields(e, v, ip, item_fields, sizeof item_fields / sizeof item_fields[0],
                          "key, label, kind, weight, critical, applies_to, metric, op, value, "
                          "phrase, within_s");
    if (rc != CS_OK)
        return rc;

    sc_item *it = &c->items[c->n_items - 1];
    it->section = si;
    const char *s;
    size_t len;
    char q[QBUF];

    if ((rc = read_ident(e, jsonp_get(v, "key"), ip, "key", SC_KEY_MAX, 0, &s, &len)) != CS_OK)
        return rc;
    for (size_t j = 0; j + 1 < c->n_items; j++) {
        if (name_eq(s, len, c->items[j].key)) {
            const sc_section *ps = &c->sections[c->items[j].section];
            return bad(e, CS_ERR_MALFORMED, ip, "key", "%s repeats sections[%zu].items[%zu].key",
                       quote(q, sizeof q, s, len), c->items[j].section, j - ps->first);
        }
    }
    if (!(it->key = dupn(s, len)))
        return CS_ERR_NOMEM;

    const jsonp_val *kv = jsonp_get(v, "kind");
    if (!kv)
        return bad(e, CS_ERR_MALFORMED, ip, "kind", "missing");
    if (jsonp_type_of(kv) != JSONP_STRING)
        return bad(e, CS_ERR_MALFORMED, ip, "kind", "expected a string, got %s", type_name(kv));
    s = jsonp_str(kv, &len);
    size_t k;
    for (k = 0; k < sizeof kind_names / sizeof kind_names[0]; k++) {
        if (name_eq(s, len, kind_names[k]))
            break;
    }
    if (k == sizeof kind_names / sizeof kind_names[0])
        return bad(e, CS_ERR_MALFORMED, ip, "kind",
                   "%s is not one of metric, phrase_present, phrase_absent",
                   quote(q, sizeof q, s, len));
    it->kind = (sc_kind)k;

    /* Fields of the other kind are errors, not ignored: a phrase on a metric
     * item is a mistake the author wants to hear about. */
    const char *const *other = it->kind == SC_KIND_METRIC ? phrase_only : metric_only;
    size_t n_other = it->kind == SC_KIND_METRIC ? 2 : 3;
    for (size_t j = 0; j < n_other; j++) {
        if (jsonp_get(v, other[j]))
            return bad(e, CS_ERR_MALFORMED, ip, other[j], "not a field of a %s item",
                       kind_names[k]);
    }

    double w;
    if ((rc = read_number(e, jsonp_get(v, "weight"), ip, "weight", &w)) != CS_OK)
        return rc;
    if (!(w > 0))
        return bad(e, CS_ERR_MALFORMED, ip, "weight", "must be > 0 (got %g)", w);
    if (w > SC_WEIGHT_MAX)
        return bad(e, CS_ERR_MALFORMED, ip, "weight", "must be <= %g (got %g)", SC_WEIGHT_MAX, w);
    double wc = round(w * 100.0);
    if (fabs(w * 100.0 - wc) > 1e-6 || wc < 1)
        return bad(e, CS_ERR_MALFORMED, ip, "weight", "%.17g is not a multiple of 0.01", w);
    it->weight_c = (int64_t)wc;
    it->weight = wc / 100.0;

    const jsonp_val *cv = jsonp_get(v, "critical");
    if (cv && jsonp_bool(cv, &it->critical) != CS_OK)
        return bad(e, CS_ERR_MALFORMED, ip, "critical", "expected true or false, got %s",
                   type_name(cv));
    it->critical = it->critical ? 1 : 0;

    if ((rc = parse_applies_to(e, jsonp_get(v, "applies_to"), ip, &it->applies_to)) != CS_OK)
        return rc;

    const jsonp_val *lv = jsonp_get(v, "label");
    if (lv) {
        if ((rc = read_text(e, lv, ip, "label", SC_LABEL_MAX, &s, &len)) != CS_OK)
            return rc;
    } else {
        s = it->key;
        len = strlen(it->key);
    }
    if (!(it->label = dupn(s, len)))
        return CS_ERR_NOMEM;

    if (it->kind == SC_KIND_METRIC) {
        const jsonp_val *mv = jsonp_get(v, "metric");
        if (!mv)
            return bad(e, CS_ERR_MALFORMED, ip, "metric", "missing");
        if (jsonp_type_of(mv) != JSONP_STRING)
            return bad(e, CS_ERR_MALFORMED, ip, "metric", "expected a string, got %s",
                       type_name(mv));
        s = jsonp_str(mv, &len);
        int m = sc_metric_from_name(s, len);
        if (m < 0)
            return bad(e, CS_ERR_MALFORMED, ip, "metric",
                       "%s is not a known metric (docs/scorecard.md lists them)",
                       quote(q, sizeof q, s, len));
        it->metric = (sc_metric)m;

        const jsonp_val *ov = jsonp_get(v, "op");
        if (!ov)
            return bad(e, CS_ERR_MALFORMED, ip, "op", "missing");
        if (jsonp_type_of(ov) != JSONP_STRING)
            return bad(e, CS_ERR_MALFORMED, ip, "op", "expected a string, got %s", type_name(ov));
        s = jsonp_str(ov, &len);
        size_t o;
        for (o = 0; o < sizeof op_names / sizeof op_names[0]; o++) {
            if (name_eq(s, len, op_names[o]))
                break;
        }
        if (o == sizeof op_names / sizeof op_names[0])
            return bad(e, CS_ERR_MALFORMED, ip, "op",
                       "%s is not one of <=, <, >=, >, ==", quote(q, sizeof q, s, len));
        it->op = (sc_op)o;

        if ((rc = read_number(e, jsonp_get(v, "value"), ip, "value", &it->value)) != CS_OK)
            return rc;
        if (!(fabs(it->value) <= SC_VALUE_ABS_MAX))
            return bad(e, CS_ERR_MALFORMED, ip, "value", "|%g| is above %g", it->value,
                       SC_VALUE_ABS_MAX);
    } else {
        if ((rc = read_ident(e, jsonp_get(v, "phrase"), ip, "phrase", SC_PHRASE_MAX, 1, &s,
                             &len)) != CS_OK)
            return rc;
        if (!(it->phrase = dupn(s, len)))
            return CS_ERR_NOMEM;
        const jsonp_val *wv = jsonp_get(v, "within_s");
        if (wv && !jsonp_is_null(wv)) {
            if ((rc = read_number(e, wv, ip, "within_s", &it->within_s)) != CS_OK)
                return rc;
            if (!(it->within_s >= 0 && it->within_s <= SC_WITHIN_MAX))
                return bad(e, CS_ERR_MALFORMED, ip, "within_s", "%g is not in [0, %g]",
                           it->within_s, SC_WITHIN_MAX);
            it->has_within = 1;
        }
    }
    return CS_OK;
}

static int parse_section(perr *e, scorecard *c, size_t cap, const jsonp_val *v, size_t si)
{
    char sp[48];
    snprintf(sp, sizeof sp, "sections[%zu]", si);
    if (jsonp_type_of(v) != JSONP_OBJECT)
        return bad(e, CS_ERR_MALFORMED, sp, NULL, "expected an object, got %s", type_name(v));
    int rc = check_fields(e, v, sp, section_fields, 2, "name, items");
    if (rc != CS_OK)
        return rc;
    sc_section *sec = &c->sections[si];
    sec->first = c->n_items;
    const char *s;
    size_t len;
    if ((rc = read_text(e, jsonp_get(v, "name"), sp, "name", SC_NAME_MAX, &s, &len)) != CS_OK)
        return rc;
    for (size_t j = 0; j < si; j++) {
        if (name_eq(s, len, c->sections[j].name)) {
            char q[QBUF];
            return bad(e, CS_ERR_MALFORMED, sp, "name", "%s repeats sections[%zu].name",
                       quote(q, sizeof q, s, len), j);
        }
    }
    if (!(sec->name = dupn(s, len)))
        return CS_ERR_NOMEM;
    c->n_sections = si + 1;

    const jsonp_val *items = jsonp_get(v, "items");
    if (!items)
        return bad(e, CS_ERR_MALFORMED, sp, "items", "missing");
    if (jsonp_type_of(items) != JSONP_ARRAY)
        return bad(e, CS_ERR_MALFORMED, sp, "items", "expected an array, got %s", type_name(items));
    if (jsonp_len(items) == 0)
        return bad(e, CS_ERR_MALFORMED, sp, "items", "empty (a section needs at least one item)");
    for (size_t i = 0; i < jsonp_len(items); i++) {
        char ip[SC_PATH_MAX];
        snprintf(ip, sizeof ip, "%s.items[%zu]", sp, i);
        if (c->n_items >= SC_MAX_ITEMS || c->n_items >= cap)
            return bad(e, CS_ERR_LIMIT, ip, NULL, "more than %d items in the card", SC_MAX_ITEMS);
        memset(&c->items[c->n_items], 0, sizeof c->items[0]);
        c->n_items++; /* counted before filling: scorecard_free frees a partial item */
        sec->n_items++;
        if ((rc = parse_item(e, c, jsonp_at(items, i), si, ip)) != CS_OK)
            return rc;
    }
    return CS_OK;
}

static int parse_card(perr *e, scorecard *c, const jsonp_val *root)
{
    if (jsonp_type_of(root) != JSONP_OBJECT)
        return bad(e, CS_ERR_MALFORMED, "top level", NULL, "expected an object, got %s",
                   type_name(root));
    int rc = check_fields(e, root, "top level", card_fields, 3, "name, pass_score, sections");
    if (rc != CS_OK)
        return rc;
    const char *s;
    size_t len;
    if ((rc = read_text(e, jsonp_get(root, "name"), "", "name", SC_NAME_MAX, &s, &len)) != CS_OK)
        return rc;
    if (!(c->name = dupn(s, len)))
        return CS_ERR_NOMEM;
    if ((rc = read_number(e, jsonp_get(root, "pass_score"), "", "pass_score", &c->pass_score)) !=
        CS_OK)
        return rc;
    if (!(c->pass_score >= 0 && c->pass_score <= 100))
        return bad(e, CS_ERR_MALFORMED, "", "pass_score", "%g is not in [0, 100]", c->pass_score);

    const jsonp_val *secs = jsonp_get(root, "sections");
    if (!secs)
        return bad(e, CS_ERR_MALFORMED, "", "sections", "missing");
    if (jsonp_type_of(secs) != JSONP_ARRAY)
        return bad(e, CS_ERR_MALFORMED, "", "sections", "expected an array, got %s",
                   type_name(secs));
    size_t ns = jsonp_len(secs);
    if (ns == 0)
        return bad(e, CS_ERR_MALFORMED, "", "sections", "empty (a card needs at least one item)");
    if (ns > SC_MAX_SECTIONS)
        return bad(e, CS_ERR_LIMIT, "", "sections", "more than %d sections", SC_MAX_SECTIONS);
    /* Items of all sections, bounded by the count the document holds. */
    size_t ni = 0;
    for (size_t i = 0; i < ns; i++)
        ni += jsonp_len(jsonp_get(jsonp_at(secs, i), "items"));
    if (ni > SC_MAX_ITEMS)
        ni = SC_MAX_ITEMS;
    if (!(c->sections = calloc(ns, sizeof c->sections[0])) ||
        !(c->items = calloc(ni ? ni : 1, sizeof c->items[0])))
        return CS_ERR_NOMEM;
    for (size_t i = 0; i < ns; i++) {
        if ((rc = parse_section(e, c, ni, jsonp_at(secs, i), i)) != CS_OK)
            return rc;
    }
    return CS_OK;
}

void scorecard_free(scorecard *card)
{
    if (!card)
        return;
    if (card->items) {
        for (size_t i = 0; i < card->n_items; i++) {
            free(card->items[i].key);
            free(card->items[i].label);
            free(card->items[i].phrase);
        }
    }
    if (card->sections) {
        for (size_t i = 0; i < card->n_sections; i++)
            free(card->sections[i].name);
    }
    free(card->items);
    free(card->sections);
    free(card->name);
    free(card);
}

int scorecard_parse(const char *json, size_t len, scorecard **out, char *err, size_t errcap)
{
    perr e = {err, errcap};
    if (err && errcap)
        err[0] = '\0';
    if (!out)
        return bad(&e, CS_ERR_INVAL, "", NULL, "no output pointer");
    *out = NULL;
    if (!json && len > 0)
        return bad(&e, CS_ERR_INVAL, "", NULL, "no input");
    if (len > SC_MAX_FILE_BYTES)
        return bad(&e, CS_ERR_LIMIT, "", NULL, "%zu bytes: a scorecard is at most %u bytes", len,
                   SC_MAX_FILE_BYTES);
    jsonp_opts opts = {.max_bytes = SC_MAX_FILE_BYTES, .max_depth = SC_MAX_DEPTH};
    jsonp_doc *doc = NULL;
    jsonp_error je;
    int rc = jsonp_parse(json ? json : "", len, &opts, &doc, &je);
    if (rc != CS_OK)
        return bad(&e, rc, "", NULL, "line %zu, column %zu: %s", je.line, je.column, je.reason);
    scorecard *c = calloc(1, sizeof *c);
    if (!c) {
        jsonp_free(doc);
        return bad(&e, CS_ERR_NOMEM, "", NULL, "out of memory");
    }
    rc = parse_card(&e, c, jsonp_root(doc));
    jsonp_free(doc);
    if (rc != CS_OK) {
        if (rc == CS_ERR_NOMEM)
            bad(&e, rc, "", NULL, "out of memory");
        scorecard_free(c);
        return rc;
    }
    *out = c;
    return CS_OK;
}

/* ---- canonical text ---- */

char *scorecard_canonical_json(const scorecard *card)
{
    if (!card)
        return NULL;
    json_w *w = json_w_new(0, SC_CANON_MAX);
    if (!w)
        return NULL;
    json_obj_begin(w);
    json_kv_str(w, "name", card->name);
    json_kv_double(w, "pass_score", card->pass_score);
    json_key(w, "sections");
    json_arr_begin(w);
    for (size_t s = 0; s < card->n_sections; s++) {
        const sc_section *sec = &card->sections[s];
        json_obj_begin(w);
        json_kv_str(w, "name", sec->name);
        json_key(w, "items");
        json_arr_begin(w);
        for (size_t i = sec->first; i < sec->first + sec->n_items; i++) {
            const sc_item *it = &card->items[i];
            json_obj_begin(w);
            json_kv_str(w, "key", it->key);
            json_kv_str(w, "label", it->label);
            json_kv_str(w, "kind", sc_kind_name(it->kind));
            json_kv_double(w, "weight", it->weight);
            json_kv_bool(w, "critical", it->critical);
            json_key(w, "applies_to");
            json_arr_begin(w);
            for (unsigned o = 0; o < SC_OUT_COUNT; o++) {
                if (it->applies_to & (1u << o))
                    json_str(w, outcome_names[o]);
            }
            json_arr_end(w);
            if (it->kind == SC_KIND_METRIC) {
                json_kv_str(w, "metric", sc_metric_name(it->metric));
                json_kv_str(w, "op", sc_op_name(it->op));
                json_kv_double(w, "value", it->value);
            } else {
                json_kv_str(w, "phrase", it->phrase);
                json_key(w, "within_s");
                if (it->has_within)
                    json_double(w, it->within_s);
                else
                    json_null(w);
            }
            json_obj_end(w);
        }
        json_arr_end(w);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_obj_end(w);
    char *text = NULL;
    if (json_w_error(w) == CS_OK)
        text = json_w_take(w, NULL);
    json_w_free(w);
    return text;
}

/* ---- evaluation ---- */

void sc_result_free(sc_result *res)
{
    if (!res)
        return;
    if (res->items) {
        for (size_t i = 0; i < res->n_items; i++)
            free(res->items[i].evidence);
    }
    free(res->items);
    memset(res, 0, sizeof *res);
    res->score = NAN;
}

static int compare(double v, sc_op op, double t)
{
    switch (op) {
    case SC_OP_LE:
        return v <= t;
    case SC_OP_LT:
        return v < t;
    case SC_OP_GE:
        return v >= t;
    case SC_OP_GT:
        return v > t;
    case SC_OP_EQ:
        return v == t;
    }
    return 0;
}

typedef struct metric_tab {
    double value[SC_M__COUNT];
    int present[SC_M__COUNT];
} metric_tab;

/* The earliest hit of a phrase (the first listed on ties), or NULL. */
static const sc_phrase_hit *earliest_hit(const sc_call_facts *f, const char *phrase)
{
    const sc_phrase_hit *best = NULL;
    for (size_t i = 0; i < f->n_hits; i++) {
        const sc_phrase_hit *h = &f->hits[i];
        if (strcmp(h->name, phrase) == 0 && (!best || h->start_ms < best->start_ms))
            best = h;
    }
    return best;
}

static void hit_evidence(json_w *w, const char *prefix, const sc_phrase_hit *h)
{
    json_kv_double(w, prefix, (double)h->start_ms / 1000.0);
    json_kv_int(w, "channel", h->channel);
    if (h->kind) {
        size_t kl = strlen(h->kind); /* evidence, not storage: a few bytes suffice */
        json_key(w, "kind");
        json_str_n(w, h->kind, kl < SC_KIND_EVIDENCE_MAX ? kl : SC_KIND_EVIDENCE_MAX);
    }
}

/* Decides one item and writes its evidence object into w. */
static sc_verdict eval_item(const sc_item *it, const sc_call_facts *f, unsigned outcome,
                            const metric_tab *mt, json_w *w)
{
    json_obj_begin(w);
    if (!(it->applies_to & outcome)) {
        json_kv_str(w, "reason", "not applicable to the outcome");
        json_kv_str(w, "outcome", f->outcome);
        json_obj_end(w);
        return SC_NA;
    }
    if (it->kind == SC_KIND_METRIC) {
        json_kv_str(w, "metric", sc_metric_name(it->metric));
        json_kv_str(w, "op", sc_op_name(it->op));
        json_kv_double(w, "threshold", it->value);
        if (!mt->present[it->metric]) {
            json_key(w, "value");
            json_null(w);
            json_kv_str(w, "reason", "metric not available");
            json_obj_end(w);
            return SC_NA;
        }
        double v = mt->value[it->metric];
        json_kv_double(w, "value", v);
        json_obj_end(w);
        return compare(v, it->op, it->value) ? SC_PASS : SC_FAIL;
    }

    json_kv_str(w, "phrase", it->phrase);
    if (it->has_within)
        json_kv_double(w, "within_s", it->within_s);
    if (f->no_transcript) {
        json_kv_str(w, "reason", "no transcript");
        json_obj_end(w);
        return SC_NA;
    }
    const sc_phrase_hit *h = earliest_hit(f, it->phrase);
    /* A hit counts when it starts at most within_s after the answer (exactly
     * at the limit counts; a hit before the answer counts too). */
    int counted = h && (!it->has_within || (double)h->start_ms <= it->within_s * 1000.0);
    json_kv_bool(w, "found", counted);
    if (counted) {
        hit_evidence(w, "at_s", h);
    } else if (h) {
        json_kv_str(w, "reason", "not within the time limit");
        hit_evidence(w, "first_at_s", h);
    } else {
        json_kv_str(w, "reason", "not found");
    }
    json_obj_end(w);
    int pass = it->kind == SC_KIND_PHRASE_PRESENT ? counted : !counted;
    return pass ? SC_PASS : SC_FAIL;
}

int scorecard_eval(const scorecard *card, const sc_call_facts *facts, sc_result *out)
{
    if (!out)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    out->score = NAN;
    if (!card || !facts || !facts->outcome || (facts->n_metrics && !facts->metrics) ||
        (facts->n_hits && !facts->hits))
        return CS_ERR_INVAL;
    unsigned outcome = sc_outcome_from_name(facts->outcome, strlen(facts->outcome));
    if (!outcome)
        return CS_ERR_INVAL;
    metric_tab mt;
    int seen[SC_M__COUNT] = {0};
    memset(&mt, 0, sizeof mt);
    for (size_t i = 0; i < facts->n_metrics; i++) {
        const sc_metric_value *m = &facts->metrics[i];
        if (!m->name)
            return CS_ERR_INVAL;
        int id = sc_metric_from_name(m->name, strlen(m->name));
        if (id < 0 || seen[id])
            return CS_ERR_INVAL;
        seen[id] = 1;
        if (m->present && isfinite(m->value)) {
            mt.present[id] = 1;
            mt.value[id] = m->value + 0.0;
        }
    }
    for (size_t i = 0; i < facts->n_hits; i++) {
        if (!facts->hits[i].name)
            return CS_ERR_INVAL;
    }

    sc_item_result *items = calloc(card->n_items ? card->n_items : 1, sizeof *items);
    if (!items)
        return CS_ERR_NOMEM;
    out->items = items;
    out->n_items = card->n_items;
    int64_t pts_c = 0, max_c = 0;
    for (size_t i = 0; i < card->n_items; i++) {
        const sc_item *it = &card->items[i];
        sc_item_result *r = &items[i];
        r->item = it;
        r->section = card->sections[it->section].name;
        json_w *w = json_w_new(0, SC_EVIDENCE_MAX);
        if (!w) {
            sc_result_free(out);
            return CS_ERR_NOMEM;
        }
        r->verdict = eval_item(it, facts, outcome, &mt, w);
        int wrc = json_w_error(w);
        r->evidence = wrc == CS_OK ? json_w_take(w, NULL) : NULL;
        json_w_free(w);
        if (!r->evidence) {
            sc_result_free(out);
            return wrc == CS_OK || wrc == CS_ERR_NOMEM ? CS_ERR_NOMEM : wrc;
        }
        if (r->verdict != SC_NA) {
            max_c += it->weight_c;
            r->max_points = it->weight;
        }
        if (r->verdict == SC_PASS) {
            pts_c += it->weight_c;
            r->points = it->weight;
        }
        if (r->verdict == SC_FAIL && it->critical)
            out->critical_failed = 1;
    }
    out->points = (double)pts_c / 100.0;
    out->max_points = (double)max_c / 100.0;
    out->score = max_c > 0 ? 100.0 * (double)pts_c / (double)max_c : NAN;
    out->passed = !out->critical_failed && max_c > 0 && out->score >= card->pass_score;
    return CS_OK;
}
