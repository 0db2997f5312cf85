# Phrase list parsing and phrase spotting (transcribe/phrases.c): arbitrary
# bytes as a list, then every parsed phrase spotted in a fixed transcript.
# Compiled from the source directly: phrases.c needs only common/error.h and
# asr.h's types (no PocketSphinx). Seeds: deploy/phrases.conf, CRLF and
# comment layouts, each kind of malformed line, limits.
cs_add_fuzz(NAME phrases SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_phrases.c
            ${CMAKE_SOURCE_DIR}/transcribe/phrases.c LIBS cs_common)
target_include_directories(fuzz_phrases PRIVATE ${CMAKE_SOURCE_DIR}/transcribe)
