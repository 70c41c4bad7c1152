// Why: what a reader gives back of a run (its folded state, its points, the lines it skipped) is shared by
// read_run(), the streaming reader and the summary scan; one definition keeps the three in agreement.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

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
    /// Called after each block read (about every MiB) with the bytes read so far and the file's size when the
    /// read began: a progress bar for long runs. Empty by default.
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
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
    std::size_t lines = 0;                  ///< lines read, skipped ones included
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

MLTRACK_NAMESPACE_END
