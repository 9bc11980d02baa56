/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Unit tests of the cadu.conf parser: values, defaults and exact error messages. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/config.h"

static cadu_config *parse_ok(const char *text) {
        cadu_config *c = NULL;
        char *err = NULL;
        int r = cadu_config_parse("t.conf", text, strlen(text), &c, &err);
        ck_assert_msg(r == 0, "parse failed: %s", err ? err : "(no message)");
        ck_assert_ptr_null(err);
        return c;
}

START_TEST(test_full) {
        static const char text[] =
                "# comment\n"
                "; another\n"
                "[system]\n"
                "compatible = acme board 2\n"
                "bootloader = file\n"
                "bootloader-file = /run/env\n"
                "fw-env-config = /etc/fw.cfg\n"
                "state-dir = /data/cadu\n"
                "cmdline = /tmp/cmdline\n"
                "slot-variable = cadu_slot\n"
                "hooks-dir = /etc/cadu/hooks\n"
                "max-attempts = 5\n"
                "\n"
                "[slot rootfs]\n"
                "a = /dev/mmcblk0p2\n"
                "b = /dev/mmcblk0p3\n"
                "[slot kernel-1]\n"
                "b = /dev/mmcblk0p6\n"
                "a = /dev/mmcblk0p5\n"
                "[trust]\n"
                "ca = /a.pem, /b.pem ,/c.pem\n"
                "ca = /d.pem\n"
                "signer = release\n"
                "require-codesign = Yes\n"
                "[store]\n"
                "url = https://s.example/store#frag\n"
                "url = /media/usb/store\n"
                "cache-dir = /var/cache/cadu\n"
                "ca-file = /etc/ca.pem\n"
                "client-cert = /etc/dev.crt\n"
                "client-key = /etc/dev.key\n"
                "header = Authorization: Bearer x=y\n"
                "header = X-A:b\n"
                "max-transfers = 16\n"
                "rate-limit = 2M\n"
                "retries = 0\n"
                "timeout = 45\n"
                "insecure = on\n";
        cadu_config *c = parse_ok(text);
        ck_assert_str_eq(c->path, "t.conf");
        ck_assert_str_eq(c->compatible, "acme board 2");
        ck_assert_int_eq(c->bootloader, CADU_BOOT_FILE);
        ck_assert_str_eq(c->bootloader_file, "/run/env");
        ck_assert_str_eq(c->fw_env_config, "/etc/fw.cfg");
        ck_assert_str_eq(c->state_dir, "/data/cadu");
        ck_assert_str_eq(c->cmdline, "/tmp/cmdline");
        ck_assert_str_eq(c->slot_variable, "cadu_slot");
        ck_assert_str_eq(c->hooks_dir, "/etc/cadu/hooks");
        ck_assert_uint_eq(c->max_attempts, 5);
        ck_assert_uint_eq(c->n_classes, 2);
        ck_assert_str_eq(c->classes[0].name, "rootfs");
        ck_assert_str_eq(c->classes[0].device[0], "/dev/mmcblk0p2");
        ck_assert_str_eq(c->classes[0].device[1], "/dev/mmcblk0p3");
        ck_assert_uint_eq(c->classes[0].line, 14);
        ck_assert_str_eq(c->classes[1].name, "kernel-1");
        ck_assert_str_eq(c->classes[1].device[0], "/dev/mmcblk0p5");
        ck_assert_str_eq(c->classes[1].device[1], "/dev/mmcblk0p6");
        ck_assert_ptr_eq(cadu_config_find_class(c, "kernel-1"), &c->classes[1]);
        ck_assert_ptr_null(cadu_config_find_class(c, "app"));
        ck_assert_uint_eq(c->n_ca, 4);
        ck_assert_str_eq(c->ca[0], "/a.pem");
        ck_assert_str_eq(c->ca[1], "/b.pem");
        ck_assert_str_eq(c->ca[2], "/c.pem");
        ck_assert_str_eq(c->ca[3], "/d.pem");
        ck_assert_ptr_null(c->ca[4]);
        ck_assert_str_eq(c->signer, "release");
        ck_assert(c->require_codesign);
        ck_assert_uint_eq(c->n_urls, 2);
        ck_assert_str_eq(c->urls[0], "https://s.example/store#frag");
        ck_assert_str_eq(c->urls[1], "/media/usb/store");
        ck_assert_ptr_null(c->urls[2]);
        ck_assert_str_eq(c->cache_dir, "/var/cache/cadu");
        ck_assert_str_eq(c->ca_file, "/etc/ca.pem");
        ck_assert_str_eq(c->client_cert, "/etc/dev.crt");
        ck_assert_str_eq(c->client_key, "/etc/dev.key");
        ck_assert_uint_eq(c->n_headers, 2);
        ck_assert_str_eq(c->headers[0], "Authorization: Bearer x=y");
        ck_assert_str_eq(c->headers[1], "X-A:b");
        ck_assert_ptr_null(c->headers[2]);
        ck_assert_uint_eq(c->max_transfers, 16);
        ck_assert_uint_eq(c->rate_limit, 2u << 20);
        ck_assert_uint_eq(c->retries, 0);
        ck_assert_uint_eq(c->low_speed_time, 45);
        ck_assert(c->insecure);
        cadu_boot_options o = cadu_config_boot_options(c);
        ck_assert_int_eq(o.backend, CADU_BOOT_FILE);
        ck_assert_str_eq(o.path, "/run/env");
        ck_assert_uint_eq(o.max_attempts, 5);
        cadu_config_free(c);
}
END_TEST

