/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu install: the device-side update.
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
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <openssl/crypto.h>

#include "cadu-boot.h"
#include "cadu-caibz.h"
#include "cadu-envelope.h"
#include "cadu-fullimage.h"
#include "cadu-index.h"
#include "cadu-manifest.h"
#include "cadu-rdiff.h"
#include "cadu-store.h"
#include "cmd.h"
#include "cmd-crypt.h"
#include "config.h"
#include "extract.h"
#include "slotstate.h"
#include "storeopts.h"

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

typedef struct installer {
        cadu_config *cfg;
        cadu_boot *boot;
        cadu_storeopts so;
        int lock_fd;
        char booted, target;
        const char *location;           /* the manifest: path or URL */
        cadu_manifest *m;
        prepared *prep;                 /* one per image of m */
        char manifest_sha[2 * CADU_DIGEST_SIZE + 1];
        bool allow_downgrade;
        bool if_newer;                  /* an older or equal version is "nothing to do" */
        bool has_key;                   /* key-file in [store] */
        bool dry_run;                   /* show the plan, change nothing */
        uint64_t max_download;          /* 0: no limit */
        uint64_t downloaded;            /* by the images installed so far */
        cadu_crypt_key key;
} installer;

static void event(const char *phase, const char *image, const char *detail) {
        if (cadu_json) {
                printf("{\"event\":\"phase\",\"phase\":");
                cadu_json_string(stdout, phase);
                if (image) {
                        printf(",\"image\":");
                        cadu_json_string(stdout, image);
                }
                if (detail) {
                        printf(",\"detail\":");
                        cadu_json_string(stdout, detail);
                }
                printf("}\n");
                fflush(stdout);
        } else if (!cadu_quiet)
                fprintf(stderr, "%s%s%s%s%s\n", phase, image ? " " : "", image ? image : "", detail ? ": " : "",
                        detail ? detail : "");
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
                return errno == ENOENT ? 0 : cadu_error_errno(-errno, "hooks directory %s", dir);
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
                        ret = cadu_error_errno(-errno, "running hook %s", path);
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
                        ret = cadu_error("hook %s failed at %s%s%s (%s %d); install aborted", path, phase,
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
 * invalid variables) is exit code 3, as for the slot commands. */
static int boot_failure(installer *in, int r, const char *what) {
        const char *d = cadu_boot_detail(in->boot);
        if (d && *d)
                cadu_error("%s: %s", what, d);
        else
                cadu_error_errno(r, "%s", what);
        return r == -EBADMSG ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
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
 * it becomes the installer's key. 0 or an exit code. */
static int unwrap_key(installer *in, const cadu_manifest_image *img) {
        _cleanup_free_ char *loc = NULL, *err = NULL;
        _cleanup_free_ uint8_t *text = NULL;
        cadu_buf env = CADU_BUF_INIT;
        uint8_t secret[CADU_CRYPT_KEY_SIZE];
        cadu_crypt_key k;
        size_t len = 0;
        int r = cadu_manifest_resolve(in->location, in->m->key_envelope, &loc);
        if (r == 0)
                r = cadu_fetch(loc, &in->so.opts, (size_t)in->m->key_envelope_size + 1, &env, &err);
        if (r == -EFBIG) {
                cadu_buf_free(&env);
                cadu_error("key envelope %s: larger than the %llu bytes the manifest pins", loc,
                           (unsigned long long)in->m->key_envelope_size);
                return CADU_EXIT_VERIFY;
        }
        if (r < 0) {
                cadu_buf_free(&env);
                cadu_error("key envelope %s: %s", loc ? loc : in->m->key_envelope, err ? err : cadu_strerror(r));
                return cadu_storeopts_exit_code(r);
        }
        r = cadu_manifest_check_data(env.data, env.len, in->m->key_envelope_size, in->m->key_envelope_sha256, &err);
        if (r == 0) {
                free(err);
                err = NULL;
                r = cadu_envelope_unwrap(env.data, env.len, in->cfg->recipient_cert, in->cfg->recipient_key,
                                         CADU_CRYPT_KEY_FILE_MAX, &text, &len, &err);
        }
        cadu_buf_free(&env);
        if (r < 0) {
                cadu_error("key envelope %s: %s", loc, err ? err : cadu_strerror(r));
                return r == -ENOKEY ? CADU_EXIT_REFUSED : r == -EINVAL ? CADU_EXIT_USAGE : CADU_EXIT_VERIFY;
        }
        r = cadu_crypt_key_parse(text, len, secret);
        OPENSSL_cleanse(text, len);
        if (r == 0)
                r = cadu_crypt_key_derive(secret, &k);
        OPENSSL_cleanse(secret, sizeof(secret));
        if (r < 0) {
                cadu_error("key envelope %s: the wrapped content is not a store key", loc);
                return CADU_EXIT_VERIFY;
        }
        if (memcmp(k.id, img->store_key, CADU_CRYPT_KEY_ID_SIZE) != 0) {
                char have[2 * CADU_CRYPT_KEY_ID_SIZE + 1], want[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
                cadu_crypt_key_id_hex(k.id, have);
                cadu_crypt_key_id_hex(img->store_key, want);
                cadu_crypt_key_clear(&k);
                cadu_error("key envelope %s wraps key %s, but image %s is encrypted with %s", loc, have, img->name,
                           want);
                return CADU_EXIT_VERIFY;
        }
        in->key = k;
        in->has_key = true;
        cadu_crypt_key_clear(&k);
        return 0;
}

/* An encrypted image (store-key in the manifest): the device's key must be
 * the one named; the index is decrypted in place. 0 or an exit code. */
static int decrypt_index(installer *in, const cadu_manifest_image *img, const char *index_loc, cadu_buf *ib) {
        char want[2 * CADU_CRYPT_KEY_ID_SIZE + 1], have[2 * CADU_CRYPT_KEY_ID_SIZE + 1];
        bool encrypted;
        int r;
        cadu_crypt_key_id_hex(img->store_key, want);
        if ((!in->has_key || memcmp(in->key.id, img->store_key, CADU_CRYPT_KEY_ID_SIZE) != 0) && in->m->key_envelope &&
            in->cfg->recipient_cert && in->cfg->recipient_key && (r = unwrap_key(in, img)) != 0)
                return r;
        if (!in->has_key) {
                cadu_error("image %s is encrypted with store key %s, and %s names no key-file", img->name, want,
                           in->cfg->path);
                return CADU_EXIT_REFUSED;
        }
        if (memcmp(in->key.id, img->store_key, CADU_CRYPT_KEY_ID_SIZE) != 0) {
                cadu_crypt_key_id_hex(in->key.id, have);
                cadu_error("image %s is encrypted with store key %s; this device holds key %s", img->name, want,
                           have);
                return CADU_EXIT_REFUSED;
        }
        if (!cadu_crypt_index_is(ib->data, ib->len)) {
                cadu_error("index %s: not encrypted, but the manifest names store key %s", index_loc, want);
                return CADU_EXIT_VERIFY;
        }
        return cadu_cmd_open_index(index_loc, &in->key, ib, &encrypted);
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
            cadu_store_open(store_loc, &in->so.opts, false, &s) < 0)
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
 * against its pins too. 0 or an exit code; nothing is written. */
static int prepare_image(installer *in, const cadu_manifest_image *img, prepared *p) {
        _cleanup_free_ char *index_loc = NULL, *err = NULL, *delta = NULL;
        /* An encrypted index: the pinned plaintext plus names and overhead. */
        uint64_t max = img->encrypted ? cadu_crypt_index_max_size(img->index_size) : img->index_size;
        int r = cadu_manifest_resolve(in->location, img->index, &index_loc);
        if (r == 0 && fetch_compact_index(in, img, &p->ib) < 0)
                r = cadu_fetch(index_loc, &in->so.opts, (size_t)max, &p->ib, &err);
        if (r == -EFBIG) {
                /* Not a byte beyond the signed pin is read. */
                cadu_error("index %s: larger than the %llu bytes the manifest pins", index_loc,
                           (unsigned long long)max);
                return CADU_EXIT_VERIFY;
        }
        if (r < 0) {
                cadu_error("index %s: %s", index_loc ? index_loc : img->index, err ? err : cadu_strerror(r));
                return cadu_storeopts_exit_code(r);
        }
        free(err);
        err = NULL;
        /* An encrypted index's pack index is named by its ciphertext. */
        if (img->encrypted && (r = cadu_digest(CADU_DIGEST_SHA256, p->ib.data, p->ib.len, p->file_sha)) < 0)
                return cadu_error_errno(r, "index %s", index_loc);
        if (img->encrypted && (r = decrypt_index(in, img, index_loc, &p->ib)) != 0)
                return r;
        r = cadu_manifest_check_index_data(img, p->ib.data, p->ib.len, &p->idx, &err);
        if (r == 0 && cadu_index_size(p->idx) != img->size) {
                r = -EBADMSG;
                err = strdup("the index does not describe an image of the manifest's size");
        }
        if (r < 0) {
                cadu_error("index %s: %s", index_loc, err ? err : cadu_strerror(r));
                return CADU_EXIT_VERIFY;
        }
        /* A full image is read through a store rooted at the manifest's
         * directory: its name must be a store path. */
        if (img->full && cadu_store_relpath_valid(img->full) &&
            (r = cadu_manifest_resolve(in->location, img->full, &p->full)) < 0)
                return cadu_error_errno(r, "full image of %s", img->name);
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
                return cadu_error_errno(r, "delta of %s", img->name);
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
        if (r < 0) {
                cadu_error("delta %s: %s", delta, err ? err : cadu_strerror(r));
                return CADU_EXIT_VERIFY;
        }
        p->delta = delta;
        delta = NULL;
        p->delta_sealed = img->encrypted;
        return 0;
}

/* The sealed rdiff delta of an encrypted image (its pins checked) opened
 * with the store key into a file of ours in the state directory; on
 * success p->delta is that file. 0 or an exit code; nothing is left behind
 * on failure. */
static int open_sealed_delta(installer *in, const cadu_manifest_image *img, prepared *p) {
        _cleanup_free_ char *path = NULL, *role = NULL;
        char hex[2 * CADU_DIGEST_SIZE + 1], ihex[2 * CADU_DIGEST_SIZE + 1];
        cadu_hex_encode(img->delta_sha256, CADU_DIGEST_SIZE, hex);
        cadu_hex_encode(img->sha256, CADU_DIGEST_SIZE, ihex);
        if (asprintf(&path, "%s/rdiff-%s.open", in->cfg->state_dir, hex) < 0 ||
            asprintf(&role, "rdiff:%s:%s", img->name, ihex) < 0)
                return cadu_error_errno(-ENOMEM, "install");
        _cleanup_close_ int src = cadu_open_untrusted(p->delta, 0);
        if (src < 0)
                return cadu_error_errno(src, "delta %s", p->delta);
        int dst = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (dst < 0)
                return cadu_error_errno(-errno, "delta %s: writing %s", p->delta, path);
        int r = cadu_crypt_stream_fd(&in->key, role, false, src, dst);
        if (close(dst) < 0 && r == 0)
                r = -errno;
        if (r < 0) {
                unlink(path);
                cadu_error("delta %s: %s", p->delta,
                           r == -EKEYREJECTED ? "sealed under another store key"
                           : r == -EBADMSG    ? "not a sealed delta of this image, or damaged (authentication failed)"
                                              : cadu_strerror(r));
                return r == -EBADMSG || r == -EKEYREJECTED ? CADU_EXIT_VERIFY : CADU_EXIT_FAILURE;
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
        *p = (prepared){ .ib = CADU_BUF_INIT };
}

/* Apply the image's verified rdiff delta from the booted slot. 1 when
 * applied and the result verified, 0 when there is none or the result is
 * not the image (the caller falls back to the chunk store), or an exit
 * code. */
static int install_delta(installer *in, const cadu_manifest_image *img, const char *delta, const char *src_dev,
                         const char *dst_dev) {
        int r;
        if (!delta)
                return 0;
        event("patch", img->name, delta);
        _cleanup_close_ int bfd = open(src_dev, O_RDONLY | O_CLOEXEC);
        _cleanup_close_ int dfd = cadu_open_untrusted(delta, 0);
        _cleanup_close_ int ofd = open(dst_dev, O_RDWR | O_CLOEXEC);
        uint64_t bsize = 0;
        if (dfd < 0)
                return cadu_error_errno(dfd, "delta %s", delta);
        if (bfd < 0 || ofd < 0)
                return cadu_error_errno(-errno, "patching %s from %s", dst_dev, src_dev);
        if ((r = cadu_fd_size(bfd, &bsize)) < 0)
                return cadu_error_errno(r, "slot %s", src_dev);
        cadu_digest_ctx *h = cadu_digest_new(CADU_DIGEST_SHA256);
        cadu_rdiff_stats st = { 0 };
        uint8_t got[CADU_DIGEST_SIZE];
        if (!h)
                return cadu_error_errno(-ENOMEM, "patch");
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
                return cadu_error_errno(r, "patching %s into %s", img->name, dst_dev);
        if (memcmp(got, img->sha256, CADU_DIGEST_SIZE) != 0) {
                /* The slot held other data than recorded: use the store. */
                event("patch-mismatch", img->name, "falling back to the chunk store");
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
        if ((r = cadu_store_open(base, &in->so.opts, false, &s)) < 0)
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
 * to the chunk store, the slot not yet bootable), or an exit code. */
static int install_full(installer *in, const cadu_manifest_image *img, const prepared *p, const char *dst_dev) {
        _cleanup_free_ char *role = NULL;
        uint8_t got[CADU_DIGEST_SIZE];
        full_job j = { .fd = -1 };
        const char *why = NULL;
        int r;
        if (!p->full_chosen)
                return 0;
        event("full", img->name, p->full);
        char ihex[2 * CADU_DIGEST_SIZE + 1];
        cadu_hex_encode(img->sha256, CADU_DIGEST_SIZE, ihex);
        if (asprintf(&role, "full:%s:%s", img->name, ihex) < 0)
                return cadu_error_errno(-ENOMEM, "install");
        if ((j.fd = open(dst_dev, O_RDWR | O_CLOEXEC)) < 0)
                return cadu_error_errno(-errno, "writing %s to %s", img->name, dst_dev);
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
                return cadu_error_errno(r, "writing %s to %s", img->name, dst_dev);
        if (r < 0) {
                char msg[256];
                snprintf(msg, sizeof msg, "%s: %s; falling back to the chunk store", p->full,
                         why                    ? why
                         : r == -EBADMSG        ? "damaged, forged or not this image's (refused)"
                         : r == -EFBIG          ? "decompresses to more than the image size"
                         : r == -EKEYREJECTED   ? "sealed under another store key"
                                                : cadu_strerror(r));
                if (cadu_json)
                        event("full-failed", img->name, msg);
                else
                        cadu_error("full image %s", msg);
                return 0;
        }
        return 1;
}

/* Write the image's chunks to dst_dev, or with plan (not NULL) only plan
 * them into *plan. */
static int install_chunks(installer *in, const cadu_manifest_image *img, const prepared *pp,
                          const char *src_dev, const char *dst_dev, cadu_extract_plan *plan) {
        const cadu_index *idx = pp->idx;
        _cleanup_free_ char *seed_idx = NULL, *img_store = NULL, *msg = NULL;
        cadu_seed seed = { .path = src_dev };
        struct stat st;
        int r, ret = CADU_EXIT_OK;

        /* The cheapest seed: the index saved when the booted slot was
         * installed, so the slot need not be chunked. */
        if (cadu_slot_seed_index_path(in->cfg->state_dir, img->slot_class, in->booted, &seed_idx) == 0 &&
            stat(seed_idx, &st) == 0)
                seed.index_path = seed_idx;

        size_t nstores = 0;
        cadu_store **stores = calloc(in->cfg->n_urls + 2, sizeof(cadu_store *));
        cadu_store *cache = NULL;
        if (!stores)
                return cadu_error_errno(-ENOMEM, "install");
        if (img->store) {
                if ((r = cadu_manifest_resolve(in->location, img->store, &img_store)) < 0) {
                        ret = cadu_error_errno(r, "store of %s", img->name);
                        goto out;
                }
                /* A store beside the manifest on local media may be absent
                 * when the device uses network stores. */
                r = cadu_store_open(img_store, &in->so.opts, false, &stores[nstores]);
                if (r == 0)
                        nstores++;
                else if (cadu_location_is_url(img_store) || in->cfg->n_urls == 0) {
                        ret = cadu_error_errno(r, "store %s", img_store);
                        goto out;
                }
        }
        for (size_t i = 0; i < in->cfg->n_urls; i++) {
                if ((r = cadu_store_open(in->cfg->urls[i], &in->so.opts, false, &stores[nstores])) < 0) {
                        ret = cadu_error_errno(r, "store %s", in->cfg->urls[i]);
                        goto out;
                }
                nstores++;
        }
        for (size_t i = 0; img->encrypted && i < nstores; i++)
                if ((r = cadu_cmd_wrap_store(&stores[i], &in->key)) < 0) {
                        ret = cadu_error_errno(r, "store of %s", img->name);
                        goto out;
                }
        if (in->cfg->cache_dir && (r = cadu_store_open_dir(in->cfg->cache_dir, true, &cache)) < 0) {
                ret = cadu_error_errno(r, "cache %s", in->cfg->cache_dir);
                goto out;
        }
        cadu_extract_progress xp;
        cadu_extract_opts o = {
                .index = idx,
                .seeds = &seed,
                .nseeds = 1,
                .cache = cache,
                .stores = stores,
                .nstores = nstores,
                .out_path = dst_dev,
                .in_place = true,
                .index_sha = img->encrypted ? pp->file_sha : img->index_sha256,
                .max_download = in->max_download ? in->max_download - CADU_MIN(in->downloaded, in->max_download - 1) : 0,
                .plan_only = plan != NULL,
                .progress = cadu_extract_progress_out,
                .seed_progress = cadu_extract_progress_seed,
                .userdata = &xp,
        };
        cadu_extract_stats est;
        char what[128];
        snprintf(what, sizeof(what), "install %s", img->name);
        if (!plan)
                cadu_extract_progress_begin(&xp, what, img->size);
        else
                o.progress = NULL, o.seed_progress = NULL;
        r = cadu_extract(&o, &est, &msg);
        if (!plan)
                cadu_extract_progress_end(&xp);
        if (plan)
                *plan = est.plan;       /* (the install fetches the pack index again) */
        else
                in->downloaded += est.downloaded;
        if (r == -EDQUOT) {
                cadu_error("writing %s to slot %c (%s): %s", img->name, in->target, dst_dev, msg);
                ret = CADU_EXIT_REFUSED;
        } else if (r < 0 && plan) {
                cadu_error("planning %s: %s: %s", img->name, msg ? msg : "failed", cadu_strerror(r));
                ret = cadu_storeopts_exit_code(r);
        } else if (plan)
                ;
        else if (r < 0) {
                cadu_error("writing %s to slot %c (%s): %s: %s", img->name, in->target, dst_dev,
                           msg ? msg : "failed", cadu_strerror(r));
                ret = r == -EBADMSG || r == -EFBIG ? CADU_EXIT_VERIFY : cadu_storeopts_exit_code(r);
        } else if (!cadu_quiet || cadu_json)
                cadu_print_extract_stats("install", &o, &est);
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
 * chosen full image on local media is checked against its pins. 0 or an
 * exit code. */
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
                event("plan", img->name, msg);
                if (best == 1)
                        pp->delta_fetched = img->delta_size;
                pp->full_chosen = best == 2;
                if (pp->full_chosen && !cadu_location_is_url(pp->full)) {
                        /* On local media it is checked before anything is
                         * written. */
                        _cleanup_free_ char *err = NULL;
                        int r = cadu_manifest_check_file(pp->full, img->full_size, img->full_sha256, &err);
                        if (r < 0) {
                                cadu_error("full image %s: %s", pp->full, err ? err : cadu_strerror(r));
                                return CADU_EXIT_VERIFY;
                        }
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
                event("fetch", img->name, pp->delta_url);
                int r = cadu_fetch(pp->delta_url, &in->so.opts, (size_t)img->delta_size, &b, &err);
                if (r == 0 && asprintf(&path, "%s/rdiff-%s.delta", in->cfg->state_dir, hex) < 0) {
                        path = NULL;
                        r = -ENOMEM;
                }
                if (r == 0)
                        r = cadu_write_file_atomic(path, b.data, b.len);
                cadu_buf_free(&b);
                if (r < 0) {
                        cadu_error("delta %s: %s", pp->delta_url,
                                   r == -EFBIG ? "larger than the manifest pins" : err ? err : cadu_strerror(r));
                        return r == -EFBIG ? CADU_EXIT_VERIFY : cadu_storeopts_exit_code(r);
                }
                free(err);
                err = NULL;
                if ((r = cadu_manifest_check_file(path, img->delta_size, img->delta_sha256, &err)) < 0) {
                        unlink(path);
                        cadu_error("delta %s: %s", pp->delta_url, err ? err : cadu_strerror(r));
                        return CADU_EXIT_VERIFY;
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
 * max-download before anything is written. 0 or an exit code. */
static int plan_download(installer *in) {
        uint64_t total = 0;
        for (size_t i = 0; i < in->m->n_images; i++) {
                const cadu_manifest_image *img = &in->m->images[i];
                const cadu_config_class *cls = cadu_config_find_class(in->cfg, img->slot_class);
                const char *src = cls->device[cadu_boot_slot_index(in->booted)];
                const char *dst = cls->device[cadu_boot_slot_index(in->target)];
                cadu_extract_plan p = { 0 };
                int ret;
                bool delta = in->prep[i].delta || in->prep[i].delta_fetched, full = in->prep[i].full_chosen;
                if (!delta && !full && (ret = install_chunks(in, img, &in->prep[i], src, dst, &p)))
                        return ret;
                total += delta ? in->prep[i].delta_fetched : full ? img->full_size : p.total_bytes;
                if (cadu_json) {
                        printf("{\"event\":\"plan\",\"image\":");
                        cadu_json_string(stdout, img->name);
                        printf(",\"rdiff_delta\":%s,\"rdiff_delta_bytes\":%llu", delta ? "true" : "false",
                               (unsigned long long)in->prep[i].delta_fetched);
                        printf(",\"full_image\":%s,\"full_image_bytes\":%llu,\"full_image_requests\":%llu,\"plan\":",
                               full ? "true" : "false", (unsigned long long)(full ? img->full_size : 0),
                               (unsigned long long)(full ? full_requests(img->full_size) : 0));
                        cadu_print_extract_plan(&p);
                        printf("}\n");
                } else if (!cadu_quiet) {
                        if (full)
                                fprintf(stderr, "plan %s: its compressed full image, %llu bytes in %llu requests\n",
                                        img->name, (unsigned long long)img->full_size,
                                        (unsigned long long)full_requests(img->full_size));
                        else if (in->prep[i].delta_fetched)
                                fprintf(stderr, "plan %s: its rdiff delta from the running slot, %llu bytes fetched\n",
                                        img->name, (unsigned long long)in->prep[i].delta_fetched);
                        else
                                fprintf(stderr, "plan %s: %s\n", img->name,
                                        in->prep[i].delta ? "its rdiff delta from the running slot, on local media"
                                                          : "chunks");
                        if (!delta && !full)
                                cadu_print_extract_plan(&p);
                }
        }
        if (in->max_download && total > in->max_download)
                return cadu_error("refusing %s: the download needs %llu bytes, more than the limit of %llu bytes",
                                  in->location, (unsigned long long)total, (unsigned long long)in->max_download),
                       CADU_EXIT_REFUSED;
        return 0;
}

static int install_image(installer *in, const cadu_manifest_image *img, const prepared *p) {
        const cadu_config_class *cls = cadu_config_find_class(in->cfg, img->slot_class);
        const char *src = cls->device[cadu_boot_slot_index(in->booted)];
        const char *dst = cls->device[cadu_boot_slot_index(in->target)];
        _cleanup_free_ char *seed_path = NULL, *fp_path = NULL;
        _cleanup_free_ cadu_fp *fps = NULL;
        const cadu_index *idx = p->idx;
        const cadu_buf *ib = &p->ib;
        uint8_t got[CADU_DIGEST_SIZE];
        char hex[2 * CADU_DIGEST_SIZE + 1];
        int r, ret;

        if ((ret = run_hooks(in, "pre-install", img, dst)))
                return ret;
        ret = install_delta(in, img, p->delta, src, dst);
        if (ret == 0)
                ret = install_full(in, img, p, dst);
        if (ret > 1)
                return ret;
        if (ret == 0) {
                event("write", img->name, dst);
                if ((ret = install_chunks(in, img, p, src, dst, NULL)))
                        return ret;
        }
        ret = 0;
        /* The whole image, as it is on the slot now. */
        event("verify", img->name, dst);
        if (!(fps = malloc((idx->n ? idx->n : 1) * sizeof(cadu_fp))))
                r = -ENOMEM;
        else
                r = read_back(dst, idx, got, fps);
        if (r < 0)
                return cadu_error_errno(r, "reading back %s from %s", img->name, dst);
        if (memcmp(got, img->sha256, CADU_DIGEST_SIZE) != 0) {
                cadu_error("%s on slot %c (%s) does not match the manifest's sha256", img->name, in->target, dst);
                return CADU_EXIT_VERIFY;
        }
        cadu_hex_encode(got, CADU_DIGEST_SIZE, hex);
        if ((r = cadu_journal_record_phase(in->cfg->state_dir, "verified", img->name, hex)) < 0)
                return cadu_error_errno(r, "writing the install journal");
        /* The next install seeds from this index (and its fingerprints)
         * instead of chunking the slot. The index bytes are the ones the
         * manifest pins, so the fingerprints bind to index-sha256. */
        if ((r = cadu_slot_seed_index_path(in->cfg->state_dir, img->slot_class, in->target, &seed_path)) < 0 ||
            (r = cadu_write_file_atomic(seed_path, ib->data, ib->len)) < 0 ||
            (r = cadu_fp_path(seed_path, &fp_path)) < 0 ||
            (r = cadu_fp_write(fp_path, img->index_sha256, fps, idx->n)) < 0)
                return cadu_error_errno(r, "saving the seed index of %s", img->name);
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
                return cadu_error_errno(r, "recording slot %c of %s", in->target, img->slot_class);
        return run_hooks(in, "post-install", img, dst);
}

static const char install_help[] =
        "Usage: cadu install [OPTIONS] MANIFEST\n\n"
        "Install the update that MANIFEST (a path or an http(s) URL; its signature\n"
        "is MANIFEST.sig) describes into the slots this device is not running,\n"
        "then arrange one trial boot of them. After a good boot, run\n"
        "'cadu mark-good'; a trial that does not come up falls back by itself.\n"
        "An interrupted install resumes when run again.\n\n"
        "Options:\n"
        "  -c, --config FILE       device configuration (default /etc/cadu.conf)\n"
        "      --allow-downgrade   accept a version not newer than the installed one\n"
        "      --if-newer          succeed without installing when the version is\n"
        "                          not newer than the installed one (for pollers)\n"
        "      --dry-run           verify the release and show what it would download\n"
        "                          (bytes and requests by source); change nothing\n"
        "      --max-download BYTES  refuse, before writing anything, when the\n"
        "                          download needs more (K/M/G; default: max-download\n"
        "                          in [store] of the configuration)\n"
        "  -q, --quiet             no progress and no summary\n"
        "      --json              progress events and statistics as JSON on stdout\n"
        "  -h, --help              show this help\n\n"
        "Network store options (also settable in the [store] section):\n";

int cadu_cmd_install(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "allow-downgrade", no_argument, NULL, 'D' },
                { "if-newer", no_argument, NULL, 'N' },
                { "dry-run", no_argument, NULL, 'n' },
                { "max-download", required_argument, NULL, 'M' },
                { "help", no_argument, NULL, 'h' },
                CADU_STOREOPTS_LONG_OPTIONS,
                {}
        };
        installer in = { .lock_fd = -1 };
        const char *config_path = NULL;
        _cleanup_free_ char *err = NULL, *sig_loc = NULL, *signer = NULL;
        cadu_buf mbuf = CADU_BUF_INIT, sbuf = CADU_BUF_INIT;
        cadu_storeopts cli = { 0 };
        int c, r, ret = CADU_EXIT_OK;

        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0) {
                switch (c) {
                case 'c': config_path = optarg; break;
                case 'D': in.allow_downgrade = true; break;
                case 'N': in.if_newer = true; break;
                case 'n': in.dry_run = true; break;
                case 'M':
                        if (cadu_parse_size(optarg, &in.max_download) < 0 || !in.max_download) {
                                cadu_storeopts_done(&cli);
                                return cadu_usage_error("install", "invalid --max-download '%s'", optarg);
                        }
                        break;
                case CADU_STOREOPT_FIRST ... CADU_STOREOPT_LAST:
                        if ((r = cadu_storeopts_parse(&cli, "install", c, optarg)) != 0) {
                                cadu_storeopts_done(&cli);
                                return r;
                        }
                        break;
                case 'h':
                        fputs(install_help, stdout);
                        fputs(cadu_storeopts_help, stdout);
                        return CADU_EXIT_OK;
                default:
                        cadu_storeopts_done(&cli);
                        return cadu_usage_error("install", "invalid option");
                }
        }
        if (argc - optind != 1) {
                cadu_storeopts_done(&cli);
                return cadu_usage_error("install", "expected MANIFEST");
        }
        in.location = argv[optind];

        r = cadu_config_load(config_path, &in.cfg, &err);
        if (r < 0) {
                cadu_storeopts_done(&cli);
                cadu_error("%s", err ? err : cadu_strerror(r));
                return CADU_EXIT_USAGE;
        }
        /* Network options: each one the command line gives, else the
         * configuration's. */
        const cadu_config *cf = in.cfg;
        in.so = cli;
        cli = (cadu_storeopts){ 0 };
        cadu_store_options *o = &in.so.opts;
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
        if (!in.max_download)
                in.max_download = cf->max_download;
        if (cf->key_file) {
                if ((ret = cadu_cmd_load_key("key-file", cf->key_file, &in.key)) != 0)
                        goto out;
                in.has_key = true;
        }
        if ((r = cadu_state_lock(cf->state_dir, &in.lock_fd)) < 0) {
                ret = r == -EBUSY ? cadu_error("another cadu is changing the slots (%s is locked)", cf->state_dir)
                                  : cadu_error_errno(r, "state directory %s", cf->state_dir);
                goto out;
        }
        cadu_boot_options bo = cadu_config_boot_options(cf);
        if ((r = cadu_boot_new(&bo, &in.boot)) < 0 || (r = cadu_boot_load(in.boot)) < 0) {
                ret = in.boot ? boot_failure(&in, r, "reading the bootloader environment")
                              : cadu_error_errno(r, "bootloader");
                goto out;
        }
        const char *from = NULL;
        if ((r = cadu_boot_booted_slot(cf->cmdline, in.boot, cf->slot_variable, &in.booted, &from)) < 0) {
                ret = r == -ENOENT ? cadu_error("cannot tell which slot is running: %s names none%s", cf->cmdline,
                                                cf->slot_variable ? " and neither does the slot variable" : "")
                                   : boot_failure(&in, r, "finding the booted slot");
                goto out;
        }
        in.target = cadu_boot_other(in.booted);
        /* The variables stay in memory; the lock is taken again around each store. */
        cadu_boot_unlock(in.boot);

        /* 1. Signature, then manifest: nothing is parsed before it is verified. */
        event("verify-manifest", NULL, in.location);
        if (asprintf(&sig_loc, "%s.sig", in.location) < 0) {
                ret = cadu_error_errno(-ENOMEM, "install");
                goto out;
        }
        free(err);
        err = NULL;
        if ((r = cadu_fetch(in.location, &in.so.opts, CADU_MANIFEST_MAX_SIZE, &mbuf, &err)) < 0) {
                cadu_error("manifest %s: %s", in.location, err ? err : cadu_strerror(r));
                ret = cadu_storeopts_exit_code(r);
                goto out;
        }
        free(err);
        err = NULL;
        if ((r = cadu_fetch(sig_loc, &in.so.opts, CADU_MANIFEST_MAX_SIGNATURE_SIZE, &sbuf, &err)) < 0) {
                cadu_error("signature %s: %s", sig_loc, r == -ENOENT ? "missing: the manifest is not signed"
                                                                      : err ? err : cadu_strerror(r));
                ret = r == -ENOENT ? CADU_EXIT_VERIFY : cadu_storeopts_exit_code(r);
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
        r = cadu_manifest_parse_verified(mbuf.data, mbuf.len, sbuf.data, sbuf.len, &trust, &in.m, &signer, &err);
        if (r < 0) {
                cadu_error("manifest %s: %s", in.location, err ? err : cadu_strerror(r));
                ret = CADU_EXIT_VERIFY;
                goto out;
        }
        uint8_t msha[CADU_DIGEST_SIZE];
        cadu_digest(CADU_DIGEST_SHA256, mbuf.data, mbuf.len, msha);
        cadu_hex_encode(msha, CADU_DIGEST_SIZE, in.manifest_sha);

        /* 2. Policy, and that the device can take every image, before anything is written. */
        cadu_slot_info cur = CADU_SLOT_INFO_INIT;
        const char *installed = NULL;
        for (size_t i = 0; i < in.m->n_images && !installed; i++)
                if (cadu_slot_info_read(cf->state_dir, in.m->images[i].slot_class, in.booted, &cur) == 0 && cur.version)
                        installed = cur.version;
                else
                        cadu_slot_info_clear(&cur);
        free(err);
        err = NULL;
        int newer = 1;
        if (in.if_newer && installed && cadu_manifest_version_compare(in.m->version, installed, &newer) == 0 &&
            newer <= 0) {
                /* A poller asking again: not an error, nothing to fetch. */
                char msg[256];
                snprintf(msg, sizeof msg, "version %s is not newer than the installed %s: nothing to do",
                         in.m->version, installed);
                cadu_slot_info_clear(&cur);
                event("done", NULL, msg);
                goto out;
        }
        r = cadu_manifest_check_policy(in.m, cf->compatible, installed, in.allow_downgrade, time(NULL), &err);
        cadu_slot_info_clear(&cur);
        if (r < 0) {
                cadu_error("refusing %s: %s", in.location, err ? err : cadu_strerror(r));
                ret = CADU_EXIT_REFUSED;
                goto out;
        }
        /* The rollback floor in the bootloader environment, which survives a
         * wiped state directory. */
        const char *floor = NULL;
        int cmp = 0;
        if (cadu_min_version_get(in.boot, &floor) < 0) {
                cadu_error("bootloader environment: %s='%.64s' is not a version", CADU_MIN_VERSION_VAR,
                           cadu_boot_get(in.boot, CADU_MIN_VERSION_VAR));
                ret = CADU_EXIT_VERIFY;
                goto out;
        }
        if (floor && !in.allow_downgrade && cadu_manifest_version_compare(in.m->version, floor, &cmp) == 0 &&
            cmp < 0) {
                cadu_error("refusing %s: version %s is older than %s, the lowest this device accepts "
                           "(bootloader variable %s; rollback refused)", in.location, in.m->version, floor,
                           CADU_MIN_VERSION_VAR);
                ret = CADU_EXIT_REFUSED;
                goto out;
        }
        /* The floor the device was provisioned with (cadu.conf), which no
         * state on the device can lower. */
        if (cf->min_version && !in.allow_downgrade &&
            cadu_manifest_version_compare(in.m->version, cf->min_version, &cmp) == 0 && cmp < 0) {
                cadu_error("refusing %s: version %s is older than %s, the lowest this device accepts "
                           "(min-version in %s; rollback refused)", in.location, in.m->version, cf->min_version,
                           cf->path);
                ret = CADU_EXIT_REFUSED;
                goto out;
        }
        /* Every slot class of the device, and only those: the switch is for
         * the whole device. */
        const char **classes = calloc(cf->n_classes + 1, sizeof(char *));
        if (!classes) {
                ret = cadu_error_errno(-ENOMEM, "install");
                goto out;
        }
        for (size_t i = 0; i < cf->n_classes; i++)
                classes[i] = cf->classes[i].name;
        free(err);
        err = NULL;
        r = cadu_manifest_check_classes(in.m, classes, cf->n_classes, &err);
        free(classes);
        if (r < 0) {
                cadu_error("refusing %s: %s", in.location, err ? err : cadu_strerror(r));
                ret = r == -EPERM ? CADU_EXIT_REFUSED : CADU_EXIT_FAILURE;
                goto out;
        }
        for (size_t i = 0; i < in.m->n_images; i++) {
                const cadu_manifest_image *img = &in.m->images[i];
                const cadu_config_class *cls = cadu_config_find_class(cf, img->slot_class);
                char a[PATH_MAX], b[PATH_MAX];
                const char *tdev = cls->device[cadu_boot_slot_index(in.target)];
                const char *bdev = cls->device[cadu_boot_slot_index(in.booted)];
                if (realpath(tdev, a) && realpath(bdev, b) && !strcmp(a, b)) {
                        ret = cadu_error("refusing %s: slot %c of %s (%s) is the running slot's device", in.location,
                                         in.target, img->slot_class, tdev);
                        ret = CADU_EXIT_REFUSED;
                        goto out;
                }
                if (access(tdev, W_OK) < 0) {
                        ret = cadu_error_errno(-errno, "slot %c of %s (%s)", in.target, img->slot_class, tdev);
                        goto out;
                }
        }

        /* Already done and its trial boot still pending? Then there is nothing
         * to do. (After a failed trial, installing again arms a new one; the
         * slot's content is kept in place and only verified again.) */
        cadu_boot_state bs;
        if ((r = cadu_boot_state_get(in.boot, &bs)) < 0) {
                ret = boot_failure(&in, r, "bootloader environment");
                goto out;
        }
        bool trial_pending = cadu_boot_state_next(&bs) == in.target;
        cadu_journal *j = NULL;
        bool resume = false;
        if (cadu_journal_read(cf->state_dir, &j) == 0 && !strcmp(j->manifest_sha256, in.manifest_sha) &&
            j->slot == in.target) {
                if (j->done && trial_pending) {
                        cadu_journal_free(j);
                        event("done", NULL, "already installed; reboot to try it");
                        goto out;
                }
                resume = !j->done;
        }
        cadu_journal_free(j);

        /* 3. Every index and applicable delta, verified before anything is written. */
        if (!(in.prep = calloc(in.m->n_images, sizeof(*in.prep)))) {
                ret = cadu_error_errno(-ENOMEM, "install");
                goto out;
        }
        for (size_t i = 0; i < in.m->n_images; i++)
                if ((ret = prepare_image(&in, &in.m->images[i], &in.prep[i])))
                        goto out;
        if ((ret = choose_sources(&in)))
                goto out;
        if ((in.dry_run || in.max_download) && (ret = plan_download(&in)) != 0)
                goto out;
        if (in.dry_run) {
                event("done", NULL, "dry run: nothing written");
                goto out;
        }
        if ((ret = fetch_deltas(&in)))
                goto out;

        if (resume)
                event("resume", NULL, "continuing an interrupted install");
        else if ((r = cadu_journal_start(cf->state_dir, in.manifest_sha, in.target, in.m->version)) < 0) {
                ret = cadu_error_errno(r, "starting the install journal in %s", cf->state_dir);
                goto out;
        }

        /* 4. The target slot leaves the boot order before it is touched. */
        if ((r = cadu_boot_load(in.boot)) < 0 || (r = cadu_boot_mark_bad(in.boot, in.target)) < 0 ||
            (r = cadu_boot_store(in.boot)) < 0) {
                ret = boot_failure(&in, r, "taking the target slot out of the boot order");
                goto out;
        }
        cadu_boot_unlock(in.boot);
        for (size_t i = 0; i < in.m->n_images; i++) {
                const cadu_manifest_image *img = &in.m->images[i];
                /* Its old content and seed index no longer describe the slot. */
                _cleanup_free_ char *old = NULL, *old_fp = NULL;
                if (cadu_slot_seed_index_path(cf->state_dir, img->slot_class, in.target, &old) == 0) {
                        unlink(old);
                        if (cadu_fp_path(old, &old_fp) == 0)
                                unlink(old_fp);
                }
                cadu_slot_info_set_state(cf->state_dir, img->slot_class, in.target, CADU_SLOT_UNKNOWN);
        }
        cadu_journal_record_phase(cf->state_dir, "target-disabled", NULL, NULL);

        /* 5. Each image. */
        for (size_t i = 0; i < in.m->n_images; i++)
                if ((ret = install_image(&in, &in.m->images[i], &in.prep[i])))
                        goto out;

        /* 6. One environment store: a single trial boot of the new slot. */
        event("switch", NULL, in.target == 'A' ? "trial boot of slot A" : "trial boot of slot B");
        /* The running slot must keep attempts to fall back to, even when it
         * is itself still in its (uncommitted) trial. */
        if ((r = cadu_boot_load(in.boot)) == 0 && (r = cadu_boot_state_get(in.boot, &bs)) == 0 &&
            bs.left[cadu_boot_slot_index(in.booted)] == 0)
                r = cadu_boot_reset_attempts(in.boot, in.booted);
        if (r < 0 || (r = cadu_boot_trial(in.boot, in.target)) < 0 || (r = cadu_boot_store(in.boot)) < 0) {
                ret = boot_failure(&in, r, "switching the bootloader");
                goto out;
        }
        cadu_boot_unlock(in.boot);
        cadu_journal_record_phase(cf->state_dir, "switched", NULL, in.target == 'A' ? "A" : "B");
        if ((ret = run_hooks(&in, "post-switch", NULL, NULL)))
                goto out;
        if ((r = cadu_journal_done(cf->state_dir)) < 0) {
                ret = cadu_error_errno(r, "closing the install journal");
                goto out;
        }
        if (cadu_json)
                printf("{\"event\":\"done\",\"command\":\"install\",\"version\":\"%s\",\"slot\":\"%c\",\"signer\":",
                       in.m->version, in.target), cadu_json_string(stdout, signer), printf("}\n");
        else if (!cadu_quiet)
                fprintf(stderr, "installed %s into slot %c (signed by %s); reboot to try it, then 'cadu mark-good'\n",
                        in.m->version, in.target, signer ? signer : "?");
out:
        cadu_buf_free(&mbuf);
        cadu_buf_free(&sbuf);
        for (size_t i = 0; in.prep && i < in.m->n_images; i++)
                prepared_clear(&in.prep[i]);
        free(in.prep);
        cadu_manifest_free(in.m);
        cadu_boot_free(in.boot);
        cadu_config_free(in.cfg);
        cadu_crypt_key_clear(&in.key);
        cadu_storeopts_done(&in.so);
        cadu_storeopts_done(&cli);
        if (in.lock_fd >= 0)
                close(in.lock_fd);
        cadu_chunk_codec_release();
        return ret;
}
