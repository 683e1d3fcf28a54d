// The DKIM differential test (issue 15): our verifier (dkim::Library, src/dkim) against the
// libopendkim reference (tests/support/opendkim_reference.h) on the same messages, fed the
// same way (milter-style or raw header fields; the body whole, in 64 KiB chunks or in odd
// sizes), against the same zone and options. Per signature both must give the same result
// token, d=, s=, header.b and kind of reason (dkim_differential.h), or a difference named in
// allowed_differences() (docs/CONFORMANCE.md), which is counted.
//
// Inputs: every DKIM message of tests/data (Mail::DKIM corpus, RFC 6376 / RFC 8463 examples,
// the golden cases) as they are and with body mutations, plus messages signed here
// (dkim_test_support.h) and mutated deterministically (seeded PRNG): body bytes, whitespace,
// line ends, header folding and names, From, h= lists, l=, t=/x=, every signature tag
// deleted / duplicated / garbled, algorithms and key sizes, several signatures, key records
// (k= h= s= t= p= v=, revoked, garbage, two records, DNS failures). About 2,000 cases.
#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "authmilter/dkim/verifier.h"
#include "authmilter/dns/zone_resolver.h"
#include "dkim_differential.h"
#include "dkim_test_support.h"

namespace authmilter::dkim {
namespace {

using test_support::opendkim::Comparison;
using test_support::opendkim::Feed;
using testing::keys;
using testing::Message;
using testing::SignSpec;

constexpr std::uint64_t kSeed = 0x15d1ff;  // issue 15, "diff"

std::uint64_t now_seconds() { return static_cast<std::uint64_t>(std::time(nullptr)); }

// Deterministic choices (mt19937_64's sequence is fixed by the standard; the modulo keeps
// the cases the same on every standard library).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(engine_() % n); }
  bool one_in(std::size_t n) { return below(n) == 0; }
  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  std::mt19937_64 engine_;
};

// A zone as data; each case gets a fresh ZoneResolver built from it.
struct ZoneSpec {
  std::string text;                                                  // ZoneResolver::load() format
  std::map<std::string, std::vector<std::vector<std::string>>> txt;  // name -> records
  std::map<std::string, dns::Status> errors;

  void build(dns::ZoneResolver& zone) const {
    if (!text.empty()) zone.load(text);
    for (const auto& [name, records] : txt) {
      for (const auto& strings : records) zone.add_txt(name, strings);
    }
    for (const auto& [name, status] : errors) zone.set_error(name, dns::RrType::kTxt, status);
  }
};

struct Case {
  std::string category;
  std::string label;
  std::vector<std::string> fields;
  std::string body;
  std::shared_ptr<const ZoneSpec> zone;
  VerifierOptions options;
};

struct FeedPlan {
  Feed feed;
  std::vector<std::size_t> chunks;
  std::string name;
};

std::vector<FeedPlan> all_feeds(Rng& rng) {
  return {{Feed::kRaw, {}, "raw/whole"},
          {Feed::kMilter, {65536}, "milter/64KiB"},
          {Feed::kRaw, {1 + rng.below(97), 7, 65535, 3 + rng.below(300)}, "raw/odd"},
          {Feed::kMilter, {1}, "milter/1"}};
}

FeedPlan any_feed(Rng& rng) {
  auto plans = all_feeds(rng);
  return plans[rng.below(3)];  // byte-at-a-time only for the corpora
}

// Runs cases through both verifiers and keeps the tallies.
class Runner {
 public:
  void run(const Case& c, const FeedPlan& plan) {
    dns::ZoneResolver zone;
    c.zone->build(zone);
    auto both = test_support::opendkim::verify_both(zone, c.options, c.fields, c.body, plan.feed,
                                                    plan.chunks);
    test_support::opendkim::compare(both, c.category + " " + c.label + " [" + plan.name + "]",
                                    comparison);
    ++cases;
    ++per_category[c.category];
    for (const auto& r : both.reference) ++reference_tokens[std::string(to_token(r.result))];
  }

  // Fails with the first disagreements; prints the tallies for the log.
  void report(std::string_view test) const {
    std::ostringstream out;
    out << test << ": " << cases << " cases, " << comparison.signatures << " signatures;";
    for (const auto& [token, count] : reference_tokens) out << " " << token << "=" << count;
    out << "; allowed differences:";
    if (comparison.allowed.empty()) out << " none";
    for (const auto& [name, count] : comparison.allowed) out << " " << name << "=" << count;
    std::cout << out.str() << "\n";
    EXPECT_TRUE(comparison.disagreements.empty())
        << comparison.disagreements.size() << " disagreements";
    for (std::size_t i = 0; i < comparison.disagreements.size() && i < 400; ++i) {
      ADD_FAILURE() << comparison.disagreements[i];
    }
  }

  std::size_t token(std::string_view name) const {
    auto it = reference_tokens.find(std::string(name));
    return it == reference_tokens.end() ? 0 : it->second;
  }

