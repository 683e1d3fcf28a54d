// The libspf2 DNS layer on its own: Answer -> SPF_dns_rr_t conversion, herrno mapping, lookup
// classification and the RFC 7208 §4.6.4 limits, record selection and explanation texts.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include <spf2/spf.h>
#include <spf2/spf_dns.h>
#include <spf2/spf_dns_rr.h>
}

#include "authmilter/dns/resolver.h"
#include "authmilter/spf/spf.h"
#include "dns_layer.h"  // src/spf/: the module's private headers
#include "explanation.h"
#include "record_selection.h"

namespace authmilter::spf {
namespace {

using dns::RrType;
using dns::Status;

// Answers from a function: the odd answers a zone file cannot express.
class ScriptedResolver final : public dns::Resolver {
 public:
  std::function<dns::Answer(std::string_view, RrType)> script;
  std::vector<std::pair<std::string, RrType>> asked;

  dns::PendingAnswer start(std::string_view name, RrType type) override {
    asked.emplace_back(std::string(name), type);
    return dns::ready_answer(script(name, type));
  }
};

dns::Record record(RrType type, std::string data) {
  dns::Record r;
  r.type = type;
  r.data = std::move(data);
  return r;
}

dns::Answer answer(std::vector<dns::Record> records) {
  dns::Answer a;
  a.status = Status::kNoError;
  a.records = std::move(records);
  a.ttl = 60;
  return a;
}

std::string v4(const char* text) {
  in_addr addr{};
  EXPECT_EQ(inet_pton(AF_INET, text, &addr), 1);
  return std::string(reinterpret_cast<const char*>(&addr), sizeof addr);
}

std::string v6(const char* text) {
  in6_addr addr{};
  EXPECT_EQ(inet_pton(AF_INET6, text, &addr), 1);
  return std::string(reinterpret_cast<const char*>(&addr), sizeof addr);
}

struct RrFree {
  void operator()(SPF_dns_rr_t* rr) const { SPF_dns_rr_free(rr); }
};
using RrPtr = std::unique_ptr<SPF_dns_rr_t, RrFree>;

class DnsLayerTest : public ::testing::Test {
 protected:
  RrPtr ask(const char* name, ns_type type, bool should_cache = true) {
    RrPtr rr(SPF_dns_lookup(layer_.get(), name, type, should_cache ? 1 : 0));
    EXPECT_NE(rr, nullptr);
    return rr;
  }

  ScriptedResolver resolver_;
  LookupContext ctx_{resolver_, dns::Clock::now() + std::chrono::seconds(30), nullptr,
                     Scope::kMailFrom, false};
  DnsLayer layer_{ctx_};
};

TEST_F(DnsLayerTest, AddressRecordsAreCopiedAndMalformedOnesDropped) {
  resolver_.script = [](std::string_view, RrType type) {
    if (type == RrType::kA) {
      return answer({record(RrType::kA, v4("192.0.2.1")), record(RrType::kA, "abc"),
                     record(RrType::kA, v4("192.0.2.2"))});
    }
    return answer({record(RrType::kAaaa, v6("2001:db8::1")), record(RrType::kAaaa, v4("1.2.3.4"))});
  };
  RrPtr a = ask("example.org", ns_t_a);
  ASSERT_EQ(a->herrno, NETDB_SUCCESS);
  ASSERT_EQ(a->num_rr, 2);
  EXPECT_EQ(a->rr_type, ns_t_a);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&a->rr[0]->a), 4), v4("192.0.2.1"));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&a->rr[1]->a), 4), v4("192.0.2.2"));
  RrPtr aaaa = ask("example.org", ns_t_aaaa);
  ASSERT_EQ(aaaa->num_rr, 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&aaaa->rr[0]->aaaa), 16), v6("2001:db8::1"));
}

TEST_F(DnsLayerTest, OnlyMalformedRecordsMeanNoData) {
  resolver_.script = [](std::string_view, RrType) { return answer({record(RrType::kA, "12345")}); };
  RrPtr a = ask("example.org", ns_t_a);
  EXPECT_EQ(a->herrno, NO_DATA);
  EXPECT_EQ(a->num_rr, 0);
}

TEST_F(DnsLayerTest, StatusMapsToHerrno) {
  const std::pair<Status, int> cases[] = {
      {Status::kNxDomain, HOST_NOT_FOUND}, {Status::kNoData, NO_DATA},
      {Status::kServFail, TRY_AGAIN},      {Status::kTimeout, TRY_AGAIN},
      {Status::kError, TRY_AGAIN},         {Status::kNoError, NO_DATA},  // without records
  };
  for (const auto& [status, herrno] : cases) {
    SCOPED_TRACE(std::string(dns::to_string(status)));
    resolver_.script = [status = status](std::string_view, RrType) {
      dns::Answer a;
      a.status = status;
      return a;
    };
    ctx_.void_lookups = 0;  // several void answers in a row: keep under the limit
    EXPECT_EQ(ask("example.org", ns_t_a)->herrno, herrno);
  }
  EXPECT_EQ(ctx_.temp_detail, "DNS SERVFAIL for example.org A");
}

