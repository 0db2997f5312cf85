# `callscope calls` end to end: the real binary against the test PostgreSQL,
# calls and utterances on both channels inserted as decode/transcribe write
# them; filters, --text/--channel, CSV/JSON/table output, usage errors, and
# EXPLAIN on 100000 utterances showing the search uses utterances_tsv_idx.
add_test(NAME cli_calls
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test-cli-calls.sh $<TARGET_FILE:callscope>)
set_tests_properties(cli_calls PROPERTIES
  FIXTURES_REQUIRED pg LABELS "db;cli" SKIP_RETURN_CODE 77 TIMEOUT 300
  ENVIRONMENT "CALLSCOPE_TEST_PG=${CALLSCOPE_TEST_PG_FILE}")
