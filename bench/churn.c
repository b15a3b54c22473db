/*
 * For bench/trace-impact.ts: opens and closes /dev/null as fast as it can and prints, every
 * 250 ms, how many open+close pairs it made in that interval. It exits when its stdin closes.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) static void churn(void) {
  int fd = open("/dev/null", O_RDONLY);
  if (fd >= 0) close(fd);
}

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int main(void) {
  struct pollfd in = { .fd = 0, .events = POLLIN };
  long mark = now_ms(), n = 0;
  for (;;) {
    for (int i = 0; i < 256; i++) churn();
    n += 256;
    long t = now_ms();
    if (t - mark >= 250) {
      printf("%ld %ld\n", t, n * 1000 / (t - mark));
      fflush(stdout);
      mark = t;
      n = 0;
      if (poll(&in, 1, 0) > 0) return 0;
    }
  }
}
