// Why: live tracking into Vertex AI Experiments and Vertex AI TensorBoard over REST, creating exactly the
// resources the Python SDK creates (docs/vertex.md; the REST calls are in the spec the project keeps), so
// the console, get_experiment_df() and ExperimentRun(...) see mltrack runs as native ones. Needs libcurl
// (and libcrypto for service-account keys), so the umbrella mltrack.hpp does not include it.
//
// Everything happens on the tracker's writer thread and never blocks it on the network: write() only
// records what to send (params and summary metrics merge into one pending PATCH per run, points into
// per-series buffers), and tick() drives the requests through a non-blocking transfer (detail/
// vertex/engine.hpp). Time-series points go out in runs:write requests of up to 5000 points, on an
// interval. What the service does not take yet stays queued (bounded, counted) and is retried with
// backoff; creates use deterministic ids and treat ALREADY_EXISTS as done, and writes of a step overwrite,
// so retries and a later `mltrack sync` (replay) of the JSONL copy never duplicate anything.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../mltrack.hpp"
#include "../detail/http/http.hpp"
#include "../detail/jsonl/json_line.hpp"
#include "../detail/vertex/artifacts.hpp"
#include "../detail/vertex/auth.hpp"
#include "../detail/vertex/bodies.hpp"
#include "../detail/vertex/client.hpp"
#include "../detail/vertex/config.hpp"
#include "../detail/vertex/engine.hpp"
#include "../detail/vertex/env.hpp"
#include "../detail/vertex/experiment_setup.hpp"
#include "../detail/vertex/ids.hpp"
#include "../detail/vertex/lineage.hpp"
#include "../detail/vertex/rest.hpp"
#include "../detail/vertex/run_lifecycle.hpp"
#include "../detail/vertex/state.hpp"
#include "../detail/vertex/time_series.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

/// The Vertex AI sink. `mltrack::tracker t{{"exp"}, sinks::jsonl{"mlruns"}, sinks::vertex_ai{{.project = "p"}}};`
class vertex_ai {
public:
    /// Resolves credentials, project, location and endpoints; throws mltrack::error (config.4x) when one
    /// cannot be found or is invalid. Makes no request (except asking the metadata server for the project
    /// when nothing else names one).
    explicit vertex_ai(vertex_ai_options options = {}) : c_(std::make_unique<detail::vx_context>()) {
        auto resolved = detail::resolve_vertex_config(std::move(options));
        auto& cfg = c_->cfg;
        cfg = std::move(resolved.cfg);
        auto creds = std::move(resolved.creds);
        const auto http = resolved.http;
        c_->counters = std::make_shared<detail::vertex_counters>();
        detail::backoff_policy backoff{cfg.options.backoff_initial, cfg.options.backoff_max};
        exists_creds_ = creds;
        exists_http_ = http;
        c_->engine = std::make_unique<detail::vertex_engine>(std::move(creds), http, backoff,
                                                             cfg.options.max_queued_requests, c_->counters);
    }

    vertex_ai(vertex_ai&&) noexcept = default;
    vertex_ai& operator=(vertex_ai&&) noexcept = default;
    vertex_ai(const vertex_ai&) = delete;
    vertex_ai& operator=(const vertex_ai&) = delete;
    ~vertex_ai() {
        if (c_ && !closed_) {
            try { close(); } catch (...) {}
        }
    }

    std::string_view name() const { return "vertex_ai"; }

    /// Counters that stay readable after the sink moved into a tracker.
    vertex_ai_monitor monitor() const { return vertex_ai_monitor(c_->counters); }
    vertex_ai_stats stats() const { return monitor().stats(); }

    const std::string& project() const noexcept { return c_->cfg.project; }
    const std::string& location() const noexcept { return c_->cfg.location; }
    const std::string& api_base() const noexcept { return c_->cfg.api; }
    /// Where the credentials come from ("service account x from y"), never the token.
    std::string credentials_source() const { return exists_creds_.source(); }

    /// The Vertex ids the sink uses for an experiment and a run (docs/vertex.md, "ids").
    std::string experiment_id(std::string_view experiment) const { return c_->cfg.experiment_id(experiment); }
    std::string run_id(std::string_view experiment, std::string_view run) const {
        return c_->cfg.run_id(experiment, run);
    }
    /// The console page of an experiment, as the SDK prints it.
    std::string console_url(std::string_view experiment) const {
        return "https://console.cloud.google.com/vertex-ai/experiments/locations/" + c_->cfg.location + "/experiments/" +
               experiment_id(experiment) + "/runs?project=" + c_->cfg.project;
    }

