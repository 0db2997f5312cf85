# Per-call metrics and FCR against callgen's truth (scoring/metrics.c,
# scoring/fcr.c): callgen writes direct, queued, hold, dtmf, repeat and
# abandon calls into a temp dir; dead air and overtalk computed from the
# truth's utterances must equal its deliberate intervals, card numbers must be
# masked, and the FCR decisions for 24 h / 72 h / 7 d (any queue and same
# queue) must be exactly what the truth's repeat links imply. Skips (77) when
# callgen cannot run (no pocketsphinx-testdata).
cs_add_test(NAME test_scoring_truth
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_truth.c ${CMAKE_SOURCE_DIR}/scoring/metrics.c
                    ${CMAKE_SOURCE_DIR}/scoring/fcr.c
            LIBS cs_common m LABELS scoring)
target_include_directories(test_scoring_truth PRIVATE ${CMAKE_SOURCE_DIR}/scoring)
if(TARGET callgen)
  add_dependencies(test_scoring_truth callgen)
endif()
