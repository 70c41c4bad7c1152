// Why: one closed set of record kinds is the whole data model. The tracker turns every call into a record,
// the JSONL sink serializes records losslessly, the reader turns lines back into the same records, and
// every other sink is a projection of the stream. The hot record (one metric point) is 32 trivially
// copyable bytes; every other record owns its payload.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "histogram.hpp"

MLTRACK_NAMESPACE_BEGIN

/// Every kind of record. The JSONL "kind" field spells these names (see docs/format.md).
enum class record_kind : std::uint8_t {
    run_start,       ///< a new run
    run_resume,      ///< an existing run continues
    params,          ///< hyperparameters (latest value of a key wins)
    metric,          ///< time-series values at one step
    summary,         ///< summary metrics (latest value of a key wins)
    classification,  ///< confusion matrix and ROC points
    artifact,        ///< a model or other artifact
    execution,       ///< an execution with input and output artifacts (lineage)
    histogram,       ///< a histogram of values at one step
    run_end,         ///< the run ended with a state
    tags,            ///< tags: text key/value pairs (latest value of a key wins), in `texts`
};

inline const char* to_string(record_kind k) noexcept {
    switch (k) {
        case record_kind::run_start: return "run_start";
        case record_kind::run_resume: return "run_resume";
        case record_kind::params: return "params";
        case record_kind::metric: return "metrics";
        case record_kind::summary: return "summary";
        case record_kind::classification: return "classification";
        case record_kind::artifact: return "artifact";
        case record_kind::execution: return "execution";
        case record_kind::histogram: return "histogram";
        case record_kind::run_end: return "run_end";
        case record_kind::tags: return "tags";
    }
    return "unknown";
}

/// The state of a run, with Vertex AI's names (to_string gives "RUNNING", "COMPLETE", ...).
/// `preempted` is mltrack's own (a termination signal ended the run: a SLURM time limit, a preemption); the
/// Vertex AI sink sends it as CANCELLED.
enum class run_state : std::uint8_t { running, complete, failed, cancelled, preempted };

inline const char* to_string(run_state s) noexcept {
    switch (s) {
        case run_state::running: return "RUNNING";
        case run_state::complete: return "COMPLETE";
        case run_state::failed: return "FAILED";
        case run_state::cancelled: return "CANCELLED";
        case run_state::preempted: return "PREEMPTED";
    }
    return "STATE_UNSPECIFIED";
}

inline std::optional<run_state> parse_run_state(std::string_view s) noexcept {
    if (s == "RUNNING") return run_state::running;
    if (s == "COMPLETE") return run_state::complete;
    if (s == "FAILED") return run_state::failed;
    if (s == "CANCELLED") return run_state::cancelled;
    if (s == "PREEMPTED") return run_state::preempted;
    return std::nullopt;
}

/// A param value: an integer, a float, a bool or a string. Floats must be finite (error value.1).
class param_value {
public:
    using storage = std::variant<std::int64_t, double, bool, std::string>;

    param_value() : v_(std::int64_t{0}) {}
    param_value(bool b) : v_(b) {}
    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    param_value(T v) : v_(static_cast<std::int64_t>(v)) {}
    template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
    param_value(T v) : v_(static_cast<double>(v)) {}
    param_value(const char* s) : v_(std::string(s)) {}
    param_value(std::string s) : v_(std::move(s)) {}
    param_value(std::string_view s) : v_(std::string(s)) {}
    /// Anything else is a compile error that names the type.
    template <class T, std::enable_if_t<!std::is_arithmetic_v<std::decay_t<T>> &&
                                            !std::is_convertible_v<const T&, std::string_view> &&
                                            !std::is_same_v<std::decay_t<T>, param_value>,
                                        int> = 0>
    param_value(const T&) : v_(std::int64_t{0}) {
        static_assert(sizeof(T) == 0,
                      "mltrack: this param value's type (T in the line 'In instantiation of ...' above) is not a param type; a param is a bool, an "
                      "integer, a floating-point number or a string (const char*, std::string, std::string_view)");
    }

