/*
 * test_archive.c — the archive writer against real libsndfile and real files.
 *
 * Real speech (../shared/data/speech, skipped with a message when absent) in
 * channel 1 and a tone in channel 2 are archived as FLAC, WAV and Ogg Opus at
 * 8 and 16 kHz and read back with libsndfile: FLAC/WAV sample-exact, Opus above
 * a measured SNR floor. The SHA-256 is checked against sha256sum and against an
 * independent EVP digest of the bytes read back; re-writing gives identical
 * bytes; the date directory is the UTC date even under a far-off TZ.
 *
 * Crash safety: forked writers SIGKILL themselves at every step of the
 * protocol (archive_hooks), and others are killed from outside at random
 * moments while they keep replacing one recording with two alternating
 * contents: the final name is always absent, the old bytes or the new bytes,
 * never anything else. Disk-full (RLIMIT_FSIZE → EFBIG) and permission
 * (EACCES, as an unprivileged uid) errors leave no file behind and say why.
 *
 * The crash and error tests use synthetic signals so they run without the
 * shared data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sndfile.h>

#include "archive.h"
#include "error.h"
#include "testsupport.h"

#define UUID1 "0b9e6c1a-3f43-4d8e-9a55-6f1e2d3c4b5a"
#define UUID2 "7d1f00aa-0000-4000-8000-00000000beef"
/* 2024-03-01 10:00:12.25 UTC */
#define T_MAR1 1709287212250000LL

typedef struct sig {
    int16_t *ch1, *ch2;
    size_t frames;
    int rate;
} sig;

static void sig_free(sig *s)
{
    free(s->ch1);
    free(s->ch2);
    memset(s, 0, sizeof *s);
}

static int16_t clip16(double v)
{
    return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrint(v));
}

/* A deterministic synthetic call: a chirp with a noise burst in channel 1,
 * a 440 Hz tone in channel 2. */
static sig synth(int rate, double seconds, unsigned seed)
{
    sig s = {0};
    s.rate = rate;
    s.frames = (size_t)(seconds * rate);
    s.ch1 = malloc(s.frames * sizeof *s.ch1 + 2);
    s.ch2 = malloc(s.frames * sizeof *s.ch2 + 2);
    assert_non_null(s.ch1);
    assert_non_null(s.ch2);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < s.frames; i++) {
        double t = (double)i / rate;
        x = x * 1664525u + 1013904223u;
        double noise = ((double)(x >> 16) / 65536.0 - 0.5) * 3000.0;
        s.ch1[i] =
            clip16(9000 * sin(2 * M_PI * (200 + 300 * t) * t) + (i % 4000 < 800 ? noise : 0));
        s.ch2[i] = clip16(7000 * sin(2 * M_PI * (440 + 10 * seed) * t));
    }
    return s;
}

/* Real speech (16 kHz mono WAV) in channel 1, at `rate` (8000: pairs
 * averaged), a 300 Hz tone in channel 2. Returns 0 when the data is absent. */
static int speech(int rate, sig *out)
{
    char p[1024];
    if (!ts_shared_path(p, sizeof p, "speech/sphinx4_10001-90210-01803.wav"))
        return 0;
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(p, SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal(info.samplerate, 16000);
    short *mono = calloc((size_t)info.frames * (size_t)info.channels, sizeof *mono);
    assert_non_null(mono);
    assert_int_equal(sf_readf_short(sf, mono, info.frames), info.frames);
    sf_close(sf);
    sig s = {0};
    s.rate = rate;
    int step = 16000 / rate;
    s.frames = (size_t)info.frames / (size_t)step;
    s.ch1 = malloc(s.frames * sizeof *s.ch1 + 2);
    s.ch2 = malloc(s.frames * sizeof *s.ch2 + 2);
    assert_non_null(s.ch1);
    assert_non_null(s.ch2);
    for (size_t i = 0; i < s.frames; i++) {
        long acc = 0;
        for (int k = 0; k < step; k++)
            acc += mono[(i * (size_t)step + (size_t)k) * (size_t)info.channels];
        s.ch1[i] = (int16_t)(acc / step);
        s.ch2[i] = clip16(6000 * sin(2 * M_PI * 300 * (double)i / rate));
    }
    free(mono);
    *out = s;
    return 1;
}

static archive_audio audio_of(const sig *s, const char *uuid, int64_t t, archive_format f)
{
    archive_audio a = {uuid, t, s->rate, s->ch1, s->ch2, s->frames, f};
    return a;
}

static char *join(char *buf, size_t cap, const char *root, const char *rel)
{
    int n = snprintf(buf, cap, "%s/%s", root, rel);
    assert_true(n > 0 && (size_t)n < cap);
    return buf;
}

static void evp_sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned len = 0;
    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
    assert_int_equal(len, 32);
}

