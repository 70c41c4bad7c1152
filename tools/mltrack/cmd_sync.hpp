// Why: on a cluster, runs are logged offline to JSONL and looked at elsewhere. `mltrack sync` replays each
// run's records into another sink with the library's own replay() (the code path a live tracker uses), and
// keeps a cursor per run and destination, so running it again sends nothing new, an interrupted sync
// resumes where it stopped, and a run still being written is sent as far as it is complete.
//
// The cursor is <run>/.sync/<destination id>.cursor (or under --cursors DIR), a one-line JSON object with
// the destination and the number of records already sent; the id is the first 16 hex digits of the
// SHA-256 of the destination ("tensorboard:" + its absolute path). To TensorBoard, the records and the cursor
// move together, so a sync killed at any moment neither loses nor repeats a point: the sink writes its event
// files under a name TensorBoard does not read (staged), the cursor is replaced (atomically, by rename) with
// the new count and the staged files it covers ("pending"), and only then are those files renamed into
// place. The next sync first finishes that: it renames the pending files a cursor names, and deletes other
// staged files (written by a sync that died before its cursor moved; their records are sent again).
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <mltrack/detail/sha256.hpp>
#include <mltrack/reader.hpp>
#include <mltrack/record_stream.hpp>
#include <mltrack/replay.hpp>
#include <mltrack/sinks/tensorboard.hpp>
#include <mltrack/summary.hpp>

#ifdef MLTRACK_CLI_WITH_VERTEX
#include <mltrack/sinks/vertex_ai.hpp>
#endif
#ifdef MLTRACK_CLI_WITH_MLFLOW
#include <mltrack/sinks/mlflow.hpp>
#endif

#include "cli.hpp"
#include "read_progress.hpp"
#include "runs.hpp"
#include "text.hpp"

namespace mltrack_cli {

inline const char* const sync_help =
    R"(usage: mltrack sync [ROOT] --to tensorboard:DIR|vertex:PROJECT/LOCATION|mlflow:URI [--experiment E]... [--cursors DIR] [--dry-run] [--force] [--vertex-ids exact|hashed]

Replays the JSONL runs under ROOT (a root, an experiment or a run folder; default ./mlruns) into another
sink, through the same code a live tracker uses. Idempotent: a cursor per run and destination records how
many records were sent, so a second sync sends nothing, an interrupted one resumes where it stopped, and a
run still being written is sent as far as its complete lines go (the rest on the next sync).

destinations:
  tensorboard:DIR     TensorBoard event files under DIR/<experiment>/<run>/ (a new event file per sync
                      that sends something; view with: tensorboard --logdir DIR). A sync killed at any
                      moment loses and repeats nothing: the next one finishes or redoes its work
  vertex:PROJECT/LOC  Vertex AI Experiments in PROJECT at location LOC (when mltrack was built with libcurl).
                      Credentials, endpoints and the staging bucket for models come from the environment
                      (docs/vertex.md); the cursor moves only when the service has taken everything
  mlflow:URI          an MLflow tracking server (http(s)://host:port; when mltrack was built with libcurl).
                      Credentials and TLS settings come from MLflow's variables (MLFLOW_TRACKING_TOKEN,
                      MLFLOW_TRACKING_USERNAME/PASSWORD...; docs/mlflow.md); a run is the MLflow run of its
                      name, created or continued; the cursor moves only when the server has taken everything

options:
  -t, --to DEST        where to send (required)
  -e, --experiment E   only runs of experiment E (repeatable)
      --cursors DIR    keep cursors under DIR/<experiment>/<run>/ instead of <run>/.sync/ (read-only roots)
  -n, --dry-run        say what would be sent, send nothing, move no cursor
      --force          send runs from their first record even when the destination already has event
                       files for a run without a cursor (TensorBoard then shows the new copy in place of the
                       older one: see docs/tensorboard.md). Without it such runs (a live TensorBoard sink
                       wrote them) are skipped with a note, and do not make the exit status 1
      --vertex-ids M   exact (default): a run or experiment name is its Vertex id, as the Python SDK does, and
                       names outside the id rule are reported (name.40-42) and skipped; hashed: such names map
                       to "<lowercased>-<6 hex>" ids with the name as display name (docs/vertex.md). A hashed
                       sync keeps its own cursors
  -h, --help           this help

Progress: a live line on a terminal (runs, points, rate), one line per run otherwise.
exit status: 0 every run synced, up to date or skipped; 1 a run failed or had malformed lines (the other
runs are synced; rerun after fixing), or no run matched --experiment; 2 usage error.
)";

