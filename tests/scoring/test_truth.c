/*
 * test_truth.c — per-call metrics and first-call resolution against
 * callgen's truth (scoring/metrics.c, scoring/fcr.c).
 *
 * callgen (fixed seed, --no-phrases, temp dir) writes 5 calls each of the
 * direct, queued, hold, dtmf, repeat (two calls per instance: 1-50 min,
 * 1-20 h or 1-6 d apart), abandon_queue and busy scenarios. From its truth
 * JSON (read with common/jsonp.c):
 *   - talk metrics from the truth's utterances (per channel), the connected
 *     span answer .. end and the holds: the dead-air stretches (>= 5 s) and
 *     the overtalk stretches must be exactly the truth's deliberate
 *     dead_air[] and overtalk[] intervals (count, total, longest);
 *   - DTMF: every card-number digit but the card's last 4 is masked, the
 *     last 4 and '#' stay, a menu digit is masked exactly when it was keyed
 *     within 3 s of the card (same run), and the card number never appears;
 *   - FCR for 24 h, 72 h and 7 d, any queue and same queue, "now" a month
 *     after the last call: every return call whose gap is under 15 min is a
 *     continuation, every other link within the window makes the first call
 *     a repeat (repeated_by / repeat_of pointing at each other), everything
 *     else is resolved, and unanswered calls are not_applicable.
 * Skips (exit 77) when callgen is not built or cannot run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "fcr.h"
#include "jsonp.h"
#include "metrics.h"
#include "testsupport.h"

typedef struct fixture {
    char dir[512];
    char *text;
    jsonp_doc *doc;
    const jsonp_val *calls;
} fixture;

static fixture fx;

static int64_t get_i64(const jsonp_val *o, const char *key)
{
    int64_t v = 0;
    if (jsonp_get_int(o, key, &v) != CS_OK)
        fail_msg("truth: %s missing or not an integer", key);
    return v;
}

static int setup(void **state)
{
    *state = NULL;
    char bin[1024];
    const char *b = getenv("CALLSCOPE_BINARY_DIR");
    snprintf(bin, sizeof bin, "%s/tools/callgen/callgen", b ? b : ".");
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "skip: callgen not built (%s)\n", bin);
        exit(77);
    }
    assert_int_equal(ts_mkdtemp(fx.dir, sizeof fx.dir, "scoring"), 0);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' -q --seed 20261123 --no-phrases --calls 5 "
             "--scenario direct,queued,hold,dtmf,repeat,abandon_queue,busy -o '%s/c.pcap'",
             bin, fx.dir);
    int rc = system(cmd);
    if (rc != 0) {
        fprintf(stderr, "skip: callgen failed (exit %d): pocketsphinx-testdata missing?\n", rc);
        ts_rmrf(fx.dir);
        exit(77);
    }
    char path[700];
    snprintf(path, sizeof path, "%s/c.truth.json", fx.dir);
    size_t len = 0;
    fx.text = ts_read_file(path, &len);
    assert_non_null(fx.text);
    jsonp_error err;
    assert_int_equal(jsonp_parse(fx.text, len, NULL, &fx.doc, &err), CS_OK);
    fx.calls = jsonp_get(jsonp_root(fx.doc), "calls");
    assert_int_equal(jsonp_type_of(fx.calls), JSONP_ARRAY);
    assert_true(jsonp_len(fx.calls) >= 35);
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    jsonp_free(fx.doc);
    free(fx.text);
    if (fx.dir[0])
        ts_rmrf(fx.dir);
    return 0;
}

static size_t spans(const jsonp_val *arr, sc_span *out, size_t cap)
{
    size_t n = jsonp_len(arr);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++)
        out[i] =
            (sc_span){get_i64(jsonp_at(arr, i), "start_ms"), get_i64(jsonp_at(arr, i), "end_ms")};
    return n;
}

static void test_talk_vs_truth(void **state)
{
    (void)state;
    size_t checked = 0, dead = 0, over = 0, held = 0;
    for (size_t k = 0; k < jsonp_len(fx.calls); k++) {
        const jsonp_val *c = jsonp_at(fx.calls, k);
        if (!jsonp_str_eq(jsonp_get(c, "outcome"), "answered"))
            continue;
        int64_t invite = get_i64(c, "invite_us");
        sc_span conn = {(get_i64(c, "answer_us") - invite) / 1000,
                        (get_i64(c, "end_us") - invite) / 1000};
        static sc_span cust[256], agent[256], holds[16], tdead[16], tover[16];
        size_t nc = 0, na = 0;
        const jsonp_val *u = jsonp_get(c, "utterances");
        for (size_t i = 0; i < jsonp_len(u); i++) {
            const jsonp_val *x = jsonp_at(u, i);
            sc_span s = {get_i64(x, "start_ms"), get_i64(x, "end_ms")};
            if (jsonp_str_eq(jsonp_get(x, "channel"), "customer")) {
                assert_true(nc < 256);
                cust[nc++] = s;
            } else {
                assert_true(na < 256);
                agent[na++] = s;
            }
        }
        size_t nh = spans(jsonp_get(c, "holds"), holds, 16);
        size_t nd = spans(jsonp_get(c, "dead_air"), tdead, 16);
        size_t no = spans(jsonp_get(c, "overtalk"), tover, 16);
        sc_talk_input in = {cust, nc, agent, na, conn, holds, nh, SC_DEAD_AIR_MIN_MS_DEFAULT};
        sc_talk_metrics m;
        assert_int_equal(sc_talk_compute(&in, &m), CS_OK);
        int64_t dsum = 0, dmax = 0, osum = 0;
        for (size_t i = 0; i < nd; i++) {
            int64_t l = tdead[i].end_ms - tdead[i].start_ms;
            dsum += l;
            dmax = l > dmax ? l : dmax;
        }
        for (size_t i = 0; i < no; i++)
            osum += tover[i].end_ms - tover[i].start_ms;
        if ((size_t)m.dead_air_count != nd || m.dead_air_ms != dsum ||
            m.dead_air_longest_ms != dmax || (size_t)m.overtalk_count != no ||
            m.overtalk_ms != osum)
            fail_msg("%s: dead air %d/%lld/%lld (truth %zu/%lld/%lld), overtalk %d/%lld "
                     "(truth %zu/%lld)",
                     jsonp_get_str(c, "id", NULL), m.dead_air_count, (long long)m.dead_air_ms,
                     (long long)m.dead_air_longest_ms, nd, (long long)dsum, (long long)dmax,
                     m.overtalk_count, (long long)m.overtalk_ms, no, (long long)osum);
        assert_true(m.customer_talk_ms > 0 && m.agent_talk_ms > 0);
        assert_true(m.agent_talk_ratio > 0. && m.agent_talk_ratio < 1.);
        checked++;
        dead += nd;
        over += no;
        held += nh > 0;
    }
    printf("talk metrics vs truth: %zu answered calls, %zu dead-air and %zu overtalk "
           "intervals, %zu calls with holds: all exact\n",
           checked, dead, over, held);
    assert_true(checked >= 25 && dead >= 5 && over >= 5 && held >= 5);
}

static void test_dtmf_vs_truth(void **state)
{
    (void)state;
    size_t cards = 0, menus_masked = 0, menus_clear = 0;
    for (size_t k = 0; k < jsonp_len(fx.calls); k++) {
        const jsonp_val *c = jsonp_at(fx.calls, k);
        const jsonp_val *d = jsonp_get(c, "dtmf");
        size_t n = jsonp_len(d);
        if (n == 0)
            continue;
        sc_dtmf ev[64];
        int card[64];
        char clear[65];
        assert_true(n < 64);
        size_t ncard = 0, first_card = n;
        for (size_t i = 0; i < n; i++) {
            const jsonp_val *x = jsonp_at(d, i);
            size_t len = 0;
            const char *dg = jsonp_get_str(x, "digit", &len);
            assert_true(dg != NULL && len == 1);
            ev[i] = (sc_dtmf){dg[0], get_i64(x, "at_ms")};
            clear[i] = dg[0];
            assert_int_equal(jsonp_get_bool(x, "card_number", &card[i]), CS_OK);
            if (card[i] && dg[0] >= '0' && dg[0] <= '9') {
                if (first_card == n)
                    first_card = i;
                ncard++;
            }
        }
        clear[n] = '\0';
        char out[65];
        assert_int_equal(sc_dtmf_mask(ev, n, SC_DTMF_MIN_RUN_DEFAULT, SC_DTMF_RUN_GAP_MS_DEFAULT,
                                      out, sizeof out),
                         n);
        size_t seen = 0;
        for (size_t i = 0; i < n; i++) {
            int digit = ev[i].digit >= '0' && ev[i].digit <= '9';
            if (card[i] && digit) {
                seen++;
                assert_int_equal(out[i], seen + 4 > ncard ? ev[i].digit : '*');
            } else if (!digit) {
                assert_int_equal(out[i], ev[i].digit);
            } else if (first_card < n && i < first_card) {
                /* a menu digit: masked iff keyed within the gap of the card */
                int same_run = 1;
                for (size_t j = i + 1; j <= first_card; j++)
                    same_run &= ev[j].start_ms - ev[j - 1].start_ms <= SC_DTMF_RUN_GAP_MS_DEFAULT;
                assert_int_equal(out[i], same_run ? '*' : ev[i].digit);
                menus_masked += same_run;
                menus_clear += !same_run;
            } else {
                assert_int_equal(out[i], ev[i].digit); /* a call without a card */
            }
        }
        if (ncard) {
            assert_true(ncard >= 12);
            cards++;
            /* the clear card number appears nowhere in what is stored */
            char num[65];
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (card[i] && ev[i].digit >= '0' && ev[i].digit <= '9')
                    num[m++] = ev[i].digit;
            num[m] = '\0';
            assert_null(strstr(out, num));
            assert_null(strstr(out, num + m - 8)); /* not even its last 8 */
        }
        printf("  %-8s %-20s -> %s\n", jsonp_get_str(c, "id", NULL), clear, out);
    }
    printf("DTMF vs truth: %zu card numbers masked; menu digits masked with the card %zu, "
           "clear %zu\n",
           cards, menus_masked, menus_clear);
    assert_true(cards >= 2);
}

