/*
 * test_rtp_shared.c — rtp.c against real captures written by others
 * (../shared/data/pcaps, read in place; the test exits 77 when the folder is
 * absent).
 *
 * The figures asserted are the ones tshark reads from the same files
 * (../shared/data/README.md, `tshark -z rtp,streams`):
 *  - sipp_dtmf_2833_*.pcap: one RFC 2833 digit each, named in the file
 *    name; 10 packets, the last three are the end packet sent three times
 *    with the same sequence number (2 duplicates for the statistics);
 *  - wireshark-wiki_20090210193505_87885074.cap (Sun snoop format, read by
 *    a small reader here since libpcap does not read snoop): digits
 *    "0957173121201179107839439" on both sides of an SBC, and 7 streams
 *    without loss with tshark's packet counts per flow;
 *  - sipp_g711a.pcap, pkts_sip_rtp.pcap, the AS400 capture: packet counts,
 *    no loss, and tshark's maximum jitter;
 *  - nDPI_rtcp_multiple_pkts_in_the_same_datagram.pcap: five compound RTCP
 *    datagrams (SR or RR + SDES) with tshark's sender packet counts.
 *
 * Packets are walked with a minimal Ethernet/802.1Q/SLL/IPv4/UDP decoder of
 * its own (IPv6 and fragments are not needed by these files), so the test
 * depends on nothing but rtp.c and libpcap. A telephone-event packet is
 * recognised without SDP: a dynamic payload type (96..127) whose payload is
 * one 4-byte event block with an event code <= 16.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rtp.h"
#include "testsupport.h"

#define MAX_FLOWS 32

typedef struct flow {
    uint8_t key[12]; /* src ip, dst ip, sport, dport */
    rtp_stream_stats st;
    rtp_dtmf dtmf;
    char digits[64];
    size_t ndigits;
    uint64_t events;
} flow;

typedef struct scan {
    flow f[MAX_FLOWS];
    int nflows;
    /* RTCP datagrams seen (by rtcp_looks_like), with their parse results */
    int nrtcp;
    rtcp_info rtcp[8];
    int rtcp_rc[8];
    int rtcp_as_rtp_rc[8];
} scan;

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static flow *flow_get(scan *s, const uint8_t *key)
{
    for (int i = 0; i < s->nflows; i++)
        if (memcmp(s->f[i].key, key, 12) == 0)
            return &s->f[i];
    assert_true(s->nflows < MAX_FLOWS);
    flow *f = &s->f[s->nflows++];
    memset(f, 0, sizeof *f);
    memcpy(f->key, key, 12);
    rtp_stats_init(&f->st);
    rtp_dtmf_init(&f->dtmf);
    return f;
}

static int is_event(const rtp_hdr *h)
{
    return h->pt >= 96 && h->payload_len == 4 && h->payload[0] <= 16;
}

static void add_digit(flow *f, const rtp_dtmf_digit *d)
{
    if (f->ndigits + 1 < sizeof f->digits)
        f->digits[f->ndigits++] = d->digit;
}

/* One UDP payload: RTCP by rtcp_looks_like, else RTP into the flow. */
static void on_udp(scan *s, const uint8_t *key, const uint8_t *p, size_t n, uint64_t us)
{
    if (rtcp_looks_like(p, n)) {
        if (s->nrtcp < 8) {
            s->rtcp_rc[s->nrtcp] = rtcp_parse(p, n, &s->rtcp[s->nrtcp]);
            rtp_hdr h;
            s->rtcp_as_rtp_rc[s->nrtcp] = rtp_parse(p, n, &h);
        }
        s->nrtcp++;
        return;
    }
    rtp_hdr h;
    if (rtp_parse(p, n, &h) != CS_OK)
        return;
    flow *f = flow_get(s, key);
    int ev = is_event(&h);
    rtp_stats_update(&f->st, &h, us, 8000, !ev);
    if (ev) {
        rtp_dtmf_digit d;
        f->events++;
        if (rtp_dtmf_update(&f->dtmf, &h, us, 8000, &d))
            add_digit(f, &d);
    }
}

