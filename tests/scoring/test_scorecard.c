/*
 * test_scorecard.c — scorecards (scoring/scorecard.c): format, parser,
 * canonical JSON, evaluation.
 *
 * Parsing: the example card field by field; the shipped
 * deploy/scorecard.json (weights sum to 100, every phrase it names is a phrase
 * of deploy/phrases.conf, every item key and section as documented); the
 * canonical text of a card written with other member order, whitespace, \u
 * escapes and explicit defaults (the shape jsonb gives back) is byte-for-byte
 * the same; parse(canonical) is a fixed point; a table of malformed cards, each
 * with its exact code and message (JSON path included); limits at the edge
 * (64/65 sections, 512/513 items, 1 MiB + 1); messages cut to small errcaps.
 * Evaluation: every kind pass/fail/na, every op at its threshold, within_s
 * exactly at the limit, 1 ms after it, before the answer; the earliest hit is
 * the evidence; phrase_absent with a hit fails; N/A by outcome, by a missing
 * or non-finite metric, without transcript; critical fails make passed false
 * whatever the score; an all-N/A card gives NaN; weight arithmetic exact
 * (10+10+20+10 with one 10 failed = 80.0, passed at pass_score 80); exact
 * evidence texts; argument errors with exact codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "jsonp.h"
#include "scorecard.h"
#include "testsupport.h"

/* Allocation-failure torture: scorecard.c is compiled into this file with its
 * malloc/calloc/free routed through a counter that can fail the n-th
 * allocation and that tracks the blocks it handed out (blocks from cs_common,
 * e.g. json_w_take's evidence texts, are freed through unchanged). The system
 * headers are included above, so the macros only rename scorecard.c's calls. */
static size_t sct_calls, sct_fail_at, sct_live;
static void *sct_blocks[4096];

static void sct_track(void *p)
{
    if (p && sct_live < sizeof sct_blocks / sizeof sct_blocks[0])
        sct_blocks[sct_live++] = p;
}

static void *sct_malloc(size_t n)
{
    if (sct_fail_at && ++sct_calls == sct_fail_at)
        return NULL;
    void *p = malloc(n);
    sct_track(p);
    return p;
}

static void *sct_calloc(size_t n, size_t size)
{
    if (sct_fail_at && ++sct_calls == sct_fail_at)
        return NULL;
    void *p = calloc(n, size);
    sct_track(p);
    return p;
}

static void sct_free(void *p)
{
    for (size_t i = 0; p && i < sct_live; i++) {
        if (sct_blocks[i] == p) {
            sct_blocks[i] = sct_blocks[--sct_live];
            break;
        }
    }
    free(p);
}

#define malloc(n)    sct_malloc(n)
#define calloc(n, s) sct_calloc(n, s)
#define free(p)      sct_free(p)
#include "scorecard.c"
#undef malloc
#undef calloc
#undef free

#define EXAMPLE                                                                                    \
    "{\"name\": \"acme-qa\", \"pass_score\": 80,\n"                                                \
    " \"sections\": [\n"                                                                           \
    "  {\"name\": \"Opening\", \"items\": [\n"                                                     \
    "    {\"key\": \"greeting\", \"label\": \"Greeting within 10 s of answer\", \"kind\": "        \
    "\"phrase_present\", \"phrase\": \"greeting\", \"within_s\": 10, \"weight\": 10},\n"           \
    "    {\"key\": \"answer_time\", \"label\": \"Answered within 20 s\", \"kind\": \"metric\", "   \
    "\"metric\": \"answer_seconds\", \"op\": \"<=\", \"value\": 20, \"weight\": 10}]},\n"          \
    "  {\"name\": \"Compliance\", \"items\": [\n"                                                  \
    "    {\"key\": \"verification\", \"kind\": \"phrase_present\", \"phrase\": \"verification\", " \
    "\"weight\": 20, \"critical\": true},\n"                                                       \
    "    {\"key\": \"no_forbidden\", \"kind\": \"phrase_absent\", \"phrase\": \"forbidden\", "     \
    "\"weight\": 10, \"critical\": true}]}]}"

#define EXAMPLE_CANON                                                                              \
    "{\"name\":\"acme-qa\",\"pass_score\":80,\"sections\":[{\"name\":\"Opening\",\"items\":["      \
    "{\"key\":\"greeting\",\"label\":\"Greeting within 10 s of answer\",\"kind\":"                 \
    "\"phrase_present\",\"weight\":10,\"critical\":false,\"applies_to\":[\"answered\"],"           \
    "\"phrase\":\"greeting\",\"within_s\":10},"                                                    \
    "{\"key\":\"answer_time\",\"label\":\"Answered within 20 s\",\"kind\":\"metric\","             \
    "\"weight\":10,\"critical\":false,\"applies_to\":[\"answered\"],\"metric\":"                   \
    "\"answer_seconds\",\"op\":\"<=\",\"value\":20}]},"                                            \
    "{\"name\":\"Compliance\",\"items\":["                                                         \
    "{\"key\":\"verification\",\"label\":\"verification\",\"kind\":\"phrase_present\","            \
    "\"weight\":20,\"critical\":true,\"applies_to\":[\"answered\"],\"phrase\":"                    \
    "\"verification\",\"within_s\":null},"                                                         \
    "{\"key\":\"no_forbidden\",\"label\":\"no_forbidden\",\"kind\":\"phrase_absent\","             \
    "\"weight\":10,\"critical\":true,\"applies_to\":[\"answered\"],\"phrase\":\"forbidden\","      \
    "\"within_s\":null}]}]}"

