// `mltrack report` through the real binary: the page is well-formed (every element closed and nested,
// checked by a small XML tokenizer here; only characters XML allows, in valid UTF-8), self-contained (no
// http:// or https://, only inline scripts, no src or external href), with one <svg> line chart per time
// series holding one path per run that logged it and the best run marked, the runs table (sortable: exact
// values in data-v, sorted first by the default metric, a summary metric when runs have one), parallel
// coordinates and scatters of the params against the chosen metric, the confusion matrix, and the data the
// script redraws from. Hostile input: values and steps one ulp apart (the axis once looped forever), a
// million keys (bounded charts and columns), XML-invalid code points, a write that fails half way (the
// page is written to a temporary file and renamed).
// The interactions (smoothing, log-scale y, sorting, filtering, highlighting) run in headless Chromium in
// tests/cli/report_screenshot.sh.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <map>
#include <set>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "../../tools/mltrack/report_best.hpp"
#include "../../tools/mltrack/report_svg.hpp"

#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "unit/unit_support.hpp"

namespace {

namespace svg = mltrack_cli::svg;

struct element {
    std::string name;
    std::string attributes;
    std::string body;  ///< raw text between the open and close tags
};

/// Checks XML well-formedness (tags balanced and nested, attributes quoted, no stray '<' or bare '&') and
/// returns every element. The doctype is allowed as the first thing.
std::vector<element> parse_xmlish(const std::string& s) {
    std::vector<element> all;
    std::vector<std::pair<std::string, std::size_t>> open;  // name, index in `all`
    std::vector<std::size_t> body_start;
    std::size_t i = 0;
    if (s.rfind("<!DOCTYPE html>", 0) == 0) i = 15;
    while (i < s.size()) {
        if (s.compare(i, 9, "<![CDATA[") == 0) {  // the script's text
            const auto end = s.find("]]>", i);
            REQUIRE_MESSAGE(end != std::string::npos, "CDATA section never closed");
            i = end + 3;
            continue;
        }
        if (s[i] == '&') {
            const auto semi = s.find(';', i);
            REQUIRE_MESSAGE(semi != std::string::npos, "bare '&' at " << i);
            const std::string ent = s.substr(i, semi - i + 1);
            const bool ok = ent == "&amp;" || ent == "&lt;" || ent == "&gt;" || ent == "&quot;" || ent == "&#39;" ||
                            (ent.size() > 3 && ent[1] == '#');
            REQUIRE_MESSAGE(ok, "unknown entity " << ent);
            i = semi + 1;
            continue;
        }
        if (s[i] != '<') {
            ++i;
            continue;
        }
        const auto close = s.find('>', i);
        REQUIRE(close != std::string::npos);
        std::string tag = s.substr(i + 1, close - i - 1);
        REQUIRE_MESSAGE(tag.find('<') == std::string::npos, "'<' inside a tag at " << i);
        if (tag[0] == '/') {
            const std::string name = tag.substr(1);
            REQUIRE_MESSAGE(!open.empty(), "closing </" << name << "> with nothing open");
            REQUIRE_MESSAGE(open.back().first == name, "</" << name << "> closes <" << open.back().first << ">");
            all[open.back().second].body = s.substr(body_start.back(), i - body_start.back());
            open.pop_back();
            body_start.pop_back();
        } else {
            const bool self_closing = tag.back() == '/';
            if (self_closing) tag.pop_back();
            const auto sp = tag.find(' ');
            element e{tag.substr(0, sp), sp == std::string::npos ? "" : tag.substr(sp + 1), ""};
            // Attributes: name="value" pairs only.
            std::size_t q = 0;
            while ((q = e.attributes.find('=', q)) != std::string::npos) {
                const bool quoted = q + 1 < e.attributes.size() && e.attributes[q + 1] == '"';
                REQUIRE_MESSAGE(quoted, "unquoted attribute in <" << tag << ">");
                q = e.attributes.find('"', q + 2) + 1;
            }
            all.push_back(e);
            if (!self_closing) {
                open.emplace_back(all.back().name, all.size() - 1);
                body_start.push_back(close + 1);
            }
        }
        i = close + 1;
    }
    REQUIRE_MESSAGE(open.empty(), "<" << open.back().first << "> is never closed");
    return all;
}

/// Checks that the bytes are valid UTF-8 holding only characters XML 1.0 allows (tab, line feed, carriage
/// return, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF); returns the first offender's offset or npos.
std::size_t first_non_xml_char(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::uint32_t cp = 0;
        std::size_t len = 1;
        if (b < 0x80) cp = b;
        else if ((b & 0xE0) == 0xC0) cp = b & 0x1F, len = 2;
        else if ((b & 0xF0) == 0xE0) cp = b & 0x0F, len = 3;
        else if ((b & 0xF8) == 0xF0) cp = b & 0x07, len = 4;
        else return i;
        if (i + len > s.size()) return i;
        for (std::size_t k = 1; k < len; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (c & 0x3F);
        }
        const bool ok = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
                        (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
        const std::uint32_t min_of[] = {0, 0, 0x80, 0x800, 0x10000};
        if (!ok || cp < min_of[len]) return i;
        i += len;
    }
    return std::string::npos;
}

/// The text of every <script> element (between its tags).
std::vector<std::string> scripts(const std::string& html) {
    std::vector<std::string> out;
    for (auto at = html.find("<script"); at != std::string::npos; at = html.find("<script", at + 1)) {
        const auto open_end = html.find('>', at);
        const auto close = html.find("</script>", open_end);
        out.push_back(html.substr(open_end + 1, close - open_end - 1));
    }
    return out;
}

/// Runs f in a child process with a time limit and a memory limit: true when it returned in time. (An
/// axis that never ends its tick loop fails the test instead of hanging it.)
template <class F>
bool finishes_within(unsigned seconds, F f) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::alarm(seconds);
        if (!UNIT_SANITIZED) {  // sanitizers map terabytes of shadow memory: the time limit bounds them
            rlimit mem{std::uint64_t{2} << 30, std::uint64_t{2} << 30};
            ::setrlimit(RLIMIT_AS, &mem);
        }
        f();
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/// `mltrack ARGS...` under `timeout SECONDS`, through a shell (`prefix` runs first, e.g. "ulimit -f 8;").
/// Returns the exit status (124 when it ran out of time).
int run_limited(unsigned seconds, const std::vector<std::string>& args, const std::string& prefix = "") {
    std::string cmd = prefix + " timeout " + std::to_string(seconds) + " " + cli_test::quote(cli_test::binary());
    for (const auto& a : args) cmd += " " + cli_test::quote(a);
    cmd += " >/dev/null 2>&1 </dev/null";
    const int raw = std::system(("sh -c " + cli_test::quote(cmd)).c_str());
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("report: well-formed, self-contained, a chart per metric with every run") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    const auto r = cli_test::run({"report", (d / "root").string(), "-o", (d / "report.html").string()});
    CHECK(r.status == 0);
    CHECK(r.err.find("wrote") != std::string::npos);
    const std::string html = unit::read_file(d / "report.html");

    CHECK(html.find("http://") == std::string::npos);
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find(" src=") == std::string::npos);  // scripts are inline
    CHECK(count(html, "<script") == 2);              // the data (JSON) and the script
    CHECK(count(html, "]]>") == 1);                  // the script's CDATA section ends once
    CHECK(first_non_xml_char(html) == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    CHECK(html.find("url(") == std::string::npos);

    const auto elements = parse_xmlish(html);
    CHECK(elements.front().name == "html");
    for (const auto& e : elements)
        if (e.name == "a") CHECK(e.attributes.rfind("href=\"#", 0) == 0);  // in-page links only

    // One line chart per time series (train/loss, val/acc), each with one path per run that logged it.
    std::vector<const element*> charts;
    for (const auto& e : elements)
        if (e.name == "svg" && e.body.find("<title>") == 0 && e.body.find(" by step</title>") != std::string::npos)
            charts.push_back(&e);
    REQUIRE(charts.size() == 2);
    CHECK(charts[0]->body.rfind("<title>train/loss by step</title>", 0) == 0);
    CHECK(charts[1]->body.rfind("<title>val/acc by step</title>", 0) == 0);
    for (const auto* c : charts) {
        CHECK(c->body.find("<title>exp/baseline</title>") != std::string::npos);
        CHECK(c->body.find("<title>exp/high-lr</title>") != std::string::npos);
        CHECK(c->body.find("<title>exp/wide</title>") != std::string::npos);
        CHECK(c->body.find("<title>other/r1</title>") == std::string::npos);  // no series there
    }
    // high-lr's loss: 2.5 then NaN then Infinity: one isolated point, drawn as a dot.
    CHECK(count(charts[0]->body, "<circle cx=") == 1);
    // The best run of each chart, marked once, direction from the name: baseline's loss 0.2 (lower is
    // better; wide ends at 0.5, high-lr at infinity) and its summary val/acc 0.91 (higher is better).
    CHECK(count(charts[0]->body, "<circle class=\"best\"") == 1);
    CHECK(count(charts[1]->body, "<circle class=\"best\"") == 1);
    CHECK(html.find("train/loss <span class=\"muted\">lower is better &#183; best: exp/baseline (0.2)</span>") !=
          std::string::npos);
    CHECK(html.find("val/acc <span class=\"muted\">higher is better &#183; best: exp/baseline (0.91)</span>") !=
          std::string::npos);
    // Every line and legend entry carries its run's index, for highlighting.
    CHECK(count(charts[0]->body, "class=\"series\" stroke=\"#1f77b4\" data-run=\"0\"") == 1);
    CHECK(count(html, "<span class=\"item\" data-run=") == 6);  // 3 runs in each of 2 legends

    // The table opens sorted by the default metric, best first; numbers carry their exact value.
    CHECK(html.find("<table class=\"runs\" data-sort=\"metric.val/acc\" data-desc=\"1\">") != std::string::npos);
    CHECK(html.find("<td class=\"num\" data-v=\"0.91\">") != std::string::npos);
    CHECK(count(html, "<tr data-run=") == 4);

    // Parallel coordinates: one line per run that has the metric (all four).
    CHECK(count(html, "<svg class=\"chart parallel\"") == 1);
    CHECK(count(html, "<path class=\"pline\"") == 4);

    // The data the script redraws from: every run, every chart with its best run and direction.
    const auto sc = scripts(html);
    REQUIRE(sc.size() == 2);
    const auto data = nlohmann::json::parse(sc[0]);
    REQUIRE(data["runs"].size() == 4);
    CHECK(data["runs"][1]["label"] == "exp/high-lr");
    CHECK(data["runs"][3]["search"] == "other/r1 lr=0.05 note=a \"quoted\" note");
    REQUIRE(data["charts"].size() == 2);
    CHECK(data["charts"][0]["key"] == "train/loss");
    CHECK(data["charts"][0]["lower"] == true);
    CHECK(data["charts"][0]["best"] == 0);
    CHECK(data["charts"][0]["lines"].size() == 3);
    CHECK(data["charts"][0]["lines"][1]["y"] == nlohmann::json::parse("[2.5, null, null]"));
    CHECK(data["charts"][1]["lower"] == false);
    CHECK(sc[1].rfind("//<![CDATA[", 0) == 0);

    // The runs table, the param scatters against the metric most runs have, the confusion matrix.
    CHECK(html.find("<h2>Runs (4)</h2>") != std::string::npos);
    CHECK(html.find("<h2>Params vs val/acc</h2>") != std::string::npos);
    CHECK(count(html, "<title>lr vs val/acc</title>") == 1);
    CHECK(html.find("(log scale)") == std::string::npos);  // lr spans 0.003..0.1: less than 100x
    CHECK(html.find("<table class=\"cm\">") != std::string::npos);
    CHECK(html.find(">45</td>") != std::string::npos);
    CHECK(html.find("ROC AUC 0.8675") != std::string::npos);
    CHECK(html.find("a &quot;quoted&quot; note") != std::string::npos);

    // --metric and --param choose the scatters.
    const auto r2 = cli_test::run({"report", (d / "root").string(), "-o", "-", "--metric", "test/acc", "-p", "lr"});
    CHECK(r2.status == 0);
    CHECK(count(r2.out, "<title>lr vs test/acc</title>") == 1);
    CHECK(count(r2.out, " vs test/acc</title>") == 2);  // and the parallel coordinates
    parse_xmlish(r2.out);
}

TEST_CASE("report: text that looks like a URL is not a reference; many runs; a broken run is listed") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    {
        mltrack::tracker t{cli_dataset::make_config("many"), mltrack::sinks::jsonl(d / "root")};
        for (int i = 0; i < 30; ++i) {
            auto run = t.start_run("run-" + std::to_string(i));
            run.log_params({{"lr", 1e-5 * std::pow(10.0, i % 5)}, {"source", "https://example.org/data"}});
            for (int s = 0; s < 3000; ++s) run.log("loss", 1.0 / (1 + s + i), s);
        }
    }
    unit::write_file(d / "root" / "many" / "zz-broken" / "events.jsonl", "{}\n");
    const auto r = cli_test::run({"report", (d / "root").string(), "-o", (d / "r.html").string()});
    CHECK(r.status == 1);  // one run could not be read
    const std::string html = unit::read_file(d / "r.html");
    parse_xmlish(html);
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find("https:&#47;&#47;example.org") != std::string::npos);
    CHECK(html.find("(log scale)") != std::string::npos);  // lr spans 1e-5..0.1
    CHECK(html.find("zz-broken/events.jsonl:1") != std::string::npos);
    // The legend lists every run, best first (loss: lower is better, run-0 ends highest), in a box that
    // scrolls; colors cycle without repeating.
    CHECK(html.find("30 runs, best first") != std::string::npos);
    CHECK(count(html, "<span class=\"item\" data-run=") == 30);
    CHECK(html.find("<span class=\"item\" data-run=\"29\">") < html.find("<span class=\"item\" data-run=\"0\">"));
    // Curves are thinned: 1000 points per run (200000/30, at most 1000), kept up to twice that, not 3000.
    const auto data = nlohmann::json::parse(scripts(html)[0]);  // kept alive: the loop walks inside it
    for (const auto& l : data["charts"][0]["lines"]) CHECK(l["x"].size() <= 2001);
}

