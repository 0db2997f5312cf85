#!/usr/bin/env bash
# pg-fixture.sh — the CTest fixture that gives the integration tests a real
# PostgreSQL server for one run, in a private temporary directory.
#
#   pg-fixture.sh start FILE   start a server (or join the running one), write
#                              its conninfo (line 1) and its directory (line 2)
#                              to FILE
#   pg-fixture.sh stop FILE    leave it; the last user stops the server and
#                              deletes its directory
#
# Tests read line 1 of FILE (environment CALLSCOPE_TEST_PG) and create their own
# database on the server, so tests can run in parallel.
#
# Several ctest runs in one build directory share FILE, so the server is
# shared too: FILE.users lists the ctest processes (the fixture's parent)
# using it. start adds its ctest, stop removes it, and both drop ctest
# processes that no longer exist (a run killed before its stop fixture); the
# server is stopped when no live user is left. FILE.lock serialises them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pgctl=$here/../../deploy/pgctl.sh
cmd=${1:?start|stop}; file=${2:?conninfo file}
users=$file.users
me=$PPID # the ctest process that runs this fixture

mkdir -p "$(dirname "$file")"
exec 9>"$file.lock"
flock 9

stop_old() {
    if [[ -f $file ]]; then
        old=$(sed -n 2p "$file")
        [[ -n "$old" && -d "$old" ]] && "$pgctl" destroy "$old" 9>&- || true
        rm -f "$file"
    fi
    rm -f "$users"
}

# Rewrites FILE.users without dead processes and without $1 (may be empty).
prune() {
    local drop=$1 pid
    [[ -f $users ]] || return 0
    local keep=()
    while read -r pid; do
        [[ -n $pid && $pid != "$drop" ]] && kill -0 "$pid" 2>/dev/null && keep+=("$pid")
    done <"$users"
    if ((${#keep[@]})); then printf '%s\n' "${keep[@]}" >"$users"; else : >"$users"; fi
}

alive() {
    [[ -f $file ]] || return 1
    psql "$(sed -n 1p "$file")" -XqAtc 'SELECT 1' >/dev/null 2>&1 9>&-
}

case "$cmd" in
start)
    prune ""
    if [[ -s $users ]] && alive; then
        echo "$me" >>"$users"
        echo "test PostgreSQL (shared with $(($(wc -l <"$users") - 1)) other run(s)): $(sed -n 1p "$file")"
        exit 0
    fi
    stop_old
    dir=$(mktemp -d "${TMPDIR:-/tmp}/cs-pg.XXXXXX")
    # 9>&-: the server must not inherit the lock (it would hold it for life)
    info=$("$pgctl" start "$dir" --db postgres --ephemeral 9>&-)
    printf '%s\n%s\n' "$info" "$dir" >"$file"
    echo "$me" >"$users"
    echo "test PostgreSQL: $info"
    ;;
stop)
    prune "$me"
    if [[ -s $users ]]; then
        echo "test PostgreSQL left running for $(wc -l <"$users") other run(s)"
        exit 0
    fi
    stop_old
    ;;
*) echo "usage: $0 start|stop FILE" >&2; exit 2 ;;
esac
