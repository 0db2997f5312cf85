/*
 * cg_scenario.c — call plans, their rendering into packets, the time-ordered
 * merge into one pcap, and the load mode (see cg_scenario.h).
 *
 * Planning. Every call gets a SIP "script": a list of (time, leg, action)
 * events written by the scenario's plan function, plus the truth fields
 * (times, outcome, utterances, DTMF, holds, transfers). Times are in ms
 * relative to the inbound INVITE (t0). The script is the single source of the
 * SIP flow; media streams are derived from the legs' answer/end times, the
 * holds and the DTMF list, so what the truth says and what the packets show
 * cannot drift apart.
 *
 * Topology (documentation and private ranges only):
 *   carrier trunk 203.0.113.<n> (IPv6 2001:db8:113::<n>)  -- inbound leg -->
 *   PBX 198.51.100.10 (IPv6 2001:db8:100::10)  -- agent legs -->
 *   agent phone 10.20.1.<ext-2000>.
 * The inbound leg's UAC is the carrier, its UAS the PBX; an agent leg's UAC is
 * the PBX, its UAS the agent phone. Channel "customer" is what the carrier
 * sends; channel "agent" is what the PBX sends to the carrier (IVR, then the
 * agents). The PBX anchors media: agent phones send to the PBX, which relays.
 *
 * Rendering. Only when the merge reaches a call's start: its two 16 kHz tracks
 * are built from the utterance list, each RTP stream is encoded frame by frame
 * (one encoder per stream, so encoder state is continuous), faults applied,
 * RTCP SRs added every 5 s, SIP text built from the script; the packet list
 * is sorted by (time, insertion order) and fed to the heap merge. A call's
 * packet list is freed as soon as its last packet is written.
 *
 * Writer clock: cg_net refuses timestamps that go back, and TCP helpers write
 * 2-3 frames at ts, ts+1, ts+2; the writer therefore clamps each frame's time
 * to the last written time (a shift of at most a few µs, only when two calls
 * collide on the same µs).
 *
 * Not here: SRTP, video, re-INVITE glare, forking, 183 early media.
 */
#include "cg_scenario.h"

#include "error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

/* ---------------------------------------------------------------- names */

static const struct {
    const char *name;
    const char *help;
} scen_tab[CG_SC__COUNT] = {
    [CG_SC_DIRECT] = {"direct", "carrier INVITE answered by the PBX when an agent picks up; "
                                "caller or agent hangs up"},
    [CG_SC_QUEUED] = {"queued", "B2BUA: PBX answers at once with IVR speech, then calls an agent "
                                "phone on a second leg carrying the correlation header"},
    [CG_SC_ABANDON_RING] = {"abandon_ring", "caller CANCELs while ringing (487)"},
    [CG_SC_ABANDON_QUEUE] = {"abandon_queue", "caller hangs up (BYE) while queued on the "
                                              "B2BUA; a ringing agent leg is CANCELled"},
    [CG_SC_BUSY] = {"busy", "PBX rejects with 486 Busy Here"},
    [CG_SC_NOANSWER] = {"noanswer", "rings, nobody answers: 480 Temporarily Unavailable"},
    [CG_SC_TIMEOUT] = {"timeout", "rings, nobody answers: 408 Request Timeout"},
    [CG_SC_HOLD] = {"hold", "direct call put on hold by the agent side (re-INVITE sendonly, "
                            "later sendrecv)"},
    [CG_SC_TRANSFER] = {"transfer", "queued call blind-transferred by agent 1 with REFER to "
                                    "agent 2 (NOTIFY sipfrag, new agent leg)"},
    [CG_SC_DTMF] = {"dtmf", "queued call; the caller keys RFC 4733 digits in the IVR "
                            "(every other instance a 16-digit card number)"},
    [CG_SC_REPEAT] = {"repeat", "the same ANI calls twice, minutes, hours or days apart"},
    [CG_SC_CODECS] = {"codecs", "direct call; instances cycle PCMU, PCMA, G.722, G.729, Opus"},
    [CG_SC_FAULTS] = {"faults", "direct call with loss, jitter, reordering, duplicates and an "
                                "SSRC change"},
    [CG_SC_TCP] = {"tcp", "direct call with SIP over TCP: two messages in one segment, one "
                          "message split over two segments"},
    [CG_SC_FRAGMENT] = {"fragment", "direct call whose UDP INVITE exceeds the 1500-byte MTU "
                                    "and is IP-fragmented"},
    [CG_SC_VLAN] = {"vlan", "direct call on 802.1Q VLAN 100"},
    [CG_SC_QINQ] = {"qinq", "direct call double-tagged (QinQ): outer VLAN 200, inner 300"},
    [CG_SC_IPV6] = {"ipv6", "direct call over IPv6 (SIP and SDP with IPv6 addresses)"},
    [CG_SC_GARBAGE] = {"garbage", "deliberately malformed packets on port 5060 (random bytes, "
                                  "truncated SIP, absurd Content-Length)"},
};

const char *cg_scen_name(cg_scen s)
{
    return (unsigned)s < CG_SC__COUNT ? scen_tab[s].name : NULL;
}

const char *cg_scen_help(cg_scen s)
{
    return (unsigned)s < CG_SC__COUNT ? scen_tab[s].help : NULL;
}

int cg_scen_parse(const char *name, cg_scen *out)
{
    if (!name)
        return CS_ERR_INVAL;
    for (int i = 0; i < CG_SC__COUNT; i++) {
        if (strcmp(name, scen_tab[i].name) == 0) {
            *out = (cg_scen)i;
            return CS_OK;
        }
    }
    return CS_ERR_INVAL;
}

const char *cg_outcome_name(cg_outcome o)
{
    static const char *const n[] = {"answered", "abandoned", "busy", "no_answer", "failed",
                                    "none"};
    return (unsigned)o <= CG_OUT_NONE ? n[o] : "failed";
}

const char *cg_party_name(cg_party p)
{
    static const char *const n[] = {"none", "caller", "agent", "pbx"};
    return (unsigned)p <= CG_BY_PBX ? n[p] : "none";
}

/* ---------------------------------------------------------------- time */

void cg_iso_time(uint64_t us, char *out, size_t cap)
{
    time_t s = (time_t)(us / 1000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)((us / 1000u) % 1000u));
}

int cg_parse_time(const char *s, uint64_t *us)
{
    if (!s || !us)
        return CS_ERR_INVAL;
    int Y, M, D, h, m, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6)
        return CS_ERR_INVAL;
    const char *p = s + n;
    unsigned frac = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 6) {
                frac = frac * 10 + (unsigned)(*p - '0');
                digits++;
            }
            p++;
        }
        if (digits == 0)
            return CS_ERR_INVAL;
        while (digits < 6) {
            frac *= 10;
            digits++;
        }
    }
    if (*p == 'Z')
        p++;
    if (*p != '\0' || Y < 1970 || Y > 2105 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 ||
        m > 59 || sec > 60)
        return CS_ERR_INVAL;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t < 0)
        return CS_ERR_INVAL;
    *us = (uint64_t)t * 1000000u + frac;
    return CS_OK;
}

/* ---------------------------------------------------------------- script */

typedef enum act {
    A_INVITE = 1,
    A_100,
    A_180,
    A_200_INV,
    A_ACK,
    A_486,
    A_480,
    A_408,
    A_487,
    A_ACK_FAIL,
    A_CANCEL,
    A_200_CANCEL,
    A_BYE_UAC,
    A_BYE_UAS,
    A_200_BYE,
    A_REINV_HOLD,   /* PBX (uas of the inbound leg) puts the caller on hold */
    A_REINV_RESUME,
    A_200_REINV,
    A_ACK_REINV,
    A_REFER,        /* agent phone (uas of an agent leg) */
    A_202,
    A_NOTIFY_TRY,   /* PBX -> phone, sipfrag 100 */
    A_NOTIFY_OK,    /* PBX -> phone, sipfrag 200 */
    A_200_NOTIFY
} act;

/* The script is kept beside the call, private to this file. */
#define MAX_EV 64
typedef struct sev {
    uint32_t t_ms;
    uint8_t leg;
    uint8_t act;
    uint8_t seg;    /* TCP: 1 = shares the segment with the next event */
} sev;

typedef struct plan {
    sev ev[MAX_EV];
    int nev;
    int dtmf_on_inbound;
} plan;

/* A run keeps one plan per call in a parallel array. */
typedef struct run_priv {
    plan *plans;
} run_priv;

static void ev_add(plan *p, uint64_t t_ms, int leg, act a)
{
    if (p->nev < MAX_EV) {
        p->ev[p->nev].t_ms = (uint32_t)t_ms;
        p->ev[p->nev].leg = (uint8_t)leg;
        p->ev[p->nev].act = (uint8_t)a;
        p->ev[p->nev].seg = 0;
        p->nev++;
    }
}

static int ev_cmp(const void *a, const void *b)
{
    const sev *x = a, *y = b;
    if (x->t_ms != y->t_ms)
        return x->t_ms < y->t_ms ? -1 : 1;
    return 0;
}

/* ---------------------------------------------------------------- planning helpers */

static const struct {
    const char *queue;
    const char *dnis[2];
} queue_tab[] = {
    {"sales", {"+18005550100", "+18005550101"}},
    {"support", {"+18005550110", "+18005550111"}},
    {"billing", {"+18005550120", "+18005550121"}},
};

static void rand_hex(cg_rng *r, char *out, size_t cap, int digits)
{
    static const char hx[] = "0123456789abcdef";
    size_t i = 0;
    for (; i + 1 < cap && (int)i < digits; i++)
        out[i] = hx[cg_rng_below(r, 16)];
    out[i] = '\0';
}

static void pick_agent(cg_rng *r, char *out, const char *avoid)
{
    for (;;) {
        snprintf(out, 8, "%d", (int)cg_rng_range(r, 2001, 2099));
        if (!avoid || strcmp(out, avoid) != 0)
            return;
    }
}

static const char *pbx_ip(int ipv6)
{
    return ipv6 ? "2001:db8:100::10" : "198.51.100.10";
}

static void carrier_ip(const cg_call *c, char *out, size_t cap)
{
    if (c->ipv6)
        snprintf(out, cap, "2001:db8:113::%x", c->carrier_host);
    else
        snprintf(out, cap, "203.0.113.%d", c->carrier_host);
}

static void phone_ip(const char *ext, char *out, size_t cap)
{
    snprintf(out, cap, "10.20.1.%d", atoi(ext) - 2000);
}

static const cg_clip *pick_clip(const cg_bank *b, cg_role role, cg_rng *r)
{
    const cg_clip *best = NULL;
    for (int i = 0; i < 4; i++) {
        const cg_clip *c = cg_bank_pick(b, role, r);
        if (!c)
            return best;
        if (!best || cg_clip_ms(c) < cg_clip_ms(best))
            best = c;
        if (cg_clip_ms(best) <= 9000)
            break;
    }
    return best;
}

static uint64_t utt_add(cg_call *c, int channel, uint64_t at_ms, const cg_clip *clip,
                        const char *source, const char *ext)
{
    if (!clip || c->nutts >= CG_MAX_UTT)
        return at_ms;
    cg_utt *u = &c->utts[c->nutts++];
    u->channel = channel;
    u->start_ms = at_ms;
    u->end_ms = at_ms + cg_clip_ms(clip);
    u->clip = clip;
    snprintf(u->source, sizeof u->source, "%s", source);
    snprintf(u->agent_ext, sizeof u->agent_ext, "%s", ext ? ext : "");
    if (clip->phrase != CG_PHRASE_NONE)
        c->phrases_said |= 1u << clip->phrase;
    return u->end_ms;
}

/* Which scripted phrase a call deliberately gets wrong: a function of the
 * answered-call ordinal, so every run with five or more answered calls covers
 * all four deviations. */
enum { DEV_NONE = 0, DEV_NO_GREETING, DEV_NO_VERIFICATION, DEV_NO_CLOSING, DEV_FORBIDDEN };

typedef struct conv_cfg {
    int greeting;      /* this part opens the call */
    int verification;  /* this part contains the identity check */
    int closing;       /* this part ends the call */
    int turns_min, turns_max;
    const char *ext;   /* agent speaking */
} conv_cfg;

typedef struct conv_state {
    int deviation;
    int want_dead_air;
    int want_overtalk;
    int forbidden_done;
} conv_state;

