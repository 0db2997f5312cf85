# Word error rate (transcribe/wer.c): normalisation and alignment tables, real
# PocketSphinx hypotheses, properties against an independent Levenshtein, and
# agreement with callgen's normalisation of its truth texts (cg_lib's speech
# bank; skipped without pocketsphinx-testdata). wer.c is compiled in directly:
# it needs only common/error.h, so this test does not wait for the rest of
# cs_transcribe (PocketSphinx front end, worker).
cs_add_test(NAME test_wer
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_wer.c ${CMAKE_SOURCE_DIR}/transcribe/wer.c
            LIBS cg_lib cs_common LABELS transcribe wer)
target_include_directories(test_wer PRIVATE ${CMAKE_SOURCE_DIR}/transcribe)
