/*
 * fuzz_sdp.c — libFuzzer target for the SDP parser (capture/sdp.c).
 *
 * SDP bodies come from anyone on the SPAN port. The input is copied into an
 * exactly sized heap buffer (a read one past its end is caught by ASan) and
 * parsed; on success every borrowed slice is read byte by byte, the caps are
 * checked, and sdp_format_of() is asked for every payload type.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sdp.h"

static volatile unsigned fz_sink;

static void fz_touch(cs_str s)
{
    unsigned h = 0;
    for (size_t i = 0; i < s.len; i++)
        h = h * 31u + (unsigned char)s.p[i];
    fz_sink += h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sdp s;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    if (sdp_parse(buf, size, &s) == CS_OK) {
        if (s.nmedia > CS_SDP_MAX_MEDIA || s.nmedia > s.nmedia_total)
            abort();
        fz_touch(s.origin_user);
        fz_touch(cs_str_c(sdp_dir_name(s.dir)));
        for (size_t i = 0; i < s.nmedia; i++) {
            const sdp_media *m = &s.media[i];
            if (m->nfmt > CS_SDP_MAX_FORMATS)
                abort();
            fz_touch(m->type);
            fz_touch(m->proto);
            fz_touch(cs_str_c(sdp_dir_name(m->dir)));
            for (size_t k = 0; k < m->nfmt; k++) {
                if (m->fmt[k].pt < 0 || m->fmt[k].pt > 127)
                    abort();
                fz_touch(m->fmt[k].encoding);
                fz_touch(m->fmt[k].fmtp);
            }
            for (int pt = 0; pt < 128; pt++) {
                const sdp_format *f = sdp_format_of(m, pt);
                if (f && f->pt != pt)
                    abort();
            }
        }
    }
    free(buf);
    return 0;
}
