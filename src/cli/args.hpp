// Minimal command-line parsing for hubgate's subcommands: "--name value", "--name=value",
// boolean "--flag", and positional arguments. Unknown options are errors ("unknown option
// --name"); "-h" means "--help" for commands that take it. Thread-safety: values.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace hubgate::cli {

struct Args {
  std::map<std::string, std::string> values;  // "--listen" -> "0.0.0.0:8080"
  std::set<std::string> flags;                // "--write"
  std::vector<std::string> positional;
  bool has(const std::string& k) const { return values.count(k) > 0; }
  std::string get(const std::string& k, std::string def = "") const {
    auto it = values.find(k);
    return it == values.end() ? def : it->second;
  }
};

// `with_value`: options taking a value; `booleans`: flags. argv[0] is the subcommand name.
Result<Args> parse_args(int argc, char** argv, const std::set<std::string>& with_value,
                        const std::set<std::string>& booleans);

}  // namespace hubgate::cli