    /// Refuses (at start_run) a run whose names the service would refuse as ids: name.40-42 with the rule
    /// (vertex_id_mapping::exact, the default); nothing with explicit ids or the hashed mapping.
    void check_run(const run_info& run) const {
        if (!c_->cfg.chief || run.rank > 0) return;
        (void)run_id(run.experiment, run.name);  // checks the experiment too
    }

    /// Whether the run context exists on the service (a blocking GET; nullopt when it cannot tell).
    std::optional<bool> exists(const run_info& run) {
        if (!c_->cfg.chief || !c_->cfg.options.check_exists) return std::nullopt;
        try {
            const auto r = blocking_get(c_->cfg.parent + "/metadataStores/default/contexts/" + context_id_of(run));
            if (r.status == 404) return false;
            if (r.status == 200) return true;
        } catch (const std::exception&) {
        }
        return std::nullopt;
    }

    /// The highest step of each time series of a run on the service (through its "-tb-run" link), for a
    /// resumed run's points without a step, as the SDK reads them; nullopt when it cannot tell. Blocking.
    std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info& run) {
        if (!c_->cfg.chief || run.rank > 0) return std::nullopt;
        try {
            const auto art = blocking_get(c_->cfg.parent + "/metadataStores/default/artifacts/" + context_id_of(run) +
                                          "-tb-run");
            if (art.status == 404) return std::map<std::string, std::int64_t>{};
            if (art.status != 200) return std::nullopt;
            const std::string tbr = detail::linked_tensorboard_run(detail::parse_body(art));
            std::map<std::string, std::int64_t> out;
            if (tbr.empty()) return out;
            std::string token;
            do {
                const auto r = blocking_get(tbr + "/timeSeries?pageSize=1000" +
                                            (token.empty() ? "" : "&pageToken=" + detail::url_encode(token)));
                if (r.status != 200) return std::nullopt;
                const auto j = detail::parse_body(r);
                if (j.contains("tensorboardTimeSeries"))
                    for (const auto& ts : j["tensorboardTimeSeries"]) {
                        const std::string max = detail::str_of(detail::metadata_of(ts), "maxStep");
                        if (!max.empty()) out[detail::str_of(ts, "displayName")] = std::stoll(max);
                    }
                token = detail::str_of(j, "nextPageToken");
            } while (!token.empty());
            return out;
        } catch (const std::exception&) {
        }
        return std::nullopt;
    }

    void write(const batch& b) {
        if (!c_->cfg.chief) {
            if (!warned_not_chief_) {
                warned_not_chief_ = true;
                throw error(error_category::config, 48,
                            "this replica is not the chief of its job (CLUSTER_SPEC): it logs nothing to Vertex AI");
            }
            return;
        }
        std::size_t dropped = 0, skipped = 0;
        for (const event& e : b) {
            try {
                write_one(e, dropped, skipped);
            } catch (const std::exception& ex) {
                c_->engine->report(ex);
            }
        }
        c_->counters->points_rejected.fetch_add(skipped, std::memory_order_relaxed);
        if (dropped) {
            c_->counters->points_dropped.fetch_add(dropped, std::memory_order_relaxed);
            c_->engine->report(error(error_category::io, 43,
                                     std::to_string(dropped) + " time-series points not kept for Vertex AI: " +
                                         std::to_string(c_->cfg.options.max_buffered_points) +
                                         " points are already waiting (the JSONL copy has them; sync later)"));
        }
        c_->engine->pump(std::chrono::steady_clock::now());
        throw_errors();
    }

    /// Queues the buffered points of every run (it does not wait for the network).
    void flush() {
        if (!c_->cfg.chief) return;
        queue_flushes();
        c_->engine->pump(std::chrono::steady_clock::now());
        throw_errors();
    }

    /// The tracker's timed flush (every config::flush_interval): points go out at this sink's own
    /// flush_interval, in as few requests as it can batch, not at every local flush; an explicit flush()
    /// sends at once.
    void periodic_flush() { tick(std::chrono::steady_clock::now()); }

    void tick(std::chrono::steady_clock::time_point now) {
        if (!c_->cfg.chief) return;
        if (now - last_flush_ >= c_->cfg.options.flush_interval) {
            last_flush_ = now;
            queue_flushes();
        }
        c_->engine->pump(now);
        throw_errors();
    }

    /// When tick() is next needed: every millisecond while requests are queued or in flight (the transfer is
    /// driven by tick), at the next flush while time-series points wait in the buffers, and otherwise not
    /// before new work arrives, so the writer of an idle tracker sleeps.
    std::chrono::steady_clock::time_point next_tick() const {
        using clock = std::chrono::steady_clock;
        if (!c_ || closed_ || !c_->cfg.chief) return clock::time_point::max();
        if (!c_->engine->idle()) return clock::now() + std::chrono::milliseconds(1);
        if (c_->counters->points_buffered.load(std::memory_order_relaxed) > 0)
            return last_flush_ + c_->cfg.options.flush_interval;
        return clock::time_point::max();
    }

    /// Sends what is queued, waiting up to close_timeout; what is left is counted and reported (the JSONL
    /// copy keeps it: sync later).
    void close() {
        if (!c_ || closed_) return;
        closed_ = true;
        if (!c_->cfg.chief) return;
        c_->closing = true;
        queue_flushes();
        const bool all = c_->engine->drain(std::chrono::steady_clock::now() + c_->cfg.options.close_timeout);
        if (!all) {
            const auto points = c_->counters->points_buffered.load();
            const auto steps = c_->engine->abandon_all();
            c_->counters->undelivered_points.store(points);
            c_->counters->undelivered_steps.store(steps);
            c_->engine->report(error(error_category::io, 44,
                                     "Vertex AI did not take everything before close_timeout: " +
                                         std::to_string(steps) + " operations and " + std::to_string(points) +
                                         " time-series points were not delivered (the JSONL copy has them; "
                                         "`mltrack sync` completes the run without duplicates)"));
        }
        throw_errors();
    }

