/*
 * test_tcpreasm_shared.c — SIP over TCP in real captures written by others
 * (../shared/data/pcaps, read in place; exit 77 when the folder is absent).
 *
 * Each capture is read with libpcap, decoded with pkt_decode and its TCP
 * segments fed to tcpreasm; every framed message is printed as
 *     <time us> <src>:<port> > <dst>:<port> <start line>
 * and compared with tests/capture/data/tcpreasm/<name>.expected, which was
 * made with tshark from the same file:
 *     tshark -r F -Y sip -T fields -e frame.time_epoch -e ip.src -e tcp.srcport
 *            -e ip.dst -e tcp.dstport -e sip.Request-Line -e sip.Status-Line
 * (innermost addresses for IP-in-IP). So the message count, order, start
 * lines and completion times are tshark's. Then every capture in the folder
 * is fed through (all TCP, any port) to show none upsets the reassembler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "pkt.h"
#include "tcpreasm.h"
#include "testsupport.h"

typedef struct outbuf {
    char *p;
    size_t len, cap;
} outbuf;

static void out_line(void *arg, uint64_t ts_us, const pkt_info *info, const uint8_t *msg,
                     size_t len)
{
    outbuf *o = arg;
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    const uint8_t *eol = memchr(msg, '\n', len);
    size_t first = eol ? (size_t)(eol - msg) : len;
    if (first > 0 && msg[first - 1] == '\r')
        first--;
    inet_ntop(info->family, info->src, s, sizeof s);
    inet_ntop(info->family, info->dst, d, sizeof d);
    size_t need = first + 2 * sizeof s + 64;
    if (o->len + need > o->cap) {
        o->cap = (o->len + need) * 2;
        o->p = realloc(o->p, o->cap);
        assert_non_null(o->p);
    }
    o->len += (size_t)snprintf(o->p + o->len, o->cap - o->len, "%llu %s:%u > %s:%u %.*s\n",
                               (unsigned long long)ts_us, s, info->sport, d, info->dport,
                               (int)first, (const char *)msg);
}

/* Feeds every TCP segment of a capture; returns 0, or -1 if it cannot be opened. */
static int feed_pcap(const char *path, tcpreasm *t, size_t *tcp_segments)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, err);
    struct pcap_pkthdr *h;
    const u_char *data;
    int r;

    if (!pc)
        return -1;
    int lt = pcap_datalink(pc);
    *tcp_segments = 0;
    while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
        pkt_info info;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        memset(&info, 0, sizeof info);
        if (pkt_decode(lt, data, h->caplen, &info) != PKT_OK || info.proto != PKT_PROTO_TCP)
            continue;
        (*tcp_segments)++;
        int rc = tcpreasm_add(t, ts, &info);
        assert_true(rc == CS_OK || rc == CS_ERR_MALFORMED || rc == CS_ERR_LIMIT);
        tcpreasm_expire(t, ts);
    }
    pcap_close(pc);
    return 0;
}

typedef struct cap_case {
    const char *name;
    size_t messages;
    size_t flows; /* directions still held at the end (no FIN/RST seen) */
} cap_case;

static const cap_case cases[] = {
    {"pkts_fragmented_tcp_sip", 6, 0}, /* INVITE in 3 segments (1448+1448+2259); FINs */
    {"heplify_sip_ipv4_tcp", 7, 2},    /* the capture stops before the close */
    {"sngrep_ipip", 4, 2},             /* SIP over TCP inside IP-in-IP, mid-stream */
};

static void test_expected(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[256], path[4096], epath[4096];
        outbuf o = {0};
        size_t elen = 0, nseg = 0;
        tcpreasm_stats st;

        snprintf(rel, sizeof rel, "pcaps/%s.pcap", cases[i].name);
        assert_true(ts_shared_path(path, sizeof path, rel));
        snprintf(rel, sizeof rel, "tests/capture/data/tcpreasm/%s.expected", cases[i].name);
        ts_source_path(epath, sizeof epath, rel);
        char *want = ts_read_file(epath, &elen);
        assert_non_null(want);

        tcpreasm *t = tcpreasm_new(NULL, out_line, &o);
        assert_non_null(t);
        assert_int_equal(feed_pcap(path, t, &nseg), 0);
        assert_true(nseg > 0);
        tcpreasm_get_stats(t, &st);
        if (st.messages != cases[i].messages || o.len != elen || memcmp(o.p, want, elen) != 0) {
            fprintf(stderr, "---- %s: got\n%.*s---- want\n%s", cases[i].name, (int)o.len,
                    o.p ? o.p : "", want);
            fail_msg("%s: %llu messages, output differs from %s.expected", cases[i].name,
                     (unsigned long long)st.messages, cases[i].name);
        }
        assert_int_equal(st.framing_errors, 0);
        assert_int_equal(st.gaps, 0);
        assert_int_equal(st.overflow, 0);
        if (st.flows != cases[i].flows)
            fail_msg("%s: %zu flows held, want %zu", cases[i].name, st.flows, cases[i].flows);
        tcpreasm_free(t);
        free(want);
        free(o.p);
    }
}

/* Every capture of the folder: TCP on any port through the reassembler. */
static void test_all_captures(void **state)
{
    char dir[4096];
    size_t files = 0, total_seg = 0;
    uint64_t total_msgs = 0;

    (void)state;
    assert_true(ts_shared_path(dir, sizeof dir, "pcaps"));
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[8192];
        outbuf o = {0};
        size_t nseg = 0;
        tcpreasm_stats st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        tcpreasm *t = tcpreasm_new(NULL, out_line, &o);
        assert_non_null(t);
        if (feed_pcap(path, t, &nseg) == 0)
            files++;
        tcpreasm_get_stats(t, &st);
        assert_true(st.messages <= st.segments + 1);
        total_seg += nseg;
        total_msgs += st.messages;
        tcpreasm_free(t);
        free(o.p);
    }
    closedir(dp);
    assert_true(files >= 40);
    /* At least the messages of the three captures above (websocket and TLS
     * streams carry none we can frame). */
    assert_true(total_msgs >= 17);
    fprintf(stderr, "# %zu captures, %zu TCP segments, %llu SIP messages framed\n", files,
            total_seg, (unsigned long long)total_msgs);
}

int main(void)
{
    char probe[4096];
    if (!ts_shared_path(probe, sizeof probe, "pcaps/pkts_fragmented_tcp_sip.pcap")) {
        fprintf(stderr, "test_tcpreasm_shared: ../shared/data/pcaps not found "
                        "(set CALLSCOPE_SHARED_DATA): skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected),
        cmocka_unit_test(test_all_captures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