/// Where a sync sends runs.
struct sync_destination {
    std::string kind;       ///< "tensorboard", "vertex" or "mlflow"
    fs::path dir;           ///< its folder (absolute; tensorboard)
    std::string project;    ///< vertex
    std::string location;   ///< vertex
    std::string uri;        ///< mlflow: the tracking URI
    bool hashed_ids = false;  ///< vertex: --vertex-ids hashed
    std::string canonical;  ///< "tensorboard:<absolute dir>", hashed into the cursor's name
    std::string id;         ///< 16 hex digits
};

/// The destination --to names; a Vertex one with hashed ids (--vertex-ids hashed) has a canonical name, and so
/// cursors, of its own.
inline sync_destination parse_destination(const std::string& to, bool hashed_ids = false) {
    const auto colon = to.find(':');
    if (colon == std::string::npos || colon + 1 >= to.size())
        throw usage_error("--to needs KIND:WHERE, e.g. tensorboard:runs/tb (got '" + to + "')");
    sync_destination d;
    d.kind = to.substr(0, colon);
    const std::string where = to.substr(colon + 1);
    if (d.kind == "vertex") {
        const auto slash = where.find('/');
        if (slash == std::string::npos || slash == 0 || slash + 1 >= where.size() ||
            where.find('/', slash + 1) != std::string::npos)
            throw usage_error("--to vertex:PROJECT/LOCATION, e.g. vertex:my-project/us-central1 (got '" + to + "')");
#ifndef MLTRACK_CLI_WITH_VERTEX
        throw command_error("sync to Vertex AI is not available in this build of mltrack (the command is built "
                            "without libcurl); use tensorboard:DIR, or the Vertex AI sink in a live tracker");
#endif
        d.project = where.substr(0, slash);
        d.location = where.substr(slash + 1);
        d.canonical = "vertex:" + where;
    } else if (d.kind == "mlflow") {
        std::string uri = where;
        while (!uri.empty() && uri.back() == '/') uri.pop_back();
        if (uri.rfind("http://", 0) != 0 && uri.rfind("https://", 0) != 0)
            throw usage_error("--to mlflow:URI takes a tracking server's http(s) URI, e.g. "
                              "mlflow:http://127.0.0.1:5000 (got '" + to + "')");
#ifndef MLTRACK_CLI_WITH_MLFLOW
        throw command_error("sync to MLflow is not available in this build of mltrack (the command is built "
                            "without libcurl); use tensorboard:DIR, or the MLflow sink in a live tracker");
#endif
        d.uri = uri;
        d.canonical = "mlflow:" + uri;
    } else if (d.kind == "tensorboard") {
        std::error_code ec;
        d.dir = fs::weakly_canonical(fs::absolute(where), ec);
        if (ec) d.dir = fs::absolute(where).lexically_normal();
        d.canonical = d.kind + ":" + d.dir.string();
    } else {
        throw usage_error("unknown destination kind '" + d.kind + "' (tensorboard, vertex, mlflow)");
    }
    if (hashed_ids) {
        if (d.kind != "vertex") throw usage_error("--vertex-ids applies to --to vertex:PROJECT/LOCATION only");
        d.hashed_ids = true;
        d.canonical += "#hashed-ids";
    }
    mltrack::detail::sha256 h;
    h.update(d.canonical);
    d.id = h.hex_digest().substr(0, 16);
    return d;
}

/// The cursor file of a run for a destination.
/// Rank r > 0 of a run logged by every rank has its own cursor (<id>.rank-<r>.cursor).
inline fs::path cursor_path(const run_ref& run, const sync_destination& d, const fs::path& cursors, int rank = 0) {
    const std::string name = d.id + (rank > 0 ? ".rank-" + std::to_string(rank) : std::string()) + ".cursor";
    if (!cursors.empty()) return cursors / run.experiment / run.run / name;
    return run.dir / ".sync" / name;
}

