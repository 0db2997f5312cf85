/*
 * callgen.c — the fixture generator's command line.
 *
 * Turns options into a cg_gen_opts (or cg_load_opts), loads the speech bank,
 * plans and writes the calls (cg_scenario), then the truth (cg_truth). All
 * randomness comes from --seed; the default start time is fixed, so the
 * same command line always writes the same bytes.
 *
 * Exit codes: 0 success; 2 usage error (bad option or value); 3 the
 * environment lacks something callgen needs (speech test data, Festival, a
 * codec library); 4 output could not be written (pcap, truth, WAVs).
 * See docs/callgen.md for the manual.
 */
#include "cg_scenario.h"
#include "cg_truth.h"
#include "error.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2
#define EXIT_ENV   3
#define EXIT_IO    4

#define DEFAULT_START "2024-03-04T09:00:00Z"

enum {
    OPT_SEED = 256,
    OPT_SCENARIO,
    OPT_CALLS,
    OPT_CODEC,
    OPT_LOSS,
    OPT_JITTER,
    OPT_REORDER,
    OPT_DUPLICATE,
    OPT_SSRC_CHANGE,
    OPT_START,
    OPT_REF_AUDIO,
    OPT_TESTDATA,
    OPT_TTS_CACHE,
    OPT_NO_PHRASES,
    OPT_CORR,
    OPT_LOAD,
    OPT_SIZE,
    OPT_CONCURRENT,
    OPT_DURATION,
    OPT_TRUTH,
    OPT_LIST,
    OPT_VERSION
};

