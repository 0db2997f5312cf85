/*
 * fuzz_sipframe.c — libFuzzer target for the SIP framing rule (sip_frame,
 * sip_frame_header, sip_skip_keepalive; capture/tcpreasm.c).
 *
 * The input is the bytes of a UDP datagram or of a TCP stream at a message
 * start. Besides "no crash, no read past the end" (ASan), it checks the
 * documented contract: a framed message lies within the input and within
 * CS_SIP_MAX_MSG; header and body add up; the result does not change when
 * bytes are appended after the message (framing never looks past it); and a
 * framed message frames to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "limits.h"
#include "tcpreasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t k = sip_skip_keepalive(data, size);
    if (k > size)
        abort();
    const uint8_t *p = data + k;
    size_t n = size - k;
    size_t m = 0, h = 0, b = 0;
    int has = -1;

    int rc = sip_frame(p, n, &m);
    int rh = sip_frame_header(p, n, &h, &b, &has);
    if (rc != CS_OK && rc != CS_ERR_TRUNCATED && rc != CS_ERR_MALFORMED && rc != CS_ERR_LIMIT)
        abort();
    if (rc == CS_OK) {
        if (rh != CS_OK || m == 0 || m > n || m > CS_SIP_MAX_MSG || h + b != m || h == 0 ||
            (has != 0 && has != 1) || (!has && b != 0))
            abort();
        /* The message alone frames to itself. */
        size_t m2 = 0;
        if (sip_frame(p, m, &m2) != CS_OK || m2 != m)
            abort();
    } else if (rh == CS_OK) {
        /* Header complete, body missing. */
        if (rc != CS_ERR_TRUNCATED || h + b <= n)
            abort();
    } else if (rh != rc) {
        abort();
    }
    /* Appending bytes never changes a decided result. */
    if (rc != CS_ERR_TRUNCATED && n > 0) {
        uint8_t *q = malloc(n + 64);
        if (!q)
            return 0;
        memcpy(q, p, n);
        memset(q + n, 'Z', 64);
        size_t m3 = 0;
        int r3 = sip_frame(q, n + 64, &m3);
        if (r3 != rc || (rc == CS_OK && m3 != m))
            abort();
        free(q);
    }
    return 0;
}
