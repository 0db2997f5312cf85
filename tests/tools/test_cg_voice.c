/*
 * test_cg_voice.c — callgen's speech bank and tracks, on the real testdata.
 *
 * The bank is loaded from Debian's pocketsphinx-testdata (skipped with exit
 * 77 when it is missing): clip sets, exact normalised transcripts and
 * lengths, deterministic picks. Broken copies of the testdata (temporary
 * directories) give exact error codes. Tracks: placement to the sample,
 * clipping at the end, saturation, noise level, frames, WAV files read back
 * with libsndfile. Festival phrases are synthesised into a temporary cache
 * (skipped when text2wave is not installed); a second load must use the
 * cache: file mtimes unchanged, and a non-existent text2wave not needed.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include "cg_codec.h"
#include "cg_voice.h"
#include "error.h"
#include "testsupport.h"

#define TESTDATA "/usr/share/pocketsphinx/test/data"

static cg_bank g_bank; /* loaded once in main, no phrases */

static const cg_clip *find_clip(const cg_bank *b, const char *id)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->clips[i].id, id) == 0)
            return &b->clips[i];
    return NULL;
}

/* ---- bank --------------------------------------------------------------- */

static void test_bank_contents(void **state)
{
    (void)state;
    static const struct {
        const char *id, *speaker, *text;
        cg_role role;
        size_t nsamples;
    } want[] = {
        {"librivox-0870", "librivox-austen",
         "and mister john dashwood had then leisure to consider how much there might be "
         "prudently in his power to do for them",
         CG_ROLE_AGENT, 113600},
        {"librivox-0880", "librivox-austen", "he was not an ill disposed young man", CG_ROLE_AGENT,
         47840},
        {"librivox-0890", "librivox-austen",
         "unless to be rather cold hearted and rather selfish is to be ill disposed",
         CG_ROLE_AGENT, 84800},
        {"librivox-0920", "librivox-austen",
         "had he married a more a amiable woman he might have been made still more respectable "
         "than he was",
         CG_ROLE_AGENT, 96800},
        {"librivox-0930", "librivox-austen", "he might even have been made amiable himself",
         CG_ROLE_AGENT, 52640},
        {"cards-001", "cards", "ten of clubs", CG_ROLE_CUSTOMER, 17526},
        {"cards-002", "cards", "four queen of clubs", CG_ROLE_CUSTOMER, 31364},
        {"cards-003", "cards", "seven of clubs", CG_ROLE_CUSTOMER, 24611},
        {"cards-004", "cards", "five five", CG_ROLE_CUSTOMER, 24864},
        {"cards-005", "cards", "eight of spades four of clubs seven of hearts", CG_ROLE_CUSTOMER,
         56040},
        {"goforward", "goforward", "go forward ten meters", CG_ROLE_CUSTOMER, 44580},
        {"tidigits-dhd-2934z", "tidigits-dhd", "two nine three four zero", CG_ROLE_CUSTOMER,
         38400},
    };
    assert_int_equal(g_bank.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const cg_clip *c = &g_bank.clips[i]; /* load order is fixed */
        assert_string_equal(c->id, want[i].id);
        assert_string_equal(c->speaker, want[i].speaker);
        assert_string_equal(c->text, want[i].text);
        assert_int_equal(c->role, want[i].role);
        assert_int_equal(c->phrase, CG_PHRASE_NONE);
        assert_int_equal(c->nsamples, want[i].nsamples);
        assert_non_null(c->pcm);
        assert_int_equal(cg_clip_ms(c), want[i].nsamples * 1000 / 16000);
        /* speech, not silence: RMS above -50 dBFS */
        double e = 0;
        for (size_t k = 0; k < c->nsamples; k++)
            e += (double)c->pcm[k] * c->pcm[k];
        assert_true(sqrt(e / (double)c->nsamples) > 100.0);
    }
    assert_int_equal(cg_clip_ms(find_clip(&g_bank, "librivox-0880")), 2990);
    assert_int_equal(cg_clip_ms(find_clip(&g_bank, "cards-001")), 1095);
    assert_int_equal(cg_clip_ms(NULL), 0);
    assert_null(cg_bank_phrase(&g_bank, CG_PHRASE_GREETING)); /* loaded without phrases */
    assert_null(cg_bank_phrase(&g_bank, CG_PHRASE_NONE));
    assert_string_equal(cg_phrase_name(CG_PHRASE_NONE), "");
    assert_string_equal(cg_phrase_name(CG_PHRASE_GREETING), "greeting");
    assert_string_equal(cg_phrase_name(CG_PHRASE_VERIFICATION), "verification");
    assert_string_equal(cg_phrase_name(CG_PHRASE_CLOSING), "closing");
    assert_string_equal(cg_phrase_name(CG_PHRASE_FORBIDDEN), "forbidden");
    assert_string_equal(cg_phrase_name(CG_PHRASE__COUNT), "");
}

