/*
 * test_cg_sample.c — the committed sample capture matches the code.
 *
 * Regenerates `callgen --seed 1 --scenario all` into a private directory and
 * requires an identical tests/data/sample.truth.json and a sample.pcap that
 * is identical frame by frame — same number of frames, timestamps, lengths
 * and bytes — except inside RTP payloads (and the UDP checksum that covers
 * them): Festival's synthesis and libopus are floating-point code whose last
 * bits may differ on another CPU, and that must not fail the suite, while any
 * change to callgen's packets, timing or truth does, until the sample is
 * regenerated (the command is in docs/callgen.md) and committed with it.
 * On the machine that made the sample the files are byte-identical.
 * Skips (77) without pocketsphinx-testdata or Festival (the sample contains
 * the synthesised phrases).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "testsupport.h"

static void compare(const char *a, const char *b)
{
    size_t la, lb;
    char *x = ts_read_file(a, &la), *y = ts_read_file(b, &lb);
    assert_non_null(x);
    assert_non_null(y);
    if (la != lb || memcmp(x, y, la) != 0)
        fail_msg("%s differs from %s (%zu vs %zu bytes): regenerate the sample", b, a, la, lb);
    free(x);
    free(y);
}

/* Offset of the UDP header in an Ethernet frame (VLAN tags, IPv4/IPv6 without
 * extension headers, not a fragment), or 0 when the frame is something else. */
static size_t udp_offset(const unsigned char *f, size_t len)
{
    size_t off = 12;
    while (off + 2 <= len && (f[off] == 0x81 || f[off] == 0x88) &&
           (f[off + 1] == 0x00 || f[off + 1] == 0xa8))
        off += 4;
    if (off + 2 > len)
        return 0;
    unsigned type = (unsigned)f[off] << 8 | f[off + 1];
    off += 2;
    if (type == 0x0800 && off + 20 <= len && f[off + 9] == 17 && (f[off + 6] & 0x3f) == 0 &&
        f[off + 7] == 0)
        return off + (size_t)(f[off] & 0x0f) * 4;
    if (type == 0x86dd && off + 40 <= len && f[off + 6] == 17)
        return off + 40;
    return 0;
}

/* 1 if the two frames differ only in the RTP payload (after the 12-byte RTP
 * header and any CSRCs) and the UDP checksum. */
static int differs_only_in_rtp_payload(const unsigned char *a, const unsigned char *b, size_t len)
{
    size_t u = udp_offset(a, len);
    if (u == 0 || u != udp_offset(b, len) || u + 8 + 12 > len)
        return 0;
    size_t rtp = u + 8;
    if ((a[rtp] & 0xc0) != 0x80)
        return 0;
    size_t payload = rtp + 12 + (size_t)(a[rtp] & 0x0f) * 4;
    for (size_t i = 0; i < len && i < payload; i++) {
        if (i == u + 6 || i == u + 7)
            continue; /* UDP checksum */
        if (a[i] != b[i])
            return 0;
    }
    return 1;
}

static void compare_pcap(const char *ref, const char *got)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pa = pcap_open_offline(ref, eb);
    assert_non_null(pa);
    pcap_t *pb = pcap_open_offline(got, eb);
    assert_non_null(pb);
    assert_int_equal(pcap_datalink(pa), pcap_datalink(pb));
    unsigned long frames = 0, payload_diffs = 0;
    for (;;) {
        struct pcap_pkthdr *ha, *hb;
        const unsigned char *da, *db;
        int ra = pcap_next_ex(pa, &ha, &da), rb = pcap_next_ex(pb, &hb, &db);
        if (ra == PCAP_ERROR_BREAK || rb == PCAP_ERROR_BREAK) {
            if (ra != rb)
                fail_msg("%s: frame count differs from %s after %lu frames", got, ref, frames);
            break;
        }
        assert_int_equal(ra, 1);
        assert_int_equal(rb, 1);
        frames++;
        if (ha->ts.tv_sec != hb->ts.tv_sec || ha->ts.tv_usec != hb->ts.tv_usec ||
            ha->caplen != hb->caplen || ha->len != hb->len)
            fail_msg("frame %lu: time or length differs: regenerate the sample", frames);
        if (memcmp(da, db, ha->caplen) != 0) {
            if (!differs_only_in_rtp_payload(da, db, ha->caplen))
                fail_msg("frame %lu differs outside an RTP payload: regenerate the sample",
                         frames);
            payload_diffs++;
        }
    }
    pcap_close(pa);
    pcap_close(pb);
    if (payload_diffs)
        print_message("sample: %lu frames, %lu RTP payloads differ (floating-point synthesis or "
                      "codec on this CPU); headers, times and lengths are identical\n",
                      frames, payload_diffs);
}

static void test_sample(void **state)
{
    (void)state;
    const char *bin = getenv("CALLGEN");
    assert_non_null(bin);
    char dir[4096], out[4200], cmd[16384], ref[4200], reft[4200], outt[4200];
    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "sample"), 0);
    snprintf(out, sizeof out, "%s/sample.pcap", dir);
    snprintf(outt, sizeof outt, "%s/sample.truth.json", dir);
    const char *tts = getenv("CALLGEN_TTS_CACHE");
    snprintf(cmd, sizeof cmd, "'%s' -q --seed 1 --scenario all -o '%s' --tts-cache '%s'", bin,
             out, tts && *tts ? tts : "/tmp/callscope-test-tts");
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    ts_source_path(ref, sizeof ref, "tests/data/sample.pcap");
    ts_source_path(reft, sizeof reft, "tests/data/sample.truth.json");
    compare_pcap(ref, out);
    compare(outt, reft);
    ts_rmrf(dir);
}

int main(void)
{
    if (access("/usr/share/pocketsphinx/test/data/cards", R_OK) != 0 ||
        system("command -v text2wave >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP: pocketsphinx-testdata or festival missing\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sample)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
