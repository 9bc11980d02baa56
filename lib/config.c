/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config.c - the strict INI parser of cadu.conf(5).
 *
 * Grammar, line by line (leading and trailing blanks ignored, a trailing CR
 * too):
 *   empty | "#" comment | ";" comment
 *   "[" SECTION "]"           SECTION = system | trust | store | hawkbit | slot CLASS
 *   KEY "=" VALUE             KEY and VALUE trimmed; VALUE not empty
 * Comments only start a line: values may contain '#' (URLs, tokens).
 * Every key belongs to a table below that says its section, kind and range.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cadu-manifest.h"
#include "cadu-util.h"
#include "config.h"
#include "storeopts.h"

#define CONFIG_MAX_SIZE (1u << 20)
#define CLASS_NAME_MAX 64

typedef enum section {
        SEC_NONE,
        SEC_SYSTEM,
        SEC_SLOT,
        SEC_TRUST,
        SEC_STORE,
        SEC_HAWKBIT,
        SEC_MAX_,
} section;

static const char *const section_names[] = {
        [SEC_SYSTEM] = "system",
        [SEC_TRUST] = "trust",
        [SEC_STORE] = "store",
        [SEC_HAWKBIT] = "hawkbit",
};

typedef enum kind {
        K_STRING,       /* char * */
        K_LIST,         /* char ** + size_t count; repeatable */
        K_CSV,          /* like K_LIST, and a value may hold a comma-separated list */
        K_HEADER,       /* K_LIST whose values look like "Name: value" */
        K_BOOL,         /* bool */
        K_UINT,         /* unsigned in [min, max] */
        K_SIZE,         /* uint64_t with K/M/G suffixes */
        K_BOOTLOADER,   /* cadu_boot_backend */
} kind;

typedef struct key {
        section sec;
        const char *name;
        kind kind;
        size_t offset;          /* of the field in cadu_config */
        size_t count_offset;    /* lists: of the size_t count */
        uint64_t min, max;      /* K_UINT */
} key;

