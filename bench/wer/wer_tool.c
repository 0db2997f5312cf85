/*
 * wer_tool.c — bench_wer: word error rate of a hypothesis TSV against a
 * reference TSV, per utterance and for the corpus (transcribe/wer.h).
 *
 *     bench_wer [OPTION]... REF.tsv HYP.tsv
 *
 * Both files hold one utterance per line, "id<TAB>text"; a line without a
 * tab is an id with an empty text, empty lines and lines starting with '#'
 * are skipped, a trailing CR is dropped. Texts are normalised by
 * wer_normalise (docs/wer.md), so the reference may be a raw transcript
 * ("<s> ten of clubs </s>") and the hypothesis raw recogniser output.
 *
 * Every reference utterance is scored in file order. A reference id with no
 * hypothesis line counts as an empty hypothesis (all its words deleted) and
 * is named on stderr; hypothesis ids with no reference are named on stderr
 * and ignored. --strip-paths turns a hypothesis id "dir/name.ext" into
 * "name" (callscope-transcribe --format tsv prints file paths).
 *
 * Output (stdout):
 *     # id  ref  hyp  sub  del  ins  wer          (header, then one line each)
 *     cards-001  3  3  1  0  0  0.3333
 *     corpus utterances=27 ref_words=301 hyp_words=295 sub=40 del=12 ins=6 errors=58 wer=0.1927
 * with --verbose the normalised "ref:" and "hyp:" texts follow each line;
 * --quiet prints only the corpus line. Corpus WER = sum of errors / sum of
 * reference words.
 *
 * Exit: 0 scored, 1 a file is malformed (duplicate id, over the limits) or
 * an utterance is over wer.h's limits, 2 usage, 4 a file cannot be read.
 *
 * Limits: WT_MAX_UTTS lines per file, WER_MAX_TEXT bytes per line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "wer.h"

#define WT_MAX_UTTS 100000

typedef struct wt_utt {
    char *id;
    char *text;
    size_t len;
    int used;
} wt_utt;

typedef struct wt_set {
    wt_utt *v;
    size_t n, cap;
} wt_set;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_wer [OPTION]... REF.tsv HYP.tsv\n"
               "Word error rate of HYP against REF (lines \"id<TAB>text\"), per utterance\n"
               "and for the corpus (sum of errors / sum of reference words).\n"
               "  -q, --quiet        print only the corpus line\n"
               "  -v, --verbose      print the normalised texts under each utterance\n"
               "  -s, --strip-paths  hypothesis ids \"dir/name.ext\" become \"name\"\n"
               "  -h, --help         this help\n"
               "Exit: 0 scored, 1 malformed input, 2 usage, 4 unreadable file.\n");
}

static void set_free(wt_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].id);
        free(s->v[i].text);
    }
    free(s->v);
}

static void strip_path(char *id)
{
    char *slash = strrchr(id, '/');
    if (slash != NULL)
        memmove(id, slash + 1, strlen(slash + 1) + 1);
    char *dot = strrchr(id, '.');
    if (dot != NULL && dot != id)
        *dot = '\0';
}

/* Reads "id<TAB>text" lines. 0, or an exit code (message printed). */
static int read_tsv(const char *path, int strip, wt_set *s)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "bench_wer: %s: %s\n", path, strerror(errno));
        return 4;
    }
    char *line = NULL;
    size_t lcap = 0, lineno = 0;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0 || line[0] == '#')
            continue;
        if (len > WER_MAX_TEXT) {
            fprintf(stderr, "bench_wer: %s:%zu: line longer than %u bytes\n", path, lineno,
                    WER_MAX_TEXT);
            rc = 1;
            break;
        }
        if (s->n == WT_MAX_UTTS) {
            fprintf(stderr, "bench_wer: %s: more than %d utterances\n", path, WT_MAX_UTTS);
            rc = 1;
            break;
        }
        if (s->n == s->cap) {
            size_t nc = s->cap ? s->cap * 2 : 64;
            wt_utt *nv = realloc(s->v, nc * sizeof *nv);
            if (nv == NULL) {
                rc = 4;
                break;
            }
            s->v = nv;
            s->cap = nc;
        }
        char *tab = memchr(line, '\t', len);
        size_t idlen = tab ? (size_t)(tab - line) : len;
        size_t tlen = tab ? len - idlen - 1 : 0;
        wt_utt *u = &s->v[s->n];
        u->id = strndup(line, idlen);
        u->text = malloc(tlen + 1);
        u->len = tlen;
        u->used = 0;
        if (u->id == NULL || u->text == NULL) {
            free(u->id);
            free(u->text);
            rc = 4;
            break;
        }
        if (tlen > 0)
            memcpy(u->text, tab + 1, tlen);
        u->text[tlen] = '\0';
        if (strip)
            strip_path(u->id);
        if (u->id[0] == '\0') {
            fprintf(stderr, "bench_wer: %s:%zu: empty id\n", path, lineno);
            free(u->id);
            free(u->text);
            rc = 1;
            break;
        }
        s->n++;
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "bench_wer: %s: read error\n", path);
        rc = 4;
    }
    if (rc == 4 && !ferror(f))
        fprintf(stderr, "bench_wer: out of memory\n");
    free(line);
    fclose(f);
    return rc;
}