TEST_CASE("report: axes end on values and steps a few ulps apart (once a tick loop that never ended)") {
    // In a child with a time limit: before the fix, make_axis(0.3, 0.1 + 0.2) added a step smaller than
    // half an ulp of 0.3 forever, growing the tick vector.
    CHECK(finishes_within(20, [] {
        const auto a = svg::make_axis(0.3, 0.1 + 0.2);
        if (!(a.lo < 0.3 && a.hi > 0.3 && a.ticks.size() >= 2 && a.ticks.size() <= 61)) ::_exit(1);
        const double big = 4611686018427387904.0;  // 2^62: the next double is 1024 higher
        const auto b = svg::make_axis(big, std::nextafter(big, INFINITY));
        if (!(b.lo <= big && b.hi >= big && b.ticks.size() <= 61)) ::_exit(2);
        const auto c = svg::make_axis(-1e308, 1e308);
        if (c.ticks.size() > 61) ::_exit(3);
        const auto d = svg::make_axis(5e-324, 1e308, true);
        if (!(d.log && d.ticks.size() <= 61 && d.lo > 0)) ::_exit(4);
        const auto labels = svg::tick_labels(svg::make_axis(1000000, 1000010).ticks);
        for (std::size_t i = 1; i < labels.size(); ++i)
            if (labels[i] == labels[i - 1]) ::_exit(5);
    }));
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    {
        mltrack::tracker t{cli_dataset::make_config("ulp"), mltrack::sinks::jsonl(d / "root")};
        auto values = t.start_run("values");
        values.log("m", 0.3, 0);
        values.log("m", 0.1 + 0.2, 1);
        auto steps = t.start_run("steps");
        steps.log("s", 1.0, std::int64_t{4611686018427387904});  // its own chart, so that the axes are the ulps'
        steps.log("s", 2.0, std::int64_t{4611686018427387904} + 1024);
    }
    // Bounded in time and memory (2 GiB), so that a tick loop that never ends fails instead of hanging.
    // (Sanitizers reserve terabytes of address space for their shadow memory: time bound only there.)
    CHECK(run_limited(60, {"report", (d / "root").string(), "-o", (d / "r.html").string()},
                      UNIT_SANITIZED ? "" : "ulimit -v 2097152;") == 0);
    const std::string html = unit::read_file(d / "r.html");
    parse_xmlish(html);
    CHECK(count(html, "<figure class=\"line\"") == 2);
}

