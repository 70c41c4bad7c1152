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
MLTRACK_NAMESPACE_END
