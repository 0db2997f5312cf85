# The codec layer (decode/codec.c): classification of payload types, decoding
# of real speech encoded by callgen's real encoders (cg_lib), concealment, Opus
# FEC, malformed payloads, and the RTP payloads of real captures from
# ../shared/data/pcaps (parsed with capture/rtp.c). codec.c and rtp.c are
# compiled in directly so the test depends on nothing else in cs_decode or
# cs_capture; cg_lib brings opus, spandsp, bcg729, sndfile. The speech and
# capture parts skip (cmocka skip) without ../shared/data.
cs_add_test(NAME test_decode_codec
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_codec.c ${CMAKE_SOURCE_DIR}/decode/codec.c
                    ${CMAKE_SOURCE_DIR}/capture/rtp.c
            LIBS cg_lib PkgConfig::PCAP LABELS decode audio)
target_include_directories(test_decode_codec PRIVATE ${CMAKE_SOURCE_DIR}/decode
                           ${CMAKE_SOURCE_DIR}/capture)
