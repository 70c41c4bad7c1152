// Why: the run half of the C API: start/end, params, tags, summary metrics, time series, classification
// metrics, histograms, models and artifacts (cold calls: each takes the run's mutex and calls the C++ run),
// and the metric handles, whose log call is the hot path: one registry check (no lock) and the C++ metric
// handle's push, inlined here (no allocation, no lock, no system call).
#include "support.hpp"

#include <cstring>

namespace mltrack_c {
namespace {

mltrack::run_state state_of(int s) {
    switch (s) {
        case MLTRACK_STATE_COMPLETE: return mltrack::run_state::complete;
        case MLTRACK_STATE_FAILED: return mltrack::run_state::failed;
        case MLTRACK_STATE_CANCELLED: return mltrack::run_state::cancelled;
        case MLTRACK_STATE_PREEMPTED: return mltrack::run_state::preempted;
        default: break;
    }
    throw c_error{MLTRACK_E_ARGUMENT, "c.4", "state is " + std::to_string(s) + ", not an MLTRACK_STATE_* value"};
}

mltrack::start_mode mode_of(int m) {
    switch (m) {
        case MLTRACK_START_CREATE: return mltrack::start_mode::create;
        case MLTRACK_START_RESUME: return mltrack::start_mode::resume;
        case MLTRACK_START_CREATE_OR_RESUME: return mltrack::start_mode::create_or_resume;
        default: break;
    }
    throw c_error{MLTRACK_E_ARGUMENT, "c.4", "mode is " + std::to_string(m) + ", not an MLTRACK_START_* value"};
}

/// A key given with a length (Fortran's strings): c.1 when NULL, c.2 when the length is negative.
std::string_view key_n(const char* key, std::int64_t length) {
    need(key, "key");
    need_count(length, "key_length");
    return std::string_view(key, static_cast<std::size_t>(length));
}

/// Runs f(run) with the live run of a handle, under the run's mutex.
template <class F>
int with_run(mltrack_run r, F&& f) noexcept {
    return guarded([&] {
        auto p = run_of(r);
        std::lock_guard<std::mutex> lock(p->mutex);
        f(p->run);
        return MLTRACK_OK;
    });
}

template <class V>
int log_param(mltrack_run r, const char* key, V value) noexcept {
    return guarded([&] {
        const std::string_view k = text(key, "key");
        return with_run(r, [&](mltrack::run& run) { run.log_params({{k, mltrack::param_value(value)}}); });
    });
}

int metric_n(mltrack_run r, std::string_view key, mltrack_metric* out) {
    auto p = run_of(r);
    std::lock_guard<std::mutex> lock(p->mutex);
    const std::uint64_t h = metric_registry.add(p->run.metric(key));
    try {
        p->metrics.push_back(h);
    } catch (...) {
        metric_registry.remove(h, nullptr);
        throw;
    }
    out->id = h;
    return MLTRACK_OK;
}

[[gnu::cold, gnu::noinline]] int stale_metric() noexcept {
    return fail(MLTRACK_E_HANDLE, "c.3", "the metric handle is not live (never made, or its run ended or tracker closed)");
}

}  // namespace
}  // namespace mltrack_c

using namespace mltrack_c;

