/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * config.h - the device configuration file (/etc/cadu.conf, cadu.conf(5)).
 *
 * An INI file with the sections [system], [slot CLASS] (one per slot class),
 * [trust] and [store]. The parser is strict: an unknown section or key, a
 * malformed line, a bad value or a missing required key is an error whose
 * message names the file and the line ("/etc/cadu.conf:7: unknown key
 * 'ur' in [store]").
 */
#ifndef CADU_CONFIG_H
#define CADU_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cadu-boot.h"

#define CADU_CONFIG_DEFAULT_PATH "/etc/cadu.conf"
#define CADU_CONFIG_DEFAULT_STATE_DIR "/var/lib/cadu"
#define CADU_CONFIG_DEFAULT_CMDLINE "/proc/cmdline"
#define CADU_CONFIG_DEFAULT_FW_ENV_CONFIG "/etc/fw_env.config"

/* One [slot CLASS] section: the devices (or files) of slots A and B. */
typedef struct cadu_config_class {
        char *name;                     /* "rootfs": letters, digits, '-' and '_' */
        char *device[2];                /* [0] slot A, [1] slot B */
        unsigned line;                  /* line of the section header */
} cadu_config_class;

typedef struct cadu_config {
        char *path;                     /* the file it was read from */

        /* [system] */
        char *compatible;
        cadu_boot_backend bootloader;   /* default uboot */
        char *fw_env_config;            /* default /etc/fw_env.config */
        char *bootloader_file;          /* required with bootloader = file */
        char *state_dir;                /* default /var/lib/cadu */
        char *cmdline;                  /* default /proc/cmdline */
        char *slot_variable;            /* NULL: booted slot only from the command line */
        char *hooks_dir;                /* NULL: no hooks */
        unsigned max_attempts;          /* 1..9, default 3 */
        char *min_version;              /* provisioned rollback floor; NULL: none */

        /* [slot CLASS], in file order */
        cadu_config_class *classes;
        size_t n_classes;

        /* [trust] */
        char **ca;                      /* NULL-terminated; at least one */
        size_t n_ca;
        char *signer;                   /* NULL: any signer the CAs vouch for */
        bool require_codesign;

        /* [store]; zero numbers mean the store's own default */
        char **urls;                    /* NULL-terminated, in order; may be empty */
        size_t n_urls;
        char *cache_dir;
        char *key_file;                 /* store key of encrypted releases (doc/encryption.md) */
        char *recipient_cert;           /* or this device's certificate and key, to */
        char *recipient_key;            /* unwrap a release's key envelope */
        char *ca_file;
        char *client_cert;
        char *client_key;
        char **headers;                 /* NULL-terminated "Name: value" */
        size_t n_headers;
        unsigned max_transfers;
        uint64_t rate_limit;            /* bytes per second, 0 = unlimited */
        uint64_t max_download;          /* bytes an install may fetch, 0 = unlimited */
        unsigned retries;               /* default 5, 0 = none */
        unsigned connect_timeout;       /* seconds */
        unsigned low_speed_time;        /* seconds ("low-speed-time", or "timeout") */
        uint64_t low_speed_limit;       /* bytes per second */
        unsigned deadline;              /* seconds */
        unsigned max_redirects;
        bool insecure;

        /* [hawkbit] (cadu hawkbit); NULL and zero: not set */
        struct {
                char *server;           /* base URL, e.g. https://hawkbit.example.com */
                char *tenant;           /* default "DEFAULT" */
                char *controller_id;
                char *target_token;     /* Authorization: TargetToken ... */
                char *gateway_token;    /* Authorization: GatewayToken ... */
                char *ca_file;
                char *client_cert;
                char *client_key;
                unsigned poll_min, poll_max;    /* seconds: bounds of the server's polling sleep */
                char *reboot_command;   /* run after an install armed a trial boot */
        } hawkbit;
} cadu_config;

/* Parse len bytes of configuration text; name is the file name used in
 * messages. On success *ret is the configuration (free with
 * cadu_config_free()). On failure returns -EINVAL (bad configuration) or
 * -ENOMEM, and *errmsg (when errmsg is not NULL) receives a malloc'ed
 * message "NAME:LINE: what is wrong" (or "NAME: what is missing"). */
int cadu_config_parse(const char *name, const char *data, size_t len, cadu_config **ret, char **errmsg);

/* Read and parse path (NULL: /etc/cadu.conf). Errors as cadu_config_parse(),
 * plus -errno when the file cannot be read ("PATH: No such file or
 * directory" in *errmsg). */
int cadu_config_load(const char *path, cadu_config **ret, char **errmsg);

/* NULL-safe; returns NULL. */
cadu_config *cadu_config_free(cadu_config *c);

/* The class named name, or NULL. */
const cadu_config_class *cadu_config_find_class(const cadu_config *c, const char *name);

/* Bootloader options for cadu_boot_new() (pointers into c). */
cadu_boot_options cadu_config_boot_options(const cadu_config *c);

#endif