static void hexs(const uint8_t *b, char *hex)
{
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", b[i]);
}

/* sha256sum's verdict on a file, or "" when the tool cannot be run. */
static void sha256sum_of(const char *path, char hex[65])
{
    char cmd[1200];
    hex[0] = '\0';
    snprintf(cmd, sizeof cmd, "sha256sum '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    if (!p)
        return;
    if (fscanf(p, "%64s", hex) != 1)
        hex[0] = '\0';
    pclose(p);
}

/* Reads a recording back with libsndfile into de-interleaved channels. */
static sig read_back(const char *path, int expect_rate)
{
    SF_INFO info = {0};
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf)
        fail_msg("libsndfile cannot read %s: %s", path, sf_strerror(NULL));
    assert_int_equal(info.channels, 2);
    assert_int_equal(info.samplerate, expect_rate);
    sig s = {0};
    s.rate = info.samplerate;
    short *il = calloc((size_t)info.frames * 2 + 2, sizeof *il);
    assert_non_null(il);
    s.frames = (size_t)sf_readf_short(sf, il, info.frames);
    sf_close(sf);
    s.ch1 = malloc(s.frames * sizeof *s.ch1 + 2);
    s.ch2 = malloc(s.frames * sizeof *s.ch2 + 2);
    for (size_t i = 0; i < s.frames; i++) {
        s.ch1[i] = il[2 * i];
        s.ch2[i] = il[2 * i + 1];
    }
    free(il);
    return s;
}

/* SNR of got[i + lag] against ref[i], over the samples both have. */
static double snr_lag(const int16_t *ref, const int16_t *got, size_t n, int lag)
{
    double sig_e = 0, err_e = 0;
    for (size_t i = 4; i + 4 < n; i++) {
        double d = (double)got[(size_t)((long)i + lag)] - ref[i];
        sig_e += (double)ref[i] * ref[i];
        err_e += d * d;
    }
    return err_e == 0 ? 999.0 : 10 * log10(sig_e / err_e);
}

static double snr_db(const int16_t *ref, const int16_t *got, size_t n)
{
    return snr_lag(ref, got, n, 0);
}

typedef struct fx {
    char dir[256];
    char root[300];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || ts_mkdtemp(f->dir, sizeof f->dir, "archive") != 0)
        return -1;
    snprintf(f->root, sizeof f->root, "%s/archive", f->dir);
    if (mkdir(f->root, 0755) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ts_rmrf(f->dir);
    free(f);
    return 0;
}

/* Every check of one written recording that does not depend on the codec. */
static void check_file(const char *root, const archive_result *r, const char *uuid,
                       const char *date, archive_format fmt)
{
    char want[128], p[600];
    snprintf(want, sizeof want, "%s/%s.%s", date, uuid, archive_format_name(fmt));
    assert_string_equal(r->path, want);
    assert_string_equal(r->msg, "");
    size_t len = 0;
    char *bytes = ts_read_file(join(p, sizeof p, root, r->path), &len);
    assert_non_null(bytes);
    assert_int_equal(len, r->bytes);
    uint8_t d[32];
    char hex[65], tool[65];
    evp_sha256(bytes, len, d);
    hexs(d, hex);
    assert_memory_equal(d, r->sha256, 32);
    assert_string_equal(hex, r->sha256_hex);
    sha256sum_of(p, tool);
    if (tool[0])
        assert_string_equal(tool, r->sha256_hex);
    free(bytes);
    assert_int_equal(r->channels, 2);
    assert_int_equal(r->format, fmt);
}

