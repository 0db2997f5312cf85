# Compares capture's call.json documents ($calls, sorted by invite_us) with a
# callgen truth file ($truth[0]). Prints one line per difference; nothing when
# every call matches. Used by test_engine_sample.c. Loss, duplicates and SSRC
# changes are compared per call with what callgen injected (its faults block).
def hp(a; p): if (a | contains(":")) then "[\(a)]:\(p)" else "\(a):\(p)" end;
def ep: "\(hp(.src; .src_port))->\(hp(.dst; .dst_port))";
# SIP over TCP: tcpreasm reports a message at the segment that completed it,
# the truth at its first segment; a split INVITE may be up to 50 ms later.
def near(a; b; tcp): if tcp and a != null and b != null and a >= b and a - b <= 50000 then b else a end;
def tep: "\(.src)->\(.dst)";
def pkts(f): group_by(f) | map({key: (.[0] | f), value: (map(.packets) | add)}) | from_entries;
[ $truth[0].calls[] as $t
  | ($calls | map(select(.call_id == $t.inbound_call_id))) as $m
  | if ($m | length) != 1 then "\($t.id): found \($m | length) times"
    else $m[0] as $c
    | [ ["outcome", $c.outcome, $t.outcome],
        ["invite_us", near($c.invite_us; $t.invite_us; $c.legs[0].transport == "tcp"), $t.invite_us],
        ["ringing_us", $c.ringing_us, $t.ringing_us],
        ["answer_us", $c.answer_us, $t.answer_us],
        ["end_us", $c.end_us, $t.end_us],
        ["abandon_us", $c.abandon_us, $t.abandon_us],
        ["ended_by", $c.ended_by, $t.hangup_by],
        ["agents", $c.agents, $t.agents],
        ["ani", $c.ani, $t.ani],
        ["dnis", $c.dnis, $t.dnis],
        ["leg_call_ids", ($c.legs | map(.call_id)), ($t.legs | map(.call_id))],
        ["leg_roles", ($c.legs | map(.role)), ($t.legs | map(.role))],
        ["leg_transport", ($c.legs | map(.transport)), ($t.legs | map(.transport))],
        ["leg_vlan", ($c.legs | map(.vlan)), ($t.legs | map(.vlan))],
        ["leg_invite", ([$c.legs, $t.legs] | transpose | map(near(.[0].invite_us; .[1].invite_us; .[0].transport == "tcp"))),
                       ($t.legs | map(.invite_us))],
        ["leg_answer", ($c.legs | map(.answer_us)), ($t.legs | map(.answer_us))],
        ["leg_end", ($c.legs | map(.end_us)), ($t.legs | map(.end_us))],
        ["leg_final", ($c.legs | map(.final_status)), ($t.legs | map(.final_code))],
        ["leg_sip_messages", ($c.legs | map(.sip_messages)), ($t.legs | map(.sip_messages))],
        ["holds", ($c.holds | map([(.start_us - $c.invite_us) / 1000, (.end_us - $c.invite_us) / 1000])),
                  ($t.holds | map([.start_ms, .end_ms]))],
        ["transfers", ($c.transfers | map([.kind, .from, .to, (.at_us - $c.invite_us) / 1000])),
                      ($t.transfers | map([.method, .from_agent, .to_agent, .at_ms]))],
        ["dtmf", ($c.dtmf | map(.digit) | join("")), $t.dtmf_digits],
        ["dtmf_at", ($c.dtmf | map((.at_us - $c.invite_us) / 1000 | floor)), ($t.dtmf | map(.at_ms))],
        ["rtp_packets", ($c.streams | pkts(ep)), ($t.rtp_streams | pkts(tep))],
        ["lost", ($c.streams | map(.lost) | add // 0), ($t.faults.packets_dropped // 0)],
        ["duplicates", ($c.streams | map(.duplicates) | add // 0), ($t.faults.packets_duplicated // 0)],
        ["ssrc_changes", ($c.streams | map(.ssrc_changes) | add // 0), ($t.faults.ssrc_changes // 0)]
      ]
    | map(select(.[1] != .[2]) | "\($t.id): \(.[0]) got \(.[1] | tojson) want \(.[2] | tojson)")
    | .[]
    end ]
+ (if ($calls | length) != ($truth[0].calls | length)
   then ["calls: got \($calls | length) want \($truth[0].calls | length)"] else [] end)
| .[]
