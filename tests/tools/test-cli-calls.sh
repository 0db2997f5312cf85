#!/usr/bin/env bash
# test-cli-calls.sh CALLSCOPE — `callscope calls` end to end: the real binary
# against the test PostgreSQL (conninfo file in $CALLSCOPE_TEST_PG), the real
# schema (`callscope db migrate`), calls and utterances inserted as decode and
# transcribe write them.
#
# Six calls, one a day from 2024-03-01 (C1 oldest ... C6 newest):
#   C1 Support/Alice answered  customer "I want to cancel my account today"
#                              agent    "I can help you with that"
#   C2 Support/Bob   answered  customer "my subscription was cancelled last week"
#                              agent    "let me check your account"
#   C3 Sales/Alice   answered  agent    "would you like to cancel the order"
#                              customer "no thanks I will keep it"
#   C4 Sales/Bob     answered  customer 'I said "refund, please" twice'
#                              agent    "your warranty covers it"
#   C5 Support       abandoned (no transcript)
#   C6 (no queue)    busy      ANI "=1+2" (a formula a spreadsheet would run)
# Checked: --text finds exactly the calls whose transcript has the words,
# stemmed ("cancelled" finds "cancel"), the words of one utterance ("cancel
# my account": C1 only, not C2 whose words are split between the sides);
# --channel restricts by side (a word only the agent said is not found with
# --channel customer); phrases and -word; filters combine; --from/--to are
# half-open and a bare --to date means through that day; --limit; the CSV
# quoting of a text with a comma and quotes, and a defused formula; the JSON
# (jq) fields, ISO 8601 microsecond times and seconds; the table; usage
# errors exit 2 with a message; an unreachable database or one without the
# schema exits 4. Then 20000 more calls with 100000 utterances: EXPLAIN
# (callscope calls --explain) shows the text search on utterances_tsv_idx,
# and it finds exactly the 36 calls that have the rare word.
set -euo pipefail
cs=${1:?path to callscope}
[[ -r ${CALLSCOPE_TEST_PG:-} ]] || { echo "SKIP: no test PostgreSQL (CALLSCOPE_TEST_PG)"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
admin=$(head -1 "$CALLSCOPE_TEST_PG")
db=cs_calls_$$
psql "$admin" -Xqc "CREATE DATABASE $db"
conf=$(mktemp "${TMPDIR:-/tmp}/cs-calls-conf.XXXXXX") # empty: no /etc/callscope/callscope.conf leaks in
trap 'psql "$admin" -Xqc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -f "$conf"' EXIT
ci=${admin/dbname=postgres/dbname=$db}
export CALLSCOPE_CONFIG=$conf
fail() { echo "FAIL: $*" >&2; exit 1; }
sql() { psql "$ci" -XqAt -v ON_ERROR_STOP=1 "$@"; }
calls() { "$cs" -q --db "$ci" calls "$@"; }
# uuids of a CSV listing (first column, header dropped), space-separated
ids() { calls --format csv "$@" | sed 1d | cut -d, -f1 | sed 's/^\(.\).*/C\1/' | tr '\n' ' ' | sed 's/ $//'; }
expect() { # expect "WANT" ARGS...: the listed calls, newest first
    local want=$1; shift
    local got; got=$(ids "$@")
    [[ $got == "$want" ]] || fail "calls $*: got '$got', want '$want'"
}

# before the schema exists: exit 4 with the hint
rc=0; err=$(calls 2>&1 >/dev/null) || rc=$?
[[ $rc == 4 ]] || fail "no schema: exit $rc, want 4 ($err)"
grep -q "callscope db migrate" <<<"$err" || fail "no schema: message lacks the migrate hint: $err"
"$cs" -q --db "$ci" db migrate >/dev/null

# uuid first hex digit = call number, so ids() can name them C1..C6
sql <<'EOF'
INSERT INTO queues (id, name) VALUES (1, 'Sales'), (2, 'Support');
INSERT INTO agents (id, extension, name) VALUES (1, '1001', 'Alice'), (2, '1002', 'Bob');
INSERT INTO calls (uuid, probe, call_id, invite_at, answered_at, abandon_at, ended_at, ani, dnis,
                   queue_id, agent_id, outcome, ended_by, duration_ms, hold_ms, hold_count)
SELECT v.uuid::uuid, 'probe-1', 'cid-' || v.n, v.inv::timestamptz,
       v.inv::timestamptz + v.ans::interval, v.inv::timestamptz + v.abn::interval,
       v.inv::timestamptz + v.dur::interval, v.ani, v.dnis, v.q, v.a, v.outcome, 'caller',
       (extract(epoch FROM v.dur::interval) * 1000)::integer, v.hold, (v.hold > 0)::int
FROM (VALUES
 (1, '10000000-0000-4000-8000-000000000001', '2024-03-01T09:00:00Z', '4.25 s', NULL, '64.25 s',
  '+4930111', '800100', 2, 1, 'answered', 0),
 (2, '20000000-0000-4000-8000-000000000002', '2024-03-02T09:00:00Z', '12 s', NULL, '100 s',
  '+4930222', '800100', 2, 2, 'answered', 8000),
 (3, '30000000-0000-4000-8000-000000000003', '2024-03-03T09:00:00Z', '1 s', NULL, '31 s',
  '+4930333', '800200', 1, 1, 'answered', 0),
 (4, '40000000-0000-4000-8000-000000000004', '2024-03-04T09:00:00.123456Z', '2.5 s', NULL, '42.5 s',
  '+4930444', '800200', 1, 2, 'answered', 0),
 (5, '50000000-0000-4000-8000-000000000005', '2024-03-05T09:00:00Z', NULL, '33 s', '33 s',
  '+4930555', '800100', 2, NULL, 'abandoned', 0),
 (6, '60000000-0000-4000-8000-000000000006', '2024-03-06T09:00:00Z', NULL, NULL, '1 s',
  '=1+2', '800999', NULL, NULL, 'busy', 0)
) AS v(n, uuid, inv, ans, abn, dur, ani, dnis, q, a, outcome, hold);
INSERT INTO utterances (call_uuid, channel, start_ms, end_ms, text)
SELECT c.uuid, v.ch, v.s, v.e, v.t
FROM (VALUES
 (1, 1, 5000, 7000, 'I want to cancel my account today'),
 (1, 2, 7500, 9000, 'I can help you with that'),
 (2, 1, 13000, 16000, 'my subscription was cancelled last week'),
 (2, 2, 16500, 18000, 'let me check your account'),
 (3, 2, 2000, 4000, 'would you like to cancel the order'),
 (3, 1, 4500, 6000, 'no thanks I will keep it'),
 (4, 1, 63250, 66000, 'I said "refund, please" twice'),
 (4, 2, 66500, 68000, 'your warranty covers it')
) AS v(n, ch, s, e, t)
JOIN calls c ON c.call_id = 'cid-' || v.n;
EOF

# ---- listing and filters -------------------------------------------------------
expect "C6 C5 C4 C3 C2 C1"
expect "C3 C2 C1" --text cancel
expect "C3 C2 C1" --text cancelled                     # stemming, both ways
expect "C1" --text "cancel my account"                 # the words of one utterance
expect "C1" --text '"cancel my account"'               # a phrase
expect "" --text '"account cancel"'                    # ... in that order
expect "C3 C2" --text "cancel -account"                # -word
expect "C4 C1" --text "refund or today"                # or
expect "C2 C1" --text cancel --channel customer
expect "C3" --text cancel --channel agent
expect "C4" --text warranty
expect "C4" --text warranty --channel agent
expect "" --text warranty --channel customer           # only the agent said it
expect "C4" --text refund --channel 1
expect "C3" --text cancel --channel Agent
expect "C2 C1" --text cancel --queue support           # queue names: any case
expect "C3 C1" --text cancel --agent 1001              # extension
expect "C3" --text cancel --agent alice --queue Sales  # name
expect "C5" --outcome abandoned
expect "C6" --outcome busy
expect "" --outcome failed
expect "C4 C3 C2 C1" --outcome answered
expect "C3 C2" --from 2024-03-02 --to 2024-03-03       # a bare --to date: through that day
expect "C3 C2" --from 2024-03-02T09:00:00Z --to 2024-03-04T09:00:00.123456Z   # half-open
expect "C4 C3 C2" --from 2024-03-02T09:00:00Z --to 2024-03-04T09:00:00.123457Z
expect "C2" --from "2024-03-02 10:00+01:00" --to 2024-03-02T09:00:01Z          # offsets
expect "C2" --text cancel --from 2024-03-02 --to 2024-03-02 --queue Support --agent Bob \
    --outcome answered --channel customer
expect "C6 C5" --limit 2
expect "C6 C5 C4 C3 C2 C1" --limit 0
expect "C3" --text cancel --limit 1

# ---- score filters: C1 85 passed, C2 92 but a critical item failed, C3 60 failed,
# C4 reviewed from 70 (failed) up to 88 (passed: the review wins); C5, C6 unscored
sql <<'EOF'
INSERT INTO scorecards (id, name, version, definition, active) VALUES (1, 'qa', 1, '{}', true);
INSERT INTO users (id, login, display_name, role, password_hash)
VALUES (1, 'sup', 'Supervisor', 'supervisor', '$argon2id$x');
INSERT INTO scores (call_uuid, scorecard_id, auto_score, passed, critical_failed,
                    reviewed_score, reviewed_passed, reviewed_by, reviewed_at)
SELECT c.uuid, 1, v.a, v.p, v.cf, v.rs, v.rp, CASE WHEN v.rs IS NULL THEN NULL ELSE 1 END,
       CASE WHEN v.rs IS NULL THEN NULL ELSE now() END
FROM (VALUES (1, 85, true, false, NULL::numeric, NULL::boolean), (2, 92, false, true, NULL, NULL),
             (3, 60, false, false, NULL, NULL), (4, 70, false, false, 88, true))
     AS v(n, a, p, cf, rs, rp)
JOIN calls c ON c.call_id = 'cid-' || v.n;
EOF
expect "C4 C2 C1" --min-score 80
expect "C3" --max-score 60
expect "C4 C1" --min-score 80 --max-score 90
expect "C3 C2" --failed
expect "C2" --failed --min-score 90
[[ $(calls --format json --outcome answered | jq -c '[.[] | [.score, .passed]]') == '[[88,true],[60,false],[92,false],[85,true]]' ]] ||
    fail "score/passed in JSON: $(calls --format json --outcome answered | jq -c '[.[] | [.score, .passed]]')"

# an unknown queue: a warning, an empty list, exit 0
err=$(calls --queue Billing 2>&1 >/dev/null) || fail "unknown queue: exit $?"
grep -q "no queue 'Billing'" <<<"$err" || fail "unknown queue warning: $err"

# --limit that cut the list says so (info, on stderr)
err=$("$cs" --db "$ci" calls --limit 2 --format csv 2>&1 >/dev/null)
grep -q 'showing the newest 2 calls; more match' <<<"$err" || fail "--limit notice: $err"
err=$("$cs" --db "$ci" calls --limit 6 --format csv 2>&1 >/dev/null)
[[ -z $err ]] || fail "--limit 6 of 6 should say nothing: $err"

# ---- CSV -------------------------------------------------------------------------
csv=$(calls --format csv --text refund)
want_head='uuid,invite_time,call_id,ani,dnis,queue,agent,agent_extension,outcome,answer_seconds,abandon_seconds,talk_seconds,hold_seconds,hold_count,transfers,duration_seconds,score,passed,match_channel,match_start_ms,match_end_ms,match_start_seconds,match_text,match_snippet'
[[ $(sed -n 1p <<<"$csv") == "$want_head" ]] || fail "csv header: $(sed -n 1p <<<"$csv")"
want_row='40000000-0000-4000-8000-000000000004,2024-03-04T09:00:00.123456Z,cid-4,+4930444,800200,Sales,Bob,1002,answered,2.500,,40.000,0.000,0,0,42.500,88.00,true,customer,63250,66000,63.250,"I said ""refund, please"" twice","I said ""[refund], please"" twice"'
[[ $(sed -n 2p <<<"$csv") == "$want_row" ]] || fail "csv row:
got  $(sed -n 2p <<<"$csv")
want $want_row"
[[ $(wc -l <<<"$csv") == 2 ]] || fail "csv --text refund: $(wc -l <<<"$csv") lines, want 2"
csv=$(calls --format csv --outcome busy)
[[ $(sed -n 1p <<<"$csv") == "${want_head%%,match_*}" ]] || fail "csv header without --text"
grep -qF "60000000-0000-4000-8000-000000000006,2024-03-06T09:00:00.000000Z,cid-6,\"'=1+2\",800999,,,,busy,,,,0.000,0,0,1.000" <<<"$csv" ||
    fail "csv busy row (formula ANI defused, empty NULLs): $csv"
# a quoted field keeps its record on one logical line: python's csv module agrees
if command -v python3 >/dev/null; then
    n=$(calls --format csv --text refund | python3 -c 'import csv,sys; r=list(csv.reader(sys.stdin)); print(len(r), len(r[0]), len(r[1]), r[1][22])')
    [[ $n == '2 24 24 I said "refund, please" twice' ]] || fail "python csv reader: $n"
fi

# ---- JSON ------------------------------------------------------------------------
json=$(calls --format json --text cancel)
[[ $(jq length <<<"$json") == 3 ]] || fail "json: $(jq length <<<"$json") calls, want 3"
[[ $(jq -r '[.[].uuid[0:1]] | join(" ")' <<<"$json") == "3 2 1" ]] || fail "json order: $json"
c1=$(jq -c '.[2]' <<<"$json")
for check in \
    '.uuid == "10000000-0000-4000-8000-000000000001"' \
    '.invite_time == "2024-03-01T09:00:00.000000Z"' \
    '.call_id == "cid-1" and .ani == "+4930111" and .dnis == "800100"' \
    '.queue == "Support" and .agent == "Alice" and .agent_extension == "1001"' \
    '.outcome == "answered" and .answer_seconds == 4.25 and .abandon_seconds == null' \
    '.talk_seconds == 60 and .hold_seconds == 0 and .hold_count == 0 and .transfers == 0' \
    '.duration_seconds == 64.25' \
    '.match.channel == "customer" and .match.channel_number == 1' \
    '.match.start_ms == 5000 and .match.end_ms == 7000 and .match.start_seconds == 5' \
    '.match.text == "I want to cancel my account today"' \
    '.match.snippet | test("\\[cancel\\]")'; do
    [[ $(jq "$check" <<<"$c1") == true ]] || fail "json C1: $check: $c1"
done
c2=$(jq -c '.[1]' <<<"$json")
[[ $(jq '.talk_seconds == 80 and .hold_seconds == 8 and .hold_count == 1' <<<"$c2") == true ]] ||
    fail "json C2 talk = connected 88 s - hold 8 s: $c2"
[[ $(jq -c '.[0].match | [.channel, .start_ms]' <<<"$json") == '["agent",2000]' ]] ||
    fail "json C3 match: $json"
json=$(calls --format json --outcome abandoned)
[[ $(jq -c '.[0] | [.abandon_seconds, .answer_seconds, .talk_seconds, .agent, has("match")]' <<<"$json") == '[33,null,null,null,false]' ]] ||
    fail "json abandoned: $json"
[[ $(calls --format json --outcome failed) == "[]" ]] || fail "json empty list"
# the first matching utterance by time: C1 has "account" at 5 s (customer), C2 at 16.5 s (agent)
json=$(calls --format json --text account)
[[ $(jq -c '[.[] | [.uuid[0:1], .match.channel, .match.start_ms]]' <<<"$json") == '[["2","agent",16500],["1","customer",5000]]' ]] ||
    fail "json --text account: $json"

# ---- table -----------------------------------------------------------------------
table=$(calls --text cancel)
[[ $(wc -l <<<"$table") == 4 ]] || fail "table: header + 3 rows: $table"
head=$(sed -n 1p <<<"$table")
[[ $head == "INVITE (UTC)"*CALL*ANI*DNIS*QUEUE*AGENT*OUTCOME*ANSWER*TALK*DURATION*SIDE*AT*MATCH ]] ||
    fail "table header: $head"
col=$(awk -v h="$head" 'BEGIN { print index(h, "OUTCOME") }')
while IFS= read -r line; do
    [[ ${line:col-1:8} == "answered" ]] || fail "table: OUTCOME not aligned at column $col: '$line'"
done < <(sed 1d <<<"$table")
grep -q '^2024-03-01 09:00:00 .*customer *0:05\.0  I want to \[cancel\] my account today$' <<<"$table" ||
    fail "table C1 row: $table"
[[ $(calls --outcome failed) == "no calls match" ]] || fail "table of nothing"

# ---- usage errors: exit 2 with a message ------------------------------------------
usage() { # usage "MESSAGE PART" ARGS...
    local want=$1; shift
    local out rc=0
    out=$("$cs" -q --db "$ci" "$@" 2>&1 >/dev/null) || rc=$?
    [[ $rc == 2 ]] || fail "$*: exit $rc, want 2 ($out)"
    grep -qF -- "$want" <<<"$out" || fail "$*: message '$out' lacks '$want'"
}
usage "--from: 'yesterday' is not YYYY-MM-DD" calls --from yesterday
usage "--from: '2024-02-30' is not" calls --from 2024-02-30
usage "--to: '2024-03-01T25:00' is not" calls --to 2024-03-01T25:00
usage "--from: '2024-03-01T10:00:00.1234567Z' is not" calls --from 2024-03-01T10:00:00.1234567Z
usage "--from '2024-03-02' is not before --to '2024-03-01'" calls --from 2024-03-02 --to 2024-03-01
usage "--outcome: 'lost' is not one of" calls --outcome lost
usage "--channel: 'both' is not customer" calls --text x --channel both
usage "--channel agent needs --text" calls --channel agent
usage "--limit: '-1' is not" calls --limit -1
usage "--limit: '10x' is not" calls --limit 10x
usage "--text: empty query" calls --text "  "
usage "has no word to search for" calls --text "the my"
usage "has no word that must be present" calls --text "-cancel"
usage "calls takes no arguments" calls cancel
usage "--text applies to 'calls' only" verify --text cancel
usage "--archive applies to 'verify' only" calls --archive /tmp
usage "--min-score: '101' is not a score from 0 to 100" calls --min-score 101
usage "--max-score: 'x' is not a score" calls --max-score x
usage "--min-score 90.00 is above --max-score 80.00" calls --min-score 90 --max-score 80
usage "--failed applies to 'calls' only" verify --failed
rc=0; "$cs" -q --set db.connect_tries=1 --db "host=/nonexistent-cs dbname=x" calls >/dev/null 2>&1 || rc=$?
[[ $rc == 4 ]] || fail "unreachable database: exit $rc, want 4"

# ---- a table large enough for the planner: the GIN index is used ------------------
# 20000 calls in 2023 with 5 utterances each from a small vocabulary; the rare
# word "zebra" in the customer's (k = 2: channel 1) 2nd utterance of every
# 541st call (36 calls).
sql <<'EOF'
INSERT INTO calls (uuid, probe, call_id, invite_at, answered_at, ended_at, outcome, ended_by,
                   duration_ms, queue_id, agent_id)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(g), 12, '0'))::uuid, 'probe-2', 'bulk-' || g,
       timestamptz '2023-01-01 00:00Z' + g * interval '17 min',
       timestamptz '2023-01-01 00:00Z' + g * interval '17 min' + interval '3 s',
       timestamptz '2023-01-01 00:00Z' + g * interval '17 min' + interval '5 min',
       'answered', 'agent', 300000, 1 + g % 2, 1 + (g / 2) % 2
