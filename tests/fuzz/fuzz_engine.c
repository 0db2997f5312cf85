/*
 * fuzz_engine.c — libFuzzer target for the whole capture engine
 * (capture/engine.c, call.c, mediamap.c, callout.c and every parser below
 * them): a sequence of frames with link types and packet times goes through
 * ce_frame()/ce_tick() into a real spool, then ce_finish() writes every call.
 *
 * Input: records of
 *   u8  flags      bits 0-1: link type (Ethernet, raw IP, Linux SLL, BSD
 *                  loopback); bit 2: a ce_tick instead of a frame; bit 3:
 *                  through the look-ahead (ce_ahead_begin on the frame,
 *                  ce_ahead_step 1 and 2, ce_frame_hinted with its entry);
 *                  bit 4 with bit 3: the previous frame's entry instead
 *   u16 delta_ms   little endian: packet time advances by this much
 *   u16 len        little endian: frame length (clipped to what is left)
 *   len bytes      the frame
 * Each frame is copied into an exactly sized heap buffer so ASan catches a
 * read past its end. Small caps (8 calls, 4 streams per call) and short
 * timeouts make the limits and every end-of-call path reachable. The spool
 * lives in a private temporary directory ($TMPDIR, else /dev/shm, else /tmp),
 * emptied after every input.
 */
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "error.h"
#include "log.h"
#include "spool.h"

static char fz_root[256];

static int fz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void fz_init(void)
{
    if (fz_root[0])
        return;
    /* tmpfs by default: every finished call is fsync'ed by the spool */
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fz_root, sizeof fz_root, "%s/fuzz-engine.XXXXXX", base);
    if (!mkdtemp(fz_root))
        abort();
    cs_log_init("fuzz", CS_LOG_FATAL);
}

static const int fz_linktypes[4] = {1 /* EN10MB */, 12 /* RAW */, 113 /* LINUX_SLL */,
                                    0 /* NULL */};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    char sproot[300];
    snprintf(sproot, sizeof sproot, "%s/spool", fz_root);
    spool *sp = NULL;
    if (spool_open(sproot, 0, &sp) != CS_OK)
        abort();
    ce_config cfg;
    ce_config_defaults(&cfg);
    cfg.probe = "fuzz";
    cfg.max_calls = 8;
    cfg.max_streams_per_call = 4;
    cfg.rtp_timeout_us = 5000000;
    cfg.setup_timeout_us = 10000000;
    cfg.max_call_us = 60000000;
    cfg.sip_any_port = size > 0 && (data[0] & 0x80);
    cfg.correlation_headers[1] = "X-Leg";
    cfg.ncorrelation_headers = 2;
    char err[128];
    capture_engine *ce = ce_new(&cfg, sp, err, sizeof err);
    if (!ce)
        abort();
    uint64_t now = 1700000000000000ULL;
    size_t off = 0;
    ce_ahead prev;
    memset(&prev, 0, sizeof prev);
    while (off + 5 <= size) {
        uint8_t flags = data[off];
        uint64_t delta = (uint64_t)(data[off + 1] | data[off + 2] << 8);
        size_t len = (size_t)(data[off + 3] | data[off + 4] << 8);
        off += 5;
        if (len > size - off)
            len = size - off;
        now += delta * 1000;
        if (flags & 4) {
            ce_tick(ce, now);
        } else {
            uint8_t *frame = malloc(len ? len : 1);
            if (!frame)
                abort();
            memcpy(frame, data + off, len);
            int lt = fz_linktypes[flags & 3];
            if (flags & 8) {
                ce_ahead own;
                ce_ahead_begin(ce, lt, frame, len, &own);
                const ce_ahead *use = (flags & 16) ? &prev : &own;
                ce_ahead_step(ce, use, 1);
                ce_ahead_step(ce, use, 2);
                ce_frame_hinted(ce, lt, now, frame, len, len, use);
                prev = own;
            } else {
                ce_frame(ce, lt, now, frame, len, len);
            }
            free(frame);
        }
        off += len;
    }
    capture_counters cnt;
    ce_get_counters(ce, &cnt);
    if (cnt.calls_active > cfg.max_calls)
        abort();
    ce_finish(ce);
    spool_close(sp);
    nftw(sproot, fz_rm, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
