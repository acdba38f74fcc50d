/*
 * A small SSE2 program for the guest test (test/cpu/sseGuest.test.ts),
 * built with gcc -m32 -msse2 -mfpmath=sse -static: every double and float
 * operation below runs on the SSE unit (scalar and, where gcc vectorizes,
 * packed), glibc's startup picks its SSE2 string functions from CPUID, and
 * MXCSR's rounding control is changed at run time. Inputs are volatile so
 * nothing is folded at compile time. It prints the bit patterns; the test
 * compares the guest's output with the host's run of the same binary.
 */
#include <emmintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t bits64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t bits32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static volatile double one = 1.0, three = 3.0, half = 2.5, tiny = 1e-310, huge = 1e308;
static volatile float fone = 1.0f, fseven = 7.0f;

int main(void) {
  double acc = 0;
  for (int i = 1; i <= 3000; i++) {
    acc += sqrt(one * i) / (i + 0.5);
    acc -= (double)(float)(acc / three);
  }
  printf("acc %.17g %016llx\n", acc, (unsigned long long)bits64(acc));

  float v[64];
  for (int i = 0; i < 64; i++) v[i] = fone / (fseven + i);
  float s = 0;
  for (int i = 0; i < 64; i++) s += v[i] * v[63 - i];
  printf("dot %08x\n", bits32(s));

  for (int rc = 0; rc < 4; rc++) {
    _mm_setcsr(0x1f80 | (rc << 13));
    double q = one / three;
    float f = (float)q;
    __m128d h = _mm_set_sd(half);
    printf("rc %d %016llx %08x %d %d\n", rc, (unsigned long long)bits64(q), bits32(f), _mm_cvtsd_si32(h), _mm_cvttsd_si32(h));
  }

  _mm_setcsr(0x1f80);
  double u = tiny * 0.5, w = tiny / three, o = huge * 10;
  printf("edge %016llx %016llx %016llx mxcsr %04x\n", (unsigned long long)bits64(u), (unsigned long long)bits64(w),
         (unsigned long long)bits64(o), _mm_getcsr());
  _mm_setcsr(0x1f80 | 0x8040); /* FTZ and DAZ */
  u = tiny * 0.5;
  w = tiny + tiny;
  printf("ftz %016llx %016llx mxcsr %04x\n", (unsigned long long)bits64(u), (unsigned long long)bits64(w), _mm_getcsr());
  _mm_setcsr(0x1f80);

  char buf[300];
  memset(buf, 'x', sizeof buf);
  memcpy(buf + 3, "hello, world of sse2 strings and memcpy", 40);
  printf("%s %zu %d\n", buf + 3, strlen(buf + 3), memcmp(buf + 3, "hello, world", 12));
  printf("%.3f %.10e %g\n", 3.14159, 1.0 / 7.0, sqrt(2.0) * 1e100);
  return 0;
}