static void test_speech_roundtrip(void **state)
{
    fx *f = *state;
    static const struct {
        archive_format fmt;
        int rate;
        /* SNR floors in dB (speech channel, tone channel), measured with
         * Debian 12's libopus 1.3.1 at libsndfile's default bit rate
         * (8 kHz: 12.9 / 24.8, 16 kHz: 9.9 / 31.5; Opus is perceptual, so
         * waveform SNR is modest). 0 = lossless: must be sample-exact. */
        double snr_floor, tone_floor;
    } cases[] = {
        {ARCHIVE_FLAC, 8000, 0, 0},  {ARCHIVE_WAV, 8000, 0, 0},  {ARCHIVE_OPUS, 8000, 10.0, 20.0},
        {ARCHIVE_FLAC, 16000, 0, 0}, {ARCHIVE_WAV, 16000, 0, 0}, {ARCHIVE_OPUS, 16000, 8.0, 25.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sig in = {0};
        if (!speech(cases[i].rate, &in)) {
            print_message("../shared/data/speech is absent: speech round trip skipped\n");
            skip();
        }
        archive_audio a = audio_of(&in, UUID1, T_MAR1, cases[i].fmt);
        archive_result r;
        int rc = archive_write(f->root, &a, NULL, &r);
        if (rc != CS_OK)
            fail_msg("%s", r.msg);
        check_file(f->root, &r, UUID1, "2024/03/01", cases[i].fmt);
        assert_int_equal(r.sample_rate, cases[i].rate);
        assert_int_equal(r.duration_ms, (int64_t)(in.frames * 1000 / (size_t)in.rate));

        char p[600];
        sig out = read_back(join(p, sizeof p, f->root, r.path), cases[i].rate);
        assert_int_equal(out.frames, in.frames);
        if (cases[i].snr_floor == 0) {
            assert_memory_equal(out.ch1, in.ch1, in.frames * sizeof *in.ch1);
            assert_memory_equal(out.ch2, in.ch2, in.frames * sizeof *in.ch2);
            print_message("%s %d Hz: %zu frames sample-exact, %llu bytes\n",
                          archive_format_name(cases[i].fmt), cases[i].rate, in.frames,
                          (unsigned long long)r.bytes);
        } else {
            double s1 = snr_db(in.ch1, out.ch1, in.frames);
            double s2 = snr_db(in.ch2, out.ch2, in.frames);
            print_message("opus %d Hz: SNR speech %.1f dB (floor %.1f), tone %.1f dB (floor %.1f), "
                          "%llu bytes\n",
                          cases[i].rate, s1, cases[i].snr_floor, s2, cases[i].tone_floor,
                          (unsigned long long)r.bytes);
            assert_true(s1 >= cases[i].snr_floor);
            assert_true(s2 >= cases[i].tone_floor);
            /* aligned: one sample early or late is clearly worse */
            double early = snr_lag(in.ch1, out.ch1, in.frames, -1);
            double late = snr_lag(in.ch1, out.ch1, in.frames, 1);
            print_message("opus %d Hz: speech SNR at lag -1 %.1f dB, +1 %.1f dB\n", cases[i].rate,
                          early, late);
            assert_true(s1 > early + 3 && s1 > late + 3);
        }
        sig_free(&out);
        sig_free(&in);
    }
}

/* Same input twice (a second apart, so a time stamp would show) → same bytes. */
static void test_rewrite_identical(void **state)
{
    fx *f = *state;
    sig in = synth(8000, 3.0, 1);
    static const archive_format fmts[] = {ARCHIVE_FLAC, ARCHIVE_WAV, ARCHIVE_OPUS};
    archive_result first[3];
    char *bytes[3];
    size_t lens[3];
    char p[600];
    for (int i = 0; i < 3; i++) {
        archive_audio a = audio_of(&in, UUID2, T_MAR1, fmts[i]);
        assert_int_equal(archive_write(f->root, &a, NULL, &first[i]), CS_OK);
        bytes[i] = ts_read_file(join(p, sizeof p, f->root, first[i].path), &lens[i]);
        assert_non_null(bytes[i]);
    }
    struct timespec ts = {1, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    for (int i = 0; i < 3; i++) {
        archive_audio a = audio_of(&in, UUID2, T_MAR1, fmts[i]);
        archive_result r;
        assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_OK);
        assert_string_equal(r.sha256_hex, first[i].sha256_hex);
        assert_int_equal(r.bytes, first[i].bytes);
        size_t len;
        char *again = ts_read_file(join(p, sizeof p, f->root, r.path), &len);
        assert_non_null(again);
        assert_int_equal(len, lens[i]);
        assert_memory_equal(again, bytes[i], len);
        free(again);
        free(bytes[i]);
    }
    /* Another uuid gives another Ogg serial, so other bytes, same samples. */
    archive_audio a = audio_of(&in, UUID1, T_MAR1, ARCHIVE_OPUS);
    archive_result r;
    assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_OK);
    assert_string_not_equal(r.sha256_hex, first[2].sha256_hex);
    sig_free(&in);
}

