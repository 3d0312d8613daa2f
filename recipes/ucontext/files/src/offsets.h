/*
 * Byte offsets into musl's ucontext_t, shared by the assembly and by
 * check-offsets.c, which fails the build when one of them disagrees with
 * the C layout (offsetof on musl's own <ucontext.h>).
 */
#ifndef HADRON_UCONTEXT_OFFSETS_H
#define HADRON_UCONTEXT_OFFSETS_H

#define UC_LINK 8

#if defined(__x86_64__)
/* uc_mcontext.gregs[i] at 40 + 8*i, in musl's REG_* order. */
#define UC_GREG(i) (40 + 8 * (i))
#define UC_R8 UC_GREG(0)
#define UC_R9 UC_GREG(1)
#define UC_R12 UC_GREG(4)
#define UC_R13 UC_GREG(5)
#define UC_R14 UC_GREG(6)
#define UC_R15 UC_GREG(7)
#define UC_RDI UC_GREG(8)
#define UC_RSI UC_GREG(9)
#define UC_RBP UC_GREG(10)
#define UC_RBX UC_GREG(11)
#define UC_RDX UC_GREG(12)
#define UC_RAX UC_GREG(13)
#define UC_RCX UC_GREG(14)
#define UC_RSP UC_GREG(15)
#define UC_RIP UC_GREG(16)
/* uc_mcontext.fpregs: a pointer, set to __fpregs_mem (fxsave layout). */
#define UC_FPREGS 224
#define UC_SIGMASK 296
#define UC_FPREGS_MEM 424
/* In the fxsave layout: x87 control word at 0, MXCSR at 24. */
#define FP_CWD 0
#define FP_MXCSR 24

#elif defined(__aarch64__)
#define UC_SIGMASK 40
/* uc_mcontext (16-byte aligned): fault_address, regs[31], sp, pc, pstate, __reserved. */
#define UC_X(i) (184 + 8 * (i))
#define UC_SP 432
#define UC_PC 440
#define UC_PSTATE 448
#define UC_RESERVED 464
/*
 * The floating-point state goes into __reserved as a struct fpsimd_context
 * record, as the kernel lays out a signal frame: head {magic, size}, fpsr,
 * fpcr, vregs[32]; a zero head ends the record list.
 */
#define FPSIMD_MAGIC_VALUE 0x46508001
#define FPSIMD_SIZE 528
#define FPSIMD_FPSR 8
#define FPSIMD_FPCR 12
#define FPSIMD_VREG(i) (16 + 16 * (i))

#else
#error "ucontext: only x86_64 and aarch64 are implemented"
#endif

#endif
