// Fuzz target: SPF records and macro-strings through our layer into libspf2 (spf/spf.h over
// src/spf/dns_layer.h and spf/record_lint.h): libspf2 compiles the records and exp= texts our
// layer passes on and expands their macros, as in the daemon, over in-memory DNS.
//
// Input: fields split at 0x1e, all optional:
//   0  the record of example.org ("v=spf1 " is put in front unless it starts with "v=spf1")
//   1  the exp= text at exp.example.org (TXT, cut into 255-octet strings)
//   2  the sender's local-part (empty: "alice"), the sender being <local>@example.org
//   3  the HELO (empty: "mail.example.org")
//   4  the record of inc.example.org (for include:inc.example.org / redirect=inc.example.org)
//   The client is 192.0.2.1, or 2001:db8::1 when field 0 has an odd length. The zone also has
//   addresses, MX and PTR names for the usual mechanisms, and wildcards under example.org and
//   example.net, so exists: and a: of expanded names find something.
// Checks per input: MAIL FROM at example.org (the record, with field 1 as its exp= text when
//   it names exp.example.org), and MAIL FROM at fail.example.org ("v=spf1 -all
//   exp=exp.example.org") when field 1 is not empty, so every exp= text is compiled and
//   expanded by libspf2.
// Invariants (RFC 7208): a printable record our lint refuses is permerror (§4.6); the
//   fail.example.org check is fail whatever the explanation text (§6.2: a bad text only
//   means no explanation); an explanation only with fail, at most kMaxExplanationLength
//   octets, comments and explanations without controls. Besides: no crash, no sanitizer
//   report, no abort from libspf2 (its stack protector shows stack overflows there).
// AUTHMILTER_FUZZ_DEBUG=1 in the environment prints each result.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/dns/resolver.h"
#include "authmilter/dns/zone_resolver.h"
#include "authmilter/spf/record_lint.h"
#include "authmilter/spf/spf.h"
#include "authmilter/util/ascii.h"
#include "fuzz_support.h"

namespace {

using namespace authmilter;
using fuzz::printable;

// "v=spf1" in any case, alone or followed by a space (RFC 7208 §4.5).
bool starts_with_spf1(std::string_view text) {
  constexpr std::string_view kVersion = "v=spf1";
  return util::istarts_with_ascii(text, kVersion) &&
         (text.size() == kVersion.size() || text[kVersion.size()] == ' ');
}

std::string as_record(std::string_view text) {
  return starts_with_spf1(text) ? std::string(text) : "v=spf1 " + std::string(text);
}

std::vector<std::string> txt_strings(std::string_view text) {
  std::vector<std::string> strings;
  for (std::size_t i = 0; i < text.size(); i += 255) strings.emplace_back(text.substr(i, 255));
  if (strings.empty()) strings.emplace_back();
  return strings;
}

// The zone that is the same for every input. Built anew every kFixedZoneUses inputs: a
// ZoneResolver counts the queries per name, which would grow without bound over millions of
// inputs asking random names.
std::unique_ptr<dns::ZoneResolver> build_fixed_zone() {
  auto zone = std::make_unique<dns::ZoneResolver>();
  zone->load(R"(
example.org A 192.0.2.1
example.org AAAA 2001:db8::1
example.org MX 10 mx.example.org
mx.example.org A 192.0.2.1
mx.example.org AAAA 2001:db8::1
mail.example.org A 192.0.2.1
1.2.0.192.in-addr.arpa PTR mail.example.org
*.example.org A 127.0.0.2
*.example.net A 127.0.0.2
fail.example.org TXT "v=spf1 -all exp=exp.example.org"
)");
  // 2001:db8::1 reversed in nibbles (RFC 3596 §2.5).
  std::string ip6_reverse = "1.";
  for (int i = 0; i < 23; ++i) ip6_reverse += "0.";
  zone->add(ip6_reverse + "8.b.d.0.1.0.0.2.ip6.arpa", dns::RrType::kPtr, "mail.example.org");
  return zone;
}

dns::ZoneResolver& fixed_zone() {
  constexpr unsigned kFixedZoneUses = 4096;
  static std::unique_ptr<dns::ZoneResolver> zone;
  static unsigned uses = 0;
  if (!zone || ++uses % kFixedZoneUses == 0) zone = build_fixed_zone();
  return *zone;
}

// The input's TXT records at example.org, exp.example.org and inc.example.org; every other
// question goes to the fixed zone (building a whole zone per input would halve the speed).
class InputZone final : public dns::Resolver {
 public:
  dns::PendingAnswer start(std::string_view name, dns::RrType type) override {
    const std::string normalized = dns::normalize_name(name);
    const bool ours = type == dns::RrType::kTxt &&
                      (normalized == "example.org" || normalized == "exp.example.org" ||
                       normalized == "inc.example.org");
    return ours ? input.start(name, type) : fixed->start(name, type);
  }
  dns::ZoneResolver input;
  dns::ZoneResolver* fixed = &fixed_zone();
};

void check_result(const spf::CheckResult& result) {
  FUZZ_CHECK(!fuzz::has_control(result.comment));
  FUZZ_CHECK(!fuzz::has_control(result.explanation));
  FUZZ_CHECK(result.explanation.size() <= spf::kMaxExplanationLength);
  FUZZ_CHECK(result.explanation.empty() || result.result == spf::Result::kFail);
  if (std::getenv("AUTHMILTER_FUZZ_DEBUG") != nullptr) {
    std::fprintf(stderr, "%s: %s (%s) exp=\"%s\"\n", result.checked.c_str(),
                 std::string(spf::to_token(result.result)).c_str(), result.comment.c_str(),
                 result.explanation.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> fields =
      fuzz::split(fuzz::as_text(data, size), fuzz::kRecordSeparator);
  auto field = [&fields](std::size_t i) { return i < fields.size() ? fields[i] : ""; };
  const std::string record = as_record(field(0));
  const std::string_view explanation = field(1);
  const std::string local = field(2).empty() ? "alice" : std::string(field(2));
  const std::string helo = field(3).empty() ? "mail.example.org" : std::string(field(3));
  const std::string client = field(0).size() % 2 == 0 ? "192.0.2.1" : "2001:db8::1";

  InputZone zone;
  zone.input.add_txt("example.org", txt_strings(record));
  zone.input.add_txt("exp.example.org", txt_strings(explanation));
  if (fields.size() > 4) {
    zone.input.add_txt("inc.example.org", txt_strings(as_record(field(4))));
  }

  const spf::Checker checker(zone, spf::CheckerOptions{"mx.example.net"});
  const dns::Deadline deadline = dns::Clock::now() + std::chrono::seconds(30);

  const spf::CheckResult result = checker.check(
      spf::Request{client, helo, local + "@example.org", spf::Identity::kMailFrom}, deadline);
  check_result(result);
  // A sender with controls or over kMaxSenderLength is "none" before any record is read.
  const bool sender_checked = !fuzz::has_control(local) &&
                              local.size() + sizeof("@fail.example.org") <= spf::kMaxSenderLength;
  if (sender_checked && printable(record) && !spf::prepare_record(record).problem.empty()) {
    FUZZ_CHECK(result.result == spf::Result::kPermError);
  }

  if (sender_checked && !explanation.empty()) {
    const spf::CheckResult failed = checker.check(
        spf::Request{client, helo, local + "@fail.example.org", spf::Identity::kMailFrom},
        deadline);
    check_result(failed);
    FUZZ_CHECK(failed.result == spf::Result::kFail);
  }
  return 0;
}
