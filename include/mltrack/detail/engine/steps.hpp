// Why: a point logged without a step takes the next step of its metric, and a log_time_series call without
// a step takes the run's next step for all its values (the Vertex AI SDK's step=None). Only the writer
// thread sees every point of a run in order, so steps are resolved there and the hot path stays one
// 32-byte push: a point asks for the next step by setting auto_step_bit in its metric id. step_counter keeps,
// per run, the highest step of each metric and of the run (explicit and automatic steps alike), plus
// what the sinks already hold for a resumed run (its seeds).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Set in metric_point::metric: the point takes its metric's next step (metric_point::step is ignored).
inline constexpr std::uint32_t auto_step_bit = 0x80000000u;

class step_counter {
public:
    /// Records a point at `step` (explicit, or resolved by next()).
    void saw(std::uint32_t metric, std::int64_t step) {
        if (metric >= by_metric_.size()) by_metric_.resize(metric + std::size_t{1});
        entry& e = by_metric_[metric];
        if (!e.seen || step > e.high) e = entry{step, true};
        if (!run_seen_ || step > run_high_) {
            run_high_ = step;
            run_seen_ = true;
        }
    }

    /// The next step of a metric: one more than the highest step it has in the run (here or in the seeds),
    /// 1 for its first point. Records it.
    std::int64_t next(std::uint32_t metric, const std::string& key) {
        bool have = false;
        std::int64_t high = 0;
        if (metric < by_metric_.size() && by_metric_[metric].seen) {
            have = true;
            high = by_metric_[metric].high;
        }
        const auto s = seeds_.find(key);
        if (s != seeds_.end() && (!have || s->second > high)) {
            have = true;
            high = s->second;
        }
        const std::int64_t step = after(have, high);
        saw(metric, step);
        return step;
    }

    /// The run's next step: one more than the highest step of any metric of the run, 1 for its first
    /// point. Not recorded: the caller records each point it gives it to.
    std::int64_t next_for_run() const {
        bool have = run_seen_;
        std::int64_t high = run_high_;
        for (const auto& kv : seeds_)
            if (!have || kv.second > high) {
                have = true;
                high = kv.second;
            }
        return after(have, high);
    }

    /// The highest step of a metric (here or in the seeds); nullopt before its first point.
    std::optional<std::int64_t> highest(std::uint32_t metric, const std::string& key) const {
        std::optional<std::int64_t> high;
        if (metric < by_metric_.size() && by_metric_[metric].seen) high = by_metric_[metric].high;
        const auto s = seeds_.find(key);
        if (s != seeds_.end() && (!high || s->second > *high)) high = s->second;
        return high;
    }

    /// The highest step of any metric of the run (here or in the seeds); nullopt before any point.
    std::optional<std::int64_t> highest() const {
        std::optional<std::int64_t> high;
        if (run_seen_) high = run_high_;
        for (const auto& kv : seeds_)
            if (!high || kv.second > *high) high = kv.second;
        return high;
    }

    /// What the sinks hold for a resumed run: the highest step per metric key.
    void seed(const std::map<std::string, std::int64_t>& highest) {
        for (const auto& kv : highest) {
            auto it = seeds_.find(kv.first);
            if (it == seeds_.end()) seeds_.emplace(kv.first, kv.second);
            else if (kv.second > it->second) it->second = kv.second;
        }
    }

private:
    struct entry {
        std::int64_t high = 0;
        bool seen = false;
    };

    static std::int64_t after(bool have, std::int64_t high) noexcept {
        if (!have) return 1;
        return high == std::numeric_limits<std::int64_t>::max() ? high : high + 1;
    }

    std::vector<entry> by_metric_;
    std::int64_t run_high_ = 0;
    bool run_seen_ = false;
    std::map<std::string, std::int64_t> seeds_;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
