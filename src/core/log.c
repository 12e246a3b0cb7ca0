/*
 * log.c - JSON lines on stderr.
 *
 * Each line is built in a stack buffer and written with a single
 * writev(2) together with its newline, so lines from different threads
 * never interleave and no lock is needed. The message is JSON-escaped here,
 * so callers can log any text (paths, SQLite errors) safely.
 */
#include <stddef.h>
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(int level)
{
    if (level >= LOG_DEBUG && level <= LOG_ERROR)
        min_level = level;
}

int log_level_parse(const char *s)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return LOG_WARN;
    return -1;
}

int log_enabled(int level)
{
    return level >= min_level;
}

void log_line(const char *json, size_t len)
{
    struct iovec iov[2] = {{(void *)json, len}, {"\n", 1}};
    while (writev(STDERR_FILENO, iov, 2) == -1 && errno == EINTR)
        ;
}

/* Append s JSON-escaped; returns the new length (stops at cap). */
static size_t escape_into(char *out, size_t len, size_t cap, const char *s)
{
    for (; *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[len++] = '\\';
            out[len++] = (char)c;
        } else if (c == '\n') {
            out[len++] = '\\', out[len++] = 'n';
        } else if (c < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\u%04x", c);
        } else {
            out[len++] = (char)c;
        }
    }
    return len;
}

static size_t timestamp(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    return n + (size_t)snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void log_msg(int level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char msg[2048], line[4600], ts[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    timestamp(ts, sizeof(ts));
    int n = snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts,
                     level_names[level < LOG_DEBUG || level > LOG_ERROR ? LOG_ERROR : level]);
    size_t len = escape_into(line, (size_t)n, sizeof(line) - 3, msg);
    line[len++] = '"';
    line[len++] = '}';
    log_line(line, len);
}

