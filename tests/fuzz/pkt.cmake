cs_add_fuzz(NAME pkt SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_pkt.c LIBS cs_capture)
