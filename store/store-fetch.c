/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Whole small files (manifests, signatures, indexes, deltas) from a path or
 * an http(s) URL, with the stores' TLS and authentication options. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "cadu-store.h"

typedef struct sink {
        cadu_buf *b;
        size_t max;
        bool too_big;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
        sink *s = ud;
        size_t len = size * n;
        if (s->b->len + len > s->max) {
                s->too_big = true;
                return 0;
        }
        return cadu_buf_append(s->b, p, len) < 0 ? 0 : len;
}

bool cadu_url_same_origin(const char *a, const char *b) {
        char *part[2][3] = { { NULL } };
        const char *url[2] = { a, b };
        bool same = true;
        for (int i = 0; i < 2; i++) {
                CURLU *u = curl_url();
                if (!u || curl_url_set(u, CURLUPART_URL, url[i], 0) != CURLUE_OK ||
                    curl_url_get(u, CURLUPART_SCHEME, &part[i][0], 0) != CURLUE_OK ||
                    curl_url_get(u, CURLUPART_HOST, &part[i][1], 0) != CURLUE_OK ||
                    curl_url_get(u, CURLUPART_PORT, &part[i][2], CURLU_DEFAULT_PORT) != CURLUE_OK)
                        same = false;
                curl_url_cleanup(u);
        }
        for (int k = 0; k < 3; k++) {
                if (same && (!part[0][k] || !part[1][k] || strcasecmp(part[0][k], part[1][k]) != 0))
                        same = false;
                curl_free(part[0][k]);
                curl_free(part[1][k]);
        }
        return same;
}

int cadu_redirect_check(const char *from, const char *to, unsigned hops, unsigned max) {
        if (hops > max)
                return -ELOOP;
        if (strncmp(to, "https://", 8) != 0 && (strncmp(to, "http://", 7) != 0 || !strncmp(from, "https://", 8)))
                return -EPROTONOSUPPORT;
        return 0;
}

