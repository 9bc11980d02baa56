/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* storeopts.c - store and network options: the settings behind the
 * commands' options and the [store] keys of cadu.conf. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cadu-util.h"
#include "storeopts.h"

#define STR_(x) #x
#define STR(x) STR_(x)


static const char *const names[] = {
        [CADU_STOREOPT_MAX_TRANSFERS - CADU_STOREOPT_FIRST] = "max-transfers",
        [CADU_STOREOPT_RATE_LIMIT - CADU_STOREOPT_FIRST] = "rate-limit",
        [CADU_STOREOPT_RETRIES - CADU_STOREOPT_FIRST] = "retries",
        [CADU_STOREOPT_CONNECT_TIMEOUT - CADU_STOREOPT_FIRST] = "connect-timeout",
        [CADU_STOREOPT_LOW_SPEED_TIME - CADU_STOREOPT_FIRST] = "low-speed-time",
        [CADU_STOREOPT_LOW_SPEED_LIMIT - CADU_STOREOPT_FIRST] = "low-speed-limit",
        [CADU_STOREOPT_DEADLINE - CADU_STOREOPT_FIRST] = "deadline",
        [CADU_STOREOPT_MAX_REDIRECTS - CADU_STOREOPT_FIRST] = "max-redirects",
        [CADU_STOREOPT_CA_FILE - CADU_STOREOPT_FIRST] = "ca-file",
        [CADU_STOREOPT_CLIENT_CERT - CADU_STOREOPT_FIRST] = "client-cert",
        [CADU_STOREOPT_CLIENT_KEY - CADU_STOREOPT_FIRST] = "client-key",
        [CADU_STOREOPT_HEADER - CADU_STOREOPT_FIRST] = "header",
        [CADU_STOREOPT_INSECURE - CADU_STOREOPT_FIRST] = "insecure",
};

/* What a bad value of each option should have looked like. */
static const char *const expected[] = {
        [CADU_STOREOPT_MAX_TRANSFERS - CADU_STOREOPT_FIRST] =
                "a number from " STR(CADU_STOREOPT_MAX_TRANSFERS_MIN) " to " STR(CADU_STOREOPT_MAX_TRANSFERS_MAX),
        [CADU_STOREOPT_RATE_LIMIT - CADU_STOREOPT_FIRST] = "bytes per second, K/M/G suffixes allowed",
        [CADU_STOREOPT_RETRIES - CADU_STOREOPT_FIRST] =
                "a number from " STR(CADU_STOREOPT_RETRIES_MIN) " to " STR(CADU_STOREOPT_RETRIES_MAX),
        [CADU_STOREOPT_CONNECT_TIMEOUT - CADU_STOREOPT_FIRST] =
                "seconds, " STR(CADU_STOREOPT_SECONDS_MIN) " to " STR(CADU_STOREOPT_SECONDS_MAX),
        [CADU_STOREOPT_LOW_SPEED_TIME - CADU_STOREOPT_FIRST] =
                "seconds, " STR(CADU_STOREOPT_SECONDS_MIN) " to " STR(CADU_STOREOPT_SECONDS_MAX),
        [CADU_STOREOPT_LOW_SPEED_LIMIT - CADU_STOREOPT_FIRST] = "bytes per second (at least 1), K/M suffixes allowed",
        [CADU_STOREOPT_DEADLINE - CADU_STOREOPT_FIRST] = "seconds, at least 1",
        [CADU_STOREOPT_MAX_REDIRECTS - CADU_STOREOPT_FIRST] =
                "a number from " STR(CADU_STOREOPT_MAX_REDIRECTS_MIN) " to " STR(CADU_STOREOPT_MAX_REDIRECTS_MAX),
        [CADU_STOREOPT_CA_FILE - CADU_STOREOPT_FIRST] = "a readable PEM file",
        [CADU_STOREOPT_CLIENT_CERT - CADU_STOREOPT_FIRST] = "a readable PEM file",
        [CADU_STOREOPT_CLIENT_KEY - CADU_STOREOPT_FIRST] = "a readable PEM file",
        [CADU_STOREOPT_HEADER - CADU_STOREOPT_FIRST] = "'Name: value' with a token name and no line breaks",
        [CADU_STOREOPT_INSECURE - CADU_STOREOPT_FIRST] = "yes or no",
};

