// Why: a run is what users log into. It is an RAII handle: it ends COMPLETE when it goes out of scope
// normally and FAILED when the scope is left by an exception. Cold calls validate their input and throw
// mltrack::error; metric handles are the hot path (noexcept, no allocation, no lock).
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <type_traits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/compiled.hpp"
#include "detail/engine/core.hpp"
#include "detail/engine/key_cache.hpp"
#include "metric_handle.hpp"
#include "histogram.hpp"
#include "live_execution.hpp"
#include "names.hpp"
#include "record.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Longest string param value, in bytes.
inline constexpr std::size_t max_param_string = 65536;

class run;

namespace detail {
/// The process's default run (default_run.hpp); a run clears itself from it when it ends or dies.
inline std::atomic<run*>& default_run_slot() noexcept {
    static std::atomic<run*> slot{nullptr};
    return slot;
}

/// Whether M is a map-like range of (key, value) pairs whose keys are text and whose values convert to V:
/// std::map, std::unordered_map, a vector of pairs...
template <class M, class V, class = void>
struct is_named_range : std::false_type {};
template <class M, class V>
struct is_named_range<M, V, std::void_t<decltype(std::begin(std::declval<const M&>())->first),
                                        decltype(std::begin(std::declval<const M&>())->second)>>
    : std::bool_constant<std::is_convertible_v<decltype(std::begin(std::declval<const M&>())->first), std::string_view> &&
                         std::is_convertible_v<decltype(std::begin(std::declval<const M&>())->second), V>> {};
template <class M, class V>
using if_named_range = std::enable_if_t<is_named_range<M, V>::value, int>;
}  // namespace detail

/// A model's framework, for log_model.
struct model_info {
    std::string framework;          ///< "xgboost", "libtorch", ...
    std::string framework_version;  ///< "1.7.4"
};

/// How log_model and log_artifact store an artifact.
struct artifact_options {
    std::string name;   ///< default: the file or folder name
    bool copy = true;   ///< copy into the run's artifacts/ folder; false: keep a reference only
    nlohmann::json metadata = nlohmann::json::object();
};

class run {
public:
    run() = default;
    run(const run&) = delete;
    run& operator=(const run&) = delete;
    run(run&& o) noexcept { take(std::move(o)); }
    run& operator=(run&& o) noexcept {
        if (this != &o) {
            finish_on_destruction();
            take(std::move(o));
        }
        return *this;
    }
    ~run() {
        finish_on_destruction();
        forget_default();
    }

    const std::string& name() const noexcept { return name_; }
    const std::string& experiment() const noexcept { return experiment_; }
    /// True from start until end() (or until the tracker closed).
    bool active() const noexcept { return active_ && core_ && !core_->closed(); }
    /// True when nothing this run logs is written: its tracker is inert (a rank other than 0 under
    /// rank_policy::zero, or a copy in a forked child). Logging still validates and returns at once.
    bool inert() const noexcept { return core_ && core_->inert(); }
    /// True when this run continues an existing one (start_mode::resume / create_or_resume).
    bool resumed() const noexcept { return resumed_; }

    /// Interns a metric key (throws mltrack::error for an invalid key) and returns its hot-path handle.
    [[nodiscard]] metric_handle metric(std::string_view key) {
        require_active();
        return metric_handle(core_, id_, core_->intern(key));
    }

    /// Logs one point by key. A key this thread has used before is found in a per-thread cache (no lock, no
    /// allocation); a new key is validated and interned once (under a lock).
    void log(std::string_view key, double value, std::int64_t step) {
        require_active();
        core_->push_point_now(id_, cached_metric_id(key), step, value);
    }

    /// Logs one point by key at the metric's next step (see metric_handle::log(double)).
    void log(std::string_view key, double value) {
        require_active();
        core_->push_point_now(id_, cached_metric_id(key) | detail::auto_step_bit, 0, value);
    }

    /// Logs several metrics at one step, each a point of its curve (W&B's wandb.log(d, step), MLflow's
    /// log_metrics(d, step)): `run.log({{"loss", l}, {"acc", a}}, step)`. Same as log_time_series.
    void log(std::initializer_list<std::pair<std::string_view, double>> values, std::int64_t step);
    /// Logs several metrics at the run's next step (see log_time_series(values)).
    void log(std::initializer_list<std::pair<std::string_view, double>> values);
    /// The same from a std::map, std::unordered_map or vector of (key, number) pairs.
    template <class Map, detail::if_named_range<Map, double> = 0>
    void log(const Map& values, std::int64_t step) {
        log_time_series_impl(std::begin(values), std::end(values), step);
    }
    template <class Map, detail::if_named_range<Map, double> = 0>
    void log(const Map& values) {
        log_time_series_next(std::begin(values), std::end(values));
    }

