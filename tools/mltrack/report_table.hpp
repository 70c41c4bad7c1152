// Why: the parts of the report that list runs: the runs table (the `ls` table, each row carrying its run's
// index and each number its exact value, so the script can sort and filter it), the chart legends (every
// run, best first, in a scrolling box, so they stay usable at 100 runs and more) and the controls bar the
// script shows. The table is bounded: at most max_columns param and metric columns each, with a note of
// what was left out, so a run with a million keys still gives a page a browser can open.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment_table.hpp"
#include "report_best.hpp"
#include "report_data.hpp"
#include "report_svg.hpp"

namespace mltrack_cli {
namespace report_detail {

inline std::string state_badge(const std::string& state) {
    return "<span class=\"state " + svg::escape(state) + "\">" + svg::escape(state) + "</span>";
}

inline std::string swatch(const std::string& color) {
    return "<span class=\"swatch\" style=\"background:" + color + "\"></span>";
}

/// The bar the script shows (hidden without it): the filter, smoothing, log-scale y, the highlighted run.
inline const char* const controls =
    "<div id=\"controls\" class=\"controls\" hidden=\"hidden\">"
    "<label>Filter runs <input id=\"filter\" type=\"search\" placeholder=\"name or param, e.g. lr=0.01 adam\"/></label>"
    "<span id=\"shown\" class=\"muted\"></span>"
    "<label>Smoothing <input id=\"smooth\" type=\"range\" min=\"0\" max=\"0.99\" step=\"0.01\" value=\"0\"/> "
    "<output id=\"smooth-value\">0</output></label>"
    "<label><input id=\"logy\" type=\"checkbox\"/> log-scale y</label>"
    "<span id=\"hl-info\"></span><button id=\"clear\" type=\"button\" hidden=\"hidden\">clear highlight</button>"
    "</div>\n";

/// The first `limit` keys (alphabetical) of several maps together, and how many distinct keys they hold.
struct first_keys {
    std::vector<std::string_view> all;  // views into the maps, which outlive this
    std::set<std::string_view> kept;
    std::size_t distinct = 0;

