// ARC (RFC 8617) on the OpenSSL engine: chains built here with the engine's signer (the
// ValiMail vectors in tests/conformance check both sides independently), the bad input the
// issue lists (51 instances, duplicates, missing members, cv=pass on i=1, a seal over a huge
// header set, garbage tags), key trouble, and the canonicalizer's streaming.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "authmilter/dkim/arc.h"
#include "authmilter/dkim/canonicalize.h"
#include "authmilter/dns/zone_resolver.h"
#include "dkim_test_support.h"

namespace authmilter::dkim {
namespace {

using namespace std::chrono_literals;
using mail::HeaderField;

constexpr std::string_view kBody = "Hello,\r\n\r\nthe list says hi.\r\n";

struct Fixture {
  dns::ZoneResolver zone;
  ArcSigningKey key;
  Fixture(unsigned bits = 1024, std::string domain = "lists.example.org") {
    testing::Key k = testing::generate_rsa(bits);
    zone.add_txt("arc._domainkey." + domain, testing::txt_strings(testing::key_record(k.get())));
    key.domain = std::move(domain);
    key.selector = "arc";
    key.key = std::shared_ptr<EVP_PKEY>(k.release(), EVP_PKEY_free);
  }
};

std::vector<HeaderField> base_headers() {
  return {{"Received", " from a by b; Thu, 1 Jan 2026 00:00:00 +0000"},
          {"From", " Alice <alice@example.com>"},
          {"To", " list@lists.example.org"},
          {"Subject", " [list] hello"},
          {"Date", " Thu, 1 Jan 2026 00:00:00 +0000"}};
}

std::string body_hash(std::string_view body) {
  BodyHasher hasher(Canonicalization::kRelaxed);
  hasher.update(body);
  return hasher.finish();
}

// Adds set `instance` at the top of `headers` (AS, AMS, AAR order), sealing all sets below.
void add_set(std::vector<HeaderField>& headers, const ArcSigningKey& key, unsigned instance,
             ArcCv cv, std::string_view body = kBody,
             std::string aar_payload = "lists.example.org; dkim=pass header.d=example.com") {
  HeaderField aar{"ARC-Authentication-Results",
                  " i=" + std::to_string(instance) + "; " + aar_payload};
  std::vector<HeaderField> with_aar = headers;
  with_aar.insert(with_aar.begin(), aar);
  HeaderField ams{"ARC-Message-Signature",
                  " " + arc_message_signature(key, instance, 1700000000, "from:to:subject:date",
                                              with_aar, body_hash(body))};
  // Earlier sets in instance order.
  std::vector<HeaderField> chain;
  for (unsigned i = 1; i < instance; ++i) {
    for (std::string_view name :
         {"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"}) {
      for (const auto& h : headers) {
        if (h.name != name) continue;
        const bool aar_field = name == "ARC-Authentication-Results";
        const std::string tag = "i=" + std::to_string(i);
        const std::string flat = testing::without_whitespace(h.raw_value);
        if ((aar_field && flat.rfind(tag + ";", 0) == 0) ||
            (!aar_field &&
             (flat.find(";" + tag + ";") != std::string::npos || flat.ends_with(";" + tag))))
          chain.push_back(h);
      }
    }
  }
  chain.push_back(aar);
  chain.push_back(ams);
  HeaderField seal{"ARC-Seal", " " + arc_seal(key, instance, 1700000000, cv, chain)};
  headers.insert(headers.begin(), aar);
  headers.insert(headers.begin(), ams);
  headers.insert(headers.begin(), seal);
}

std::vector<HeaderField> chain_of(unsigned n, const ArcSigningKey& key) {
  auto headers = base_headers();
  for (unsigned i = 1; i <= n; ++i) add_set(headers, key, i, i == 1 ? ArcCv::kNone : ArcCv::kPass);
  return headers;
}

ArcChainResult verify(dns::Resolver& resolver, const std::vector<HeaderField>& headers,
                      std::string_view body = kBody, unsigned min_bits = 1024) {
  ArcVerifier verifier(resolver, {min_bits, false}, dns::Clock::now() + 5s);
  verifier.end_of_headers(headers);
  verifier.body(body);
  return verifier.finish();
}

TEST(Arc, NoArcFieldsIsNone) {
  Fixture f;
  const auto result = verify(f.zone, base_headers());
  EXPECT_EQ(result.result, ArcResult::kNone);
  EXPECT_EQ(result.instances, 0u);
  EXPECT_EQ(f.zone.query_count(), 0u);
}

TEST(Arc, ChainOfThreePasses) {
  Fixture f;
  const auto result = verify(f.zone, chain_of(3, f.key));
  EXPECT_EQ(result.result, ArcResult::kPass) << result.comment;
  EXPECT_EQ(result.instances, 3u);
  EXPECT_EQ(result.oldest_pass, 0u);
  ASSERT_EQ(result.sets.size(), 3u);
  EXPECT_EQ(result.sets[0].sealer, "lists.example.org");
  EXPECT_EQ(result.sets[2].cv, ArcCv::kPass);
  EXPECT_EQ(result.sets[0].auth_results, "lists.example.org; dkim=pass header.d=example.com");
}

TEST(Arc, BodyChangedAfterSealingFails) {
  Fixture f;
  const auto result = verify(f.zone, chain_of(1, f.key), "Hello,\r\n\r\nthe list says bye.\r\n");
  EXPECT_EQ(result.result, ArcResult::kFail);
  EXPECT_NE(result.comment.find("body hash mismatch"), std::string::npos) << result.comment;
}

TEST(Arc, SignedHeaderChangedFails) {
  Fixture f;
  auto headers = chain_of(2, f.key);
  for (auto& h : headers) {
    if (h.name == "Subject") h.raw_value = " [list] changed";
  }
  const auto result = verify(f.zone, headers);
  EXPECT_EQ(result.result, ArcResult::kFail);
  EXPECT_NE(result.comment.find("ARC-Message-Signature i=2"), std::string::npos) << result.comment;
}

TEST(Arc, OldestPassNamesTheFirstIntactHop) {
  Fixture f;
  auto headers = chain_of(1, f.key);
  // Hop 2 changes the subject (breaking AMS 1) and seals: chain passes, oldest-pass 2.
  for (auto& h : headers) {
    if (h.name == "Subject") h.raw_value = " [list] retagged";
  }
  add_set(headers, f.key, 2, ArcCv::kPass);
  const auto result = verify(f.zone, headers);
  EXPECT_EQ(result.result, ArcResult::kPass) << result.comment;
  EXPECT_EQ(result.oldest_pass, 2u);
}

TEST(Arc, FiftyInstancesPassFiftyOneFail) {
  Fixture f;
  auto headers = chain_of(50, f.key);
  EXPECT_EQ(verify(f.zone, headers).result, ArcResult::kPass);
  // A 51st set: the instance is out of range, whatever its signatures.
  headers.insert(headers.begin(), {"ARC-Authentication-Results", " i=51; x.example; none"});
  headers.insert(headers.begin(),
                 {"ARC-Message-Signature",
                  " i=51; a=rsa-sha256; b=AA==; bh=AA==; d=x.example; h=from; s=arc"});
  headers.insert(headers.begin(),
                 {"ARC-Seal", " i=51; a=rsa-sha256; b=AA==; cv=pass; d=x.example; s=arc"});
  const auto result = verify(f.zone, headers);
  EXPECT_EQ(result.result, ArcResult::kFail);
  EXPECT_NE(result.comment.find("bad instance"), std::string::npos) << result.comment;
}

TEST(Arc, DuplicateInstanceFails) {
  Fixture f;
  auto headers = chain_of(1, f.key);
  headers.push_back({"ARC-Authentication-Results", " i=1; other.example; spf=pass"});
  const auto result = verify(f.zone, headers);
  EXPECT_EQ(result.result, ArcResult::kFail);
  EXPECT_NE(result.comment.find("duplicate"), std::string::npos) << result.comment;
}

TEST(Arc, MissingSealOrMessageSignatureFails) {
  Fixture f;
  for (std::string_view drop :
       {"ARC-Seal", "ARC-Message-Signature", "ARC-Authentication-Results"}) {
    auto headers = chain_of(2, f.key);
    std::erase_if(headers, [&](const HeaderField& h) {
      return h.name == drop && h.raw_value.find("i=1") != std::string::npos;
    });
    const auto result = verify(f.zone, headers);
    EXPECT_EQ(result.result, ArcResult::kFail) << drop;
    EXPECT_NE(result.comment.find("missing " + std::string(drop) + " i=1"), std::string::npos)
        << result.comment;
  }
}

TEST(Arc, CvRulesAreEnforced) {
  Fixture f;
  auto first = base_headers();
  add_set(first, f.key, 1, ArcCv::kPass);  // cv=pass on i=1
  EXPECT_EQ(verify(f.zone, first).result, ArcResult::kFail);
  auto second = chain_of(1, f.key);
  add_set(second, f.key, 2, ArcCv::kNone);  // cv=none on i=2
  EXPECT_EQ(verify(f.zone, second).result, ArcResult::kFail);
  auto failed = chain_of(1, f.key);
  add_set(failed, f.key, 2, ArcCv::kFail);  // the newest seal says fail
  const auto result = verify(f.zone, failed);
  EXPECT_EQ(result.result, ArcResult::kFail);
  EXPECT_EQ(result.newest_cv, ArcCv::kFail);
}

TEST(Arc, TooManyArcFieldsFailWithoutLookups) {
  Fixture f;
  auto headers = base_headers();
  for (std::size_t n = 0; n <= kMaxArcFields; ++n) {
    headers.push_back({"ARC-Seal", " i=1; a=rsa-sha256; b=AA==; cv=none; d=x.example; s=s"});
  }
  const auto result = verify(f.zone, headers);
  EXPECT_EQ(result.result, ArcResult::kFail);
  EXPECT_NE(result.comment.find("more than"), std::string::npos) << result.comment;
  EXPECT_EQ(f.zone.query_count(), 0u);
}

TEST(Arc, SealOverAHugeHeaderSetIsJudged) {
  Fixture f;
  auto headers = base_headers();
  std::string h = "from";
  for (int n = 0; n < 2000; ++n) {
    headers.push_back({"X-Filler", " " + std::string(100, 'x')});
    h += ":x-filler";
  }
  h += std::string(5000, ':') + "subject";
  HeaderField aar{"ARC-Authentication-Results", " i=1; lists.example.org; none"};
  headers.insert(headers.begin(), aar);
  HeaderField ams{"ARC-Message-Signature",
                  " " + arc_message_signature(f.key, 1, 1, h, headers, body_hash(kBody))};
  std::vector<HeaderField> chain{aar, ams};
  headers.insert(headers.begin(), ams);
  headers.insert(headers.begin(), {"ARC-Seal", " " + arc_seal(f.key, 1, 1, ArcCv::kNone, chain)});
  EXPECT_EQ(verify(f.zone, headers).result, ArcResult::kPass);
  headers.back().raw_value += "y";  // the last filler is signed
  EXPECT_EQ(verify(f.zone, headers).result, ArcResult::kFail);
}

TEST(Arc, GarbageTagsFailCleanly) {
  Fixture f;
  const std::vector<std::string> garbage = {
      "",
      ";;;",
      "i=1",
      "i=1; a=rsa-sha256; b=; cv=none; d=; s=",
      "i=1; a=rsa-sha1; b=AA==; cv=none; d=lists.example.org; s=arc",
      "i=1; a=rsa-sha256; b=!!!; cv=none; d=lists.example.org; s=arc",
      "i=1; a=rsa-sha256; b=AA==; cv=maybe; d=lists.example.org; s=arc",
      "i=1; i=1; a=rsa-sha256; b=AA==; cv=none; d=lists.example.org; s=arc",
      "i=01x; a=rsa-sha256",
      "i=0; a=rsa-sha256; b=AA==; cv=none; d=lists.example.org; s=arc",
      "i=-1; a=rsa-sha256",
      "i=99999999999999999999; a=rsa-sha256",
      "i=1; a=rsa-sha256; b=AA==; cv=none; d=../../etc; s=a b",
      "i=1; =x; a=rsa-sha256",
      std::string("i=1; a=rsa-sha256; b=A\0A; cv=none; d=x; s=y", 39),
      "i=1; a=rsa-sha256; b=AA==; cv=none; d=lists.example.org; s=arc; h=from",
  };
  for (const std::string& value : garbage) {
    auto headers = chain_of(1, f.key);
    for (auto& h : headers) {
      if (h.name == "ARC-Seal") h.raw_value = " " + value;
    }
    const auto result = verify(f.zone, headers);
    EXPECT_EQ(result.result, ArcResult::kFail) << value;
  }
  // Random bytes in every ARC field: fail or none, never a crash.
  std::mt19937 rng(8617);
  for (int round = 0; round < 200; ++round) {
    auto headers = chain_of(1, f.key);
    for (auto& h : headers) {
      if (h.name.starts_with("ARC-")) {
        std::string noise(static_cast<std::size_t>(rng() % 200), '\0');
        for (char& c : noise) c = static_cast<char>(rng() % 256);
        h.raw_value = (rng() % 2 ? " i=1;" : " ") + noise;
      }
    }
    const auto result = verify(f.zone, headers);
    EXPECT_NE(result.result, ArcResult::kPass);
  }
}

TEST(Arc, KeyTroubleDecidesTheResult) {
  {
    Fixture f;
    f.zone.set_error("arc._domainkey.lists.example.org", dns::RrType::kTxt, dns::Status::kServFail);
    const auto result = verify(f.zone, chain_of(2, f.key));
    EXPECT_EQ(result.result, ArcResult::kTempError) << result.comment;
    ASSERT_EQ(result.sets.size(), 2u);  // the sealers are still known
  }
  {
    Fixture f(1024, "other.example");  // the key is published elsewhere: no key
    ArcSigningKey key = f.key;
    key.domain = "lists.example.org";
    const auto result = verify(f.zone, chain_of(1, key));
    EXPECT_EQ(result.result, ArcResult::kFail);
    EXPECT_NE(result.comment.find("no key"), std::string::npos) << result.comment;
  }
  {
    Fixture f(1024);
    const auto result = verify(f.zone, chain_of(1, f.key), kBody, 2048);  // DKIMMinKeyBits
    EXPECT_EQ(result.result, ArcResult::kFail);
    EXPECT_NE(result.comment.find("key too short"), std::string::npos) << result.comment;
  }
}

TEST(Arc, OurSealVerifiesAndCountsUp) {
  Fixture f;
  auto headers = chain_of(2, f.key);
  ArcVerifier verifier(f.zone, {1024, true}, dns::Clock::now() + 5s);
  verifier.end_of_headers(headers);
  verifier.body(kBody);
  ASSERT_EQ(verifier.finish().result, ArcResult::kPass);
  const auto set = verifier.seal(f.key, "mx.example.net;\n\tarc=pass; dmarc=fail", 1700000001);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->instance, 3u);
  EXPECT_EQ(set->authentication_results.rfind("i=3; mx.example.net;", 0), 0u);
  EXPECT_NE(set->seal.find("cv=pass"), std::string::npos);
  for (const auto& line : {set->seal, set->message_signature}) {
    std::size_t start = 0;
    while (start < line.size()) {
      const std::size_t end = std::min(line.find('\n', start), line.size());
      EXPECT_LE(end - start, 78u) << line;
      start = end + 1;
    }
  }
  headers.insert(headers.begin(),
                 {"ARC-Authentication-Results", " " + set->authentication_results});
  headers.insert(headers.begin(), {"ARC-Message-Signature", " " + set->message_signature});
  headers.insert(headers.begin(), {"ARC-Seal", " " + set->seal});
  const auto result = verify(f.zone, headers);
  EXPECT_EQ(result.result, ArcResult::kPass) << result.comment;
  EXPECT_EQ(result.instances, 3u);
}

TEST(Arc, NoSealPastFiftyOrOnStructuralFailure) {
  Fixture f;
  {
    const auto headers = chain_of(50, f.key);
    ArcVerifier verifier(f.zone, {1024, true}, dns::Clock::now() + 5s);
    verifier.end_of_headers(headers);
    verifier.body(kBody);
    EXPECT_FALSE(verifier.seal(f.key, "mx.example.net; none", 1));
  }
  {
    auto headers = chain_of(1, f.key);
    headers.push_back({"ARC-Seal", " i=1; garbage"});
    ArcVerifier verifier(f.zone, {1024, true}, dns::Clock::now() + 5s);
    verifier.end_of_headers(headers);
    verifier.body(kBody);
    EXPECT_FALSE(verifier.seal(f.key, "mx.example.net; none", 1));
  }
  {
    // A broken (but well-formed) chain is sealed with cv=fail over our own set only.
    auto headers = chain_of(1, f.key);
    ArcVerifier verifier(f.zone, {1024, true}, dns::Clock::now() + 5s);
    verifier.end_of_headers(headers);
    verifier.body("changed\r\n");
    const auto set = verifier.seal(f.key, "mx.example.net; arc=fail", 1);
    ASSERT_TRUE(set);
    EXPECT_NE(set->seal.find("cv=fail"), std::string::npos);
  }
}

TEST(Canonicalize, BodyHashIsTheSameInAnyChunking) {
  const std::string body = "a  b \t\r\n\r\n  c\r\nd\r\r\n\n\r\n\r\n \r\n";
  for (Canonicalization canon : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
    BodyHasher whole(canon);
    whole.update(body);
    const std::string expected = whole.finish();
    for (std::size_t chunk = 1; chunk < 8; ++chunk) {
      BodyHasher pieces(canon);
      for (std::size_t at = 0; at < body.size(); at += chunk) {
        pieces.update(std::string_view(body).substr(at, chunk));
      }
      EXPECT_EQ(pieces.finish(), expected) << chunk;
    }
  }
}

TEST(Canonicalize, BodyRulesOfRfc6376) {
  auto canonical_length = [](Canonicalization canon, std::string_view body) {
    BodyHasher hasher(canon);
    hasher.update(body);
    hasher.finish();
    return hasher.canonical_length();
  };
  EXPECT_EQ(canonical_length(Canonicalization::kSimple, ""), 2u);  // one CRLF
  EXPECT_EQ(canonical_length(Canonicalization::kRelaxed, ""), 0u);
  EXPECT_EQ(canonical_length(Canonicalization::kSimple, "x\r\n\r\n\r\n"), 3u);
  EXPECT_EQ(canonical_length(Canonicalization::kRelaxed, " x  y \t\r\n \r\n"), 6u);  // " x y"
  EXPECT_EQ(canonical_length(Canonicalization::kRelaxed, "x"), 3u);                  // CRLF added
  EXPECT_EQ(canonical_length(Canonicalization::kSimple, "x\ny\n"), 6u);  // bare LF -> CRLF
}

TEST(Canonicalize, HeaderRulesOfRfc6376) {
  std::string out;
  append_canonical_header(out, Canonicalization::kRelaxed, "SubJect", " \tA  b\r\n\t c \t");
  EXPECT_EQ(out, "subject:A b c\r\n");
  out.clear();
  append_canonical_header(out, Canonicalization::kSimple, "SubJect", " A\n\tb");
  EXPECT_EQ(out, "SubJect: A\r\n\tb\r\n");
  EXPECT_EQ(without_b_value(" a=1; b=xy\r\n z; bh=q"), " a=1; b=; bh=q");
}

}  // namespace
}  // namespace authmilter::dkim
