# The scoring stage's directory file (scoring/directory.c): queues by DNIS,
# agents by extension. Compiled from the source directly (needs only
# common/error.h).
cs_add_fuzz(NAME directory SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_directory.c
            ${CMAKE_SOURCE_DIR}/scoring/directory.c LIBS cs_common)
target_include_directories(fuzz_directory PRIVATE ${CMAKE_SOURCE_DIR}/scoring)
