#!/usr/bin/env bash
# check-callgen-tshark.sh PCAP TRUTH SCENARIO
#
# Checks a callgen capture with an independent dissector (tshark) against its
# truth JSON (jq):
#   - no malformed packets except the truth's deliberate garbage frames, and
#     every garbage frame is a UDP datagram to port 5060;
#   - SIP dialogs: the set of Call-IDs that carry an INVITE equals the truth's
#     legs;
#   - RTP streams (tshark -z rtp,streams with heuristic RTP): every truth
#     stream is there with exactly the truth's packet count, and there are no
#     others; per call, the number of streams matches;
#   - DTMF: per stream, the RFC 4733 events tshark decodes (one per
#     timestamp) give the truth's digits; each event starts with the marker
#     bit and ends with exactly three end packets;
#   - TCP: a segment with two SIP messages and a SIP message reassembled from
#     two segments; fragmentation: an INVITE reassembled from IP fragments;
#     VLAN ids (802.1Q and 802.1ad outer tags) present; IPv6 SIP with
#     "c=IN IP6" SDP present.
# SCENARIO ("all" or a scenario name) says which features the truth must
# contain, so a generator that silently stopped producing them fails here.
#
# check-callgen-tshark.sh --load CALLGEN
# writes a 30 MB load-mode capture and checks it (no malformed frames, one
# INVITE per call, one RTP stream per direction that sent packets, RTP packet
# total as the truth).
#
# check-callgen-tshark.sh --generate CALLGEN SCENARIO [CALLGEN-ARGS...]
# first runs CALLGEN --seed 1 --scenario SCENARIO [CALLGEN-ARGS] into a
# private temporary directory (removed afterwards), then checks that (the
# form CTest uses).
# Exit: 0 pass, 1 fail, 77 skip (tshark, jq or callgen's test data missing),
# 2 usage.
set -u
usage() {
    echo "usage: $0 PCAP TRUTH SCENARIO" >&2
    echo "       $0 --generate CALLGEN SCENARIO [CALLGEN-ARGS...]" >&2
    echo "       $0 --load CALLGEN" >&2
    exit 2
}
for tool in tshark jq; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool not installed"
        exit 77
    fi
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cg-tshark.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
if [ "${1:-}" = "--load" ]; then
    # load mode: no malformed frame, one INVITE per call of the truth, one RTP
    # stream per direction that sent packets, packet totals as in the truth
    [ $# -eq 2 ] || usage
    "$2" -q --load --size 30M --concurrent 300 -o "$TMP/l.pcap"
    rc=$?
    [ $rc -eq 3 ] && { echo "SKIP: callgen lacks its test data (exit 3)"; exit 77; }
    [ $rc -eq 0 ] || { echo "FAIL: callgen exited $rc"; exit 1; }
    calls=$(jq .totals.calls "$TMP/l.truth.json")
    rtp=$(jq .totals.rtp_packets "$TMP/l.truth.json")
    want_streams=$(jq '[.calls[].packets[] | select(. > 0)] | length' "$TMP/l.truth.json")
    inv=$(tshark -n -r "$TMP/l.pcap" -Y 'sip.Method == "INVITE"' -T fields -e sip.Call-ID 2>/dev/null | sort -u | wc -l)
    bad=$(tshark -n -r "$TMP/l.pcap" -Y '_ws.malformed || _ws.expert.severity >= "error"' -T fields -e frame.number 2>/dev/null | wc -l)
    tshark -n -r "$TMP/l.pcap" -o rtp.heuristic_rtp:TRUE -q -z rtp,streams 2>/dev/null >"$TMP/streams"
    streams=$(grep -c ' 0x' "$TMP/streams")
    pk=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\(.*%\)$/) { s += $(i - 2); break } } END { print s + 0 }' "$TMP/streams")
    echo "load: calls=$calls invites=$inv malformed=$bad streams=$streams (truth $want_streams) rtp=$pk (truth $rtp)"
    if [ "$calls" -ge 300 ] && [ "$inv" -eq "$calls" ] && [ "$bad" -eq 0 ] &&
        [ "$streams" -eq "$want_streams" ] && [ "$want_streams" -gt "$calls" ] && [ "$pk" -eq "$rtp" ]; then
        echo PASS
        exit 0
    fi
    echo FAIL
    exit 1