static const struct option long_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"truth", required_argument, NULL, OPT_TRUTH},
    {"seed", required_argument, NULL, OPT_SEED},
    {"scenario", required_argument, NULL, OPT_SCENARIO},
    {"calls", required_argument, NULL, OPT_CALLS},
    {"codec", required_argument, NULL, OPT_CODEC},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"jitter", required_argument, NULL, OPT_JITTER},
    {"reorder", required_argument, NULL, OPT_REORDER},
    {"duplicate", required_argument, NULL, OPT_DUPLICATE},
    {"ssrc-change", no_argument, NULL, OPT_SSRC_CHANGE},
    {"start", required_argument, NULL, OPT_START},
    {"ref-audio", required_argument, NULL, OPT_REF_AUDIO},
    {"testdata", required_argument, NULL, OPT_TESTDATA},
    {"tts-cache", required_argument, NULL, OPT_TTS_CACHE},
    {"no-phrases", no_argument, NULL, OPT_NO_PHRASES},
    {"correlation-header", required_argument, NULL, OPT_CORR},
    {"load", no_argument, NULL, OPT_LOAD},
    {"size", required_argument, NULL, OPT_SIZE},
    {"concurrent", required_argument, NULL, OPT_CONCURRENT},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"list-scenarios", no_argument, NULL, OPT_LIST},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: callgen -o FILE.pcap [options]\n"
            "       callgen --load -o FILE.pcap (--size BYTES | --duration S) [--concurrent N]\n"
            "\n"
            "Writes a classic pcap of SIP + RTP calls and a truth JSON beside it.\n"
            "Same seed and options give byte-identical output.\n"
            "\n"
            "Output:\n"
            "  -o, --output FILE.pcap       capture to write (required)\n"
            "      --truth FILE             truth JSON (default: FILE.truth.json, the .pcap\n"
            "                               suffix replaced)\n"
            "      --ref-audio DIR          also write each answered call's reference audio:\n"
            "                               DIR/<inbound-call-id>.customer.wav and .agent.wav\n"
            "                               at the codec's audio rate (Call-ID sanitised)\n"
            "  -q, --quiet                  no progress or summary on stderr\n"
            "\n"
            "Calls:\n"
            "      --seed N                 random seed (default 1)\n"
            "      --scenario NAME[,NAME]   scenarios to generate, or \"all\" (default all:\n"
            "                               one call per scenario, two for repeat)\n"
            "      --calls N                instances of each named scenario (default 1;\n"
            "                               ignored with \"all\")\n"
            "      --codec C                pcmu, pcma, g722, g729, opus or mixed (default\n"
            "                               mixed: the codec cycles over the calls)\n"
            "      --start TIME             first INVITE, ISO 8601 UTC (default " DEFAULT_START
            ")\n"
            "      --correlation-header H   header the PBX puts on agent legs with the\n"
            "                               inbound Call-ID (default X-Orig-Call-ID)\n"
            "\n"
            "Network faults (RTP of every call; the faults scenario has its own minimum):\n"
            "      --loss PCT               drop PCT %% of RTP packets\n"
            "      --jitter MS              delay each RTP packet by 0..MS ms (no reordering)\n"
            "      --reorder PCT            swap PCT %% of packets with their successor\n"
            "      --duplicate PCT          send PCT %% of packets twice\n"
            "      --ssrc-change            the caller's stream changes SSRC mid-call\n"
            "\n"
            "Speech:\n"
            "      --testdata DIR           pocketsphinx test data (default\n"
            "                               /usr/share/pocketsphinx/test/data)\n"
            "      --tts-cache DIR          cache of Festival-synthesised phrases (default\n"
            "                               $XDG_CACHE_HOME/callscope/tts or\n"
            "                               ~/.cache/callscope/tts)\n"
            "      --no-phrases             skip the scripted phrases (no Festival needed)\n"
            "\n"
            "Load mode (large captures, ordinary answered calls, summary truth):\n"
            "      --load                   select the load mode\n"
            "      --size BYTES             stop at this file size (suffix K, M, G allowed)\n"
            "      --concurrent N           calls active at once (default 1000, max 10000)\n"
            "      --duration S             stop after S seconds of capture time\n"
            "\n"
            "Other:\n"
            "      --list-scenarios         print the scenario names and exit\n"
            "  -h, --help                   this help\n"
            "      --version                print the version\n"
            "\n"
            "Scenarios:\n");
    for (int i = 0; i < CG_SC__COUNT; i++)
        fprintf(f, "  %-14s %s\n", cg_scen_name((cg_scen)i), cg_scen_help((cg_scen)i));
    fprintf(f, "  %-14s every scenario above once\n", "all");
    fprintf(f, "\nExit status: 0 ok, 2 usage error, 3 missing test data/tools, 4 output error.\n"
               "Manual: docs/callgen.md\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return CS_ERR_INVAL;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1000;
    else if (*end == 'M' || *end == 'm')
        mul = 1000000;
    else if (*end == 'G' || *end == 'g')
        mul = 1000000000;
    if (mul != 1)
        end++;
    if (errno || end == s || *end != '\0' || v > max / mul)
        return CS_ERR_INVAL;
    *out = (uint64_t)v * mul;
    return CS_OK;
}

static int parse_pct(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !(v >= 0.0 && v <= 100.0))
        return CS_ERR_INVAL;
    *out = v;
    return CS_OK;
}

static int bad(const char *opt, const char *val)
{
    fprintf(stderr, "callgen: invalid value for %s: '%s' (see --help)\n", opt, val);
    return EXIT_USAGE;
}

static int parse_scenarios(const char *list, cg_gen_opts *o)
{
    if (strcmp(list, "all") == 0) {
        o->all = 1;
        o->nscen = CG_SC__COUNT;
        for (int i = 0; i < CG_SC__COUNT; i++)
            o->scen[i] = (cg_scen)i;
        return CS_OK;
    }
    o->all = 0;
    o->nscen = 0;
    char buf[512];
    if (strlen(list) >= sizeof buf)
        return CS_ERR_INVAL;
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        cg_scen s;
        if (cg_scen_parse(tok, &s) != CS_OK || o->nscen >= CG_SC__COUNT)
            return CS_ERR_INVAL;
        for (int i = 0; i < o->nscen; i++)
            if (o->scen[i] == s)
                return CS_ERR_INVAL;
        o->scen[o->nscen++] = s;
    }
    return o->nscen > 0 ? CS_OK : CS_ERR_INVAL;
}

