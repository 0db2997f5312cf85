/*
 * cli_time.h — the umbrella CLI's --from/--to arguments (calls, report, verify).
 *
 * cli_parse_time reads YYYY-MM-DD, or YYYY-MM-DD[T| ]HH:MM[:SS[.f{1,6}]] with
 * an optional Z, +HH:MM, +HHMM or +HH (or -) offset; no offset is UTC. It
 * sets *us (microseconds since 1970 UTC) and *date_only (a bare date, which
 * callers widen to the whole day for --to). A finer fraction than
 * microseconds is refused, not rounded. 0 or -1.
 *
 * cli_format_utc writes a time as a literal PostgreSQL reads the same
 * whatever its TimeZone, or as ISO 8601 for people. No state, no allocation.
 */
#ifndef CALLSCOPE_CLI_TIME_H
#define CALLSCOPE_CLI_TIME_H

#include <stddef.h>
#include <stdint.h>

typedef enum cli_utc_style {
    CLI_UTC_PG_US, /* "YYYY-MM-DD HH:MM:SS.ffffff+00" */
    CLI_UTC_PG,    /* "YYYY-MM-DD HH:MM:SS+00" (whole seconds) */
    CLI_UTC_ISO    /* "YYYY-MM-DDTHH:MM:SSZ" (whole seconds) */
} cli_utc_style;

int cli_parse_time(const char *s, int64_t *us, int *date_only);
void cli_format_utc(int64_t us, cli_utc_style style, char *out, size_t cap);

#endif
