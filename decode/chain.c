/*
 * chain.c — the recordings hash chain (see chain.h for the formula).
 *
 * The text T is built with snprintf and PRId64, which prints exactly what
 * PostgreSQL's int8out/int4out/int2out print (optional '-', decimal digits,
 * no padding), so the bytes hashed here and by cs_recording_chain_hash()
 * are the same. tests/decode/test_chain.c compares the two on a real
 * server, including negative times and a tampered row.
 */
#include "chain.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "archive.h"
#include "error.h"

#define FORMAT_MAX 16

int chain_text(const chain_row *r, char *buf, size_t cap, size_t *len)
{
    if (!r || !buf || !r->call_uuid || !r->format)
        return CS_ERR_INVAL;
    size_t flen = strlen(r->format);
    if (!archive_uuid_valid(r->call_uuid, strlen(r->call_uuid)) || flen == 0 || flen > FORMAT_MAX)
        return CS_ERR_INVAL;
    int n = snprintf(buf, cap,
                     "callscope-recording-v1|%" PRId64 "|%s|%s|%" PRId32 "|%d|%" PRId32 "|%" PRId64
                     "|%" PRId64,
                     r->seq, r->call_uuid, r->format, r->sample_rate, (int)r->channels,
                     r->duration_ms, r->bytes, r->created_at_us);
    if (n < 0)
        return CS_ERR_INVAL;
    if ((size_t)n >= cap)
        return CS_ERR_OVERFLOW;
    if (len)
        *len = (size_t)n;
    return CS_OK;
}

int chain_hash_compute(const uint8_t prev[CHAIN_HASH_LEN], const chain_row *r,
                       uint8_t out[CHAIN_HASH_LEN])
{
    if (!prev || !out)
        return CS_ERR_INVAL;
    char t[CHAIN_TEXT_MAX];
    size_t tlen = 0;
    int rc = chain_text(r, t, sizeof t, &tlen);
    if (rc != CS_OK)
        return rc;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned olen = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, prev, CHAIN_HASH_LEN) == 1 &&
             EVP_DigestUpdate(ctx, r->sha256, CHAIN_HASH_LEN) == 1 &&
             EVP_DigestUpdate(ctx, t, tlen) == 1 && EVP_DigestFinal_ex(ctx, out, &olen) == 1 &&
             olen == CHAIN_HASH_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? CS_OK : CS_ERR_NOMEM;
}

int chain_check_link(int64_t expected_seq, const uint8_t expected_prev[CHAIN_HASH_LEN],
                     const chain_row *r, unsigned *faults)
{
    if (!expected_prev || !r || !faults)
        return CS_ERR_INVAL;
    *faults = 0;
    uint8_t h[CHAIN_HASH_LEN];
    int rc = chain_hash_compute(r->prev_chain_hash, r, h);
    if (rc != CS_OK)
        return rc;
    if (r->seq != expected_seq)
        *faults |= CHAIN_FAULT_SEQ;
    if (memcmp(r->prev_chain_hash, expected_prev, CHAIN_HASH_LEN) != 0)
        *faults |= CHAIN_FAULT_PREV;
    if (memcmp(r->chain_hash, h, CHAIN_HASH_LEN) != 0)
        *faults |= CHAIN_FAULT_HASH;
    return *faults ? CS_ERR_INTEGRITY : CS_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int chain_hex_parse(const char *s, size_t len, uint8_t out[CHAIN_HASH_LEN])
{
    if (!s || !out)
        return CS_ERR_MALFORMED;
    if (len >= 2 && s[0] == '\\' && s[1] == 'x') {
        s += 2;
        len -= 2;
    }
    if (len != 2 * CHAIN_HASH_LEN)
        return CS_ERR_MALFORMED;
    uint8_t tmp[CHAIN_HASH_LEN];
    for (size_t i = 0; i < CHAIN_HASH_LEN; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return CS_ERR_MALFORMED;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, tmp, sizeof tmp);
    return CS_OK;
}

void chain_hex_format(const uint8_t b[CHAIN_HASH_LEN], char hex[2 * CHAIN_HASH_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < CHAIN_HASH_LEN; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    hex[2 * CHAIN_HASH_LEN] = '\0';
}