extern "C" {

MLTRACK_C_API int mltrack_run_start(mltrack_tracker tracker, const char* name, int mode, mltrack_run* out,
                                    int* resumed) {
    return guarded([&] {
        need(out, "out");
        out->id = 0;
        const std::string_view n = text(name, "name");
        const auto m = mode_of(mode);
        auto t = tracker_of(tracker);
        std::lock_guard<std::mutex> lock(t->mutex);
        if (!tracker_registry.find(tracker.id))  // closed by another thread while this one waited
            throw c_error{MLTRACK_E_HANDLE, "c.3", "the tracker handle is not open (never opened, or closed)"};
        auto p = std::make_shared<run_obj>();
        p->run = t->tracker->start_run(n, m);
        p->tracker = tracker.id;
        const bool was_resumed = p->run.resumed();
        t->runs.reserve(t->runs.size() + 1);
        const std::uint64_t h = run_registry.add(p);  // on failure p's destructor ends the run
        t->runs.push_back(h);
        out->id = h;
        if (resumed) *resumed = was_resumed ? 1 : 0;
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_run_end(mltrack_run run, int state) {
    return guarded([&] {
        const auto s = state_of(state);
        auto p = release_run(run.id);
        if (!p) throw c_error{MLTRACK_E_HANDLE, "c.3", "the run handle is not live (never started, ended, or its tracker closed)"};
        std::shared_ptr<tracker_obj> t;
        if (tracker_registry.get(p->tracker, t)) {
            std::lock_guard<std::mutex> lock(t->mutex);
            auto& v = t->runs;
            for (std::size_t i = 0; i < v.size(); ++i)
                if (v[i] == run.id) {
                    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
                    break;
                }
        }
        std::lock_guard<std::mutex> lock(p->mutex);
        p->run.end(s);
        return MLTRACK_OK;
    });
}

MLTRACK_C_API int mltrack_run_last_step(mltrack_run run, const char* key, int64_t* step, int* found) {
    return guarded([&] {
        need(step, "step");
        need(found, "found");
        *step = 0;
        *found = 0;
        return with_run(run, [&](mltrack::run& r) {
            const auto s = key ? r.last_step(std::string_view(key)) : r.last_step();
            if (s) {
                *step = *s;
                *found = 1;
            }
        });
    });
}

MLTRACK_C_API int mltrack_run_param_int(mltrack_run run, const char* key, int64_t value) {
    return log_param(run, key, static_cast<std::int64_t>(value));
}
MLTRACK_C_API int mltrack_run_param_double(mltrack_run run, const char* key, double value) {
    return log_param(run, key, value);
}
MLTRACK_C_API int mltrack_run_param_bool(mltrack_run run, const char* key, int value) {
    if (value != 0 && value != 1) return fail(MLTRACK_E_ARGUMENT, "c.4", "a bool param is 0 or 1");
    return log_param(run, key, value == 1);
}
MLTRACK_C_API int mltrack_run_param_string(mltrack_run run, const char* key, const char* value) {
    return guarded([&] {
        const std::string_view v = utf8_text(value, "value");
        return log_param(run, key, v);
    });
}

MLTRACK_C_API int mltrack_run_set_tag(mltrack_run run, const char* key, const char* value) {
    return guarded([&] {
        const std::string_view k = text(key, "key"), v = utf8_text(value, "value");
        return with_run(run, [&](mltrack::run& r) { r.set_tag(k, v); });
    });
}

MLTRACK_C_API int mltrack_run_summary(mltrack_run run, const char* key, double value) {
    return guarded([&] {
        const std::string_view k = text(key, "key");
        return with_run(run, [&](mltrack::run& r) { r.log_summary({{k, value}}); });
    });
}

MLTRACK_C_API int mltrack_run_summary_string(mltrack_run run, const char* key, const char* value) {
    return guarded([&] {
        const std::string_view k = text(key, "key"), v = utf8_text(value, "value");
        return with_run(run, [&](mltrack::run& r) { r.log_summary({{k, mltrack::summary_value(std::string(v))}}); });
    });
}

MLTRACK_C_API int mltrack_run_log_n(mltrack_run run, const char* key, int64_t key_length, double value,
                                    int64_t step) {
    return guarded([&] {
        const std::string_view k = key_n(key, key_length);
        return with_run(run, [&](mltrack::run& r) {
            if (step == MLTRACK_STEP_NEXT) r.log(k, value);
            else r.log(k, value, step);
        });
    });
}

MLTRACK_C_API int mltrack_run_log(mltrack_run run, const char* key, double value, int64_t step) {
    if (!key) return fail(MLTRACK_E_ARGUMENT, "c.1", "key is NULL");
    return mltrack_run_log_n(run, key, static_cast<int64_t>(std::strlen(key)), value, step);
}

MLTRACK_C_API int mltrack_run_log_series(mltrack_run run, const char* const* keys, const double* values, int64_t n,
                                         int64_t step) {
    return guarded([&] {
        need_count(n, "n");
        if (n > 0) {
            need(keys, "keys");
            need(values, "values");
        }
        mltrack::named_values<double> v;
        v.reserve(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) v.emplace_back(std::string(text(keys[i], "keys[i]")), values[i]);
        return with_run(run, [&](mltrack::run& r) {
            if (step == MLTRACK_STEP_NEXT) r.log_time_series(v);
            else r.log_time_series(v, step);
        });
    });
}

MLTRACK_C_API int mltrack_run_log_classification(mltrack_run run, const char* display_name,
                                                 const char* const* labels, int64_t n_labels,
                                                 const int64_t* matrix, const double* fpr, const double* tpr,
                                                 const double* thresholds, int64_t n_points) {
    return guarded([&] {
        need_count(n_labels, "n_labels");
        need_count(n_points, "n_points");
        if (n_labels > 0) {
            need(labels, "labels");
            need(matrix, "matrix");
        }
        if (n_labels > 4096) throw c_error{MLTRACK_E_ARGUMENT, "c.4", "n_labels is above 4096"};
        if (n_points > 0) {
            need(fpr, "fpr");
            need(tpr, "tpr");
            need(thresholds, "thresholds");
        }
        mltrack::classification_metrics m;
        m.display_name = std::string(optional_utf8(display_name, "display_name"));
        const auto nl = static_cast<std::size_t>(n_labels);
        for (std::size_t i = 0; i < nl; ++i) m.labels.emplace_back(utf8_text(labels[i], "labels[i]"));
        m.matrix.assign(nl, std::vector<std::int64_t>(nl));
        for (std::size_t i = 0; i < nl; ++i)
            for (std::size_t j = 0; j < nl; ++j) m.matrix[i][j] = matrix[i * nl + j];
        const auto np = static_cast<std::size_t>(n_points);
        m.fpr.assign(fpr, fpr + np);
        m.tpr.assign(tpr, tpr + np);
        m.thresholds.assign(thresholds, thresholds + np);
        return with_run(run, [&](mltrack::run& r) { r.log_classification_metrics(m); });
    });
}

MLTRACK_C_API int mltrack_run_log_histogram(mltrack_run run, const char* key, const double* values, int64_t n,
                                            int64_t step, int64_t buckets) {
    return guarded([&] {
        const std::string_view k = text(key, "key");
        need_count(n, "n");
        need_count(buckets, "buckets");
        if (n > 0) need(values, "values");
        if (buckets > 100000) throw c_error{MLTRACK_E_ARGUMENT, "c.4", "buckets is above 100000"};
        const std::vector<double> v(values, values + n);
        return with_run(run, [&](mltrack::run& r) {
            r.log_histogram(k, v, step, buckets == 0 ? 30 : static_cast<std::size_t>(buckets));
        });
    });
}

MLTRACK_C_API int mltrack_run_log_model(mltrack_run run, const char* path, const char* framework,
                                        const char* framework_version, const char* name, int copy) {
    return guarded([&] {
        const std::string_view p = utf8_text(path, "path");
        if (copy != 0 && copy != 1) throw c_error{MLTRACK_E_ARGUMENT, "c.4", "copy is not 0 or 1"};
        mltrack::model_info info{std::string(optional_utf8(framework, "framework")),
                                 std::string(optional_utf8(framework_version, "framework_version"))};
        mltrack::artifact_options o;
        o.name = std::string(optional_utf8(name, "name"));
        o.copy = copy == 1;
        return with_run(run, [&](mltrack::run& r) { (void)r.log_model(std::filesystem::path(std::string(p)), info, o); });
    });
}

MLTRACK_C_API int mltrack_run_log_artifact(mltrack_run run, const char* path, const char* name, int type, int copy) {
    return guarded([&] {
        const std::string_view p = utf8_text(path, "path");
        if (copy != 0 && copy != 1) throw c_error{MLTRACK_E_ARGUMENT, "c.4", "copy is not 0 or 1"};
        mltrack::artifact_type t;
        switch (type) {
            case MLTRACK_ARTIFACT: t = mltrack::artifact_type::artifact; break;
            case MLTRACK_ARTIFACT_MODEL: t = mltrack::artifact_type::model; break;
            case MLTRACK_ARTIFACT_DATASET: t = mltrack::artifact_type::dataset; break;
            default: throw c_error{MLTRACK_E_ARGUMENT, "c.4", "type is not an MLTRACK_ARTIFACT* value"};
        }
        mltrack::artifact_options o;
        o.name = std::string(optional_utf8(name, "name"));
        o.copy = copy == 1;
        return with_run(run, [&](mltrack::run& r) { (void)r.log_artifact(std::filesystem::path(std::string(p)), o, t); });
    });
}

MLTRACK_C_API int mltrack_run_metric_n(mltrack_run run, const char* key, int64_t key_length, mltrack_metric* out) {
    return guarded([&] {
        need(out, "out");
        out->id = 0;
        return metric_n(run, key_n(key, key_length), out);
    });
}

MLTRACK_C_API int mltrack_run_metric(mltrack_run run, const char* key, mltrack_metric* out) {
    return guarded([&] {
        need(out, "out");
        out->id = 0;
        return metric_n(run, text(key, "key"), out);
    });
}

MLTRACK_C_API int mltrack_metric_log(mltrack_metric metric, double value, int64_t step) {
    const auto* s = metric_registry.find(metric.id);
    if (__builtin_expect(s == nullptr, 0)) return stale_metric();
    if (step == MLTRACK_STEP_NEXT) s->value.log(value);
    else s->value.log(value, step);
    return MLTRACK_OK;
}

MLTRACK_C_API int mltrack_metric_log_at(mltrack_metric metric, double value, int64_t step, int64_t time_ns) {
    const auto* s = metric_registry.find(metric.id);
    if (__builtin_expect(s == nullptr, 0)) return stale_metric();
    if (step == MLTRACK_STEP_NEXT) return fail(MLTRACK_E_ARGUMENT, "c.4", "mltrack_metric_log_at needs an explicit step");
    s->value.log(value, step, time_ns);
    return MLTRACK_OK;
}

}  // extern "C"
