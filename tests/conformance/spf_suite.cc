#include "spf_suite.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "authmilter/mail/auth_results.h"
#include "authmilter/spf/spf.h"

namespace authmilter::conformance {
namespace {

using dns::RrType;

constexpr std::string_view kAuthservId = "mx.conformance.test";
// What %{r} expands to (RFC 7208 §7.3); no suite case compares a text containing it.
constexpr std::string_view kReceiver = "receiver.conformance.test";
// ZoneResolver answers at once; the deadline only guards against a hang in the engine.
constexpr std::chrono::seconds kCheckDeadline{10};

// Every type a bare TIMEOUT entry can stand for.
constexpr RrType kAllTypes[] = {RrType::kA,   RrType::kAaaa, RrType::kMx,   RrType::kTxt,
                                RrType::kSpf, RrType::kPtr,  RrType::kCname};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
  });
  return text;
}

bool iequals(const std::string& a, const std::string& b) { return lower(a) == lower(b); }

// A scalar, or a list of scalars joined with ", " (spec: [4.3/1, 5/10/3]).
std::string scalar(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  if (!value || value.IsNull()) return {};
  if (!value.IsSequence()) return value.as<std::string>();
  std::string out;
  for (const YAML::Node& item : value) out += (out.empty() ? "" : ", ") + item.as<std::string>();
  return out;
}

bool is_word(const YAML::Node& node, const char* word) {
  return node.IsScalar() && node.as<std::string>() == word;
}

// TXT/SPF data: one string, or a list of strings (one RR of several character-strings).
std::vector<std::string> txt_strings(const YAML::Node& value) {
  std::vector<std::string> strings;
  if (value.IsSequence()) {
    for (const YAML::Node& part : value) strings.push_back(part.as<std::string>());
  } else {
    strings.push_back(value.as<std::string>());
  }
  return strings;
}

// Loads one name's records (see spf_suite.h for the semantics).
void load_name(const std::string& name, const YAML::Node& entries, dns::ZoneResolver& zone) {
  std::set<RrType> listed;     // types with records so far (a later bare TIMEOUT spares them)
  bool has_txt_entry = false;  // any TXT entry, even NONE: SPF records are not copied
  bool spf_timeout = false;    // `SPF: TIMEOUT` (copied to TXT like the records)
  bool bare_timeout = false;
  bool anything = false;
  std::vector<std::vector<std::string>> spf_records;
  if (entries && entries.IsSequence()) {
    for (const YAML::Node& entry : entries) {
      if (is_word(entry, "TIMEOUT")) {
        for (const RrType type : kAllTypes) {
          if (!listed.contains(type)) zone.set_error(name, type, dns::Status::kTimeout);
        }
        bare_timeout = true;
        anything = true;
        break;  // pyspf stops reading the name's records here
      }
      if (!entry.IsMap()) throw std::invalid_argument("unexpected entry at " + name);
      for (const auto& item : entry) {
        const std::string key = item.first.as<std::string>();
        const YAML::Node& value = item.second;
        RrType type{};
        if (!dns::parse_rr_type(key, type)) {
          throw std::invalid_argument("unknown record type " + key + " at " + name);
        }
        if (type == RrType::kTxt) has_txt_entry = true;
        if (is_word(value, "NONE")) continue;
        anything = true;
        if (is_word(value, "TIMEOUT")) {
          zone.set_error(name, type, dns::Status::kTimeout);
          if (type == RrType::kSpf) spf_timeout = true;
          continue;
        }
        listed.insert(type);
        switch (type) {
          case RrType::kTxt:
          case RrType::kSpf: {
            std::vector<std::string> strings = txt_strings(value);
            if (type == RrType::kSpf) spf_records.push_back(strings);
            zone.add_txt(name, std::move(strings), dns::ZoneResolver::kDefaultTtl, type);
            break;
          }
          case RrType::kMx:
            if (!value.IsSequence() || value.size() != 2) {
              throw std::invalid_argument("MX needs [preference, name] at " + name);
            }
            zone.add(name, type, value[1].as<std::string>(), value[0].as<std::uint16_t>());
            break;
          default:
            zone.add(name, type, value.as<std::string>());
            break;
        }
      }
    }
  }
  // pyspf appends the TXT copies of SPF records after all entries, i.e. after a bare TIMEOUT.
  if (!has_txt_entry && !bare_timeout) {
    for (auto& strings : spf_records) {
      zone.add_txt(name, std::move(strings), dns::ZoneResolver::kDefaultTtl, RrType::kTxt);
    }
    if (spf_timeout) zone.set_error(name, RrType::kTxt, dns::Status::kTimeout);
  }
  if (!anything) {
    // A listed name exists even without records: every type answers NODATA.
    for (const RrType type : kAllTypes) zone.set_error(name, type, dns::Status::kNoData);
  }
}

