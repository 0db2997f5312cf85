/*
 * asr.h — one PocketSphinx decoder, loaded once and reused for every segment.
 *
 * asr_open loads the acoustic model, dictionary and language model (Debian's
 * pocketsphinx-en-us by default: seconds of start-up and ~100 MB, which is why
 * a worker keeps its decoder for its whole life). asr_decode takes one talk
 * segment of 16 kHz audio (the front end's output) and returns one utterance:
 * its words with times and posterior confidences, fillers and silences
 * removed. Times are milliseconds from call start: the segment's offset plus
 * the frame times (10 ms frames).
 *
 * Confidence. Each word's confidence is its lattice posterior probability
 * (ps_seg_prob after the best-path search, logmath_exp'd, in [0, 1]); the
 * utterance's confidence is the duration-weighted mean of its words'.
 *
 * Errors from PocketSphinx's own logging go to our log (error level) through
 * err_set_callback; its chatter (info) is dropped. That hook is process-wide
 * (sphinxbase has one), so asr_open installs it once; it holds no state of
 * ours.
 *
 * Ownership: asr_open allocates, asr_close frees. asr_utt's strings and word
 * array are malloc'd and owned by the utterance; asr_utt_clear frees them.
 * A decoder is not thread-safe; one per worker process.
 */
#ifndef CALLSCOPE_ASR_H
#define CALLSCOPE_ASR_H

#include <stddef.h>
#include <stdint.h>

#define ASR_DEFAULT_HMM  "/usr/share/pocketsphinx/model/en-us/en-us"
#define ASR_DEFAULT_LM   "/usr/share/pocketsphinx/model/en-us/en-us.lm.bin"
#define ASR_DEFAULT_DICT "/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict"

typedef struct asr_config {
    const char *hmm;  /* acoustic model directory */
    const char *lm;   /* n-gram language model (ARPA or binary) */
    const char *dict; /* pronunciation dictionary */
    double beam;      /* main beam (PocketSphinx -beam), e.g. 1e-48 */
    double wbeam;     /* word-exit beam (-wbeam), e.g. 7e-29 */
    int maxhmmpf;     /* max active HMMs per frame (-maxhmmpf), e.g. 30000 */
    int fwdflat;      /* run the flat-lexicon second pass (-fwdflat) */
    int bestpath;     /* run the lattice best-path pass (-bestpath); needed for posteriors */
    int topn;         /* Gaussians scored per codebook (-topn), e.g. 4 */
    int pl_window;    /* phoneme look-ahead window in frames (-pl_window), 0 = off */
} asr_config;

/* The defaults above: Debian's model, PocketSphinx's default beams. */
void asr_config_default(asr_config *c);

typedef struct asr_word {
    int32_t start_ms, end_ms; /* from call start; end exclusive */
    char *word;               /* dictionary word, "(2)" variants folded */
    double confidence;        /* posterior, 0..1 */
} asr_word;

typedef struct asr_utt {
    int32_t start_ms, end_ms; /* first word's start, last word's end */
    char *text;               /* the words joined by single spaces ("" when none) */
    double confidence;        /* duration-weighted mean of the words' */
    asr_word *words;
    size_t n_words;
    int frames;               /* 10 ms frames decoded */
} asr_utt;

void asr_utt_clear(asr_utt *u);

typedef struct asr asr;

/*
 * Loads the models. CS_OK, CS_ERR_NOTFOUND (a file is missing: err names it
 * and the package), CS_ERR_CONFIG (PocketSphinx refused the configuration),
 * CS_ERR_NOMEM.
 */
int asr_open(const asr_config *cfg, asr **out, char *err, size_t errcap);
void asr_close(asr *a);

/*
 * Decodes n samples of 16 kHz audio as one utterance starting offset_ms
 * after call start. *out is filled (clear it with asr_utt_clear); a segment
 * with no word gives n_words 0 and text "". CS_OK, CS_ERR_INVAL,
 * CS_ERR_CODEC (the decoder failed), CS_ERR_NOMEM.
 */
int asr_decode(asr *a, const int16_t *pcm16k, size_t n, int64_t offset_ms, asr_utt *out);

/*
 * Starts a new channel: the next asr_decode gets a fresh feature front end.
 * Its noise estimate and speech detector adapt across the segments of one
 * channel; without a reset they would carry over from whatever this decoder
 * heard before, and a channel's words would depend on the order jobs came
 * to this worker (a re-run, another worker would transcribe differently).
 * Call it before each channel; asr_decode without it continues the channel.
 */
void asr_reset(asr *a);

/* CPU seconds the decoder spent in asr_decode since asr_open. */
double asr_cpu_seconds(const asr *a);

#endif
