/*
 * fuzz_sip.c — libFuzzer target for the SIP parser (capture/sip.c).
 *
 * SIP comes off the wire from anyone on the SPAN port. The target parses the
 * input with sip_parse() and then exercises every accessor on what it got:
 * sip_header_get() over every long and compact name (and every index that
 * exists), sip_list_next() over every header value, sip_param() with the
 * names capture uses, sip_uri_user()/sip_uri_of() on From/To/Contact and
 * every header, sip_q850_cause(), and sip_looks_like(). Every cs_str the
 * parser returns is read byte by byte so ASan sees any slice that points
 * outside the input or the scratch. The input is copied into an exactly
 * sized heap buffer so a read one past its end is caught.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sip.h"

static volatile unsigned fz_sink;

static void fz_touch(cs_str s)
{
    unsigned h = 0;
    for (size_t i = 0; i < s.len; i++)
        h = h * 31u + (unsigned char)s.p[i];
    fz_sink += h;
}

static const char *const fz_names[] = {
    "Call-ID", "From", "To", "Via", "Contact", "Content-Length", "Content-Type", "Supported",
    "Subject", "Content-Encoding", "Event", "Refer-To", "Allow-Events", "Referred-By",
    "Identity", "Accept-Contact", "Session-Expires", "CSeq", "Reason", "User-Agent", "Server",
    "i", "f", "t", "v", "m", "l", "c", "k", "s", "e", "o", "r", "u", "b", "y", "a", "x",
    "X-Orig-Call-ID", "Record-Route", "Route", "P-Asserted-Identity", "Diversion",
};
static const char *const fz_params[] = {"tag", "branch", "cause", "text", "received", "rport",
                                        "boundary", "expires", "lr", "user"};

static void fz_value(cs_str v)
{
    cs_str u;
    fz_touch(v);
    if (sip_uri_user(v, &u) == 0)
        fz_touch(u);
    fz_touch(sip_uri_of(v));
    for (size_t k = 0; k < sizeof fz_params / sizeof fz_params[0]; k++)
        if (sip_param(v, fz_params[k], &u))
            fz_touch(u);
    cs_str rest = v, item;
    size_t guard = 0;
    while (sip_list_next(&rest, &item)) {
        fz_touch(item);
        if (sip_uri_user(item, &u) == 0)
            fz_touch(u);
        if (sip_param(item, "tag", &u))
            fz_touch(u);
        if (++guard > v.len + 1)
            abort(); /* sip_list_next must advance */
    }
    fz_sink += (unsigned)sip_q850_cause(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sip_msg m; /* 64 KiB scratch: not on the stack */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    fz_sink += (unsigned)sip_looks_like(buf, size);
    int rc = sip_parse(buf, size, &m);
    if (rc == CS_OK) {
        if (m.nhdr > CS_SIP_MAX_HEADERS || m.scratch_used > sizeof m.scratch)
            abort();
        if (m.body.len > size || (m.is_request && m.method_str.len == 0))
            abort();
        if (!m.is_request && (m.status < 100 || m.status > 699))
            abort();
        fz_touch(m.method_str);
        fz_touch(m.request_uri);
        fz_touch(m.reason);
        fz_touch(m.call_id);
        fz_touch(m.from_tag);
        fz_touch(m.to_tag);
        fz_touch(m.from_user);
        fz_touch(m.to_user);
        fz_touch(m.ruri_user);
        fz_touch(m.via_branch);
        fz_touch(m.content_type);
        fz_touch(m.user_agent);
        fz_touch(m.body);
        fz_touch(cs_str_c(sip_method_name(m.method)));
        fz_touch(cs_str_c(sip_method_name(m.cseq_method)));
        fz_value(m.from);
        fz_value(m.to);
        fz_value(m.contact);
        fz_value(m.reason_hdr);
        fz_value(m.refer_to);
        fz_value(m.request_uri);
        for (size_t i = 0; i < m.nhdr; i++) {
            fz_touch(m.hdr[i].name);
            fz_value(m.hdr[i].value);
        }
        for (size_t n = 0; n < sizeof fz_names / sizeof fz_names[0]; n++) {
            for (size_t idx = 0;; idx++) {
                cs_str v = sip_header_get(&m, fz_names[n], idx);
                if (!v.p)
                    break;
                fz_touch(v);
                if (idx > m.nhdr)
                    abort();
            }
        }
    }
    free(buf);
    return 0;
}
