# fuzz_engine: the whole capture engine over sequences of frames (capture/engine.c
# and everything below it), writing into a real spool in a temporary directory.
cs_add_fuzz(NAME engine SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_engine.c LIBS cs_capture)
