#!/usr/bin/env bash
# test-shared-calls.sh CAPTURE-BINARY
#
# callscope-capture over the real captures written by others
# ($CALLSCOPE_SHARED_DATA/pcaps: Wireshark wiki samples, heplify, sngrep,
# SIPp, pkts, nDPI), judged against what tshark reads from the same files in
# the same run; no expected number is written down here.
#
# For every file in the folder:
#   - tshark (default preferences, no heuristic RTP) gives the reference
#     (data/shared-calls/tshark-calls.jq): the SIP dialogs by Call-ID with
#     their first INVITE, final response, 2xx time, CANCEL/BYE; the RTP that
#     tshark ties to each dialog's SDP (rtp.setup-frame), packets per SSRC;
#     the RFC 4733 digits (one per event with an end packet);
#   - callscope-capture -r FILE, with an empty configuration plus
#     capture.sip_ports = the ports tshark saw SIP on (what a site would
#     configure), must exit 0, or 1 with "cannot read" (a file libpcap cannot
#     read: it is then converted with editcap -F pcap and read again), and
#     print no AddressSanitizer / LeakSanitizer / UBSan report (the ASan
#     build runs this same test);
#   - its call.json files are compared with the reference
#     (data/shared-calls/compare-calls.jq): number of calls and legs (one
#     call of one leg per dialog: no correlation header is configured), each
#     dialog's Call-ID and INVITE time; for a complete dialog (initial INVITE
#     and a final response to it seen, whether answered or failed) also the
#     final status, outcome, end reason (BYE / CANCEL / final response),
#     answer time (µs, the 2xx packet's timestamp), DTMF digits and every RTP
#     stream's packet count;
#   - SIP that tshark sees over SCTP must be counted by capture as skipped
#     (skipped.sctp), and a file that libpcap cannot open must be reported.
# Every difference fails unless data/shared-calls/exceptions.txt explains it
# (file <TAB> key pattern, a glob or extglob <TAB> reason); an exception that
# matches nothing fails too, so the list stays true. Prints one line per file
# and a summary line: files, files with complete calls, files equal to
# tshark, excepted and unexplained differences.
# Needs tshark, editcap and jq. Skips (77) without them or without the data.
set -u
shopt -s extglob # exception keys may be @(a|b) patterns
BIN=${1:?usage: test-shared-calls.sh CAPTURE-BINARY}
SRC=${CALLSCOPE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SHARED=${CALLSCOPE_SHARED_DATA:-$SRC/../shared/data}
PCAPS=$SHARED/pcaps
HERE=$SRC/tests/capture/data/shared-calls
EXCEPTIONS=$HERE/exceptions.txt

if [ ! -d "$PCAPS" ]; then
    echo "SKIP: $PCAPS is absent (the shared captures live outside the repository, see ../shared/data/README.md)"
    exit 77
fi
for tool in tshark editcap jq; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -x "$BIN" ] || { echo "FAIL: $BIN is not executable"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/cs-shared-calls.XXXXXX")
trap 'rm -rf "$T"' EXIT
: >"$T/empty.conf"
mkdir -p "$T/home"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# the exceptions file: tests/harness/exceptions.sh
# shellcheck source=../harness/exceptions.sh
. "$SRC/tests/harness/exceptions.sh"
exceptions_load "$EXCEPTIONS"

TSHARK_FIELDS=(-e frame.number -e frame.time_epoch -e ip.src -e ipv6.src -e udp.srcport
    -e tcp.srcport -e ip.dst -e ipv6.dst -e udp.dstport -e tcp.dstport -e sip.Call-ID
    -e sip.Method -e sip.Status-Code -e sip.CSeq.method -e sip.CSeq.seq -e sip.from.tag
    -e sip.to.tag -e rtp.ssrc -e rtp.p_type -e rtp.timestamp -e rtp.setup-frame
    -e rtpevent.event_id -e rtpevent.end_of_event -e frame.protocols)

# The work on one file (check_file) runs in a background job and leaves its
# results in its directory D: D/fails (lines that fail the test), D/diffs
# (KEY <TAB> MESSAGE, judged against the exceptions afterwards), D/info
# (dialogs and complete dialogs tshark sees).

# capture NAME INPUT D: runs callscope-capture; sets RC (-1 after a crash, a
# sanitizer report or an undocumented exit code, which are failures)
capture() {
    local name=$1 input=$2 d=$3
    rm -rf "$d/spool"
    CALLSCOPE_CONFIG=$T/empty.conf "$BIN" -q --probe shared --set "capture.sip_ports=$PORTS" \
        --spool "$d/spool" --json-stats "$d/stats.json" -r "$input" \
        >"$d/out" 2>"$d/err" </dev/null
    RC=$?
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: [A-Za-z]*Sanitizer' "$d/err"; then
        {
            echo "$name: sanitizer report (exit $RC):"
            grep -E -m 12 'Sanitizer|runtime error|#[0-9] ' "$d/err" | sed 's/^/    /'
        } >>"$d/fails"
        RC=-1
    elif [ "$RC" -ne 0 ] && { [ "$RC" -ne 1 ] || ! grep -q 'cannot read' "$d/err"; }; then
        {
            echo "$name: callscope-capture exited $RC (0, or 1 for an unreadable file, expected):"
            tail -5 "$d/err" | sed 's/^/    /'
        } >>"$d/fails"
        RC=-1
    fi
}

# check_file FILE D
check_file() {
    local f=$1 d=$2 name=${1##*/} why nsctp
    : >"$d/fails"
    : >"$d/diffs"
    # the reference, from tshark (its own empty preferences)
    if ! HOME=$T/home XDG_CONFIG_HOME=$T/home tshark -n -r "$f" -o rtp.heuristic_rtp:FALSE \
        -Y 'sip or rtp' -T fields -E occurrence=a -E aggregator=$'\x1f' "${TSHARK_FIELDS[@]}" \
        >"$d/tshark.tsv" 2>"$d/tshark.err"; then
        echo "$name: tshark cannot read it: $(head -1 "$d/tshark.err")" >>"$d/fails"
        return
    fi
    if ! jq -R -n -f "$HERE/tshark-calls.jq" "$d/tshark.tsv" >"$d/ref.json" 2>"$d/jq.err" ||
        ! jq -r '"\(.dialogs | length) \([.dialogs[] | select(.complete)] | length) \(.sip_ports | join(","))"' \
            "$d/ref.json" >"$d/info" 2>>"$d/jq.err"; then
        echo "$name: tshark-calls.jq: $(head -1 "$d/jq.err")" >>"$d/fails"
        return
    fi
    read -r _ _ PORTS <"$d/info"

    # callscope-capture over it
    capture "$name" "$f" "$d"
    [ "$RC" -lt 0 ] && return
    if [ "$RC" -eq 1 ]; then
        why=$(grep -m1 'cannot read' "$d/err" | sed 's/.*cannot read [^:]*: //')
        printf 'file format\tlibpcap cannot read it (%s); read after editcap -F pcap\n' "$why" >>"$d/diffs"
        if ! editcap -F pcap "$f" "$d/converted.pcap" 2>"$d/editcap.err"; then
            echo "$name: editcap -F pcap: $(head -1 "$d/editcap.err")" >>"$d/fails"
            return
        fi
        capture "$name" "$d/converted.pcap" "$d"
        [ "$RC" -lt 0 ] && return
        [ "$RC" -eq 0 ] || { echo "$name: exit $RC even after editcap -F pcap" >>"$d/fails"; return; }
    fi

    # SIP over SCTP is not decoded: it must be counted as skipped
    nsctp=$(awk -F'\t' '$11 != "" && $24 ~ /:sctp:/' "$d/tshark.tsv" | wc -l)
    if [ "$nsctp" -gt 0 ] && [ "$(jq '.skipped.sctp' "$d/stats.json")" -eq 0 ]; then
        printf 'sctp\ttshark: %d SIP messages over SCTP; stats skipped.sctp is 0\n' "$nsctp" >>"$d/diffs"
    fi

    # the calls against the reference
    find "$d/spool/ready" -name call.json -exec cat {} + 2>/dev/null >"$d/calls.json"
    if ! jq -n -r --slurpfile ref "$d/ref.json" --slurpfile calls "$d/calls.json" \
        -f "$HERE/compare-calls.jq" >>"$d/diffs" 2>"$d/jq.err"; then
        echo "$name: compare-calls.jq: $(head -1 "$d/jq.err")" >>"$d/fails"
    fi
}

# two files at a time (the test machine has two cores)
JOBS=${CALLSCOPE_TEST_JOBS:-2}
NAMES=()
for f in "$PCAPS"/*; do
    [ -f "$f" ] || continue
    NAMES+=("${f##*/}")
    mkdir -p "$T/${f##*/}"
    while [ "$(jobs -pr | wc -l)" -ge "$JOBS" ]; do wait -n; done
    check_file "$f" "$T/${f##*/}" &
done
wait

NFILES=0 NCOMPLETE=0 NEQUAL=0 NEXCEPTED=0 NDIFF=0
for name in "${NAMES[@]}"; do
    d=$T/$name
    NFILES=$((NFILES + 1))
    if [ -s "$d/fails" ]; then
        while IFS= read -r line; do
            case $line in "    "*) echo "$line" ;; *) fail "$line" ;; esac
        done <"$d/fails"
        continue
    fi
    read -r ncalls complete _ <"$d/info"
    [ "$complete" -gt 0 ] && NCOMPLETE=$((NCOMPLETE + 1))
    if [ ! -s "$d/diffs" ]; then
        [ "$complete" -gt 0 ] && NEQUAL=$((NEQUAL + 1))
        echo "ok: $name: $ncalls dialog(s), $complete complete, equal to tshark"
        continue
    fi
    nbad=0
    while IFS=$'\t' read -r key msg; do
        if excepted "$name" "$key"; then
            echo "excepted: $name: $key: $msg ($WHY)"
            NEXCEPTED=$((NEXCEPTED + 1))
        else
            fail "$name: $key: $msg"
            NDIFF=$((NDIFF + 1))
            nbad=$((nbad + 1))
        fi
    done <"$d/diffs"
    [ "$nbad" -eq 0 ] && echo "ok: $name: $ncalls dialog(s), $complete complete, differences all excepted"
done

exceptions_stale

# the reference depends on tshark's dissectors: say which tshark it was
echo "reference: $(tshark -v 2>/dev/null | head -1)"
echo "shared pcaps: $NFILES files, $NCOMPLETE with complete calls, $NEQUAL equal to tshark," \
    "$NEXCEPTED excepted differences (${#EXC_FILE[@]} exception lines), $NDIFF unexplained differences"
if [ "$NFILES" -eq 0 ]; then
    echo "SKIP: no capture in $PCAPS"
    exit 77
fi
[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; exit 1; }
echo "PASS"
