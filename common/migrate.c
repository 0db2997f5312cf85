/*
 * migrate.c — applies numbered SQL migrations (see migrate.h).
 *
 * Shape of one step, repeated until nothing is pending:
 *
 *   BEGIN
 *   SELECT pg_advisory_xact_lock(key)        -- one migrator at a time
 *   CREATE TABLE IF NOT EXISTS schema_migrations (...)
 *   SELECT version, name, checksum ...       -- verify what is applied
 *   <the first pending migration's SQL>      -- simple protocol, many statements
 *   INSERT INTO schema_migrations ...
 *   COMMIT
 *
 * The applied set is re-read under the lock on every step, so a migrator
 * that waited on the lock sees what the other one applied. The lock is
 * transaction-scoped: a crashed migrator's lock dies with its session, and
 * there is no unlock to forget.
 *
 * Why checksums: the SQL that ran is what the database is; an edited file
 * would silently make fresh installs differ from upgraded ones. The runner
 * refuses to continue instead.
 */
#include "migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "error.h"
#include "log.h"

static const char MIGRATE_TABLE_SQL[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                        " version integer PRIMARY KEY,"
                                        " name text NOT NULL,"
                                        " checksum text NOT NULL,"
                                        " applied_at timestamptz NOT NULL DEFAULT now())";

static void migrate_msg(char *errbuf, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void migrate_msg(char *errbuf, size_t errcap, const char *fmt, ...)
{
    va_list ap;
    if (errbuf == NULL || errcap == 0) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(errbuf, errcap, fmt, ap);
    va_end(ap);
}

int migrate_checksum(const char *sql, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (sql == NULL || out == NULL) {
        return CS_ERR_INVAL;
    }
    if (EVP_Digest(sql, strlen(sql), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
        return CS_ERR_NOMEM;
    }
    for (unsigned i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return CS_OK;
}

static int migrate_list_ok(const cs_migration *list, size_t n)
{
    if (n > 0 && list == NULL) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i].version < 1 || list[i].name == NULL || list[i].name[0] == '\0' ||
            list[i].sql == NULL || (i > 0 && list[i].version <= list[i - 1].version)) {
            return 0;
        }
    }
    return 1;
}

static const cs_migration *migrate_find(const cs_migration *list, size_t n, int version)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i].version == version) {
            return &list[i];
        }
    }
    return NULL;
}

/* Reports a database failure with the migration context into errbuf. */
static int migrate_dbfail(db_conn *c, int rc, char *errbuf, size_t errcap, const char *what)
{
    migrate_msg(errbuf, errcap, "%s: %s [%s] %s", what, cs_err_name(rc), db_last_sqlstate(c),
                db_last_error(c));
    return rc;
}

/*
 * Within the open, locked transaction: checks the applied rows against the
 * binary and picks the first pending migration (*next, NULL if none).
 */
static int migrate_verify(db_conn *c, const cs_migration *list, size_t n, const cs_migration **next,
                          char *errbuf, size_t errcap)
{
    db_result *r = NULL;
    int rc = db_query(c, "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
                      0, NULL, &r);
    *next = NULL;
    if (rc != CS_OK) {
        return migrate_dbfail(c, rc, errbuf, errcap, "reading schema_migrations");
    }
    for (int i = 0; i < db_result_rows(r) && rc == CS_OK; i++) {
        int version = 0;
        const cs_migration *m;
        char sum[65];
        if (db_result_int(r, i, 0, &version) != CS_OK) {
            migrate_msg(errbuf, errcap, "schema_migrations holds a malformed version");
            rc = CS_ERR_MALFORMED;
            break;
        }
        m = migrate_find(list, n, version);
        if (m == NULL) {
            migrate_msg(errbuf, errcap,
                        "database has migration %d (%s) which this program does not know: "
                        "the database is newer than the binary",
                        version, db_result_value(r, i, 1));
            rc = CS_ERR_STATE;
            break;
        }
        if ((rc = migrate_checksum(m->sql, sum)) != CS_OK) {
            break;
        }
        if (strcmp(sum, db_result_value(r, i, 2)) != 0) {
            migrate_msg(errbuf, errcap,
                        "migration %d (%s): checksum of the applied script %.12s... differs from "
                        "this binary's %.12s...; a released migration was edited (add a new one "
                        "instead)",
                        version, m->name, db_result_value(r, i, 2), sum);
            rc = CS_ERR_INTEGRITY;
        }
    }
    if (rc == CS_OK) {
        for (size_t k = 0; k < n && *next == NULL; k++) {
            int found = 0;
            for (int i = 0; i < db_result_rows(r); i++) {
                int v = 0;
                if (db_result_int(r, i, 0, &v) == CS_OK && v == list[k].version) {
                    found = 1;
                    break;
                }
            }
            if (!found) {
                *next = &list[k];
            }
        }
    }
    db_result_free(r);
    return rc;
}