static scorecard *parse_ok(const char *json)
{
    scorecard *c = NULL;
    char err[SC_ERR_MAX];
    int rc = scorecard_parse(json, strlen(json), &c, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("parse: %s (%s)\n%s", err, cs_err_name(rc), json);
    assert_non_null(c);
    return c;
}

static char *canon(const scorecard *c)
{
    char *t = scorecard_canonical_json(c);
    assert_non_null(t);
    return t;
}

/* canonical(parse(canonical)) == canonical */
static void assert_fixed_point(const char *text)
{
    scorecard *c = parse_ok(text);
    char *again = canon(c);
    assert_string_equal(again, text);
    free(again);
    scorecard_free(c);
}

static void test_example(void **state)
{
    (void)state;
    scorecard *c = parse_ok(EXAMPLE);
    assert_string_equal(c->name, "acme-qa");
    assert_true(c->pass_score == 80.0);
    assert_int_equal(c->n_sections, 2);
    assert_int_equal(c->n_items, 4);
    assert_string_equal(c->sections[0].name, "Opening");
    assert_int_equal(c->sections[0].first, 0);
    assert_int_equal(c->sections[0].n_items, 2);
    assert_string_equal(c->sections[1].name, "Compliance");
    assert_int_equal(c->sections[1].first, 2);
    assert_int_equal(c->sections[1].n_items, 2);

    const sc_item *g = &c->items[0];
    assert_string_equal(g->key, "greeting");
    assert_string_equal(g->label, "Greeting within 10 s of answer");
    assert_int_equal(g->kind, SC_KIND_PHRASE_PRESENT);
    assert_string_equal(g->phrase, "greeting");
    assert_int_equal(g->has_within, 1);
    assert_true(g->within_s == 10.0);
    assert_true(g->weight == 10.0);
    assert_int_equal(g->weight_c, 1000);
    assert_int_equal(g->critical, 0);
    assert_int_equal(g->applies_to, SC_OUT_ANSWERED);
    assert_int_equal(g->section, 0);

    const sc_item *a = &c->items[1];
    assert_int_equal(a->kind, SC_KIND_METRIC);
    assert_int_equal(a->metric, SC_M_ANSWER_SECONDS);
    assert_int_equal(a->op, SC_OP_LE);
    assert_true(a->value == 20.0);
    assert_null(a->phrase);

    const sc_item *v = &c->items[2];
    assert_string_equal(v->label, "verification"); /* default: the key */
    assert_int_equal(v->critical, 1);
    assert_int_equal(v->has_within, 0);
    assert_int_equal(v->section, 1);
    assert_int_equal(c->items[3].kind, SC_KIND_PHRASE_ABSENT);

    char *t = canon(c);
    assert_string_equal(t, EXAMPLE_CANON);
    free(t);
    scorecard_free(c);
    assert_fixed_point(EXAMPLE_CANON);
}

/* The same card as EXAMPLE, written the way jsonb prints it back (members
 * sorted by length then bytes, ", " and ": "), with escapes, explicit
 * defaults and numbers in other spellings: one canonical text. */
static void test_canonical_equivalents(void **state)
{
    (void)state;
    static const char *const same[] = {
        "{\"name\": \"acme-qa\", \"sections\": [{\"items\": [{\"key\": \"greeting\", \"kind\": "
        "\"phrase_present\", \"label\": \"Greeting within 10 s of answer\", \"phrase\": "
        "\"greeting\", \"weight\": 10.0, \"critical\": false, \"within_s\": 1e1, \"applies_to\": "
        "[\"answered\"]}, {\"op\": \"<=\", \"key\": \"answer_time\", \"kind\": \"metric\", "
        "\"label\": \"Answered within 20 s\", \"value\": 20, \"metric\": \"answer_seconds\", "
        "\"weight\": 10}], \"name\": \"Opening\"}, {\"items\": [{\"key\": \"verification\", "
        "\"kind\": \"phrase_present\", \"label\": \"verification\", \"phrase\": "
        "\"verification\", \"weight\": 20, \"critical\": true, \"within_s\": null}, {\"key\": "
        "\"no_forbidden\", \"kind\": \"phrase_absent\", \"phrase\": \"forbidden\", \"weight\": "
        "1000e-2, \"critical\": true}], \"name\": \"Compliance\"}], \"pass_score\": 80.00}",
        "\r\n\t {\"pass_score\":8e1,\"name\":\"\\u0061cme-qa\",\"sections\":[{\"name\":"
        "\"Opening\",\"items\":[{\"weight\":10,\"within_s\":10,\"phrase\":\"greeting\",\"kind\":"
        "\"phrase_present\",\"label\":\"Greeting within 10 s of answer\",\"key\":\"greeting\"},"
        "{\"value\":2e1,\"op\":\"<=\",\"metric\":\"answer_seconds\",\"kind\":\"metric\",\"label\":"
        "\"Answered within 20 s\",\"key\":\"answer_time\",\"weight\":10}]},{\"name\":"
        "\"Compliance\",\"items\":[{\"key\":\"verification\",\"kind\":\"phrase_present\","
        "\"phrase\":\"verification\",\"weight\":20,\"critical\":true},{\"key\":\"no_forbidden\","
        "\"kind\":\"phrase_absent\",\"phrase\":\"forbidden\",\"weight\":10,\"critical\":true}]}]}"
        " \n",
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        scorecard *c = parse_ok(same[i]);
        char *t = canon(c);
        assert_string_equal(t, EXAMPLE_CANON);
        free(t);
        scorecard_free(c);
    }
    /* and a difference that matters changes it: a weight, an outcome list */
    const char *other = "{\"name\":\"x\",\"pass_score\":50.5,\"sections\":[{\"name\":\"S\","
                        "\"items\":[{\"key\":\"t\",\"kind\":\"metric\",\"metric\":\"transfers\","
                        "\"op\":\"==\",\"value\":-0,\"weight\":0.05,\"applies_to\":[\"failed\","
                        "\"answered\",\"busy\"]}]}]}";
    scorecard *c = parse_ok(other);
    char *t = canon(c);
    assert_string_equal(t, "{\"name\":\"x\",\"pass_score\":50.5,\"sections\":[{\"name\":\"S\","
                           "\"items\":[{\"key\":\"t\",\"label\":\"t\",\"kind\":\"metric\","
                           "\"weight\":0.05,\"critical\":false,\"applies_to\":[\"answered\","
                           "\"busy\",\"failed\"],\"metric\":\"transfers\",\"op\":\"==\","
                           "\"value\":0}]}]}");
    assert_int_equal(c->items[0].weight_c, 5);
    assert_int_equal(c->items[0].applies_to, SC_OUT_ANSWERED | SC_OUT_BUSY | SC_OUT_FAILED);
    assert_fixed_point(t);
    free(t);
    scorecard_free(c);
}

/* Names of deploy/phrases.conf (first word of each non-comment line). */
static int phrase_in_conf(const char *conf, const char *name)
{
    const char *p = conf;
    size_t nl = strlen(name);
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl && p[0] != '#' && memcmp(p, name, nl) == 0 && (p[nl] == ' ' || p[nl] == '\t'))
            return 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

static void test_default_card(void **state)
{
    (void)state;
    char path[4096];
    size_t len, clen;
    char *text = ts_read_file(ts_source_path(path, sizeof path, "deploy/scorecard.json"), &len);
    assert_non_null(text);
    char *conf = ts_read_file(ts_source_path(path, sizeof path, "deploy/phrases.conf"), &clen);
    assert_non_null(conf);
    scorecard *c = NULL;
    char err[SC_ERR_MAX];
    int rc = scorecard_parse(text, len, &c, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("deploy/scorecard.json: %s", err);
    assert_true(c->pass_score == 80.0);
    static const char *const sections[] = {"Opening", "Compliance", "Handling", "Closing"};
    assert_int_equal(c->n_sections, 4);
    for (size_t s = 0; s < 4; s++)
        assert_string_equal(c->sections[s].name, sections[s]);
    int64_t sum = 0;
    int criticals = 0;
    for (size_t i = 0; i < c->n_items; i++) {
        const sc_item *it = &c->items[i];
        sum += it->weight_c;
        criticals += it->critical;
        if (it->kind != SC_KIND_METRIC && !phrase_in_conf(conf, it->phrase))
            fail_msg("item %s: phrase %s is not in deploy/phrases.conf", it->key, it->phrase);
    }
    assert_int_equal(sum, 10000); /* 100.00 */
    assert_int_equal(criticals, 2);
    assert_true(phrase_in_conf(conf, "greeting") && !phrase_in_conf(conf, "greet"));

    /* a good call passes with 100, a silent agent fails the critical item */
    sc_metric_value m[] = {{"answer_seconds", 12.0, 1},
                           {"dead_air_seconds", 4.0, 1},
                           {"hold_seconds", 0.0, 1},
                           {"agent_talk_ratio", 0.55, 1}};
    sc_phrase_hit h[] = {{"greeting", "scripted", 1200, 2},
                         {"verification", "scripted", 30000, 2},
                         {"closing", "scripted", 200000, 2}};
    sc_call_facts f = {"answered", m, 4, h, 3, 0};
    sc_result r;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    assert_true(r.score == 100.0);
    assert_int_equal(r.passed, 1);
    sc_result_free(&r);
    f.n_hits = 1; /* greeting only: verification (critical, 20) and closing (15) fail */
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    assert_true(r.score == 65.0);
    assert_int_equal(r.critical_failed, 1);
    assert_int_equal(r.passed, 0);
    sc_result_free(&r);
    f.outcome = "abandoned";
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    assert_true(isnan(r.score));
    sc_result_free(&r);

    char *t = canon(c);
    assert_fixed_point(t);
    free(t);
    scorecard_free(c);
    free(conf);
    free(text);
}

/* ---- malformed cards ---- */

typedef struct bad_case {
    const char *json;
    int code;
    const char *msg;
} bad_case;

#define HDR "{\"name\":\"c\",\"pass_score\":80,\"sections\":[{\"name\":\"S\",\"items\":["
#define TLR "]}]}"
#define ITEM(extra)                                                                                \
    HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"mos\",\"op\":\">=\","                     \
        "\"value\":3.5,\"weight\":10" extra "}" TLR
#define PITEM(extra)                                                                               \
    HDR "{\"key\":\"k\",\"kind\":\"phrase_present\",\"phrase\":\"greeting\","                      \
        "\"weight\":10" extra "}" TLR
#define OKI "{\"key\":\"a\",\"kind\":\"phrase_absent\",\"phrase\":\"forbidden\",\"weight\":5}"

static const bad_case bad_cases[] = {
    /* JSON syntax: jsonp's code and position */
    {"", CS_ERR_TRUNCATED, "line 1, column 1: "},
    {"{\"name\":\"c\",}", CS_ERR_MALFORMED, "line 1, column 13: "},
    {"{\"name\":\"c\",\n\"name\":\"d\"}", CS_ERR_MALFORMED, "line 2, column 1: duplicate key"},
    {"{\"name\":\"c\"", CS_ERR_TRUNCATED, "line 1, column 12: "},
    {"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", CS_ERR_LIMIT, "line 1, column 17: "},
    /* top level */
    {"[]", CS_ERR_MALFORMED, "top level: expected an object, got array"},
    {"{}", CS_ERR_MALFORMED, "name: missing"},
    {"{\"name\":\"c\",\"pass_score\":80,\"sections\":[],\"version\":2}", CS_ERR_MALFORMED,
     "top level: unknown field 'version' (expected name, pass_score, sections)"},
    {"{\"name\":\"\",\"pass_score\":80,\"sections\":[]}", CS_ERR_MALFORMED, "name: empty string"},
    {"{\"name\":\"a\\u0000b\",\"pass_score\":80,\"sections\":[]}", CS_ERR_MALFORMED,
     "name: control byte 0x00 at byte 1"},
    {"{\"name\":7,\"pass_score\":80,\"sections\":[]}", CS_ERR_MALFORMED,
     "name: expected a string, got number"},
    {"{\"name\":\"c\",\"sections\":[]}", CS_ERR_MALFORMED, "pass_score: missing"},
    {"{\"name\":\"c\",\"pass_score\":\"80\",\"sections\":[]}", CS_ERR_MALFORMED,
     "pass_score: expected a number, got string"},
    {"{\"name\":\"c\",\"pass_score\":100.5,\"sections\":[]}", CS_ERR_MALFORMED,
     "pass_score: 100.5 is not in [0, 100]"},
    {"{\"name\":\"c\",\"pass_score\":-1,\"sections\":[]}", CS_ERR_MALFORMED,
     "pass_score: -1 is not in [0, 100]"},
    {"{\"name\":\"c\",\"pass_score\":80}", CS_ERR_MALFORMED, "sections: missing"},
    {"{\"name\":\"c\",\"pass_score\":80,\"sections\":{}}", CS_ERR_MALFORMED,
     "sections: expected an array, got object"},
    {"{\"name\":\"c\",\"pass_score\":80,\"sections\":[]}", CS_ERR_MALFORMED,
     "sections: empty (a card needs at least one item)"},
    /* sections */
    {"{\"name\":\"c\",\"pass_score\":80,\"sections\":[null]}", CS_ERR_MALFORMED,
     "sections[0]: expected an object, got null"},
    {"{\"name\":\"c\",\"pass_score\":80,\"sections\":[{\"name\":\"S\",\"items\":[]}]}",
     CS_ERR_MALFORMED, "sections[0].items: empty (a section needs at least one item)"},
    {"{\"name\":\"c\",\"pass_score\":80,\"sections\":[{\"name\":\"S\"}]}", CS_ERR_MALFORMED,
     "sections[0].items: missing"},
    {"{\"name\":\"c\",\"pass_score\":80,\"sections\":[{\"items\":[" OKI "]}]}", CS_ERR_MALFORMED,
     "sections[0].name: missing"},
    {"{\"name\":\"c\",\"pass_score\":80,\"sections\":[{\"name\":\"S\",\"items\":[" OKI
     "],\"weight\":3}]}",
     CS_ERR_MALFORMED, "sections[0]: unknown field 'weight' (expected name, items)"},
    {HDR OKI "]},{\"name\":\"S\",\"items\":[" OKI TLR, CS_ERR_MALFORMED,
     "sections[1].name: 'S' repeats sections[0].name"},
    {HDR OKI "]},{\"name\":\"T\",\"items\":" OKI "}]}", CS_ERR_MALFORMED,
     "sections[1].items: expected an array, got object"},
    /* items: common fields */
    {HDR "[]" TLR, CS_ERR_MALFORMED, "sections[0].items[0]: expected an object, got array"},
    {ITEM(",\"wieght\":1"), CS_ERR_MALFORMED,
     "sections[0].items[0]: unknown field 'wieght' (expected key, label, kind, weight, critical, "
     "applies_to, metric, op, value, phrase, within_s)"},
    {HDR "{\"kind\":\"metric\"}" TLR, CS_ERR_MALFORMED, "sections[0].items[0].key: missing"},
    {HDR "{\"key\":\"Greeting\"}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].key: 'Greeting' is not [a-z0-9_]{1,63}"},
    {HDR "{\"key\":\"\"}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].key: '' is not [a-z0-9_]{1,63}"},
    {HDR "{\"key\":\"a-b\"}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].key: 'a-b' is not [a-z0-9_]{1,63}"},
    {HDR "{\"key\":\"a\\nb\"}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].key: 'a\\x0ab' is not [a-z0-9_]{1,63}"},
    {HDR "{\"key\":\"k1234567890123456789012345678901234567890123456789012345678901234\"}" TLR,
     CS_ERR_MALFORMED,
     "sections[0].items[0].key: 'k123456789012345678901234567890123456789...' is not "
     "[a-z0-9_]{1,63}"},
    {HDR "{\"key\":3}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].key: expected a string, got number"},
    {HDR OKI
     "]},{\"name\":\"T\",\"items\":[{\"key\":\"x\",\"kind\":\"metric\",\"weight\":1}," OKI TLR,
     CS_ERR_MALFORMED, "sections[1].items[0].metric: missing"},
    {HDR OKI "]},{\"name\":\"T\",\"items\":[{\"key\":\"x\",\"kind\":\"phrase_absent\","
             "\"phrase\":\"p\",\"weight\":1}," OKI TLR,
     CS_ERR_MALFORMED, "sections[1].items[1].key: 'a' repeats sections[0].items[0].key"},
    {HDR "{\"key\":\"k\"}" TLR, CS_ERR_MALFORMED, "sections[0].items[0].kind: missing"},
    {HDR "{\"key\":\"k\",\"kind\":\"phrase\"}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].kind: 'phrase' is not one of metric, phrase_present, phrase_absent"},
    {HDR "{\"key\":\"k\",\"kind\":[\"metric\"]}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].kind: expected a string, got array"},
    {ITEM(",\"phrase\":\"greeting\""), CS_ERR_MALFORMED,
     "sections[0].items[0].phrase: not a field of a metric item"},
    {ITEM(",\"within_s\":5"), CS_ERR_MALFORMED,
     "sections[0].items[0].within_s: not a field of a metric item"},
    {PITEM(",\"op\":\"<=\""), CS_ERR_MALFORMED,
     "sections[0].items[0].op: not a field of a phrase_present item"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"mos\",\"op\":\">=\",\"value\":3}" TLR,
     CS_ERR_MALFORMED, "sections[0].items[0].weight: missing"},
    {ITEM(",\"weight\":1"), CS_ERR_MALFORMED, "line 1, column 138: duplicate key"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"weight\":0}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].weight: must be > 0 (got 0)"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"weight\":-5}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].weight: must be > 0 (got -5)"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"weight\":-0.0}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].weight: must be > 0 (got 0)"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"weight\":1000.01}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].weight: must be <= 1000 (got 1000.01)"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"weight\":0.125}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].weight: 0.125 is not a multiple of 0.01"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"weight\":1e-300}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].weight: 1e-300 is not a multiple of 0.01"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"weight\":\"10\"}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].weight: expected a number, got string"},
    {ITEM(",\"critical\":1"), CS_ERR_MALFORMED,
     "sections[0].items[0].critical: expected true or false, got number"},
    {ITEM(",\"critical\":null"), CS_ERR_MALFORMED,
     "sections[0].items[0].critical: expected true or false, got null"},
    {ITEM(",\"applies_to\":\"answered\""), CS_ERR_MALFORMED,
     "sections[0].items[0].applies_to: expected an array of outcomes, got string"},
    {ITEM(",\"applies_to\":[]"), CS_ERR_MALFORMED,
     "sections[0].items[0].applies_to: empty (an item applies to at least one outcome)"},
    {ITEM(",\"applies_to\":[\"answered\",\"abandonned\"]"), CS_ERR_MALFORMED,
     "sections[0].items[0].applies_to[1]: 'abandonned' is not one of answered, abandoned, busy, "
     "no_answer, failed"},
    {ITEM(",\"applies_to\":[\"busy\",\"busy\"]"), CS_ERR_MALFORMED,
     "sections[0].items[0].applies_to[1]: 'busy' is listed twice"},
    {ITEM(",\"applies_to\":[\"busy\",null]"), CS_ERR_MALFORMED,
     "sections[0].items[0].applies_to[1]: expected a string, got null"},
    {ITEM(",\"label\":\"\""), CS_ERR_MALFORMED, "sections[0].items[0].label: empty string"},
    {ITEM(",\"label\":null"), CS_ERR_MALFORMED,
     "sections[0].items[0].label: expected a string, got null"},
    {ITEM(",\"label\":\"tab\\there\""), CS_ERR_MALFORMED,
     "sections[0].items[0].label: control byte 0x09 at byte 3"},
    /* metric items */
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"moss\",\"op\":\">=\",\"value\":3,"
         "\"weight\":1}" TLR,
     CS_ERR_MALFORMED,
     "sections[0].items[0].metric: 'moss' is not a known metric (docs/scorecard.md lists them)"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"mos\",\"value\":3,\"weight\":1}" TLR,
     CS_ERR_MALFORMED, "sections[0].items[0].op: missing"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"mos\",\"op\":\"=<\",\"value\":3,"
         "\"weight\":1}" TLR,
     CS_ERR_MALFORMED, "sections[0].items[0].op: '=<' is not one of <=, <, >=, >, =="},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"mos\",\"op\":\"=\",\"value\":3,"
         "\"weight\":1}" TLR,
     CS_ERR_MALFORMED, "sections[0].items[0].op: '=' is not one of <=, <, >=, >, =="},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"mos\",\"op\":\">=\",\"weight\":1}" TLR,
     CS_ERR_MALFORMED, "sections[0].items[0].value: missing"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"mos\",\"op\":\">=\",\"value\":null,"
         "\"weight\":1}" TLR,
     CS_ERR_MALFORMED, "sections[0].items[0].value: expected a number, got null"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"mos\",\"op\":\">=\",\"value\":1e10,"
         "\"weight\":1}" TLR,
     CS_ERR_MALFORMED, "sections[0].items[0].value: |1e+10| is above 1e+09"},
    {HDR "{\"key\":\"k\",\"kind\":\"metric\",\"metric\":\"mos\",\"op\":\">=\",\"value\":1e400,"
         "\"weight\":1}" TLR,
     CS_ERR_OVERFLOW, "line 1, column 122: "},
    /* phrase items */
    {HDR "{\"key\":\"k\",\"kind\":\"phrase_absent\",\"weight\":1}" TLR, CS_ERR_MALFORMED,
     "sections[0].items[0].phrase: missing"},
    {HDR
     "{\"key\":\"k\",\"kind\":\"phrase_absent\",\"phrase\":\"Not My Problem\",\"weight\":1}" TLR,
     CS_ERR_MALFORMED, "sections[0].items[0].phrase: 'Not My Problem' is not [a-z0-9_-]{1,63}"},
    {PITEM(",\"metric\":\"mos\""), CS_ERR_MALFORMED,
     "sections[0].items[0].metric: not a field of a phrase_present item"},
    {PITEM(",\"within_s\":-1"), CS_ERR_MALFORMED,
     "sections[0].items[0].within_s: -1 is not in [0, 86400]"},
    {PITEM(",\"within_s\":86400.5"), CS_ERR_MALFORMED,
     "sections[0].items[0].within_s: 86400.5 is not in [0, 86400]"},
    {PITEM(",\"within_s\":\"10\""), CS_ERR_MALFORMED,
     "sections[0].items[0].within_s: expected a number, got string"},
    {PITEM(",\"within_s\":true"), CS_ERR_MALFORMED,
     "sections[0].items[0].within_s: expected a number, got boolean"},
    /* the second section's second item: the path counts both */
    {HDR OKI "]},{\"name\":\"T\",\"items\":[{\"key\":\"b\",\"kind\":\"metric\",\"metric\":"
             "\"mos\",\"op\":\">=\",\"value\":3,\"weight\":1},{\"key\":\"c\",\"kind\":"
             "\"metric\",\"metric\":\"mos\",\"op\":\"=<\",\"value\":3,\"weight\":1}" TLR,
     CS_ERR_MALFORMED, "sections[1].items[1].op: '=<' is not one of <=, <, >=, >, =="},
};

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *b = &bad_cases[i];
        scorecard *c = (scorecard *)&c; /* must be reset to NULL */
        char err[SC_ERR_MAX * 2];
        int rc = scorecard_parse(b->json, strlen(b->json), &c, err, sizeof err);
        if (rc != b->code || strncmp(err, b->msg, strlen(b->msg)) != 0 ||
            (strncmp(b->msg, "line ", 5) != 0 && strcmp(err, b->msg) != 0))
            fail_msg("case %zu: got %s \"%s\"\n  expected %s \"%s\"\n  input %s", i,
                     cs_err_name(rc), err, cs_err_name(b->code), b->msg, b->json);
        assert_null(c);
    }
}

