/*
 * test_sip_shared.c — the SIP parser over every SIP message in the real
 * captures of ../shared/data/pcaps (written by others: Wireshark samples,
 * heplify, sngrep, SIPp, pkts, nDPI, voipshark).
 *
 * Each capture is read with libpcap; frames are decoded with pkt_decode()
 * (capture/pkt.h). A UDP payload, or each message cut from a TCP segment
 * (header block + Content-Length; several per segment allowed), that
 * sip_looks_like() accepts is handed to sip_parse(). Per file the test
 * counts messages, distinct Call-IDs, requests per method and responses per
 * status, and compares them with what tshark saw, as written in
 * ../shared/data/README.md (parsed at run time, so the figures are
 * tshark's, not ours). Every message found must parse.
 *
 * Files where a message is not in one UDP datagram or one TCP segment need
 * the IP reassembler (ipfrag.h) or TCP reassembly (tcpreasm.h), which are
 * other modules, or are transports capture does not decode (SCTP,
 * WebSocket): they are listed with the reason in
 * tests/capture/data/sip/shared-exceptions.txt, and for them the test checks
 * only that every message found parses and that no count exceeds tshark's.
 * A listed file that turns out to match exactly fails the test (the list
 * must stay honest).
 *
 * Skips (exit 77) when ../shared/data is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "error.h"
#include "pkt.h"
#include "sdp.h"
#include "sip.h"
#include "testsupport.h"

#define MAX_KEYS 64
#define MAX_CALLIDS 256

typedef struct counts {
    int msgs;
    int ncallid;
    char *callid[MAX_CALLIDS];
    int nreq;
    char req_name[MAX_KEYS][24];
    int req_n[MAX_KEYS];
    int nresp;
    int resp_code[MAX_KEYS];
    int resp_n[MAX_KEYS];
    int parse_errors;
    int sdps; /* SDP bodies parsed */
} counts;

static void add_req(counts *c, const char *name, size_t len, int n)
{
    char key[24];
    snprintf(key, sizeof key, "%.*s", (int)(len < 23 ? len : 23), name);
    for (int i = 0; i < c->nreq; i++)
        if (strcmp(c->req_name[i], key) == 0) {
            c->req_n[i] += n;
            return;
        }
    assert_true(c->nreq < MAX_KEYS);
    strcpy(c->req_name[c->nreq], key);
    c->req_n[c->nreq++] = n;
}

static void add_resp(counts *c, int code, int n)
{
    for (int i = 0; i < c->nresp; i++)
        if (c->resp_code[i] == code) {
            c->resp_n[i] += n;
            return;
        }
    assert_true(c->nresp < MAX_KEYS);
    c->resp_code[c->nresp] = code;
    c->resp_n[c->nresp++] = n;
}

static void add_callid(counts *c, cs_str id)
{
    for (int i = 0; i < c->ncallid; i++)
        if (strlen(c->callid[i]) == id.len && memcmp(c->callid[i], id.p, id.len) == 0)
            return;
    assert_true(c->ncallid < MAX_CALLIDS);
    c->callid[c->ncallid] = strndup(id.p, id.len);
    c->ncallid++;
}

static void free_counts(counts *c)
{
    for (int i = 0; i < c->ncallid; i++)
        free(c->callid[i]);
}

/* Formats "msgs=7 callids=1 req ACK=1 BYE=1 resp 100=1 200=2" with the keys
 * sorted, so two counts compare as strings. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void summary(const counts *c, char *out, size_t cap)
{
    char items[MAX_KEYS][40];
    size_t o = (size_t)snprintf(out, cap, "msgs=%d callids=%d req", c->msgs, c->ncallid);
    for (int i = 0; i < c->nreq; i++)
        snprintf(items[i], sizeof items[i], "%s=%d", c->req_name[i], c->req_n[i]);
    qsort(items, (size_t)c->nreq, sizeof items[0], cmp_str);
    for (int i = 0; i < c->nreq && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, " %s", items[i]);
    if (o < cap)
        o += (size_t)snprintf(out + o, cap - o, " resp");
    for (int i = 0; i < c->nresp; i++)
        snprintf(items[i], sizeof items[i], "%03d=%d", c->resp_code[i], c->resp_n[i]);
    qsort(items, (size_t)c->nresp, sizeof items[0], cmp_str);
    for (int i = 0; i < c->nresp && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, " %s", items[i]);
}

/* ------------------------------------------------- README (tshark) figures */