  Comparison comparison;
  std::size_t cases = 0;
  std::map<std::string, std::size_t> per_category;
  std::map<std::string, std::size_t> reference_tokens;
};

// ---------------------------------------------------------------------------------------------
// Mutations of a message after signing.

bool is_signature(const std::string& field) {
  return field.size() >= 15 && (field[0] == 'D' || field[0] == 'd') &&
         field.compare(0, 15, "DKIM-Signature:") == 0;
}

std::size_t find_field(const Message& m, std::string_view name) {
  for (std::size_t i = 0; i < m.fields.size(); ++i) {
    if (m.fields[i].size() > name.size() && m.fields[i][name.size()] == ':' &&
        m.fields[i].compare(0, name.size(), name) == 0) {
      return i;
    }
  }
  return m.fields.size();
}

// Positions of "\r\n" in the body.
std::vector<std::size_t> line_ends(const std::string& body) {
  std::vector<std::size_t> out;
  for (std::size_t pos = body.find("\r\n"); pos != std::string::npos;
       pos = body.find("\r\n", pos + 2)) {
    out.push_back(pos);
  }
  return out;
}

using Mutation = std::function<void(Rng&, Message&)>;

const std::vector<std::pair<std::string, Mutation>>& body_mutations() {
  static const std::vector<std::pair<std::string, Mutation>> list = {
      {"none", [](Rng&, Message&) {}},
      {"body-flip",
       [](Rng& rng, Message& m) {
         if (m.body.empty()) m.body = "x";
         std::size_t pos = rng.below(m.body.size());
         m.body[pos] = static_cast<char>(m.body[pos] ^ (1 << rng.below(8)));
       }},
      {"body-insert",
       [](Rng& rng, Message& m) {
         static const std::string bytes("a \t\r\n\0\xff.=", 9);
         const char byte = bytes[rng.below(bytes.size())];  // before the position: see below
         m.body.insert(rng.below(m.body.size() + 1), 1, byte);
       }},
      {"body-delete",
       [](Rng& rng, Message& m) {
         if (!m.body.empty()) m.body.erase(rng.below(m.body.size()), 1);
       }},
      {"wsp-run",
       [](Rng& rng, Message& m) {
         std::size_t pos = m.body.find(' ', rng.below(m.body.size() + 1));
         if (pos == std::string::npos) pos = m.body.find(' ');
         if (pos == std::string::npos) return;
         m.body.replace(pos, 1, rng.pick(std::vector<std::string>{"  ", "\t", " \t ", "\t\t  "}));
       }},
      {"trailing-wsp",
       [](Rng& rng, Message& m) {
         auto ends = line_ends(m.body);
         if (ends.empty()) return;
         // Drawn before the position: the order of a call's arguments is unspecified, and
         // every compiler must generate the same cases.
         const char* blanks = rng.one_in(2) ? " " : "\t \t";
         m.body.insert(rng.pick(ends), blanks);
       }},
      {"bare-lf",
       [](Rng& rng, Message& m) {
         auto ends = line_ends(m.body);
         if (ends.empty()) return;
         m.body.erase(rng.pick(ends), 1);
       }},
      {"bare-cr",
       [](Rng& rng, Message& m) {
         auto ends = line_ends(m.body);
         if (ends.empty() || rng.one_in(2)) {
           m.body.insert(rng.below(m.body.size() + 1), "\r");
         } else {
           m.body.erase(rng.pick(ends) + 1, 1);
         }
       }},
      {"trailing-blank-lines",
       [](Rng& rng, Message& m) {
         for (std::size_t n = 1 + rng.below(3); n > 0; --n) m.body += "\r\n";
       }},
      {"trailing-wsp-lines", [](Rng&, Message& m) { m.body += " \r\n\t\r\n"; }},
      {"empty-body", [](Rng&, Message& m) { m.body.clear(); }},
      {"no-final-crlf",
       [](Rng&, Message& m) {
         while (m.body.size() >= 2 && m.body.compare(m.body.size() - 2, 2, "\r\n") == 0) {
           m.body.resize(m.body.size() - 2);
         }
       }},
  };
  return list;
}

const std::vector<std::pair<std::string, Mutation>>& header_mutations() {
  static const std::vector<std::pair<std::string, Mutation>> list = {
      {"refold",
       [](Rng& rng, Message& m) {
         std::size_t i = find_field(m, rng.one_in(2) ? "Subject" : "From");
         if (i == m.fields.size()) return;
         std::string& field = m.fields[i];
         std::size_t space = field.find(' ', field.find(':') + 2);
         if (space == std::string::npos) return;
         field.replace(space, 1, rng.one_in(2) ? "\r\n\t" : "\r\n   ");
       }},
      {"unfold",
       [](Rng&, Message& m) {
         std::size_t i = find_field(m, "Subject");
         if (i == m.fields.size()) return;
         std::string& field = m.fields[i];
         for (std::size_t pos; (pos = field.find("\r\n")) != std::string::npos;) {
           field.erase(pos, 2);
         }
       }},
      {"value-wsp",
       [](Rng& rng, Message& m) {
         std::size_t i = find_field(m, rng.one_in(2) ? "To" : "Subject");
         if (i == m.fields.size()) return;
         std::string& field = m.fields[i];
         field.insert(field.find(':') + 1, rng.one_in(2) ? "  " : "\t");
         field += rng.one_in(2) ? " " : "";
       }},
      {"name-case",
       [](Rng& rng, Message& m) {
         std::size_t i = find_field(m, rng.one_in(2) ? "From" : "Subject");
         if (i == m.fields.size()) return;
         std::string& field = m.fields[i];
         bool upper = rng.one_in(2);
         for (std::size_t k = 0; k < field.find(':'); ++k) {
           char c = field[k];
           if (upper && c >= 'a' && c <= 'z') field[k] = static_cast<char>(c - 32);
           if (!upper && c >= 'A' && c <= 'Z') field[k] = static_cast<char>(c + 32);
         }
       }},
      {"space-before-colon",
       [](Rng&, Message& m) {
         std::size_t i = find_field(m, "Subject");
         if (i != m.fields.size()) m.fields[i].insert(7, " ");
       }},
      {"dup-from",
       [](Rng& rng, Message& m) {
         std::string extra = "From: Mallory <mallory@example.net>";
         if (rng.one_in(2)) {
           m.fields.push_back(extra);
         } else {
           m.fields.insert(m.fields.begin() + static_cast<std::ptrdiff_t>(find_field(m, "From")),
                           extra);
         }
       }},
      {"missing-from",
       [](Rng&, Message& m) {
         std::size_t i = find_field(m, "From");
         if (i != m.fields.size())
           m.fields.erase(m.fields.begin() + static_cast<std::ptrdiff_t>(i));
       }},
      {"signature-name-case",
       [](Rng&, Message& m) {
         for (auto& field : m.fields) {
           if (is_signature(field)) field.replace(0, 14, "dkim-signature");
         }
       }},
      {"signature-refold",
       [](Rng& rng, Message& m) {
         for (auto& field : m.fields) {
           if (!is_signature(field)) continue;
           std::size_t pos = field.find("; ", rng.below(field.size()));
           if (pos != std::string::npos) field.replace(pos, 2, ";\r\n ");
         }
       }},
      {"added-header", [](Rng&, Message& m) { m.fields.push_back("X-Added: after signing"); }},
  };
  return list;
}

// Splits a DKIM-Signature field into its name part and tag-specs, and joins them again.
struct SignatureTags {
  std::string head;                // "DKIM-Signature:"
  std::vector<std::string> specs;  // "tag=value" with surrounding whitespace kept

