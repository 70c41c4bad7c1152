// Why: a runtime-configured tracker (sinks chosen from a config file or command line) needs sinks of
// different types in one container. `sinks::any` erases the type behind one virtual call per batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "../detail/engine/sink_traits.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

class jsonl;
class tensorboard;

class any {
public:
    template <class S, std::enable_if_t<!std::is_same_v<std::decay_t<S>, any>, int> = 0>
    any(S&& sink) : p_(std::make_unique<model<std::decay_t<S>>>(std::forward<S>(sink))) {}
    /// The built-in file sinks' wrappers, defined with their sinks: in compiled mode (detail/compiled.hpp)
    /// their virtual functions are compiled once, not in every translation unit that makes a tracker.
    any(jsonl&& sink);
    any(tensorboard&& sink);

    any(any&&) noexcept = default;
    any& operator=(any&&) noexcept = default;

    void write(const batch& b) { p_->write(b); }
    void flush() { p_->flush(); }
    /// The writer's timed flush of the wrapped sink (see detail::sink_periodic_flush).
    void periodic_flush() { p_->periodic_flush(); }
    void tick(std::chrono::steady_clock::time_point now) { p_->tick(now); }
    /// When the wrapped sink next needs tick() (see detail::sink_next_tick).
    std::chrono::steady_clock::time_point next_tick() { return p_->next_tick(); }
    void close() { p_->close(); }
    /// Whether the wrapped sink has this run; nullopt when it cannot tell.
    std::optional<bool> exists(const run_info& run) { return p_->exists(run); }
    /// The wrapped sink's answer to start_run on the caller's thread (detail::sink_claim).
    detail::claim_answer claim_answer(const run_info& run, bool create) const { return p_->claim(run, create); }
    /// Throws the wrapped sink's refusal of a run (mltrack::error), if it has one.
    void check_run(const run_info& run) { p_->check_run(run); }
    /// The highest step per metric key the wrapped sink holds for a run; nullopt when it cannot tell.
    std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info& run) { return p_->max_steps(run); }
    std::string name() const { return p_->name(); }

    /// The wrapped sink, when it is an S; nullptr otherwise.
    template <class S>
    S* get() noexcept {
        auto* m = dynamic_cast<model<S>*>(p_.get());
        return m ? &m->sink : nullptr;
    }

private:
    struct iface {
        virtual ~iface() = default;
        virtual void write(const batch&) = 0;
        virtual void flush() = 0;
        virtual void periodic_flush() = 0;
        virtual void tick(std::chrono::steady_clock::time_point) = 0;
        virtual std::chrono::steady_clock::time_point next_tick() = 0;
        virtual void close() = 0;
        virtual std::optional<bool> exists(const run_info&) = 0;
        virtual detail::claim_answer claim(const run_info&, bool) const = 0;
        virtual void check_run(const run_info&) = 0;
        virtual std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info&) = 0;
        virtual std::string name() const = 0;
    };
    template <class S>
    struct model final : iface {
        explicit model(S s) : sink(std::move(s)) {}
        void write(const batch& b) override { sink.write(b); }
        void flush() override { sink.flush(); }
        void periodic_flush() override { detail::sink_periodic_flush(sink); }
        void tick(std::chrono::steady_clock::time_point now) override { detail::sink_tick(sink, now); }
        std::chrono::steady_clock::time_point next_tick() override {
            return detail::sink_next_tick(sink, std::chrono::steady_clock::now());
        }
        void close() override { detail::sink_close(sink); }
        std::optional<bool> exists(const run_info& run) override { return detail::sink_exists(sink, run); }
        detail::claim_answer claim(const run_info& run, bool create) const override {
            return detail::sink_claim(sink, run, create);
        }
        void check_run(const run_info& run) override { detail::sink_check_run(sink, run); }
        std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info& run) override {
            return detail::sink_max_steps(sink, run);
        }
        std::string name() const override { return detail::sink_name(sink); }
        S sink;
    };
    std::unique_ptr<iface> p_;
};

}  // namespace sinks

MLTRACK_NAMESPACE_END
