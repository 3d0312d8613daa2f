/*
 * fts-test.c - self-checking test for Hadron's fts(3) implementation.
 *
 * Builds a small tree in a temporary directory, walks it with the option
 * combinations dracut-install uses (and a few more) and compares what was
 * visited with expectations written down here.  Directory order is not
 * specified, so visited entries are compared as sets; the traversal order
 * is checked structurally (preorder FTS_D before the contents, FTS_DP or
 * FTS_DNR after them, levels and parents consistent).
 *
 * The expectations match glibc's fts as well, so the same source can be
 * built against either implementation.  Prints TAP-style "ok N" lines and
 * exits non-zero when anything fails.
 */
#define _DEFAULT_SOURCE 1
#define _XOPEN_SOURCE 700

#include <sys/types.h>
#include <sys/stat.h>
#include <fts.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXREC 64

struct walk {
	char *rec[MAXREC];  /* "INFO LEVEL relpath" per fts_read() result */
	int n;
	int dc_cycle_level; /* fts_cycle->fts_level of the last FTS_DC */
	int ns_errno;       /* fts_errno of the last FTS_NS */
};

static char base[4096];       /* the temporary directory, then "/" */
static size_t baselen;        /* strlen(base) */
static int noread_readable;   /* running privileged: mode 000 is no barrier */
static int testno, failures;

static const char *info_name(int info)
{
	static const char *names[] = { "?", "D", "DC", "DEFAULT", "DNR", "DOT",
		"DP", "ERR", "F", "INIT", "NS", "NSOK", "SL", "SLNONE", "W" };
	return info >= 0 && info <= 14 ? names[info] : "?";
}

static void report(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++testno, what);
	if (!ok)
		failures++;
}

static char *rel(const char *path)
{
	return strdup(path + baselen);
}