#define F(field) offsetof(cadu_config, field)
static const key keys[] = {
        { SEC_SYSTEM, "compatible", K_STRING, F(compatible), 0, 0, 0 },
        { SEC_SYSTEM, "bootloader", K_BOOTLOADER, F(bootloader), 0, 0, 0 },
        { SEC_SYSTEM, "fw-env-config", K_STRING, F(fw_env_config), 0, 0, 0 },
        { SEC_SYSTEM, "bootloader-file", K_STRING, F(bootloader_file), 0, 0, 0 },
        { SEC_SYSTEM, "state-dir", K_STRING, F(state_dir), 0, 0, 0 },
        { SEC_SYSTEM, "cmdline", K_STRING, F(cmdline), 0, 0, 0 },
        { SEC_SYSTEM, "slot-variable", K_STRING, F(slot_variable), 0, 0, 0 },
        { SEC_SYSTEM, "hooks-dir", K_STRING, F(hooks_dir), 0, 0, 0 },
        { SEC_SYSTEM, "max-attempts", K_UINT, F(max_attempts), 0, 1, CADU_BOOT_ATTEMPTS_MAX },
        { SEC_SYSTEM, "min-version", K_STRING, F(min_version), 0, 0, 0 },
        { SEC_TRUST, "ca", K_CSV, F(ca), F(n_ca), 0, 0 },
        { SEC_TRUST, "signer", K_STRING, F(signer), 0, 0, 0 },
        { SEC_TRUST, "require-codesign", K_BOOL, F(require_codesign), 0, 0, 0 },
        { SEC_STORE, "url", K_LIST, F(urls), F(n_urls), 0, 0 },
        { SEC_STORE, "cache-dir", K_STRING, F(cache_dir), 0, 0, 0 },
        { SEC_STORE, "key-file", K_STRING, F(key_file), 0, 0, 0 },
        { SEC_STORE, "recipient-cert", K_STRING, F(recipient_cert), 0, 0, 0 },
        { SEC_STORE, "recipient-key", K_STRING, F(recipient_key), 0, 0, 0 },
        { SEC_STORE, "ca-file", K_STRING, F(ca_file), 0, 0, 0 },
        { SEC_STORE, "client-cert", K_STRING, F(client_cert), 0, 0, 0 },
        { SEC_STORE, "client-key", K_STRING, F(client_key), 0, 0, 0 },
        { SEC_STORE, "header", K_HEADER, F(headers), F(n_headers), 0, 0 },
        /* Network settings: the ranges of the command-line options. */
        { SEC_STORE, "max-transfers", K_UINT, F(max_transfers), 0, CADU_STOREOPT_MAX_TRANSFERS_MIN,
          CADU_STOREOPT_MAX_TRANSFERS_MAX },
        { SEC_STORE, "rate-limit", K_SIZE, F(rate_limit), 0, 0, 0 },
        { SEC_STORE, "max-download", K_SIZE, F(max_download), 0, 0, 0 },
        { SEC_STORE, "retries", K_UINT, F(retries), 0, CADU_STOREOPT_RETRIES_MIN, CADU_STOREOPT_RETRIES_MAX },
        { SEC_STORE, "connect-timeout", K_UINT, F(connect_timeout), 0, CADU_STOREOPT_SECONDS_MIN,
          CADU_STOREOPT_SECONDS_MAX },
        { SEC_STORE, "low-speed-time", K_UINT, F(low_speed_time), 0, CADU_STOREOPT_SECONDS_MIN,
          CADU_STOREOPT_SECONDS_MAX },
        { SEC_STORE, "timeout", K_UINT, F(low_speed_time), 0, CADU_STOREOPT_SECONDS_MIN, CADU_STOREOPT_SECONDS_MAX },
        { SEC_STORE, "low-speed-limit", K_SIZE, F(low_speed_limit), 0, 0, 0 },
        { SEC_STORE, "deadline", K_UINT, F(deadline), 0, 1, UINT32_MAX },
        { SEC_STORE, "max-redirects", K_UINT, F(max_redirects), 0, CADU_STOREOPT_MAX_REDIRECTS_MIN,
          CADU_STOREOPT_MAX_REDIRECTS_MAX },
        { SEC_STORE, "insecure", K_BOOL, F(insecure), 0, 0, 0 },
        { SEC_HAWKBIT, "server", K_STRING, F(hawkbit.server), 0, 0, 0 },
        { SEC_HAWKBIT, "tenant", K_STRING, F(hawkbit.tenant), 0, 0, 0 },
        { SEC_HAWKBIT, "controller-id", K_STRING, F(hawkbit.controller_id), 0, 0, 0 },
        { SEC_HAWKBIT, "target-token", K_STRING, F(hawkbit.target_token), 0, 0, 0 },
        { SEC_HAWKBIT, "gateway-token", K_STRING, F(hawkbit.gateway_token), 0, 0, 0 },
        { SEC_HAWKBIT, "ca-file", K_STRING, F(hawkbit.ca_file), 0, 0, 0 },
        { SEC_HAWKBIT, "client-cert", K_STRING, F(hawkbit.client_cert), 0, 0, 0 },
        { SEC_HAWKBIT, "client-key", K_STRING, F(hawkbit.client_key), 0, 0, 0 },
        { SEC_HAWKBIT, "poll-min", K_UINT, F(hawkbit.poll_min), 0, 1, 86400 },
        { SEC_HAWKBIT, "poll-max", K_UINT, F(hawkbit.poll_max), 0, 1, 7 * 86400 },
        { SEC_HAWKBIT, "reboot-command", K_STRING, F(hawkbit.reboot_command), 0, 0, 0 },
};
#undef F
#define KEY_BOOTLOADER 1        /* index of "bootloader" above */
#define KEY_MIN_VERSION 9       /* index of "min-version" above */
_Static_assert(KEY_MIN_VERSION < sizeof(keys) / sizeof(keys[0]), "KEY_MIN_VERSION");

typedef struct parser {
        const char *name;
        cadu_config *cfg;
        char *err;
        unsigned line;
        section sec;
        cadu_config_class *cls;         /* current [slot CLASS] */
        unsigned key_line[CADU_ELEMENTSOF(keys)];
        unsigned dev_line[2];           /* of 'a' and 'b' in the current class */
        unsigned section_line[SEC_MAX_];
        bool oom;
} parser;

