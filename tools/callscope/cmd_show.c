/*
 * cmd_show.c — `callscope show CALL [--format json|table]`: one call, all
 * that is known about it.
 *
 * CALL is the call's uuid or any of its legs' Call-IDs. The JSON object
 * (docs/callscope.md lists every field) is built by PostgreSQL in one
 * statement (json_build_object over the call, its legs, metrics, latest
 * score and items, utterances and recording), so it is one consistent
 * snapshot; --format table prints the same fields as "key: value" lines and
 * the transcript as a dialogue. Times: invite_time is ISO 8601 with
 * microseconds in UTC; durations are seconds with millisecond precision;
 * utterance times are seconds from the recording's start.
 *
 * DTMF: the digits as stored after the scoring stage masked card numbers
 * (call_metrics.extra.dtmf), else the stored digits with masked ones as '*'.
 * Exit: 0 shown, 1 no such call or a database error, 2 usage, 4 database
 * unreachable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "error.h"
#include "jsonp.h"
#include "log.h"
#include "stage.h"

static const char SHOW_SQL[] =
    "WITH c AS (SELECT * FROM calls WHERE uuid::text = lower($1)"
    "           OR uuid IN (SELECT call_uuid FROM legs WHERE call_id = $1) LIMIT 2),"
    " s AS (SELECT DISTINCT ON (s.call_uuid) s.* FROM scores s JOIN c ON c.uuid = s.call_uuid"
    "       ORDER BY s.call_uuid, s.computed_at DESC, s.id DESC)"
    " SELECT (SELECT count(*) FROM c), json_build_object("
    "  'uuid', c.uuid,"
    "  'call_ids', (SELECT json_agg(json_build_object('call_id', l.call_id, 'role', l.role,"
    "                 'agent_extension', l.agent_extension) ORDER BY l.invite_at, l.id)"
    "               FROM legs l WHERE l.call_uuid = c.uuid),"
    "  'ani', c.ani, 'dnis', c.dnis,"
    "  'queue', (SELECT name FROM queues WHERE id = c.queue_id),"
    "  'agents', (SELECT coalesce(json_agg(DISTINCT coalesce(a.name, l.agent_extension)), '[]')"
    "             FROM legs l LEFT JOIN agents a ON a.extension = l.agent_extension"
    "             WHERE l.call_uuid = c.uuid AND l.answered_at IS NOT NULL AND l.role = 'agent'"
    "             OR (l.call_uuid = c.uuid AND a.id = c.agent_id)),"
    "  'invite_time', to_char(c.invite_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "  'outcome', c.outcome,"
    "  'answer_seconds', m.answer_time_ms / 1000.0,"
    "  'abandon_seconds', m.abandon_time_ms / 1000.0,"
    "  'ring_seconds', m.ring_time_ms / 1000.0,"
    "  'talk_seconds', m.talk_ms / 1000.0,"
    "  'hold_seconds', coalesce(m.hold_ms, c.hold_ms) / 1000.0,"
    "  'hold_count', coalesce(m.hold_count, c.hold_count),"
    "  'transfers', coalesce(m.transfers, c.transfer_count),"
    "  'handle_seconds', m.handle_ms / 1000.0,"
    "  'dead_air_seconds', m.dead_air_ms / 1000.0,"
    "  'dead_air_longest_seconds', m.dead_air_longest_ms / 1000.0,"
    "  'overtalk_seconds', m.overtalk_ms / 1000.0,"
    "  'agent_talk_ratio', m.agent_talk_ratio,"
    "  'ended_by', c.ended_by,"
    "  'dtmf', coalesce(m.extra ->> 'dtmf', (SELECT string_agg(coalesce(d.digit, '*'), '' ORDER BY d.at)"
    "                                      FROM dtmf_events d WHERE d.call_uuid = c.uuid), ''),"
    "  'rtp', json_build_object('loss_pct', m.loss_pct, 'jitter_ms', m.jitter_ms, 'mos', m.mos,"
    "          'directions', coalesce(m.extra -> 'rtp', '{}'::jsonb)),"
    "  'fcr', coalesce(m.extra -> 'fcr', '{}'::jsonb) || jsonb_build_object('status', m.fcr_status,"
    "          'window', m.fcr_window::text, 'repeat_of', m.repeat_of, 'repeated_by', m.repeated_by),"
    "  'score', coalesce(s.reviewed_score, s.auto_score),"
    "  'auto_score', s.auto_score,"
    "  'passed', coalesce(s.reviewed_passed, s.passed),"
    "  'critical_failed', s.critical_failed,"
    "  'scorecard', (SELECT json_build_object('name', k.name, 'version', k.version)"
    "                FROM scorecards k WHERE k.id = s.scorecard_id),"
    "  'items', (SELECT coalesce(json_agg(json_build_object('name', i.item_key, 'section', i.section,"
    "              'critical', i.critical, 'result', i.result, 'points', i.points,"
    "              'max_points', i.max_points, 'evidence_time', (i.evidence ->> 'at_s')::float8,"
    "              'evidence', i.evidence) ORDER BY i.id), '[]')"
    "            FROM score_items i WHERE i.score_id = s.id),"
    "  'phrases', (SELECT coalesce(json_agg(json_build_object('name', h.name, 'kind', h.kind,"
    "               'channel', CASE h.channel WHEN 1 THEN 'customer' ELSE 'agent' END,"
    "               'start', h.start_ms / 1000.0, 'end', h.end_ms / 1000.0,"
    "               'matched', h.matched_text, 'confidence', h.confidence) ORDER BY h.start_ms), '[]')"
    "             FROM phrase_hits h WHERE h.call_uuid = c.uuid),"
    "  'transcript', json_build_object("
    "     'customer', (SELECT coalesce(json_agg(json_build_object('start', u.start_ms / 1000.0,"
    "                    'end', u.end_ms / 1000.0, 'text', u.text, 'confidence', u.confidence)"
    "                    ORDER BY u.start_ms), '[]') FROM utterances u"
    "                  WHERE u.call_uuid = c.uuid AND u.channel = 1),"
    "     'agent', (SELECT coalesce(json_agg(json_build_object('start', u.start_ms / 1000.0,"
    "                 'end', u.end_ms / 1000.0, 'text', u.text, 'confidence', u.confidence)"
    "                 ORDER BY u.start_ms), '[]') FROM utterances u"
    "               WHERE u.call_uuid = c.uuid AND u.channel = 2)),"
    "  'recording', (SELECT json_build_object('path', r.path, 'sha256', encode(r.sha256, 'hex'),"
    "                  'format', r.format, 'sample_rate', r.sample_rate,"
    "                  'duration_seconds', r.duration_ms / 1000.0, 'seq', r.seq,"
    "                  'deleted', r.deleted_at IS NOT NULL)"
    "                FROM recordings r WHERE r.call_uuid = c.uuid)"
    " )::text"
    " FROM c LEFT JOIN call_metrics m ON m.call_uuid = c.uuid LEFT JOIN s ON s.call_uuid = c.uuid"
    " LIMIT 1";

/* A scalar as text ("" for null or a missing value). */
static void scalar_text(const jsonp_val *v, char *buf, size_t cap)
{
    double d;
    int b;
    buf[0] = '\0';
    const char *s = jsonp_str(v, NULL);
    if (s)
        snprintf(buf, cap, "%s", s);
    else if (jsonp_bool(v, &b) == CS_OK)
        snprintf(buf, cap, "%s", b ? "true" : "false");
    else if (jsonp_double(v, &d) == CS_OK)
        snprintf(buf, cap, "%.10g", d);
}

