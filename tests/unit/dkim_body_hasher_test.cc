// BodyHasher (canonicalize.h) against a plain, slow canonicalizer written here from RFC 6376
// §3.4.3/§3.4.4 and the l= rule of §3.5: every split of tricky bodies into two and three
// chunks, random bodies in random chunks, SHA-1, and l= limits.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>
#include <string>
#include <vector>

#include "authmilter/dkim/canonicalize.h"

namespace authmilter::dkim {
namespace {

// Lines end at CRLF or a bare LF; a bare CR is content. Relaxed: WSP runs become one SP,
// WSP at the end of a line goes. Then trailing empty lines go, every line gets CRLF, and an
// empty simple body is one CRLF.
std::string slow_canonical(Canonicalization canon, const std::string& body) {
  std::vector<std::string> lines;
  std::string line;
  bool open = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') {
      lines.push_back(line);
      line.clear();
      open = false;
      ++i;
    } else if (body[i] == '\n') {
      lines.push_back(line);
      line.clear();
      open = false;
    } else {
      line.push_back(body[i]);
      open = true;
    }
  }
  if (open) lines.push_back(line);
  if (canon == Canonicalization::kRelaxed) {
    for (auto& l : lines) {
      std::string reduced;
      for (std::size_t i = 0; i < l.size(); ++i) {
        if (l[i] == ' ' || l[i] == '\t') {
          while (i + 1 < l.size() && (l[i + 1] == ' ' || l[i + 1] == '\t')) ++i;
          if (i + 1 < l.size()) reduced.push_back(' ');  // not at the end of the line
        } else {
          reduced.push_back(l[i]);
        }
      }
      l = reduced;
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  if (out.empty() && canon == Canonicalization::kSimple) out = "\r\n";
  return out;
}

std::string digest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out, &size, md, nullptr), 1);
  return std::string(reinterpret_cast<const char*>(out), size);
}

std::string hash_pieces(Canonicalization canon, const std::vector<std::string_view>& pieces,
                        std::uint64_t* length = nullptr, const EVP_MD* md = EVP_sha256(),
                        std::uint64_t limit = BodyHasher::kNoLimit) {
  BodyHasher hasher(canon, md, limit);
  for (auto piece : pieces) hasher.update(piece);
  std::string out = hasher.finish();
  if (length != nullptr) *length = hasher.canonical_length();
  return out;
}

const std::vector<std::string>& tricky_bodies() {
  static const std::vector<std::string> bodies = {
      "",
      "\r\n",
      "\r\n\r\n\r\n",
      "\n\n",
      "x",
      "x\r\n",
      "x\r\n\r\n\r\n",
      "x\n\ny\n\n",
      "a  b \t\r\n\r\n  c\r\nd\r\r\n\n\r\n\r\n \r\n",
      " \t \r\n \r\n\t\r\n",
      "a\rb\r\r\n\r",
      "\r",
      "\r\r\n\r",
      "a \r b\r\n",
      "line  with   runs\t\tand tabs \t \r\n  leading\r\ntrailing   ",
      "ends in space ",
      "ends in CR\r",
      "ends in WSP then CR \t\r",
      "mixed\n\r\n\r\r\n \n\t\n",
      "\x01\x02 \x0b \x0c\x1f \x7f\xff \xc3\xa9\r\n",
      "0123456789abcdef 0123456789abcde  \r\n0123456789abcdef\t0123456789ab \r\n\r\n",
      std::string("nul\0byte \0\r\n", 13),
  };
  return bodies;
}

TEST(BodyHasherTest, EveryTwoAndThreeWaySplitMatchesTheSlowCanonicalizer) {
  for (Canonicalization canon : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
    for (const std::string& body : tricky_bodies()) {
      SCOPED_TRACE(std::string(canon == Canonicalization::kSimple ? "simple " : "relaxed ") +
                   "body '" + body + "'");
      const std::string want = digest(EVP_sha256(), slow_canonical(canon, body));
      std::uint64_t length = 0;
      EXPECT_EQ(hash_pieces(canon, {body}, &length), want);
      EXPECT_EQ(length, slow_canonical(canon, body).size());
      const std::string_view view(body);
      for (std::size_t i = 0; i <= body.size(); ++i) {
        for (std::size_t j = i; j <= body.size(); ++j) {
          ASSERT_EQ(hash_pieces(canon, {view.substr(0, i), view.substr(i, j - i), view.substr(j)}),
                    want)
              << "split at " << i << " and " << j;
        }
      }
    }
  }
}

TEST(BodyHasherTest, RandomBodiesInRandomChunks) {
  std::mt19937 random(15);
  const std::string alphabet = "ab  \t\r\n\r\n.x\x01";
  for (int round = 0; round < 3000; ++round) {
    std::string body(random() % 120, ' ');
    for (auto& c : body) c = alphabet[random() % alphabet.size()];
    for (Canonicalization canon : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
      std::vector<std::string_view> pieces;
      for (std::size_t pos = 0; pos < body.size();) {
        const std::size_t n = 1 + random() % 40;
        pieces.push_back(std::string_view(body).substr(pos, n));
        pos += n;
      }
      ASSERT_EQ(hash_pieces(canon, pieces), digest(EVP_sha256(), slow_canonical(canon, body)))
          << "body '" << body << "'";
    }
  }
}

TEST(BodyHasherTest, Sha1AndBodyLengthLimits) {
  const std::string body = "Hi  there\t\r\nsecond line \r\n\r\n\r\n";
  for (Canonicalization canon : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
    const std::string full = slow_canonical(canon, body);
    EXPECT_EQ(hash_pieces(canon, {body}, nullptr, EVP_sha1()), digest(EVP_sha1(), full));
    for (std::uint64_t limit :
         {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{5}, std::uint64_t{full.size() - 1},
          std::uint64_t{full.size()}, std::uint64_t{full.size() + 10}}) {
      SCOPED_TRACE(limit);
      const std::string_view view(body);
      for (std::size_t split = 0; split <= body.size(); ++split) {
        std::uint64_t length = 0;
        EXPECT_EQ(
            hash_pieces(canon, {view.substr(0, split), view.substr(split)}, &length, EVP_sha256(),
                        limit),
            digest(EVP_sha256(), full.substr(0, std::min<std::uint64_t>(limit, full.size()))));
        // The length tells whether l= exceeds the body.
        EXPECT_EQ(length, std::min<std::uint64_t>(limit, full.size()));
      }
    }
  }
}

TEST(BodyHasherTest, ManyEmptyLinesAreCountedNotStored) {
  const std::string empties(3000000, '\n');
  for (Canonicalization canon : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
    std::string body = "a\r\n" + empties + "b";
    EXPECT_EQ(hash_pieces(canon, {body}), digest(EVP_sha256(), slow_canonical(canon, body)));
    EXPECT_EQ(hash_pieces(canon, {"a\r\n", empties}), digest(EVP_sha256(), "a\r\n"));
  }
}

}  // namespace
}  // namespace authmilter::dkim
