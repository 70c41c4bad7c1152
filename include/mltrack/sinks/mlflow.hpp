// Why: live tracking into an MLflow tracking server over its REST API 2.0, making the runs MLflow's own
// Python client makes (docs/mlflow.md): same experiment lookup, same system tags, params, metric histories
// with step and millisecond timestamps, status, and files through the mlflow-artifacts proxy. Needs libcurl,
// so the umbrella mltrack.hpp does not include it.
//
// Everything happens on the tracker's writer thread and never blocks it on the network: write() only
// records what to send (points into a per-run buffer, params and tags into pending lists), and tick() drives
// the requests through the non-blocking engine the Vertex AI sink uses (retries with backoff, Retry-After,
// a bounded queue). Points go out in runs/log-batch requests of up to 1000, at least every flush_interval.
// What the server does not take yet stays buffered (bounded, counted) and is retried; a retried request
// is the same bytes, and a point is its own primary key in MLflow's SQL stores, so retries and a later
// `mltrack sync` of the JSONL copy never duplicate anything there (docs/mlflow.md, "Faults").
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "../mltrack.hpp"
#include "../detail/http/http.hpp"
#include "../detail/mlflow/artifacts.hpp"
#include "../detail/mlflow/batch_step.hpp"
#include "../detail/mlflow/config.hpp"
#include "../detail/mlflow/limits.hpp"
#include "../detail/mlflow/run_steps.hpp"
#include "../detail/mlflow/run_tags.hpp"
#include "../detail/mlflow/state.hpp"
#include "../detail/vertex/engine.hpp"
#include "../detail/vertex/rest.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

/// The MLflow sink. `mltrack::tracker t{{"exp"}, sinks::jsonl{"mlruns"}, sinks::mlflow{{.tracking_uri = u}}};`
class mlflow {
public:
    /// Resolves the tracking URI, credentials and TLS settings; throws mltrack::error (config.80-82, 40-41)
    /// when they are missing or invalid. Makes no request.
    explicit mlflow(mlflow_options options = {}) : c_(std::make_unique<detail::ml_context>()) {
        auto resolved = detail::resolve_mlflow_config(std::move(options));
        c_->cfg = std::move(resolved.cfg);
        c_->counters = std::make_shared<detail::vertex_counters>();
        creds_ = resolved.creds;
        http_ = resolved.http;
        detail::backoff_policy backoff{c_->cfg.options.backoff_initial, c_->cfg.options.backoff_max};
        c_->engine = std::make_unique<detail::vertex_engine>(std::move(resolved.creds), resolved.http, backoff,
                                                             c_->cfg.options.max_queued_requests, c_->counters);
        c_->engine->set_service("MLflow");
    }

    mlflow(mlflow&&) noexcept = default;
    mlflow& operator=(mlflow&&) noexcept = default;
    mlflow(const mlflow&) = delete;
    mlflow& operator=(const mlflow&) = delete;
    ~mlflow() {
        if (c_ && !closed_) {
            try { close(); } catch (...) {}
        }
    }

    std::string_view name() const { return "mlflow"; }

    /// Counters that stay readable after the sink moved into a tracker.
    mlflow_monitor monitor() const { return mlflow_monitor(c_->counters); }
    mlflow_stats stats() const { return monitor().stats(); }

    const std::string& tracking_uri() const noexcept { return c_->cfg.base; }
    /// Where the credentials come from ("MLFLOW_TRACKING_TOKEN", "basic auth from ..."), never a secret.
    const std::string& credentials_source() const noexcept { return creds_.source(); }

    /// The MLflow id of a run of this tracker, once the server gave it ("" before, or when it failed).
    std::string run_id(std::uint32_t tracker_run_id) const {
        auto it = runs_.find(tracker_run_id);
        return it == runs_.end() ? std::string() : it->second->run_id;
    }

