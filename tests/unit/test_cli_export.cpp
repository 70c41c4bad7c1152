// `mltrack export` through the real binary, read back independently: the CSV with an RFC 4180 parser and
// the JSON with nlohmann, both compared point by point with the JSONL files parsed by nlohmann (not by
// mltrack's reader): same experiment, run, key, step, time and exact value, in file order.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "unit/unit_support.hpp"

namespace {

namespace fs = std::filesystem;

struct point {
    std::string experiment, run, key;
    std::int64_t step = 0;
    std::string time;  ///< as written: seconds with microseconds
    double value = 0;
};

double value_of(const nlohmann::json& v) {
    if (v.is_number()) return v.get<double>();
    const auto s = v.get<std::string>();
    if (s == "NaN") return std::nan("");
    return s == "Infinity" ? HUGE_VAL : -HUGE_VAL;
}

/// The points of the JSONL files, from the raw lines (the time keeps its text form from the file).
std::vector<point> expected_points(const fs::path& root) {
    std::vector<point> out;
    for (const auto& [e, r] : std::vector<std::pair<std::string, std::string>>{
             {"exp", "baseline"}, {"exp", "high-lr"}, {"exp", "wide"}, {"other", "r1"}}) {
        const std::string text = unit::read_file(root / e / r / "events.jsonl");
        std::size_t start = 0;
        while (start < text.size()) {
            const auto nl = text.find('\n', start);
            const std::string line = text.substr(start, nl - start);
            start = nl + 1;
            const auto j = nlohmann::json::parse(line);
            if (j["kind"] != "metrics") continue;
            const auto t0 = line.find("\"time\":") + 7;
            const std::string time = line.substr(t0, line.find(',', t0) - t0);
            // nlohmann iterates keys sorted; the file order of keys is what export keeps.
            std::vector<std::pair<std::size_t, std::string>> keys;
            for (auto it = j["values"].begin(); it != j["values"].end(); ++it)
                keys.emplace_back(line.find("\"" + it.key() + "\":"), it.key());
            std::sort(keys.begin(), keys.end());
            for (const auto& k : keys)
                out.push_back({e, r, k.second, j["step"].get<std::int64_t>(), time, value_of(j["values"][k.second])});
        }
    }
    return out;
}

bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

}  // namespace

TEST_CASE("export: csv reads back point for point") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    const auto expected = expected_points(d / "root");
    REQUIRE(expected.size() == 24);

    const auto r = cli_test::run({"export", (d / "root").string()});
    CHECK(r.status == 0);
    CHECK(r.err == "");
    const auto rows = cli_test::parse_csv(r.out);
    REQUIRE(rows.size() == expected.size() + 1);
    CHECK(rows[0] == std::vector<std::string>{"experiment", "run", "rank", "key", "step", "time", "value"});
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CAPTURE(i);
        const auto& row = rows[i + 1];
        REQUIRE(row.size() == 7);
        CHECK(row[0] == expected[i].experiment);
        CHECK(row[1] == expected[i].run);
        CHECK(row[2] == "0");
        CHECK(row[3] == expected[i].key);
        CHECK(std::stoll(row[4]) == expected[i].step);
        CHECK(row[5] == expected[i].time);
        const double v = row[6] == "NaN" ? std::nan("") : row[6] == "Infinity" ? HUGE_VAL : row[6] == "-Infinity" ? -HUGE_VAL : std::strtod(row[6].c_str(), nullptr);
        CHECK(same(v, expected[i].value));
    }
    // A run folder and an experiment folder export their own points only.
    CHECK(cli_test::parse_csv(cli_test::run({"export", (d / "root" / "exp" / "wide").string()}).out).size() == 11);
    CHECK(cli_test::parse_csv(cli_test::run({"export", (d / "root" / "exp").string()}).out).size() == 25);
    CHECK(cli_test::parse_csv(cli_test::run({"export", (d / "root").string(), "-k", "val/acc"}).out).size() == 12);
}

TEST_CASE("export: json and jsonl read back; -o writes a file") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    const auto expected = expected_points(d / "root");

    const auto r = cli_test::run({"export", (d / "root").string(), "--format", "json", "-o", (d / "p.json").string()});
    CHECK(r.status == 0);
    CHECK(r.out == "");
    const auto j = nlohmann::json::parse(unit::read_file(d / "p.json"));
    REQUIRE(j.is_array());
    REQUIRE(j.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        CAPTURE(i);
        CHECK(j[i]["experiment"] == expected[i].experiment);
        CHECK(j[i]["run"] == expected[i].run);
        CHECK(j[i]["rank"] == 0);
        CHECK(j[i]["key"] == expected[i].key);
        CHECK(j[i]["step"] == expected[i].step);
        CHECK(j[i]["time"].get<double>() == std::stod(expected[i].time));
        CHECK(same(value_of(j[i]["value"]), expected[i].value));
    }
    const auto lines = cli_test::run({"export", (d / "root").string(), "-f", "jsonl"}).out;
    std::size_t n = 0, start = 0;
    while (start < lines.size()) {
        const auto nl = lines.find('\n', start);
        const auto o = nlohmann::json::parse(lines.substr(start, nl - start));
        CHECK(o["key"] == expected[n].key);
        ++n;
        start = nl + 1;
    }
    CHECK(n == expected.size());
    // An empty selection is still valid JSON.
    CHECK(nlohmann::json::parse(cli_test::run({"export", (d / "root").string(), "-f", "json", "-k", "none"}).out) ==
          nlohmann::json::array());
}
