/*
 * main.c — callscope-capture, stage 1: packets in, one spool entry per call out.
 *
 * This file says what capture needs and nothing more: its configuration table
 * (capture.* and spool.dir), its options, and the read loop that hands every
 * frame to the engine (engine.h). Options, the configuration file, logging and
 * signals are the shared skeleton's (common/stage.c); packet sources are
 * input.c; everything that happens to a frame is the engine's.
 *
 * Order at start-up, and why:
 *   1. configuration and options (the skeleton), then every value checked and
 *      turned into one const ce_config (bad value: exit 3);
 *   2. RLIMIT_NOFILE soft limit raised to the hard limit: the engine keeps
 *      one open call.pcap per active call;
 *   3. the live interface opened (needs CAP_NET_RAW or root);
 *   4. privileges dropped to --user (setgroups, setgid, setuid) — after the
 *      interface is open and BEFORE the spool is opened, so every spool
 *      directory and file is created by that user (nothing is chown'ed: the
 *      spool must be writable by it);
 *   5. spool_open (capture only writes; spool_recover of stale tmp/ entries
 *      is the decode stage's job, because recovery needs the consumers' lock),
 *      ce_new, then the loop.
 *
 * The loop. Files are read one after the other in the order given (-R: oldest
 * first); a file that cannot be opened or turns out corrupt is logged and
 * counted, its frames before the damage are kept, and the next file follows;
 * the exit code is then 1. A live interface is non-blocking and polled with a
 * short timeout, so when the wire is quiet the engine still gets ce_tick()
 * with the wall clock (timeouts end calls) and a signal is noticed at once.
 * SIGTERM/SIGINT stop the reading; ce_finish() then ends every open call as
 * "capture stopped" and spools it: nothing captured is lost.
 *
 * Counters are logged every capture.stats_interval and at exit, and written
 * as JSON with --json-stats (tests and benchmarks read them). The engine is
 * freed by ce_finish(), so the final counters are the engine's just before
 * the stop plus the spool handle's commit count (which includes the calls
 * ended by the stop).
 *
 * Not here: decoding of any byte (engine), the database (never touched by
 * capture), daemonising (systemd runs it in the foreground).
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "error.h"
#include "input.h"
#include "json.h"
#include "limits.h"
#include "log.h"
#include "spool.h"
#include "stage.h"

/* Live: longest wait in poll() before the engine is ticked with the wall clock. */
#define CAPTURE_POLL_MS 200
/* Files and busy wires: the clock is looked at once every this many frames. */
#define CAPTURE_CLOCK_EVERY 4096
/* Ceiling of the --json-stats document. */
#define CAPTURE_JSON_MAX (64 * 1024)
/* Host names longer than this are cut for the default probe name. */
#define CAPTURE_HOST_MAX 255

typedef struct capture_cfg {
    char *probe;
    char *spool_dir;
    char *interface;
    char *filter;
    char *sip_ports;
    int sip_any_port;
    char *correlation_headers;
    int64_t snaplen;
    int64_t buffer_size;
    int promiscuous;
    int immediate;
    int64_t stats_interval_ms;
    char *user;
    int64_t max_calls;
    int64_t max_streams_per_call;
    int64_t frag_max_datagrams;
    int64_t frag_max_bytes;
    int64_t frag_timeout_ms;
    int64_t tcp_max_flows;
    int64_t tcp_max_flow_bytes;
    int64_t tcp_idle_ms;
    int64_t rtp_timeout_ms;
    int64_t setup_timeout_ms;
    int64_t max_call_duration_ms;
    int64_t linger_ms;
    int write_pcap;
    int pcap_writer_thread;
    int answer_needs_identity;
} capture_cfg;

/* The defaults below are text (the configuration table parses them); these
 * keep them equal to the named limits. */
_Static_assert(CS_DEF_MAX_CALLS == 20000, "capture.max_calls default");
_Static_assert(CS_DEF_MAX_STREAMS_PER_CALL == 16, "capture.max_streams_per_call default");
_Static_assert(CS_DEF_FRAG_MAX_DATAGRAMS == 1024, "capture.frag_max_datagrams default");
_Static_assert(CS_DEF_FRAG_MAX_BYTES == 8u * 1024 * 1024, "capture.frag_max_bytes default");
_Static_assert(CS_DEF_FRAG_TIMEOUT_MS == 30000, "capture.frag_timeout default");
_Static_assert(CS_DEF_TCP_MAX_FLOWS == 4096, "capture.tcp_max_flows default");
_Static_assert(CS_DEF_TCP_MAX_FLOW_BYTES == 256u * 1024, "capture.tcp_max_flow_bytes default");
_Static_assert(CS_DEF_TCP_IDLE_MS == 300000, "capture.tcp_idle default");

#define MS_1S 1000LL
#define MS_1D (86400LL * 1000)

