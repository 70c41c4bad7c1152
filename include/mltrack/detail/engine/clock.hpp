// Why: every metric point carries a wall time, and std::chrono::system_clock::now() costs ~20 ns, more than
// the rest of the hot path together. On x86-64 with an invariant TSC a point's time is computed from one
// `rdtsc` (a few ns): ticks are converted with a rate calibrated against system_clock and re-anchored to
// system_clock periodically, so times stay wall-clock ns since the Unix epoch and follow clock steps within
// one re-anchor period. Without an invariant TSC (or with MLTRACK_CLOCK=system) system_clock is used.
//
// Precision (see docs/performance.md): during the first ~2 ms after first use every read is a system_clock
// read. After that a time is system_clock at the last anchor plus TSC ticks times the calibrated rate; the
// anchor is refreshed every ~50 ms and the rate is measured over a baseline that grows to ~10 s, so the
// error is the rate error times at most 50 ms: typically ~1 us (at worst ~15 us) in the first second
// after calibration, then well under 1 us.
// A step of the system clock (settimeofday, NTP step) shows up at the next re-anchor. Consecutive reads
// may go back by up to that error at a re-anchor; times are not guaranteed monotonic (neither is
// system_clock).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>  // not <x86intrin.h>: every intrinsic header, ~0.3 s per TU
#define MLTRACK_HAVE_TSC 1
#else
#define MLTRACK_HAVE_TSC 0
#endif

#include "../../version.hpp"

#if defined(__SANITIZE_THREAD__)
#define MLTRACK_CLOCK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MLTRACK_CLOCK_TSAN 1
#endif
#endif

MLTRACK_NAMESPACE_BEGIN
namespace detail {

// The clock's seqlock orders its plain (relaxed) fields with fences. ThreadSanitizer does not model fences
// (GCC refuses them under -fsanitize=thread -Werror), so a TSan build makes every access of the seqlock
// seq_cst instead, which orders the same way without a fence.
#if defined(MLTRACK_CLOCK_TSAN)
inline constexpr std::memory_order seqlock_data = std::memory_order_seq_cst;
inline void seqlock_fence(std::memory_order) noexcept {}
#else
inline constexpr std::memory_order seqlock_data = std::memory_order_relaxed;
inline void seqlock_fence(std::memory_order order) noexcept { std::atomic_thread_fence(order); }
#endif

/// system_clock in ns since the Unix epoch (~20 ns).
inline std::int64_t system_clock_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// CLOCK_REALTIME_COARSE in ns since the epoch: a few ns, but only as fine as the kernel tick (1-4 ms).
/// Usable as config::clock where a coarse time is enough and no invariant TSC is available.
inline std::int64_t coarse_clock_ns() noexcept {
#if defined(CLOCK_REALTIME_COARSE)
    timespec ts{};
    if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) == 0)
        return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
#endif
    return system_clock_ns();
}

/// The real tick and wall sources.
struct hardware_time_source {
    static std::uint64_t ticks() noexcept {
#if MLTRACK_HAVE_TSC
        return __builtin_ia32_rdtsc();
#else
        return 0;
#endif
    }
    static std::int64_t wall_ns() noexcept { return system_clock_ns(); }
};

/// Whether this machine has a TSC that ticks at a constant rate in every power state and that the kernel
/// trusts (CPUID invariant-TSC bit); MLTRACK_CLOCK=system turns the TSC clock off.
inline bool invariant_tsc_available() noexcept {
    if (const char* e = std::getenv("MLTRACK_CLOCK"); e && std::strcmp(e, "system") == 0) return false;
#if MLTRACK_HAVE_TSC
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (static_cast<unsigned>(__get_cpuid_max(0x80000000u, nullptr)) < 0x80000007u) return false;
    __cpuid(0x80000007u, a, b, c, d);
    return (d & (1u << 8)) != 0;
#else
    return false;
#endif
}

/// Wall clock from a tick counter, calibrated against and re-anchored to a wall source. Thread-safe: readers
/// only read shared state (a seqlock); the one caller that finds the anchor stale refreshes it.
template <class Source = hardware_time_source>
class basic_tsc_clock {
public:
    static constexpr std::int64_t calibrate_after_ns = 2'000'000;     ///< first rate after 2 ms
    static constexpr std::int64_t reanchor_every_ns = 50'000'000;     ///< anchor refreshed every 50 ms
    static constexpr std::int64_t max_baseline_ns = 10'000'000'000;   ///< rate measured over at most ~10 s

    explicit basic_tsc_clock(bool enabled = true) noexcept : enabled_(enabled) {
        if (!enabled_) return;
        std::uint64_t t = 0;
        std::int64_t w = 0;
        read_pair(t, w);
        base_ticks_.store(t, std::memory_order_relaxed);
        base_ns_.store(w, std::memory_order_relaxed);
        cal_ticks_ = t;
        cal_ns_ = w;
    }

    bool uses_ticks() const noexcept { return enabled_; }
    /// True once a rate has been measured (reads no longer go to the wall source every time).
    bool calibrated() const noexcept { return mult_.load(std::memory_order_acquire) != 0; }

