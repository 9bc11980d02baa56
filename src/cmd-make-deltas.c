/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd-make-deltas.c - the delta step of cadu make (--deltas) on the
 * command line: its progress, its summary and its error. */
#include <stdio.h>

#include "cadu-util.h"
#include "cmd.h"
#include "make-deltas.h"

/* One progress line per phase of the step. */
typedef struct phase_progress {
        cadu_progress prog;
        const char *what;
        bool shown;
} phase_progress;

static void phase_update(void *ud, const char *what, uint64_t done, uint64_t total) {
        phase_progress *pp = ud;
        if (!pp->shown || pp->what != what) {
                if (pp->shown)
                        cadu_progress_end(&pp->prog);
                cadu_progress_begin_count(&pp->prog, what, total, "chunks");
                pp->what = what;
                pp->shown = true;
        }
        cadu_progress_update(&pp->prog, done);
}

int cadu_make_deltas_step(const cadu_make_deltas_params *p, const cadu_index *idx,
                          const uint8_t (*new_ids)[CADU_DIGEST_SIZE], size_t n_new) {
        cadu_make_deltas_stats st;
        _cleanup_free_ char *what = NULL;
        phase_progress pp = { .shown = false };
        cadu_make_deltas_params q = *p;
        if (!cadu_quiet) {
                q.progress = phase_update;
                q.userdata = &pp;
        }
        int r = cadu_make_deltas(&q, idx, new_ids, n_new, &st, &what);
        if (pp.shown)
                cadu_progress_end(&pp.prog);
        if (st.sketch_files_ignored)
                fprintf(stderr, "cadu: warning: ignored %llu corrupt sketch file%s in %s/sketches (sketched again)\n",
                        (unsigned long long)st.sketch_files_ignored, st.sketch_files_ignored == 1 ? "" : "s",
                        p->store_path);
        if (r < 0)
                return cadu_error_errno(r, "make --deltas: %s", what ? what : p->store_path);
        if (cadu_json)
                printf("{\"event\":\"deltas\",\"command\":\"make\",\"new_chunks\":%llu,\"with_delta\":%llu,"
                       "\"chunk_file_bytes\":%llu,\"best_bytes\":%llu,\"delta_bytes\":%llu,\"sketched\":%llu,"
                       "\"seconds\":%.3f}\n",
                       (unsigned long long)st.targets, (unsigned long long)st.with_delta,
                       (unsigned long long)st.plain_bytes, (unsigned long long)st.best_bytes,
                       (unsigned long long)st.delta_bytes, (unsigned long long)st.sketched, st.seconds);
        else if (!cadu_quiet) {
                char a[32], b[32];
                fprintf(stderr, "deltas: %llu of %llu new chunks (%.0f%%), their files %s -> %s with deltas, "
                        "%llu chunks sketched, %.2f s\n",
                        (unsigned long long)st.with_delta, (unsigned long long)st.targets,
                        st.targets ? 100.0 * (double)st.with_delta / (double)st.targets : 0.0,
                        cadu_format_bytes(st.plain_bytes, a), cadu_format_bytes(st.best_bytes, b),
                        (unsigned long long)st.sketched, st.seconds);
        }
        return CADU_EXIT_OK;
}
