/*
 * test_callinfo.c — decode/callinfo: call.json into struct callinfo.
 *
 * Real documents: callscope-capture spools tests/data/sample.pcap into a temp
 * dir; every call.json is loaded, and the struct is printed back as a leaf
 * listing in the writer's order (path, JSON type, value: strings as code
 * points, numbers compared numerically, null for CI_NONE / NULL). That listing
 * must equal jq's `tostream` listing of the same file line for line — so every
 * leaf of the document is held, with its value, and nothing is invented.
 *
 * Bad documents: the first real call.json mutated with jq (field deleted,
 * wrong type, null where not allowed, out-of-range value, version 2, dangling
 * references) and hand-made texts (not JSON, truncated, array root, NUL in a
 * string): each fails with the expected code and names the field's pointer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callinfo.h"
#include "error.h"
#include "testsupport.h"

__attribute__((format(printf, 3, 4))) static void fmt(char *buf, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, cap, f, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* ---- leaf listing of a callinfo (jq tostream order) ---------------------- */

typedef struct lst {
    ts_buf b;
    char path[512];
    size_t plen;
} lst;

static size_t push(lst *l, const char *k)
{
    size_t old = l->plen;
    int w = snprintf(l->path + old, sizeof l->path - old, "%s%s", old ? "/" : "", k);
    assert_true(w > 0 && (size_t)w < sizeof l->path - old);
    l->plen += (size_t)w;
    return old;
}

static size_t pushi(lst *l, size_t i)
{
    char k[24];
    snprintf(k, sizeof k, "%zu", i);
    return push(l, k);
}

static void popl(lst *l, size_t old)
{
    l->plen = old;
    l->path[old] = '\0';
}

static void L_str(lst *l, const char *k, const char *s)
{
    size_t o = push(l, k);
    if (!s) {
        ts_buf_printf(&l->b, "%s\tnull\tnull\n", l->path);
    } else {
        ts_buf_printf(&l->b, "%s\tstring\t", l->path);
        const unsigned char *u = (const unsigned char *)s;
        size_t len = strlen(s);
        for (size_t i = 0; i < len;) {
            unsigned cp, c = u[i];
            size_t m = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
            cp = m == 1 ? c : c & (0x7f >> m);
            for (size_t j = 1; j < m; j++)
                cp = cp << 6 | (u[i + j] & 0x3f);
            ts_buf_printf(&l->b, "%s%u", i ? "," : "", cp);
            i += m;
        }
        ts_buf_printf(&l->b, "\n");
    }
    popl(l, o);
}

static void L_int(lst *l, const char *k, int64_t v)
{
    size_t o = push(l, k);
    if (v == CI_NONE)
        ts_buf_printf(&l->b, "%s\tnull\tnull\n", l->path);
    else
        ts_buf_printf(&l->b, "%s\tnumber\t%lld\n", l->path, (long long)v);
    popl(l, o);
}

static void L_dbl(lst *l, const char *k, double v)
{
    size_t o = push(l, k);
    ts_buf_printf(&l->b, "%s\tnumber\t%.17g\n", l->path, v);
    popl(l, o);
}

static void L_bool(lst *l, const char *k, int v)
{
    size_t o = push(l, k);
    ts_buf_printf(&l->b, "%s\tboolean\t%s\n", l->path, v ? "true" : "false");
    popl(l, o);
}

/* An empty array or object is one leaf in jq's stream. */
static void L_empty(lst *l, const char *k, const char *type)
{
    size_t o = push(l, k);
    ts_buf_printf(&l->b, "%s\t%s\tempty\n", l->path, type);
    popl(l, o);
}

static void L_event(lst *l, const ci_event *e)
{
    L_int(l, "at_us", e->at_us);
    L_str(l, "dir", e->dir);
    L_str(l, "method", e->method);
    L_int(l, "status", e->status);
    L_int(l, "cseq", e->cseq);
    L_str(l, "cseq_method", e->cseq_method);
    L_bool(l, "sdp", e->sdp);
    L_str(l, "dir_attr", e->dir_attr);
}

