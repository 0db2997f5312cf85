# Service-level formulas (scoring/slformula.c): the standard worked example,
# names, parsing, empty and inconsistent counts, bounds.
cs_add_test(NAME test_slformula SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_slformula.c
            LIBS cs_scoring LABELS scoring)