static void test_pick(void **state)
{
    (void)state;
    cg_bank other;
    char err[256];
    cg_bank_opts o = {TESTDATA, NULL, NULL};
    assert_int_equal(cg_bank_load(&other, &o, err, sizeof err), CS_OK);
    cg_rng r1, r2, r3;
    cg_rng_seed(&r1, 42, 7);
    cg_rng_seed(&r2, 42, 7);
    cg_rng_seed(&r3, 43, 7);
    int seen[64] = {0}, differs = 0;
    for (int i = 0; i < 400; i++) {
        cg_role role = (i & 1) ? CG_ROLE_CUSTOMER : CG_ROLE_AGENT;
        const cg_clip *a = cg_bank_pick(&g_bank, role, &r1);
        const cg_clip *b = cg_bank_pick(&other, role, &r2);
        const cg_clip *c = cg_bank_pick(&g_bank, role, &r3);
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(a->id, b->id); /* same seed, two banks: same clips */
        assert_int_equal(a->role, role);
        assert_int_equal(a->phrase, CG_PHRASE_NONE);
        differs += strcmp(a->id, c->id) != 0;
        seen[a - g_bank.clips]++;
    }
    for (size_t i = 0; i < g_bank.n; i++)
        assert_true(seen[i] > 0); /* 200 picks per role reach every clip */
    assert_true(differs > 100);
    assert_null(cg_bank_pick(&g_bank, CG_ROLE_AGENT, NULL));
    assert_null(cg_bank_pick(NULL, CG_ROLE_AGENT, &r1));
    cg_bank_free(&other);
    assert_int_equal(other.n, 0);
    assert_null(other.clips);
}

/* A small testdata tree: links to the real files except the ones a test
 * breaks. */
static void make_tree(char *dir, size_t cap)
{
    char p[512], q[512];
    assert_int_equal(ts_mkdtemp(dir, cap, "voicebad"), 0);
    snprintf(p, sizeof p, "%s/librivox", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/cards", dir);
    assert_int_equal(mkdir(p, 0700), 0);
    static const char *const links[] = {
        "librivox/sense_and_sensibility_01_austen_64kb-0880.wav", "cards/cards.transcription",
        "cards/001.wav", "cards/002.wav", "cards/003.wav", "cards/004.wav", "cards/005.wav",
        "goforward.raw",
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", TESTDATA, links[i]);
        snprintf(q, sizeof q, "%s/%s", dir, links[i]);
        assert_int_equal(symlink(p, q), 0);
    }
}

static void write_text(const char *dir, const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    assert_int_equal(ts_write_file(p, text, strlen(text)), 0);
}

static void test_bank_errors(void **state)
{
    (void)state;
    cg_bank b = {NULL, 0};
    char err[512], dir[256];
    cg_bank_opts o = {"/nonexistent/testdata", NULL, NULL};
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_ERR_NOTFOUND);
    assert_non_null(strstr(err, "apt-get install pocketsphinx-testdata"));
    assert_int_equal(b.n, 0);

    make_tree(dir, sizeof dir);
    o.testdata_dir = dir;
    /* no librivox/transcription */
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_ERR_NOTFOUND);
    assert_non_null(strstr(err, "librivox/transcription"));
    /* a good minimal tree loads: one agent clip, its text normalised */
    write_text(dir, "librivox/transcription",
               "<s> He was NOT an ill-disposed, young man! </s> "
               "(sense_and_sensibility_01_austen_64kb-0880)\r\n\n");
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_OK);
    assert_int_equal(b.n, 7); /* 1 librivox + 5 cards + goforward; no tidigits folder */
    assert_string_equal(b.clips[0].text, "he was not an ill disposed young man");
    assert_string_equal(b.clips[0].id, "librivox-0880");
    cg_bank_free(&b);
    /* malformed line: no "(id)" */
    write_text(dir, "librivox/transcription", "<s> he was not </s>\n");
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_ERR_MALFORMED);
    assert_non_null(strstr(err, "malformed line"));
    assert_int_equal(b.n, 0);
    /* an id that would escape the folder */
    write_text(dir, "librivox/transcription", "<s> he was </s> (../../etc/passwd)\n");
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_ERR_MALFORMED);
    /* an empty transcript */
    write_text(dir, "librivox/transcription",
               "<s> </s> (sense_and_sensibility_01_austen_64kb-0880)\n");
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_ERR_MALFORMED);
    assert_non_null(strstr(err, "empty transcript"));
    /* a listed clip that does not exist */
    write_text(dir, "librivox/transcription", "<s> missing </s> (nothere)\n");
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_ERR_NOTFOUND);
    assert_non_null(strstr(err, "nothere.wav"));
    /* an 8 kHz clip is refused with its rate named */
    write_text(dir, "librivox/transcription", "<s> eight k </s> (eightk)\n");
    char p[512];
    snprintf(p, sizeof p, "%s/librivox/eightk.wav", dir);
    SF_INFO info = {0, 8000, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0, 0};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    assert_non_null(sf);
    short zeros[800] = {0};
    assert_int_equal(sf_writef_short(sf, zeros, 800), 800);
    sf_close(sf);
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "8000 Hz"));
    /* an empty transcription file */
    write_text(dir, "librivox/transcription", "\n\n");
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_ERR_EMPTY);
    assert_int_equal(b.n, 0);
    ts_rmrf(dir);
}

