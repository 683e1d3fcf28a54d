// Mail::DKIM's verifier corpus (tests/data/dkim-mail-dkim) through our verifier:
// each v=1 message against Mail::DKIM's expectation (EXPECTED.tsv), the pre-RFC and
// DomainKeys messages for "reported, never passed".
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>

#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/zone_resolver.h"
#include "dkim_test_support.h"

namespace authmilter::dkim {
namespace {

using namespace std::chrono_literals;

const std::string kDir = std::string(AUTHMILTER_TEST_DATA_DIR) + "/dkim-mail-dkim/";

// FAKE_DNS.dat: "name<WS>TXT rdata", or NXDOMAIN / ~~Query timed out~~ / ~~SERVFAIL~~ / "".
void load_fake_dns(dns::ZoneResolver& zone) {
  for (const auto& entry : testing::read_fake_dns(kDir + "FAKE_DNS.dat")) {
    if (entry.error) {
      zone.set_error(entry.name, dns::RrType::kTxt, *entry.error);
    } else {
      zone.add_txt(entry.name, {entry.txt});
    }
  }
}

struct Expectation {
  std::string file;
  std::string mail_dkim;  // pass / fail / invalid
  std::string version;    // v= of the signature(s)
  std::string headers;    // signature header type(s)
};

std::vector<Expectation> expectations() {
  std::vector<Expectation> out;
  for (const auto& columns : test_support::read_tsv(kDir + "EXPECTED.tsv")) {
    if (columns.size() < 6) continue;
    out.push_back({columns[0], columns[1], columns[5], columns[4]});
  }
  return out;
}

class MailDkimCorpus : public ::testing::Test {
 protected:
  MailDkimCorpus() { load_fake_dns(zone_); }

  std::vector<SignatureResult> verify(const std::string& file, const VerifierOptions& options) {
    Library library(zone_, options);
    auto verifier = library.start_message(file, dns::Clock::now() + 5s);
    auto message = testing::parse_message(testing::read_file(kDir + "corpus/" + file));
    return testing::verify(*verifier, message, testing::Feed::kRaw);
  }

  // The corpus is RFC 4871-era: rsa-sha1 and 512-bit keys throughout (README).
  static VerifierOptions legacy_options() {
    VerifierOptions options;
    options.allow_sha1 = true;
    options.min_key_bits = 512;
    return options;
  }

  dns::ZoneResolver zone_;
};

TEST_F(MailDkimCorpus, Version1MessagesMatchMailDkim) {
  // g= (key granularity) was dropped by RFC 6376 (Appendix C.5), so these RFC 4871
  // "invalid" keys verify now.
  const std::set<std::string> granularity = {"badkey_8.txt", "badkey_9.txt", "badkey_12.txt",
                                             "badkey_13.txt"};
  // Several signatures: Mail::DKIM reports the best one.
  const std::map<std::string, std::vector<Result>> multiple = {
      {"multiple_2.txt", {Result::kPermError, Result::kPass, Result::kFail, Result::kPermError}}};
  std::size_t checked = 0;
  for (const auto& e : expectations()) {
    if (e.version != "1") continue;
    SCOPED_TRACE(e.file);
    auto results = verify(e.file, legacy_options());
    ++checked;
    if (multiple.count(e.file) != 0) {
      const auto& want = multiple.at(e.file);
      ASSERT_EQ(results.size(), want.size());
      for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(results[i].result, want[i]) << i;
      continue;
    }
    ASSERT_EQ(results.size(), 1u);
    const auto& r = results[0];
    if (granularity.count(e.file) != 0) {
      EXPECT_EQ(e.mail_dkim, "invalid");
      EXPECT_EQ(r.result, Result::kPass) << r.comment;
    } else if (e.mail_dkim == "pass") {
      EXPECT_EQ(r.result, Result::kPass) << r.comment;
    } else if (e.mail_dkim == "fail") {
      EXPECT_EQ(r.result, Result::kFail) << r.comment;
    } else {
      ASSERT_EQ(e.mail_dkim, "invalid");
      bool dns = e.file == "badkey_14.txt" || e.file == "badkey_15.txt";  // timeout, SERVFAIL
      EXPECT_EQ(r.result, dns ? Result::kTempError : Result::kPermError) << r.comment;
    }
  }
  EXPECT_EQ(checked, 31u);
}

TEST_F(MailDkimCorpus, DefaultOptionsPutSha1AndShortKeysUnderPolicy) {
  auto results = verify("good_rfc4871_3.txt", {});  // rsa-sha1, 512-bit key
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPolicy);
  EXPECT_EQ(results[0].comment, "rsa-sha1 not accepted");

  VerifierOptions sha1;
  sha1.allow_sha1 = true;
  results = verify("good_rfc4871_3.txt", sha1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPolicy);
  EXPECT_EQ(results[0].comment, "key too short (512 bits)");

  results = verify("goodkey_ed25519.txt", {});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
}

TEST_F(MailDkimCorpus, PreRfcAndDomainKeysMessagesNeverPass) {
  std::size_t checked = 0;
  for (const auto& e : expectations()) {
    if (e.version == "1") continue;
    SCOPED_TRACE(e.file);
    auto results = verify(e.file, legacy_options());
    ++checked;
    if (e.headers.find("DKIM-Signature") == std::string::npos) {
      // DomainKeys (RFC 4870) only: no DKIM signature at all.
      EXPECT_TRUE(results.empty());
      continue;
    }
    ASSERT_FALSE(results.empty());
    for (const auto& r : results) EXPECT_EQ(r.result, Result::kPermError) << r.comment;
  }
  EXPECT_EQ(checked, 79u - 31u);
}

}  // namespace
}  // namespace authmilter::dkim
