/*
 * test_sip.c — tests of the SIP parser (capture/sip.c).
 *
 * 1. Expected output, in the manner of curl's unit tests: every message
 *    tests/capture/data/sip/NAME.sip is parsed and printed by sip_dump()
 *    below; the text must equal NAME.expected byte for byte. Messages come
 *    from callgen's sample capture (callgen-*), vendor flavours written by
 *    hand (asterisk, freeswitch, cisco, polycom, kamailio), and the odd
 *    shapes (compact forms, folding, multipart, IPv6, bare LF, lower-case
 *    version, missing reason phrase, trailing whitespace, errors). With
 *    CALLSCOPE_UPDATE_EXPECTED=1 the .expected files are rewritten instead
 *    (for authoring; review the diff).
 * 2. Table-driven errors with exact codes, and boundaries at len-1 / len /
 *    len+1: every prefix of a message, Content-Length one more than present,
 *    the message, header-count and value-length caps.
 * 3. Accessors (list, param, URI user, Q.850, header look-up, looks_like).
 * 4. A tiny benchmark (parses/s of a typical INVITE with SDP), printed only.
 * Every input is copied into an exactly sized heap buffer so that an
 * over-read shows under ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "error.h"
#include "sip.h"
#include "testsupport.h"

/* ------------------------------------------------------------- dump */

/* A slice printed with non-printable bytes escaped, and <null> when absent. */
static void tb_str(ts_buf *b, const char *label, cs_str s)
{
    ts_buf_printf(b, "%s: ", label);
    if (!s.p) {
        ts_buf_printf(b, "<null>\n");
        return;
    }
    ts_buf_printf(b, "\"");
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\')
            ts_buf_printf(b, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            ts_buf_printf(b, "%c", c);
        else
            ts_buf_printf(b, "\\x%02x", c);
    }
    ts_buf_printf(b, "\"\n");
}

static void sip_dump(ts_buf *b, int rc, const sip_msg *m)
{
    ts_buf_printf(b, "result: %s\n", cs_err_name(rc));
    if (rc != CS_OK)
        return;
    if (m->is_request) {
        ts_buf_printf(b, "request: %s\n", sip_method_name(m->method));
        tb_str(b, "method", m->method_str);
        tb_str(b, "request-uri", m->request_uri);
        tb_str(b, "ruri-user", m->ruri_user);
    } else {
        ts_buf_printf(b, "response: %d\n", m->status);
        tb_str(b, "reason", m->reason);
    }
    tb_str(b, "call-id", m->call_id);
    tb_str(b, "from", m->from);
    tb_str(b, "from-tag", m->from_tag);
    tb_str(b, "from-user", m->from_user);
    tb_str(b, "to", m->to);
    tb_str(b, "to-tag", m->to_tag);
    tb_str(b, "to-user", m->to_user);
    ts_buf_printf(b, "cseq: %u %s\n", m->cseq, sip_method_name(m->cseq_method));
    tb_str(b, "via-branch", m->via_branch);
    tb_str(b, "contact", m->contact);
    cs_str cu;
    tb_str(b, "contact-user", sip_uri_user(m->contact, &cu) == 0 ? cu : CS_STR_NULL);
    tb_str(b, "content-type", m->content_type);
    ts_buf_printf(b, "content-length: %lld\n", (long long)m->content_length);
    tb_str(b, "user-agent", m->user_agent);
    tb_str(b, "reason-hdr", m->reason_hdr);
    ts_buf_printf(b, "q850: %d\n", sip_q850_cause(m->reason_hdr));
    tb_str(b, "refer-to", m->refer_to);
    ts_buf_printf(b, "quirks:%s%s%s%s%s\n", m->quirks & SIP_QUIRK_BARE_LF ? " bare-lf" : "",
              m->quirks & SIP_QUIRK_VERSION_CASE ? " version-case" : "",
              m->quirks & SIP_QUIRK_NO_REASON ? " no-reason" : "",
              m->quirks & SIP_QUIRK_FOLDED ? " folded" : "",
              m->quirks & SIP_QUIRK_MULTIPART ? " multipart" : "");
    ts_buf_printf(b, "headers: %zu\n", m->nhdr);
    for (size_t i = 0; i < m->nhdr; i++) {
        char label[48];
        snprintf(label, sizeof label, "  %.*s", (int)(m->hdr[i].name.len > 40 ? 40 : m->hdr[i].name.len),
                 m->hdr[i].name.p);
        tb_str(b, label, m->hdr[i].value);
        cs_str rest = m->hdr[i].value, item;
        size_t n = 0;
        while (sip_list_next(&rest, &item))
            n++;
        if (n > 1) {
            rest = m->hdr[i].value;
            while (sip_list_next(&rest, &item))
                tb_str(b, "    item", item);
        }
    }
    ts_buf_printf(b, "body: %zu bytes\n", m->body.len);
    if (m->body.len) {
        cs_str first = m->body;
        ptrdiff_t lf = cs_str_chr(first, '\n');
        if (lf >= 0)
            first.len = (size_t)lf;
        tb_str(b, "body-first-line", first);
    }
}

