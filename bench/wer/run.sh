#!/usr/bin/env bash
# run.sh — accuracy benchmark of the transcribe stage: word error rate of
# callscope-transcribe against plain pocketsphinx_continuous on the same
# telephone-codec audio, measured in the same run.
#
# Speech set: every file of ../shared/data/speech listed in its
# TRANSCRIPTS.tsv (LibriVox, Harvard sentences, digits, ...), plus the clips
# of Debian's pocketsphinx-testdata that have transcripts (librivox/*.wav with
# librivox/transcription, cards/*.wav with cards/cards.transcription); a clip
# whose audio (16-bit samples, sha256) is already in the set is kept once.
# Without ../shared the set is the testdata clips alone (said on stderr).
#
# Conditions: every clip through one codec with bench_codecpass (callgen's
# encoder, the decode stage's decoder: what a call's archive holds):
#   g711u (PCMU), g711a (PCMA), g729 at 8 kHz; g722, opus at 16 kHz.
# Per condition, on the same codec-passed files:
#   plain     pocketsphinx_continuous with Debian's defaults (en-us model,
#             en-us.lm.bin, cmudict-en-us.dict). 16 kHz: -infile x.wav. 8 kHz:
#             both obvious ways, "up16" (sox x.wav -r 16000 y.wav, then
#             -infile y.wav; run as sox -R so its dither is the same in every
#             run) and "8k" (-infile x.wav -samprate 8000 -nfft 256); the one
#             with the lower WER is the baseline, both are printed.
#   callscope callscope-transcribe --file A.wav --file B.wav ... --format tsv
#             --frontend SPEC; SPEC plain, fold, floor, floor,norm and default
#             on 8 kHz conditions (or those given with --frontend), default on
#             16 kHz ones. Its stderr ends with
#             "rtf <cpu_seconds> <audio_seconds>" (decoder CPU, model load
#             excluded).
# Scoring: bench_wer (transcribe/wer.h: Levenshtein over normalised words;
# corpus WER = sum of errors / sum of reference words). A file with no output
# counts as all words deleted.
#
# Prints per condition: words, plain WER (and variant), callscope WER per
# front end, relative improvement (plain - callscope) / plain with the
# default front end, real-time factor (callscope CPU seconds per audio
# second). Targets: callscope never worse than plain; >= 0.20 relative better
# on G.711 (g711u); RTF <= 0.25. Last line:
#   RESULT wer_g711_rel_improvement <fraction>      (g711u, default front end)
# Not a ctest test. See docs/benchmarks.md ("bench/wer") and docs/wer.md.
#
# Usage: bench/wer/run.sh [OPTION]...
#   -B, --build-dir DIR   build directory with the binaries (default: build/test)
#       --speech-dir DIR  the shared speech set (default: ../shared/data/speech
#                         beside the repository)
#       --testdata DIR    pocketsphinx-testdata (default
#                         /usr/share/pocketsphinx/test/data)
#       --conditions LIST comma-separated subset of g711u,g711a,g729,g722,opus
#       --limit N         only the first N clips of the set (a quick look)
#       --baseline-only   plain pocketsphinx only (no callscope-transcribe
#                         needed); no RESULT line
#       --frontend SPEC   callscope front end to measure on 8 kHz conditions
#                         (repeatable; replaces plain, fold, floor, floor,norm;
#                         default is always measured)
#   -j, --jobs N          plain pocketsphinx runs in parallel (default 1)
#       --work-dir DIR    parent of the work directory (default /dev/shm)
#   -k, --keep            keep the work directory (audio, hypotheses, logs)
#   -v, --verbose         print bench_wer's per-utterance lines for each run
#       --no-build        use the binaries as they are in the build directory
#       --fail-on-miss    exit 3 when a target is missed
#   -h, --help            this help
# Exit: 0 measured (targets met or not), 1 a program failed, 2 usage,
# 3 a target missed (--fail-on-miss), 4 environment (tool, model, build,
# callscope-transcribe missing).
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
me=bench/wer/run.sh

