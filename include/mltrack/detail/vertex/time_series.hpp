// Why: time-series points are the bulk of what a run sends. They are buffered per series and sent in
// runs:write requests of up to 5000 points, after the series they belong to exist (batchCreate, in the
// TensorBoard experiment of the run's own TensorBoard run); a lost answer resends the same steps, which
// overwrite, so nothing is duplicated. Histograms go the way the TensorBoard uploader sends them, so the
// Vertex TensorBoard web app shows them: TENSOR series of the "histograms" plugin whose points are the
// serialized TensorProto of the histogram.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../../error.hpp"
#include "../jsonl/json_line.hpp"
#include "bodies.hpp"
#include "engine.hpp"
#include "state.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Sends a run's buffered points: creates missing time series (batchCreate, or finds them when they exist),
/// then runs:write requests of up to max_points_per_request points (and about 4 MiB of histogram tensors),
/// until what was buffered when the step started is sent.
class vx_flush_step final : public vertex_step {
public:
    vx_flush_step(vx_context& c, std::shared_ptr<vx_run> r) : c_(c), r_(std::move(r)) {}
    std::string label() const override { return "write time series of run '" + r_->context_id + "'"; }

    std::optional<http_request> next(vertex_engine&) override {
        if (!started_) {
            started_ = true;
            budget_ = r_->buffered;
        }
        if (r_->failed || r_->refused || r_->exp->failed) {  // reported once already, by the run's own step
            reject_all(nullptr);
            return std::nullopt;
        }
        if (!r_->has_tensorboard()) {
            const bool first = !r_->warned_no_tensorboard;
            r_->warned_no_tensorboard = true;
            reject_all(first ? "its experiment has no backing TensorBoard (time_series = false, or "
                               "create_tensorboard = false and the project has no default one)"
                             : nullptr);
            return std::nullopt;
        }
        if (listing_) {
            return json_request("GET", c_.v1(r_->tb_run + "/timeSeries?pageSize=1000" +
                                             (page_token_.empty() ? "" : "&pageToken=" + url_encode(page_token_))));
        }
        creating_.clear();
        for (auto& s : r_->series)
            if (s->id.empty() && s->pending() > 0 && creating_.size() < 1000) creating_.push_back(s.get());
        if (!creating_.empty()) {
            nlohmann::json body{{"requests", nlohmann::json::array()}};
            for (auto* s : creating_)
                body["requests"].push_back(time_series_create_request(r_->tb_run, s->key, s->tensor));
            return json_request("POST", c_.v1(r_->tb_experiment + ":batchCreate"), &body);
        }
        if (budget_ == 0 && r_->buffered > 0 && (r_->ended || c_.closing)) budget_ = r_->buffered;  // no more come
        if (budget_ == 0 || r_->buffered == 0) return std::nullopt;
        return build_write();
    }

    step_outcome on_response(vertex_engine& engine, const http_response& r) override {
        if (listing_) {
            if (!ok(r)) return step_outcome::drop;
            const auto j = parse_body(r);
            if (j.contains("tensorboardTimeSeries"))
                for (const auto& ts : j["tensorboardTimeSeries"]) r_->learn_series(ts);
            page_token_ = j.value("nextPageToken", std::string());
            if (page_token_.empty()) listing_ = false;
            return step_outcome::next;
        }
        if (!creating_.empty()) {
            if (ok(r)) {
                const auto j = parse_body(r);
                if (j.contains("tensorboardTimeSeries"))
                    for (const auto& ts : j["tensorboardTimeSeries"]) r_->learn_series(ts);
                return step_outcome::next;
            }
            if (is_status(r, 409, "ALREADY_EXISTS")) {  // made by an earlier try or run: find their ids
                listing_ = true;
                page_token_.clear();
                return step_outcome::next;
            }
            if (r.status == 400) {  // these keys cannot be time series: say so, keep the others going
                for (auto* s : creating_) reject(*s, describe(parse_api_error(r)), engine);
                return step_outcome::next;
            }
            return step_outcome::drop;
        }
        if (ok(r)) {
            std::size_t n = 0;
            for (auto& t : taken_) {
                drop_front(*t.first, t.second);
                n += t.second;
            }
            r_->buffered -= n;
            c_.buffered_delta(-static_cast<std::int64_t>(n));
            budget_ = budget_ > n ? budget_ - n : 0;
            c_.counters->points_sent.fetch_add(n, std::memory_order_relaxed);
            c_.counters->write_requests.fetch_add(1, std::memory_order_relaxed);
            taken_.clear();
            return step_outcome::next;
        }
        if (r.status == 404) {  // a series was deleted meanwhile: find them again (recreated if gone)
            for (auto& t : taken_) {
                t.first->id.clear();
                r_->series_ids.erase(t.first->key);
            }
            taken_.clear();
            listing_ = true;
            page_token_.clear();
            return step_outcome::next;
        }
        if (r.status == 400) {  // the service refuses these points for good
            const std::string why = describe(parse_api_error(r));
            for (auto& t : taken_) {
                drop_front(*t.first, t.second);
                r_->buffered -= t.second;
                c_.buffered_delta(-static_cast<std::int64_t>(t.second));
                c_.counters->points_rejected.fetch_add(t.second, std::memory_order_relaxed);
            }
            engine.report(error(error_category::io, 41, label() + ": points refused: " + why));
            taken_.clear();
            return step_outcome::next;
        }
        return step_outcome::drop;
    }

