/*
 * phrases.h — spotting the phrases a scorecard looks for in a transcript.
 *
 * The list. A text file (transcribe.phrases), one phrase per line:
 *
 *     # comment
 *     NAME KIND SIDE: words of the phrase
 *     greeting scripted agent: thank you for calling
 *
 * NAME is [a-z0-9_-]{1,63}; KIND is scripted, forbidden or keyword (the
 * phrase_hits.kind values); SIDE is agent, customer or any. The words are
 * normalised like the transcript (lower case, apostrophes dropped, anything
 * else not alphanumeric separates words), 1..PH_MAX_WORDS words. A name may
 * appear on several lines: each line is one wording of the same phrase
 * (hits are reported under the name).
 *
 * The search. Recognition errors are the rule on telephone audio, so plain
 * text matching (every word of the phrase, in order, contiguous) misses
 * phrases that were said. ph_spot aligns each wording against the whole
 * channel's word sequence (across utterance boundaries) with a word-level
 * edit distance in which the phrase must be consumed entirely and the
 * transcript may be entered and left anywhere (semi-global alignment):
 * cost 1 per substituted, missing or extra word. The match score is
 * 1 - cost / phrase words; a stretch scoring at least min_score is a hit.
 * Non-overlapping hits are reported left to right, each at the best-scoring
 * end of its stretch. Evidence: the first and last matched transcript
 * words' times; confidence = score x the mean posterior of the matched
 * words. min_score 1.0 is plain text matching (bench/phrases measures both;
 * docs/transcribe.md has the figures and the default).
 *
 * Ownership: ph_list owns its phrases (ph_list_free). Hits borrow the name
 * from the list (valid while the list lives) and own `matched`
 * (ph_hits_free).
 */
#ifndef CALLSCOPE_PHRASES_H
#define CALLSCOPE_PHRASES_H

#include <stddef.h>
#include <stdint.h>

#include "asr.h"

#define PH_MAX_WORDS   32
#define PH_MAX_PHRASES 1000

typedef enum ph_kind { PH_SCRIPTED = 0, PH_FORBIDDEN = 1, PH_KEYWORD = 2 } ph_kind;

/* "scripted", "forbidden", "keyword" */
const char *ph_kind_name(ph_kind k);

typedef struct ph_phrase {
    char *name;
    ph_kind kind;
    int side;     /* 0 any, 1 customer, 2 agent */
    char **words; /* normalised */
    size_t n_words;
} ph_phrase;

typedef struct ph_list {
    ph_phrase *v;
    size_t n;
} ph_list;

/* Parses a list (text, len). CS_OK; CS_ERR_MALFORMED with err naming the
 * line; CS_ERR_LIMIT past PH_MAX_PHRASES; CS_ERR_NOMEM. */
int ph_list_parse(const char *text, size_t len, ph_list *out, char *err, size_t errcap);
/* Reads and parses a file (at most 1 MB). Adds CS_ERR_NOTFOUND / CS_ERR_IO. */
int ph_list_load(const char *path, ph_list *out, char *err, size_t errcap);
void ph_list_free(ph_list *l);

typedef struct ph_hit {
    int channel;       /* 1 customer, 2 agent */
    ph_kind kind;
    const char *name;  /* borrowed from the list */
    char *matched;     /* the transcript words that matched, joined by spaces */
    int32_t start_ms, end_ms;
    double score;      /* 1 - edit cost / phrase words */
    double confidence; /* score x mean posterior of the matched words */
    size_t utt_index;  /* utterance of the first matched word, in the channel's array */
} ph_hit;

/*
 * Spots every phrase of l whose side allows `channel` in the channel's
 * utterances (time order), appending hits to *hits / *nhits (grown with
 * realloc; start with NULL / 0). min_score in (0, 1]. CS_OK, CS_ERR_INVAL,
 * CS_ERR_NOMEM.
 */
int ph_spot(const ph_list *l, int channel, const asr_utt *utts, size_t n, double min_score,
            ph_hit **hits, size_t *nhits);
void ph_hits_free(ph_hit *h, size_t n);

#endif
