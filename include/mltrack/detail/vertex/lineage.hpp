// Why: executions with their input and output artifacts are the lineage graph the console draws. Events
// are the one non-idempotent write of the sink, so they are sent only after checking what is there.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../../error.hpp"
#include "artifacts.hpp"
#include "bodies.hpp"
#include "engine.hpp"
#include "ids.hpp"
#include "state.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// An execution with its input and output artifacts: the execution and the artifacts created (or found),
/// both attributed to the run, then the events that are not there yet.
///
/// A whole execution (log_execution) gets an id hashed from the run, its name and time. A live one
/// (start_execution / resume_execution) uses its own id, so its records update one execution as the SDK's
/// Execution does: the first creates it RUNNING (or finds it after a lost answer or a sync), later ones
/// PATCH its state and metadata, and a resume only reads it and PATCHes it RUNNING (state.44 when it does
/// not exist: a resume never creates). Models that cannot be put in Cloud Storage are left out (config.50).
class vx_execution_step final : public vertex_step {
public:
    vx_execution_step(vx_context& c, std::shared_ptr<vx_run> r, record rec) : c_(c), r_(std::move(r)), rec_(std::move(rec)) {
        const execution& e = rec_.get_execution();
        live_ = !e.id.empty();
        id_ = live_ ? e.id : vertex_record_id("exec", r_->context_id, e.name + "\n" + std::to_string(rec_.time_ns));
        for (const auto* list : {&e.inputs, &e.outputs})
            for (const auto& a : *list) {
                const std::string uri = vx_artifact_uri(c_, *r_, a);
                if (uri.empty()) {
                    c_.engine->report(vx_no_staging_error(*r_, a));
                    continue;
                }
                arts_.push_back({vx_artifact_id(*r_, a), artifact_body(a, uri), list == &e.inputs ? "INPUT" : "OUTPUT"});
            }
        // A resumed execution must exist, for the resume's record and every later record of it.
        if (live_ && e.resumed) r_->resumed_executions.insert(id_);
        must_exist_ = live_ && r_->resumed_executions.count(id_) > 0;
        phase_ = must_exist_ ? get_exec : create_exec;
    }
    std::string label() const override {
        const execution& e = rec_.get_execution();
        return (e.resumed ? "resume execution '" : "log execution '") + (live_ ? id_ : e.name) + "' of run '" +
               r_->context_id + "'";
    }

    enum phase : int { create_exec, get_exec, patch_exec, create_art, link, query, add_events, done };

    std::optional<http_request> next(vertex_engine&) override {
        if (r_->failed) return std::nullopt;  // its run step reported why
        if (live_ && r_->missing_executions.count(id_)) return std::nullopt;  // state.44 was reported
        if (r_->context_name.empty())
            throw error(error_category::io, 41, "run '" + r_->context_id + "' could not be created");
        const std::string store = c_.store_path();
        switch (phase_) {
            case create_exec: {
                const auto body = execution_body(rec_.get_execution());
                return json_request("POST", c_.v1(store + "/executions?executionId=" + id_), &body);
            }
            case get_exec: return json_request("GET", c_.v1(store + "/executions/" + id_));
            case patch_exec: {
                const execution& e = rec_.get_execution();
                auto body = resource_patch_body(current_);
                body["state"] = execution_state(e.state);
                if (!body.contains("metadata") || !body["metadata"].is_object()) body["metadata"] = nlohmann::json::object();
                for (auto it = e.metadata.begin(); it != e.metadata.end(); ++it) body["metadata"][it.key()] = it.value();
                return json_request("PATCH", c_.v1(str_of(current_, "name")), &body);
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

    step_outcome on_response(vertex_engine& engine, const http_response& r) override {
        switch (phase_) {
            case create_exec:
                if (ok(r)) return after_execution();
                if (is_status(r, 409, "ALREADY_EXISTS")) return live_ ? go(get_exec) : after_execution();
                break;
            case get_exec:
                if (ok(r)) {
                    current_ = parse_body(r);
                    return needs_patch() ? go(patch_exec) : after_execution();
                }
                if (r.status == 404 && !must_exist_) return go(create_exec);  // deleted since: made again
                if (r.status == 404) {
                    r_->missing_executions.insert(id_);
                    drop_error = error(error_category::state, 44,
                                       "execution '" + id_ + "' does not exist in Vertex AI: a resume never creates "
                                       "it (the Python SDK raises NotFound); the JSONL copy keeps its records");
                    drop_reason = drop_error->what();
                    return step_outcome::drop;
                }
                break;
            case patch_exec:
                if (ok(r)) {
                    current_ = parse_body(r);
                    return after_execution();
                }
                if (is_status(r, 409, "ABORTED")) {  // changed meanwhile: read it again
                    engine.counters().aborted.fetch_add(1, std::memory_order_relaxed);
                    return go(get_exec);
                }
                break;
            case create_art:
                if (ok(r) || is_status(r, 409, "ALREADY_EXISTS")) {
                    ++art_;
                    return go(art_ < arts_.size() ? create_art : link);
                }
                break;
            case link:
                if (ok(r)) {
                    r_->linked_executions.insert(id_);
                    return go(arts_.empty() ? done : query);
                }
                break;
            case query:
                if (ok(r)) {
                    const auto j = parse_body(r);
                    existing_.clear();
                    if (j.contains("events"))
                        for (const auto& ev : j["events"]) existing_.insert(str_of(ev, "artifact") + "\n" + str_of(ev, "type"));
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

    /// Whether the execution read back differs from this record's state or metadata.
    bool needs_patch() const {
        const execution& e = rec_.get_execution();
        if (str_of(current_, "state") != execution_state(e.state)) return true;
        const auto& md = metadata_of(current_);
        for (auto it = e.metadata.begin(); it != e.metadata.end(); ++it)
            if (!md.contains(it.key()) || md[it.key()] != it.value()) return true;
        return false;
    }

    step_outcome after_execution() {
        if (!arts_.empty()) return go(create_art);
        if (live_ && r_->linked_executions.count(id_)) return go(done);  // attributed to the run already
        return go(link);
    }

    struct art {
        std::string id;
        nlohmann::json body;
        std::string type;
    };
    vx_context& c_;
    std::shared_ptr<vx_run> r_;
    record rec_;
    bool live_ = false;
    bool must_exist_ = false;  ///< resumed: never created
    std::string id_;
    nlohmann::json current_;  ///< the execution as the service last returned it (live executions)
    std::vector<art> arts_;
    std::size_t art_ = 0;
    int phase_ = create_exec;
    std::set<std::string> existing_;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
