/*
 * bench_decode.c — the decode benchmark's driver: render + archive speed per
 * codec on one core, as multiples of real time, beside the time to merely
 * read the same spool entries.
 *
 * bench/decode/run.sh writes callgen captures (one codec each), runs
 * callscope-capture over them into spool directories, and calls this program
 * with one SET argument per codec:
 *
 *     LABEL:FORMAT:DIR      e.g. pcmu:flac:/dev/shm/x/spool-pcmu/ready
 *
 * DIR holds spool entries (DIR/<uuid>/call.json + call.pcap). The entries used
 * are the answered, finished calls (outcome "answered", end_reason not
 * "capture_stopped"), in name order, at most --calls of them.
 *
 * The process pins itself to one CPU (sched_setaffinity), then, for each round
 * and each set, measures back to back:
 *   (a) read — the baseline: per entry, read call.json and parse it
 *       (callinfo_parse, what decode must do anyway), then open call.pcap
 *       with pcap_open_offline() and walk it with pcap_next_ex();
 *   (b) decode — per entry, render_entry() (decode/render.h: parse, decode,
 *       timeline, conceal, VAD) and archive_write() (decode/archive.h: encode
 *       to FORMAT, hash, fsync, rename) under --archive (tmpfs). The archived
 *       file is removed after each call, outside the timed part.
 * Times are the process CPU time (CLOCK_PROCESS_CPUTIME_ID: user + system,
 * robust to other processes taking the core) and the monotonic wall time.
 * Audio seconds = the recording's duration (frames / rate, one per call, not
 * per channel). "x real time" = audio seconds / CPU seconds. Per set the
 * figures are medians over the rounds.
 *
 * Targets: PCMU -> FLAC >= 500x real time (the set labelled "pcmu" with format
 * flac). The last line is always "RESULT decode_pcmu_flac_xrt <multiple>"
 * (0 when there is no pcmu:flac set or it failed).
 *
 * Exit: 0 measured (target met or not), 1 an entry failed to read, render or
 * archive, or a set decoded no packet, 2 usage, 3 target missed and
 * --fail-on-miss, 4 environment (cannot pin, no entries, archive dir).
 *
 * Not a test and not a parser of its own: spool files go through callinfo and
 * render, which bound every read. No global state besides the CLI's options.
 */
#include <dirent.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "callinfo.h"
#include "error.h"
#include "render.h"

#define MAX_SETS        8
#define MAX_ROUNDS      50
#define TARGET_PCMU_XRT 500.0

typedef struct bset {
    char label[16];
    archive_format format;
    const char *dir;
    size_t n;
    char **names; /* entry directory paths, owned */
} bset;

typedef struct phase {
    double cpu, wall;
} phase;

typedef struct round_fig {
    phase read;
    phase render, archive; /* decode = render + archive */
    double user, sys;      /* of the decode phase (getrusage) */
    double audio_s;
    uint64_t read_frames, read_bytes;
    uint64_t pkts_rtp, pkts_decoded, pkts_concealed;
    uint64_t archive_bytes;
    int rate_max;
} round_fig;

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_dbl);
    return (n % 2) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Reads path into a malloc'd buffer; *len gets its size. NULL on error. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap >= CALLINFO_MAX_BYTES)
            break;
        char *t = realloc(buf, cap * 2);
        if (!t) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = t;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Baseline for one entry: call.json read + parsed, call.pcap walked. */
static int read_entry(const char *dir, round_fig *fig)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/call.json", dir);
    char *text = slurp(path, &len);
    if (!text) {
        fprintf(stderr, "bench_decode: %s: cannot read\n", path);
        return -1;
    }
    callinfo *ci = NULL;
    callinfo_error cerr;
    int rc = callinfo_parse(text, len, &ci, &cerr);
    free(text);
    if (rc != CS_OK) {
        fprintf(stderr, "bench_decode: %s: %s\n", path, cerr.msg);
        return -1;
    }
    callinfo_free(ci);

    char errbuf[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/call.pcap", dir);
    pcap_t *p = pcap_open_offline(path, errbuf);
    if (!p) {
        fprintf(stderr, "bench_decode: %s: %s\n", path, errbuf);
        return -1;
    }
    struct pcap_pkthdr *hdr;
    const unsigned char *data;
    while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
        fig->read_frames++;
        fig->read_bytes += hdr->caplen;
    }
    pcap_close(p);
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "bench_decode: %s: read error\n", path);
        return -1;
    }
    return 0;
}