  explicit SignatureTags(const std::string& field) {
    std::size_t colon = field.find(':');
    head = field.substr(0, colon + 1);
    std::string rest = field.substr(colon + 1);
    std::size_t pos = 0;
    while (pos <= rest.size()) {
      std::size_t end = rest.find(';', pos);
      if (end == std::string::npos) end = rest.size();
      specs.push_back(rest.substr(pos, end - pos));
      pos = end + 1;
    }
  }
  static std::string name_of(const std::string& spec) {
    std::string name;
    for (char c : spec.substr(0, spec.find('='))) {
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') name.push_back(c);
    }
    return name;
  }
  std::size_t find(std::string_view tag) const {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      if (name_of(specs[i]) == tag) return i;
    }
    return specs.size();
  }
  std::string text() const {
    std::string out = head;
    for (std::size_t i = 0; i < specs.size(); ++i) out += (i == 0 ? "" : ";") + specs[i];
    return out;
  }
};

std::string garble(Rng& rng, const std::string& value) {
  static const std::string alphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_.@:!*\" \x7f\xc3\xa9";
  switch (rng.below(8)) {
    case 0:
      return "";
    case 1: {
      std::string out;
      for (std::size_t n = 1 + rng.below(12); n > 0; --n)
        out += alphabet[rng.below(alphabet.size())];
      return out;
    }
    case 2: {
      if (value.empty()) return "x";
      std::string out = value;
      out[rng.below(out.size())] = alphabet[rng.below(alphabet.size())];
      return out;
    }
    case 3: {
      std::string out = value;
      for (auto& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
      }
      return out;
    }
    case 4:
      return value + (rng.one_in(2) ? ",x" : "x");
    case 5:
      return value.substr(0, rng.below(value.size() + 1));
    case 6:
      return "-1";
    default:
      return "99999999999999999999";
  }
}

// ---------------------------------------------------------------------------------------------
// Keys and records for signed cases: every selector of example.org below.

struct SigningKey {
  std::string selector;
  EVP_PKEY* key;
  std::string algorithm;
};

EVP_PKEY* rsa4096() {
  static const testing::Key key = testing::generate_rsa(4096);
  return key.get();
}

std::vector<SigningKey> signing_keys() {
  const auto& k = keys();
  return {{"r1024", k.rsa1024.get(), "rsa-sha256"},      {"r2048", k.rsa2048.get(), "rsa-sha256"},
          {"r512", k.rsa512.get(), "rsa-sha256"},        {"r4096", rsa4096(), "rsa-sha256"},
          {"ed", k.ed25519.get(), "ed25519-sha256"},     {"r1024", k.rsa1024.get(), "rsa-sha1"},
          {"other", k.other_rsa1024.get(), "rsa-sha256"}};
}

std::shared_ptr<ZoneSpec> signed_zone() {
  auto zone = std::make_shared<ZoneSpec>();
  const auto& k = keys();
  auto publish = [&zone](const std::string& selector, EVP_PKEY* key) {
    zone->txt[selector + "._domainkey.example.org"] = {
        testing::txt_strings(testing::key_record(key))};
  };
  publish("r1024", k.rsa1024.get());
  publish("r2048", k.rsa2048.get());
  publish("r512", k.rsa512.get());
  publish("r4096", rsa4096());
  publish("ed", k.ed25519.get());
  // "other": a published key that is not the one signing (signature did not verify)
  publish("other", k.rsa2048.get());
  return zone;
}

Message long_message() {
  Message m = testing::sample_message();
  std::string body;
  std::uint32_t x = 12345;
  while (body.size() < 150 * 1024) {
    x = x * 1103515245u + 12345u;
    switch ((x >> 16) % 6) {
      case 0:
        body += "\r\n";
        break;
      case 1:
        body += "a line  with   runs\tof \t whitespace \t \r\n";
        break;
      case 2:
        body += std::string(1 + (x >> 8) % 900, static_cast<char>('a' + (x >> 4) % 26)) + "\r\n";
        break;
      case 3:
        body += "trailing space \r\n";
        break;
      default:
        body +=
            "Lorem ipsum dolor sit amet, consectetur adipiscing elit " + std::to_string(x) + "\r\n";
    }
  }
  m.body = body + "\r\n\r\n";
  return m;
}

const Message& base_message(Rng& rng) {
  static const Message small = testing::sample_message();
  static const Message large = long_message();
  static const Message empty = [] {
    Message m = testing::sample_message();
    m.body.clear();
    return m;
  }();
  std::size_t pick = rng.below(10);
  return pick < 7 ? small : (pick < 9 ? large : empty);
}

SignSpec base_spec(Rng& rng, const SigningKey& key) {
  SignSpec spec;
  spec.algorithm = key.algorithm;
  spec.selector = key.selector;
  spec.canonicalization = rng.pick(std::vector<std::string>{
      "relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed", "relaxed", "simple"});
  return spec;
}

VerifierOptions signed_options(Rng& rng) {
  VerifierOptions options;
  if (rng.one_in(4)) options.allow_sha1 = true;
  if (rng.one_in(5)) options.min_key_bits = rng.one_in(2) ? 512 : 2048;
  if (rng.one_in(8)) options.max_signatures = 1 + rng.below(2);
  return options;
}

const SigningKey& usual_key(Rng& rng, const std::vector<SigningKey>& all) {
  // Mostly 1024/2048 RSA and Ed25519; the rest now and then.
  static const std::vector<std::size_t> weights = {0, 0, 0, 1, 1, 4, 4, 2, 3, 5, 6};
  return all[rng.pick(weights)];
}

Case signed_case(std::string category, std::string label, const Message& message,
                 const std::vector<std::string>& signatures, std::shared_ptr<const ZoneSpec> zone,
                 VerifierOptions options) {
  Message signed_message = testing::with_signatures(message, signatures);
  return {std::move(category), std::move(label), signed_message.fields,
          signed_message.body, std::move(zone),  options};
}

// ---------------------------------------------------------------------------------------------
// Corpora.

const std::string kData = std::string(AUTHMILTER_TEST_DATA_DIR) + "/";

std::shared_ptr<ZoneSpec> mail_dkim_zone() {
  auto zone = std::make_shared<ZoneSpec>();
  for (auto& entry : testing::read_fake_dns(kData + "dkim-mail-dkim/FAKE_DNS.dat")) {
    if (entry.error) {
      zone->errors[entry.name] = *entry.error;
    } else {
      zone->txt[entry.name].push_back({std::move(entry.txt)});
    }
  }
  return zone;
}

