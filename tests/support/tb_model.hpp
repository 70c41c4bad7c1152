// A model of what TensorBoard's Python reader (`tensorboard --logdir DIR --load_fast=false`) shows of a logdir:
// its reading rules, written from TensorBoard's source (backend/event_processing/{plugin_event_accumulator,
// directory_watcher,io_wrapper,data_provider}.py, data_compat.py, plugins/hparams/{backend_context,
// list_session_groups}.py, plugins/image/images_plugin.py, plugins/metrics/metrics_plugin.py) and checked
// against TensorBoard itself by tests/tensorboard_real/ on the same scenarios. Files are decoded with the
// independent decoder (tb_decoder.hpp). The rules:
//
// - a run is a folder that directly holds a file with "tfevents" in its name; its files are read in name order;
// - the first SessionLog START of a run folder drops nothing; every later one drops, in every tag, every point
//   whose step is at or after its step (file_version >= 2; without a file_version, a step that goes back drops
//   that tag's later points instead);
// - the first metadata of a tag in a run folder wins (so do the hparams session start and end infos, which are
//   metadata); a tag whose points were all dropped stays listed;
// - the Images and Time Series dashboards fail (HTTP 500) when an image tag has no points;
// - HParams: sessions are the runs with a session_start_info; a declared `_hparams_/experiment` anywhere in
//   the logdir is used for all of them, else the columns are inferred (strings and bools as discrete domains,
//   whose strings are JSON-escaped, numbers as intervals; when there is any hparam, every scalar tag of a
//   session's folder and its subfolders as a metric); the dashboard fails when a metric's last point has a
//   step outside int32.
// TensorBoard keeps at most 1000 points per scalar tag, 10 per text or image tag (sampled): the scenarios
// stay under that, and the model keeps every point.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tb_decoder.hpp"

namespace tbmodel {

namespace fs = std::filesystem;

struct datum {
    std::int64_t step = 0;
    tbdec::value v;
};

struct series {
    std::string plugin;   ///< from the tag's first metadata ("scalars" for simple values)
    std::string content;  ///< the first metadata's plugin content
    std::vector<datum> data;
};

struct run_view {
    std::map<std::string, series> tags;
};

struct session {
    std::string group;
    std::string status = "STATUS_UNKNOWN";
    std::map<std::string, tbdec::hp_value> hparams;  ///< the group's (its first session's) values
    std::map<std::string, std::pair<std::int64_t, double>> metrics;  ///< "group|tag" -> last (step, value)
};

/// TensorBoard's `_protobuf_value_to_string` of a string: json_format's output, quotes removed (so
/// non-ASCII characters come out as \uXXXX escapes, and '"' and '\' escaped).
inline std::string json_escaped(const std::string& s) {
    const std::string d = nlohmann::json(s).dump(-1, ' ', true);
    return d.substr(1, d.size() - 2);
}

struct view {
    std::vector<std::string> errors;  ///< the routes that fail, as tb_view.py prints them
    std::map<std::string, run_view> runs;
    std::vector<std::string> hparam_columns;
    std::vector<std::string> metric_columns;  ///< "group|tag"
    std::map<std::string, std::vector<std::string>> domains;
    std::map<std::string, session> sessions;

    const series* find(const std::string& run, const std::string& tag) const {
        auto r = runs.find(run);
        if (r == runs.end()) return nullptr;
        auto t = r->second.tags.find(tag);
        return t == r->second.tags.end() ? nullptr : &t->second;
    }
    bool listed(const std::string& run, const std::string& tag) const { return find(run, tag) != nullptr; }
    /// The (step, value) points a scalar tag shows.
    std::vector<std::pair<std::int64_t, float>> scalars(const std::string& run, const std::string& tag) const {
        std::vector<std::pair<std::int64_t, float>> out;
        if (const series* s = find(run, tag))
            for (const auto& d : s->data) out.emplace_back(d.step, d.v.has_simple ? d.v.simple : d.v.t.float_val.at(0));
        return out;
    }
    /// The steps a tag of any kind shows.
    std::vector<std::int64_t> steps(const std::string& run, const std::string& tag) const {
        std::vector<std::int64_t> out;
        if (const series* s = find(run, tag))
            for (const auto& d : s->data) out.push_back(d.step);
        return out;
    }
    /// The texts a text tag shows (rank-0 string tensors).
    std::vector<std::string> texts(const std::string& run, const std::string& tag) const {
        std::vector<std::string> out;
        if (const series* s = find(run, tag))
            for (const auto& d : s->data) out.push_back(d.v.t.string_val.empty() ? std::string() : d.v.t.string_val[0]);
        return out;
    }