std::shared_ptr<dns::ZoneResolver> load_zone(const YAML::Node& zonedata) {
  auto zone = std::make_shared<dns::ZoneResolver>();
  if (!zonedata || zonedata.IsNull()) return zone;
  if (!zonedata.IsMap()) throw std::invalid_argument("zonedata is not a map");
  for (const auto& item : zonedata) load_name(item.first.as<std::string>(), item.second, *zone);
  return zone;
}

// pyspf's DNSLookup: any name beginning with "error." times out. Wraps the scenario's zone.
class SuiteResolver final : public dns::Resolver {
 public:
  explicit SuiteResolver(dns::ZoneResolver& zone) : zone_(zone) {}
  dns::PendingAnswer start(std::string_view name, RrType type) override {
    if (iequals(std::string(name.substr(0, 6)), "error.")) {
      return dns::ready_answer(dns::Answer::failure(dns::Status::kTimeout, "error. name"));
    }
    return zone_.start(name, type);
  }

 private:
  dns::ZoneResolver& zone_;
};

std::string joined(const std::vector<std::string>& tokens) {
  std::string out;
  for (const std::string& token : tokens) out += (out.empty() ? "" : "|") + token;
  return out;
}

// The property value `property`=... in an Authentication-Results header value, unquoted.
std::optional<std::string> property_value(const std::string& header, const std::string& property) {
  const std::string key = property + "=";
  const std::size_t at = header.find(key);
  if (at == std::string::npos) return std::nullopt;
  std::size_t i = at + key.size();
  std::string value;
  if (i < header.size() && header[i] == '"') {
    for (++i; i < header.size() && header[i] != '"'; ++i) {
      if (header[i] == '\\' && i + 1 < header.size()) ++i;
      value.push_back(header[i]);
    }
    return value;
  }
  while (i < header.size() && header[i] != ' ' && header[i] != ';' && header[i] != '\n' &&
         header[i] != '\t') {
    value.push_back(header[i++]);
  }
  return value;
}

// Builds the A-R resinfo the way the milter does (DESIGN.md: spf=<token> smtp.mailfrom=<the
// identity checked>, or smtp.helo=<HELO> for the HELO identity), renders it with the real
// writer and reads it back. Returns a problem, or an empty string.
std::string check_auth_results(const spf::CheckResult& result, const SpfCase& test_case,
                               std::string* header_out = nullptr) {
  mail::MethodResult method;
  method.method = "spf";
  method.result = std::string(spf::to_token(result.result));
  method.comment = result.comment;
  const bool helo = result.identity == spf::Identity::kHelo;
  const std::string property = helo ? "smtp.helo" : "smtp.mailfrom";
  const std::string expected_value = helo ? test_case.helo : result.checked;
  method.properties.emplace_back(property, expected_value);
  const std::string header = mail::format_authentication_results(kAuthservId, {method});
  if (header_out != nullptr) *header_out = header;
  const std::string token = "spf=" + method.result;
  const std::size_t at = header.find(token);
  if (at == std::string::npos ||
      (at + token.size() < header.size() && header[at + token.size()] != ' ' &&
       header[at + token.size()] != '\n')) {
    return "Authentication-Results lacks \"" + token + "\": " + header;
  }
  const std::optional<std::string> value = property_value(header, property);
  if (!value) return "Authentication-Results lacks " + property + "=: " + header;
  if (*value != expected_value) {
    return "Authentication-Results has " + property + "=" + *value + ", expected " + expected_value;
  }
  if (mail::authserv_id_of(header) != std::string(kAuthservId)) {
    return "Authentication-Results does not read back as ours: " + header;
  }
  return {};
}

