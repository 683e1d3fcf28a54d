// Tests for extract_pra(): every step of RFC 4407 §2 and its "no PRA" outcomes.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "authmilter/mail/pra.h"

namespace authmilter::mail {
namespace {

using std::string_literals::operator""s;
using Fields = std::vector<HeaderField>;

constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);

struct Case {
  const char* name;
  Fields headers;
  bool ok;
  std::optional<PraSource> source;
  std::size_t index;    // of the selected field, kNoIndex when none
  std::string address;  // ok: the PRA; !ok: a part of the error text
};

// Frequently used fields.
const HeaderField kReceived{"Received", "from a by b; Mon, 1 Jan 2024"};
const HeaderField kReturnPath{"Return-Path", "<bounce@list.example>"};

TEST(Pra, Rfc4407Section2Table) {
  using enum PraSource;
  const Case cases[] = {
      // Step 4: a single From.
      {"from only", {{"From", "Alice <alice@example.org>"}}, true, kFrom, 0, "alice@example.org"},
      {"from among others",
       {kReceived, {"To", "b@x.example"}, {"From", "a@Example.ORG"}, {"Subject", "hi"}},
       true,
       kFrom,
       2,
       "a@example.org"},
      // Step 3: a single Sender wins over From, even over several From fields.
      {"sender over from",
       {{"From", "a@x.example"}, {"Sender", "s@y.example"}},
       true,
       kSender,
       1,
       "s@y.example"},
      {"sender over multi-mailbox from",
       {{"From", "a@x.example, b@x.example"}, {"Sender", "Sec <s@y.example>"}},
       true,
       kSender,
       1,
       "s@y.example"},
      {"sender with two from fields",
       {{"From", "a@x.example"}, {"From", "b@x.example"}, {"Sender", "s@y.example"}},
       true,
       kSender,
       2,
       "s@y.example"},
      {"sender only (no from)", {{"Sender", "s@y.example"}}, true, kSender, 0, "s@y.example"},
      // Step 3 -> 6: several non-empty Sender fields.
      {"two senders",
       {{"Sender", "s@y.example"}, {"From", "a@x.example"}, {"Sender", "t@y.example"}},
       false,
       kSender,
       kNoIndex,
       "2 Sender fields"},
      // Step 4 -> 6: several From fields, no Sender.
      {"two froms",
       {{"From", "a@x.example"}, {"From", "b@x.example"}},
       false,
       kFrom,
       kNoIndex,
       "2 From fields"},
      {"three froms",
       {{"From", "a@x.example"}, {"from", "a@x.example"}, {"FROM", "a@x.example"}},
       false,
       kFrom,
       kNoIndex,
       "3 From fields"},
      // Step 4 -> 6: nothing at all.
      {"no fields", {}, false, std::nullopt, kNoIndex, "no Resent-Sender"},
      {"only other fields",
       {kReceived, {"To", "b@x.example"}, {"Reply-To", "r@x.example"}},
       false,
       std::nullopt,
       kNoIndex,
       "no Resent-Sender"},
      // Non-empty: blank fields are treated as absent.
      {"blank sender ignored",
       {{"Sender", "  "}, {"From", "a@x.example"}},
       true,
       kFrom,
       1,
       "a@x.example"},
      {"blank sender does not count twice",
       {{"Sender", ""}, {"Sender", "s@y.example"}, {"Sender", "\r\n\t"}},
       true,
       kSender,
       1,
       "s@y.example"},
      {"blank from ignored",
       {{"From", ""}, {"From", "a@x.example"}},
       true,
       kFrom,
       1,
       "a@x.example"},
      {"blank resent-sender and resent-from ignored",
       {{"Resent-Sender", " "}, {"Resent-From", "\t"}, {"From", "a@x.example"}},
       true,
       kFrom,
       2,
       "a@x.example"},
      {"only blank fields",
       {{"From", " "}, {"Sender", ""}},
       false,
       std::nullopt,
       kNoIndex,
       "no Resent-Sender"},
      {"comment-only from is not blank",
       {{"From", "(nobody)"}},
       false,
       kFrom,
       0,
       "From is unparsable"},
      // Step 2: the first non-empty Resent-From, over Sender and From.
      {"resent-from over from",
       {{"Resent-From", "fwd@list.example"}, {"From", "a@x.example"}},
       true,
       kResentFrom,
       0,
       "fwd@list.example"},
      {"first of two resent-from",
       {{"Resent-From", "new@fwd.example"},
        kReceived,
        {"Resent-From", "old@fwd.example"},
        {"From", "a@x.example"}},
       true,
       kResentFrom,
       0,
       "new@fwd.example"},
      {"resent-from over two froms and two senders",
       {{"From", "a@x.example"},
        {"From", "b@x.example"},
        {"Sender", "s@y.example"},
        {"Sender", "t@y.example"},
        {"Resent-From", "fwd@list.example"}},
       true,
       kResentFrom,
       4,
       "fwd@list.example"},
      // Step 1: the first non-empty Resent-Sender.
      {"resent-sender alone",
       {{"Resent-Sender", "rs@fwd.example"}, {"From", "a@x.example"}},
       true,
       kResentSender,
       0,
       "rs@fwd.example"},
      {"resent-sender in the same block as resent-from",
       {{"Resent-From", "rf@fwd.example"},
        {"Resent-Sender", "rs@fwd.example"},
        kReceived,
        {"From", "a@x.example"}},
       true,
       kResentSender,
       1,
       "rs@fwd.example"},
      {"resent-sender before resent-from",
       {{"Resent-Sender", "rs@fwd.example"},
        {"Resent-From", "rf@fwd.example"},
        kReceived,
        {"From", "a@x.example"}},
       true,
       kResentSender,
       0,
       "rs@fwd.example"},
      {"resent-sender after resent-from, other fields between",
       {{"Resent-From", "rf@fwd.example"},
        {"Resent-Date", "Mon, 1 Jan 2024"},
        {"Resent-Sender", "rs@fwd.example"}},
       true,
       kResentSender,
       2,
       "rs@fwd.example"},
      {"first of two resent-senders",
       {{"Resent-Sender", "one@fwd.example"}, kReceived, {"Resent-Sender", "two@fwd.example"}},
       true,
       kResentSender,
       0,
       "one@fwd.example"},
      {"trace before resent-from does not block",
       {kReceived, {"Resent-From", "rf@fwd.example"}, {"Resent-Sender", "rs@fwd.example"}},
       true,
       kResentSender,
       2,
       "rs@fwd.example"},
      // Step 1 -> 2: a Resent-From, then Received/Return-Path, then the Resent-Sender (which
      // belongs to an older resent block).
      {"resent-sender blocked by received",
       {{"Resent-From", "new@fwd.example"},
        kReceived,
        {"Resent-Sender", "old@fwd.example"},
        {"From", "a@x.example"}},
       true,
       kResentFrom,
       0,
       "new@fwd.example"},
      {"resent-sender blocked by return-path",
       {{"Resent-From", "new@fwd.example"}, kReturnPath, {"Resent-Sender", "old@fwd.example"}},
       true,
       kResentFrom,
       0,
       "new@fwd.example"},
      {"blocked, trace field name case-insensitive",
       {{"resent-from", "new@fwd.example"}, {"RECEIVED", "x"}, {"resent-SENDER", "old@f.example"}},
       true,
       kResentFrom,
       0,
       "new@fwd.example"},
      {"blank trace field still blocks",
       {{"Resent-From", "new@fwd.example"}, {"Received", ""}, {"Resent-Sender", "old@f.example"}},
       true,
       kResentFrom,
       0,
       "new@fwd.example"},
      {"blank resent-from does not block",
       {{"Resent-From", " "}, kReceived, {"Resent-Sender", "rs@fwd.example"}},
       true,
       kResentSender,
       2,
       "rs@fwd.example"},
      {"blocked: only the first non-empty resent-sender counts",
       {{"Resent-From", "new@fwd.example"},
        kReceived,
        {"Resent-Sender", "old@fwd.example"},
        {"Resent-Sender", "older@fwd.example"}},
       true,
       kResentFrom,
       0,
       "new@fwd.example"},
      {"blocked even when a later resent-from sits next to it",
       {{"Resent-From", "new@fwd.example"},
        kReceived,
        {"Resent-From", "old@fwd.example"},
        {"Resent-Sender", "old-sender@fwd.example"}},
       true,
       kResentFrom,
       0,
       "new@fwd.example"},
      // Step 5 -> 6: the selected field is malformed; no fall-through to later steps.
      {"from with two mailboxes",
       {{"From", "a@x.example, b@y.example"}},
       false,
       kFrom,
       0,
       "From holds 2 mailboxes"},
      {"from without domain", {{"From", "alice"}}, false, kFrom, 0, "From is unparsable"},
      {"from garbage", {{"From", "<<<>>>"}}, false, kFrom, 0, "From is unparsable"},
      {"from with empty group",
       {{"From", "undisclosed-recipients:;"}},
       false,
       kFrom,
       0,
       "From holds 0 mailboxes"},
      {"from with domain literal", {{"From", "a@[192.0.2.1]"}}, false, kFrom, 0, "domain literal"},
      {"malformed sender does not fall back to from",
       {{"Sender", "two@x.example, mailboxes@y.example"}, {"From", "a@x.example"}},
       false,
       kSender,
       0,
       "Sender holds 2 mailboxes"},
      {"malformed resent-from does not fall back",
       {{"Resent-From", "broken"}, {"From", "a@x.example"}},
       false,
       kResentFrom,
       0,
       "Resent-From is unparsable"},
      {"malformed resent-sender does not fall back",
       {{"Resent-Sender", "\"unterminated"}, {"Resent-From", "rf@fwd.example"}},
       false,
       kResentSender,
       0,
       "Resent-Sender is unparsable"},
      {"NUL in from", {{"From", "a@x.example\0b"s}}, false, kFrom, 0, "From is unparsable"},
      // Step 5: address forms that are one mailbox.
      {"group with one member",
       {{"From", "Security team: it-security@state.example;"}},
       true,
       kFrom,
       0,
       "it-security@state.example"},
      {"comments and folding",
       {{"From", "\"IT (Security)\"\r\n\t<it-security(x)@State.Example>\r\n (the real one)"}},
       true,
       kFrom,
       0,
       "it-security@state.example"},
      {"quoted local part",
       {{"From", "\"it security\"@state.example"}},
       true,
       kFrom,
       0,
       "\"it security\"@state.example"},
      {"encoded word display name",
       {{"From", "=?utf-8?Q?IT-Sicherheit_=C3=9C?= <it@state.example>"}},
       true,
       kFrom,
       0,
       "it@state.example"},
      {"address-looking display name",
       {{"From", "\"it-security@state.example\" <x@zebuzez.test>"}},
       true,
       kFrom,
       0,
       "x@zebuzez.test"},
      {"unquoted address as display name",
       {{"From", "it-security@state.example <x@zebuzez.test>"}},
       false,
       kFrom,
       0,
       "From is unparsable"},
      {"route in angle-addr",
       {{"From", "<@relay.example:it@state.example>"}},
       true,
       kFrom,
       0,
       "it@state.example"},
      {"utf-8 display name",
       {{"From", "J\xC3\xBCrgen <j@state.example>"}},
       true,
       kFrom,
       0,
       "j@state.example"},
      // Field names: case-insensitive, WSP before the colon tolerated, near-misses ignored.
      {"name case", {{"fROM", "a@x.example"}}, true, kFrom, 0, "a@x.example"},
      {"name with trailing wsp", {{"From \t", "a@x.example"}}, true, kFrom, 0, "a@x.example"},
      {"near-miss names",
       {{"X-From", "x@evil.example"},
        {"From-", "x@evil.example"},
        {"Resent-Senders", "x@evil.example"},
        {"ResentFrom", "x@evil.example"},
        {"Sender:", "x@evil.example"},
        {"From", "a@x.example"}},
       true,
       kFrom,
       5,
       "a@x.example"},
  };
  for (const Case& c : cases) {
    const Pra got = extract_pra(c.headers);
    EXPECT_EQ(got.ok, c.ok) << c.name << ": " << got.error;
    EXPECT_EQ(got.source, c.source) << c.name;
    EXPECT_EQ(got.index, c.index) << c.name;
    if (c.ok) {
      EXPECT_EQ(got.mailbox.address(), c.address) << c.name;
      EXPECT_EQ(got.error, "") << c.name;
    } else {
      EXPECT_NE(got.error.find(c.address), std::string::npos)
          << c.name << ": error '" << got.error << "'";
      EXPECT_EQ(got.mailbox.address(), "@") << c.name;  // nothing leaks from a failed parse
    }
  }
}

TEST(Pra, MailboxFieldsAndProperty) {
  const Pra got = extract_pra(Fields{{"From", "\"IT Security\" <It-Security@State.EXAMPLE>"}});
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(got.mailbox.display_name, "IT Security");
  EXPECT_EQ(got.mailbox.local_part, "It-Security");
  EXPECT_EQ(got.mailbox.domain, "state.example");
  EXPECT_EQ(to_ptype_property(*got.source), "header.from");
}

TEST(Pra, PtypePropertiesAndFieldNames) {
  EXPECT_EQ(to_ptype_property(PraSource::kResentSender), "header.resent-sender");
  EXPECT_EQ(to_ptype_property(PraSource::kResentFrom), "header.resent-from");
  EXPECT_EQ(to_ptype_property(PraSource::kSender), "header.sender");
  EXPECT_EQ(to_ptype_property(PraSource::kFrom), "header.from");
  EXPECT_EQ(to_field_name(PraSource::kResentSender), "Resent-Sender");
  EXPECT_EQ(to_field_name(PraSource::kResentFrom), "Resent-From");
  EXPECT_EQ(to_field_name(PraSource::kSender), "Sender");
  EXPECT_EQ(to_field_name(PraSource::kFrom), "From");
}

// Values as the milter keeps them: the spacing after the colon is not part of the address.
TEST(Pra, LeadingWhitespaceOfTheRawValueIsIgnored) {
  const Pra a = extract_pra(Fields{{"From", "a@x.example"}, {"Resent-From", "r@y.example"}});
  const Pra b = extract_pra(Fields{{"From", " a@x.example"}, {"Resent-From", " \t r@y.example"}});
  for (const Pra* p : {&a, &b}) {
    ASSERT_TRUE(p->ok) << p->error;
    EXPECT_EQ(p->source, PraSource::kResentFrom);
    EXPECT_EQ(p->index, 1u);
    EXPECT_EQ(p->mailbox.address(), "r@y.example");
  }
}

TEST(Pra, HostileInput) {
  // Many fields: linear, and the counts are right.
  Fields many;
  for (int i = 0; i < 20000; ++i) many.push_back({"From", "a@x.example"});
  const Pra froms = extract_pra(many);
  EXPECT_FALSE(froms.ok);
  EXPECT_EQ(froms.error, "20000 From fields and no Sender");
  // A huge selected value is refused by the address parser's limit.
  const Pra huge = extract_pra(Fields{{"From", std::string(kMaxAddressListLength + 1, 'a')}});
  EXPECT_FALSE(huge.ok);
  EXPECT_NE(huge.error.find("longer than"), std::string::npos) << huge.error;
  // Every byte as a field name and as a value never crashes.
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    (void)extract_pra(Fields{{byte, "a@x.example"}, {"From", byte}});
    const Pra got = extract_pra(Fields{{"From", "a" + byte + "@x.example"}});
    if (got.ok) {
      EXPECT_EQ(got.mailbox.domain, "x.example") << b;
    }
  }
  // Empty names and values.
  const Pra empty = extract_pra(Fields{{"", ""}, {"", "a@x.example"}});
  EXPECT_FALSE(empty.ok);
  EXPECT_EQ(empty.source, std::nullopt);
}

}  // namespace
}  // namespace authmilter::mail