TEST_F(DnsLayerTest, MxNamesAndTheirAddressLookupsAreOneTerm) {
  resolver_.script = [](std::string_view name, RrType type) {
    if (type == RrType::kMx) {
      return answer({record(RrType::kMx, "mx1.example.org"), record(RrType::kMx, "mx2.example.org"),
                     record(RrType::kMx, std::string("bad\0name", 8))});
    }
    return answer({record(RrType::kA, v4(name == "mx1.example.org" ? "192.0.2.1" : "192.0.2.2"))});
  };
  RrPtr mx = ask("example.org", ns_t_mx);
  ASSERT_EQ(mx->num_rr, 2);  // the name with a NUL is dropped
  EXPECT_STREQ(mx->rr[0]->mx, "mx1.example.org");
  EXPECT_STREQ(mx->rr[1]->mx, "mx2.example.org");
  EXPECT_EQ(ask("mx1.example.org", ns_t_a)->num_rr, 1);
  EXPECT_EQ(ask("MX2.example.org", ns_t_a)->num_rr, 1);
  EXPECT_EQ(ctx_.terms, 1);
  // The next A lookup is a term of its own ("a:mx1.example.org").
  ask("mx1.example.org", ns_t_a);
  EXPECT_EQ(ctx_.terms, 2);
}

TEST_F(DnsLayerTest, MoreThanTenMxNamesStopsWithPermanentError) {
  resolver_.script = [](std::string_view, RrType) {
    std::vector<dns::Record> records;
    for (std::size_t i = 0; i <= kMaxMxNames; ++i) {
      records.push_back(record(RrType::kMx, "mx" + std::to_string(i) + ".example.org"));
    }
    return answer(std::move(records));
  };
  EXPECT_EQ(ask("example.org", ns_t_mx)->herrno, TRY_AGAIN);
  EXPECT_EQ(ctx_.stop, Stop::kMxLimit);
  EXPECT_TRUE(is_permanent(ctx_.stop));
}

TEST_F(DnsLayerTest, PtrAnswersPastTenNamesAreIgnored) {
  resolver_.script = [](std::string_view, RrType) {
    std::vector<dns::Record> records;
    for (std::size_t i = 0; i < kMaxPtrNames + 5; ++i) {
      records.push_back(record(RrType::kPtr, "h" + std::to_string(i) + ".example.org"));
    }
    return answer(std::move(records));
  };
  RrPtr ptr = ask("1.2.0.192.in-addr.arpa", ns_t_ptr);
  EXPECT_EQ(ptr->herrno, NETDB_SUCCESS);
  EXPECT_EQ(static_cast<std::size_t>(ptr->num_rr), kMaxPtrNames);
  EXPECT_STREQ(ptr->rr[9]->ptr, "h9.example.org");
  EXPECT_EQ(ctx_.stop, Stop::kNone);
}

TEST_F(DnsLayerTest, ClientNameLookupsAreNotTerms) {
  // SPF_dns_get_client_dom() (%{p}) asks PTR and then A with should_cache=FALSE.
  resolver_.script = [](std::string_view, RrType type) {
    if (type == RrType::kPtr) return answer({record(RrType::kPtr, "host.example.org")});
    return answer({record(RrType::kA, v4("192.0.2.1"))});
  };
  ask("1.2.0.192.in-addr.arpa", ns_t_ptr, false);
  ask("host.example.org", ns_t_a, false);
  EXPECT_EQ(ctx_.terms, 0);
  ask("1.2.0.192.in-addr.arpa", ns_t_ptr, true);  // the ptr mechanism
  ask("host.example.org", ns_t_a, true);
  EXPECT_EQ(ctx_.terms, 1);
}

TEST_F(DnsLayerTest, TermLimitRefusesTheEleventhLookup) {
  resolver_.script = [](std::string_view, RrType) {
    return answer({record(RrType::kA, v4("192.0.2.1"))});
  };
  for (int i = 0; i < kMaxDnsTerms; ++i) {
    EXPECT_EQ(ask("example.org", ns_t_a)->herrno, NETDB_SUCCESS);
  }
  EXPECT_EQ(ctx_.stop, Stop::kNone);
  EXPECT_EQ(ask("example.org", ns_t_a)->herrno, TRY_AGAIN);
  EXPECT_EQ(ctx_.stop, Stop::kTermLimit);
  EXPECT_EQ(resolver_.asked.size(), static_cast<std::size_t>(kMaxDnsTerms));
  // Once stopped, nothing more is asked.
  EXPECT_EQ(ask("other.example.org", ns_t_mx)->herrno, TRY_AGAIN);
  EXPECT_EQ(resolver_.asked.size(), static_cast<std::size_t>(kMaxDnsTerms));
}

