// DKIM verification over ZoneResolver, with messages signed in the test (dkim_test_support.h).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <future>
#include <list>
#include <mutex>
#include <thread>

#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/zone_resolver.h"
#include "dkim_test_support.h"

namespace authmilter::dkim {
namespace {

using namespace std::chrono_literals;
using testing::Feed;
using testing::keys;
using testing::Message;
using testing::sample_message;
using testing::SignSpec;

std::uint64_t now_seconds() { return static_cast<std::uint64_t>(std::time(nullptr)); }

// Splits a key record into 255-octet character-strings, as a zone file would carry it.
std::vector<std::string> as_strings(const std::string& record) {
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < record.size(); pos += 255) out.push_back(record.substr(pos, 255));
  return out;
}

class DkimVerifierTest : public ::testing::Test {
 protected:
  void publish(const std::string& selector, const std::string& domain, EVP_PKEY* key,
               const std::string& extra = "") {
    zone_.add_txt(selector + "._domainkey." + domain, as_strings(testing::key_record(key, extra)));
  }

  Library& library() {
    if (!library_) library_ = std::make_unique<Library>(zone_, options_);
    return *library_;
  }

  std::vector<SignatureResult> run(const Message& message, Feed feed = Feed::kMilter,
                                   std::size_t chunk = 0) {
    auto verifier = library().start_message("TESTQ1", dns::Clock::now() + 5s);
    return testing::verify(*verifier, message, feed, chunk);
  }

  // The sample message signed once with `spec` and `key`.
  std::vector<SignatureResult> sign_and_run(const SignSpec& spec, EVP_PKEY* key) {
    Message message = sample_message();
    return run(testing::with_signatures(message, {testing::sign(message, spec, key)}));
  }

  dns::ZoneResolver zone_;
  VerifierOptions options_;
  std::unique_ptr<Library> library_;
};

TEST(DkimResultTest, TokensAreTheRfc8601Words) {
  EXPECT_EQ(to_token(Result::kNone), "none");
  EXPECT_EQ(to_token(Result::kPass), "pass");
  EXPECT_EQ(to_token(Result::kFail), "fail");
  EXPECT_EQ(to_token(Result::kNeutral), "neutral");
  EXPECT_EQ(to_token(Result::kPolicy), "policy");
  EXPECT_EQ(to_token(Result::kTempError), "temperror");
  EXPECT_EQ(to_token(Result::kPermError), "permerror");
}

TEST_F(DkimVerifierTest, UnsignedMessageGivesNoResults) {
  EXPECT_TRUE(run(sample_message()).empty());
  EXPECT_EQ(zone_.query_count(), 0u);
}

TEST_F(DkimVerifierTest, Ed25519IsSupported) { EXPECT_TRUE(library().supports_ed25519()); }

TEST_F(DkimVerifierTest, RsaSha256PassesInEveryCanonicalization) {
  publish("sel", "example.org", keys().rsa2048.get());
  for (const char* canon : {"simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed",
                            "relaxed", "simple"}) {
    SCOPED_TRACE(canon);
    SignSpec spec;
    spec.canonicalization = canon;
    spec.identity = "alice@example.org";
    auto results = sign_and_run(spec, keys().rsa2048.get());
    ASSERT_EQ(results.size(), 1u);
    const auto& r = results[0];
    EXPECT_EQ(r.result, Result::kPass) << r.comment;
    EXPECT_EQ(r.domain, "example.org");
    EXPECT_EQ(r.selector, "sel");
    EXPECT_EQ(r.identity, "alice@example.org");
    EXPECT_EQ(r.algorithm, "rsa-sha256");
    EXPECT_EQ(r.key_bits, 2048u);
    EXPECT_EQ(r.b_prefix.size(), kMinBPrefix);
    EXPECT_FALSE(r.dnssec);
    EXPECT_FALSE(r.test_key);
    EXPECT_TRUE(r.comment.empty()) << r.comment;
  }
}

TEST_F(DkimVerifierTest, Ed25519Sha256PassesInEveryCanonicalization) {
  publish("ed", "example.org", keys().ed25519.get());
  for (const char* canon :
       {"simple/simple", "simple/relaxed", "relaxed/simple", "relaxed/relaxed"}) {
    SCOPED_TRACE(canon);
    SignSpec spec;
    spec.algorithm = "ed25519-sha256";
    spec.selector = "ed";
    spec.canonicalization = canon;
    auto results = sign_and_run(spec, keys().ed25519.get());
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
    EXPECT_EQ(results[0].algorithm, "ed25519-sha256");
    EXPECT_EQ(results[0].key_bits, kEd25519KeyBits);
  }
}

TEST_F(DkimVerifierTest, Ed25519SignatureWithTamperedBodyFails) {
  publish("ed", "example.org", keys().ed25519.get());
  Message message = sample_message();
  SignSpec spec;
  spec.algorithm = "ed25519-sha256";
  spec.selector = "ed";
  auto signed_message =
      testing::with_signatures(message, {testing::sign(message, spec, keys().ed25519.get())});
  signed_message.body += "P.S. send money\r\n";
  auto results = run(signed_message);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kFail);
  EXPECT_EQ(results[0].comment, "body hash mismatch");
}

