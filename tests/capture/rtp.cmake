# RTP/RTCP parsing, per-stream statistics, RFC 4733 DTMF (capture/rtp.c).
# The unit tests compile rtp.c directly (it needs only common/error.h), so
# they build and run whatever state the other capture modules are in.
set(CS_RTP_SRC ${CMAKE_SOURCE_DIR}/capture/rtp.c)
foreach(t test_rtp test_rtp_stats test_dtmf)
  cs_add_test(NAME ${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c ${CS_RTP_SRC}
              LIBS cs_common LABELS capture)
  target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/capture)
endforeach()
# Real captures from ../shared/data (skipped with 77 when absent).
cs_add_test(NAME test_rtp_shared SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_rtp_shared.c
            ${CS_RTP_SRC} LIBS cs_common PkgConfig::PCAP LABELS capture shared)
target_include_directories(test_rtp_shared PRIVATE ${CMAKE_SOURCE_DIR}/capture)
