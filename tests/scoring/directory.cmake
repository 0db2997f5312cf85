# The directory file (scoring/directory.c): the shipped deploy/directory.conf,
# queues with several DNIS, agents with spaced names, comments and CRLF, and
# every malformed line with its line number.
cs_add_test(NAME test_directory
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_directory.c ${CMAKE_SOURCE_DIR}/scoring/directory.c
            LIBS cs_common LABELS scoring)
target_include_directories(test_directory PRIVATE ${CMAKE_SOURCE_DIR}/scoring)
