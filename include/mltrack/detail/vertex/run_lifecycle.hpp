// Why: a run's life in Vertex AI is its system.ExperimentRun context: created (or resumed) the way the
// SDK's start_run does it, with its TensorBoard run and the "-tb-run" artifact that links them, then
// PATCHed (params, summary metrics, state) with its etag until it ends.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "../../error.hpp"
#include "bodies.hpp"
#include "engine.hpp"
#include "state.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// Creates a run as the SDK's start_run does, or resumes one as start_run(resume=True) does.
///
/// Create: the run context "<E>-<R>" (ALREADY_EXISTS: our own earlier try or a sync, adopted like a
/// resume), then, when the experiment has a TensorBoard, what the SDK's assignment makes: the TensorBoard
/// experiment and run, the "<E>-<R>-tb-run" artifact linked to the run, and the run as a child of the
/// experiment. A "-tb-run" artifact older than the run context belongs to a deleted run of that name whose
/// TensorBoard run was kept: the SDK refuses such a run (its artifact create fails, and it deletes the
/// context it made), and so does this step (state.46).
///
/// Resume (and adoption): read the run and its links and use them; never create the run (state.43 when
/// it does not exist), never repoint its TensorBoard link (a run made in Python with its own TensorBoard
/// keeps it), never add it to the experiment again. Only a run without a link gets one, as the SDK's
/// first time-series write would make it. A context id used by a run of another experiment (experiment
/// "a-b", run "c" and experiment "a", run "b-c" share "a-b-c") is refused (state.45).
class vx_run_step final : public vertex_step {
public:
    vx_run_step(vx_context& c, std::shared_ptr<vx_run> r, bool resume) : c_(c), r_(std::move(r)), resume_(resume) {
        phase_ = resume ? get_ctx : create_ctx;
    }
    std::string label() const override { return (resume_ ? "resume run '" : "create run '") + r_->context_id + "'"; }

    enum phase : int { create_ctx, get_ctx, get_link, create_tbe, get_tbe, create_tbr, get_tbr, create_art, get_art,
                       link_art, add_child, list_ts, rollback, rollback_poll, done };

    std::optional<http_request> next(vertex_engine&) override {
        if (r_->exp->failed) throw error(error_category::io, 41, "experiment '" + r_->exp->id + "' could not be set up");
        const std::string store = c_.store_path();
        const std::string tb = r_->exp->tensorboard;
        switch (phase_) {
            case create_ctx: {
                const auto body = run_context_body(r_->display_name);
                auto req = json_request("POST", c_.v1(store + "/contexts?contextId=" + r_->context_id), &body);
                // Never replayed by libcurl behind our back: a lost answer must reach on_retry, so that a
                // 409 after it can be known for our own create.
                req.fresh_connection = true;
                return req;
            }
            case get_ctx: return json_request("GET", c_.v1(store + "/contexts/" + r_->context_id));
            case get_link: return json_request("GET", c_.v1(store + "/artifacts/" + r_->context_id + "-tb-run"));
            case create_tbe: {
                const auto body = tensorboard_experiment_body(r_->exp->name);
                return json_request("POST", c_.v1(tb + "/experiments?tensorboardExperimentId=" + r_->exp->id), &body);
            }
            case get_tbe: return json_request("GET", c_.v1(tb + "/experiments/" + r_->exp->id));
            case create_tbr: {
                const auto body = tensorboard_run_body(r_->display_name);
                return json_request("POST", c_.v1(tbe_ + "/runs?tensorboardRunId=" + r_->run_id), &body);
            }
            case get_tbr: return json_request("GET", c_.v1(tbe_ + "/runs/" + r_->run_id));
            case create_art: {
                const auto body = tensorboard_run_artifact_body(c_.cfg.api, tbr_);
                return json_request("POST", c_.v1(store + "/artifacts?artifactId=" + r_->context_id + "-tb-run"), &body);
            }
            case get_art: return json_request("GET", c_.v1(store + "/artifacts/" + r_->context_id + "-tb-run"));
            case link_art: {
                const nlohmann::json body{{"artifacts", {str_of(artifact_, "name")}}};
                return json_request("POST", c_.v1(r_->context_name + ":addContextArtifactsAndExecutions"), &body);
            }
            case add_child: {
                const nlohmann::json body{{"childContexts", {r_->context_name}}};
                return json_request("POST", c_.v1(r_->exp->context_name + ":addContextChildren"), &body);
            }
            case list_ts:
                return json_request("GET", c_.v1(r_->tb_run + "/timeSeries?pageSize=1000" +
                                                 (page_token_.empty() ? "" : "&pageToken=" + url_encode(page_token_))));
            case rollback: return json_request("DELETE", c_.v1(r_->context_name));
            case rollback_poll: return json_request("GET", c_.v1(operation_));
            default: return std::nullopt;
        }
    }

