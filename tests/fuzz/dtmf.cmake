# DTMF masking (scoring/metrics.c, sc_dtmf_mask) over arbitrary key bytes and
# times, plus the ANI classifier (scoring/fcr.c). Compiled from the sources
# directly: both need only common/error.h and libm. Seeds: a card number with
# '#', a menu digit then a card, short runs, odd bytes.
cs_add_fuzz(NAME dtmf SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_dtmf.c
            ${CMAKE_SOURCE_DIR}/scoring/metrics.c ${CMAKE_SOURCE_DIR}/scoring/fcr.c
            LIBS cs_common m)
target_include_directories(fuzz_dtmf PRIVATE ${CMAKE_SOURCE_DIR}/scoring)
