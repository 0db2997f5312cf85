#!/usr/bin/env bash
# test-live-capture.sh CAPTURE-BINARY
#
# Live capture end to end: a network namespace with a veth pair (veth0 <->
# veth1) is created for the test; callscope-capture -i veth1 runs inside it
# while tcpreplay sends tests/data/sample.pcap (callgen's scenarios) into
# veth0; then SIGTERM. The calls must be the ones a -r run over the same file
# finds, with zero kernel drops.
#
# How "the same" is decided. A call uuid is derived from the probe, the
# inbound Call-ID and the first INVITE's time, and a live run stamps packets
# with the time they arrive, not the time in the file: uuids and every
# absolute or relative time (invite/answer/end times, jitter, gaps) differ by
# design, and the replay compresses the sample's 11 hours into seconds. So
# both runs are reduced to one line per call holding only what does not depend
# on time — inbound Call-ID, outcome, who ended it and why, ANI, DNIS,
# agents, hold and transfer counts, legs (Call-ID, role, final status, SIP
# messages) and streams (leg, direction, SSRC, packets, bytes, lost,
# duplicates, out of order, SSRC changes) and the DTMF digits — and the two
# sorted lists must be identical.
#
# Skips (77) unless root, with ip netns, tcpreplay and jq available. The
# namespace is removed on every exit path (trap).
set -u
BIN=${1:?usage: test-live-capture.sh CAPTURE-BINARY}
SRC=${CALLSCOPE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SAMPLE=$SRC/tests/data/sample.pcap
PPS=${CALLSCOPE_LIVE_PPS:-20000}   # replay rate, frames per second

[ -f "$SAMPLE" ] || { echo "SKIP: $SAMPLE missing (see docs/callgen.md)"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (network namespace, raw capture)"; exit 77; }
for tool in ip tcpreplay jq; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
NS=cs-live-$$
ip netns add "$NS" 2>/dev/null || { echo "SKIP: cannot create a network namespace"; exit 77; }

T=$(mktemp -d /tmp/cs-capture-live.XXXXXX)
CAP=
cleanup() {
    [ -n "$CAP" ] && kill -KILL "$CAP" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
: >"$T/empty.conf"
export CALLSCOPE_CONFIG=$T/empty.conf
nsx() { ip netns exec "$NS" "$@"; }

# a quiet link: no IPv6 autoconfiguration chatter, room for any frame of the sample
nsx sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || true
nsx ip link add veth0 type veth peer name veth1 || { echo "SKIP: no veth support"; exit 77; }
nsx ip link set veth0 mtu 9000 up
nsx ip link set veth1 mtu 9000 up
nsx ip link set lo up

# reference: the file
"$BIN" --probe live-test --spool "$T/file" --json-stats "$T/file.json" "$SAMPLE" 2>"$T/file.log"
rc=$?
[ "$rc" -eq 0 ] || { echo "FAIL: -r run exit $rc"; tail "$T/file.log"; exit 1; }

# live: capture on veth1, replay into veth0
# not through nsx: a shell function run with & is a subshell, and $! would be
# that subshell, not the capture (SIGTERM would miss it and wait would hang)
ip netns exec "$NS" "$BIN" --probe live-test --spool "$T/live" --json-stats "$T/live.json" \
    -i veth1 --stats-interval 1 2>"$T/live.log" &
CAP=$!
for _ in $(seq 100); do
    grep -q "listening on veth1" "$T/live.log" && break
    kill -0 "$CAP" 2>/dev/null || break
    sleep 0.1
done
grep -q "listening on veth1" "$T/live.log" || { echo "FAIL: capture did not start"; cat "$T/live.log"; exit 1; }
nsx tcpreplay --intf1=veth0 --pps="$PPS" "$SAMPLE" >"$T/replay.log" 2>&1 ||
    { echo "FAIL: tcpreplay"; cat "$T/replay.log"; exit 1; }
sed -n 's/^/  tcpreplay: /p' "$T/replay.log" | grep -E "Actual|Rated|Failed" | head -3
sleep 2
kill -TERM "$CAP"
wait "$CAP"
rc=$?
CAP=
[ "$rc" -eq 0 ] || { echo "FAIL: live run exit $rc"; tail "$T/live.log"; exit 1; }

FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
FRAMES=$(jq .frames "$T/file.json")
jq -e '.kernel.dropped == 0 and .kernel.ifdropped == 0' "$T/live.json" >/dev/null ||
    fail "kernel drops: $(jq -c .kernel "$T/live.json")"
jq -e ".frames >= $FRAMES" "$T/live.json" >/dev/null ||
    fail "live saw $(jq .frames "$T/live.json") frames, the file has $FRAMES"
jq -e '.source == "live" and .stopped_by_signal == true' "$T/live.json" >/dev/null ||
    fail "live counters: $(jq -c '{source, stopped_by_signal}' "$T/live.json")"
echo "frames: file $FRAMES, live $(jq .frames "$T/live.json"); kernel $(jq -c .kernel "$T/live.json")"

SUMMARY='{call_id, outcome, ended_by, end_reason, ani, dnis, agents,
  holds: (.holds | length), transfers: (.transfers | length),
  legs: ([.legs[] | {call_id, role, final_status, sip_messages}] | sort_by(.call_id)),
  streams: ([.streams[] | {leg, direction, ssrc, packets, bytes, lost, duplicates,
                           out_of_order, ssrc_changes}] | sort_by(.leg, .direction, .ssrc)),
  dtmf: ([.dtmf[].digit] | join(""))}'
summarise() {
    for f in "$1"/ready/*/call.json; do
        [ -f "$f" ] && jq -S -c "$SUMMARY" "$f"
    done | sort
}
summarise "$T/file" >"$T/file.sum"
summarise "$T/live" >"$T/live.sum"
nf=$(wc -l <"$T/file.sum")
nl=$(wc -l <"$T/live.sum")
echo "calls: file $nf, live $nl"
[ "$nf" -gt 0 ] || fail "the -r run spooled nothing"
if ! diff -u "$T/file.sum" "$T/live.sum" >"$T/diff"; then
    fail "live calls differ from the file's"
    head -40 "$T/diff"
fi
if [ "$FAILS" -ne 0 ]; then
    echo "--- live log (tail)"; tail -5 "$T/live.log"
    exit 1
fi
echo "ok: -i veth1 gives the same $nl calls as -r, no kernel drops"