static double num_of(const jsonp_val *v)
{
    double d = 0;
    return jsonp_double(v, &d) == CS_OK ? d : 0;
}

/* "key: value" lines of the top-level scalars, the items, then the
 * transcript as a dialogue. */
static void print_table(const char *json, size_t len)
{
    jsonp_doc *doc = NULL;
    if (jsonp_parse(json, len, NULL, &doc, NULL) != CS_OK) {
        fwrite(json, 1, len, stdout);
        putchar('\n');
        return;
    }
    const jsonp_val *root = jsonp_root(doc);
    static const char *const keys[] = {
        "uuid",         "invite_time",      "ani",          "dnis",         "queue",
        "outcome",      "answer_seconds",   "abandon_seconds", "talk_seconds", "hold_seconds",
        "hold_count",   "transfers",        "handle_seconds",  "dead_air_seconds",
        "overtalk_seconds", "agent_talk_ratio", "ended_by", "dtmf", "score", "passed",
        "critical_failed"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const jsonp_val *v = jsonp_get(root, keys[i]);
        char buf[256];
        scalar_text(v, buf, sizeof buf);
        printf("%-18s %s\n", keys[i], buf);
    }
    const jsonp_val *items = jsonp_get(root, "items");
    for (size_t i = 0; i < jsonp_len(items); i++) {
        const jsonp_val *it = jsonp_at(items, i);
        char n[128], r[16], t[32];
        scalar_text(jsonp_get(it, "name"), n, sizeof n);
        scalar_text(jsonp_get(it, "result"), r, sizeof r);
        scalar_text(jsonp_get(it, "evidence_time"), t, sizeof t);
        printf("item %-28s %-5s %s\n", n, r, t);
    }
    const jsonp_val *tr = jsonp_get(root, "transcript");
    const jsonp_val *side[2] = {jsonp_get(tr, "customer"), jsonp_get(tr, "agent")};
    size_t k[2] = {0, 0};
    for (;;) {
        int pick = -1;
        double at[2] = {0, 0};
        for (int s = 0; s < 2; s++) {
            if (k[s] >= jsonp_len(side[s]))
                continue;
            at[s] = num_of(jsonp_get(jsonp_at(side[s], k[s]), "start"));
            if (pick < 0 || at[s] < at[pick])
                pick = s;
        }
        if (pick < 0)
            break;
        char text[4096];
        scalar_text(jsonp_get(jsonp_at(side[pick], k[pick]), "text"), text,
                          sizeof text);
        printf("%8.2f %-8s %s\n", at[pick], pick ? "agent" : "customer", text);
        k[pick]++;
    }
    jsonp_free(doc);
}