/// A cursor: the records already sent, and the staged event files they are in that may not be renamed into
/// place yet (staged path, final path).
struct sync_cursor {
    std::size_t records = 0;
    std::vector<std::pair<std::string, std::string>> pending;
};

/// The cursor file's content; no records when there is none. Throws command_error when it is unreadable or
/// names another destination.
inline sync_cursor read_cursor(const fs::path& file, const sync_destination& d) {
    std::ifstream in(file);
    if (!in) return {};
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    try {
        const auto j = nlohmann::json::parse(text);
        if (j.at("destination").get<std::string>() != d.canonical)
            throw command_error(file.string() + ": cursor of another destination (" +
                                j.at("destination").get<std::string>() + ")");
        sync_cursor c;
        c.records = j.at("records").get<std::size_t>();
        if (j.contains("pending"))
            for (const auto& p : j.at("pending")) c.pending.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
        return c;
    } catch (const nlohmann::json::exception& e) {
        throw command_error(file.string() + ":1: unreadable sync cursor (" + e.what() + "); delete it to resend");
    }
}

inline void write_cursor(const fs::path& file, const sync_destination& d, const sync_cursor& c) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (ec) throw command_error("cannot create " + file.parent_path().string() + ": " + ec.message());
    nlohmann::ordered_json j;
    j["destination"] = d.canonical;
    j["records"] = c.records;
    if (!c.pending.empty()) j["pending"] = c.pending;
    const fs::path tmp = file.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << j.dump() << '\n';
        out.flush();
        if (!out) throw command_error("cannot write " + tmp.string());
    }
    fs::rename(tmp, file, ec);
    if (ec) throw command_error("cannot replace " + file.string() + ": " + ec.message());
}

/// Renames the staged event files a cursor names into place (those already renamed are skipped).
inline void commit_staged(const std::vector<std::pair<std::string, std::string>>& pending) {
    for (const auto& p : pending) {
        std::error_code ec;
        if (!fs::exists(p.first, ec)) continue;
        fs::rename(p.first, p.second, ec);
        if (ec) throw command_error("cannot rename " + p.first + " to " + p.second + ": " + ec.message());
    }
}

/// Deletes staged event files left in these folders by a sync that died before moving its cursor.
inline void drop_stale_staged(std::initializer_list<fs::path> dirs) {
    for (const auto& dir : dirs) {
        std::error_code ec;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
            if (it->path().filename().string().find("tfstaged") != std::string::npos) fs::remove(it->path(), ec);
    }
}

/// Fault injection for the tests: MLTRACK_TEST_SYNC_DIE=<point> makes the command die there (SIGKILL), as a
/// sync killed at that moment would.
inline void test_stop_point(const char* point) {
    const char* at = std::getenv("MLTRACK_TEST_SYNC_DIE");
    if (at && std::string(at) == point) std::raise(SIGKILL);
}

/// Whether a TensorBoard run folder already holds event files.
inline bool has_event_files(const fs::path& dir) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().filename().string().rfind("events.out.tfevents.", 0) == 0) return true;
    return false;
}

/// Progress on a terminal: one line rewritten at most ten times a second.
class sync_progress {
public:
    explicit sync_progress(std::size_t runs) : runs_(runs), live_(is_terminal(stderr)), t0_(clock::now()) {}

    void run_done(const std::string& label, std::size_t records, std::size_t points, const std::string& note) {
        ++done_;
        points_ += points;
        if (live_) {
            draw(false);
        } else if (records || !note.empty()) {
            std::fprintf(stderr, "mltrack sync: %s: %s\n", label.c_str(),
                         (note.empty() ? std::to_string(records) + " records (" + std::to_string(points) + " points)"
                                       : note)
                             .c_str());
        }
    }
    /// Prints a message without breaking the live line.
    void message(const std::string& m) {
        if (live_) std::fputs("\r\033[K", stderr);
        std::fprintf(stderr, "mltrack sync: %s\n", m.c_str());
        if (live_) draw(true);
    }
    void finish() {
        if (live_) {
            draw(true);
            std::fputc('\n', stderr);
        }
    }
    std::size_t points() const { return points_; }

private:
    using clock = std::chrono::steady_clock;
    void draw(bool force) {
        const auto now = clock::now();
        if (!force && now - last_ < std::chrono::milliseconds(100) && done_ != runs_) return;
        last_ = now;
        const double s = std::chrono::duration<double>(now - t0_).count();
        const int width = 24;
        const int filled = runs_ ? static_cast<int>(width * done_ / runs_) : width;
        std::fprintf(stderr, "\r\033[K[%s%s] %zu/%zu runs, %s points, %s points/s",
                     std::string(static_cast<std::size_t>(filled), '#').c_str(),
                     std::string(static_cast<std::size_t>(width - filled), '.').c_str(), done_, runs_,
                     human_count(static_cast<double>(points_)).c_str(),
                     human_count(s > 0 ? static_cast<double>(points_) / s : 0.0).c_str());
        std::fflush(stderr);
    }
    std::size_t runs_, done_ = 0, points_ = 0;
    bool live_;
    clock::time_point t0_, last_{};
};