static void truth_path_for(const char *pcap, char *out, size_t cap)
{
    size_t n = strlen(pcap);
    if (n > 5 && strcmp(pcap + n - 5, ".pcap") == 0)
        n -= 5;
    snprintf(out, cap, "%.*s.truth.json", (int)n, pcap);
}

int main(int argc, char **argv)
{
    cg_gen_opts o;
    memset(&o, 0, sizeof o);
    o.seed = 1;
    o.calls = 1;
    o.codec = -1;
    o.corr_header = "X-Orig-Call-ID";
    parse_scenarios("all", &o);
    cg_load_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.concurrent = 1000;
    const char *out = NULL, *truth = NULL, *testdata = NULL, *tts = NULL, *start = DEFAULT_START;
    int no_phrases = 0, load = 0;
    char tts_default[PATH_MAX];

    int c;
    while ((c = getopt_long(argc, argv, "o:qh", long_opts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case 'o': out = optarg; break;
        case OPT_TRUTH: truth = optarg; break;
        case OPT_SEED:
            if (parse_u64(optarg, UINT64_MAX, &o.seed) != CS_OK)
                return bad("--seed", optarg);
            break;
        case OPT_SCENARIO:
            if (parse_scenarios(optarg, &o) != CS_OK)
                return bad("--scenario", optarg);
            break;
        case OPT_CALLS:
            if (parse_u64(optarg, 100000, &v) != CS_OK || v == 0)
                return bad("--calls", optarg);
            o.calls = (int)v;
            break;
        case OPT_CODEC:
            if (strcmp(optarg, "mixed") == 0) {
                o.codec = -1;
            } else {
                cg_codec k;
                if (cg_codec_parse(optarg, &k) != CS_OK)
                    return bad("--codec", optarg);
                o.codec = (int)k;
            }
            break;
        case OPT_LOSS:
            if (parse_pct(optarg, &o.faults.loss_pct) != CS_OK)
                return bad("--loss", optarg);
            break;
        case OPT_REORDER:
            if (parse_pct(optarg, &o.faults.reorder_pct) != CS_OK)
                return bad("--reorder", optarg);
            break;
        case OPT_DUPLICATE:
            if (parse_pct(optarg, &o.faults.duplicate_pct) != CS_OK)
                return bad("--duplicate", optarg);
            break;
        case OPT_JITTER:
            if (parse_u64(optarg, 1000, &v) != CS_OK)
                return bad("--jitter", optarg);
            o.faults.jitter_ms = (int)v;
            break;
        case OPT_SSRC_CHANGE: o.ssrc_change = 1; break;
        case OPT_START: start = optarg; break;
        case OPT_REF_AUDIO: o.ref_audio_dir = optarg; break;
        case OPT_TESTDATA: testdata = optarg; break;
        case OPT_TTS_CACHE: tts = optarg; break;
        case OPT_NO_PHRASES: no_phrases = 1; break;
        case OPT_CORR:
            if (!*optarg || strlen(optarg) > 64 || strpbrk(optarg, ": \t\r\n"))
                return bad("--correlation-header", optarg);
            o.corr_header = optarg;
            break;
        case OPT_LOAD: load = 1; break;
        case OPT_SIZE:
            if (parse_u64(optarg, UINT64_MAX, &lo.size_bytes) != CS_OK || lo.size_bytes == 0)
                return bad("--size", optarg);
            break;
        case OPT_CONCURRENT:
            if (parse_u64(optarg, 10000, &v) != CS_OK || v == 0)
                return bad("--concurrent", optarg);
            lo.concurrent = (int)v;
            break;
        case OPT_DURATION:
            if (parse_u64(optarg, 10u * 365 * 86400, &lo.duration_s) != CS_OK ||
                lo.duration_s == 0)
                return bad("--duration", optarg);
            break;
        case OPT_LIST:
            for (int i = 0; i < CG_SC__COUNT; i++)
                printf("%s\n", cg_scen_name((cg_scen)i));
            return 0;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: printf("callgen %s\n", CG_VERSION); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "callgen: unexpected argument '%s' (see --help)\n", argv[optind]);
        return EXIT_USAGE;
    }
    if (!out) {
        fprintf(stderr, "callgen: -o/--output FILE.pcap is required (see --help)\n");
        return EXIT_USAGE;
    }
    if (cg_parse_time(start, &o.start_us) != CS_OK)
        return bad("--start", start);
    if (load && lo.size_bytes == 0 && lo.duration_s == 0) {
        fprintf(stderr, "callgen: --load needs --size or --duration\n");
        return EXIT_USAGE;
    }
    char truth_buf[PATH_MAX];
    if (!truth) {
        truth_path_for(out, truth_buf, sizeof truth_buf);
        truth = truth_buf;
    }
    if (!tts && !no_phrases && !load) {
        const char *xdg = getenv("XDG_CACHE_HOME");
        const char *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(tts_default, sizeof tts_default, "%s/callscope/tts", xdg);
        else if (home && *home)
            snprintf(tts_default, sizeof tts_default, "%s/.cache/callscope/tts", home);
        else
            snprintf(tts_default, sizeof tts_default, ".callscope-tts");
        tts = tts_default;
    }

    cg_bank bank;
    memset(&bank, 0, sizeof bank);
    cg_bank_opts bo = {testdata, (no_phrases || load) ? NULL : tts, NULL};
    char err[1024] = "";
    int rc = cg_bank_load(&bank, &bo, err, sizeof err);
    if (rc != CS_OK) {
        fprintf(stderr, "callgen: %s\n", err[0] ? err : cs_err_msg(rc));
        return EXIT_ENV;
    }

    int status = 0;
    if (load) {
        lo.seed = o.seed;
        lo.start_us = o.start_us;
        lo.codec = o.codec;
        lo.corr_header = o.corr_header;
        lo.quiet = o.quiet;
        cg_load_result res;
        rc = cg_load_run(&lo, &bank, out, &res, err, sizeof err);
        if (rc == CS_OK)
            rc = cg_truth_write_load(&lo, &res, truth, err, sizeof err);
        if (rc != CS_OK) {
            fprintf(stderr, "callgen: %s\n", err);
            status = rc == CS_ERR_CODEC ? EXIT_ENV : EXIT_IO;
        } else if (!o.quiet) {
            fprintf(stderr,
                    "callgen: load: %zu calls, %llu frames, %.1f MB in %.2f s (%.1f MB/s)\n",
                    res.ncalls, (unsigned long long)res.frames, (double)res.bytes / 1e6,
                    res.seconds, res.mb_per_s);
        }
        cg_load_result_free(&res);
    } else {
        cg_run run;
        rc = cg_run_plan(&run, &o, &bank);
        if (rc != CS_OK) {
            fprintf(stderr, "callgen: planning failed: %s\n", cs_err_msg(rc));
            status = EXIT_IO;
        } else {
            rc = cg_run_write(&run, out, err, sizeof err);
            if (rc == CS_OK)
                rc = cg_truth_write(&run, truth, err, sizeof err);
            if (rc != CS_OK) {
                fprintf(stderr, "callgen: %s\n", err);
                status = rc == CS_ERR_CODEC ? EXIT_ENV : EXIT_IO;
            } else if (!o.quiet) {
                fprintf(stderr, "callgen: %zu calls, %llu frames, %.2f MB -> %s, %s\n",
                        run.ncalls, (unsigned long long)run.frames, (double)run.bytes / 1e6,
                        out, truth);
            }
        }
        cg_run_free(&run);
    }
    cg_bank_free(&bank);
    return status;
}
