/*
 * shared_audio_tool.c — helper of tests/decode/test-shared-audio.sh (the
 * real captures in ../shared/data/pcaps, rendered by decode/render.h and
 * compared with an independent decode of the same RTP payloads).
 *
 *   shared_audio_tool render ENTRY_DIR OUT_DIR
 *       render_entry(ENTRY_DIR) with default options; writes
 *       OUT_DIR/ch1.s16 and OUT_DIR/ch2.s16 (the two channels, raw s16 in host
 *       order), OUT_DIR/info ("rate frames invite_us end_us call_uuid") and
 *       OUT_DIR/streams.tsv, one line per call.json stream:
 *         index channel codec codec_pt clock_rate src src_port dst dst_port
 *         ssrcs(comma) packets decoded refused reason("-" when empty)
 *       (tab-separated, "-" for a null). Exit 0, or 1 with the error.
 *
 *   shared_audio_tool compare CH.s16 RATE FRAMES INVITE_US CODEC CLOCK PKTS.tsv [REF.s16]
 *       CODEC: pcmu pcma l16 l16s (reference samples in REF.s16: the
 *       independent decode of the payloads of PKTS.tsv concatenated in file
 *       order, one sample per byte for G.711, per 2 bytes for L16; l16s is
 *       stereo L16, REF.s16 interleaved, down-mixed here to
 *       floor((left + right) / 2)) or g722 g729 opus
 *       (decoded here with tools/callgen's cg_decoder — spandsp, bcg729,
 *       libopus driven by callgen's own code, not decode/codec.c — one decoder
 *       per SSRC, packets in sequence order). PKTS.tsv: tshark fields
 *       rtp.ssrc rtp.seq rtp.timestamp frame.time_epoch rtp.payload (hex)
 *       [rtp.marker], tab-separated,
 *       only packets of the stream's audio payload type.
 *       Per SSRC: packets sorted by (extended) sequence number, duplicates
 *       dropped, decoded in that order. Nominal place: the timeline's
 *       documented anchoring (decode/timeline.h), re-stated here from its
 *       header, not its code — packets in arrival order, the anchor the
 *       minimum transit (arrival - RTP time) of the segment, a new segment on
 *       a transit more than 1 s (120 ms with the marker bit) above or 100 ms
 *       below it, the anchor raised when two 5 s windows of >= 50 packets
 *       sit > 4 ms above it, and a packet placed with the anchor as it stands
 *       300 ms (the jitter buffer's hold) after its arrival:
 *         first output sample = round((anchor - invite + RTP time) * RATE)
 *       (audio-rate samples spaced RATE / audio rate apart: a narrowband codec
 *       in a 16 kHz render sits on the even phase, kept bit-exact by the
 *       interpolator, whose delay of RENDER_UP2_DELAY is part of the window).
 *       Each packet is then looked for within +-20 ms of its nominal place,
 *       the previous packet's offset first: "exact" when all its samples are
 *       identical at one offset; "cut" when its longest identical head or
 *       tail run misses no more samples than the anchor step between the
 *       exact packets around it + 2 (the timeline drops the head of a frame
 *       that a lowered anchor makes overlap its predecessor; a sub-sample
 *       move can shift rounding by one) and that step is within 20 ms;
 *       else "inexact". Packets not wholly inside the call (with the
 *       window) are not checked.
 *       Prints per SSRC one line:
 *         ssrc= packets= dups= gaps= checked= exact= cut= inexact= silent=
 *         segments= changes= corr= offset_ms= min_ms= max_ms=
 *       (gaps: sequence numbers missing; exact: every sample of the packet
 *       equal at an offset within the window; cut: see above; corr over all
 *       checked packets at their offsets; offsets relative to the nominal
 *       place) and exits 0 (the shell judges), 1 on bad input.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_codec.h"
#include "error.h"
#include "render.h"

#define MAX_PCM 5760 /* 120 ms at 48 kHz */
/* the timeline's documented anchoring constants (decode/timeline.h) */
#define SEG_JUMP_US        1000000 /* transit above the anchor that starts a segment */
#define SEG_MARKER_JUMP_US 120000  /* the same for a packet with the marker bit */
#define SEG_EARLY_US       100000  /* transit below the anchor that starts a segment */
#define DRIFT_WINDOW_US    5000000
#define DRIFT_MIN_PACKETS  50
#define DRIFT_STEP_US      4000
#define MAX_SEGS           4
#define HOLD_US            300000 /* the jitter buffer's default hold */

