# The real captures written by others ($CALLSCOPE_SHARED_DATA/pcaps): each
# call captured by callscope-capture, rendered by decode/render.h, and every
# rendered stream compared with an independent decode of the same RTP
# payloads exported by tshark (G.711 and L16 decoded by sox, G.722 / G.729 /
# Opus by tools/callgen's decoders), sample-exact where the codec allows.
# test-shared-audio.sh; explained exceptions in data/shared-audio/exceptions.txt.
# Skips (77) without the shared data, tshark, sox or jq.
add_executable(shared_audio_tool ${CMAKE_CURRENT_SOURCE_DIR}/shared_audio_tool.c
               ${CMAKE_SOURCE_DIR}/decode/render.c ${CMAKE_SOURCE_DIR}/decode/callinfo.c
               ${CMAKE_SOURCE_DIR}/decode/codec.c ${CMAKE_SOURCE_DIR}/decode/timeline.c
               ${CMAKE_SOURCE_DIR}/decode/vad.c)
target_include_directories(shared_audio_tool PRIVATE ${CMAKE_SOURCE_DIR}/decode)
target_link_libraries(shared_audio_tool PRIVATE cg_lib cs_capture cs_common PkgConfig::PCAP
                      PkgConfig::OPUS PkgConfig::SNDFILE PkgConfig::SPANDSP PkgConfig::BCG729 m)
if(TARGET callscope-capture)
  add_test(NAME test_decode_shared_audio
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test-shared-audio.sh $<TARGET_FILE:callscope-capture>
                   $<TARGET_FILE:shared_audio_tool>)
  set_tests_properties(test_decode_shared_audio PROPERTIES
                       ENVIRONMENT "CALLSCOPE_SOURCE_DIR=${CMAKE_SOURCE_DIR};CALLSCOPE_SHARED_DATA=${CALLSCOPE_SHARED_DATA}"
                       LABELS "decode;shared;tshark" SKIP_RETURN_CODE 77 TIMEOUT 180)
endif()
