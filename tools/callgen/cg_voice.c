/*
 * cg_voice.c — callgen's speech bank and per-channel tracks.
 *
 * Why: every word callgen puts in a call must have a transcript we know for
 * sure, so the transcribe and scoring stages can be measured against truth.
 * The bank therefore takes only clips whose exact words come from a file:
 *  - agent side: the five LibriVox "Sense and Sensibility" clips, words from
 *    librivox/transcription ("<s> words </s> (utterance-id)");
 *  - customer side: cards/001..005.wav (cards/cards.transcription, same
 *    format); goforward.raw ("go forward ten meters": the utterance the
 *    pocketsphinx test suite decodes it to, and the <move> rule of
 *    goforward.gram); tidigits/<speaker>.<digits>.raw, whose words are the
 *    spelled digits of its name (TI-digits naming: 1..9, z = "zero",
 *    o = "oh", an optional trailing a/b marks the take), accepted only when
 *    tidigits/tidigits.lsn spells the same digit string the same way.
 *    numbers.raw and something.raw have no transcript in the testdata and
 *    are left out.
 *  - scripted phrases (only with opts.tts_cache): synthesised by Festival's
 *    text2wave with the CMU US SLT HTS voice, run with fork/execvp (no shell);
 *    the text goes to its stdin through a pipe filled before the fork (so a
 *    child that dies early cannot SIGPIPE us). Output is cached as
 *    <kind>-<fnv1a64 of voice spec + text>.wav, written under a temporary
 *    name and renamed, so a changed text re-synthesises and a crash never
 *    leaves a half file under the final name.
 * Clips are kept exactly as recorded (leading/trailing silence included).
 * All audio must be 16 kHz mono; anything else fails with a message naming
 * the file (there is no resampler here on purpose: none of the sources needs
 * one, and an untested resampler would be worse than a clear error).
 *
 * Text normalisation: lower case; tokens of the form <...> (<s>, </s>, <sil>)
 * dropped; apostrophes dropped; every other character that is not a letter
 * or digit separates words; words joined by single spaces.
 *
 * Tracks are 16 kHz buffers on the call's clock; clips are mixed in with
 * saturating adds. Line noise is uniform white noise from cg_rng (seeded by
 * the caller), scaled so its RMS is the requested dBFS (0 dBFS = RMS of a
 * full-scale square wave, 32768). The 8 kHz WAV is made frame by frame with
 * a fresh cg_down2 over cg_track_frame(), the exact input sequence of a
 * narrowband cg_encoder fed frames 0, 1, 2, ...
 *
 * SECURITY: the testdata files are trusted input from a Debian package, but
 * they are still parsed with bounds: files are read up to a fixed size,
 * utterance ids are restricted to [A-Za-z0-9._-] before they become paths.
 */
#include "cg_voice.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sndfile.h>

#include "cg_codec.h"
#include "error.h"

#define CG_DEFAULT_TESTDATA "/usr/share/pocketsphinx/test/data"
#define CG_BANK_MAX_CLIPS 64
#define CG_TEXT_FILE_MAX (1u << 20)                 /* transcript files are a few KiB */
#define CG_CLIP_MAX_SAMPLES (10u * 60u * CG_VOICE_RATE) /* 10 minutes */
#define CG_ID_MAX 100
#define CG_TTS_VOICE "(voice_cmu_us_slt_arctic_hts)"
#define CG_TTS_INSTALL "install festival and festvox-us-slt-hts or run without phrases"
#define CG_TESTDATA_INSTALL "apt-get install pocketsphinx-testdata"
#define CG_GOFORWARD_TEXT "go forward ten meters"