TEST_F(DkimVerifierTest, RsaSha1IsPolicyWithoutALookupUnlessAllowed) {
  publish("sel", "example.org", keys().rsa1024.get());
  SignSpec spec;
  spec.algorithm = "rsa-sha1";
  auto results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPolicy);
  EXPECT_EQ(results[0].comment, "rsa-sha1 not accepted");
  EXPECT_EQ(results[0].algorithm, "rsa-sha1");
  EXPECT_EQ(zone_.query_count(), 0u);

  library_.reset();
  options_.allow_sha1 = true;
  results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  EXPECT_EQ(results[0].key_bits, 1024u);
}

TEST_F(DkimVerifierTest, TwoSignaturesOneGoodOneBadAreBothReported) {
  publish("good", "example.org", keys().rsa1024.get());
  publish("bad", "example.net", keys().rsa1024.get());
  Message message = sample_message();
  SignSpec good;
  good.selector = "good";
  SignSpec bad;
  bad.selector = "bad";
  bad.domain = "example.net";
  // Signed with a key other than the published one: the signature cannot verify.
  auto signed_message =
      testing::with_signatures(message, {testing::sign(message, good, keys().rsa1024.get()),
                                         testing::sign(message, bad, keys().other_rsa1024.get())});
  auto results = run(signed_message);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].result, Result::kPass);
  EXPECT_EQ(results[0].domain, "example.org");
  EXPECT_EQ(results[1].result, Result::kFail);
  EXPECT_EQ(results[1].comment, "signature did not verify");
  EXPECT_EQ(results[1].domain, "example.net");
  EXPECT_EQ(results[1].selector, "bad");
  EXPECT_NE(results[0].b_prefix, results[1].b_prefix);
}

TEST_F(DkimVerifierTest, BodyAlteredAfterSigningIsBodyHashMismatch) {
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  auto signed_message =
      testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get())});
  signed_message.body.insert(0, "Ignore the below.\r\n");
  auto results = run(signed_message);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kFail);
  EXPECT_EQ(results[0].comment, "body hash mismatch");
  EXPECT_EQ(results[0].key_bits, 1024u);
}

TEST_F(DkimVerifierTest, SignedHeaderAlteredIsSignatureMismatchButAddedHeaderIsNot) {
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  auto signed_message =
      testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get())});

  Message added = signed_message;
  added.fields.push_back("X-Spam-Score: 0.1");
  auto results = run(added);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;

  Message altered = signed_message;
  for (auto& field : altered.fields) {
    if (field.rfind("Subject:", 0) == 0) field = "Subject: Lunch on Saturday?";
  }
  results = run(altered);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kFail);
  EXPECT_EQ(results[0].comment, "signature did not verify");
}