static int fail(parser *p, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(parser *p, unsigned line, const char *fmt, ...) {
        if (p->err || p->oom)
                return -EINVAL;
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        int r = line ? asprintf(&p->err, "%s:%u: %s", p->name, line, msg)
                     : asprintf(&p->err, "%s: %s", p->name, msg);
        if (r < 0) {
                p->err = NULL;
                p->oom = true;
                return -ENOMEM;
        }
        return -EINVAL;
}

static void free_list(char **l) {
        for (char **s = l; s && *s; s++)
                free(*s);
        free(l);
}

cadu_config *cadu_config_free(cadu_config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->compatible);
        free(c->fw_env_config);
        free(c->bootloader_file);
        free(c->state_dir);
        free(c->cmdline);
        free(c->slot_variable);
        free(c->hooks_dir);
        free(c->min_version);
        for (size_t i = 0; i < c->n_classes; i++) {
                free(c->classes[i].name);
                free(c->classes[i].device[0]);
                free(c->classes[i].device[1]);
        }
        free(c->classes);
        free_list(c->ca);
        free(c->signer);
        free_list(c->urls);
        free(c->cache_dir);
        free(c->key_file);
        free(c->recipient_cert);
        free(c->recipient_key);
        free(c->ca_file);
        free(c->client_cert);
        free(c->client_key);
        free_list(c->headers);
        free(c->hawkbit.server);
        free(c->hawkbit.tenant);
        free(c->hawkbit.controller_id);
        free(c->hawkbit.target_token);
        free(c->hawkbit.gateway_token);
        free(c->hawkbit.ca_file);
        free(c->hawkbit.client_cert);
        free(c->hawkbit.client_key);
        free(c->hawkbit.reboot_command);
        free(c);
        return NULL;
}

