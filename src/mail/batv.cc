#include "authmilter/mail/batv.h"
#include "authmilter/util/ascii.h"
#include "authmilter/util/unique_fd.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <utility>

namespace authmilter::mail {
namespace {

constexpr std::string_view kPrefix = "prvs=";
constexpr std::int64_t kSecondsPerDay = 86400;
constexpr std::int64_t kDayModulus = 1000;  // DDD has three digits
constexpr std::size_t kSignatureBytes = 3;  // SSSSSS
constexpr char kKeyNumber = '0';

// Wipes a buffer that held key material, whatever way the scope is left.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  ~WipeOnExit() {
    if (!s_.empty()) OPENSSL_cleanse(s_.data(), s_.size());
  }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& s_;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char l = util::to_lower_ascii(c);
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

// RFC 5321 Dot-string characters (atext and '.'), plus 8-bit bytes for RFC 6531 local parts.
// Quotes, backslashes, specials, SPACE and controls are refused: such local parts are quoted
// strings, and a tag cannot be put inside one without rewriting the quoting.
bool is_local_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return true;
  if (u <= 0x20 || u == 0x7f) return false;
  return std::string_view("\"\\()<>[]:;,@").find(c) == std::string_view::npos;
}

// Any visible byte but '@' (domain names, domain literals, U-labels).
bool is_domain_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f && c != '@';
}

struct SplitAddress {
  std::string_view local;
  std::string_view domain;
};

// local "@" domain with exactly one '@', both sides non-empty and of the characters above.
std::optional<SplitAddress> split_mailbox(std::string_view address) {
  const auto at = address.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= address.size()) return std::nullopt;
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  for (char c : local) {
    if (!is_local_char(c)) return std::nullopt;
  }
  for (char c : domain) {
    if (!is_domain_char(c)) return std::nullopt;
  }
  return SplitAddress{local, domain};
}

struct Tag {
  char key_number;
  int day;  // DDD
  std::array<unsigned char, kSignatureBytes> signature;
  SplitAddress original;
  std::string_view original_text;
};

// The tag and the mailbox after it, when `address` has the full prvs shape within the length
// limits batv_sign() keeps to.
std::optional<Tag> parse_tag(std::string_view address) {
  if (address.size() > kMaxBatvAddressLength || address.size() <= kBatvTagLength) {
    return std::nullopt;
  }
  if (!util::istarts_with_ascii(address, kPrefix) || address[kBatvTagLength - 1] != '=')
    return std::nullopt;
  const std::string_view val = address.substr(kPrefix.size(), kBatvTagLength - 1 - kPrefix.size());
  Tag tag{};
  if (!is_digit(val[0])) return std::nullopt;
  tag.key_number = val[0];
  tag.day = 0;
  for (std::size_t i = 1; i <= 3; ++i) {
    if (!is_digit(val[i])) return std::nullopt;
    tag.day = tag.day * 10 + (val[i] - '0');
  }
  for (std::size_t i = 0; i < kSignatureBytes; ++i) {
    const int hi = hex_value(val[4 + 2 * i]);
    const int lo = hex_value(val[5 + 2 * i]);
    if (hi < 0 || lo < 0) return std::nullopt;
    tag.signature[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  tag.original_text = address.substr(kBatvTagLength);
  const auto mailbox = split_mailbox(tag.original_text);
  if (!mailbox || kBatvTagLength + mailbox->local.size() > kMaxBatvLocalPartLength) {
    return std::nullopt;
  }
  tag.original = *mailbox;
  return tag;
}

// (Days since the epoch, rounded towards minus infinity, plus days_ahead) modulo 1000, always
// 0..999. Adds days, not seconds, so no unix_time overflows.
int day_number(std::int64_t unix_time, int days_ahead = 0) {
  std::int64_t days = unix_time / kSecondsPerDay;
  if (unix_time % kSecondsPerDay < 0) --days;
  std::int64_t mod = (days % kDayModulus + days_ahead) % kDayModulus;
  if (mod < 0) mod += kDayModulus;
  return static_cast<int>(mod);
}

// hash-source = K DDD local "@" lower(domain)
std::string hash_source(char key_number, int day, const SplitAddress& mailbox) {
  std::string s;
  s.reserve(4 + mailbox.local.size() + 1 + mailbox.domain.size());
  s.push_back(key_number);
  s.push_back(static_cast<char>('0' + day / 100));
  s.push_back(static_cast<char>('0' + day / 10 % 10));
  s.push_back(static_cast<char>('0' + day % 10));
  s.append(mailbox.local);
  s.push_back('@');
  for (char c : mailbox.domain) s.push_back(util::to_lower_ascii(c));
  return s;
}

bool compute_hmac(std::string_view secret, std::string_view message,
                  std::array<unsigned char, 20>& out) {
  if (secret.size() > static_cast<std::size_t>(INT_MAX)) return false;
  unsigned int length = 0;
  const unsigned char* r = HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
                                reinterpret_cast<const unsigned char*>(message.data()),
                                message.size(), out.data(), &length);
  return r != nullptr && length == out.size();
}

[[noreturn]] void key_file_error(const std::string& path, const std::string& why) {
  throw std::runtime_error("BATV key file " + path + ": " + why);
}

}  // namespace

BatvKey::BatvKey(std::string secret) : secret_(std::move(secret)) {
  if (secret_.size() < kMinBatvSecretLength) {
    OPENSSL_cleanse(secret_.data(), secret_.size());
    throw std::invalid_argument("BATV secret shorter than " + std::to_string(kMinBatvSecretLength) +
                                " bytes");
  }
}

