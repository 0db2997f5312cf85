#!/usr/bin/env bash
# test-capture-cli.sh CAPTURE-BINARY
#
# callscope-capture's command line, exit codes and file handling, end to end
# over the committed callgen sample (tests/data/sample.pcap + its truth):
#   - --help lists every option; --print-config equals the expected file;
#   - exit codes: bad option 2, -i with -r 2, nothing to read 2, bad
#     --stats-interval 2, bad config file / key / value 3, a missing or corrupt
#     input file 1 (the other files are still read), success 0;
#   - one spool entry per truth call (jq '.calls | length'), counters JSON sane
#     (frames = the truth's frames, nothing active, no kernel drops);
#   - the same entries byte for byte without the writer thread and through
#     libpcap (a filter) instead of capture's own pcap reader;
#   - the same calls whether the sample is read whole, as two files (-r A -r B)
#     or as a directory whose files' names sort the wrong way (-R: mtime wins);
#   - SIGTERM while reading a pipe that delivered the first part of the sample
#     and then stalls: exit 0 and one entry per call whose INVITE was delivered
#     (the open ones spooled as "capture stopped");
#   - as root: -u nobody writes the spool as nobody; a spool nobody cannot
#     write is exit 4.
# Needs jq and editcap (wireshark-common). Skips (77) without the sample.
set -u
BIN=${1:?usage: test-capture-cli.sh CAPTURE-BINARY}
SRC=${CALLSCOPE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SAMPLE=$SRC/tests/data/sample.pcap
TRUTH=$SRC/tests/data/sample.truth.json
EXPECTED=$SRC/tests/capture/data/main

if [ ! -f "$SAMPLE" ] || [ ! -f "$TRUTH" ]; then
    echo "SKIP: $SAMPLE or its truth is missing (generate it with callgen, docs/callgen.md)"
    exit 77
fi
for tool in jq editcap; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

T=$(mktemp -d /tmp/cs-capture-cli.XXXXXX)
WRITER=
cleanup() {
    [ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
ok() { echo "ok: $*"; }

# expect CODE DESCRIPTION CMD... : runs CMD with an empty config, checks the exit code
expect() {
    local want=$1 what=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err" </dev/null
    local got=$?
    if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else
        fail "$what: exit $got, expected $want"; sed 's/^/    /' "$T/err" | head -5
    fi
}
entries() { find "$1/ready" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l; }
names() { find "$1/ready" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' 2>/dev/null | sort; }

NCALLS=$(jq '.calls | length' "$TRUTH")
NFRAMES=$(jq '.totals.frames' "$TRUTH")
echo "sample: $NCALLS calls, $NFRAMES frames"
# an empty default configuration: the test must not read /etc/callscope
: >"$T/empty.conf"
export CALLSCOPE_CONFIG=$T/empty.conf

# ---- help, options, exit codes -------------------------------------------
expect 0 "--help" "$BIN" --help
for o in -i --interface -r --read -R --read-dir -f --filter --stats-interval --spool --probe \
         -u --user --json-stats -c --config --set -v --verbose -q --quiet --print-config \
         --help-config -V --version -h --help; do
    grep -q -- "$o[ ,=]" "$T/out" || fail "--help does not list $o"
done
grep -q "^Exit status:" "$T/out" || fail "--help has no exit status section"
expect 0 "--version" "$BIN" --version
grep -q "^callscope-capture " "$T/out" || fail "--version prints '$(cat "$T/out")'"
expect 0 "--help-config" "$BIN" --help-config
for k in spool.dir capture.probe capture.interface capture.filter capture.sip_ports \
         capture.sip_any_port capture.correlation_headers capture.snaplen capture.buffer_size \
         capture.promiscuous capture.immediate capture.stats_interval capture.user \
         capture.max_calls capture.max_streams_per_call capture.frag_max_datagrams \
         capture.frag_max_bytes capture.frag_timeout capture.tcp_max_flows \
         capture.tcp_max_flow_bytes capture.tcp_idle capture.rtp_timeout capture.setup_timeout \
         capture.max_call_duration capture.linger capture.write_pcap \
         capture.pcap_writer_thread capture.answer_needs_identity; do
    grep -q "$k" "$T/out" || fail "--help-config does not list $k"
done
expect 0 "--print-config" "$BIN" -c "$T/empty.conf" --print-config
if diff -u "$EXPECTED/print-config.expected" "$T/out" >"$T/diff"; then ok "--print-config output"
else fail "--print-config differs from print-config.expected"; cat "$T/diff"; fi

expect 2 "unknown option" "$BIN" --bogus
grep -q "Try 'callscope-capture --help'" "$T/err" || fail "no --help hint on a bad option"
expect 2 "-r without its argument" "$BIN" -r
expect 2 "-i together with -r" "$BIN" -i lo -r "$SAMPLE" --spool "$T/sp0"
expect 2 "nothing to read" "$BIN" --spool "$T/sp0"
expect 2 "bad --stats-interval" "$BIN" --stats-interval soon --spool "$T/sp0" "$SAMPLE"
expect 2 "negative --stats-interval" "$BIN" --stats-interval -1 --spool "$T/sp0" "$SAMPLE"

expect 3 "missing config file" "$BIN" -c "$T/none.conf" "$SAMPLE"
printf '[capture]\nmax_calls = 0\n' >"$T/bad.conf"
expect 3 "capture.max_calls = 0" "$BIN" -c "$T/bad.conf" --spool "$T/sp0" "$SAMPLE"
grep -q "bad.conf:2: capture.max_calls" "$T/err" || fail "bad value not named: $(cat "$T/err")"
printf '[capture]\nmax_callz = 10\n' >"$T/bad.conf"
expect 3 "unknown key" "$BIN" -c "$T/bad.conf" "$SAMPLE"
expect 3 "--set capture.snaplen=63 (min-1)" "$BIN" --set capture.snaplen=63 "$SAMPLE"
expect 3 "--set capture.sip_ports=0" "$BIN" --set capture.sip_ports=0 --spool "$T/sp0" "$SAMPLE"
expect 3 "--set capture.sip_ports=65536" "$BIN" --set capture.sip_ports=65536 --spool "$T/sp0" "$SAMPLE"
expect 3 "--set capture.sip_ports=5060," "$BIN" --set capture.sip_ports=5060, --spool "$T/sp0" "$SAMPLE"
expect 3 "17 SIP ports (max 16)" "$BIN" --set capture.sip_ports=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17 \
    --spool "$T/sp0" "$SAMPLE"
expect 3 "5 correlation headers (max 4)" "$BIN" --set capture.correlation_headers=a,b,c,d,e \
    --spool "$T/sp0" "$SAMPLE"
expect 3 "correlation header with a space" "$BIN" --set "capture.correlation_headers=X Orig" \
    --spool "$T/sp0" "$SAMPLE"
expect 3 "bad BPF filter" "$BIN" -f "udp port (" --spool "$T/sp0" "$SAMPLE"
expect 4 "interface that does not exist" "$BIN" -i cs-nonesuch0 --spool "$T/sp0"
: >"$T/not-a-dir"
expect 4 "spool that cannot be created" "$BIN" --spool "$T/not-a-dir/spool" "$SAMPLE"

# ---- the sample, whole ---------------------------------------------------
expect 0 "sample.pcap" "$BIN" --spool "$T/sp1" --json-stats "$T/s1.json" --probe test "$SAMPLE"
n=$(entries "$T/sp1")
[ "$n" -eq "$NCALLS" ] && ok "$n spool entries = truth calls" || fail "$n spool entries, truth has $NCALLS calls"
J=$T/s1.json
jq -e . "$J" >/dev/null || fail "--json-stats is not JSON"
check_json() { # FILE JQ-EXPR WHAT
    if jq -e "$2" "$1" >/dev/null; then ok "json: $3"; else fail "json: $3 ($2)"; jq -c . "$1"; fi
}
check_json "$J" ".frames == $NFRAMES" "frames = truth frames ($NFRAMES)"
check_json "$J" ".spool_written == $NCALLS" "spool_written = calls"
check_json "$J" ".calls_active == 0 and .calls_finished >= $NCALLS" "no call left active"
check_json "$J" '.kernel.dropped == 0 and .source == "files"' "files: no kernel figures"
check_json "$J" '.files.total == 1 and .files.failed == 0 and .exit_code == 0' "files counted"
check_json "$J" '.decoded > 0 and .decoded <= .frames and .malformed <= .frames' "decoded sane"
check_json "$J" '.malformed == ([.malformed_by[]] | add)' "malformed = sum by reason"
check_json "$J" '.sip_messages > 0 and .rtp_packets > 0 and .streams > 0' "SIP and RTP seen"
check_json "$J" '.stopped_by_signal == false' "not stopped"
if [ -d "$EXPECTED" ]; then
    jq -r '[paths(scalars) | map(tostring) | join(".")] | .[]' "$J" >"$T/keys"
    diff -u "$EXPECTED/json-stats-keys.expected" "$T/keys" >"$T/diff" && ok "json-stats keys" ||
        { fail "json-stats keys differ"; cat "$T/diff"; }
fi
names "$T/sp1" >"$T/names1"
for d in "$T"/sp1/ready/*/; do
    [ -s "$d/call.json" ] && [ -s "$d/call.pcap" ] || { fail "entry $d lacks call.json or call.pcap"; break; }
done

# ---- the same entries, byte for byte, with call.pcap written by the read loop
# (no writer thread) and with the file read by libpcap (a filter turns capture's
# own pcap reader off) ----------------------------------------------------------
expect 0 "sample.pcap, no writer thread" "$BIN" --spool "$T/sp1t" --probe test \
    --set capture.pcap_writer_thread=no "$SAMPLE"
diff -r "$T/sp1/ready" "$T/sp1t/ready" >/dev/null && ok "no writer thread: the same entries" ||
    fail "no writer thread: the entries differ"
expect 0 "sample.pcap through libpcap" "$BIN" --spool "$T/sp1f" --probe test -f "len >= 0" "$SAMPLE"
diff -r "$T/sp1/ready" "$T/sp1f/ready" >/dev/null && ok "read by libpcap: the same entries" ||
    fail "read by libpcap: the entries differ"

# ---- a missing file and a corrupt file do not stop the others -------------
expect 1 "missing file among good ones" "$BIN" --spool "$T/sp2" --probe test "$T/none.pcap" "$SAMPLE"
[ "$(entries "$T/sp2")" -eq "$NCALLS" ] && ok "the good file was read" || fail "after a missing file: $(entries "$T/sp2") entries"
grep -q "none.pcap" "$T/err" || fail "the missing file is not named in the log"
head -c 4000000 "$SAMPLE" >"$T/cut.pcap"
expect 1 "truncated file" "$BIN" --spool "$T/sp3" --json-stats "$T/s3.json" "$T/cut.pcap"
grep -q "corrupt" "$T/err" || fail "truncation not logged: $(tail -3 "$T/err")"
check_json "$T/s3.json" '.files.failed == 1 and .frames > 0 and .exit_code == 1' "truncated file counted"
[ "$(entries "$T/sp3")" -gt 0 ] && ok "calls before the damage spooled" || fail "nothing spooled from the cut file"
printf 'hello\n' >"$T/text.pcap"
expect 1 "not a capture file" "$BIN" --spool "$T/sp3b" "$T/text.pcap"

# ---- the same calls from two files and from a directory --------------------
half=$((NFRAMES / 2))
editcap -r "$SAMPLE" "$T/a.pcap" "1-$half" >/dev/null 2>&1
editcap -r "$SAMPLE" "$T/b.pcap" "$((half + 1))-$NFRAMES" >/dev/null 2>&1
expect 0 "-r A -r B" "$BIN" --spool "$T/sp4" --probe test -r "$T/a.pcap" -r "$T/b.pcap"
names "$T/sp4" | diff -q - "$T/names1" >/dev/null && ok "two files give the same calls" ||
    fail "two files: $(entries "$T/sp4") entries, different from the whole file"
mkdir "$T/rot"
cp "$T/a.pcap" "$T/rot/z-first.pcap"   # names sort the wrong way round,
cp "$T/b.pcap" "$T/rot/a-second.pcap"  # modification times the right way
touch -d '2024-01-01 10:00:00' "$T/rot/z-first.pcap"
touch -d '2024-01-01 11:00:00' "$T/rot/a-second.pcap"
expect 0 "-R DIR" "$BIN" --spool "$T/sp5" --probe test -R "$T/rot" --json-stats "$T/s5.json"
names "$T/sp5" | diff -q - "$T/names1" >/dev/null && ok "-R reads oldest first" ||
    fail "-R: $(entries "$T/sp5") entries, different from the whole file"
check_json "$T/s5.json" '.files.total == 2 and .frames == '"$NFRAMES" "-R counted both files"
expect 1 "-R missing directory" "$BIN" --spool "$T/sp6" -R "$T/no-such-dir" "$SAMPLE"

# ---- SIGTERM while the input stalls: open calls are spooled ---------------
# the first $cut frames go through a pipe that then stays open and silent
cut=$((NFRAMES / 3))
editcap -r "$SAMPLE" "$T/head.pcap" "1-$cut" >/dev/null 2>&1
t_cut=$(tshark -r "$T/head.pcap" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
t_cut_us=$(awk -v t="$t_cut" 'BEGIN { printf "%.0f", t * 1000000 }')
want=$(jq "[.calls[] | select(.invite_us <= $t_cut_us)] | length" "$TRUTH")
mkfifo "$T/fifo"
(cat "$T/head.pcap"; sleep 60) >"$T/fifo" &
WRITER=$!
"$BIN" --spool "$T/sp7" --probe test --json-stats "$T/s7.json" -r "$T/fifo" \
    2>"$T/err7" &
CAP=$!
sleep 3
kill -TERM "$CAP"
wait "$CAP"
rc=$?
kill "$WRITER" 2>/dev/null
wait "$WRITER" 2>/dev/null
WRITER=
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || { fail "SIGTERM: exit $rc"; tail -5 "$T/err7"; }
n=$(entries "$T/sp7")
[ "$n" -eq "$want" ] && ok "SIGTERM: $n entries = calls begun in the first $cut frames" ||
    fail "SIGTERM: $n entries, $want calls had begun"
check_json "$T/s7.json" ".stopped_by_signal == true and .frames == $cut and .calls_active == 0" \
    "SIGTERM counters"
grep -q "capture stopped" "$T/err7" || fail "the stop is not logged"
stopped=$(cat "$T"/sp7/ready/*/call.json 2>/dev/null | jq -s '[.[] | select(.end_reason == "capture_stopped")] | length')
[ "$stopped" -gt 0 ] && ok "$stopped calls ended as capture_stopped" ||
    fail "no call.json has end_reason capture_stopped"

# ---- privilege drop (root only) ------------------------------------------
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
    mkdir -p "$T/sp8" && chown nobody "$T/sp8" && chmod 755 "$T"
    cp "$SAMPLE" "$T/sample.pcap" && chmod 644 "$T/sample.pcap"
    expect 0 "-u nobody" "$BIN" -u nobody --spool "$T/sp8" --probe test "$T/sample.pcap"
    owner=$(stat -c %U "$(find "$T/sp8/ready" -mindepth 1 -maxdepth 1 | head -1)")
    [ "$owner" = nobody ] && ok "entries written by nobody" || fail "entries owned by '$owner'"
    mkdir -p "$T/sp9" && chmod 700 "$T/sp9"
    expect 4 "-u nobody, spool not writable" "$BIN" -u nobody --spool "$T/sp9" "$T/sample.pcap"
    expect 3 "-u unknown user" "$BIN" -u cs-no-such-user --spool "$T/sp9" "$T/sample.pcap"
else
    echo "skipped: privilege drop (needs root and user nobody)"
fi

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS check(s) failed"
    exit 1
fi
echo "all checks passed"