static const struct {
    const char *name;
    const char *text;
} cg_phrases[CG_PHRASE__COUNT] = {
    [CG_PHRASE_NONE] = {"", NULL},
    [CG_PHRASE_GREETING] = {"greeting", "thank you for calling acme support my name is sarah how "
                                        "can i help you today"},
    [CG_PHRASE_VERIFICATION] = {"verification",
                                "can you please confirm your full name and date of birth"},
    [CG_PHRASE_CLOSING] = {"closing", "is there anything else i can help you with today thank you "
                                      "for calling goodbye"},
    [CG_PHRASE_FORBIDDEN] = {"forbidden", "that is not my problem"},
};

const char *cg_phrase_name(cg_phrase p)
{
    if ((unsigned)p >= CG_PHRASE__COUNT)
        return "";
    return cg_phrases[p].name;
}

static void cg_seterr(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cg_seterr(char *err, size_t errcap, const char *fmt, ...)
{
    if (err == NULL || errcap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
}

/* ---- text --------------------------------------------------------------- */

/* Normalises text[0..len) into a new string (caller frees). NULL on ENOMEM. */
static char *cg_norm_text(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0, i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)text[i]))
            i++;
        size_t start = i;
        while (i < len && !isspace((unsigned char)text[i]))
            i++;
        size_t tlen = i - start;
        if (tlen == 0)
            break;
        if (tlen >= 2 && text[start] == '<' && text[i - 1] == '>')
            continue; /* <s>, </s>, <sil> */
        int in_word = 0;
        for (size_t k = start; k < i; k++) {
            unsigned char ch = (unsigned char)text[k];
            if (ch == '\'')
                continue;
            if (isalnum(ch) && ch < 0x80) {
                if (!in_word && o > 0)
                    out[o++] = ' ';
                out[o++] = (char)tolower(ch);
                in_word = 1;
            } else {
                in_word = 0;
            }
        }
    }
    out[o] = '\0';
    return out;
}

/* Reads a whole (small) file; caller frees. CS_OK or a negative cs_err. */
static int cg_read_small(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT ? CS_ERR_NOTFOUND : CS_ERR_IO;
    char *buf = malloc(CG_TEXT_FILE_MAX);
    if (buf == NULL) {
        fclose(f);
        return CS_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, CG_TEXT_FILE_MAX, f);
    int bad = ferror(f) || (n == CG_TEXT_FILE_MAX && fgetc(f) != EOF);
    fclose(f);
    if (bad) {
        free(buf);
        return CS_ERR_LIMIT;
    }
    *data = buf;
    *len = n;
    return CS_OK;
}

/* One transcript line "<s> words </s> (id)" or "words (id score)": the id is
 * the first token inside the last parentheses. CS_OK, or CS_ERR_MALFORMED. */