TEST_F(DkimVerifierTest, OversignedFromCatchesAnAddedFrom) {
  // RFC 6376 §5.4.2: each h= name takes the next instance from the bottom up. Listing From
  // twice signs "no second From"; a From added later is then picked up and breaks the hash.
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  SignSpec spec;
  spec.headers = {"From", "From", "To", "Subject"};
  auto signed_message =
      testing::with_signatures(message, {testing::sign(message, spec, keys().rsa1024.get())});
  signed_message.fields.insert(signed_message.fields.begin() + 1, "From: mallory@example.com");
  auto results = run(signed_message);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kFail);
}

TEST_F(DkimVerifierTest, BodyLengthLimitLetsAppendedTextPass) {
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  SignSpec spec;
  spec.body_length = testing::canon_body(message.body, true).size();
  auto signed_message =
      testing::with_signatures(message, {testing::sign(message, spec, keys().rsa1024.get())});
  signed_message.body += "--\r\nAppended by a mailing list\r\n";
  auto results = run(signed_message);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  EXPECT_EQ(results[0].comment, "body length limit l=" + std::to_string(*spec.body_length));

  // The same appended text without l= breaks the body hash.
  auto plain =
      testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get())});
  plain.body += "--\r\nAppended by a mailing list\r\n";
  results = run(plain);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].comment, "body hash mismatch");
}

TEST_F(DkimVerifierTest, BodyLengthLongerThanTheBodyFails) {
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  SignSpec spec;
  spec.body_length = 40;
  auto signed_message =
      testing::with_signatures(message, {testing::sign(message, spec, keys().rsa1024.get())});
  signed_message.body = "Hi\r\n";  // shorter than l=
  auto results = run(signed_message);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kFail);
  EXPECT_EQ(results[0].comment, "l= exceeds body length");
}

TEST_F(DkimVerifierTest, ExpiredSignatureIsPermerror) {
  publish("sel", "example.org", keys().rsa1024.get());
  SignSpec spec;
  spec.timestamp = now_seconds() - 7200;
  spec.expiration = now_seconds() - 3600;  // well past the 300 s clock drift allowed
  auto results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[0].comment, "signature expired");
  EXPECT_EQ(zone_.query_count(), 0u);

  spec.expiration = now_seconds() + 3600;
  results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
}

TEST_F(DkimVerifierTest, ExpirationBeforeTimestampIsPermerror) {
  publish("sel", "example.org", keys().rsa1024.get());
  SignSpec spec;
  spec.timestamp = now_seconds() - 10;
  spec.expiration = now_seconds() - 20;  // x= < t= (RFC 6376 §3.5), not yet past the drift
  auto results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
}

TEST_F(DkimVerifierTest, TimestampInTheFutureIsNeutral) {
  publish("sel", "example.org", keys().rsa1024.get());
  SignSpec spec;
  spec.timestamp = now_seconds() + 86400;
  auto results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kNeutral);
  EXPECT_EQ(results[0].comment, "signature timestamp in the future");
}

TEST_F(DkimVerifierTest, MissingKeyIsPermerror) {
  auto results = sign_and_run({}, keys().rsa1024.get());  // nothing published: NXDOMAIN
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[0].comment, "no key for signature");
  EXPECT_EQ(results[0].key_bits, 0u);

  // NODATA (the name exists with another type) is no key as well.
  zone_.add("sel._domainkey.example.org", dns::RrType::kA, "192.0.2.1");
  results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[0].comment, "no key for signature");
}

TEST_F(DkimVerifierTest, RevokedKeyIsPermerror) {
  zone_.add_txt("sel._domainkey.example.org", {"v=DKIM1; k=rsa; p="});
  auto results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[0].comment, "key revoked");
}

TEST_F(DkimVerifierTest, KeyWithTEqualsSRefusesSubdomainIdentity) {
  publish("sel", "example.org", keys().rsa1024.get(), "t=s; ");
  SignSpec spec;
  spec.identity = "alice@mail.example.org";
  auto results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[0].comment, "key t=s does not allow a subdomain i=");
  EXPECT_EQ(results[0].identity, "alice@mail.example.org");

  spec.identity = "alice@example.org";
  results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
}

