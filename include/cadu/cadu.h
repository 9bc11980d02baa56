/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu/cadu.h - libcadu, the engine of cadu: content-addressed images made
 * into chunk stores, and rebuilt from their index using seeds (an older
 * image, a slot) first and stores (directories, HTTP(S)) for the rest.
 *
 * Compile with `pkg-config --cflags --libs cadu`; see doc/libcadu.md and
 * doc/examples/extract-seeded.c for a complete program.
 *
 * Conventions, for every function here:
 *   - Handles are opaque and created by a *_new() or *_open*() function that
 *     returns 0 and sets *ret, or a negative errno and leaves *ret alone.
 *     They are released by the matching *_free() or *_close(), which accept
 *     NULL and return NULL (p = cadu_x_free(p);).
 *   - Functions that can fail return 0 (or a count) on success and a negative
 *     errno on failure: -EINVAL (bad argument), -ENOMEM, -ENOENT, -EBADMSG
 *     (corrupt data or a digest that does not match), -EDQUOT (over the
 *     download limit), -ECONNREFUSED, -ETIMEDOUT, -EPROTO, ... (a network
 *     store). Where a failure has more to say (which chunk, which store),
 *     that one line goes to the context's log callback at CADU_LOG_ERR and
 *     stays readable with cadu_context_last_error() until the next call.
 *   - The library never prints, never exits and installs no signal
 *     handlers. Without a log callback, messages are dropped.
 *   - A context and everything made from it is used by one thread at a time
 *     (the library runs its own worker threads inside a call). Different
 *     contexts are independent.
 *
 * ABI: the shared library is libcadu.so.0 (symbol versions LIBCADU_0 and,
 * for the functions marked "since LIBCADU_0.1", LIBCADU_0.1).
 * Functions are only ever added; their meaning does not change within a
 * SONAME.
 */
#ifndef CADU_CADU_H
#define CADU_CADU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library ("0.1.0"), the same as `cadu --version`. */
const char *cadu_library_version(void);

/* ---- context: callbacks and settings shared by what is made from it ---- */

typedef struct cadu_context cadu_context;

/* Levels of the log callback (syslog's numbers). */
enum {
        CADU_LOG_ERR = 3,
        CADU_LOG_WARNING = 4,
        CADU_LOG_INFO = 6,
};

/* One line, without a trailing newline. Called from the thread that called
 * into the library. */
typedef void (*cadu_log_fn)(void *userdata, int level, const char *message);

/* Progress of a long operation: what ("extract", "scanning seed PATH",
 * "make") and how far, done of total bytes. done is 0 when it starts and
 * total when it ends; updates in between are throttled by the caller if
 * needed. Called from the thread that called into the library. */
typedef void (*cadu_progress_fn)(void *userdata, const char *what, uint64_t done, uint64_t total);

int cadu_context_new(cadu_context **ret);
/* Frees the context; everything made from it must be freed first. */
cadu_context *cadu_context_free(cadu_context *ctx);

void cadu_context_set_log(cadu_context *ctx, cadu_log_fn fn, void *userdata);
void cadu_context_set_progress(cadu_context *ctx, cadu_progress_fn fn, void *userdata);
/* Worker threads of extraction and making: 1..256, or 0 for the number of
 * CPUs (the default). -EINVAL outside that range. */
int cadu_context_set_threads(cadu_context *ctx, unsigned threads);
/* A store or network setting, as cadu.conf(5)'s [store] section and the
 * commands' options name them, without "--": "max-transfers", "retries",
 * "connect-timeout", "low-speed-time", "low-speed-limit", "deadline",
 * "rate-limit", "max-redirects", "ca-file", "client-cert", "client-key",
 * "header" (once per header, "Name: value"), "insecure" (yes/no). Applies
 * to the stores opened and indexes fetched afterwards. 0, -ENOKEY for an
 * unknown key, -EINVAL or -ERANGE for a bad value, -ENOENT etc. for a
 * file that cannot be read. */
int cadu_context_set_store_option(cadu_context *ctx, const char *key, const char *value);
/* The store key of encrypted stores and indexes (doc/encryption.md): the
 * key file at path (64 hex digits and a line feed; a regular file neither
 * group nor others may read or write), or NULL to forget it. With a key,
 * the stores opened afterwards are encrypted stores under it, cadu_maker_run()
 * seals the index, and cadu_extraction_new() opens an encrypted index.
 * 0, -ENOENT or -EACCES (cannot read it), -EPERM (loose permissions),
 * -EINVAL (not a key file). Since LIBCADU_0.1. */
int cadu_context_set_key_file(cadu_context *ctx, const char *path);
/* The message of the last failure logged at CADU_LOG_ERR, or NULL. Valid
 * until the next call with this context. */
const char *cadu_context_last_error(const cadu_context *ctx);

/* ---- stores ---- */

typedef struct cadu_store cadu_store;

/* Create a directory store that does not exist yet (not for URLs). */
#define CADU_STORE_CREATE 1u

/* Open a store: an http:// or https:// URL (a casync chunk store served by
 * any web server) or a directory. The store keeps no reference to ctx
 * beyond the settings it took. */
