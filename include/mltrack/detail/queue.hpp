// Why: the hot path must cost nanoseconds. A bounded multi-producer single-consumer ring with a sequence
// number per slot (Vyukov's design): a producer claims a slot with one CAS and publishes it with one
// release store; no allocation, lock, syscall or notify. The single consumer (the writer) needs no atomics
// of its own beyond reading the slot sequence.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <type_traits>

#include "../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

template <class T>
class mpsc_ring {
    static_assert(std::is_trivially_copyable_v<T>, "ring items are trivially copyable");

public:
    explicit mpsc_ring(std::size_t capacity) {
        std::size_t cap = 2;
        while (cap < capacity) cap <<= 1;
        mask_ = cap - 1;
        slots_ = std::make_unique<slot[]>(cap);
        for (std::size_t i = 0; i < cap; ++i) slots_[i].seq.store(i, std::memory_order_relaxed);
    }

    std::size_t capacity() const noexcept { return mask_ + 1; }

    /// Pushes `v`; false when the ring is full.
    bool try_push(const T& v) noexcept {
        std::uint64_t pos = head_.load(std::memory_order_relaxed);
        for (;;) {
            slot& s = slots_[pos & mask_];
            const std::uint64_t seq = s.seq.load(std::memory_order_acquire);
            const auto diff = static_cast<std::int64_t>(seq - pos);
            if (diff == 0) {
                if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                    s.value = v;
                    s.seq.store(pos + 1, std::memory_order_release);
                    return true;
                }
            } else if (diff < 0) {
                return false;
            } else {
                pos = head_.load(std::memory_order_relaxed);
            }
        }
    }

    /// Pops one item into `out` (consumer thread only); false when empty.
    bool try_pop(T& out) noexcept {
        slot& s = slots_[tail_ & mask_];
        const std::uint64_t seq = s.seq.load(std::memory_order_acquire);
        if (seq != tail_ + 1) return false;
        out = s.value;
        s.seq.store(tail_ + mask_ + 1, std::memory_order_release);
        ++tail_;
        return true;
    }

    /// Items claimed by producers so far (an upper bound of items pushed).
    std::uint64_t pushed() const noexcept { return head_.load(std::memory_order_relaxed); }

private:
    struct slot {
        std::atomic<std::uint64_t> seq{0};
        T value{};
    };
    std::unique_ptr<slot[]> slots_;
    std::size_t mask_ = 0;
    alignas(64) std::atomic<std::uint64_t> head_{0};
    alignas(64) std::uint64_t tail_ = 0;
};

/// A bounded single-producer single-consumer ring with cached positions: the producer writes only its own
/// head (a plain release store, no read-modify-write) and reads the consumer's tail only when its cached
/// copy says the ring is full. Measured against mpsc_ring as per-thread rings in bench/bench_queue.cpp (see
/// docs/performance.md for why the tracker keeps mpsc_ring).
template <class T>
class spsc_ring {
    static_assert(std::is_trivially_copyable_v<T>, "ring items are trivially copyable");

public:
    explicit spsc_ring(std::size_t capacity) {
        std::size_t cap = 2;
        while (cap < capacity) cap <<= 1;
        mask_ = cap - 1;
        slots_ = std::make_unique<T[]>(cap);
    }

    std::size_t capacity() const noexcept { return mask_ + 1; }

    /// Pushes `v` (producer thread only); false when the ring is full.
    bool try_push(const T& v) noexcept {
        const std::uint64_t h = head_.load(std::memory_order_relaxed);
        if (h - tail_cache_ > mask_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (h - tail_cache_ > mask_) return false;
        }
        slots_[h & mask_] = v;
        head_.store(h + 1, std::memory_order_release);
        return true;
    }

    /// Pops one item into `out` (consumer thread only); false when empty.
    bool try_pop(T& out) noexcept {
        const std::uint64_t t = tail_.load(std::memory_order_relaxed);
        if (t == head_cache_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (t == head_cache_) return false;
        }
        out = slots_[t & mask_];
        tail_.store(t + 1, std::memory_order_release);
        return true;
    }

private:
    std::unique_ptr<T[]> slots_;
    std::size_t mask_ = 0;
    alignas(64) std::atomic<std::uint64_t> head_{0};
    std::uint64_t tail_cache_ = 0;  ///< producer's copy of tail_
    alignas(64) std::atomic<std::uint64_t> tail_{0};
    std::uint64_t head_cache_ = 0;  ///< consumer's copy of head_
};

}  // namespace detail
MLTRACK_NAMESPACE_END
