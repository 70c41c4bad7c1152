// Why: the hot path must cost nanoseconds. mpsc_ring is a bounded multi-producer single-consumer ring with
// a sequence number per slot (Vyukov's design): a producer claims a slot with one CAS and publishes it with
// one release store. spsc_ring is a single-producer ring with cached positions: one plain release store,
// no read-modify-write. thread_rings, the tracker's queue, gives each producer thread its own spsc_ring for
// metric points and keeps control items in order with them through one shared mpsc_ring (bench/bench_queue
// measures both: ~1 ns against ~6 ns per push alone, ~5 ns against ~35 ns with four producers). No
// allocation (after a thread's first point), lock, syscall or notify on a point's path; every capacity/8-th
// point of a thread is a "nudge", on which the tracker checks whether its writer sleeps (and then wakes it).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <type_traits>

#include <sys/mman.h>

#include "../../version.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define MLTRACK_COLD __attribute__((noinline, cold))  // keeps slow paths out of the inlined hot path
#else
#define MLTRACK_COLD
#endif

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// `capacity` rounded up to a power of two (at least 2): the slots of a ring.
inline std::size_t ring_slots(std::size_t capacity) noexcept {
    std::size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    return cap;
}

/// Zero-filled slots straight from the kernel (an anonymous mapping): a page is committed when a ring first
/// writes to it, or when the writer thread pre-faults the ring (prefault()), never by the constructor. A
/// 65,536-slot ring is 3 MiB; committing it at once costs about 1 ms on a VM, on the thread that makes the
/// tracker or logs its first point. All-zero bytes are a valid empty slot for every ring here.
template <class T>
class zero_pages {
    static_assert(std::is_trivially_destructible_v<T>, "plain slots only");

public:
    explicit zero_pages(std::size_t n) : bytes_(n * sizeof(T)) {
        void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        p_ = static_cast<T*>(p);
    }
    zero_pages(const zero_pages&) = delete;
    zero_pages& operator=(const zero_pages&) = delete;
    ~zero_pages() { ::munmap(p_, bytes_); }

    T& operator[](std::size_t i) const noexcept { return p_[i]; }

    /// Commits every page now (Linux 5.14+; elsewhere the pages are committed as they are first written).
    /// Touches no slot's contents, so it is safe while producers write.
    void prefault() const noexcept {
#ifdef MADV_POPULATE_WRITE
        ::madvise(p_, bytes_, MADV_POPULATE_WRITE);
#endif
    }

private:
    std::size_t bytes_;
    T* p_ = nullptr;
};

template <class T>
class mpsc_ring {
    static_assert(std::is_trivially_copyable_v<T>, "ring items are trivially copyable");

public:
    explicit mpsc_ring(std::size_t capacity)
        : slots_(ring_slots(capacity)), mask_(ring_slots(capacity) - 1) {}

    std::size_t capacity() const noexcept { return mask_ + 1; }

    /// Pushes `v`; returns the items the ring has taken so far, this one included (0: full, nothing pushed).
    std::uint64_t push(const T& v) noexcept {
        std::uint64_t pos = head_.load(std::memory_order_relaxed);
        for (;;) {
            slot& s = slots_[pos & mask_];
            const std::uint64_t seq = s.seq.load(std::memory_order_acquire) + (pos & mask_);
            const auto diff = static_cast<std::int64_t>(seq - pos);
            if (diff == 0) {
                if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                    s.value = v;
                    s.seq.store(pos + 1 - (pos & mask_), std::memory_order_release);
                    return pos + 1;
                }
            } else if (diff < 0) {
                return 0;
            } else {
                pos = head_.load(std::memory_order_relaxed);
            }
        }
    }
    /// Pushes `v`; false when the ring is full.
    bool try_push(const T& v) noexcept { return push(v) != 0; }

    /// Whether an item is ready to pop (consumer thread only).
    bool ready() const noexcept {
        const slot& s = slots_[tail_ & mask_];
        return s.seq.load(std::memory_order_acquire) == tail_ - (tail_ & mask_) + 1;
    }

    /// Pops one item into `out` (consumer thread only); false when empty.
    bool try_pop(T& out) noexcept {
        slot& s = slots_[tail_ & mask_];
        const std::uint64_t base = tail_ - (tail_ & mask_);  // seq is stored less the slot's index
        if (s.seq.load(std::memory_order_acquire) != base + 1) return false;
        out = s.value;
        s.seq.store(base + mask_ + 1, std::memory_order_release);
        ++tail_;
        return true;
    }

    /// Items claimed by producers so far (an upper bound of items pushed).
    std::uint64_t pushed() const noexcept { return head_.load(std::memory_order_relaxed); }