static void L_leg(lst *l, const ci_leg *g)
{
    L_int(l, "index", g->index);
    L_str(l, "role", g->role);
    L_str(l, "call_id", g->call_id);
    L_str(l, "from_tag", g->from_tag);
    L_str(l, "to_tag", g->to_tag);
    L_str(l, "from_user", g->from_user);
    L_str(l, "to_user", g->to_user);
    L_str(l, "ruri_user", g->ruri_user);
    L_str(l, "agent_ext", g->agent_ext);
    L_str(l, "transport", g->transport);
    L_int(l, "family", g->family);
    if (!g->nvlan) {
        L_empty(l, "vlan", "array");
    } else {
        size_t o = push(l, "vlan");
        for (size_t i = 0; i < g->nvlan; i++) {
            char k[24];
            snprintf(k, sizeof k, "%zu", i);
            L_int(l, k, g->vlan[i]);
        }
        popl(l, o);
    }
    L_str(l, "correlated_by", g->correlated_by);
    L_int(l, "invite_us", g->invite_us);
    L_int(l, "ringing_us", g->ringing_us);
    L_int(l, "answer_us", g->answer_us);
    L_int(l, "end_us", g->end_us);
    L_int(l, "final_status", g->final_status);
    L_str(l, "ended_by", g->ended_by);
    L_int(l, "q850_cause", g->q850_cause);
    L_str(l, "sip_reason", g->sip_reason);
    L_int(l, "sip_messages", g->sip_messages);
    L_int(l, "retransmissions", g->retransmissions);
    if (!g->nevents) {
        L_empty(l, "events", "array");
    } else {
        size_t o = push(l, "events");
        for (size_t i = 0; i < g->nevents; i++) {
            size_t o2 = pushi(l, i);
            L_event(l, &g->events[i]);
            popl(l, o2);
        }
        popl(l, o);
    }
    L_int(l, "events_dropped", g->events_dropped);
}

static void L_stream(lst *l, const ci_stream *s)
{
    L_int(l, "index", s->index);
    L_int(l, "leg", s->leg);
    L_str(l, "direction", s->direction);
    L_str(l, "ssrc", s->ssrc_text);
    char hex[16];
    snprintf(hex, sizeof hex, "0x%08x", s->ssrc);
    assert_string_equal(hex, s->ssrc_text);
    if (!s->nssrcs) {
        L_empty(l, "ssrcs", "array");
    } else {
        size_t o = push(l, "ssrcs");
        for (size_t i = 0; i < s->nssrcs; i++) {
            char k[24];
            snprintf(k, sizeof k, "%zu", i);
            snprintf(hex, sizeof hex, "0x%08x", s->ssrcs[i]);
            L_str(l, k, hex);
        }
        popl(l, o);
    }
    L_str(l, "src", s->src);
    L_int(l, "src_port", s->src_port);
    L_str(l, "dst", s->dst);
    L_int(l, "dst_port", s->dst_port);
    if (!s->npayload_types) {
        L_empty(l, "payload_types", "array");
    } else {
        size_t o = push(l, "payload_types");
        for (size_t i = 0; i < s->npayload_types; i++) {
            char k[24];
            snprintf(k, sizeof k, "%zu", i);
            L_int(l, k, s->payload_types[i]);
        }
        popl(l, o);
    }
    L_str(l, "codec", s->codec);
    L_int(l, "codec_pt", s->codec_pt);
    L_int(l, "clock_rate", s->clock_rate);
    L_int(l, "channels", s->channels);
    L_bool(l, "srtp", s->srtp);
    L_int(l, "telephone_event_pt", s->telephone_event_pt);
    L_int(l, "packets", s->packets);
    L_int(l, "bytes", s->bytes);
    L_int(l, "expected", s->expected);
    L_int(l, "lost", s->lost);
    L_int(l, "duplicates", s->duplicates);
    L_int(l, "out_of_order", s->out_of_order);
    L_dbl(l, "jitter_ms", s->jitter_ms);
    L_dbl(l, "max_jitter_ms", s->max_jitter_ms);
    L_dbl(l, "max_gap_ms", s->max_gap_ms);
    L_int(l, "ssrc_changes", s->ssrc_changes);
    L_int(l, "first_us", s->first_us);
    L_int(l, "last_us", s->last_us);
    size_t o = push(l, "rtcp");
    L_int(l, "packets", s->rtcp.packets);
    L_int(l, "sr", s->rtcp.sr);
    L_int(l, "rr", s->rtcp.rr);
    L_int(l, "last_fraction_lost", s->rtcp.last_fraction_lost);
    L_int(l, "last_cumulative_lost", s->rtcp.last_cumulative_lost);
    L_int(l, "last_jitter", s->rtcp.last_jitter);
    popl(l, o);
}

