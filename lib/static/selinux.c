/*
 * selinux.c - libselinux, as sink-filter-static has it: SELinux disabled.
 *
 * GIO copies and queries a file's SELinux context when SELinux is on; the
 * sink never asks GIO for one.  Linking the real libselinux.a would run
 * its start-up at every message (a constructor that looks for selinuxfs:
 * two statfs(2) and a read of /proc/filesystems), for nothing.  Only what
 * GIO 2.74 calls is here, with libselinux's signatures; GIO asks
 * is_selinux_enabled() first and calls none of the others when it is 0.
 */
#include <errno.h>
#include <stdlib.h>

/* Every prototype here is libselinux's (selinux/selinux.h), which is not included: the project must build without it. */
int is_selinux_enabled(void);
void freecon(char *con);
int getfilecon_raw(const char *path, char **con);
int lgetfilecon_raw(const char *path, char **con);
int fgetfilecon_raw(int fd, char **con);
int setfilecon_raw(const char *path, const char *con);

int is_selinux_enabled(void) { return 0; }
void freecon(char *con) { free(con); }
int getfilecon_raw(const char *path, char **con) { errno = ENOTSUP; return -1; }
int lgetfilecon_raw(const char *path, char **con) { errno = ENOTSUP; return -1; }
int fgetfilecon_raw(int fd, char **con) { errno = ENOTSUP; return -1; }
int setfilecon_raw(const char *path, const char *con) { errno = ENOTSUP; return -1; }