    bool is_int() const noexcept { return std::holds_alternative<std::int64_t>(v_); }
    bool is_double() const noexcept { return std::holds_alternative<double>(v_); }
    bool is_bool() const noexcept { return std::holds_alternative<bool>(v_); }
    bool is_string() const noexcept { return std::holds_alternative<std::string>(v_); }

    std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
    double as_double() const { return is_int() ? static_cast<double>(as_int()) : std::get<double>(v_); }
    bool as_bool() const { return std::get<bool>(v_); }
    const std::string& as_string() const { return std::get<std::string>(v_); }
    const storage& get() const noexcept { return v_; }

    /// The value as text, as tables show it ("0.01", "64", "true", "adam").
    std::string to_text() const;

    friend bool operator==(const param_value& a, const param_value& b) { return a.v_ == b.v_; }
    friend bool operator!=(const param_value& a, const param_value& b) { return !(a == b); }

private:
    storage v_;
};

/// A summary metric value: a number or a string (the Vertex AI SDK's log_metrics takes float, int or str).
/// Numbers are doubles; bools are refused at compile time (log them as 0/1 or as a param).
class summary_value {
public:
    template <class T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, int> = 0>
    summary_value(T v) : number_(static_cast<double>(v)) {}
    summary_value(const char* s) : text_(s), is_text_(true) {}
    summary_value(std::string s) : text_(std::move(s)), is_text_(true) {}
    summary_value(std::string_view s) : text_(s), is_text_(true) {}
    /// Anything else is a compile error that names the type.
    template <class T, std::enable_if_t<(!std::is_arithmetic_v<std::decay_t<T>> || std::is_same_v<std::decay_t<T>, bool>) &&
                                            !std::is_convertible_v<const T&, std::string_view> &&
                                            !std::is_same_v<std::decay_t<T>, summary_value>,
                                        int> = 0>
    summary_value(const T&) {
        static_assert(sizeof(T) == 0,
                      "mltrack: this metric value's type (T in the line 'In instantiation of ...' above) is not a summary metric type; a summary metric "
                      "is a number (not a bool: log it as 0 or 1, or as a param) or a string");
    }

    bool is_text() const noexcept { return is_text_; }
    double number() const noexcept { return number_; }
    const std::string& text() const noexcept { return text_; }

private:
    double number_ = 0.0;
    std::string text_;
    bool is_text_ = false;
};

/// A metric point: the hot record. 32 bytes, trivially copyable.
struct metric_point {
    std::uint32_t run;     ///< run id within the tracker
    std::uint32_t metric;  ///< interned metric id within the tracker
    std::int64_t step;
    double value;
    std::int64_t time_ns;  ///< wall time, nanoseconds since the Unix epoch
};
static_assert(std::is_trivially_copyable_v<metric_point>, "hot records must be trivially copyable");
static_assert(sizeof(metric_point) == 32, "the hot record is 32 bytes");

/// Everything that identifies a run, known to every sink from its run_start/run_resume event.
struct run_info {
    std::uint32_t id = 0;            ///< run id within the tracker (or replay)
    std::string experiment;          ///< experiment name (validated)
    std::string name;                ///< run name (validated)
    bool resumed = false;            ///< true when this opening continues an existing run
    std::int64_t start_time_ns = 0;  ///< when this opening happened
    int rank = 0;                    ///< the writing rank: 0, or with rank_policy::every this process's rank
    int world_size = 1;              ///< ranks in the job (1 outside a multi-rank job)
    nlohmann::json metadata = nlohmann::json::object();  ///< free-form run metadata (environment, user tags)
};

/// Classification metrics with the Vertex AI SDK's semantics: labels and matrix both or neither, the matrix
/// square with one row per label; fpr, tpr and thresholds all or none, of equal lengths.
struct classification_metrics {
    std::string display_name;                        ///< optional
    std::vector<std::string> labels;                 ///< class names, one per matrix row
    std::vector<std::vector<std::int64_t>> matrix;   ///< confusion matrix: rows = true class, columns = predicted
    std::vector<double> fpr;                         ///< false positive rate per threshold
    std::vector<double> tpr;                         ///< true positive rate (recall) per threshold
    std::vector<double> thresholds;                  ///< confidence thresholds

