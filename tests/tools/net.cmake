# callgen's packet writer (checked against libpcap and tshark) and the project's
# JSON writer (common/json.c; its test lives here beside the truth-file writer).
cs_add_test(NAME test_cg_net SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_cg_net.c
            LIBS cg_lib PkgConfig::PCAP LABELS tools callgen)
cs_add_test(NAME test_json SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_json.c
            LIBS cs_common LABELS common)
