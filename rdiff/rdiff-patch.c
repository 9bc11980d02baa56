/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Patch: a push parser for the delta command stream. Literal bytes go
 * through the output buffer. Runs of copies that are contiguous in the basis
 * are merged; a large copy is done by the kernel with copy_file_range()
 * (one page-cache copy instead of two, or a reflink) or, into a pipe,
 * splice() (no copy), and hashed from a map of the basis; small copies, and
 * outputs where the kernel cannot copy (block devices), go through the
 * buffer with pread().
 *
 * When the output is a regular file written at its end, it is written
 * sparse: holes of the basis (SEEK_DATA) that a copy covers, and zero
 * blocks passing through the buffer, become holes in the output, as with
 * cp --sparse=auto.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "rdiff-private.h"

/* Pipes hold 64 KiB: larger writes make the reader wait for whole buffers. */
#define PATCH_OUT_BUF (64u << 10)
#define PATCH_KERNEL_COPY_MIN (64u << 10)
#define PATCH_SPLICE_MIN (16u << 10)
#define PATCH_HASH_MAP (8u << 20)

enum {
        PS_MAGIC,
        PS_CMD,
        PS_PARAMS,
        PS_LITERAL,
        PS_END,
        PS_FAILED,
};

struct cadu_rdiff_patch {
        int basis_fd;
        uint64_t basis_size;
        rdiff_writer w;
        cadu_rdiff_stats *st, own_stats;
        int state;
        uint8_t op;
        uint8_t hdr[16];
        size_t hdr_len, hdr_need;
        uint64_t pos;         /* bytes of delta consumed */
        uint64_t cmd_pos;     /* where the current command started */
        uint64_t lit_left, lit_len;
        bool have_copy;
        uint64_t copy_off, copy_len;
        bool kernel_copy;     /* copy_file_range() or splice() still worth trying */
        bool out_pipe;        /* the output is a pipe: splice() */
        bool holes;           /* the basis may have holes (SEEK_DATA works) */
        bool ext_hole;        /* the last extent looked up: [ext_lo, ext_hi) */
        uint64_t ext_lo, ext_hi;
        cadu_digest_ctx *hash;
        int error;
};

static int patch_fail(cadu_rdiff_patch *p, int r) {
        p->state = PS_FAILED;
        p->error = r;
        return r;
}

#define BAD(p, ...) patch_fail(p, rdiff_bad((p)->st, __VA_ARGS__))

/* Hash basis bytes [off, off + len) (what the kernel just copied). */
static int hash_basis(cadu_rdiff_patch *p, uint64_t off, uint64_t len) {
        rdiff_source src = { .fd = p->basis_fd, .mapped = true, .size = p->basis_size,
                             .page = (size_t)sysconf(_SC_PAGESIZE) };
        while (len) {
                size_t k = (size_t)CADU_MIN(len, (uint64_t)PATCH_HASH_MAP);
                rdiff_map m = { .base = NULL };
                const uint8_t *d;
                int r = rdiff_source_map(&src, off, k, &m, &d);
                if (r < 0)
                        return r;
                r = cadu_digest_update(p->hash, d, k);
                rdiff_map_release(&m);
                if (r < 0)
                        return r;
                off += k;
                len -= k;
        }
        return 0;
}

/* The extent of the basis at off, up to len bytes: a hole (*hole) or data.
 * Remembers the last answer, as rdiff deltas copy the same zero block over
 * and over. */
static uint64_t basis_extent(cadu_rdiff_patch *p, uint64_t off, uint64_t len, bool *hole) {
        *hole = false;
        if (!p->holes)
                return len;
        if (off < p->ext_lo || off >= p->ext_hi) {
                off_t d = lseek(p->basis_fd, (off_t)off, SEEK_DATA);
                if (d < 0 && errno == ENXIO) { /* a hole up to the end */
                        p->ext_lo = off;
                        p->ext_hi = p->basis_size;
                        p->ext_hole = true;
                } else if (d < 0) { /* no SEEK_DATA here (a device): all data */
                        p->holes = false;
                        return len;
                } else if ((uint64_t)d > off) {
                        p->ext_lo = off;
                        p->ext_hi = (uint64_t)d;
                        p->ext_hole = true;
                } else {
                        off_t h = lseek(p->basis_fd, (off_t)off, SEEK_HOLE);
                        p->ext_lo = off;
                        p->ext_hi = h > (off_t)off ? (uint64_t)h : off + len;
                        p->ext_hole = false;
                }
        }
        *hole = p->ext_hole;
        return CADU_MIN(p->ext_hi - off, len);
}

