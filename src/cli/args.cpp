#include "cli/args.hpp"

namespace hubgate::cli {

Result<Args> parse_args(int argc, char** argv, const std::set<std::string>& with_value,
                        const std::set<std::string>& booleans) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" && booleans.count("--help")) s = "--help";  // the usual short form
    if (s.size() > 2 && s.starts_with("--")) {
      std::string name = s, value;
      bool inline_value = false;
      if (auto eq = s.find('='); eq != std::string::npos) {
        name = s.substr(0, eq);
        value = s.substr(eq + 1);
        inline_value = true;
      }
      if (booleans.count(name)) {
        if (inline_value) return fail(Errc::invalid_argument, "option " + name + " takes no value");
        a.flags.insert(name);
      } else if (with_value.count(name)) {
        if (!inline_value) {
          if (i + 1 >= argc) return fail(Errc::invalid_argument, "option " + name + " needs a value");
          value = argv[++i];
        }
        a.values[name] = value;
      } else {
        return fail(Errc::invalid_argument, "unknown option " + name);
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

}  // namespace hubgate::cli
