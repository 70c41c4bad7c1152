// sinks/tensorboard.hpp and detail/tensorboard/format.hpp: TensorBoard event files. Golden bytes come from
// the spec; everything the sink writes is read back by tests/support/tb_decoder.hpp, an independent decoder
// written from the spec, and checked against TensorBoard's rules (shapes, plugin names, metadata on the
// first value of each tag, file_version first, SessionLog START, never a NaN wall time).
#include <mltrack/sinks/tensorboard.hpp>
#include <mltrack/detail/tensorboard/declaration.hpp>
#include <mltrack/detail/tensorboard/format.hpp>
#include <mltrack/detail/tensorboard/png.hpp>
#include <mltrack/detail/tensorboard/session.hpp>
#include <mltrack/reader.hpp>
#include <mltrack/replay.hpp>
#include <mltrack/sinks/jsonl.hpp>
#include <mltrack/tracker.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/tb_decoder.hpp"
#include "support/tb_model.hpp"
#include "unit_support.hpp"

using namespace mltrack;
namespace fs = std::filesystem;
namespace tb = mltrack::detail::tb;

namespace {

std::atomic<std::int64_t> clock_ns{0};
std::int64_t test_clock() noexcept { return clock_ns.fetch_add(1'000'000); }  // +1 ms per reading

constexpr std::int64_t t0 = 1'764'384'000'000'000'000;

/// An inline (deterministic) tracker config with the test clock.
config det(const char* experiment, std::vector<std::string>* errors = nullptr, std::int64_t start = t0) {
    clock_ns = start;
    config c{experiment};
    c.dispatch = dispatch_mode::inline_;
    c.clock = test_clock;
    c.capture_environment = false;  // exact bytes and metadata: nothing from the machine
    c.on_error = [errors](const sink_error& e) {
        if (errors) errors->push_back(e.sink + ": " + e.message);
    };
    return c;
}

std::string hex(std::string_view s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        if (!out.empty()) out += ' ';
        out += d[c >> 4];
        out += d[c & 15];
    }
    return out;
}

/// Bytes from "0a 04 'loss' 15 ..." notation: hex pairs, and quoted ASCII strings.
std::string bytes(const std::string& spec) {
    std::string out;
    for (std::size_t i = 0; i < spec.size();) {
        if (spec[i] == ' ') {
            ++i;
        } else if (spec[i] == '\'') {
            const auto end = spec.find('\'', i + 1);
            out += spec.substr(i + 1, end - i - 1);
            i = end + 1;
        } else {
            out += static_cast<char>(std::stoi(spec.substr(i, 2), nullptr, 16));
            i += 2;
        }
    }
    return out;
}

/// A run folder's data event files in name order (the HParams session file aside: session_of()).
std::vector<fs::path> event_files(const fs::path& dir) {
    std::vector<fs::path> v;
    if (!fs::exists(dir)) return v;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (n.find("tfevents") != std::string::npos && n != detail::tb::session_file_name) v.push_back(e.path());
    }
    std::sort(v.begin(), v.end());
    return v;
}

std::vector<fs::path> all_event_files(const fs::path& root) {
    std::vector<fs::path> v;
    for (const auto& e : fs::recursive_directory_iterator(root))
        if (e.is_regular_file() && e.path().filename().string().find("tfevents") != std::string::npos)
            v.push_back(e.path());
    std::sort(v.begin(), v.end());
    return v;
}

/// Checks one decoded file against what TensorBoard needs, and returns it.
tbdec::file checked(const fs::path& p) {
    CAPTURE(p.string());
    const tbdec::file f = tbdec::decode_file(p.string());
    CHECK(f.how == tbdec::stop::end);
    REQUIRE(!f.events.empty());
    CHECK(f.events[0].has_file_version);
    CHECK(f.events[0].file_version == "brain.Event:2");
    std::set<std::string> described;
    for (std::size_t i = 0; i < f.events.size(); ++i) {
        const auto& e = f.events[i];
        CAPTURE(i);
        CHECK(std::isfinite(e.wall_time));
        CHECK(e.wall_time > 0);
        CHECK(int(e.has_file_version) + int(e.has_summary) + int(e.has_session_log) == 1);
        if (i > 0) CHECK(!e.has_file_version);
        if (e.has_session_log) CHECK(e.session_status == 1);
        for (const auto& v : e.values) {
            CAPTURE(v.tag);
            CHECK(int(v.has_simple) + int(v.has_tensor) == 1);
            CHECK(!v.has_histo);
            CHECK(!v.has_image);
            if (v.has_simple) {
                CHECK(!v.has_metadata);
                continue;
            }
            // Tensor form: metadata on the first value of each tag in the file, a shape, counts that match.
            if (!described.count(v.tag)) {
                CHECK(v.has_metadata);
                described.insert(v.tag);
            }
            if (v.has_metadata) {
                CHECK(v.data_class == 0);
                const std::set<std::string> plugins = {"histograms", "images", "text", "pr_curves", "hparams"};
                CHECK(plugins.count(v.plugin) == 1);
            }
            CHECK(v.t.has_shape);
            if (v.t.dtype == 7) {
                CHECK(v.t.content.empty());
                CHECK(static_cast<std::int64_t>(v.t.string_val.size()) == v.t.elements());
            } else {
                CHECK((v.t.dtype == 1 || v.t.dtype == 2));
                if (v.plugin == "hparams" || v.tag.rfind("_hparams_/", 0) == 0) {
                    CHECK(v.t.elements() == 0);
                    CHECK(v.t.numbers().empty());
                } else {
                    CHECK(static_cast<std::int64_t>(v.t.numbers().size()) == v.t.elements());
                }
            }
        }
    }
    return f;
}

/// A run folder's HParams session file: its start info, and its end info when it has one.
struct session_file {
    tbdec::session_start start;
    std::optional<tbdec::session_end> end;
};
session_file session_of(const fs::path& run_dir) {
    const fs::path p = run_dir / detail::tb::session_file_name;
    REQUIRE_MESSAGE(fs::exists(p), "no session file in " << run_dir.string());
    const auto f = checked(p);
    // file_version, the start info, and maybe the end info; nothing else
    REQUIRE((f.events.size() == 2 || f.events.size() == 3));
    session_file out;
    REQUIRE(f.events[1].values.size() == 1);
    CHECK(f.events[1].values[0].tag == "_hparams_/session_start_info");
    CHECK(f.events[1].step == 0);
    out.start = tbdec::parse_session_start(f.events[1].values[0].content);
    if (f.events.size() == 3) {
        REQUIRE(f.events[2].values.size() == 1);
        CHECK(f.events[2].values[0].tag == "_hparams_/session_end_info");
        out.end = tbdec::parse_session_end(f.events[2].values[0].content);
    }
    return out;
}


/// Every (tag, step, value) of the scalars in a run folder's files, in file order.
struct scalar {
    std::string tag;
    std::int64_t step;
    float value;
};
std::vector<scalar> scalars_of(const fs::path& run_dir) {
    std::vector<scalar> out;
    for (const auto& p : event_files(run_dir))
        for (const auto& e : checked(p).events)
            for (const auto& v : e.values)
                if (v.has_simple) out.push_back({v.tag, e.step, v.simple});
    return out;
}

/// The values of one tag (files in name order), with their steps. `check`: each file must pass checked().
std::vector<std::pair<std::int64_t, tbdec::value>> tensors_of(const fs::path& run_dir, const std::string& tag,
                                                              bool check = true) {
    std::vector<std::pair<std::int64_t, tbdec::value>> out;
    for (const auto& p : event_files(run_dir))
        for (const auto& e : (check ? checked(p) : tbdec::decode_file(p.string())).events)
            for (const auto& v : e.values)
                if (v.tag == tag) out.emplace_back(e.step, v);
    return out;
}

/// Helpers that drive the sink directly with hand-made events.
struct direct_run {
    run_info info;
    std::vector<std::unique_ptr<metric_info>> metrics;
    std::int64_t now = t0;

    direct_run(std::uint32_t id, const char* experiment, const char* name, bool resumed = false) {
        info.id = id;
        info.experiment = experiment;
        info.name = name;
        info.resumed = resumed;
        info.start_time_ns = t0;
    }
    const metric_info* metric(const std::string& n) {
        for (auto& m : metrics)
            if (m->name == n) return m.get();
        metrics.push_back(std::make_unique<metric_info>(metric_info{static_cast<std::uint32_t>(metrics.size()), n}));
        return metrics.back().get();
    }
    event open() {
        event e;
        e.kind = info.resumed ? record_kind::run_resume : record_kind::run_start;
        e.run = &info;
        e.time_ns = now;
        return e;
    }
    event point(const std::string& n, double v, std::int64_t step) {
        event e;
        e.kind = record_kind::metric;
        e.run = &info;
        e.time_ns = (now += 1000);
        e.step = step;
        e.value = v;
        e.metric = metric(n);
        return e;
    }
    event cold(const record& r) {
        event e;
        e.kind = r.kind;
        e.run = &info;
        e.time_ns = (now += 1000);
        e.payload = &r;
        return e;
    }
};