/* ---- tracks ------------------------------------------------------------- */

static void test_track_place(void **state)
{
    (void)state;
    const cg_clip *c = find_clip(&g_bank, "cards-001"); /* 17526 samples */
    assert_non_null(c);
    cg_track t;
    assert_int_equal(cg_track_init(&t, 3000), CS_OK);
    assert_int_equal(t.n, 48000);
    for (size_t i = 0; i < t.n; i++)
        assert_int_equal(t.pcm[i], 0);
    assert_int_equal(cg_track_place(&t, c, 250), CS_OK);
    assert_int_equal(t.pcm[3999], 0);
    assert_memory_equal(t.pcm + 4000, c->pcm, c->nsamples * sizeof *c->pcm);
    for (size_t i = 4000 + c->nsamples; i < t.n; i++)
        assert_int_equal(t.pcm[i], 0);
    for (size_t i = 0; i < 4000; i++)
        assert_int_equal(t.pcm[i], 0);

    /* clipped at the end: only the part that fits, nothing written past it */
    assert_int_equal(cg_track_place(&t, c, 2500), CS_OK);
    assert_memory_equal(t.pcm + 40000, c->pcm, 8000 * sizeof *c->pcm);
    memset(t.pcm + 40000, 0, 8000 * sizeof *t.pcm);
    assert_int_equal(cg_track_place(&t, c, 2999), CS_OK);
    assert_memory_equal(t.pcm + 47984, c->pcm, 16 * sizeof *c->pcm);
    /* at or past the end: INVAL, track unchanged */
    assert_int_equal(cg_track_place(&t, c, 3000), CS_ERR_INVAL);
    assert_int_equal(cg_track_place(&t, c, UINT64_MAX), CS_ERR_INVAL);
    assert_int_equal(cg_track_place(&t, NULL, 0), CS_ERR_INVAL);

    /* saturating mix: the clip added to itself */
    cg_track s;
    assert_int_equal(cg_track_init(&s, 2000), CS_OK);
    const cg_clip *loud = find_clip(&g_bank, "tidigits-dhd-2934z");
    assert_non_null(loud);
    size_t peak = 0;
    for (size_t i = 0; i < loud->nsamples && i < s.n; i++)
        if (abs(loud->pcm[i]) > abs(loud->pcm[peak]))
            peak = i;
    assert_int_equal(cg_track_place(&s, loud, 0), CS_OK);
    for (int rep = 0; rep < 40; rep++)
        assert_int_equal(cg_track_place(&s, loud, 0), CS_OK);
    assert_int_equal(s.pcm[peak], loud->pcm[peak] > 0 ? INT16_MAX : INT16_MIN);
    for (size_t i = 0; i < s.n; i++) {
        int32_t want = 41 * (int32_t)loud->pcm[i];
        want = want > INT16_MAX ? INT16_MAX : want < INT16_MIN ? INT16_MIN : want;
        if (s.pcm[i] != want)
            fail_msg("sample %zu: %d, want %d", i, s.pcm[i], (int)want);
    }
    cg_track_free(&s);

    /* frames: exact slices, zero-padded past the end */
    int16_t f[CG_FRAME_SAMPLES];
    cg_track_frame(&t, 12, f);
    assert_memory_equal(f, t.pcm + 12 * CG_FRAME_SAMPLES, sizeof f);
    cg_track_frame(&t, 150, f); /* 48000 / 320 = 150: first frame past the end */
    for (int i = 0; i < CG_FRAME_SAMPLES; i++)
        assert_int_equal(f[i], 0);
    cg_track_frame(&t, SIZE_MAX, f);
    for (int i = 0; i < CG_FRAME_SAMPLES; i++)
        assert_int_equal(f[i], 0);
    cg_track odd;
    assert_int_equal(cg_track_init(&odd, 30), CS_OK); /* 480 samples: 1.5 frames */
    for (size_t i = 0; i < odd.n; i++)
        odd.pcm[i] = (int16_t)(i + 1);
    cg_track_frame(&odd, 1, f);
    for (int i = 0; i < CG_FRAME_SAMPLES; i++)
        assert_int_equal(f[i], i < 160 ? 321 + i : 0);
    cg_track_free(&odd);
    cg_track_free(&t);
    assert_null(t.pcm);
    assert_int_equal(t.n, 0);

    cg_track z;
    assert_int_equal(cg_track_init(&z, 0), CS_OK);
    assert_int_equal(z.n, 0);
    assert_int_equal(cg_track_place(&z, c, 0), CS_ERR_INVAL);
    cg_track_free(&z);
    assert_int_equal(cg_track_init(&z, UINT64_MAX), CS_ERR_NOMEM);
}

