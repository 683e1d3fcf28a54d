// Benchmarks of the parsers and writers every message goes through: the A-R writer and
// authserv-id reader (RFC 8601), address lists (RFC 5322 §3.4), the PRA (RFC 4407), the DMARC
// record and DKIM tag-list parsers, and the DNS wire parser (RFC 1035 §4).
#include <benchmark/benchmark.h>

#include <string>
#include <utility>
#include <vector>

#include "authmilter/dkim/tag_list.h"
#include "authmilter/dmarc/record.h"
#include "authmilter/dns/wire.h"
#include "authmilter/mail/address_list.h"
#include "authmilter/mail/auth_results.h"
#include "authmilter/mail/pra.h"
#include "bench_support.h"

namespace authmilter::bench {
namespace {

// The header of DESIGN §5's first example, with a second DKIM signature.
std::vector<mail::MethodResult> typical_results() {
  return {
      {"spf", "pass", "", "", {{"smtp.mailfrom", "alice@example.org"}}},
      {"dkim",
       "pass",
       "",
       "2048-bit key",
       {{"header.d", "example.org"},
        {"header.s", "rsa2048"},
        {"header.a", "rsa-sha256"},
        {"header.b", "AbCdEfGh"}}},
      {"dkim",
       "pass",
       "",
       "",
       {{"header.d", "example.org"},
        {"header.s", "ed25519"},
        {"header.a", "ed25519-sha256"},
        {"header.b", "XyZ01234"}}},
      {"dmarc", "pass", "", "p=reject sp=reject pct=100", {{"header.from", "example.org"}}},
  };
}

void BM_AuthResultsFormat(benchmark::State& state) {
  const std::vector<mail::MethodResult> results = typical_results();
  const std::string first = mail::format_authentication_results("mx.example.net", results);
  if (first.find("dmarc=pass") == std::string::npos) {
    state.SkipWithError("unexpected A-R header");
    return;
  }
  for (auto _ : state) {
    std::string header = mail::format_authentication_results("mx.example.net", results);
    benchmark::DoNotOptimize(header);
  }
}
BENCHMARK(BM_AuthResultsFormat);

void BM_AuthservIdOf(benchmark::State& state) {
  const std::string header =
      mail::format_authentication_results("mx.example.net", typical_results());
  if (mail::authserv_id_of(header) != "mx.example.net") {
    state.SkipWithError("authserv-id not read back");
    return;
  }
  for (auto _ : state) {
    std::optional<std::string> id = mail::authserv_id_of(header);
    benchmark::DoNotOptimize(id);
  }
}
BENCHMARK(BM_AuthservIdOf);

void run_address_list(benchmark::State& state, std::string_view value, std::size_t mailboxes) {
  const mail::AddressList first = mail::parse_address_list(value);
  if (!first.ok || first.mailboxes.size() != mailboxes) {
    state.SkipWithError(("unexpected parse: " + first.error).c_str());
    return;
  }
  for (auto _ : state) {
    mail::AddressList list = mail::parse_address_list(value);
    benchmark::DoNotOptimize(list);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(value.size()));
}

void BM_AddressListOneMailbox(benchmark::State& state) {
  run_address_list(state, "Alice Example <alice@example.org>", 1);
}
BENCHMARK(BM_AddressListOneMailbox);

// A To: line as mailing lists write them: quoted names, comments, a group, folding.
void BM_AddressListTenMailboxes(benchmark::State& state) {
  run_address_list(
      state,
      "\"Example, Bob\" <bob@example.net>, carol@example.net (Carol C.),\r\n"
      " Dave <dave@sub.example.net>, team: erin@example.com, \"frank x\"@example.com,\r\n"
      " Grace <grace@example.com>;, heidi@example.org, =?utf-8?q?Iv=C3=A1n?=\r\n"
      " <ivan@example.org>, \"Judy (J)\" <judy@example.org>, <kim@example.org>",
      10);
}
BENCHMARK(BM_AddressListTenMailboxes);

void BM_PraExtraction(benchmark::State& state) {
  const Message message = typical_message(0);
  std::vector<mail::HeaderField> headers;
  for (const auto& field : message.fields) {
    const std::size_t colon = field.find(':');
    headers.push_back({field.substr(0, colon), field.substr(colon + 1)});
  }
  const mail::Pra first = mail::extract_pra(headers);
  if (!first.ok || first.mailbox.address() != "alice@example.org") {
    state.SkipWithError(("unexpected PRA: " + first.error).c_str());
    return;
  }
  for (auto _ : state) {
    mail::Pra pra = mail::extract_pra(headers);
    benchmark::DoNotOptimize(pra);
  }
}
BENCHMARK(BM_PraExtraction);

void BM_DmarcRecordParse(benchmark::State& state) {
  constexpr std::string_view kRecord =
      "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=100; fo=1; "
      "rua=mailto:dmarc-reports@example.org,mailto:agg@reports.example.net!10m; "
      "ruf=mailto:forensics@example.org; ri=86400";
  const dmarc::Record first = dmarc::parse_record(kRecord);
  if (!first.valid || first.p != dmarc::Policy::kReject || first.rua.size() != 2) {
    state.SkipWithError(("unexpected record: " + first.error).c_str());
    return;
  }
  for (auto _ : state) {
    dmarc::Record record = dmarc::parse_record(kRecord);
    benchmark::DoNotOptimize(record);
  }
}
BENCHMARK(BM_DmarcRecordParse);

void BM_DkimTagList(benchmark::State& state) {
  const Message plain = typical_message(1024);
  const std::string field =
      dkim_sign(plain, "rsa-sha256", kDomain, kRsaSelector, rsa2048_key().get());
  const std::string_view value = std::string_view(field).substr(field.find(':') + 1);
  const dkim::TagList first = dkim::parse_tag_list(value);
  if (!first.error.empty() || first.find("b") == nullptr) {
    state.SkipWithError(("unexpected tag list: " + first.error).c_str());
    return;
  }
  for (auto _ : state) {
    dkim::TagList tags = dkim::parse_tag_list(value);
    benchmark::DoNotOptimize(tags);
  }
}
BENCHMARK(BM_DkimTagList);

// The reply carrying a 2048-bit DKIM key (two character-strings), as c-ares hands it over.
void BM_DnsWireParseDkimKeyReply(benchmark::State& state) {
  dns::ZoneResolver zone;
  load_bench_zone(zone);
  const std::string name = std::string(kRsaSelector) + "._domainkey." + std::string(kDomain);
  const std::vector<std::uint8_t> packet = dns::wire::encode_response(
      0x1234, name, dns::RrType::kTxt, zone.answer(name, dns::RrType::kTxt));
  const dns::Answer first = dns::wire::parse_response(packet, name, dns::RrType::kTxt, 0x1234);
  if (!first.has_records() || first.records[0].data.rfind("v=DKIM1", 0) != 0) {
    state.SkipWithError(("unexpected parse: " + first.detail).c_str());
    return;
  }
  for (auto _ : state) {
    dns::Answer answer = dns::wire::parse_response(packet, name, dns::RrType::kTxt, 0x1234);
    benchmark::DoNotOptimize(answer);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(packet.size()));
}
BENCHMARK(BM_DnsWireParseDkimKeyReply);

}  // namespace
}  // namespace authmilter::bench