#define L_ARRAY(l, key, n, arr, body)                                                              \
    do {                                                                                           \
        if (!(n)) {                                                                                \
            L_empty(l, key, "array");                                                              \
            break;                                                                                 \
        }                                                                                          \
        size_t o_ = push(l, key);                                                                  \
        for (size_t i = 0; i < (n); i++) {                                                         \
            size_t o2_ = pushi(l, i);                                                              \
            body;                                                                                  \
            popl(l, o2_);                                                                          \
        }                                                                                          \
        popl(l, o_);                                                                               \
    } while (0)

static void listing(lst *l, const callinfo *ci)
{
    L_str(l, "format", ci->format);
    L_int(l, "version", ci->version);
    L_str(l, "uuid", ci->uuid);
    L_str(l, "probe", ci->probe);
    L_str(l, "call_id", ci->call_id);
    L_int(l, "invite_us", ci->invite_us);
    L_int(l, "ringing_us", ci->ringing_us);
    L_int(l, "answer_us", ci->answer_us);
    L_int(l, "end_us", ci->end_us);
    L_int(l, "duration_us", ci->duration_us);
    L_str(l, "outcome", ci->outcome);
    L_int(l, "abandon_us", ci->abandon_us);
    L_str(l, "ended_by", ci->ended_by);
    L_str(l, "end_reason", ci->end_reason);
    L_int(l, "final_status", ci->final_status);
    L_int(l, "q850_cause", ci->q850_cause);
    L_str(l, "sip_reason", ci->sip_reason);
    L_str(l, "ani", ci->ani);
    L_str(l, "dnis", ci->dnis);
    if (!ci->nagents) {
        L_empty(l, "agents", "array");
    } else {
        size_t o = push(l, "agents");
        for (size_t i = 0; i < ci->nagents; i++) {
            char k[24];
            snprintf(k, sizeof k, "%zu", i);
            L_str(l, k, ci->agents[i]);
        }
        popl(l, o);
    }
    L_ARRAY(l, "holds", ci->nholds, ci->holds, {
        L_int(l, "start_us", ci->holds[i].start_us);
        L_int(l, "end_us", ci->holds[i].end_us);
        L_int(l, "leg", ci->holds[i].leg);
        L_str(l, "by", ci->holds[i].by);
    });
    L_ARRAY(l, "transfers", ci->ntransfers, ci->transfers, {
        L_int(l, "at_us", ci->transfers[i].at_us);
        L_str(l, "kind", ci->transfers[i].kind);
        L_str(l, "from", ci->transfers[i].from);
        L_str(l, "to", ci->transfers[i].to);
    });
    L_ARRAY(l, "legs", ci->nlegs, ci->legs, L_leg(l, &ci->legs[i]));
    L_ARRAY(l, "streams", ci->nstreams, ci->streams, L_stream(l, &ci->streams[i]));
    L_int(l, "streams_refused", ci->streams_refused);
    L_int(l, "rtp_refused", ci->rtp_refused);
    L_ARRAY(l, "dtmf", ci->ndtmf, ci->dtmf, {
        L_str(l, "digit", ci->dtmf[i].digit);
        L_int(l, "at_us", ci->dtmf[i].at_us);
        L_int(l, "duration_ms", ci->dtmf[i].duration_ms);
        L_int(l, "stream", ci->dtmf[i].stream);
    });
    L_int(l, "dtmf_dropped", ci->dtmf_dropped);
    if (!ci->has_pcap) {
        size_t o = push(l, "pcap");
        ts_buf_printf(&l->b, "%s\tnull\tnull\n", l->path);
        popl(l, o);
    } else {
        size_t o = push(l, "pcap");
        L_str(l, "file", ci->pcap.file);
        L_int(l, "frames", ci->pcap.frames);
        L_int(l, "bytes", ci->pcap.bytes);
        L_int(l, "linktype", ci->pcap.linktype);
        L_int(l, "skipped_linktype", ci->pcap.skipped_linktype);
        L_bool(l, "complete", ci->pcap.complete);
        popl(l, o);
    }
    size_t o = push(l, "counters");
    L_int(l, "sip_messages", ci->counters.sip_messages);
    L_int(l, "rtp_packets", ci->counters.rtp_packets);
    L_int(l, "rtcp_packets", ci->counters.rtcp_packets);
    L_int(l, "malformed", ci->counters.malformed);
    L_int(l, "media_dropped", ci->counters.media_dropped);
    popl(l, o);
}

