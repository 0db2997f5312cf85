/*
 * fuzz_scorecard.c — libFuzzer target for scoring/scorecard.c.
 *
 * The input is the card file itself (libFuzzer's buffer is exactly `size`
 * bytes, so ASan reports any read past it).
 *
 * Invariants checked (abort on violation):
 *   - an error has a known negative code, *out stays NULL and the message is
 *     non-empty, NUL-terminated and free of control bytes; a 1-byte buffer
 *     gets "";
 *   - a parsed card is well formed: 1..SC_MAX_SECTIONS sections covering
 *     items[0 .. n_items) in order without gap, every item's section index
 *     matching, keys unique and [a-z0-9_], weights in (0, 1000] with
 *     weight_c = weight * 100, applies_to non-zero, phrase set iff a phrase
 *     kind;
 *   - canonical JSON parses again and gives the same canonical text (byte for
 *     byte);
 *   - evaluated against fixed facts (answered with every metric and a few
 *     phrase hits; answered without transcript and without metrics;
 *     abandoned; no_answer): CS_OK, one result per item, verdicts and points
 *     consistent (points <= max_points, N/A has neither), the score in
 *     [0, 100] or NaN exactly when every item is N/A, critical_failed and
 *     passed as the documented formulas say, every evidence text a JSON
 *     object jsonp accepts.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jsonp.h"
#include "scorecard.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static const sc_metric_value all_metrics[] = {
    {"answer_seconds", 12.5, 1},   {"ring_seconds", 4, 1},       {"talk_seconds", 240, 1},
    {"hold_seconds", 61, 1},       {"hold_count", 2, 1},         {"transfers", 0, 1},
    {"handle_seconds", 301, 1},    {"dead_air_seconds", 10, 1},  {"dead_air_longest_seconds", 6, 1},
    {"overtalk_seconds", 3.25, 1}, {"agent_talk_ratio", 0.7, 1}, {"mos", 0, 0},
    {"loss_pct", 0.5, 1},          {"jitter_ms", NAN, 1},
};

static const sc_phrase_hit hits[] = {
    {"greeting", "scripted", 10000, 2},     {"greeting", "scripted", -250, 2},
    {"verification", "scripted", 45000, 2}, {"forbidden", "forbidden", 120500, 2},
    {"cancel", "keyword", 7000, 1},         {"closing", NULL, 290000, 2},
};

static void check_card(const scorecard *c)
{
    CHECK(c->name && c->name[0]);
    CHECK(c->pass_score >= 0 && c->pass_score <= 100);
    CHECK(c->n_sections >= 1 && c->n_sections <= SC_MAX_SECTIONS);
    CHECK(c->n_items >= 1 && c->n_items <= SC_MAX_ITEMS);
    size_t next = 0;
    for (size_t s = 0; s < c->n_sections; s++) {
        const sc_section *sec = &c->sections[s];
        CHECK(sec->name && sec->name[0] && sec->first == next && sec->n_items >= 1);
        for (size_t i = sec->first; i < sec->first + sec->n_items; i++)
            CHECK(c->items[i].section == s);
        next += sec->n_items;
    }
    CHECK(next == c->n_items);
    for (size_t i = 0; i < c->n_items; i++) {
        const sc_item *it = &c->items[i];
        size_t kl = strlen(it->key);
        CHECK(kl >= 1 && kl <= SC_KEY_MAX &&
              strspn(it->key, "abcdefghijklmnopqrstuvwxyz"
                              "0123456789_") == kl);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(it->key, c->items[j].key) != 0);
        CHECK(it->label && it->label[0]);
        CHECK(it->weight > 0 && it->weight <= SC_WEIGHT_MAX);
        CHECK(it->weight_c >= 1 && (double)it->weight_c / 100.0 == it->weight);
        CHECK(it->applies_to != 0 && it->applies_to < (1u << SC_OUT_COUNT));
        if (it->kind == SC_KIND_METRIC) {
            CHECK(!it->phrase && (unsigned)it->metric < SC_M__COUNT && (unsigned)it->op <= 4);
            CHECK(isfinite(it->value));
        } else {
            CHECK(it->kind == SC_KIND_PHRASE_PRESENT || it->kind == SC_KIND_PHRASE_ABSENT);
            CHECK(it->phrase && it->phrase[0]);
            CHECK(!it->has_within || (it->within_s >= 0 && it->within_s <= SC_WITHIN_MAX));
        }
    }
}

static void check_eval(const scorecard *c, const sc_call_facts *f)
{
    sc_result r;
    CHECK(scorecard_eval(c, f, &r) == CS_OK);
    CHECK(r.n_items == c->n_items);
    int crit = 0;
    double pts = 0, max = 0;
    for (size_t i = 0; i < r.n_items; i++) {
        const sc_item_result *ir = &r.items[i];
        CHECK(ir->item == &c->items[i]);
        CHECK(ir->section == c->sections[c->items[i].section].name);
        switch (ir->verdict) {
        case SC_PASS:
            CHECK(ir->points == ir->item->weight && ir->max_points == ir->item->weight);
            break;
        case SC_FAIL:
            CHECK(ir->points == 0 && ir->max_points == ir->item->weight);
            crit |= ir->item->critical;
            break;
        case SC_NA:
            CHECK(ir->points == 0 && ir->max_points == 0);
            break;
        default:
            abort();
        }
        pts += ir->points;
        max += ir->max_points;
        CHECK(ir->evidence);
        jsonp_doc *doc = NULL;
        CHECK(jsonp_parse(ir->evidence, strlen(ir->evidence), NULL, &doc, NULL) == CS_OK);
        CHECK(jsonp_type_of(jsonp_root(doc)) == JSONP_OBJECT);
        jsonp_free(doc);
    }
    CHECK(r.critical_failed == crit);
    CHECK(r.points <= r.max_points);
    CHECK(fabs(r.points - pts) < 1e-6 && fabs(r.max_points - max) < 1e-6);
    if (r.max_points == 0) {
        CHECK(isnan(r.score) && !r.passed);
    } else {
        CHECK(r.score >= 0 && r.score <= 100);
        CHECK(r.passed == (!crit && r.score >= c->pass_score));
    }
    sc_result_free(&r);
    CHECK(r.items == NULL && r.n_items == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scorecard *c = (scorecard *)&c;
    char err[SC_ERR_MAX];
    int rc = scorecard_parse((const char *)data, size, &c, err, sizeof err);
    if (rc != CS_OK) {
        CHECK(rc < 0 && rc > CS_ERR__LAST && c == NULL);
        size_t n = strnlen(err, sizeof err);
        CHECK(n > 0 && n < sizeof err);
        for (size_t i = 0; i < n; i++)
            CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f);
        char one = 'Z';
        CHECK(scorecard_parse((const char *)data, size, &c, &one, 1) == rc && one == '\0');
        return 0;
    }
    check_card(c);

    char *canon = scorecard_canonical_json(c);
    CHECK(canon);
    scorecard *c2 = NULL;
    CHECK(scorecard_parse(canon, strlen(canon), &c2, err, sizeof err) == CS_OK);
    char *canon2 = scorecard_canonical_json(c2);
    CHECK(canon2 && strcmp(canon, canon2) == 0);
    CHECK(c2->n_items == c->n_items && c2->n_sections == c->n_sections);
    free(canon2);
    free(canon);
    scorecard_free(c2);

    sc_call_facts f = {"answered",
                       all_metrics,
                       sizeof all_metrics / sizeof all_metrics[0],
                       hits,
                       sizeof hits / sizeof hits[0],
                       0};
    check_eval(c, &f);
    sc_call_facts bare = {"answered", NULL, 0, NULL, 0, 1};
    check_eval(c, &bare);
    f.outcome = "abandoned";
    check_eval(c, &f);
    f.outcome = "no_answer";
    f.n_hits = 0;
    check_eval(c, &f);

    scorecard_free(c);
    return 0;
}
