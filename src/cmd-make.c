/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu make: chunk an image, store the compressed chunks, write the index
 * (lib/make.c), then the optional steps: deltas, packs, compact indexes and
 * a manifest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "cadu-chunker.h"
#include "cadu-index.h"
#include "cadu-manifest.h"
#include "cadu-store.h"
#include "cadu-util.h"
#include "cmd-crypt.h"
#include "cmd.h"
#include "make.h"
#include "make-packs.h"
#include "cadu-caibz.h"
#include "make-deltas.h"

/* The compact forms of the index (cadu-caibz.h) into STORE/packs: alone, and
 * against each base index given with --index-base. */
static int write_caibz(const char *store_path, const char *index_path, const cadu_index *idx, char **bases,
                       size_t nbases) {
        uint8_t sha[CADU_DIGEST_SIZE], bsha[CADU_DIGEST_SIZE];
        int r = cadu_sha256_file(index_path, sha, NULL);
        if (r < 0)
                return cadu_error_errno(r, "reading index %s", index_path);
        for (size_t i = 0; i <= nbases; i++) {
                cadu_index *base = NULL;
                cadu_buf z = CADU_BUF_INIT;
                char rel[CADU_CAIBZ_PATH_MAX];
                _cleanup_free_ char *path = NULL;
                if (i < nbases) {
                        const char *reason = NULL;
                        if ((r = cadu_index_read(bases[i], &base, &reason)) < 0 ||
                            (r = cadu_sha256_file(bases[i], bsha, NULL)) < 0) {
                                cadu_index_free(base);
                                return cadu_error("--index-base %s: %s", bases[i], reason ? reason : cadu_strerror(r));
                        }
                }
                cadu_caibz_path(sha, i < nbases ? bsha : NULL, rel);
                if (asprintf(&path, "%s/%s", store_path, rel) < 0) {
                        cadu_index_free(base);
                        return cadu_error_errno(-ENOMEM, "make");
                }
                /* Immutable, named by what it holds: one already there stays. */
                struct stat st;
                if (lstat(path, &st) == 0) {
                        cadu_index_free(base);
                        continue;
                }
                r = cadu_caibz_encode(idx, base, 19, &z);
                /* packs/ exists: the pack step wrote the pack index there. */
                if (r == 0)
                        r = cadu_write_file_atomic(path, z.data, z.len);
                cadu_index_free(base);
                cadu_buf_free(&z);
                if (r < 0)
                        return cadu_error_errno(r, "writing the compact index %s/%s", store_path, rel);
        }
        return 0;
}

/* The pack step (make-packs.c), with its one line of summary. */
static int make_packs(const char *store_path, const char *index_path, const cadu_index *idx, const cadu_crypt_key *key) {
        cadu_make_packs_stats st;
        _cleanup_free_ char *err = NULL;
        int r = cadu_make_packs(store_path, index_path, idx, key, &st, &err);
        if (r < 0)
                return cadu_error_errno(r, "%s", err ? err : "packing");
        if (cadu_json)
                printf("{\"event\":\"packs\",\"command\":\"make\",\"existed\":%s,\"packs\":%llu,\"pack_bytes\":%llu,"
                       "\"packed_chunks\":%llu,\"referenced_chunks\":%llu,\"index_bytes\":%llu}\n",
                       st.existed ? "true" : "false", (unsigned long long)st.packs, (unsigned long long)st.pack_bytes,
                       (unsigned long long)st.packed_chunks, (unsigned long long)st.referenced_chunks,
                       (unsigned long long)st.index_bytes);
        else if (!cadu_quiet && st.existed)
                fprintf(stderr, "%s: its pack index is in %s already\n", index_path, store_path);
        else if (!cadu_quiet) {
                char a[32], b[32];
                fprintf(stderr, "%s: %llu chunks packed into %llu packs (%s), %llu in earlier packs, pack index %s\n",
                        index_path, (unsigned long long)st.packed_chunks, (unsigned long long)st.packs,
                        cadu_format_bytes(st.pack_bytes, a), (unsigned long long)st.referenced_chunks,
                        cadu_format_bytes(st.index_bytes, b));
        }
        return CADU_EXIT_OK;
}

