// The Authentication-Results conformance data (tests/data/authres/ar_parse_cases.json: 68
// headers with what python authres 1.2.0 and Mail::AuthenticationResults 2.20230112 make of
// them; see tests/data/README.md) against our parser, authserv-id reader and writer:
// - ParseAuthResultsConformance: parse_authentication_results() gives authres' outcome (the
//   strict reference) except for the listed deviations, which follow Mail::AR;
// - AuthresConformance: authserv_id_of() where the references agree or only the liberal one
//   parses, and format_authentication_results() against authres' canonical str().
#include <gtest/gtest.h>

#include <cstddef>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "auth_results_support.h"
#include "authmilter/mail/auth_results.h"
#include "authmilter/mail/auth_results_parse.h"
#include "json_reader.h"
#include "test_data.h"

namespace authmilter::mail {
namespace {

using test_support::JsonValue;
using test_support::parse_json;
using test_support::render;
using test_support::value_without_field_name;

const std::vector<JsonValue>& conformance_cases() {
  static const JsonValue doc =
      parse_json(test_support::read_file(test_support::data_path("authres/ar_parse_cases.json")));
  return doc.array;
}

TEST(TestSupportJson, ReadsWhatTheConformanceFileUses) {
  const JsonValue v =
      parse_json(R"({"a": [1, -2.5e3, true, false, null], "s": "x\"\\\n\t\u00e9\ud83d\ude00"})");
  EXPECT_EQ(v["a"].array.size(), 5u);
  EXPECT_EQ(v["a"].array[1].string, "-2.5e3");
  EXPECT_TRUE(v["a"].array[2].boolean);
  EXPECT_FALSE(v["a"].array[3].boolean);
  EXPECT_TRUE(v["a"].array[4].is_null());
  EXPECT_EQ(v["s"].string, "x\"\\\n\t\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_THROW(parse_json("{\"a\": }"), std::runtime_error);
  EXPECT_THROW(parse_json("[1, 2"), std::runtime_error);
  EXPECT_THROW(parse_json("\"unterminated"), std::runtime_error);
}

// Where we deliberately differ from python authres (the strict reference), and why. Every
// other input must give authres' outcome, and for accepted ones the same authserv-id and
// (method, version, result, reason, ptype.property=value) tuples.
enum class Deviation { kAcceptLikeMailAr, kReject };
struct KnownDeviation {
  std::string_view input_start;
  Deviation deviation;
  std::string_view why;
};
constexpr KnownDeviation kDeviations[] = {
    {"example.com; (Nothing here) none", Deviation::kAcceptLikeMailAr,
     "RFC 8601 no-result = [CFWS] \";\" [CFWS] \"none\": a comment may precede none"},
    {"mx.aol.com;\n\tspf=pass", Deviation::kAcceptLikeMailAr,
     "one ';' after the last resinfo is tolerated (AOL, Microsoft)"},
    {"Authentication-Results: mail.bmsi.com; iprev=pass policy.iprev=2001:748",
     Deviation::kAcceptLikeMailAr, "unquoted IPv6 pvalue is tolerated, as in the wild"},
};

// Mail::AuthenticationResults' entries, reduced to what we return: ptype.property pairs only
// (its subentries also hold ptype-less pairs, which we skip).
std::vector<std::string> mail_ar_results(const JsonValue& m) {
  std::vector<std::string> out;
  for (const auto& e : m["entries"].array) {
    ParsedResInfo r;
    r.method = e["key"].string;
    r.result = e["value"].string;
    for (const auto& sub : e["subentries"].array) {
      const std::string& key = sub["key"].string;
      if (key == "reason") {
        r.reason = sub["value"].string;
      } else if (key.find('.') != std::string::npos) {
        r.properties.emplace_back(key, sub["value"].string);
      }
    }
    out.push_back(render(r));
  }
  return out;
}

std::vector<std::string> authres_results(const JsonValue& a) {
  std::vector<std::string> out;
  for (const auto& res : a["results"].array) {
    ParsedResInfo r;
    r.method = res["method"].string;
    if (!res["version"].is_null()) r.version = res["version"].string;
    r.result = res["result"].string;
    if (!res["reason"].is_null()) r.reason = res["reason"].string;
    for (const auto& p : res["properties"].array) {
      r.properties.emplace_back(p["type"].string + "." + p["name"].string, p["value"].string);
    }
    out.push_back(render(r));
  }
  return out;
}

TEST(ParseAuthResultsConformance, AgreesWithReferences) {
  const auto& cases = conformance_cases();
  ASSERT_EQ(cases.size(), 68u);

  std::size_t accepted = 0, rejected = 0, deviations = 0, both_agree_matched = 0;
  for (const JsonValue& c : cases) {
    const std::string& input = c["input"].string;
    const JsonValue& authres = c["authres_1.2.0"];
    const JsonValue& mail_ar = c["Mail::AuthenticationResults_2.20230112"];
    const auto ar = parse_authentication_results(value_without_field_name(input));
    SCOPED_TRACE("input: " + input + " (" + c["source"].string + ")");

    const KnownDeviation* dev = nullptr;
    for (const auto& d : kDeviations) {
      if (input.rfind(d.input_start, 0) == 0) dev = &d;
    }
    if (dev != nullptr) {
      ++deviations;
      SCOPED_TRACE(std::string("deviation from authres: ") + std::string(dev->why));
      ASSERT_FALSE(authres["ok"].boolean) << "not a deviation any more";
      if (dev->deviation == Deviation::kReject) {
        EXPECT_EQ(ar, std::nullopt);
        continue;
      }
      ASSERT_TRUE(mail_ar["ok"].boolean);
      ASSERT_TRUE(ar);
      EXPECT_EQ(ar->authserv_id, mail_ar["authserv_id"].string);
      EXPECT_EQ(render(*ar), mail_ar_results(mail_ar));
      ++accepted;
      continue;
    }

    // Where both references agree, that is the expected outcome; where they disagree, the
    // strict one (authres) is, except for the deviations above.
    if (authres["ok"].boolean == mail_ar["ok"].boolean) ++both_agree_matched;
    if (!authres["ok"].boolean) {
      EXPECT_EQ(ar, std::nullopt) << "authres: " << authres["error"].string;
      ++rejected;
      continue;
    }
    ASSERT_TRUE(ar) << "authres parsed it";
    ++accepted;
    EXPECT_EQ(ar->authserv_id, authres["authserv_id"].string);
    EXPECT_EQ(ar->version, authres["version"].is_null() ? "" : authres["version"].string);
    EXPECT_EQ(ar->none, authres["results"].array.empty());
    EXPECT_EQ(render(*ar), authres_results(authres));
  }
  EXPECT_EQ(deviations, std::size(kDeviations));
  EXPECT_EQ(both_agree_matched, 50u);  // README: the references agree on 50 inputs
  EXPECT_EQ(accepted, 39u);            // authres' 36 plus the 3 deviations
  EXPECT_EQ(rejected, 29u);
}

std::optional<std::string> reference_id(const JsonValue& c, std::string_view library) {
  const JsonValue* r = c.find(library);
  if (r == nullptr) return std::nullopt;
  const JsonValue* ok = r->find("ok");
  const JsonValue* id = r->find("authserv_id");
  if (ok == nullptr || !ok->boolean || id == nullptr || !id->is_string()) return std::nullopt;
  return id->string;
}

constexpr std::string_view kAuthres = "authres_1.2.0";
constexpr std::string_view kMailAr = "Mail::AuthenticationResults_2.20230112";

TEST(AuthresConformance, AuthservIdWhereReferencesAgree) {
  const auto& cases = conformance_cases();
  ASSERT_EQ(cases.size(), 68u);
  int compared = 0;
  for (const auto& c : cases) {
    const std::string input = c["input"].string;
    const auto strict = reference_id(c, kAuthres);
    const auto liberal = reference_id(c, kMailAr);
    if (!strict || !liberal || *strict != *liberal) continue;
    EXPECT_EQ(authserv_id_of(value_without_field_name(input)), *strict)
        << c["source"].string << ": " << input;
    ++compared;
  }
  std::cout << "[ authres  ] authserv-id compared on " << compared
            << " cases where both references parse and agree\n";
  EXPECT_EQ(compared, 35);
}

// Where only Mail::AuthenticationResults (the liberal reference) finds an id, our reader,
// liberal on purpose (removal of forged headers), finds the same one.
TEST(AuthresConformance, AuthservIdLiberalReference) {
  int compared = 0;
  for (const auto& c : conformance_cases()) {
    const std::string input = c["input"].string;
    const auto strict = reference_id(c, kAuthres);
    const auto liberal = reference_id(c, kMailAr);
    if (strict || !liberal) continue;
    EXPECT_EQ(authserv_id_of(value_without_field_name(input)), *liberal)
        << c["source"].string << ": " << input;
    ++compared;
  }
  std::cout << "[ authres  ] authserv-id compared on " << compared
            << " cases only Mail::AuthenticationResults parses\n";
  EXPECT_EQ(compared, 17);
}

// Inputs both references reject that still start with a plain id: ours returns that id
// (liberal) or nullopt, never something else and never crashes.
TEST(AuthresConformance, RejectedInputsNeverYieldOtherIds) {
  int rejected = 0;
  for (const auto& c : conformance_cases()) {
    const std::string input = c["input"].string;
    if (reference_id(c, kAuthres) || reference_id(c, kMailAr)) continue;
    ++rejected;
    const auto id = authserv_id_of(value_without_field_name(input));
    if (id) {
      EXPECT_EQ(value_without_field_name(input).find(*id), 0u) << input;
    }
  }
  EXPECT_EQ(rejected, 15);
}

// Re-create every result authres parsed and compare our header, unfolded, with authres'
// canonical str(): same quoting decisions (e.g. header.b="Qgi/FoC0", policy.iprev="2001:...")
// and the same "id; none". authres drops comments, so ours has none either.
TEST(AuthresConformance, WriterMatchesAuthresStr) {
  int compared = 0;
  for (const auto& c : conformance_cases()) {
    const JsonValue* r = c.find(kAuthres);
    if (r == nullptr || !(*r)["ok"].boolean) continue;
    const std::string id = (*r)["authserv_id"].string;
    std::vector<MethodResult> results;
    bool representable = true;
    for (const auto& res : (*r)["results"].array) {
      MethodResult m;
      m.method = res["method"].string;
      m.result = res["result"].string;
      if (res["version"].is_string()) representable = false;  // no method versions
      if (res["reason"].is_string()) m.reason = res["reason"].string;
      for (const auto& p : res["properties"].array) {
        const std::string type = p["type"].string;
        const std::string name = p["name"].string;
        if (type.empty()) representable = false;
        m.properties.emplace_back(type + "." + name, p["value"].string);
      }
      results.push_back(std::move(m));
    }
    if (!representable || (*r)["version"].is_string()) continue;
    std::string ours = format_authentication_results(id, results);
    for (std::size_t i; (i = ours.find("\n\t")) != std::string::npos;) ours.replace(i, 2, " ");
    const std::string theirs = (*r)["str"].string.substr(kHeaderPrefixLength);
    EXPECT_EQ(ours, theirs) << c["source"].string;
    ++compared;
  }
  std::cout << "[ authres  ] writer compared with authres str() on " << compared << " headers\n";
  EXPECT_EQ(compared, 35);
}

}  // namespace
}  // namespace authmilter::mail
