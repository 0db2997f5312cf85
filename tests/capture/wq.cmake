# The call.pcap write queue (capture/wq.c): order, waits, failures, both modes.
if(TARGET cs_capture)
  cs_add_test(NAME test_wq SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_wq.c LIBS cs_capture
              LABELS capture)
endif()
