#!/usr/bin/env bash
# pgctl.sh — a private PostgreSQL server that callscope runs itself.
#
#   deploy/pgctl.sh start    DIR [--db NAME] [--ephemeral]
#   deploy/pgctl.sh stop     DIR
#   deploy/pgctl.sh status   DIR
#   deploy/pgctl.sh conninfo DIR [--db NAME]
#   deploy/pgctl.sh destroy  DIR            (stop and delete DIR)
#
# DIR holds everything: DIR/data (the cluster), DIR/run (the unix socket),
# DIR/log/postgresql.log. The server listens on the unix socket only
# (listen_addresses=''), never on TCP; the socket directory is mode 0700, which is
# the access control, so authentication inside is "trust" for the role callscope.
# The README's main job uses DIR=var/pg under the project; the test harness uses a
# fresh temporary directory per run (--ephemeral turns off fsync: a test cluster
# is thrown away, so durability buys nothing there).
#
# PostgreSQL refuses to run as root: when started by root, the server runs as the
# unprivileged OS user $CALLSCOPE_PG_OSUSER (default: postgres, created by
# Debian's postgresql package) and DIR is handed to that user; DIR's parent
# directories must be searchable by it.
#
# Exit codes: 0 ok, 2 usage, 4 environment (no server binaries, cannot start).
set -euo pipefail

die() { echo "pgctl: $*" >&2; exit 4; }
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

cmd=${1:-}; dir=${2:-}
[[ -n "$cmd" && -n "$dir" ]] || usage
shift 2
db=callscope; ephemeral=0
while (($#)); do
    case "$1" in
    --db) db=${2:?--db needs a name}; shift 2 ;;
    --ephemeral) ephemeral=1; shift ;;
    *) usage ;;
    esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data run=$dir/run log=$dir/log/postgresql.log
sock="$run/.s.PGSQL.5432"
((${#sock} < 100)) || die "socket path too long for a unix socket (${#sock} bytes): $sock"

bindir=
for b in /usr/lib/postgresql/*/bin; do [[ -x $b/pg_ctl ]] && bindir=$b; done
[[ -n "$bindir" ]] || die "PostgreSQL server binaries not found (apt-get install postgresql-15)"

as_owner() {
    if ((EUID == 0)); then
        runuser -u "${CALLSCOPE_PG_OSUSER:-postgres}" -- "$@"
    else
        "$@"
    fi
}

conninfo() { echo "host=$run dbname=$1 user=callscope"; }

running() { [[ -f $data/postmaster.pid ]] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }

case "$cmd" in
start)
    if ((EUID == 0)); then
        osuser=${CALLSCOPE_PG_OSUSER:-postgres}
        id "$osuser" >/dev/null 2>&1 || die "OS user '$osuser' missing (install postgresql-15 or set CALLSCOPE_PG_OSUSER)"
        chown "$osuser" "$dir"
        runuser -u "$osuser" -- test -w "$dir" ||
            die "$dir is not reachable by OS user '$osuser' (a parent directory is not searchable)"
    fi
    chmod 0700 "$dir"
    if [[ ! -f $data/PG_VERSION ]]; then
        as_owner mkdir -p "$run" "$dir/log"
        as_owner "$bindir/initdb" -D "$data" -U callscope --auth=trust -E UTF8 --locale=C.UTF-8 \
            >"$dir/log/initdb.log" 2>&1 || die "initdb failed, see $dir/log/initdb.log"
        {
            echo "listen_addresses = ''"
            echo "unix_socket_directories = '$run'"
            echo "unix_socket_permissions = 0700"
            echo "max_connections = 100"
            echo "shared_buffers = 128MB"
            if ((ephemeral)); then
                echo "fsync = off"
                echo "synchronous_commit = off"
                echo "full_page_writes = off"
            fi
        } | as_owner tee -a "$data/postgresql.conf" >/dev/null
    fi
    if ! running; then
        as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null ||
            die "server did not start, see $log"
    fi
    if ! "$bindir/psql" "$(conninfo postgres)" -tAXq -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
        "$bindir/psql" "$(conninfo postgres)" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" ||
            die "cannot create database $db"
    fi
    conninfo "$db"
    ;;
stop)
    if running; then
        as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null || die "stop failed"
    fi
    ;;
status)
    if running; then echo "running: $(conninfo "$db")"; else echo "stopped"; exit 3; fi
    ;;
conninfo)
    conninfo "$db"
    ;;
destroy)
    if running; then as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null || true; fi
    rm -rf "$dir"
    ;;
*) usage ;;
esac
