/*
 * cmd_run.c — `callscope run CAPTURE...`: every stage over some captures, to
 * completion, then the KPI summary.
 *
 * The stages are the real programs, run one after the other with --once
 * against one database and one configuration file (the umbrella's --config,
 * passed on as CALLSCOPE_CONFIG so every stage reads the same file: the
 * correlation headers for capture, the archive for decode, the phrase list
 * for transcribe, the scorecard, directory and thresholds for score):
 *
 *   callscope db migrate            the schema, if not there yet
 *   callscope-capture --spool WORK/spool CAPTURE...
 *   callscope-decode --once --spool WORK/spool --archive ARCHIVE
 *   callscope-transcribe --once -j NPROC --archive ARCHIVE
 *   callscope-score --once -j NPROC
 *   callscope report kpi --from FIRST --to LAST --by queue   (the calls of this run)
 *
 * The programs are looked up beside this executable (an installed bin
 * directory), then in the build tree's layout (build/tools/callscope/ ->
 * build/<stage>/), then in PATH. WORK is --work (default ./callscope-run);
 * ARCHIVE is --archive, else archive.dir when the configuration sets it,
 * else WORK/archive. Each stage's own messages go to stderr as they come.
 *
 * Exit: the first stage that fails stops the run with its exit code (1 when
 * a stage set some calls aside but finished: the run goes on and exits 1 at
 * the end); 0 when everything was done.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "stage.h"

#define RUN_MAX_ARGS 4096
#define RUN_PATH_MAX 4096 /* capture/limits.h shadows <limits.h> on this include path */

static int is_exec(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

/* Finds program `name` (built in build/<sub>/); out gets its path. */
static int find_stage(const char *name, const char *sub, char *out, size_t cap)
{
    char self[RUN_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            int w = snprintf(out, cap, "%s/%s", self, name);
            if (w > 0 && (size_t)w < cap && is_exec(out))
                return CS_OK;
            w = snprintf(out, cap, "%s/../../%s/%s", self, sub, name);
            if (w > 0 && (size_t)w < cap && is_exec(out))
                return CS_OK;
        }
    }
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t l = strcspn(path, ":");
        int w = snprintf(out, cap, "%.*s/%s", (int)l, path, name);
        if (l && w > 0 && (size_t)w < cap && is_exec(out))
            return CS_OK;
        path += l + (path[l] == ':');
    }
    return CS_ERR_NOTFOUND;
}

/* Runs argv, waits; returns its exit code (70 for a signal, 4 when it
 * could not start). */