FROM generate_series(1, 20000) AS g;
INSERT INTO utterances (call_uuid, channel, start_ms, end_ms, text)
SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(g), 12, '0'))::uuid, 1 + k % 2, k * 10000,
       k * 10000 + 4000,
       CASE WHEN k = 2 AND g % 541 = 0 THEN 'there is a zebra on my invoice'
            ELSE (ARRAY['hello thank you for calling', 'I would like to check my balance',
                        'can you confirm your date of birth', 'the payment went through fine',
                        'is there anything else I can help with', 'have a nice day goodbye'])
                 [1 + (g * 7 + k * 3) % 6] END
FROM generate_series(1, 20000) AS g, generate_series(1, 5) AS k;
ANALYZE;
EOF
plan=$(calls --text zebra --explain)
grep -q 'utterances_tsv_idx' <<<"$plan" || fail "--text should use utterances_tsv_idx:
$plan"
plan2=$(calls --text zebra --channel customer --from 2023-03-01 --queue Sales --explain)
grep -q 'utterances_tsv_idx' <<<"$plan2" || fail "--text with filters should use utterances_tsv_idx:
$plan2"
t0=$(date +%s%N)
n=$(calls --text zebra --limit 0 --format csv | sed 1d | wc -l)
t1=$(date +%s%N)
[[ $n == 36 ]] || fail "--text zebra over 100000 utterances: $n calls, want 36"
m=$(calls --text zebra --channel customer --limit 0 --format csv | sed 1d | wc -l)
[[ $m == 36 ]] || fail "--text zebra --channel customer: $m calls, want 36"
m=$(calls --text zebra --channel agent --limit 0 --format csv | sed 1d | wc -l)
[[ $m == 0 ]] || fail "--text zebra --channel agent: $m calls, want 0 (only customers said it)"
echo "EXPLAIN of --text zebra:"
sed 's/^/    /' <<<"$plan"
echo "--text zebra over $(sql -c 'SELECT count(*) FROM utterances') utterances: $n calls in $(((t1 - t0) / 1000000)) ms"
echo "PASS: callscope calls"