void write_one(sinks::tensorboard& s, const event& e) { s.write(batch(&e, 1)); }
void write_all(sinks::tensorboard& s, const std::vector<event>& v) { s.write(batch(v.data(), v.size())); }

}  // namespace

// ------------------------------------------------------------------------------------------ golden bytes

TEST_CASE("golden: the spec's 42-byte scalar record") {
    const std::string expected = bytes(
        "1a 00 00 00 00 00 00 00  12 9b d8 2d"
        " 09 00 00 20 40 fc 54 d9 41  10 2a  2a 0d 0a 0b 0a 04 'loss' 15 00 00 80 3e"
        " 86 93 da f7");
    REQUIRE(expected.size() == 42);
    std::string buf;
    auto ev = tb::begin_summary(buf, 1700000000.5, 42);
    tb::value_simple(buf, "loss", 0.25f);
    tb::end_summary(buf, ev);
    CHECK(hex(buf) == hex(expected));
    // The hot path (pre-encoded tag) writes the same bytes.
    std::string hot;
    auto ev2 = tb::begin_summary(hot, tb::wall_seconds(1'700'000'000'500'000'000), 42);
    tb::value_simple_encoded(hot, tb::encode_tag("loss"), 0.25f);
    tb::end_summary(hot, ev2);
    CHECK(hex(hot) == hex(expected));
    // And the independent decoder reads it.
    const auto f = tbdec::decode(buf);
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].wall_time == 1700000000.5);
    CHECK(f.events[0].step == 42);
    CHECK(f.events[0].values[0].tag == "loss");
    CHECK(f.events[0].values[0].simple == 0.25f);
}

TEST_CASE("golden: the spec's 40-byte file_version record and the SessionLog START") {
    std::string buf;
    tb::file_version_record(buf, 1700000000.5, "");
    CHECK(hex(buf) == hex(bytes("18 00 00 00 00 00 00 00 a3 7f 4b 22 09 00 00 20 40 fc 54 d9 41 1a 0d 'brain.Event:2'"
                                " 2b 35 31 10")));
    std::string start;
    tb::session_start_record(start, 1700000000.5, 0);
    const auto f = tbdec::decode(start);
    REQUIRE(f.events.size() == 1);
    CHECK(f.events[0].has_session_log);
    CHECK(f.events[0].session_status == 1);
    CHECK(hex(start.substr(12, start.size() - 16)) == hex(bytes("09 00 00 20 40 fc 54 d9 41 3a 02 08 01")));
    std::string with_writer;
    tb::file_version_record(with_writer, 1.0, "mltrack");
    CHECK(tbdec::decode(with_writer).events[0].writer == "mltrack");
}

TEST_CASE("golden: hparams session_start_info content, session_end_info event, experiment content") {
    std::map<std::string, param_value> params{{"layers", 3}, {"lr", 0.01}, {"optimizer", "adam"}, {"use_bn", true}};
    const std::string start = tb::hparams_session_start(params, "", 1700000000.0);
    CHECK(hex(start) == hex(bytes("1a 52"
                                  " 0a 13 0a 06 'layers' 12 09 11 00 00 00 00 00 00 08 40"
                                  " 0a 0f 0a 02 'lr' 12 09 11 7b 14 ae 47 e1 7a 84 3f"
                                  " 0a 13 0a 09 'optimizer' 12 06 1a 04 'adam'"
                                  " 0a 0c 0a 06 'use_bn' 12 02 20 01"
                                  " 29 00 00 00 40 fc 54 d9 41")));

    std::string ev;
    auto s = tb::begin_summary(ev, 1700000000.5, 0);
    tb::value_hparams(ev, "_hparams_/session_end_info", tb::hparams_session_end(tb::session_status::success, 1700000100.0));
    tb::end_summary(ev, s);
    const std::string payload = ev.substr(12, ev.size() - 16);
    CHECK(payload.size() == 77);
    CHECK(hex(payload) == hex(bytes("09 00 00 20 40 fc 54 d9 41 2a 42 0a 40 0a 1a '_hparams_/session_end_info'"
                                    " 42 06 08 01 12 02 12 00 4a 1a 0a 18 0a 07 'hparams' 12 0d 22 0b 08 01 11 00 00 00"
                                    " 59 fc 54 d9 41")));

    tensorboard_experiment x;
    tensorboard_hparam lr;
    lr.name = "lr";
    lr.type = tensorboard_hparam_type::float64;
    lr.interval = std::make_pair(1e-4, 0.1);
    tensorboard_hparam opt;
    opt.name = "optimizer";
    opt.type = tensorboard_hparam_type::string;
    opt.values = {"adam", "sgd"};
    x.hparams = {lr, opt};
    tensorboard_metric acc;
    acc.tag = "metric/accuracy";
    x.metrics = {acc};
    std::string d1, d2;
    for (double d : {1e-4, 0.1}) {
        std::string& out = d == 1e-4 ? d1 : d2;
        std::uint64_t u;
        std::memcpy(&u, &d, 8);
        for (int i = 0; i < 8; ++i) out += static_cast<char>((u >> (8 * i)) & 0xff);
    }
    const std::string expected = bytes("12 51 22 1a 0a 02 'lr' 20 03 32 12 09") + d1 + bytes("11") + d2 +
                                 bytes("22 1e 0a 09 'optimizer' 20 01 2a 0f 0a 06 1a 04 'adam' 0a 05 1a 03 'sgd'"
                                       " 2a 13 0a 11 12 0f 'metric/accuracy'");
    CHECK(hex(tb::hparams_experiment(x)) == hex(expected));
    const auto back = tbdec::parse_experiment(tb::hparams_experiment(x));
    REQUIRE(back.hparams.size() == 2);
    CHECK(back.hparams[0].has_interval);
    CHECK(back.hparams[0].min_value == 1e-4);
    CHECK(back.hparams[1].discrete.size() == 2);
    CHECK(back.metrics[0].tag == "metric/accuracy");
}

// ------------------------------------------------------------------------------------------ the sink

