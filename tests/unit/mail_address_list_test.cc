// Tests for parse_address_list(): RFC 5322 §3.4 syntax, the §4.4 obsolete forms, hostile input
// and the named limits.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "authmilter/mail/address_list.h"

namespace authmilter::mail {
namespace {

using std::string_literals::operator""s;

// "display|local@domain" per mailbox, joined by ", ", for compact table expectations.
std::string render(const AddressList& list) {
  std::string out;
  for (const auto& m : list.mailboxes) {
    if (!out.empty()) out += ", ";
    out += m.display_name + "|" + m.address();
  }
  return out;
}

struct Good {
  std::string in;
  std::string want;
};

TEST(AddressList, ValidForms) {
  const Good cases[] = {
      // addr-spec and name-addr
      {"a@b.example", "|a@b.example"},
      {"<a@b.example>", "|a@b.example"},
      {"Alice <alice@example.org>", "Alice|alice@example.org"},
      {"  Alice   Liddell  <alice@example.org>  ", "Alice Liddell|alice@example.org"},
      {"\"Liddell, Alice\" <alice@example.org>", "Liddell, Alice|alice@example.org"},
      // an address-looking display name is only a name: the angle-addr is the mailbox
      {"\"it@state.example\" <x@evil.example>", "it@state.example|x@evil.example"},
      {"\"A \\\"quoted\\\" name\" <a@x.example>", "A \"quoted\" name|a@x.example"},
      {"John Q. Public <jqp@x.example>", "John Q. Public|jqp@x.example"},  // obs-phrase
      {"\"Joe Q. Public\" <john.q.public@example.com>", "Joe Q. Public|john.q.public@example.com"},
      // domain lower-cased, local part as written, trailing dot of the domain dropped
      {"Alice@Example.ORG", "|Alice@example.org"},
      {"a@example.org.", "|a@example.org"},
      {"<a@example.org.>", "|a@example.org"},
      // lists
      {"a@x.example, b@y.example", "|a@x.example, |b@y.example"},
      {"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
       "Mary Smith|mary@x.test, |jdoe@example.org, Who?|one@y.test"},
      {"<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
       "|boss@nil.test, Giant; \"Big\" Box|sysservices@example.net"},
      // comments and folding (CFWS), nested comments
      {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", "Pete|pete@silly.test"},
      {"a@b.example (Alice (the (real) one))", "|a@b.example"},
      {"(c)a(c)@(c)b(c).(c)example(c)", "|a@b.example"},
      {"Alice\r\n <alice@example.org>", "Alice|alice@example.org"},
      {"\"Alice\r\n Liddell\" <alice@example.org>", "Alice Liddell|alice@example.org"},
      {"Alice(comment)Liddell <a@x.example>", "Alice Liddell|a@x.example"},
      // quoted local parts, kept as written
      {"\"john doe\"@example.org", "|\"john doe\"@example.org"},
      {"<\"a>b,c\"@example.org>", "|\"a>b,c\"@example.org"},
      {"\"a\\\"b\"@example.org", "|\"a\\\"b\"@example.org"},
      {"\"\"@example.org", "|\"\"@example.org"},
      // obs-local-part: words and dots, CFWS around the dots dropped
      {"john . \"q\" . public@example.org", "|john.\"q\".public@example.org"},
      {"a..b@docomo.example", "|a..b@docomo.example"},
      {"a.@docomo.example", "|a.@docomo.example"},
      // domain literal, FWS inside dropped
      {"a@[192.0.2.1]", "|a@[192.0.2.1]"},
      {"a@[IPv6:2001:DB8::1]", "|a@[ipv6:2001:db8::1]"},
      {"<a@[ 192.0.2.1 ]>", "|a@[192.0.2.1]"},
      // obs-domain: CFWS around dots
      {"a@example . org", "|a@example.org"},
      // obs-angle-addr: the route is dropped
      {"<@a.example,@b.example:x@y.example>", "|x@y.example"},
      {"Joe <@a.example:x@y.example>", "Joe|x@y.example"},
      // RFC 5322 Appendix A.6.1 / A.6.3
      {"Mary Smith <@node.test:mary@example.net>", "Mary Smith|mary@example.net"},
      {"John Doe <jdoe@machine(comment).  example>", "John Doe|jdoe@machine.example"},
      {"Joe Q. Public <john.q.public@example.com>", "Joe Q. Public|john.q.public@example.com"},
      {"<,@a.example, ,@b.example:x@y.example>", "|x@y.example"},
      // groups: members flattened, group names dropped
      {"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
       "Ed Jones|c@a.test, |joe@where.test, John|jdoe@one.test"},
      {"team: a@x.example; , b@y.example", "|a@x.example, |b@y.example"},
      {"team: a@x.example;(end)", "|a@x.example"},
      {"\"the team\": a@x.example, ;", "|a@x.example"},
      {"undisclosed-recipients:;", ""},
      {"undisclosed-recipients: (none) ;", ""},
      // obs-addr-list / obs-mbox-list: empty elements
      {", a@x.example", "|a@x.example"},
      {"a@x.example,,, b@y.example,", "|a@x.example, |b@y.example"},
      {"a@x.example ,(c), b@y.example", "|a@x.example, |b@y.example"},
      // RFC 2047 encoded words kept as written
      {"=?utf-8?Q?Andr=C3=A9?= <andre@example.fr>", "=?utf-8?Q?Andr=C3=A9?=|andre@example.fr"},
      {"=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFk?= =?utf-8?q?x?= <a@b.example>",
       "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFk?= =?utf-8?q?x?=|a@b.example"},
      {"\"=?utf-8?Q?quoted?=\" <a@b.example>", "=?utf-8?Q?quoted?=|a@b.example"},
      // RFC 6532 UTF-8 in display names, local parts and domains
      {"Andr\xC3\xA9 <andr\xC3\xA9@b\xC3\xBC.example>",
       "Andr\xC3\xA9|andr\xC3\xA9@b\xC3\xBC.example"},
      {"\"J\xC3\xBCrgen\" <j@x.example>", "J\xC3\xBCrgen|j@x.example"},
      // legacy 8-bit (Latin-1) in a display name is tolerated
      {"Andr\xE9 <andre@example.fr>", "Andr\xE9|andre@example.fr"},
      // control characters are allowed inside quoted strings and comments (obs-qtext/ctext)
      {"\"a\x01 b\" <a@x.example>", "a\x01 b|a@x.example"},
      {"a@x.example (\x07)", "|a@x.example"},
  };
  for (const auto& c : cases) {
    const AddressList got = parse_address_list(c.in);
    EXPECT_TRUE(got.ok) << c.in << ": " << got.error;
    EXPECT_EQ(got.error, "") << c.in;
    EXPECT_EQ(render(got), c.want) << c.in;
  }
}

TEST(AddressList, MailboxFields) {
  const AddressList got = parse_address_list("\"Doe, Jane\" <\"jane doe\"@Mail.Example.COM>");
  ASSERT_TRUE(got.ok) << got.error;
  ASSERT_EQ(got.mailboxes.size(), 1u);
  EXPECT_EQ(got.mailboxes[0].display_name, "Doe, Jane");
  EXPECT_EQ(got.mailboxes[0].local_part, "\"jane doe\"");
  EXPECT_EQ(got.mailboxes[0].domain, "mail.example.com");
  EXPECT_EQ(got.mailboxes[0].address(), "\"jane doe\"@mail.example.com");
}

struct Bad {
  std::string in;
  std::string error_contains;
  std::size_t parsed = 0;  // mailboxes kept before the error
};

TEST(AddressList, Errors) {
  const Bad cases[] = {
      {"", "no address"},
      {"   ", "no address"},
      {"(only a comment)", "no address"},
      {",,,", "no address"},
      {"user", "without a domain"},
      {"Alice <user>", "without a domain"},
      {"a@x.example, user", "without a domain", 1},
      {"user@", "missing domain"},
      {"<user@>", "missing domain"},
      {"@example.org", "empty local part"},
      {"<>", "empty angle-addr"},
      {"Alice <>", "empty angle-addr"},
      {"<@example.org>", "malformed route"},  // a route with no ':' and no address
      {"<a@example.org", "not closed by '>'"},
      {"a@example.org>", "expected ','", 1},
      {"Alice <a@example.org> Bob", "expected ','", 1},
      {"a@x.example b@y.example", "expected ','", 1},
      {"a@exa mple.org", "expected ','", 1},
      {"john smith@example.org", "not separated by '.'"},
      {"\"a\" \"b\"@example.org", "not separated by '.'"},
      {"a@example..org", "empty label"},
      {"a@.example.org", "missing domain"},
      {"a@b@c.example", "expected ','", 1},
      // An unquoted address as display name is invalid (the '@' is a special); what parsed
      // before the error is kept, so callers must not use `mailboxes` when !ok.
      {"it@state.example <x@evil.example>", "expected ','", 1},
      // unbalanced quotes, comments and brackets
      {"\"Alice <alice@example.org>", "unterminated quoted-string"},
      {"\"Alice\\", "unterminated quoted-string"},
      {"Alice (x <alice@example.org>", "unterminated comment"},
      {"a@example.org (a (b)", "unterminated comment", 1},
      {"a@example.org (\\", "unterminated comment", 1},
      {"Alice) <alice@example.org>", "unbalanced ')'"},
      {"a@[192.0.2.1", "unterminated domain literal"},
      {"a@[1[2]]", "'[' inside"},
      {"a@example.org]", "unbalanced ']'", 1},
      {"[192.0.2.1]", "unexpected domain literal"},
      {"<<a@example.org>>", "malformed angle-addr"},
      {"Alice <a@example.org", "not closed by '>'"},
      {"Alice a@example.org>", "not separated by '.'"},
      // groups
      {"team: a@x.example", "not terminated by ';'", 1},
      {"team: a@x.example, b@y.example", "not terminated by ';'", 2},
      {"team:", "not terminated by ';'"},
      {": a@x.example;", "group without a display name"},
      {"outer: inner: a@x.example;;", "group inside a group"},
      {"team: a@x.example b@y.example;", "expected ',' or ';'", 1},
      {"a@x.example;", "expected ','", 1},
      // control characters outside quotes, stray backslash
      {"a\x01@example.org", "control character"},
      {"a@example.org\x7f", "control character", 1},
      {"a\\b@example.org", "unexpected '\\'"},
      // NUL anywhere
      {"a@example.org\0"s, "NUL"},
      {"\"a\0b\" <a@example.org>"s, "NUL"},
      {"a@example.org (\0)"s, "NUL"},
      // 8-bit that is not UTF-8 in a domain
      {"a@b\xFC.example", "UTF-8"},
      {"a@b\xC3.example", "UTF-8"},
      {"a@\xED\xA0\x80.example", "UTF-8"},  // UTF-16 surrogate
  };
  for (const auto& c : cases) {
    const AddressList got = parse_address_list(c.in);
    EXPECT_FALSE(got.ok) << c.in;
    EXPECT_NE(got.error.find(c.error_contains), std::string::npos)
        << c.in << ": got error '" << got.error << "'";
    EXPECT_EQ(got.mailboxes.size(), c.parsed) << c.in;
  }
}

TEST(AddressList, CommentDepthLimit) {
  auto nested = [](int depth) {
    return "a@example.org " + std::string(static_cast<std::size_t>(depth), '(') + "x" +
           std::string(static_cast<std::size_t>(depth), ')');
  };
  const AddressList at = parse_address_list(nested(kMaxCommentDepth));
  EXPECT_TRUE(at.ok) << at.error;
  EXPECT_EQ(at.mailboxes.size(), 1u);
  const AddressList past = parse_address_list(nested(kMaxCommentDepth + 1));
  EXPECT_FALSE(past.ok);
  EXPECT_NE(past.error.find("nested deeper"), std::string::npos) << past.error;
  // Deep nesting far beyond the limit is refused without recursion.
  const AddressList huge = parse_address_list(nested(50000));
  EXPECT_FALSE(huge.ok);
}

TEST(AddressList, MailboxLimit) {
  auto list = [](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += (i ? ",u" : "u") + std::to_string(i) + "@x.example";
    return s;
  };
  const AddressList at = parse_address_list(list(kMaxMailboxes));
  EXPECT_TRUE(at.ok) << at.error;
  EXPECT_EQ(at.mailboxes.size(), kMaxMailboxes);
  EXPECT_EQ(at.mailboxes.back().address(), "u" + std::to_string(kMaxMailboxes - 1) + "@x.example");
  const AddressList past = parse_address_list(list(kMaxMailboxes + 1));
  EXPECT_FALSE(past.ok);
  EXPECT_NE(past.error.find("mailboxes"), std::string::npos) << past.error;
  EXPECT_EQ(past.mailboxes.size(), kMaxMailboxes);
}

TEST(AddressList, LengthLimit) {
  // At the limit: a long display name padded to exactly kMaxAddressListLength bytes.
  const std::string tail = " <a@example.org>";
  const std::string at_limit = std::string(kMaxAddressListLength - tail.size(), 'x') + tail;
  ASSERT_EQ(at_limit.size(), kMaxAddressListLength);
  const AddressList at = parse_address_list(at_limit);
  EXPECT_TRUE(at.ok) << at.error;
  ASSERT_EQ(at.mailboxes.size(), 1u);
  EXPECT_EQ(at.mailboxes[0].display_name.size(), kMaxAddressListLength - tail.size());
  const AddressList past = parse_address_list(at_limit + " ");
  EXPECT_FALSE(past.ok);
  EXPECT_NE(past.error.find("longer than"), std::string::npos) << past.error;
  EXPECT_TRUE(past.mailboxes.empty());
}

TEST(AddressList, HostileBulk) {
  // 1 MB of commas: refused by length, quickly.
  const AddressList mb = parse_address_list(std::string(1 << 20, ','));
  EXPECT_FALSE(mb.ok);
  // A limit's worth of commas is parsed (linearly) and holds no address.
  const AddressList commas = parse_address_list(std::string(kMaxAddressListLength, ','));
  EXPECT_FALSE(commas.ok);
  EXPECT_EQ(commas.error, "no address");
  // Many opening quotes / brackets / parentheses / angle brackets.
  for (const char c : std::string("\"([<>)]@:;.\\")) {
    const AddressList got = parse_address_list(std::string(kMaxAddressListLength, c));
    EXPECT_FALSE(got.ok) << c;
    EXPECT_FALSE(got.error.empty()) << c;
  }
  // Every single byte value, alone and around an address: never crashes, ok only when sane.
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(b));
    (void)parse_address_list(byte);
    (void)parse_address_list(byte + "a@example.org");
    (void)parse_address_list("a@example.org" + byte);
    const AddressList mid = parse_address_list("a" + byte + "b@example.org");
    if (mid.ok) {
      ASSERT_EQ(mid.mailboxes.size(), 1u) << b;
      EXPECT_EQ(mid.mailboxes[0].domain, "example.org") << b;
    }
  }
  // Every prefix of a complicated value: never crashes, and a prefix that parses has sane
  // domains.
  const std::string full =
      "\"Q, \\\"x\\\"\" (c (d)) <@r.example,@s.example:\"a b\".c@[192.0.2.1]>, g: d@e.example;";
  for (std::size_t n = 0; n <= full.size(); ++n) {
    const AddressList got = parse_address_list(full.substr(0, n));
    for (const auto& m : got.mailboxes) EXPECT_FALSE(m.domain.empty()) << n;
  }
  const AddressList whole = parse_address_list(full);
  EXPECT_TRUE(whole.ok) << whole.error;
  EXPECT_EQ(render(whole), "Q, \"x\"|\"a b\".c@[192.0.2.1], |d@e.example");
}

}  // namespace
}  // namespace authmilter::mail
