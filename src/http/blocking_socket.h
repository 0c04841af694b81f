// Blocking reads and writes over a connection's non-blocking transport (transport.h), for
// the worker thread that runs a request's handler: each wait is a poll() bounded by the transfer's guard, so a client
// that stalls or trickles is cut off by the TransferLimits rules (transfer_guard.h), and a
// socket shut down from another thread (server stop) wakes the wait at once.
#pragma once

#include <cstddef>

#include "http/transfer_guard.h"
#include "http/transport.h"

namespace arca::http {

class BlockingSocket {
 public:
  enum class Outcome { kOk, kEof, kTooSlow, kError };

  BlockingSocket(Transport& transport, TransferGuard& guard)
      : transport_(transport), guard_(guard) {}
  TransferGuard& guard() { return guard_; }

  // Reads at least one byte into buf (kOk, *n > 0), or says why not.
  Outcome Recv(char* buf, size_t len, size_t* n);
  // Writes all of it.
  Outcome SendAll(const char* data, size_t len);

 private:
  // Waits for `events`; false when the guard gives up.
  bool Wait(short events);
  // Waits for what the transport asked (kWantRead or kWantWrite): kOk to try again, else
  // why not.
  Outcome Await(Transport::Io want);

  Transport& transport_;
  TransferGuard& guard_;
};

}  // namespace arca::http