/* Let the kernel copy basis [off, off + len). Returns the bytes copied: all
 * of them, or fewer (0 included) where it cannot, and turns itself off. */
static int kernel_copy(cadu_rdiff_patch *p, uint64_t off, uint64_t len, uint64_t *ret_done) {
        int r = rdiff_writer_flush(&p->w);
        if (r < 0)
                return r;
        uint64_t done = 0;
        while (done < len) {
                loff_t o = (loff_t)(off + done);
                size_t want = (size_t)CADU_MIN(len - done, (uint64_t)1 << 30);
                ssize_t k = p->out_pipe ? splice(p->basis_fd, &o, p->w.fd, NULL, want, SPLICE_F_MORE)
                                        : copy_file_range(p->basis_fd, &o, p->w.fd, NULL, want, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS ||
                            errno == EBADF || errno == ETXTBSY || errno == EPERM || errno == EFBIG) {
                                p->kernel_copy = false;
                                break;
                        }
                        return -errno;
                }
                if (k == 0)
                        return -EIO; /* the basis is shorter than its stated size */
                if (p->hash && (r = hash_basis(p, off + done, (uint64_t)k)) < 0)
                        return r;
                done += (uint64_t)k;
                p->w.total += (uint64_t)k;
                p->w.pos += (uint64_t)k;
        }
        *ret_done = done;
        return 0;
}

/* Copy basis [off, off + len) through the output buffer. */
static int buffered_copy(cadu_rdiff_patch *p, uint64_t off, uint64_t len) {
        rdiff_writer *w = &p->w;
        while (len) {
                size_t room;
                int r = rdiff_writer_room(w, &room);
                if (r < 0)
                        return r;
                size_t k = (size_t)CADU_MIN(len, (uint64_t)room);
                ssize_t got = cadu_pread_full(p->basis_fd, w->buf + w->len, k, off);
                if (got < 0)
                        return (int)got;
                if ((size_t)got != k)
                        return -EIO; /* the basis is shorter than its stated size */
                w->len += k;
                w->total += k;
                off += k;
                len -= k;
        }
        return 0;
}

static int run_copy(cadu_rdiff_patch *p) {
        if (!p->have_copy)
                return 0;
        uint64_t off = p->copy_off, len = p->copy_len;
        p->have_copy = false;
        while (len) {
                bool hole = false;
                uint64_t ext = p->w.sparse ? basis_extent(p, off, len, &hole) : len, done = 0;
                int r;
                if (hole)
                        r = rdiff_writer_zeros(&p->w, ext);
                else {
                        r = 0;
                        if (p->kernel_copy && ext >= (p->out_pipe ? PATCH_SPLICE_MIN : PATCH_KERNEL_COPY_MIN))
                                r = kernel_copy(p, off, ext, &done);
                        if (r == 0 && done < ext)
                                r = buffered_copy(p, off + done, ext - done);
                }
                if (r < 0)
                        return r;
                off += ext;
                len -= ext;
        }
        return 0;
}

