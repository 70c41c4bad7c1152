// Why: live tracking into Vertex AI Experiments and Vertex AI TensorBoard over REST, creating exactly the
// resources the Python SDK creates (docs/vertex.md; the REST calls are in the spec the project keeps), so
// the console, get_experiment_df() and ExperimentRun(...) see mltrack runs as native ones. Needs libcurl
// (and libcrypto for service-account keys), so the umbrella mltrack.hpp does not include it.
//
// Everything happens on the tracker's writer thread and never blocks it on the network: write() only
// records what to send (params and summary metrics merge into one pending PATCH per run, points into
// per-series buffers), and tick() drives the requests through a non-blocking transfer (detail/
// vertex_engine.hpp). Time-series points go out in runs:write requests of up to 5000 points, on an
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
#include "../detail/http.hpp"
#include "../detail/json_line.hpp"
#include "../detail/vertex_auth.hpp"
#include "../detail/vertex_bodies.hpp"
#include "../detail/vertex_client.hpp"
#include "../detail/vertex_config.hpp"
#include "../detail/vertex_engine.hpp"
#include "../detail/vertex_env.hpp"
#include "../detail/vertex_ids.hpp"
#include "../detail/vertex_rest.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Everything the sink knows about one Vertex experiment.
struct vx_experiment {
    std::string name;           ///< ours
    std::string id;             ///< the Vertex context / TensorBoard experiment id
    std::string context_name;   ///< server name, once created or found
    nlohmann::json context;     ///< as last returned (for PATCH)
    std::string tensorboard;    ///< backing TensorBoard's server name
    std::string tb_experiment;  ///< TensorBoard experiment's server name
    bool failed = false;        ///< the experiment could not be set up (every run of it is refused)
    bool tb_failed = false;     ///< no TensorBoard: time series are refused
};

struct vx_point {
    std::int64_t step;
    std::int64_t time_ns;
    double value;
};

struct vx_series {
    std::string key;
    std::string id;  ///< the server's time series id, once known
    std::deque<vx_point> points;
};

/// Everything the sink knows about one run.
struct vx_run {
    run_info info;
    std::shared_ptr<vx_experiment> exp;
    std::string run_id, context_id;
    std::string context_name;
    nlohmann::json context;
    std::string tb_run;
    bool failed = false;
    bool adopted = false;   ///< the run existed on the service already (resume, retry, sync)
    std::vector<std::unique_ptr<vx_series>> by_metric;  ///< indexed by the tracker's metric id
    std::unordered_map<std::string, vx_series*> by_key;
    std::unordered_map<std::string, std::string> series_ids;  ///< key -> server id, as far as known

    /// Records the server id of a series (from a list or a create), whether or not it has points yet.
    void learn_series(const nlohmann::json& ts) {
        const std::string key = ts.value("displayName", std::string());
        const std::string name = ts.value("name", std::string());
        if (key.empty() || name.empty()) return;
        const std::string id = name.substr(name.rfind('/') + 1);
        series_ids[key] = id;
        auto it = by_key.find(key);
        if (it != by_key.end()) it->second->id = id;
    }
    std::size_t buffered = 0;
    bool flush_queued = false;
    nlohmann::json pending_params = nlohmann::json::object();
    nlohmann::json pending_metrics = nlohmann::json::object();
    std::optional<std::string> pending_state;
    bool patch_queued = false;
    bool ended = false;  ///< run_end seen: no more points will come
};

/// The shared context of the steps: configuration, engine, runs.
struct vx_context {
    vx_config cfg;
    std::shared_ptr<vertex_counters> counters;
    std::unique_ptr<vertex_engine> engine;
    std::string store_name;  ///< the metadata store's server name
    bool store_failed = false;
    bool warned_no_staging = false;
    bool closing = false;  ///< close() started: flushes send everything buffered

    std::string v1(const std::string& resource) const { return cfg.v1(resource); }
    std::string store_path() const {
        return store_name.empty() ? cfg.parent + "/metadataStores/default" : store_name;
    }
    void buffered_delta(std::int64_t d) {
        if (d >= 0) counters->points_buffered.fetch_add(static_cast<std::uint64_t>(d), std::memory_order_relaxed);
        else counters->points_buffered.fetch_sub(static_cast<std::uint64_t>(-d), std::memory_order_relaxed);
    }
};

inline nlohmann::json parse_body(const http_response& r) {
    if (r.body.empty()) return nlohmann::json::object();
    try {
        return nlohmann::json::parse(r.body);
    } catch (const std::exception&) {
        throw error(error_category::io, 41, "the service answered with a body that is not JSON");
    }
}

inline bool ok(const http_response& r) { return r.status >= 200 && r.status < 300; }

inline bool is_status(const http_response& r, long http, const char* status) {
    if (r.status != http) return false;
    return parse_api_error(r).status == status;
}

// ------------------------------------------------------------------------------------------------ steps

/// GET the metadata store; create it (LRO) when missing.
class vx_store_step final : public vertex_step {
public:
    explicit vx_store_step(vx_context& c) : c_(c) {}
    std::string label() const override { return "set up the metadata store"; }

    std::optional<http_request> next(vertex_engine&) override {
        switch (phase_) {
            case 0: return json_request("GET", c_.v1(c_.cfg.parent + "/metadataStores/default"));
            case 1: {
                const nlohmann::json body = nlohmann::json::object();
                return json_request("POST", c_.v1(c_.cfg.parent + "/metadataStores?metadataStoreId=default"), &body);
            }
            case 2: return json_request("GET", c_.v1(operation_));
            default: return std::nullopt;
        }
    }

