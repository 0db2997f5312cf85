/*
 * fuzz_codec.c — libFuzzer target for decode/codec.c: dc_codec_lookup over
 * hostile encoding names and fmtp, and every decoder (PCMU, PCMA, G.722,
 * G.729/B, Opus, L16 8k/16k/stereo, telephone-event, CN) over a sequence of
 * payloads, concealments and Opus FEC recoveries.
 *
 * Input framing: byte 0 selects the decoder (low 4 bits, modulo the table)
 * and, with bit 7 set, first runs dc_codec_lookup on the rest of the input
 * split at the first '/' into "name/..." and fmtp. Then records of
 *   op (1 byte) | n (2 bytes, big-endian) | bytes
 * op bits 0-1: 0 decode, 1 conceal n % 4000 samples, 2 FEC from the payload
 * for n % 2000 samples, 3 decode; bits 2-3 choose the output cap: enough
 * for any payload of that length, small (n % 64), 0, or DC_MAX_PACKET_SAMPLES. A record's
 * payload is the next n bytes (or what is left); it is copied to a heap
 * buffer of exactly its length and the output buffer is a heap buffer of
 * exactly cap samples, so ASan reports any read or write past either.
 *
 * Invariants (abort on violation): a result is a negative cs_err or at most
 * cap; a conceal of samples <= cap returns exactly samples; telephone-event
 * and CN decode to 0 samples.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"

static const struct {
    const char *enc;
    int clock, ch;
    const char *fmtp;
} configs[] = {
    {"PCMU", 8000, 0, ""},
    {"PCMA", 8000, 0, ""},
    {"G722", 8000, 0, ""},
    {"G729", 8000, 0, "annexb=yes"},
    {"opus", 48000, 2, "useinbandfec=1"},
    {"L16", 8000, 1, ""},
    {"L16", 16000, 1, ""},
    {"telephone-event", 8000, 0, "0-16"},
    {"CN", 8000, 0, ""},
    {"CN", 48000, 0, ""},
    {"L16", 8000, 2, ""},
};
#define NCONFIGS (sizeof configs / sizeof configs[0])

static void lookup_fuzz(const uint8_t *p, size_t n)
{
    size_t slash = 0;
    while (slash < n && p[slash] != '/')
        slash++;
    char err[96];
    dc_codec_info info;
    cs_str name = cs_str_make(p, slash);
    cs_str rest = slash < n ? cs_str_make(p + slash + 1, n - slash - 1) : CS_STR_NULL;
    int clock = rest.len >= 2 ? (int)(((uint8_t)rest.p[0] << 8) | (uint8_t)rest.p[1]) * 8 : 8000;
    dc_kind k = dc_codec_lookup(name, clock, rest.len >= 3 ? (uint8_t)rest.p[2] % 4 : 0, rest,
                                &info, err, sizeof err);
    if (k != info.kind || memchr(err, '\0', sizeof err) == NULL)
        abort();
    if (k == DC_KIND_AUDIO && info.audio_rate != 8000 && info.audio_rate != 16000)
        abort();
    dc_decoder *d = dc_decoder_new(&info);
    if ((d == NULL) != (k == DC_KIND_UNSUPPORTED))
        abort();
    dc_decoder_free(d);
    if (n > 0)
        (void)dc_codec_static(p[0] - 1, &info, err, sizeof err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 0x80)
        lookup_fuzz(data + 1, size - 1);
    size_t c = (size_t)(data[0] & 0x0F) % NCONFIGS;
    dc_codec_info info;
    if (dc_codec_lookup(cs_str_c(configs[c].enc), configs[c].clock, configs[c].ch,
                        cs_str_c(configs[c].fmtp), &info, NULL, 0) == DC_KIND_UNSUPPORTED)
        abort();
    dc_decoder *d = dc_decoder_new(&info);
    if (d == NULL)
        return 0; /* out of memory */
    size_t pos = 1;
    while (pos + 3 <= size) {
        uint8_t op = data[pos];
        size_t n = ((size_t)data[pos + 1] << 8) | data[pos + 2];
        pos += 3;
        size_t len = n < size - pos ? n : size - pos;
        size_t cap;
        switch ((op >> 2) & 3) {
        case 0:
            cap = 2 * len + DC_MAX_PACKET_SAMPLES; /* enough for any payload */
            break;
        case 1:
            cap = n % 64;
            break;
        case 2:
            cap = 0;
            break;
        default:
            cap = DC_MAX_PACKET_SAMPLES;
            break;
        }
        int16_t *pcm = malloc((cap ? cap : 1) * sizeof *pcm);
        uint8_t *pay = malloc(len ? len : 1);
        if (pcm == NULL || pay == NULL) {
            free(pcm);
            free(pay);
            break;
        }
        if (len)
            memcpy(pay, data + pos, len);
        int r;
        switch (op & 3) {
        case 1: {
            size_t samples = n % 4000;
            r = dc_conceal(d, samples, pcm, cap);
            if (samples <= cap && r != (int)samples)
                abort();
            break;
        }
        case 2:
            r = dc_decode_fec(d, pay, len, n % 2000, pcm, cap);
            break;
        default:
            r = dc_decode(d, pay, len, pcm, cap);
            if (r > 0 &&
                (info.kind == DC_KIND_TELEPHONE_EVENT || info.kind == DC_KIND_COMFORT_NOISE))
                abort();
            break;
        }
        if (r > 0 && (size_t)r > cap)
            abort();
        if (r < 0 && r <= CS_ERR__LAST)
            abort();
        free(pcm);
        free(pay);
        pos += (op & 3) == 1 ? 0 : len;
    }
    dc_decoder_free(d);
    return 0;
}