TEST_F(DnsLayerTest, VoidLimitRefusesTheThirdVoidAnswer) {
  resolver_.script = [](std::string_view name, RrType) {
    return name == "nx.example.org" ? dns::Answer::failure(Status::kNxDomain, "")
                                    : dns::Answer::failure(Status::kNoData, "");
  };
  EXPECT_EQ(ask("nx.example.org", ns_t_a)->herrno, HOST_NOT_FOUND);
  EXPECT_EQ(ask("nodata.example.org", ns_t_mx)->herrno, NO_DATA);
  EXPECT_EQ(ctx_.void_lookups, kMaxVoidLookups);
  EXPECT_EQ(ctx_.stop, Stop::kNone);
  EXPECT_EQ(ask("nx.example.org", ns_t_a)->herrno, TRY_AGAIN);
  EXPECT_EQ(ctx_.stop, Stop::kVoidLimit);
}

TEST_F(DnsLayerTest, ExplanationTextNeedsExactlyOneValidRecord) {
  std::vector<dns::Record> records;
  resolver_.script = [&records](std::string_view, RrType) { return answer(records); };
  records = {record(RrType::kTxt, "see %{d} now")};
  RrPtr one = ask("exp.example.org", ns_t_txt);
  ASSERT_EQ(one->num_rr, 1);
  EXPECT_STREQ(one->rr[0]->txt, "see%_%{d}%_now");
  records = {record(RrType::kTxt, "one"), record(RrType::kTxt, "two")};
  EXPECT_EQ(ask("exp.example.org", ns_t_txt)->herrno, NO_DATA);
  records = {record(RrType::kTxt, "100% sure")};
  EXPECT_EQ(ask("exp.example.org", ns_t_txt)->herrno, NO_DATA);
  records = {};
  EXPECT_EQ(ask("exp.example.org", ns_t_txt)->herrno, NO_DATA);
  // Explanation lookups are not terms and never void lookups (rfc7208-tests exp-void).
  EXPECT_EQ(ctx_.terms, 0);
  EXPECT_EQ(ctx_.void_lookups, 0);
}

TEST_F(DnsLayerTest, LongNamesAreLeftTruncatedAndBadNamesNotAsked) {
  resolver_.script = [](std::string_view, RrType) {
    return answer({record(RrType::kA, v4("192.0.2.1"))});
  };
  std::string long_name;
  for (char c = 'a'; c <= 'e'; ++c) long_name += std::string(60, c) + ".";
  long_name += "example.org";  // 5 * 61 + 11 = 316 octets
  ask(long_name.c_str(), ns_t_a);
  ASSERT_EQ(resolver_.asked.size(), 1u);
  EXPECT_LE(resolver_.asked[0].first.size(), 253u);
  EXPECT_EQ(resolver_.asked[0].first, std::string(60, 'c') + "." + std::string(60, 'd') + "." +
                                          std::string(60, 'e') + ".example.org");
  // Each is a void lookup; keep under the void limit.
  EXPECT_EQ(ask("a..example.org", ns_t_a)->herrno, HOST_NOT_FOUND);
  ctx_.void_lookups = 0;
  EXPECT_EQ(ask((std::string(64, 'x') + ".example.org").c_str(), ns_t_a)->herrno, HOST_NOT_FOUND);
  ctx_.void_lookups = 0;
  EXPECT_EQ(ask("", ns_t_a)->herrno, HOST_NOT_FOUND);
  EXPECT_EQ(resolver_.asked.size(), 1u);
}

TEST_F(DnsLayerTest, UnsupportedTypeIsNoDataWithoutAQuery) {
  resolver_.script = [](std::string_view, RrType) { return answer({}); };
  EXPECT_EQ(ask("example.org", ns_t_ns)->herrno, NO_DATA);
  EXPECT_TRUE(resolver_.asked.empty());
}

TEST_F(DnsLayerTest, DeadlineAndCancelStopEvaluationLookupsOnly) {
  resolver_.script = [](std::string_view, RrType) {
    return answer({record(RrType::kTxt, "text")});
  };
  ctx_.deadline = dns::Clock::now() - std::chrono::milliseconds(1);
  // The exp= text is not part of the evaluation: no stop reason.
  EXPECT_EQ(ask("exp.example.org", ns_t_txt)->herrno, TRY_AGAIN);
  EXPECT_EQ(ctx_.stop, Stop::kNone);
  EXPECT_EQ(ask("example.org", ns_t_a)->herrno, TRY_AGAIN);
  EXPECT_EQ(ctx_.stop, Stop::kDeadline);
  EXPECT_TRUE(resolver_.asked.empty());
  EXPECT_FALSE(is_permanent(Stop::kDeadline));
}

