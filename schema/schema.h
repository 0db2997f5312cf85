/*
 * schema.h — the SQL migrations built into this binary.
 *
 * schema/CMakeLists.txt embeds every schema/NNN_name.sql at build time
 * (embed.cmake generates the C array), so a deployed program carries the
 * exact scripts it was tested with and needs no schema files at run time.
 * Pass the list to migrate_apply() / migrate_status_list() (migrate.h).
 */
#ifndef CALLSCOPE_SCHEMA_H
#define CALLSCOPE_SCHEMA_H

#include <stddef.h>

#include "migrate.h"

/* Returns the migrations sorted by version (static storage, never freed);
 * *count (may be NULL) gets their number. NULL with *count 0 when the
 * build had no migration files. */
const cs_migration *cs_schema_migrations(size_t *count);

#endif