static const cfg_key capture_keys[] = {
    CFG_KEY_STRING(capture_cfg, spool_dir, "spool.dir", "/var/spool/callscope", 0,
                   "spool directory shared with callscope-decode (must be writable by "
                   "capture.user)"),
    CFG_KEY_STRING(capture_cfg, probe, "capture.probe", "", 0,
                   "probe name, part of every call uuid (empty: the host name)"),
    CFG_KEY_STRING(capture_cfg, interface, "capture.interface", NULL, 0,
                   "interface to capture on when neither -i nor -r/-R is given"),
    CFG_KEY_STRING(capture_cfg, filter, "capture.filter", NULL, 0,
                   "BPF filter applied to the interface and to files (empty: none)"),
    CFG_KEY_STRING(capture_cfg, sip_ports, "capture.sip_ports", "5060", 0,
                   "UDP/TCP ports carrying SIP, comma-separated (at most 16)"),
    CFG_KEY_BOOL(capture_cfg, sip_any_port, "capture.sip_any_port", "no",
                 "also try any UDP payload that looks like SIP"),
    CFG_KEY_STRING(capture_cfg, correlation_headers, "capture.correlation_headers",
                   "X-Orig-Call-ID", 0,
                   "headers naming the inbound Call-ID on agent legs, comma-separated (at "
                   "most 4; empty: no leg merging)"),
    CFG_KEY_INT(capture_cfg, snaplen, "capture.snaplen", "65535", 64, 262144,
                "bytes kept per frame on a live interface"),
    CFG_KEY_SIZE(capture_cfg, buffer_size, "capture.buffer_size", "64M", 1024 * 1024,
                 2047LL * 1024 * 1024, "kernel capture buffer of a live interface"),
    CFG_KEY_BOOL(capture_cfg, promiscuous, "capture.promiscuous", "yes",
                 "put the live interface in promiscuous mode"),
    CFG_KEY_BOOL(capture_cfg, immediate, "capture.immediate", "yes",
                 "deliver each frame at once instead of in kernel batches"),
    CFG_KEY_DURATION(capture_cfg, stats_interval_ms, "capture.stats_interval", "60s", 0, MS_1D,
                     "log the counters this often (0: only at exit)"),
    CFG_KEY_STRING(capture_cfg, user, "capture.user", NULL, 0,
                   "user to switch to after the interface is open (empty: stay)"),
    CFG_KEY_INT(capture_cfg, max_calls, "capture.max_calls", "20000", 1, 1000000,
                "active calls; past it new calls are refused and counted"),
    CFG_KEY_INT(capture_cfg, max_streams_per_call, "capture.max_streams_per_call", "16", 1, 256,
                "RTP streams (SSRC and direction) per call"),
    CFG_KEY_INT(capture_cfg, frag_max_datagrams, "capture.frag_max_datagrams", "1024", 1,
                1000000, "IP datagrams being reassembled at once"),
    CFG_KEY_SIZE(capture_cfg, frag_max_bytes, "capture.frag_max_bytes", "8M", 65536,
                 1024LL * 1024 * 1024, "bytes held by IP fragments in total"),
    CFG_KEY_DURATION(capture_cfg, frag_timeout_ms, "capture.frag_timeout", "30s", 100,
                     600 * MS_1S, "an IP datagram not complete by then is dropped"),
    CFG_KEY_INT(capture_cfg, tcp_max_flows, "capture.tcp_max_flows", "4096", 1, 1000000,
                "TCP SIP flows reassembled at once"),
    CFG_KEY_SIZE(capture_cfg, tcp_max_flow_bytes, "capture.tcp_max_flow_bytes", "256k", 65536,
                 16LL * 1024 * 1024, "bytes buffered per TCP flow direction"),
    CFG_KEY_DURATION(capture_cfg, tcp_idle_ms, "capture.tcp_idle", "300s", MS_1S, MS_1D,
                     "a silent TCP flow is forgotten after this long"),
    CFG_KEY_DURATION(capture_cfg, rtp_timeout_ms, "capture.rtp_timeout", "60s", MS_1S, MS_1D,
                     "an answered call with no RTP and no SIP for this long ends"),
    CFG_KEY_DURATION(capture_cfg, setup_timeout_ms, "capture.setup_timeout", "300s", MS_1S,
                     MS_1D, "an INVITE with no final response for this long ends"),
    CFG_KEY_DURATION(capture_cfg, max_call_duration_ms, "capture.max_call_duration", "4h",
                     60 * MS_1S, 7 * MS_1D, "a call longer than this is ended"),
    CFG_KEY_DURATION(capture_cfg, linger_ms, "capture.linger", "5s", 0, 600 * MS_1S,
                     "after the last leg ended, wait this long for stragglers"),
    CFG_KEY_BOOL(capture_cfg, write_pcap, "capture.write_pcap", "yes",
                 "write call.pcap (the call's packets) into each spool entry"),
    CFG_KEY_BOOL(capture_cfg, pcap_writer_thread, "capture.pcap_writer_thread", "yes",
                 "write call.pcap from a second thread (no: from the read loop)"),
    CFG_KEY_BOOL(capture_cfg, answer_needs_identity, "capture.answer_needs_identity", "no",
                 "without agent legs, a 2xx is an agent's answer only with P-Asserted-Identity "
                 "(PBXs that answer into their own IVR or queue)"),
};
#define CAPTURE_NKEYS (sizeof capture_keys / sizeof capture_keys[0])

/* ---- options ----------------------------------------------------------- */

typedef struct capture_src {
    const char *path; /* borrowed from argv */
    int is_dir;       /* -R */
} capture_src;

typedef struct capture_opts {
    const char *iface;
    const char *filter;
    const char *stats_interval;
    const char *spool;
    const char *probe;
    const char *user;
    const char *json_stats;
    capture_src *srcs; /* -r and -R in command-line order (owned) */
    size_t nsrcs, srcs_cap;
} capture_opts;

static int opt_add_src(capture_opts *o, const char *path, int is_dir)
{
    if (o->nsrcs == o->srcs_cap) {
        size_t ncap = o->srcs_cap == 0 ? 8 : o->srcs_cap * 2;
        capture_src *t = realloc(o->srcs, ncap * sizeof *t);
        if (t == NULL) {
            return CS_ERR_NOMEM;
        }
        o->srcs = t;
        o->srcs_cap = ncap;
    }
    o->srcs[o->nsrcs].path = path;
    o->srcs[o->nsrcs].is_dir = is_dir;
    o->nsrcs++;
    return CS_OK;
}

static int opt_iface(void *ctx, const char *arg, char *err, size_t errcap)
{
    capture_opts *o = ctx;
    if (arg[0] == '\0') {
        snprintf(err, errcap, "empty interface name");
        return -1;
    }
    o->iface = arg;
    return 0;
}

