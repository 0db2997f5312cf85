# Per-call metrics (scoring/metrics.c): talk metrics against hand-worked calls
# and a millisecond-by-millisecond reference, DTMF masking, E-model MOS.
# metrics.c is compiled in directly (it needs only common/error.h and libm).
cs_add_test(NAME test_metrics
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_metrics.c ${CMAKE_SOURCE_DIR}/scoring/metrics.c
            LIBS cs_common m LABELS scoring)
target_include_directories(test_metrics PRIVATE ${CMAKE_SOURCE_DIR}/scoring)
