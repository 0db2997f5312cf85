# exceptions.sh — sourced by the tests that compare callscope with an
# independent reference over ../shared's captures (tests/capture/
# test-shared-calls.sh, tests/decode/test-shared-audio.sh). Each keeps an
# exceptions file: one explained difference per line,
#
#   FILE <TAB> KEY-PATTERN (a shell glob) <TAB> REASON
#
# blank lines and lines starting with # ignored. A difference that matches no
# line fails the test; a line that matches no difference is stale and fails it
# too, so the file never hides a fixed bug.
#
# The caller defines fail MESSAGE (count a failure) before sourcing.

EXC_FILE=() EXC_KEY=() EXC_WHY=() EXC_USED=()

# exceptions_load PATH: reads the file; a malformed line is a failure.
exceptions_load() {
    local line ef ek ew lineno=0
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        case $line in '' | '#'*) continue ;; esac
        IFS=$'\t' read -r ef ek ew <<<"$line"
        if [ -z "$ef" ] || [ -z "${ek:-}" ] || [ -z "${ew:-}" ]; then
            fail "$(basename "$1"):$lineno: want FILE<TAB>KEY<TAB>REASON: $line"
            continue
        fi
        EXC_FILE+=("$ef") EXC_KEY+=("$ek") EXC_WHY+=("$ew") EXC_USED+=(0)
    done <"$1"
}

# excepted FILE KEY: true when a line explains it; sets WHY to the reason and
# marks the line used.
excepted() {
    local i
    for i in "${!EXC_FILE[@]}"; do
        # shellcheck disable=SC2053 # the key column is a glob on purpose
        if [ "${EXC_FILE[$i]}" = "$1" ] && [[ $2 == ${EXC_KEY[$i]} ]]; then
            EXC_USED[i]=1
            WHY=${EXC_WHY[$i]}
            return 0
        fi
    done
    return 1
}

# exceptions_stale: fails every line no difference used.
exceptions_stale() {
    local i
    for i in "${!EXC_FILE[@]}"; do
        [ "${EXC_USED[$i]}" -eq 1 ] && continue
        fail "stale exception (no such difference any more, remove it): ${EXC_FILE[$i]}: ${EXC_KEY[$i]}"
    done
}