build=$root/build/test
speech_dir=$root/../shared/data/speech
testdata=/usr/share/pocketsphinx/test/data
conditions=g711u,g711a,g729,g722,opus
limit=0 baseline_only=0 jobs=1 work_parent=/dev/shm
keep=0 verbose=0 do_build=1 fail_on_miss=0
fe_list=()

TARGET_REL=0.20
TARGET_RTF=0.25
MODEL=/usr/share/pocketsphinx/model/en-us
FRONTENDS_8K=(plain fold floor "floor,norm" default)
FRONTENDS_16K=(default)

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
    --speech-dir) need_arg "$@"; speech_dir=$2; shift 2 ;;
    --testdata) need_arg "$@"; testdata=$2; shift 2 ;;
    --conditions) need_arg "$@"; conditions=$2; shift 2 ;;
    --limit) need_arg "$@"; limit=$2; shift 2 ;;
    --baseline-only) baseline_only=1; shift ;;
    --frontend) need_arg "$@"; fe_list+=("$2"); shift 2 ;;
    -j | --jobs) need_arg "$@"; jobs=$2; shift 2 ;;
    --work-dir) need_arg "$@"; work_parent=$2; shift 2 ;;
    -k | --keep) keep=1; shift ;;
    -v | --verbose) verbose=1; shift ;;
    --no-build) do_build=0; shift ;;
    --fail-on-miss) fail_on_miss=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die 2 "unknown option $1 (try --help)" ;;
    esac
done

if ((${#fe_list[@]} > 0)); then # --frontend given: those, and always default
    FRONTENDS_8K=()
    for fe in "${fe_list[@]}"; do
        [[ $fe =~ ^[a-z,]+$ ]] || die 2 "--frontend: not a step list: $fe"
        [[ $fe == default ]] || FRONTENDS_8K+=("$fe")
    done
    FRONTENDS_8K+=(default)
fi
[[ $limit =~ ^[0-9]+$ ]] || die 2 "--limit: not a number: $limit"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die 2 "--jobs: not a positive number: $jobs"
IFS=, read -r -a conds <<<"$conditions"
((${#conds[@]} > 0)) || die 2 "--conditions: empty"
for c in "${conds[@]}"; do
    case "$c" in
    g711u | g711a | g729 | g722 | opus) ;;
    *) die 2 "--conditions: unknown condition $c (g711u, g711a, g729, g722, opus)" ;;
    esac
done
cond_codec() { case "$1" in g711u) echo pcmu ;; g711a) echo pcma ;; *) echo "$1" ;; esac; }
cond_rate() { case "$1" in g711u | g711a | g729) echo 8000 ;; *) echo 16000 ;; esac; }

# ---- tools, model, binaries -------------------------------------------------
for t in cmake awk sed sort sha256sum mktemp pocketsphinx_continuous sox soxi; do
    command -v "$t" >/dev/null || die 4 "$t is missing (apt-get install pocketsphinx sox)"
done
for f in "$MODEL/en-us/mdef" "$MODEL/en-us.lm.bin" "$MODEL/cmudict-en-us.dict"; do
    [[ -r $f ]] || die 4 "missing $f: apt-get install pocketsphinx-en-us"
done
[[ -d $build ]] || die 4 "no build directory $build (cmake -S . -B $build)"
build=$(cd "$build" && pwd)
codecpass=$build/bench/bench_codecpass
wertool=$build/bench/bench_wer
transcribe=$build/transcribe/callscope-transcribe
if ((do_build)); then
    echo "== building bench_codecpass, bench_wer in $build" >&2
    cmake -S "$root" -B "$build" >/dev/null || die 4 "cmake -S $root -B $build failed"
    cmake --build "$build" -j2 --target bench_codecpass bench_wer >&2 ||
        die 4 "build failed (--no-build measures the binaries as they are)"
    if ((!baseline_only)); then
        echo "== building callscope-transcribe" >&2
        cmake --build "$build" -j2 --target callscope-transcribe >&2 ||
            die 4 "callscope-transcribe does not build (bench/wer needs it; --baseline-only" \
                "measures plain pocketsphinx alone)"
    fi