/* Builds a card of ns sections with per items each (metric items). */
static char *big_card(size_t ns, size_t per)
{
    size_t cap = 200 + ns * (64 + per * 120);
    char *p = malloc(cap);
    assert_non_null(p);
    size_t o = (size_t)snprintf(p, cap, "{\"name\":\"big\",\"pass_score\":80,\"sections\":[");
    for (size_t s = 0; s < ns; s++) {
        o += (size_t)snprintf(p + o, cap - o, "%s{\"name\":\"s%zu\",\"items\":[", s ? "," : "", s);
        for (size_t i = 0; i < per; i++)
            o += (size_t)snprintf(p + o, cap - o,
                                  "%s{\"key\":\"k%zu_%zu\",\"kind\":\"metric\",\"metric\":"
                                  "\"hold_count\",\"op\":\"<\",\"value\":3,\"weight\":1}",
                                  i ? "," : "", s, i);
        o += (size_t)snprintf(p + o, cap - o, "]}");
    }
    snprintf(p + o, cap - o, "]}");
    return p;
}

static void test_limits(void **state)
{
    (void)state;
    char err[SC_ERR_MAX];
    scorecard *c = NULL;
    char *t = big_card(SC_MAX_SECTIONS, 8); /* 64 sections, 512 items: at the limit */
    assert_int_equal(scorecard_parse(t, strlen(t), &c, err, sizeof err), CS_OK);
    assert_int_equal(c->n_items, SC_MAX_ITEMS);
    assert_int_equal(c->sections[63].first, 504);
    char *cj = canon(c);
    assert_fixed_point(cj);
    free(cj);
    scorecard_free(c);
    free(t);

    t = big_card(SC_MAX_SECTIONS + 1, 1);
    assert_int_equal(scorecard_parse(t, strlen(t), &c, err, sizeof err), CS_ERR_LIMIT);
    assert_string_equal(err, "sections: more than 64 sections");
    assert_null(c);
    free(t);

    t = big_card(2, 257); /* 514 items: the 513th is refused */
    assert_int_equal(scorecard_parse(t, strlen(t), &c, err, sizeof err), CS_ERR_LIMIT);
    assert_string_equal(err, "sections[1].items[255]: more than 512 items in the card");
    free(t);

    /* 1 MiB + 1 bytes, valid JSON or not: refused before parsing */
    size_t n = SC_MAX_FILE_BYTES + 1;
    char *huge = malloc(n);
    assert_non_null(huge);
    memset(huge, ' ', n);
    huge[0] = '{';
    huge[n - 1] = '}';
    assert_int_equal(scorecard_parse(huge, n, &c, err, sizeof err), CS_ERR_LIMIT);
    assert_string_equal(err, "1048577 bytes: a scorecard is at most 1048576 bytes");
    /* exactly 1 MiB is parsed (and then refused for its content) */
    assert_int_equal(scorecard_parse(huge, n - 1, &c, err, sizeof err), CS_ERR_TRUNCATED);
    huge[n - 2] = '}';
    assert_int_equal(scorecard_parse(huge, n - 1, &c, err, sizeof err), CS_ERR_MALFORMED);
    assert_string_equal(err, "name: missing");
    free(huge);

    /* a long label at and over SC_LABEL_MAX */
    char lab[SC_LABEL_MAX + 2];
    memset(lab, 'x', sizeof lab);
    lab[SC_LABEL_MAX] = '\0';
    char buf[1024];
    snprintf(buf, sizeof buf, ITEM(",\"label\":\"%s\""), lab);
    assert_int_equal(scorecard_parse(buf, strlen(buf), &c, err, sizeof err), CS_OK);
    assert_int_equal(strlen(c->items[0].label), SC_LABEL_MAX);
    scorecard_free(c);
    lab[SC_LABEL_MAX] = 'x';
    lab[SC_LABEL_MAX + 1] = '\0';
    snprintf(buf, sizeof buf, ITEM(",\"label\":\"%s\""), lab);
    assert_int_equal(scorecard_parse(buf, strlen(buf), &c, err, sizeof err), CS_ERR_MALFORMED);
    assert_string_equal(err, "sections[0].items[0].label: longer than 512 bytes");
}

