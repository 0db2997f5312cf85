# TCP reassembly and SIP framing (capture/tcpreasm.c): unit tests on hand-built
# segments, and a test over real captures from ../shared (skipped when absent).
foreach(t test_sipframe test_tcpreasm test_tcpreasm_shared)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c)
    cs_add_test(NAME ${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c LIBS cs_capture
                LABELS capture)
  endif()
endforeach()