typedef struct anchor_seg {
    int used;
    int64_t offset, win_start, win_min;
    size_t win_n;
    int64_t prev_min;
    int prev_valid;
} anchor_seg;

static int write_file(const char *dir, const char *name, const void *p, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = len ? fwrite(p, 1, len, f) : 0;
    int rc = fclose(f);
    return (w == len && rc == 0) ? 0 : -1;
}

static const char *nz(const char *s)
{
    return (s && *s) ? s : "-";
}

static int cmd_render(const char *entry, const char *out)
{
    callinfo *ci = NULL;
    render_result *r = NULL;
    char err[512] = "";
    render_opts o = {0};
    o.no_vad = 1;
    int rc = render_entry(entry, &o, &ci, &r, err, sizeof err);
    if (rc != CS_OK) {
        fprintf(stderr, "render_entry %s: %s: %s\n", entry, cs_err_name(rc), err);
        return 1;
    }
    int bad = write_file(out, "ch1.s16", r->ch1, r->frames * sizeof(int16_t)) ||
              write_file(out, "ch2.s16", r->ch2, r->frames * sizeof(int16_t));
    char path[4096];
    snprintf(path, sizeof path, "%s/info", out);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d %zu %" PRId64 " %" PRId64 " %s\n", r->rate, r->frames, ci->invite_us,
                ci->end_us, nz(ci->uuid));
        bad |= fclose(f) != 0;
    } else {
        bad = 1;
    }
    snprintf(path, sizeof path, "%s/streams.tsv", out);
    f = fopen(path, "w");
    if (f) {
        for (size_t i = 0; i < r->nstreams && i < ci->nstreams; i++) {
            const ci_stream *s = &ci->streams[i];
            const render_stream *rs = &r->streams[i];
            fprintf(f, "%zu\t%d\t%s\t", i, rs->channel, nz(s->codec));
            if (s->codec_pt == CI_NONE)
                fprintf(f, "-\t");
            else
                fprintf(f, "%" PRId64 "\t", s->codec_pt);
            if (s->clock_rate == CI_NONE)
                fprintf(f, "-\t");
            else
                fprintf(f, "%" PRId64 "\t", s->clock_rate);
            fprintf(f, "%s\t%" PRId64 "\t%s\t%" PRId64 "\t", nz(s->src), s->src_port, nz(s->dst),
                    s->dst_port);
            for (size_t k = 0; k < s->nssrcs; k++)
                fprintf(f, "%s0x%08" PRIx32, k ? "," : "", s->ssrcs[k]);
            if (s->nssrcs == 0)
                fprintf(f, "0x%08" PRIx32, s->ssrc);
            fprintf(f, "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%s\n", rs->packets, rs->decoded,
                    rs->refused, nz(rs->reason));
        }
        bad |= fclose(f) != 0;
    } else {
        bad = 1;
    }
    render_free(r);
    callinfo_free(ci);
    if (bad) {
        fprintf(stderr, "cannot write into %s: %s\n", out, strerror(errno));
        return 1;
    }
    return 0;
}

/* ---- compare ---- */

