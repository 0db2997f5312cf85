/*
 * config_registry.c — every configuration key of every callscope program.
 *
 * One file, /etc/callscope/callscope.conf, configures all the programs (the
 * systemd units and `callscope run` pass the same file to each), so a
 * program reading it meets the keys of the others. cfg_load_text/file skip
 * a key that is in this list but not in the program's own table, and still
 * refuse a key no program knows (a typo). tests/common/test-config-registry.sh
 * checks that this list is exactly the union of the programs' --help-config
 * keys, so it can neither fall behind nor accept a key no program has.
 */
#include <stddef.h>
#include <string.h>

#include "config.h"

static const char *const cfg_registry[] = {
    "archive.dir", "archive.format", "archive.keep_pcap",
    "capture.answer_needs_identity", "capture.buffer_size", "capture.correlation_headers",
    "capture.filter", "capture.frag_max_bytes", "capture.frag_max_datagrams",
    "capture.frag_timeout", "capture.immediate", "capture.interface", "capture.linger",
    "capture.max_call_duration", "capture.max_calls", "capture.max_streams_per_call",
    "capture.pcap_writer_thread", "capture.probe", "capture.promiscuous", "capture.rtp_timeout",
    "capture.setup_timeout", "capture.sip_any_port", "capture.sip_ports", "capture.snaplen",
    "capture.stats_interval", "capture.tcp_idle", "capture.tcp_max_flow_bytes",
    "capture.tcp_max_flows", "capture.user", "capture.write_pcap",
    "db.connect_tries", "db.conninfo",
    "decode.rate", "decode.retries", "decode.retry_delay", "decode.scan_interval",
    "decode.stats_interval", "decode.workers",
    "report.sl_formula",
    "score.dead_air_min", "score.directory", "score.dtmf_min_run", "score.dtmf_run_gap",
    "score.fcr_continuation", "score.fcr_same_queue", "score.fcr_window", "score.lease",
    "score.poll_interval", "score.scorecard", "score.short_abandon", "score.sl_threshold",
    "score.sweep_interval", "score.workers",
    "spool.dir",
    "transcribe.beam", "transcribe.bestpath", "transcribe.dict", "transcribe.floor_dbfs",
    "transcribe.frontend", "transcribe.fwdflat", "transcribe.hmm", "transcribe.image_gain",
    "transcribe.lease", "transcribe.lm", "transcribe.max_segment", "transcribe.maxhmmpf",
    "transcribe.merge_gap", "transcribe.norm_dbfs", "transcribe.pad",
    "transcribe.phrase_min_score", "transcribe.phrases", "transcribe.pl_window",
    "transcribe.poll_interval", "transcribe.score_priority", "transcribe.topn",
    "transcribe.wbeam", "transcribe.workers",
    "verify.progress_rows",
};

int cfg_key_is_callscope(const char *name)
{
    if (name == NULL)
        return 0;
    for (size_t i = 0; i < sizeof cfg_registry / sizeof cfg_registry[0]; i++)
        if (strcmp(cfg_registry[i], name) == 0)
            return 1;
    return 0;
}

void cfg_registry_print(FILE *out)
{
    for (size_t i = 0; i < sizeof cfg_registry / sizeof cfg_registry[0]; i++)
        fprintf(out, "%s\n", cfg_registry[i]);
}
