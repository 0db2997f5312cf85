# SIP framing rule (capture/tcpreasm.c: sip_frame) on arbitrary bytes.
if(TARGET cs_capture)
  cs_add_fuzz(NAME sipframe SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_sipframe.c LIBS cs_capture)
endif()
