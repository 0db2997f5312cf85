# tshark-calls.jq — the reference calls of one capture, from tshark's fields.
#
# Input (jq -R -n): the lines of
#   tshark -n -r FILE -Y 'sip or rtp' -T fields -E occurrence=a -E aggregator=<US>
#     -e frame.number -e frame.time_epoch -e ip.src -e ipv6.src -e udp.srcport
#     -e tcp.srcport -e ip.dst -e ipv6.dst -e udp.dstport -e tcp.dstport
#     -e sip.Call-ID -e sip.Method -e sip.Status-Code -e sip.CSeq.method
#     -e sip.CSeq.seq -e sip.from.tag -e sip.to.tag -e rtp.ssrc -e rtp.p_type
#     -e rtp.timestamp -e rtp.setup-frame -e rtpevent.event_id
#     -e rtpevent.end_of_event -e frame.protocols
# (US = 0x1f, between the values of a field that occurs several times in a
# frame: the inner header of IP-in-IP wins, i.e. the last value).
#
# Output: {sip_ports (the ports tshark saw SIP on, 5060 first, at most 16),
# multi_sip_frames (frames with several SIP messages, whose fields cannot be
# paired), dialogs: [...]}, one dialog per
# SIP dialog that tshark shows an initial INVITE for (INVITE without To tag):
#   call_id, invite_us (first initial INVITE), final_status (first final
#   response to an INVITE of the dialog's initial transaction: 401/407
#   challenges are not final), answer_us (that response's time when 2xx),
#   cancel, bye (seen), complete (initial INVITE and final response seen),
#   outcome (docs/capture-calls.md: 2xx answered, CANCEL abandoned, 486/600
#   busy, 480/408 no_answer, else failed; null while incomplete),
#   streams [{ssrc, src, dst, packets, first_us}] (RTP that tshark ties to an
#   SDP of the dialog: rtp.setup-frame, see below), dtmf (RFC 4733 digits 0-9*#A-D whose event
#   has an end packet, one per (SSRC, RTP timestamp), in order of the event's
#   first packet).
# A Call-ID whose dialog ended (BYE or final failure) and that then carries
# an initial INVITE with another From tag or CSeq starts a new dialog
# (docs/capture-calls.md, "Legs and calls").

