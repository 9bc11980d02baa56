/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * install.c - the installer (include/cadu/cadu.h, "Installation"): the
 * device-side update that `cadu install` runs.
 *
 *   signature -> manifest -> policy -> every index (and applicable rdiff
 *   delta) fetched and checked against its pinned sha256 -> for each image:
 *   chunks (or the delta from the active slot) -> image sha256 -> saved
 *   seed index -> one bootloader store for a trial boot of the new slot.
 *
 * Nothing is written to a slot or the environment before everything the
 * manifest pins and the install will use has been verified: a swapped index
 * on the medium is refused while the device still has its fallback. Then,
 * before the first byte is written, the target slot is taken out of the
 * bootloader's order (one environment store), so no power loss can leave a
 * half-written slot bootable; the trial is arranged only after every image
 * is verified. The bootloader environment's lock (libubootenv's, shared
 * with fw_printenv and fw_setenv) is held only around each of those two
 * stores; the state directory's lock is held for the whole install. Writes are in place and every chunk already correct is kept,
 * so re-running an interrupted install resumes it. The state directory's
 * journal records each step.
 *
 * Nothing here prints: a failure is one line logged through the context
 * (and its kind, cadu_install_failure), the steps are events, and the
 * extraction's progress, statistics and plan go to the output hooks of
 * install.h (the command) or to the context's progress callback.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cadu-boot.h"
#include "cadu-caibz.h"
#include "cadu-crypt.h"
#include "cadu-envelope.h"
#include "cadu-fullimage.h"
#include "cadu-index.h"
#include "cadu-manifest.h"
#include "cadu-rdiff.h"
#include "cadu-store.h"
#include "cadu-util.h"
#include "config.h"
#include "context.h"
#include "extract.h"
#include "install.h"
#include "slotstate.h"
#include "storeopts.h"

#define N_SOURCES (CADU_SOURCE_MISSING + 1)

/* What an image needs, fetched and verified before anything is written. */
typedef struct prepared {
        cadu_buf ib;                    /* the index bytes, as pinned */
        uint8_t file_sha[CADU_DIGEST_SIZE];     /* an encrypted index: the sha256 of the file fetched */
        cadu_index *idx;
        char *delta;                    /* a verified, applicable delta, or NULL */
        char *delta_url;                /* an applicable delta over the network, not fetched yet */
        uint64_t delta_fetched;         /* bytes fetched for delta (0: on local media) */
        bool delta_tmp;                 /* delta is a file of ours, removed after the install */
        bool delta_sealed;              /* delta is still sealed with the store key */
        char *full;                     /* the compressed full image: path or URL, or NULL */
        bool full_chosen;               /* it costs least: written from it */
        /* The result (cadu_installer_get_image()). */
        bool planned;                   /* from and downloaded are known */
        cadu_install_from from;
        uint64_t downloaded;            /* bytes fetched for it (planned for a dry run) */
        bool have_sources;              /* written from chunks: sources[] */
        uint64_t sources[N_SOURCES][2]; /* chunks, bytes */
} prepared;

/* A full image over the network is read in ranges of this size: memory is
 * bounded whatever its size. */
#define INSTALL_FULL_PIECE ((uint64_t)2 << 20)

/* The requests a full image of size bytes costs. */
static uint64_t full_requests(uint64_t size) {
        return (size + INSTALL_FULL_PIECE - 1) / INSTALL_FULL_PIECE;
}

/* The largest rdiff delta fetched over the network (it is held in memory). */
#define INSTALL_URL_DELTA_MAX ((uint64_t)64 << 20)

struct cadu_installer {
        cadu_context *ctx;
        cadu_config *cfg;
        cadu_install_event_fn event;
        void *event_userdata;
        cadu_installer_output out;      /* the command's hooks (install.h), or none */
        uint64_t max_download_set;      /* cadu_installer_set_max_download(); 0: the configuration's */

        /* One run. */
        cadu_boot *boot;
        cadu_store_options so;          /* the context's store options, else the configuration's */
        int lock_fd;
        char booted, target;
        char *location;                 /* the manifest: path or URL */
        cadu_manifest *m;
        prepared *prep;                 /* one per image of m */
        char manifest_sha[2 * CADU_DIGEST_SIZE + 1];
        char *signer;
        bool allow_downgrade;
        bool if_newer;                  /* an older or equal version is "nothing to do" */
        bool has_key;                   /* key-file in [store] */
        bool dry_run;                   /* show the plan, change nothing */
        uint64_t max_download;          /* 0: no limit */
        uint64_t downloaded;            /* by the images installed so far */
        cadu_crypt_key key;
        cadu_install_result result;
        cadu_install_failure failure;
};

typedef cadu_installer installer;

static void event(installer *in, const char *phase, const char *image, const char *detail) {
        if (in->event)
                in->event(in->event_userdata, phase, image, detail);
}


__attribute__((format(printf, 5, 0)))
static int vfail(installer *in, cadu_install_failure kind, int r, const char *suffix, const char *fmt, va_list ap) {
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        if (suffix)
                cadu_context_log(in->ctx, CADU_LOG_ERR, "%s: %s", msg ? msg : "install", suffix);
        else
                cadu_context_log(in->ctx, CADU_LOG_ERR, "%s", msg ? msg : "install failed");
        free(msg);
        in->failure = kind;
        return r < 0 ? r : -EIO;
}

/* The failure r of kind, explained by the line fmt. Returns r (< 0). */
__attribute__((format(printf, 4, 5)))
static int fail(installer *in, cadu_install_failure kind, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        r = vfail(in, kind, r, NULL, fmt, ap);
        va_end(ap);
        return r;
}

/* The failure r: "<fmt>: <what r means>", a verification failure for a
 * corrupt or oversized input, else of kind other. Returns r. */
__attribute__((format(printf, 3, 4)))
static int fail_errno(installer *in, int r, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        r = vfail(in, r == -EBADMSG || r == -EFBIG ? CADU_INSTALL_FAILURE_VERIFY : CADU_INSTALL_FAILURE_OTHER, r,
                  cadu_context_strerror(r), fmt, ap);
        va_end(ap);
        return r;
}

/* The kind of a failure to fetch: a network one, a corrupt answer, other. */
static cadu_install_failure fetch_kind(int r) {
        return r == -EBADMSG ? CADU_INSTALL_FAILURE_VERIFY
               : cadu_storeopts_network_error(r) ? CADU_INSTALL_FAILURE_NETWORK
                                                 : CADU_INSTALL_FAILURE_OTHER;
}

/* Run the executables of the hooks directory, in name order, for one phase.
 * A hook failing aborts the install. */
static int run_hooks(installer *in, const char *phase, const cadu_manifest_image *img, const char *device) {
        const char *dir = in->cfg->hooks_dir;
        struct dirent **names = NULL;
        if (!dir)
                return 0;
        int n = scandir(dir, &names, NULL, alphasort);
        if (n < 0)
                return errno == ENOENT ? 0 : fail_errno(in, -errno, "hooks directory %s", dir);
        int ret = 0;
        for (int i = 0; i < n; i++) {
                char path[4096];
                struct stat st;
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
                if (ret || names[i]->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
                    access(path, X_OK) < 0)
                        continue;
                pid_t pid = fork();
                if (pid < 0) {
                        ret = fail_errno(in, -errno, "running hook %s", path);
                        continue;
                }
                if (pid == 0) {
                        char slot[2] = { in->target, 0 }, booted[2] = { in->booted, 0 };
                        setenv("CADU_HOOK", phase, 1);
                        setenv("CADU_VERSION", in->m->version, 1);
                        setenv("CADU_COMPATIBLE", in->m->compatible, 1);
                        setenv("CADU_MANIFEST", in->location, 1);
                        setenv("CADU_TARGET_SLOT", slot, 1);
                        setenv("CADU_BOOTED_SLOT", booted, 1);
                        if (img) {
                                setenv("CADU_IMAGE", img->name, 1);
                                setenv("CADU_CLASS", img->slot_class, 1);
                        }
                        if (device)
                                setenv("CADU_DEVICE", device, 1);
                        execl(path, path, phase, (char *)NULL);
                        _exit(127);
                }
                int status;
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        ret = fail(in, CADU_INSTALL_FAILURE_OTHER, -ECANCELED,
                                   "hook %s failed at %s%s%s (%s %d); install aborted", path, phase,
                                   img ? " of " : "", img ? img->name : "",
                                   WIFEXITED(status) ? "exit status" : "signal",
                                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        }
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return ret;
}

/* An environment that is not what the boot script understands (bad CRC,
 * invalid variables) is a verification failure, as for the slot commands. */
static int boot_failure(installer *in, int r, const char *what) {
        const char *d = cadu_boot_detail(in->boot);
        cadu_install_failure kind = r == -EBADMSG ? CADU_INSTALL_FAILURE_VERIFY : CADU_INSTALL_FAILURE_OTHER;
        if (d && *d)
                return fail(in, kind, r, "%s: %s", what, d);
        return fail(in, kind, r, "%s: %s", what, cadu_context_strerror(r));
}

/* Read the image back from the slot, chunk by chunk: its sha256 (which
 * decides trust) and each chunk's fingerprint for the next install's seed. */
static int read_back(const char *path, const cadu_index *idx, uint8_t out[CADU_DIGEST_SIZE], cadu_fp *fps) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        cadu_digest_ctx *c = cadu_digest_new(CADU_DIGEST_SHA256);
        _cleanup_free_ uint8_t *buf = cadu_malloc_io((size_t)idx->max);
        int r = (!c || !buf) ? -ENOMEM : 0;
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        for (size_t i = 0; r == 0 && i < idx->n; i++) {
                size_t len = (size_t)cadu_index_chunk_size(idx, i);
                ssize_t k = cadu_pread_full(fd, buf, len, cadu_index_chunk_offset(idx, i));
                if (k < 0)
                        r = (int)k;
                else if ((size_t)k < len)
                        r = -ENODATA;   /* slot shorter than the image */
                else {
                        cadu_fp_compute(buf, len, &fps[i]);
                        r = cadu_digest_update(c, buf, len);
                }
        }
        if (r == 0)
                r = cadu_digest_final(c, out);
        cadu_digest_free(c);
        return r;
}

