/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * boot-env.c - bootloader environment transactions: the U-Boot backend
 * (libubootenv) and the plain-file backend; EFI Boot Guard's is in
 * boot-ebg.c.
 *
 * Both backends load every variable into one list kept here; changes are
 * recorded in that list and applied in cadu_boot_store() with a single
 * environment store.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libuboot.h>

#include "boot-private.h"
#include "cadu-util.h"

/* Bigger than any U-Boot environment partition. */
#define BOOT_FILE_MAX (1u << 20)

void boot_detail(cadu_boot *b, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->detail, sizeof(b->detail), fmt, ap);
        va_end(ap);
}

static void vars_clear(cadu_boot *b) {
        for (size_t i = 0; i < b->n_vars; i++) {
                free(b->vars[i].name);
                free(b->vars[i].value);
        }
        free(b->vars);
        b->vars = NULL;
        b->n_vars = 0;
}

static boot_var *var_find(const cadu_boot *b, const char *name) {
        for (size_t i = 0; i < b->n_vars; i++)
                if (!strcmp(b->vars[i].name, name))
                        return &b->vars[i];
        return NULL;
}

static int var_add(cadu_boot *b, const char *name, size_t name_len, const char *value, size_t value_len) {
        boot_var *nv = realloc(b->vars, (b->n_vars + 1) * sizeof(*nv));
        if (!nv)
                return -ENOMEM;
        b->vars = nv;
        boot_var *v = &b->vars[b->n_vars];
        *v = (boot_var){ 0 };
        v->name = strndup(name, name_len);
        v->value = value ? strndup(value, value_len) : NULL;
        if (!v->name || (value && !v->value)) {
                free(v->name);
                free(v->value);
                return -ENOMEM;
        }
        b->n_vars++;
        return 0;
}

int boot_var_add(cadu_boot *b, const char *name, const char *value) {
        return var_add(b, name, strlen(name), value, strlen(value));
}

static void uboot_release(cadu_boot *b) {
        if (!b->ctx)
                return;
        libuboot_close(b->ctx);
        libuboot_exit(b->ctx);
        b->ctx = NULL;
}

int cadu_boot_new(const cadu_boot_options *o, cadu_boot **ret) {
        if (!o || !ret || (o->backend != CADU_BOOT_EBG && (!o->path || !*o->path)) ||
            (o->backend != CADU_BOOT_UBOOT && o->backend != CADU_BOOT_FILE && o->backend != CADU_BOOT_EBG) ||
            o->max_attempts > CADU_BOOT_ATTEMPTS_MAX)
                return -EINVAL;
        if (o->backend == CADU_BOOT_EBG && !cadu_boot_have_ebg())
                return -EOPNOTSUPP;
        cadu_boot *b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->backend = o->backend;
        b->max_attempts = o->max_attempts ? o->max_attempts : CADU_BOOT_ATTEMPTS_DEFAULT;
        b->path = strdup(o->path ? o->path : "EFI Boot Guard");
        if (!b->path) {
                free(b);
                return -ENOMEM;
        }
        *ret = b;
        return 0;
}

cadu_boot *cadu_boot_free(cadu_boot *b) {
        if (!b)
                return NULL;
        uboot_release(b);
        vars_clear(b);
        free(b->path);
        free(b);
        return NULL;
}

const char *cadu_boot_detail(const cadu_boot *b) {
        return b ? b->detail : "";
}