std::shared_ptr<ZoneSpec> rfc_zone() {
  auto zone = std::make_shared<ZoneSpec>();
  for (const auto& row :
       test_support::read_tsv(kData + "dkim-rfc-examples/keys.tsv", /*has_header=*/false)) {
    if (row.size() == 2) zone->txt[row[0]].push_back(testing::txt_strings(row[1]));
  }
  return zone;
}

std::shared_ptr<ZoneSpec> golden_zone() {
  auto zone = std::make_shared<ZoneSpec>();
  zone->text = testing::read_file(kData + "golden/golden.zone");
  return zone;
}

struct CorpusMessage {
  std::string name;
  Message message;
  std::shared_ptr<const ZoneSpec> zone;
  bool legacy;  // RFC 4871-era: also verified with rsa-sha1 and 512-bit keys allowed
};

std::vector<CorpusMessage> corpus_messages() {
  std::vector<CorpusMessage> out;
  auto mail_dkim = mail_dkim_zone();
  std::set<std::string> files;
  for (const auto& row : test_support::read_tsv(kData + "dkim-mail-dkim/EXPECTED.tsv")) {
    if (!row.empty()) files.insert(row[0]);
  }
  for (const auto& file : files) {
    out.push_back(
        {"mail-dkim/" + file,
         testing::parse_message(testing::read_file(kData + "dkim-mail-dkim/corpus/" + file)),
         mail_dkim, true});
  }
  auto rfc = rfc_zone();
  for (const char* file : {"rfc6376-A2-signed.errata3192.eml", "rfc6376-A2-signed.as-published.eml",
                           "rfc8463-A1-unsigned.eml", "rfc8463-A3-signed.eml"}) {
    out.push_back({std::string("rfc/") + file,
                   testing::parse_message(testing::read_file(kData + "dkim-rfc-examples/" + file)),
                   rfc, false});
  }
  auto golden = golden_zone();
  for (const char* file :
       {"dkim-body-altered.eml", "dkim-pass-spf-pass.eml", "dmarc-pass-forwarded.eml"}) {
    out.push_back({std::string("golden/") + file,
                   testing::parse_message(testing::read_file(kData + "golden/" + file)), golden,
                   false});
  }
  return out;
}

VerifierOptions legacy_options() {
  VerifierOptions options;
  options.allow_sha1 = true;
  options.min_key_bits = 512;
  return options;
}

// ---------------------------------------------------------------------------------------------

TEST(DkimDifferential, CorporaAgreeWithTheReference) {
  Rng rng(kSeed);
  Runner runner;
  const auto corpus = corpus_messages();
  ASSERT_EQ(corpus.size(), 79u + 4u + 3u);
  for (const auto& item : corpus) {
    const VerifierOptions options = item.legacy ? legacy_options() : VerifierOptions{};
    Case c{"corpus", item.name, item.message.fields, item.message.body, item.zone, options};
    for (const auto& plan : all_feeds(rng)) runner.run(c, plan);
    if (item.legacy) {
      c.options = VerifierOptions{};  // rsa-sha1 and short keys under policy
      runner.run(c, any_feed(rng));
    }
    // Mutated: the corpus messages' bodies and headers.
    for (int round = 0; round < 3; ++round) {
      const auto& [name, mutate] =
          round < 2 ? body_mutations()[1 + rng.below(body_mutations().size() - 1)]
                    : header_mutations()[rng.below(header_mutations().size())];
      Message m = item.message;
      mutate(rng, m);
      Case mutated{"corpus-mutated", item.name + " " + name, m.fields, m.body, item.zone, options};
      runner.run(mutated, any_feed(rng));
    }
  }
  runner.report("corpora");
  EXPECT_GE(runner.cases, 600u);
  // The corpora reach every verdict but neutral (t= in the future: the signed cases).
  for (const char* token : {"pass", "fail", "policy", "temperror", "permerror"}) {
    EXPECT_GT(runner.token(token), 0u) << token;
  }
}