/// Replays into a Vertex AI sink and waits for delivery; throws unless the service took every record, so the
/// cursor moves only then (the sink's ids are deterministic: a resend creates nothing twice).
inline std::size_t sync_to_vertex(const fs::path& file, const run_ref& ref, const sync_destination& dest,
                                  const mltrack::replay_options& options, const mltrack::read_options& read) {
#ifdef MLTRACK_CLI_WITH_VERTEX
    mltrack::sinks::vertex_ai_options o;
    o.project = dest.project;
    o.location = dest.location;
    if (dest.hashed_ids) o.id_mapping = mltrack::sinks::vertex_id_mapping::hashed;
    o.local_root = fs::absolute(ref.dir).parent_path().parent_path().string();  // artifact copies come from here
    o.check_exists = false;
    mltrack::sinks::vertex_ai sink{o};
    const std::size_t next = mltrack::replay(file, sink, options, read);
    sink.flush();
    sink.close();  // waits up to close_timeout for delivery; throws (io.44) with what is left
    const auto st = sink.stats();
    if (st.undelivered_points || st.undelivered_operations || st.operations_refused || st.points_rejected)
        throw command_error("Vertex AI did not take everything (" + std::to_string(st.undelivered_points) +
                            " points and " + std::to_string(st.undelivered_operations) +
                            " operations undelivered, " + std::to_string(st.operations_refused) + " refused)");
    return next;
#else
    (void)file;
    (void)ref;
    (void)dest;
    (void)options;
    (void)read;
    throw command_error("sync to Vertex AI is not available in this build of mltrack");
#endif
}

#ifdef MLTRACK_CLI_WITH_MLFLOW
/// Feeds replay() into an MLflow sink, collecting what the sink reports instead of stopping the replay: a
/// retry notice or a refused key must not cut a sync short (delivery is judged from the counters at close).
struct mlflow_collecting_sink {
    mltrack::sinks::mlflow& sink;
    std::vector<std::string>& reported;
    void write(const mltrack::batch& b) {
        try {
            sink.write(b);
        } catch (const std::exception& e) {
            reported.emplace_back(e.what());
        }
    }
    void flush() {
        try {
            sink.flush();
        } catch (const std::exception& e) {
            reported.emplace_back(e.what());
        }
    }
};
#endif

