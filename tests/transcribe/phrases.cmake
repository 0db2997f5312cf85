# Phrase list and phrase spotting (transcribe/phrases.c): the shipped
# deploy/phrases.conf, malformed lines with their line numbers, limits, and
# spotting on hand-built utterances (exact, misrecognised, across utterances,
# sides, repeats, confidence) plus a property run against a naive scan.
cs_add_test(NAME test_phrases
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_phrases.c
            LIBS cs_transcribe LABELS transcribe phrases)
