// Why: what travels through the tracker's queue. A queue item is 40 bytes: a metric point, or a pointer to
// a cold item that owns its payload (a record, a run's opening, a metric's definition, a flush) and may carry
// a ticket its caller waits on.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "../../config.hpp"
#include "../../error.hpp"
#include "../../record.hpp"
#include "../../version.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Completion of a cold item, waited on by the caller that pushed it.
struct ticket {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    bool flag = false;  ///< a result bit (run_open: whether the run was resumed)
    std::optional<std::int64_t> value;  ///< a result number (last_step)
    std::optional<error> failure;
    artifact_receipt receipt;  ///< an artifact record: what the sinks stored (read after wait())

    void complete(bool result = false) {
        std::lock_guard<std::mutex> lock(m);
        flag = result;
        done = true;
        cv.notify_all();
    }
    void complete_with(std::optional<std::int64_t> result) {
        std::lock_guard<std::mutex> lock(m);
        value = result;
        done = true;
        cv.notify_all();
    }
    void fail(const error& e) {
        std::lock_guard<std::mutex> lock(m);
        failure = e;
        done = true;
        cv.notify_all();
    }
    void wait() {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [this] { return done; });
    }
    bool wait_for(std::chrono::nanoseconds timeout) {
        std::unique_lock<std::mutex> lock(m);
        return cv.wait_for(lock, timeout, [this] { return done; });
    }
};

enum class op : std::uint8_t { record, run_open, metric_def, points, flush, shutdown, last_step };

/// A cold queue item: owns its payload, deleted by the writer once every sink has seen it.
struct cold_item {
    op operation = op::record;
    std::uint32_t run = 0;
    start_mode mode = start_mode::create;  ///< op::run_open
    bool capture_environment = false;      ///< op::run_open: the writer adds metadata.environment
    bool checked = false;                  ///< op::run_open: start_run decided create or resume (claim_run)
    record rec;                            ///< op::record; op::run_open holds the run_info in rec.payload
    metric_info metric;                    ///< op::metric_def
    std::vector<std::pair<std::uint32_t, double>> points;  ///< op::points: (metric id, value) at the run's next
                                                           ///< step, sharing rec.time_ns
    std::shared_ptr<ticket> done;          ///< optional completion
};

struct queue_item {
    metric_point point;          ///< valid when cold == nullptr
    cold_item* cold = nullptr;   ///< owned by the queue until the writer takes it
};

}  // namespace detail
MLTRACK_NAMESPACE_END