BatvKey::~BatvKey() { wipe(); }

void BatvKey::wipe() noexcept {
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
}

BatvKey& BatvKey::operator=(const BatvKey& other) {
  if (this != &other) {
    wipe();  // a shorter secret copied into this buffer must not leave the old tail behind
    secret_ = other.secret_;
  }
  return *this;
}

BatvKey& BatvKey::operator=(BatvKey&& other) noexcept {
  if (this != &other) {
    wipe();
    secret_ = std::move(other.secret_);
  }
  return *this;
}

std::array<unsigned char, 20> BatvKey::hmac_sha1(std::string_view message) const {
  std::array<unsigned char, 20> out{};
  if (!compute_hmac(secret_, message, out)) throw std::runtime_error("HMAC-SHA1 failed");
  return out;
}

BatvKey BatvKey::load_file(const std::string& path) {
  // O_NOFOLLOW: a symlink could point anywhere (e.g. at a world-readable copy); O_NONBLOCK:
  // opening a FIFO must not hang start-up (fstat then refuses it).
  const util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) key_file_error(path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) key_file_error(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) key_file_error(path, "not a regular file");
  if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
    key_file_error(path, "readable or writable by group or others (chmod 600 it)");
  }
  if (st.st_size < 0 || static_cast<std::size_t>(st.st_size) > kMaxBatvKeyFileSize) {
    key_file_error(path, "larger than " + std::to_string(kMaxBatvKeyFileSize) + " bytes");
  }
  std::string data;
  const WipeOnExit wipe(data);
  data.resize(kMaxBatvKeyFileSize + 1);  // one more, to notice a file that grew after fstat
  std::size_t used = 0;
  while (used < data.size()) {
    const ssize_t n = ::read(fd.get(), data.data() + used, data.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      key_file_error(path, std::strerror(errno));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > kMaxBatvKeyFileSize) {
    key_file_error(path, "larger than " + std::to_string(kMaxBatvKeyFileSize) + " bytes");
  }
  while (used > 0 && (data[used - 1] == '\n' || data[used - 1] == '\r')) --used;
  if (used < kMinBatvSecretLength) {
    key_file_error(path,
                   "holds fewer than " + std::to_string(kMinBatvSecretLength) + " bytes of secret");
  }
  return BatvKey(std::string(data.data(), used));
}

std::string batv_sign(std::string_view address, const BatvKey& key, std::int64_t unix_now) {
  std::string_view original = address;
  if (const auto tag = parse_tag(address)) original = tag->original_text;  // re-tag, never nest
  const auto mailbox = split_mailbox(original);
  if (!mailbox || kBatvTagLength + mailbox->local.size() > kMaxBatvLocalPartLength ||
      kBatvTagLength + original.size() > kMaxBatvAddressLength) {
    return std::string(address);
  }
  const int expiry = day_number(unix_now, kBatvValidityDays);
  std::array<unsigned char, 20> mac{};
  try {
    mac = key.hmac_sha1(hash_source(kKeyNumber, expiry, *mailbox));
  } catch (const std::runtime_error&) {
    return std::string(address);  // unsigned rather than a tag that can never verify
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(kBatvTagLength + original.size());
  out.append(kPrefix);
  out.push_back(kKeyNumber);
  out.push_back(static_cast<char>('0' + expiry / 100));
  out.push_back(static_cast<char>('0' + expiry / 10 % 10));
  out.push_back(static_cast<char>('0' + expiry % 10));
  for (std::size_t i = 0; i < kSignatureBytes; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0x0f]);
  }
  out.push_back('=');
  out.append(original);
  return out;
}

std::string_view to_string(BatvStatus status) {
  switch (status) {
    case BatvStatus::kValid:
      return "valid";
    case BatvStatus::kNotTagged:
      return "not-tagged";
    case BatvStatus::kExpired:
      return "expired";
    case BatvStatus::kBadSignature:
      return "bad-signature";
    case BatvStatus::kMalformed:
      return "malformed";
  }
  return "malformed";
}

BatvCheck batv_verify(std::string_view address, const BatvKey& key, std::int64_t unix_now) {
  if (!util::istarts_with_ascii(address, kPrefix))
    return {BatvStatus::kNotTagged, std::string(address)};
  const auto tag = parse_tag(address);
  if (!tag) return {BatvStatus::kMalformed, {}};
  BatvCheck check{BatvStatus::kBadSignature, std::string(tag->original_text)};
  if (tag->key_number != kKeyNumber) return check;  // a key we do not have
  std::array<unsigned char, 20> mac{};
  try {
    mac = key.hmac_sha1(hash_source(tag->key_number, tag->day, tag->original));
  } catch (const std::runtime_error&) {
    return check;  // fail closed
  }
  if (CRYPTO_memcmp(mac.data(), tag->signature.data(), kSignatureBytes) != 0) return check;
  // Days from today to the expiry day, modulo 1000: 0..7 is within the validity window.
  const int ahead = static_cast<int>((tag->day - day_number(unix_now) + kDayModulus) % kDayModulus);
  check.status = ahead <= kBatvValidityDays ? BatvStatus::kValid : BatvStatus::kExpired;
  return check;
}

bool is_batv_tagged(std::string_view address) { return parse_tag(address).has_value(); }

}  // namespace authmilter::mail
