/* loopback_ceiling.c — the machine's ceiling for a migration stream: push the
 * same amount of RAM (1 GiB by default) from memory into memory through ONE
 * loopback TCP connection between two processes (a forked receiver, like a
 * destination VMM), trying several write sizes, and report the best rate.
 *
 * Both buffers are pre-faulted before the clock starts (a migration between
 * pre-allocated VMs pays no page faults either); the sender's buffer holds
 * pseudo-random bytes. The receiver read()s straight into its buffer with the
 * same chunk size and answers one byte when all bytes arrived; the time is the
 * sender's, from its first write to that byte.
 *
 * usage: loopback_ceiling [--json] [--size SIZE] [--rounds N] [--sizes LIST]
 *   --size SIZE     bytes per transfer, suffix K/M/G (powers of 1024), default 1G
 *   --rounds N      transfers per write size, the best kept (default 3)
 *   --sizes LIST    comma-separated write sizes (default 64K,256K,1M,4M)
 * --json prints one object: loopback_gbps (best, GB/s = 1e9 bytes/s),
 * best_write_bytes, bytes, and loopback_<size>_gbps per write size.
 * Exit 0, 1 on failure, 2 on bad usage. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZES 16

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    uint64_t mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    case '\0': break;
    default: return -1;
    }
    if (*end != '\0' || v == 0 || v > (1ull << 40) / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: loopback_ceiling [--json] [--size SIZE] [--rounds N] [--sizes 64K,256K,1M,4M]\n");
}

static void *map_faulted(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 0x5a, bytes); /* fault every page in: no shared zero page */
    return p;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The receiver: for each transfer, read `bytes` into its buffer in chunks of
 * the announced size, then answer one byte. A header of two u64 (bytes, chunk)
 * starts each transfer; bytes == 0 ends. */
static int receiver(int fd, size_t bytes)
{
    char *buf = map_faulted(bytes);
    if (!buf)
        return 1;
    for (;;) {
        uint64_t hdr[2];
        size_t got = 0;
        while (got < sizeof(hdr)) {
            ssize_t r = read(fd, (char *)hdr + got, sizeof(hdr) - got);
            if (r <= 0)
                return r < 0 ? 1 : 0;
            got += (size_t)r;
        }
        if (hdr[0] == 0)
            return 0;
        if (hdr[0] > bytes || hdr[1] == 0)
            return 1;
        size_t off = 0;
        while (off < hdr[0]) {
            size_t want = hdr[0] - off;
            if (want > hdr[1])
                want = hdr[1];
            ssize_t r = read(fd, buf + off, want);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return 1;
            off += (size_t)r;
        }
        char ack = 'k';
        if (write_all(fd, &ack, 1) < 0)
            return 1;
    }
}

int main(int argc, char **argv)
{
    int json = 0;
    uint64_t bytes = 1ull << 30;
    long rounds = 3;
    uint64_t sizes[MAX_SIZES] = { 64 << 10, 256 << 10, 1 << 20, 4 << 20 };
    size_t nsizes = 4;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            if (parse_size(argv[++i], &bytes) < 0)
                return usage(), 2;
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            char *end;
            rounds = strtol(argv[++i], &end, 10);
            if (*end || rounds <= 0 || rounds > 100)
                return usage(), 2;
        } else if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            char *list = argv[++i], *save = NULL;
            nsizes = 0;
            for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (nsizes == MAX_SIZES || parse_size(t, &sizes[nsizes]) < 0)
                    return usage(), 2;
                nsizes++;
            }
            if (nsizes == 0)
                return usage(), 2;
        } else {
            usage();
            return 2;
        }
    }

    signal(SIGPIPE, SIG_IGN);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t slen = sizeof(sa);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &slen) < 0) {
        perror("loopback_ceiling: listen");
        return 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("loopback_ceiling: fork");
        return 1;
    }
    if (pid == 0) {
        int cfd = accept(lfd, NULL, NULL);
        close(lfd);
        if (cfd < 0)
            _exit(1);
        _exit(receiver(cfd, bytes));
    }
    close(lfd);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("loopback_ceiling: connect");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    char *buf = map_faulted(bytes);
    if (!buf) {
        perror("loopback_ceiling: mmap");
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64: incompressible, cheap */
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(buf + i, &x, 8);
    }

    double best_s[MAX_SIZES];
    int rc = 0;
    for (size_t k = 0; k < nsizes; k++)
        best_s[k] = 1e30;
    /* Rounds outermost: the write sizes alternate, so drift hits them all. */
    for (long r = 0; r < rounds && rc == 0; r++) {
        for (size_t k = 0; k < nsizes && rc == 0; k++) {
            uint64_t hdr[2] = { bytes, sizes[k] };
            char ack;
            if (write_all(fd, (char *)hdr, sizeof(hdr)) < 0) {
                rc = 1;
                break;
            }
            double t0 = now_s();
            for (size_t off = 0; off < bytes;) {
                size_t n = bytes - off < sizes[k] ? bytes - off : sizes[k];
                if (write_all(fd, buf + off, n) < 0) {
                    rc = 1;
                    break;
                }
                off += n;
            }
            if (rc || read(fd, &ack, 1) != 1) {
                rc = 1;
                break;
            }
            double t = now_s() - t0;
            if (t < best_s[k])
                best_s[k] = t;
        }
    }
    uint64_t end[2] = { 0, 0 };
    if (rc == 0)
        write_all(fd, (char *)end, sizeof(end));
    close(fd);
    int st = 0;
    waitpid(pid, &st, 0);
    if (rc || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fputs("loopback_ceiling: the transfer failed (receiver or socket error)\n", stderr);
        return 1;
    }

    size_t bestk = 0;
    for (size_t k = 1; k < nsizes; k++)
        if (best_s[k] < best_s[bestk])
            bestk = k;
    double gb = (double)bytes / 1e9;
    if (json) {
        printf("{\"bytes\": %llu, \"rounds\": %ld, \"loopback_gbps\": %.3f, \"best_write_bytes\": %llu",
               (unsigned long long)bytes, rounds, gb / best_s[bestk], (unsigned long long)sizes[bestk]);
        for (size_t k = 0; k < nsizes; k++)
            printf(", \"loopback_%lluk_gbps\": %.3f", (unsigned long long)(sizes[k] >> 10), gb / best_s[k]);
        printf("}\n");
    } else {
        printf("one loopback TCP connection, %llu MiB memory -> memory, two processes, best of %ld rounds\n",
               (unsigned long long)(bytes >> 20), rounds);
        printf("%-12s %10s %10s\n", "write size", "GB/s", "ms");
        for (size_t k = 0; k < nsizes; k++)
            printf("%8llu KiB %10.2f %10.1f%s\n", (unsigned long long)(sizes[k] >> 10), gb / best_s[k],
                   best_s[k] * 1e3, k == bestk ? "   (best)" : "");
    }
    munmap(buf, bytes);
    return 0;
}
