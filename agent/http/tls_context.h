// The OpenSSL server context for the agent's endpoint, built from a web config's
// tls_server_config (web_config.h): certificate chain and key, client certificate policy and CA,
// protocol versions. Certificate, key and CA files are read with ReadSmallFile (bounded, no FIFO
// hang once that reader refuses them) and handed to OpenSSL from memory.
//
// The context: TLS 1.2 and 1.3 by default, no renegotiation, the server's cipher order, ALPN
// "http/1.1" when the client offers it (never h2), partial writes allowed (non-blocking sockets),
// buffers released while a connection is idle.
//
// Errors name the web config, the key and the file: "web config FILE: tls_server_config.key_file
// (/etc/...): no private key found (an encrypted key is not supported)".
//
// Thread safety: a built context is shared by the event loop's connections (OpenSSL contexts are
// safe to use from several SSL objects); BuildTlsContext may run on any thread.
#pragma once

#include <openssl/ssl.h>

#include <memory>

#include "agent/http/web_config.h"
#include "probes/util/expected.h"

namespace nodehealth::http {

using TlsContext = std::shared_ptr<SSL_CTX>;

Expected<TlsContext> BuildTlsContext(const TlsSettings& settings, const std::string& web_config);

}  // namespace nodehealth::http
