/*
 * scorecard.h — QA scorecards: the file format, a strict parser, the canonical
 * text stored per version, and the evaluation of one call.
 *
 * A scorecard is a JSON file (docs/scorecard.md is the reference):
 *
 *   {"name": "acme-qa", "pass_score": 80,
 *    "sections": [{"name": "Opening", "items": [
 *       {"key": "greeting", "kind": "phrase_present", "phrase": "greeting",
 *        "within_s": 10, "weight": 10},
 *       {"key": "answer_time", "kind": "metric", "metric": "answer_seconds",
 *        "op": "<=", "value": 20, "weight": 10}]}]}
 *
 * What this module owns and what it does not: it parses a card into a
 * read-only scorecard, writes the card's canonical JSON, and evaluates a card
 * against the facts of one call that the caller collected (metrics, phrase
 * hits, outcome). It never touches the database, never reads files, never
 * logs: the scoring worker loads the file, stores scorecard_canonical_json()
 * as a new scorecards version when that text differs from the active
 * version's, computes the facts and stores the sc_result.
 *
 * Parsing is strict: unknown fields, missing required fields, wrong types,
 * duplicate item keys or section names, empty sections, a card without item,
 * weights <= 0 and values out of range are rejected with a message naming the
 * JSON path, e.g.
 *   sections[1].items[0].op: '=<' is not one of <=, <, >=, >, ==
 * A JSON syntax error gives "line L, column C: reason" (common/jsonp.h).
 *
 * Canonical JSON: compact, members in a fixed order, every default written
 * out (label = key when absent, critical false, applies_to ["answered"],
 * within_s null), applies_to in the fixed outcome order, numbers in the
 * shortest form that reads back exactly. scorecard_parse(canonical) gives a
 * card whose canonical text is byte-for-byte the same (the fuzz target checks
 * it), so two files that mean the same card have the same canonical text.
 *
 * Scoring arithmetic (scorecard_eval): each item is pass, fail or na.
 *   points     = weight on pass, 0 on fail and na;
 *   max_points = weight on pass and fail, 0 on na (an N/A item neither earns
 *                nor costs anything);
 *   score      = 100 * sum(points) / sum(max_points), NaN when every item is
 *                N/A (the worker stores NULL);
 *   critical_failed = some critical item failed;
 *   passed     = !critical_failed && score >= pass_score (0 when score is NaN).
 * Weights are multiples of 0.01 (points are numeric(7,2) in score_items); sums
 * are done in integer hundredths so 10+10+20+10 with one 10 failed is exactly 80.
 *
 * N/A rules: an item whose applies_to does not list the call's outcome; a
 * metric item whose metric the call does not have (present = 0, or a value that
 * is not finite); a phrase item when the call has no transcript
 * (sc_call_facts.no_transcript).
 *
 * Ownership: scorecard_parse() gives a card the caller frees with
 * scorecard_free(); all its fields are read-only. scorecard_canonical_json()
 * returns a malloc'd NUL-terminated text (caller frees). scorecard_eval()
 * borrows the card and the facts and fills the caller's sc_result, which owns
 * its items and evidence texts (sc_result_free); each result item borrows its
 * sc_item (and section name) from the card, so the card must outlive the
 * result.
 *
 * SECURITY: the card file may be edited by anyone with access to the
 * configuration: the parser reads at most SC_MAX_FILE_BYTES through the strict
 * jsonp parser, caps sections, items and string lengths, and never reads past
 * (json, len). Quoted values in error messages are cut and escaped (no control
 * bytes reach the log).
 */
#ifndef CALLSCOPE_SCORECARD_H
#define CALLSCOPE_SCORECARD_H

#include <stddef.h>
#include <stdint.h>

#define SC_MAX_FILE_BYTES (1024u * 1024) /* a longer file: CS_ERR_LIMIT */
#define SC_MAX_SECTIONS   64             /* sections per card */
#define SC_MAX_ITEMS      512            /* items per card (all sections) */
#define SC_KEY_MAX        63             /* item key: [a-z0-9_]{1,63} */
#define SC_PHRASE_MAX     63             /* phrase name: [a-z0-9_-]{1,63} */
#define SC_NAME_MAX       128            /* card and section names, bytes */
#define SC_LABEL_MAX      512            /* item label, bytes */
#define SC_WEIGHT_MAX     1000.0         /* weight in (0, 1000], a multiple of 0.01 */
#define SC_WITHIN_MAX     86400.0        /* within_s in [0, 86400] */
#define SC_VALUE_ABS_MAX  1e9            /* |metric threshold| <= 1e9 */
#define SC_ERR_MAX        256            /* a sensible errcap for scorecard_parse */