TEST_CASE("a tracker run: file layout, record 0, START, hparams, scalars, session end") {
    unit::temp_dir dir;
    std::vector<std::string> errors;
    {
        tracker t{det("exp", &errors), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("r1", start_mode::create, {{"group", "sweep-a"}, {"note", "first try"}});
        run.log_params({{"lr", 0.01}, {"layers", 3}});
        run.log_params({{"optimizer", "adam"}, {"use_bn", true}});  // merged into one start info
        auto loss = run.metric("train/loss");
        for (int i = 0; i < 5; ++i) loss.log(1.0 / (i + 1), i);
        run.log_time_series({{"val/loss", 0.5}, {"val/acc", 0.75}}, 4);
        run.log_metrics({{"accuracy", 0.875}});
    }
    CHECK(errors.empty());
    const fs::path run_dir = dir.path() / "exp" / "r1";
    const auto files = event_files(run_dir);
    REQUIRE(files.size() == 1);
    const std::string base = files[0].filename().string();
    // events.out.tfevents.<10 digits>.<host>.<pid>.<n>
    REQUIRE(base.rfind("events.out.tfevents.", 0) == 0);
    REQUIRE(base.size() > 31);
    CHECK(base[30] == '.');
    CHECK(base.substr(20, 10).find_first_not_of("0123456789") == std::string::npos);
    const auto last_dot = base.rfind('.'), pid_dot = base.rfind('.', last_dot - 1);
    CHECK(base.substr(last_dot + 1).find_first_not_of("0123456789") == std::string::npos);
    CHECK(base.substr(pid_dot + 1, last_dot - pid_dot - 1) == std::to_string(::getpid()));
    CHECK(pid_dot > 31);  // a host name in between
    CHECK(base.substr(20, 10) == "1764384000");

    // The HParams session: its own file, sorting before the data file.
    const auto all = [&] {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(run_dir)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }();
    REQUIRE(all.size() == 2);
    CHECK(all[0] == detail::tb::session_file_name);
    const auto session = session_of(run_dir);
    REQUIRE(session.start.hparams.size() == 4);
    CHECK(session.start.hparams.at("lr").kind == tbdec::hp_value::number);
    CHECK(session.start.hparams.at("lr").number_value == 0.01);
    CHECK(session.start.hparams.at("layers").number_value == 3.0);
    CHECK(session.start.hparams.at("optimizer").string_value == "adam");
    CHECK(session.start.hparams.at("use_bn").kind == tbdec::hp_value::boolean);
    CHECK(session.start.hparams.at("use_bn").bool_value);
    CHECK(session.start.group_name.empty());  // the "group" metadata does not merge runs into one row
    CHECK(session.start.start_time_secs == 1764384000.0);
    REQUIRE(session.end);
    CHECK(session.end->status == 1);  // COMPLETE -> STATUS_SUCCESS
    CHECK(session.end->end_time_secs > 1764384000.0);

    const auto f = checked(files[0]);
    REQUIRE(f.events.size() >= 10);
    CHECK(f.events[0].writer == std::string("mltrack ") + MLTRACK_VERSION_STRING);
    CHECK(f.events[0].wall_time >= 1764384000.0);  // when the file was made: at the first flush
    CHECK(f.events[0].wall_time < 1764384001.0);
    CHECK(f.events[1].has_session_log);
    CHECK(f.events[1].step == 0);

    std::size_t starts = 0, ends = 0;
    std::vector<std::tuple<std::string, std::int64_t, float>> sc;
    for (const auto& e : f.events) {
        for (const auto& v : e.values) {
            if (v.tag == "_hparams_/session_start_info") ++starts;
            if (v.tag == "_hparams_/session_end_info") {
                ++ends;
                const auto s = tbdec::parse_session_end(v.content);
                CHECK(s.status == 1);  // COMPLETE -> STATUS_SUCCESS
                CHECK(s.end_time_secs > 1764384000.0);
            }
            if (v.tag == "params") {
                CHECK(v.plugin == "text");
                REQUIRE(v.t.string_val.size() == 1);
                CHECK(v.t.string_val[0].find("| lr | 0.01 |") != std::string::npos);
                CHECK(v.t.string_val[0].find("| optimizer | adam |") != std::string::npos);
            }
            if (v.tag == "run/metadata") {
                REQUIRE(v.t.string_val.size() == 1);
                CHECK(v.t.string_val[0].find("| note | first try |") != std::string::npos);
            }
            if (v.has_simple) sc.emplace_back(v.tag, e.step, v.simple);
        }
    }
    CHECK(starts == 0);  // in the session file only
    CHECK(ends == 1);    // also here, for a TensorBoard that read the session file before the run ended
    const std::vector<std::tuple<std::string, std::int64_t, float>> expected = {
        {"train/loss", 0, 1.0f},  {"train/loss", 1, 0.5f},   {"train/loss", 2, 1.0f / 3}, {"train/loss", 3, 0.25f},
        {"train/loss", 4, 0.2f},  {"val/loss", 4, 0.5f},     {"val/acc", 4, 0.75f},       {"accuracy", 4, 0.875f}};
    CHECK(sc == expected);
    // log_time_series values share one Event.
    std::size_t grouped = 0;
    for (const auto& e : f.events) grouped += e.values.size() == 2 && e.values[0].tag == "val/loss";
    CHECK(grouped == 1);
    // What TensorBoard shows: one session with the params, the status and the metrics' last points.
    const auto view = tbmodel::load(dir.path());
    CHECK(view.errors.empty());
    REQUIRE(view.sessions.count("exp/r1"));
    const auto& row = view.sessions.at("exp/r1");
    CHECK(row.status == "STATUS_SUCCESS");
    CHECK(row.group == "exp/r1");
    CHECK(row.hparams.size() == 4);
    CHECK(row.metrics.at("|train/loss").first == 4);
    CHECK(row.metrics.at("|train/loss").second == doctest::Approx(0.2));
    CHECK(view.texts("exp/r1", "run/metadata").size() == 1);
}

TEST_CASE("edge values: 0.0 at the first step, negative and huge steps, empty and UTF-8 tags, NaN and Inf") {
    unit::temp_dir dir;
    sinks::tensorboard sink{dir.path()};
    direct_run r(1, "exp", "edge");
    write_one(sink, r.open());
    const std::int64_t big = (std::int64_t{1} << 40) + 3;
    std::vector<event> ev = {
        r.point("zero", 0.0, 0),
        r.point("neg", -1.5, -7),
        r.point("big", 2.0, big),
        r.point("max", 3.0, std::numeric_limits<std::int64_t>::max()),
        r.point("", 4.0, 1),
        r.point(u8"损失/训练", 5.0, 2),
        r.point(u8"λ ☃", 6.0, 3),
        r.point("nan", std::nan(""), 4),
        r.point("inf", HUGE_VAL, 5),
        r.point("-inf", -HUGE_VAL, 6),
        r.point("huge", 1e300, 7),  // beyond float: +inf
        r.point("tiny", -0.0, 8),
    };
    write_all(sink, ev);
    sink.close();
    // Steps outside int32 (which TensorBoard's HParams dashboard cannot take) are in <run>@int64-steps.
    auto sc = scalars_of(dir.path() / "exp" / "edge");
    const auto wide = scalars_of(dir.path() / "exp" / "edge@int64-steps");
    REQUIRE(wide.size() == 2);
    CHECK(wide[0].tag == "big");
    CHECK(wide[1].tag == "max");
    sc.insert(sc.end(), wide.begin(), wide.end());
    REQUIRE(sc.size() == ev.size());
    std::map<std::string, scalar> by;
    for (const auto& s : sc) by[s.tag] = s;
    CHECK(by.at("zero").value == 0.0f);
    CHECK(by.at("zero").step == 0);
    CHECK(by.at("neg").step == -7);
    CHECK(by.at("neg").value == -1.5f);
    CHECK(by.at("big").step == big);
    CHECK(by.at("max").step == std::numeric_limits<std::int64_t>::max());
    CHECK(by.at("").value == 4.0f);
    CHECK(by.at(u8"损失/训练").value == 5.0f);
    CHECK(by.at(u8"λ ☃").value == 6.0f);
    CHECK(std::isnan(by.at("nan").value));
    CHECK(by.at("inf").value == HUGE_VALF);
    CHECK(by.at("-inf").value == -HUGE_VALF);
    CHECK(by.at("huge").value == HUGE_VALF);
    CHECK(std::signbit(by.at("tiny").value));
    // simple_value is present for 0.0 (a proto3 default would otherwise be skipped): 5 bytes "15 00 00 00 00".
    const std::string raw = unit::read_file(event_files(dir.path() / "exp" / "edge")[0]);
    CHECK(raw.find(bytes("0a 04 'zero' 15 00 00 00 00")) != std::string::npos);
}

TEST_CASE("histograms: TensorBoard's bucketing, one distinct value, no data, and the tensor written") {
    SUBCASE("bucketing") {
        std::vector<double> v;
        for (int i = 0; i <= 100; ++i) v.push_back(i);
        const auto b = tensorboard_histogram(v, 10);
        REQUIRE(b.size() == 10);
        double total = 0;
        for (const auto& x : b) total += x.count;
        CHECK(total == 101);
        CHECK(b[0].left == 0.0);
        CHECK(b[0].right == 10.0);
        CHECK(b[0].count == 10);
        CHECK(b[9].left == 90.0);
        CHECK(b[9].right == 100.0);
        CHECK(b[9].count == 11);  // the maximum falls into the last bucket
        for (std::size_t i = 1; i < b.size(); ++i) CHECK(b[i].left == b[i - 1].right);
    }
    SUBCASE("one distinct value") {
        const auto b = tensorboard_histogram(std::vector<double>(7, 2.5));
        REQUIRE(b.size() == 30);
        for (std::size_t i = 0; i < 30; ++i) {
            CHECK(b[i].left == 2.5);
            CHECK(b[i].right == 2.5);
            CHECK(b[i].count == (i == 29 ? 7.0 : 0.0));
        }
    }
    SUBCASE("no data, and only non-finite data") {
        for (const auto& b : {tensorboard_histogram(std::vector<double>{}, 5),
                              tensorboard_histogram(std::vector<double>{std::nan(""), HUGE_VAL}, 5)}) {
            REQUIRE(b.size() == 5);
            for (const auto& x : b) CHECK((x.left == 0 && x.right == 0 && x.count == 0));
        }
        CHECK(tensorboard_histogram(std::vector<float>{1.0f, 2.0f}, 0).size() == 1);
    }
    SUBCASE("extreme range") {
        const auto b = tensorboard_histogram(std::vector<double>{-1e308, 1e308}, 4);
        CHECK(b[0].count == 1);
        CHECK(b[3].count == 1);
        for (const auto& x : b) CHECK((std::isfinite(x.left) && std::isfinite(x.right)));
    }
    SUBCASE("written and read back") {
        unit::temp_dir dir;
        sinks::tensorboard sink{dir.path()};
        direct_run r(1, "exp", "h");
        write_one(sink, r.open());
        std::vector<double> v = {1, 2, 2, 3, 3, 3};
        sink.write_histogram(1, "weights", tensorboard_histogram(v, 3), 10, t0 + 5);
        sink.write_histogram(1, "weights", tensorboard_histogram(std::vector<double>{}, 3), 11, t0 + 6);
        sink.write_histogram(1, "const", tensorboard_histogram(std::vector<double>(4, 9.0), 3), 11, t0 + 7);
        CHECK_ERROR_ID("state.20", sink.write_histogram(2, "x", {}, 0, t0));
        sink.close();
        const auto w = tensors_of(dir.path() / "exp" / "h", "weights");
        REQUIRE(w.size() == 2);
        CHECK(w[0].first == 10);
        CHECK(w[0].second.plugin == "histograms");
        CHECK(w[0].second.t.dtype == 2);
        CHECK(w[0].second.t.shape == std::vector<std::int64_t>{3, 3});
        CHECK(w[0].second.t.numbers() == std::vector<double>{1, 1 + 2.0 / 3, 1, 1 + 2.0 / 3, 1 + 4.0 / 3, 2, 1 + 4.0 / 3, 3, 3});
        CHECK(!w[1].second.has_metadata);  // metadata once per tag per file
        CHECK(w[1].second.t.numbers() == std::vector<double>(9, 0.0));
        const auto c = tensors_of(dir.path() / "exp" / "h", "const");
        REQUIRE(c.size() == 1);
        CHECK(c[0].second.t.numbers() == std::vector<double>{9, 9, 0, 9, 9, 0, 9, 9, 4});
    }
}

TEST_CASE("images over 16 KiB, text, and classification metrics: image, table, PR curve") {
    unit::temp_dir dir;
    std::vector<std::string> errors;
    {
        tracker t{det("exp", &errors), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("cls");
        run.metric("loss").log(0.5, 3);
        // Binary: labels cat (negative), dog (positive); ROC points given out of threshold order.
        run.log_classification_metrics({"cat", "dog"}, {{80, 20}, {10, 90}}, {0.5, 0.0, 0.2}, {1.0, 0.3, 0.9},
                                       {0.1, 0.9, 0.5}, "val");
        // Three classes: no PR curve.
        run.log_classification_metrics({"a", "b", "c|d"}, {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});
        // A second binary log: same tags, no metadata again in this file.
        run.log_classification_metrics({"cat", "dog"}, {{5, 5}, {5, 5}}, {0.0, 1.0}, {0.0, 1.0}, {1.0, 0.0}, "val");
    }
    CHECK(errors.empty());
    const fs::path run_dir = dir.path() / "exp" / "cls";
    const auto img = tensors_of(run_dir, "val/confusion_matrix");
    REQUIRE(img.size() == 2);
    CHECK(img[0].first == 3);  // at the last step seen
    const auto& iv = img[0].second;
    CHECK(iv.plugin == "images");
    CHECK(iv.t.dtype == 7);
    CHECK(iv.t.shape == std::vector<std::int64_t>{3});
    REQUIRE(iv.t.string_val.size() == 3);
    CHECK(iv.t.string_val[0] == "96");
    CHECK(iv.t.string_val[1] == "96");
    CHECK(iv.t.string_val[2].size() > 16 * 1024);
    CHECK(iv.t.string_val[2] == detail::render_confusion_matrix({{80, 20}, {10, 90}}).png);
    CHECK(!img[1].second.has_metadata);

    const auto table = tensors_of(run_dir, "classification/confusion_matrix_table");
    REQUIRE(table.size() == 1);
    CHECK(table[0].second.plugin == "text");
    CHECK(table[0].second.t.shape == std::vector<std::int64_t>{4, 4});
    const auto& cells = table[0].second.t.string_val;
    CHECK(cells[1] == "a");
    CHECK(cells[3] == "c\\|d");
    CHECK(cells[4] == "a");
    CHECK(cells[5] == "1");
    CHECK(cells[15] == "9");
    CHECK(tensors_of(run_dir, "classification/pr_curves").empty());

    const auto pr = tensors_of(run_dir, "val/pr_curves");
    REQUIRE(pr.size() == 2);
    const auto& pv = pr[0].second;
    CHECK(pv.plugin == "pr_curves");
    CHECK(tbdec::pr_num_thresholds(pv.content) == 3);
    CHECK(pv.t.dtype == 1);
    CHECK(pv.t.shape == std::vector<std::int64_t>{6, 3});
    // Columns by increasing threshold: 0.1 (fpr .5, tpr 1), 0.5 (.2, .9), 0.9 (0, .3); P = 100, N = 100.
    const auto n = pv.t.numbers();
    const std::vector<double> tp = {100, 90, 30}, fp = {50, 20, 0};
    for (std::size_t i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(n[0 * 3 + i] == doctest::Approx(tp[i]));
        CHECK(n[1 * 3 + i] == doctest::Approx(fp[i]));
        CHECK(n[2 * 3 + i] == doctest::Approx(100 - fp[i]));
        CHECK(n[3 * 3 + i] == doctest::Approx(100 - tp[i]));
        CHECK(n[4 * 3 + i] == doctest::Approx(tp[i] / (tp[i] + fp[i])));
        CHECK(n[5 * 3 + i] == doctest::Approx(tp[i] / 100));
    }
}

TEST_CASE("direct text and a 100 KiB image: multi-byte length varints at every level") {
    unit::temp_dir dir;
    sinks::tensorboard sink{dir.path()};
    direct_run r(1, "exp", "d");
    write_one(sink, r.open());
    std::vector<std::uint8_t> px(220 * 170 * 3);
    for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 7);
    const std::string png = detail::png_encode(220, 170, 3, px.data());
    REQUIRE(png.size() > 100 * 1024);
    sink.write_image(1, "samples/input", png, 220, 170, 5, t0 + 10);
    sink.write_text(1, "notes", u8"**bold** and ünïcödé", 5, t0 + 11);
    sink.write_text(1, "notes", std::string(300, 'x'), 6, t0 + 12);
    sink.close();
    const auto im = tensors_of(dir.path() / "exp" / "d", "samples/input");
    REQUIRE(im.size() == 1);
    CHECK(im[0].second.t.string_val[0] == "220");
    CHECK(im[0].second.t.string_val[1] == "170");
    CHECK(im[0].second.t.string_val[2] == png);
    const auto tx = tensors_of(dir.path() / "exp" / "d", "notes");
    REQUIRE(tx.size() == 2);
    CHECK(tx[0].second.t.shape.empty());
    CHECK(tx[0].second.t.string_val[0] == u8"**bold** and ünïcödé");
    CHECK(tx[1].second.t.string_val[0] == std::string(300, 'x'));
}

TEST_CASE("run end states map to hparams statuses; an un-ended run gets no end info") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};
        {
            auto ok = t.start_run("ok");
            ok.log("m", 1, 0);
        }
        try {
            auto bad = t.start_run("bad");
            bad.log("m", 1, 0);
            throw std::runtime_error("training blew up");
        } catch (const std::runtime_error&) {
        }
        auto c = t.start_run("cancelled");
        c.end(run_state::cancelled);
        auto open = t.start_run("open");
        open.log("m", 1, 0);
        t.close();  // "open" never ended
    }
    auto end_status = [&](const char* run) -> std::int64_t {
        const auto s = session_of(dir.path() / "exp" / run);
        return s.end ? s.end->status : -1;
    };
    CHECK(end_status("ok") == 1);
    CHECK(end_status("bad") == 2);
    CHECK(end_status("cancelled") == 2);
    CHECK(end_status("open") == -1);
    // Every run is an HParams session, params or not, with the status TensorBoard shows.
    const auto view = tbmodel::load(dir.path());
    REQUIRE(view.sessions.size() == 4);
    CHECK(view.sessions.at("exp/ok").status == "STATUS_SUCCESS");
    CHECK(view.sessions.at("exp/bad").status == "STATUS_FAILURE");
    CHECK(view.sessions.at("exp/cancelled").status == "STATUS_FAILURE");
    CHECK(view.sessions.at("exp/open").status == "STATUS_UNKNOWN");
}