TEST(DkimDifferential, MutatedSignedMessagesAgreeWithTheReference) {
  Rng rng(kSeed + 1);
  Runner runner;
  const auto all = signing_keys();
  const auto zone = signed_zone();
  const std::uint64_t now = now_seconds();

  // Body and header mutations after signing, every algorithm and canonicalization.
  for (int round = 0; round < 25; ++round) {
    for (const auto* list : {&body_mutations(), &header_mutations()}) {
      for (const auto& [name, mutate] : *list) {
        const SigningKey& key = usual_key(rng, all);
        Message m = base_message(rng);
        SignSpec spec = base_spec(rng, key);
        if (rng.one_in(4)) spec.headers = {"From", "Subject", "To", "Date", "Message-ID", "From"};
        Message signed_message = testing::with_signatures(m, {testing::sign(m, spec, key.key)});
        mutate(rng, signed_message);
        // Drawn in this order, not as arguments (whose order is unspecified), so that
        // every compiler generates the same cases.
        const FeedPlan feed = any_feed(rng);
        const VerifierOptions options = signed_options(rng);
        runner.run({"message-mutation", name + " " + spec.algorithm + " " + spec.canonicalization,
                    signed_message.fields, signed_message.body, zone, options},
                   feed);
      }
    }
  }

  // Variations at signing time.
  using Variation = std::function<void(Rng&, SignSpec&, const Message&)>;
  const std::vector<std::pair<std::string, Variation>> variations = {
      {"h-without-from",
       [](Rng&, SignSpec& s, const Message&) {
         s.headers = {"To", "Subject"};
       }},
      {"h-duplicates",
       [](Rng&, SignSpec& s, const Message&) {
         s.headers = {"From", "From", "Subject", "Subject", "Subject", "To"};
       }},
      {"h-absent-names",
       [](Rng&, SignSpec& s, const Message&) {
         s.headers = {"From", "Reply-To", "Subject", "Cc", "X-Nothing"};
       }},
      {"h-only-from", [](Rng&, SignSpec& s, const Message&) { s.headers = {"From"}; }},
      {"h-name-case",
       [](Rng&, SignSpec& s, const Message&) {
         s.headers = {"fROM", "subject", "TO"};
       }},
      {"l-shorter", [](Rng& random, SignSpec& s,
                       const Message& m) { s.body_length = random.below(m.body.size() + 1); }},
      {"l-longer", [](Rng& random, SignSpec& s,
                      const Message& m) { s.body_length = m.body.size() + 1 + random.below(100); }},
      {"l-zero", [](Rng&, SignSpec& s, const Message&) { s.body_length = 0; }},
      {"t-and-x",
       [now](Rng&, SignSpec& s, const Message&) {
         s.timestamp = now - 60;
         s.expiration = now + 86400;
       }},
      {"x-before-t",
       [now](Rng&, SignSpec& s, const Message&) {
         s.timestamp = now - 60;
         s.expiration = now - 120;
       }},
      {"expired",
       [now](Rng&, SignSpec& s, const Message&) {
         s.timestamp = now - 7 * 86400;
         s.expiration = now - 86400;
       }},
      {"x-only-expired", [now](Rng&, SignSpec& s, const Message&) { s.expiration = now - 86400; }},
      {"future-t", [now](Rng&, SignSpec& s, const Message&) { s.timestamp = now + 2 * 86400; }},
      {"future-t-and-x",
       [now](Rng&, SignSpec& s, const Message&) {
         s.timestamp = now + 2 * 86400;
         s.expiration = now + 3 * 86400;
       }},
      {"i-domain", [](Rng&, SignSpec& s, const Message&) { s.identity = "@example.org"; }},
      {"i-subdomain",
       [](Rng&, SignSpec& s, const Message&) { s.identity = "joe@mail.example.org"; }},
      {"i-outside-d", [](Rng&, SignSpec& s, const Message&) { s.identity = "@example.net"; }},
      {"q-dns-txt", [](Rng&, SignSpec& s, const Message&) { s.extra_tags = "q=dns/txt; "; }},
      {"q-unknown", [](Rng&, SignSpec& s, const Message&) { s.extra_tags = "q=http/get; "; }},
      {"unknown-tags",
       [](Rng&, SignSpec& s, const Message&) { s.extra_tags = "z=From:a@b; foo=bar; "; }},
      {"d-uppercase", [](Rng&, SignSpec& s, const Message&) { s.domain = "EXAMPLE.org"; }},
      {"d-unknown", [](Rng&, SignSpec& s, const Message&) { s.domain = "example.invalid"; }},
      {"s-bad-name", [](Rng&, SignSpec& s, const Message&) { s.selector = "bad selector!"; }},
      {"rsa-sha1", [](Rng&, SignSpec& s, const Message&) { s.algorithm = "rsa-sha1"; }},
  };
  for (int round = 0; round < 10; ++round) {
    for (const auto& [name, vary] : variations) {
      const SigningKey& key = usual_key(rng, all);
      const Message& m = base_message(rng);
      SignSpec spec = base_spec(rng, key);
      vary(rng, spec, m);
      if (spec.algorithm == "rsa-sha1" && key.algorithm == "ed25519-sha256") {
        spec.algorithm = "ed25519-sha256";
      }
      // Drawn in order, as above.
      const FeedPlan feed = any_feed(rng);
      const VerifierOptions options = signed_options(rng);
      runner.run(signed_case("sign-variation", name + " " + spec.algorithm, m,
                             {testing::sign(m, spec, key.key)}, zone, options),
                 feed);
    }
  }

  // Each tag of the signature deleted, duplicated or garbled.
  for (int round = 0; round < 5; ++round) {
    for (const char* tag : {"v", "a", "b", "bh", "c", "d", "h", "i", "l", "q", "s", "t", "x"}) {
      for (const char* op : {"delete", "duplicate", "garble"}) {
        const SigningKey& key = usual_key(rng, all);
        const Message& m = base_message(rng);
        SignSpec spec = base_spec(rng, key);
        spec.identity = "@example.org";
        spec.timestamp = now - 60;
        spec.expiration = now + 86400;
        spec.body_length = m.body.size();
        spec.extra_tags = "q=dns/txt; ";
        SignatureTags tags(testing::sign(m, spec, key.key));
        std::size_t i = tags.find(tag);
        ASSERT_LT(i, tags.specs.size()) << tag;
        const std::string spec_text = tags.specs[i];
        std::string changed;  // the tag-spec as mutated, for the failure message
        if (std::string_view(op) == "delete") {
          tags.specs.erase(tags.specs.begin() + static_cast<std::ptrdiff_t>(i));
        } else if (std::string_view(op) == "duplicate") {
          std::string copy = rng.one_in(2)
                                 ? spec_text
                                 : " " + std::string(tag) + "=" +
                                       garble(rng, spec_text.substr(spec_text.find('=') + 1));
          changed = copy;
          tags.specs.insert(
              tags.specs.begin() + static_cast<std::ptrdiff_t>(rng.below(tags.specs.size())), copy);
        } else {
          tags.specs[i] = spec_text.substr(0, spec_text.find('=') + 1) +
                          garble(rng, spec_text.substr(spec_text.find('=') + 1));
          changed = tags.specs[i];
        }
        // Drawn in order, as above.
        const FeedPlan feed = any_feed(rng);
        const VerifierOptions options = signed_options(rng);
        runner.run(
            signed_case("tag-mutation",
                        std::string(tag) + " " + op + " " + spec.algorithm + " {" + changed + "}",
                        m, {tags.text()}, zone, options),
            feed);
      }
    }
  }

  // Several signatures, some broken, in any order.
  for (int round = 0; round < 100; ++round) {
    const Message& m = base_message(rng);
    std::vector<std::string> signatures;
    std::string label;
    for (std::size_t n = 2 + rng.below(5); n > 0; --n) {
      const SigningKey& key = usual_key(rng, all);
      SignSpec spec = base_spec(rng, key);
      std::string field = testing::sign(m, spec, key.key);
      if (rng.one_in(4)) {  // broken: a byte of b= changed
        std::size_t b = field.rfind("b=") + 2 + rng.below(8);
        field[b] = field[b] == 'A' ? 'B' : 'A';
      }
      if (rng.one_in(8)) field = signatures.empty() ? field : signatures.back();  // copy
      signatures.push_back(field);
      label += key.selector + "/" + key.algorithm + " ";
    }
    // Drawn in order, as above.
    const FeedPlan feed = any_feed(rng);
    const VerifierOptions options = signed_options(rng);
    runner.run(signed_case("several-signatures", label, m, signatures, zone, options), feed);
  }

  runner.report("signed messages");
  EXPECT_GE(runner.cases, 1000u);
  // The mutations reach every verdict, and many signatures still pass.
  for (const char* token : {"pass", "fail", "policy", "neutral", "permerror"}) {
    EXPECT_GT(runner.token(token), 0u) << token;
  }
  EXPECT_GT(runner.token("pass"), 300u);
}

