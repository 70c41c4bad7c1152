// Why: a tracker made before fork() must go inert in the child (no writer thread there, and the parent's
// locks may be held forever). A process-wide generation, bumped by a pthread_atfork hook, tells it.
#pragma once

#include <atomic>
#include <cstdint>

#include <pthread.h>

#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Bumped in the child of every fork(): a tracker made before the fork sees a generation that is not its
/// own and goes inert there (the child has no writer thread, and the parent's locks may be held forever).
inline std::atomic<std::uint32_t>& fork_generation() noexcept {
    static std::atomic<std::uint32_t> generation{0};  // constant-initialized: no guard on the hot path
    return generation;
}

/// Registers the fork hook once per process; returns the current generation.
inline std::uint32_t watch_forks() noexcept {
    static const int registered =
        ::pthread_atfork(nullptr, nullptr, [] { fork_generation().fetch_add(1, std::memory_order_relaxed); });
    (void)registered;
    return fork_generation().load(std::memory_order_relaxed);
}

/// The generation a live core never matches: an inert core (a rank that does not write) uses it.
inline constexpr std::uint32_t inert_generation = 0xffffffffu;

}  // namespace detail
MLTRACK_NAMESPACE_END
