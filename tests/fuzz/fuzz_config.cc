// Fuzz target: the configuration file parser (config/config.h) and the value parsers it uses
// for sockets and networks (config/cidr.h).
//
// Input: the text of a configuration file (any bytes). It is also tried, line by line, as a
//   socket specification, an IP address and a CIDR list.
// Invariants: parse() either returns a Config or throws ConfigError (no other exception, no
//   crash); an accepted Config keeps the documented cross-checks (MessageTimeout > DNSTimeout,
//   TempError and OnInternalError never reject, at most kMaxDnsServers servers), its socket is
//   canonical (parse_socket(socket).to_string() == socket), its AuthservID can be written by
//   the A-R writer, and its MarkHeader holds no line break. Accepted addresses and networks
//   print to text that parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authmilter/config/cidr.h"
#include "authmilter/config/config.h"
#include "authmilter/mail/auth_results.h"
#include "fuzz_support.h"

namespace {

using namespace authmilter;

void check_config(std::string_view text) {
  config::Config cfg;
  try {
    cfg = config::parse(text, "fuzz.conf");
  } catch (const config::ConfigError& e) {
    FUZZ_CHECK(std::string_view(e.what()).rfind("fuzz.conf", 0) == 0);  // names the file
    return;
  }
  FUZZ_CHECK(cfg.message_timeout > cfg.dns_timeout);
  FUZZ_CHECK(cfg.temp_error != config::Action::kReject);
  FUZZ_CHECK(cfg.on_internal_error != config::Action::kReject);
  FUZZ_CHECK(cfg.dns_servers.size() <= config::kMaxDnsServers);
  const std::optional<config::SocketSpec> socket = config::parse_socket(cfg.socket);
  FUZZ_CHECK(socket.has_value());
  FUZZ_CHECK(socket->to_string() == cfg.socket);
  FUZZ_CHECK(mail::is_valid_authserv_id(cfg.authserv_id));
  FUZZ_CHECK(!fuzz::has_line_break_or_nul(cfg.mark_header));
  const auto [name, value] = config::split_header(cfg.mark_header);
  FUZZ_CHECK(!name.empty());
  (void)value;
}

void check_values(std::string_view line) {
  std::string why;
  if (const auto socket = config::parse_socket(line, &why)) {
    const auto again = config::parse_socket(socket->to_string());
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->to_string() == socket->to_string());
  } else {
    FUZZ_CHECK(!why.empty());
  }
  if (const auto ip = config::IpAddress::parse(line)) {
    const auto again = config::IpAddress::parse(ip->to_string());
    FUZZ_CHECK(again.has_value() && *again == *ip);
  }
  std::string bad;
  if (const auto list = config::CidrList::parse(line, &bad)) {
    FUZZ_CHECK(list->entries().size() <= config::kMaxCidrListEntries);
    const auto again = config::CidrList::parse(list->to_string());
    FUZZ_CHECK(again.has_value() && *again == *list);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  check_config(input);
  if (size <= 4096) {  // the value parsers are linear; long inputs add nothing but time
    for (std::string_view line : fuzz::split(input, '\n')) check_values(line);
  }
  return 0;
}