static int cmp_utt(const void *a, const void *b)
{
    return strcmp(((const wt_utt *)a)->id, ((const wt_utt *)b)->id);
}

/* Sorted copy of pointers' order: sorts s in place by id; 1 on a duplicate. */
static int sort_unique(wt_set *s, const char *path)
{
    qsort(s->v, s->n, sizeof *s->v, cmp_utt);
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->v[i - 1].id, s->v[i].id) == 0) {
            fprintf(stderr, "bench_wer: %s: id %s appears twice\n", path, s->v[i].id);
            return 1;
        }
    }
    return 0;
}

static void print_norm(const char *tag, const char *t, size_t len)
{
    char *buf = malloc(len + 1);
    if (buf == NULL)
        return;
    wer_normalise(t, len, buf, len + 1);
    printf("    %s %s\n", tag, buf);
    free(buf);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {"strip-paths", no_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int quiet = 0, verbose = 0, strip = 0, ch;
    while ((ch = getopt_long(argc, argv, "qvsh", opts, NULL)) != -1) {
        switch (ch) {
        case 'q':
            quiet = 1;
            break;
        case 'v':
            verbose = 1;
            break;
        case 's':
            strip = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    const char *refpath = argv[optind], *hyppath = argv[optind + 1];
    wt_set ref = {0}, hyp = {0};
    int rc = read_tsv(refpath, 0, &ref);
    if (rc == 0)
        rc = read_tsv(hyppath, strip, &hyp);
    if (rc == 0)
        rc = sort_unique(&hyp, hyppath);
    if (rc == 0) {
        /* duplicates in the reference, without losing its order */
        wt_set copy = {malloc((ref.n ? ref.n : 1) * sizeof *ref.v), ref.n, ref.n};
        if (copy.v == NULL) {
            rc = 4;
        } else {
            memcpy(copy.v, ref.v, ref.n * sizeof *ref.v);
            rc = sort_unique(&copy, refpath);
            free(copy.v);
        }
    }
    if (rc != 0) {
        set_free(&ref);
        set_free(&hyp);
        return rc;
    }

    wer_counts total = {0};
    size_t missing = 0;
    if (!quiet)
        printf("# id\tref\thyp\tsub\tdel\tins\twer\n");
    for (size_t i = 0; i < ref.n && rc == 0; i++) {
        wt_utt key = {.id = ref.v[i].id};
        wt_utt *h = bsearch(&key, hyp.v, hyp.n, sizeof *hyp.v, cmp_utt);
        const char *ht = "";
        size_t hl = 0;
        if (h != NULL) {
            h->used = 1;
            ht = h->text;
            hl = h->len;
        } else {
            fprintf(stderr, "bench_wer: no hypothesis for %s: counted as all words deleted\n",
                    ref.v[i].id);
            missing++;
        }
        wer_counts c;
        int e = wer_align(ref.v[i].text, ref.v[i].len, ht, hl, &c);
        if (e != CS_OK) {
            fprintf(stderr, "bench_wer: %s: %s\n", ref.v[i].id, cs_err_msg(e));
            rc = 1;
            break;
        }
        wer_counts_add(&total, &c);
        if (!quiet) {
            printf("%s\t%llu\t%llu\t%llu\t%llu\t%llu\t%.4f\n", ref.v[i].id,
                   (unsigned long long)c.ref_words, (unsigned long long)c.hyp_words,
                   (unsigned long long)c.substitutions, (unsigned long long)c.deletions,
                   (unsigned long long)c.insertions, wer_rate(&c));
            if (verbose) {
                print_norm("ref:", ref.v[i].text, ref.v[i].len);
                print_norm("hyp:", ht, hl);
            }
        }
    }
    for (size_t i = 0; i < hyp.n; i++)
        if (!hyp.v[i].used)
            fprintf(stderr, "bench_wer: hypothesis %s has no reference: ignored\n", hyp.v[i].id);
    if (rc == 0)
        printf("corpus utterances=%zu ref_words=%llu hyp_words=%llu sub=%llu del=%llu ins=%llu "
               "errors=%llu wer=%.4f missing=%zu\n",
               ref.n, (unsigned long long)total.ref_words, (unsigned long long)total.hyp_words,
               (unsigned long long)total.substitutions, (unsigned long long)total.deletions,
               (unsigned long long)total.insertions, (unsigned long long)wer_errors(&total),
               wer_rate(&total), missing);
    set_free(&ref);
    set_free(&hyp);
    return rc;
}
