#!/usr/bin/env bash
# pg-fixture.sh — the CTest fixture that gives the integration tests a real
# PostgreSQL server for one run, in a private temporary directory.
#
#   pg-fixture.sh start FILE   start a server, write its conninfo (line 1) and
#                              its directory (line 2) to FILE
#   pg-fixture.sh stop FILE    stop that server and delete its directory
#
# Tests read line 1 of FILE (environment CALLSCOPE_TEST_PG) and create their own
# database on the server, so tests can run in parallel.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pgctl=$here/../../deploy/pgctl.sh
cmd=${1:?start|stop}; file=${2:?conninfo file}

stop_old() {
    if [[ -f $file ]]; then
        old=$(sed -n 2p "$file")
        [[ -n "$old" && -d "$old" ]] && "$pgctl" destroy "$old" || true
        rm -f "$file"
    fi
}

case "$cmd" in
start)
    stop_old
    mkdir -p "$(dirname "$file")"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/cs-pg.XXXXXX")
    info=$("$pgctl" start "$dir" --db postgres --ephemeral)
    printf '%s\n%s\n' "$info" "$dir" >"$file"
    echo "test PostgreSQL: $info"
    ;;
stop)
    stop_old
    ;;
*) echo "usage: $0 start|stop FILE" >&2; exit 2 ;;
esac
