/*
 * The host's x87 as a reference for test/cpu/fpuOracle.test.ts (built and
 * run by the test with the host gcc; x86-64 hosts only).
 *
 * Input lines:  OP CW A_SE A_HI A_LO B_SE B_HI B_LO   (hex)
 * Output lines: R_SE R_HI R_LO R2_SE R2_HI R2_LO SW   (hex)
 *
 * Each case starts from FNINIT, loads the control word, pushes B then A
 * (ST(0) = A, ST(1) = B), runs one instruction, and reads the status word
 * with FNSTSW before anything else can change it (FNCLEX then clears any
 * unmasked exception so that the stores cannot fault). R and R2 are ST(0)
 * and ST(1) afterwards as 80-bit images; store operations report the
 * stored bits in R_HI:R_LO (BCD: R_SE holds the top two bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct { unsigned char b[10]; } t80;

static t80 mk(unsigned se, uint32_t hi, uint32_t lo) {
  t80 t;
  memcpy(t.b, &lo, 4);
  memcpy(t.b + 4, &hi, 4);
  uint16_t s = (uint16_t)se;
  memcpy(t.b + 8, &s, 2);
  return t;
}

static void put(const t80 *t) {
  uint32_t lo, hi;
  uint16_t se;
  memcpy(&lo, t->b, 4);
  memcpy(&hi, t->b + 4, 4);
  memcpy(&se, t->b + 8, 2);
  printf("%04x %08x %08x ", se, hi, lo);
}

#define REG_OP(insn)                                                              \
  __asm__ volatile("fninit\n fldcw %[cw]\n fldt %[b]\n fldt %[a]\n" insn "\n"      \
                   " fnstsw %[sw]\n fnclex\n fstpt %[r]\n fstpt %[r2]\n"           \
                   : [r] "=m"(r), [r2] "=m"(r2), [sw] "=m"(sw)                     \
                   : [a] "m"(a), [b] "m"(b), [cw] "m"(cwv))

#define STORE_OP(insn, dst)                                                       \
  __asm__ volatile("fninit\n fldcw %[cw]\n fldt %[a]\n" insn " %[d]\n"             \
                   " fnstsw %[sw]\n fnclex\n"                                      \
                   : [d] "=m"(dst), [sw] "=m"(sw)                                  \
                   : [a] "m"(a), [cw] "m"(cwv))

/* ST(0) = A op memory operand (B's bits: m32 = B_LO, m64 = B_HI:B_LO, m16int/m32int = B_LO). */
#define MEM_OP(insn, src)                                                         \
  __asm__ volatile("fninit\n fldcw %[cw]\n fldt %[b]\n fldt %[a]\n" insn " %[m]\n"   \
                   " fnstsw %[sw]\n fnclex\n fstpt %[r]\n fstpt %[r2]\n"           \
                   : [r] "=m"(r), [r2] "=m"(r2), [sw] "=m"(sw)                     \
                   : [a] "m"(a), [b] "m"(b), [m] "m"(src), [cw] "m"(cwv))

/* FCOMI/FUCOMI ST(0), ST(1): EFLAGS (ZF, PF, CF, and OF/SF/AF which they clear) into R2_LO. */
#define EFLAGS_OP(insn)                                                           \
  __asm__ volatile("fninit\n fldcw %[cw]\n fldt %[b]\n fldt %[a]\n"               \
                   " mov $0x8d5, %%eax\n push %%rax\n popf\n" insn "\n"            \
                   " fnstsw %[sw]\n pushf\n pop %%rax\n and $0x8d5, %%eax\n"        \
                   " mov %%eax, %[fl]\n fnclex\n fstpt %[r]\n"                     \
                   : [r] "=m"(r), [sw] "=m"(sw), [fl] "=m"(fl)                     \
                   : [a] "m"(a), [b] "m"(b), [cw] "m"(cwv) : "rax", "cc")

#define LOAD_OP(insn, src)                                                        \
  __asm__ volatile("fninit\n fldcw %[cw]\n" insn " %[s]\n"                         \
                   " fnstsw %[sw]\n fnclex\n fstpt %[r]\n"                         \
                   : [r] "=m"(r), [sw] "=m"(sw)                                    \
                   : [s] "m"(src), [cw] "m"(cwv))

