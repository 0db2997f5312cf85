cs_add_fuzz(NAME ipfrag SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_ipfrag.c LIBS cs_capture)
