#include "authmilter/dns/zone_resolver.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <stdexcept>

namespace authmilter::dns {
namespace {

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool parse_status(std::string_view text, Status& status) {
  const std::string word = upper(text);
  if (word == "TIMEOUT") {
    status = Status::kTimeout;
  } else if (word == "SERVFAIL") {
    status = Status::kServFail;
  } else if (word == "NXDOMAIN") {
    status = Status::kNxDomain;
  } else if (word == "NODATA") {
    status = Status::kNoData;
  } else if (word == "ERROR" || word == "REFUSED") {
    status = Status::kError;
  } else {
    return false;
  }
  return true;
}

std::string address_bytes(RrType type, std::string_view text) {
  const std::string copy(text);
  if (type == RrType::kA) {
    in_addr addr{};
    if (inet_pton(AF_INET, copy.c_str(), &addr) != 1) {
      throw std::invalid_argument("bad IPv4 address: " + copy);
    }
    return std::string(reinterpret_cast<const char*>(&addr), sizeof addr);
  }
  in6_addr addr{};
  if (inet_pton(AF_INET6, copy.c_str(), &addr) != 1) {
    throw std::invalid_argument("bad IPv6 address: " + copy);
  }
  return std::string(reinterpret_cast<const char*>(&addr), sizeof addr);
}

// Splits zone-line words; double-quoted strings (with \" and \\ escapes) are one word each
// and keep a marker so TXT rdata can tell "a b" from a b.
struct Word {
  std::string text;
  bool quoted = false;
};

std::vector<Word> split_words(std::string_view line) {
  std::vector<Word> words;
  std::size_t i = 0;
  while (i < line.size()) {
    if (std::isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
      continue;
    }
    Word word;
    if (line[i] == '"') {
      word.quoted = true;
      ++i;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size()) ++i;
        word.text.push_back(line[i++]);
      }
      if (i >= line.size()) throw std::invalid_argument("unterminated string");
      ++i;
    } else {
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) {
        word.text.push_back(line[i++]);
      }
    }
    words.push_back(std::move(word));
  }
  return words;
}

// A decimal number that fits T; std::stoul would accept "12abc" and wrap 2^32 + 1.
template <typename T>
T parse_number(const std::string& text, const char* what) {
  if (text.empty() || text.size() > 10 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    throw std::invalid_argument(std::string("bad ") + what + ": " + text);
  }
  const unsigned long long value = std::stoull(text);
  if (value > std::numeric_limits<T>::max()) {
    throw std::invalid_argument(std::string(what) + " out of range: " + text);
  }
  return static_cast<T>(value);
}

}  // namespace

bool parse_rr_type(std::string_view text, RrType& type) {
  static constexpr std::pair<std::string_view, RrType> kTypes[] = {
      {"A", RrType::kA},     {"NS", RrType::kNs},     {"CNAME", RrType::kCname},
      {"SOA", RrType::kSoa}, {"PTR", RrType::kPtr},   {"MX", RrType::kMx},
      {"TXT", RrType::kTxt}, {"AAAA", RrType::kAaaa}, {"SPF", RrType::kSpf},
  };
  const std::string word = upper(text);
  for (const auto& [name, value] : kTypes) {
    if (word == name) {
      type = value;
      return true;
    }
  }
  return false;
}

void ZoneResolver::add(std::string_view name, RrType type, std::string_view data,
                       std::uint16_t preference, std::uint32_t ttl) {
  Record record;
  record.type = type;
  record.ttl = ttl;
  record.preference = preference;
  if (type == RrType::kA || type == RrType::kAaaa) {
    record.data = address_bytes(type, data);
  } else if (type == RrType::kTxt || type == RrType::kSpf) {
    record.data = std::string(data);
    record.strings.emplace_back(data);
  } else {
    record.data = normalize_name(data);
  }
  std::lock_guard lock(mutex_);
  records_[{normalize_name(name), type}].push_back(std::move(record));
}