/// Replays into an MLflow sink and waits for delivery; throws unless the server took every record, so the
/// cursor moves only then (a run is found by its name before it is created, and a point sent again is the
/// same row for MLflow's SQL stores: a resend duplicates nothing; docs/mlflow.md). What the sink refused as
/// bad input (keys and values MLflow does not take, a param changing value) does not hold the cursor back:
/// it is in `notes`, and stays in the JSONL copy.
inline std::size_t sync_to_mlflow(const fs::path& file, const run_ref& ref, const sync_destination& dest,
                                  const mltrack::replay_options& options, const mltrack::read_options& read,
                                  std::vector<std::string>& notes) {
#ifdef MLTRACK_CLI_WITH_MLFLOW
    mltrack::sinks::mlflow_options o;
    o.tracking_uri = dest.uri;
    o.local_root = fs::absolute(ref.dir).parent_path().parent_path().string();  // artifact copies come from here
    o.check_exists = false;
    mltrack::sinks::mlflow sink{o};
    std::vector<std::string> reported;
    mlflow_collecting_sink collecting{sink, reported};
    const std::size_t next = mltrack::replay(file, collecting, options, read);
    collecting.flush();
    try {
        sink.close();  // waits up to close_timeout for delivery; throws (io.44) with what is left
    } catch (const std::exception& e) {
        reported.emplace_back(e.what());
    }
    std::string joined;
    for (const auto& r : reported) {
        // One report may join several; retry notices (io.46) are not news once everything arrived.
        std::size_t at = 0;
        while (at < r.size()) {
            auto end = r.find("; [mltrack.error.", at);
            if (end == std::string::npos) end = r.size();
            const std::string one = r.substr(at, end - at);
            if (one.find("[mltrack.error.io.46]") == std::string::npos) {
                notes.push_back(one);
                joined += (joined.empty() ? "" : "; ") + one;
            }
            at = end == r.size() ? end : end + 2;
        }
    }
    const auto st = sink.stats();
    if (st.undelivered_points || st.undelivered_operations || st.operations_refused || st.operations_rejected)
        throw command_error("MLflow did not take everything (" + std::to_string(st.undelivered_points) +
                            " points and " + std::to_string(st.undelivered_operations) + " operations undelivered, " +
                            std::to_string(st.operations_refused + st.operations_rejected) + " refused)" +
                            (joined.empty() ? std::string() : ": " + joined));
    return next;
#else
    (void)file;
    (void)ref;
    (void)dest;
    (void)options;
    (void)read;
    (void)notes;
    throw command_error("sync to MLflow is not available in this build of mltrack");
#endif
}

