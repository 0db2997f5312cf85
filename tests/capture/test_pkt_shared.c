/*
 * test_pkt_shared.c — every real capture in ../shared/data/pcaps decoded by
 * pkt_decode(), IP fragments reassembled by ipfrag, and the per-file counts
 * compared with tests/capture/data/pkt/shared-pcaps.txt.
 *
 * One line per file (sorted by name): link type, frames, then how many frames
 * gave each result, how many OK frames were UDP / TCP / IPv6 / VLAN-tagged /
 * tunnelled, and how many datagrams ipfrag completed (and how many of those
 * decoded to PKT_OK). Several counts were cross-checked with tshark when the
 * expectation was written (see the comment lines of that file). A file present
 * in the folder but not in the expectation, or the other way round, fails the
 * test. CALLSCOPE_UPDATE_EXPECTED=1 rewrites the file, keeping its "# tshark"
 * lines (review the diff).
 *
 * The captures are others' work and are read in place, never copied; without
 * the folder the test exits 77 (skipped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ipfrag.h"
#include "pkt.h"
#include "testsupport.h"

typedef struct counts {
    unsigned long frames;
    unsigned long res[11]; /* index: result + 5 (PKT_ERR_ENCAP .. PKT_SKIP_LINKTYPE) */
    unsigned long udp, tcp, v6, vlan, tunnel;
    unsigned long reasm, reasm_ok;
} counts;

static char g_dir[4096];

/* Returns 0, or -1 when libpcap cannot open the file (err filled). */
static int count_file(const char *path, int *linktype, counts *c, char *err)
{
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc)
        return -1;
    *linktype = pcap_datalink(pc);
    ipfrag *fr = ipfrag_new(NULL);
    assert_non_null(fr);
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        pkt_info in;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        /* an exact-size copy so ASan catches any read past caplen */
        uint8_t *copy = malloc(h->caplen ? h->caplen : 1);
        assert_non_null(copy);
        memcpy(copy, data, h->caplen);
        int r = pkt_decode(*linktype, copy, h->caplen, &in);
        assert_true(r >= PKT_ERR_ENCAP && r <= PKT_SKIP_LINKTYPE);
        c->frames++;
        c->res[r + 5]++;
        if (r == PKT_OK) {
            c->udp += in.proto == PKT_PROTO_UDP;
            c->tcp += in.proto == PKT_PROTO_TCP;
            c->v6 += in.family == AF_INET6;
            c->vlan += in.nvlan > 0;
            c->tunnel += in.encap_depth > 0;
        }
        if (r == PKT_FRAGMENT) {
            const uint8_t *dg;
            size_t dlen;
            int a = ipfrag_add(fr, ts, &in, &dg, &dlen);
            assert_true(a >= 0);
            if (a == 1) {
                c->reasm++;
                c->reasm_ok += pkt_decode_ip(dg, dlen, &in) == PKT_OK;
            }
        }
        free(copy);
    }
    assert_int_equal(rc, PCAP_ERROR_BREAK);
    ipfrag_free(fr);
    pcap_close(pc);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_capture(const struct dirent *e)
{
    const char *dot = strrchr(e->d_name, '.');
    return e->d_name[0] != '.' && dot &&
           (!strcmp(dot, ".pcap") || !strcmp(dot, ".pcapng") || !strcmp(dot, ".cap"));
}

#define HEADER                                                                                 \
    "# file linktype frames | ok fragment skip_l2 skip_l3 sctp skip_linktype truncated bad_ip " \
    "bad_udp bad_tcp encap | udp tcp ipv6 vlan tunnel | reassembled reassembled_ok\n"

