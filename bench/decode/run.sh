#!/usr/bin/env bash
# run.sh — decode benchmark: render + archive speed per codec on one core, as
# multiples of real time, beside the time to merely read the same spool entries.
#
# For each codec (default PCMU -> FLAC, Opus -> Ogg Opus, G.729 -> FLAC) writes
# a callgen load capture (--concurrent CALLS calls at once over 330 s of
# capture time, so at least CALLS calls of 20-300 s of RTP finish), runs
# callscope-capture over it into a spool, and hands the spool entries to
# bench_decode (bench/decode/bench_decode.c), which pins itself to one CPU and,
# per round and codec, measures (a) reading call.json (parsed) and call.pcap
# (pcap_next_ex loop) and (b) render_entry + archive_write to a tmpfs archive.
# It uses CALLS answered, finished calls per codec. "x real time" = seconds of
# recorded call / CPU seconds (user + system). Target: PCMU -> FLAC >= 500x.
# The last line is "RESULT decode_pcmu_flac_xrt <multiple>" (0 when pcmu is
# not among --codecs). Not a ctest test. See docs/benchmarks.md.
#
# Usage: bench/decode/run.sh [OPTION]...
#   -B, --build-dir DIR   build directory with the binaries (default: build/test)
#   -c, --calls N         answered calls per codec (default 20)
#   -n, --rounds N        rounds; figures are medians (default 2)
#       --codecs LIST     comma-separated from pcmu,pcma,g722,g729,opus
#                         (default pcmu,opus,g729); opus is archived as Ogg
#                         Opus, every other codec as FLAC
#       --cpu N           CPU to pin bench_decode to (default: the one it
#                         starts on)
#       --seed N          callgen seed (default 1)
#       --work-dir DIR    parent of the work directory (captures, spools,
#                         archive); must be tmpfs (default /dev/shm)
#   -k, --keep            keep the work directory
#       --no-build        use the binaries as they are in the build directory
#       --fail-on-miss    exit 3 when the PCMU -> FLAC target is missed
#   -h, --help            this help
# Exit: 0 measured (target met or not), 1 a program failed, 2 usage,
# 3 target missed (--fail-on-miss), 4 environment (tool, space, build, CPU).
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
me=bench/decode/run.sh

build=$root/build/test
calls=20 rounds=2 codecs=pcmu,opus,g729 cpu="" seed=1
work_parent=/dev/shm keep=0 do_build=1 fail_on_miss=0
DURATION_S=330 # callgen --load: calls start within 10 s, ring <= 6 s, talk <= 300 s

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
    -c | --calls) need_arg "$@"; calls=$2; shift 2 ;;
    -n | --rounds) need_arg "$@"; rounds=$2; shift 2 ;;
    --codecs) need_arg "$@"; codecs=$2; shift 2 ;;
    --cpu) need_arg "$@"; cpu=$2; shift 2 ;;
    --seed) need_arg "$@"; seed=$2; shift 2 ;;
    --work-dir) need_arg "$@"; work_parent=$2; shift 2 ;;
    -k | --keep) keep=1; shift ;;
    --no-build) do_build=0; shift ;;
    --fail-on-miss) fail_on_miss=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown option $1 (try --help)" ;;
    esac
done

