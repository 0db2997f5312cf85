# The strict JSON parser (common/jsonp.c): parse, walk every value, re-write with
# common/json.c and re-parse. Seeds: real call.json files and edge cases.
cs_add_fuzz(NAME jsonp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_jsonp.c LIBS cs_common)