/* ---------- FCR ---------- */

#define MAXC 128

typedef struct tcall {
    const char *id, *ani, *queue;
    int64_t invite_us;
    int answered;
    int link;      /* index of the call this one returns to (repeat_of), or -1 */
    int64_t gap_s; /* the truth's gap to it */
} tcall;

static size_t load_calls(tcall *t)
{
    size_t n = jsonp_len(fx.calls);
    assert_true(n <= MAXC);
    for (size_t k = 0; k < n; k++) {
        const jsonp_val *c = jsonp_at(fx.calls, k);
        t[k] = (tcall){jsonp_get_str(c, "id", NULL),
                       jsonp_get_str(c, "ani", NULL),
                       jsonp_get_str(c, "queue", NULL),
                       get_i64(c, "invite_us"),
                       jsonp_str_eq(jsonp_get(c, "outcome"), "answered"),
                       -1,
                       0};
        assert_non_null(t[k].id);
        assert_non_null(t[k].ani);
        assert_non_null(t[k].queue);
    }
    for (size_t k = 0; k < n; k++) {
        const jsonp_val *r = jsonp_get(jsonp_at(fx.calls, k), "repeat_of");
        if (jsonp_is_null(r))
            continue;
        const char *pid = jsonp_get_str(r, "id", NULL);
        for (size_t j = 0; j < n; j++)
            if (strcmp(t[j].id, pid) == 0)
                t[k].link = (int)j;
        assert_true(t[k].link >= 0);
        t[k].gap_s = get_i64(r, "gap_s");
        assert_int_equal(t[k].gap_s * 1000000, t[k].invite_us - t[t[k].link].invite_us);
    }
    return n;
}

