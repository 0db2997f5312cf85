/*
 * test_engine_limits.c — the engine under caps and on captures written by
 * others:
 *   - callgen's sample with max_calls 3 and with max_streams_per_call 1:
 *     refusals are counted, every call that was started is written exactly
 *     once, no call holds more streams than allowed;
 *   - every capture in ../shared/data/pcaps (real phones, PBXs, SBCs; read
 *     in place, skipped when the folder is absent): no crash, no spool error,
 *     every started call written, every call.json valid, every call.pcap
 *     readable by libpcap with the frame count its call.json states;
 *   - ce_prefetch (a look-ahead hint) over every prefix of the sample's
 *     first 3000 frames at every stage changes nothing: the same counters
 *     and call.json documents as a run without it.
 * Run under -DCALLSCOPE_SANITIZE=ON this is also the ASan/UBSan/leak check
 * of the engine over hostile real-world input.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "test_engine_util.h"
#include "testsupport.h"

static char g_sample[512];

static void check_entries(const te_run *r)
{
    assert_int_equal(r->finish_rc, 0);
    assert_int_equal(r->cnt.spool_errors, 0);
    assert_int_equal(r->cnt.calls_active, r->cnt.calls_started - r->cnt.calls_finished);
    assert_int_equal(te_ready_count(r), r->cnt.calls_started);
    if (r->cnt.calls_started == 0)
        return;
    /* every call.pcap has the frames its call.json says */
    char *list = te_jq(r, "map(\"\\(.uuid) \\(.pcap.frames // -1)\") | .[]");
    assert_non_null(list);
    char *save = NULL;
    for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char uuid[64], path[700];
        long frames;
        assert_int_equal(sscanf(line, "%63s %ld", uuid, &frames), 2);
        snprintf(path, sizeof path, "%s/ready/%s/call.pcap", r->spool, uuid);
        long got = te_pcap_frames(path, NULL);
        if (frames < 0)
            assert_int_equal(got, -1); /* no frame, no file */
        else
            assert_int_equal(got, frames);
    }
    free(list);
}

static void test_sample_max_calls(void **state)
{
    (void)state;
    ce_config cfg;
    ce_config_defaults(&cfg);
    cfg.max_calls = 3;
    te_run r;
    assert_int_equal(te_run_pcap(&r, "engine-cap-calls", &cfg, g_sample, NULL, NULL), 0);
    check_entries(&r);
    assert_true(r.cnt.calls_refused > 0);
    assert_true(r.cnt.calls_started < 19);
    assert_true(r.cnt.limit_hits >= r.cnt.calls_refused);
    te_cleanup(&r);
}

static void test_sample_max_streams(void **state)
{
    (void)state;
    ce_config cfg;
    ce_config_defaults(&cfg);
    cfg.max_streams_per_call = 1;
    te_run r;
    assert_int_equal(te_run_pcap(&r, "engine-cap-streams", &cfg, g_sample, NULL, NULL), 0);
    check_entries(&r);
    assert_int_equal(r.cnt.calls_started, 19);
    assert_true(r.cnt.streams_refused > 0);
    assert_int_equal(te_jq_int(&r, "map(.streams | length) | max"), 1);
    assert_int_equal(te_jq_int(&r, "map(.streams_refused) | add"), (long long)r.cnt.streams_refused);
    te_cleanup(&r);
}

static void test_shared_captures(void **state)
{
    (void)state;
    char dir[512];
    if (!ts_shared_path(dir, sizeof dir, "pcaps")) {
        fprintf(stderr, "../shared/data/pcaps absent: skipped\n");
        skip();
    }
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    uint64_t calls = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ce_config cfg;
        ce_config_defaults(&cfg);
        te_run r;
        int rc = te_run_pcap(&r, "engine-shared", &cfg, path, NULL, NULL);
        if (rc == -2) {
            fprintf(stderr, "%-70s not readable by libpcap: skipped\n", e->d_name);
            te_cleanup(&r);
            continue;
        }
        assert_int_equal(rc, 0);
        check_entries(&r);
        char *sum = r.cnt.calls_started ? te_jq(&r, "map(\"\\(.outcome)/\\(.legs | length)/\\(.streams | length)\") | join(\" \")") : NULL;
        fprintf(stderr, "%-70s frames %6llu sip %4llu rtp %6llu calls %llu %s\n", e->d_name,
                (unsigned long long)r.cnt.frames, (unsigned long long)r.cnt.sip_messages,
                (unsigned long long)r.cnt.rtp_packets, (unsigned long long)r.cnt.calls_started,
                sum ? sum : "");
        free(sum);
        calls += r.cnt.calls_started;
        te_cleanup(&r);
        n++;
    }
    closedir(d);
    assert_true(n > 0);
    assert_true(calls > 0);
}

