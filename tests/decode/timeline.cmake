# decode/timeline: RTP streams of one direction placed on the call's wall
# clock. Synthetic G.711 streams with a frame counter in every packet (jitter,
# loss, reordering, duplicates, timestamp jump, SSRC change, wraps, clock drift,
# hold) and a callgen call correlated against callgen's reference audio.
if(TARGET cs_decode)
  cs_add_test(NAME test_timeline SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_timeline.c
              LIBS cs_decode cg_lib PkgConfig::PCAP PkgConfig::SNDFILE LABELS decode timeline)
  if(TARGET callgen)
    add_dependencies(test_timeline callgen)
    set_property(TEST test_timeline APPEND PROPERTY ENVIRONMENT
                 "CALLGEN=$<TARGET_FILE:callgen>")
  endif()
endif()