static void test_layout_utc(void **state)
{
    fx *f = *state;
    setenv("TZ", "Pacific/Kiritimati", 1); /* UTC+14: local dates differ from UTC */
    tzset();
    static const struct {
        int64_t us;
        const char *date;
    } cases[] = {
        {0, "1970/01/01"},
        {-1, "1969/12/31"},
        {1709251199999999LL, "2024/02/29"},
        {1709251200000000LL, "2024/03/01"},
        {T_MAR1, "2024/03/01"},
        {253402300799999999LL, "9999/12/31"},
    };
    sig in = synth(8000, 0.1, 2);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        archive_audio a = audio_of(&in, UUID1, cases[i].us, ARCHIVE_WAV);
        archive_result r;
        assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_OK);
        check_file(f->root, &r, UUID1, cases[i].date, ARCHIVE_WAV);
        char p[600];
        snprintf(p, sizeof p, "%s/%.7s", f->root, cases[i].date);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0750);
    }
    archive_audio a = audio_of(&in, UUID1, 253402300800000000LL, ARCHIVE_WAV); /* year 10000 */
    archive_result r;
    assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_ERR_INVAL);
    a.started_us = INT64_MIN;
    assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_ERR_INVAL);
    unsetenv("TZ");
    tzset();
    sig_free(&in);
}

static void test_bad_arguments(void **state)
{
    fx *f = *state;
    sig in = synth(8000, 0.1, 3);
    archive_result r;
    static const char *bad_uuids[] = {
        "0B9E6C1A-3F43-4D8E-9A55-6F1E2D3C4B5A", "0b9e6c1a3f434d8e9a556f1e2d3c4b5a",
        "0b9e6c1a-3f43-4d8e-9a55-6f1e2d3c4b5",  "0b9e6c1a-3f43-4d8e-9a55-6f1e2d3c4b5a0",
        "../../../../etc/passwd-aaaa-aaaaaaaa", "",
    };
    for (size_t i = 0; i < sizeof bad_uuids / sizeof bad_uuids[0]; i++) {
        archive_audio a = audio_of(&in, bad_uuids[i], T_MAR1, ARCHIVE_FLAC);
        assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_ERR_INVAL);
        assert_non_null(strstr(r.msg, "uuid"));
    }
    archive_audio a = audio_of(&in, UUID1, T_MAR1, ARCHIVE_FLAC);
    a.sample_rate = 44100;
    assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_ERR_INVAL);
    a.sample_rate = 8000;
    a.format = (archive_format)7;
    assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_ERR_INVAL);
    a.format = ARCHIVE_FLAC;
    a.ch2 = NULL;
    assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_ERR_INVAL);
    a.ch2 = in.ch2;
    assert_int_equal(archive_write(f->root, NULL, NULL, &r), CS_ERR_INVAL);
    assert_int_equal(archive_write(f->root, &a, NULL, NULL), CS_ERR_INVAL);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/no-such-root", f->dir);
    assert_int_equal(archive_write(missing, &a, NULL, &r), CS_ERR_NOTFOUND);
    assert_int_equal(r.sys_errno, ENOENT);
    assert_non_null(strstr(r.msg, "no-such-root"));
    /* Nothing was created by any refused call. */
    DIR *d = opendir(f->root);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        assert_true(de->d_name[0] == '.');
    closedir(d);

    archive_format fm;
    assert_int_equal(archive_format_parse("opus", 4, &fm), CS_OK);
    assert_int_equal(fm, ARCHIVE_OPUS);
    assert_int_equal(archive_format_parse("flacx", 4, &fm), CS_OK);
    assert_int_equal(fm, ARCHIVE_FLAC);
    assert_int_equal(archive_format_parse("FLAC", 4, &fm), CS_ERR_INVAL);
    assert_int_equal(archive_format_parse("fla", 3, &fm), CS_ERR_INVAL);
    sig_free(&in);
}