TEST_CASE("crash: a file cut at every byte of its last record reads back every earlier record") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("crash");
        run.log_params({{"lr", 0.1}});
        auto m = run.metric("loss");
        for (int i = 0; i < 20; ++i) m.log(i * 0.5, i);
        run.log_classification_metrics({"n", "p"}, {{3, 1}, {2, 4}}, {0.1}, {0.8}, {0.5});
    }
    const auto file = event_files(dir.path() / "exp" / "crash").at(0);
    const std::string full = unit::read_file(file);
    const auto whole = checked(file);
    REQUIRE(whole.events.size() > 3);
    // The last record is the session end; cut inside the two last records (the image record is large).
    for (std::size_t last = whole.events.size() - 2; last < whole.events.size(); ++last) {
        const std::size_t start = whole.events[last].offset;
        const std::size_t end = last + 1 < whole.events.size() ? whole.events[last + 1].offset : full.size();
        for (std::size_t cut = start; cut < end; ++cut) {
            const auto f = tbdec::decode(std::string_view(full).substr(0, cut));
            REQUIRE(f.events.size() == last);
            REQUIRE(f.how == (cut == start ? tbdec::stop::end : tbdec::stop::truncated));
            REQUIRE(f.stopped_at == start);
        }
    }
    // A flipped byte in the middle stops reading at that record, keeping what came before.
    std::string bad = full;
    const std::size_t at = whole.events[3].offset + 14;
    bad[at] = static_cast<char>(bad[at] ^ 0x40);
    const auto f = tbdec::decode(bad);
    CHECK(f.how == tbdec::stop::bad_data_crc);
    CHECK(f.events.size() == 3);
    std::string bad_len = full;
    bad_len[whole.events[4].offset + 1] ^= 1;
    CHECK(tbdec::decode(bad_len).how == tbdec::stop::bad_length_crc);
}

