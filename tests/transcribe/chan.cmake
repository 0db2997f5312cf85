# Recordings into channels and one channel through the front end and the
# recogniser (transcribe/chan.c): FLAC/WAV written with libsndfile, damaged and
# unsupported files, and real speech placed at a known time in an 8 kHz
# channel (needs pocketsphinx-en-us; that part skips without it).
cs_add_test(NAME test_chan
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_chan.c
            LIBS cs_transcribe PkgConfig::SNDFILE m LABELS transcribe chan)
