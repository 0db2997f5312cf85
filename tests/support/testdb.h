/*
 * testdb.h — one private PostgreSQL database per test.
 *
 * The harness starts one server for the whole CTest run and writes a
 * superuser conninfo into the file named by $CALLSCOPE_TEST_PG (first line).
 * testdb_create() makes a fresh database on it, cs_t_<pid>_<n>, so tests
 * running in parallel (ctest -j) and forked children never share tables.
 *
 * Not having a server is not a failure of the code under test: when
 * $CALLSCOPE_TEST_PG is unset or unreadable, testdb_create() prints why on
 * stderr and exits the process with 77 (CTest's SKIP_RETURN_CODE).
 *
 * Process-local state: a counter for the <n> part (tests are
 * single-threaded; forked children have distinct pids).
 */
#ifndef CALLSCOPE_TESTDB_H
#define CALLSCOPE_TESTDB_H

#include <stddef.h>

#include "db.h"

/* Reads the admin conninfo (first line of $CALLSCOPE_TEST_PG) into out.
 * Exits 77 (skip) when the variable is unset or the file unreadable/empty. */
void testdb_admin_conninfo(char *out, size_t cap);

/* Creates a new empty database and writes a conninfo for it into
 * conninfo_out (cap bytes). Returns 0 or a negative cs_err (message on
 * stderr). Exits 77 when there is no test server (see above). */
int testdb_create(char *conninfo_out, size_t cap);

/* Drops the database conninfo names (WITH (FORCE): open sessions are
 * terminated). Returns 0 or a negative cs_err. */
int testdb_drop(const char *conninfo);

/* Applies the schema migrations built into the binary (schema/NNN_*.sql via
 * cs_schema) to the database c is connected to, so tests run against the
 * real tables. CS_OK or the runner's error (message on stderr). */
int testdb_migrate(db_conn *c);

#endif
