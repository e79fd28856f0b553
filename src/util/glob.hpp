// Glob matching for repository patterns: '*' matches any run of characters, '/' included;
// every other character matches itself. No character classes, no escapes.
#pragma once

#include <string_view>

namespace hubgate {

bool glob_match(std::string_view pattern, std::string_view s);

}  // namespace hubgate