static void test_errbuf_and_args(void **state)
{
    (void)state;
    const char *j = ITEM(",\"op\":\"<\"");
    scorecard *c = NULL;
    /* duplicate "op": jsonp reports it */
    char small[12];
    memset(small, 'Z', sizeof small);
    assert_int_equal(scorecard_parse(j, strlen(j), &c, small, sizeof small), CS_ERR_MALFORMED);
    assert_string_equal(small, "line 1, col");
    char one[1] = {'Z'};
    assert_int_equal(scorecard_parse(j, strlen(j), &c, one, 1), CS_ERR_MALFORMED);
    assert_int_equal(one[0], '\0');
    assert_int_equal(scorecard_parse(j, strlen(j), &c, NULL, 0), CS_ERR_MALFORMED);
    assert_null(c);
    /* the input need not end in NUL and is not read past len */
    const char *ok = ITEM("");
    size_t n = strlen(ok);
    char *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, ok, n);
    assert_int_equal(scorecard_parse(copy, n, &c, NULL, 0), CS_OK);
    scorecard_free(c);
    assert_int_equal(scorecard_parse(copy, n - 1, &c, NULL, 0), CS_ERR_TRUNCATED);
    free(copy);
    char err[SC_ERR_MAX];
    assert_int_equal(scorecard_parse(NULL, 3, &c, err, sizeof err), CS_ERR_INVAL);
    assert_int_equal(scorecard_parse(ok, n, NULL, err, sizeof err), CS_ERR_INVAL);
    assert_int_equal(scorecard_parse(NULL, 0, &c, err, sizeof err), CS_ERR_TRUNCATED);
    assert_null(scorecard_canonical_json(NULL));
    scorecard_free(NULL);
    sc_result_free(NULL);

    assert_string_equal(sc_metric_name(SC_M_JITTER_MS), "jitter_ms");
    assert_string_equal(sc_metric_name(SC_M__COUNT), "?");
    assert_int_equal(sc_metric_from_name("dead_air_longest_seconds", 24),
                     SC_M_DEAD_AIR_LONGEST_SECONDS);
    assert_int_equal(sc_metric_from_name("dead_air_longest_second", 23), -1);
    assert_int_equal(sc_outcome_from_name("no_answer", 9), SC_OUT_NO_ANSWER);
    assert_int_equal(sc_outcome_from_name("no answer", 9), 0);
    assert_string_equal(sc_verdict_name(SC_FAIL), "fail");
    assert_string_equal(sc_op_name(SC_OP_EQ), "==");
    assert_string_equal(sc_kind_name(SC_KIND_PHRASE_ABSENT), "phrase_absent");
}

