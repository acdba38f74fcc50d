/*
 * The host's SSE/SSE2 unit as a reference for test/cpu/sseOracle.test.ts
 * (built and run by the test with the host gcc; x86-64 hosts only: the
 * instructions under test behave the same in 64-bit mode).
 *
 * Input lines:  OP MXCSR A0 A1 A2 A3 B0 B1 B2 B3   (hex; A -> XMM0, B -> XMM1, EAX = B0)
 * Output lines: R0 R1 R2 R3 EAX MXCSR EFLAGS       (hex; R = XMM0 afterwards)
 *
 * Each case loads MXCSR, the two registers and EAX, runs one instruction in
 * the Intel syntax the emulated ROM uses, and stores MXCSR, XMM0, EAX and
 * the arithmetic flags. When an unmasked SIMD exception raises #XM (the
 * kernel's SIGFPE), the handler reports XMM0, EAX and MXCSR as the fault
 * left them (from the signal context) and EFLAGS as 80000000H, the marker
 * the emulated ROM's #XM handler writes too.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static sigjmp_buf resume;
static uint32_t fault_r[4], fault_mxcsr, fault_eax;

static void on_simd_exception(int sig, siginfo_t *info, void *context) {
  (void)sig;
  (void)info;
  ucontext_t *uc = context;
  memcpy(fault_r, &uc->uc_mcontext.fpregs->_xmm[0], 16);
  fault_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
  fault_eax = (uint32_t)uc->uc_mcontext.gregs[REG_RAX];
  siglongjmp(resume, 1);
}

#define CASE(name, insn)                                                                   \
  if (strcmp(op, name) == 0) {                                                            \
    __asm__ volatile("ldmxcsr %[m]\n movdqu %[a], %%xmm0\n movdqu %[b], %%xmm1\n"           \
                     ".intel_syntax noprefix\n" insn "\n.att_syntax prefix\n"              \
                     "stmxcsr %[mo]\n movdqu %%xmm0, %[r]\n pushfq\n popq %[fl]\n"          \
                     : [r] "=m"(r), [mo] "=m"(mo), [fl] "=r"(fl), "+a"(eax)                \
                     : [a] "m"(a), [b] "m"(b), [m] "m"(m)                                  \
                     : "xmm0", "xmm1", "cc", "memory");                                    \
    found = 1;                                                                            \
  }

int main(void) {
  char op[32];
  unsigned m;
  uint32_t a[4], b[4];
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_simd_exception;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, NULL);
  while (scanf("%31s %x %x %x %x %x %x %x %x %x", op, &m, &a[0], &a[1], &a[2], &a[3], &b[0], &b[1], &b[2], &b[3]) == 10) {
    uint32_t r[4] = {0, 0, 0, 0};
    unsigned mo = 0;
    unsigned long fl = 0;
    uint32_t eax = b[0];
    volatile int found = 0;
    if (sigsetjmp(resume, 1) == 0) {
#include "sseOracleOps.h"
    } else {
      memcpy(r, fault_r, 16);
      mo = fault_mxcsr;
      eax = fault_eax;
      fl = 0x80000000ul;
      found = 1;
    }
    if (!found) {
      fprintf(stderr, "unknown op %s\n", op);
      return 1;
    }
    printf("%08x %08x %08x %08x %08x %08x %08x\n", r[0], r[1], r[2], r[3], eax, mo, (unsigned)(fl & 0x800008d5ul));
  }
  return 0;
}
