#!/usr/bin/env bash
# run.sh — capture benchmark: callscope-capture against a bare libpcap read loop.
#
# Writes a callgen load capture (default 1 GB, 1000 concurrent calls) and a tiny
# one (5 calls), then, in each round, reads the big file with bench_bare_read
# (pcap_open_offline + pcap_next_ex, nothing else) and with
# `callscope-capture -r FILE` writing its spool on tmpfs, back to back. Prints
# packets/s and MB/s of both, the ratio capture/bare (median of the rounds),
# peak RSS, and memory per active call = (peak RSS of the big run - peak RSS of
# the tiny run) / (peak active calls of the big run - of the tiny run), with
# the peak active calls from capture's --json-stats calls_active_max.
# Targets: ratio >= 0.40, <= 50 KB per active call. The last line is
# "RESULT capture_vs_bare <ratio>". Not a ctest test. See docs/benchmarks.md.
#
# Usage: bench/capture/run.sh [OPTION]...
#   -B, --build-dir DIR   build directory with the binaries (default: build/test)
#   -s, --size BYTES      size of the load capture, callgen suffixes K/M/G = 10^3/6/9
#                         (default 1G)
#   -c, --concurrent N    calls active at once in the load capture (default 1000)
#   -n, --rounds N        bare + capture rounds; figures are medians (default 3)
#       --seed N          callgen seed (default 1)
#       --pcap FILE       use this callgen --load capture (and FILE.truth.json
#                         beside it, if any) instead of writing one
#       --work-dir DIR    parent of the directory for the captures, stats and
#                         logs (default /dev/shm; see docs/benchmarks.md why)
#       --spool-dir DIR   parent of the spool directories, must be tmpfs
#                         (default /dev/shm)
#   -k, --keep            keep the work directory (captures, JSON stats, logs);
#                         the spools are always removed
#       --no-build        use the binaries as they are in the build directory
#       --fail-on-miss    exit 3 when a target is missed
#   -h, --help            this help
# Exit: 0 measured (targets met or not), 1 a program failed, 2 usage,
# 3 a target missed (--fail-on-miss), 4 environment (tool, space, build).
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
me=bench/capture/run.sh

build=$root/build/test
size=1G concurrent=1000 rounds=3 seed=1
pcap_in="" work_parent=/dev/shm spool_parent=/dev/shm
keep=0 do_build=1 fail_on_miss=0

TARGET_RATIO=0.40
TARGET_KB_PER_CALL=50
TINY_SIZE=1M TINY_CONCURRENT=5

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
    -s | --size) need_arg "$@"; size=$2; shift 2 ;;
    -c | --concurrent) need_arg "$@"; concurrent=$2; shift 2 ;;
    -n | --rounds) need_arg "$@"; rounds=$2; shift 2 ;;
    --seed) need_arg "$@"; seed=$2; shift 2 ;;
    --pcap) need_arg "$@"; pcap_in=$2; shift 2 ;;
    --work-dir) need_arg "$@"; work_parent=$2; shift 2 ;;
    --spool-dir) need_arg "$@"; spool_parent=$2; shift 2 ;;
    -k | --keep) keep=1; shift ;;
    --no-build) do_build=0; shift ;;
    --fail-on-miss) fail_on_miss=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown option $1 (try --help)" ;;
    esac
done

[[ $rounds =~ ^[1-9][0-9]*$ ]] || die 2 "--rounds: not a positive number: $rounds"
[[ $concurrent =~ ^[1-9][0-9]*$ ]] || die 2 "--concurrent: not a positive number: $concurrent"
[[ $seed =~ ^[0-9]+$ ]] || die 2 "--seed: not a number: $seed"

# BYTES with an optional K/M/G suffix (powers of ten, as callgen reads them)
to_bytes() {
    local v=$1
    case "$v" in
    *[kK]) echo $((${v%?} * 1000)) ;;
    *[mM]) echo $((${v%?} * 1000000)) ;;
    *[gG]) echo $((${v%?} * 1000000000)) ;;
    *) echo $((v)) ;;
    esac
}
[[ $size =~ ^[1-9][0-9]*[kKmMgG]?$ ]] || die 2 "--size: not a size: $size"
size_bytes=$(to_bytes "$size")

# ---- tools and binaries ---------------------------------------------------
for t in cmake awk sed df stat mktemp; do
    command -v "$t" >/dev/null || die 4 "$t is missing"
