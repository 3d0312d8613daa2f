/*
 * fts.c - file hierarchy traversal, Hadron's own implementation, written
 * so that dracut-install can be built against musl, which has no <fts.h>.
 * See fts.h for the supported subset.
 *
 * Each entry is one heap block (FTSENT, struct stat, name, path).  The
 * entries of a directory are linked through fts_link; a directory is read
 * on the fts_read() after the one that returned it as FTS_D, so FTS_SKIP
 * avoids reading it.  Entries are freed once the walk moves past them, so
 * only the current entry, its ancestors and their unvisited siblings are
 * alive.  The working directory is never changed; no global state.
 */
#define _DEFAULT_SOURCE 1 /* d_type and DT_* (musl and glibc) */

#include "fts.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef int (*fts_compar_fn)(const FTSENT **, const FTSENT **);

struct hadron_fts {
	FTSENT *cur;        /* entry returned by the last fts_read() */
	FTSENT *roots;      /* the roots, until the first fts_read() */
	FTSENT *child;      /* children of cur read by fts_children() */
	FTSENT *rootparent; /* dummy parent of the roots, level -1 */
	fts_compar_fn compar;
	int options;
	int started;        /* fts_read() has been called */
	int stopped;        /* a fatal error (e.g. ENOMEM) ended the walk */
	dev_t rootdev;      /* device of the current root, for FTS_XDEV */
};

/* One allocation per entry; ent must be last since fts_name grows. */
struct node {
	struct stat st;
	FTSENT ent;
};

