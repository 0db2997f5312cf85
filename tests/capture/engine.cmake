# The capture engine: calls, legs, streams, spool output (capture/engine.c,
# call.c, mediamap.c, callout.c, uuid.c). The engine tests need the whole
# cs_capture library and jq (skipped with 77 without it).
if(TARGET cs_capture)
  set(CS_ENGINE_TEST_UTIL ${CMAKE_CURRENT_SOURCE_DIR}/test_engine_util.c)
  cs_add_test(NAME test_mediamap SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_mediamap.c
              LIBS cs_capture LABELS capture)
  foreach(t test_engine_sample test_engine_calls test_engine_limits)
    if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c)
      cs_add_test(NAME ${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c ${CS_ENGINE_TEST_UTIL}
                  LIBS cs_capture LABELS capture)
    endif()
  endforeach()
endif()
