// `mltrack check` through the real binary: a clean data set exits 0; a malformed line, a truncated (torn)
// last line, a flipped byte, an unknown kind, a record after run_end, a missing artifact copy each exit 1
// with "file:line: problem" on stderr; TensorBoard files (written by `mltrack sync`) are clean, and a
// flipped CRC byte or a truncated record is reported with its offset; symlinked folders are followed.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <mltrack/mltrack.hpp>
#include <mltrack/detail/tensorboard/crc32c.hpp>
#include <mltrack/detail/tensorboard/protobuf_wire.hpp>

#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "unit/unit_support.hpp"

namespace {

namespace fs = std::filesystem;

/// Replaces line `n` (1-based) of a file.
void replace_line(const fs::path& file, std::size_t n, const std::string& text) {
    std::string all = unit::read_file(file), out;
    std::size_t line = 1, start = 0;
    while (start < all.size()) {
        const auto nl = all.find('\n', start);
        const std::string cur = all.substr(start, nl - start);
        out += (line == n ? text : cur) + "\n";
        start = nl + 1;
        ++line;
    }
    unit::write_file(file, out);
}

/// One TFRecord: length, masked CRC of the length, payload, masked CRC of the payload.
std::string tf_record(const std::string& payload) {
    std::string r;
    mltrack::detail::pb::append_fixed64(r, payload.size());
    mltrack::detail::pb::append_fixed32(r, mltrack::detail::masked_crc32c(r.data(), 8));
    r += payload;
    mltrack::detail::pb::append_fixed32(r, mltrack::detail::masked_crc32c(payload.data(), payload.size()));
    return r;
}

/// An event file: record 0 with file_version, then one Event holding `summary_value` (a Summary.Value).
std::string event_file_with(const std::string& summary_value, double wall_time = 1.7e9) {
    using namespace mltrack::detail::pb;
    std::string head;
    field_double(head, 1, 1.7e9);
    field_bytes(head, 3, "brain.Event:2");
    std::string summary, event;
    field_bytes(summary, 1, summary_value);
    field_double(event, 1, wall_time);
    field_int(event, 2, 1);
    field_bytes(event, 5, summary);
    return tf_record(head) + tf_record(event);
}

std::string plugin_metadata(const std::string& plugin) {
    std::string pd, md;
    mltrack::detail::pb::field_bytes(pd, 1, plugin);
    mltrack::detail::pb::field_bytes(md, 1, pd);
    return md;
}

/// TensorProto with a dtype, a shape and raw tensor_content (or `strings` string_val entries).
std::string tensor(int dtype, const std::vector<int>& shape, std::size_t content_bytes, int strings = 0) {
    using namespace mltrack::detail::pb;
    std::string t, sh;
    field_int(t, 1, dtype);
    for (int d : shape) {
        std::string dim;
        field_int(dim, 1, d);
        field_bytes(sh, 2, dim);
    }
    field_bytes(t, 2, sh);
    if (content_bytes) field_bytes(t, 4, std::string(content_bytes, '\0'));
    for (int i = 0; i < strings; ++i) field_bytes(t, 8, "x");
    return t;
}

}  // namespace

TEST_CASE("check: the clean data set") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    const auto r = cli_test::run({"check", (d / "root").string()});
    CHECK(r.status == 0);
    CHECK(r.err == "");
    CHECK(r.out == "checked 4 JSONL runs (35 lines) and 0 TensorBoard files (0 records): no problems\n");
    CHECK(cli_test::run({"check", (d / "root" / "exp" / "baseline" / "events.jsonl").string(), "-q"}).out == "");
}

TEST_CASE("check: follows symlinked run and experiment folders as ls and export do; a link loop ends") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "store");
    fs::create_directories(d / "root" / "exp");
    fs::create_directory_symlink(d / "store" / "exp" / "baseline", d / "root" / "exp" / "baseline");
    fs::create_directory_symlink(d / "store" / "other", d / "root" / "other");
    fs::create_directory_symlink(d / "root", d / "root" / "exp" / "loop");  // a cycle: checked once
    const auto ls = cli_test::run({"ls", (d / "root").string(), "-f", "csv"});
    CHECK(cli_test::parse_csv(ls.out).size() == 3);  // baseline and r1
    auto r = cli_test::run({"check", (d / "root").string()});
    CHECK(r.status == 0);
    CHECK(r.err == "");
    CHECK(r.out.rfind("checked 2 JSONL runs (", 0) == 0);
    // A damaged run behind a link is found too.
    unit::write_file(d / "store" / "other" / "r1" / "events.jsonl",
                     unit::read_file(d / "store" / "other" / "r1" / "events.jsonl") + "{not json}\n");
    r = cli_test::run({"check", (d / "root").string()});
    CHECK(r.status == 1);
    CHECK(r.err.find("other/r1/events.jsonl:") != std::string::npos);
}