static int opt_read(void *ctx, const char *arg, char *err, size_t errcap)
{
    if (opt_add_src(ctx, arg, 0) != CS_OK) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    return 0;
}

static int opt_read_dir(void *ctx, const char *arg, char *err, size_t errcap)
{
    if (opt_add_src(ctx, arg, 1) != CS_OK) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    return 0;
}

#define CAPTURE_OPT_STRING(fn, field)                                                              \
    static int fn(void *ctx, const char *arg, char *err, size_t errcap)                            \
    {                                                                                              \
        (void)err;                                                                                 \
        (void)errcap;                                                                              \
        ((capture_opts *)ctx)->field = arg;                                                        \
        return 0;                                                                                  \
    }
CAPTURE_OPT_STRING(opt_filter, filter)
CAPTURE_OPT_STRING(opt_stats_interval, stats_interval)
CAPTURE_OPT_STRING(opt_spool, spool)
CAPTURE_OPT_STRING(opt_probe, probe)
CAPTURE_OPT_STRING(opt_user, user)
CAPTURE_OPT_STRING(opt_json_stats, json_stats)

static const cs_stage_opt capture_opts_tab[] = {
    {"interface", 'i', required_argument, "IFACE",
     "capture live on IFACE (overrides capture.interface)", opt_iface},
    {"read", 'r', required_argument, "FILE",
     "read a pcap or pcapng file (repeatable; FILE arguments too)", opt_read},
    {"read-dir", 'R', required_argument, "DIR",
     "read every file in DIR, oldest first by mtime then name (repeatable)", opt_read_dir},
    {"filter", 'f', required_argument, "BPF", "BPF filter expression (overrides capture.filter)",
     opt_filter},
    {"stats-interval", 0, required_argument, "SEC",
     "log the counters every SEC seconds, 0 = only at exit (capture.stats_interval)",
     opt_stats_interval},
    {"spool", 0, required_argument, "DIR", "spool directory (overrides spool.dir)", opt_spool},
    {"probe", 0, required_argument, "NAME", "probe name (overrides capture.probe)", opt_probe},
    {"user", 'u', required_argument, "USER",
     "switch to USER once the interface is open (overrides capture.user)", opt_user},
    {"json-stats", 0, required_argument, "FILE", "write the final counters to FILE as JSON",
     opt_json_stats},
};
#define CAPTURE_NOPTS (sizeof capture_opts_tab / sizeof capture_opts_tab[0])

/* ---- settings -> ce_config --------------------------------------------- */

/* Everything the run needs, built once at start-up; ce borrows from here. */
typedef struct capture_run {
    ce_config ce;
    char probe_buf[CAPTURE_HOST_MAX + 1];
    char *corr_buf; /* the correlation header names, split in place (owned) */
} capture_run;

static int is_token_char(char c)
{
    /* RFC 3261 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-.!%*_+`'~", c) != NULL;
}

/* "5060, 5080" -> ports. CS_ERR_CONFIG with the reason in err. */
static int parse_ports(const char *s, ce_config *c, char *err, size_t errcap)
{
    const char *p = s;

    c->nsip_ports = 0;
    while (*p != '\0') {
        unsigned long v = 0;
        int digits = 0;
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (unsigned long)(*p - '0');
            if (v > 65535) {
                break;
            }
            digits++;
            p++;
        }
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (digits == 0 || v == 0 || v > 65535 || (*p != ',' && *p != '\0')) {
            snprintf(err, errcap, "capture.sip_ports: '%s' is not a list of ports 1-65535", s);
            return CS_ERR_CONFIG;
        }
        if (c->nsip_ports == CE_MAX_SIP_PORTS) {
            snprintf(err, errcap, "capture.sip_ports: more than %d ports", CE_MAX_SIP_PORTS);
            return CS_ERR_CONFIG;
        }
        c->sip_ports[c->nsip_ports++] = (uint16_t)v;
        if (*p == ',') {
            p++;
            if (*p == '\0') {
                snprintf(err, errcap, "capture.sip_ports: '%s' ends with a comma", s);
                return CS_ERR_CONFIG;
            }
        }
    }
    if (c->nsip_ports == 0 && !c->sip_any_port) {
        snprintf(err, errcap, "capture.sip_ports: empty (and capture.sip_any_port is off)");
        return CS_ERR_CONFIG;
    }
    return CS_OK;
}

/* "X-Orig-Call-ID, X-Foo" -> names pointing into run->corr_buf. */
static int parse_headers(const char *s, capture_run *run, char *err, size_t errcap)
{
    ce_config *c = &run->ce;
    char *p;

    c->ncorrelation_headers = 0;
    run->corr_buf = strdup(s);
    if (run->corr_buf == NULL) {
        snprintf(err, errcap, "out of memory");
        return CS_ERR_NOMEM;
    }
    p = run->corr_buf;
    while (*p != '\0') {
        char *start, *end;
        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        start = p;
        while (*p != '\0' && *p != ',') {
            p++;
        }
        end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }
        for (const char *q = start; q < end; q++) {
            if (!is_token_char(*q)) {
                snprintf(err, errcap, "capture.correlation_headers: '%s' is not a header name",
                         s);
                return CS_ERR_CONFIG;
            }
        }
        if (c->ncorrelation_headers == CE_MAX_CORRELATION_HEADERS) {
            snprintf(err, errcap, "capture.correlation_headers: more than %d headers",
                     CE_MAX_CORRELATION_HEADERS);
            return CS_ERR_CONFIG;
        }
        if (*p == ',') {
            p++;
        }
        *end = '\0';
        c->correlation_headers[c->ncorrelation_headers++] = start;
    }
    return CS_OK;
}

