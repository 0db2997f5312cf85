/*
 * uuid.h — the call uuid: a name-based identifier every later stage keys on.
 *
 * uuid = SHA-256( probe NUL inbound-Call-ID NUL first-INVITE-time-in-us as
 * decimal ), first 16 bytes, with the version nibble set to 5 and the variant
 * bits to 10, printed 8-4-4-4-12 in lower case (the layout of RFC 9562; the
 * hash is SHA-256 rather than SHA-1, so strictly it is a "version 5 style"
 * name-based uuid). Re-reading the same capture gives the same uuids, which
 * is what makes decode and the database idempotent.
 *
 * Pure: no globals, no logging. SHA-256 comes from OpenSSL's EVP interface.
 */
#ifndef CALLSCOPE_CAPTURE_UUID_H
#define CALLSCOPE_CAPTURE_UUID_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 36 /* without the NUL */

/* Writes the uuid and a NUL into out. probe: NUL-terminated (NULL = "");
 * call_id: call_id_len bytes, need not be NUL-terminated. CS_OK, or
 * CS_ERR_NOMEM when OpenSSL could not allocate its digest context. */
int uuid_call(const char *probe, const char *call_id, size_t call_id_len, uint64_t invite_us,
              char out[UUID_STR_LEN + 1]);

#endif
