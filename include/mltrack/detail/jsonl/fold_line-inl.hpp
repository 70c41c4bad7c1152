// Why: the bodies of fold_line and its parsers (one JSONL line into a run's state), apart so that in compiled mode
// (detail/compiled.hpp) they are compiled once.
#pragma once

#include "fold_line.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {

MLTRACK_INLINE bool seconds_to_ns(double seconds, std::int64_t& out) noexcept {
    constexpr std::int64_t max_us = std::numeric_limits<std::int64_t>::max() / 1000;  // 9223372036854775
    const double us = std::round(seconds * 1e6);
    if (!(std::fabs(us) <= 9223372036854784.0)) return false;  // NaN included; a few ulps of slack
    const std::int64_t v = std::clamp(static_cast<std::int64_t>(us), -max_us - 1, max_us);
    out = v == -max_us - 1 ? std::numeric_limits<std::int64_t>::min() : v * 1000;
    return true;
}

MLTRACK_INLINE std::int64_t parse_time(const nlohmann::json& j) {
    auto it = j.find("time");
    if (it == j.end()) return 0;
    if (!it->is_number()) throw line_error{"\"time\" is not a number"};
    std::int64_t ns = 0;
    if (!seconds_to_ns(it->get<double>(), ns)) throw line_error{"\"time\" is out of range"};
    return ns;
}

MLTRACK_INLINE std::int64_t parse_step(const nlohmann::json& j) {
    auto it = j.find("step");
    if (it == j.end()) throw line_error{"missing \"step\""};
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw line_error{"\"step\" is beyond the int64 range"};
    if (!it->is_number_integer()) throw line_error{"\"step\" has the wrong type"};
    return it->get<std::int64_t>();
}

MLTRACK_INLINE void check_key(const char* what, const std::string& key) {
    try {
        validate_key(what, key);
    } catch (const error& e) {
        throw line_error{e.what()};
    }
}

MLTRACK_INLINE double parse_metric_value(const nlohmann::json& v) {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s == "NaN") return std::nan("");
        if (s == "Infinity") return HUGE_VAL;
        if (s == "-Infinity") return -HUGE_VAL;
    }
    throw line_error{"a metric value must be a number, \"NaN\", \"Infinity\" or \"-Infinity\""};
}

MLTRACK_INLINE const nlohmann::json& need(const nlohmann::json& j, const char* key, nlohmann::json::value_t type) {
    auto it = j.find(key);
    if (it == j.end()) throw line_error{std::string("missing \"") + key + "\""};
    const bool ok = it->type() == type ||
                    (type == nlohmann::json::value_t::number_integer && it->is_number_integer()) ||
                    (type == nlohmann::json::value_t::number_float && it->is_number());
    if (!ok) throw line_error{std::string("\"") + key + "\" has the wrong type"};
    return *it;
}

MLTRACK_INLINE std::string opt_string(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return {};
    if (!it->is_string()) throw line_error{std::string("\"") + key + "\" is not a string"};
    return it->get<std::string>();
}

MLTRACK_INLINE artifact parse_artifact(const nlohmann::json& j) {
    artifact a;
    const auto t = parse_artifact_type(opt_string(j, "type"));
    if (!t) throw line_error{"unknown artifact type"};
    a.type = *t;
    a.name = need(j, "name", nlohmann::json::value_t::string).get<std::string>();
    a.source = opt_string(j, "source");
    a.path = opt_string(j, "path");
    if (!a.path.empty()) {
        const std::filesystem::path p(a.path);
        // A run's copy always lives under its folder: refuse paths that could point elsewhere.
        const bool up = std::any_of(p.begin(), p.end(), [](const std::filesystem::path& c) { return c == ".."; });
        const auto slash = a.path.find('/');
        const std::string_view folder = std::string_view(a.path).substr(0, slash);
        constexpr std::string_view rank_folder = "artifacts.rank-";
        const bool under = slash != std::string::npos &&
                           (folder == "artifacts" || (folder.substr(0, rank_folder.size()) == rank_folder &&
                                                      parse_rank_number(folder.substr(rank_folder.size())) > 0));
        if (p.is_absolute() || up || !under)
            throw line_error{"artifact path '" + printable(a.path) + "' is not under artifacts/ (or artifacts.rank-<r>/)"};
    }
    if (auto it = j.find("directory"); it != j.end() && it->is_boolean()) a.directory = it->get<bool>();
    if (auto it = j.find("size"); it != j.end() && it->is_number_unsigned()) a.size = it->get<std::uint64_t>();
    a.sha256 = opt_string(j, "sha256");
    a.framework = opt_string(j, "framework");
    a.framework_version = opt_string(j, "framework_version");
    if (auto it = j.find("metadata"); it != j.end() && it->is_object()) a.metadata = *it;
    return a;
}