TEST_CASE("check: each damage is reported as file:line and exits 1") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    const fs::path file = d / "root" / "exp" / "baseline" / "events.jsonl";
    const std::string where = file.string() + ":";
    const std::string original = unit::read_file(file);
    struct damage {
        const char* what;
        std::function<void()> apply;
        std::string expect;
    };
    const std::vector<damage> damages = {
        {"malformed line", [&] { replace_line(file, 4, "{\"kind\":\"metrics\",\"time\":1700000000.004000,\"step\":1,"); },
         where + "4: malformed JSON"},
        {"truncated last line", [&] { unit::write_file(file, original.substr(0, original.size() - 10)); },
         where + "12: torn last line"},
        {"flipped byte in a field name",
         [&] {
             std::string s = original;
             s[s.find("\"step\":2")] ^= 0x01;  // '"' -> '#'
             unit::write_file(file, s);
         },
         where + "5: malformed JSON"},
        {"flipped byte in a kind",
         [&] {
             std::string s = original;
             s[s.find("\"summary\"") + 1] ^= 0x20;  // 's' -> 'S'
             unit::write_file(file, s);
         },
         where + "8: unknown kind 'Summary'"},
        {"wrong type", [&] { replace_line(file, 3, R"({"kind":"metrics","time":1700000000.003000,"step":"0","values":{"a":1}})"); },
         where + "3: \"step\" has the wrong type"},
        {"record after run_end", [&] { unit::append_file(file, R"({"kind":"summary","time":1700000000.1,"values":{"x":1}})" "\n"); },
         where + "13: a summary record after the run ended (line 12) without a run_resume"},
        {"first line", [&] { replace_line(file, 1, R"({"kind":"params","time":1,"values":{}})"); },
         where + "1: the first line must be a run_start"},
        {"empty file", [&] { unit::write_file(file, ""); }, where.substr(0, where.size() - 1) + ": no run_start line"},
    };
    for (const auto& dmg : damages) {
        CAPTURE(dmg.what);
        unit::write_file(file, original);
        dmg.apply();
        const auto r = cli_test::run({"check", (d / "root").string()});
        CHECK(r.status == 1);
        CHECK_MESSAGE(r.err.find(dmg.expect) != std::string::npos, "stderr: " << r.err);
        CHECK(r.out.find("1 problem in 1 file") != std::string::npos);
    }
    unit::write_file(file, original);
    CHECK(cli_test::run({"check", (d / "root").string()}).status == 0);
}

TEST_CASE("check: every bad line of a file is reported, in order") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    const fs::path file = d / "root" / "exp" / "wide" / "events.jsonl";
    replace_line(file, 9, "oops");
    replace_line(file, 4, "{}");
    const auto r = cli_test::run({"check", file.string()});
    CHECK(r.status == 1);
    const auto a = r.err.find(file.string() + ":4: missing \"kind\"");
    const auto b = r.err.find(file.string() + ":9: malformed JSON");
    CHECK(a != std::string::npos);
    CHECK(b != std::string::npos);
    CHECK(a < b);
    CHECK(r.out.find("2 problems in 1 file") != std::string::npos);
    CHECK(cli_test::run({"check", file.string(), "--max-problems", "1"}).err.find("1 more problems not shown") !=
          std::string::npos);
}

TEST_CASE("check: artifact copies") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    unit::write_file(d / "model.bin", "weights");
    {
        mltrack::tracker t{cli_dataset::make_config("e"), mltrack::sinks::jsonl(d / "root")};
        auto run = t.start_run("r");
        run.log_model(d / "model.bin", {"custom", "1"});
    }
    const fs::path copy = d / "root" / "e" / "r" / "artifacts" / "model.bin";
    REQUIRE(fs::exists(copy));
    CHECK(cli_test::run({"check", (d / "root").string(), "--verify-artifacts"}).status == 0);
    unit::write_file(copy, "WEIGHTS");  // same size, other bytes
    CHECK(cli_test::run({"check", (d / "root").string()}).status == 0);
    auto r = cli_test::run({"check", (d / "root").string(), "--verify-artifacts"});
    CHECK(r.status == 1);
    CHECK(r.err.find("events.jsonl:2: artifact 'model.bin': artifacts/model.bin has SHA-256") != std::string::npos);
    fs::remove(copy);
    r = cli_test::run({"check", (d / "root").string()});
    CHECK(r.status == 1);
    CHECK(r.err.find("events.jsonl:2: artifact 'model.bin': its copy artifacts/model.bin is missing") !=
          std::string::npos);
}

