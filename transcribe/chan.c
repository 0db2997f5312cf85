/*
 * chan.c — see chan.h.
 */
#include "chan.h"

#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"

void tx_audio_free(tx_audio *a)
{
    if (!a)
        return;
    for (int c = 0; c < TX_MAX_CHANNELS; c++)
        free(a->pcm[c]);
    memset(a, 0, sizeof *a);
}

int tx_audio_read(const char *path, tx_audio *out, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if (!path || !out)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        snprintf(err, errcap, "recording '%s': %s", path, strerror(e));
        return e == ENOENT ? CS_ERR_NOTFOUND : CS_ERR_IO;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf) {
        snprintf(err, errcap, "recording '%s' is not readable audio: %s", path, sf_strerror(NULL));
        return CS_ERR_MALFORMED;
    }
    int rc = CS_OK;
    if (info.samplerate != 8000 && info.samplerate != 16000) {
        snprintf(err, errcap, "recording '%s': sample rate %d Hz (only 8000 and 16000 are read)",
                 path, info.samplerate);
        rc = CS_ERR_UNSUPPORTED;
        goto out;
    }
    if (info.channels < 1 || info.channels > TX_MAX_CHANNELS) {
        snprintf(err, errcap, "recording '%s': %d channels (1 or 2 are read)", path, info.channels);
        rc = CS_ERR_UNSUPPORTED;
        goto out;
    }
    if (info.frames < 0 || info.frames > (sf_count_t)TX_AUDIO_MAX_S * info.samplerate) {
        snprintf(err, errcap, "recording '%s' is longer than %d s", path, TX_AUDIO_MAX_S);
        rc = CS_ERR_LIMIT;
        goto out;
    }
    size_t frames = (size_t)info.frames, ch = (size_t)info.channels;
    out->rate = info.samplerate;
    out->channels = info.channels;
    for (size_t c = 0; c < ch; c++) {
        out->pcm[c] = malloc((frames ? frames : 1) * sizeof(int16_t));
        if (!out->pcm[c]) {
            rc = CS_ERR_NOMEM;
            goto out;
        }
    }
    enum { BLOCK = 4096 };
    short buf[BLOCK * TX_MAX_CHANNELS];
    size_t done = 0;
    while (done < frames) {
        size_t want = frames - done < BLOCK ? frames - done : BLOCK;
        sf_count_t got = sf_readf_short(sf, buf, (sf_count_t)want);
        if (got <= 0)
            break;
        for (size_t i = 0; i < (size_t)got; i++)
            for (size_t c = 0; c < ch; c++)
                out->pcm[c][done + i] = buf[i * ch + c];
        done += (size_t)got;
    }
    if (sf_error(sf) != SF_ERR_NO_ERROR || done < frames) {
        snprintf(err, errcap, "recording '%s' is damaged: %zu of %zu frames read (%s)", path, done,
                 frames, sf_strerror(sf));
        rc = CS_ERR_MALFORMED;
        goto out;
    }
    out->frames = frames;
out:
    sf_close(sf);
    if (rc != CS_OK)
        tx_audio_free(out);
    return rc;
}

void tx_utts_free(asr_utt *u, size_t n)
{
    if (!u)
        return;
    for (size_t i = 0; i < n; i++)
        asr_utt_clear(&u[i]);
    free(u);
}

static int utt_cmp(const void *x, const void *y)
{
    const asr_utt *p = x, *q = y;
    if (p->start_ms != q->start_ms)
        return p->start_ms < q->start_ms ? -1 : 1;
    return (p->end_ms > q->end_ms) - (p->end_ms < q->end_ms);
}

int tx_channel(asr *a, fe *f, const int16_t *pcm, size_t n, int rate, const seg_span *spans,
               size_t nspans, asr_utt **out, size_t *nout)
{
    if (!a || !f || (!pcm && n) || (!spans && nspans) || !out || !nout ||
        (rate != 8000 && rate != 16000))
        return CS_ERR_INVAL;
    *out = NULL;
    *nout = 0;
    asr_utt *v = NULL;
    size_t len = 0, cap = 0;
    int16_t *buf = NULL;
    size_t buf_cap = 0;
    int rc = CS_OK;
    size_t per_ms = (size_t)rate / 1000;
    for (size_t i = 0; i < nspans; i++) {
        if (spans[i].start_ms < 0 || spans[i].end_ms <= spans[i].start_ms)
            continue;
        size_t a0 = (size_t)spans[i].start_ms * per_ms, a1 = (size_t)spans[i].end_ms * per_ms;
        if (a0 >= n)
            continue;
        if (a1 > n)
            a1 = n;
        size_t need = fe_out_len(a1 - a0, rate);
        if (need > buf_cap) {
            int16_t *nb = realloc(buf, need * sizeof *nb);
            if (!nb) {
                rc = CS_ERR_NOMEM;
                break;
            }
            buf = nb;
            buf_cap = need;
        }
        size_t got = 0;
        if ((rc = fe_run(f, pcm + a0, a1 - a0, rate, buf, buf_cap, &got)) != CS_OK)
            break;
        asr_utt u;
        if ((rc = asr_decode(a, buf, got, spans[i].start_ms, &u)) != CS_OK)
            break;
        if (u.n_words == 0) {
            asr_utt_clear(&u);
            continue;
        }
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            asr_utt *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                asr_utt_clear(&u);
                rc = CS_ERR_NOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[len++] = u;
    }
    free(buf);
    if (rc != CS_OK) {
        tx_utts_free(v, len);
        return rc;
    }
    /* time order whatever the order of the spans (chan.h) */
    if (len > 1)
        qsort(v, len, sizeof *v, utt_cmp);
    *out = v;
    *nout = len;
    return CS_OK;
}
