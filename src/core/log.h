/*
 * log.h - one JSON object per line on stderr.
 *
 * log_msg() is for events ("listening", "store error"); the HTTP layer
 * writes access lines itself with log_line(). Lines are built in a local
 * buffer and written with one write(2), so threads never interleave.
 */
#ifndef TIXIN_CORE_LOG_H
#define TIXIN_CORE_LOG_H

#include <stddef.h>

enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(int level);
int log_level_parse(const char *s); /* -1 when unknown */
int log_enabled(int level);
/* {"ts":..., "level":..., "msg": fmt...} */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write a complete, already formatted JSON line (without newline). */
void log_line(const char *json, size_t len);

#endif
