// `nodehealth probes`: every probe with its kind, what it reads and the finding codes it can
// report, as a table or JSON.
#pragma once

#include <iosfwd>
#include <string>

namespace nodehealth {

int RunProbesCommand(const std::string& format, std::ostream& out);

}  // namespace nodehealth
