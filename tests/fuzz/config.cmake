cs_add_fuzz(NAME config SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_config.c LIBS cs_common)