static int cg_parse_line(const char *line, size_t len, const char **words, size_t *wlen,
                         char *id, size_t idcap)
{
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        len--;
    if (len == 0 || line[len - 1] != ')')
        return CS_ERR_MALFORMED;
    size_t open = len - 1;
    while (open > 0 && line[open - 1] != '(')
        open--;
    if (open == 0)
        return CS_ERR_MALFORMED;
    size_t p = open, idlen = 0;
    while (p < len - 1 && !isspace((unsigned char)line[p])) {
        char ch = line[p];
        if (!(isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-'))
            return CS_ERR_MALFORMED;
        if (idlen + 1 >= idcap)
            return CS_ERR_MALFORMED;
        id[idlen++] = ch;
        p++;
    }
    if (idlen == 0 || id[0] == '.')
        return CS_ERR_MALFORMED;
    id[idlen] = '\0';
    *words = line;
    *wlen = open - 1;
    return CS_OK;
}

/* ---- audio -------------------------------------------------------------- */

/* Loads a 16 kHz mono file (WAV, or raw 16-bit LE when raw != 0). */
static int cg_load_audio(const char *path, int raw, int16_t **pcm, size_t *n, char *err,
                         size_t errcap)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    if (raw) {
        info.samplerate = CG_VOICE_RATE;
        info.channels = 1;
        info.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
    }
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (sf == NULL) {
        int missing = access(path, F_OK) != 0;
        cg_seterr(err, errcap, "%s: %s", path, missing ? "missing" : sf_strerror(NULL));
        return missing ? CS_ERR_NOTFOUND : CS_ERR_IO;
    }
    int rc = CS_OK;
    if (info.channels != 1 || info.samplerate != CG_VOICE_RATE) {
        cg_seterr(err, errcap, "%s: %d Hz, %d channel(s); callgen needs 16000 Hz mono", path,
                  info.samplerate, info.channels);
        rc = CS_ERR_UNSUPPORTED;
    } else if (info.frames <= 0 || (uint64_t)info.frames > CG_CLIP_MAX_SAMPLES) {
        cg_seterr(err, errcap, "%s: %lld samples (expected 1..%u)", path,
                  (long long)info.frames, CG_CLIP_MAX_SAMPLES);
        rc = CS_ERR_LIMIT;
    } else {
        int16_t *buf = malloc((size_t)info.frames * sizeof *buf);
        if (buf == NULL) {
            rc = CS_ERR_NOMEM;
        } else if (sf_readf_short(sf, buf, info.frames) != info.frames) {
            cg_seterr(err, errcap, "%s: short read: %s", path, sf_strerror(sf));
            free(buf);
            rc = CS_ERR_IO;
        } else {
            *pcm = buf;
            *n = (size_t)info.frames;
        }
    }
    sf_close(sf);
    return rc;
}

/* ---- bank --------------------------------------------------------------- */

/* Appends a clip; takes ownership of text and pcm in every case. */
static int cg_bank_add(cg_bank *b, const char *id, const char *speaker, cg_role role,
                       cg_phrase phrase, char *text, int16_t *pcm, size_t n)
{
    if (b->n >= CG_BANK_MAX_CLIPS) {
        free(text);
        free(pcm);
        return CS_ERR_LIMIT;
    }
    if (b->clips == NULL) {
        b->clips = calloc(CG_BANK_MAX_CLIPS, sizeof *b->clips);
        if (b->clips == NULL) {
            free(text);
            free(pcm);
            return CS_ERR_NOMEM;
        }
    }
    cg_clip *c = &b->clips[b->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    snprintf(c->speaker, sizeof c->speaker, "%s", speaker);
    c->role = role;
    c->phrase = phrase;
    c->text = text;
    c->pcm = pcm;
    c->nsamples = n;
    return CS_OK;
}

/* Loads one clip whose transcript is words[0..wlen). */
static int cg_bank_add_file(cg_bank *b, const char *path, int raw, const char *id,
                            const char *speaker, cg_role role, const char *words, size_t wlen,
                            char *err, size_t errcap)
{
    char *text = cg_norm_text(words, wlen);
    if (text == NULL)
        return CS_ERR_NOMEM;
    if (text[0] == '\0') {
        cg_seterr(err, errcap, "%s: empty transcript", path);
        free(text);
        return CS_ERR_MALFORMED;
    }
    int16_t *pcm = NULL;
    size_t n = 0;
    int rc = cg_load_audio(path, raw, &pcm, &n, err, errcap);
    if (rc != CS_OK) {
        free(text);
        return rc;
    }
    return cg_bank_add(b, id, speaker, role, CG_PHRASE_NONE, text, pcm, n);
}

/* A transcription file of "<s> words </s> (id)" lines, one WAV per id in
 * the same folder: <dir>/<sub>/<id>.wav. Clip ids are <prefix>-<suffix>,
 * suffix = the part of the utterance id after its last '-'. */
static int cg_bank_add_transcribed(cg_bank *b, const char *dir, const char *sub,
                                   const char *tfile, const char *prefix, const char *speaker,
                                   cg_role role, char *err, size_t errcap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, tfile);
    char *data = NULL;
    size_t len = 0;
    int rc = cg_read_small(path, &data, &len);
    if (rc != CS_OK) {
        cg_seterr(err, errcap, "%s: %s (%s)", path, cs_err_msg(rc), CG_TESTDATA_INSTALL);
        return rc;
    }
    size_t added = 0;
    for (size_t pos = 0; pos < len && rc == CS_OK;) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        size_t llen = nl != NULL ? (size_t)(nl - (data + pos)) : len - pos;
        const char *line = data + pos;
        pos += llen + (nl != NULL ? 1 : 0);
        size_t t = 0;
        while (t < llen && isspace((unsigned char)line[t]))
            t++;
        if (t == llen)
            continue;
        const char *words = NULL;
        size_t wlen = 0;
        char uid[CG_ID_MAX];
        if (cg_parse_line(line, llen, &words, &wlen, uid, sizeof uid) != CS_OK) {
            cg_seterr(err, errcap, "%s: malformed line \"%.*s\"", path, (int)(llen > 80 ? 80 : llen),
                      line);
            rc = CS_ERR_MALFORMED;
            break;
        }
        const char *dash = strrchr(uid, '-');
        char cid[sizeof b->clips[0].id];
        snprintf(cid, sizeof cid, "%.20s-%.40s", prefix, dash != NULL ? dash + 1 : uid);
        char wav[PATH_MAX];
        snprintf(wav, sizeof wav, "%s/%s/%s.wav", dir, sub, uid);
        rc = cg_bank_add_file(b, wav, 0, cid, speaker, role, words, wlen, err, errcap);
        if (rc == CS_OK)
            added++;
    }
    free(data);
    if (rc == CS_OK && added == 0) {
        cg_seterr(err, errcap, "%s: no utterances", path);
        rc = CS_ERR_EMPTY;
    }
    return rc;
}