/* From the README row of file: "SIP 7 msgs/1 Call-IDs; ...; req ACK=1 BYE=1;
 * resp 100=1 200=2; ...". Returns 1 if the row has SIP figures. */
static int tshark_counts(const char *readme, const char *file, counts *c)
{
    char pat[512];
    snprintf(pat, sizeof pat, "| `%s` |", file);
    const char *row = strstr(readme, pat);
    if (!row)
        return 0;
    const char *eol = strchr(row, '\n');
    size_t rl = eol ? (size_t)(eol - row) : strlen(row);
    char *r = strndup(row, rl);
    memset(c, 0, sizeof *c);
    const char *s = strstr(r, "; SIP ");
    if (!s) {
        s = strstr(r, "| SIP ");
    }
    int ok = 0;
    if (s && sscanf(s + 6, "%d msgs/%d Call-IDs", &c->msgs, &c->ncallid) == 2) {
        ok = 1;
        const char *q = strstr(r, "; req ");
        if (q) {
            q += 6;
            char name[32];
            int n, used;
            while (sscanf(q, "%31[A-Z]=%d%n", name, &n, &used) == 2) {
                add_req(c, name, strlen(name), n);
                q += used;
                while (*q == ' ')
                    q++;
            }
        }
        q = strstr(r, "; resp ");
        if (q) {
            q += 7;
            int code, n, used;
            while (sscanf(q, "%d=%d%n", &code, &n, &used) == 2) {
                add_resp(c, code, n);
                q += used;
                while (*q == ' ')
                    q++;
            }
        }
    }
    free(r);
    return ok;
}

/* --------------------------------------------------------------- walk */

static sip_msg *g_msg;

static void count_one(counts *c, const uint8_t *p, size_t len, const char *file, long frame)
{
    int rc = sip_parse(p, len, g_msg);
    if (rc != CS_OK) {
        c->parse_errors++;
        fprintf(stderr, "%s frame %ld: sip_parse %s (%zu bytes)\n", file, frame, cs_err_name(rc),
                len);
        return;
    }
    c->msgs++;
    add_callid(c, g_msg->call_id);
    /* The SDP of every offer/answer must parse too. */
    if (g_msg->body.len && cs_str_ieq_c(g_msg->content_type, "application/sdp")) {
        sdp s;
        int src = sdp_parse((const uint8_t *)g_msg->body.p, g_msg->body.len, &s);
        c->sdps++;
        if (src != CS_OK) {
            c->parse_errors++;
            fprintf(stderr, "%s frame %ld: sdp_parse %s\n", file, frame, cs_err_name(src));
        }
    }
    if (g_msg->is_request)
        add_req(c, g_msg->method_str.p, g_msg->method_str.len, 1);
    else
        add_resp(c, g_msg->status, 1);
}

static const uint8_t *find_hdr_end(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return p + i + 4;
    return NULL;
}

/* One UDP datagram is one message; a TCP segment may hold several whole
 * messages (cut by header end + Content-Length) — a partial one is left
 * alone (needs tcpreasm). */
static void count_payload(counts *c, const pkt_info *pi, const char *file, long frame)
{
    const uint8_t *p = pi->payload;
    size_t len = pi->payload_len;
    if (pi->proto == PKT_PROTO_UDP) {
        if (sip_looks_like(p, len))
            count_one(c, p, len, file, frame);
        return;
    }
    while (len && sip_looks_like(p, len)) {
        const uint8_t *he = find_hdr_end(p, len);
        if (!he)
            return;
        size_t hl = (size_t)(he - p);
        /* Content-Length from a parse of the header block alone (absent = 0
         * on a stream); a truncated body means the message spans segments. */
        int rc = sip_parse(p, hl, g_msg);
        size_t total = hl;
        if (rc == CS_ERR_TRUNCATED || (rc == CS_OK && g_msg->content_length > 0)) {
            int rc2 = sip_parse(p, len, g_msg);
            if (rc2 == CS_ERR_TRUNCATED)
                return;
            if (rc2 == CS_OK && g_msg->content_length > 0)
                total = hl + (size_t)g_msg->content_length;
        }
        count_one(c, p, total, file, frame);
        p += total;
        len -= total;
        while (len >= 2 && p[0] == '\r' && p[1] == '\n') {
            p += 2;
            len -= 2;
        }
    }
}