    step_outcome on_response(vertex_engine&, const http_response& r) override {
        if (phase_ == 0) {
            if (ok(r)) {
                c_.store_name = parse_body(r).value("name", std::string());
                phase_ = 3;
                return step_outcome::next;
            }
            if (r.status == 404) {
                phase_ = 1;
                return step_outcome::next;
            }
        } else if (phase_ == 1) {
            if (ok(r)) {
                operation_ = parse_body(r).value("name", std::string());
                phase_ = operation_.empty() ? 0 : 2;
                return step_outcome::next;
            }
            if (r.status == 409) {
                phase_ = 0;
                wait_for = std::chrono::milliseconds(500);
                return step_outcome::wait;
            }
        } else if (phase_ == 2) {
            if (ok(r)) {
                const auto op = parse_body(r);
                if (!op.value("done", false)) {
                    wait_for = std::chrono::milliseconds(500);
                    return step_outcome::wait;
                }
                if (op.contains("error")) {
                    drop_reason = "creating the metadata store failed: " + op["error"].dump();
                    return step_outcome::drop;
                }
                phase_ = 0;
                return step_outcome::next;
            }
        }
        return step_outcome::drop;
    }

    void on_abandon(vertex_engine&) override { c_.store_failed = true; }

private:
    vx_context& c_;
    int phase_ = 0;
    std::string operation_;
};

/// Creates (or finds) the experiment context, then its backing TensorBoard and TensorBoard experiment.
class vx_experiment_step final : public vertex_step {
public:
    vx_experiment_step(vx_context& c, std::shared_ptr<vx_experiment> e) : c_(c), e_(std::move(e)) {}
    std::string label() const override { return "set up experiment '" + e_->id + "'"; }

    enum phase : int {
        create_ctx, get_ctx, get_tb, list_tb, create_tb, poll_tb, bind_tb, refresh_ctx, create_tbe, get_tbe, done
    };

    std::optional<http_request> next(vertex_engine&) override {
        if (c_.store_failed) throw error(error_category::io, 41, "the metadata store could not be set up");
        const std::string store = c_.store_path();
        switch (phase_) {
            case create_ctx: {
                const auto body = experiment_context_body(e_->name, c_.cfg.options.experiment_description);
                return json_request("POST", c_.v1(store + "/contexts?contextId=" + e_->id), &body);
            }
            case get_ctx:
            case refresh_ctx: return json_request("GET", c_.v1(store + "/contexts/" + e_->id));
            case get_tb: return json_request("GET", c_.v1(tb_candidate_));
            case list_tb:
                return json_request("GET", c_.v1(c_.cfg.parent + "/tensorboards?filter=" + url_encode("is_default=true") +
                                                 (page_token_.empty() ? "" : "&pageToken=" + url_encode(page_token_))));
            case create_tb: {
                const nlohmann::json body{{"displayName", "Default Tensorboard " + rfc3339(now_ns()).substr(0, 19)},
                                          {"isDefault", true}};
                auto req = json_request("POST", c_.v1(c_.cfg.parent + "/tensorboards"), &body);
                req.fresh_connection = true;  // no client id: must never be replayed behind our back
                return req;
            }
            case poll_tb: return json_request("GET", c_.v1(operation_));
            case bind_tb: {
                auto body = context_patch_body(e_->context);
                body["metadata"]["backing_tensorboard_resource"] = e_->tensorboard;
                return json_request("PATCH", c_.v1(e_->context_name), &body);
            }
            case create_tbe: {
                const auto body = tensorboard_experiment_body(e_->name);
                return json_request("POST", c_.v1(e_->tensorboard + "/experiments?tensorboardExperimentId=" + e_->id),
                                    &body);
            }
            case get_tbe: return json_request("GET", c_.v1(e_->tensorboard + "/experiments/" + e_->id));
            default: return std::nullopt;
        }
    }

    step_outcome on_response(vertex_engine& engine, const http_response& r) override {
        switch (phase_) {
            case create_ctx:
                if (ok(r)) return took_context(parse_body(r));
                if (is_status(r, 409, "ALREADY_EXISTS")) return go(get_ctx);
                break;
            case get_ctx:
                if (ok(r)) return took_context(parse_body(r));
                if (r.status == 404) return go(create_ctx);
                break;
            case get_tb:
                if (ok(r)) {
                    e_->tensorboard = parse_body(r).value("name", std::string());
                    return go(bound_tb() == e_->tensorboard ? create_tbe : bind_tb);
                }
                if (r.status == 404 && c_.cfg.options.tensorboard.empty()) return go(list_tb);
                break;
            case list_tb:
                if (ok(r)) {
                    const auto j = parse_body(r);
                    if (j.contains("tensorboards") && !j["tensorboards"].empty()) {
                        e_->tensorboard = j["tensorboards"][0].value("name", std::string());
                        return go(bind_tb);
                    }
                    page_token_ = j.value("nextPageToken", std::string());
                    if (!page_token_.empty()) return step_outcome::next;
                    if (create_lost_ && lost_waits_ < 20) {
                        // A create whose answer was lost may still be completing: give it time to appear
                        // rather than create a second default TensorBoard.
                        ++lost_waits_;
                        wait_for = std::chrono::milliseconds(500);
                        return step_outcome::wait;
                    }
                    if (!c_.cfg.options.create_tensorboard) {
                        drop_reason = "the project has no default TensorBoard and create_tensorboard is false";
                        return step_outcome::drop;
                    }
                    return go(create_tb);
                }
                break;
            case create_tb:
                if (ok(r)) {
                    operation_ = parse_body(r).value("name", std::string());
                    return go(poll_tb);
                }
                break;
            case poll_tb:
                if (ok(r)) {
                    const auto op = parse_body(r);
                    if (!op.value("done", false)) {
                        wait_for = std::chrono::milliseconds(500);
                        return step_outcome::wait;
                    }
                    if (op.contains("error") || !op.contains("response")) {
                        drop_reason = "creating the default TensorBoard failed";
                        return step_outcome::drop;
                    }
                    e_->tensorboard = op["response"].value("name", std::string());
                    return go(bind_tb);
                }
                break;
            case bind_tb:
                if (ok(r)) {
                    e_->context = parse_body(r);
                    return go(create_tbe);
                }
                if (is_status(r, 409, "ABORTED")) {
                    engine.counters().aborted.fetch_add(1, std::memory_order_relaxed);
                    return go(refresh_ctx);
                }
                break;
            case refresh_ctx:
                if (ok(r)) {
                    e_->context = parse_body(r);
                    const std::string bound = bound_tb();
                    if (!bound.empty() && bound != e_->tensorboard) {
                        engine.report(error(error_category::config, 47,
                                            "experiment '" + e_->id + "' is bound to TensorBoard " + bound +
                                                "; using it instead of " + e_->tensorboard));
                        e_->tensorboard = bound;
                        return go(create_tbe);
                    }
                    return go(bound.empty() ? bind_tb : create_tbe);
                }
                break;
            case create_tbe:
                if (ok(r)) {
                    e_->tb_experiment = parse_body(r).value("name", std::string());
                    return go(done);
                }
                if (is_status(r, 409, "ALREADY_EXISTS")) return go(get_tbe);
                break;
            case get_tbe:
                if (ok(r)) {
                    e_->tb_experiment = parse_body(r).value("name", std::string());
                    return go(done);
                }
                if (r.status == 404) return go(create_tbe);
                break;
            default: break;
        }
        return step_outcome::drop;
    }

