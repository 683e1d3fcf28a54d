// authmilter::milter — the libmilter side of the daemon (the only code that calls smfi_*).
//
// What: registers the callbacks, binds the socket, and runs libmilter's loop, which gives
//   each SMTP connection its own thread. Each callback is an extern "C" noexcept trampoline
//   that finds the connection's context with smfi_getpriv, moves data into the Transaction,
//   and applies the Outcome at end of message: forged A-R headers deleted, our A-R (and
//   Received-SPF) inserted first, the mark header added, and the verdict returned with its
//   SMTP reply. Any exception escaping a handler becomes the OnInternalError action.
// Signals: libmilter's own thread waits for SIGTERM/SIGINT/SIGHUP and stops the loop; callers
//   must block those signals before starting any thread (block_shutdown_signals()).
// Timeouts: libmilter's I/O timeout with the MTA is kMilterIoTimeout, longer than Postfix's
//   milter_content_timeout default (300 s) so the MTA, not we, gives up first.
#pragma once

#include <functional>
#include <string>

#include "authmilter/milter/transaction.h"

namespace authmilter::milter {

inline constexpr int kMilterIoTimeoutSeconds = 330;
inline constexpr int kListenBacklog = 128;

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (inherited by threads it starts
// later) and ignores SIGPIPE, so libmilter's signal thread is the one that sees shutdown.
void block_shutdown_signals();

// Binds `socket` (unix:/path, local:/path, inet:port@host); for unix sockets the process
// umask is `umask_bits` while binding. Throws std::runtime_error.
void bind_socket(const std::string& socket, unsigned umask_bits);

// Serves connections until SIGTERM/SIGINT; `services` must outlive the call. Returns 0 on a
// clean stop. bind_socket() must have been called.
int serve(const Services& services);

// libmilter's version as "major.minor.patch".
std::string libmilter_version();

}  // namespace authmilter::milter
