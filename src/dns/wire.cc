#include "authmilter/dns/wire.h"
#include "authmilter/util/ascii.h"
#include "authmilter/util/domain_name.h"

#include <arpa/inet.h>

#include <algorithm>
#include <limits>
#include <set>
#include <sstream>
#include <stdexcept>

namespace authmilter::dns::wire {
namespace {

std::uint16_t get16(std::span<const std::uint8_t> p, std::size_t at) {
  return static_cast<std::uint16_t>((p[at] << 8) | p[at + 1]);
}

std::uint32_t get32(std::span<const std::uint8_t> p, std::size_t at) {
  return (static_cast<std::uint32_t>(p[at]) << 24) | (static_cast<std::uint32_t>(p[at + 1]) << 16) |
         (static_cast<std::uint32_t>(p[at + 2]) << 8) | static_cast<std::uint32_t>(p[at + 3]);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  put16(out, static_cast<std::uint16_t>(value >> 16));
  put16(out, static_cast<std::uint16_t>(value & 0xffff));
}

// Lower-case, no trailing dot: the key under which same_name() considers names equal.
std::string lower_name(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  util::make_lowercase_ascii(out);
  return out;
}

// DNS names compare case-insensitively in ASCII only (RFC 4343); other octets exactly.
bool same_name(std::string_view a, std::string_view b) {
  while (!a.empty() && a.back() == '.') a.remove_suffix(1);
  while (!b.empty() && b.back() == '.') b.remove_suffix(1);
  return util::iequals_ascii(a, b);
}

// RFC 2181 §8: a TTL with the most significant bit set is treated as zero.
std::uint32_t sane_ttl(std::uint32_t ttl) { return (ttl & 0x80000000u) != 0 ? 0 : ttl; }

// One resource record as found in the packet; rdata is decoded only when it matters.
struct RawRecord {
  std::string owner;
  std::uint16_t type = 0;
  std::uint16_t rclass = 0;
  std::uint32_t ttl = 0;
  std::size_t rdata = 0;  // offset of the rdata in the packet
  std::uint16_t rdlength = 0;
};

class Parser {
 public:
  explicit Parser(std::span<const std::uint8_t> packet) : p_(packet) {}

  const std::string& error() const { return error_; }
  std::size_t offset() const { return offset_; }
  void set_offset(std::size_t offset) { offset_ = offset; }

  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }

  bool name(std::string& out, const char* what) {
    if (!read_name(p_, offset_, out)) {
      return fail(std::string("bad ") + what + " name at offset " + std::to_string(offset_));
    }
    return true;
  }

  bool record(RawRecord& rr) {
    if (!name(rr.owner, "owner")) return false;
    if (p_.size() - offset_ < 10) return fail("record header past the end");
    rr.type = get16(p_, offset_);
    rr.rclass = get16(p_, offset_ + 2);
    rr.ttl = sane_ttl(get32(p_, offset_ + 4));
    rr.rdlength = get16(p_, offset_ + 8);
    rr.rdata = offset_ + 10;
    if (p_.size() - rr.rdata < rr.rdlength) return fail("rdata past the end");
    offset_ = rr.rdata + rr.rdlength;
    return true;
  }

  // A name that must fill the rdata from `at` to its end exactly.
  bool rdata_name(const RawRecord& rr, std::size_t at, std::string& out) {
    std::size_t pos = at;
    if (!read_name(p_, pos, out) || pos != rr.rdata + rr.rdlength) {
      return fail("bad name in " + std::string(to_string(static_cast<RrType>(rr.type))) + " rdata");
    }
    return true;
  }

