# Fixed-size objects from huge-page chunks (capture/hpool.c): alignment, no
# overlap, reuse, bad arguments.
if(TARGET cs_capture)
  cs_add_test(NAME test_hpool SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_hpool.c LIBS cs_capture
              LABELS capture)
endif()
