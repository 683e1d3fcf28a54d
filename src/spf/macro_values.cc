#include "macro_values.h"

#include <cstdint>

#include "libspf2.h"

namespace authmilter::spf {

std::optional<std::string> macro_value(SPF_request_t* request, char letter,
                                       bool resolve_client_name) {
  if (request == nullptr) return std::nullopt;
  auto text = [](const char* value) -> std::optional<std::string> {
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  char buffer[INET6_ADDRSTRLEN] = {};
  switch (letter) {
    case 's':
    case 'S':
      return text(request->env_from);
    case 'l':
    case 'L':
      return text(request->env_from_lp);
    case 'o':
    case 'O':
      return text(request->env_from_dp);
    case 'd':
    case 'D':
      return text(request->cur_dom);
    case 'h':
    case 'H':
      return text(request->helo_dom);
    case 'v':
    case 'V':
      return std::string(request->client_ver == AF_INET6 ? "ip6" : "in-addr");
    case 't':
    case 'T':
      return std::string("0");  // seconds since the epoch: one part
    case 'r':
    case 'R':
      return text(SPF_request_get_rec_dom(request));
    case 'p':
    case 'P':
      if (request->client_dom != nullptr) return std::string(request->client_dom);
      if (!resolve_client_name) return std::nullopt;
      return text(SPF_request_get_client_dom(request));
    case 'i':
    case 'I':
      if (request->client_ver == AF_INET6) {
        // RFC 7208 §7.3: "dot-format" of IPv6 is the 32 nibbles, high first.
        static constexpr char kHex[] = "0123456789abcdef";
        std::string nibbles;
        for (const std::uint8_t octet : request->ipv6.s6_addr) {
          if (!nibbles.empty()) nibbles.push_back('.');
          nibbles.push_back(kHex[octet >> 4]);
          nibbles.push_back('.');
          nibbles.push_back(kHex[octet & 0xf]);
        }
        return nibbles;
      }
      [[fallthrough]];
    case 'c':
    case 'C':
      if (request->client_ver == AF_INET) {
        return text(inet_ntop(AF_INET, &request->ipv4, buffer, sizeof buffer));
      }
      return text(inet_ntop(AF_INET6, &request->ipv6, buffer, sizeof buffer));
    default:
      return std::nullopt;
  }
}

}  // namespace authmilter::spf