static void test_track_noise(void **state)
{
    (void)state;
    cg_track a, b, c;
    assert_int_equal(cg_track_init(&a, 5000), CS_OK);
    assert_int_equal(cg_track_init(&b, 5000), CS_OK);
    assert_int_equal(cg_track_init(&c, 5000), CS_OK);
    cg_track_add_noise(&a, 1234, -60.0);
    cg_track_add_noise(&b, 1234, -60.0);
    cg_track_add_noise(&c, 1235, -60.0);
    assert_memory_equal(a.pcm, b.pcm, a.n * sizeof *a.pcm);
    size_t same = 0;
    double e = 0, mean = 0;
    for (size_t i = 0; i < a.n; i++) {
        same += a.pcm[i] == c.pcm[i];
        e += (double)a.pcm[i] * a.pcm[i];
        mean += a.pcm[i];
    }
    assert_true(same < a.n / 10);
    double dbfs = 10.0 * log10(e / (double)a.n / (32768.0 * 32768.0));
    fprintf(stderr, "noise at -60 dBFS requested: %.3f dBFS, mean %.3f\n", dbfs,
            mean / (double)a.n);
    assert_true(fabs(dbfs + 60.0) < 0.2);
    assert_true(fabs(mean / (double)a.n) < 0.5);
    cg_track_free(&a);
    cg_track_free(&b);
    cg_track_free(&c);
}

