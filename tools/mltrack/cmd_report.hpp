#pragma once
#include <string>
#include <vector>
namespace mltrack_cli {
inline int cmd_report(const std::vector<std::string>&) { return 1; }
}