    void on_abandon(vertex_engine&) override {
        if (e_->context_name.empty()) e_->failed = true;
        if (e_->tb_experiment.empty()) e_->tb_failed = true;
    }

    void on_retry(vertex_engine&) override {
        if (phase_ == create_tb) {  // tensorboards.create has no client id: never send it twice blindly
            create_lost_ = true;
            page_token_.clear();
            phase_ = list_tb;
        }
    }

private:
    static std::int64_t now_ns() { return system_now_ns(); }

    step_outcome go(int p) {
        phase_ = p;
        return step_outcome::next;
    }

    std::string bound_tb() const {
        const auto& md = e_->context.contains("metadata") ? e_->context["metadata"] : nlohmann::json::object();
        if (md.is_object() && md.contains("backing_tensorboard_resource") &&
            md["backing_tensorboard_resource"].is_string())
            return md["backing_tensorboard_resource"].get<std::string>();
        return {};
    }

    step_outcome took_context(nlohmann::json ctx) {
        if (ctx.value("schemaTitle", std::string()) != "system.Experiment") {
            drop_reason = "context '" + e_->id + "' exists but is a " + ctx.value("schemaTitle", std::string("?")) +
                          ", not a system.Experiment";
            return step_outcome::drop;
        }
        if (ctx.contains("metadata") && ctx["metadata"].contains("tensorboard_link")) {
            drop_reason = "context '" + e_->id + "' is a TensorBoard experiment of a custom job, not a Vertex experiment";
            return step_outcome::drop;
        }
        e_->context_name = ctx.value("name", std::string());
        e_->context = std::move(ctx);
        if (!c_.cfg.options.time_series) {
            e_->tb_failed = true;
            return go(done);
        }
        std::string tb = c_.cfg.options.tensorboard;
        if (!tb.empty() && tb.find('/') == std::string::npos) tb = c_.cfg.parent + "/tensorboards/" + tb;
        const std::string bound = bound_tb();
        if (!bound.empty() && !tb.empty() && bound.substr(bound.rfind('/') + 1) != tb.substr(tb.rfind('/') + 1))
            c_.engine->report(error(error_category::config, 47,
                                    "experiment '" + e_->id + "' is bound to TensorBoard " + bound + "; using it, not " +
                                        tb + " (an experiment has one backing TensorBoard)"));
        tb_candidate_ = !bound.empty() ? bound : tb;
        return go(tb_candidate_.empty() ? list_tb : get_tb);
    }

    vx_context& c_;
    std::shared_ptr<vx_experiment> e_;
    int phase_ = create_ctx;
    std::string tb_candidate_, operation_, page_token_;
    bool create_lost_ = false;
    int lost_waits_ = 0;
};

/// Creates or resumes a run: run context, TensorBoard run, the "-tb-run" artifact, links.
class vx_run_step final : public vertex_step {
public:
    vx_run_step(vx_context& c, std::shared_ptr<vx_run> r, bool resume) : c_(c), r_(std::move(r)), resume_(resume) {
        phase_ = resume ? get_ctx : create_ctx;
    }
    std::string label() const override { return (resume_ ? "resume run '" : "create run '") + r_->context_id + "'"; }

    enum phase : int { create_ctx, get_ctx, create_tbr, get_tbr, create_art, get_art, patch_art, link_art, add_child,
                       list_ts, done };

