/*
 * chain.h — the recordings hash chain, recomputed outside the database.
 *
 * The database assigns seq, prev_chain_hash, chain_hash and created_at in
 * the BEFORE INSERT trigger cs_recordings_chain_append() (schema/
 * 001_init.sql), through cs_recording_chain_hash():
 *
 *   chain_hash = SHA-256( prev_chain_hash        32 raw bytes (zeros for seq 1)
 *                      || sha256                 32 raw bytes, the file digest
 *                      || T )                    UTF-8, no trailing newline
 *   T = "callscope-recording-v1|<seq>|<call_uuid>|<format>|<sample_rate>|
 *        <channels>|<duration_ms>|<bytes>|<created_at_us>"     (one line)
 *
 * Every number is PostgreSQL's text form of the integer: decimal, a '-'
 * only for a negative value, no leading zeros, no '+'; the uuid is the
 * canonical lowercase form; created_at_us is cs_epoch_us(created_at) =
 * (extract(epoch FROM created_at) * 1000000)::bigint, exact microseconds
 * (negative before 1970). concat_ws would skip a NULL, but every field is
 * NOT NULL and the SQL function is STRICT, so T always has all nine
 * fields. chain_hash_compute() builds exactly these bytes, so `callscope
 * verify` can check the chain without trusting the SQL function (which a
 * tamperer could replace). docs/archive.md has the formula and a test
 * vector.
 *
 * A verifier walks the rows in seq order and checks each link with
 * chain_check_link(): the expected seq (previous + 1), the expected
 * prev_chain_hash (previous row's stored chain_hash, zeros before seq 1),
 * and the recomputed chain_hash. A deleted row shows as a seq gap and a
 * prev mismatch at the next row; an edited row as a hash mismatch at that
 * row; a re-forged tail is only caught against an anchor kept outside the
 * database (docs/archive.md).
 *
 * Pure functions: no I/O, no global state; everything is borrowed.
 */
#ifndef CALLSCOPE_CHAIN_H
#define CALLSCOPE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define CHAIN_HASH_LEN 32
/* Longest T: 22 prefix + 8 separators + 36 uuid + 16 format (the most
 * chain_text accepts) + 20 + 11 + 6 + 11 + 20 + 20 for the integers with
 * their signs = 170 bytes; 256 leaves room. */
#define CHAIN_TEXT_MAX 256

/* One recordings row as the verifier reads it. */
typedef struct chain_row {
    int64_t seq;
    const char *call_uuid; /* canonical lowercase, NUL-terminated; borrowed */
    uint8_t sha256[CHAIN_HASH_LEN];
    const char *format; /* "flac", "wav", "opus" as stored; borrowed */
    int32_t sample_rate;
    int16_t channels;
    int32_t duration_ms;
    int64_t bytes;
    int64_t created_at_us;                   /* cs_epoch_us(created_at) */
    uint8_t prev_chain_hash[CHAIN_HASH_LEN]; /* as stored (chain_check_link) */
    uint8_t chain_hash[CHAIN_HASH_LEN];      /* as stored (chain_check_link) */
} chain_row;

/*
 * Writes T for row r into buf (cap bytes, NUL-terminated) and its length
 * (without NUL) into *len (may be NULL). CS_OK, CS_ERR_INVAL (NULL, a uuid
 * that is not canonical lowercase, an empty format or one longer than 16
 * bytes), CS_ERR_OVERFLOW (cap too small).
 */
int chain_text(const chain_row *r, char *buf, size_t cap, size_t *len);

/* chain_hash of row r given the previous chain hash (32 zero bytes for
 * seq 1); r->prev_chain_hash and r->chain_hash are not read. CS_OK,
 * CS_ERR_INVAL, CS_ERR_NOMEM (libcrypto). */
int chain_hash_compute(const uint8_t prev[CHAIN_HASH_LEN], const chain_row *r,
                       uint8_t out[CHAIN_HASH_LEN]);

/* Bits of chain_check_link()'s *faults. */
enum {
    CHAIN_FAULT_SEQ = 1,  /* seq is not the expected one: rows missing or duplicated */
    CHAIN_FAULT_PREV = 2, /* prev_chain_hash is not the previous row's chain_hash */
    CHAIN_FAULT_HASH = 4, /* stored chain_hash differs from the recomputed one: row edited */
};

/*
 * Checks one link: r->seq == expected_seq, r->prev_chain_hash ==
 * expected_prev, r->chain_hash == chain_hash_compute(r->prev_chain_hash, r)
 * (recomputed over the row's own stored prev, so an edit is pinned to the
 * row that was edited). *faults (required) gets the OR of the failed
 * checks. Returns CS_OK (all hold), CS_ERR_INTEGRITY (some fault),
 * CS_ERR_INVAL (bad row fields, e.g. a non-canonical uuid).
 */
int chain_check_link(int64_t expected_seq, const uint8_t expected_prev[CHAIN_HASH_LEN],
                     const chain_row *r, unsigned *faults);

/*
 * Parses a 32-byte digest from hex text s[0..len): 64 hex digits, either
 * case, optionally prefixed by "\x" (PostgreSQL's bytea output). CS_OK or
 * CS_ERR_MALFORMED.
 */
int chain_hex_parse(const char *s, size_t len, uint8_t out[CHAIN_HASH_LEN]);

/* Writes 64 lowercase hex digits and a NUL into hex (65 bytes). */
void chain_hex_format(const uint8_t b[CHAIN_HASH_LEN], char hex[2 * CHAIN_HASH_LEN + 1]);

#endif