int cadu_store_open_location(cadu_context *ctx, const char *location, unsigned flags, cadu_store **ret);
cadu_store *cadu_store_close(cadu_store *store);

/* Transfers of an HTTP(S) store since it was opened (since LIBCADU_0.1). */
typedef enum cadu_store_stat {
        CADU_STORE_STAT_REQUESTS,
        CADU_STORE_STAT_RETRIES,
        CADU_STORE_STAT_CONNECTIONS,            /* opened */
        CADU_STORE_STAT_BYTES_RECEIVED,
        CADU_STORE_STAT_RANGE_REQUESTS,         /* of the requests, those for ranges of packs */
        CADU_STORE_STAT_RANGE_BYTES,
} cadu_store_stat;

/* 0 and *ret; -EOPNOTSUPP for a store that is not an HTTP(S) one (also an
 * encrypted store over one); -EINVAL for an unknown stat. */
int cadu_store_get(cadu_store *store, cadu_store_stat stat, uint64_t *ret);

/* ---- extraction: an image rebuilt from its index ----
 *
 * Sources, cheapest first, for every chunk: the output's own content (in
 * place), all-zero chunks, the seeds, the cache store, the stores in the
 * order added (the next one when one fails). Every chunk is verified
 * against its id before it is written. The output appears under its name
 * only when complete (a block device or an in-place file is written where
 * it is). */

typedef struct cadu_extraction cadu_extraction;

/* Read the index (a .caibx path or URL; an URL is fetched with the
 * context's store settings). Releases that have packs (cadu make --packs)
 * in a store are found through the index's digest. An encrypted index is
 * opened with the context's key (cadu_context_set_key_file()): -ENOKEY
 * without one, -EKEYREJECTED when sealed under another, -EBADMSG when
 * forged; -EINVAL for a plain index when a key is set. The stores of an
 * encrypted index must be opened with the key, those of a plain one
 * without (cadu_extraction_run() returns -EINVAL otherwise). */
int cadu_extraction_new(cadu_context *ctx, const char *index, cadu_extraction **ret);
cadu_extraction *cadu_extraction_free(cadu_extraction *x);

/* The image the index describes: its size in bytes and its chunks. */
uint64_t cadu_extraction_image_size(const cadu_extraction *x);
uint64_t cadu_extraction_chunk_count(const cadu_extraction *x);

/* A seed: a file or block device with chunks in common (the running
 * slot, the previous image). index_path: its saved index (cadu make of the
 * seed), or NULL to chunk it here with the index's parameters. The strings
 * are copied. */
int cadu_extraction_add_seed(cadu_extraction *x, const char *path, const char *index_path);
/* A store, tried in the order added. Not owned: it must stay open until
 * the extraction is freed. */
int cadu_extraction_add_store(cadu_extraction *x, cadu_store *store);
/* A directory store to take chunks from before the stores (not owned).
 * Like every store it is encrypted when opened while the context holds a
 * key: `cadu extract` opens its cache (plain chunk files) before setting
 * the key, or after cadu_context_set_key_file(ctx, NULL). */
int cadu_extraction_set_cache(cadu_extraction *x, cadu_store *cache);
/* Refuse to download more than bytes (0: no limit): -EDQUOT before
 * anything is written when the plan is above it. */
int cadu_extraction_set_max_download(cadu_extraction *x, uint64_t bytes);

/* Flags of cadu_extraction_run(). */
#define CADU_EXTRACT_IN_PLACE 1u        /* an existing output: keep and reuse its content */
#define CADU_EXTRACT_DRY_RUN 2u         /* only count what would come from where (output may be NULL) */

/* Rebuild the image into output (a file or block device). Progress goes
 * to the context's callback ("scanning seed PATH" for a seed without an
 * index, then "extract"). May be run again (e.g. after a network failure,
 * with CADU_EXTRACT_IN_PLACE to keep what was written). */
int cadu_extraction_run(cadu_extraction *x, const char *output, unsigned flags);

/* Where the chunks of the last run came from. */
typedef enum cadu_source {
        CADU_SOURCE_IN_PLACE,           /* already in the output */
        CADU_SOURCE_ZERO,               /* all-zero chunks, not read from anywhere */
        CADU_SOURCE_DUPLICATE,          /* copied from an earlier chunk of the output */
        CADU_SOURCE_SEEDS,              /* all seeds together */
        CADU_SOURCE_CACHE,
        CADU_SOURCE_STORES,             /* per-chunk files of all stores together */
        CADU_SOURCE_PACKS,              /* chunk files fetched as ranges of packs */
        CADU_SOURCE_DELTAS,             /* decoded from deltas against the seeds */
        CADU_SOURCE_MISSING,            /* CADU_EXTRACT_DRY_RUN: no source has them */
} cadu_source;

/* Chunks and (uncompressed) bytes that came from source in the last run;
 * -EINVAL for an unknown source, -ENODATA before a successful run. */
int cadu_extraction_get_source(const cadu_extraction *x, cadu_source source, uint64_t *ret_chunks,
                               uint64_t *ret_bytes);
