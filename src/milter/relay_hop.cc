#include "authmilter/milter/relay_hop.h"

#include <vector>

#include "authmilter/mail/received.h"
#include "authmilter/util/ascii.h"

namespace authmilter::milter {

JudgedClient judged_client_behind_relay(std::span<const mail::HeaderField> headers,
                                        std::string_view relay_ip, std::string_view relay_helo,
                                        const config::CidrList& trusted_relays) {
  std::vector<std::string_view> received;
  for (const mail::HeaderField& field : headers) {
    if (util::iequals_ascii(field.name, "Received")) received.push_back(field.value());
  }
  const mail::HopSelection hop = mail::select_first_untrusted_hop(
      received, relay_ip, [&](std::string_view ip) { return trusted_relays.contains(ip); });
  JudgedClient out;
  if (hop.ok) {
    out.ip = hop.ip;
    out.helo = hop.helo;
    out.note = "via trusted relay " + std::string(relay_ip) + ", judged " + hop.ip;
  } else {
    out.ip = std::string(relay_ip);
    out.helo = std::string(relay_helo);
    out.note =
        "Received chain not usable (" + hop.error + "), judged relay " + std::string(relay_ip);
  }
  return out;
}

}  // namespace authmilter::milter
