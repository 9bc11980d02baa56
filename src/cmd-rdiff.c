/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cadu rdiff signature|delta|patch: rdiff 2.3-compatible signatures, deltas
 * and patches (same arguments and defaults as rdiff), built on libcadurdiff.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>

#include "cadu-rdiff.h"
#include "cadu-util.h"
#include "cmd.h"

typedef struct rdiff_args {
        uint32_t block_len;
        int strong_len;
        bool md4, rollsum;
        bool force, stats;
        unsigned threads;
        bool have_sha256;
        uint8_t sha256[CADU_DIGEST_SIZE];
} rdiff_args;

static void help(FILE *f) {
        fprintf(f,
                "Usage: cadu rdiff [OPTIONS] signature [BASIS [SIGNATURE]]\n"
                "       cadu rdiff [OPTIONS] delta SIGNATURE [NEWFILE [DELTA]]\n"
                "       cadu rdiff [OPTIONS] patch BASIS [DELTA [NEWFILE]]\n\n"
                "rdiff (librsync 2.3) compatible signatures, deltas and patches.\n"
                "A missing file name or '-' means standard input or output.\n\n"
                "Signature options:\n"
                "  -b, --block-size=BYTES  block length; 0 (default) for rdiff's choice from the basis size\n"
                "  -S, --sum-size=BYTES    strong sum length; 0 (default) for the full hash, -1 for the\n"
                "                          smallest recommended\n"
                "  -H, --hash=ALG          strong hash: blake2 (default) or md4\n"
                "  -R, --rollsum=ALG       weak sum: rabinkarp (default) or rollsum\n"
                "Patch options:\n"
                "      --sha256=HEX        the result must have this sha256, else fail and keep nothing\n"
                "Other options:\n"
                "  -f, --force             replace an existing output file\n"
                "  -s, --statistics        print statistics on standard error\n"
                "  -j, --threads=N         worker threads for signature and delta (default: CPUs, max 8)\n"
                "  -v, --verbose           same as --statistics\n"
                "  -I, --input-size=BYTES  accepted for rdiff compatibility; ignored\n"
                "  -O, --output-size=BYTES accepted for rdiff compatibility; ignored\n"
                "  -h, --help              show this help\n\n"
                "See cadu-rdiff(1).\n");
}

/* Inputs are mapped into memory: a file cut short while it is read raises
 * SIGBUS. Turn that into one error line, and remove the temporary output. */
static const char *volatile sigbus_tmp;

static void on_sigbus(int sig) {
        static const char msg[] = "cadu: an input file shrank while it was being read\n";
        (void)sig;
        if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
                /* nothing more to do */
        }
        if (sigbus_tmp)
                unlink(sigbus_tmp);
        _exit(CADU_EXIT_FAILURE);
}

static void on_progress(void *userdata, uint64_t done) {
        cadu_progress_update(userdata, done);
}

static bool is_stdio(const char *path) {
        return !path || !strcmp(path, "-");
}

static const char *name_of(const char *path, const char *std) {
        return is_stdio(path) ? std : path;
}

/* Open an input file, or standard input for NULL / "-". */
static int open_input(const char *path, int *ret_fd) {
        if (is_stdio(path)) {
                *ret_fd = STDIN_FILENO;
                return 0;
        }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret_fd = fd;
        return 0;
}

/* An output: standard output, or a file that appears only when complete
 * (a device is written in place). rdiff refuses to replace an existing
 * file unless forced; so does cadu. */
typedef struct output {
        const char *name;
        bool to_stdout;
        cadu_outfile of;
        int fd;
} output;

static int output_open(output *o, const char *path, bool force, int basis_fd) {
        *o = (output){ .of = CADU_OUTFILE_INIT, .fd = -1 };
        if (is_stdio(path)) {
                o->name = "standard output";
                o->to_stdout = true;
                o->fd = STDOUT_FILENO;
                return 0;
        }
        o->name = path;
        struct stat st;
        if (stat(path, &st) == 0) {
                if (S_ISREG(st.st_mode) && !force)
                        return cadu_error("%s exists (use --force to replace it)", path);
                struct stat bs;
                if (basis_fd >= 0 && !S_ISREG(st.st_mode) && fstat(basis_fd, &bs) == 0 &&
                    bs.st_dev == st.st_dev && bs.st_ino == st.st_ino)
                        return cadu_error("%s: the output is the basis itself", path);
        }
        int r = cadu_outfile_open(&o->of, path, false);
        if (r < 0)
                return cadu_error_errno(r, "creating %s", path);
        o->fd = o->of.fd;
        sigbus_tmp = o->of.tmp;
        return 0;
}