START_TEST(test_defaults) {
        cadu_config *c = parse_ok("[system]\r\ncompatible=x\r\n[slot r]\r\na=/a\r\n\tb = /b \r\n[trust]\nca=/ca");
        ck_assert_str_eq(c->compatible, "x");
        ck_assert_int_eq(c->bootloader, CADU_BOOT_UBOOT);
        ck_assert_str_eq(c->fw_env_config, "/etc/fw_env.config");
        ck_assert_ptr_null(c->bootloader_file);
        ck_assert_str_eq(c->state_dir, "/var/lib/cadu");
        ck_assert_str_eq(c->cmdline, "/proc/cmdline");
        ck_assert_ptr_null(c->slot_variable);
        ck_assert_ptr_null(c->hooks_dir);
        ck_assert_uint_eq(c->max_attempts, 3);
        ck_assert_str_eq(c->classes[0].device[1], "/b");
        ck_assert_uint_eq(c->n_urls, 0);
        ck_assert_ptr_null(c->urls[0]);
        ck_assert_ptr_null(c->headers[0]);
        ck_assert(!c->require_codesign);
        ck_assert(!c->insecure);
        ck_assert_uint_eq(c->max_transfers, 0);
        ck_assert_uint_eq(c->rate_limit, 0);
        ck_assert_uint_eq(c->retries, 5);       /* absent is 5; "retries = 0" is none */
        cadu_boot_options o = cadu_config_boot_options(c);
        ck_assert_int_eq(o.backend, CADU_BOOT_UBOOT);
        ck_assert_str_eq(o.path, "/etc/fw_env.config");
        cadu_config_free(c);
}
END_TEST

#define BASE_SLOT "[slot rootfs]\na = /a\nb = /b\n"
#define BASE_TRUST "[trust]\nca = /ca\n"

