# Decode spans from talk segments (transcribe/segment.c): padding, clamping,
# merging, unsorted and degenerate input, cuts in a silent gap of real samples,
# and a property run (no span longer than max_ms, talk always covered).
cs_add_test(NAME test_segment
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_segment.c
            LIBS cs_transcribe LABELS transcribe segment)