MLTRACK_INLINE void fold_execution(std::vector<execution>& executions, const execution& e) {
    if (!e.id.empty())
        for (auto& x : executions)
            if (x.id == e.id) {
                x.state = e.state;  // name and schema title stay the first record's (a resume knows only the id)
                for (auto it = e.metadata.begin(); it != e.metadata.end(); ++it) x.metadata[it.key()] = it.value();
                x.inputs.insert(x.inputs.end(), e.inputs.begin(), e.inputs.end());
                x.outputs.insert(x.outputs.end(), e.outputs.begin(), e.outputs.end());
                x.resumed = false;
                return;
            }
    executions.push_back(e);
}

MLTRACK_INLINE bool fold_line(run_data& run, const nlohmann::json& j, std::size_t line_no, record& r) {
    if (!j.is_object()) throw line_error{"a line must be a JSON object"};
    const std::string kind = need(j, "kind", nlohmann::json::value_t::string).get<std::string>();
    r = record{};
    r.time_ns = parse_time(j);
    if (line_no == 1) {
        if (kind != "run_start" || opt_string(j, "format") != jsonl_format_name)
            throw line_error{"the first line must be a run_start of format \"mltrack.jsonl\""};
        const auto version = need(j, "format_version", nlohmann::json::value_t::number_integer).get<long long>();
        if (version < 1 || version > jsonl_format_version)
            throw error(error_category::format, 5,
                        "format_version " + std::to_string(version) + " is not supported (this reader knows 1 to " +
                            std::to_string(jsonl_format_version) + ")");
        run.format_version = static_cast<int>(version);
    } else if (kind == "run_start") {
        throw line_error{"run_start may only be the first line"};
    }
    if (kind == "run_start" || kind == "run_resume") {
        run_info info;
        info.resumed = kind == "run_resume";
        info.start_time_ns = r.time_ns;
        if (auto it = j.find("metadata"); it != j.end() && it->is_object()) info.metadata = *it;
        if (!info.resumed) {
            info.experiment = need(j, "experiment", nlohmann::json::value_t::string).get<std::string>();
            info.name = need(j, "run", nlohmann::json::value_t::string).get<std::string>();
            run.experiment = info.experiment;
            run.name = info.name;
            run.start_time_ns = r.time_ns;
            run.metadata = info.metadata;
            if (auto it = j.find("rank"); it != j.end()) {
                if (!it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > (1 << 30))
                    throw line_error{"\"rank\" is not a rank number"};
                run.rank = it->get<int>();
            }
            if (auto it = j.find("world_size"); it != j.end()) {
                if (!it->is_number_integer() || it->get<long long>() <= run.rank || it->get<long long>() > (1 << 30))
                    throw line_error{"\"world_size\" is not a number above the rank"};
                run.world_size = it->get<int>();
            }
            info.rank = run.rank;
            info.world_size = run.world_size;
        } else {
            info.experiment = run.experiment;
            info.name = run.name;
            info.rank = run.rank;
            info.world_size = run.world_size;
            ++run.resumes;
            run.state = run_state::running;
            run.end_time_ns = 0;
            for (auto it = info.metadata.begin(); it != info.metadata.end(); ++it) run.metadata[it.key()] = it.value();
        }
        r.kind = info.resumed ? record_kind::run_resume : record_kind::run_start;
        r.payload = std::move(info);
    } else if (kind == "params") {
        named_values<param_value> values;
        for (const auto& kv : need(j, "values", nlohmann::json::value_t::object).items()) {
            const auto& v = kv.value();
            param_value p;
            if (v.is_number_integer()) p = param_value(v.get<std::int64_t>());
            else if (v.is_number()) p = param_value(v.get<double>());
            else if (v.is_boolean()) p = param_value(v.get<bool>());
            else if (v.is_string()) p = param_value(v.get<std::string>());
            else throw line_error{"param '" + printable(kv.key()) + "' is not a number, bool or string"};
            check_key("param key", kv.key());
            run.params[kv.key()] = p;
            values.emplace_back(kv.key(), std::move(p));
        }
        r.kind = record_kind::params;
        r.payload = std::move(values);
    } else if (kind == "tags") {
        for (const auto& kv : need(j, "values", nlohmann::json::value_t::object).items()) {
            if (!kv.value().is_string()) throw line_error{"tag '" + printable(kv.key()) + "' is not a string"};
            check_key("tag key", kv.key());
            r.texts.emplace_back(kv.key(), kv.value().get<std::string>());
            run.tags[kv.key()] = kv.value().get<std::string>();
        }
        r.kind = record_kind::tags;
    } else if (kind == "metrics" || kind == "summary") {
        named_values<double> values;
        for (const auto& kv : need(j, "values", nlohmann::json::value_t::object).items()) {
            check_key("metric key", kv.key());
            values.emplace_back(kv.key(), parse_metric_value(kv.value()));
        }
        if (kind == "metrics") {
            r.kind = record_kind::metric;
            r.step = parse_step(j);
        } else {
            r.kind = record_kind::summary;
            for (const auto& kv : values) {
                run.summary[kv.first] = kv.second;
                run.summary_text.erase(kv.first);
            }
            if (auto it = j.find("text"); it != j.end()) {
                if (!it->is_object()) throw line_error{"\"text\" is not an object"};
                for (const auto& kv : it->items()) {
                    if (!kv.value().is_string())
                        throw line_error{"summary text '" + printable(kv.key()) + "' is not a string"};
                    check_key("metric key", kv.key());
                    r.texts.emplace_back(kv.key(), kv.value().get<std::string>());
                    run.summary_text[kv.key()] = kv.value().get<std::string>();
                    run.summary.erase(kv.key());
                }
            }
        }
        r.payload = std::move(values);
    } else if (kind == "classification") {
        classification_metrics c;
        c.display_name = opt_string(j, "name");
        c.labels = parse_array<std::string>(j, "labels", [](const nlohmann::json& x) {
            if (!x.is_string()) throw line_error{"a label is not a string"};
            return x.get<std::string>();
        });
        c.matrix = parse_array<std::vector<std::int64_t>>(j, "matrix", [](const nlohmann::json& row) {
            if (!row.is_array()) throw line_error{"a matrix row is not an array"};
            std::vector<std::int64_t> out;
            for (const auto& x : row) {
                if (!x.is_number_integer()) throw line_error{"a matrix cell is not an integer"};
                out.push_back(x.get<std::int64_t>());
            }
            return out;
        });
        c.fpr = parse_array<double>(j, "fpr", parse_metric_value);
        c.tpr = parse_array<double>(j, "tpr", parse_metric_value);
        c.thresholds = parse_array<double>(j, "thresholds", parse_metric_value);
        try {  // the writer's shape rules: a square matrix of non-negative counts, equal ROC lengths
            c.validate();
            if (!c.display_name.empty()) validate_key("classification metrics name", c.display_name);
            for (const auto& l : c.labels) validate_key("classification label", l);
        } catch (const error& e) {
            throw line_error{e.what()};
        }
        r.kind = record_kind::classification;
        r.payload = std::move(c);
    } else if (kind == "artifact") {
        artifact a = parse_artifact(j);
        r.kind = record_kind::artifact;
        run.artifacts.push_back(a);
        r.payload = std::move(a);
    } else if (kind == "execution") {
        execution e;
        e.id = opt_string(j, "id");
        if (auto it = j.find("resumed"); it != j.end() && it->is_boolean()) e.resumed = it->get<bool>();
        e.name = need(j, "name", nlohmann::json::value_t::string).get<std::string>();
        e.schema_title = opt_string(j, "schema_title");
        const auto st = parse_run_state(opt_string(j, "state"));
        if (!st) throw line_error{"unknown execution state"};
        e.state = *st;
        e.inputs = parse_array<artifact>(j, "inputs", parse_artifact);
        e.outputs = parse_array<artifact>(j, "outputs", parse_artifact);
        if (auto it = j.find("metadata"); it != j.end() && it->is_object()) e.metadata = *it;
        r.kind = record_kind::execution;
        fold_execution(run.executions, e);
        r.payload = std::move(e);
    } else if (kind == "histogram") {
        histogram h;
        h.name = need(j, "name", nlohmann::json::value_t::string).get<std::string>();
        check_key("histogram key", h.name);
        h.buckets = parse_array<histogram_bucket>(j, "buckets", [](const nlohmann::json& b) {
            if (!b.is_array() || b.size() != 3) throw line_error{"a histogram bucket must be [left, right, count]"};
            const histogram_bucket x{parse_metric_value(b[0]), parse_metric_value(b[1]), parse_metric_value(b[2])};
            if (!std::isfinite(x.left) || !std::isfinite(x.right) || !std::isfinite(x.count) || x.left > x.right ||
                x.count < 0)  // as log_histogram (value.5)
                throw line_error{"a histogram bucket needs finite edges with left <= right and a finite count >= 0"};
            return x;
        });
        r.kind = record_kind::histogram;
        r.step = parse_step(j);
        r.payload = std::move(h);
    } else if (kind == "run_end") {
        const auto st = parse_run_state(opt_string(j, "state"));
        if (!st) throw line_error{"unknown run state"};
        run.state = *st;
        run.end_time_ns = r.time_ns;
        r.kind = record_kind::run_end;
        r.payload = *st;
    } else {
        run.problems.push_back(read_problem{line_no, "unknown kind '" + printable(kind) + "' skipped"});
        return false;
    }
    return true;
}

MLTRACK_INLINE void keep_record(run_data& run, record&& r) {
    if (r.kind == record_kind::metric) {
        for (const auto& kv : r.get_values()) run.series[kv.first].push_back(series_point{r.step, r.time_ns, kv.second});
    } else if (r.kind == record_kind::histogram) {
        const auto& h = r.get_histogram();
        run.histograms[h.name].push_back(histogram_point{r.step, r.time_ns, h.buckets});
    } else if (r.kind == record_kind::classification) {
        run.classifications.push_back(r.get_classification());
    }
    run.records.push_back(std::move(r));
}

}  // namespace detail
MLTRACK_NAMESPACE_END