static const struct {
        const char *text;
        const char *message;
} bad[] = {
        { "compatible = x\n", "t.conf:1: key 'compatible' outside of any section" },
        { "[system]\ncompatible = x\nfoo = 1\n", "t.conf:3: unknown key 'foo' in [system]" },
        { "[systen]\n", "t.conf:1: unknown section [systen]" },
        { "\n\n  [ store ]  \n[store]\n", "t.conf:4: duplicate section [store] (first at line 3)" },
        { "[system\n", "t.conf:1: section header '[system' lacks its ']'" },
        { "[system]\njunk\n", "t.conf:2: expected 'key = value' or '[section]', got 'junk'" },
        { "[system]\n = x\n", "t.conf:2: missing key before '='" },
        { "[system]\ncompatible =\n", "t.conf:2: key 'compatible' needs a value" },
        { "[system]\ncompatible = x\ncompatible = y\n",
          "t.conf:3: duplicate key 'compatible' in [system] (first at line 2)" },
        { "[system]\n[system]\n", "t.conf:2: duplicate section [system] (first at line 1)" },
        { "[slot]\n", "t.conf:1: [slot] needs a class name, as in [slot rootfs]" },
        { "[slot a.b]\n", "t.conf:1: invalid slot class name 'a.b' (letters, digits, '-' and '_')" },
        { "[slot ../x]\n", "t.conf:1: invalid slot class name '../x' (letters, digits, '-' and '_')" },
        { "[slotx]\n", "t.conf:1: unknown section [slotx]" },
        { "[slot x]\nc = /c\n", "t.conf:2: unknown key 'c' in [slot x] (expected 'a' or 'b')" },
        { "[slot x]\nA = /c\n", "t.conf:2: unknown key 'A' in [slot x] (expected 'a' or 'b')" },
        { "[slot x]\na = 1\na = 2\n", "t.conf:3: duplicate key 'a' in [slot x] (first at line 2)" },
        { "[slot x]\na = 1\nb = 2\n[slot x]\n", "t.conf:4: duplicate section [slot x] (first at line 1)" },
        { "[trust]\nurl = x\n", "t.conf:2: unknown key 'url' in [trust]" },
        { "[system]\nbootloader = grub\n", "t.conf:2: invalid bootloader 'grub' (expected uboot, file or efibootguard)" },
        { "[system]\nbootloader = UBoot\n", "t.conf:2: invalid bootloader 'UBoot' (expected uboot, file or efibootguard)" },
        { "[system]\nmax-attempts = 0\n", "t.conf:2: invalid max-attempts '0' (expected 1 to 9)" },
        { "[system]\nmax-attempts = 10\n", "t.conf:2: invalid max-attempts '10' (expected 1 to 9)" },
        { "[system]\nmax-attempts = -1\n", "t.conf:2: invalid max-attempts '-1' (expected 1 to 9)" },
        { "[store]\nmax-transfers = 99999999999999999999999999999999\n",
          "t.conf:2: invalid max-transfers '99999999999999999999999999999999' (expected 1 to 256)" },
        { "[store]\ntimeout = 0\n", "t.conf:2: invalid timeout '0' (expected 1 to 3600)" },
        { "[store]\nretries = 3x\n", "t.conf:2: invalid retries '3x' (expected 0 to 100)" },
        { "[trust]\nrequire-codesign = maybe\n", "t.conf:2: invalid require-codesign 'maybe' (expected yes or no)" },
        { "[store]\ninsecure = 2\n", "t.conf:2: invalid insecure '2' (expected yes or no)" },
        { "[store]\nrate-limit = fast\n",
          "t.conf:2: invalid rate-limit 'fast' (expected bytes per second, as in 512K or 2M)" },
        { "[store]\nheader = NoColon\n", "t.conf:2: invalid header 'NoColon' (expected 'Name: value')" },
        { "[store]\nheader = : v\n", "t.conf:2: invalid header ': v' (expected 'Name: value')" },
        { "[store]\nheader = A B: v\n", "t.conf:2: invalid header 'A B: v' (expected 'Name: value')" },
        { "[trust]\nca = /a,,/b\n", "t.conf:2: empty item in the list of 'ca'" },
        { "[trust]\nca = /a,\n", "t.conf:2: empty item in the list of 'ca'" },
        /* missing pieces, reported after the whole file is read */
        { BASE_SLOT BASE_TRUST, "t.conf: missing 'compatible' in [system]" },
        { "[system]\ncompatible = x\nbootloader = file\n" BASE_SLOT BASE_TRUST,
          "t.conf:3: 'bootloader = file' needs 'bootloader-file' in [system]" },
        { "[system]\ncompatible = x\n" BASE_TRUST,
          "t.conf: no [slot CLASS] section (as in [slot rootfs] with a = and b =)" },
        { "[system]\ncompatible = x\n[slot rootfs]\na = /a\n" BASE_TRUST,
          "t.conf:3: [slot rootfs] needs both 'a' and 'b'" },
        { "[system]\ncompatible = x\n[slot rootfs]\nb = /a\n" BASE_TRUST,
          "t.conf:3: [slot rootfs] needs both 'a' and 'b'" },
        { "[system]\ncompatible = x\n[slot rootfs]\na = /a\nb = /a\n" BASE_TRUST,
          "t.conf:3: [slot rootfs]: 'a' and 'b' name the same device /a" },
        { "[system]\ncompatible = x\n" BASE_SLOT "[slot kernel]\na = /k\nb = /a\n" BASE_TRUST,
          "t.conf:6: [slot kernel] uses /a, as [slot rootfs] does" },
        { "[system]\ncompatible = x\n" BASE_SLOT, "t.conf: missing 'ca' in [trust] (the certificates that sign updates)" },
        { "", "t.conf: missing 'compatible' in [system]" },
};