    /// ns since the epoch.
    std::int64_t now() noexcept {
        if (!enabled_) return Source::wall_ns();
        const std::uint64_t t = Source::ticks();
        for (;;) {
            const std::uint32_t s0 = seq_.load(std::memory_order_acquire);
            if (s0 & 1u) break;  // being re-anchored: take the slow path
            const std::uint64_t bt = base_ticks_.load(seqlock_data);
            const std::int64_t bn = base_ns_.load(seqlock_data);
            const std::uint64_t m = mult_.load(seqlock_data);
            const std::uint64_t limit = limit_ticks_.load(seqlock_data);
            seqlock_fence(std::memory_order_acquire);
            if (seq_.load(seqlock_data) != s0) continue;
            const std::uint64_t d = t - bt;
            if (m == 0 || d >= limit) break;  // not calibrated, stale anchor, or ticks went backwards
            return bn + static_cast<std::int64_t>((d * m) >> shift);
        }
        return slow(t);
    }

private:
    static constexpr std::uint64_t pair_ticks = 2000;  ///< ~0.6 us at 3 GHz; a pair is ~100 ticks
    static constexpr unsigned shift = 32;  ///< mult is ns per tick in 32.32 fixed point

#if defined(__GNUC__) || defined(__clang__)
    __attribute__((noinline, cold))
#endif
    std::int64_t slow(std::uint64_t) noexcept {
        if (busy_.test_and_set(std::memory_order_acquire)) return Source::wall_ns();  // another thread re-anchors
        std::uint64_t t = 0;
        std::int64_t w = 0;
        read_pair(t, w);
        reanchor(t, w);
        busy_.clear(std::memory_order_release);
        return w;
    }

    /// A (ticks, wall) pair read close together: ticks are read before and after the wall clock, and the
    /// read is retried (up to 5 times, keeping the tightest) when the two are more than pair_ticks apart,
    /// as when the thread was preempted in between. A loose pair would skew the measured rate.
    static void read_pair(std::uint64_t& t, std::int64_t& w) noexcept {
        std::uint64_t best = ~std::uint64_t{0};
        for (int i = 0; i < 5; ++i) {
            const std::uint64_t a = Source::ticks();
            const std::int64_t x = Source::wall_ns();
            const std::uint64_t b = Source::ticks();
            const std::uint64_t width = b - a;
            if (width < best) {
                best = width;
                t = a + width / 2;
                w = x;
            }
            if (best <= pair_ticks) break;
        }
    }

    void reanchor(std::uint64_t t, std::int64_t w) noexcept {
        // Rate over the calibration baseline; the baseline restarts when it grows past max_baseline_ns so
        // that a slewed system clock is followed.
        std::uint64_t m = mult_.load(std::memory_order_relaxed);
        const std::int64_t dw = w - cal_ns_;
        const std::uint64_t dt = t - cal_ticks_;
        if (dw >= calibrate_after_ns && dt > 0 && static_cast<std::int64_t>(dt) > 0) {
            const double rate = static_cast<double>(dw) / static_cast<double>(dt);  // ns per tick
            if (rate > 0 && rate < 1e3) m = static_cast<std::uint64_t>(rate * double(1ull << shift) + 0.5);
            if (dw >= max_baseline_ns) {
                cal_ticks_ = t;
                cal_ns_ = w;
            }
        } else if (dw < 0 || static_cast<std::int64_t>(dt) < 0) {
            // The wall clock stepped back or the ticks did: start calibrating again.
            cal_ticks_ = t;
            cal_ns_ = w;
            m = 0;
        }
        std::uint64_t limit = ~std::uint64_t{0};
        if (m != 0) {
            limit = static_cast<std::uint64_t>(double(reanchor_every_ns) * double(1ull << shift) / double(m));
            if (limit == 0) limit = 1;
        }
        const std::uint32_t s = seq_.load(std::memory_order_relaxed);
        seq_.store(s + 1, seqlock_data);
        seqlock_fence(std::memory_order_release);
        base_ticks_.store(t, seqlock_data);
        base_ns_.store(w, seqlock_data);
        limit_ticks_.store(m ? limit : 0, seqlock_data);
        mult_.store(m, seqlock_data);
        seq_.store(s + 2, std::memory_order_release);
    }

    const bool enabled_;
    alignas(64) std::atomic<std::uint32_t> seq_{0};
    std::atomic<std::uint64_t> base_ticks_{0};
    std::atomic<std::int64_t> base_ns_{0};
    std::atomic<std::uint64_t> mult_{0};
    std::atomic<std::uint64_t> limit_ticks_{0};
    alignas(64) std::atomic_flag busy_ = ATOMIC_FLAG_INIT;
    std::uint64_t cal_ticks_ = 0;  ///< guarded by busy_
    std::int64_t cal_ns_ = 0;
};

/// The process-wide clock behind every point's time when config::clock is not set.
inline basic_tsc_clock<>& process_clock() noexcept {
    static basic_tsc_clock<> c(invariant_tsc_available());
    return c;
}

/// Wall time in ns since the epoch: the TSC clock where available, else system_clock.
inline std::int64_t fast_clock_ns() noexcept { return process_clock().now(); }

}  // namespace detail
MLTRACK_NAMESPACE_END