private:
    /// Vyukov's sequence, stored less the slot's index, so that all-zero memory is the empty ring.
    struct slot {
        std::atomic<std::uint64_t> seq;
        T value;
    };
    zero_pages<slot> slots_;
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
    explicit spsc_ring(std::size_t capacity)
        : slots_(ring_slots(capacity)), mask_(ring_slots(capacity) - 1) {}

    void prefault() const noexcept { slots_.prefault(); }

    std::size_t capacity() const noexcept { return mask_ + 1; }

    /// Pushes `v` (producer thread only); returns the items the ring has taken so far, this one included
    /// (0: full, nothing pushed).
    std::uint64_t push(const T& v) noexcept {
        const std::uint64_t h = head_.load(std::memory_order_relaxed);
        if (h - tail_cache_ > mask_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (h - tail_cache_ > mask_) return 0;
        }
        slots_[h & mask_] = v;
        head_.store(h + 1, std::memory_order_release);
        return h + 1;
    }
    /// Pushes `v` (producer thread only); false when the ring is full.
    bool try_push(const T& v) noexcept { return push(v) != 0; }

    /// Whether an item is ready to pop (consumer thread only).
    bool ready() const noexcept {
        return head_.load(std::memory_order_acquire) != tail_.load(std::memory_order_relaxed);
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
    zero_pages<T> slots_;
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

    explicit thread_rings(std::size_t capacity)
        : shared_(capacity), nudge_mask_(std::max<std::size_t>(shared_.capacity() / 8, 1) - 1) {}
    thread_rings(const thread_rings&) = delete;
    thread_rings& operator=(const thread_rings&) = delete;

    /// Slots of the shared ring and of each thread's ring.
    std::size_t capacity() const noexcept { return shared_.capacity(); }

    enum class pushed_as : std::uint8_t { full, queued, nudge };

    /// Pushes `v`: `full` when the ring it goes to is full (nothing pushed), else `queued`, or `nudge` for a
    /// control item and for every capacity/8-th point of a ring: a sleeping consumer should be woken now
    /// (between nudges, it finds the points when it wakes by itself).
    pushed_as push(const T& v) noexcept {
        if (IsControl{}(v)) return push_control(v) ? pushed_as::nudge : pushed_as::full;
        ring* r = my_ring();
        const std::uint64_t n = r ? r->push(entry{v, controls_.load(std::memory_order_acquire)}) : shared_.push(v);
        if (n == 0) return pushed_as::full;
        return (n & nudge_mask_) == 0 ? pushed_as::nudge : pushed_as::queued;
    }
    /// Pushes `v`; false when the ring it goes to is full.
    bool try_push(const T& v) noexcept { return push(v) != pushed_as::full; }

    /// Whether an item may be waiting (consumer thread only): false means every ring was empty just now.
    bool ready() noexcept {
        if (have_pending_ || shared_.ready()) return true;
        const std::size_t n = nrings_.load(std::memory_order_acquire);
        for (std::size_t i = 0; i < n; ++i)
            if (rings_[i].load(std::memory_order_relaxed)->ready()) return true;
        return false;
    }

    /// Pops the next item in an order that respects the rules above (consumer thread only).
    bool try_pop(T& out) noexcept {
        const std::size_t n = nrings_.load(std::memory_order_acquire);
        if (n != prefaulted_) prefault(n);
        if (!have_pending_ && shared_.try_pop(pending_)) {
            if (!IsControl{}(pending_)) {  // a point of a thread without a ring: ordered by the shared ring
                out = pending_;
                return true;
            }
            have_pending_ = true;
        }
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

    /// Called (under a lock, once per thread) when a thread gets its ring: the tracker wakes its writer.
    void on_new_ring(void (*fn)(void*), void* context) noexcept {
        on_new_ring_ = fn;
        on_new_ring_context_ = context;
    }

    /// Threads that have a ring of their own.
    std::size_t rings() const noexcept { return nrings_.load(std::memory_order_acquire); }

private:
    struct entry {
        T value;
        std::uint64_t controls;  ///< control items pushed before this point
    };
    using ring = spsc_ring<entry>;

    /// The consumer commits the memory of a thread's ring when it first sees it (about 1 ms for 3 MiB), so
    /// that the thread's first point does not pay for it and fewer of its first-pass writes take a page
    /// fault. The shared ring (control items, and the points of threads beyond max_rings) is committed as it
    /// is used: committing it up front would hold up a start_run that comes right after the constructor.
    MLTRACK_COLD void prefault(std::size_t n) noexcept {
        for (std::size_t i = prefaulted_; i < n; ++i) rings_[i].load(std::memory_order_relaxed)->prefault();
        prefaulted_ = n;
    }

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
            if (on_new_ring_) on_new_ring_(on_new_ring_context_);  // the consumer commits its memory
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
    const std::size_t nudge_mask_;  ///< a ring's pushes between two nudges, less one (a power of two)
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
    void (*on_new_ring_)(void*) = nullptr;
    void* on_new_ring_context_ = nullptr;
    // consumer state
    std::size_t prefaulted_ = 0;  ///< thread rings whose memory the consumer has committed
    alignas(64) T pending_{};
    bool have_pending_ = false;
    std::uint64_t applied_ = 0;
    std::size_t current_ = 0;
    unsigned taken_ = 0;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
