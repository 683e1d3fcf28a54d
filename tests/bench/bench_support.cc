#include "bench_support.h"

#include <iterator>
#include <string>

namespace authmilter::bench {
namespace {

// Benchmark-only keys, generated once with `openssl genpkey` for this file. Fixed keys make
// the signatures (RSA PKCS#1 v1.5 and Ed25519 are deterministic) and so every run the same.
constexpr std::string_view kRsa2048Pem = R"(-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCYEMuhFPpJC9Vm
BXmaPMkTQdVCJQC7iu54riUIHh/d4dYek0H1CyCly5aPkHNBnTyYU3IRpae3ebzy
AUiTmnX09QmPH1aWs91otpzT0dTf1vl17XzoThh6Jrw8fLVS8glA3239Y4nZOIJV
eq6k2q+uE23Jge9lI5t2G1IH1uwetEuUY7t5jEKckBLwbgWHQvVIbd3+sV90MC61
a2Q8qnbEliziCsA9Dvt3M65rmwETyE+l2hLyJvXNHrPjE1ID7rLTy8g9Js9L1lgh
trJjbaeocPRW1ha/AqybeJ7x4yESD8tbFaeA90kwp3qgms/ynydZmk0HUb4GEF8x
+uAiWWLlAgMBAAECggEAJiS4X0x6x43fVnrzGLw8l8cArlnHyEM+NClCgrnDto1q
fzri5YuIAe6CcrqCHqhJRdBQoZqS6lPwEChAQz4QboR0hGERADZXyGdeCUfuBMPQ
yULr/P1x6FoFB4sklIy/w3UICvJH5qPlFXnzisiMHrci59Pe79ixqzuJJQxFKCIg
cEHidaBZUSUV7Q5fAeAXllJDhxUK0H8egvJLpMGagqKUDAKGK4/x7okvCXTz3+VB
0vmg7fn+g0lkJzDgSCyVKxVRsjkXzOTtGYclbJxL8XPoPRsnf605RoZ0eYak5lCI
7U22NrUO7w6WPHwZBYK/3UtxdnA3tgQmk9NayRbfFQKBgQDNJyLkJkui9C7CHPRe
nD+DC3+ZMbzMpXZgmq7gdNzxHCztP5Rf/MGYVts6bhodDzaSgH0IfmgDpALElKfG
SbqW9OPdT8a0duwX5ZCBB8FW1fzya4fTKg3oof08p3FLP5M+dFY1zFOP3fPRg8Qx
LmAJZhctUgk0O1RW2h5nowYEqwKBgQC9wUtTcoqAZUVgjWSwraPKl1kpiv76R6Ym
9hzCtYQ/j7IiRVgdiUoz4wSxre1RgxR95skCDIvwCc83ehHq3D9kzZDenclYTCTh
32zkynI8hOdAHc1L/mdBxmBhfzQFPeaA4bk0/yKdtfhE+pq0O12qMs9/C9Nx0mX/
5zWNf4CWrwKBgQCztm7oMWvcqc80GC0xm+o/H5l9V4auNtwGMDq1QWoyhJ4Ojr2p
gD8O9jdBbiXOAv+pQolFIYZ4efo6voZiO0AK8SeTPUkx2WNkY6M8hNCnAvl8Wxo2
rwZUHWM6+OtUIbMY6MyEgCNLSgFGLgl1k8xpL1dqSgzqBncRRi2QV8zz1QKBgA4z
rliThQwxCC0+x991T4H1K+YxEf5XaHcYCnUEMt6y+YkZGYw0X0pc3lgSBWYJYno9
0KOHnt2bTlf/meGzFEeOHx6aPpyOLmB9YWAKStx+sfQZhuj+JGpG16XUaGdQB7Vz
r3Ho+oVFPkyjWPrOSqdXYDJJB01IivvJKTfq6AvfAoGARCUD3M+4odCsuN+DY6+V
/KgIYbBL5iYxJ9ysycpeehj1lqIjDSxLJ6imhUMFrynHdM2/n3aI1KYd87mxTIr+
6/4457E87wM//JGrmXWhjo94FBhXkdBQEO8f7LByI1lpXPn+iLe8uYVp/kAZnqYG
s76GlGVAF5kGlgMsF9sb0vs=
-----END PRIVATE KEY-----
)";

constexpr std::string_view kEd25519Pem = R"(-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIC2FjuoEcZ0ZqvBuqQxt0uUWgxwSw32UJetkQo3QM29f
-----END PRIVATE KEY-----
)";

