// Why: everything a run logs (tags, params, metric points, summary metrics) goes through runs/log-batch,
// inside MLflow's limits (100 tags, 100 params, 1000 metrics, 1000 entities, 1 MB per request), in as few
// requests as possible, and so that a retry never duplicates anything:
//   * a request is rebuilt byte for byte when it is retried; a point is (key, value, timestamp, step),
//     which is the primary key of MLflow's SQL stores, so a point the server stored before its answer was
//     lost is ignored when it comes again (SqlAlchemyStore._log_metrics) and the history has it once;
//   * params go in requests of their own: MLflow applies a log-batch's params before its metrics and
//     refuses the whole request when one param would change value (INVALID_PARAMETER_VALUE). A refused
//     params request is split into single params so that only the conflicting one is left out (reported,
//     value.81); metrics never wait behind a param.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../error.hpp"
#include "../../names.hpp"
#include "../jsonl/json_line.hpp"
#include "state.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Sends a run's pending tags, params and (up to what was buffered when it started) metric points.
class ml_batch_step final : public vertex_step {
public:
    /// full_only: queued because a request's worth of points is waiting: send only full requests (what is
    /// left waits for the next ones, or for the timed flush), so a steady logger costs one request per 1000
    /// points. Otherwise (timed or explicit flush, run end, close) everything buffered goes.
    ml_batch_step(ml_context& c, std::shared_ptr<ml_run> r, bool full_only = false)
        : c_(c), r_(std::move(r)), full_only_(full_only) {}
    std::string label() const override { return "log-batch to MLflow run '" + r_->name + "'"; }

    std::optional<http_request> next(vertex_engine&) override {
        const std::size_t per_request = std::min(c_.cfg.options.max_metrics_per_request, mlflow_max_metrics_per_batch);
        if (!started_) {
            started_ = true;
            budget_ = full_only_ ? r_->buffered / per_request * per_request : r_->buffered;
        }
        if (r_->failed || r_->exp->failed || r_->run_id.empty()) {  // reported once, by the run's own step
            reject_everything();
            return std::nullopt;
        }
        if (!body_.empty()) return request();  // a retry: the same bytes
        kind_ = none;
        if (!r_->pending_tags.empty()) {
            nlohmann::json tags = nlohmann::json::array();
            auto it = r_->pending_tags.begin();
            for (; it != r_->pending_tags.end() && tags.size() < mlflow_max_params_tags_per_batch; ++it)
                tags.push_back({{"key", it->first}, {"value", it->second}});
            taken_tags_.assign(r_->pending_tags.begin(), it);
            r_->pending_tags.erase(r_->pending_tags.begin(), it);
            kind_ = tags_kind;
            body_ = nlohmann::json{{"run_id", r_->run_id}, {"tags", tags}}.dump(
                -1, ' ', false, nlohmann::json::error_handler_t::replace);
            return request();
        }
        if (!r_->pending_params.empty()) {
            const std::size_t n = std::min(split_ ? std::size_t{1} : mlflow_max_params_tags_per_batch,
                                           r_->pending_params.size());
            taken_params_.assign(r_->pending_params.begin(), r_->pending_params.begin() + static_cast<std::ptrdiff_t>(n));
            r_->pending_params.erase(r_->pending_params.begin(), r_->pending_params.begin() + static_cast<std::ptrdiff_t>(n));
            nlohmann::json params = nlohmann::json::array();
            for (const auto& kv : taken_params_) params.push_back({{"key", kv.first}, {"value", kv.second}});
            kind_ = params_kind;
            body_ = nlohmann::json{{"run_id", r_->run_id}, {"params", params}}.dump(
                -1, ' ', false, nlohmann::json::error_handler_t::replace);
            return request();
        }
        if (budget_ == 0 && r_->buffered > 0 && (r_->ended || c_.closing)) budget_ = r_->buffered;  // no more come
        if (budget_ == 0 || r_->buffered == 0) return std::nullopt;
        build_metrics();
        return request();
    }

