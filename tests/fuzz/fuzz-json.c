/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON string escaping (cadu_json_string) of arbitrary bytes, as file names
 * reach --json output: the output is always one well-formed JSON string
 * literal in strict UTF-8 (no raw control character, quote or backslash,
 * only valid escapes), and input that is valid UTF-8 decodes back to itself.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

bool cadu_quiet, cadu_json;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Well-formed UTF-8 sequence length at p (n bytes left), or 0. */
static size_t u8len(const unsigned char *p, size_t n) {
        unsigned char c = p[0];
        size_t k;
        unsigned cp, min;
        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                k = 2, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
                k = 3, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
                k = 4, cp = c & 0x07, min = 0x10000;
        else
                return 0;
        if (k > n)
                return 0;
        for (size_t i = 1; i < k; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (p[i] & 0x3f);
        }
        return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : k;
}

static int hexval(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size > 4096)
                return 0;
        char *in = malloc(size + 1), *out = NULL, *dec;
        size_t outlen = 0, dlen = 0;
        if (!in)
                abort();
        memcpy(in, data, size);
        in[size] = 0;
        size_t inlen = strlen(in);      /* C strings end at the first NUL */
        FILE *f = open_memstream(&out, &outlen);
        if (!f)
                abort();
        cadu_json_string(f, in);
        fclose(f);
        const unsigned char *o = (const unsigned char *)out;
        if (outlen < 2 || o[0] != '"' || o[outlen - 1] != '"')
                abort();
        dec = malloc(outlen + 1);
        if (!dec)
                abort();
        bool utf8 = true;
        for (size_t i = 0; i < inlen;) {
                size_t k = u8len((const unsigned char *)in + i, inlen - i);
                if (!k) {
                        utf8 = false;
                        break;
                }
                i += k;
        }
        for (size_t i = 1; i < outlen - 1;) {
                unsigned char c = o[i];
                if (c < 0x20 || c == '"')
                        abort();
                if (c == '\\') {
                        char e = (char)o[i + 1];
                        if (e == '"' || e == '\\') {
                                dec[dlen++] = e;
                                i += 2;
                        } else if (e == 'u' && i + 5 < outlen - 1 + 1) {
                                int v = 0;
                                for (int j = 0; j < 4; j++) {
                                        int h = hexval((char)o[i + 2 + j]);
                                        if (h < 0)
                                                abort();
                                        v = v << 4 | h;
                                }
                                if (v >= 0xd800 && v <= 0xdfff)
                                        abort();        /* no lone surrogates */
                                if (v < 0x80)
                                        dec[dlen++] = (char)v;
                                else
                                        utf8 = false;   /* U+FFFD: no round trip */
                                i += 6;
                        } else
                                abort();
                        continue;
                }
                size_t k = u8len(o + i, outlen - 1 - i);
                if (!k)
                        abort();                /* raw output is strict UTF-8 */
                memcpy(dec + dlen, o + i, k);
                dlen += k;
                i += k;
        }
        if (utf8 && (dlen != inlen || memcmp(dec, in, inlen) != 0))
                abort();
        free(dec);
        free(out);
        free(in);
        return 0;
}
