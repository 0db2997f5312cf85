/*
 * input.h — where callscope-capture's frames come from: a live interface or
 * capture files (pcap and pcapng), both through libpcap.
 *
 * A cap_input is one open libpcap handle plus what the program reports about
 * it: its link type (handed to ce_frame with every frame, per file), kernel
 * drop counters for a live interface, bytes read and size for a file.
 *
 *   live:  pcap_create -> snaplen, promiscuous, immediate mode, kernel buffer
 *          -> pcap_activate -> optional BPF filter -> non-blocking; the caller
 *          polls cap_input_fd() with a timeout so it can tick the engine and
 *          notice signals while the wire is quiet.
 *   file:  pcap_open_offline (classic pcap or pcapng, timestamps converted to
 *          microseconds) -> optional BPF filter; cap_input_next() until
 *          CS_ERR_EMPTY (end of file) or CS_ERR_MALFORMED (the file is corrupt
 *          or truncated from that point: the frames before it were delivered).
 *
 * cap_input_list_dir() orders a directory of rotated capture files oldest
 * first (modification time, then name) for -R.
 *
 * SECURITY: file contents and live frames are hostile, but this module only
 * moves them: libpcap validates record headers (caplen never exceeds the
 * buffer it returns) and the frame bytes are parsed by the engine. Negative
 * or absurd timestamps in a file are clamped to 0, never wrapped.
 *
 * Errors: functions return CS_OK or a negative cs_err and never log; the
 * reason, when there is one (libpcap's message, the errno text), is written
 * into the caller's err buffer.
 *
 * Ownership: a cap_input is owned by its opener and freed by cap_input_close.
 * A frame from cap_input_next() is borrowed from libpcap and valid only until
 * the next call on the same input. Paths and options are copied or used only
 * during the call that receives them. No global state.
 */
#ifndef CALLSCOPE_CAPTURE_INPUT_H
#define CALLSCOPE_CAPTURE_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct cap_input cap_input;

/* How a live interface is opened (capture.* configuration). */
typedef struct cap_live_opts {
    const char *iface;     /* interface name, e.g. "eth1" (borrowed during the call) */
    const char *filter;    /* BPF expression, NULL or "" for none */
    int snaplen;           /* bytes kept per frame */
    int64_t buffer_bytes;  /* kernel ring buffer size; 0: libpcap's default */
    int promisc;           /* promiscuous mode */
    int immediate;         /* deliver each frame at once (no batching in the ring) */
} cap_live_opts;

/* One frame: borrowed from libpcap until the next cap_input_next(). */
typedef struct cap_frame {
    uint64_t ts_us;       /* capture time, microseconds since the epoch */
    const uint8_t *data;  /* caplen bytes */
    size_t caplen;
    size_t wire_len;      /* original length on the wire */
} cap_frame;

/* Kernel figures of a live interface (pcap_stats); zero for files. */
typedef struct cap_kstats {
    uint64_t received; /* ps_recv: frames the filter accepted */
    uint64_t dropped;  /* ps_drop: dropped for lack of buffer space */
    uint64_t ifdropped; /* ps_ifdrop: dropped by the interface or driver */
} cap_kstats;

/*
 * Opens and activates a live interface. Errors:
 *   CS_ERR_INVAL     o or o->iface missing, snaplen out of [64, 262144];
 *   CS_ERR_NOTFOUND  no such interface;
 *   CS_ERR_IO        permission denied (needs CAP_NET_RAW), interface down,
 *                    anything else libpcap refuses;
 *   CS_ERR_CONFIG    the BPF filter does not compile.
 * libpcap warnings on activation (e.g. promiscuous mode not supported) are not
 * errors: they are copied into warn (may be NULL when warncap is 0), which is
 * empty when there was none.
 */
int cap_input_open_live(const cap_live_opts *o, cap_input **out, char *err, size_t errcap,
                        char *warn, size_t warncap);

/*
 * Opens a capture file (pcap or pcapng, any timestamp precision) and applies
 * filter (NULL or "": none). CS_ERR_NOTFOUND (no such file), CS_ERR_IO (cannot
 * be read), CS_ERR_MALFORMED (not a capture file, bad header), CS_ERR_CONFIG
 * (filter).
 */
int cap_input_open_file(const char *path, const char *filter, cap_input **out, char *err,
                        size_t errcap);

/*
 * The next frame into *f. Returns
 *   1                 a frame;
 *   0                 none available now (live input only: poll cap_input_fd);
 *   CS_ERR_EMPTY      end of file;
 *   CS_ERR_MALFORMED  the file is truncated or corrupt at this point (err says
 *                     where); the frames before were delivered, no more follow;
 *   CS_ERR_IO         a live read failed (interface went away).
 * After CS_ERR_EMPTY or an error the input stays at that result.
 */
int cap_input_next(cap_input *in, cap_frame *f, char *err, size_t errcap);

/*
 * Compiles filter (NULL or "": nothing to check) for linktype without any
 * capture, so a bad expression is found at start-up. CS_OK or CS_ERR_CONFIG
 * (libpcap's reason in err).
 */
int cap_input_check_filter(const char *filter, int linktype, int snaplen, char *err,
                           size_t errcap);

/*
 * The bytes of the k-th frame after the one cap_input_next returned last
 * (k = 1: the next one), without consuming anything: 1 and *data, *caplen
 * when the direct reader already holds that whole record in its buffer,
 * else 0 (libpcap, live input, the end of the buffer). Only a look-ahead for
 * prefetching (ce_prefetch): the bytes are valid until the next
 * cap_input_next, and the frame is delivered as usual when its turn comes.
 */
int cap_input_peek(const cap_input *in, size_t k, const uint8_t **data, size_t *caplen);

/* The DLT_* link type of the input (of this file). */
int cap_input_linktype(const cap_input *in);
/* The descriptor to poll for readability (live), or -1 (files). */
int cap_input_fd(const cap_input *in);
/* 1 for a live interface, 0 for a file. */
int cap_input_is_live(const cap_input *in);

/* Live: the kernel counters (CS_OK, or CS_ERR_IO with err). Files: zeros, CS_OK. */
int cap_input_kstats(cap_input *in, cap_kstats *out, char *err, size_t errcap);

/* Files: bytes of the file consumed so far and its size (0, 0 for live input). */
void cap_input_progress(const cap_input *in, uint64_t *bytes_read, uint64_t *size);

/* Frames delivered by cap_input_next so far. */
uint64_t cap_input_frames(const cap_input *in);

/* Closes the handle and frees in. NULL is a no-op. */
void cap_input_close(cap_input *in);

/*
 * Lists the regular files of dir (names starting with '.' are skipped, so are
 * subdirectories) sorted oldest first: by modification time (nanoseconds),
 * then by name (strcmp), so rotated files come in the order they were written.
 * On CS_OK *paths is a malloc'd array of *n malloc'd "dir/name" strings, freed
 * with cap_input_free_list(); an empty directory gives *n == 0 (and *paths
 * may be NULL). CS_ERR_NOTFOUND (no such directory), CS_ERR_IO (cannot be
 * read, err says why), CS_ERR_NOMEM, CS_ERR_LIMIT (more than
 * CAP_INPUT_MAX_DIR_FILES files).
 */
#define CAP_INPUT_MAX_DIR_FILES 1000000
int cap_input_list_dir(const char *dir, char ***paths, size_t *n, char *err, size_t errcap);
void cap_input_free_list(char **paths, size_t n);

#endif
