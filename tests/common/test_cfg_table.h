/*
 * test_cfg_table.h — the configuration table the config and stage tests share:
 * one key of every type, with bounds, a secret and a conninfo.
 * Header-only (static const) so each test program carries its own copy.
 */
#ifndef CALLSCOPE_TEST_CFG_TABLE_H
#define CALLSCOPE_TEST_CFG_TABLE_H

#include <stdint.h>

#include "config.h"

typedef struct tcfg {
    char *spool_dir;
    int64_t max_size;
    char *conninfo;
    int64_t db_timeout;
    int64_t max_calls;
    int64_t offset;
    int promisc;
    double talk_ratio;
    int log_level;
    char *secret;
} tcfg;

static const char *const tcfg_levels[] = {"error", "warn", "info", "debug", NULL};

static const cfg_key tcfg_keys[] = {
    CFG_KEY_STRING(tcfg, spool_dir, "spool.dir", "/var/spool/callscope", 0,
                   "Spool directory shared by capture and decode."),
    CFG_KEY_SIZE(tcfg, max_size, "spool.max_size", "1G", 1024, INT64_C(1) << 40,
                 "Largest spool entry."),
    CFG_KEY_STRING(tcfg, conninfo, "db.conninfo", NULL, CFG_CONNINFO,
                   "libpq connection string."),
    CFG_KEY_DURATION(tcfg, db_timeout, "db.timeout", "30s", 100, 86400000,
                     "Statement timeout."),
    CFG_KEY_INT(tcfg, max_calls, "capture.max_calls", "10000", 1, 100000,
                "Calls tracked at once."),
    CFG_KEY_INT(tcfg, offset, "capture.offset", "0", INT64_MIN, INT64_MAX, "Any integer."),
    CFG_KEY_BOOL(tcfg, promisc, "capture.promisc", "yes", "Promiscuous mode."),
    CFG_KEY_DOUBLE(tcfg, talk_ratio, "scoring.talk_ratio", "0.5", 0.0, 1.0,
                   "Agent talk ratio target."),
    CFG_KEY_ENUM(tcfg, log_level, "log.level", "info", tcfg_levels, "Log level."),
    CFG_KEY_STRING(tcfg, secret, "review.session_secret", "changeme", CFG_SECRET,
                   "Key signing session cookies."),
};
#define TCFG_N (sizeof tcfg_keys / sizeof tcfg_keys[0])

#endif
