#!/usr/bin/env bash
# run.sh — phrase-spotting benchmark: callscope-transcribe --phrases on callgen
# G.711 calls whose truth says which scripted phrases were said and which were
# deliberately left out.
#
# Writes two callgen captures (PCMU, then PCMA with seed+1; scenarios direct,
# queued, hold, transfer, dtmf, repeat, codecs) with --ref-audio. callgen's
# reference tracks are the 8 kHz audio BEFORE the G.711 encoder, so each
# answered call's customer and agent tracks go through bench_g711pass
# (callgen's G.711 encoder, the decode stage's decoder: what callscope-decode
# archives) into one 2-channel WAV. callscope-transcribe --file ... --format
# json --channel 2 --phrases LIST transcribes the agent channel (the scripted
# phrases are agent-side) once; bench_phspot re-runs ph_spot on those
# transcripts at every min_score of the sweep (and the run checks that it
# reproduces callscope-transcribe's own hits at the default).
#
# Measure, per answered call and per phrase name (greeting, verification,
# closing, forbidden): truth positive = the name is in the truth's
# phrases.said; predicted positive = a hit with that name on channel 2.
# Printed per kind (scripted = greeting + verification + closing, forbidden,
# all = both) and per name: TP, FP, FN, precision, recall — at min_score 1.0
# (plain text matching), at the default 0.6, and a sweep 0.5 .. 0.8.
# Evidence time: the share of true positives whose best hit (highest score,
# then earliest) starts inside the truth utterance of that phrase (from
# EVID_TOL_MS = 300 ms before the utterance's start to its end). The
# errors at the default are listed (call, name, FP/FN, what matched). Also
# the recogniser's real-time factor. Target: recall >= 0.9 at precision >=
# 0.9 (all kinds, the default). Last lines:
#   RESULT phrase_precision_at_default <precision>
#   RESULT phrase_recall_at_default <recall>
# Not a ctest test. See docs/benchmarks.md.
#
# Usage: bench/phrases/run.sh [OPTION]...
#   -B, --build-dir DIR   build directory with the binaries (default: build/test)
#   -n, --calls N         callgen --calls per capture: N calls per scenario,
#                         2N for repeat, so 8N calls per codec (default 4)
#       --seed N          callgen seed of the PCMU capture; PCMA uses N+1
#                         (default 1)
#   -p, --phrases FILE    phrase list (default deploy/phrases.conf)
#       --default S       the min_score reported as the default (default 0.6,
#                         transcribe.phrase_min_score's default)
#   -j, --jobs N          callscope-transcribe processes at once (default 1)
#       --work-dir DIR    parent of the work directory (default /tmp)
#       --reuse DIR       score the calls and transcripts of an earlier run's
#                         kept work directory (truth.json, transcripts.jsonl)
#                         instead of generating and recognising new ones: to
#                         try another --phrases list in seconds (the hits are
#                         then bench_phspot's only)
#   -k, --keep            keep the work directory (captures, truth, WAVs,
#                         transcripts, hits)
#       --no-build        use the binaries as they are in the build directory
#       --fail-on-miss    exit 3 when the target is missed
#   -h, --help            this help
# Exit: 0 measured (target met or not), 1 a program failed, 2 usage,
# 3 the target missed (--fail-on-miss), 4 environment (tool, build, data).
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
me=bench/phrases/run.sh

build=$root/build/test
calls=4 seed=1 jobs=1 default_score=0.6
phrases=$root/deploy/phrases.conf
work_parent=/tmp keep=0 do_build=1 fail_on_miss=0 reuse=""

TARGET_PRECISION=0.9
TARGET_RECALL=0.9
# Evidence: a hit may start this much before its truth utterance. Truth times
# are clip placements; the recogniser's first word of a decoded span starts up
# to a few frames early (measured -1 .. -30 ms, transcribe.pad = 300 ms).
EVID_TOL_MS=300
SWEEP="1.0 0.5 0.6 0.7 0.8"
NAMES='["greeting","verification","closing","forbidden"]'

