// Tests for the address helpers and sanitize_for_header().
#include <string>

#include <gtest/gtest.h>

#include "authmilter/mail/address.h"
#include "authmilter/mail/header.h"

namespace authmilter::mail {
namespace {

using std::string_literals::operator""s;

TEST(EnvelopeAddress, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"<a@b.example>", "a@b.example"},
      {"a@b.example", "a@b.example"},
      {"  <a@b.example>  ", "a@b.example"},
      {"< a@b.example >", "a@b.example"},
      {"<>", ""},
      {"", ""},
      {"   ", ""},
      {"< >", ""},
      {"<@x.example,@y.example:a@b.example>", "a@b.example"},
      {"@x.example,@y.example:a@b.example", "a@b.example"},
      {"<@x.example:a@b.example>", "a@b.example"},
      {"<\"a>b\"@c.example>", "\"a>b\"@c.example"},
      {"<\"a b\"@c.example>", "\"a b\"@c.example"},
      {"<\"a\\\">\"@c.example>", "\"a\\\">\"@c.example"},
      {"<a@b.example", "a@b.example"},  // unterminated: take what is there
      {"<a@b.example> SIZE=100", "a@b.example"},
      {"postmaster", "postmaster"},
      {"<postmaster>", "postmaster"},
      {"\t<a@b.example>\r\n", "a@b.example"},
  };
  for (const auto& c : cases) EXPECT_EQ(envelope_address(c.in), c.out) << c.in;
}

TEST(DomainOf, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"a@Example.COM", "example.com"},
      {"a@example.com.", "example.com"},
      {"\"a@b\"@c.org", "c.org"},
      {"\"q\\\"@\"@d.org", "d.org"},  // escaped quote inside the quoted local part
      {"a", ""},
      {"a@", ""},
      {"a@.", ""},
      {"", ""},
      {"@", ""},
      {"<a@B.org>", "b.org"},
      {"<>", ""},
      {"\"unterminated@x.org", ""},
      {"a@b@c.org", "c.org"},
      {"@x,@y:a@b.org", "b.org"},
      {"<@x,@y:a@B.org>", "b.org"},
      {"a@[192.0.2.1]", "[192.0.2.1]"},
      {"@only.example", "only.example"},
      {" a@b.org ", "b.org"},
      {"A@B\xc3\x9c.example", "b\xc3\x9c.example"},  // only ASCII is lower-cased
  };
  for (const auto& c : cases) EXPECT_EQ(domain_of(c.in), c.out) << c.in;
}

TEST(LocalPartOf, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"a@b.org", "a"},
      {"First.Last@b.org", "First.Last"},
      {"\"a@b\"@c.org", "\"a@b\""},
      {"\"a b\"@c.org", "\"a b\""},
      {"postmaster", "postmaster"},
      {"@b.org", ""},
      {"<>", ""},
      {"<user@b.org>", "user"},
      {"<@x:user@b.org>", "user"},
      {"a@b@c.org", "a@b"},
  };
  for (const auto& c : cases) EXPECT_EQ(local_part_of(c.in), c.out) << c.in;
}

TEST(SanitizeForHeader, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"plain text", "plain text"},
      {"a\r\nb", "ab"},
      {"a\rb\nc", "abc"},
      {"a\0b"s, "ab"},
      {"\x01\x02\x1f\x7f", ""},
      {"tab\there", "tab here"},
      {"caf\xc3\xa9", "caf\xc3\xa9"},
      {"\xe2\x82\xac\xf0\x9f\x93\xa7", "\xe2\x82\xac\xf0\x9f\x93\xa7"},
      {"\xff", "?"},
      {"\xc3", "?"},
      {"\xc3(", "?("},
      {"\xe0\x80\x80", "???"},                   // overlong
      {"\xed\xbf\xbf", "???"},                   // surrogate
      {"\xf5\x80\x80\x80", "????"},              // beyond Unicode
      {"\xc2\x80\xc2\x9f\xc2\xa0", "\xc2\xa0"},  // C1 controls dropped, NBSP kept
      {"", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(sanitize_for_header(c.in), c.out) << c.in;
}

TEST(SanitizeForHeader, HugeAndHostile) {
  std::string in;
  for (int i = 0; i < 256 * 1024; ++i) in.push_back(static_cast<char>(i * 7 + 3));
  const std::string out = sanitize_for_header(in);
  EXPECT_LE(out.size(), in.size());
  for (char c : out) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_FALSE(u < 0x20 || u == 0x7f);
  }
  // Everything left is well-formed UTF-8.
  for (std::size_t i = 0; i < out.size();) {
    const std::size_t n = utf8_sequence_length(out, i);
    ASSERT_GT(n, 0u) << "at " << i;
    i += n;
  }
}

}  // namespace
}  // namespace authmilter::mail
