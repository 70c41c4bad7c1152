// Writes every scenario of tests/support/tb_scenarios.hpp into OUT/<name>/ and what the model of
// TensorBoard's rules shows of it into OUT/<name>.model.json, for run.sh to compare with TensorBoard itself.
//   tb_scenarios OUT [NAME...]
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "support/tb_model.hpp"
#include "support/tb_scenarios.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: tb_scenarios OUT [NAME...]\n");
        return 2;
    }
    const std::filesystem::path out = argv[1];
    const std::vector<std::string> only(argv + 2, argv + argc);
    for (const auto& s : tbscen::all()) {
        if (!only.empty() && std::find(only.begin(), only.end(), s.name) == only.end()) continue;
        const auto root = out / s.name;
        std::filesystem::remove_all(root);
        const auto logdir = s.write(root);
        std::ofstream(out / (s.name + ".model.json")) << tbmodel::load(logdir).to_json().dump(1) << "\n";
        std::ofstream(out / (s.name + ".logdir")) << std::filesystem::relative(logdir, out).string() << "\n";
        std::printf("%-20s %s\n", s.name.c_str(), s.what.c_str());
    }
    return 0;
}