/* The file format: "NAME=VALUE" lines, '#' comments and empty lines. */
int cadu_boot_load_buffer(cadu_boot *b, const char *data, size_t len) {
        if (!b || (!data && len))
                return -EINVAL;
        b->detail[0] = 0;
        vars_clear(b);
        b->loaded = false;
        unsigned line = 0;
        for (size_t pos = 0; pos < len;) {
                const char *s = data + pos;
                const char *nl = memchr(s, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - s) : len - pos;
                pos += n + (nl ? 1 : 0);
                line++;
                if (memchr(s, 0, n)) {
                        boot_detail(b, "%s:%u: NUL byte in the environment file", b->path, line);
                        goto bad;
                }
                if (n == 0 || s[0] == '#')
                        continue;
                const char *eq = memchr(s, '=', n);
                size_t name_len = eq ? (size_t)(eq - s) : 0;
                if (!eq || name_len == 0) {
                        boot_detail(b, "%s:%u: expected NAME=VALUE", b->path, line);
                        goto bad;
                }
                for (size_t i = 0; i < name_len; i++)
                        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r') {
                                boot_detail(b, "%s:%u: white space in a variable name", b->path, line);
                                goto bad;
                        }
                for (size_t i = 0; i < b->n_vars; i++)
                        if (strlen(b->vars[i].name) == name_len && !memcmp(b->vars[i].name, s, name_len)) {
                                boot_detail(b, "%s:%u: variable '%.*s' set twice", b->path, line,
                                            (int)CADU_MIN(name_len, 64), s);
                                goto bad;
                        }
                int r = var_add(b, s, name_len, eq + 1, n - name_len - 1);
                if (r < 0) {
                        vars_clear(b);
                        return r;
                }
        }
        b->loaded = true;
        return 0;
bad:
        vars_clear(b);
        return -EBADMSG;
}

static int file_load(cadu_boot *b) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;
        int r = cadu_read_file(b->path, BOOT_FILE_MAX, &data, &len);
        if (r < 0) {
                boot_detail(b, "%s: %s", b->path, r == -EFBIG ? "larger than 1 MiB" : cadu_errstr(r));
                return r;
        }
        return cadu_boot_load_buffer(b, (const char *)data, len);
}

static int file_store(cadu_boot *b) {
        size_t total = 1;
        for (size_t i = 0; i < b->n_vars; i++)
                if (b->vars[i].value)
                        total += strlen(b->vars[i].name) + strlen(b->vars[i].value) + 2;
        _cleanup_free_ char *buf = malloc(total);
        if (!buf)
                return -ENOMEM;
        size_t len = 0;
        for (size_t i = 0; i < b->n_vars; i++)
                if (b->vars[i].value)
                        len += (size_t)snprintf(buf + len, total - len, "%s=%s\n", b->vars[i].name,
                                                b->vars[i].value);
        int r = cadu_write_file_atomic(b->path, buf, len);
        if (r < 0)
                boot_detail(b, "writing %s: %s", b->path, strerror(-r));
        return r;
}

static int uboot_load(cadu_boot *b) {
        int r;
        if (access(b->path, R_OK) < 0) {
                r = -errno;
                boot_detail(b, "%s: %s", b->path, strerror(-r));
                return r;
        }
        r = libuboot_initialize(&b->ctx, NULL);
        if (r < 0) {
                b->ctx = NULL;
                return r;
        }
        r = libuboot_read_config(b->ctx, b->path);
        if (r < 0) {
                libuboot_exit(b->ctx);
                b->ctx = NULL;
                boot_detail(b, "%s: invalid, or an environment device it names is missing or of the wrong size",
                            b->path);
                return -EINVAL;
        }
        r = libuboot_open(b->ctx);
        if (r < 0) {
                if (r == -ENODATA) {
                        boot_detail(b, "U-Boot environment of %s: no copy has a valid CRC (corrupt or never written)",
                                    b->path);
                        r = -EBADMSG;
                } else {
                        boot_detail(b, "U-Boot environment of %s: cannot be read", b->path);
                        r = r == -1 ? -EIO : r;
                }
                uboot_release(b);
                return r;
        }
        for (void *e = libuboot_iterator(b->ctx, NULL); e; e = libuboot_iterator(b->ctx, e)) {
                const char *name = libuboot_getname(e), *value = libuboot_getvalue(e);
                if (!name || !value)
                        continue;
                r = var_add(b, name, strlen(name), value, strlen(value));
                if (r < 0) {
                        uboot_release(b);
                        vars_clear(b);
                        return r;
                }
        }
        b->loaded = true;
        return 0;
}