/* Places a conversation part starting at start_ms; returns the end of the last utterance. */
static uint64_t conversation(cg_call *c, const cg_bank *b, cg_rng *r, conv_state *cs,
                             uint64_t start_ms, const conv_cfg *cfg)
{
    uint64_t t = start_ms + (uint64_t)cg_rng_range(r, 300, 900);
    uint64_t last_end = t;
    uint64_t prev_start = t;
    int phrases = c->phrases_loaded;
    if (cfg->greeting) {
        const cg_clip *g = NULL;
        if (phrases && cs->deviation == DEV_NO_GREETING)
            c->phrases_omitted |= 1u << CG_PHRASE_GREETING;
        else if (phrases)
            g = cg_bank_phrase(b, CG_PHRASE_GREETING);
        if (!g)
            g = pick_clip(b, CG_ROLE_AGENT, r);
        prev_start = t;
        last_end = utt_add(c, 1, t, g, "agent", cfg->ext);
    }
    int turns = (int)cg_rng_range(r, cfg->turns_min, cfg->turns_max);
    int verification_pending = cfg->verification;
    int dead_turn = cs->want_dead_air ? (int)cg_rng_range(r, 0, turns - 1) : -1;
    int ot_turn = cs->want_overtalk ? (int)cg_rng_range(r, 1, turns - 1) : -1;
    int forbidden_turn = (!cs->forbidden_done && cs->deviation == DEV_FORBIDDEN && phrases)
                             ? (int)cg_rng_range(r, 1, turns - 1) | 1
                             : -1;
    int speaker = cfg->greeting ? 0 : (int)cg_rng_below(r, 2); /* 0 customer, 1 agent */
    for (int i = 0; i < turns; i++) {
        uint64_t gap = (uint64_t)cg_rng_range(r, 300, 1500);
        uint64_t at = last_end + gap;
        if (i == dead_turn && c->ndead_air < 2) {
            gap = (uint64_t)cg_rng_range(r, 6000, 12000);
            at = last_end + gap;
            c->dead_air[c->ndead_air].start_ms = last_end;
            c->dead_air[c->ndead_air].end_ms = at;
            c->ndead_air++;
            cs->want_dead_air = 0;
        } else if (i == ot_turn && c->novertalk < 2 && last_end > prev_start + 1600) {
            uint64_t back = (uint64_t)cg_rng_range(r, 500, 1500);
            at = last_end - back;
            c->overtalk[c->novertalk].start_ms = at;
            c->overtalk[c->novertalk].end_ms = last_end;
            c->novertalk++;
            cs->want_overtalk = 0;
        }
        const cg_clip *clip = NULL;
        uint64_t end;
        if (speaker == 1) {
            if (verification_pending && phrases) {
                verification_pending = 0;
                if (cs->deviation == DEV_NO_VERIFICATION)
                    c->phrases_omitted |= 1u << CG_PHRASE_VERIFICATION;
                else
                    clip = cg_bank_phrase(b, CG_PHRASE_VERIFICATION);
            } else if (i >= forbidden_turn && forbidden_turn >= 0 && !cs->forbidden_done) {
                clip = cg_bank_phrase(b, CG_PHRASE_FORBIDDEN);
                cs->forbidden_done = 1;
            }
            if (!clip)
                clip = pick_clip(b, CG_ROLE_AGENT, r);
            end = utt_add(c, 1, at, clip, "agent", cfg->ext);
        } else {
            clip = pick_clip(b, CG_ROLE_CUSTOMER, r);
            end = utt_add(c, 0, at, clip, "customer", NULL);
        }
        prev_start = at;
        if (end > last_end)
            last_end = end;
        speaker ^= 1;
    }
    if (cfg->closing && phrases) {
        uint64_t at = last_end + (uint64_t)cg_rng_range(r, 300, 900);
        if (cs->deviation == DEV_NO_CLOSING) {
            c->phrases_omitted |= 1u << CG_PHRASE_CLOSING;
        } else {
            last_end = utt_add(c, 1, at, cg_bank_phrase(b, CG_PHRASE_CLOSING), "agent",
                               cfg->ext);
        }
    }
    return last_end;
}

