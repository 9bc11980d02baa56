/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cmd-extract-stats.c - an extraction's statistics and download plan on the
 * command line (extract, install, info): text on stderr or JSON on stdout. */
#include <errno.h>
#include <stdlib.h>

#include "cadu-util.h"
#include "cmd.h"
#include "extract.h"

static void print_source_json(const cadu_cmd_source *s, bool first) {
        printf("%s{\"source\":\"%s\",\"location\":", first ? "" : ",", s->json_name);
        cadu_json_string(stdout, s->location ? s->location : "");
        printf(",\"chunks\":%llu,\"bytes\":%llu,\"raw_bytes\":%llu,\"rejected\":%llu",
               (unsigned long long)s->chunks, (unsigned long long)s->bytes, (unsigned long long)s->raw_bytes,
               (unsigned long long)s->rejected);
        if (s->http)
                printf(",\"requests\":%llu,\"retries\":%llu,\"connections\":%llu,\"bytes_received\":%llu"
                       ",\"range_requests\":%llu,\"range_bytes\":%llu",
                       (unsigned long long)s->requests, (unsigned long long)s->retries,
                       (unsigned long long)s->connections, (unsigned long long)s->bytes_received,
                       (unsigned long long)s->range_requests, (unsigned long long)s->range_bytes);
        putchar('}');
}

static void print_source(const cadu_cmd_source *s) {
        char a[32], b[32];
        if (!s->chunks && !s->rejected)
                return;
        fprintf(stderr, "  %-9s %-40s %8llu chunks %12s", s->text_name, s->location ? s->location : "",
                (unsigned long long)s->chunks, cadu_format_bytes(s->bytes, a));
        if (s->raw_bytes)
                fprintf(stderr, " (%s transferred)", cadu_format_bytes(s->raw_bytes, b));
        if (s->rejected)
                fprintf(stderr, ", %llu rejected", (unsigned long long)s->rejected);
        if (s->http) {
                fprintf(stderr, ", %llu requests (%llu retries) on %llu connections", (unsigned long long)s->requests,
                        (unsigned long long)s->retries, (unsigned long long)s->connections);
                if (s->range_requests)
                        fprintf(stderr, ", %llu of them for ranges", (unsigned long long)s->range_requests);
        }
        fputc('\n', stderr);
}

void cadu_print_plan(const cadu_cmd_plan *p) {
        if (cadu_json) {
                printf("{\"pack_index\":%s,\"index_bytes\":%llu,\"pack_chunks\":%llu,\"pack_bytes\":%llu,"
                       "\"delta_chunks\":%llu,\"delta_bytes\":%llu,\"range_requests\":%llu,\"file_chunks\":%llu,"
                       "\"file_bytes\":%llu,\"files_bound\":%s,\"total_bytes\":%llu,\"requests\":%llu}",
                       p->pack_index ? "true" : "false", (unsigned long long)p->index_bytes,
                       (unsigned long long)p->pack_chunks, (unsigned long long)p->pack_bytes,
                       (unsigned long long)p->delta_chunks, (unsigned long long)p->delta_bytes,
                       (unsigned long long)p->range_requests, (unsigned long long)p->file_chunks,
                       (unsigned long long)p->file_bytes, p->files_bound ? "true" : "false",
                       (unsigned long long)p->total_bytes, (unsigned long long)p->requests);
                return;
        }
        char a[32], b[32], c[32], d[32], e[32];
        fprintf(stderr, "  download: %s%s in %llu requests", p->files_bound ? "at most " : "",
                cadu_format_bytes(p->total_bytes, a), (unsigned long long)p->requests);
        if (p->pack_index)
                fprintf(stderr, ": pack index %s, %llu chunks as %s and %llu deltas as %s in %llu range requests, ",
                        cadu_format_bytes(p->index_bytes, b), (unsigned long long)p->pack_chunks,
                        cadu_format_bytes(p->pack_bytes, c), (unsigned long long)p->delta_chunks,
                        cadu_format_bytes(p->delta_bytes, d), (unsigned long long)p->range_requests);
        else
                fputs(": ", stderr);
        fprintf(stderr, "%llu per-chunk files (%s%s)\n", (unsigned long long)p->file_chunks,
                p->files_bound ? "at most " : "", cadu_format_bytes(p->file_bytes, e));
}

