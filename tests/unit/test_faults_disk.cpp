// File-system faults for the file sinks (JSONL and TensorBoard together, with a memory sink as witness):
// a full disk (a small tmpfs mounted in a private mount namespace when the process may, else a file size
// limit, RLIMIT_FSIZE with SIGXFSZ ignored, which fails writes with EFBIG the same way), a read-only root, a
// missing root, run folders deleted while open, a root with spaces and UTF-8, and the permissions of
// created files. Files are checked with readers independent of the sinks (nlohmann::json, tb_decoder.hpp).
#include <mltrack/reader.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/sinks/memory.hpp>
#include <mltrack/sinks/tensorboard.hpp>
#include <mltrack/tracker.hpp>

#include <cerrno>
#include <cstdio>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <regex>
#include <string>
#include <vector>

#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/tb_decoder.hpp"
#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;

namespace {

/// Mounting needs a private mount namespace; unshare() works only while the process has one thread, so it
/// is tried once, before any tracker starts its writer. True when tmpfs mounts are possible.
/// MLTRACK_TEST_NO_MOUNT=1 forces the fallbacks.
bool can_mount() {
    static const bool ok = [] {
        if (std::getenv("MLTRACK_TEST_NO_MOUNT")) return false;  // to exercise the fallback where mounting works
        if (::unshare(CLONE_NEWNS) != 0) return false;
        if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
        return true;
    }();
    return ok;
}

/// A folder of limited capacity: a tmpfs of `bytes`, or (without mount rights) RLIMIT_FSIZE at `bytes` per file.
class small_disk {
public:
    explicit small_disk(const fs::path& at, std::size_t bytes) : path_(at) {
        fs::create_directories(path_);
        const std::string opts = "size=" + std::to_string(bytes) + ",mode=0755";
        if (can_mount() && ::mount("tmpfs", path_.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
            mounted_ = true;
        } else {
            REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_) == 0);
            old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
            struct rlimit small = old_;
            small.rlim_cur = bytes;
            REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
            limited_ = true;
        }
        MESSAGE("disk full simulated with " << std::string(mounted_ ? "a tmpfs mount" : "RLIMIT_FSIZE"));
    }
    ~small_disk() {
        if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
        restore_limit();
    }
    /// Makes room: a bigger tmpfs, or no file size limit.
    void grow() {
        if (mounted_) REQUIRE(::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, "size=64m,mode=0755") == 0);
        restore_limit();
    }
    const fs::path& path() const { return path_; }
    int expected_errno() const { return mounted_ ? ENOSPC : EFBIG; }

private:
    void restore_limit() {
        if (!limited_) return;
        ::setrlimit(RLIMIT_FSIZE, &old_);
        std::signal(SIGXFSZ, old_handler_);
        limited_ = false;
    }
    fs::path path_;
    bool mounted_ = false;
    bool limited_ = false;
    struct rlimit old_ {};
    void (*old_handler_)(int) = SIG_DFL;
};

struct error_log {
    std::mutex mu;
    std::vector<std::string> messages;
    std::vector<std::string> all() {
        std::lock_guard<std::mutex> lock(mu);
        return messages;
    }
};

config threaded(const char* experiment, error_log& log) {
    config c{experiment};
    c.flush_interval = std::chrono::milliseconds(5);
    c.on_error = [&log](const sink_error& e) {
        std::lock_guard<std::mutex> lock(log.mu);
        log.messages.push_back(e.sink + ": " + e.message);
    };
    return c;
}

std::vector<fs::path> event_files(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().find("tfevents") != std::string::npos) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

/// Steps of scalar `tag` over every event file of a TensorBoard run folder; each file must decode to its end.
std::vector<std::int64_t> tb_steps(const fs::path& dir, const std::string& tag) {
    std::vector<std::int64_t> steps;
    for (const auto& f : event_files(dir)) {
        const auto file = tbdec::decode_file(f.string());
        CHECK_MESSAGE(file.how == tbdec::stop::end, f.string() << " does not decode to its end");
        for (const auto& e : file.events)
            for (const auto& v : e.values)
                if (v.tag == tag) steps.push_back(e.step);
    }
    return steps;
}

}  // namespace

