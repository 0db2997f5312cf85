# The umbrella CLI end to end against the test PostgreSQL.
add_test(NAME cli_db_migrate_status
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/test-cli-db.sh $<TARGET_FILE:callscope>)
set_tests_properties(cli_db_migrate_status PROPERTIES
  FIXTURES_REQUIRED pg LABELS "db;cli" SKIP_RETURN_CODE 77 TIMEOUT 120
  ENVIRONMENT "CALLSCOPE_TEST_PG=${CALLSCOPE_TEST_PG_FILE}")