/* A Luhn-valid 16-digit number starting with 4. */
static void card_number(cg_rng *r, char out[17])
{
    out[0] = '4';
    for (int i = 1; i < 15; i++)
        out[i] = (char)('0' + cg_rng_below(r, 10));
    int sum = 0;
    for (int i = 0; i < 15; i++) {
        int d = out[i] - '0';
        if ((15 - i) % 2 == 1) { /* positions doubled, counting from the check digit */
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    out[15] = (char)('0' + (10 - sum % 10) % 10);
    out[16] = '\0';
}

static uint64_t dtmf_run(cg_call *c, cg_rng *r, uint64_t at, const char *digits, int card)
{
    for (const char *d = digits; *d && c->ndtmf < CG_MAX_DTMF; d++) {
        at = (at + 19) / 20 * 20;
        cg_dtmf_truth *t = &c->dtmf[c->ndtmf++];
        t->digit = *d;
        t->at_ms = at;
        t->duration_ms = (int)cg_rng_range(r, 4, 9) * 20;
        t->card = card;
        /* the event occupies duration + 3 end packets; then a pause */
        at += (uint64_t)t->duration_ms + 60 + (uint64_t)cg_rng_range(r, 120, 400);
    }
    return at;
}

/* strcpy with truncation; safe when dst and src are fields of one struct */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memmove(dst, src, n);
    dst[n] = '\0';
}

static void leg_init(cg_call *c, cg_rng *r, int inbound, const char *ext)
{
    cg_leg *l = &c->legs[c->nlegs++];
    memset(l, 0, sizeof *l);
    l->inbound = inbound;
    l->transport = inbound ? c->transport : CG_SIP_UDP;
    l->ipv6 = inbound ? c->ipv6 : 0;
    l->nvlan = c->nvlan;
    l->vlan[0] = c->vlan[0];
    l->vlan[1] = c->vlan[1];
    char hex[24];
    rand_hex(r, hex, sizeof hex, 16);
    rand_hex(r, l->from_tag, sizeof l->from_tag, 10);
    rand_hex(r, l->to_tag, sizeof l->to_tag, 10);
    if (inbound) {
        carrier_ip(c, l->uac_ip, sizeof l->uac_ip);
        snprintf(l->uas_ip, sizeof l->uas_ip, "%s", pbx_ip(c->ipv6));
        char ip[48];
        carrier_ip(c, ip, sizeof ip);
        snprintf(l->call_id, sizeof l->call_id, "%s@%s%s%s", hex, c->ipv6 ? "[" : "", ip,
                 c->ipv6 ? "]" : "");
        copy_str(l->from_user, sizeof l->from_user, c->ani);
        copy_str(l->to_user, sizeof l->to_user, c->dnis);
    } else {
        snprintf(l->uac_ip, sizeof l->uac_ip, "%s", pbx_ip(0));
        phone_ip(ext, l->uas_ip, sizeof l->uas_ip);
        snprintf(l->call_id, sizeof l->call_id, "%s-agent@%s", hex, pbx_ip(0));
        copy_str(l->from_user, sizeof l->from_user, c->ani);
        copy_str(l->to_user, sizeof l->to_user, ext);
        copy_str(l->agent_ext, sizeof l->agent_ext, ext);
        copy_str(l->correlation, sizeof l->correlation, c->legs[0].call_id);
    }
}


/* ---------------------------------------------------------------- scenario plans */

typedef struct plan_ctx {
    const cg_bank *bank;
    cg_rng *r;
    int answered_ordinal;
} plan_ctx;

static conv_state conv_for(cg_call *c, plan_ctx *pc)
{
    conv_state cs;
    memset(&cs, 0, sizeof cs);
    (void)c;
    int o = pc->answered_ordinal++;
    cs.deviation = o % 5;
    cs.want_dead_air = o % 3 == 1;
    cs.want_overtalk = o % 3 == 2;
    return cs;
}

/* End of an answered call: caller or agent hangs up at `at`. Legs: 0 inbound,
 * agent_leg the connected agent leg or -1. */
static void plan_hangup(cg_call *c, plan *p, cg_rng *r, uint64_t at, int agent_leg)
{
    int caller = cg_rng_below(r, 2) == 0;
    c->hangup_by = caller ? CG_BY_CALLER : CG_BY_AGENT;
    uint64_t t = at;
    if (agent_leg < 0) {
        ev_add(p, t, 0, caller ? A_BYE_UAC : A_BYE_UAS);
        t += (uint64_t)cg_rng_range(r, 10, 40);
        ev_add(p, t, 0, A_200_BYE);
        c->legs[0].end_us = t;
    } else if (caller) {
        ev_add(p, t, 0, A_BYE_UAC);
        uint64_t t2 = t + (uint64_t)cg_rng_range(r, 10, 40);
        ev_add(p, t2, 0, A_200_BYE);
        c->legs[0].end_us = t2;
        uint64_t t3 = t + (uint64_t)cg_rng_range(r, 5, 20);
        ev_add(p, t3, agent_leg, A_BYE_UAC);
        t = t3 + (uint64_t)cg_rng_range(r, 10, 40);
        ev_add(p, t, agent_leg, A_200_BYE);
        c->legs[agent_leg].end_us = t;
        if (t2 > t)
            t = t2;
    } else {
        ev_add(p, t, agent_leg, A_BYE_UAS);
        uint64_t t2 = t + (uint64_t)cg_rng_range(r, 10, 40);
        ev_add(p, t2, agent_leg, A_200_BYE);
        c->legs[agent_leg].end_us = t2;
        uint64_t t3 = t + (uint64_t)cg_rng_range(r, 5, 20);
        ev_add(p, t3, 0, A_BYE_UAS);
        t = t3 + (uint64_t)cg_rng_range(r, 10, 40);
        ev_add(p, t, 0, A_200_BYE);
        c->legs[0].end_us = t;
        if (t2 > t)
            t = t2;
    }
    c->end_us = t;
}

/* INVITE, 100, 180 on leg 0; returns the time of the 180. */
static uint64_t plan_ring(cg_call *c, plan *p, cg_rng *r, int leg, uint64_t t)
{
    c->legs[leg].invite_us = t;
    ev_add(p, t, leg, A_INVITE);
    uint64_t t100 = t + (uint64_t)cg_rng_range(r, 10, 40);
    ev_add(p, t100, leg, A_100);
    uint64_t t180 = t100 + (uint64_t)cg_rng_range(r, 40, 200);
    if (c->legs[leg].transport == CG_SIP_TCP) {
        t180 = t100; /* 100 and 180 leave together: one TCP segment with two messages */
        p->ev[p->nev - 1].seg = 1;
    }
    ev_add(p, t180, leg, A_180);
    if (leg == 0)
        c->ring_us = t180;
    return t180;
}

static uint64_t plan_answer(cg_call *c, plan *p, cg_rng *r, int leg, uint64_t t)
{
    ev_add(p, t, leg, A_200_INV);
    c->legs[leg].answer_us = t;
    c->legs[leg].final_code = 200;
    uint64_t ack = t + (uint64_t)cg_rng_range(r, 20, 60);
    ev_add(p, ack, leg, A_ACK);
    return ack;
}

static void plan_direct(cg_call *c, plan *p, plan_ctx *pc)
{
    cg_rng *r = pc->r;
    const char *ext = c->agents[0];
    uint64_t t180 = plan_ring(c, p, r, 0, 0);
    uint64_t ans = t180 + (uint64_t)cg_rng_range(r, 2000, 9000);
    ans = (ans + 19) / 20 * 20;
    plan_answer(c, p, r, 0, ans);
    c->answer_us = ans;
    c->outcome = CG_OUT_ANSWERED;
    conv_state cs = conv_for(c, pc);
    uint64_t end;
    if (c->scen == CG_SC_HOLD) {
        conv_cfg a = {1, 1, 0, 2, 3, ext};
        uint64_t e1 = conversation(c, pc->bank, r, &cs, ans, &a);
        uint64_t h0 = e1 + (uint64_t)cg_rng_range(r, 400, 1000);
        ev_add(p, h0, 0, A_REINV_HOLD);
        ev_add(p, h0 + 30, 0, A_200_REINV);
        ev_add(p, h0 + 60, 0, A_ACK_REINV);
        uint64_t h1 = h0 + (uint64_t)cg_rng_range(r, 8000, 20000);
        ev_add(p, h1, 0, A_REINV_RESUME);
        ev_add(p, h1 + 30, 0, A_200_REINV);
        ev_add(p, h1 + 60, 0, A_ACK_REINV);
        c->holds[0].start_ms = h0;
        c->holds[0].end_ms = h1 + 30;
        c->nholds = 1;
        conv_cfg b = {0, 0, 1, 1, 2, ext};
        end = conversation(c, pc->bank, r, &cs, h1 + 60, &b);
    } else {
        conv_cfg a = {1, 1, 1, 2, 4, ext};
        end = conversation(c, pc->bank, r, &cs, ans, &a);
    }
    plan_hangup(c, p, r, end + (uint64_t)cg_rng_range(r, 500, 1500), -1);
}

static void plan_queued(cg_call *c, plan *p, plan_ctx *pc)
{
    cg_rng *r = pc->r;
    ev_add(p, 0, 0, A_INVITE);
    c->legs[0].invite_us = 0;
    ev_add(p, (uint64_t)cg_rng_range(r, 10, 40), 0, A_100);
    uint64_t pbx_ans = (uint64_t)cg_rng_range(r, 300, 1200) / 20 * 20;
    plan_answer(c, p, r, 0, pbx_ans);
    /* IVR announcement on the agent channel */
    const cg_clip *ivr = pick_clip(pc->bank, CG_ROLE_AGENT, r);
    uint64_t t = utt_add(c, 1, pbx_ans + 300, ivr, "ivr", NULL);
    if (c->scen == CG_SC_DTMF) {
        uint64_t at = t + 500;
        at = dtmf_run(c, r, at, (const char *[]){"1", "2", "3"}[cg_rng_below(r, 3)], 0);
        if (c->instance % 2 == 0) {
            char card[18];
            card_number(r, card);
            at = dtmf_run(c, r, at + 800, card, 1);
            at = dtmf_run(c, r, at + 200, "#", 0);
        }
        t = at;
    }
    uint64_t q = t + (uint64_t)cg_rng_range(r, 1000, 5000);
    c->ivr_end_ms = q;
    if (c->scen == CG_SC_ABANDON_QUEUE) {
        c->outcome = CG_OUT_ABANDONED;
        c->hangup_by = CG_BY_CALLER;
        if (c->instance % 2 == 0) {
            /* an agent phone is ringing when the caller gives up */
            leg_init(c, r, 0, c->agents[0]);
            uint64_t t180 = plan_ring(c, p, r, 1, q);
            uint64_t bye = t180 + (uint64_t)cg_rng_range(r, 1000, 4000);
            c->abandon_us = bye;
            ev_add(p, bye, 0, A_BYE_UAC);
            ev_add(p, bye + 20, 0, A_200_BYE);
            c->legs[0].end_us = bye + 20;
            ev_add(p, bye + 10, 1, A_CANCEL);
            ev_add(p, bye + 25, 1, A_200_CANCEL);
            ev_add(p, bye + 30, 1, A_487);
            ev_add(p, bye + 50, 1, A_ACK_FAIL);
            c->legs[1].final_code = 487;
            c->legs[1].end_us = bye + 50;
            c->end_us = bye + 50;
        } else {
            uint64_t bye = q;
            c->abandon_us = bye;
            ev_add(p, bye, 0, A_BYE_UAC);
            ev_add(p, bye + 20, 0, A_200_BYE);
            c->legs[0].end_us = bye + 20;
            c->end_us = bye + 20;
        }
        c->nagents = 0;
        return;
    }
    leg_init(c, r, 0, c->agents[0]);
    uint64_t t180 = plan_ring(c, p, r, 1, q);
    uint64_t ans = (t180 + (uint64_t)cg_rng_range(r, 2000, 6000)) / 20 * 20;
    plan_answer(c, p, r, 1, ans);
    c->answer_us = ans;
    c->outcome = CG_OUT_ANSWERED;
    conv_state cs = conv_for(c, pc);
    if (c->scen == CG_SC_TRANSFER) {
        conv_cfg a = {1, 1, 0, 1, 2, c->agents[0]};
        uint64_t e1 = conversation(c, pc->bank, r, &cs, ans, &a);
        uint64_t rt = e1 + (uint64_t)cg_rng_range(r, 300, 800);
        ev_add(p, rt, 1, A_REFER);
        ev_add(p, rt + 20, 1, A_202);
        ev_add(p, rt + 40, 1, A_NOTIFY_TRY);
        ev_add(p, rt + 60, 1, A_200_NOTIFY);
        leg_init(c, r, 0, c->agents[1]);
        uint64_t t180b = plan_ring(c, p, r, 2, rt + 100);
        uint64_t ans2 = (t180b + (uint64_t)cg_rng_range(r, 2000, 5000)) / 20 * 20;
        plan_answer(c, p, r, 2, ans2);
        ev_add(p, ans2 + 80, 1, A_NOTIFY_OK);
        ev_add(p, ans2 + 100, 1, A_200_NOTIFY);
        ev_add(p, ans2 + 150, 1, A_BYE_UAS);
        ev_add(p, ans2 + 170, 1, A_200_BYE);
        c->legs[1].end_us = ans2 + 170;
        cg_transfer *tr = &c->transfers[0];
        tr->at_ms = rt;
        snprintf(tr->from_ext, sizeof tr->from_ext, "%s", c->agents[0]);
        snprintf(tr->to_ext, sizeof tr->to_ext, "%s", c->agents[1]);
        snprintf(tr->method, sizeof tr->method, "refer");
        tr->new_leg = 2;
        c->ntransfers = 1;
        conv_cfg b = {0, 0, 1, 2, 3, c->agents[1]};
        uint64_t e2 = conversation(c, pc->bank, r, &cs, ans2, &b);
        plan_hangup(c, p, r, e2 + (uint64_t)cg_rng_range(r, 500, 1500), 2);
    } else {
        c->nagents = 1;
        conv_cfg a = {1, 1, 1, 2, 4, c->agents[0]};
        uint64_t e = conversation(c, pc->bank, r, &cs, ans, &a);
        plan_hangup(c, p, r, e + (uint64_t)cg_rng_range(r, 500, 1500), 1);
    }
}

static void plan_unanswered(cg_call *c, plan *p, plan_ctx *pc)
{
    cg_rng *r = pc->r;
    c->nagents = 0;
    if (c->scen == CG_SC_BUSY) {
        ev_add(p, 0, 0, A_INVITE);
        uint64_t t100 = (uint64_t)cg_rng_range(r, 10, 40);
        ev_add(p, t100, 0, A_100);
        uint64_t t = t100 + (uint64_t)cg_rng_range(r, 100, 600);
        ev_add(p, t, 0, A_486);
        ev_add(p, t + 20, 0, A_ACK_FAIL);
        c->legs[0].final_code = 486;
        c->outcome = CG_OUT_BUSY;
        c->hangup_by = CG_BY_PBX;
        c->end_us = t + 20;
        c->legs[0].end_us = t + 20;
        return;
    }
    uint64_t t180 = plan_ring(c, p, r, 0, 0);
    uint64_t t;
    if (c->scen == CG_SC_ABANDON_RING) {
        t = t180 + (uint64_t)cg_rng_range(r, 3000, 12000);
        ev_add(p, t, 0, A_CANCEL);
        ev_add(p, t + 15, 0, A_200_CANCEL);
        ev_add(p, t + 20, 0, A_487);
        ev_add(p, t + 40, 0, A_ACK_FAIL);
        c->legs[0].final_code = 487;
        c->outcome = CG_OUT_ABANDONED;
        c->abandon_us = t;
        c->hangup_by = CG_BY_CALLER;
    } else {
        int code = c->scen == CG_SC_TIMEOUT ? 408 : 480;
        t = t180 + (uint64_t)(code == 408 ? cg_rng_range(r, 30000, 32000)
                                          : cg_rng_range(r, 18000, 30000));
        ev_add(p, t, 0, code == 408 ? A_408 : A_480);
        ev_add(p, t + 20, 0, A_ACK_FAIL);
        c->legs[0].final_code = code;
        c->outcome = CG_OUT_NO_ANSWER;
        c->hangup_by = CG_BY_PBX;
        t -= 20;
    }
    c->end_us = t + 40;
    c->legs[0].end_us = t + 40;
}

static void plan_garbage(cg_call *c, cg_rng *r)
{
    static const char *const kinds[] = {"random_bytes", "truncated_sip", "bad_content_length",
                                        "random_bytes"};
    c->outcome = CG_OUT_NONE;
    c->nagents = 0;
    uint64_t t = 0;
    for (int i = 0; i < 4; i++) {
        cg_garbage *g = &c->garbage[c->ngarbage++];
        snprintf(g->kind, sizeof g->kind, "%s", kinds[i]);
        g->t_us = t;
        t += (uint64_t)cg_rng_range(r, 100, 900);
    }
    c->end_us = t;
}

/* ---------------------------------------------------------------- run planning */

static void call_base(cg_call *c, const cg_gen_opts *o, cg_scen s, int instance, int global)
{
    memset(c, 0, sizeof *c);
    c->scen = s;
    c->instance = instance;
    c->repeat_of = -1;
    c->rng_stream = (uint64_t)(s + 1) * 1000003u + (uint64_t)instance;
    const char *sn = cg_scen_name(s);
    snprintf(c->id, sizeof c->id, "%s-%d", sn ? sn : "call", instance + 1);
    if (s == CG_SC_CODECS && o->codec < 0)
        c->codec = (cg_codec)(instance % CG_CODEC__COUNT);
    else
        c->codec = o->codec >= 0 ? (cg_codec)o->codec : (cg_codec)(global % CG_CODEC__COUNT);
    c->transport = s == CG_SC_TCP ? CG_SIP_TCP : CG_SIP_UDP;
    c->ipv6 = s == CG_SC_IPV6;
    if (s == CG_SC_VLAN) {
        c->nvlan = 1;
        c->vlan[0] = 100;
    } else if (s == CG_SC_QINQ) {
        c->nvlan = 2;
        c->vlan[0] = 200;
        c->vlan[1] = 300;
    }
    c->faults = o->faults;
    c->ssrc_change = o->ssrc_change;
    if (s == CG_SC_FAULTS) {
        if (c->faults.loss_pct < 3)
            c->faults.loss_pct = 3;
        if (c->faults.duplicate_pct < 2)
            c->faults.duplicate_pct = 2;
        if (c->faults.reorder_pct < 2)
            c->faults.reorder_pct = 2;
        if (c->faults.jitter_ms < 30)
            c->faults.jitter_ms = 30;
        c->ssrc_change = 1;
    }
}

static void plan_call(cg_call *c, plan *p, plan_ctx *pc, const char *ani)
{
    cg_rng *r = pc->r;
    int qi = (int)cg_rng_below(r, 3);
    snprintf(c->queue, sizeof c->queue, "%s", queue_tab[qi].queue);
    snprintf(c->dnis, sizeof c->dnis, "%s", queue_tab[qi].dnis[cg_rng_below(r, 2)]);
    if (ani)
        snprintf(c->ani, sizeof c->ani, "%s", ani);
    else
        snprintf(c->ani, sizeof c->ani, "+1555%07d", (int)cg_rng_below(r, 10000000));
    c->carrier_host = (int)cg_rng_range(r, 1, 40);
    pick_agent(r, c->agents[0], NULL);
    pick_agent(r, c->agents[1], c->agents[0]);
    c->nagents = 1;
    c->phrases_loaded = cg_bank_phrase(pc->bank, CG_PHRASE_GREETING) != NULL;
    if (c->scen != CG_SC_GARBAGE)
        leg_init(c, r, 1, NULL);
    switch (c->scen) {
    case CG_SC_QUEUED:
    case CG_SC_TRANSFER:
    case CG_SC_DTMF:
    case CG_SC_ABANDON_QUEUE:
        plan_queued(c, p, pc);
        if (c->scen == CG_SC_TRANSFER)
            c->nagents = 2;
        break;
    case CG_SC_ABANDON_RING:
    case CG_SC_BUSY:
    case CG_SC_NOANSWER:
    case CG_SC_TIMEOUT:
        plan_unanswered(c, p, pc);
        break;
    case CG_SC_GARBAGE:
        plan_garbage(c, r);
        break;
    default:
        plan_direct(c, p, pc);
        break;
    }
    qsort(p->ev, (size_t)p->nev, sizeof p->ev[0], ev_cmp);
}

static int cmp_t0(const void *a, const void *b)
{
    const cg_call *x = a, *y = b;
    if (x->t0_us != y->t0_us)
        return x->t0_us < y->t0_us ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* ms times inside a call -> absolute µs, once the start time is known */
static void call_absolutize(cg_call *c)
{
    uint64_t t0 = c->t0_us;
#define ABS(x) ((x) = t0 + (x) * 1000u)
    if (c->ring_us)
        ABS(c->ring_us);
    if (c->answer_us)
        ABS(c->answer_us);
    ABS(c->end_us);
    if (c->abandon_us)
        ABS(c->abandon_us);
    for (int i = 0; i < c->nlegs; i++) {
        ABS(c->legs[i].invite_us);
        if (c->legs[i].answer_us)
            ABS(c->legs[i].answer_us);
        ABS(c->legs[i].end_us);
    }
    for (int i = 0; i < c->ngarbage; i++)
        ABS(c->garbage[i].t_us);
#undef ABS
}

int cg_run_plan(cg_run *r, const cg_gen_opts *o, const cg_bank *bank)
{
    memset(r, 0, sizeof *r);
    if (!o || o->nscen <= 0 || !bank)
        return CS_ERR_INVAL;
    r->opts = o;
    r->bank = bank;
    int per = o->all ? 1 : (o->calls > 0 ? o->calls : 1);
    size_t cap = 0;
    for (int i = 0; i < o->nscen; i++)
        cap += (size_t)per * (o->scen[i] == CG_SC_REPEAT ? 2 : 1);
    r->calls = calloc(cap, sizeof *r->calls);
    plan *plans = calloc(cap, sizeof *plans);
    if (!r->calls || !plans) {
        free(r->calls);
        free(plans);
        r->calls = NULL;
        return CS_ERR_NOMEM;
    }
    cg_rng sched;
    cg_rng_seed(&sched, o->seed, 0x5c4ed);
    plan_ctx pc = {bank, NULL, 0};
    uint64_t t = o->start_us;
    size_t n = 0;
    for (int i = 0; i < o->nscen; i++) {
        for (int k = 0; k < per; k++) {
            cg_call *c = &r->calls[n];
            call_base(c, o, o->scen[i], k, (int)n);
            c->index = (int)n;
            cg_rng rng;
            cg_rng_seed(&rng, o->seed, c->rng_stream);
            pc.r = &rng;
            plan_call(c, &plans[n], &pc, NULL);
            c->t0_us = t;
            size_t first = n++;
            if (o->scen[i] == CG_SC_REPEAT) {
                cg_call *c2 = &r->calls[n];
                call_base(c2, o, CG_SC_REPEAT, k, (int)n);
                c2->index = (int)n;
                c2->rng_stream = c->rng_stream + 500000u;
                snprintf(c2->id, sizeof c2->id, "repeat-%d-return", k + 1);
                cg_rng rng2;
                cg_rng_seed(&rng2, o->seed, c2->rng_stream);
                pc.r = &rng2;
                plan_call(c2, &plans[n], &pc, c->ani);
                static const uint64_t unit_s[] = {60, 3600, 86400};
                int u = (int)cg_rng_below(&rng, 3);
                uint64_t gap_s = unit_s[u] * (uint64_t)cg_rng_range(&rng, 1, u == 0 ? 50 : (u == 1 ? 20 : 6));
                c2->t0_us = t + gap_s * 1000000u;
                c2->repeat_of = (int)first;
                c2->repeat_gap_us = gap_s * 1000000u;
                n++;
            }
            t += (uint64_t)cg_rng_range(&sched, 2000, 12000) * 1000u;
        }
    }
    r->ncalls = n;
    for (size_t i = 0; i < n; i++)
        call_absolutize(&r->calls[i]);
    /* sort calls (and their plans) by start time; remap repeat links */
    size_t *order = calloc(n, sizeof *order);
    cg_call *sorted = calloc(n, sizeof *sorted);
    plan *psorted = calloc(n, sizeof *psorted);
    int *newpos = calloc(n, sizeof *newpos);
    if (!order || !sorted || !psorted || !newpos) {
        free(order);
        free(sorted);
        free(psorted);
        free(newpos);
        free(plans);
        free(r->calls);
        r->calls = NULL;
        return CS_ERR_NOMEM;
    }
    memcpy(sorted, r->calls, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_t0);
    for (size_t i = 0; i < n; i++) {
        newpos[sorted[i].index] = (int)i;
        psorted[i] = plans[sorted[i].index];
    }
    for (size_t i = 0; i < n; i++) {
        if (sorted[i].repeat_of >= 0)
            sorted[i].repeat_of = newpos[sorted[i].repeat_of];
        sorted[i].index = (int)i;
    }
    free(r->calls);
    free(plans);
    free(order);
    free(newpos);
    r->calls = sorted;
    run_priv *priv = malloc(sizeof *priv);
    if (!priv) {
        free(psorted);
        free(r->calls);
        r->calls = NULL;
        return CS_ERR_NOMEM;
    }
    priv->plans = psorted;
    r->priv_ = priv;
    return CS_OK;
}

void cg_run_free(cg_run *r)
{
    if (!r)
        return;
    run_priv *priv = r->priv_;
    if (priv) {
        free(priv->plans);
        free(priv);
    }
    free(r->calls);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- packets */

enum { PK_UDP = 0, PK_TCP_CONNECT, PK_TCP_SEND, PK_TCP_CLOSE };

typedef struct pkt {
    uint64_t t_us;
    uint32_t order;
    uint8_t kind;
    uint8_t from_client;
    int8_t garbage;       /* index in c->garbage or -1 */
    uint8_t counts_sip;   /* SIP messages in this packet */
    uint8_t is_rtp;
    uint8_t is_rtcp;
    cg_link link;
    cg_addr src, dst;
    uint8_t *data;
    uint32_t len;
} pkt;

typedef struct plist {
    pkt *v;
    size_t n, cap;
    uint32_t order;
    int err;
} plist;

static pkt *plist_add(plist *l, uint64_t t_us, const uint8_t *data, size_t len)
{
    if (l->err)
        return NULL;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 1024;
        pkt *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv) {
            l->err = CS_ERR_NOMEM;
            return NULL;
        }
        l->v = nv;
        l->cap = nc;
    }
    pkt *p = &l->v[l->n];
    memset(p, 0, sizeof *p);
    p->garbage = -1;
    p->t_us = t_us;
    p->order = l->order++;
    if (len) {
        p->data = malloc(len);
        if (!p->data) {
            l->err = CS_ERR_NOMEM;
            return NULL;
        }
        memcpy(p->data, data, len);
    }
    p->len = (uint32_t)len;
    l->n++;
    return p;
}

static void plist_free(plist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].data);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int pkt_cmp(const void *a, const void *b)
{
    const pkt *x = a, *y = b;
    if (x->t_us != y->t_us)
        return x->t_us < y->t_us ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void mac_for(const cg_addr *a, uint8_t mac[6])
{
    const uint8_t *ip = a->family == AF_INET6 ? a->ip + 12 : a->ip;
    mac[0] = 0x02;
    mac[1] = 0x00;
    memcpy(mac + 2, ip, 4);
}

static void make_link(const cg_leg *l, const cg_addr *src, const cg_addr *dst, cg_link *out)
{
    memset(out, 0, sizeof *out);
    mac_for(src, out->src_mac);
    mac_for(dst, out->dst_mac);
    out->nvlan = l->nvlan;
    out->vlan[0] = l->vlan[0];
    out->vlan[1] = l->vlan[1];
}

/* ---------------------------------------------------------------- rendering: SIP */

typedef struct leg_rt {
    cg_sip_dialog d;
    cg_sip_txn inv, cancel, bye, reinv, refer, notify;
    int reinv_hold;
    uint16_t rtp_uac, rtp_uas;   /* RTP ports of each side */
} leg_rt;

typedef struct render {
    const cg_gen_opts *o;
    const cg_bank *bank;
    cg_call *c;
    plan *p;
    plist pl;
    leg_rt legs[CG_MAX_LEGS];
    char buf[CG_SIP_MAX];
    char sdp[4096];
    char extra[4096];
} render;

static void leg_addr(const cg_leg *l, int uac, uint16_t port, cg_addr *a)
{
    cg_addr_parse(uac ? l->uac_ip : l->uas_ip, port, a);
}

static void setup_legs(render *R)
{
    cg_call *c = R->c;
    uint32_t slot = (uint32_t)(c->index % 4000);
    for (int i = 0; i < c->nlegs; i++) {
        cg_leg *l = &c->legs[i];
        leg_rt *lr = &R->legs[i];
        memset(lr, 0, sizeof *lr);
        cg_sip_dialog *d = &lr->d;
        snprintf(d->call_id, sizeof d->call_id, "%s", l->call_id);
        d->transport = l->transport;
        snprintf(d->ruri_user, sizeof d->ruri_user, "%s", l->to_user);
        snprintf(d->uac.user, sizeof d->uac.user, "%s", l->from_user);
        snprintf(d->uac.host, sizeof d->uac.host, "%s", l->uac_ip);
        d->uac.ipv6 = l->ipv6;
        d->uac.port = 5060;
        snprintf(d->uac.tag, sizeof d->uac.tag, "%s", l->from_tag);
        snprintf(d->uas.user, sizeof d->uas.user, "%s", l->to_user);
        snprintf(d->uas.host, sizeof d->uas.host, "%s", l->uas_ip);
        d->uas.ipv6 = l->ipv6;
        d->uas.port = 5060;
        snprintf(d->uas.tag, sizeof d->uas.tag, "%s", l->to_tag);
        if (l->inbound) {
            snprintf(d->uac.ua, sizeof d->uac.ua, "TrunkSBC/7.0");
            snprintf(d->uas.ua, sizeof d->uas.ua, "AcmePBX/2.3");
            lr->rtp_uac = (uint16_t)(20000 + 2 * slot);
            lr->rtp_uas = (uint16_t)(30000 + 8 * (slot % 4000) % 30000);
        } else {
            snprintf(d->uac.ua, sizeof d->uac.ua, "AcmePBX/2.3");
            snprintf(d->uas.ua, sizeof d->uas.ua, "AcmePhone/5.1");
            lr->rtp_uac = (uint16_t)(R->legs[0].rtp_uas + 2 * i);
            lr->rtp_uas = (uint16_t)(40000 + 2 * slot + 0);
        }
        uint64_t x = c->rng_stream * 131u + (uint64_t)i + R->o->seed * 0x9e37u;
        d->branch_seed = cg_splitmix64(&x);
    }
}

static int build_sdp(render *R, int leg, int uac_side, const char *dir, int version)
{
    cg_call *c = R->c;
    cg_leg *l = &c->legs[leg];
    cg_codec list[CG_CODEC__COUNT];
    size_t n = 0;
    list[n++] = c->codec;
    if (c->scen == CG_SC_FRAGMENT && uac_side && leg == 0) {
        for (int k = 0; k < CG_CODEC__COUNT; k++)
            if ((cg_codec)k != c->codec)
                list[n++] = (cg_codec)k;
    }
    cg_sdp s;
    memset(&s, 0, sizeof s);
    s.origin_user = uac_side ? (l->inbound ? "carrier" : "pbx") : (l->inbound ? "pbx" : "phone");
    s.sess_id = (c->rng_stream * 7919u + (uint64_t)leg * 2u + (uint64_t)uac_side) % 1000000000u;
    s.sess_version = (uint64_t)version;
    s.addr = uac_side ? l->uac_ip : l->uas_ip;
    s.ipv6 = l->ipv6;
    s.port = uac_side ? R->legs[leg].rtp_uac : R->legs[leg].rtp_uas;
    s.codecs = list;
    s.ncodecs = n;
    s.dtmf_pt = CG_DTMF_PT;
    s.direction = dir;
    return cg_sdp_build(&s, R->sdp, sizeof R->sdp);
}

/* Appends one SIP message of leg `leg` sent by the uac (from_uac) or uas. */
static int emit_sip(render *R, int leg, int from_uac, uint64_t t_us, int len, int share_next)
{
    (void)share_next;
    if (len < 0)
        return len;
    cg_call *c = R->c;
    cg_leg *l = &c->legs[leg];
    cg_addr src, dst;
    leg_addr(l, from_uac, 5060, &src);
    leg_addr(l, !from_uac, 5060, &dst);
    cg_link lk;
    /* cg_link describes the packet's own direction for UDP; for TCP the
     * client (uac) -> server direction */
    if (l->transport == CG_SIP_TCP)
        make_link(l, from_uac ? &src : &dst, from_uac ? &dst : &src, &lk);
    else
        make_link(l, &src, &dst, &lk);
    l->sip_messages++;
    c->sip_messages++;
    if (l->transport == CG_SIP_TCP && strncmp(R->buf, "INVITE ", 7) == 0 &&
        l->tcp_split == 0) {
        /* one message split over two segments */
        size_t half = (size_t)len / 2;
        pkt *a = plist_add(&R->pl, t_us, (const uint8_t *)R->buf, half);
        pkt *b = plist_add(&R->pl, t_us + 2000, (const uint8_t *)R->buf + half, (size_t)len - half);
        if (!a || !b)
            return R->pl.err;
        a->kind = b->kind = PK_TCP_SEND;
        a->from_client = b->from_client = (uint8_t)from_uac;
        a->link = b->link = lk;
        a->src = b->src = src;
        a->dst = b->dst = dst;
        a->counts_sip = 1;
        l->tcp_split++;
        return CS_OK;
    }
    pkt *p = plist_add(&R->pl, t_us, (const uint8_t *)R->buf, (size_t)len);
    if (!p)
        return R->pl.err;
    p->kind = l->transport == CG_SIP_TCP ? PK_TCP_SEND : PK_UDP;
    p->from_client = (uint8_t)from_uac;
    p->link = lk;
    p->src = src;
    p->dst = dst;
    p->counts_sip = 1;
    return CS_OK;
}

static int do_act(render *R, const sev *e)
{
    cg_call *c = R->c;
    int leg = e->leg;
    cg_leg *l = &c->legs[leg];
    leg_rt *lr = &R->legs[leg];
    cg_sip_dialog *d = &lr->d;
    uint64_t t_us = c->t0_us + (uint64_t)e->t_ms * 1000u;
    char *b = R->buf;
    size_t cap = sizeof R->buf;
    int n;
    int from_uac = 1;
    const char *sdp_type = "application/sdp";
    switch ((act)e->act) {
    case A_INVITE: {
        int sl = build_sdp(R, leg, 1, "sendrecv", 1);
        if (sl < 0)
            return sl;
        R->extra[0] = '\0';
        size_t xl = 0;
        if (!l->inbound)
            xl += (size_t)snprintf(R->extra + xl, sizeof R->extra - xl, "%s: %s\r\n",
                                   R->o->corr_header, l->correlation);
        else
            xl += (size_t)snprintf(R->extra + xl, sizeof R->extra - xl,
                                   "P-Asserted-Identity: <sip:%s@%s%s%s>\r\n", c->ani,
                                   l->ipv6 ? "[" : "", l->uac_ip, l->ipv6 ? "]" : "");
        if (c->scen == CG_SC_FRAGMENT && l->inbound) {
            for (int k = 0; k < 12 && xl < sizeof R->extra - 200; k++)
                xl += (size_t)snprintf(R->extra + xl, sizeof R->extra - xl,
                                       "X-Carrier-Route-%02d: trunk-group=%d;route=%d;"
                                       "carrier=example-carrier-%d;priority=%d\r\n",
                                       k, 100 + k, 7000 + k * 13, k, k);
            xl += (size_t)snprintf(R->extra + xl, sizeof R->extra - xl,
                                   "P-Charging-Vector: icid-value=%s;icid-generated-at=%s\r\n",
                                   l->call_id, l->uac_ip);
        }
        n = cg_sip_request(d, 1, "INVITE", NULL, R->extra, sdp_type, R->sdp, (size_t)sl,
                           &lr->inv, b, cap);
        if (c->scen == CG_SC_FRAGMENT && l->inbound && n > 1472)
            l->fragmented = 1;
        break;
    }
    case A_100:
        from_uac = 0;
        n = cg_sip_response(d, &lr->inv, 100, NULL, NULL, NULL, NULL, 0, b, cap);
        break;
    case A_180:
        from_uac = 0;
        d->to_tag_known = 1;
        n = cg_sip_response(d, &lr->inv, 180, NULL, NULL, NULL, NULL, 0, b, cap);
        break;
    case A_200_INV: {
        from_uac = 0;
        d->to_tag_known = 1;
        int sl = build_sdp(R, leg, 0, "sendrecv", 1);
        if (sl < 0)
            return sl;
        R->extra[0] = '\0';
        if (l->inbound && (c->scen != CG_SC_QUEUED && c->scen != CG_SC_TRANSFER &&
                           c->scen != CG_SC_DTMF && c->scen != CG_SC_ABANDON_QUEUE))
            snprintf(R->extra, sizeof R->extra, "P-Asserted-Identity: <sip:%s@%s%s%s>\r\n",
                     c->agents[0], l->ipv6 ? "[" : "", l->uas_ip, l->ipv6 ? "]" : "");
        n = cg_sip_response(d, &lr->inv, 200, NULL, R->extra[0] ? R->extra : NULL, sdp_type,
                            R->sdp, (size_t)sl, b, cap);
        break;
    }
    case A_ACK:
        n = cg_sip_request(d, 1, "ACK", NULL, NULL, NULL, NULL, 0, NULL, b, cap);
        break;
    case A_486:
    case A_480:
    case A_408:
    case A_487: {
        from_uac = 0;
        int code = e->act == A_486 ? 486 : e->act == A_480 ? 480 : e->act == A_408 ? 408 : 487;
        d->to_tag_known = 1;
        n = cg_sip_response(d, &lr->inv, code, NULL, NULL, NULL, NULL, 0, b, cap);
        break;
    }
    case A_ACK_FAIL:
        n = cg_sip_request(d, 1, "ACK", &lr->inv, NULL, NULL, NULL, 0, NULL, b, cap);
        break;
    case A_CANCEL:
        n = cg_sip_request(d, 1, "CANCEL", &lr->inv, NULL, NULL, NULL, 0, &lr->cancel, b, cap);
        break;
    case A_200_CANCEL:
        from_uac = 0;
        n = cg_sip_response(d, &lr->cancel, 200, NULL, NULL, NULL, NULL, 0, b, cap);
        break;
    case A_BYE_UAC:
    case A_BYE_UAS:
        from_uac = e->act == A_BYE_UAC;
        n = cg_sip_request(d, from_uac, "BYE", NULL, NULL, NULL, NULL, 0, &lr->bye, b, cap);
        break;
    case A_200_BYE:
        from_uac = !lr->bye.from_uac;
        n = cg_sip_response(d, &lr->bye, 200, NULL, NULL, NULL, NULL, 0, b, cap);
        break;
    case A_REINV_HOLD:
    case A_REINV_RESUME: {
        from_uac = 0; /* the PBX is the uas of the inbound leg */
        lr->reinv_hold = e->act == A_REINV_HOLD;
        int sl = build_sdp(R, leg, 0, lr->reinv_hold ? "sendonly" : "sendrecv",
                           lr->reinv_hold ? 2 : 3);
        if (sl < 0)
            return sl;
        n = cg_sip_request(d, 0, "INVITE", NULL, NULL, sdp_type, R->sdp, (size_t)sl, &lr->reinv,
                           b, cap);
        break;
    }
    case A_200_REINV: {
        from_uac = !lr->reinv.from_uac;
        int sl = build_sdp(R, leg, from_uac, lr->reinv_hold ? "recvonly" : "sendrecv",
                           lr->reinv_hold ? 2 : 3);
        if (sl < 0)
            return sl;
        n = cg_sip_response(d, &lr->reinv, 200, NULL, NULL, sdp_type, R->sdp, (size_t)sl, b,
                            cap);
        break;
    }
    case A_ACK_REINV:
        from_uac = lr->reinv.from_uac;
        n = cg_sip_request(d, from_uac, "ACK", NULL, NULL, NULL, NULL, 0, NULL, b, cap);
        break;
    case A_REFER: {
        from_uac = 0; /* the agent phone */
        cg_transfer *tr = &c->transfers[0];
        snprintf(R->extra, sizeof R->extra,
                 "Refer-To: <sip:%s@%s>\r\nReferred-By: <sip:%s@%s>\r\n", tr->to_ext,
                 l->uac_ip, tr->from_ext, l->uas_ip);
        n = cg_sip_request(d, 0, "REFER", NULL, R->extra, NULL, NULL, 0, &lr->refer, b, cap);
        break;
    }
    case A_202:
        n = cg_sip_response(d, &lr->refer, 202, NULL, NULL, NULL, NULL, 0, b, cap);
        break;
    case A_NOTIFY_TRY:
    case A_NOTIFY_OK: {
        int ok = e->act == A_NOTIFY_OK;
        const char *frag = ok ? "SIP/2.0 200 OK\r\n" : "SIP/2.0 100 Trying\r\n";
        snprintf(R->extra, sizeof R->extra, "Event: refer\r\nSubscription-State: %s\r\n",
                 ok ? "terminated;reason=noresource" : "active;expires=60");
        n = cg_sip_request(d, 1, "NOTIFY", NULL, R->extra, "message/sipfrag;version=2.0", frag,
                           strlen(frag), &lr->notify, b, cap);
        break;
    }
    case A_200_NOTIFY:
        from_uac = 0;
        n = cg_sip_response(d, &lr->notify, 200, NULL, NULL, NULL, NULL, 0, b, cap);
        break;
    default:
        return CS_ERR_STATE;
    }
    if (n < 0)
        return n;
    return emit_sip(R, leg, from_uac, t_us, n, e->seg);
}

/* TCP: after rendering, merge segments marked "seg" with the next SIP packet
 * of the same leg and direction (two messages in one segment). */
static int tcp_coalesce(render *R)
{
    plist *pl = &R->pl;
    for (size_t i = 0; i + 1 < pl->n; i++) {
        pkt *a = &pl->v[i], *b = &pl->v[i + 1];
        if (a->kind != PK_TCP_SEND || b->kind != PK_TCP_SEND || a->t_us != b->t_us ||
            a->from_client != b->from_client)
            continue;
        uint8_t *m = realloc(a->data, (size_t)a->len + b->len);
        if (!m)
            return CS_ERR_NOMEM;
        memcpy(m + a->len, b->data, b->len);
        a->data = m;
        a->len += b->len;
        a->counts_sip = (uint8_t)(a->counts_sip + b->counts_sip);
        free(b->data);
        memmove(b, b + 1, (pl->n - i - 2) * sizeof *b);
        pl->n--;
        R->c->legs[0].tcp_coalesced++;
    }
    return CS_OK;
}

/* ---------------------------------------------------------------- rendering: media */

typedef struct media {
    int leg;
    int from_uac;
    int channel;            /* 0 customer, 1 agent */
    const cg_track *track;
    uint64_t start_ms, end_ms;
    int hold_mode;          /* during holds: 0 normal, 1 silence, 2 stop */
    int dtmf;               /* carries the call's DTMF events */
    int ssrc_change;
    const char *from, *to;
    cg_rtp_stream st;
    int peer;               /* index of the opposite stream (RTCP report block), -1 */
} media;

static int in_hold(const cg_call *c, uint64_t ms)
{
    for (int i = 0; i < c->nholds; i++)
        if (ms >= c->holds[i].start_ms && ms < c->holds[i].end_ms)
            return 1;
    return 0;
}

static int stream_truth(cg_call *c, uint32_t ssrc, const media *m, const cg_addr *src,
                        const cg_addr *dst)
{
    for (int i = 0; i < c->nstreams; i++)
        if (c->streams[i].ssrc == ssrc)
            return i;
    if (c->nstreams >= CG_MAX_STREAMS)
        return -1;
    cg_stream_truth *s = &c->streams[c->nstreams];
    memset(s, 0, sizeof *s);
    s->ssrc = ssrc;
    s->leg = m->leg;
    snprintf(s->from, sizeof s->from, "%s", m->from);
    snprintf(s->to, sizeof s->to, "%s", m->to);
    snprintf(s->channel, sizeof s->channel, "%s", m->channel ? "agent" : "customer");
    char ip[64];
    cg_addr_format(src, ip, sizeof ip);
    snprintf(s->src, sizeof s->src, src->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
             (unsigned)src->port);
    cg_addr_format(dst, ip, sizeof ip);
    snprintf(s->dst, sizeof s->dst, dst->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
             (unsigned)dst->port);
    return c->nstreams++;
}

static int render_media(render *R, media *m, media *all)
{
    cg_call *c = R->c;
    cg_leg *l = &c->legs[m->leg];
    leg_rt *lr = &R->legs[m->leg];
    const cg_codec_info *ci = cg_codec_get(c->codec);
    cg_addr src, dst, rsrc, rdst;
    uint16_t sport = m->from_uac ? lr->rtp_uac : lr->rtp_uas;
    uint16_t dport = m->from_uac ? lr->rtp_uas : lr->rtp_uac;
    leg_addr(l, m->from_uac, sport, &src);
    leg_addr(l, !m->from_uac, dport, &dst);
    leg_addr(l, m->from_uac, (uint16_t)(sport + 1), &rsrc);
    leg_addr(l, !m->from_uac, (uint16_t)(dport + 1), &rdst);
    cg_link lk, rlk;
    make_link(l, &src, &dst, &lk);
    rlk = lk;
    if (m->end_ms <= m->start_ms)
        return CS_OK;
    size_t nframes = (size_t)((m->end_ms - m->start_ms) / 20);
    size_t cap = nframes + 8 * (size_t)(c->ndtmf + 1) + 8;
    uint64_t *send = calloc(cap, sizeof *send);
    uint8_t **data = calloc(cap, sizeof *data);
    uint16_t *lens = calloc(cap, sizeof *lens);
    uint32_t *ssrcs = calloc(cap, sizeof *ssrcs);
    cg_fault_out *fo = calloc(2 * cap + 2, sizeof *fo);
    cg_encoder *enc = cg_encoder_new(c->codec);
    int rc = CS_OK;
    if (!send || !data || !lens || !ssrcs || !fo || !enc) {
        rc = enc ? CS_ERR_NOMEM : CS_ERR_CODEC;
        goto out;
    }
    size_t np = 0;
    int16_t pcm[CG_FRAME_SAMPLES];
    uint8_t payload[1500];
    uint8_t pk[1600];
    int dtmf_clock = c->codec == CG_CODEC_OPUS ? 48000 : 8000;
    int di = 0;                   /* next DTMF event */
    cg_dtmf_pkt dp[CG_DTMF_MAX_PKT];
    int ndp = 0, dpos = 0, devent = -1;
    uint32_t dts = 0;
    uint64_t change_at = m->ssrc_change ? (m->start_ms + (m->end_ms - m->start_ms) / 2) / 20 * 20 : 0;
    uint64_t next_rtcp = m->start_ms + 5000;
    for (size_t k = 0; k < nframes; k++) {
        uint64_t T = m->start_ms + (uint64_t)k * 20;
        if (change_at && T == change_at) {
            cg_rng tmp;
            cg_rng_seed(&tmp, R->o->seed ^ c->rng_stream, 0x55c + (uint64_t)m->leg);
            cg_rtp_new_ssrc(&m->st, &tmp);
            c->ssrc_changes++;
        }
        /* RTCP sender report every 5 s */
        if (T >= next_rtcp) {
            next_rtcp += 5000;
            cg_rtcp_sr sr;
            memset(&sr, 0, sizeof sr);
            sr.ssrc = m->st.ssrc;
            sr.ntp_us = c->t0_us + T * 1000u;
            sr.rtp_ts = m->st.ts;
            sr.packets = (uint32_t)m->st.packets;
            sr.octets = (uint32_t)m->st.octets;
            sr.remote_ssrc = m->peer >= 0 ? all[m->peer].st.ssrc : 0;
            sr.highest_seq = m->peer >= 0 ? all[m->peer].st.seq : 0;
            sr.jitter = (uint32_t)(c->faults.jitter_ms * ci->rtp_clock / 1000 / 4);
            char cname[64];
            snprintf(cname, sizeof cname, "%s@%s", m->from, m->from_uac ? l->uac_ip : l->uas_ip);
            sr.cname = cname;
            int rl = cg_rtcp_build(&sr, pk, sizeof pk);
            if (rl > 0) {
                pkt *p = plist_add(&R->pl, c->t0_us + T * 1000u + 10, pk, (size_t)rl);
                if (!p) {
                    rc = R->pl.err;
                    goto out;
                }
                p->link = rlk;
                p->src = rsrc;
                p->dst = rdst;
                p->is_rtcp = 1;
                int si = stream_truth(c, m->st.ssrc, m, &src, &dst);
                if (si >= 0)
                    c->streams[si].rtcp_packets++;
                c->rtcp_packets++;
            }
        }
        int len = 0;
        if (m->dtmf && devent < 0 && di < c->ndtmf && c->dtmf[di].at_ms <= T) {
            devent = cg_dtmf_event(c->dtmf[di].digit);
            ndp = cg_dtmf_plan(c->dtmf[di].duration_ms, dtmf_clock, dp, CG_DTMF_MAX_PKT);
            dpos = 0;
            dts = m->st.ts;
            di++;
            if (ndp <= 0)
                devent = -1;
        }
        if (devent >= 0) {
            len = cg_rtp_dtmf(&m->st, CG_DTMF_PT, devent, &dp[dpos], dts, pk, sizeof pk);
            cg_rtp_skip_frame(&m->st);
            if (++dpos >= ndp) {
                devent = -1;
                m->st.marker_next = 1;
            }
        } else if (in_hold(c, T) && m->hold_mode == 2) {
            cg_rtp_skip_frame(&m->st);
            m->st.marker_next = 1;
            continue;
        } else {
            cg_track_frame(m->track, (size_t)(T / 20), pcm);
            if (in_hold(c, T) && m->hold_mode == 1)
                memset(pcm, 0, sizeof pcm);
            int pl = cg_encoder_encode(enc, pcm, payload, sizeof payload);
            if (pl < 0) {
                rc = pl;
                goto out;
            }
            len = cg_rtp_audio(&m->st, payload, (size_t)pl, pk, sizeof pk);
        }
        if (len < 0) {
            rc = len;
            goto out;
        }
        if (np >= cap) {
            rc = CS_ERR_OVERFLOW;
            goto out;
        }
        send[np] = c->t0_us + T * 1000u;
        data[np] = malloc((size_t)len);
        if (!data[np]) {
            rc = CS_ERR_NOMEM;
            goto out;
        }
        memcpy(data[np], pk, (size_t)len);
        lens[np] = (uint16_t)len;
        ssrcs[np] = m->st.ssrc;
        np++;
    }
    {
        cg_rng frng;
        cg_rng_seed(&frng, R->o->seed ^ c->rng_stream, 0xfa17 + (uint64_t)(m - all));
        int no = cg_fault_apply(&c->faults, &frng, send, np, fo, 2 * cap + 2, &c->fault_counts);
        if (no < 0) {
            rc = no;
            goto out;
        }
        for (int i = 0; i < no; i++) {
            uint32_t k = fo[i].index;
            pkt *p = plist_add(&R->pl, fo[i].t_us, data[k], lens[k]);
            if (!p) {
                rc = R->pl.err;
                goto out;
            }
            p->link = lk;
            p->src = src;
            p->dst = dst;
            p->is_rtp = 1;
            int si = stream_truth(c, ssrcs[k], m, &src, &dst);
            if (si >= 0) {
                cg_stream_truth *s = &c->streams[si];
                if (s->packets == 0 || fo[i].t_us < s->first_us)
                    s->first_us = fo[i].t_us;
                if (fo[i].t_us > s->last_us)
                    s->last_us = fo[i].t_us;
                s->packets++;
            }
            c->rtp_packets++;
        }
    }
out:
    if (data)
        for (size_t i = 0; i < cap; i++)
            free(data[i]);
    free(send);
    free(data);
    free(lens);
    free(ssrcs);
    free(fo);
    cg_encoder_free(enc);
    return rc;
}

static void sanitize(const char *in, char *out, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < cap; i++) {
        char ch = in[i];
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_' || ch == '.';
        out[j++] = ok ? ch : '_';
    }
    out[j] = '\0';
}

