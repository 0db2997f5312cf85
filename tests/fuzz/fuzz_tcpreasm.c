/*
 * fuzz_tcpreasm.c — libFuzzer target for TCP reassembly (capture/tcpreasm.c).
 *
 * The input is a script. Byte 0 picks the limits (tiny or default flow
 * byte cap, 1..4 flows, hole timeout). Then records:
 *
 *   op     1 byte: bits 0-1 flow (4 connections), bit 2 direction,
 *                  bits 3-4 what: 0 segment, 1 segment with a 32-bit seq,
 *                  2 expire, 3 segment with the flags byte taken as is
 *   arg    segment: seq offset (int16, from the direction's running base)
 *                   or 4 bytes of absolute seq; flags (1 byte: FIN SYN RST
 *                   PSH ACK bits); length (1 byte, x 4); time step (1 byte);
 *                   then that many payload bytes from the input.
 *          expire:  time step (2 bytes, ms)
 *
 * The running base of each direction starts near 2^32 so sequence wrap is
 * exercised, and advances with each segment so in-order streams are common.
 * Oracle (beyond ASan/UBSan and the leak checker): every message handed to
 * the callback is non-empty, at most CS_SIP_MAX_MSG bytes, and frames to
 * exactly itself with sip_frame(); timestamps never exceed the latest time
 * fed; the flow count never exceeds max_flows.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "limits.h"
#include "tcpreasm.h"

typedef struct fz_state {
    uint64_t now;
    uint64_t msgs;
} fz_state;

static void fz_msg(void *arg, uint64_t ts_us, const pkt_info *info, const uint8_t *msg, size_t len)
{
    fz_state *st = arg;
    size_t m = 0;
    if (len == 0 || len > CS_SIP_MAX_MSG || !info || ts_us > st->now)
        abort();
    if (sip_frame(msg, len, &m) != CS_OK || m != len)
        abort();
    st->msgs++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fz_state st = {0};
    tcpreasm_limits lim;
    uint8_t cfg = data[0];
    memset(&lim, 0, sizeof lim);
    lim.max_flows = 1 + (cfg & 3);
    lim.max_flow_bytes = (cfg & 4) ? 600 : CS_DEF_TCP_MAX_FLOW_BYTES;
    lim.idle_us = 5000000;
    lim.hole_us = (cfg & 8) ? 1000 : 0;
    tcpreasm *t = tcpreasm_new(&lim, fz_msg, &st);
    if (!t)
        return 0;

    uint32_t base[8];
    for (int i = 0; i < 8; i++)
        base[i] = 0xFFFFFF00u + (uint32_t)i * 16u;
    size_t pos = 1;
    st.now = 1000;
    while (pos < size) {
        uint8_t op = data[pos++];
        int flow = op & 3, dir = (op >> 2) & 1, what = (op >> 3) & 3;
        int idx = flow * 2 + dir;
        if (what == 2) {
            if (pos + 2 > size)
                break;
            st.now += ((uint64_t)data[pos] << 8 | data[pos + 1]) * 1000u;
            pos += 2;
            tcpreasm_expire(t, st.now);
            continue;
        }
        uint32_t seq;
        if (what == 1) {
            if (pos + 4 > size)
                break;
            seq = (uint32_t)data[pos] << 24 | (uint32_t)data[pos + 1] << 16 |
                  (uint32_t)data[pos + 2] << 8 | data[pos + 3];
            pos += 4;
        } else {
            if (pos + 2 > size)
                break;
            int16_t off = (int16_t)((uint16_t)data[pos] << 8 | data[pos + 1]);
            seq = base[idx] + (uint32_t)(int32_t)off;
            pos += 2;
        }
        if (pos + 3 > size)
            break;
        uint8_t flags = data[pos];
        if (what != 3)
            flags &= 0x1f;
        size_t len = (size_t)data[pos + 1] * 4u;
        st.now += data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;

        pkt_info in;
        memset(&in, 0, sizeof in);
        in.family = (flow == 3) ? AF_INET6 : AF_INET;
        in.src[0] = 10;
        in.src[3] = (uint8_t)(1 + dir);
        in.dst[0] = 10;
        in.dst[3] = (uint8_t)(2 - dir);
        in.proto = PKT_PROTO_TCP;
        in.sport = dir ? 5060 : (uint16_t)(40000 + flow);
        in.dport = dir ? (uint16_t)(40000 + flow) : 5060;
        in.tcp_seq = seq;
        in.tcp_flags = flags;
        in.payload = len ? data + pos : NULL;
        in.payload_len = len;
        int rc = tcpreasm_add(t, st.now, &in);
        if (rc != CS_OK && rc != CS_ERR_MALFORMED && rc != CS_ERR_LIMIT && rc != CS_ERR_NOMEM)
            abort();
        pos += len;
        base[idx] = seq + (uint32_t)len + ((flags & 0x02) ? 1u : 0u);

        tcpreasm_stats s;
        tcpreasm_get_stats(t, &s);
        if (s.flows > lim.max_flows || s.messages != st.msgs)
            abort();
    }
    tcpreasm_free(t);
    return 0;
}
