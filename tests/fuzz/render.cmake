# The decode stage's renderer (decode/render.c) end to end: a fixed valid
# call.json (built in the target) and a call.pcap whose RTP comes from the fuzz
# input, through pkt_decode/rtp_parse, every codec, both timelines and VAD.
cs_add_fuzz(NAME render SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_render.c LIBS cs_decode)
target_include_directories(fuzz_render PRIVATE ${CMAKE_SOURCE_DIR}/decode)
