#!/usr/bin/env bash
# test-kpi-rollup.sh CALLSCOPE — the KPI rollup of schema/002_kpi_rollup.sql
# (cs_kpi_refresh, cs_kpi_refresh_range) on the test PostgreSQL ($CALLSCOPE_TEST_PG),
# schema applied by the real runner (`callscope db migrate`).
#
# Calls, metrics and scores are inserted by SQL as decode and scoring write
# them; then the kpi_interval cells are compared with values worked out by
# hand (T = 20 s, short abandon = 5 s):
#   interval 2024-03-01 10:00 UTC, queue Sales (1):
#     A1 10:00:00     answered by Alice, wait 20.000 s (within: <=), metrics:
#                     talk 100 s, hold 10 s, handle 110 s, 1 transfer, FCR
#                     resolved (7 days); scores: card v1 auto 50 (older), card
#                     v2 auto 80 (latest)
#     A2 10:05:00     answered by Alice, wait 20.001 s (not within); no
#                     call_metrics: times from calls (connected 60 s, hold 4 s)
#     A3 10:14:59.999 answered by Bob, wait 5 s; metrics talk 30, handle 30,
#                     FCR pending; score auto 50 reviewed 90, critical failed
#     B1 10:01 abandoned at 4.999 s (short, within T)
#     B2 10:02 abandoned at 5.000 s (not short, within T)
#     B3 10:03 abandoned at 30 s;  X1 10:04 busy (offered only)
#   the same interval, no queue: U1 10:06 abandoned at 25 s
#   interval 10:15: N1 10:15:00 answered by Alice, wait 1 s
# Then: refreshing again changes nothing (idempotent, no double counting);
# A2 moves to Bob and A1's FCR becomes repeat with a newer score: the old cell
# loses A2, the new one gains it; a reviewed score wins; a call whose metrics
# say otherwise than calls wins by metrics; refresh of an unknown uuid is 0;
# the range rebuild gives the same rows; bad thresholds are refused; and four
# sessions refreshing the same interval at once 30 times each all succeed
# (the per-interval lock; without it the inserts collide on kpi_interval_key);
# a refresh of 70 calls in 70 intervals (the table-lock path) writes exactly
# their 70 cells, twice the same.
set -euo pipefail
cs=${1:?path to callscope}
[[ -r ${CALLSCOPE_TEST_PG:-} ]] || { echo "SKIP: no test PostgreSQL (CALLSCOPE_TEST_PG)"; exit 77; }
admin=$(head -1 "$CALLSCOPE_TEST_PG")
db=cs_kpi_rollup_$$
psql "$admin" -Xqc "CREATE DATABASE $db"
conf=$(mktemp "${TMPDIR:-/tmp}/cs-kpi-conf.XXXXXX")
trap 'psql "$admin" -Xqc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -f "$conf"' EXIT
ci=${admin/dbname=postgres/dbname=$db}
export CALLSCOPE_CONFIG=$conf
fail() { echo "FAIL: $*" >&2; exit 1; }
sql() { psql "$ci" -XqAt -v ON_ERROR_STOP=1 "$@"; }
"$cs" -q --db "$ci" db migrate >/dev/null

sql <<'EOF'
INSERT INTO queues (id, name) VALUES (1, 'Sales');
INSERT INTO agents (id, extension, name) VALUES (1, '1001', 'Alice'), (2, '1002', 'Bob');
INSERT INTO scorecards (id, name, version, definition) VALUES (1, 'qa', 1, '{}'), (2, 'qa', 2, '{}');
-- call n: uuid n0000000-0000-4000-8000-00000000000n
INSERT INTO calls (uuid, probe, call_id, invite_at, answered_at, abandon_at, ended_at, queue_id,
                   agent_id, outcome, ended_by, duration_ms, hold_ms, transfer_count)
SELECT ('00000000-0000-4000-8000-0000000000' || lpad(v.n::text, 2, '0'))::uuid, 'p', v.name,
       v.inv::timestamptz, v.inv::timestamptz + v.ans::interval, v.inv::timestamptz + v.abn::interval,
       v.inv::timestamptz + v.dur::interval, v.q, v.a, v.outcome, 'caller',
       (extract(epoch FROM v.dur::interval) * 1000)::integer, v.hold, v.xfer
