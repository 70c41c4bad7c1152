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

#include "../detail/sink_files.hpp"
#include "../detail/tensorboard/declaration.hpp"
#include "../detail/tensorboard/event_file.hpp"
#include "../detail/tensorboard/format.hpp"
#include "../detail/tensorboard/png.hpp"
#include "../detail/tensorboard/scalar_events.hpp"
#include "../detail/tensorboard/session.hpp"
#include "../detail/tensorboard/summaries.hpp"
#include "../error.hpp"
#include "../names.hpp"
#include "../record.hpp"

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
    explicit tensorboard(std::filesystem::path logdir, tensorboard_options options = {})
        : logdir_(std::move(logdir)), options_(std::move(options)) {
        if (options_.hostname.empty()) {
            char host[256] = {};
            if (::gethostname(host, sizeof host - 1) == 0) options_.hostname = host;
        }
        options_.hostname = detail::tb::sanitize_host(options_.hostname);
    }

    tensorboard(tensorboard&& o) noexcept
        : logdir_(std::move(o.logdir_)),
          options_(std::move(o.options_)),
          runs_(std::move(o.runs_)),
          experiments_written_(std::move(o.experiments_written_)),
          records_lost_(o.records_lost_),
          staged_(std::move(o.staged_)) {
        o.runs_.clear();
        o.last_ = nullptr;
    }
    tensorboard& operator=(tensorboard&& o) noexcept {
        if (this != &o) {
            try { close(); } catch (...) {}  // this sink's own files are finished first
            logdir_ = std::move(o.logdir_);
            options_ = std::move(o.options_);
            runs_ = std::move(o.runs_);
            experiments_written_ = std::move(o.experiments_written_);
            records_lost_ = o.records_lost_;
            staged_ = std::move(o.staged_);
            o.runs_.clear();
            o.last_ = nullptr;
            last_ = nullptr;
        }
        return *this;
    }
    tensorboard(const tensorboard&) = delete;
    tensorboard& operator=(const tensorboard&) = delete;
    ~tensorboard() {
        try { close(); } catch (...) {}
    }

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
    std::optional<std::map<std::string, std::int64_t>> max_steps(const run_info& run) const {
        if (!exists(run)) return std::nullopt;
        return detail::tb::max_scalar_steps({events_dir(logdir_, run), wide_steps_dir(logdir_, run)},
                                            detail::tb::session_file_name);
    }

    /// Whether the run's folder (this rank's) already holds event files.
    bool exists(const run_info& run) const { return detail::tb::has_event_file(events_dir(logdir_, run)); }
    /// start_run's check on the caller's thread (safe from any thread): exists(). The JSONL sink, the source of
    /// truth, makes a new run exclusively; this sink makes its files when the run has something to show.
    bool claim(const run_info& run, bool /*create*/) const { return exists(run); }

    void write(const batch& b) {
        std::string errors;
        for (std::size_t i = 0; i < b.size();) {
            std::size_t used = 1;
            try {
                used = write_at(b, i);
            } catch (const std::exception& ex) {
                if (!errors.empty()) errors += "; ";
                errors += ex.what();
            }
            i += used;
        }
        if (!errors.empty()) throw std::runtime_error(errors);
    }

    void flush() {
        detail::for_each_collecting(runs_, [&](auto& kv) {
            settle(*kv.second);
            flush_run(*kv.second, true);
        });
    }

    /// Writes what is buffered and closes every file. Runs that did not end get no end status (TensorBoard
    /// shows it as unknown, as after a crash).
    void close() {
        struct forget_after {
            tensorboard& s;
            ~forget_after() {
                s.runs_.clear();
                s.last_ = nullptr;
            }
        } forget{*this};
        detail::for_each_collecting(runs_, [&](auto& kv) {
            settle(*kv.second);
            flush_run(*kv.second, true);
        });
    }

    // ---- direct writes: summaries that have no record kind yet. They need the run to be open in this sink
    // (a run_start/run_resume event written, no run_end yet), so they are for code that drives the sink
    // itself (replay, tools, tests); through a tracker they arrive with their record kinds.

    /// A histogram (see mltrack::tensorboard_histogram) at `step`.
    void write_histogram(std::uint32_t run_id, std::string_view tag, const std::vector<histogram_bucket>& buckets,
                         std::int64_t step, std::int64_t time_ns) {
        run& r = require_run(run_id);
        direct(r, step, time_ns, [&](std::string& buf, bool meta) { detail::tb::value_histogram(buf, tag, buckets, meta); }, tag);
    }

    /// An image (PNG, JPEG, GIF or BMP bytes) at `step`.
    void write_image(std::uint32_t run_id, std::string_view tag, std::string_view encoded, std::uint32_t width,
                     std::uint32_t height, std::int64_t step, std::int64_t time_ns) {
        run& r = require_run(run_id);
        direct(r, step, time_ns,
               [&](std::string& buf, bool meta) { detail::tb::value_image(buf, tag, encoded, width, height, meta); }, tag);
    }

    /// Markdown text at `step`.
    void write_text(std::uint32_t run_id, std::string_view tag, std::string_view markdown, std::int64_t step,
                    std::int64_t time_ns) {
        run& r = require_run(run_id);
        direct(r, step, time_ns, [&](std::string& buf, bool meta) { detail::tb::value_text(buf, tag, markdown, meta); }, tag);
    }

    // ---- inspection

    /// The event file a run currently writes (empty when the run is not open here, or nothing was written yet:
    /// a run's first file is created when it has something to show).
    std::filesystem::path current_file(std::uint32_t run_id) const {
        auto it = runs_.find(run_id);
        return it == runs_.end() ? std::filesystem::path() : it->second->main.file.path();
    }

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
    struct stream {
        std::filesystem::path dir;
        detail::tb::event_file file;
        std::optional<opening> kind;  ///< decided when its first file is created (known at open for the main one)
        /// The last metric Event in the buffer, which later points of its step extend while they are within
        /// same_event_window_ns of its first point, even when they arrive in separate batches.
        detail::tb::open_event open_event;
        std::unordered_set<std::string> described;  ///< tensor tags whose metadata is in the current file
    };

    struct run {
        stream main, wide;
        opening kind = opening::first;
        nlohmann::json metadata;           ///< shown as run/metadata in the folder's first file
        std::int64_t last_time_ns = 0;     ///< wall time of the latest event, for records written on flush
        bool any_step = false;
        std::int64_t last_step = 0;        ///< the largest step seen in this opening
        std::optional<std::int64_t> earlier_step;  ///< the largest step in the folder's earlier files
        bool earlier_read = false;
        std::vector<tag_entry> tags;       ///< by metric id
        detail::tb::session_state session; ///< params (all openings) and status, as the session file shows them
        bool session_dirty = false;        ///< the session file must be (re)written
        bool session_due = false;          ///< ... at the next flush even without data (params came, the run ended)
        bool params_dirty = false;         ///< params arrived since the last params table
        std::map<std::string, execution> executions;  ///< live executions by id, as shown so far
        std::map<std::string, std::string> run_tags;  ///< the run's tags so far in this opening
    };

    // ------------------------------------------------------------------ events

    /// Writes the event at b[i] (and following metric points that share its run and step, within
    /// same_event_window_ns, as one Event); returns how many events it used.
    std::size_t write_at(const batch& b, std::size_t i) {
        const event& e = b[i];
        if (e.kind == record_kind::run_start || e.kind == record_kind::run_resume) {
            open_run(*e.run, e.kind == record_kind::run_resume || e.run->resumed, e.time_ns);
            return 1;
        }
        run* rp = find(e.run->id);
        if (!rp) return 1;  // the run could not be opened; that error was reported then
        run& r = *rp;
        r.last_time_ns = e.time_ns;
        if (e.kind == record_kind::run_end) {
            on_run_end(r, e);
            return 1;
        }
        std::size_t used = 1;
        std::string& buf = r.main.file.buf;
        const std::size_t mark = buf.size(), records = r.main.file.buffered_records;
        try {
            if (e.kind != record_kind::params && r.params_dirty) settle(r);
            switch (e.kind) {
                case record_kind::metric: used = write_points(r, b, i); break;
                case record_kind::params: on_params(r, *e.payload); break;
                case record_kind::tags:
                    for (const auto& kv : e.payload->texts) r.run_tags[kv.first] = kv.second;
                    if (options_.run_text) text(r, "tags", detail::tb::tags_markdown(r.run_tags), e.time_ns);
                    break;
                case record_kind::summary: on_summary(r, e); break;
                case record_kind::classification: on_classification(r, e); break;
                case record_kind::artifact:
                    if (options_.run_text) text(r, "artifacts/" + e.payload->get_artifact().name,
                                                detail::tb::artifact_markdown(e.payload->get_artifact()), e.time_ns);
                    break;
                case record_kind::execution: on_execution(r, e); break;
                case record_kind::histogram: {
                    const histogram& h = e.payload->get_histogram();
                    note_step(r, e.step);
                    summary_value(r.main, h.name, e.step, e.time_ns, [&](std::string& out, bool meta) {
                        detail::tb::value_histogram(out, h.name, h.buckets, meta);
                    });
                    break;
                }
                default: break;
            }
        } catch (...) {
            buf.resize(mark);  // never leave half a record in the buffer
            r.main.file.buffered_records = records;
            throw;
        }
        maybe_write_out(r);
        return used;
    }

    /// Metric points of one run and step less than this apart (from the Event's first point) share one Event:
    /// loss, lr and accuracy logged by separate calls at a step then pay one Event's framing, not one each.
    /// The Event's wall_time is its first point's, so the others' are off by under 1 ms in TensorBoard; the
    /// JSONL file keeps every point's exact time.
    static constexpr std::int64_t same_event_window_ns = 1'000'000;

    static bool fits_int32(std::int64_t step) noexcept {
        return step >= std::numeric_limits<std::int32_t>::min() && step <= std::numeric_limits<std::int32_t>::max();
    }

    std::size_t write_points(run& r, const batch& b, std::size_t i) {
        const event& first = b[i];
        stream& s = fits_int32(first.step) ? r.main : r.wide;
        std::string& buf = s.file.buf;
        const bool extend = s.open_event.extends(buf, s.file.generation, first.step, first.time_ns, same_event_window_ns);
        const std::int64_t event_time = extend ? s.open_event.time_ns : first.time_ns;  // the Event's wall_time
        // Everything that can throw (tag encoding, buffer growth) happens before the buffer is touched, so
        // an extended Event is never left without its footer.
        std::size_t n = 0, bytes = 64;
        for (; i + n < b.size(); ++n) {
            const event& e = b[i + n];
            if (n > 0 && (e.kind != record_kind::metric || e.run != first.run || e.step != first.step ||
                          !detail::tb::open_event::within(e.time_ns, event_time, same_event_window_ns)))
                break;
            bytes += encoded_tag(r, *e.metric).size() + 16;
        }
        buf.reserve(buf.size() + bytes);
        note_step(r, first.step);
        s.file.buffered_records += detail::tb::append_scalars(
            buf, s.open_event, s.file.generation, extend, first.step, event_time, n,
            [&](std::size_t k) -> const std::string& { return r.tags[b[i + k].metric->id].encoded; },
            [&](std::size_t k) { return b[i + k].value; });
        return n;
    }

    const std::string& encoded_tag(run& r, const metric_info& m) {
        if (m.id >= r.tags.size()) r.tags.resize(static_cast<std::size_t>(m.id) + 1);
        tag_entry& t = r.tags[m.id];
        if (t.info != &m) {
            t.info = &m;
            t.encoded = detail::tb::encode_tag(m.name);
        }
        return t.encoded;
    }

    static void note_step(run& r, std::int64_t step) {
        if (!r.any_step || step > r.last_step) r.last_step = step;
        r.any_step = true;
    }

    /// The step for records that have none (summary metrics, classification metrics, artifacts, params
    /// table): the last step the run reached — in this opening, else in the folder's earlier files for a
    /// continuation — or 0; kept within int32 so the HParams dashboard can show the summary metrics.
    std::int64_t current_step(run& r) {
        std::int64_t s = 0;
        if (r.any_step) {
            s = r.last_step;
        } else if (r.kind == opening::continuation) {
            if (!r.earlier_read) {
                r.earlier_read = true;
                r.earlier_step = detail::tb::max_step_in({r.main.dir, r.wide.dir}, detail::tb::session_file_name);
            }
            s = r.earlier_step.value_or(0);
        }
        return std::clamp<std::int64_t>(s, std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max());
    }

    void on_params(run& r, const record& rec) {
        for (const auto& kv : rec.get_params()) r.session.params[kv.first] = kv.second;
        r.params_dirty = r.session_dirty = r.session_due = true;
    }

    /// Writes the params table when params changed since the last one.
    void settle(run& r) {
        if (r.params_dirty && options_.params_text && !r.session.params.empty())
            text(r, "params", detail::tb::params_markdown(r.session.params), r.last_time_ns);
        r.params_dirty = false;
    }

    /// Summary metrics at the run's current step: numbers as scalars (one Event), strings as text.
    void on_summary(run& r, const event& e) {
        const std::int64_t step = current_step(r);
        if (!e.payload->get_values().empty()) {
            std::string& buf = r.main.file.buf;
            auto ev = detail::tb::begin_summary(buf, detail::tb::wall_seconds(e.time_ns), step);
            for (const auto& kv : e.payload->get_values()) detail::tb::value_simple(buf, kv.first, static_cast<float>(kv.second));
            detail::tb::end_summary(buf, ev);
            ++r.main.file.buffered_records;
        }
        for (const auto& kv : e.payload->texts)
            summary_value(r.main, kv.first, step, e.time_ns,
                          [&](std::string& buf, bool meta) { detail::tb::value_text(buf, kv.first, kv.second, meta); });
    }

    /// An execution as text; a live one (an id) is shown whole each time: its state now, and every artifact
    /// its records have brought so far in this opening.
    void on_execution(run& r, const event& e) {
        if (!options_.run_text) return;
        const execution& x = e.payload->get_execution();
        const execution* shown = &x;
        if (!x.id.empty()) {
            auto [it, fresh] = r.executions.try_emplace(x.id, x);
            if (!fresh) detail::tb::merge_execution(it->second, x);
            execution& all = it->second;
            shown = &all;
        }
        text(r, "executions/" + shown->name, detail::tb::execution_markdown(*shown), e.time_ns);
    }

    void on_classification(run& r, const event& e) {
        const auto& c = e.payload->get_classification();
        const std::string base = c.display_name.empty() ? std::string("classification") : c.display_name;
        const std::int64_t step = current_step(r);
        const std::size_t n = c.labels.size();
        if (n > 0 && c.matrix.size() == n) {
            if (options_.confusion_matrix_image) {
                const auto img = detail::render_confusion_matrix(c.matrix);
                const std::string tag = base + "/confusion_matrix";
                summary_value(r.main, tag, step, e.time_ns, [&](std::string& buf, bool meta) {
                    detail::tb::value_image(buf, tag, img.png, img.width, img.height, meta);
                });
            }
            const auto cells = detail::tb::confusion_table_cells(c);
            const std::string tag = base + "/confusion_matrix_table";
            summary_value(r.main, tag, step, e.time_ns, [&](std::string& buf, bool meta) {
                detail::tb::value_text_table(buf, tag, cells, n + 1, n + 1, meta);
            });
        }
        const auto pts = detail::tb::pr_points(c);
        if (options_.pr_curves && !pts.empty()) {
            const std::string tag = base + "/pr_curves";
            summary_value(r.main, tag, step, e.time_ns,
                          [&](std::string& buf, bool meta) { detail::tb::value_pr_curve(buf, tag, pts, meta); });
        }
    }

    /// Markdown text at the run's current step.
    void text(run& r, const std::string& tag, const std::string& md, std::int64_t time_ns) {
        summary_value(r.main, tag, current_step(r), time_ns,
                      [&](std::string& buf, bool meta) { detail::tb::value_text(buf, tag, md, meta); });
    }

    /// The run's end: its status goes into the session file; a final status (complete, failed, cancelled) also
    /// into the data file, for a TensorBoard that read the session file before the end. A preempted run gets
    /// no status: it is expected back, and shows as unknown until it ends.
    void on_run_end(run& r, const event& e) {
        settle(r);
        const run_state state = e.payload->get_state();
        const double end = detail::tb::wall_seconds(e.time_ns);
        if (state == run_state::preempted) {
            // An end status of an earlier opening in a data file must not show through: "unknown" wins over it.
            if (r.session.status) r.session.status = detail::tb::session_status::unknown;
        } else {
            r.session.status = detail::tb::status_of(state);
            std::string& buf = r.main.file.buf;
            auto ev = detail::tb::begin_summary(buf, end, 0);
            detail::tb::value_hparams(buf, "_hparams_/session_end_info", detail::tb::hparams_session_end(*r.session.status, end));
            detail::tb::end_summary(buf, ev);
            ++r.main.file.buffered_records;
        }
        r.session.end_time_secs = end;
        r.session_dirty = r.session_due = true;
        const std::uint32_t id = e.run->id;
        auto it = runs_.find(id);
        auto owned = std::move(it->second);
        runs_.erase(it);
        last_ = nullptr;
        flush_run(*owned, true);  // the files close with `owned`
    }

    /// Appends one Event with one tensor-form Summary.Value; `value(buf, with_metadata)` writes the value,
    /// with the plugin metadata the first time the tag appears in the current file.
    template <class F>
    static void summary_value(stream& s, const std::string& tag, std::int64_t step, std::int64_t time_ns, F&& value) {
        const bool meta = s.described.find(tag) == s.described.end();
        auto ev = detail::tb::begin_summary(s.file.buf, detail::tb::wall_seconds(time_ns), step);
        value(s.file.buf, meta);
        detail::tb::end_summary(s.file.buf, ev);
        ++s.file.buffered_records;
        if (meta) s.described.insert(tag);
    }

    template <class F>
    void direct(run& r, std::int64_t step, std::int64_t time_ns, F&& value, std::string_view tag) {
        std::string& buf = r.main.file.buf;
        const std::size_t mark = buf.size(), records = r.main.file.buffered_records;
        r.last_time_ns = time_ns;
        try {
            settle(r);
            note_step(r, step);
            summary_value(r.main, std::string(tag), step, time_ns, value);
        } catch (...) {
            buf.resize(mark);
            r.main.file.buffered_records = records;
            throw;
        }
        maybe_write_out(r);
    }

    run& require_run(std::uint32_t run_id) {
        run* r = find(run_id);
        if (!r) throw error(error_category::state, 20, "run " + std::to_string(run_id) + " is not open in this TensorBoard sink");
        return *r;
    }

    // ------------------------------------------------------------------ files

    run* find(std::uint32_t id) {
        if (last_ && last_id_ == id) return last_;
        auto it = runs_.find(id);
        if (it == runs_.end()) return nullptr;
        last_ = it->second.get();
        last_id_ = id;
        return last_;
    }

    void open_run(const run_info& info, bool resumed, std::int64_t time_ns) {
        // The same id opened again (a replay of another run, or a resume in one stream): finish the old run.
        auto old = runs_.find(info.id);
        if (old != runs_.end()) {
            auto owned = std::move(old->second);
            runs_.erase(old);
            last_ = nullptr;
            settle(*owned);
            flush_run(*owned, true);
        }
        last_ = nullptr;
        auto r = std::make_unique<run>();
        r->main.dir = events_dir(logdir_, info);
        r->wide.dir = wide_steps_dir(logdir_, info);
        r->last_time_ns = time_ns;
        r->metadata = info.metadata;
        const bool had = detail::tb::has_event_file(r->main.dir);
        r->kind = !had ? opening::first : resumed ? opening::continuation : opening::restart;
        r->main.kind = r->kind;
        const double start = detail::tb::wall_seconds(info.start_time_ns ? info.start_time_ns : time_ns);
        if (r->kind == opening::continuation) {
            // The session goes on: its params and first start stay, and an earlier end no longer holds.
            auto earlier = detail::tb::read_session(r->main.dir);
            if (earlier) r->session = std::move(*earlier);
            if (r->session.start_time_secs == 0.0) r->session.start_time_secs = start;
            if (r->session.status) r->session.status = detail::tb::session_status::unknown;
            r->session_dirty = !earlier || r->session.status.has_value();
        } else {
            r->session.start_time_secs = start;
            r->session_dirty = true;
        }
        std::string experiment_error;  // reported once the run itself is open
        try {
            detail::tb::withdraw_other_declarations(logdir_, info.experiment);
            if (options_.experiment && experiments_written_.insert(info.experiment).second)
                detail::tb::write_declaration(logdir_, info.experiment, *options_.experiment,
                                              detail::tb::wall_seconds(time_ns), options_.writer, options_.fsync);
        } catch (const std::exception& ex) {
            experiment_error = ex.what();
        }
        runs_[info.id] = std::move(r);
        if (!experiment_error.empty()) throw std::runtime_error(experiment_error);
    }

    /// The records a new file of stream `s` starts with: file_version, the START its opening calls for, and
    /// (in the run folder's first file, or a restart) the run metadata as text.
    std::pair<std::string, std::size_t> file_head(const run& r, const stream& s) const {
        std::string head;
        std::size_t records = 1;
        const double now = detail::tb::wall_seconds(r.last_time_ns);
        detail::tb::file_version_record(head, now, options_.writer);
        if (*s.kind != opening::continuation) {
            const std::int64_t step = *s.kind == opening::first ? 0 : std::numeric_limits<std::int64_t>::min();
            detail::tb::session_start_record(head, now, step);
            ++records;
        }
        if (&s == &r.main && *s.kind != opening::continuation && options_.run_text && r.metadata.is_object() &&
            !r.metadata.empty()) {
            auto ev = detail::tb::begin_summary(head, now, 0);
            detail::tb::value_text(head, "run/metadata", detail::tb::metadata_markdown(r.metadata), true);
            detail::tb::end_summary(head, ev);
            ++records;
        }
        return {std::move(head), records};
    }

    /// Writes a run out: the session file first when it changed (it must exist before the run's first data
    /// file, so a TensorBoard that is reading the folder meets it first), then both streams.
    void flush_run(run& r, bool sync) {
        std::string errors;
        for (stream* s : {&r.main, &r.wide}) {
            try {
                flush_stream(r, *s, sync);
            } catch (const std::exception& ex) {
                errors += (errors.empty() ? "" : "; ") + std::string(ex.what());
            }
        }
        if (!errors.empty()) throw std::runtime_error(errors);
    }

    void flush_stream(run& r, stream& s, bool sync) {
        std::string session_error;  // the data is written even when the session file cannot be
        if (&s == &r.main && r.session_dirty && (r.session_due || !s.file.buf.empty() || s.file.is_open())) {
            try {
                // A folder removed while its file is open (POSIX keeps writing it) is not made again.
                std::error_code ec;
                if (s.file.is_open() && !std::filesystem::exists(s.dir, ec)) throw detail::tb::folder_gone{};
                std::filesystem::create_directories(s.dir, ec);
                detail::tb::replace_file(
                    s.dir, detail::tb::session_file_name,
                    detail::tb::encode_session(r.session, detail::tb::wall_seconds(r.last_time_ns), options_.writer),
                    sync && options_.fsync);
                r.session_dirty = r.session_due = false;
            } catch (const detail::tb::folder_gone&) {
                r.session_dirty = r.session_due = false;
            } catch (const std::exception& ex) {
                session_error = ex.what();
            }
        }
        write_stream(r, s, sync);
        if (!session_error.empty()) throw std::runtime_error(session_error);
    }

    void write_stream(run& r, stream& s, bool sync) {
        if (s.file.buf.empty()) return;
        if (!s.file.is_open() || s.file.broken()) {
            // A stream's first file (with its head), or a new one after a write that could not be cut back
            // (a continuation: the buffered records follow the new file's record 0).
            if (!s.kind) {
                const bool had = detail::tb::has_event_file(s.dir);
                s.kind = !had ? opening::first : r.kind == opening::restart ? opening::restart : opening::continuation;
            }
            if (s.file.broken()) s.kind = opening::continuation;
            s.file.close();
            try {
                s.file.create(s.dir, r.last_time_ns, options_.hostname, options_.stage);
                if (options_.stage) staged_.emplace_back(s.file.path(), s.file.final_path());
            } catch (...) {
                records_lost_ += s.file.buffered_records;
                s.file.clear_buffer();
                throw;
            }
            auto head = file_head(r, s);
            s.file.buf.insert(0, head.first);
            s.file.buffered_records += head.second;
            ++s.file.generation;  // the open Event moved: later points start a new one
        }
        s.file.write_out(sync && (options_.fsync || options_.stage), records_lost_);
    }

    void maybe_write_out(run& r) {
        for (stream* s : {&r.main, &r.wide})
            if (s->file.buf.size() >= options_.buffer_bytes) flush_stream(r, *s, false);
    }

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
