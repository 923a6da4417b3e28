// The agent's listening socket: the --listen syntax and the bound, non-blocking socket.
//
// Thread safety: pure functions, or system calls on descriptors the caller owns.
// Failure: an Error that names the address and what is wrong ("cannot listen on 127.0.0.1:80:
// bind: Permission denied"); host names are not resolved (the agent binds before any network is
// trusted).
#pragma once

#include <string>

#include "probes/util/expected.h"

namespace nodehealth::http {

struct ListenAddress {
  std::string host;  // numeric IPv4 or IPv6 (without brackets); empty: every IPv4 address
  int port = 0;
};

// "0.0.0.0:9840", "127.0.0.1:0", "[::]:9840", "[::1]:9840", ":9840"; an Error that says what is
// wrong otherwise.
Expected<ListenAddress> ParseListenAddress(const std::string& listen);

// A non-blocking, close-on-exec TCP socket bound to `address` and listening (SO_REUSEADDR; an IPv6
// address keeps the kernel's dual-stack default). `listen` is the text for messages.
Expected<int> OpenListener(const ListenAddress& address, const std::string& listen);

// The port a bound socket has (what port 0 picked); 0 on error.
int LocalPort(int fd);

}  // namespace nodehealth::http
