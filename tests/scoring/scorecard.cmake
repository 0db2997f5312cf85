# Scorecards (scoring/scorecard.c): format, strict parser with JSON-path
# messages, canonical JSON, evaluation of one call; parses the shipped
# deploy/scorecard.json against deploy/phrases.conf; allocation-failure
# torture. test_scorecard.c #includes scoring/scorecard.c (with its allocator
# calls routed through the test's failing allocator), so the test needs only
# cs_common and does not wait for the rest of cs_scoring.
cs_add_test(NAME test_scorecard
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_scorecard.c
            LIBS cs_common m LABELS scoring scorecard)
target_include_directories(test_scorecard PRIVATE ${CMAKE_SOURCE_DIR}/scoring)
