# Tests of the SIP and SDP parsers (capture/sip.c, capture/sdp.c).
#   test_sip, test_sdp: expected outputs (data/sip, data/sdp), error tables,
#                       boundaries, accessors; test_sip prints a benchmark line.
#   test_sip_shared:    every SIP message in ../shared/data/pcaps (skips, exit
#                       77, when the folder is absent).
cs_add_test(NAME test_sip SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_sip.c LIBS cs_capture LABELS capture)
cs_add_test(NAME test_sdp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_sdp.c LIBS cs_capture LABELS capture)
cs_add_test(NAME test_sip_shared SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_sip_shared.c
            LIBS cs_capture LABELS capture shared)
