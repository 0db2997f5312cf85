# callscope-capture over the real captures in ../shared/data/pcaps, each file's
# calls compared with what tshark reads from it in the same run
# (test-shared-calls.sh; explained differences in data/shared-calls/exceptions.txt).
# Skips (77) without the shared data, tshark, editcap or jq.
if(TARGET callscope-capture)
  add_test(NAME test_capture_shared_calls
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test-shared-calls.sh $<TARGET_FILE:callscope-capture>)
  set_tests_properties(test_capture_shared_calls PROPERTIES
                       ENVIRONMENT "CALLSCOPE_SOURCE_DIR=${CMAKE_SOURCE_DIR};CALLSCOPE_SHARED_DATA=${CALLSCOPE_SHARED_DATA}"
                       LABELS "capture;shared;tshark" SKIP_RETURN_CODE 77 TIMEOUT 300)
endif()
