// received_spf_value(): RFC 7208 §9.1 Received-SPF field values.
#include <gtest/gtest.h>

#include <string>

#include "authmilter/dns/zone_resolver.h"
#include "authmilter/spf/spf.h"
#include "authmilter/spf/syntax.h"

namespace authmilter::spf {
namespace {

TEST(ReceivedSpf, MailFromPass) {
  CheckResult result;
  result.result = Result::kPass;
  result.identity = Identity::kMailFrom;
  result.checked = "myname@example.com";
  result.comment = "domain of myname@example.com designates 192.0.2.1 as permitted sender";
  const Request request{"192.0.2.1", "foo.example.com", "myname@example.com"};
  EXPECT_EQ(received_spf_value(result, request, "mybox.example.org"),
            "pass (mybox.example.org: domain of myname@example.com designates 192.0.2.1 as "
            "permitted sender) client-ip=192.0.2.1; envelope-from=\"myname@example.com\"; "
            "helo=foo.example.com; receiver=mybox.example.org; identity=mailfrom");
}

TEST(ReceivedSpf, HeloIdentityAndIpv6) {
  CheckResult result;
  result.result = Result::kSoftFail;
  result.identity = Identity::kHelo;
  result.checked = "mail.example.com";
  const Request request{"2001:db8::1", "mail.example.com", "", Identity::kHelo};
  // No comment: no parentheses. IPv6 is not a dot-atom, so it is quoted (RFC 7208 §9.1 ABNF).
  EXPECT_EQ(received_spf_value(result, request, "mx.example.net"),
            "softfail client-ip=\"2001:db8::1\"; envelope-from=\"postmaster@mail.example.com\"; "
            "helo=mail.example.com; receiver=mx.example.net; identity=helo");
}

TEST(ReceivedSpf, EveryResultTokenAppears) {
  const Request request{"192.0.2.1", "h.example.com", "a@example.com"};
  for (const Result r : {Result::kNone, Result::kNeutral, Result::kPass, Result::kFail,
                         Result::kSoftFail, Result::kTempError, Result::kPermError}) {
    CheckResult result;
    result.result = r;
    const std::string value = received_spf_value(result, request, "");
    EXPECT_EQ(value.rfind(std::string(to_token(r)) + " client-ip=", 0), 0u) << value;
    EXPECT_EQ(value.find("receiver="), std::string::npos);
  }
}

TEST(ReceivedSpf, HostileValuesAreQuotedAndStripped) {
  CheckResult result;
  result.result = Result::kFail;
  result.comment = "evil (comment) \\ with\r\nnewline";
  const Request request{"192.0.2.1", "bad\r\nhelo \"quoted\"",
                        std::string("x\0\"y\"@ex\r\nample", 15)};
  const std::string value = received_spf_value(result, request, "mx.example.net");
  EXPECT_EQ(value.find_first_of(std::string("\r\n\0", 3)), std::string::npos) << value;
  EXPECT_NE(value.find("(mx.example.net: evil \\(comment\\) \\\\ withnewline)"), std::string::npos)
      << value;
  EXPECT_NE(value.find("helo=\"badhelo \\\"quoted\\\"\""), std::string::npos) << value;
  EXPECT_NE(value.find("envelope-from=\"x\\\"y\\\"@example\""), std::string::npos) << value;
}

TEST(ReceivedSpf, LongValuesAreCut) {
  CheckResult result;
  result.result = Result::kNone;
  const Request request{"192.0.2.1", std::string(5000, 'h'), ""};
  const std::string value = received_spf_value(result, request, "mx.example.net");
  EXPECT_NE(value.find("helo=" + std::string(kMaxHeaderValueLength, 'h') + ";"), std::string::npos);
  EXPECT_LT(value.size(), 1200u);
}

TEST(ReceivedSpf, FromARealCheck) {
  dns::ZoneResolver zone;
  zone.load("example.org TXT \"v=spf1 -all\"");
  const Checker checker(zone, CheckerOptions{"mx.example.net"});
  const Request request{"192.0.2.9", "client.example.net", "bob@example.org"};
  const CheckResult result = checker.check(request, dns::Clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(received_spf_value(result, request, "mx.example.net"),
            "fail (mx.example.net: domain of bob@example.org does not designate 192.0.2.9 as "
            "permitted sender) client-ip=192.0.2.9; envelope-from=\"bob@example.org\"; "
            "helo=client.example.net; receiver=mx.example.net; identity=mailfrom");
}

}  // namespace
}  // namespace authmilter::spf
