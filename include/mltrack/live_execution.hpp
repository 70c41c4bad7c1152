// Why: an execution (a step of a pipeline, with input and output artifacts) often runs for a while, and the
// Vertex AI SDK logs it live: start_execution makes it RUNNING, updates come as it goes, and leaving its
// scope ends it. live_execution is that handle for a run: each call logs one execution record carrying the
// execution's id, so the JSONL file keeps its whole history and every sink updates one execution.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "detail/compiled.hpp"
#include "detail/engine/core.hpp"
#include "error.hpp"
#include "names.hpp"
#include "record.hpp"

MLTRACK_NAMESPACE_BEGIN

class run;

/// Options of run::start_execution.
struct execution_options {
    std::string schema_title = "system.ContainerExecution";
    nlohmann::json metadata = nlohmann::json::object();
    std::string id;  ///< default: "<name>-<12 hex>" (lowercase); else 4-128 of [a-z0-9-], starting alphanumeric
};

/// Whether `id` can be an execution id: 4 to 128 of [a-z0-9-], starting with a letter or digit (the Vertex AI
/// id rule, so that every sink can use it as it is).
inline bool is_valid_execution_id(std::string_view id) noexcept {
    if (id.size() < 4 || id.size() > 128) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || c != '-')) return false;
    }
    return true;
}

/// An execution in progress (the Vertex AI SDK's start_execution): RUNNING from start_execution (or
/// resume_execution) until end(), COMPLETE on scope exit, FAILED when the scope is left by an exception.
/// Each call logs one execution record with its id, so the JSONL file keeps its whole history and the
/// Vertex sink updates one Vertex execution. Use it from one thread.
class live_execution {
public:
    live_execution() = default;
    live_execution(const live_execution&) = delete;
    live_execution& operator=(const live_execution&) = delete;
    live_execution(live_execution&& o) noexcept { take(std::move(o)); }
    live_execution& operator=(live_execution&& o) noexcept {
        if (this != &o) {
            finish_on_destruction();
            take(std::move(o));
        }
        return *this;
    }
    ~live_execution() { finish_on_destruction(); }

    const std::string& id() const noexcept { return e_.id; }
    const std::string& name() const noexcept { return e_.name; }
    bool active() const noexcept { return active_; }

    /// Adds input artifacts (the SDK's assign_input_artifacts): models and artifacts this run logged, or
    /// references (artifact::reference).
    void add_inputs(std::vector<artifact> inputs);
    /// Adds output artifacts (assign_output_artifacts).
    void add_outputs(std::vector<artifact> outputs);
    /// Merges keys into the execution's metadata (the SDK's update(metadata=...)).
    void update(const nlohmann::json& metadata);
    /// Ends the execution with a state (COMPLETE by default). Further calls do nothing.
    void end(run_state state = run_state::complete);

private:
    friend class run;

    void take(live_execution&& o) noexcept {
        core_ = std::move(o.core_);
        run_ = o.run_;
        e_ = std::move(o.e_);
        active_ = o.active_;
        uncaught_ = o.uncaught_;
        o.active_ = false;
    }

    void finish_on_destruction() noexcept {
        if (!active_) return;
        try {
            end(std::uncaught_exceptions() > uncaught_ ? run_state::failed : run_state::complete);
        } catch (...) {
        }
    }

    static void check_artifacts(const std::vector<artifact>& list);

    void require_active() const;

    void push(std::vector<artifact> inputs, std::vector<artifact> outputs);

    std::shared_ptr<detail::core> core_;
    std::uint32_t run_ = 0;
    execution e_;  ///< current state (inputs and outputs are sent once, not kept)
    bool active_ = false;
    int uncaught_ = 0;
};

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
MLTRACK_NAMESPACE_BEGIN

MLTRACK_INLINE void live_execution::add_inputs(std::vector<artifact> inputs) {
    require_active();
    push(std::move(inputs), {});
}

MLTRACK_INLINE void live_execution::add_outputs(std::vector<artifact> outputs) {
    require_active();
    push({}, std::move(outputs));
}

MLTRACK_INLINE void live_execution::update(const nlohmann::json& metadata) {
    require_active();
    if (!metadata.is_object()) throw error(error_category::value, 7, "execution metadata must be a JSON object");
    for (auto it = metadata.begin(); it != metadata.end(); ++it) e_.metadata[it.key()] = it.value();
    push({}, {});
}

MLTRACK_INLINE void live_execution::end(run_state state) {
    if (!active_) return;
    active_ = false;
    e_.state = state;
    push({}, {});
}

MLTRACK_INLINE void live_execution::check_artifacts(const std::vector<artifact>& list) {
    for (const auto& a : list) {
        validate_name("artifact name", a.name);
        if (a.source.empty() && a.path.empty())
            throw error(error_category::value, 4, "execution artifact '" + a.name + "' has no source or path");
    }
}

MLTRACK_INLINE void live_execution::require_active() const {
    if (!core_) throw error(error_category::state, 5, "this execution object is empty (moved from or default)");
    if (!active_) throw error(error_category::state, 10, "execution '" + e_.id + "' has already ended");
}

MLTRACK_INLINE void live_execution::push(std::vector<artifact> inputs, std::vector<artifact> outputs) {
    check_artifacts(inputs);
    check_artifacts(outputs);
    auto c = std::make_unique<detail::cold_item>();
    c->operation = detail::op::record;
    c->run = run_;
    c->rec.kind = record_kind::execution;
    c->rec.time_ns = core_->now();
    execution e = e_;
    e.inputs = std::move(inputs);
    e.outputs = std::move(outputs);
    c->rec.payload = std::move(e);
    core_->push_cold(std::move(c));
    e_.resumed = false;  // only the first record of a resume says so
}

MLTRACK_NAMESPACE_END
#endif
