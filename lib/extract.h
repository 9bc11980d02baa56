/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * extract.h - rebuild an image from its index, using what is at hand first.
 *
 * Sources, cheapest first, for every chunk of the target index:
 *   1. the output's own content at the chunk's offset (in place: resume),
 *   2. all-zero chunks, produced without reading anything,
 *   3. seeds: files or block devices, with a saved index (FILE:INDEX) or
 *      chunked here with the target's parameters,
 *   4. the cache store, 5. the stores in order (failover).
 * Every chunk is verified against its id before it is written, and
 * re-verified when copied from a seed; a mismatch falls to the next source.
 * Chunks from a regular seed file to a regular output are shared (reflinks,
 * FICLONERANGE: their whole blocks) where both are on one reflink-capable
 * file system (btrfs, XFS), else copied by the kernel (copy_file_range),
 * else written; block devices are always read and written. In place, a
 * seed that is the output itself (with its saved index and fingerprints)
 * lets chunks already at their offset be checked by fingerprint.
 * A chunk id occurring several times is produced once, then copied locally.
 *
 * Packs (doc/pack-format.md): given the index's sha256, the release's pack
 * index is fetched from the first store that has it (none: per-chunk files,
 * as above). The chunks no local source has are then fetched from that
 * store as byte ranges of its packs, each by its cheapest entry whose bases
 * the device holds (chunks of the seeds, read from the seed when needed, or
 * chunks of the release already written, read back from the output): a
 * delta, else the chunk file. A delta that fails to decode or verify, or
 * whose base cannot be read, falls to the chunk file in the pack, then to
 * the per-chunk file; a server that ignores Range gets requests for the
 * per-chunk (and per-delta) files instead. Memory stays bounded: bases are
 * read when a delta is decoded, never held.
 *
 * Plan and budget: before anything is written, the chunks that no local
 * source has are planned (bytes and requests by source, in
 * cadu_extract_stats.plan); with max_download, a plan above it is refused
 * (-EDQUOT), and so is any fall back that would take the download above it.
 */
#ifndef CADU_EXTRACT_H
#define CADU_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "cadu-index.h"
#include "cadu-store.h"

typedef struct cadu_seed {
        const char *path;
        const char *index_path;         /* NULL: chunk the seed */
} cadu_seed;

/* Parse FILE[:INDEX] (as the commands take --seed) in place: the part after
 * the last ':' is the seed's index when such a regular file exists. */
void cadu_seed_parse(char *arg, cadu_seed *s);

typedef struct cadu_source_stats {
        uint64_t chunks, bytes;         /* uncompressed bytes delivered */
        uint64_t raw_bytes;             /* bytes as transferred (compressed) */
        uint64_t rejected;              /* chunks that failed verification */
} cadu_source_stats;

/* What the network part of an extraction costs. Bytes are exact where the
 * pack index gives them (pack entries are byte-identical to per-chunk and
 * per-delta files); without one, per-chunk files count at their largest
 * possible size (files_bound). Requests are at most these (the range engine
 * may merge neighbouring ranges further). */
typedef struct cadu_extract_plan {
        bool pack_index;                /* a pack index was found */
        uint64_t index_bytes;           /* its size (already downloaded) */
        uint64_t pack_chunks, pack_bytes;       /* chunk files as ranges of packs */
        uint64_t delta_chunks, delta_bytes;     /* deltas as ranges of packs */
        uint64_t range_requests;        /* runs of neighbouring entries */
        uint64_t file_chunks, file_bytes;       /* per-chunk files */
        bool files_bound;               /* file_bytes is an upper bound */
        uint64_t total_bytes;           /* all of the above bytes */
        uint64_t requests;              /* all requests, the pack index's included */
} cadu_extract_plan;

typedef struct cadu_extract_stats {
        uint64_t total_bytes, total_chunks;
        cadu_source_stats in_place, zero, duplicate, cache;
        cadu_source_stats missing;      /* dry_run: chunks no source has (not an error) */
        cadu_source_stats *seeds;       /* nseeds entries */
        cadu_source_stats *stores;      /* nstores entries */
        cadu_source_stats packed;       /* chunk files from pack ranges (raw_bytes: entries fetched) */
        cadu_source_stats deltas;       /* chunks decoded from deltas (rejected: deltas that failed) */
        cadu_extract_plan plan;         /* the final plan (see above) */
        uint64_t downloaded;            /* bytes fetched: pack index, ranges, files */
        uint64_t bytes_written;         /* by write or by the kernel (copied) */
        uint64_t bytes_copied;          /* of which copied by the kernel from seeds */
        uint64_t bytes_cloned;          /* shared with seeds (reflinks), not written */
        double seconds;
} cadu_extract_stats;

typedef struct cadu_extract_opts {
        const cadu_index *index;
        const cadu_seed *seeds;
        size_t nseeds;
        cadu_store *cache;              /* local directory store or NULL */
        cadu_store **stores;
        size_t nstores;
        const char *out_path;           /* NULL with dry_run */
        bool in_place;                  /* existing regular file: keep and reuse its content */
        bool dry_run;                   /* plan only: what would come from where */
        unsigned threads;               /* 0: default */
        const uint8_t *index_sha;       /* sha256 of the index file: look for packs (NULL: never) */
        uint64_t max_download;          /* refuse plans above this many bytes (0: no limit) */
        bool plan_only;                 /* only the plan (st->plan): nothing written, nothing
                                         * fetched but the pack index; an existing out_path
                                         * with in_place is read for chunks already there */
        void (*progress)(void *ud, uint64_t done, uint64_t total);
        /* Before any output: a seed without a usable index being read to
         * learn its chunks, done of total bytes (may be NULL). */
        void (*seed_progress)(void *ud, const char *seed_path, uint64_t done, uint64_t total);
        void *userdata;
} cadu_extract_opts;

/* Returns 0, or a negative errno with *errmsg (malloc'ed) saying what failed
 * and where. st->seeds and st->stores are allocated here; release them with
 * cadu_extract_stats_free(). */
int cadu_extract(const cadu_extract_opts *o, cadu_extract_stats *st, char **errmsg);
void cadu_extract_stats_free(cadu_extract_stats *st);

#endif
