// Why: the bodies of run's cold calls (classification metrics, histograms, artifacts and models, executions,
// end), apart from the class so that in compiled mode (detail/compiled.hpp) they are compiled once. The
// logging templates and the metric handles stay in the headers.
#pragma once

#include "run.hpp"
#include "detail/files.hpp"
#include "detail/sha256.hpp"
#include "detail/jsonl/jsonl_format.hpp"

MLTRACK_NAMESPACE_BEGIN

// The non-template overloads of the logging calls: their template bodies are instantiated here, once.
MLTRACK_INLINE void run::log(std::initializer_list<std::pair<std::string_view, double>> values, std::int64_t step) {
    log_time_series_impl(values.begin(), values.end(), step);
}
MLTRACK_INLINE void run::log(std::initializer_list<std::pair<std::string_view, double>> values) {
    log_time_series_next(values.begin(), values.end());
}
MLTRACK_INLINE void run::log_time_series(std::initializer_list<std::pair<std::string_view, double>> values,
                                         std::int64_t step) {
    log_time_series_impl(values.begin(), values.end(), step);
}
MLTRACK_INLINE void run::log_time_series(std::initializer_list<std::pair<std::string_view, double>> values) {
    log_time_series_next(values.begin(), values.end());
}
MLTRACK_INLINE void run::log_time_series(const named_values<double>& values) {
    log_time_series_next(values.begin(), values.end());
}
MLTRACK_INLINE void run::log_params(std::initializer_list<std::pair<std::string_view, param_value>> params) {
    log_params_impl(params.begin(), params.end());
}
MLTRACK_INLINE void run::log_params(const named_values<param_value>& params) {
    log_params_impl(params.begin(), params.end());
}
MLTRACK_INLINE void run::log_summary(std::initializer_list<std::pair<std::string_view, summary_value>> metrics) {
    log_metrics_impl(metrics.begin(), metrics.end());
}
MLTRACK_INLINE void run::log_metrics(std::initializer_list<std::pair<std::string_view, summary_value>> metrics) {
    log_metrics_impl(metrics.begin(), metrics.end());
}
MLTRACK_INLINE void run::log_metrics(const named_values<double>& metrics) {
    log_metrics_impl(metrics.begin(), metrics.end());
}
MLTRACK_INLINE void run::log_metrics(const named_values<summary_value>& metrics) {
    log_metrics_impl(metrics.begin(), metrics.end());
}
MLTRACK_INLINE void run::log_metrics(std::initializer_list<std::pair<std::string_view, double>> values,
                                     std::int64_t step) {
    log_time_series_impl(values.begin(), values.end(), step);
}
MLTRACK_INLINE void run::set_tag(std::string_view key, std::string_view value) { set_tags({{key, value}}); }
MLTRACK_INLINE void run::set_tags(std::initializer_list<std::pair<std::string_view, std::string_view>> tags) {
    set_tags_impl(tags.begin(), tags.end());
}

MLTRACK_INLINE void run::add_summary(named_values<double>& numbers, named_values<std::string>&, std::string_view key,
                                     double v) {
    numbers.emplace_back(std::string(key), v);
}
MLTRACK_INLINE void run::add_summary(named_values<double>& numbers, named_values<std::string>& texts,
                                     std::string_view key, const summary_value& v) {
    if (!v.is_text()) {
        numbers.emplace_back(std::string(key), v.number());
        return;
    }
    if (v.text().size() > max_param_string)
        throw error(error_category::value, 6,
                    "summary metric '" + std::string(key) + "' is a string of " + std::to_string(v.text().size()) +
                        " bytes; the limit is 65536");
    texts.emplace_back(std::string(key), v.text());
}

MLTRACK_INLINE void run::log_classification_metrics(const classification_metrics& m) {
    require_active();
    m.validate();
    if (!m.display_name.empty()) validate_key("classification metrics name", m.display_name);
    for (const auto& l : m.labels) validate_key("classification label", l);
    auto r = make_record(record_kind::classification);
    r->rec.payload = m;
    core_->push_cold(std::move(r));
}