    /// Whether an active MLflow run of this name exists in the experiment (a blocking runs/search;
    /// nullopt when the server cannot tell).
    std::optional<bool> exists(const run_info& run) {
        if (!c_->cfg.options.check_exists || run.rank > 0) return std::nullopt;
        try {
            const auto found = find_run(run);
            if (!found) return std::nullopt;
            return !found->is_null();
        } catch (const std::exception&) {
        }
        return std::nullopt;
    }

    /// The highest step of each metric of a run on the server (its latest metrics: MLflow orders them by
    /// step first), so that a resumed run's points without a step continue after them. Blocking.
    std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info& run) {
        if (run.rank > 0) return std::nullopt;
        try {
            const auto found = find_run(run);
            if (!found) return std::nullopt;
            std::map<std::string, std::int64_t> out;
            if (found->is_null()) return out;
            const auto& data = (*found)["data"];
            if (data.contains("metrics"))
                for (const auto& m : data["metrics"]) {
                    const auto& s = m.contains("step") ? m["step"] : nlohmann::json(0);  // int64 as text or number
                    const std::int64_t step = s.is_string() ? std::stoll(s.get<std::string>()) : s.get<std::int64_t>();
                    out[m.value("key", std::string())] = step;
                }
            return out;
        } catch (const std::exception&) {
        }
        return std::nullopt;
    }

    void write(const batch& b) {
        std::size_t dropped = 0;
        for (const event& e : b) {
            try {
                write_one(e, dropped);
            } catch (const std::exception& ex) {
                c_->engine->report(ex);
            }
        }
        if (dropped) {
            c_->counters->points_dropped.fetch_add(dropped, std::memory_order_relaxed);
            c_->engine->report(error(error_category::io, 43,
                                     std::to_string(dropped) + " metric points not kept for MLflow: " +
                                         std::to_string(c_->cfg.options.max_buffered_points) +
                                         " points are already waiting (the JSONL copy has them; sync later)"));
        }
        c_->engine->pump(std::chrono::steady_clock::now());
        throw_errors();
    }

    /// Queues the buffered data of every run (it does not wait for the network).
    void flush() {
        queue_batches();
        c_->engine->pump(std::chrono::steady_clock::now());
        throw_errors();
    }

    /// The tracker's timed flush: points go out at this sink's own flush_interval, batched.
    void periodic_flush() { tick(std::chrono::steady_clock::now()); }

    void tick(std::chrono::steady_clock::time_point now) {
        if (now - last_flush_ >= c_->cfg.options.flush_interval) {
            last_flush_ = now;
            queue_batches();
        }
        c_->engine->pump(now);
        throw_errors();
    }

    /// When tick() is next needed: every millisecond while requests are queued or in flight, at the next
    /// flush while points wait, else not before new work arrives.
    std::chrono::steady_clock::time_point next_tick() const {
        using clock = std::chrono::steady_clock;
        if (!c_ || closed_) return clock::time_point::max();
        if (!c_->engine->idle()) return clock::now() + std::chrono::milliseconds(1);
        if (c_->counters->points_buffered.load(std::memory_order_relaxed) > 0 || pending_work_)
            return last_flush_ + c_->cfg.options.flush_interval;
        return clock::time_point::max();
    }

    /// Sends what is queued, waiting up to close_timeout; what is left is counted and reported (the JSONL
    /// copy keeps it: sync later).
    void close() {
        if (!c_ || closed_) return;
        closed_ = true;
        c_->closing = true;
        queue_batches();
        const bool all = c_->engine->drain(std::chrono::steady_clock::now() + c_->cfg.options.close_timeout);
        if (!all) {
            const auto points = c_->counters->points_buffered.load();
            const auto steps = c_->engine->abandon_all();
            c_->counters->undelivered_points.store(points);
            c_->counters->undelivered_steps.store(steps);
            c_->engine->report(error(error_category::io, 44,
                                     "MLflow did not take everything before close_timeout: " + std::to_string(steps) +
                                         " operations and " + std::to_string(points) +
                                         " metric points were not delivered (the JSONL copy has them; `mltrack "
                                         "sync --to mlflow:URI` completes the run without duplicates)"));
        }
        throw_errors();
    }

