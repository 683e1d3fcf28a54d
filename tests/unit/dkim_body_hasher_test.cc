// BodyHasher (canonicalize.h) against a plain, slow canonicalizer written here from RFC 6376
// §3.4.3/§3.4.4 and the l= rule of §3.5: every split of tricky bodies into two and three
// chunks, random bodies in random chunks, long bodies across 64-byte blocks and chunk ends
// (the AVX-512 compaction of relaxed and, with l=, the scalar loop), SHA-1, and l= limits.
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

// Long bodies in chunks of up to ~700 bytes: the 64-byte block compaction of relaxed (where
// the CPU has AVX-512 VBMI2) meets WSP runs and CRLFs across block ends and chunk ends, blank
// lines and WSP-only lines (more than it writes inline), and falls back to the scalar loop on
// bare CR, bare LF and control bytes.
TEST(BodyHasherTest, LongBodiesAcrossBlockAndChunkBoundaries) {
  std::mt19937 random(64);
  const std::string letters = "abcdefghijklmnopqrstuvwxyz.,\x7f\xc3\xa9";
  for (int round = 0; round < 1500; ++round) {
    const bool odd_bytes = round % 3 == 0;  // bare CR/LF and control bytes now and then
    const std::size_t size = random() % 2500;
    std::string body;
    while (body.size() < size) {
      const auto pick = random() % 100;
      if (pick < 50) {
        const std::size_t n = 1 + random() % 12;
        for (std::size_t i = 0; i < n; ++i) body.push_back(letters[random() % letters.size()]);
      } else if (pick < 75) {
        const std::size_t n = 1 + (random() % 4 == 0 ? random() % 90 : random() % 3);
        for (std::size_t i = 0; i < n; ++i) body.push_back(random() % 4 == 0 ? '\t' : ' ');
      } else if (pick < 88) {
        body += "\r\n";
      } else if (pick < 93) {
        const std::size_t n = 1 + random() % 45;
        for (std::size_t i = 0; i < n; ++i) body += random() % 3 == 0 ? " \t\r\n" : "\r\n";
      } else if (odd_bytes) {
        const char odd[] = {'\r', '\n', '\x01', '\0', '\x1f'};
        body.push_back(odd[random() % sizeof odd]);
      }
    }
    const std::string want_relaxed =
        digest(EVP_sha256(), slow_canonical(Canonicalization::kRelaxed, body));
    const std::string want_simple =
        digest(EVP_sha256(), slow_canonical(Canonicalization::kSimple, body));
    for (int split = 0; split < 3; ++split) {
      std::vector<std::string_view> pieces;
      for (std::size_t pos = 0; pos < body.size();) {
        const std::size_t n = split == 0   ? body.size()
                              : split == 1 ? 1 + random() % 700
                                           : 60 + random() % 80;
        pieces.push_back(std::string_view(body).substr(pos, n));
        pos += n;
      }
      std::uint64_t length = 0;
      if (hash_pieces(Canonicalization::kRelaxed, pieces, &length) != want_relaxed) {
        FILE* f = fopen("/tmp/relaxed_fail.txt", "wb");
        fwrite(body.data(), 1, body.size(), f);
        for (auto pc : pieces) fprintf(f, "\n#%zu", pc.size());
        fprintf(f, "\n#len %lu want %zu\n", (unsigned long)length,
                slow_canonical(Canonicalization::kRelaxed, body).size());
        fclose(f);
      }
      ASSERT_EQ(hash_pieces(Canonicalization::kRelaxed, pieces, &length), want_relaxed)
          << "round " << round << " split " << split << " body '" << body << "'";
      EXPECT_EQ(length, slow_canonical(Canonicalization::kRelaxed, body).size());
      // With an l= limit the block compaction stays off: the scalar loop on the same chunks.
      ASSERT_EQ(hash_pieces(Canonicalization::kRelaxed, pieces, nullptr, EVP_sha256(),
                            BodyHasher::kNoLimit - 1),
                want_relaxed)
          << "round " << round << " split " << split << " (scalar)";
      ASSERT_EQ(hash_pieces(Canonicalization::kSimple, pieces), want_simple)
          << "round " << round << " split " << split;
    }
  }
}

// Every position of a short tricky tail relative to the 64-byte blocks and the chunk end.
TEST(BodyHasherTest, TrickyTailsAtEveryBlockOffset) {
  const std::vector<std::string> tails = {
      "  \t b\r\n", "  \r\n\r\nc",      "\r\n", " \r\n \r\n", "\r\r\n",
      "x \n y",     "\t\t\t\r\n\r\n\t", " ",    "\r",         "z  "};
  for (const std::string& tail : tails) {
    for (std::size_t prefix = 0; prefix < 140; ++prefix) {
      for (std::size_t suffix : {std::size_t{0}, std::size_t{1}, std::size_t{70}}) {
        std::string body;
        for (std::size_t i = 0; i < prefix; ++i) body.push_back(i % 9 == 8 ? ' ' : 'p');
        body += tail;
        for (std::size_t i = 0; i < suffix; ++i) body.push_back(i % 7 == 6 ? ' ' : 's');
        const std::string want =
            digest(EVP_sha256(), slow_canonical(Canonicalization::kRelaxed, body));
        const std::string_view view(body);
        ASSERT_EQ(hash_pieces(Canonicalization::kRelaxed, {view}), want)
            << "tail '" << tail << "' after " << prefix << ", " << suffix << " after";
        const std::size_t cut = prefix + tail.size() / 2;
        ASSERT_EQ(hash_pieces(Canonicalization::kRelaxed, {view.substr(0, cut), view.substr(cut)}),
                  want)
            << "tail '" << tail << "' after " << prefix << " cut at " << cut;
      }
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