/* Bytes fetched from the network or store directories in the last run (pack
 * index, ranges, chunk files; compressed as transferred). */
uint64_t cadu_extraction_downloaded(const cadu_extraction *x);

/* One source of the last run in detail (since LIBCADU_0.1): for
 * CADU_SOURCE_SEEDS and CADU_SOURCE_STORES the i-th seed or store in the
 * order added, for the others i = 0. Its chunks, their (uncompressed)
 * bytes, the bytes as transferred (compressed; stores, cache, packs) and
 * the chunks it delivered that failed verification (rejected; for deltas:
 * deltas that failed). -ERANGE for i beyond, -EINVAL for an unknown
 * source, -ENODATA before a successful run. */
int cadu_extraction_get_source_detail(const cadu_extraction *x, cadu_source source, size_t i,
                                      uint64_t *ret_chunks, uint64_t *ret_bytes, uint64_t *ret_raw_bytes,
                                      uint64_t *ret_rejected);

/* More of the last run, one value at a time (since LIBCADU_0.1). The plan
 * is what the network part costs, made before anything is written: bytes
 * are exact where a pack index gives them; per-chunk files without one
 * count at their largest possible size (FILES_BOUND 1); requests are at
 * most these. */
typedef enum cadu_extract_stat {
        CADU_EXTRACT_STAT_BYTES_WRITTEN,        /* by write or by the kernel (copied) */
        CADU_EXTRACT_STAT_BYTES_COPIED,         /* of which copied by the kernel from seeds */
        CADU_EXTRACT_STAT_BYTES_CLONED,         /* shared with seeds (reflinks), not written */
        CADU_EXTRACT_STAT_NSEC,                 /* the run's time */
        CADU_EXTRACT_STAT_PLAN_PACK_INDEX,      /* 1: a pack index was found */
        CADU_EXTRACT_STAT_PLAN_INDEX_BYTES,     /* its size */
        CADU_EXTRACT_STAT_PLAN_PACK_CHUNKS,     /* chunk files as ranges of packs */
        CADU_EXTRACT_STAT_PLAN_PACK_BYTES,
        CADU_EXTRACT_STAT_PLAN_DELTA_CHUNKS,    /* deltas as ranges of packs */
        CADU_EXTRACT_STAT_PLAN_DELTA_BYTES,
        CADU_EXTRACT_STAT_PLAN_RANGE_REQUESTS,  /* runs of neighbouring entries */
        CADU_EXTRACT_STAT_PLAN_FILE_CHUNKS,     /* per-chunk files */
        CADU_EXTRACT_STAT_PLAN_FILE_BYTES,
        CADU_EXTRACT_STAT_PLAN_FILES_BOUND,     /* 1: FILE_BYTES is an upper bound */
        CADU_EXTRACT_STAT_PLAN_TOTAL_BYTES,     /* all of the plan's bytes */
        CADU_EXTRACT_STAT_PLAN_REQUESTS,        /* all requests, the pack index's included */
} cadu_extract_stat;

/* 0 and *ret; -ENODATA before a successful run; -EINVAL for an unknown
 * one. */
int cadu_extraction_get(const cadu_extraction *x, cadu_extract_stat stat, uint64_t *ret);

/* ---- making: an image chunked into a store, and its index ---- */

typedef struct cadu_maker cadu_maker;

int cadu_maker_new(cadu_context *ctx, cadu_maker **ret);
cadu_maker *cadu_maker_free(cadu_maker *m);

/* Chunk sizes (casync's defaults when not set: 16K:64K:256K); -EINVAL
 * unless 1 <= min <= avg <= max <= 128M and max >= 48 (or min == max). */
int cadu_maker_set_chunk_size(cadu_maker *m, uint64_t min, uint64_t avg, uint64_t max);
/* "sha256" (the default) or "sha512-256"; -EINVAL for another. */
int cadu_maker_set_digest(cadu_maker *m, const char *digest);
/* zstd level of the chunk files, 1..19 (default 3). */
int cadu_maker_set_compression_level(cadu_maker *m, int level);

/* The steps after the index, all off by default (since LIBCADU_0.1):
 *
 * Also write INDEX.fp beside the index (XXH3-128 per chunk, so that seeding
 * from the image with its index checks chunks at memory speed). Not with a
 * key (cadu_maker_run() returns -EINVAL): they are plaintext hashes. */
int cadu_maker_set_fingerprints(cadu_maker *m, bool on);
/* Also store zstd deltas of the new chunks against resembling chunks of the
 * store or the release (STORE/deltas/, sketches in STORE/sketches/), at
 * zstd level 1..19 (cadu make's default 19); a directory store only
 * (-EINVAL at run otherwise). Progress: "sketches", then "deltas", in
 * chunks. */
int cadu_maker_set_deltas(cadu_maker *m, bool on, int level);
/* Also pack the chunks no pack of the store holds and write the release's
 * pack index (doc/pack-format.md), after the deltas; and, without a key,
 * the compact index (STORE/packs/SHA.caibz). */
