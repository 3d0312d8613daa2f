/*
 * Tests for Hadron's ucontext: getcontext/setcontext round trips,
 * makecontext with register and stack arguments, swapcontext ping-pong
 * between two stacks, uc_link chaining, callee-saved floating point
 * state and the signal mask. Prints one line per passed check and exits
 * non-zero on the first failure.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#define STACK (64 * 1024)

static int failures;

#define CHECK(cond, what)                                                    \
	do {                                                                 \
		if (cond) {                                                  \
			printf("ok %s\n", what);                             \
		} else {                                                     \
			printf("FAIL %s (%s:%d)\n", what, __FILE__, __LINE__); \
			failures++;                                          \
		}                                                            \
	} while (0)

static ucontext_t main_uc, a_uc, b_uc;

/* 1: getcontext returns twice when setcontext resumes it. */
static void round_trip(void)
{
	volatile int passes = 0;
	ucontext_t uc;
	int r = getcontext(&uc);

	passes++;
	if (passes == 1) {
		CHECK(r == 0, "getcontext returns 0");
		setcontext(&uc);
		CHECK(0, "setcontext does not return");
	}
	CHECK(passes == 2 && r == 0, "setcontext resumes getcontext, which returns 0 again");
}

/* 2: nine arguments: all registers plus stack slots on both arches. */
static long sum9;
static void add9(long a, long b, long c, long d, long e, long f, long g, long h, long i)
{
	sum9 = a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h + 9 * i;
}

/* 3: ping-pong between two contexts. */
static int trace[8], ntrace;
static void ping(void)
{
	for (int i = 0; i < 3; i++) {
		trace[ntrace++] = 1;
		swapcontext(&a_uc, &b_uc);
	}
}
static void pong(void)
{
	for (int i = 0; i < 3; i++) {
		trace[ntrace++] = 2;
		swapcontext(&b_uc, &a_uc);
	}
}

/* 4: callee-saved FP registers survive a switch and a function that uses them. */
static double fp_result;
static void fp_work(void)
{
	volatile double x = 1.5;
	for (int i = 0; i < 10; i++)
		x = x * 1.25 + 0.5;
	fp_result = x;
}

static double fp_expected;
static void fp_work_reference(void)
{
	double saved = fp_result;
	fp_work();
	fp_expected = fp_result;
	fp_result = saved;
}

/* 5: the signal mask is part of the context. */
static int usr1_blocked_inside;
static void check_mask(void)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	usr1_blocked_inside = sigismember(&cur, SIGUSR1);
}

/* 6: a function returning with uc_link NULL ends the process with status 0. */
static int exit_pipe;
static void last_words(void)
{
	if (write(exit_pipe, "bye", 3) != 3)
		_exit(3);
}

static void prepare(ucontext_t *uc, ucontext_t *link);

static void null_link_exits(void)
{
	int fds[2], status;
	char buf[4] = {0};

	if (pipe(fds) != 0) {
		perror("pipe");
		exit(2);
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		exit_pipe = fds[1];
		prepare(&a_uc, NULL);
		makecontext(&a_uc, last_words, 0);
		setcontext(&a_uc);
		_exit(4);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], buf, 3);
	waitpid(pid, &status, 0);
	CHECK(n == 3 && strcmp(buf, "bye") == 0, "context without uc_link runs");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "its return exits the process with status 0");
}

static char *stack(void)
{
	char *s = malloc(STACK);
	if (!s) {
		perror("malloc");
		exit(2);
	}
	/* Poison, so that reading an uninitialised stack slot shows. */
	memset(s, 0xa5, STACK);
	return s;
}

static void prepare(ucontext_t *uc, ucontext_t *link)
{
	if (getcontext(uc) != 0) {
		perror("getcontext");
		exit(2);
	}
	uc->uc_stack.ss_sp = stack();
	uc->uc_stack.ss_size = STACK;
	uc->uc_link = link;
}

int main(void)
{
	/* Unbuffered: the fork in null_link_exits must not repeat output. */
	setvbuf(stdout, NULL, _IONBF, 0);
	round_trip();

	prepare(&a_uc, &main_uc);
	makecontext(&a_uc, (void (*)(void))add9, 9, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
	CHECK(swapcontext(&main_uc, &a_uc) == 0, "swapcontext into makecontext");
	CHECK(sum9 == 285, "nine arguments arrive (registers and stack)");

	prepare(&a_uc, &main_uc);
	prepare(&b_uc, &main_uc);
	makecontext(&a_uc, ping, 0);
	makecontext(&b_uc, pong, 0);
	swapcontext(&main_uc, &a_uc);
	CHECK(ntrace == 6 && trace[0] == 1 && trace[1] == 2 && trace[4] == 1 && trace[5] == 2,
	      "swapcontext ping-pong, uc_link back to main");

	register double keep = 3.25;
	prepare(&a_uc, &main_uc);
	makecontext(&a_uc, fp_work, 0);
	swapcontext(&main_uc, &a_uc);
#if defined(__aarch64__)
	/* Keep it in a vector register: d8-d15 are callee-saved on aarch64. */
	__asm__ volatile("" : "+w"(keep));
#else
	__asm__ volatile("" : "+x"(keep));
#endif
	fp_work_reference();
	CHECK(fp_result == fp_expected, "floating point in a context");
	CHECK(keep == 3.25, "caller's floating point value survives");

	sigset_t block, before, after;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, NULL, &before);
	prepare(&a_uc, &main_uc);
	sigaddset(&a_uc.uc_sigmask, SIGUSR1);
	makecontext(&a_uc, check_mask, 0);
	swapcontext(&main_uc, &a_uc);
	sigprocmask(SIG_BLOCK, NULL, &after);
	CHECK(usr1_blocked_inside == 1, "context's signal mask applied");
	CHECK(sigismember(&after, SIGUSR1) == sigismember(&before, SIGUSR1), "caller's signal mask restored");

	null_link_exits();

	if (failures) {
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("all ucontext checks passed\n");
	return 0;
}
