/*
 * test_engine_util.c — see test_engine_util.h.
 */
#include "test_engine_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "spool.h"
#include "testsupport.h"

int te_setup(te_run *r, const char *tag)
{
    memset(r, 0, sizeof *r);
    if (ts_mkdtemp(r->dir, sizeof r->dir, tag) != 0)
        return -1;
    snprintf(r->spool, sizeof r->spool, "%s/spool", r->dir);
    return 0;
}

capture_engine *te_begin(te_run *r, const ce_config *cfg, spool **sp_out)
{
    spool *sp = NULL;
    if (spool_open(r->spool, 0, &sp) != CS_OK)
        return NULL;
    char err[256] = "";
    capture_engine *ce = ce_new(cfg, sp, err, sizeof err);
    if (!ce) {
        fprintf(stderr, "ce_new: %s\n", err);
        spool_close(sp);
        return NULL;
    }
    *sp_out = sp;
    return ce;
}

/* Feeds the pcap; hinted: through ce_frame_hinted (te_feed_pcap_hinted says how). */
static int feed_pcap(capture_engine *ce, const char *path, te_filter_fn fn, void *arg, int hinted)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!p) {
        fprintf(stderr, "pcap_open_offline %s: %s\n", path, errbuf);
        return -2;
    }
    int lt = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *d;
    size_t idx = 0;
    int errors = 0;
    ce_ahead prev, own;
    memset(&prev, 0, sizeof prev);
    while (pcap_next_ex(p, &h, &d) == 1) {
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        size_t i = idx++;
        if (fn && !fn(arg, i, d, h->caplen, &ts))
            continue;
        int rc;
        if (hinted) {
            /* the frame's own entry, the previous frame's (another key, or the
             * same key of the same stream), none: in turn */
            ce_ahead_begin(ce, lt, d, h->caplen, &own);
            const ce_ahead *hint = i % 3 == 0 ? &own : i % 3 == 1 ? &prev : NULL;
            rc = ce_frame_hinted(ce, lt, ts, d, h->caplen, h->len, hint);
            prev = own;
        } else {
            rc = ce_frame(ce, lt, ts, d, h->caplen, h->len);
        }
        if (rc != CS_OK)
            errors++;
    }
    pcap_close(p);
    return errors;
}

int te_feed_pcap(capture_engine *ce, const char *path, te_filter_fn fn, void *arg)
{
    return feed_pcap(ce, path, fn, arg, 0);
}

int te_feed_pcap_hinted(capture_engine *ce, const char *path)
{
    return feed_pcap(ce, path, NULL, NULL, 1);
}

int te_feed_frame(capture_engine *ce, uint64_t ts, const uint8_t *data, size_t len)
{
    return ce_frame(ce, 1 /* DLT_EN10MB */, ts, data, len, len);
}

void te_end(te_run *r, capture_engine *ce, spool *sp)
{
    ce_get_counters(ce, &r->cnt);
    r->finish_rc = ce_finish(ce);
    capture_counters dummy;
    (void)dummy;
    spool_close(sp);
}

void te_cleanup(te_run *r)
{
    if (r->dir[0] && !getenv("TE_KEEP"))
        ts_rmrf(r->dir);
    else if (r->dir[0])
        fprintf(stderr, "kept %s\n", r->dir);
}

int te_run_pcap(te_run *r, const char *tag, const ce_config *cfg, const char *pcap,
                te_filter_fn fn, void *arg)
{
    if (te_setup(r, tag) != 0)
        return -1;
    spool *sp;
    capture_engine *ce = te_begin(r, cfg, &sp);
    if (!ce)
        return -1;
    int e = te_feed_pcap(ce, pcap, fn, arg);
    if (e < 0) {
        te_end(r, ce, sp);
        return e;
    }
    r->frame_errors = e;
    te_end(r, ce, sp);
    return 0;
}

int te_have_jq(void)
{
    return system("jq --version >/dev/null 2>&1") == 0;
}

char *te_jq(const te_run *r, const char *filter)
{
    return te_jq_args(r, "", filter);
}

char *te_jq_args(const te_run *r, const char *args, const char *filter)
{
    char *cmd = NULL;
    size_t cap = strlen(filter) * 4 + strlen(r->spool) + strlen(args) + 256;
    cmd = malloc(cap);
    if (!cmd)
        return NULL;
    /* single-quote the filter for the shell */
    size_t o = 0;
    o += (size_t)snprintf(cmd + o, cap - o, "cat %s/ready/*/call.json 2>/dev/null | jq -r -s %s '(sort_by(.invite_us)) as $calls | $calls | ", r->spool, args);
    for (const char *f = filter; *f; f++) {
        if (*f == '\'') {
            memcpy(cmd + o, "'\\''", 4);
            o += 4;
        } else {
            cmd[o++] = *f;
        }
    }
    o += (size_t)snprintf(cmd + o, cap - o, "'");
    cmd[o] = '\0';
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p)
        return NULL;
    size_t len = 0, bcap = 4096;
    char *buf = malloc(bcap);
    if (!buf) {
        pclose(p);
        return NULL;
    }
    size_t n;
    while ((n = fread(buf + len, 1, bcap - len - 1, p)) > 0) {
        len += n;
        if (bcap - len < 2) {
            char *nb = realloc(buf, bcap * 2);
            if (!nb)
                break;
            buf = nb;
            bcap *= 2;
        }
    }
    int st = pclose(p);
    buf[len] = '\0';
    while (len && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (st != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

long long te_jq_int(const te_run *r, const char *filter)
{
    char *s = te_jq(r, filter);
    if (!s)
        return -1;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end)
        v = -1;
    free(s);
    return v;
}

size_t te_ready_count(const te_run *r)
{
    char path[400];
    snprintf(path, sizeof path, "%s/ready", r->spool);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

size_t te_udp_frame(uint8_t *buf, size_t cap, const char *src, uint16_t sport, const char *dst,
                    uint16_t dport, const void *payload, size_t len)
{
    size_t total = 14 + 20 + 8 + len;
    if (total > cap || 20 + 8 + len > 65535)
        return 0;
    memset(buf, 0, 42);
    memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
    uint8_t *ip = buf + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + 8 + len) >> 8);
    ip[3] = (uint8_t)(20 + 8 + len);
    ip[6] = 0x40; /* DF */
    ip[8] = 64;
    ip[9] = 17;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    uint16_t cs = ip_csum(ip, 20);
    ip[10] = (uint8_t)(cs >> 8);
    ip[11] = (uint8_t)cs;
    uint8_t *udp = ip + 20;
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = (uint8_t)(dport >> 8);
    udp[3] = (uint8_t)dport;
    udp[4] = (uint8_t)((8 + len) >> 8);
    udp[5] = (uint8_t)(8 + len);
    memcpy(udp + 8, payload, len);
    return total;
}

long te_pcap_frames(const char *path, int *linktype)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, errbuf);
    if (!p)
        return -1;
    if (linktype)
        *linktype = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *d;
    long n = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1)
        n++;
    pcap_close(p);
    return rc == PCAP_ERROR ? -1 : n;
}