static void make_progress(void *ud, uint64_t done) {
        cadu_progress_update(ud, done);
}

/* A single-image release manifest beside the index (cadu manifest writes
 * multi-image ones). */
static int write_manifest(const char *path, const char *compatible, const char *version, const char *name,
                          const char *slot_class, const char *image, const char *index_path, const char *store,
                          const cadu_make_job *mk) {
        _cleanup_free_ char *err = NULL, *text = NULL, *base = NULL;
        cadu_manifest_image img = { 0 };
        size_t len;
        cadu_manifest *m = cadu_manifest_new();
        if (!m)
                return cadu_error_errno(-ENOMEM, "manifest");
        if (!name) {
                const char *b = strrchr(index_path, '/');
                base = strdup(b ? b + 1 : index_path);
                if (!base) {
                        cadu_manifest_free(m);
                        return cadu_error_errno(-ENOMEM, "manifest");
                }
                char *dot = strrchr(base, '.');
                if (dot && dot != base)
                        *dot = 0;
                name = base;
        }
        m->compatible = strdup(compatible);
        m->version = strdup(version);
        int r = !m->compatible || !m->version ? -ENOMEM : 0;
        if (r == 0 && mk->key) {
                /* Pinned by its plaintext; the manifest names the key. */
                _Static_assert(CADU_MANIFEST_KEY_ID_SIZE == CADU_CRYPT_KEY_ID_SIZE, "key id sizes");
                r = cadu_manifest_image_from_data(&img, path, name, slot_class, image, index_path, mk->plain_index,
                                                  mk->plain_len, store, &err);
                img.encrypted = true;
                memcpy(img.store_key, mk->key->id, CADU_CRYPT_KEY_ID_SIZE);
        } else if (r == 0)
                r = cadu_manifest_image_from_files(&img, path, name, slot_class, image, index_path, store, &err);
        if (r == 0)
                r = cadu_manifest_add_image(m, &img, &err);
        if (r == 0)
                r = cadu_manifest_format(m, &text, &len, &err);
        if (r == 0)
                r = cadu_write_file_atomic(path, text, len);
        cadu_manifest_image_clear(&img);
        cadu_manifest_free(m);
        if (r < 0)
                return err ? cadu_error("manifest %s: %s", path, err) : cadu_error_errno(r, "writing manifest %s", path);
        return CADU_EXIT_OK;
}

static const char make_help[] =
        "Usage: cadu make [OPTIONS] IMAGE INDEX\n\n"
        "Split IMAGE (a file or block device) into content-defined chunks, store\n"
        "them zstd-compressed in the chunk store and write the casync index INDEX.\n\n"
        "Options:\n"
        "  -s, --store DIR             chunk store directory (default: default.castr\n"
        "                              beside INDEX, as casync does)\n"
        "  -c, --chunk-size MIN:AVG:MAX  chunk sizes in bytes, K/M suffixes allowed\n"
        "                              (default 16K:64K:256K; MIN=AVG=MAX: fixed size)\n"
        "  -d, --digest NAME           sha256 (default) or sha512-256 (casync's default)\n"
        "  -l, --compression-level N   zstd level 1..19 (default 3)\n"
        "  -j, --threads N             worker threads (default: number of CPUs)\n"
        "  -E, --encrypt-key FILE      encrypt the chunks and the index with the store\n"
        "                              key in FILE (doc/encryption.md)\n"
        "  -f, --fingerprints          also write INDEX.fp: XXH3-128 per chunk, so that\n"
        "                              seeding from IMAGE with INDEX checks at memory speed\n"
        "      --packs                 also pack the chunks no pack of the store holds\n"
        "      --index-base OLD.caibx  with --packs: also write the index compressed\n"
        "                              against OLD (a release devices run); repeatable\n"
        "                              yet and write the release's pack index, so that\n"
        "                              devices fetch ranges of a few files\n"
        "                              (doc/pack-format.md)\n"
        "      --deltas                also store zstd deltas of the new chunks against\n"
        "                              resembling chunks of the store or of the release\n"
        "                              (STORE/deltas/, sketches kept in STORE/sketches/)\n"
        "      --delta-level N         zstd level of the deltas, 1..19 (default 19)\n"
        "  -m, --manifest FILE         also write a (unsigned) single-image release\n"
        "                              manifest; needs --compatible and --version\n"
        "      --compatible STRING     the manifest's product/hardware string\n"
        "      --version VERSION       the manifest's release version\n"
        "      --image-name NAME       the image's name (default: INDEX's base name)\n"
        "      --slot-class CLASS      the slot class it installs to (default rootfs)\n"
        "  -q, --quiet                 no progress and no summary\n"
        "      --json                  statistics as JSON on stdout\n"
        "  -h, --help                  show this help\n";

