# The codec layer (decode/codec.c): classification of payload types, decoding
# of real speech encoded by callgen's real encoders (cg_lib), concealment, Opus
# FEC, malformed payloads. codec.c is compiled in directly so the test depends
# on nothing else in cs_decode; cg_lib brings opus, spandsp, bcg729, sndfile.
# The speech parts skip (cmocka skip) without ../shared/data/speech.
cs_add_test(NAME test_decode_codec
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_codec.c ${CMAKE_SOURCE_DIR}/decode/codec.c
            LIBS cg_lib LABELS decode audio)
target_include_directories(test_decode_codec PRIVATE ${CMAKE_SOURCE_DIR}/decode)
