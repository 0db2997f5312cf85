/*
 * cg_truth.c — writes callgen's truth JSON (see cg_truth.h, docs/callgen.md).
 *
 * Layout: { "generator": {...}, "options": {...}, "totals": {...},
 *           "calls": [ ... ], "garbage": [ ... ] }
 * Times are given twice: "<name>_us" (µs since the Unix epoch, integer) and
 * "<name>" (ISO 8601 UTC with milliseconds); times inside a call that are
 * relative to its inbound INVITE end in "_ms". A time that did not happen is
 * null. Field order is fixed, so the text is deterministic.
 * The writer's ceiling is 1 GiB: a truth larger than that is CS_ERR_LIMIT.
 */
#include "cg_truth.h"

#include "error.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

#define TRUTH_MAX_BYTES ((size_t)1 << 30)

static void kv_time(json_w *w, const char *name, uint64_t us)
{
    char key[64], iso[40];
    snprintf(key, sizeof key, "%s_us", name);
    if (us == 0) {
        json_key(w, key);
        json_null(w);
        json_key(w, name);
        json_null(w);
        return;
    }
    json_kv_uint(w, key, us);
    cg_iso_time(us, iso, sizeof iso);
    json_kv_str(w, name, iso);
}

static void write_generator(json_w *w, uint64_t seed, const char *mode)
{
    json_key(w, "generator");
    json_obj_begin(w);
    json_kv_str(w, "name", "callgen");
    json_kv_str(w, "version", CG_VERSION);
    json_kv_int(w, "format", CG_TRUTH_FORMAT);
    json_kv_str(w, "mode", mode);
    json_kv_uint(w, "seed", seed);
    json_obj_end(w);
}

static void write_options(json_w *w, const cg_gen_opts *o, int phrases)
{
    json_key(w, "options");
    json_obj_begin(w);
    json_key(w, "scenarios");
    json_arr_begin(w);
    if (o->all)
        json_str(w, "all");
    else
        for (int i = 0; i < o->nscen; i++)
            json_str(w, cg_scen_name(o->scen[i]));
    json_arr_end(w);
    json_kv_int(w, "calls", o->all ? 1 : o->calls);
    json_kv_str(w, "codec", o->codec >= 0 ? cg_codec_get((cg_codec)o->codec)->name : "mixed");
    json_kv_double(w, "loss_pct", o->faults.loss_pct);
    json_kv_int(w, "jitter_ms", o->faults.jitter_ms);
    json_kv_double(w, "reorder_pct", o->faults.reorder_pct);
    json_kv_double(w, "duplicate_pct", o->faults.duplicate_pct);
    json_kv_bool(w, "ssrc_change", o->ssrc_change);
    kv_time(w, "start", o->start_us);
    json_kv_str(w, "correlation_header", o->corr_header);
    json_kv_bool(w, "phrases", phrases);
    json_obj_end(w);
}

static void write_leg(json_w *w, const cg_leg *l)
{
    json_obj_begin(w);
    json_kv_str(w, "role", l->inbound ? "inbound" : "agent");
    json_kv_str(w, "call_id", l->call_id);
    json_kv_str(w, "from_tag", l->from_tag);
    json_kv_str(w, "to_tag", l->to_tag);
    json_kv_str(w, "from_user", l->from_user);
    json_kv_str(w, "to_user", l->to_user);
    if (l->inbound) {
        json_key(w, "agent_ext");
        json_null(w);
        json_key(w, "correlation");
        json_null(w);
    } else {
        json_kv_str(w, "agent_ext", l->agent_ext);
        json_kv_str(w, "correlation", l->correlation);
    }
    json_kv_str(w, "transport", l->transport == CG_SIP_TCP ? "tcp" : "udp");
    json_kv_str(w, "ip_family", l->ipv6 ? "ipv6" : "ipv4");
    json_key(w, "vlan");
    json_arr_begin(w);
    for (int i = 0; i < l->nvlan; i++)
        json_int(w, l->vlan[i]);
    json_arr_end(w);
    json_kv_str(w, "uac_ip", l->uac_ip);
    json_kv_str(w, "uas_ip", l->uas_ip);
    kv_time(w, "invite", l->invite_us);
    kv_time(w, "answer", l->answer_us);
    kv_time(w, "end", l->end_us);
    json_kv_int(w, "final_code", l->final_code);
    json_kv_int(w, "sip_messages", l->sip_messages);
    json_kv_bool(w, "invite_fragmented", l->fragmented);
    json_kv_int(w, "tcp_segments_with_two_messages", l->tcp_coalesced);
    json_kv_int(w, "tcp_messages_split", l->tcp_split);
    json_obj_end(w);
}

