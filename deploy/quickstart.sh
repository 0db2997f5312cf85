#!/usr/bin/env bash
# quickstart.sh — the README's main job, on a fresh Debian 12 machine:
#
#   1. installs the Debian packages that are missing (deploy/install-deps.sh),
#   2. builds callscope (build/),
#   3. starts the project's own PostgreSQL under var/pg (unix socket only),
#   4. applies the schema (callscope db migrate),
#   5. runs the pipeline over the bundled sample capture as far as the stages
#      go, and prints a summary.
#
# Options: --capture FILE (default tests/data/sample.pcap), --stop (stop the
# local PostgreSQL at the end; by default it keeps running so you can look:
# `deploy/pgctl.sh stop var/pg` stops it). Exit codes: 0 ok, 1 the pipeline
# failed, 4 set-up failed (packages, build, database).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

capture=tests/data/sample.pcap stop=0
while (($#)); do
    case "$1" in
    --capture) capture=${2:?--capture needs a file}; shift 2 ;;
    --stop) stop=1; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
step() { printf '\n== %s\n' "$*" >&2; }

step "packages"
deploy/install-deps.sh || exit 4

step "build (build/)"
mkdir -p build && cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/configure.log 2>&1 ||
    { cat build/configure.log >&2; exit 4; }
cmake --build build -j "$(nproc)" >/dev/null || { echo "quickstart: build failed" >&2; exit 4; }
cs=build/tools/callscope/callscope

step "local PostgreSQL (var/pg, unix socket only)"
conninfo=$(deploy/pgctl.sh start var/pg --db callscope) || exit 4
echo "database: $conninfo" >&2
((stop)) && trap 'deploy/pgctl.sh stop var/pg' EXIT

step "schema"
"$cs" --db "$conninfo" db migrate || exit 4
"$cs" --db "$conninfo" db status

step "pipeline over $capture"
# Stages run here as they are built; each appends its part of the summary.
# The spool of this run is var/quickstart/spool, emptied first (decode below
# consumes it; what a failed run left must not pile up).
spool=var/quickstart/spool
rm -rf "$spool" && mkdir -p "$spool"
: >var/quickstart/empty.conf
CALLSCOPE_CONFIG=var/quickstart/empty.conf build/capture/callscope-capture \
    --spool "$spool" --json-stats var/quickstart/capture.json "$capture" ||
    { echo "quickstart: callscope-capture failed (exit $?)" >&2; exit 1; }
jq -r '"capture: \(.frames) frames, \(.sip_messages) SIP messages, \(.rtp_packets) RTP packets, " +
       "\(.malformed) malformed; \(.spool_written) calls spooled (\(.mbytes_per_s * 10 | round / 10) MB/s)"' \
    var/quickstart/capture.json
for f in "$spool"/ready/*/call.json; do [[ -f $f ]] && cat "$f"; done |
    jq -rs '"  outcomes: " + (map(.outcome) | group_by(.) | map("\(length) \(.[0])") | join(", ")) +
            "\n  streams: \(map(.streams | length) | add // 0), DTMF digits: \(map(.dtmf | length) | add // 0)" +
            ", holds: \(map(.holds | length) | add // 0), transfers: \(map(.transfers | length) | add // 0)"'
truth=${capture%.pcap}.truth.json
if [[ -f $truth ]]; then
    jq -r '"  callgen made \(.calls | length) calls (seed \(.generator.seed)): " +
           ([.calls[].outcome] | group_by(.) | map("\(length) \(.[0])") | join(", "))' "$truth"
fi

# decode: every spooled call -> one FLAC under var/quickstart/archive/YYYY/MM/DD,
# the call in the database, a transcribe job. The archive is kept across runs
# (the database is too): a re-run finds the calls already archived and keeps
# their files and rows.
archive=var/quickstart/archive
mkdir -p "$archive"
CALLSCOPE_CONFIG=var/quickstart/empty.conf build/decode/callscope-decode --once \
    --spool "$spool" --archive "$archive" --db "$conninfo" --json-stats var/quickstart/decode.json ||
    { echo "quickstart: callscope-decode failed (exit $?; see $spool/failed/*/reason)" >&2; exit 1; }
