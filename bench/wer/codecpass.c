/*
 * codecpass.c — bench_codecpass: one speech file through one telephone codec,
 * the way a call carries it, for the accuracy benchmark (bench/wer/run.sh).
 *
 *     bench_codecpass --codec pcmu IN.wav OUT.wav
 *
 * IN is 16 kHz mono speech: a WAV (or anything libsndfile reads), or a
 * headerless .raw file of 16 kHz signed 16-bit little-endian samples (the
 * pocketsphinx testdata's goforward.raw). It is cut into 20 ms frames (the
 * last one zero-padded) and each frame is
 *   - encoded by callgen's encoder (tools/callgen/cg_codec.h: the narrowband
 *     codecs decimate with cg_down2 first, exactly as callgen does for a
 *     call's RTP), then
 *   - decoded by the decode stage's decoder for the codec's RTP payload type
 *     (decode/codec.h: what callscope-decode archives),
 * so OUT is what the archive of a real call holds. OUT is a 16-bit PCM WAV at
 * the codec's audio rate: 8000 Hz for pcmu, pcma and g729, 16000 Hz for g722
 * and opus. Two reference conditions use no codec: none8 (cg_down2 only, the
 * input of a narrowband encoder) and none16 (a copy). OUT holds exactly
 * ceil(N * rate / 16000) samples for N input samples (codec delays are kept,
 * the padding of the last frame is cut).
 *
 * Exit: 0 written, 1 a codec failed, 2 usage, 4 the input cannot be read or
 * is not 16 kHz mono, or the output cannot be written.
 *
 * Not a parser of untrusted bytes: libsndfile reads the file; the input is
 * limited to CP_MAX_SECONDS.
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
#include "str.h"

#define CP_RATE        16000
#define CP_MAX_SECONDS 600
#define CP_PAYLOAD_MAX 4000

typedef enum cp_kind {
    CP_CODEC = 0, /* cg encoder + dc decoder */
    CP_NONE8,     /* cg_down2 only */
    CP_NONE16     /* copy */
} cp_kind;

static const struct {
    const char *name;
    cp_kind kind;
    cg_codec codec;
} cp_conditions[] = {
    {"pcmu", CP_CODEC, CG_CODEC_PCMU},    {"g711u", CP_CODEC, CG_CODEC_PCMU},
    {"pcma", CP_CODEC, CG_CODEC_PCMA},    {"g711a", CP_CODEC, CG_CODEC_PCMA},
    {"g729", CP_CODEC, CG_CODEC_G729},    {"g722", CP_CODEC, CG_CODEC_G722},
    {"opus", CP_CODEC, CG_CODEC_OPUS},    {"none8", CP_NONE8, CG_CODEC_PCMU},
    {"none16", CP_NONE16, CG_CODEC_PCMU},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_codecpass [OPTION]... IN OUT.wav\n"
               "Passes 16 kHz mono speech through one codec (callgen's encoder, the decode\n"
               "stage's decoder) and writes a 16-bit WAV at the codec's audio rate.\n"
               "  -c, --codec NAME  pcmu (g711u), pcma (g711a), g729 -> 8 kHz;\n"
               "                    g722, opus -> 16 kHz; none8 (decimation only),\n"
               "                    none16 (copy). Default pcmu\n"
               "  -r, --raw         IN is headerless 16 kHz s16le (default for *.raw)\n"
               "  -h, --help        this help\n"
               "Exit: 0 written, 1 codec failure, 2 usage, 4 input/output.\n");
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Reads the whole input; *pcm is malloc'd (caller frees). 0 or exit code. */
static int read_input(const char *path, int raw, int16_t **pcm, size_t *n)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    if (raw) {
        info.samplerate = CP_RATE;
        info.channels = 1;
        info.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
    }
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (sf == NULL) {
        fprintf(stderr, "bench_codecpass: %s: %s\n", path, sf_strerror(NULL));
        return 4;
    }
    if (info.samplerate != CP_RATE || info.channels != 1) {
        fprintf(stderr, "bench_codecpass: %s: %d Hz, %d channels; need 16000 Hz mono\n", path,
                info.samplerate, info.channels);
        sf_close(sf);
        return 4;
    }
    if (info.frames < 0 || info.frames > (sf_count_t)CP_MAX_SECONDS * CP_RATE) {
        fprintf(stderr, "bench_codecpass: %s: longer than %d s\n", path, CP_MAX_SECONDS);
        sf_close(sf);
        return 4;
    }
    size_t frames = (size_t)info.frames;
    int16_t *buf = malloc((frames + 1) * sizeof *buf);
    if (buf == NULL) {
        sf_close(sf);
        fprintf(stderr, "bench_codecpass: out of memory\n");
        return 4;
    }
    sf_count_t got = sf_readf_short(sf, buf, (sf_count_t)frames);
    sf_close(sf);
    if (got != (sf_count_t)frames) {
        fprintf(stderr, "bench_codecpass: %s: short read\n", path);
        free(buf);
        return 4;
    }
    *pcm = buf;
    *n = frames;
    return 0;
}