spf::CheckResult run_check(const SpfCase& test_case, spf::Identity identity) {
  SuiteResolver resolver(*test_case.zone);
  spf::Checker checker(resolver, spf::CheckerOptions{std::string(kReceiver)});
  spf::Request request;
  request.client_ip = test_case.host;
  request.helo = test_case.helo;
  request.sender = identity == spf::Identity::kHelo ? std::string() : test_case.mailfrom;
  request.identity = identity;
  return checker.check(request, std::chrono::steady_clock::now() + kCheckDeadline);
}

// RFC 7208 answers for RFC 4408 cases, and known deviations (none); see docs/CONFORMANCE.md.
// The RFC 4408 suite accepts several answers for these cases (same inputs and zone data as
// the RFC 7208 suite's case of the same name); RFC 7208 settled on one, and we must give it.
const std::map<std::string, Override>& overrides() {
  constexpr const char* kTxtOnly =
      "RFC 7208 §3.1/§4.4: only TXT records are looked up (type SPF is no longer used)";
  static const std::map<std::string, Override> table = {
      {"rfc4408/txtonly", {{"fail"}, kTxtOnly}},
      {"rfc4408/spfonly", {{"none"}, kTxtOnly}},
      {"rfc4408/spftimeout", {{"fail"}, kTxtOnly}},
      {"rfc4408/txttimeout", {{"temperror"}, kTxtOnly}},
      {"rfc4408/nospftxttimeout", {{"temperror"}, kTxtOnly}},
      {"rfc4408/spfoverride", {{"fail"}, kTxtOnly}},
      {"rfc4408/multitxt1", {{"permerror"}, "RFC 7208 §4.5: two v=spf1 TXT records"}},
      {"rfc4408/multispf2", {{"pass"}, kTxtOnly}},
      {"rfc4408/exists-dnserr",
       {{"temperror"}, "RFC 7208 §5/§2.6.6: a DNS error (timeout) in a mechanism is temperror"}},
      {"rfc4408/cidr6-0-ip4",
       {{"neutral"}, "RFC 7208 §5: an IPv4 client never matches ip6 (not even ip6:::/0)"}},
      {"rfc4408/cidr6-ip4",
       {{"neutral"}, "RFC 7208 §5: an IPv4-mapped IPv6 client is an IPv4 client"}},
      {"rfc4408/mx-limit", {{"permerror"}, "RFC 7208 §4.6.4: more than 10 MX names is permerror"}},
  };
  return table;
}

std::string suite_path(const std::string& file) {
  return std::string(AUTHMILTER_TEST_DATA_DIR) + "/spf-openspf/" + file;
}

// The cases of one scenario (a YAML document), all sharing one zone.
void add_scenario(const std::string& name, const YAML::Node& document,
                  std::vector<SpfCase>& cases) {
  if (!document || !document.IsMap()) return;
  const std::string scenario = scalar(document, "description");
  std::shared_ptr<dns::ZoneResolver> zone;
  std::string zone_error;
  try {
    zone = load_zone(document["zonedata"]);
  } catch (const std::exception& e) {
    zone = std::make_shared<dns::ZoneResolver>();
    zone_error = e.what();
  }
  const YAML::Node tests = document["tests"];
  if (!tests || !tests.IsMap()) return;
  for (const auto& item : tests) {
    SpfCase test_case;
    test_case.suite = name;
    test_case.scenario = scenario;
    test_case.id = item.first.as<std::string>();
    test_case.zone = zone;
    test_case.zone_error = zone_error;
    try {
      const YAML::Node& test = item.second;
      test_case.spec = scalar(test, "spec");
      test_case.helo = scalar(test, "helo");
      test_case.host = scalar(test, "host");
      test_case.mailfrom = scalar(test, "mailfrom");
      const YAML::Node result = test["result"];
      if (result && result.IsSequence()) {
        for (const YAML::Node& token : result) test_case.results.push_back(token.as<std::string>());
      } else if (result) {
        test_case.results.push_back(result.as<std::string>());
      }
      if (test["explanation"]) test_case.explanation = scalar(test, "explanation");
    } catch (const std::exception& e) {
      test_case.zone_error = std::string("bad test case: ") + e.what();
    }
    cases.push_back(std::move(test_case));
  }
}