/* Zero frames still make a valid (empty) recording in every format. */
static void test_empty_call(void **state)
{
    fx *f = *state;
    static const archive_format fmts[] = {ARCHIVE_FLAC, ARCHIVE_WAV, ARCHIVE_OPUS};
    for (int i = 0; i < 3; i++) {
        archive_audio a = {UUID1, T_MAR1, 8000, NULL, NULL, 0, fmts[i]};
        archive_result r;
        int rc = archive_write(f->root, &a, NULL, &r);
        if (rc != CS_OK)
            fail_msg("%s: %s", archive_format_name(fmts[i]), r.msg);
        assert_int_equal(r.duration_ms, 0);
        check_file(f->root, &r, UUID1, "2024/03/01", fmts[i]);
    }
}

/* ---- crash safety ------------------------------------------------------ */

/* Names in root/date, sorted into "final" and temporary counts. */
static void count_dir(const char *root, const char *date, int *finals, int *tmps)
{
    char p[600];
    *finals = *tmps = 0;
    DIR *d = opendir(join(p, sizeof p, root, date));
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_name[0] == '.')
            (*tmps)++;
        else
            (*finals)++;
    }
    closedir(d);
}

typedef struct kill_at {
    archive_step step;
} kill_at;

static void hook_kill(archive_step s, void *arg)
{
    if (s == ((kill_at *)arg)->step)
        raise(SIGKILL);
}

/* 0 = absent, 1 = equals v1, 2 = equals v2, -1 = anything else. */
static int final_state(const char *path, const char *v1, size_t l1, const char *v2, size_t l2)
{
    struct stat st0;
    if (stat(path, &st0) != 0)
        return errno == ENOENT ? 0 : -1;
    size_t len = 0;
    char *b = ts_read_file(path, &len);
    if (!b)
        return -1;
    int st = -1;
    if (len == l1 && memcmp(b, v1, l1) == 0)
        st = 1;
    else if (len == l2 && memcmp(b, v2, l2) == 0)
        st = 2;
    free(b);
    return st;
}

/* Reference bytes of one signal in one format (written in a scratch root). */
static char *reference(const fx *f, const sig *s, archive_format fmt, size_t *len)
{
    char scratch[400], p[600];
    snprintf(scratch, sizeof scratch, "%s/ref", f->dir);
    mkdir(scratch, 0755);
    archive_audio a = audio_of(s, UUID1, T_MAR1, fmt);
    archive_result r;
    assert_int_equal(archive_write(scratch, &a, NULL, &r), CS_OK);
    char *b = ts_read_file(join(p, sizeof p, scratch, r.path), len);
    assert_non_null(b);
    ts_rmrf(scratch);
    return b;
}

