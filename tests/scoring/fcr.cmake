# First-call resolution (scoring/fcr.c): repeat callers at minutes, hours and
# days for the 24 h / 72 h / 7 d windows, continuations, pending, anonymous
# and unanswered calls, same-queue grouping, a quadratic reference.
# fcr.c is compiled in directly (it needs only common/error.h).
cs_add_test(NAME test_fcr
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_fcr.c ${CMAKE_SOURCE_DIR}/scoring/fcr.c
            LIBS cs_common LABELS scoring)
target_include_directories(test_fcr PRIVATE ${CMAKE_SOURCE_DIR}/scoring)