    /// Logs several time-series values at one step (they share one wall time).
    void log_time_series(std::initializer_list<std::pair<std::string_view, double>> values, std::int64_t step);
    void log_time_series(const named_values<double>& values, std::int64_t step) {
        log_time_series_impl(values.begin(), values.end(), step);
    }

    /// Logs several time-series values at the run's next step, shared by all of them: one more than the
    /// highest step of any metric of the run, 1 for its first point (the Vertex AI SDK's
    /// log_time_series_metrics(metrics, step=None)). One queue item for the call, resolved by the writer.
    void log_time_series(std::initializer_list<std::pair<std::string_view, double>> values);
    void log_time_series(const named_values<double>& values);

    /// Logs params; the latest value of a key wins. Keys are validated, floats must be finite, strings at
    /// most 64 KiB.
    void log_params(std::initializer_list<std::pair<std::string_view, param_value>> params);
    void log_params(const named_values<param_value>& params);
    template <class Map, detail::if_named_range<Map, param_value> = 0>
    void log_params(const Map& params) {
        log_params_impl(std::begin(params), std::end(params));
    }

    /// Logs summary metrics: one value per key for the whole run, numbers or strings
    /// (`{{"acc", 0.97}, {"best_model", "resnet"}}`); the latest value of a key wins. Strings are at most
    /// 64 KiB (value.6). (The Vertex AI SDK's log_metrics; the same as log_metrics without a step.)
    void log_summary(std::initializer_list<std::pair<std::string_view, summary_value>> metrics);
    template <class Map, detail::if_named_range<Map, summary_value> = 0>
    void log_summary(const Map& metrics) {
        log_metrics_impl(std::begin(metrics), std::end(metrics));
    }

    /// Without a step: summary metrics, as the Vertex AI SDK's log_metrics (see log_summary). With a step:
    /// points of curves, as MLflow's log_metrics(metrics, step) (see log).
    void log_metrics(std::initializer_list<std::pair<std::string_view, summary_value>> metrics);
    void log_metrics(const named_values<double>& metrics);
    void log_metrics(const named_values<summary_value>& metrics);
    template <class Map, detail::if_named_range<Map, summary_value> = 0>
    void log_metrics(const Map& metrics) {
        log_metrics_impl(std::begin(metrics), std::end(metrics));
    }
    void log_metrics(std::initializer_list<std::pair<std::string_view, double>> values, std::int64_t step);
    template <class Map, detail::if_named_range<Map, double> = 0>
    void log_metrics(const Map& values, std::int64_t step) {
        log_time_series_impl(std::begin(values), std::end(values), step);
    }

    /// Tags: text labels of the run (`{{"team", "vision"}, {"dataset", "imagenet-1k"}}`), as MLflow's tags;
    /// the latest value of a key wins. Keys are validated like metric keys; values are at most 64 KiB
    /// (value.6). Vertex AI keeps them as the run's labels where they follow its label rules (docs/vertex.md).
    void set_tag(std::string_view key, std::string_view value);
    void set_tags(std::initializer_list<std::pair<std::string_view, std::string_view>> tags);
    template <class Map, detail::if_named_range<Map, std::string_view> = 0>
    void set_tags(const Map& tags) {
        set_tags_impl(std::begin(tags), std::end(tags));
    }

    /// The highest step the run has reached, over all its metrics (or `key`'s): in this opening, or in the
    /// sinks from earlier openings of a resumed run; nullopt before any point. Waits until the writer has
    /// taken what was logged before the call. `run.last_step().value_or(-1) + 1` is where a resumed loop
    /// goes on.
    std::optional<std::int64_t> last_step() { return query_last_step(nullptr, {}); }
    std::optional<std::int64_t> last_step(std::string_view key) {
        require_active();
        const std::uint32_t id = core_->intern(key);  // validates the key
        return query_last_step(&id, key);
    }

