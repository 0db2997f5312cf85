/*
 * test_input.c — capture/input.c: capture files, live interfaces, -R listings.
 *
 * Files are built byte by byte here (classic pcap, both byte orders, micro-
 * and nanosecond magic) so every boundary is exact: a file cut at each length
 * around the global header, a record header and a record's data gives the
 * documented result (len-1 / len / len+1). Hostile record headers (caplen
 * beyond any snaplen, negative seconds, microseconds >= 10^6) must not crash
 * nor wrap. An expected-output test prints the frames of the same ten callgen
 * frames stored as pcap, pcapng and nanosecond pcap and compares each listing
 * with tests/capture/data/main/first10.expected. Live tests need root (they
 * open "lo") and are skipped one by one otherwise. The direct reader of
 * classic pcap files (input.c) is compared frame by frame with libpcap over
 * 3 MB files, plain and with the odd records that make it hand over; its
 * look-ahead (cap_input_peek) must show exactly the frames that follow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "input.h"
#include "testsupport.h"

#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du

typedef struct buf {
    uint8_t b[4096];
    size_t n;
} buf;

static void put32(buf *b, uint32_t v, int be)
{
    for (int i = 0; i < 4; i++) {
        b->b[b->n + (size_t)i] = be ? (uint8_t)(v >> (24 - 8 * i)) : (uint8_t)(v >> (8 * i));
    }
    b->n += 4;
}

static void put16(buf *b, uint16_t v, int be)
{
    b->b[b->n] = be ? (uint8_t)(v >> 8) : (uint8_t)v;
    b->b[b->n + 1] = be ? (uint8_t)v : (uint8_t)(v >> 8);
    b->n += 2;
}

static void pcap_header(buf *b, uint32_t magic, int be, uint32_t linktype)
{
    put32(b, magic, be);
    put16(b, 2, be);
    put16(b, 4, be);
    put32(b, 0, be);
    put32(b, 0, be);
    put32(b, 65535, be);
    put32(b, linktype, be);
}

static void pcap_record(buf *b, int be, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len,
                        size_t data_bytes)
{
    put32(b, sec, be);
    put32(b, frac, be);
    put32(b, caplen, be);
    put32(b, len, be);
    for (size_t i = 0; i < data_bytes; i++) {
        b->b[b->n++] = (uint8_t)(0x40 + i);
    }
}

typedef struct fixture {
    char dir[256];
    char path[300];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL || ts_mkdtemp(f->dir, sizeof f->dir, "input") != 0) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/f.pcap", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ts_rmrf(f->dir);
    free(f);
    return 0;
}

/* Reads the whole file: number of frames, then the final result. */
static int read_all(const char *path, const char *filter, int *open_rc, size_t *frames,
                    cap_frame *first)
{
    cap_input *in = NULL;
    cap_frame fr;
    char err[256];
    int rc;

    *frames = 0;
    *open_rc = cap_input_open_file(path, filter, &in, err, sizeof err);
    if (*open_rc != CS_OK) {
        assert_null(in);
        assert_true(err[0] != '\0');
        return *open_rc;
    }
    while ((rc = cap_input_next(in, &fr, err, sizeof err)) == 1) {
        if (*frames == 0 && first != NULL) {
            *first = fr;
            first->data = NULL; /* borrowed: not valid after close */
        }
        (*frames)++;
    }
    /* the result sticks */
    assert_int_equal(cap_input_next(in, &fr, err, sizeof err), rc);
    assert_int_equal(cap_input_frames(in), *frames);
    cap_input_close(in);
    return rc;
}

/* A file of one 20-byte frame is 24 + 16 + 20 = 60 bytes; cut it everywhere
 * that matters. */