  bool decode(const RawRecord& rr, Record& record) {
    record.type = static_cast<RrType>(rr.type);
    record.ttl = rr.ttl;
    const std::size_t end = rr.rdata + rr.rdlength;
    switch (static_cast<RrType>(rr.type)) {
      case RrType::kA:
      case RrType::kAaaa: {
        const std::size_t want = rr.type == static_cast<std::uint16_t>(RrType::kA) ? 4 : 16;
        if (rr.rdlength != want) {
          return fail("address record of " + std::to_string(rr.rdlength) + " octets");
        }
        record.data.assign(reinterpret_cast<const char*>(p_.data() + rr.rdata), want);
        return true;
      }
      case RrType::kTxt:
      case RrType::kSpf: {
        std::size_t pos = rr.rdata;
        while (pos < end) {
          const std::size_t len = p_[pos];
          if (end - pos - 1 < len) return fail("TXT string past the rdata");
          if (record.data.size() + len > kMaxTxtLength) {
            return fail("TXT record longer than " + std::to_string(kMaxTxtLength) + " octets");
          }
          std::string piece(reinterpret_cast<const char*>(p_.data() + pos + 1), len);
          record.data += piece;
          record.strings.push_back(std::move(piece));
          pos += 1 + len;
        }
        return true;
      }
      case RrType::kMx:
        if (rr.rdlength < 3) return fail("MX rdata too short");
        record.preference = get16(p_, rr.rdata);
        return rdata_name(rr, rr.rdata + 2, record.data);
      case RrType::kPtr:
      case RrType::kCname:
      case RrType::kNs:
        return rdata_name(rr, rr.rdata, record.data);
      case RrType::kSoa: {
        std::uint32_t ttl = 0;
        std::string mname;
        std::string rname;
        std::uint32_t fields[5] = {};
        if (!soa(rr, mname, rname, fields, ttl)) return false;
        record.data = mname + " " + rname;
        for (std::uint32_t field : fields) record.data += " " + std::to_string(field);
        return true;
      }
    }
    record.data.assign(reinterpret_cast<const char*>(p_.data() + rr.rdata), rr.rdlength);
    return true;
  }

  // SOA rdata (RFC 1035 §3.3.13); `negative_ttl` gets min(RR TTL, MINIMUM) (RFC 2308 §5).
  bool soa(const RawRecord& rr, std::string& mname, std::string& rname, std::uint32_t (&fields)[5],
           std::uint32_t& negative_ttl) {
    const std::size_t end = rr.rdata + rr.rdlength;
    std::size_t pos = rr.rdata;
    if (!read_name(p_, pos, mname) || pos > end || !read_name(p_, pos, rname) || pos > end) {
      return fail("bad name in SOA rdata");
    }
    if (end - pos != 20) return fail("SOA rdata of wrong length");
    for (std::size_t i = 0; i < 5; ++i) fields[i] = get32(p_, pos + 4 * i);
    negative_ttl = std::min(rr.ttl, sane_ttl(fields[4]));
    return true;
  }

 private:
  std::span<const std::uint8_t> p_;
  std::size_t offset_ = kHeaderSize;
  std::string error_;
};

Answer malformed(const std::string& why) {
  return Answer::failure(Status::kError, "malformed reply: " + why);
}

// Identity of one RR's rdata for duplicate removal: names compare case-insensitively.
std::string rdata_key(const Record& record) {
  std::string key;
  key.push_back(static_cast<char>(record.preference >> 8));
  key.push_back(static_cast<char>(record.preference & 0xff));
  if (record.type == RrType::kTxt || record.type == RrType::kSpf) {
    for (const auto& s : record.strings) {
      key.push_back(static_cast<char>(s.size()));
      key += s;
    }
  } else if (record.type == RrType::kA || record.type == RrType::kAaaa) {
    key += record.data;
  } else {
    key += normalize_name(record.data);
  }
  return key;
}

}  // namespace

bool parse_header(std::span<const std::uint8_t> packet, Header& header) {
  if (packet.size() < kHeaderSize) return false;
  header.id = get16(packet, 0);
  header.flags = get16(packet, 2);
  header.qdcount = get16(packet, 4);
  header.ancount = get16(packet, 6);
  header.nscount = get16(packet, 8);
  header.arcount = get16(packet, 10);
  return true;
}