TEST_F(DkimVerifierTest, SubdomainIdentityPassesWithoutTEqualsS) {
  publish("sel", "example.org", keys().rsa1024.get(), "t=y; ");
  SignSpec spec;
  spec.identity = "@mail.example.org";
  auto results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  EXPECT_TRUE(results[0].test_key);
}

TEST_F(DkimVerifierTest, IdentityOutsideTheSigningDomainIsPermerror) {
  publish("sel", "example.org", keys().rsa1024.get());
  SignSpec spec;
  spec.identity = "alice@example.com";
  auto results = sign_and_run(spec, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_NE(results[0].comment.find("malformed signature"), std::string::npos);
}

TEST_F(DkimVerifierTest, ShortRsaKeyIsPolicyUnlessAllowed) {
  publish("sel", "example.org", keys().rsa512.get());
  auto results = sign_and_run({}, keys().rsa512.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPolicy);
  EXPECT_EQ(results[0].comment, "key too short (512 bits)");
  EXPECT_EQ(results[0].key_bits, 512u);

  library_.reset();
  options_.min_key_bits = 512;
  results = sign_and_run({}, keys().rsa512.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
}

TEST_F(DkimVerifierTest, MinKeyBitsBoundaryAtTheLimitAndOnePast) {
  publish("sel", "example.org", keys().rsa1024.get());
  options_.min_key_bits = 1024;  // at the limit: accepted
  auto results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass);

  library_.reset();
  options_.min_key_bits = 1025;  // one past
  results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPolicy);
  EXPECT_EQ(results[0].comment, "key too short (1024 bits)");
}

TEST_F(DkimVerifierTest, KeyRecordSplitOverSeveralStringsIsJoined) {
  std::string record = testing::key_record(keys().rsa2048.get());
  std::vector<std::string> pieces;
  for (std::size_t pos = 0; pos < record.size(); pos += 37)
    pieces.push_back(record.substr(pos, 37));
  ASSERT_GT(pieces.size(), 5u);
  zone_.add_txt("sel._domainkey.example.org", pieces);
  auto results = sign_and_run({}, keys().rsa2048.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
}

TEST_F(DkimVerifierTest, KeyRecordInOneOverlongStringIsStillUsable) {
  // Not valid on the wire, but a resolver could hand it over; the hook re-splits it.
  zone_.add_txt("sel._domainkey.example.org", {testing::key_record(keys().rsa2048.get())});
  auto results = sign_and_run({}, keys().rsa2048.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
}

TEST_F(DkimVerifierTest, ServfailAndTimeoutAreTemperror) {
  zone_.set_error("sel._domainkey.example.org", dns::RrType::kTxt, dns::Status::kServFail);
  auto results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kTempError);
  EXPECT_EQ(results[0].comment.rfind("key lookup failed", 0), 0u) << results[0].comment;

  zone_.set_error("sel._domainkey.example.org", dns::RrType::kTxt, dns::Status::kTimeout);
  results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kTempError);

  zone_.set_error("sel._domainkey.example.org", dns::RrType::kTxt, dns::Status::kError);
  results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kTempError);
}

TEST_F(DkimVerifierTest, MoreSignaturesThanTheCapAreReportedAsPolicy) {
  Message message = sample_message();
  std::vector<std::string> signatures;
  for (int i = 0; i < 7; ++i) {
    SignSpec spec;
    spec.selector = "s" + std::to_string(i);
    publish(spec.selector, "example.org", keys().rsa1024.get());
    signatures.push_back(testing::sign(message, spec, keys().rsa1024.get()));
  }
  auto results = run(testing::with_signatures(message, signatures));
  ASSERT_EQ(results.size(), 7u);
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(results[i].result, Result::kPass) << i;
  for (std::size_t i = 5; i < 7; ++i) {
    EXPECT_EQ(results[i].result, Result::kPolicy);
    EXPECT_EQ(results[i].comment, "more than 5 signatures");
    EXPECT_EQ(results[i].selector, "s" + std::to_string(i));
  }
  EXPECT_EQ(zone_.query_count(), 5u);  // no lookups for the ones past the cap
}