static char *path_of(const char *relpath)
{
	char *p = malloc(baselen + strlen(relpath) + 1);
	memcpy(p, base, baselen);
	strcpy(p + baselen, relpath);
	return p;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Structural checks on one entry; returns a problem description or NULL. */
static const char *check_entry(const FTSENT *e, int nochdir)
{
	const char *slash = strrchr(e->fts_path, '/');
	size_t dirlen;

	if (e->fts_pathlen != strlen(e->fts_path))
		return "fts_pathlen != strlen(fts_path)";
	if (e->fts_namelen != strlen(e->fts_name))
		return "fts_namelen != strlen(fts_name)";
	if (nochdir && strcmp(e->fts_accpath, e->fts_path) != 0)
		return "fts_accpath != fts_path with FTS_NOCHDIR";
	if (e->fts_parent == NULL || e->fts_parent->fts_level != e->fts_level - 1)
		return "bad fts_parent level";
	if (e->fts_level == 0)
		return NULL;
	if (slash == NULL || strcmp(slash + 1, e->fts_name) != 0)
		return "fts_name is not the last component of fts_path";
	/*
	 * glibc shares one path buffer: only fts_pathlen bytes are the parent.
	 * A root given with a trailing slash keeps it ("t/" has "t/a.txt").
	 */
	dirlen = (size_t)(slash - e->fts_path);
	if (e->fts_parent->fts_pathlen == dirlen + 1 &&
	    e->fts_parent->fts_level == 0)
		dirlen++;
	if (e->fts_parent->fts_pathlen != dirlen ||
	    memcmp(e->fts_parent->fts_path, e->fts_path, dirlen) != 0)
		return "fts_parent->fts_path is not the directory of fts_path";
#ifdef HADRON_FTS_H
	if (strlen(e->fts_parent->fts_path) != dirlen)
		return "fts_parent->fts_path not NUL-terminated at fts_pathlen";
#endif
	return NULL;
}

/*
 * Walk ROOTS (relative to the temporary directory).  SKIP / FOLLOW name a
 * relative path to apply fts_set(FTS_SKIP) / fts_set(FTS_FOLLOW) to.
 * Returns a problem description or NULL.
 */
static const char *do_walk(const char **roots, int opts,
			   int (*compar)(const FTSENT **, const FTSENT **),
			   const char *skip, const char *follow, struct walk *w)
{
	char *paths[8], *stack[32];
	int n = 0, depth = 0, pending = 0, i;
	const char *err = NULL;
	FTSENT *e;
	FTS *fts;

	memset(w, 0, sizeof(*w));
	w->dc_cycle_level = -99;
	for (; roots[n] != NULL; n++)
		paths[n] = path_of(roots[n]);
	paths[n] = NULL;
	fts = fts_open(paths, opts, compar);
	if (fts == NULL)
		return "fts_open failed";
	errno = 0;
	while (err == NULL && (e = fts_read(fts)) != NULL) {
		char *r = rel(e->fts_path), buf[300];

		snprintf(buf, sizeof(buf), "%s %d %s", info_name(e->fts_info),
			 e->fts_level, r);
		if (w->n < MAXREC)
			w->rec[w->n++] = strdup(buf);
		err = check_entry(e, (opts & (FTS_NOCHDIR | FTS_LOGICAL)) != 0);
		/* after FTS_SKIP glibc reports the directory again as FTS_DP */
		if (pending && (e->fts_info != FTS_DP || depth == 0 ||
				strcmp(stack[depth - 1], r) != 0))
			err = "FTS_SKIP: next entry is not the directory as FTS_DP";
		pending = 0;
		if (e->fts_info == FTS_DP || e->fts_info == FTS_DNR) {
			if (depth == 0 || strcmp(stack[depth - 1], r) != 0)
				err = err ? err : "FTS_DP/FTS_DNR without matching FTS_D";
			else
				free(stack[--depth]);
		} else if (e->fts_level != depth) {
			err = err ? err : "entry level does not match traversal depth";
		} else if (e->fts_info == FTS_D && depth < 31) {
			stack[depth++] = strdup(r);
		}
		if (e->fts_info == FTS_DC && e->fts_cycle != NULL)
			w->dc_cycle_level = e->fts_cycle->fts_level;
		if (e->fts_info == FTS_NS)
			w->ns_errno = e->fts_errno;
		if (skip && e->fts_info == FTS_D && strcmp(r, skip) == 0) {
			fts_set(fts, e, FTS_SKIP);
			pending = 1;
		}
		if (follow && e->fts_info == FTS_SL && strcmp(r, follow) == 0)
			fts_set(fts, e, FTS_FOLLOW);
		free(r);
		errno = 0;
	}
	if (err == NULL && errno != 0)
		err = "fts_read returned NULL with errno set";
	if (err == NULL && depth != 0)
		err = "directories left without FTS_DP";
	for (i = 0; i < depth; i++)
		free(stack[i]);
	fts_close(fts);
	for (i = 0; i < n; i++)
		free(paths[i]);
	return err;
}

/* Compare the visited entries with EXPECT (NULL-terminated) as sets. */
static int same_set(struct walk *w, char **expect)
{
	const char *e[MAXREC];
	int n = 0, i, ok;

	for (; expect[n] != NULL; n++)
		e[n] = expect[n];
	qsort(e, n, sizeof(e[0]), cmpstr);
	qsort(w->rec, w->n, sizeof(w->rec[0]), cmpstr);
	ok = n == w->n;
	for (i = 0; ok && i < n; i++)
		ok = strcmp(e[i], w->rec[i]) == 0;
	if (!ok) {
		for (i = 0; i < n; i++)
			printf("#   expected: %s\n", e[i]);
		for (i = 0; i < w->n; i++)
			printf("#   got:      %s\n", w->rec[i]);
	}
	return ok;
}

static void free_walk(struct walk *w)
{
	while (w->n > 0)
		free(w->rec[--w->n]);
}

/* Run a walk and compare it with the expected set. */
static void check_walk(const char *what, const char **roots, int opts,
		       const char *skip, const char *follow, char **expect,
		       struct walk *w)
{
	const char *err = do_walk(roots, opts, NULL, skip, follow, w);

	if (err)
		printf("# %s: %s\n", what, err);
	report(err == NULL && same_set(w, expect), what);
	free_walk(w);
}

/* Expected entries: a list of owned "INFO LEVEL relpath" strings. */
struct exp { char *s[MAXREC + 1]; int n; };

static void add(struct exp *x, ...)
{
	va_list ap;
	const char *s;

	va_start(ap, x);
	while ((s = va_arg(ap, const char *)) != NULL && x->n < MAXREC)
		x->s[x->n++] = strdup(s);
	va_end(ap);
	x->s[x->n] = NULL;
}

/* Drop the last K expected entries. */
static void drop(struct exp *x, int k)
{
	while (k-- > 0 && x->n > 0)
		free(x->s[--x->n]);
	x->s[x->n] = NULL;
}

/* Replace the whole list with the given entries. */
#define reset(x, ...) (drop((x), (x)->n), add((x), __VA_ARGS__, (char *)NULL))

/* The view of the tree below root "t" (not the root) without following. */
static void add_physical_body(struct exp *x, int nostat)
{
	if (nostat)
		add(x, "NSOK 1 t/a.txt", "NSOK 2 t/sub/b.txt",
		    "NSOK 3 t/sub/deep/c.txt", "NSOK 1 t/lnk_file",
		    "NSOK 1 t/lnk_dir", "NSOK 1 t/dangling", "NSOK 2 t/loopdir/up",
		    (char *)NULL);
	else
		add(x, "F 1 t/a.txt", "F 2 t/sub/b.txt", "F 3 t/sub/deep/c.txt",
		    "SL 1 t/lnk_file", "SL 1 t/lnk_dir", "SL 1 t/dangling",
		    "SL 2 t/loopdir/up", (char *)NULL);
	add(x, "D 1 t/sub", "D 2 t/sub/deep", "DP 2 t/sub/deep", "DP 1 t/sub",
	    "D 1 t/empty", "DP 1 t/empty", "D 1 t/loopdir", "DP 1 t/loopdir",
	    "D 1 t/noread", (char *)NULL);
	if (noread_readable)
		add(x, nostat ? "NSOK 2 t/noread/x.txt" : "F 2 t/noread/x.txt",
		    "DP 1 t/noread", (char *)NULL);
	else
		add(x, "DNR 1 t/noread", (char *)NULL);
}

/* The 6 entries of a (followed) copy of t/sub at DIR, DIR at LEVEL. */
static void add_sub_tree(struct exp *x, const char *dir, int level)
{
	static const char *fmt[] = { "D %d %s", "F %d %s/b.txt", "D %d %s/deep",
		"F %d %s/deep/c.txt", "DP %d %s/deep", "DP %d %s" };
	static const int dl[] = { 0, 1, 1, 2, 1, 0 };
	char buf[300];
	int i;

	for (i = 0; i < 6; i++) {
		snprintf(buf, sizeof(buf), fmt[i], level + dl[i], dir);
		add(x, buf, (char *)NULL);
	}
}

/* NOSTAT may or may not stat non-directories: accept either result. */
static void fold_nostat(struct walk *w)
{
	static const char *stated[] = { "F ", "SL ", "SLNONE ", "DEFAULT " };
	int i, j;

	for (i = 0; i < w->n; i++)
		for (j = 0; j < 4; j++)
			if (!strncmp(w->rec[i], stated[j], strlen(stated[j]))) {
				char *s = malloc(strlen(w->rec[i]) + 8);
				sprintf(s, "NSOK %s", w->rec[i] + strlen(stated[j]));
				free(w->rec[i]);
				w->rec[i] = s;
			}
}

/* Whether readdir() reports the type of t/a.txt (then NOSTAT needs no stat). */
static int dtype_known(void)
{
	char *p = path_of("t");
	DIR *d = opendir(p);
	struct dirent *de;
	int known = 0;

	while (d && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, "a.txt") == 0)
			known = de->d_type != DT_UNKNOWN;
	if (d)
		closedir(d);
	free(p);
	return known;
}