static void test_shared_pcaps(void **state)
{
    (void)state;
    struct dirent **ents;
    int n = scandir(g_dir, &ents, is_capture, by_name);
    assert_true(n > 0);
    size_t cap = (size_t)n * 512 + 4096, k = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    k += (size_t)snprintf(text + k, cap - k, "%s", HEADER);
    static const int order[] = {PKT_OK,          PKT_FRAGMENT,     PKT_SKIP_L2,
                                PKT_SKIP_L3,     PKT_SKIP_SCTP,    PKT_SKIP_LINKTYPE,
                                PKT_ERR_TRUNCATED, PKT_ERR_BAD_IP, PKT_ERR_BAD_UDP,
                                PKT_ERR_BAD_TCP, PKT_ERR_ENCAP};
    for (int i = 0; i < n; i++) {
        char path[8192];
        snprintf(path, sizeof(path), "%s/%s", g_dir, ents[i]->d_name);
        counts c;
        int lt = -1;
        memset(&c, 0, sizeof(c));
        char err[PCAP_ERRBUF_SIZE];
        if (count_file(path, &lt, &c, err) != 0) {
            /* e.g. a Sun snoop file: the capture stage reads what libpcap reads */
            k += (size_t)snprintf(text + k, cap - k, "%s libpcap-cannot-read: %s\n",
                                  ents[i]->d_name, err);
            free(ents[i]);
            continue;
        }
        k += (size_t)snprintf(text + k, cap - k, "%s %d %lu |", ents[i]->d_name, lt, c.frames);
        for (size_t j = 0; j < sizeof(order) / sizeof(order[0]); j++)
            k += (size_t)snprintf(text + k, cap - k, " %lu", c.res[order[j] + 5]);
        k += (size_t)snprintf(text + k, cap - k, " | %lu %lu %lu %lu %lu | %lu %lu\n", c.udp,
                              c.tcp, c.v6, c.vlan, c.tunnel, c.reasm, c.reasm_ok);
        free(ents[i]);
    }
    free(ents);

    char epath[4096];
    ts_source_path(epath, sizeof(epath), "tests/capture/data/pkt/shared-pcaps.txt");
    size_t elen = 0;
    char *exp = ts_read_file(epath, &elen);
    const char *upd = getenv("CALLSCOPE_UPDATE_EXPECTED");
    if (upd && *upd == '1') {
        /* keep the "# tshark" lines of the old file, in front */
        char *merged = malloc(elen + k + 1);
        size_t m = 0;
        assert_non_null(merged);
        for (size_t i = 0; exp && i < elen;) {
            size_t e = i;
            while (e < elen && exp[e] != '\n')
                e++;
            if (e < elen)
                e++;
            if (e - i >= 8 && memcmp(exp + i, "# tshark", 8) == 0) {
                memcpy(merged + m, exp + i, e - i);
                m += e - i;
            }
            i = e;
        }
        memcpy(merged + m, text, k);
        assert_int_equal(ts_write_file(epath, merged, m + k), 0);
        free(merged);
        free(exp);
        exp = ts_read_file(epath, &elen);
    }
    if (!exp)
        fail_msg("cannot read %s", epath);
    /* the expectation may carry extra comment lines (tshark cross-checks):
     * compare only its lines not starting with "# tshark" */
    size_t w = 0;
    for (size_t i = 0; i < elen;) {
        size_t e = i;
        while (e < elen && exp[e] != '\n')
            e++;
        if (e < elen)
            e++;
        if (!(e - i >= 8 && memcmp(exp + i, "# tshark", 8) == 0)) {
            memmove(exp + w, exp + i, e - i);
            w += e - i;
        }
        i = e;
    }
    if (w != k || memcmp(exp, text, k) != 0) {
        size_t line = 1, i = 0;
        while (i < k && i < w && exp[i] == text[i])
            line += text[i++] == '\n';
        fprintf(stderr, "%s", text);
        fail_msg("counts (above) differ from %s at line %zu", epath, line);
    }
    free(exp);
    free(text);
}

int main(void)
{
    if (!ts_shared_path(g_dir, sizeof(g_dir), "pcaps")) {
        fprintf(stderr, "test_pkt_shared: %s not found: skipped (the shared captures are "
                        "optional)\n", g_dir);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_pcaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
