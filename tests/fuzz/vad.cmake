# Voice-activity detection (decode/vad.c) over arbitrary int16 audio at 8000 and
# 16000 Hz. Compiled from the source directly: vad.c needs only common/error.h
# and libm, so the target does not depend on the rest of cs_decode.
cs_add_fuzz(NAME vad SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_vad.c
            ${CMAKE_SOURCE_DIR}/decode/vad.c LIBS cs_common m)
target_include_directories(fuzz_vad PRIVATE ${CMAKE_SOURCE_DIR}/decode)
