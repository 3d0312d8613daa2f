/*
 * fts.h - file hierarchy traversal, Hadron's own implementation.
 *
 * musl libc does not ship <fts.h>.  This is a small, independent
 * implementation of the fts(3) interface written for Hadron so that
 * dracut's dracut-install can be built against musl.  It provides the
 * commonly used subset of the interface:
 *
 *   - the walk never changes the working directory: every walk behaves as
 *     if FTS_NOCHDIR were given, so fts_accpath is always equal to fts_path;
 *   - each FTSENT owns its own NUL-terminated fts_path (an entry's parent
 *     path can be used directly, no fts_pathlen truncation is needed);
 *   - the FTS handle is opaque.
 *
 * Constant values and field names follow the traditional BSD/glibc
 * interface so that existing callers compile unchanged.
 */
#ifndef _FTS_H
#define _FTS_H 1
#define HADRON_FTS_H 1

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct stat;

/* Traversal handle; its contents are private to fts.c. */
typedef struct hadron_fts FTS;

/* fts_open() options. */
#define FTS_COMFOLLOW   0x0001  /* follow symlinks named as roots */
#define FTS_LOGICAL     0x0002  /* follow all symlinks (stat) */
#define FTS_NOCHDIR     0x0004  /* never chdir (always the case here) */
#define FTS_NOSTAT      0x0008  /* avoid stat where possible (physical walks) */
#define FTS_PHYSICAL    0x0010  /* do not follow symlinks (lstat) */
#define FTS_SEEDOT      0x0020  /* report "." and ".." entries */
#define FTS_XDEV        0x0040  /* do not descend into other file systems */
#define FTS_WHITEOUT    0x0080  /* accepted, has no effect */
#define FTS_OPTIONMASK  0x00ff  /* all valid fts_open() options */

/* fts_children() option. */
#define FTS_NAMEONLY    0x0100  /* caller only needs the names */

typedef struct _ftsent {
	struct _ftsent *fts_cycle;   /* for FTS_DC: the ancestor it repeats */
	struct _ftsent *fts_parent;  /* directory containing this entry */
	struct _ftsent *fts_link;    /* next entry of the same directory */
	long fts_number;             /* free for the caller's use */
	void *fts_pointer;           /* free for the caller's use */
	char *fts_accpath;           /* path to access the file (= fts_path) */
	char *fts_path;              /* path from the root, NUL-terminated */
	int fts_errno;               /* errno for FTS_DNR, FTS_ERR, FTS_NS */
	unsigned short fts_pathlen;  /* strlen(fts_path) */
	unsigned short fts_namelen;  /* strlen(fts_name) */

	ino_t fts_ino;               /* copied from fts_statp when stat'ed */
	dev_t fts_dev;
	nlink_t fts_nlink;

#define FTS_ROOTPARENTLEVEL (-1)
#define FTS_ROOTLEVEL        0
	short fts_level;             /* depth: roots are 0, their parent -1 */

#define FTS_D        1           /* directory, before its contents */
#define FTS_DC       2           /* directory that forms a cycle */
#define FTS_DEFAULT  3           /* anything not covered below */
#define FTS_DNR      4           /* directory that could not be read */
#define FTS_DOT      5           /* "." or ".." (FTS_SEEDOT only) */
#define FTS_DP       6           /* directory, after its contents */
#define FTS_ERR      7           /* error, see fts_errno */
#define FTS_F        8           /* regular file */
#define FTS_INIT     9           /* not yet examined */
#define FTS_NS      10           /* stat failed, see fts_errno */
#define FTS_NSOK    11           /* not stat'ed (FTS_NOSTAT) */
#define FTS_SL      12           /* symbolic link */
#define FTS_SLNONE  13           /* symbolic link to nothing */
#define FTS_W       14           /* whiteout (never reported) */
	unsigned short fts_info;     /* one of the values above */

#define FTS_DONTCHDIR 0x01
#define FTS_SYMFOLLOW 0x02
	unsigned short fts_flags;    /* unused, always 0 */

#define FTS_AGAIN    1           /* report this entry again */
#define FTS_FOLLOW   2           /* follow this symbolic link */
#define FTS_NOINSTR  3           /* no instruction */
#define FTS_SKIP     4           /* do not descend into this directory */
	unsigned short fts_instr;    /* set by fts_set() */

	struct stat *fts_statp;      /* stat data (zeroed when not available) */
	char fts_name[1];            /* last path component (allocated longer) */
} FTSENT;

FTS *fts_open(char *const *paths, int options,
	      int (*compar)(const FTSENT **, const FTSENT **));
FTSENT *fts_read(FTS *ftsp);
FTSENT *fts_children(FTS *ftsp, int options);
int fts_set(FTS *ftsp, FTSENT *f, int instr);
int fts_close(FTS *ftsp);

#ifdef __cplusplus
}
#endif

#endif /* _FTS_H */