fi
if [ "${1:-}" = "--generate" ]; then
    [ $# -ge 3 ] || usage
    CALLGEN=$2
    SCEN=$3
    shift 3
    PCAP=$TMP/gen.pcap
    TRUTH=$TMP/gen.truth.json
    "$CALLGEN" -q --seed 1 --scenario "$SCEN" -o "$PCAP" "$@"
    rc=$?
    if [ $rc -eq 3 ]; then
        echo "SKIP: callgen lacks its test data (exit 3)"
        exit 77
    fi
    [ $rc -eq 0 ] || { echo "FAIL: callgen exited $rc"; exit 1; }
else
    [ $# -eq 3 ] || usage
    PCAP=$1
    TRUTH=$2
    SCEN=$3
fi
[ -r "$PCAP" ] || { echo "FAIL: cannot read $PCAP"; exit 1; }
[ -r "$TRUTH" ] || { echo "FAIL: cannot read $TRUTH"; exit 1; }
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

TS=(tshark -n -r "$PCAP" -o rtp.heuristic_rtp:TRUE -o rtpevent.event_payload_type_value:101)

# --- malformed frames vs. deliberate garbage
"${TS[@]}" -Y '_ws.malformed || _ws.expert.severity >= "error"' -T fields -e frame.number \
    2>/dev/null | sort -n >"$TMP/malformed"
jq -r '.garbage[].frame' "$TRUTH" | sort -n >"$TMP/garbage"
extra=$(comm -23 "$TMP/malformed" "$TMP/garbage" | tr '\n' ' ')
if [ -n "$extra" ]; then
    fail "malformed frames that are not deliberate garbage: $extra"
else
    ok "malformed frames ($(wc -l <"$TMP/malformed")) are all deliberate garbage ($(wc -l <"$TMP/garbage"))"
fi
if [ -s "$TMP/garbage" ]; then
    filter=$(sed 's/^/frame.number==/' "$TMP/garbage" | paste -sd'|' | sed 's/|/ || /g')
    n=$("${TS[@]}" -Y "($filter) && udp.dstport==5060" -T fields -e frame.number 2>/dev/null | wc -l)
    want=$(wc -l <"$TMP/garbage")
    if [ "$n" -ne "$want" ]; then
        fail "garbage frames on UDP 5060: tshark $n, truth $want"
    else
        ok "all $want garbage frames are UDP datagrams to port 5060"
    fi
fi

# --- SIP dialogs
"${TS[@]}" -Y 'sip.Method == "INVITE" && !_ws.malformed' -T fields -e sip.Call-ID 2>/dev/null |
    tr ',' '\n' | sed '/^$/d' | sort -u >"$TMP/callids.tshark"
jq -r '.calls[].legs[].call_id' "$TRUTH" | sort -u >"$TMP/callids.truth"
if ! cmp -s "$TMP/callids.tshark" "$TMP/callids.truth"; then
    fail "SIP Call-IDs with INVITE differ (tshark $(wc -l <"$TMP/callids.tshark"), truth $(wc -l <"$TMP/callids.truth"))"
    diff "$TMP/callids.truth" "$TMP/callids.tshark" | head -10
else
    ok "$(wc -l <"$TMP/callids.truth") SIP dialogs (distinct Call-IDs with INVITE) as in the truth"
fi

# --- RTP streams: "SSRC packets" per stream from tshark's stream table
"${TS[@]}" -q -z rtp,streams 2>/dev/null | awk '
    {
        ssrc = ""; pct = 0
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^0x[0-9A-Fa-f]+$/ && ssrc == "") ssrc = tolower($i)
            if ($i ~ /^\(.*%\)$/ && pct == 0) pct = i
        }
        if (ssrc != "" && pct > 2) printf "%s %s\n", ssrc, $(pct - 2)
    }' | sort >"$TMP/streams.tshark"
jq -r '.calls[].rtp_streams[] | "\(.ssrc_hex) \(.packets)"' "$TRUTH" | sort >"$TMP/streams.truth"
if ! cmp -s "$TMP/streams.tshark" "$TMP/streams.truth"; then
    fail "RTP streams differ (tshark $(wc -l <"$TMP/streams.tshark"), truth $(wc -l <"$TMP/streams.truth"); lines: ssrc packets)"
    diff "$TMP/streams.truth" "$TMP/streams.tshark" | head -10
