/*
 * qrsvg.c - QR matrix (libqrencode) to SVG text. Runs of dark modules on a
 * row are merged into one path segment, which keeps a ticket's SVG around
 * 2-4 KB instead of one <rect> per module.
 */
#include "api/qrsvg.h"

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>

static void write_runs(FILE *f, const QRcode *qr)
{
    int w = qr->width;
    for (int y = 0; y < w; y++) {
        int x = 0;
        while (x < w) {
            if (!(qr->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int start = x;
            while (x < w && (qr->data[y * w + x] & 1))
                x++;
            fprintf(f, "M%d %dh%dv1h-%dz", start + QRSVG_QUIET, y + QRSVG_QUIET, x - start, x - start);
        }
    }
}

char *qrsvg_render(const char *text, size_t *len)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return NULL;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) {
        QRcode_free(qr);
        return NULL;
    }
    int size = qr->width + 2 * QRSVG_QUIET;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 %d %d\" "
            "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
            size, size, size * 8, size * 8, size, size);
    write_runs(f, qr);
    fputs("\"/></svg>\n", f);
    QRcode_free(qr);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}
