#!/usr/bin/env bash
# test-cli-run.sh CALLSCOPE CALLGEN — `callscope run` and `callscope show`.
#
# A small callgen capture (direct, abandoned in the queue, a repeat
# caller; no scripted phrases) goes through `callscope run CAPTURE --config
# FILE` against a fresh database on the test PostgreSQL: one configuration
# file for every stage (capture, transcribe and score keys in it). Checked:
# exit 0; every call stored, transcribed and scored once (jobs done, one score
# per call); outcomes as the truth; the KPI summary printed (its offered total
# is the number of calls); `callscope show` of a call by its Call-ID carries
# every field the issue lists, as JSON; a second run of the same capture
# stores nothing twice.
set -uo pipefail
CS=${1:?callscope}
GEN=${2:?callgen}
SRC=${CALLSCOPE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
for tool in jq psql; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[[ -r ${CALLSCOPE_TEST_PG:-} ]] || { echo "SKIP: no test PostgreSQL (CALLSCOPE_TEST_PG)"; exit 77; }
[[ -d /usr/share/pocketsphinx/model/en-us/en-us ]] ||
    { echo "SKIP: Debian's en-us model is missing (apt-get install pocketsphinx-en-us)"; exit 77; }

T=$(mktemp -d /tmp/cs-run.XXXXXX)
DB=
ADMIN=$(head -1 "$CALLSCOPE_TEST_PG")
cleanup() {
    [[ -n $DB ]] && psql "$ADMIN" -Xqc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -25 "$f" >&2; }; done
    exit 1
}
DB=cs_run_$$
psql "$ADMIN" -Xqc "CREATE DATABASE $DB" || fail "CREATE DATABASE"
CI=${ADMIN/dbname=postgres/dbname=$DB}
q() { psql "$CI" -XtAc "$1"; }

"$GEN" -q -o "$T/c.pcap" --seed 5 --no-phrases --scenario direct,abandon_queue,repeat --calls 1 ||
    fail "callgen"
TRUTH=$T/c.truth.json
N=$(jq '.calls | length' "$TRUTH")
cat >"$T/callscope.conf" <<CONF
# one file for every stage
[capture]
answer_needs_identity = yes
[transcribe]
phrases = $SRC/deploy/phrases.conf
[score]
scorecard = $SRC/deploy/scorecard.json
directory = $SRC/deploy/directory.conf
CONF

"$CS" --db "$CI" --config "$T/callscope.conf" run --work "$T/work" "$T/c.pcap" >"$T/run.out" 2>"$T/run.log" ||
    fail "callscope run exit $?"
cat "$T/run.out"
[[ $(q "SELECT count(*) FROM calls") == "$N" ]] || fail "calls: $(q "SELECT count(*) FROM calls"), truth $N"
[[ $(q "SELECT count(*) FROM jobs WHERE state <> 'done'") == 0 ]] ||
    fail "jobs not done: $(q "SELECT kind, state, count(*) FROM jobs GROUP BY 1, 2")"
[[ $(q "SELECT count(*) FROM jobs WHERE kind = 'transcribe'") == "$N" ]] || fail "transcribe jobs"
[[ $(q "SELECT count(*) FROM scores") == "$N" ]] || fail "scores: $(q "SELECT count(*) FROM scores")"
[[ $(q "SELECT count(*) FROM utterances") -gt 0 ]] || fail "no utterance stored"
while IFS=$'\t' read -r cid outcome; do
    [[ $(q "SELECT outcome FROM calls WHERE call_id = '$cid'") == "$outcome" ]] ||
        fail "$cid: outcome $(q "SELECT outcome FROM calls WHERE call_id = '$cid'"), truth $outcome"
done < <(jq -r '.calls[] | [.inbound_call_id, .outcome] | @tsv' "$TRUTH")
grep -q "callscope run: == KPI summary" "$T/run.log" || fail "no KPI step in the log"
grep -qi "offered" "$T/run.out" || fail "no KPI table on stdout"
grep -qE "^TOTAL +$N( |$)" "$T/run.out" || grep -qE "TOTAL.* $N " "$T/run.out" ||
    fail "the KPI total does not offer $N calls"

# show: the export of one answered call, by its inbound Call-ID
cid=$(jq -r '[.calls[] | select(.outcome == "answered")][0].inbound_call_id' "$TRUTH")
"$CS" --db "$CI" show "$cid" --format json >"$T/show.json" 2>"$T/show.log" || fail "show exit $?"
for k in uuid call_ids ani dnis queue agents invite_time answer_seconds outcome abandon_seconds \
    talk_seconds hold_seconds hold_count transfers dtmf dead_air_seconds overtalk_seconds fcr score \
    passed items transcript recording; do
    jq -e "has(\"$k\")" "$T/show.json" >/dev/null || fail "show: no field $k"
done
jq -e '(.invite_time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z$"))
       and (.fcr | has("24h") and has("72h") and has("7d"))
       and (.items | length) > 0 and (.items[0] | has("name") and has("result"))
       and (.recording.sha256 | length) == 64 and (.call_ids | length) >= 1
       and (.transcript | has("customer") and has("agent"))' "$T/show.json" >/dev/null ||
    fail "show: field shapes: $(cat "$T/show.json")"
"$CS" --db "$CI" show "$cid" >"$T/show.txt" 2>>"$T/show.log" || fail "show (table) exit $?"
grep -q "^outcome *answered" "$T/show.txt" || fail "show table: $(head -5 "$T/show.txt")"
rc=0; "$CS" --db "$CI" show no-such-call >/dev/null 2>&1 || rc=$?
[[ $rc == 1 ]] || fail "show of an unknown call: exit $rc, want 1"

# the same capture again: nothing stored twice
"$CS" --db "$CI" --config "$T/callscope.conf" run --work "$T/work" "$T/c.pcap" >"$T/run2.out" 2>"$T/run2.log" ||
    fail "second run exit $?"
[[ $(q "SELECT count(*) FROM calls") == "$N" && $(q "SELECT count(*) FROM scores") == "$N" &&
   $(q "SELECT count(*) FROM recordings") == "$N" ]] || fail "a second run stored calls twice"
echo "PASS: $N calls through every stage, KPI summary, show"
