# RTP/RTCP parsing, stream statistics and DTMF (capture/rtp.c). Compiled from
# the source directly: rtp.c needs nothing but common/error.h.
cs_add_fuzz(NAME rtp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_rtp.c
            ${CMAKE_SOURCE_DIR}/capture/rtp.c LIBS cs_common)
target_include_directories(fuzz_rtp PRIVATE ${CMAKE_SOURCE_DIR}/capture)
