/*
 * getcontext, setcontext and swapcontext for x86_64 on musl (System V
 * ABI). A saved context holds what a function call must preserve (rbx,
 * rbp, r12-r15, the stack pointer, the return address, the x87 control
 * word and MXCSR), the argument registers (makecontext passes arguments
 * in them) and the signal mask. Offsets come from offsets.h, checked
 * against musl's ucontext_t by check-offsets.c.
 */
#include "offsets.h"

#define SIG_BLOCK 0
#define SIG_SETMASK 2

	.text

/* Save the caller's context into the ucontext_t at %rdi; clobbers %rcx. */
.macro save_context
	movq	%rbx, UC_RBX(%rdi)
	movq	%rbp, UC_RBP(%rdi)
	movq	%r12, UC_R12(%rdi)
	movq	%r13, UC_R13(%rdi)
	movq	%r14, UC_R14(%rdi)
	movq	%r15, UC_R15(%rdi)
	movq	%rdi, UC_RDI(%rdi)
	movq	%rsi, UC_RSI(%rdi)
	movq	%rdx, UC_RDX(%rdi)
	movq	%rcx, UC_RCX(%rdi)
	movq	%r8, UC_R8(%rdi)
	movq	%r9, UC_R9(%rdi)
	/* Resumed, the call returns 0. */
	movq	$0, UC_RAX(%rdi)
	/* Resume at the return address, with the stack as after the return. */
	movq	(%rsp), %rcx
	movq	%rcx, UC_RIP(%rdi)
	leaq	8(%rsp), %rcx
	movq	%rcx, UC_RSP(%rdi)
	leaq	UC_FPREGS_MEM(%rdi), %rcx
	movq	%rcx, UC_FPREGS(%rdi)
	fnstcw	FP_CWD(%rcx)
	stmxcsr	FP_MXCSR(%rcx)
.endm

	.globl	getcontext
	.type	getcontext, @function
getcontext:
	save_context
	/* sigprocmask(SIG_BLOCK, NULL, &ucp->uc_sigmask): read the mask. */
	leaq	UC_SIGMASK(%rdi), %rdx
	xorl	%esi, %esi
	movl	$SIG_BLOCK, %edi
	subq	$8, %rsp
	call	sigprocmask@PLT
	addq	$8, %rsp
	ret
	.size	getcontext, . - getcontext

	.globl	setcontext
	.type	setcontext, @function
setcontext:
	pushq	%rdi
	leaq	UC_SIGMASK(%rdi), %rsi
	xorl	%edx, %edx
	movl	$SIG_SETMASK, %edi
	call	sigprocmask@PLT
	popq	%rdx
	testl	%eax, %eax
	jnz	1f
	jmp	.Lrestore
1:	ret
	.size	setcontext, . - setcontext

	.globl	swapcontext
	.type	swapcontext, @function
swapcontext:
	save_context
	/* sigprocmask(SIG_SETMASK, &ucp->uc_sigmask, &oucp->uc_sigmask) */
	pushq	%rsi
	leaq	UC_SIGMASK(%rdi), %rdx
	leaq	UC_SIGMASK(%rsi), %rsi
	movl	$SIG_SETMASK, %edi
	call	sigprocmask@PLT
	popq	%rdx
	testl	%eax, %eax
	jnz	1f
	jmp	.Lrestore
1:	ret
	.size	swapcontext, . - swapcontext

/* Load the context at %rdx and continue there; does not return. */
.Lrestore:
	movq	UC_FPREGS(%rdx), %rcx
	testq	%rcx, %rcx
	jz	1f
	fldcw	FP_CWD(%rcx)
	ldmxcsr	FP_MXCSR(%rcx)
1:	movq	UC_RSP(%rdx), %rsp
	movq	UC_RBX(%rdx), %rbx
	movq	UC_RBP(%rdx), %rbp
	movq	UC_R12(%rdx), %r12
	movq	UC_R13(%rdx), %r13
	movq	UC_R14(%rdx), %r14
	movq	UC_R15(%rdx), %r15
	/* The return address goes onto the target stack; ret jumps there. */
	pushq	UC_RIP(%rdx)
	movq	UC_RDI(%rdx), %rdi
	movq	UC_RSI(%rdx), %rsi
	movq	UC_RCX(%rdx), %rcx
	movq	UC_R8(%rdx), %r8
	movq	UC_R9(%rdx), %r9
	movq	UC_RAX(%rdx), %rax
	movq	UC_RDX(%rdx), %rdx
	ret

/*
 * Where a makecontext function returns to: %rbx (callee-saved, so the
 * function kept it) holds uc_link. Continue there, or exit(0) when it is
 * NULL; exit(1) if setcontext fails.
 */
	.globl	__hadron_uc_trampoline
	.hidden	__hadron_uc_trampoline
	.type	__hadron_uc_trampoline, @function
__hadron_uc_trampoline:
	movq	%rbx, %rdi
	testq	%rdi, %rdi
	jz	1f
	call	setcontext@PLT
	movl	$1, %edi
	call	exit@PLT
1:	xorl	%edi, %edi
	call	exit@PLT
	hlt
	.size	__hadron_uc_trampoline, . - __hadron_uc_trampoline

	.section .note.GNU-stack, "", @progbits
