# decode/render: a spool entry rendered to two channels, measured against
# callgen's reference tracks (offset at start and end, duration, SNR / band
# correlation per codec, 3 % loss), plus the 8 -> 16 kHz interpolator's
# response and undecodable payload types. Needs callgen, callscope-capture
# (and jq for the edited call.json); skips when they cannot run.
# The decode modules are compiled in directly so the test depends only on
# what render uses (cs_capture for pkt/rtp, the codec libraries).
cs_add_test(NAME test_render
            SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_render.c ${CMAKE_SOURCE_DIR}/decode/render.c
                    ${CMAKE_SOURCE_DIR}/decode/callinfo.c ${CMAKE_SOURCE_DIR}/decode/codec.c
                    ${CMAKE_SOURCE_DIR}/decode/timeline.c ${CMAKE_SOURCE_DIR}/decode/vad.c
            LIBS cs_capture cs_common PkgConfig::PCAP PkgConfig::OPUS PkgConfig::SNDFILE
                 PkgConfig::SPANDSP PkgConfig::BCG729 m
            LABELS decode render)
target_include_directories(test_render PRIVATE ${CMAKE_SOURCE_DIR}/decode)
if(TARGET callgen)
  add_dependencies(test_render callgen)
endif()
if(TARGET callscope-capture)
  add_dependencies(test_render callscope-capture)
endif()
