// Input limits of the dkim module (each at the limit and one past) and hostile input.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/zone_resolver.h"
#include "dkim_test_support.h"

namespace authmilter::dkim {
namespace {

using namespace std::chrono_literals;
using testing::keys;
using testing::Message;
using testing::sample_message;

class DkimLimitsTest : public ::testing::Test {
 protected:
  DkimLimitsTest() {
    zone_.add_txt("sel._domainkey.example.org", {testing::key_record(keys().rsa1024.get())});
  }
  std::unique_ptr<Verifier> start() {
    if (!library_) library_ = std::make_unique<Library>(zone_, options_);
    return library_->start_message("LIMITS", dns::Clock::now() + 5s);
  }
  Message signed_sample() {
    Message message = sample_message();
    return testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get())});
  }

  dns::ZoneResolver zone_;
  VerifierOptions options_;
  std::unique_ptr<Library> library_;
};

std::string cheap_signature(std::size_t i) {
  return "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s" + std::to_string(i) +
         "; h=from; bh=AAAA; b=B" + std::to_string(i);
}

TEST_F(DkimLimitsTest, SignatureFieldsAtTheLimitAreAllReported) {
  Message message = sample_message();
  std::vector<std::string> signatures;
  for (std::size_t i = 0; i < kMaxSignatureFields; ++i) signatures.push_back(cheap_signature(i));
  auto verifier = start();
  auto results = testing::verify(*verifier, testing::with_signatures(message, signatures));
  EXPECT_EQ(results.size(), kMaxSignatureFields);
  EXPECT_EQ(verifier->skipped_signatures(), 0u);
  EXPECT_EQ(verifier->dropped_header_fields(), 0u);
  // Only max_signatures of them cost a lookup.
  EXPECT_EQ(zone_.query_count(), kDefaultMaxSignatures);
  EXPECT_EQ(results.back().result, Result::kPolicy);
}

TEST_F(DkimLimitsTest, SignatureFieldsPastTheLimitAreCountedNotFed) {
  Message message = sample_message();
  std::vector<std::string> signatures;
  for (std::size_t i = 0; i <= kMaxSignatureFields; ++i) signatures.push_back(cheap_signature(i));
  auto verifier = start();
  auto results = testing::verify(*verifier, testing::with_signatures(message, signatures));
  EXPECT_EQ(results.size(), kMaxSignatureFields);
  EXPECT_EQ(verifier->skipped_signatures(), 1u);
  EXPECT_EQ(verifier->dropped_header_fields(), 1u);
}

TEST_F(DkimLimitsTest, MaxSignaturesIsClampedToTheFieldLimit) {
  options_.max_signatures = 100000;
  Library library(zone_, options_);
  EXPECT_EQ(library.options().max_signatures, kMaxSignatureFields);
}

TEST_F(DkimLimitsTest, HeaderFieldsAtTheLimitAndOnePast) {
  Message message = signed_sample();
  while (message.fields.size() < kMaxHeaderFields) message.fields.push_back("X-Pad: 1");
  auto verifier = start();
  auto results = testing::verify(*verifier, message);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  EXPECT_EQ(verifier->dropped_header_fields(), 0u);

  // One past: the extra field is not fed. Here it is the signed Subject moved to the end,
  // so the signature now misses it.
  Message past = message;
  for (auto it = past.fields.begin(); it != past.fields.end(); ++it) {
    if (it->rfind("Subject:", 0) == 0) {
      std::string subject = *it;
      past.fields.erase(it);
      past.fields.push_back("X-Pad: 1");
      past.fields.push_back(subject);
      break;
    }
  }
  ASSERT_EQ(past.fields.size(), kMaxHeaderFields + 1);
  verifier = start();
  results = testing::verify(*verifier, past);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kFail);
  EXPECT_EQ(verifier->dropped_header_fields(), 1u);
}

