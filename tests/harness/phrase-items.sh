# phrase-items.sh — sourced by the end-to-end tests that check scorecard
# phrase items against callgen's truth (tests/scoring/test-score-cli.sh,
# tests/transcribe/test-transcribe-cli.sh).
#
# phrase_items CONNINFO TRUTH SELECT OUT
#   For every truth call that the jq filter SELECT keeps (e.g.
#   'select(.outcome == "answered" and .codec == "pcmu")'), compares the
#   latest score's items greeting, verification, closing (pass when the
#   truth says the phrase was said, fail when it was left out) and
#   no_forbidden (fail when a forbidden phrase was said) with the truth.
#   Calls are joined by the inbound Call-ID. Writes OUT (JSON: n items
#   compared, wrong [{call, key, want, got}], kinds [{key, n, right}]),
#   prints each wrong item and one line per kind. Returns non-zero when the
#   export or jq fails (the caller asserts on n and wrong).
phrase_items() {
    local ci=$1 truth=$2 select=$3 out=$4
    psql "$ci" -XtAc "SELECT COALESCE(json_agg(json_build_object('call_id', c.call_id,
            'key', i.item_key, 'result', i.result)), '[]')
        FROM calls c JOIN scores s ON s.call_uuid = c.uuid JOIN score_items i ON i.score_id = s.id
        WHERE i.item_key IN ('greeting', 'verification', 'closing', 'no_forbidden')" >"$out.items" ||
        return 1
    jq -n --slurpfile i "$out.items" --slurpfile t "$truth" "
      (\$i[0] | map({(\"\\(.call_id)/\\(.key)\"): .result}) | add // {}) as \$got
      | [ \$t[0].calls[] | $select
          | . as \$c
          | ({\"greeting\": \"greeting\", \"verification\": \"verification\", \"closing\": \"closing\",
              \"no_forbidden\": \"forbidden\"} | to_entries[]) as \$e
          | ((\$c.phrases.said | index(\$e.value)) != null) as \$said
          | (if \$e.key == \"no_forbidden\" then (if \$said then \"fail\" else \"pass\" end)
             else (if \$said then \"pass\" else \"fail\" end) end) as \$want
          | {call: \$c.inbound_call_id, key: \$e.key, want: \$want,
             got: \$got[\"\\(\$c.inbound_call_id)/\\(\$e.key)\"]} ]
      | {n: length, wrong: map(select(.want != .got)),
         kinds: (group_by(.key) | map({key: .[0].key, n: length,
                                       right: map(select(.want == .got)) | length}))}" >"$out" ||
        return 1
    jq -c '.wrong[]' "$out"
    jq -r '.kinds[] | "  \(.key): \(.right) of \(.n) as the truth says"' "$out"
}