/* One locked step: verify, apply at most one migration, commit.
 * *did is 1 when a migration was applied, 0 when nothing was pending. */
static int migrate_step(db_conn *c, const cs_migration *list, size_t n, int *did, char *errbuf,
                        size_t errcap)
{
    char key[32], ver[16], sum[65];
    const char *p[3];
    const cs_migration *m = NULL;
    int rc;

    *did = 0;
    snprintf(key, sizeof key, "%lld", (long long)MIGRATE_LOCK_KEY);
    p[0] = key;
    if ((rc = db_begin(c)) != CS_OK) {
        return migrate_dbfail(c, rc, errbuf, errcap, "BEGIN");
    }
    rc = db_query(c, "SELECT pg_advisory_xact_lock($1::bigint)", 1, p, NULL);
    if (rc != CS_OK) {
        migrate_dbfail(c, rc, errbuf, errcap, "taking the migration lock");
        goto out;
    }
    rc = db_exec(c, MIGRATE_TABLE_SQL);
    if (rc != CS_OK) {
        migrate_dbfail(c, rc, errbuf, errcap, "creating schema_migrations");
        goto out;
    }
    rc = migrate_verify(c, list, n, &m, errbuf, errcap);
    if (rc != CS_OK || m == NULL) {
        goto out;
    }
    if ((rc = migrate_checksum(m->sql, sum)) != CS_OK) {
        goto out;
    }
    cs_log(CS_LOG_INFO, NULL, "migrate: applying migration %d (%s)", m->version, m->name);
    rc = db_exec(c, m->sql);
    if (rc != CS_OK) {
        char what[128];
        snprintf(what, sizeof what, "migration %d (%s) failed", m->version, m->name);
        migrate_dbfail(c, rc, errbuf, errcap, what);
        goto out;
    }
    snprintf(ver, sizeof ver, "%d", m->version);
    p[0] = ver;
    p[1] = m->name;
    p[2] = sum;
    rc = db_query(
        c, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1::int, $2, $3)", 3, p,
        NULL);
    if (rc != CS_OK) {
        migrate_dbfail(c, rc, errbuf, errcap, "recording the migration");
        goto out;
    }
    rc = db_commit(c);
    if (rc != CS_OK) {
        char what[128];
        snprintf(what, sizeof what, "committing migration %d (%s)", m->version, m->name);
        return migrate_dbfail(c, rc, errbuf, errcap, what);
    }
    *did = 1;
    return CS_OK;
out:
    if (rc == CS_OK) {
        rc = db_commit(c);
        if (rc != CS_OK) {
            migrate_dbfail(c, rc, errbuf, errcap, "COMMIT");
        }
        return rc;
    }
    /* errbuf already holds the failure (with its sqlstate); the ROLLBACK
     * undoes the partial migration and releases the lock. */
    if (db_is_ok(c)) {
        (void)db_rollback(c);
    }
    return rc;
}