inline int cmd_sync(const std::vector<std::string>& argv) {
    const auto args = parse_arguments(argv, {{"--to", "-t", true},
                                             {"--experiment", "-e", true},
                                             {"--cursors", nullptr, true},
                                             {"--dry-run", "-n", false},
                                             {"--force", nullptr, false},
                                             {"--vertex-ids", nullptr, true}});
    if (args.has("--help")) {
        std::fputs(sync_help, stdout);
        return exit_ok;
    }
    if (!args.has("--to"))
        throw usage_error("sync needs --to tensorboard:DIR, --to vertex:PROJECT/LOCATION or --to mlflow:URI");
    const std::string ids = args.has("--vertex-ids") ? args.get("--vertex-ids") : "exact";
    if (ids != "exact" && ids != "hashed") throw usage_error("--vertex-ids is exact or hashed (got '" + ids + "')");
    const auto dest = parse_destination(args.get("--to"), ids == "hashed");
    const fs::path cursors = args.get("--cursors");
    const bool dry = args.has("--dry-run"), force = args.has("--force");
    const fs::path root = root_argument(args.positional, "sync");
    const auto refs = select_runs("sync", root, args.all("--experiment"));

    sync_progress progress(refs.size());
    std::size_t failed = 0, with_problems = 0, sent_runs = 0, sent_records = 0, up_to_date = 0, skipped = 0;
    mltrack::read_options lenient;
    lenient.strict = false;
    read_progress reading("mltrack sync");
    for (const auto& ref : refs)
    for (const auto& [rank, file] : mltrack::rank_files(ref.dir)) {  // every rank's file is its own stream
        if (rank > 0 && dest.kind != "tensorboard") continue;  // Vertex AI and MLflow runs have no ranks: rank 0 speaks
        const std::string label = ref.experiment + "/" + ref.run + (rank > 0 ? " rank " + std::to_string(rank) : "");
        try {
            const fs::path cursor_file = cursor_path(ref, dest, cursors, rank);
            sync_cursor saved = read_cursor(cursor_file, dest);
            const std::size_t cursor = saved.records;
            if (!saved.pending.empty() && !dry) {  // a sync died between its cursor and its renames: finish it
                commit_staged(saved.pending);
                saved.pending.clear();
                write_cursor(cursor_file, dest, saved);
            }
            // First look, streamed: how many records the file holds now (complete, readable lines), and the
            // points after the cursor.
            reading.attach(lenient, label);
            std::size_t available = 0, points = 0;
            const auto state = mltrack::stream_run(file, lenient, [&](const mltrack::record& r, const mltrack::run_data&,
                                                                     std::size_t) {
                if (available++ >= cursor && r.kind == mltrack::record_kind::metric) points += r.get_values().size();
            });
            reading.clear();
            for (const auto& p : state.problems)
                progress.message(file.string() + ":" + std::to_string(p.line) + ": " +
                                 p.message + " (line not sent; see mltrack check)");
            if (!state.problems.empty()) ++with_problems;
            if (cursor > available)
                throw command_error(label + ": the cursor says " + std::to_string(cursor) + " records were sent but " +
                                    "the run now has " + std::to_string(available) +
                                    " (rewritten?); delete " + cursor_file.string() + " to send it again");
            if (cursor == available) {
                ++up_to_date;
                progress.run_done(label, 0, 0, "");
                continue;
            }
            const bool to_tb = dest.kind == "tensorboard";
            mltrack::run_info where;
            where.experiment = state.experiment;
            where.name = state.name;
            where.rank = state.rank;
            const fs::path tb_run = to_tb ? mltrack::sinks::tensorboard::events_dir(dest.dir, where) : fs::path();
            if (to_tb && !dry)  // a sync died before its cursor moved: its staged files are sent again
                drop_stale_staged({tb_run, mltrack::sinks::tensorboard::wide_steps_dir(dest.dir, where)});
            if (to_tb && cursor == 0 && !force && has_event_files(tb_run)) {
                // Most often a live TensorBoard sink wrote it: sending it again would only duplicate it.
                ++skipped;
                progress.message(label + ": skipped: " + dest.dir.string() +
                                 " already has TensorBoard event files for it and there is no sync cursor "
                                 "(logged live?); --force sends it again");
                progress.run_done(label, 0, 0, "");
                continue;
            }
            if (dry) {
                ++sent_runs;
                sent_records += available - cursor;
                progress.run_done(label, available - cursor, points,
                                  "would send records " + std::to_string(cursor) + ".." + std::to_string(available) +
                                      " (" + std::to_string(points) + " points)");
                continue;
            }
            reading.attach(lenient, label);
            mltrack::replay_options options;
            options.from_record = cursor;
            std::size_t next = cursor;
            if (to_tb) {
                mltrack::sinks::tensorboard_options o;
                o.stage = true;
                mltrack::sinks::tensorboard sink(dest.dir, o);
                next = mltrack::replay(file, sink, options, lenient);  // streamed: constant memory
                reading.clear();
                sink.flush();
                sink.close();
                sync_cursor moved;
                moved.records = next;
                for (const auto& f : sink.staged_files()) moved.pending.emplace_back(f.first.string(), f.second.string());
                test_stop_point("staged");
                write_cursor(cursor_file, dest, moved);
                test_stop_point("cursor");
                commit_staged(moved.pending);
                moved.pending.clear();
                write_cursor(cursor_file, dest, moved);
            } else if (dest.kind == "mlflow") {
                std::vector<std::string> notes;
                next = sync_to_mlflow(file, ref, dest, options, lenient, notes);
                reading.clear();
                for (const auto& n : notes) progress.message(label + ": " + n);
                write_cursor(cursor_file, dest, sync_cursor{next, {}});
            } else {
                next = sync_to_vertex(file, ref, dest, options, lenient);
                reading.clear();
                write_cursor(cursor_file, dest, sync_cursor{next, {}});
            }
            ++sent_runs;
            sent_records += next - cursor;
            progress.run_done(label, next - cursor, points, "");
        } catch (const std::exception& e) {
            reading.clear();
            ++failed;
            progress.message(label + ": " + describe(e) + " (cursor not moved)");
            progress.run_done(label, 0, 0, "");
        }
    }
    progress.finish();
    std::printf("%s %zu run%s (%zu records, %zu points) to %s; %zu up to date; %zu failed; %zu with malformed "
                "lines%s\n",
                dry ? "would sync" : "synced", sent_runs, sent_runs == 1 ? "" : "s", sent_records, progress.points(),
                dest.canonical.c_str(), up_to_date, failed, with_problems,
                skipped ? ("; " + std::to_string(skipped) + " skipped (already in TensorBoard; --force sends them)")
                              .c_str()
                        : "");
    return failed || with_problems ? exit_problem : exit_ok;
}

}  // namespace mltrack_cli
