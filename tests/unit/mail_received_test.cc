// Tests for parse_received() (one sample per MTA format, hostile fields, the named limits)
// and select_first_untrusted_hop() (the TrustedRelays walk, issue 6).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "authmilter/mail/received.h"

namespace authmilter::mail {
namespace {

using std::string_literals::operator""s;

struct Good {
  const char* name;
  std::string value;
  std::string ip, helo, reverse_name, by;
};

// Realistic fields as the milter gets them: folding kept (CRLF or LF + WSP), no leading space.
TEST(ParseReceived, MtaFormats) {
  const Good cases[] = {
      // Postfix
      {"postfix plain",
       "from mail.example.org (mail.example.org [192.0.2.25])\r\n"
       "\tby mx.example.net (Postfix) with ESMTP id 4TqRk31QXNz9sWv\r\n"
       "\tfor <bob@example.net>; Tue,  5 Mar 2024 10:15:02 +0100 (CET)",
       "192.0.2.25", "mail.example.org", "mail.example.org", "mx.example.net"},
      {"postfix ipv6 + tls",
       "from smtp.example.org (smtp.example.org [IPv6:2001:db8:10::25])\r\n"
       "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
       "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n"
       "\t(No client certificate requested)\r\n"
       "\tby mx.example.net (Postfix) with ESMTPS id 4TqRk40Zb3z9sX1\r\n"
       "\tfor <bob@example.net>; Tue,  5 Mar 2024 10:15:09 +0100 (CET)",
       "2001:db8:10::25", "smtp.example.org", "smtp.example.org", "mx.example.net"},
      {"postfix authenticated, address-literal HELO, unknown PTR",
       "from [192.168.1.20] (unknown [198.51.100.77])\r\n"
       "\t(Authenticated sender: alice@example.org)\r\n"
       "\tby submit.example.org (Postfix) with ESMTPSA id 4TqS0b2XyzT3;\r\n"
       "\tTue,  5 Mar 2024 10:16:40 +0100 (CET)",
       "198.51.100.77", "[192.168.1.20]", "", "submit.example.org"},
      {"postfix LF folding",
       "from laptop (unknown [192.0.2.1])\n\tby relay.example.net (Postfix) with SMTP id 4TqS1;\n"
       "\tTue,  5 Mar 2024 10:17:00 +0100 (CET)",
       "192.0.2.1", "laptop", "", "relay.example.net"},
      {"postfix client certificate names fake literals",
       "from mail.example.org (mail.example.org [203.0.113.9])\r\n"
       "\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))\r\n"
       "\t(Client CN \"relay [10.0.0.1]\", Issuer \"Evil CA [10.0.0.2]\" (not verified))\r\n"
       "\t(Authenticated sender: [10.0.0.3])\r\n"
       "\tby mx.example.net (Postfix) with ESMTPSA id 4TqS2; Tue,  5 Mar 2024 10:18:00 +0100",
       "203.0.113.9", "mail.example.org", "mail.example.org", "mx.example.net"},
      // Sendmail
      {"sendmail",
       "from mail.example.com (host-7.example.com [192.0.2.7])\r\n"
       "\tby mx.example.net (8.17.1/8.17.1) with ESMTPS id 425A3b1x012345\r\n"
       "\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)\r\n"
       "\tfor <bob@example.net>; Tue, 5 Mar 2024 10:03:11 +0100",
       "192.0.2.7", "mail.example.com", "host-7.example.com", "mx.example.net"},
      {"sendmail may be forged, nested",
       "from friendly.example (dsl-198-51-100-4.isp.example [198.51.100.4] (may be forged))\r\n"
       "\tby mx.example.net (8.17.1/8.17.1) with ESMTP id 425A3b1x012346;\r\n"
       "\tTue, 5 Mar 2024 10:04:00 +0100",
       "198.51.100.4", "friendly.example", "dsl-198-51-100-4.isp.example", "mx.example.net"},
      {"sendmail may be forged, separate",
       "from helo.example (rdns.example [198.51.100.5]) (may be forged)\r\n"
       "\tby mx.example.net (8.17.1/8.17.1) with ESMTP id 425A3b1x012347;\r\n"
       "\tTue, 5 Mar 2024 10:04:30 +0100",
       "198.51.100.5", "helo.example", "rdns.example", "mx.example.net"},
      {"sendmail ident",
       "from mail.example.com (root@host.example.com [192.0.2.8])\r\n"
       "\tby mx.example.net (8.17.1/8.17.1) with ESMTP id 425A3b1x012348; Tue, 5 Mar 2024",
       "192.0.2.8", "mail.example.com", "host.example.com", "mx.example.net"},
      {"sendmail no PTR",
       "from mail.example.com ([192.0.2.9])\r\n"
       "\tby mx.example.net (8.17.1/8.17.1) with ESMTP id 425A3b1x012349; Tue, 5 Mar 2024",
       "192.0.2.9", "mail.example.com", "", "mx.example.net"},
      // Exim
      {"exim",
       "from mail-out.example.org ([192.0.2.44] helo=smtp.example.org)\r\n"
       "\tby mx.example.net with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n"
       "\t(Exim 4.96)\r\n"
       "\t(envelope-from <alice@example.org>)\r\n"
       "\tid 1rhT2x-000Abc-2Q\r\n"
       "\tfor bob@example.net; Tue, 05 Mar 2024 10:20:31 +0100",
       "192.0.2.44", "smtp.example.org", "mail-out.example.org", "mx.example.net"},
      {"exim address first",
       "from [198.51.100.23] (port=53412 helo=client.example)\r\n"
       "\tby mx.example.net with esmtp (Exim 4.96)\r\n"
       "\t(envelope-from <carol@client.example>)\r\n"
       "\tid 1rhT3a-000Abd-0B; Tue, 05 Mar 2024 10:21:00 +0100",
       "198.51.100.23", "client.example", "", "mx.example.net"},
      {"exim helo same as host name, port logging",
       "from mail.example.org ([192.0.2.45]:41234)\r\n"
       "\tby mx.example.net with esmtp (Exim 4.96) id 1rhT3b-000Abe-1C;\r\n"
       "\tTue, 05 Mar 2024 10:21:30 +0100",
       "192.0.2.45", "mail.example.org", "", "mx.example.net"},
      {"exim bare address",
       "from [192.0.2.60]\r\n\tby mx.example.net with smtp (Exim 4.96)\r\n"
       "\tid 1rhT3c-000Abf-2D; Tue, 05 Mar 2024 10:22:00 +0100",
       "192.0.2.60", "[192.0.2.60]", "", "mx.example.net"},
      {"exim ipv6 with port and ident",
       "from mail6.example.org ([2001:db8::44]:25001 helo=out.example.org ident=exim)\r\n"
       "\tby mx.example.net with esmtps (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\r\n"
       "\t(Exim 4.96) id 1rhT3d-000Abg-3E; Tue, 05 Mar 2024 10:22:30 +0100",
       "2001:db8::44", "out.example.org", "mail6.example.org", "mx.example.net"},
      // Exchange / Office 365
      {"office 365 outbound to us",
       "from EUR05-AM6-obe.outbound.protection.outlook.com (2a01:111:f400:7e1b::200)\r\n"
       " by mx.example.net (10.167.16.78) with Microsoft SMTP Server (version=TLS1_2,\r\n"
       " cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7339.25; Tue, 5 Mar 2024\r\n"
       " 09:12:44 +0000",
       "2a01:111:f400:7e1b::200", "EUR05-AM6-obe.outbound.protection.outlook.com", "",
       "mx.example.net"},
      {"exchange on premises",
       "from EXCH01.corp.example.com (10.20.0.11) by EXCH02.corp.example.com\r\n"
       " (10.20.0.12) with Microsoft SMTP Server (version=TLS1_2,\r\n"
       " cipher=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P384) id 15.1.2507.21; Tue, 5 Mar\r\n"
       " 2024 10:00:00 +0100",
       "10.20.0.11", "EXCH01.corp.example.com", "", "EXCH02.corp.example.com"},
      {"office 365 frontend",
       "from mail.example.org (198.51.100.30) by\r\n"
       " DB5EUR03FT012.mail.protection.outlook.com (10.152.20.136) with Microsoft SMTP\r\n"
       " Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n"
       " 15.20.7362.11 via Frontend Transport; Tue, 5 Mar 2024 09:12:40 +0000",
       "198.51.100.30", "mail.example.org", "", "DB5EUR03FT012.mail.protection.outlook.com"},
      {"office 365 mapi hop",
       "from AM6PR05MB6001.eurprd05.prod.outlook.com ([fe80::5c1d:8a7f:43e2:91b0])\r\n"
       " by AM6PR05MB6001.eurprd05.prod.outlook.com ([fe80::5c1d:8a7f:43e2:91b0%4]) with\r\n"
       " mapi id 15.20.7339.035; Tue, 5 Mar 2024 09:12:39 +0000",
       "fe80::5c1d:8a7f:43e2:91b0", "AM6PR05MB6001.eurprd05.prod.outlook.com", "",
       "AM6PR05MB6001.eurprd05.prod.outlook.com"},
      // Gmail
      {"gmail",
       "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])\r\n"
       "        by mx.google.com with SMTPS id "
       "a640c23a62f3a-a44e5c3c5e0sor4512366b.7.2024.03.05.01.02.03\r\n"
       "        for <bob@gmail.com>\r\n"
       "        (Google Transport Security);\r\n"
       "        Tue, 05 Mar 2024 01:02:03 -0800 (PST)",
       "209.85.220.41", "mail-sor-f41.google.com", "mail-sor-f41.google.com", "mx.google.com"},
      {"gmail ipv6",
       "from mail-ej1-x62a.google.com (mail-ej1-x62a.google.com. [2a00:1450:4864:20::62a])\r\n"
       "        by mx.example.net (Postfix) with ESMTPS id 4TqS9; Tue,  5 Mar 2024 10:30:00 +0100",
       "2a00:1450:4864:20::62a", "mail-ej1-x62a.google.com", "mail-ej1-x62a.google.com",
       "mx.example.net"},
      // qmail
      {"qmail",
       "from unknown (HELO mail.example.com) (198.51.100.80)\r\n"
       "  by mx.example.net with SMTP; 5 Mar 2024 09:30:00 -0000",
       "198.51.100.80", "mail.example.com", "", "mx.example.net"},
      {"qmail with ident",
       "from host.example.com (HELO mail.example.com) (joe@198.51.100.81)\r\n"
       "  by mx.example.net with SMTP; 5 Mar 2024 09:30:01 -0000",
       "198.51.100.81", "mail.example.com", "host.example.com", "mx.example.net"},
      // odd but valid
      {"upper-case keywords, no by",
       "FROM mail.example.org (mail.example.org [192.0.2.26]) WITH ESMTP; Tue, 5 Mar 2024",
       "192.0.2.26", "mail.example.org", "mail.example.org", ""},
      {"leading comment",
       "(qmail 4711 invoked by uid 0) from a.example (a.example [192.0.2.27]) by b.example",
       "192.0.2.27", "a.example", "a.example", "b.example"},
      {"from in a later comment is ignored",
       "from x.example (x.example [203.0.113.5]) (from trusted.example [10.0.0.1])\r\n"
       "\tby mx.example.net (Postfix); Tue, 5 Mar 2024",
       "203.0.113.5", "x.example", "x.example", "mx.example.net"},
      {"nested comments in TCP-info",
       "from x.example (rdns.example [192.0.2.28] (may (be (forged [10.0.0.1])))) by y",
       "192.0.2.28", "x.example", "rdns.example", "y"},
      {"escaped parenthesis in a later comment",
       "from x.example (x.example [192.0.2.29]) (Authenticated sender: a\\)b\\(c) by y",
       "192.0.2.29", "x.example", "x.example", "y"},
      {"ipv4-mapped ipv6 becomes ipv4", "from x.example (x.example [IPv6:::ffff:192.0.2.30]) by y",
       "192.0.2.30", "x.example", "x.example", "y"},
      {"ipv6 tag in lower case, upper-case hex",
       "from x.example (unknown [ipv6:2001:DB8:0:0::7]) by y", "2001:db8::7", "x.example", "", "y"},
      {"8-bit HELO kept as written",
       "from m\xc3\xbcller.example (m\xc3\xbcller.example [192.0.2.31]) (\xff\xfe) by y",
       "192.0.2.31", "m\xc3\xbcller.example", "m\xc3\xbcller.example", "y"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const ReceivedHop hop = parse_received(c.value);
    ASSERT_TRUE(hop.ok) << hop.error;
    EXPECT_EQ(hop.ip, c.ip);
    EXPECT_EQ(hop.helo, c.helo);
    EXPECT_EQ(hop.reverse_name, c.reverse_name);
    EXPECT_EQ(hop.by, c.by);
    EXPECT_TRUE(hop.error.empty());
  }
}

struct Bad {
  const char* name;
  std::string value;
  std::string error;  // expected substring of the error
};

TEST(ParseReceived, RefusesWhatItCannotReadSafely) {
  const Bad cases[] = {
      // no from-part at all
      {"empty", "", "no from-part"},
      {"blank", " \r\n\t ", "no from-part"},
      {"postfix local submission",
       "by mx.example.net (Postfix, from userid 0)\r\n\tid 4TqRk31QXNz9sWv; Tue, 5 Mar 2024",
       "no from-part"},
      {"by x with local", "by x with local; Tue, 5 Mar 2024", "no from-part"},
      {"gmail internal hop",
       "by 2002:a05:6a10:a30c:b0:4e3:5d45:6a88 with SMTP id x12csp1234567pxb;\r\n"
       "        Tue, 5 Mar 2024 01:02:04 -0800 (PST)",
       "no from-part"},
      {"sendmail submit: from only inside a comment",
       "(from alice@localhost)\r\n\tby host.example.net (8.17.1/8.17.1/Submit) id 425A3b;"
       " Tue, 5 Mar 2024",
       "no from-part"},
      {"comment says from with a literal", "(from trusted.example [10.0.0.1]) by x with local",
       "no from-part"},
      {"date only", "; Tue, 5 Mar 2024", "no from-part"},
      {"other keyword", "frm x (x [192.0.2.1]) by y", "does not start with \"from\""},
      {"from alone", "from", "empty from-part"},
      {"from then comment", "from (x [192.0.2.1]) by y", "empty from-part"},
      // missing or broken brackets
      {"no TCP-info", "from mail.example.com by mx.example.net", "no IP address"},
      {"comment without address", "from a.example (a.example) by b", "no IP address"},
      {"missing brackets", "from x (rdns 192.0.2.1) by y", "no IP address"},
      {"missing closing bracket", "from x (rdns [192.0.2.1) by y", "bad address literal"},
      {"missing opening bracket", "from x (rdns 192.0.2.1]) by y", "no IP address"},
      {"unterminated comment", "from x (rdns [192.0.2.1] by y", "unterminated comment"},
      {"stray closing parenthesis", "from x (rdns [192.0.2.1])) by y", "unexpected text"},
      {"text between from-part and by", "from x (rdns [192.0.2.1]) junk by y", "unexpected text"},
      {"space inside the from-name", "from evil [10.0.0.1] (rdns [203.0.113.5]) by y",
       "unexpected text"},
      {"by without host", "from x (rdns [192.0.2.1]) by", "empty by-part"},
      {"by followed by a comment only", "from x (rdns [192.0.2.1]) by (Postfix)", "empty by-part"},
      // ambiguous: two candidate addresses
      {"fake TCP-info before the real one",
       "from x (fake.example [10.0.0.1]) (rdns.example [203.0.113.5]) by y",
       "two TCP-info comments"},
      {"fake TCP-info after the real one", "from x (rdns [203.0.113.5]) ([10.0.0.1]) by y",
       "two TCP-info comments"},
      {"bare address after the real one", "from x (rdns [203.0.113.5]) (10.0.0.1) by y",
       "two TCP-info comments"},
      {"TCP-info not first", "from x (using TLSv1.3) (rdns [203.0.113.5]) by y",
       "not the first comment"},
      {"second literal in TCP-info", "from x (rdns [203.0.113.5] [10.0.0.1]) by y",
       "unrecognized text"},
      {"junk after exim literal", "from x ([203.0.113.5] fake [10.0.0.1]) by y",
       "unrecognized text"},
      {"junk in exim items", "from [203.0.113.5] (helo=x [10.0.0.1]) by y", "unrecognized text"},
      {"two helo items", "from x ([192.0.2.1] helo=a helo=b) by y", "two helo= items"},
      {"exim items without an address", "from x.example (port=25 helo=y) by z",
       "helo= items without an address"},
      {"bad port", "from x ([192.0.2.1]:http) by y", "bad address literal"},
      // bad addresses
      {"not an address", "from x (rdns [mail.example.com]) by y", "bad address literal"},
      {"octet out of range", "from x (rdns [192.0.2.256]) by y", "bad address literal"},
      {"ipv6 tag on ipv4", "from x (rdns [IPv6:192.0.2.1]) by y", "bad address literal"},
      {"zone id", "from x (rdns [fe80::1%eth0]) by y", "bad address literal"},
      {"empty literal", "from x (rdns []) by y", "bad address literal"},
      {"8-bit in literal", "from x (rdns [192.0.2.\xc2\xb9]) by y", "bad address literal"},
      {"bad bare from-name literal", "from [192.0.2.999] by y", "bad address literal"},
      {"literal from-name with a foreign comment", "from [192.0.2.1] (may be forged) by y",
       "no IP address"},
      // control characters
      {"NUL", "from x (rdns [192.0.2.1])\0 by y"s, "NUL"},
      {"NUL inside the literal", "from x (rdns [192.0.2.1\0]) by y"s, "NUL"},
      {"control character", "from x\x01y (rdns [192.0.2.1]) by y", "control character"},
      {"DEL", "from x (rdns [192.0.2.1]) by y\x7f", "control character"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const ReceivedHop hop = parse_received(c.value);
    EXPECT_FALSE(hop.ok) << "ip=" << hop.ip;
    EXPECT_NE(hop.error.find(c.error), std::string::npos) << hop.error;
    EXPECT_TRUE(hop.ip.empty());
  }
}

TEST(ParseReceived, LengthLimit) {
  const std::string head = "from a.example (a.example [192.0.2.1]) by b.example; ";
  std::string at_limit = head + std::string(kMaxReceivedLength - head.size(), 'x');
  ASSERT_EQ(at_limit.size(), kMaxReceivedLength);
  const ReceivedHop ok = parse_received(at_limit);
  EXPECT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.ip, "192.0.2.1");

  const ReceivedHop past = parse_received(at_limit + "x");
  EXPECT_FALSE(past.ok);
  EXPECT_NE(past.error.find("longer than 16384 bytes"), std::string::npos) << past.error;

  // A huge HELO (all one word, as Postfix writes it) inside the limit is still read right.
  const std::string helo(8000, 'h');
  const ReceivedHop big = parse_received("from " + helo + " (unknown [203.0.113.7]) by mx");
  ASSERT_TRUE(big.ok) << big.error;
  EXPECT_EQ(big.helo, helo);
  EXPECT_EQ(big.ip, "203.0.113.7");
}

TEST(ParseReceived, CommentDepthLimit) {
  auto field = [](std::size_t depth) {  // the TCP-info comment is level 1
    return "from x (rdns [192.0.2.1] " + std::string(depth - 1, '(') + std::string(depth - 1, ')') +
           ") by y";
  };
  const ReceivedHop at = parse_received(field(kMaxCommentDepth));
  EXPECT_TRUE(at.ok) << at.error;
  const ReceivedHop past = parse_received(field(kMaxCommentDepth + 1));
  EXPECT_FALSE(past.ok);
  EXPECT_EQ(past.error, "comments nested too deeply");
  // Deep nesting in a leading comment is refused the same way.
  const ReceivedHop lead =
      parse_received(std::string(kMaxCommentDepth + 1, '(') +
                     std::string(kMaxCommentDepth + 1, ')') + " from x (rdns [192.0.2.1]) by y");
  EXPECT_FALSE(lead.ok);
}

TEST(ParseReceived, AddressLiteralLengthLimit) {
  // "IPv6:" + the longest IPv6 text is exactly kMaxIpLiteralLength characters.
  const std::string longest = "IPv6:0000:0000:0000:0000:0000:ffff:255.255.255.255";
  ASSERT_EQ(longest.size(), kMaxIpLiteralLength);
  const ReceivedHop at = parse_received("from x (rdns [" + longest + "]) by y");
  ASSERT_TRUE(at.ok) << at.error;
  EXPECT_EQ(at.ip, "255.255.255.255");
  const std::string too_long = "IPv6:00000:0000:0000:0000:0000:ffff:255.255.255.255";
  const ReceivedHop past = parse_received("from x (rdns [" + too_long + "]) by y");
  EXPECT_FALSE(past.ok);
  EXPECT_EQ(past.error, "address literal too long");
  EXPECT_EQ(normalize_ip(longest), "255.255.255.255");
  EXPECT_EQ(normalize_ip(too_long), std::nullopt);
}

TEST(NormalizeIp, Forms) {
  EXPECT_EQ(normalize_ip("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(normalize_ip("[192.0.2.1]"), "192.0.2.1");
  EXPECT_EQ(normalize_ip("IPv6:2001:DB8::1"), "2001:db8::1");
  EXPECT_EQ(normalize_ip("[IPv6:2001:db8:0::1]"), "2001:db8::1");
  EXPECT_EQ(normalize_ip("2001:0db8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  EXPECT_EQ(normalize_ip("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(normalize_ip("::1"), "::1");
  EXPECT_EQ(normalize_ip(""), std::nullopt);
  EXPECT_EQ(normalize_ip("[]"), std::nullopt);
  EXPECT_EQ(normalize_ip("["), std::nullopt);
  EXPECT_EQ(normalize_ip("[192.0.2.1"), std::nullopt);
  EXPECT_EQ(normalize_ip("IPv6:"), std::nullopt);
  EXPECT_EQ(normalize_ip("IPv6:192.0.2.1"), std::nullopt);
  EXPECT_EQ(normalize_ip("192.0.2.1\0"
                         "9"s),
            std::nullopt);
  EXPECT_EQ(normalize_ip("192.0.2.01"), std::nullopt);  // no octal-looking octets
  EXPECT_EQ(normalize_ip(" 192.0.2.1"), std::nullopt);
  EXPECT_EQ(normalize_ip("fe80::1%eth0"), std::nullopt);
  EXPECT_TRUE(is_loopback_ip("127.0.0.1"));
  EXPECT_TRUE(is_loopback_ip("127.8.9.10"));
  EXPECT_TRUE(is_loopback_ip("[IPv6:::1]"));
  EXPECT_TRUE(is_loopback_ip("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback_ip("128.0.0.1"));
  EXPECT_FALSE(is_loopback_ip("::2"));
  EXPECT_FALSE(is_loopback_ip("localhost"));
}

TEST(ParseReceived, HostileNeverCrashes) {
  // Every prefix of a long realistic field, and byte soup: no crash, and ok implies an IP.
  const std::string field =
      "from smtp.example.org (smtp.example.org [IPv6:2001:db8:10::25])\r\n"
      "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
      "\t(Client CN \"a\\)b [10.0.0.1]\", Issuer \"x\" (not verified))\r\n"
      "\tby mx.example.net (Postfix) with ESMTPS id 4TqRk40Zb3z9sX1; Tue, 5 Mar 2024";
  for (std::size_t n = 0; n <= field.size(); ++n) {
    const ReceivedHop hop = parse_received(std::string_view(field).substr(0, n));
    if (hop.ok) {
      EXPECT_EQ(hop.ip, "2001:db8:10::25") << n;
    }
  }
  std::string soup;
  std::uint32_t state = 12345;
  for (int round = 0; round < 2000; ++round) {
    soup.clear();
    const std::size_t len = state % 64;
    for (std::size_t k = 0; k < len; ++k) {
      state = state * 1103515245u + 12345u;
      static constexpr char kAlphabet[] =
          "from by ([]):.;\\\t\r\nIPv6:0123456789abcdef@=helo\x80\xff";
      soup.push_back(kAlphabet[(state >> 16) % (sizeof(kAlphabet) - 1)]);
    }
    const ReceivedHop hop = parse_received(soup);
    if (hop.ok) {
      EXPECT_TRUE(normalize_ip(hop.ip).has_value()) << soup;
    }
  }
}

// ---- hop selection --------------------------------------------------------------------------

// Trusted: 10.0.0.0/24 and 2001:db8:ffff::/48, by prefix of the normalized text (the real
// caller uses config::CidrList). Records every address it is asked about.
struct Trust {
  std::vector<std::string> asked;
  std::function<bool(std::string_view)> predicate() {
    return [this](std::string_view ip) {
      asked.emplace_back(ip);
      return ip.starts_with("10.0.0.") || ip.starts_with("2001:db8:ffff:");
    };
  }
};

const std::string kFromOutside =
    "from mail.sender.example (mail.sender.example [203.0.113.5])\r\n"
    "\tby relay1.corp.example (Postfix) with ESMTPS id 4TqRk31QXNz9sWv\r\n"
    "\tfor <bob@corp.example>; Tue,  5 Mar 2024 10:15:02 +0100 (CET)";
const std::string kRelay1ToRelay2 =
    "from relay1.corp.example (relay1.corp.example [10.0.0.1])\r\n"
    "\tby relay2.corp.example (Postfix) with ESMTP id 4TqRk40Zb3z9sX1\r\n"
    "\tfor <bob@corp.example>; Tue,  5 Mar 2024 10:15:03 +0100 (CET)";

struct SelectCase {
  const char* name;
  std::vector<std::string> received;
  std::string connecting;
  bool ok;
  std::string ip, helo;
  std::size_t index;
  std::string error;  // expected substring when !ok
  bool all_trusted = false;
};

TEST(SelectFirstUntrustedHop, Table) {
  const SelectCase cases[] = {
      {"single trusted relay",
       {kFromOutside},
       "10.0.0.1",
       true,
       "203.0.113.5",
       "mail.sender.example",
       0,
       ""},
      {"chain of two trusted relays",
       {kRelay1ToRelay2, kFromOutside},
       "10.0.0.2",
       true,
       "203.0.113.5",
       "mail.sender.example",
       1,
       ""},
      {"untrusted first hop, lower fields ignored",
       {"from bad.example (bad.example [198.51.100.7]) by relay1.corp.example (Postfix)",
        kRelay1ToRelay2, kFromOutside},
       "10.0.0.1",
       true,
       "198.51.100.7",
       "bad.example",
       0,
       ""},
      {"unparsable field in the middle",
       {kRelay1ToRelay2, "by relay1.corp.example (Postfix, from userid 0) id 4Tq", kFromOutside},
       "10.0.0.2",
       false,
       "",
       "",
       0,
       "Received: #1 unparsable (no from-part)"},
      {"garbage in the middle",
       {kRelay1ToRelay2, "from relay0 (relay0 [10.0.0.300]) by relay1", kFromOutside},
       "10.0.0.2",
       false,
       "",
       "",
       0,
       "Received: #1 unparsable (bad address literal)"},
      {"no Received at all",
       {},
       "10.0.0.1",
       false,
       "",
       "",
       0,
       "no Received: header from a trusted relay"},
      {"top field unparsable",
       {"garbage"},
       "10.0.0.1",
       false,
       "",
       "",
       0,
       "Received: #0 unparsable"},
      {"ipv4-mapped connecting client and hops",
       {"from relay1.corp.example (relay1.corp.example [IPv6:::ffff:10.0.0.1]) by relay2",
        "from mail.sender.example (unknown [IPv6:::ffff:203.0.113.5]) by relay1"},
       "::ffff:10.0.0.2",
       true,
       "203.0.113.5",
       "mail.sender.example",
       1,
       ""},
      {"ipv6 chain",
       {"from relay1.corp.example (relay1.corp.example [IPv6:2001:db8:ffff::1]) by relay2",
        "from out.sender.example (out.sender.example [IPv6:2001:DB8:1::25]) by relay1"},
       "2001:db8:ffff::2",
       true,
       "2001:db8:1::25",
       "out.sender.example",
       1,
       ""},
      {"content filter on loopback inside a trusted relay",
       {"from localhost (localhost [127.0.0.1]) by relay1.corp.example (Postfix) with ESMTP",
        "from relay1.corp.example ([127.0.0.1])\r\n\tby localhost (relay1.corp.example "
        "[127.0.0.1]) (amavisd-new, port 10024)\r\n\twith ESMTP id Xy12ab for <bob@corp.example>",
        kFromOutside},
       "10.0.0.1",
       true,
       "203.0.113.5",
       "mail.sender.example",
       2,
       ""},
      {"MTA shows its own field naming the connecting client",
       {"from relay9.corp.example (relay9.corp.example [10.0.0.9]) by mx.corp.example (Postfix)",
        kFromOutside},
       "10.0.0.9",
       true,
       "203.0.113.5",
       "mail.sender.example",
       1,
       ""},
      {"chain ends at trusted hosts",
       {kRelay1ToRelay2},
       "10.0.0.2",
       false,
       "",
       "",
       0,
       "no untrusted hop",
       true},
      {"connecting client not trusted",
       {kFromOutside},
       "198.51.100.1",
       false,
       "",
       "",
       0,
       "connecting client is not a trusted relay"},
      {"connecting client unparsable",
       {kFromOutside},
       "relay1.corp.example",
       false,
       "",
       "",
       0,
       "connecting client address unparsable"},
      {"connecting client in brackets",
       {kFromOutside},
       "[10.0.0.1]",
       true,
       "203.0.113.5",
       "mail.sender.example",
       0,
       ""},
      {"no from-part at the top",
       {"by relay1.corp.example (Postfix, from userid 1000) id 4TqRk", kFromOutside},
       "10.0.0.1",
       false,
       "",
       "",
       0,
       "Received: #0 unparsable (no from-part)"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string_view> views(c.received.begin(), c.received.end());
    Trust trust;
    const HopSelection s = select_first_untrusted_hop(views, c.connecting, trust.predicate());
    EXPECT_EQ(s.ok, c.ok) << s.error;
    EXPECT_EQ(s.all_trusted, c.all_trusted);
    if (c.ok) {
      EXPECT_EQ(s.ip, c.ip);
      EXPECT_EQ(s.helo, c.helo);
      EXPECT_EQ(s.received_index, c.index);
      EXPECT_TRUE(s.error.empty()) << s.error;
    } else {
      EXPECT_NE(s.error.find(c.error), std::string::npos) << s.error;
      EXPECT_TRUE(s.ip.empty());
    }
  }
}

// Forged lower headers: everything below the first untrusted sender was written by it (or
// by hosts it chose). They claim trusted senders, one is even unparsable; none is read.
TEST(SelectFirstUntrustedHop, NeverLooksBelowTheFirstUntrustedSender) {
  const std::vector<std::string> received = {
      kRelay1ToRelay2,
      "from evil.example (evil.example [198.51.100.66]) by relay1.corp.example (Postfix)",
      // forged by evil.example:
      "from relay3.corp.example (relay3.corp.example [10.0.0.3]) by evil.example (Postfix)",
      "from relay4.corp.example (relay4.corp.example [10.0.0.4]) by relay3.corp.example",
      "this one is not even a Received value ((((",
      "from innocent.example (innocent.example [192.0.2.99]) by relay4.corp.example",
  };
  std::vector<std::string_view> views(received.begin(), received.end());
  Trust trust;
  const HopSelection s = select_first_untrusted_hop(views, "10.0.0.2", trust.predicate());
  ASSERT_TRUE(s.ok) << s.error;
  EXPECT_EQ(s.ip, "198.51.100.66");
  EXPECT_EQ(s.helo, "evil.example");
  EXPECT_EQ(s.received_index, 1u);
  // The predicate saw the connecting client, relay1, and evil.example: nothing forged.
  EXPECT_EQ(trust.asked, (std::vector<std::string>{"10.0.0.2", "10.0.0.1", "198.51.100.66"}));
}

// The untrusted sender may HELO as a trusted address literal; only the receiver's
// TCP-info counts.
TEST(SelectFirstUntrustedHop, HeloLiteralIsNotTheAddress) {
  const std::vector<std::string> received = {
      "from [10.0.0.7] (unknown [203.0.113.50])\r\n\tby relay1.corp.example (Postfix) with SMTP",
      "from relay7.corp.example (relay7.corp.example [10.0.0.7]) by evil.example",
  };
  std::vector<std::string_view> views(received.begin(), received.end());
  Trust trust;
  const HopSelection s = select_first_untrusted_hop(views, "10.0.0.1", trust.predicate());
  ASSERT_TRUE(s.ok) << s.error;
  EXPECT_EQ(s.ip, "203.0.113.50");
  EXPECT_EQ(s.helo, "[10.0.0.7]");
  EXPECT_EQ(s.received_index, 0u);
}

// kMaxReceivedHops fields are walked; the untrusted sender in the last of them is found, one
// further is an error.
TEST(SelectFirstUntrustedHop, HopLimit) {
  auto chain = [](std::size_t trusted_fields) {
    std::vector<std::string> received;
    for (std::size_t i = 0; i < trusted_fields; ++i) {
      received.push_back("from r (r [10.0.0." + std::to_string(i % 200 + 1) + "]) by s");
    }
    received.push_back(kFromOutside);
    return received;
  };
  {
    const auto received = chain(kMaxReceivedHops - 1);
    ASSERT_EQ(received.size(), kMaxReceivedHops);
    std::vector<std::string_view> views(received.begin(), received.end());
    Trust trust;
    const HopSelection s = select_first_untrusted_hop(views, "10.0.0.250", trust.predicate());
    ASSERT_TRUE(s.ok) << s.error;
    EXPECT_EQ(s.received_index, kMaxReceivedHops - 1);
    EXPECT_EQ(s.ip, "203.0.113.5");
  }
  {
    const auto received = chain(kMaxReceivedHops);
    std::vector<std::string_view> views(received.begin(), received.end());
    Trust trust;
    const HopSelection s = select_first_untrusted_hop(views, "10.0.0.250", trust.predicate());
    EXPECT_FALSE(s.ok);
    EXPECT_FALSE(s.all_trusted);
    EXPECT_EQ(s.error, "more than 50 trusted hops in the Received: chain");
  }
}

TEST(SelectFirstUntrustedHop, EmptyPredicateTrustsNothing) {
  const std::vector<std::string_view> received = {kFromOutside};
  const HopSelection s = select_first_untrusted_hop(received, "10.0.0.1", nullptr);
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, "connecting client is not a trusted relay");
}

}  // namespace
}  // namespace authmilter::mail