static int uboot_store(cadu_boot *b) {
        int r;
        for (size_t i = 0; i < b->n_vars; i++) {
                if (!b->vars[i].changed)
                        continue;
                r = libuboot_set_env(b->ctx, b->vars[i].name, b->vars[i].value);
                if (r < 0) {
                        boot_detail(b, "U-Boot environment of %s: variable %s cannot be changed (read-only in .flags?)",
                                    b->path, b->vars[i].name);
                        return r == -1 ? -EPERM : r;
                }
        }
        r = libuboot_env_store(b->ctx);
        if (r == -ENOMEM) {
                boot_detail(b, "U-Boot environment of %s: the variables do not fit its size", b->path);
                return -ENOSPC;
        }
        if (r != 0) {
                boot_detail(b, "U-Boot environment of %s: writing failed", b->path);
                return r < 0 && r != -1 ? r : -EIO;
        }
        return 0;
}

int cadu_boot_load(cadu_boot *b) {
        if (!b)
                return -EINVAL;
        b->detail[0] = 0;
        uboot_release(b);
        vars_clear(b);
        b->loaded = false;
        if (b->backend == CADU_BOOT_EBG)
                return boot_ebg_load(b);
        return b->backend == CADU_BOOT_UBOOT ? uboot_load(b) : file_load(b);
}

const char *cadu_boot_get(const cadu_boot *b, const char *name) {
        if (!b || !name)
                return NULL;
        boot_var *v = var_find(b, name);
        return v ? v->value : NULL;
}

int cadu_boot_set(cadu_boot *b, const char *name, const char *value) {
        if (!b || !name || !*name || strpbrk(name, "= \t\r\n") || (value && strchr(value, '\n')))
                return -EINVAL;
        if (!b->loaded)
                return -ESTALE;
        if (b->backend == CADU_BOOT_EBG) {
                bool known = false;
                for (size_t i = 0; i < BOOT_EBG_N_VARS; i++)
                        known = known || !strcmp(name, boot_ebg_vars[i]);
                if (!known) {
                        boot_detail(b, "EFI Boot Guard: cadu keeps no variable %.64s there", name);
                        return -EOPNOTSUPP;
                }
                if (value && strlen(value) > 254) {
                        boot_detail(b, "EFI Boot Guard: the value of %.64s is longer than 254 bytes", name);
                        return -ENOSPC;
                }
        }
        boot_var *v = var_find(b, name);
        if (!v) {
                if (!value)
                        return 0;
                int r = var_add(b, name, strlen(name), value, strlen(value));
                if (r < 0)
                        return r;
                b->vars[b->n_vars - 1].changed = true;
                return 0;
        }
        if (v->value && value && !strcmp(v->value, value))
                return 0;
        if (!v->value && !value)
                return 0;
        char *nv = NULL;
        if (value && !(nv = strdup(value)))
                return -ENOMEM;
        free(v->value);
        v->value = nv;
        v->changed = true;
        return 0;
}

bool cadu_boot_dirty(const cadu_boot *b) {
        if (!b)
                return false;
        if (b->backend == CADU_BOOT_EBG && (b->ebg[0].changed || b->ebg[1].changed))
                return true;
        for (size_t i = 0; i < b->n_vars; i++)
                if (b->vars[i].changed)
                        return true;
        return false;
}

void cadu_boot_unlock(cadu_boot *b) {
        if (b)
                uboot_release(b);
}

int cadu_boot_store(cadu_boot *b) {
        if (!b)
                return -EINVAL;
        if (!b->loaded || (b->backend == CADU_BOOT_UBOOT && !b->ctx))
                return -ESTALE;
        b->detail[0] = 0;
        if (!cadu_boot_dirty(b))
                return 0;
        int r = b->backend == CADU_BOOT_EBG ? boot_ebg_store(b)
                : b->backend == CADU_BOOT_UBOOT ? uboot_store(b) : file_store(b);
        if (r < 0)
                return r;
        if (b->backend == CADU_BOOT_EBG)
                return cadu_boot_load(b);
        for (size_t i = 0; i < b->n_vars; i++)
                b->vars[i].changed = false;
        /* libubootenv does not advance its notion of the current redundant
         * copy after a store, so a second store through the same context
         * would overwrite the copy just written. Re-read to start afresh. */
        if (b->backend == CADU_BOOT_UBOOT)
                return cadu_boot_load(b);
        return 0;
}