MLTRACK_INLINE void run::log_histogram(std::string_view key, const std::vector<double>& values, std::int64_t step,
                       std::size_t bucket_count) {
    log_histogram(key, tensorboard_histogram(values, bucket_count), step);
}

MLTRACK_INLINE void run::log_histogram(std::string_view key, std::vector<histogram_bucket> buckets, std::int64_t step) {
    require_active();
    validate_key("histogram key", key);
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        const auto& b = buckets[i];
        if (!std::isfinite(b.left) || !std::isfinite(b.right) || !std::isfinite(b.count) || b.left > b.right ||
            b.count < 0)
            throw error(error_category::value, 5,
                        "histogram '" + std::string(key) + "' bucket " + std::to_string(i) +
                            " needs finite edges with left <= right and a finite count >= 0");
    }
    auto r = make_record(record_kind::histogram);
    r->rec.step = step;
    r->rec.payload = histogram{std::string(key), std::move(buckets)};
    core_->push_cold(std::move(r));
}

MLTRACK_INLINE artifact run::log_model(const std::filesystem::path& path, const model_info& model,
                       const artifact_options& options) {
    auto a = describe(path, artifact_type::model, options);
    a.framework = model.framework;
    a.framework_version = model.framework_version;
    return push_artifact(std::move(a));
}

MLTRACK_INLINE artifact run::log_artifact(const std::filesystem::path& path, const artifact_options& options,
                          artifact_type type) {
    return push_artifact(describe(path, type, options));
}

MLTRACK_INLINE void run::log_execution(const execution& e) {
    require_active();
    validate_key("execution name", e.name);
    validate_key("execution schema title", e.schema_title);
    for (const auto* list : {&e.inputs, &e.outputs})
        for (const auto& a : *list) {
            validate_name("artifact name", a.name);
            if (a.source.empty() && a.path.empty())
                throw error(error_category::value, 4, "execution artifact '" + a.name + "' has no source or path");
        }
    auto r = make_record(record_kind::execution);
    r->rec.payload = e;
    core_->push_cold(std::move(r));
}

MLTRACK_INLINE live_execution run::start_execution(std::string_view name, const execution_options& options,
                                   std::vector<artifact> inputs, std::vector<artifact> outputs) {
    require_active();
    validate_key("execution name", name);
    validate_key("execution schema title", options.schema_title);
    if (!options.metadata.is_object())
        throw error(error_category::value, 7, "execution metadata must be a JSON object");
    std::string id = options.id;
    if (id.empty()) id = make_execution_id(name);
    else check_execution_id(id);
    return open_execution(std::move(id), std::string(name), options.schema_title, options.metadata, false,
                          std::move(inputs), std::move(outputs));
}

MLTRACK_INLINE live_execution run::resume_execution(std::string_view id, const execution_options& options) {
    require_active();
    check_execution_id(id);
    return open_execution(std::string(id), std::string(id), options.schema_title,
                          options.metadata.is_object() ? options.metadata : nlohmann::json::object(), true, {}, {});
}

MLTRACK_INLINE void run::end(run_state state) {
    forget_default();
    if (!active_.exchange(false)) return;
    if (!core_ || core_->closed()) return;
    auto r = make_record(record_kind::run_end);
    r->rec.payload = state;
    try {
        core_->push_cold(std::move(r));
    } catch (...) {
        core_->release_run_name(name_);
        throw;
    }
    core_->release_run_name(name_);
}

MLTRACK_INLINE void run::check_execution_id(std::string_view id) {
    if (!is_valid_execution_id(id))
        throw error(error_category::name, 7,
                    "execution id '" + detail::printable(std::string(id)) +
                        "' is not 4 to 128 lowercase letters, digits and '-' starting with a letter or digit");
}

MLTRACK_INLINE live_execution run::open_execution(std::string id, std::string name, const std::string& schema_title,
                                  nlohmann::json metadata, bool resumed, std::vector<artifact> inputs,
                                  std::vector<artifact> outputs) {
    live_execution x;
    x.core_ = core_;
    x.run_ = id_;
    x.e_.id = std::move(id);
    x.e_.name = std::move(name);
    x.e_.schema_title = schema_title;
    x.e_.state = run_state::running;
    x.e_.metadata = std::move(metadata);
    x.e_.resumed = resumed;
    x.active_ = true;
    x.uncaught_ = std::uncaught_exceptions();
    x.push(std::move(inputs), std::move(outputs));
    return x;
}

