# decode/store: one call into PostgreSQL in one transaction. The call.json
# files callscope-capture writes for tests/data/sample.pcap are stored (with
# fabricated archive results) in a real database and compared with the
# documents read by PostgreSQL's own JSON parser; idempotence, the kept
# recording of an archived call, rollback of a failing store, and a lost
# connection. Skips (77) without a test server or without the capture program.
cs_add_test(NAME test_store SOURCES test_store.c LIBS cs_decode DB LABELS decode)
if(TARGET callscope-capture)
  add_dependencies(test_store callscope-capture)
endif()