static int fetch_url(const char *url, const cadu_store_options *o, size_t max, cadu_buf *out, char **errmsg) {
        static const cadu_store_options none = { 0 };
        char errbuf[CURL_ERROR_SIZE] = "";
        struct curl_slist *headers = NULL;
        long status = 0;
        int r = -EIO;
        /* Redirects are followed here, not by libcurl, which would send the
         * configured headers and client certificate to any host. */
        char *cur = NULL;
        unsigned hops = 0;

        if (!o)
                o = &none;
        CURL *e = curl_easy_init();
        if (!e)
                return -ENOMEM;
        for (const char *const *h = o->headers; h && *h; h++) {
                struct curl_slist *n = curl_slist_append(headers, *h);
                if (!n) {
                        r = -ENOMEM;
                        goto out;
                }
                headers = n;
        }
        /* --retries 0 (CADU_STORE_RETRIES_NONE) is one attempt, not none. */
        unsigned attempts = o->retries == CADU_STORE_RETRIES_NONE ? 1 : (o->retries ? o->retries : 5) + 1;
        unsigned max_redirects = o->max_redirects ? o->max_redirects : 5;
        /* One deadline for the whole fetch, retries and redirects included:
         * a server that keeps a small file coming just fast enough to pass
         * the speed check still cannot hold the command for ever. */
        uint64_t deadline_s = o->deadline_s ? CADU_MIN(o->deadline_s, (uint64_t)100 * 365 * 86400)
                                            : CADU_FETCH_DEADLINE_DEFAULT_S;
        uint64_t deadline_ns = cadu_now_ns() + deadline_s * 1000000000ULL;
        bool past_deadline = false;
        for (unsigned a = 0; a < attempts; a++) {
                uint64_t now = cadu_now_ns();
                if (now >= deadline_ns) {
                        past_deadline = true;
                        r = -ETIMEDOUT;
                        break;
                }
                sink s = { out, max, false };
                bool origin = !cur || cadu_url_same_origin(url, cur);
                out->len = 0;
                errbuf[0] = 0;
                curl_easy_reset(e);
                curl_easy_setopt(e, CURLOPT_URL, cur ? cur : url);
                curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
                curl_easy_setopt(e, CURLOPT_WRITEDATA, &s);
                curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
                curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(e, CURLOPT_USERAGENT, "cadu/" PACKAGE_VERSION);
                /* Configured headers and the client certificate only for
                 * the configured origin. */
                curl_easy_setopt(e, CURLOPT_HTTPHEADER, origin ? headers : NULL);
                curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
                curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)(o->connect_timeout_s ? o->connect_timeout_s : 15));
                /* curl averages the speed over LOW_SPEED_TIME: a drip of a
                 * byte now and then is cut off too, not only silence. */
                curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT,
                                 (long)CADU_MIN(o->low_speed_limit ? o->low_speed_limit
                                                                   : CADU_STORE_LOW_SPEED_LIMIT_DEFAULT,
                                                (uint64_t)LONG_MAX));
                curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)(o->low_speed_time_s ? o->low_speed_time_s : 30));
                curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                                 (long)CADU_MIN((deadline_ns - now) / 1000000ULL + 1, (uint64_t)LONG_MAX));
                curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
                curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, o->insecure ? 0L : 1L);
                curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, o->insecure ? 0L : 2L);
                if (o->ca_file)
                        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
                if (o->client_cert && origin)
                        curl_easy_setopt(e, CURLOPT_SSLCERT, o->client_cert);
                if (o->client_key && origin)
                        curl_easy_setopt(e, CURLOPT_SSLKEY, o->client_key);
                if (o->rate_limit)
                        curl_easy_setopt(e, CURLOPT_MAX_RECV_SPEED_LARGE, (curl_off_t)o->rate_limit);
                CURLcode c = curl_easy_perform(e);
                status = 0;
                curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
                char *loc = NULL;
                if (c == CURLE_OK && (status == 301 || status == 302 || status == 303 || status == 307 ||
                                      status == 308) &&
                    curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc) {
                        r = cadu_redirect_check(cur ? cur : url, loc, ++hops, max_redirects);
                        if (r < 0) {
                                if (r == -ELOOP)
                                        snprintf(errbuf, sizeof(errbuf), "more than %u redirects", max_redirects);
                                else
                                        snprintf(errbuf, sizeof(errbuf),
                                                 "redirect to %.120s refused (to http(s) only, never from https to http)",
                                                 loc);
                                break;
                        }
                        char *n = strdup(loc);
                        if (!n) {
                                r = -ENOMEM;
                                break;
                        }
                        free(cur);
                        cur = n;
                        a--;            /* a hop, not an attempt */
                        continue;
                }
                if (c == CURLE_OK && status == 200) {
                        r = 0;
                        break;
                }
                if (s.too_big || c == CURLE_FILESIZE_EXCEEDED) {
                        r = -EFBIG;
                        break;
                }
                if (c == CURLE_OK && status == 404) {
                        r = -ENOENT;
                        break;
                }
                if (c == CURLE_OK && (status == 401 || status == 403)) {
                        r = -EACCES;
                        break;
                }
                if (c == CURLE_OK && status < 500) {
                        r = -EPROTO;
                        break;
                }
                /* 5xx and transport errors: retry with backoff. */
                r = c == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
                  : c == CURLE_COULDNT_CONNECT ? -ECONNREFUSED
                  : c == CURLE_COULDNT_RESOLVE_HOST || c == CURLE_COULDNT_RESOLVE_PROXY ? -EHOSTUNREACH
                  : c == CURLE_TOO_MANY_REDIRECTS ? -ELOOP
                  : -EIO;
                if (c == CURLE_SSL_CACERT || c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CERTPROBLEM ||
                    c == CURLE_SSL_CONNECT_ERROR || c == CURLE_UNSUPPORTED_PROTOCOL) {
                        r = -EPROTO;
                        break;
                }
                if (c == CURLE_TOO_MANY_REDIRECTS)
                        break;
                if (c == CURLE_OPERATION_TIMEDOUT && cadu_now_ns() >= deadline_ns) {
                        past_deadline = true;
                        break;
                }
                if (a + 1 < attempts)
                        usleep((useconds_t)(100000u << (a < 5 ? a : 5)));
        }
        if (r < 0 && errmsg) {
                if (past_deadline)
                        r = asprintf(errmsg, "GET %s: deadline of %llu s reached", url,
                                     (unsigned long long)deadline_s) < 0 ? -ENOMEM : r;
                else if (errbuf[0])
                        r = asprintf(errmsg, "GET %s: %s", url, errbuf) < 0 ? -ENOMEM : r;
                else if (status)
                        r = asprintf(errmsg, "GET %s: HTTP %ld", url, status) < 0 ? -ENOMEM : r;
        }
out:
        free(cur);
        curl_slist_free_all(headers);
        curl_easy_cleanup(e);
        return r;
}

int cadu_fetch(const char *location, const cadu_store_options *opts, size_t max, cadu_buf *out, char **errmsg) {
        if (errmsg)
                *errmsg = NULL;
        out->len = 0;
        if (cadu_location_is_url(location))
                return fetch_url(location, opts, max, out, errmsg);
        uint8_t *data;
        size_t len;
        int r = cadu_read_file(location, max, &data, &len);
        if (r < 0)
                return r;
        cadu_buf_free(out);
        out->data = data;
        out->len = len;
        out->alloc = len + 1;
        return 0;
}
