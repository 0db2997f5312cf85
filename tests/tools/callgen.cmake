# callgen's own modules and the program: SIP/SDP text, RTP packetiser and
# faults (unit tests), the CLI, determinism and fault counts read back with
# libpcap, the committed sample, and one tshark check per scenario.
# Speech phrases are synthesised once into the build tree and shared.
set(CALLGEN_TTS_CACHE ${CMAKE_BINARY_DIR}/callgen-tts-cache)
set(CALLGEN_TSHARK_CHECK ${CMAKE_CURRENT_SOURCE_DIR}/check-callgen-tshark.sh)

cs_add_test(NAME test_cg_sip SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_cg_sip.c
            LIBS cg_lib LABELS tools callgen)
cs_add_test(NAME test_cg_rtp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_cg_rtp.c
            LIBS cg_lib LABELS tools callgen)

if(TARGET callgen)
  cs_add_test(NAME test_cg_callgen SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_cg_callgen.c
              LIBS cg_lib PkgConfig::PCAP LABELS tools callgen)
  cs_add_test(NAME test_cg_sample SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_cg_sample.c
              LIBS PkgConfig::PCAP LABELS tools callgen)
  foreach(t test_cg_callgen test_cg_sample)
    add_dependencies(${t} callgen)
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
                 "CALLGEN=$<TARGET_FILE:callgen>" "CALLGEN_TTS_CACHE=${CALLGEN_TTS_CACHE}")
  endforeach()

  # One tshark check per scenario, plus "all": the script generates into its
  # own temporary directory (exit 77 when tshark, jq or the test data are missing).
  set(CALLGEN_SCENARIOS direct queued abandon_ring abandon_queue busy noanswer timeout hold
      transfer dtmf repeat codecs faults tcp fragment vlan qinq ipv6 garbage all)
  foreach(s ${CALLGEN_SCENARIOS})
    set(extra "")
    if(s STREQUAL "codecs")
      set(extra --calls 5)
    endif()
    add_test(NAME callgen_tshark_${s}
             COMMAND bash ${CALLGEN_TSHARK_CHECK} --generate $<TARGET_FILE:callgen> ${s}
                     --tts-cache ${CALLGEN_TTS_CACHE} ${extra})
    set_tests_properties(callgen_tshark_${s} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 600
                         LABELS "tools;callgen;tshark")
  endforeach()
endif()

if(TARGET callgen)
  # Command-line faults on every call of "all": DTMF digits still decode, counts still exact.
  add_test(NAME callgen_tshark_all_faults
           COMMAND bash ${CALLGEN_TSHARK_CHECK} --generate $<TARGET_FILE:callgen> all
                   --tts-cache ${CALLGEN_TTS_CACHE} --loss 3 --jitter 20 --reorder 1
                   --duplicate 1 --ssrc-change)
  # Load mode: a 30 MB capture with 300 concurrent calls, checked by tshark.
  add_test(NAME callgen_load
           COMMAND bash ${CALLGEN_TSHARK_CHECK} --load $<TARGET_FILE:callgen>)
  set_tests_properties(callgen_tshark_all_faults callgen_load PROPERTIES SKIP_RETURN_CODE 77
                       TIMEOUT 600 LABELS "tools;callgen;tshark")
endif()
