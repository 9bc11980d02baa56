/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of libcaduboot (environment transactions on the file backend,
 * the A/B scheme's transitions, booted-slot detection) and of the state
 * directory (slot info, journal, lock). The U-Boot backend is exercised
 * against the real libubootenv tools by the boot-*.sh tests.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cadu-boot.h"
#include "cadu-util.h"
#include "../lib/slotstate.h"

static char dir[64];

static void setup(void) {
        strcpy(dir, "/tmp/cadu-boot-unit.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static char *path_in(const char *name) {
        static char p[2][128];
        static int k;
        k ^= 1;
        snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
        return p[k];
}

static void write_text(const char *path, const char *text) {
        ck_assert_int_eq(cadu_write_file_atomic(path, text, strlen(text)), 0);
}

static char *read_text(const char *path) {
        uint8_t *d = NULL;
        size_t n = 0;
        ck_assert_int_eq(cadu_read_file(path, 1 << 20, &d, &n), 0);
        return (char *)d;
}

/* A file-backend handle on dir/env holding text. */
static cadu_boot *env_with(const char *text, unsigned max_attempts) {
        cadu_boot_options o = { .backend = CADU_BOOT_FILE, .path = path_in("env"), .max_attempts = max_attempts };
        cadu_boot *b = NULL;
        ck_assert_int_eq(cadu_boot_new(&o, &b), 0);
        ck_assert_int_eq(cadu_boot_load_buffer(b, text, strlen(text)), 0);
        return b;
}

static void check_var(cadu_boot *b, const char *name, const char *want, int line) {
        const char *v = cadu_boot_get(b, name);
        if (want)
                ck_assert_msg(v && !strcmp(v, want), "line %d: %s=%s, want %s", line, name, v ? v : "(unset)", want);
        else
                ck_assert_msg(!v, "line %d: %s=%s, want unset", line, name, v);
}
#define ck_assert_var(b, name, value) check_var(b, name, value, __LINE__)

/* ---- the scheme ---- */

START_TEST(test_state_defaults) {
        cadu_boot *b = env_with("bootcmd=run x\n", 0);
        cadu_boot_state s;
        ck_assert_int_eq(cadu_boot_state_get(b, &s), 0);
        ck_assert_str_eq(s.order, "AB");
        ck_assert_uint_eq(s.left[0], 3);
        ck_assert_uint_eq(s.left[1], 3);
        ck_assert_int_eq(cadu_boot_state_next(&s), 'A');
        ck_assert_int_eq(cadu_boot_state_rank(&s, 'B'), 1);
        cadu_boot_free(b);
}
END_TEST

START_TEST(test_state_parse) {
        cadu_boot *b = env_with("BOOT_ORDER=B A\nBOOT_A_LEFT=0\nBOOT_B_LEFT=2\n", 0);
        cadu_boot_state s;
        ck_assert_int_eq(cadu_boot_state_get(b, &s), 0);
        ck_assert_str_eq(s.order, "BA");
        ck_assert_uint_eq(s.left[0], 0);
        ck_assert_uint_eq(s.left[1], 2);
        ck_assert_int_eq(cadu_boot_state_next(&s), 'B');
        cadu_boot_free(b);

        /* The first slot with attempts left boots. */
        b = env_with("BOOT_ORDER=B A\nBOOT_A_LEFT=1\nBOOT_B_LEFT=0\n", 0);
        ck_assert_int_eq(cadu_boot_state_get(b, &s), 0);
        ck_assert_int_eq(cadu_boot_state_next(&s), 'A');
        cadu_boot_free(b);

        /* None left: the script resets the counts and boots the first. */
        b = env_with("BOOT_ORDER=B A\nBOOT_A_LEFT=0\nBOOT_B_LEFT=0\n", 0);
        ck_assert_int_eq(cadu_boot_state_get(b, &s), 0);
        ck_assert_int_eq(cadu_boot_state_next(&s), 'B');
        cadu_boot_free(b);

        /* A one-slot order (as RAUC leaves it); extra blanks are fine. */
        b = env_with("BOOT_ORDER=  B\t\n", 0);
        ck_assert_int_eq(cadu_boot_state_get(b, &s), 0);
        ck_assert_str_eq(s.order, "B");
        ck_assert_int_eq(cadu_boot_state_rank(&s, 'A'), -1);
        ck_assert_int_eq(cadu_boot_state_next(&s), 'B');
        cadu_boot_free(b);
}
END_TEST

static const struct {
        const char *env;
        const char *detail;
} bad_state[] = {
        { "BOOT_ORDER=A C\n", "BOOT_ORDER='A C' names 'C', not a slot (A or B)" },
        { "BOOT_ORDER=AB\n", "BOOT_ORDER='AB' names 'AB', not a slot (A or B)" },
        { "BOOT_ORDER=a b\n", "BOOT_ORDER='a b' names 'a', not a slot (A or B)" },
        { "BOOT_ORDER=B B\n", "BOOT_ORDER='B B' names slot B twice" },
        { "BOOT_A_LEFT=x\n", "BOOT_A_LEFT='x' is not a number of attempts from 0 to 9" },
        { "BOOT_B_LEFT=10\n", "BOOT_B_LEFT='10' is not a number of attempts from 0 to 9" },
        { "BOOT_B_LEFT=-1\n", "BOOT_B_LEFT='-1' is not a number of attempts from 0 to 9" },
        { "BOOT_A_LEFT= 3\n", "BOOT_A_LEFT=' 3' is not a number of attempts from 0 to 9" },
};

START_TEST(test_state_errors) {
        cadu_boot *b = env_with(bad_state[_i].env, 0);
        cadu_boot_state s;
        ck_assert_int_eq(cadu_boot_state_get(b, &s), -EBADMSG);
        ck_assert_str_eq(cadu_boot_detail(b), bad_state[_i].detail);
        /* No transition on top of what the script would not understand. */
        ck_assert_int_eq(cadu_boot_trial(b, 'B'), -EBADMSG);
        ck_assert_int_eq(cadu_boot_mark_good(b, 'A'), -EBADMSG);
        ck_assert_int_eq(cadu_boot_mark_bad(b, 'A'), -EBADMSG);
        ck_assert_int_eq(cadu_boot_rollback(b, 'A'), -EBADMSG);
        ck_assert_int_eq(cadu_boot_reset_attempts(b, 'A'), -EBADMSG);
        ck_assert(!cadu_boot_dirty(b));
        cadu_boot_free(b);
}
END_TEST

START_TEST(test_trial) {
        /* From a committed A: B first with one attempt, A keeps its three. */
        cadu_boot *b = env_with("BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n", 0);
        ck_assert_int_eq(cadu_boot_trial(b, 'B'), 0);
        ck_assert_var(b, "BOOT_ORDER", "B A");
        ck_assert_var(b, "BOOT_B_LEFT", "1");
        ck_assert_var(b, "BOOT_A_LEFT", "3");
        ck_assert(cadu_boot_dirty(b));
        cadu_boot_state s;
        ck_assert_int_eq(cadu_boot_state_get(b, &s), 0);
        ck_assert_int_eq(cadu_boot_state_next(&s), 'B');
        cadu_boot_free(b);

        /* Unset counts stay unset (the script's default, 3). */
        b = env_with("", 0);
        ck_assert_int_eq(cadu_boot_trial(b, 'A'), 0);
        ck_assert_var(b, "BOOT_ORDER", "A B");
        ck_assert_var(b, "BOOT_A_LEFT", "1");
        ck_assert_var(b, "BOOT_B_LEFT", NULL);
        ck_assert_int_eq(cadu_boot_trial(b, 'C'), -EINVAL);
        ck_assert_int_eq(cadu_boot_trial(b, 0), -EINVAL);
        cadu_boot_free(b);
}
END_TEST

START_TEST(test_mark_good) {
        /* After a trial boot of B (the script used its attempt). */
        cadu_boot *b = env_with("BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n", 0);
        ck_assert_int_eq(cadu_boot_mark_good(b, 'B'), 0);
        ck_assert_var(b, "BOOT_ORDER", "B A");
        ck_assert_var(b, "BOOT_B_LEFT", "3");
        ck_assert_var(b, "BOOT_A_LEFT", "3");
        cadu_boot_free(b);

        /* After a fallback to A: A first again, with max_attempts. */
        b = env_with("BOOT_ORDER=B A\nBOOT_A_LEFT=1\nBOOT_B_LEFT=0\n", 7);
        ck_assert_int_eq(cadu_boot_mark_good(b, 'A'), 0);
        ck_assert_var(b, "BOOT_ORDER", "A B");
        ck_assert_var(b, "BOOT_A_LEFT", "7");
        ck_assert_var(b, "BOOT_B_LEFT", "0");
        cadu_boot_free(b);

        /* Already committed: nothing changes, nothing to store. */
        b = env_with("BOOT_ORDER=A B\nBOOT_A_LEFT=3\n", 0);
        ck_assert_int_eq(cadu_boot_mark_good(b, 'A'), 0);
        ck_assert(!cadu_boot_dirty(b));
        cadu_boot_free(b);
}
END_TEST

START_TEST(test_reset_attempts) {
        cadu_boot *b = env_with("BOOT_ORDER=B A\nBOOT_A_LEFT=2\nBOOT_B_LEFT=1\n", 0);
        ck_assert_int_eq(cadu_boot_reset_attempts(b, 'A'), 0);
        ck_assert_var(b, "BOOT_ORDER", "B A");
        ck_assert_var(b, "BOOT_A_LEFT", "3");
        ck_assert_var(b, "BOOT_B_LEFT", "1");
        cadu_boot_free(b);
}
END_TEST

START_TEST(test_mark_bad) {
        cadu_boot *b = env_with("BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n", 0);
        ck_assert_int_eq(cadu_boot_mark_bad(b, 'A'), 0);
        ck_assert_var(b, "BOOT_ORDER", "B A");
        ck_assert_var(b, "BOOT_A_LEFT", "0");
        ck_assert_var(b, "BOOT_B_LEFT", "3");
        cadu_boot_state s;
        ck_assert_int_eq(cadu_boot_state_get(b, &s), 0);
        ck_assert_int_eq(cadu_boot_state_next(&s), 'B');
        /* Marking the other one bad too: the order keeps the last one marked last. */
        ck_assert_int_eq(cadu_boot_mark_bad(b, 'B'), 0);
        ck_assert_var(b, "BOOT_ORDER", "A B");
        ck_assert_var(b, "BOOT_B_LEFT", "0");
        cadu_boot_free(b);
}
END_TEST

START_TEST(test_rollback) {
        cadu_boot *b = env_with("BOOT_ORDER=B A\nBOOT_A_LEFT=0\nBOOT_B_LEFT=3\n", 0);
        ck_assert_int_eq(cadu_boot_rollback(b, 'B'), 0);
        ck_assert_var(b, "BOOT_ORDER", "A B");
        ck_assert_var(b, "BOOT_A_LEFT", "3");
        ck_assert_var(b, "BOOT_B_LEFT", "3");
        ck_assert_int_eq(cadu_boot_rollback(b, 'X'), -EINVAL);
        cadu_boot_free(b);
}
END_TEST

/* ---- the transaction and the file backend ---- */

START_TEST(test_set_and_store) {
        write_text(path_in("env"), "# board defaults\nbootcmd=run cadu\nBOOT_ORDER=A B\n\nempty=\n");
        cadu_boot_options o = { .backend = CADU_BOOT_FILE, .path = path_in("env") };
        cadu_boot *b = NULL;
        ck_assert_int_eq(cadu_boot_new(&o, &b), 0);
        ck_assert_int_eq(cadu_boot_set(b, "x", "1"), -ESTALE);
        ck_assert_int_eq(cadu_boot_store(b), -ESTALE);
        ck_assert_int_eq(cadu_boot_load(b), 0);
        ck_assert_var(b, "bootcmd", "run cadu");
        ck_assert_var(b, "empty", "");
        ck_assert_var(b, "nothing", NULL);

        /* Nothing changed: nothing written (the file keeps its inode). */
        struct stat st0, st1;
        ck_assert_int_eq(stat(path_in("env"), &st0), 0);
        ck_assert_int_eq(cadu_boot_set(b, "bootcmd", "run cadu"), 0);
        ck_assert_int_eq(cadu_boot_set(b, "nothing", NULL), 0);
        ck_assert(!cadu_boot_dirty(b));
        ck_assert_int_eq(cadu_boot_store(b), 0);
        ck_assert_int_eq(stat(path_in("env"), &st1), 0);
        ck_assert_uint_eq(st0.st_ino, st1.st_ino);

        ck_assert_int_eq(cadu_boot_set(b, "a=b", "1"), -EINVAL);
        ck_assert_int_eq(cadu_boot_set(b, "a b", "1"), -EINVAL);
        ck_assert_int_eq(cadu_boot_set(b, "", "1"), -EINVAL);
        ck_assert_int_eq(cadu_boot_set(b, "a", "1\n2"), -EINVAL);
        ck_assert_int_eq(cadu_boot_trial(b, 'B'), 0);
        ck_assert_int_eq(cadu_boot_set(b, "empty", NULL), 0);
        ck_assert_int_eq(cadu_boot_set(b, "new", "x=y"), 0);
        ck_assert(cadu_boot_dirty(b));
        ck_assert_int_eq(cadu_boot_store(b), 0);
        ck_assert(!cadu_boot_dirty(b));
        char *t = read_text(path_in("env"));
        ck_assert_str_eq(t, "bootcmd=run cadu\nBOOT_ORDER=B A\nBOOT_B_LEFT=1\nnew=x=y\n");
        free(t);
        /* Re-reading gives what was stored. */
        ck_assert_int_eq(cadu_boot_load(b), 0);
        ck_assert_var(b, "BOOT_B_LEFT", "1");
        ck_assert_var(b, "empty", NULL);
        ck_assert_var(b, "new", "x=y");
        cadu_boot_free(b);
        ck_assert_ptr_null(cadu_boot_free(NULL));
}
END_TEST

START_TEST(test_file_errors) {
        cadu_boot_options o = { .backend = CADU_BOOT_FILE, .path = path_in("env") };
        cadu_boot *b = NULL;
        ck_assert_int_eq(cadu_boot_new(&o, &b), 0);
        ck_assert_int_eq(cadu_boot_load(b), -ENOENT);
        char want[256];
        snprintf(want, sizeof(want), "%s: No such file or directory", path_in("env"));
        ck_assert_str_eq(cadu_boot_detail(b), want);

        static const struct {
                const char *text;
                size_t len;
                const char *detail;
        } bad[] = {
                { "a=1\nnoequals\n", 0, ":2: expected NAME=VALUE" },
                { "=1\n", 0, ":1: expected NAME=VALUE" },
                { "a b=1\n", 0, ":1: white space in a variable name" },
                { "a=1\n\na=2\n", 0, ":3: variable 'a' set twice" },
                { "a=1\nb=\0\n", 7, ":2: NUL byte in the environment file" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
                ck_assert_int_eq(cadu_boot_load_buffer(b, bad[i].text, len), -EBADMSG);
                snprintf(want, sizeof(want), "%s%s", path_in("env"), bad[i].detail);
                ck_assert_str_eq(cadu_boot_detail(b), want);
                ck_assert_int_eq(cadu_boot_set(b, "x", "1"), -ESTALE);
        }
        cadu_boot_free(b);

        cadu_boot_options bad_o = { .backend = CADU_BOOT_FILE, .path = "" };
        ck_assert_int_eq(cadu_boot_new(&bad_o, &b), -EINVAL);
        bad_o = (cadu_boot_options){ .backend = CADU_BOOT_FILE, .path = "/x", .max_attempts = 10 };
        ck_assert_int_eq(cadu_boot_new(&bad_o, &b), -EINVAL);
        bad_o = (cadu_boot_options){ .backend = (cadu_boot_backend)7, .path = "/x" };
        ck_assert_int_eq(cadu_boot_new(&bad_o, &b), -EINVAL);
}
END_TEST

START_TEST(test_uboot_missing_config) {
        cadu_boot_options o = { .backend = CADU_BOOT_UBOOT, .path = path_in("fw_env.config") };
        cadu_boot *b = NULL;
        ck_assert_int_eq(cadu_boot_new(&o, &b), 0);
        ck_assert_int_eq(cadu_boot_load(b), -ENOENT);
        /* A config naming devices that do not exist. */
        char text[256];
        snprintf(text, sizeof(text), "%s 0x0 0x4000\n%s 0x0 0x4000\n", path_in("env0"), path_in("env1"));
        write_text(path_in("fw_env.config"), text);
        ck_assert_int_eq(cadu_boot_load(b), -EINVAL);
        char want[256];
        snprintf(want, sizeof(want), "%s: invalid, or an environment device it names is missing or of the wrong size",
                 path_in("fw_env.config"));
        ck_assert_str_eq(cadu_boot_detail(b), want);
        /* Devices of zeros: no valid copy. */
        for (int i = 0; i < 2; i++) {
                int fd = open(path_in(i ? "env1" : "env0"), O_WRONLY | O_CREAT, 0644);
                ck_assert_int_ge(fd, 0);
                ck_assert_int_eq(ftruncate(fd, 0x4000), 0);
                close(fd);
        }
        ck_assert_int_eq(cadu_boot_load(b), -EBADMSG);
        snprintf(want, sizeof(want), "U-Boot environment of %s: no copy has a valid CRC (corrupt or never written)",
                 path_in("fw_env.config"));
        ck_assert_str_eq(cadu_boot_detail(b), want);
        ck_assert_int_eq(cadu_boot_store(b), -ESTALE);
        cadu_boot_free(b);
}
END_TEST

/* ---- which slot runs ---- */

START_TEST(test_cmdline) {
        char s = 0;
        static const char *const a[] = {
                "cadu.slot=A",
                "root=/dev/x cadu.slot=A quiet\n",
                "rauc.slot=A",
                "rauc.slot=B cadu.slot=A",          /* cadu.slot= is preferred */
                "cadu.slot=B cadu.slot=A",          /* the last one wins */
                "cadu.slot=a",
                "x\0cadu.slot=A",                   /* NUL-separated, as /proc/PID/cmdline */
        };
        for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
                size_t len = strlen(a[i]) + (i == 6 ? 1 + strlen(a[i] + 2) : 0);
                s = 0;
                ck_assert_int_eq(cadu_boot_parse_cmdline(a[i], len, &s), 1);
                ck_assert_int_eq(s, 'A');
        }
        ck_assert_int_eq(cadu_boot_parse_cmdline("root=/dev/x xcadu.slot=A cadu.slotty=A", 38, &s), 0);
        ck_assert_int_eq(cadu_boot_parse_cmdline("", 0, &s), 0);
        ck_assert_int_eq(cadu_boot_parse_cmdline("cadu.slot=C", 11, &s), -EBADMSG);
        ck_assert_int_eq(cadu_boot_parse_cmdline("cadu.slot=", 10, &s), -EBADMSG);
        ck_assert_int_eq(cadu_boot_parse_cmdline("cadu.slot=AB", 12, &s), -EBADMSG);
        ck_assert_int_eq(cadu_boot_parse_cmdline("rauc.slot=system0", 17, &s), -EBADMSG);
        /* The length bounds the search. */
        ck_assert_int_eq(cadu_boot_parse_cmdline("cadu.slot=B", 9, &s), 0);
}
END_TEST

START_TEST(test_booted_slot) {
        char s = 0;
        const char *src = NULL;
        write_text(path_in("cmdline"), "console=ttyS0 cadu.slot=B\n");
        ck_assert_int_eq(cadu_boot_booted_slot(path_in("cmdline"), NULL, NULL, &s, &src), 0);
        ck_assert_int_eq(s, 'B');
        ck_assert_str_eq(src, "cmdline");

        cadu_boot *b = env_with("cadu_slot=A\nbad=Q\n", 0);
        write_text(path_in("cmdline"), "console=ttyS0\n");
        ck_assert_int_eq(cadu_boot_booted_slot(path_in("cmdline"), b, NULL, &s, &src), -ENOENT);
        ck_assert_int_eq(cadu_boot_booted_slot(path_in("cmdline"), b, "cadu_slot", &s, &src), 0);
        ck_assert_int_eq(s, 'A');
        ck_assert_str_eq(src, "variable");
        ck_assert_int_eq(cadu_boot_booted_slot(path_in("nonexistent"), b, "cadu_slot", &s, NULL), 0);
        ck_assert_int_eq(cadu_boot_booted_slot(path_in("cmdline"), b, "unset", &s, NULL), -ENOENT);
        ck_assert_int_eq(cadu_boot_booted_slot(path_in("cmdline"), b, "bad", &s, NULL), -EBADMSG);
        ck_assert_str_eq(cadu_boot_detail(b), "bootloader variable bad='Q' names neither A nor B");
        write_text(path_in("cmdline"), "cadu.slot=X\n");
        ck_assert_int_eq(cadu_boot_booted_slot(path_in("cmdline"), b, "cadu_slot", &s, NULL), -EBADMSG);
        char want[256];
        snprintf(want, sizeof(want), "%s: cadu.slot= or rauc.slot= names neither A nor B", path_in("cmdline"));
        ck_assert_str_eq(cadu_boot_detail(b), want);
        /* A directory is not a command line. */
        ck_assert_int_eq(cadu_boot_booted_slot(dir, b, "cadu_slot", &s, NULL), -EISDIR);
        cadu_boot_free(b);
}
END_TEST

/* ---- the state directory ---- */

#define H64A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H64B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

START_TEST(test_slot_info) {
        const char *sd = path_in("state");
        cadu_slot_info i;
        /* Nothing recorded: unknown. */
        ck_assert_int_eq(cadu_slot_info_read(sd, "rootfs", 'A', &i), 0);
        ck_assert_int_eq(i.state, CADU_SLOT_UNKNOWN);
        ck_assert_ptr_null(i.version);

        cadu_slot_info w = { .state = CADU_SLOT_TRIAL, .version = (char *)"2.1", .image_sha256 = (char *)H64A,
                             .index_sha256 = (char *)H64B, .installed = 1700000000 };
        ck_assert_int_eq(cadu_slot_info_write(sd, "rootfs", 'B', &w), 0);
        char *t = read_text(path_in("state/rootfs.B.info"));
        ck_assert_str_eq(t, "state=trial\nversion=2.1\nimage-sha256=" H64A "\nindex-sha256=" H64B
                            "\ninstalled=1700000000\n");
        free(t);
        ck_assert_int_eq(cadu_slot_info_read(sd, "rootfs", 'B', &i), 0);
        ck_assert_int_eq(i.state, CADU_SLOT_TRIAL);
        ck_assert_str_eq(i.version, "2.1");
        ck_assert_str_eq(i.image_sha256, H64A);
        ck_assert_str_eq(i.index_sha256, H64B);
        ck_assert_uint_eq(i.installed, 1700000000);
        cadu_slot_info_clear(&i);

        ck_assert_int_eq(cadu_slot_info_set_state(sd, "rootfs", 'B', CADU_SLOT_GOOD), 0);
        ck_assert_int_eq(cadu_slot_info_read(sd, "rootfs", 'B', &i), 0);
        ck_assert_int_eq(i.state, CADU_SLOT_GOOD);
        ck_assert_str_eq(i.version, "2.1");
        cadu_slot_info_clear(&i);
        /* set_state on a slot with no file creates one. */
        ck_assert_int_eq(cadu_slot_info_set_state(sd, "kernel", 'A', CADU_SLOT_BAD), 0);
        t = read_text(path_in("state/kernel.A.info"));
        ck_assert_str_eq(t, "state=bad\n");
        free(t);

        /* What cannot be written. */
        w.version = (char *)"2 1";
        ck_assert_int_eq(cadu_slot_info_write(sd, "rootfs", 'B', &w), -EINVAL);
        w.version = NULL;
        w.image_sha256 = (char *)"ABCD";
        ck_assert_int_eq(cadu_slot_info_write(sd, "rootfs", 'B', &w), -EINVAL);
        w.image_sha256 = NULL;
        ck_assert_int_eq(cadu_slot_info_write(sd, "../etc", 'B', &w), -EINVAL);
        ck_assert_int_eq(cadu_slot_info_write(sd, "rootfs", 'C', &w), -EINVAL);
        char *p = NULL;
        ck_assert_int_eq(cadu_slot_seed_index_path(sd, "rootfs", 'A', &p), 0);
        char want[256];
        snprintf(want, sizeof(want), "%s/rootfs.A.caibx", sd);
        ck_assert_str_eq(p, want);
        free(p);
        ck_assert_int_eq(cadu_slot_seed_index_path(sd, "a.b", 'A', &p), -EINVAL);
        ck_assert_int_eq(cadu_slot_info_path(sd, "", 'A', &p), -EINVAL);
}
END_TEST

START_TEST(test_slot_info_parse) {
        cadu_slot_info i;
        /* Keys from a newer cadu and comments are ignored. */
        static const char ok[] = "# x\nstate=bad\nfuture=1\nversion=1.0\n";
        ck_assert_int_eq(cadu_slot_info_parse(ok, strlen(ok), &i), 0);
        ck_assert_int_eq(i.state, CADU_SLOT_BAD);
        ck_assert_str_eq(i.version, "1.0");
        cadu_slot_info_clear(&i);
        static const char *const bad[] = {
                "state=splendid\n", "state\n", "image-sha256=abc\n", "index-sha256=" H64A "0\n",
                "image-sha256=" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "\n",
                "installed=soon\n", "version=\n", "installed=99999999999999999999999\n",
        };
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
                ck_assert_msg(cadu_slot_info_parse(bad[k], strlen(bad[k]), &i) == -EBADMSG, "accepted %s", bad[k]);
        ck_assert_int_eq(cadu_slot_info_parse("state=good\0", 11, &i), -EBADMSG);
        ck_assert_int_eq(cadu_slot_state_from_name("trial", &i.state), 0);
        ck_assert_int_eq(i.state, CADU_SLOT_TRIAL);
        ck_assert_str_eq(cadu_slot_state_name(CADU_SLOT_UNKNOWN), "unknown");
}
END_TEST

START_TEST(test_journal) {
        const char *sd = path_in("state");
        cadu_journal *j = NULL;
        ck_assert_int_eq(cadu_journal_read(sd, &j), -ENOENT);
        ck_assert_int_eq(cadu_journal_record_phase(sd, "written", "rootfs", NULL), -ENOENT);
        ck_assert_int_eq(cadu_journal_start(sd, H64A, 'B', "2.0"), 0);
        ck_assert_int_eq(cadu_journal_record_phase(sd, "written", "rootfs", NULL), 0);
        ck_assert_int_eq(cadu_journal_record_phase(sd, "verified", "rootfs", H64B), 0);
        ck_assert_int_eq(cadu_journal_record_phase(sd, "written", "kernel", NULL), 0);

        /* After a power loss here: the journal says what completed. */
        ck_assert_int_eq(cadu_journal_read(sd, &j), 0);
        ck_assert_str_eq(j->manifest_sha256, H64A);
        ck_assert_int_eq(j->slot, 'B');
        ck_assert_str_eq(j->version, "2.0");
        ck_assert(j->started > 1600000000);
        ck_assert(!j->done);
        ck_assert_uint_eq(j->n_records, 3);
        const cadu_journal_record *r = cadu_journal_find(j, "verified", "rootfs");
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->value, H64B);
        ck_assert_ptr_null(cadu_journal_find(j, "verified", "kernel"));
        r = cadu_journal_find(j, "written", NULL);
        ck_assert_str_eq(r->image, "kernel");
        ck_assert_ptr_null(r->value);
        cadu_journal_free(j);

        ck_assert_int_eq(cadu_journal_record_phase(sd, "switched", NULL, NULL), 0);
        ck_assert_int_eq(cadu_journal_done(sd), 0);
        ck_assert_int_eq(cadu_journal_record_phase(sd, "late", NULL, NULL), -EALREADY);
        ck_assert_int_eq(cadu_journal_done(sd), -EALREADY);
        ck_assert_int_eq(cadu_journal_read(sd, &j), 0);
        ck_assert(j->done);
        ck_assert(j->finished >= j->started);
        ck_assert_str_eq(j->records[3].phase, "switched");
        ck_assert_ptr_null(j->records[3].image);
        cadu_journal_free(j);

        /* A new install starts afresh. */
        ck_assert_int_eq(cadu_journal_start(sd, H64B, 'A', "3.0"), 0);
        ck_assert_int_eq(cadu_journal_read(sd, &j), 0);
        ck_assert_uint_eq(j->n_records, 0);
        ck_assert_int_eq(j->slot, 'A');
        cadu_journal_free(j);

        ck_assert_int_eq(cadu_journal_start(sd, "abc", 'A', "3.0"), -EINVAL);
        ck_assert_int_eq(cadu_journal_start(sd, H64B, 'C', "3.0"), -EINVAL);
        ck_assert_int_eq(cadu_journal_start(sd, H64B, 'A', "3 0"), -EINVAL);
        ck_assert_int_eq(cadu_journal_record_phase(sd, "a b", NULL, NULL), -EINVAL);
        ck_assert_int_eq(cadu_journal_record_phase(sd, "x", "", NULL), -EINVAL);
        ck_assert_int_eq(cadu_journal_remove(sd), 0);
        ck_assert_int_eq(cadu_journal_remove(sd), 0);
        ck_assert_int_eq(cadu_journal_read(sd, &j), -ENOENT);
        ck_assert_ptr_null(cadu_journal_free(NULL));
}
END_TEST

START_TEST(test_journal_parse) {
        static const char *const bad[] = {
                "",
                "cadu-journal 2\nstart " H64A " B 1 v\n",
                "cadu-journal 1\n",
                "cadu-journal 1\nphase x - -\n",
                "cadu-journal 1\nstart " H64A " C 1 v\n",
                "cadu-journal 1\nstart " H64A " B x v\n",
                "cadu-journal 1\nstart " H64A " B 1\n",
                "cadu-journal 1\nstart " H64A " B 1 v\nstart " H64A " B 1 v\n",
                "cadu-journal 1\nstart " H64A " B 1 v\nphase x -\n",
                "cadu-journal 1\nstart " H64A " B 1 v\ndone 5\nphase x - -\n",
                "cadu-journal 1\nstart " H64A " B 1 v\ndone\n",
                "cadu-journal 1\nstart " H64A " B 1 v\n\n",
        };
        cadu_journal *j = NULL;
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
                ck_assert_msg(cadu_journal_parse(bad[k], strlen(bad[k]), &j) == -EBADMSG, "accepted %s", bad[k]);
        /* Unknown record types (a newer cadu) are skipped. */
        static const char ok[] = "cadu-journal 1\nstart " H64A " B 1 v\nfuture a b c\nphase x - -";
        ck_assert_int_eq(cadu_journal_parse(ok, strlen(ok), &j), 0);
        ck_assert_uint_eq(j->n_records, 1);
        cadu_journal_free(j);
}
END_TEST

START_TEST(test_lock) {
        const char *sd = path_in("state/sub");
        int fd1 = -1, fd2 = -1;
        ck_assert_int_eq(cadu_state_lock(sd, &fd1), 0);
        ck_assert_int_eq(cadu_state_lock(sd, &fd2), -EBUSY);
        close(fd1);
        ck_assert_int_eq(cadu_state_lock(sd, &fd2), 0);
        close(fd2);
}
END_TEST

int main(void) {
        Suite *s = suite_create("boot");
        TCase *tc = tcase_create("scheme");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_state_defaults);
        tcase_add_test(tc, test_state_parse);
        tcase_add_loop_test(tc, test_state_errors, 0, (int)(sizeof(bad_state) / sizeof(bad_state[0])));
        tcase_add_test(tc, test_trial);
        tcase_add_test(tc, test_mark_good);
        tcase_add_test(tc, test_reset_attempts);
        tcase_add_test(tc, test_mark_bad);
        tcase_add_test(tc, test_rollback);
        suite_add_tcase(s, tc);
        tc = tcase_create("env");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_set_and_store);
        tcase_add_test(tc, test_file_errors);
        tcase_add_test(tc, test_uboot_missing_config);
        tcase_add_test(tc, test_cmdline);
        tcase_add_test(tc, test_booted_slot);
        suite_add_tcase(s, tc);
        tc = tcase_create("state");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_slot_info);
        tcase_add_test(tc, test_slot_info_parse);
        tcase_add_test(tc, test_journal);
        tcase_add_test(tc, test_journal_parse);
        tcase_add_test(tc, test_lock);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
