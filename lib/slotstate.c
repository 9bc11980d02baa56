/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* slotstate.c - slot info files, seed index paths, the lock and the install journal. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "cadu-boot.h"
#include "cadu-manifest.h"
#include "cadu-util.h"
#include "slotstate.h"

#define STATE_FILE_MAX (1u << 20)
#define JOURNAL_NAME "install.journal"
#define JOURNAL_MAGIC "cadu-journal 1"
#define WORD_MAX 256

static const char *const state_names[] = {
        [CADU_SLOT_UNKNOWN] = "unknown",
        [CADU_SLOT_GOOD] = "good",
        [CADU_SLOT_BAD] = "bad",
        [CADU_SLOT_TRIAL] = "trial",
};

const char *cadu_slot_state_name(cadu_slot_state s) {
        return (unsigned)s < CADU_ELEMENTSOF(state_names) ? state_names[s] : "unknown";
}

int cadu_slot_state_from_name(const char *name, cadu_slot_state *ret) {
        for (size_t i = 0; name && i < CADU_ELEMENTSOF(state_names); i++)
                if (!strcmp(state_names[i], name)) {
                        *ret = (cadu_slot_state)i;
                        return 0;
                }
        return -EINVAL;
}

void cadu_slot_info_clear(cadu_slot_info *i) {
        if (!i)
                return;
        free(i->version);
        free(i->image_sha256);
        free(i->index_sha256);
        *i = (cadu_slot_info)CADU_SLOT_INFO_INIT;
}

bool cadu_slot_class_valid(const char *cls) {
        if (!cls || !*cls || strlen(cls) > 64)
                return false;
        for (const char *c = cls; *c; c++)
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                      *c == '-' || *c == '_'))
                        return false;
        return true;
}

static int slot_path(const char *state_dir, const char *cls, char slot, const char *suffix, char **ret) {
        if (!state_dir || !*state_dir || !cadu_slot_class_valid(cls) || (slot != 'A' && slot != 'B') || !ret)
                return -EINVAL;
        return asprintf(ret, "%s/%s.%c.%s", state_dir, cls, slot, suffix) < 0 ? -ENOMEM : 0;
}

int cadu_slot_info_path(const char *state_dir, const char *cls, char slot, char **ret) {
        return slot_path(state_dir, cls, slot, "info", ret);
}

int cadu_slot_seed_index_path(const char *state_dir, const char *cls, char slot, char **ret) {
        return slot_path(state_dir, cls, slot, "caibx", ret);
}

