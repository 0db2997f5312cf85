/*
 * directory.c — see directory.h.
 */
#include "directory.h"
#include "file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define DIR_FILE_MAX (16u * 1024 * 1024)

void dir_free(dir_list *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n_queues; i++) {
        for (size_t k = 0; k < d->queues[i].n_dnis; k++)
            free(d->queues[i].dnis[k]);
        free(d->queues[i].dnis);
        free(d->queues[i].name);
    }
    for (size_t i = 0; i < d->n_agents; i++) {
        free(d->agents[i].extension);
        free(d->agents[i].name);
    }
    free(d->queues);
    free(d->agents);
    memset(d, 0, sizeof *d);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int name_ok(const char *s, size_t n, size_t max, const char *extra)
{
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return 0;
    }
    return 1;
}

/* Parses one non-comment line [b, e). */
static int parse_line(dir_list *d, const char *b, const char *e, unsigned line, char *err,
                      size_t errcap)
{
    const char *p = b;
    while (p < e && !is_space(*p))
        p++;
    size_t kw = (size_t)(p - b);
    int queue = kw == 5 && memcmp(b, "queue", 5) == 0;
    int agent = kw == 5 && memcmp(b, "agent", 5) == 0;
    if (!queue && !agent) {
        snprintf(err, errcap, "directory line %u: expected 'queue NAME: DNIS...' or "
                              "'agent EXTENSION: NAME'", line);
        return CS_ERR_MALFORMED;
    }
    while (p < e && is_space(*p))
        p++;
    const char *colon = memchr(p, ':', (size_t)(e - p));
    if (!colon) {
        snprintf(err, errcap, "directory line %u: missing ':'", line);
        return CS_ERR_MALFORMED;
    }
    const char *ke = colon;
    while (ke > p && is_space(ke[-1]))
        ke--;
    size_t klen = (size_t)(ke - p);
    const char *v = colon + 1;
    while (v < e && is_space(*v))
        v++;
    if (queue) {
        if (!name_ok(p, klen, 63, "_.-")) {
            snprintf(err, errcap, "directory line %u: queue name must be [A-Za-z0-9_.-]{1,63}",
                     line);
            return CS_ERR_MALFORMED;
        }
        dir_queue q = {0};
        if (!(q.name = strndup(p, klen)))
            return CS_ERR_NOMEM;
        int rc = CS_OK;
        while (v < e && rc == CS_OK) {
            const char *t = v;
            while (v < e && !is_space(*v))
                v++;
            size_t tl = (size_t)(v - t);
            if (tl > 63) {
                snprintf(err, errcap, "directory line %u: a DNIS longer than 63 bytes", line);
                rc = CS_ERR_MALFORMED;
                break;
            }
            char **nd = realloc(q.dnis, (q.n_dnis + 1) * sizeof *nd);
            if (!nd || !(nd[q.n_dnis] = strndup(t, tl))) {
                if (nd)
                    q.dnis = nd;
                rc = CS_ERR_NOMEM;
                break;
            }
            q.dnis = nd;
            q.n_dnis++;
            while (v < e && is_space(*v))
                v++;
        }
        if (rc == CS_OK && q.n_dnis == 0) {
            snprintf(err, errcap, "directory line %u: queue %s has no DNIS", line, q.name);
            rc = CS_ERR_MALFORMED;
        }
        /* a DNIS belongs to one queue only */
        for (size_t i = 0; rc == CS_OK && i < q.n_dnis; i++) {
            for (size_t a = 0; rc == CS_OK && a < d->n_queues; a++)
                for (size_t k = 0; k < d->queues[a].n_dnis; k++)
                    if (strcmp(d->queues[a].dnis[k], q.dnis[i]) == 0) {
                        snprintf(err, errcap, "directory line %u: DNIS %s is already in queue %s",
                                 line, q.dnis[i], d->queues[a].name);
                        rc = CS_ERR_MALFORMED;
                        break;
                    }
            for (size_t k = 0; rc == CS_OK && k < i; k++)
                if (strcmp(q.dnis[k], q.dnis[i]) == 0) {
                    snprintf(err, errcap, "directory line %u: DNIS %s listed twice", line,
                             q.dnis[i]);
                    rc = CS_ERR_MALFORMED;
                }
        }
        dir_queue *nq = rc == CS_OK ? realloc(d->queues, (d->n_queues + 1) * sizeof *nq) : NULL;
        if (rc == CS_OK && !nq)
            rc = CS_ERR_NOMEM;
        if (rc != CS_OK) {
            for (size_t k = 0; k < q.n_dnis; k++)
                free(q.dnis[k]);
            free(q.dnis);
            free(q.name);
            return rc;
        }
        d->queues = nq;
        d->queues[d->n_queues++] = q;
        return CS_OK;
    }
    if (!name_ok(p, klen, 31, "_.+-")) {
        snprintf(err, errcap, "directory line %u: extension must be [A-Za-z0-9_.+-]{1,31}", line);
        return CS_ERR_MALFORMED;
    }
    const char *ve = e;
    while (ve > v && is_space(ve[-1]))
        ve--;
    size_t vl = (size_t)(ve - v);
    if (vl == 0 || vl > 127) {
        snprintf(err, errcap, "directory line %u: agent name must be 1..127 bytes", line);
        return CS_ERR_MALFORMED;
    }
    for (size_t i = 0; i < d->n_agents; i++)
        if (strlen(d->agents[i].extension) == klen &&
            memcmp(d->agents[i].extension, p, klen) == 0) {
            snprintf(err, errcap, "directory line %u: extension %.*s listed twice", line,
                     (int)klen, p);
            return CS_ERR_MALFORMED;
        }
    dir_agent a = {strndup(p, klen), strndup(v, vl)};
    dir_agent *na = realloc(d->agents, (d->n_agents + 1) * sizeof *na);
    if (!a.extension || !a.name || !na) {
        free(a.extension);
        free(a.name);
        if (na)
            d->agents = na;
        return CS_ERR_NOMEM;
    }
    d->agents = na;
    d->agents[d->n_agents++] = a;
    return CS_OK;
}

