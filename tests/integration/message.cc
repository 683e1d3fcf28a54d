#include "message.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>

namespace authmilter::integration {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Drops RFC 5322 comments (nested parentheses, backslash escapes) outside quoted strings,
// replacing each with a space; keeps quoted strings intact.
std::string strip_comments(std::string_view s) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (depth == 0 && c == '"') {
      quoted = !quoted;
      out.push_back(c);
    } else if (quoted) {
      out.push_back(c);
      if (c == '\\' && i + 1 < s.size()) out.push_back(s[++i]);
    } else if (c == '(') {
      if (depth++ == 0) out.push_back(' ');
    } else if (depth > 0) {
      if (c == ')') --depth;
      if (c == '\\') ++i;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Splits on `sep` outside quoted strings.
std::vector<std::string> split_unquoted(std::string_view s, char sep) {
  std::vector<std::string> parts(1);
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '"') quoted = !quoted;
    if (quoted && c == '\\' && i + 1 < s.size()) {
      parts.back().push_back(c);
      parts.back().push_back(s[++i]);
      continue;
    }
    if (!quoted && c == sep) {
      parts.emplace_back();
    } else {
      parts.back().push_back(c);
    }
  }
  return parts;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  for (auto& part : split_unquoted(s, ' ')) {
    for (auto& w : split_unquoted(part, '\t')) {
      auto t = trim(w);
      if (!t.empty()) words.emplace_back(t);
    }
  }
  return words;
}

}  // namespace

std::vector<HeaderField> parse_headers(std::string_view message) {
  std::vector<HeaderField> fields;
  std::size_t pos = 0;
  while (pos < message.size()) {
    std::size_t eol = message.find('\n', pos);
    std::string_view line =
        message.substr(pos, eol == std::string_view::npos ? message.size() - pos : eol - pos);
    pos = eol == std::string_view::npos ? message.size() : eol + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    if ((line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
      fields.back().value += ' ';
      fields.back().value.append(trim(line));
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a field: ignore, as MTAs do
    fields.push_back(
        {std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
  }
  return fields;
}

std::vector<HeaderField> headers_named(const std::vector<HeaderField>& fields,
                                       std::string_view name) {
  std::vector<HeaderField> out;
  for (const auto& f : fields) {
    if (iequals(f.name, name)) out.push_back(f);
  }
  return out;
}

std::optional<std::size_t> index_of(const std::vector<HeaderField>& fields, std::string_view name) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (iequals(fields[i].name, name)) return i;
  }
  return std::nullopt;
}

std::string message_body(std::string_view message) {
  for (std::string_view sep : {std::string_view("\r\n\r\n"), std::string_view("\n\n")}) {
    auto at = message.find(sep);
    if (at != std::string_view::npos) return std::string(message.substr(at + sep.size()));
  }
  return {};
}

std::optional<std::string> ResInfo::property(std::string_view name) const {
  for (const auto& [k, v] : props) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

const ResInfo* AuthResults::find(std::string_view method) const {
  for (const auto& r : results) {
    if (iequals(r.method, method)) return &r;
  }
  return nullptr;
}

std::optional<AuthResults> parse_auth_results(std::string_view value) {
  std::string clean = strip_comments(value);
  auto parts = split_unquoted(clean, ';');
  AuthResults ar;
  auto id_words = split_words(parts.front());
  if (id_words.empty()) return std::nullopt;
  ar.authserv_id = lower(id_words.front());  // an optional version number may follow
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto words = split_words(parts[i]);
    if (words.empty()) continue;
    ResInfo info;
    auto eq = words.front().find('=');
    if (eq == std::string::npos) {
      info.method = lower(words.front());  // "none" (no results) or malformed
    } else {
      info.method = lower(std::string_view(words.front()).substr(0, eq));
      info.result = lower(std::string_view(words.front()).substr(eq + 1));
    }
    for (std::size_t w = 1; w < words.size(); ++w) {
      auto peq = words[w].find('=');
      if (peq == std::string::npos) continue;
      std::string v = words[w].substr(peq + 1);
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      info.props.emplace_back(lower(std::string_view(words[w]).substr(0, peq)), v);
    }
    ar.results.push_back(std::move(info));
  }
  return ar;
}

std::string make_message(std::string_view token, std::string_view from,
                         const std::vector<std::string>& extra_headers) {
  std::string m;
  for (const auto& h : extra_headers) m += h + "\r\n";
  m += "From: <" + std::string(from.empty() ? "mailer-daemon@spf-pass.example" : from) + ">\r\n";
  m += "To: <bob@test.example>\r\n";
  m += "Subject: integration " + std::string(token) + "\r\n";
  m += "Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n";
  m += "Message-ID: <" + std::string(token) + "@integration.test.example>\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=us-ascii\r\n";
  m += "\r\n";
  m += "Test message " + std::string(token) + ".\r\n";
  m += ".A line that starts with a dot survives dot-stuffing.\r\n";
  return m;
}

std::string unique_token(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

}  // namespace authmilter::integration