fi
for b in "$codecpass" "$wertool"; do
    [[ -x $b ]] || die 4 "missing $b (build it, or leave out --no-build)"
done
if ((!baseline_only)) && [[ ! -x $transcribe ]]; then
    die 4 "missing $transcribe: the transcribe stage is not built (or not written yet);" \
        "--baseline-only measures plain pocketsphinx alone"
fi
[[ -d $work_parent ]] || die 4 "--work-dir $work_parent: no such directory"

work=$(mktemp -d "$work_parent/callscope-bench-wer.XXXXXX")
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

calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }

# ---- the speech set -------------------------------------------------------
# set.tsv: id <TAB> source path; ref.tsv: id <TAB> transcript
: >"$work/set.tsv"
: >"$work/ref.tsv"
declare -A seen_hash=()
n_shared=0 n_testdata=0 n_dup=0
pcm_hash() { # file -> sha256 of its 16-bit samples
    if [[ $1 == *.raw ]]; then
        sha256sum <"$1" | cut -c1-64
    else
        sox "$1" -t raw -e signed-integer -b 16 - 2>/dev/null | sha256sum | cut -c1-64
    fi
}
add_clip() { # id, path, transcript, origin
    local h
    [[ -r $2 ]] || die 4 "speech file $2 is missing"
    h=$(pcm_hash "$2")
    if [[ -n ${seen_hash[$h]:-} ]]; then
        echo "   $1: same audio as ${seen_hash[$h]}, kept once" >&2
        n_dup=$((n_dup + 1))
        return
    fi
    seen_hash[$h]=$1
    printf '%s\t%s\n' "$1" "$2" >>"$work/set.tsv"
    printf '%s\t%s\n' "$1" "$3" >>"$work/ref.tsv"
    if [[ $4 == shared ]]; then n_shared=$((n_shared + 1)); else n_testdata=$((n_testdata + 1)); fi
}

echo "== speech set" >&2
if [[ -r $speech_dir/TRANSCRIPTS.tsv ]]; then
    # columns: file, sample_rate, channels, duration_s, speaker, transcript
    while IFS=$'\t' read -r file rate chans _dur _spk text; do
        [[ $file == file ]] && continue
        [[ -n $file ]] || continue
        if [[ $rate != 16000 || $chans != 1 ]]; then
            echo "   $file: $rate Hz, $chans channels: skipped (the set is 16 kHz mono)" >&2
            continue
        fi
        add_clip "${file%.*}" "$speech_dir/$file" "$text" shared
    done <"$speech_dir/TRANSCRIPTS.tsv"
else
    echo "$me: note: $speech_dir/TRANSCRIPTS.tsv not found (../shared absent):" \
        "the shared speech set is skipped, only pocketsphinx-testdata is used" >&2
fi
# "<s> words </s> (utterance-id)" lines; the file is DIR/<utterance-id>.wav
testdata_set() { # dir, transcription file, id prefix
    local line uid text
    [[ -r $1/$2 ]] || { echo "$me: note: $1/$2 missing (apt-get install pocketsphinx-testdata)" >&2; return; }
    while IFS= read -r line; do
        [[ $line =~ ^(.*)\(([A-Za-z0-9._-]+)\)[[:space:]]*$ ]] || continue
        text=${BASH_REMATCH[1]} uid=${BASH_REMATCH[2]}
        add_clip "$3-$uid" "$1/$uid.wav" "$text" testdata
    done <"$1/$2"
}
testdata_set "$testdata/librivox" transcription ps-librivox
testdata_set "$testdata/cards" cards.transcription ps-cards

n_all=$(wc -l <"$work/set.tsv")
if ((limit > 0)); then
    head -n "$limit" "$work/set.tsv" >"$work/set.tmp" && mv "$work/set.tmp" "$work/set.tsv"
    head -n "$limit" "$work/ref.tsv" >"$work/ref.tmp" && mv "$work/ref.tmp" "$work/ref.tsv"
