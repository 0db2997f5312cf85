/*
 * phspot.c — bench_phspot: phrase spotting (transcribe/phrases.c, ph_spot)
 * re-run on transcripts callscope-transcribe already wrote, at several
 * min_score settings, for the phrase-spotting benchmark
 * (bench/phrases/run.sh). Recognition is the expensive part; spotting is
 * not, so the benchmark transcribes once and sweeps here.
 *
 *     bench_phspot --phrases LIST --min-score 1.0,0.6 TRANSCRIPTS.jsonl
 *
 * TRANSCRIPTS.jsonl is callscope-transcribe --format json output: one JSON
 * object per line with "path" and "channels": [{"channel", "utterances":
 * [{"start_ms", "end_ms", "text", "confidence", "words": [{"start_ms",
 * "end_ms", "word", "confidence"}]}]}]. For every line and every min_score
 * (in the order given) one line is printed:
 *
 *     {"path": P, "min_score": S, "phrases": [{"name", "kind", "channel",
 *      "start_ms", "end_ms", "matched", "score", "confidence"}, ...]}
 *
 * the same hit objects, channel by channel, that callscope-transcribe prints
 * for the file at transcribe.phrase_min_score = S (run.sh checks that they
 * agree at the default).
 *
 * Exit: 0 done, 1 ph_spot failed, 2 usage, 4 an input cannot be read or
 * parsed. Inputs are our own program's output, parsed by common/jsonp.h
 * (strict, bounded).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr.h"
#include "error.h"
#include "json.h"
#include "jsonp.h"
#include "phrases.h"

#define PS_MAX_SCORES 32
#define PS_MAX_LINE   ((size_t)64 << 20)

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_phspot --phrases LIST [--min-score S[,S...]] TRANSCRIPTS.jsonl\n"
               "Runs ph_spot (transcribe/phrases.c) on callscope-transcribe --format json\n"
               "output at each min_score and prints one JSON line per file and score.\n"
               "  -p, --phrases LIST     phrase list (deploy/phrases.conf format)\n"
               "  -s, --min-score LIST   comma-separated scores in (0, 1] (default 0.6)\n"
               "  -h, --help             this help\n"
               "Exit: 0 done, 1 spotting failed, 2 usage, 4 input.\n");
}

static void utts_free(asr_utt *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < u[i].n_words; k++)
            free(u[i].words[k].word);
        free(u[i].words);
        free(u[i].text);
    }
    free(u);
}

static char *dup_str(const jsonp_val *v)
{
    size_t len = 0;
    const char *s = jsonp_str(v, &len);
    return s ? strndup(s, len) : NULL;
}

/* One channel's utterances from JSON; *out malloc'd. CS_OK or an error. */
static int read_utts(const jsonp_val *arr, asr_utt **out, size_t *n)
{
    size_t nu = jsonp_len(arr);
    asr_utt *u = calloc(nu ? nu : 1, sizeof *u);
    if (!u)
        return CS_ERR_NOMEM;
    int rc = CS_OK;
    for (size_t i = 0; i < nu && rc == CS_OK; i++) {
        const jsonp_val *jv = jsonp_at(arr, i), *ws = jsonp_get(jv, "words");
        int64_t a = 0, b = 0;
        if (jsonp_get_int(jv, "start_ms", &a) != CS_OK ||
            jsonp_get_int(jv, "end_ms", &b) != CS_OK || jsonp_type_of(ws) != JSONP_ARRAY ||
            !(u[i].text = dup_str(jsonp_get(jv, "text")))) {
            rc = CS_ERR_MALFORMED;
            break;
        }
        u[i].start_ms = (int32_t)a;
        u[i].end_ms = (int32_t)b;
        jsonp_get_double(jv, "confidence", &u[i].confidence);
        size_t nw = jsonp_len(ws);
        if (!(u[i].words = calloc(nw ? nw : 1, sizeof *u[i].words))) {
            rc = CS_ERR_NOMEM;
            break;
        }
        for (size_t k = 0; k < nw; k++) {
            const jsonp_val *wv = jsonp_at(ws, k);
            asr_word *w = &u[i].words[k];
            u[i].n_words = k + 1;
            if (jsonp_get_int(wv, "start_ms", &a) != CS_OK ||
                jsonp_get_int(wv, "end_ms", &b) != CS_OK ||
                jsonp_get_double(wv, "confidence", &w->confidence) != CS_OK ||
                !(w->word = dup_str(jsonp_get(wv, "word")))) {
                rc = CS_ERR_MALFORMED;
                break;
            }
            w->start_ms = (int32_t)a;
            w->end_ms = (int32_t)b;
        }
    }
    if (rc != CS_OK) {
        utts_free(u, nu);
        return rc;
    }
    *out = u;
    *n = nu;
    return CS_OK;
}