    step_outcome on_response(vertex_engine& engine, const http_response& r) override {
        const auto k = kind_;
        std::string body;
        body.swap(body_);
        kind_ = none;
        if (ml_ok(r)) {
            if (k == metrics_kind) {
                for (std::size_t i = 0; i < taken_points_; ++i) r_->points.pop_front();
                r_->buffered -= taken_points_;
                c_.buffered_delta(-static_cast<std::int64_t>(taken_points_));
                budget_ = budget_ > taken_points_ ? budget_ - taken_points_ : 0;
                c_.counters->points_sent.fetch_add(taken_points_, std::memory_order_relaxed);
            }
            c_.counters->write_requests.fetch_add(1, std::memory_order_relaxed);
            clear_taken();
            return step_outcome::next;
        }
        const std::string why = describe(parse_api_error(r));
        if (r.status == 404 || r.status == 403) {  // the run was deleted for good, or this user may not write it
            r_->failed = true;
            engine.report(error(error_category::io, 41,
                                label() + ": " + why + " (nothing more is sent for this run; the JSONL copy keeps it)"));
            reject_everything();
            return step_outcome::next;
        }
        if (r.status != 400) {  // given up (reported by the engine); on_abandon puts what was taken back
            kind_ = k;
            return step_outcome::drop;
        }
        switch (k) {
            case params_kind:
                if (taken_params_.size() > 1) {  // find which one MLflow refuses: send them one by one
                    split_ = true;
                    r_->pending_params.insert(r_->pending_params.begin(), taken_params_.begin(), taken_params_.end());
                } else if (!taken_params_.empty()) {
                    const auto& p = taken_params_.front();
                    engine.report(error(error_category::value, 81,
                                        "param '" + printable(p.first) + "' of MLflow run '" + r_->name +
                                            "' is not sent: " + why +
                                            " (MLflow keeps the first value of a param and refuses another; the "
                                            "JSONL copy has every value)"));
                }
                break;
            case tags_kind:
                engine.report(error(error_category::io, 41, label() + ": tags refused: " + why));
                break;
            case metrics_kind:
                for (std::size_t i = 0; i < taken_points_; ++i) r_->points.pop_front();
                r_->buffered -= taken_points_;
                c_.buffered_delta(-static_cast<std::int64_t>(taken_points_));
                budget_ = budget_ > taken_points_ ? budget_ - taken_points_ : 0;
                c_.counters->points_rejected.fetch_add(taken_points_, std::memory_order_relaxed);
                engine.report(error(error_category::io, 41,
                                    label() + ": " + std::to_string(taken_points_) + " points refused: " + why));
                break;
            case none: break;
        }
        clear_taken();
        return step_outcome::next;
    }

    void on_abandon(vertex_engine&) override {
        // Given up (a refusal that is not about the data, or close()): what was taken goes back, so a later
        // batch (or nothing, at close) handles it; points were never removed.
        if (kind_ == tags_kind)
            for (auto& kv : taken_tags_) r_->pending_tags.emplace(kv.first, kv.second);
        if (kind_ == params_kind)
            r_->pending_params.insert(r_->pending_params.begin(), taken_params_.begin(), taken_params_.end());
        clear_taken();
        body_.clear();
        r_->batch_queued = false;
    }
    ~ml_batch_step() override { r_->batch_queued = false; }

private:
    enum kind_t { none, tags_kind, params_kind, metrics_kind };

    http_request request() const {
        http_request req;
        req.method = "POST";
        req.url = c_.cfg.api("runs/log-batch");
        req.plain_http_host = c_.cfg.host;
        req.headers.push_back("Content-Type: application/json");
        req.body = body_;
        return req;
    }

    void build_metrics() {
        const std::size_t n = std::min({budget_, r_->buffered, c_.cfg.options.max_metrics_per_request,
                                        mlflow_max_metrics_per_batch});
        std::string& b = body_;
        b.clear();
        b.reserve(64 + n * 72);
        b += "{\"run_id\":";
        append_json_string(b, r_->run_id);
        b += ",\"metrics\":[";
        std::size_t taken = 0;
        for (; taken < n; ++taken) {
            const ml_point& p = r_->points[taken];
            const std::string& key = r_->key_json[p.key];
            if (b.size() + key.size() + 96 > mlflow_max_batch_bytes) break;
            if (taken) b += ',';
            b += "{\"key\":";
            b += key;
            b += ",\"value\":";
            append_double(b, p.value);  // NaN and +-Infinity as the strings protobuf's JSON parser takes
            b += ",\"timestamp\":";
            append_int(b, p.timestamp_ms);
            b += ",\"step\":";
            append_int(b, p.step);
            b += '}';
        }
        b += "]}";
        taken_points_ = taken;
        kind_ = metrics_kind;
    }

    void clear_taken() {
        taken_tags_.clear();
        taken_params_.clear();
        taken_points_ = 0;
    }

    /// Drops everything the run has waiting, counted as rejected (the run could not be set up or is gone).
    void reject_everything() {
        const std::size_t n = r_->buffered;
        r_->points.clear();
        r_->buffered = 0;
        r_->pending_params.clear();
        r_->pending_tags.clear();
        clear_taken();
        body_.clear();
        if (n == 0) return;
        c_.buffered_delta(-static_cast<std::int64_t>(n));
        c_.counters->points_rejected.fetch_add(n, std::memory_order_relaxed);
    }

    ml_context& c_;
    std::shared_ptr<ml_run> r_;
    bool full_only_;
    bool started_ = false;
    bool split_ = false;
    std::size_t budget_ = 0;
    kind_t kind_ = none;
    std::string body_;
    std::vector<std::pair<std::string, std::string>> taken_tags_;
    std::vector<std::pair<std::string, std::string>> taken_params_;
    std::size_t taken_points_ = 0;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