static int is_dot_or_dotdot(const char *n)
{
	return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

/*
 * Create an entry whose path is DIR "/" TAIL (just TAIL when DIR is NULL;
 * no extra slash when DIR already ends in one) and whose fts_name is BASE.
 */
static FTSENT *alloc_entry(const char *dir, size_t dirlen,
			   const char *tail, size_t taillen,
			   const char *base, size_t baselen)
{
	size_t slash = dir && dirlen > 0 && dir[dirlen - 1] != '/';
	size_t pathlen = (dir ? dirlen + slash : 0) + taillen;
	size_t size;
	struct node *n;
	FTSENT *e;
	char *name, *path;

	if (pathlen > USHRT_MAX || baselen > USHRT_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	size = offsetof(struct node, ent) + offsetof(FTSENT, fts_name) +
	       baselen + 1 + pathlen + 1;
	if (size < sizeof(struct node))
		size = sizeof(struct node);
	n = calloc(1, size);
	if (n == NULL)
		return NULL;

	e = &n->ent;
	/* The name and the path are stored back to back after the struct. */
	name = (char *)e + offsetof(FTSENT, fts_name);
	path = name + baselen + 1;
	memcpy(name, base, baselen);
	if (dir != NULL) {
		memcpy(path, dir, dirlen);
		if (slash)
			path[dirlen] = '/';
	}
	memcpy(path + pathlen - taillen, tail, taillen);

	e->fts_path = e->fts_accpath = path;
	e->fts_pathlen = (unsigned short)pathlen;
	e->fts_namelen = (unsigned short)baselen;
	e->fts_statp = &n->st;
	e->fts_info = FTS_INIT;
	e->fts_instr = FTS_NOINSTR;
	return e;
}

static void free_entry(FTSENT *e)
{
	if (e != NULL)
		free((char *)e - offsetof(struct node, ent));
}

/* Free E and every entry after it on its fts_link list. */
static void free_list(FTSENT *e)
{
	while (e != NULL) {
		FTSENT *next = e->fts_link;
		free_entry(e);
		e = next;
	}
}

/*
 * stat() (FOLLOW) or lstat() the entry and return its fts_info value.
 * A directory that is its own ancestor (same device and inode) is FTS_DC.
 */
static unsigned short stat_entry(FTSENT *e, int follow)
{
	struct stat *st = e->fts_statp;
	unsigned short info = 0;
	FTSENT *a;

	e->fts_errno = 0;
	e->fts_cycle = NULL;
	if (follow ? stat(e->fts_accpath, st) : lstat(e->fts_accpath, st)) {
		e->fts_errno = errno;
		if (!follow || lstat(e->fts_accpath, st) != 0) {
			memset(st, 0, sizeof(*st));
			return FTS_NS;
		}
		e->fts_errno = 0;
		info = FTS_SLNONE; /* a link whose target cannot be reached */
	}

	e->fts_dev = st->st_dev;
	e->fts_ino = st->st_ino;
	e->fts_nlink = st->st_nlink;
	if (info != 0)
		return info;
	if (S_ISDIR(st->st_mode)) {
		if (e->fts_level > FTS_ROOTLEVEL && is_dot_or_dotdot(e->fts_name))
			return FTS_DOT;
		for (a = e->fts_parent; a != NULL && a->fts_level >= FTS_ROOTLEVEL;
		     a = a->fts_parent) {
			if (a->fts_dev == e->fts_dev && a->fts_ino == e->fts_ino) {
				e->fts_cycle = a;
				return FTS_DC;
			}
		}
		return FTS_D;
	}
	if (S_ISLNK(st->st_mode))
		return FTS_SL;
	if (S_ISREG(st->st_mode))
		return FTS_F;
	return FTS_DEFAULT;
}

/* Whether symbolic links are followed for entry E. */
static int follows(const FTS *sp, const FTSENT *e)
{
	return (sp->options & FTS_LOGICAL) ||
	       ((sp->options & FTS_COMFOLLOW) && e->fts_level == FTS_ROOTLEVEL);
}

/* Stable merge sort of an fts_link list with the caller's comparison. */
static FTSENT *sort_list(FTSENT *head, fts_compar_fn cmp)
{
	FTSENT *a, *b, *slow, *fast, *out = NULL, **tail = &out;

	if (head == NULL || head->fts_link == NULL)
		return head;
	slow = head;
	fast = head->fts_link;
	while (fast != NULL && fast->fts_link != NULL) {
		slow = slow->fts_link;
		fast = fast->fts_link->fts_link;
	}
	b = slow->fts_link;
	slow->fts_link = NULL;
	a = sort_list(head, cmp);
	b = sort_list(b, cmp);

	while (a != NULL && b != NULL) {
		const FTSENT *x = a, *y = b;

		if (cmp(&x, &y) <= 0) {
			*tail = a;
			a = a->fts_link;
		} else {
			*tail = b;
			b = b->fts_link;
		}
		tail = &(*tail)->fts_link;
	}
	*tail = a != NULL ? a : b;
	return out;
}

/*
 * Read directory DIR into a list of new entries (*OUT, NULL when empty).
 * Returns 0 on success, -1 when the directory cannot be opened and -2 on a
 * fatal error; errno is set in both failure cases.
 */
static int read_dir(FTS *sp, FTSENT *dir, FTSENT **out)
{
	/* Like glibc, FTS_NOSTAT only has an effect on physical walks. */
	int nostat = (sp->options & FTS_NOSTAT) && (sp->options & FTS_PHYSICAL);
	int follow = (sp->options & FTS_LOGICAL) != 0;
	FTSENT *head = NULL, **tail = &head, *e;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	d = opendir(dir->fts_accpath);
	if (d == NULL)
		return -1;
	for (;;) {
		size_t len;

		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (is_dot_or_dotdot(de->d_name) && !(sp->options & FTS_SEEDOT))
			continue;
		len = strlen(de->d_name);
		e = alloc_entry(dir->fts_path, dir->fts_pathlen,
				de->d_name, len, de->d_name, len);
		if (e == NULL) {
			int err = errno;

			closedir(d);
			free_list(head);
			errno = err;
			return -2;
		}
		e->fts_parent = dir;
		e->fts_level = (short)(dir->fts_level + 1);
#ifdef DT_DIR
		/* Directories are always stat'ed: the walk must know them. */
		if (nostat && de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			e->fts_info = FTS_NSOK;
		else
#endif
			e->fts_info = stat_entry(e, follow);
		*tail = e;
		tail = &e->fts_link;
	}
	if (errno != 0)
		dir->fts_errno = errno; /* readdir failed: keep what was read */
	closedir(d);
	if (sp->compar != NULL)
		head = sort_list(head, sp->compar);
	*out = head;
	return 0;
}

/*
 * Make E, the first not yet visited entry of directory PARENT, the current
 * entry.  Entries marked FTS_SKIP (via fts_children()) are dropped.  When
 * the list is exhausted the walk returns to PARENT, now as FTS_DP, or ends.
 */
static FTSENT *enter(FTS *sp, FTSENT *e, FTSENT *parent)
{
	while (e != NULL && e->fts_instr == FTS_SKIP) {
		FTSENT *next = e->fts_link;

		free_entry(e);
		e = next;
	}
	if (e == NULL) {
		if (parent == sp->rootparent) {
			sp->cur = NULL;
			errno = 0; /* the walk is complete */
			return NULL;
		}
		parent->fts_info = FTS_DP;
		return sp->cur = parent;
	}
	if (e->fts_instr == FTS_FOLLOW) {
		e->fts_instr = FTS_NOINSTR;
		if (e->fts_info == FTS_SL || e->fts_info == FTS_SLNONE)
			e->fts_info = stat_entry(e, 1);
	}
	if (e->fts_level == FTS_ROOTLEVEL)
		sp->rootdev = e->fts_dev;
	return sp->cur = e;
}

FTS *fts_open(char *const *paths, int options, fts_compar_fn compar)
{
	FTSENT **tail, *e;
	FTS *sp;
	int err;

	if (paths == NULL || (options & ~FTS_OPTIONMASK)) {
		errno = EINVAL;
		return NULL;
	}
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
		return NULL;
	sp->options = options | FTS_NOCHDIR;
	sp->compar = compar;
	sp->rootparent = alloc_entry(NULL, 0, "", 0, "", 0);
	if (sp->rootparent == NULL)
		goto fail;
	sp->rootparent->fts_level = FTS_ROOTPARENTLEVEL;

	tail = &sp->roots;
	for (; *paths != NULL; paths++) {
		const char *p = *paths;
		size_t len = strlen(p), end = len, start;

		if (len == 0) {
			errno = ENOENT;
			goto fail;
		}
		/* fts_name: the last component, trailing slashes ignored */
		while (end > 1 && p[end - 1] == '/')
			end--;
		start = end;
		while (start > 0 && p[start - 1] != '/')
			start--;
		if (start == end) /* only slashes: the name is "/" */
			start = 0;
		e = alloc_entry(NULL, 0, p, len, p + start, end - start);
		if (e == NULL)
			goto fail;
		e->fts_parent = sp->rootparent;
		e->fts_level = FTS_ROOTLEVEL;
		e->fts_info = stat_entry(e, follows(sp, e));
		*tail = e;
		tail = &e->fts_link;
	}
	if (compar != NULL)
		sp->roots = sort_list(sp->roots, compar);
	return sp;

fail:
	err = errno;
	fts_close(sp);
	errno = err;
	return NULL;
}

FTSENT *fts_read(FTS *sp)
{
	FTSENT *p, *kids, *next, *parent;
	int instr, r;

	if (sp == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if (sp->stopped)
		return NULL;
	if (!sp->started) {
		sp->started = 1;
		kids = sp->roots;
		sp->roots = NULL;
		return enter(sp, kids, sp->rootparent);
	}
	p = sp->cur;
	if (p == NULL) {
		errno = 0;
		return NULL;
	}

	kids = sp->child;
	sp->child = NULL;
	instr = p->fts_instr;
	p->fts_instr = FTS_NOINSTR;

	if (instr == FTS_AGAIN) {
		free_list(kids);
		p->fts_info = stat_entry(p, follows(sp, p));
		return p;
	}
	if (instr == FTS_FOLLOW &&
	    (p->fts_info == FTS_SL || p->fts_info == FTS_SLNONE)) {
		free_list(kids);
		p->fts_info = stat_entry(p, 1);
		return p;
	}

	if (p->fts_info == FTS_D) {
		if (instr == FTS_SKIP ||
		    ((sp->options & FTS_XDEV) && p->fts_dev != sp->rootdev)) {
			free_list(kids); /* reported again, as FTS_DP */
			p->fts_info = FTS_DP;
			return p;
		}
		if (kids == NULL) {
			r = read_dir(sp, p, &kids);
			if (r == -2) {
				sp->stopped = 1;
				return NULL;
			}
			if (r == -1) { /* reported again, as FTS_DNR */
				p->fts_errno = errno;
				p->fts_info = FTS_DNR;
				return p;
			}
		}
		return enter(sp, kids, p); /* an empty directory gives FTS_DP */
	}

	/* Done with p: go on with its next sibling or back up. */
	next = p->fts_link;
	parent = p->fts_parent;
	free_entry(p);
	return enter(sp, next, parent);
}

FTSENT *fts_children(FTS *sp, int options)
{
	FTSENT *p;
	int r;

	if (sp == NULL || (options != 0 && options != FTS_NAMEONLY)) {
		errno = EINVAL;
		return NULL;
	}
	if (sp->stopped)
		return NULL;
	errno = 0;
	if (!sp->started)
		return sp->roots;
	p = sp->cur;
	if (p == NULL || p->fts_info != FTS_D)
		return NULL;
	/* The list is kept and reused by the next fts_read(). */
	if (sp->child == NULL && (r = read_dir(sp, p, &sp->child)) != 0) {
		sp->stopped = r == -2;
		return NULL; /* errno is set */
	}
	errno = 0;
	return sp->child;
}

int fts_set(FTS *sp, FTSENT *e, int instr)
{
	(void)sp;
	if (e == NULL ||
	    (instr != 0 && instr != FTS_AGAIN && instr != FTS_FOLLOW &&
	     instr != FTS_NOINSTR && instr != FTS_SKIP)) {
		errno = EINVAL;
		return -1;
	}
	e->fts_instr = (unsigned short)instr;
	return 0;
}

int fts_close(FTS *sp)
{
	FTSENT *p, *parent;

	if (sp == NULL)
		return 0;
	free_list(sp->child);
	free_list(sp->roots);
	/* The current entry and each ancestor head their remaining lists. */
	for (p = sp->cur; p != NULL && p != sp->rootparent; p = parent) {
		parent = p->fts_parent;
		free_list(p);
	}
	free_entry(sp->rootparent);
	free(sp);
	return 0;
}