/* Decode + archive for one entry; times added to fig. */
static int decode_entry(const char *dir, const char *archive, archive_format fmt, round_fig *fig)
{
    char err[512];
    callinfo *ci = NULL;
    render_result *rr = NULL;
    double c0 = now_s(CLOCK_PROCESS_CPUTIME_ID), w0 = now_s(CLOCK_MONOTONIC);
    int rc = render_entry(dir, NULL, &ci, &rr, err, sizeof err);
    double c1 = now_s(CLOCK_PROCESS_CPUTIME_ID), w1 = now_s(CLOCK_MONOTONIC);
    fig->render.cpu += c1 - c0;
    fig->render.wall += w1 - w0;
    if (rc != CS_OK) {
        fprintf(stderr, "bench_decode: %s: render: %s (%s)\n", dir, err, cs_err_name(rc));
        return -1;
    }
    archive_audio aa = {
        .uuid = ci->uuid,
        .started_us = ci->invite_us,
        .sample_rate = rr->rate,
        .ch1 = rr->ch1,
        .ch2 = rr->ch2,
        .frames = rr->frames,
        .format = fmt,
    };
    archive_result ar;
    c0 = now_s(CLOCK_PROCESS_CPUTIME_ID), w0 = now_s(CLOCK_MONOTONIC);
    rc = archive_write(archive, &aa, NULL, &ar);
    c1 = now_s(CLOCK_PROCESS_CPUTIME_ID), w1 = now_s(CLOCK_MONOTONIC);
    fig->archive.cpu += c1 - c0;
    fig->archive.wall += w1 - w0;
    if (rc == CS_OK) {
        fig->audio_s += (double)rr->frames / rr->rate;
        fig->archive_bytes += ar.bytes;
        if (rr->rate > fig->rate_max)
            fig->rate_max = rr->rate;
        fig->pkts_rtp += rr->rtp_packets;
        for (size_t i = 0; i < rr->nstreams; i++) {
            fig->pkts_decoded += rr->streams[i].decoded;
            fig->pkts_concealed += rr->streams[i].concealed;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", archive, ar.path);
        unlink(path); /* outside the timed part */
    } else {
        fprintf(stderr, "bench_decode: %s: archive: %s (%s)\n", dir, ar.msg, cs_err_name(rc));
    }
    render_free(rr);
    callinfo_free(ci);
    return rc == CS_OK ? 0 : -1;
}

/* The answered, finished calls of set->dir, in name order, at most max (0: all). */
static int load_set(bset *s, size_t max)
{
    DIR *d = opendir(s->dir);
    if (!d) {
        fprintf(stderr, "bench_decode: %s: %s\n", s->dir, strerror(errno));
        return -1;
    }
    size_t cap = 0, n = 0;
    char **all = NULL;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **t = realloc(all, cap * sizeof *t);
            if (!t)
                abort();
            all = t;
        }
        size_t l = strlen(s->dir) + strlen(de->d_name) + 2;
        all[n] = malloc(l);
        if (!all[n])
            abort();
        snprintf(all[n], l, "%s/%s", s->dir, de->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(all, n, sizeof *all, cmp_str);
    s->names = malloc((n ? n : 1) * sizeof *s->names);
    if (!s->names)
        abort();
    s->n = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        size_t len;
        snprintf(path, sizeof path, "%s/call.json", all[i]);
        char *text = slurp(path, &len);
        callinfo *ci = NULL;
        int keep = 0;
        if (text && callinfo_parse(text, len, &ci, NULL) == CS_OK) {
            keep = ci->outcome && strcmp(ci->outcome, "answered") == 0 && ci->end_reason &&
                   strcmp(ci->end_reason, "capture_stopped") != 0 && ci->has_pcap &&
                   (max == 0 || s->n < max);
            callinfo_free(ci);
        }
        free(text);
        if (keep)
            s->names[s->n++] = all[i];
        else
            free(all[i]);
    }
    free(all);
    return 0;
}

static void free_sets(bset *sets, int nsets)
{
    for (int k = 0; k < nsets; k++) {
        for (size_t i = 0; i < sets[k].n; i++)
            free(sets[k].names[i]);
        free(sets[k].names);
        sets[k].names = NULL;
        sets[k].n = 0;
    }
}

static void usage(FILE *f, const char *me)
{
    fprintf(f,
            "Usage: %s [OPTION]... LABEL:FORMAT:DIR...\n"
            "Decode benchmark driver (see bench/decode/run.sh, docs/benchmarks.md).\n"
            "Each set: LABEL (e.g. pcmu), FORMAT flac|wav|opus, DIR of spool entries.\n"
            "  --archive DIR   archive root for the recordings (required; tmpfs)\n"
            "  --rounds N      rounds of read + decode per set (default 2)\n"
            "  --calls N       answered, finished calls per set, 0 = all (default 20)\n"
            "  --cpu N         CPU to pin to (default: the one it starts on)\n"
            "  --fail-on-miss  exit 3 when the PCMU->FLAC target is missed\n"
            "Last line: RESULT decode_pcmu_flac_xrt <multiple>.\n",
            me);
}