/* The same counters and the same entries (but their uuids); cleans both up. */
static void assert_same_run(te_run *plain, te_run *other)
{
    assert_int_equal(other->cnt.frames, plain->cnt.frames);
    assert_int_equal(other->cnt.rtp_packets, plain->cnt.rtp_packets);
    assert_int_equal(other->cnt.rtp_unmatched, plain->cnt.rtp_unmatched);
    assert_int_equal(other->cnt.streams, plain->cnt.streams);
    assert_int_equal(other->cnt.calls_started, plain->cnt.calls_started);
    assert_int_equal(other->cnt.spool_written, plain->cnt.spool_written);
    char *a = te_jq(plain, "map(del(.uuid)) | tostring");
    char *b = te_jq(other, "map(del(.uuid)) | tostring");
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    te_cleanup(plain);
    te_cleanup(other);
}

/* ce_prefetch is only a hint: over every prefix of the sample's first
 * frames (truncated Ethernet, VLAN, IP and UDP headers; ASan checks every
 * read), at every stage, it changes nothing: the same counters and the
 * same entries as a run without it. */
static capture_engine *g_pf_engine;

static int prefetch_every_prefix(void *arg, size_t index, const uint8_t *data, size_t caplen,
                                 uint64_t *ts_us)
{
    (void)arg;
    (void)ts_us;
    if (index < 3000) {
        for (size_t n = 0; n <= caplen; n++)
            for (int stage = 0; stage <= 2; stage++)
                ce_prefetch(g_pf_engine, 1, data, n, stage);
        ce_prefetch(g_pf_engine, 113 /* not Ethernet: nothing */, data, caplen, 1);
    }
    return 1;
}

static void test_prefetch_changes_nothing(void **state)
{
    (void)state;
    ce_config cfg;
    ce_config_defaults(&cfg);
    te_run plain, hinted;
    assert_int_equal(te_run_pcap(&plain, "engine-pf-plain", &cfg, g_sample, NULL, NULL), 0);
    assert_int_equal(te_setup(&hinted, "engine-pf-hinted"), 0);
    spool *sp = NULL;
    g_pf_engine = te_begin(&hinted, &cfg, &sp);
    assert_non_null(g_pf_engine);
    assert_int_equal(te_feed_pcap(g_pf_engine, g_sample, prefetch_every_prefix, NULL), 0);
    te_end(&hinted, g_pf_engine, sp);
    assert_same_run(&plain, &hinted);
}

/* ce_frame_hinted: a frame's own look-ahead entry only saves a hash, another
 * frame's entry is ignored: the same counters and entries as ce_frame. */
static void test_hinted_frames_same_result(void **state)
{
    (void)state;
    ce_config cfg;
    ce_config_defaults(&cfg);
    te_run plain, hinted;
    assert_int_equal(te_run_pcap(&plain, "engine-hint-plain", &cfg, g_sample, NULL, NULL), 0);
    assert_int_equal(te_setup(&hinted, "engine-hint-hinted"), 0);
    spool *sp = NULL;
    capture_engine *ce = te_begin(&hinted, &cfg, &sp);
    assert_non_null(ce);
    assert_int_equal(te_feed_pcap_hinted(ce, g_sample), 0);
    te_end(&hinted, ce, sp);
    assert_same_run(&plain, &hinted);
}

int main(void)
{
    if (!te_have_jq()) {
        fprintf(stderr, "jq not installed: skipped\n");
        return 77;
    }
    ts_source_path(g_sample, sizeof g_sample, "tests/data/sample.pcap");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_max_calls),
        cmocka_unit_test(test_sample_max_streams),
        cmocka_unit_test(test_shared_captures),
        cmocka_unit_test(test_prefetch_changes_nothing),
        cmocka_unit_test(test_hinted_frames_same_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