bool read_name(std::span<const std::uint8_t> packet, std::size_t& offset, std::string& name) {
  name.clear();
  std::size_t pos = offset;
  std::size_t wire_length = 0;
  std::size_t hops = 0;
  std::size_t end_in_place = 0;
  bool jumped = false;
  // Every pointer must land strictly before the previous jump target (or the name's start):
  // the targets decrease, so no loop can form, whatever the packet says.
  std::size_t limit = offset;
  while (true) {
    if (pos >= packet.size()) return false;
    const std::uint8_t len = packet[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= packet.size()) return false;
      const std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | packet[pos + 1];
      if (!jumped) {
        end_in_place = pos + 2;
        jumped = true;
      }
      if (target >= limit || ++hops > kMaxPointerHops) return false;
      limit = target;
      pos = target;
      continue;
    }
    if ((len & 0xc0) != 0) return false;  // extended label types (RFC 6891 §5) are not in use
    wire_length += 1 + static_cast<std::size_t>(len);
    if (wire_length > kMaxNameWireLength) return false;
    if (len == 0) {
      if (!jumped) end_in_place = pos + 1;
      break;
    }
    if (packet.size() - pos - 1 < len) return false;
    if (!name.empty()) name.push_back('.');  // labels are never empty, so "" means first
    for (std::size_t i = 1; i <= len; ++i) {
      const char c = static_cast<char>(packet[pos + i]);
      if (c == '\0' || c == '.') return false;
      name.push_back(c);
    }
    pos += 1 + static_cast<std::size_t>(len);
  }
  offset = end_in_place;
  return true;
}

Answer parse_response(std::span<const std::uint8_t> packet, std::string_view name, RrType type,
                      std::optional<std::uint16_t> expected_id) {
  Header header;
  if (!parse_header(packet, header)) return malformed("shorter than a DNS header");
  if (packet.size() > kMaxMessageSize) return malformed("longer than 65535 octets");
  if (!header.has(kFlagQr)) return malformed("not a response");
  if (expected_id && header.id != *expected_id) {
    return Answer::failure(Status::kError, "reply ID mismatch");
  }
  if (header.opcode() != 0) return malformed("opcode " + std::to_string(header.opcode()));
  if (header.qdcount != 1) return malformed(std::to_string(header.qdcount) + " questions");

  Parser parser(packet);
  std::string qname;
  if (!parser.name(qname, "question")) return malformed(parser.error());
  if (packet.size() - parser.offset() < 4) return malformed("question past the end");
  const std::uint16_t qtype = get16(packet, parser.offset());
  const std::uint16_t qclass = get16(packet, parser.offset() + 2);
  parser.set_offset(parser.offset() + 4);
  if (!same_name(qname, name) || qtype != static_cast<std::uint16_t>(type) || qclass != kClassIn) {
    return Answer::failure(Status::kError, "reply question mismatch");
  }

  Answer answer;
  answer.authenticated = header.has(kFlagAd);
  switch (static_cast<Rcode>(header.rcode())) {
    case Rcode::kNoError:
    case Rcode::kNxDomain:
      break;
    case Rcode::kServFail:
      answer.status = Status::kServFail;
      answer.detail = "SERVFAIL";
      return answer;
    case Rcode::kFormErr:
      return Answer::failure(Status::kError, "FORMERR");
    case Rcode::kNotImp:
      return Answer::failure(Status::kError, "NOTIMP");
    case Rcode::kRefused:
      return Answer::failure(Status::kError, "REFUSED");
    default:
      return Answer::failure(Status::kError, "rcode " + std::to_string(header.rcode()));
  }
  // c-ares retries over TCP on truncation; a truncated reply that still reaches us may hold a
  // partial RRset (an SPF record missing, say), so it is not used.
  if (header.has(kFlagTc)) return Answer::failure(Status::kError, "truncated reply");

  const std::size_t counted =
      static_cast<std::size_t>(header.ancount) + header.nscount + header.arcount;
  if (counted * kMinRecordSize > packet.size() - parser.offset()) {
    return malformed("record counts exceed the packet");
  }
  std::vector<RawRecord> answers(header.ancount);
  for (auto& rr : answers) {
    if (!parser.record(rr)) return malformed(parser.error());
  }
  std::vector<RawRecord> authority(header.nscount);
  for (auto& rr : authority) {
    if (!parser.record(rr)) return malformed(parser.error());
  }
  // The additional section is not needed; its records are not trusted for anything.

  if (header.rcode() == static_cast<std::uint8_t>(Rcode::kNoError)) {
    // Records of the asked type at the question name, or at the end of the CNAME chain the
    // answer section spells out (RFC 1034 §3.6.2).
    std::string current = qname;
    std::uint32_t min_ttl = std::numeric_limits<std::uint32_t>::max();
    std::set<std::string> seen;
    // Names the chain has passed, lower-cased: coming back to one is a loop (a -> b -> a),
    // which no answer can end; named as such rather than as an over-long chain.
    std::set<std::string> chain{lower_name(current)};
    for (std::size_t hops = 0;; ++hops) {
      for (const auto& rr : answers) {
        if (rr.rclass != kClassIn || rr.type != static_cast<std::uint16_t>(type) ||
            !same_name(rr.owner, current)) {
          continue;
        }
        Record record;
        if (!parser.decode(rr, record)) return malformed(parser.error());
        min_ttl = std::min(min_ttl, rr.ttl);
        if (seen.insert(rdata_key(record)).second) answer.records.push_back(std::move(record));
      }
      if (!answer.records.empty() || type == RrType::kCname) break;
      const auto cname = std::find_if(answers.begin(), answers.end(), [&](const RawRecord& rr) {
        return rr.rclass == kClassIn && rr.type == static_cast<std::uint16_t>(RrType::kCname) &&
               same_name(rr.owner, current);
      });
      if (cname == answers.end()) break;
      if (hops == kMaxCnameChain) return malformed("CNAME chain longer than 8");
      std::string target;
      if (!parser.rdata_name(*cname, cname->rdata, target)) return malformed(parser.error());
      if (!chain.insert(lower_name(target)).second) {
        return Answer::failure(Status::kError,
                               "CNAME loop (" + std::to_string(hops + 1) + " CNAMEs in the reply)");
      }
      min_ttl = std::min(min_ttl, cname->ttl);
      current = std::move(target);
    }
    if (!answer.records.empty()) {
      answer.status = Status::kNoError;
      answer.ttl = min_ttl;
      return answer;
    }
    answer.status = Status::kNoData;
    answer.detail = "NODATA";
  } else {
    answer.status = Status::kNxDomain;
    answer.detail = "NXDOMAIN";
  }
  // Negative answer: the SOA in the authority section gives how long it may be cached; none
  // means it must not be cached at all (RFC 2308 §5).
  for (const auto& rr : authority) {
    if (rr.rclass != kClassIn || rr.type != static_cast<std::uint16_t>(RrType::kSoa)) continue;
    std::string mname;
    std::string rname;
    std::uint32_t fields[5] = {};
    if (!parser.soa(rr, mname, rname, fields, answer.ttl)) return malformed(parser.error());
    break;
  }
  return answer;
}

