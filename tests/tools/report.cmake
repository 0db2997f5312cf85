# The KPI rollup (schema/002_kpi_rollup.sql) and `callscope report kpi`.
#
# kpi_rollup: cs_kpi_refresh / cs_kpi_refresh_range on calls, metrics and
# scores inserted by SQL — every cell checked against hand-worked values,
# re-runs after changes (a call moving agent, FCR and scores changing), no
# double counting, four concurrent refreshers of one interval.
add_test(NAME kpi_rollup
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test-kpi-rollup.sh $<TARGET_FILE:callscope>)
set_tests_properties(kpi_rollup PROPERTIES
  FIXTURES_REQUIRED pg LABELS "db;cli" SKIP_RETURN_CODE 77 TIMEOUT 300
  ENVIRONMENT "CALLSCOPE_TEST_PG=${CALLSCOPE_TEST_PG_FILE}")
