#include "authmilter/dmarc/record.h"
#include "authmilter/util/ascii.h"

#include <array>
#include <cstdint>

namespace authmilter::dmarc {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 6376 §3.2 tag-name: ALPHA *ALNUMPUNC (ALNUMPUNC = ALPHA / DIGIT / "_").
bool valid_tag_name(std::string_view name) {
  if (name.empty() || !is_alpha(name.front())) return false;
  for (const char c : name) {
    if (!is_alpha(c) && !is_digit(c) && c != '_') return false;
  }
  return true;
}

// RFC 6376 §3.2 tag-value: VALCHARs (%x21-3A / %x3C-7E) with inner WSP; 8-bit, controls
// and NUL make it invalid.
bool valid_tag_value(std::string_view value) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (is_space(c)) continue;
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

struct Split {
  bool has_equals = false;
  std::string_view name;
  std::string_view value;
};

Split split_spec(std::string_view spec) {
  Split out;
  const std::size_t eq = spec.find('=');
  if (eq == std::string_view::npos) return out;
  out.has_equals = true;
  out.name = trim(spec.substr(0, eq));
  out.value = trim(spec.substr(eq + 1));
  return out;
}

std::optional<Policy> parse_policy(std::string_view v) {
  if (util::iequals_ascii(v, "none")) return Policy::kNone;
  if (util::iequals_ascii(v, "quarantine")) return Policy::kQuarantine;
  if (util::iequals_ascii(v, "reject")) return Policy::kReject;
  return std::nullopt;
}

std::optional<Alignment> parse_alignment(std::string_view v) {
  if (util::iequals_ascii(v, "r")) return Alignment::kRelaxed;
  if (util::iequals_ascii(v, "s")) return Alignment::kStrict;
  return std::nullopt;
}

// dmarc-percent = "pct" *WSP "=" *WSP 1*3DIGIT, and a percentage.
std::optional<int> parse_pct(std::string_view v) {
  if (v.empty() || v.size() > 3) return std::nullopt;
  int n = 0;
  for (const char c : v) {
    if (!is_digit(c)) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > 100) return std::nullopt;
  return n;
}

// Splits on `sep`, trimming WSP around each item; false when an item is empty.
template <class Check>
bool every_item(std::string_view v, char sep, Check check) {
  if (v.empty()) return false;
  while (true) {
    const std::size_t at = v.find(sep);
    const std::string_view item = trim(v.substr(0, at));
    if (item.empty() || !check(item)) return false;
    if (at == std::string_view::npos) return true;
    v.remove_prefix(at + 1);
  }
}

// dmarc-fo = ("0" / "1" / "d" / "s") *(*WSP ":" *WSP ("0" / "1" / "d" / "s")).
bool valid_fo(std::string_view v) {
  return every_item(v, ':', [](std::string_view item) {
    return item.size() == 1 && std::string_view("01dsDS").find(item[0]) != std::string_view::npos;
  });
}

// dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ] (RFC 9989: obs-dmarc-uri), for the
// schemes a report can go to: mailto: with local@domain, http(s): with an authority.
bool valid_report_uri(std::string_view uri) {
  const std::size_t bang = uri.rfind('!');
  if (bang != std::string_view::npos) {
    std::string_view size = uri.substr(bang + 1);
    uri = uri.substr(0, bang);
    if (!size.empty() && std::string_view("kmgtKMGT").find(size.back()) != std::string_view::npos) {
      size.remove_suffix(1);
    }
    if (size.empty()) return false;
    for (const char c : size) {
      if (!is_digit(c)) return false;
    }
  }
  for (const char c : uri) {
    if (is_space(c)) return false;
  }
  const std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view scheme = uri.substr(0, colon);
  const std::string_view rest = uri.substr(colon + 1);
  if (util::iequals_ascii(scheme, "mailto")) {
    const std::size_t at = rest.rfind('@');
    return at != std::string_view::npos && at > 0 && at + 1 < rest.size() &&
           rest.substr(at + 1).find('/') == std::string_view::npos;
  }
  if (util::iequals_ascii(scheme, "http") || util::iequals_ascii(scheme, "https")) {
    return rest.size() > 2 && rest.substr(0, 2) == "//" && rest[2] != '/';
  }
  return false;
}

bool valid_report_uri_list(std::string_view v) { return every_item(v, ',', valid_report_uri); }

std::optional<Psd> parse_psd(std::string_view v) {
  if (util::iequals_ascii(v, "y")) return Psd::kYes;
  if (util::iequals_ascii(v, "n")) return Psd::kNo;
  if (util::iequals_ascii(v, "u")) return Psd::kUnspecified;
  return std::nullopt;
}

std::optional<bool> parse_yorn(std::string_view v) {
  if (util::iequals_ascii(v, "y")) return true;
  if (util::iequals_ascii(v, "n")) return false;
  return std::nullopt;
}

// ri and rf are RFC 7489 tags RFC 9989 removed: unknown now, ignored without a check.
enum Tag { kV, kP, kSp, kNp, kPsd, kT, kAdkim, kAspf, kPct, kRua, kRuf, kFo, kTagCount };
constexpr std::array<std::string_view, kTagCount> kTagNames = {
    "v", "p", "sp", "np", "psd", "t", "adkim", "aspf", "pct", "rua", "ruf", "fo"};

int tag_of(std::string_view name) {
  for (std::size_t i = 0; i < kTagNames.size(); ++i) {
    if (util::iequals_ascii(name, kTagNames[i])) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

std::string_view to_token(Policy policy) {
  switch (policy) {
    case Policy::kNone:
      return "none";
    case Policy::kQuarantine:
      return "quarantine";
    case Policy::kReject:
      return "reject";
  }
  return "none";
}

std::string_view to_token(Psd psd) {
  switch (psd) {
    case Psd::kYes:
      return "y";
    case Psd::kNo:
      return "n";
    case Psd::kUnspecified:
      return "u";
  }
  return "u";
}

std::string_view to_token(Alignment alignment) {
  return alignment == Alignment::kStrict ? "s" : "r";
}

bool is_dmarc_record(std::string_view txt) {
  const std::size_t semi = txt.find(';');
  const Split first = split_spec(txt.substr(0, semi));
  // RFC 9989 "Formal Definition": dmarc-version = "v" equals %s"DMARC1" — the tag name in
  // any case (RFC 5234 literals), the value case-sensitive ("v" tag: "The tag value is case
  // sensitive").
  return first.has_equals && util::iequals_ascii(first.name, "v") && first.value == "DMARC1";
}

Record parse_record(std::string_view txt) {
  Record record;
  if (txt.size() > kMaxRecordLength) {
    record.error = "record longer than " + std::to_string(kMaxRecordLength) + " octets";
    return record;
  }
  if (!is_dmarc_record(txt)) {
    record.error = "record does not start with v=DMARC1";
    return record;
  }
  std::array<int, kTagCount> seen{};
  std::array<std::string_view, kTagCount> value{};
  std::array<bool, kTagCount> bad{};
  bool first = true;
  while (true) {
    const std::size_t semi = txt.find(';');
    const std::string_view spec = trim(txt.substr(0, semi));
    if (first) {
      first = false;  // v=DMARC1, checked above
    } else if (!spec.empty()) {
      const Split s = split_spec(spec);
      if (!s.has_equals || !valid_tag_name(s.name)) {
        ++record.syntax_errors;
      } else if (const int tag = tag_of(s.name); tag >= 0) {
        // A repeated tag is a syntax error (each appears at most once in the §6.4 ABNF), and
        // so is v= anywhere but first.
        if (++seen[static_cast<std::size_t>(tag)] > 1 || tag == kV) {
          bad[static_cast<std::size_t>(tag)] = true;
        }
        value[static_cast<std::size_t>(tag)] = s.value;
        if (!valid_tag_value(s.value)) bad[static_cast<std::size_t>(tag)] = true;
      }
    }
    if (semi == std::string_view::npos) break;
    txt.remove_prefix(semi + 1);
  }

  auto present = [&](Tag t) { return seen[t] > 0; };
  auto usable = [&](Tag t) { return present(t) && !bad[t]; };
  auto drop = [&](Tag t) { record.ignored.emplace_back(kTagNames[t]); };

  std::optional<Policy> p = usable(kP) ? parse_policy(value[kP]) : std::nullopt;
  std::optional<Policy> sp = usable(kSp) ? parse_policy(value[kSp]) : std::nullopt;
  std::optional<Policy> np = usable(kNp) ? parse_policy(value[kNp]) : std::nullopt;
  // A bad, repeated or unparsable value is dropped; `out` keeps its default (§6.3).
  auto take = [&](Tag t, auto parse, auto& out) {
    if (!present(t)) return;
    decltype(parse(value[t])) parsed;
    if (!bad[t]) parsed = parse(value[t]);
    if (parsed) {
      out = *parsed;
    } else {
      drop(t);
    }
  };
  take(kAdkim, parse_alignment, record.adkim);
  take(kAspf, parse_alignment, record.aspf);
  take(kPct, parse_pct, record.pct);
  take(kPsd, parse_psd, record.psd);
  take(kT, parse_yorn, record.t);
  if (usable(kRua)) {
    // Each URI on its own: one bad URI does not cost the good ones (§6.3 "discarded").
    std::string_view list = value[kRua];
    bool all_good = true;
    while (true) {
      const std::size_t comma = list.find(',');
      const std::string_view uri = trim(list.substr(0, comma));
      if (valid_report_uri(uri)) {
        record.rua.emplace_back(uri);
      } else {
        all_good = false;
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    if (!all_good) drop(kRua);
  } else if (present(kRua)) {
    drop(kRua);
  }
  // Tags evaluation does not use are only checked, so a bad one shows in `ignored`.
  auto check = [&](Tag t, bool (*valid)(std::string_view)) {
    if (present(t) && (bad[t] || !valid(value[t]))) drop(t);
  };
  check(kRuf, valid_report_uri_list);
  check(kFo, valid_fo);
  if (present(kV)) drop(kV);

  std::string problem;
  if (!present(kP)) {
    problem = "no p= tag";
  } else if (!p) {
    problem = seen[kP] > 1 ? "repeated p= tag" : "invalid p= value";
  } else if (present(kSp) && !sp) {
    problem = seen[kSp] > 1 ? "repeated sp= tag" : "invalid sp= value";
  } else if (present(kNp) && !np) {
    problem = seen[kNp] > 1 ? "repeated np= tag" : "invalid np= value";
  }
  if (problem.empty()) {
    record.valid = true;
    record.p = *p;
    record.sp = sp;
    record.np = np;
    return record;
  }
  if (!record.rua.empty()) {
    // RFC 9989 "DMARC Policy Discovery": act as if a record with "p=none" was retrieved.
    record.valid = true;
    record.p = Policy::kNone;
    record.sp.reset();
    record.np.reset();
    record.p_none_for_rua = true;
    if (present(kP) && !p) drop(kP);
    if (present(kSp) && !sp) drop(kSp);
    if (present(kNp) && !np) drop(kNp);
    return record;
  }
  record.error = problem;  // "the Mail Receiver applies no DMARC processing"
  return record;
}

std::string Record::canonical_text() const {
  std::string text = "v=DMARC1; p=";
  text += to_token(p);
  if (sp) {
    text += "; sp=";
    text += to_token(*sp);
  }
  if (np) {
    text += "; np=";
    text += to_token(*np);
  }
  text += "; adkim=";
  text += to_token(adkim);
  text += "; aspf=";
  text += to_token(aspf);
  if (psd != Psd::kUnspecified) {
    text += "; psd=";
    text += to_token(psd);
  }
  if (t) text += *t ? "; t=y" : "; t=n";
  if (pct != 100) {
    text += "; pct=";
    text += std::to_string(pct);
  }
  return text;
}

}  // namespace authmilter::dmarc