START_TEST(test_errors) {
        const char *text = bad[_i].text, *message = bad[_i].message;
        cadu_config *c = NULL;
        char *err = NULL;
        int r = cadu_config_parse("t.conf", text, strlen(text), &c, &err);
        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, message);
        free(err);
}
END_TEST

START_TEST(test_binary) {
        static const char text[] = "[system]\ncompat\0ible = x\n";
        cadu_config *c = NULL;
        char *err = NULL;
        ck_assert_int_eq(cadu_config_parse("t.conf", text, sizeof(text) - 1, &c, &err), -EINVAL);
        ck_assert_str_eq(err, "t.conf:2: NUL byte (not a text file?)");
        free(err);
        /* Long values are cut in messages. */
        char longkey[300];
        memset(longkey, 'k', sizeof(longkey));
        memcpy(longkey, "[system]\n", 9);
        memcpy(longkey + sizeof(longkey) - 5, " = 1", 5);
        ck_assert_int_eq(cadu_config_parse("t.conf", longkey, strlen(longkey), &c, &err), -EINVAL);
        ck_assert_str_eq(err, "t.conf:2: unknown key "
                              "'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' in [system]");
        free(err);
        /* errmsg is optional. */
        ck_assert_int_eq(cadu_config_parse("t.conf", "x", 1, &c, NULL), -EINVAL);
}
END_TEST

START_TEST(test_load) {
        cadu_config *c = NULL;
        char *err = NULL;
        ck_assert_int_eq(cadu_config_load("/nonexistent/cadu.conf", &c, &err), -ENOENT);
        ck_assert_str_eq(err, "/nonexistent/cadu.conf: No such file or directory");
        free(err);
        char path[] = "/tmp/cadu-config-unit.XXXXXX";
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        static const char text[] = "[system]\ncompatible = x\n" BASE_SLOT BASE_TRUST;
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        ck_assert_int_eq(cadu_config_load(path, &c, &err), 0);
        ck_assert_str_eq(c->path, path);
        ck_assert_str_eq(c->classes[0].name, "rootfs");
        cadu_config_free(c);
        unlink(path);
        ck_assert_ptr_null(cadu_config_free(NULL));
}
END_TEST

int main(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_full);
        tcase_add_test(tc, test_defaults);
        tcase_add_loop_test(tc, test_errors, 0, (int)(sizeof(bad) / sizeof(bad[0])));
        tcase_add_test(tc, test_binary);
        tcase_add_test(tc, test_load);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
