/* demo_progress.c — the migration's progress on stderr: one redrawn bar on a
 * terminal, plain lines (one per pass, at most one a second) otherwise. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "demo.h"

/* Plain mode: at most a line this often within one pass. */
#define LINE_EVERY_MS 1000

void demo_progress_init(demo_progress_t *p, bool quiet)
{
    memset(p, 0, sizeof(*p));
    p->quiet = quiet;
    p->tty = isatty(2);
    p->last_line_ms = -LINE_EVERY_MS;
}

static int columns(void)
{
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col;
    return 80;
}

static double mib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0);
}

/* The figures of one line: spelled out when there is room (plain lines, a
 * wide terminal), abbreviated to fit 80 columns otherwise. */
static void figures(const demo_stats_t *s, bool narrow, char *buf, size_t len)
{
    char dt[48] = "";
    double dirty = s->dirty_bytes_per_s / (1024.0 * 1024.0);
    if (narrow) {
        if (s->downtime_ms >= 0)
            snprintf(dt, sizeof(dt), " dt %lldms", (long long)s->downtime_ms);
        else if (s->expected_downtime_ms > 0)
            snprintf(dt, sizeof(dt), " dt~%lldms", (long long)s->expected_downtime_ms);
        snprintf(buf, len, "p%llu sent %.0fM left %.0fM %.0fMb/s dirty %.0fM/s%s",
                 (unsigned long long)s->passes, mib(s->transferred), mib(s->remaining), s->mbps,
                 dirty, dt);
        return;
    }
    /* Expected while it runs, the real one once completed. */
    if (s->downtime_ms >= 0)
        snprintf(dt, sizeof(dt), "  downtime %lld ms", (long long)s->downtime_ms);
    else if (s->expected_downtime_ms > 0)
        snprintf(dt, sizeof(dt), "  downtime ~%lld ms", (long long)s->expected_downtime_ms);
    snprintf(buf, len,
             "pass %llu  %.1f MiB sent  remaining %.1f MiB  %.0f Mbit/s  dirty %.1f MiB/s%s",
             (unsigned long long)s->passes, mib(s->transferred), mib(s->remaining), s->mbps,
             dirty, dt);
}

void demo_progress_update(demo_progress_t *p, const demo_stats_t *s, int64_t now_ms)
{
    if (p->quiet)
        return;
    char text[256];
    int cols = p->tty ? columns() : 0;
    figures(s, p->tty && cols < 120, text, sizeof(text));
    if (!p->tty) {
        bool newpass = s->passes != p->last_pass;
        bool last = strcmp(s->status, "active") && strcmp(s->status, "setup");
        if (!newpass && !last && now_ms - p->last_line_ms < LINE_EVERY_MS)
            return;
        fprintf(stderr, "vmig demo: %s: %s\n", s->status, text);
        p->last_pass = s->passes;
        p->last_line_ms = now_ms;
        return;
    }
    /* The bar shows how much of this pass's RAM is already sent. */
    double frac = s->total ? 1.0 - (double)s->remaining / (double)s->total : 0.0;
    if (!strcmp(s->status, "completed"))
        frac = 1.0;
    if (frac < 0)
        frac = 0;
    int barw = cols >= 120 ? 30 : 12;
    char bar[64];
    int fill = (int)(frac * barw + 0.5);
    for (int i = 0; i < barw; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[barw] = '\0';
    char line[512];
    int n = snprintf(line, sizeof(line), "%s%s[%s] %3.0f%% %s", cols >= 120 ? s->status : "", cols >= 120 ? " " : "", bar, frac * 100, text);
    if (n >= cols)
        line[cols - 1] = '\0'; /* never wrap: \r only redraws one line */
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    p->drawn = true;
}

void demo_progress_done(demo_progress_t *p)
{
    if (p->drawn) {
        fputc('\n', stderr);
        p->drawn = false;
    }
}

void demo_note(demo_progress_t *p, const char *fmt, ...)
{
    if (p->quiet)
        return;
    demo_progress_done(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void demo_msg(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}
