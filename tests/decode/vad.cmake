# Voice-activity detection (decode/vad.c): unit behaviour plus accuracy against
# callgen's truth (calls generated into a temp dir; needs the callgen binary and
# pocketsphinx-testdata, else the truth test skips). vad.c is compiled in
# directly (it needs only common/error.h and libm), so this test does not wait
# for the rest of cs_decode; cg_lib provides the real G.729 / Opus encoders and
# decoders for the lossy round trips, libsndfile reads the reference WAVs.
cs_add_test(NAME test_vad
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_vad.c ${CMAKE_SOURCE_DIR}/decode/vad.c
            LIBS cg_lib cs_common PkgConfig::SNDFILE m LABELS decode vad)
target_include_directories(test_vad PRIVATE ${CMAKE_SOURCE_DIR}/decode)
if(TARGET callgen)
  add_dependencies(test_vad callgen)
endif()