static int write_wav(const char *path, const int16_t *pcm, size_t n, int rate)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (sf == NULL) {
        fprintf(stderr, "bench_codecpass: %s: %s\n", path, sf_strerror(NULL));
        return 4;
    }
    sf_count_t put = sf_writef_short(sf, pcm, (sf_count_t)n);
    int rc = sf_close(sf);
    if (put != (sf_count_t)n || rc != 0) {
        fprintf(stderr, "bench_codecpass: %s: write failed\n", path);
        return 4;
    }
    return 0;
}

/* The decode stage's decoder for what callgen's encoder sends. */
static dc_decoder *stage_decoder(cg_codec c)
{
    dc_codec_info info;
    char err[128];
    const cg_codec_info *ci = cg_codec_get(c);
    dc_kind k;
    if (c == CG_CODEC_OPUS)
        k = dc_codec_lookup(cs_str_c(ci->encoding), ci->rtp_clock, ci->rtpmap_channels,
                            cs_str_c(ci->fmtp ? ci->fmtp : ""), &info, err, sizeof err);
    else
        k = dc_codec_static(ci->payload_type, &info, err, sizeof err);
    if (k != DC_KIND_AUDIO) {
        fprintf(stderr, "bench_codecpass: decode stage has no decoder for %s: %s\n", ci->name, err);
        return NULL;
    }
    if (info.audio_rate != ci->audio_rate) {
        fprintf(stderr, "bench_codecpass: %s: decoder rate %d, codec rate %d\n", ci->name,
                info.audio_rate, ci->audio_rate);
        return NULL;
    }
    return dc_decoder_new(&info);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"codec", required_argument, NULL, 'c'},
                                         {"raw", no_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *cname = "pcmu";
    int raw = 0, ch;
    while ((ch = getopt_long(argc, argv, "c:rh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cname = optarg;
            break;
        case 'r':
            raw = 1;
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
    const char *in = argv[optind], *out = argv[optind + 1];
    size_t ci = 0;
    while (ci < sizeof cp_conditions / sizeof cp_conditions[0] &&
           strcmp(cp_conditions[ci].name, cname) != 0)
        ci++;
    if (ci == sizeof cp_conditions / sizeof cp_conditions[0]) {
        fprintf(stderr, "bench_codecpass: unknown codec %s (try --help)\n", cname);
        return 2;
    }
    cp_kind kind = cp_conditions[ci].kind;
    cg_codec codec = cp_conditions[ci].codec;
    if (has_suffix(in, ".raw"))
        raw = 1;

    int16_t *pcm = NULL;
    size_t n = 0;
    int rc = read_input(in, raw, &pcm, &n);
    if (rc != 0)
        return rc;
    if (kind == CP_NONE16) {
        rc = write_wav(out, pcm, n, CP_RATE);
        free(pcm);
        return rc;
    }

    int rate = kind == CP_NONE8 ? 8000 : cg_codec_get(codec)->audio_rate;
    size_t want = (n * (size_t)rate + CP_RATE - 1) / CP_RATE;
    size_t nframes = (n + CG_FRAME_SAMPLES - 1) / CG_FRAME_SAMPLES;
    /* room for every frame's output plus one longest packet */
    int16_t *res = malloc((nframes * CG_FRAME_SAMPLES + DC_MAX_PACKET_SAMPLES) * sizeof *res);
    cg_encoder *enc = NULL;
    dc_decoder *dec = NULL;
    cg_down2 down;
    cg_down2_init(&down);
    if (res == NULL) {
        fprintf(stderr, "bench_codecpass: out of memory\n");
        free(pcm);
        return 4;
    }
    if (kind == CP_CODEC) {
        enc = cg_encoder_new(codec);
        dec = stage_decoder(codec);
        if (enc == NULL || dec == NULL) {
            fprintf(stderr, "bench_codecpass: cannot set up %s\n", cname);
            rc = 1;
            goto done;
        }
    }

    size_t got = 0;
    for (size_t f = 0; f < nframes; f++) {
        int16_t frame[CG_FRAME_SAMPLES] = {0};
        size_t take = n - f * CG_FRAME_SAMPLES;
        if (take > CG_FRAME_SAMPLES)
            take = CG_FRAME_SAMPLES;
        memcpy(frame, pcm + f * CG_FRAME_SAMPLES, take * sizeof *frame);
        if (kind == CP_NONE8) {
            cg_down2_run(&down, frame, CG_FRAME_SAMPLES, res + got);
            got += CG_FRAME_SAMPLES / 2;
            continue;
        }
        uint8_t payload[CP_PAYLOAD_MAX];
        int len = cg_encoder_encode(enc, frame, payload, sizeof payload);
        if (len <= 0) {
            fprintf(stderr, "bench_codecpass: %s encoder: %s\n", cname, cs_err_msg(len));
            rc = 1;
            goto done;
        }
        int s = dc_decode(dec, payload, (size_t)len, res + got, DC_MAX_PACKET_SAMPLES);
        if (s < 0) {
            fprintf(stderr, "bench_codecpass: %s decoder: %s\n", cname, cs_err_msg(s));
            rc = 1;
            goto done;
        }
        got += (size_t)s;
    }
    if (got < want) {
        fprintf(stderr, "bench_codecpass: %s: %zu samples decoded, %zu expected\n", cname, got,
                want);
        rc = 1;
        goto done;
    }
    rc = write_wav(out, res, want, rate);
done:
    cg_encoder_free(enc);
    dc_decoder_free(dec);
    free(res);
    free(pcm);
    return rc;
}