TEST_CASE("crash then resume: the old file is never touched, a new file continues, nothing is lost") {
    unit::temp_dir dir;
    const fs::path jsonl_root = dir.path() / "jsonl", tb_root = dir.path() / "tb";
    // A child process logs steps 0..49, flushes, and dies without ending the run or closing anything.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        try {
            tracker t{config{"exp"}, sinks::jsonl{jsonl_root}, sinks::tensorboard{tb_root}};
            auto run = t.start_run("r");
            run.log_params({{"lr", 0.1}});
            auto m = run.metric("loss");
            for (int i = 0; i < 50; ++i) m.log(100.0 - i, i);
            t.flush();
            ::_exit(0);
        } catch (...) {
            ::_exit(3);
        }
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    const fs::path run_dir = tb_root / "exp" / "r";
    auto files = event_files(run_dir);
    REQUIRE(files.size() == 1);
    // A record that was in flight: half of a frame at the end of the old file.
    std::string torn;
    {
        auto ev = tb::begin_summary(torn, 1.0, 50);
        tb::value_simple(torn, "loss", 1.0f);
        tb::end_summary(torn, ev);
    }
    unit::append_file(files[0], torn.substr(0, torn.size() / 2));
    const std::string old_bytes = unit::read_file(files[0]);
    CHECK(tbdec::decode(old_bytes).how == tbdec::stop::truncated);

    {
        tracker t{det("exp", nullptr, t0 + 3'600'000'000'000), sinks::jsonl{jsonl_root}, sinks::tensorboard{tb_root}};
        auto run = t.start_run("r", start_mode::resume);
        auto m = run.metric("loss");
        for (int i = 50; i < 100; ++i) m.log(100.0 - i, i);
    }
    files = event_files(run_dir);
    REQUIRE(files.size() == 2);
    CHECK(unit::read_file(files[0]) == old_bytes);  // never appended to, never cut
    const auto second = checked(files[1]);
    REQUIRE(second.events.size() > 2);
    for (const auto& e : second.events) CHECK(!e.has_session_log);  // a continuation: TensorBoard drops nothing
    // Every point: 0..49 from the old file (torn tail ignored), 50..99 from the new one.
    std::vector<std::int64_t> steps;
    for (const auto& p : files)
        for (const auto& e : tbdec::decode_file(p.string()).events)
            for (const auto& v : e.values)
                if (v.tag == "loss") {
                    CHECK(v.simple == static_cast<float>(100 - e.step));
                    steps.push_back(e.step);
                }
    REQUIRE(steps.size() == 100);
    for (std::size_t i = 0; i < steps.size(); ++i) CHECK(steps[i] == static_cast<std::int64_t>(i));
    // What TensorBoard shows: every point once, the params of the first opening, the resumed run's end.
    const auto view = tbmodel::load(tb_root);
    CHECK(view.steps("exp/r", "loss").size() == 100);
    CHECK(view.sessions.at("exp/r").status == "STATUS_SUCCESS");
    CHECK(view.sessions.at("exp/r").hparams.at("lr").number_value == 0.1);
    const double first_start = static_cast<double>(mltrack::read_run(jsonl_root / "exp" / "r").start_time_ns) / 1e9;
    CHECK(session_of(run_dir).start.start_time_secs == doctest::Approx(first_start));  // the run's first start
}

TEST_CASE("resume with the TensorBoard sink alone: exists() sees the run, a new file sorts after the old") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("r");
        run.log("x", 1, 0);
    }
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};  // same clock: same second in the name
        CHECK_ERROR_ID("state.1", t.start_run("r"));
        auto run = t.start_run("r", start_mode::resume);
        run.log("x", 2, 1);
        CHECK_ERROR_ID("state.2", t.start_run("never-was", start_mode::resume));
    }
    const auto files = event_files(dir.path() / "exp" / "r");
    REQUIRE(files.size() == 2);
    CHECK(files[0].filename().string() < files[1].filename().string());
    const auto sc = scalars_of(dir.path() / "exp" / "r");
    REQUIRE(sc.size() == 2);
    CHECK(sc[0].value == 1.0f);
    CHECK(sc[1].value == 2.0f);
    CHECK(tbmodel::load(dir.path()).scalars("exp/r", "x") == std::vector<std::pair<std::int64_t, float>>{{0, 1.0f}, {1, 2.0f}});
}

TEST_CASE("file names sort after existing files, even with a later clock in the folder or a counter past 9") {
    unit::temp_dir dir;
    const fs::path run_dir = dir.path() / "exp" / "r";
    fs::create_directories(run_dir);
    const std::string future = "events.out.tfevents.1999999999.zz.1.0";
    unit::write_file(run_dir / future, "");
    sinks::tensorboard sink{dir.path()};
    direct_run r(1, "exp", "r");
    for (int i = 0; i < 12; ++i) {  // 12 openings of one run in one second: counters 9 -> 10 -> 11
        direct_run again(1, "exp", "r", i > 0);
        write_one(sink, again.open());
        write_one(sink, again.point("x", i, i));
    }
    sink.close();
    const auto files = event_files(run_dir);
    REQUIRE(files.size() == 13);
    CHECK(files[0].filename() == future);
    // In name order, the steps come out in the order they were written.
    std::vector<float> values;
    for (std::size_t i = 1; i < files.size(); ++i)
        for (const auto& e : checked(files[i]).events)
            for (const auto& v : e.values)
                if (v.has_simple) values.push_back(v.simple);
    REQUIRE(values.size() == 12);
    for (int i = 0; i < 12; ++i) CHECK(values[static_cast<std::size_t>(i)] == static_cast<float>(i));
}

TEST_CASE("replay from JSONL produces the same scalars as live logging") {
    unit::temp_dir dir;
    const fs::path jsonl_root = dir.path() / "jsonl", live = dir.path() / "live", replayed = dir.path() / "replayed";
    {
        tracker t{det("exp"), sinks::jsonl{jsonl_root}, sinks::tensorboard{live}};
        auto run = t.start_run("r");
        run.log_params({{"lr", 0.001}, {"opt", "sgd"}});
        auto loss = run.metric("loss");
        auto acc = run.metric("acc");
        for (int i = 0; i < 300; ++i) {
            loss.log(1.0 / (1 + i) + 1e-12, i);  // doubles that float32 rounds
            if (i % 7 == 0) acc.log(i / 300.0, i);
            if (i % 50 == 0) run.log_time_series({{"val/a", i * 0.1}, {"val/b", -i * 0.1}}, i);
        }
        run.log_metrics({{"final", 0.1 + 0.2}});
        run.log_classification_metrics({"a", "b"}, {{1, 2}, {3, 4}}, {0.2}, {0.6}, {0.5});
    }
    {
        sinks::tensorboard sink{replayed};
        mltrack::replay(mltrack::read_run(jsonl_root / "exp" / "r"), sink);
        sink.close();
    }
    for (const auto& p : all_event_files(dir.path())) checked(p);  // every file either way decodes cleanly
    const auto a = scalars_of(live / "exp" / "r");
    const auto b = scalars_of(replayed / "exp" / "r");
    REQUIRE(a.size() == b.size());
    REQUIRE(a.size() == 300 + 43 + 12 + 1);
    for (std::size_t i = 0; i < a.size(); ++i) {
        CAPTURE(i);
        CHECK(a[i].tag == b[i].tag);
        CHECK(a[i].step == b[i].step);
        CHECK(std::memcmp(&a[i].value, &b[i].value, 4) == 0);
    }
    // And the scalars are the JSONL values rounded to float32.
    const auto run = mltrack::read_run(jsonl_root / "exp" / "r");
    std::size_t i = 0;
    for (const auto& s : a)
        if (s.tag == "loss") CHECK(s.value == static_cast<float>(run.series.at("loss")[i++].value));
    CHECK(i == 300);
    // The other summaries match too.
    const auto sa = session_of(live / "exp" / "r"), sb = session_of(replayed / "exp" / "r");
    CHECK(sa.start.hparams.size() == 2);
    CHECK(sb.start.hparams.size() == 2);
    CHECK(sa.start.hparams.at("opt").string_value == sb.start.hparams.at("opt").string_value);
    CHECK(sa.start.start_time_secs == sb.start.start_time_secs);
    CHECK(sa.end->status == sb.end->status);
    // And TensorBoard shows the same: every dashboard, the HParams row.
    auto view_of = [](const fs::path& logdir) {
        auto j = tbmodel::load(logdir).to_json();
        j["runs"]["exp/r"]["text"].erase("run/metadata");  // replay has no environment capture either way
        return j;
    };
    CHECK(view_of(live) == view_of(replayed));
    for (const char* tag : {"classification/pr_curves", "params", "_hparams_/session_end_info"}) {
        CAPTURE(tag);
        const auto x = tensors_of(live / "exp" / "r", tag), y = tensors_of(replayed / "exp" / "r", tag);
        REQUIRE(x.size() == 1);
        REQUIRE(y.size() == 1);
        CHECK(x[0].second.content == y[0].second.content);
        CHECK(x[0].second.t.string_val == y[0].second.t.string_val);
        CHECK(x[0].second.t.numbers() == y[0].second.t.numbers());
    }
}

