// Why: the JSONL files are the source of truth, so reading them back is part of the library, not a tool.
// read_run() returns every record (the same record model the tracker writes, so a run can be replayed
// into any sink) and the folded state of the run: params, latest summary metrics, time series, artifacts,
// executions, state. A torn last line (a crash mid-write) is reported and skipped; anything else malformed
// is an error naming the file and line.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "detail/jsonl/jsonl_format.hpp"
#include "detail/listing.hpp"
#include "error.hpp"
#include "names.hpp"
#include "record.hpp"

MLTRACK_NAMESPACE_BEGIN

/// One point of a time series.
struct series_point {
    std::int64_t step = 0;
    std::int64_t time_ns = 0;
    double value = 0.0;
};

/// One histogram of a key at one step.
struct histogram_point {
    std::int64_t step = 0;
    std::int64_t time_ns = 0;
    std::vector<histogram_bucket> buckets;
};

/// A line the reader could not use (lenient mode), or the torn tail.
struct read_problem {
    std::size_t line = 0;  ///< 1-based line number
    std::string message;
};

struct read_options {
    bool strict = true;                           ///< malformed lines throw (format.1); else they are collected
    std::size_t max_line_bytes = 64u << 20;       ///< longer lines are malformed (format.6)
};

/// A run read back from its folder.
struct run_data {
    std::filesystem::path dir;      ///< the run folder
    std::string experiment;
    std::string name;
    int format_version = 0;
    run_state state = run_state::running;  ///< RUNNING when the run never ended (still going, or crashed)
    std::int64_t start_time_ns = 0;
    std::int64_t end_time_ns = 0;           ///< 0 while not ended
    std::size_t resumes = 0;                ///< how many times the run was resumed
    nlohmann::json metadata = nlohmann::json::object();  ///< run_start metadata, updated by resumes
    std::map<std::string, param_value> params;                ///< latest value per key
    std::map<std::string, double> summary;                    ///< latest number per key (summary metrics)
    std::map<std::string, std::string> tags;                  ///< latest value per tag key
    std::map<std::string, std::string> summary_text;          ///< latest string per key; a key is in one of
                                                              ///< summary and summary_text: its latest kind
    std::map<std::string, std::vector<series_point>> series;  ///< every point, in file order
    std::map<std::string, std::vector<histogram_point>> histograms;  ///< every histogram, in file order
    std::vector<classification_metrics> classifications;
    std::vector<artifact> artifacts;
    std::vector<execution> executions;      ///< a live execution once, as of its latest record
    std::vector<record> records;            ///< every record, in file order
    int rank = 0;                           ///< the rank that wrote this file (rank_policy::every)
    int world_size = 1;                     ///< ranks in the job that logged the run
    std::vector<run_data> ranks;            ///< the other ranks' files (rank 1, 2...), by read_run of a folder
    std::optional<read_problem> torn_tail;  ///< set when the last line was cut short (and skipped)
    std::vector<read_problem> problems;     ///< lenient mode: skipped lines; unknown kinds in any mode

    /// The data rank r wrote (this run for its own rank, else one of `ranks`), or nullptr.
    const run_data* rank_data(int r) const {
        if (r == rank) return this;
        for (const auto& d : ranks)
            if (d.rank == r) return &d;
        return nullptr;
    }

    /// The latest artifact with this name, or nullptr.
    const artifact* find_artifact(std::string_view artifact_name) const {
        for (auto it = artifacts.rbegin(); it != artifacts.rend(); ++it)
            if (it->name == artifact_name) return &*it;
        return nullptr;
    }

    /// Where an artifact can be read locally: the run's copy, or its source for references.
    std::filesystem::path artifact_path(const artifact& a) const {
        return a.path.empty() ? std::filesystem::path(a.source) : dir / a.path;
    }
};

namespace detail {

struct line_error {
    std::string message;
};

inline std::int64_t parse_time(const nlohmann::json& j) {
    auto it = j.find("time");
    if (it == j.end()) return 0;
    if (!it->is_number()) throw line_error{"\"time\" is not a number"};
    // Nanoseconds in an int64 reach about 292 years either side of 1970; a time beyond is malformed.
    const double us = std::round(it->get<double>() * 1e6);
    if (!(std::fabs(us) <= 9223372036854774.0)) throw line_error{"\"time\" is out of range"};
    return static_cast<std::int64_t>(us) * 1000;
}

inline double parse_metric_value(const nlohmann::json& v) {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (s == "NaN") return std::nan("");
        if (s == "Infinity") return HUGE_VAL;
        if (s == "-Infinity") return -HUGE_VAL;
    }
    throw line_error{"a metric value must be a number, \"NaN\", \"Infinity\" or \"-Infinity\""};
}