FROM (VALUES
 (1, 'A1', '2024-03-01T10:00:00Z',        '20 s',     NULL,       '130 s', 1, 1, 'answered', 0, 0),
 (2, 'A2', '2024-03-01T10:05:00Z',        '20.001 s', NULL,       '80.001 s', 1, 1, 'answered', 4000, 2),
 (3, 'A3', '2024-03-01T10:14:59.999Z',    '5 s',      NULL,       '35 s',  1, 2, 'answered', 0, 0),
 (4, 'B1', '2024-03-01T10:01:00Z',        NULL,       '4.999 s',  '4.999 s', 1, NULL, 'abandoned', 0, 0),
 (5, 'B2', '2024-03-01T10:02:00Z',        NULL,       '5 s',      '5 s',   1, NULL, 'abandoned', 0, 0),
 (6, 'B3', '2024-03-01T10:03:00Z',        NULL,       '30 s',     '30 s',  1, NULL, 'abandoned', 0, 0),
 (7, 'X1', '2024-03-01T10:04:00Z',        NULL,       NULL,       '2 s',   1, NULL, 'busy', 0, 0),
 (8, 'U1', '2024-03-01T10:06:00Z',        NULL,       '25 s',     '25 s',  NULL, NULL, 'abandoned', 0, 0),
 (9, 'N1', '2024-03-01T10:15:00Z',        '1 s',      NULL,       '61 s',  1, 1, 'answered', 0, 0)
) AS v(n, name, inv, ans, abn, dur, q, a, outcome, hold, xfer);
INSERT INTO call_metrics (call_uuid, answer_time_ms, talk_ms, hold_ms, hold_count, transfers,
                          handle_ms, fcr_status, fcr_window, fcr_due_at)
