#!/usr/bin/env bash
# test.sh — the README's test command: install what is missing, build, and run
# the whole test suite through CTest (unit, integration against a real
# PostgreSQL started by the harness, end-to-end), three times over:
#
#   1. a normal build with -Werror                      (build/test)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer    (build/asan)
#   3. clang + libFuzzer targets, each run briefly on its seeds (build/fuzz)
#
# Options: --quick (only 1), --no-sanitize, --no-fuzz, -j N (parallel jobs,
# default: number of cores). Extra arguments after -- go to every ctest call
# (e.g. -- -R spool). Exit code: 0 all passed, 1 a test failed, 4 set-up failed.
# The last line is the total over all runs: "tests: N passed, N failed, N skipped".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

jobs=$(nproc 2>/dev/null || echo 2)
sanitize=1 fuzz=1 ctest_extra=()
while (($#)); do
    case "$1" in
    --quick) sanitize=0; fuzz=0; shift ;;
    --no-sanitize) sanitize=0; shift ;;
    --no-fuzz) fuzz=0; shift ;;
    -j) jobs=${2:?-j needs a number}; shift 2 ;;
    --) shift; ctest_extra=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

deploy/install-deps.sh || exit 4

passed=0 failed=0 skipped=0 rc=0
run_suite() { # name, build target ("all" or one), cmake options...
    local name=$1 target=$2; shift 2
    local dir=build/$name
    echo "== $name: configure and build ($dir)" >&2
    if ! cmake -S . -B "$dir" -DCALLSCOPE_WERROR=ON "$@" >"$dir.configure.log" 2>&1; then
        cat "$dir.configure.log" >&2; echo "test.sh: configure failed ($name)" >&2; exit 4
    fi
    cmake --build "$dir" -j "$jobs" --target "$target" || { echo "test.sh: build failed ($name)" >&2; exit 4; }
    echo "== $name: ctest" >&2
    (cd "$dir" && ctest -j "$jobs" --output-on-failure --output-junit junit.xml "${ctest_extra[@]}") || rc=1
    local line
    # the <testsuite ...> tag spans several lines, attributes tab-separated: flatten it
    line=$(tr '\n\t' '  ' <"$dir/junit.xml" 2>/dev/null | grep -m1 -o '<testsuite [^>]*>' || true)
    local t f s
    t=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$line")
    f=$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$line")
    s=$(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$line")
    t=${t:-0} f=${f:-0} s=${s:-0}
    passed=$((passed + t - f - s)) failed=$((failed + f)) skipped=$((skipped + s))
    echo "== $name: $((t - f - s)) passed, $f failed, $s skipped" >&2
}

mkdir -p build
run_suite test all -DCMAKE_BUILD_TYPE=RelWithDebInfo
if ((sanitize)); then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        run_suite asan all -DCMAKE_BUILD_TYPE=Debug -DCALLSCOPE_SANITIZE=ON
fi
if ((fuzz)); then
    ctest_extra_saved=("${ctest_extra[@]}")
    ctest_extra=(-L fuzz "${ctest_extra_saved[@]}")
    run_suite fuzz fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCALLSCOPE_FUZZ=ON -DBUILD_TESTING=ON
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