    std::optional<http_request> next(vertex_engine&) override {
        if (r_->exp->failed) throw error(error_category::io, 41, "experiment '" + r_->exp->id + "' could not be set up");
        const std::string store = c_.store_path();
        const bool tb = !r_->exp->tb_failed && !r_->exp->tb_experiment.empty();
        if (!tb && (phase_ == create_tbr || phase_ == get_tbr || phase_ == create_art || phase_ == get_art ||
                    phase_ == patch_art || phase_ == link_art))
            phase_ = add_child;
        if (phase_ == list_ts && (!tb || r_->tb_run.empty())) phase_ = done;
        switch (phase_) {
            case create_ctx: {
                const auto body = run_context_body(r_->info.name);
                return json_request("POST", c_.v1(store + "/contexts?contextId=" + r_->context_id), &body);
            }
            case get_ctx: return json_request("GET", c_.v1(store + "/contexts/" + r_->context_id));
            case create_tbr: {
                const auto body = tensorboard_run_body(r_->info.name);
                return json_request("POST", c_.v1(r_->exp->tb_experiment + "/runs?tensorboardRunId=" + r_->run_id),
                                    &body);
            }
            case get_tbr: return json_request("GET", c_.v1(r_->exp->tb_experiment + "/runs/" + r_->run_id));
            case create_art: {
                const auto body = tensorboard_run_artifact_body(c_.cfg.api, r_->tb_run);
                return json_request("POST", c_.v1(store + "/artifacts?artifactId=" + r_->context_id + "-tb-run"), &body);
            }
            case get_art: return json_request("GET", c_.v1(store + "/artifacts/" + r_->context_id + "-tb-run"));
            case patch_art: {
                auto body = resource_patch_body(artifact_);
                const auto fresh = tensorboard_run_artifact_body(c_.cfg.api, r_->tb_run);
                body["uri"] = fresh["uri"];
                body["metadata"] = fresh["metadata"];
                return json_request("PATCH", c_.v1(artifact_.value("name", std::string())), &body);
            }
            case link_art: {
                const nlohmann::json body{{"artifacts", {artifact_.value("name", std::string())}}};
                return json_request("POST", c_.v1(r_->context_name + ":addContextArtifactsAndExecutions"), &body);
            }
            case add_child: {
                const nlohmann::json body{{"childContexts", {r_->context_name}}};
                return json_request("POST", c_.v1(r_->exp->context_name + ":addContextChildren"), &body);
            }
            case list_ts:
                return json_request("GET", c_.v1(r_->tb_run + "/timeSeries?pageSize=1000" +
                                                 (page_token_.empty() ? "" : "&pageToken=" + url_encode(page_token_))));
            default: return std::nullopt;
        }
    }

    step_outcome on_response(vertex_engine&, const http_response& r) override {
        switch (phase_) {
            case create_ctx:
                if (ok(r)) return took_context(parse_body(r));
                if (is_status(r, 409, "ALREADY_EXISTS")) {
                    r_->adopted = true;  // our own earlier try, a resume without the flag, or a sync
                    return go(get_ctx);
                }
                break;
            case get_ctx:
                if (ok(r)) {
                    r_->adopted = true;
                    return took_context(parse_body(r));
                }
                if (r.status == 404) return go(create_ctx);
                break;
            case create_tbr:
            case get_tbr:
                if (ok(r)) {
                    r_->tb_run = parse_body(r).value("name", std::string());
                    return go(create_art);
                }
                if (phase_ == create_tbr && is_status(r, 409, "ALREADY_EXISTS")) return go(get_tbr);
                if (phase_ == get_tbr && r.status == 404) return go(create_tbr);
                break;
            case create_art:
            case get_art:
                if (ok(r)) {
                    artifact_ = parse_body(r);
                    const auto& md = artifact_.contains("metadata") ? artifact_["metadata"] : nlohmann::json::object();
                    const bool ours = md.is_object() && md.value("resourceName", std::string()) == r_->tb_run;
                    return go(ours ? link_art : patch_art);  // a stale one (deleted run of that name): repoint it
                }
                if (phase_ == create_art && is_status(r, 409, "ALREADY_EXISTS")) return go(get_art);
                if (phase_ == get_art && r.status == 404) return go(create_art);
                break;
            case patch_art:
                if (ok(r)) {
                    artifact_ = parse_body(r);
                    return go(link_art);
                }
                if (is_status(r, 409, "ABORTED")) return go(get_art);
                break;
            case link_art:
                if (ok(r)) return go(add_child);
                break;
            case add_child:
                if (ok(r)) return go(r_->adopted ? list_ts : done);
                break;
            case list_ts:
                if (ok(r)) {
                    const auto j = parse_body(r);
                    if (j.contains("tensorboardTimeSeries"))
                        for (const auto& ts : j["tensorboardTimeSeries"]) r_->learn_series(ts);
                    page_token_ = j.value("nextPageToken", std::string());
                    return page_token_.empty() ? go(done) : step_outcome::next;
                }
                break;
            default: break;
        }
        return step_outcome::drop;
    }

    void on_abandon(vertex_engine&) override {
        if (r_->context_name.empty()) r_->failed = true;
    }

private:
    step_outcome go(int p) {
        phase_ = p;
        return step_outcome::next;
    }

    step_outcome took_context(nlohmann::json ctx) {
        if (ctx.value("schemaTitle", std::string()) != "system.ExperimentRun") {
            drop_reason = "context '" + r_->context_id + "' exists but is a " + ctx.value("schemaTitle", std::string("?")) +
                          ", not a system.ExperimentRun";
            return step_outcome::drop;
        }
        r_->context_name = ctx.value("name", std::string());
        r_->context = std::move(ctx);
        return go(create_tbr);
    }

    vx_context& c_;
    std::shared_ptr<vx_run> r_;
    bool resume_;
    int phase_;
    nlohmann::json artifact_;
    std::string page_token_;
};

/// PATCH of the run context: params, summary metrics and (for run end / resume) the state, merged into the
/// context the server last returned, with its etag; on ABORTED the context is read again and re-merged.
class vx_patch_step final : public vertex_step {
public:
    vx_patch_step(vx_context& c, std::shared_ptr<vx_run> r, bool with_state)
        : c_(c), r_(std::move(r)), with_state_(with_state) {}
    std::string label() const override { return "update run '" + r_->context_id + "'"; }

    std::optional<http_request> next(vertex_engine&) override {
        if (r_->failed || r_->context_name.empty())
            throw error(error_category::io, 41, "run '" + r_->context_id + "' could not be created");
        if (refresh_) return json_request("GET", c_.v1(r_->context_name));
        sent_params_ = r_->pending_params;
        sent_metrics_ = r_->pending_metrics;
        sent_state_ = with_state_ ? r_->pending_state : std::nullopt;
        if (sent_params_.empty() && sent_metrics_.empty() && !sent_state_) return std::nullopt;
        auto body = context_patch_body(r_->context);
        auto& md = body["metadata"];
        if (!md.is_object()) md = nlohmann::json::object();
        for (const char* k : {"_params", "_metrics"})
            if (!md.contains(k) || !md[k].is_object()) md[k] = nlohmann::json::object();
        for (auto it = sent_params_.begin(); it != sent_params_.end(); ++it) md["_params"][it.key()] = it.value();
        for (auto it = sent_metrics_.begin(); it != sent_metrics_.end(); ++it) md["_metrics"][it.key()] = it.value();
        if (sent_state_) md["_state"] = *sent_state_;
        else if (!md.contains("_state")) md["_state"] = "RUNNING";
        return json_request("PATCH", c_.v1(r_->context_name), &body);
    }

