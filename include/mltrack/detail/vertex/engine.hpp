// Why: the Vertex sink must never stall the writer thread on the network (a stalled writer fills the queue
// and then blocks the training loop), must keep what it could not deliver, and must deliver it in order
// (a run context before its params, a time series before its points, data before the run's end state).
// This engine is an ordered queue of steps; a step is a small state machine that issues one HTTP request at
// a time and decides what its response means. The engine runs them through one non-blocking curl transfer
// driven from the sink's tick(): it refreshes the token first when needed, retries transport failures, 401
// (after a refresh), 408/429/5xx with exponential backoff and jitter (never sooner than Retry-After), and
// only gives a step up when the service answered that it will never succeed (400, 403, 404...), which is
// reported and counted. The queue is bounded (a refused step is reported and counted, never silent).
// The MLflow sink runs its own steps (detail/mlflow/) on the same engine: nothing here is Vertex-specific
// but the credentials' refresh, which fixed credentials (credential_kind::fixed_header) never need.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../../error.hpp"
#include "../http/http.hpp"
#include "auth.hpp"
#include "rest.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Counters of a Vertex sink, readable from any thread.
struct vertex_counters {
    std::atomic<std::uint64_t> requests{0};           ///< HTTP requests sent (API, uploads, tokens)
    std::atomic<std::uint64_t> retries{0};            ///< requests sent again after a failure
    std::atomic<std::uint64_t> transport_errors{0};   ///< no response (refused, reset, timeout...)
    std::atomic<std::uint64_t> throttled{0};          ///< 429 responses
    std::atomic<std::uint64_t> server_errors{0};      ///< 5xx and 408 responses
    std::atomic<std::uint64_t> aborted{0};            ///< 409 ABORTED (etag conflicts) resolved by re-reading
    std::atomic<std::uint64_t> token_refreshes{0};
    std::atomic<std::uint64_t> steps_queued{0};       ///< operations waiting (a gauge)
    std::atomic<std::uint64_t> steps_done{0};
    std::atomic<std::uint64_t> steps_refused{0};      ///< refused because the queue was full
    std::atomic<std::uint64_t> steps_rejected{0};     ///< given up: the service refused them for good
    std::atomic<std::uint64_t> points_buffered{0};    ///< time-series points waiting (a gauge)
    std::atomic<std::uint64_t> points_sent{0};        ///< points the service acknowledged
    std::atomic<std::uint64_t> points_dropped{0};     ///< refused because the buffer was full
    std::atomic<std::uint64_t> points_rejected{0};    ///< refused by the service, or without a TensorBoard
    std::atomic<std::uint64_t> write_requests{0};     ///< runs:write requests acknowledged
    std::atomic<std::uint64_t> undelivered_points{0}; ///< still buffered when close() gave up
    std::atomic<std::uint64_t> undelivered_steps{0};  ///< still queued when close() gave up
    std::atomic<bool> idle{true};                     ///< nothing queued, nothing in flight
};

enum class step_outcome {
    next,   ///< ask the step for its next request now (or completion)
    retry,  ///< send the same request again after a backoff
    wait,   ///< ask again after step.wait_for (polling a long-running operation)
    drop,   ///< give the step up (step.drop_reason says why); reported and counted
};

class vertex_engine;

/// One operation: a sequence of requests, each decided from the previous response.
struct vertex_step {
    virtual ~vertex_step() = default;
    /// What the step does, for messages ("create run context exp-run").
    virtual std::string label() const = 0;
    /// The next request, or nullopt when the step is complete. Called again for a retry: it must rebuild
    /// the same request (a retried request is always safe: creates treat ALREADY_EXISTS as done, writes of
    /// the same step overwrite, PATCH carries the etag).
    virtual std::optional<http_request> next(vertex_engine& engine) = 0;
    /// A response other than 401, 408, 429 and 5xx (handled by the engine).
    virtual step_outcome on_response(vertex_engine& engine, const http_response& response) = 0;
    /// Called when the request failed without a usable answer (no response, 401, 408, 429, 5xx) and will
    /// be sent again: a step whose request is not idempotent goes back to checking what the service has.
    virtual void on_retry(vertex_engine& engine) { (void)engine; }
    /// Called once when the step is given up or cannot be delivered at close.
    virtual void on_abandon(vertex_engine& engine) { (void)engine; }

    std::chrono::milliseconds wait_for{0};
    std::string drop_reason;
    std::optional<error> drop_error;  ///< reported as it is instead of io.41 when the step is given up
    unsigned failures = 0;  ///< consecutive failures of the current request
    bool auth_retried = false;
};

class vertex_engine {
public:
    using steady = std::chrono::steady_clock;

    vertex_engine(credentials creds, http_options http, backoff_policy backoff, std::size_t max_steps,
                  std::shared_ptr<vertex_counters> counters)
        : creds_(std::move(creds)), http_(std::move(http)), backoff_(backoff), max_steps_(max_steps),
          counters_(std::move(counters)), rng_(std::random_device{}()) {}