void cadu_print_extract_report(const cadu_cmd_extract_report *r) {
        if (cadu_json) {
                printf("{\"event\":\"done\",\"command\":\"%s\",\"bytes\":%llu,\"chunks\":%llu,\"bytes_written\":%llu,"
                       "\"bytes_copied\":%llu,\"bytes_cloned\":%llu,\"seconds\":%.3f,\"sources\":[",
                       r->command, (unsigned long long)r->total_bytes, (unsigned long long)r->total_chunks,
                       (unsigned long long)r->bytes_written, (unsigned long long)r->bytes_copied,
                       (unsigned long long)r->bytes_cloned, r->seconds);
                for (size_t i = 0; i < r->nsources; i++)
                        print_source_json(&r->sources[i], i == 0);
                printf("],\"downloaded\":%llu,\"plan\":", (unsigned long long)r->downloaded);
                cadu_print_plan(&r->plan);
                printf("}\n");
                return;
        }
        if (cadu_quiet)
                return;
        char a[32];
        fprintf(stderr, "%s: %s in %llu chunks, %.2f s\n", r->out_path ? r->out_path : "plan",
                cadu_format_bytes(r->total_bytes, a), (unsigned long long)r->total_chunks, r->seconds);
        for (size_t i = 0; i < r->nsources; i++)
                print_source(&r->sources[i]);
        if (r->plan.requests)
                cadu_print_plan(&r->plan);
}

/* ---- from lib/extract.h's structs (install, info) ---- */

static cadu_cmd_plan plan_of(const cadu_extract_plan *p) {
        return (cadu_cmd_plan){
                .pack_index = p->pack_index, .index_bytes = p->index_bytes,
                .pack_chunks = p->pack_chunks, .pack_bytes = p->pack_bytes,
                .delta_chunks = p->delta_chunks, .delta_bytes = p->delta_bytes,
                .range_requests = p->range_requests, .file_chunks = p->file_chunks, .file_bytes = p->file_bytes,
                .files_bound = p->files_bound, .total_bytes = p->total_bytes, .requests = p->requests,
        };
}

void cadu_print_extract_plan(const cadu_extract_plan *p) {
        cadu_cmd_plan q = plan_of(p);
        cadu_print_plan(&q);
}

static cadu_cmd_source source_of(const char *json_name, const char *text_name, const char *location,
                                  const cadu_source_stats *s, cadu_store *store) {
        cadu_store_http_stats hs;
        cadu_cmd_source c = { .json_name = json_name, .text_name = text_name, .location = location,
                              .chunks = s->chunks, .bytes = s->bytes, .raw_bytes = s->raw_bytes,
                              .rejected = s->rejected };
        if (store && cadu_store_http_get_stats(store, &hs) == 0) {
                c.http = true;
                c.requests = hs.requests;
                c.retries = hs.retries;
                c.connections = hs.connections;
                c.bytes_received = hs.bytes_received;
                c.range_requests = hs.range_requests;
                c.range_bytes = hs.range_bytes;
        }
        return c;
}

void cadu_print_extract_stats(const char *command, const cadu_extract_opts *o, const cadu_extract_stats *st) {
        _cleanup_free_ cadu_cmd_source *src = calloc(o->nseeds + o->nstores + 6, sizeof(*src));
        size_t n = 0;
        if (!src) {
                cadu_error_errno(-ENOMEM, "%s", command);
                return;
        }
        src[n++] = source_of("in-place", "in place", o->out_path, &st->in_place, NULL);
        src[n++] = source_of("zero", "zeros", NULL, &st->zero, NULL);
        src[n++] = source_of("duplicate", "repeats", NULL, &st->duplicate, NULL);
        for (size_t k = 0; k < o->nseeds; k++)
                src[n++] = source_of("seed", "seed", o->seeds[k].path, &st->seeds[k], NULL);
        if (o->cache)
                src[n++] = source_of("cache", "cache", o->cache->location, &st->cache, NULL);
        for (size_t k = 0; k < o->nstores; k++)
                src[n++] = source_of("store", "store", o->stores[k]->location, &st->stores[k], o->stores[k]);
        src[n++] = source_of("pack", "packs", NULL, &st->packed, NULL);
        src[n++] = source_of("delta", "deltas", NULL, &st->deltas, NULL);
        cadu_print_extract_report(&(cadu_cmd_extract_report){
                .command = command, .out_path = o->out_path, .total_bytes = st->total_bytes,
                .total_chunks = st->total_chunks, .bytes_written = st->bytes_written,
                .bytes_copied = st->bytes_copied, .bytes_cloned = st->bytes_cloned, .downloaded = st->downloaded,
                .seconds = st->seconds, .sources = src, .nsources = n, .plan = plan_of(&st->plan) });
}