def us: split(".") as $p | ($p[0] | tonumber) * 1000000 + ((($p[1] // "0") + "000000")[0:6] | tonumber);
def last_of: split("\u001f") | last;
def addr($ip4; $ip6; $udp; $tcp):
  (if $ip4 != "" then ($ip4 | last_of) else "[" + ($ip6 | last_of) + "]" end)
  + ":" + (if $udp != "" then ($udp | last_of) else ($tcp | last_of) end);

[inputs | split("\t") | select(length >= 23)
 | {frame: (.[0] | tonumber), us: (.[1] | us),
    src: addr(.[2]; .[3]; .[4]; .[5]), dst: addr(.[6]; .[7]; .[8]; .[9]),
    sport: (.[4] + .[5]), dport: (.[8] + .[9]),
    cid: .[10], method: .[11], status: .[12], cseq_method: .[13], cseq: .[14],
    ftag: .[15], ttag: .[16],
    ssrc: .[17], pt: .[18], ts: .[19], setup: .[20], ev: .[21], end: .[22]}]
| . as $rows
| [$rows[] | select(.cid != "")] as $sip
| [$sip[] | select(.cid | contains("\u001f"))] as $multi
| [$sip[] | select(.cid | contains("\u001f") | not)] as $sip1
# SIP ports a site would configure: every UDP/TCP port tshark saw SIP on,
# 5060 first, at most 16 (the most used ones).
| ([$sip1[] | .sport, .dport | select(. != "") | split("\u001f") | last]
   | group_by(.) | map({p: .[0], n: length}) | sort_by(-.n) | map(.p)
   | (["5060"] + map(select(. != "5060"))) | .[0:16]) as $ports
# frame number -> Call-ID, for rtp.setup-frame
| (reduce $sip1[] as $m ({}; .[$m.frame | tostring] = $m.cid)) as $frame_cid
# dialogs: walk each Call-ID's messages in frame order
| ([$sip1 | group_by(.cid)[] | sort_by(.frame)
    | reduce .[] as $m ([];
        (if length == 0 then null else .[-1] end) as $d
        | if $m.method == "INVITE" and $m.ttag == ""
             and ($d == null or ($d.ended and ($m.ftag != $d.ftag or $m.cseq != $d.cseq))) then
            . + [{call_id: $m.cid, invite_us: $m.us, first_frame: $m.frame, ftag: $m.ftag,
                  cseq: $m.cseq, final_status: null, answer_us: null, cancel: false,
                  bye: false, ended: false}]
          elif $d == null then .
          elif $m.method == "INVITE" and $m.ttag == "" and $d.final_status == null then
            .[-1].cseq = $m.cseq          # INVITE again after a 401/407 challenge
          elif $m.method == "" and $m.cseq_method == "INVITE" and $m.cseq == $d.cseq
               and $d.final_status == null and ($m.status | tonumber) >= 200
               and $m.status != "401" and $m.status != "407" then
            .[-1].final_status = ($m.status | tonumber)
            | if ($m.status | tonumber) < 300 then .[-1].answer_us = $m.us
              else .[-1].ended = true end
          elif $m.method == "CANCEL" and $d.final_status == null then .[-1].cancel = true
          elif $m.method == "BYE" then .[-1].bye = true | .[-1].ended = true
          else . end)
    | .[]]) as $dialogs
# RTP tied to a dialog: by the Call-ID of its setup frame (rtp.setup-frame),
# then the latest dialog of that Call-ID that started before that frame. A
# packet whose conversation tshark last set up from something else than SIP
# (ZRTP Conf2ACK, a MEGACO/H.248 SDP of the media gateway) keeps the dialog
# of the SIP setup before it on the same address pair (or the first one).
| [$rows[] | select(.ssrc != "" and .setup != "")
   | . + {sf: (.setup | split("\u001f") | last), flow: (.src + ">" + .dst)}
   | . + {cid0: ($frame_cid[.sf] // "")}]
  | [group_by(.flow)[] | sort_by(.frame)
     | ([.[] | select(.cid0 != "")][0]) as $first
     | select($first != null)
     | foreach .[] as $p ($first; if $p.cid0 != "" then $p else . end;
                          $p + {cid: .cid0, setup: .sf})] as $rtp
| {sip_ports: $ports,
   multi_sip_frames: [$multi[] | .frame],
   dialogs: [$dialogs[] as $d
     | ([$dialogs[] | select(.call_id == $d.call_id and .first_frame > $d.first_frame)
         | .first_frame] | min) as $next
     | [$rtp[] | select(.cid == $d.call_id and (.setup | tonumber) >= $d.first_frame
                       and ($next == null or (.setup | tonumber) < $next))] as $media
     | $d
     | .complete = (.final_status != null)
     | .outcome = (if .final_status == null then null
                   elif .final_status < 300 then "answered"
                   elif .cancel then "abandoned"
                   elif .final_status == 486 or .final_status == 600 then "busy"
                   elif .final_status == 480 or .final_status == 408 then "no_answer"
                   else "failed" end)
     | .streams = ([$media | group_by([.ssrc, .src, .dst])[]
                    | {ssrc: .[0].ssrc, src: .[0].src, dst: .[0].dst, packets: length,
                       first_us: (map(.us) | min)}] | sort_by(.first_us))
     | .dtmf = ([$media[] | select(.ev != "")] | group_by([.ssrc, .ts])
                | map(select(any(.[]; .end == "1" or .end == "True"))
                      | {at: (map(.us) | min), ev: (.[0].ev | tonumber)})
                | map(select(.ev < 16)) | sort_by(.at)
                | map("0123456789*#ABCD"[.ev:.ev + 1]) | join(""))
     | del(.ftag, .cseq, .ended, .first_frame)]}
