/*
 * Compile-time proof that offsets.h matches musl's ucontext_t: a wrong
 * offset fails the build instead of corrupting a context at run time.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <ucontext.h>

#include "offsets.h"

#define SAME(expr, off) _Static_assert(offsetof(ucontext_t, expr) == (off), #expr " is not at " #off)

SAME(uc_link, UC_LINK);
SAME(uc_sigmask, UC_SIGMASK);

#if defined(__x86_64__)
SAME(uc_mcontext.gregs[REG_R8], UC_R8);
SAME(uc_mcontext.gregs[REG_R9], UC_R9);
SAME(uc_mcontext.gregs[REG_R12], UC_R12);
SAME(uc_mcontext.gregs[REG_R13], UC_R13);
SAME(uc_mcontext.gregs[REG_R14], UC_R14);
SAME(uc_mcontext.gregs[REG_R15], UC_R15);
SAME(uc_mcontext.gregs[REG_RDI], UC_RDI);
SAME(uc_mcontext.gregs[REG_RSI], UC_RSI);
SAME(uc_mcontext.gregs[REG_RBP], UC_RBP);
SAME(uc_mcontext.gregs[REG_RBX], UC_RBX);
SAME(uc_mcontext.gregs[REG_RDX], UC_RDX);
SAME(uc_mcontext.gregs[REG_RAX], UC_RAX);
SAME(uc_mcontext.gregs[REG_RCX], UC_RCX);
SAME(uc_mcontext.gregs[REG_RSP], UC_RSP);
SAME(uc_mcontext.gregs[REG_RIP], UC_RIP);
SAME(uc_mcontext.fpregs, UC_FPREGS);
SAME(__fpregs_mem, UC_FPREGS_MEM);
_Static_assert(offsetof(struct _fpstate, cwd) == FP_CWD, "cwd");
_Static_assert(offsetof(struct _fpstate, mxcsr) == FP_MXCSR, "mxcsr");
_Static_assert(sizeof(((ucontext_t *)0)->__fpregs_mem) >= sizeof(struct _fpstate), "fpregs_mem holds an fxsave area");
#elif defined(__aarch64__)
SAME(uc_mcontext.regs[0], UC_X(0));
SAME(uc_mcontext.regs[19], UC_X(19));
SAME(uc_mcontext.regs[30], UC_X(30));
SAME(uc_mcontext.sp, UC_SP);
SAME(uc_mcontext.pc, UC_PC);
SAME(uc_mcontext.pstate, UC_PSTATE);
SAME(uc_mcontext.__reserved, UC_RESERVED);
_Static_assert(FPSIMD_MAGIC == FPSIMD_MAGIC_VALUE, "FPSIMD_MAGIC");
_Static_assert(sizeof(struct fpsimd_context) == FPSIMD_SIZE, "fpsimd_context size");
_Static_assert(offsetof(struct fpsimd_context, fpsr) == FPSIMD_FPSR, "fpsr");
_Static_assert(offsetof(struct fpsimd_context, fpcr) == FPSIMD_FPCR, "fpcr");
_Static_assert(offsetof(struct fpsimd_context, vregs) == FPSIMD_VREG(0), "vregs");
_Static_assert(sizeof(((ucontext_t *)0)->uc_mcontext.__reserved) >= FPSIMD_SIZE + 8, "room for the record and its end");
#endif
