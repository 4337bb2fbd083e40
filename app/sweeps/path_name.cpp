#include "app/sweeps/path_name.h"

#include <stdexcept>

namespace jeffreys::app {

bool is_path_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  for (unsigned char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '+' || c == '=' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void require_path_name(const std::string& name, const std::string& what) {
  if (!is_path_name(name))
    throw std::invalid_argument(what + " '" + name +
                                "' cannot name a folder: use 1-128 letters, digits, '.', '-', '+', '=' or '_', "
                                "and not '.' or '..'");
}

}  // namespace jeffreys::app