static int render_garbage(render *R)
{
    cg_call *c = R->c;
    cg_rng r;
    cg_rng_seed(&r, R->o->seed, c->rng_stream + 77);
    cg_addr src, dst;
    char ip[32];
    snprintf(ip, sizeof ip, "203.0.113.%d", 200 + (int)cg_rng_below(&r, 50));
    cg_addr_parse(ip, 5060, &src);
    cg_addr_parse(pbx_ip(0), 5060, &dst);
    cg_leg none;
    memset(&none, 0, sizeof none);
    cg_link lk;
    make_link(&none, &src, &dst, &lk);
    for (int i = 0; i < c->ngarbage; i++) {
        cg_garbage *g = &c->garbage[i];
        char *b = R->buf;
        size_t len = 0;
        if (strcmp(g->kind, "random_bytes") == 0) {
            len = (size_t)cg_rng_range(&r, 40, 300);
            for (size_t k = 0; k < len; k++)
                b[k] = (char)cg_rng_below(&r, 256);
            b[0] = (char)0xff; /* never starts like a SIP method or status line */
        } else if (strcmp(g->kind, "truncated_sip") == 0) {
            len = (size_t)snprintf(b, sizeof R->buf,
                                   "INVITE sip:+18005550100@%s:5060 SIP/2.0\r\n"
                                   "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK%08x\r\n"
                                   "From: <sip:+15550000000@%s>;tag=dead\r\n"
                                   "To: <sip:+18005550100@%s>\r\n"
                                   "Call-ID: truncated-%08x@%s\r\n"
                                   "CSeq: 1 INV",
                                   pbx_ip(0), ip, (unsigned)cg_rng_next(&r), ip, pbx_ip(0),
                                   (unsigned)cg_rng_next(&r), ip);
        } else {
            len = (size_t)snprintf(b, sizeof R->buf,
                                   "OPTIONS sip:%s:5060 SIP/2.0\r\n"
                                   "Via: SIP/2.0/UDP %s:5060;branch=z9hG4bK%08x\r\n"
                                   "Max-Forwards: 70\r\n"
                                   "From: <sip:probe@%s>;tag=%08x\r\n"
                                   "To: <sip:%s>\r\n"
                                   "Call-ID: absurd-length-%08x@%s\r\n"
                                   "CSeq: 1 OPTIONS\r\n"
                                   "Content-Type: application/sdp\r\n"
                                   "Content-Length: 4294967295\r\n\r\n"
                                   "v=0\r\n",
                                   pbx_ip(0), ip, (unsigned)cg_rng_next(&r), ip,
                                   (unsigned)cg_rng_next(&r), pbx_ip(0),
                                   (unsigned)cg_rng_next(&r), ip);
        }
        g->len = len;
        pkt *p = plist_add(&R->pl, g->t_us, (const uint8_t *)b, len);
        if (!p)
            return R->pl.err;
        p->link = lk;
        p->src = src;
        p->dst = dst;
        p->garbage = (int8_t)i;
    }
    return CS_OK;
}

