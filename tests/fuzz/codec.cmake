# The decode stage's codec layer (decode/codec.c): payload type lookup and
# every decoder. Compiled from the source directly so the target depends on
# nothing else in cs_decode.
cs_add_fuzz(NAME codec SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_codec.c
            ${CMAKE_SOURCE_DIR}/decode/codec.c
            LIBS cs_common PkgConfig::OPUS PkgConfig::SPANDSP PkgConfig::BCG729 m)
target_include_directories(fuzz_codec PRIVATE ${CMAKE_SOURCE_DIR}/decode)
