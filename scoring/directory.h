/*
 * directory.h — queues and agents from configuration (score.directory).
 *
 * The file maps what the wire shows to what managers call things:
 *
 *     # comment
 *     queue support: +18005550110 +18005550111     DNIS -> queue
 *     agent 2039: Alice Moreno                     extension -> agent name
 *
 * A queue line names the queue ([A-Za-z0-9_.-]{1,63}) and one or more DNIS
 * (any non-space text of at most 63 bytes); an agent line an extension
 * ([A-Za-z0-9_.+-]{1,31}) and a name (the rest of the line, trimmed, 1..127
 * bytes, UTF-8 left as it is). A DNIS may belong to one queue only, an
 * extension appear once. The scoring stage loads it into queues,
 * queue_dnis and agents at start-up (dir_store in main.c); calls are mapped
 * by the decode stage at store time and re-mapped by scoring.
 *
 * Parsing works on (pointer, length) and never reads past it; errors name
 * the line. Ownership: dir_list owns everything (dir_free).
 */
#ifndef CALLSCOPE_DIRECTORY_H
#define CALLSCOPE_DIRECTORY_H

#include <stddef.h>

#define DIR_MAX_ENTRIES 20000 /* duplicate checks are quadratic: ~1 s at the cap */

typedef struct dir_queue {
    char *name;
    char **dnis;
    size_t n_dnis;
} dir_queue;

typedef struct dir_agent {
    char *extension;
    char *name;
} dir_agent;

typedef struct dir_list {
    dir_queue *queues;
    size_t n_queues;
    dir_agent *agents;
    size_t n_agents;
} dir_list;

/* CS_OK; CS_ERR_MALFORMED (err names the line and the problem);
 * CS_ERR_LIMIT (more than DIR_MAX_ENTRIES lines); CS_ERR_NOMEM. */
int dir_parse(const char *text, size_t len, dir_list *out, char *err, size_t errcap);
/* Reads (at most 16 MB) and parses; adds CS_ERR_NOTFOUND / CS_ERR_IO. */
int dir_load(const char *path, dir_list *out, char *err, size_t errcap);
void dir_free(dir_list *d);

#endif
