/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cmd-hawkbit.c - cadu hawkbit: a device client of Eclipse hawkBit's Direct
 * Device Integration API (DDI), installing through cadu.
 *
 * Each poll: GET the controller base resource; send configData when the
 * server asks; honour a cancelAction; take a deploymentBase action: download
 * its artifacts (the signed manifest, its .sig, and the indexes and deltas
 * the manifest names relatively) into a spool directory, each capped by the
 * size and checked against the sha256 the deployment gives, then run
 * `cadu install` on the spooled manifest (signature, policy, seeded
 * extraction from the stores the manifest names, trial boot), reporting its
 * progress as "proceeding" feedback. The final result (closed: success or
 * failure) is sent once the trial boot was committed by mark-good or fell
 * back, on a later poll.
 *
 * Everything the client must not forget across a power loss is in
 * STATE_DIR/hawkbit.state (written atomically): the action, its phase, the
 * target slot and a final result not yet acknowledged by the server. A
 * restart resumes the same action: spooled artifacts whose digest matches
 * are not fetched again, and `cadu install` resumes its journal.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cadu-store.h"
#include "cadu-util.h"
#include "cmd.h"
#include "config.h"
#include "ddi.h"

#define HB_RESPONSE_MAX (1u << 20)      /* DDI JSON answers */
#define HB_FEEDBACK_INTERVAL_NS (2000000000ull)

typedef enum phase { PH_NONE, PH_INSTALLING, PH_INSTALLED, PH_DOWNLOADED, PH_FINAL } phase;
static const char *const phase_names[] = {
        [PH_NONE] = "none", [PH_INSTALLING] = "installing", [PH_INSTALLED] = "installed",
        [PH_DOWNLOADED] = "downloaded", [PH_FINAL] = "final",
};

/* What survives a power loss. */
typedef struct hb_state {
        char action[64];
        phase ph;
        char target;                    /* slot of the trial boot, once installed */
        bool success;                   /* PH_FINAL: the result */
        bool reported;                  /* PH_FINAL: acknowledged by the server */
        char detail[256];               /* PH_FINAL: the one-line reason */
} hb_state;

typedef struct hb {
        const char *conf_path;
        cadu_config *cf;
        char *base;                     /* SERVER/TENANT/controller/v1/ID */
        char origin[512];               /* scheme://host[:port] of the server */
        char auth[512];                 /* "Authorization: ..." */
        char *state_path, *spool_dir;
        hb_state st;
        CURL *curl;
        bool once;
} hb;

static volatile sig_atomic_t stop_requested;
static void on_stop(int sig) { stop_requested = sig; }

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
        if (cadu_quiet)
                return;
        va_list ap;
        va_start(ap, fmt);
        fputs("hawkbit: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputs("\n", stderr);
        va_end(ap);
}

/* ---- state ---- */

static int state_save(hb *h) {
        json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "action", json_object_new_string(h->st.action));
        json_object_object_add(o, "phase", json_object_new_string(phase_names[h->st.ph]));
        char t[2] = { h->st.target, 0 };
        json_object_object_add(o, "target", json_object_new_string(t));
        json_object_object_add(o, "success", json_object_new_boolean(h->st.success));
        json_object_object_add(o, "reported", json_object_new_boolean(h->st.reported));
        json_object_object_add(o, "detail", json_object_new_string(h->st.detail));
        const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        int r = cadu_write_file_atomic(h->state_path, s, strlen(s));
        json_object_put(o);
        return r;
}

static const char *jstr(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

static json_object *jobj(json_object *o, const char *key, json_type t) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, t) ? v : NULL;
}

static void state_load(hb *h) {
        uint8_t *data = NULL;
        size_t len;
        memset(&h->st, 0, sizeof h->st);
        if (cadu_read_file(h->state_path, 64 << 10, &data, &len) < 0)
                return;
        json_tokener *tok = json_tokener_new();
        json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)data, (int)len) : NULL;
        const char *a = jstr(o, "action"), *p = jstr(o, "phase"), *t = jstr(o, "target"), *d = jstr(o, "detail");
        if (a && p && strlen(a) < sizeof h->st.action) {
                snprintf(h->st.action, sizeof h->st.action, "%s", a);
                for (size_t i = 0; i < CADU_ELEMENTSOF(phase_names); i++)
                        if (!strcmp(p, phase_names[i]))
                                h->st.ph = (phase)i;
                h->st.target = t && (t[0] == 'A' || t[0] == 'B') ? t[0] : 0;
                json_object *b = jobj(o, "success", json_type_boolean);
                h->st.success = b && json_object_get_boolean(b);
                b = jobj(o, "reported", json_type_boolean);
                h->st.reported = b && json_object_get_boolean(b);
                snprintf(h->st.detail, sizeof h->st.detail, "%s", d ? d : "");
        }
        json_object_put(o);
        json_tokener_free(tok);
        free(data);
}

