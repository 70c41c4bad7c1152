// detail/tensorboard/session.hpp and reader.hpp: the HParams session file, and the reader of the sink's own
// files. What they write is decoded by the independent decoder (tests/support/tb_decoder.hpp); what they
// read back was written by the encoder.
#include <mltrack/detail/tensorboard/reader.hpp>
#include <mltrack/detail/tensorboard/session.hpp>

#include <cstdint>
#include <string>

#include "support/tb_decoder.hpp"
#include "unit_support.hpp"

using namespace mltrack;
namespace tb = mltrack::detail::tb;
namespace fs = std::filesystem;

TEST_CASE("a session file: file_version, start info, end info; decoded independently and read back") {
    unit::temp_dir dir;
    tb::session_state s;
    s.params = {{"lr", 0.01}, {"layers", 3}, {"optimizer", u8"\u503c"}, {"bn", false}};
    s.start_time_secs = 1764384000.5;
    tb::replace_file(dir.path(), tb::session_file_name, tb::encode_session(s, 1764384001.0, "w"), false);
    auto f = tbdec::decode_file((dir.path() / tb::session_file_name).string());
    REQUIRE(f.events.size() == 2);
    CHECK(f.events[0].file_version == "brain.Event:2");
    REQUIRE(f.events[1].values.size() == 1);
    CHECK(f.events[1].values[0].plugin == "hparams");
    const auto start = tbdec::parse_session_start(f.events[1].values[0].content);
    CHECK(start.hparams.at("lr").number_value == 0.01);
    CHECK(start.hparams.at("layers").number_value == 3);
    CHECK(start.hparams.at("optimizer").string_value == u8"\u503c");
    CHECK(start.hparams.at("bn").kind == tbdec::hp_value::boolean);
    CHECK(start.group_name.empty());
    CHECK(start.start_time_secs == 1764384000.5);

    auto back = tb::read_session(dir.path());
    REQUIRE(back);
    CHECK(back->params.at("lr") == param_value(0.01));
    CHECK(back->params.at("layers") == param_value(3.0));  // numbers come back as doubles, as TensorBoard has them
    CHECK(back->params.at("bn") == param_value(false));
    CHECK(!back->status);
    CHECK(back->start_time_secs == 1764384000.5);

    // With an end status (and "unknown", which a resumed run writes so that no earlier end shows through).
    for (auto status : {tb::session_status::failure, tb::session_status::unknown}) {
        s.status = status;
        s.end_time_secs = 1764384100.0;
        tb::replace_file(dir.path(), tb::session_file_name, tb::encode_session(s, 1764384100.0, "w"), false);
        f = tbdec::decode_file((dir.path() / tb::session_file_name).string());
        REQUIRE(f.events.size() == 3);
        CHECK(tbdec::parse_session_end(f.events[2].values[0].content).status == static_cast<std::int64_t>(status));
        back = tb::read_session(dir.path());
        REQUIRE(back->status);
        CHECK(*back->status == status);
        CHECK(back->end_time_secs == 1764384100.0);
    }
    // Replaced by rename: no temporary file is left.
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) files += e.is_regular_file();
    CHECK(files == 1);
    CHECK(!tb::read_session(dir.path() / "none"));
}

TEST_CASE("replace_file into a missing folder: io.24 with the path") {
    unit::temp_dir dir;
    CHECK_ERROR_ID("io.24", tb::replace_file(dir.path() / "gone", tb::session_file_name, "x", false));
}

TEST_CASE("the reader stops at a torn or damaged record, and finds the largest step of summaries") {
    unit::temp_dir dir;
    std::string bytes;
    tb::file_version_record(bytes, 1.0, "w");
    for (std::int64_t step : {3, -2, 40, 7}) {
        auto ev = tb::begin_summary(bytes, 2.0, step);
        tb::value_simple(bytes, "loss", 1.0f);
        tb::end_summary(bytes, ev);
    }
    std::size_t n = tb::for_each_record(bytes, [](std::string_view) {});
    CHECK(n == 5);
    // A torn last record, then a flipped byte: the walk stops before them.
    CHECK(tb::for_each_record(std::string_view(bytes).substr(0, bytes.size() - 3), [](std::string_view) {}) == 4);
    std::string bad = bytes;
    bad[bytes.size() - 10] ^= 1;
    CHECK(tb::for_each_record(bad, [](std::string_view) {}) == 4);
    std::vector<std::string> tags;
    tb::for_each_record(bytes, [&](std::string_view p) {
        tb::read_event(p, [&](std::string_view tag, std::string_view, std::string_view) { tags.emplace_back(tag); });
    });
    CHECK(tags == std::vector<std::string>{"loss", "loss", "loss", "loss"});
    unit::write_file(dir.path() / "events.out.tfevents.1.h.1.0", bytes);
    unit::write_file(dir.path() / "not-an-event-file", bytes + bytes);
    CHECK(tb::max_step_in({dir.path()}, tb::session_file_name) == std::int64_t{40});
    CHECK(!tb::max_step_in({dir.path() / "none"}, tb::session_file_name));
}