static void test_killed_at_each_step(void **state)
{
    fx *f = *state;
    sig v1 = synth(8000, 4.0, 4), v2 = synth(8000, 5.0, 5);
    static const archive_format fmts[] = {ARCHIVE_FLAC, ARCHIVE_WAV, ARCHIVE_OPUS};
    for (int fi = 0; fi < 3; fi++) {
        size_t l1, l2;
        char *b1 = reference(f, &v1, fmts[fi], &l1);
        char *b2 = reference(f, &v2, fmts[fi], &l2);
        char final[600];
        snprintf(final, sizeof final, "%s/2024/03/01/%s.%s", f->root, UUID1,
                 archive_format_name(fmts[fi]));
        for (int with_old = 0; with_old < 2; with_old++) {
            for (int st = ARCHIVE_STEP_TMP_CREATED; st <= ARCHIVE_STEP_DONE; st++) {
                char sub[400];
                snprintf(sub, sizeof sub, "%s/2024", f->root);
                ts_rmrf(sub);
                archive_result r;
                if (with_old) {
                    archive_audio a = audio_of(&v1, UUID1, T_MAR1, fmts[fi]);
                    assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_OK);
                }
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                    kill_at k = {(archive_step)st};
                    archive_hooks h = {hook_kill, &k};
                    archive_audio a = audio_of(&v2, UUID1, T_MAR1, fmts[fi]);
                    archive_write(f->root, &a, &h, &r);
                    _exit(0);
                }
                int status = 0;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
                int renamed = st >= ARCHIVE_STEP_RENAMED;
                int want = renamed ? 2 : with_old ? 1 : 0;
                int got = final_state(final, b1, l1, b2, l2);
                if (got != want)
                    fail_msg("%s, killed at step %d (old file: %d): final is %d, expected %d",
                             archive_format_name(fmts[fi]), st, with_old, got, want);
                int finals, tmps;
                count_dir(f->root, "2024/03/01", &finals, &tmps);
                assert_int_equal(finals, want ? 1 : 0);
                assert_int_equal(tmps, renamed ? 0 : 1);
                size_t removed = 99;
                assert_int_equal(archive_sweep_tmp(f->root, "2024/03/01", 3600, &removed), CS_OK);
                assert_int_equal(removed, 0); /* too fresh to be anybody's leftover */
                assert_int_equal(archive_sweep_tmp(f->root, "2024/03/01", 0, &removed), CS_OK);
                assert_int_equal(removed, (size_t)(renamed ? 0 : 1));
                count_dir(f->root, "2024/03/01", &finals, &tmps);
                assert_int_equal(tmps, 0);
                /* The retry after the crash gives exactly the new bytes. */
                archive_audio a = audio_of(&v2, UUID1, T_MAR1, fmts[fi]);
                assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_OK);
                assert_int_equal(final_state(final, b1, l1, b2, l2), 2);
            }
        }
        free(b1);
        free(b2);
    }
    size_t removed = 9;
    assert_int_equal(archive_sweep_tmp(f->root, "2031/01/01", 0, &removed), CS_OK);
    assert_int_equal(removed, 0);
    assert_int_equal(archive_sweep_tmp(f->root, "../x", 0, &removed), CS_ERR_INVAL);
    sig_free(&v1);
    sig_free(&v2);
}

/* A writer replacing one recording with alternating contents, killed from
 * outside at random moments: the final name is always one whole version. */
static void test_random_kills(void **state)
{
    fx *f = *state;
    sig v1 = synth(8000, 3.0, 6), v2 = synth(8000, 3.5, 7);
    size_t l1, l2;
    char *b1 = reference(f, &v1, ARCHIVE_FLAC, &l1);
    char *b2 = reference(f, &v2, ARCHIVE_FLAC, &l2);
    char final[600];
    snprintf(final, sizeof final, "%s/2024/03/01/%s.flac", f->root, UUID1);
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    int seen[3] = {0};
    size_t swept = 0;
    const int rounds = 30;
    for (int round = 0; round < rounds; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (unsigned i = (unsigned)round;; i++) {
                archive_audio a = audio_of(i % 2 ? &v2 : &v1, UUID1, T_MAR1, ARCHIVE_FLAC);
                archive_result r;
                if (archive_write(f->root, &a, NULL, &r) != CS_OK)
                    _exit(1);
            }
        }
        struct timespec ts = {0, (long)(rand() % 40000) * 1000L};
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        int got = final_state(final, b1, l1, b2, l2);
        if (got < 0)
            fail_msg("round %d: the final file is neither version (seed %u)", round, seed);
        seen[got]++;
        size_t removed = 0;
        assert_int_equal(archive_sweep_tmp(f->root, "2024/03/01", 0, &removed), CS_OK);
        assert_true(removed <= 1);
        swept += removed;
    }
    print_message("random kills: %d rounds: absent %d, version 1 %d, version 2 %d; "
                  "%zu temporary files swept (seed %u)\n",
                  rounds, seen[0], seen[1], seen[2], swept, seed);
    assert_true(seen[1] + seen[2] > 0); /* the writer got somewhere */
    free(b1);
    free(b2);
    sig_free(&v1);
    sig_free(&v2);
}

/* ---- environment errors ------------------------------------------------- */

typedef struct child_out {
    int rc;
    int sys_errno;
    char msg[ARCHIVE_MSG_MAX];
} child_out;

/* Runs one archive_write of `s` in a child after `prep` and returns what it
 * reported. */
static child_out write_in_child(const fx *f, const sig *s, archive_format fmt,
                                void (*prep)(const fx *))
{
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        prep(f);
        archive_audio a = audio_of(s, UUID1, T_MAR1, fmt);
        archive_result r;
        child_out o = {0};
        o.rc = archive_write(f->root, &a, NULL, &r);
        o.sys_errno = r.sys_errno;
        memcpy(o.msg, r.msg, sizeof o.msg);
        _exit(write(pfd[1], &o, sizeof o) == (ssize_t)sizeof o ? 0 : 3);
    }
    close(pfd[1]);
    child_out o = {0};
    assert_int_equal(read(pfd[0], &o, sizeof o), (ssize_t)sizeof o);
    close(pfd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return o;
}