    /// Logs classification metrics, validated with the Vertex AI SDK's rules (see classification_metrics).
    void log_classification_metrics(const classification_metrics& m);
    void log_classification_metrics(std::vector<std::string> labels, std::vector<std::vector<std::int64_t>> matrix,
                                    std::vector<double> fpr = {}, std::vector<double> tpr = {},
                                    std::vector<double> thresholds = {}, std::string display_name = {}) {
        classification_metrics m;
        m.labels = std::move(labels);
        m.matrix = std::move(matrix);
        m.fpr = std::move(fpr);
        m.tpr = std::move(tpr);
        m.thresholds = std::move(thresholds);
        m.display_name = std::move(display_name);
        log_classification_metrics(m);
    }

    /// Logs a histogram of `values` at `step`, bucketed here like TensorBoard's histogram summary
    /// (`bucket_count` equal-width buckets; NaN and infinities are left out).
    void log_histogram(std::string_view key, const std::vector<double>& values, std::int64_t step,
                       std::size_t bucket_count = 30);

    /// Logs a histogram given as buckets: finite edges with left <= right, finite non-negative counts
    /// (value.5 otherwise).
    void log_histogram(std::string_view key, std::vector<histogram_bucket> buckets, std::int64_t step);

    /// Logs a model file or folder. By default it is copied into the run's artifacts/ folder (so a later sync
    /// can upload it) before this call returns; `options.copy = false` keeps a reference only. A URI
    /// ("gs://...") is always a reference.
    artifact log_model(const std::filesystem::path& path, const model_info& model = {},
                       const artifact_options& options = {});

    /// Logs any artifact (a dataset, a plot, a checkpoint), stored like log_model.
    artifact log_artifact(const std::filesystem::path& path, const artifact_options& options = {},
                          artifact_type type = artifact_type::artifact);

    /// Logs an execution with its input and output artifacts (lineage). Artifacts may come from log_model /
    /// log_artifact or be references (artifact::reference).
    void log_execution(const execution& e);

    /// Starts a live execution (the SDK's start_execution): logged RUNNING now, then updated by the returned
    /// object until it ends. Input and output artifacts can be given here or added later.
    live_execution start_execution(std::string_view name, const execution_options& options = {},
                                   std::vector<artifact> inputs = {}, std::vector<artifact> outputs = {});

    /// Continues an execution that exists already, by id (the SDK's start_execution(resource_id,
    /// resume=True)): RUNNING again; sinks never create it (the Vertex sink reports state.44 when it is not
    /// there).
    live_execution resume_execution(std::string_view id, const execution_options& options = {});

    /// Ends the run with a state (COMPLETE by default). Further calls do nothing.
    void end(run_state state = run_state::complete);

private:
    friend class tracker_base;
    run(std::shared_ptr<detail::core> c, std::uint32_t id, std::string experiment, std::string name, bool resumed)
        : core_(std::move(c)),
          id_(id),
          experiment_(std::move(experiment)),
          name_(std::move(name)),
          resumed_(resumed),
          active_(true),
          uncaught_(std::uncaught_exceptions()) {}

    void take(run&& o) noexcept {
        core_ = std::move(o.core_);
        id_ = o.id_;
        experiment_ = std::move(o.experiment_);
        name_ = std::move(o.name_);
        resumed_ = o.resumed_;
        active_.store(o.active_.load());
        uncaught_ = o.uncaught_;
        key_owner_ = o.key_owner_;  // cached metric ids belong to the core, which moves with it
        o.key_owner_ = detail::next_key_owner_id();
        o.active_.store(false);
        run* was = &o;  // the default run moves with the object
        detail::default_run_slot().compare_exchange_strong(was, this);
    }

    void forget_default() noexcept {
        run* me = this;
        detail::default_run_slot().compare_exchange_strong(me, nullptr);
    }

    void finish_on_destruction() noexcept {
        if (!active_) return;
        try {
            end(std::uncaught_exceptions() > uncaught_ ? run_state::failed : run_state::complete);
        } catch (...) {
        }
    }

    static void check_execution_id(std::string_view id);

    /// A live execution of this run, RUNNING, its opening (and any artifacts) pushed.
    live_execution open_execution(std::string id, std::string name, const std::string& schema_title,
                                  nlohmann::json metadata, bool resumed, std::vector<artifact> inputs,
                                  std::vector<artifact> outputs);

    void require_active() const;

    std::unique_ptr<detail::cold_item> make_record(record_kind kind) const;

    std::optional<std::int64_t> query_last_step(const std::uint32_t* metric, std::string_view key);

    /// The metric id of `key` through this thread's key cache, as log(key, ...) does.
    std::uint32_t cached_metric_id(std::string_view key) {
        return detail::key_cache::lookup(key_owner_, key, [this](std::string_view k) { return core_->intern(k); });
    }