TEST_F(DkimVerifierTest, MalformedAndPolicySignaturesDoNotCountAgainstTheCap) {
  options_.max_signatures = 1;
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  SignSpec sha1;
  sha1.algorithm = "rsa-sha1";
  auto results = run(
      testing::with_signatures(message, {"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; b=AAAA",
                                         testing::sign(message, sha1, keys().rsa1024.get()),
                                         testing::sign(message, {}, keys().rsa1024.get())}));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[1].result, Result::kPolicy);
  EXPECT_EQ(results[2].result, Result::kPass) << results[2].comment;
}

TEST_F(DkimVerifierTest, MaxSignaturesZeroVerifiesNothing) {
  options_.max_signatures = 0;
  publish("sel", "example.org", keys().rsa1024.get());
  auto results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPolicy);
  EXPECT_EQ(zone_.query_count(), 0u);
}

TEST_F(DkimVerifierTest, MalformedSignaturesArePermerror) {
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  std::string good = testing::sign(message, {}, keys().rsa1024.get());
  const std::vector<std::string> malformed = {
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA",  // no b=
      "DKIM-Signature: garbage",
      "DKIM-Signature:",
      "DKIM-Signature: v=1; a=rsa-sha256; d=exa mple!.org; s=sel; h=from; bh=AA; b=AA",
      "DKIM-Signature: v=2; a=rsa-sha256; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA",
      "DKIM-Signature: v=1; a=rsa-sha512; d=example.org; s=sel; h=from; bh=AAAA; b=AAAA",
      "DKIM-Signature: v=1; a=rsa-sha256; c=fancy; d=example.org; s=sel; h=from; bh=AAAA; "
      "b=AAAA",
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=to:subject; bh=AAAA; b=AAAA",
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=from; l=-5; bh=AAAA; b=AAAA",
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; h=from; x=soon; bh=AAAA; b=AAAA",
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel; s=other; h=from; bh=AAAA; "
      "b=AAAA",
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s\xc3\xa9l; h=from; bh=AAAA; b=AAAA",
  };
  for (const auto& field : malformed) {
    SCOPED_TRACE(field);
    auto results = run(testing::with_signatures(message, {field, good}));
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].result, Result::kPermError) << results[0].comment;
    EXPECT_FALSE(results[0].comment.empty());
    // The good signature next to it is unaffected.
    EXPECT_EQ(results[1].result, Result::kPass) << results[1].comment;
  }
  EXPECT_EQ(zone_.query_count(), malformed.size());  // only the good signature's key
}

TEST_F(DkimVerifierTest, DuplicateTagIsMalformedEvenThoughLibopendkimAcceptsIt) {
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  std::string good = testing::sign(message, {}, keys().rsa1024.get());
  // A second d= after the signed one: libopendkim would keep one of them silently.
  std::string duplicated = good;
  duplicated.insert(duplicated.find("; s=sel;"), "; d=example.org");
  auto results = run(testing::with_signatures(message, {duplicated}));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[0].comment, "malformed signature: duplicate tag d=");
  EXPECT_EQ(results[0].domain, "example.org");
}

