# Word error rate (transcribe/wer.c): normalisation and alignment invariants on
# arbitrary bytes. Compiled from the source directly: wer.c needs only
# common/error.h. Seeds: reference/hypothesis pairs from the benchmark's kind
# of text (testdata transcripts, PocketSphinx output with <sil>, [NOISE], (2)).
cs_add_fuzz(NAME wer SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_wer.c
            ${CMAKE_SOURCE_DIR}/transcribe/wer.c LIBS cs_common)
target_include_directories(fuzz_wer PRIVATE ${CMAKE_SOURCE_DIR}/transcribe)