int cadu_maker_set_packs(cadu_maker *m, bool on);
/* With packs: also write the index compressed against the index at path
 * (a release devices run); up to 16, -E2BIG beyond. Not with a key. */
int cadu_maker_add_index_base(cadu_maker *m, const char *path);
/* Also write a single-image release manifest (unsigned) at path, last:
 * compatible and version are required; name NULL for the index's base name
 * without its extension, slot_class NULL for "rootfs". The strings are
 * copied; path NULL turns it off. */
int cadu_maker_set_manifest(cadu_maker *m, const char *path, const char *compatible, const char *version,
                            const char *name, const char *slot_class);

/* Chunk image (a file or block device) into store, adding the chunks it
 * lacks, and write the index to index_path (it appears only when complete),
 * then the steps set above in this order: deltas, packs, compact indexes,
 * manifest. The store must be writable (a directory store; -EROFS for an
 * HTTP one); with a key it must have been opened after the key was set
 * (-EINVAL otherwise). Progress: "make". */
int cadu_maker_run(cadu_maker *m, const char *image, cadu_store *store, const char *index_path);

/* Of the last run: chunks in the index, and those new to the store with
 * their bytes before and after compression. */
int cadu_maker_get_stats(const cadu_maker *m, uint64_t *ret_chunks, uint64_t *ret_new_chunks,
                         uint64_t *ret_new_bytes, uint64_t *ret_new_compressed);

/* More of the last run, one value at a time (since LIBCADU_0.1). */
typedef enum cadu_make_stat {
        CADU_MAKE_STAT_IMAGE_BYTES,             /* the image's size */
        CADU_MAKE_STAT_DELTA_TARGETS,           /* deltas: chunks new to the store */
        CADU_MAKE_STAT_DELTA_WITH_DELTA,        /* of which got a delta */
        CADU_MAKE_STAT_DELTA_CHUNK_FILE_BYTES,  /* their chunk files together */
        CADU_MAKE_STAT_DELTA_BEST_BYTES,        /* the smallest entry of each together */
        CADU_MAKE_STAT_DELTA_BYTES,             /* the delta files kept */
        CADU_MAKE_STAT_DELTA_SKETCHED,          /* chunks read and sketched */
        CADU_MAKE_STAT_DELTA_SKETCH_FILES_IGNORED,      /* corrupt sketch files (sketched again) */
        CADU_MAKE_STAT_DELTA_NSEC,              /* the delta step's time */
        CADU_MAKE_STAT_PACK_INDEX_EXISTED,      /* packs: 1 when the release was packed already */
        CADU_MAKE_STAT_PACKS,                   /* pack files written */
        CADU_MAKE_STAT_PACK_BYTES,              /* their size */
        CADU_MAKE_STAT_PACKED_CHUNKS,           /* chunks packed now */
        CADU_MAKE_STAT_REFERENCED_CHUNKS,       /* chunks found in earlier packs */
        CADU_MAKE_STAT_PACK_INDEX_BYTES,        /* the size of the pack index */
} cadu_make_stat;

/* 0 and *ret; -ENODATA before a successful run or when the step of that
 * value did not run; -EINVAL for an unknown one. */
int cadu_maker_get(const cadu_maker *m, cadu_make_stat stat, uint64_t *ret);

/* ---- store operations: checking a store, deleting what no release needs,
 * what a store holds of some indexes, and copying them (since
 * LIBCADU_0.1) ----
 *
 * On a store opened with cadu_store_open_location(). Indexes are given as a
 * NULL-terminated list of paths of local .caibx files, plain or encrypted
 * (then the keyed chunk names it lists in clear are used, as the commands
 * do). A store opened with the context's key (cadu_context_set_key_file())
 * has its encrypted chunk files and packs authenticated, decrypted and
 * checked against their keyed names; opened without, their structure
 * only (`cadu verify-store` with and without --key-file). */

/* What is wrong with one thing in a store. */
typedef enum cadu_problem {
        CADU_PROBLEM_MISSING,           /* a chunk an index needs is not in the store */
        CADU_PROBLEM_CORRUPT,           /* a chunk file or pack entry does not decode to its id */
        CADU_PROBLEM_STRAY,             /* a file of a directory store that is no chunk */
        CADU_PROBLEM_ERROR,             /* a chunk could not be read (I/O, network) */
} cadu_problem;

typedef struct cadu_verify_report cadu_verify_report;

/* Flags of cadu_store_verify(). */
#define CADU_VERIFY_DOWNLOAD 1u         /* an http(s) store: download and check every chunk, not only HEAD */

/* Check store: with indexes (non-empty), every chunk they need is there,
 * decompresses and matches its id, and the packs and delta files of those
 * releases are checked entry by entry; with indexes NULL, every chunk file
 * of a directory store (an http(s) store cannot be listed: -EINVAL), and
 * in a directory store anything that is no chunk is a stray. Progress:
 * "verify-store", in bytes the indexes name, or chunks. Returns 0 when the
 * check ran (sound or not: see the report) and sets *ret; -errno when it
 * could not run (an unreadable index or store listing, ...). */
