# callscope-capture: the packet sources (input.c), the program's command line and
# the live capture through a veth pair in a network namespace (root only).
cs_add_test(NAME test_capture_input SOURCES test_input.c LIBS cs_capture LABELS capture)

if(TARGET callscope-capture)
  set(_cs_capture_env "CALLSCOPE_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
                      "CALLSCOPE_BINARY_DIR=${CMAKE_BINARY_DIR}"
                      "CALLSCOPE_SHARED_DATA=${CALLSCOPE_SHARED_DATA}")
  add_test(NAME test_capture_cli
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test-capture-cli.sh $<TARGET_FILE:callscope-capture>)
  set_tests_properties(test_capture_cli PROPERTIES ENVIRONMENT "${_cs_capture_env}"
                       LABELS "capture" SKIP_RETURN_CODE 77 TIMEOUT 600)
  add_test(NAME test_capture_live
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test-live-capture.sh $<TARGET_FILE:callscope-capture>)
  # RUN_SERIAL: the replay must not compete for the CPU with other tests, or
  # the kernel ring could overflow and the zero-drop assertion would be noise.
  set_tests_properties(test_capture_live PROPERTIES ENVIRONMENT "${_cs_capture_env}"
                       LABELS "capture;live" SKIP_RETURN_CODE 77 TIMEOUT 600 RUN_SERIAL ON)
endif()