/* TI-digits: "<digits>[a|b]" -> spelled words, or NULL if not a digit string. */
static char *cg_tidigits_spell(const char *s, size_t len)
{
    static const char *const names[] = {"zero", "one", "two",   "three", "four",
                                        "five", "six", "seven", "eight", "nine"};
    if (len > 1 && (s[len - 1] == 'a' || s[len - 1] == 'b'))
        len--;
    if (len == 0 || len > 16)
        return NULL;
    char *out = malloc(len * 6 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *w;
        if (s[i] >= '1' && s[i] <= '9')
            w = names[s[i] - '0'];
        else if (s[i] == 'z')
            w = names[0];
        else if (s[i] == 'o')
            w = "oh";
        else {
            free(out);
            return NULL;
        }
        if (o > 0)
            out[o++] = ' ';
        size_t wl = strlen(w);
        memcpy(out + o, w, wl);
        o += wl;
    }
    out[o] = '\0';
    return out;
}

/* 1 when tidigits.lsn holds an utterance with the same digit string whose
 * normalised words are `spelled`. */
static int cg_tidigits_confirmed(const char *lsn, size_t len, const char *digits, size_t dlen,
                                 const char *spelled)
{
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(lsn + pos, '\n', len - pos);
        size_t llen = nl != NULL ? (size_t)(nl - (lsn + pos)) : len - pos;
        const char *line = lsn + pos;
        pos += llen + (nl != NULL ? 1 : 0);
        const char *words = NULL;
        size_t wlen = 0;
        char uid[CG_ID_MAX];
        if (cg_parse_line(line, llen, &words, &wlen, uid, sizeof uid) != CS_OK)
            continue;
        const char *dot = strrchr(uid, '.');
        const char *ud = dot != NULL ? dot + 1 : uid;
        char *a = cg_tidigits_spell(ud, strlen(ud));
        char *b = cg_tidigits_spell(digits, dlen);
        char *t = cg_norm_text(words, wlen);
        int same = a != NULL && b != NULL && t != NULL && strcmp(a, b) == 0 &&
                   strcmp(t, spelled) == 0;
        free(a);
        free(b);
        free(t);
        if (same)
            return 1;
    }
    return 0;
}

