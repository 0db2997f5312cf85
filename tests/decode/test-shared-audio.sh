#!/usr/bin/env bash
# test-shared-audio.sh CAPTURE-BINARY SHARED-AUDIO-TOOL
#
# The decode stage's audio over the real captures written by others
# ($CALLSCOPE_SHARED_DATA/pcaps: Wireshark wiki samples, SIPp, pkts, nDPI,
# heplify, sngrep), judged against an independent decode of the same RTP
# payloads in the same run; no expected sample is written down here.
#
# For every file in the folder:
#   - callscope-capture turns it into spool entries, exactly as
#     tests/capture/test-shared-calls.sh runs it (empty configuration,
#     capture.sip_ports = the ports tshark sees SIP on, computed with that
#     test's tshark-calls.jq; a file libpcap cannot open is converted with
#     editcap -F pcap first);
#   - each entry is rendered by decode/render.h (shared_audio_tool render:
#     channel 1 = customer_to_pbx streams, channel 2 = pbx_to_customer);
#   - tshark (its own empty preferences; each stream's source port decoded as
#     RTP) exports every RTP packet of each rendered stream (its 4-tuple and
#     its negotiated audio payload type): SSRC, sequence number, timestamp,
#     arrival time, payload bytes;
#   - independent decode: G.711 (PCMU/PCMA) and L16 payloads, concatenated in
#     capture order, are decoded by sox; G.722, G.729 and Opus by
#     tools/callgen's decoders (cg_codec.h: spandsp, bcg729, libopus through
#     callgen's code, not decode/codec.c), packets in sequence order;
#   - shared_audio_tool compare places each packet where the timeline's
#     documented rule (decode/timeline.h: minimum-transit anchor, segments
#     on timestamp jumps, drift windows, 300 ms jitter-buffer hold) puts it,
#     re-stated independently from the packets' arrival times and RTP
#     timestamps relative to the call's INVITE, then looks for the packet's
#     samples within +-20 ms of that place (the previous packet's offset
#     first). A packet is "exact" when all its samples are identical at one
#     offset; "cut" when only a head or tail run of it is, and the samples
#     missing are no more than the step by which the anchor moved between
#     its exact neighbours + 2 (the timeline drops the head of a frame that a
#     lowered anchor makes overlap its predecessor, documented); anything
#     else is "not" (inexact). Required:
#       G.711, L16: no inexact packet, checked > 0, offsets within +-20 ms;
#       G.722, G.729, Opus: the same (same libraries, same packets, same
#                   order); only when packets are missing from the capture
#                   (the renderer conceals them, the independent decoder
#                   cannot) correlation >= 0.99 over the checked packets;
#   - a stream whose codec we do not decode (GSM, iLBC, Speex, G.726, DVI4,
#     LPC, ...) must carry the renderer's "unsupported codec" reason, and the
#     call must still have rendered.
# Every difference fails unless data/shared-audio/exceptions.txt explains it
# (file <TAB> key glob <TAB> reason); an exception that matches nothing fails
# too. Prints one line per stream, one per file and a total.
# CS_SHARED_AUDIO_ONLY=GLOB runs only the files matching it; CS_KEEP_TMP=1
# keeps the work directory (per file: render output, tshark export, sox
# decode) for a look with SHARED_AUDIO_DEBUG=1 shared_audio_tool compare ...
# Needs tshark, editcap, jq, sox, xxd. Skips (77) without them or without the data.
set -u
shopt -s extglob
BIN=${1:?usage: test-shared-audio.sh CAPTURE-BINARY SHARED-AUDIO-TOOL}
TOOL=${2:?usage: test-shared-audio.sh CAPTURE-BINARY SHARED-AUDIO-TOOL}
SRC=${CALLSCOPE_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SHARED=${CALLSCOPE_SHARED_DATA:-$SRC/../shared/data}
PCAPS=$SHARED/pcaps
CALLS_JQ=$SRC/tests/capture/data/shared-calls/tshark-calls.jq
EXCEPTIONS=$SRC/tests/decode/data/shared-audio/exceptions.txt

if [ ! -d "$PCAPS" ]; then
    echo "SKIP: $PCAPS is absent (the shared captures live outside the repository, see ../shared/data/README.md)"
    exit 77
fi
for tool in tshark editcap jq sox xxd; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
[ -x "$BIN" ] || { echo "FAIL: $BIN is not executable"; exit 1; }
[ -x "$TOOL" ] || { echo "FAIL: $TOOL is not executable"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/cs-shared-audio.XXXXXX")
[ -n "${CS_KEEP_TMP:-}" ] || trap 'rm -rf "$T"' EXIT
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

# Results of one file in its directory D: D/fails (lines that fail the test),
# D/diffs (KEY <TAB> MESSAGE, judged against the exceptions afterwards),
# D/report (one line per stream: how it compared), D/counts.

capture() {
    local input=$1 d=$2
    rm -rf "$d/spool"
    CALLSCOPE_CONFIG=$T/empty.conf "$BIN" -q --probe shared --set "capture.sip_ports=$PORTS" \
        --spool "$d/spool" -r "$input" >"$d/cap.out" 2>"$d/cap.err" </dev/null
    RC=$?
}

# codec name of call.json -> the compare tool's name; empty: not decoded here
codec_of() {
    case ${1,,} in
    pcmu) echo pcmu ;; pcma) echo pcma ;; g722) echo g722 ;; g729 | g729a) echo g729 ;;
    opus) echo opus ;; l16) echo l16 ;; *) echo "" ;;
    esac
}