    /// The same JSON tb_view.py prints from TensorBoard itself (texts as the raw markdown).
    nlohmann::json to_json() const;
};

namespace model_detail {

inline bool is_event_file(const fs::path& p) {
    const std::string n = p.filename().string();
    return n.find("tfevents") != std::string::npos && !(n.size() >= 14 && n.compare(n.size() - 14, 14, ".profile-empty") == 0);
}

struct accumulator {
    run_view view;
    std::int64_t file_version = 0;
    bool seen_start = false;
    std::int64_t most_recent_step = 0;

    void purge(std::int64_t step, const std::vector<std::string>* only_tags) {
        for (auto& kv : view.tags) {
            if (only_tags && std::find(only_tags->begin(), only_tags->end(), kv.first) == only_tags->end()) continue;
            auto& d = kv.second.data;
            d.erase(std::remove_if(d.begin(), d.end(), [&](const datum& x) { return x.step >= step; }), d.end());
        }
    }

    void process(const tbdec::event& e) {
        if (e.has_file_version) {
            const auto colon = e.file_version.find(':');
            file_version = colon == std::string::npos ? 0 : std::stoll(e.file_version.substr(colon + 1));
        }
        if (file_version >= 2) {
            if (e.has_session_log && e.session_status == 1) {
                if (seen_start) purge(e.step, nullptr);
                seen_start = true;
            }
        } else if (e.has_summary && e.step < most_recent_step) {
            std::vector<std::string> tags;
            for (const auto& v : e.values) tags.push_back(v.tag);
            purge(e.step, &tags);
        }
        if (!e.has_summary) return;
        most_recent_step = e.step;
        for (const auto& v : e.values) {
            auto it = view.tags.find(v.tag);
            if (it == view.tags.end()) {
                // data_compat: a simple_value becomes a scalar with "scalars" metadata; else the value's own
                // metadata (first wins); a tensor without metadata belongs to no plugin.
                series s;
                if (v.has_simple) s.plugin = "scalars";
                else if (v.has_metadata) {
                    s.plugin = v.plugin;
                    s.content = v.content;
                }
                if (!v.has_simple && !v.has_metadata && !v.has_tensor) continue;
                it = view.tags.emplace(v.tag, std::move(s)).first;
            }
            if (v.has_simple || v.has_tensor) it->second.data.push_back(datum{e.step, v});
        }
    }
};

inline std::string status_name(std::int64_t s) {
    switch (s) {
        case 1: return "STATUS_SUCCESS";
        case 2: return "STATUS_FAILURE";
        case 3: return "STATUS_RUNNING";
        default: return "STATUS_UNKNOWN";
    }
}

/// The run TensorBoard reads a session's metric from: os.path.normpath(join(session, group)).
inline std::string metric_run(const std::string& session, const std::string& group) {
    if (group.empty()) return session;
    return session == "." ? group : session + "/" + group;
}

/// The longest session that is `run` or a folder above it (TensorBoard's _find_longest_parent_path: the
/// root run "." is never the parent of another run).
inline const std::string* longest_session(const std::set<std::string>& sessions, std::string run) {
    for (;;) {
        auto it = sessions.find(run);
        if (it != sessions.end()) return &*it;
        if (run.empty()) return nullptr;
        const auto slash = run.rfind('/');
        run = slash == std::string::npos ? std::string() : run.substr(0, slash);
    }
}

inline std::string relative_group(const std::string& run, const std::string& session) {
    if (run == session) return "";
    if (session == ".") return run;
    return run.substr(session.size() + 1);
}

}  // namespace model_detail

/// Loads a logdir as TensorBoard would, and computes what each dashboard shows.
inline view load(const fs::path& logdir) {
    using namespace model_detail;
    view out;
    std::map<std::string, std::vector<fs::path>> run_files;
    std::error_code ec;
    auto add = [&](const fs::path& dir) {
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(dir, ec))
            if (e.is_regular_file() && is_event_file(e.path())) files.push_back(e.path());
        if (files.empty()) return;
        std::sort(files.begin(), files.end());
        std::string name = fs::relative(dir, logdir).generic_string();
        if (name.empty()) name = ".";
        run_files[name] = std::move(files);
    };
    add(logdir);
    for (auto it = fs::recursive_directory_iterator(logdir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_directory()) add(it->path());

    std::map<std::string, accumulator> acc;
    for (const auto& kv : run_files) {
        accumulator& a = acc[kv.first];
        for (const auto& f : kv.second)
            for (const auto& e : tbdec::decode_file(f.string()).events) a.process(e);
        out.runs[kv.first] = a.view;
    }

    // ---- dashboards that fail
    bool images_fail = false;
    for (const auto& r : out.runs)
        for (const auto& t : r.second.tags)
            if (t.second.plugin == "images" && t.second.data.empty()) images_fail = true;
    if (images_fail) {
        out.errors.push_back("GET /data/plugin/images/tags: HTTP 500");
        out.errors.push_back("GET /data/plugin/timeseries/tags: HTTP 500");
    }

    // ---- HParams
    std::set<std::string> session_runs;
    std::map<std::string, tbdec::session_start> starts;
    std::map<std::string, tbdec::session_end> ends;
    const tbdec::experiment* declared = nullptr;
    tbdec::experiment declared_value;
    for (const auto& r : out.runs) {
        for (const auto& t : r.second.tags) {
            if (t.second.plugin != "hparams") continue;
            if (t.first == "_hparams_/session_start_info") {
                session_runs.insert(r.first);
                starts[r.first] = tbdec::parse_session_start(t.second.content);
            } else if (t.first == "_hparams_/session_end_info") {
                ends[r.first] = tbdec::parse_session_end(t.second.content);
            } else if (t.first == "_hparams_/experiment" && !declared) {
                declared_value = tbdec::parse_experiment(t.second.content);
                declared = &declared_value;
            }
        }
    }
    struct column {
        std::string name;
        bool differs = false;
    };
    std::vector<column> columns;
    std::vector<std::pair<std::string, std::string>> metrics;  // (group, tag)
    if (declared) {
        for (const auto& h : declared->hparams) {
            columns.push_back({h.name, false});
            if (!h.discrete.empty()) {
                auto& d = out.domains[h.name];
                for (const auto& v : h.discrete)
                    d.push_back(v.kind == tbdec::hp_value::string ? v.string_value
                                : v.kind == tbdec::hp_value::boolean ? (v.bool_value ? "True" : "False")
                                                                     : nlohmann::json(v.number_value).dump());
                std::sort(d.begin(), d.end());
            }
        }
        for (const auto& m : declared->metrics) metrics.emplace_back(m.group, m.tag);
    } else {
        std::map<std::string, std::vector<tbdec::hp_value>> values;
        for (const auto& s : starts)
            for (const auto& h : s.second.hparams) values[h.first].push_back(h.second);
        for (const auto& kv : values) {
            int type = 0;  // 1 string, 2 bool, 3 number
            for (const auto& v : kv.second) {
                const int t = v.kind == tbdec::hp_value::string ? 1 : v.kind == tbdec::hp_value::boolean ? 2
                                                                  : v.kind == tbdec::hp_value::number ? 3 : 0;
                if (!t) continue;
                if (!type) type = t;
                else if (type != t) type = 1;
            }
            if (!type) continue;
            column c{kv.first, false};
            if (type == 1) {
                std::set<std::string> d;
                for (const auto& v : kv.second) {
                    if (v.kind == tbdec::hp_value::string) d.insert(json_escaped(v.string_value));
                    else if (v.kind == tbdec::hp_value::boolean) d.insert(v.bool_value ? "true" : "false");
                    else if (v.kind == tbdec::hp_value::number) d.insert(nlohmann::json(v.number_value).dump());
                }
                c.differs = d.size() > 1;
                out.domains[kv.first] = std::vector<std::string>(d.begin(), d.end());
            } else if (type == 2) {
                std::set<bool> d;
                for (const auto& v : kv.second) d.insert(v.bool_value);
                c.differs = d.size() > 1;
                for (bool b : d) out.domains[kv.first].push_back(b ? "True" : "False");
                std::sort(out.domains[kv.first].begin(), out.domains[kv.first].end());
            } else {
                std::set<double> d;
                for (const auto& v : kv.second) d.insert(v.number_value);
                c.differs = d.size() > 1;
            }
            columns.push_back(c);
        }
        if (!columns.empty()) {
            std::set<std::pair<std::string, std::string>> names;  // (tag, group), sorted as TensorBoard sorts
            for (const auto& r : out.runs) {
                const std::string* s = longest_session(session_runs, r.first);
                if (!s) continue;
                for (const auto& t : r.second.tags)
                    if (t.second.plugin == "scalars") names.emplace(t.first, relative_group(r.first, *s));
            }
            for (const auto& n : names) metrics.emplace_back(n.second, n.first);
        }
    }
    std::stable_sort(columns.begin(), columns.end(), [](const column& a, const column& b) {
        return std::make_pair(!a.differs, a.name) < std::make_pair(!b.differs, b.name);
    });
    for (const auto& c : columns) out.hparam_columns.push_back(c.name);
    for (const auto& m : metrics) out.metric_columns.push_back(m.first + "|" + m.second);

    std::map<std::string, std::map<std::string, tbdec::hp_value>> group_hparams;
    bool steps_fail = false;
    for (const auto& s : starts) {
        session se;
        se.group = s.second.group_name.empty() ? s.first : s.second.group_name;
        auto e = ends.find(s.first);
        if (e != ends.end()) se.status = status_name(e->second.status);
        if (!group_hparams.count(se.group)) group_hparams[se.group] = s.second.hparams;
        for (const auto& m : metrics) {
            const series* sr = out.find(metric_run(s.first, m.first), m.second);
            if (!sr || sr->plugin != "scalars" || sr->data.empty()) continue;
            const auto& last = sr->data.back();
            if (last.step < std::numeric_limits<std::int32_t>::min() || last.step > std::numeric_limits<std::int32_t>::max())
                steps_fail = true;
            se.metrics[m.first + "|" + m.second] = {last.step, last.v.has_simple ? last.v.simple : last.v.t.float_val.at(0)};
        }
        out.sessions[s.first] = se;
    }
    // The dashboard asks for every column, so a row holds only the hparams that are columns.
    for (auto& s : out.sessions)
        for (const auto& h : group_hparams[s.second.group])
            if (std::find(out.hparam_columns.begin(), out.hparam_columns.end(), h.first) != out.hparam_columns.end())
                s.second.hparams.insert(h);
    if (steps_fail) {
        out.errors.push_back("POST /data/plugin/hparams/session_groups: HTTP 500");
        out.sessions.clear();
    }
    return out;
}

inline nlohmann::json view::to_json() const {
    nlohmann::json j;
    j["errors"] = errors;
    const bool images_fail = std::find(errors.begin(), errors.end(), "GET /data/plugin/images/tags: HTTP 500") != errors.end();
    nlohmann::json rs = nlohmann::json::object();
    for (const auto& r : runs) {
        nlohmann::json v = {{"scalars", nlohmann::json::object()}, {"text", nlohmann::json::object()},
                            {"images", nlohmann::json::object()}, {"histograms", nlohmann::json::object()},
                            {"pr_curves", nlohmann::json::object()}};
        bool any = false;
        for (const auto& t : r.second.tags) {
            const std::string& p = t.second.plugin;
            nlohmann::json pts = nlohmann::json::array();
            if (p == "scalars") {
                for (const auto& d : t.second.data) {
                    const float x = d.v.has_simple ? d.v.simple : d.v.t.float_val.at(0);
                    pts.push_back({d.step, std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf")});
                }
                v["scalars"][t.first] = pts;
            } else if (p == "text") {
                for (const auto& d : t.second.data) pts.push_back({d.step, d.v.t.string_val.empty() ? "" : d.v.t.string_val[0]});
                v["text"][t.first] = pts;
            } else if (p == "images") {
                if (images_fail) continue;
                for (const auto& d : t.second.data) pts.push_back({d.step, 1});
                v["images"][t.first] = pts;
            } else if (p == "histograms" || p == "pr_curves") {
                for (const auto& d : t.second.data) pts.push_back(d.step);
                v[p][t.first] = pts;
            } else {
                continue;
            }
            any = true;
        }
        if (any) rs[r.first] = v;
    }
    j["runs"] = rs;
    nlohmann::json hp;
    hp["hparams"] = hparam_columns;
    hp["metrics"] = metric_columns;
    hp["domains"] = domains;
    nlohmann::json ss = nlohmann::json::object();
    for (const auto& s : sessions) {
        nlohmann::json h = nlohmann::json::object();
        for (const auto& kv : s.second.hparams) {
            const auto& x = kv.second;
            if (x.kind == tbdec::hp_value::string) h[kv.first] = x.string_value;
            else if (x.kind == tbdec::hp_value::boolean) h[kv.first] = x.bool_value;
            else if (x.kind == tbdec::hp_value::number && std::isfinite(x.number_value)) h[kv.first] = x.number_value;
        }
        nlohmann::json m = nlohmann::json::object();
        for (const auto& kv : s.second.metrics) m[kv.first] = {kv.second.first, kv.second.second};
        ss[s.first] = {{"group", s.second.group}, {"status", s.second.status}, {"hparams", h}, {"metrics", m}};
    }
    hp["sessions"] = ss;
    j["hparams"] = hp;
    return j;
}

}  // namespace tbmodel
