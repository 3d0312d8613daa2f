/*
 * getcontext, setcontext and swapcontext for aarch64 on musl (AAPCS64).
 * A saved context holds what a function call must preserve (x19-x29, the
 * link register, sp, the low halves of v8-v15 — saved whole — fpsr and
 * fpcr), the argument registers x0-x7 (makecontext passes arguments in
 * them) and the signal mask. Offsets come from offsets.h, checked against
 * musl's ucontext_t by check-offsets.c.
 */
#include "offsets.h"

#define SIG_BLOCK 0
#define SIG_SETMASK 2

	.text

/* Save the caller's context into the ucontext_t at x0; clobbers x2-x4. */
.macro save_context
	/* Resumed, the call returns 0. */
	str	xzr, [x0, #UC_X(0)]
	stp	x1, x2, [x0, #UC_X(1)]
	stp	x3, x4, [x0, #UC_X(3)]
	stp	x5, x6, [x0, #UC_X(5)]
	str	x7, [x0, #UC_X(7)]
	stp	x19, x20, [x0, #UC_X(19)]
	stp	x21, x22, [x0, #UC_X(21)]
	stp	x23, x24, [x0, #UC_X(23)]
	stp	x25, x26, [x0, #UC_X(25)]
	stp	x27, x28, [x0, #UC_X(27)]
	stp	x29, x30, [x0, #UC_X(29)]
	/* Resume at the return address. */
	str	x30, [x0, #UC_PC]
	mov	x2, sp
	str	x2, [x0, #UC_SP]
	str	xzr, [x0, #UC_PSTATE]
	add	x2, x0, #UC_RESERVED
	movz	w3, #(FPSIMD_MAGIC_VALUE & 0xffff)
	movk	w3, #(FPSIMD_MAGIC_VALUE >> 16), lsl #16
	mov	w4, #FPSIMD_SIZE
	stp	w3, w4, [x2]
	mrs	x3, fpsr
	str	w3, [x2, #FPSIMD_FPSR]
	mrs	x3, fpcr
	str	w3, [x2, #FPSIMD_FPCR]
	add	x3, x2, #FPSIMD_VREG(8)
	stp	q8, q9, [x3, #0]
	stp	q10, q11, [x3, #32]
	stp	q12, q13, [x3, #64]
	stp	q14, q15, [x3, #96]
	/* A zero record head ends the list. */
	str	xzr, [x2, #FPSIMD_SIZE]
.endm

	.globl	getcontext
	.type	getcontext, %function
getcontext:
	save_context
	/* sigprocmask(SIG_BLOCK, NULL, &ucp->uc_sigmask): read the mask. */
	stp	x29, x30, [sp, #-16]!
	mov	x29, sp
	add	x2, x0, #UC_SIGMASK
	mov	x1, #0
	mov	w0, #SIG_BLOCK
	bl	sigprocmask
	ldp	x29, x30, [sp], #16
	ret
	.size	getcontext, . - getcontext

	.globl	setcontext
	.type	setcontext, %function
setcontext:
	stp	x29, x30, [sp, #-32]!
	mov	x29, sp
	str	x0, [sp, #16]
	add	x1, x0, #UC_SIGMASK
	mov	x2, #0
	mov	w0, #SIG_SETMASK
	bl	sigprocmask
	mov	w16, w0
	ldr	x0, [sp, #16]
	ldp	x29, x30, [sp], #32
	cbz	w16, .Lrestore
	mov	w0, w16
	ret
	.size	setcontext, . - setcontext

	.globl	swapcontext
	.type	swapcontext, %function
swapcontext:
	save_context
	/* sigprocmask(SIG_SETMASK, &ucp->uc_sigmask, &oucp->uc_sigmask) */
	stp	x29, x30, [sp, #-32]!
	mov	x29, sp
	str	x1, [sp, #16]
	add	x2, x0, #UC_SIGMASK
	add	x1, x1, #UC_SIGMASK
	mov	w0, #SIG_SETMASK
	bl	sigprocmask
	mov	w16, w0
	ldr	x0, [sp, #16]
	ldp	x29, x30, [sp], #32
	cbz	w16, .Lrestore
	mov	w0, w16
	ret
	.size	swapcontext, . - swapcontext

/* Load the context at x0 and continue there; does not return. */
.Lrestore:
	add	x2, x0, #UC_RESERVED
	ldr	w3, [x2]
	movz	w4, #(FPSIMD_MAGIC_VALUE & 0xffff)
	movk	w4, #(FPSIMD_MAGIC_VALUE >> 16), lsl #16
	cmp	w3, w4
	b.ne	1f
	ldr	w3, [x2, #FPSIMD_FPSR]
	msr	fpsr, x3
	ldr	w3, [x2, #FPSIMD_FPCR]
	msr	fpcr, x3
	add	x3, x2, #FPSIMD_VREG(8)
	ldp	q8, q9, [x3, #0]
	ldp	q10, q11, [x3, #32]
	ldp	q12, q13, [x3, #64]
	ldp	q14, q15, [x3, #96]
1:	ldp	x19, x20, [x0, #UC_X(19)]
	ldp	x21, x22, [x0, #UC_X(21)]
	ldp	x23, x24, [x0, #UC_X(23)]
	ldp	x25, x26, [x0, #UC_X(25)]
	ldp	x27, x28, [x0, #UC_X(27)]
	ldp	x29, x30, [x0, #UC_X(29)]
	ldr	x2, [x0, #UC_SP]
	mov	sp, x2
	ldr	x16, [x0, #UC_PC]
	ldp	x2, x3, [x0, #UC_X(2)]
	ldp	x4, x5, [x0, #UC_X(4)]
	ldp	x6, x7, [x0, #UC_X(6)]
	ldp	x0, x1, [x0, #UC_X(0)]
	br	x16

/*
 * Where a makecontext function returns to: x19 (callee-saved, so the
 * function kept it) holds uc_link. Continue there, or exit(0) when it is
 * NULL; exit(1) if setcontext fails.
 */
	.globl	__hadron_uc_trampoline
	.hidden	__hadron_uc_trampoline
	.type	__hadron_uc_trampoline, %function
__hadron_uc_trampoline:
	mov	x0, x19
	cbz	x0, 1f
	bl	setcontext
	mov	w0, #1
	bl	exit
1:	mov	w0, #0
	bl	exit
	.size	__hadron_uc_trampoline, . - __hadron_uc_trampoline

	.section .note.GNU-stack, "", %progbits