    step_outcome on_response(vertex_engine&, const http_response& r) override {
        switch (phase_) {
            case create_ctx:
                if (ok(r)) {
                    created_ = true;
                    return took_context(parse_body(r));
                }
                if (is_status(r, 409, "ALREADY_EXISTS")) return go(get_ctx);  // our earlier try, or a sync
                break;
            case get_ctx:
                if (ok(r)) {
                    r_->adopted = true;
                    return took_context(parse_body(r));
                }
                if (r.status == 404) {
                    if (!resume_) return go(create_ctx);
                    return fail(error(error_category::state, 43,
                                      "run '" + r_->display_name + "' of experiment '" + r_->exp->id +
                                          "' does not exist in Vertex AI (context " + r_->context_id +
                                          "): a resume never creates a run, as with the Python SDK (NotFound); "
                                          "nothing is sent for it (the JSONL copy keeps everything)"));
                }
                break;
            case get_link:
                if (ok(r)) {
                    artifact_ = parse_body(r);
                    const std::string linked = linked_tensorboard_run(artifact_);
                    if (!linked.empty() && older_than_run(artifact_)) {  // a deleted run's (our create's answer
                        stale_ = true;                                   // was lost, so it looked adopted)
                        return made_context() ? go(rollback) : fail(stale_error());
                    }
                    if (!linked.empty()) {
                        r_->tb_run = linked;
                        r_->tb_experiment = tensorboard_experiment_of(linked);
                    }
                    return after_link();
                }
                if (r.status == 404) return r_->exp->tensorboard.empty() ? after_link() : go(create_tbe);
                break;
            case create_tbe:
            case get_tbe:
                if (ok(r)) {
                    tbe_ = str_of(parse_body(r), "name");
                    return go(create_tbr);
                }
                if (phase_ == create_tbe && is_status(r, 409, "ALREADY_EXISTS")) return go(get_tbe);
                if (phase_ == get_tbe && r.status == 404) return go(create_tbe);
                break;
            case create_tbr:
            case get_tbr:
                if (ok(r)) {
                    tbr_ = str_of(parse_body(r), "name");
                    return go(create_art);
                }
                if (phase_ == create_tbr && is_status(r, 409, "ALREADY_EXISTS")) return go(get_tbr);
                if (phase_ == get_tbr && r.status == 404) return go(create_tbr);
                break;
            case create_art:
                if (ok(r)) {
                    artifact_ = parse_body(r);
                    return go(link_art);
                }
                if (is_status(r, 409, "ALREADY_EXISTS")) return go(get_art);
                break;
            case get_art:
                if (ok(r)) {
                    artifact_ = parse_body(r);
                    // Ours (an earlier try whose answer was lost) is younger than the run context; an older
                    // one was left by a deleted run of this name, whose TensorBoard run (and points) it keeps.
                    const bool ours = linked_tensorboard_run(artifact_) == tbr_ && !older_than_run(artifact_);
                    if (ours) return go(link_art);
                    stale_ = true;
                    return made_context() ? go(rollback) : fail(stale_error());
                }
                if (r.status == 404) return go(create_art);
                break;
            case link_art:
                if (ok(r)) {
                    r_->tb_run = tbr_;
                    r_->tb_experiment = tbe_;
                    return after_link();
                }
                break;
            case add_child:
                if (ok(r)) return go(r_->adopted && r_->has_tensorboard() ? list_ts : done);
                break;
            case list_ts:
                if (ok(r)) {
                    const auto j = parse_body(r);
                    if (j.contains("tensorboardTimeSeries"))
                        for (const auto& ts : j["tensorboardTimeSeries"]) r_->learn_series(ts);
                    page_token_ = str_of(j, "nextPageToken");
                    return page_token_.empty() ? go(done) : step_outcome::next;
                }
                break;
            case rollback:  // the SDK deletes the run context it made when the rest of start_run fails
                if (ok(r) || r.status == 404) {
                    operation_ = ok(r) ? str_of(parse_body(r), "name") : std::string();
                    if (operation_.empty()) return fail(stale_error());
                    return go(rollback_poll);
                }
                break;
            case rollback_poll:
                if (ok(r)) {
                    if (!parse_body(r).value("done", false)) {
                        wait_for = std::chrono::milliseconds(200);
                        return step_outcome::wait;
                    }
                    return fail(stale_error());
                }
                break;
            default: break;
        }
        return step_outcome::drop;
    }

    void on_abandon(vertex_engine&) override {
        if (r_->context_name.empty() || stale_ || failed_) r_->failed = true;
    }

    void on_retry(vertex_engine&) override {
        if (phase_ == create_ctx) create_lost_ = true;  // it may have been applied: a 409 may be our own
    }

private:
    step_outcome go(int p) {
        phase_ = p;
        return step_outcome::next;
    }

