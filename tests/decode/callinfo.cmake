# decode/callinfo: call.json (docs/call-json.md) into struct callinfo. Every
# call.json that callscope-capture writes for tests/data/sample.pcap is loaded
# and printed back leaf by leaf against jq's reading of the same file; mutated
# documents (jq) must fail naming the field's JSON pointer. Needs the capture
# program and jq (the test skips with a message when either is missing).
# callinfo.c is compiled in directly (it needs only cs_common's jsonp), so this
# test does not wait for the rest of cs_decode.
cs_add_test(NAME test_callinfo
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_callinfo.c ${CMAKE_SOURCE_DIR}/decode/callinfo.c
            LIBS cs_common LABELS decode callinfo)
target_include_directories(test_callinfo PRIVATE ${CMAKE_SOURCE_DIR}/decode)
if(TARGET callscope-capture)
  add_dependencies(test_callinfo callscope-capture)
endif()
