# Service-level formulas (scoring/slformula.c): the standard worked example,
# names, parsing, empty and inconsistent counts, bounds. slformula.c is
# compiled in directly (it needs only common/error.h), so this test does not
# wait for the rest of cs_scoring.
cs_add_test(NAME test_slformula
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_slformula.c ${CMAKE_SOURCE_DIR}/scoring/slformula.c
            LIBS cs_common m LABELS scoring)
target_include_directories(test_slformula PRIVATE ${CMAKE_SOURCE_DIR}/scoring)