void ZoneResolver::add_txt(std::string_view name, std::vector<std::string> strings,
                           std::uint32_t ttl, RrType type) {
  Record record;
  record.type = type;
  record.ttl = ttl;
  for (const auto& s : strings) record.data += s;
  record.strings = std::move(strings);
  std::lock_guard lock(mutex_);
  records_[{normalize_name(name), type}].push_back(std::move(record));
}

void ZoneResolver::set_error(std::string_view name, RrType type, Status status) {
  std::lock_guard lock(mutex_);
  errors_[{normalize_name(name), type}] = status;
}

void ZoneResolver::set_authenticated(bool authenticated) {
  std::lock_guard lock(mutex_);
  authenticated_ = authenticated;
}

void ZoneResolver::load(std::string_view zone_text) {
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= zone_text.size()) {
    std::size_t end = zone_text.find('\n', pos);
    if (end == std::string_view::npos) end = zone_text.size();
    std::string_view line = zone_text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files
    try {
      if (line.rfind(";ERROR,", 0) == 0) {
        std::vector<std::string> fields;
        std::size_t start = 0;
        while (true) {
          std::size_t comma = line.find(',', start);
          fields.emplace_back(line.substr(start, comma - start));
          if (comma == std::string_view::npos) break;
          start = comma + 1;
        }
        RrType type{};
        Status status{};
        if (fields.size() != 4 || !parse_rr_type(fields[2], type) ||
            !parse_status(fields[3], status)) {
          throw std::invalid_argument("expected ;ERROR,name,TYPE,STATUS");
        }
        set_error(fields[1], type, status);
        continue;
      }
      std::string_view trimmed = line;
      while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) {
        trimmed.remove_prefix(1);
      }
      if (trimmed.empty() || trimmed.front() == '#' || trimmed.front() == ';') continue;
      std::vector<Word> words = split_words(trimmed);
      if (words.size() < 3) throw std::invalid_argument("expected: name [ttl] TYPE rdata");
      std::size_t index = 1;
      std::uint32_t ttl = kDefaultTtl;
      if (!words[1].quoted && !words[1].text.empty() &&
          std::all_of(words[1].text.begin(), words[1].text.end(),
                      [](unsigned char c) { return std::isdigit(c); })) {
        ttl = parse_number<std::uint32_t>(words[1].text, "TTL");
        index = 2;
      }
      if (index < words.size() && upper(words[index].text) == "IN") ++index;
      RrType type{};
      if (index + 1 >= words.size() || !parse_rr_type(words[index].text, type)) {
        throw std::invalid_argument("unknown or missing record type");
      }
      const std::string& owner = words[0].text;
      if (type == RrType::kTxt || type == RrType::kSpf) {
        std::vector<std::string> strings;
        for (std::size_t i = index + 1; i < words.size(); ++i) strings.push_back(words[i].text);
        add_txt(owner, std::move(strings), ttl, type);
      } else if (type == RrType::kMx) {
        if (index + 2 >= words.size()) throw std::invalid_argument("MX needs preference and name");
        add(owner, type, words[index + 2].text,
            parse_number<std::uint16_t>(words[index + 1].text, "MX preference"), ttl);
      } else {
        add(owner, type, words[index + 1].text, 0, ttl);
      }
    } catch (const std::exception& e) {
      throw std::invalid_argument("line " + std::to_string(line_no) + ": " + e.what());
    }
  }
}