int cmd_show(const cli_ctx *ctx)
{
    if (ctx->nargs != 1) {
        fprintf(stderr, "callscope show: name one call (its uuid or a Call-ID)\n"
                        "Try 'callscope --help' for more information.\n");
        return CS_EXIT_USAGE;
    }
    db_conn *db = NULL;
    int rc = db_connect(ctx->cfg->db_conninfo ? ctx->cfg->db_conninfo : "", "callscope", &db);
    if (rc == CS_OK) {
        db_backoff bo = {.initial_ms = 200, .max_ms = 2000,
                         .max_tries = (unsigned)ctx->cfg->db_connect_tries};
        rc = db_ensure(db, &bo);
    }
    if (rc != CS_OK) {
        fprintf(stderr, "callscope show: database unreachable: %s\n",
                db ? db_last_error(db) : cs_err_msg(rc));
        db_close(db);
        return CS_EXIT_ENV;
    }
    const char *p[1] = {ctx->args[0]};
    db_result *r = NULL;
    rc = db_query(db, SHOW_SQL, 1, p, &r);
    int code = CS_EXIT_OK;
    if (rc != CS_OK) {
        fprintf(stderr, "callscope show: %s\n", db_last_error(db));
        code = CS_EXIT_PARTIAL;
    } else if (db_result_rows(r) == 0) {
        fprintf(stderr, "callscope show: no call %s\n", ctx->args[0]);
        code = CS_EXIT_PARTIAL;
    } else {
        if (strcmp(db_result_value(r, 0, 0), "1") != 0)
            fprintf(stderr, "callscope show: %s names more than one call; showing one (use its "
                            "uuid)\n",
                    ctx->args[0]);
        const char *json = db_result_value(r, 0, 1);
        if (ctx->format == CLI_FORMAT_TABLE)
            print_table(json, strlen(json));
        else
            printf("%s\n", json);
    }
    db_result_free(r);
    db_close(db);
    return code;
}
