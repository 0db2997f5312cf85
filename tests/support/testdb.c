/*
 * testdb.c — per-test databases on the harness's PostgreSQL (see testdb.h).
 *
 * Uses db.h only (no libpq): the admin connection creates the database,
 * db_conninfo_with_dbname() derives the test's conninfo from the admin one
 * (which may be key=value or a URI), and testdb_drop() asks the test
 * database for its own name before dropping it from the admin side.
 */
#include "testdb.h"

#include "migrate.h"
#include "schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "error.h"

static unsigned testdb_counter; /* the <n> of cs_t_<pid>_<n>; see testdb.h */

void testdb_admin_conninfo(char *out, size_t cap)
{
    const char *path = getenv("CALLSCOPE_TEST_PG");
    FILE *f;
    size_t n;
    if (path == NULL || path[0] == '\0') {
        fprintf(stderr, "SKIP: CALLSCOPE_TEST_PG is not set (no PostgreSQL test server; "
                        "run through ctest, which starts one)\n");
        exit(77);
    }
    f = fopen(path, "r");
    if (f == NULL || fgets(out, (int)cap, f) == NULL) {
        fprintf(stderr, "SKIP: cannot read the test server's conninfo from %s\n", path);
        if (f != NULL) {
            fclose(f);
        }
        exit(77);
    }
    fclose(f);
    n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) {
        out[--n] = '\0';
    }
    if (n == 0) {
        fprintf(stderr, "SKIP: %s is empty\n", path);
        exit(77);
    }
}

int testdb_create(char *conninfo_out, size_t cap)
{
    char admin[1024], name[64];
    db_conn *c = NULL;
    int rc;

    testdb_admin_conninfo(admin, sizeof admin);
    snprintf(name, sizeof name, "cs_t_%ld_%u", (long)getpid(), ++testdb_counter);
    rc = db_connect(admin, "callscope-testdb", &c);
    if (rc != CS_OK) {
        fprintf(stderr, "testdb: cannot connect to the test server: %s\n", db_last_error(c));
        db_close(c);
        return rc;
    }
    rc = db_exec_ident(c, "CREATE DATABASE ", name, " TEMPLATE template0 ENCODING 'UTF8'");
    if (rc != CS_OK) {
        fprintf(stderr, "testdb: CREATE DATABASE %s: [%s] %s\n", name, db_last_sqlstate(c),
                db_last_error(c));
    }
    db_close(c);
    if (rc == CS_OK) {
        rc = db_conninfo_with_dbname(admin, name, conninfo_out, cap);
    }
    return rc;
}

int testdb_drop(const char *conninfo)
{
    char admin[1024], name[128];
    db_conn *c = NULL;
    db_result *r = NULL;
    int rc;

    testdb_admin_conninfo(admin, sizeof admin);
    rc = db_connect(conninfo, "callscope-testdb", &c);
    if (rc == CS_OK) {
        rc = db_query(c, "SELECT current_database()", 0, NULL, &r);
    }
    if (rc == CS_OK) {
        snprintf(name, sizeof name, "%s", db_result_value(r, 0, 0));
    }
    db_result_free(r);
    db_close(c);
    if (rc != CS_OK) {
        fprintf(stderr, "testdb: cannot reach the test database to drop it (%s)\n",
                cs_err_name(rc));
        return rc;
    }
    if (strncmp(name, "cs_t_", 5) != 0) {
        fprintf(stderr, "testdb: refusing to drop %s: not a test database\n", name);
        return CS_ERR_INVAL;
    }
    rc = db_connect(admin, "callscope-testdb", &c);
    if (rc == CS_OK) {
        rc = db_exec_ident(c, "DROP DATABASE IF EXISTS ", name, " WITH (FORCE)");
    }
    if (rc != CS_OK) {
        fprintf(stderr, "testdb: DROP DATABASE %s: [%s] %s\n", name, db_last_sqlstate(c),
                db_last_error(c));
    }
    db_close(c);
    return rc;
}

int testdb_migrate(db_conn *c)
{
    size_t n = 0;
    const cs_migration *list = cs_schema_migrations(&n);
    char err[512] = "";
    int rc = migrate_apply(c, list, n, NULL, err, sizeof err);
    if (rc != CS_OK)
        fprintf(stderr, "testdb_migrate: %s\n", err[0] ? err : cs_err_msg(rc));
    return rc;
}