static void prep_small_fsize(const fx *f)
{
    (void)f;
    struct rlimit rl = {8192, 8192};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(4);
}

static void test_disk_full(void **state)
{
    fx *f = *state;
    sig v1 = synth(8000, 0.1, 8), big = synth(8000, 20.0, 9);
    static const archive_format fmts[] = {ARCHIVE_FLAC, ARCHIVE_WAV, ARCHIVE_OPUS};
    for (int i = 0; i < 3; i++) {
        size_t l1;
        char *b1 = reference(f, &v1, fmts[i], &l1);
        assert_true(l1 < 8192);
        archive_audio a = audio_of(&v1, UUID1, T_MAR1, fmts[i]);
        archive_result r;
        assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_OK);
        child_out o = write_in_child(f, &big, fmts[i], prep_small_fsize);
        print_message("%s over the size limit: %s\n", archive_format_name(fmts[i]), o.msg);
        assert_int_equal(o.rc, CS_ERR_IO);
        assert_int_equal(o.sys_errno, EFBIG);
        assert_non_null(strstr(o.msg, strerror(EFBIG)));
        assert_non_null(strstr(o.msg, "2024/03/01/"));
        /* The old recording is untouched and no temporary file is left. */
        char final[600];
        snprintf(final, sizeof final, "%s/%s", f->root, r.path);
        assert_int_equal(final_state(final, b1, l1, "", 0), 1);
        int finals, tmps;
        count_dir(f->root, "2024/03/01", &finals, &tmps);
        assert_int_equal(tmps, 0);
        free(b1);
    }
    sig_free(&v1);
    sig_free(&big);
}

static void prep_unprivileged(const fx *f)
{
    if (geteuid() == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(5);
    } else if (chmod(f->root, 0555) != 0) {
        _exit(5);
    }
}

static void test_permission_denied(void **state)
{
    fx *f = *state;
    sig v1 = synth(8000, 0.5, 10);
    /* the child must be able to reach the root, not write into it */
    chmod(f->dir, 0755);
    child_out o = write_in_child(f, &v1, ARCHIVE_FLAC, prep_unprivileged);
    print_message("unprivileged writer: %s\n", o.msg);
    assert_int_equal(o.rc, CS_ERR_IO);
    assert_int_equal(o.sys_errno, EACCES);
    assert_non_null(strstr(o.msg, strerror(EACCES)));
    chmod(f->root, 0755);
    int finals, tmps;
    count_dir(f->root, "2024/03/01", &finals, &tmps);
    assert_int_equal(finals + tmps, 0);
    sig_free(&v1);
}

/* ---- pcap copy and verification ----------------------------------------- */