    /// Throws mltrack::error (category shape) when the shapes do not follow the rules above.
    void validate() const;
};

/// What an artifact is; the Vertex sink maps these to schema titles (google.ExperimentModel, system.Dataset...).
enum class artifact_type : std::uint8_t { artifact, model, dataset };

inline const char* to_string(artifact_type t) noexcept {
    switch (t) {
        case artifact_type::artifact: return "artifact";
        case artifact_type::model: return "model";
        case artifact_type::dataset: return "dataset";
    }
    return "artifact";
}

inline std::optional<artifact_type> parse_artifact_type(std::string_view s) noexcept {
    if (s == "artifact") return artifact_type::artifact;
    if (s == "model") return artifact_type::model;
    if (s == "dataset") return artifact_type::dataset;
    return std::nullopt;
}

/// A model, dataset or other artifact: where it came from, where the run keeps its copy, size and digest.
struct artifact {
    artifact_type type = artifact_type::artifact;
    std::string name;               ///< unique within the run; a file name (validated like a run name)
    std::string source;             ///< the path or URI it was logged from
    std::string path;               ///< the run's copy, relative to the run folder ("artifacts/<name>"); empty
                                    ///< for references
    bool directory = false;         ///< a folder rather than a file
    std::uint64_t size = 0;         ///< bytes (sum over files for a folder); 0 when unknown (remote URIs)
    std::string sha256;             ///< hex digest of the file (for a folder: of its manifest); empty if unknown
    std::string framework;          ///< model framework ("xgboost"), optional
    std::string framework_version;  ///< optional
    nlohmann::json metadata = nlohmann::json::object();  ///< free-form

    /// An artifact known only by its URI or path (no copy, no digest): for execution inputs such as datasets.
    static artifact reference(std::string name, std::string uri, artifact_type type = artifact_type::dataset) {
        artifact a;
        a.type = type;
        a.name = std::move(name);
        a.source = std::move(uri);
        return a;
    }
};

/// An execution (a step of a pipeline) with its input and output artifacts: the lineage graph. Logged whole
/// by log_execution (no id), or live by start_execution / resume_execution: then every record of it carries
/// the same id, its current state and metadata, and the artifacts added since its previous record.
struct execution {
    std::string id;                                       ///< a live execution's id (empty: logged whole)
    bool resumed = false;                                 ///< this record resumes an existing execution
    std::string name;                                     ///< a key (validated like metric keys)
    std::string schema_title = "system.ContainerExecution";
    run_state state = run_state::complete;
    std::vector<artifact> inputs;
    std::vector<artifact> outputs;
    nlohmann::json metadata = nlohmann::json::object();
};

/// Named values: params, summary metrics, or the values of one metric record at one step.
template <class V>
using named_values = std::vector<std::pair<std::string, V>>;

/// A record that owns its payload: the form the reader returns and cold calls produce.
struct record {
    record_kind kind = record_kind::params;
    std::int64_t time_ns = 0;
    std::int64_t step = 0;  ///< metric and histogram records only
    std::variant<std::monostate, named_values<param_value>, named_values<double>, classification_metrics, artifact,
                 execution, run_state, run_info, histogram>
        payload;
    /// Summary records: the string values (the numbers are the payload's named_values<double>); tags
    /// records: the tags.
    named_values<std::string> texts;

    // Typed access to the payload; each throws std::bad_variant_access for another kind.
    const named_values<param_value>& get_params() const { return std::get<named_values<param_value>>(payload); }
    const named_values<double>& get_values() const { return std::get<named_values<double>>(payload); }
    const classification_metrics& get_classification() const { return std::get<classification_metrics>(payload); }
    const artifact& get_artifact() const { return std::get<artifact>(payload); }
    const execution& get_execution() const { return std::get<execution>(payload); }
    run_state get_state() const { return std::get<run_state>(payload); }
    const run_info& get_run() const { return std::get<run_info>(payload); }
    const histogram& get_histogram() const { return std::get<histogram>(payload); }
};

