// `mltrack report` through the real binary: the page is well-formed (every element closed and nested,
// checked by a small XML tokenizer here), self-contained (no http:// or https://, no <script>, no src or
// external href), with one <svg> line chart per time series holding one path per run that logged it, the
// runs table, scatters of the params against the chosen metric and the confusion matrix.
// A screenshot in headless Chromium is taken by tests/cli/report_screenshot.sh.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "cli/cli_dataset.hpp"
#include "cli/cli_support.hpp"
#include "unit/unit_support.hpp"

namespace {

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
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find(" src=") == std::string::npos);
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
    CHECK(count(charts[0]->body, "<circle") == 1);

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
    CHECK(count(r2.out, " vs test/acc</title>") == 1);
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
    CHECK(html.find("and 6 more runs") != std::string::npos);  // the legend lists 24
    // Curves are thinned: 200000/30 points per run at most (x2), not 3000 each.
    CHECK(html.size() < 3000u * 30u * 12u);
}