    template <class Map>
    void add(const Map& m) {
        for (const auto& kv : m) all.push_back(kv.first);
    }
    void finish(std::size_t limit) {
        all = distinct_sorted(std::move(all));
        distinct = all.size();
        kept.insert(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(std::min(limit, all.size())));
        all = {};
    }
};

/// A copy of a run's summary with only what the table shows: its identity, state and times, and the params
/// and metrics named in `params` and `metrics`. The table is then bounded by the columns shown, whatever
/// the number of keys the runs hold.
inline mltrack::run_summary table_view(const mltrack::run_summary& s, const std::set<std::string_view>& params,
                                       const std::set<std::string_view>& metrics) {
    mltrack::run_summary t;
    const auto& r = s.run;
    t.run.dir = r.dir;
    t.run.experiment = r.experiment;
    t.run.name = r.name;
    t.run.state = r.state;
    t.run.start_time_ns = r.start_time_ns;
    t.run.end_time_ns = r.end_time_ns;
    t.run.world_size = r.world_size;
    for (auto k : params)
        if (auto it = r.params.find(std::string(k)); it != r.params.end()) t.run.params.insert(*it);
    for (auto k : metrics) {
        if (auto it = r.summary.find(std::string(k)); it != r.summary.end()) t.run.summary.insert(*it);
        if (auto it = s.series.find(k); it != s.series.end()) t.series.insert(*it);
    }
    return t;
}

/// The runs table, and for each run an entry of `runs` for the script: label, name, color and the text the
/// filter searches (label and every shown param as key=value). At most max_columns param columns and
/// max_columns metric columns (the first, alphabetical; the default metric's always), with a note.
inline void runs_table(std::string& h, const report_data& d, nlohmann::json& runs) {
    first_keys params, metrics;
    for (const auto& r : d.runs) {
        params.add(r.summary->run.params);
        metrics.add(r.summary->run.summary);
        metrics.add(r.summary->series);
    }
    params.finish(d.max_columns);
    metrics.finish(d.max_columns);
    if (!d.metric.empty()) metrics.kept.insert(d.metric);
    const std::size_t hidden_params = params.distinct - params.kept.size();
    const std::size_t hidden_metrics = metrics.distinct - std::min(metrics.distinct, metrics.kept.size());
    std::vector<mltrack::run_summary> views;
    views.reserve(d.runs.size());
    for (const auto& r : d.runs) views.push_back(table_view(*r.summary, params.kept, metrics.kept));
    std::vector<const mltrack::run_summary*> sums;
    for (const auto& v : views) sums.push_back(&v);
    const auto t = build_table(sums);
    const bool lower = lower_is_better(d.metric);
    h += "<section id=\"runs\"><h2>Runs (" + std::to_string(t.rows.size()) + ")</h2>";
    h += "<p class=\"muted\">Click a column to sort (the table opens sorted by " +
         svg::escape(d.metric.empty() ? "run order" : d.metric + ", best first") +
         "); hover or click a run to highlight it in every chart.</p>";
    h += "<div class=\"scroll\"><table class=\"runs\"";
    if (!d.metric.empty())
        h += " data-sort=\"" + svg::escape("metric." + d.metric) + "\" data-desc=\"" + (lower ? "0" : "1") + "\"";
    h += "><thead><tr>";
    for (const auto& c : t.columns) h += "<th>" + svg::escape(c.name) + "</th>";
    h += "</tr></thead><tbody>";
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
        const auto& run = d.runs[r];
        h += "<tr data-run=\"" + std::to_string(r) + "\">";
        std::string search = run.label;
        for (std::size_t c = 0; c < t.columns.size(); ++c) {
            const auto role = t.columns[c].role;
            const auto& cellv = t.rows[r][c];
            const std::string text = short_text(cellv, role);
            double x = 0;
            const bool num = role != column_role::time && numeric_value(cellv, role, x);
            if (num) h += "<td class=\"num\" data-v=\"" + svg::escape(exact_number(x)) + "\">";
            else if (role == column_role::time && !is_missing(cellv))
                h += "<td data-v=\"" + std::to_string(std::get<std::int64_t>(cellv)) + "\">";
            else h += "<td>";
            if (c == 0) h += swatch(run.color);
            if (t.columns[c].name == "state") h += state_badge(text);
            else h += svg::escape(text);
            h += "</td>";
            if (t.columns[c].name.rfind("param.", 0) == 0 && !is_missing(cellv))
                search += " " + t.columns[c].name.substr(6) + "=" + exact_text(cellv, role);
        }
        h += "</tr>";
        runs.push_back({{"label", svg::clean(run.label)},
                        {"name", svg::clean(run.summary->run.name)},
                        {"color", run.color},
                        {"search", svg::clean(search)}});
    }
    h += "</tbody></table></div>";
    if (hidden_params + hidden_metrics > 0)
        h += "<p class=\"note\">" + std::to_string(hidden_params) + " param and " + std::to_string(hidden_metrics) +
             " metric columns not shown (the first " + std::to_string(d.max_columns) +
             " of each, alphabetical; --max-columns raises the limit).</p>";
    h += "</section>";
}

struct legend_item {
    int run = -1;
    std::string label;
    std::string color;
    double value = NAN;  ///< the run's value of the chart's metric
};

/// A chart's legend: every run, best first (runs without a value last), in a box that scrolls.
inline void legend(std::string& h, std::vector<legend_item> items, bool lower) {
    std::stable_sort(items.begin(), items.end(), [&](const legend_item& a, const legend_item& b) {
        if (std::isnan(b.value)) return !std::isnan(a.value);
        return !std::isnan(a.value) && better(a.value, b.value, lower);
    });
    h += "<div class=\"legend\"><div class=\"head\">" + std::to_string(items.size()) + " run" +
         (items.size() == 1 ? "" : "s") + (items.size() > 1 ? ", best first" : "") + "</div><div class=\"items\">";
    for (const auto& it : items) {
        h += "<span class=\"item\" data-run=\"" + std::to_string(it.run) + "\">" + swatch(it.color) +
             svg::escape(it.label);
        if (!std::isnan(it.value)) h += "<span class=\"v\">" + svg::escape(short_number(it.value)) + "</span>";
        h += "</span> ";
    }
    h += "</div></div>";
}

}  // namespace report_detail
}  // namespace mltrack_cli