/// An interned metric: dense id and name. Sinks may cache per-id data.
struct metric_info {
    std::uint32_t id = 0;
    std::string name;
};

/// What a sink that stores artifact copies (the JSONL sink) tells the caller of log_model / log_artifact,
/// which waits for the copy: the stored copy's size and digest, or why it could not be stored (the caller
/// then throws that error). Only on the artifact events of a live run; null on replay.
struct artifact_receipt {
    bool stored = false;
    std::uint64_t size = 0;
    std::string sha256;
    bool failed = false;
    error_category failure_category = error_category::io;
    int failure_id = 0;
    std::string failure_message;  ///< without the "[mltrack.error...] " prefix
};

/// What a sink receives: one record of the stream, a view valid only during the write() call.
/// For kind metric: one point (step, value, metric). For run_start/run_resume: `run` says it all.
/// For every other kind: `payload` holds the data.
struct event {
    record_kind kind = record_kind::metric;
    const run_info* run = nullptr;
    std::int64_t time_ns = 0;
    std::int64_t step = 0;
    double value = 0.0;
    const metric_info* metric = nullptr;
    const record* payload = nullptr;
    artifact_receipt* receipt = nullptr;  ///< artifact events of a live run: see artifact_receipt
};

/// A contiguous batch of events handed to a sink's write().
class batch {
public:
    batch() = default;
    batch(const event* first, std::size_t count) noexcept : first_(first), count_(count) {}
    const event* begin() const noexcept { return first_; }
    const event* end() const noexcept { return first_ + count_; }
    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    const event& operator[](std::size_t i) const noexcept { return first_[i]; }

private:
    const event* first_ = nullptr;
    std::size_t count_ = 0;
};

// ---- inline definitions ----

inline std::string param_value::to_text() const {
    if (is_int()) return std::to_string(as_int());
    if (is_bool()) return as_bool() ? "true" : "false";
    if (is_string()) return as_string();
    nlohmann::json j = std::get<double>(v_);
    return j.dump();
}

inline void classification_metrics::validate() const {
    if (labels.empty() != matrix.empty())
        throw error(error_category::shape, 1, "classification metrics need both labels and matrix, or neither");
    if (labels.size() != matrix.size())
        throw error(error_category::shape, 2,
                    "confusion matrix has " + std::to_string(matrix.size()) + " rows but there are " +
                        std::to_string(labels.size()) + " labels");
    for (std::size_t i = 0; i < matrix.size(); ++i) {
        if (matrix[i].size() != labels.size())
            throw error(error_category::shape, 3,
                        "confusion matrix row " + std::to_string(i) + " has " + std::to_string(matrix[i].size()) +
                            " columns; a square matrix of " + std::to_string(labels.size()) + " is required");
        for (auto v : matrix[i])
            if (v < 0)
                throw error(error_category::shape, 4,
                            "confusion matrix row " + std::to_string(i) + " has a negative count");
    }
    if (fpr.size() != tpr.size() || fpr.size() != thresholds.size())
        throw error(error_category::shape, 5,
                    "fpr, tpr and thresholds must have equal lengths (got " + std::to_string(fpr.size()) + ", " +
                        std::to_string(tpr.size()) + ", " + std::to_string(thresholds.size()) + ")");
    if (labels.empty() && fpr.empty())
        throw error(error_category::shape, 6, "classification metrics are empty: give a matrix or ROC points");
    for (std::size_t i = 0; i < fpr.size(); ++i)
        if (!std::isfinite(fpr[i]) || !std::isfinite(tpr[i]) || !std::isfinite(thresholds[i]))
            throw error(error_category::value, 2,
                        "ROC point " + std::to_string(i) + " has a non-finite fpr, tpr or threshold");
}

MLTRACK_NAMESPACE_END