static int parse_chunk_size(const char *arg, uint64_t *min, uint64_t *avg, uint64_t *max) {
        _cleanup_free_ char *s = strdup(arg);
        if (!s)
                return -ENOMEM;
        char *a = s, *b = strchr(a, ':'), *c;
        if (!b || !(c = strchr(b + 1, ':')))
                return -EINVAL;
        *b++ = 0;
        *c++ = 0;
        if (cadu_parse_size(a, min) < 0 || cadu_parse_size(b, avg) < 0 || cadu_parse_size(c, max) < 0)
                return -EINVAL;
        if (!cadu_chunker_params_valid(*min, *avg, *max))
                return -ERANGE;
        return 0;
}

int cadu_cmd_make(int argc, char **argv) {
        static const struct option options[] = {
                { "store", required_argument, NULL, 's' },
                { "chunk-size", required_argument, NULL, 'c' },
                { "digest", required_argument, NULL, 'd' },
                { "compression-level", required_argument, NULL, 'l' },
                { "threads", required_argument, NULL, 'j' },
                { "manifest", required_argument, NULL, 'm' },
                { "fingerprints", no_argument, NULL, 'f' },
                { "deltas", no_argument, NULL, 'D' },
                { "delta-level", required_argument, NULL, 'L' },
                { "compatible", required_argument, NULL, 'C' },
                { "version", required_argument, NULL, 'V' },
                { "image-name", required_argument, NULL, 'N' },
                { "slot-class", required_argument, NULL, 'K' },
                { "packs", no_argument, NULL, 'P' },
                { "index-base", required_argument, NULL, 'I' },
                { "encrypt-key", required_argument, NULL, 'E' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *store_path = NULL, *manifest_path = NULL, *compatible = NULL, *version = NULL,
                   *image_name = NULL, *slot_class = "rootfs", *key_path = NULL;
        uint64_t min = CADU_CHUNK_SIZE_MIN_DEFAULT, avg = CADU_CHUNK_SIZE_AVG_DEFAULT,
                 max = CADU_CHUNK_SIZE_MAX_DEFAULT, level = 3, threads = 0, delta_level = 19;
        cadu_digest_type digest = CADU_DIGEST_SHA256;
        bool fingerprints = false, packs = false, deltas = false;
        char *index_bases[16];
        size_t n_index_bases = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "s:c:d:l:j:m:fE:h", options, NULL)) >= 0) {
                switch (c) {
                case 'm': manifest_path = optarg; break;
                case 'f': fingerprints = true; break;
                case 'P': packs = true; break;
                case 'I':
                        if (n_index_bases < CADU_ELEMENTSOF(index_bases))
                                index_bases[n_index_bases++] = optarg;
                        else
                                return cadu_usage_error("make", "at most %zu --index-base", CADU_ELEMENTSOF(index_bases));
                        break;
                case 'D': deltas = true; break;
                case 'L':
                        if (cadu_parse_uint(optarg, 1, 19, &delta_level) < 0)
                                return cadu_usage_error("make", "invalid --delta-level '%s' (1..19)", optarg);
                        break;
                case 'C': compatible = optarg; break;
                case 'V': version = optarg; break;
                case 'N': image_name = optarg; break;
                case 'K': slot_class = optarg; break;
                case 's': store_path = optarg; break;
                case 'E': key_path = optarg; break;
                case 'c':
                        if (parse_chunk_size(optarg, &min, &avg, &max) < 0)
                                return cadu_usage_error("make", "invalid --chunk-size '%s': need MIN:AVG:MAX with 1 <= MIN <= AVG <= MAX <= 128M, and MAX >= 48 unless MIN == MAX", optarg);
                        break;
                case 'd':
                        if (cadu_digest_from_name(optarg, &digest) < 0)
                                return cadu_usage_error("make", "unknown digest '%s' (use sha256 or sha512-256)", optarg);
                        break;
                case 'l':
                        if (cadu_parse_uint(optarg, 1, 19, &level) < 0)
                                return cadu_usage_error("make", "invalid --compression-level '%s' (1..19)", optarg);
                        break;
                case 'j':
                        if (cadu_parse_uint(optarg, 1, 256, &threads) < 0)
                                return cadu_usage_error("make", "invalid --threads '%s' (1..256)", optarg);
                        break;
                case 'h':
                        fputs(make_help, stdout);
                        return CADU_EXIT_OK;
                default:
                        return cadu_usage_error("make", "invalid option");
                }
        }
        if (argc - optind != 2)
                return cadu_usage_error("make", "expected IMAGE and INDEX");
        const char *image = argv[optind], *index_path = argv[optind + 1];
        if (manifest_path && (!compatible || !version))
                return cadu_usage_error("make", "--manifest needs --compatible and --version");
        if (!manifest_path && (compatible || version || image_name))
                return cadu_usage_error("make", "--compatible, --version and --image-name go with --manifest");
        if (key_path && n_index_bases)
                return cadu_usage_error("make", "--index-base: compact indexes hold plaintext chunk ids; not with --encrypt-key");
        if (key_path && fingerprints)
                return cadu_usage_error("make", "--fingerprints writes plaintext chunk hashes: not with --encrypt-key");
        _cleanup_(cadu_crypt_key_clear) cadu_crypt_key key = { 0 };
        if (key_path && (r = cadu_cmd_load_key("--encrypt-key", key_path, &key)) != 0)
                return r;
        if (threads == 0) {
                long n = sysconf(_SC_NPROCESSORS_ONLN);
                threads = n > 0 ? (uint64_t)n : 1;
        }

        _cleanup_free_ char *default_store = NULL;
        if (!store_path) {
                if (cadu_default_store(index_path, &default_store) < 0)
                        return cadu_error_errno(-ENOMEM, "make");
                store_path = default_store;
        }

        if (deltas && cadu_location_is_url(store_path))
                return cadu_error("make --deltas needs a directory store, not %s", store_path);

        /* A file or block device; a directory or FIFO is named as such
         * (not "Operation not supported"), and a FIFO never blocks. */
        _cleanup_close_ int fd = cadu_open_untrusted(image, CADU_OPEN_BLOCK);
        if (fd < 0)
                return cadu_error_errno(fd, "cannot open image %s", image);
        uint64_t total = 0;
        r = cadu_fd_size(fd, &total);
        if (r < 0)
                return cadu_error_errno(r, "image %s", image);
        /* The outputs must not be the image itself (also through a hard or
         * symbolic link): writing them would destroy the input. */
        struct stat ist, ost;
        const char *outputs[] = { index_path, manifest_path };
        if (fstat(fd, &ist) < 0)
                return cadu_error_errno(-errno, "image %s", image);
        for (size_t i = 0; i < CADU_ELEMENTSOF(outputs); i++)
                if (outputs[i] && stat(outputs[i], &ost) == 0 && ost.st_dev == ist.st_dev && ost.st_ino == ist.st_ino)
                        return cadu_usage_error("make", "%s %s is the image %s itself (it would be overwritten)",
                                                i ? "manifest" : "index", outputs[i], image);
        if (manifest_path && stat(index_path, &ist) == 0 && stat(manifest_path, &ost) == 0 &&
            ost.st_dev == ist.st_dev && ost.st_ino == ist.st_ino)
                return cadu_usage_error("make", "manifest %s is the index %s itself", manifest_path, index_path);
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

        cadu_store *store = NULL;
        r = cadu_store_open(store_path, NULL, true, &store);
        if (r < 0)
                return cadu_error_errno(r, "cannot open store %s", store_path);
        if (!store->ops->put) {
                cadu_store_free(store);
                return cadu_error("store %s is read-only", store_path);
        }
        if (key_path && (r = cadu_cmd_wrap_store(&store, &key)) < 0)
                return cadu_error_errno(r, "cannot open store %s", store_path);

        cadu_make_job m = { .store = store, .level = (int)level, .key = key_path ? &key : NULL,
                            .fingerprints = fingerprints, .collect_new = deltas };
        cadu_progress prog;
        uint64_t start = cadu_now_ns(), size = 0;
        cadu_chunk_info failed = {};
        cadu_progress_begin(&prog, "make", total);
        r = cadu_make_chunk_fd(&m, fd, &(cadu_make_params){ .min = min, .avg = avg, .max = max, .digest = digest,
                                                            .threads = (unsigned)threads,
                                                            .progress = make_progress, .userdata = &prog },
                               &size, &failed);
        cadu_progress_end(&prog);

        int ret = CADU_EXIT_OK;
        if (r < 0) {
                char hex[65];
                cadu_hex_encode(failed.id, CADU_DIGEST_SIZE, hex);
                if (failed.len)
                        ret = cadu_error_errno(r, "make %s: chunk %s at offset %llu into store %s", image, hex,
                                               (unsigned long long)failed.offset, store_path);
                else
                        ret = cadu_error_errno(r, "make %s: reading image", image);
        } else if (size != total)
                ret = cadu_error("make %s: image changed size while reading (%llu, expected %llu bytes)", image,
                                 (unsigned long long)size, (unsigned long long)total);
        else if ((r = cadu_make_write_index(&m, index_path)) < 0)
                ret = cadu_error_errno(r, "writing index %s", index_path);
        /* Deltas before packs: a pack holds each chunk's smallest entry. */
        else if (deltas && (ret = cadu_make_deltas_step(&(cadu_make_deltas_params){
                                    .store_path = store_path, .store = store, .digest = digest,
                                    .level = (int)delta_level, .threads = (unsigned)threads, .key = m.key },
                            m.idx, (const uint8_t (*)[CADU_DIGEST_SIZE])m.new_ids, m.n_new)))
                ;
        else if (packs && (ret = make_packs(store_path, index_path, m.idx, m.key)))
                ;
        /* Compact indexes hold plaintext ids: none for an encrypted store. */
        else if (packs && !m.key && (ret = write_caibz(store_path, index_path, m.idx, index_bases, n_index_bases)))
                ;
        else if (manifest_path && (ret = write_manifest(manifest_path, compatible, version, image_name, slot_class,
                                                        image, index_path, store_path, &m)))
                ;
        else {
                double secs = (double)(cadu_now_ns() - start) / 1e9;
                if (cadu_json)
                        printf("{\"event\":\"done\",\"command\":\"make\",\"bytes\":%llu,\"chunks\":%zu,"
                               "\"new_chunks\":%llu,\"new_bytes\":%llu,\"new_compressed_bytes\":%llu,\"seconds\":%.3f}\n",
                               (unsigned long long)total, m.idx->n, (unsigned long long)m.new_chunks,
                               (unsigned long long)m.new_bytes, (unsigned long long)m.new_compressed, secs);
                else if (!cadu_quiet) {
                        char a[32], b[32], cc[32];
                        fprintf(stderr, "%s: %s in %zu chunks, %llu new in %s (%s -> %s), %.2f s\n",
                                index_path, cadu_format_bytes(total, a), m.idx->n,
                                (unsigned long long)m.new_chunks, store_path,
                                cadu_format_bytes(m.new_bytes, b), cadu_format_bytes(m.new_compressed, cc), secs);
                }
        }
        cadu_make_job_done(&m);
        cadu_store_free(store);
        return ret;
}
