# PocketSphinx wrapper (transcribe/asr.c) with the real decoder and Debian's
# en-us model: goforward.raw's transcript and word times, offsets, silence,
# reuse, a missing model file. Exits 77 without pocketsphinx-en-us.
cs_add_test(NAME test_asr
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_asr.c
            LIBS cs_transcribe m LABELS transcribe asr)