die() { # code, message...
    local code=$1
    shift
    echo "$me: $*" >&2
    exit "$code"
}
need_arg() { [[ $# -ge 2 && -n $2 ]] || die 2 "$1 needs a value (try --help)"; }

while (($#)); do
    case "$1" in
    -B | --build-dir) need_arg "$@"; build=$2; shift 2 ;;
    -n | --calls) need_arg "$@"; calls=$2; shift 2 ;;
    --seed) need_arg "$@"; seed=$2; shift 2 ;;
    -p | --phrases) need_arg "$@"; phrases=$2; shift 2 ;;
    --default) need_arg "$@"; default_score=$2; shift 2 ;;
    -j | --jobs) need_arg "$@"; jobs=$2; shift 2 ;;
    --work-dir) need_arg "$@"; work_parent=$2; shift 2 ;;
    --reuse) need_arg "$@"; reuse=$2; shift 2 ;;
    -k | --keep) keep=1; shift ;;
    --no-build) do_build=0; shift ;;
    --fail-on-miss) fail_on_miss=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown option $1 (try --help)" ;;
    esac
done

[[ $calls =~ ^[1-9][0-9]*$ ]] || die 2 "--calls: not a positive number: $calls"
[[ $seed =~ ^[0-9]+$ ]] || die 2 "--seed: not a number: $seed"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die 2 "--jobs: not a positive number: $jobs"
if ! [[ $default_score =~ ^(0\.[0-9]+|1\.0*|1)$ ]] ||
    ! awk -v s="$default_score" 'BEGIN { exit !(s > 0) }'; then
    die 2 "--default: not a score in (0, 1]: $default_score"
fi
[[ -r $phrases ]] || die 2 "--phrases: cannot read $phrases"
phrases=$(cd "$(dirname "$phrases")" && pwd)/$(basename "$phrases")
# the sweep and the default, each score once (1.0 and 1 are one score)
# shellcheck disable=SC2086 # word splitting wanted
SWEEP=$(printf '%s\n' $SWEEP "$default_score" | awk '{ printf "%g\n", $1 }' | sort -g -u | tr '\n' ' ')
# shellcheck disable=SC2086
scores=$(printf '%s\n' $SWEEP | paste -sd, -)

# ---- tools and binaries ---------------------------------------------------
for t in cmake jq awk sed mktemp; do
    command -v "$t" >/dev/null || die 4 "$t is missing"
done
[[ -d $build ]] || die 4 "no build directory $build (cmake -S $root -B $build)"
build=$(cd "$build" && pwd)
if ((do_build)); then
    echo "== building callgen, callscope-transcribe, bench_g711pass, bench_phspot in $build" >&2
    if [[ ! -d $build/bench ]]; then # configured before bench/ existed
        cmake -S "$root" -B "$build" >/dev/null || die 4 "cmake -S $root -B $build failed"
    fi
    cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" \
        --target callgen callscope-transcribe bench_g711pass bench_phspot >&2 ||
        die 4 "build failed (--no-build measures the binaries as they are)"
fi
callgen=$build/tools/callgen/callgen
transcribe=$build/transcribe/callscope-transcribe
g711pass=$build/bench/bench_g711pass
phspot=$build/bench/bench_phspot
for b in "$callgen" "$transcribe" "$g711pass" "$phspot"; do
    [[ -x $b ]] || die 4 "missing $b (build it, or leave out --no-build)"
done
[[ -d $work_parent ]] || die 4 "--work-dir $work_parent: no such directory"
if [[ -n $reuse ]]; then
    [[ -r $reuse/truth.json && -r $reuse/transcripts.jsonl ]] ||
        die 2 "--reuse $reuse: no truth.json and transcripts.jsonl there (a --keep work directory)"
    reuse=$(cd "$reuse" && pwd)
fi

work=$(mktemp -d "$work_parent/callscope-bench-phrases.XXXXXX")
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    if ((keep)); then
        echo "work directory kept: $work" >&2
    else
        rm -rf -- "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$work/empty.conf" # CALLSCOPE_CONFIG: no system configuration

if [[ -n $reuse ]]; then
    echo "== reusing the calls and transcripts of $reuse" >&2
    cp "$reuse/truth.json" "$reuse/transcripts.jsonl" "$work/"
    cat "$reuse"/transcribe-*.log >"$work/transcribe-0.log" 2>/dev/null || :
    calls=$(cat "$reuse/calls" 2>/dev/null || echo "?") seed=$(cat "$reuse/seed" 2>/dev/null || echo "?")
    ncalls=$(jq 'length' "$work/truth.json")
