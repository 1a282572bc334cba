/*
 * mount.c - libmount, as sink-filter-static has it: no mounts known.
 *
 * GIO's unix-mount functions call libmount, and Debian ships no static
 * libmount.  The sink never asks GIO about mounts (no GFile monitor, no
 * volume, no trash); should anything, it is told the tables are empty.
 * Only what GIO 2.74 calls is here, with libmount's signatures.
 */
#include <stddef.h>

struct libmnt_table;
struct libmnt_iter;
struct libmnt_fs;
struct libmnt_optmap;

/* Every prototype here is libmount's (libmount.h), which is not included: the project must build without it. */
struct libmnt_table *mnt_new_table(void);
void mnt_free_table(struct libmnt_table *tb);
struct libmnt_iter *mnt_new_iter(int direction);
void mnt_free_iter(struct libmnt_iter *itr);
int mnt_table_next_fs(struct libmnt_table *tb, struct libmnt_iter *itr, struct libmnt_fs **fs);
int mnt_table_parse_fstab(struct libmnt_table *tb, const char *filename);
int mnt_table_parse_mtab(struct libmnt_table *tb, const char *filename);
const char *mnt_fs_get_fstype(struct libmnt_fs *fs);
const char *mnt_fs_get_options(struct libmnt_fs *fs);
const char *mnt_fs_get_root(struct libmnt_fs *fs);
const char *mnt_fs_get_source(struct libmnt_fs *fs);
const char *mnt_fs_get_target(struct libmnt_fs *fs);
char *mnt_fs_strdup_options(struct libmnt_fs *fs);
const struct libmnt_optmap *mnt_get_builtin_optmap(int id);
const char *mnt_get_fstab_path(void);
int mnt_has_regular_mtab(const char **mtab, int *writable);
int mnt_optstr_get_flags(const char *optstr, unsigned long *flags, const struct libmnt_optmap *map);

/* A table that cannot be made: GIO then lists no mounts. */
struct libmnt_table *mnt_new_table(void) { return NULL; }
void mnt_free_table(struct libmnt_table *tb) { }
struct libmnt_iter *mnt_new_iter(int direction) { return NULL; }
void mnt_free_iter(struct libmnt_iter *itr) { }
int mnt_table_next_fs(struct libmnt_table *tb, struct libmnt_iter *itr, struct libmnt_fs **fs) { return 1; }	/* the end */
int mnt_table_parse_fstab(struct libmnt_table *tb, const char *filename) { return -1; }
int mnt_table_parse_mtab(struct libmnt_table *tb, const char *filename) { return -1; }
const char *mnt_fs_get_fstype(struct libmnt_fs *fs) { return NULL; }
const char *mnt_fs_get_options(struct libmnt_fs *fs) { return NULL; }
const char *mnt_fs_get_root(struct libmnt_fs *fs) { return NULL; }
const char *mnt_fs_get_source(struct libmnt_fs *fs) { return NULL; }
const char *mnt_fs_get_target(struct libmnt_fs *fs) { return NULL; }
char *mnt_fs_strdup_options(struct libmnt_fs *fs) { return NULL; }
const struct libmnt_optmap *mnt_get_builtin_optmap(int id) { return NULL; }
const char *mnt_get_fstab_path(void) { return "/etc/fstab"; }
int mnt_has_regular_mtab(const char **mtab, int *writable) { return 0; }
int mnt_optstr_get_flags(const char *optstr, unsigned long *flags, const struct libmnt_optmap *map) { return -1; }