TEST_F(DkimVerifierTest, UnusableKeysArePermerror) {
  struct Case {
    std::string record;
    std::string comment;
  };
  std::string p = "p=" + testing::public_key_base64(keys().rsa1024.get());
  const std::vector<Case> cases = {
      {"v=DKIM1; k=rsa; h=sha1; " + p, "key h= does not allow the signature's hash"},
      {"v=DKIM1; k=rsa; s=tlsrpt; " + p, "key s= does not allow email"},
      {"v=DKIM1; k=dsa; " + p, "unknown key type"},
      {"v=DKIM2; k=rsa; " + p, "unknown key version"},
      {"v=DKIM1; k=rsa; p=Zm9vYmFy", "key could not be decoded"},
      {"v=DKIM1; k=ed25519; " + p, "key type does not match the algorithm"},
      {"v=DKIM1; k=rsa; p=" + testing::public_key_base64(keys().ed25519.get()),
       "key could not be decoded"},
      {"v=DKIM1; k=rsa; p=!!!not base64!!!", ""},
      {"v=DKIM1; k=rsa", ""},
      {"", ""},
      {"\x01\x02 binary \xff", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.record);
    dns::ZoneResolver zone;
    zone.add_txt("sel._domainkey.example.org", {c.record});
    Library library(zone, options_);
    auto verifier = library.start_message("Q", dns::Clock::now() + 5s);
    Message message = sample_message();
    auto results = testing::verify(
        *verifier,
        testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get())}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPermError) << results[0].comment;
    if (!c.comment.empty()) {
      EXPECT_EQ(results[0].comment, c.comment);
    }
  }
}

TEST_F(DkimVerifierTest, KeyWithSEqualsEmailOrStarIsAccepted) {
  for (const char* service : {"s=email; ", "s=*; ", "s=email:tlsrpt; "}) {
    SCOPED_TRACE(service);
    dns::ZoneResolver zone;
    zone.add_txt("sel._domainkey.example.org",
                 as_strings(testing::key_record(keys().rsa1024.get(), service)));
    Library library(zone, options_);
    auto verifier = library.start_message("Q", dns::Clock::now() + 5s);
    Message message = sample_message();
    auto results = testing::verify(
        *verifier,
        testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get())}));
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
  }
}

TEST_F(DkimVerifierTest, SeveralKeyRecordsArePermerror) {
  publish("sel", "example.org", keys().rsa1024.get());
  publish("sel", "example.org", keys().other_rsa1024.get());
  auto results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[0].comment, "several key records");
}

TEST_F(DkimVerifierTest, AuthenticatedKeyAnswerSetsDnssec) {
  publish("sel", "example.org", keys().rsa1024.get());
  zone_.set_authenticated(true);
  auto results = sign_and_run({}, keys().rsa1024.get());
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass);
  EXPECT_TRUE(results[0].dnssec);
}

TEST_F(DkimVerifierTest, KeyLookupsStartAtEndOfHeadersAndAreShared) {
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  SignSpec relaxed;
  SignSpec simple;
  simple.canonicalization = "simple/simple";
  Message signed_message =
      testing::with_signatures(message, {testing::sign(message, relaxed, keys().rsa1024.get()),
                                         testing::sign(message, simple, keys().rsa1024.get())});
  auto verifier = library().start_message("Q", dns::Clock::now() + 5s);
  for (const auto& field : signed_message.fields) verifier->header_field(field);
  EXPECT_EQ(zone_.query_count(), 0u);
  verifier->end_of_headers();
  EXPECT_EQ(zone_.query_count("sel._domainkey.example.org", dns::RrType::kTxt), 1u);
  verifier->body(signed_message.body);
  auto results = verifier->finish();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].result, Result::kPass);
  EXPECT_EQ(results[1].result, Result::kPass);
  // The key was fetched once, at end of headers, for both signatures.
  EXPECT_EQ(zone_.query_count(), 1u);
  // finish() again gives the same answer without any more work.
  auto again = verifier->finish();
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].b_prefix, results[0].b_prefix);
  EXPECT_EQ(zone_.query_count(), 1u);
}

// A resolver whose answers never come (an unreachable upstream), for deadline and cancel.
class StalledResolver final : public dns::Resolver {
 public:
  dns::PendingAnswer start(std::string_view, dns::RrType) override {
    std::lock_guard lock(mutex_);
    promises_.emplace_back();
    ++started_;
    return promises_.back().get_future();
  }
  std::size_t started() const {
    std::lock_guard lock(mutex_);
    return started_;
  }

 private:
  mutable std::mutex mutex_;
  std::list<dns::AnswerPromise> promises_;
  std::size_t started_ = 0;
};

