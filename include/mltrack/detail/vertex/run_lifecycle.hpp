// Why: a run's life in Vertex AI is its system.ExperimentRun context: created (or resumed) the way the
// SDK's start_run does it, with its TensorBoard run and the "-tb-run" artifact that links them, then
// PATCHed (params, summary metrics, state) with its etag until it ends.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "../../error.hpp"
#include "bodies.hpp"
#include "engine.hpp"
#include "state.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

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

}  // namespace detail
MLTRACK_NAMESPACE_END
