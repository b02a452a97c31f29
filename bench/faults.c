/*
 * The real kernel's page-fault rate for the three patterns bench/faults.ts simulates:
 *   write: mmap 1 GiB anonymous, write one byte per page (do_anonymous_page, a zeroed page each)
 *   read:  mmap 1 GiB anonymous, read one byte per page (do_anonymous_page, the shared zero page)
 *   cow:   write every page, fork, write one byte per page in the child (do_wp_page -> wp_page_copy)
 * Prints one line per pattern: "<pattern> <faults> <seconds>". Usage: faults [MiB] (default 1024).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *map(size_t len) {
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  /* 4 KiB pages only, as mmsim models: no transparent huge pages */
  madvise(p, len, MADV_NOHUGEPAGE);
  return p;
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t len = mib << 20;
  size_t pages = len / page;
  volatile char sink = 0;

  char *p = map(len);
  double t0 = now();
  for (size_t i = 0; i < pages; i++) p[i * page] = 1;
  double t1 = now();
  printf("write %zu %.9f\n", pages, t1 - t0);
  munmap(p, len);

  p = map(len);
  t0 = now();
  for (size_t i = 0; i < pages; i++) sink += p[i * page];
  t1 = now();
  printf("read %zu %.9f\n", pages, t1 - t0);
  munmap(p, len);

  p = map(len);
  for (size_t i = 0; i < pages; i++) p[i * page] = 1;
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    return 1;
  }
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) {
    perror("fork");
    return 1;
  }
  if (child == 0) {
    t0 = now();
    for (size_t i = 0; i < pages; i++) p[i * page] = 2;
    t1 = now();
    double dt = t1 - t0;
    if (write(fds[1], &dt, sizeof dt) != sizeof dt) _exit(1);
    _exit(0);
  }
  double dt = 0;
  if (read(fds[0], &dt, sizeof dt) != sizeof dt) {
    fprintf(stderr, "child failed\n");
    return 1;
  }
  waitpid(child, NULL, 0);
  printf("cow %zu %.9f\n", pages, dt);
  munmap(p, len);
  (void)sink;
  return 0;
}