/* Renders one call into R->pl (sorted). */
static int render_call(render *R, char *err, size_t errcap)
{
    cg_call *c = R->c;
    int rc;
    if (c->scen == CG_SC_GARBAGE) {
        rc = render_garbage(R);
        goto sort;
    }
    setup_legs(R);
    for (int i = 0; i < R->p->nev; i++) {
        rc = do_act(R, &R->p->ev[i]);
        if (rc < 0) {
            snprintf(err, errcap, "call %s: SIP message: %s", c->id, cs_err_msg(rc));
            return rc;
        }
    }
    /* media */
    if (c->legs[0].answer_us) {
        uint64_t dur_ms = (c->end_us - c->t0_us) / 1000u + 200;
        cg_track tr[2];
        if (cg_track_init(&tr[0], dur_ms) != CS_OK)
            return CS_ERR_NOMEM;
        if (cg_track_init(&tr[1], dur_ms) != CS_OK) {
            cg_track_free(&tr[0]);
            return CS_ERR_NOMEM;
        }
        for (int i = 0; i < c->nutts; i++)
            cg_track_place(&tr[c->utts[i].channel], c->utts[i].clip, c->utts[i].start_ms);
        if (R->o->ref_audio_dir) {
            char name[128], path[4096];
            sanitize(c->legs[0].call_id, name, sizeof name);
            int rate = cg_codec_get(c->codec)->audio_rate;
            const char *suffix[2] = {"customer", "agent"};
            for (int ch = 0; ch < 2; ch++) {
                snprintf(path, sizeof path, "%s/%s.%s.wav", R->o->ref_audio_dir, name,
                         suffix[ch]);
                if (cg_track_write_wav(&tr[ch], path, rate) != CS_OK) {
                    snprintf(err, errcap, "cannot write %s", path);
                    cg_track_free(&tr[0]);
                    cg_track_free(&tr[1]);
                    return CS_ERR_IO;
                }
            }
        }
        media ms[CG_MAX_LEGS * 2];
        int nm = 0;
        cg_rng srng;
        cg_rng_seed(&srng, R->o->seed, c->rng_stream + 0x3333);
        const cg_codec_info *ci = cg_codec_get(c->codec);
        for (int i = 0; i < c->nlegs; i++) {
            cg_leg *l = &c->legs[i];
            if (!l->answer_us)
                continue;
            uint64_t s = (l->answer_us - c->t0_us) / 1000u + 40;
            uint64_t e = (l->end_us - c->t0_us) / 1000u;
            /* an agent leg carries media from its answer until its BYE */
            for (int dir = 0; dir < 2; dir++) {
                media *m = &ms[nm];
                memset(m, 0, sizeof *m);
                m->leg = i;
                m->from_uac = dir == 0;
                m->start_ms = s / 20 * 20;
                m->end_ms = e / 20 * 20;
                m->peer = dir == 0 ? nm + 1 : nm - 1;
                if (l->inbound) {
                    m->channel = dir == 0 ? 0 : 1;
                    m->from = dir == 0 ? "carrier" : "pbx";
                    m->to = dir == 0 ? "pbx" : "carrier";
                    m->hold_mode = dir == 0 ? 2 : 1;
                    m->dtmf = dir == 0;
                    m->ssrc_change = dir == 0 && c->ssrc_change;
                } else {
                    m->channel = dir == 0 ? 0 : 1;
                    m->from = dir == 0 ? "pbx" : "agent";
                    m->to = dir == 0 ? "agent" : "pbx";
                }
                m->track = &tr[m->channel];
                cg_rtp_stream_init(&m->st, &srng, (uint8_t)ci->payload_type, ci->rtp_clock,
                                   ci->ts_per_frame);
                nm++;
            }
        }
        rc = CS_OK;
        for (int i = 0; i < nm && rc == CS_OK; i++)
            rc = render_media(R, &ms[i], ms);
        cg_track_free(&tr[0]);
        cg_track_free(&tr[1]);
        if (rc < 0) {
            snprintf(err, errcap, "call %s: RTP: %s", c->id, cs_err_msg(rc));
            return rc;
        }
    }
    if (c->transport == CG_SIP_TCP) {
        /* connection before the INVITE, close after the last message */
        pkt *p = plist_add(&R->pl, c->t0_us - 3000, NULL, 0);
        if (p) {
            p->kind = PK_TCP_CONNECT;
            leg_addr(&c->legs[0], 1, 5060, &p->src);
            leg_addr(&c->legs[0], 0, 5060, &p->dst);
            make_link(&c->legs[0], &p->src, &p->dst, &p->link);
            p->order = 0;
        }
        pkt *q = plist_add(&R->pl, c->end_us + 5000, NULL, 0);
        if (q) {
            q->kind = PK_TCP_CLOSE;
            q->src = p ? p->src : q->src;
            q->dst = p ? p->dst : q->dst;
            q->link = p ? p->link : q->link;
        }
        if (R->pl.err)
            return R->pl.err;
    }
sort:
    if (R->pl.err)
        return R->pl.err;
    qsort(R->pl.v, R->pl.n, sizeof *R->pl.v, pkt_cmp);
    if (c->transport == CG_SIP_TCP)
        return tcp_coalesce(R);
    return CS_OK;
}