static int cg_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* tidigits/<speaker>.<digits>.raw, confirmed by tidigits.lsn; optional. */
static int cg_bank_add_tidigits(cg_bank *b, const char *dir, char *err, size_t errcap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/tidigits/tidigits.lsn", dir);
    char *lsn = NULL;
    size_t lsn_len = 0;
    if (cg_read_small(path, &lsn, &lsn_len) != CS_OK)
        return CS_OK; /* no reference spelling: no TI-digits clips */
    snprintf(path, sizeof path, "%s/tidigits", dir);
    DIR *d = opendir(path);
    if (d == NULL) {
        free(lsn);
        return CS_OK;
    }
    char *names[16];
    size_t nn = 0;
    int rc = CS_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && nn < sizeof names / sizeof names[0]) {
        size_t l = strlen(de->d_name);
        if (l > 4 && l < CG_ID_MAX && strcmp(de->d_name + l - 4, ".raw") == 0) {
            names[nn] = strdup(de->d_name);
            if (names[nn] == NULL) {
                rc = CS_ERR_NOMEM;
                break;
            }
            nn++;
        }
    }
    closedir(d);
    qsort(names, nn, sizeof names[0], cg_cmp_str); /* readdir order is not stable */
    for (size_t i = 0; i < nn && rc == CS_OK; i++) {
        char base[CG_ID_MAX];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(names[i]) - 4), names[i]);
        char *dot = strrchr(base, '.');
        if (dot == NULL || dot == base)
            continue;
        *dot = '\0';
        const char *spk = base, *digits = dot + 1;
        char *spelled = cg_tidigits_spell(digits, strlen(digits));
        if (spelled == NULL)
            continue;
        if (cg_tidigits_confirmed(lsn, lsn_len, digits, strlen(digits), spelled)) {
            char cid[64], speaker[32], raw[PATH_MAX];
            snprintf(cid, sizeof cid, "tidigits-%.20s-%.20s", spk, digits);
            snprintf(speaker, sizeof speaker, "tidigits-%.20s", spk);
            snprintf(raw, sizeof raw, "%s/tidigits/%s", dir, names[i]);
            rc = cg_bank_add_file(b, raw, 1, cid, speaker, CG_ROLE_CUSTOMER, spelled,
                                  strlen(spelled), err, errcap);
        }
        free(spelled);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(lsn);
    return rc;
}

/* ---- synthesised phrases ------------------------------------------------ */

static uint64_t cg_fnv1a64(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* mkdir -p; CS_OK or CS_ERR_IO. */
static int cg_mkdirs(const char *dir)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return CS_ERR_INVAL;
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return CS_ERR_IO;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return CS_ERR_IO;
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? CS_OK : CS_ERR_IO;
}