# compare_stream D E LINE: one rendered stream of entry E (render output in D/E.r)
compare_stream() {
    local d=$1 e=$2 r=$1/$2.r
    local idx chn codec pt clock src sport dst dport npk ndec nref reason
    IFS=$'\t' read -r idx chn codec pt clock src sport dst dport _ npk ndec nref reason <<<"$3"
    local key="stream $idx $codec ($src:$sport->$dst:$dport)"
    local rate frames invite
    read -r rate frames invite _ <"$r/info"
    [ "$chn" = 1 ] || [ "$chn" = 2 ] || return 0
    local c
    c=$(codec_of "$codec")
    if [ -z "$c" ] || [ "$pt" = - ] || [[ $reason == *"unsupported codec"* ]]; then
        if [[ $reason == *"unsupported codec"* ]]; then
            echo "$key: not decoded, as it should be: $reason (call rendered, $frames samples at $rate Hz)" >>"$d/report"
            echo unsupported >>"$d/counts"
        elif [ "$npk" = 0 ]; then
            echo "$key: no RTP packet of it in call.pcap" >>"$d/report"
            echo empty >>"$d/counts"
        else
            printf '%s\tcodec %s is not decoded but the stream says "%s"\n' "$key" "$codec" "$reason" >>"$d/diffs"
        fi
        return 0
    fi
    if [ "$reason" != - ] && [ "$nref" -gt 0 ]; then
        # other packets of the stream were refused (their reason kept), the
        # audio payload type is still compared
        echo "$key: status \"$reason\" ($nref packets refused, $ndec decoded)" >>"$d/report"
    elif [ "$reason" != - ]; then
        printf '%s\trenderer reason: %s (%s packets, %s decoded, none refused)\n' "$key" "$reason" "$npk" "$ndec" >>"$d/diffs"
    fi
    # this stream's RTP from tshark's export: 4-tuple and audio payload type
    local base=$r/s$idx
    awk -F'\t' -v s="$src" -v sp="$sport" -v t="$dst" -v tp="$dport" -v pt="$pt" '
        { sa = ($1 != "") ? $1 : $2; da = ($4 != "") ? $4 : $5 }
        sa == s && $3 == sp && da == t && $6 == tp && $8 == pt && $12 != "" && $14 == "" {
            p = $12; gsub(":", "", p); print $7 "\t" $9 "\t" $10 "\t" $11 "\t" p "\t" $13 }' "$d/rtp.tsv" >"$base.pkts"
    local n
    n=$(wc -l <"$base.pkts")
    if [ "$n" -eq 0 ]; then
        local nsrtp
        nsrtp=$(awk -F'\t' -v s="$src" -v sp="$sport" -v t="$dst" -v tp="$dport" '
            { sa = ($1 != "") ? $1 : $2; da = ($4 != "") ? $4 : $5 }
            sa == s && $3 == sp && da == t && $6 == tp && $14 != "" { n++ } END { print n + 0 }' "$d/rtp.tsv")
        if [ "$nsrtp" -gt 0 ] && [ "$ndec" = 0 ] && [[ $reason == SRTP* ]]; then
            # encrypted: nothing decoded, the stream says why, the call rendered as silence
            echo "$key: SRTP ($nsrtp encrypted packets), not decoded, as it should be: $reason" >>"$d/report"
            echo unsupported >>"$d/counts"
        elif [ "$nsrtp" -gt 0 ]; then
            printf '%s srtp\ttshark: %s SRTP packets (encrypted payload) on this 4-tuple; the renderer decoded %s of %s packets as %s audio (reason "%s")\n' \
                "$key" "$nsrtp" "$ndec" "$npk" "$codec" "$reason" >>"$d/diffs"
        elif [ "$npk" = 0 ]; then
            echo "$key: no RTP packet of it (capture: none, tshark: none)" >>"$d/report"
            echo empty >>"$d/counts"
        else
            printf '%s\ttshark exports no RTP of payload type %s on this 4-tuple; the renderer saw %s packets\n' \
                "$key" "$pt" "$npk" >>"$d/diffs"
        fi
        return 0
    fi
    local refarg=() nch=1
    if [ "$c" = l16 ]; then
        # call.json has no channel count: the SDP of this call says it
        local cid
        cid=$(jq -r .call_id "$d/spool/ready/$e/call.json")
        if HOME=$T/home XDG_CONFIG_HOME=$T/home tshark -n -r "$d/input" -Y "sdp && sip.Call-ID == \"$cid\"" \
            -T fields -e sdp.media_attr 2>/dev/null | tr ',' '\n' | grep -qx "rtpmap:$pt L16/$clock/2"; then
            c=l16s nch=2
        fi
    fi
    case $c in
    pcmu | pcma | l16 | l16s)
        cut -f5 "$base.pkts" | tr -d '\n' | xxd -r -p >"$base.enc"
        local in=(-t ul -r 8000 -c 1)
        [ "$c" = pcma ] && in=(-t al -r 8000 -c 1)
        [ "$c" = l16 ] || [ "$c" = l16s ] && in=(-t raw -e signed-integer -b 16 -B -r "$clock" -c "$nch")
        if ! sox -D "${in[@]}" "$base.enc" -t raw -e signed-integer -b 16 -L "$base.ref" 2>"$base.sox"; then
            echo "$key: sox: $(head -1 "$base.sox")" >>"$d/fails"
            return 0
        fi
        refarg=("$base.ref")
        ;;
    esac
    local chfile=$r/ch$chn.s16
    if ! "$TOOL" compare "$chfile" "$rate" "$frames" "$invite" "$c" "$clock" "$base.pkts" "${refarg[@]}" \
        >"$base.cmp" 2>"$base.err"; then
        echo "$key: compare: $(head -1 "$base.err")" >>"$d/fails"
        return 0
    fi
    local ln ok why
    local ssrc_v packets_v dups_v gaps_v checked_v exact_v cut_v inexact_v silent_v segments_v changes_v corr_v
    local offset_ms_v min_ms_v max_ms_v
    while read -r ln; do
        # ssrc= packets= dups= gaps= checked= exact= cut= inexact= silent= segments= changes= corr=
        # offset_ms= min_ms= max_ms=
        eval "$(sed -E 's/([a-z_]+)=/\1_v=/g' <<<"$ln")"
        ok=1 why=""
        if [ "$checked_v" -eq 0 ]; then
            ok=0 why="no packet inside the call"
        elif ! awk -v a="$min_ms_v" -v b="$max_ms_v" 'BEGIN { exit !(a >= -20 && b <= 20) }'; then
            ok=0 why="offsets $min_ms_v..$max_ms_v ms outside +-20 ms"
        elif [ "$inexact_v" -ne 0 ]; then
            case $c in
            pcmu | pcma | l16 | l16s)
                ok=0 why="$inexact_v of $checked_v packets not sample-exact at any offset within +-20 ms ($cut_v more cut at a re-anchor)"
                ;;
            *)
                # sample-exact unless packets are missing (then the renderer
                # conceals, the independent decoder does not)
                if [ "$gaps_v" -eq 0 ]; then
                    ok=0 why="$inexact_v of $checked_v packets not sample-exact at any offset within +-20 ms, no packet missing"
                elif ! awk -v r="$corr_v" 'BEGIN { exit !(r >= 0.99) }'; then
                    ok=0 why="correlation $corr_v < 0.99 ($exact_v of $checked_v packets exact, $gaps_v missing)"
                fi
                ;;
            esac
        fi
        local line="$key ssrc $ssrc_v ch$chn $c: $packets_v packets ($dups_v dup, $gaps_v missing), $checked_v checked:"
        line+=" $exact_v sample-exact ($silent_v silent), $cut_v cut by a re-anchor, $inexact_v not;"
        line+=" $segments_v segment(s), $changes_v offset changes, corr $corr_v,"
        line+=" offset $offset_ms_v ms (range $min_ms_v..$max_ms_v)"
        echo "$line" >>"$d/report"
        echo "pk $checked_v $exact_v $cut_v $min_ms_v $max_ms_v" >>"$d/counts"
        if [ "$ok" -eq 1 ]; then
            if [ "$exact_v" -eq "$checked_v" ]; then
                echo "exact $c" >>"$d/counts"
            elif [ $((exact_v + cut_v)) -eq "$checked_v" ]; then
                echo "cut $c" >>"$d/counts"
            else
                echo "corr $c" >>"$d/counts"
            fi
        else
            printf '%s ssrc %s\t%s\n' "$key" "$ssrc_v" "$why" >>"$d/diffs"
        fi
    done <"$base.cmp"
}