static int build_run(const capture_cfg *cfg, capture_run *run, char *err, size_t errcap)
{
    ce_config *c = &run->ce;
    int rc;

    ce_config_defaults(c);
    if (cfg->probe != NULL && cfg->probe[0] != '\0') {
        snprintf(run->probe_buf, sizeof run->probe_buf, "%s", cfg->probe);
    } else if (gethostname(run->probe_buf, sizeof run->probe_buf - 1) != 0 ||
               run->probe_buf[0] == '\0') {
        snprintf(run->probe_buf, sizeof run->probe_buf, "localhost");
    }
    run->probe_buf[sizeof run->probe_buf - 1] = '\0';
    c->probe = run->probe_buf;
    c->sip_any_port = cfg->sip_any_port;
    rc = parse_ports(cfg->sip_ports != NULL ? cfg->sip_ports : "", c, err, errcap);
    if (rc != CS_OK) {
        return rc;
    }
    rc = parse_headers(cfg->correlation_headers != NULL ? cfg->correlation_headers : "", run, err,
                       errcap);
    if (rc != CS_OK) {
        return rc;
    }
    c->max_calls = (size_t)cfg->max_calls;
    c->max_streams_per_call = (size_t)cfg->max_streams_per_call;
    c->frag_max_datagrams = (size_t)cfg->frag_max_datagrams;
    c->frag_max_bytes = (size_t)cfg->frag_max_bytes;
    c->frag_timeout_us = (uint64_t)cfg->frag_timeout_ms * 1000u;
    c->tcp_max_flows = (size_t)cfg->tcp_max_flows;
    c->tcp_max_flow_bytes = (size_t)cfg->tcp_max_flow_bytes;
    c->tcp_idle_us = (uint64_t)cfg->tcp_idle_ms * 1000u;
    c->rtp_timeout_us = (uint64_t)cfg->rtp_timeout_ms * 1000u;
    c->setup_timeout_us = (uint64_t)cfg->setup_timeout_ms * 1000u;
    c->max_call_us = (uint64_t)cfg->max_call_duration_ms * 1000u;
    c->linger_us = (uint64_t)cfg->linger_ms * 1000u;
    c->write_pcap = cfg->write_pcap;
    c->pcap_writer_thread = cfg->pcap_writer_thread;
    c->snaplen = (int)cfg->snaplen;
    c->answer_needs_identity = cfg->answer_needs_identity;
    return CS_OK;
}

/* Applies the options that override configuration keys, after the file and
 * --set (so the command line wins). Returns CS_OK or CS_ERR_CONFIG (err). */
static int apply_overrides(const capture_opts *o, capture_cfg *cfg, char *err, size_t errcap)
{
    static const struct {
        size_t off;
        const char *key;
        const char *opt;
    } map[] = {
        {offsetof(capture_opts, filter), "capture.filter", "--filter"},
        {offsetof(capture_opts, stats_interval), "capture.stats_interval", "--stats-interval"},
        {offsetof(capture_opts, spool), "spool.dir", "--spool"},
        {offsetof(capture_opts, probe), "capture.probe", "--probe"},
        {offsetof(capture_opts, user), "capture.user", "--user"},
        {offsetof(capture_opts, iface), "capture.interface", "--interface"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = *(const char *const *)((const char *)o + map[i].off);
        char why[256];
        if (v == NULL) {
            continue;
        }
        if (cfg_set_value(capture_keys, CAPTURE_NKEYS, cfg, map[i].key, v, why, sizeof why) !=
            CS_OK) {
            snprintf(err, errcap, "%s: %s", map[i].opt, why);
            return CS_ERR_CONFIG;
        }
    }
    return CS_OK;
}

/* ---- process environment ----------------------------------------------- */

static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        cs_warn("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        return;
    }
    if (rl.rlim_cur == rl.rlim_max) {
        cs_debug("open files limit %llu", (unsigned long long)rl.rlim_cur);
        return;
    }
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        cs_warn("cannot raise the open files limit from %llu to %llu: %s",
                (unsigned long long)old, (unsigned long long)rl.rlim_max, strerror(errno));
        return;
    }
    cs_debug("open files limit raised from %llu to %llu", (unsigned long long)old,
             (unsigned long long)rl.rlim_max);
}

/* setgroups + setgid + setuid to `user`; CS_OK or an error with the reason. */
static int drop_privileges(const char *user, char *err, size_t errcap)
{
    struct passwd *pw;

    errno = 0;
    pw = getpwnam(user);
    if (pw == NULL) {
        snprintf(err, errcap, "--user %s: %s", user, errno != 0 ? strerror(errno) : "no such user");
        return CS_ERR_CONFIG;
    }
    if (geteuid() == pw->pw_uid && getuid() == pw->pw_uid) {
        return CS_OK; /* already that user */
    }
    if (geteuid() != 0) {
        snprintf(err, errcap, "--user %s: only root can switch users", user);
        return CS_ERR_IO;
    }
    if (setgroups(1, &pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        snprintf(err, errcap, "--user %s: %s", user, strerror(errno));
        return CS_ERR_IO;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, errcap, "--user %s: root privileges could be regained", user);
        return CS_ERR_IO;
    }
    cs_info("running as user %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid,
            (unsigned)pw->pw_gid);
    return CS_OK;
}

static uint64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---- counters ---------------------------------------------------------- */

/* Names of capture_counters.malformed_by[1..7] (index 0 unused). */
static const char *const malformed_names[8] = {
    NULL, "truncated", "bad_ip", "bad_udp", "bad_tcp", "encap", "sip", "rtp",
};