static void test_truncation_boundaries(void **state)
{
    static const struct {
        size_t len;
        int open_rc;
        size_t frames;
        int end_rc;
    } rows[] = {
        {0, CS_ERR_MALFORMED, 0, 0},
        {23, CS_ERR_MALFORMED, 0, 0},  /* global header len-1 */
        {24, CS_OK, 0, CS_ERR_EMPTY},  /* global header only: an empty capture */
        {25, CS_OK, 0, CS_ERR_MALFORMED}, /* len+1: a record header begun */
        {39, CS_OK, 0, CS_ERR_MALFORMED}, /* record header len-1 */
        {40, CS_OK, 0, CS_ERR_MALFORMED}, /* record header, no data */
        {59, CS_OK, 0, CS_ERR_MALFORMED}, /* data len-1 */
        {60, CS_OK, 1, CS_ERR_EMPTY},     /* complete */
        {61, CS_OK, 1, CS_ERR_MALFORMED}, /* one byte of a next record */
    };
    fixture *fx = *state;
    buf b = {.n = 0};

    pcap_header(&b, MAGIC_US, 0, 1);
    pcap_record(&b, 0, 1709542800, 5, 20, 20, 20);
    b.b[b.n++] = 0xee; /* the extra byte for len 61 */
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int open_rc;
        size_t frames;
        assert_int_equal(ts_write_file(fx->path, b.b, rows[i].len), 0);
        int rc = read_all(fx->path, NULL, &open_rc, &frames, NULL);
        printf("# len %zu: open %s, %zu frames, end %s\n", rows[i].len, cs_err_name(open_rc),
               frames, cs_err_name(rc));
        assert_int_equal(open_rc, rows[i].open_rc);
        if (open_rc == CS_OK) {
            assert_int_equal(frames, rows[i].frames);
            assert_int_equal(rc, rows[i].end_rc);
        }
    }
}

/* Record headers with hostile values, both byte orders. */
static void test_record_values(void **state)
{
    static const struct {
        uint32_t magic;
        int be;
        uint32_t sec, frac, caplen, len;
        size_t data;
        int end_rc;
        size_t frames;
        uint64_t ts_us;
        size_t wire;
    } rows[] = {
        /* plain, little and big endian */
        {MAGIC_US, 0, 1709542800, 123456, 20, 60, 20, CS_ERR_EMPTY, 1, 1709542800123456ull, 60},
        {MAGIC_US, 1, 1709542800, 123456, 20, 60, 20, CS_ERR_EMPTY, 1, 1709542800123456ull, 60},
        /* nanosecond file: converted to microseconds */
        {MAGIC_NS, 0, 1709542800, 123456789, 20, 20, 20, CS_ERR_EMPTY, 1, 1709542800123456ull, 20},
        {MAGIC_NS, 1, 1, 999, 20, 20, 20, CS_ERR_EMPTY, 1, 1000000ull, 20},
        /* seconds with the top bit set are negative to libpcap: clamped to 0 */
        {MAGIC_US, 0, 0xffffffffu, 5, 20, 20, 20, CS_ERR_EMPTY, 1, 0, 20},
        /* microseconds beyond a second: clamped, not carried */
        {MAGIC_US, 0, 10, 2000000, 20, 20, 20, CS_ERR_EMPTY, 1, 10999999ull, 20},
        /* wire length below the captured length: the captured length */
        {MAGIC_US, 0, 10, 0, 20, 3, 20, CS_ERR_EMPTY, 1, 10000000ull, 20},
        /* a zero-length record is a frame */
        {MAGIC_US, 0, 10, 0, 0, 0, 0, CS_ERR_EMPTY, 1, 10000000ull, 0},
        /* caplen far beyond any snaplen: corrupt, no huge allocation */
        {MAGIC_US, 0, 10, 0, 0x7fffffffu, 0x7fffffffu, 20, CS_ERR_MALFORMED, 0, 0, 0},
        {MAGIC_US, 1, 10, 0, 0xffffffffu, 20, 20, CS_ERR_MALFORMED, 0, 0, 0},
    };
    fixture *fx = *state;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        buf b = {.n = 0};
        cap_frame first;
        int open_rc;
        size_t frames;

        pcap_header(&b, rows[i].magic, rows[i].be, 1);
        pcap_record(&b, rows[i].be, rows[i].sec, rows[i].frac, rows[i].caplen, rows[i].len,
                    rows[i].data);
        assert_int_equal(ts_write_file(fx->path, b.b, b.n), 0);
        memset(&first, 0, sizeof first);
        int rc = read_all(fx->path, NULL, &open_rc, &frames, &first);
        printf("# row %zu: %zu frames, end %s\n", i, frames, cs_err_name(rc));
        assert_int_equal(open_rc, CS_OK);
        assert_int_equal(rc, rows[i].end_rc);
        assert_int_equal(frames, rows[i].frames);
        if (frames > 0) {
            assert_int_equal(first.ts_us, rows[i].ts_us);
            assert_int_equal(first.caplen, rows[i].caplen);
            assert_int_equal(first.wire_len, rows[i].wire);
        }
    }
}