// The file's text cut at its "---" lines (YAML document markers), cached per process.
const std::vector<std::string>& file_parts(const std::string& file) {
  static std::map<std::string, std::vector<std::string>> cache;
  auto it = cache.find(file);
  if (it != cache.end()) return it->second;
  std::vector<std::string> parts(1);
  std::ifstream in(suite_path(file), std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    std::string trimmed = line;
    while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\r'))
      trimmed.pop_back();
    if (trimmed == "---") {
      parts.emplace_back();
      continue;
    }
    parts.back() += line;
    parts.back() += '\n';
  }
  return cache.emplace(file, std::move(parts)).first->second;
}

std::string unquote(std::string text) {
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.size() >= 2 && (text.front() == '"' || text.front() == '\'') &&
      text.back() == text.front()) {
    text = text.substr(1, text.size() - 2);
  }
  return text;
}

}  // namespace

SpfSuite load_spf_suite(const std::string& name, const std::string& file) {
  SpfSuite suite;
  suite.name = name;
  const std::string path = suite_path(file);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAllFromFile(path);
  } catch (const std::exception& e) {
    suite.error = path + ": " + e.what();
    return suite;
  }
  for (const YAML::Node& document : documents) add_scenario(name, document, suite.cases);
  if (suite.cases.empty() && suite.error.empty()) suite.error = path + ": no test cases";
  return suite;
}

void PrintTo(const SpfCaseRef& ref, std::ostream* out) {
  *out << ref.suite << " " << ref.scenario << " / " << ref.id;
}

std::vector<SpfCaseRef> scan_spf_suite(const std::string& name, const std::string& file) {
  std::vector<SpfCaseRef> refs;
  const std::vector<std::string>& parts = file_parts(file);
  for (std::size_t part = 0; part < parts.size(); ++part) {
    std::istringstream in(parts[part]);
    std::string line;
    std::string scenario;
    bool in_tests = false;
    std::vector<std::string> ids;
    while (std::getline(in, line)) {
      if (line.empty() || line.front() == '#') continue;
      if (line.front() != ' ') {  // a top-level key
        in_tests = line.rfind("tests:", 0) == 0;
        if (line.rfind("description:", 0) == 0) scenario = unquote(line.substr(12));
        continue;
      }
      // "  <id>:" directly under tests: (deeper lines are the case's keys)
      if (!in_tests || line.size() < 4 || line[1] != ' ' || line[2] == ' ' || line[2] == '#') {
        continue;
      }
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos ||
          line.find_first_not_of(' ', colon + 1) != std::string::npos) {
        continue;
      }
      ids.push_back(unquote(line.substr(2, colon - 2)));
    }
    while (!scenario.empty() && scenario.front() == ' ') scenario.erase(0, 1);
    for (const std::string& id : ids) refs.push_back(SpfCaseRef{name, file, part, scenario, id});
  }
  return refs;
}