int main(void) {
  char op[32];
  unsigned cw, ase, bse;
  uint32_t ahi, alo, bhi, blo;
  while (scanf("%31s %x %x %x %x %x %x %x", op, &cw, &ase, &ahi, &alo, &bse, &bhi, &blo) == 8) {
    uint16_t cwv = (uint16_t)cw, sw = 0;
    t80 a = mk(ase, ahi, alo), b = mk(bse, bhi, blo), r = mk(0, 0, 0), r2 = mk(0, 0, 0);
    if (!strcmp(op, "add")) REG_OP("fadd %%st(1), %%st");
    else if (!strcmp(op, "sub")) REG_OP("fsub %%st(1), %%st");
    else if (!strcmp(op, "mul")) REG_OP("fmul %%st(1), %%st");
    else if (!strcmp(op, "div")) REG_OP("fdiv %%st(1), %%st");
    else if (!strcmp(op, "sqrt")) REG_OP("fsqrt");
    else if (!strcmp(op, "prem")) REG_OP("fprem");
    else if (!strcmp(op, "prem1")) REG_OP("fprem1");
    else if (!strcmp(op, "rndint")) REG_OP("frndint");
    else if (!strcmp(op, "scale")) REG_OP("fscale");
    else if (!strcmp(op, "xtract")) REG_OP("fxtract");
    else if (!strcmp(op, "com")) REG_OP("fcom %%st(1)");
    else if (!strcmp(op, "ucom")) REG_OP("fucom %%st(1)");
    else if (!strcmp(op, "tst")) REG_OP("ftst");
    else if (!strcmp(op, "xam")) REG_OP("fxam");
    else if (!strcmp(op, "sin")) REG_OP("fsin");
    else if (!strcmp(op, "cos")) REG_OP("fcos");
    else if (!strcmp(op, "sincos")) REG_OP("fsincos");
    else if (!strcmp(op, "ptan")) REG_OP("fptan");
    else if (!strcmp(op, "patan")) REG_OP("fpatan");
    else if (!strcmp(op, "f2xm1")) REG_OP("f2xm1");
    else if (!strcmp(op, "yl2x")) REG_OP("fyl2x");
    else if (!strcmp(op, "yl2xp1")) REG_OP("fyl2xp1");
    else if (!strcmp(op, "addm32")) { uint32_t m = blo; MEM_OP("fadds", m); }
    else if (!strcmp(op, "subrm32")) { uint32_t m = blo; MEM_OP("fsubrs", m); }
    else if (!strcmp(op, "mulm64")) { uint64_t m = ((uint64_t)bhi << 32) | blo; MEM_OP("fmull", m); }
    else if (!strcmp(op, "divrm64")) { uint64_t m = ((uint64_t)bhi << 32) | blo; MEM_OP("fdivrl", m); }
    else if (!strcmp(op, "iadd16")) { uint16_t m = (uint16_t)blo; MEM_OP("fiadds", m); }
    else if (!strcmp(op, "idiv32")) { uint32_t m = blo; MEM_OP("fidivl", m); }
    else if (!strcmp(op, "comm32")) { uint32_t m = blo; MEM_OP("fcoms", m); }
    else if (!strcmp(op, "icom32")) { uint32_t m = blo; MEM_OP("ficoml", m); }
    else if (!strcmp(op, "comi")) { uint32_t fl = 0; EFLAGS_OP("fcomi %%st(1), %%st"); r2 = mk(0, 0, fl); }
    else if (!strcmp(op, "ucomi")) { uint32_t fl = 0; EFLAGS_OP("fucomi %%st(1), %%st"); r2 = mk(0, 0, fl); }
    else if (!strcmp(op, "ldconst")) {
      /* A_LO selects the constant: 0 FLD1, 1 FLDL2T, 2 FLDL2E, 3 FLDPI, 4 FLDLG2, 5 FLDLN2, 6 FLDZ. */
      switch (alo) {
        case 0: REG_OP("fld1"); break;
        case 1: REG_OP("fldl2t"); break;
        case 2: REG_OP("fldl2e"); break;
        case 3: REG_OP("fldpi"); break;
        case 4: REG_OP("fldlg2"); break;
        case 5: REG_OP("fldln2"); break;
        default: REG_OP("fldz"); break;
      }
    } else if (!strcmp(op, "st32")) {
      uint32_t d = 0;
      STORE_OP("fstps", d);
      r = mk(0, 0, d);
    } else if (!strcmp(op, "st64")) {
      uint64_t d = 0;
      STORE_OP("fstpl", d);
      r = mk(0, (uint32_t)(d >> 32), (uint32_t)d);
    } else if (!strcmp(op, "ist16")) {
      uint16_t d = 0;
      STORE_OP("fistps", d);
      r = mk(0, 0, d);
    } else if (!strcmp(op, "ist32")) {
      uint32_t d = 0;
      STORE_OP("fistpl", d);
      r = mk(0, 0, d);
    } else if (!strcmp(op, "ist64")) {
      uint64_t d = 0;
      STORE_OP("fistpll", d);
      r = mk(0, (uint32_t)(d >> 32), (uint32_t)d);
    } else if (!strcmp(op, "bstp")) {
      t80 d = mk(0, 0, 0);
      STORE_OP("fbstp", d);
      r = d;
    } else if (!strcmp(op, "ld32")) {
      uint32_t s = alo;
      LOAD_OP("flds", s);
    } else if (!strcmp(op, "bld")) {
      t80 s = a;
      LOAD_OP("fbld", s);
    } else if (!strcmp(op, "ld64")) {
      uint64_t s = ((uint64_t)ahi << 32) | alo;
      LOAD_OP("fldl", s);
    } else {
      fprintf(stderr, "unknown op %s\n", op);
      return 2;
    }
    put(&r);
    put(&r2);
    printf("%04x\n", sw);
  }
  return 0;
}
