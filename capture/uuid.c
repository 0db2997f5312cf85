/*
 * uuid.c — call uuids (see uuid.h for the derivation).
 *
 * Why a hash and not a random uuid: the uuid must be a pure function of what
 * is in the capture, so that reading the same pcap twice, or a live capture
 * and its recording, names the same call the same way.
 */
#include "uuid.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "error.h"

int uuid_call(const char *probe, const char *call_id, size_t call_id_len, uint64_t invite_us,
              char out[UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char ts[24];
    int tslen = snprintf(ts, sizeof ts, "%" PRIu64, invite_us);
    const char *p = probe ? probe : "";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (!ctx)
        return CS_ERR_NOMEM;
    int ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, p, strlen(p) + 1) == 1 &&
             (call_id_len == 0 || EVP_DigestUpdate(ctx, call_id, call_id_len) == 1) &&
             EVP_DigestUpdate(ctx, "", 1) == 1 &&
             EVP_DigestUpdate(ctx, ts, (size_t)tslen) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok || mdlen < 16)
        return CS_ERR_NOMEM;

    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* variant 10 */
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 15];
    }
    out[o] = '\0';
    return CS_OK;
}