TEST(DkimDeadlineTest, KeyLookupStopsAtTheMessageDeadline) {
  StalledResolver resolver;
  Library library(resolver, {});
  Message message = sample_message();
  auto signed_message =
      testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get())});
  auto begin = dns::Clock::now();
  auto verifier = library.start_message("Q", begin + 150ms);
  auto results = testing::verify(*verifier, signed_message);
  auto elapsed = dns::Clock::now() - begin;
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kTempError);
  EXPECT_GE(elapsed, 140ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_EQ(resolver.started(), 1u);
}

TEST(DkimDeadlineTest, CancelFlagStopsTheKeyLookup) {
  StalledResolver resolver;
  Library library(resolver, {});
  Message message = sample_message();
  auto signed_message =
      testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get())});
  work::CancelToken cancel;
  auto begin = dns::Clock::now();
  auto verifier = library.start_message("Q", begin + 30s, &cancel);
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(50ms);
    cancel.cancel();
  });
  auto results = testing::verify(*verifier, signed_message);
  canceller.join();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kTempError);
  EXPECT_LT(dns::Clock::now() - begin, 5s);
}

TEST_F(DkimVerifierTest, LfLineEndsAndChunkingDoNotMatter) {
  publish("sel", "example.org", keys().rsa1024.get());
  for (const char* canon : {"simple/simple", "relaxed/relaxed"}) {
    SignSpec spec;
    spec.canonicalization = canon;
    Message message = sample_message();
    Message signed_message =
        testing::with_signatures(message, {testing::sign(message, spec, keys().rsa1024.get())});
    for (const std::size_t chunk : {0u, 1u, 2u, 7u, 64u}) {
      SCOPED_TRACE(std::string(canon) + " chunk " + std::to_string(chunk));
      auto results = run(signed_message, Feed::kMilter, chunk);
      ASSERT_EQ(results.size(), 1u);
      EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
    }
    // Bare LF everywhere (folds and body), as some MTAs hand them over.
    Message lf = signed_message;
    for (auto& field : lf.fields) {
      for (std::size_t pos; (pos = field.find("\r\n")) != std::string::npos;) field.erase(pos, 1);
    }
    for (std::size_t pos; (pos = lf.body.find("\r\n")) != std::string::npos;) lf.body.erase(pos, 1);
    for (const std::size_t chunk : {0u, 1u, 5u}) {
      SCOPED_TRACE(std::string(canon) + " LF chunk " + std::to_string(chunk));
      auto results = run(lf, Feed::kMilter, chunk);
      ASSERT_EQ(results.size(), 1u);
      EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
      // The same through header_field().
      results = run(lf, Feed::kRaw, chunk);
      ASSERT_EQ(results.size(), 1u);
      EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
    }
  }
}

TEST_F(DkimVerifierTest, BodyWithoutFinalCrlfAndEmptyBodyVerify) {
  publish("sel", "example.org", keys().rsa1024.get());
  for (const char* canon : {"simple/simple", "relaxed/relaxed"}) {
    for (const char* body : {"", "no final line end", "\r\n\r\n"}) {
      SCOPED_TRACE(std::string(canon) + " body '" + body + "'");
      Message message = sample_message();
      message.body = body;
      SignSpec spec;
      spec.canonicalization = canon;
      auto results = run(
          testing::with_signatures(message, {testing::sign(message, spec, keys().rsa1024.get())}));
      ASSERT_EQ(results.size(), 1u);
      EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
    }
  }
}

TEST_F(DkimVerifierTest, RawFieldsKeepSpacingThatMilterValuesLose) {
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  message.fields.push_back("Keywords:lunch");  // no space after the colon
  SignSpec spec;
  spec.canonicalization = "simple/simple";
  spec.headers = {"From", "Subject", "Keywords"};
  Message signed_message =
      testing::with_signatures(message, {testing::sign(message, spec, keys().rsa1024.get())});
  auto raw = run(signed_message, Feed::kRaw);
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0].result, Result::kPass) << raw[0].comment;
  // header(name, value) writes "Keywords: lunch"; simple canonicalization sees the change.
  auto milter = run(signed_message, Feed::kMilter);
  ASSERT_EQ(milter.size(), 1u);
  EXPECT_EQ(milter[0].result, Result::kFail);
}