// The zone of every benchmark (ZoneResolver text, dns/zone_resolver.h). The DKIM keys are
// added by load_bench_zone() from the fixed keys above.
constexpr std::string_view kZone = R"(
example.org TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.org TXT "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.org"
mail.example.org TXT "v=spf1 a -all"
mail.example.org A 192.0.2.10
# include chain of depth 3: chain.example -> c1 -> c2 -> c3, which lists the client
chain.example TXT "v=spf1 include:c1.chain.example -all"
c1.chain.example TXT "v=spf1 include:c2.chain.example -all"
c2.chain.example TXT "v=spf1 include:c3.chain.example -all"
c3.chain.example TXT "v=spf1 ip4:192.0.2.10 -all"
)";

std::string generated_zone() {
  std::string zone(kZone);
  // RFC 7208 §4.6.4: ten DNS-querying mechanisms, the tenth matches (10 A lookups + 1 TXT).
  std::string ten_a = "tena.example TXT \"v=spf1";
  for (int i = 1; i <= 10; ++i) {
    const std::string host = "h" + std::to_string(i) + ".tena.example";
    ten_a += " a:" + host;
    zone += host + " A " + (i == 10 ? std::string(kClientIp) : "198.51.100." + std::to_string(i)) +
            "\n";
  }
  zone += ten_a + " -all\"\n";
  // The worst case the limits allow: ten mx mechanisms of ten exchanges each (RFC 7208
  // §4.6.4: at most 10 MX names per mechanism), none listing the client, then ip4 (no lookup)
  // matches: 1 TXT + 10 MX + 100 A lookups.
  std::string ten_mx = "tenmx.example TXT \"v=spf1";
  for (int m = 1; m <= 10; ++m) {
    const std::string name = "m" + std::to_string(m) + ".tenmx.example";
    ten_mx += " mx:" + name;
    for (int x = 1; x <= 10; ++x) {
      const std::string exchange = "x" + std::to_string(x) + "." + name;
      zone += name + " MX " + std::to_string(x) + " " + exchange + "\n";
      zone += exchange + " A 198.51.100." + std::to_string(m * 10 + x) + "\n";
    }
  }
  zone += ten_mx + " ip4:" + std::string(kClientIp) + " -all\"\n";
  return zone;
}

}  // namespace

Key rsa2048_key() { return dkim::testing::private_key_from_pem(kRsa2048Pem); }
Key ed25519_key() { return dkim::testing::private_key_from_pem(kEd25519Pem); }

Message typical_message(std::size_t body_bytes) {
  Message message;
  message.fields = {
      "Received: from mail.example.org (mail.example.org [192.0.2.10])\r\n"
      "\tby mx.example.net (Postfix) with ESMTPS id 4ABCD1234\r\n"
      "\tfor <bob@example.net>; Mon, 1 Jan 2024 10:00:01 +0000 (UTC)",
      "From: Alice Example <alice@example.org>",
      "To: Bob Example <bob@example.net>, \"Carol, C.\" <carol@example.net>",
      "Subject: Quarterly figures and the\r\n\tminutes of Monday's meeting",
      "Date: Mon, 1 Jan 2024 10:00:00 +0000",
      "Message-ID: <20240101100000.4711@mail.example.org>",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: 8bit",
  };
  static constexpr std::string_view kLines[] = {
      "Hello Bob,",
      "",
      "here are the figures we talked about on Monday.  The totals  are in the",
      "last column;   the first one is the running sum of the quarter.\t",
      "Region     Q1      Q2      Q3      Q4",
      "North      1200    1340    1410    1502",
      "South      980     1002    1120    1190",
      "Please check the numbers before Friday, and tell me what you think about",
      "the proposal in section three of the minutes.",
  };
  std::size_t i = 0;
  while (message.body.size() < body_bytes) {
    message.body += kLines[i % std::size(kLines)];
    message.body += "\r\n";
    ++i;
  }
  message.body += "\r\n-- \r\nAlice\r\n";
  return message;
}

std::string dkim_sign(const Message& message, std::string_view algorithm, std::string_view domain,
                      std::string_view selector, EVP_PKEY* key) {
  dkim::testing::SignSpec spec;
  spec.algorithm = std::string(algorithm);
  spec.canonicalization = "relaxed/relaxed";
  spec.domain = std::string(domain);
  spec.selector = std::string(selector);
  return dkim::testing::sign(message, spec, key);
}

void load_bench_zone(dns::ZoneResolver& zone) {
  zone.load(generated_zone());
  const std::string domainkey = "._domainkey." + std::string(kDomain);
  zone.add_txt(std::string(kRsaSelector) + domainkey,
               dkim::testing::txt_strings(key_record(rsa2048_key().get())));
  zone.add_txt(std::string(kEdSelector) + domainkey,
               dkim::testing::txt_strings(key_record(ed25519_key().get())));
}

std::string public_suffix_list_path() {
  return std::string(AUTHMILTER_TEST_DATA_DIR) + "/dmarc-mail-dmarc/public_suffix_list.v1.20250805";
}

}  // namespace authmilter::bench
