// Why: one code path for live logging and offline sync. A run read back from JSONL is replayed into any
// sink as the same events the writer thread would have produced, so `mltrack sync` and a live tracker write
// identical output.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "reader.hpp"
#include "record.hpp"

MLTRACK_NAMESPACE_BEGIN

struct replay_options {
    std::size_t from_record = 0;    ///< skip records before this index (a sync cursor); a run opening
                                    ///< is replayed as run_resume when the run's run_start is skipped
    std::uint32_t run_id = 1;       ///< the run id the sink sees
    std::size_t batch_size = 4096;  ///< events per write() call
};

/// Replays records [from_record, end) of a run into `sink` (write() calls only; the caller flushes).
/// Returns the index after the last record replayed (the next cursor).
template <class Sink>
std::size_t replay(const run_data& run, Sink& sink, const replay_options& options = {}) {
    run_info info;
    info.id = options.run_id;
    info.experiment = run.experiment;
    info.name = run.name;
    info.start_time_ns = run.start_time_ns;
    info.metadata = run.metadata;
    info.rank = run.rank;  // a rank's file replays into that rank's place (events.rank-<r>.jsonl, rank-<r>/)
    info.world_size = run.world_size;

    std::vector<std::unique_ptr<metric_info>> metrics;
    std::unordered_map<std::string, const metric_info*> by_name;
    auto intern = [&](const std::string& name) {
        auto it = by_name.find(name);
        if (it != by_name.end()) return it->second;
        metrics.push_back(std::make_unique<metric_info>(
            metric_info{static_cast<std::uint32_t>(metrics.size()), name}));
        return by_name.emplace(name, metrics.back().get()).first->second;
    };

    std::vector<event> pending;
    auto dispatch = [&] {
        if (!pending.empty()) sink.write(batch(pending.data(), pending.size()));
        pending.clear();
    };

    std::size_t i = options.from_record;
    if (i >= run.records.size()) return run.records.size();
    if (run.records[i].kind != record_kind::run_start && run.records[i].kind != record_kind::run_resume) {
        // Starting mid-run: the sink continues the run it already has.
        info.resumed = true;
        event e;
        e.kind = record_kind::run_resume;
        e.run = &info;
        e.time_ns = run.records[i].time_ns;
        pending.push_back(e);
        dispatch();
    }
    for (; i < run.records.size(); ++i) {
        const record& r = run.records[i];
        if (r.kind == record_kind::run_start || r.kind == record_kind::run_resume) {
            dispatch();
            const run_info& stored = r.get_run();
            info.resumed = r.kind == record_kind::run_resume;
            info.start_time_ns = stored.start_time_ns;
            if (!stored.metadata.empty()) info.metadata = stored.metadata;
            event e;
            e.kind = r.kind;
            e.run = &info;
            e.time_ns = r.time_ns;
            pending.push_back(e);
            dispatch();
            continue;
        }
        if (r.kind == record_kind::metric) {
            for (const auto& kv : r.get_values()) {
                event e;
                e.kind = record_kind::metric;
                e.run = &info;
                e.time_ns = r.time_ns;
                e.step = r.step;
                e.value = kv.second;
                e.metric = intern(kv.first);
                pending.push_back(e);
            }
        } else {
            event e;
            e.kind = r.kind;
            e.run = &info;
            e.time_ns = r.time_ns;
            e.step = r.step;
            e.payload = &r;
            pending.push_back(e);
        }
        if (pending.size() >= options.batch_size) dispatch();
    }
    dispatch();
    return run.records.size();
}

MLTRACK_NAMESPACE_END