TEST_CASE("disk full: each failure reaches the handler once with the path, the loop goes on, losses are counted") {
    (void)can_mount();  // decided while the process has one thread
    unit::temp_dir dir;
    small_disk disk(dir / "disk", 96 * 1024);
    error_log log;
    sinks::memory mem;
    const int before = 20000, after = 500;
    std::uint64_t sink_errors = 0;
    {
        tracker t{threaded("exp", log), sinks::jsonl{disk.path() / "jsonl"}, sinks::tensorboard{disk.path() / "tb"},
                  mem};
        auto run = t.start_run("r");
        run.log_params({{"lr", 0.01}});
        auto loss = run.metric("loss");
        for (int s = 0; s < before; ++s) loss.log(s * 0.5, s);  // ~1.5 MB of JSONL into 96 KiB
        t.flush();
        CHECK(t.stats().sink_errors > 0);
        disk.grow();  // space comes back: later records are written again
        for (int s = before; s < before + after; ++s) loss.log(s * 0.5, s);
        run.end();
        t.flush();
        const auto st = t.stats();
        CHECK(st.dropped == 0);  // nothing dropped or late: the writer handed every record on
        CHECK(st.late == 0);
        sink_errors = st.sink_errors;
    }
    const auto errors = log.all();
    REQUIRE_FALSE(errors.empty());
    CHECK(sink_errors == errors.size());  // every failure reported exactly once
    const std::string reason = std::strerror(disk.expected_errno());
    const fs::path jsonl_file = disk.path() / "jsonl" / "exp" / "r" / "events.jsonl";
    std::uint64_t lines_lost = 0;
    const std::regex lost_re(R"(\((\d+) lines lost\))");
    for (const auto& e : errors) {
        const bool jsonl_error = e.rfind("jsonl: [mltrack.error.io.14] cannot write " + jsonl_file.string(), 0) == 0;
        const bool tb_error = e.rfind("tensorboard: [mltrack.error.io.22] cannot write " +
                                          (disk.path() / "tb" / "exp" / "r").string(), 0) == 0;
        CHECK_MESSAGE((jsonl_error || tb_error), e);
        CHECK_MESSAGE(e.find(reason) != std::string::npos, e);
        std::smatch m;
        if (jsonl_error && std::regex_search(e, m, lost_re)) lines_lost += std::stoull(m[1].str());
    }
    // The witness got everything: the loop never stopped.
    CHECK(mem.count(record_kind::metric) == static_cast<std::size_t>(before + after));
    CHECK(mem.count(record_kind::run_end) == 1);
    // JSONL: complete lines only; lines on disk + lines reported lost = every line the run produced
    // (run_start, params, one line per point, run_end).
    const auto lines = unit::parse_jsonl(jsonl_file);
    CHECK(lines.size() + lines_lost == static_cast<std::size_t>(1 + 1 + before + after + 1));
    std::vector<std::int64_t> steps;
    for (const auto& l : unit::of_kind(lines, "metrics")) steps.push_back(l.at("step").get<std::int64_t>());
    CHECK(std::is_sorted(steps.begin(), steps.end()));
    CHECK(std::adjacent_find(steps.begin(), steps.end()) == steps.end());
    // Everything after the space came back is there, and the run ended.
    REQUIRE(steps.size() >= static_cast<std::size_t>(after));
    for (int i = 0; i < after; ++i) CHECK(steps[steps.size() - after + i] == before + i);
    CHECK(lines.back().at("kind") == "run_end");
    CHECK_FALSE(read_run(jsonl_file).torn_tail.has_value());
    // TensorBoard: every file decodes to its end (failed writes were cut back); the late points are there.
    const auto tb = tb_steps(disk.path() / "tb" / "exp" / "r", "loss");
    REQUIRE(tb.size() >= static_cast<std::size_t>(after));
    for (int i = 0; i < after; ++i) CHECK(tb[tb.size() - after + i] == before + i);
}