// Numeric tags with an empty or non-digit value, each in its own signature: malformed for us
// (RFC 6376 §3.5: l= is 1*76DIGIT, t= and x= 1*12DIGIT); libopendkim's strtoull reads an empty
// value as 0. A clang build's generated cases met an empty l= first (it evaluates arguments in
// another order than gcc; the generator now draws in one order for both).
TEST(DkimDifferential, NumericTagsWithoutDigitsAreNamedDifferences) {
  Runner runner;
  const auto zone = signed_zone();
  const Message m = testing::sample_message();
  const std::uint64_t now = now_seconds();
  for (const char* tag : {"l", "t", "x"}) {
    for (const char* value : {"", "1x", "+5", " "}) {
      SignSpec spec;
      spec.selector = "r2048";
      spec.timestamp = now - 60;
      spec.expiration = now + 86400;
      spec.body_length = m.body.size();
      SignatureTags tags(testing::sign(m, spec, keys().rsa2048.get()));
      const std::size_t i = tags.find(tag);
      ASSERT_LT(i, tags.specs.size()) << tag;
      tags.specs[i] = " " + std::string(tag) + "=" + value;
      runner.run(signed_case("numeric-tag", std::string(tag) + "=" + value, m, {tags.text()}, zone,
                             VerifierOptions{}),
                 {Feed::kMilter, {65536}, "milter/64KiB"});
    }
  }
  runner.report("numeric tags");
  EXPECT_GE(runner.comparison.allowed["l-not-digits"], 1u);
  EXPECT_GE(runner.comparison.allowed["t-x-not-12-digits"], 1u);
}

