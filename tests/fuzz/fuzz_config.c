/*
 * fuzz_config.c — libFuzzer target for the configuration file parser
 * (cfg_load_text). Configuration files are written by operators, not by
 * attackers, but a parser of (pointer, length) must never read past its input
 * whatever it is given, and must leave the destination freeable after any error.
 *
 * The table exercises every key type. Input bytes are INI text; the target
 * also feeds the first line as a "--set key=value" override.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"

typedef struct fz_conf {
    char *s;
    char *conninfo;
    int64_t i;
    int b;
    double d;
    int e;
    int64_t dur;
    int64_t size;
} fz_conf;

static const char *const fz_modes[] = {"fast", "safe", "off", NULL};

static const cfg_key fz_tab[] = {
    CFG_KEY_STRING(fz_conf, s, "a.s", "x", 0, "string"),
    CFG_KEY_STRING(fz_conf, conninfo, "db.conninfo", NULL, CFG_CONNINFO, "conninfo"),
    CFG_KEY_INT(fz_conf, i, "a.i", "5", -100, 100, "int"),
    CFG_KEY_BOOL(fz_conf, b, "a.b", "yes", "bool"),
    CFG_KEY_DOUBLE(fz_conf, d, "b.d", "0.5", 0.0, 1.0, "double"),
    CFG_KEY_ENUM(fz_conf, e, "b.e", "safe", fz_modes, "enum"),
    CFG_KEY_DURATION(fz_conf, dur, "c.dur", "5s", 0, 86400000, "duration"),
    CFG_KEY_SIZE(fz_conf, size, "c.size", "1M", 0, (int64_t)1 << 40, "size"),
};
#define FZ_N (sizeof fz_tab / sizeof fz_tab[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_conf c;
    char err[256];
    memset(&c, 0, sizeof c);
    if (cfg_defaults(fz_tab, FZ_N, &c, err, sizeof err) != CS_OK)
        abort(); /* the table's defaults are valid: a failure is a bug */
    (void)cfg_load_text(fz_tab, FZ_N, &c, "fuzz.conf", (const char *)data, size, err, sizeof err);

    /* The first line, NUL-terminated, as a command-line override. */
    const uint8_t *nl = memchr(data, '\n', size);
    size_t line = nl ? (size_t)(nl - data) : size;
    char *assign = malloc(line + 1);
    if (assign) {
        memcpy(assign, data, line);
        assign[line] = '\0';
        (void)cfg_set(fz_tab, FZ_N, &c, assign, err, sizeof err);
        free(assign);
    }
    if (c.conninfo) {
        char masked[512];
        (void)cfg_mask_conninfo(c.conninfo, masked, sizeof masked);
    }
    cfg_free(fz_tab, FZ_N, &c);
    return 0;
}
