// HTTPS: the server's certificate and key (PEM files), and TLS transports that use them.
//
// TLS 1.2 and 1.3 only, with forward-secret AEAD suites for 1.2, no renegotiation and no
// compression; ALPN names http/1.1. The files are watched: when either changes (a renewal,
// a Kubernetes secret swap), the pair is loaded again and new connections use it, while
// connections already open keep the one they started with. A pair that fails to load (a
// key that does not match its certificate, a file half written) is logged and the old one
// stays in use, so a renewal can be written in any order. Thread-safe.
//
// OpenSSL writes to the socket with write(), not send(MSG_NOSIGNAL): the process must ignore
// SIGPIPE (arca's main does), or a peer that resets kills it.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "http/transport.h"
#include "util/status.h"

struct ssl_ctx_st;

namespace arca::http {

class TlsContext {
 public:
  TlsContext(std::string cert_file, std::string key_file);
  ~TlsContext();  // stops the watch
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Loads the pair; an error names the file and OpenSSL's reason.
  Status Load();
  // Loads the pair again when either file changed since the last attempt. True when a new
  // pair took over; a failure is logged (once per change) and the old pair stays.
  bool ReloadIfChanged();
  // Checks the files every interval_ms on a thread of its own, until destruction.
  void Watch(int interval_ms);
  // The loaded certificate's subject and expiry, for the log.
  std::string Describe() const;

  // A transport over the accepted socket fd (owned by the caller), using the current pair.
  // Null when OpenSSL cannot make one (out of memory).
  std::unique_ptr<Transport> Accept(int fd);

 private:
  std::string Stamp() const;  // identifies both files' current versions

  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mu_;
  ssl_ctx_st* ctx_ = nullptr;  // GUARDED_BY(mu_); one reference held
  std::string loaded_stamp_;   // GUARDED_BY(mu_): what the last attempt saw
  std::string description_;    // GUARDED_BY(mu_)

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stop_ = false;  // GUARDED_BY(watch_mu_)
  std::thread watcher_;
};

}  // namespace arca::http