    void on_abandon(vertex_engine&) override { r_->flush_queued = false; }
    ~vx_flush_step() override { r_->flush_queued = false; }

private:
    /// Histogram tensors per runs:write request, in bytes of base64 (the API takes a few MiB per request).
    static constexpr std::size_t max_tensor_bytes = 4u << 20;

    static void drop_front(vx_series& s, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            if (s.tensor) s.tensors.pop_front();
            else s.points.pop_front();
        }
    }

    http_request build_write() {
        taken_.clear();
        std::size_t room = std::min(budget_, c_.cfg.options.max_points_per_request);
        std::size_t tensor_room = max_tensor_bytes;
        std::string body = "{\"timeSeriesData\":[";
        bool first_series = true;
        for (auto& sp : r_->series) {
            vx_series& s = *sp;
            if (s.id.empty() || s.pending() == 0 || room == 0) continue;
            if (s.tensor && tensor_room < s.tensors.front().tensor_b64.size() && !taken_.empty()) continue;
            std::size_t take = std::min(room, s.pending());
            if (!first_series) body += ',';
            first_series = false;
            body += "{\"tensorboardTimeSeriesId\":\"" + s.id + "\",\"valueType\":\"";
            body += s.tensor ? "TENSOR" : "SCALAR";
            body += "\",\"values\":[";
            for (std::size_t i = 0; i < take; ++i) {
                const std::int64_t step = s.tensor ? s.tensors[i].step : s.points[i].step;
                const std::int64_t time_ns = s.tensor ? s.tensors[i].time_ns : s.points[i].time_ns;
                if (s.tensor && i > 0 && s.tensors[i].tensor_b64.size() > tensor_room) {
                    take = i;  // the rest goes in the next request
                    break;
                }
                if (i) body += ',';
                body += "{\"step\":\"";
                append_int(body, step);
                body += "\",\"wallTime\":\"";
                body += iso_utc(time_ns);
                if (s.tensor) {
                    body += "\",\"tensor\":{\"value\":\"";
                    body += s.tensors[i].tensor_b64;
                    body += "\"}}";
                    tensor_room -= std::min(tensor_room, s.tensors[i].tensor_b64.size());
                } else {
                    body += "\",\"scalar\":{\"value\":";
                    append_double(body, s.points[i].value);
                    body += "}}";
                }
            }
            body += "]}";
            taken_.emplace_back(&s, take);
            room -= take;
        }
        body += "]}";
        http_request req;
        req.method = "POST";
        req.url = c_.v1(r_->tb_run + ":write");
        req.headers.push_back("Content-Type: application/json");
        req.body = std::move(body);
        if (taken_.empty()) budget_ = 0;  // only series that could not be created are left
        return req;
    }

    void reject(vx_series& s, const std::string& why, vertex_engine& engine) {
        const auto n = s.pending();
        s.points.clear();
        s.tensors.clear();
        r_->buffered -= n;
        c_.buffered_delta(-static_cast<std::int64_t>(n));
        c_.counters->points_rejected.fetch_add(n, std::memory_order_relaxed);
        engine.report(error(error_category::io, 41,
                            "time series '" + s.key + "' of run '" + r_->context_id + "': " + why + " (" +
                                std::to_string(n) + " points not sent)"));
    }

    /// Drops every buffered point of the run, counted as rejected; `why` (config.49) is reported when given.
    void reject_all(const char* why) {
        std::size_t n = 0;
        for (auto& s : r_->series) {
            n += s->pending();
            s->points.clear();
            s->tensors.clear();
        }
        if (n == 0) return;
        r_->buffered = 0;
        c_.buffered_delta(-static_cast<std::int64_t>(n));
        c_.counters->points_rejected.fetch_add(n, std::memory_order_relaxed);
        if (why)
            c_.engine->report(error(error_category::config, 49,
                                    std::to_string(n) + " time-series points of run '" + r_->context_id +
                                        "' are not sent: " + why + " (the JSONL copy keeps them)"));
    }

    vx_context& c_;
    std::shared_ptr<vx_run> r_;
    bool started_ = false;
    std::size_t budget_ = 0;
    bool listing_ = false;
    std::string page_token_;
    std::vector<vx_series*> creating_;
    std::vector<std::pair<vx_series*, std::size_t>> taken_;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
