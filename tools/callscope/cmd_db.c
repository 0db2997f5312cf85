/*
 * cmd_db.c — `callscope db migrate` and `callscope db status`.
 *
 * migrate applies the migrations embedded in this binary (schema/NNN_*.sql, see
 * schema/schema.h) with the transactional runner in common/migrate.c and
 * says what it did; status lists every version known to the binary or the
 * database. Both connect with the configured number of attempts and
 * exponential back-off, so a database that is still starting is waited for.
 *
 * Exit codes: 0 done; 2 usage; 4 database unreachable; 1 a migration failed
 * or the database disagrees with the binary (edited migration, newer
 * database) — the message says which.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "migrate.h"
#include "schema.h"
#include "stage.h"

static int db_open(const cli_ctx *ctx, db_conn **out)
{
    char safe[512];
    const char *ci = ctx->cfg->db_conninfo ? ctx->cfg->db_conninfo : "";
    cfg_mask_conninfo(ci, safe, sizeof safe);
    int rc = db_connect(ci, "callscope", out);
    if (rc == CS_ERR_CONFIG) {
        cs_error("db.conninfo '%s' does not parse: %s", safe, db_last_error(*out));
        return CS_EXIT_CONFIG;
    }
    if (rc != CS_OK) {
        db_backoff bo = {.initial_ms = 200,
                         .max_ms = 5000,
                         .max_tries = (unsigned)ctx->cfg->db_connect_tries};
        rc = db_ensure(*out, &bo);
    }
    if (rc != CS_OK) {
        cs_error("cannot connect to the database '%s': %s", safe, db_last_error(*out));
        return CS_EXIT_ENV;
    }
    return CS_EXIT_OK;
}

static int db_migrate_cmd(db_conn *c)
{
    size_t n = 0;
    const cs_migration *list = cs_schema_migrations(&n);
    int applied = 0;
    char err[512] = "";
    int rc = migrate_apply(c, list, n, &applied, err, sizeof err);
    if (rc != CS_OK) {
        cs_error("migrate: %s (%s)", err[0] ? err : cs_err_msg(rc), cs_err_name(rc));
        return rc == CS_ERR_DB_CONN ? CS_EXIT_ENV : CS_EXIT_PARTIAL;
    }
    int latest = n ? list[n - 1].version : 0;
    if (applied == 0)
        printf("schema is up to date at version %d (%zu migrations)\n", latest, n);
    else
        printf("applied %d migration%s; schema is at version %d\n", applied,
               applied == 1 ? "" : "s", latest);
    return CS_EXIT_OK;
}

static void status_json(const migrate_status *s, size_t n)
{
    json_w *w = json_w_new(1, 1u << 20);
    if (!w)
        return;
    json_arr_begin(w);
    for (size_t i = 0; i < n; i++) {
        json_obj_begin(w);
        json_kv_int(w, "version", s[i].version);
        json_kv_str(w, "name", s[i].name);
        json_kv_str(w, "state", migrate_state_name(s[i].state));
        if (s[i].applied_at[0])
            json_kv_str(w, "applied_at", s[i].applied_at);
        else {
            json_key(w, "applied_at");
            json_null(w);
        }
        json_key(w, "checksum_ok");
        if (s[i].checksum_ok < 0)
            json_null(w);
        else
            json_bool(w, s[i].checksum_ok);
        json_obj_end(w);
    }
    json_arr_end(w);
    size_t len = 0;
    const char *text = json_w_data(w, &len);
    if (json_w_error(w) == CS_OK)
        printf("%s\n", text);
    json_w_free(w);
}

static int db_status_cmd(db_conn *c, int format)
{
    size_t n = 0;
    const cs_migration *list = cs_schema_migrations(&n);
    migrate_status *s = NULL;
    size_t count = 0;
    int rc = migrate_status_list(c, list, n, &s, &count);
    if (rc != CS_OK) {
        cs_error("status: %s: %s", cs_err_msg(rc), db_last_error(c));
        return rc == CS_ERR_DB_CONN ? CS_EXIT_ENV : CS_EXIT_PARTIAL;
    }
    int problems = 0;
    for (size_t i = 0; i < count; i++)
        problems += s[i].state != MIGRATE_APPLIED || s[i].checksum_ok == 0;
    if (format == CLI_FORMAT_JSON) {
        status_json(s, count);
    } else if (format == CLI_FORMAT_CSV) {
        printf("version,name,state,applied_at,checksum_ok\n");
        for (size_t i = 0; i < count; i++)
            printf("%d,%s,%s,%s,%s\n", s[i].version, s[i].name, migrate_state_name(s[i].state),
                   s[i].applied_at,
                   s[i].checksum_ok < 0 ? "" : (s[i].checksum_ok ? "true" : "false"));
    } else {
        printf("%-8s %-24s %-8s %-32s %s\n", "VERSION", "NAME", "STATE", "APPLIED AT", "CHECKSUM");
        for (size_t i = 0; i < count; i++)
            printf("%-8d %-24s %-8s %-32s %s\n", s[i].version, s[i].name,
                   migrate_state_name(s[i].state), s[i].applied_at[0] ? s[i].applied_at : "-",
                   s[i].checksum_ok < 0 ? "-" : (s[i].checksum_ok ? "ok" : "EDITED"));
        if (problems)
            printf("%d migration%s not applied or not matching this binary; run 'callscope db "
                   "migrate'\n",
                   problems, problems == 1 ? "" : "s");
    }
    migrate_status_free(s);
    return CS_EXIT_OK;
}

int cmd_db(const cli_ctx *ctx)
{
    if (ctx->nargs != 1 ||
        (strcmp(ctx->args[0], "migrate") != 0 && strcmp(ctx->args[0], "status") != 0)) {
        fprintf(stderr, "callscope: usage: callscope db migrate|status\n"
                        "Try 'callscope --help' for more information.\n");
        return CS_EXIT_USAGE;
    }
    db_conn *c = NULL;
    int rc = db_open(ctx, &c);
    if (rc == CS_EXIT_OK)
        rc = strcmp(ctx->args[0], "migrate") == 0 ? db_migrate_cmd(c)
                                                   : db_status_cmd(c, ctx->format);
    db_close(c);
    return rc;
}
