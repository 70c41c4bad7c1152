// Why: TensorBoard is where most people look at training curves, and its event files are simple enough to
// write without libprotobuf (detail/tensorboard_format.hpp). This sink projects the record stream onto
// TensorBoard's dashboards: metrics and summary metrics become scalars, params the HParams dashboard and a
// text table, classification metrics a confusion-matrix image and (binary case) a PR curve, run ends the
// session status. Layout: <logdir>/<experiment>/<run>/events.out.tfevents.<seconds>.<host>.<pid>.<n>.
// It follows the rules that keep TensorBoard from silently dropping data: a new file per opening (never an
// append, so a crash's torn record is never followed by new bytes), file_version first and flushed at once,
// SessionLog START at the first step of every file, simple_value always written, complete records only in
// each write().
#pragma once

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
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

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../detail/png.hpp"
#include "../detail/sink_files.hpp"
#include "../detail/tensorboard_format.hpp"
#include "../environment.hpp"
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
    /// A declared hparams experiment, written once per experiment folder (<logdir>/<experiment>/). Leave it
    /// empty to let TensorBoard infer the HParams columns from the runs (recommended).
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
        options_.hostname = sanitize_host(options_.hostname);
    }

    tensorboard(tensorboard&& o) noexcept
        : logdir_(std::move(o.logdir_)),
          options_(std::move(o.options_)),
          files_(std::move(o.files_)),
          experiments_written_(std::move(o.experiments_written_)),
          records_lost_(o.records_lost_) {
        o.files_.clear();
        o.last_ = nullptr;
    }
    tensorboard& operator=(tensorboard&& o) noexcept {
        if (this != &o) {
            try { close(); } catch (...) {}  // this sink's own files are finished first
            logdir_ = std::move(o.logdir_);
            options_ = std::move(o.options_);
            files_ = std::move(o.files_);
            experiments_written_ = std::move(o.experiments_written_);
            records_lost_ = o.records_lost_;
            o.files_.clear();
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

    /// Whether the run's folder (this rank's) already holds event files.
    bool exists(const run_info& run) const { return has_event_file(events_dir(logdir_, run)); }

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
        detail::for_each_collecting(files_, [&](auto& kv) {
            settle(*kv.second);
            flush_file(*kv.second, true);
        });
    }

    /// Writes what is buffered and closes every file. Runs that did not end get no session_end_info
    /// (TensorBoard shows their status as unknown, as after a crash).
    void close() {
        struct forget_after {
            tensorboard& s;
            ~forget_after() {
                s.files_.clear();
                s.last_ = nullptr;
            }
        } forget{*this};
        detail::for_each_collecting(files_, [&](auto& kv) {
            struct closer {
                run_file& f;
                ~closer() { close_fd(f); }
            } c{*kv.second};
            settle(*kv.second);
            flush_file(*kv.second, true);
        });
    }

    // ---- direct writes: summaries that have no record kind yet. They need the run to be open in this sink
    // (a run_start/run_resume event written, no run_end yet), so they are for code that drives the sink
    // itself (replay, tools, tests); through a tracker they arrive with their record kinds.

    /// A histogram (see mltrack::tensorboard_histogram) at `step`.
    void write_histogram(std::uint32_t run_id, std::string_view tag, const std::vector<histogram_bucket>& buckets,
                         std::int64_t step, std::int64_t time_ns) {
        run_file& f = require_run(run_id);
        direct(f, step, time_ns, [&](std::string& buf, bool meta) { detail::tb::value_histogram(buf, tag, buckets, meta); }, tag);
    }

    /// An image (PNG, JPEG, GIF or BMP bytes) at `step`.
    void write_image(std::uint32_t run_id, std::string_view tag, std::string_view encoded, std::uint32_t width,
                     std::uint32_t height, std::int64_t step, std::int64_t time_ns) {
        run_file& f = require_run(run_id);
        direct(f, step, time_ns,
               [&](std::string& buf, bool meta) { detail::tb::value_image(buf, tag, encoded, width, height, meta); }, tag);
    }

    /// Markdown text at `step`.
    void write_text(std::uint32_t run_id, std::string_view tag, std::string_view markdown, std::int64_t step,
                    std::int64_t time_ns) {
        run_file& f = require_run(run_id);
        direct(f, step, time_ns, [&](std::string& buf, bool meta) { detail::tb::value_text(buf, tag, markdown, meta); }, tag);
    }

    // ---- inspection

    /// The event file a run currently writes (empty when the run is not open here).
    std::filesystem::path current_file(std::uint32_t run_id) const {
        auto it = files_.find(run_id);
        return it == files_.end() ? std::filesystem::path() : it->second->path;
    }

    /// Records that could not be written (disk full, folder removed...), over the sink's life.
    std::uint64_t records_lost() const noexcept { return records_lost_; }

private:
    struct tag_entry {
        const metric_info* info = nullptr;
        std::string encoded;  ///< `0a <len> tag`
    };

    struct run_file {
        int fd = -1;
        std::filesystem::path dir;
        std::filesystem::path path;
        std::string buf;
        std::size_t buffered_records = 0;
        std::uint64_t committed = 0;  ///< file size after the last complete write
        std::uint64_t generation = 0; ///< bumped whenever the buffer is emptied
        bool broken = false;          ///< a failed write could not be cut back: the next write starts a new file

        std::string experiment;
        std::string name;
        std::int64_t start_time_ns = 0;
        std::int64_t last_time_ns = 0; ///< wall time of the latest event, for records written on flush
        std::string group;             ///< hparams group_name (run metadata "group")
        bool started = false;          ///< SessionLog START written to the current file
        bool any_step = false;
        std::int64_t last_step = 0;    ///< the largest step seen in this opening
        std::vector<tag_entry> tags;   ///< by metric id
        /// The last metric Event in the buffer, which later points of its step extend while they are within
        /// same_event_window_ns of its first point, even when they arrive in separate batches. `time_ns` is
        /// that first point's time (the Event's wall_time).
        struct {
            std::size_t record = 0, len_at = 0, values_at = 0, end = 0;
            std::uint64_t generation = ~0ull;
            std::int64_t step = 0, time_ns = 0;
        } open_event;
        std::unordered_set<std::string> described;  ///< tensor tags whose metadata is in the current file

        std::map<std::string, param_value> params;  ///< latest value per key
        bool params_dirty = false;     ///< params arrived since the last table
        bool hparams_written = false;  ///< session_start_info written in this opening
        bool force_hparams = true;     ///< write it even without params (fresh runs; a resumed run keeps
                                       ///< the first opening's, since TensorBoard uses the first per folder)
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
        run_file* fp = find(e.run->id);
        if (!fp) return 1;  // the run could not be opened; that error was reported then
        run_file& f = *fp;
        f.last_time_ns = e.time_ns;
        if (e.kind == record_kind::run_end) {
            settle(f, true);
            on_run_end(f, e);
            return 1;
        }
        std::size_t used = 1;
        const std::size_t mark = f.buf.size();
        const std::size_t records = f.buffered_records;
        try {
            if (e.kind != record_kind::params && (f.params_dirty || (!f.hparams_written && f.force_hparams)))
                settle(f, true);
            switch (e.kind) {
                case record_kind::metric: used = write_points(f, b, i); break;
                case record_kind::params: on_params(f, *e.payload); break;
                case record_kind::summary: on_summary(f, e); break;
                case record_kind::classification: on_classification(f, e); break;
                case record_kind::artifact: on_artifact(f, e); break;
                case record_kind::execution: on_execution(f, e); break;
                case record_kind::histogram: {
                    const histogram& h = e.payload->get_histogram();
                    direct(f, e.step, e.time_ns,
                           [&](std::string& buf, bool meta) { detail::tb::value_histogram(buf, h.name, h.buckets, meta); },
                           h.name);
                    break;
                }
                default: break;
            }
        } catch (...) {
            // Never leave half a record in the buffer.
            f.buf.resize(mark);
            f.buffered_records = records;
            throw;
        }
        maybe_write_out(f);
        return used;
    }

    /// Metric points of one run and step less than this apart (from the Event's first point) share one Event:
    /// loss, lr and accuracy logged by separate calls at a step then pay one Event's framing, not one each.
    /// The Event's wall_time is its first point's, so the others' are off by under 1 ms in TensorBoard; the
    /// JSONL file keeps every point's exact time.
    static constexpr std::int64_t same_event_window_ns = 1'000'000;

    static bool within_window(std::int64_t a, std::int64_t b) noexcept {
        const auto d = a >= b ? static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b)
                              : static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a);
        return d < static_cast<std::uint64_t>(same_event_window_ns);
    }

    std::size_t write_points(run_file& f, const batch& b, std::size_t i) {
        const event& first = b[i];
        if (!f.started) start_session(f, first.step, first.time_ns);
        auto& open = f.open_event;
        const bool extend = open.generation == f.generation && open.end == f.buf.size() &&
                            open.step == first.step && within_window(first.time_ns, open.time_ns);
        const std::int64_t event_time = extend ? open.time_ns : first.time_ns;  // the Event's wall_time
        // Everything that can throw (tag encoding, buffer growth) happens before the buffer is touched, so
        // an extended Event is never left without its footer.
        std::size_t n = 0, bytes = 64;
        for (; i + n < b.size(); ++n) {
            const event& e = b[i + n];
            if (n > 0 && (e.kind != record_kind::metric || e.run != first.run || e.step != first.step ||
                          !within_window(e.time_ns, event_time)))
                break;
            bytes += encoded_tag(f, *e.metric).size() + 16;
        }
        f.buf.reserve(f.buf.size() + bytes);
        note_step(f, first.step);
        const std::string& tag1 = f.tags[first.metric->id].encoded;
        if (n == 1 && !extend && tag1.size() + 7 < 128) {
            // The common case, one point that starts an Event (later points may extend it): the whole record
            // is built in one stack buffer and appended once (the same bytes as the general path below).
            char tmp[12 + 9 + 11 + 2 + 128 + 4];
            char* p = tmp + 12;
            *p++ = '\x09';  // Event.wall_time
            detail::pb::put_fixed64(p, detail::pb::double_bits(detail::tb::wall_seconds(event_time)));
            p += 8;
            if (first.step != 0) {
                *p++ = '\x10';  // Event.step
                p = detail::pb::put_varint(p, static_cast<std::uint64_t>(first.step));
            }
            *p++ = '\x2a';  // Event.summary
            const std::size_t len_off = static_cast<std::size_t>(p - tmp);
            *p++ = static_cast<char>(tag1.size() + 7);
            *p++ = '\x0a';  // Summary.value
            *p++ = static_cast<char>(tag1.size() + 5);
            std::memcpy(p, tag1.data(), tag1.size());
            p += tag1.size();
            *p++ = '\x15';  // simple_value
            detail::pb::put_fixed32(p, detail::pb::float_bits(static_cast<float>(first.value)));
            p += 4;
            const auto len = static_cast<std::size_t>(p - tmp - 12);
            detail::pb::put_fixed64(tmp, len);
            detail::pb::put_fixed32(tmp + 8, detail::masked_crc32c(tmp, 8));
            detail::pb::put_fixed32(p, detail::masked_crc32c(tmp + 12, len));
            p += 4;
            open.record = f.buf.size();
            f.buf.append(tmp, static_cast<std::size_t>(p - tmp));
            open.len_at = open.record + len_off;
            open.values_at = open.len_at + 1;
            ++f.buffered_records;
            open.end = f.buf.size();
            open.generation = f.generation;
            open.step = first.step;
            open.time_ns = event_time;
            return 1;
        }
        if (extend) {
            f.buf.resize(f.buf.size() - 4);  // the footer (CRC) is recomputed below
        } else {
            open.record = detail::tb::begin_record(f.buf);
            detail::tb::event_head(f.buf, detail::tb::wall_seconds(event_time), first.step);
            f.buf += '\x2a';  // Event.summary
            open.len_at = f.buf.size();
            f.buf += '\0';
            open.values_at = f.buf.size();
            ++f.buffered_records;
        }
        for (std::size_t k = 0; k < n; ++k) {
            const event& e = b[i + k];
            detail::tb::value_simple_encoded(f.buf, f.tags[e.metric->id].encoded, static_cast<float>(e.value));
        }
        // The Summary's length: one byte until 128 bytes of values, then the values move right.
        const std::size_t body = f.buf.size() - open.values_at;
        const std::size_t have = open.values_at - open.len_at, need = detail::pb::varint_size(body);
        if (need > have) {
            f.buf.insert(open.values_at, need - have, '\0');
            open.values_at = open.len_at + need;
        }
        detail::pb::put_varint(&f.buf[open.len_at], body);
        detail::tb::end_record(f.buf, open.record);
        open.end = f.buf.size();
        open.generation = f.generation;
        open.step = first.step;
        open.time_ns = event_time;
        return n;
    }

    const std::string& encoded_tag(run_file& f, const metric_info& m) {
        if (m.id >= f.tags.size()) f.tags.resize(static_cast<std::size_t>(m.id) + 1);
        tag_entry& t = f.tags[m.id];
        if (t.info != &m) {
            t.info = &m;
            t.encoded = detail::tb::encode_tag(m.name);
        }
        return t.encoded;
    }

    void note_step(run_file& f, std::int64_t step) {
        if (!f.any_step || step > f.last_step) f.last_step = step;
        f.any_step = true;
    }

    /// The step for records that have none: the last step seen in this opening, or 0.
    static std::int64_t current_step(const run_file& f) { return f.any_step ? f.last_step : 0; }

    void on_params(run_file& f, const record& r) {
        for (const auto& kv : r.get_params()) f.params[kv.first] = kv.second;
        f.params_dirty = true;
    }

    /// Writes what params left pending: session_start_info (once per opening; TensorBoard keeps the first
    /// per run folder) and the params table. `force_hparams` writes the start info even without params, so
    /// every run is a session of the HParams dashboard; a periodic flush does not force it, so params logged
    /// right after start_run still make it into the start info.
    void settle(run_file& f, bool force_hparams = false) {
        const bool want_hparams = !f.hparams_written && (f.params_dirty || (force_hparams && f.force_hparams));
        if (!want_hparams && !(f.params_dirty && options_.params_text)) {
            f.params_dirty = false;
            return;
        }
        const std::int64_t now = f.last_time_ns;
        if (want_hparams) {
            const std::string content = detail::tb::hparams_session_start(
                f.params, f.group, detail::tb::wall_seconds(f.start_time_ns));
            auto ev = detail::tb::begin_summary(f.buf, detail::tb::wall_seconds(now), 0);
            detail::tb::value_hparams(f.buf, "_hparams_/session_start_info", content);
            detail::tb::end_summary(f.buf, ev);
            ++f.buffered_records;
            f.hparams_written = true;
        }
        if (f.params_dirty && options_.params_text && !f.params.empty()) {
            std::string md = "| param | value |\n|---|---|\n";
            for (const auto& kv : f.params)
                md += "| " + detail::tb::markdown_cell(kv.first) + " | " + detail::tb::markdown_cell(kv.second.to_text()) +
                      " |\n";
            summary_value(f, "params", current_step(f), now,
                          [&](std::string& buf, bool meta) { detail::tb::value_text(buf, "params", md, meta); });
        }
        f.params_dirty = false;
    }

    void on_summary(run_file& f, const event& e) {
        const std::int64_t step = current_step(f);
        auto ev = detail::tb::begin_summary(f.buf, detail::tb::wall_seconds(e.time_ns), step);
        for (const auto& kv : e.payload->get_values())
            detail::tb::value_simple(f.buf, kv.first, static_cast<float>(kv.second));
        detail::tb::end_summary(f.buf, ev);
        ++f.buffered_records;
    }

    void on_classification(run_file& f, const event& e) {
        const auto& c = e.payload->get_classification();
        const std::string base = c.display_name.empty() ? std::string("classification") : c.display_name;
        const std::int64_t step = current_step(f);
        const std::size_t n = c.labels.size();
        if (n > 0 && c.matrix.size() == n) {
            if (options_.confusion_matrix_image) {
                const auto img = detail::render_confusion_matrix(c.matrix);
                const std::string tag = base + "/confusion_matrix";
                summary_value(f, tag, step, e.time_ns, [&](std::string& buf, bool meta) {
                    detail::tb::value_image(buf, tag, img.png, img.width, img.height, meta);
                });
            }
            // The matrix with its labels as a table: true class down, predicted class across.
            std::vector<std::string> cells;
            cells.reserve((n + 1) * (n + 1));
            cells.emplace_back("true \\ predicted");
            for (const auto& l : c.labels) cells.push_back(detail::tb::markdown_cell(l));
            for (std::size_t r = 0; r < n; ++r) {
                cells.push_back(detail::tb::markdown_cell(c.labels[r]));
                for (std::size_t k = 0; k < n; ++k) cells.push_back(std::to_string(c.matrix[r][k]));
            }
            const std::string tag = base + "/confusion_matrix_table";
            summary_value(f, tag, step, e.time_ns, [&](std::string& buf, bool meta) {
                detail::tb::value_text_table(buf, tag, cells, n + 1, n + 1, meta);
            });
        }
        // A PR curve needs class totals next to the ROC points: the binary case with a 2x2 matrix, the second
        // label being the positive class.
        if (options_.pr_curves && n == 2 && c.matrix.size() == 2 && !c.fpr.empty()) {
            const double pos = static_cast<double>(c.matrix[1][0] + c.matrix[1][1]);
            const double neg = static_cast<double>(c.matrix[0][0] + c.matrix[0][1]);
            std::vector<std::size_t> order(c.fpr.size());
            for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
            std::stable_sort(order.begin(), order.end(),
                             [&](std::size_t a, std::size_t b) { return c.thresholds[a] < c.thresholds[b]; });
            std::vector<detail::tb::pr_point> pts;
            pts.reserve(order.size());
            for (auto k : order) {
                detail::tb::pr_point p;
                p.tp = c.tpr[k] * pos;
                p.fp = c.fpr[k] * neg;
                p.fn = pos - p.tp;
                p.tn = neg - p.fp;
                pts.push_back(p);
            }
            const std::string tag = base + "/pr_curves";
            summary_value(f, tag, step, e.time_ns,
                          [&](std::string& buf, bool meta) { detail::tb::value_pr_curve(buf, tag, pts, meta); });
        }
    }

    void on_artifact(run_file& f, const event& e) {
        if (!options_.run_text) return;
        const auto& a = e.payload->get_artifact();
        std::string md = "**" + std::string(to_string(a.type)) + "** `" + a.name + "`";
        if (a.size) md += ", " + std::to_string(a.size) + " bytes";
        if (!a.framework.empty()) md += ", " + a.framework + (a.framework_version.empty() ? "" : " " + a.framework_version);
        if (!a.sha256.empty()) md += "\n\nsha256 `" + a.sha256 + "`";
        if (!a.path.empty()) md += "\n\nstored as `" + a.path + "` in the run folder";
        if (!a.source.empty()) md += "\n\nfrom `" + a.source + "`";
        const std::string tag = "artifacts/" + a.name;
        summary_value(f, tag, current_step(f), e.time_ns,
                      [&](std::string& buf, bool meta) { detail::tb::value_text(buf, tag, md, meta); });
    }

    void on_execution(run_file& f, const event& e) {
        if (!options_.run_text) return;
        const auto& x = e.payload->get_execution();
        std::string md = "**" + x.name + "** (" + x.schema_title + ", " + to_string(x.state) + ")\n\ninputs:";
        for (const auto& a : x.inputs) md += " `" + a.name + "`";
        md += "\n\noutputs:";
        for (const auto& a : x.outputs) md += " `" + a.name + "`";
        const std::string tag = "executions/" + x.name;
        summary_value(f, tag, current_step(f), e.time_ns,
                      [&](std::string& buf, bool meta) { detail::tb::value_text(buf, tag, md, meta); });
    }

    void on_run_end(run_file& f, const event& e) {
        const std::string content = detail::tb::hparams_session_end(detail::tb::status_of(e.payload->get_state()),
                                                                    detail::tb::wall_seconds(e.time_ns));
        auto ev = detail::tb::begin_summary(f.buf, detail::tb::wall_seconds(e.time_ns), 0);
        detail::tb::value_hparams(f.buf, "_hparams_/session_end_info", content);
        detail::tb::end_summary(f.buf, ev);
        ++f.buffered_records;
        const std::uint32_t id = e.run->id;
        auto it = files_.find(id);
        auto owned = std::move(it->second);
        files_.erase(it);
        last_ = nullptr;
        try {
            flush_file(*owned, true);
        } catch (...) {
            close_fd(*owned);
            throw;
        }
        close_fd(*owned);
    }

    /// Appends one Event with one tensor-form Summary.Value; `value(buf, with_metadata)` writes the value,
    /// with the plugin metadata the first time the tag appears in the current file.
    template <class F>
    void summary_value(run_file& f, const std::string& tag, std::int64_t step, std::int64_t time_ns, F&& value) {
        const bool meta = f.described.find(tag) == f.described.end();
        auto ev = detail::tb::begin_summary(f.buf, detail::tb::wall_seconds(time_ns), step);
        value(f.buf, meta);
        detail::tb::end_summary(f.buf, ev);
        ++f.buffered_records;
        if (meta) f.described.insert(tag);
    }

    template <class F>
    void direct(run_file& f, std::int64_t step, std::int64_t time_ns, F&& value, std::string_view tag) {
        const std::size_t mark = f.buf.size();
        const std::size_t records = f.buffered_records;
        f.last_time_ns = time_ns;
        try {
            settle(f, true);
            if (!f.started) start_session(f, step, time_ns);
            note_step(f, step);
            summary_value(f, std::string(tag), step, time_ns, value);
        } catch (...) {
            f.buf.resize(mark);
            f.buffered_records = records;
            throw;
        }
        maybe_write_out(f);
    }

    run_file& require_run(std::uint32_t run_id) {
        run_file* f = find(run_id);
        if (!f)
            throw error(error_category::state, 20,
                        "run " + std::to_string(run_id) + " is not open in this TensorBoard sink");
        return *f;
    }

    // ------------------------------------------------------------------ files

    run_file* find(std::uint32_t id) {
        if (last_ && last_id_ == id) return last_;
        auto it = files_.find(id);
        if (it == files_.end()) return nullptr;
        last_ = it->second.get();
        last_id_ = id;
        return last_;
    }

    void open_run(const run_info& run, bool resumed, std::int64_t time_ns) {
        // The same id opened again (a replay of another run, or a resume in one stream): finish the old file.
        auto old = files_.find(run.id);
        if (old != files_.end()) {
            auto owned = std::move(old->second);
            files_.erase(old);
            last_ = nullptr;
            try {
                settle(*owned);
                flush_file(*owned, true);
            } catch (...) {
                close_fd(*owned);
                throw;
            }
            close_fd(*owned);
        }
        last_ = nullptr;
        auto f = std::make_unique<run_file>();
        f->dir = events_dir(logdir_, run);
        f->experiment = run.experiment;
        f->name = run.name;
        f->start_time_ns = run.start_time_ns ? run.start_time_ns : time_ns;
        f->last_time_ns = time_ns;
        f->force_hparams = !resumed;
        if (run.metadata.is_object()) {
            auto g = run.metadata.find("group");
            if (g != run.metadata.end() && g->is_string()) f->group = g->get<std::string>();
        }
        std::string experiment_error;
        if (options_.experiment && experiments_written_.insert(run.experiment).second) {
            try {
                write_experiment(run.experiment, time_ns);
            } catch (const std::exception& ex) {
                experiment_error = ex.what();  // reported once the run itself is open
            }
        }
        create_file(*f, time_ns);
        // A fresh run's file starts its session at step 0; a resumed run's waits for its first step.
        if (!resumed) start_session(*f, 0, time_ns);
        flush_file(*f, false);  // record 0 reaches the file at once
        run_file& ref = *f;
        files_[run.id] = std::move(f);
        if (options_.run_text && run.metadata.is_object() && !run.metadata.empty()) {
            std::string md = "| key | value |\n|---|---|\n";
            for (auto it = run.metadata.begin(); it != run.metadata.end(); ++it) {
                // The captured environment is shown by its safe subset only (no user, command line, paths).
                const auto& v = it.key() == "environment" ? environment_text_subset(*it) : *it;
                md += "| " + detail::tb::markdown_cell(it.key()) + " | " +
                      detail::tb::markdown_cell(v.is_string() ? v.get<std::string>() : v.dump()) + " |\n";
            }
            summary_value(ref, "run/metadata", 0, time_ns,
                          [&](std::string& buf, bool meta) { detail::tb::value_text(buf, "run/metadata", md, meta); });
        }
        if (!experiment_error.empty()) throw std::runtime_error(experiment_error);
    }

    void start_session(run_file& f, std::int64_t step, std::int64_t time_ns) {
        detail::tb::session_start_record(f.buf, detail::tb::wall_seconds(time_ns), step);
        ++f.buffered_records;
        f.started = true;
    }

    /// A new event file in f.dir, whose name sorts after every event file already there (TensorBoard's
    /// Python reader reads a run's files in name order), created exclusively (never appended to).
    void create_file(run_file& f, std::int64_t time_ns) {
        std::error_code ec;
        std::filesystem::create_directories(f.dir, ec);
        if (ec)
            throw error(error_category::io, 20, "cannot create TensorBoard run folder " + f.dir.string() + ": " + ec.message());
        std::string latest;
        for (const auto& entry : std::filesystem::directory_iterator(f.dir, ec)) {
            const std::string n = entry.path().filename().string();
            if (n.find("tfevents") != std::string::npos && n > latest) latest = n;
        }
        const std::int64_t wall = time_ns / 1000000000;
        std::int64_t secs = wall > 0 ? wall : 0;
        for (int attempt = 0;; ++attempt) {
            const std::string file = file_name(secs, next_counter());
            if (!latest.empty() && !(file > latest)) {
                // Same second and a counter that sorts lower (".10" < ".9"), or a clock behind an earlier
                // writer: move past the latest file's seconds.
                secs = std::max(secs, seconds_of(latest)) + 1;
                continue;
            }
            f.path = f.dir / file;
            f.fd = ::open(f.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (f.fd >= 0) break;
            if (errno != EEXIST || attempt > 100)
                throw error(error_category::io, 21, "cannot create event file " + f.path.string() + ": " + std::strerror(errno));
        }
        f.committed = 0;
        f.broken = false;
        f.started = false;
        f.described.clear();
        detail::tb::file_version_record(f.buf, detail::tb::wall_seconds(time_ns), options_.writer);
        ++f.buffered_records;
    }

    /// After a write that could not be cut back: continue in a new file, as a resume does (the buffered
    /// records follow the new file's record 0).
    void reopen(run_file& f) {
        close_fd(f);
        std::string pending = std::move(f.buf);
        const std::size_t records = f.buffered_records;
        ++f.generation;
        f.buf.clear();
        f.buffered_records = 0;
        try {
            create_file(f, f.last_time_ns);
        } catch (...) {
            f.buf.clear();
            f.buffered_records = 0;
            records_lost_ += records;
            throw;
        }
        f.buf += pending;
        f.buffered_records += records;
    }

    void write_experiment(const std::string& experiment, std::int64_t time_ns) {
        const std::filesystem::path dir = logdir_ / experiment;
        if (has_event_file(dir)) return;  // written before (by an earlier process or rank)
        run_file f;
        f.dir = dir;
        create_file(f, time_ns);
        auto ev = detail::tb::begin_summary(f.buf, detail::tb::wall_seconds(time_ns), 0);
        detail::tb::value_hparams(f.buf, "_hparams_/experiment", detail::tb::hparams_experiment(*options_.experiment));
        detail::tb::end_summary(f.buf, ev);
        ++f.buffered_records;
        try {
            flush_file(f, true);
        } catch (...) {
            close_fd(f);
            throw;
        }
        close_fd(f);
    }

    void maybe_write_out(run_file& f) {
        if (f.buf.size() >= options_.buffer_bytes) flush_file(f, false);
    }

    /// One write() per buffer of complete records. A failed or short write is cut back to the last complete
    /// buffer, so a file never holds a torn record followed by more data.
    void flush_file(run_file& f, bool sync) {
        if (f.broken) reopen(f);
        if (f.fd < 0) return;
        if (!f.buf.empty()) {
            const auto r = detail::append_committed(f.fd, f.buf, f.committed);
            const auto lost = f.buffered_records;
            f.buf.clear();
            f.buffered_records = 0;
            ++f.generation;
            if (!r.ok) {
                if (!r.cut_back) f.broken = true;  // the next write starts a new file
                records_lost_ += lost;
                throw error(error_category::io, 22,
                            "cannot write " + f.path.string() + ": " + std::strerror(r.error) + " (" +
                                std::to_string(lost) + " records lost)");
            }
        }
        if (sync && options_.fsync && ::fdatasync(f.fd) != 0)
            throw error(error_category::io, 23, "cannot sync " + f.path.string() + ": " + std::strerror(errno));
    }

    static void close_fd(run_file& f) noexcept {
        if (f.fd >= 0) ::close(f.fd);
        f.fd = -1;
    }

    std::string file_name(std::int64_t secs, std::uint64_t n) const {
        char head[48];
        std::snprintf(head, sizeof head, "events.out.tfevents.%010lld.", static_cast<long long>(secs));
        return head + options_.hostname + "." + std::to_string(static_cast<long long>(::getpid())) + "." +
               std::to_string(n);
    }

    static std::int64_t seconds_of(const std::string& file) {
        const std::string prefix = "events.out.tfevents.";
        const auto at = file.find(prefix);
        if (at == std::string::npos) return 0;
        std::int64_t s = 0;
        for (std::size_t i = at + prefix.size(); i < file.size() && file[i] >= '0' && file[i] <= '9'; ++i)
            s = s * 10 + (file[i] - '0');
        return s;
    }

    /// A process-wide counter, as TensorBoard's own writer has, so two sinks never pick one name.
    static std::uint64_t next_counter() {
        static std::atomic<std::uint64_t> counter{0};
        return counter.fetch_add(1, std::memory_order_relaxed);
    }

    static bool has_event_file(const std::filesystem::path& dir) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
            const std::string n = entry.path().filename().string();
            if (n.find("tfevents") != std::string::npos && entry.is_regular_file(ec)) return true;
        }
        return false;
    }

    static std::string sanitize_host(const std::string& h) {
        std::string out;
        for (char c : h)
            out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
        if (out.empty()) out = "localhost";
        return out.substr(0, 64);
    }

    std::filesystem::path logdir_;
    tensorboard_options options_;
    std::unordered_map<std::uint32_t, std::unique_ptr<run_file>> files_;
    std::set<std::string> experiments_written_;
    run_file* last_ = nullptr;
    std::uint32_t last_id_ = 0;
    std::uint64_t records_lost_ = 0;
};

}  // namespace sinks
MLTRACK_NAMESPACE_END
