/*
 * g711pass.c — bench_g711pass: a callgen call's two reference tracks through
 * G.711 and back, as one 2-channel WAV the way the archive holds the call,
 * for the phrase-spotting benchmark (bench/phrases/run.sh).
 *
 *     bench_g711pass --codec pcmu CUSTOMER.wav AGENT.wav OUT.wav
 *
 * CUSTOMER and AGENT are callgen --ref-audio tracks of a G.711 call: 8000 Hz
 * mono 16-bit, sample 0 at the inbound INVITE, exactly what callgen's
 * narrowband encoder was fed (after its cg_down2 decimation; see
 * docs/callgen.md). They are not yet G.711, so each track is cut into 20 ms
 * frames (160 samples, the last one zero-padded), each frame is encoded with
 * callgen's G.711 encoder (tools/callgen/cg_codec.h: cg_g711_ulaw_encode /
 * cg_g711_alaw_encode, the per-sample step of cg_encoder_encode after
 * cg_down2) and decoded by the decode stage's decoder for the static payload
 * type (decode/codec.h: 0 PCMU, 8 PCMA) — so OUT carries what
 * callscope-decode would have archived from a loss-free call. bench/wer's
 * bench_codecpass cannot be used here: it takes 16 kHz input and decimates
 * itself, while the reference tracks of a G.711 call are already at 8 kHz.
 *
 * OUT: 16-bit PCM WAV, 8000 Hz, 2 channels (1 customer, 2 agent, the
 * archive's order), as long as the longer track; the shorter one is padded
 * with silence.
 *
 * Exit: 0 written, 1 a codec failed, 2 usage, 4 an input cannot be read or is
 * not 8 kHz mono, or the output cannot be written. Inputs are limited to
 * GP_MAX_SECONDS each; libsndfile parses the files.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "cg_codec.h"
#include "codec.h"
#include "error.h"

#define GP_RATE        8000
#define GP_FRAME       160
#define GP_MAX_SECONDS 3600

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_g711pass [OPTION]... CUSTOMER.wav AGENT.wav OUT.wav\n"
               "Passes a callgen call's 8 kHz reference tracks through G.711 (callgen's\n"
               "encoder, the decode stage's decoder) and writes them as one 2-channel\n"
               "8 kHz WAV (channel 1 customer, channel 2 agent).\n"
               "  -c, --codec NAME  pcmu (g711u) or pcma (g711a). Default pcmu\n"
               "  -h, --help        this help\n"
               "Exit: 0 written, 1 codec failure, 2 usage, 4 input/output.\n");
}

/* Reads a whole 8 kHz mono file; *pcm is malloc'd (caller frees). 0 or 4. */
static int read_track(const char *path, int16_t **pcm, size_t *n)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (sf == NULL) {
        fprintf(stderr, "bench_g711pass: %s: %s\n", path, sf_strerror(NULL));
        return 4;
    }
    if (info.samplerate != GP_RATE || info.channels != 1 || info.frames < 0 ||
        info.frames > (sf_count_t)GP_RATE * GP_MAX_SECONDS) {
        fprintf(stderr,
                "bench_g711pass: %s: %d Hz, %d channels, %lld frames; need 8000 Hz mono"
                " of at most %d s\n",
                path, info.samplerate, info.channels, (long long)info.frames, GP_MAX_SECONDS);
        sf_close(sf);
        return 4;
    }
    size_t cnt = (size_t)info.frames;
    int16_t *buf = malloc((cnt ? cnt : 1) * sizeof *buf);
    if (buf == NULL) {
        sf_close(sf);
        fprintf(stderr, "bench_g711pass: out of memory\n");
        return 4;
    }
    sf_count_t got = sf_readf_short(sf, buf, (sf_count_t)cnt);
    sf_close(sf);
    if (got != (sf_count_t)cnt) {
        fprintf(stderr, "bench_g711pass: %s: short read\n", path);
        free(buf);
        return 4;
    }
    *pcm = buf;
    *n = cnt;
    return 0;
}