static int read_pcap(const char *path, const char *file, counts *c)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc) {
        fprintf(stderr, "%s: %s\n", file, err);
        return -1;
    }
    int lt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    long frame = 0;
    int r;
    while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
        frame++;
        pkt_info pi;
        memset(&pi, 0, sizeof pi);
        if (pkt_decode(lt, data, h->caplen, &pi) != PKT_OK)
            continue;
        if (pi.proto != PKT_PROTO_UDP && pi.proto != PKT_PROTO_TCP)
            continue;
        if (pi.payload_len)
            count_payload(c, &pi, file, frame);
    }
    pcap_close(pc);
    return 0;
}

/* ------------------------------------------------------------ the test */

static void test_shared_pcaps(void **state)
{
    (void)state;
    char readme_path[4096], pcaps[4096], exc_path[4096];
    if (!ts_shared_path(readme_path, sizeof readme_path, "README.md") ||
        !ts_shared_path(pcaps, sizeof pcaps, "pcaps")) {
        printf("SKIP: ../shared/data (README.md, pcaps/) is absent\n");
        exit(77);
    }
    size_t rlen, elen;
    char *readme = ts_read_file(readme_path, &rlen);
    assert_non_null(readme);
    ts_source_path(exc_path, sizeof exc_path, "tests/capture/data/sip/shared-exceptions.txt");
    char *exc = ts_read_file(exc_path, &elen);
    assert_non_null(exc);
    g_msg = malloc(sizeof *g_msg);
    assert_non_null(g_msg);

    int files = 0, exact = 0, excepted = 0, failures = 0, total_msgs = 0, total_sdp = 0;
    const char *row = readme;
    while ((row = strstr(row, "\n| `")) != NULL) {
        row += 4;
        const char *end = strchr(row, '`');
        if (!end || end - row > 200)
            continue;
        char file[256];
        snprintf(file, sizeof file, "%.*s", (int)(end - row), row);
        counts want;
        if (!tshark_counts(readme, file, &want))
            continue; /* no SIP in this capture per tshark */
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", pcaps, file);
        counts got;
        memset(&got, 0, sizeof got);
        assert_int_equal(read_pcap(path, file, &got), 0);
        files++;
        total_msgs += got.msgs;
        total_sdp += got.sdps;
        char sw[1024], sg[1024];
        summary(&want, sw, sizeof sw);
        summary(&got, sg, sizeof sg);
        char key[300];
        snprintf(key, sizeof key, "\n%s\t", file);
        int is_exc = strstr(exc, key) != NULL;
        int same = strcmp(sw, sg) == 0;
        printf("%-72s %s\n  tshark: %s\n  ours:   %s%s\n", file,
               same ? "EQUAL" : is_exc ? "EXCEPTION" : "DIFFERENT", sw, sg,
               got.parse_errors ? "  (parse errors!)" : "");
        if (got.parse_errors)
            failures++;
        if (same) {
            exact++;
            if (is_exc) {
                fprintf(stderr, "%s is listed in shared-exceptions.txt but matches tshark\n", file);
                failures++;
            }
        } else if (is_exc) {
            excepted++;
            /* never more than tshark saw */
            if (got.msgs > want.msgs || got.ncallid > want.ncallid)
                failures++;
        } else {
            failures++;
        }
        free_counts(&want);
        free_counts(&got);
    }
    printf("shared pcaps with SIP: %d files, %d equal to tshark, %d listed exceptions, "
           "%d SIP messages and %d SDP bodies parsed, %d failures\n",
           files, exact, excepted, total_msgs, total_sdp, failures);
    free(g_msg);
    free(readme);
    free(exc);
    assert_true(files >= 20);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_pcaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