int migrate_apply(db_conn *c, const cs_migration *list, size_t n, int *applied, char *errbuf,
                  size_t errcap)
{
    int count = 0;
    int rc;
    if (applied != NULL) {
        *applied = 0;
    }
    if (errbuf != NULL && errcap > 0) {
        errbuf[0] = '\0';
    }
    if (c == NULL || !migrate_list_ok(list, n)) {
        migrate_msg(errbuf, errcap,
                    "migration list is not strictly ascending versions >= 1 "
                    "with names and SQL");
        return CS_ERR_INVAL;
    }
    if (db_in_transaction(c)) {
        migrate_msg(errbuf, errcap, "migrate_apply called inside a transaction");
        return CS_ERR_STATE;
    }
    for (;;) {
        int did = 0;
        rc = migrate_step(c, list, n, &did, errbuf, errcap);
        if (rc != CS_OK || !did) {
            break;
        }
        count++;
    }
    if (applied != NULL) {
        *applied = count;
    }
    return rc;
}

const char *migrate_state_name(migrate_state s)
{
    switch (s) {
    case MIGRATE_PENDING:
        return "pending";
    case MIGRATE_APPLIED:
        return "applied";
    case MIGRATE_UNKNOWN:
        return "unknown";
    }
    return "?";
}

static int migrate_cmp(const void *a, const void *b)
{
    const migrate_status *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

int migrate_status_list(db_conn *c, const cs_migration *list, size_t n, migrate_status **out,
                        size_t *count)
{
    db_result *r = NULL;
    migrate_status *st;
    size_t total, k = 0;
    int rows = 0, exists = 0, rc;

    if (out == NULL || count == NULL) {
        return CS_ERR_INVAL;
    }
    *out = NULL;
    *count = 0;
    if (c == NULL || !migrate_list_ok(list, n)) {
        return CS_ERR_INVAL;
    }
    rc = db_query(c, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, &r);
    if (rc == CS_OK) {
        rc = db_result_bool(r, 0, 0, &exists);
    }
    db_result_free(r);
    r = NULL;
    if (rc != CS_OK) {
        return rc;
    }
    if (exists) {
        rc = db_query(c,
                      "SELECT version, name, checksum,"
                      " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                      " FROM schema_migrations ORDER BY version",
                      0, NULL, &r);
        if (rc != CS_OK) {
            return rc;
        }
        rows = db_result_rows(r);
    }
    total = n + (size_t)rows;
    st = total > 0 ? calloc(total, sizeof *st) : NULL;
    if (total > 0 && st == NULL) {
        db_result_free(r);
        return CS_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        st[k].version = list[i].version;
        snprintf(st[k].name, sizeof st[k].name, "%s", list[i].name);
        st[k].state = MIGRATE_PENDING;
        st[k].checksum_ok = -1;
        k++;
    }
    for (int i = 0; i < rows && rc == CS_OK; i++) {
        int v = 0;
        migrate_status *e = NULL;
        if ((rc = db_result_int(r, i, 0, &v)) != CS_OK) {
            break;
        }
        for (size_t j = 0; j < n; j++) {
            if (st[j].version == v) {
                e = &st[j];
                break;
            }
        }
        if (e != NULL) {
            char sum[65];
            if ((rc = migrate_checksum(list[e - st].sql, sum)) != CS_OK) {
                break;
            }
            e->checksum_ok = strcmp(sum, db_result_value(r, i, 2)) == 0;
            e->state = MIGRATE_APPLIED;
        } else {
            e = &st[k++];
            e->version = v;
            snprintf(e->name, sizeof e->name, "%s", db_result_value(r, i, 1));
            e->state = MIGRATE_UNKNOWN;
            e->checksum_ok = -1;
        }
        snprintf(e->applied_at, sizeof e->applied_at, "%s", db_result_value(r, i, 3));
    }
    db_result_free(r);
    if (rc != CS_OK) {
        free(st);
        return rc;
    }
    if (k > 0) {
        qsort(st, k, sizeof *st, migrate_cmp);
    }
    *out = st;
    *count = k;
    if (k == 0) {
        free(st);
        *out = NULL;
    }
    return CS_OK;
}

void migrate_status_free(migrate_status *s)
{
    free(s);
}