TEST_F(DkimVerifierTest, UnparsableFromDoesNotStopVerification) {
  publish("sel", "example.org", keys().rsa1024.get());
  Message message = sample_message();
  message.fields[0] = "From: undisclosed-recipients:;";
  auto results =
      run(testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get())}));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
}

TEST_F(DkimVerifierTest, SameSignerTwiceGetsLongerBPrefixes) {
  // Two copies of one signature cannot be told apart; two with a long common prefix can.
  Message message = sample_message();
  const std::string common(20, 'Q');
  auto results = run(testing::with_signatures(
      message, {"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=a; h=from; bh=AAAA; b=" +
                    common + "xyz",
                "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=b; h=from; bh=AAAA; b=" +
                    common + "xzz",
                "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=c; h=from; bh=AAAA; b=" +
                    std::string(200, 'Z') + "1",
                "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=d; h=from; bh=AAAA; b=" +
                    std::string(200, 'Z') + "2",
                "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=e; h=from; bh=AAAA; b=Sh",
                "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=f; h=from; bh=AAAA; "
                "b=ab\r\n cd(ef)\"gh"}));
  ASSERT_EQ(results.size(), 6u);
  EXPECT_EQ(results[0].b_prefix, common + "xy");
  EXPECT_EQ(results[1].b_prefix, common + "xz");
  EXPECT_EQ(results[2].b_prefix, std::string(kMaxBPrefix, 'Z'));
  EXPECT_EQ(results[4].b_prefix, "Sh");
  EXPECT_EQ(results[5].b_prefix, "abcd");  // folding removed, stops at a non-base64 character
}

TEST_F(DkimVerifierTest, MemoizedKeysAreKeptApartByAlgorithm) {
  // One Library remembers parsed keys by record text and algorithm: the same k=ed25519
  // record must stay unusable for an rsa-sha256 signature after it served an Ed25519 one.
  publish("ed", "example.org", keys().ed25519.get());
  SignSpec ed;
  ed.algorithm = "ed25519-sha256";
  ed.selector = "ed";
  SignSpec rsa;
  rsa.selector = "ed";
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    auto results = sign_and_run(ed, keys().ed25519.get());
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPass) << results[0].comment;
    results = sign_and_run(rsa, keys().rsa1024.get());
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPermError);
    EXPECT_EQ(results[0].comment, "key type does not match the algorithm");
  }
}

TEST_F(DkimVerifierTest, ConcurrentMessagesShareOneLibrary) {
  publish("sel", "example.org", keys().rsa1024.get());
  publish("ed", "example.org", keys().ed25519.get());
  Message message = sample_message();
  SignSpec ed;
  ed.algorithm = "ed25519-sha256";
  ed.selector = "ed";
  Message good =
      testing::with_signatures(message, {testing::sign(message, {}, keys().rsa1024.get()),
                                         testing::sign(message, ed, keys().ed25519.get())});
  Message bad = good;
  bad.body += "tampered\r\n";
  Library& shared = library();
  std::vector<std::future<bool>> outcomes;
  for (int t = 0; t < 8; ++t) {
    outcomes.push_back(std::async(std::launch::async, [&shared, &good, &bad, t] {
      bool ok = true;
      for (int i = 0; i < 20; ++i) {
        bool tamper = (i + t) % 3 == 0;
        auto verifier = shared.start_message("Q" + std::to_string(t), dns::Clock::now() + 5s);
        auto results = testing::verify(*verifier, tamper ? bad : good, Feed::kMilter, 16);
        Result want = tamper ? Result::kFail : Result::kPass;
        ok = ok && results.size() == 2 && results[0].result == want && results[1].result == want;
      }
      return ok;
    }));
  }
  for (auto& outcome : outcomes) EXPECT_TRUE(outcome.get());
}

}  // namespace
}  // namespace authmilter::dkim
