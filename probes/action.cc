#include "probes/action.h"

#include <array>
#include <utility>

namespace nodehealth {
namespace {

constexpr std::array<std::pair<Action, std::string_view>, 6> kActionNames = {{
    {Action::kNone, "none"},
    {Action::kMonitor, "monitor"},
    {Action::kDrain, "drain"},
    {Action::kResetGpu, "reset_gpu"},
    {Action::kReboot, "reboot"},
    {Action::kReplace, "replace"},
}};

}  // namespace

std::string_view ToString(Severity severity) {
  return severity == Severity::kFail ? "fail" : "warn";
}

std::string_view ToString(Action action) {
  for (const auto& [value, name] : kActionNames) {
    if (value == action) return name;
  }
  return "none";
}

std::optional<Action> ParseAction(std::string_view text) {
  for (const auto& [value, name] : kActionNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

}  // namespace nodehealth
