/*
 * archive.h — the archive writer: one audio file per call, written so that a
 * crash never leaves a half file under its final name, and hashed for the
 * recordings row.
 *
 * Layout. Under the configured archive root (which must exist):
 *
 *     YYYY/MM/DD/<uuid>.<ext>      the recording (ext flac, wav or opus)
 *     YYYY/MM/DD/<uuid>.pcap       optionally, the call's capture as evidence
 *
 * where YYYY/MM/DD is the UTC date of the recording's sample 0 (never the
 * local time zone), and <uuid> is the call uuid in canonical lowercase
 * 8-4-4-4-12 form (anything else is refused, so a path can never escape the
 * root). The path returned is relative to the root, as recordings.path wants.
 *
 * Protocol (Redis rdbSave / the spool's): the date directories are created
 * with mode 0750 and every parent is fsync'd, every time (a directory made
 * by a process that crashed before syncing its parent is made durable by
 * the next writer); the data goes to a temporary file in the same
 * directory, ".<uuid>.<ext>.tmp.<pid>.<random>", created O_EXCL with mode
 * 0640, through libsndfile's virtual I/O (so every write error is seen
 * here, whatever libsndfile makes of it); then the file is re-read to
 * compute its SHA-256 (libsndfile seeks back to patch headers, so hashing
 * while writing would hash the wrong bytes), fsync'd, renamed over the
 * final name, and the directory fsync'd. Writing the same uuid again
 * replaces the file atomically: a reader sees the old file or the new
 * one, never a mixture, never a partial one. A failure before the rename
 * removes the temporary file; a SIGKILL may leave it behind, and
 * archive_sweep_tmp() removes such leftovers (decode calls it at start-up
 * for the days it may have been writing).
 *
 * Determinism. Identical input gives identical bytes, so re-processing a
 * call reproduces the same SHA-256:
 *   - FLAC and WAV (16-bit PCM): libsndfile 1.2 writes no time stamp (the
 *     WAV PEAK chunk, which has one, is only written for float data) and no
 *     string chunks (we set none). FLAC's vendor string names the libFLAC
 *     version, so a libFLAC upgrade changes the bytes (not the samples).
 *   - Ogg Opus: libsndfile picks a random Ogg stream serial number
 *     (psf_rand_int32). The writer rewrites the serial of every page to one
 *     derived from the call uuid (its first 32 bits) and recomputes each
 *     page's CRC, before hashing. The Opus encoder itself is deterministic
 *     on one build; another libopus version or CPU-specific code path may
 *     encode differently. Hence a caller that finds the call already
 *     chained in recordings must not re-archive it: a file written by a
 *     newer library could hash differently from the chained sha256.
 *
 * Formats (libsndfile, checked on Debian 12's libsndfile 1.2.0):
 *   ARCHIVE_FLAC  SF_FORMAT_FLAC | SF_FORMAT_PCM_16, lossless, default level.
 *   ARCHIVE_WAV   SF_FORMAT_WAV  | SF_FORMAT_PCM_16, lossless.
 *   ARCHIVE_OPUS  SF_FORMAT_OGG  | SF_FORMAT_OPUS, lossy, libsndfile's
 *                 default bit rate; libsndfile 1.2 writes Ogg Opus.
 * Sample rates 8000 and 16000 Hz; always 2 channels: channel 1 customer,
 * channel 2 agent side. duration_ms = frames * 1000 / sample_rate, rounded
 * down.
 *
 * Errors. Functions return CS_OK or a negative cs_err and, when given a
 * result/report, fill its msg with one line naming the file and the
 * reason, and sys_errno with the errno of the failed system call (0 if
 * none): ENOSPC/EDQUOT/EFBIG for a full disk or quota, EACCES/EPERM/EROFS
 * for permissions — the caller decides whether the environment is broken.
 *   CS_ERR_INVAL       bad argument (uuid, rate, format, NULL, date range)
 *   CS_ERR_NOTFOUND    the archive root (or the pcap to copy) does not exist
 *   CS_ERR_IO          a system call failed (sys_errno says which errno)
 *   CS_ERR_UNSUPPORTED libsndfile refuses the format/rate combination
 *   CS_ERR_CODEC       libsndfile failed while encoding, or wrote an Ogg
 *                      stream the serial rewrite cannot parse
 *
 * Ownership and state: every function borrows its arguments and keeps
 * nothing; results are plain structs owned by the caller. No global state.
 * Thread-safe (different threads may write different uuids at once; one
 * uuid must have one writer at a time, which the spool claim guarantees).
 * Signals: none are touched; EINTR is retried.
 */
#ifndef CALLSCOPE_ARCHIVE_H
#define CALLSCOPE_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#define ARCHIVE_UUID_LEN   36 /* canonical text form, without NUL */
#define ARCHIVE_SHA256_LEN 32
#define ARCHIVE_PATH_MAX   64 /* "YYYY/MM/DD/" + uuid + ".flac" + NUL fits */
#define ARCHIVE_MSG_MAX    320

typedef enum archive_format {
    ARCHIVE_FLAC = 0, /* default */
    ARCHIVE_WAV = 1,
    ARCHIVE_OPUS = 2,
} archive_format;

/* "flac", "wav", "opus": the file extension and the recordings.format
 * value. NULL for a value outside the enum. */
const char *archive_format_name(archive_format f);

/* Parses "flac" / "wav" / "opus" (exact, lowercase; s need not be
 * NUL-terminated). CS_OK or CS_ERR_INVAL. */
int archive_format_parse(const char *s, size_t len, archive_format *out);