int cadu_rdiff_patch_new(int basis_fd, uint64_t basis_size, int out_fd, cadu_digest_ctx *hash,
                         cadu_rdiff_stats *stats, cadu_rdiff_patch **ret) {
        if (basis_fd < 0 || out_fd < 0 || !ret)
                return -EINVAL;
        cadu_rdiff_patch *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->basis_fd = basis_fd;
        p->basis_size = basis_size;
        p->st = stats ? stats : &p->own_stats;
        memset(p->st, 0, sizeof(*p->st));
        p->state = PS_MAGIC;
        p->hdr_need = 4;
        p->hash = hash;
        p->kernel_copy = !getenv("CADU_RDIFF_NO_KERNEL_COPY");
        int r = rdiff_writer_init(&p->w, out_fd, PATCH_OUT_BUF, hash);
        if (r < 0) {
                cadu_rdiff_patch_free(p);
                return r;
        }
        p->holes = true;
        (void)rdiff_writer_try_sparse(&p->w);
        struct stat st;
        p->out_pipe = fstat(out_fd, &st) == 0 && S_ISFIFO(st.st_mode);

        *ret = p;
        return 0;
}

cadu_rdiff_patch *cadu_rdiff_patch_free(cadu_rdiff_patch *p) {
        if (p) {
                rdiff_writer_done(&p->w);
                free(p);
        }
        return NULL;
}

/* A command's parameters are complete in p->hdr. */
static int params_done(cadu_rdiff_patch *p) {
        unsigned long long at = (unsigned long long)p->cmd_pos;
        if (p->op <= 0x44) {
                uint64_t len = rdiff_be(p->hdr, (unsigned)p->hdr_need);
                if (len == 0)
                        return BAD(p, "zero-length literal (command 0x%02x at offset %llu)", p->op, at);
                p->lit_left = p->lit_len = len;
                p->state = PS_LITERAL;
                p->st->literal_cmds++;
                int r = run_copy(p);
                return r < 0 ? patch_fail(p, r) : 0;
        }
        unsigned c = p->op - 0x45u, wo = 1u << (c >> 2), wl = 1u << (c & 3);
        uint64_t off = rdiff_be(p->hdr, wo), len = rdiff_be(p->hdr + wo, wl);
        if (len == 0)
                return BAD(p, "zero-length copy (command 0x%02x at offset %llu)", p->op, at);
        if (off > p->basis_size || len > p->basis_size - off)
                return BAD(p, "copy of %llu bytes from %llu lies beyond the end of the basis (%llu bytes) "
                           "(command 0x%02x at offset %llu)", (unsigned long long)len,
                           (unsigned long long)off, (unsigned long long)p->basis_size, p->op, at);
        p->st->copy_cmds++;
        p->st->copy_bytes += len;
        if (p->have_copy && p->copy_off + p->copy_len == off) {
                p->copy_len += len;
        } else {
                int r = run_copy(p);
                if (r < 0)
                        return patch_fail(p, r);
                p->have_copy = true;
                p->copy_off = off;
                p->copy_len = len;
        }
        p->state = PS_CMD;
        return 0;
}