static int output_commit(output *o) {
        sigbus_tmp = NULL;
        if (o->to_stdout)
                return 0;
        int r = cadu_outfile_commit(&o->of);
        if (r < 0)
                return cadu_error_errno(r, "writing %s", o->name);
        return 0;
}

static void output_abort(output *o) {
        sigbus_tmp = NULL;
        if (!o->to_stdout)
                cadu_outfile_abort(&o->of);
}

static void print_stats(const char *what, const cadu_rdiff_stats *st, uint64_t start_ns) {
        double secs = (double)(cadu_now_ns() - start_ns) / 1e9;
        char a[32], b[32], c[32];
        if (cadu_json) {
                printf("{\"event\":\"done\",\"command\":\"rdiff %s\",\"in_bytes\":%llu,\"out_bytes\":%llu,"
                       "\"blocks\":%llu,\"literal_cmds\":%llu,\"literal_bytes\":%llu,\"copy_cmds\":%llu,"
                       "\"copy_bytes\":%llu,\"strong_sums\":%llu,\"seconds\":%.3f}\n",
                       what, (unsigned long long)st->in_bytes, (unsigned long long)st->out_bytes,
                       (unsigned long long)st->blocks, (unsigned long long)st->literal_cmds,
                       (unsigned long long)st->literal_bytes, (unsigned long long)st->copy_cmds,
                       (unsigned long long)st->copy_bytes, (unsigned long long)st->strong_sums, secs);
                fflush(stdout);
                return;
        }
        fprintf(stderr, "cadu: rdiff %s: %s in, %s out in %.2f s (%s/s)", what, cadu_format_bytes(st->in_bytes, a),
                cadu_format_bytes(st->out_bytes, b), secs,
                cadu_format_bytes(secs > 0 ? (uint64_t)((double)CADU_MAX(st->in_bytes, st->out_bytes) / secs) : 0, c));
        if (st->blocks)
                fprintf(stderr, ", %llu blocks", (unsigned long long)st->blocks);
        if (st->copy_cmds || st->literal_cmds)
                fprintf(stderr, ", %llu copies (%s), %llu literals (%s)", (unsigned long long)st->copy_cmds,
                        cadu_format_bytes(st->copy_bytes, a), (unsigned long long)st->literal_cmds,
                        cadu_format_bytes(st->literal_bytes, b));
        fputc('\n', stderr);
}

static int do_signature(const rdiff_args *a, int argc, char **argv) {
        if (argc > 2)
                return cadu_usage_error("rdiff", "signature takes at most BASIS and SIGNATURE");
        const char *basis = argc > 0 ? argv[0] : NULL, *sig = argc > 1 ? argv[1] : NULL;
        const char *bname = name_of(basis, "standard input");
        if (cadu_json && is_stdio(sig))
                return cadu_usage_error("rdiff", "--json needs a SIGNATURE file (standard output carries the JSON)");
        _cleanup_close_ int bfd = -1;
        int fd, r = open_input(basis, &fd);
        if (r < 0)
                return cadu_error_errno(r, "opening %s", bname);
        if (fd != STDIN_FILENO)
                bfd = fd;
        /* rdiff knows the size of regular files only (a device or pipe gets
         * 2048-byte blocks); same arguments, same signature. */
        uint64_t size = CADU_RDIFF_SIZE_UNKNOWN;
        struct stat bst;
        if (fstat(fd, &bst) == 0 && S_ISREG(bst.st_mode))
                size = (uint64_t)bst.st_size;

        cadu_rdiff_sig_params p;
        bool weak;
        r = cadu_rdiff_sig_params_init(&p, cadu_rdiff_sig_magic(!a->md4, !a->rollsum), size, a->block_len,
                                       a->strong_len, &weak);
        if (r < 0)
                return cadu_usage_error("rdiff", "invalid --sum-size %d for %s (1..%d, 0 or -1)", a->strong_len,
                                        a->md4 ? "md4" : "blake2", a->md4 ? 16 : 32);
        if (weak && !cadu_quiet)
                fprintf(stderr, "cadu: warning: a strong sum of %u bytes is shorter than recommended for %s "
                        "with %u-byte blocks\n", p.strong_len, bname, p.block_len);

        output o;
        r = output_open(&o, sig, a->force, -1);
        if (r)
                return r;
        cadu_progress prog;
        cadu_progress_begin(&prog, "signature", size == CADU_RDIFF_SIZE_UNKNOWN ? 0 : size);
        cadu_rdiff_opts opts = { .threads = a->threads, .progress = on_progress, .userdata = &prog };
        cadu_rdiff_stats st;
        uint64_t t0 = cadu_now_ns();
        r = cadu_rdiff_signature_fd(fd, o.fd, &p, &opts, &st);
        cadu_progress_end(&prog);
        if (r < 0) {
                output_abort(&o);
                return cadu_error_errno(r, "signature of %s into %s", bname, o.name);
        }
        r = output_commit(&o);
        if (r)
                return r;
        if (a->stats || cadu_json)
                print_stats("signature", &st, t0);
        return CADU_EXIT_OK;
}