static void test_open_errors(void **state)
{
    fixture *fx = *state;
    cap_input *in = (cap_input *)(uintptr_t)1;
    char err[256], path[400];

    snprintf(path, sizeof path, "%s/none.pcap", fx->dir);
    assert_int_equal(cap_input_open_file(path, NULL, &in, err, sizeof err), CS_ERR_NOTFOUND);
    assert_null(in);
    assert_non_null(strstr(err, "none.pcap"));
    assert_int_equal(cap_input_open_file(fx->dir, NULL, &in, err, sizeof err), CS_ERR_IO);
    assert_int_equal(cap_input_open_file("", NULL, &in, err, sizeof err), CS_ERR_INVAL);
    assert_int_equal(ts_write_file(path, "not a capture file at all, just text\n", 37), 0);
    assert_int_equal(cap_input_open_file(path, NULL, &in, err, sizeof err), CS_ERR_MALFORMED);
    if (geteuid() != 0) {
        chmod(path, 0);
        assert_int_equal(cap_input_open_file(path, NULL, &in, err, sizeof err), CS_ERR_IO);
    }
}

static void test_filter(void **state)
{
    char path[512];
    int open_rc;
    size_t frames;
    (void)state;

    ts_source_path(path, sizeof path, "tests/capture/data/main/first10.pcap");
    /* frames 1-10 of the sample: SIP on 5060 and RTP; tshark counts 7 on port 5060 */
    assert_int_equal(read_all(path, "udp port 5060", &open_rc, &frames, NULL), CS_ERR_EMPTY);
    assert_int_equal(frames, 7);
    assert_int_equal(read_all(path, "", &open_rc, &frames, NULL), CS_ERR_EMPTY);
    assert_int_equal(frames, 10);
    assert_int_equal(read_all(path, "tcp", &open_rc, &frames, NULL), CS_ERR_EMPTY);
    assert_int_equal(frames, 0);
    assert_int_equal(read_all(path, "udp port (", &open_rc, &frames, NULL), CS_ERR_CONFIG);

    char err[256];
    assert_int_equal(cap_input_check_filter(NULL, 1, 65535, err, sizeof err), CS_OK);
    assert_int_equal(cap_input_check_filter("", 1, 65535, err, sizeof err), CS_OK);
    assert_int_equal(cap_input_check_filter("vlan and udp port 5060", 1, 65535, err, sizeof err), CS_OK);
    assert_int_equal(cap_input_check_filter("udp port (", 1, 65535, err, sizeof err),
                     CS_ERR_CONFIG);
    assert_non_null(strstr(err, "udp port ("));
    assert_int_equal(cap_input_check_filter("port 99999", 1, 65535, err, sizeof err),
                     CS_ERR_CONFIG);
}

/* Expected output: the same ten frames as pcap, pcapng and nanosecond pcap. */
static void test_expected_listing(void **state)
{
    static const char *const files[] = {"first10.pcap", "first10.pcapng", "first10-ns.pcap"};
    char path[512], exp_path[512];
    size_t exp_len;
    (void)state;

    ts_source_path(exp_path, sizeof exp_path, "tests/capture/data/main/first10.expected");
    char *expected = ts_read_file(exp_path, &exp_len);
    assert_non_null(expected);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[128], out[4096], err[256];
        size_t off = 0;
        cap_input *in;
        cap_frame fr;
        uint64_t done, size;
        int rc;

        snprintf(rel, sizeof rel, "tests/capture/data/main/%s", files[i]);
        ts_source_path(path, sizeof path, rel);
        assert_int_equal(cap_input_open_file(path, NULL, &in, err, sizeof err), CS_OK);
        assert_int_equal(cap_input_is_live(in), 0);
        assert_int_equal(cap_input_fd(in), -1);
        off += (size_t)snprintf(out + off, sizeof out - off, "linktype %d\n",
                                cap_input_linktype(in));
        while ((rc = cap_input_next(in, &fr, err, sizeof err)) == 1) {
            unsigned sum = 0;
            for (size_t k = 0; k < fr.caplen; k++) {
                sum = sum * 31u + fr.data[k];
            }
            off += (size_t)snprintf(out + off, sizeof out - off, "%llu.%06llu %zu %zu %08x\n",
                                    (unsigned long long)(fr.ts_us / 1000000u),
                                    (unsigned long long)(fr.ts_us % 1000000u), fr.caplen,
                                    fr.wire_len, sum);
        }
        assert_int_equal(rc, CS_ERR_EMPTY);
        cap_input_progress(in, &done, &size);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(size, (uint64_t)sb.st_size);
        assert_int_equal(done, size);
        cap_kstats ks;
        assert_int_equal(cap_input_kstats(in, &ks, err, sizeof err), CS_OK);
        assert_int_equal(ks.received + ks.dropped + ks.ifdropped, 0);
        cap_input_close(in);
        if (strcmp(out, expected) != 0) {
            printf("# %s listing differs:\n%s", files[i], out);
        }
        assert_string_equal(out, expected);
    }
    free(expected);
}