/* 1 if s[0..len) is a canonical lowercase uuid (8-4-4-4-12 hex), else 0. */
int archive_uuid_valid(const char *s, size_t len);

/* What to archive. Everything is borrowed for the duration of the call. */
typedef struct archive_audio {
    const char *uuid;   /* call uuid, canonical lowercase, NUL-terminated */
    int64_t started_us; /* sample 0, microseconds since 1970-01-01 UTC */
    int sample_rate;    /* 8000 or 16000 */
    const int16_t *ch1; /* customer, `frames` samples (may be NULL if 0) */
    const int16_t *ch2; /* agent side, `frames` samples */
    size_t frames;      /* samples per channel */
    archive_format format;
} archive_audio;

/* The steps of one archive write, for the crash tests (a hook that raises
 * SIGKILL at a step shows what a crash there leaves behind). */
typedef enum archive_step {
    ARCHIVE_STEP_TMP_CREATED = 1, /* temporary file exists, empty */
    ARCHIVE_STEP_HALF_WRITTEN,    /* about half of the data written */
    ARCHIVE_STEP_WRITTEN,         /* encoder closed, file complete, not synced */
    ARCHIVE_STEP_SYNCED,          /* hashed and fsync'd, not yet renamed */
    ARCHIVE_STEP_RENAMED,         /* under its final name, directory not synced */
    ARCHIVE_STEP_DONE,            /* directory fsync'd */
} archive_step;

typedef struct archive_hooks {
    void (*step)(archive_step step, void *arg); /* may be NULL */
    void *arg;
} archive_hooks;

/* The outcome of archive_write() / archive_copy_pcap(). */
typedef struct archive_result {
    char path[ARCHIVE_PATH_MAX]; /* relative to the root, e.g. 2024/03/01/<uuid>.flac */
    uint64_t bytes;              /* file size */
    uint8_t sha256[ARCHIVE_SHA256_LEN];
    char sha256_hex[2 * ARCHIVE_SHA256_LEN + 1]; /* lowercase, as sha256sum prints */
    int64_t duration_ms;                         /* audio only; 0 for a pcap */
    int sample_rate;                             /* audio only */
    int channels;                                /* 2 for audio, 0 for a pcap */
    archive_format format;                       /* audio only */
    int sys_errno;                               /* on error: errno of the failed call, or 0 */
    char msg[ARCHIVE_MSG_MAX];                   /* on error: what failed; "" on success */
} archive_result;

/*
 * Writes the recording under root (see the layout and protocol above) and
 * fills *out (required). hooks may be NULL. On success the file is durable
 * under out->path; on failure nothing new is under the final name (an
 * older file of the same uuid, if any, is untouched) and no temporary file
 * is left (unless the process dies).
 */
int archive_write(const char *root, const archive_audio *a, const archive_hooks *hooks,
                  archive_result *out);

/*
 * Copies the file src_path to YYYY/MM/DD/<uuid>.pcap beside the recording,
 * by the same temporary-file protocol, hashing while copying. Fills path,
 * bytes, sha256 of *out (the audio fields are zero). CS_ERR_NOTFOUND when
 * src_path does not exist.
 */
int archive_copy_pcap(const char *root, const char *uuid, int64_t started_us, const char *src_path,
                      const archive_hooks *hooks, archive_result *out);

/*
 * Removes leftover temporary files (".<uuid>.<ext>.tmp.*" written by a
 * process that died) in root/rel_dir (e.g. "2024/03/01") whose mtime is at
 * least min_age_s seconds old. A writer still running has a fresh mtime, so
 * a min_age_s of a few minutes never removes live work. *removed (may be
 * NULL) gets the count. A missing directory is CS_OK with 0 removed.
 */
int archive_sweep_tmp(const char *root, const char *rel_dir, unsigned min_age_s, size_t *removed);

/* Verdict of archive_verify_file(). */
typedef enum archive_check {
    ARCHIVE_CHECK_OK = 0,
    ARCHIVE_CHECK_MISSING,    /* no file at the path */
    ARCHIVE_CHECK_SIZE,       /* size differs from expected_bytes */
    ARCHIVE_CHECK_HASH,       /* same size, different SHA-256 */
    ARCHIVE_CHECK_UNREADABLE, /* exists but cannot be read (permission, I/O, not a file) */
} archive_check;

typedef struct archive_verify_report {
    archive_check check;
    uint64_t bytes;                     /* actual size (when readable) */
    uint8_t sha256[ARCHIVE_SHA256_LEN]; /* actual digest (when readable) */
    char sha256_hex[2 * ARCHIVE_SHA256_LEN + 1];
    int sys_errno;
    char msg[ARCHIVE_MSG_MAX]; /* e.g. "2024/03/01/x.flac: SHA-256 mismatch: ..." */
} archive_verify_report;

/* "ok", "missing", "size mismatch", "hash mismatch", "unreadable". */
const char *archive_check_name(archive_check c);

/*
 * Re-hashes root/rel_path (rel_path may instead be absolute, as
 * recordings.path allows; a ".." component is refused) and compares it
 * with expected_sha256 and, when expected_bytes >= 0, the size. Fills *rep
 * (required). Returns CS_OK (intact), CS_ERR_NOTFOUND (missing),
 * CS_ERR_INTEGRITY (size or hash mismatch), CS_ERR_IO (unreadable),
 * CS_ERR_INVAL (bad arguments or path).
 */
int archive_verify_file(const char *root, const char *rel_path,
                        const uint8_t expected_sha256[ARCHIVE_SHA256_LEN], int64_t expected_bytes,
                        archive_verify_report *rep);

#endif
