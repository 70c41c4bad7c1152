// Why: `ls` and `report` show the same experiment table as the Vertex AI SDK's get_experiment_df(): one row
// per run with experiment, run, state, start, duration, then a `param.<key>` column per param and a
// `metric.<key>` column per metric (the latest summary value, else the last time-series value). Cells keep
// their type, so sorting and filtering compare numbers as numbers, and each output format writes them its
// own way (compact for people, exact for CSV and JSON).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include <mltrack/search.hpp>
#include <mltrack/summary.hpp>

#include "csv.hpp"
#include "table.hpp"
#include "text.hpp"

namespace mltrack_cli {

// The cell types and their comparison rules are the library's (search.hpp), so `ls --filter/--sort` and
// mltrack::search_runs agree.
using column_role = mltrack::column_kind;
using cell = mltrack::column_value;
using mltrack::exact_text;
using mltrack::is_missing;
using mltrack::numeric_value;

struct column {
    std::string name;
    column_role role = column_role::text;
};

struct experiment_table {
    std::vector<column> columns;
    std::vector<std::vector<cell>> rows;

    /// Index of a column by name, or -1.
    int find(const std::string& name) const {
        for (std::size_t i = 0; i < columns.size(); ++i)
            if (columns[i].name == name) return static_cast<int>(i);
        return -1;
    }
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& c : columns) out.push_back(c.name);
        return out;
    }
};

/// The metric value a run shows in its metric.<key> column: the summary value, else the series' last.
inline std::map<std::string, double> latest_metrics(const mltrack::run_summary& s) {
    std::map<std::string, double> out;
    for (const auto& kv : s.series) out[kv.first] = kv.second.last;
    for (const auto& kv : s.run.summary) out[kv.first] = kv.second;
    return out;
}

/// Builds the table from runs (in the order given).
inline experiment_table build_table(const std::vector<const mltrack::run_summary*>& runs) {
    experiment_table t;
    t.columns = {{"experiment", column_role::text},
                 {"run", column_role::text},
                 {"state", column_role::text},
                 {"start", column_role::time},
                 {"duration", column_role::duration}};
    // A "ranks" column (the job's world size) only when some run was logged by a multi-rank job; its
    // param and metric columns are rank 0's (`mltrack show` lists every rank).
    bool multi_rank = false;
    for (const auto* s : runs) multi_rank = multi_rank || s->run.world_size > 1;
    if (multi_rank) t.columns.push_back({"ranks", column_role::param});
    std::set<std::string> params, metrics;
    std::vector<std::map<std::string, double>> latest;
    for (const auto* s : runs) {
        for (const auto& kv : s->run.params) params.insert(kv.first);
        latest.push_back(latest_metrics(*s));
        for (const auto& kv : latest.back()) metrics.insert(kv.first);
    }
    for (const auto& p : params) t.columns.push_back({"param." + p, column_role::param});
    for (const auto& m : metrics) t.columns.push_back({"metric." + m, column_role::metric});
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const auto& r = runs[i]->run;
        std::vector<cell> row;
        row.emplace_back(r.experiment);
        row.emplace_back(r.name);
        row.emplace_back(std::string(mltrack::to_string(r.state)));
        row.emplace_back(r.start_time_ns);
        if (r.end_time_ns != 0) row.emplace_back(r.end_time_ns - r.start_time_ns);
        else row.emplace_back(std::monostate{});
        // Params are built in place in their cell: GCC 12 at -O2 warned (-Wmaybe-uninitialized) about
        // moving a temporary param_value (a variant) into the cell variant.
        if (multi_rank) row.emplace_back(std::in_place_type<mltrack::param_value>, std::int64_t{r.world_size});
        for (const auto& p : params) {
            auto it = r.params.find(p);
            if (it == r.params.end()) row.emplace_back(std::monostate{});
            else row.emplace_back(std::in_place_type<mltrack::param_value>, it->second);
        }
        for (const auto& m : metrics) {
            auto it = latest[i].find(m);
            if (it == latest[i].end()) row.emplace_back(std::monostate{});
            else row.emplace_back(it->second);
        }
        t.rows.push_back(std::move(row));
    }
    return t;
}

/// The compact text of a cell (aligned tables).
inline std::string short_text(const cell& c, column_role role) {
    if (auto s = std::get_if<std::string>(&c)) return *s;
    if (auto n = std::get_if<std::int64_t>(&c))
        return role == column_role::time ? short_time(*n) : short_duration(*n);
    if (auto d = std::get_if<double>(&c)) return short_number(*d);
    if (auto p = std::get_if<mltrack::param_value>(&c)) return short_param(*p);
    return {};
}

/// The JSON value of a cell: typed params, numbers, ISO times, durations in seconds, null when missing.
inline nlohmann::ordered_json json_value(const cell& c, column_role role) {
    if (auto s = std::get_if<std::string>(&c)) return *s;
    if (auto n = std::get_if<std::int64_t>(&c)) {
        if (role == column_role::time) return iso_time(*n);
        return duration_seconds(*n);
    }
    if (auto d = std::get_if<double>(&c)) return json_number(*d);
    if (auto p = std::get_if<mltrack::param_value>(&c)) return json_param(*p);
    return nullptr;
}

// ---- output

inline void write_aligned(output& out, const experiment_table& t) {
    text_table tt;
    tt.header = t.names();
    tt.right.resize(t.columns.size(), false);
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
        const auto role = t.columns[c].role;
        bool numeric = role == column_role::duration || role == column_role::metric || role == column_role::param;
        if (role == column_role::param) {
            double x = 0;
            for (const auto& row : t.rows)
                if (!is_missing(row[c]) && !numeric_value(row[c], role, x)) numeric = false;
        }
        tt.right[c] = numeric;
    }
    for (const auto& row : t.rows) {
        std::vector<std::string> cells;
        for (std::size_t c = 0; c < row.size(); ++c) cells.push_back(short_text(row[c], t.columns[c].role));
        tt.rows.push_back(std::move(cells));
    }
    tt.write(out);
}

inline void write_csv(output& out, const experiment_table& t) {
    append_csv_row(out.buffer(), t.names());
    for (const auto& row : t.rows) {
        std::vector<std::string> cells;
        for (std::size_t c = 0; c < row.size(); ++c) cells.push_back(exact_text(row[c], t.columns[c].role));
        append_csv_row(out.buffer(), cells);
        out.maybe_flush();
    }
}

/// A JSON array with one object per run, keys in column order, null for missing cells.
inline void write_json(output& out, const experiment_table& t) {
    out << "[";
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
        nlohmann::ordered_json o = nlohmann::ordered_json::object();
        for (std::size_t c = 0; c < t.columns.size(); ++c)
            o[t.columns[c].name] = json_value(t.rows[r][c], t.columns[c].role);
        out << (r ? ",\n  " : "\n  ") << o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        out.maybe_flush();
    }
    out << (t.rows.empty() ? "]\n" : "\n]\n");
}

}  // namespace mltrack_cli