TEST(DkimDifferential, MutatedKeyRecordsAgreeWithTheReference) {
  Rng rng(kSeed + 2);
  Runner runner;
  const auto all = signing_keys();

  // record(key, rng) -> the TXT records at the selector (empty: an error instead).
  struct KeyCase {
    std::string name;
    std::function<std::vector<std::string>(EVP_PKEY*, bool ed25519, Rng&)> records;
    dns::Status error = dns::Status::kNoError;
  };
  auto p_of = [](EVP_PKEY* key) { return testing::public_key_base64(key); };
  auto k_of = [](bool ed25519) { return std::string(ed25519 ? "ed25519" : "rsa"); };
  const std::vector<KeyCase> key_cases = {
      {"good", [](EVP_PKEY* key, bool, Rng&) { return std::vector{testing::key_record(key)}; }},
      {"k-mismatch",
       [p_of](EVP_PKEY* key, bool ed, Rng&) {
         return std::vector{"v=DKIM1; k=" + std::string(ed ? "rsa" : "ed25519") +
                            "; p=" + p_of(key)};
       }},
      {"k-unknown",
       [p_of](EVP_PKEY* key, bool, Rng&) { return std::vector{"v=DKIM1; k=dsa; p=" + p_of(key)}; }},
      {"k-absent",
       [p_of](EVP_PKEY* key, bool, Rng&) { return std::vector{"v=DKIM1; p=" + p_of(key)}; }},
      {"k-uppercase",
       [p_of, k_of](EVP_PKEY* key, bool ed, Rng&) {
         std::string k = k_of(ed);
         for (auto& c : k) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
         return std::vector{"v=DKIM1; k=" + k + "; p=" + p_of(key)};
       }},
      {"h-sha1",
       [](EVP_PKEY* key, bool, Rng&) { return std::vector{testing::key_record(key, "h=sha1; ")}; }},
      {"h-sha256", [](EVP_PKEY* key, bool,
                      Rng&) { return std::vector{testing::key_record(key, "h=sha256; ")}; }},
      {"h-list", [](EVP_PKEY* key, bool,
                    Rng&) { return std::vector{testing::key_record(key, "h=sha1:sha256; ")}; }},
      {"h-unknown",
       [](EVP_PKEY* key, bool, Rng&) { return std::vector{testing::key_record(key, "h=md5; ")}; }},
      {"s-email", [](EVP_PKEY* key, bool,
                     Rng&) { return std::vector{testing::key_record(key, "s=email; ")}; }},
      {"s-any",
       [](EVP_PKEY* key, bool, Rng&) { return std::vector{testing::key_record(key, "s=*; ")}; }},
      {"s-other", [](EVP_PKEY* key, bool,
                     Rng&) { return std::vector{testing::key_record(key, "s=tlsrpt; ")}; }},
      {"s-list", [](EVP_PKEY* key, bool,
                    Rng&) { return std::vector{testing::key_record(key, "s=tlsrpt:email; ")}; }},
      {"t-y",
       [](EVP_PKEY* key, bool, Rng&) { return std::vector{testing::key_record(key, "t=y; ")}; }},
      {"t-s",
       [](EVP_PKEY* key, bool, Rng&) { return std::vector{testing::key_record(key, "t=s; ")}; }},
      {"t-y-s",
       [](EVP_PKEY* key, bool, Rng&) { return std::vector{testing::key_record(key, "t=y:s; ")}; }},
      {"t-unknown",
       [](EVP_PKEY* key, bool, Rng&) { return std::vector{testing::key_record(key, "t=q; ")}; }},
      {"p-truncated",
       [p_of, k_of](EVP_PKEY* key, bool ed, Rng& random) {
         std::string p = p_of(key);
         return std::vector{"v=DKIM1; k=" + k_of(ed) +
                            "; p=" + p.substr(0, random.below(p.size()))};
       }},
      {"p-garbage",
       [k_of](EVP_PKEY*, bool ed, Rng& random) {
         return std::vector{"v=DKIM1; k=" + k_of(ed) +
                            "; p=" + garble(random, "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ")};
       }},
      {"p-with-spaces",
       [p_of, k_of](EVP_PKEY* key, bool ed, Rng&) {
         std::string p = p_of(key);
         for (std::size_t pos = 16; pos < p.size(); pos += 17) p.insert(pos, " ");
         return std::vector{"v=DKIM1; k=" + k_of(ed) + "; p=" + p};
       }},
      {"revoked",
       [k_of](EVP_PKEY*, bool ed, Rng&) { return std::vector{"v=DKIM1; k=" + k_of(ed) + "; p="}; }},
      {"p-missing",
       [k_of](EVP_PKEY*, bool ed, Rng&) { return std::vector{"v=DKIM1; k=" + k_of(ed)}; }},
      {"v-other",
       [p_of, k_of](EVP_PKEY* key, bool ed, Rng&) {
         return std::vector{"v=DKIM2; k=" + k_of(ed) + "; p=" + p_of(key)};
       }},
      {"v-not-first",
       [p_of, k_of](EVP_PKEY* key, bool ed, Rng&) {
         return std::vector{"k=" + k_of(ed) + "; v=DKIM1; p=" + p_of(key)};
       }},
      {"tag-whitespace",
       [p_of, k_of](EVP_PKEY* key, bool ed, Rng&) {
         return std::vector{"v = DKIM1 ;\tk= " + k_of(ed) + " ; n=note ;p=" + p_of(key) + " ; "};
       }},
      {"duplicate-tag",
       [p_of, k_of](EVP_PKEY* key, bool ed, Rng&) {
         return std::vector{"v=DKIM1; k=" + k_of(ed) + "; p=" + p_of(key) + "; k=" + k_of(ed)};
       }},
      {"garbage",
       [](EVP_PKEY*, bool, Rng& random) {
         std::string text;
         for (std::size_t n = 1 + random.below(60); n > 0; --n) {
           text += static_cast<char>(0x20 + random.below(0x5f));
         }
         return std::vector{text};
       }},
      {"garbled-record",
       [](EVP_PKEY* key, bool, Rng& random) {
         std::string text = testing::key_record(key);
         for (std::size_t n = 1 + random.below(3); n > 0; --n) {
           text[random.below(text.size())] = static_cast<char>(0x20 + random.below(0x5f));
         }
         return std::vector{text};
       }},
      {"two-records",
       [](EVP_PKEY* key, bool, Rng& random) {
         return std::vector{testing::key_record(key), random.one_in(2)
                                                          ? testing::key_record(key)
                                                          : std::string("v=spf1 -all")};
       }},
      {"empty-txt", [](EVP_PKEY*, bool, Rng&) { return std::vector{std::string()}; }},
      {"nxdomain", nullptr, dns::Status::kNxDomain},
      {"nodata", nullptr, dns::Status::kNoData},
      {"servfail", nullptr, dns::Status::kServFail},
      {"timeout", nullptr, dns::Status::kTimeout},
      {"resolver-error", nullptr, dns::Status::kError},
  };

  for (int round = 0; round < 10; ++round) {
    for (const auto& kc : key_cases) {
      const SigningKey& key = usual_key(rng, all);
      const bool ed = key.algorithm == "ed25519-sha256";
      const Message& m = base_message(rng);
      SignSpec spec = base_spec(rng, key);
      spec.selector = "mutated";
      if (rng.one_in(3)) spec.identity = rng.one_in(2) ? "@example.org" : "joe@sub.example.org";
      auto zone = std::make_shared<ZoneSpec>();
      const std::string name = "mutated._domainkey.example.org";
      if (kc.records) {
        for (const auto& record : kc.records(key.key, ed, rng)) {
          // Long records as a zone carries them: 255-octet strings, sometimes shorter ones.
          std::vector<std::string> strings;
          std::size_t piece = rng.one_in(4) ? 1 + rng.below(60) : 255;
          for (std::size_t pos = 0; pos < record.size(); pos += piece) {
            strings.push_back(record.substr(pos, piece));
          }
          if (strings.empty()) strings.emplace_back();
          zone->txt[name].push_back(strings);
        }
      } else {
        zone->errors[name] = kc.error;
      }
      // Drawn in order, as above.
      const FeedPlan feed = any_feed(rng);
      const VerifierOptions options = signed_options(rng);
      runner.run(signed_case("key-record", kc.name + " " + spec.algorithm + " " + key.selector, m,
                             {testing::sign(m, spec, key.key)}, zone, options),
                 feed);
    }
  }
  runner.report("key records");
  EXPECT_GE(runner.cases, 300u);
  for (const char* token : {"pass", "policy", "temperror", "permerror"}) {
    EXPECT_GT(runner.token(token), 0u) << token;
  }
}

TEST(DkimDifferential, EveryAllowedDifferenceHasAReason) {
  std::set<std::string_view> names;
  for (const auto& difference : test_support::opendkim::allowed_differences()) {
    EXPECT_FALSE(difference.reason.empty()) << difference.name;
    EXPECT_NE(difference.reason.find("RFC"), std::string_view::npos) << difference.name;
    EXPECT_TRUE(names.insert(difference.name).second) << "twice: " << difference.name;
  }
}

test_support::opendkim::BothResults both(std::vector<SignatureResult> ours,
                                         std::vector<SignatureResult> reference) {
  return {std::move(ours), std::move(reference), {}};
}

TEST(DkimDifferential, AllowedDifferencesNeedTheirFacts) {
  // Without the facts that justify it (body hash, line ends, key records, tags), no allowed
  // difference excuses any pair of results.
  const std::vector<std::string> comments = {"",
                                             "body hash mismatch",
                                             "signature did not verify",
                                             "l= exceeds body length",
                                             "no key for signature",
                                             "key record syntax error",
                                             "malformed signature: x"};
  test_support::opendkim::SignatureFacts signature;
  signature.key_records = {"v=DKIM1; p=AAAA"};
  const test_support::opendkim::MessageFacts message;
  std::size_t pairs = 0;
  for (auto ours_token : {Result::kPass, Result::kFail, Result::kPermError, Result::kPolicy}) {
    for (auto reference_token : {Result::kPass, Result::kFail, Result::kPermError}) {
      for (const auto& ours_comment : comments) {
        for (const auto& reference_comment : comments) {
          SignatureResult ours;
          ours.result = ours_token;
          ours.comment = ours_comment;
          SignatureResult reference = ours;
          reference.result = reference_token;
          reference.comment = reference_comment;
          ++pairs;
          for (const auto& difference : test_support::opendkim::allowed_differences()) {
            EXPECT_FALSE(difference.applies(ours, reference, signature, message))
                << difference.name << ": " << test_support::opendkim::describe(ours) << " | "
                << test_support::opendkim::describe(reference);
          }
        }
      }
    }
  }
  EXPECT_EQ(pairs, 4u * 3u * 7u * 7u);
}