/* Runs `prog -F 16000 -eval VOICE -o out` with text on stdin. */
static int cg_tts_run(const char *prog, const char *text, const char *out, char *err,
                      size_t errcap)
{
    int in[2], ep[2];
    size_t tlen = strlen(text);
    if (tlen + 1 > PIPE_BUF)
        return CS_ERR_LIMIT;
    if (pipe2(in, O_CLOEXEC) != 0)
        return CS_ERR_IO;
    /* Fill the pipe before forking: it fits (< PIPE_BUF) and we still hold
     * the read end, so the write can neither block nor raise SIGPIPE. */
    int ok = write(in[1], text, tlen) == (ssize_t)tlen && write(in[1], "\n", 1) == 1;
    close(in[1]);
    if (!ok || pipe2(ep, O_CLOEXEC) != 0) {
        close(in[0]);
        return CS_ERR_IO;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(in[0]);
        close(ep[0]);
        close(ep[1]);
        return CS_ERR_IO;
    }
    if (pid == 0) {
        if (in[0] == STDIN_FILENO)
            fcntl(STDIN_FILENO, F_SETFD, 0);
        else if (dup2(in[0], STDIN_FILENO) < 0)
            _exit(127);
        if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) /* keep our stdout clean */
            _exit(127);
        char *argv[] = {(char *)prog, "-F", "16000", "-eval", CG_TTS_VOICE, "-o", (char *)out,
                        NULL};
        execvp(prog, argv);
        int e = errno;
        ssize_t w = write(ep[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(in[0]);
    close(ep[1]);
    int exec_errno = 0;
    ssize_t r;
    do
        r = read(ep[0], &exec_errno, sizeof exec_errno);
    while (r < 0 && errno == EINTR);
    close(ep[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return CS_ERR_IO;
    }
    if (r == (ssize_t)sizeof exec_errno) {
        cg_seterr(err, errcap, "cannot run %s: %s; %s", prog, strerror(exec_errno),
                  CG_TTS_INSTALL);
        return CS_ERR_NOTFOUND;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cg_seterr(err, errcap, "%s failed (status %d); %s", prog, status, CG_TTS_INSTALL);
        return CS_ERR_IO;
    }
    if (access(out, F_OK) != 0) { /* a missing voice: text2wave exits 0, writes nothing */
        cg_seterr(err, errcap, "%s wrote no audio (voice cmu_us_slt_arctic_hts missing?); %s",
                  prog, CG_TTS_INSTALL);
        return CS_ERR_NOTFOUND;
    }
    return CS_OK;
}

static int cg_bank_add_phrase(cg_bank *b, const cg_bank_opts *o, cg_phrase p, char *err,
                              size_t errcap)
{
    const char *kind = cg_phrases[p].name;
    uint64_t h = cg_fnv1a64(0xcbf29ce484222325ULL, "text2wave -F 16000 -eval " CG_TTS_VOICE "\n");
    h = cg_fnv1a64(h, cg_phrases[p].text);
    char path[PATH_MAX], tmp[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s-%016llx.wav", o->tts_cache, kind,
                 (unsigned long long)h) >= (int)sizeof path ||
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        cg_seterr(err, errcap, "%s: path too long", o->tts_cache);
        return CS_ERR_INVAL;
    }
    if (access(path, F_OK) != 0) {
        unlink(tmp);
        const char *prog = o->text2wave != NULL ? o->text2wave : "text2wave";
        int rc = cg_tts_run(prog, cg_phrases[p].text, tmp, err, errcap);
        if (rc == CS_OK && rename(tmp, path) != 0) {
            cg_seterr(err, errcap, "rename %s -> %s: %s", tmp, path, strerror(errno));
            rc = CS_ERR_IO;
        }
        if (rc != CS_OK) {
            unlink(tmp);
            return rc;
        }
    }
    char *text = strdup(cg_phrases[p].text);
    if (text == NULL)
        return CS_ERR_NOMEM;
    int16_t *pcm = NULL;
    size_t n = 0;
    int rc = cg_load_audio(path, 0, &pcm, &n, err, errcap);
    if (rc != CS_OK) {
        free(text);
        size_t l = err != NULL ? strlen(err) : 0;
        if (err != NULL && l + 1 < errcap)
            snprintf(err + l, errcap - l, " (delete it to re-synthesise)");
        return rc;
    }
    char id[64];
    snprintf(id, sizeof id, "tts-%s", kind);
    return cg_bank_add(b, id, "slt-hts", CG_ROLE_AGENT, p, text, pcm, n);
}

/* ---- public ------------------------------------------------------------- */

int cg_bank_load(cg_bank *b, const cg_bank_opts *o, char *err, size_t errcap)
{
    if (err != NULL && errcap > 0)
        err[0] = '\0';
    if (b == NULL)
        return CS_ERR_INVAL;
    b->clips = NULL;
    b->n = 0;
    const char *dir = o != NULL && o->testdata_dir != NULL ? o->testdata_dir : CG_DEFAULT_TESTDATA;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cg_seterr(err, errcap, "%s: no such directory (%s)", dir, CG_TESTDATA_INSTALL);
        return CS_ERR_NOTFOUND;
    }
    int rc = cg_bank_add_transcribed(b, dir, "librivox", "transcription", "librivox",
                                     "librivox-austen", CG_ROLE_AGENT, err, errcap);
    if (rc == CS_OK)
        rc = cg_bank_add_transcribed(b, dir, "cards", "cards.transcription", "cards", "cards",
                                     CG_ROLE_CUSTOMER, err, errcap);
    if (rc == CS_OK) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/goforward.raw", dir);
        rc = cg_bank_add_file(b, path, 1, "goforward", "goforward", CG_ROLE_CUSTOMER,
                              CG_GOFORWARD_TEXT, strlen(CG_GOFORWARD_TEXT), err, errcap);
    }
    if (rc == CS_OK)
        rc = cg_bank_add_tidigits(b, dir, err, errcap);
    if (rc == CS_OK && o != NULL && o->tts_cache != NULL) {
        if (cg_mkdirs(o->tts_cache) != CS_OK) {
            cg_seterr(err, errcap, "%s: cannot create directory: %s", o->tts_cache,
                      strerror(errno));
            rc = CS_ERR_IO;
        }
        for (int p = CG_PHRASE_GREETING; p < CG_PHRASE__COUNT && rc == CS_OK; p++)
            rc = cg_bank_add_phrase(b, o, (cg_phrase)p, err, errcap);
    }
    if (rc != CS_OK) {
        if (err != NULL && errcap > 0 && err[0] == '\0')
            cg_seterr(err, errcap, "loading the speech bank: %s", cs_err_msg(rc));
        cg_bank_free(b);
    }
    return rc;
}

