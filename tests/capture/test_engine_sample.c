/*
 * test_engine_sample.c — the engine over callgen's sample capture
 * (tests/data/sample.pcap: every scenario once) compared with its truth:
 * every call found once, legs merged, outcome, invite/ringing/answer/end
 * times, who ended it, agents, holds, transfers, DTMF digits and per-
 * direction RTP packet counts (tests/capture/data/engine/truth.jq); then
 * every call.pcap re-read with libpcap: its frames are exactly the call's
 * SIP messages plus its RTP and RTCP packets.
 */
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

static char g_pcap[512], g_truth[512], g_jq[512];

static void test_sample_matches_truth(void **state)
{
    (void)state;
    ce_config cfg;
    ce_config_defaults(&cfg);
    te_run r;
    assert_int_equal(te_run_pcap(&r, "engine-sample", &cfg, g_pcap, NULL, NULL), 0);
    assert_int_equal(r.finish_rc, 0);
    assert_int_equal(r.frame_errors, 0);

    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cat %s/ready/*/call.json | jq -s 'sort_by(.invite_us)' > %s/calls.json && "
             "jq -r -n --slurpfile truth %s --slurpfile c %s/calls.json "
             "\"\\$c[0] as \\$calls | $(cat %s)\" > %s/diff.txt",
             r.spool, r.dir, g_truth, r.dir, g_jq, r.dir);
    assert_int_equal(system(cmd), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/diff.txt", r.dir);
    size_t len = 0;
    char *diff = ts_read_file(path, &len);
    assert_non_null(diff);
    if (len)
        fprintf(stderr, "differences from the truth:\n%s", diff);
    assert_int_equal(len, 0);
    free(diff);

    /* counters */
    assert_int_equal(r.cnt.calls_started, 19);
    assert_int_equal(r.cnt.sip_messages, 169);
    assert_int_equal(r.cnt.calls_refused, 0);
    assert_int_equal(r.cnt.spool_errors, 0);
    assert_int_equal(te_ready_count(&r), 19);

    /* call.pcap of every call: frames == SIP + RTP + RTCP of the call */
    char *list = te_jq(&r, "map(\"\\(.uuid) \\(.counters.sip_messages + .counters.rtp_packets + "
                           ".counters.rtcp_packets) \\(.pcap.frames) \\(.legs[0].transport)\") | .[]");
    assert_non_null(list);
    char *save = NULL;
    int n = 0;
    for (char *line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char uuid[64], transport[8];
        long want, frames;
        assert_int_equal(sscanf(line, "%63s %ld %ld %7s", uuid, &want, &frames, transport), 4);
        snprintf(path, sizeof path, "%s/ready/%s/call.pcap", r.spool, uuid);
        int lt = -1;
        long got = te_pcap_frames(path, &lt);
        if (got != want || got != frames)
            fprintf(stderr, "%s: pcap has %ld frames, call.json says %ld, counters %ld\n", uuid,
                    got, frames, want);
        assert_int_equal(got, frames);
        if (strcmp(transport, "tcp") == 0) {
            /* one TCP segment may carry two messages: one frame for both */
            assert_true(got <= want && got >= want - 4);
        } else {
            assert_int_equal(got, want);
        }
        assert_int_equal(lt, 1);
        n++;
    }
    assert_int_equal(n, 19);
    free(list);
    te_cleanup(&r);
}

int main(void)
{
    if (!te_have_jq()) {
        fprintf(stderr, "jq not installed: skipped\n");
        return 77;
    }
    ts_source_path(g_pcap, sizeof g_pcap, "tests/data/sample.pcap");
    ts_source_path(g_truth, sizeof g_truth, "tests/data/sample.truth.json");
    ts_source_path(g_jq, sizeof g_jq, "tests/capture/data/engine/truth.jq");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_matches_truth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