TEST_CASE("report: a run with thousands of keys draws at most --max-charts charts and --max-columns columns") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    {
        mltrack::tracker t{cli_dataset::make_config("wide"), mltrack::sinks::jsonl(d / "root")};
        auto run = t.start_run("keys");
        std::map<std::string, mltrack::param_value> params;
        std::map<std::string, double> points;
        for (int i = 0; i < 3000; ++i) {
            char key[16];
            std::snprintf(key, sizeof key, "k%04d", i);
            points[key] = i;
            if (i < 300) params[std::string("p") + key] = i;
        }
        run.log_params(params);
        run.log(points, 0);
        run.log(points, 1);
        run.log_metrics({{"score", 1.0}});
    }
    const auto r = cli_test::run({"report", (d / "root").string(), "-o", (d / "r.html").string()});
    CHECK(r.status == 0);
    const std::string html = unit::read_file(d / "r.html");
    parse_xmlish(html);
    CHECK(count(html, "<figure class=\"line\"") == 100);
    CHECK(html.find("<h2>Time series (3000)</h2>") != std::string::npos);
    CHECK(html.find("2900 of 3000 time series not drawn: charts for the first 100 keys (alphabetical)") !=
          std::string::npos);
    CHECK(html.find("<figcaption>k0099 ") != std::string::npos);
    CHECK(html.find("<figcaption>k0100 ") == std::string::npos);
    // The table: 5 fixed columns, 100 params, 100 metrics and the default metric (score) beyond them.
    CHECK(count(html, "<th>") == 206);
    CHECK(html.find("<th>metric.score</th>") != std::string::npos);
    CHECK(html.find("200 param and 2900 metric columns not shown") != std::string::npos);
    CHECK(count(html, "<svg class=\"chart\"") <= 100 + 100);  // line charts and param scatters
    CHECK(html.size() < 8u << 20);

    const auto r2 = cli_test::run({"report", (d / "root").string(), "-o", "-", "--max-charts", "5"});
    CHECK(count(r2.out, "<figure class=\"line\"") == 5);
    CHECK(nlohmann::json::parse(scripts(r2.out)[0])["charts"].size() == 5);
}