TEST_CASE("a read-only root: io.11 and io.20 to the handler, the other sinks get everything") {
    unit::temp_dir dir;
    const fs::path ro = dir / "ro";
    fs::create_directories(ro);
    bool readonly = false;
    if (can_mount() && ::mount("tmpfs", ro.c_str(), "tmpfs", MS_RDONLY, "size=64k") == 0) readonly = true;
    else if (::geteuid() != 0) {
        fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
        readonly = true;
    }
    if (!readonly) {
        MESSAGE("skipped: root without mount rights cannot make a read-only folder");
        return;
    }
    error_log log;
    sinks::memory mem;
    {
        tracker t{threaded("exp", log), sinks::jsonl{ro / "jsonl"}, sinks::tensorboard{ro / "tb"}, mem};
        auto run = t.start_run("r");
        for (int s = 0; s < 100; ++s) run.log("loss", s, s);
    }
    ::umount2(ro.c_str(), MNT_DETACH);
    fs::permissions(ro, fs::perms::owner_all);
    const auto errors = log.all();
    REQUIRE(errors.size() == 2);  // one per sink: the run is not opened, its records are not retried
    CHECK(std::count_if(errors.begin(), errors.end(),
                        [](const std::string& e) { return e.rfind("jsonl: [mltrack.error.io.11]", 0) == 0; }) == 1);
    CHECK(std::count_if(errors.begin(), errors.end(), [](const std::string& e) {
              return e.rfind("tensorboard: [mltrack.error.io.20]", 0) == 0;
          }) == 1);
    for (const auto& e : errors) CHECK_MESSAGE(e.find((ro / "").string()) != std::string::npos, e);
    CHECK(mem.count(record_kind::metric) == 100);
}

TEST_CASE("a missing root is created, however deep") {
    unit::temp_dir dir;
    const fs::path root = dir / "a" / "b" / "c";
    {
        tracker t{config{"exp"}, sinks::jsonl{root / "jsonl"}, sinks::tensorboard{root / "tb"}};
        t.start_run("r").log("x", 1, 0);
    }
    CHECK(read_run(root / "jsonl" / "exp" / "r").series.at("x").size() == 1);
    CHECK(tb_steps(root / "tb" / "exp" / "r", "x") == std::vector<std::int64_t>{0});
}

TEST_CASE("run folders deleted while open: no crash, no error; the run can be started again") {
    unit::temp_dir dir;
    error_log log;
    sinks::memory mem;
    {
        tracker t{threaded("exp", log), sinks::jsonl{dir / "jsonl"}, sinks::tensorboard{dir / "tb"}, mem};
        auto run = t.start_run("r");
        auto loss = run.metric("loss");
        for (int s = 0; s < 100; ++s) loss.log(s, s);
        t.flush();
        fs::remove_all(dir / "jsonl");
        fs::remove_all(dir / "tb");
        for (int s = 100; s < 200; ++s) loss.log(s, s);  // written into the deleted files (POSIX keeps them open)
        run.end();
        t.flush();
        auto again = t.start_run("r");  // the folders are gone, so the run does not exist: created anew
        again.log("loss", 7, 0);
    }
    CHECK(log.all().empty());
    CHECK(mem.count(record_kind::metric) == 201);
    const auto run = read_run(dir / "jsonl" / "exp" / "r");
    CHECK(run.series.at("loss").size() == 1);
    CHECK(run.state == run_state::complete);
    CHECK(tb_steps(dir / "tb" / "exp" / "r", "loss") == std::vector<std::int64_t>{0});
}