std::optional<Query> parse_query(std::span<const std::uint8_t> packet) {
  Header header;
  if (!parse_header(packet, header) || header.has(kFlagQr) || header.opcode() != 0 ||
      header.qdcount != 1) {
    return std::nullopt;
  }
  Parser parser(packet);
  Query query;
  query.id = header.id;
  query.flags = header.flags;
  if (!parser.name(query.name, "question") || packet.size() - parser.offset() < 4) {
    return std::nullopt;
  }
  query.type = get16(packet, parser.offset());
  query.qclass = get16(packet, parser.offset() + 2);
  parser.set_offset(parser.offset() + 4);
  const std::size_t counted =
      static_cast<std::size_t>(header.ancount) + header.nscount + header.arcount;
  if (counted * kMinRecordSize > packet.size() - parser.offset()) return std::nullopt;
  for (std::size_t i = 0; i < counted; ++i) {
    RawRecord rr;
    if (!parser.record(rr)) return std::nullopt;
    if (rr.type == kTypeOpt && rr.owner.empty()) query.edns_udp_size = rr.rclass;
  }
  return query;
}

void append_name(std::vector<std::uint8_t>& out, std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::size_t wire_length = 1;
  while (!name.empty()) {
    const std::size_t dot = name.find('.');
    const std::string_view label = name.substr(0, dot);
    if (label.empty()) throw std::invalid_argument("empty label in name");
    if (label.size() > util::kMaxLabelLength) throw std::invalid_argument("label longer than 63");
    wire_length += 1 + label.size();
    if (wire_length > kMaxNameWireLength) throw std::invalid_argument("name longer than 255");
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    name = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  }
  out.push_back(0);
}

