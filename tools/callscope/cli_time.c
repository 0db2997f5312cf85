/*
 * cli_time.c — see cli_time.h.
 */
#include "cli_time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int read_digits(const char *s, size_t len, size_t *i, int n, int *v)
{
    int x = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || !isdigit((unsigned char)s[*i]))
            return -1;
        x = x * 10 + (s[(*i)++] - '0');
    }
    *v = x;
    return 0;
}

static int month_days(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t civil_to_days(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

/* The inverse of civil_to_days. */
static void days_to_civil(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/*
 * Parses TIME: YYYY-MM-DD, or YYYY-MM-DD[T| ]HH:MM[:SS[.f{1,6}]] with an
 * optional Z, +HH:MM, +HHMM or +HH (or -) offset; no offset is UTC. Sets
 * *us (microseconds since 1970 UTC) and *date_only. 0 or -1.
 */
int cli_parse_time(const char *s, int64_t *us, int *date_only)
{
    size_t len = strlen(s), i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0, off = 0;
    if (read_digits(s, len, &i, 4, &y) || i >= len || s[i++] != '-' ||
        read_digits(s, len, &i, 2, &mo) || i >= len || s[i++] != '-' ||
        read_digits(s, len, &i, 2, &d))
        return -1;
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return -1;
    *date_only = i == len;
    if (i < len) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return -1;
        i++;
        if (read_digits(s, len, &i, 2, &h) || i >= len || s[i++] != ':' ||
            read_digits(s, len, &i, 2, &mi))
            return -1;
        if (i < len && s[i] == ':') {
            i++;
            if (read_digits(s, len, &i, 2, &sec))
                return -1;
            if (i < len && s[i] == '.') {
                i++;
                int n = 0;
                for (int64_t scale = 100000; i < len && isdigit((unsigned char)s[i]); scale /= 10) {
                    if (++n > 6)
                        return -1; /* finer than the database keeps: refuse, do not round */
                    frac += (s[i++] - '0') * scale;
                }
                if (n == 0)
                    return -1;
            }
        }
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
        if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
            int neg = s[i++] == '-', oh, om = 0;
            if (read_digits(s, len, &i, 2, &oh))
                return -1;
            if (i < len && s[i] == ':')
                i++;
            if (i < len && read_digits(s, len, &i, 2, &om))
                return -1;
            if (oh > 23 || om > 59)
                return -1;
            off = (neg ? -1 : 1) * (oh * 3600 + om * 60);
        }
        if (i != len)
            return -1;
    }
    *us = (civil_to_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off) * 1000000 + frac;
    return 0;
}

void cli_format_utc(int64_t us, cli_utc_style style, char *out, size_t cap)
{
    int64_t s = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t f = us - s * 1000000;
    int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
    int64_t sod = s - days * 86400;
    int y, m, d;
    days_to_civil(days, &y, &m, &d);
    int hh = (int)(sod / 3600), mm = (int)(sod / 60 % 60), ss = (int)(sod % 60);
    switch (style) {
    case CLI_UTC_PG_US:
        snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00", y, m, d, hh, mm, ss, (int)f);
        break;
    case CLI_UTC_PG:
        snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d+00", y, m, d, hh, mm, ss);
        break;
    case CLI_UTC_ISO:
        snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, hh, mm, ss);
        break;
    }
}
