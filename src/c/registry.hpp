// Why: a C caller can pass any handle value: one never opened, one already closed, garbage. A pointer
// handle would make each of those a crash (or, worse, a silent use of freed memory). Handles are instead
// 64-bit values, (generation << 32) | (slot index + 1), into a registry of slots that are never freed nor
// moved: a lookup checks the index against the registry's bounds and the value against the slot's live
// handle, so every stale or made-up handle is refused without touching freed memory. A released slot gets
// a new generation when it is reused, so an old handle never names the new occupant (until 2^32 reuses of
// one slot).
//
// Slots are allocated in chunks of 1024, published through atomics, so the hot path (find) takes no lock:
// two loads to reach the slot and one compare. Adding and removing take the registry's mutex (cold calls).
// A slot's value is written before its handle is published (release) and read after the handle is checked
// (acquire); removing a handle while another thread still uses it is the caller's race, as in C++.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <utility>

namespace mltrack_c {

template <class T>
class registry {
public:
    static constexpr std::uint32_t chunk_bits = 10;
    static constexpr std::uint32_t chunk_size = 1u << chunk_bits;
    static constexpr std::uint32_t max_chunks = 1u << 12;  ///< 4 Mi live handles of one kind at most

    struct slot {
        std::atomic<std::uint64_t> live{0};  ///< the handle that names this slot now; 0 when free
        std::uint32_t generation = 0;        ///< under the mutex
        std::uint32_t next_free = 0;         ///< free list link (index + 1; 0: end), under the mutex
        T value{};
    };

    constexpr registry() noexcept = default;
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    /// Stores `value` in a free slot and returns its handle; throws std::bad_alloc when the registry is full.
    std::uint64_t add(T value) {
        std::lock_guard<std::mutex> lock(mutex_);
        std::uint32_t index;
        if (free_head_ != 0) {
            index = free_head_ - 1;
        } else {
            if (used_ == chunk_size * max_chunks) throw std::bad_alloc();
            index = used_;
            const std::uint32_t c = index >> chunk_bits;
            if (!chunks_[c].load(std::memory_order_relaxed))
                chunks_[c].store(new slot[chunk_size], std::memory_order_release);  // never freed
        }
        slot& s = at(index);
        if (free_head_ != 0) free_head_ = s.next_free;
        else ++used_;
        s.value = std::move(value);
        if (++s.generation == 0) s.generation = 1;  // a handle is never 0
        const std::uint64_t h = (std::uint64_t{s.generation} << 32) | (std::uint64_t{index} + 1);
        s.live.store(h, std::memory_order_release);
        return h;
    }

    /// Removes the handle and gives its value back; false (nothing changed) when the handle is not live.
    bool remove(std::uint64_t h, T* out) {
        std::lock_guard<std::mutex> lock(mutex_);
        slot* s = find(h);
        if (!s) return false;
        s->live.store(0, std::memory_order_release);
        T v = std::move(s->value);
        s->value = T{};
        s->next_free = free_head_;
        free_head_ = static_cast<std::uint32_t>(h & 0xffffffffu);
        if (out) *out = std::move(v);
        return true;
    }

    /// A copy of the handle's value, taken under the mutex (for values that own something: shared_ptr).
    bool get(std::uint64_t h, T& out) const {
        std::lock_guard<std::mutex> lock(mutex_);
        const slot* s = find(h);
        if (!s) return false;
        out = s->value;
        return true;
    }

    /// The slot of a live handle, or nullptr. No lock: the hot path.
    slot* find(std::uint64_t h) const noexcept {
        const std::uint32_t low = static_cast<std::uint32_t>(h & 0xffffffffu);
        if (low == 0) return nullptr;
        const std::uint32_t index = low - 1;
        if (index >= chunk_size * max_chunks) return nullptr;
        slot* c = chunks_[index >> chunk_bits].load(std::memory_order_acquire);
        if (!c) return nullptr;
        slot& s = c[index & (chunk_size - 1)];
        if (s.live.load(std::memory_order_acquire) != h) return nullptr;
        return &s;
    }

    /// Calls f(value) for every live handle's value, under the mutex.
    template <class F>
    void for_each(F&& f) const {
        std::lock_guard<std::mutex> lock(mutex_);
        for (std::uint32_t i = 0; i < used_; ++i) {
            const slot& s = at(i);
            if (s.live.load(std::memory_order_relaxed) != 0) f(s.value);
        }
    }

private:
    slot& at(std::uint32_t index) const noexcept {
        return chunks_[index >> chunk_bits].load(std::memory_order_relaxed)[index & (chunk_size - 1)];
    }

    std::atomic<slot*> chunks_[max_chunks] = {};
    mutable std::mutex mutex_;
    std::uint32_t used_ = 0;       ///< slots ever handed out (indexes below are in allocated chunks)
    std::uint32_t free_head_ = 0;  ///< index + 1 of the first free slot; 0: none
};

}  // namespace mltrack_c
