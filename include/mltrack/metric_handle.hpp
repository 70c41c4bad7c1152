// Why: the hot path users hold. A metric handle is interned once (run.metric(key)) and then logs a point
// with one clock read and one push into the thread's own ring: noexcept, no allocation, no lock. Kept
// apart from run.hpp so the type users pass around is small to read.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

#include "detail/engine/core.hpp"

MLTRACK_NAMESPACE_BEGIN

class run;

/// A metric interned once: logging through it is the hot path. Cheap to copy; safe to use from any
/// thread; points logged after the run ended or the tracker closed are counted, not written.
class metric_handle {
public:
    metric_handle() = default;

    /// Logs one point. Never throws, never allocates; NaN and infinities are kept as they are.
    void log(double value, std::int64_t step) const noexcept {
        if (!core_) return;
        core_->push_point_now(run_, id_, step, value);
    }

    /// Logs one point at the metric's next step: one more than the highest step it has in the run, 1 for its
    /// first point (the Vertex AI SDK's step=None). The writer thread resolves the step, so this costs the
    /// same as log(value, step).
    void log(double value) const noexcept {
        if (!core_) return;
        core_->push_point_now(run_, id_ | detail::auto_step_bit, 0, value);
    }

    /// Logs one point with an explicit wall time (ns since the Unix epoch).
    void log(double value, std::int64_t step, std::int64_t time_ns) const noexcept {
        if (!core_) return;
        core_->push_point(metric_point{run_, id_, step, value, time_ns});
    }

    explicit operator bool() const noexcept { return core_ != nullptr; }

private:
    friend class run;
    metric_handle(std::shared_ptr<detail::core> keep, std::uint32_t run, std::uint32_t id)
        : keep_(std::move(keep)), core_(keep_.get()), run_(run), id_(id) {}

    std::shared_ptr<detail::core> keep_;
    detail::core* core_ = nullptr;
    std::uint32_t run_ = 0;
    std::uint32_t id_ = 0;
};

MLTRACK_NAMESPACE_END