typedef enum sc_kind {
    SC_KIND_METRIC = 0,     /* "metric": metric op value */
    SC_KIND_PHRASE_PRESENT, /* "phrase_present": a hit of the phrase (within within_s) */
    SC_KIND_PHRASE_ABSENT,  /* "phrase_absent": no hit of the phrase (within within_s) */
} sc_kind;

typedef enum sc_op {
    SC_OP_LE = 0, /* "<=" */
    SC_OP_LT,     /* "<"  */
    SC_OP_GE,     /* ">=" */
    SC_OP_GT,     /* ">"  */
    SC_OP_EQ,     /* "==" (exact: meant for counts, e.g. transfers == 0) */
} sc_op;

/* The metrics a metric item may test; the names and units are the file's
 * spelling (docs/scorecard.md). Never renumbered. */
typedef enum sc_metric {
    SC_M_ANSWER_SECONDS = 0,       /* "answer_seconds": queue wait until an agent answered, s */
    SC_M_RING_SECONDS,             /* "ring_seconds": answering agent leg ringing, s */
    SC_M_TALK_SECONDS,             /* "talk_seconds": connected minus hold, s */
    SC_M_HOLD_SECONDS,             /* "hold_seconds": total hold, s */
    SC_M_HOLD_COUNT,               /* "hold_count": holds, count */
    SC_M_TRANSFERS,                /* "transfers": count */
    SC_M_HANDLE_SECONDS,           /* "handle_seconds": talk + hold, s */
    SC_M_DEAD_AIR_SECONDS,         /* "dead_air_seconds": total dead air, s */
    SC_M_DEAD_AIR_LONGEST_SECONDS, /* "dead_air_longest_seconds": longest dead air, s */
    SC_M_OVERTALK_SECONDS,         /* "overtalk_seconds": total overtalk, s */
    SC_M_AGENT_TALK_RATIO,         /* "agent_talk_ratio": agent / (agent + customer), 0..1 */
    SC_M_MOS,                      /* "mos": worst stream MOS estimate, 1..5 */
    SC_M_LOSS_PCT,                 /* "loss_pct": packets lost / expected, percent */
    SC_M_JITTER_MS,                /* "jitter_ms": interarrival jitter, ms */
    SC_M__COUNT
} sc_metric;

/* Call outcomes (calls.outcome), as bits of sc_item.applies_to. */
typedef enum sc_outcome {
    SC_OUT_ANSWERED = 1u << 0,  /* "answered" */
    SC_OUT_ABANDONED = 1u << 1, /* "abandoned" */
    SC_OUT_BUSY = 1u << 2,      /* "busy" */
    SC_OUT_NO_ANSWER = 1u << 3, /* "no_answer" */
    SC_OUT_FAILED = 1u << 4,    /* "failed" */
} sc_outcome;
#define SC_OUT_COUNT 5

/* One item (read-only). */
typedef struct sc_item {
    char *key;   /* [a-z0-9_]{1,SC_KEY_MAX}, unique in the card */
    char *label; /* the label, or a copy of key when the file has none */
    sc_kind kind;
    double weight;       /* (0, SC_WEIGHT_MAX], a multiple of 0.01 */
    int64_t weight_c;    /* weight in hundredths (weight * 100, exact) */
    int critical;        /* 1: a fail fails the whole call */
    unsigned applies_to; /* sc_outcome bits, never 0 */
    size_t section;      /* index into scorecard.sections */
    /* SC_KIND_METRIC */
    sc_metric metric;
    sc_op op;
    double value; /* the threshold, finite (-0 is stored as 0) */
    /* SC_KIND_PHRASE_* */
    char *phrase;    /* phrase name ([a-z0-9_-]{1,SC_PHRASE_MAX}); NULL for metric */
    int has_within;  /* 1: only hits starting <= within_s after the answer count */
    double within_s; /* [0, SC_WITHIN_MAX] when has_within */
} sc_item;

/* One section: items[first .. first + n_items) of the card (read-only). */
typedef struct sc_section {
    char *name; /* 1..SC_NAME_MAX bytes, unique in the card */
    size_t first;
    size_t n_items; /* >= 1 */
} sc_section;

typedef struct scorecard {
    char *name;        /* 1..SC_NAME_MAX bytes: scorecards.name */
    double pass_score; /* [0, 100] */
    size_t n_sections; /* 1..SC_MAX_SECTIONS */
    sc_section *sections;
    size_t n_items; /* 1..SC_MAX_ITEMS, in file order */
    sc_item *items;
} scorecard;