private:
    void throw_errors() {
        std::string e = c_->engine->take_errors();
        if (!e.empty()) throw std::runtime_error(e);
    }

    std::string context_id_of(const run_info& run) const {
        return detail::vertex_run_context_id(experiment_id(run.experiment), run_id(run.experiment, run.name));
    }

    /// A GET for the blocking calls of the writer thread at run start (two tries of at most 5 s).
    detail::http_response blocking_get(const std::string& resource) {
        if (!caller_) {
            auto http = exists_http_;
            http.timeout = std::min(http.timeout, std::chrono::milliseconds(5000));
            http.connect_timeout = std::min(http.connect_timeout, std::chrono::milliseconds(3000));
            caller_ = std::make_unique<detail::rest_caller>(
                exists_creds_, http,
                detail::backoff_policy{std::chrono::milliseconds(200), std::chrono::milliseconds(1000)}, 2);
        }
        return caller_->call(detail::json_request("GET", c_->v1(resource)));
    }

    std::shared_ptr<detail::vx_experiment> experiment_for(const run_info& info) {
        const std::string id = experiment_id(info.experiment);
        auto it = experiments_.find(id);
        if (it != experiments_.end()) return it->second;
        auto e = std::make_shared<detail::vx_experiment>();
        e->name = c_->cfg.experiment_display_name(info.experiment);
        e->id = id;
        if (!store_queued_) {
            store_queued_ = true;
            c_->engine->push(std::make_unique<detail::vx_store_step>(*c_));
        }
        c_->engine->push(std::make_unique<detail::vx_experiment_step>(*c_, e));
        experiments_.emplace(id, e);
        return e;
    }

    void open_run(const event& e) {
        auto r = std::make_shared<detail::vx_run>();
        r->info = *e.run;
        auto previous = runs_.find(e.run->id);
        if (previous != runs_.end()) {  // replay() reuses run ids: the previous run (never ended) is done
            previous->second->ended = true;
            queue_flush(previous->second);
        }
        runs_[e.run->id] = r;
        try {
            r->exp = experiment_for(*e.run);
            r->run_id = run_id(e.run->experiment, e.run->name);
        } catch (const error& ex) {  // names the service refuses (a sync: start_run checked them live)
            r->refused = true;
            c_->engine->report(ex);
            return;
        }
        r->context_id = detail::vertex_run_context_id(r->exp->id, r->run_id);
        r->display_name = c_->cfg.run_display_name(e.run->name);
        const bool resume = e.kind == record_kind::run_resume;
        c_->engine->push(std::make_unique<detail::vx_run_step>(*c_, r, resume));
        if (resume) {
            r->pending_state = "RUNNING";
            c_->engine->push(std::make_unique<detail::vx_patch_step>(*c_, r, true));
        }
    }

    void write_one(const event& e, std::size_t& dropped, std::size_t& skipped) {
        if (e.kind == record_kind::run_start || e.kind == record_kind::run_resume) {
            // rank_policy::every: a Vertex AI run has no rank dimension, so rank 0 speaks for the job there
            // (the other ranks' data stays in their JSONL and TensorBoard files; see docs/hpc.md).
            if (e.run->rank > 0) return;
            open_run(e);
            return;
        }
        auto it = runs_.find(e.run->id);
        if (it == runs_.end()) return;
        detail::vx_run& r = *it->second;
        if (r.refused) {  // reported when it opened; the JSONL copy keeps everything
            skipped += e.kind == record_kind::metric;
            if (e.kind == record_kind::run_end) runs_.erase(it);
            return;
        }
        switch (e.kind) {
            case record_kind::metric:
            case record_kind::histogram: {
                if (c_->counters->points_buffered.load(std::memory_order_relaxed) >= c_->cfg.options.max_buffered_points) {
                    ++dropped;
                    return;
                }
                if (e.kind == record_kind::metric) {
                    const auto id = e.metric->id;
                    if (r.by_metric.size() <= id) r.by_metric.resize(id + 1, nullptr);
                    auto& s = r.by_metric[id];
                    if (!s) s = &r.series_for(e.metric->name, false);
                    s->points.push_back({e.step, e.time_ns, e.value});
                } else {
                    const histogram& h = e.payload->get_histogram();
                    r.series_for(h.name, true)
                        .tensors.push_back({e.step, e.time_ns, detail::base64(detail::histogram_tensor_proto(h.buckets))});
                }
                ++r.buffered;
                c_->counters->points_buffered.fetch_add(1, std::memory_order_relaxed);
                if (r.buffered >= c_->cfg.options.max_points_per_request) queue_flush(it->second);
                return;
            }
            case record_kind::params:
                for (const auto& kv : e.payload->get_params()) r.pending_params[kv.first] = detail::struct_param(kv.second);
                queue_patch(it->second);
                return;
            case record_kind::tags: {
                // Tags become the run context's labels where they follow the label rules; the others stay in
                // the JSONL copy, reported once each (value.40).
                for (const auto& kv : e.payload->texts) {
                    if (detail::is_vertex_label(kv.first, kv.second)) {
                        r.pending_labels[kv.first] = kv.second;
                    } else if (r.unlabelled_tags.insert(kv.first).second) {
                        c_->engine->report(error(error_category::value, 40,
                                                 "tag '" + detail::printable(kv.first) + "' of run '" + r.context_id +
                                                     "' is not a Vertex AI label (lowercase letters, digits, '_' and '-', "
                                                     "at most 64 characters, 64 labels): kept in the JSONL record only"));
                    }
                }
                if (!r.pending_labels.empty()) queue_patch(it->second);
                return;
            }
            case record_kind::summary:
                for (const auto& kv : e.payload->get_values())
                    r.pending_metrics[kv.first] = detail::struct_double(kv.second);
                for (const auto& kv : e.payload->texts) r.pending_metrics[kv.first] = kv.second;
                queue_patch(it->second);
                return;
            case record_kind::artifact:
                if (detail::vx_artifact_uri(*c_, r, e.payload->get_artifact()).empty()) {
                    c_->counters->steps_rejected.fetch_add(1, std::memory_order_relaxed);
                    c_->engine->report(detail::vx_no_staging_error(r, e.payload->get_artifact()));
                    return;
                }
                c_->engine->push(std::make_unique<detail::vx_artifact_step>(*c_, it->second, *e.payload));
                return;
            case record_kind::classification:
                c_->engine->push(std::make_unique<detail::vx_artifact_step>(*c_, it->second, *e.payload));
                return;
            case record_kind::execution:
                c_->engine->push(std::make_unique<detail::vx_execution_step>(*c_, it->second, *e.payload));
                return;
            case record_kind::run_end: {
                auto run = it->second;
                runs_.erase(it);
                run->ended = true;
                if (run->buffered) queue_flush(run);
                const auto st = e.payload->get_state();  // Vertex AI has no PREEMPTED: it is a CANCELLED run there
                run->pending_state = to_string(st == run_state::preempted ? run_state::cancelled : st);
                c_->engine->push(std::make_unique<detail::vx_patch_step>(*c_, run, true));
                return;
            }
            default: return;
        }
    }

    void queue_patch(const std::shared_ptr<detail::vx_run>& r) {
        if (r->patch_queued) return;
        if (c_->engine->push(std::make_unique<detail::vx_patch_step>(*c_, r, false))) r->patch_queued = true;
    }

    void queue_flush(const std::shared_ptr<detail::vx_run>& r) {
        if (r->flush_queued || r->buffered == 0) return;
        if (c_->engine->push(std::make_unique<detail::vx_flush_step>(*c_, r))) r->flush_queued = true;
    }

    void queue_flushes() {
        for (auto& kv : runs_) queue_flush(kv.second);
    }

    std::unique_ptr<detail::vx_context> c_;
    std::map<std::string, std::shared_ptr<detail::vx_experiment>> experiments_;
    std::unordered_map<std::uint32_t, std::shared_ptr<detail::vx_run>> runs_;
    bool store_queued_ = false;
    bool closed_ = false;
    bool warned_not_chief_ = false;
    std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
    detail::credentials exists_creds_;
    detail::http_options exists_http_;
    std::unique_ptr<detail::rest_caller> caller_;
};

}  // namespace sinks
MLTRACK_NAMESPACE_END