static int run_child(char *const *argv)
{
    pid_t p = fork();
    if (p < 0)
        return CS_EXIT_ENV;
    if (p == 0) {
        execv(argv[0], argv);
        fprintf(stderr, "callscope run: cannot start %s: %s\n", argv[0], strerror(errno));
        _exit(CS_EXIT_ENV);
    }
    int status;
    while (waitpid(p, &status, 0) < 0) {
        if (errno != EINTR)
            return CS_EXIT_ENV;
        if (cs_stage_stop_requested())
            kill(p, SIGTERM);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return CS_EXIT_INTERNAL;
}

static void step(const char *what)
{
    fprintf(stderr, "callscope run: == %s\n", what);
}

int cmd_run(const cli_ctx *ctx)
{
    if (ctx->nargs < 1) {
        fprintf(stderr, "callscope run: name at least one capture file (pcap or pcapng)\n"
                        "Try 'callscope --help' for more information.\n");
        return CS_EXIT_USAGE;
    }
    for (int i = 0; i < ctx->nargs; i++) {
        if (access(ctx->args[i], R_OK) != 0) {
            fprintf(stderr, "callscope run: %s: %s\n", ctx->args[i], strerror(errno));
            return CS_EXIT_USAGE;
        }
    }
    static const struct {
        const char *name, *sub;
    } progs[] = {{"callscope-capture", "capture"},
                 {"callscope-decode", "decode"},
                 {"callscope-transcribe", "transcribe"},
                 {"callscope-score", "scoring"}};
    char bin[4][RUN_PATH_MAX], self[RUN_PATH_MAX];
    for (int i = 0; i < 4; i++) {
        if (find_stage(progs[i].name, progs[i].sub, bin[i], sizeof bin[i]) != CS_OK) {
            fprintf(stderr, "callscope run: %s not found beside callscope, in the build tree or in "
                            "PATH\n",
                    progs[i].name);
            return CS_EXIT_ENV;
        }
    }
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        return CS_EXIT_ENV;
    self[sl] = '\0';
    const char *work = ctx->work ? ctx->work : "callscope-run";
    char spool[RUN_PATH_MAX], archive[RUN_PATH_MAX];
    snprintf(spool, sizeof spool, "%s/spool", work);
    if (ctx->archive)
        snprintf(archive, sizeof archive, "%s", ctx->archive);
    else if (ctx->archive_configured)
        snprintf(archive, sizeof archive, "%s", ctx->cfg->archive_dir);
    else
        snprintf(archive, sizeof archive, "%s/archive", work);
    if ((mkdir(work, 0750) != 0 && errno != EEXIST) || (mkdir(spool, 0750) != 0 && errno != EEXIST) ||
        (mkdir(archive, 0750) != 0 && errno != EEXIST)) {
        fprintf(stderr, "callscope run: cannot create %s: %s\n", work, strerror(errno));
        return CS_EXIT_ENV;
    }
    if (ctx->config_path)
        setenv("CALLSCOPE_CONFIG", ctx->config_path, 1);
    const char *dbci = ctx->cfg->db_conninfo ? ctx->cfg->db_conninfo : "";
    long np = sysconf(_SC_NPROCESSORS_ONLN);
    char jobs[16];
    snprintf(jobs, sizeof jobs, "%ld", np > 0 ? (np > 8 ? 8 : np) : 1);
    int worst = CS_EXIT_OK, rc;

    /* the schema, and when this run started (database clock) */
    step("schema");
    {
        char *av[] = {self, "-q", "--db", (char *)dbci, "db", "migrate", NULL};
        if ((rc = run_child(av)) != CS_EXIT_OK)
            return rc;
    }
    db_conn *db = NULL;
    char started[64] = "";
    if (db_connect(dbci, "callscope-run", &db) == CS_OK) {
        db_result *r = NULL;
        if (db_query(db, "SELECT now()::text", 0, NULL, &r) == CS_OK)
            snprintf(started, sizeof started, "%s", db_result_value(r, 0, 0));
        db_result_free(r);
    }
    db_close(db);

    step("capture");
    {
        char *av[RUN_MAX_ARGS];
        int k = 0;
        av[k++] = bin[0];
        av[k++] = "--spool";
        av[k++] = spool;
        for (int i = 0; i < ctx->nargs && k < RUN_MAX_ARGS - 1; i++)
            av[k++] = ctx->args[i];
        av[k] = NULL;
        rc = run_child(av);
        if (rc != CS_EXIT_OK && rc != CS_EXIT_PARTIAL)
            return rc;
        worst = rc > worst ? rc : worst;
    }
    step("decode");
    {
        char *av[] = {bin[1], "--once", "--spool", spool, "--archive", archive, "--db",
                      (char *)dbci, NULL};
        rc = run_child(av);
        if (rc != CS_EXIT_OK && rc != CS_EXIT_PARTIAL)
            return rc;
        worst = rc > worst ? rc : worst;
    }
    step("transcribe");
    {
        char *av[] = {bin[2], "--once", "-j", jobs, "--archive", archive, "--db", (char *)dbci,
                      NULL};
        rc = run_child(av);
        if (rc != CS_EXIT_OK && rc != CS_EXIT_PARTIAL)
            return rc;
        worst = rc > worst ? rc : worst;
    }
    step("score");
    {
        char *av[] = {bin[3], "--once", "-j", jobs, "--db", (char *)dbci, NULL};
        rc = run_child(av);
        if (rc != CS_EXIT_OK && rc != CS_EXIT_PARTIAL)
            return rc;
        worst = rc > worst ? rc : worst;
    }

    /* the KPI summary of the calls this run stored */
    char from[64] = "", to[64] = "";
    if (db_connect(dbci, "callscope-run", &db) == CS_OK) {
        const char *p[1] = {started[0] ? started : "-infinity"};
        db_result *r = NULL;
        if (db_query(db,
                     "SELECT to_char(min(invite_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                     " to_char((max(invite_at) + interval '1 second') AT TIME ZONE 'UTC',"
                     " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), count(*)"
                     " FROM calls WHERE updated_at >= $1::timestamptz",
                     1, p, &r) == CS_OK &&
            !db_result_is_null(r, 0, 0)) {
            snprintf(from, sizeof from, "%s", db_result_value(r, 0, 0));
            snprintf(to, sizeof to, "%s", db_result_value(r, 0, 1));
            fprintf(stderr, "callscope run: %s calls stored by this run\n", db_result_value(r, 0, 2));
        }
        db_result_free(r);
    }
    db_close(db);
    if (!from[0]) {
        fprintf(stderr, "callscope run: no call in the captures\n");
        return worst;
    }
    step("KPI summary");
    {
        static const char *const fmt[] = {"table", "csv", "json"};
        char *av[] = {self, "--db", (char *)dbci, "--format", (char *)fmt[ctx->format],
                      "--from", from, "--to", to, "report", "kpi", "--by", "queue", NULL};
        rc = run_child(av);
        if (rc != CS_EXIT_OK)
            return rc;
    }
    return worst;
}