static void touch_at(const char *dir, const char *name, time_t sec, long nsec)
{
    char path[512];
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(ts_write_file(path, "x", 1), 0);
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void test_list_dir(void **state)
{
    fixture *fx = *state;
    char d[300], sub[320], err[256];
    char **paths = NULL;
    size_t n = 99;

    snprintf(d, sizeof d, "%s/rot", fx->dir);
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(cap_input_list_dir(d, &paths, &n, err, sizeof err), CS_OK);
    assert_int_equal(n, 0);
    cap_input_free_list(paths, n);

    touch_at(d, "b.pcap", 2000, 5);
    touch_at(d, "a.pcap", 2000, 5);          /* same mtime as b: by name */
    touch_at(d, "z.pcap", 1000, 0);          /* oldest */
    touch_at(d, "c.pcap", 2000, 6);          /* one nanosecond later */
    touch_at(d, ".hidden.pcap", 1, 0);       /* skipped */
    snprintf(sub, sizeof sub, "%s/subdir", d);
    assert_int_equal(mkdir(sub, 0700), 0);  /* skipped */
    assert_int_equal(cap_input_list_dir(d, &paths, &n, err, sizeof err), CS_OK);
    assert_int_equal(n, 4);
    static const char *const want[] = {"z.pcap", "a.pcap", "b.pcap", "c.pcap"};
    for (size_t i = 0; i < 4; i++) {
        char exp[400];
        snprintf(exp, sizeof exp, "%s/%s", d, want[i]);
        assert_string_equal(paths[i], exp);
    }
    cap_input_free_list(paths, n);

    snprintf(sub, sizeof sub, "%s/missing", d);
    assert_int_equal(cap_input_list_dir(sub, &paths, &n, err, sizeof err), CS_ERR_NOTFOUND);
    assert_int_equal(n, 0);
    snprintf(sub, sizeof sub, "%s/a.pcap", d);
    assert_int_equal(cap_input_list_dir(sub, &paths, &n, err, sizeof err), CS_ERR_IO);
}

static void test_live(void **state)
{
    static const struct {
        const char *iface;
        int snaplen;
        int need_root;
        int rc;
    } rows[] = {
        {"", 65535, 0, CS_ERR_INVAL},
        {NULL, 65535, 0, CS_ERR_INVAL},
        {"lo", 63, 0, CS_ERR_INVAL},       /* snaplen min-1 */
        {"lo", 262145, 0, CS_ERR_INVAL},   /* snaplen max+1 */
        {"lo", 64, 1, CS_OK},              /* min */
        {"lo", 262144, 1, CS_OK},          /* max */
        {"cs-nonesuch0", 65535, 1, CS_ERR_NOTFOUND},
    };
    char err[256], warn[256];
    (void)state;

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cap_live_opts o = {.iface = rows[i].iface, .snaplen = rows[i].snaplen,
                           .buffer_bytes = 1 << 20, .promisc = 0, .immediate = 1};
        cap_input *in = NULL;
        if (rows[i].need_root && geteuid() != 0) {
            printf("# live row %zu skipped: not root\n", i);
            continue;
        }
        int rc = cap_input_open_live(&o, &in, err, sizeof err, warn, sizeof warn);
        assert_int_equal(rc, rows[i].rc);
        if (rc == CS_OK) {
            cap_frame fr;
            cap_kstats ks;
            uint64_t done, size;
            assert_int_equal(cap_input_is_live(in), 1);
            assert_true(cap_input_fd(in) >= 0);
            assert_int_equal(cap_input_linktype(in), 1); /* lo is DLT_EN10MB on Linux */
            assert_int_equal(cap_input_kstats(in, &ks, err, sizeof err), CS_OK);
            cap_input_progress(in, &done, &size);
            assert_int_equal(done + size, 0);
            /* non-blocking: never waits (frames may or may not be there) */
            rc = cap_input_next(in, &fr, err, sizeof err);
            assert_true(rc == 0 || rc == 1);
            cap_input_close(in);
        } else {
            assert_null(in);
        }
    }
    if (geteuid() == 0) {
        cap_live_opts o = {.iface = "lo", .filter = "udp port (", .snaplen = 65535};
        cap_input *in = NULL;
        assert_int_equal(cap_input_open_live(&o, &in, err, sizeof err, warn, sizeof warn),
                         CS_ERR_CONFIG);
        assert_null(in);
    }
}

