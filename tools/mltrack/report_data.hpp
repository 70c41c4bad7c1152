// Why: what `mltrack report` gathers before it writes anything: each run's summary, its curves thinned to
// a bounded number of points, its metric values, and the page's limits. cmd_report.hpp fills it while
// reading the runs; report_html.hpp and the headers it includes draw it.
#pragma once

#include <cstddef>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mltrack/summary.hpp>

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

/// A run's curves for at most `keep` keys: the first `keep` of the run's keys in alphabetical order. A new
/// key that sorts after `keep` kept ones is not collected; one that sorts before evicts the last. So the
/// memory stays bounded whatever the number of keys, and the first `keep` keys of all runs together (the
/// keys the report charts) are collected in full in every run that logs them.
struct bounded_curves {
    std::map<std::string, decimated_series, std::less<>> series;

    void add(std::string_view key, double x, double y, std::size_t cap, std::size_t keep) {
        auto it = series.find(key);
        if (it == series.end()) {
            if (keep == 0) return;
            if (series.size() >= keep) {
                auto last = std::prev(series.end());
                if (!(key < last->first)) return;
                series.erase(last);
            }
            it = series.emplace(std::string(key), decimated_series{}).first;
        }
        it->second.add(x, y, cap);
    }
};

/// One run of the report.
struct report_run {
    const mltrack::run_summary* summary = nullptr;
    std::string label;  ///< "experiment/run"
    std::string color;
    std::map<std::string, decimated_series, std::less<>> series;

    /// The run's value of a metric as the table shows it (the summary value, else the series' last;
    /// latest_metrics), NaN when it has none.
    double metric(const std::string& key) const {
        auto s = summary->run.summary.find(key);
        if (s != summary->run.summary.end()) return s->second;
        auto t = summary->series.find(key);
        return t == summary->series.end() ? std::numeric_limits<double>::quiet_NaN() : t->second.last;
    }
    bool has_metric(const std::string& key) const {
        return summary->run.summary.count(key) > 0 || summary->series.count(key) > 0;
    }
};

struct report_data {
    std::string title;                   ///< the root as given on the command line
    std::vector<report_run> runs;
    std::string metric;                  ///< the metric of the param charts ("" when there is none)
    std::vector<std::string> params;     ///< params to chart (empty: all)
    std::size_t max_matrices = 100;
    std::size_t max_charts = 100;        ///< line charts and param scatters drawn, at most
    std::size_t max_columns = 100;       ///< param columns and metric columns of the table, at most, each
    std::vector<std::string> problems;   ///< runs left out, lines skipped
};

}  // namespace mltrack_cli
