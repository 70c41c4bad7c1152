// Why: before a run can be created, its experiment must exist as the Python SDK's aiplatform.init() makes
// it: the metadata store, the system.Experiment context, and (unless told otherwise) a backing TensorBoard
// bound to it. These steps find what exists first and create only what is missing.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "../../error.hpp"
#include "../engine/clock.hpp"
#include "bodies.hpp"
#include "engine.hpp"
#include "state.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

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

/// Creates (or finds) the experiment context and binds its backing TensorBoard, as aiplatform.init() does:
/// the TensorBoard asked for, else the one the experiment has, else the project's default one, else a new
/// default one (named as the SDK names it). The TensorBoard experiment is created with the first run, as
/// the SDK's start_run does. With time_series = false nothing is found, created or bound (the SDK's
/// experiment_tensorboard=False), but a TensorBoard the experiment has already is still used by its runs.
class vx_experiment_step final : public vertex_step {
public:
    vx_experiment_step(vx_context& c, std::shared_ptr<vx_experiment> e) : c_(c), e_(std::move(e)) {}
    std::string label() const override { return "set up experiment '" + e_->id + "'"; }

    enum phase : int { create_ctx, get_ctx, get_tb, list_tb, create_tb, poll_tb, bind_tb, refresh_ctx, done };

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
                const nlohmann::json body{{"displayName", default_tensorboard_display_name(system_clock_ns())},
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
                    e_->tensorboard = str_of(parse_body(r), "name");
                    return go(bound_tb() == e_->tensorboard ? done : bind_tb);
                }
                if (r.status == 404 && c_.cfg.options.tensorboard.empty()) return go(list_tb);
                break;
            case list_tb:
                if (ok(r)) {
                    const auto j = parse_body(r);
                    if (j.contains("tensorboards") && !j["tensorboards"].empty()) {
                        e_->tensorboard = str_of(j["tensorboards"][0], "name");
                        return go(bind_tb);
                    }
                    page_token_ = str_of(j, "nextPageToken");
                    if (!page_token_.empty()) return step_outcome::next;
                    if (create_lost_ && lost_waits_ < 20) {
                        // A create whose answer was lost may still be completing: give it time to appear
                        // rather than create a second default TensorBoard.
                        ++lost_waits_;
                        wait_for = std::chrono::milliseconds(500);
                        return step_outcome::wait;
                    }
                    if (!c_.cfg.options.create_tensorboard) {
                        engine.report(error(error_category::config, 49,
                                            "experiment '" + e_->id + "' has no TensorBoard: the project has no "
                                            "default one and create_tensorboard is false; time series are not sent"));
                        return go(done);
                    }
                    return go(create_tb);
                }
                break;
            case create_tb:
                if (ok(r)) {
                    operation_ = str_of(parse_body(r), "name");
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
                    e_->tensorboard = str_of(op["response"], "name");
                    return go(bind_tb);
                }
                break;
            case bind_tb:
                if (ok(r)) {
                    e_->context = parse_body(r);
                    return go(done);
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
                        return go(done);
                    }
                    return go(bound.empty() ? bind_tb : done);
                }
                break;
            default: break;
        }
        return step_outcome::drop;
    }

    void on_abandon(vertex_engine&) override {
        e_->setup_done = true;
        if (e_->context_name.empty()) e_->failed = true;
    }

    void on_retry(vertex_engine&) override {
        if (phase_ == create_tb) {  // tensorboards.create has no client id: never send it twice blindly
            create_lost_ = true;
            page_token_.clear();
            phase_ = list_tb;
        }
    }

    ~vx_experiment_step() override { e_->setup_done = true; }

private:
    step_outcome go(int p) {
        phase_ = p;
        return step_outcome::next;
    }

    std::string bound_tb() const { return str_of(metadata_of(e_->context), "backing_tensorboard_resource"); }

    step_outcome took_context(nlohmann::json ctx) {
        if (str_of(ctx, "schemaTitle") != "system.Experiment") {
            drop_reason = "context '" + e_->id + "' exists but is a " + ctx.value("schemaTitle", std::string("?")) +
                          ", not a system.Experiment";
            return step_outcome::drop;
        }
        if (metadata_of(ctx).contains("tensorboard_link")) {
            drop_reason = "context '" + e_->id + "' is a TensorBoard experiment of a custom job, not a Vertex experiment";
            return step_outcome::drop;
        }
        e_->context_name = str_of(ctx, "name");
        e_->context = std::move(ctx);
        const std::string bound = bound_tb();
        if (!c_.cfg.options.time_series) {  // use what the experiment has; bind nothing
            e_->tensorboard = bound;
            return go(done);
        }
        std::string tb = c_.cfg.options.tensorboard;
        if (!tb.empty() && tb.find('/') == std::string::npos) tb = c_.cfg.parent + "/tensorboards/" + tb;
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

}  // namespace detail
MLTRACK_NAMESPACE_END