/* ---- evaluation ---- */

static scorecard *one_metric(const char *op, const char *value, const char *extra)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             HDR "{\"key\":\"m\",\"kind\":\"metric\",\"metric\":\"answer_seconds\",\"op\":\"%s\","
                 "\"value\":%s,\"weight\":10%s}" TLR,
             op, value, extra);
    return parse_ok(buf);
}

static sc_verdict eval1(const scorecard *c, const sc_call_facts *f, char **evidence)
{
    sc_result r;
    assert_int_equal(scorecard_eval(c, f, &r), CS_OK);
    assert_int_equal(r.n_items, c->n_items);
    sc_verdict v = r.items[0].verdict;
    assert_ptr_equal(r.items[0].item, &c->items[0]);
    assert_string_equal(r.items[0].section, "S");
    if (evidence)
        *evidence = strdup(r.items[0].evidence);
    /* points and max_points follow the verdict */
    if (v == SC_PASS)
        assert_true(r.items[0].points == c->items[0].weight &&
                    r.items[0].max_points == c->items[0].weight);
    else if (v == SC_FAIL)
        assert_true(r.items[0].points == 0 && r.items[0].max_points == c->items[0].weight);
    else
        assert_true(r.items[0].points == 0 && r.items[0].max_points == 0);
    sc_result_free(&r);
    assert_null(r.items);
    return v;
}