/* Append a copy of s (n bytes) to a NULL-terminated list. */
static int list_append(char ***list, size_t *count, const char *s, size_t n) {
        char **nl = realloc(*list, (*count + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *list = nl;
        nl[*count] = strndup(s, n);
        if (!nl[*count]) {
                nl[*count] = NULL;
                return -ENOMEM;
        }
        nl[++*count] = NULL;
        return 0;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Trim blanks from both ends of s[0..*n). */
static const char *trim(const char *s, size_t *n) {
        while (*n && is_blank(*s))
                s++, (*n)--;
        while (*n && is_blank(s[*n - 1]))
                (*n)--;
        return s;
}

static bool valid_class_name(const char *s, size_t n) {
        if (n == 0 || n > CLASS_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_'))
                        return false;
        }
        return true;
}

/* A printable excerpt of s for messages. */
static const char *excerpt(const char *s, size_t n, char buf[68]) {
        size_t k = CADU_MIN(n, (size_t)64);
        for (size_t i = 0; i < k; i++)
                buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (n > k) {
                buf[k - 3] = buf[k - 2] = buf[k - 1] = '.';
        }
        buf[k] = 0;
        return buf;
}

static int parse_section(parser *p, const char *s, size_t n) {
        char ex[68];
        /* s is the text between '[' and ']' */
        s = trim(s, &n);
        for (int i = SEC_SYSTEM; i < SEC_MAX_; i++) {
                const char *nm = i < (int)CADU_ELEMENTSOF(section_names) ? section_names[i] : NULL;
                if (!nm || strlen(nm) != n || memcmp(nm, s, n))
                        continue;
                if (p->section_line[i])
                        return fail(p, p->line, "duplicate section [%s] (first at line %u)", nm, p->section_line[i]);
                p->section_line[i] = p->line;
                p->sec = (section)i;
                p->cls = NULL;
                return 0;
        }
        if (n >= 4 && !memcmp(s, "slot", 4) && (n == 4 || is_blank(s[4]))) {
                const char *cn = s + 4;
                size_t cl = n - 4;
                cn = trim(cn, &cl);
                if (cl == 0)
                        return fail(p, p->line, "[slot] needs a class name, as in [slot rootfs]");
                if (!valid_class_name(cn, cl))
                        return fail(p, p->line, "invalid slot class name '%s' (letters, digits, '-' and '_')",
                                    excerpt(cn, cl, ex));
                for (size_t i = 0; i < p->cfg->n_classes; i++)
                        if (strlen(p->cfg->classes[i].name) == cl && !memcmp(p->cfg->classes[i].name, cn, cl))
                                return fail(p, p->line, "duplicate section [slot %s] (first at line %u)",
                                            p->cfg->classes[i].name, p->cfg->classes[i].line);
                cadu_config_class *nc = realloc(p->cfg->classes, (p->cfg->n_classes + 1) * sizeof(*nc));
                if (!nc)
                        return -ENOMEM;
                p->cfg->classes = nc;
                cadu_config_class *c = &nc[p->cfg->n_classes];
                *c = (cadu_config_class){ .line = p->line };
                c->name = strndup(cn, cl);
                if (!c->name)
                        return -ENOMEM;
                p->cfg->n_classes++;
                p->cls = c;
                p->sec = SEC_SLOT;
                p->dev_line[0] = p->dev_line[1] = 0;
                return 0;
        }
        return fail(p, p->line, "unknown section [%s]", excerpt(s, n, ex));
}

static int parse_bool(const char *v, size_t n, bool *ret) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
        for (size_t i = 0; i < CADU_ELEMENTSOF(yes); i++) {
                if (strlen(yes[i]) == n && !strncasecmp(yes[i], v, n)) {
                        *ret = true;
                        return 0;
                }
                if (strlen(no[i]) == n && !strncasecmp(no[i], v, n)) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static const char *section_label(const parser *p, char buf[CLASS_NAME_MAX + 8]) {
        if (p->sec == SEC_SLOT)
                snprintf(buf, CLASS_NAME_MAX + 8, "slot %s", p->cls->name);
        else
                snprintf(buf, CLASS_NAME_MAX + 8, "%s", section_names[p->sec]);
        return buf;
}

static int parse_slot_key(parser *p, const char *k, size_t kn, const char *v, size_t vn) {
        char ex[68];
        int d = kn == 1 && k[0] == 'a' ? 0 : kn == 1 && k[0] == 'b' ? 1 : -1;
        if (d < 0)
                return fail(p, p->line, "unknown key '%s' in [slot %s] (expected 'a' or 'b')", excerpt(k, kn, ex),
                            p->cls->name);
        if (p->dev_line[d])
                return fail(p, p->line, "duplicate key '%c' in [slot %s] (first at line %u)", k[0], p->cls->name,
                            p->dev_line[d]);
        p->dev_line[d] = p->line;
        p->cls->device[d] = strndup(v, vn);
        return p->cls->device[d] ? 0 : -ENOMEM;
}

static int parse_key(parser *p, const char *k, size_t kn, const char *v, size_t vn) {
        char ex[68], lab[CLASS_NAME_MAX + 8];
        if (p->sec == SEC_NONE)
                return fail(p, p->line, "key '%s' outside of any section", excerpt(k, kn, ex));
        if (vn == 0)
                return fail(p, p->line, "key '%s' needs a value", excerpt(k, kn, ex));
        if (p->sec == SEC_SLOT)
                return parse_slot_key(p, k, kn, v, vn);
        const key *kd = NULL;
        size_t ki = 0;
        for (; ki < CADU_ELEMENTSOF(keys); ki++)
                if (keys[ki].sec == p->sec && strlen(keys[ki].name) == kn && !memcmp(keys[ki].name, k, kn)) {
                        kd = &keys[ki];
                        break;
                }
        if (!kd)
                return fail(p, p->line, "unknown key '%s' in [%s]", excerpt(k, kn, ex), section_label(p, lab));
        bool repeatable = kd->kind == K_LIST || kd->kind == K_CSV || kd->kind == K_HEADER;
        if (p->key_line[ki] && !repeatable)
                return fail(p, p->line, "duplicate key '%s' in [%s] (first at line %u)", kd->name,
                            section_label(p, lab), p->key_line[ki]);
        p->key_line[ki] = p->line;

        char *field = (char *)p->cfg + kd->offset;
        switch (kd->kind) {
        case K_STRING: {
                char *s = strndup(v, vn);
                if (!s)
                        return -ENOMEM;
                *(char **)field = s;
                return 0;
        }
        case K_LIST:
                return list_append((char ***)field, (size_t *)((char *)p->cfg + kd->count_offset), v, vn);
        case K_CSV:
                for (size_t i = 0; i <= vn;) {
                        const char *e = memchr(v + i, ',', vn - i);
                        size_t n = e ? (size_t)(e - (v + i)) : vn - i;
                        const char *item = trim(v + i, &n);
                        if (n == 0)
                                return fail(p, p->line, "empty item in the list of '%s'", kd->name);
                        int r = list_append((char ***)field, (size_t *)((char *)p->cfg + kd->count_offset), item,
                                            n);
                        if (r < 0)
                                return r;
                        if (!e)
                                break;
                        i = (size_t)(e - v) + 1;
                }
                return 0;
        case K_HEADER: {
                const char *colon = memchr(v, ':', vn);
                bool ok = colon && colon > v;
                for (const char *c = v; ok && c < colon; c++)
                        if (*c <= ' ' || *c >= 0x7f)
                                ok = false;
                if (!ok)
                        return fail(p, p->line, "invalid header '%s' (expected 'Name: value')",
                                    excerpt(v, vn, ex));
                return list_append((char ***)field, (size_t *)((char *)p->cfg + kd->count_offset), v, vn);
        }
        case K_BOOL:
                if (parse_bool(v, vn, (bool *)field) < 0)
                        return fail(p, p->line, "invalid %s '%s' (expected yes or no)", kd->name,
                                    excerpt(v, vn, ex));
                return 0;
        case K_UINT: {
                char buf[32];
                uint64_t u;
                bool too_long = vn >= sizeof(buf);
                size_t n = too_long ? sizeof(buf) - 1 : vn;
                memcpy(buf, v, n);
                buf[n] = 0;
                if (too_long || cadu_parse_uint(buf, kd->min, kd->max, &u) < 0)
                        return fail(p, p->line, "invalid %s '%s' (expected %llu to %llu)", kd->name,
                                    excerpt(v, vn, ex), (unsigned long long)kd->min, (unsigned long long)kd->max);
                *(unsigned *)field = (unsigned)u;
                return 0;
        }
        case K_SIZE: {
                char buf[32];
                bool too_long = vn >= sizeof(buf);
                size_t n = too_long ? sizeof(buf) - 1 : vn;
                memcpy(buf, v, n);
                buf[n] = 0;
                if (too_long || cadu_parse_size(buf, (uint64_t *)field) < 0)
                        return fail(p, p->line, "invalid %s '%s' (expected bytes per second, as in 512K or 2M)",
                                    kd->name, excerpt(v, vn, ex));
                return 0;
        }
        case K_BOOTLOADER:
                if (vn == 5 && !memcmp(v, "uboot", 5))
                        *(cadu_boot_backend *)field = CADU_BOOT_UBOOT;
                else if (vn == 4 && !memcmp(v, "file", 4))
                        *(cadu_boot_backend *)field = CADU_BOOT_FILE;
                else if (vn == 12 && !memcmp(v, "efibootguard", 12)) {
                        if (!cadu_boot_have_ebg())
                                return fail(p, p->line, "'%s = efibootguard': this cadu was built without "
                                                        "EFI Boot Guard support (libebgenv)", kd->name);
                        *(cadu_boot_backend *)field = CADU_BOOT_EBG;
                } else
                        return fail(p, p->line, "invalid %s '%s' (expected uboot, file or efibootguard)", kd->name,
                                    excerpt(v, vn, ex));
                return 0;
        }
        return -EINVAL;
}

static int parse_line(parser *p, const char *s, size_t n) {
        char ex[68];
        if (memchr(s, 0, n))
                return fail(p, p->line, "NUL byte (not a text file?)");
        if (n && s[n - 1] == '\r')
                n--;
        s = trim(s, &n);
        if (n == 0 || s[0] == '#' || s[0] == ';')
                return 0;
        if (s[0] == '[') {
                if (s[n - 1] != ']')
                        return fail(p, p->line, "section header '%s' lacks its ']'", excerpt(s, n, ex));
                return parse_section(p, s + 1, n - 2);
        }
        const char *eq = memchr(s, '=', n);
        if (!eq)
                return fail(p, p->line, "expected 'key = value' or '[section]', got '%s'", excerpt(s, n, ex));
        size_t kn = (size_t)(eq - s), vn = n - kn - 1;
        const char *k = trim(s, &kn), *v = trim(eq + 1, &vn);
        if (kn == 0)
                return fail(p, p->line, "missing key before '='");
        return parse_key(p, k, kn, v, vn);
}

static int set_default(char **field, const char *value) {
        if (*field)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

static int finish(parser *p) {
        cadu_config *c = p->cfg;
        if (!c->compatible)
                return fail(p, 0, "missing 'compatible' in [system]");
        if (c->bootloader == CADU_BOOT_FILE && !c->bootloader_file)
                return fail(p, p->key_line[KEY_BOOTLOADER], "'bootloader = file' needs 'bootloader-file' in [system]");
        if (c->n_classes == 0)
                return fail(p, 0, "no [slot CLASS] section (as in [slot rootfs] with a = and b =)");
        for (size_t i = 0; i < c->n_classes; i++) {
                cadu_config_class *k = &c->classes[i];
                if (!k->device[0] || !k->device[1])
                        return fail(p, k->line, "[slot %s] needs both 'a' and 'b'", k->name);
                if (!strcmp(k->device[0], k->device[1]))
                        return fail(p, k->line, "[slot %s]: 'a' and 'b' name the same device %s", k->name,
                                    k->device[0]);
                for (size_t j = 0; j < i; j++)
                        for (int x = 0; x < 2; x++)
                                for (int y = 0; y < 2; y++)
                                        if (!strcmp(k->device[x], c->classes[j].device[y]))
                                                return fail(p, k->line, "[slot %s] uses %s, as [slot %s] does",
                                                            k->name, k->device[x], c->classes[j].name);
        }
        if (c->n_ca == 0)
                return fail(p, 0, "missing 'ca' in [trust] (the certificates that sign updates)");
        if (c->min_version && !cadu_manifest_version_valid(c->min_version))
                return fail(p, p->key_line[KEY_MIN_VERSION], "min-version '%.64s' is not a version (as in 2.1.0)",
                            c->min_version);
        int r;
        if ((r = set_default(&c->fw_env_config, CADU_CONFIG_DEFAULT_FW_ENV_CONFIG)) < 0 ||
            (r = set_default(&c->state_dir, CADU_CONFIG_DEFAULT_STATE_DIR)) < 0 ||
            (r = set_default(&c->cmdline, CADU_CONFIG_DEFAULT_CMDLINE)) < 0)
                return r;
        if (!c->max_attempts)
                c->max_attempts = CADU_BOOT_ATTEMPTS_DEFAULT;
        /* Lists are NULL-terminated even when empty. */
        if (!c->urls && !(c->urls = calloc(1, sizeof(char *))))
                return -ENOMEM;
        if (!c->headers && !(c->headers = calloc(1, sizeof(char *))))
                return -ENOMEM;
        return 0;
}

int cadu_config_parse(const char *name, const char *data, size_t len, cadu_config **ret, char **errmsg) {
        if (errmsg)
                *errmsg = NULL;
        if (!ret || (!data && len))
                return -EINVAL;
        if (!name)
                name = "(config)";
        parser p = { .name = name };
        p.cfg = calloc(1, sizeof(*p.cfg));
        if (!p.cfg)
                return -ENOMEM;
        p.cfg->bootloader = CADU_BOOT_UBOOT;
        p.cfg->retries = 5;             /* cadu.conf(5); 0 means none */
        int r = 0;
        if (!(p.cfg->path = strdup(name)))
                r = -ENOMEM;
        for (size_t pos = 0; r == 0 && pos < len;) {
                const char *s = data + pos;
                const char *nl = memchr(s, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - s) : len - pos;
                pos += n + (nl ? 1 : 0);
                p.line++;
                r = parse_line(&p, s, n);
        }
        if (r == 0)
                r = finish(&p);
        if (r < 0) {
                if (errmsg && p.err)
                        *errmsg = p.err;
                else
                        free(p.err);
                cadu_config_free(p.cfg);
                return p.oom ? -ENOMEM : r;
        }
        *ret = p.cfg;
        return 0;
}

int cadu_config_load(const char *path, cadu_config **ret, char **errmsg) {
        if (errmsg)
                *errmsg = NULL;
        if (!path)
                path = CADU_CONFIG_DEFAULT_PATH;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;
        int r = cadu_read_file(path, CONFIG_MAX_SIZE, &data, &len);
        if (r < 0) {
                if (errmsg && asprintf(errmsg, "%s: %s", path,
                                       r == -EFBIG ? "larger than 1 MiB, not a configuration file" : cadu_errstr(r)) < 0)
                        *errmsg = NULL;
                return r;
        }
        return cadu_config_parse(path, (const char *)data, len, ret, errmsg);
}

const cadu_config_class *cadu_config_find_class(const cadu_config *c, const char *name) {
        if (!c || !name)
                return NULL;
        for (size_t i = 0; i < c->n_classes; i++)
                if (!strcmp(c->classes[i].name, name))
                        return &c->classes[i];
        return NULL;
}

cadu_boot_options cadu_config_boot_options(const cadu_config *c) {
        return (cadu_boot_options){
                .backend = c->bootloader,
                .path = c->bootloader == CADU_BOOT_FILE    ? c->bootloader_file
                        : c->bootloader == CADU_BOOT_UBOOT ? c->fw_env_config
                                                           : NULL,
                .max_attempts = c->max_attempts,
        };
}
