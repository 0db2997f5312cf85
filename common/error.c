/*
 * error.c — names and messages of the cs_err codes.
 *
 * Both lookups are generated from CS_ERR_MAP in error.h, so a code added to
 * the map is named here without touching this file. The strings are static;
 * an unknown value gets a fixed placeholder so callers never see NULL.
 */
#include "error.h"

const char *cs_err_name(int err)
{
    switch (err) {
#define CS_ERR_NAME_(name, value, msg)                                                             \
    case value:                                                                                    \
        return #name;
        CS_ERR_MAP(CS_ERR_NAME_)
#undef CS_ERR_NAME_
    default:
        return "CS_ERR_UNKNOWN";
    }
}

const char *cs_err_msg(int err)
{
    switch (err) {
#define CS_ERR_MSG_(name, value, msg)                                                              \
    case value:                                                                                    \
        return msg;
        CS_ERR_MAP(CS_ERR_MSG_)
#undef CS_ERR_MSG_
    default:
        return "unknown error";
    }
}