else
    ok "$(wc -l <"$TMP/streams.truth") RTP streams with exact packet counts"
fi
# per call: number of streams
ncalls=$(jq '.calls | length' "$TRUTH")
bad_calls=0
for ((i = 0; i < ncalls; i++)); do
    want=$(jq ".calls[$i].rtp_streams | length" "$TRUTH")
    got=0
    for s in $(jq -r ".calls[$i].rtp_streams[].ssrc_hex" "$TRUTH"); do
        grep -q "^$s " "$TMP/streams.tshark" && got=$((got + 1))
    done
    if [ "$got" -ne "$want" ]; then
        fail "call $(jq -r ".calls[$i].id" "$TRUTH"): $got RTP streams seen, truth $want"
        bad_calls=$((bad_calls + 1))
    fi
done
[ "$bad_calls" -eq 0 ] && ok "RTP streams per call match for $ncalls calls"

# --- DTMF
"${TS[@]}" -Y 'rtpevent' -T fields -e rtp.ssrc -e rtp.timestamp -e rtpevent.event_id \
    -e rtpevent.end_of_event -e rtp.marker 2>/dev/null >"$TMP/dtmf.raw"
ndtmf_calls=$(jq '[.calls[] | select(.dtmf_digits != "")] | length' "$TRUTH")
for ((i = 0; i < ncalls; i++)); do
    want=$(jq -r ".calls[$i].dtmf_digits" "$TRUTH")
    [ -n "$want" ] || continue
    id=$(jq -r ".calls[$i].id" "$TRUTH")
    ssrcs=$(jq -r ".calls[$i].rtp_streams[] | select(.from == \"carrier\") | .ssrc_hex" "$TRUTH")
    # with network faults an event may lose its marker packet or an end packet:
    # then only the digits are compared
    strict=$(jq -r ".calls[$i].faults | if (.packets_dropped + .packets_duplicated + .packets_reordered) == 0 then 1 else 0 end" "$TRUTH")
    got=""
    for s in $ssrcs; do
        got+=$(awk -v s="$s" '$1 == s' "$TMP/dtmf.raw" | awk -v strict="$strict" '
            !($2 in seen) { seen[$2] = 1; order[++n] = $2; ev[$2] = $3 }
            { if ($4 == "1" || $4 == "True") ends[$2]++; if (NR == 1 || !($2 in first)) { first[$2] = $5 } }
            END {
                map = "0123456789*#ABCD"
                for (k = 1; k <= n; k++) {
                    t = order[k]
                    if (strict && ends[t] != 3) { printf "?END%d?", ends[t]; continue }
                    if (strict && first[t] != "1" && first[t] != "True") { printf "?M?"; continue }
                    printf "%s", substr(map, ev[t] + 1, 1)
                }
            }')
    done
    if [ "$got" != "$want" ]; then
        fail "call $id: DTMF digits tshark '$got', truth '$want'"
    else
        if [ "$strict" = 1 ]; then
            ok "call $id: DTMF digits '$want' (marker on start, 3 end packets each)"
        else
            ok "call $id: DTMF digits '$want' (faults applied: packet structure not checked)"
        fi
    fi
done

# --- TCP
ntcp=$(jq '[.calls[].legs[] | select(.transport == "tcp")] | length' "$TRUTH")
if [ "$ntcp" -gt 0 ]; then
    two=$("${TS[@]}" -Y 'tcp && sip' -T fields -e sip.CSeq 2>/dev/null | grep -c ',')
    split=$("${TS[@]}" -Y 'tcp && sip && tcp.segment.count >= 2' -T fields -e frame.number 2>/dev/null | wc -l)
    want_two=$(jq '[.calls[].legs[].tcp_segments_with_two_messages] | add' "$TRUTH")
    want_split=$(jq '[.calls[].legs[].tcp_messages_split] | add' "$TRUTH")
    if [ "$two" -ne "$want_two" ] || [ "$split" -ne "$want_split" ]; then
        fail "TCP SIP: segments with two messages $two (truth $want_two), reassembled messages $split (truth $want_split)"
    else
        ok "TCP SIP: $two segment(s) with two messages, $split message(s) reassembled from two segments"
    fi
fi

# --- IP fragmentation
nfrag=$(jq '[.calls[].legs[] | select(.invite_fragmented)] | length' "$TRUTH")
if [ "$nfrag" -gt 0 ]; then
    got=$("${TS[@]}" -Y 'sip.Method == "INVITE" && (ip.fragment.count >= 2 || ipv6.fragment.count >= 2)' \
        -T fields -e frame.number 2>/dev/null | wc -l)
    if [ "$got" -ne "$nfrag" ]; then
        fail "fragmented INVITEs reassembled: tshark $got, truth $nfrag"
    else
        ok "$got INVITE(s) reassembled from IP fragments"
    fi
fi

# --- VLAN
jq -r '.calls[].legs[].vlan[]' "$TRUTH" | sort -un >"$TMP/vlan.truth"
if [ -s "$TMP/vlan.truth" ]; then
    "${TS[@]}" -Y 'vlan || ieee8021ad' -T fields -e vlan.id -e ieee8021ad.id 2>/dev/null |
        tr '\t,' '\n\n' | sed '/^$/d' | sort -un >"$TMP/vlan.tshark"
    if ! cmp -s "$TMP/vlan.truth" "$TMP/vlan.tshark"; then
        fail "VLAN ids: truth $(tr '\n' ' ' <"$TMP/vlan.truth"), tshark $(tr '\n' ' ' <"$TMP/vlan.tshark")"
    else
        ok "VLAN ids $(tr '\n' ' ' <"$TMP/vlan.truth")present"
    fi
fi

# --- IPv6
nv6=$(jq '[.calls[].legs[] | select(.ip_family == "ipv6")] | length' "$TRUTH")
if [ "$nv6" -gt 0 ]; then
    jq -r '.calls[].legs[] | select(.ip_family == "ipv6") | .call_id' "$TRUTH" | sort -u >"$TMP/v6.truth"
    "${TS[@]}" -Y 'ipv6 && sip.Method == "INVITE"' -T fields -e sip.Call-ID 2>/dev/null | sort -u >"$TMP/v6.tshark"
    sdp6=$("${TS[@]}" -Y 'ipv6 && sdp.connection_info.address_type == "IP6"' -T fields -e frame.number 2>/dev/null | wc -l)
    if ! cmp -s "$TMP/v6.truth" "$TMP/v6.tshark" || [ "$sdp6" -lt 2 ]; then
        fail "IPv6 SIP dialogs or c=IN IP6 SDP missing (SDP frames: $sdp6)"
    else
        ok "$nv6 IPv6 SIP dialog(s), $sdp6 SDP bodies with c=IN IP6"
    fi
fi

# --- what the scenario must contain
need() { # feature-count description
    if [ "$1" -lt 1 ]; then fail "scenario $SCEN: truth has no $2"; fi
}
case "$SCEN" in
all)
    need "$ntcp" "TCP leg"; need "$nfrag" "fragmented INVITE"; need "$nv6" "IPv6 leg"
    need "$(wc -l <"$TMP/vlan.truth")" "VLAN"; need "$ndtmf_calls" "DTMF"
    need "$(wc -l <"$TMP/garbage")" "garbage frames" ;;
tcp) need "$ntcp" "TCP leg" ;;
fragment) need "$nfrag" "fragmented INVITE" ;;
ipv6) need "$nv6" "IPv6 leg" ;;
vlan | qinq) need "$(wc -l <"$TMP/vlan.truth")" "VLAN" ;;
dtmf) need "$ndtmf_calls" "DTMF" ;;
garbage) need "$(wc -l <"$TMP/garbage")" "garbage frames" ;;
esac
if [ "$SCEN" != all ] && [ "$SCEN" != garbage ]; then
    n=$(jq --arg s "$SCEN" '[.calls[] | select(.scenario == $s)] | length' "$TRUTH")
    need "$n" "call of scenario $SCEN"
fi

if [ "$fails" -gt 0 ]; then
    echo "FAILED: $fails check(s)"
    exit 1
fi
echo "PASS"
exit 0