private:
    void throw_errors() {
        std::string e = c_->engine->take_errors();
        if (!e.empty()) throw std::runtime_error(e);
    }

    /// The run's latest active MLflow run as JSON (null when there is none), nullopt when the server could
    /// not tell. Blocking, two tries of at most 5 s.
    std::optional<nlohmann::json> find_run(const run_info& run) {
        if (!caller_) {
            auto http = http_;
            http.timeout = std::min(http.timeout, std::chrono::milliseconds(5000));
            http.connect_timeout = std::min(http.connect_timeout, std::chrono::milliseconds(3000));
            caller_ = std::make_unique<detail::rest_caller>(
                creds_, http, detail::backoff_policy{std::chrono::milliseconds(200), std::chrono::milliseconds(1000)}, 2);
        }
        const std::string exp = c_->cfg.experiment_name(run.experiment);
        auto get = detail::json_request("GET", c_->cfg.api("experiments/get-by-name?experiment_name=" +
                                                          detail::url_encode(exp)));
        get.plain_http_host = c_->cfg.host;
        const auto er = caller_->call(get);
        if (er.status == 404) return nlohmann::json();
        if (er.status != 200) return std::nullopt;
        const auto ej = nlohmann::json::parse(er.body);
        if (ej.at("experiment").value("lifecycle_stage", std::string()) == "deleted") return nlohmann::json();
        const auto body = detail::mlflow_search_by_name(ej.at("experiment").at("experiment_id").get<std::string>(), run.name);
        auto post = detail::json_request("POST", c_->cfg.api("runs/search"), &body);
        post.plain_http_host = c_->cfg.host;
        const auto sr = caller_->call(post);
        if (sr.status != 200) return std::nullopt;
        const auto sj = nlohmann::json::parse(sr.body);
        if (!sj.contains("runs") || sj["runs"].empty()) return nlohmann::json();
        return sj["runs"][0];
    }

    std::shared_ptr<detail::ml_experiment> experiment_for(const run_info& info) {
        const std::string name = c_->cfg.experiment_name(info.experiment);
        auto it = experiments_.find(name);
        if (it != experiments_.end() && !it->second->failed) return it->second;
        auto e = std::make_shared<detail::ml_experiment>();
        e->name = name;
        c_->engine->push(std::make_unique<detail::ml_experiment_step>(*c_, e));
        experiments_[name] = e;
        return e;
    }

    void open_run(const event& e) {
        auto previous = runs_.find(e.run->id);
        if (previous != runs_.end()) {  // replay() reuses run ids: the previous run (never ended) is done
            previous->second->ended = true;
            queue_batch(previous->second);
        }
        auto r = std::make_shared<detail::ml_run>();
        r->info = *e.run;
        r->name = e.run->name;
        r->exp = experiment_for(*e.run);
        runs_[e.run->id] = r;
        c_->engine->push(std::make_unique<detail::ml_run_step>(*c_, r, e.kind == record_kind::run_resume));
    }

    /// Reports a key MLflow refuses, once per run and key.
    void refuse_key(detail::ml_run& r, const std::string& what, const std::string& key, const std::string& why) {
        if (!r.reported_keys.insert(what + "\n" + key).second) return;
        c_->engine->report(error(error_category::name, 80,
                                 what + " '" + detail::printable(key) + "' of run '" + r.name +
                                     "' is not an MLflow key: " + why + "; not sent to MLflow (the JSONL copy keeps it)"));
    }

    void add_point(detail::ml_run& r, std::int32_t slot, std::int64_t step, std::int64_t time_ns, double value,
                   std::size_t& dropped) {
        if (c_->counters->points_buffered.load(std::memory_order_relaxed) >= c_->cfg.options.max_buffered_points) {
            ++dropped;
            return;
        }
        r.points.push_back({static_cast<std::uint32_t>(slot), step, time_ns / 1000000, value});
        ++r.buffered;
        c_->counters->points_buffered.fetch_add(1, std::memory_order_relaxed);
    }

    void write_one(const event& e, std::size_t& dropped) {
        if (e.kind == record_kind::run_start || e.kind == record_kind::run_resume) {
            // rank_policy::every: an MLflow run has no rank dimension, so rank 0 speaks for the job (the other
            // ranks' data stays in their JSONL and TensorBoard files; see docs/hpc.md).
            if (e.run->rank > 0) return;
            open_run(e);
            return;
        }
        auto it = runs_.find(e.run->id);
        if (it == runs_.end()) return;
        const std::shared_ptr<detail::ml_run> rp = it->second;  // a copy: run_end erases the map entry
        detail::ml_run& r = *rp;
        switch (e.kind) {
            case record_kind::metric: {
                const auto id = e.metric->id;
                if (r.slot_of_metric.size() <= id) r.slot_of_metric.resize(id + 1, -2);
                std::int32_t& slot = r.slot_of_metric[id];
                if (slot == -2) {
                    std::string why;
                    slot = r.slot_for(e.metric->name, why);
                    if (slot < 0) refuse_key(r, "metric", e.metric->name, why);
                }
                if (slot < 0) {
                    c_->counters->points_rejected.fetch_add(1, std::memory_order_relaxed);
                    return;
                }
                add_point(r, slot, e.step, e.time_ns, e.value, dropped);
                if (r.buffered >= c_->cfg.options.max_metrics_per_request) queue_batch(rp, false, true);
                return;
            }
            case record_kind::histogram:
                if (!r.warned_histograms) {
                    r.warned_histograms = true;
                    c_->engine->report(error(error_category::value, 83,
                                             "histograms of run '" + r.name + "' are not sent to MLflow (it has no "
                                             "histogram type); the JSONL copy and the TensorBoard sink keep them"));
                }
                return;
            case record_kind::summary: {
                // Summary metrics are metrics at step 0 (what MLflow's log_metric without a step makes); text
                // values are tags (MLflow metrics are numbers).
                for (const auto& kv : e.payload->get_values()) {
                    std::string why;
                    const auto slot = r.slot_for(kv.first, why);
                    if (slot < 0) {
                        refuse_key(r, "summary metric", kv.first, why);
                        continue;
                    }
                    add_point(r, slot, 0, e.time_ns, kv.second, dropped);
                }
                for (const auto& kv : e.payload->texts) add_tag(r, kv.first, kv.second);
                pending_work_ = true;
                return;
            }
            case record_kind::tags:
                for (const auto& kv : e.payload->texts) add_tag(r, kv.first, kv.second);
                pending_work_ = true;
                return;
            case record_kind::params:
                for (const auto& kv : e.payload->get_params()) add_param(r, kv.first, kv.second.to_text());
                pending_work_ = true;
                return;
            case record_kind::artifact: {
                const artifact& a = e.payload->get_artifact();
                if (a.source.find("://") != std::string::npos && a.path.empty()) {  // a reference: a tag names it
                    add_tag(r, "mltrack.artifact." + a.name, a.source);
                    pending_work_ = true;
                    return;
                }
                auto files = detail::ml_artifact_uploads(*c_, r, a, e.time_ns);
                queue_batch(rp);  // what was logged before goes first
                const bool model = a.type == artifact_type::model;
                c_->engine->push(std::make_unique<detail::ml_artifact_step>(
                    *c_, rp, std::string(model ? "model '" : "artifact '") + a.name + "'", std::move(files),
                    model ? a.name : std::string()));
                return;
            }
            case record_kind::classification: {
                const auto& m = e.payload->get_classification();
                std::string name = m.display_name.empty() ? "metrics-" + std::to_string(++r.artifact_seq) : m.display_name;
                for (auto& ch : name)
                    if (ch == '/' || ch == '\\') ch = '_';
                std::vector<detail::ml_upload> files;
                files.push_back({"classification/" + name + ".json", {}, detail::mlflow_classification_json(m), std::nullopt, 0});
                c_->engine->push(std::make_unique<detail::ml_artifact_step>(
                    *c_, rp, "classification metrics '" + name + "'", std::move(files)));
                return;
            }
            case record_kind::run_end: {
                runs_.erase(it);
                rp->ended = true;
                queue_batch(rp, true);
                const auto st = e.payload->get_state();  // PREEMPTED and CANCELLED are KILLED in MLflow
                c_->engine->push(std::make_unique<detail::ml_update_step>(*c_, rp, detail::mlflow_status(st),
                                                                          e.time_ns / 1000000));
                return;
            }
            default: return;
        }
    }

    void add_tag(detail::ml_run& r, const std::string& key, const std::string& value) {
        const std::string why = detail::mlflow_key_problem(key);
        if (!why.empty()) return refuse_key(r, "tag", key, why);
        if (detail::utf8_chars(value) > detail::mlflow_max_tag_value_length) {
            c_->engine->report(error(error_category::value, 80,
                                     "tag '" + detail::printable(key) + "' of run '" + r.name + "' has " +
                                         std::to_string(detail::utf8_chars(value)) +
                                         " characters; MLflow takes at most 5000: not sent (the JSONL copy keeps it)"));
            return;
        }
        r.pending_tags[key] = value;
    }

    void add_param(detail::ml_run& r, const std::string& key, const std::string& value) {
        const std::string why = detail::mlflow_key_problem(key);
        if (!why.empty()) return refuse_key(r, "param", key, why);
        if (detail::utf8_chars(value) > detail::mlflow_max_param_value_length) {
            c_->engine->report(error(error_category::value, 80,
                                     "param '" + detail::printable(key) + "' of run '" + r.name + "' has " +
                                         std::to_string(detail::utf8_chars(value)) +
                                         " characters; MLflow takes at most 6000: not sent (the JSONL copy keeps it)"));
            return;
        }
        auto known = r.params.find(key);
        if (known != r.params.end()) {
            if (known->second == value) return;  // MLflow takes the same value again; nothing to send
            c_->engine->report(error(error_category::value, 81,
                                     "param '" + detail::printable(key) + "' of MLflow run '" + r.name + "' was '" +
                                         detail::printable(known->second) + "' and is now '" + detail::printable(value) +
                                         "': MLflow keeps the first value of a param (INVALID_PARAMETER_VALUE), so the "
                                         "new one is not sent (the JSONL copy has it)"));
            return;
        }
        r.params.emplace(key, value);
        r.pending_params.emplace_back(key, value);
    }

    /// Queues a batch step for the run unless one waits already; full_only: only whole requests of points
    /// (the buffer filled one), else everything waiting.
    void queue_batch(const std::shared_ptr<detail::ml_run>& r, bool force = false, bool full_only = false) {
        if (r->batch_queued) return;
        if (!force && r->buffered == 0 && r->pending_params.empty() && r->pending_tags.empty()) return;
        if (c_->engine->push(std::make_unique<detail::ml_batch_step>(*c_, r, full_only))) r->batch_queued = true;
    }

    void queue_batches() {
        for (auto& kv : runs_) queue_batch(kv.second);
        pending_work_ = false;
    }

    std::unique_ptr<detail::ml_context> c_;
    std::map<std::string, std::shared_ptr<detail::ml_experiment>> experiments_;
    std::unordered_map<std::uint32_t, std::shared_ptr<detail::ml_run>> runs_;
    bool closed_ = false;
    bool pending_work_ = false;
    std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
    detail::credentials creds_;
    detail::http_options http_;
    std::unique_ptr<detail::rest_caller> caller_;
};

}  // namespace sinks
MLTRACK_NAMESPACE_END