[[ $calls =~ ^[1-9][0-9]*$ && $calls -le 1000 ]] || die 2 "--calls: not a number 1..1000: $calls"
[[ $rounds =~ ^[1-9][0-9]*$ && $rounds -le 50 ]] || die 2 "--rounds: not a number 1..50: $rounds"
[[ $seed =~ ^[0-9]+$ ]] || die 2 "--seed: not a number: $seed"
[[ -z $cpu || $cpu =~ ^[0-9]+$ ]] || die 2 "--cpu: not a CPU number: $cpu"
IFS=, read -r -a codec_list <<<"$codecs"
((${#codec_list[@]} > 0 && ${#codec_list[@]} <= 8)) || die 2 "--codecs: 1 to 8 codecs"
for c in "${codec_list[@]}"; do
    [[ $c =~ ^(pcmu|pcma|g722|g729|opus)$ ]] || die 2 "--codecs: unknown codec '$c'"
done
format_of() { if [[ $1 == opus ]]; then echo opus; else echo flac; fi; }

# ---- tools and binaries ---------------------------------------------------
for t in cmake awk sed df stat mktemp; do
    command -v "$t" >/dev/null || die 4 "$t is missing"
done
[[ -d $build ]] || die 4 "no build directory $build (cmake -S . -B $build)"
build=$(cd "$build" && pwd)
if ((do_build)); then
    echo "== building callscope-capture, callgen, bench_decode in $build" >&2
    if [[ ! -d $build/bench ]] || ! grep -q bench_decode "$build/bench/Makefile" 2>/dev/null; then
        cmake -S "$root" -B "$build" >/dev/null || die 4 "cmake -S $root -B $build failed"
    fi
    cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" \
        --target callscope-capture callgen bench_decode >&2 ||
        die 4 "build failed (--no-build measures the binaries as they are)"
fi
capture=$build/capture/callscope-capture
callgen=$build/tools/callgen/callgen
driver=$build/bench/bench_decode
for b in "$capture" "$callgen" "$driver"; do
    [[ -x $b ]] || die 4 "missing $b (build it, or leave out --no-build)"
done
if [[ -n $cpu ]]; then
    ((cpu < $(nproc --all 2>/dev/null || echo 1024))) || die 4 "--cpu $cpu: no such CPU"
fi

# ---- places ----------------------------------------------------------------
fs_type() { stat -f -c %T "$1"; }
fs_avail() { df -P -B1 "$1" | awk 'NR == 2 { print $4 }'; }
[[ -d $work_parent ]] || die 4 "--work-dir $work_parent: no such directory"
[[ $(fs_type "$work_parent") == tmpfs ]] ||
    die 4 "--work-dir $work_parent is $(fs_type "$work_parent"), not tmpfs"
# PCMU at 20 concurrent calls over 330 s writes about 175 MB; the spool holds
# about as much again. Scale with the number of calls.
need=$((calls * 20000000 * ${#codec_list[@]} + 64000000))
have=$(fs_avail "$work_parent")
((have >= need)) || die 4 "$work_parent: $((have / 1000000)) MB free, the benchmark needs $((need / 1000000)) MB"

work=$(mktemp -d "$work_parent/callscope-bench-decode.XXXXXX")
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    if ((keep)); then
        echo "$me: kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$work/empty.conf" # no /etc/callscope: built-in defaults only
mkdir -p "$work/archive"

# ---- the spool entries -----------------------------------------------------
sets=()
for c in "${codec_list[@]}"; do
    echo "== callgen --load --codec $c --concurrent $calls --duration $DURATION_S; capture" >&2
    "$callgen" --load --codec "$c" --concurrent "$calls" --duration "$DURATION_S" --seed "$seed" \
        -q -o "$work/$c.pcap" || die 1 "callgen failed ($c)"
    CALLSCOPE_CONFIG="$work/empty.conf" "$capture" -q --spool "$work/spool-$c" "$work/$c.pcap" \
        2>"$work/capture-$c.log" || { cat "$work/capture-$c.log" >&2; die 1 "callscope-capture failed ($c)"; }
    rm -f "$work/$c.pcap" # the spool holds what decode reads
    sets+=("$c:$(format_of "$c"):$work/spool-$c/ready")
done

# ---- header ----------------------------------------------------------------
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n $(git -C "$root" status --porcelain --untracked-files=no -- decode capture common 2>/dev/null) ]] &&
    rev="$rev+dirty"
libs=""
if command -v pkg-config >/dev/null; then
    libs="libsndfile $(pkg-config --modversion sndfile 2>/dev/null || echo ?)"
    libs="$libs, libFLAC $(pkg-config --modversion flac 2>/dev/null || echo ?)"
    libs="$libs, libopus $(pkg-config --modversion opus 2>/dev/null || echo ?)"
fi
echo "callscope decode benchmark (commit $rev)"
echo "  build        $build ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null))"
echo "  input        callgen --load --concurrent $calls --duration $DURATION_S --seed $seed per codec;" \
    "$calls answered, finished calls each"
echo "  archive      $work/archive ($(fs_type "$work/archive")); ${libs:-libraries ?}"
echo "  machine      $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---- the measurement -------------------------------------------------------
args=(--archive "$work/archive" --rounds "$rounds" --calls "$calls")
[[ -n $cpu ]] && args+=(--cpu "$cpu")
((fail_on_miss)) && args+=(--fail-on-miss)
rc=0
"$driver" "${args[@]}" "${sets[@]}" || rc=$?
case $rc in
0 | 3) exit "$rc" ;;
4) die 4 "bench_decode: environment (exit 4)" ;;
*) die 1 "bench_decode failed (exit $rc)" ;;
esac