static int do_delta(const rdiff_args *a, int argc, char **argv) {
        if (argc < 1)
                return cadu_usage_error("rdiff", "delta needs a SIGNATURE");
        if (argc > 3)
                return cadu_usage_error("rdiff", "delta takes at most SIGNATURE, NEWFILE and DELTA");
        const char *sig = argv[0], *nw = argc > 1 ? argv[1] : NULL, *delta = argc > 2 ? argv[2] : NULL;
        if (is_stdio(sig) && is_stdio(nw))
                return cadu_usage_error("rdiff", "SIGNATURE and NEWFILE cannot both be standard input");
        if (cadu_json && is_stdio(delta))
                return cadu_usage_error("rdiff", "--json needs a DELTA file (standard output carries the JSON)");
        const char *sname = name_of(sig, "standard input"), *nname = name_of(nw, "standard input");

        _cleanup_close_ int sfd = -1, nfd = -1;
        int fd, r = open_input(sig, &fd);
        if (r < 0)
                return cadu_error_errno(r, "opening %s", sname);
        if (fd != STDIN_FILENO)
                sfd = fd;
        cadu_rdiff_sig *s = NULL;
        cadu_rdiff_stats st;
        r = cadu_rdiff_sig_load_fd(fd, &s, &st);
        if (r == -EBADMSG) {
                cadu_error("reading signature %s: %s", sname, st.reason);
                return CADU_EXIT_VERIFY;
        }
        if (r < 0)
                return cadu_error_errno(r, "reading signature %s", sname);

        int ifd;
        r = open_input(nw, &ifd);
        if (r < 0) {
                cadu_rdiff_sig_free(s);
                return cadu_error_errno(r, "opening %s", nname);
        }
        if (ifd != STDIN_FILENO)
                nfd = ifd;
        uint64_t size = 0;
        (void)cadu_fd_size(ifd, &size);

        output o;
        r = output_open(&o, delta, a->force, -1);
        if (r) {
                cadu_rdiff_sig_free(s);
                return r;
        }
        cadu_progress prog;
        cadu_progress_begin(&prog, "delta", size);
        cadu_rdiff_opts opts = { .threads = a->threads, .progress = on_progress, .userdata = &prog };
        uint64_t t0 = cadu_now_ns();
        r = cadu_rdiff_delta_fd(s, ifd, o.fd, &opts, &st);
        cadu_progress_end(&prog);
        cadu_rdiff_sig_free(s);
        if (r < 0) {
                output_abort(&o);
                return cadu_error_errno(r, "delta of %s against %s into %s", nname, sname, o.name);
        }
        r = output_commit(&o);
        if (r)
                return r;
        if (a->stats || cadu_json)
                print_stats("delta", &st, t0);
        return CADU_EXIT_OK;
}

