#!/usr/bin/env bash
# test-cli-report.sh CALLSCOPE — `callscope report kpi` end to end: the real
# binary against the test PostgreSQL ($CALLSCOPE_TEST_PG), the real schema
# (`callscope db migrate`), kpi_interval rows inserted as the rollup writes them.
#
# The rows are the industry's worked example for service level, split over
# two days, two queues and two agents: 1000 answered, 860 within 20 s; 60
# abandoned, 20 within 20 s, 10 within 5 s (short), plus 5 busy calls:
#   A 2024-03-01 10:00 Sales   Alice  400 answered (350 within)
#   B 2024-03-01 10:15 Support Bob    200 answered (180 within)
#   C 2024-03-02 09:00 Sales   Bob    250 answered (200 within)
#   D 2024-03-02 23:45 Support Alice  150 answered (130 within)
#   E 2024-03-01 10:00 Sales   -      30 abandoned (10 within, 5 short) + 5 busy
#   F 2024-03-02 09:00 Support -      30 abandoned (10 within, 5 short)
#   outside the range: 2024-02-29 23:45 and 2024-03-03 00:00 (T = 30 s there)
# Checked: each of the five formulas (--sl-formula and report.sl_formula)
# gives 83.0 / 86.0 / 81.1 / 82.7 / 82.1 %; the other KPIs of the total
# (abandonment, ASA, average wait, longest wait, average abandon, AHT,
# average hold, transfer rate, FCR with pending, average score, critical
# fails); --by hour/day/week/month/queue/agent groups and sums (the groups
# add up to the total); --queue/--agent filters; --from/--to rounding to
# whole intervals and bare dates; mixed thresholds warn; CSV (python csv
# and the header) and JSON (jq) parse; the table; usage errors exit 2, a bad
# report.sl_formula exits 3, no schema exits 4.
set -euo pipefail
cs=${1:?path to callscope}
[[ -r ${CALLSCOPE_TEST_PG:-} ]] || { echo "SKIP: no test PostgreSQL (CALLSCOPE_TEST_PG)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
admin=$(head -1 "$CALLSCOPE_TEST_PG")
db=cs_report_$$
psql "$admin" -Xqc "CREATE DATABASE $db"
conf=$(mktemp "${TMPDIR:-/tmp}/cs-report-conf.XXXXXX")
trap 'psql "$admin" -Xqc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -f "$conf"' EXIT
ci=${admin/dbname=postgres/dbname=$db}
export CALLSCOPE_CONFIG=$conf
fail() { echo "FAIL: $*" >&2; exit 1; }
sql() { psql "$ci" -XqAt -v ON_ERROR_STOP=1 "$@"; }
rep() { "$cs" -q --db "$ci" report kpi "$@"; }
R=(--from 2024-03-01 --to 2024-03-02)
json() { rep "${R[@]}" --format json "$@"; }
# jq check on the JSON of a report: check 'JQ-EXPR' ARGS...
check() {
    local expr=$1; shift
    local out; out=$(json "$@")
    [[ $(jq "$expr" <<<"$out") == true ]] || fail "report $*: $expr
$out"
}

# before the schema exists: exit 4 with the hint
rc=0; err=$(rep "${R[@]}" 2>&1 >/dev/null) || rc=$?
[[ $rc == 4 ]] || fail "no schema: exit $rc, want 4 ($err)"
grep -q "callscope db migrate" <<<"$err" || fail "no schema: message lacks the migrate hint: $err"
"$cs" -q --db "$ci" db migrate >/dev/null

sql <<'EOF'
INSERT INTO queues (id, name) VALUES (1, 'Sales'), (2, 'Support');
INSERT INTO agents (id, extension, name) VALUES (1, '1001', 'Alice'), (2, '1002', 'Bob');
INSERT INTO kpi_interval (interval_start, queue_id, agent_id, offered, answered, abandoned,
    short_abandons, answered_within_sl, abandoned_within_sl, sum_wait_ms, max_wait_ms,
    sum_abandon_ms, sum_talk_ms, sum_handle_ms, handled, sum_hold_ms, holds, transfers,
    fcr_resolved, fcr_repeat, fcr_pending, fcr_window, score_sum, score_count, critical_fails,
    sl_threshold_ms, short_abandon_ms)
VALUES
 ('2024-03-01T10:00Z', 1, 1,    400, 400,  0, 0, 350,  0, 4000000,  60000,      0, 117000000, 120000000, 400, 3000000, 100, 50, 300, 100,  0, '7 days', 32000, 400, 3, 20000, 5000),
 ('2024-03-01T10:15Z', 2, 2,    200, 200,  0, 0, 180,  0, 2000000,  30000,      0,  60000000,  60000000, 200,       0,   0,  0, 100,  50, 50, '7 days',     0,   0, 0, 20000, 5000),
 ('2024-03-02T09:00Z', 1, 2,    250, 250,  0, 0, 200,  0, 2500000,  90000,      0,  75000000,  75000000, 250,       0,   0,  0,   0,   0,  0, NULL,     22500, 250, 2, 20000, 5000),
 ('2024-03-02T23:45Z', 2, 1,    150, 150,  0, 0, 130,  0, 1500000,  40000,      0,  45000000,  45000000, 150,       0,   0,  0,   0,   0,  0, NULL,         0,   0, 0, 20000, 5000),
 ('2024-03-01T10:00Z', 1, NULL,  35,   0, 30, 5,   0, 10,       0, 120000, 900000,         0,         0,   0,       0,   0,  0,   0,   0,  0, NULL,         0,   0, 0, 20000, 5000),
 ('2024-03-02T09:00Z', 2, NULL,  30,   0, 30, 5,   0, 10,       0,  50000, 300000,         0,         0,   0,       0,   0,  0,   0,   0,  0, NULL,         0,   0, 0, 20000, 5000),
 ('2024-02-29T23:45Z', 1, 1,      7,   7,  0, 0,   1,  0,  700000, 999000,      0,         0,   7000000,   7,       0,   0,  0,   0,   0,  0, NULL,         0,   0, 0, 30000, 5000),
 ('2024-03-03T00:00Z', 1, 1,      3,   3,  0, 0,   3,  0,    3000,   1000,      0,         0,   3000000,   3,       0,   0,  0,   0,   0,  0, NULL,         0,   0, 0, 30000, 5000);
EOF
# written directly, not by cs_kpi_refresh: the daily rollup is re-aggregated by hand
[[ $(sql -c "SELECT cs_kpi_daily_refresh(NULL, NULL)") == 8 ]] ||
    fail "cs_kpi_daily_refresh(NULL, NULL): want 8 daily cells (3 + 3 + 1 + 1)"

# ---- the five service-level formulas on the worked example ------------------------
sl() { json "$@" | jq -r '.total.service_level_pct * 10 | round / 10 | tostring'; }
for pair in abandons_in_sl=83 answered=86 offered=81.1 offered_no_early_abandons=82.7 \
            short_abandons_in_sl=82.1; do
    f=${pair%=*} want=${pair#*=}
    got=$(sl --sl-formula "$f")
    [[ $got == "$want" ]] || fail "--sl-formula $f: $got %, want $want %"
    # the same through the configuration key
    got=$(json --set "report.sl_formula=$f" | jq -r '.total.service_level_pct * 10 | round / 10 | tostring')
    [[ $got == "$want" ]] || fail "report.sl_formula=$f: $got %, want $want %"
    [[ $(json --sl-formula "$f" | jq -r .sl_formula) == "$f" ]] || fail "JSON names formula $f"
done
[[ $(sl --sl-formula OFFERED) == 81.1 ]] || fail "--sl-formula is case-insensitive"
[[ $(sl) == 81.1 ]] || fail "default formula: offered (answered within T / (answered + abandoned))"
# --sl-formula overrides the configuration
[[ $(sl --set report.sl_formula=answered --sl-formula abandons_in_sl) == 83 ]] ||
    fail "--sl-formula must override report.sl_formula"

# ---- the total's other KPIs -------------------------------------------------------
check '.report == "kpi" and .from == "2024-03-01T00:00:00Z" and .to == "2024-03-03T00:00:00Z"'
check '.by == null and (has("rows") | not)'
check '.sl_threshold_seconds == 20 and .short_abandon_seconds == 5 and .fcr_window_seconds == 604800'
check '.sl_formula_definition == "answered within T / (answered + abandoned)"'
t='.total'
check "$t.offered == 1065 and $t.answered == 1000 and $t.abandoned == 60 and $t.short_abandons == 10"
check "$t.answered_within_sl == 860 and $t.abandoned_within_sl == 20"
check "(($t.abandon_rate_pct - 6000/1060) | fabs) < 1e-9"   # of answered + abandoned, short included
check "$t.asa_seconds == 10"                                          # 10 000 s / 1000
check "(($t.avg_wait_seconds - 11200/1060) | fabs) < 1e-9"              # (10 000 + 1200) / 1060
check "$t.max_wait_seconds == 120 and $t.avg_abandon_seconds == 20"  # 1200 s / 60
check "$t.aht_seconds == 300 and $t.avg_hold_seconds == 30"           # 3000 s hold / 100 held
check "$t.transfer_rate_pct == 5"                                     # 50 / 1000
check "(($t.fcr_rate_pct - 40000/550) | fabs) < 1e-9 and $t.fcr_pending == 50"
check "$t.fcr_resolved == 400 and $t.fcr_repeat == 150"
check "(($t.avg_score - 54500/650) | fabs) < 1e-9 and $t.scored == 650 and $t.critical_fails == 5"

# ---- grouping ----------------------------------------------------------------------
# groups: [key, offered, answered, abandoned, SL% (offered formula, 1 decimal)]
groups() { json --format json "$@" | jq -c '[.rows[] | [.key, .offered, .answered, .abandoned, (.service_level_pct * 10 | round / 10)]]'; }
expect_groups() {
    local want=$1; shift
    local got; got=$(groups "$@")
    [[ $got == "$want" ]] || fail "report $*:
got  $got
want $want"
    # the groups add up to the total
    local out; out=$(json "$@")
    [[ $(jq '([.rows[].offered] | add) == .total.offered and ([.rows[].answered_within_sl] | add) == .total.answered_within_sl and ([.rows[].short_abandons] | add) == .total.short_abandons' <<<"$out") == true ]] ||
        fail "report $*: groups do not sum to the total"
}
expect_groups '[["2024-03-01",635,600,30,84.1],["2024-03-02",430,400,30,76.7]]' --by day
expect_groups '[["2024-03-01 10:00",635,600,30,84.1],["2024-03-02 09:00",280,250,30,71.4],["2024-03-02 23:00",150,150,0,86.7]]' --by hour
expect_groups '[["2024-02-26",1065,1000,60,81.1]]' --by week   # Fri and Sat: the week of Monday 26 Feb
expect_groups '[["2024-03",1065,1000,60,81.1]]' --by month
expect_groups '[["Sales",685,650,30,80.9],["Support",380,350,30,81.6]]' --by queue
expect_groups '[["Alice (1001)",550,550,0,87.3],["Bob (1002)",450,450,0,84.4],[null,65,0,60,0]]' --by agent
expect_groups '[["Alice (1001)",400,400,0,87.5],["Bob (1002)",250,250,0,80],[null,35,0,30,0]]' --by agent --queue sales
expect_groups '[["Sales",250,250,0,80],["Support",200,200,0,90]]' --by queue --agent 1002
expect_groups '[["Sales",250,250,0,80],["Support",200,200,0,90]]' --by queue --agent BOB
check '.total.offered == 0 and .total.service_level_pct == null and .total.asa_seconds == null' --queue Billing
check '.total.answered == 450 and .total.max_wait_seconds == 90' --agent bob
check '.rows[0].key == "Sales" and .rows[0].max_wait_seconds == 120' --by queue

# ---- the range ---------------------------------------------------------------------
tot() { rep --format json "$@" | jq -c '[.from, .to, .total.offered]'; }
got=$(tot --from 2024-03-01T10:10Z --to 2024-03-01T10:20Z)   # rounded to 10:00 .. 10:30
[[ $got == '["2024-03-01T10:00:00Z","2024-03-01T10:30:00Z",635]' ]] || fail "rounded range: $got"
got=$(tot --from 2024-03-01T10:00Z --to 2024-03-01T10:15Z)   # aligned: 10:15 excluded
[[ $got == '["2024-03-01T10:00:00Z","2024-03-01T10:15:00Z",435]' ]] || fail "half-open range: $got"
got=$(tot --from "2024-03-01 11:00+01:00" --to 2024-03-01T10:15Z)
[[ $got == '["2024-03-01T10:00:00Z","2024-03-01T10:15:00Z",435]' ]] || fail "offset: $got"
err=$("$cs" --db "$ci" report kpi --from 2024-03-01T10:10Z --to 2024-03-01T10:20Z --format json 2>&1 >/dev/null)
grep -q "15-minute resolution" <<<"$err" || fail "rounding must be reported: $err"
# wider: the rows rolled up with T = 30 s join in; a warning names the mix
out=$("$cs" --db "$ci" report kpi --from 2024-02-29 --to 2024-03-03 --format json 2>"$conf.err")
[[ $(jq '.total.offered' <<<"$out") == 1075 ]] || fail "wide range offered: $out"
[[ $(jq '.sl_threshold_seconds' <<<"$out") == 30 ]] || fail "wide range shows the largest T: $out"
grep -q "different thresholds" "$conf.err" || fail "mixed thresholds must warn: $(cat "$conf.err")"
rm -f "$conf.err"

# ---- the two rollups ---------------------------------------------------------------
# Whole UTC days are read from kpi_daily, the rest of the range (and --by hour) from
# kpi_interval. A range with 15-minute edges around two whole days takes both:
out=$("$cs" --db "$ci" report kpi --from 2024-02-29T23:45Z --to 2024-03-03T00:15Z --format json 2>"$conf.err")
[[ $(jq -c '[.total.offered, .total.max_wait_seconds, .sl_threshold_seconds]' <<<"$out") == '[1075,999,30]' ]] ||
    fail "edges + whole days: $(jq -c .total <<<"$out")"
grep -q "different thresholds" "$conf.err" || fail "edges + days: the T mix must warn: $(cat "$conf.err")"
rm -f "$conf.err"
# every KPI of the total is the same from the days (--by day) and the intervals (--by hour)
[[ $(json --by day | jq -S .total) == "$(json --by hour | jq -S .total)" ]] ||
    fail "daily and 15-minute rollups disagree:
$(json --by day | jq -c .total)
$(json --by hour | jq -c .total)"
[[ $(json --by agent --queue sales | jq -S .total) == "$(json --by hour --queue sales | jq -S .total)" ]] ||
    fail "daily and 15-minute rollups disagree with --queue"
# the daily rows are really what a whole-day report reads: change one, see it, put it back
sql -c "UPDATE kpi_daily SET offered = offered + 1000 WHERE interval_start = '2024-03-02T00:00Z' AND agent_id IS NULL"
[[ $(json --by day | jq -c '[.rows[].offered]') == '[635,1430]' ]] || fail "--by day must read kpi_daily"
[[ $(json --by hour | jq -c '.total.offered') == 1065 ]] || fail "--by hour must read kpi_interval"
[[ $(sql -c "SELECT cs_kpi_daily_refresh('2024-03-02T05:00Z', '2024-03-02T06:00Z')") == 3 ]] ||
    fail "cs_kpi_daily_refresh of one day: its 3 cells"
[[ $(json --by day | jq -c '[.rows[].offered]') == '[635,430]' ]] || fail "daily refresh must restore the day"
rc=0; sql -c "SELECT cs_kpi_daily_refresh('2024-03-02', NULL)" 2>/dev/null || rc=$?
[[ $rc != 0 ]] || fail "cs_kpi_daily_refresh(from, NULL) must be refused"
rc=0; sql -c "SELECT cs_kpi_daily_refresh('2024-03-02', '2024-03-01')" 2>/dev/null || rc=$?
[[ $rc != 0 ]] || fail "cs_kpi_daily_refresh(from >= to) must be refused"

# ---- CSV ---------------------------------------------------------------------------
csv=$(rep "${R[@]}" --format csv --by queue)
head='key,offered,answered,abandoned,short_abandons,abandon_rate_pct,service_level_pct,answered_within_sl,abandoned_within_sl,asa_seconds,avg_wait_seconds,max_wait_seconds,avg_abandon_seconds,aht_seconds,avg_hold_seconds,transfer_rate_pct,fcr_rate_pct,fcr_resolved,fcr_repeat,fcr_pending,avg_score,scored,critical_fails,sl_formula,sl_threshold_seconds,short_abandon_seconds,fcr_window_seconds'
[[ $(sed -n 1p <<<"$csv") == "$head" ]] || fail "csv header: $(sed -n 1p <<<"$csv")"
[[ $(wc -l <<<"$csv") == 3 ]] || fail "csv --by queue: header + 2 rows: $csv"
want='Sales,685,650,30,5,4.41,80.88,550,10,10.000,10.882,120.000,30.000,300.000,30.000,7.69,75.00,300,100,0,83.85,650,5,offered,20.000,5.000,604800'
[[ $(sed -n 2p <<<"$csv") == "$want" ]] || fail "csv Sales row:
got  $(sed -n 2p <<<"$csv")
want $want"
csv=$(rep "${R[@]}" --format csv --sl-formula answered)
[[ $(wc -l <<<"$csv") == 2 ]] || fail "csv total: header + 1 row: $csv"
[[ $(sed -n 2p <<<"$csv" | cut -d, -f1,7,24) == "total,86.00,answered" ]] || fail "csv total: $csv"
if command -v python3 >/dev/null; then
    n=$(rep "${R[@]}" --format csv --by agent | python3 -c 'import csv,sys; r=list(csv.reader(sys.stdin)); print(len(r), {len(x) for x in r}, r[3][0] == "", r[1][0])')
    [[ $n == "4 {27} True Alice (1001)" ]] || fail "python csv reader: $n"
fi

# ---- table -------------------------------------------------------------------------
table=$(rep "${R[@]}" --by day --sl-formula abandons_in_sl)
grep -q '^KPI report 2024-03-01T00:00:00Z .. 2024-03-03T00:00:00Z (UTC), by day$' <<<"$table" || fail "table title: $table"
grep -q 'abandons_in_sl = (answered within T + abandoned within T) / (answered + abandoned), T = 20 s; short abandon < 5 s; FCR window 7 days' <<<"$table" ||
    fail "table names the formula and T: $table"
hdr=$(grep '^DAY ' <<<"$table") || fail "table header: $table"
[[ $hdr == DAY*OFFERED*ANSWERED*ABANDONED*SHORT*ABANDON%*SL%*ASA*"AVG WAIT"*"MAX WAIT"*"AVG ABANDON"*AHT*"AVG HOLD"*XFER%*FCR%*"FCR PENDING"*SCORE*CRIT ]] ||
    fail "table columns: $hdr"
total=$(grep '^TOTAL ' <<<"$table") || fail "table TOTAL line: $table"
read -r -a f <<<"$total"
[[ "${f[*]}" == "TOTAL 1065 1000 60 10 5.7 83.0 10.0 10.6 120.0 20.0 300.0 30.0 5.0 72.7 50 83.8 5" ]] ||
    fail "table TOTAL: ${f[*]}"
[[ $(grep -c '^2024-03-0[12] ' <<<"$table") == 2 ]] || fail "table day rows: $table"
table=$(rep "${R[@]}" --queue Billing)
grep -q '^TOTAL  *0  *0  *0  *0  *-  *-  *-' <<<"$table" || fail "empty total shows -: $table"

# ---- usage and configuration errors ------------------------------------------------
bad() { # bad WANT-EXIT MESSAGE-PATTERN ARGS...
    local want=$1 pat=$2; shift 2
    local rc=0 err; err=$("$cs" --db "$ci" "$@" 2>&1 >/dev/null) || rc=$?
    [[ $rc == "$want" ]] || fail "$*: exit $rc, want $want ($err)"
    grep -q -- "$pat" <<<"$err" || fail "$*: message lacks '$pat': $err"
}
bad 2 "--by: 'year'" report kpi "${R[@]}" --by year
bad 2 "--by: 'total'" report kpi "${R[@]}" --by total
bad 2 "--from: '2024-13-01'" report kpi --from 2024-13-01 --to 2024-03-02
bad 2 "--from: 'yesterday'" report kpi --from yesterday --to 2024-03-02
bad 2 "--to: '2024-03-02T25:00'" report kpi --from 2024-03-01 --to 2024-03-02T25:00
bad 2 "needs --from TIME and --to TIME" report kpi --from 2024-03-01
bad 2 "is not before" report kpi --from 2024-03-02 --to 2024-03-01T12:00Z
bad 2 "--sl-formula: 'icmi'" report kpi "${R[@]}" --sl-formula icmi
bad 2 "which report" report "${R[@]}"
bad 2 "which report" report calls "${R[@]}"
bad 2 "no further arguments" report kpi extra "${R[@]}"
bad 2 "--by applies to 'report' only" calls --by day
bad 2 "--sl-formula applies to 'report' only" calls --sl-formula offered
bad 2 "--outcome applies to 'calls' only" report kpi "${R[@]}" --outcome busy
bad 3 "report.sl_formula: 'bogus'" report kpi "${R[@]}" --set report.sl_formula=bogus
echo "PASS: cli report"
