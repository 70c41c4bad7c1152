// Why: `mltrack report` writes one HTML file that anyone can open anywhere, offline: its style and script
// are inline, and no font, stylesheet, script or image comes from elsewhere. It shows, in order: the runs
// table (the `ls` table, each run with its color), one line chart per time series with every run overlaid
// and the best run marked, parallel coordinates and a scatter per param against one metric, and each run's
// confusion matrices (with its ROC curve). The charts are drawn here as SVG, so the page reads without its
// script; the script (report_js.hpp) adds smoothing, log-scale y, sorting, filtering and highlighting, and
// redraws the line charts from the data embedded as JSON. The markup is well-formed XML.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <mltrack/summary.hpp>
#include <mltrack/version.hpp>

#include "experiment_table.hpp"
#include "report_best.hpp"
#include "report_data.hpp"
#include "report_js.hpp"
#include "report_parallel.hpp"
#include "report_svg.hpp"
#include "report_table.hpp"
#include "roc.hpp"

namespace mltrack_cli {

namespace report_detail {

inline const char* const css = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#1d2b3a;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:20px;font-weight:600}
header p{margin:4px 0 0;color:#c9d4df;font-size:13px}
nav{padding:8px 24px;background:#eef1f4;font-size:13px}
nav a{margin-right:16px;color:#1f5f99;text-decoration:none}
.controls{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid #d8dde3;padding:8px 24px;font-size:13px;display:flex;flex-wrap:wrap;gap:18px;align-items:center}
.controls[hidden]{display:none}
.controls input[type=search]{width:220px}
#hl-info{font-weight:600}
section{padding:8px 24px 16px}
h2{font-size:17px;margin:16px 0 8px;border-bottom:1px solid #d8dde3;padding-bottom:4px}
.scroll{overflow:auto;max-height:560px;border:1px solid #dde2e7}
thead th{position:sticky;top:0;z-index:1}
table{border-collapse:collapse;font-size:12.5px;background:#fff}
th,td{border:1px solid #dde2e7;padding:3px 8px;white-space:nowrap}
th{background:#f0f3f6;text-align:left;font-weight:600}
table.runs th{cursor:pointer;user-select:none}
table.runs th.asc::after{content:" \25B2";font-size:9px}
table.runs th.desc::after{content:" \25BC";font-size:9px}
table.runs tbody tr{cursor:pointer}
table.runs tbody tr:hover,table.runs tbody tr.on{background:#fff3c4}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
.state{font-size:11px;padding:1px 6px;border-radius:8px;color:#fff}
.COMPLETE{background:#2e8540}.FAILED{background:#c0392b}.RUNNING{background:#1f6fb2}.CANCELLED{background:#7f8c8d}
.grid{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;background:#fff;border:1px solid #dde2e7;border-radius:6px;padding:8px}
figcaption{font-size:13px;font-weight:600;margin-bottom:4px}
figcaption .muted{font-weight:400}
svg.chart{display:block}
svg .grid{stroke:#eceff2;stroke-width:1}
svg .plot{fill:none;stroke:#b8c0c8;stroke-width:1}
svg .tick{font-size:10.5px;fill:#5b6670}
svg .label{font-size:11.5px;fill:#333}
svg .series{fill:none;stroke-width:1.6;stroke-linejoin:round;stroke-linecap:round}
svg .series.raw{stroke-width:1;opacity:.25}
svg .dot{stroke:#fff;stroke-width:1}
svg .best{fill:none;stroke-width:2.5}
svg .paxis{stroke:#8a949e;stroke-width:1}
svg .pline{fill:none;stroke-width:1.4;opacity:.75}
svg.parallel text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.hl svg [data-run]:not(.on){opacity:.08}
.hl svg .series.on,.hl svg .pline.on{stroke-width:3.2;opacity:1}
.hl .legend .item[data-run]:not(.on){opacity:.35}
.off,.legend .item.off{display:none}
.legend{font-size:11.5px;max-width:560px;margin-top:4px}
.legend .head{color:#6b7680}
.legend .items{max-height:84px;overflow-y:auto;line-height:1.6;border-top:1px solid #eceff2}
.legend .item{margin-right:12px;white-space:nowrap;cursor:pointer;display:inline-block}
.legend .item .v{color:#6b7680;margin-left:4px}
.note{font-size:12px;color:#a03c00;min-height:0}
table.cm td{text-align:right;min-width:36px}
.muted{color:#6b7680;font-size:12.5px}
footer{padding:16px 24px;color:#8a949e;font-size:12px}
)";

inline double metric_of(const report_run& r, const std::string& key) { return r.metric(key); }

/// Text made safe for the embedded JSON: clean UTF-8 (report_svg.hpp's clean()).
inline std::string json_text(const std::string& s) { return svg::clean(s); }

/// The JSON of the page's data, safe inside a <script> element and an XML document: '<', '>' and '&' as
/// \u escapes (they only occur inside strings), "://" as ":\/\/".
inline std::string embed_json(const nlohmann::json& j) {
    const std::string raw = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '<') out += "\\u003c";
        else if (c == '>') out += "\\u003e";
        else if (c == '&') out += "\\u0026";
        else if (c == '/' && i >= 1 && raw[i - 1] == ':' && i + 1 < raw.size() && raw[i + 1] == '/') out += "\\/\\/", ++i;
        else out += c;
    }
    return out;
}

/// One line chart per time series (the first max_charts keys, alphabetical), the best run marked, with a
/// legend best first; adds each chart's points to `charts` for the script.
inline void metric_charts(std::string& h, const report_data& d, std::size_t total_keys, nlohmann::json& charts) {
    std::set<std::string> keys;
    for (const auto& r : d.runs)
        for (const auto& kv : r.series) keys.insert(kv.first);
    std::vector<std::string> drawn(keys.begin(), keys.end());
    if (drawn.size() > d.max_charts) drawn.resize(d.max_charts);
    h += "<section id=\"metrics\"><h2>Time series (" + std::to_string(total_keys) + ")</h2>";
    if (total_keys == 0) h += "<p class=\"muted\">No run logged a time series.</p>";
    if (drawn.size() < total_keys)
        h += "<p class=\"note\">" + std::to_string(total_keys - drawn.size()) + " of " + std::to_string(total_keys) +
             " time series not drawn: charts for the first " + std::to_string(drawn.size()) +
             " keys (alphabetical); --max-charts raises the limit.</p>";
    h += "<div class=\"grid\">";
    for (const auto& key : drawn) {
        const bool lower = lower_is_better(key);
        std::vector<svg::line> lines;
        std::vector<double> values;
        nlohmann::json jl = nlohmann::json::array();
        for (std::size_t i = 0; i < d.runs.size(); ++i) {
            const auto& r = d.runs[i];
            auto it = r.series.find(key);
            if (it == r.series.end()) continue;
            lines.push_back(svg::line{r.label, r.color, it->second.finish(), static_cast<int>(i)});
            values.push_back(metric_of(r, key));
            nlohmann::json xs = nlohmann::json::array(), ys = nlohmann::json::array();
            for (const auto& p : lines.back().points) {
                xs.push_back(p.first);
                ys.push_back(std::isfinite(p.second) ? nlohmann::json(p.second) : nlohmann::json());
            }
            jl.push_back({{"run", i}, {"x", std::move(xs)}, {"y", std::move(ys)}});
        }
        const int best = best_index(values, lower);
        if (best >= 0) lines[static_cast<std::size_t>(best)].best = true;
        const int best_run = best >= 0 ? lines[static_cast<std::size_t>(best)].run : -1;
        charts.push_back({{"key", json_text(key)}, {"lower", lower}, {"best", best_run}, {"lines", std::move(jl)}});
        h += "<figure class=\"line\" data-chart=\"" + std::to_string(charts.size() - 1) + "\"><figcaption>" +
             svg::escape(key) + " <span class=\"muted\">" + (lower ? "lower" : "higher") + " is better";
        if (best >= 0)
            h += " &#183; best: " + svg::escape(lines[static_cast<std::size_t>(best)].label) + " (" +
                 svg::escape(short_number(values[static_cast<std::size_t>(best)])) + ")";
        h += "</span></figcaption>";
        h += svg::line_chart(key + " by step", "step", key, lines);
        h += "<div class=\"note\"></div>";
        std::vector<legend_item> items;
        for (std::size_t k = 0; k < lines.size(); ++k) items.push_back({lines[k].run, lines[k].label, lines[k].color, values[k]});
        legend(h, std::move(items), lower);
        h += "</figure>";
    }
    h += "</div></section>";
}

/// The params of the param charts: --param, else every param some run has (sorted).
inline std::vector<std::string> param_keys(const report_data& d) {
    if (!d.params.empty()) return d.params;
    std::set<std::string> keys;
    for (const auto& r : d.runs)
        for (const auto& kv : r.summary->run.params) keys.insert(kv.first);
    return {keys.begin(), keys.end()};
}

/// Parallel coordinates of the params that vary (at most 12) and the metric, then a scatter per param.
inline void param_charts(std::string& h, const report_data& d) {
    h += "<section id=\"params\"><h2>Params vs " + svg::escape(d.metric.empty() ? "metric" : d.metric) + "</h2>";
    if (d.metric.empty()) {
        h += "<p class=\"muted\">No metric to compare params with.</p></section>";
        return;
    }
    const bool lower = lower_is_better(d.metric);
    struct entry {
        const report_run* run;
        int index;
        mltrack::param_value value;
        double metric;
    };
    std::vector<std::string> varying, constant;  // constant: one value in every run, nothing to compare
    std::vector<std::vector<entry>> per_key;
    for (const auto& key : param_keys(d)) {
        std::vector<entry> es;
        for (std::size_t i = 0; i < d.runs.size(); ++i) {
            const auto& r = d.runs[i];
            auto p = r.summary->run.params.find(key);
            const double m = metric_of(r, d.metric);
            if (p == r.summary->run.params.end() || !std::isfinite(m)) continue;
            es.push_back({&r, static_cast<int>(i), p->second, m});
        }
        if (es.empty()) continue;
        if (es.size() > 1 && std::all_of(es.begin(), es.end(), [&](const entry& e) { return e.value == es[0].value; })) {
            constant.push_back(key + "=" + es[0].value.to_text());
            continue;
        }
        varying.push_back(key);
        per_key.push_back(std::move(es));
    }
    if (varying.empty() && constant.empty())
        h += "<p class=\"muted\">No run has both a param and " + svg::escape(d.metric) + ".</p>";
    if (!varying.empty()) {
        std::vector<svg::pc_run> pcs;
        for (std::size_t i = 0; i < d.runs.size(); ++i) {
            const double m = metric_of(d.runs[i], d.metric);
            if (std::isfinite(m)) pcs.push_back({static_cast<int>(i), d.runs[i].label, &d.runs[i].summary->run.params, m});
        }
        std::vector<std::string> axes(varying.begin(), varying.begin() + static_cast<long>(std::min<std::size_t>(12, varying.size())));
        h += "<h3 class=\"muted\">Parallel coordinates: one line per run, colored by " + svg::escape(d.metric) +
             " from amber (worse) to blue (better; " + (lower ? "lower" : "higher") + " is better)</h3>";
        h += "<figure id=\"parallel\">" + svg::parallel_chart(d.metric, lower, axes, pcs) + "</figure>";
        if (axes.size() < varying.size())
            h += "<p class=\"note\">" + std::to_string(varying.size() - axes.size()) +
                 " more varying params not in the chart (the first 12, alphabetical; --param chooses).</p>";
    }
    h += "<p class=\"muted\">One dot per run: the param's value against the run's " + svg::escape(d.metric) +
         " (the latest summary value, else the last time-series value). Hover a dot for the run.</p><div class=\"grid\">";
    std::size_t charts = 0;
    for (std::size_t k = 0; k < varying.size() && charts < d.max_charts; ++k) {
        const auto& key = varying[k];
        const auto& es = per_key[k];
        bool numeric = true;
        for (const auto& e : es) numeric = numeric && (e.value.is_int() || e.value.is_double());
        std::vector<svg::point> pts;
        std::vector<std::string> categories;
        bool log_x = false;
        auto label = [&](const entry& e) {
            return e.run->label + ": " + key + "=" + e.value.to_text() + ", " + d.metric + "=" + exact_number(e.metric);
        };
        if (numeric) {
            double lo = INFINITY, hi = -INFINITY;
            for (const auto& e : es) lo = std::min(lo, e.value.as_double()), hi = std::max(hi, e.value.as_double());
            log_x = lo > 0 && hi / lo >= 100;
            for (const auto& e : es) pts.push_back({e.value.as_double(), e.metric, e.run->color, label(e), e.index});
        } else {
            std::set<std::string> distinct;
            for (const auto& e : es) distinct.insert(e.value.to_text());
            if (distinct.size() > 30) continue;
            categories.assign(distinct.begin(), distinct.end());
            for (const auto& e : es) {
                const auto at = std::find(categories.begin(), categories.end(), e.value.to_text()) - categories.begin();
                pts.push_back({static_cast<double>(at), e.metric, e.run->color, label(e), e.index});
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
    if (charts < varying.size())
        h += "<p class=\"note\">" + std::to_string(varying.size() - charts) +
             " params not drawn as scatters (--max-charts raises the limit, --param chooses).</p>";
    if (!constant.empty()) {
        std::string list;
        for (std::size_t i = 0; i < constant.size() && i < 50; ++i) list += (list.empty() ? "" : ", ") + constant[i];
        if (constant.size() > 50) list += " and " + std::to_string(constant.size() - 50) + " more";
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
                    double sum = 0;  // in double: cells near INT64_MAX would overflow an int64 sum
                    for (auto v : c.matrix[i]) sum += static_cast<double>(v);
                    h += "<tr><th>" + svg::escape(i < c.labels.size() ? c.labels[i] : "?") + "</th>";
                    for (auto v : c.matrix[i]) {
                        const double share = sum > 0 ? static_cast<double>(v) / sum : 0.0;
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

/// The whole HTML page. `total_keys`: the time series keys of every run (charts are drawn for at most
/// d.max_charts of them).
inline std::string render_report(const report_data& d, std::size_t total_keys) {
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
    h += controls;
    nlohmann::json runs = nlohmann::json::array(), charts = nlohmann::json::array();
    runs_table(h, d, runs);
    h += "\n";
    metric_charts(h, d, total_keys, charts);
    h += "\n";
    param_charts(h, d);
    h += "\n";
    confusion_matrices(h, d);
    h += "\n";
    if (!d.problems.empty()) {
        h += "<section id=\"problems\"><h2>Problems (" + std::to_string(d.problems.size()) + ")</h2><ul>";
        for (const auto& p : d.problems) h += "<li>" + svg::escape(p) + "</li>";
        h += "</ul></section>\n";
    }
    h += "<footer>Written by mltrack " MLTRACK_VERSION_STRING
         " from the runs' JSONL files. Self-contained: style and script are inline, nothing is loaded from "
         "elsewhere; the charts read without the script.</footer>\n";
    h += "<script type=\"application/json\" id=\"report-data\">" +
         embed_json({{"runs", std::move(runs)}, {"charts", std::move(charts)}}) + "</script>\n";
    h += script;
    h += "</body></html>\n";
    return h;
}

}  // namespace mltrack_cli