check_file() {
    local f=$1 d=$2 name=${1##*/} input=$1
    : >"$d/fails"
    : >"$d/diffs"
    : >"$d/report"
    : >"$d/counts"
    if ! HOME=$T/home XDG_CONFIG_HOME=$T/home tshark -n -r "$f" -o rtp.heuristic_rtp:FALSE \
        -Y 'sip or rtp' -T fields -E occurrence=a -E aggregator=$'\x1f' "${TSHARK_FIELDS[@]}" \
        >"$d/tshark.tsv" 2>"$d/tshark.err"; then
        echo "$name: tshark cannot read it: $(head -1 "$d/tshark.err")" >>"$d/fails"
        return
    fi
    if ! PORTS=$(jq -R -n -r -f "$CALLS_JQ" "$d/tshark.tsv" 2>"$d/jq.err" | jq -r '.sip_ports | join(",")'); then
        echo "$name: tshark-calls.jq: $(head -1 "$d/jq.err")" >>"$d/fails"
        return
    fi
    capture "$f" "$d"
    if [ "$RC" -eq 1 ] && grep -q 'cannot read' "$d/cap.err"; then
        if ! editcap -F pcap "$f" "$d/converted.pcap" 2>"$d/editcap.err"; then
            echo "$name: editcap -F pcap: $(head -1 "$d/editcap.err")" >>"$d/fails"
            return
        fi
        input=$d/converted.pcap
        capture "$input" "$d"
    fi
    ln -sf "$input" "$d/input"
    if [ "$RC" -ne 0 ]; then
        echo "$name: callscope-capture exited $RC: $(tail -1 "$d/cap.err")" >>"$d/fails"
        return
    fi
    local entries=() e
    for e in "$d"/spool/ready/*/; do
        [ -f "$e/call.json" ] && entries+=("$e")
    done
    echo "${#entries[@]}" >"$d/ncalls"
    [ "${#entries[@]}" -eq 0 ] && return
    # render every entry; collect the rendered streams' source ports
    local dports=() en
    for e in "${entries[@]}"; do
        en=$(basename "$e")
        mkdir -p "$d/$en.r"
        if ! "$TOOL" render "$e" "$d/$en.r" 2>"$d/$en.r/err"; then
            printf 'call %s render\t%s\n' "$(jq -r .call_id "$e/call.json")" "$(head -1 "$d/$en.r/err")" >>"$d/diffs"
            continue
        fi
        # the recording lasts exactly as long as the call: round((end - invite) * rate)
        local rate frames inv end cid
        read -r rate frames inv end _ <"$d/$en.r/info"
        cid=$(jq -r .call_id "$e/call.json")
        if ! awk -v r="$rate" -v f="$frames" -v i="$inv" -v e="$end" \
            'BEGIN { x = (e - i) * r / 1e6; exit !(f == int(x + 0.5)) }'; then
            printf 'call %s duration\t%s samples at %s Hz for a call of %s us\n' "$cid" "$frames" "$rate" "$((end - inv))" >>"$d/diffs"
        fi
        echo "call $cid: $(awk -v r="$rate" -v f="$frames" 'BEGIN { printf "%.3f s at %d Hz", f / r, r }'), as long as the call" >>"$d/report"
        while IFS=$'\t' read -r idx chn codec _ _ src sport dst dport _; do
            if [ "$chn" = 1 ] || [ "$chn" = 2 ]; then
                dports+=(-d "udp.port==$sport,rtp")
            else
                echo "stream $idx $codec ($src:$sport->$dst:$dport): not rendered (channel 0: agent leg or direction unknown)" >>"$d/report"
            fi
        done <"$d/$en.r/streams.tsv"
    done
    # one tshark export of the RTP for all of them (innermost IP header last)
    if ! HOME=$T/home XDG_CONFIG_HOME=$T/home tshark -n -r "$input" -o rtp.heuristic_rtp:FALSE "${dports[@]}" \
        -Y rtp -T fields -E occurrence=l -e ip.src -e ipv6.src -e udp.srcport -e ip.dst -e ipv6.dst \
        -e udp.dstport -e rtp.ssrc -e rtp.p_type -e rtp.seq -e rtp.timestamp -e frame.time_epoch \
        -e rtp.payload -e rtp.marker -e srtp.enc_payload >"$d/rtp.tsv" 2>"$d/tshark2.err"; then
        echo "$name: tshark RTP export: $(head -1 "$d/tshark2.err")" >>"$d/fails"
        return
    fi
    for e in "${entries[@]}"; do
        en=$(basename "$e")
        [ -f "$d/$en.r/streams.tsv" ] || continue
        while IFS= read -r line; do
            compare_stream "$d" "$en" "$line"
        done <"$d/$en.r/streams.tsv"
    done
}

JOBS=${CALLSCOPE_TEST_JOBS:-2}
NAMES=()
ONLY=${CS_SHARED_AUDIO_ONLY:-*} # a glob of file names, to look at a few (skips the stale check)
for f in "$PCAPS"/*; do
    [ -f "$f" ] || continue
    # shellcheck disable=SC2254 # a glob on purpose
    case ${f##*/} in $ONLY) ;; *) continue ;; esac
    NAMES+=("${f##*/}")
    mkdir -p "$T/${f##*/}"
    while [ "$(jobs -pr | wc -l)" -ge "$JOBS" ]; do wait -n; done
    check_file "$f" "$T/${f##*/}" &