ResponseBuilder::ResponseBuilder(std::uint16_t id, std::uint16_t flags) {
  put16(header_, id);
  put16(header_, flags);
}

ResponseBuilder& ResponseBuilder::question(std::string_view name, std::uint16_t type,
                                           std::uint16_t qclass) {
  if (last_section_ >= 0) throw std::logic_error("question after records");
  append_name(body_, name);
  put16(body_, type);
  put16(body_, qclass);
  ++counts_[0];
  return *this;
}

ResponseBuilder& ResponseBuilder::record(Section section, std::string_view owner,
                                         std::uint16_t type, std::uint32_t ttl,
                                         std::span<const std::uint8_t> rdata,
                                         std::uint16_t rclass) {
  const int index = static_cast<int>(section);
  if (index < last_section_) throw std::logic_error("records out of section order");
  if (rdata.size() > 0xffff) throw std::length_error("rdata longer than 65535");
  std::uint16_t& count = counts_[index + 1];
  if (count == 0xffff) throw std::length_error("too many records");
  last_section_ = index;
  append_name(body_, owner);
  put16(body_, type);
  put16(body_, rclass);
  put32(body_, ttl);
  put16(body_, static_cast<std::uint16_t>(rdata.size()));
  body_.insert(body_.end(), rdata.begin(), rdata.end());
  ++count;
  return *this;
}

ResponseBuilder& ResponseBuilder::a(Section section, std::string_view owner, std::uint32_t ttl,
                                    std::string_view dotted_quad) {
  Record r;
  r.type = RrType::kA;
  in_addr addr{};
  if (inet_pton(AF_INET, std::string(dotted_quad).c_str(), &addr) != 1) {
    throw std::invalid_argument("bad IPv4 address");
  }
  r.data.assign(reinterpret_cast<const char*>(&addr), sizeof addr);
  return record(section, owner, 1, ttl, encode_rdata(r));
}

ResponseBuilder& ResponseBuilder::aaaa(Section section, std::string_view owner, std::uint32_t ttl,
                                       std::string_view address) {
  Record r;
  r.type = RrType::kAaaa;
  in6_addr addr{};
  if (inet_pton(AF_INET6, std::string(address).c_str(), &addr) != 1) {
    throw std::invalid_argument("bad IPv6 address");
  }
  r.data.assign(reinterpret_cast<const char*>(&addr), sizeof addr);
  return record(section, owner, 28, ttl, encode_rdata(r));
}

ResponseBuilder& ResponseBuilder::txt(Section section, std::string_view owner, std::uint32_t ttl,
                                      const std::vector<std::string>& strings, std::uint16_t type) {
  Record r;
  r.type = RrType::kTxt;
  r.strings = strings;
  return record(section, owner, type, ttl, encode_rdata(r));
}

ResponseBuilder& ResponseBuilder::name_record(Section section, std::string_view owner,
                                              std::uint16_t type, std::uint32_t ttl,
                                              std::string_view target) {
  std::vector<std::uint8_t> rdata;
  append_name(rdata, target);
  return record(section, owner, type, ttl, rdata);
}

ResponseBuilder& ResponseBuilder::mx(Section section, std::string_view owner, std::uint32_t ttl,
                                     std::uint16_t preference, std::string_view exchange) {
  std::vector<std::uint8_t> rdata;
  put16(rdata, preference);
  append_name(rdata, exchange);
  return record(section, owner, 15, ttl, rdata);
}

ResponseBuilder& ResponseBuilder::soa(Section section, std::string_view owner, std::uint32_t ttl,
                                      std::uint32_t minimum) {
  std::vector<std::uint8_t> rdata;
  append_name(rdata, "ns.invalid");
  append_name(rdata, "hostmaster.invalid");
  for (std::uint32_t field : {1u, 3600u, 600u, 86400u}) put32(rdata, field);
  put32(rdata, minimum);
  return record(section, owner, 6, ttl, rdata);
}