/* ---------------------------------------------------------------- writer */

typedef struct live {
    cg_call *c;
    pkt *v;
    size_t n, pos;
    cg_tcp tcp;
} live;

typedef struct writer {
    cg_pcap *pc;
    uint64_t last;
} writer;

static int write_pkt(writer *w, cg_run *r, live *lv, const pkt *p)
{
    uint64_t ts = p->t_us < w->last ? w->last : p->t_us;
    uint64_t f0 = cg_pcap_frames(w->pc);
    int rc;
    switch (p->kind) {
    case PK_TCP_CONNECT:
        rc = cg_tcp_connect(w->pc, ts, &p->link, &lv->tcp, &p->src, &p->dst,
                            (uint32_t)(lv->c->rng_stream * 2654435761u));
        w->last = ts + 2;
        break;
    case PK_TCP_SEND:
        rc = cg_tcp_send(w->pc, ts, &p->link, &lv->tcp, p->from_client, p->data, p->len);
        w->last = ts + 1;
        break;
    case PK_TCP_CLOSE:
        rc = cg_tcp_close(w->pc, ts, &p->link, &lv->tcp);
        w->last = ts + 2;
        break;
    default:
        rc = cg_net_udp(w->pc, ts, &p->link, &p->src, &p->dst, p->data, p->len, 1500);
        w->last = ts;
        break;
    }
    if (rc < 0)
        return rc;
    uint64_t f1 = cg_pcap_frames(w->pc);
    lv->c->frames += f1 - f0;
    if (p->garbage >= 0) {
        lv->c->garbage[p->garbage].frame = f0 + 1;
        r->garbage_frames++;
    }
    r->sip_messages += p->counts_sip;
    if (p->is_rtp)
        r->rtp_packets++;
    if (p->is_rtcp)
        r->rtcp_packets++;
    return CS_OK;
}