bool ZoneResolver::name_exists_locked(const std::string& name) const {
  auto exists_at = [&](const auto& table) {
    for (auto it = table.lower_bound({name, RrType::kA}); it != table.end(); ++it) {
      if (it->first.first != name) break;
      return true;
    }
    return false;
  };
  if (exists_at(records_) || exists_at(errors_)) return true;
  const std::string suffix = "." + name;
  for (const auto& [key, unused] : records_) {
    const std::string& owner = key.first;
    if (owner.size() > suffix.size() &&
        owner.compare(owner.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;  // empty non-terminal
    }
  }
  return false;
}

Answer ZoneResolver::answer_locked(const std::string& key_name, RrType type,
                                   const std::vector<Record>** cnames) const {
  *cnames = nullptr;
  Answer answer;
  answer.authenticated = authenticated_;
  if (auto err = errors_.find({key_name, type}); err != errors_.end()) {
    answer.status = err->second;
    answer.detail = std::string(to_string(err->second)) + " (zone directive)";
    return answer;
  }
  std::string owner = key_name;  // where the records come from (the wildcard when synthesized)
  auto found = records_.find({owner, type});
  if (found == records_.end() && !name_exists_locked(key_name)) {
    // RFC 4592 §3.3.1: find the closest encloser (the nearest ancestor that exists); only a
    // wildcard directly below it may synthesize the answer, otherwise the name does not exist.
    bool synthesized = false;
    std::string_view rest = key_name;
    for (std::size_t dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
      rest.remove_prefix(dot + 1);
      if (!name_exists_locked(std::string(rest))) continue;
      const std::string source = "*." + std::string(rest);
      if (name_exists_locked(source)) {
        owner = source;
        found = records_.find({source, type});
        synthesized = true;
      }
      break;
    }
    if (!synthesized) {
      answer.status = Status::kNxDomain;
      answer.ttl = kDefaultTtl;
      return answer;
    }
  }
  if (found == records_.end() || found->second.empty()) {
    if (type != RrType::kCname) {
      if (auto alias = records_.find({owner, RrType::kCname});
          alias != records_.end() && !alias->second.empty()) {
        *cnames = &alias->second;
      }
    }
    answer.status = Status::kNoData;
    answer.ttl = kDefaultTtl;
    return answer;
  }
  answer.status = Status::kNoError;
  answer.records = found->second;
  answer.ttl = found->second.front().ttl;
  for (const auto& record : found->second) answer.ttl = std::min(answer.ttl, record.ttl);
  return answer;
}

Answer ZoneResolver::answer(std::string_view name, RrType type) const {
  std::string current = normalize_name(name);
  std::lock_guard lock(mutex_);
  // RFC 1034 §3.6.2: a CNAME at the asked name (with no records of the asked type) is
  // followed within the zone, as a recursive resolver would; like wire::parse_response(),
  // a loop or a chain longer than kMaxCnameChain is an error.
  std::vector<std::string> visited{current};
  std::uint32_t chain_ttl = std::numeric_limits<std::uint32_t>::max();
  for (std::size_t hops = 0;; ++hops) {
    const std::vector<Record>* cnames = nullptr;
    Answer answer = answer_locked(current, type, &cnames);
    if (cnames == nullptr) {
      // The chain is only as good as its shortest-lived link.
      if (hops > 0 && answer.status == Status::kNoError) {
        answer.ttl = std::min(answer.ttl, chain_ttl);
      }
      return answer;
    }
    if (hops == kMaxCnameChain) {
      return Answer::failure(
          Status::kError, "CNAME chain longer than " + std::to_string(kMaxCnameChain) + " (zone)");
    }
    const Record& alias = cnames->front();
    chain_ttl = std::min(chain_ttl, alias.ttl);
    current = normalize_name(alias.data);
    if (std::find(visited.begin(), visited.end(), current) != visited.end()) {
      return Answer::failure(Status::kError, "CNAME loop at " + current + " (zone)");
    }
    visited.push_back(current);
  }
}

PendingAnswer ZoneResolver::start(std::string_view name, RrType type) {
  {
    std::lock_guard lock(mutex_);
    ++queries_[{normalize_name(name), type}];
    ++total_queries_;
  }
  return ready_answer(answer(name, type));
}

std::size_t ZoneResolver::query_count() const {
  std::lock_guard lock(mutex_);
  return total_queries_;
}

std::size_t ZoneResolver::query_count(std::string_view name, RrType type) const {
  std::lock_guard lock(mutex_);
  auto it = queries_.find({normalize_name(name), type});
  return it == queries_.end() ? 0 : it->second;
}

}  // namespace authmilter::dns