/* Ethernet (with VLAN tags), Linux cooked v1/v2 -> IPv4 -> UDP. */
static void on_frame(scan *s, int linktype, const uint8_t *p, size_t n, uint64_t us)
{
    size_t off;
    uint16_t et;
    if (linktype == DLT_EN10MB) {
        if (n < 14)
            return;
        et = be16(p + 12);
        off = 14;
        while ((et == 0x8100 || et == 0x88a8) && n >= off + 4) {
            et = be16(p + off + 2);
            off += 4;
        }
    } else if (linktype == DLT_LINUX_SLL) {
        if (n < 16)
            return;
        et = be16(p + 14);
        off = 16;
    } else if (linktype == DLT_LINUX_SLL2) {
        if (n < 20)
            return;
        et = be16(p);
        off = 20;
    } else {
        return;
    }
    if (et != 0x0800 || n < off + 20 || (p[off] >> 4) != 4)
        return;
    size_t ihl = (size_t)(p[off] & 0x0f) * 4;
    size_t tot = be16(p + off + 2);
    if (ihl < 20 || tot < ihl || n < off + tot || p[off + 9] != 17)
        return;
    if (be16(p + off + 6) & 0x3fff)
        return; /* fragment */
    const uint8_t *ip = p + off;
    const uint8_t *udp = ip + ihl;
    if (tot - ihl < 8)
        return;
    size_t ulen = be16(udp + 4);
    if (ulen < 8 || ulen > tot - ihl)
        return;
    uint8_t key[12];
    memcpy(key, ip + 12, 8);
    memcpy(key + 8, udp, 4);
    on_udp(s, key, udp + 8, ulen - 8, us);
}

static void flush_all(scan *s)
{
    for (int i = 0; i < s->nflows; i++) {
        rtp_dtmf_digit d;
        if (rtp_dtmf_flush(&s->f[i].dtmf, 8000, &d))
            add_digit(&s->f[i], &d);
    }
}

static int read_pcap(const char *path, scan *s)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc) {
        fail_msg("%s: %s", path, err);
        return -1;
    }
    int lt = pcap_datalink(pc);
    struct pcap_pkthdr *ph;
    const u_char *data;
    int r;
    while ((r = pcap_next_ex(pc, &ph, &data)) == 1) {
        /* exactly caplen bytes on the heap: ASan sees any over-read */
        uint8_t *copy = malloc(ph->caplen ? ph->caplen : 1);
        assert_non_null(copy);
        memcpy(copy, data, ph->caplen);
        on_frame(s, lt, copy, ph->caplen,
                 (uint64_t)ph->ts.tv_sec * 1000000u + (uint64_t)ph->ts.tv_usec);
        free(copy);
    }
    pcap_close(pc);
    flush_all(s);
    return 0;
}

/*
 * Sun snoop (RFC 1761): "snoop\0\0\0", version (4), datalink (4); then
 * records: original length, included length, record length, cumulative
 * drops, seconds, microseconds (4 bytes each, big-endian), data padded to
 * the record length.
 */
static int read_snoop(const char *path, scan *s)
{
    size_t len = 0;
    uint8_t *b = (uint8_t *)ts_read_file(path, &len);
    assert_non_null(b);
    assert_true(len >= 16);
    assert_memory_equal(b, "snoop\0\0\0", 8);
    assert_int_equal(be32(b + 12), 4); /* snoop datalink 4: Ethernet */
    size_t off = 16;
    int frames = 0;
    while (len - off >= 24) {
        uint32_t incl = be32(b + off + 4), rec = be32(b + off + 8);
        if (rec < 24 || rec > len - off || incl > rec - 24)
            break;
        uint64_t us = (uint64_t)be32(b + off + 16) * 1000000u + be32(b + off + 20);
        uint8_t *copy = malloc(incl ? incl : 1);
        assert_non_null(copy);
        memcpy(copy, b + off + 24, incl);
        on_frame(s, DLT_EN10MB, copy, incl, us);
        free(copy);
        frames++;
        off += rec;
    }
    free(b);
    flush_all(s);
    return frames;
}

static int shared(char *buf, size_t cap, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "pcaps/%s", name);
    return ts_shared_path(buf, cap, rel);
}

static void test_sipp_dtmf(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        char digit;
    } files[] = {
        {"sipp_dtmf_2833_0.pcap", '0'},     {"sipp_dtmf_2833_1.pcap", '1'},
        {"sipp_dtmf_2833_2.pcap", '2'},     {"sipp_dtmf_2833_3.pcap", '3'},
        {"sipp_dtmf_2833_4.pcap", '4'},     {"sipp_dtmf_2833_5.pcap", '5'},
        {"sipp_dtmf_2833_6.pcap", '6'},     {"sipp_dtmf_2833_7.pcap", '7'},
        {"sipp_dtmf_2833_8.pcap", '8'},     {"sipp_dtmf_2833_9.pcap", '9'},
        {"sipp_dtmf_2833_pound.pcap", '#'}, {"sipp_dtmf_2833_star.pcap", '*'},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[4096];
        assert_true(shared(path, sizeof path, files[i].file));
        static scan s;
        memset(&s, 0, sizeof s);
        read_pcap(path, &s);
        assert_int_equal(s.nflows, 1);
        flow *f = &s.f[0];
        char want[2] = {files[i].digit, 0};
        if (strcmp(f->digits, want) != 0)
            fail_msg("%s: digits \"%s\", want \"%s\"", files[i].file, f->digits, want);
        assert_int_equal(f->events, 10);
        assert_int_equal(f->st.packets, 10);
        assert_int_equal(f->st.duplicates, 2);
        assert_int_equal(f->st.expected, 8);
        assert_int_equal(f->st.lost, 0);
    }
}

