/*
 * fuzz_directory.c — dir_parse over arbitrary bytes.
 *
 * Invariants: no crash, no read past the input (ASan), every error leaves an
 * empty list and a message; a parsed list has only well-formed entries
 * (names within their limits, every queue with at least one DNIS, no DNIS
 * in two queues, no extension twice).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dir_list d;
    char err[256];
    int rc = dir_parse((const char *)data, size, &d, err, sizeof err);
    if (rc != CS_OK) {
        if (d.n_queues || d.n_agents || d.queues || d.agents || err[0] == '\0')
            abort();
        return 0;
    }
    for (size_t i = 0; i < d.n_queues; i++) {
        size_t nl = strlen(d.queues[i].name);
        if (nl == 0 || nl > 63 || d.queues[i].n_dnis == 0)
            abort();
        for (size_t k = 0; k < d.queues[i].n_dnis; k++) {
            const char *x = d.queues[i].dnis[k];
            if (strlen(x) == 0 || strlen(x) > 63)
                abort();
            for (size_t j = 0; j <= i; j++)
                for (size_t m = 0; m < (j == i ? k : d.queues[j].n_dnis); m++)
                    if (strcmp(d.queues[j].dnis[m], x) == 0)
                        abort();
        }
    }
    for (size_t i = 0; i < d.n_agents; i++) {
        size_t el = strlen(d.agents[i].extension), nl = strlen(d.agents[i].name);
        if (el == 0 || el > 31 || nl == 0 || nl > 127)
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(d.agents[j].extension, d.agents[i].extension) == 0)
                abort();
    }
    dir_free(&d);
    return 0;
}