    template <class It>
    void log_time_series_impl(It first, It last, std::int64_t step) {
        require_active();
        for (auto it = first; it != last; ++it) cached_metric_id(it->first);  // all or nothing: a bad key throws here
        if (core_->inert()) return;
        const auto t = core_->now();
        for (auto it = first; it != last; ++it)
            core_->push_point(metric_point{id_, cached_metric_id(it->first), step, static_cast<double>(it->second), t});
    }

    template <class It>
    void log_time_series_next(It first, It last) {
        require_active();
        auto c = make_record(record_kind::metric);
        c->operation = detail::op::points;
        for (auto it = first; it != last; ++it)  // all or nothing: a bad key throws here
            c->points.emplace_back(cached_metric_id(it->first), static_cast<double>(it->second));
        if (core_->inert() || c->points.empty()) return;
        core_->push_cold(std::move(c));
    }

    template <class It>
    void log_params_impl(It first, It last) {
        require_active();
        named_values<param_value> values;
        for (auto it = first; it != last; ++it) {
            validate_key("param key", it->first);
            const param_value& v = it->second;
            if (v.is_double() && !std::isfinite(v.as_double()))
                throw error(error_category::value, 1,
                            "param '" + std::string(it->first) + "' is not finite (NaN or infinity)");
            if (v.is_string() && v.as_string().size() > max_param_string)
                throw error(error_category::value, 3,
                            "param '" + std::string(it->first) + "' is a string of " +
                                std::to_string(v.as_string().size()) + " bytes; the limit is 65536");
            values.emplace_back(std::string(it->first), v);
        }
        if (values.empty()) return;
        auto r = make_record(record_kind::params);
        r->rec.payload = std::move(values);
        core_->push_cold(std::move(r));
    }

    static void add_summary(named_values<double>& numbers, named_values<std::string>&, std::string_view key, double v);
    static void add_summary(named_values<double>& numbers, named_values<std::string>& texts, std::string_view key,
                            const summary_value& v);

    template <class It>
    void set_tags_impl(It first, It last) {
        require_active();
        named_values<std::string> tags;
        for (auto it = first; it != last; ++it) {
            const std::string_view key = it->first, value = it->second;
            validate_key("tag key", key);
            if (value.size() > max_param_string)
                throw error(error_category::value, 6,
                            "tag '" + std::string(key) + "' is a string of " + std::to_string(value.size()) +
                                " bytes; the limit is 65536");
            tags.emplace_back(std::string(key), std::string(value));
        }
        if (tags.empty()) return;
        auto r = make_record(record_kind::tags);
        r->rec.texts = std::move(tags);
        core_->push_cold(std::move(r));
    }

    template <class It>
    void log_metrics_impl(It first, It last) {
        require_active();
        named_values<double> values;
        named_values<std::string> texts;
        for (auto it = first; it != last; ++it) {
            validate_key("metric key", it->first);
            add_summary(values, texts, it->first, it->second);
        }
        if (values.empty() && texts.empty()) return;
        auto r = make_record(record_kind::summary);
        r->rec.payload = std::move(values);
        r->rec.texts = std::move(texts);
        core_->push_cold(std::move(r));
    }

    artifact describe(const std::filesystem::path& path, artifact_type type, const artifact_options& options) const;

    /// "<name, lowercase, [a-z0-9-]>-<12 hex>": unique per run, name and time.
    std::string make_execution_id(std::string_view name) const;

    /// The rank whose files this run writes: 0, or this process's rank under rank_policy::every.
    int writing_rank() const noexcept { return core_->policy() == rank_policy::every ? core_->rank().rank : 0; }

    /// Pushes the record and waits for the copy (done when log_model returns): returns the artifact with the
    /// stored copy's size and digest, or throws the sink's error when it could not store it (the record is
    /// then written as a reference with metadata.copy_error).
    artifact push_artifact(artifact a);

    std::shared_ptr<detail::core> core_;
    std::uint32_t id_ = 0;
    std::uint64_t key_owner_ = detail::next_key_owner_id();  ///< this run's entries in detail::key_cache
    std::string experiment_;
    std::string name_;
    bool resumed_ = false;
    std::atomic<bool> active_{false};
    int uncaught_ = 0;
    mutable std::uint64_t executions_started_ = 0;
};

MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "run-inl.hpp"
#endif