TEST_F(DnsLayerTest, CancelFlagStopsLookups) {
  work::CancelToken cancel;
  cancel.cancel();
  ctx_.cancel = &cancel;
  resolver_.script = [](std::string_view, RrType) { return answer({}); };
  EXPECT_EQ(ask("example.org", ns_t_mx)->herrno, TRY_AGAIN);
  EXPECT_EQ(ctx_.stop, Stop::kCancelled);
  EXPECT_TRUE(resolver_.asked.empty());
}

TEST_F(DnsLayerTest, ResolverExceptionBecomesInternalStop) {
  resolver_.script = [](std::string_view, RrType) -> dns::Answer {
    throw std::runtime_error("boom");
  };
  EXPECT_EQ(ask("example.org", ns_t_a)->herrno, TRY_AGAIN);
  EXPECT_EQ(ctx_.stop, Stop::kInternal);
  EXPECT_NE(ctx_.stop_detail.find("boom"), std::string::npos);
}

TEST(SelectRecord, Rfc7208Selection) {
  using Outcome = RecordSelection::Outcome;
  EXPECT_EQ(select_record({}, Scope::kMailFrom).outcome, Outcome::kNone);
  EXPECT_EQ(
      select_record({"v=spf10 -all", "v=spf1-all", "spf2.0/mfrom -all"}, Scope::kMailFrom).outcome,
      Outcome::kNone);
  const RecordSelection one = select_record({"other", "V=SpF1 -all"}, Scope::kHelo);
  EXPECT_EQ(one.outcome, Outcome::kFound);
  EXPECT_EQ(one.record, "V=SpF1 -all");
  EXPECT_EQ(select_record({"v=spf1"}, Scope::kMailFrom).outcome, Outcome::kFound);
  EXPECT_EQ(select_record({"v=spf1 -all", "v=spf1 +all"}, Scope::kMailFrom).outcome,
            Outcome::kMultiple);
}

TEST(SelectRecord, PraScopeSeam) {
  using Outcome = RecordSelection::Outcome;
  const RecordSelection pra =
      select_record({"v=spf1 -all", "spf2.0/mfrom,PRA ip4:192.0.2.1 -all"}, Scope::kPra);
  EXPECT_EQ(pra.outcome, Outcome::kFound);
  EXPECT_EQ(pra.record, "v=spf1 ip4:192.0.2.1 -all");
  // No spf2.0 record at all: v=spf1 is used. An spf2.0 record for other scopes only hides
  // v=spf1: no pra policy (RFC 4406 §3.4/§4.4; more in spf_sender_id_test.cc).
  EXPECT_EQ(select_record({"v=spf1 -all"}, Scope::kPra).record, "v=spf1 -all");
  EXPECT_EQ(select_record({"v=spf1 -all", "spf2.0/mfrom +all"}, Scope::kPra).outcome,
            Outcome::kNone);
  EXPECT_EQ(select_record({"spf2.0/pra -all", "spf2.0/pra,mfrom +all"}, Scope::kPra).outcome,
            Outcome::kMultiple);
  // The mailfrom scope of RFC 7208 never reads spf2.0 records.
  EXPECT_EQ(select_record({"spf2.0/mfrom,pra +all"}, Scope::kMailFrom).outcome, Outcome::kNone);
}

TEST(PrepareExplanation, ExplainStringSyntax) {
  EXPECT_EQ(prepare_explanation("plain"), "plain");
  EXPECT_EQ(prepare_explanation("a b  c"), "a%_b%_%_c");
  EXPECT_EQ(prepare_explanation("%{i} is %% %_ %-"), "%{i}%_is%_%%%_%_%_%-");
  EXPECT_EQ(prepare_explanation(""), "");
  EXPECT_EQ(prepare_explanation("100%"), std::nullopt);
  EXPECT_EQ(prepare_explanation("100% sure"), std::nullopt);
  EXPECT_EQ(prepare_explanation("%{i is"), std::nullopt);
  EXPECT_EQ(prepare_explanation("%{i} is\tbad"), std::nullopt);
  EXPECT_EQ(prepare_explanation("caf\xC3\xA9"), std::nullopt);
  EXPECT_EQ(prepare_explanation(std::string("a\0b", 3)), std::nullopt);
}

}  // namespace
}  // namespace authmilter::spf
