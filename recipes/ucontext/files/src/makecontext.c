/*
 * makecontext for x86_64 and aarch64 on musl: prepares ucp (filled by
 * getcontext, with uc_stack set by the caller) so that setcontext or
 * swapcontext runs func(args...) on that stack, and func's return
 * continues at uc_link (or exits the process when uc_link is NULL, see
 * __hadron_uc_trampoline).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdint.h>
#include <ucontext.h>

void __hadron_uc_trampoline(void);

#if defined(__x86_64__)
/* The first six integer arguments go in registers, in this order. */
static const int arg_regs[] = {REG_RDI, REG_RSI, REG_RDX, REG_RCX, REG_R8, REG_R9};
#define REG_ARGS 6
#elif defined(__aarch64__)
#define REG_ARGS 8
#endif

void makecontext(ucontext_t *ucp, void (*func)(void), int argc, ...)
{
	uintptr_t top = ((uintptr_t)ucp->uc_stack.ss_sp + ucp->uc_stack.ss_size) & ~(uintptr_t)15;
	int on_stack = argc > REG_ARGS ? argc - REG_ARGS : 0;
	/* Stack arguments start 16-byte aligned, as at any call. */
	unsigned long *args = (unsigned long *)((top - sizeof(unsigned long) * on_stack) & ~(uintptr_t)15);
	va_list ap;

	va_start(ap, argc);
	for (int i = 0; i < argc; i++) {
		unsigned long v = va_arg(ap, unsigned long);
		if (i >= REG_ARGS)
			args[i - REG_ARGS] = v;
#if defined(__x86_64__)
		else
			ucp->uc_mcontext.gregs[arg_regs[i]] = v;
#elif defined(__aarch64__)
		else
			ucp->uc_mcontext.regs[i] = v;
#endif
	}
	va_end(ap);

#if defined(__x86_64__)
	/* func is entered as if called: the return address on top of the stack. */
	unsigned long *sp = args - 1;
	*sp = (unsigned long)__hadron_uc_trampoline;
	ucp->uc_mcontext.gregs[REG_RSP] = (unsigned long)sp;
	ucp->uc_mcontext.gregs[REG_RIP] = (unsigned long)func;
	ucp->uc_mcontext.gregs[REG_RBX] = (unsigned long)ucp->uc_link;
	ucp->uc_mcontext.gregs[REG_RBP] = 0;
#elif defined(__aarch64__)
	ucp->uc_mcontext.sp = (unsigned long)args;
	ucp->uc_mcontext.pc = (unsigned long)func;
	ucp->uc_mcontext.regs[30] = (unsigned long)__hadron_uc_trampoline;
	ucp->uc_mcontext.regs[19] = (unsigned long)ucp->uc_link;
	ucp->uc_mcontext.regs[29] = 0;
#endif
}
