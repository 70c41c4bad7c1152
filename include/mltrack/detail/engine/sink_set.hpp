// Why: the writer applies each operation (write a batch, flush, tick, ask whether a run exists, let a sink
// refuse a run, ask for a resumed run's steps, close) to every sink of a tracker, each call isolated so that
// one failing sink never stops the others. sink_set is that, behind one virtual call per operation, for a
// tuple of sinks (static composition) or a vector of sinks::any alike.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "../../error.hpp"
#include "../../record.hpp"
#include "sink_set_fwd.hpp"
#include "sink_traits.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Calls f() and turns any exception into a report; never throws.
template <class S, class F>
void guarded(error_reporter& r, const S& sink, F&& f) noexcept {
    try {
        f();
    } catch (const std::exception& e) {
        try { r.report(sink_name(sink), e.what()); } catch (...) {}
    } catch (...) {
        try { r.report(sink_name(sink), "unknown exception"); } catch (...) {}
    }
}

/// The sinks of a tracker, behind one virtual call per batch.
class sink_set {
public:
    virtual ~sink_set() = default;
    virtual void write(const batch& b, error_reporter& r) = 0;
    virtual void flush(error_reporter& r) = 0;
    /// The timed flush (sink_periodic_flush): durability for files, no early send for a batching sink.
    virtual void periodic_flush(error_reporter& r) = 0;
    virtual void tick(std::chrono::steady_clock::time_point now, error_reporter& r) = 0;
    virtual std::optional<bool> exists(const run_info& run, error_reporter& r) = 0;
    /// start_run's questions on the caller's thread: whether any sink has the run (nullopt: none can tell),
    /// and with `create` each sink that can makes it, exclusively. `ask_writer`: a sink can answer only on
    /// the writer thread. A sink that fails to answer counts as not having the run: its open on the writer
    /// fails the same way and is reported there (the caller's thread reports nothing).
    using claimed = run_claim;
    virtual claimed claim(const run_info& run, bool create) = 0;
    /// The earliest time a sink wants tick() again (time_point::max(): none before work arrives).
    virtual std::chrono::steady_clock::time_point next_tick(std::chrono::steady_clock::time_point now) = 0;
    /// The first sink's refusal of a run (check_run), if any.
    virtual std::optional<error> check(const run_info& run, error_reporter& r) = 0;
    /// The highest step per metric key over the sinks that can tell.
    virtual std::map<std::string, std::int64_t> max_steps(const run_info& run, error_reporter& r) = 0;
    virtual void close(error_reporter& r) = 0;
};

/// Applies each operation to every sink of a range (a tuple or a vector), isolated.
template <class ForEach>
class sink_set_impl final : public sink_set {
public:
    explicit sink_set_impl(ForEach each) : each_(std::move(each)) {}
    void write(const batch& b, error_reporter& r) override {
        each_([&](auto& s) { guarded(r, s, [&] { s.write(b); }); });
    }
    void flush(error_reporter& r) override {
        each_([&](auto& s) { guarded(r, s, [&] { s.flush(); }); });
    }
    void periodic_flush(error_reporter& r) override {
        each_([&](auto& s) { guarded(r, s, [&] { sink_periodic_flush(s); }); });
    }
    void tick(std::chrono::steady_clock::time_point now, error_reporter& r) override {
        each_([&](auto& s) { guarded(r, s, [&] { sink_tick(s, now); }); });
    }
    std::optional<bool> exists(const run_info& run, error_reporter& r) override {
        std::optional<bool> any;
        each_([&](auto& s) {
            guarded(r, s, [&] {
                const auto e = sink_exists(s, run);
                if (e) any = (any && *any) || *e;
            });
        });
        return any;
    }
    claimed claim(const run_info& run, bool create) override {
        claimed c;
        each_([&](auto& s) {
            claim_answer a = claim_answer::absent;
            try {
                a = sink_claim(s, run, create);
            } catch (...) {
            }
            if (a == claim_answer::ask_writer) c.ask_writer = true;
            else if (a != claim_answer::cannot_tell) c.exists = c.exists.value_or(false) || a == claim_answer::present;
        });
        return c;
    }
    std::chrono::steady_clock::time_point next_tick(std::chrono::steady_clock::time_point now) override {
        auto t = std::chrono::steady_clock::time_point::max();
        each_([&](auto& s) {
            try {
                t = std::min(t, sink_next_tick(s, now));
            } catch (...) {
                t = now;  // a sink that cannot tell is ticked at once
            }
        });
        return t;
    }
    std::optional<error> check(const run_info& run, error_reporter& r) override {
        std::optional<error> refusal;
        each_([&](auto& s) {
            guarded(r, s, [&] {
                try {
                    sink_check_run(s, run);
                } catch (const error& e) {
                    if (!refusal) refusal = e;
                }
            });
        });
        return refusal;
    }
    std::map<std::string, std::int64_t> max_steps(const run_info& run, error_reporter& r) override {
        std::map<std::string, std::int64_t> out;
        each_([&](auto& s) {
            guarded(r, s, [&] {
                if (const auto m = sink_max_steps(s, run))
                    for (const auto& kv : *m) {
                        auto it = out.find(kv.first);
                        if (it == out.end()) out.emplace(kv.first, kv.second);
                        else if (kv.second > it->second) it->second = kv.second;
                    }
            });
        });
        return out;
    }
    void close(error_reporter& r) override {
        each_([&](auto& s) { guarded(r, s, [&] { sink_close(s); }); });
    }

private:
    ForEach each_;
};

template <class ForEach>
std::unique_ptr<sink_set> make_sink_set(ForEach each) {
    return std::make_unique<sink_set_impl<ForEach>>(std::move(each));
}

}  // namespace detail
MLTRACK_NAMESPACE_END