    step_outcome on_response(vertex_engine& engine, const http_response& r) override {
        if (refresh_) {
            if (!ok(r)) return step_outcome::drop;
            r_->context = parse_body(r);
            refresh_ = false;
            return step_outcome::next;
        }
        if (ok(r)) {
            r_->context = parse_body(r);
            erase_sent(r_->pending_params, sent_params_);
            erase_sent(r_->pending_metrics, sent_metrics_);
            if (sent_state_ && r_->pending_state == sent_state_) r_->pending_state.reset();
            aborted_in_a_row_ = 0;
            return step_outcome::next;  // next() sends what arrived meanwhile, or completes
        }
        if (is_status(r, 409, "ABORTED")) {
            engine.counters().aborted.fetch_add(1, std::memory_order_relaxed);
            refresh_ = true;
            return ++aborted_in_a_row_ > 5 ? step_outcome::retry : step_outcome::next;
        }
        return step_outcome::drop;
    }

    void on_abandon(vertex_engine&) override {
        r_->patch_queued = false;
        // The values stay pending: a later PATCH of this run (or a sync) carries them.
    }

    ~vx_patch_step() override {
        if (!with_state_) r_->patch_queued = false;
    }

private:
    static void erase_sent(nlohmann::json& pending, const nlohmann::json& sent) {
        for (auto it = sent.begin(); it != sent.end(); ++it) {
            auto p = pending.find(it.key());
            if (p != pending.end() && *p == it.value()) pending.erase(p);
        }
    }

    vx_context& c_;
    std::shared_ptr<vx_run> r_;
    bool with_state_;
    bool refresh_ = false;
    unsigned aborted_in_a_row_ = 0;
    nlohmann::json sent_params_, sent_metrics_;
    std::optional<std::string> sent_state_;
};

/// Sends a run's buffered points: creates missing time series (batchCreate, or finds them when they exist),
/// then runs:write requests of up to max_points_per_request points, until what was buffered when the step
/// started is sent.
class vx_flush_step final : public vertex_step {
public:
    vx_flush_step(vx_context& c, std::shared_ptr<vx_run> r) : c_(c), r_(std::move(r)) {}
    std::string label() const override { return "write time series of run '" + r_->context_id + "'"; }