TEST_CASE("check: a folder copy whose contents do not match its latest record; re-logged copies") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    unit::write_file(d / "ckpt" / "a.bin", "aaaa");
    unit::write_file(d / "ckpt" / "sub" / "b.bin", "bb");
    {
        mltrack::tracker t{cli_dataset::make_config("e"), mltrack::sinks::jsonl(d / "root")};
        auto run = t.start_run("r");
        run.log_artifact(d / "ckpt");
        unit::write_file(d / "ckpt" / "a.bin", "a2");  // re-logged: only the latest record describes the copy
        run.log_artifact(d / "ckpt");
    }
    const fs::path copy = d / "root" / "e" / "r" / "artifacts" / "ckpt";
    CHECK(cli_test::run({"check", (d / "root").string(), "--verify-artifacts"}).status == 0);
    fs::remove(copy / "sub" / "b.bin");  // a file of the folder lost: plain check sees the size
    auto r = cli_test::run({"check", (d / "root").string()});
    CHECK(r.status == 1);
    CHECK(r.err.find("events.jsonl:3: artifact 'ckpt': artifacts/ckpt has 2 bytes, the record says 4") !=
          std::string::npos);
    unit::write_file(copy / "sub" / "b.bin", "BB");  // same size, other bytes: only the digest tells
    CHECK(cli_test::run({"check", (d / "root").string()}).status == 0);
    r = cli_test::run({"check", (d / "root").string(), "--verify-artifacts"});
    CHECK(r.status == 1);
    CHECK(r.err.find("events.jsonl:3: artifact 'ckpt': artifacts/ckpt has SHA-256") != std::string::npos);
    // a kill between the renames of a replacement: the copy is set aside under a hidden name
    fs::rename(copy, copy.parent_path() / ".ckpt.replaced");
    r = cli_test::run({"check", (d / "root").string()});
    CHECK(r.status == 1);
    CHECK(r.err.find("its copy artifacts/ckpt is missing; a replacement was interrupted and the previous copy is at "
                     "artifacts/.ckpt.replaced") != std::string::npos);
}

TEST_CASE("check: TensorBoard event files written by sync; a flipped CRC byte and a truncated record") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    REQUIRE(cli_test::run({"sync", (d / "root").string(), "--to", "tensorboard:" + (d / "tb").string()}).status == 0);
    auto r = cli_test::run({"check", (d / "tb").string()});
    CHECK(r.status == 0);
    CHECK(r.out.find("and 8 TensorBoard files") != std::string::npos);  // a session file and a data file per run

    fs::path event_file;
    for (const auto& e : fs::directory_iterator(d / "tb" / "exp" / "baseline"))
        if (e.path().filename().string().find("mltrack-session") == std::string::npos) event_file = e.path();
    const std::string bytes = unit::read_file(event_file);
    // The first record: 8-byte length, 4-byte length CRC, payload, 4-byte data CRC.
    std::uint64_t len0 = 0;
    for (int i = 7; i >= 0; --i) len0 = (len0 << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
    std::string flipped = bytes;
    flipped[12 + len0 + 4 + 8] ^= 0x40;  // second record's length CRC
    unit::write_file(event_file, flipped);
    r = cli_test::run({"check", event_file.string()});
    CHECK(r.status == 1);
    CHECK(r.err.find(event_file.string() + ":offset " + std::to_string(16 + len0) + ": record 1: length CRC mismatch") !=
          std::string::npos);

    flipped = bytes;
    flipped[12 + 3] ^= 0x01;  // a payload byte of record 0
    unit::write_file(event_file, flipped);
    r = cli_test::run({"check", event_file.string()});
    CHECK(r.status == 1);
    CHECK(r.err.find(":offset 0: record 0: data CRC mismatch") != std::string::npos);

    unit::write_file(event_file, bytes.substr(0, bytes.size() - 5));
    r = cli_test::run({"check", (d / "tb").string()});
    CHECK(r.status == 1);
    CHECK(r.err.find("truncated record") != std::string::npos);

    unit::write_file(event_file, bytes);
    CHECK(cli_test::run({"check", (d / "tb").string()}).status == 0);
    CHECK(cli_test::run({"check", (d / "nothing-here").string()}).status == 1);
}

