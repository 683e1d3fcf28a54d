// Tests for BATV prvs tags (draft-levine-smtp-batv-01 §4): make/verify, the 7-day window
// and the 1000-day wrap, wrong key, tampering, case, hostile input, and the key file checks.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "authmilter/mail/batv.h"

namespace authmilter::mail {
namespace {

using std::string_literals::operator""s;

constexpr std::int64_t kDay = 86400;
const std::string kSecret = "0123456789abcdef0123456789abcdef";

// Noon of a day number (days since the epoch).
std::int64_t noon(std::int64_t day) { return day * kDay + kDay / 2; }

TEST(Batv, KnownAnswerFromIndependentHmac) {
  // Expected signatures computed with Python's hmac module over hash-source = K DDD mailbox.
  const BatvKey key(kSecret);
  EXPECT_EQ(batv_sign("alice@example.org", key, noon(0)), "prvs=0007203946=alice@example.org");
  // Day 995 + 7 = 1002 -> DDD 002; the domain is hashed lower-cased but written as given.
  EXPECT_EQ(batv_sign("Bob.Smith@Example.NET", key, noon(995)),
            "prvs=0002428f91=Bob.Smith@Example.NET");
  EXPECT_EQ(batv_sign("Bob.Smith@example.net", key, 995 * kDay),
            "prvs=0002428f91=Bob.Smith@example.net");
  EXPECT_EQ(batv_sign("Bob.Smith@example.net", key, 996 * kDay - 1),
            "prvs=0002428f91=Bob.Smith@example.net");
}

TEST(Batv, RoundTrip) {
  const BatvKey key(kSecret);
  const std::int64_t now = 1700000000;
  for (const std::string addr : {"alice@example.org", "a@b", "first.last+tag@sub.example.co.uk",
                                 "x=y@example.org", "prvs=junk@example.org", "user@[192.0.2.1]",
                                 "j\xc3\xb6rg@b\xc3\xbc"
                                 "cher.example"}) {
    const std::string tagged = batv_sign(addr, key, now);
    ASSERT_NE(tagged, addr);
    EXPECT_EQ(tagged.size(), addr.size() + kBatvTagLength);
    EXPECT_TRUE(is_batv_tagged(tagged)) << tagged;
    EXPECT_FALSE(is_batv_tagged(addr)) << addr;
    const BatvCheck check = batv_verify(tagged, key, now);
    EXPECT_EQ(check.status, BatvStatus::kValid) << tagged;
    EXPECT_EQ(check.original, addr);
  }
}

TEST(Batv, ValidForSevenDaysThenExpired) {
  const BatvKey key(kSecret);
  const std::int64_t day = 19000;
  const std::string tagged = batv_sign("alice@example.org", key, noon(day));
  for (int k = 0; k <= kBatvValidityDays; ++k) {
    EXPECT_EQ(batv_verify(tagged, key, noon(day + k)).status, BatvStatus::kValid) << k;
  }
  EXPECT_EQ(batv_verify(tagged, key, noon(day + 8)).status, BatvStatus::kExpired);
  // Exactly at the day boundaries.
  EXPECT_EQ(batv_verify(tagged, key, (day + 8) * kDay - 1).status, BatvStatus::kValid);
  EXPECT_EQ(batv_verify(tagged, key, (day + 8) * kDay).status, BatvStatus::kExpired);
  // Up to 7 days in the past is clock skew between our relays; further is not ours to accept.
  EXPECT_EQ(batv_verify(tagged, key, noon(day - 1)).status, BatvStatus::kExpired);
  EXPECT_EQ(batv_verify(tagged, key, noon(day + 100)).status, BatvStatus::kExpired);
  const BatvCheck expired = batv_verify(tagged, key, noon(day + 9));
  EXPECT_EQ(expired.status, BatvStatus::kExpired);
  EXPECT_EQ(expired.original, "alice@example.org");
}

TEST(Batv, WrapAroundDay1000) {
  const BatvKey key(kSecret);
  for (std::int64_t day : {992, 993, 995, 999, 1000, 1992, 1999}) {
    const std::string tagged = batv_sign("alice@example.org", key, noon(day));
    const int ddd = static_cast<int>((day + kBatvValidityDays) % 1000);
    EXPECT_EQ(std::stoi(tagged.substr(6, 3)), ddd) << day;
    for (int k = 0; k <= kBatvValidityDays; ++k) {
      EXPECT_EQ(batv_verify(tagged, key, noon(day + k)).status, BatvStatus::kValid)
          << day << "+" << k;
    }
    EXPECT_EQ(batv_verify(tagged, key, noon(day + 8)).status, BatvStatus::kExpired) << day;
  }
  // The documented limit of a 3-digit day: 1000 days later the same tag is current again.
  const std::string tagged = batv_sign("alice@example.org", key, noon(500));
  EXPECT_EQ(batv_verify(tagged, key, noon(1500)).status, BatvStatus::kValid);
}

TEST(Batv, TimesBeforeTheEpochAndExtremes) {
  const BatvKey key(kSecret);
  // One second before the epoch is day -1, i.e. 999; expiry 006.
  const std::string tagged = batv_sign("a@b.example", key, -1);
  EXPECT_EQ(tagged.substr(0, 9), "prvs=0006");
  EXPECT_EQ(batv_verify(tagged, key, 0).status, BatvStatus::kValid);
  for (std::int64_t t : {INT64_MIN, INT64_MIN + 1, INT64_MAX, INT64_MAX - kDay}) {
    const std::string s = batv_sign("a@b.example", key, t);
    EXPECT_EQ(batv_verify(s, key, t).status, BatvStatus::kValid) << t;
  }
}

TEST(Batv, WrongKey) {
  const BatvKey key(kSecret);
  const BatvKey other("another secret of enough length");
  const std::string tagged = batv_sign("alice@example.org", key, noon(19000));
  EXPECT_NE(tagged, batv_sign("alice@example.org", other, noon(19000)));
  const BatvCheck check = batv_verify(tagged, other, noon(19000));
  EXPECT_EQ(check.status, BatvStatus::kBadSignature);
  EXPECT_EQ(check.original, "alice@example.org");
  // One byte of difference in the secret is enough.
  std::string near = kSecret;
  near.back() = 'g';
  EXPECT_EQ(batv_verify(tagged, BatvKey(near), noon(19000)).status, BatvStatus::kBadSignature);
}

TEST(Batv, TamperedTagsFail) {
  const BatvKey key(kSecret);
  const std::int64_t now = noon(19000);
  const std::string tagged = batv_sign("alice@example.org", key, now);
  ASSERT_EQ(batv_verify(tagged, key, now).status, BatvStatus::kValid);
  // Every signature digit changed to another hex digit.
  for (std::size_t i = 9; i < 15; ++i) {
    std::string t = tagged;
    t[i] = t[i] == '0' ? '1' : '0';
    EXPECT_EQ(batv_verify(t, key, now).status, BatvStatus::kBadSignature) << t;
  }
  // The day is covered by the signature: moving it forward does not extend the tag.
  std::string later = tagged;
  later[8] = later[8] == '9' ? '0' : static_cast<char>(later[8] + 1);
  EXPECT_EQ(batv_verify(later, key, now).status, BatvStatus::kBadSignature);
  // Another key number: a well-formed tag, but not made with our key.
  std::string k1 = tagged;
  k1[5] = '1';
  EXPECT_EQ(batv_verify(k1, key, now).status, BatvStatus::kBadSignature);
  // The tag moved onto another address.
  const std::string prefix = tagged.substr(0, kBatvTagLength);
  EXPECT_EQ(batv_verify(prefix + "mallory@example.org", key, now).status,
            BatvStatus::kBadSignature);
  EXPECT_EQ(batv_verify(prefix + "alice@example.com", key, now).status, BatvStatus::kBadSignature);
  EXPECT_EQ(batv_verify(prefix + "alice@example.org.", key, now).status, BatvStatus::kBadSignature);
  // Local parts are case-sensitive (RFC 5321 §2.4) and hashed as written.
  EXPECT_EQ(batv_verify(prefix + "Alice@example.org", key, now).status, BatvStatus::kBadSignature);
}

TEST(Batv, CaseVariationsAccepted) {
  const BatvKey key(kSecret);
  const std::int64_t now = noon(19000);
  const std::string tagged = batv_sign("alice@example.org", key, now);
  std::string upper_hex = tagged;
  for (std::size_t i = 9; i < 15; ++i) {
    if (upper_hex[i] >= 'a' && upper_hex[i] <= 'f')
      upper_hex[i] = static_cast<char>(upper_hex[i] - 32);
  }
  const std::string rest = tagged.substr(4);
  for (const std::string& t : {"PRVS" + rest, "Prvs" + rest, "pRvS" + rest, upper_hex,
                               tagged.substr(0, kBatvTagLength) + "alice@EXAMPLE.ORG"}) {
    const BatvCheck check = batv_verify(t, key, now);
    EXPECT_EQ(check.status, BatvStatus::kValid) << t;
    EXPECT_TRUE(is_batv_tagged(t)) << t;
  }
  EXPECT_EQ(batv_verify(tagged.substr(0, kBatvTagLength) + "alice@EXAMPLE.ORG", key, now).original,
            "alice@EXAMPLE.ORG");
}

TEST(Batv, NotTagged) {
  const BatvKey key(kSecret);
  for (const std::string& addr : {"alice@example.org"s, ""s, "postmaster"s, "prv=0@x"s,
                                  "xprvs=0007203946=alice@example.org"s, "\0prvs="s}) {
    const BatvCheck check = batv_verify(addr, key, 0);
    EXPECT_EQ(check.status, BatvStatus::kNotTagged) << addr;
    EXPECT_EQ(check.original, addr);
    EXPECT_FALSE(is_batv_tagged(addr));
  }
}

TEST(Batv, MalformedTags) {
  const BatvKey key(kSecret);
  const std::vector<std::string> bad = {
      "prvs=",
      "PRVS=",
      "prvs=0123=@x",
      "prvs=0123abcdef=",
      "prvs=0123abcdef=nodomain",
      "prvs=0123abcdef=@x",
      "prvs=0123abcdef=a@",
      "prvs=0123abcdef=a@b@c",
      "prvs=x123abcdef=a@b",
      "prvs=0a23abcdef=a@b",
      "prvs=0123abcdeg=a@b",
      "prvs=0123abcde=a@b",
      "prvs=0123abcdef0=a@b",
      "prvs=0123abcdef-a@b",
      "prvs=0123 bcdef=a@b",
      "prvs=0123abcdef=a b@c",
      "prvs=0123abcdef=\"a\"@c",
      "prvs=0123abcdef=a@b c",
      "prvs=0123abcdef=a\0b@c"s,
      "prvs=0123abcdef=ab@c\0"s,
      "prvs=0123abcdef\0=ab@c"s,
      "prvs=0123abcdef=a\r\n@c",
      "prvs=0123abcdef=a@b\x7f",
      "prvs=prvs=0123abcdef=a@b",
  };
  for (const auto& t : bad) {
    const BatvCheck check = batv_verify(t, key, 0);
    EXPECT_EQ(check.status, BatvStatus::kMalformed) << t;
    EXPECT_TRUE(check.original.empty());
    EXPECT_FALSE(is_batv_tagged(t)) << t;
  }
}

TEST(Batv, HugeInput) {
  const BatvKey key(kSecret);
  const std::string mb(1 << 20, 'a');
  EXPECT_EQ(batv_verify("prvs=" + mb, key, 0).status, BatvStatus::kMalformed);
  EXPECT_EQ(batv_verify("prvs=0123abcdef=" + mb + "@x", key, 0).status, BatvStatus::kMalformed);
  EXPECT_EQ(batv_verify(mb + "@x", key, 0).status, BatvStatus::kNotTagged);
  EXPECT_EQ(batv_sign(mb + "@x", key, 0), mb + "@x");
  EXPECT_EQ(batv_sign("a@" + mb, key, 0), "a@" + mb);
  EXPECT_EQ(batv_sign(std::string(1 << 20, '\0'), key, 0), std::string(1 << 20, '\0'));
  EXPECT_EQ(batv_sign(std::string(1 << 20, '@'), key, 0), std::string(1 << 20, '@'));
}

TEST(Batv, SignLeavesUntaggableAddressesAlone) {
  const BatvKey key(kSecret);
  for (const std::string& addr :
       {""s, "postmaster"s, "a@"s, "@b"s, "@"s, "a@b@c"s, "\"a b\"@x"s, "\"a\"@x"s, "a b@x"s,
        "a\\b@x"s, "a(b)@x"s, "a@b c"s, "a\0@x"s, "a@x\0"s, "a\r\n@x"s, "<a@x>"s, "a@x\t"s}) {
    EXPECT_EQ(batv_sign(addr, key, noon(19000)), addr) << addr;
  }
}

TEST(Batv, LocalPartLimit) {
  const BatvKey key(kSecret);
  const std::size_t max_original = kMaxBatvLocalPartLength - kBatvTagLength;  // 48
  const std::string at_limit = std::string(max_original, 'l') + "@example.org";
  const std::string past = std::string(max_original + 1, 'l') + "@example.org";
  const std::string tagged = batv_sign(at_limit, key, 0);
  EXPECT_NE(tagged, at_limit);
  EXPECT_EQ(tagged.find('@'), kMaxBatvLocalPartLength);
  EXPECT_EQ(batv_verify(tagged, key, 0).status, BatvStatus::kValid);
  EXPECT_EQ(batv_sign(past, key, 0), past);
  // A tag on a local part we would never have signed is not taken as ours.
  EXPECT_EQ(batv_verify(tagged.substr(0, kBatvTagLength) + past, key, 0).status,
            BatvStatus::kMalformed);
}

TEST(Batv, AddressLengthLimit) {
  const BatvKey key(kSecret);
  const std::size_t max_original = kMaxBatvAddressLength - kBatvTagLength;  // 238
  const std::string at_limit = "a@" + std::string(max_original - 2, 'd');
  const std::string past = "a@" + std::string(max_original - 1, 'd');
  const std::string tagged = batv_sign(at_limit, key, 0);
  EXPECT_EQ(tagged.size(), kMaxBatvAddressLength);
  EXPECT_EQ(batv_verify(tagged, key, 0).status, BatvStatus::kValid);
  EXPECT_EQ(batv_sign(past, key, 0), past);
  EXPECT_EQ(batv_verify(tagged + "d", key, 0).status, BatvStatus::kMalformed);
}

TEST(Batv, NoDoubleTagging) {
  const BatvKey key(kSecret);
  const std::string once = batv_sign("alice@example.org", key, noon(19000));
  // Re-signing a tagged address (a message looping back out) re-tags the original.
  EXPECT_EQ(batv_sign(once, key, noon(19000)), once);
  EXPECT_EQ(batv_sign(once, key, noon(19003)), batv_sign("alice@example.org", key, noon(19003)));
  // Also a tag made with another key or expired long ago: the original gets our fresh tag.
  const std::string foreign = batv_sign("alice@example.org", BatvKey("foreign key, 16+ bytes"), 0);
  EXPECT_EQ(batv_sign(foreign, key, noon(19000)), once);
  EXPECT_EQ(batv_sign("PRVS=0000ABCDEF=alice@example.org", key, noon(19000)), once);
  // Something merely starting with "prvs=" is an ordinary local part.
  const std::string odd = batv_sign("prvs=junk@example.org", key, noon(19000));
  EXPECT_EQ(odd.substr(kBatvTagLength), "prvs=junk@example.org");
  EXPECT_EQ(batv_verify(odd, key, noon(19000)).original, "prvs=junk@example.org");
}

TEST(Batv, StatusNames) {
  EXPECT_EQ(to_string(BatvStatus::kValid), "valid");
  EXPECT_EQ(to_string(BatvStatus::kNotTagged), "not-tagged");
  EXPECT_EQ(to_string(BatvStatus::kExpired), "expired");
  EXPECT_EQ(to_string(BatvStatus::kBadSignature), "bad-signature");
  EXPECT_EQ(to_string(BatvStatus::kMalformed), "malformed");
}

TEST(BatvKey, SecretLengthLimit) {
  EXPECT_NO_THROW(BatvKey(std::string(kMinBatvSecretLength, 'k')));
  EXPECT_THROW(BatvKey(std::string(kMinBatvSecretLength - 1, 'k')), std::invalid_argument);
  EXPECT_THROW(BatvKey(""), std::invalid_argument);
  // Keys are plain values: copies and moves sign alike.
  BatvKey a(kSecret);
  const BatvKey b = a;
  const BatvKey c = std::move(a);
  EXPECT_EQ(batv_sign("x@y", b, 0), batv_sign("x@y", c, 0));
  BatvKey d("a different secret, long enough");
  EXPECT_NE(batv_sign("x@y", d, 0), batv_sign("x@y", b, 0));
  d = b;
  EXPECT_EQ(batv_sign("x@y", d, 0), batv_sign("x@y", b, 0));
  BatvKey e("yet another secret, long enough");
  e = std::move(d);
  EXPECT_EQ(batv_sign("x@y", e, 0), batv_sign("x@y", b, 0));
}

// A private directory for key files, removed afterwards.
class BatvKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "batv_key_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << content;
    }
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  std::string dir_;
};