TEST_CASE("a root with spaces and UTF-8 in its path") {
    unit::temp_dir dir;
    const fs::path root = dir / "my runs" / "d\xc3\xa9j\xc3\xa0 vu \xe5\xae\x9f\xe9\xa8\x93";
    {
        tracker t{config{"exp"}, sinks::jsonl{root}, sinks::tensorboard{root / "tb logs"}};
        auto run = t.start_run("r");
        run.log_params({{"note", "caf\xc3\xa9"}});
        for (int s = 0; s < 10; ++s) run.log("train/loss \xe6\x90\x8d\xe5\xa4\xb1", s, s);
    }
    const auto lines = unit::parse_jsonl(root / "exp" / "r" / "events.jsonl");
    CHECK(unit::of_kind(lines, "metrics").size() == 10);
    const auto experiments = read_experiment(root, "exp");
    REQUIRE(experiments.size() == 1);
    CHECK(experiments[0].series.at("train/loss \xe6\x90\x8d\xe5\xa4\xb1").size() == 10);
    CHECK(experiments[0].params.at("note") == param_value("caf\xc3\xa9"));
    CHECK(tb_steps(root / "tb logs" / "exp" / "r", "train/loss \xe6\x90\x8d\xe5\xa4\xb1").size() == 10);
}

TEST_CASE("permissions: files 0644 and folders 0777 less the umask; artifact copies keep their source's bits") {
    for (const mode_t mask : {mode_t{022}, mode_t{077}}) {
        unit::temp_dir dir;
        unit::write_file(dir / "model.bin", "weights");
        fs::permissions(dir / "model.bin", fs::perms::owner_read | fs::perms::owner_write);
        const mode_t old = ::umask(mask);
        {
            tracker t{config{"exp"}, sinks::jsonl{dir / "jsonl"}, sinks::tensorboard{dir / "tb"}};
            auto run = t.start_run("r");
            run.log("x", 1, 0);
            run.log_model(dir / "model.bin");
        }
        ::umask(old);
        auto mode = [](const fs::path& p) {
            struct stat st {};
            REQUIRE(::stat(p.c_str(), &st) == 0);
            return st.st_mode & 0777;
        };
        const fs::path jsonl_dir = dir / "jsonl" / "exp" / "r";
        const fs::path tb_dir = dir / "tb" / "exp" / "r";
        CHECK(mode(jsonl_dir / "events.jsonl") == (0644 & ~mask));
        CHECK(mode(jsonl_dir) == (0777 & ~mask));
        CHECK(mode(tb_dir) == (0777 & ~mask));
        // An artifact's copy keeps its source's permission bits (0600 here), whatever the umask.
        std::size_t copies = 0;
        for (const auto& e : fs::recursive_directory_iterator(jsonl_dir / "artifacts"))
            if (e.is_regular_file()) {
                CHECK(mode(e.path()) == 0600);
                ++copies;
            }
        CHECK(copies == 1);
        const auto files = event_files(tb_dir);
        REQUIRE(files.size() == 2);  // the HParams session file, then the data file
        CHECK(mode(files[0]) == (0644 & ~mask));
    }
}

namespace {

/// A tracker with no thread and no timed flush: lines reach the file only at flush(), end and close.
config manual(const char* experiment, error_log& log) {
    config c{experiment};
    c.dispatch = dispatch_mode::inline_;
    c.flush_interval = std::chrono::hours(1);
    c.capture_environment = false;
    c.on_error = [&log](const sink_error& e) {
        std::lock_guard<std::mutex> lock(log.mu);
        log.messages.push_back(e.sink + ": " + e.message);
    };
    return c;
}

/// The sum of the "(N lines lost)" counts in the messages.
std::uint64_t lines_lost_in(const std::vector<std::string>& messages) {
    static const std::regex lost_re(R"(\((\d+) lines lost\))");
    std::uint64_t n = 0;
    for (const auto& m : messages) {
        std::smatch match;
        if (std::regex_search(m, match, lost_re)) n += std::stoull(match[1].str());
    }
    return n;
}

/// Every line of a file, each of which must be complete and parse as JSON (nlohmann, not the library's reader).
std::vector<nlohmann::json> complete_lines(const fs::path& file) {
    const std::string text = unit::read_file(file);
    CHECK_MESSAGE((text.empty() || text.back() == '\n'), "a torn last line in " << file);
    return unit::parse_jsonl(file);
}

}  // namespace