inline const nlohmann::json& need(const nlohmann::json& j, const char* key, nlohmann::json::value_t type) {
    auto it = j.find(key);
    if (it == j.end()) throw line_error{std::string("missing \"") + key + "\""};
    const bool ok = it->type() == type ||
                    (type == nlohmann::json::value_t::number_integer && it->is_number_integer()) ||
                    (type == nlohmann::json::value_t::number_float && it->is_number());
    if (!ok) throw line_error{std::string("\"") + key + "\" has the wrong type"};
    return *it;
}

inline std::string opt_string(const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return {};
    if (!it->is_string()) throw line_error{std::string("\"") + key + "\" is not a string"};
    return it->get<std::string>();
}

inline artifact parse_artifact(const nlohmann::json& j) {
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

template <class T, class F>
std::vector<T> parse_array(const nlohmann::json& j, const char* key, F&& f) {
    std::vector<T> out;
    auto it = j.find(key);
    if (it == j.end()) return out;
    if (!it->is_array()) throw line_error{std::string("\"") + key + "\" is not an array"};
    for (const auto& x : *it) out.push_back(f(x));
    return out;
}

/// A live execution's records fold into one execution (by id): the latest state and metadata, and
/// every input and output artifact added over its records.
inline void fold_execution(std::vector<execution>& executions, const execution& e) {
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

inline void fold_line(run_data& run, const nlohmann::json& j, std::size_t line_no) {
    if (!j.is_object()) throw line_error{"a line must be a JSON object"};
    const std::string kind = need(j, "kind", nlohmann::json::value_t::string).get<std::string>();
    record r;
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
            run.params[kv.key()] = p;
            values.emplace_back(kv.key(), std::move(p));
        }
        r.kind = record_kind::params;
        r.payload = std::move(values);
    } else if (kind == "tags") {
        for (const auto& kv : need(j, "values", nlohmann::json::value_t::object).items()) {
            if (!kv.value().is_string()) throw line_error{"tag '" + printable(kv.key()) + "' is not a string"};
            r.texts.emplace_back(kv.key(), kv.value().get<std::string>());
            run.tags[kv.key()] = kv.value().get<std::string>();
        }
        r.kind = record_kind::tags;
    } else if (kind == "metrics" || kind == "summary") {
        named_values<double> values;
        for (const auto& kv : need(j, "values", nlohmann::json::value_t::object).items())
            values.emplace_back(kv.key(), parse_metric_value(kv.value()));
        if (kind == "metrics") {
            r.kind = record_kind::metric;
            r.step = need(j, "step", nlohmann::json::value_t::number_integer).get<std::int64_t>();
            for (const auto& kv : values) run.series[kv.first].push_back(series_point{r.step, r.time_ns, kv.second});
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
        r.kind = record_kind::classification;
        run.classifications.push_back(c);
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
        h.buckets = parse_array<histogram_bucket>(j, "buckets", [](const nlohmann::json& b) {
            if (!b.is_array() || b.size() != 3) throw line_error{"a histogram bucket must be [left, right, count]"};
            return histogram_bucket{parse_metric_value(b[0]), parse_metric_value(b[1]), parse_metric_value(b[2])};
        });
        r.kind = record_kind::histogram;
        r.step = need(j, "step", nlohmann::json::value_t::number_integer).get<std::int64_t>();
        run.histograms[h.name].push_back(histogram_point{r.step, r.time_ns, h.buckets});
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
        return;
    }
    run.records.push_back(std::move(r));
}

}  // namespace detail

namespace detail {
inline run_data read_events_file(const std::filesystem::path& file, const read_options& options);
}  // namespace detail