static const char jq_prog[] =
    "tostream | select(length == 2) | .[0] as $p | .[1] as $v | ($v | type) as $t |\n"
    "($p | map(tostring) | join(\"/\")) + \"\\t\" + $t + \"\\t\" +\n"
    "(if $t == \"string\" then ($v | explode | map(tostring) | join(\",\"))\n"
    " elif $t == \"array\" or $t == \"object\" then \"empty\"\n"
    " else ($v | tojson) end)\n";

/* Reads a command's whole stdout; asserts exit status 0. */
static char *slurp_cmd(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    ts_buf b = {0};
    char line[8192];
    size_t n;
    while ((n = fread(line, 1, sizeof line - 1, f)) > 0) {
        line[n] = '\0';
        ts_buf_printf(&b, "%s", line);
    }
    assert_int_equal(pclose(f), 0);
    if (!b.p)
        ts_buf_printf(&b, "%s", "");
    return b.p;
}

static size_t compare(const char *file, const char *ours, const char *theirs)
{
    size_t n = 0;
    const char *a = ours, *b = theirs;
    while (*a && *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        assert_non_null(ea);
        assert_non_null(eb);
        int same = ea - a == eb - b && memcmp(a, b, (size_t)(ea - a)) == 0;
        if (!same) {
            /* numbers may be spelled differently: compare path/type, then value */
            const char *va = memchr(a, '\t', (size_t)(ea - a)),
                       *vb = memchr(b, '\t', (size_t)(eb - b));
            assert_non_null(va);
            assert_non_null(vb);
            const char *wa = memchr(va + 1, '\t', (size_t)(ea - va - 1));
            const char *wb = memchr(vb + 1, '\t', (size_t)(eb - vb - 1));
            same = wa && wb && wa - a == wb - b && memcmp(a, b, (size_t)(wa - a)) == 0 &&
                   strncmp(wa - 7, "\tnumber", 7) == 0 &&
                   strtod(wa + 1, NULL) == strtod(wb + 1, NULL);
        }
        if (!same)
            fail_msg("%s leaf %zu: ours %.*s, jq %.*s", file, n, (int)(ea - a), a, (int)(eb - b),
                     b);
        a = ea + 1;
        b = eb + 1;
        n++;
    }
    if (*a || *b)
        fail_msg("%s: leaf counts differ after %zu (ours \"%.60s\", jq \"%.60s\")", file, n, a, b);
    return n;
}

typedef struct fixture {
    char dir[4096];
    char first[8192]; /* the call.json with the most streams and DTMF digits */
    char hold[8192];  /* a call.json with a hold */
} fixture;

static fixture fx;

static int setup(void **state)
{
    (void)state;
    return 0;
}