fi
n_clips=$(wc -l <"$work/set.tsv")
((n_clips > 0)) || die 4 "no speech: neither $speech_dir nor $testdata has any clip"
audio_s=0
while IFS=$'\t' read -r _id path; do
    if [[ $path == *.raw ]]; then
        d=$(calc '%.6f' "$(stat -c %s "$path") / 32000")
    else
        d=$(soxi -D "$path")
    fi
    audio_s=$(calc '%.6f' "$audio_s + $d")
done <"$work/set.tsv"
ref_words=$("$wertool" -q "$work/ref.tsv" "$work/ref.tsv" | sed -n 's/.* ref_words=\([0-9]*\).*/\1/p')

# ---- helpers ---------------------------------------------------------------
# One plain pocketsphinx_continuous run: input wav, hyp output file, extra args.
# The hypothesis is every line it prints, joined; a failed run leaves an empty
# hypothesis and its first ERROR line in <hyp>.err.
ps_one() {
    local in=$1 out=$2
    shift 2
    if pocketsphinx_continuous -infile "$in" "$@" >"$out.raw" 2>"$out.log"; then
        tr '\n' ' ' <"$out.raw" >"$out"
    else
        : >"$out"
        grep -m1 'ERROR' "$out.log" >"$out.err" || echo "failed (no ERROR line)" >"$out.err"
    fi
    rm -f "$out.raw"
}
# Plain runs over every clip of a condition: condition dir, directory of the
# input wavs, variant name, extra arguments. Writes <dir>/plain-<variant>.tsv.
plain_run() {
    local dir=$1 in=$2 variant=$3
    shift 3
    local hdir=$dir/plain-$variant id running=0
    mkdir -p "$hdir"
    while IFS=$'\t' read -r id _; do
        ps_one "$in/$id.wav" "$hdir/$id.hyp" "$@" &
        running=$((running + 1))
        if ((running >= jobs)); then
            wait -n || true
            running=$((running - 1))
        fi
    done <"$work/set.tsv"
    wait
    while IFS=$'\t' read -r id _; do
        printf '%s\t%s\n' "$id" "$(cat "$hdir/$id.hyp")"
    done <"$work/set.tsv" >"$dir/plain-$variant.tsv"
}
# Scores a hypothesis TSV: sets wer (the corpus WER).
score() { # hyp.tsv, label, [--strip-paths]
    local line
    line=$("$wertool" ${3:+"$3"} -q "$work/ref.tsv" "$1" 2>"$1.score.log" | tail -n 1) ||
        die 1 "bench_wer failed on $1: $(head -n 3 "$1.score.log")"
    wer=$(sed -n 's/.* wer=\([0-9.]*\).*/\1/p' <<<"$line")
    if ((verbose)); then
        echo "-- $2"
        "$wertool" ${3:+"$3"} -v "$work/ref.tsv" "$1" 2>/dev/null | sed 's/^/   /'
    fi
}
# callscope's WER of the current $cond with front end $1, or "-"
col() { if [[ -n ${res_cs[$cond,$1]:-} ]]; then printf '%.4f' "${res_cs[$cond,$1]}"; else echo -; fi; }
fe_width() { local w=$((${#1} + 3)); echo $((w < 7 ? 7 : w)); }
rel() { calc '%.4f' "($1 > 0) ? ($1 - $2) / $1 : 0"; }

# ---- header ----------------------------------------------------------------
rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n $(git -C "$root" status --porcelain --untracked-files=no -- transcribe 2>/dev/null) ]] &&
    rev="$rev+dirty"
ps_version=$(dpkg-query -W -f '${Version}' pocketsphinx 2>/dev/null || echo "?")
echo "callscope accuracy benchmark (commit $rev)"
echo "  speech       $n_clips clips, $ref_words reference words, $(calc '%.1f' "$audio_s") s" \
    "($n_shared from $speech_dir, $n_testdata more from $testdata, $n_dup duplicates kept once)"
((n_clips < n_all)) && echo "  limit        the first $n_clips of the $n_all clips (--limit)"
echo "  plain        pocketsphinx_continuous $ps_version, $MODEL defaults"
if ((baseline_only)); then
    echo "  callscope    not run (--baseline-only)"
else
    echo "  callscope    $transcribe"
fi
echo "  machine      $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---- conditions ------------------------------------------------------------
declare -A res_plain=() res_variant=() res_cs=() res_rtf=() res_notes=()
declare -A res_plain_up=() res_plain_8k=() res_cpu=() res_asec=() res_proc=()
for cond in "${conds[@]}"; do
    codec=$(cond_codec "$cond") rate=$(cond_rate "$cond")
    dir=$work/$cond
    mkdir -p "$dir/wav"
    echo "== $cond: $codec at $rate Hz" >&2
    while IFS=$'\t' read -r id path; do
        "$codecpass" --codec "$codec" "$path" "$dir/wav/$id.wav" ||
            die 1 "bench_codecpass --codec $codec $path failed"
    done <"$work/set.tsv"

    # plain pocketsphinx
    if ((rate == 8000)); then
        mkdir -p "$dir/up16"
        while IFS=$'\t' read -r id _; do
            sox -R -q "$dir/wav/$id.wav" -r 16000 "$dir/up16/$id.wav" 2>/dev/null ||
                die 1 "sox $dir/wav/$id.wav -r 16000 failed"
        done <"$work/set.tsv"
        echo "   plain up16: sox -r 16000, pocketsphinx_continuous -infile" >&2
        plain_run "$dir" "$dir/up16" up16
        score "$dir/plain-up16.tsv" "$cond plain up16"
        wer_up=$wer
        echo "   plain 8k: pocketsphinx_continuous -infile -samprate 8000 -nfft 256" >&2
        plain_run "$dir" "$dir/wav" 8k -samprate 8000 -nfft 256
        score "$dir/plain-8k.tsv" "$cond plain 8k"
        wer_8k=$wer
        nfail=$(find "$dir/plain-8k" -name '*.err' | wc -l)
        if ((nfail > 0)); then
            res_notes[$cond]="plain 8k failed on $nfail of $n_clips clips: $(head -n 1 \
                "$(find "$dir/plain-8k" -name '*.err' | sort | head -n 1)")"
        fi
        if awk -v a="$wer_up" -v b="$wer_8k" 'BEGIN { exit !(a <= b) }'; then
            res_plain[$cond]=$wer_up res_variant[$cond]=up16
        else
            res_plain[$cond]=$wer_8k res_variant[$cond]=8k
        fi
        res_plain_up[$cond]=$wer_up
        res_plain_8k[$cond]=$wer_8k
        fronts=("${FRONTENDS_8K[@]}")
    else
        echo "   plain: pocketsphinx_continuous -infile" >&2
        plain_run "$dir" "$dir/wav" 16k
        score "$dir/plain-16k.tsv" "$cond plain"
        res_plain[$cond]=$wer res_variant[$cond]=16k
        fronts=("${FRONTENDS_16K[@]}")
    fi

    # callscope
    ((baseline_only)) && continue
    files=()
    while IFS=$'\t' read -r id _; do files+=(--file "$dir/wav/$id.wav"); done <"$work/set.tsv"
    for fe in "${fronts[@]}"; do
        tag=${fe//,/+}
        echo "   callscope --frontend $fe" >&2
        rc=0
        timer=()
        [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -o "$dir/cs-$tag.time" -f '%U %S')
        "${timer[@]}" "$transcribe" "${files[@]}" --format tsv --frontend "$fe" \
            >"$dir/cs-$tag.tsv" 2>"$dir/cs-$tag.log" || rc=$?
        ((rc == 0)) || {
            tail -n 5 "$dir/cs-$tag.log" >&2
            die 1 "callscope-transcribe --frontend $fe exited with $rc on $cond (log above)"
        }
        score "$dir/cs-$tag.tsv" "$cond callscope $fe" --strip-paths
        res_cs[$cond,$fe]=$wer
        read -r cpu asec < <(awk '$1 == "rtf" { c = $2; a = $3 } END { print c + 0, a + 0 }' \
            "$dir/cs-$tag.log")
        if [[ $fe == default ]]; then
            res_rtf[$cond]=$(calc '%.4f' "($asec > 0) ? $cpu / $asec : -1")
            res_cpu[$cond]=$cpu res_asec[$cond]=$asec res_proc[$cond]=-
            [[ -r $dir/cs-$tag.time ]] &&
                res_proc[$cond]=$(awk 'END { printf "%.2f", $1 + $2 }' "$dir/cs-$tag.time")
        fi
    done
done

# ---- table -----------------------------------------------------------------
echo
echo "WER per condition ($ref_words reference words; corpus WER = errors / reference words):"
if ((baseline_only)); then
    printf '%-6s %6s %6s  %-22s\n' cond rate words "plain WER (variant)"
else
    printf '%-6s %6s %6s  %-15s' cond rate words "plain (variant)"
    for fe in "${FRONTENDS_8K[@]}"; do printf ' %*s' "$(fe_width "$fe")" "cs:$fe"; done
    printf '  %8s  %6s\n' "rel.impr" "RTF"
fi
worse=0 rtf_miss=0 result=""
for cond in "${conds[@]}"; do
    rate=$(cond_rate "$cond")
    pv=$(printf '%.4f (%s)' "${res_plain[$cond]}" "${res_variant[$cond]}")
    if ((baseline_only)); then
        printf '%-6s %6s %6s  %-22s\n' "$cond" "$rate" "$ref_words" "$pv"
    else
        cs=${res_cs[$cond,default]}
        r=$(rel "${res_plain[$cond]}" "$cs")
        printf '%-6s %6s %6s  %-15s' "$cond" "$rate" "$ref_words" "$pv"
        for fe in "${FRONTENDS_8K[@]}"; do printf ' %*s' "$(fe_width "$fe")" "$(col "$fe")"; done
        printf '  %8.3f  %6.3f\n' "$r" "${res_rtf[$cond]}"
        awk -v p="${res_plain[$cond]}" -v c="$cs" 'BEGIN { exit !(c > p) }' && worse=1
        awk -v x="${res_rtf[$cond]}" -v t="$TARGET_RTF" 'BEGIN { exit !(x < 0 || x > t) }' &&
            rtf_miss=1
        [[ $cond == g711u ]] && result=$r
    fi
done
echo
for cond in "${conds[@]}"; do
    if [[ $(cond_rate "$cond") == 8000 ]]; then
        printf '  %-6s plain up16 (sox -R -r 16000) %.4f, plain 8k (-samprate 8000 -nfft 256) %.4f\n' \
            "$cond" "${res_plain_up[$cond]}" "${res_plain_8k[$cond]}"
    fi
    [[ -n ${res_notes[$cond]:-} ]] && echo "  $cond: ${res_notes[$cond]} (counted as no words)"
done
if ((!baseline_only)); then
    for cond in "${conds[@]}"; do
        printf '  %-6s callscope default: %.2f CPU s decoding %.2f s of audio' "$cond" \
            "${res_cpu[$cond]}" "${res_asec[$cond]}"
        printf ' (whole process incl. model load: %s CPU s)\n' "${res_proc[$cond]}"
    done
fi

if ((baseline_only)); then
    echo
    echo "no RESULT line: callscope-transcribe was not run (--baseline-only)"
    exit 0
fi
ok_worse=$([[ $worse == 0 ]] && echo met || echo "NOT MET")
ok_rtf=$([[ $rtf_miss == 0 ]] && echo met || echo "NOT MET")
if [[ -n $result ]]; then
    ok_rel=$(awk -v r="$result" -v t="$TARGET_REL" 'BEGIN { print((r >= t) ? "met" : "NOT MET") }')
else
    ok_rel="not measured (g711u not among --conditions)" result=0
fi
echo
echo "targets: callscope never worse than plain: $ok_worse; g711u relative improvement" \
    ">= $TARGET_REL: $ok_rel; RTF <= $TARGET_RTF: $ok_rtf"
echo "RESULT wer_g711_rel_improvement $(calc '%.4f' "$result")"
if ((fail_on_miss)) && [[ $ok_worse != met || $ok_rel != met || $ok_rtf != met ]]; then
    exit 3
fi
exit 0