static void test_metric_items(void **state)
{
    (void)state;
    static const struct {
        const char *op;
        double v;
        sc_verdict want;
    } t[] = {
        {"<=", 19.999, SC_PASS}, {"<=", 20, SC_PASS},    {"<=", 20.001, SC_FAIL},
        {"<", 19.999, SC_PASS},  {"<", 20, SC_FAIL},     {"<", 21, SC_FAIL},
        {">=", 19.999, SC_FAIL}, {">=", 20, SC_PASS},    {">=", 25, SC_PASS},
        {">", 20, SC_FAIL},      {">", 20.001, SC_PASS}, {"==", 20, SC_PASS},
        {"==", 20.001, SC_FAIL}, {"==", 0, SC_FAIL},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        scorecard *c = one_metric(t[i].op, "20", "");
        sc_metric_value m[] = {{"mos", 4.1, 1}, {"answer_seconds", t[i].v, 1}};
        sc_call_facts f = {"answered", m, 2, NULL, 0, 0};
        sc_verdict v = eval1(c, &f, NULL);
        if (v != t[i].want)
            fail_msg("%g %s 20: %s, expected %s", t[i].v, t[i].op, sc_verdict_name(v),
                     sc_verdict_name(t[i].want));
        scorecard_free(c);
    }

    scorecard *c = one_metric("<=", "20", "");
    sc_metric_value m[] = {{"answer_seconds", 12.5, 1}};
    sc_call_facts f = {"answered", m, 1, NULL, 0, 0};
    char *ev;
    assert_int_equal(eval1(c, &f, &ev), SC_PASS);
    assert_string_equal(ev, "{\"metric\":\"answer_seconds\",\"op\":\"<=\",\"threshold\":20,"
                            "\"value\":12.5}");
    free(ev);
    m[0].value = 20.25;
    assert_int_equal(eval1(c, &f, &ev), SC_FAIL);
    assert_string_equal(ev, "{\"metric\":\"answer_seconds\",\"op\":\"<=\",\"threshold\":20,"
                            "\"value\":20.25}");
    free(ev);
    /* not available: present = 0, a NaN or infinite value, or not listed at all */
    m[0].present = 0;
    assert_int_equal(eval1(c, &f, &ev), SC_NA);
    assert_string_equal(ev, "{\"metric\":\"answer_seconds\",\"op\":\"<=\",\"threshold\":20,"
                            "\"value\":null,\"reason\":\"metric not available\"}");
    free(ev);
    m[0].present = 1;
    m[0].value = NAN;
    assert_int_equal(eval1(c, &f, NULL), SC_NA);
    m[0].value = INFINITY;
    assert_int_equal(eval1(c, &f, NULL), SC_NA);
    f.n_metrics = 0;
    f.metrics = NULL;
    assert_int_equal(eval1(c, &f, NULL), SC_NA);
    /* outcome not in applies_to (default: answered only) */
    m[0].value = 3;
    f.metrics = m;
    f.n_metrics = 1;
    f.outcome = "abandoned";
    assert_int_equal(eval1(c, &f, &ev), SC_NA);
    assert_string_equal(ev, "{\"reason\":\"not applicable to the outcome\",\"outcome\":"
                            "\"abandoned\"}");
    free(ev);
    scorecard_free(c);

    /* an item for abandoned calls (e.g. abandon time), N/A for answered ones */
    c = one_metric(">", "5", ",\"applies_to\":[\"abandoned\",\"no_answer\"]");
    f.outcome = "abandoned";
    m[0].value = 7;
    assert_int_equal(eval1(c, &f, NULL), SC_PASS);
    f.outcome = "no_answer";
    m[0].value = 5;
    assert_int_equal(eval1(c, &f, NULL), SC_FAIL);
    f.outcome = "answered";
    assert_int_equal(eval1(c, &f, NULL), SC_NA);
    scorecard_free(c);

    /* a negative threshold and -0 */
    c = one_metric(">=", "-0", "");
    m[0].value = -0.0;
    f.outcome = "answered";
    assert_int_equal(eval1(c, &f, &ev), SC_PASS);
    assert_string_equal(ev, "{\"metric\":\"answer_seconds\",\"op\":\">=\",\"threshold\":0,"
                            "\"value\":0}");
    free(ev);
    scorecard_free(c);
}

static scorecard *one_phrase(const char *kind, const char *within)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             HDR "{\"key\":\"p\",\"kind\":\"%s\",\"phrase\":\"greeting\",\"weight\":10%s%s}" TLR,
             kind, within ? ",\"within_s\":" : "", within ? within : "");
    return parse_ok(buf);
}