/// The events files of a run folder by rank: (0, events.jsonl) when it exists, then (r, events.rank-<r>.jsonl)
/// for every rank r > 0 that wrote one (rank_policy::every), sorted by rank.
inline std::vector<std::pair<int, std::filesystem::path>> rank_files(const std::filesystem::path& run_dir) {
    namespace fs = std::filesystem;
    std::vector<std::pair<int, fs::path>> out;
    std::error_code ec;
    for (fs::directory_iterator it(run_dir, ec), end; !ec && it != end; it.increment(ec)) {
        const int r = detail::events_file_rank(it->path().filename().string());
        std::error_code ec2;
        if (r >= 0 && it->is_regular_file(ec2)) out.emplace_back(r, it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// Reads a run from its folder: events.jsonl and, for a run logged by every rank of a job
/// (rank_policy::every), each events.rank-<r>.jsonl into `ranks`. Given a file, reads that file only.
inline run_data read_run(const std::filesystem::path& path, const read_options& options = {}) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(path, ec)) return detail::read_events_file(path, options);  // a loop: io.4 there
    run_data run = detail::read_events_file(path / "events.jsonl", options);
    for (const auto& o : rank_files(path))
        if (o.first > 0) run.ranks.push_back(detail::read_events_file(o.second, options));
    return run;
}

namespace detail {

inline run_data read_events_file(const std::filesystem::path& file, const read_options& options) {
    run_data run;
    run.dir = file.parent_path();
    std::ifstream in(file, std::ios::binary);
    if (!in) throw error(error_category::io, 4, "cannot open " + file.string());

    std::string line;
    std::size_t line_no = 0;
    bool first_seen = false;
    char buf[1 << 16];
    std::string pending;
    bool too_long = false;
    auto handle = [&](std::string& text, bool complete) {
        ++line_no;
        const auto where = file.string() + ":" + std::to_string(line_no) + ": ";
        try {
            if (!complete) {  // no '\n': a write cut short, even when it parses (resume cuts it too)
                run.torn_tail = read_problem{line_no, "torn last line (" + std::to_string(text.size()) +
                                                          " bytes) skipped"};
                return;
            }
            if (too_long || text.size() > options.max_line_bytes)  // too_long is only set once per 64 KiB chunk
                throw error(error_category::format, 6,
                            where + "line longer than " + std::to_string(options.max_line_bytes) + " bytes");
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(text);
            } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range (406) for 1e400
                throw detail::line_error{std::string("malformed JSON: ") + e.what()};
            }
            detail::fold_line(run, j, line_no);
            first_seen = true;
        } catch (const detail::line_error& e) {
            if (options.strict || line_no == 1)
                throw error(error_category::format, line_no == 1 ? 2 : 1, where + e.message);
            run.problems.push_back(read_problem{line_no, e.message});
        } catch (const error& e) {
            if (options.strict || line_no == 1) throw;
            run.problems.push_back(read_problem{line_no, e.what()});
        }
    };
    while (in) {
        in.read(buf, sizeof buf);
        const auto got = static_cast<std::size_t>(in.gcount());
        std::size_t start = 0;
        for (std::size_t i = 0; i < got; ++i) {
            if (buf[i] != '\n') continue;
            if (!too_long) pending.append(buf + start, i - start);
            handle(pending, true);
            pending.clear();
            too_long = false;
            start = i + 1;
        }
        if (!too_long) pending.append(buf + start, got - start);
        if (pending.size() > options.max_line_bytes) {
            too_long = true;
            pending.clear();
        }
    }
    if (!pending.empty() || too_long) handle(pending, false);
    if (!first_seen) throw error(error_category::format, 3, file.string() + ": no run_start line (empty run file)");
    (void)line;
    return run;
}

}  // namespace detail

/// Reads every run of an experiment under a JSONL root, sorted by run name. An entry that cannot be
/// examined (a symbolic link loop, no permission) is skipped and described in `problems` when given.
inline std::vector<run_data> read_experiment(const std::filesystem::path& root, std::string_view experiment,
                                             const read_options& options = {},
                                             std::vector<std::string>* problems = nullptr) {
    namespace fs = std::filesystem;
    validate_name("experiment name", experiment);
    const fs::path dir = root / std::string(experiment);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw error(error_category::io, 5, "experiment folder " + dir.string() + " does not exist");
    std::vector<run_data> out;
    for (const auto& r : detail::list_folders(dir, true, problems)) out.push_back(read_run(dir / r, options));
    return out;
}

MLTRACK_NAMESPACE_END
