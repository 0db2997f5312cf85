#!/usr/bin/env bash
# run.sh — transcribe throughput benchmark: real-time factor per channel and
# what -j 2 buys over -j 1, on real calls through the real stages.
#
# Makes N answered callgen calls (default 16, G.711 μ-law, scripted phrases
# and real speech), runs them through callscope-capture and callscope-decode
# into a private PostgreSQL (deploy/pgctl.sh, under the work directory), then
# transcribes every call twice in the same run: `callscope-transcribe --once
# -j 1` and, after queueing every job again, `--once -j 2`. Prints for each:
# wall seconds, audio seconds transcribed (both channels), audio seconds per
# wall second, and the CPU seconds per audio second (real-time factor, per
# channel: front end + recogniser, model loading excluded). The speed-up
# (-j 2 audio per wall second / -j 1) is the last line:
#
#     RESULT transcribe_j2_speedup <ratio>
#
# Targets: real-time factor <= 0.25 on one core; speed-up about 2 on a machine
# with 2 free cores (the figure is only meaningful when nothing else runs).
# Not a ctest test. See docs/benchmarks.md.
#
# Usage: bench/transcribe/run.sh [OPTION]...
#   -B, --build-dir DIR   build directory with the binaries (default: build/test)
#   -n, --calls N         answered calls (default 16)
#       --codec C         callgen codec (default pcmu)
#       --seed N          callgen seed (default 7)
#   -k, --keep            keep the work directory
#       --fail-on-miss    exit 3 when a target is missed
#   -h, --help            this help
# Exit: 0 measured, 1 a program failed, 2 usage, 3 target missed
# (--fail-on-miss), 4 environment.
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
me=bench/transcribe/run.sh
build=$root/build/test calls=16 codec=pcmu seed=7 keep=0 fail_on_miss=0
TARGET_RTF=0.25

die() {
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
    --codec) need_arg "$@"; codec=$2; shift 2 ;;
    --seed) need_arg "$@"; seed=$2; shift 2 ;;
    -k | --keep) keep=1; shift ;;
    --fail-on-miss) fail_on_miss=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown option $1 (try --help)" ;;
    esac
done
[[ $calls =~ ^[1-9][0-9]*$ ]] || die 2 "--calls: not a positive number: $calls"
[[ $seed =~ ^[0-9]+$ ]] || die 2 "--seed: not a number: $seed"
for t in psql jq awk; do command -v "$t" >/dev/null || die 4 "$t is missing"; done
build=$(cd "$build" 2>/dev/null && pwd) || die 4 "no build directory"
tx=$build/transcribe/callscope-transcribe
dec=$build/decode/callscope-decode
cap=$build/capture/callscope-capture
gen=$build/tools/callgen/callgen
cs=$build/tools/callscope/callscope
for b in "$tx" "$dec" "$cap" "$gen" "$cs"; do [[ -x $b ]] || die 4 "missing $b (build it)"; done

work=$(mktemp -d /tmp/cs-bench-transcribe.XXXXXX)
chmod 755 "$work"
cleanup() {
    "$root/deploy/pgctl.sh" destroy "$work/pg" >/dev/null 2>&1 || true
    if ((keep)); then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
: >"$work/empty.conf"
export CALLSCOPE_CONFIG=$work/empty.conf

echo "== $calls answered $codec calls (callgen seed $seed) -> capture -> decode" >&2
"$gen" -q -o "$work/calls.pcap" --scenario direct --calls "$calls" --codec "$codec" --seed "$seed" ||
    die 1 "callgen failed"
ci=$("$root/deploy/pgctl.sh" start "$work/pg" --db callscope) || die 4 "cannot start PostgreSQL"
"$cs" -q --db "$ci" db migrate >/dev/null || die 1 "migrate failed"
mkdir -p "$work/spool" "$work/archive"
"$cap" -q --spool "$work/spool" "$work/calls.pcap" || die 1 "capture failed"
"$dec" -q --once --spool "$work/spool" --archive "$work/archive" --db "$ci" || die 1 "decode failed"

run() { # workers -> "wall audio_s cpu_s"
    local j=$1 t0 t1
    psql "$ci" -XqAtc "UPDATE jobs SET state = 'queued', attempts = 0, run_after = now(),
                       finished_at = NULL WHERE kind = 'transcribe'" >/dev/null
    t0=$(date +%s.%N)
    "$tx" --once -j "$j" --archive "$work/archive" --db "$ci" --phrases "$root/deploy/phrases.conf" \
        2>"$work/tx-j$j.log" || die 1 "callscope-transcribe -j $j failed (see $work/tx-j$j.log)"
    t1=$(date +%s.%N)
    local fin
    fin=$(grep -o 'final: .*' "$work/tx-j$j.log")
    awk -v a="$t0" -v b="$t1" -v f="$fin" 'BEGIN {
        match(f, /[0-9.]+ s audio/); au = substr(f, RSTART, RLENGTH) + 0
        match(f, /[0-9.]+ s CPU/); cpu = substr(f, RSTART, RLENGTH) + 0
        printf "%.3f %.1f %.1f\n", b - a, au, cpu }'
}
read -r w1 a1 c1 < <(run 1)
read -r w2 a2 c2 < <(run 2)
printf '%-6s %10s %12s %14s %10s\n' workers wall_s audio_s audio_s/wall rtf
printf '%-6s %10.1f %12.1f %14.2f %10.3f\n' "-j 1" "$w1" "$a1" "$(awk -v a="$a1" -v w="$w1" 'BEGIN{print a/w}')" \
    "$(awk -v c="$c1" -v a="$a1" 'BEGIN{print c/a}')"
printf '%-6s %10.1f %12.1f %14.2f %10.3f\n' "-j 2" "$w2" "$a2" "$(awk -v a="$a2" -v w="$w2" 'BEGIN{print a/w}')" \
    "$(awk -v c="$c2" -v a="$a2" 'BEGIN{print c/a}')"
rtf=$(awk -v c="$c1" -v a="$a1" 'BEGIN{printf "%.3f", c/a}')
speedup=$(awk -v a1="$a1" -v w1="$w1" -v a2="$a2" -v w2="$w2" 'BEGIN{printf "%.2f", (a2/w2)/(a1/w1)}')
echo "real-time factor per channel (-j 1): $rtf (target <= $TARGET_RTF)"
echo "load while measuring: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "RESULT transcribe_j2_speedup $speedup"
if ((fail_on_miss)) && ! awk -v r="$rtf" -v t="$TARGET_RTF" 'BEGIN{exit !(r <= t)}'; then exit 3; fi
exit 0
