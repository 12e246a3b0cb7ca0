/*
 * test_qrsvg.c - api/qrsvg.c: the SVG is a complete document whose path
 * draws exactly libqrencode's dark modules, offset by the quiet zone.
 */
#include "unit.h"

#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include "api/qrsvg.h"

/* Paint the path's "M<x> <y>h<n>v1h-<n>z" runs into a size x size grid;
 * -1 on anything else in the path. */
static int paint(const char *d, unsigned char *grid, int size)
{
    while (*d && *d != '"') {
        int x, y, n, n2, used;
        if (sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &n, &n2, &used) != 4 || n != n2 || n < 1 || y < 0 ||
            y >= size || x < 0 || x + n > size)
            return -1;
        for (int i = 0; i < n; i++)
            grid[y * size + x + i]++;
        d += used;
    }
    return 0;
}

static void draws_the_matrix(void)
{
    const char *code = "K7Q2M9XW4RT8ZP3HN6VB5JC2DF";
    size_t len = 0;
    char *svg = qrsvg_render(code, &len);
    CHECK(svg != NULL);
    if (!svg)
        return;
    CHECK_INT(len, strlen(svg));
    CHECK(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    CHECK(len > 7 && strcmp(svg + len - 7, "</svg>\n") == 0);

    QRcode *qr = QRcode_encodeString(code, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    int w = qr->width, size = w + 2 * QRSVG_QUIET;
    char view[64];
    snprintf(view, sizeof(view), "viewBox=\"0 0 %d %d\"", size, size);
    CHECK(strstr(svg, view) != NULL);

    unsigned char *grid = calloc((size_t)size * size, 1);
    const char *d = strstr(svg, " d=\"");
    CHECK(d != NULL);
    CHECK(d && paint(d + 4, grid, size) == 0);
    int dark = 0, mismatches = 0;
    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            int inside = x >= QRSVG_QUIET && x < QRSVG_QUIET + w && y >= QRSVG_QUIET && y < QRSVG_QUIET + w;
            int want = inside && (qr->data[(y - QRSVG_QUIET) * w + (x - QRSVG_QUIET)] & 1);
            dark += want;
            mismatches += grid[y * size + x] != want;
        }
    }
    CHECK(dark > w); /* a real code, not an empty one */
    CHECK_INT(mismatches, 0);
    free(grid);
    QRcode_free(qr);
    free(svg);
}

static void distinct_codes_differ(void)
{
    char *a = qrsvg_render("AAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
    char *b = qrsvg_render("AAAAAAAAAAAAAAAAAAAAAAAAAB", NULL);
    CHECK(a && b && strcmp(a, b) != 0);
    free(a);
    free(b);
}

void qrsvg_tests(void)
{
    RUN(draws_the_matrix);
    RUN(distinct_codes_differ);
}
