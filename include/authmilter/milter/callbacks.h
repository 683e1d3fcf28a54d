// authmilter::milter callbacks — libmilter's callbacks, translated into Transaction calls.
//
// What: register_filter() hands libmilter the callbacks (smfiDesc). Each callback is an
//   extern "C" noexcept trampoline that enters the process's ServiceGate (service_gate.h),
//   finds the connection's context with smfi_getpriv, moves data into the Transaction, and
//   applies the Outcome at end of message: forged A-R headers deleted, our A-R (and
//   Received-SPF) inserted first, the MarkHeader added, and the verdict returned with its
//   SMTP reply. Any exception escaping a handler becomes the policy's OnInternalError verdict.
// Stopping: once the gate drains, new connections and messages get 451 4.3.2; once it is
//   sealed, callbacks touch nothing and answer tempfail.
// Packets: libmilter refuses any packet over its limit (65,535 bytes by default) and drops the
//   connection; a folded Cc: of a few thousand addresses is larger. register_filter() raises
//   the limit to kMaxPacketBytes (1 MiB, mfdef.h's MILTER_MDS_1M) for every connection, and
//   registers the filter as kFilterVersion (SMFI_VERSION_MDS) so that a libmilter built with
//   _FFR_MDS_NEGOTIATE answers an MTA's SMFIP_MDS_256K/SMFIP_MDS_1M offer in the option
//   negotiation (Sendmail 8.14+ then sends fields up to that size). libmilter masks those bits
//   out of the filter's own answer (SMFI_INTERNAL), so only it can announce them; Debian 12's
//   libmilter 8.17.1.9 is built without _FFR_MDS_NEGOTIATE and announces nothing (measured),
//   but still accepts every packet up to kMaxPacketBytes. Such a libmilter also sets its
//   process-wide limit to what each MTA offers (256 KiB for an MTA that offers only that).
//   MaxHeaderBytes still bounds what one message keeps.
// Logs: a connection that ends without end of message or abort (event=close_unfinished, with
//   the client, the stage reached and our reason when we know it); an abort of a message in
//   flight (event=abort, with the stage: libmilter also calls abort itself when a packet is too
//   large or the MTA is gone, which we cannot tell from the MTA's abort); a header field larger
//   than libmilter's default packet (event=large_header, with the bytes kept).
#pragma once

#include <cstddef>

namespace authmilter::milter {

// mfdef.h defines MILTER_MDS_1M and SMFI_VERSION_MDS only with _FFR_MDS_NEGOTIATE.
inline constexpr std::size_t kMaxPacketBytes = 1024 * 1024 - 1;
inline constexpr std::size_t kLibmilterDefaultPacketBytes = 65535;  // MILTER_MAX_DATA_SIZE
inline constexpr int kFilterVersion = 0x01000002;                   // SMFI_VERSION_MDS

// Registers the callbacks with libmilter (smfi_register) and raises its packet limit.
// Throws std::runtime_error.
void register_filter();

}  // namespace authmilter::milter
