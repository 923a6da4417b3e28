#include "agent/provider/provider_ledger.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "agent/policy/policy_state.h"
#include "exporters/atomic_file.h"
#include "probes/platform/regular_file.h"
#include "probes/util/nesting_depth.h"

namespace nodehealth::provider {
namespace {

using Json = nlohmann::ordered_json;

// Strict reading: a field of the wrong type is an error that names it.
struct Reader {
  const Json& object;
  std::string where;
  std::string error;

  template <class T>
  void Take(const char* name, T& out) {
    if (!error.empty()) return;
    auto it = object.find(name);
    if (it == object.end()) return;  // optional: the default stays
    if constexpr (std::is_same_v<T, std::string>) {
      if (!it->is_string())
        error = where + "." + name + " is not a string";
      else
        out = it->template get<std::string>();
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean())
        error = where + "." + name + " is not a boolean";
      else
        out = it->template get<bool>();
    } else {
      if (!it->is_number())
        error = where + "." + name + " is not a number";
      else
        out = it->template get<T>();
    }
  }
};

std::string TimeOrEmpty(double t) { return t > 0 ? agent::UnixRfc3339(t) : ""; }

}  // namespace

std::string SerializeLedger(const ProviderLedger& ledger) {
  Json reports = Json::array();
  for (const ReportRecord& r : ledger.reports) {
    reports.push_back(Json{{"id", r.id},
                           {"provider", r.provider},
                           {"probe", r.probe},
                           {"code", r.code},
                           {"entity", r.entity},
                           {"category", r.category},
                           {"xid", r.xid},
                           {"since", r.since},
                           {"state", r.state},
                           {"hold_reason", r.hold_reason},
                           {"attempts", r.attempts},
                           {"next_attempt_at", r.next_attempt_at},
                           {"last_attempt_at", r.last_attempt_at},
                           {"sent_at", r.sent_at},
                           {"last_http_status", r.last_http_status},
                           {"last_error", r.last_error},
                           {"operation", r.operation},
                           {"status_code", r.status_code},
                           {"status_detail", r.status_detail},
                           {"status_terminal", r.status_terminal},
                           {"status_failed", r.status_failed},
                           {"status_at", r.status_at},
                           {"next_poll_at", r.next_poll_at}});
  }
  Json root{{"schema", kLedgerSchema}, {"reports", std::move(reports)}};
  return root.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

Expected<ProviderLedger> ParseLedger(std::string_view text) {
  if (std::optional<DepthViolation> deep = CheckJsonDepth(text, 8)) {
    return MakeError("provider reports: " + deep->what);
  }
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return MakeError("provider reports: not JSON");
  auto schema = root.find("schema");
  if (schema == root.end() || !schema->is_string() || *schema != kLedgerSchema) {
    return MakeError("provider reports: not of schema " + std::string(kLedgerSchema));
  }
  auto list = root.find("reports");
  if (list == root.end() || !list->is_array()) return MakeError("provider reports: no reports");
  ProviderLedger ledger;
  for (size_t i = 0; i < list->size() && i < kLedgerLimit; ++i) {
    const Json& item = (*list)[i];
    const std::string where = "reports[" + std::to_string(i) + "]";
    if (!item.is_object()) return MakeError("provider reports: " + where + " is not an object");
    ReportRecord r;
    Reader in{item, where, ""};
    in.Take("id", r.id);
    in.Take("provider", r.provider);
    in.Take("probe", r.probe);
    in.Take("code", r.code);
    in.Take("entity", r.entity);
    in.Take("category", r.category);
    in.Take("xid", r.xid);
    in.Take("since", r.since);
    in.Take("state", r.state);
    in.Take("hold_reason", r.hold_reason);
    in.Take("attempts", r.attempts);
    in.Take("next_attempt_at", r.next_attempt_at);
    in.Take("last_attempt_at", r.last_attempt_at);
    in.Take("sent_at", r.sent_at);
    in.Take("last_http_status", r.last_http_status);
    in.Take("last_error", r.last_error);
    in.Take("operation", r.operation);
    in.Take("status_code", r.status_code);
    in.Take("status_detail", r.status_detail);
    in.Take("status_terminal", r.status_terminal);
    in.Take("status_failed", r.status_failed);
    in.Take("status_at", r.status_at);
    in.Take("next_poll_at", r.next_poll_at);
    if (!in.error.empty()) return MakeError("provider reports: " + in.error);
    if (r.id.empty()) return MakeError("provider reports: " + where + " has no id");
    ledger.reports.push_back(std::move(r));
  }
  return ledger;
}

Expected<ProviderLedger> LoadLedger(const std::string& path) {
  Expected<std::string> text = platform::ReadRegularFile(path, 4 << 20, "provider reports");
  if (!text) {
    if (text.error().sys_errno == ENOENT) return ProviderLedger{};
    return text.error();
  }
  Expected<ProviderLedger> ledger = ParseLedger(*text);
  if (!ledger) return MakeError(path + ": " + ledger.error().message);
  return ledger;
}

Expected<bool> SaveLedger(const std::string& path, const ProviderLedger& ledger) {
  return WriteFileAtomically(path, SerializeLedger(ledger), 0600);
}

Expected<std::shared_ptr<LedgerLock>> LedgerLock::Acquire(const std::string& state_dir,
                                                          double timeout_seconds) {
  const std::string path = state_dir + "/provider-reports.lock";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) return MakeError("cannot open " + path + ": " + std::strerror(errno), errno);
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000));
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int e = errno;
      close(fd);
      return MakeError("cannot lock " + path + ": " + std::strerror(e), e);
    }
    if (std::chrono::steady_clock::now() >= until) {
      close(fd);
      return MakeError(path + " is held by another nodehealth process (the agent's reporter?)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::shared_ptr<LedgerLock>(new LedgerLock(fd));
}

LedgerLock::~LedgerLock() { close(fd_); }

nlohmann::ordered_json LedgerStatusJson(std::string_view kind, const ProviderLedger& ledger) {
  Json reports = Json::array();
  for (const ReportRecord& r : ledger.reports) {
    Json item{{"id", r.id},
              {"code", r.code},
              {"entity", r.entity},
              {"category", r.category},
              {"state", r.state},
              {"since", TimeOrEmpty(r.since)},
              {"attempts", r.attempts},
              {"sent_at", TimeOrEmpty(r.sent_at)}};
    if (!r.hold_reason.empty()) item["hold_reason"] = r.hold_reason;
    if (!r.last_error.empty()) item["last_error"] = r.last_error;
    if (r.state == "pending" && r.next_attempt_at > 0) {
      item["next_attempt_at"] = TimeOrEmpty(r.next_attempt_at);
    }
    if (!r.status_code.empty()) {
      item["status"] = Json{{"code", r.status_code},
                            {"terminal", r.status_terminal},
                            {"failed", r.status_failed},
                            {"detail", r.status_detail},
                            {"at", TimeOrEmpty(r.status_at)}};
    }
    reports.push_back(std::move(item));
  }
  return Json{{"kind", std::string(kind)}, {"reports", std::move(reports)}};
}

}  // namespace nodehealth::provider