int cadu_store_verify(cadu_context *ctx, cadu_store *store, const char *const *indexes, unsigned flags,
                      cadu_verify_report **ret);
cadu_verify_report *cadu_verify_report_free(cadu_verify_report *report);

/* Counts of a verify report. */
typedef enum cadu_verify_stat {
        CADU_VERIFY_CHUNKS,             /* chunks checked */
        CADU_VERIFY_SOUND,              /* of those, found sound */
        CADU_VERIFY_MISSING,
        CADU_VERIFY_CORRUPT,            /* chunk files and pack entries */
        CADU_VERIFY_STRAY,
        CADU_VERIFY_ERRORS,
        CADU_VERIFY_UNREFERENCED,       /* with indexes: chunk files of a directory store none needs */
        CADU_VERIFY_BYTES,              /* decompressed */
        CADU_VERIFY_RAW_BYTES,          /* as stored */
} cadu_verify_stat;
/* 0 and *ret, or -EINVAL for an unknown stat. */
int cadu_verify_report_get(const cadu_verify_report *report, cadu_verify_stat stat, uint64_t *ret);
/* The problems found: chunks in id order, then strays by path, then pack
 * entries. */
size_t cadu_verify_report_problems(const cadu_verify_report *report);
/* Problem i: its kind, what (a chunk id in hex, or a path relative to the
 * store) and why (NULL for a missing chunk). Strings live as long as the
 * report. -ERANGE past the end. */
int cadu_verify_report_problem(const cadu_verify_report *report, size_t i, cadu_problem *ret_kind,
                               const char **ret_what, const char **ret_why);

typedef struct cadu_gc_report cadu_gc_report;

/* Flags of cadu_store_gc(). */
#define CADU_GC_DRY_RUN 1u              /* count what would be deleted, delete nothing */

/* Delete from the directory store every chunk file none of keep_indexes
 * (non-empty: -EINVAL otherwise, it would empty the store) references,
 * leftover temporary files, prefix directories left empty, and the packs,
 * pack indexes and delta files no kept release needs; files modified less
 * than grace_seconds ago are kept (0: regardless of age), so that a make
 * writing meanwhile is safe. -EROFS for an http(s) store. */
int cadu_store_gc(cadu_context *ctx, cadu_store *store, const char *const *keep_indexes, uint64_t grace_seconds,
                  unsigned flags, cadu_gc_report **ret);
cadu_gc_report *cadu_gc_report_free(cadu_gc_report *report);

/* Called with each file cadu_store_gc_each() deletes (a dry run: would
 * delete), a chunk, temporary, pack, pack index or delta file, by its path
 * relative to the store (`cadu gc --verbose`'s "delete PATH"); the string
 * lives for the call only. */
typedef void (*cadu_gc_deleted_fn)(void *userdata, const char *path);
/* cadu_store_gc() that also reports each deleted file to deleted (may be
 * NULL: then it is cadu_store_gc()). */
int cadu_store_gc_each(cadu_context *ctx, cadu_store *store, const char *const *keep_indexes,
                       uint64_t grace_seconds, unsigned flags, cadu_gc_deleted_fn deleted, void *userdata,
                       cadu_gc_report **ret);

/* Counts of a gc report (a dry run: what would be deleted). */
typedef enum cadu_gc_stat {
        CADU_GC_DELETED_CHUNKS,
        CADU_GC_DELETED_BYTES,          /* of the chunk files, as stored */
        CADU_GC_KEPT_CHUNKS,            /* referenced */
        CADU_GC_KEPT_BYTES,
        CADU_GC_YOUNG_CHUNKS,           /* unreferenced but within the grace period */
        CADU_GC_DELETED_TEMP_FILES,
        CADU_GC_REMOVED_DIRECTORIES,
        CADU_GC_DELETED_PACK_FILES,     /* pack indexes, packs and delta files */
        CADU_GC_DELETED_PACK_BYTES,
        CADU_GC_MISSING,                /* chunks the indexes reference that the store lacks */
} cadu_gc_stat;
/* 0 and *ret, or -EINVAL for an unknown stat. */
int cadu_gc_report_get(const cadu_gc_report *report, cadu_gc_stat stat, uint64_t *ret);

typedef struct cadu_survey_report cadu_survey_report;

/* Flags of cadu_index_survey(). */
#define CADU_SURVEY_DOWNLOAD 1u         /* an http(s) store: download every chunk, for its stored size */

/* What the indexes (non-empty) are made of together and, with store (may be
 * NULL), which of their distinct chunks it holds: `cadu info --store`. An
 * encrypted index is opened with the context's key (-ENOKEY without one).
 * A directory store is looked up by file (sizes known), an http(s) one by
 * HEAD (or a download with CADU_SURVEY_DOWNLOAD). Progress: "info", in
 * the bytes of the distinct chunks. */
int cadu_index_survey(cadu_context *ctx, const char *const *indexes, cadu_store *store, unsigned flags,
                      cadu_survey_report **ret);
cadu_survey_report *cadu_survey_report_free(cadu_survey_report *report);

