// authmilter::report aggregate — one RFC 9990 aggregate report from stored records.
//
// What: aggregate() groups one policy domain's records of a period into rows: identical
//   source IP, policy_evaluated (disposition, DMARC dkim/spf, reasons), identifiers and
//   auth_results make one row with a count (RFC 9990 §3.1, "one record per (IP, result,
//   IDs, auths) tuple"). The published policy is the one seen last in the period (§3.4
//   allows one report with the policy in force at its end). to_xml() writes the report in
//   the namespace urn:ietf:params:xml:ns:dmarc-2.0, valid against RFC 9990's schema
//   (tests/data/dmarc-rfc9990/dmarc-2.0.xsd); gzip() compresses it (RFC 1952);
//   report_file_name() names it (§6.2 ABNF: receiver!policy-domain!begin!end!unique-id
//   .xml.gz).
// Period: [begin, end) in seconds since the epoch; <date_range> says begin and end - 1
//   (the last second covered), as RFC 9990's example does for one UTC day.
// Limits: rows are not capped (one per distinct tuple); every text came through
//   report::sanitize() and is XML-escaped here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "authmilter/report/record.h"

namespace authmilter::report {

struct ReportMeta {
  std::string org_name;
  std::string email;
  std::string report_id;
  std::int64_t begin = 0;  // inclusive
  std::int64_t end = 0;    // exclusive
};

struct ReportRow {
  Record sample;  // the row's fields (time and rua are those of its last record)
  std::uint64_t count = 0;
};

struct AggregateReport {
  Record policy;  // the published policy (policy_domain, p, sp, np, adkim, aspf, testing, ...)
  std::vector<std::string> rua;  // the rua URIs seen last
  std::vector<ReportRow> rows;   // by descending count, then by content
  std::uint64_t messages = 0;
};

// `records`: one policy domain's, oldest first (Store::records()). Empty input: empty report.
AggregateReport aggregate(std::span<const Record> records);

std::string to_xml(const AggregateReport& report, const ReportMeta& meta);

// RFC 1952 gzip of `data` (zlib); throws std::runtime_error when zlib fails.
std::string gzip(std::string_view data);

// "receiver!policy-domain!begin!end!unique-id.xml.gz"; `unique_id` letters and digits only
// (others are dropped).
std::string report_file_name(std::string_view receiver, std::string_view policy_domain,
                             std::int64_t begin, std::int64_t end, std::string_view unique_id);

// XML character data / attribute value: & < > " ' escaped.
std::string xml_escape(std::string_view text);

}  // namespace authmilter::report