SpfCase load_spf_case(const SpfCaseRef& ref) {
  // One parsed scenario per process is enough: CTest runs one case per process.
  static std::map<std::pair<std::string, std::size_t>, std::vector<SpfCase>> cache;
  const auto key = std::make_pair(ref.file, ref.part);
  auto it = cache.find(key);
  if (it == cache.end()) {
    std::vector<SpfCase> cases;
    const std::vector<std::string>& parts = file_parts(ref.file);
    try {
      if (ref.part < parts.size()) add_scenario(ref.suite, YAML::Load(parts[ref.part]), cases);
    } catch (const std::exception& e) {
      SpfCase broken;
      broken.zone_error = suite_path(ref.file) + ": " + e.what();
      cases.push_back(broken);
    }
    it = cache.emplace(key, std::move(cases)).first;
  }
  for (const SpfCase& test_case : it->second) {
    if (test_case.id == ref.id) return test_case;
  }
  SpfCase missing;
  missing.suite = ref.suite;
  missing.scenario = ref.scenario;
  missing.id = ref.id;
  missing.zone = std::make_shared<dns::ZoneResolver>();
  missing.zone_error = it->second.size() == 1 && !it->second.front().zone_error.empty()
                           ? it->second.front().zone_error
                           : "case not found by the YAML parser in part " +
                                 std::to_string(ref.part) + " of " + ref.file;
  return missing;
}

const Override* find_override(const SpfCase& test_case) {
  const auto it = overrides().find(test_case.suite + "/" + test_case.id);
  return it == overrides().end() ? nullptr : &it->second;
}

CaseOutcome run_spf_case(const SpfCase& test_case) {
  CaseOutcome outcome;
  const std::string where = test_case.suite + " \"" + test_case.scenario + "\" " + test_case.id +
                            " (RFC section " + test_case.spec + ")";
  if (!test_case.zone_error.empty()) {
    outcome.message = where + ": cannot load: " + test_case.zone_error;
    return outcome;
  }
  std::vector<std::string> acceptable = test_case.results;
  const Override* override = find_override(test_case);
  if (override != nullptr && override->results.empty()) {
    outcome.verdict = CaseOutcome::Verdict::kSkipped;
    outcome.message = "known deviation: " + override->reason;
    return outcome;
  }
  if (override != nullptr) acceptable = override->results;
  if (acceptable.empty()) {
    outcome.message = where + ": the suite gives no result";
    return outcome;
  }

  const bool helo_check = test_case.mailfrom.empty();
  const spf::CheckResult result =
      run_check(test_case, helo_check ? spf::Identity::kHelo : spf::Identity::kMailFrom);
  outcome.result = std::string(spf::to_token(result.result));
  outcome.explanation = result.explanation;
  std::vector<std::string> problems;
  if (std::find(acceptable.begin(), acceptable.end(), outcome.result) == acceptable.end()) {
    problems.push_back("result " + outcome.result + ", expected " + joined(acceptable) + " (" +
                       result.comment + ")");
  }
  if (test_case.explanation && result.result == spf::Result::kFail) {
    const std::string expected = iequals(*test_case.explanation, "DEFAULT")
                                     ? std::string()  // no exp= text: our default is none
                                     : *test_case.explanation;
    if (!iequals(result.explanation, expected)) {
      problems.push_back("explanation \"" + result.explanation + "\", expected \"" + expected +
                         "\"");
    }
  }
  if (helo_check) {
    // RFC 7208 §2.4: MAIL FROM <> is checked as postmaster@HELO, the same evaluation.
    const spf::CheckResult null_sender = run_check(test_case, spf::Identity::kMailFrom);
    if (null_sender.result != result.result) {
      problems.push_back("MAIL FROM <> gives " + std::string(spf::to_token(null_sender.result)) +
                         " but HELO gives " + outcome.result);
    }
    if (const std::string problem = check_auth_results(null_sender, test_case); !problem.empty()) {
      problems.push_back(problem);
    }
  }
  if (const std::string problem = check_auth_results(result, test_case, &outcome.auth_results);
      !problem.empty()) {
    problems.push_back(problem);
  }
  if (problems.empty()) {
    outcome.verdict = CaseOutcome::Verdict::kPassed;
    return outcome;
  }
  outcome.message = where + " [helo=" + test_case.helo + " host=" + test_case.host +
                    " mailfrom=" + test_case.mailfrom + "]:";
  for (const std::string& problem : problems) outcome.message += "\n  " + problem;
  return outcome;
}

std::string test_name_part(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum) {
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c);
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "x" : out;
}

}  // namespace authmilter::conformance