/* Counts of a survey report. */
typedef enum cadu_survey_stat {
        CADU_SURVEY_BYTES,              /* the images' bytes, all indexes together */
        CADU_SURVEY_CHUNKS,
        CADU_SURVEY_DISTINCT_CHUNKS,
        CADU_SURVEY_DISTINCT_BYTES,
        CADU_SURVEY_PRESENT_CHUNKS,     /* with a store: distinct chunks it holds */
        CADU_SURVEY_PRESENT_BYTES,      /* their bytes */
        CADU_SURVEY_STORED_BYTES,       /* their chunk files' bytes (when known) */
        CADU_SURVEY_MISSING_CHUNKS,     /* distinct chunks the store lacks */
        CADU_SURVEY_MISSING_BYTES,
} cadu_survey_stat;
/* 0 and *ret; -ENODATA for a store's count without a store (or stored
 * bytes an http(s) store surveyed without a download cannot tell);
 * -EINVAL for an unknown stat. */
int cadu_survey_report_get(const cadu_survey_report *report, cadu_survey_stat stat, uint64_t *ret);

typedef struct cadu_mirror_report cadu_mirror_report;

/* Copy into the directory store dst exactly the chunks indexes (non-empty)
 * need from src, less those of except_indexes (may be NULL: what the
 * devices already have), then the releases' packs, pack indexes and delta
 * files: `cadu mirror --from SRC --to DST`. Every chunk is decompressed and
 * checked against its id on the way (one of an encrypted index: its
 * structure; stores opened with a key are copied as ciphertext all the
 * same) and stored as it was compressed; chunks dst holds intact are kept,
 * damaged ones replaced. Returns 0 when the copy ran: a chunk src lacks or
 * has corrupt is counted (and logged at CADU_LOG_WARNING, "missing ID" or
 * "corrupt ID: why"), and then the packs are not copied. -EROFS when dst
 * is not a directory store. Progress: "mirror", in the chunks' bytes. */
int cadu_store_mirror(cadu_context *ctx, cadu_store *src, cadu_store *dst, const char *const *indexes,
                      const char *const *except_indexes, unsigned flags, cadu_mirror_report **ret);
cadu_mirror_report *cadu_mirror_report_free(cadu_mirror_report *report);

/* Mirror a signed release: `cadu mirror [--from SRC] --to TO MANIFEST
 * [-x OLD]`. The manifest (a path or http(s) URL), its signature
 * MANIFEST.sig (copied, not checked), its indexes and deltas are fetched
 * and checked against the manifest's sha256 pins before anything is
 * written; then the chunks the indexes need (less those of except_indexes,
 * may be NULL) are copied as cadu_store_mirror() copies them from from (NULL:
 * each image's store, relative to the manifest) into the store directory
 * the manifest names under the local directory to (created if needed),
 * else to/default.castr, with the packs and delta files; and last the
 * indexes, deltas, full images (optional: checked against their pins),
 * the signature and the manifest at their relative paths. The manifest is
 * written only when every chunk is there, so a directory holding it is
 * complete. to is locked for the call (-EWOULDBLOCK: another mirror fills
 * it) and cleaned of the temporary files of an interrupted run. Returns 0
 * when the copy ran (a chunk the source lacks or has corrupt is counted
 * and logged at CADU_LOG_WARNING, as for cadu_store_mirror(), and then
 * the manifest and its files are not written); -EBADMSG when a file
 * differs from its pin or the manifest is malformed, -ENOENT for a
 * missing one, -EINVAL when no store is named for an image and from is
 * NULL, network errors as for stores. Progress: "mirror". */
int cadu_manifest_mirror(cadu_context *ctx, const char *manifest, const char *from, const char *to,
                         const char *const *except_indexes, unsigned flags, cadu_mirror_report **ret);

/* Counts of a mirror report. */
typedef enum cadu_mirror_stat {
        CADU_MIRROR_STAT_CHUNKS,        /* distinct chunks to have in dst */
        CADU_MIRROR_STAT_BYTES,         /* their bytes */
        CADU_MIRROR_STAT_PRESENT,       /* already in dst intact */
        CADU_MIRROR_STAT_COPIED,
        CADU_MIRROR_STAT_COPIED_BYTES,  /* as stored (compressed) */
        CADU_MIRROR_STAT_REPAIRED,      /* damaged in dst, copied again */
        CADU_MIRROR_STAT_MISSING,       /* not in src */
        CADU_MIRROR_STAT_CORRUPT,       /* corrupt in src */
        CADU_MIRROR_STAT_ERRORS,        /* could not be read from src */
        CADU_MIRROR_STAT_PACKS,         /* packs copied */
        CADU_MIRROR_STAT_DELTAS,        /* delta files copied */
} cadu_mirror_stat;
/* 0 and *ret, or -EINVAL for an unknown stat. */
int cadu_mirror_report_get(const cadu_mirror_report *report, cadu_mirror_stat stat, uint64_t *ret);