TEST_CASE("two writers on one run file: a failed write cuts back only its own bytes") {
    // A requeued job resumes the run while the old process still writes: the old one's write fails (here a
    // file size limit of its own), and it must not cut away what the new one wrote since its last flush.
    for (const std::uint64_t allowance : {std::uint64_t{0}, std::uint64_t{300}}) {  // nothing / a part written
        CAPTURE(allowance);
        unit::temp_dir dir;
        error_log log;
        const fs::path file = dir / "runs" / "exp" / "r" / "events.jsonl";
        {
            tracker a{manual("exp", log), sinks::jsonl{dir / "runs"}};
            auto run = a.start_run("r");
            auto loss = run.metric("loss");
            for (int s = 0; s < 100; ++s) loss.log(s, s);
            a.flush();
            for (int s = 100; s < 200; ++s) loss.log(s, s);  // buffered in the sink, not yet written
            // The second writer: resumes, writes 1000 points and its end.
            const int status = unit::run_forked([&] {
                error_log child_log;
                tracker b{manual("exp", child_log), sinks::jsonl{dir / "runs"}};
                auto again = b.start_run("r", start_mode::resume);
                auto l = again.metric("loss");
                for (int s = 1000; s < 2000; ++s) l.log(s, s);
                again.end();
                b.close();
                return child_log.all().empty() ? 0 : 4;
            });
            REQUIRE(WIFEXITED(status));
            REQUIRE(WEXITSTATUS(status) == 0);
            // The first writer's next flush fails.
            struct rlimit old {};
            REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
            auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
            struct rlimit small = old;
            small.rlim_cur = fs::file_size(file) + allowance;
            REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
            a.flush();
            ::setrlimit(RLIMIT_FSIZE, &old);
            std::signal(SIGXFSZ, old_handler);
            REQUIRE(log.all().size() == 1);
            CHECK(log.all()[0].find("[mltrack.error.io.14]") != std::string::npos);
            for (int s = 200; s < 210; ++s) loss.log(s, s);
            run.end();
        }
        const auto lines = complete_lines(file);
        // Produced: first writer run_start + 210 points + run_end; second run_resume + 1000 points + run_end.
        const std::uint64_t produced = (1 + 210 + 1) + (1 + 1000 + 1);
        CHECK(lines_lost_in(log.all()) == 100);
        CHECK(lines.size() + lines_lost_in(log.all()) == produced);
        // The second writer's lines are all there, in order.
        std::vector<std::int64_t> second;
        for (const auto& l : unit::of_kind(lines, "metrics"))
            if (l.at("step").get<std::int64_t>() >= 1000) second.push_back(l.at("step").get<std::int64_t>());
        REQUIRE(second.size() == 1000);
        for (int i = 0; i < 1000; ++i) CHECK(second[i] == 1000 + i);
        CHECK(unit::of_kind(lines, "run_resume").size() == 1);
        CHECK(unit::of_kind(lines, "run_end").size() == 2);
        CHECK(unit::of_kind(lines, "run_start").size() == 1);
    }
}

