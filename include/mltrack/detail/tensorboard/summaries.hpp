// Why: what the TensorBoard sink shows of records that are not curves — params as a table, run metadata,
// artifacts and executions as text, classification metrics as a confusion-matrix table and a PR curve —
// computed here as plain values (markdown, table cells, PR points), so the sink only decides where and
// when they are written.
#pragma once

#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../environment.hpp"
#include "../../record.hpp"
#include "format.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace detail {
namespace tb {

/// The `params` text: a markdown table of every param's latest value.
inline std::string params_markdown(const std::map<std::string, param_value>& params) {
    std::string md = "| param | value |\n|---|---|\n";
    for (const auto& kv : params) md += "| " + markdown_cell(kv.first) + " | " + markdown_cell(kv.second.to_text()) + " |\n";
    return md;
}

/// The `tags` text: a markdown table of the run's tags.
inline std::string tags_markdown(const std::map<std::string, std::string>& tags) {
    std::string md = "| tag | value |\n|---|---|\n";
    for (const auto& kv : tags) md += "| " + markdown_cell(kv.first) + " | " + markdown_cell(kv.second) + " |\n";
    return md;
}

/// The `run/metadata` text: the start_run metadata as a table; the captured environment by its safe subset
/// only (no user, command line or paths).
inline std::string metadata_markdown(const nlohmann::json& metadata) {
    std::string md = "| key | value |\n|---|---|\n";
    for (auto it = metadata.begin(); it != metadata.end(); ++it) {
        const auto& v = it.key() == "environment" ? environment_text_subset(*it) : *it;
        md += "| " + markdown_cell(it.key()) + " | " + markdown_cell(v.is_string() ? v.get<std::string>() : v.dump()) + " |\n";
    }
    return md;
}

/// The `artifacts/<name>` text.
inline std::string artifact_markdown(const artifact& a) {
    std::string md = "**" + std::string(to_string(a.type)) + "** `" + a.name + "`";
    if (a.size) md += ", " + std::to_string(a.size) + " bytes";
    if (!a.framework.empty()) md += ", " + a.framework + (a.framework_version.empty() ? "" : " " + a.framework_version);
    if (!a.sha256.empty()) md += "\n\nsha256 `" + a.sha256 + "`";
    if (!a.path.empty()) md += "\n\nstored as `" + a.path + "` in the run folder";
    if (!a.source.empty()) md += "\n\nfrom `" + a.source + "`";
    return md;
}

/// The `executions/<name>` text: the execution and its lineage.
inline std::string execution_markdown(const execution& x) {
    std::string md = "**" + x.name + "** (" + x.schema_title + ", " + to_string(x.state) + ")\n\ninputs:";
    for (const auto& a : x.inputs) md += " `" + a.name + "`";
    md += "\n\noutputs:";
    for (const auto& a : x.outputs) md += " `" + a.name + "`";
    return md;
}

/// A live execution's next record merged into what is known of it: its state now, and the artifacts added.
inline void merge_execution(execution& all, const execution& next) {
    auto add = [](std::vector<artifact>& to, const std::vector<artifact>& from) {
        for (const auto& a : from)
            if (std::none_of(to.begin(), to.end(), [&](const artifact& b) { return b.name == a.name; })) to.push_back(a);
    };
    add(all.inputs, next.inputs);
    add(all.outputs, next.outputs);
    all.state = next.state;
}

/// The confusion matrix with its labels as (n+1)×(n+1) table cells: true class down, predicted across.
inline std::vector<std::string> confusion_table_cells(const classification_metrics& c) {
    const std::size_t n = c.labels.size();
    std::vector<std::string> cells;
    cells.reserve((n + 1) * (n + 1));
    cells.emplace_back("true \\ predicted");
    for (const auto& l : c.labels) cells.push_back(markdown_cell(l));
    for (std::size_t r = 0; r < n; ++r) {
        cells.push_back(markdown_cell(c.labels[r]));
        for (std::size_t k = 0; k < n; ++k) cells.push_back(std::to_string(c.matrix[r][k]));
    }
    return cells;
}

/// PR-curve counts from ROC points and a 2×2 matrix (the second label is the positive class), by increasing
/// threshold; empty when the metrics are not binary or have no ROC points.
inline std::vector<pr_point> pr_points(const classification_metrics& c) {
    std::vector<pr_point> pts;
    if (c.labels.size() != 2 || c.matrix.size() != 2 || c.fpr.empty()) return pts;
    // In double: two cells near INT64_MAX would overflow an int64 sum.
    const double pos = static_cast<double>(c.matrix[1][0]) + static_cast<double>(c.matrix[1][1]);
    const double neg = static_cast<double>(c.matrix[0][0]) + static_cast<double>(c.matrix[0][1]);
    std::vector<std::size_t> order(c.fpr.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return c.thresholds[a] < c.thresholds[b]; });
    pts.reserve(order.size());
    for (auto k : order) {
        pr_point p;
        p.tp = c.tpr[k] * pos;
        p.fp = c.fpr[k] * neg;
        p.fn = pos - p.tp;
        p.tn = neg - p.fp;
        pts.push_back(p);
    }
    return pts;
}

}  // namespace tb
}  // namespace detail
MLTRACK_NAMESPACE_END