/* ---- installation: a signed release into the slots not running ----
 *
 * What `cadu install` does, on the device the configuration describes
 * (cadu.conf(5): slots, bootloader, trust, stores, state directory, hooks):
 * the manifest's signature, then the manifest; policy (compatible, version,
 * rollback floors, expiry); every index (and the rdiff delta or full image
 * chosen) fetched and checked against its pins; only then the target slots
 * leave the boot order, each image is written (chunks from the running slot,
 * the cache and the stores; or its rdiff delta; or its compressed full
 * image), read back and verified, and one bootloader store arranges a single
 * trial boot of the new slots. Hooks run as cadu-install(1) describes. An
 * interrupted install resumes when run again. */

typedef struct cadu_installer cadu_installer;

/* Read the device configuration (NULL: /etc/cadu.conf). -errno when it
 * cannot be read or is not valid (the line saying why is logged). */
int cadu_installer_new(cadu_context *ctx, const char *config_path, cadu_installer **ret);
cadu_installer *cadu_installer_free(cadu_installer *in);

/* The steps of an install as they happen: phase ("verify-manifest", "plan",
 * "fetch", "resume", "patch", "patch-mismatch", "full", "full-failed",
 * "write", "verify", "switch", "done"), the image it concerns or NULL, and
 * a detail (a location, a device, a sentence) or NULL. cadu-install(1)
 * lists them. Called from the thread that called cadu_installer_run(). */
typedef void (*cadu_install_event_fn)(void *userdata, const char *phase, const char *image, const char *detail);
void cadu_installer_set_event(cadu_installer *in, cadu_install_event_fn fn, void *userdata);

/* Refuse, before anything is written, an install that would download more
 * than bytes (-EDQUOT, CADU_INSTALL_FAILURE_REFUSED). 0 (the default): the
 * configuration's max-download. */
int cadu_installer_set_max_download(cadu_installer *in, uint64_t bytes);

/* Flags of cadu_installer_run(). */
#define CADU_INSTALL_ALLOW_DOWNGRADE 1u /* accept a version not newer than the installed one */
#define CADU_INSTALL_IF_NEWER 2u        /* not newer than the installed one: succeed, install nothing */
#define CADU_INSTALL_DRY_RUN 4u         /* verify the release and plan the download; change nothing */

/* Install the release whose manifest is at manifest (a path or an http(s)
 * URL; its signature is manifest.sig). Network settings: the context's
 * store options, else the configuration's [store] section. Progress goes
 * to the context's callback ("install NAME" while an image's chunks are
 * written, "scanning seed PATH" before). 0, or a negative errno with the one
 * line that explains it logged; cadu_installer_failure() then says which
 * kind of failure it was. May be run again (a new run forgets the last). */
int cadu_installer_run(cadu_installer *in, const char *manifest, unsigned flags);

/* What a successful run did. */
typedef enum cadu_install_result {
        CADU_INSTALL_NONE,              /* not run, or failed */
        CADU_INSTALL_INSTALLED,         /* written and verified; a trial boot of the target slot is armed */
        CADU_INSTALL_ALREADY_PENDING,   /* this release is installed and its trial boot pending */
        CADU_INSTALL_NOT_NEWER,         /* CADU_INSTALL_IF_NEWER and not newer: nothing done */
        CADU_INSTALL_PLANNED,           /* CADU_INSTALL_DRY_RUN: verified and planned, nothing written */
} cadu_install_result;
cadu_install_result cadu_installer_result(const cadu_installer *in);

/* Which kind of failure the last run had; the values are the exit codes
 * of `cadu install` (cadu(1)). */
typedef enum cadu_install_failure {
        CADU_INSTALL_FAILURE_NONE = 0,
        CADU_INSTALL_FAILURE_OTHER = 1,         /* I/O, a missing file, a hook that failed, ... */
        CADU_INSTALL_FAILURE_CONFIG = 2,        /* the configuration: a key file, the recipient's key */
        CADU_INSTALL_FAILURE_VERIFY = 3,        /* a signature or digest, or a corrupt bootloader environment */
        CADU_INSTALL_FAILURE_REFUSED = 4,       /* policy: compatible, downgrade, rollback floor, key, budget */
        CADU_INSTALL_FAILURE_NETWORK = 5,       /* a network store or server could not deliver */
} cadu_install_failure;
cadu_install_failure cadu_installer_failure(const cadu_installer *in);

/* Of the last run, from the verified manifest on (NULL or 0 before): the
 * release's version, the signer's name, the running slot and the target
 * slot ('A' or 'B'), the bytes downloaded (for CADU_INSTALL_DRY_RUN: that
 * the download would take). Strings are valid until the next run or free. */
const char *cadu_installer_version(const cadu_installer *in);
const char *cadu_installer_signer(const cadu_installer *in);
char cadu_installer_booted_slot(const cadu_installer *in);
char cadu_installer_target_slot(const cadu_installer *in);
uint64_t cadu_installer_downloaded(const cadu_installer *in);

/* Where an image was written from. */
typedef enum cadu_install_from {
        CADU_INSTALL_FROM_CHUNKS,       /* chunks: running slot, cache, stores, packs */
        CADU_INSTALL_FROM_RDIFF_DELTA,  /* its rdiff delta applied to the running slot */
        CADU_INSTALL_FROM_FULL_IMAGE,   /* its compressed full image */
} cadu_install_from;