int dir_parse(const char *text, size_t len, dir_list *out, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    err[0] = '\0';
    if ((!text && len) || !out)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    const char *p = text, *end = text + len;
    unsigned line = 0;
    int rc = CS_OK;
    while (p < end && rc == CS_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        const char *b = p;
        while (b < e && (is_space(*b) || *b == '\r'))
            b++;
        const char *le = e;
        while (le > b && (is_space(le[-1]) || le[-1] == '\r'))
            le--;
        if (b < le && *b != '#') {
            if (memchr(b, '\0', (size_t)(le - b))) {
                snprintf(err, errcap, "directory line %u: NUL byte", line);
                rc = CS_ERR_MALFORMED;
            } else if (out->n_queues + out->n_agents >= DIR_MAX_ENTRIES) {
                snprintf(err, errcap, "directory: more than %d entries", DIR_MAX_ENTRIES);
                rc = CS_ERR_LIMIT;
            } else {
                rc = parse_line(out, b, le, line, err, errcap);
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (rc != CS_OK)
        dir_free(out);
    return rc;
}

int dir_load(const char *path, dir_list *out, char *err, size_t errcap)
{
    char dummy[8];
    if (!err || errcap == 0) {
        err = dummy;
        errcap = sizeof dummy;
    }
    if (!path || !out)
        return CS_ERR_INVAL;
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t n = 0;
    int frc = cs_file_read(path, DIR_FILE_MAX, "directory file", &buf, &n, err, errcap);
    if (frc != CS_OK)
        return frc;
    char sub[300];
    int rc = dir_parse(buf, n, out, sub, sizeof sub);
    free(buf);
    if (rc != CS_OK)
        snprintf(err, errcap, "%s: %s", path, sub);
    return rc;
}
