# Scorecards (scoring/scorecard.c): parse arbitrary bytes; a parsed card is
# well formed, its canonical JSON is a fixed point, and evaluation against
# fixed facts gives a consistent result with a score in [0, 100] or NaN.
# Compiled from the source directly: scorecard.c needs only cs_common. Seeds:
# the shipped deploy/scorecard.json, the issue's example, every metric and
# outcome, escapes, and a few malformed cards.
cs_add_fuzz(NAME scorecard SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_scorecard.c
            ${CMAKE_SOURCE_DIR}/scoring/scorecard.c LIBS cs_common m)
target_include_directories(fuzz_scorecard PRIVATE ${CMAKE_SOURCE_DIR}/scoring)
