# callscope-score against callgen's truth (tests/scoring/test-score-cli.sh): a
# mixed callgen capture with repeat callers and scripted phrases through the
# real capture, decode and transcribe stages into the test PostgreSQL, scored
# with deploy/scorecard.json and deploy/directory.conf.
if(TARGET callscope-score AND TARGET callscope-decode AND TARGET callscope-capture
   AND TARGET callgen AND TARGET callscope AND TARGET callscope-transcribe)
  add_test(NAME test_score_cli
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test-score-cli.sh
                   $<TARGET_FILE:callscope-score> $<TARGET_FILE:callscope-decode>
                   $<TARGET_FILE:callscope-capture> $<TARGET_FILE:callgen>
                   $<TARGET_FILE:callscope> $<TARGET_FILE:callscope-transcribe>)
  set_tests_properties(test_score_cli PROPERTIES
    FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS "scoring;db;cli"
    ENVIRONMENT "CALLSCOPE_TEST_PG=${CALLSCOPE_TEST_PG_FILE};CALLSCOPE_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endif()
