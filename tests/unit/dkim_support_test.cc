// Checks of the test signer (tests/support/dkim_test_support.h) against RFC 6376 / RFC 8463.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dkim_test_support.h"

namespace authmilter::dkim::testing {
namespace {

const std::string kRfcDir = std::string(AUTHMILTER_TEST_DATA_DIR) + "/dkim-rfc-examples/";

// The field of `message` whose text starts with `prefix`.
std::string field_starting(const Message& message, std::string_view prefix) {
  for (const auto& field : message.fields) {
    if (field.rfind(prefix, 0) == 0) return field;
  }
  throw std::runtime_error("no field " + std::string(prefix));
}

TEST(DkimTestSigner, CanonicalizationFollowsRfc6376Section3_4_6Example) {
  // RFC 6376 §3.4.6, Example 1 (relaxed) and Example 2 (simple), with the example's spacing.
  Message message = parse_message("A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n");
  EXPECT_EQ(canon_header(message.fields[0], true), "a:X\r\n");
  EXPECT_EQ(canon_header(message.fields[1], true), "b:Y Z\r\n");
  EXPECT_EQ(canon_body(message.body, true), " C\r\nD E\r\n");
  EXPECT_EQ(canon_header(message.fields[1], false), "B : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(canon_body(message.body, false), " C \r\nD \t E\r\n");
  // §3.4.3 / §3.4.4: empty bodies.
  EXPECT_EQ(canon_body("", false), "\r\n");
  EXPECT_EQ(canon_body("", true), "");
  EXPECT_EQ(canon_body("\r\n\r\n", true), "");
}

TEST(DkimTestSigner, BodyHashOfRfc8463MessageMatchesAppendixA) {
  Message message = parse_message(read_file(kRfcDir + "rfc8463-A1-unsigned.eml"));
  EXPECT_EQ(body_hash(message.body, false, "ed25519-sha256"),
            "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
}

TEST(DkimTestSigner, ReproducesRfc8463AppendixA3SignaturesExactly) {
  Message unsigned_message = parse_message(read_file(kRfcDir + "rfc8463-A1-unsigned.eml"));
  Message signed_message = parse_message(read_file(kRfcDir + "rfc8463-A3-signed.eml"));
  const std::vector<std::string> h = {"from",       "to",   "subject", "date",
                                      "message-id", "from", "subject", "date"};

  std::string ed_field = field_starting(signed_message, "DKIM-Signature: v=1; a=ed25519");
  std::string ed_template = ed_field.substr(0, ed_field.find(" b=") + 3);
  Key ed_key =
      ed25519_from_seed(unbase64(read_file(kRfcDir + "rfc8463-brisbane-ed25519.private.b64")));
  EXPECT_EQ(public_key_base64(ed_key.get()), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  std::string ed_signed = sign_template(unsigned_message, ed_template, h, "ed25519-sha256",
                                        "simple/simple", ed_key.get());
  EXPECT_EQ(without_whitespace(ed_signed), without_whitespace(ed_field));

  std::string rsa_field = field_starting(signed_message, "DKIM-Signature: v=1; a=rsa-sha256");
  std::string rsa_template = rsa_field.substr(0, rsa_field.find(" b=") + 3);
  Key rsa_key = private_key_from_pem(read_file(kRfcDir + "rfc8463-test-rsa.private.pem"));
  std::string rsa_signed = sign_template(unsigned_message, rsa_template, h, "rsa-sha256",
                                         "simple/simple", rsa_key.get());
  EXPECT_EQ(without_whitespace(rsa_signed), without_whitespace(rsa_field));
}

TEST(DkimTestSigner, Base64RoundTrips) {
  for (std::string data : {"", "a", "ab", "abc", "abcd", "\x01\xff\x80"}) {
    EXPECT_EQ(unbase64(base64(data)), data);
  }
  EXPECT_THROW(unbase64("!!!!"), std::runtime_error);
}

}  // namespace
}  // namespace authmilter::dkim::testing