TEST_F(DkimLimitsTest, HeaderBytesAtTheLimitAndOnePast) {
  Message message = signed_sample();
  std::size_t used = 0;
  for (const auto& field : message.fields) used += field.size();
  std::string prefix = "X-Big: ";
  std::string big = prefix + std::string(kMaxHeaderBytes - used - prefix.size(), 'x');
  message.fields.push_back(big);
  auto verifier = start();
  auto results = testing::verify(*verifier, message, testing::Feed::kRaw);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  EXPECT_EQ(verifier->dropped_header_fields(), 0u);

  message.fields.back().push_back('x');
  verifier = start();
  results = testing::verify(*verifier, message, testing::Feed::kRaw);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;  // X-Big is not signed
  EXPECT_EQ(verifier->dropped_header_fields(), 1u);
}

TEST_F(DkimLimitsTest, NulBytesDropTheFieldAndMakeASignatureMalformed) {
  Message message = signed_sample();
  auto verifier = start();
  for (const auto& field : message.fields) verifier->header_field(field);
  verifier->header({"X-Nul", std::string(" a\0b", 4)});
  verifier->header({"DKIM-Signature", std::string(" v=1; d=nul.example; s=x; b=ZZZZZZZZZZ\0", 39)});
  verifier->body(message.body);
  auto results = verifier->finish();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  EXPECT_EQ(results[1].result, Result::kPermError);
  EXPECT_EQ(results[1].comment, "malformed signature: NUL byte in signature");
  EXPECT_EQ(results[1].domain, "nul.example");
  EXPECT_EQ(results[1].b_prefix, "ZZZZZZZZ");
  EXPECT_EQ(verifier->dropped_header_fields(), 2u);
}

TEST_F(DkimLimitsTest, OddFieldsAndCallOrderDoNotCrash) {
  Message message = signed_sample();
  auto verifier = start();
  verifier->header_field("");
  verifier->header_field("no colon at all");
  verifier->header({"", " empty name"});
  verifier->header({"X-\xff\x01", " 8-bit name"});
  verifier->header({"X-Empty", " "});
  verifier->header_field(":");
  for (const auto& field : message.fields) verifier->header_field(field);
  // body() before end_of_headers() ends the headers itself.
  verifier->body("");
  verifier->body(message.body);
  verifier->header({"X-Late", " after the body"});  // ignored
  verifier->end_of_headers();                       // ignored, already done
  auto results = verifier->finish();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  EXPECT_GE(verifier->dropped_header_fields(), 3u);
  verifier->body("more");  // after finish: ignored
  EXPECT_EQ(verifier->finish().size(), 1u);
}

TEST_F(DkimLimitsTest, FinishWithoutBodyOrHeadersEnd) {
  Message message = signed_sample();
  auto verifier = start();
  for (const auto& field : message.fields) verifier->header_field(field);
  auto results = verifier->finish();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kFail);  // the body was never seen
  EXPECT_EQ(results[0].comment, "body hash mismatch");
  // A verifier never fed anything.
  EXPECT_TRUE(start()->finish().empty());
}

TEST_F(DkimLimitsTest, AbandonedVerifiersReleaseEverything) {
  // A message aborted at any stage (client gone, RSET): destruction frees the verifier's
  // handle and drops the started lookups; ASan checks for leaks.
  Message message = signed_sample();
  for (int stage = 0; stage < 3; ++stage) {
    auto verifier = start();
    for (const auto& field : message.fields) verifier->header_field(field);
    if (stage >= 1) verifier->end_of_headers();
    if (stage >= 2) verifier->body(message.body);
  }
  EXPECT_EQ(zone_.query_count(), 2u);  // stages 1 and 2 started the key lookup
}

