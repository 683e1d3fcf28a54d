// RFC 6376 Appendix A.2 and RFC 8463 Appendix A.3 examples in tests/data/dkim-rfc-examples.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/zone_resolver.h"
#include "dkim_test_support.h"

namespace authmilter::dkim {
namespace {

using namespace std::chrono_literals;

const std::string kDir = std::string(AUTHMILTER_TEST_DATA_DIR) + "/dkim-rfc-examples/";

// keys.tsv: "owner<TAB>TXT rdata" lines, '#' comments.
void load_keys(dns::ZoneResolver& zone) {
  std::size_t loaded = 0;
  for (const auto& row : test_support::read_tsv(kDir + "keys.tsv", /*has_header=*/false)) {
    ASSERT_EQ(row.size(), 2u) << row[0];
    zone.add_txt(row[0], testing::txt_strings(row[1]));
    ++loaded;
  }
  EXPECT_EQ(loaded, 3u);
}

std::vector<SignatureResult> verify_file(const std::string& name, testing::Feed feed,
                                         std::size_t chunk = 0) {
  dns::ZoneResolver zone;
  load_keys(zone);
  Library library(zone, {});
  auto verifier = library.start_message("RFC", dns::Clock::now() + 5s);
  return testing::verify(*verifier, testing::parse_message(testing::read_file(kDir + name)), feed,
                         chunk);
}

TEST(DkimRfcExamples, Rfc6376AppendixA2WithErratum3192Passes) {
  for (auto feed : {testing::Feed::kMilter, testing::Feed::kRaw}) {
    auto results = verify_file("rfc6376-A2-signed.errata3192.eml", feed, 13);
    ASSERT_EQ(results.size(), 1u);
    const auto& r = results[0];
    EXPECT_EQ(r.result, Result::kPass) << r.comment;
    EXPECT_EQ(r.domain, "example.com");
    EXPECT_EQ(r.selector, "brisbane");
    EXPECT_EQ(r.identity, "joe@football.example.com");
    EXPECT_EQ(r.algorithm, "rsa-sha256");
    EXPECT_EQ(r.b_prefix, "AuUoFEfD");
    EXPECT_EQ(r.key_bits, 1024u);
  }
}

TEST(DkimRfcExamples, Rfc6376AppendixA2AsPublishedIsBodyHashMismatch) {
  auto results = verify_file("rfc6376-A2-signed.as-published.eml", testing::Feed::kRaw);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kFail);
  EXPECT_EQ(results[0].comment, "body hash mismatch");
}

TEST(DkimRfcExamples, Rfc8463AppendixA3BothSignaturesPass) {
  for (auto feed : {testing::Feed::kMilter, testing::Feed::kRaw}) {
    auto results = verify_file("rfc8463-A3-signed.eml", feed);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
    EXPECT_EQ(results[0].algorithm, "ed25519-sha256");
    EXPECT_EQ(results[0].selector, "brisbane");
    EXPECT_EQ(results[0].domain, "football.example.com");
    EXPECT_EQ(results[0].identity, "@football.example.com");
    EXPECT_EQ(results[0].key_bits, kEd25519KeyBits);
    EXPECT_EQ(results[0].b_prefix, "9/dsDChY");
    EXPECT_EQ(results[1].result, Result::kPass) << results[1].comment;
    EXPECT_EQ(results[1].algorithm, "rsa-sha256");
    EXPECT_EQ(results[1].selector, "test");
    EXPECT_EQ(results[1].key_bits, 1024u);
    EXPECT_EQ(results[1].b_prefix, "icKcLSEZ");
  }
}

TEST(DkimRfcExamples, Rfc8463AppendixA3WithAlteredSubjectFailsBoth) {
  dns::ZoneResolver zone;
  load_keys(zone);
  Library library(zone, {});
  auto message = testing::parse_message(testing::read_file(kDir + "rfc8463-A3-signed.eml"));
  for (auto& field : message.fields) {
    if (field.rfind("Subject:", 0) == 0) field = "Subject: Is lunch ready?";
  }
  auto verifier = library.start_message("RFC", dns::Clock::now() + 5s);
  auto results = testing::verify(*verifier, message);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.result, Result::kFail);
    EXPECT_EQ(r.comment, "signature did not verify");
  }
}

}  // namespace
}  // namespace authmilter::dkim
