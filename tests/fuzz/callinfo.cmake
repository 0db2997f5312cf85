# decode's call.json reader (decode/callinfo.c over common/jsonp.c). Seeds: five
# real call.json files written by callscope-capture.
cs_add_fuzz(NAME callinfo SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_callinfo.c
            ${CMAKE_SOURCE_DIR}/decode/callinfo.c LIBS cs_common)
target_include_directories(fuzz_callinfo PRIVATE ${CMAKE_SOURCE_DIR}/decode)