TEST_F(DkimLimitsTest, EightBitHeadersVerify) {
  for (const char* canon : {"simple/simple", "relaxed/relaxed"}) {
    SCOPED_TRACE(canon);
    Message message = sample_message();
    message.fields[2] = "Subject: D\xc3\xa9jeuner vendredi \xe2\x98\x95";
    testing::SignSpec spec;
    spec.canonicalization = canon;
    auto verifier = start();
    auto results = testing::verify(
        *verifier,
        testing::with_signatures(message, {testing::sign(message, spec, keys().rsa1024.get())}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  }
}

TEST_F(DkimLimitsTest, HostileSelectorsAndDomainsNeedNoLookup) {
  Message message = sample_message();
  const std::vector<std::string> signatures = {
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=a..b; h=from; bh=AAAA; b=AAAAAAA1",
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=../x; h=from; bh=AAAA; b=AAAAAAA2",
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=" + std::string(300, 'a') +
          "; h=from; bh=AAAA; b=AAAAAAA3",
      "DKIM-Signature: v=1; a=rsa-sha256; d=" + std::string(64, 'd') +
          ".org; s=sel; h=from; bh=AAAA; b=AAAAAAA4",
      "DKIM-Signature: v=1; a=rsa-sha256; d=.; s=sel; h=from; bh=AAAA; b=AAAAAAA5",
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=a\"b; h=from; bh=AAAA; b=AAAAAAA6",
  };
  auto verifier = start();
  auto results = testing::verify(*verifier, testing::with_signatures(message, signatures));
  ASSERT_EQ(results.size(), signatures.size());
  for (const auto& r : results) {
    EXPECT_EQ(r.result, Result::kPermError) << r.selector << " " << r.comment;
  }
  EXPECT_EQ(results[0].comment, "invalid selector or domain");
  EXPECT_EQ(zone_.query_count(), 0u);
}

TEST_F(DkimLimitsTest, HugeSignatureValuesAndBodies) {
  Message message = sample_message();
  std::string huge_b(200000, 'A');
  std::string tags;
  for (int i = 0; i < 5000; ++i) tags += "z" + std::to_string(i) + "=1; ";
  message.body = std::string(3 * 1024 * 1024, 'x');  // one 3 MiB line without a line end
  testing::SignSpec spec;
  spec.body_length = 10;
  std::string good = testing::sign(message, spec, keys().rsa1024.get());
  auto verifier = start();
  auto results = testing::verify(
      *verifier,
      testing::with_signatures(
          message,
          {good,
           "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA; b=" + huge_b,
           "DKIM-Signature: " + tags +
               "v=1; a=rsa-sha256; d=example.org; s=sel; h=from; "
               "bh=AAAA; b=AAAA"}),
      testing::Feed::kRaw, 65536);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  EXPECT_NE(results[1].result, Result::kPass);
  EXPECT_EQ(results[1].b_prefix, "AAAAAAAA");
  EXPECT_NE(results[2].result, Result::kPass);
}

TEST_F(DkimLimitsTest, RandomBytesNeverCrash) {
  std::mt19937 random(20240101);
  auto bytes = [&random](std::size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(random() & 0xff);
    return out;
  };
  const std::string start_text = "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; ";
  for (int round = 0; round < 200; ++round) {
    auto verifier = start();
    std::size_t signatures = 0;
    std::size_t fields = random() % 12;
    for (std::size_t i = 0; i < fields; ++i) {
      if (random() % 2 == 0) {
        // A plausible signature start, then noise.
        std::string noise = bytes(random() % 80);
        verifier->header_field(start_text + noise);
        ++signatures;  // well-formed or not, NUL or not: one result each
      } else {
        verifier->header_field(bytes(random() % 120));
      }
    }
    verifier->end_of_headers();
    for (std::size_t i = random() % 5; i > 0; --i) verifier->body(bytes(random() % 300));
    auto results = verifier->finish();
    EXPECT_EQ(results.size(), signatures);
    for (const auto& r : results) {
      EXPECT_NE(r.result, Result::kPass);
      EXPECT_LE(r.b_prefix.size(), kMaxBPrefix);
    }
  }
}

}  // namespace
}  // namespace authmilter::dkim