static void test_copy_pcap(void **state)
{
    fx *f = *state;
    char src[600], p[600];
    ts_source_path(src, sizeof src, "tests/data/sample.pcap");
    size_t slen;
    char *orig = ts_read_file(src, &slen);
    assert_non_null(orig);
    archive_result r;
    assert_int_equal(archive_copy_pcap(f->root, UUID1, T_MAR1, src, NULL, &r), CS_OK);
    assert_string_equal(r.path, "2024/03/01/" UUID1 ".pcap");
    assert_int_equal(r.bytes, slen);
    assert_int_equal(r.channels, 0);
    uint8_t d[32];
    evp_sha256(orig, slen, d);
    assert_memory_equal(d, r.sha256, 32);
    size_t len;
    char *copy = ts_read_file(join(p, sizeof p, f->root, r.path), &len);
    assert_non_null(copy);
    assert_int_equal(len, slen);
    assert_memory_equal(copy, orig, slen);
    free(copy);

    /* killed half-way through a replacement: the first copy stays whole */
    for (int st = ARCHIVE_STEP_TMP_CREATED; st <= ARCHIVE_STEP_SYNCED; st++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            kill_at k = {(archive_step)st};
            archive_hooks h = {hook_kill, &k};
            archive_copy_pcap(f->root, UUID1, T_MAR1, src, &h, &r);
            _exit(0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(final_state(p, orig, slen, "", 0), 1);
    }
    size_t removed;
    assert_int_equal(archive_sweep_tmp(f->root, "2024/03/01", 0, &removed), CS_OK);
    assert_int_equal(removed, 4);

    char missing[600];
    snprintf(missing, sizeof missing, "%s/none.pcap", f->dir);
    assert_int_equal(archive_copy_pcap(f->root, UUID1, T_MAR1, missing, NULL, &r), CS_ERR_NOTFOUND);
    assert_non_null(strstr(r.msg, "none.pcap"));
    assert_int_equal(archive_copy_pcap(f->root, UUID1, T_MAR1, f->dir, NULL, &r), CS_ERR_IO);
    assert_int_equal(r.sys_errno, EINVAL);
    free(orig);
}

static void test_verify_file(void **state)
{
    fx *f = *state;
    sig in = synth(8000, 2.0, 11);
    archive_audio a = audio_of(&in, UUID1, T_MAR1, ARCHIVE_FLAC);
    archive_result r;
    assert_int_equal(archive_write(f->root, &a, NULL, &r), CS_OK);
    archive_verify_report rep;
    char p[600];
    join(p, sizeof p, f->root, r.path);

    assert_int_equal(archive_verify_file(f->root, r.path, r.sha256, (int64_t)r.bytes, &rep), CS_OK);
    assert_int_equal(rep.check, ARCHIVE_CHECK_OK);
    assert_string_equal(rep.sha256_hex, r.sha256_hex);
    assert_int_equal(archive_verify_file(NULL, p, r.sha256, -1, &rep), CS_OK); /* absolute */

    /* one flipped bit in the middle: same size, other hash */
    size_t len;
    char *b = ts_read_file(p, &len);
    assert_non_null(b);
    b[len / 2] ^= 0x10;
    assert_int_equal(ts_write_file(p, b, len), 0);
    assert_int_equal(archive_verify_file(f->root, r.path, r.sha256, (int64_t)r.bytes, &rep),
                     CS_ERR_INTEGRITY);
    assert_int_equal(rep.check, ARCHIVE_CHECK_HASH);
    assert_string_equal(archive_check_name(rep.check), "hash mismatch");
    assert_non_null(strstr(rep.msg, r.sha256_hex));
    assert_non_null(strstr(rep.msg, r.path));
    print_message("flipped bit: %s\n", rep.msg);

    /* truncated by one byte */
    b[len / 2] ^= 0x10;
    assert_int_equal(ts_write_file(p, b, len - 1), 0);
    assert_int_equal(archive_verify_file(f->root, r.path, r.sha256, (int64_t)r.bytes, &rep),
                     CS_ERR_INTEGRITY);
    assert_int_equal(rep.check, ARCHIVE_CHECK_SIZE);
    assert_int_equal(rep.bytes, len - 1);
    /* without a size to compare, the hash catches it */
    assert_int_equal(archive_verify_file(f->root, r.path, r.sha256, -1, &rep), CS_ERR_INTEGRITY);
    assert_int_equal(rep.check, ARCHIVE_CHECK_HASH);
    /* restored → ok again */
    assert_int_equal(ts_write_file(p, b, len), 0);
    assert_int_equal(archive_verify_file(f->root, r.path, r.sha256, (int64_t)r.bytes, &rep), CS_OK);
    free(b);

    assert_int_equal(unlink(p), 0);
    assert_int_equal(archive_verify_file(f->root, r.path, r.sha256, (int64_t)r.bytes, &rep),
                     CS_ERR_NOTFOUND);
    assert_int_equal(rep.check, ARCHIVE_CHECK_MISSING);
    assert_int_equal(archive_verify_file(f->root, "2024/03/01", r.sha256, -1, &rep), CS_ERR_IO);
    assert_int_equal(rep.check, ARCHIVE_CHECK_UNREADABLE);
    assert_int_equal(archive_verify_file(f->root, "2024/../../etc/passwd", r.sha256, -1, &rep),
                     CS_ERR_INVAL);
    assert_int_equal(archive_verify_file(f->root, "", r.sha256, -1, &rep), CS_ERR_INVAL);
    sig_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_speech_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_identical, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layout_utc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_at_each_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_permission_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_pcap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