    std::optional<http_request> next(vertex_engine&) override {
        if (!started_) {
            started_ = true;
            budget_ = r_->buffered;
        }
        if (r_->failed || r_->exp->failed || r_->exp->tb_failed || r_->tb_run.empty()) {
            reject_all(r_->failed || r_->exp->failed ? "the run could not be created"
                                                     : "the run has no TensorBoard run");
            return std::nullopt;
        }
        if (listing_) {
            return json_request("GET", c_.v1(r_->tb_run + "/timeSeries?pageSize=1000" +
                                             (page_token_.empty() ? "" : "&pageToken=" + url_encode(page_token_))));
        }
        creating_.clear();
        for (auto& s : r_->by_metric)
            if (s && s->id.empty() && !s->points.empty() && creating_.size() < 1000) creating_.push_back(s.get());
        if (!creating_.empty()) {
            nlohmann::json body{{"requests", nlohmann::json::array()}};
            for (auto* s : creating_) body["requests"].push_back(time_series_create_request(r_->tb_run, s->key));
            return json_request("POST", c_.v1(r_->exp->tb_experiment + ":batchCreate"), &body);
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
                for (std::size_t i = 0; i < t.second; ++i) t.first->points.pop_front();
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
                for (std::size_t i = 0; i < t.second; ++i) t.first->points.pop_front();
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
    http_request build_write() {
        taken_.clear();
        std::size_t room = std::min(budget_, c_.cfg.options.max_points_per_request);
        std::string body = "{\"timeSeriesData\":[";
        bool first_series = true;
        for (auto& s : r_->by_metric) {
            if (!s || s->id.empty() || s->points.empty() || room == 0) continue;
            const std::size_t take = std::min(room, s->points.size());
            if (!first_series) body += ',';
            first_series = false;
            body += "{\"tensorboardTimeSeriesId\":\"" + s->id + "\",\"valueType\":\"SCALAR\",\"values\":[";
            for (std::size_t i = 0; i < take; ++i) {
                const vx_point& p = s->points[i];
                if (i) body += ',';
                body += "{\"step\":\"";
                append_int(body, p.step);
                body += "\",\"wallTime\":\"";
                body += rfc3339(p.time_ns);
                body += "\",\"scalar\":{\"value\":";
                append_double(body, p.value);
                body += "}}";
            }
            body += "]}";
            taken_.emplace_back(s.get(), take);
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
        const auto n = s.points.size();
        s.points.clear();
        r_->buffered -= n;
        c_.buffered_delta(-static_cast<std::int64_t>(n));
        c_.counters->points_rejected.fetch_add(n, std::memory_order_relaxed);
        engine.report(error(error_category::io, 41,
                            "time series '" + s.key + "' of run '" + r_->context_id + "': " + why + " (" +
                                std::to_string(n) + " points not sent)"));
    }

    void reject_all(const std::string& why) {
        std::size_t n = 0;
        for (auto& s : r_->by_metric)
            if (s) {
                n += s->points.size();
                s->points.clear();
            }
        if (n == 0) return;
        r_->buffered = 0;
        c_.buffered_delta(-static_cast<std::int64_t>(n));
        c_.counters->points_rejected.fetch_add(n, std::memory_order_relaxed);
        c_.engine->report(error(error_category::io, 41,
                                std::to_string(n) + " points of run '" + r_->context_id + "' not sent: " + why));
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

/// Where an artifact's files go in Cloud Storage, deterministic so that retries, syncs and executions that
/// name the same artifact agree: <staging>/<experiment id>/<run id>/<name>-<8 hex of its digest>.
inline std::string vx_artifact_dir(const vx_context& c, const vx_run& r, const artifact& a) {
    const std::string digest = a.sha256.empty() ? sha256::of(a.source) : a.sha256;
    return c.cfg.staging + "/" + r.exp->id + "/" + r.run_id + "/" + a.name + "-" + digest.substr(0, 8);
}

inline std::string vx_artifact_id(const vx_run& r, const artifact& a) {
    const char* prefix = a.type == artifact_type::model ? "model" : a.type == artifact_type::dataset ? "dataset" : "artifact";
    return vertex_record_id(prefix, r.context_id, a.name + "\n" + (a.sha256.empty() ? a.source : a.sha256));
}

/// The local file of an artifact: its source, else its copy under local_root.
inline std::filesystem::path vx_local_file(const vx_context& c, const vx_run& r, const artifact& a) {
    std::error_code ec;
    if (!a.source.empty() && a.source.find("://") == std::string::npos && std::filesystem::exists(a.source, ec))
        return a.source;
    if (!c.cfg.options.local_root.empty() && !a.path.empty()) {
        const auto p = std::filesystem::path(c.cfg.options.local_root) / r.info.experiment / r.info.name / a.path;
        if (std::filesystem::exists(p, ec)) return p;
    }
    return {};
}

/// The URI an artifact gets: its own gs:// or other URI, its Cloud Storage copy, or its local path.
inline std::string vx_artifact_uri(const vx_context& c, const vx_run& r, const artifact& a) {
    if (a.source.find("://") != std::string::npos) return a.source;
    if (!c.cfg.staging.empty() && !vx_local_file(c, r, a).empty()) return vx_artifact_dir(c, r, a);
    return "file://" + a.source;
}

/// A classification-metrics, model or other artifact of a run: files uploaded to Cloud Storage (models and
/// artifacts with a local file), the artifact created with a deterministic id, and attributed to the run.
class vx_artifact_step final : public vertex_step {
public:
    vx_artifact_step(vx_context& c, std::shared_ptr<vx_run> r, record rec) : c_(c), r_(std::move(r)), rec_(std::move(rec)) {
        if (rec_.kind == record_kind::classification) {
            const auto& m = rec_.get_classification();
            id_ = vertex_record_id("cm", r_->context_id, std::to_string(rec_.time_ns) + "\n" + m.display_name);
            body_ = classification_artifact_body(m);
        } else {
            const artifact& a = rec_.get_artifact();
            id_ = vx_artifact_id(*r_, a);
            uri_ = vx_artifact_uri(c_, *r_, a);
            body_ = artifact_body(a, uri_);
            plan_uploads(a);
        }
    }
    std::string label() const override {
        return (rec_.kind == record_kind::classification ? "log classification metrics '" : "log artifact '") +
               (rec_.kind == record_kind::classification ? rec_.get_classification().display_name
                                                         : rec_.get_artifact().name) +
               "' of run '" + r_->context_id + "'";
    }

    std::optional<http_request> next(vertex_engine&) override {
        if (r_->failed || r_->context_name.empty())
            throw error(error_category::io, 41, "run '" + r_->context_id + "' could not be created");
        const std::string store = c_.store_path();
        while (upload_ < uploads_.size()) {
            const auto& u = uploads_[upload_];
            const std::string mount = gcs_mount_path(u.second, c_.cfg.options.gcs_mount);
            if (!mount.empty()) {  // inside a Vertex job: the bucket is mounted
                std::error_code ec;
                std::filesystem::create_directories(std::filesystem::path(mount).parent_path(), ec);
                std::filesystem::copy_file(u.first, mount, std::filesystem::copy_options::overwrite_existing, ec);
                if (ec) throw error(error_category::io, 45, "cannot copy " + u.first.string() + " to " + mount);
                ++upload_;
                continue;
            }
            const std::string rest = u.second.substr(5);
            const auto slash = rest.find('/');
            http_request req;
            req.method = "POST";
            req.url = c_.cfg.gcs + "/upload/storage/v1/b/" + url_encode(rest.substr(0, slash)) +
                      "/o?uploadType=media&name=" + url_encode(rest.substr(slash + 1));
            req.headers.push_back("Content-Type: application/octet-stream");
            req.body_file = u.first;
            return req;
        }
        switch (phase_) {
            case 0: return json_request("POST", c_.v1(store + "/artifacts?artifactId=" + id_), &body_);
            case 1: {
                const nlohmann::json body{{"artifacts", {store + "/artifacts/" + id_}}};
                return json_request("POST", c_.v1(r_->context_name + ":addContextArtifactsAndExecutions"), &body);
            }
            default: return std::nullopt;
        }
    }

    step_outcome on_response(vertex_engine&, const http_response& r) override {
        if (upload_ < uploads_.size()) {
            if (ok(r)) {
                ++upload_;
                return step_outcome::next;
            }
            return step_outcome::drop;
        }
        if (phase_ == 0 && (ok(r) || is_status(r, 409, "ALREADY_EXISTS"))) {
            phase_ = 1;
            return step_outcome::next;
        }
        if (phase_ == 1 && ok(r)) {
            phase_ = 2;
            return step_outcome::next;
        }
        return step_outcome::drop;
    }

private:
    void plan_uploads(const artifact& a) {
        if (a.source.find("://") != std::string::npos) return;
        const auto local = vx_local_file(c_, *r_, a);
        if (local.empty() || c_.cfg.staging.empty()) {
            if (a.type == artifact_type::model && c_.cfg.staging.empty() && !c_.warned_no_staging) {
                c_.warned_no_staging = true;
                c_.engine->report(error(error_category::config, 46,
                                        "model '" + a.name + "' is not uploaded: no staging bucket (set "
                                        "vertex_ai_options::staging_bucket or MLTRACK_VERTEX_STAGING_BUCKET); its "
                                        "artifact points at the local path"));
            }
            return;
        }
        const std::string dir = vx_artifact_dir(c_, *r_, a);
        std::error_code ec;
        if (std::filesystem::is_directory(local, ec)) {
            std::vector<std::filesystem::path> files;
            for (const auto& e : std::filesystem::recursive_directory_iterator(local, ec))
                if (e.is_regular_file()) files.push_back(e.path());
            std::sort(files.begin(), files.end());
            for (const auto& f : files)
                uploads_.emplace_back(f, dir + "/" + a.name + "/" + f.lexically_relative(local).generic_string());
        } else {
            uploads_.emplace_back(local, dir + "/" + a.name);
        }
    }

    vx_context& c_;
    std::shared_ptr<vx_run> r_;
    record rec_;
    std::string id_, uri_;
    nlohmann::json body_;
    std::vector<std::pair<std::filesystem::path, std::string>> uploads_;  ///< local file -> gs:// object
    std::size_t upload_ = 0;
    int phase_ = 0;
};

/// An execution with its input and output artifacts: the execution and the artifacts created (or found),
/// both attributed to the run, then the events that are not there yet.
class vx_execution_step final : public vertex_step {
public:
    vx_execution_step(vx_context& c, std::shared_ptr<vx_run> r, record rec) : c_(c), r_(std::move(r)), rec_(std::move(rec)) {
        const execution& e = rec_.get_execution();
        id_ = vertex_record_id("exec", r_->context_id, e.name + "\n" + std::to_string(rec_.time_ns));
        for (const auto* list : {&e.inputs, &e.outputs})
            for (const auto& a : *list) {
                arts_.push_back({vx_artifact_id(*r_, a), artifact_body(a, vx_artifact_uri(c_, *r_, a)),
                                 list == &e.inputs ? "INPUT" : "OUTPUT"});
            }
    }
    std::string label() const override {
        return "log execution '" + rec_.get_execution().name + "' of run '" + r_->context_id + "'";
    }

    enum phase : int { create_exec, create_art, link, query, add_events, done };

    std::optional<http_request> next(vertex_engine&) override {
        if (r_->failed || r_->context_name.empty())
            throw error(error_category::io, 41, "run '" + r_->context_id + "' could not be created");
        const std::string store = c_.store_path();
        switch (phase_) {
            case create_exec: {
                const auto body = execution_body(rec_.get_execution());
                return json_request("POST", c_.v1(store + "/executions?executionId=" + id_), &body);
            }
            case create_art:
                return json_request("POST", c_.v1(store + "/artifacts?artifactId=" + arts_[art_].id), &arts_[art_].body);
            case link: {
                nlohmann::json body{{"artifacts", nlohmann::json::array()}, {"executions", {store + "/executions/" + id_}}};
                for (const auto& a : arts_) body["artifacts"].push_back(store + "/artifacts/" + a.id);
                return json_request("POST", c_.v1(r_->context_name + ":addContextArtifactsAndExecutions"), &body);
            }
            case query:
                return json_request("GET", c_.v1(store + "/executions/" + id_ + ":queryExecutionInputsAndOutputs"));
            case add_events: {
                nlohmann::json body{{"events", nlohmann::json::array()}};
                std::set<std::string> sending;
                for (const auto& a : arts_) {
                    const std::string name = store + "/artifacts/" + a.id;
                    const std::string key = name + "\n" + a.type;
                    if (existing_.count(key) || !sending.insert(key).second) continue;  // one event per edge
                    body["events"].push_back({{"artifact", name}, {"type", a.type}});
                }
                if (body["events"].empty()) return std::nullopt;
                auto req = json_request("POST", c_.v1(store + "/executions/" + id_ + ":addExecutionEvents"), &body);
                req.fresh_connection = true;  // events are not idempotent: never replayed behind our back
                return req;
            }
            default: return std::nullopt;
        }
    }

    step_outcome on_response(vertex_engine&, const http_response& r) override {
        switch (phase_) {
            case create_exec:
                if (ok(r) || is_status(r, 409, "ALREADY_EXISTS")) return go(arts_.empty() ? link : create_art);
                break;
            case create_art:
                if (ok(r) || is_status(r, 409, "ALREADY_EXISTS")) {
                    ++art_;
                    return go(art_ < arts_.size() ? create_art : link);
                }
                break;
            case link:
                if (ok(r)) return go(arts_.empty() ? done : query);
                break;
            case query:
                if (ok(r)) {
                    const auto j = parse_body(r);
                    existing_.clear();
                    if (j.contains("events"))
                        for (const auto& ev : j["events"])
                            existing_.insert(ev.value("artifact", std::string()) + "\n" + ev.value("type", std::string()));
                    return go(add_events);
                }
                break;
            case add_events:
                if (ok(r)) return go(done);
                // After a lost response the events may be there already: look again before resending.
                break;
            default: break;
        }
        return step_outcome::drop;
    }

    void on_retry(vertex_engine&) override {
        // Events are not idempotent: after an answer that never came, look at what the service has first.
        if (phase_ == add_events) phase_ = query;
    }

private:
    step_outcome go(int p) {
        phase_ = p;
        return step_outcome::next;
    }

    struct art {
        std::string id;
        nlohmann::json body;
        std::string type;
    };
    vx_context& c_;
    std::shared_ptr<vx_run> r_;
    record rec_;
    std::string id_;
    std::vector<art> arts_;
    std::size_t art_ = 0;
    int phase_ = create_exec;
    std::set<std::string> existing_;
};

}  // namespace detail

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

    /// Whether the run context exists on the service (a blocking GET; nullopt when it cannot tell).
    std::optional<bool> exists(const run_info& run) {
        if (!c_->cfg.chief || !c_->cfg.options.check_exists) return std::nullopt;
        try {
            if (!caller_) {
                auto http = exists_http_;
                http.timeout = std::min(http.timeout, std::chrono::milliseconds(5000));
                http.connect_timeout = std::min(http.connect_timeout, std::chrono::milliseconds(3000));
                caller_ = std::make_unique<detail::rest_caller>(exists_creds_, http,
                                                                detail::backoff_policy{std::chrono::milliseconds(200),
                                                                                       std::chrono::milliseconds(1000)},
                                                                2);
            }
            const std::string eid = experiment_id(run.experiment);
            const std::string rc = detail::vertex_run_context_id(eid, run_id(run.experiment, run.name));
            const auto r = caller_->call(detail::json_request(
                "GET", c_->v1(c_->cfg.parent + "/metadataStores/default/contexts/" + rc)));
            if (r.status == 404) return false;
            if (r.status == 200) return true;
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
        if (dropped) {
            c_->counters->points_dropped.fetch_add(dropped, std::memory_order_relaxed);
            c_->engine->report(error(error_category::io, 43,
                                     std::to_string(dropped) + " time-series points not kept for Vertex AI: " +
                                         std::to_string(c_->cfg.options.max_buffered_points) +
                                         " points are already waiting (the JSONL copy has them; sync later)"));
        }
        if (skipped) {
            c_->counters->points_rejected.fetch_add(skipped, std::memory_order_relaxed);
            if (!warned_no_tb_) {
                warned_no_tb_ = true;
                c_->engine->report(error(error_category::config, 49,
                                         "time-series points are not sent: the sink has no TensorBoard "
                                         "(vertex_ai_options::time_series is false)"));
            }
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

    void tick(std::chrono::steady_clock::time_point now) {
        if (!c_->cfg.chief) return;
        if (now - last_flush_ >= c_->cfg.options.flush_interval) {
            last_flush_ = now;
            queue_flushes();
        }
        c_->engine->pump(now);
        throw_errors();
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

    std::shared_ptr<detail::vx_experiment> experiment_for(const run_info& info) {
        const std::string id = experiment_id(info.experiment);
        auto it = experiments_.find(id);
        if (it != experiments_.end()) return it->second;
        auto e = std::make_shared<detail::vx_experiment>();
        e->name = c_->cfg.options.experiment.empty() ? info.experiment : id;  // the display name
        e->id = id;
        if (!store_queued_) {
            store_queued_ = true;
            c_->engine->push(std::make_unique<detail::vx_store_step>(*c_));
        }
        c_->engine->push(std::make_unique<detail::vx_experiment_step>(*c_, e));
        experiments_.emplace(id, e);
        return e;
    }

    void write_one(const event& e, std::size_t& dropped, std::size_t& skipped) {
        if (e.kind == record_kind::run_start || e.kind == record_kind::run_resume) {
            // rank_policy::every: a Vertex AI run has no rank dimension, so rank 0 speaks for the job there
            // (the other ranks' data stays in their JSONL and TensorBoard files; see docs/hpc.md).
            if (e.run->rank > 0) return;
            auto r = std::make_shared<detail::vx_run>();
            r->info = *e.run;
            r->exp = experiment_for(*e.run);
            r->run_id = run_id(e.run->experiment, e.run->name);
            r->context_id = detail::vertex_run_context_id(r->exp->id, r->run_id);
            auto previous = runs_.find(e.run->id);
            if (previous != runs_.end()) {  // replay() reuses run ids: the previous run (never ended) is done
                previous->second->ended = true;
                queue_flush(previous->second);
            }
            runs_[e.run->id] = r;
            const bool resume = e.kind == record_kind::run_resume;
            c_->engine->push(std::make_unique<detail::vx_run_step>(*c_, r, resume));
            if (resume) {
                r->pending_state = "RUNNING";
                c_->engine->push(std::make_unique<detail::vx_patch_step>(*c_, r, true));
            }
            return;
        }
        auto it = runs_.find(e.run->id);
        if (it == runs_.end()) return;
        detail::vx_run& r = *it->second;
        switch (e.kind) {
            case record_kind::metric: {
                if (!c_->cfg.options.time_series) {
                    ++skipped;
                    return;
                }
                if (c_->counters->points_buffered.load(std::memory_order_relaxed) >= c_->cfg.options.max_buffered_points) {
                    ++dropped;
                    return;
                }
                const auto id = e.metric->id;
                if (r.by_metric.size() <= id) r.by_metric.resize(id + 1);
                auto& s = r.by_metric[id];
                if (!s) {
                    s = std::make_unique<detail::vx_series>();
                    s->key = e.metric->name;
                    auto known = r.series_ids.find(s->key);
                    if (known != r.series_ids.end()) s->id = known->second;
                    r.by_key[s->key] = s.get();
                }
                s->points.push_back({e.step, e.time_ns, e.value});
                ++r.buffered;
                c_->counters->points_buffered.fetch_add(1, std::memory_order_relaxed);
                if (r.buffered >= c_->cfg.options.max_points_per_request) queue_flush(it->second);
                return;
            }
            case record_kind::params:
                for (const auto& kv : e.payload->get_params()) r.pending_params[kv.first] = detail::struct_param(kv.second);
                queue_patch(it->second);
                return;
            case record_kind::summary:
                for (const auto& kv : e.payload->get_values())
                    r.pending_metrics[kv.first] = detail::struct_double(kv.second);
                queue_patch(it->second);
                return;
            case record_kind::classification:
            case record_kind::artifact:
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
    bool warned_no_tb_ = false;
    std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
    detail::credentials exists_creds_;
    detail::http_options exists_http_;
    std::unique_ptr<detail::rest_caller> caller_;
};

}  // namespace sinks
MLTRACK_NAMESPACE_END
