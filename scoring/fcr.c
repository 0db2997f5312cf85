/*
 * fcr.c — first-call resolution decisions (see fcr.h).
 *
 * The eligible calls (answered, ANI not withheld) become keys (queue, index);
 * by queue they are sorted, so each group is a contiguous, INVITE-ordered
 * run (otherwise all share queue 0 and are one group). Per group: a forward
 * pass marks each member continuation or contact from its predecessor; a
 * backward pass carries "the next contact after me", deciding each member
 * in O(1); a last forward pass links repeat_of.
 */
#include "fcr.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

sc_fcr_params sc_fcr_params_default(int64_t now_us)
{
    sc_fcr_params p = {
        .window_us = SC_FCR_WINDOW_US_DEFAULT,
        .continuation_us = SC_FCR_CONTINUATION_US_DEFAULT,
        .same_queue = SC_FCR_SAME_QUEUE_DEFAULT,
        .now_us = now_us,
    };
    return p;
}

const char *sc_fcr_status_name(sc_fcr_status s)
{
    switch (s) {
    case SC_FCR_NOT_APPLICABLE:
        return "not_applicable";
    case SC_FCR_PENDING:
        return "pending";
    case SC_FCR_RESOLVED:
        return "resolved";
    case SC_FCR_REPEAT:
        return "repeat";
    }
    return "unknown";
}

/* a + b saturated to the int64 range (b > 0). */
static int64_t add_sat(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* b - a < lim, for a <= b, without overflow. */
static int gap_below(int64_t a, int64_t b, int64_t lim)
{
    return (uint64_t)b - (uint64_t)a < (uint64_t)lim;
}

typedef struct fcr_key {
    int64_t queue;
    size_t idx;
} fcr_key;

static int key_cmp(const void *a, const void *b)
{
    const fcr_key *x = a, *y = b;
    if (x->queue != y->queue)
        return x->queue < y->queue ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Decides one group: g[0..m) hold indices into calls, in INVITE order. */
static void decide_group(const sc_fcr_call *calls, const fcr_key *g, size_t m,
                         const sc_fcr_params *p, sc_fcr_result *out)
{
    /* Forward: continuation or contact. */
    for (size_t k = 0; k < m; k++) {
        size_t i = g[k].idx;
        out[i].due_us = add_sat(calls[i].invite_us, p->window_us);
        if (k > 0 &&
            gap_below(calls[g[k - 1].idx].invite_us, calls[i].invite_us, p->continuation_us))
            out[i].continuation_of = (ptrdiff_t)g[k - 1].idx;
    }
    /* Backward: the next contact (non-continuation) after each member. */
    ptrdiff_t next = -1;
    for (size_t k = m; k-- > 0;) {
        size_t i = g[k].idx;
        if (next >= 0 && gap_below(calls[i].invite_us, calls[next].invite_us, p->window_us)) {
            out[i].status = SC_FCR_REPEAT;
            out[i].repeated_by = next;
        } else if (p->now_us < out[i].due_us) {
            out[i].status = SC_FCR_PENDING;
        } else {
            out[i].status = SC_FCR_RESOLVED;
        }
        if (out[i].continuation_of < 0)
            next = (ptrdiff_t)i;
    }
    /* repeat_of: the previous member, when this contact repeats it. */
    for (size_t k = 1; k < m; k++) {
        size_t i = g[k].idx, prev = g[k - 1].idx;
        if (out[i].continuation_of < 0 && out[prev].repeated_by == (ptrdiff_t)i)
            out[i].repeat_of = (ptrdiff_t)prev;
    }
}

int sc_fcr_decide(const sc_fcr_call *calls, size_t n, const sc_fcr_params *p, sc_fcr_result *out)
{
    if (p == NULL || (n > 0 && (calls == NULL || out == NULL)) || p->window_us <= 0 ||
        p->continuation_us < 0)
        return CS_ERR_INVAL;
    for (size_t i = 1; i < n; i++)
        if (calls[i].invite_us < calls[i - 1].invite_us)
            return CS_ERR_INVAL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = (sc_fcr_result){SC_FCR_NOT_APPLICABLE, -1, -1, -1, 0};
        if (calls[i].answered && !calls[i].anonymous)
            m++;
    }
    if (m == 0)
        return CS_OK;
    if (m > SIZE_MAX / sizeof(fcr_key))
        return CS_ERR_OVERFLOW;
    fcr_key *keys = malloc(m * sizeof *keys);
    if (keys == NULL)
        return CS_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (calls[i].answered && !calls[i].anonymous)
            keys[k++] = (fcr_key){p->same_queue ? calls[i].queue_id : 0, i};
    if (p->same_queue)
        qsort(keys, m, sizeof *keys, key_cmp); /* by (queue, index): groups in order */
    for (size_t g0 = 0; g0 < m;) {
        size_t g1 = g0 + 1;
        while (g1 < m && keys[g1].queue == keys[g0].queue)
            g1++;
        decide_group(calls, keys + g0, g1 - g0, p, out);
        g0 = g1;
    }
    free(keys);
    return CS_OK;
}

int sc_ani_is_anonymous(const char *ani)
{
    if (ani == NULL)
        return 1;
    size_t len = strlen(ani);
    while (len > 0 && isspace((unsigned char)*ani)) {
        ani++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)ani[len - 1]))
        len--;
    if (len == 0)
        return 1;
    static const char *const names[] = {"anonymous", "restricted", "unavailable",
                                        "private",   "unknown",    "withheld"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && strncasecmp(ani, names[i], len) == 0)
            return 1;
    size_t i = ani[0] == '+' ? 1 : 0; /* "+" alone has no number either */
    for (; i < len; i++)
        if (ani[i] != '0')
            return 0;
    return 1;
}
