/*
 * mmsim oracle helper: runs the primary-MMU part of a scenario on the real Linux kernel.
 *
 * `mmsim oracle` compiles this file with cc (cached by a hash of its text) and feeds it a script on
 * stdin, one command per line; it answers one line per command on stdout. One process per simulated
 * task: `spawn` forks a fresh task from this server, `fork` makes the task itself fork (the child gets
 * its own socket to the server, passed with SCM_RIGHTS), so the real fork(2) copies the real mm.
 *
 * Everything machine-wide is guarded: the server holds flock(LOCK_EX) on LOCK_PATH for its whole life,
 * saves every /sys/kernel/mm/ksm knob it changes to JOURNAL_PATH before changing it, and restores them
 * at exit, on SIGINT/SIGTERM/SIGHUP/SIGALRM (its own timeout) and, after a SIGKILL, at the start of the
 * next run (from the journal). It never writes run=2 and only marks its own mappings MADV_MERGEABLE.
 *
 * Commands (ADDR and LEN hexadecimal, without 0x):
 *   lock                          take the machine-wide lock (waits up to LOCK_WAIT_S, off the timeout)
 *   knob NAME VALUE               set a KSM knob (saved first)
 *   spawn T                       a new task T with an empty address space of ours
 *   T mmap ADDR LEN PROT SHARED   MAP_FIXED_NOREPLACE at ADDR (PROT: none r rw rx rwx), then NOHUGEPAGE
 *   T munmap ADDR LEN | T mprotect ADDR LEN PROT | T madvise ADDR LEN ADVICE
 *   T write ADDR HEXBYTES | T fill ADDR LEN BYTE | T read ADDR LEN
 *   T fork CHILD | T exit
 *   T pin NAME ADDR LEN           io_uring fixed buffers (pin_user_pages FOLL_WRITE|FOLL_LONGTERM)
 *   T odirect ADDR LEN            an O_DIRECT write from the pages (a short read-only FOLL_PIN)
 *   T unpin NAME
 *   ksm N                         ksmd completes N more full scans (ksm_scan.seqnr), then stops
 *   snap T LO HI                  every page of T's vmas inside [LO, HI): pagemap + kpageflags
 *   settle                        scan until counters left by earlier runs' exited mms are gone
 *   counters                      the KSM counters
 *   others                        other processes that use KSM (pid:comm ...), for counter comparison
 * Answers: `ok [values]`, `err ERRNO`, `sig SIGSEGV`, or `fatal MESSAGE` (then exit 1).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOCK_PATH "/run/lock/mmsim-oracle.lock"
#define JOURNAL_PATH "/run/lock/mmsim-oracle.knobs"
#define KSM_DIR "/sys/kernel/mm/ksm/"
#define ODIRECT_DIR "/var/tmp/" /* a disk file system: O_DIRECT goes through the block layer */
#define MAX_TASKS 64
#define MAX_KNOBS 16
#define MAX_PINS 32
#define LOCK_WAIT_S 600 /* the longest wait for another oracle run to let go of the lock */
#define SCAN_SLEEP_MS 60000 /* ksmd sleeps this long between batches; we wake it per full scan */

static void fatal(const char *fmt, ...);

/* ---------------------------------------------------------------- knobs (server only) */

struct knob {
  char name[48];
  char saved[64];
};
static struct knob knobs[MAX_KNOBS];
static int nknobs;
static int restoring;

static int read_file(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t r = read(fd, buf, n - 1);
  close(fd);
  if (r < 0) return -1;
  buf[r] = 0;
  while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' ')) buf[--r] = 0;
  return 0;
}

static int write_knob_raw(const char *name, const char *value) {
  char path[128];
  snprintf(path, sizeof path, KSM_DIR "%s", name);
  int fd = open(path, O_WRONLY);
  if (fd < 0) return -errno;
  ssize_t r = write(fd, value, strlen(value));
  int e = errno;
  close(fd);
  return r < 0 ? -e : 0;
}

static long knob_value(const char *name) {
  char path[128], buf[64];
  snprintf(path, sizeof path, KSM_DIR "%s", name);
  if (read_file(path, buf, sizeof buf) < 0) return -1;
  return strtol(buf, NULL, 10);
}