typedef struct pkt {
    uint32_t ssrc;
    int64_t eseq; /* extended sequence number (per SSRC, arrival order) */
    uint32_t ts;
    int64_t arr_us; /* arrival, µs since the epoch */
    size_t order;   /* row in PKTS.tsv */
    size_t ref_off; /* first reference sample (REF.s16) */
    size_t nref;    /* reference samples (REF.s16 codecs) */
    uint8_t *pl;
    size_t len;
    int16_t *pcm; /* decoded (audio rate) */
    size_t npcm;
    int64_t pos;   /* expected first output sample without d */
    int64_t tr;    /* transit: arrival - RTP time (µs) */
    int64_t d;     /* offset where it is exact */
    int64_t dprev; /* inexact: the offset before it */
    int64_t run;   /* inexact: longest exact head or tail */
    int inexact;
    int marker;
    int seg;       /* anchor segment slot */
    int64_t ticks; /* RTP ticks since the stream's first packet (sequence order) */
} pkt;

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "1234567890.123456789" -> µs, without going through a double */
static int64_t parse_epoch_us(const char *s)
{
    char *end;
    int64_t sec = strtoll(s, &end, 10);
    int64_t us = 0;
    int digits = 0;
    if (*end == '.') {
        for (end++; *end >= '0' && *end <= '9'; end++) {
            if (digits < 6) {
                us = us * 10 + (*end - '0');
                digits++;
            }
        }
    }
    while (digits++ < 6)
        us *= 10;
    return sec * 1000000 + us;
}

