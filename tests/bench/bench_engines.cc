// Benchmarks of the check engines over in-memory DNS (ZoneResolver): SPF, DKIM, DMARC.
//
// Every benchmark checks its result once before it is timed and stops with an error when the
// engine does not give the expected result, so a figure always measures the intended path.
// ZoneResolver answers at once, so these are the engines' own CPU costs; in production each
// DNS lookup adds a round trip to the resolver (or a cache hit, see bench_dns.cc).
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "authmilter/dkim/canonicalize.h"
#include "authmilter/dkim/verifier.h"
#include "authmilter/dmarc/dmarc.h"
#include "authmilter/dmarc/org_domain.h"
#include "authmilter/spf/spf.h"
#include "bench_support.h"

namespace authmilter::bench {
namespace {

dns::Deadline deadline() { return dns::Clock::now() + std::chrono::seconds(30); }

// Built once per process: zone, SPF checker, DKIM library, PSL, DMARC evaluator.
struct Engines {
  dns::ZoneResolver zone;
  std::unique_ptr<spf::Checker> spf;
  std::unique_ptr<dkim::Library> dkim;
  std::unique_ptr<dmarc::OrgDomainFinder> org;
  std::unique_ptr<dmarc::Evaluator> dmarc;

  Engines() {
    load_bench_zone(zone);
    spf = std::make_unique<spf::Checker>(zone, spf::CheckerOptions{"mx.example.net"});
    dkim = std::make_unique<dkim::Library>(zone, dkim::VerifierOptions{});
    std::string error;
    org = dmarc::OrgDomainFinder::load(public_suffix_list_path(), &error);
    if (!org) throw std::runtime_error("public suffix list: " + error);
    dmarc = std::make_unique<dmarc::Evaluator>(zone, *org);
  }
};

Engines& engines() {
  static Engines instance;
  return instance;
}

// ---- SPF (RFC 7208) ----

void run_spf(benchmark::State& state, const std::string& sender, std::size_t lookups) {
  Engines& e = engines();
  const spf::Request request{std::string(kClientIp), std::string(kHelo), sender,
                             spf::Identity::kMailFrom};
  const std::size_t before = e.zone.query_count();
  const spf::CheckResult first = e.spf->check(request, deadline());
  if (first.result != spf::Result::kPass) {
    state.SkipWithError(
        ("expected pass, got " + std::string(spf::to_token(first.result)) + ": " + first.comment)
            .c_str());
    return;
  }
  if (e.zone.query_count() - before != lookups) {
    state.SkipWithError(("expected " + std::to_string(lookups) + " lookups, saw " +
                         std::to_string(e.zone.query_count() - before))
                            .c_str());
    return;
  }
  for (auto _ : state) {
    spf::CheckResult result = e.spf->check(request, deadline());
    benchmark::DoNotOptimize(result);
  }
  state.counters["dns_lookups"] = static_cast<double>(lookups);
}

// "v=spf1 ip4:192.0.2.0/24 -all": one TXT lookup.
void BM_SpfIp4Pass(benchmark::State& state) { run_spf(state, "alice@example.org", 1); }
BENCHMARK(BM_SpfIp4Pass);

// chain.example -> include c1 -> include c2 -> include c3 (ip4 match): four TXT lookups.
void BM_SpfIncludeChainDepth3(benchmark::State& state) { run_spf(state, "alice@chain.example", 4); }
BENCHMARK(BM_SpfIncludeChainDepth3);

// Ten a: mechanisms, the tenth matches (RFC 7208 §4.6.4 limit reached, not passed).
void BM_SpfTenLookups(benchmark::State& state) { run_spf(state, "alice@tena.example", 11); }
BENCHMARK(BM_SpfTenLookups);

// Ten mx: mechanisms of ten exchanges each, then ip4: the most lookups the limits allow.
void BM_SpfTenMxOfTen(benchmark::State& state) { run_spf(state, "alice@tenmx.example", 111); }
BENCHMARK(BM_SpfTenMxOfTen);

// ---- DKIM (RFC 6376, RFC 8463) ----

// A ~10 kB (or `body_bytes`) message signed as asked; verified field by field and in 64 KiB
// body chunks, as the milter feeds it (libmilter hands the body over in chunks of at most
// 64 KiB).
void run_dkim(benchmark::State& state, bool rsa, bool ed, std::size_t body_bytes = 10 * 1024) {
  Engines& e = engines();
  const Message plain = typical_message(body_bytes);
  std::vector<std::string> signatures;
  if (rsa) {
    signatures.push_back(
        dkim_sign(plain, "rsa-sha256", kDomain, kRsaSelector, rsa2048_key().get()));
  }
  if (ed) {
    signatures.push_back(
        dkim_sign(plain, "ed25519-sha256", kDomain, kEdSelector, ed25519_key().get()));
  }
  const Message message = with_signatures(plain, signatures);
  auto verify = [&] {
    std::unique_ptr<dkim::Verifier> verifier = e.dkim->start_message("BENCH", deadline());
    for (const auto& field : message.fields) verifier->header_field(field);
    verifier->end_of_headers();
    constexpr std::size_t kChunk = 65535;
    for (std::size_t pos = 0; pos < message.body.size(); pos += kChunk) {
      verifier->body(std::string_view(message.body).substr(pos, kChunk));
    }
    return verifier->finish();
  };
  const std::vector<dkim::SignatureResult> first = verify();
  if (first.size() != signatures.size()) {
    state.SkipWithError("wrong number of signature results");
    return;
  }
  for (const auto& sig : first) {
    if (sig.result != dkim::Result::kPass) {
      state.SkipWithError(("signature " + sig.algorithm + " not pass: " + sig.comment).c_str());
      return;
    }
  }
  for (auto _ : state) {
    std::vector<dkim::SignatureResult> results = verify();
    benchmark::DoNotOptimize(results);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(message.text().size()));
}

void BM_DkimVerifyRsa2048AndEd25519(benchmark::State& state) { run_dkim(state, true, true); }
BENCHMARK(BM_DkimVerifyRsa2048AndEd25519);
void BM_DkimVerifyRsa2048(benchmark::State& state) { run_dkim(state, true, false); }
BENCHMARK(BM_DkimVerifyRsa2048);
void BM_DkimVerifyEd25519(benchmark::State& state) { run_dkim(state, false, true); }
BENCHMARK(BM_DkimVerifyEd25519);
void BM_DkimVerifyUnsigned(benchmark::State& state) { run_dkim(state, false, false); }
BENCHMARK(BM_DkimVerifyUnsigned);
// The 2 MB message of the side-by-side benchmark (issue 15): the body hash dominates.
void BM_DkimVerifyRsa2048TwoMegabytes(benchmark::State& state) {
  run_dkim(state, true, false, 2 * 1024 * 1024);
}
BENCHMARK(BM_DkimVerifyRsa2048TwoMegabytes);

// ---- DKIM body hashing (canonicalize.h) against raw SHA-256 ----
// A 2 MB text body in 64 KiB chunks; bytes/s and the ns/byte counter say what the
// canonicalization costs above the digest itself.

const std::string& two_megabyte_body() {
  static const std::string body = typical_message(2 * 1024 * 1024).body;
  return body;
}

void report_bytes(benchmark::State& state, std::size_t size) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(size));
  state.counters["ns_per_byte"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(size) * 1e-9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_BodySha256Raw(benchmark::State& state) {
  const std::string& body = two_megabyte_body();
  constexpr std::size_t kChunk = 65535;
  for (auto _ : state) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
    for (std::size_t pos = 0; pos < body.size(); pos += kChunk) {
      EVP_DigestUpdate(ctx.get(), body.data() + pos, std::min(kChunk, body.size() - pos));
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &size);
    benchmark::DoNotOptimize(md);
  }
  report_bytes(state, body.size());
}
BENCHMARK(BM_BodySha256Raw);

void run_body_hasher(benchmark::State& state, dkim::Canonicalization canon) {
  const std::string& body = two_megabyte_body();
  constexpr std::size_t kChunk = 65535;
  for (auto _ : state) {
    dkim::BodyHasher hasher(canon);
    for (std::size_t pos = 0; pos < body.size(); pos += kChunk) {
      hasher.update(std::string_view(body).substr(pos, kChunk));
    }
    benchmark::DoNotOptimize(hasher.finish());
  }
  report_bytes(state, body.size());
}

// Prose: single spaces, no tables or trailing WSP (relaxed then changes only line ends).
const std::string& two_megabyte_prose() {
  static const std::string body = [] {
    const std::string line =
        "Please check the numbers before Friday, and tell me what you think about the plan.\r\n";
    std::string out;
    while (out.size() < 2 * 1024 * 1024) out += line;
    return out;
  }();
  return body;
}

void BM_BodyHashRelaxedProse(benchmark::State& state) {
  const std::string& body = two_megabyte_prose();
  constexpr std::size_t kChunk = 65535;
  for (auto _ : state) {
    dkim::BodyHasher hasher(dkim::Canonicalization::kRelaxed);
    for (std::size_t pos = 0; pos < body.size(); pos += kChunk) {
      hasher.update(std::string_view(body).substr(pos, kChunk));
    }
    benchmark::DoNotOptimize(hasher.finish());
  }
  report_bytes(state, body.size());
}
BENCHMARK(BM_BodyHashRelaxedProse);

void BM_BodyHashSimple(benchmark::State& state) {
  run_body_hasher(state, dkim::Canonicalization::kSimple);
}
BENCHMARK(BM_BodyHashSimple);
void BM_BodyHashRelaxed(benchmark::State& state) {
  run_body_hasher(state, dkim::Canonicalization::kRelaxed);
}
BENCHMARK(BM_BodyHashRelaxed);

// ---- DMARC (RFC 7489) ----

// From: domain, record lookups, alignment, policy: what the milter does from eoh to eom.
void run_dmarc(benchmark::State& state, bool dkim_pass, dmarc::Result expected) {
  Engines& e = engines();
  spf::CheckResult spf_result;
  spf_result.result = dkim_pass ? spf::Result::kPass : spf::Result::kFail;
  spf_result.identity = spf::Identity::kMailFrom;
  spf_result.checked = "bounces@example.org";
  spf_result.domain = "example.org";
  std::vector<dkim::SignatureResult> dkim_results(1);
  dkim_results[0].result = dkim_pass ? dkim::Result::kPass : dkim::Result::kFail;
  dkim_results[0].domain = "example.org";
  dkim_results[0].selector = std::string(kRsaSelector);
  dkim_results[0].algorithm = "rsa-sha256";
  const std::vector<std::string_view> from_values = {"Alice Example <alice@example.org>"};
  const dmarc::Inputs inputs{&spf_result, dkim_results};
  auto evaluate = [&] {
    const dmarc::FromDomain from = dmarc::from_domain(from_values);
    const dmarc::Evaluator::Pending pending = e.dmarc->start(from);
    return e.dmarc->evaluate(pending, inputs, deadline());
  };
  const dmarc::DmarcResult first = evaluate();
  if (first.result != expected) {
    state.SkipWithError(
        ("unexpected dmarc=" + std::string(dmarc::to_token(first.result)) + ": " + first.comment)
            .c_str());
    return;
  }
  for (auto _ : state) {
    dmarc::DmarcResult result = evaluate();
    benchmark::DoNotOptimize(result);
  }
}

void BM_DmarcEvaluatePass(benchmark::State& state) { run_dmarc(state, true, dmarc::Result::kPass); }
BENCHMARK(BM_DmarcEvaluatePass);
void BM_DmarcEvaluateFailReject(benchmark::State& state) {
  run_dmarc(state, false, dmarc::Result::kFail);
}
BENCHMARK(BM_DmarcEvaluateFailReject);

void BM_DmarcOrganizationalDomain(benchmark::State& state) {
  const dmarc::OrgDomainFinder& org = *engines().org;
  if (org.organizational_domain("mail.dept.example.co.uk") != "example.co.uk") {
    state.SkipWithError("unexpected organizational domain");
    return;
  }
  for (auto _ : state) {
    std::string domain = org.organizational_domain("mail.dept.example.co.uk");
    benchmark::DoNotOptimize(domain);
  }
}
BENCHMARK(BM_DmarcOrganizationalDomain);

}  // namespace
}  // namespace authmilter::bench