static void write_journal(void) {
  char tmp[] = JOURNAL_PATH ".tmp";
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  for (int i = 0; i < nknobs; i++) fprintf(f, "%s %s\n", knobs[i].name, knobs[i].saved);
  fflush(f);
  fsync(fileno(f));
  fclose(f);
  rename(tmp, JOURNAL_PATH);
}

/*
 * Restore every knob we changed. run=0 goes back first (ksmd stops before its scan knobs change back;
 * restoring sleep_millisecs wakes it), a saved run=1 last.
 */
static void restore_knobs(void) {
  if (restoring) return;
  restoring = 1;
  /* a signal arriving now must not cut the restore short (its handler would find `restoring` set) */
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  for (int i = 0; i < nknobs; i++)
    if (strcmp(knobs[i].name, "run") == 0 && strcmp(knobs[i].saved, "0") == 0) write_knob_raw("run", "0");
  for (int i = nknobs - 1; i >= 0; i--)
    if (strcmp(knobs[i].name, "run") != 0) write_knob_raw(knobs[i].name, knobs[i].saved);
  for (int i = 0; i < nknobs; i++)
    if (strcmp(knobs[i].name, "run") == 0 && strcmp(knobs[i].saved, "0") != 0)
      write_knob_raw("run", knobs[i].saved);
  nknobs = 0;
  unlink(JOURNAL_PATH);
}

/* A previous run killed with SIGKILL left its journal: put those knobs back first. */
static void replay_journal(void) {
  FILE *f = fopen(JOURNAL_PATH, "r");
  if (!f) return;
  char name[48], value[64];
  char runv[64] = "";
  write_knob_raw("run", "0"); /* we only ever set run=1 during a ksm step */
  while (fscanf(f, "%47s %63s", name, value) == 2) {
    if (strcmp(name, "run") == 0) snprintf(runv, sizeof runv, "%s", value);
    else write_knob_raw(name, value);
  }
  fclose(f);
  if (strcmp(runv, "1") == 0) write_knob_raw("run", "1");
  unlink(JOURNAL_PATH);
}

