#pragma once
/// Names that become part of a path (study arms, tasks, methods, run names): every one is checked
/// here, so that whatever a study file says, a sweep writes only below its --out folder.
#include <string>

namespace jeffreys::app {

/// Throws std::invalid_argument naming `what` unless `name` is 1-128 characters of letters,
/// digits, '.', '-', '+', '=' and '_', and neither "." nor "..": one path component, no escape.
void require_path_name(const std::string& name, const std::string& what);

/// Whether require_path_name would accept `name`.
bool is_path_name(const std::string& name);

}  // namespace jeffreys::app
