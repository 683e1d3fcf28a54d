// Milter socket specifications, checked the way libmilter's smfi_setconn() will read them, so
// a typo fails at --check-config time rather than when the daemon starts listening.
#include <string>

#include "authmilter/config/config.h"
#include "authmilter/util/ascii.h"
#include "values.h"

namespace authmilter::config {
namespace {

constexpr std::string_view kSocketForms =
    "expected unix:/absolute/path, local:/absolute/path, inet:PORT@HOST or inet6:PORT@HOST";

std::optional<SocketSpec> fail(std::string* why, std::string reason) {
  if (why != nullptr) *why = std::move(reason);
  return std::nullopt;
}

}  // namespace

std::optional<SocketSpec> parse_socket(std::string_view text, std::string* why) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return fail(why, std::string(kSocketForms));
  const std::string prefix = util::lowercase_ascii(text.substr(0, colon));
  const std::string_view rest = text.substr(colon + 1);
  SocketSpec spec;
  if (prefix == "unix" || prefix == "local") {
    if (!detail::valid_file_path(rest)) {
      return fail(why, "expected an absolute path after " + prefix + ":");
    }
    if (rest.size() > kMaxUnixSocketPath) {
      return fail(why, "socket path longer than " + std::to_string(kMaxUnixSocketPath) +
                           " bytes (the limit of sockaddr_un)");
    }
    spec.kind = SocketSpec::Kind::kUnix;
    spec.path = std::string(rest);
    return spec;
  }
  if (prefix != "inet" && prefix != "inet6") return fail(why, std::string(kSocketForms));
  spec.kind = prefix == "inet" ? SocketSpec::Kind::kInet : SocketSpec::Kind::kInet6;
  const auto at = rest.find('@');
  if (at == std::string_view::npos) {
    // libmilter would listen on every address; make that a visible choice.
    return fail(why, "expected " + prefix + ":PORT@HOST (use @" +
                         (prefix == "inet" ? "0.0.0.0" : "::") + " for all addresses)");
  }
  const auto port = detail::parse_port(rest.substr(0, at));
  if (!port) return fail(why, "expected a port from 1 to 65535 before '@'");
  spec.port = *port;
  std::string_view host = rest.substr(at + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  if (const auto address = detail::parse_ip_literal(host)) {
    if (address->v6 != (spec.kind == SocketSpec::Kind::kInet6)) {
      return fail(why, spec.kind == SocketSpec::Kind::kInet6
                           ? "inet6: needs an IPv6 address or a host name"
                           : "inet: needs an IPv4 address or a host name (use inet6: for IPv6)");
    }
    spec.host = address->to_string();
    return spec;
  }
  if (bracketed || !detail::valid_host_name(host)) {
    return fail(why, "expected an IP address or a host name after '@'");
  }
  spec.host = std::string(host);
  return spec;
}

std::string SocketSpec::to_string() const {
  switch (kind) {
    case Kind::kUnix:
      return "unix:" + path;
    case Kind::kInet:
      return "inet:" + std::to_string(port) + "@" + host;
    case Kind::kInet6:
      return "inet6:" + std::to_string(port) + "@" + host;
  }
  return {};
}

}  // namespace authmilter::config
