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

# cli_report: `callscope report kpi` on the service-level worked example as
# kpi_interval rows (the five formulas: 83.0/86.0/81.1/82.7/82.1 %), every KPI
# of the total, --by groups summing to it, filters, range rounding, CSV/JSON
# parsing, the table, usage (2) / configuration (3) / no schema (4) exits.
add_test(NAME cli_report
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test-cli-report.sh $<TARGET_FILE:callscope>)
set_tests_properties(cli_report PROPERTIES
  FIXTURES_REQUIRED pg LABELS "db;cli" SKIP_RETURN_CODE 77 TIMEOUT 300
  ENVIRONMENT "CALLSCOPE_TEST_PG=${CALLSCOPE_TEST_PG_FILE}")