static void test_track_wav(void **state)
{
    (void)state;
    char dir[256], p16[300], p8[300], pbad[300];
    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "voicewav"), 0);
    snprintf(p16, sizeof p16, "%s/t16.wav", dir);
    snprintf(p8, sizeof p8, "%s/t8.wav", dir);
    snprintf(pbad, sizeof pbad, "%s/no/such/dir.wav", dir);
    cg_track t;
    assert_int_equal(cg_track_init(&t, 4010), CS_OK); /* not a whole number of frames */
    assert_int_equal(cg_track_place(&t, find_clip(&g_bank, "goforward"), 700), CS_OK);
    cg_track_add_noise(&t, 9, -70.0);
    assert_int_equal(cg_track_write_wav(&t, p16, 16000), CS_OK);
    assert_int_equal(cg_track_write_wav(&t, p8, 8000), CS_OK);
    assert_int_equal(cg_track_write_wav(&t, pbad, 8000), CS_ERR_IO);
    assert_int_equal(cg_track_write_wav(&t, p8, 11025), CS_ERR_INVAL);

    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(p16, SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal(info.samplerate, 16000);
    assert_int_equal(info.channels, 1);
    assert_int_equal(info.frames, 64160);
    assert_int_equal(info.format, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
    short *back = malloc(64160 * sizeof *back);
    assert_non_null(back);
    assert_int_equal(sf_readf_short(sf, back, 64160), 64160);
    assert_memory_equal(back, t.pcm, 64160 * sizeof *back);
    sf_close(sf);

    memset(&info, 0, sizeof info);
    sf = sf_open(p8, SFM_READ, &info);
    assert_non_null(sf);
    assert_int_equal(info.samplerate, 8000);
    assert_int_equal(info.frames, 32080);
    assert_int_equal(sf_readf_short(sf, back, 32080), 32080);
    sf_close(sf);
    /* exactly what a narrowband encoder's decimator sees frame by frame */
    cg_down2 d;
    cg_down2_init(&d);
    int16_t in[CG_FRAME_SAMPLES], out[CG_FRAME_SAMPLES / 2];
    for (size_t k = 0; k * 160 < 32080; k++) {
        cg_track_frame(&t, k, in);
        cg_down2_run(&d, in, CG_FRAME_SAMPLES, out);
        size_t m = 32080 - k * 160 < 160 ? 32080 - k * 160 : 160;
        assert_memory_equal(back + k * 160, out, m * sizeof *out);
    }
    free(back);
    cg_track_free(&t);
    ts_rmrf(dir);
}

/* ---- phrases ------------------------------------------------------------ */

static int have_text2wave(void)
{
    const char *path = getenv("PATH");
    char buf[4096], p[4200];
    snprintf(buf, sizeof buf, "%s", path != NULL ? path : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(buf, ":", &save); d != NULL;
         d = strtok_r(NULL, ":", &save)) {
        snprintf(p, sizeof p, "%s/text2wave", d);
        if (access(p, X_OK) == 0)
            return 1;
    }
    return 0;
}

/* Names and mtimes of the files in dir, sorted by name. */
typedef struct entry {
    char name[128];
    struct timespec mtime;
} entry;

static size_t list_dir(const char *dir, entry *e, size_t cap)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        assert_true(n < cap);
        assert_true(strlen(de->d_name) < sizeof e[n].name);
        memcpy(e[n].name, de->d_name, strlen(de->d_name) + 1);
        char p[512];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        assert_int_equal(stat(p, &st), 0);
        e[n].mtime = st.st_mtim;
        n++;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* insertion sort */
        for (size_t j = i; j > 0 && strcmp(e[j - 1].name, e[j].name) > 0; j--) {
            entry tmp = e[j];
            e[j] = e[j - 1];
            e[j - 1] = tmp;
        }
    return n;
}