void cg_bank_free(cg_bank *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->clips[i].text);
        free(b->clips[i].pcm);
    }
    free(b->clips);
    b->clips = NULL;
    b->n = 0;
}

const cg_clip *cg_bank_pick(const cg_bank *b, cg_role role, cg_rng *rng)
{
    if (b == NULL || rng == NULL)
        return NULL;
    size_t count = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->clips[i].role == role && b->clips[i].phrase == CG_PHRASE_NONE)
            count++;
    if (count == 0)
        return NULL;
    uint64_t k = cg_rng_below(rng, count);
    for (size_t i = 0; i < b->n; i++) {
        if (b->clips[i].role != role || b->clips[i].phrase != CG_PHRASE_NONE)
            continue;
        if (k-- == 0)
            return &b->clips[i];
    }
    return NULL;
}

const cg_clip *cg_bank_phrase(const cg_bank *b, cg_phrase p)
{
    if (b == NULL || p == CG_PHRASE_NONE)
        return NULL;
    for (size_t i = 0; i < b->n; i++)
        if (b->clips[i].phrase == p)
            return &b->clips[i];
    return NULL;
}

uint64_t cg_clip_ms(const cg_clip *c)
{
    return c == NULL ? 0 : (uint64_t)c->nsamples * 1000 / CG_VOICE_RATE;
}

/* ---- tracks ------------------------------------------------------------- */

#define CG_SAMPLES_PER_MS (CG_VOICE_RATE / 1000)

int cg_track_init(cg_track *t, uint64_t duration_ms)
{
    t->pcm = NULL;
    t->n = 0;
    if (duration_ms > SIZE_MAX / CG_SAMPLES_PER_MS / sizeof(int16_t))
        return CS_ERR_NOMEM;
    size_t n = (size_t)duration_ms * CG_SAMPLES_PER_MS;
    t->pcm = calloc(n > 0 ? n : 1, sizeof *t->pcm);
    if (t->pcm == NULL)
        return CS_ERR_NOMEM;
    t->n = n;
    return CS_OK;
}