/* ---- the direct reader against libpcap --------------------------------
 *
 * Without a filter, classic pcap files are read by input.c's own reader; a
 * filter that accepts everything ("len >= 0") makes libpcap read the same
 * file. Both must give the same frames (time, lengths, every byte), the same
 * end and the same message, for files larger than the reader's 1 MB buffer
 * (records straddle its refills) and for files whose odd records make the
 * reader hand over to libpcap in the middle. */

typedef struct big {
    uint8_t *b;
    size_t n, cap;
} big;

static void big_put(big *g, const void *p, size_t n)
{
    if (g->n + n > g->cap) {
        g->cap = (g->n + n) * 2;
        g->b = realloc(g->b, g->cap);
        assert_non_null(g->b);
    }
    memcpy(g->b + g->n, p, n);
    g->n += n;
}

static void big_put32(big *g, uint32_t v, int be)
{
    buf t = {.n = 0};
    put32(&t, v, be);
    big_put(g, t.b, 4);
}

static void big_record(big *g, int be, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t len)
{
    big_put32(g, sec, be);
    big_put32(g, frac, be);
    big_put32(g, caplen, be);
    big_put32(g, len, be);
    for (uint32_t i = 0; i < caplen; i++) {
        uint8_t c = (uint8_t)(sec * 13 + frac + i * 3);
        big_put(g, &c, 1);
    }
}

typedef struct digest {
    size_t frames;
    uint64_t h;
    int end;
    char err[256];
} digest;

static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ull;
    }
    return h;
}

static void digest_file(const char *path, const char *filter, digest *d)
{
    cap_input *in = NULL;
    cap_frame fr;

    memset(d, 0, sizeof *d);
    d->h = 1469598103934665603ull;
    assert_int_equal(cap_input_open_file(path, filter, &in, d->err, sizeof d->err), CS_OK);
    /* what cap_input_peek(1) and (2) showed earlier: length and a hash of
     * the bytes (the bytes may move when the buffer is refilled) */
    int seen[3] = {0, 0, 0};
    size_t seen_len[3] = {0, 0, 0};
    uint64_t seen_h[3] = {0, 0, 0};
    while ((d->end = cap_input_next(in, &fr, d->err, sizeof d->err)) == 1) {
        if (seen[1]) { /* a look-ahead, when there was one, showed exactly this frame */
            assert_int_equal(seen_len[1], fr.caplen);
            assert_true(seen_h[1] == bytes_hash(fr.data, fr.caplen));
        }
        const uint8_t *p1, *p2;
        size_t l1, l2;
        int h1 = cap_input_peek(in, 1, &p1, &l1);
        int h2 = cap_input_peek(in, 2, &p2, &l2);
        if (filter != NULL) {
            assert_int_equal(h1 + h2, 0); /* libpcap reads: no look-ahead */
        }
        if (h1 && seen[2]) { /* peek(2) before is peek(1) now */
            assert_int_equal(l1, seen_len[2]);
            assert_true(bytes_hash(p1, l1) == seen_h[2]);
        }
        seen[1] = h1;
        seen_len[1] = h1 ? l1 : 0;
        seen_h[1] = h1 ? bytes_hash(p1, l1) : 0;
        seen[2] = h2;
        seen_len[2] = h2 ? l2 : 0;
        seen_h[2] = h2 ? bytes_hash(p2, l2) : 0;
        uint64_t v[3] = {fr.ts_us, fr.caplen, fr.wire_len};
        const uint8_t *p = (const uint8_t *)v;
        for (size_t i = 0; i < sizeof v; i++) {
            d->h = (d->h ^ p[i]) * 1099511628211ull;
        }
        for (size_t i = 0; i < fr.caplen; i++) {
            d->h = (d->h ^ fr.data[i]) * 1099511628211ull;
        }
        d->frames++;
    }
    uint64_t done, size;
    cap_input_progress(in, &done, &size);
    if (d->end == CS_ERR_EMPTY) {
        assert_int_equal(done, size); /* the whole file consumed */
    }
    cap_input_close(in);
}

