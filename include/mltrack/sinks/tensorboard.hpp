// Why: TensorBoard is where most people look at training curves, and its event files are simple enough to
// write without libprotobuf (detail/tensorboard/). This sink projects the record stream onto TensorBoard's
// dashboards: metrics and summary metrics become scalars, params the HParams dashboard and a text table,
// classification metrics a confusion-matrix image and table and (binary case) a PR curve, run ends the
// session status. Layout: <logdir>/<experiment>/<run>/events.out.tfevents.<seconds>.<host>.<pid>.<n>.
//
// What TensorBoard shows must be exactly what was logged, under its reading rules (docs/tensorboard.md,
// "What TensorBoard shows after a resume, a sync or a replay"): every opening writes a new file; only the
// first file of a run folder has a SessionLog START (a later START makes TensorBoard drop every point at or
// after its step), except a run replayed from its beginning into a folder that already holds it, whose START
// at the lowest step replaces the older copy; the HParams session (params, status) lives in a session file
// that sorts first and is replaced as it changes (detail/tensorboard/session.hpp); scalars whose step is
// outside int32, which TensorBoard's HParams dashboard cannot take, go to a sibling folder
// <run>@int64-steps.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <unistd.h>

#include "../detail/compiled.hpp"
#include "../detail/sink_files.hpp"
#include "../error.hpp"
#include "../names.hpp"
#include "../record.hpp"
#include "tensorboard_hparams.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

struct tensorboard_options {
    std::string writer = "mltrack " MLTRACK_VERSION_STRING;  ///< source_metadata.writer in record 0 ("" omits it)
    std::string hostname;                ///< the <host> part of file names; default: gethostname()
    bool fsync = false;                  ///< fdatasync after every flush (survives power loss, costs latency)
    std::size_t buffer_bytes = 1u << 16; ///< a run's buffer is written out when it grows past this
    bool params_text = true;             ///< params also as a markdown table in the text dashboard ("params")
    bool confusion_matrix_image = true;  ///< classification metrics: the matrix as a PNG image
    bool pr_curves = true;               ///< classification metrics: a PR curve (binary case, see docs)
    bool run_text = true;                ///< run metadata, artifacts and executions as text
    /// Event files are written under a name TensorBoard does not read ("tfstaged" for "tfevents") and synced
    /// when closed; staged_files() lists them for the caller to rename. `mltrack sync` uses it to move its
    /// cursor and the files together (docs/cli.md).
    bool stage = false;
    /// A declared hparams experiment, written once per experiment folder (<logdir>/<experiment>/). TensorBoard
    /// applies it to everything under the --logdir it is given: see docs/tensorboard.md before using it.
    /// Leave it empty to let TensorBoard infer the HParams columns from the runs (recommended).
    std::optional<tensorboard_experiment> experiment;
};

class tensorboard {
public:
    explicit tensorboard(std::filesystem::path logdir, tensorboard_options options = {});
    tensorboard(tensorboard&& o) noexcept;
    tensorboard& operator=(tensorboard&& o) noexcept;
    tensorboard(const tensorboard&) = delete;
    tensorboard& operator=(const tensorboard&) = delete;
    ~tensorboard();

    std::string_view name() const { return "tensorboard"; }
    const std::filesystem::path& logdir() const noexcept { return logdir_; }

    /// The folder of a run: <logdir>/<experiment>/<run> (names are validated, so it stays under logdir).
    static std::filesystem::path run_dir(const std::filesystem::path& logdir, std::string_view experiment,
                                         std::string_view run) {
        return detail::run_folder(logdir, experiment, run);
    }

    /// The folder a run's events go to: run_dir(), or its rank-<r>/ subfolder for rank r > 0 under
    /// rank_policy::every (TensorBoard shows each as a run; never two writers in one folder).
    static std::filesystem::path events_dir(const std::filesystem::path& logdir, const run_info& run) {
        auto d = run_dir(logdir, run.experiment, run.name);
        if (run.rank > 0) d /= "rank-" + std::to_string(run.rank);
        return d;
    }