static int spool_sample(void)
{
    const char *bin_dir = getenv("CALLSCOPE_BINARY_DIR");
    char capture[4096], pcap[4096], cmd[16384], conf[8192];
    fmt(capture, sizeof capture, "%s/capture/callscope-capture", bin_dir ? bin_dir : ".");
    if (access(capture, X_OK) != 0 || system("jq --version > /dev/null 2>&1") != 0)
        return -1;
    if (fx.dir[0])
        return 0;
    ts_source_path(pcap, sizeof pcap, "tests/data/sample.pcap");
    assert_int_equal(ts_mkdtemp(fx.dir, sizeof fx.dir, "callinfo"), 0);
    fmt(conf, sizeof conf, "%s/empty.conf", fx.dir);
    assert_int_equal(ts_write_file(conf, "", 0), 0);
    fmt(cmd, sizeof cmd, "CALLSCOPE_CONFIG='%s' '%s' --spool '%s/spool' '%s' 2>/dev/null", conf,
        capture, fx.dir, pcap);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (fx.dir[0])
        ts_rmrf(fx.dir);
    return 0;
}

static void test_sample_vs_jq(void **state)
{
    (void)state;
    if (spool_sample() != 0) {
        print_message("SKIP: callscope-capture not built or jq not installed\n");
        skip();
    }
    char prog[8192], path[8192], cmd[32768];
    fmt(prog, sizeof prog, "%s/leaves.jq", fx.dir);
    assert_int_equal(ts_write_file(prog, jq_prog, strlen(jq_prog)), 0);
    fmt(path, sizeof path, "%s/spool/ready", fx.dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    struct dirent *de;
    size_t files = 0, leaves = 0, streams = 0, dtmf = 0, nulls = 0, best = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char file[16384];
        fmt(file, sizeof file, "%s/%s/call.json", path, de->d_name);
        size_t len;
        char *text = ts_read_file(file, &len);
        assert_non_null(text);
        callinfo *ci = NULL;
        callinfo_error err;
        int rc = callinfo_parse(text, len, &ci, &err);
        if (rc != CS_OK)
            fail_msg("%s: %s: %s", file, cs_err_name(rc), err.msg);
        assert_string_equal(ci->uuid, de->d_name);
        lst l = {0};
        listing(&l, ci);
        fmt(cmd, sizeof cmd, "jq -r -f '%s' < '%s'", prog, file);
        char *theirs = slurp_cmd(cmd);
        leaves += compare(file, l.b.p, theirs);
        for (const char *p = l.b.p; (p = strstr(p, "\tnull\tnull")) != NULL; p++)
            nulls++;
        /* the enum agrees with the text */
        for (size_t i = 0; i < ci->nstreams; i++) {
            assert_string_equal(ci_dir_name(ci->streams[i].dir), ci->streams[i].direction);
            assert_int_not_equal(ci->streams[i].dir, CI_DIR_UNKNOWN);
        }
        streams += ci->nstreams;
        dtmf += ci->ndtmf;
        /* keep documents for the bad-document tests */
        size_t score = ci->nstreams * 100 + ci->ndtmf;
        if (score > best && ci->nlegs >= 2 && ci->ndtmf) {
            best = score;
            fmt(fx.first, sizeof fx.first, "%s", file);
        }
        if (ci->nholds)
            fmt(fx.hold, sizeof fx.hold, "%s", file);
        free(theirs);
        free(l.b.p);
        callinfo_free(ci);
        free(text);
        files++;
    }
    closedir(d);
    print_message("%zu call.json files, %zu leaves equal to jq's (%zu null), %zu streams, %zu "
                  "DTMF digits\n",
                  files, leaves, nulls, streams, dtmf);
    assert_int_equal(files, 19);
    assert_int_equal(streams, 38);
    assert_int_equal(dtmf, 18);
    assert_true(leaves > 3000);
    assert_true(nulls > 50);
    assert_true(fx.first[0]);
    assert_true(fx.hold[0]);
}

/* ---- bad documents ------------------------------------------------------- */

typedef struct bad_case {
    const char *jq;    /* filter applied to the real document */
    int rc;            /* expected code */
    const char *field; /* expected JSON pointer */
    int hold_doc;      /* 1: applied to the document with a hold */
} bad_case;