    step_outcome fail(error e) {
        failed_ = true;
        r_->failed = true;
        drop_error = std::move(e);
        drop_reason = drop_error->what();
        return step_outcome::drop;
    }

    /// A "-tb-run" artifact made before the run context belongs to an earlier run of that name.
    bool older_than_run(const nlohmann::json& artifact) const {
        const auto made = parse_rfc3339(str_of(artifact, "createTime"));
        const auto run = parse_rfc3339(str_of(r_->context, "createTime"));
        return made != 0 && run != 0 && made < run;
    }

    /// Whether this step made the run context: its create succeeded, or an answer was lost and the context
    /// found then is bare (no parent yet: nobody set it up).
    bool made_context() const { return created_ || (create_lost_ && need_child_); }

    error stale_error() const {
        return error(error_category::state, 46,
                     "run '" + r_->display_name + "' of experiment '" + r_->exp->id +
                         "' cannot be created: a deleted run of that name left its TensorBoard run and its '" +
                         r_->context_id + "-tb-run' artifact, and the Python SDK refuses to create it then" +
                         (made_context() ? " (the run context made here was deleted again)" : "") +
                         ". Delete the old run with delete_backing_tensorboard_run = true, or use another name");
    }

    /// After the TensorBoard link is settled: the experiment's child (when it is not yet), then the series.
    step_outcome after_link() {
        if (need_child_) return go(add_child);
        return go(r_->adopted && r_->has_tensorboard() ? list_ts : done);
    }

    step_outcome took_context(nlohmann::json ctx) {
        if (str_of(ctx, "schemaTitle") != "system.ExperimentRun") {
            drop_reason = "context '" + r_->context_id + "' exists but is a " + ctx.value("schemaTitle", std::string("?")) +
                          ", not a system.ExperimentRun";
            failed_ = true;
            return step_outcome::drop;
        }
        bool child = false, other_parent = false;
        if (ctx.contains("parentContexts") && ctx["parentContexts"].is_array())
            for (const auto& p : ctx["parentContexts"]) {
                if (p == r_->exp->context_name) child = true;
                else other_parent = true;
            }
        if (other_parent && !child)
            return fail(error(error_category::state, 45,
                              "run context '" + r_->context_id + "' belongs to a run of another experiment (ids are "
                              "'<experiment>-<run>', so experiment 'a-b' run 'c' and experiment 'a' run 'b-c' are the "
                              "same): nothing is sent for run '" + r_->display_name + "'; rename it"));
        need_child_ = !child;
        r_->context_name = str_of(ctx, "name");
        r_->context = std::move(ctx);
        if (created_) return r_->exp->tensorboard.empty() ? after_link() : go(create_tbe);
        return go(get_link);
    }

    vx_context& c_;
    std::shared_ptr<vx_run> r_;
    bool resume_;
    int phase_;
    bool created_ = false;     ///< this step created the run context
    bool create_lost_ = false;  ///< a create of the run context went without an answer
    bool need_child_ = false;  ///< the run is not yet a child of its experiment
    bool stale_ = false;
    bool failed_ = false;
    nlohmann::json artifact_;
    std::string tbe_, tbr_, page_token_, operation_;
};

/// PATCH of the run context: params, summary metrics and (for run end / resume) the state, merged into the
/// context the server last returned, with its etag; on ABORTED the context is read again and re-merged.
class vx_patch_step final : public vertex_step {
public:
    vx_patch_step(vx_context& c, std::shared_ptr<vx_run> r, bool with_state)
        : c_(c), r_(std::move(r)), with_state_(with_state) {}
    std::string label() const override { return "update run '" + r_->context_id + "'"; }

    std::optional<http_request> next(vertex_engine&) override {
        if (r_->failed) return std::nullopt;  // its run step reported why; the values stay in the JSONL copy
        if (r_->context_name.empty())
            throw error(error_category::io, 41, "run '" + r_->context_id + "' could not be created");
        if (refresh_) return json_request("GET", c_.v1(r_->context_name));
        sent_params_ = r_->pending_params;
        sent_metrics_ = r_->pending_metrics;
        sent_labels_ = r_->pending_labels;
        sent_state_ = with_state_ ? r_->pending_state : std::nullopt;
        if (sent_params_.empty() && sent_metrics_.empty() && sent_labels_.empty() && !sent_state_) return std::nullopt;
        auto body = context_patch_body(r_->context);
        if (!sent_labels_.empty()) {
            if (!body.contains("labels") || !body["labels"].is_object()) body["labels"] = nlohmann::json::object();
            for (auto it = sent_labels_.begin(); it != sent_labels_.end(); ++it) body["labels"][it.key()] = it.value();
        }
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
            erase_sent(r_->pending_labels, sent_labels_);
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
    nlohmann::json sent_params_, sent_metrics_, sent_labels_;
    std::optional<std::string> sent_state_;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