static void test_phrase_present(void **state)
{
    (void)state;
    scorecard *c = one_phrase("phrase_present", "10");
    sc_phrase_hit h[] = {{"closing", "scripted", 500, 2}, {"greeting", "scripted", 10000, 2}};
    sc_call_facts f = {"answered", NULL, 0, h, 2, 0};
    char *ev;
    /* exactly at the limit passes */
    assert_int_equal(eval1(c, &f, &ev), SC_PASS);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"within_s\":10,\"found\":true,"
                            "\"at_s\":10,\"channel\":2,\"kind\":\"scripted\"}");
    free(ev);
    /* 1 ms after it fails, with the late hit as evidence */
    h[1].start_ms = 10001;
    assert_int_equal(eval1(c, &f, &ev), SC_FAIL);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"within_s\":10,\"found\":false,"
                            "\"reason\":\"not within the time limit\",\"first_at_s\":10.001,"
                            "\"channel\":2,\"kind\":\"scripted\"}");
    free(ev);
    /* before the answer (negative) counts as within */
    h[1].start_ms = -1500;
    assert_int_equal(eval1(c, &f, &ev), SC_PASS);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"within_s\":10,\"found\":true,"
                            "\"at_s\":-1.5,\"channel\":2,\"kind\":\"scripted\"}");
    free(ev);
    /* the earliest of several hits is the one that counts, whatever the order */
    sc_phrase_hit h3[] = {{"greeting", "scripted", 45000, 1},
                          {"greeting", NULL, 3250, 2},
                          {"greeting", "scripted", 9000, 2}};
    f.hits = h3;
    f.n_hits = 3;
    assert_int_equal(eval1(c, &f, &ev), SC_PASS);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"within_s\":10,\"found\":true,"
                            "\"at_s\":3.25,\"channel\":2}");
    free(ev);
    /* not found: only other phrases; a name that merely starts the same */
    sc_phrase_hit other[] = {{"greetings", "keyword", 100, 1}, {"closing", "scripted", 1, 2}};
    f.hits = other;
    f.n_hits = 2;
    assert_int_equal(eval1(c, &f, &ev), SC_FAIL);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"within_s\":10,\"found\":false,"
                            "\"reason\":\"not found\"}");
    free(ev);
    f.n_hits = 0;
    f.hits = NULL;
    assert_int_equal(eval1(c, &f, NULL), SC_FAIL);
    /* no transcript: N/A */
    f.no_transcript = 1;
    assert_int_equal(eval1(c, &f, &ev), SC_NA);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"within_s\":10,\"reason\":"
                            "\"no transcript\"}");
    free(ev);
    f.no_transcript = 0;
    f.outcome = "busy";
    assert_int_equal(eval1(c, &f, NULL), SC_NA);
    scorecard_free(c);

    /* fractional limit and no limit */
    c = one_phrase("phrase_present", "2.5");
    sc_phrase_hit late[] = {{"greeting", "scripted", 2500, 2}};
    f.outcome = "answered";
    f.hits = late;
    f.n_hits = 1;
    assert_int_equal(eval1(c, &f, NULL), SC_PASS);
    late[0].start_ms = 2501;
    assert_int_equal(eval1(c, &f, NULL), SC_FAIL);
    scorecard_free(c);
    c = one_phrase("phrase_present", "0");
    late[0].start_ms = 0;
    assert_int_equal(eval1(c, &f, NULL), SC_PASS);
    late[0].start_ms = 1;
    assert_int_equal(eval1(c, &f, NULL), SC_FAIL);
    scorecard_free(c);
    c = one_phrase("phrase_present", NULL);
    late[0].start_ms = 3600000;
    assert_int_equal(eval1(c, &f, &ev), SC_PASS);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"found\":true,\"at_s\":3600,"
                            "\"channel\":2,\"kind\":\"scripted\"}");
    free(ev);
    scorecard_free(c);
}

static void test_phrase_absent(void **state)
{
    (void)state;
    scorecard *c = one_phrase("phrase_absent", NULL);
    sc_phrase_hit h[] = {{"greeting", "forbidden", 61000, 1}};
    sc_call_facts f = {"answered", NULL, 0, h, 1, 0};
    char *ev;
    assert_int_equal(eval1(c, &f, &ev), SC_FAIL);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"found\":true,\"at_s\":61,"
                            "\"channel\":1,\"kind\":\"forbidden\"}");
    free(ev);
    f.n_hits = 0;
    assert_int_equal(eval1(c, &f, &ev), SC_PASS);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"found\":false,\"reason\":\"not found\"}");
    free(ev);
    f.no_transcript = 1;
    assert_int_equal(eval1(c, &f, NULL), SC_NA);
    scorecard_free(c);

    /* with within_s only hits up to the limit count: a later one passes */
    c = one_phrase("phrase_absent", "30");
    f.no_transcript = 0;
    f.n_hits = 1;
    assert_int_equal(eval1(c, &f, &ev), SC_PASS);
    assert_string_equal(ev, "{\"phrase\":\"greeting\",\"within_s\":30,\"found\":false,"
                            "\"reason\":\"not within the time limit\",\"first_at_s\":61,"
                            "\"channel\":1,\"kind\":\"forbidden\"}");
    free(ev);
    h[0].start_ms = 30000;
    assert_int_equal(eval1(c, &f, NULL), SC_FAIL);
    scorecard_free(c);
}

/* Four items 10 + 10 + 20 + 10 (the example card). */
static void test_arithmetic_and_critical(void **state)
{
    (void)state;
    scorecard *c = parse_ok(EXAMPLE);
    sc_metric_value m[] = {{"answer_seconds", 25, 1}}; /* answer_time (10) fails */
    sc_phrase_hit h[] = {{"greeting", "scripted", 2000, 2}, {"verification", "scripted", 20000, 2}};
    sc_call_facts f = {"answered", m, 1, h, 2, 0};
    sc_result r;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    assert_int_equal(r.n_items, 4);
    assert_int_equal(r.items[0].verdict, SC_PASS);
    assert_int_equal(r.items[1].verdict, SC_FAIL);
    assert_int_equal(r.items[2].verdict, SC_PASS);
    assert_int_equal(r.items[3].verdict, SC_PASS);
    assert_string_equal(r.items[2].section, "Compliance");
    assert_true(r.points == 40.0);
    assert_true(r.max_points == 50.0);
    assert_true(r.score == 80.0); /* exactly: 100 * 4000 / 5000 */
    assert_int_equal(r.critical_failed, 0);
    assert_int_equal(r.passed, 1); /* 80 >= pass_score 80 */
    sc_result_free(&r);

    /* answer time N/A (no metric): 40 / 40 = 100 */
    f.n_metrics = 0;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    assert_int_equal(r.items[1].verdict, SC_NA);
    assert_true(r.score == 100.0 && r.max_points == 40.0);
    sc_result_free(&r);

    /* greeting late too: 30 / 50 = 60 -> not passed, no critical */
    f.n_metrics = 1;
    h[0].start_ms = 12000;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    assert_true(r.score == 60.0);
    assert_int_equal(r.passed, 0);
    assert_int_equal(r.critical_failed, 0);
    sc_result_free(&r);

    /* a forbidden phrase (critical, 10): score 90 with everything else right,
     * still not passed */
    m[0].value = 5;
    h[0].start_ms = 2000;
    sc_phrase_hit h2[] = {h[0], h[1], {"forbidden", "forbidden", 95000, 2}};
    f.hits = h2;
    f.n_hits = 3;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    assert_int_equal(r.items[3].verdict, SC_FAIL);
    assert_true(r.score == 80.0);
    assert_int_equal(r.critical_failed, 1);
    assert_int_equal(r.passed, 0);
    sc_result_free(&r);
    /* verification missing too (critical, 20): 50 %, critical */
    f.hits = h2 + 2;
    f.n_hits = 1;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    assert_true(r.score == 20.0);
    assert_int_equal(r.critical_failed, 1);
    sc_result_free(&r);
    scorecard_free(c);

    /* a critical item failing on a card whose pass score is 0 */
    const char *z = "{\"name\":\"z\",\"pass_score\":0,\"sections\":[{\"name\":\"S\",\"items\":["
                    "{\"key\":\"a\",\"kind\":\"metric\",\"metric\":\"transfers\",\"op\":\"==\","
                    "\"value\":0,\"weight\":1,\"critical\":true},"
                    "{\"key\":\"b\",\"kind\":\"metric\",\"metric\":\"mos\",\"op\":\">=\","
                    "\"value\":3.6,\"weight\":99}]}]}";
    c = parse_ok(z);
    sc_metric_value m2[] = {{"transfers", 1, 1}, {"mos", 4.2, 1}};
    sc_call_facts f2 = {"answered", m2, 2, NULL, 0, 0};
    assert_int_equal(scorecard_eval(c, &f2, &r), CS_OK);
    assert_true(r.score == 99.0);
    assert_int_equal(r.critical_failed, 1);
    assert_int_equal(r.passed, 0);
    sc_result_free(&r);
    m2[0].value = 0;
    m2[1].value = 3.5;
    assert_int_equal(scorecard_eval(c, &f2, &r), CS_OK);
    assert_true(r.score == 1.0);
    assert_int_equal(r.passed, 1); /* 1 >= 0 */
    sc_result_free(&r);
    /* a critical item that is N/A does not fail the call */
    m2[0].present = 0;
    assert_int_equal(scorecard_eval(c, &f2, &r), CS_OK);
    assert_true(r.score == 0.0);
    assert_int_equal(r.critical_failed, 0);
    assert_int_equal(r.passed, 1);
    sc_result_free(&r);
    scorecard_free(c);

    /* hundredths: 0.01 + 0.02 (one fails) gives exactly 100/3 */
    const char *h3 = "{\"name\":\"h\",\"pass_score\":33.33,\"sections\":[{\"name\":\"S\","
                     "\"items\":[{\"key\":\"a\",\"kind\":\"metric\",\"metric\":\"hold_count\","
                     "\"op\":\"<=\",\"value\":1,\"weight\":0.01},{\"key\":\"b\",\"kind\":"
                     "\"metric\",\"metric\":\"transfers\",\"op\":\"<=\",\"value\":0,\"weight\":"
                     "0.02}]}]}";
    c = parse_ok(h3);
    sc_metric_value m3[] = {{"hold_count", 1, 1}, {"transfers", 2, 1}};
    sc_call_facts f3 = {"answered", m3, 2, NULL, 0, 0};
    assert_int_equal(scorecard_eval(c, &f3, &r), CS_OK);
    assert_true(r.score == 100.0 / 3.0);
    assert_true(r.points == 0.01 && r.max_points == 0.03);
    assert_int_equal(r.passed, 1);
    sc_result_free(&r);
    scorecard_free(c);
}