static const bad_case bad_cases[] = {
    {".version = 2", CS_ERR_UNSUPPORTED, "/version", 0},
    {".version = \"1\"", CS_ERR_MALFORMED, "/version", 0},
    {".format = \"callscope-kpi\"", CS_ERR_MALFORMED, "/format", 0},
    {"del(.uuid)", CS_ERR_MALFORMED, "/uuid", 0},
    {".uuid = null", CS_ERR_MALFORMED, "/uuid", 0},
    {".invite_us = \"x\"", CS_ERR_MALFORMED, "/invite_us", 0},
    {".invite_us = 1.5", CS_ERR_MALFORMED, "/invite_us", 0},
    {".duration_us = null", CS_ERR_MALFORMED, "/duration_us", 0},
    {".final_status = 42", CS_ERR_MALFORMED, "/final_status", 0},
    {".agents = {}", CS_ERR_MALFORMED, "/agents", 0},
    {".agents = [1]", CS_ERR_MALFORMED, "/agents/0", 0},
    {"del(.holds[0].by)", CS_ERR_MALFORMED, "/holds/0/by", 1},
    {".holds[0].leg = 9", CS_ERR_MALFORMED, "/holds/0/leg", 1},
    {".holds[0].end_us = \"later\"", CS_ERR_MALFORMED, "/holds/0/end_us", 1},
    {".legs[0].events[1].sdp = 1", CS_ERR_MALFORMED, "/legs/0/events/1/sdp", 0},
    {".legs[1].family = 5", CS_ERR_MALFORMED, "/legs/1/family", 0},
    {".legs[0].vlan = [1,2,3]", CS_ERR_MALFORMED, "/legs/0/vlan", 0},
    {".legs[0] = 7", CS_ERR_MALFORMED, "/legs/0", 0},
    {"del(.streams[1].codec_pt)", CS_ERR_MALFORMED, "/streams/1/codec_pt", 0},
    {".streams[1].codec_pt = 128", CS_ERR_MALFORMED, "/streams/1/codec_pt", 0},
    {".streams[0].packets = -1", CS_ERR_MALFORMED, "/streams/0/packets", 0},
    {".streams[0].packets = 1e30", CS_ERR_MALFORMED, "/streams/0/packets", 0},
    {".streams[0].ssrc = \"12345678\"", CS_ERR_MALFORMED, "/streams/0/ssrc", 0},
    {".streams[0].ssrcs[0] = \"0xabcdefgh\"", CS_ERR_MALFORMED, "/streams/0/ssrcs/0", 0},
    {".streams[0].src_port = 70000", CS_ERR_MALFORMED, "/streams/0/src_port", 0},
    {".streams[0].jitter_ms = \"1\"", CS_ERR_MALFORMED, "/streams/0/jitter_ms", 0},
    {".streams[0].rtcp.last_jitter = true", CS_ERR_MALFORMED, "/streams/0/rtcp/last_jitter", 0},
    {"del(.streams[0].rtcp)", CS_ERR_MALFORMED, "/streams/0/rtcp", 0},
    {".streams[0].leg = 99", CS_ERR_MALFORMED, "/streams/0/leg", 0},
    {".dtmf[0].stream = 99", CS_ERR_MALFORMED, "/dtmf/0/stream", 0},
    {".pcap.complete = \"yes\"", CS_ERR_MALFORMED, "/pcap/complete", 0},
    {"del(.counters.malformed)", CS_ERR_MALFORMED, "/counters/malformed", 0},
    {".counters = null", CS_ERR_MALFORMED, "/counters", 0},
    {".ani = \"a\\u0000b\"", CS_ERR_MALFORMED, "/ani", 0},
};