done
[[ -x /usr/bin/time ]] || die 4 "/usr/bin/time (GNU time, for peak RSS) is missing: apt-get install time"
[[ -d $build ]] || die 4 "no build directory $build (cmake -S . -B $build)"
build=$(cd "$build" && pwd)
if ((do_build)); then
    echo "== building callscope-capture, callgen, bench_bare_read in $build" >&2
    if [[ ! -d $build/bench ]]; then # configured before bench/ existed
        cmake -S "$root" -B "$build" >/dev/null || die 4 "cmake -S $root -B $build failed"
    fi
    cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" \
        --target callscope-capture callgen bench_bare_read >&2 ||
        die 4 "build failed (--no-build measures the binaries as they are)"
fi
capture=$build/capture/callscope-capture
callgen=$build/tools/callgen/callgen
bare=$build/bench/bench_bare_read
for b in "$capture" "$callgen" "$bare"; do
    [[ -x $b ]] || die 4 "missing $b (build it, or leave out --no-build)"
done

# ---- places ----------------------------------------------------------------
fs_type() { stat -f -c %T "$1"; }
fs_mount() { df -P "$1" | awk 'NR == 2 { print $6 }'; }
fs_avail() { df -P -B1 "$1" | awk 'NR == 2 { print $4 }'; }

[[ -d $spool_parent ]] || die 4 "--spool-dir $spool_parent: no such directory"
[[ $(fs_type "$spool_parent") == tmpfs ]] ||
    die 4 "--spool-dir $spool_parent is $(fs_type "$spool_parent"), not tmpfs"
[[ -d $work_parent ]] || die 4 "--work-dir $work_parent: no such directory"
if [[ -n $pcap_in ]]; then
    [[ -r $pcap_in ]] || die 4 "--pcap $pcap_in: cannot read it"
    size_bytes=$(stat -c %s "$pcap_in")
fi

