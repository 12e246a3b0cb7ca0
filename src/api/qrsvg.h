/*
 * qrsvg.h - a QR code as an SVG document (pure: no I/O, no request).
 *
 * Kept apart from the ticket handler so the rendering can be unit-tested
 * against libqrencode's own module matrix.
 */
#ifndef TIXIN_API_QRSVG_H
#define TIXIN_API_QRSVG_H

#include <stddef.h>

#define QRSVG_QUIET 4 /* modules of white border on each side */

/* SVG of text as a QR code (error correction level M, 8-bit mode), one
 * unit per module, a QRSVG_QUIET-module quiet zone, the dark modules as
 * one <path> of horizontal runs "M<x> <y>h<n>v1h-<n>z". Returns a malloc'd
 * NUL-terminated string (length in *len when len != NULL), or NULL when
 * text cannot be encoded. */
char *qrsvg_render(const char *text, size_t *len);

#endif
