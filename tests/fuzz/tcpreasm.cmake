# TCP reassembly (capture/tcpreasm.c) driven by a script of segments.
if(TARGET cs_capture)
  cs_add_fuzz(NAME tcpreasm SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_tcpreasm.c LIBS cs_capture)
endif()
