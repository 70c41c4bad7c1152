// Why: an MLflow run is found or made the way MLflow's client makes it, and never twice. MLflow's creates
// are not idempotent (runs/create makes a new run each time; an experiment create races with other
// jobs), so each create is preceded by a lookup and followed, after a lost answer, by the same lookup:
//   experiment: experiments/get-by-name, else experiments/create (RESOURCE_ALREADY_EXISTS: another job made
//               it first, read it again);
//   run:        runs/search on tags.mlflow.runName in the experiment, else runs/create with MLflow's system
//               tags. An mltrack run name is one MLflow run: a resume, a retry after a lost answer and a later
//               `mltrack sync` all find the run made before and continue it (a resume never creates one).
// The run's status goes through runs/update (idempotent).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "../../error.hpp"
#include "../../names.hpp"
#include "run_tags.hpp"
#include "state.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

/// The runs/search body that finds the latest active run of a name in an experiment.
inline nlohmann::json mlflow_search_by_name(const std::string& experiment_id, const std::string& run_name) {
    // Run names are letters, digits, '.', '_' and '-' (names.hpp): nothing to escape inside the quotes.
    return nlohmann::json{{"experiment_ids", {experiment_id}},
                          {"filter", "tags.mlflow.runName = '" + run_name + "'"},
                          {"run_view_type", "ACTIVE_ONLY"},
                          {"max_results", 1},
                          {"order_by", {"attributes.start_time DESC"}}};
}

/// Finds the experiment by name, or creates it.
class ml_experiment_step final : public vertex_step {
public:
    ml_experiment_step(ml_context& c, std::shared_ptr<ml_experiment> e) : c_(c), e_(std::move(e)) {}
    std::string label() const override { return "set up MLflow experiment '" + e_->name + "'"; }

    std::optional<http_request> next(vertex_engine&) override {
        if (done_) {
            e_->setup_done = true;
            return std::nullopt;
        }
        if (creating_) {
            const nlohmann::json body{{"name", e_->name}};
            auto r = ml_request(c_, "POST", "experiments/create", &body);
            r.fresh_connection = true;  // a lost answer must reach on_retry (then: look it up again)
            return r;
        }
        return ml_request(c_, "GET", "experiments/get-by-name?experiment_name=" + url_encode(e_->name));
    }

    step_outcome on_response(vertex_engine&, const http_response& r) override {
        const std::string code = ml_error_code(r);
        if (!creating_) {
            if (ml_ok(r)) {
                const auto j = ml_body(r);
                const auto& ex = j.at("experiment");
                if (ex.value("lifecycle_stage", std::string()) == "deleted")
                    return fail(error(error_category::state, 82,
                                      "MLflow experiment '" + e_->name + "' is deleted (in the trash): restore it "
                                      "(mlflow experiments restore) or delete it for good, or log to another "
                                      "experiment; nothing of its runs is sent (the JSONL copy keeps them)"));
                e_->id = ex.at("experiment_id").get<std::string>();
                done_ = true;
                return step_outcome::next;
            }
            if (r.status == 404 || code == "RESOURCE_DOES_NOT_EXIST") {
                creating_ = true;
                return step_outcome::next;
            }
            return step_outcome::drop;
        }
        if (ml_ok(r)) {
            e_->id = ml_body(r).at("experiment_id").get<std::string>();
            done_ = true;
            return step_outcome::next;
        }
        if (code == "RESOURCE_ALREADY_EXISTS") {  // another job (or our lost answer) made it: read it
            creating_ = false;
            return step_outcome::next;
        }
        return step_outcome::drop;
    }

    void on_retry(vertex_engine&) override { creating_ = false; }
    void on_abandon(vertex_engine&) override {
        e_->failed = true;
        e_->setup_done = true;
    }

private:
    step_outcome fail(error e) {
        drop_error = std::move(e);
        drop_reason = "experiment deleted";
        return step_outcome::drop;
    }

    ml_context& c_;
    std::shared_ptr<ml_experiment> e_;
    bool creating_ = false;
    bool done_ = false;
};

/// Finds the run by name (adopting it) or creates it; a resume only finds. A found run is set RUNNING.
class ml_run_step final : public vertex_step {
public:
    ml_run_step(ml_context& c, std::shared_ptr<ml_run> r, bool resume) : c_(c), r_(std::move(r)), resume_(resume) {}
    std::string label() const override {
        return (resume_ ? "resume MLflow run '" : "create MLflow run '") + r_->name + "' of experiment '" +
               r_->exp->name + "'";
    }