static int do_patch(const rdiff_args *a, int argc, char **argv) {
        if (argc < 1)
                return cadu_usage_error("rdiff", "patch needs a BASIS");
        if (argc > 3)
                return cadu_usage_error("rdiff", "patch takes at most BASIS, DELTA and NEWFILE");
        const char *basis = argv[0], *delta = argc > 1 ? argv[1] : NULL, *nw = argc > 2 ? argv[2] : NULL;
        if (is_stdio(basis))
                return cadu_usage_error("rdiff", "the BASIS of a patch must be a file or block device, not standard input");
        if (cadu_json && is_stdio(nw))
                return cadu_usage_error("rdiff", "--json needs a NEWFILE (standard output carries the JSON)");
        const char *dname = name_of(delta, "standard input");

        /* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer. */
        _cleanup_close_ int bfd = open(basis, O_RDONLY | O_CLOEXEC | O_NONBLOCK), dfd = -1;
        if (bfd < 0)
                return cadu_error_errno(-errno, "opening %s", basis);
        uint64_t bsize;
        int r = cadu_fd_size(bfd, &bsize);
        if (r < 0)
                return cadu_error_errno(r, "%s: the basis must be a file or block device", basis);
        int fd;
        r = open_input(delta, &fd);
        if (r < 0)
                return cadu_error_errno(r, "opening %s", dname);
        if (fd != STDIN_FILENO)
                dfd = fd;
        uint64_t dsize = 0;
        (void)cadu_fd_size(fd, &dsize);

        cadu_digest_ctx *hash = NULL;
        if (a->have_sha256) {
                hash = cadu_digest_new(CADU_DIGEST_SHA256);
                if (!hash)
                        return cadu_error_errno(-ENOMEM, "sha256");
        }
        output o;
        r = output_open(&o, nw, a->force, bfd);
        if (r) {
                cadu_digest_free(hash);
                return r;
        }
        cadu_progress prog;
        cadu_progress_begin(&prog, "patch", dsize);
        cadu_rdiff_opts opts = { .progress = on_progress, .userdata = &prog };
        cadu_rdiff_stats st;
        uint64_t t0 = cadu_now_ns();
        r = cadu_rdiff_patch_fd(bfd, bsize, fd, o.fd, hash, &opts, &st);
        cadu_progress_end(&prog);
        if (r < 0) {
                output_abort(&o);
                cadu_digest_free(hash);
                if (r == -EBADMSG) {
                        cadu_error("patching %s with %s: %s", basis, dname, st.reason);
                        return CADU_EXIT_VERIFY;
                }
                return cadu_error_errno(r, "patching %s with %s into %s", basis, dname, o.name);
        }
        if (hash) {
                uint8_t got[CADU_DIGEST_SIZE];
                r = cadu_digest_final(hash, got);
                cadu_digest_free(hash);
                if (r < 0) {
                        output_abort(&o);
                        return cadu_error_errno(r, "sha256 of %s", o.name);
                }
                if (memcmp(got, a->sha256, CADU_DIGEST_SIZE)) {
                        char hex[2 * CADU_DIGEST_SIZE + 1];
                        cadu_hex_encode(got, CADU_DIGEST_SIZE, hex);
                        bool in_place = !o.to_stdout && !o.of.tmp;
                        output_abort(&o);
                        cadu_error("patching %s with %s: the result has sha256 %s, not the expected one%s", basis,
                                   dname, hex,
                                   o.to_stdout ? " (already written to standard output)"
                                   : in_place  ? " (the device was written)"
                                               : "; nothing written");
                        return CADU_EXIT_VERIFY;
                }
        }
        r = output_commit(&o);
        if (r)
                return r;
        if (a->stats || cadu_json)
                print_stats("patch", &st, t0);
        return CADU_EXIT_OK;
}

