# callgen's audio: the codecs (G.711 bit-exactness, payload sizes, round trips
# of real speech, the 2:1 decimator) and the speech bank / tracks (testdata
# clips, Festival phrases and their cache, track placement, WAV output).
# Both need Debian's pocketsphinx-testdata; they exit 77 (skipped) without it.
cs_add_test(NAME test_cg_codec SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_cg_codec.c
            LIBS cg_lib LABELS callgen audio)
cs_add_test(NAME test_cg_voice SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_cg_voice.c
            LIBS cg_lib LABELS callgen audio)