TEST_F(BatvKeyFile, LoadsOwnerOnlyFile) {
  const BatvKey from_file = BatvKey::load_file(write("k", kSecret + "\n", 0600));
  EXPECT_EQ(batv_sign("a@b.example", from_file, 0), batv_sign("a@b.example", BatvKey(kSecret), 0));
  const BatvKey crlf = BatvKey::load_file(write("crlf", kSecret + "\r\n\n", 0400));
  EXPECT_EQ(batv_sign("a@b.example", crlf, 0), batv_sign("a@b.example", BatvKey(kSecret), 0));
  // Binary secrets with NUL bytes are fine; execute bits do not matter.
  const std::string binary = "\0\1\2\3\4\5\6\7\x80\x90\xff abcdefg"s;
  const BatvKey bin = BatvKey::load_file(write("bin", binary, 0700));
  EXPECT_EQ(batv_sign("a@b.example", bin, 0), batv_sign("a@b.example", BatvKey(binary), 0));
}

TEST_F(BatvKeyFile, SecretLengthAtLimitAndOnePast) {
  EXPECT_NO_THROW(
      BatvKey::load_file(write("16", std::string(kMinBatvSecretLength, 's') + "\n", 0600)));
  EXPECT_THROW(
      BatvKey::load_file(write("15", std::string(kMinBatvSecretLength - 1, 's') + "\r\n", 0600)),
      std::runtime_error);
  EXPECT_THROW(BatvKey::load_file(write("empty", "", 0600)), std::runtime_error);
  EXPECT_THROW(BatvKey::load_file(write("newlines", std::string(100, '\n'), 0600)),
               std::runtime_error);
}