TEST_CASE("two writers filling one disk at once: lines on disk + lines reported lost = lines produced") {
    (void)can_mount();
    if (!can_mount()) {
        MESSAGE("skipped: a shared full disk needs a tmpfs mount (RLIMIT_FSIZE is per process)");
        return;
    }
    unit::temp_dir dir;
    small_disk disk(dir / "disk", 256 * 1024);
    const fs::path root = disk.path() / "runs";
    const fs::path file = root / "exp" / "r" / "events.jsonl";
    {
        error_log log;
        tracker t{manual("exp", log), sinks::jsonl{root}};
        t.start_run("r").end();
    }
    const int points = 4000;  // ~240 KB per writer: together they overflow the disk
    std::vector<pid_t> pids;
    for (int w = 0; w < 2; ++w) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            ::alarm(60);
            error_log log;
            std::uint64_t lost = 0;
            {
                config c = manual("exp", log);
                tracker t{c, sinks::jsonl{root, sinks::jsonl_options{false, 2048}}};  // many small writes
                auto run = t.start_run("r", start_mode::resume);
                auto m = run.metric(w == 0 ? "a" : "b");
                for (int s = 0; s < points; ++s) m.log(s, s);
                run.end();
            }
            lost = lines_lost_in(log.all());
            unit::write_file(dir / ("lost" + std::to_string(w)), std::to_string(lost));
            ::_exit(0);
        }
        REQUIRE(pid > 0);
        pids.push_back(pid);
    }
    for (const pid_t pid : pids) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
    }
    const std::uint64_t lost = std::stoull(unit::read_file(dir / "lost0")) + std::stoull(unit::read_file(dir / "lost1"));
    CHECK(lost > 0);  // the disk did fill
    const auto lines = complete_lines(file);
    const std::uint64_t produced = 2 + 2 * (1 + points + 1);  // the first opening, then two resumes
    CHECK(lines.size() + lost == produced);
}

TEST_CASE("disk full at run start: the opening line is written first or nothing of the run is") {
    (void)can_mount();
    for (const bool resume : {false, true}) {
        CAPTURE(resume);
        unit::temp_dir dir;
        small_disk disk(dir / "disk", 16 * 1024);
        const fs::path root = disk.path() / "runs";
        const fs::path file = root / "exp" / "r" / "events.jsonl";
        std::string before;
        if (resume) {
            error_log log;
            tracker t{manual("exp", log), sinks::jsonl{root}};
            auto run = t.start_run("r");
            run.log("loss", 1.0, 0);
            run.end();
            t.close();
            before = unit::read_file(file);
        }
        // Fill the disk (a tmpfs), or under a file size limit make the opening line too big for it.
        const std::string big(32 * 1024, 'm');
        std::string filler(4096, 'f');
        for (int i = 0;; ++i) {
            std::FILE* f = std::fopen((disk.path() / ("filler" + std::to_string(i))).c_str(), "wb");
            if (!f) break;
            const bool full = std::fwrite(filler.data(), 1, filler.size(), f) != filler.size();
            const bool closed = std::fclose(f) == 0;
            if (full || !closed || i > 64) break;
        }
        error_log log;
        sinks::memory mem;
        {
            tracker t{manual("exp", log), sinks::jsonl{root}, mem};
            auto run = t.start_run("r", resume ? start_mode::resume : start_mode::create, {{"note", big}});
            t.flush();
            disk.grow();  // space comes back: the run's later lines must still not reach the file
            std::error_code ec;
            for (const auto& e : fs::directory_iterator(disk.path(), ec))
                if (e.path().filename().string().rfind("filler", 0) == 0) fs::remove(e.path(), ec);
            auto loss = run.metric("loss");
            for (int s = 1; s <= 100; ++s) loss.log(s, s);
            run.end();
        }
        const auto errors = log.all();
        REQUIRE(errors.size() == 1);  // the opening, once; its later lines are only counted
        CHECK(errors[0].rfind("jsonl: [mltrack.error.io.14] cannot write " + file.string(), 0) == 0);
        CHECK(errors[0].find("opening line is missing") != std::string::npos);
        CHECK(mem.count(record_kind::metric) == 100);  // the other sink got everything
        if (resume) {
            CHECK(unit::read_file(file) == before);  // the earlier run is untouched, and readable
            CHECK(read_run(file).series.at("loss").size() == 1);
        } else {
            CHECK_FALSE(fs::exists(file));  // the empty file start_run made is gone: the run does not exist
            tracker t{manual("exp", log), sinks::jsonl{root}};
            t.start_run("r").log("loss", 2.0, 0);  // and can be created now
        }
        if (!resume) CHECK(read_run(file).series.at("loss").size() == 1);
    }
}