SELECT uuid, 20000, 100000, 10000, 1, 1, 110000, 'resolved', '7 days'::interval, NULL::timestamptz FROM calls WHERE call_id = 'A1'
UNION ALL
SELECT uuid, 5000, 30000, 0, 0, 0, 30000, 'pending', '7 days'::interval, invite_at + '7 days' FROM calls WHERE call_id = 'A3';
INSERT INTO scores (call_uuid, scorecard_id, auto_score, passed, computed_at)
SELECT uuid, 1, 50, false, '2024-03-01T11:00:00Z'::timestamptz FROM calls WHERE call_id = 'A1'
UNION ALL
SELECT uuid, 2, 80, true, '2024-03-01T12:00:00Z'::timestamptz FROM calls WHERE call_id = 'A1';
INSERT INTO users (id, login, display_name, role, password_hash)
VALUES (1, 'sup', 'Sup', 'supervisor', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA');
INSERT INTO scores (call_uuid, scorecard_id, auto_score, passed, critical_failed, reviewed_score,
                    reviewed_by, reviewed_at)
SELECT uuid, 2, 50, false, true, 90, 1, now() FROM calls WHERE call_id = 'A3';
EOF

uuids() { # uuids A1 B2 ...: a uuid[] literal of those calls
    local names; names=$(printf "'%s'," "$@"); names=${names%,}
    sql -c "SELECT COALESCE(array_agg(uuid ORDER BY call_id), '{}')::text FROM calls WHERE call_id IN ($names)"
}
refresh() { sql -c "SELECT cs_kpi_refresh('$(uuids "$@")'::uuid[], 20000, 5000)"; }
# every cell, one line each, ordered; NULL queue/agent as -
cells() {
    sql -F ' ' -c "SELECT to_char(interval_start AT TIME ZONE 'UTC', 'HH24:MI'), COALESCE(queue_id::text, '-'),
        COALESCE(agent_id::text, '-'), offered, answered, abandoned, short_abandons, answered_within_sl,
        abandoned_within_sl, sum_wait_ms, max_wait_ms, sum_abandon_ms, sum_talk_ms, sum_handle_ms, handled,
        sum_hold_ms, holds, transfers, fcr_resolved, fcr_repeat, fcr_pending, COALESCE(fcr_window::text, '-'),
        score_sum, score_count, critical_fails, sl_threshold_ms, short_abandon_ms
        FROM kpi_interval ORDER BY interval_start, queue_id NULLS LAST, agent_id NULLS LAST"
}
expect_cells() { # expect_cells WHAT WANT
    local got; got=$(cells)
    [[ $got == "$2" ]] || fail "$1: kpi_interval
got:
$got
want:
$2"
    daily_matches "$1"
}
# kpi_daily (schema/003_kpi_daily.sql) must be exactly kpi_interval summed per UTC day
DAILY_FROM_INTERVALS="SELECT date_bin('1 day', interval_start, 'epoch'::timestamptz) AS d, queue_id, agent_id,
    sum(offered), sum(answered), sum(abandoned), sum(short_abandons), sum(answered_within_sl),
    sum(abandoned_within_sl), sum(sum_wait_ms), max(max_wait_ms), sum(sum_abandon_ms), sum(sum_talk_ms),
    sum(sum_handle_ms), sum(handled), sum(sum_hold_ms), sum(holds), sum(transfers), sum(fcr_resolved),
    sum(fcr_repeat), sum(fcr_pending), min(fcr_window), max(fcr_window), sum(score_sum), sum(score_count),
    sum(critical_fails), min(sl_threshold_ms), max(sl_threshold_ms), min(short_abandon_ms), max(short_abandon_ms)
    FROM kpi_interval GROUP BY 1, 2, 3"
DAILY_ROWS="SELECT interval_start, queue_id, agent_id, offered, answered, abandoned, short_abandons,
    answered_within_sl, abandoned_within_sl, sum_wait_ms, max_wait_ms, sum_abandon_ms, sum_talk_ms,
    sum_handle_ms, handled, sum_hold_ms, holds, transfers, fcr_resolved, fcr_repeat, fcr_pending,
    fcr_window_min, fcr_window_max, score_sum, score_count, critical_fails, sl_threshold_min_ms,
    sl_threshold_max_ms, short_abandon_min_ms, short_abandon_max_ms FROM kpi_daily"
daily_matches() { # daily_matches WHAT
    local got
    got=$(sql -F ' ' -c "SELECT (SELECT count(*) FROM (($DAILY_FROM_INTERVALS) EXCEPT ($DAILY_ROWS)) a),
                                (SELECT count(*) FROM (($DAILY_ROWS) EXCEPT ($DAILY_FROM_INTERVALS)) b),
                                (SELECT count(*) FROM kpi_daily)")
    [[ $got == "0 0 "* ]] || fail "$1: kpi_daily differs from kpi_interval summed per day (missing, extra, rows: $got)"
}

# columns: time queue agent offered answered abandoned short ans_sl abn_sl sum_wait max_wait
#          sum_abandon sum_talk sum_handle handled sum_hold holds transfers fcr_res fcr_rep
#          fcr_pend fcr_window score_sum score_count crit T short
# A1: metrics (talk 100, handle 110, hold 10, 1 transfer). A2 without metrics: connected
# 80.001 - 20.001 = 60 s handle, hold 4 s from calls, talk 56 s, 2 transfers -> counts 1.
want_1='10:00 1 1 2 2 0 0 1 0 40001 20001 0 156000 170000 2 14000 2 2 1 0 0 7 days 80.00 1 0 20000 5000
10:00 1 2 1 1 0 0 1 0 5000 5000 0 30000 30000 1 0 0 0 0 0 1 7 days 90.00 1 1 20000 5000
10:00 1 - 4 0 3 1 0 2 0 30000 39999 0 0 0 0 0 0 0 0 0 - 0.00 0 0 20000 5000
10:00 - - 1 0 1 0 0 0 0 25000 25000 0 0 0 0 0 0 0 0 0 - 0.00 0 0 20000 5000'
want_n1='10:15 1 1 1 1 0 0 1 0 1000 1000 0 60000 60000 1 0 0 0 0 0 0 - 0.00 0 0 20000 5000'

[[ $(refresh A1) == 4 ]] || fail "refresh A1: want 4 rows (every cell of its interval)"
expect_cells "after refresh A1" "$want_1"
[[ $(refresh A1 B2 U1) == 4 ]] || fail "refresh again: want 4 rows"
expect_cells "refresh is idempotent" "$want_1"
[[ $(refresh N1) == 1 ]] || fail "refresh N1: want 1 row"
expect_cells "refresh N1 leaves 10:00 alone" "$want_1
$want_n1"
[[ $(sql -c "SELECT cs_kpi_refresh('{00000000-0000-4000-8000-0000000000ff}', 20000, 5000)") == 0 ]] ||
    fail "unknown uuid: want 0 rows"
[[ $(sql -c "SELECT cs_kpi_refresh('{}', 20000, 5000)") == 0 ]] || fail "empty array: want 0 rows"

# ---- changes -----------------------------------------------------------------------
# A2 moves to Bob; A1 becomes a repeat and gets a newer score (v1 re-scored later: 60);
# A3's review clears the critical fail; B2's metrics say it waited 6 s (metrics win)
sql <<'EOF'
UPDATE calls SET agent_id = 2 WHERE call_id = 'A2';
UPDATE call_metrics SET fcr_status = 'repeat', repeated_by = (SELECT uuid FROM calls WHERE call_id = 'N1')
 WHERE call_uuid = (SELECT uuid FROM calls WHERE call_id = 'A1');
UPDATE scores SET auto_score = 60, computed_at = '2024-03-01T13:00:00Z'
 WHERE scorecard_id = 1 AND call_uuid = (SELECT uuid FROM calls WHERE call_id = 'A1');
UPDATE scores SET reviewed_critical_failed = false
 WHERE call_uuid = (SELECT uuid FROM calls WHERE call_id = 'A3');
INSERT INTO call_metrics (call_uuid, abandon_time_ms, fcr_status, fcr_window)
SELECT uuid, 6000, 'not_applicable', '7 days' FROM calls WHERE call_id = 'B2';
EOF
expect_cells "before refresh: unchanged" "$want_1
$want_n1"
want_2='10:00 1 1 1 1 0 0 1 0 20000 20000 0 100000 110000 1 10000 1 1 0 1 0 7 days 60.00 1 0 20000 5000
10:00 1 2 2 2 0 0 1 0 25001 20001 0 86000 90000 2 4000 1 1 0 0 1 7 days 90.00 1 0 20000 5000
10:00 1 - 4 0 3 1 0 2 0 30000 40999 0 0 0 0 0 0 0 0 0 7 days 0.00 0 0 20000 5000
10:00 - - 1 0 1 0 0 0 0 25000 25000 0 0 0 0 0 0 0 0 0 - 0.00 0 0 20000 5000'
[[ $(refresh A2) == 4 ]] || fail "refresh A2: want 4 rows"
expect_cells "A2 moved to Bob, A1 repeat + newer score, review, B2 metrics" "$want_2
$want_n1"
refresh A2 A1 >/dev/null
expect_cells "refresh after change is idempotent" "$want_2
$want_n1"
# the offered total of the interval equals its calls: no double counting
[[ $(sql -c "SELECT sum(offered) FROM kpi_interval WHERE interval_start = '2024-03-01T10:00Z'") == 8 ]] ||
    fail "interval 10:00 must offer 8 calls"

# other thresholds: T = 5 s, short = 10 s (only the cells of refreshed intervals change)
sql -c "SELECT cs_kpi_refresh('$(uuids B1)'::uuid[], 5000, 10000)" >/dev/null
got=$(sql -F ' ' -c "SELECT COALESCE(agent_id::text, '-'), answered_within_sl, abandoned_within_sl, short_abandons,
      sl_threshold_ms, short_abandon_ms FROM kpi_interval WHERE queue_id = 1 AND interval_start = '2024-03-01T10:00Z'
      ORDER BY agent_id NULLS LAST")
[[ $got == '1 0 0 0 5000 10000
2 1 0 0 5000 10000
- 0 1 2 5000 10000' ]] || fail "T = 5 s, short = 10 s: $got"

# range rebuild = the per-call refreshes
sql -c "SELECT cs_kpi_refresh_range('2024-03-01T09:00Z', '2024-03-01T11:00Z', 20000, 5000)" >/dev/null
expect_cells "range rebuild" "$want_2
$want_n1"
# an interval with no calls left loses its rows: move N1 to the 10:00 interval's past? Delete it instead.
sql -c "DELETE FROM calls WHERE call_id = 'N1'"
[[ $(sql -c "SELECT cs_kpi_refresh_range('2024-03-01T10:15Z', '2024-03-01T10:30Z', 20000, 5000)") == 0 ]] ||
    fail "range over an empty interval: 0 rows"
expect_cells "empty interval's rows deleted" "$want_2"

# bad thresholds
for args in "-1, 5000" "20000, NULL"; do
    err=$(sql -c "SELECT cs_kpi_refresh('{}', $args)" 2>&1) && fail "thresholds ($args) accepted"
    grep -q "thresholds must be >= 0" <<<"$err" || fail "thresholds ($args): $err"
done

# ---- concurrency --------------------------------------------------------------------
# sessions WHAT SCRIPT: four psql sessions at once, session w (0..3) running the
# SQL that the function SCRIPT prints for w; every one must succeed
sessions() {
    local what=$1 script=$2 pids=() w p
    for w in 0 1 2 3; do
        "$script" "$w" | psql "$ci" -Xq -v ON_ERROR_STOP=1 >/dev/null &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || fail "$what: a session failed (exit $?)"; done
}
all=$(uuids A1 A2 A3 B1 B2 B3 X1 U1)
same_interval() { # 30 refreshes of all the 10:00 calls, each in its own transaction
    for i in $(seq 30); do
        echo "BEGIN; SELECT cs_kpi_refresh('$all'::uuid[], 20000, 5000); SELECT pg_sleep(0.001 * ($1 + 1)); COMMIT;"
    done
}
sessions "4 sessions refreshing one interval" same_interval
expect_cells "after 4 x 30 concurrent refreshes" "$want_2"

# ---- more than 64 intervals at once: the table-lock path ----------------------------
# 70 calls on 2024-03-05, one per interval from 00:00, call k answered after k s
sql <<'EOF2'
INSERT INTO calls (uuid, probe, call_id, invite_at, answered_at, ended_at, queue_id, agent_id,
                   outcome, ended_by, duration_ms)
SELECT gen_random_uuid(), 'p', 'M' || k, t, t + k * interval '1 s', t + interval '100 s', 1, 2,
       'answered', 'caller', 100000
FROM generate_series(1, 70) k,
     LATERAL (SELECT '2024-03-05T00:00Z'::timestamptz + (k - 1) * interval '15 minutes' + interval '7 s' AS t) x;
EOF2
many="SELECT cs_kpi_refresh(ARRAY(SELECT uuid FROM calls WHERE call_id LIKE 'M%'), 20000, 5000)"
for run in 1 2; do
    [[ $(sql -c "$many") == 70 ]] || fail "70 intervals (run $run): want 70 rows"
    got=$(sql -F ' ' -c "SELECT count(*), sum(offered), sum(answered_within_sl), sum(sum_wait_ms), max(max_wait_ms)
          FROM kpi_interval WHERE interval_start >= '2024-03-05' AND interval_start < '2024-03-06'")
    [[ $got == "70 70 20 $((70 * 71 / 2 * 1000)) 70000" ]] || fail "70 intervals (run $run): $got"
done
[[ $(sql -c "SELECT count(*) FROM kpi_interval WHERE interval_start < '2024-03-05'") == 4 ]] ||
    fail "the 70-interval refresh must not touch other days"
daily_matches "after the 70-interval refresh"
[[ $(sql -c "SELECT offered FROM kpi_daily WHERE interval_start = '2024-03-05T00:00Z'") == 70 ]] ||
    fail "kpi_daily 2024-03-05: want one cell of 70 calls"

# ---- four sessions refreshing different intervals of the same day ------------------
# (the per-interval locks do not serialise them; the day lock must, or the daily
# rows' inserts collide on kpi_daily_key)
same_day() { # the calls M(w+1), M(w+5), ... one by one
    for k in $(seq $(($1 + 1)) 4 70); do
        echo "BEGIN; SELECT cs_kpi_refresh(ARRAY(SELECT uuid FROM calls WHERE call_id = 'M$k'), 20000, 5000); COMMIT;"
    done
}
sessions "4 sessions refreshing one day's intervals" same_day
daily_matches "after 4 sessions refreshing one day's intervals"
[[ $(sql -c "SELECT offered FROM kpi_daily WHERE interval_start = '2024-03-05T00:00Z'") == 70 ]] ||
    fail "kpi_daily 2024-03-05 after concurrent refreshes: want 70 calls"
# the per-call paths never JIT-compile (0.5 s per call at a million calls, bench/kpi)
[[ $(sql -c "SELECT string_agg(proname || ':' || array_to_string(proconfig, ','), ' ' ORDER BY proname)
             FROM pg_proc WHERE proname IN ('cs_kpi_refresh', 'cs_kpi_daily_rebuild')") == \
   "cs_kpi_daily_rebuild:jit=off cs_kpi_refresh:jit=off" ]] || fail "cs_kpi_refresh / cs_kpi_daily_rebuild must run with jit = off"
echo "PASS: kpi rollup"