/* Parses a card from json[0, len) (no NUL needed). On CS_OK *out is a new card
 * (scorecard_free). On error *out is NULL and err (if errcap > 0) holds a
 * NUL-terminated message naming the JSON path, cut to errcap. Returns
 *   CS_ERR_MALFORMED  bad JSON syntax or content (the message says which);
 *   CS_ERR_TRUNCATED  the JSON text ends inside a value;
 *   CS_ERR_LIMIT      len > SC_MAX_FILE_BYTES, too deep, too many sections/items;
 *   CS_ERR_OVERFLOW   a number out of range of a double;
 *   CS_ERR_NOMEM, CS_ERR_INVAL (NULL json with len > 0, NULL out). */
int scorecard_parse(const char *json, size_t len, scorecard **out, char *err, size_t errcap);
/* Frees the card and its strings. NULL is a no-op. */
void scorecard_free(scorecard *card);

/* The canonical JSON text of the card (compact, fixed member order, defaults
 * written out; see the top of this file), malloc'd and NUL-terminated (strings of
 * a parsed card hold no NUL or control byte, so strlen() is its length). NULL
 * when out of memory or card is NULL. */
char *scorecard_canonical_json(const scorecard *card);

/* ---- evaluation ---- */

/* A metric of the call. Metrics the caller does not list, or lists with
 * present = 0 or a non-finite value, are "not available": their items are N/A. */
typedef struct sc_metric_value {
    const char *name; /* a metric name of the list above, e.g. "answer_seconds" */
    double value;     /* in the unit of the list above */
    int present;      /* 0: the call does not have it (e.g. mos without RTP) */
} sc_metric_value;

/* A phrase heard in the call (phrase_hits). */
typedef struct sc_phrase_hit {
    const char *name; /* phrase name (phrase_hits.name) */
    const char *kind; /* "scripted", ... (evidence only, first 32 bytes; may be NULL) */
    int64_t start_ms; /* start relative to the agent's answer; may be negative */
    int channel;      /* 1 or 2 (evidence only) */
} sc_phrase_hit;

/* What is known about one call. All borrowed for the duration of the call. */
typedef struct sc_call_facts {
    const char *outcome; /* "answered", "abandoned", "busy", "no_answer", "failed" */
    const sc_metric_value *metrics;
    size_t n_metrics;
    const sc_phrase_hit *hits;
    size_t n_hits;
    int no_transcript; /* 1: phrase spotting did not run: phrase items are N/A */
} sc_call_facts;

typedef enum sc_verdict {
    SC_NA = 0, /* "na" */
    SC_PASS,   /* "pass" */
    SC_FAIL,   /* "fail" */
} sc_verdict;

/* The result of one item (score_items row). */
typedef struct sc_item_result {
    const sc_item *item; /* borrowed from the card */
    const char *section; /* the section's name, borrowed from the card */
    sc_verdict verdict;
    double points;     /* weight on pass, else 0 */
    double max_points; /* weight on pass/fail, 0 on na */
    char *evidence;    /* compact JSON object (owned; NUL-terminated) */
} sc_item_result;

typedef struct sc_result {
    size_t n_items; /* = card->n_items, same order */
    sc_item_result *items;
    double points;     /* sum of points */
    double max_points; /* sum of max_points (0 when every item is N/A) */
    double score;      /* 100 * points / max_points in [0, 100]; NaN when all N/A */
    int critical_failed;
    int passed; /* !critical_failed && score >= pass_score; 0 when score is NaN */
} sc_result;

/* Evaluates the card against one call's facts into *out (which the caller
 * frees with sc_result_free, also after an error). Returns CS_OK,
 * CS_ERR_INVAL (NULL card/facts/out/outcome, an outcome not in the list, a
 * metrics or hits array NULL with a non-zero count, an entry with a NULL
 * name, a metric name not in the list or listed twice), CS_ERR_NOMEM. On
 * error *out is left empty (n_items 0, score NaN). Pure: no globals, no I/O. */
int scorecard_eval(const scorecard *card, const sc_call_facts *facts, sc_result *out);
/* Frees the items and evidence texts and leaves *res empty. NULL is a no-op. */
void sc_result_free(sc_result *res);

/* Names as the file spells them; "?" for values out of range. */
const char *sc_kind_name(sc_kind k);
const char *sc_op_name(sc_op op);
const char *sc_metric_name(sc_metric m);
const char *sc_verdict_name(sc_verdict v); /* "pass", "fail", "na" (score_items.result) */
/* The metric with this name, or -1 (CS_ERR_NOTFOUND is not used: the enum is >= 0). */
int sc_metric_from_name(const char *name, size_t len);
/* The sc_outcome bit of an outcome name, or 0 when it is not one. */
unsigned sc_outcome_from_name(const char *name, size_t len);

#endif