    credentials& creds() noexcept { return creds_; }
    /// The service named in the engine's own messages ("Vertex AI", "MLflow").
    void set_service(std::string name) { service_ = std::move(name); }
    vertex_counters& counters() noexcept { return *counters_; }
    std::size_t queued() const noexcept { return steps_.size(); }
    bool idle() const noexcept { return steps_.empty() && !http_.busy(); }

    /// Queues a step; false (reported, counted) when the queue is full.
    bool push(std::unique_ptr<vertex_step> s) {
        if (steps_.size() >= max_steps_) {
            counters_->steps_refused.fetch_add(1, std::memory_order_relaxed);
            report(error(error_category::io, 43,
                         "the " + service_ + " request queue is full (" + std::to_string(max_steps_) + " operations): '" +
                             s->label() + "' is not sent (the JSONL copy keeps it; sync later)"));
            s->on_abandon(*this);
            return false;
        }
        steps_.push_back(std::move(s));
        publish();
        return true;
    }

    /// Makes progress without blocking: completes what finished, starts what is due.
    void pump(steady::time_point now) {
        for (int round = 0; round < 256; ++round) {
            if (http_.busy()) {
                auto res = http_.poll();
                if (!res) break;
                handle(std::move(*res), steady::now());
                now = steady::now();
                continue;
            }
            if (steps_.empty() || now < not_before_) break;
            if (!ensure_token(now)) break;
            if (http_.busy()) continue;  // a token refresh went out
            vertex_step& s = *steps_.front();
            std::optional<http_request> req;
            try {
                req = s.next(*this);
            } catch (const std::exception& e) {
                s.drop_reason = e.what();
                give_up();
                continue;
            }
            if (!req) {
                steps_.pop_front();
                counters_->steps_done.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            authorize(*req, creds_);
            try {
                http_.start(std::move(*req));
            } catch (const std::exception& e) {
                s.drop_reason = e.what();
                give_up();
                continue;
            }
            token_in_flight_ = false;
            if (s.failures > 0 || s.auth_retried) counters_->retries.fetch_add(1, std::memory_order_relaxed);
            counters_->requests.fetch_add(1, std::memory_order_relaxed);
        }
        publish();
    }

    /// Blocks until everything is delivered or the deadline passes; true when idle.
    bool drain(steady::time_point deadline) {
        for (;;) {
            const auto now = steady::now();
            pump(now);
            if (idle()) return true;
            if (now >= deadline) return false;
            if (http_.busy()) {
                http_.wait(std::chrono::milliseconds(20));
            } else {
                auto until = std::min(deadline, now + std::chrono::milliseconds(20));
                if (not_before_ > now && not_before_ < until) until = not_before_;
                std::this_thread::sleep_until(until);
            }
        }
    }

    /// Gives up everything still queued (after drain() timed out); returns how many steps there were.
    std::size_t abandon_all() {
        http_.cancel();
        const std::size_t n = steps_.size();
        while (!steps_.empty()) {
            auto s = std::move(steps_.front());
            steps_.pop_front();
            s->on_abandon(*this);
        }
        publish();
        return n;
    }

    /// Collects a failure for the sink to throw from its next call (tracker: error handler).
    void report(const std::exception& e) { report(std::string(e.what())); }
    void report(std::string message) {
        if (errors_.size() < 20) errors_.push_back(std::move(message));
        else ++errors_suppressed_;
    }

    /// The failures collected since the last call, joined; "" when none.
    std::string take_errors() {
        std::string out;
        for (std::size_t i = 0; i < errors_.size(); ++i) {
            if (i) out += "; ";
            out += errors_[i];
        }
        if (errors_suppressed_) out += "; (" + std::to_string(errors_suppressed_) + " more)";
        errors_.clear();
        errors_suppressed_ = 0;
        return out;
    }

    /// When the engine will next try (for tests and close()).
    steady::time_point not_before() const noexcept { return not_before_; }

private:
    void publish() {
        counters_->steps_queued.store(steps_.size(), std::memory_order_relaxed);
        counters_->idle.store(idle(), std::memory_order_relaxed);
    }

    /// True when a usable token is there; may start a refresh (then the caller polls).
    bool ensure_token(steady::time_point now) {
        const auto wall = credentials::clock::now();
        if (creds_.fresh(wall)) return true;
        if (now >= token_not_before_) {
            std::optional<http_request> req;
            try {
                req = creds_.refresh_request(wall);
                if (!req) counters_->token_refreshes.fetch_add(1, std::memory_order_relaxed);
            } catch (const std::exception& e) {
                report(e);
                token_failures_++;
                token_not_before_ = now + backoff_.delay(token_failures_, std::nullopt, rng_);
                return creds_.usable(wall);
            }
            if (req) {
                try {
                    http_.start(std::move(*req));
                } catch (const std::exception& e) {
                    report(e);
                    token_failures_++;
                    token_not_before_ = now + backoff_.max;
                    return creds_.usable(wall);
                }
                token_in_flight_ = true;
                counters_->requests.fetch_add(1, std::memory_order_relaxed);
                return true;  // the caller sees busy() and polls
            }
            return creds_.usable(wall);
        }
        return creds_.usable(wall);
    }

    void handle(http_result res, steady::time_point now) {
        if (token_in_flight_) {
            token_in_flight_ = false;
            bool retryable = true;
            try {
                creds_.accept(res, credentials::clock::now(), retryable);
                counters_->token_refreshes.fetch_add(1, std::memory_order_relaxed);
                token_failures_ = 0;
            } catch (const std::exception& e) {
                if (!res.ok) counters_->transport_errors.fetch_add(1, std::memory_order_relaxed);
                token_failures_++;
                if (token_failures_ == 1 || (token_failures_ & (token_failures_ - 1)) == 0) report(e);
                token_not_before_ =
                    now + (retryable ? backoff_.delay(token_failures_, std::nullopt, rng_) : backoff_.max);
            }
            return;
        }
        vertex_step& s = *steps_.front();
        if (!res.ok) {
            counters_->transport_errors.fetch_add(1, std::memory_order_relaxed);
            failed(s, now, std::nullopt, res.error);
            return;
        }
        const http_response& r = res.response;
        if (r.status == 401) {
            if (creds_.refreshable() && !s.auth_retried) {
                creds_.invalidate();
                s.auth_retried = true;
                try {
                    s.on_retry(*this);
                } catch (...) {
                }
                return;
            }
            failed(s, now, std::nullopt,
                   s.label() + ": " + describe(parse_api_error(r)) +
                       (creds_.kind() == credential_kind::static_token ? " (the access token expired or is wrong)"
                        : creds_.kind() == credential_kind::fixed_header ? " (the credentials are wrong or missing)"
                                                                          : ""));
            return;
        }
        if (retryable_status(r.status)) {
            if (r.status == 429) counters_->throttled.fetch_add(1, std::memory_order_relaxed);
            else counters_->server_errors.fetch_add(1, std::memory_order_relaxed);
            failed(s, now, r.retry_after(), s.label() + ": " + describe(parse_api_error(r)));
            return;
        }
        step_outcome o;
        try {
            o = s.on_response(*this, r);
        } catch (const std::exception& e) {
            s.drop_reason = e.what();
            o = step_outcome::drop;
        }
        switch (o) {
            case step_outcome::next:
                s.failures = 0;
                s.auth_retried = false;
                break;
            case step_outcome::retry:
                failed(s, now, r.retry_after(), s.label() + ": " + describe(parse_api_error(r)));
                break;
            case step_outcome::wait:
                not_before_ = now + s.wait_for;
                break;
            case step_outcome::drop:
                if (s.drop_reason.empty()) s.drop_reason = describe(parse_api_error(r));
                give_up();
                break;
        }
    }

    void failed(vertex_step& s, steady::time_point now, std::optional<std::chrono::milliseconds> retry_after,
                const std::string& message) {
        ++s.failures;
        try {
            s.on_retry(*this);
        } catch (...) {
        }
        const auto d = backoff_.delay(s.failures, retry_after, rng_);
        not_before_ = now + d;
        // Reported on the 1st, 4th, 16th, 64th... consecutive failure: visible, not a flood.
        unsigned f = s.failures;
        bool power_of_4 = f == 1;
        for (unsigned p = 4; p <= f && !power_of_4; p *= 4) power_of_4 = p == f;
        if (power_of_4)
            report(error(error_category::io, 46,
                         message + " (attempt " + std::to_string(s.failures) + ", retrying in " +
                             std::to_string(d.count()) + " ms; nothing is dropped)"));
    }

    void give_up() {
        auto s = std::move(steps_.front());
        steps_.pop_front();
        counters_->steps_rejected.fetch_add(1, std::memory_order_relaxed);
        if (s->drop_error) report(*s->drop_error);
        else report(error(error_category::io, 41, s->label() + " failed for good: " + s->drop_reason));
        s->on_abandon(*this);
    }

    credentials creds_;
    http_client http_;
    backoff_policy backoff_;
    std::size_t max_steps_;
    std::shared_ptr<vertex_counters> counters_;
    std::deque<std::unique_ptr<vertex_step>> steps_;
    steady::time_point not_before_{};
    steady::time_point token_not_before_{};
    unsigned token_failures_ = 0;
    bool token_in_flight_ = false;
    std::vector<std::string> errors_;
    std::size_t errors_suppressed_ = 0;
    std::mt19937_64 rng_;
    std::string service_ = "Vertex AI";
};

}  // namespace detail
MLTRACK_NAMESPACE_END