static bool is_hex64(const char *s) {
        if (!s || strlen(s) != 64)
                return false;
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

/* A word: 1..WORD_MAX printable characters without blanks. */
static bool is_word(const char *s) {
        if (!s || !*s || strlen(s) > WORD_MAX)
                return false;
        for (; *s; s++)
                if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
                        return false;
        return true;
}

static int dup_n(const char *s, size_t n, char **ret) {
        char *d = strndup(s, n);
        if (!d)
                return -ENOMEM;
        free(*ret);
        *ret = d;
        return 0;
}

int cadu_slot_info_parse(const char *data, size_t len, cadu_slot_info *ret) {
        if (!ret || (!data && len))
                return -EINVAL;
        cadu_slot_info i = CADU_SLOT_INFO_INIT;
        int r = 0;
        for (size_t pos = 0; r == 0 && pos < len;) {
                const char *s = data + pos;
                const char *nl = memchr(s, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - s) : len - pos;
                pos += n + (nl ? 1 : 0);
                if (memchr(s, 0, n)) {
                        r = -EBADMSG;
                        break;
                }
                if (n == 0 || s[0] == '#')
                        continue;
                const char *eq = memchr(s, '=', n);
                if (!eq) {
                        r = -EBADMSG;
                        break;
                }
                size_t kn = (size_t)(eq - s), vn = n - kn - 1;
                const char *v = eq + 1;
#define KEY(k) (kn == strlen(k) && !memcmp(s, k, kn))
                if (KEY("state")) {
                        char buf[16];
                        if (vn >= sizeof(buf)) {
                                r = -EBADMSG;
                                break;
                        }
                        memcpy(buf, v, vn);
                        buf[vn] = 0;
                        if (cadu_slot_state_from_name(buf, &i.state) < 0)
                                r = -EBADMSG;
                } else if (KEY("version")) {
                        if (vn == 0 || vn > WORD_MAX)
                                r = -EBADMSG;
                        else
                                r = dup_n(v, vn, &i.version);
                } else if (KEY("image-sha256") || KEY("index-sha256")) {
                        char **field = KEY("image-sha256") ? &i.image_sha256 : &i.index_sha256;
                        r = vn == 64 ? dup_n(v, vn, field) : -EBADMSG;
                        if (r == 0 && !is_hex64(*field))
                                r = -EBADMSG;
                } else if (KEY("installed")) {
                        char buf[24];
                        uint64_t t;
                        if (vn >= sizeof(buf)) {
                                r = -EBADMSG;
                                break;
                        }
                        memcpy(buf, v, vn);
                        buf[vn] = 0;
                        if (cadu_parse_uint(buf, 0, UINT64_MAX, &t) < 0)
                                r = -EBADMSG;
                        else
                                i.installed = t;
                }
                /* Other keys: written by a newer cadu; ignored. */
#undef KEY
        }
        if (r < 0) {
                cadu_slot_info_clear(&i);
                return r;
        }
        *ret = i;
        return 0;
}

int cadu_slot_info_read(const char *state_dir, const char *cls, char slot, cadu_slot_info *ret) {
        _cleanup_free_ char *path = NULL;
        int r = cadu_slot_info_path(state_dir, cls, slot, &path);
        if (r < 0)
                return r;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;
        r = cadu_read_file(path, STATE_FILE_MAX, &data, &len);
        if (r == -ENOENT) {
                *ret = (cadu_slot_info)CADU_SLOT_INFO_INIT;
                return 0;
        }
        if (r < 0)
                return r;
        return cadu_slot_info_parse((const char *)data, len, ret);
}

int cadu_slot_info_write(const char *state_dir, const char *cls, char slot, const cadu_slot_info *i) {
        if (!i || (unsigned)i->state >= CADU_ELEMENTSOF(state_names) || (i->version && !is_word(i->version)) ||
            (i->image_sha256 && !is_hex64(i->image_sha256)) || (i->index_sha256 && !is_hex64(i->index_sha256)))
                return -EINVAL;
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r = cadu_slot_info_path(state_dir, cls, slot, &path);
        if (r < 0)
                return r;
        r = cadu_mkdir_p(state_dir);
        if (r < 0)
                return r;
        int n = asprintf(&text, "state=%s\n%s%s%s%s%s%s%s%s%s", cadu_slot_state_name(i->state),
                         i->version ? "version=" : "", i->version ? i->version : "", i->version ? "\n" : "",
                         i->image_sha256 ? "image-sha256=" : "", i->image_sha256 ? i->image_sha256 : "",
                         i->image_sha256 ? "\n" : "", i->index_sha256 ? "index-sha256=" : "",
                         i->index_sha256 ? i->index_sha256 : "", i->index_sha256 ? "\n" : "");
        if (n < 0) {
                text = NULL;
                return -ENOMEM;
        }
        if (i->installed) {
                char *t2 = NULL;
                if (asprintf(&t2, "%sinstalled=%" PRIu64 "\n", text, i->installed) < 0)
                        return -ENOMEM;
                free(text);
                text = t2;
        }
        return cadu_write_file_atomic(path, text, strlen(text));
}

int cadu_slot_info_set_state(const char *state_dir, const char *cls, char slot, cadu_slot_state s) {
        cadu_slot_info i;
        int r = cadu_slot_info_read(state_dir, cls, slot, &i);
        if (r < 0)
                return r;
        if (i.state == s) {
                cadu_slot_info_clear(&i);
                return 0;
        }
        i.state = s;
        r = cadu_slot_info_write(state_dir, cls, slot, &i);
        cadu_slot_info_clear(&i);
        return r;
}

int cadu_state_lock(const char *state_dir, int *ret_fd) {
        if (!state_dir || !ret_fd)
                return -EINVAL;
        int r = cadu_mkdir_p(state_dir);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/lock", state_dir) < 0)
                return -ENOMEM;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                r = errno == EWOULDBLOCK ? -EBUSY : -errno;
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* ---- journal ---- */

cadu_journal *cadu_journal_free(cadu_journal *j) {
        if (!j)
                return NULL;
        free(j->manifest_sha256);
        free(j->version);
        for (size_t i = 0; i < j->n_records; i++) {
                free(j->records[i].phase);
                free(j->records[i].image);
                free(j->records[i].value);
        }
        free(j->records);
        free(j);
        return NULL;
}

/* Split a line into at most max blank-separated words (in place). */
static size_t split_words(char *s, char **w, size_t max) {
        size_t n = 0;
        for (char *save = NULL, *t = strtok_r(s, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
                if (n == max)
                        return max + 1;
                w[n++] = t;
        }
        return n;
}

static int parse_time(const char *s, uint64_t *ret) {
        return cadu_parse_uint(s, 0, UINT64_MAX, ret) < 0 ? -EBADMSG : 0;
}

static int strdup_dash(const char *s, char **ret) {
        if (!strcmp(s, "-")) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int cadu_journal_parse(const char *data, size_t len, cadu_journal **ret) {
        if (!ret || (!data && len))
                return -EINVAL;
        cadu_journal *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        int r = 0;
        unsigned line = 0;
        bool have_start = false;
        for (size_t pos = 0; r == 0 && pos < len;) {
                const char *s = data + pos;
                const char *nl = memchr(s, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - s) : len - pos;
                pos += n + (nl ? 1 : 0);
                line++;
                if (memchr(s, 0, n) || n > 4 * WORD_MAX + 64) {
                        r = -EBADMSG;
                        break;
                }
                char buf[4 * WORD_MAX + 65];
                memcpy(buf, s, n);
                buf[n] = 0;
                if (line == 1) {
                        if (strcmp(buf, JOURNAL_MAGIC))
                                r = -EBADMSG;
                        continue;
                }
                char *w[6];
                size_t nw = split_words(buf, w, 5);
                if (nw == 0 || nw > 5) {
                        r = -EBADMSG;
                        break;
                }
                if (j->done) {          /* nothing follows done */
                        r = -EBADMSG;
                        break;
                }
                if (!strcmp(w[0], "start")) {
                        if (have_start || nw != 5 || !is_hex64(w[1]) || (strcmp(w[2], "A") && strcmp(w[2], "B")) ||
                            parse_time(w[3], &j->started) < 0 || !is_word(w[4])) {
                                r = -EBADMSG;
                                break;
                        }
                        have_start = true;
                        j->slot = w[2][0];
                        if (!(j->manifest_sha256 = strdup(w[1])) || !(j->version = strdup(w[4])))
                                r = -ENOMEM;
                } else if (!have_start) {
                        r = -EBADMSG;
                } else if (!strcmp(w[0], "phase")) {
                        if (nw != 4 || !is_word(w[1]) || !is_word(w[2]) || !is_word(w[3])) {
                                r = -EBADMSG;
                                break;
                        }
                        cadu_journal_record *nr = realloc(j->records, (j->n_records + 1) * sizeof(*nr));
                        if (!nr) {
                                r = -ENOMEM;
                                break;
                        }
                        j->records = nr;
                        cadu_journal_record *rec = &nr[j->n_records];
                        *rec = (cadu_journal_record){ 0 };
                        j->n_records++;
                        if (!(rec->phase = strdup(w[1])) || strdup_dash(w[2], &rec->image) < 0 ||
                            strdup_dash(w[3], &rec->value) < 0)
                                r = -ENOMEM;
                } else if (!strcmp(w[0], "done")) {
                        if (nw != 2 || parse_time(w[1], &j->finished) < 0)
                                r = -EBADMSG;
                        else
                                j->done = true;
                }
                /* Other record types: from a newer cadu; ignored. */
        }
        if (r == 0 && !have_start)
                r = -EBADMSG;
        if (r < 0) {
                cadu_journal_free(j);
                return r;
        }
        *ret = j;
        return 0;
}

static int journal_path(const char *state_dir, char **ret) {
        if (!state_dir || !*state_dir)
                return -EINVAL;
        return asprintf(ret, "%s/" JOURNAL_NAME, state_dir) < 0 ? -ENOMEM : 0;
}

/* The journal's text and its parse. */
static int journal_load(const char *state_dir, uint8_t **ret_data, size_t *ret_len, cadu_journal **ret) {
        _cleanup_free_ char *path = NULL;
        int r = journal_path(state_dir, &path);
        if (r < 0)
                return r;
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;
        r = cadu_read_file(path, STATE_FILE_MAX, &data, &len);
        if (r < 0)
                return r;
        r = cadu_journal_parse((const char *)data, len, ret);
        if (r < 0)
                return r;
        if (ret_data) {
                *ret_data = data;
                *ret_len = len;
                data = NULL;
        }
        return 0;
}

int cadu_journal_read(const char *state_dir, cadu_journal **ret) {
        return journal_load(state_dir, NULL, NULL, ret);
}

/* Replace the journal by old (may be NULL) followed by line. */
static int journal_write(const char *state_dir, const char *old, size_t old_len, const char *line) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r = journal_path(state_dir, &path);
        if (r < 0)
                return r;
        size_t ll = strlen(line);
        text = malloc(old_len + ll + 1);
        if (!text)
                return -ENOMEM;
        if (old_len)
                memcpy(text, old, old_len);
        memcpy(text + old_len, line, ll + 1);
        r = cadu_mkdir_p(state_dir);
        if (r < 0)
                return r;
        return cadu_write_file_atomic(path, text, old_len + ll);
}

static uint64_t now_s(void) {
        time_t t = time(NULL);
        return t > 0 ? (uint64_t)t : 0;
}

int cadu_journal_start(const char *state_dir, const char *manifest_sha256, char slot, const char *version) {
        if (!is_hex64(manifest_sha256) || (slot != 'A' && slot != 'B') || !is_word(version))
                return -EINVAL;
        _cleanup_free_ char *line = NULL;
        if (asprintf(&line, JOURNAL_MAGIC "\nstart %s %c %" PRIu64 " %s\n", manifest_sha256, slot, now_s(),
                     version) < 0)
                return -ENOMEM;
        return journal_write(state_dir, NULL, 0, line);
}

/* Append line to the journal (rewritten atomically) if it can be: one that
 * is not closed and ends with a whole line. */
static int journal_append(const char *state_dir, const char *line) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;
        cadu_journal *j = NULL;
        int r = journal_load(state_dir, &data, &len, &j);
        if (r < 0)
                return r;
        bool done = j->done;
        cadu_journal_free(j);
        if (done)
                return -EALREADY;
        if (len && data[len - 1] != '\n')
                return -EBADMSG;
        return journal_write(state_dir, (const char *)data, len, line);
}

int cadu_journal_record_phase(const char *state_dir, const char *phase, const char *image, const char *value) {
        if (!is_word(phase) || (image && !is_word(image)) || (value && !is_word(value)))
                return -EINVAL;
        _cleanup_free_ char *line = NULL;
        if (asprintf(&line, "phase %s %s %s\n", phase, image ? image : "-", value ? value : "-") < 0)
                return -ENOMEM;
        return journal_append(state_dir, line);
}

int cadu_journal_done(const char *state_dir) {
        _cleanup_free_ char *line = NULL;
        if (asprintf(&line, "done %" PRIu64 "\n", now_s()) < 0)
                return -ENOMEM;
        return journal_append(state_dir, line);
}

int cadu_journal_remove(const char *state_dir) {
        _cleanup_free_ char *path = NULL;
        int r = journal_path(state_dir, &path);
        if (r < 0)
                return r;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

const cadu_journal_record *cadu_journal_find(const cadu_journal *j, const char *phase, const char *image) {
        if (!j || !phase)
                return NULL;
        for (size_t i = j->n_records; i > 0; i--) {
                const cadu_journal_record *rec = &j->records[i - 1];
                if (strcmp(rec->phase, phase))
                        continue;
                if (image && (!rec->image || strcmp(rec->image, image)))
                        continue;
                return rec;
        }
        return NULL;
}

/* ---- the rollback floor ---- */

int cadu_min_version_get(const cadu_boot *b, const char **ret) {
        const char *v = cadu_boot_get(b, CADU_MIN_VERSION_VAR);
        *ret = NULL;
        if (!v || !*v)
                return 0;
        if (!cadu_manifest_version_valid(v))
                return -EBADMSG;
        *ret = v;
        return 0;
}

int cadu_min_version_raise(cadu_boot *b, const char *version) {
        const char *floor;
        int c = 1, r = cadu_min_version_get(b, &floor);
        if (r < 0 || !version || !cadu_manifest_version_valid(version))
                return r;
        if (floor && (r = cadu_manifest_version_compare(version, floor, &c)) < 0)
                return r;
        return c > 0 ? cadu_boot_set(b, CADU_MIN_VERSION_VAR, version) : 0;
}
