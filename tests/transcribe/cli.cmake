# callscope-transcribe end to end (tests/transcribe/test-transcribe-cli.sh):
# callgen's sample through the real capture and decode stages into the test
# PostgreSQL, then transcribed with Debian's en-us model; WER against the
# truth with the project's WER tool (bench_wer).
if(TARGET callscope-transcribe AND TARGET callscope-decode AND TARGET callscope-capture
   AND TARGET callscope AND TARGET bench_wer)
  foreach(_part e2e robust)
    add_test(NAME test_transcribe_cli_${_part}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test-transcribe-cli.sh ${_part}
                     $<TARGET_FILE:callscope-transcribe> $<TARGET_FILE:callscope-decode>
                     $<TARGET_FILE:callscope-capture> $<TARGET_FILE:callscope>
                     $<TARGET_FILE:bench_wer> $<$<TARGET_EXISTS:callscope-score>:$<TARGET_FILE:callscope-score>>)
    set_tests_properties(test_transcribe_cli_${_part} PROPERTIES
      FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77 TIMEOUT 1200
      LABELS "transcribe;db;cli"
      ENVIRONMENT "CALLSCOPE_TEST_PG=${CALLSCOPE_TEST_PG_FILE};CALLSCOPE_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  endforeach()
endif()