TEST_CASE("report: code points XML forbids, in keys, params and names, become U+FFFD") {
    CHECK(svg::clean("a\xEF\xBF\xBE" "b") == "a\xEF\xBF\xBD" "b");  // U+FFFE
    CHECK(svg::clean("\xEF\xBF\xBF") == "\xEF\xBF\xBD");            // U+FFFF
    CHECK(svg::clean("a\x01" "b\x7F") == "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    CHECK(svg::clean("\xC2\x85") == "\xEF\xBF\xBD");          // U+0085, a C1 control
    CHECK(svg::clean("\xFF") == "\xEF\xBF\xBD");              // not UTF-8
    CHECK(svg::clean("\xC0\xAF") == "\xEF\xBF\xBD");  // overlong '/'
    CHECK(svg::clean("\xED\xA0\x80").find("\xED") == std::string::npos);  // a surrogate
    CHECK(svg::clean("t\xC3\xA9st \xF0\x9F\x98\x80 \xEF\xBF\xBD\ttab") == "t\xC3\xA9st \xF0\x9F\x98\x80 \xEF\xBF\xBD\ttab");
    CHECK(svg::escape("a\xEF\xBF\xBE<") == "a\xEF\xBF\xBD&lt;");

    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    // Written by hand: noncharacters XML forbids are valid UTF-8 in keys (control characters in keys are
    // refused by the reader, as by the writer); values may hold anything.
    unit::write_file(
        d / "root" / "e" / "r" / "events.jsonl",
        "{\"kind\":\"run_start\",\"time\":1700000000.0,\"format\":\"mltrack.jsonl\",\"format_version\":1,"
        "\"mltrack_version\":\"0.1.0\",\"experiment\":\"e\",\"run\":\"r\"}\n"
        "{\"kind\":\"params\",\"time\":1700000001.0,\"values\":{\"p\\ufffe\\uffff\":\"v\\uffff\\u007f\\u0085\"}}\n"
        "{\"kind\":\"metrics\",\"time\":1700000001.0,\"step\":0,\"values\":{\"m\\uffff\":1.0,\"ok\":2.0}}\n"
        "{\"kind\":\"summary\",\"time\":1700000001.0,\"values\":{\"s\\ufffe\":1.0}}\n"
        "{\"kind\":\"run_end\",\"time\":1700000002.0,\"state\":\"COMPLETE\"}\n");
    const auto r = cli_test::run({"report", (d / "root").string(), "-o", (d / "r.html").string()});
    CHECK(r.status == 0);
    const std::string html = unit::read_file(d / "r.html");
    CHECK(first_non_xml_char(html) == std::string::npos);
    parse_xmlish(html);
    CHECK(html.find("<figcaption>m\xEF\xBF\xBD <span") != std::string::npos);
    CHECK(html.find("<th>param.p\xEF\xBF\xBD\xEF\xBF\xBD</th>") != std::string::npos);
    const auto data = nlohmann::json::parse(scripts(html)[0]);
    CHECK(data["charts"][0]["key"] == "m\xEF\xBF\xBD");
}

TEST_CASE("report: the page is written to a temporary file and renamed, never left half written") {
    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    cli_dataset::write(d / "root");
    unit::write_file(d / "out" / "r.html", "the previous page\n");
    // A file size limit of 8 blocks kills the report (SIGXFSZ) in the middle of writing its page.
    const int status = run_limited(60, {"report", (d / "root").string(), "-o", (d / "out" / "r.html").string()},
                                   "ulimit -f 8;");
    CHECK(status != 0);
    CHECK(unit::read_file(d / "out" / "r.html") == "the previous page\n");
    // A complete write replaces the page and leaves nothing else in the folder.
    CHECK(run_limited(60, {"report", (d / "root").string(), "-o", (d / "out" / "r.html").string()}) == 0);
    const std::string html = unit::read_file(d / "out" / "r.html");
    parse_xmlish(html);
    // The killed report's temporary file (its process gone) is removed by the next report to that file; a
    // temporary of a live process (this one's) and other files are kept.
    const std::string live_tmp = ".r.html.tmp-" + std::to_string(::getpid());
    unit::write_file(d / "out" / live_tmp, "a report still writing\n");
    unit::write_file(d / "out" / ".r.html.tmp-x1", "not a report's\n");
    CHECK(run_limited(60, {"report", (d / "root").string(), "-o", (d / "out" / "r.html").string()}) == 0);
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(d / "out")) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    std::vector<std::string> expected{".r.html.tmp-x1", live_tmp, "r.html"};
    std::sort(expected.begin(), expected.end());
    CHECK(names == expected);
    // A folder that does not exist: an error naming the file, nothing written.
    const auto r = cli_test::run({"report", (d / "root").string(), "-o", (d / "none" / "r.html").string()});
    CHECK(r.status == 1);
    CHECK(r.err.find("cannot write " + (d / "none" / "r.html").string()) != std::string::npos);
}