static void test_all_na(void **state)
{
    (void)state;
    scorecard *c = parse_ok(EXAMPLE);
    sc_metric_value m[] = {{"answer_seconds", 3, 1}};
    sc_call_facts f = {"abandoned", m, 1, NULL, 0, 0};
    sc_result r;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    assert_int_equal(r.n_items, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(r.items[i].verdict, SC_NA);
        assert_true(r.items[i].points == 0 && r.items[i].max_points == 0);
    }
    assert_true(isnan(r.score));
    assert_true(r.points == 0 && r.max_points == 0);
    assert_int_equal(r.critical_failed, 0);
    assert_int_equal(r.passed, 0);
    sc_result_free(&r);
    assert_true(isnan(r.score) && r.n_items == 0);
    scorecard_free(c);
}

static void test_eval_errors(void **state)
{
    (void)state;
    scorecard *c = parse_ok(EXAMPLE);
    sc_metric_value m[] = {{"answer_seconds", 3, 1}, {"answer_seconds", 4, 1}};
    sc_phrase_hit h[] = {{NULL, "scripted", 1, 1}};
    sc_result r;
    sc_call_facts f = {"answered", m, 1, NULL, 0, 0};
    assert_int_equal(scorecard_eval(c, &f, NULL), CS_ERR_INVAL);
    assert_int_equal(scorecard_eval(NULL, &f, &r), CS_ERR_INVAL);
    assert_true(r.n_items == 0 && r.items == NULL && isnan(r.score));
    assert_int_equal(scorecard_eval(c, NULL, &r), CS_ERR_INVAL);
    static const char *const bad_outcomes[] = {"Answered", "", "answered ", "unknown"};
    for (size_t i = 0; i < 4; i++) {
        f.outcome = bad_outcomes[i];
        assert_int_equal(scorecard_eval(c, &f, &r), CS_ERR_INVAL);
    }
    f.outcome = NULL;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_ERR_INVAL);
    f.outcome = "answered";
    f.n_metrics = 2; /* listed twice */
    assert_int_equal(scorecard_eval(c, &f, &r), CS_ERR_INVAL);
    assert_null(r.items);
    m[1].name = "answer_secs";
    assert_int_equal(scorecard_eval(c, &f, &r), CS_ERR_INVAL);
    m[1].name = NULL;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_ERR_INVAL);
    m[1].name = "mos";
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    sc_result_free(&r);
    f.hits = h;
    f.n_hits = 1;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_ERR_INVAL);
    f.hits = NULL;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_ERR_INVAL);
    f.n_hits = 0;
    f.metrics = NULL;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_ERR_INVAL);
    f.n_metrics = 0;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    sc_result_free(&r);
    scorecard_free(c);
}

/* Every allocation of parsing (the example card, the shipped card) and of
 * evaluating fails once in turn: CS_ERR_NOMEM with "out of memory" and
 * nothing of scorecard.c's left allocated, until the run that succeeds. */
static void torture_parse(const char *text, size_t len)
{
    size_t n;
    for (n = 1; n < 10000; n++) {
        scorecard *c = (scorecard *)&c;
        char err[SC_ERR_MAX];
        sct_calls = 0;
        sct_fail_at = n;
        int rc = scorecard_parse(text, len, &c, err, sizeof err);
        sct_fail_at = 0;
        if (rc == CS_OK) {
            assert_true(sct_calls < n); /* no allocation was failed */
            char *t = canon(c);
            free(t);
            scorecard_free(c);
            break;
        }
        assert_int_equal(rc, CS_ERR_NOMEM);
        assert_string_equal(err, "out of memory");
        assert_null(c);
        assert_int_equal(sct_live, 0);
    }
    assert_true(n > 10); /* the card's strings are allocated one by one */
    assert_int_equal(sct_live, 0);
}

static void test_nomem(void **state)
{
    (void)state;
    torture_parse(EXAMPLE, strlen(EXAMPLE));
    char path[4096];
    size_t len;
    char *text = ts_read_file(ts_source_path(path, sizeof path, "deploy/scorecard.json"), &len);
    assert_non_null(text);
    torture_parse(text, len);
    free(text);

    scorecard *c = parse_ok(EXAMPLE);
    sc_metric_value m[] = {{"answer_seconds", 3, 1}};
    sc_call_facts f = {"answered", m, 1, NULL, 0, 0};
    sc_result r;
    size_t card_blocks = sct_live;
    assert_true(card_blocks >= 17); /* card, sections, items, 3 + 4 x 3 strings */
    sct_calls = 0;
    sct_fail_at = 1;
    assert_int_equal(scorecard_eval(c, &f, &r), CS_ERR_NOMEM);
    sct_fail_at = 0;
    assert_true(r.n_items == 0 && r.items == NULL && isnan(r.score));
    assert_int_equal(sct_live, card_blocks);
    assert_int_equal(scorecard_eval(c, &f, &r), CS_OK);
    sc_result_free(&r);
    scorecard_free(c);
    assert_int_equal(sct_live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example),       cmocka_unit_test(test_canonical_equivalents),
        cmocka_unit_test(test_default_card),  cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_errbuf_and_args),
        cmocka_unit_test(test_metric_items),  cmocka_unit_test(test_phrase_present),
        cmocka_unit_test(test_phrase_absent), cmocka_unit_test(test_arithmetic_and_critical),
        cmocka_unit_test(test_all_na),        cmocka_unit_test(test_eval_errors),
        cmocka_unit_test(test_nomem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
