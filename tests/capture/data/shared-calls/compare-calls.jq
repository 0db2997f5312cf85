# compare-calls.jq — callscope-capture's call.json files against tshark's
# reference (tshark-calls.jq) for one capture.
#
# jq -n -r --slurpfile ref REF.json --slurpfile calls ALL-CALL-JSON
# prints one line per difference: KEY <TAB> MESSAGE, where KEY is what the
# exceptions file matches ("calls", "call CALL-ID final_status", ...).
#
# Checked: as many calls as tshark's dialogs, one leg each (no correlation
# header configured), every dialog's Call-ID and INVITE time; for a complete
# dialog (initial INVITE and final response seen) also the leg's and the
# call's final status, answer time (the 2xx packet's time in µs) and outcome,
# the DTMF digit string and the packet count of every RTP stream (a
# call.json stream is compared with the sum of tshark's streams of its
# SSRCs; every tshark SSRC must belong to one call.json stream).

$ref[0] as $r
| $calls as $c
| def line($k; $m): "\($k)\t\($m)";
  def status($x): if $x == null then "none" else $x end;
  ($r.dialogs | length) as $nd
| ([$c[].legs[]] | length) as $nl
| (if ($c | length) != $nd then
     line("calls"; "tshark sees \($nd) INVITE dialog(s) (\([$r.dialogs[].call_id] | join(", "))); callscope-capture wrote \($c | length) call(s) (\([$c[].call_id] | join(", ")))")
   else empty end),
  (if $nl != ($c | length) then
     line("legs"; "no correlation header is configured, so each call has one leg: callscope-capture wrote \($nl) legs in \($c | length) calls")
   else empty end),
  ($r.multi_sip_frames[] | line("tshark frame \(.)"; "several SIP messages in one frame: this test cannot pair tshark's fields, compare by hand")),
  # every tshark dialog
  ($r.dialogs[] as $d
   | "call \($d.call_id)" as $k
   | ([$c[] | select(any(.legs[]; .call_id == $d.call_id and .invite_us == $d.invite_us))]
      + [$c[] | select(any(.legs[]; .call_id == $d.call_id))])[0] as $call
   | if $call == null then
       line("\($k) missing"; "tshark: INVITE at \($d.invite_us) us, final \(status($d.final_status)); no call.json has this Call-ID")
     else
       ([$call.legs[] | select(.call_id == $d.call_id)][0]) as $leg
       | (if $leg.invite_us != $d.invite_us then
            line("\($k) invite_us"; "tshark: first INVITE at \($d.invite_us) us; call.json leg invite_us \($leg.invite_us)") else empty end),
         (if $d.complete then
            (if $leg.final_status != $d.final_status or $call.final_status != $d.final_status then
               line("\($k) final_status"; "tshark: final response \($d.final_status); call.json leg \(status($leg.final_status)), call \(status($call.final_status))") else empty end),
            (if $leg.answer_us != $d.answer_us or $call.answer_us != $d.answer_us then
               line("\($k) answer_us"; "tshark: answer (2xx) at \($d.answer_us // "none") us; call.json leg \($leg.answer_us // "null"), call \($call.answer_us // "null")") else empty end),
            ((if $d.bye then "bye" elif $d.final_status >= 300 then
                (if $d.cancel then "cancel" else "final_response" end) else null end) as $er
             | if $er != null and $call.end_reason != $er then
                 line("\($k) end_reason"; "tshark: \(if $d.bye then "BYE" elif $d.cancel then "CANCEL, final \($d.final_status)" else "final \($d.final_status)" end) -> \($er); call.json end_reason \($call.end_reason)") else empty end),
            (if $call.outcome != $d.outcome then
               line("\($k) outcome"; "tshark: final \($d.final_status)\(if $d.cancel then " after CANCEL" else "" end) -> \($d.outcome); call.json \($call.outcome)") else empty end),
            (([$call.dtmf[].digit] | join(""))) as $digits
            | (if $digits != $d.dtmf then
                 line("\($k) dtmf"; "tshark: RFC 4733 digits \"\($d.dtmf)\"; call.json \"\($digits)\"") else empty end),
            # streams: call.json stream vs the sum of tshark's streams of its SSRCs
            ($call.streams[] as $s
             | ([$d.streams[] | select(.ssrc as $x | $s.ssrcs | index($x))] | map(.packets) | add // 0) as $tp
             | if $tp != $s.packets then
                 line("\($k) stream \($s.ssrc) packets"; "tshark: \($tp) RTP packets with SSRC \($s.ssrcs | join("/")) tied to this dialog's SDP; call.json stream \($s.index) (\($s.src):\($s.src_port) -> \($s.dst):\($s.dst_port), \($s.direction)) has \($s.packets)\(if ($s.ssrcs | length) < ($s.ssrc_changes + 1) then " (more SSRCs than listed)" else "" end)")
               else empty end),
            ($d.streams[] as $t
             | if any($call.streams[]; .ssrcs | index($t.ssrc)) then empty
               else line("\($k) stream \($t.ssrc) missing"; "tshark: RTP stream \($t.src) -> \($t.dst) SSRC \($t.ssrc), \($t.packets) packets, set up by this dialog's SDP; no call.json stream has this SSRC") end)
          else empty end)
     end),
  # calls tshark has no dialog for
  ($c[] as $call
   | $call.legs[] as $leg
   | if any($r.dialogs[]; .call_id == $leg.call_id) then empty
     else line("call \($leg.call_id) extra"; "call.json leg with INVITE at \($leg.invite_us) us, outcome \($call.outcome): tshark sees no initial INVITE with this Call-ID") end)