/* What the loop knows beyond the engine's counters. */
typedef struct capture_state {
    capture_engine *ce;
    spool *sp;
    const char *source;      /* "live" or "files" */
    size_t files_total, file_index; /* file_index: 1-based, of the file being read */
    size_t files_failed;
    uint64_t bytes_done;     /* bytes of files finished */
    cap_input *cur;          /* the input being read, or NULL */
    cap_kstats kstats;       /* last kernel figures (live) */
    uint64_t start_mono_us;
    uint64_t next_stats_us;  /* monotonic; 0: no periodic stats */
    uint64_t stats_every_us;
    uint64_t frames_since_clock;
    uint64_t max_active;     /* highest calls_active seen at a stats point */
    int stopped_by;          /* signal number, or 0 */
    int read_error;          /* live read failed */
} capture_state;

static void log_counters(capture_state *s, const capture_counters *c, const char *when)
{
    char mal[256], prog[160];
    size_t off = 0;

    mal[0] = '\0';
    for (int i = 1; i < 8; i++) {
        if (c->malformed_by[i] != 0 && off < sizeof mal) {
            int n = snprintf(mal + off, sizeof mal - off, "%s%s=%llu", off == 0 ? " (" : " ",
                             malformed_names[i], (unsigned long long)c->malformed_by[i]);
            off += n > 0 ? (size_t)n : 0;
        }
    }
    if (off > 0 && off < sizeof mal - 1) {
        strcat(mal, ")");
    }
    prog[0] = '\0';
    if (s->cur != NULL && !cap_input_is_live(s->cur)) {
        uint64_t done, size;
        cap_input_progress(s->cur, &done, &size);
        snprintf(prog, sizeof prog, " file %zu/%zu %llu/%llu bytes (%.1f%%)", s->file_index,
                 s->files_total, (unsigned long long)done, (unsigned long long)size,
                 size > 0 ? 100.0 * (double)done / (double)size : 0.0);
    } else if (s->files_total > 0) {
        snprintf(prog, sizeof prog, " files %zu/%zu (%zu failed)", s->file_index, s->files_total,
                 s->files_failed);
    } else {
        snprintf(prog, sizeof prog, " kernel received=%llu dropped=%llu ifdropped=%llu",
                 (unsigned long long)s->kstats.received, (unsigned long long)s->kstats.dropped,
                 (unsigned long long)s->kstats.ifdropped);
    }
    cs_info("%s: frames=%llu bytes=%llu decoded=%llu malformed=%llu%s sip=%llu calls "
            "active=%llu finished=%llu refused=%llu streams=%llu dtmf=%llu spooled=%llu "
            "spool_errors=%llu limit_hits=%llu%s",
            when, (unsigned long long)c->frames, (unsigned long long)c->bytes,
            (unsigned long long)c->decoded, (unsigned long long)c->malformed, mal,
            (unsigned long long)c->sip_messages, (unsigned long long)c->calls_active,
            (unsigned long long)c->calls_finished, (unsigned long long)c->calls_refused,
            (unsigned long long)c->streams, (unsigned long long)c->dtmf_events,
            (unsigned long long)c->spool_written, (unsigned long long)c->spool_errors,
            (unsigned long long)c->limit_hits, prog);
}

static void refresh_kstats(capture_state *s)
{
    char err[256];
    if (s->cur != NULL && cap_input_is_live(s->cur) &&
        cap_input_kstats(s->cur, &s->kstats, err, sizeof err) != CS_OK) {
        static cs_log_ratelimit rl = CS_LOG_RATELIMIT_INIT(60, 1);
        cs_log_rl(&rl, CS_LOG_WARN, NULL, "%s", err);
    }
}

/* Called every CAPTURE_CLOCK_EVERY frames and on every live wake-up. */
static void maybe_stats(capture_state *s, uint64_t now_mono)
{
    capture_counters c;

    if (s->next_stats_us == 0 || now_mono < s->next_stats_us) {
        return;
    }
    s->next_stats_us = now_mono + s->stats_every_us;
    refresh_kstats(s);
    ce_get_counters(s->ce, &c);
    if (c.calls_active > s->max_active) {
        s->max_active = c.calls_active;
    }
    log_counters(s, &c, "stats");
}

static void json_counters(json_w *w, const capture_counters *c)
{
    json_kv_uint(w, "frames", c->frames);
    json_kv_uint(w, "bytes", c->bytes);
    json_kv_uint(w, "decoded", c->decoded);
    json_kv_uint(w, "malformed", c->malformed);
    json_key(w, "malformed_by");
    json_obj_begin(w);
    for (int i = 1; i < 8; i++) {
        json_kv_uint(w, malformed_names[i], c->malformed_by[i]);
    }
    json_obj_end(w);
    json_key(w, "skipped");
    json_obj_begin(w);
    json_kv_uint(w, "l2", c->skipped_l2);
    json_kv_uint(w, "l3", c->skipped_l3);
    json_kv_uint(w, "sctp", c->skipped_sctp);
    json_kv_uint(w, "linktype", c->skipped_linktype);
    json_obj_end(w);
    json_kv_uint(w, "fragments", c->fragments);
    json_kv_uint(w, "reassembled", c->reassembled);
    json_kv_uint(w, "sip_messages", c->sip_messages);
    json_kv_uint(w, "sip_requests", c->sip_requests);
    json_kv_uint(w, "sip_responses", c->sip_responses);
    json_kv_uint(w, "sip_unmatched", c->sip_unmatched);
    json_kv_uint(w, "rtp_packets", c->rtp_packets);
    json_kv_uint(w, "rtcp_packets", c->rtcp_packets);
    json_kv_uint(w, "rtp_unmatched", c->rtp_unmatched);
    json_kv_uint(w, "calls_started", c->calls_started);
    json_kv_uint(w, "calls_active", c->calls_active);
    json_kv_uint(w, "calls_finished", c->calls_finished);
    json_kv_uint(w, "calls_refused", c->calls_refused);
    json_kv_uint(w, "streams", c->streams);
    json_kv_uint(w, "streams_refused", c->streams_refused);
    json_kv_uint(w, "dtmf_events", c->dtmf_events);
    json_kv_uint(w, "spool_written", c->spool_written);
    json_kv_uint(w, "spool_errors", c->spool_errors);
    json_kv_uint(w, "limit_hits", c->limit_hits);
}