done
wait

NFILES=0 NCALLS=0 NEXACT=0 NCUT=0 NCORR=0 PCHECK=0 PEXACT=0 PCUT=0 OFFS='' NUNSUP=0 NEMPTY=0 NEXCEPTED=0 NDIFF=0
for name in "${NAMES[@]}"; do
    d=$T/$name
    NFILES=$((NFILES + 1))
    if [ -s "$d/fails" ]; then
        while IFS= read -r line; do fail "$line"; done <"$d/fails"
        continue
    fi
    nc=$(cat "$d/ncalls" 2>/dev/null || echo 0)
    NCALLS=$((NCALLS + nc))
    sed "s/^/    $name: /" "$d/report"
    ex=$(grep -c '^exact' "$d/counts") cu=$(grep -c '^cut' "$d/counts") co=$(grep -c '^corr' "$d/counts")
    un=$(grep -c '^unsupported' "$d/counts") em=$(grep -c '^empty' "$d/counts")
    read -r pc pe pu <<<"$(awk '$1 == "pk" { c += $2; e += $3; u += $4 } END { print c + 0, e + 0, u + 0 }' "$d/counts")"
    PCHECK=$((PCHECK + pc)) PEXACT=$((PEXACT + pe)) PCUT=$((PCUT + pu))
    OFFS+=" $(awk '$1 == "pk" { print $5, $6 }' "$d/counts" | tr '\n' ' ')"
    NEXACT=$((NEXACT + ex)) NCUT=$((NCUT + cu)) NCORR=$((NCORR + co)) NUNSUP=$((NUNSUP + un)) NEMPTY=$((NEMPTY + em))
    nbad=0 nexc=0
    while IFS=$'\t' read -r key msg; do
        if excepted "$name" "$key"; then
            echo "excepted: $name: $key: $msg ($WHY)"
            nexc=$((nexc + 1))
        else
            fail "$name: $key: $msg"
            nbad=$((nbad + 1))
        fi
    done <"$d/diffs"
    NEXCEPTED=$((NEXCEPTED + nexc)) NDIFF=$((NDIFF + nbad))
    st=ok
    [ "$nbad" -gt 0 ] && st=FAIL
    echo "$st: $name: $nc call(s); SSRC streams sample-exact $ex, sample-exact but for anchor-step cuts $cu, correlated $co; unsupported codec $un; no RTP $em; excepted $nexc; unexplained $nbad"
