#!/usr/bin/env bash
# test-decode-cli.sh PART DECODE CAPTURE CALLGEN CALLSCOPE
#
# callscope-decode end to end, against a real PostgreSQL and real callgen
# captures spooled by the real callscope-capture. PART is one of:
#
#   e2e       callgen (every scenario) -> capture -> decode --once: one FLAC per
#             call under archive/YYYY/MM/DD whose sha256 is the row's, one
#             calls/recordings row and one queued transcribe job per call,
#             talk segments, spool empty, `callscope verify` exit 0; then the
#             same capture spooled again and decoded again (-j 2): the same rows
#             (seq, sha256, chain hash), the same files (inode and mtime: never
#             rewritten), "already_archived" = every call. Exit codes 2/3/4
#             (4: unreachable database, database without the schema).
#             Last, archive.format=opus + archive.keep_pcap on 5 more calls:
#             Ogg Opus files and pcaps beside them, rows "opus", verify exit 0.
#   crash     60 calls (then 20 more); callscope-decode -j 2 (daemon) SIGKILLed with its whole
#             process group at random points 6 times, restarted each time;
#             one worker SIGKILLed alone (the parent exits 70); SIGTERM (exit 0,
#             nothing left in active/); finally --once: every call archived exactly once (rows, distinct
#             paths, files), each file's sha256 the row's, the chain valid
#             (callscope verify), no spool entry left, nothing failed.
#   outage    a private PostgreSQL (deploy/pgctl.sh): the daemon stores a first
#             batch; the server is stopped; a second batch arrives and stays in
#             the spool (nothing failed, the daemon alive); --once meanwhile
#             exits 4 and leaves the entries; the server comes back and the
#             daemon stores everything; SIGTERM exits 0.
#   badinput  the sample's calls plus a call.json that is not JSON, one without
#             "legs", a call.pcap cut in half and one cut inside its file
#             header: exit 1, each bad entry in failed/ with a reason naming
#             the problem, every good call archived and stored; a call whose
#             stream's payload type does not match its SDP is stored with that
#             stream unsupported_codec "payload type 111 never negotiated".
#             Before that, an archive that cannot be written (a file where
#             2024/ goes): exit 4, no good entry in failed/, none left claimed.
#
# Needs jq, psql, sha256sum. The test PostgreSQL's conninfo file is
# $CALLSCOPE_TEST_PG (the ctest fixture); skips (77) without it.
set -uo pipefail
PART=${1:?part}
DEC=${2:?decode}
CAP=${3:?capture}
GEN=${4:?callgen}
CS=${5:?callscope}
SRC=${CALLSCOPE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

for tool in jq psql sha256sum setsid; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

T=$(mktemp -d /tmp/cs-decode-$PART.XXXXXX)
chmod 755 "$T"
DAEMON=
DB=
ADMIN=
PRIVPG=
cleanup() {
    [[ -n $DAEMON ]] && kill -KILL -- "-$DAEMON" 2>/dev/null
    [[ -n $DB && -n $ADMIN ]] && psql "$ADMIN" -Xqc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null
    [[ -n $PRIVPG ]] && "$SRC/deploy/pgctl.sh" destroy "$PRIVPG" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
fail() {
    echo "FAIL [$PART]: $*" >&2
    for f in "$T"/*.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
    exit 1
}
: >"$T/empty.conf"
export CALLSCOPE_CONFIG=$T/empty.conf
mkdir -p "$T/archive" "$T/spool"

# A fresh database on the harness's server, migrated.
fresh_db() {
    [[ -r ${CALLSCOPE_TEST_PG:-} ]] || { echo "SKIP: no test PostgreSQL (CALLSCOPE_TEST_PG)"; exit 77; }
    ADMIN=$(head -1 "$CALLSCOPE_TEST_PG")
    DB=cs_decode_${PART}_$$
    psql "$ADMIN" -Xqc "CREATE DATABASE $DB" || fail "CREATE DATABASE"
    CI=${ADMIN/dbname=postgres/dbname=$DB}
    "$CS" -q --db "$CI" db migrate >/dev/null || fail "migrate"
}
q() { psql "$CI" -XtAc "$1"; }
spool() { CALLSCOPE_CONFIG=$T/empty.conf "$CAP" -q --spool "$T/spool" "$@" || fail "capture $*"; }
decode() { "$DEC" --spool "$T/spool" --archive "$T/archive" --db "$CI" "$@"; }
count_dir() { find "$T/spool/$1" -mindepth 1 -maxdepth 1 | wc -l; }
flac_files() { find "$T/archive" -type f -name '*.flac' | wc -l; }

# Every recordings row's file exists and hashes to the row's sha256.
check_files_match_rows() {
    local n=0 path sha
    while IFS='|' read -r path sha; do
        [[ -f $T/archive/$path ]] || fail "row path $path has no file"
        [[ $(sha256sum <"$T/archive/$path" | cut -d' ' -f1) == "$sha" ]] || fail "$path: sha256 differs from the row"
        n=$((n + 1))
    done < <(q "SELECT path, encode(sha256, 'hex') FROM recordings")
    echo "$n"
}

# Every call archived exactly once; chain valid; spool empty. $1 = calls
# expected, $2 = entries expected in failed/ (default 0).
check_exactly_once() {
    local want=$1 nfailed=${2:-0}
    [[ $(q "SELECT count(*) FROM calls") == "$want" ]] || fail "calls: $(q "SELECT count(*) FROM calls"), want $want"
    [[ $(q "SELECT count(*) FROM recordings") == "$want" ]] || fail "recordings: $(q "SELECT count(*) FROM recordings"), want $want"
    [[ $(q "SELECT count(DISTINCT call_uuid) FROM recordings") == "$want" ]] || fail "a call has two recordings"
    [[ $(flac_files) == "$want" ]] || fail "archive holds $(flac_files) FLAC files, want $want"
    [[ $(check_files_match_rows) == "$want" ]] || fail "files vs rows"
    [[ $(q "SELECT count(*) FROM jobs WHERE kind = 'transcribe'") == "$want" ]] || fail "transcribe jobs: $(q "SELECT count(*) FROM jobs WHERE kind = 'transcribe'")"
    # seq continuity and every chain hash set
    [[ $(q "SELECT count(*) FROM recordings WHERE chain_hash IS NULL") == 0 ]] || fail "a chain hash is NULL"
    [[ $(q "SELECT max(seq) - min(seq) + 1 FROM recordings") == "$want" ]] || fail "seq has a gap"
    ! grep -l "AddressSanitizer\|runtime error:\|LeakSanitizer" "$T"/*.log 2>/dev/null || fail "sanitizer report in a log"
    "$CS" -q --db "$CI" verify --archive "$T/archive" >"$T/verify.out" 2>&1 || { cat "$T/verify.out" >&2; fail "callscope verify exit $?"; }
    for d in ready active; do
        [[ $(count_dir $d) == 0 ]] || fail "spool/$d holds $(count_dir $d) entries: $(ls "$T/spool/$d")"
    done
    [[ $(count_dir failed) == "$nfailed" ]] || fail "spool/failed holds $(count_dir failed) entries, want $nfailed"
    [[ $(find "$T/spool/tmp" -mindepth 1 | wc -l) == 0 ]] || fail "spool/tmp not empty: $(ls -a "$T/spool/tmp")"
}

wait_for() { # wait_for SECONDS CMD...: polls CMD every 0.2 s
    local limit=$(($1 * 5)) i=0
    shift
    until "$@"; do
        i=$((i + 1))
        ((i > limit)) && return 1
        sleep 0.2
    done
}

case "$PART" in
e2e)
    fresh_db
    "$GEN" --seed 11 --scenario all -o "$T/all.pcap" --truth "$T/all.truth.json" >/dev/null || fail callgen
    spool "$T/all.pcap"
    n=$(count_dir ready)
    ((n >= 19)) || fail "capture spooled $n calls"
    decode -q --once --json-stats "$T/s1.json" 2>"$T/d1.log"
    rc=$?
    [[ $rc == 0 ]] || fail "first --once exit $rc"
    [[ $(jq .done "$T/s1.json") == "$n" && $(jq .archived "$T/s1.json") == "$n" && $(jq .failed "$T/s1.json") == 0 ]] ||
        fail "counters: $(cat "$T/s1.json")"
    check_exactly_once "$n"
    # Path layout: YYYY/MM/DD/<uuid>.flac with the UTC date of the INVITE.
    bad=$(q "SELECT count(*) FROM recordings r JOIN calls c ON c.uuid = r.call_uuid
             WHERE r.path <> to_char(c.invite_at AT TIME ZONE 'UTC', 'YYYY/MM/DD') || '/' || c.uuid || '.flac'
                OR r.format <> 'flac' OR r.channels <> 2 OR r.sample_rate NOT IN (8000, 16000)")
    [[ $bad == 0 ]] || fail "$bad recordings not at YYYY/MM/DD/<uuid>.flac"
    segs=$(q "SELECT count(*) FROM talk_segments")
    ((segs > n)) || fail "only $segs talk segments for $n calls"
    ok=$(q "SELECT count(*) FROM rtp_streams WHERE decode_status = 'ok'")
    ((ok >= n)) || fail "only $ok streams decoded ok"
    # Duration of each recording = the call's (within 40 ms).
    bad=$(q "SELECT count(*) FROM recordings r JOIN calls c ON c.uuid = r.call_uuid
             WHERE abs(r.duration_ms - extract(epoch FROM (c.ended_at - c.invite_at)) * 1000) > 40")
    [[ $bad == 0 ]] || fail "$bad recordings do not last as long as their call"

    snap() {
        q "SELECT c.uuid, r.seq, encode(r.sha256, 'hex'), encode(r.chain_hash, 'hex'), r.path, r.bytes
           FROM recordings r JOIN calls c ON c.uuid = r.call_uuid ORDER BY r.seq"
        q "SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM legs), (SELECT count(*) FROM sip_events),
                  (SELECT count(*) FROM rtp_streams), (SELECT count(*) FROM dtmf_events),
                  (SELECT count(*) FROM talk_segments), (SELECT count(*) FROM jobs)"
        find "$T/archive" -type f -printf '%P %i %T@ %s\n' | sort
    }
    snap >"$T/snap1"
    # Idempotence: the same capture again, decoded again by two workers.
    spool "$T/all.pcap"
    [[ $(count_dir ready) == "$n" ]] || fail "second capture spooled $(count_dir ready)"
    decode -q --once -j 2 --json-stats "$T/s2.json" 2>"$T/d2.log"
    rc=$?
    [[ $rc == 0 ]] || fail "second --once exit $rc"
    [[ $(jq .done "$T/s2.json") == "$n" && $(jq .already_archived "$T/s2.json") == "$n" && $(jq .archived "$T/s2.json") == 0 ]] ||
        fail "second run counters: $(cat "$T/s2.json")"
    snap >"$T/snap2"
    diff "$T/snap1" "$T/snap2" >&2 || fail "a second decode of the same calls changed rows or files"
    check_exactly_once "$n"

    # Exit codes: bad option 2, bad value 3, unreachable database 4 (entries kept).
    "$DEC" --no-such-option >/dev/null 2>&1
    [[ $? == 2 ]] || fail "bad option: want exit 2"
    "$DEC" --set archive.format=mp3 --once >/dev/null 2>&1
    [[ $? == 3 ]] || fail "archive.format=mp3: want exit 3"
    spool "$T/all.pcap"
    "$DEC" -q --once --spool "$T/spool" --archive "$T/archive" --set db.connect_tries=1 \
        --db "host=$T/nowhere dbname=x" 2>/dev/null
    rc=$?
    [[ $rc == 4 ]] || fail "unreachable database: exit $rc, want 4"
    [[ $(count_dir ready) == "$n" ]] || fail "unreachable database: $(count_dir ready) of $n entries left in ready/"
    # A database without the schema: exit 4, told to migrate, entries kept.
    psql "$ADMIN" -Xqc "CREATE DATABASE ${DB}_empty" || fail "CREATE DATABASE"
    "$DEC" --once --spool "$T/spool" --archive "$T/archive" --db "${ADMIN/dbname=postgres/dbname=${DB}_empty}" \
        2>"$T/empty.log"
    rc=$?
    psql "$ADMIN" -Xqc "DROP DATABASE ${DB}_empty"
    [[ $rc == 4 ]] || fail "database without schema: exit $rc, want 4"
    grep -q "callscope db migrate" "$T/empty.log" || fail "no hint to migrate: $(cat "$T/empty.log")"
    [[ $(count_dir ready) == "$n" ]] || fail "database without schema: entries left ready: $(count_dir ready)"
    # archive.format=opus with archive.keep_pcap: Ogg Opus files and the
    # call's pcap beside each, rows say opus, the whole chain still verifies.
    rm -rf "$T/spool/ready/"*
    "$GEN" --seed 12 --scenario codecs --calls 5 --start 2024-05-01T08:00:00Z -o "$T/codecs.pcap" >/dev/null || fail callgen
    spool "$T/codecs.pcap"
    decode -q --once --set archive.format=opus --set archive.keep_pcap=yes 2>"$T/d3.log"
    rc=$?
    [[ $rc == 0 ]] || fail "opus --once exit $rc"
    nopus=$(find "$T/archive/2024/05" -name '*.opus' | wc -l)
    npcap=$(find "$T/archive/2024/05" -name '*.pcap' | wc -l)
    [[ $nopus == 5 && $npcap == 5 ]] || fail "opus run: $nopus .opus and $npcap .pcap files, want 5 and 5"
    [[ $(q "SELECT count(*) FROM recordings WHERE format = 'opus' AND path LIKE '2024/05/01/%.opus'") == 5 ]] || fail "opus rows"
    head -c 4 "$(find "$T/archive/2024/05" -name '*.opus' | head -1)" | grep -q OggS || fail "an .opus file is not Ogg"
    "$CS" -q --db "$CI" verify --archive "$T/archive" >"$T/verify.out" 2>&1 || { cat "$T/verify.out" >&2; fail "verify after the opus run"; }
    "$DEC" --help | grep -q -- '--once' || fail "--help lacks --once"
    echo "PASS: decode e2e: $n calls archived and stored once, idempotent on a second run, exit codes, 5 more as Ogg Opus + pcap"
    ;;

crash)
    fresh_db
    N=60
    "$GEN" --seed 5 --scenario direct --calls $N -o "$T/direct.pcap" >/dev/null || fail callgen
    spool "$T/direct.pcap"
    [[ $(count_dir ready) == "$N" ]] || fail "capture spooled $(count_dir ready), want $N"
    kills=0
    for round in 1 2 3 4 5 6; do
        setsid "$DEC" -j 2 --set decode.scan_interval=50ms --spool "$T/spool" --archive "$T/archive" \
            --db "$CI" >>"$T/daemon.log" 2>&1 &
        DAEMON=$!
        # 100 .. 1090 ms into the run: start-up, claims, renders, writes, commits
        sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
        sleep 0.1
        kill -KILL -- "-$DAEMON" 2>/dev/null && kills=$((kills + 1))
        wait "$DAEMON" 2>/dev/null
        DAEMON=
        echo "round $round: $(q "SELECT count(*) FROM recordings") stored, $(count_dir ready) ready, $(count_dir active) claimed, $(flac_files) files" >&2
    done
    ((kills >= 5)) || fail "only $kills kills landed"
    # A second batch for the next rounds (the first may be all done by now).
    "$GEN" --seed 6 --scenario direct --calls 20 --start 2024-03-06T09:00:00Z -o "$T/direct2.pcap" >/dev/null || fail callgen
    spool "$T/direct2.pcap"
    N=$((N + 20))
    # A worker killed alone: the parent stops the other and exits 70.
    setsid "$DEC" -j 2 --set decode.scan_interval=50ms --spool "$T/spool" --archive "$T/archive" \
        --db "$CI" >>"$T/daemon.log" 2>&1 &
    DAEMON=$!
    wait_for 20 bash -c "[[ \$(pgrep -P $DAEMON | wc -l) == 2 ]]" || fail "no two workers"
    sleep 0.3
    kill -KILL "$(pgrep -P "$DAEMON" | head -1)"
    wait "$DAEMON"
    rc=$?
    DAEMON=
    [[ $rc == 70 ]] || fail "a worker killed by SIGKILL: parent exit $rc, want 70"
    # SIGTERM: the entry in hand is finished or released, exit 0, nothing left claimed.
    # A third batch first: on a quiet machine the worker-kill run above may
    # have finished every entry (the killed worker's own count is lost), and
    # the daemon must have work in hand when SIGTERM comes.
    "$GEN" --seed 7 --scenario direct --calls 20 --start 2024-03-07T09:00:00Z -o "$T/direct3.pcap" >/dev/null || fail callgen
    spool "$T/direct3.pcap"
    N=$((N + 20))
    before=$(q "SELECT count(*) FROM recordings")
    setsid "$DEC" -j 2 --set decode.scan_interval=50ms --spool "$T/spool" --archive "$T/archive" \
        --db "$CI" >>"$T/daemon.log" 2>&1 &
    DAEMON=$!
    wait_for 30 bash -c "(( \$(psql '$CI' -XtAc 'SELECT count(*) FROM recordings') > $before ))" ||
        fail "the daemon stored nothing after the worker kill"
    kill -TERM "$DAEMON"
    wait "$DAEMON"
    rc=$?
    DAEMON=
    [[ $rc == 0 ]] || fail "SIGTERM: exit $rc, want 0"
    [[ $(count_dir active) == 0 ]] || fail "SIGTERM left $(count_dir active) entries claimed"
    echo "after SIGTERM: $(q "SELECT count(*) FROM recordings") stored, $(count_dir ready) ready" >&2
    decode -q --once --json-stats "$T/final.json" 2>"$T/final.log"
    rc=$?
    [[ $rc == 0 ]] || fail "final --once exit $rc"
    [[ $(jq .failed "$T/final.json") == 0 ]] || fail "entries failed: $(cat "$T/final.json")"
    check_exactly_once $N
    echo "PASS: decode crash: $kills SIGKILLs of decode -j 2, a worker kill (exit 70), SIGTERM (exit 0), then --once: $N calls archived exactly once, chain valid, spool empty"
    ;;

outage)
    PRIVPG=$T/pg
    CI=$("$SRC/deploy/pgctl.sh" start "$PRIVPG" --db callscope --ephemeral) || { echo "SKIP: cannot start a private PostgreSQL"; exit 77; }
    "$CS" -q --db "$CI" db migrate >/dev/null || fail "migrate"
    "$GEN" --seed 21 --scenario direct --calls 10 -o "$T/a.pcap" >/dev/null || fail callgen
    "$GEN" --seed 22 --scenario direct --calls 15 --start 2024-03-05T10:00:00Z -o "$T/b.pcap" >/dev/null || fail callgen
    setsid "$DEC" --set decode.scan_interval=100ms --spool "$T/spool" --archive "$T/archive" --db "$CI" \
        --json-stats "$T/daemon.json" >"$T/daemon.log" 2>&1 &
    DAEMON=$!
    spool "$T/a.pcap"
    wait_for 60 bash -c "[[ \$(find '$T/spool/ready' '$T/spool/active' -mindepth 1 -maxdepth 1 | wc -l) == 0 ]]" ||
        fail "first batch not consumed"
    [[ $(q "SELECT count(*) FROM recordings") == 10 ]] || fail "first batch: $(q "SELECT count(*) FROM recordings") recordings"
    "$SRC/deploy/pgctl.sh" stop "$PRIVPG" || fail "pgctl stop"
    spool "$T/b.pcap"
    sleep 3
    kill -0 "$DAEMON" || fail "the daemon died while the database was down"
    left=$(($(count_dir ready) + $(count_dir active)))
    [[ $left == 15 ]] || fail "database down: $left of 15 entries in the spool"
    [[ $(count_dir failed) == 0 ]] || fail "database down: entries went to failed/"
    # --once while the database is down: exit 4, entries kept
    decode -q --once --set db.connect_tries=1 2>/dev/null
    rc=$?
    [[ $rc == 4 ]] || fail "--once with the database down: exit $rc, want 4"
    grep -q "database unavailable\|unreachable" "$T/daemon.log" || fail "the daemon did not log the outage"
    "$SRC/deploy/pgctl.sh" start "$PRIVPG" --db callscope --ephemeral >/dev/null || fail "pgctl start again"
    wait_for 80 bash -c "[[ \$(find '$T/spool/ready' '$T/spool/active' -mindepth 1 -maxdepth 1 | wc -l) == 0 ]]" ||
        fail "entries not processed after the database came back"
    kill -TERM "$DAEMON"
    wait "$DAEMON"
    rc=$?
    DAEMON=
    [[ $rc == 0 ]] || fail "daemon exit $rc after SIGTERM, want 0"
    [[ $(jq .db_waits "$T/daemon.json") -ge 1 ]] || echo "note: no entry was released (the outage hit between entries)" >&2
    check_exactly_once 25
    echo "PASS: decode outage: 15 calls kept in the spool while PostgreSQL was down, all 25 stored once after it came back"
    ;;

badinput)
    fresh_db
    spool "$SRC/tests/data/sample.pcap"
    n=$(count_dir ready)
    ent=$(ls "$T/spool/ready" | head -1)
    mk() { # mk NAME: a copy of the first entry under a new name and uuid
        cp -a "$T/spool/ready/$ent" "$T/$1"
        jq --arg u "$2" '.uuid = $u' "$T/$1/call.json" >"$T/$1/j" && mv "$T/$1/j" "$T/$1/call.json"
    }
    mk notjson 00000000-0000-4000-8000-000000000001
    echo '{"format": "callscope-call", "version": 1, this is not JSON' >"$T/notjson/call.json"
    mk nolegs 00000000-0000-4000-8000-000000000002
    jq 'del(.legs)' "$T/nolegs/call.json" >"$T/nolegs/j" && mv "$T/nolegs/j" "$T/nolegs/call.json"
    mk halfpcap 00000000-0000-4000-8000-000000000003
    sz=$(stat -c %s "$T/halfpcap/call.pcap")
    truncate -s $((sz / 2)) "$T/halfpcap/call.pcap"
    mk headpcap 00000000-0000-4000-8000-000000000004
    truncate -s 10 "$T/headpcap/call.pcap"
    for e in notjson nolegs halfpcap headpcap; do mv "$T/$e" "$T/spool/ready/bad-$e"; done
    # A payload type mismatched to the SDP: the Opus call's first stream says
    # codec_pt 112 while its packets carry 111. Not an entry error: the call is
    # stored, the stream says why it is silent.
    opus=$(grep -l '"codec": *"opus"' "$T"/spool/ready/*/call.json | head -1)
    [[ -n $opus ]] || fail "the sample has no Opus call"
    cp -a "$(dirname "$opus")" "$T/ptmis"
    jq '.uuid = "11111111-1111-4111-8111-111111111111" | .streams[0].codec_pt = 112 | .streams[0].payload_types = [112]' \
        "$opus" >"$T/ptmis/call.json" || fail "jq"
    mv "$T/ptmis" "$T/spool/ready/ptmismatch"
    # The archive cannot be written (a file where the year directory goes):
    # not the calls' fault, so exit 4 and every good entry stays in ready/.
    touch "$T/archive/2024"
    decode -q --once --json-stats "$T/s0.json" 2>"$T/d0.log"
    rc=$?
    [[ $rc == 4 ]] || fail "archive not writable: exit $rc, want 4"
    [[ $(jq .archive_waits "$T/s0.json") == 1 && $(jq .done "$T/s0.json") == 0 ]] || fail "archive not writable: $(cat "$T/s0.json")"
    [[ $(find "$T/spool/failed" -mindepth 1 -maxdepth 1 ! -name 'bad-*' | wc -l) == 0 ]] || fail "archive not writable: a good entry went to failed/"
    [[ $(count_dir active) == 0 ]] || fail "archive not writable: an entry stayed claimed"
    rm "$T/archive/2024"
    decode -q --once --json-stats "$T/s.json" 2>"$T/d.log"
    rc=$?
    [[ $rc == 1 ]] || fail "exit $rc, want 1"
    [[ $(count_dir failed) == 4 ]] || fail "failed/ holds $(count_dir failed) entries, want 4: $(ls "$T/spool/failed")"
    r() { cat "$T/spool/failed/bad-$1/reason"; }
    grep -q 'MALFORMED\|TRUNCATED' <<<"$(r notjson)" && grep -q 'call.json' <<<"$(r notjson)" ||
        fail "notjson reason: $(r notjson)"
    grep -q '/legs' <<<"$(r nolegs)" || fail "nolegs reason should name /legs: $(r nolegs)"
    grep -q 'truncated' <<<"$(r halfpcap)" || fail "halfpcap reason: $(r halfpcap)"
    grep -q "render: call.pcap: truncated dump file" <<<"$(r headpcap)" || fail "headpcap reason: $(r headpcap)"
    for e in notjson nolegs halfpcap headpcap; do
        [[ -f $T/spool/failed/bad-$e/call.json ]] || fail "failed/bad-$e lost its call.json"
        echo "  bad-$e: $(tail -1 "$T/spool/failed/bad-$e/reason")" >&2
    done
    [[ $(q "SELECT count(*) FROM calls WHERE uuid::text LIKE '00000000-%'") == 0 ]] || fail "a bad entry reached the database"
    st=$(q "SELECT decode_status || '|' || coalesce(decode_reason, '') FROM rtp_streams
            WHERE call_uuid = '11111111-1111-4111-8111-111111111111' ORDER BY id")
    echo "  ptmismatch streams: $(tr '\n' ';' <<<"$st")" >&2
    grep -q '^unsupported_codec|payload type 111 never negotiated' <<<"$st" ||
        fail "mismatched payload type: want unsupported_codec 'payload type 111 never negotiated', got: $st"
    grep -q '^ok|' <<<"$st" || fail "mismatched payload type: the other stream should decode: $st"
    check_exactly_once $((n + 1)) 4
    echo "PASS: decode bad input: 4 bad entries in failed/ with reasons, $n good calls + 1 with a mismatched payload type archived, exit 1"
    ;;
*)
    echo "unknown part $PART" >&2
    exit 2
    ;;
esac
