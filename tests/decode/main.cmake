# callscope-decode end to end (tests/decode/test-decode-cli.sh): real callgen
# captures spooled by the real callscope-capture, decoded into a real archive
# and the test PostgreSQL (the "pg" fixture; "outage" starts its own server with
# deploy/pgctl.sh because it stops it mid-run).
if(TARGET callscope-decode AND TARGET callscope-capture AND TARGET callgen AND TARGET callscope)
  foreach(_part e2e badinput crash outage)
    add_test(NAME test_decode_cli_${_part}
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test-decode-cli.sh ${_part}
                     $<TARGET_FILE:callscope-decode> $<TARGET_FILE:callscope-capture>
                     $<TARGET_FILE:callgen> $<TARGET_FILE:callscope>)
    set_tests_properties(test_decode_cli_${_part} PROPERTIES
      FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77 TIMEOUT 180
      ENVIRONMENT "CALLSCOPE_TEST_PG=${CALLSCOPE_TEST_PG_FILE};CALLSCOPE_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
  endforeach()
  set_tests_properties(test_decode_cli_e2e test_decode_cli_badinput PROPERTIES LABELS "decode;db;cli")
  set_tests_properties(test_decode_cli_crash test_decode_cli_outage PROPERTIES LABELS "decode;db;cli;slow")
endif()