/* The track through encoder + stage decoder, in place. 0 or 1. */
static int pass_track(int16_t *pcm, size_t n, cg_codec codec, dc_decoder *dec)
{
    uint8_t payload[GP_FRAME];
    int16_t frame[GP_FRAME], out[GP_FRAME * 2];
    for (size_t at = 0; at < n; at += GP_FRAME) {
        size_t take = n - at < GP_FRAME ? n - at : GP_FRAME;
        memset(frame, 0, sizeof frame);
        memcpy(frame, pcm + at, take * sizeof *frame);
        for (size_t i = 0; i < GP_FRAME; i++)
            payload[i] = codec == CG_CODEC_PCMU ? cg_g711_ulaw_encode(frame[i])
                                                : cg_g711_alaw_encode(frame[i]);
        int s = dc_decode(dec, payload, sizeof payload, out, sizeof out / sizeof out[0]);
        if (s != GP_FRAME) {
            fprintf(stderr, "bench_g711pass: decoder returned %d (%s)\n", s,
                    s < 0 ? cs_err_msg(s) : "wrong sample count");
            return 1;
        }
        memcpy(pcm + at, out, take * sizeof *out);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"codec", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *cname = "pcmu";
    int ch;
    while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cname = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 3) {
        usage(stderr);
        return 2;
    }
    cg_codec codec;
    if (strcmp(cname, "pcmu") == 0 || strcmp(cname, "g711u") == 0)
        codec = CG_CODEC_PCMU;
    else if (strcmp(cname, "pcma") == 0 || strcmp(cname, "g711a") == 0)
        codec = CG_CODEC_PCMA;
    else {
        fprintf(stderr, "bench_g711pass: codec %s is not pcmu or pcma (try --help)\n", cname);
        return 2;
    }

    int16_t *trk[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    int code = 0;
    for (int t = 0; t < 2 && code == 0; t++)
        code = read_track(argv[optind + t], &trk[t], &len[t]);

    dc_decoder *dec = NULL;
    if (code == 0) {
        dc_codec_info info;
        char err[128];
        int pt = cg_codec_get(codec)->payload_type;
        if (dc_codec_static(pt, &info, err, sizeof err) != DC_KIND_AUDIO ||
            info.audio_rate != GP_RATE || (dec = dc_decoder_new(&info)) == NULL) {
            fprintf(stderr, "bench_g711pass: decode stage has no 8 kHz decoder for PT %d %s\n", pt,
                    err);
            code = 1;
        }
    }
    for (int t = 0; t < 2 && code == 0; t++)
        code = pass_track(trk[t], len[t], codec, dec);

    int16_t *inter = NULL;
    size_t frames = len[0] > len[1] ? len[0] : len[1];
    if (code == 0 && (inter = calloc(frames ? frames * 2 : 2, sizeof *inter)) == NULL) {
        fprintf(stderr, "bench_g711pass: out of memory\n");
        code = 4;
    }
    if (code == 0) {
        for (int t = 0; t < 2; t++)
            for (size_t i = 0; i < len[t]; i++)
                inter[2 * i + (size_t)t] = trk[t][i];
        SF_INFO oi;
        memset(&oi, 0, sizeof oi);
        oi.samplerate = GP_RATE;
        oi.channels = 2;
        oi.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
        const char *out = argv[optind + 2];
        SNDFILE *sf = sf_open(out, SFM_WRITE, &oi);
        if (sf == NULL) {
            fprintf(stderr, "bench_g711pass: %s: %s\n", out, sf_strerror(NULL));
            code = 4;
        } else {
            sf_count_t w = sf_writef_short(sf, inter, (sf_count_t)frames);
            if (sf_close(sf) != 0 || w != (sf_count_t)frames) {
                fprintf(stderr, "bench_g711pass: %s: write failed\n", out);
                code = 4;
            }
        }
    }
    free(inter);
    dc_decoder_free(dec);
    free(trk[0]);
    free(trk[1]);
    return code;
}