/* ---- HTTP ---- */

typedef struct sink {
        cadu_buf buf;
        size_t max;
        int fd;                         /* >= 0: write to the file instead */
        uint64_t written;
        bool too_big;
} sink;

static size_t sink_write(char *p, size_t size, size_t n, void *ud) {
        sink *s = ud;
        size_t len = size * n;
        if (s->written + len > s->max) {
                s->too_big = true;      /* fail at the first byte beyond the cap */
                return 0;
        }
        s->written += len;
        if (s->fd >= 0)
                return cadu_write_full(s->fd, p, len) == 0 ? len : 0;
        return cadu_buf_append(&s->buf, p, len) == 0 ? len : 0;
}

static bool same_origin(const hb *h, const char *url) {
        size_t n = strlen(h->origin);
        return !strncmp(url, h->origin, n) && (url[n] == '/' || url[n] == 0);
}

/* One request. body (JSON) for POST/PUT; the answer's body into *s (capped
 * at s->max). The token goes only to the server's own origin, and redirects
 * are not followed. Returns the HTTP status, or a negative errno for a
 * transport failure (message in err). */
static long hb_http(hb *h, const char *method, const char *url, const char *body, sink *s, char *err, size_t errlen) {
        CURL *c = h->curl;
        struct curl_slist *hdrs = NULL;
        char cerr[CURL_ERROR_SIZE] = "";
        long code = 0;

        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 100L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
        if (h->cf->hawkbit.ca_file)
                curl_easy_setopt(c, CURLOPT_CAINFO, h->cf->hawkbit.ca_file);
        if (h->cf->hawkbit.client_cert) {
                curl_easy_setopt(c, CURLOPT_SSLCERT, h->cf->hawkbit.client_cert);
                curl_easy_setopt(c, CURLOPT_SSLKEY, h->cf->hawkbit.client_key ? h->cf->hawkbit.client_key
                                                                               : h->cf->hawkbit.client_cert);
        }
        hdrs = curl_slist_append(hdrs, "Accept: application/hal+json, application/json");
        if (same_origin(h, url) && h->auth[0])
                hdrs = curl_slist_append(hdrs, h->auth);
        if (body) {
                hdrs = curl_slist_append(hdrs, "Content-Type: application/json;charset=UTF-8");
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        CURLcode rc = curl_easy_perform(c);
        curl_slist_free_all(hdrs);
        if (rc != CURLE_OK) {
                snprintf(err, errlen, "%s %s: %s", method, url,
                         s->too_big ? "answer larger than allowed" : cerr[0] ? cerr : curl_easy_strerror(rc));
                return s->too_big ? -EFBIG : -EIO;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 400)
                snprintf(err, errlen, "%s %s: HTTP %ld", method, url, code);
        return code;
}

/* GET, or send a JSON body; the answer's body into *ret when given (the
 * caller frees it). 2xx -> 0. */
static int hb_json(hb *h, const char *method, const char *url, json_object *body, cadu_buf *ret, long *code,
                   char *err, size_t errlen) {
        sink s = { .buf = CADU_BUF_INIT, .max = HB_RESPONSE_MAX, .fd = -1 };
        const char *b = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
        long c = hb_http(h, method, url, b, &s, err, errlen);
        int r = 0;
        if (code)
                *code = c;
        if (c < 0)
                r = (int)c;
        else if (c < 200 || c > 299)
                r = c == 401 || c == 403 ? -EACCES : c == 404 || c == 410 ? -ENOENT : -EREMOTEIO;
        if (r == 0 && ret) {
                *ret = s.buf;
                s.buf = (cadu_buf)CADU_BUF_INIT;
        }
        cadu_buf_free(&s.buf);
        return r;
}

/* GET a DDI resource and parse it with parse_fn into out. */
#define hb_get(h, url, parse_fn, out, err, errlen)                                                          \
        ({                                                                                                 \
                cadu_buf _b = CADU_BUF_INIT;                                                               \
                int _r = hb_json(h, "GET", url, NULL, &_b, NULL, err, errlen);                             \
                if (_r == 0 && (_r = parse_fn((const char *)_b.data, _b.len, out)) < 0)                    \
                        snprintf(err, errlen, "GET %.400s: not the DDI resource expected", url);            \
                cadu_buf_free(&_b);                                                                        \
                _r;                                                                                        \
        })

/* ---- feedback ---- */

/* POST a DdiActionFeedback to URL (…/deploymentBase/ID/feedback or
 * …/cancelAction/ID/feedback). progress (cnt of of) when of > 0. 0 when
 * the server took it, or answered that the action is closed already (410:
 * a repeat after a power loss). */
static int feedback(hb *h, const char *resource, const char *id, const char *execution, const char *finished,
                    long cnt, long of, const char *detail) {
        char url[1024], err[512] = "";
        json_object *o = json_object_new_object(), *st = json_object_new_object(), *res = json_object_new_object();
        json_object_object_add(res, "finished", json_object_new_string(finished));
        if (of > 0) {
                json_object *pr = json_object_new_object();
                json_object_object_add(pr, "cnt", json_object_new_int64(cnt));
                json_object_object_add(pr, "of", json_object_new_int64(of));
                json_object_object_add(res, "progress", pr);
        }
        json_object_object_add(st, "execution", json_object_new_string(execution));
        json_object_object_add(st, "result", res);
        if (detail) {
                json_object *d = json_object_new_array();
                json_object_array_add(d, json_object_new_string(detail));
                json_object_object_add(st, "details", d);
        }
        json_object_object_add(o, "status", st);
        snprintf(url, sizeof url, "%s/%s/%s/feedback", h->base, resource, id);
        long code = 0;
        int r = hb_json(h, "POST", url, o, NULL, &code, err, sizeof err);
        json_object_put(o);
        if (r == -ENOENT && code == 410)
                return 0;
        if (r < 0)
                say("feedback %s for action %s not sent: %s", execution, id, err);
        return r;
}

/* Report the final result kept in the state until the server has it. */
static int report_final(hb *h) {
        if (h->st.ph != PH_FINAL || h->st.reported)
                return 0;
        int r = feedback(h, "deploymentBase", h->st.action, "closed", h->st.success ? "success" : "failure", 0, 0,
                         h->st.detail);
        if (r < 0)
                return r;
        h->st.reported = true;
        say("action %s: reported %s (%s)", h->st.action, h->st.success ? "success" : "failure", h->st.detail);
        return state_save(h);
}

static int finish(hb *h, bool success, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int finish(hb *h, bool success, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(h->st.detail, sizeof h->st.detail, fmt, ap);
        va_end(ap);
        h->st.ph = PH_FINAL;
        h->st.success = success;
        h->st.reported = false;
        int r = state_save(h);
        if (r < 0)
                return r;
        return report_final(h);
}

/* ---- running cadu ---- */

/* Run this cadu with args (NULL-terminated, after "cadu"); stdout lines go
 * to on_line (may be NULL); the last line of stderr into last_err. Returns
 * the exit status, or -errno. While it runs, tick(ud) is called about once
 * a second; a non-zero return stops the child with SIGTERM. */
typedef struct child_io {
        void (*on_line)(void *ud, const char *line);
        int (*tick)(void *ud);
        void *ud;
        char last_err[512];
} child_io;

static int run_cadu(const char *const *args, child_io *io) {
        int out[2], err[2];
        size_t n = 0;
        while (args[n])
                n++;
        const char **argv = calloc(n + 2, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        argv[0] = "cadu";
        memcpy(argv + 1, args, n * sizeof(char *));
        if (pipe2(out, O_CLOEXEC) < 0) {
                int r = -errno;
                free(argv);
                return r;
        }
        if (pipe2(err, O_CLOEXEC) < 0) {
                int r = -errno;
                close(out[0]);
                close(out[1]);
                free(argv);
                return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                free(argv);
                close(out[0]);
                close(out[1]);
                close(err[0]);
                close(err[1]);
                return r;
        }
        if (pid == 0) {
                dup2(out[1], STDOUT_FILENO);
                dup2(err[1], STDERR_FILENO);
                execv("/proc/self/exe", (char *const *)argv);
                _exit(127);
        }
        free(argv);
        close(out[1]);
        close(err[1]);
        char obuf[8192], ebuf[4096];
        size_t olen = 0, elen = 0;
        io->last_err[0] = 0;
        bool open_out = true, open_err = true, stopped = false;
        while (open_out || open_err) {
                struct pollfd p[2] = { { open_out ? out[0] : -1, POLLIN, 0 }, { open_err ? err[0] : -1, POLLIN, 0 } };
                int k = poll(p, 2, 1000);
                if (k < 0 && errno != EINTR)
                        break;
                if (!stopped && io->tick && io->tick(io->ud)) {
                        kill(pid, SIGTERM);
                        stopped = true;
                }
                if (open_out && (p[0].revents & (POLLIN | POLLHUP))) {
                        ssize_t m = read(out[0], obuf + olen, sizeof obuf - 1 - olen);
                        if (m <= 0)
                                open_out = false;
                        else {
                                olen += (size_t)m;
                                obuf[olen] = 0;
                                char *nl, *s = obuf;
                                while ((nl = strchr(s, '\n'))) {
                                        *nl = 0;
                                        if (io->on_line)
                                                io->on_line(io->ud, s);
                                        s = nl + 1;
                                }
                                olen -= (size_t)(s - obuf);
                                memmove(obuf, s, olen);
                                if (olen == sizeof obuf - 1)
                                        olen = 0;       /* an overlong line: dropped */
                        }
                }
                if (open_err && (p[1].revents & (POLLIN | POLLHUP))) {
                        ssize_t m = read(err[0], ebuf + elen, sizeof ebuf - 1 - elen);
                        if (m <= 0)
                                open_err = false;
                        else {
                                elen += (size_t)m;
                                ebuf[elen] = 0;
                                char *nl, *s = ebuf;
                                while ((nl = strchr(s, '\n'))) {
                                        *nl = 0;
                                        if (*s) {
                                                size_t kk = strnlen(s, sizeof io->last_err - 1);
                                                memcpy(io->last_err, s, kk);
                                                io->last_err[kk] = 0;
                                        }
                                        s = nl + 1;
                                }
                                elen -= (size_t)(s - ebuf);
                                memmove(ebuf, s, elen);
                                if (elen == sizeof ebuf - 1)
                                        elen = 0;
                        }
                }
        }
        close(out[0]);
        close(err[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        /* "cadu: " prefixes of the child's message are left out. */
        if (!strncmp(io->last_err, "cadu: ", 6))
                memmove(io->last_err, io->last_err + 6, strlen(io->last_err + 6) + 1);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The device as `cadu status --json` describes it. */
typedef struct device {
        char booted, pending, failed;
        bool on_trial;
        char version[128];              /* of the booted slot's first image */
} device;

static void status_line(void *ud, const char *line) {
        device *d = ud;
        json_object *o = json_tokener_parse(line);
        const char *s;
        if (!o)
                return;
        if ((s = jstr(o, "booted")))
                d->booted = s[0];
        if ((s = jstr(o, "pending_trial")))
                d->pending = s[0];
        if ((s = jstr(o, "failed_trial")))
                d->failed = s[0];
        json_object *b = jobj(o, "on_trial", json_type_boolean);
        d->on_trial = b && json_object_get_boolean(b);
        json_object *slots = jobj(o, "slots", json_type_array);
        for (size_t i = 0; slots && i < json_object_array_length(slots); i++) {
                json_object *sl = json_object_array_get_idx(slots, i);
                const char *name = jstr(sl, "slot");
                json_object *imgs = jobj(sl, "images", json_type_array);
                if (name && name[0] == d->booted && imgs && json_object_array_length(imgs) > 0 &&
                    (s = jstr(json_object_array_get_idx(imgs, 0), "version")))
                        snprintf(d->version, sizeof d->version, "%s", s);
        }
        json_object_put(o);
}

static int device_status(hb *h, device *d) {
        const char *args[] = { "--json", "status", "-c", h->conf_path, NULL };
        child_io io = { .on_line = status_line, .ud = d };
        memset(d, 0, sizeof *d);
        int r = run_cadu(args, &io);
        if (r != 0)
                say("cadu status failed: %s", io.last_err);
        return r == 0 ? 0 : -EIO;
}

/* ---- the poll ---- */

static int send_config(hb *h, const char *href) {
        device d;
        char err[512] = "";
        if (device_status(h, &d) < 0)
                return -EIO;
        json_object *o = json_object_new_object(), *data = json_object_new_object();
        char slot[2] = { d.booted ? d.booted : '?', 0 };
        json_object_object_add(data, "compatible", json_object_new_string(h->cf->compatible));
        json_object_object_add(data, "running_slot", json_object_new_string(slot));
        json_object_object_add(data, "version", json_object_new_string(d.version[0] ? d.version : "unknown"));
        json_object_object_add(data, "cadu", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(o, "mode", json_object_new_string("merge"));
        json_object_object_add(o, "data", data);
        int r = hb_json(h, "PUT", href, o, NULL, NULL, err, sizeof err);
        json_object_put(o);
        if (r < 0)
                say("configData not sent: %s", err);
        else
                say("sent configData (slot %s, version %s)", slot, d.version[0] ? d.version : "unknown");
        return r;
}

/* The spool of an action: STATE_DIR/hawkbit/ACTION. */
static int spool_path(hb *h, const char *id, const char *file, char **ret) {
        return asprintf(ret, "%s/%s%s%s", h->spool_dir, id, file ? "/" : "", file ? file : "") < 0 ? -ENOMEM : 0;
}

/* Download one artifact into the spool unless a file with its sha256 is
 * there already; at most size bytes are read. */
static int fetch_artifact(hb *h, const char *id, const ddi_artifact *a, char *err, size_t errlen) {
        const char *name = a->filename;
        uint8_t got[CADU_DIGEST_SIZE];
        if (!a->usable) {
                snprintf(err, errlen, "artifact %s: no usable filename, sha256, size or download link",
                         name[0] ? name : "?");
                return -EBADMSG;
        }
        const char *href = a->href;
        const uint8_t *want = a->sha256;
        uint64_t size = a->size;
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        if (spool_path(h, id, name, &path) < 0 || asprintf(&tmp, "%s.part", path) < 0)
                return -ENOMEM;
        uint64_t have = 0;
        if (cadu_sha256_file(path, got, &have) == 0 && have == size && !memcmp(got, want, sizeof got))
                return 0;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
                snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
                return -errno;
        }
        sink s = { .max = (size_t)size, .fd = fd };
        long code = hb_http(h, "GET", href, NULL, &s, err, errlen);
        int r = close(fd) < 0 ? -errno : 0;
        if (code < 0 || code != 200) {
                unlink(tmp);
                return code < 0 ? (int)code : code == 404 ? -ENOENT : -EREMOTEIO;
        }
        if (r == 0 && (cadu_sha256_file(tmp, got, &have) < 0 || have != size || memcmp(got, want, sizeof got))) {
                snprintf(err, errlen, "artifact %s: not the size and sha256 the deployment names", name);
                r = -EBADMSG;
        }
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

/* Progress of a running install, sent as proceeding feedback at most every
 * two seconds; cancellation checked by polling the server meanwhile. */
typedef struct install_run {
        hb *h;
        const char *id;
        uint64_t last_ns, last_poll_ns;
        bool switched;                  /* the install reached the slot switch */
        bool canceled;
} install_run;

static void install_line(void *ud, const char *line) {
        install_run *ir = ud;
        json_object *o = json_tokener_parse(line);
        const char *ev = jstr(o, "event"), *ph = jstr(o, "phase");
        if (ev && !strcmp(ev, "phase") && ph && !strcmp(ph, "switch"))
                ir->switched = true;
        if (ev && !strcmp(ev, "progress")) {
                json_object *d = jobj(o, "done", json_type_int), *t = jobj(o, "total", json_type_int);
                uint64_t now = cadu_now_ns();
                if (d && t && now - ir->last_ns >= HB_FEEDBACK_INTERVAL_NS) {
                        int64_t done = json_object_get_int64(d), total = json_object_get_int64(t);
                        const char *unit = jstr(o, "unit");
                        char detail[256];
                        ir->last_ns = now;
                        snprintf(detail, sizeof detail, "%s: %lld of %lld %s", ph ? ph : "install", (long long)done,
                                 (long long)total, unit ? unit : "bytes");
                        /* DDI counts in 32-bit integers: KiB for bytes. */
                        if (!unit) {
                                done >>= 10;
                                total >>= 10;
                        }
                        feedback(ir->h, "deploymentBase", ir->id, "proceeding", "none", (long)done,
                                 total > 0 ? (long)total : 1, detail);
                }
        }
        json_object_put(o);
}

static int install_tick(void *ud) {
        install_run *ir = ud;
        uint64_t now = cadu_now_ns();
        if (stop_requested)
                return 1;
        if (ir->switched || now - ir->last_poll_ns < 1000000000ull * (ir->h->cf->hawkbit.poll_min ? ir->h->cf->hawkbit.poll_min : 5))
                return 0;
        ir->last_poll_ns = now;
        ddi_base base;
        char err[512];
        if (hb_get(ir->h, ir->h->base, ddi_parse_base, &base, err, sizeof err) == 0 && base.cancel[0]) {
                size_t n = strlen(base.cancel), k = strlen(ir->id);
                if (n > k && !strcmp(base.cancel + n - k, ir->id) && base.cancel[n - k - 1] == '/')
                        ir->canceled = true;
        }
        return ir->canceled;
}

static int take_action(hb *h, const char *href) {
        _cleanup_free_ char *dir = NULL, *manifest = NULL;
        _cleanup_free_ ddi_deployment *dep = malloc(sizeof *dep);
        char err[512] = "";
        if (!dep)
                return -ENOMEM;
        int r = hb_get(h, href, ddi_parse_deployment, dep, err, sizeof err);
        if (r < 0) {
                say("deployment not read: %s", err);
                return r;
        }
        const char *id = dep->id;
        const char *download = dep->download, *update = dep->update, *window = dep->window;
        if (strlen(id) >= sizeof h->st.action) {
                say("deployment %s: action id too long", href);
                return -EBADMSG;
        }
        bool same = !strcmp(h->st.action, id);
        if (same && h->st.ph == PH_FINAL) {
                r = report_final(h);
                goto out;
        }
        if (same && h->st.ph == PH_INSTALLED) {
                /* The trial boot decides: committed, fallen back, or pending. */
                device dv;
                if ((r = device_status(h, &dv)) < 0)
                        goto out;
                if (dv.booted == h->st.target && !dv.on_trial)
                        r = finish(h, true, "version %s runs from slot %c", dv.version, dv.booted);
                else if (dv.failed == h->st.target || (dv.booted && dv.booted != h->st.target && dv.pending != h->st.target))
                        r = finish(h, false, "the trial boot of slot %c failed; slot %c runs", h->st.target,
                                   dv.booted ? dv.booted : '?');
                goto out;
        }
        if (!same) {
                memset(&h->st, 0, sizeof h->st);
                snprintf(h->st.action, sizeof h->st.action, "%s", id);
        }
        if (!strcmp(download, "skip")) {
                say("action %s: download skipped by the server; waiting", id);
                goto out;
        }
        /* The artifacts: all of them, into the spool. */
        if ((r = spool_path(h, id, NULL, &dir)) < 0 || (r = cadu_mkdir_p(dir)) < 0)
                goto out;
        if (!same || h->st.ph == PH_NONE) {
                feedback(h, "deploymentBase", id, "download", "none", 0, 0, "fetching the release's metadata");
                say("action %s: new deployment", id);
        } else if (h->st.ph == PH_INSTALLING)
                feedback(h, "deploymentBase", id, "resumed", "none", 0, 0, "resuming after a restart");
        for (size_t i = 0; i < dep->n_artifacts; i++) {
                const ddi_artifact *a = &dep->artifacts[i];
                if ((r = fetch_artifact(h, id, a, err, sizeof err)) < 0) {
                        if (r == -EBADMSG)
                                r = finish(h, false, "%s", err);
                        else
                                say("action %s: %s (retrying at the next poll)", id, err);
                        goto out;
                }
                size_t n = strlen(a->filename);
                if (n > 9 && !strcmp(a->filename + n - 9, ".manifest")) {
                        free(manifest);
                        if ((r = spool_path(h, id, a->filename, &manifest)) < 0)
                                goto out;
                }
        }
        if (!manifest) {
                r = finish(h, false, "no cadu release among the artifacts (a *.manifest with its .sig)");
                goto out;
        }
        if (!strcmp(update, "skip") || !strcmp(window, "unavailable")) {
                /* Download only, or outside the maintenance window: verify what
                 * was fetched, say so once, and wait. */
                if (h->st.ph != PH_DOWNLOADED) {
                        /* The signature, policy, indexes and the plan, as the
                         * install will see them; nothing is written. */
                        const char *vargs[] = { "-q", "install", "--dry-run", "-c", h->conf_path, manifest, NULL };
                        child_io vio = { 0 };
                        int st = run_cadu(vargs, &vio);
                        if (st != 0) {
                                r = finish(h, false, "%s", vio.last_err[0] ? vio.last_err : "cadu install --dry-run failed");
                                goto out;
                        }
                        h->st.ph = PH_DOWNLOADED;
                        if ((r = state_save(h)) < 0)
                                goto out;
                        bool only = !strcmp(update, "skip");
                        feedback(h, "deploymentBase", id, "downloaded", only ? "success" : "none", 0, 0,
                                 only ? "release downloaded" : "release downloaded; waiting for the maintenance window");
                        say("action %s: downloaded%s", id, only ? "" : ", waiting for the maintenance window");
                }
                goto out;
        }

        /* Install, reporting progress; a cancel before the switch stops it. */
        h->st.ph = PH_INSTALLING;
        if ((r = state_save(h)) < 0)
                goto out;
        say("action %s: installing", id);
        feedback(h, "deploymentBase", id, "proceeding", "none", 0, 0, "installing");
        install_run ir = { .h = h, .id = id, .last_poll_ns = cadu_now_ns() };
        child_io io = { .on_line = install_line, .tick = install_tick, .ud = &ir };
        const char *args[] = { "--json", "install", "-c", h->conf_path, manifest, NULL };
        int status = run_cadu(args, &io);
        if (ir.canceled && !ir.switched) {
                feedback(h, "cancelAction", id, "closed", "success", 0, 0, "canceled before the slot switch");
                say("action %s: canceled before the slot switch", id);
                memset(&h->st, 0, sizeof h->st);
                r = state_save(h);
                goto out;
        }
        if (stop_requested) {
                r = -EINTR;
                goto out;
        }
        if (status != 0) {
                r = finish(h, false, "%s", io.last_err[0] ? io.last_err : "cadu install failed");
                goto out;
        }
        device dv;
        if ((r = device_status(h, &dv)) < 0)
                goto out;
        if (dv.pending != 'A' && dv.pending != 'B') {
                /* Nothing to try: the release already runs. */
                r = finish(h, true, "version %s runs from slot %c", dv.version, dv.booted);
                goto out;
        }
        h->st.ph = PH_INSTALLED;
        h->st.target = dv.pending;
        if ((r = state_save(h)) < 0)
                goto out;
        feedback(h, "deploymentBase", id, "proceeding", "none", 0, 0, "installed; a trial boot follows");
        say("action %s: installed into slot %c; a trial boot follows", id, dv.pending);
        if (h->cf->hawkbit.reboot_command) {
                say("running %s", h->cf->hawkbit.reboot_command);
                r = system(h->cf->hawkbit.reboot_command) == 0 ? 0 : -EIO;
        }
out:
        return r;
}

static int handle_cancel(hb *h, const char *href) {
        ddi_cancel c;
        char err[512] = "";
        int r = hb_get(h, href, ddi_parse_cancel, &c, err, sizeof err);
        if (r < 0) {
                say("cancelAction not read: %s", err);
                return r;
        }
        const char *id = c.id, *stop = c.stop_id;
        if (!strcmp(h->st.action, stop) && (h->st.ph == PH_INSTALLED || h->st.ph == PH_FINAL)) {
                /* The slot switch is done: the trial decides now. */
                r = feedback(h, "cancelAction", id, "rejected", "none", 0, 0,
                             "the slot switch is done; the trial boot decides");
                say("action %s: cancel refused, the slot switch is done", stop);
        } else {
                r = feedback(h, "cancelAction", id, "closed", "success", 0, 0, "canceled before the slot switch");
                say("action %s: canceled", stop);
                if (!strcmp(h->st.action, stop)) {
                        memset(&h->st, 0, sizeof h->st);
                        if (r == 0)
                                r = state_save(h);
                }
        }
        return r;
}

/* One poll. *sleep_s receives the server's polling interval. */
static int poll_once(hb *h, unsigned *sleep_s) {
        ddi_base base;
        char err[512] = "";
        int r = hb_get(h, h->base, ddi_parse_base, &base, err, sizeof err);
        if (r < 0) {
                say("%s", err);
                return r;
        }
        if (base.has_sleep)
                *sleep_s = base.sleep_s;
        report_final(h);
        if (base.config[0])
                send_config(h, base.config);
        if (base.cancel[0])
                r = handle_cancel(h, base.cancel);
        else if (base.deployment[0])
                r = take_action(h, base.deployment);
        return r;
}

static const char help[] =
        "Usage: cadu hawkbit [OPTIONS]\n\n"
        "A client of Eclipse hawkBit's Direct Device Integration API: poll the\n"
        "server named in the [hawkbit] section of cadu.conf, install the cadu\n"
        "release of an assigned action (its signed manifest among the artifacts)\n"
        "with `cadu install`, and report progress and the result of the trial\n"
        "boot. See doc/hawkbit.md.\n\n"
        "Options:\n"
        "  -c, --config FILE   device configuration (default /etc/cadu.conf)\n"
        "      --once          poll once and exit (exit status 5 when the server\n"
        "                      cannot be reached)\n"
        "  -q, --quiet         no messages\n"
        "  -h, --help          show this help\n";

int cadu_cmd_hawkbit(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "once", no_argument, NULL, 'O' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        hb h = { .conf_path = "/etc/cadu.conf" };
        int c, ret = CADU_EXIT_FAILURE;
        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c': h.conf_path = optarg; break;
                case 'O': h.once = true; break;
                case 'h': fputs(help, stdout); return CADU_EXIT_OK;
                default: return cadu_usage_error("hawkbit", "invalid option");
                }
        }
        if (optind != argc)
                return cadu_usage_error("hawkbit", "unexpected argument '%s'", argv[optind]);
        char *err = NULL;
        int r = cadu_config_load(h.conf_path, &h.cf, &err);
        if (r < 0) {
                cadu_error("%s", err ? err : cadu_strerror(r));
                free(err);
                return CADU_EXIT_USAGE;
        }
        const char *server = h.cf->hawkbit.server, *cid = h.cf->hawkbit.controller_id;
        if (!server || !cid) {
                ret = cadu_error("%s: [hawkbit] needs server and controller-id", h.conf_path);
                ret = CADU_EXIT_USAGE;
                goto out;
        }
        if (!cadu_location_is_url(server) || strchr(server, '?') || !ddi_safe_name(cid)) {
                ret = cadu_error("%s: [hawkbit] server must be an http(s) URL and controller-id a plain name", h.conf_path);
                ret = CADU_EXIT_USAGE;
                goto out;
        }
        size_t sl = strlen(server);
        while (sl > 0 && server[sl - 1] == '/')
                sl--;
        if (asprintf(&h.base, "%.*s/%s/controller/v1/%s", (int)sl, server,
                     h.cf->hawkbit.tenant ? h.cf->hawkbit.tenant : "DEFAULT", cid) < 0) {
                h.base = NULL;
                goto out;
        }
        const char *hostp = strstr(server, "://") + 3, *slash = strchr(hostp, '/');
        size_t on = slash ? (size_t)(slash - server) : sl;
        snprintf(h.origin, sizeof h.origin, "%.*s", (int)on, server);
        if (h.cf->hawkbit.target_token)
                snprintf(h.auth, sizeof h.auth, "Authorization: TargetToken %s", h.cf->hawkbit.target_token);
        else if (h.cf->hawkbit.gateway_token)
                snprintf(h.auth, sizeof h.auth, "Authorization: GatewayToken %s", h.cf->hawkbit.gateway_token);
        const char *sd = h.cf->state_dir ? h.cf->state_dir : "/var/lib/cadu";
        if (asprintf(&h.state_path, "%s/hawkbit.state", sd) < 0 || asprintf(&h.spool_dir, "%s/hawkbit", sd) < 0)
                goto out;
        if ((r = cadu_mkdir_p(h.spool_dir)) < 0) {
                ret = cadu_error_errno(r, "%s", h.spool_dir);
                goto out;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(h.curl = curl_easy_init()))
                goto out;
        state_load(&h);
        signal(SIGTERM, on_stop);
        signal(SIGINT, on_stop);
        unsigned pmin = h.cf->hawkbit.poll_min ? h.cf->hawkbit.poll_min : 5;
        unsigned pmax = h.cf->hawkbit.poll_max ? h.cf->hawkbit.poll_max : 86400;
        for (;;) {
                unsigned sleep_s = pmin;
                r = poll_once(&h, &sleep_s);
                if (h.once) {
                        ret = r == -EIO || r == -EACCES || r == -EREMOTEIO ? CADU_EXIT_NETWORK
                              : r < 0 && r != -ENOENT ? CADU_EXIT_FAILURE : CADU_EXIT_OK;
                        break;
                }
                if (sleep_s < pmin)
                        sleep_s = pmin;
                if (sleep_s > pmax)
                        sleep_s = pmax;
                for (unsigned i = 0; i < sleep_s * 10 && !stop_requested; i++)
                        usleep(100000);
                if (stop_requested) {
                        ret = CADU_EXIT_OK;
                        break;
                }
        }
out:
        if (h.curl)
                curl_easy_cleanup(h.curl);
        free(h.base);
        free(h.state_path);
        free(h.spool_dir);
        cadu_config_free(h.cf);
        return ret;
}
