// The config parser: syntax, every value type at and past its bounds, every error path with
// its file:line, the input limits, and hostile input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "authmilter/config/config.h"

namespace authmilter::config {
namespace {

using std::chrono::milliseconds;
using testing::HasSubstr;
using testing::StartsWith;

// The message of the ConfigError that parsing `text` throws, or "(no error)".
std::string error_of(std::string_view text, std::string_view name = "t.conf") {
  try {
    parse(text, name);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

Config one(const std::string& line) { return parse(line + "\n", "t.conf"); }

// `size` bytes of comment lines, each well under the line limit.
std::string comment_text(std::size_t size) {
  std::string text;
  const std::string line = "#" + std::string(1022, 'x') + "\n";
  while (text.size() + line.size() <= size) text += line;
  text += std::string(size - text.size(), '#');
  return text;
}

// Asserts that `line` alone is rejected on line 1 with a message naming `key`.
void expect_bad(const std::string& line, std::string_view key) {
  const std::string error = error_of(line);
  EXPECT_THAT(error, StartsWith("t.conf:1: ")) << line;
  EXPECT_THAT(error, HasSubstr(std::string(key))) << line;
}

TEST(ConfigDefaultsTest, MatchTheStructAndDesign) {
  const Config c = Config::defaults();
  EXPECT_EQ(c.socket, "unix:/run/authmilter/authmilter.sock");
  EXPECT_EQ(c.authserv_id, host_name());
  EXPECT_FALSE(c.authserv_id.empty());
  EXPECT_TRUE(c.user_id.empty());
  EXPECT_EQ(c.umask, 0007u);
  EXPECT_TRUE(c.pid_file.empty());
  EXPECT_TRUE(c.syslog);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_TRUE(c.dns_servers.empty());
  EXPECT_EQ(c.dns_timeout, milliseconds(5000));
  EXPECT_EQ(c.message_timeout, milliseconds(20000));
  EXPECT_EQ(c.cache_size, 10000u);
  EXPECT_EQ(c.cache_max_ttl, 86400u);
  EXPECT_EQ(c.internal_hosts.to_string(), "127.0.0.1/32, ::1/128");
  EXPECT_TRUE(c.internal_hosts.contains("127.0.0.1"));
  EXPECT_TRUE(c.internal_hosts.contains("::1"));
  EXPECT_TRUE(c.internal_hosts.contains("::ffff:127.0.0.1"));
  EXPECT_FALSE(c.internal_hosts.contains("127.0.0.2"));
  EXPECT_EQ(c.spf_helo, HeloCheck::kNullSender);
  EXPECT_TRUE(c.iprev);
  EXPECT_EQ(c.iprev_fail, Action::kAccept);
  EXPECT_EQ(c.spf_fail, Action::kAccept);
  EXPECT_EQ(c.spf_softfail, Action::kAccept);
  EXPECT_EQ(c.temp_error, Action::kAccept);
  EXPECT_EQ(c.on_internal_error, Action::kAccept);
  EXPECT_EQ(c.mark_header, "X-Spam-Flag: YES");
  EXPECT_FALSE(c.add_received_spf);
  EXPECT_EQ(c.max_header_bytes, 1024u * 1024u);
}

TEST(ConfigDefaultsTest, EmptyFileGivesDefaults) {
  EXPECT_EQ(parse("", "t.conf"), Config::defaults());
  EXPECT_EQ(parse("\n\n   \n\t\n# only comments\n   # indented comment\n", "t.conf"),
            Config::defaults());
}

TEST(ConfigDefaultsTest, ToString) {
  EXPECT_EQ(to_string(Action::kAccept), "accept");
  EXPECT_EQ(to_string(Action::kMark), "mark");
  EXPECT_EQ(to_string(Action::kQuarantine), "quarantine");
  EXPECT_EQ(to_string(Action::kTempfail), "tempfail");
  EXPECT_EQ(to_string(Action::kReject), "reject");
  EXPECT_EQ(to_string(HeloCheck::kNullSender), "null-sender");
  EXPECT_EQ(to_string(HeloCheck::kAlways), "always");
}

TEST(ConfigSyntaxTest, WhitespaceAndComments) {
  const Config c = parse(
      "  Socket   inet:1@127.0.0.1   # where we listen\n"
      "\tLogLevel\tdebug\t\n"
      "#Syslog no\n"
      "MarkHeader X-Tag: a#b\n"
      "AuthservID mx.example.net#1 # '#' after a word is not a comment\n",
      "t.conf");
  EXPECT_EQ(c.socket, "inet:1@127.0.0.1");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_TRUE(c.syslog);
  EXPECT_EQ(c.mark_header, "X-Tag: a#b");
  EXPECT_EQ(c.authserv_id, "mx.example.net#1");
  EXPECT_THAT(error_of("AuthservID mx.example.net#x y\n"), StartsWith("t.conf:1: bad value"));
  // Found by fuzz_config: an id the A-R writer cannot carry unquoted is refused here, not
  // at the first message.
  EXPECT_THAT(error_of("AuthservID X-A:\n"), StartsWith("t.conf:1: bad value"));
  EXPECT_THAT(error_of("AuthservID mx@example.net\n"), StartsWith("t.conf:1: bad value"));
  EXPECT_EQ(one("MarkHeader X-Tag: a #b").mark_header, "X-Tag: a");
  EXPECT_EQ(one("MarkHeader X-Tag: a\t#b").mark_header, "X-Tag: a");
}

TEST(ConfigSyntaxTest, CrlfBomAndMissingFinalNewline) {
  const Config c = parse("\xef\xbb\xbfLogLevel error\r\nSyslog no\r\nCacheSize 5", "t.conf");
  EXPECT_EQ(c.log_level, "error");
  EXPECT_FALSE(c.syslog);
  EXPECT_EQ(c.cache_size, 5u);
  // A BOM anywhere else is just bytes.
  EXPECT_THAT(error_of("Syslog no\n\xef\xbb\xbfLogLevel error\n"),
              StartsWith("t.conf:2: unknown key"));
}

TEST(ConfigSyntaxTest, KeysAreCaseInsensitive) {
  EXPECT_EQ(one("socket inet:2@127.0.0.1").socket, "inet:2@127.0.0.1");
  EXPECT_EQ(one("SOCKET inet:3@127.0.0.1").socket, "inet:3@127.0.0.1");
  EXPECT_EQ(one("sPfFaIl reject").spf_fail, Action::kReject);
  EXPECT_EQ(one("dnstimeout 2s").dns_timeout, milliseconds(2000));
  // Word values are too.
  EXPECT_EQ(one("SPFFail REJECT").spf_fail, Action::kReject);
  EXPECT_EQ(one("LogLevel DEBUG").log_level, "debug");
}

TEST(ConfigErrorTest, UnknownKeyWithLineNumber) {
  EXPECT_EQ(error_of("# comment\n\nFoo bar\n", "/etc/a.conf"), "/etc/a.conf:3: unknown key 'Foo'");
  // Near misses are still unknown: no guessing.
  EXPECT_EQ(error_of("Syslog yes\nSPFFails reject\n"), "t.conf:2: unknown key 'SPFFails'");
  EXPECT_EQ(error_of("Socket=unix:/x\n"), "t.conf:1: unknown key 'Socket=unix:/x'");
}

TEST(ConfigErrorTest, MissingValue) {
  EXPECT_EQ(error_of("Syslog yes\nSocket\n"), "t.conf:2: missing value for Socket");
  EXPECT_EQ(error_of("\n\n\nsocket   # no value\n"), "t.conf:4: missing value for Socket");
  EXPECT_EQ(error_of("AuthservID \t \n"), "t.conf:1: missing value for AuthservID");
}

TEST(ConfigErrorTest, DuplicateKey) {
  EXPECT_EQ(error_of("Syslog yes\n# x\nLogLevel info\nsyslog no\n"),
            "t.conf:4: duplicate key Syslog (first set on line 1)");
  // Even with the same value.
  EXPECT_EQ(error_of("CacheSize 5\nCACHESIZE 5\n"),
            "t.conf:2: duplicate key CacheSize (first set on line 1)");
}

TEST(ConfigErrorTest, BadValueNamesTheExpectedForm) {
  EXPECT_EQ(
      error_of("\nSyslog maybe\n"),
      "t.conf:2: bad value 'maybe' for Syslog: expected yes, no, true, false, on, off, 1 or 0");
  EXPECT_THAT(error_of("DNSTimeout 90s\n"),
              StartsWith("t.conf:1: bad value '90s' for DNSTimeout: expected a duration from "
                         "100ms to 60s"));
  EXPECT_THAT(error_of("SPFFail drop\n"),
              StartsWith("t.conf:1: bad value 'drop' for SPFFail: expected accept, mark"));
}

TEST(ConfigErrorTest, ValuesInMessagesAreEscapedAndCut) {
  const std::string error = error_of("LogLevel \xff\xfe" + std::string(100, 'x') + "\n");
  EXPECT_THAT(error, StartsWith("t.conf:1: bad value '\\xff\\xfexxx"));
  EXPECT_THAT(error, HasSubstr("'... for LogLevel"));
  EXPECT_EQ(error_of("K\xc3\xa9y v\n"), "t.conf:1: unknown key 'K\\xc3\\xa9y'");
}

TEST(ConfigBoolTest, AllForms) {
  for (const char* yes : {"yes", "YES", "Yes", "true", "TRUE", "on", "On", "1"}) {
    EXPECT_TRUE(one(std::string("AddReceivedSPF ") + yes).add_received_spf) << yes;
  }
  for (const char* no : {"no", "NO", "false", "False", "off", "OFF", "0"}) {
    EXPECT_FALSE(one(std::string("Syslog ") + no).syslog) << no;
  }
  for (const char* bad : {"y", "n", "onn", "of", "2", "-1", "yes please", "01"}) {
    expect_bad(std::string("Syslog ") + bad, "Syslog");
  }
}

TEST(ConfigIprevTest, OnOffAndEveryAction) {
  EXPECT_FALSE(one("IPRev off").iprev);
  EXPECT_TRUE(one("iprev on").iprev);
  EXPECT_EQ(one("IPRevFail reject").iprev_fail, Action::kReject);
  EXPECT_EQ(one("IPRevFail tempfail").iprev_fail, Action::kTempfail);
  EXPECT_EQ(one("IPRevFail mark").iprev_fail, Action::kMark);
  expect_bad("IPRevFail bounce", "IPRevFail");
  expect_bad("IPRev maybe", "IPRev");
}

TEST(ConfigDurationTest, DnsTimeoutBounds) {
  EXPECT_EQ(one("DNSTimeout 100ms").dns_timeout, milliseconds(100));
  expect_bad("DNSTimeout 99ms", "DNSTimeout");
  EXPECT_EQ(one("DNSTimeout 19s").dns_timeout, milliseconds(19000));
  EXPECT_EQ(parse("DNSTimeout 60s\nMessageTimeout 61s\n", "t").dns_timeout, milliseconds(60000));
  EXPECT_EQ(parse("DNSTimeout 1m\nMessageTimeout 2m\n", "t").dns_timeout, milliseconds(60000));
  EXPECT_EQ(parse("DNSTimeout 60000ms\nMessageTimeout 61\n", "t").dns_timeout, milliseconds(60000));
  expect_bad("DNSTimeout 60001ms", "DNSTimeout");
  expect_bad("DNSTimeout 61", "DNSTimeout");
  expect_bad("DNSTimeout 0", "DNSTimeout");
}

TEST(ConfigDurationTest, MessageTimeoutBounds) {
  EXPECT_EQ(parse("DNSTimeout 500ms\nMessageTimeout 1s\n", "t").message_timeout,
            milliseconds(1000));
  EXPECT_THAT(error_of("DNSTimeout 500ms\nMessageTimeout 999ms\n"),
              StartsWith("t.conf:2: bad value '999ms' for MessageTimeout"));
  EXPECT_EQ(one("MessageTimeout 300s").message_timeout, milliseconds(300000));
  EXPECT_EQ(one("MessageTimeout 5m").message_timeout, milliseconds(300000));
  expect_bad("MessageTimeout 300001ms", "MessageTimeout");
  expect_bad("MessageTimeout 6m", "MessageTimeout");
}

TEST(ConfigDurationTest, Syntax) {
  EXPECT_EQ(one("DNSTimeout 5").dns_timeout, milliseconds(5000));
  EXPECT_EQ(one("DNSTimeout 5S").dns_timeout, milliseconds(5000));
  EXPECT_EQ(one("DNSTimeout 250MS").dns_timeout, milliseconds(250));
  EXPECT_EQ(one("DNSTimeout 007").dns_timeout, milliseconds(7000));
  for (const char* bad :
       {"5 s", "5sec", "5h", "1.5s", "-5", "+5", "s", "ms", "5s5", "99999999999999999999999",
        "18446744073709551615m", "18446744073709551615", "0x10"}) {
    expect_bad(std::string("DNSTimeout ") + bad, "DNSTimeout");
  }
}

TEST(ConfigDurationTest, MessageTimeoutMustExceedDnsTimeout) {
  // Only DNSTimeout given: it is the line at fault.
  EXPECT_EQ(error_of("Syslog yes\nDNSTimeout 30s\n"),
            "t.conf:2: MessageTimeout (20s) must be longer than DNSTimeout (30s)");
  EXPECT_EQ(error_of("MessageTimeout 5s\n"),
            "t.conf:1: MessageTimeout (5s) must be longer than DNSTimeout (5s)");
  // Both given: the later line is reported.
  EXPECT_EQ(error_of("MessageTimeout 10s\n\nDNSTimeout 10s\n"),
            "t.conf:3: MessageTimeout (10s) must be longer than DNSTimeout (10s)");
  EXPECT_EQ(error_of("DNSTimeout 1500ms\nMessageTimeout 1s\n"),
            "t.conf:2: MessageTimeout (1s) must be longer than DNSTimeout (1500ms)");
  EXPECT_EQ(parse("DNSTimeout 4999ms\nMessageTimeout 5s\n", "t").message_timeout,
            milliseconds(5000));
}

TEST(ConfigSizeTest, CacheSizeBounds) {
  EXPECT_EQ(one("CacheSize 0").cache_size, 0u);
  EXPECT_EQ(one("CacheSize 10000000").cache_size, 10000000u);
  expect_bad("CacheSize 10000001", "CacheSize");
  EXPECT_EQ(one("CacheSize 10k").cache_size, 10240u);
  EXPECT_EQ(one("CacheSize 9M").cache_size, 9u * 1024 * 1024);
  expect_bad("CacheSize 10M", "CacheSize");  // 10485760 > 10000000
  for (const char* bad : {"-1", "1G", "1.5k", "k", "10 k", "10kb", "184467440737095516160"}) {
    expect_bad(std::string("CacheSize ") + bad, "CacheSize");
  }
}

TEST(ConfigSizeTest, MaxHeaderBytesBounds) {
  EXPECT_EQ(one("MaxHeaderBytes 1024").max_header_bytes, 1024u);
  EXPECT_EQ(one("MaxHeaderBytes 1k").max_header_bytes, 1024u);
  expect_bad("MaxHeaderBytes 1023", "MaxHeaderBytes");
  expect_bad("MaxHeaderBytes 0", "MaxHeaderBytes");
  EXPECT_EQ(one("MaxHeaderBytes 64M").max_header_bytes, 64u * 1024 * 1024);
  EXPECT_EQ(one("MaxHeaderBytes 67108864").max_header_bytes, 64u * 1024 * 1024);
  expect_bad("MaxHeaderBytes 67108865", "MaxHeaderBytes");
  expect_bad("MaxHeaderBytes 65M", "MaxHeaderBytes");
  expect_bad("MaxHeaderBytes 17592186044416M", "MaxHeaderBytes");  // would wrap if multiplied
}

TEST(ConfigSecondsTest, CacheMaxTtlBounds) {
  EXPECT_EQ(one("CacheMaxTTL 1").cache_max_ttl, 1u);
  expect_bad("CacheMaxTTL 0", "CacheMaxTTL");
  EXPECT_EQ(one("CacheMaxTTL 604800").cache_max_ttl, 604800u);
  EXPECT_EQ(one("CacheMaxTTL 7d").cache_max_ttl, 604800u);
  expect_bad("CacheMaxTTL 604801", "CacheMaxTTL");
  expect_bad("CacheMaxTTL 8d", "CacheMaxTTL");
  EXPECT_EQ(one("CacheMaxTTL 1h").cache_max_ttl, 3600u);
  EXPECT_EQ(one("CacheMaxTTL 30m").cache_max_ttl, 1800u);
  EXPECT_EQ(one("CacheMaxTTL 300s").cache_max_ttl, 300u);
  expect_bad("CacheMaxTTL 1w", "CacheMaxTTL");
}

TEST(ConfigOctalTest, UmaskBounds) {
  EXPECT_EQ(one("UMask 007").umask, 07u);
  EXPECT_EQ(one("UMask 0077").umask, 077u);
  EXPECT_EQ(one("UMask 0").umask, 0u);
  EXPECT_EQ(one("UMask 777").umask, 0777u);
  EXPECT_EQ(one("UMask 0777").umask, 0777u);
  expect_bad("UMask 1000", "UMask");  // 0o1000 is past 0777
  for (const char* bad : {"8", "0778", "0o7", "-7", "7a", "0000777", "0x1ff"}) {
    expect_bad(std::string("UMask ") + bad, "UMask");
  }
}

TEST(ConfigActionTest, AllActions) {
  EXPECT_EQ(one("SPFFail accept").spf_fail, Action::kAccept);
  EXPECT_EQ(one("SPFFail mark").spf_fail, Action::kMark);
  EXPECT_EQ(one("SPFFail quarantine").spf_fail, Action::kQuarantine);
  EXPECT_EQ(one("SPFFail tempfail").spf_fail, Action::kTempfail);
  EXPECT_EQ(one("SPFFail reject").spf_fail, Action::kReject);
  EXPECT_EQ(one("SPFSoftFail mark").spf_softfail, Action::kMark);
  EXPECT_EQ(one("TempError tempfail").temp_error, Action::kTempfail);
  EXPECT_EQ(one("TempError quarantine").temp_error, Action::kQuarantine);
  EXPECT_EQ(one("OnInternalError tempfail").on_internal_error, Action::kTempfail);
  for (const char* bad : {"discard", "rejected", "tempfail!", "accept mark"}) {
    expect_bad(std::string("SPFSoftFail ") + bad, "SPFSoftFail");
  }
}

TEST(ConfigActionTest, DnsTroubleAndInternalErrorsNeverReject) {
  EXPECT_THAT(error_of("TempError reject\n"),
              StartsWith("t.conf:1: bad value 'reject' for TempError: expected accept, mark, "
                         "quarantine or tempfail (reject is not allowed"));
  EXPECT_THAT(error_of("\nOnInternalError REJECT\n"),
              StartsWith("t.conf:2: bad value 'REJECT' for OnInternalError"));
  EXPECT_THAT(error_of("OnInternalError reject\n"), HasSubstr("reject is not allowed"));
}

TEST(ConfigEnumTest, LogLevelAndSpfHelo) {
  for (const char* level : {"trace", "debug", "info", "warning", "error"}) {
    EXPECT_EQ(one(std::string("LogLevel ") + level).log_level, level);
  }
  EXPECT_EQ(one("LogLevel Warning").log_level, "warning");
  expect_bad("LogLevel warn", "LogLevel");
  expect_bad("LogLevel critical", "LogLevel");
  EXPECT_EQ(one("SPFHelo always").spf_helo, HeloCheck::kAlways);
  EXPECT_EQ(one("SPFHelo NULL-SENDER").spf_helo, HeloCheck::kNullSender);
  expect_bad("SPFHelo never", "SPFHelo");
  expect_bad("SPFHelo null sender", "SPFHelo");
}

TEST(ConfigSocketTest, Accepted) {
  EXPECT_EQ(one("Socket unix:/run/a.sock").socket, "unix:/run/a.sock");
  EXPECT_EQ(one("Socket local:/run/a.sock").socket, "unix:/run/a.sock");
  EXPECT_EQ(one("Socket UNIX:/run/a.sock").socket, "unix:/run/a.sock");
  EXPECT_EQ(one("Socket inet:8895@127.0.0.1").socket, "inet:8895@127.0.0.1");
  EXPECT_EQ(one("Socket INET:25@localhost").socket, "inet:25@localhost");
  EXPECT_EQ(one("Socket inet:1@[127.0.0.1]").socket, "inet:1@127.0.0.1");
  EXPECT_EQ(one("Socket inet:65535@0.0.0.0").socket, "inet:65535@0.0.0.0");
  EXPECT_EQ(one("Socket inet6:8895@::1").socket, "inet6:8895@::1");
  EXPECT_EQ(one("Socket inet6:8895@[2001:DB8::1]").socket, "inet6:8895@2001:db8::1");
  EXPECT_EQ(one("Socket inet6:8895@mx.example.net").socket, "inet6:8895@mx.example.net");

  const auto spec = parse_socket("inet6:99@[::1]");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->kind, SocketSpec::Kind::kInet6);
  EXPECT_EQ(spec->port, 99);
  EXPECT_EQ(spec->host, "::1");
  const auto unix_spec = parse_socket("local:/var/spool/postfix/authmilter/a.sock");
  ASSERT_TRUE(unix_spec);
  EXPECT_EQ(unix_spec->kind, SocketSpec::Kind::kUnix);
  EXPECT_EQ(unix_spec->path, "/var/spool/postfix/authmilter/a.sock");
}

TEST(ConfigSocketTest, UnixPathLimit) {
  const std::string at = "/" + std::string(kMaxUnixSocketPath - 1, 's');
  EXPECT_EQ(one("Socket unix:" + at).socket, "unix:" + at);
  std::string why;
  EXPECT_FALSE(parse_socket("unix:" + at + "s", &why));
  EXPECT_THAT(why, HasSubstr("longer than 107 bytes"));
  expect_bad("Socket unix:" + at + "s", "Socket");
}

TEST(ConfigSocketTest, Rejected) {
  for (const char* bad : {"/run/a.sock",
                          "unix:",
                          "unix:run/a.sock",
                          "unix:/run/",
                          "local:relative",
                          "tcp:25@h",
                          "inet:8895",
                          "inet:@127.0.0.1",
                          "inet:0@127.0.0.1",
                          "inet:65536@127.0.0.1",
                          "inet:99999999999999999999@127.0.0.1",
                          "inet:-1@127.0.0.1",
                          "inet:x@127.0.0.1",
                          "inet:25@",
                          "inet:25@::1",
                          "inet6:25@127.0.0.1",
                          "inet:25@300.1.2.3",
                          "inet:25@bad_host",
                          "inet:25@-bad.example",
                          "inet:25@[localhost]",
                          "inet:25@a..b",
                          "inet:25@127.0.0.1 x",
                          "inet6:25@[::1",
                          "fd:3"}) {
    EXPECT_FALSE(parse_socket(bad)) << bad;
    expect_bad(std::string("Socket ") + bad, "Socket");
  }
  std::string why;
  EXPECT_FALSE(parse_socket("inet:8895", &why));
  EXPECT_THAT(why, HasSubstr("inet:PORT@HOST"));
  EXPECT_FALSE(parse_socket("inet:25@::1", &why));
  EXPECT_THAT(why, HasSubstr("inet6:"));
}

TEST(ConfigDnsServersTest, NormalisedForms) {
  EXPECT_EQ(one("DNSServers 192.0.2.53").dns_servers, (std::vector<std::string>{"192.0.2.53:53"}));
  EXPECT_EQ(
      one("DNSServers 127.0.0.1:5353, [::1]:5354 2001:DB8::53,[192.0.2.1]:54\t[::2]").dns_servers,
      (std::vector<std::string>{"127.0.0.1:5353", "[::1]:5354", "[2001:db8::53]:53", "192.0.2.1:54",
                                "[::2]:53"}));
  // A bare IPv6 address cannot carry a port: the last group is part of the address.
  EXPECT_EQ(one("DNSServers 2001:db8::53:5353").dns_servers,
            (std::vector<std::string>{"[2001:db8::53:5353]:53"}));
  EXPECT_EQ(one("DNSServers 127.0.0.1:1").dns_servers[0], "127.0.0.1:1");
  EXPECT_EQ(one("DNSServers 127.0.0.1:65535").dns_servers[0], "127.0.0.1:65535");
}

TEST(ConfigDnsServersTest, Rejected) {
  for (const char* bad :
       {"ns1.example.net", "localhost:53", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:", "127.0.0.1:53:53", "[::1", "[::1]5353", "[::1]:", "[]:53", "[ns1]:53",
        "IPv6:::1", "[IPv6:::1]:53", "::1%lo", "127.0.0.1;127.0.0.2", ","}) {
    expect_bad(std::string("DNSServers ") + bad, "DNSServers");
  }
  EXPECT_THAT(error_of("DNSServers 127.0.0.1, ns1.example.net\n"), HasSubstr("'ns1.example.net'"));
}

TEST(ConfigDnsServersTest, ServerLimit) {
  std::string list;
  for (std::size_t i = 1; i <= kMaxDnsServers; ++i) list += "127.0.0." + std::to_string(i) + " ";
  EXPECT_EQ(one("DNSServers " + list).dns_servers.size(), kMaxDnsServers);
  EXPECT_THAT(error_of("DNSServers " + list + "127.0.0.99\n"), HasSubstr("at most 16 servers"));
}

TEST(ConfigInternalHostsTest, ListsAndNone) {
  const Config c = one("InternalHosts 192.0.2.0/24, 2001:db8::/32 10.1.2.3");
  EXPECT_EQ(c.internal_hosts.entries().size(), 3u);
  EXPECT_TRUE(c.internal_hosts.contains("192.0.2.200"));
  EXPECT_TRUE(c.internal_hosts.contains("::ffff:10.1.2.3"));
  EXPECT_FALSE(c.internal_hosts.contains("127.0.0.1"));  // replaced, not added to
  EXPECT_TRUE(one("InternalHosts none").internal_hosts.empty());
  EXPECT_TRUE(one("InternalHosts NONE").internal_hosts.empty());
  EXPECT_THAT(error_of("InternalHosts 127.0.0.1, 10.0.0.0/33\n"),
              StartsWith("t.conf:1: bad value '127.0.0.1, 10.0.0.0/33' for InternalHosts: "
                         "expected addresses or networks"));
  EXPECT_THAT(error_of("InternalHosts 127.0.0.1, 10.0.0.0/33\n"), HasSubstr("not '10.0.0.0/33'"));
  expect_bad("InternalHosts ,", "InternalHosts");
  expect_bad("InternalHosts localhost", "InternalHosts");
  expect_bad("InternalHosts none 127.0.0.1", "InternalHosts");
}

TEST(ConfigMarkHeaderTest, AcceptedAndNormalised) {
  EXPECT_EQ(one("MarkHeader X-Spam-Flag: YES").mark_header, "X-Spam-Flag: YES");
  EXPECT_EQ(one("MarkHeader X-Spam:YES").mark_header, "X-Spam: YES");
  EXPECT_EQ(one("MarkHeader X-Spam:   yes  please  ").mark_header, "X-Spam: yes  please");
  EXPECT_EQ(one("MarkHeader X!#$%&'*+-.^_`{|}~:v").mark_header, "X!#$%&'*+-.^_`{|}~: v");
  const Config c = one("MarkHeader X-Flag:  on");
  const auto [name, value] = split_header(c.mark_header);
  EXPECT_EQ(name, "X-Flag");
  EXPECT_EQ(value, "on");
}

TEST(ConfigMarkHeaderTest, Rejected) {
  for (const char* bad :
       {"NoColon", ": value", "X Spam: v", "X-Spam:", "X-Spam :v", "X-Spam: caf\xc3\xa9",
        "X-Sp\xc3\xa4m: v", "Authentication-Results: x", "received-spf: pass"}) {
    expect_bad(std::string("MarkHeader ") + bad, "MarkHeader");
  }
  EXPECT_THAT(error_of("MarkHeader X-Spam:\n"), HasSubstr("the value is empty"));
}

TEST(ConfigMarkHeaderTest, LengthLimit) {
  const std::string prefix = "X-Long: ";
  const std::string at = prefix + std::string(kMaxMarkHeaderLength - prefix.size(), 'v');
  EXPECT_EQ(one("MarkHeader " + at).mark_header, at);
  EXPECT_THAT(error_of("MarkHeader " + at + "v\n"), HasSubstr("longer than 998"));
}

TEST(ConfigAuthservIdTest, Values) {
  EXPECT_EQ(one("AuthservID mx.example.net").authserv_id, "mx.example.net");
  EXPECT_EQ(one("AuthservID HOSTNAME").authserv_id, host_name());
  // Only the exact word is special, as in OpenDKIM.
  EXPECT_EQ(one("AuthservID hostname").authserv_id, "hostname");
  // RFC 8601 allows U-labels: a UTF-8 id is written unquoted, as the A-R writer accepts it.
  EXPECT_EQ(one("AuthservID caf\xc3\xa9.example").authserv_id, "caf\xc3\xa9.example");
  for (const char* bad : {"mx example", "a;b", "a\"b", "a\\b", "a(b)", "a:b", "a@b", "a\xc3"}) {
    expect_bad(std::string("AuthservID ") + bad, "AuthservID");
  }
  const std::string at(kMaxAuthservIdLength, 'a');
  EXPECT_EQ(one("AuthservID " + at).authserv_id, at);
  expect_bad("AuthservID " + at + "a", "AuthservID");
}

TEST(ConfigAuthservIdTest, HostNameIsUsable) {
  const std::string name = host_name();
  EXPECT_FALSE(name.empty());
  EXPECT_EQ(name.find_first_of(" ;\t\r\n"), std::string::npos);
  char buffer[256] = {};
  ASSERT_EQ(gethostname(buffer, sizeof buffer - 1), 0);
  if (std::string(buffer).find_first_of(" ;()\"\\") == std::string::npos) {
    EXPECT_EQ(name, buffer);
  }
}

TEST(ConfigUserIdTest, Values) {
  EXPECT_EQ(one("UserID authmilter").user_id, "authmilter");
  EXPECT_EQ(one("UserID authmilter:postfix").user_id, "authmilter:postfix");
  EXPECT_EQ(one("UserID 110:115").user_id, "110:115");
  const std::string at(kMaxUserNameLength, 'u');
  EXPECT_EQ(one("UserID " + at + ":" + at).user_id, at + ":" + at);
  for (const std::string& bad :
       {std::string("-x"), std::string("a:b:c"), std::string("a:"), std::string(":g"),
        std::string("us er"), std::string("j\xc3\xb6"), at + "u", "a:" + at + "g"}) {
    expect_bad("UserID " + bad, "UserID");
  }
}

TEST(ConfigPidFileTest, Values) {
  EXPECT_EQ(one("PidFile /run/authmilter/authmilter.pid").pid_file,
            "/run/authmilter/authmilter.pid");
  for (const char* bad : {"authmilter.pid", "/", "/run/", "./a.pid"}) {
    expect_bad(std::string("PidFile ") + bad, "PidFile");
  }
}

TEST(ConfigLimitsTest, LineLength) {
  // A comment line and a setting line exactly at the limit are fine...
  const std::string comment = "#" + std::string(kMaxLineLength - 1, 'c');
  const std::string pid = "PidFile /" + std::string(kMaxLineLength - 9, 'p');
  ASSERT_EQ(comment.size(), kMaxLineLength);
  ASSERT_EQ(pid.size(), kMaxLineLength);
  EXPECT_EQ(error_of(comment + "\n" + pid + "\r\n"), "(no error)");
  EXPECT_EQ(parse(comment + "\n" + pid, "t").pid_file.size(), kMaxLineLength - 8);
  // ...one byte more is not.
  EXPECT_EQ(error_of("Syslog yes\n" + comment + "c\n"), "t.conf:2: line longer than 4096 bytes");
  EXPECT_EQ(error_of("\n\n" + pid + "p"), "t.conf:3: line longer than 4096 bytes");
}

TEST(ConfigLimitsTest, FileSize) {
  const std::string text = comment_text(kMaxFileSize);
  ASSERT_EQ(text.size(), kMaxFileSize);
  EXPECT_EQ(error_of(text), "(no error)");
  EXPECT_EQ(error_of(text + "#"), "t.conf: larger than 1048576 bytes");
}

TEST(ConfigLimitsTest, NulAndControlCharacters) {
  using namespace std::string_literals;
  EXPECT_EQ(error_of("Syslog yes\nSocket unix:/a\0b\n"s), "t.conf:2: NUL byte in line");
  // Also in a comment: a NUL means the file is not what the admin thinks it is.
  EXPECT_EQ(error_of("# a\0b\n"s), "t.conf:1: NUL byte in line");
  EXPECT_EQ(error_of("\0"s), "t.conf:1: NUL byte in line");
  EXPECT_EQ(error_of("\nLogLevel in\x01"
                     "fo\n"),
            "t.conf:2: control character '\\x01'");
  EXPECT_EQ(error_of("LogLevel info\rSyslog no\n"), "t.conf:1: control character '\\x0d'");
  EXPECT_EQ(error_of("Sys\x7flog no\n"), "t.conf:1: control character '\\x7f'");
  // Control characters in comments are harmless and ignored.
  EXPECT_EQ(error_of("# bell \x07\n"), "(no error)");
}

TEST(ConfigLimitsTest, HostileInputOnlyEverThrowsConfigError) {
  std::mt19937 rng(20240601);
  const std::string alphabet = std::string("SocketDNSTimeoutLogLevel #:/@[]0123456789.,\t\n\r") +
                               std::string("\0\x01\xff", 3);
  for (int round = 0; round < 3000; ++round) {
    std::string text(rng() % 200, ' ');
    for (char& c : text) c = alphabet[rng() % alphabet.size()];
    if (round % 3 == 0) text = "DNSTimeout " + text;
    try {
      parse(text, "fuzz");
    } catch (const ConfigError& e) {
      EXPECT_THAT(std::string(e.what()), StartsWith("fuzz:"));
    }
  }
}

class ConfigLoadTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "config_load_" + std::to_string(getpid());
    ASSERT_EQ(::mkdir(dir_.c_str(), 0700) == 0 || errno == EEXIST, true);
  }
  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    files_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ConfigLoadTest, ReadsAFile) {
  const std::string path = write("a.conf", "LogLevel debug\nSPFFail reject\n");
  const Config c = load(path);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.spf_fail, Action::kReject);
}

TEST_F(ConfigLoadTest, ErrorsNameThePath) {
  const std::string path = write("b.conf", "LogLevel debug\nBogus 1\n");
  try {
    load(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: unknown key 'Bogus'");
  }
}

TEST_F(ConfigLoadTest, MissingFileAndDirectory) {
  try {
    load(dir_ + "/missing.conf");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(std::string(e.what()), StartsWith(dir_ + "/missing.conf: cannot open: "));
  }
  try {
    load(dir_);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir_ + ": not a regular file");
  }
}

TEST_F(ConfigLoadTest, FileSizeLimit) {
  const std::string text = comment_text(kMaxFileSize);
  EXPECT_EQ(load(write("at.conf", text)), Config::defaults());
  try {
    load(write("past.conf", text + "#"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("past.conf: larger than 1048576 bytes"));
  }
}

}  // namespace
}  // namespace authmilter::config