TEST_CASE("a replay of two runs through one sink with the same run id, and of a resumed run") {
    unit::temp_dir dir;
    const fs::path jsonl_root = dir.path() / "jsonl", out = dir.path() / "tb";
    {
        tracker t{det("exp"), sinks::jsonl{jsonl_root}};
        auto a = t.start_run("a");
        a.log("alpha", 1, 0);
        a.log("beta", 2, 1);
        a.end();
        auto b = t.start_run("b");
        b.log("gamma", 3, 0);  // metric id 2 in the tracker, 0 in b's replay
        b.end();
        auto b2 = t.start_run("b", start_mode::resume);
        b2.log("gamma", 4, 1);
    }
    sinks::tensorboard sink{out};
    mltrack::replay(mltrack::read_run(jsonl_root / "exp" / "a"), sink);
    mltrack::replay(mltrack::read_run(jsonl_root / "exp" / "b"), sink);
    sink.close();
    const auto sa = scalars_of(out / "exp" / "a");
    REQUIRE(sa.size() == 2);
    CHECK(sa[0].tag == "alpha");
    CHECK(sa[1].tag == "beta");
    const auto sb = scalars_of(out / "exp" / "b");
    REQUIRE(sb.size() == 2);
    CHECK(sb[0].tag == "gamma");
    CHECK(sb[1].tag == "gamma");
    CHECK(sb[1].value == 4.0f);
    CHECK(event_files(out / "exp" / "b").size() == 2);  // the resume is a new file, as when it was live
    const auto view = tbmodel::load(out);
    CHECK(view.steps("exp/b", "gamma") == std::vector<std::int64_t>{0, 1});
    CHECK(view.sessions.at("exp/b").status == "STATUS_SUCCESS");
    CHECK(view.sessions.at("exp/a").status == "STATUS_SUCCESS");
}

TEST_CASE("every write() leaves the file at a record boundary, even with tiny buffers") {
    unit::temp_dir dir;
    sinks::tensorboard_options o;
    o.buffer_bytes = 1;
    sinks::tensorboard sink{dir.path(), o};
    direct_run r(1, "exp", "r");
    write_one(sink, r.open());
    CHECK(sink.current_file(1).empty());  // nothing to show yet: no file
    for (int i = 0; i < 50; ++i) {
        write_one(sink, r.point("x", i, i));
        const auto file = sink.current_file(1);
        REQUIRE(!file.empty());
        const auto f = tbdec::decode_file(file.string());
        REQUIRE(f.how == tbdec::stop::end);
        REQUIRE(f.events.size() == static_cast<std::size_t>(i) + 3);  // version, START, points
    }
    sink.close();
    CHECK(sink.current_file(1).empty());
}

TEST_CASE("a run's files appear when it has something to show: the session file first, then the data file") {
    unit::temp_dir dir;
    sinks::tensorboard sink{dir.path()};
    direct_run r(1, "exp", "r");
    const fs::path run_dir = dir.path() / "exp" / "r";
    write_one(sink, r.open());
    sink.flush();  // nothing logged yet: a TensorBoard reading now would meet an empty session
    CHECK(!fs::exists(run_dir));
    CHECK(!sink.exists(r.info));
    record p;
    p.kind = record_kind::params;
    p.payload = named_values<param_value>{{"a", 1}};
    write_all(sink, {r.cold(p), r.point("x", 1, 1)});
    CHECK(!fs::exists(run_dir));  // buffered until the flush
    sink.flush();
    CHECK(session_of(run_dir).start.hparams.at("a").number_value == 1);
    const auto file = sink.current_file(1);
    auto f = checked(file);
    REQUIRE(f.events.size() == 4);  // file_version, START, the params table, the point
    CHECK(f.events[1].has_session_log);
    CHECK(sink.exists(r.info));
    direct_run other(2, "exp", "other");
    CHECK(!sink.exists(other.info));
    // The session file is never half written: it is replaced by rename, and no temporary file stays.
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(run_dir)) entries += e.is_regular_file();
    CHECK(entries == 2);
}

TEST_CASE("params: the session file holds the latest value of each; the params table is written when they change") {
    unit::temp_dir dir;
    sinks::tensorboard sink{dir.path()};
    direct_run r(1, "exp", "r");
    record p1, p2, p3;
    p1.kind = p2.kind = p3.kind = record_kind::params;
    p1.payload = named_values<param_value>{{"a", 1}};
    p2.payload = named_values<param_value>{{"b", "x"}, {"a", 2}};
    p3.payload = named_values<param_value>{{"c", false}};
    write_all(sink, {r.open(), r.cold(p1), r.cold(p2)});
    sink.flush();  // params pending: written now
    write_all(sink, {r.point("m", 1, 5), r.cold(p3), r.point("m", 2, 6)});
    sink.close();
    const auto s = session_of(dir.path() / "exp" / "r").start;
    REQUIRE(s.hparams.size() == 3);
    CHECK(s.hparams.at("a").number_value == 2.0);
    CHECK(s.hparams.at("b").string_value == "x");
    CHECK(s.hparams.at("c").kind == tbdec::hp_value::boolean);
    CHECK(!s.hparams.at("c").bool_value);
    const auto text = tensors_of(dir.path() / "exp" / "r", "params");
    REQUIRE(text.size() == 2);
    CHECK(text[1].first == 5);  // the later table at the last step seen
    CHECK(text[1].second.t.string_val[0].find("| c | false |") != std::string::npos);
}

TEST_CASE("a declared hparams experiment is written once per experiment folder") {
    unit::temp_dir dir;
    sinks::tensorboard_options o;
    tensorboard_experiment x;
    x.description = "sweep";
    tensorboard_hparam lr;
    lr.name = "lr";
    lr.type = tensorboard_hparam_type::float64;
    lr.interval = std::make_pair(0.0, 1.0);
    x.hparams = {lr};
    tensorboard_metric m;
    m.tag = "loss";
    m.dataset = tensorboard_dataset::validation;
    x.metrics = {m};
    o.experiment = x;
    for (int process = 0; process < 2; ++process) {
        tracker t{det("exp"), sinks::tensorboard{dir.path(), o}};
        auto a = t.start_run("a" + std::to_string(process));
        auto b = t.start_run("b" + std::to_string(process));
        a.log("loss", 1, 0);
        b.log("loss", 2, 0);
    }
    const auto files = event_files(dir.path() / "exp");
    REQUIRE(files.size() == 1);
    const auto f = checked(files[0]);
    REQUIRE(f.events.size() == 2);
    REQUIRE(f.events[1].values.size() == 1);
    const auto& v = f.events[1].values[0];
    CHECK(v.tag == "_hparams_/experiment");
    CHECK(tbdec::hparams_kind(v.content) == 2);
    const auto e = tbdec::parse_experiment(v.content);
    CHECK(e.description == "sweep");
    REQUIRE(e.hparams.size() == 1);
    CHECK(e.hparams[0].has_interval);
    CHECK(e.hparams[0].min_value == 0.0);
    CHECK(e.hparams[0].max_value == 1.0);
    REQUIRE(e.metrics.size() == 1);
    CHECK(e.metrics[0].tag == "loss");
    CHECK(e.metrics[0].dataset_type == 2);
    for (const char* run : {"a0", "b0", "a1", "b1"}) CHECK(event_files(dir.path() / "exp" / run).size() == 1);
}

TEST_CASE("artifacts and executions appear as text") {
    unit::temp_dir dir;
    const fs::path model = dir.path() / "model.bin";
    unit::write_file(model, "weights");
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path() / "tb"}};
        auto run = t.start_run("r");
        auto a = run.log_model(model, {"custom", "1.0"});
        execution x;
        x.name = "train";
        x.inputs.push_back(artifact::reference("data", "file:///data"));
        x.outputs.push_back(a);
        run.log_execution(x);
    }
    const fs::path run_dir = dir.path() / "tb" / "exp" / "r";
    const auto a = tensors_of(run_dir, "artifacts/model.bin");
    REQUIRE(a.size() == 1);
    CHECK(a[0].second.t.string_val[0].find("**model** `model.bin`, 7 bytes, custom 1.0") == 0);
    const auto x = tensors_of(run_dir, "executions/train");
    REQUIRE(x.size() == 1);
    CHECK(x[0].second.t.string_val[0].find("inputs: `data`") != std::string::npos);
}

