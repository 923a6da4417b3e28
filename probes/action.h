// Severity and remediation action of a finding, as named in docs/contract.md.
//
// Actions are ordered: none < monitor < drain < reset_gpu < reboot < replace. The last four all
// mean "drain the node"; a node's action is the highest among its findings.
#pragma once

#include <optional>
#include <string_view>

namespace nodehealth {

enum class Severity { kWarn, kFail };

enum class Action { kNone, kMonitor, kDrain, kResetGpu, kReboot, kReplace };

std::string_view ToString(Severity severity);
std::string_view ToString(Action action);
std::optional<Action> ParseAction(std::string_view text);

// True for the actions that take the node out of service (drain, reset_gpu, reboot, replace).
constexpr bool ImpliesDrain(Action action) { return action >= Action::kDrain; }

}  // namespace nodehealth