static int write_json_stats(const char *path, const capture_state *s, const capture_counters *c,
                            uint64_t elapsed_us, int exit_code)
{
    json_w *w = json_w_new(1, CAPTURE_JSON_MAX);
    double secs = (double)elapsed_us / 1e6;
    int rc;

    if (w == NULL) {
        return CS_ERR_NOMEM;
    }
    json_obj_begin(w);
    json_kv_str(w, "program", "callscope-capture");
    json_kv_str(w, "version", CALLSCOPE_VERSION);
    json_kv_str(w, "source", s->source);
    json_kv_double(w, "elapsed_s", secs);
    json_kv_double(w, "frames_per_s", secs > 0 ? (double)c->frames / secs : 0.0);
    json_kv_double(w, "mbytes_per_s", secs > 0 ? (double)c->bytes / 1e6 / secs : 0.0);
    json_counters(w, c);
    json_kv_uint(w, "calls_active_max", s->max_active);
    json_key(w, "kernel");
    json_obj_begin(w);
    json_kv_uint(w, "received", s->kstats.received);
    json_kv_uint(w, "dropped", s->kstats.dropped);
    json_kv_uint(w, "ifdropped", s->kstats.ifdropped);
    json_obj_end(w);
    json_key(w, "files");
    json_obj_begin(w);
    json_kv_uint(w, "total", s->files_total);
    json_kv_uint(w, "failed", s->files_failed);
    json_kv_uint(w, "bytes_read", s->bytes_done);
    json_obj_end(w);
    json_kv_bool(w, "stopped_by_signal", s->stopped_by != 0);
    json_kv_int(w, "exit_code", exit_code);
    json_obj_end(w);
    rc = json_w_save(w, path);
    json_w_free(w);
    return rc;
}

/* ---- the read loops ---------------------------------------------------- */

static void frame_to_engine(capture_state *s, int linktype, const cap_frame *f,
                            const ce_ahead *hint)
{
    int rc = ce_frame_hinted(s->ce, linktype, f->ts_us, f->data, f->caplen, f->wire_len, hint);
    if (rc != CS_OK) {
        static cs_log_ratelimit rl = CS_LOG_RATELIMIT_INIT(10, 5);
        cs_log_rl(&rl, CS_LOG_ERROR, NULL, "a call could not be spooled: %s", cs_err_msg(rc));
    }
}

static int check_stop(capture_state *s)
{
    int sig = cs_stage_stop_requested();
    if (sig != 0 && s->stopped_by == 0) {
        s->stopped_by = sig;
        cs_info("signal %d: stopping, open calls are spooled as \"capture stopped\"", sig);
    }
    return sig != 0;
}

/* Reads one file to its end (or a stop). Returns CS_OK or the file's error. */
static int read_file(capture_state *s, const char *path, const char *filter)
{
    char err[512];
    cap_frame f;
    int rc;

    rc = cap_input_open_file(path, filter, &s->cur, err, sizeof err);
    if (rc != CS_OK) {
        cs_error("cannot read %s (file %zu/%zu skipped)", err, s->file_index, s->files_total);
        return rc;
    }
    int lt = cap_input_linktype(s->cur);
    cs_info("reading %s (file %zu/%zu, link type %d)", path, s->file_index, s->files_total, lt);
    /* look ahead: the state of the next three frames is on its way while
     * this one is processed: the frame three ahead is read once
     * (ce_ahead_begin: its media-map slot), two ahead its call, the next its
     * stream and call.pcap block (ce_ahead_step); ring[n % 4] is frame n's */
    ce_ahead ring[4];
    memset(ring, 0, sizeof ring);
    for (size_t n = 0;; n++) {
        rc = cap_input_next(s->cur, &f, err, sizeof err);
        if (rc != 1) {
            break;
        }
        const uint8_t *ahead;
        size_t ahead_len;
        if (cap_input_peek(s->cur, 3, &ahead, &ahead_len))
            ce_ahead_begin(s->ce, lt, ahead, ahead_len, &ring[(n + 3) % 4]);
        else
            ring[(n + 3) % 4].ok = 0;
        ce_ahead_step(s->ce, &ring[(n + 2) % 4], 1);
        ce_ahead_step(s->ce, &ring[(n + 1) % 4], 2);
        frame_to_engine(s, lt, &f, &ring[n % 4]);
        if (++s->frames_since_clock >= CAPTURE_CLOCK_EVERY) {
            s->frames_since_clock = 0;
            if (check_stop(s)) {
                rc = CS_OK;
                break;
            }
            maybe_stats(s, clock_us(CLOCK_MONOTONIC));
        }
    }
    uint64_t done, size;
    cap_input_progress(s->cur, &done, &size);
    s->bytes_done += done;
    if (rc == CS_ERR_EMPTY) {
        rc = CS_OK;
    } else if (rc != CS_OK && check_stop(s)) {
        /* a read interrupted by the stop signal (a pipe, a slow disk): not damage */
        rc = CS_OK;
    } else if (rc != CS_OK) {
        cs_error("%s is corrupt after %llu frames: %s (rest of the file skipped)", path,
                 (unsigned long long)cap_input_frames(s->cur), err);
    }
    cap_input_close(s->cur);
    s->cur = NULL;
    return rc;
}