static int16_t cg_sat16(int32_t v)
{
    return (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
}

/* at_ms at or past the end (nothing of the clip would be heard) is INVAL. */
int cg_track_place(cg_track *t, const cg_clip *c, uint64_t at_ms)
{
    if (t == NULL || c == NULL || (c->pcm == NULL && c->nsamples > 0))
        return CS_ERR_INVAL;
    if (at_ms >= t->n / CG_SAMPLES_PER_MS + 1 || at_ms * CG_SAMPLES_PER_MS >= t->n)
        return CS_ERR_INVAL;
    size_t start = (size_t)at_ms * CG_SAMPLES_PER_MS;
    size_t m = c->nsamples < t->n - start ? c->nsamples : t->n - start;
    for (size_t i = 0; i < m; i++)
        t->pcm[start + i] = cg_sat16((int32_t)t->pcm[start + i] + c->pcm[i]);
    return CS_OK;
}

void cg_track_add_noise(cg_track *t, uint64_t seed, double dbfs)
{
    if (t == NULL || t->pcm == NULL)
        return;
    cg_rng rng;
    cg_rng_seed(&rng, seed, 0x6e6f697365ULL /* "noise" */);
    /* uniform on [-a, a] has RMS a / sqrt(3) */
    double a = 32768.0 * pow(10.0, dbfs / 20.0) * sqrt(3.0);
    for (size_t i = 0; i < t->n; i++) {
        double v = (cg_rng_unit(&rng) * 2.0 - 1.0) * a;
        long q = lround(v);
        if (q > INT16_MAX)
            q = INT16_MAX;
        else if (q < INT16_MIN)
            q = INT16_MIN;
        t->pcm[i] = cg_sat16((int32_t)t->pcm[i] + (int32_t)q);
    }
}

void cg_track_frame(const cg_track *t, size_t k, int16_t *out)
{
    size_t have = 0;
    if (t != NULL && t->pcm != NULL && k < t->n / CG_FRAME_SAMPLES + 1) {
        size_t start = k * CG_FRAME_SAMPLES;
        if (start < t->n) {
            have = t->n - start < CG_FRAME_SAMPLES ? t->n - start : CG_FRAME_SAMPLES;
            memcpy(out, t->pcm + start, have * sizeof *out);
        }
    }
    memset(out + have, 0, (CG_FRAME_SAMPLES - have) * sizeof *out);
}

int cg_track_write_wav(const cg_track *t, const char *path, int rate)
{
    if (t == NULL || path == NULL || (rate != 8000 && rate != CG_VOICE_RATE))
        return CS_ERR_INVAL;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (sf == NULL)
        return CS_ERR_IO;
    int rc = CS_OK;
    if (rate == CG_VOICE_RATE) {
        if (t->n > 0 && sf_writef_short(sf, t->pcm, (sf_count_t)t->n) != (sf_count_t)t->n)
            rc = CS_ERR_IO;
    } else {
        cg_down2 d;
        cg_down2_init(&d);
        size_t total = t->n / 2, done = 0;
        int16_t in[CG_FRAME_SAMPLES], out[CG_FRAME_SAMPLES / 2];
        for (size_t k = 0; done < total && rc == CS_OK; k++) {
            cg_track_frame(t, k, in);
            cg_down2_run(&d, in, CG_FRAME_SAMPLES, out);
            size_t m = total - done < CG_FRAME_SAMPLES / 2 ? total - done : CG_FRAME_SAMPLES / 2;
            if (sf_writef_short(sf, out, (sf_count_t)m) != (sf_count_t)m)
                rc = CS_ERR_IO;
            done += m;
        }
    }
    if (sf_close(sf) != 0)
        rc = CS_ERR_IO;
    return rc;
}

void cg_track_free(cg_track *t)
{
    if (t == NULL)
        return;
    free(t->pcm);
    t->pcm = NULL;
    t->n = 0;
}
