// How nodehealth's log lines look. Under systemd with stderr connected to the journal, each line
// starts with its syslog priority ("<4>" for a warning, sd-daemon(3)), so that
// `journalctl -p warning -u nodehealth` finds drain decisions and probe errors; elsewhere lines
// keep spdlog's default pattern.
#pragma once

#include <spdlog/logger.h>

namespace nodehealth {

// True when `journal_stream` (the JOURNAL_STREAM variable, "DEVICE:INODE" in decimal, see
// systemd.exec(5)) names the file descriptor `fd`: stderr goes to the journal. nullptr, an empty
// or malformed value, or another stream: false.
bool StreamIsJournal(const char* journal_stream, int fd);

// The syslog priority of a log level: SD_DEBUG (7) for trace and debug, SD_INFO (6), SD_WARNING
// (4), SD_ERR (3), SD_CRIT (2).
int SyslogPriority(spdlog::level::level_enum level);

// Sets the pattern of `logger`: "<N>LEVEL: MESSAGE" for the journal, spdlog's default otherwise.
void ConfigureLogFormat(spdlog::logger& logger, bool journal);

}  // namespace nodehealth
