// Reads a run folder written through the C or Fortran API back with the C++ reader (mltrack::read_run) and
// checks what the test or example says it logged, so that the output of a C or Fortran program is checked by
// an independent path (the writer's tests never check their own bytes).
//
//   c_readback RUN_DIR EXPECTATION...
//     state=COMPLETE            the run's final state
//     points:KEY=N              KEY has exactly N points (all ranks' files: the run's own only)
//     steps:KEY=A..B            KEY's steps are exactly A, A+1, ..., B in file order
//     param:KEY=TEXT            a param's value as text (param_value::to_text)
//     summary:KEY=NUMBER        a summary metric (compared to 1e-9 relative)
//     summary_text:KEY=TEXT     a string summary metric
//     tag:KEY=TEXT              a tag
//     classifications=N         classification metrics records
//     histograms:KEY=N          histograms of KEY
//     artifacts=N               artifacts (models included)
//     resumes=N                 times the run was resumed
//     ranks=N                   files of other ranks (rank_policy::every)
//     world_size=N              the world size in the run's opening
// Exits 0 when every expectation holds, else prints each one that does not and exits 1.
#include <mltrack/mltrack.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int failures = 0;

void expect(bool ok, const std::string& what, const std::string& got) {
    if (ok) return;
    ++failures;
    std::fprintf(stderr, "c_readback: expected %s, got %s\n", what.c_str(), got.c_str());
}

std::string series_steps(const std::vector<mltrack::series_point>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size() && i < 8; ++i) s += std::to_string(v[i].step) + " ";
    return s + (v.size() > 8 ? "..." : "");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: c_readback RUN_DIR EXPECTATION...\n");
        return 2;
    }
    mltrack::run_data d;
    try {
        d = mltrack::read_run(argv[1]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "c_readback: %s: %s\n", argv[1], e.what());
        return 1;
    }
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        const auto eq = a.find('=');
        if (eq == std::string::npos) {
            std::fprintf(stderr, "c_readback: '%s' is not an expectation\n", a.c_str());
            return 2;
        }
        const std::string lhs = a.substr(0, eq), value = a.substr(eq + 1);
        const auto colon = lhs.find(':');
        const std::string kind = lhs.substr(0, colon), key = colon == std::string::npos ? "" : lhs.substr(colon + 1);
        if (kind == "state") {
            expect(value == mltrack::to_string(d.state), a, mltrack::to_string(d.state));
        } else if (kind == "points") {
            const auto it = d.series.find(key);
            const std::size_t n = it == d.series.end() ? 0 : it->second.size();
            expect(n == std::stoull(value), a, std::to_string(n));
        } else if (kind == "steps") {
            const auto dots = value.find("..");
            const long long lo = std::stoll(value.substr(0, dots)), hi = std::stoll(value.substr(dots + 2));
            const auto it = d.series.find(key);
            bool ok = it != d.series.end() && static_cast<long long>(it->second.size()) == hi - lo + 1;
            for (std::size_t j = 0; ok && j < it->second.size(); ++j)
                ok = it->second[j].step == lo + static_cast<long long>(j);
            expect(ok, a, it == d.series.end() ? "no series" : series_steps(it->second));
        } else if (kind == "param") {
            const auto it = d.params.find(key);
            const std::string got = it == d.params.end() ? "(none)" : it->second.to_text();
            expect(got == value, a, got);
        } else if (kind == "summary") {
            const auto it = d.summary.find(key);
            const double want = std::stod(value);
            expect(it != d.summary.end() && std::fabs(it->second - want) <= 1e-9 * std::max(1.0, std::fabs(want)), a,
                   it == d.summary.end() ? "(none)" : std::to_string(it->second));
        } else if (kind == "summary_text") {
            const auto it = d.summary_text.find(key);
            expect(it != d.summary_text.end() && it->second == value, a, it == d.summary_text.end() ? "(none)" : it->second);
        } else if (kind == "tag") {
            const auto it = d.tags.find(key);
            expect(it != d.tags.end() && it->second == value, a, it == d.tags.end() ? "(none)" : it->second);
        } else if (kind == "classifications") {
            expect(d.classifications.size() == std::stoull(value), a, std::to_string(d.classifications.size()));
        } else if (kind == "histograms") {
            const auto it = d.histograms.find(key);
            const std::size_t n = it == d.histograms.end() ? 0 : it->second.size();
            expect(n == std::stoull(value), a, std::to_string(n));
        } else if (kind == "artifacts") {
            expect(d.artifacts.size() == std::stoull(value), a, std::to_string(d.artifacts.size()));
        } else if (kind == "resumes") {
            expect(d.resumes == std::stoull(value), a, std::to_string(d.resumes));
        } else if (kind == "ranks") {
            expect(d.ranks.size() == std::stoull(value), a, std::to_string(d.ranks.size()));
        } else if (kind == "world_size") {
            expect(d.world_size == std::stoi(value), a, std::to_string(d.world_size));
        } else {
            std::fprintf(stderr, "c_readback: unknown expectation '%s'\n", a.c_str());
            return 2;
        }
    }
    if (failures == 0) std::printf("c_readback: %s: %d expectations hold\n", argv[1], argc - 2);
    return failures == 0 ? 0 : 1;
}
