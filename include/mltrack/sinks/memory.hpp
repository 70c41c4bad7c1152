// Why: an instrumented sink that keeps every record in memory, for tests and for users who want to look at
// what a tracker produced without files. Copies share one store, so keep a copy and give one to the tracker.
// It can also fail on demand, to test error isolation.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/compiled.hpp"
#include "../record.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

class memory {
public:
    /// One event as the sink saw it, owning its data.
    struct entry {
        record_kind kind;
        std::string experiment;
        std::string run;
        std::int64_t time_ns = 0;
        std::int64_t step = 0;
        double value = 0.0;           ///< metric events
        std::string metric;           ///< metric events
        std::optional<record> payload;  ///< cold events
        run_info info;                ///< run_start and run_resume events
    };

    memory() : s_(std::make_shared<state>()) {}

    void write(const batch& b);

    void flush() {
        std::lock_guard<std::mutex> lock(s_->m);
        ++s_->flushes;
    }

    void close() {
        std::lock_guard<std::mutex> lock(s_->m);
        s_->closed = true;
    }

    std::string_view name() const { return "memory"; }

    // ---- inspection (any thread)

    std::vector<entry> entries() const;
    std::size_t count(record_kind k) const {
        std::lock_guard<std::mutex> lock(s_->m);
        std::size_t n = 0;
        for (const auto& e : s_->entries) n += e.kind == k;
        return n;
    }
    /// (step, value) of one metric of one run, in arrival order.
    std::vector<std::pair<std::int64_t, double>> series(std::string_view run, std::string_view metric) const {
        std::lock_guard<std::mutex> lock(s_->m);
        std::vector<std::pair<std::int64_t, double>> out;
        for (const auto& e : s_->entries)
            if (e.kind == record_kind::metric && e.run == run && e.metric == metric) out.emplace_back(e.step, e.value);
        return out;
    }
    std::size_t writes() const { std::lock_guard<std::mutex> lock(s_->m); return s_->writes; }
    std::size_t flushes() const { std::lock_guard<std::mutex> lock(s_->m); return s_->flushes; }
    bool closed() const { std::lock_guard<std::mutex> lock(s_->m); return s_->closed; }

    /// The next `n` write() calls throw (their events are lost for this sink only).
    void fail_next_writes(std::size_t n) {
        std::lock_guard<std::mutex> lock(s_->m);
        s_->fail_writes = n;
    }

private:
    struct state {
        mutable std::mutex m;
        std::vector<entry> entries;
        std::size_t writes = 0, flushes = 0, fail_writes = 0;
        bool closed = false;
    };
    std::shared_ptr<state> s_;
};

}  // namespace sinks
MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
MLTRACK_NAMESPACE_BEGIN
namespace sinks {

MLTRACK_INLINE void memory::write(const batch& b) {
    std::lock_guard<std::mutex> lock(s_->m);
    if (s_->fail_writes > 0) {
        --s_->fail_writes;
        throw std::runtime_error("injected write failure");
    }
    for (const event& e : b) {
        entry x{e.kind, e.run->experiment, e.run->name, e.time_ns, e.step, e.value, {}, {}, {}};
        if (e.kind == record_kind::metric) x.metric = e.metric->name;
        if (e.payload) x.payload = *e.payload;
        if (e.kind == record_kind::run_start || e.kind == record_kind::run_resume) x.info = *e.run;
        s_->entries.push_back(std::move(x));
    }
    ++s_->writes;
}

MLTRACK_INLINE std::vector<memory::entry> memory::entries() const {
    std::lock_guard<std::mutex> lock(s_->m);
    return s_->entries;
}

}  // namespace sinks
MLTRACK_NAMESPACE_END
#endif