static int cmp_pkt(const void *a, const void *b)
{
    const pkt *x = a, *y = b;
    if (x->ssrc != y->ssrc)
        return x->ssrc < y->ssrc ? -1 : 1;
    if (x->eseq != y->eseq)
        return x->eseq < y->eseq ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static const pkt *g_pk; /* qsort context of cmp_order */

/* a packet's first output sample: its segment's anchor + RTP time (pos holds
 * its RTP ticks since the stream's first packet until then) */
static void place(pkt *x, const anchor_seg *sg, int64_t invite, int rate, int64_t clock)
{
    double t = (double)(sg[x->seg].offset - invite) + (double)x->pos * 1e6 / (double)clock;
    x->pos = (int64_t)llround(t * rate / 1e6);
}

static int cmp_order(const void *a, const void *b)
{
    size_t x = g_pk[*(const size_t *)a].order, y = g_pk[*(const size_t *)b].order;
    return x < y ? -1 : x > y;
}

static int16_t *read_s16(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    int16_t *b = malloc(cap * sizeof *b);
    while (b) {
        size_t r = fread(b + len, sizeof *b, cap - len, f);
        len += r;
        if (len < cap)
            break;
        int16_t *nb = realloc(b, 2 * cap * sizeof *b);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    fclose(f);
    *n = len;
    return b;
}

typedef struct cmpctx {
    const int16_t *ch;
    int64_t frames;
    int step; /* output samples per audio sample: 1 or 2 */
} cmpctx;

/* correlation of packets [a, b) at offset d; *n samples used */
static double corr_at(const cmpctx *c, const pkt *p, size_t a, size_t b, int64_t d, size_t *n)
{
    double rr = 0, cc = 0, rc = 0;
    size_t used = 0;
    for (size_t i = a; i < b; i++) {
        int64_t s0 = p[i].pos + d;
        int64_t s1 = s0 + (int64_t)p[i].npcm * c->step;
        if (p[i].npcm == 0 || s0 < 0 || s1 > c->frames)
            continue;
        for (size_t k = 0; k < p[i].npcm; k++) {
            double r = p[i].pcm[k], x = c->ch[s0 + (int64_t)k * c->step];
            rr += r * r;
            cc += x * x;
            rc += r * x;
        }
        used += p[i].npcm;
    }
    if (n)
        *n = used;
    if (rr <= 0 || cc <= 0)
        return (rr <= 0 && cc <= 0 && used) ? 1.0 : 0.0;
    return rc / sqrt(rr * cc);
}

static int cmd_compare(int argc, char **argv)
{
    if (argc < 9) {
        fprintf(stderr,
                "usage: compare CH.s16 RATE FRAMES INVITE_US CODEC CLOCK PKTS.tsv [REF.s16]\n");
        return 1;
    }
    size_t nch = 0;
    int16_t *ch = read_s16(argv[2], &nch);
    int rate = atoi(argv[3]);
    int64_t frames = strtoll(argv[4], NULL, 10);
    int64_t invite = strtoll(argv[5], NULL, 10);
    const char *codec = argv[6];
    int64_t clock = strtoll(argv[7], NULL, 10);
    if (!ch || (int64_t)nch != frames || (rate != 8000 && rate != 16000) || clock <= 0) {
        fprintf(stderr,
                "compare: bad channel file or arguments (%zu samples, %" PRId64 " frames)\n", nch,
                frames);
        free(ch);
        return 1;
    }
    int stereo = !strcmp(codec, "l16s");
    int refcodec =
        !strcmp(codec, "pcmu") || !strcmp(codec, "pcma") || !strcmp(codec, "l16") || stereo;
    int bps = !strcmp(codec, "l16") ? 2 : stereo ? 4 : 1; /* payload bytes per output sample */
    int audio_rate = 8000;
    cg_codec cgc = CG_CODEC_PCMU;
    if (!refcodec) {
        if (cg_codec_parse(codec, &cgc) != CS_OK) {
            fprintf(stderr, "compare: no independent decoder for %s\n", codec);
            free(ch);
            return 1;
        }
        audio_rate = cg_codec_get(cgc)->audio_rate;
    } else if (bps > 1) {
        audio_rate = (int)clock;
    }
    if (rate % audio_rate != 0 || rate / audio_rate > 2) {
        fprintf(stderr, "compare: audio rate %d in a %d Hz render\n", audio_rate, rate);
        free(ch);
        return 1;
    }
    int step = rate / audio_rate;

    size_t nref = 0;
    int16_t *ref = NULL;
    if (refcodec) {
        if (argc < 10 || !(ref = read_s16(argv[9], &nref))) {
            fprintf(stderr, "compare: %s needs REF.s16\n", codec);
            free(ch);
            return 1;
        }
    }

    FILE *f = fopen(argv[8], "r");
    if (!f) {
        fprintf(stderr, "compare: %s: %s\n", argv[8], strerror(errno));
        free(ch);
        free(ref);
        return 1;
    }
    pkt *p = NULL;
    size_t np = 0, cap = 0, refpos = 0;
    char *line = NULL;
    size_t lcap = 0;
    int bad = 0;
    while (getline(&line, &lcap, f) > 0) {
        char *fld[6] = {0};
        char *save = NULL, *t = strtok_r(line, "\t\n", &save);
        int k = 0;
        for (; t && k < 6; t = strtok_r(NULL, "\t\n", &save))
            fld[k++] = t;
        if (k < 5)
            continue; /* no payload */
        if (np == cap) {
            cap = cap ? 2 * cap : 1024;
            pkt *q = realloc(p, cap * sizeof *p);
            if (!q) {
                bad = 1;
                break;
            }
            p = q;
        }
        pkt *x = &p[np];
        memset(x, 0, sizeof *x);
        x->ssrc = (uint32_t)strtoul(fld[0], NULL, 0);
        x->eseq = strtol(fld[1], NULL, 10);
        x->ts = (uint32_t)strtoul(fld[2], NULL, 10);
        x->arr_us = parse_epoch_us(fld[3]);
        x->order = np;
        x->marker = fld[5] && (fld[5][0] == '1' || !strcmp(fld[5], "True"));
        size_t hl = strlen(fld[4]);
        x->len = hl / 2;
        x->pl = malloc(x->len ? x->len : 1);
        if (!x->pl) {
            bad = 1;
            break;
        }
        for (size_t i = 0; i < x->len; i++) {
            int hi = hexval((unsigned char)fld[4][2 * i]),
                lo = hexval((unsigned char)fld[4][2 * i + 1]);
            if (hi < 0 || lo < 0) {
                hi = lo = 0;
                bad = 1;
            }
            x->pl[i] = (uint8_t)(hi << 4 | lo);
        }
        x->ref_off = refpos;
        x->nref = x->len / (size_t)bps;
        refpos += x->nref * (stereo ? 2 : 1);
        np++;
    }
    free(line);
    fclose(f);
    if (bad || (refcodec && refpos != nref)) {
        fprintf(stderr,
                "compare: bad PKTS.tsv or REF.s16 (%zu reference samples for %zu expected)\n", nref,
                refpos);
        bad = 1;
    }

    /* extended sequence numbers per SSRC in arrival order */
    for (size_t i = 0; i < np && !bad; i++) {
        for (size_t j = i; j-- > 0;) {
            if (p[j].ssrc == p[i].ssrc) {
                int16_t dlt = (int16_t)(uint16_t)((uint16_t)p[i].eseq - (uint16_t)p[j].eseq);
                p[i].eseq = p[j].eseq + dlt;
                break;
            }
        }
    }
    if (!bad && np)
        qsort(p, np, sizeof *p, cmp_pkt);

    cmpctx c = {ch, frames, step};
    int64_t delay = step == 2 ? RENDER_UP2_DELAY : 0;
    for (size_t a = 0; a < np && !bad;) {
        size_t b = a;
        while (b < np && p[b].ssrc == p[a].ssrc)
            b++;
        /* decode in sequence order, duplicates dropped */
        cg_decoder *dec = refcodec ? NULL : cg_decoder_new(cgc);
        if (!refcodec && !dec) {
            bad = 1;
            break;
        }
        size_t dups = 0, gaps = 0;
        int64_t ets = 0;
        for (size_t i = a; i < b; i++) {
            if (i > a && p[i].eseq == p[i - 1].eseq) {
                dups++;
                continue;
            }
            if (i > a) {
                ets += (int32_t)(p[i].ts - p[i - 1].ts);
                gaps += (size_t)(p[i].eseq - p[i - 1].eseq - 1);
            }
            p[i].pos = ets; /* RTP ticks since the first in sequence order */
            p[i].ticks = ets;
            /* transit: arrival - RTP time */
            p[i].tr = p[i].arr_us - (int64_t)llround((double)ets * 1e6 / (double)clock);
            p[i].pcm = malloc(MAX_PCM * sizeof(int16_t));
            if (!p[i].pcm) {
                bad = 1;
                break;
            }
            if (refcodec) {
                p[i].npcm = p[i].nref < MAX_PCM ? p[i].nref : MAX_PCM;
                if (stereo) /* down-mix: floor((left + right) / 2) */
                    for (size_t k = 0; k < p[i].npcm; k++)
                        p[i].pcm[k] = (int16_t)(((int32_t)ref[p[i].ref_off + 2 * k] +
                                                 ref[p[i].ref_off + 2 * k + 1]) >>
                                                1);
                else
                    memcpy(p[i].pcm, ref + p[i].ref_off, p[i].npcm * sizeof(int16_t));
            } else {
                int n = cg_decoder_decode(dec, p[i].pl, p[i].len, p[i].pcm, MAX_PCM);
                p[i].npcm = n > 0 ? (size_t)n : 0;
            }
        }
        cg_decoder_free(dec);
        if (bad)
            break;
        /* anchors, as decode/timeline.h draws them (an independent
         * re-statement of its documented rule, not its code): packets in
         * arrival order; a packet fits a segment when its transit is less
         * than SEG_EARLY_US below the segment's anchor and less than
         * SEG_JUMP_US (SEG_MARKER_JUMP_US with the marker bit) above it; it
         * lowers the anchor to its transit; two consecutive DRIFT_WINDOW_US
         * windows of >= DRIFT_MIN_PACKETS packets whose minimum sits more than
         * DRIFT_STEP_US above the anchor raise it. No fitting segment: a new
         * one anchored on the packet. playout = anchor + RTP time, with the
         * anchor as it stands when the packet leaves the jitter buffer
         * (HOLD_US after its arrival); the search for d absorbs the rest. */
        size_t nseg = 0;
        {
            size_t cnt = b - a;
            size_t *ord = malloc(cnt * sizeof *ord);
            anchor_seg *sg = calloc(MAX_SEGS, sizeof *sg);
            if (!ord || !sg) {
                free(ord);
                free(sg);
                bad = 1;
                break;
            }
            size_t no = 0;
            for (size_t i = a; i < b; i++)
                if (p[i].pcm)
                    ord[no++] = i;
            g_pk = p;
            qsort(ord, no, sizeof *ord, cmp_order);
            int cur = -1;
            size_t rel = 0;
            for (size_t k = 0; k < no; k++) {
                pkt *x = &p[ord[k]];
                /* release (place) what has waited HOLD_US by now: the capture
                 * clock moves on with other traffic, so that happens before
                 * this packet arrives */
                while (rel < k && p[ord[rel]].arr_us + HOLD_US <= x->arr_us)
                    place(&p[ord[rel++]], sg, invite, rate, clock);
                int hit = -1;
                for (int j = 0; j < MAX_SEGS && cur >= 0; j++) {
                    int si = (cur - j + MAX_SEGS) % MAX_SEGS;
                    if (!sg[si].used)
                        continue;
                    int64_t dd = x->tr - sg[si].offset;
                    int64_t thr = x->marker ? SEG_MARKER_JUMP_US : SEG_JUMP_US;
                    if (dd <= -SEG_EARLY_US || dd >= thr)
                        continue;
                    hit = si;
                    break;
                }
                if (hit < 0) {
                    cur = (cur + 1) % MAX_SEGS;
                    hit = cur;
                    sg[hit] = (anchor_seg){1, x->tr, x->arr_us, x->tr, 1, 0, 0};
                    nseg++;
                } else {
                    anchor_seg *g = &sg[hit];
                    if (x->tr < g->offset)
                        g->offset = x->tr;
                    if (x->arr_us - g->win_start >= DRIFT_WINDOW_US) {
                        int valid = g->win_n >= DRIFT_MIN_PACKETS;
                        if (valid && g->prev_valid) {
                            int64_t m = g->win_min < g->prev_min ? g->win_min : g->prev_min;
                            if (m > g->offset + DRIFT_STEP_US)
                                g->offset = m;
                        }
                        g->prev_min = g->win_min;
                        g->prev_valid = valid;
                        g->win_start = x->arr_us;
                        g->win_min = x->tr;
                        g->win_n = 1;
                    } else {
                        if (x->tr < g->win_min)
                            g->win_min = x->tr;
                        g->win_n++;
                    }
                }
                x->seg = hit;
            }
            while (rel < no)
                place(&p[ord[rel++]], sg, invite, rate, clock);
            free(ord);
            free(sg);
        }
        /* drop the duplicates from the work */
        size_t w = a;
        for (size_t i = a; i < b; i++) {
            if (p[i].pcm)
                p[w++] = p[i];
            else
                free(p[i].pl);
        }
        size_t e = w;
        for (size_t i = e; i < b; i++)
            p[i].pl = NULL, p[i].pcm = NULL; /* moved or freed above */
        /* each packet at the offset d (within +-20 ms of its nominal place,
         * plus the interpolator's delay) where it is sample-exact, the previous
         * packet's offset tried first; a packet exact nowhere is "cut" when a
         * head or tail run of it is exact at the offset of a neighbour (the
         * timeline drops the head of a frame that a re-anchor made overlap
         * its predecessor) */
        int64_t lim = (int64_t)rate / 50; /* 20 ms */
        int64_t dprev = delay, dmin = INT64_MAX, dmax = INT64_MIN, dfirst = INT64_MIN;
        size_t checked = 0, exact = 0, silent = 0, cut = 0, changes = 0;
        for (size_t i = a; i < e; i++) {
            int64_t s0 = p[i].pos;
            int64_t n = (int64_t)p[i].npcm;
            if (n == 0 || s0 - lim < 0 || s0 + lim + delay + n * step > frames) {
                p[i].npcm = 0; /* not wholly inside the call: not checked */
                continue;
            }
            checked++;
            int z = 1;
            for (int64_t m = 0; m < n && z; m++)
                z = p[i].pcm[m] == 0;
            silent += (size_t)z;
            int64_t found = INT64_MIN;
            for (int64_t j = 0; j <= 2 * lim + delay && found == INT64_MIN; j++) {
                /* dprev, dprev+1, dprev-1, dprev+2, ... inside the window */
                int64_t cand[2] = {dprev + (j + 1) / 2, dprev - (j + 1) / 2};
                for (int q = 0; q < (j ? 2 : 1) && found == INT64_MIN; q++) {
                    int64_t d = j ? cand[q] : dprev;
                    if (d < -lim || d > lim + delay)
                        continue;
                    int64_t m = 0;
                    while (m < n && p[i].pcm[m] == ch[s0 + d + m * step])
                        m++;
                    if (m == n)
                        found = d;
                }
            }
            if (found != INT64_MIN) {
                exact++;
                if (dfirst == INT64_MIN)
                    dfirst = found;
                else if (found != dprev && !z)
                    changes++;
                if (!z) {
                    dprev = found;
                    dmin = found < dmin ? found : dmin;
                    dmax = found > dmax ? found : dmax;
                }
                p[i].pos += found;
                p[i].d = found;
                continue;
            }
            /* longest exact head or tail at any offset of the window */
            int64_t best = 0;
            for (int64_t d = -lim; d <= lim + delay; d++) {
                int64_t h = 0, t = 0;
                while (h < n && p[i].pcm[h] == ch[s0 + d + h * step])
                    h++;
                while (t < n && p[i].pcm[n - 1 - t] == ch[s0 + d + (n - 1 - t) * step])
                    t++;
                best = h > best ? h : best;
                best = t > best ? t : best;
            }
            p[i].run = best;
            p[i].dprev = dprev;
            p[i].pos += dprev;
            p[i].inexact = 1;
        }
        /* a cut packet: the samples missing from its exact head or tail run
         * are no more than the step in placement between the exact packets
         * around it (their distance minus what their RTP times say) + 2:
         * the timeline moved the anchor there and never lets a stream
         * overlap itself (a frame's head is dropped), and a sub-sample anchor
         * move can shift the rounding by one sample */
        size_t inexact = 0;
        for (size_t i = a; i < e; i++) {
            if (!p[i].inexact)
                continue;
            size_t jp = SIZE_MAX, jn = SIZE_MAX;
            for (size_t j = i; j-- > a;) {
                if (!p[j].inexact && p[j].npcm) {
                    jp = j;
                    break;
                }
            }
            for (size_t j = i + 1; j < e; j++) {
                if (!p[j].inexact && p[j].npcm) {
                    jn = j;
                    break;
                }
            }
            int64_t step_d = 0;
            if (jp != SIZE_MAX && jn != SIZE_MAX)
                step_d = llabs((p[jn].pos - p[jp].pos) -
                               llround((double)(p[jn].ticks - p[jp].ticks) * rate / (double)clock));
            int64_t missing = (int64_t)p[i].npcm - p[i].run;
            int ok = missing <= step_d + 2 && step_d <= lim;
            if (ok) {
                cut++;
                changes++;
            } else {
                inexact++;
            }
            if (getenv("SHARED_AUDIO_DEBUG"))
                fprintf(stderr,
                        "%s seq=%" PRId64 " ts=%u arr_ms=%.3f pos=%" PRId64
                        " placement step=%" PRId64 " exact head/tail run=%" PRId64 " of %zu\n",
                        ok ? "cut" : "inexact", p[i].eseq, p[i].ts,
                        (double)(p[i].arr_us - invite) / 1e3, p[i].pos, step_d, p[i].run,
                        p[i].npcm);
        }
        double cr = corr_at(&c, p, a, e, 0, NULL);
        if (dfirst == INT64_MIN)
            dfirst = dmin = dmax = delay;
        printf(
            "ssrc=0x%08" PRIx32
            " packets=%zu dups=%zu gaps=%zu checked=%zu exact=%zu cut=%zu inexact=%zu silent=%zu "
            "segments=%zu changes=%zu corr=%.5f offset_ms=%.3f min_ms=%.3f max_ms=%.3f\n",
            p[a].ssrc, b - a, dups, gaps, checked, exact, cut, inexact, silent, nseg, changes, cr,
            (double)(dfirst - delay) * 1000.0 / rate, (double)(dmin - delay) * 1000.0 / rate,
            (double)(dmax - delay) * 1000.0 / rate);
        for (size_t i = a; i < e; i++) {
            free(p[i].pl);
            free(p[i].pcm);
            p[i].pl = NULL;
            p[i].pcm = NULL;
        }
        a = b;
    }
    for (size_t i = 0; i < np; i++) {
        free(p[i].pl);
        free(p[i].pcm);
    }
    free(p);
    free(ch);
    free(ref);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "render"))
        return cmd_render(argv[2], argv[3]);
    if (argc >= 2 && !strcmp(argv[1], "compare"))
        return cmd_compare(argc, argv);
    fprintf(stderr, "usage: shared_audio_tool render ENTRY OUT | compare ...\n");
    return 2;
}
