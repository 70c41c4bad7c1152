// Why: `mltrack report` writes one HTML file that anyone can open anywhere, offline: no script, no font,
// no stylesheet or image from elsewhere. It shows, in order: the runs table (the `ls` table, each run with
// its color), one line chart per time series with every run overlaid, a scatter of each param against one
// chosen metric, and each run's confusion matrices (with its ROC curve). The markup is well-formed XML.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <mltrack/summary.hpp>
#include <mltrack/version.hpp>

#include "experiment_table.hpp"
#include "report_svg.hpp"
#include "roc.hpp"

namespace mltrack_cli {

/// Keeps at most about 2*cap points of a series in order, by doubling a stride, and always the last point.
struct decimated_series {
    std::vector<std::pair<double, double>> points;
    std::size_t stride = 1;
    std::size_t seen = 0;
    std::pair<double, double> last{0, 0};

    void add(double x, double y, std::size_t cap) {
        last = {x, y};
        if (seen++ % stride != 0) return;
        points.emplace_back(x, y);
        if (points.size() >= 2 * cap) {
            std::size_t k = 0;
            for (std::size_t i = 0; i < points.size(); i += 2) points[k++] = points[i];
            points.resize(k);
            stride *= 2;
        }
    }
    /// The points to draw (the last point appended when the stride skipped it).
    std::vector<std::pair<double, double>> finish() const {
        auto out = points;
        if (seen && (out.empty() || out.back() != last)) out.push_back(last);
        return out;
    }
};

/// One run of the report.
struct report_run {
    const mltrack::run_summary* summary = nullptr;
    std::string label;  ///< "experiment/run"
    std::string color;
    std::map<std::string, decimated_series, std::less<>> series;
};

struct report_data {
    std::string title;                   ///< the root as given on the command line
    std::vector<report_run> runs;
    std::string metric;                  ///< the metric of the scatter charts ("" when there is none)
    std::vector<std::string> params;     ///< params to scatter (empty: all)
    std::size_t max_matrices = 100;
    std::vector<std::string> problems;   ///< runs left out, lines skipped
};

namespace report_detail {

inline const char* const css = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#1d2b3a;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:20px;font-weight:600}
header p{margin:4px 0 0;color:#c9d4df;font-size:13px}
nav{padding:8px 24px;background:#eef1f4;font-size:13px}
nav a{margin-right:16px;color:#1f5f99;text-decoration:none}
section{padding:8px 24px 16px}
h2{font-size:17px;margin:16px 0 8px;border-bottom:1px solid #d8dde3;padding-bottom:4px}
.scroll{overflow:auto;max-height:560px;border:1px solid #dde2e7}
thead th{position:sticky;top:0;z-index:1}
table{border-collapse:collapse;font-size:12.5px;background:#fff}
th,td{border:1px solid #dde2e7;padding:3px 8px;white-space:nowrap}
th{background:#f0f3f6;text-align:left;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
.state{font-size:11px;padding:1px 6px;border-radius:8px;color:#fff}
.COMPLETE{background:#2e8540}.FAILED{background:#c0392b}.RUNNING{background:#1f6fb2}.CANCELLED{background:#7f8c8d}
.grid{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;background:#fff;border:1px solid #dde2e7;border-radius:6px;padding:8px}
figcaption{font-size:13px;font-weight:600;margin-bottom:4px}
svg.chart{display:block}
svg .grid{stroke:#eceff2;stroke-width:1}
svg .plot{fill:none;stroke:#b8c0c8;stroke-width:1}
svg .tick{font-size:10.5px;fill:#5b6670}
svg .label{font-size:11.5px;fill:#333}
svg .series{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
svg .dot{stroke:#fff;stroke-width:1}
.legend{font-size:11.5px;max-width:560px;margin-top:4px;line-height:1.6}
.legend span.item{margin-right:12px;white-space:nowrap}
table.cm td{text-align:right;min-width:36px}
.muted{color:#6b7680;font-size:12.5px}
footer{padding:16px 24px;color:#8a949e;font-size:12px}
)";

inline std::string state_badge(const std::string& state) {
    return "<span class=\"state " + svg::escape(state) + "\">" + svg::escape(state) + "</span>";
}

inline std::string swatch(const std::string& color) {
    return "<span class=\"swatch\" style=\"background:" + color + "\"></span>";
}

inline void runs_table(std::string& h, const report_data& d) {
    std::vector<const mltrack::run_summary*> sums;
    for (const auto& r : d.runs) sums.push_back(r.summary);
    const auto t = build_table(sums);
    h += "<section id=\"runs\"><h2>Runs (" + std::to_string(t.rows.size()) + ")</h2><div class=\"scroll\"><table class=\"runs\"><thead><tr>";
    for (const auto& c : t.columns) h += "<th>" + svg::escape(c.name) + "</th>";
    h += "</tr></thead><tbody>";
    for (std::size_t r = 0; r < t.rows.size(); ++r) {
        h += "<tr>";
        for (std::size_t c = 0; c < t.columns.size(); ++c) {
            const auto role = t.columns[c].role;
            const std::string text = short_text(t.rows[r][c], role);
            double x = 0;
            const bool num = role != column_role::time && numeric_value(t.rows[r][c], role, x);
            h += num ? "<td class=\"num\">" : "<td>";
            if (c == 0) h += swatch(d.runs[r].color);
            if (t.columns[c].name == "state") h += state_badge(text);
            else h += svg::escape(text);
            h += "</td>";
        }
        h += "</tr>";
    }
    h += "</tbody></table></div></section>";
}

inline void legend(std::string& h, const std::vector<std::pair<std::string, std::string>>& items) {
    const std::size_t shown = std::min<std::size_t>(items.size(), 24);
    h += "<div class=\"legend\">";
    for (std::size_t i = 0; i < shown; ++i)
        h += "<span class=\"item\">" + swatch(items[i].second) + svg::escape(items[i].first) + "</span> ";
    if (shown < items.size())
        h += "<span class=\"muted\">and " + std::to_string(items.size() - shown) + " more runs (hover a line)</span>";
    h += "</div>";
}

inline void metric_charts(std::string& h, const report_data& d) {
    std::set<std::string> keys;
    for (const auto& r : d.runs)
        for (const auto& kv : r.series) keys.insert(kv.first);
    h += "<section id=\"metrics\"><h2>Time series (" + std::to_string(keys.size()) + ")</h2>";
    if (keys.empty()) h += "<p class=\"muted\">No run logged a time series.</p>";
    h += "<div class=\"grid\">";
    for (const auto& key : keys) {
        std::vector<svg::line> lines;
        std::vector<std::pair<std::string, std::string>> items;
        for (const auto& r : d.runs) {
            auto it = r.series.find(key);
            if (it == r.series.end()) continue;
            lines.push_back(svg::line{r.label, r.color, it->second.finish()});
            items.emplace_back(r.label, r.color);
        }
        h += "<figure><figcaption>" + svg::escape(key) + "</figcaption>";
        h += svg::line_chart(key + " by step", "step", key, lines);
        legend(h, items);
        h += "</figure>";
    }
    h += "</div></section>";
}

inline void param_scatters(std::string& h, const report_data& d) {
    h += "<section id=\"params\"><h2>Params vs " + svg::escape(d.metric.empty() ? "metric" : d.metric) + "</h2>";
    if (d.metric.empty()) {
        h += "<p class=\"muted\">No metric to compare params with.</p></section>";
        return;
    }
    std::set<std::string> keys;
    for (const auto& r : d.runs)
        for (const auto& kv : r.summary->run.params) keys.insert(kv.first);
    if (!d.params.empty()) keys = std::set<std::string>(d.params.begin(), d.params.end());
    h += "<p class=\"muted\">One dot per run: the param's value against the run's " + svg::escape(d.metric) +
         " (the latest summary value, else the last time-series value). Hover a dot for the run.</p><div class=\"grid\">";
    std::size_t charts = 0;
    std::vector<std::string> constant;  // params with one value in every run: nothing to compare
    for (const auto& key : keys) {
        struct entry {
            const report_run* run;
            mltrack::param_value value;
            double metric;
        };
        std::vector<entry> es;
        bool numeric = true;
        for (const auto& r : d.runs) {
            auto p = r.summary->run.params.find(key);
            if (p == r.summary->run.params.end()) continue;
            const auto latest = latest_metrics(*r.summary);
            auto m = latest.find(d.metric);
            if (m == latest.end() || !std::isfinite(m->second)) continue;
            es.push_back({&r, p->second, m->second});
            numeric = numeric && (p->second.is_int() || p->second.is_double());
        }
        if (es.empty()) continue;
        if (es.size() > 1 && std::all_of(es.begin(), es.end(), [&](const entry& e) { return e.value == es[0].value; })) {
            constant.push_back(key + "=" + es[0].value.to_text());
            continue;
        }
        std::vector<svg::point> pts;
        std::vector<std::string> categories;
        bool log_x = false;
        if (numeric) {
            double lo = INFINITY, hi = -INFINITY;
            for (const auto& e : es) lo = std::min(lo, e.value.as_double()), hi = std::max(hi, e.value.as_double());
            log_x = lo > 0 && hi / lo >= 100;
            for (const auto& e : es)
                pts.push_back({e.value.as_double(), e.metric, e.run->color,
                               e.run->label + ": " + key + "=" + e.value.to_text() + ", " + d.metric + "=" +
                                   exact_number(e.metric)});
        } else {
            std::set<std::string> distinct;
            for (const auto& e : es) distinct.insert(e.value.to_text());
            if (distinct.size() > 30) continue;
            categories.assign(distinct.begin(), distinct.end());
            for (const auto& e : es) {
                const auto at = std::find(categories.begin(), categories.end(), e.value.to_text()) - categories.begin();
                pts.push_back({static_cast<double>(at), e.metric, e.run->color,
                               e.run->label + ": " + key + "=" + e.value.to_text() + ", " + d.metric + "=" +
                                   exact_number(e.metric)});
            }
        }
        svg::frame f;
        f.w = 380;
        f.h = 280;
        h += "<figure><figcaption>" + svg::escape(key) + (log_x ? " (log scale)" : "") + "</figcaption>";
        h += svg::scatter_chart(key + " vs " + d.metric, "param." + key, d.metric, pts, categories, log_x, f);
        h += "</figure>";
        ++charts;
    }
    h += "</div>";
    if (charts == 0 && constant.empty())
        h += "<p class=\"muted\">No run has both a param and " + svg::escape(d.metric) + ".</p>";
    if (!constant.empty()) {
        std::string list;
        for (const auto& c : constant) list += (list.empty() ? "" : ", ") + c;
        h += "<p class=\"muted\">Same in every run (not drawn): " + svg::escape(list) + ".</p>";
    }
    h += "</section>";
}

inline void confusion_matrices(std::string& h, const report_data& d) {
    std::size_t total = 0;
    for (const auto& r : d.runs) total += r.summary->run.classifications.size();
    h += "<section id=\"classification\"><h2>Classification (" + std::to_string(total) + ")</h2>";
    if (total == 0) {
        h += "<p class=\"muted\">No run logged classification metrics.</p></section>";
        return;
    }
    h += "<p class=\"muted\">Rows: true class; columns: predicted class; shading: share of the row.</p><div class=\"grid\">";
    std::size_t shown = 0;
    for (const auto& r : d.runs) {
        std::size_t k = 0;
        for (const auto& c : r.summary->run.classifications) {
            ++k;
            if (shown >= d.max_matrices) break;
            ++shown;
            const std::string name = c.display_name.empty() ? "#" + std::to_string(k) : c.display_name;
            h += "<figure><figcaption>" + swatch(r.color) + svg::escape(r.label) + " &#183; " + svg::escape(name) +
                 "</figcaption>";
            if (!c.labels.empty()) {
                h += "<table class=\"cm\"><thead><tr><th>true \\ predicted</th>";
                for (const auto& l : c.labels) h += "<th>" + svg::escape(l) + "</th>";
                h += "</tr></thead><tbody>";
                for (std::size_t i = 0; i < c.matrix.size(); ++i) {
                    std::int64_t sum = 0;
                    for (auto v : c.matrix[i]) sum += v;
                    h += "<tr><th>" + svg::escape(i < c.labels.size() ? c.labels[i] : "?") + "</th>";
                    for (auto v : c.matrix[i]) {
                        const double share = sum > 0 ? static_cast<double>(v) / static_cast<double>(sum) : 0.0;
                        char style[96];
                        std::snprintf(style, sizeof style, "background:rgba(31,119,180,%.3f);color:%s", share,
                                      share > 0.55 ? "#fff" : "#1d1d1f");
                        h += "<td style=\"" + std::string(style) + "\">" + std::to_string(v) + "</td>";
                    }
                    h += "</tr>";
                }
                h += "</tbody></table>";
            }
            // The curve as roc_auc integrates it (corners added), on the unit square, with the diagonal of
            // a classifier that guesses.
            const auto roc = roc_curve(c.fpr, c.tpr);
            if (!roc.empty()) {
                const double auc = roc_auc(c.fpr, c.tpr);
                svg::frame f;
                f.w = 280;
                f.h = 240;
                h += svg::line_chart("ROC of " + r.label + " " + name, "false positive rate", "true positive rate",
                                     {svg::line{"chance, AUC 0.5", "#b8c0c8", {{0.0, 0.0}, {1.0, 1.0}}},
                                      svg::line{r.label + " ROC, AUC " + short_number(auc), r.color, roc}},
                                     f, svg::domain{});
                h += "<div class=\"legend\">ROC AUC " + svg::escape(short_number(auc)) + "</div>";
            }
            h += "</figure>";
        }
    }
    h += "</div>";
    if (shown < total)
        h += "<p class=\"muted\">" + std::to_string(total - shown) +
             " more not shown (--max-matrices raises the limit).</p>";
    h += "</section>";
}

}  // namespace report_detail

/// The whole HTML page.
inline std::string render_report(const report_data& d) {
    using namespace report_detail;
    std::map<std::string, int> states;
    std::set<std::string> experiments;
    for (const auto& r : d.runs) {
        ++states[mltrack::to_string(r.summary->run.state)];
        experiments.insert(r.summary->run.experiment);
    }
    std::string meta = std::to_string(d.runs.size()) + " run" + (d.runs.size() == 1 ? "" : "s") + " in " +
                       std::to_string(experiments.size()) + " experiment" + (experiments.size() == 1 ? "" : "s");
    for (const auto& kv : states) meta += " \xC2\xB7 " + std::to_string(kv.second) + " " + kv.first;

    std::string h;
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>";
    h += "<title>mltrack report: " + svg::escape(d.title) + "</title><style>" + css + "</style></head><body>\n";
    h += "<header><h1>mltrack report: " + svg::escape(d.title) + "</h1><p>" + svg::escape(meta) + "</p></header>\n";
    h += "<nav><a href=\"#runs\">Runs</a><a href=\"#metrics\">Time series</a><a href=\"#params\">Params</a>"
         "<a href=\"#classification\">Classification</a>";
    if (!d.problems.empty()) h += "<a href=\"#problems\">Problems (" + std::to_string(d.problems.size()) + ")</a>";
    h += "</nav>\n";
    runs_table(h, d);
    h += "\n";
    metric_charts(h, d);
    h += "\n";
    param_scatters(h, d);
    h += "\n";
    confusion_matrices(h, d);
    h += "\n";
    if (!d.problems.empty()) {
        h += "<section id=\"problems\"><h2>Problems (" + std::to_string(d.problems.size()) + ")</h2><ul>";
        for (const auto& p : d.problems) h += "<li>" + svg::escape(p) + "</li>";
        h += "</ul></section>\n";
    }
    h += "<footer>Written by mltrack " MLTRACK_VERSION_STRING
         " from the runs' JSONL files. Self-contained: no script, nothing loaded from elsewhere.</footer>\n";
    h += "</body></html>\n";
    return h;
}

}  // namespace mltrack_cli
