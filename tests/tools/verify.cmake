# `callscope verify` end to end: the real binary against the test PostgreSQL
# and a real archive (archive_write FLAC files), with one tampering per test.
cs_add_test(NAME test_verify SOURCES test_verify.c LIBS cs_decode DB LABELS cli)
target_compile_definitions(test_verify PRIVATE CALLSCOPE_BIN="$<TARGET_FILE:callscope>")
add_dependencies(test_verify callscope)
