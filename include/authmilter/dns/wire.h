// authmilter::dns::wire — DNS wire format (RFC 1035 §4), parsed and encoded by hand.
//
// What: parse_response() turns the raw reply that c-ares hands back into an Answer: rcode,
//   AD bit (RFC 4035 §3.2.3), the answer-section records of the asked type with CNAMEs
//   followed inside the answer (RFC 1034 §3.6.2), TXT character-strings (RFC 1035 §3.3.14),
//   MX preference+exchange, PTR/CNAME/NS names, A/AAAA raw bytes, and for negative answers the
//   RFC 2308 §5 TTL: min(SOA TTL, SOA MINIMUM) of the SOA in the authority section.
//   ResponseBuilder / encode_response() go the other way, for tests and for libraries that
//   want wire replies (the tests' libopendkim reference); parse_query() reads a question.
// Limits: labels <= util::kMaxLabelLength, names <= kMaxNameWireLength octets on the wire,
//   compression pointers must point backwards and at most kMaxPointerHops per name, at most
//   kMaxCnameChain CNAMEs followed, one TXT record's text <= kMaxTxtLength, record counts
//   must fit the packet (each RR needs >= kMinRecordSize octets).
// Security: replies are hostile input. Every read is bounds-checked; a reply that breaks any
//   rule (wrong ID or question, truncated, absurd counts, pointer loops, oversized names or
//   TXT) becomes Status::kError with a detail, never a crash or an over-read. Names holding a
//   NUL or a '.' inside a label are refused, because callers hand names on to C libraries
//   and to textual comparisons where such bytes would change meaning. TTLs with the top bit
//   set count as 0 (RFC 2181 §8). Duplicate RRs in one RRset are dropped (RFC 2181 §5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dns/resolver.h"

namespace authmilter::dns::wire {

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxMessageSize = 65535;   // TCP length prefix is 16 bits
inline constexpr std::size_t kMaxNameWireLength = 255;  // RFC 1035 §2.3.4, length octets too
inline constexpr std::size_t kMaxPointerHops = 127;     // a 255-octet name has <= 127 labels
inline constexpr std::size_t kMaxCnameChain = 8;        // as c-ares and most stub resolvers
inline constexpr std::size_t kMaxTxtLength = 16384;     // one TXT RR's text; DKIM keys < 2 KiB
inline constexpr std::size_t kMinRecordSize = 11;       // root owner + type/class/ttl/rdlength
inline constexpr std::uint16_t kClassIn = 1;
inline constexpr std::uint16_t kTypeOpt = 41;

// Header flag bits (second 16-bit word of the header).
inline constexpr std::uint16_t kFlagQr = 0x8000;
inline constexpr std::uint16_t kFlagAa = 0x0400;
inline constexpr std::uint16_t kFlagTc = 0x0200;
inline constexpr std::uint16_t kFlagRd = 0x0100;
inline constexpr std::uint16_t kFlagRa = 0x0080;
inline constexpr std::uint16_t kFlagAd = 0x0020;
inline constexpr std::uint16_t kFlagCd = 0x0010;

enum class Rcode : std::uint8_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

struct Header {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::uint16_t arcount = 0;

  std::uint8_t opcode() const { return static_cast<std::uint8_t>((flags >> 11) & 0x0f); }
  std::uint8_t rcode() const { return static_cast<std::uint8_t>(flags & 0x0f); }
  bool has(std::uint16_t flag) const { return (flags & flag) != 0; }
};

// Reads the 12-octet header; false when the packet is shorter.
bool parse_header(std::span<const std::uint8_t> packet, Header& header);

// Reads a (possibly compressed) name starting at `offset`, advances `offset` past the octets
// the name occupies in place, and stores the labels joined by '.' (no trailing dot; the root
// is ""), case preserved. False on any violation of the limits above.
bool read_name(std::span<const std::uint8_t> packet, std::size_t& offset, std::string& name);

// Parses a reply to the question (name, type). `name` is compared case-insensitively, a
// trailing dot ignored. With `expected_id`, a different message ID is an error.
Answer parse_response(std::span<const std::uint8_t> packet, std::string_view name, RrType type,
                      std::optional<std::uint16_t> expected_id = std::nullopt);

struct Query {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::string name;  // as on the wire, case preserved
  std::uint16_t type = 0;
  std::uint16_t qclass = 0;
  std::optional<std::uint16_t> edns_udp_size;  // from an OPT RR in the additional section
};

// Reads a query (QR clear, exactly one question); nullopt when it is not a sane one.
std::optional<Query> parse_query(std::span<const std::uint8_t> packet);

// Appends `name` in uncompressed wire form. Throws std::invalid_argument when a label is
// empty or longer than 63 octets or the name longer than 255 octets.
void append_name(std::vector<std::uint8_t>& out, std::string_view name);

// Builds one message section by section (questions first, then answer, authority,
// additional records, in that order). Names are written uncompressed.
class ResponseBuilder {
 public:
  enum class Section { kAnswer, kAuthority, kAdditional };

  ResponseBuilder(std::uint16_t id, std::uint16_t flags);
  ResponseBuilder& question(std::string_view name, std::uint16_t type,
                            std::uint16_t qclass = kClassIn);
  // A record with ready-made rdata.
  ResponseBuilder& record(Section section, std::string_view owner, std::uint16_t type,
                          std::uint32_t ttl, std::span<const std::uint8_t> rdata,
                          std::uint16_t rclass = kClassIn);
  // Conveniences that encode the rdata.
  ResponseBuilder& a(Section section, std::string_view owner, std::uint32_t ttl,
                     std::string_view dotted_quad);
  ResponseBuilder& aaaa(Section section, std::string_view owner, std::uint32_t ttl,
                        std::string_view address);
  ResponseBuilder& txt(Section section, std::string_view owner, std::uint32_t ttl,
                       const std::vector<std::string>& strings, std::uint16_t type = 16);
  ResponseBuilder& name_record(Section section, std::string_view owner, std::uint16_t type,
                               std::uint32_t ttl, std::string_view target);
  ResponseBuilder& mx(Section section, std::string_view owner, std::uint32_t ttl,
                      std::uint16_t preference, std::string_view exchange);
  ResponseBuilder& soa(Section section, std::string_view owner, std::uint32_t ttl,
                       std::uint32_t minimum);
  // The finished message. Throws std::length_error past kMaxMessageSize.
  std::vector<std::uint8_t> finish() const;

 private:
  std::vector<std::uint8_t> header_;
  std::vector<std::uint8_t> body_;
  std::uint16_t counts_[4] = {0, 0, 0, 0};
  int last_section_ = -1;
};

// Rdata of one Record in wire form (A/AAAA raw bytes, TXT strings, MX, names).
// Throws std::invalid_argument when the record cannot be encoded.
std::vector<std::uint8_t> encode_rdata(const Record& record);

// A whole reply for `answer` to the question (name, type): rcode from the status (kTimeout
// and kError become SERVFAIL), AD from `authenticated`, the records in the answer section,
// and for a negative answer with a TTL a SOA in the authority section carrying it.
std::vector<std::uint8_t> encode_response(std::uint16_t id, std::string_view name, RrType type,
                                          const Answer& answer);

// A standard query with RD set and, when `edns_udp_size` is non-zero, an OPT RR.
std::vector<std::uint8_t> encode_query(std::uint16_t id, std::string_view name, std::uint16_t type,
                                       std::uint16_t flags = kFlagRd,
                                       std::uint16_t edns_udp_size = 0);

}  // namespace authmilter::dns::wire