/* ------------------------------------------------------------ helpers */

static int parse_copy(const void *data, size_t len, sip_msg *m)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    int rc = sip_parse(copy, len, m);
    free(copy); /* m's slices dangle now: callers only look at rc */
    return rc;
}

static sip_msg *new_msg(void)
{
    sip_msg *m = malloc(sizeof *m);
    assert_non_null(m);
    return m;
}

/* --------------------------------------------------- expected outputs */

static void test_expected_outputs(void **state)
{
    (void)state;
    char dir[4096];
    ts_source_path(dir, sizeof dir, "tests/capture/data/sip");
    char *names[512];
    size_t n = ts_list_dir(dir, ".sip", names, 512);
    assert_true(n >= 30);
    int update = getenv("CALLSCOPE_UPDATE_EXPECTED") != NULL;
    int failures = 0;
    sip_msg *m = new_msg();
    for (size_t i = 0; i < n; i++) {
        char path[4200], exp_path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(exp_path, sizeof exp_path, "%s/%.*s.expected", dir,
                 (int)(strlen(names[i]) - 4), names[i]);
        size_t len;
        char *raw = ts_read_file(path, &len);
        assert_non_null(raw);
        uint8_t *msg = malloc(len ? len : 1);
        memcpy(msg, raw, len);
        free(raw);
        ts_buf out = {0};
        int rc = sip_parse(msg, len, m);
        sip_dump(&out, rc, m);
        if (update) {
            assert_int_equal(ts_write_file(exp_path, out.p, out.len), 0);
        } else {
            size_t elen;
            char *exp = ts_read_file(exp_path, &elen);
            if (!exp || elen != out.len || memcmp(exp, out.p, out.len) != 0) {
                failures++;
                fprintf(stderr, "MISMATCH %s\n--- got:\n%.*s--- expected (%s):\n%s\n", names[i],
                        (int)out.len, out.p, exp_path, exp ? exp : "<missing>");
            }
            free(exp);
        }
        free(out.p);
        free(msg);
        free(names[i]);
    }
    free(m);
    printf("sip expected-output files: %zu checked, %d mismatches\n", n, failures);
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------- errors */

static const struct {
    const char *name;
    const char *msg;
    int rc;
} error_cases[] = {
    {"empty", "", CS_ERR_TRUNCATED},
    {"no line end", "INVITE sip:a@b SIP/2.0", CS_ERR_TRUNCATED},
    {"start line only", "INVITE sip:a@b SIP/2.0\r\n", CS_ERR_TRUNCATED},
    {"no blank line", "SIP/2.0 200 OK\r\nCall-ID: x\r\n", CS_ERR_TRUNCATED},
    {"http", "HTTP/1.1 200 OK\r\n\r\n", CS_ERR_MALFORMED},
    {"sip/3.0", "SIP/3.0 200 OK\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\n\r\n",
     CS_ERR_MALFORMED},
    {"status 099", "SIP/2.0 099 X\r\n\r\n", CS_ERR_MALFORMED},
    {"status 700", "SIP/2.0 700 X\r\n\r\n", CS_ERR_MALFORMED},
    {"status 2000", "SIP/2.0 2000 X\r\n\r\n", CS_ERR_MALFORMED},
    {"status 2x0", "SIP/2.0 2x0 X\r\n\r\n", CS_ERR_MALFORMED},
    {"no uri", "INVITE  SIP/2.0\r\n\r\n", CS_ERR_MALFORMED},
    {"bad method", "INV@TE sip:a@b SIP/2.0\r\n\r\n", CS_ERR_MALFORMED},
    {"uri with space", "INVITE sip:a @b SIP/2.0\r\n\r\n", CS_ERR_MALFORMED},
    {"no version", "INVITE sip:a@b\r\n\r\n", CS_ERR_MALFORMED},
    {"header no colon", "BYE sip:a@b SIP/2.0\r\nCall-ID x\r\n\r\n", CS_ERR_MALFORMED},
    {"empty header name", "BYE sip:a@b SIP/2.0\r\n: x\r\n\r\n", CS_ERR_MALFORMED},
    {"space in name", "BYE sip:a@b SIP/2.0\r\nCall ID: x\r\n\r\n", CS_ERR_MALFORMED},
    {"leading continuation", "BYE sip:a@b SIP/2.0\r\n x\r\n\r\n", CS_ERR_MALFORMED},
    {"no call-id", "BYE sip:a@b SIP/2.0\r\nCSeq: 1 BYE\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\n\r\n",
     CS_ERR_MALFORMED},
    {"empty call-id",
     "BYE sip:a@b SIP/2.0\r\nCall-ID:\r\nCSeq: 1 BYE\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\n\r\n",
     CS_ERR_MALFORMED},
    {"no cseq", "BYE sip:a@b SIP/2.0\r\ni: x\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\n\r\n",
     CS_ERR_MALFORMED},
    {"no from", "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 1 BYE\r\nTo: <sip:a@b>\r\n\r\n",
     CS_ERR_MALFORMED},
    {"no to", "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 1 BYE\r\nf: <sip:a@b>\r\n\r\n",
     CS_ERR_MALFORMED},
    {"cseq no method", "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 1\r\nf: <sip:a@b>\r\nt: <sip:a@b>\r\n\r\n",
     CS_ERR_MALFORMED},
    {"cseq overflow",
     "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 4294967296 BYE\r\nf: <sip:a@b>\r\nt: <sip:a@b>\r\n\r\n",
     CS_ERR_MALFORMED},
    {"cseq max", "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 4294967295 BYE\r\nf: <sip:a@b>\r\nt: <sip:a@b>\r\n\r\n",
     CS_OK},
    {"content-length sign",
     "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 1 BYE\r\nf: <sip:a@b>\r\nt: <sip:a@b>\r\nl: -1\r\n\r\n",
     CS_ERR_MALFORMED},
    {"content-length huge",
     "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 1 BYE\r\nf: <sip:a@b>\r\nt: <sip:a@b>\r\nl: "
     "99999999999999999999999\r\n\r\n",
     CS_ERR_MALFORMED},
    {"content-length past end",
     "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 1 BYE\r\nf: <sip:a@b>\r\nt: <sip:a@b>\r\nl: 18446744073709551615\r\n\r\n",
     CS_ERR_MALFORMED},
    {"two equal content-lengths",
     "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 1 BYE\r\nf: <sip:a@b>\r\nt: <sip:a@b>\r\nl: 2\r\nContent-Length: 2\r\n\r\nab",
     CS_OK},
    {"two different content-lengths",
     "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 1 BYE\r\nf: <sip:a@b>\r\nt: <sip:a@b>\r\nl: 2\r\nContent-Length: 1\r\n\r\nab",
     CS_ERR_MALFORMED},
    {"minimal ok", "BYE sip:a@b SIP/2.0\r\ni: x\r\nCSeq: 1 BYE\r\nf: <sip:a@b>\r\nt: <sip:a@b>\r\n\r\n", CS_OK},
    {"minimal bare lf", "BYE sip:a@b SIP/2.0\ni: x\nCSeq: 1 BYE\nf: <sip:a@b>\nt: <sip:a@b>\n\n", CS_OK},
};

static void test_error_table(void **state)
{
    (void)state;
    sip_msg *m = new_msg();
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        int rc = parse_copy(error_cases[i].msg, strlen(error_cases[i].msg), m);
        if (rc != error_cases[i].rc)
            fail_msg("case '%s': got %s, want %s", error_cases[i].name, cs_err_name(rc),
                     cs_err_name(error_cases[i].rc));
    }
    assert_int_equal(sip_parse(NULL, 5, m), CS_ERR_INVAL);
    assert_int_equal(sip_parse((const uint8_t *)"x", 1, NULL), CS_ERR_INVAL);
    free(m);
}

