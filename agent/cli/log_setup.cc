#include "agent/cli/log_setup.h"

#include <spdlog/pattern_formatter.h>
#include <sys/stat.h>

#include <charconv>
#include <cstdint>
#include <memory>
#include <string_view>

namespace nodehealth {
namespace {

// The "%*" flag: "<N>", the line's syslog priority.
class SyslogPriorityFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    const char prefix[] = {'<', static_cast<char>('0' + SyslogPriority(msg.level)), '>'};
    dest.append(prefix, prefix + sizeof prefix);
  }
  std::unique_ptr<spdlog::custom_flag_formatter> clone() const override {
    return std::make_unique<SyslogPriorityFlag>();
  }
};

bool ParseDecimal(std::string_view text, std::uint64_t& value) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

bool StreamIsJournal(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  const std::string_view value(journal_stream);
  const std::size_t colon = value.find(':');
  if (colon == std::string_view::npos) return false;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  if (!ParseDecimal(value.substr(0, colon), device) ||
      !ParseDecimal(value.substr(colon + 1), inode)) {
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<std::uint64_t>(st.st_dev) == device &&
         static_cast<std::uint64_t>(st.st_ino) == inode;
}

int SyslogPriority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return 7;
    case spdlog::level::info:
      return 6;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::err:
      return 3;
    case spdlog::level::critical:
      return 2;
    default:
      return 6;
  }
}

void ConfigureLogFormat(spdlog::logger& logger, bool journal) {
  if (!journal) {
    logger.set_formatter(std::make_unique<spdlog::pattern_formatter>());
    return;
  }
  // journald adds the time, the unit and the process: the line needs only priority and text.
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%l: %v");
  logger.set_formatter(std::move(formatter));
}

}  // namespace nodehealth