else
echo "$calls" >"$work/calls"
echo "$seed" >"$work/seed"
# ---- calls -------------------------------------------------------------------
echo "== callgen: $calls calls per scenario, PCMU seed $seed, PCMA seed $((seed + 1))" >&2
scen=direct,queued,hold,transfer,dtmf,repeat,codecs
s=$seed
for codec in pcmu pcma; do
    rc=0
    "$callgen" -o "$work/$codec.pcap" --scenario "$scen" --calls "$calls" --codec "$codec" \
        --seed "$s" --ref-audio "$work/ref-$codec" >"$work/callgen-$codec.log" 2>&1 || rc=$?
    if ((rc == 3)); then
        cat "$work/callgen-$codec.log" >&2
        die 4 "callgen lacks speech data or Festival (log above)"
    fi
    ((rc == 0)) || { cat "$work/callgen-$codec.log" >&2; die 1 "callgen exited with $rc"; }
    # phrases.loaded must be true, or there is nothing to measure
    jq -e '[.calls[] | select(.outcome == "answered") | .phrases.loaded] | all' \
        "$work/$codec.truth.json" >/dev/null ||
        die 4 "callgen wrote calls without the scripted phrases (Festival missing?)"
    s=$((s + 1))
done

# truth per WAV: {"<wav path>": {"call", "codec", "said", "utt": {name: [[s, e]...]}}}
mkdir -p "$work/wav"
for codec in pcmu pcma; do
    jq --arg dir "$work/wav" --arg codec "$codec" '
        [.calls[] | select(.outcome == "answered" and .codec == $codec)
         | (.inbound_call_id | gsub("[^A-Za-z0-9._-]"; "_")) as $f
         | {key: "\($dir)/\($codec)-\($f).wav",
            value: {call: .inbound_call_id, codec: $codec, ref: $f, said: .phrases.said,
                    utt: (reduce (.utterances[] | select(.channel == "agent" and .phrase != null))
                          as $u ({}; .[$u.phrase] += [[$u.start_ms, $u.end_ms]]))}}]
        | from_entries' "$work/$codec.truth.json" >"$work/truth-$codec.json"
done
jq -s 'add' "$work/truth-pcmu.json" "$work/truth-pcma.json" >"$work/truth.json"
ncalls=$(jq 'length' "$work/truth.json")
((ncalls > 0)) || die 1 "callgen wrote no answered G.711 calls"

echo "== G.711 round trip of $ncalls answered calls (bench_g711pass)" >&2
while IFS=$'\t' read -r wav codec ref; do
    rc=0
    "$g711pass" --codec "$codec" "$work/ref-$codec/$ref.customer.wav" \
        "$work/ref-$codec/$ref.agent.wav" "$wav" 2>>"$work/g711pass.log" || rc=$?
    ((rc == 0)) || { cat "$work/g711pass.log" >&2; die 1 "bench_g711pass exited with $rc for $ref"; }
done < <(jq -r 'to_entries[] | [.key, .value.codec, .value.ref] | @tsv' "$work/truth.json")