MLTRACK_INLINE void run::require_active() const {
    if (!core_) throw error(error_category::state, 5, "this run object is empty (moved from or default)");
    if (!active_) throw error(error_category::state, 3, "run '" + name_ + "' has already ended");
    if (core_->closed()) throw error(error_category::state, 4, "the tracker is closed");
}

MLTRACK_INLINE std::unique_ptr<detail::cold_item> run::make_record(record_kind kind) const {
    auto c = std::make_unique<detail::cold_item>();
    c->operation = detail::op::record;
    c->run = id_;
    c->rec.kind = kind;
    c->rec.time_ns = core_->now();
    return c;
}

MLTRACK_INLINE std::optional<std::int64_t> run::query_last_step(const std::uint32_t* metric, std::string_view key) {
    require_active();
    if (core_->inert()) return std::nullopt;
    auto c = std::make_unique<detail::cold_item>();
    c->operation = detail::op::last_step;
    c->run = id_;
    if (metric) {
        c->metric.id = *metric;
        c->metric.name = std::string(key);
    }
    auto done = std::make_shared<detail::ticket>();
    c->done = done;
    core_->push_cold(std::move(c));
    return done->value;
}

MLTRACK_INLINE artifact run::describe(const std::filesystem::path& path, artifact_type type, const artifact_options& options) const {
    require_active();
    artifact a;
    a.type = type;
    if (options.metadata.is_object()) a.metadata = options.metadata;  // null ({}) is no metadata
    const std::string text = path.string();
    const bool uri = text.find("://") != std::string::npos;
    if (uri) {
        const auto last = text.find_last_not_of('/');  // "gs://b/model/" is named "model"
        const auto slash = text.find_last_of('/', last);
        a.name = options.name.empty() ? text.substr(slash + 1, last - slash) : options.name;
        a.source = text;
    } else {
        std::error_code ec;
        auto abs = std::filesystem::absolute(path, ec).lexically_normal();
        if (ec) throw error(error_category::io, 2, "artifact path '" + text + "': " + ec.message());
        if (!abs.has_filename()) abs = abs.parent_path();  // "ckpt/" is the folder "ckpt"
        a.name = options.name.empty() ? abs.filename().string() : options.name;
        a.source = abs.string();
        const auto d = detail::digest_path(abs);
        a.size = d.size;
        a.sha256 = d.sha256;
        a.directory = d.directory;
        if (options.copy) a.path = detail::artifacts_folder(writing_rank()) + a.name;
    }
    validate_name("artifact name", a.name);
    return a;
}

MLTRACK_INLINE std::string run::make_execution_id(std::string_view name) const {
    std::string base;
    for (char ch : name) {
        if (base.size() >= 40) break;
        if (ch >= 'A' && ch <= 'Z') base += static_cast<char>(ch - 'A' + 'a');
        else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) base += ch;
        else if (!base.empty() && base.back() != '-') base += '-';
    }
    while (!base.empty() && base.back() == '-') base.pop_back();
    if (base.empty()) base = "exec";
    detail::sha256 h;
    const std::string salt = experiment_ + "\n" + name_ + "\n" + std::string(name) + "\n" +
                             std::to_string(core_->now()) + "\n" + std::to_string(++executions_started_);
    h.update(salt);
    return base + "-" + h.hex_digest().substr(0, 12);
}

MLTRACK_INLINE artifact run::push_artifact(artifact a) {
    auto r = make_record(record_kind::artifact);
    r->rec.payload = a;
    auto done = std::make_shared<detail::ticket>();
    r->done = done;
    core_->push_cold(std::move(r));
    const auto& receipt = done->receipt;  // written by the writer before the ticket completed
    if (receipt.failed) throw error(receipt.failure_category, receipt.failure_id, receipt.failure_message);
    if (receipt.stored) {
        a.size = receipt.size;
        a.sha256 = receipt.sha256;
    }
    return a;
}
MLTRACK_NAMESPACE_END
