// Why: the bodies of sinks::tensorboard's cold member functions (projecting records onto events, opening,
// buffering and writing a run's event files), apart from the class so that in compiled mode
// (detail/compiled.hpp) they are compiled once, in the implementation translation unit, and not in every
// translation unit that names the sink.
#pragma once

#include "tensorboard.hpp"
#include "any.hpp"
#include "../detail/sink_files.hpp"
#include "../detail/tensorboard/declaration.hpp"
#include "../detail/tensorboard/event_file.hpp"
#include "../detail/tensorboard/format.hpp"
#include "../detail/tensorboard/png.hpp"
#include "../detail/tensorboard/scalar_events.hpp"
#include "../detail/tensorboard/session.hpp"
#include "../detail/tensorboard/summaries.hpp"

MLTRACK_NAMESPACE_BEGIN
namespace sinks {

struct tensorboard::stream {
    std::filesystem::path dir;
    detail::tb::event_file file;
    std::optional<opening> kind;  ///< decided when its first file is created (known at open for the main one)
    /// The last metric Event in the buffer, which later points of its step extend while they are within
    /// same_event_window_ns of its first point, even when they arrive in separate batches.
    detail::tb::open_event open_event;
    std::unordered_set<std::string> described;  ///< tensor tags whose metadata is in the current file
};

struct tensorboard::run {
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

template <class F>
void tensorboard::summary_value(stream& s, const std::string& tag, std::int64_t step, std::int64_t time_ns, F&& value) {
    const bool meta = s.described.find(tag) == s.described.end();
    auto ev = detail::tb::begin_summary(s.file.buf, detail::tb::wall_seconds(time_ns), step);
    value(s.file.buf, meta);
    detail::tb::end_summary(s.file.buf, ev);
    ++s.file.buffered_records;
    if (meta) s.described.insert(tag);
}

template <class F>
void tensorboard::direct(run& r, std::int64_t step, std::int64_t time_ns, F&& value, std::string_view tag) {
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

MLTRACK_INLINE std::filesystem::path tensorboard::current_file(std::uint32_t run_id) const {
    auto it = runs_.find(run_id);
    return it == runs_.end() ? std::filesystem::path() : it->second->main.file.path();
}

MLTRACK_INLINE tensorboard::tensorboard(std::filesystem::path logdir, tensorboard_options options)
    : logdir_(std::move(logdir)), options_(std::move(options)) {
    if (options_.hostname.empty()) {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) == 0) options_.hostname = host;
    }
    options_.hostname = detail::tb::sanitize_host(options_.hostname);
}

MLTRACK_INLINE tensorboard::tensorboard(tensorboard&& o) noexcept
    : logdir_(std::move(o.logdir_)),
      options_(std::move(o.options_)),
      runs_(std::move(o.runs_)),
      experiments_written_(std::move(o.experiments_written_)),
      records_lost_(o.records_lost_),
      staged_(std::move(o.staged_)) {
    o.runs_.clear();
    o.last_ = nullptr;
}
MLTRACK_INLINE tensorboard& tensorboard::operator=(tensorboard&& o) noexcept {
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

MLTRACK_INLINE tensorboard::~tensorboard() {
    try { close(); } catch (...) {}
}

MLTRACK_INLINE any::any(tensorboard&& sink) : p_(std::make_unique<model<tensorboard>>(std::move(sink))) {}

MLTRACK_INLINE std::optional<std::map<std::string, std::int64_t>> tensorboard::max_steps(const run_info& run) const {
    if (!exists(run)) return std::nullopt;
    return detail::tb::max_scalar_steps({events_dir(logdir_, run), wide_steps_dir(logdir_, run)},
                                        detail::tb::session_file_name);
}

MLTRACK_INLINE bool tensorboard::exists(const run_info& run) const {
    return detail::tb::has_event_file(events_dir(logdir_, run));
}

MLTRACK_INLINE void tensorboard::write(const batch& b) {
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

MLTRACK_INLINE void tensorboard::flush() {
    detail::for_each_collecting(runs_, [&](auto& kv) {
        settle(*kv.second);
        flush_run(*kv.second, true);
    });
}

MLTRACK_INLINE void tensorboard::close() {
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

MLTRACK_INLINE void tensorboard::write_histogram(std::uint32_t run_id, std::string_view tag, const std::vector<histogram_bucket>& buckets,
                         std::int64_t step, std::int64_t time_ns) {
    run& r = require_run(run_id);
    direct(r, step, time_ns, [&](std::string& buf, bool meta) { detail::tb::value_histogram(buf, tag, buckets, meta); }, tag);
}

MLTRACK_INLINE void tensorboard::write_image(std::uint32_t run_id, std::string_view tag, std::string_view encoded, std::uint32_t width,
                     std::uint32_t height, std::int64_t step, std::int64_t time_ns) {
    run& r = require_run(run_id);
    direct(r, step, time_ns,
           [&](std::string& buf, bool meta) { detail::tb::value_image(buf, tag, encoded, width, height, meta); }, tag);
}

MLTRACK_INLINE void tensorboard::write_text(std::uint32_t run_id, std::string_view tag, std::string_view markdown, std::int64_t step,
                    std::int64_t time_ns) {
    run& r = require_run(run_id);
    direct(r, step, time_ns, [&](std::string& buf, bool meta) { detail::tb::value_text(buf, tag, markdown, meta); }, tag);
}

MLTRACK_INLINE std::size_t tensorboard::write_at(const batch& b, std::size_t i) {
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

MLTRACK_INLINE std::size_t tensorboard::write_points(run& r, const batch& b, std::size_t i) {
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

MLTRACK_INLINE const std::string& tensorboard::encoded_tag(run& r, const metric_info& m) {
    if (m.id >= r.tags.size()) r.tags.resize(static_cast<std::size_t>(m.id) + 1);
    tag_entry& t = r.tags[m.id];
    if (t.info != &m) {
        t.info = &m;
        t.encoded = detail::tb::encode_tag(m.name);
    }
    return t.encoded;
}

MLTRACK_INLINE void tensorboard::note_step(run& r, std::int64_t step) {
    if (!r.any_step || step > r.last_step) r.last_step = step;
    r.any_step = true;
}

MLTRACK_INLINE std::int64_t tensorboard::current_step(run& r) {
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

MLTRACK_INLINE void tensorboard::on_params(run& r, const record& rec) {
    for (const auto& kv : rec.get_params()) r.session.params[kv.first] = kv.second;
    r.params_dirty = r.session_dirty = r.session_due = true;
}

MLTRACK_INLINE void tensorboard::settle(run& r) {
    if (r.params_dirty && options_.params_text && !r.session.params.empty())
        text(r, "params", detail::tb::params_markdown(r.session.params), r.last_time_ns);
    r.params_dirty = false;
}

MLTRACK_INLINE void tensorboard::on_summary(run& r, const event& e) {
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

MLTRACK_INLINE void tensorboard::on_execution(run& r, const event& e) {
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

MLTRACK_INLINE void tensorboard::on_classification(run& r, const event& e) {
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

MLTRACK_INLINE void tensorboard::text(run& r, const std::string& tag, const std::string& md, std::int64_t time_ns) {
    summary_value(r.main, tag, current_step(r), time_ns,
                  [&](std::string& buf, bool meta) { detail::tb::value_text(buf, tag, md, meta); });
}

MLTRACK_INLINE void tensorboard::on_run_end(run& r, const event& e) {
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

MLTRACK_INLINE tensorboard::run& tensorboard::require_run(std::uint32_t run_id) {
    run* r = find(run_id);
    if (!r) throw error(error_category::state, 20, "run " + std::to_string(run_id) + " is not open in this TensorBoard sink");
    return *r;
}

MLTRACK_INLINE tensorboard::run* tensorboard::find(std::uint32_t id) {
    if (last_ && last_id_ == id) return last_;
    auto it = runs_.find(id);
    if (it == runs_.end()) return nullptr;
    last_ = it->second.get();
    last_id_ = id;
    return last_;
}

MLTRACK_INLINE void tensorboard::open_run(const run_info& info, bool resumed, std::int64_t time_ns) {
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

MLTRACK_INLINE std::pair<std::string, std::size_t> tensorboard::file_head(const run& r, const stream& s) const {
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

MLTRACK_INLINE void tensorboard::flush_run(run& r, bool sync) {
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

MLTRACK_INLINE void tensorboard::flush_stream(run& r, stream& s, bool sync) {
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

MLTRACK_INLINE void tensorboard::write_stream(run& r, stream& s, bool sync) {
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

MLTRACK_INLINE void tensorboard::maybe_write_out(run& r) {
    for (stream* s : {&r.main, &r.wide})
        if (s->file.buf.size() >= options_.buffer_bytes) flush_stream(r, *s, false);
}
}  // namespace sinks
MLTRACK_NAMESPACE_END