TEST_CASE("report: the better direction comes from the metric's name; the default metric is a summary") {
    CHECK(mltrack_cli::lower_is_better("train/loss"));
    CHECK(mltrack_cli::lower_is_better("val_error"));
    CHECK(mltrack_cli::lower_is_better("eval/RMSE"));
    CHECK(mltrack_cli::lower_is_better("perplexity"));
    CHECK(mltrack_cli::lower_is_better("latency-ms"));
    CHECK(mltrack_cli::lower_is_better("epoch_time"));
    CHECK(mltrack_cli::lower_is_better("trainloss"));
    CHECK(!mltrack_cli::lower_is_better("val/acc"));
    CHECK(!mltrack_cli::lower_is_better("f1"));
    CHECK(!mltrack_cli::lower_is_better("auc"));
    CHECK(!mltrack_cli::lower_is_better("throughput"));
    CHECK(!mltrack_cli::lower_is_better("terror_rate_x") == false);  // "terror" contains "error": lower
    CHECK(mltrack_cli::best_index({0.5, NAN, 0.2, 0.2}, true) == 2);
    CHECK(mltrack_cli::best_index({0.5, NAN, 0.2, 0.9}, false) == 3);
    CHECK(mltrack_cli::best_index({NAN}, false) == -1);
    CHECK(mltrack_cli::best_index({0.5, INFINITY}, false) == 0);  // a diverged run is not the best
    CHECK(mltrack_cli::best_index({-INFINITY, 0.5}, true) == 1);
    // Colors: 100 runs, 100 different colors.
    std::set<std::string> colors;
    for (std::size_t i = 0; i < 100; ++i) colors.insert(svg::run_color(i));
    CHECK(colors.size() == 100);

    if (cli_test::skip_without_binary()) return;
    unit::temp_dir d;
    {
        // Every run has the series "a/loss"; only two have the summary metric "score": score is the default.
        mltrack::tracker t{cli_dataset::make_config("sweep"), mltrack::sinks::jsonl(d / "root")};
        for (int i = 0; i < 3; ++i) {
            auto run = t.start_run("run-" + std::to_string(i));
            run.log_params({{"lr", 0.1 * (i + 1)}});
            run.log("a/loss", 1.0 / (i + 1), 0);
            if (i > 0) run.log_metrics({{"score", 0.5 + i}});
        }
    }
    const auto r = cli_test::run({"report", (d / "root").string(), "-o", "-"});
    CHECK(r.status == 0);
    CHECK(r.out.find("<h2>Params vs score</h2>") != std::string::npos);
    CHECK(r.out.find("<table class=\"runs\" data-sort=\"metric.score\" data-desc=\"1\">") != std::string::npos);
    CHECK(count(r.out, "<path class=\"pline\"") == 2);
}