/* The release's key envelope, checked against its pins and unwrapped with
 * the device's certificate: the key must be the one img names. On success
 * it becomes the installer's key. 0 or -errno. */
static int unwrap_key(installer *in, const cadu_manifest_image *img) {
        _cleanup_free_ char *loc = NULL, *err = NULL;
        _cleanup_free_ uint8_t *text = NULL;
        cadu_buf env = CADU_BUF_INIT;
        uint8_t secret[CADU_CRYPT_KEY_SIZE];
        cadu_crypt_key k;
        size_t len = 0;
        int r = cadu_manifest_resolve(in->location, in->m->key_envelope, &loc);
        if (r == 0)
                r = cadu_fetch(loc, &in->so, (size_t)in->m->key_envelope_size + 1, &env, &err);
        if (r == -EFBIG) {
                cadu_buf_free(&env);
                return fail(in, CADU_INSTALL_FAILURE_VERIFY, r,
                            "key envelope %s: larger than the %llu bytes the manifest pins", loc,
                            (unsigned long long)in->m->key_envelope_size);
        }
        if (r < 0) {
                cadu_buf_free(&env);
                return fail(in, fetch_kind(r), r, "key envelope %s: %s", loc ? loc : in->m->key_envelope,
                            err ? err : cadu_context_strerror(r));
        }
        r = cadu_manifest_check_data(env.data, env.len, in->m->key_envelope_size, in->m->key_envelope_sha256, &err);
        if (r == 0) {
                free(err);
                err = NULL;
                r = cadu_envelope_unwrap(env.data, env.len, in->cfg->recipient_cert, in->cfg->recipient_key,
                                         CADU_CRYPT_KEY_FILE_MAX, &text, &len, &err);
        }
        cadu_buf_free(&env);
        if (r < 0)
                return fail(in,
                            r == -ENOKEY   ? CADU_INSTALL_FAILURE_REFUSED
                            : r == -EINVAL ? CADU_INSTALL_FAILURE_CONFIG
                                           : CADU_INSTALL_FAILURE_VERIFY,
                            r, "key envelope %s: %s", loc, err ? err : cadu_context_strerror(r));
        r = cadu_crypt_key_parse(text, len, secret);
        OPENSSL_cleanse(text, len);
        if (r == 0)
                r = cadu_crypt_key_derive(secret, &k);
        OPENSSL_cleanse(secret, sizeof(secret));
        if (r < 0)
                return fail(in, CADU_INSTALL_FAILURE_VERIFY, r,
                            "key envelope %s: the wrapped content is not a store key", loc);
        if (memcmp(k.id, img->store_key, CADU_CRYPT_KEY_ID_SIZE) != 0) {
                char have[2 * CADU_CRYPT_KEY_ID_SIZE + 1], want[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
                cadu_crypt_key_id_hex(k.id, have);
                cadu_crypt_key_id_hex(img->store_key, want);
                cadu_crypt_key_clear(&k);
                return fail(in, CADU_INSTALL_FAILURE_VERIFY, -EKEYREJECTED,
                            "key envelope %s wraps key %s, but image %s is encrypted with %s", loc, have, img->name,
                            want);
        }
        in->key = k;
        in->has_key = true;
        cadu_crypt_key_clear(&k);
        return 0;
}

/* An encrypted image (store-key in the manifest): the device's key must be
 * the one named; the index is decrypted in place. 0 or -errno. */
static int decrypt_index(installer *in, const cadu_manifest_image *img, const char *index_loc, cadu_buf *ib) {
        char want[2 * CADU_CRYPT_KEY_ID_SIZE + 1], have[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
        int r;
        cadu_crypt_key_id_hex(img->store_key, want);
        if ((!in->has_key || memcmp(in->key.id, img->store_key, CADU_CRYPT_KEY_ID_SIZE) != 0) && in->m->key_envelope &&
            in->cfg->recipient_cert && in->cfg->recipient_key && (r = unwrap_key(in, img)) != 0)
                return r;
        if (!in->has_key)
                return fail(in, CADU_INSTALL_FAILURE_REFUSED, -ENOKEY,
                            "image %s is encrypted with store key %s, and %s names no key-file", img->name, want,
                            in->cfg->path);
        if (memcmp(in->key.id, img->store_key, CADU_CRYPT_KEY_ID_SIZE) != 0) {
                cadu_crypt_key_id_hex(in->key.id, have);
                return fail(in, CADU_INSTALL_FAILURE_REFUSED, -EKEYREJECTED,
                            "image %s is encrypted with store key %s; this device holds key %s", img->name, want,
                            have);
        }
        if (!cadu_crypt_index_is(ib->data, ib->len))
                return fail(in, CADU_INSTALL_FAILURE_VERIFY, -EBADMSG,
                            "index %s: not encrypted, but the manifest names store key %s", index_loc, want);
        _cleanup_free_ char *msg = NULL;
        bool encrypted;
        if ((r = cadu_index_unseal(index_loc, &in->key, ib, &encrypted, &msg)) == 0)
                return 0;
        if (!msg)
                return fail_errno(in, r, "decrypting index %s", index_loc);
        return fail(in,
                    r == -EKEYREJECTED             ? CADU_INSTALL_FAILURE_REFUSED
                    : r == -EBADMSG || r == -EFBIG ? CADU_INSTALL_FAILURE_VERIFY
                                                   : CADU_INSTALL_FAILURE_OTHER,
                    r, "%s", msg);
}

/* An image's chunks written, through the context's progress callback: the
 * seed's scan, then the image, as phases (cadu_phase). */
typedef struct ctx_progress {
        cadu_phase ph;
        const char *what;               /* "install NAME" */
} ctx_progress;

static void ctx_progress_out(void *ud, uint64_t done, uint64_t total) {
        ctx_progress *p = ud;
        cadu_phase_report(&p->ph, p->what, done, total);
}

static void ctx_progress_seed(void *ud, const char *seed_path, uint64_t done, uint64_t total) {
        ctx_progress *p = ud;
        char what[300];
        snprintf(what, sizeof(what), "scanning seed %s", seed_path);
        cadu_phase_report(&p->ph, what, done, total);
}

/* The index in compact form (cadu-caibz.h) from the image's store, against
 * the index saved for the booted slot when the store has that, else alone:
 * a fraction of the bytes. 0 with *ib holding exactly the pinned index;
 * otherwise the caller fetches the index itself. */
static int fetch_compact_index(installer *in, const cadu_manifest_image *img, cadu_buf *ib) {
        _cleanup_free_ char *store_loc = NULL, *seed_idx = NULL;
        cadu_store *s = NULL;
        cadu_index *base = NULL;
        uint8_t bsha[CADU_DIGEST_SIZE], got[CADU_DIGEST_SIZE];
        cadu_buf z = CADU_BUF_INIT;
        int r = -ENOENT;

        if (img->encrypted || !img->store || cadu_manifest_resolve(in->location, img->store, &store_loc) < 0 ||
            cadu_store_open(store_loc, &in->so, false, &s) < 0)
                return -ENOENT;
        if (cadu_slot_seed_index_path(in->cfg->state_dir, img->slot_class, in->booted, &seed_idx) == 0) {
                const char *reason;
                if (cadu_index_read(seed_idx, &base, &reason) < 0 || cadu_sha256_file(seed_idx, bsha, NULL) < 0) {
                        cadu_index_free(base);
                        base = NULL;
                }
        }
        for (int k = base ? 0 : 1; k < 2 && r < 0; k++) {
                char rel[CADU_CAIBZ_PATH_MAX];
                cadu_caibz_path(img->index_sha256, k == 0 ? bsha : NULL, rel);
                if (cadu_store_get_file(s, rel, cadu_caibz_max(img->index_size), &z) < 0)
                        continue;
                r = cadu_caibz_decode(z.data, z.len, k == 0 ? base : NULL, img->index_size, ib);
                if (r == 0 && (ib->len != img->index_size ||
                               cadu_digest(CADU_DIGEST_SHA256, ib->data, ib->len, got) < 0 ||
                               memcmp(got, img->index_sha256, CADU_DIGEST_SIZE)))
                        r = -EBADMSG;
        }
        cadu_buf_free(&z);
        cadu_index_free(base);
        cadu_store_free(s);
        return r;
}

/* Fetch the image's index and check it against its pins; find out whether
 * its rdiff delta applies to the booted slot and, if so, check the delta
 * against its pins too. 0 or -errno; nothing is written. */
static int prepare_image(installer *in, const cadu_manifest_image *img, prepared *p) {
        _cleanup_free_ char *index_loc = NULL, *err = NULL, *delta = NULL;
        /* An encrypted index: the pinned plaintext plus names and overhead. */
        uint64_t max = img->encrypted ? cadu_crypt_index_max_size(img->index_size) : img->index_size;
        int r = cadu_manifest_resolve(in->location, img->index, &index_loc);
        if (r == 0 && fetch_compact_index(in, img, &p->ib) < 0)
                r = cadu_fetch(index_loc, &in->so, (size_t)max, &p->ib, &err);
        if (r == -EFBIG)
                /* Not a byte beyond the signed pin is read. */
                return fail(in, CADU_INSTALL_FAILURE_VERIFY, r,
                            "index %s: larger than the %llu bytes the manifest pins", index_loc,
                            (unsigned long long)max);
        if (r < 0)
                return fail(in, fetch_kind(r), r, "index %s: %s", index_loc ? index_loc : img->index,
                            err ? err : cadu_context_strerror(r));
        free(err);
        err = NULL;
        /* An encrypted index's pack index is named by its ciphertext. */
        if (img->encrypted && (r = cadu_digest(CADU_DIGEST_SHA256, p->ib.data, p->ib.len, p->file_sha)) < 0)
                return fail_errno(in, r, "index %s", index_loc);
        if (img->encrypted && (r = decrypt_index(in, img, index_loc, &p->ib)) != 0)
                return r;
        r = cadu_manifest_check_index_data(img, p->ib.data, p->ib.len, &p->idx, &err);
        if (r == 0 && cadu_index_size(p->idx) != img->size) {
                r = -EBADMSG;
                err = strdup("the index does not describe an image of the manifest's size");
        }
        if (r < 0)
                return fail(in, CADU_INSTALL_FAILURE_VERIFY, r, "index %s: %s", index_loc, err ? err : cadu_context_strerror(r));
        /* A full image is read through a store rooted at the manifest's
         * directory: its name must be a store path. */
        if (img->full && cadu_store_relpath_valid(img->full) &&
            (r = cadu_manifest_resolve(in->location, img->full, &p->full)) < 0)
                return fail_errno(in, r, "full image of %s", img->name);
        /* An optional file: a copy of the release may lack it. */
        if (p->full && !cadu_location_is_url(p->full) && access(p->full, F_OK) < 0) {
                free(p->full);
                p->full = NULL;
        }
        if (!img->delta)
                return 0;
        cadu_slot_info info = CADU_SLOT_INFO_INIT;
        char want[2 * CADU_DIGEST_SIZE + 1];
        cadu_hex_encode(img->delta_source_sha256, CADU_DIGEST_SIZE, want);
        bool applicable = cadu_slot_info_read(in->cfg->state_dir, img->slot_class, in->booted, &info) == 0 &&
                          info.image_sha256 && !strcmp(info.image_sha256, want);
        cadu_slot_info_clear(&info);
        if (!applicable)
                return 0;
        if ((r = cadu_manifest_resolve(in->location, img->delta, &delta)) < 0)
                return fail_errno(in, r, "delta of %s", img->name);
        if (cadu_location_is_url(delta)) {
                /* Over a network, the delta competes with the chunk plan
                 * (choose_sources()); it is fetched only when it wins. */
                if (img->delta_size <= INSTALL_URL_DELTA_MAX) {
                        p->delta_url = delta;
                        delta = NULL;
                }
                return 0;
        }
        /* Trust the delta only once its pinned digest matches. */
        free(err);
        err = NULL;
        r = cadu_manifest_check_file(delta, img->delta_size, img->delta_sha256, &err);
        if (r < 0)
                return fail(in, CADU_INSTALL_FAILURE_VERIFY, r, "delta %s: %s", delta, err ? err : cadu_context_strerror(r));
        p->delta = delta;
        delta = NULL;
        p->delta_sealed = img->encrypted;
        return 0;
}

/* The sealed rdiff delta of an encrypted image (its pins checked) opened
 * with the store key into a file of ours in the state directory; on
 * success p->delta is that file. 0 or -errno; nothing is left behind
 * on failure. */
static int open_sealed_delta(installer *in, const cadu_manifest_image *img, prepared *p) {
        _cleanup_free_ char *path = NULL, *role = NULL;
        char hex[2 * CADU_DIGEST_SIZE + 1], ihex[2 * CADU_DIGEST_SIZE + 1];
        cadu_hex_encode(img->delta_sha256, CADU_DIGEST_SIZE, hex);
        cadu_hex_encode(img->sha256, CADU_DIGEST_SIZE, ihex);
        if (asprintf(&path, "%s/rdiff-%s.open", in->cfg->state_dir, hex) < 0 ||
            asprintf(&role, "rdiff:%s:%s", img->name, ihex) < 0)
                return fail_errno(in, -ENOMEM, "install");
        _cleanup_close_ int src = cadu_open_untrusted(p->delta, 0);
        if (src < 0)
                return fail_errno(in, src, "delta %s", p->delta);
        int dst = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (dst < 0)
                return fail_errno(in, -errno, "delta %s: writing %s", p->delta, path);
        int r = cadu_crypt_stream_fd(&in->key, role, false, src, dst);
        if (close(dst) < 0 && r == 0)
                r = -errno;
        if (r < 0) {
                unlink(path);
                return fail(in, r == -EBADMSG || r == -EKEYREJECTED ? CADU_INSTALL_FAILURE_VERIFY
                                                                    : CADU_INSTALL_FAILURE_OTHER,
                            r, "delta %s: %s", p->delta,
                            r == -EKEYREJECTED ? "sealed under another store key"
                            : r == -EBADMSG    ? "not a sealed delta of this image, or damaged (authentication failed)"
                                               : cadu_context_strerror(r));
        }
        if (p->delta_tmp)
                unlink(p->delta);
        free(p->delta);
        p->delta = path;
        path = NULL;
        p->delta_tmp = true;
        p->delta_sealed = false;
        return 0;
}

static void prepared_clear(prepared *p) {
        cadu_buf_free(&p->ib);
        cadu_index_free(p->idx);
        if (p->delta_tmp && p->delta)
                unlink(p->delta);
        free(p->delta);
        free(p->delta_url);
        free(p->full);
        p->ib = (cadu_buf)CADU_BUF_INIT;
        p->idx = NULL;
        p->delta = p->delta_url = p->full = NULL;
}

/* Apply the image's verified rdiff delta from the booted slot. 1 when
 * applied and the result verified, 0 when there is none or the result is
 * not the image (the caller falls back to the chunk store), or -errno. */
static int install_delta(installer *in, const cadu_manifest_image *img, const char *delta, const char *src_dev,
                         const char *dst_dev) {
        int r;
        if (!delta)
                return 0;
        event(in, "patch", img->name, delta);
        _cleanup_close_ int bfd = open(src_dev, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int dfd = cadu_open_untrusted(delta, 0);
        _cleanup_close_ int ofd = open(dst_dev, O_RDWR | O_CLOEXEC);
        uint64_t bsize = 0;
        if (dfd < 0)
                return fail_errno(in, dfd, "delta %s", delta);
        if (bfd < 0 || ofd < 0)
                return fail_errno(in, -errno, "patching %s from %s", dst_dev, src_dev);
        if ((r = cadu_fd_size(bfd, &bsize)) < 0)
                return fail_errno(in, r, "slot %s", src_dev);
        cadu_digest_ctx *h = cadu_digest_new(CADU_DIGEST_SHA256);
        cadu_rdiff_stats st = { 0 };
        uint8_t got[CADU_DIGEST_SIZE];
        if (!h)
                return fail_errno(in, -ENOMEM, "patch");
        r = cadu_rdiff_patch_fd(bfd, bsize, dfd, ofd, h, NULL, &st);
        if (r == 0)
                r = cadu_digest_final(h, got);
        cadu_digest_free(h);
        struct stat ost;
        if (r == 0 && fstat(ofd, &ost) == 0 && S_ISREG(ost.st_mode) && ftruncate(ofd, (off_t)img->size) < 0)
                r = -errno;
        if (r == 0 && fsync(ofd) < 0)
                r = -errno;
        if (r < 0)
                return fail_errno(in, r, "patching %s into %s", img->name, dst_dev);
        if (memcmp(got, img->sha256, CADU_DIGEST_SIZE) != 0) {
                /* The slot held other data than recorded: use the store. */
                event(in, "patch-mismatch", img->name, "falling back to the chunk store");
                return 0;
        }
        return 1;
}

/* Writing a full image: the file's bytes go through the reader to the slot
 * and into the digest of the file. */
typedef struct full_job {
        cadu_full_reader *reader;
        cadu_digest_ctx *h;
        cadu_digest_ctx *img_h;         /* of the image written (in order) */
        int fd;                         /* the slot */
        uint64_t got;                   /* bytes of the file */
} full_job;

static int full_write(void *ud, uint64_t off, const uint8_t *data, size_t len) {
        full_job *j = ud;
        int r = cadu_digest_update(j->img_h, data, len);
        return r < 0 ? r : cadu_pwrite_full(j->fd, data, len, off);
}

static int full_feed(full_job *j, const uint8_t *data, size_t len) {
        int r = cadu_digest_update(j->h, data, len);
        j->got += len;
        return r < 0 ? r : cadu_full_reader_push(j->reader, data, len, full_write, j);
}

static int full_range(void *ud, size_t i, const uint8_t *data, size_t len) {
        (void)i;
        return full_feed(ud, data, len);
}

/* Read the full image at loc (pinned to size bytes, not one more is read)
 * into j. */
static int full_read(installer *in, const char *loc, const char *name, uint64_t size, full_job *j) {
        int r = 0;
        if (!cadu_location_is_url(loc)) {
                _cleanup_close_ int fd = cadu_open_untrusted(loc, 0);
                uint8_t *buf = malloc(1 << 16);
                if (fd < 0 || !buf) {
                        free(buf);
                        return fd < 0 ? fd : -ENOMEM;
                }
                while (r == 0 && j->got < size) {
                        ssize_t n = read(fd, buf, (size_t)CADU_MIN(size - j->got, (uint64_t)1 << 16));
                        if (n < 0 && errno == EINTR)
                                continue;
                        r = n < 0 ? -errno : n == 0 ? -EBADMSG : full_feed(j, buf, (size_t)n);
                }
                free(buf);
                return r;
        }
        /* Over HTTP, ranges of a store rooted at the manifest's directory. */
        _cleanup_free_ char *base = strndup(loc, strlen(loc) - strlen(name) - 1);
        cadu_store *s = NULL;
        if (!base)
                return -ENOMEM;
        if ((r = cadu_store_open(base, &in->so, false, &s)) < 0)
                return r;
        while (r == 0 && j->got < size) {
                cadu_range rg = { j->got, CADU_MIN(size - j->got, INSTALL_FULL_PIECE) };
                r = cadu_store_get_ranges(s, name, &rg, 1, full_range, j);
                in->downloaded += rg.len;
        }
        cadu_store_free(s);
        return r;
}

/* Write the image from its chosen compressed full image. 1 when written
 * (the caller verifies it), 0 when the file failed (the caller falls back
 * to the chunk store, the slot not yet bootable), or -errno. */
static int install_full(installer *in, const cadu_manifest_image *img, const prepared *p, const char *dst_dev) {
        _cleanup_free_ char *role = NULL;
        uint8_t got[CADU_DIGEST_SIZE];
        full_job j = { .fd = -1 };
        const char *why = NULL;
        int r;
        if (!p->full_chosen)
                return 0;
        event(in, "full", img->name, p->full);
        char ihex[2 * CADU_DIGEST_SIZE + 1];
        cadu_hex_encode(img->sha256, CADU_DIGEST_SIZE, ihex);
        if (asprintf(&role, "full:%s:%s", img->name, ihex) < 0)
                return fail_errno(in, -ENOMEM, "install");
        if ((j.fd = open(dst_dev, O_RDWR | O_CLOEXEC)) < 0)
                return fail_errno(in, -errno, "writing %s to %s", img->name, dst_dev);
        j.h = cadu_digest_new(CADU_DIGEST_SHA256);
        j.img_h = cadu_digest_new(CADU_DIGEST_SHA256);
        r = j.h && j.img_h ? cadu_full_reader_new(img->size, img->encrypted ? &in->key : NULL, role, &j.reader) : -ENOMEM;
        if (r == 0)
                r = full_read(in, p->full, img->full, img->full_size, &j);
        if (r == 0)
                r = cadu_full_reader_finish(j.reader, full_write, &j);
        if (r == 0 && (cadu_digest_final(j.h, got) < 0 || memcmp(got, img->full_sha256, CADU_DIGEST_SIZE) != 0))
                r = -EBADMSG, why = "does not match the manifest's full-sha256";
        if (r == 0 && (cadu_digest_final(j.img_h, got) < 0 || memcmp(got, img->sha256, CADU_DIGEST_SIZE) != 0))
                r = -EBADMSG, why = "does not give the manifest's image";
        struct stat st;
        if (r == 0 && fstat(j.fd, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(j.fd, (off_t)img->size) < 0)
                r = -errno;
        if (r == 0 && fsync(j.fd) < 0)
                r = -errno;
        cadu_full_reader_free(j.reader);
        cadu_digest_free(j.h);
        cadu_digest_free(j.img_h);
        close(j.fd);
        if (r == -ENOMEM || r == -ENOSPC || r == -EIO)
                return fail_errno(in, r, "writing %s to %s", img->name, dst_dev);
        if (r < 0) {
                char msg[256];
                snprintf(msg, sizeof msg, "%s: %s; falling back to the chunk store", p->full,
                         why                    ? why
                         : r == -EBADMSG        ? "damaged, forged or not this image's (refused)"
                         : r == -EFBIG          ? "decompresses to more than the image size"
                         : r == -EKEYREJECTED   ? "sealed under another store key"
                                                : cadu_context_strerror(r));
                event(in, "full-failed", img->name, msg);
                return 0;
        }
        return 1;
}

/* Write the image's chunks to dst_dev, or with plan (not NULL) only plan
 * them into *plan. */
static int install_chunks(installer *in, const cadu_manifest_image *img, prepared *pp,
                          const char *src_dev, const char *dst_dev, cadu_extract_plan *plan) {
        const cadu_index *idx = pp->idx;
        _cleanup_free_ char *seed_idx = NULL, *img_store = NULL, *msg = NULL;
        cadu_seed seed = { .path = src_dev };
        struct stat st;
        int r, ret = 0;

        /* The cheapest seed: the index saved when the booted slot was
         * installed, so the slot need not be chunked. */
        if (cadu_slot_seed_index_path(in->cfg->state_dir, img->slot_class, in->booted, &seed_idx) == 0 &&
            stat(seed_idx, &st) == 0)
                seed.index_path = seed_idx;

        size_t nstores = 0;
        cadu_store **stores = calloc(in->cfg->n_urls + 2, sizeof(cadu_store *));
        cadu_store *cache = NULL;
        if (!stores)
                return fail_errno(in, -ENOMEM, "install");
        if (img->store) {
                if ((r = cadu_manifest_resolve(in->location, img->store, &img_store)) < 0) {
                        ret = fail_errno(in, r, "store of %s", img->name);
                        goto out;
                }
                /* A store beside the manifest on local media may be absent
                 * when the device uses network stores. */
                r = cadu_store_open(img_store, &in->so, false, &stores[nstores]);
                if (r == 0)
                        nstores++;
                else if (cadu_location_is_url(img_store) || in->cfg->n_urls == 0) {
                        ret = fail_errno(in, r, "store %s", img_store);
                        goto out;
                }
        }
        for (size_t i = 0; i < in->cfg->n_urls; i++) {
                if ((r = cadu_store_open(in->cfg->urls[i], &in->so, false, &stores[nstores])) < 0) {
                        ret = fail_errno(in, r, "store %s", in->cfg->urls[i]);
                        goto out;
                }
                nstores++;
        }
        for (size_t i = 0; img->encrypted && i < nstores; i++)
                if ((r = cadu_store_wrap_key(&stores[i], &in->key)) < 0) {
                        ret = fail_errno(in, r, "store of %s", img->name);
                        goto out;
                }
        if (in->cfg->cache_dir && (r = cadu_store_open_dir(in->cfg->cache_dir, true, &cache)) < 0) {
                ret = fail_errno(in, r, "cache %s", in->cfg->cache_dir);
                goto out;
        }
        cadu_context *ctx = in->ctx;
        ctx_progress xp = { .ph.ctx = ctx };
        cadu_extract_opts o = {
                .index = idx,
                .seeds = &seed,
                .nseeds = 1,
                .cache = cache,
                .stores = stores,
                .nstores = nstores,
                .out_path = dst_dev,
                .in_place = true,
                .threads = in->ctx->threads,
                .index_sha = img->encrypted ? pp->file_sha : img->index_sha256,
                .max_download = in->max_download ? in->max_download - CADU_MIN(in->downloaded, in->max_download - 1) : 0,
                .plan_only = plan != NULL,
        };
        cadu_extract_stats est;
        char what[128];
        snprintf(what, sizeof(what), "install %s", img->name);
        xp.what = what;
        if (plan)
                ;
        else if (in->out.extract_begin) {
                o.progress = in->out.extract_progress;
                o.seed_progress = in->out.seed_progress;
                o.userdata = in->out.userdata;
                in->out.extract_begin(in->out.userdata, what, img->size);
        } else if (in->ctx->progress) {
                o.progress = ctx_progress_out;
                o.seed_progress = ctx_progress_seed;
                o.userdata = &xp;
        }
        r = cadu_extract(&o, &est, &msg);
        if (!plan && in->out.extract_end)
                in->out.extract_end(in->out.userdata);
        else if (!plan && r == 0)
                cadu_phase_report(&xp.ph, what, img->size, img->size);
        cadu_phase_end(&xp.ph, false);
        if (plan)
                *plan = est.plan;       /* (the install fetches the pack index again) */
        else
                in->downloaded += est.downloaded;
        if (r == -EDQUOT)
                ret = fail(in, CADU_INSTALL_FAILURE_REFUSED, r, "writing %s to slot %c (%s): %s", img->name,
                           in->target, dst_dev, msg);
        else if (r < 0 && plan)
                ret = fail(in, fetch_kind(r), r, "planning %s: %s: %s", img->name, msg ? msg : "failed", cadu_context_strerror(r));
        else if (plan)
                ;
        else if (r < 0)
                ret = fail(in, r == -EBADMSG || r == -EFBIG ? CADU_INSTALL_FAILURE_VERIFY : fetch_kind(r), r,
                           "writing %s to slot %c (%s): %s: %s", img->name, in->target, dst_dev,
                           msg ? msg : "failed", cadu_context_strerror(r));
        else {
                const cadu_source_stats *by[N_SOURCES] = {
                        [CADU_SOURCE_IN_PLACE] = &est.in_place, [CADU_SOURCE_ZERO] = &est.zero,
                        [CADU_SOURCE_DUPLICATE] = &est.duplicate, [CADU_SOURCE_SEEDS] = &est.seeds[0],
                        [CADU_SOURCE_CACHE] = &est.cache, [CADU_SOURCE_STORES] = NULL,
                        [CADU_SOURCE_PACKS] = &est.packed, [CADU_SOURCE_DELTAS] = &est.deltas,
                        [CADU_SOURCE_MISSING] = &est.missing,
                };
                memset(pp->sources, 0, sizeof(pp->sources));
                for (int k = 0; k < N_SOURCES; k++)
                        if (by[k])
                                pp->sources[k][0] = by[k]->chunks, pp->sources[k][1] = by[k]->bytes;
                for (size_t k = 0; k < nstores; k++)
                        pp->sources[CADU_SOURCE_STORES][0] += est.stores[k].chunks,
                        pp->sources[CADU_SOURCE_STORES][1] += est.stores[k].bytes;
                pp->have_sources = true;
                if (in->out.extract_stats)
                        in->out.extract_stats(in->out.userdata, &o, &est);
        }
        cadu_extract_stats_free(&est);
out:
        for (size_t i = 0; i < nstores; i++)
                cadu_store_free(stores[i]);
        free(stores);
        cadu_store_free(cache);
        return ret;
}

static int item_cmp(const void *a, const void *b) {
        return memcmp(((const cadu_index_item *)a)->id, ((const cadu_index_item *)b)->id, CADU_DIGEST_SIZE);
}

/* The bytes of the distinct chunks of idx that are not all zeros (runs of
 * zeros give chunks of the largest size, and maybe a last one, which are
 * never fetched). */
static int distinct_bytes(const cadu_index *idx, uint64_t *ret) {
        uint8_t zero_id[2][CADU_DIGEST_SIZE];
        uint64_t last = idx->n ? cadu_index_chunk_size(idx, idx->n - 1) : 0;
        uint8_t *zeros = calloc(1, (size_t)idx->max);
        int r = zeros ? cadu_digest(idx->digest, zeros, (size_t)idx->max, zero_id[0]) : -ENOMEM;
        if (r == 0)
                r = cadu_digest(idx->digest, zeros, (size_t)last, zero_id[1]);
        free(zeros);
        if (r < 0)
                return r;
        cadu_index_item *it = malloc((idx->n ? idx->n : 1) * sizeof(*it));
        if (!it)
                return -ENOMEM;
        for (size_t i = 0; i < idx->n; i++)
                it[i] = (cadu_index_item){ cadu_index_chunk_size(idx, i), { 0 } },
                memcpy(it[i].id, idx->items[i].id, CADU_DIGEST_SIZE);
        qsort(it, idx->n, sizeof(*it), item_cmp);
        uint64_t sum = 0;
        for (size_t i = 0; i < idx->n; i++)
                if ((i == 0 || memcmp(it[i].id, it[i - 1].id, CADU_DIGEST_SIZE)) &&
                    !(it[i].end == idx->max && !memcmp(it[i].id, zero_id[0], CADU_DIGEST_SIZE)) &&
                    !(it[i].end == last && !memcmp(it[i].id, zero_id[1], CADU_DIGEST_SIZE)))
                        sum += it[i].end;
        free(it);
        *ret = sum;
        return 0;
}

/* For each image with an applicable rdiff delta on the network or a
 * compressed full image: whichever of them and the chunk plan costs the
 * fewest bytes (then requests) is taken (delta_fetched or full_chosen set).
 * A local applicable delta is always taken. Nothing is fetched yet; a
 * chosen full image on local media is checked against its pins. 0 or
 * -errno. */
static int choose_sources(installer *in) {
        for (size_t i = 0; i < in->m->n_images; i++) {
                prepared *pp = &in->prep[i];
                const cadu_manifest_image *img = &in->m->images[i];
                if (pp->delta || (!pp->delta_url && !pp->full))
                        continue;
                const cadu_config_class *cls = cadu_config_find_class(in->cfg, img->slot_class);
                const char *src = cls->device[cadu_boot_slot_index(in->booted)];
                const char *dst = cls->device[cadu_boot_slot_index(in->target)];
                cadu_extract_plan plan = { 0 };
                /* The chunk plan whatever the budget: plan_download()
                 * holds the cheapest against it. */
                uint64_t budget = in->max_download;
                in->max_download = 0;
                int ret = install_chunks(in, img, pp, src, dst, &plan);
                in->max_download = budget;
                if (ret)
                        return ret;
                /* Per-chunk files whose sizes no pack index gives are
                 * counted at their largest. Against a full image they are
                 * taken to compress as well as it does (its size over the
                 * image's distinct content): a lower bound, so the full
                 * image wins only where the chunks cannot. */
                uint64_t distinct = 0;
                if (pp->full && plan.files_bound && distinct_bytes(pp->idx, &distinct) == 0 && distinct)
                        plan.total_bytes = plan.total_bytes - plan.file_bytes +
                                           (uint64_t)((double)plan.file_bytes * (double)img->full_size / (double)distinct);
                /* 0 chunks, 1 rdiff delta, 2 full image. */
                struct {
                        bool on;
                        uint64_t bytes, requests;
                        const char *what;
                } c[3] = {
                        { true, plan.total_bytes, plan.requests, "chunks" },
                        { pp->delta_url != NULL, img->delta_size, 1, "its rdiff delta" },
                        { pp->full != NULL, img->full_size, full_requests(img->full_size), "its compressed full image" },
                };
                int best = 0;
                for (int k = 1; k < 3; k++)
                        if (c[k].on && (c[k].bytes < c[best].bytes ||
                                        (c[k].bytes == c[best].bytes && c[k].requests < c[best].requests)))
                                best = k;
                char msg[320];
                int n = snprintf(msg, sizeof msg, "%s: %llu bytes", c[best].what, (unsigned long long)c[best].bytes);
                for (int k = 0, first = 1; k < 3; k++) {
                        if (k == best || !c[k].on)
                                continue;
                        n += snprintf(msg + n, sizeof msg - (size_t)n, first ? ", not " : " or ");
                        if (k == 0)
                                n += snprintf(msg + n, sizeof msg - (size_t)n, "%llu bytes of chunks",
                                              (unsigned long long)c[k].bytes);
                        else
                                n += snprintf(msg + n, sizeof msg - (size_t)n, "%s of %llu bytes", c[k].what,
                                              (unsigned long long)c[k].bytes);
                        first = 0;
                }
                event(in, "plan", img->name, msg);
                if (best == 1)
                        pp->delta_fetched = img->delta_size;
                pp->full_chosen = best == 2;
                if (pp->full_chosen && !cadu_location_is_url(pp->full)) {
                        /* On local media it is checked before anything is
                         * written. */
                        _cleanup_free_ char *err = NULL;
                        int r = cadu_manifest_check_file(pp->full, img->full_size, img->full_sha256, &err);
                        if (r < 0)
                                return fail(in, CADU_INSTALL_FAILURE_VERIFY, r, "full image %s: %s", pp->full,
                                            err ? err : cadu_context_strerror(r));
                }
        }
        return 0;
}

/* Fetch the network deltas choose_sources() chose into the state directory
 * and check them against their pins, and open sealed deltas, before
 * anything is written. */
static int fetch_deltas(installer *in) {
        for (size_t i = 0; i < in->m->n_images; i++) {
                prepared *pp = &in->prep[i];
                const cadu_manifest_image *img = &in->m->images[i];
                int ret;
                if (pp->delta && pp->delta_sealed && (ret = open_sealed_delta(in, img, pp)) != 0)
                        return ret;
                if (!pp->delta_url || !pp->delta_fetched)
                        continue;
                cadu_buf b = CADU_BUF_INIT;
                _cleanup_free_ char *err = NULL, *path = NULL;
                char hex[2 * CADU_DIGEST_SIZE + 1];
                cadu_hex_encode(img->delta_sha256, CADU_DIGEST_SIZE, hex);
                event(in, "fetch", img->name, pp->delta_url);
                int r = cadu_fetch(pp->delta_url, &in->so, (size_t)img->delta_size, &b, &err);
                if (r == 0 && asprintf(&path, "%s/rdiff-%s.delta", in->cfg->state_dir, hex) < 0) {
                        path = NULL;
                        r = -ENOMEM;
                }
                if (r == 0)
                        r = cadu_write_file_atomic(path, b.data, b.len);
                cadu_buf_free(&b);
                if (r < 0)
                        return fail(in, r == -EFBIG ? CADU_INSTALL_FAILURE_VERIFY : fetch_kind(r), r, "delta %s: %s",
                                    pp->delta_url,
                                    r == -EFBIG ? "larger than the manifest pins" : err ? err : cadu_context_strerror(r));
                free(err);
                err = NULL;
                if ((r = cadu_manifest_check_file(path, img->delta_size, img->delta_sha256, &err)) < 0) {
                        unlink(path);
                        return fail(in, CADU_INSTALL_FAILURE_VERIFY, r, "delta %s: %s", pp->delta_url,
                                    err ? err : cadu_context_strerror(r));
                }
                pp->delta = path;
                path = NULL;
                pp->delta_tmp = true;
                if (img->encrypted && (ret = open_sealed_delta(in, img, pp)) != 0)
                        return ret;
        }
        return 0;
}

/* What the install will download, image by image (an applicable rdiff delta
 * lies on local media: nothing), shown with --dry-run; refused above
 * max-download before anything is written. 0 or -errno. */
static int plan_download(installer *in) {
        uint64_t total = 0;
        for (size_t i = 0; i < in->m->n_images; i++) {
                const cadu_manifest_image *img = &in->m->images[i];
                const cadu_config_class *cls = cadu_config_find_class(in->cfg, img->slot_class);
                const char *src = cls->device[cadu_boot_slot_index(in->booted)];
                const char *dst = cls->device[cadu_boot_slot_index(in->target)];
                prepared *pp = &in->prep[i];
                cadu_extract_plan p = { 0 };
                int ret;
                bool delta = pp->delta || pp->delta_fetched, full = pp->full_chosen;
                if (!delta && !full && (ret = install_chunks(in, img, pp, src, dst, &p)))
                        return ret;
                pp->from = delta ? CADU_INSTALL_FROM_RDIFF_DELTA : full ? CADU_INSTALL_FROM_FULL_IMAGE
                                                                       : CADU_INSTALL_FROM_CHUNKS;
                pp->planned = true;
                pp->downloaded = delta ? pp->delta_fetched : full ? img->full_size : p.total_bytes;
                total += pp->downloaded;
                if (in->out.plan) {
                        cadu_installer_plan ip = {
                                .image = img->name,
                                .delta = delta,
                                .delta_fetched = pp->delta_fetched,
                                .full = full,
                                .full_bytes = full ? img->full_size : 0,
                                .full_requests = full ? full_requests(img->full_size) : 0,
                                .chunks = &p,
                        };
                        in->out.plan(in->out.userdata, &ip);
                }
        }
        if (in->max_download && total > in->max_download)
                return fail(in, CADU_INSTALL_FAILURE_REFUSED, -EDQUOT,
                            "refusing %s: the download needs %llu bytes, more than the limit of %llu bytes",
                            in->location, (unsigned long long)total, (unsigned long long)in->max_download);
        return 0;
}

static int install_image(installer *in, const cadu_manifest_image *img, prepared *p) {
        const cadu_config_class *cls = cadu_config_find_class(in->cfg, img->slot_class);
        const char *src = cls->device[cadu_boot_slot_index(in->booted)];
        const char *dst = cls->device[cadu_boot_slot_index(in->target)];
        _cleanup_free_ char *seed_path = NULL, *fp_path = NULL;
        _cleanup_free_ cadu_fp *fps = NULL;
        const cadu_index *idx = p->idx;
        const cadu_buf *ib = &p->ib;
        uint8_t got[CADU_DIGEST_SIZE];
        char hex[2 * CADU_DIGEST_SIZE + 1];
        uint64_t before = in->downloaded;
        int r, ret;

        if ((ret = run_hooks(in, "pre-install", img, dst)))
                return ret;
        p->from = CADU_INSTALL_FROM_RDIFF_DELTA;
        ret = install_delta(in, img, p->delta, src, dst);
        if (ret == 0) {
                p->from = CADU_INSTALL_FROM_FULL_IMAGE;
                ret = install_full(in, img, p, dst);
        }
        if (ret < 0)
                return ret;
        if (ret == 0) {
                p->from = CADU_INSTALL_FROM_CHUNKS;
                event(in, "write", img->name, dst);
                if ((ret = install_chunks(in, img, p, src, dst, NULL)))
                        return ret;
        }
        p->downloaded = in->downloaded - before + (p->from == CADU_INSTALL_FROM_RDIFF_DELTA ? p->delta_fetched : 0);
        p->planned = true;
        /* The whole image, as it is on the slot now. */
        event(in, "verify", img->name, dst);
        if (!(fps = malloc((idx->n ? idx->n : 1) * sizeof(cadu_fp))))
                r = -ENOMEM;
        else
                r = read_back(dst, idx, got, fps);
        if (r < 0)
                return fail_errno(in, r, "reading back %s from %s", img->name, dst);
        if (memcmp(got, img->sha256, CADU_DIGEST_SIZE) != 0)
                return fail(in, CADU_INSTALL_FAILURE_VERIFY, -EBADMSG,
                            "%s on slot %c (%s) does not match the manifest's sha256", img->name, in->target, dst);
        cadu_hex_encode(got, CADU_DIGEST_SIZE, hex);
        if ((r = cadu_journal_record_phase(in->cfg->state_dir, "verified", img->name, hex)) < 0)
                return fail_errno(in, r, "writing the install journal");
        /* The next install seeds from this index (and its fingerprints)
         * instead of chunking the slot. The index bytes are the ones the
         * manifest pins, so the fingerprints bind to index-sha256. */
        if ((r = cadu_slot_seed_index_path(in->cfg->state_dir, img->slot_class, in->target, &seed_path)) < 0 ||
            (r = cadu_write_file_atomic(seed_path, ib->data, ib->len)) < 0 ||
            (r = cadu_fp_path(seed_path, &fp_path)) < 0 ||
            (r = cadu_fp_write(fp_path, img->index_sha256, fps, idx->n)) < 0)
                return fail_errno(in, r, "saving the seed index of %s", img->name);
        char ihex[2 * CADU_DIGEST_SIZE + 1];
        cadu_hex_encode(img->index_sha256, CADU_DIGEST_SIZE, ihex);
        cadu_slot_info info = {
                .state = CADU_SLOT_TRIAL,
                .version = in->m->version,
                .image_sha256 = hex,
                .index_sha256 = ihex,
                .installed = (uint64_t)time(NULL),
        };
        if ((r = cadu_slot_info_write(in->cfg->state_dir, img->slot_class, in->target, &info)) < 0)
                return fail_errno(in, r, "recording slot %c of %s", in->target, img->slot_class);
        return run_hooks(in, "post-install", img, dst);
}

/* ---- the public installer ---- */

int cadu_installer_new(cadu_context *ctx, const char *config_path, cadu_installer **ret) {
        _cleanup_free_ char *err = NULL;
        if (!ctx || !ret)
                return -EINVAL;
        cadu_context_clear_error(ctx);
        installer *in = calloc(1, sizeof(*in));
        if (!in)
                return -ENOMEM;
        int r = cadu_config_load(config_path, &in->cfg, &err);
        if (r < 0) {
                free(in);
                if (err)
                        cadu_context_log(ctx, CADU_LOG_ERR, "%s", err);
                else
                        cadu_context_fail(ctx, r, "configuration %s", config_path ? config_path : "/etc/cadu.conf");
                return r;
        }
        in->ctx = ctx;
        in->lock_fd = -1;
        *ret = in;
        return 0;
}

/* Forget the last run: release what it held (the state directory's lock
 * among them). */
static void run_clear(installer *in) {
        for (size_t i = 0; in->prep && i < in->m->n_images; i++)
                prepared_clear(&in->prep[i]);
        free(in->prep);
        in->prep = NULL;
        in->m = cadu_manifest_free(in->m);
        in->boot = cadu_boot_free(in->boot);
        free(in->location);
        free(in->signer);
        in->location = in->signer = NULL;
        cadu_crypt_key_clear(&in->key);
        in->has_key = false;
        if (in->lock_fd >= 0)
                close(in->lock_fd);
        in->lock_fd = -1;
        in->booted = in->target = 0;
        in->downloaded = 0;
        in->result = CADU_INSTALL_NONE;
        in->failure = CADU_INSTALL_FAILURE_NONE;
}

cadu_installer *cadu_installer_free(cadu_installer *in) {
        if (!in)
                return NULL;
        run_clear(in);
        cadu_config_free(in->cfg);
        free(in);
        return NULL;
}

void cadu_installer_set_event(cadu_installer *in, cadu_install_event_fn fn, void *userdata) {
        if (!in)
                return;
        in->event = fn;
        in->event_userdata = userdata;
}

void cadu_installer_set_output(cadu_installer *in, const cadu_installer_output *out) {
        if (in)
                in->out = out ? *out : (cadu_installer_output){ 0 };
}

int cadu_installer_set_max_download(cadu_installer *in, uint64_t bytes) {
        if (!in)
                return -EINVAL;
        in->max_download_set = bytes;
        return 0;
}

/* The network settings: each one the context gives, else the configuration's. */
static void store_options(installer *in) {
        const cadu_config *cf = in->cfg;
        cadu_store_options *o = &in->so;
        *o = in->ctx->storeopts.opts;
        if (!o->max_transfers)
                o->max_transfers = cf->max_transfers;
        if (!o->rate_limit)
                o->rate_limit = cf->rate_limit;
        if (!o->retries)
                o->retries = cf->retries ? cf->retries : CADU_STORE_RETRIES_NONE;
        if (!o->connect_timeout_s)
                o->connect_timeout_s = cf->connect_timeout;
        if (!o->low_speed_time_s)
                o->low_speed_time_s = cf->low_speed_time;
        if (!o->low_speed_limit)
                o->low_speed_limit = cf->low_speed_limit;
        if (!o->deadline_s)
                o->deadline_s = cf->deadline;
        if (!o->max_redirects)
                o->max_redirects = cf->max_redirects;
        if (!o->ca_file)
                o->ca_file = cf->ca_file;
        if (!o->client_cert) {
                /* A certificate and its key come together, from one place. */
                o->client_cert = cf->client_cert;
                o->client_key = cf->client_key;
        }
        if (!o->headers)
                o->headers = (const char *const *)cf->headers;
        if (!o->insecure)
                o->insecure = cf->insecure;
}

static int run(installer *in) {
        const cadu_config *cf = in->cfg;
        _cleanup_free_ char *err = NULL, *sig_loc = NULL;
        cadu_buf mbuf = CADU_BUF_INIT, sbuf = CADU_BUF_INIT;
        int r, ret = 0;

        if (cf->key_file) {
                const char *why = NULL;
                if ((r = cadu_key_file_load(cf->key_file, &in->key, &why)) < 0)
                        return fail(in, cadu_key_file_fault(r) ? CADU_INSTALL_FAILURE_CONFIG : CADU_INSTALL_FAILURE_OTHER,
                                    r, "key-file %s: %s", cf->key_file, why);
                in->has_key = true;
        }
        if ((r = cadu_state_lock(cf->state_dir, &in->lock_fd)) < 0)
                return r == -EBUSY ? fail(in, CADU_INSTALL_FAILURE_OTHER, r,
                                          "another cadu is changing the slots (%s is locked)", cf->state_dir)
                                   : fail_errno(in, r, "state directory %s", cf->state_dir);
        cadu_boot_options bo = cadu_config_boot_options(cf);
        if ((r = cadu_boot_new(&bo, &in->boot)) < 0 || (r = cadu_boot_load(in->boot)) < 0)
                return in->boot ? boot_failure(in, r, "reading the bootloader environment")
                                : fail_errno(in, r, "bootloader");
        const char *from = NULL;
        if ((r = cadu_boot_booted_slot(cf->cmdline, in->boot, cf->slot_variable, &in->booted, &from)) < 0)
                return r == -ENOENT ? fail(in, CADU_INSTALL_FAILURE_OTHER, r,
                                           "cannot tell which slot is running: %s names none%s", cf->cmdline,
                                           cf->slot_variable ? " and neither does the slot variable" : "")
                                    : boot_failure(in, r, "finding the booted slot");
        in->target = cadu_boot_other(in->booted);
        /* The variables stay in memory; the lock is taken again around each store. */
        cadu_boot_unlock(in->boot);

        /* 1. Signature, then manifest: nothing is parsed before it is verified. */
        event(in, "verify-manifest", NULL, in->location);
        if (asprintf(&sig_loc, "%s.sig", in->location) < 0) {
                sig_loc = NULL;
                return fail_errno(in, -ENOMEM, "install");
        }
        if ((r = cadu_fetch(in->location, &in->so, CADU_MANIFEST_MAX_SIZE, &mbuf, &err)) < 0) {
                ret = fail(in, fetch_kind(r), r, "manifest %s: %s", in->location, err ? err : cadu_context_strerror(r));
                goto out;
        }
        free(err);
        err = NULL;
        if ((r = cadu_fetch(sig_loc, &in->so, CADU_MANIFEST_MAX_SIGNATURE_SIZE, &sbuf, &err)) < 0) {
                ret = fail(in, r == -ENOENT ? CADU_INSTALL_FAILURE_VERIFY : fetch_kind(r), r, "signature %s: %s",
                           sig_loc, r == -ENOENT ? "missing: the manifest is not signed" : err ? err : cadu_context_strerror(r));
                goto out;
        }
        cadu_trust trust = {
                .ca_paths = (const char *const *)cf->ca,
                .n_ca_paths = cf->n_ca,
                .signer_name = cf->signer,
                .require_codesign = cf->require_codesign,
        };
        free(err);
        err = NULL;
        r = cadu_manifest_parse_verified(mbuf.data, mbuf.len, sbuf.data, sbuf.len, &trust, &in->m, &in->signer, &err);
        if (r < 0) {
                ret = fail(in, CADU_INSTALL_FAILURE_VERIFY, r, "manifest %s: %s", in->location, err ? err : cadu_context_strerror(r));
                goto out;
        }
        uint8_t msha[CADU_DIGEST_SIZE];
        cadu_digest(CADU_DIGEST_SHA256, mbuf.data, mbuf.len, msha);
        cadu_hex_encode(msha, CADU_DIGEST_SIZE, in->manifest_sha);

        /* 2. Policy, and that the device can take every image, before anything is written. */
        cadu_slot_info cur = CADU_SLOT_INFO_INIT;
        const char *installed = NULL;
        for (size_t i = 0; i < in->m->n_images && !installed; i++)
                if (cadu_slot_info_read(cf->state_dir, in->m->images[i].slot_class, in->booted, &cur) == 0 &&
                    cur.version)
                        installed = cur.version;
                else
                        cadu_slot_info_clear(&cur);
        free(err);
        err = NULL;
        int newer = 1;
        if (in->if_newer && installed && cadu_manifest_version_compare(in->m->version, installed, &newer) == 0 &&
            newer <= 0) {
                /* A poller asking again: not an error, nothing to fetch. */
                char msg[256];
                snprintf(msg, sizeof msg, "version %s is not newer than the installed %s: nothing to do",
                         in->m->version, installed);
                cadu_slot_info_clear(&cur);
                event(in, "done", NULL, msg);
                in->result = CADU_INSTALL_NOT_NEWER;
                goto out;
        }
        r = cadu_manifest_check_policy(in->m, cf->compatible, installed, in->allow_downgrade, time(NULL), &err);
        cadu_slot_info_clear(&cur);
        if (r < 0) {
                ret = fail(in, CADU_INSTALL_FAILURE_REFUSED, r, "refusing %s: %s", in->location,
                           err ? err : cadu_context_strerror(r));
                goto out;
        }
        /* The rollback floor in the bootloader environment, which survives a
         * wiped state directory. */
        const char *floor = NULL;
        int cmp = 0;
        if (cadu_min_version_get(in->boot, &floor) < 0) {
                ret = fail(in, CADU_INSTALL_FAILURE_VERIFY, -EBADMSG,
                           "bootloader environment: %s='%.64s' is not a version", CADU_MIN_VERSION_VAR,
                           cadu_boot_get(in->boot, CADU_MIN_VERSION_VAR));
                goto out;
        }
        if (floor && !in->allow_downgrade && cadu_manifest_version_compare(in->m->version, floor, &cmp) == 0 &&
            cmp < 0) {
                ret = fail(in, CADU_INSTALL_FAILURE_REFUSED, -EPERM,
                           "refusing %s: version %s is older than %s, the lowest this device accepts "
                           "(bootloader variable %s; rollback refused)", in->location, in->m->version, floor,
                           CADU_MIN_VERSION_VAR);
                goto out;
        }
        /* The floor the device was provisioned with (cadu.conf), which no
         * state on the device can lower. */
        if (cf->min_version && !in->allow_downgrade &&
            cadu_manifest_version_compare(in->m->version, cf->min_version, &cmp) == 0 && cmp < 0) {
                ret = fail(in, CADU_INSTALL_FAILURE_REFUSED, -EPERM,
                           "refusing %s: version %s is older than %s, the lowest this device accepts "
                           "(min-version in %s; rollback refused)", in->location, in->m->version, cf->min_version,
                           cf->path);
                goto out;
        }
        /* Every slot class of the device, and only those: the switch is for
         * the whole device. */
        const char **classes = calloc(cf->n_classes + 1, sizeof(char *));
        if (!classes) {
                ret = fail_errno(in, -ENOMEM, "install");
                goto out;
        }
        for (size_t i = 0; i < cf->n_classes; i++)
                classes[i] = cf->classes[i].name;
        free(err);
        err = NULL;
        r = cadu_manifest_check_classes(in->m, classes, cf->n_classes, &err);
        free(classes);
        if (r < 0) {
                ret = fail(in, r == -EPERM ? CADU_INSTALL_FAILURE_REFUSED : CADU_INSTALL_FAILURE_OTHER, r,
                           "refusing %s: %s", in->location, err ? err : cadu_context_strerror(r));
                goto out;
        }
        for (size_t i = 0; i < in->m->n_images; i++) {
                const cadu_manifest_image *img = &in->m->images[i];
                const cadu_config_class *cls = cadu_config_find_class(cf, img->slot_class);
                char a[PATH_MAX], b[PATH_MAX];
                const char *tdev = cls->device[cadu_boot_slot_index(in->target)];
                const char *bdev = cls->device[cadu_boot_slot_index(in->booted)];
                if (realpath(tdev, a) && realpath(bdev, b) && !strcmp(a, b)) {
                        ret = fail(in, CADU_INSTALL_FAILURE_REFUSED, -EBUSY,
                                   "refusing %s: slot %c of %s (%s) is the running slot's device", in->location,
                                   in->target, img->slot_class, tdev);
                        goto out;
                }
                if (access(tdev, W_OK) < 0) {
                        ret = fail_errno(in, -errno, "slot %c of %s (%s)", in->target, img->slot_class, tdev);
                        goto out;
                }
        }

        /* Already done and its trial boot still pending? Then there is nothing
         * to do. (After a failed trial, installing again arms a new one; the
         * slot's content is kept in place and only verified again.) */
        cadu_boot_state bs;
        if ((r = cadu_boot_state_get(in->boot, &bs)) < 0) {
                ret = boot_failure(in, r, "bootloader environment");
                goto out;
        }
        bool trial_pending = cadu_boot_state_next(&bs) == in->target;
        cadu_journal *j = NULL;
        bool resume = false;
        if (cadu_journal_read(cf->state_dir, &j) == 0 && !strcmp(j->manifest_sha256, in->manifest_sha) &&
            j->slot == in->target) {
                if (j->done && trial_pending) {
                        cadu_journal_free(j);
                        event(in, "done", NULL, "already installed; reboot to try it");
                        in->result = CADU_INSTALL_ALREADY_PENDING;
                        goto out;
                }
                resume = !j->done;
        }
        cadu_journal_free(j);

        /* 3. Every index and applicable delta, verified before anything is written. */
        if (!(in->prep = calloc(in->m->n_images, sizeof(*in->prep)))) {
                ret = fail_errno(in, -ENOMEM, "install");
                goto out;
        }
        for (size_t i = 0; i < in->m->n_images; i++)
                in->prep[i].ib = (cadu_buf)CADU_BUF_INIT;
        for (size_t i = 0; i < in->m->n_images; i++)
                if ((ret = prepare_image(in, &in->m->images[i], &in->prep[i])))
                        goto out;
        if ((ret = choose_sources(in)))
                goto out;
        if ((in->dry_run || in->max_download) && (ret = plan_download(in)) != 0)
                goto out;
        if (in->dry_run) {
                event(in, "done", NULL, "dry run: nothing written");
                for (size_t i = 0; i < in->m->n_images; i++)
                        in->downloaded += in->prep[i].downloaded;
                in->result = CADU_INSTALL_PLANNED;
                goto out;
        }
        if ((ret = fetch_deltas(in)))
                goto out;

        if (resume)
                event(in, "resume", NULL, "continuing an interrupted install");
        else if ((r = cadu_journal_start(cf->state_dir, in->manifest_sha, in->target, in->m->version)) < 0) {
                ret = fail_errno(in, r, "starting the install journal in %s", cf->state_dir);
                goto out;
        }

        /* 4. The target slot leaves the boot order before it is touched. */
        if ((r = cadu_boot_load(in->boot)) < 0 || (r = cadu_boot_mark_bad(in->boot, in->target)) < 0 ||
            (r = cadu_boot_store(in->boot)) < 0) {
                ret = boot_failure(in, r, "taking the target slot out of the boot order");
                goto out;
        }
        cadu_boot_unlock(in->boot);
        for (size_t i = 0; i < in->m->n_images; i++) {
                const cadu_manifest_image *img = &in->m->images[i];
                /* Its old content and seed index no longer describe the slot. */
                _cleanup_free_ char *old = NULL, *old_fp = NULL;
                if (cadu_slot_seed_index_path(cf->state_dir, img->slot_class, in->target, &old) == 0) {
                        unlink(old);
                        if (cadu_fp_path(old, &old_fp) == 0)
                                unlink(old_fp);
                }
                cadu_slot_info_set_state(cf->state_dir, img->slot_class, in->target, CADU_SLOT_UNKNOWN);
        }
        cadu_journal_record_phase(cf->state_dir, "target-disabled", NULL, NULL);

        /* 5. Each image. */
        for (size_t i = 0; i < in->m->n_images; i++)
                if ((ret = install_image(in, &in->m->images[i], &in->prep[i])))
                        goto out;

        /* 6. One environment store: a single trial boot of the new slot. */
        event(in, "switch", NULL, in->target == 'A' ? "trial boot of slot A" : "trial boot of slot B");
        /* The running slot must keep attempts to fall back to, even when it
         * is itself still in its (uncommitted) trial. */
        if ((r = cadu_boot_load(in->boot)) == 0 && (r = cadu_boot_state_get(in->boot, &bs)) == 0 &&
            bs.left[cadu_boot_slot_index(in->booted)] == 0)
                r = cadu_boot_reset_attempts(in->boot, in->booted);
        if (r < 0 || (r = cadu_boot_trial(in->boot, in->target)) < 0 || (r = cadu_boot_store(in->boot)) < 0) {
                ret = boot_failure(in, r, "switching the bootloader");
                goto out;
        }
        cadu_boot_unlock(in->boot);
        cadu_journal_record_phase(cf->state_dir, "switched", NULL, in->target == 'A' ? "A" : "B");
        if ((ret = run_hooks(in, "post-switch", NULL, NULL)))
                goto out;
        if ((r = cadu_journal_done(cf->state_dir)) < 0) {
                ret = fail_errno(in, r, "closing the install journal");
                goto out;
        }
        for (size_t i = 0; i < in->m->n_images; i++)
                in->downloaded += in->prep[i].delta_fetched;
        in->result = CADU_INSTALL_INSTALLED;
out:
        cadu_buf_free(&mbuf);
        cadu_buf_free(&sbuf);
        return ret;
}

int cadu_installer_run(cadu_installer *in, const char *manifest, unsigned flags) {
        if (!in || !manifest ||
            (flags & ~(CADU_INSTALL_ALLOW_DOWNGRADE | CADU_INSTALL_IF_NEWER | CADU_INSTALL_DRY_RUN)))
                return -EINVAL;
        cadu_context_clear_error(in->ctx);
        run_clear(in);
        if (!(in->location = strdup(manifest)))
                return fail_errno(in, -ENOMEM, "install");
        in->allow_downgrade = flags & CADU_INSTALL_ALLOW_DOWNGRADE;
        in->if_newer = flags & CADU_INSTALL_IF_NEWER;
        in->dry_run = flags & CADU_INSTALL_DRY_RUN;
        in->max_download = in->max_download_set ? in->max_download_set : in->cfg->max_download;
        store_options(in);
        int r = run(in);
        /* Files of ours (fetched and opened deltas) go, and so does the
         * state directory's lock: the install is over. */
        for (size_t i = 0; in->prep && i < in->m->n_images; i++)
                if (in->prep[i].delta_tmp && in->prep[i].delta) {
                        unlink(in->prep[i].delta);
                        in->prep[i].delta_tmp = false;
                }
        cadu_crypt_key_clear(&in->key);
        in->has_key = false;
        if (in->lock_fd >= 0)
                close(in->lock_fd);
        in->lock_fd = -1;
        cadu_chunk_codec_release();
        if (r < 0)
                in->result = CADU_INSTALL_NONE;
        return r;
}

cadu_install_result cadu_installer_result(const cadu_installer *in) {
        return in ? in->result : CADU_INSTALL_NONE;
}

cadu_install_failure cadu_installer_failure(const cadu_installer *in) {
        return in ? in->failure : CADU_INSTALL_FAILURE_NONE;
}

const char *cadu_installer_version(const cadu_installer *in) {
        return in && in->m ? in->m->version : NULL;
}

const char *cadu_installer_signer(const cadu_installer *in) {
        return in && in->m ? in->signer : NULL;
}

char cadu_installer_booted_slot(const cadu_installer *in) {
        return in ? in->booted : 0;
}

char cadu_installer_target_slot(const cadu_installer *in) {
        return in ? in->target : 0;
}

uint64_t cadu_installer_downloaded(const cadu_installer *in) {
        return in ? in->downloaded : 0;
}

size_t cadu_installer_image_count(const cadu_installer *in) {
        return in && in->m ? in->m->n_images : 0;
}

int cadu_installer_get_image(const cadu_installer *in, size_t i, const char **ret_name, const char **ret_device,
                             cadu_install_from *ret_from, uint64_t *ret_downloaded) {
        if (!in)
                return -EINVAL;
        if (i >= cadu_installer_image_count(in))
                return -ERANGE;
        if (!in->prep || !in->prep[i].planned)
                return -ENODATA;
        const cadu_manifest_image *img = &in->m->images[i];
        const cadu_config_class *cls = cadu_config_find_class(in->cfg, img->slot_class);
        if (ret_name)
                *ret_name = img->name;
        if (ret_device)
                *ret_device = cls->device[cadu_boot_slot_index(in->target)];
        if (ret_from)
                *ret_from = in->prep[i].from;
        if (ret_downloaded)
                *ret_downloaded = in->prep[i].downloaded;
        return 0;
}

int cadu_installer_get_image_source(const cadu_installer *in, size_t i, cadu_source source, uint64_t *ret_chunks,
                                    uint64_t *ret_bytes) {
        if (!in || (unsigned)source >= N_SOURCES)
                return -EINVAL;
        if (i >= cadu_installer_image_count(in))
                return -ERANGE;
        if (!in->prep || !in->prep[i].have_sources || in->prep[i].from != CADU_INSTALL_FROM_CHUNKS)
                return -ENODATA;
        if (ret_chunks)
                *ret_chunks = in->prep[i].sources[source][0];
        if (ret_bytes)
                *ret_bytes = in->prep[i].sources[source][1];
        return 0;
}