done

# with CS_SHARED_AUDIO_ONLY, unused lines are not stale: their files were not read
[ "$ONLY" = "*" ] && exceptions_stale

echo "reference: $(tshark -v 2>/dev/null | head -1); $(sox --version 2>/dev/null | head -1)"
echo "shared audio: $NFILES files, $NCALLS calls; SSRC streams: $NEXACT sample-exact," \
    "$NCUT sample-exact but for packets cut at an anchor step, $NCORR within correlation," \
    "$NUNSUP unsupported codec (reason checked), $NEMPTY without RTP; $NEXCEPTED excepted differences" \
    "(${#EXC_FILE[@]} exception lines), $NDIFF unexplained differences"
echo "packets compared: $PCHECK, $PEXACT sample-exact, $PCUT cut at an anchor step, $((PCHECK - PEXACT - PCUT)) neither (excepted streams);" \
    "offsets from the nominal place: $(tr ' ' '\n' <<<"$OFFS" | awk 'NF { if (n == 0 || $1 < lo) lo = $1; if (n == 0 || $1 > hi) hi = $1; n++ }
        END { if (n) printf "%.3f..%.3f ms", lo, hi; else printf "none" }')"
if [ "$NFILES" -eq 0 ]; then
    echo "SKIP: no capture in $PCAPS"
    exit 77
fi
[ "$FAILS" -eq 0 ] || { echo "$FAILS failure(s)"; exit 1; }
echo "PASS"