    std::optional<http_request> next(vertex_engine& engine) override {
        if (r_->exp->failed) throw error(error_category::io, 41, "experiment '" + r_->exp->name + "' could not be set up");
        switch (phase_) {
            case search: {
                const auto body = mlflow_search_by_name(r_->exp->id, r_->name);
                return ml_request(c_, "POST", "runs/search", &body);
            }
            case create: {
                nlohmann::json tags = nlohmann::json::array();
                const auto all = mlflow_run_tags(r_->info, r_->name, c_.cfg.user);
                std::string user = "unknown";
                for (const auto& kv : all) {
                    const std::string why = mlflow_key_problem(kv.first);
                    if (!why.empty()) {
                        if (!reported_)
                            engine.report(error(error_category::name, 80,
                                                "tag '" + printable(kv.first) + "' of run '" + r_->name +
                                                    "' is not an MLflow key: " + why +
                                                    "; not sent (the JSONL copy keeps it)"));
                        continue;
                    }
                    if (kv.first == "mlflow.user") user = kv.second;
                    tags.push_back({{"key", kv.first}, {"value", kv.second}});
                }
                reported_ = true;
                nlohmann::json body{{"experiment_id", r_->exp->id},
                                    {"run_name", r_->name},
                                    {"user_id", user},
                                    {"start_time", r_->info.start_time_ns / 1000000},
                                    {"tags", tags}};
                auto req = ml_request(c_, "POST", "runs/create", &body);
                req.fresh_connection = true;  // a lost answer must reach on_retry: search before creating again
                return req;
            }
            case set_running: {
                const nlohmann::json body{{"run_id", r_->run_id}, {"status", "RUNNING"}};
                return ml_request(c_, "POST", "runs/update", &body);
            }
            default: return std::nullopt;
        }
    }

    step_outcome on_response(vertex_engine&, const http_response& r) override {
        if (!ml_ok(r)) {
            if (phase_ == search && r.status == 404)  // the experiment was deleted meanwhile
                return step_outcome::drop;
            return step_outcome::drop;
        }
        const auto j = ml_body(r);
        switch (phase_) {
            case search: {
                if (j.contains("runs") && j["runs"].is_array() && !j["runs"].empty()) {
                    take(j["runs"][0].at("info"));
                    r_->adopted = true;
                    phase_ = set_running;
                    return step_outcome::next;
                }
                if (resume_) {
                    drop_error = error(error_category::state, 80,
                                       "run '" + r_->name + "' of MLflow experiment '" + r_->exp->name +
                                           "' does not exist (no active run with mlflow.runName '" + r_->name +
                                           "'): a resume never creates a run; nothing is sent for it (the JSONL "
                                           "copy keeps everything)");
                    drop_reason = "no such run";
                    return step_outcome::drop;
                }
                phase_ = create;
                return step_outcome::next;
            }
            case create:
                take(j.at("run").at("info"));
                phase_ = finished;
                return step_outcome::next;
            case set_running:
                phase_ = finished;
                return step_outcome::next;
            default: return step_outcome::next;
        }
    }

    /// A create whose answer was lost may have made the run: look for it before creating again.
    void on_retry(vertex_engine&) override {
        if (phase_ == create) phase_ = search;
    }
    void on_abandon(vertex_engine&) override { r_->failed = true; }

private:
    enum phase_t { search, create, set_running, finished };

    void take(const nlohmann::json& info) {
        r_->run_id = info.at("run_id").get<std::string>();
        r_->artifact_uri = info.value("artifact_uri", std::string());
    }

    ml_context& c_;
    std::shared_ptr<ml_run> r_;
    bool resume_;
    bool reported_ = false;
    phase_t phase_ = search;
};

/// Sets a run's status (and end time when it ended): runs/update, idempotent.
class ml_update_step final : public vertex_step {
public:
    ml_update_step(ml_context& c, std::shared_ptr<ml_run> r, std::string status, std::int64_t end_time_ms)
        : c_(c), r_(std::move(r)), status_(std::move(status)), end_ms_(end_time_ms) {}
    std::string label() const override { return "set MLflow run '" + r_->name + "' " + status_; }

    std::optional<http_request> next(vertex_engine&) override {
        if (done_ || r_->failed || r_->run_id.empty()) return std::nullopt;
        nlohmann::json body{{"run_id", r_->run_id}, {"status", status_}};
        if (end_ms_ > 0) body["end_time"] = end_ms_;
        return ml_request(c_, "POST", "runs/update", &body);
    }
    step_outcome on_response(vertex_engine&, const http_response& r) override {
        if (!ml_ok(r)) return step_outcome::drop;
        done_ = true;
        return step_outcome::next;
    }

private:
    ml_context& c_;
    std::shared_ptr<ml_run> r_;
    std::string status_;
    std::int64_t end_ms_;
    bool done_ = false;
};

}  // namespace detail
MLTRACK_NAMESPACE_END