static int64_t queue_num(const char *q)
{
    int64_t h = 5381;
    for (; *q; q++)
        h = h * 33 + (unsigned char)*q;
    return h;
}

static void test_fcr_vs_truth(void **state)
{
    (void)state;
    static tcall t[MAXC];
    size_t n = load_calls(t);
    int64_t last = 0;
    for (size_t k = 0; k < n; k++)
        last = t[k].invite_us > last ? t[k].invite_us : last;
    static const struct {
        const char *name;
        int64_t us;
    } windows[] = {
        {"24h", SC_FCR_WINDOW_24H_US}, {"72h", SC_FCR_WINDOW_72H_US}, {"7d", SC_FCR_WINDOW_7D_US}};
    size_t links = 0;
    for (size_t k = 0; k < n; k++)
        links += t[k].link >= 0;
    assert_true(links >= 5);
    for (int same_queue = 0; same_queue < 2; same_queue++) {
        for (size_t w = 0; w < 3; w++) {
            sc_fcr_params p = sc_fcr_params_default(last + 30 * SC_US_PER_DAY);
            p.window_us = windows[w].us;
            p.same_queue = same_queue;
            size_t repeats = 0, conts = 0, resolved = 0, na = 0;
            /* decide per ANI, as the worker does */
            for (size_t k = 0; k < n; k++) {
                int first = 1;
                for (size_t j = 0; j < k; j++)
                    first &= strcmp(t[j].ani, t[k].ani) != 0;
                if (!first)
                    continue;
                sc_fcr_call calls[MAXC];
                sc_fcr_result res[MAXC];
                size_t idx[MAXC], m = 0;
                for (size_t j = k; j < n; j++) {
                    if (strcmp(t[j].ani, t[k].ani) != 0)
                        continue;
                    idx[m] = j;
                    calls[m++] = (sc_fcr_call){t[j].invite_us, queue_num(t[j].queue), t[j].answered,
                                               sc_ani_is_anonymous(t[j].ani)};
                }
                assert_int_equal(sc_fcr_decide(calls, m, &p, res), CS_OK);
                for (size_t a = 0; a < m; a++) {
                    const tcall *me = &t[idx[a]];
                    /* expected from the truth's links */
                    sc_fcr_status want = me->answered ? SC_FCR_RESOLVED : SC_FCR_NOT_APPLICABLE;
                    ptrdiff_t want_by = -1, want_of = -1, want_cont = -1;
                    for (size_t b = 0; b < m; b++) {
                        const tcall *o = &t[idx[b]];
                        int linked = o->link == (int)idx[a];
                        int grouped = !same_queue || strcmp(o->queue, me->queue) == 0;
                        if (!linked || !grouped || !me->answered || !o->answered)
                            continue;
                        if (o->gap_s * 1000000 < SC_FCR_CONTINUATION_US_DEFAULT)
                            continue; /* o continues me: I stay resolved */
                        if (o->gap_s * 1000000 < windows[w].us) {
                            want = SC_FCR_REPEAT;
                            want_by = (ptrdiff_t)b;
                        }
                    }
                    if (me->link >= 0 && me->answered) {
                        const tcall *o = &t[me->link];
                        int grouped = !same_queue || strcmp(o->queue, me->queue) == 0;
                        size_t pb = 0;
                        while (idx[pb] != (size_t)me->link)
                            pb++;
                        if (grouped && o->answered) {
                            if (me->gap_s * 1000000 < SC_FCR_CONTINUATION_US_DEFAULT)
                                want_cont = (ptrdiff_t)pb;
                            else if (me->gap_s * 1000000 < windows[w].us)
                                want_of = (ptrdiff_t)pb;
                        }
                    }
                    if (res[a].status != want || res[a].repeated_by != want_by ||
                        res[a].repeat_of != want_of || res[a].continuation_of != want_cont)
                        fail_msg("%s (%s, window %s, same_queue %d): %s by %td of %td cont %td; "
                                 "truth implies %s by %td of %td cont %td",
                                 me->id, me->queue, windows[w].name, same_queue,
                                 sc_fcr_status_name(res[a].status), res[a].repeated_by,
                                 res[a].repeat_of, res[a].continuation_of, sc_fcr_status_name(want),
                                 want_by, want_of, want_cont);
                    repeats += want == SC_FCR_REPEAT;
                    resolved += want == SC_FCR_RESOLVED;
                    na += want == SC_FCR_NOT_APPLICABLE;
                    conts += want_cont >= 0;
                }
            }
            printf("FCR %-3s same_queue=%d: repeat %zu, continuation %zu, resolved %zu, "
                   "not_applicable %zu\n",
                   windows[w].name, same_queue, repeats, conts, resolved, na);
            assert_int_equal(repeats + resolved + na, n);
            assert_true(na >= 5);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_talk_vs_truth),
        cmocka_unit_test(test_dtmf_vs_truth),
        cmocka_unit_test(test_fcr_vs_truth),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
