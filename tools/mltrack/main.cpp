// The `mltrack` command: list, show, export, check, report and sync the runs of a JSONL root.
// Each command lives in its own header (cmd_<name>.hpp); this file dispatches and turns exceptions into
// messages on stderr and exit codes (0 ok, 1 problem found or command failed, 2 usage error).
#include <cstdio>
#include <string>
#include <vector>

#include <mltrack/version.hpp>

#include "cli.hpp"
#include "cmd_check.hpp"
#include "cmd_export.hpp"
#include "cmd_ls.hpp"
#include "cmd_report.hpp"
#include "cmd_show.hpp"
#include "cmd_sync.hpp"

namespace {

using namespace mltrack_cli;

struct command {
    const char* name;
    int (*run)(const std::vector<std::string>&);
    const char* summary;
};

const command commands[] = {
    {"ls", cmd_ls, "the experiment table: one row per run, params and metrics as columns"},
    {"show", cmd_show, "everything about one run"},
    {"export", cmd_export, "time series in long format (experiment, run, rank, key, step, time, value), CSV or JSON"},
    {"check", cmd_check, "validate JSONL runs line by line; exit 1 with file:line: problem"},
    {"report", cmd_report, "a self-contained HTML report: runs table, curves, params vs a metric, confusion matrices"},
    {"sync", cmd_sync, "replay runs into another sink (tensorboard:DIR), resuming where the last sync stopped"},
};

void print_help(std::FILE* f) {
    std::fprintf(f, "usage: mltrack COMMAND [ARGS...]   (mltrack COMMAND --help for each)\n\ncommands:\n");
    for (const auto& c : commands) std::fprintf(f, "  %-8s %s\n", c.name, c.summary);
    std::fprintf(f,
                 "\nexit status: 0 ok; 1 a problem was found or the command failed; 2 usage error.\n"
                 "mltrack %s\n",
                 mltrack::version_string);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        print_help(stderr);
        return exit_usage;
    }
    if (args[0] == "-h" || args[0] == "--help") {
        print_help(stdout);
        return exit_ok;
    }
    if (args[0] == "--version" || args[0] == "version") {
        std::printf("mltrack %s\n", mltrack::version_string);
        return exit_ok;
    }
    if (args[0] == "help") {
        if (args.size() == 1) {
            print_help(stdout);
            return exit_ok;
        }
        args = {args[1], "--help"};
    }
    const command* cmd = nullptr;
    for (const auto& c : commands)
        if (args[0] == c.name) cmd = &c;
    if (!cmd) {
        std::fprintf(stderr, "mltrack: unknown command '%s'\n\n", args[0].c_str());
        print_help(stderr);
        return exit_usage;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        return cmd->run(rest);
    } catch (const usage_error& e) {
        std::fprintf(stderr, "mltrack %s: %s\nTry 'mltrack %s --help'.\n", cmd->name, e.what(), cmd->name);
        return exit_usage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mltrack %s: %s\n", cmd->name, describe(e).c_str());
        return exit_problem;
    }
}