    /// Where a run's scalars with a step outside int32 go: <logdir>/<experiment>/<run>@int64-steps (and its
    /// rank-<r>/ subfolder), a TensorBoard run outside the run's own folder, so the HParams dashboard (whose
    /// training steps are int32) never reads them. '@' is not allowed in run names: it cannot collide.
    static std::filesystem::path wide_steps_dir(const std::filesystem::path& logdir, const run_info& run) {
        auto d = run_dir(logdir, run.experiment, run.name).parent_path() / (run.name + "@int64-steps");
        if (run.rank > 0) d /= "rank-" + std::to_string(run.rank);
        return d;
    }

    /// The highest step of each scalar tag in the run's files (its folder and <run>@int64-steps), so that a
    /// resumed run's points logged without a step continue after them; nullopt when it has no files.
    std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info& run) const;

    /// Whether the run's folder (this rank's) already holds event files.
    bool exists(const run_info& run) const;
    /// start_run's check on the caller's thread (safe from any thread): exists(). The JSONL sink, the source of
    /// truth, makes a new run exclusively; this sink makes its files when the run has something to show.
    bool claim(const run_info& run, bool /*create*/) const { return exists(run); }

    void write(const batch& b);

    void flush();

    /// Writes what is buffered and closes every file. Runs that did not end get no end status (TensorBoard
    /// shows it as unknown, as after a crash).
    void close();

    // ---- direct writes: summaries that have no record kind yet. They need the run to be open in this sink
    // (a run_start/run_resume event written, no run_end yet), so they are for code that drives the sink
    // itself (replay, tools, tests); through a tracker they arrive with their record kinds.

    /// A histogram (see mltrack::tensorboard_histogram) at `step`.
    void write_histogram(std::uint32_t run_id, std::string_view tag, const std::vector<histogram_bucket>& buckets,
                         std::int64_t step, std::int64_t time_ns);

    /// An image (PNG, JPEG, GIF or BMP bytes) at `step`.
    void write_image(std::uint32_t run_id, std::string_view tag, std::string_view encoded, std::uint32_t width,
                     std::uint32_t height, std::int64_t step, std::int64_t time_ns);

    /// Markdown text at `step`.
    void write_text(std::uint32_t run_id, std::string_view tag, std::string_view markdown, std::int64_t step,
                    std::int64_t time_ns);

    // ---- inspection

    /// The event file a run currently writes (empty when the run is not open here, or nothing was written yet:
    /// a run's first file is created when it has something to show).
    std::filesystem::path current_file(std::uint32_t run_id) const;

    /// Records that could not be written (disk full, folder removed...), over the sink's life.
    std::uint64_t records_lost() const noexcept { return records_lost_; }

    /// With tensorboard_options::stage: every file this sink created, under its staging name, with the name
    /// it takes once renamed.
    const std::vector<std::pair<std::filesystem::path, std::filesystem::path>>& staged_files() const noexcept {
        return staged_;
    }