# ---- recognition -------------------------------------------------------------
echo "== callscope-transcribe --channel 2 --phrases, $jobs process(es)" >&2
mapfile -t wavs < <(jq -r 'keys[]' "$work/truth.json")
pids=()
for ((k = 0; k < jobs; k++)); do
    args=()
    for ((i = k; i < ${#wavs[@]}; i += jobs)); do args+=(--file "${wavs[i]}"); done
    ((${#args[@]})) || continue
    CALLSCOPE_CONFIG=$work/empty.conf "$transcribe" "${args[@]}" --format json --channel 2 \
        --phrases "$phrases" --set "transcribe.phrase_min_score=$default_score" \
        >"$work/transcripts-$k.jsonl" 2>"$work/transcribe-$k.log" &
    pids+=($!)
done
for ((k = 0; k < ${#pids[@]}; k++)); do
    rc=0
    wait "${pids[k]}" || rc=$?
    ((rc == 0)) || { tail -20 "$work/transcribe-$k.log" >&2; die 1 "callscope-transcribe exited with $rc (log above)"; }
done
cat "$work"/transcripts-*.jsonl >"$work/transcripts.jsonl"
got=$(jq -s 'length' "$work/transcripts.jsonl")
((got == ncalls)) || die 1 "callscope-transcribe printed $got transcripts for $ncalls files"
fi # not --reuse
rtf=$(cat "$work"/transcribe-*.log | awk '$1 == "rtf" { c += $2; a += $3 }
    END { if (a > 0) printf "%.3f %.1f %.1f", c / a, c, a; else print "0 0 0" }')

# ---- spotting at every score ---------------------------------------------------
rc=0
"$phspot" --phrases "$phrases" --min-score "$scores" "$work/transcripts.jsonl" \
    >"$work/spots.jsonl" 2>"$work/phspot.log" || rc=$?
((rc == 0)) || { cat "$work/phspot.log" >&2; die 1 "bench_phspot exited with $rc"; }
# bench_phspot at the default must be callscope-transcribe's own output
if [[ -z $reuse ]]; then
    bad=$(jq -r -n --argjson d "$default_score" --slurpfile t "$work/transcripts.jsonl" \
        --slurpfile s "$work/spots.jsonl" '
        ([$t[] | {key: .path, value: .phrases}] | from_entries) as $own
        | [$s[] | select(.min_score == $d) | select(.phrases != $own[.path]) | .path] | .[0] // ""')
    if [[ -n $bad ]]; then
        echo "$me: $bad: callscope-transcribe's hits, then bench_phspot's:" >&2
        jq -c --arg p "$bad" 'select(.path == $p) | .phrases[]' "$work/transcripts.jsonl" >&2
        jq -c --arg p "$bad" --argjson d "$default_score" \
            'select(.path == $p and .min_score == $d) | .phrases[]' "$work/spots.jsonl" >&2
        die 1 "bench_phspot does not reproduce callscope-transcribe's hits at $default_score"
    fi
fi

# ---- scoring -------------------------------------------------------------------
# One row per (min_score, call, name): tp/fp/fn/tn and whether the best hit
# starts inside a truth utterance of the phrase.
jq -c -n --slurpfile truth "$work/truth.json" --argjson names "$NAMES" --argjson tol "$EVID_TOL_MS" '
    inputs as $s | $truth[0][$s.path] as $t | $names[] as $n
    | ([$s.phrases[] | select(.name == $n and .channel == 2)]) as $h
    | ($t.said | index($n) != null) as $pos
    | ($h | length > 0) as $pred
    | (if $pred then ($h | sort_by(-.score, .start_ms) | .[0]) else null end) as $best
    | {score: $s.min_score, call: $t.call, codec: $t.codec, name: $n,
       tp: ($pos and $pred), fp: (($pos | not) and $pred), fn: ($pos and ($pred | not)),
       inside: (if $pos and $pred then
                  any(($t.utt[$n] // [])[]; .[0] - $tol <= $best.start_ms and $best.start_ms <= .[1])
                else null end),
       matched: (if $best then "\($best.matched) (\($best.score * 100 | round / 100))" else null end)}
    ' "$work/spots.jsonl" >"$work/rows.jsonl"

# Aggregate: group (score, group) where group is a name, "scripted", "forbidden", "all".
table() { # jq filter selecting groups -> tsv: score group tp fp fn prec rec inside tp_ev
    jq -r -s --argjson names "$NAMES" '
        def kind($n): if $n == "forbidden" then "forbidden" else "scripted" end;
        [.[] | . as $r | ([$r.name, kind($r.name), "all"] | unique[]) as $g | $r + {group: $g}]
        | group_by([.score, .group])[]
        | {score: .[0].score, group: .[0].group,
           tp: map(select(.tp)) | length, fp: map(select(.fp)) | length,
           fn: map(select(.fn)) | length,
           ev: map(select(.inside == true)) | length}
        | [.score, .group, .tp, .fp, .fn,
           (if .tp + .fp > 0 then .tp / (.tp + .fp) else 1 end),
           (if .tp + .fn > 0 then .tp / (.tp + .fn) else 1 end),
           (if .tp > 0 then .ev / .tp else 1 end)] | @tsv' "$work/rows.jsonl"
}
table >"$work/table.tsv"

fmt_rows() { # score -> printed rows in a fixed group order
    awk -F'\t' -v s="$1" '
        BEGIN { n = split("greeting verification closing scripted forbidden all", order, " ") }
        $1 + 0 == s + 0 { row[$2] = $0 }
        END {
            for (i = 1; i <= n; i++) {
                if (!(order[i] in row)) continue
                split(row[order[i]], f, "\t")
                printf "  %-13s %4d %4d %4d   %5.3f   %5.3f   %5.3f\n", f[2], f[3], f[4], f[5], f[6], f[7], f[8]
            }
        }' "$work/table.tsv"
}
header() { printf "  %-13s %4s %4s %4s   %5s   %5s   %5s\n" group TP FP FN prec recall evid; }

npcmu=$(jq '[.[] | select(.codec == "pcmu")] | length' "$work/truth.json")
pcma_seed=$seed
[[ $seed =~ ^[0-9]+$ ]] && pcma_seed=$((seed + 1))
echo "phrase-spotting benchmark: $ncalls answered G.711 calls ($npcmu PCMU seed $seed," \
    "$((ncalls - npcmu)) PCMA seed $pcma_seed; --calls $calls), agent channel${reuse:+ (reused from $reuse)}"
echo "phrase list: $phrases"
echo "truth positives (name in phrases.said):" \
    "$(jq -r -s '[.[] | select(.score == 1 and (.tp or .fn))] | group_by(.name)
        | map("\(.[0].name) \(length)") | join(", ")' "$work/rows.jsonl")" \
    "of $ncalls calls each"
read -r rtf_v cpu_s audio_s <<<"$rtf"
echo "recogniser: $cpu_s s CPU for $audio_s s of agent audio, real-time factor $rtf_v"
echo "evid = share of TPs whose best hit starts inside the truth utterance of the phrase" \
    "(from ${EVID_TOL_MS} ms before its start to its end)"
echo
echo "plain text matching (phrase_min_score 1.0):"
header
fmt_rows 1.0
echo
echo "fuzzy alignment at the default (phrase_min_score $default_score):"
header
fmt_rows "$default_score"
echo
echo "sweep (all = scripted + forbidden):"
printf "  %-9s %4s %4s %4s   %5s   %5s   %5s\n" min_score TP FP FN prec recall evid
for sc in $(echo "$SWEEP" | tr ' ' '\n' | sort -g -u); do
    awk -F'\t' -v s="$sc" '$1 + 0 == s + 0 && $2 == "all" {
        printf "  %-9s %4d %4d %4d   %5.3f   %5.3f   %5.3f\n", s, $3, $4, $5, $6, $7, $8 }' \
        "$work/table.tsv"
done
echo
echo "errors at the default (call, name, error, best hit):"
jq -r -s --argjson d "$default_score" '
    .[] | select(.score == $d and (.fp or .fn or .inside == false))
    | "  \(.codec) \(.call) \(.name) \(if .fp then "FP" elif .fn then "FN" else "TP-outside" end)"
      + (if .matched then ": \(.matched)" else "" end)' "$work/rows.jsonl"
echo

read -r prec rec <<<"$(awk -F'\t' -v s="$default_score" '$1 + 0 == s + 0 && $2 == "all" { print $6, $7 }' "$work/table.tsv")"
missed=$(awk -v p="$prec" -v r="$rec" -v tp="$TARGET_PRECISION" -v tr="$TARGET_RECALL" \
    'BEGIN { print (p < tp || r < tr) ? 1 : 0 }')
if ((missed)); then
    echo "target MISSED: recall >= $TARGET_RECALL at precision >= $TARGET_PRECISION"
else
    echo "target met: recall >= $TARGET_RECALL at precision >= $TARGET_PRECISION"
fi
printf "RESULT phrase_precision_at_default %.3f\n" "$prec"
printf "RESULT phrase_recall_at_default %.3f\n" "$rec"
if ((missed && fail_on_miss)); then
    exit 3
fi
exit 0
