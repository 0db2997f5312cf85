# The decode stage's timeline (decode/timeline.c): hostile RTP sequences of one
# direction (arrival times, SSRCs, sequence and timestamp jumps, markers,
# clocks, payload sizes, telephone events), advances and reads. Compiled from
# the source directly: timeline.c needs only common/error.h.
cs_add_fuzz(NAME timeline SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_timeline.c
            ${CMAKE_SOURCE_DIR}/decode/timeline.c LIBS cs_common m)
target_include_directories(fuzz_timeline PRIVATE ${CMAKE_SOURCE_DIR}/decode)
