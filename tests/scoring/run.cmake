# `callscope run` (every stage over a callgen capture with one configuration
# file) and `callscope show` (tests/scoring/test-cli-run.sh).
if(TARGET callscope AND TARGET callgen AND TARGET callscope-capture AND TARGET callscope-decode
   AND TARGET callscope-transcribe AND TARGET callscope-score)
  add_test(NAME test_cli_run
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test-cli-run.sh $<TARGET_FILE:callscope>
                   $<TARGET_FILE:callgen>)
  set_tests_properties(test_cli_run PROPERTIES
    FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77 TIMEOUT 600 LABELS "scoring;db;cli"
    ENVIRONMENT "CALLSCOPE_TEST_PG=${CALLSCOPE_TEST_PG_FILE};CALLSCOPE_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endif()