/* min-heap of live calls keyed by their next packet time */
static int live_less(const live *a, const live *b)
{
    uint64_t x = a->v[a->pos].t_us, y = b->v[b->pos].t_us;
    if (x != y)
        return x < y;
    return a->c->index < b->c->index;
}

static void heap_up(live **h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!live_less(h[i], h[p]))
            break;
        live *t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void heap_down(live **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && live_less(h[l], h[m]))
            m = l;
        if (l + 1 < n && live_less(h[l + 1], h[m]))
            m = l + 1;
        if (m == i)
            break;
        live *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static uint64_t call_first_us(const cg_call *c)
{
    return c->transport == CG_SIP_TCP ? c->t0_us - 3000 : c->t0_us;
}

int cg_run_write(cg_run *r, const char *pcap_path, char *err, size_t errcap)
{
    run_priv *priv = r->priv_;
    if (!priv)
        return CS_ERR_STATE;
    if (r->opts->ref_audio_dir && mkdir(r->opts->ref_audio_dir, 0777) != 0 && errno != EEXIST) {
        snprintf(err, errcap, "cannot create %s: %s", r->opts->ref_audio_dir, strerror(errno));
        return CS_ERR_IO;
    }
    writer w = {cg_pcap_open(pcap_path, err, errcap), 0};
    if (!w.pc)
        return CS_ERR_IO;
    live **heap = calloc(r->ncalls + 1, sizeof *heap);
    live *lives = calloc(r->ncalls + 1, sizeof *lives);
    render *R = calloc(1, sizeof *R);
    int rc = CS_OK;
    if (!heap || !lives || !R) {
        rc = CS_ERR_NOMEM;
        goto out;
    }
    size_t nh = 0, next = 0, done = 0;
    while (rc == CS_OK) {
        while (next < r->ncalls &&
               (nh == 0 || call_first_us(&r->calls[next]) <= heap[0]->v[heap[0]->pos].t_us)) {
            memset(R, 0, sizeof *R);
            R->o = r->opts;
            R->bank = r->bank;
            R->c = &r->calls[next];
            R->p = &priv->plans[next];
            rc = render_call(R, err, errcap);
            if (rc < 0) {
                if (!err[0])
                    snprintf(err, errcap, "call %s: %s", R->c->id, cs_err_msg(rc));
                plist_free(&R->pl);
                goto out;
            }
            live *lv = &lives[next];
            lv->c = R->c;
            lv->v = R->pl.v;
            lv->n = R->pl.n;
            lv->pos = 0;
            R->pl.v = NULL;
            next++;
            if (lv->n == 0)
                continue;
            heap[nh] = lv;
            heap_up(heap, nh);
            nh++;
        }
        if (nh == 0)
            break;
        live *lv = heap[0];
        rc = write_pkt(&w, r, lv, &lv->v[lv->pos]);
        if (rc < 0) {
            snprintf(err, errcap, "writing %s: %s", pcap_path, cs_err_msg(rc));
            break;
        }
        free(lv->v[lv->pos].data);
        lv->v[lv->pos].data = NULL;
        lv->pos++;
        if (lv->pos >= lv->n) {
            free(lv->v);
            lv->v = NULL;
            heap[0] = heap[--nh];
            done++;
            if (!r->opts->quiet && r->ncalls >= 50 && done % 50 == 0)
                fprintf(stderr, "callgen: %zu/%zu calls written, %.1f MB\n", done, r->ncalls,
                        (double)cg_pcap_bytes(w.pc) / 1e6);
        }
        if (nh > 0)
            heap_down(heap, nh, 0);
    }
out:
    if (lives) {
        for (size_t i = 0; i < r->ncalls; i++) {
            if (lives[i].v) {
                for (size_t k = lives[i].pos; k < lives[i].n; k++)
                    free(lives[i].v[k].data);
                free(lives[i].v);
            }
        }
    }
    free(lives);
    free(heap);
    free(R);
    r->frames = cg_pcap_frames(w.pc);
    r->bytes = cg_pcap_bytes(w.pc);
    int crc = cg_pcap_close(w.pc);
    if (rc == CS_OK && crc != CS_OK) {
        snprintf(err, errcap, "closing %s: %s", pcap_path, cs_err_msg(crc));
        rc = crc;
    }
    return rc;
}

/* ---------------------------------------------------------------- load mode
 *
 * Every active call is one heap entry keyed by the time of its next packet.
 * A call walks INVITE, 100, 180, 200, ACK, then RTP frames (carrier->PBX at
 * T, PBX->carrier at T + 7 ms), then BYE and 200. When a call ends a new one
 * takes its slot (ports and heap entry), so memory is O(concurrent) and the
 * packet payloads come from a table encoded once per codec and direction
 * (LOAD_FRAMES frames of real speech, cycled with a per-call offset).
 */

#define LOAD_FRAMES 750 /* 15 s of audio per codec and direction */
#define LOAD_MAX_CONCURRENT 10000

typedef struct load_tab {
    uint8_t *data;           /* LOAD_FRAMES payloads back to back */
    uint32_t off[LOAD_FRAMES + 1];
} load_tab;

enum { LS_INVITE = 0, LS_100, LS_180, LS_200, LS_ACK, LS_RTP, LS_BYE, LS_200BYE, LS_DONE };

typedef struct load_call {
    size_t rec;              /* index into res->calls */
    int slot;
    int state;
    uint64_t next_us;
    uint64_t answer_us, bye_us;
    uint64_t frame;          /* RTP frame number */
    int dir;                 /* next RTP direction */
    uint32_t cycle_off;
    cg_sip_dialog d;
    cg_sip_txn inv, bye;
    int bye_from_uac;
    cg_rtp_stream st[2];
    cg_addr sip_c, sip_p, rtp_c, rtp_p;
    cg_link lk_cp, lk_pc;
} load_call;

static int load_tabs(const cg_bank *bank, uint64_t seed, int codec, load_tab tabs[][2],
                     char *err, size_t errcap)
{
    cg_rng r;
    cg_rng_seed(&r, seed, 0x10ad);
    cg_track tr[2];
    uint64_t ms = (uint64_t)LOAD_FRAMES * 20;
    for (int ch = 0; ch < 2; ch++) {
        if (cg_track_init(&tr[ch], ms) != CS_OK)
            return CS_ERR_NOMEM;
        uint64_t t = ch == 0 ? 200 : 2000;
        while (t < ms) {
            const cg_clip *c = cg_bank_pick(bank, ch == 0 ? CG_ROLE_CUSTOMER : CG_ROLE_AGENT, &r);
            if (!c)
                break;
            cg_track_place(&tr[ch], c, t);
            t += cg_clip_ms(c) + 4000;
        }
    }
    int rc = CS_OK;
    for (int k = 0; k < CG_CODEC__COUNT && rc == CS_OK; k++) {
        if (codec >= 0 && k != codec)
            continue;
        for (int ch = 0; ch < 2 && rc == CS_OK; ch++) {
            cg_encoder *e = cg_encoder_new((cg_codec)k);
            load_tab *lt = &tabs[k][ch];
            lt->data = malloc((size_t)LOAD_FRAMES * 400);
            if (!e || !lt->data) {
                snprintf(err, errcap, "load mode: cannot set up the %s encoder",
                         cg_codec_get((cg_codec)k)->name);
                rc = e ? CS_ERR_NOMEM : CS_ERR_CODEC;
                cg_encoder_free(e);
                break;
            }
            int16_t pcm[CG_FRAME_SAMPLES];
            uint32_t off = 0;
            for (int f = 0; f < LOAD_FRAMES; f++) {
                cg_track_frame(&tr[ch], (size_t)f, pcm);
                lt->off[f] = off;
                int n = cg_encoder_encode(e, pcm, lt->data + off, 400);
                if (n < 0) {
                    snprintf(err, errcap, "load mode: %s encoder: %s",
                             cg_codec_get((cg_codec)k)->name, cs_err_msg(n));
                    rc = n;
                    break;
                }
                off += (uint32_t)n;
            }
            lt->off[LOAD_FRAMES] = off;
            cg_encoder_free(e);
        }
    }
    cg_track_free(&tr[0]);
    cg_track_free(&tr[1]);
    return rc;
}

static int lc_less(const load_call *a, const load_call *b)
{
    if (a->next_us != b->next_us)
        return a->next_us < b->next_us;
    return a->slot < b->slot;
}