static void test_phrases(void **state)
{
    (void)state;
    if (!have_text2wave()) {
        fprintf(stderr, "text2wave not installed (festival, festvox-us-slt-hts): skipped\n");
        skip();
    }
    static const struct {
        cg_phrase p;
        const char *id, *prefix, *text;
    } want[] = {
        {CG_PHRASE_GREETING, "tts-greeting", "greeting-",
         "thank you for calling acme support my name is sarah how can i help you today"},
        {CG_PHRASE_VERIFICATION, "tts-verification", "verification-",
         "can you please confirm your full name and date of birth"},
        {CG_PHRASE_CLOSING, "tts-closing", "closing-",
         "is there anything else i can help you with today thank you for calling goodbye"},
        {CG_PHRASE_FORBIDDEN, "tts-forbidden", "forbidden-", "that is not my problem"},
    };
    char dir[256], cache[300], err[512];
    assert_int_equal(ts_mkdtemp(dir, sizeof dir, "voicetts"), 0);
    snprintf(cache, sizeof cache, "%s/cache/tts", dir); /* created, parents too */
    cg_bank_opts o = {TESTDATA, cache, NULL};
    cg_bank b;
    int rc = cg_bank_load(&b, &o, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("phrases: %s (%s)", err, cs_err_name(rc));
    assert_int_equal(b.n, g_bank.n + 4);
    for (size_t i = 0; i < 4; i++) {
        const cg_clip *c = cg_bank_phrase(&b, want[i].p);
        assert_non_null(c);
        assert_string_equal(c->id, want[i].id);
        assert_string_equal(c->speaker, "slt-hts");
        assert_string_equal(c->text, want[i].text);
        assert_int_equal(c->role, CG_ROLE_AGENT);
        assert_int_equal(c->phrase, want[i].p);
        fprintf(stderr, "%s: %llu ms\n", c->id, (unsigned long long)cg_clip_ms(c));
        assert_in_range(cg_clip_ms(c), 1000, 10000);
    }
    /* picks never return a phrase */
    cg_rng r;
    cg_rng_seed(&r, 5, 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(cg_bank_pick(&b, CG_ROLE_AGENT, &r)->phrase, CG_PHRASE_NONE);

    entry first[16], second[16];
    size_t n1 = list_dir(cache, first, 16);
    assert_int_equal(n1, 4); /* four WAVs, no temporary left behind */
    for (size_t i = 0; i < n1; i++) {
        size_t l = strlen(first[i].name);
        assert_true(l > 4 && strcmp(first[i].name + l - 4, ".wav") == 0);
    }
    assert_non_null(strstr(first[0].name, "closing-"));
    assert_non_null(strstr(first[1].name, "forbidden-"));
    assert_non_null(strstr(first[2].name, "greeting-"));
    assert_non_null(strstr(first[3].name, "verification-"));

    /* second load: served from the cache, even with no synthesiser at all */
    sleep(1);
    o.text2wave = "/nonexistent/text2wave";
    cg_bank b2;
    rc = cg_bank_load(&b2, &o, err, sizeof err);
    if (rc != CS_OK)
        fail_msg("cached phrases: %s (%s)", err, cs_err_name(rc));
    size_t n2 = list_dir(cache, second, 16);
    assert_int_equal(n2, 4);
    for (size_t i = 0; i < n2; i++) {
        assert_string_equal(first[i].name, second[i].name);
        assert_int_equal(first[i].mtime.tv_sec, second[i].mtime.tv_sec);
        assert_int_equal(first[i].mtime.tv_nsec, second[i].mtime.tv_nsec);
    }
    for (int p = CG_PHRASE_GREETING; p < CG_PHRASE__COUNT; p++) {
        const cg_clip *x = cg_bank_phrase(&b, (cg_phrase)p), *y = cg_bank_phrase(&b2, (cg_phrase)p);
        assert_int_equal(x->nsamples, y->nsamples);
        assert_memory_equal(x->pcm, y->pcm, x->nsamples * sizeof *x->pcm);
    }
    cg_bank_free(&b2);
    cg_bank_free(&b);

    /* an empty cache and no synthesiser: a clear error */
    snprintf(cache, sizeof cache, "%s/empty", dir);
    o.tts_cache = cache;
    assert_int_equal(cg_bank_load(&b, &o, err, sizeof err), CS_ERR_NOTFOUND);
    assert_non_null(strstr(err, "install festival and festvox-us-slt-hts or run without phrases"));
    assert_int_equal(b.n, 0);
    entry none[4];
    assert_int_equal(list_dir(cache, none, 4), 0); /* no temporary left behind */
    ts_rmrf(dir);
}

int main(void)
{
    char err[512];
    if (access(TESTDATA, F_OK) != 0) {
        fprintf(stderr, "SKIP: %s missing (apt-get install pocketsphinx-testdata)\n", TESTDATA);
        return 77;
    }
    cg_bank_opts o = {TESTDATA, NULL, NULL};
    int rc = cg_bank_load(&g_bank, &o, err, sizeof err);
    if (rc != CS_OK) {
        fprintf(stderr, "cannot load the speech bank: %s (%s)\n", err, cs_err_name(rc));
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bank_contents), cmocka_unit_test(test_pick),
        cmocka_unit_test(test_bank_errors),   cmocka_unit_test(test_track_place),
        cmocka_unit_test(test_track_noise),   cmocka_unit_test(test_track_wav),
        cmocka_unit_test(test_phrases),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    cg_bank_free(&g_bank);
    return rc;
}