int main(int argc, char **argv)
{
    const char *me = "bench_decode", *archive = NULL;
    int rounds = 2, cpu = -1, fail_on_miss = 0;
    size_t max_calls = 20;
    bset sets[MAX_SETS];
    int nsets = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout, me);
            return 0;
        } else if (strcmp(a, "--fail-on-miss") == 0) {
            fail_on_miss = 1;
        } else if ((strcmp(a, "--archive") == 0 || strcmp(a, "--rounds") == 0 ||
                    strcmp(a, "--calls") == 0 || strcmp(a, "--cpu") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: %s needs a value\n", me, a);
                return 2;
            }
            const char *v = argv[++i];
            char *end;
            long n = strtol(v, &end, 10);
            if (strcmp(a, "--archive") == 0) {
                archive = v;
            } else if (*end || end == v || n < 0 || n > 100000) {
                fprintf(stderr, "%s: %s: not a number: %s\n", me, a, v);
                return 2;
            } else if (strcmp(a, "--rounds") == 0) {
                rounds = (int)n;
            } else if (strcmp(a, "--calls") == 0) {
                max_calls = (size_t)n;
            } else {
                cpu = (int)n;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "%s: unknown option %s\n", me, a);
            usage(stderr, me);
            return 2;
        } else {
            const char *c1 = strchr(a, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c2 || c1 == a || c2[1] == '\0' || nsets == MAX_SETS) {
                fprintf(stderr, "%s: bad set %s (LABEL:FORMAT:DIR, at most %d)\n", me, a, MAX_SETS);
                return 2;
            }
            bset *s = &sets[nsets];
            memset(s, 0, sizeof *s);
            if ((size_t)(c1 - a) >= sizeof s->label) {
                fprintf(stderr, "%s: %s: label longer than %zu characters\n", me, a,
                        sizeof s->label - 1);
                return 2;
            }
            memcpy(s->label, a, (size_t)(c1 - a));
            if (archive_format_parse(c1 + 1, (size_t)(c2 - c1 - 1), &s->format) != CS_OK) {
                fprintf(stderr, "%s: %s: format must be flac, wav or opus\n", me, a);
                return 2;
            }
            s->dir = c2 + 1;
            nsets++;
        }
    }
    if (!archive || nsets == 0 || rounds < 1 || rounds > MAX_ROUNDS) {
        usage(stderr, me);
        return 2;
    }

    /* one core */
    if (cpu < 0)
        cpu = sched_getcpu();
    cpu_set_t cs;
    CPU_ZERO(&cs);
    CPU_SET(cpu, &cs);
    if (cpu < 0 || sched_setaffinity(0, sizeof cs, &cs) != 0) {
        fprintf(stderr, "%s: cannot pin to CPU %d: %s\n", me, cpu, strerror(errno));
        return 4;
    }

    for (int k = 0; k < nsets; k++) {
        if (load_set(&sets[k], max_calls) != 0 || sets[k].n == 0) {
            if (sets[k].names)
                fprintf(stderr, "%s: %s: no answered, finished call\n", me, sets[k].dir);
            free_sets(sets, nsets);
            return 4;
        }
    }

    static round_fig figs[MAX_SETS][MAX_ROUNDS];
    memset(figs, 0, sizeof figs);
    int failed[MAX_SETS] = {0};

    /* warm-up: every file read once (page cache, libraries' lazy init) */
    for (int k = 0; k < nsets; k++) {
        round_fig scratch;
        memset(&scratch, 0, sizeof scratch);
        for (size_t i = 0; i < sets[k].n; i++)
            if (read_entry(sets[k].names[i], &scratch) != 0)
                failed[k] = 1;
    }

    printf(
        "pinned to CPU %d; %d round%s; times are CPU seconds (user+system) unless marked wall\n\n",
        cpu, rounds, rounds == 1 ? "" : "s");
    printf("%-6s %-5s %5s %5s %9s  %7s %7s %7s %8s  %7s %8s  %7s %8s %7s\n", "codec", "fmt",
           "round", "calls", "audio s", "render", "archive", "decode", "x rt", "wall", "x rt wall",
           "read", "read x rt", "dec/read");
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < nsets; k++) {
            bset *s = &sets[k];
            round_fig *f = &figs[k][r];
            if (failed[k])
                continue;
            double c0 = now_s(CLOCK_PROCESS_CPUTIME_ID), w0 = now_s(CLOCK_MONOTONIC);
            for (size_t i = 0; i < s->n && !failed[k]; i++)
                if (read_entry(s->names[i], f) != 0)
                    failed[k] = 1;
            f->read.cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
            f->read.wall = now_s(CLOCK_MONOTONIC) - w0;

            struct rusage ru0, ru1;
            getrusage(RUSAGE_SELF, &ru0);
            for (size_t i = 0; i < s->n && !failed[k]; i++)
                if (decode_entry(s->names[i], archive, s->format, f) != 0)
                    failed[k] = 1;
            getrusage(RUSAGE_SELF, &ru1);
            f->user = tv_s(ru1.ru_utime) - tv_s(ru0.ru_utime);
            f->sys = tv_s(ru1.ru_stime) - tv_s(ru0.ru_stime);
            if (failed[k])
                continue;
            if (f->pkts_decoded == 0) {
                fprintf(stderr, "%s: %s: not one packet decoded\n", me, s->label);
                failed[k] = 1;
                continue;
            }
            double dec = f->render.cpu + f->archive.cpu, decw = f->render.wall + f->archive.wall;
            printf("%-6s %-5s %5d %5zu %9.1f  %7.3f %7.3f %7.3f %7.0fx  %7.3f %8.0fx  %7.3f %8.0fx "
                   "%6.1fx\n",
                   s->label, archive_format_name(s->format), r + 1, s->n, f->audio_s, f->render.cpu,
                   f->archive.cpu, dec, f->audio_s / dec, decw, f->audio_s / decw, f->read.cpu,
                   f->audio_s / f->read.cpu, dec / f->read.cpu);
            fflush(stdout);
        }
    }

    printf("\nmedians over the rounds (x rt = audio seconds / CPU seconds, one core):\n");
    double result = 0;
    int result_set = 0, any_failed = 0;
    for (int k = 0; k < nsets; k++) {
        bset *s = &sets[k];
        if (failed[k]) {
            printf("  %-5s -> %-4s  FAILED (see the errors above)\n", s->label,
                   archive_format_name(s->format));
            any_failed = 1;
            continue;
        }
        double xrt[MAX_ROUNDS], xw[MAX_ROUNDS], rd[MAX_ROUNDS], rdx[MAX_ROUNDS], ratio[MAX_ROUNDS],
            ren[MAX_ROUNDS], arc[MAX_ROUNDS], usr[MAX_ROUNDS], sys[MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            round_fig *f = &figs[k][r];
            double dec = f->render.cpu + f->archive.cpu;
            xrt[r] = f->audio_s / dec;
            xw[r] = f->audio_s / (f->render.wall + f->archive.wall);
            rd[r] = f->read.cpu;
            rdx[r] = f->audio_s / f->read.cpu;
            ratio[r] = dec / f->read.cpu;
            ren[r] = f->render.cpu;
            arc[r] = f->archive.cpu;
            usr[r] = f->user;
            sys[r] = f->sys;
        }
        round_fig *f0 = &figs[k][0];
        double m_xrt = median(xrt, rounds);
        const char *tgt = "no target";
        if (strcmp(s->label, "pcmu") == 0 && s->format == ARCHIVE_FLAC) {
            result = m_xrt;
            result_set = 1;
            tgt = m_xrt >= TARGET_PCMU_XRT ? "target >= 500x: met" : "target >= 500x: NOT MET";
        }
        printf("  %s -> %s: %zu calls, %.1f s of audio at %d Hz (%llu RTP packets, %llu decoded, "
               "%llu concealed), %.1f MB archived\n",
               s->label, archive_format_name(s->format), s->n, f0->audio_s, f0->rate_max,
               (unsigned long long)f0->pkts_rtp, (unsigned long long)f0->pkts_decoded,
               (unsigned long long)f0->pkts_concealed, (double)f0->archive_bytes / 1e6);
        printf("    decode+archive %8.0fx real time  (CPU: render %.3f s + archive %.3f s; "
               "user %.3f s, system %.3f s)  %s\n",
               m_xrt, median(ren, rounds), median(arc, rounds), median(usr, rounds),
               median(sys, rounds), tgt);
        printf("    same by wall   %8.0fx real time\n", median(xw, rounds));
        printf("    read only      %8.0fx real time  (%.3f CPU s for %llu frames, %.1f MB of "
               "call.pcap + call.json parse)\n",
               median(rdx, rounds), median(rd, rounds), (unsigned long long)f0->read_frames,
               (double)f0->read_bytes / 1e6);
        printf("    decode / read  %8.1fx the CPU time of merely reading\n", median(ratio, rounds));
    }
    int missed = !result_set || result < TARGET_PCMU_XRT;
    printf("RESULT decode_pcmu_flac_xrt %.0f\n", result);
    free_sets(sets, nsets);
    if (any_failed)
        return 1;
    return (fail_on_miss && missed) ? 3 : 0;
}