static int by_name_desc(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*b)->fts_name, (*a)->fts_name);
}

static void mk(const char *relpath, int dir)
{
	char *p = path_of(relpath);
	int fd, r;

	if (dir) {
		r = mkdir(p, 0755);
	} else {
		fd = creat(p, 0644);
		r = fd < 0 ? -1 : close(fd);
	}
	if (r != 0) {
		perror(p);
		exit(2);
	}
	free(p);
}

static void ln(const char *target, const char *relpath)
{
	char *p = path_of(relpath);

	if (symlink(target, p) != 0) {
		perror(p);
		exit(2);
	}
	free(p);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

/* Level-0 entries other than FTS_DP, in visiting order, joined by ','. */
static void root_order(const struct walk *w, char *out, size_t size)
{
	int i, level;
	char info[16];

	out[0] = '\0';
	for (i = 0; i < w->n; i++)
		if (sscanf(w->rec[i], "%15s %d", info, &level) == 2 &&
		    level == 0 && strcmp(info, "DP") != 0 &&
		    strlen(out) + strlen(w->rec[i]) + 2 < size) {
			strcat(out, w->rec[i]);
			strcat(out, ",");
		}
}

int main(void)
{
	const char *root_t[] = { "t", NULL }, *root_ts[] = { "t/", NULL };
	const char *roots4[] = { "t/lnk_dir", "t/a.txt", "t/missing",
				 "t/dangling", NULL };
	const char *root_lnk[] = { "t/lnk_dir", NULL };
	const char *root_empty[] = { "t/empty", NULL };
	const char *tmp = getenv("TMPDIR");
	char *paths[] = { NULL, NULL }, *none[] = { NULL }, *empty[] = { "", NULL };
	char order[512];
	struct exp x = { { NULL }, 0 };
	struct walk w;
	const char *err;
	FTSENT *e, *c;
	FTS *fts;
	DIR *d;
	int ok, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(base, sizeof(base) - 8, "%s/fts-test.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	baselen = strlen(base) + 1;
	strcat(base, "/");

	mk("t", 1); mk("t/a.txt", 0); mk("t/sub", 1); mk("t/sub/b.txt", 0);
	mk("t/sub/deep", 1); mk("t/sub/deep/c.txt", 0); mk("t/empty", 1);
	mk("t/loopdir", 1); mk("t/noread", 1); mk("t/noread/x.txt", 0);
	ln("a.txt", "t/lnk_file"); ln("sub", "t/lnk_dir");
	ln("does-not-exist", "t/dangling"); ln("..", "t/loopdir/up");
	paths[0] = path_of("t/noread");
	chmod(paths[0], 0);
	d = opendir(paths[0]);
	noread_readable = d != NULL; /* privileged: mode 000 is no barrier */
	if (d)
		closedir(d);
	free(paths[0]);
#ifdef HADRON_FTS_H
	printf("# testing Hadron's fts (fts.h from recipes/dracut/files/fts)\n");
#else
	printf("# testing the C library's fts\n");
#endif
	printf("# tree in %s; unreadable-directory check %s\n", base,
	       noread_readable ? "skipped (privileged)" : "active");

	/* FTS_PHYSICAL: symlinks reported as FTS_SL, never followed */
	reset(&x, "D 0 t", "DP 0 t");
	add_physical_body(&x, 0);
	check_walk("FTS_PHYSICAL", root_t, FTS_PHYSICAL, NULL, NULL, x.s, &w);

	/* FTS_NOSTAT without FTS_PHYSICAL (dracut) still stats everything */
	check_walk("FTS_NOCHDIR|FTS_NOSTAT", root_t, FTS_NOCHDIR | FTS_NOSTAT,
		   NULL, NULL, x.s, &w);

	/* a trailing slash on the root gives no doubled slash below it */
	reset(&x, "D 0 t/", "DP 0 t/");
	add_physical_body(&x, 0);
	check_walk("root with trailing slash", root_ts,
		   FTS_PHYSICAL | FTS_NOCHDIR, NULL, NULL, x.s, &w);

	/* fts_set(FTS_FOLLOW) on a symlink to a directory */
	reset(&x, "D 0 t", "DP 0 t");
	add_physical_body(&x, 0);
	add_sub_tree(&x, "t/lnk_dir", 1);
	check_walk("fts_set(FTS_FOLLOW)", root_t, FTS_PHYSICAL | FTS_NOCHDIR,
		   NULL, "t/lnk_dir", x.s, &w);

	/* FTS_NOSTAT | FTS_PHYSICAL (dracut find_suppliers) */
	reset(&x, "D 0 t", "DP 0 t");
	add_physical_body(&x, 1);
	err = do_walk(root_t, FTS_NOSTAT | FTS_PHYSICAL, NULL, NULL, NULL, &w);
	for (n = 0, ok = 0; n < w.n; n++)
		ok |= strcmp(w.rec[n], "NSOK 1 t/a.txt") == 0;
	if (!err && !ok && dtype_known())
		err = "t/a.txt was stat'ed although readdir gave its type";
	if (err)
		printf("# FTS_NOSTAT|FTS_PHYSICAL: %s\n", err);
	fold_nostat(&w);
	report(!err && same_set(&w, x.s), "FTS_NOSTAT|FTS_PHYSICAL");
	free_walk(&w);

	/* FTS_LOGICAL: links followed, dangling link, directory cycle */
	reset(&x, "D 0 t", "DP 0 t", "F 1 t/a.txt", "F 1 t/lnk_file",
	      "SLNONE 1 t/dangling", "D 1 t/empty", "DP 1 t/empty",
	      "D 1 t/loopdir", "DC 2 t/loopdir/up", "DP 1 t/loopdir",
	      "D 1 t/noread");
	if (noread_readable)
		add(&x, "F 2 t/noread/x.txt", "DP 1 t/noread", (char *)NULL);
	else
		add(&x, "DNR 1 t/noread", (char *)NULL);
	add_sub_tree(&x, "t/lnk_dir", 1);
	add_sub_tree(&x, "t/sub", 1);
	check_walk("FTS_LOGICAL|FTS_NOCHDIR", root_t, FTS_LOGICAL | FTS_NOCHDIR,
		   NULL, NULL, x.s, &w);
	err = do_walk(root_t, FTS_LOGICAL | FTS_NOCHDIR, NULL, NULL, NULL, &w);
	report(!err && w.dc_cycle_level == 0, "FTS_DC: fts_cycle is the root");
	free_walk(&w);

	/* fts_set(FTS_SKIP) on t/sub: its contents are not visited */
	drop(&x, 6);
	add(&x, "D 1 t/sub", "DP 1 t/sub", (char *)NULL);
	check_walk("fts_set(FTS_SKIP)", root_t, FTS_LOGICAL | FTS_NOCHDIR,
		   "t/sub", NULL, x.s, &w);

	/* several roots, FTS_COMFOLLOW (dracut: "=dir" arguments) */
	reset(&x, "F 0 t/a.txt", "NS 0 t/missing", "SLNONE 0 t/dangling");
	add_sub_tree(&x, "t/lnk_dir", 0);
	err = do_walk(roots4, FTS_COMFOLLOW | FTS_NOCHDIR | FTS_LOGICAL,
		      NULL, NULL, NULL, &w);
	if (err)
		printf("# several roots: %s\n", err);
	root_order(&w, order, sizeof(order));
	if (strcmp(order, "D 0 t/lnk_dir,F 0 t/a.txt,NS 0 t/missing,"
			  "SLNONE 0 t/dangling,") != 0)
		printf("# root order: %s\n", order), err = "bad root order";
	if (w.ns_errno != ENOENT)
		err = "FTS_NS without fts_errno ENOENT";
	report(!err && same_set(&w, x.s),
	       "FTS_COMFOLLOW|FTS_NOCHDIR|FTS_LOGICAL, several roots");
	free_walk(&w);

	reset(&x, "SL 0 t/lnk_dir");
	check_walk("FTS_PHYSICAL: root symlink not followed", root_lnk,
		   FTS_PHYSICAL | FTS_NOCHDIR, NULL, NULL, x.s, &w);
	drop(&x, 1);
	add_sub_tree(&x, "t/lnk_dir", 0);
	check_walk("FTS_COMFOLLOW|FTS_PHYSICAL: root symlink followed", root_lnk,
		   FTS_COMFOLLOW | FTS_PHYSICAL | FTS_NOCHDIR, NULL, NULL, x.s, &w);

	reset(&x, "D 0 t/empty", "DOT 1 t/empty/.", "DOT 1 t/empty/..",
	      "DP 0 t/empty");
	check_walk("FTS_SEEDOT", root_empty,
		   FTS_SEEDOT | FTS_PHYSICAL | FTS_NOCHDIR, NULL, NULL, x.s, &w);
	drop(&x, x.n);

	/* a comparison function (reverse name order) orders each directory */
	paths[0] = path_of("t");
	fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, by_name_desc);
	order[0] = '\0';
	while (fts && (e = fts_read(fts)) != NULL)
		if (e->fts_level == 1 && e->fts_info != FTS_DP &&
		    e->fts_info != FTS_DNR && strlen(order) < 400)
			strcat(strcat(order, e->fts_name), ",");
	if (strcmp(order, "sub,noread,loopdir,lnk_file,lnk_dir,empty,"
			  "dangling,a.txt,") != 0)
		printf("# order: %s\n", order);
	report(fts && !strcmp(order, "sub,noread,loopdir,lnk_file,lnk_dir,empty,"
			      "dangling,a.txt,"), "comparison function");
	fts_close(fts);

	/* fts_children: the roots before the walk, then a directory */
	fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	c = fts ? fts_children(fts, 0) : NULL;
	/* (glibc: before fts_read a root has only fts_accpath right) */
	ok = c && c->fts_level == 0 && !strcmp(c->fts_accpath, paths[0]) &&
	     !c->fts_link;
	e = ok ? fts_read(fts) : NULL;
	ok = e && e->fts_info == FTS_D;
	order[0] = '\0';
	for (n = 0, c = ok ? fts_children(fts, 0) : NULL; c; c = c->fts_link, n++)
		ok = ok && c->fts_parent == e && c->fts_level == 1 &&
		     strstr(",a.txt,sub,empty,loopdir,noread,lnk_file,lnk_dir,"
			    "dangling,", c->fts_name) != NULL;
	report(ok && n == 8, "fts_children");
	for (n = 0; ok && fts_read(fts) != NULL; n++)
		;
	report(ok && n == (noread_readable ? 19 : 18),
	       "fts_read continues after fts_children");
	fts_close(fts);
	free(paths[0]);

	/* fts_set(FTS_AGAIN) returns the same entry once more */
	paths[0] = path_of("t/a.txt");
	fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	e = fts ? fts_read(fts) : NULL;
	ok = e && e->fts_info == FTS_F && fts_set(fts, e, FTS_AGAIN) == 0;
	e = ok ? fts_read(fts) : NULL;
	ok = e && e->fts_info == FTS_F && !strcmp(e->fts_name, "a.txt");
	errno = EIO;
	report(ok && fts_read(fts) == NULL && errno == 0, "fts_set(FTS_AGAIN)");
	fts_close(fts);
	free(paths[0]);

#ifdef HADRON_FTS_H
	/* (glibc crashes on an empty root list) */
	fts = fts_open(none, FTS_PHYSICAL, NULL);
	errno = EIO;
	report(fts && fts_read(fts) == NULL && errno == 0, "no roots: empty walk");
	fts_close(fts);
#else
	(void)none;
#endif
	errno = 0;
	fts = fts_open(empty, FTS_PHYSICAL, NULL);
	report(fts == NULL && errno == ENOENT, "empty root path: ENOENT");

	paths[0] = path_of("t/noread");
	chmod(paths[0], 0755);
	free(paths[0]);
	base[baselen - 1] = '\0';
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	printf("1..%d\n", testno);
	return failures ? 1 : 0;
}
