// Why: one code path for live logging and offline sync. A run read back from JSONL is replayed into any
// sink as the same events the writer thread would have produced, so `mltrack sync` and a live tracker write
// identical output. The replayer takes one record at a time, so a run of any length replays from the
// streaming reader in constant memory; replay(run_data) is the same loop over records in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "reader.hpp"
#include "record.hpp"
#include "record_stream.hpp"

MLTRACK_NAMESPACE_BEGIN

struct replay_options {
    std::size_t from_record = 0;    ///< skip records before this index (a sync cursor); a run opening
                                    ///< is replayed as run_resume when the run's run_start is skipped
    std::uint32_t run_id = 1;       ///< the run id the sink sees
    std::size_t batch_size = 4096;  ///< events per write() call
};

/// Feeds a run's records, in file order, into `sink` as write() calls (the caller flushes). Records before
/// options.from_record are counted and skipped. Metric points are batched; any other record is written at
/// once (the event points to it, and it lives only during feed()).
template <class Sink>
class replayer {
public:
    replayer(Sink& sink, const replay_options& options) : sink_(sink), options_(options) {
        info_.id = options.run_id;
    }
    replayer(const replayer&) = delete;
    replayer& operator=(const replayer&) = delete;
    ~replayer() = default;

    /// Feeds the run's next record; `state` is the run folded so far (its names, rank, start).
    void feed(const record& r, const run_data& state) {
        const std::size_t i = next_++;
        if (i < options_.from_record) return;
        if (!opened_) {
            opened_ = true;
            info_.experiment = state.experiment;
            info_.name = state.name;
            info_.start_time_ns = state.start_time_ns;
            info_.metadata = state.metadata;
            info_.rank = state.rank;  // a rank's file replays into that rank's place (events.rank-<r>.jsonl)
            info_.world_size = state.world_size;
            if (r.kind != record_kind::run_start && r.kind != record_kind::run_resume) {
                // Starting mid-run: the sink continues the run it already has.
                info_.resumed = true;
                push(record_kind::run_resume, r.time_ns, 0, nullptr);
                dispatch();
            }
        }
        if (r.kind == record_kind::run_start || r.kind == record_kind::run_resume) {
            dispatch();
            const run_info& stored = r.get_run();
            info_.resumed = r.kind == record_kind::run_resume;
            info_.start_time_ns = stored.start_time_ns;
            if (!stored.metadata.empty()) info_.metadata = stored.metadata;
            push(r.kind, r.time_ns, 0, nullptr);
            dispatch();
            return;
        }
        if (r.kind == record_kind::metric) {
            for (const auto& kv : r.get_values()) {
                event& e = push(record_kind::metric, r.time_ns, r.step, nullptr);
                e.value = kv.second;
                e.metric = intern(kv.first);
            }
            if (pending_.size() >= options_.batch_size) dispatch();
            return;
        }
        push(r.kind, r.time_ns, r.step, &r);
        dispatch();  // the event points to `r`
    }

    /// Writes what is batched; returns the index after the last record fed (the next cursor).
    std::size_t finish() {
        dispatch();
        return next_;
    }

private:
    event& push(record_kind kind, std::int64_t time_ns, std::int64_t step, const record* payload) {
        event e;
        e.kind = kind;
        e.run = &info_;
        e.time_ns = time_ns;
        e.step = step;
        e.payload = payload;
        pending_.push_back(e);
        return pending_.back();
    }
    void dispatch() {
        if (!pending_.empty()) sink_.write(batch(pending_.data(), pending_.size()));
        pending_.clear();
    }
    const metric_info* intern(const std::string& name) {
        auto it = by_name_.find(name);
        if (it != by_name_.end()) return it->second;
        metrics_.push_back(std::make_unique<metric_info>(metric_info{static_cast<std::uint32_t>(metrics_.size()), name}));
        return by_name_.emplace(name, metrics_.back().get()).first->second;
    }

    Sink& sink_;
    replay_options options_;
    run_info info_;
    bool opened_ = false;
    std::size_t next_ = 0;
    std::vector<event> pending_;
    std::vector<std::unique_ptr<metric_info>> metrics_;
    std::unordered_map<std::string, const metric_info*> by_name_;
};

/// Replays records [from_record, end) of a run read into memory into `sink` (write() calls only; the caller
/// flushes). Returns the index after the last record replayed (the next cursor).
template <class Sink>
std::size_t replay(const run_data& run, Sink& sink, const replay_options& options = {}) {
    if (options.from_record >= run.records.size()) return run.records.size();
    replayer<Sink> r(sink, options);
    // The state a stream would show: names and rank from the run, metadata as of the end (a resume's merge).
    for (const auto& rec : run.records) r.feed(rec, run);
    return r.finish();
}

/// Replays one events file (or a run folder's events.jsonl) straight from disk, record by record, in
/// constant memory: the same events as replay(read_run(file), sink, options). Lines read_options refuses
/// throw (strict) or are skipped and do not count as records (lenient: the sync cursor's rule).
/// Returns the next cursor.
template <class Sink>
std::size_t replay(const std::filesystem::path& file, Sink& sink, const replay_options& options = {},
                   const read_options& read = {}) {
    replayer<Sink> r(sink, options);
    stream_run(file, read, [&](const record& rec, const run_data& state, std::size_t) { r.feed(rec, state); });
    return r.finish();
}

MLTRACK_NAMESPACE_END