std::vector<std::uint8_t> ResponseBuilder::finish() const {
  std::vector<std::uint8_t> out = header_;
  for (std::uint16_t count : counts_) put16(out, count);
  out.insert(out.end(), body_.begin(), body_.end());
  if (out.size() > kMaxMessageSize) throw std::length_error("message longer than 65535 octets");
  return out;
}

std::vector<std::uint8_t> encode_rdata(const Record& record) {
  std::vector<std::uint8_t> out;
  switch (record.type) {
    case RrType::kA:
    case RrType::kAaaa:
      if (record.data.size() != (record.type == RrType::kA ? 4u : 16u)) {
        throw std::invalid_argument("address of wrong length");
      }
      out.assign(record.data.begin(), record.data.end());
      break;
    case RrType::kTxt:
    case RrType::kSpf: {
      std::vector<std::string_view> pieces;
      if (!record.strings.empty()) {
        pieces.assign(record.strings.begin(), record.strings.end());
      } else {
        // One string from `data`, cut at 255 octets (RFC 7208 §3.3 reassembles them).
        std::string_view rest = record.data;
        do {
          pieces.push_back(rest.substr(0, 255));
          rest.remove_prefix(pieces.back().size());
        } while (!rest.empty());
      }
      for (std::string_view piece : pieces) {
        if (piece.size() > 255) throw std::invalid_argument("TXT string longer than 255");
        out.push_back(static_cast<std::uint8_t>(piece.size()));
        out.insert(out.end(), piece.begin(), piece.end());
      }
      break;
    }
    case RrType::kMx:
      put16(out, record.preference);
      append_name(out, record.data);
      break;
    case RrType::kPtr:
    case RrType::kCname:
    case RrType::kNs:
      append_name(out, record.data);
      break;
    case RrType::kSoa: {
      // The text form parse_response() gives: "mname rname serial refresh retry expire min".
      std::istringstream in(record.data);
      std::string mname;
      std::string rname;
      std::uint32_t fields[5] = {};
      in >> mname >> rname;
      for (auto& field : fields) in >> field;
      if (!in) throw std::invalid_argument("bad SOA text");
      append_name(out, mname);
      append_name(out, rname);
      for (std::uint32_t field : fields) put32(out, field);
      break;
    }
  }
  if (out.size() > 0xffff) throw std::invalid_argument("rdata longer than 65535");
  return out;
}

std::vector<std::uint8_t> encode_response(std::uint16_t id, std::string_view name, RrType type,
                                          const Answer& answer) {
  Rcode rcode = Rcode::kServFail;
  switch (answer.status) {
    case Status::kNoError:
    case Status::kNoData:
      rcode = Rcode::kNoError;
      break;
    case Status::kNxDomain:
      rcode = Rcode::kNxDomain;
      break;
    case Status::kServFail:
    case Status::kTimeout:
    case Status::kError:
      rcode = Rcode::kServFail;
      break;
  }
  std::uint16_t flags = kFlagQr | kFlagRd | kFlagRa | static_cast<std::uint16_t>(rcode);
  if (answer.authenticated) flags |= kFlagAd;
  ResponseBuilder builder(id, flags);
  builder.question(name, static_cast<std::uint16_t>(type));
  if (answer.status == Status::kNoError) {
    for (const auto& record : answer.records) {
      builder.record(ResponseBuilder::Section::kAnswer, name,
                     static_cast<std::uint16_t>(record.type), record.ttl, encode_rdata(record));
    }
  } else if ((answer.status == Status::kNoData || answer.status == Status::kNxDomain) &&
             answer.ttl > 0) {
    builder.soa(ResponseBuilder::Section::kAuthority, name, answer.ttl, answer.ttl);
  }
  return builder.finish();
}

std::vector<std::uint8_t> encode_query(std::uint16_t id, std::string_view name, std::uint16_t type,
                                       std::uint16_t flags, std::uint16_t edns_udp_size) {
  ResponseBuilder builder(id, static_cast<std::uint16_t>(flags & ~kFlagQr));
  builder.question(name, type);
  if (edns_udp_size != 0) {
    builder.record(ResponseBuilder::Section::kAdditional, "", kTypeOpt, 0, {}, edns_udp_size);
  }
  return builder.finish();
}

}  // namespace authmilter::dns::wire