static void test_direct_reader(void **state)
{
    enum { PLAIN, SNAP_OVERSIZE, SEC_2038, TRUNCATED, NCASES };
    static const char *names[] = {"plain", "caplen over the snaplen", "seconds past 2038",
                                  "truncated in a record"};
    fixture *fx = *state;

    for (int be = 0; be <= 1; be++) {
        for (int ns = 0; ns <= 1; ns++) {
            for (int c = PLAIN; c < NCASES; c++) {
                big g = {0};
                buf h = {.n = 0};
                pcap_header(&h, ns ? MAGIC_NS : MAGIC_US, be, 1);
                big_put(&g, h.b, h.n);
                size_t odd_at = 2500000; /* past the first buffer refill */
                int odd_done = 0;
                for (uint32_t k = 0; g.n < 3200000; k++) {
                    if (!odd_done && g.n >= odd_at && c != PLAIN) {
                        odd_done = 1;
                        if (c == SNAP_OVERSIZE) {
                            big_record(&g, be, 1700000000, 1, 70000, 70000);
                            continue;
                        }
                        if (c == SEC_2038) {
                            big_record(&g, be, 0x80000001u, 7, 60, 60);
                            continue;
                        }
                        if (c == TRUNCATED) {
                            big_record(&g, be, 1700000000, 2, 900, 900);
                            g.n -= 300;
                            break;
                        }
                    }
                    uint32_t caplen = (k * 7919u) % 1601u;
                    if (k % 97 == 0) {
                        caplen = 9000 + k % 5000; /* a jumbo now and then */
                    }
                    uint32_t frac = ns ? (k * 1234567u) % 1000000000u : (k * 4567u) % 1000000u;
                    if (k % 1001 == 0) {
                        frac = ns ? 999999999u : 1500000u; /* out of range: clamped */
                    }
                    big_record(&g, be, 1700000000u + k / 50, frac, caplen,
                               k % 3 ? caplen : caplen + 40);
                }
                assert_int_equal(ts_write_file(fx->path, g.b, g.n), 0);
                free(g.b);
                digest direct, lib;
                digest_file(fx->path, NULL, &direct);
                digest_file(fx->path, "len >= 0", &lib);
                printf("# %s, %s, %s: %zu frames, end %s%s%s\n", be ? "big endian" : "little endian",
                       ns ? "ns" : "us", names[c], direct.frames, cs_err_name(direct.end),
                       direct.end == CS_ERR_MALFORMED ? ": " : "",
                       direct.end == CS_ERR_MALFORMED ? direct.err : "");
                assert_true(direct.frames > 2000);
                assert_int_equal(direct.frames, lib.frames);
                assert_true(direct.h == lib.h);
                assert_int_equal(direct.end, lib.end);
                assert_int_equal(direct.end, c == TRUNCATED ? CS_ERR_MALFORMED : CS_ERR_EMPTY);
                if (direct.end == CS_ERR_MALFORMED) {
                    assert_string_equal(direct.err, lib.err);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_truncation_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_expected_listing),
        cmocka_unit_test_setup_teardown(test_list_dir, setup, teardown),
        cmocka_unit_test(test_live),
        cmocka_unit_test_setup_teardown(test_direct_reader, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