static int set_knob(const char *name, const char *value) {
  if (strcmp(name, "run") == 0 && strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
    return -EINVAL; /* run=2 unmerges every process on the machine: never */
  int i;
  for (i = 0; i < nknobs; i++)
    if (strcmp(knobs[i].name, name) == 0) break;
  if (i == nknobs) {
    if (nknobs == MAX_KNOBS) return -ENOSPC;
    char path[128], buf[64];
    snprintf(path, sizeof path, KSM_DIR "%s", name);
    if (read_file(path, buf, sizeof buf) < 0) return -errno;
    if (strcmp(buf, value) == 0) return 0; /* already so: nothing to save or restore */
    snprintf(knobs[i].name, sizeof knobs[i].name, "%s", name);
    snprintf(knobs[i].saved, sizeof knobs[i].saved, "%s", buf);
    nknobs++;
    write_journal();
  }
  return write_knob_raw(name, value);
}

/*
 * Buffered line reading (one read(2) per chunk, not per byte: a write of many pages is one long line).
 * The returned line lives in the reader's buffer until its next call; NULL at EOF.
 */
struct reader {
  int fd;
  char *buf;
  size_t cap, start, end;
};

static void reader_init(struct reader *r, int fd) {
  free(r->buf);
  *r = (struct reader){.fd = fd};
}

static char *next_line(struct reader *r) {
  for (;;) {
    char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
    if (nl) {
      *nl = 0;
      char *line = r->buf + r->start;
      r->start = (size_t)(nl - r->buf) + 1;
      return line;
    }
    if (r->start > 0) {
      memmove(r->buf, r->buf + r->start, r->end - r->start);
      r->end -= r->start;
      r->start = 0;
    }
    if (r->end + 4096 > r->cap) {
      r->cap = r->cap ? r->cap * 2 : 65536;
      r->buf = realloc(r->buf, r->cap);
      if (!r->buf) _exit(1);
    }
    ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    r->end += (size_t)n;
  }
}

/* ---------------------------------------------------------------- tasks */

struct task {
  char name[64];
  pid_t pid;
  int sock; /* server end */
  int alive;
  struct reader in; /* its answers */
};
static struct task tasks[MAX_TASKS];
static int ntasks;
static int is_server = 1;

static void kill_tasks(void) {
  for (int i = 0; i < ntasks; i++)
    if (tasks[i].alive) {
      kill(tasks[i].pid, SIGKILL);
      tasks[i].alive = 0;
    }
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static void on_signal(int sig) {
  if (is_server) {
    kill_tasks();
    restore_knobs();
    const char msg[] = "fatal interrupted: KSM knobs restored\n";
    if (write(1, msg, sizeof msg - 1) < 0) {
    }
  }
  _exit(128 + sig);
}

static void fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("fatal ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  fflush(stdout);
  if (is_server) {
    kill_tasks();
    restore_knobs();
  }
  exit(1);
}

static struct task *find_task(const char *name) {
  for (int i = 0; i < ntasks; i++)
    if (tasks[i].alive && strcmp(tasks[i].name, name) == 0) return &tasks[i];
  return NULL;
}

/* ---------------------------------------------------------------- inside a task */

static sigjmp_buf segv_jmp;
static volatile sig_atomic_t segv_armed;

static void on_segv(int sig) {
  (void)sig;
  if (segv_armed) siglongjmp(segv_jmp, 1);
  _exit(139);
}

struct pin {
  char name[64];
  int ring;
};
static struct pin pins[MAX_PINS];
static int npins;

static int prot_of(const char *p) {
  if (strcmp(p, "none") == 0) return PROT_NONE;
  int v = 0;
  for (; *p; p++) v |= *p == 'r' ? PROT_READ : *p == 'w' ? PROT_WRITE : *p == 'x' ? PROT_EXEC : 0;
  return v;
}

static int advice_of(const char *a) {
  if (strcmp(a, "mergeable") == 0) return MADV_MERGEABLE;
  if (strcmp(a, "unmergeable") == 0) return MADV_UNMERGEABLE;
  if (strcmp(a, "dontneed") == 0) return MADV_DONTNEED;
  if (strcmp(a, "nohugepage") == 0) return MADV_NOHUGEPAGE;
  return -1;
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

static void reply(int fd, const char *fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  buf[n++] = '\n';
  if (write(fd, buf, n) < 0) _exit(1);
}

static const char *errname(int e) {
  switch (e) {
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case EAGAIN: return "EAGAIN";
    case EPERM: return "EPERM";
    case EBUSY: return "EBUSY";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOENT: return "ENOENT";
    default: return strerror(e);
  }
}

static int recv_fd(int sock) {
  char byte;
  struct iovec iov = {&byte, 1};
  char ctl[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  if (recvmsg(sock, &msg, 0) <= 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static void send_fd(int sock, int fd) {
  char byte = 'F';
  struct iovec iov = {&byte, 1};
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (sendmsg(sock, &msg, 0) < 0) fatal("sendmsg: %s", strerror(errno));
}

static void pin_to_cpu0(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  sched_setaffinity(0, sizeof set, &set);
}

/* The task's loop: one command per line from the server, one answer per line. Never returns. */
static int sock; /* a task's socket to the server */
static void task_loop(int fd) {
  sock = fd;
  is_server = 0;
  signal(SIGINT, SIG_IGN); /* the server cleans up; a task only dies by exit, EOF or SIGKILL */
  signal(SIGTERM, SIG_IGN);
  struct sigaction sa = {0};
  sa.sa_handler = on_segv;
  sa.sa_flags = SA_NODEFER;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  static struct reader in;
  reader_init(&in, sock);
  char *line;
  while ((line = next_line(&in)) != NULL) {
    char op[16] = "";
    sscanf(line, "%15s", op);
    const char *rest = line + strlen(op);
    while (*rest == ' ') rest++;
    if (strcmp(op, "mmap") == 0) {
      unsigned long addr, len;
      char prot[8];
      int shared;
      sscanf(rest, "%lx %lx %7s %d", &addr, &len, prot, &shared);
      void *p = mmap((void *)addr, len, prot_of(prot),
                     (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (p == MAP_FAILED) reply(sock, "err %s", errname(errno));
      else {
        madvise(p, len, MADV_NOHUGEPAGE);
        reply(sock, "ok %lx", (unsigned long)p);
      }
    } else if (strcmp(op, "munmap") == 0 || strcmp(op, "mprotect") == 0 || strcmp(op, "madvise") == 0) {
      unsigned long addr, len;
      char arg[16] = "";
      sscanf(rest, "%lx %lx %15s", &addr, &len, arg);
      int r = op[1] == 'u'   ? munmap((void *)addr, len)
              : op[1] == 'p' ? mprotect((void *)addr, len, prot_of(arg))
                             : madvise((void *)addr, len, advice_of(arg));
      if (r < 0) reply(sock, "err %s", errname(errno));
      else reply(sock, "ok");
    } else if (strcmp(op, "write") == 0 || strcmp(op, "fill") == 0 || strcmp(op, "read") == 0) {
      unsigned long addr, len = 0;
      int consumed = 0;
      sscanf(rest, "%lx %n", &addr, &consumed);
      const char *arg = rest + consumed;
      unsigned byte = 0;
      if (op[0] == 'w') len = strlen(arg) / 2;
      else sscanf(arg, "%lx %x", &len, &byte);
      volatile unsigned char *dst = (volatile unsigned char *)addr;
      volatile unsigned sum = 0;
      /* page by page, as the model's userAccess: a fault stops the access there */
      if (sigsetjmp(segv_jmp, 1) == 0) {
        segv_armed = 1;
        for (unsigned long i = 0; i < len; i++) {
          if (op[0] == 'w') dst[i] = (unsigned char)(hexval(arg[2 * i]) * 16 + hexval(arg[2 * i + 1]));
          else if (op[0] == 'f') dst[i] = (unsigned char)byte;
          else sum += dst[i];
        }
        segv_armed = 0;
        reply(sock, "ok %x", sum);
      } else {
        segv_armed = 0;
        reply(sock, "sig SIGSEGV");
      }
    } else if (strcmp(op, "fork") == 0) {
      /* the server sends the child's socket only after this line: a buffered read never swallows it */
      reply(sock, "ready");
      int fd = recv_fd(sock);
      if (fd < 0) _exit(1);
      pid_t pid = fork();
      if (pid == 0) {
        close(sock);
        sock = fd; /* the child's own channel */
        reader_init(&in, sock);
        reply(sock, "hello");
        continue;
      }
      close(fd);
      if (pid < 0) reply(sock, "err %s", errname(errno));
      else reply(sock, "ok %d", pid);
    } else if (strcmp(op, "exit") == 0) {
      _exit(0);
    } else if (strcmp(op, "pin") == 0) {
      char name[64];
      unsigned long addr, len;
      sscanf(rest, "%63s %lx %lx", name, &addr, &len);
      struct io_uring_params params = {0};
      int ring = (int)syscall(__NR_io_uring_setup, 1, &params);
      if (ring < 0) {
        reply(sock, "err %s", errname(errno));
        continue;
      }
      struct iovec iov = {(void *)addr, len};
      if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1) < 0) {
        int e = errno;
        close(ring);
        reply(sock, "err %s", errname(e));
        continue;
      }
      if (npins < MAX_PINS) {
        snprintf(pins[npins].name, sizeof pins[npins].name, "%s", name);
        pins[npins++].ring = ring;
      }
      reply(sock, "ok");
    } else if (strcmp(op, "odirect") == 0) {
      /* an O_DIRECT write from the pages: the block layer pins them read-only (FOLL_PIN, no FOLL_WRITE)
         for the I/O, the one read-only pin the real kernel offers without a device */
      unsigned long addr, len;
      sscanf(rest, "%lx %lx", &addr, &len);
      char path[96];
      snprintf(path, sizeof path, ODIRECT_DIR "mmsim-oracle-odirect.%d", (int)getpid());
      int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0600);
      if (fd < 0) {
        reply(sock, "err %s", errname(errno));
        continue;
      }
      unlink(path);
      ssize_t w = pwrite(fd, (void *)addr, len, 0);
      int e = errno;
      close(fd);
      if (w < 0) reply(sock, "err %s", errname(e));
      else if ((unsigned long)w < len) reply(sock, "err EFAULT");
      else reply(sock, "ok");
    } else if (strcmp(op, "unpin") == 0) {
      char name[64];
      sscanf(rest, "%63s", name);
      int done = 0;
      for (int i = 0; i < npins; i++)
        if (pins[i].ring >= 0 && strcmp(pins[i].name, name) == 0) {
          /* unregister synchronously: closing the ring alone unpins later, from a workqueue */
          syscall(__NR_io_uring_register, pins[i].ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
          close(pins[i].ring);
          pins[i].ring = -1;
          done = 1;
        }
      reply(sock, done ? "ok" : "err ENOENT"); /* as the model: no pin of that name (its gup failed) */
    } else {
      reply(sock, "err EINVAL");
    }
  }
  _exit(0);
}

/* ---------------------------------------------------------------- server side */

static char *task_answer(struct task *t) {
  char *line = next_line(&t->in);
  if (!line) fatal("task %s died", t->name);
  return line;
}

static const char *ask(struct task *t, const char *cmd) {
  size_t n = strlen(cmd);
  if (write(t->sock, cmd, n) != (ssize_t)n || write(t->sock, "\n", 1) != 1) fatal("task %s gone", t->name);
  return task_answer(t);
}

/* A slot for a new task (an exited task's slot is reused: one helper may run many scenarios). */
static struct task *new_task(const char *name, pid_t pid, int sock) {
  struct task *t = NULL;
  for (int i = 0; i < ntasks && !t; i++)
    if (!tasks[i].alive) t = &tasks[i];
  if (!t) {
    if (ntasks == MAX_TASKS) fatal("too many tasks");
    t = &tasks[ntasks++];
  }
  snprintf(t->name, sizeof t->name, "%s", name);
  t->alive = 1;
  t->pid = pid;
  t->sock = sock;
  reader_init(&t->in, sock);
  return t;
}

static char proc_state(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (read_file(path, buf, sizeof buf) < 0) return 0;
  char *p = strrchr(buf, ')');
  return p && p[1] ? p[2] : 0;
}

/* Wait until the task's mm is gone (zombie or reaped): exit_mm runs before exit_notify. */
static void wait_exited(pid_t pid) {
  for (int i = 0; i < 20000; i++) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    char s = proc_state(pid);
    if (s == 0 || s == 'Z' || s == 'X') return;
    usleep(100);
  }
  fatal("task %d does not exit", pid);
}

static pid_t ksmd_pid(void) {
  static pid_t cached;
  if (cached) return cached;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d && (e = readdir(d))) {
    char path[300], comm[64];
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
    if (read_file(path, comm, sizeof comm) == 0 && strcmp(comm, "ksmd") == 0) {
      cached = atoi(e->d_name);
      break;
    }
  }
  if (d) closedir(d);
  return cached;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wake ksmd for one batch. With pages_to_scan above the pages we scan, one ksm_do_scan batch ends at
 * the end of a full scan (scan_get_next_rmap_item returns NULL there), and a change of sleep_millisecs
 * wakes ksmd from its sleep between batches (sleep_millisecs_store wakes ksm_iter_wait).
 */
static unsigned trigger_count;
static void trigger_batch(void) {
  char v[16];
  snprintf(v, sizeof v, "%u", SCAN_SLEEP_MS + (++trigger_count & 1));
  set_knob("sleep_millisecs", v);
  set_knob("run", "1");
}

/* ksmd asleep between batches (state S after the scan counter moved): safe to wake it again. */
static void wait_ksmd_asleep(void) {
  pid_t p = ksmd_pid();
  for (int i = 0; p && i < 2000; i++) {
    if (proc_state(p) == 'S') return;
    usleep(500);
  }
}

/* N more full scans, then run=0; returns how many (fewer: ksmd had nothing to scan for idle_ms). */
static long do_ksm_scans(long n, long idle_ms) {
  long done = 0;
  while (done < n) {
    long before = knob_value("full_scans");
    trigger_batch();
    long start = now_ms(), retrigger = start + 3000;
    while (knob_value("full_scans") == before) {
      long t = now_ms();
      if (t - start > idle_ms) {
        wait_ksmd_asleep();
        set_knob("run", "0");
        return done;
      }
      if (t > retrigger) { /* a wake-up lost in the window before ksmd read its sleep: again */
        wait_ksmd_asleep();
        if (knob_value("full_scans") != before) break;
        trigger_batch();
        retrigger = t + 3000;
      }
      usleep(200);
    }
    wait_ksmd_asleep();
    done++;
  }
  set_knob("run", "0");
  return done;
}

static int counters_zero(void) {
  return knob_value("pages_shared") == 0 && knob_value("pages_sharing") == 0 &&
         knob_value("pages_unshared") == 0 && knob_value("pages_volatile") == 0;
}

/* Counters left by earlier runs' exited mms drop at ksmd's next scan: scan (ours only are idle) until 0. */
static void settle(void) {
  for (int i = 0; i < 3 && !counters_zero(); i++)
    if (do_ksm_scans(1, 300) == 0) break;
}

static void print_counters(void) {
  static const char *names[] = {"pages_shared", "pages_sharing", "pages_unshared", "pages_volatile",
                                "full_scans",   "ksm_zero_pages", "pages_scanned", NULL};
  printf("ok");
  for (int i = 0; names[i]; i++) printf(" %s=%ld", names[i], knob_value(names[i]));
  printf("\n");
}

/* Processes other than ours whose mm KSM has scanned or merged (ksm_stat). */
static void print_others(void) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  printf("ok");
  while (d && (e = readdir(d))) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    pid_t pid = atoi(e->d_name);
    int ours = pid == getpid();
    for (int i = 0; i < ntasks; i++) ours |= tasks[i].pid == pid;
    if (ours) continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/%s/ksm_stat", e->d_name);
    if (read_file(path, buf, sizeof buf) < 0) continue;
    long items = 0, merging = 0, zero = 0;
    char *p = strstr(buf, "ksm_rmap_items ");
    if (p) items = strtol(p + 15, NULL, 10);
    p = strstr(buf, "ksm_merging_pages ");
    if (p) merging = strtol(p + 18, NULL, 10);
    p = strstr(buf, "ksm_zero_pages ");
    if (p) zero = strtol(p + 15, NULL, 10);
    /* registered with ksmd (MADV_MERGEABLE or PR_SET_MEMORY_MERGE, v6.4+) though not yet scanned */
    int registered = strstr(buf, "ksm_mergeable: yes") != NULL;
    if (items > 0 || merging > 0 || zero > 0 || registered) {
      char comm[64] = "?";
      snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
      read_file(path, comm, sizeof comm);
      printf(" %d:%s", pid, comm);
    }
  }
  if (d) closedir(d);
  printf("\n");
}

#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_PFN ((1ULL << 55) - 1)
#define KPF_KSM 21
#define KPF_ZERO_PAGE 24

/* One token per page of every vma of t inside [lo, hi): `START:LEN` headers, then n / z / kPFN / aPFN. */
static void snap(struct task *t, unsigned long lo, unsigned long hi) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/maps", t->pid);
  FILE *maps = fopen(path, "r");
  snprintf(path, sizeof path, "/proc/%d/pagemap", t->pid);
  int pm = open(path, O_RDONLY);
  int kf = open("/proc/kpageflags", O_RDONLY);
  if (!maps || pm < 0 || kf < 0) fatal("cannot read the page maps of %s", t->name);
  printf("ok");
  char line[512];
  while (fgets(line, sizeof line, maps)) {
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx", &s, &e) != 2 || e <= lo || s >= hi) continue;
    if (s < lo) s = lo;
    if (e > hi) e = hi;
    printf(" %lx:%lx", s, (e - s) / 4096);
    for (unsigned long a = s; a < e; a += 4096) {
      uint64_t ent = 0, flags = 0;
      if (pread(pm, &ent, 8, (off_t)(a / 4096) * 8) != 8) fatal("pagemap: %s", strerror(errno));
      if (!(ent & PM_PRESENT)) {
        printf(ent & PM_SWAP ? " s" : " n");
        continue;
      }
      uint64_t pfn = ent & PM_PFN;
      if (pfn == 0) fatal("pagemap gives no frame numbers (not root?)");
      if (pread(kf, &flags, 8, (off_t)pfn * 8) != 8) fatal("kpageflags: %s", strerror(errno));
      if (flags & (1ULL << KPF_ZERO_PAGE)) printf(" z");
      else printf(" %c%llx", flags & (1ULL << KPF_KSM) ? 'k' : 'a', (unsigned long long)pfn);
    }
  }
  printf("\n");
  fclose(maps);
  close(pm);
  close(kf);
}

/*
 * The machine-wide lock. Waiting for another oracle run does not count against this run's timeout (the
 * alarm is held meanwhile), but is bounded by LOCK_WAIT_S.
 */
static int take_lock(void) {
  int fd = open(LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fatal("cannot open %s: %s", LOCK_PATH, strerror(errno));
  unsigned left = alarm(0);
  long start = now_ms();
  while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) fatal("cannot lock %s: %s", LOCK_PATH, strerror(errno));
    if (now_ms() - start > LOCK_WAIT_S * 1000L)
      fatal("another oracle run has held %s for %d s", LOCK_PATH, LOCK_WAIT_S);
    usleep(20000);
  }
  if (left) alarm(left);
  return fd;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  atexit(restore_knobs);
  int lockfd = -1;
  static struct reader in;
  reader_init(&in, 0);
  char *line;
  while ((line = next_line(&in)) != NULL) {
    char a[64] = "", b[64] = "";
    sscanf(line, "%63s %63s", a, b);
    if (strcmp(a, "lock") == 0 && lockfd >= 0) {
      printf("ok\n"); /* already held: a batch of scenarios in one helper */
    } else if (strcmp(a, "lock") == 0) {
      lockfd = take_lock();
      replay_journal();
      printf("ok\n");
    } else if (strcmp(a, "timeout") == 0) {
      alarm((unsigned)atoi(b));
      printf("ok\n");
    } else if (strcmp(a, "knob") == 0) {
      char v[64] = "";
      sscanf(line, "%*s %*s %63s", v);
      int r = set_knob(b, v);
      if (r < 0) printf("err %s\n", errname(-r));
      else printf("ok\n");
    } else if (strcmp(a, "spawn") == 0) {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) fatal("socketpair");
      fflush(stdout);
      pid_t pid = fork();
      if (pid < 0) fatal("fork: %s", strerror(errno));
      if (pid == 0) {
        close(sv[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pin_to_cpu0();
        task_loop(sv[1]);
      }
      close(sv[1]);
      new_task(b, pid, sv[0]);
      printf("ok %d\n", pid);
    } else if (strcmp(a, "ksm") == 0) {
      long idle = 0;
      sscanf(line, "%*s %*s %ld", &idle);
      printf("ok %ld\n", do_ksm_scans(atol(b), idle > 0 ? idle : 10000));
    } else if (strcmp(a, "settle") == 0) {
      settle();
      printf("ok\n");
    } else if (strcmp(a, "counters") == 0) {
      print_counters();
    } else if (strcmp(a, "others") == 0) {
      print_others();
    } else if (strcmp(a, "snap") == 0) {
      unsigned long lo = 0, hi = 0;
      sscanf(line, "%*s %*s %lx %lx", &lo, &hi);
      struct task *t = find_task(b);
      if (!t) printf("err ESRCH\n");
      else snap(t, lo, hi);
    } else if (strcmp(a, "quit") == 0) {
      break;
    } else {
      struct task *t = find_task(a);
      if (!t) {
        printf("err ESRCH\n");
        continue;
      }
      const char *cmd = line + strlen(a) + 1;
      if (strcmp(b, "fork") == 0) {
        char child[64] = "";
        sscanf(line, "%*s %*s %63s", child);
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) fatal("socketpair");
        if (strcmp(ask(t, "fork"), "ready") != 0) fatal("task %s did not get ready to fork", t->name);
        send_fd(t->sock, sv[1]);
        close(sv[1]);
        const char *answer = task_answer(t);
        if (strncmp(answer, "ok ", 3) != 0) {
          close(sv[0]);
          printf("%s\n", answer);
          continue;
        }
        pid_t pid = atoi(answer + 3);
        struct task *c = new_task(child, pid, sv[0]);
        task_answer(c); /* its hello */
        printf("ok %d\n", pid);
      } else if (strcmp(b, "exit") == 0) {
        if (write(t->sock, "exit\n", 5) < 0) {
        }
        wait_exited(t->pid);
        close(t->sock);
        t->alive = 0;
        printf("ok\n");
      } else {
        printf("%s\n", ask(t, cmd));
      }
    }
  }
  kill_tasks();
  restore_knobs();
  if (lockfd >= 0) close(lockfd);
  return 0;
}
