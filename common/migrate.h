/*
 * migrate.h — the schema migration runner.
 *
 * A migration is a numbered SQL script (schema/NNN_name.sql, embedded into
 * the binary by schema/CMakeLists.txt; see schema/schema.h). The runner
 * keeps the table
 *
 *   schema_migrations(version int primary key, name text not null,
 *                     checksum text not null,   -- sha256 hex of the SQL
 *                     applied_at timestamptz not null default now())
 *
 * and applies every pending migration in ascending version order, each in
 * its own transaction together with its schema_migrations row: a migration
 * is applied entirely or not at all. Every step holds a transaction-scoped
 * advisory lock (pg_advisory_xact_lock(MIGRATE_LOCK_KEY)), so two migrators
 * started at once (two hosts upgrading) serialise and the second finds
 * nothing to do. Re-running is a no-op.
 *
 * Refusals (nothing is applied):
 *   CS_ERR_INTEGRITY  an applied migration's checksum differs from the
 *                     binary's copy: a released migration was edited (never
 *                     do that; add a new one). The message names the version.
 *   CS_ERR_STATE      the database has a version the binary does not know:
 *                     the database is newer than this program.
 *   CS_ERR_INVAL      the binary's list is not strictly ascending versions
 *                     >= 1 with non-empty names and SQL.
 * A migration whose SQL fails returns CS_ERR_DB (or CS_ERR_DB_CONN) after a
 * full rollback of that migration; the earlier ones stay applied.
 *
 * Migration SQL must not contain transaction control (BEGIN/COMMIT) nor
 * commands that cannot run in a transaction (CREATE INDEX CONCURRENTLY,
 * VACUUM): the runner wraps it in one.
 */
#ifndef CALLSCOPE_MIGRATE_H
#define CALLSCOPE_MIGRATE_H

#include <stddef.h>

#include "db.h"

typedef struct cs_migration {
    int version;      /* >= 1, unique, ascending in a list */
    const char *name; /* "init", from 001_init.sql */
    const char *sql;  /* the script, NUL-terminated */
} cs_migration;

/* The key of the advisory lock every migration step holds ("callscop"). */
#define MIGRATE_LOCK_KEY 0x63616c6c73636f70LL

/* sha256 of sql (strlen bytes) as 64 lowercase hex digits + NUL into out.
 * Returns CS_OK or CS_ERR_NOMEM/CS_ERR_INVAL. */
int migrate_checksum(const char *sql, char out[65]);

/*
 * Applies the pending migrations of list[0..n-1] (borrowed). *applied (may be
 * NULL) gets how many this call applied. errbuf (may be NULL, errcap bytes)
 * receives a one-line explanation of any failure, naming the migration,
 * e.g. "migration 3 (add_index): checksum differs from the applied one ...".
 */
int migrate_apply(db_conn *c, const cs_migration *list, size_t n, int *applied, char *errbuf,
                  size_t errcap);

typedef enum migrate_state {
    MIGRATE_PENDING = 0, /* in the binary, not applied */
    MIGRATE_APPLIED = 1, /* in both */
    MIGRATE_UNKNOWN = 2  /* applied, but the binary does not know it (db is newer) */
} migrate_state;

typedef struct migrate_status {
    int version;
    char name[64]; /* binary's name, or the database's for MIGRATE_UNKNOWN (truncated) */
    migrate_state state;
    char applied_at[40]; /* ISO 8601 timestamp text, "" when pending */
    int checksum_ok;     /* 1 equal, 0 differs (edited migration), -1 not comparable */
} migrate_status;

/*
 * Lists every version known to the binary or the database, ascending.
 * *out is a malloc'd array of *count entries (caller frees with
 * migrate_status_free); NULL with *count 0 when both are empty. Read-only:
 * works on a database that was never migrated (all pending).
 */
int migrate_status_list(db_conn *c, const cs_migration *list, size_t n, migrate_status **out,
                        size_t *count);
void migrate_status_free(migrate_status *s);

/* "pending", "applied", "unknown". */
const char *migrate_state_name(migrate_state s);

#endif
