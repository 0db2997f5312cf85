/*
 * test_cg_callgen.c — the callgen program as a whole.
 *
 *  - the command line: exit codes 0 / 2 / 3 / 4, --help lists every option
 *    and scenario (runs the real binary, $CALLGEN);
 *  - determinism: two runs with one seed give byte-identical pcap and truth,
 *    another seed gives a different capture;
 *  - faults: a run of the faults scenario through the library API, then the
 *    pcap read back with libpcap: per SSRC, the distinct, duplicated and
 *    out-of-order packets equal the counts the truth records.
 * Needs Debian's pocketsphinx-testdata; skips (77) without it. Phrases are
 * synthesised into $CALLGEN_TTS_CACHE when Festival is there, else skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg_scenario.h"
#include "cg_truth.h"
#include "error.h"
#include "testsupport.h"

static char g_dir[4096];
static const char *g_bin;
static int g_phrases = 1;

/* Runs callgen with args (NULL-terminated); stdout to out_path if given. */
static int run(const char *out_path, const char *const *args)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = g_bin;
    for (int i = 0; args[i] && n < 60; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 1);
        if (nul >= 0)
            dup2(nul, 2);
        execv(g_bin, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *tts_arg(void)
{
    const char *t = getenv("CALLGEN_TTS_CACHE");
    return t && *t ? t : "/tmp/callscope-test-tts";
}

static void test_cli(void **state)
{
    (void)state;
    char out[4200], help[4200];
    snprintf(out, sizeof out, "%s/x.pcap", g_dir);
    snprintf(help, sizeof help, "%s/help.txt", g_dir);
    assert_int_equal(run(help, (const char *[]){"--help", NULL}), 0);
    size_t len;
    char *text = ts_read_file(help, &len);
    assert_non_null(text);
    for (int i = 0; i < CG_SC__COUNT; i++)
        assert_non_null(strstr(text, cg_scen_name((cg_scen)i)));
    const char *opts[] = {"--output", "--truth", "--seed", "--scenario", "--calls", "--codec",
                          "--loss", "--jitter", "--reorder", "--duplicate", "--ssrc-change",
                          "--start", "--ref-audio", "--testdata", "--tts-cache", "--no-phrases",
                          "--correlation-header", "--load", "--size", "--concurrent",
                          "--duration", "--quiet", "--help", "all"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        assert_non_null(strstr(text, opts[i]));
    free(text);
    assert_int_equal(run(NULL, (const char *[]){"--scenario", "direct", NULL}), 2);
    assert_int_equal(run(NULL, (const char *[]){"-o", out, "--codec", "gsm", NULL}), 2);
    assert_int_equal(run(NULL, (const char *[]){"-o", out, "--scenario", "nope", NULL}), 2);
    assert_int_equal(run(NULL, (const char *[]){"-o", out, "--loss", "101", NULL}), 2);
    assert_int_equal(run(NULL, (const char *[]){"-o", out, "--start", "2024-13-01T00:00:00Z",
                                                NULL}),
                     2);
    assert_int_equal(run(NULL, (const char *[]){"-o", out, "--load", NULL}), 2);
    assert_int_equal(run(NULL, (const char *[]){"-o", out, "stray", NULL}), 2);
    assert_int_equal(run(NULL, (const char *[]){"-o", out, "--no-phrases", "--testdata",
                                                "/nonexistent/testdata", NULL}),
                     3);
    assert_int_equal(run(NULL, (const char *[]){"-o", "/nonexistent/dir/x.pcap", "--no-phrases",
                                                "--scenario", "busy", NULL}),
                     4);
    assert_int_equal(run(NULL, (const char *[]){"-o", out, "--no-phrases", "--scenario",
                                                "busy,direct", "-q", NULL}),
                     0);
}

static void gen(const char *name, const char *seed, const char *scen)
{
    char out[4200];
    snprintf(out, sizeof out, "%s/%s.pcap", g_dir, name);
    int rc;
    if (g_phrases)
        rc = run(NULL, (const char *[]){"-q", "--seed", seed, "--scenario", scen, "-o", out,
                                        "--tts-cache", tts_arg(), NULL});
    else
        rc = run(NULL, (const char *[]){"-q", "--seed", seed, "--scenario", scen, "-o", out,
                                        "--no-phrases", NULL});
    assert_int_equal(rc, 0);
}

static int same_file(const char *a, const char *b)
{
    char pa[4200], pb[4200];
    snprintf(pa, sizeof pa, "%s/%s", g_dir, a);
    snprintf(pb, sizeof pb, "%s/%s", g_dir, b);
    size_t la, lb;
    char *x = ts_read_file(pa, &la), *y = ts_read_file(pb, &lb);
    assert_non_null(x);
    assert_non_null(y);
    int same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

static void test_determinism(void **state)
{
    (void)state;
    gen("a", "7", "all");
    gen("b", "7", "all");
    gen("c", "8", "all");
    assert_true(same_file("a.pcap", "b.pcap"));
    assert_true(same_file("a.truth.json", "b.truth.json"));
    assert_false(same_file("a.pcap", "c.pcap"));
    assert_false(same_file("a.truth.json", "c.truth.json"));
}

/* ---- faults: the pcap read back */

typedef struct seqstat {
    uint32_t ssrc;
    uint8_t seen[65536 / 8];
    uint16_t maxseq;
    int started;
    uint64_t distinct, dups, inversions;
} seqstat;

static void test_faults_counts(void **state)
{
    (void)state;
    cg_bank bank;
    memset(&bank, 0, sizeof bank);
    cg_bank_opts bo = {NULL, g_phrases ? tts_arg() : NULL, NULL};
    char err[512];
    assert_int_equal(cg_bank_load(&bank, &bo, err, sizeof err), CS_OK);
    cg_gen_opts o;
    memset(&o, 0, sizeof o);
    o.seed = 11;
    o.start_us = 1709542800000000ULL;
    o.scen[0] = CG_SC_FAULTS;
    o.scen[1] = CG_SC_DIRECT;
    o.nscen = 2;
    o.calls = 2;
    o.codec = CG_CODEC_PCMA;
    o.faults.loss_pct = 4;
    o.faults.duplicate_pct = 3;
    o.faults.reorder_pct = 3;
    o.faults.jitter_ms = 50;
    o.corr_header = "X-Orig-Call-ID";
    o.quiet = 1;
    cg_run run;
    assert_int_equal(cg_run_plan(&run, &o, &bank), CS_OK);
    assert_int_equal(run.ncalls, 4);
    char path[4200], tpath[4200];
    snprintf(path, sizeof path, "%s/faults.pcap", g_dir);
    snprintf(tpath, sizeof tpath, "%s/faults.truth.json", g_dir);
    assert_int_equal(cg_run_write(&run, path, err, sizeof err), CS_OK);
    assert_int_equal(cg_truth_write(&run, tpath, err, sizeof err), CS_OK);

    seqstat *st = calloc(64, sizeof *st);
    assert_non_null(st);
    int nst = 0;
    char perr[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, perr);
    assert_non_null(pc);
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t frames = 0;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        frames++;
        /* untagged Ethernet + IPv4 + UDP in this run */
        if (h->caplen < 14 + 20 + 8 + 12 || d[12] != 0x08 || d[13] != 0x00 || d[23] != 17)
            continue;
        const u_char *udp = d + 14 + (d[14] & 0x0f) * 4;
        uint16_t dport = (uint16_t)(udp[2] << 8 | udp[3]);
        if (dport == 5060 || (dport & 1))
            continue; /* SIP, RTCP */
        const u_char *rtp = udp + 8;
        uint32_t ssrc = (uint32_t)rtp[8] << 24 | (uint32_t)rtp[9] << 16 | (uint32_t)rtp[10] << 8 |
                        rtp[11];
        uint16_t seq = (uint16_t)(rtp[2] << 8 | rtp[3]);
        int k = 0;
        while (k < nst && st[k].ssrc != ssrc)
            k++;
        if (k == nst) {
            assert_true(nst < 64);
            st[nst++].ssrc = ssrc;
        }
        seqstat *s = &st[k];
        if (s->seen[seq / 8] & (1u << (seq % 8))) {
            s->dups++;
            continue;
        }
        s->seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
        s->distinct++;
        if (s->started && (int16_t)(seq - s->maxseq) < 0)
            s->inversions++;
        else
            s->maxseq = seq;
        s->started = 1;
    }
    pcap_close(pc);
    assert_int_equal(frames, run.frames);

    uint64_t sent = 0, dropped = 0, dup = 0, reo = 0, distinct = 0, dups = 0, inv = 0, pk = 0;
    int nstreams = 0;
    for (size_t i = 0; i < run.ncalls; i++) {
        const cg_call *c = &run.calls[i];
        sent += c->fault_counts.sent;
        dropped += c->fault_counts.dropped;
        dup += c->fault_counts.duplicated;
        reo += c->fault_counts.reordered;
        assert_int_equal(c->ssrc_changes, c->scen == CG_SC_FAULTS ? 1 : 0);
        for (int j = 0; j < c->nstreams; j++) {
            int k = 0;
            while (k < nst && st[k].ssrc != c->streams[j].ssrc)
                k++;
            assert_true(k < nst);
            /* per SSRC: packets on the wire = distinct + duplicates */
            assert_int_equal(c->streams[j].packets, st[k].distinct + st[k].dups);
            pk += c->streams[j].packets;
            nstreams++;
        }
    }
    for (int k = 0; k < nst; k++) {
        distinct += st[k].distinct;
        dups += st[k].dups;
        inv += st[k].inversions;
    }
    assert_int_equal(nstreams, nst);
    assert_true(dropped > 0 && dup > 0 && reo > 0);
    assert_int_equal(distinct, sent - dropped);
    assert_int_equal(dups, dup);
    assert_int_equal(inv, reo);
    assert_int_equal(pk, sent - dropped + dup);
    free(st);
    cg_run_free(&run);
    cg_bank_free(&bank);
}

static int setup(void **state)
{
    (void)state;
    g_bin = getenv("CALLGEN");
    if (!g_bin || access(g_bin, X_OK) != 0) {
        fprintf(stderr, "CALLGEN (path of the callgen binary) not set\n");
        return -1;
    }
    if (access("/usr/share/pocketsphinx/test/data/cards", R_OK) != 0) {
        fprintf(stderr, "SKIP: pocketsphinx-testdata not installed\n");
        exit(77);
    }
    if (system("command -v text2wave >/dev/null 2>&1") != 0)
        g_phrases = 0;
    return ts_mkdtemp(g_dir, sizeof g_dir, "callgen") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ts_rmrf(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_faults_counts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
