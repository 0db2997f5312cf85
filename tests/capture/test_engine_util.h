/*
 * test_engine_util.h — helpers for the engine tests: run a pcap (or frames
 * built here) through a capture engine into a spool in a temporary
 * directory, and query the resulting call.json files with jq.
 *
 * Frames are read with libpcap (pcap_open_offline / pcap_next_ex), as the
 * program does; nothing of libpcap is mocked. jq is a test dependency (the
 * tests skip with 77 when it is missing).
 */
#ifndef TEST_ENGINE_UTIL_H
#define TEST_ENGINE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* Decides per frame (index from 0) whether to feed it and at what time
 * offset; return 0 to skip. */
typedef int (*te_filter_fn)(void *arg, size_t index, const uint8_t *data, size_t caplen,
                            uint64_t *ts_us);

typedef struct te_run {
    char dir[256];      /* temp dir (removed by te_cleanup) */
    char spool[300];    /* spool root inside it */
    capture_counters cnt;
    int finish_rc;      /* ce_finish's result */
    int frame_errors;   /* ce_frame calls that returned an error */
} te_run;

/* Creates the temp dir and spool. 0 or -1. */
int te_setup(te_run *r, const char *tag);
/* te_begin opens the spool and the engine; te_feed_pcap feeds a whole pcap
 * (optionally filtered; may be called several times before te_end) and
 * returns the number of ce_frame errors, or -2 when libpcap cannot open it. */
capture_engine *te_begin(te_run *r, const ce_config *cfg, spool **sp_out);
int te_feed_pcap(capture_engine *ce, const char *path, te_filter_fn fn, void *arg);
/* Like te_feed_pcap without a filter, through ce_frame_hinted: every third frame with its
 * own look-ahead entry, every third with the previous frame's, the rest with none. */
int te_feed_pcap_hinted(capture_engine *ce, const char *path);
/* Feeds one frame (linktype Ethernet). */
int te_feed_frame(capture_engine *ce, uint64_t ts, const uint8_t *data, size_t len);
/* Counters, ce_finish, spool_close. */
void te_end(te_run *r, capture_engine *ce, spool *sp);
void te_cleanup(te_run *r);

/* One-shot: setup + begin + feed + end. 0; -2 when libpcap cannot open the
 * file (the run is still ended and can be cleaned up); -1 otherwise. */
int te_run_pcap(te_run *r, const char *tag, const ce_config *cfg, const char *pcap,
                te_filter_fn fn, void *arg);

/* Runs `jq -r -s <filter>` over every ready/<uuid>/call.json (slurped into
 * one array, sorted by invite_us) and returns its output (malloc'd, trailing
 * newline stripped; NULL on failure). */
char *te_jq(const te_run *r, const char *filter);
/* Same with extra jq arguments (e.g. "--slurpfile truth FILE"), shell syntax. */
char *te_jq_args(const te_run *r, const char *args, const char *filter);
/* Same with an integer result (-1 on failure or null). */
long long te_jq_int(const te_run *r, const char *filter);
/* 1 if jq is available. */
int te_have_jq(void);

/* Number of entries in ready/. */
size_t te_ready_count(const te_run *r);

/* Builds an Ethernet/IPv4/UDP frame into buf (cap bytes): src/dst "a.b.c.d".
 * Returns the frame length or 0 if it does not fit. */
size_t te_udp_frame(uint8_t *buf, size_t cap, const char *src, uint16_t sport, const char *dst,
                    uint16_t dport, const void *payload, size_t len);

/* Counts the frames of a pcap file with libpcap (-1 on error) and returns its
 * linktype in *linktype (may be NULL). */
long te_pcap_frames(const char *path, int *linktype);

#endif