int cadu_cmd_rdiff(int argc, char **argv) {
        enum { OPT_SHA256 = 0x100 };
        static const struct option options[] = {
                { "block-size", required_argument, NULL, 'b' },
                { "sum-size", required_argument, NULL, 'S' },
                { "hash", required_argument, NULL, 'H' },
                { "rollsum", required_argument, NULL, 'R' },
                { "sha256", required_argument, NULL, OPT_SHA256 },
                { "force", no_argument, NULL, 'f' },
                { "statistics", no_argument, NULL, 's' },
                { "verbose", no_argument, NULL, 'v' },
                { "threads", required_argument, NULL, 'j' },
                { "input-size", required_argument, NULL, 'I' },
                { "output-size", required_argument, NULL, 'O' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        rdiff_args a = { .strong_len = 0 };
        uint64_t v;
        int c;
        optind = 0;
        opterr = 0;
        for (;;) {
                optopt = 0;
                c = getopt_long(argc, argv, ":b:S:H:R:fsvj:I:O:h?", options, NULL);
                if (c < 0)
                        break;
        switch (c) {
                case 'b':
                        if (cadu_parse_uint(optarg, 0, CADU_RDIFF_MAX_BLOCK_LEN, &v) < 0)
                                return cadu_usage_error("rdiff", "invalid --block-size '%s' (0..%u)", optarg,
                                                        CADU_RDIFF_MAX_BLOCK_LEN);
                        a.block_len = (uint32_t)v;
                        break;
                case 'S':
                        if (!strcmp(optarg, "-1"))
                                a.strong_len = -1;
                        else if (cadu_parse_uint(optarg, 0, 32, &v) < 0)
                                return cadu_usage_error("rdiff", "invalid --sum-size '%s' (0..32 or -1)", optarg);
                        else
                                a.strong_len = (int)v;
                        break;
                case 'H':
                        if (!strcmp(optarg, "blake2"))
                                a.md4 = false;
                        else if (!strcmp(optarg, "md4"))
                                a.md4 = true;
                        else
                                return cadu_usage_error("rdiff", "invalid --hash '%s' (blake2 or md4)", optarg);
                        break;
                case 'R':
                        if (!strcmp(optarg, "rabinkarp"))
                                a.rollsum = false;
                        else if (!strcmp(optarg, "rollsum"))
                                a.rollsum = true;
                        else
                                return cadu_usage_error("rdiff", "invalid --rollsum '%s' (rabinkarp or rollsum)",
                                                        optarg);
                        break;
                case OPT_SHA256:
                        if (cadu_hex_decode(optarg, a.sha256, CADU_DIGEST_SIZE) < 0)
                                return cadu_usage_error("rdiff", "invalid --sha256 '%s' (64 hex digits)", optarg);
                        a.have_sha256 = true;
                        break;
                case 'f':
                        a.force = true;
                        break;
                case 's':
                case 'v':
                        a.stats = true;
                        break;
                case 'j':
                        if (cadu_parse_uint(optarg, 1, 256, &v) < 0)
                                return cadu_usage_error("rdiff", "invalid --threads '%s' (1..256)", optarg);
                        a.threads = (unsigned)v;
                        break;
                case 'I':
                case 'O':
                        if (cadu_parse_size(optarg, &v) < 0)
                                return cadu_usage_error("rdiff", "invalid buffer size '%s'", optarg);
                        break;
                case 'h':
                        help(stdout);
                        return CADU_EXIT_OK;
                case ':':
                        return cadu_usage_error("rdiff", "option '%s' needs an argument", argv[optind - 1]);
                case '?':
                        if (!strcmp(argv[optind - 1], "-?")) {
                                help(stdout);
                                return CADU_EXIT_OK;
                        }
                        if (optopt)
                                return cadu_usage_error("rdiff", "unknown option '-%c'", optopt);
                        return cadu_usage_error("rdiff", "unknown option '%s'", argv[optind - 1]);
                default:
                        return cadu_usage_error("rdiff", "unknown option '%s'", argv[optind - 1]);
                }
        }
        struct sigaction sa = { .sa_handler = on_sigbus };
        sigemptyset(&sa.sa_mask);
        (void)sigaction(SIGBUS, &sa, NULL);

        /* getopt moved the positional arguments to the end. */
        char **pos = argv + optind;
        int npos = argc - optind;
        if (npos == 0)
                return cadu_usage_error("rdiff", "missing command: signature, delta or patch");
        if (a.have_sha256 && strcmp(pos[0], "patch"))
                return cadu_usage_error("rdiff", "--sha256 applies to patch only");
        if (!strcmp(pos[0], "signature"))
                return do_signature(&a, npos - 1, pos + 1);
        if (!strcmp(pos[0], "delta"))
                return do_delta(&a, npos - 1, pos + 1);
        if (!strcmp(pos[0], "patch"))
                return do_patch(&a, npos - 1, pos + 1);
        return cadu_usage_error("rdiff", "unknown rdiff command '%s' (signature, delta or patch)", pos[0]);
}