int cadu_rdiff_patch_feed(cadu_rdiff_patch *p, const void *data, size_t n) {
        const uint8_t *d = data;
        int r;
        if (!p || (!data && n))
                return -EINVAL;
        if (p->state == PS_FAILED)
                return p->error;
        while (n) {
                switch (p->state) {
                case PS_MAGIC:
                case PS_PARAMS: {
                        size_t k = CADU_MIN(n, p->hdr_need - p->hdr_len);
                        memcpy(p->hdr + p->hdr_len, d, k);
                        p->hdr_len += k;
                        p->pos += k;
                        d += k;
                        n -= k;
                        if (p->hdr_len < p->hdr_need)
                                break;
                        if (p->state == PS_PARAMS) {
                                r = params_done(p);
                                if (r < 0)
                                        return r;
                                break;
                        }
                        uint32_t magic = cadu_be32(p->hdr);
                        if (cadu_rdiff_is_sig_magic(magic))
                                return BAD(p, "bad magic 0x%08x: this is a signature, not a delta", magic);
                        if (magic != CADU_RDIFF_DELTA_MAGIC)
                                return BAD(p, "bad magic 0x%08x: not an rdiff delta", magic);
                        p->state = PS_CMD;
                        break;
                }
                case PS_CMD: {
                        uint8_t op = *d++;
                        n--;
                        p->op = op;
                        p->cmd_pos = p->pos++;
                        if (op == 0) {
                                r = run_copy(p);
                                if (r < 0)
                                        return patch_fail(p, r);
                                p->state = PS_END;
                        } else if (op <= 0x40) {
                                r = run_copy(p);
                                if (r < 0)
                                        return patch_fail(p, r);
                                p->lit_left = p->lit_len = op;
                                p->state = PS_LITERAL;
                                p->st->literal_cmds++;
                        } else if (op <= 0x44) {
                                p->hdr_need = 1u << (op - 0x41);
                                p->hdr_len = 0;
                                p->state = PS_PARAMS;
                        } else if (op <= 0x54) {
                                unsigned c = op - 0x45u;
                                p->hdr_need = (1u << (c >> 2)) + (1u << (c & 3));
                                p->hdr_len = 0;
                                p->state = PS_PARAMS;
                        } else
                                return BAD(p, "unknown command 0x%02x at offset %llu", op,
                                           (unsigned long long)p->cmd_pos);
                        break;
                }
                case PS_LITERAL: {
                        size_t k = (size_t)CADU_MIN((uint64_t)n, p->lit_left);
                        r = rdiff_writer_put(&p->w, d, k);
                        if (r < 0)
                                return patch_fail(p, r);
                        p->st->literal_bytes += k;
                        p->lit_left -= k;
                        p->pos += k;
                        d += k;
                        n -= k;
                        if (!p->lit_left)
                                p->state = PS_CMD;
                        break;
                }
                case PS_END:
                        return BAD(p, "data after the END command (offset %llu)", (unsigned long long)p->pos);
                default:
                        return p->error;
                }
        }
        p->st->in_bytes = p->pos;
        return 0;
}

int cadu_rdiff_patch_finish(cadu_rdiff_patch *p) {
        if (!p)
                return -EINVAL;
        unsigned long long at = (unsigned long long)p->cmd_pos;
        switch (p->state) {
        case PS_MAGIC:
                return BAD(p, "truncated header (%zu of 4 bytes)", p->hdr_len);
        case PS_CMD:
                return BAD(p, "no END command: the delta is truncated (at offset %llu)",
                           (unsigned long long)p->pos);
        case PS_PARAMS:
                return BAD(p, "truncated command 0x%02x at offset %llu (%zu of %zu parameter bytes)", p->op,
                           at, p->hdr_len, p->hdr_need);
        case PS_LITERAL:
                return BAD(p, "truncated literal at offset %llu (%llu of %llu bytes)", at,
                           (unsigned long long)(p->lit_len - p->lit_left), (unsigned long long)p->lit_len);
        case PS_END:
                break;
        default:
                return p->error;
        }
        int r = rdiff_writer_finish(&p->w);
        if (r < 0)
                return patch_fail(p, r);
        p->st->in_bytes = p->pos;
        p->st->out_bytes = p->w.total;
        return 0;
}

int cadu_rdiff_patch_fd(int basis_fd, uint64_t basis_size, int delta_fd, int out_fd, cadu_digest_ctx *hash,
                        const cadu_rdiff_opts *opts, cadu_rdiff_stats *stats) {
        cadu_rdiff_patch *p = NULL;
        int r = cadu_rdiff_patch_new(basis_fd, basis_size, out_fd, hash, stats, &p);
        if (r < 0)
                return r;
        const size_t bufsz = 1 << 16;
        uint8_t *buf = cadu_malloc_io(bufsz);
        if (!buf) {
                cadu_rdiff_patch_free(p);
                return -ENOMEM;
        }
        for (;;) {
                ssize_t k = cadu_read_full(delta_fd, buf, bufsz);
                if (k < 0) {
                        r = (int)k;
                        break;
                }
                if (k == 0) {
                        r = cadu_rdiff_patch_finish(p);
                        break;
                }
                r = cadu_rdiff_patch_feed(p, buf, (size_t)k);
                if (r < 0)
                        break;
                if (opts && opts->progress)
                        opts->progress(opts->userdata, p->pos);
        }
        free(buf);
        cadu_rdiff_patch_free(p);
        return r;
}