static void print_hits(const char *path, double score, const ph_hit *h, size_t nh)
{
    json_w *w = json_w_new(0, (size_t)16 << 20);
    if (!w)
        return;
    json_obj_begin(w);
    json_kv_str(w, "path", path);
    json_kv_double(w, "min_score", score);
    json_key(w, "phrases");
    json_arr_begin(w);
    for (size_t k = 0; k < nh; k++) {
        json_obj_begin(w);
        json_kv_str(w, "name", h[k].name);
        json_kv_str(w, "kind", ph_kind_name(h[k].kind));
        json_kv_int(w, "channel", h[k].channel);
        json_kv_int(w, "start_ms", h[k].start_ms);
        json_kv_int(w, "end_ms", h[k].end_ms);
        json_kv_str(w, "matched", h[k].matched);
        json_kv_double(w, "score", h[k].score);
        json_kv_double(w, "confidence", h[k].confidence);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_obj_end(w);
    size_t len = 0;
    const char *txt = json_w_data(w, &len);
    if (txt)
        printf("%.*s\n", (int)len, txt);
    json_w_free(w);
}

/* One transcript line: spot at every score and print. 0 or exit code. */
static int do_line(const char *line, size_t len, const ph_list *l, const double *scores,
                   size_t nscores, size_t lineno)
{
    jsonp_doc *doc = NULL;
    jsonp_error je;
    jsonp_opts jo = {
        .max_bytes = PS_MAX_LINE, .max_depth = 0, .realloc_fn = NULL, .alloc_ctx = NULL};
    if (jsonp_parse(line, len, &jo, &doc, &je) != CS_OK) {
        fprintf(stderr, "bench_phspot: line %zu: %s\n", lineno, je.reason);
        return 4;
    }
    const jsonp_val *root = jsonp_root(doc), *chans = jsonp_get(root, "channels");
    char path[4096];
    if (jsonp_str_copy(jsonp_get(root, "path"), path, sizeof path) != CS_OK ||
        jsonp_type_of(chans) != JSONP_ARRAY) {
        fprintf(stderr, "bench_phspot: line %zu: no \"path\" or \"channels\"\n", lineno);
        jsonp_free(doc);
        return 4;
    }
    size_t nc = jsonp_len(chans);
    asr_utt *u[2] = {NULL, NULL};
    size_t nu[2] = {0, 0};
    int chno[2] = {0, 0}, code = 0;
    for (size_t c = 0; c < nc && c < 2 && code == 0; c++) {
        const jsonp_val *cv = jsonp_at(chans, c);
        int64_t ch = 0;
        if (jsonp_get_int(cv, "channel", &ch) != CS_OK || (ch != 1 && ch != 2) ||
            read_utts(jsonp_get(cv, "utterances"), &u[c], &nu[c]) != CS_OK) {
            fprintf(stderr, "bench_phspot: line %zu: channel %zu is malformed\n", lineno, c);
            code = 4;
            break;
        }
        chno[c] = (int)ch;
    }
    for (size_t s = 0; s < nscores && code == 0; s++) {
        ph_hit *hits = NULL;
        size_t nh = 0;
        int rc = CS_OK;
        for (size_t c = 0; c < nc && c < 2 && rc == CS_OK; c++)
            rc = ph_spot(l, chno[c], u[c], nu[c], scores[s], &hits, &nh);
        if (rc != CS_OK) {
            fprintf(stderr, "bench_phspot: %s: ph_spot: %s\n", path, cs_err_msg(rc));
            code = 1;
        } else
            print_hits(path, scores[s], hits, nh);
        ph_hits_free(hits, nh);
    }
    utts_free(u[0], nu[0]);
    utts_free(u[1], nu[1]);
    jsonp_free(doc);
    return code;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"phrases", required_argument, NULL, 'p'},
                                         {"min-score", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *plist = NULL, *slist = "0.6";
    int ch;
    while ((ch = getopt_long(argc, argv, "p:s:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'p':
            plist = optarg;
            break;
        case 's':
            slist = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!plist || argc - optind != 1) {
        usage(stderr);
        return 2;
    }
    double scores[PS_MAX_SCORES];
    size_t nscores = 0;
    for (const char *p = slist; *p;) {
        char *end = NULL;
        double v = strtod(p, &end);
        if (end == p || !(v > 0.0 && v <= 1.0) || nscores == PS_MAX_SCORES ||
            (*end != ',' && *end != '\0')) {
            fprintf(stderr, "bench_phspot: --min-score: '%s' is not a list of scores in (0, 1]\n",
                    slist);
            return 2;
        }
        scores[nscores++] = v;
        p = *end == ',' ? end + 1 : end;
    }
    ph_list l;
    char err[512];
    if (ph_list_load(plist, &l, err, sizeof err) != CS_OK) {
        fprintf(stderr, "bench_phspot: %s\n", err);
        return 4;
    }
    FILE *f = fopen(argv[optind], "rb");
    if (!f) {
        perror(argv[optind]);
        ph_list_free(&l);
        return 4;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int code = 0;
    while (code == 0 && (got = getline(&line, &cap, f)) > 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        code = do_line(line, len, &l, scores, nscores, lineno);
    }
    free(line);
    fclose(f);
    ph_list_free(&l);
    return code;
}
