# fuzz_sdp: the SDP parser (capture/sdp.c).
cs_add_fuzz(NAME sdp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_sdp.c LIBS cs_capture)