TEST(DkimDifferential, ADifferenceIsFoundAndNamed) {
  // The comparison itself: a changed token, d=, header.b or reason kind is a disagreement.
  SignatureResult a;
  a.result = Result::kFail;
  a.domain = "example.org";
  a.selector = "sel";
  a.b_prefix = "abcdefgh";
  a.comment = "body hash mismatch";
  Comparison comparison;
  EXPECT_TRUE(test_support::opendkim::compare(both({a}, {a}), "same", comparison));
  SignatureResult b = a;
  b.comment = "signature did not verify";
  EXPECT_FALSE(test_support::opendkim::compare(both({a}, {b}), "kind", comparison));
  b = a;
  b.b_prefix = "abcdefgX";
  EXPECT_FALSE(test_support::opendkim::compare(both({a}, {b}), "header.b", comparison));
  b = a;
  b.result = Result::kPermError;
  EXPECT_FALSE(test_support::opendkim::compare(both({a}, {b}), "token", comparison));
  EXPECT_FALSE(test_support::opendkim::compare(both({a, a}, {a}), "count", comparison));
  EXPECT_EQ(comparison.disagreements.size(), 4u);
  EXPECT_EQ(comparison.signatures, 4u);
}

}  // namespace

// Disagreements the differential fuzzer found in the OpenSSL verifier, fixed in src/dkim
// (the libopendkim reference agrees, and so does RFC 6376 §3.2).
namespace {

std::vector<SignatureResult> verify_with_extra_tags(const std::string& extra) {
  dns::ZoneResolver zone;
  zone.add_txt("sel._domainkey.example.org",
               testing::txt_strings(testing::key_record(keys().rsa2048.get())));
  const Message m = testing::sample_message();
  SignSpec spec;
  spec.extra_tags = extra;
  const Message signed_message =
      testing::with_signatures(m, {testing::sign(m, spec, keys().rsa2048.get())});
  Library library(zone, {});
  auto verifier = library.start_message("T", dns::Clock::now() + std::chrono::seconds(5));
  return testing::verify(*verifier, signed_message);
}

TEST(DkimDifferentialFindings, ControlAndEightBitBytesMakeTheSignatureMalformed) {
  ASSERT_EQ(verify_with_extra_tags("z=fine; ")[0].result, Result::kPass);
  for (const char* bad : {"z=a\x01z; ", "z=a\x18z; ", "z=a\x7fz; ", "z=caf\xc3\xa9; "}) {
    const auto results = verify_with_extra_tags(bad);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPermError) << bad;
    EXPECT_EQ(results[0].comment, "malformed signature: invalid character in signature");
  }
}

TEST(DkimDifferentialFindings, TagNamesAreAlphaThenAlnumOrUnderscore) {
  ASSERT_EQ(verify_with_extra_tags("x_1=fine; ")[0].result, Result::kPass);
  for (const char* bad : {"a+b=1; ", "1x=1; ", "_x=1; ", "x/y=1; ", "a b=1; ", "a\r\n b=1; "}) {
    const auto results = verify_with_extra_tags(bad);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPermError) << bad;
    EXPECT_EQ(results[0].comment, "malformed signature: invalid tag name") << bad;
  }
}

TEST(DkimDifferentialFindings, AnEmptyTagSpecBeforeTheLastMakesTheSignatureMalformed) {
  for (const char* bad : {"z=1;; ", "z=1; ; ", "z=1;\r\n\t; "}) {
    const auto results = verify_with_extra_tags(bad);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPermError) << bad;
    EXPECT_EQ(results[0].comment, "malformed signature: empty tag-spec") << bad;
  }
}

TEST(DkimDifferentialFindings, ABadDomainIsMalformedEvenWithAFutureTimestamp) {
  dns::ZoneResolver zone;
  const Message m = testing::sample_message();
  SignSpec spec;
  spec.domain = "exa/mple.org";
  spec.timestamp = static_cast<std::uint64_t>(std::time(nullptr)) + 2 * 86400;
  const Message signed_message =
      testing::with_signatures(m, {testing::sign(m, spec, keys().rsa2048.get())});
  Library library(zone, {});
  auto verifier = library.start_message("T", dns::Clock::now() + std::chrono::seconds(5));
  const auto results = testing::verify(*verifier, signed_message);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, Result::kPermError);
  EXPECT_EQ(results[0].comment, "malformed signature: bad d=");
}

TEST(DkimDifferentialFindings, KeyRecordsWithBadBytesOrTagNamesAreInvalid) {
  const std::string p = testing::public_key_base64(keys().rsa2048.get());
  const Message m = testing::sample_message();
  const Message signed_message =
      testing::with_signatures(m, {testing::sign(m, SignSpec{}, keys().rsa2048.get())});
  auto verify_with_record = [&](const std::string& record) {
    dns::ZoneResolver zone;
    zone.add_txt("sel._domainkey.example.org", testing::txt_strings(record));
    Library library(zone, {});
    auto verifier = library.start_message("T", dns::Clock::now() + std::chrono::seconds(5));
    return testing::verify(*verifier, signed_message);
  };
  ASSERT_EQ(verify_with_record("v=DKIM1; k=rsa; n=note_1; p=" + p)[0].result, Result::kPass);
  for (const std::string& bad :
       {std::string("v=DKIM1; k=rsa; n=a\x01b; p="),
        std::string("v=DKIM1; k=rsa; n=caf\xc3\xa9; p="), std::string("v=DKIM1; k=rsa; a+b=1; p="),
        std::string("v=DKIM1; k=rsa; n o=1; p=")}) {
    const auto results = verify_with_record(bad + p);
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].result, Result::kPermError) << bad;
    EXPECT_EQ(results[0].comment.rfind("key record syntax error", 0), 0u) << results[0].comment;
  }
}

}  // namespace
}  // namespace authmilter::dkim