static void test_wiki_snoop(void **state)
{
    (void)state;
    char path[4096];
    assert_true(shared(path, sizeof path, "wireshark-wiki_20090210193505_87885074.cap"));
    static scan s;
    memset(&s, 0, sizeof s);
    assert_int_equal(read_snoop(path, &s), 10980);
    int with_digits = 0;
    uint64_t total = 0;
    for (int i = 0; i < s.nflows; i++) {
        flow *f = &s.f[i];
        total += f->st.packets;
        assert_int_equal(f->st.lost, 0);
        assert_int_equal(f->st.duplicates, 0);
        if (f->ndigits) {
            with_digits++;
            assert_string_equal(f->digits, "0957173121201179107839439");
        }
    }
    assert_int_equal(with_digits, 2);
    /* tshark: 7 RTP streams, 1934+648+648+489+489+2392+4326 packets; the
     * two SSRCs of 66.33.131.137:20172 towards two peers are two flows. */
    assert_int_equal(total, 1934 + 648 + 648 + 489 + 489 + 2392 + 4326);
    assert_int_equal(s.nrtcp, 12);
}

typedef struct stream_case {
    const char *file;
    uint64_t packets;
    double max_jitter_ms; /* tshark's "Max Jitter(ms)", printed to 3 decimals */
} stream_case;

static void test_streams(void **state)
{
    (void)state;
    static const stream_case cases[] = {
        {"sipp_g711a.pcap", 236, 0.829},
        {"pkts_sip_rtp.pcap", 501, 8.162},
        {"wireshark-wiki_RTP-Between-AS400-SBC--for-SIP-CallAgent-10.99.249.68.pcap", 11877, 0.910},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[4096];
        assert_true(shared(path, sizeof path, cases[i].file));
        static scan s;
        memset(&s, 0, sizeof s);
        read_pcap(path, &s);
        flow *big = NULL;
        for (int j = 0; j < s.nflows; j++)
            if (!big || s.f[j].st.packets > big->st.packets)
                big = &s.f[j];
        assert_non_null(big);
        printf("%s: packets %llu lost %llu max jitter %.3f ms (tshark %.3f)\n", cases[i].file,
               (unsigned long long)big->st.packets, (unsigned long long)big->st.lost,
               big->st.max_jitter_ms, cases[i].max_jitter_ms);
        assert_int_equal(big->st.packets, cases[i].packets);
        assert_int_equal(big->st.expected, cases[i].packets);
        assert_int_equal(big->st.lost, 0);
        assert_int_equal(big->st.ssrc_changes, 0);
        if (fabs(big->st.max_jitter_ms - cases[i].max_jitter_ms) > 0.001)
            fail_msg("%s: max jitter %.3f ms, tshark %.3f", cases[i].file, big->st.max_jitter_ms,
                     cases[i].max_jitter_ms);
    }
}

static void test_ndpi_rtcp(void **state)
{
    (void)state;
    char path[4096];
    assert_true(shared(path, sizeof path, "nDPI_rtcp_multiple_pkts_in_the_same_datagram.pcap"));
    static scan s;
    memset(&s, 0, sizeof s);
    read_pcap(path, &s);
    assert_int_equal(s.nrtcp, 5);
    static const struct {
        int has_sr;
        uint32_t ssrc, sender_packets;
    } want[5] = {
        {1, 0x5d931534, 200}, {0, 0x01932db4, 0},   {1, 0x5d931534, 401},
        {0, 0x01932db4, 0},   {1, 0x5d931534, 602},
    };
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s.rtcp_rc[i], CS_OK);
        assert_int_equal(s.rtcp_as_rtp_rc[i], CS_ERR_MALFORMED);
        assert_int_equal(s.rtcp[i].npackets, 2);
        assert_int_equal(s.rtcp[i].has_sr, want[i].has_sr);
        assert_int_equal(s.rtcp[i].ssrc, want[i].ssrc);
        assert_int_equal(s.rtcp[i].sender_packets, want[i].sender_packets);
        assert_int_equal(s.rtcp[i].nrb, 1);
        assert_int_equal(s.rtcp[i].rb[0].cumulative_lost, 1);
    }
}

int main(void)
{
    char probe[4096];
    if (!ts_shared_path(probe, sizeof probe, "pcaps/sipp_dtmf_2833_0.pcap")) {
        fprintf(stderr, "test_rtp_shared: ../shared/data/pcaps not found "
                        "(CALLSCOPE_SHARED_DATA); skipping\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sipp_dtmf),
        cmocka_unit_test(test_wiki_snoop),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_ndpi_rtcp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
