/* stream_rate.c — the writer's rate limit (channels.md §6): bytes_per_sec / 10
 * per 100 ms window; over budget a writer sleeps on the loop (co_sleep). */
#include "stream/stream_internal.h"

#include <uv.h>

#include "vmig/co.h"

#define NS_PER_MS 1000000ull

void vmig__stream_rate_init(vmig_stream_t *s)
{
    s->rate_used = 0;
    s->window_start_ns = uv_hrtime();
}

/* Begin a new window when the current one is over: the budget renews every
 * 100 ms whether or not anyone waited for it. */
static void roll_window(vmig_stream_t *s, uint64_t now_ns)
{
    if (now_ns - s->window_start_ns >= VMIG_STREAM_RATE_WINDOW_MS * NS_PER_MS) {
        s->window_start_ns = now_ns;
        s->rate_used = 0;
    }
}

void vmig__stream_rate_count(vmig_stream_t *s, uint64_t bytes)
{
    s->rate_used += bytes;
}

void vmig_stream_set_rate_limit(vmig_stream_t *s, uint64_t bytes_per_sec)
{
    /* Applies at once: the bytes already counted in this window stay counted. */
    s->rate_limit = bytes_per_sec;
}

uint64_t vmig_stream_rate_limit(const vmig_stream_t *s)
{
    return s->rate_limit;
}

void vmig_stream_rate_account(vmig_stream_t *s, uint64_t bytes)
{
    s->rate_used += bytes;
}

static uint64_t budget(const vmig_stream_t *s)
{
    uint64_t b = s->rate_limit / VMIG_STREAM_RATE_WINDOWS_PER_SEC;
    return b ? b : 1; /* a limit under 10 B/s still lets one byte per window through */
}

bool vmig_stream_rate_exceeded_with(vmig_stream_t *s, uint64_t pending)
{
    if (s->err.code)
        return true; /* like QEMU: a failed stream stops its sender's loop */
    if (s->rate_limit == 0)
        return false;
    roll_window(s, uv_hrtime());
    /* "exceeded": a window may overshoot by the last chunk written (QEMU's
     * PART sections carry whole pages past the budget, channels.md §6). */
    return s->rate_used + pending > budget(s);
}

bool vmig_stream_rate_exceeded(vmig_stream_t *s)
{
    return vmig_stream_rate_exceeded_with(s, 0);
}

/* Outside a coroutine nothing can sleep (a memory channel used by a parser or
 * a test on the loop's own stack): return -EINVAL and leave the window as it
 * is, so the caller sees the limit was not honoured. */
int vmig_stream_rate_wait(vmig_stream_t *s)
{
    if (s->err.code)
        return s->err.code;
    if (!vmig_stream_rate_exceeded(s))
        return 0;
    co_t *self = co_self();
    if (!self)
        return -EINVAL;
    uv_loop_t *loop = co_loop(self);
    uint64_t end_ns = s->window_start_ns + VMIG_STREAM_RATE_WINDOW_MS * NS_PER_MS;
    for (;;) {
        uint64_t now = uv_hrtime();
        if (now >= end_ns)
            break;
        /* libuv timers count from the loop's cached time, which may lag while
         * coroutines run: refresh it so the sleep is not cut short, and loop
         * in case it still wakes early. */
        uv_update_time(loop);
        uint64_t ms = (end_ns - now + NS_PER_MS - 1) / NS_PER_MS;
        int r = co_sleep(ms);
        if (r < 0)
            return r;
    }
    s->window_start_ns = uv_hrtime();
    s->rate_used = 0;
    return 0;
}