# Space: the spool holds about the input again (call.pcap per call plus
# call.json); the work directory the input (unless given) and the tiny file.
spool_need=$((size_bytes + size_bytes / 10 + 64000000))
work_need=$((8000000 + (${#pcap_in} == 0 ? size_bytes + size_bytes / 50 : 0)))
if [[ $(fs_mount "$spool_parent") == "$(fs_mount "$work_parent")" ]]; then
    spool_need=$((spool_need + work_need)) work_need=0
fi
check_space() { # dir, bytes needed
    local have
    have=$(fs_avail "$1")
    ((have >= $2)) || die 4 "$1: $((have / 1000000)) MB free, the benchmark needs $(($2 / 1000000)) MB"
}
check_space "$spool_parent" "$spool_need"
check_space "$work_parent" "$work_need"
tmpfs_need=$spool_need
[[ $(fs_type "$work_parent") == tmpfs ]] && tmpfs_need=$((tmpfs_need + work_need))
mem_avail=$(($(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) * 1024))
((mem_avail >= tmpfs_need + 512000000)) ||
    die 4 "$((mem_avail / 1000000)) MB of memory available; tmpfs files and page cache need" \
        "$(((tmpfs_need + 512000000) / 1000000)) MB"

work=$(mktemp -d "$work_parent/callscope-bench.XXXXXX")
spool_base=$(mktemp -d "$spool_parent/callscope-bench-spool.XXXXXX")
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
    rm -rf "$spool_base"
    if ((keep)); then
        echo "$me: kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
: >"$work/empty.conf" # no /etc/callscope: built-in defaults only

# ---- helpers ---------------------------------------------------------------
# first number after "KEY": in a pretty-printed JSON file (one key per line)
json_num() { sed -n "s/^ *\"$2\": *\([0-9.eE+-]*\).*/\1/p" "$1" | head -n 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }

# Runs "$@" under /usr/bin/time; sets wall (s, from bash's clock), rss (KB),
# usr, sys (s), rc. Output goes to the caller's redirections.
timed() {
    local tf=$work/time.txt t0 t1
    t0=$EPOCHREALTIME
    rc=0
    /usr/bin/time -o "$tf" -f '%M %U %S' "$@" || rc=$?
    t1=$EPOCHREALTIME
    wall=$(calc '%.6f' "$t1 - $t0")
    read -r rss usr sys < <(tail -n 1 "$tf")
}

preread() { cat "$1" >/dev/null; }
resident_pct() {
    if command -v fincore >/dev/null; then
        fincore -b -n -r -o RES,SIZE "$1" | awk '{ printf "%.1f", ($2 > 0) ? 100 * $1 / $2 : 0 }'
    else
        echo "?"
    fi
}

# ---- the captures ----------------------------------------------------------
if [[ -n $pcap_in ]]; then
    pcap=$pcap_in
    truth=${pcap_in%.pcap}.truth.json
    [[ -r $truth ]] || truth=""
else
    pcap=$work/load.pcap truth=$work/load.truth.json
    echo "== callgen --load --size $size --concurrent $concurrent --seed $seed" >&2
    t0=$EPOCHREALTIME
    "$callgen" --load --size "$size" --concurrent "$concurrent" --seed "$seed" -q -o "$pcap" ||
        die 1 "callgen failed"
    echo "   written in $(calc '%.1f' "$EPOCHREALTIME - $t0") s" >&2
fi
tiny=$work/tiny.pcap
"$callgen" --load --size "$TINY_SIZE" --concurrent "$TINY_CONCURRENT" --seed "$seed" -q \
    -o "$tiny" || die 1 "callgen failed (tiny capture)"

truth_max="" truth_calls=""
if [[ -n $truth ]]; then
    truth_max=$(json_num "$truth" max_concurrent)
    truth_calls=$(json_num "$truth" calls)
fi
[[ -n $pcap_in ]] && concurrent=${truth_max:-?}
((size_bytes >= 1000000000)) || echo "$me: note: the capture is smaller than 1 GB" >&2
[[ $concurrent == "?" || $concurrent -ge 1000 ]] ||
    echo "$me: note: fewer than 1000 concurrent calls" >&2

# One capture run: file, spool dir, stats file, log; sets the timed() variables.
run_capture() {
    mkdir -p "$2"
    timed env CALLSCOPE_CONFIG="$work/empty.conf" "$capture" -q -r "$1" --spool "$2" \
        --stats-interval 1 --json-stats "$3" 2>"$4"
    ((rc == 0)) || { cat "$4" >&2; die 1 "callscope-capture exited with $rc (log above)"; }
}

# ---- memory baseline: the tiny capture -----------------------------------
preread "$tiny"
run_capture "$tiny" "$spool_base/tiny" "$work/tiny.json" "$work/tiny.log"
tiny_rss=$rss
tiny_active=$(json_num "$work/tiny.json" calls_active_max)
rm -rf "$spool_base/tiny"

# Warm the spool's tmpfs: on this kind of VM the first touch of fresh pages
# costs several times a reuse (1 GB into /dev/shm measured 3.1 s, then 0.5 s),
# which would land on the first capture round only.
dd if=/dev/zero of="$spool_base/warm" bs=1M count=$((spool_need / 1048576)) status=none
rm -f "$spool_base/warm"

preread "$pcap"
resident=$(resident_pct "$pcap")

# ---- header ----------------------------------------------------------------
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n $(git -C "$root" status --porcelain --untracked-files=no -- capture common 2>/dev/null) ]] && rev="$rev+dirty"
echo "callscope capture benchmark ($("$capture" --version | head -n 1), commit $rev)"
echo "  build        $build ($(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt" 2>/dev/null))"
echo "  input        $pcap: $(stat -c %s "$pcap") bytes, callgen load, ${truth_calls:-?} calls," \
    "${truth_max:-?} concurrent (truth max_concurrent)"
echo "  page cache   $resident% of the input resident before the rounds (fincore);" \
    "re-read before each run"
echo "  spool        $spool_base ($(fs_type "$spool_base"), $(($(fs_avail "$spool_base") / 1000000)) MB free)"
echo "  machine      $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-5s %10s %9s %6s %5s   %10s %9s %6s %5s   %6s %6s  %8s\n' round "bare pps" "bare MB/s" \
    "wall s" "cpu s" "capt pps" "capt MB/s" "wall s" "cpu s" ratio "cpu r." "capt RSS"