private:
    /// How an opening relates to what the run's folder already holds. It decides the SessionLog START, which
    /// TensorBoard's Python reader takes as "restarted here: drop every point at or after this step" whenever
    /// it is not the first START of the folder.
    enum class opening : std::uint8_t {
        first,         ///< the folder holds no event file: START (the folder's first, which drops nothing)
        continuation,  ///< a resume, a sync or replay that starts mid-run: no START, nothing is dropped
        restart,       ///< from the run's beginning into a folder that holds it: START at the lowest step,
                       ///< so TensorBoard drops the older copy and shows this one
    };

    struct tag_entry {
        const metric_info* info = nullptr;
        std::string encoded;  ///< `0a <len> tag`
    };

    /// One stream of event files: the run's folder, or its sibling for steps outside int32.
    // A run's event files and what it has shown so far: defined in tensorboard-inl.hpp, with the bodies
    // that use them, so that a translation unit naming the sink does not compile the encoders' types.
    struct stream;
    struct run;

    // ------------------------------------------------------------------ events

    /// Writes the event at b[i] (and following metric points that share its run and step, within
    /// same_event_window_ns, as one Event); returns how many events it used.
    std::size_t write_at(const batch& b, std::size_t i);

    /// Metric points of one run and step less than this apart (from the Event's first point) share one Event:
    /// loss, lr and accuracy logged by separate calls at a step then pay one Event's framing, not one each.
    /// The Event's wall_time is its first point's, so the others' are off by under 1 ms in TensorBoard; the
    /// JSONL file keeps every point's exact time.
    static constexpr std::int64_t same_event_window_ns = 1'000'000;

    static bool fits_int32(std::int64_t step) noexcept {
        return step >= std::numeric_limits<std::int32_t>::min() && step <= std::numeric_limits<std::int32_t>::max();
    }

    std::size_t write_points(run& r, const batch& b, std::size_t i);

    const std::string& encoded_tag(run& r, const metric_info& m);

    static void note_step(run& r, std::int64_t step);

    /// The step for records that have none (summary metrics, classification metrics, artifacts, params
    /// table): the last step the run reached — in this opening, else in the folder's earlier files for a
    /// continuation — or 0; kept within int32 so the HParams dashboard can show the summary metrics.
    std::int64_t current_step(run& r);

    void on_params(run& r, const record& rec);

    /// Writes the params table when params changed since the last one.
    void settle(run& r);

    /// Summary metrics at the run's current step: numbers as scalars (one Event), strings as text.
    void on_summary(run& r, const event& e);

    /// An execution as text; a live one (an id) is shown whole each time: its state now, and every artifact
    /// its records have brought so far in this opening.
    void on_execution(run& r, const event& e);

    void on_classification(run& r, const event& e);

    /// Markdown text at the run's current step.
    void text(run& r, const std::string& tag, const std::string& md, std::int64_t time_ns);

    /// The run's end: its status goes into the session file; a final status (complete, failed, cancelled) also
    /// into the data file, for a TensorBoard that read the session file before the end. A preempted run gets
    /// no status: it is expected back, and shows as unknown until it ends.
    void on_run_end(run& r, const event& e);

    /// Appends one Event with one tensor-form Summary.Value; `value(buf, with_metadata)` writes the value,
    /// with the plugin metadata the first time the tag appears in the current file.
    template <class F>
    static void summary_value(stream& s, const std::string& tag, std::int64_t step, std::int64_t time_ns, F&& value);

    template <class F>
    void direct(run& r, std::int64_t step, std::int64_t time_ns, F&& value, std::string_view tag);

    run& require_run(std::uint32_t run_id);

    // ------------------------------------------------------------------ files

    run* find(std::uint32_t id);

    void open_run(const run_info& info, bool resumed, std::int64_t time_ns);

    /// The records a new file of stream `s` starts with: file_version, the START its opening calls for, and
    /// (in the run folder's first file, or a restart) the run metadata as text.
    std::pair<std::string, std::size_t> file_head(const run& r, const stream& s) const;

    /// Writes a run out: the session file first when it changed (it must exist before the run's first data
    /// file, so a TensorBoard that is reading the folder meets it first), then both streams.
    void flush_run(run& r, bool sync);

    void flush_stream(run& r, stream& s, bool sync);

    void write_stream(run& r, stream& s, bool sync);

    void maybe_write_out(run& r);

    std::filesystem::path logdir_;
    tensorboard_options options_;
    std::unordered_map<std::uint32_t, std::unique_ptr<run>> runs_;
    std::set<std::string> experiments_written_;
    run* last_ = nullptr;
    std::uint32_t last_id_ = 0;
    std::uint64_t records_lost_ = 0;
    std::vector<std::pair<std::filesystem::path, std::filesystem::path>> staged_;
};

}  // namespace sinks
MLTRACK_NAMESPACE_END

#if MLTRACK_DEFINE_BODIES
#include "tensorboard-inl.hpp"
#endif
