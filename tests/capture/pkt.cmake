# Frame decoding (capture/pkt.c) and IP reassembly (capture/ipfrag.c).
# test_pkt: hand-built frames (expected printout in data/pkt/frames.txt).
# test_ipfrag: reassembly cases, callgen's fragmented datagrams, voipshark's
#   fragmented INVITE (that case skipped when ../shared/data is absent).
# test_pkt_shared: every capture in ../shared/data/pcaps, per-file counts
#   compared with data/pkt/shared-pcaps.txt (exit 77 when the folder is absent).
cs_add_test(NAME test_pkt SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_pkt.c
            LIBS cs_capture LABELS capture)
cs_add_test(NAME test_pkt_shared SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_pkt_shared.c
            LIBS cs_capture PkgConfig::PCAP LABELS capture shared)
cs_add_test(NAME test_ipfrag SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_ipfrag.c
            LIBS cs_capture cg_lib PkgConfig::PCAP LABELS capture)
