// Why: `run.log("train/loss", v, step)` must not take the tracker's interning mutex for a key it has seen
// before. Each thread keeps a small direct-mapped cache from (owner, key) to the interned metric id; a hit
// costs one hash and one string compare, with no lock, no allocation and no shared write. A miss (first use
// of a key on this thread, or a collision) goes to the owner's interning, which validates the key.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// A process-unique id for an owner of interned ids (never reused, unlike an address).
inline std::uint64_t next_key_owner_id() noexcept {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
}

class key_cache {
public:
    static constexpr std::size_t slots = 128;

    /// The id of `key` for `owner`, from this thread's cache or from intern(key) (which may throw).
    template <class Intern>
    static std::uint32_t lookup(std::uint64_t owner, std::string_view key, Intern&& intern) {
        const std::size_t h = std::hash<std::string_view>{}(key);
        entry& e = local().e[(h ^ (owner * 0x9E3779B97F4A7C15ull)) % slots];
        if (e.owner == owner && e.hash == h && std::string_view(e.key) == key) return e.id;
        const std::uint32_t id = intern(key);
        e.owner = 0;  // stays invalid if assigning the key throws
        e.key.assign(key.data(), key.size());
        e.hash = h;
        e.id = id;
        e.owner = owner;
        return id;
    }

private:
    struct entry {
        std::uint64_t owner = 0;
        std::size_t hash = 0;
        std::uint32_t id = 0;
        std::string key;
    };
    struct table {
        entry e[slots];
    };
    static table& local() {
        thread_local table t;
        return t;
    }
};

}  // namespace detail
MLTRACK_NAMESPACE_END