TEST_CASE("options turn off the extra summaries") {
    unit::temp_dir dir;
    sinks::tensorboard_options o;
    o.params_text = false;
    o.confusion_matrix_image = false;
    o.pr_curves = false;
    o.run_text = false;
    o.writer = "";
    o.hostname = "my host/with:odd chars";
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path(), o}};
        auto run = t.start_run("r", start_mode::create, {{"k", "v"}});
        run.log_params({{"a", 1}});
        run.log_classification_metrics({"a", "b"}, {{1, 2}, {3, 4}}, {0.2}, {0.6}, {0.5});
    }
    const auto files = event_files(dir.path() / "exp" / "r");
    REQUIRE(files.size() == 1);
    CHECK(files[0].filename().string().find(".my_host_with_odd_chars.") != std::string::npos);
    std::set<std::string> tags;
    const auto f = checked(files[0]);
    CHECK(f.events[0].writer.empty());
    for (const auto& e : f.events)
        for (const auto& v : e.values) tags.insert(v.tag);
    CHECK(tags == std::set<std::string>{"_hparams_/session_end_info", "classification/confusion_matrix_table"});
}

TEST_CASE("two runs written from two threads go to their own folders") {
    unit::temp_dir dir;
    {
        config c{"exp"};
        tracker t{c, sinks::tensorboard{dir.path()}};
        std::vector<std::thread> threads;
        for (int k = 0; k < 2; ++k)
            threads.emplace_back([&t, k] {
                auto run = t.start_run("run" + std::to_string(k));
                auto m = run.metric("loss");
                for (int i = 0; i < 2000; ++i) m.log(k * 10000 + i, i);
            });
        for (auto& th : threads) th.join();
    }
    for (int k = 0; k < 2; ++k) {
        const auto sc = scalars_of(dir.path() / "exp" / ("run" + std::to_string(k)));
        REQUIRE(sc.size() == 2000);
        for (int i = 0; i < 2000; ++i) {
            CHECK(sc[static_cast<std::size_t>(i)].step == i);
            CHECK(sc[static_cast<std::size_t>(i)].value == static_cast<float>(k * 10000 + i));
        }
    }
}

TEST_CASE("a partial write (file size limit) is cut back; the next records follow complete ones") {
    unit::temp_dir dir;
    sinks::tensorboard_options o;
    o.buffer_bytes = 1u << 20;
    sinks::tensorboard sink{dir.path(), o};
    direct_run r(1, "exp", "r");
    write_one(sink, r.open());
    write_one(sink, r.point("loss", -1, -1));
    sink.flush();
    const auto file = sink.current_file(1);
    const auto committed = fs::file_size(file);
    std::vector<event> points;
    for (int i = 0; i < 50; ++i) points.push_back(r.point("loss", i * 0.5, i));
    write_all(sink, points);
    struct rlimit old {};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = committed + 300;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::string what;
    try {
        sink.flush();
    } catch (const std::exception& e) {
        what = e.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    CHECK(what.find("[mltrack.error.io.22]") != std::string::npos);
    CHECK(what.find("(50 records lost)") != std::string::npos);
    CHECK(sink.records_lost() == 50);
    CHECK(fs::file_size(file) == committed);
    write_all(sink, {r.point("loss", 7, 100)});
    sink.close();
    const auto f = checked(file);
    REQUIRE(f.events.size() == 4);  // file_version, START, the point at -1, the point at 100
    CHECK(f.events[3].values[0].simple == 7.0f);
    CHECK(f.events[3].step == 100);
}

TEST_CASE("a logdir that cannot be created: io.20 to the handler, other sinks and runs unaffected") {
    unit::temp_dir dir;
    unit::write_file(dir.path() / "file", "not a folder");
    std::vector<std::string> errors;
    {
        tracker t{det("exp", &errors), sinks::tensorboard{dir.path() / "file" / "tb"}};
        auto run = t.start_run("r");
        run.log("x", 1, 0);
        run.log_params({{"a", 1}});
    }
    REQUIRE(!errors.empty());
    CHECK(errors[0].find("tensorboard: [mltrack.error.io.20]") == 0);
}

TEST_CASE("values at one step and wall time share one Event, across batches and past 127 bytes of values") {
    unit::temp_dir dir;
    sinks::tensorboard sink{dir.path()};
    direct_run r(1, "exp", "r");
    write_one(sink, r.open());
    std::vector<event> v;
    for (int k = 0; k < 40; ++k) {
        event e = r.point("metric/number_" + std::to_string(k), k, 7);
        e.time_ns = t0 + 99;
        v.push_back(e);
    }
    // One at a time (as an inline tracker hands them over), then a flush, then more at the same step.
    for (std::size_t k = 0; k < 30; ++k) write_one(sink, v[k]);
    sink.flush();
    write_all(sink, std::vector<event>(v.begin() + 30, v.end()));
    event later = r.point("metric/number_0", 1, 8);
    write_one(sink, later);
    sink.close();
    const auto f = checked(event_files(dir.path() / "exp" / "r").at(0));
    std::vector<std::size_t> sizes;
    for (const auto& e : f.events)
        if (e.has_summary && e.values[0].has_simple) sizes.push_back(e.values.size());
    CHECK(sizes == std::vector<std::size_t>{30, 10, 1});
    const auto sc = scalars_of(dir.path() / "exp" / "r");
    REQUIRE(sc.size() == 41);
    for (int k = 0; k < 40; ++k) {
        CHECK(sc[static_cast<std::size_t>(k)].tag == "metric/number_" + std::to_string(k));
        CHECK(sc[static_cast<std::size_t>(k)].value == static_cast<float>(k));
        CHECK(sc[static_cast<std::size_t>(k)].step == 7);
    }
}

TEST_CASE("a sink moved while a run is open keeps writing it; move-assignment finishes the target's files") {
    unit::temp_dir dir;
    sinks::tensorboard a{dir.path() / "a"};
    direct_run r(1, "exp", "r");
    write_one(a, r.open());
    write_one(a, r.point("x", 1, 1));
    sinks::tensorboard b{std::move(a)};
    write_one(b, r.point("x", 2, 2));
    CHECK(a.current_file(1).empty());
    sinks::tensorboard c{dir.path() / "c"};
    direct_run r2(1, "exp", "other");
    write_one(c, r2.open());
    write_one(c, r2.point("y", 5, 0));
    c = std::move(b);  // c's own run is flushed and closed first
    write_one(c, r.point("x", 3, 3));
    c.close();
    const auto sc = scalars_of(dir.path() / "a" / "exp" / "r");
    REQUIRE(sc.size() == 3);
    CHECK(sc[2].value == 3.0f);
    const auto other = scalars_of(dir.path() / "c" / "exp" / "other");
    REQUIRE(other.size() == 1);
    CHECK(other[0].value == 5.0f);
}

TEST_CASE("one point per event (the stack-buffer path) and several per event decode alike, at every tag length") {
    unit::temp_dir dir;
    const std::vector<std::int64_t> steps{0, 1, 127, 128, -5, std::int64_t{1} << 40};
    std::vector<std::string> tags;
    for (std::size_t n : {1u, 60u, 117u, 118u, 119u, 120u, 121u, 200u}) tags.push_back(std::string(n, 'k'));
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("r");
        for (const auto& tag : tags) {
            auto m = run.metric(tag);
            for (auto s : steps) m.log(static_cast<double>(s) + 0.5, s);  // one point per step: its own event
        }
        run.log_time_series({{"a", 1.0}, {"b", 2.0}}, 7);  // two points of one step: one event
    }
    const auto got = scalars_of(dir / "exp" / "r"), wide = scalars_of(dir / "exp" / "r@int64-steps");
    std::size_t k = 0, w = 0;
    for (const auto& tag : tags)
        for (auto s : steps) {
            const bool fits = s == static_cast<std::int32_t>(s);
            const auto& in = fits ? got : wide;
            std::size_t& at = fits ? k : w;
            REQUIRE(at < in.size());
            CHECK(in[at].tag == tag);
            CHECK(in[at].step == s);
            CHECK(in[at].value == static_cast<float>(static_cast<double>(s) + 0.5));
            ++at;
        }
    CHECK(wide.size() == w);
    REQUIRE(got.size() == k + 2);
    CHECK(got[k].tag == "a");
    CHECK(got[k + 1].tag == "b");
    CHECK(got[k + 1].step == 7);
}

namespace {

std::atomic<std::int64_t> fine_clock_ns{0};
std::int64_t fine_clock() noexcept { return fine_clock_ns.fetch_add(1000); }  // +1 us per reading

/// det() with a clock that moves 1 us per reading: separate log calls land well within the 1 ms window.
config det_fine(const char* experiment, std::vector<std::string>* errors) {
    config c = det(experiment, errors);
    fine_clock_ns = t0;
    c.clock = fine_clock;
    return c;
}

/// The Events of a run folder's one file that hold scalars, in file order.
std::vector<tbdec::event> scalar_events(const fs::path& run_dir) {
    const auto files = event_files(run_dir);
    REQUIRE(files.size() == 1);
    std::vector<tbdec::event> out;
    for (const auto& e : checked(files[0]).events)
        if (e.has_summary && !e.values.empty() && e.values[0].has_simple) out.push_back(e);
    return out;
}

}  // namespace