static void write_phrases(json_w *w, const cg_call *c)
{
    json_key(w, "phrases");
    json_obj_begin(w);
    json_kv_bool(w, "loaded", c->phrases_loaded);
    const char *keys[2] = {"said", "omitted"};
    unsigned bits[2] = {c->phrases_said, c->phrases_omitted};
    for (int k = 0; k < 2; k++) {
        json_key(w, keys[k]);
        json_arr_begin(w);
        for (int p = CG_PHRASE_GREETING; p < CG_PHRASE__COUNT; p++)
            if (bits[k] & (1u << p))
                json_str(w, cg_phrase_name((cg_phrase)p));
        json_arr_end(w);
    }
    json_obj_end(w);
}

static void write_intervals(json_w *w, const char *key, const cg_interval *v, int n)
{
    json_key(w, key);
    json_arr_begin(w);
    for (int i = 0; i < n; i++) {
        json_obj_begin(w);
        json_kv_uint(w, "start_ms", v[i].start_ms);
        json_kv_uint(w, "end_ms", v[i].end_ms);
        json_obj_end(w);
    }
    json_arr_end(w);
}

static void write_call(json_w *w, const cg_run *r, const cg_call *c)
{
    json_obj_begin(w);
    json_kv_str(w, "id", c->id);
    json_kv_str(w, "scenario", cg_scen_name(c->scen));
    json_kv_str(w, "inbound_call_id", c->nlegs > 0 ? c->legs[0].call_id : NULL);
    json_kv_str(w, "ani", c->scen == CG_SC_GARBAGE ? NULL : c->ani);
    json_kv_str(w, "dnis", c->scen == CG_SC_GARBAGE ? NULL : c->dnis);
    json_kv_str(w, "queue", c->scen == CG_SC_GARBAGE ? NULL : c->queue);
    json_kv_str(w, "codec", cg_codec_get(c->codec)->name);
    json_kv_int(w, "payload_type", cg_codec_get(c->codec)->payload_type);
    json_kv_str(w, "outcome", cg_outcome_name(c->outcome));
    json_kv_str(w, "hangup_by", cg_party_name(c->hangup_by));
    kv_time(w, "invite", c->t0_us);
    kv_time(w, "ringing", c->ring_us);
    kv_time(w, "answer", c->answer_us);
    kv_time(w, "end", c->end_us);
    kv_time(w, "abandon", c->abandon_us);
    json_key(w, "agents");
    json_arr_begin(w);
    for (int i = 0; i < c->nagents; i++)
        json_str(w, c->agents[i]);
    json_arr_end(w);
    json_key(w, "legs");
    json_arr_begin(w);
    for (int i = 0; i < c->nlegs; i++)
        write_leg(w, &c->legs[i]);
    json_arr_end(w);
    write_intervals(w, "holds", c->holds, c->nholds);
    json_key(w, "transfers");
    json_arr_begin(w);
    for (int i = 0; i < c->ntransfers; i++) {
        const cg_transfer *t = &c->transfers[i];
        json_obj_begin(w);
        json_kv_uint(w, "at_ms", t->at_ms);
        json_kv_str(w, "method", t->method);
        json_kv_str(w, "from_agent", t->from_ext);
        json_kv_str(w, "to_agent", t->to_ext);
        json_kv_str(w, "new_leg_call_id", c->legs[t->new_leg].call_id);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_key(w, "dtmf");
    json_arr_begin(w);
    for (int i = 0; i < c->ndtmf; i++) {
        const cg_dtmf_truth *d = &c->dtmf[i];
        json_obj_begin(w);
        char dg[2] = {d->digit, '\0'};
        json_kv_str(w, "digit", dg);
        json_kv_uint(w, "at_ms", d->at_ms);
        json_kv_int(w, "duration_ms", d->duration_ms);
        json_kv_bool(w, "card_number", d->card);
        json_obj_end(w);
    }
    json_arr_end(w);
    {
        char digits[CG_MAX_DTMF + 1];
        int k = 0;
        for (int i = 0; i < c->ndtmf; i++)
            digits[k++] = c->dtmf[i].digit;
        digits[k] = '\0';
        json_kv_str(w, "dtmf_digits", digits);
    }
    json_key(w, "utterances");
    json_arr_begin(w);
    for (int i = 0; i < c->nutts; i++) {
        const cg_utt *u = &c->utts[i];
        json_obj_begin(w);
        json_kv_str(w, "channel", u->channel ? "agent" : "customer");
        json_kv_uint(w, "start_ms", u->start_ms);
        json_kv_uint(w, "end_ms", u->end_ms);
        json_kv_str(w, "source", u->source);
        json_kv_str(w, "agent_ext", u->agent_ext[0] ? u->agent_ext : NULL);
        json_kv_str(w, "clip", u->clip->id);
        json_kv_str(w, "speaker", u->clip->speaker);
        json_kv_str(w, "text", u->clip->text);
        json_kv_str(w, "phrase", u->clip->phrase == CG_PHRASE_NONE
                                     ? NULL
                                     : cg_phrase_name(u->clip->phrase));
        json_obj_end(w);
    }
    json_arr_end(w);
    write_phrases(w, c);
    write_intervals(w, "dead_air", c->dead_air, c->ndead_air);
    write_intervals(w, "overtalk", c->overtalk, c->novertalk);
    json_key(w, "faults");
    json_obj_begin(w);
    json_kv_double(w, "loss_pct", c->faults.loss_pct);
    json_kv_int(w, "jitter_ms", c->faults.jitter_ms);
    json_kv_double(w, "reorder_pct", c->faults.reorder_pct);
    json_kv_double(w, "duplicate_pct", c->faults.duplicate_pct);
    json_kv_uint(w, "packets_sent", c->fault_counts.sent);
    json_kv_uint(w, "packets_dropped", c->fault_counts.dropped);
    json_kv_uint(w, "packets_duplicated", c->fault_counts.duplicated);
    json_kv_uint(w, "packets_reordered", c->fault_counts.reordered);
    json_kv_uint(w, "ssrc_changes", c->ssrc_changes);
    json_obj_end(w);
    json_key(w, "rtp_streams");
    json_arr_begin(w);
    for (int i = 0; i < c->nstreams; i++) {
        const cg_stream_truth *s = &c->streams[i];
        char hex[16];
        snprintf(hex, sizeof hex, "0x%08x", (unsigned)s->ssrc);
        json_obj_begin(w);
        json_kv_uint(w, "ssrc", s->ssrc);
        json_kv_str(w, "ssrc_hex", hex);
        json_kv_str(w, "leg_call_id", c->legs[s->leg].call_id);
        json_kv_str(w, "from", s->from);
        json_kv_str(w, "to", s->to);
        json_kv_str(w, "channel", s->channel);
        json_kv_str(w, "src", s->src);
        json_kv_str(w, "dst", s->dst);
        json_kv_uint(w, "packets", s->packets);
        kv_time(w, "first", s->first_us);
        kv_time(w, "last", s->last_us);
        json_kv_uint(w, "rtcp_packets", s->rtcp_packets);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_key(w, "repeat_of");
    if (c->repeat_of >= 0) {
        json_obj_begin(w);
        json_kv_str(w, "id", r->calls[c->repeat_of].id);
        json_kv_str(w, "inbound_call_id", r->calls[c->repeat_of].legs[0].call_id);
        json_kv_uint(w, "gap_s", c->repeat_gap_us / 1000000u);
        json_obj_end(w);
    } else {
        json_null(w);
    }
    json_kv_uint(w, "sip_messages", c->sip_messages);
    json_kv_uint(w, "rtp_packets", c->rtp_packets);
    json_kv_uint(w, "rtcp_packets", c->rtcp_packets);
    json_kv_uint(w, "frames", c->frames);
    json_obj_end(w);
}

static int finish(json_w *w, const char *path, char *err, size_t errcap)
{
    int rc = json_w_error(w);
    if (rc == CS_OK)
        rc = json_w_save(w, path);
    if (rc != CS_OK)
        snprintf(err, errcap, "writing truth %s: %s", path, cs_err_msg(rc));
    json_w_free(w);
    return rc;
}

int cg_truth_write(const cg_run *r, const char *path, char *err, size_t errcap)
{
    json_w *w = json_w_new(1, TRUTH_MAX_BYTES);
    if (!w) {
        snprintf(err, errcap, "out of memory");
        return CS_ERR_NOMEM;
    }
    int phrases = cg_bank_phrase(r->bank, CG_PHRASE_GREETING) != NULL;
    json_obj_begin(w);
    write_generator(w, r->opts->seed, "scenarios");
    write_options(w, r->opts, phrases);
    uint64_t legs = 0, answered = 0, garbage = 0;
    for (size_t i = 0; i < r->ncalls; i++) {
        legs += (uint64_t)r->calls[i].nlegs;
        answered += r->calls[i].outcome == CG_OUT_ANSWERED;
        garbage += (uint64_t)r->calls[i].ngarbage;
    }
    json_key(w, "totals");
    json_obj_begin(w);
    json_kv_uint(w, "calls", r->ncalls - (garbage ? 1 : 0));
    json_kv_uint(w, "answered", answered);
    json_kv_uint(w, "sip_dialogs", legs);
    json_kv_uint(w, "frames", r->frames);
    json_kv_uint(w, "bytes", r->bytes);
    json_kv_uint(w, "sip_messages", r->sip_messages);
    json_kv_uint(w, "rtp_packets", r->rtp_packets);
    json_kv_uint(w, "rtcp_packets", r->rtcp_packets);
    json_kv_uint(w, "garbage_frames", r->garbage_frames);
    json_obj_end(w);
    json_key(w, "calls");
    json_arr_begin(w);
    for (size_t i = 0; i < r->ncalls; i++)
        if (r->calls[i].scen != CG_SC_GARBAGE)
            write_call(w, r, &r->calls[i]);
    json_arr_end(w);
    json_key(w, "garbage");
    json_arr_begin(w);
    for (size_t i = 0; i < r->ncalls; i++) {
        const cg_call *c = &r->calls[i];
        for (int g = 0; g < c->ngarbage; g++) {
            json_obj_begin(w);
            json_kv_uint(w, "frame", c->garbage[g].frame);
            json_kv_str(w, "kind", c->garbage[g].kind);
            kv_time(w, "time", c->garbage[g].t_us);
            json_kv_uint(w, "udp_payload_bytes", c->garbage[g].len);
            json_obj_end(w);
        }
    }
    json_arr_end(w);
    json_obj_end(w);
    return finish(w, path, err, errcap);
}

int cg_truth_write_load(const cg_load_opts *o, const cg_load_result *res, const char *path,
                        char *err, size_t errcap)
{
    json_w *w = json_w_new(1, TRUTH_MAX_BYTES);
    if (!w) {
        snprintf(err, errcap, "out of memory");
        return CS_ERR_NOMEM;
    }
    json_obj_begin(w);
    write_generator(w, o->seed, "load");
    json_key(w, "options");
    json_obj_begin(w);
    json_kv_uint(w, "size_bytes", o->size_bytes);
    json_kv_int(w, "concurrent", o->concurrent);
    json_kv_uint(w, "duration_s", o->duration_s);
    json_kv_str(w, "codec", o->codec >= 0 ? cg_codec_get((cg_codec)o->codec)->name : "mixed");
    kv_time(w, "start", o->start_us);
    json_obj_end(w);
    uint64_t finished = 0;
    for (size_t i = 0; i < res->ncalls; i++)
        finished += res->calls[i].end_us != 0;
    json_key(w, "totals");
    json_obj_begin(w);
    json_kv_uint(w, "calls", res->ncalls);
    json_kv_uint(w, "calls_finished", finished);
    json_kv_uint(w, "max_concurrent", res->max_concurrent);
    json_kv_uint(w, "frames", res->frames);
    json_kv_uint(w, "bytes", res->bytes);
    json_kv_uint(w, "sip_messages", res->sip_messages);
    json_kv_uint(w, "rtp_packets", res->rtp_packets);
    json_obj_end(w);
    json_key(w, "calls");
    json_arr_begin(w);
    for (size_t i = 0; i < res->ncalls; i++) {
        const cg_load_call *c = &res->calls[i];
        json_obj_begin(w);
        json_kv_str(w, "inbound_call_id", c->call_id);
        json_kv_str(w, "ani", c->ani);
        json_kv_str(w, "dnis", c->dnis);
        json_kv_str(w, "agent", c->agent);
        json_kv_str(w, "codec", cg_codec_get(c->codec)->name);
        kv_time(w, "invite", c->invite_us);
        kv_time(w, "answer", c->answer_us);
        kv_time(w, "end", c->end_us);
        json_kv_str(w, "hangup_by", cg_party_name(c->hangup_by));
        json_key(w, "ssrc");
        json_arr_begin(w);
        json_uint(w, c->ssrc[0]);
        json_uint(w, c->ssrc[1]);
        json_arr_end(w);
        json_key(w, "packets");
        json_arr_begin(w);
        json_uint(w, c->packets[0]);
        json_uint(w, c->packets[1]);
        json_arr_end(w);
        json_obj_end(w);
    }
    json_arr_end(w);
    json_obj_end(w);
    return finish(w, path, err, errcap);
}
