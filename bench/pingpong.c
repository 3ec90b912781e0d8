// A context-switch storm: two processes pass one byte back and forth N times over a pipe pair, a
// unix socket pair or a loopback TCP connection; each pass wakes the other and blocks. Prints its own
// time: "N round trips in X s".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void pass(int in, int out, long n, int first) {
  char b = 'x';
  for (long i = 0; i < n; i++) {
    if (first && write(out, &b, 1) != 1) _exit(3);
    if (read(in, &b, 1) != 1) _exit(4);
    if (!first && write(out, &b, 1) != 1) _exit(3);
  }
}

int main(int argc, char **argv) {
  const char *kind = argc > 1 ? argv[1] : "pipe";
  long n = argc > 2 ? atol(argv[2]) : 100000;
  int a[2], b[2];
  if (strcmp(kind, "pipe") == 0) {
    if (pipe(a) || pipe(b)) return 2;
  } else if (strcmp(kind, "unix") == 0) {
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s)) return 2;
    a[0] = s[0]; a[1] = s[1]; b[0] = s[1]; b[1] = s[0];
  } else {
    int srv = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    if (bind(srv, (struct sockaddr *)&sa, sizeof sa) || listen(srv, 1) || getsockname(srv, (struct sockaddr *)&sa, &len)) return 2;
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr *)&sa, sizeof sa)) return 2;
    int s = accept(srv, NULL, NULL);
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    a[0] = s; a[1] = c; b[0] = c; b[1] = s;
  }
  // a: parent -> child (child reads a[0]); b: child -> parent.
  double t0 = now();
  pid_t pid = fork();
  if (pid == 0) {
    pass(a[0], b[1], n, 0);
    _exit(0);
  }
  pass(b[0], a[1], n, 1);
  int st;
  waitpid(pid, &st, 0);
  printf("%ld round trips in %.6f s\n", n, now() - t0);
  return 0;
}