TEST_CASE("metrics logged by separate calls at one step share one Event; each step has its own") {
    unit::temp_dir dir;
    std::vector<std::string> errors;
    {
        tracker t{det_fine("exp", &errors), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("r");
        auto loss = run.metric("train/loss"), lr = run.metric("train/lr"), acc = run.metric("train/accuracy");
        for (int s = 0; s < 5; ++s) {
            loss.log(1.0 / (s + 1), s);
            lr.log(0.125, s);
            acc.log(0.5 + 0.0625 * s, s);
        }
        // Many metrics at one step: the Summary grows past 127 bytes (a 2-byte length varint).
        for (int k = 0; k < 40; ++k) run.log("metric/number_" + std::to_string(k), k, 9);
    }
    CHECK(errors.empty());
    const auto events = scalar_events(dir.path() / "exp" / "r");
    REQUIRE(events.size() == 6);
    for (int s = 0; s < 5; ++s) {
        CAPTURE(s);
        const auto& e = events[static_cast<std::size_t>(s)];
        CHECK(e.step == s);
        REQUIRE(e.values.size() == 3);
        CHECK(e.values[0].tag == "train/loss");
        CHECK(e.values[0].simple == static_cast<float>(1.0 / (s + 1)));
        CHECK(e.values[1].tag == "train/lr");
        CHECK(e.values[1].simple == 0.125f);
        CHECK(e.values[2].tag == "train/accuracy");
        CHECK(e.values[2].simple == static_cast<float>(0.5 + 0.0625 * s));
        if (s > 0) CHECK(e.wall_time > events[static_cast<std::size_t>(s) - 1].wall_time);
    }
    const auto& many = events[5];
    CHECK(many.step == 9);
    REQUIRE(many.values.size() == 40);
    for (int k = 0; k < 40; ++k) {
        CHECK(many.values[static_cast<std::size_t>(k)].tag == "metric/number_" + std::to_string(k));
        CHECK(many.values[static_cast<std::size_t>(k)].simple == static_cast<float>(k));
    }
}

TEST_CASE("the 1 ms window: measured from the Event's first point, whose time is the Event's wall time") {
    unit::temp_dir dir;
    sinks::tensorboard sink{dir.path()};
    direct_run r(1, "exp", "r");
    write_one(sink, r.open());
    const std::int64_t base = t0 + 5'000'000;
    auto at = [&](const char* tag, double v, std::int64_t step, std::int64_t time_ns) {
        event e = r.point(tag, v, step);
        e.time_ns = time_ns;
        return e;
    };
    // One point per write() (the stack-buffer path starts each Event; later ones extend it).
    write_one(sink, at("a", 1, 3, base));
    write_one(sink, at("b", 2, 3, base + 999'999));    // just inside: same Event
    write_one(sink, at("c", 3, 3, base - 400'000));    // a little earlier (another thread): same Event
    write_one(sink, at("d", 4, 3, base + 1'000'000));  // 1 ms after the first point: a new Event
    write_one(sink, at("e", 5, 3, base + 1'600'000));  // 0.6 ms after d: joins d's Event...
    write_one(sink, at("f", 6, 3, base + 2'100'000));  // ...but 1.1 ms after d is past it, though 0.5 after e
    write_one(sink, at("g", 7, 4, base + 2'100'001));  // the next step: always a new Event
    // The same in one batch.
    write_all(sink, {at("a", 1, 5, base + 10'000'000), at("b", 2, 5, base + 10'999'999),
                     at("d", 4, 5, base + 11'000'000), at("e", 5, 5, base + 11'600'000),
                     at("g", 7, 6, base + 11'600'000)});
    // A flush empties the buffer: the next point starts a new Event even within the window.
    sink.flush();
    write_one(sink, at("h", 8, 6, base + 11'600'001));
    sink.close();

    const auto events = scalar_events(dir.path() / "exp" / "r");
    std::vector<std::pair<std::int64_t, std::string>> got;  // step, tags of each Event
    for (const auto& e : events) {
        std::string tags;
        for (const auto& v : e.values) tags += v.tag;
        got.emplace_back(e.step, tags);
    }
    const std::vector<std::pair<std::int64_t, std::string>> expected = {
        {3, "abc"}, {3, "de"}, {3, "f"}, {4, "g"}, {5, "ab"}, {5, "de"}, {6, "g"}, {6, "h"}};
    CHECK(got == expected);
    REQUIRE(events.size() == expected.size());
    // Each Event's wall time is its first point's.
    const std::vector<std::int64_t> first_times = {base,
                                                   base + 1'000'000,
                                                   base + 2'100'000,
                                                   base + 2'100'001,
                                                   base + 10'000'000,
                                                   base + 11'000'000,
                                                   base + 11'600'000,
                                                   base + 11'600'001};
    for (std::size_t k = 0; k < events.size(); ++k) {
        CAPTURE(k);
        CHECK(events[k].wall_time == tb::wall_seconds(first_times[k]));
    }
    CHECK(events[0].values[1].simple == 2.0f);
    CHECK(events[0].values[2].simple == 3.0f);
}

TEST_CASE("string summary metrics are text, numbers scalars; a strings-only call writes no empty Event") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("r");
        run.log("loss", 1.0, 3);
        run.log_metrics({{"best", "epoch 3"}, {"note", u8"ünïcode"}});
        run.log_metrics({{"acc", 0.5}, {"verdict", "good"}});
    }
    const auto view = tbmodel::load(dir.path());
    CHECK(view.errors.empty());
    CHECK(view.texts("exp/r", "best") == std::vector<std::string>{"epoch 3"});
    CHECK(view.texts("exp/r", "note") == std::vector<std::string>{u8"ünïcode"});
    CHECK(view.texts("exp/r", "verdict") == std::vector<std::string>{"good"});
    CHECK(view.scalars("exp/r", "acc") == std::vector<std::pair<std::int64_t, float>>{{3, 0.5f}});
    for (const auto& f : event_files(dir.path() / "exp" / "r"))
        for (const auto& e : checked(f).events) CHECK(!(e.has_summary && e.values.empty()));
}

TEST_CASE("a live execution is shown whole each time: its state now and every artifact so far") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("r");
        auto x = run.start_execution("train");
        x.add_inputs({artifact::reference("data", "file:///data")});
        x.add_outputs({artifact::reference("ckpt-1", "file:///ckpt/1")});
        x.add_outputs({artifact::reference("ckpt-2", "file:///ckpt/2")});
        x.end();
    }
    const auto texts = tbmodel::load(dir.path()).texts("exp/r", "executions/train");
    REQUIRE(!texts.empty());
    const std::string& last = texts.back();
    CHECK(last.find("COMPLETE") != std::string::npos);
    CHECK(last.find("inputs: `data`") != std::string::npos);
    CHECK(last.find("`ckpt-1` `ckpt-2`") != std::string::npos);
    CHECK(texts.front().find("RUNNING") != std::string::npos);
}

TEST_CASE("a run resumed with the TensorBoard sink alone continues its steps for points logged without one") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("r");
        for (int i = 0; i < 5; ++i) run.log("loss", 1.0 / (i + 1), i);
        run.log("big", 1.0, std::int64_t{1} << 40);  // in <run>@int64-steps
        run.log_metrics({{"note", "a text, not a scalar"}});
    }
    sinks::tensorboard probe{dir.path()};
    direct_run r(1, "exp", "r", true);
    const auto steps = probe.max_steps(r.info);
    REQUIRE(steps);
    CHECK(steps->at("loss") == 4);
    CHECK(steps->at("big") == (std::int64_t{1} << 40));
    CHECK(!steps->count("note"));
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("r", start_mode::resume);
        auto loss = run.metric("loss");
        loss.log(0.1);  // no step: the next after 4
        loss.log(0.05);
    }
    CHECK(tbmodel::load(dir.path()).steps("exp/r", "loss") == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6});
}

TEST_CASE("tags are a text table, written again when they change") {
    unit::temp_dir dir;
    {
        tracker t{det("exp"), sinks::tensorboard{dir.path()}};
        auto run = t.start_run("r", start_mode::create, {}, {{"team", "vision"}});
        run.log("x", 1, 5);
        run.set_tag("stage", "prod");
    }
    const auto texts = tbmodel::load(dir.path()).texts("exp/r", "tags");
    REQUIRE(texts.size() == 2);
    CHECK(texts[1].find("| stage | prod |") != std::string::npos);
    CHECK(texts[1].find("| team | vision |") != std::string::npos);
}