static void expect_bad(const char *what, const char *text, size_t len, int want_rc,
                       const char *want_field)
{
    callinfo *ci = (callinfo *)&ci; /* must be set to NULL */
    callinfo_error err;
    int rc = callinfo_parse(text, len, &ci, &err);
    if (rc != want_rc)
        fail_msg("%s: got %s (%s), want %s", what, cs_err_name(rc), err.msg, cs_err_name(want_rc));
    assert_null(ci);
    assert_string_equal(err.field, want_field);
    /* the message starts with the pointer ("/" for the document) */
    assert_true(strncmp(err.msg, want_field[0] ? want_field : "/",
                        strlen(want_field[0] ? want_field : "/")) == 0);
    assert_true(strlen(err.msg) > strlen(want_field) + 3);
    print_message("%-34.34s -> %s: %s\n", what, cs_err_name(rc), err.msg);
}

static void test_bad_documents(void **state)
{
    (void)state;
    if (spool_sample() != 0 || !fx.first[0]) {
        print_message("SKIP: no real call.json (callscope-capture or jq missing)\n");
        skip();
    }
    char cmd[32768], q[512];
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *b = &bad_cases[i];
        /* the filter goes through a file: no shell quoting of its text */
        char pf[8192];
        fmt(pf, sizeof pf, "%s/case.jq", fx.dir);
        fmt(q, sizeof q, "%s\n", b->jq);
        assert_int_equal(ts_write_file(pf, q, strlen(q)), 0);
        fmt(cmd, sizeof cmd, "jq -f '%s' < '%s'", pf, b->hold_doc ? fx.hold : fx.first);
        char *text = slurp_cmd(cmd);
        expect_bad(b->jq, text, strlen(text), b->rc, b->field);
        free(text);
    }
    /* the unmodified document still loads (the cases are about the edit) */
    size_t len;
    char *text = ts_read_file(fx.first, &len);
    assert_non_null(text);
    callinfo *ci;
    assert_int_equal(callinfo_parse(text, len, &ci, NULL), CS_OK);
    callinfo_free(ci);
    /* truncated by one byte at every length near the end, and near the start */
    expect_bad("truncated", text, len - 2, CS_ERR_TRUNCATED, "");
    expect_bad("first byte only", text, 1, CS_ERR_TRUNCATED, "");
    free(text);

    expect_bad("not JSON", "hello", 5, CS_ERR_MALFORMED, "");
    expect_bad("empty", "", 0, CS_ERR_TRUNCATED, "");
    expect_bad("array root", "[1,2]", 5, CS_ERR_MALFORMED, "");
    expect_bad("trailing garbage", "{} x", 4, CS_ERR_MALFORMED, "");
    expect_bad("empty object", "{}", 2, CS_ERR_MALFORMED, "/format");
    expect_bad("version only", "{\"format\":\"callscope-call\",\"version\":2}", 39,
               CS_ERR_UNSUPPORTED, "/version");
    expect_bad("no uuid", "{\"format\":\"callscope-call\",\"version\":1}", 39, CS_ERR_MALFORMED,
               "/uuid");
    assert_int_equal(callinfo_parse(NULL, 3, &ci, NULL), CS_ERR_INVAL);
    assert_int_equal(callinfo_parse("{}", 2, NULL, NULL), CS_ERR_INVAL);
    callinfo_free(NULL);
}

static void test_dir_names(void **state)
{
    (void)state;
    assert_int_equal(ci_dir_from_name("customer_to_pbx"), CI_DIR_CUSTOMER_TO_PBX);
    assert_int_equal(ci_dir_from_name("pbx_to_customer"), CI_DIR_PBX_TO_CUSTOMER);
    assert_int_equal(ci_dir_from_name("agent_to_pbx"), CI_DIR_AGENT_TO_PBX);
    assert_int_equal(ci_dir_from_name("pbx_to_agent"), CI_DIR_PBX_TO_AGENT);
    assert_int_equal(ci_dir_from_name("sideways"), CI_DIR_UNKNOWN);
    assert_int_equal(ci_dir_from_name(NULL), CI_DIR_UNKNOWN);
    assert_string_equal(ci_dir_name((ci_dir)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_names),
        cmocka_unit_test(test_sample_vs_jq),
        cmocka_unit_test(test_bad_documents),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