# ---- rounds ----------------------------------------------------------------
# Each round: bare loop, then capture, each right after a re-read of the file.
# ratio = bare wall / capture wall (= capture pps / bare pps, same packets);
# "cpu r." is the same with user+system CPU seconds, a cross-check that is
# less sensitive to other processes taking the CPU during one of the two runs.
b_pps=() b_mbs=() c_pps=() c_mbs=() ratios=() cpu_ratios=() max_rss=0 big_active=0 packets=""
for ((r = 1; r <= rounds; r++)); do
    preread "$pcap"
    out=$(timed "$bare" "$pcap"; echo "rc=$rc wall=$wall cpu=$(calc '%.2f' "$usr + $sys")")
    [[ $out =~ rc=0 ]] || die 1 "bench_bare_read failed: $out"
    bw=$(sed -n 's/.* wall=\([0-9.]*\).*/\1/p' <<<"$out")
    bcpu=$(sed -n 's/.* cpu=\([0-9.]*\).*/\1/p' <<<"$out")
    bp=$(sed -n 's/^packets=\([0-9]*\) .*/\1/p' <<<"$out")
    bb=$(sed -n 's/.* bytes=\([0-9]*\) .*/\1/p' <<<"$out")

    preread "$pcap"
    spool=$spool_base/r$r
    run_capture "$pcap" "$spool" "$work/capture-$r.json" "$work/capture-$r.log"
    ccpu=$(calc '%.2f' "$usr + $sys")
    cp=$(json_num "$work/capture-$r.json" frames)
    cb=$(json_num "$work/capture-$r.json" bytes)
    act=$(json_num "$work/capture-$r.json" calls_active_max)
    [[ $cp == "$bp" ]] || die 1 "capture saw $cp frames, the bare loop $bp"
    rm -rf "$spool"

    packets=$bp
    b_pps+=("$(calc '%.0f' "$bp / $bw")") b_mbs+=("$(calc '%.1f' "$bb / 1e6 / $bw")")
    c_pps+=("$(calc '%.0f' "$cp / $wall")") c_mbs+=("$(calc '%.1f' "$cb / 1e6 / $wall")")
    ratios+=("$(calc '%.4f' "$bw / $wall")")
    cpu_ratios+=("$(calc '%.4f' "($ccpu > 0) ? $bcpu / $ccpu : 0")")
    ((rss > max_rss)) && max_rss=$rss
    ((${act:-0} > big_active)) && big_active=$act
    printf '%-5s %10s %9s %6.2f %5.2f   %10s %9s %6.2f %5.2f   %6.3f %6.3f  %5s KB\n' "$r" \
        "${b_pps[-1]}" "${b_mbs[-1]}" "$bw" "$bcpu" "${c_pps[-1]}" "${c_mbs[-1]}" "$wall" \
        "$ccpu" "${ratios[-1]}" "${cpu_ratios[-1]}" "$rss"
done

# ---- summary ---------------------------------------------------------------
ratio=$(median "${ratios[@]}")
active_src="callscope-capture --json-stats calls_active_max"
if ((big_active == 0)); then
    big_active=${truth_max:-$concurrent} active_src="callgen truth max_concurrent"
    tiny_active=$TINY_CONCURRENT
fi
calls_delta=$((big_active - ${tiny_active:-0}))
((calls_delta > 0)) || die 1 "no active calls seen (calls_active_max $big_active)"
per_call=$(calc '%.1f' "($max_rss - $tiny_rss) / $calls_delta")
ok_ratio=$(awk -v r="$ratio" -v t="$TARGET_RATIO" 'BEGIN { print((r >= t) ? "met" : "NOT MET") }')
ok_mem=$(awk -v m="$per_call" -v t="$TARGET_KB_PER_CALL" 'BEGIN { print((m <= t) ? "met" : "NOT MET") }')

echo
echo "medians of $rounds rounds over $packets packets (MB = 10^6 bytes of packet data, wall clock):"
printf '  bare libpcap read     %10.0f packets/s  %7.1f MB/s\n' "$(median "${b_pps[@]}")" \
    "$(median "${b_mbs[@]}")"
printf '  callscope-capture -r  %10.0f packets/s  %7.1f MB/s\n' "$(median "${c_pps[@]}")" \
    "$(median "${c_mbs[@]}")"
printf '  ratio capture/bare    %10.3f  (median of the per-round ratios; target >= %s: %s)\n' \
    "$ratio" "$TARGET_RATIO" "$ok_ratio"
printf '  same by CPU time      %10.3f  (user+system seconds; cross-check, not the result)\n' \
    "$(median "${cpu_ratios[@]}")"
printf '  peak RSS              %10s KB over %s active calls; tiny run %s KB over %s calls\n' \
    "$max_rss" "$big_active" "$tiny_rss" "${tiny_active:-0}"
printf '  active calls from     %s' "$active_src"
[[ -n $truth_max ]] && printf ' (callgen truth max_concurrent: %s)' "$truth_max"
echo
printf '  memory per call       %10s KB  ((peak RSS - tiny RSS) / (active - tiny active);' "$per_call"
printf ' target <= %s KB: %s)\n' "$TARGET_KB_PER_CALL" "$ok_mem"
echo "RESULT capture_vs_bare $(calc '%.2f' "$ratio")"

if ((fail_on_miss)) && [[ $ok_ratio != met || $ok_mem != met ]]; then
    exit 3
fi
exit 0