static void read_live(capture_state *s, cap_input *in)
{
    char err[512];
    cap_frame f;
    int lt = cap_input_linktype(in);
    struct pollfd pfd = {.fd = cap_input_fd(in), .events = POLLIN};

    s->cur = in;
    while (!check_stop(s)) {
        int rc = cap_input_next(in, &f, err, sizeof err);
        if (rc == 1) {
            frame_to_engine(s, lt, &f, NULL);
            if (++s->frames_since_clock >= CAPTURE_CLOCK_EVERY) {
                s->frames_since_clock = 0;
                maybe_stats(s, clock_us(CLOCK_MONOTONIC));
            }
            continue;
        }
        if (rc < 0) {
            cs_error("reading the interface failed: %s", err);
            s->read_error = 1;
            break;
        }
        /* the ring is empty: wait a little, then let time move */
        if (pfd.fd >= 0 && poll(&pfd, 1, CAPTURE_POLL_MS) < 0 && errno != EINTR) {
            cs_error("poll: %s", strerror(errno));
            s->read_error = 1;
            break;
        }
        if (pfd.fd < 0) {
            struct timespec ts = {0, CAPTURE_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
        }
        rc = ce_tick(s->ce, clock_us(CLOCK_REALTIME));
        if (rc != CS_OK) {
            static cs_log_ratelimit rl = CS_LOG_RATELIMIT_INIT(10, 5);
            cs_log_rl(&rl, CS_LOG_ERROR, NULL, "a call could not be spooled: %s", cs_err_msg(rc));
        }
        s->frames_since_clock = 0;
        maybe_stats(s, clock_us(CLOCK_MONOTONIC));
    }
    refresh_kstats(s);
}

/* Expands -r/-R/positional sources into one ordered file list. Returns
 * CS_OK; directories that cannot be listed are logged and counted failed. */
static int expand_sources(const capture_opts *o, const cs_stage *st, char ***files, size_t *nfiles,
                          size_t *failed)
{
    char **out = NULL;
    size_t n = 0, cap = 0;
    size_t total = o->nsrcs + (size_t)st->nargs;

    *files = NULL;
    *nfiles = 0;
    for (size_t i = 0; i < total; i++) {
        const char *path = i < o->nsrcs ? o->srcs[i].path : st->args[i - o->nsrcs];
        int is_dir = i < o->nsrcs ? o->srcs[i].is_dir : 0;
        char **list = NULL;
        size_t nlist = 0;
        char err[512];

        if (is_dir) {
            int rc = cap_input_list_dir(path, &list, &nlist, err, sizeof err);
            if (rc != CS_OK) {
                cs_error("cannot list %s", err);
                (*failed)++;
                continue;
            }
            if (nlist == 0) {
                cs_warn("%s: no files to read", path);
            }
        } else {
            list = malloc(sizeof *list);
            if (list != NULL) {
                list[0] = strdup(path);
            }
            if (list == NULL || list[0] == NULL) {
                free(list);
                cap_input_free_list(out, n);
                return CS_ERR_NOMEM;
            }
            nlist = 1;
        }
        if (n + nlist > cap) {
            size_t ncap = cap == 0 ? 16 : cap;
            while (ncap < n + nlist) {
                ncap *= 2;
            }
            char **t = realloc(out, ncap * sizeof *t);
            if (t == NULL) {
                cap_input_free_list(list, nlist);
                cap_input_free_list(out, n);
                return CS_ERR_NOMEM;
            }
            out = t;
            cap = ncap;
        }
        memcpy(out + n, list, nlist * sizeof *list);
        n += nlist;
        free(list); /* the strings moved into out */
    }
    *files = out;
    *nfiles = n;
    return CS_OK;
}

int main(int argc, char **argv)
{
    capture_cfg cfg;
    capture_opts o;
    capture_run run;
    capture_state s;
    cs_stage st;
    char err[512];
    int exit_code = CS_EXIT_OK;
    cap_input *live = NULL;
    char **files = NULL;
    size_t nfiles = 0;
    int rc;

    memset(&cfg, 0, sizeof cfg);
    memset(&o, 0, sizeof o);
    memset(&run, 0, sizeof run);
    memset(&s, 0, sizeof s);
    const cs_stage_def def = {
        .name = "callscope-capture",
        .stage = "capture",
        .synopsis = "[OPTION]... [-i IFACE | -r FILE... | -R DIR... | FILE...]",
        .description =
            "Follows every SIP call and its RTP/RTCP on a live interface or in capture files\n"
            "(pcap, pcapng) and writes one spool entry (call.json, call.pcap) per finished\n"
            "call for callscope-decode. Never touches the database.\n"
            "\n"
            "Files are read in the order given; -R reads a directory's files oldest first.\n"
            "SIGTERM or SIGINT ends every open call as \"capture stopped\", spools it and\n"
            "exits 0. Counters go to the log every --stats-interval and at exit.\n"
            "Exit 1: some input file could not be read or was corrupt (the others were).\n"
            "See callscope-capture(1) in docs/callscope-capture.md.",
        .default_config = "/etc/callscope/callscope.conf",
        .keys = capture_keys,
        .nkeys = CAPTURE_NKEYS,
        .opts = capture_opts_tab,
        .nopts = CAPTURE_NOPTS,
        .ctx = &o,
        .min_args = 0,
        .max_args = -1,
    };
    cs_stage_start(&def, argc, argv, &cfg, &st);

    if (apply_overrides(&o, &cfg, err, sizeof err) != CS_OK) {
        fprintf(stderr, "callscope-capture: %s\nTry 'callscope-capture --help' for more "
                        "information.\n",
                err);
        exit_code = CS_EXIT_USAGE;
        goto out;
    }
    int have_files = o.nsrcs > 0 || st.nargs > 0;
    if (o.iface != NULL && have_files) {
        fprintf(stderr, "callscope-capture: -i and files (-r, -R, FILE) exclude each other\n"
                        "Try 'callscope-capture --help' for more information.\n");
        exit_code = CS_EXIT_USAGE;
        goto out;
    }
    if (!have_files && (cfg.interface == NULL || cfg.interface[0] == '\0')) {
        fprintf(stderr, "callscope-capture: nothing to read: give -i IFACE, -r FILE, -R DIR or "
                        "capture.interface\n"
                        "Try 'callscope-capture --help' for more information.\n");
        exit_code = CS_EXIT_USAGE;
        goto out;
    }
    if (build_run(&cfg, &run, err, sizeof err) != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "%s", err);
        exit_code = CS_EXIT_CONFIG;
        goto out;
    }
    if (cap_input_check_filter(cfg.filter, 1 /* DLT_EN10MB */, (int)cfg.snaplen, err,
                               sizeof err) != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "%s", err);
        exit_code = CS_EXIT_CONFIG;
        goto out;
    }
    raise_nofile();

    if (!have_files) {
        cap_live_opts lo = {
            .iface = cfg.interface,
            .filter = cfg.filter,
            .snaplen = (int)cfg.snaplen,
            .buffer_bytes = cfg.buffer_size,
            .promisc = cfg.promiscuous,
            .immediate = cfg.immediate,
        };
        char warn[512];
        rc = cap_input_open_live(&lo, &live, err, sizeof err, warn, sizeof warn);
        if (rc != CS_OK) {
            cs_log(CS_LOG_FATAL, NULL, "cannot capture on %s", err);
            exit_code = rc == CS_ERR_CONFIG ? CS_EXIT_CONFIG : CS_EXIT_ENV;
            goto out;
        }
        if (warn[0] != '\0') {
            cs_warn("%s", warn);
        }
        s.source = "live";
    } else {
        s.source = "files";
    }
    if (cfg.user != NULL && cfg.user[0] != '\0') {
        rc = drop_privileges(cfg.user, err, sizeof err);
        if (rc != CS_OK) {
            cs_log(CS_LOG_FATAL, NULL, "%s", err);
            exit_code = rc == CS_ERR_CONFIG ? CS_EXIT_CONFIG : CS_EXIT_ENV;
            goto out;
        }
    }
    rc = spool_open(cfg.spool_dir, 0, &s.sp);
    if (rc != CS_OK) {
        cs_log(CS_LOG_FATAL, NULL, "cannot open the spool %s: %s (%s)", cfg.spool_dir,
               cs_err_msg(rc), strerror(errno));
        exit_code = rc == CS_ERR_CONFIG ? CS_EXIT_CONFIG : CS_EXIT_ENV;
        goto out;
    }
    s.ce = ce_new(&run.ce, s.sp, err, sizeof err);
    if (s.ce == NULL) {
        cs_log(CS_LOG_FATAL, NULL, "cannot start the capture engine: %s", err);
        exit_code = CS_EXIT_CONFIG;
        goto out;
    }
    if (have_files) {
        rc = expand_sources(&o, &st, &files, &nfiles, &s.files_failed);
        if (rc != CS_OK) {
            cs_log(CS_LOG_FATAL, NULL, "listing the input files: %s", cs_err_msg(rc));
            exit_code = CS_EXIT_ENV;
        }
        s.files_total = nfiles;
    }

    s.start_mono_us = clock_us(CLOCK_MONOTONIC);
    s.stats_every_us = (uint64_t)cfg.stats_interval_ms * 1000u;
    s.next_stats_us = s.stats_every_us > 0 ? s.start_mono_us + s.stats_every_us : 0;
    cs_info("probe %s, spool %s, %s %s", run.ce.probe, cfg.spool_dir,
            live != NULL ? "listening on" : "reading",
            live != NULL ? cfg.interface : (nfiles == 1 ? files[0] : "files"));
    if (live != NULL) {
        read_live(&s, live);
    } else {
        for (size_t i = 0; i < nfiles && !check_stop(&s); i++) {
            s.file_index = i + 1;
            if (read_file(&s, files[i], cfg.filter) != CS_OK) {
                s.files_failed++;
            }
        }
        s.file_index = s.files_total;
    }

    /* the end: counters as of the stop, then every open call is spooled */
    capture_counters c;
    spool_stats ss;
    ce_get_counters(s.ce, &c);
    if (c.calls_active > s.max_active) {
        s.max_active = c.calls_active;
    }
    spool_get_stats(s.sp, &ss);
    uint64_t committed_before = ss.committed;
    rc = ce_finish(s.ce);
    s.ce = NULL;
    spool_get_stats(s.sp, &ss);
    c.calls_finished += c.calls_active;
    c.calls_active = 0;
    c.spool_written += ss.committed - committed_before;
    if (rc != CS_OK) {
        cs_error("calls open at the stop could not all be spooled: %s (%s)", cs_err_msg(rc),
                 strerror(spool_errno(s.sp)));
        c.spool_errors++;
    }
    log_counters(&s, &c, "final");
    if (s.files_failed > 0 && exit_code == CS_EXIT_OK) {
        exit_code = CS_EXIT_PARTIAL;
    }
    if ((c.spool_errors > 0 || s.read_error) && exit_code == CS_EXIT_OK) {
        exit_code = CS_EXIT_ENV;
    }
    if (o.json_stats != NULL) {
        rc = write_json_stats(o.json_stats, &s, &c, clock_us(CLOCK_MONOTONIC) - s.start_mono_us,
                              exit_code);
        if (rc != CS_OK) {
            cs_error("cannot write %s: %s", o.json_stats, cs_err_msg(rc));
            if (exit_code == CS_EXIT_OK) {
                exit_code = CS_EXIT_ENV;
            }
        }
    }
    cs_info("exiting with status %d", exit_code);

out:
    if (s.ce != NULL) {
        ce_finish(s.ce);
    }
    cap_input_close(live);
    spool_close(s.sp);
    cap_input_free_list(files, nfiles);
    free(run.corr_buf);
    free(o.srcs);
    cfg_free(capture_keys, CAPTURE_NKEYS, &cfg);
    return exit_code;
}
