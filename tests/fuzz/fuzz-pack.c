/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pack index and pack catalog parsers. A pack index is tried against a fixed
 * 4-chunk index (that of tests/pack-invalid/release.caibx), with the index
 * digest it names itself so that the checks past the header are reached:
 * what parses has every entry inside its pack and within the length bounds,
 * and writes back to something that parses to the same entries. A catalog,
 * a canonical format, must write back to exactly the input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadu-pack.h"

static cadu_index *release(void) {
        static cadu_index *idx;
        if (idx)
                return idx;
        if (cadu_index_new(CADU_DIGEST_SHA256, 1024, 4096, 16384, &idx) < 0)
                abort();
        for (int i = 0; i < 4; i++) {
                char s[8] = "chunk0";
                uint8_t id[CADU_DIGEST_SIZE];
                s[5] = (char)('0' + (i == 3 ? 1 : i));
                if (cadu_digest(CADU_DIGEST_SHA256, s, 6, id) < 0 || cadu_index_append(idx, 4096u * (i + 1), id) < 0)
                        abort();
        }
        return idx;
}

static void check_index(const uint8_t *data, size_t size) {
        const cadu_index *idx = release();
        uint8_t sha[CADU_DIGEST_SIZE] = { 0 };
        if (size >= 48)
                memcpy(sha, data + 16, CADU_DIGEST_SIZE);
        cadu_pack_index *pi = NULL, *pj = NULL;
        const char *why = NULL;
        int r = cadu_pack_index_parse(data, size, idx, sha, &pi, &why);
        if (r < 0) {
                if (r == -EBADMSG && !why)
                        abort();
                if (r != -EBADMSG && r != -ENOMEM)
                        abort();
                return;
        }
        if (pi->first[idx->n] != pi->nentries)
                abort();
        for (size_t e = 0; e < pi->nentries; e++) {
                const cadu_pack_entry *en = &pi->entries[e];
                if (en->pack >= pi->npacks || en->off + en->len > pi->packs[en->pack].size || !en->len ||
                    en->len > cadu_pack_entry_max_len(idx, en->nbases) || en->nbases > CADU_PACK_MAX_BASES ||
                    en->bases + en->nbases > pi->nbases)
                        abort();
        }
        cadu_buf out = CADU_BUF_INIT;
        if (cadu_pack_index_serialize(pi, idx, &out) < 0 || cadu_pack_index_parse(out.data, out.len, idx, sha, &pj, &why) < 0)
                abort();
        if (pj->nentries != pi->nentries || pj->npacks != pi->npacks ||
            memcmp(pj->base_ids, pi->base_ids, pi->nbases * CADU_DIGEST_SIZE) != 0)
                abort();
        for (size_t e = 0; e < pi->nentries; e++)
                if (pj->entries[e].off != pi->entries[e].off || pj->entries[e].len != pi->entries[e].len ||
                    pj->entries[e].chunk != pi->entries[e].chunk || pj->entries[e].pack != pi->entries[e].pack)
                        abort();
        cadu_buf_free(&out);
        cadu_pack_index_free(pj);
        cadu_pack_index_free(pi);
}

static void check_catalog(const uint8_t *data, size_t size) {
        cadu_pack_catalog *c = NULL;
        const char *why = NULL;
        int r = cadu_pack_catalog_parse(data, size, NULL, &c, &why);
        if (r < 0) {
                if ((r == -EBADMSG && !why) || (r != -EBADMSG && r != -ENOMEM))
                        abort();
                return;
        }
        cadu_buf out = CADU_BUF_INIT;
        if (cadu_pack_catalog_serialize(c, &out) < 0 || out.len != size || memcmp(out.data, data, size) != 0)
                abort();
        cadu_buf_free(&out);
        cadu_pack_catalog_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        check_index(data, size);
        check_catalog(data, size);
        cadu_chunk_codec_release();
        return 0;
}