jq -r '"decode: \(.done) calls stored (\(.archived) newly archived, \(.already_archived) already), " +
       "\(.failed) failed; \(.audio_s | round) s of audio at \(.x_realtime | round)x real time"' \
    var/quickstart/decode.json
psql "$conninfo" -XtA -F ' ' -c "SELECT 'database: ' || (SELECT count(*) FROM calls) || ' calls, ' ||
    (SELECT count(*) FROM recordings) || ' recordings, ' ||
    (SELECT count(*) FROM talk_segments) || ' talk segments, ' ||
    (SELECT count(*) FROM jobs WHERE kind = 'transcribe' AND state = 'queued') || ' transcribe jobs queued'" 2>/dev/null || true
"$cs" -q --db "$conninfo" verify --archive "$archive" | tail -1 ||
    { echo "quickstart: callscope verify found problems" >&2; exit 1; }
echo "recordings are in $archive/"

# transcribe: every queued transcribe job -> utterances and words per channel
# with times, the phrases of deploy/phrases.conf spotted, a score job queued.
# Two workers (one decoder each); --once stops when the queue is drained.
CALLSCOPE_CONFIG=var/quickstart/empty.conf build/transcribe/callscope-transcribe --once -j 2 \
    --archive "$archive" --db "$conninfo" --phrases deploy/phrases.conf 2>var/quickstart/transcribe.log ||
    { echo "quickstart: callscope-transcribe failed (exit $?; see var/quickstart/transcribe.log)" >&2; exit 1; }
grep -o 'final: .*' var/quickstart/transcribe.log | sed 's/^final: /transcribe: /'
psql "$conninfo" -XtA -F ' ' -c "SELECT '  ' || (SELECT count(*) FROM utterances) || ' utterances, ' ||
    (SELECT count(*) FROM words) || ' words, phrase hits: ' ||
    coalesce((SELECT string_agg(n || ' ' || name, ', ' ORDER BY name)
              FROM (SELECT name, count(*) AS n FROM phrase_hits GROUP BY name) h), 'none')" 2>/dev/null || true

# score: every queued score job -> per-call metrics, first-call resolution,
# the default scorecard's result (deploy/scorecard.json), the KPI rollup;
# queues and agents from deploy/directory.conf.
CALLSCOPE_CONFIG=var/quickstart/empty.conf build/scoring/callscope-score --once -j 2 --db "$conninfo" \
    --scorecard deploy/scorecard.json --directory deploy/directory.conf 2>var/quickstart/score.log ||
    { echo "quickstart: callscope-score failed (exit $?; see var/quickstart/score.log)" >&2; exit 1; }
grep -o 'final: .*' var/quickstart/score.log | sed 's/^final: /score: /'
psql "$conninfo" -XtA -F ' ' -c "SELECT '  scores: ' || count(*) || ' calls scored, ' ||
    count(*) FILTER (WHERE passed) || ' passed, ' || count(*) FILTER (WHERE critical_failed) ||
    ' critical fails, average ' || coalesce(round(avg(auto_score), 1)::text, '-')
    FROM scores s JOIN scorecards c ON c.id = s.scorecard_id AND c.active" 2>/dev/null || true
echo "  search the transcripts (queues, agents and scores now known):  build/tools/callscope/callscope --db \"$conninfo\" calls --text \"anything else\""
"$cs" -q --db "$conninfo" calls --text "anything else" --channel agent --limit 3 2>/dev/null || true
first=$(psql "$conninfo" -XtAc "SELECT uuid FROM calls WHERE outcome = 'answered' ORDER BY invite_at LIMIT 1" 2>/dev/null)
[[ -n $first ]] && echo "  one call in full:  build/tools/callscope/callscope --db \"$conninfo\" show $first"
echo "stages run: capture, decode, transcribe, score"
echo
# the KPI table of the sample's calls (the rollup the scoring stage keeps)
range=$(psql "$conninfo" -XtA -F ' ' -c "SELECT to_char(min(invite_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
    to_char((max(invite_at) + interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM calls")
read -r kpi_from kpi_to <<<"$range"
echo "KPI by queue, $kpi_from .. $kpi_to:"
"$cs" -q --db "$conninfo" report kpi --from "$kpi_from" --to "$kpi_to" --by queue ||
    { echo "quickstart: callscope report kpi failed" >&2; exit 1; }