static void lheap_down(load_call **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && lc_less(h[l], h[m]))
            m = l;
        if (l + 1 < n && lc_less(h[l + 1], h[m]))
            m = l + 1;
        if (m == i)
            break;
        load_call *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void lheap_up(load_call **h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!lc_less(h[i], h[p]))
            break;
        load_call *t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static int load_new_call(const cg_load_opts *o, cg_load_result *res, load_call *lc, int slot,
                         uint64_t t, cg_rng *r, size_t *cap)
{
    if (res->ncalls == *cap) {
        size_t nc = *cap ? *cap * 2 : 4096;
        cg_load_call *nv = realloc(res->calls, nc * sizeof *nv);
        if (!nv)
            return CS_ERR_NOMEM;
        res->calls = nv;
        *cap = nc;
    }
    cg_load_call *rec = &res->calls[res->ncalls];
    memset(rec, 0, sizeof *rec);
    memset(lc, 0, sizeof *lc);
    lc->rec = res->ncalls++;
    lc->slot = slot;
    lc->state = LS_INVITE;
    lc->next_us = t;
    rec->codec = o->codec >= 0 ? (cg_codec)o->codec : (cg_codec)cg_rng_below(r, CG_CODEC__COUNT);
    snprintf(rec->ani, sizeof rec->ani, "+1555%07d", (int)cg_rng_below(r, 10000000));
    int qi = (int)cg_rng_below(r, 3);
    snprintf(rec->dnis, sizeof rec->dnis, "%s", queue_tab[qi].dnis[cg_rng_below(r, 2)]);
    snprintf(rec->agent, sizeof rec->agent, "%d", (int)cg_rng_range(r, 2001, 2099));
    rec->invite_us = t;
    char hex[24], carrier[32];
    rand_hex(r, hex, sizeof hex, 16);
    snprintf(carrier, sizeof carrier, "203.0.113.%d", 1 + slot % 200);
    snprintf(rec->call_id, sizeof rec->call_id, "%s@%s", hex, carrier);
    cg_sip_dialog *d = &lc->d;
    snprintf(d->call_id, sizeof d->call_id, "%s", rec->call_id);
    snprintf(d->ruri_user, sizeof d->ruri_user, "%s", rec->dnis);
    snprintf(d->uac.user, sizeof d->uac.user, "%s", rec->ani);
    snprintf(d->uac.host, sizeof d->uac.host, "%s", carrier);
    d->uac.port = 5060;
    rand_hex(r, d->uac.tag, sizeof d->uac.tag, 10);
    snprintf(d->uac.ua, sizeof d->uac.ua, "TrunkSBC/7.0");
    snprintf(d->uas.user, sizeof d->uas.user, "%s", rec->dnis);
    snprintf(d->uas.host, sizeof d->uas.host, "%s", pbx_ip(0));
    d->uas.port = 5060;
    rand_hex(r, d->uas.tag, sizeof d->uas.tag, 10);
    snprintf(d->uas.ua, sizeof d->uas.ua, "AcmePBX/2.3");
    d->branch_seed = cg_rng_next(r);
    cg_addr_parse(carrier, 5060, &lc->sip_c);
    cg_addr_parse(pbx_ip(0), 5060, &lc->sip_p);
    cg_addr_parse(carrier, (uint16_t)(20000 + 2 * slot), &lc->rtp_c);
    cg_addr_parse(pbx_ip(0), (uint16_t)(40000 + 2 * slot), &lc->rtp_p);
    cg_leg none;
    memset(&none, 0, sizeof none);
    make_link(&none, &lc->sip_c, &lc->sip_p, &lc->lk_cp);
    make_link(&none, &lc->sip_p, &lc->sip_c, &lc->lk_pc);
    const cg_codec_info *ci = cg_codec_get(rec->codec);
    for (int k = 0; k < 2; k++) {
        cg_rtp_stream_init(&lc->st[k], r, (uint8_t)ci->payload_type, ci->rtp_clock,
                           ci->ts_per_frame);
        rec->ssrc[k] = lc->st[k].ssrc;
    }
    lc->answer_us = t + (uint64_t)cg_rng_range(r, 1000, 6000) * 1000u;
    lc->answer_us = lc->answer_us / 20000u * 20000u;
    lc->bye_us = lc->answer_us + (uint64_t)cg_rng_range(r, 20, 300) * 1000000u;
    lc->bye_from_uac = cg_rng_below(r, 2) == 0;
    lc->cycle_off = (uint32_t)cg_rng_below(r, LOAD_FRAMES);
    return CS_OK;
}

/* Emits the call's next packet and schedules the one after. */
static int load_step(cg_pcap *pc, const cg_load_opts *o, cg_load_result *res, load_call *lc,
                     load_tab tabs[][2], uint64_t *last, char *sbuf, uint8_t *pk)
{
    cg_load_call *rec = &res->calls[lc->rec];
    cg_sip_dialog *d = &lc->d;
    int n = 0, from_uac = 1;
    uint64_t t = lc->next_us < *last ? *last : lc->next_us;
    char sdp[1024];
    cg_sdp s;
    memset(&s, 0, sizeof s);
    s.sess_id = lc->rec + 1;
    s.sess_version = 1;
    s.codecs = &rec->codec;
    s.ncodecs = 1;
    s.dtmf_pt = CG_DTMF_PT;
    s.direction = "sendrecv";
    switch (lc->state) {
    case LS_INVITE:
    case LS_200: {
        int uac = lc->state == LS_INVITE;
        s.origin_user = uac ? "carrier" : "pbx";
        s.addr = uac ? d->uac.host : d->uas.host;
        s.port = uac ? lc->rtp_c.port : lc->rtp_p.port;
        int sl = cg_sdp_build(&s, sdp, sizeof sdp);
        if (sl < 0)
            return sl;
        if (uac) {
            n = cg_sip_request(d, 1, "INVITE", NULL, NULL, "application/sdp", sdp, (size_t)sl,
                               &lc->inv, sbuf, CG_SIP_MAX);
            lc->state = LS_100;
            lc->next_us = lc->next_us + 20000;
        } else {
            from_uac = 0;
            n = cg_sip_response(d, &lc->inv, 200, NULL, NULL, "application/sdp", sdp,
                                (size_t)sl, sbuf, CG_SIP_MAX);
            rec->answer_us = lc->next_us;
            lc->state = LS_ACK;
            lc->next_us += 30000;
        }
        break;
    }
    case LS_100:
        from_uac = 0;
        n = cg_sip_response(d, &lc->inv, 100, NULL, NULL, NULL, NULL, 0, sbuf, CG_SIP_MAX);
        lc->state = LS_180;
        lc->next_us += 80000;
        break;
    case LS_180:
        from_uac = 0;
        d->to_tag_known = 1;
        n = cg_sip_response(d, &lc->inv, 180, NULL, NULL, NULL, NULL, 0, sbuf, CG_SIP_MAX);
        lc->state = LS_200;
        lc->next_us = lc->answer_us;
        break;
    case LS_ACK:
        n = cg_sip_request(d, 1, "ACK", NULL, NULL, NULL, NULL, 0, NULL, sbuf, CG_SIP_MAX);
        lc->state = LS_RTP;
        lc->next_us = lc->answer_us + 40000;
        lc->frame = 0;
        lc->dir = 0;
        break;
    case LS_RTP: {
        const load_tab *lt = &tabs[rec->codec][lc->dir];
        uint32_t f = (uint32_t)((lc->frame + lc->cycle_off) % LOAD_FRAMES);
        int len = cg_rtp_audio(&lc->st[lc->dir], lt->data + lt->off[f],
                               lt->off[f + 1] - lt->off[f], pk, 1600);
        if (len < 0)
            return len;
        const cg_addr *src = lc->dir == 0 ? &lc->rtp_c : &lc->rtp_p;
        const cg_addr *dst = lc->dir == 0 ? &lc->rtp_p : &lc->rtp_c;
        int rc = cg_net_udp(pc, t, lc->dir == 0 ? &lc->lk_cp : &lc->lk_pc, src, dst, pk,
                            (size_t)len, 0);
        if (rc < 0)
            return rc;
        *last = t;
        rec->packets[lc->dir]++;
        res->rtp_packets++;
        uint64_t base = lc->answer_us + 40000 + lc->frame * 20000u;
        if (lc->dir == 0) {
            lc->dir = 1;
            lc->next_us = base + 7000;
        } else {
            lc->dir = 0;
            lc->frame++;
            lc->next_us = base + 20000;
            if (lc->next_us >= lc->bye_us) {
                lc->state = LS_BYE;
                lc->next_us = lc->bye_us;
            }
        }
        return CS_OK;
    }
    case LS_BYE:
        from_uac = lc->bye_from_uac;
        n = cg_sip_request(d, from_uac, "BYE", NULL, NULL, NULL, NULL, 0, &lc->bye, sbuf,
                           CG_SIP_MAX);
        rec->hangup_by = from_uac ? CG_BY_CALLER : CG_BY_AGENT;
        lc->state = LS_200BYE;
        lc->next_us += 25000;
        break;
    case LS_200BYE:
        from_uac = !lc->bye_from_uac;
        n = cg_sip_response(d, &lc->bye, 200, NULL, NULL, NULL, NULL, 0, sbuf, CG_SIP_MAX);
        rec->end_us = lc->next_us;
        lc->state = LS_DONE;
        break;
    default:
        return CS_ERR_STATE;
    }
    if (n < 0)
        return n;
    int rc = cg_net_udp(pc, t, from_uac ? &lc->lk_cp : &lc->lk_pc,
                        from_uac ? &lc->sip_c : &lc->sip_p, from_uac ? &lc->sip_p : &lc->sip_c,
                        (const uint8_t *)sbuf, (size_t)n, 1500);
    if (rc < 0)
        return rc;
    *last = t;
    res->sip_messages++;
    (void)o;
    return CS_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cg_load_run(const cg_load_opts *o, const cg_bank *bank, const char *pcap_path,
                cg_load_result *res, char *err, size_t errcap)
{
    memset(res, 0, sizeof *res);
    if (!o || o->concurrent <= 0 || o->concurrent > LOAD_MAX_CONCURRENT ||
        (o->size_bytes == 0 && o->duration_s == 0)) {
        snprintf(err, errcap, "load mode needs --concurrent 1..%d and --size or --duration",
                 LOAD_MAX_CONCURRENT);
        return CS_ERR_INVAL;
    }
    load_tab tabs[CG_CODEC__COUNT][2];
    memset(tabs, 0, sizeof tabs);
    int rc = load_tabs(bank, o->seed, o->codec, tabs, err, errcap);
    load_call *calls = NULL;
    load_call **heap = NULL;
    char *sbuf = NULL;
    uint8_t *pk = NULL;
    cg_pcap *pc = NULL;
    if (rc != CS_OK)
        goto out;
    calls = calloc((size_t)o->concurrent, sizeof *calls);
    heap = calloc((size_t)o->concurrent, sizeof *heap);
    sbuf = malloc(CG_SIP_MAX);
    pk = malloc(1600);
    if (!calls || !heap || !sbuf || !pk) {
        rc = CS_ERR_NOMEM;
        snprintf(err, errcap, "load mode: out of memory");
        goto out;
    }
    pc = cg_pcap_open(pcap_path, err, errcap);
    if (!pc) {
        rc = CS_ERR_IO;
        goto out;
    }
    cg_rng r;
    cg_rng_seed(&r, o->seed, 0x10ad0001);
    size_t cap = 0;
    uint64_t stop_us = o->duration_s ? o->start_us + o->duration_s * 1000000u : UINT64_MAX;
    /* initial calls start over the first 10 s */
    for (int i = 0; i < o->concurrent; i++) {
        uint64_t t = o->start_us + cg_rng_below(&r, 10000000u);
        rc = load_new_call(o, res, &calls[i], i, t, &r, &cap);
        if (rc != CS_OK)
            goto out;
        heap[i] = &calls[i];
        lheap_up(heap, (size_t)i);
    }
    size_t nh = (size_t)o->concurrent;
    uint64_t last = 0;
    double t_start = now_s(), t_report = t_start;
    res->max_concurrent = (uint64_t)o->concurrent;
    while (nh > 0) {
        load_call *lc = heap[0];
        if (lc->next_us >= stop_us)
            break;
        if (o->size_bytes && cg_pcap_bytes(pc) >= o->size_bytes)
            break;
        rc = load_step(pc, o, res, lc, tabs, &last, sbuf, pk);
        if (rc != CS_OK) {
            snprintf(err, errcap, "writing %s: %s", pcap_path, cs_err_msg(rc));
            goto out;
        }
        if (lc->state == LS_DONE) {
            uint64_t t = lc->next_us + (uint64_t)cg_rng_range(&r, 200, 3000) * 1000u;
            rc = load_new_call(o, res, lc, lc->slot, t, &r, &cap);
            if (rc != CS_OK)
                goto out;
        }
        lheap_down(heap, nh, 0);
        if (!o->quiet && (res->rtp_packets & 0xffff) == 0) {
            double now = now_s();
            if (now - t_report >= 2.0) {
                t_report = now;
                double mb = (double)cg_pcap_bytes(pc) / 1e6;
                fprintf(stderr, "callgen: %.0f MB, %zu calls, %.1f MB/s\n", mb, res->ncalls,
                        mb / (now - t_start));
            }
        }
    }
    res->frames = cg_pcap_frames(pc);
    res->bytes = cg_pcap_bytes(pc);
    rc = cg_pcap_close(pc);
    pc = NULL;
    if (rc != CS_OK)
        snprintf(err, errcap, "closing %s: %s", pcap_path, cs_err_msg(rc));
    res->seconds = now_s() - t_start;
    res->mb_per_s = res->seconds > 0 ? (double)res->bytes / 1e6 / res->seconds : 0;
out:
    if (pc)
        cg_pcap_close(pc);
    for (int k = 0; k < CG_CODEC__COUNT; k++)
        for (int ch = 0; ch < 2; ch++)
            free(tabs[k][ch].data);
    free(calls);
    free(heap);
    free(sbuf);
    free(pk);
    return rc;
}

void cg_load_result_free(cg_load_result *res)
{
    if (!res)
        return;
    free(res->calls);
    memset(res, 0, sizeof *res);
}
