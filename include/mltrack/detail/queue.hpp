// Why: the hot path must cost nanoseconds. mpsc_ring is a bounded multi-producer single-consumer ring with
// a sequence number per slot (Vyukov's design): a producer claims a slot with one CAS and publishes it with
// one release store. spsc_ring is a single-producer ring with cached positions: one plain release store,
// no read-modify-write. thread_rings, the tracker's queue, gives each producer thread its own spsc_ring for
// metric points and keeps control items in order with them through one shared mpsc_ring (bench/bench_queue
// measures both: ~1 ns against ~6 ns per push alone, ~5 ns against ~35 ns with four producers). No
// allocation (after a thread's first point), lock, syscall or notify on a point's path.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

#include "../version.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define MLTRACK_COLD __attribute__((noinline, cold))  // keeps slow paths out of the inlined hot path
#else
#define MLTRACK_COLD
#endif

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

    /// The oldest item, or nullptr when empty (consumer thread only); pop_front() removes it.
    const T* front() noexcept {
        const std::uint64_t t = tail_.load(std::memory_order_relaxed);
        if (t == head_cache_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (t == head_cache_) return nullptr;
        }
        return &slots_[t & mask_];
    }
    void pop_front() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

    /// Items pushed so far.
    std::uint64_t pushed() const noexcept { return head_.load(std::memory_order_relaxed); }

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

/// Tells a control item by its `cold` pointer (set for everything but a metric point).
struct has_cold_pointer {
    template <class T>
    bool operator()(const T& item) const noexcept {
        return item.cold != nullptr;
    }
};

/// The hot path's queue: each producer thread pushes points into its own spsc_ring (no read-modify-write,
/// no shared counter written); control items (IsControl{}(item) is true: run start and end, metric
/// definitions, flush, close) go into one shared mpsc_ring, numbered under a lock in ring order. A point
/// carries the number of control items pushed before it (read, not written, by its producer), and the
/// consumer hands out a point only once it has handed out that many control items, and hands out a control
/// item only after every point numbered before it that is already in a ring. So a metric definition or a
/// run start always precedes the points that use it, and a flush or a run end follows every point that
/// happened before it, whatever thread logged it. Per-thread order is kept; order between threads is the
/// order the writer finds them in. Threads past `max_rings` (and a thread whose ring cannot be allocated)
/// push points into the shared ring, in order with the control items there.
template <class T, class IsControl>
class thread_rings {
public:
    static constexpr std::size_t max_rings = 16;

    explicit thread_rings(std::size_t capacity) : shared_(capacity) {}
    thread_rings(const thread_rings&) = delete;
    thread_rings& operator=(const thread_rings&) = delete;

    /// Slots of the shared ring and of each thread's ring.
    std::size_t capacity() const noexcept { return shared_.capacity(); }

    /// Pushes `v`; false when the ring it goes to is full.
    bool try_push(const T& v) noexcept {
        if (IsControl{}(v)) return push_control(v);
        ring* r = my_ring();
        if (!r) return shared_.try_push(v);
        return r->try_push(entry{v, controls_.load(std::memory_order_acquire)});
    }

    /// Pops the next item in an order that respects the rules above (consumer thread only).
    bool try_pop(T& out) noexcept {
        if (!have_pending_ && shared_.try_pop(pending_)) {
            if (!IsControl{}(pending_)) {  // a point of a thread without a ring: ordered by the shared ring
                out = pending_;
                return true;
            }
            have_pending_ = true;
        }
        const std::size_t n = nrings_.load(std::memory_order_acquire);
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t i = (current_ + k) % n;
            ring& r = *rings_[i].load(std::memory_order_relaxed);
            const entry* e = r.front();
            if (!e || e->controls > applied_) continue;
            out = e->value;
            r.pop_front();
            if (i != current_) {
                current_ = i;
                taken_ = 0;
            }
            if (++taken_ >= 64) {  // take turns between threads
                current_ = (i + 1) % n;
                taken_ = 0;
            }
            return true;
        }
        if (have_pending_) {
            out = pending_;
            have_pending_ = false;
            ++applied_;
            return true;
        }
        return false;
    }

    /// Items pushed so far (an upper bound while pushes are in flight).
    std::uint64_t pushed() const noexcept {
        std::uint64_t n = shared_.pushed();
        const std::size_t k = nrings_.load(std::memory_order_acquire);
        for (std::size_t i = 0; i < k; ++i) n += rings_[i].load(std::memory_order_relaxed)->pushed();
        return n;
    }

    /// Threads that have a ring of their own.
    std::size_t rings() const noexcept { return nrings_.load(std::memory_order_acquire); }

private:
    struct entry {
        T value;
        std::uint64_t controls;  ///< control items pushed before this point
    };
    using ring = spsc_ring<entry>;

    MLTRACK_COLD bool push_control(const T& v) noexcept {
        std::lock_guard<std::mutex> lock(control_m_);
        if (!shared_.try_push(v)) return false;
        controls_.store(controls_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
        return true;
    }

    /// This thread's ring: a thread-local cache keyed by a never-reused id, else the registry (which
    /// allocates the ring on a thread's first point). nullptr: use the shared ring.
    ring* my_ring() noexcept {
        struct slot {
            std::uint64_t owner;
            ring* r;
        };
        thread_local slot cache[8] = {};
        slot& c = cache[id_ % 8];
        if (c.owner == id_) return c.r;
        ring* r = register_thread();
        c.owner = id_;
        c.r = r;
        return r;
    }

    MLTRACK_COLD ring* register_thread() noexcept {
        try {
            std::lock_guard<std::mutex> lock(register_m_);
            const auto me = std::this_thread::get_id();
            const std::size_t n = nrings_.load(std::memory_order_relaxed);
            for (std::size_t i = 0; i < n; ++i)
                if (owners_[i] == me) return owned_[i].get();
            for (std::size_t i = 0; i < overflow_n_; ++i)
                if (overflow_[i] == me) return nullptr;
            if (n == max_rings) {
                if (overflow_n_ < overflow_size) overflow_[overflow_n_++] = me;
                return nullptr;
            }
            owned_[n] = std::make_unique<ring>(shared_.capacity());
            owners_[n] = me;
            rings_[n].store(owned_[n].get(), std::memory_order_relaxed);
            nrings_.store(n + 1, std::memory_order_release);
            return owned_[n].get();
        } catch (...) {
            return nullptr;  // no memory for a ring: this thread's points take the shared ring
        }
    }

    static std::uint64_t next_id() noexcept {
        static std::atomic<std::uint64_t> next{1};
        return next.fetch_add(1, std::memory_order_relaxed);
    }

    static constexpr std::size_t overflow_size = 256;

    mpsc_ring<T> shared_;
    const std::uint64_t id_ = next_id();
    alignas(64) std::atomic<std::uint64_t> controls_{0};  ///< written only by control pushes
    std::mutex control_m_;
    alignas(64) std::atomic<std::size_t> nrings_{0};
    std::atomic<ring*> rings_[max_rings] = {};
    std::mutex register_m_;
    std::unique_ptr<ring> owned_[max_rings];
    std::thread::id owners_[max_rings];
    std::thread::id overflow_[overflow_size];  ///< threads that asked when all rings were taken
    std::size_t overflow_n_ = 0;
    // consumer state
    alignas(64) T pending_{};
    bool have_pending_ = false;
    std::uint64_t applied_ = 0;
    std::size_t current_ = 0;
    unsigned taken_ = 0;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
