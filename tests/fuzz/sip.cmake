# fuzz_sip: the SIP parser and every accessor (capture/sip.c).
cs_add_fuzz(NAME sip SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_sip.c LIBS cs_capture)