/* The images of the last run's manifest, in its order. For image i: its
 * name, the device it was written to, where from, and the bytes it
 * downloaded (planned for a dry run). -ERANGE for i out of range, -ENODATA
 * before the images were planned. Any pointer may be NULL. */
size_t cadu_installer_image_count(const cadu_installer *in);
int cadu_installer_get_image(const cadu_installer *in, size_t i, const char **ret_name, const char **ret_device,
                             cadu_install_from *ret_from, uint64_t *ret_downloaded);
/* An image written from chunks: how many chunks and bytes came from source
 * (CADU_SOURCE_SEEDS: the running slot). -ENODATA when the image was not
 * written from chunks in the last run. */
int cadu_installer_get_image_source(const cadu_installer *in, size_t i, cadu_source source, uint64_t *ret_chunks,
                                    uint64_t *ret_bytes);

/* ---- slots: the A/B slots and the bootloader; committing, marking bad, rolling back ----
 *
 * What `cadu status` shows and `cadu mark-good`, `mark-bad` and `rollback`
 * do, on the device the configuration describes. */

typedef struct cadu_slots cadu_slots;

/* Read the device configuration (NULL: /etc/cadu.conf). */
int cadu_slots_new(cadu_context *ctx, const char *config_path, cadu_slots **ret);
cadu_slots *cadu_slots_free(cadu_slots *s);

/* Flags of cadu_slots_load(). */
#define CADU_SLOTS_LOCK 1u      /* hold the state directory's lock until freed: needed to change anything */

/* Read the bootloader environment and the state directory and find the
 * running slot (from the kernel command line, or the bootloader variable
 * the configuration names). Once per handle. -EBADMSG for an environment
 * that is corrupt or holds invalid variables; -EBUSY when locking and
 * another cadu (an install) holds the lock. */
int cadu_slots_load(cadu_slots *s, unsigned flags);

/* 'A' or 'B', or 0: the running slot (0: unknown), the slot the next boot
 * starts, the other slot when a trial boot of it is set up and not yet
 * booted, and the other slot when its trial used up its attempts without
 * being committed. */
char cadu_slots_booted(const cadu_slots *s);
char cadu_slots_next_boot(const cadu_slots *s);
char cadu_slots_pending_trial(const cadu_slots *s);
char cadu_slots_failed_trial(const cadu_slots *s);

typedef enum cadu_slot_status {
        CADU_SLOT_STATUS_UNKNOWN,       /* never installed by cadu, or being rewritten */
        CADU_SLOT_STATUS_GOOD,          /* a verified image that booted and was committed */
        CADU_SLOT_STATUS_BAD,           /* marked bad, or its trial boot failed */
        CADU_SLOT_STATUS_TRIAL,         /* a verified image set up for (or in) a trial boot */
} cadu_slot_status;

/* Slot 'A' or 'B': its state over all its images (good only when every one
 * is) and the boot attempts the bootloader has left for it. -ENODATA before
 * cadu_slots_load(). */
int cadu_slots_get(const cadu_slots *s, char slot, cadu_slot_status *ret_status, unsigned *ret_attempts_left);

/* Commit the running slot after a good boot (`cadu mark-good`): first in
 * the boot order with its attempts reset (only the attempts, when a trial
 * of the other slot is pending), recorded good, its version the device's
 * rollback floor; a failed trial of the other slot is recorded bad. One
 * store of the environment. Needs CADU_SLOTS_LOCK (-EPERM without) and a
 * known running slot (-ENOENT). The getters show the result afterwards. */
int cadu_slots_mark_good(cadu_slots *s);

/* Flags of cadu_slots_mark_bad(). */
#define CADU_SLOTS_FORCE 2u     /* mark the running slot bad even when the other slot is not good */

/* Take slot ('A' or 'B'; 0: the running one, -ENOENT when unknown) out of
 * service (`cadu mark-bad`): recorded bad in the state directory first,
 * then no boot attempts left and last in the boot order, in one store of
 * the environment. Marking the running slot (or any slot while the running
 * one is unknown) bad makes the next boot start the other slot: refused
 * with -ENOTRECOVERABLE, and the line logged, unless the other slot holds
 * a good image or flags has CADU_SLOTS_FORCE; nothing is changed then.
 * Needs CADU_SLOTS_LOCK (-EPERM without). */
int cadu_slots_mark_bad(cadu_slots *s, char slot, unsigned flags);

/* Make the other slot (not the running one) boot next with its attempts
 * reset, in one store of the environment (`cadu rollback`; a reboot
 * switches). Refused with -ENOTRECOVERABLE, and the line logged, unless
 * every image of that slot is recorded good; nothing is changed then.
 * Needs CADU_SLOTS_LOCK (-EPERM without) and a known running slot
 * (-ENOENT). */
int cadu_slots_rollback(cadu_slots *s);

#ifdef __cplusplus
}
#endif

#endif