/* --------------------------------------------------------- boundaries */

#define HDRS                                                                                       \
    "INVITE sip:bob@192.0.2.2 SIP/2.0\r\n"                                                         \
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n"                                  \
    "From: \"Alice\" <sip:alice@192.0.2.1>;tag=1928301774\r\n"                                     \
    "To: <sip:bob@192.0.2.2>\r\n"                                                                  \
    "Call-ID: a84b4c76e66710@192.0.2.1\r\n"                                                        \
    "CSeq: 314159 INVITE\r\n"                                                                      \
    "Contact: <sip:alice@192.0.2.1:5060>\r\n"                                                      \
    "Max-Forwards: 70\r\n"                                                                         \
    "User-Agent: test/1.0\r\n"                                                                     \
    "Content-Type: application/sdp\r\n"
#define SDPBODY                                                                                    \
    "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"       \
    "t=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"   \
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"

/* Builds HDRS + "Content-Length: cl" + blank line + body into buf. */
static size_t build_invite(char *buf, size_t cap, long cl, const char *body)
{
    int n = snprintf(buf, cap, HDRS "Content-Length: %ld\r\n\r\n%s", cl, body);
    assert_true(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

static void test_boundaries(void **state)
{
    (void)state;
    sip_msg *m = new_msg();
    char buf[4096];
    size_t blen = strlen(SDPBODY);
    size_t len = build_invite(buf, sizeof buf, (long)blen, SDPBODY);

    /* len: ok, body exact. */
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    assert_int_equal(sip_parse(copy, len, m), CS_OK);
    assert_int_equal(m->body.len, blen);
    assert_memory_equal(m->body.p, SDPBODY, blen);
    assert_true(m->body.p + m->body.len == (const char *)copy + len);
    free(copy);

    /* Every shorter prefix (len-1 down to 0) is truncated: cut in the start
     * line, in a header, before the blank line, or in the body. */
    for (size_t k = 0; k < len; k++) {
        int rc = parse_copy(buf, k, m);
        if (rc != CS_ERR_TRUNCATED)
            fail_msg("prefix %zu of %zu: %s", k, len, cs_err_name(rc));
    }

    /* len+1 (an extra byte after the declared body, e.g. padding): the body
     * is Content-Length bytes, the extra byte is ignored. */
    memcpy(buf + len, "X", 2);
    assert_int_equal(parse_copy(buf, len + 1, m), CS_OK);

    /* Content-Length one more than present: truncated; one less: ok. */
    len = build_invite(buf, sizeof buf, (long)blen + 1, SDPBODY);
    assert_int_equal(parse_copy(buf, len, m), CS_ERR_TRUNCATED);
    len = build_invite(buf, sizeof buf, (long)blen - 1, SDPBODY);
    copy = malloc(len);
    memcpy(copy, buf, len);
    assert_int_equal(sip_parse(copy, len, m), CS_OK);
    assert_int_equal(m->body.len, blen - 1);
    free(copy);
    /* Content-Length 0 with bytes after: body empty. */
    len = build_invite(buf, sizeof buf, 0, SDPBODY);
    assert_int_equal(parse_copy(buf, len, m), CS_OK);

    /* Headers cut exactly at the end of the header block (no body yet). */
    len = build_invite(buf, sizeof buf, (long)blen, "");
    assert_int_equal(parse_copy(buf, len, m), CS_ERR_TRUNCATED);
    assert_int_equal(parse_copy(buf, len - 2, m), CS_ERR_TRUNCATED); /* no blank line */
    free(m);
}

/* A message of exactly total bytes: headers + body of 'x' padding. */
static uint8_t *build_sized(size_t total, size_t *hdr_len)
{
    const char *h = "MESSAGE sip:a@b SIP/2.0\r\ni: big\r\nCSeq: 1 MESSAGE\r\nf: <sip:a@b>;tag=1\r\n"
                    "t: <sip:b@b>\r\n\r\n";
    size_t hl = strlen(h);
    assert_true(total >= hl);
    uint8_t *p = malloc(total);
    memcpy(p, h, hl);
    memset(p + hl, 'x', total - hl);
    *hdr_len = hl;
    return p;
}

static void test_message_cap(void **state)
{
    (void)state;
    sip_msg *m = new_msg();
    size_t hl;
    for (size_t total = CS_SIP_MAX_MSG - 1; total <= (size_t)CS_SIP_MAX_MSG + 1; total++) {
        uint8_t *p = build_sized(total, &hl);
        int rc = sip_parse(p, total, m);
        assert_int_equal(rc, total <= CS_SIP_MAX_MSG ? CS_OK : CS_ERR_LIMIT);
        if (rc == CS_OK)
            assert_int_equal(m->body.len, total - hl);
        free(p);
    }
    free(m);
}

/* nhdr header fields: the 4 mandatory ones, then "X-N: v". */
static char *build_many_headers(size_t nhdr, size_t *len)
{
    size_t cap = 200 + nhdr * 16;
    char *p = malloc(cap);
    size_t o = (size_t)snprintf(p, cap, "OPTIONS sip:a@b SIP/2.0\r\ni: h\r\nCSeq: 1 OPTIONS\r\n"
                                        "f: <sip:a@b>\r\nt: <sip:a@b>\r\n");
    for (size_t i = 4; i < nhdr; i++)
        o += (size_t)snprintf(p + o, cap - o, "X-%zu: v\r\n", i);
    o += (size_t)snprintf(p + o, cap - o, "\r\n");
    *len = o;
    return p;
}

static void test_header_cap(void **state)
{
    (void)state;
    sip_msg *m = new_msg();
    for (size_t n = CS_SIP_MAX_HEADERS - 1; n <= CS_SIP_MAX_HEADERS + 1; n++) {
        size_t len;
        char *p = build_many_headers(n, &len);
        int rc = parse_copy(p, len, m);
        assert_int_equal(rc, n <= CS_SIP_MAX_HEADERS ? CS_OK : CS_ERR_LIMIT);
        free(p);
    }
    free(m);
}

/* A Subject of vlen bytes, plain or folded in 100-byte pieces. */
static char *build_long_value(size_t vlen, int folded, size_t *len)
{
    size_t cap = vlen * 2 + 400;
    char *p = malloc(cap);
    size_t o = (size_t)snprintf(p, cap, "OPTIONS sip:a@b SIP/2.0\r\ni: h\r\nCSeq: 1 OPTIONS\r\n"
                                        "f: <sip:a@b>\r\nt: <sip:a@b>\r\nSubject: ");
    /* folded: pieces of at most 99 'y' joined by CRLF SP SP, which unfolds
     * to one SP (counted in vlen); never a fold at the very end */
    size_t done = 0;
    while (done < vlen) {
        if (folded && done && vlen - done >= 2) {
            memcpy(p + o, "\r\n  ", 4);
            o += 4;
            done++;
        }
        size_t piece = folded ? 99 : vlen;
        if (piece > vlen - done)
            piece = vlen - done;
        memset(p + o, 'y', piece);
        o += piece;
        done += piece;
    }
    o += (size_t)snprintf(p + o, cap - o, "\r\n\r\n");
    *len = o;
    return p;
}

static void test_value_cap(void **state)
{
    (void)state;
    sip_msg *m = new_msg();
    for (int folded = 0; folded <= 1; folded++) {
        for (size_t v = CS_SIP_MAX_VALUE - 1; v <= CS_SIP_MAX_VALUE + 1; v++) {
            size_t len;
            char *p = build_long_value(v, folded, &len);
            uint8_t *copy = malloc(len);
            memcpy(copy, p, len);
            int rc = sip_parse(copy, len, m);
            cs_str subj = rc == CS_OK ? sip_header_get(m, "Subject", 0) : CS_STR_NULL;
            if (rc == CS_OK && subj.len > CS_SIP_MAX_VALUE)
                fail_msg("value of %zu bytes accepted", subj.len);
            if (v <= CS_SIP_MAX_VALUE) {
                if (rc != CS_OK)
                    fail_msg("folded=%d len=%zu: %s", folded, v, cs_err_name(rc));
                assert_int_equal(subj.len, v);
            } else {
                assert_int_equal(rc, CS_ERR_LIMIT);
            }
            free(copy);
            free(p);
        }
    }
    free(m);
}

/* ---------------------------------------------------------- accessors */

static void test_list_next(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *items[5];
    } cases[] = {
        {"a, b ,c", {"a", "b", "c"}},
        {"", {NULL}},
        {" , ,", {NULL}},
        {"\"Doe, J\" <sip:j@h>;q=1, <sip:x,y@h>", {"\"Doe, J\" <sip:j@h>;q=1", "<sip:x,y@h>"}},
        {"\"a \\\", b\" <sip:a@h>, c", {"\"a \\\", b\" <sip:a@h>", "c"}},
        {"\"unterminated, x", {"\"unterminated, x"}},
        {"<sip:a@h, b", {"<sip:a@h, b"}},
        {"SIP/2.0/UDP h1;branch=1,SIP/2.0/UDP h2", {"SIP/2.0/UDP h1;branch=1", "SIP/2.0/UDP h2"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cs_str rest = cs_str_c(cases[i].in), item;
        size_t k = 0;
        while (sip_list_next(&rest, &item)) {
            assert_true(k < 5);
            assert_non_null(cases[i].items[k]);
            if (!cs_str_eq(item, cs_str_c(cases[i].items[k])))
                fail_msg("case %zu item %zu: got '%.*s'", i, k, (int)item.len, item.p);
            k++;
        }
        assert_true(k == 5 || cases[i].items[k] == NULL);
    }
    cs_str item;
    assert_int_equal(sip_list_next(NULL, &item), 0);
}

static void test_param(void **state)
{
    (void)state;
    static const struct {
        const char *value, *name;
        int found;
        const char *out;
    } cases[] = {
        {"<sip:a@h;tag=in>;tag=out", "tag", 1, "out"},
        {"<sip:a@h;tag=in>", "tag", 0, NULL},
        {"sip:a@h;tag=x1", "tag", 1, "x1"},
        {"\"a;tag=q\" <sip:a@h>;TAG=x2", "tag", 1, "x2"},
        {"SIP/2.0/UDP h;rport;branch=z9hG4bK1", "branch", 1, "z9hG4bK1"},
        {"SIP/2.0/UDP h;rport;branch=z9hG4bK1", "rport", 1, ""},
        {"SIP/2.0/UDP h;branch = b7 ", "branch", 1, "b7"},
        {"Q.850;cause=16;text=\"a;b\"", "text", 1, "a;b"},
        {"a;x=1, b;branch=2", "branch", 0, NULL},
        {"a;x=1", "", 0, NULL},
        {"a;", "x", 0, NULL},
        {"a;=v", "x", 0, NULL},
        {"", "tag", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cs_str out = CS_STR_NULL;
        int f = sip_param(cs_str_c(cases[i].value), cases[i].name, &out);
        if (f != cases[i].found)
            fail_msg("case %zu: found %d", i, f);
        if (f && !cs_str_eq(out, cs_str_c(cases[i].out)))
            fail_msg("case %zu: got '%.*s'", i, (int)out.len, out.p);
    }
    assert_int_equal(sip_param(CS_STR_NULL, "tag", NULL), 0);
}

static void test_uri_user(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *user; /* NULL: -1 */
        const char *uri;
    } cases[] = {
        {"\"Bob\" <sip:+1555@h;x>", "+1555", "sip:+1555@h;x"},
        {"tel:+1555;p", "+1555", "tel:+1555"},
        {"<tel:+1555;phone-context=x>", "+1555", "tel:+1555;phone-context=x"},
        {"sips:alice:secret@h:5061", "alice", "sips:alice:secret@h:5061"},
        {"SIP:Bob@H", "Bob", "SIP:Bob@H"},
        {"sip:h.example.com", NULL, "sip:h.example.com"},
        {"sip:@h", NULL, "sip:@h"},
        {"<sip:+1555;npdi;rn=+1666@h;user=phone>;tag=1", "+1555", "sip:+1555;npdi;rn=+1666@h;user=phone"},
        {"\"Smith, John \\\"JJ\\\" <x>\" <sip:jj@h>;tag=9", "jj", "sip:jj@h"},
        {"Anonymous <sip:anonymous@anonymous.invalid>", "anonymous", "sip:anonymous@anonymous.invalid"},
        {"sip:a@h;tag=1", "a", "sip:a@h"},
        {"mailto:a@h", NULL, "mailto:a@h"},
        {"<sip:a@h", NULL, NULL},
        {"", NULL, NULL},
        {"tel:", NULL, "tel:"},
        {"*", NULL, "*"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cs_str u = CS_STR_NULL;
        int rc = sip_uri_user(cs_str_c(cases[i].in), &u);
        if (cases[i].user == NULL) {
            if (rc != -1)
                fail_msg("case %zu: got '%.*s'", i, (int)u.len, u.p);
        } else if (rc != 0 || !cs_str_eq(u, cs_str_c(cases[i].user))) {
            fail_msg("case %zu: rc %d '%.*s'", i, rc, (int)u.len, u.p);
        }
        cs_str uri = sip_uri_of(cs_str_c(cases[i].in));
        if (cases[i].uri == NULL ? uri.len != 0 : !cs_str_eq(uri, cs_str_c(cases[i].uri)))
            fail_msg("case %zu: uri '%.*s'", i, (int)uri.len, uri.p);
    }
}

static void test_q850(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int cause;
    } cases[] = {
        {"Q.850;cause=16;text=\"NORMAL_CLEARING\"", 16},
        {"q.850 ; cause = 17", 17},
        {"SIP;cause=200;text=\"x\", Q.850;cause=26", 26},
        {"SIP;cause=487", -1},
        {"Q.850;cause=127", 127},
        {"Q.850;cause=128", -1},
        {"Q.850;cause=", -1},
        {"Q.850;cause=1a", -1},
        {"Q.850", -1},
        {"", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (sip_q850_cause(cs_str_c(cases[i].in)) != cases[i].cause)
            fail_msg("case %zu (%s)", i, cases[i].in);
    assert_int_equal(sip_q850_cause(CS_STR_NULL), -1);
}

static void test_header_get(void **state)
{
    (void)state;
    const char *msg = "NOTIFY sip:a@h SIP/2.0\r\ni: c1\r\nCSeq: 2 NOTIFY\r\nf: <sip:a@h>;tag=1\r\n"
                      "TO: <sip:b@h>;tag=2\r\nv: SIP/2.0/UDP h1;branch=top\r\n"
                      "Via: SIP/2.0/UDP h2;branch=second\r\no: refer\r\nEvent: dialog\r\n"
                      "X-Orig-Call-ID: orig-9\r\nx-orig-call-id: orig-10\r\n\r\n";
    sip_msg *m = new_msg();
    assert_int_equal(sip_parse((const uint8_t *)msg, strlen(msg), m), CS_OK);
    assert_true(cs_str_eq(sip_header_get(m, "Call-ID", 0), cs_str_c("c1")));
    assert_true(cs_str_eq(sip_header_get(m, "call-id", 0), cs_str_c("c1")));
    assert_true(cs_str_eq(sip_header_get(m, "i", 0), cs_str_c("c1")));
    assert_null(sip_header_get(m, "Call-ID", 1).p);
    assert_true(cs_str_eq(sip_header_get(m, "Via", 1), cs_str_c("SIP/2.0/UDP h2;branch=second")));
    assert_true(cs_str_eq(sip_header_get(m, "v", 0), cs_str_c("SIP/2.0/UDP h1;branch=top")));
    assert_true(cs_str_eq(m->via_branch, cs_str_c("top")));
    assert_true(cs_str_eq(sip_header_get(m, "Event", 0), cs_str_c("refer")));
    assert_true(cs_str_eq(sip_header_get(m, "Event", 1), cs_str_c("dialog")));
    assert_null(sip_header_get(m, "Event", 2).p);
    assert_true(cs_str_eq(sip_header_get(m, "X-Orig-Call-ID", 1), cs_str_c("orig-10")));
    assert_true(cs_str_eq(sip_header_get(m, "to", 0), cs_str_c("<sip:b@h>;tag=2")));
    assert_null(sip_header_get(m, "X", 0).p);   /* not a compact form of anything we know */
    assert_null(sip_header_get(m, "", 0).p);
    assert_null(sip_header_get(m, NULL, 0).p);
    assert_null(sip_header_get(NULL, "To", 0).p);
    assert_true(cs_str_eq(m->to_tag, cs_str_c("2")));
    free(m);
}

static void test_methods_and_looks_like(void **state)
{
    (void)state;
    for (int i = SIP_METHOD_INVITE; i <= SIP_METHOD_PUBLISH; i++)
        assert_int_equal(sip_method_parse(cs_str_c(sip_method_name((sip_method)i))), i);
    assert_string_equal(sip_method_name(SIP_METHOD_UNKNOWN), "UNKNOWN");
    assert_string_equal(sip_method_name((sip_method)99), "UNKNOWN");
    assert_int_equal(sip_method_parse(cs_str_c("invite")), SIP_METHOD_UNKNOWN); /* case-sensitive */
    assert_int_equal(sip_method_parse(cs_str_c("INVITEX")), SIP_METHOD_UNKNOWN);

    static const struct {
        const char *in;
        int yes;
    } cases[] = {
        {"INVITE sip:a@b SIP/2.0\r\n", 1},
        {"SIP/2.0 200 OK\r\n", 1},
        {"SIP/2.0 180\r\n", 1},
        {"sip/2.0 200 OK\n", 1},
        {"XYZ sip:a SIP/2.0\r\n", 1},
        {"SIP/2.0 200 OK", 0}, /* no line end */
        {"SIP/2.0 900 X\r\n", 0},
        {"GET / HTTP/1.1\r\n", 0},
        {"\x80\x00\x01\x02", 0},
        {"", 0},
        {"INVITE sip:a@b SIP/2.1\r\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t l = strlen(cases[i].in);
        uint8_t *c = malloc(l ? l : 1);
        memcpy(c, cases[i].in, l);
        if (sip_looks_like(c, l) != cases[i].yes)
            fail_msg("looks_like case %zu", i);
        free(c);
    }
    assert_int_equal(sip_looks_like(NULL, 10), 0);
}

/* Unfolding keeps the scratch: two folded headers, both values correct. */
static void test_unfold_scratch(void **state)
{
    (void)state;
    const char *msg = "MESSAGE sip:a@h SIP/2.0\r\ni: f\r\nCSeq: 1 MESSAGE\r\nf: <sip:a@h>\r\n"
                      "  ;tag=t1\r\nt: <sip:b@h>\r\nSubject: one\r\n\ttwo\r\n   \r\n three \r\n\r\n";
    sip_msg *m = new_msg();
    assert_int_equal(sip_parse((const uint8_t *)msg, strlen(msg), m), CS_OK);
    assert_true(cs_str_eq(m->from, cs_str_c("<sip:a@h> ;tag=t1")));
    assert_true(cs_str_eq(m->from_tag, cs_str_c("t1")));
    assert_true(cs_str_eq(sip_header_get(m, "Subject", 0), cs_str_c("one two three")));
    assert_int_equal(m->scratch_used, strlen("<sip:a@h> ;tag=t1") + strlen("one two three"));
    assert_true(m->quirks & SIP_QUIRK_FOLDED);
    /* Reuse of the same sip_msg resets everything. */
    const char *msg2 = "SIP/2.0 200 OK\r\ni: g\r\nCSeq: 1 MESSAGE\r\nf: <sip:a@h>\r\nt: <sip:b@h>\r\n\r\n";
    assert_int_equal(sip_parse((const uint8_t *)msg2, strlen(msg2), m), CS_OK);
    assert_int_equal(m->scratch_used, 0);
    assert_int_equal(m->quirks, 0);
    assert_null(m->from_tag.p);
    assert_int_equal(m->nhdr, 4);
    free(m);
}

/* ----------------------------------------------------------- benchmark */

static void test_benchmark(void **state)
{
    (void)state;
    char buf[4096];
    size_t len = build_invite(buf, sizeof buf, (long)strlen(SDPBODY), SDPBODY);
    sip_msg *m = new_msg();
    struct timespec t0, t1;
    long n = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double el;
    do {
        for (int i = 0; i < 10000; i++, n++)
            assert_int_equal(sip_parse((const uint8_t *)buf, len, m), CS_OK);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    } while (el < 0.5);
    printf("BENCH sip_parse: %zu-byte INVITE with SDP, %ld parses in %.3f s = %.0f parses/s "
           "(%.1f MB/s)\n",
           len, n, el, (double)n / el, (double)n * (double)len / el / 1e6);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expected_outputs),
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_message_cap),
        cmocka_unit_test(test_header_cap),
        cmocka_unit_test(test_value_cap),
        cmocka_unit_test(test_list_next),
        cmocka_unit_test(test_param),
        cmocka_unit_test(test_uri_user),
        cmocka_unit_test(test_q850),
        cmocka_unit_test(test_header_get),
        cmocka_unit_test(test_methods_and_looks_like),
        cmocka_unit_test(test_unfold_scratch),
        cmocka_unit_test(test_benchmark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
