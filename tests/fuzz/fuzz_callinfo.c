/*
 * fuzz_callinfo.c — decode's call.json reader (decode/callinfo.c) on hostile
 * text: a spool entry is written by capture, but the spool directory is a
 * trust boundary (a full disk, a stray file, a hand edit). Whatever the input,
 * callinfo_parse must return a code, name the field on error, and on success
 * give a struct whose references stay inside its arrays.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callinfo.h"
#include "error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    callinfo *ci = NULL;
    callinfo_error err;
    int rc = callinfo_parse((const char *)data, size, &ci, &err);
    if (rc == CS_OK) {
        if (ci == NULL)
            abort();
        callinfo_free(ci);
    } else {
        if (ci != NULL || rc >= 0)
            abort();
        /* the message is always a terminated string */
        if (strnlen(err.msg, sizeof err.msg) == sizeof err.msg)
            abort();
    }
    return 0;
}