TEST_CASE("check: TensorBoard summaries by kind: everything the sink writes passes, bad kinds are named") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    {  // every kind the sink writes: scalars, hparams, text tables, histograms, PR curves, confusion matrix image
        mltrack::config c{"kinds"};
        c.capture_environment = false;
        mltrack::tracker t{c, mltrack::sinks::tensorboard{d / "tb"}};
        auto run = t.start_run("all", mltrack::start_mode::create, {{"group", "g"}});
        run.log_params({{"lr", 0.1}, {"opt", "sgd"}});
        for (int i = 0; i < 10; ++i) run.log("loss", 1.0 / (i + 1), i);
        run.log_histogram("w", std::vector<double>{1, 2, 2, 3, 5, 8}, 1);
        mltrack::classification_metrics m;
        m.labels = {"a", "b"};
        m.matrix = {{3, 1}, {0, 4}};
        m.fpr = {0, 0.5, 1};
        m.tpr = {0, 0.8, 1};
        m.thresholds = {1, 0.5, 0};
        run.log_classification_metrics(m);
        run.log_metrics({{"acc", 0.9}});
    }
    auto r = cli_test::run({"check", (d / "tb").string()});
    CHECK(r.status == 0);
    CHECK(r.err == "");

    using namespace mltrack::detail::pb;
    struct bad_case {
        const char* name;
        std::string value;  // a Summary.Value
        const char* expected;
        double wall_time = 1.7e9;
    };
    std::vector<bad_case> cases;
    {
        std::string v;
        field_float(v, 2, 1.0f);
        cases.push_back({"no tag", v, "a summary value has no tag"});
    }
    {
        std::string v;
        field_bytes(v, 1, "h");
        field_bytes(v, 9, plugin_metadata("histograms"));
        field_bytes(v, 8, tensor(2, {2, 2}, 32));
        cases.push_back({"histogram [2,2]", v, "value 'h': plugin \"histograms\": a histogram is not a [k, 3] tensor"});
    }
    {
        std::string v;
        field_bytes(v, 1, "two");
        field_float(v, 2, 1.0f);
        field_bytes(v, 8, tensor(1, {}, 4));
        cases.push_back({"two values", v, "value 'two' has 2 values (exactly one expected)"});
    }
    {
        std::string v;
        field_bytes(v, 1, "t");
        field_bytes(v, 9, plugin_metadata("text"));
        field_bytes(v, 8, tensor(1, {}, 4));
        cases.push_back({"text as float", v, "value 't': plugin \"text\": not a STRING tensor"});
    }
    {
        std::string v;
        field_bytes(v, 1, "pr");
        field_bytes(v, 9, plugin_metadata("pr_curves"));
        field_bytes(v, 8, tensor(1, {6, 2}, 4 * 11));
        cases.push_back({"pr curve short", v, "the tensor has 11 values for a shape of 12"});
    }
    {
        std::string v;
        field_bytes(v, 1, "ok");
        field_float(v, 2, 1.0f);
        cases.push_back({"NaN wall time", v, "is not a plausible time", std::nan("")});
    }
    for (const auto& c : cases) {
        CAPTURE(c.name);
        const auto file = d / "bad" / "events.out.tfevents.1.host.1.0";
        unit::write_file(file, event_file_with(c.value, c.wall_time));
        r = cli_test::run({"check", file.string()});
        CHECK(r.status == 1);
        CHECK_MESSAGE(r.err.find(":offset ") != std::string::npos, r.err);
        CHECK_MESSAGE(r.err.find("record 1: ") != std::string::npos, r.err);
        CHECK_MESSAGE(r.err.find(c.expected) != std::string::npos, r.err);
    }
}

TEST_CASE("check: names and messages from a file reach the terminal without control sequences") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    const fs::path file = d / "root" / "exp" / "r" / "events.jsonl";
    // An experiment name with a title-setting OSC sequence, a C1 CSI, and a bell: not a valid name, and
    // the message that says so quotes it.
    unit::write_file(file, "{\"kind\":\"run_start\",\"time\":1,\"format\":\"mltrack.jsonl\",\"format_version\":1,"
                           "\"experiment\":\"\\u001b]0;pwned\\u0007\\u009b2J\",\"run\":\"r\"}\n"
                           "{\"kind\":\"oddity\\u001b[31m\",\"time\":2}\n");
    const auto r = cli_test::run({"check", (d / "root").string()});
    CHECK(r.status == 1);
    CHECK(r.err.find("run_start names experiment") != std::string::npos);
    CHECK(r.err.find('\x1b') == std::string::npos);
    CHECK(r.err.find('\x07') == std::string::npos);
    CHECK(r.err.find("\xc2\x9b") == std::string::npos);
}
