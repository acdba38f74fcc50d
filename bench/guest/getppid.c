/*
 * The system-call workload of `npm run bench` (issue 10): 100000 getppid()
 * calls, timed inside the guest with clock_gettime(CLOCK_MONOTONIC) around
 * the loop. getppid is the cheapest real system call (no arguments, nothing
 * cached by the C library), so the figure is the round trip into the kernel
 * and back: where hardware assist and binary translation differ most.
 *
 * Built by the bench on the host (bench/syscallProgram.ts) with
 * gcc -m32 -static -O2 and put into the Tiny Linux initramfs as /bin/getppid;
 * never committed as a binary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long calls = argc > 1 ? atol(argv[1]) : 100000;
  struct timespec t0, t1;
  volatile pid_t sink = 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < calls; i++) sink = getppid();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  printf("getppid: %ld calls in %.6f s (CLOCK_MONOTONIC), %.0f ns per call, ppid %d\n", calls, seconds, seconds * 1e9 / (double)calls, (int)sink);
  return 0;
}