TEST_F(BatvKeyFile, FileSizeAtLimitAndOnePast) {
  EXPECT_NO_THROW(BatvKey::load_file(write("max", std::string(kMaxBatvKeyFileSize, 's'), 0600)));
  EXPECT_THROW(BatvKey::load_file(write("big", std::string(kMaxBatvKeyFileSize + 1, 's'), 0600)),
               std::runtime_error);
}

TEST_F(BatvKeyFile, RefusesGroupOrWorldAccess) {
  for (const mode_t mode :
       std::initializer_list<mode_t>{0640, 0604, 0620, 0602, 0644, 0660, 0666, 0440, 0404}) {
    const std::string path = write("m" + std::to_string(mode), kSecret, mode);
    try {
      BatvKey::load_file(path);
      ADD_FAILURE() << "mode " << std::oct << mode << " accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(BatvKey::load_file(write("m600", kSecret, 0600)));
  EXPECT_NO_THROW(BatvKey::load_file(write("m400", kSecret, 0400)));
}

TEST_F(BatvKeyFile, RefusesWhatIsNotARegularFile) {
  EXPECT_THROW(BatvKey::load_file(dir_ + "/missing"), std::runtime_error);
  EXPECT_THROW(BatvKey::load_file(dir_), std::runtime_error);
  EXPECT_THROW(BatvKey::load_file(""), std::runtime_error);
  const std::string target = write("target", kSecret, 0600);
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_THROW(BatvKey::load_file(link), std::runtime_error);
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THROW(BatvKey::load_file(fifo), std::runtime_error);  // and does not hang
  EXPECT_THROW(BatvKey::load_file("/dev/null"), std::runtime_error);
}

}  // namespace
}  // namespace authmilter::mail