static int parse_bool(const char *v, bool *ret) {
        static const char *const yes[] = { "1", "yes", "true", "on" };
        static const char *const no[] = { "0", "no", "false", "off" };

        if (!v) {
                *ret = true;
                return 0;
        }
        for (size_t i = 0; i < CADU_ELEMENTSOF(yes); i++) {
                if (!strcasecmp(v, yes[i])) {
                        *ret = true;
                        return 0;
                }
                if (!strcasecmp(v, no[i])) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static int set_file(char **field, const char **opt, const char *v) {
        char *copy;

        if (!v || !v[0])
                return -EINVAL;
        if (access(v, R_OK) < 0)
                return -errno;
        copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        *opt = copy;
        return 0;
}

static int add_header(cadu_storeopts *o, const char *v) {
        char **l, *copy;

        if (!v || cadu_store_http_validate_header(v) < 0)
                return -EINVAL;
        copy = strdup(v);
        if (!copy)
                return -ENOMEM;
        l = realloc(o->headers, (o->n_headers + 2) * sizeof(char *));
        if (!l) {
                free(copy);
                return -ENOMEM;
        }
        l[o->n_headers++] = copy;
        l[o->n_headers] = NULL;
        o->headers = l;
        o->opts.headers = (const char *const *) l;
        return 0;
}

static int set_uint(const char *v, uint64_t min, uint64_t max, unsigned *ret) {
        uint64_t n;
        int r;

        if (!v)
                return -EINVAL;
        r = cadu_parse_uint(v, min, max, &n);
        if (r < 0)
                return r;
        *ret = (unsigned) n;
        return 0;
}

static int set_by_index(cadu_storeopts *o, int i, const char *v) {
        cadu_store_options *so = &o->opts;
        uint64_t n;
        int r;

        switch (i + CADU_STOREOPT_FIRST) {
        case CADU_STOREOPT_MAX_TRANSFERS:
                return set_uint(v, CADU_STOREOPT_MAX_TRANSFERS_MIN, CADU_STOREOPT_MAX_TRANSFERS_MAX,
                                &so->max_transfers);
        case CADU_STOREOPT_LOW_SPEED_LIMIT:
                if (!v)
                        return -EINVAL;
                if ((r = cadu_parse_size(v, &n)) < 0)
                        return r;
                if (n == 0)
                        return -ERANGE;
                so->low_speed_limit = n;
                return 0;
        case CADU_STOREOPT_RATE_LIMIT: {
                char buf[64];
                size_t l;

                if (!v || (l = strlen(v)) >= sizeof(buf))
                        return -EINVAL;
                memcpy(buf, v, l + 1);
                /* "512K/s" reads as well as "512K". */
                if (l > 2 && !strcasecmp(buf + l - 2, "/s"))
                        buf[l - 2] = 0;
                r = cadu_parse_size(buf, &n);
                if (r < 0)
                        return r;
                if (n == 0)
                        return -ERANGE;
                so->rate_limit = n;
                return 0;
        }
        case CADU_STOREOPT_RETRIES:
                if ((r = set_uint(v, CADU_STOREOPT_RETRIES_MIN, CADU_STOREOPT_RETRIES_MAX, &so->retries)) == 0 &&
                    so->retries == 0)
                        so->retries = CADU_STORE_RETRIES_NONE;
                return r;
        case CADU_STOREOPT_CONNECT_TIMEOUT:
                return set_uint(v, CADU_STOREOPT_SECONDS_MIN, CADU_STOREOPT_SECONDS_MAX, &so->connect_timeout_s);
        case CADU_STOREOPT_LOW_SPEED_TIME:
                return set_uint(v, CADU_STOREOPT_SECONDS_MIN, CADU_STOREOPT_SECONDS_MAX, &so->low_speed_time_s);
        case CADU_STOREOPT_DEADLINE:
                if (!v)
                        return -EINVAL;
                r = cadu_parse_uint(v, 1, CADU_STOREOPT_DEADLINE_MAX, &n);
                if (r < 0)
                        return r;
                so->deadline_s = n;
                return 0;
        case CADU_STOREOPT_MAX_REDIRECTS:
                return set_uint(v, CADU_STOREOPT_MAX_REDIRECTS_MIN, CADU_STOREOPT_MAX_REDIRECTS_MAX,
                                &so->max_redirects);
        case CADU_STOREOPT_CA_FILE:
                return set_file(&o->ca_file, &so->ca_file, v);
        case CADU_STOREOPT_CLIENT_CERT:
                return set_file(&o->client_cert, &so->client_cert, v);
        case CADU_STOREOPT_CLIENT_KEY:
                return set_file(&o->client_key, &so->client_key, v);
        case CADU_STOREOPT_HEADER:
                return add_header(o, v);
        case CADU_STOREOPT_INSECURE:
                return parse_bool(v, &so->insecure);
        default:
                return -ENOKEY;
        }
}

int cadu_storeopts_set(cadu_storeopts *o, const char *key, const char *value) {
        if (!o || !key)
                return -EINVAL;
        for (size_t i = 0; i < CADU_ELEMENTSOF(names); i++)
                if (!strcmp(key, names[i]))
                        return set_by_index(o, (int) i, value);
        return -ENOKEY;
}

int cadu_storeopts_apply(cadu_storeopts *o, int opt, const char *arg) {
        if (!o || opt < CADU_STOREOPT_FIRST || opt > CADU_STOREOPT_LAST)
                return -ENOKEY;
        return set_by_index(o, opt - CADU_STOREOPT_FIRST, opt == CADU_STOREOPT_INSECURE ? NULL : arg);
}

const char *cadu_storeopts_name(int opt) {
        return opt >= CADU_STOREOPT_FIRST && opt <= CADU_STOREOPT_LAST ? names[opt - CADU_STOREOPT_FIRST] : NULL;
}

const char *cadu_storeopts_expected(int opt) {
        return opt >= CADU_STOREOPT_FIRST && opt <= CADU_STOREOPT_LAST ? expected[opt - CADU_STOREOPT_FIRST] : NULL;
}

void cadu_storeopts_done(cadu_storeopts *o) {
        if (!o)
                return;
        for (size_t i = 0; i < o->n_headers; i++)
                free(o->headers[i]);
        free(o->headers);
        free(o->ca_file);
        free(o->client_cert);
        free(o->client_key);
        *o = (cadu_storeopts) CADU_STOREOPTS_INIT;
}

bool cadu_storeopts_network_error(int r) {
        switch (-r) {
        case ECONNREFUSED:
        case EHOSTUNREACH:
        case ETIMEDOUT:
        case ECONNRESET:
        case EPROTO:
        case EREMOTEIO:
        case ELOOP:
        case EPROTONOSUPPORT:
        case EACCES:
        case ECANCELED:
                return true;
        default:
                return false;
        }
}
