#!/usr/bin/env bash
# test-cli-db.sh CALLSCOPE — end-to-end test of `callscope db migrate|status`
# against the test PostgreSQL (conninfo file in $CALLSCOPE_TEST_PG): a fresh
# database is all pending; migrate applies everything and exits 0; a second
# migrate is a no-op; status in every format agrees; an edited migration is
# refused; an unreachable database exits 4; a bad option exits 2.
set -euo pipefail
cs=${1:?path to callscope}
[[ -r ${CALLSCOPE_TEST_PG:-} ]] || { echo "SKIP: no test PostgreSQL (CALLSCOPE_TEST_PG)"; exit 77; }
admin=$(head -1 "$CALLSCOPE_TEST_PG")
db=cs_cli_$$
psql "$admin" -Xqc "CREATE DATABASE $db"
trap 'psql "$admin" -Xqc "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
ci=${admin/dbname=postgres/dbname=$db}
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$cs" -q --db "$ci" db status)
grep -Eq '^1 +init +pending' <<<"$out" || fail "fresh database should list 001 init as pending: $out"

# every schema/NNN_*.sql is embedded: the first migrate applies them all
nmig=$(find "$(dirname "${BASH_SOURCE[0]}")/../../schema" -maxdepth 1 -name '[0-9][0-9][0-9]_*.sql' | wc -l)
out=$("$cs" -q --db "$ci" db migrate) || fail "migrate exited $?"
grep -Eq "applied $nmig migrations?;" <<<"$out" || fail "first migrate output (want $nmig): $out"
out=$("$cs" -q --db "$ci" db migrate) || fail "second migrate exited $?"
grep -q 'up to date' <<<"$out" || fail "second migrate should be a no-op: $out"
n=$(psql "$ci" -XtAc "SELECT count(*) FROM schema_migrations")
[[ $n == "$nmig" ]] || fail "schema_migrations has $n rows, want $nmig"

json=$("$cs" -q --db "$ci" --format json db status)
[[ $(jq -r '.[0].state' <<<"$json") == applied ]] || fail "json status: $json"
[[ $(jq -r '.[0].checksum_ok' <<<"$json") == true ]] || fail "json checksum: $json"
csv=$("$cs" -q --db "$ci" --format csv db status)
[[ $(sed -n 1p <<<"$csv") == "version,name,state,applied_at,checksum_ok" ]] || fail "csv header: $csv"
grep -q '^1,init,applied,.*,true$' <<<"$csv" || fail "csv row: $csv"

# A released migration edited behind our back is refused, and nothing changes.
psql "$ci" -Xqc "UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 1"
set +e
out=$("$cs" -q --db "$ci" db migrate 2>&1); rc=$?
set -e
[[ $rc == 1 ]] || fail "edited migration: exit $rc, want 1 ($out)"
grep -q 'migration 1' <<<"$out" || fail "edited migration message should name version 1: $out"
grep -q 'EDITED' <<<"$("$cs" -q --db "$ci" db status)" || fail "status should flag the edited migration"

set +e
"$cs" -q --set db.connect_tries=1 --db "host=/nonexistent-cs dbname=x" db status >/dev/null 2>&1; rc=$?
"$cs" --no-such-option >/dev/null 2>&1; rc2=$?
"$cs" db frobnicate >/dev/null 2>&1; rc3=$?
set -e
[[ $rc == 4 ]] || fail "unreachable database: exit $rc, want 4"
[[ $rc2 == 2 ]] || fail "bad option: exit $rc2, want 2"
[[ $rc3 == 2 ]] || fail "bad subcommand: exit $rc3, want 2"
echo "PASS: callscope db migrate/status"
