#include "authmilter/report/aggregate.h"

#include <zlib.h>

#include <algorithm>
#include <map>
#include <stdexcept>

#include "authmilter/report/store.h"

namespace authmilter::report {
namespace {

// Everything that makes two records one row (RFC 9990 §3.1), in one comparable string.
std::string row_key(const Record& r) {
  std::vector<std::vector<std::string>> items{{r.source_ip, r.disposition, r.dmarc_dkim,
                                               r.dmarc_spf, r.header_from, r.envelope_from,
                                               r.envelope_to}};
  for (const auto& reason : r.reasons) items.push_back({"reason", reason.type, reason.comment});
  for (const auto& d : r.dkim) items.push_back({"dkim", d.domain, d.selector, d.result});
  if (r.spf) items.push_back({"spf", r.spf->domain, r.spf->scope, r.spf->result});
  return encode_items(items);
}

void element(std::string& out, int depth, std::string_view name, std::string_view value) {
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
  out += "<";
  out += name;
  out += ">";
  out += xml_escape(value);
  out += "</";
  out += name;
  out += ">\n";
}

void open(std::string& out, int depth, std::string_view name) {
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
  out += "<";
  out += name;
  out += ">\n";
}

void close(std::string& out, int depth, std::string_view name) {
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
  out += "</";
  out += name;
  out += ">\n";
}

bool one_of(std::string_view value, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

AggregateReport aggregate(std::span<const Record> records) {
  AggregateReport report;
  std::map<std::string, ReportRow> rows;
  for (const Record& record : records) {
    ReportRow& row = rows[row_key(record)];
    row.sample = record;
    ++row.count;
    ++report.messages;
    report.policy = record;
    report.rua = record.rua;
  }
  for (auto& [key, row] : rows) report.rows.push_back(std::move(row));
  std::stable_sort(report.rows.begin(), report.rows.end(),
                   [](const ReportRow& a, const ReportRow& b) { return a.count > b.count; });
  return report;
}

std::string to_xml(const AggregateReport& report, const ReportMeta& meta) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n";
  element(out, 1, "version", "1.0");
  open(out, 1, "report_metadata");
  element(out, 2, "org_name", meta.org_name);
  element(out, 2, "email", meta.email);
  element(out, 2, "report_id", meta.report_id);
  open(out, 2, "date_range");
  element(out, 3, "begin", std::to_string(meta.begin));
  element(out, 3, "end", std::to_string(meta.end - 1));
  close(out, 2, "date_range");
  element(out, 2, "generator", "authmilter " AUTHMILTER_VERSION);
  close(out, 1, "report_metadata");

  const Record& p = report.policy;
  open(out, 1, "policy_published");
  element(out, 2, "domain", p.policy_domain);
  // Values outside the schema's enumerations (a hand-edited store) are left out, not
  // written invalid; p is required and falls back to none.
  element(out, 2, "p", one_of(p.p, {"none", "quarantine", "reject"}) ? p.p : "none");
  if (one_of(p.sp, {"none", "quarantine", "reject"})) element(out, 2, "sp", p.sp);
  if (one_of(p.np, {"none", "quarantine", "reject"})) element(out, 2, "np", p.np);
  if (one_of(p.adkim, {"r", "s"})) element(out, 2, "adkim", p.adkim);
  if (one_of(p.aspf, {"r", "s"})) element(out, 2, "aspf", p.aspf);
  if (one_of(p.discovery_method, {"psl", "treewalk"})) {
    element(out, 2, "discovery_method", p.discovery_method);
  }
  if (one_of(p.testing, {"n", "y"})) element(out, 2, "testing", p.testing);
  close(out, 1, "policy_published");

  for (const ReportRow& row : report.rows) {
    const Record& r = row.sample;
    open(out, 1, "record");
    open(out, 2, "row");
    element(out, 3, "source_ip", r.source_ip);
    element(out, 3, "count", std::to_string(row.count));
    open(out, 3, "policy_evaluated");
    element(
        out, 4, "disposition",
        one_of(r.disposition, {"none", "pass", "quarantine", "reject"}) ? r.disposition : "none");
    element(out, 4, "dkim", r.dmarc_dkim == "pass" ? "pass" : "fail");
    element(out, 4, "spf", r.dmarc_spf == "pass" ? "pass" : "fail");
    for (const OverrideReason& reason : r.reasons) {
      if (!one_of(reason.type, {"local_policy", "mailing_list", "other", "policy_test_mode",
                                "trusted_forwarder"})) {
        continue;
      }
      open(out, 4, "reason");
      element(out, 5, "type", reason.type);
      if (!reason.comment.empty()) element(out, 5, "comment", reason.comment);
      close(out, 4, "reason");
    }
    close(out, 3, "policy_evaluated");
    close(out, 2, "row");
    open(out, 2, "identifiers");
    element(out, 3, "header_from", r.header_from);
    if (!r.envelope_from.empty()) element(out, 3, "envelope_from", r.envelope_from);
    if (!r.envelope_to.empty()) element(out, 3, "envelope_to", r.envelope_to);
    close(out, 2, "identifiers");
    open(out, 2, "auth_results");
    for (const DkimAuth& d : r.dkim) {
      open(out, 3, "dkim");
      element(out, 4, "domain", d.domain);
      element(out, 4, "selector", d.selector);
      element(
          out, 4, "result",
          one_of(d.result, {"none", "pass", "fail", "policy", "neutral", "temperror", "permerror"})
              ? d.result
              : "permerror");
      close(out, 3, "dkim");
    }
    if (r.spf) {
      open(out, 3, "spf");
      element(out, 4, "domain", r.spf->domain);
      if (r.spf->scope == "mfrom") element(out, 4, "scope", "mfrom");
      element(out, 4, "result",
              one_of(r.spf->result, {"none", "pass", "fail", "softfail", "policy", "neutral",
                                     "temperror", "permerror"})
                  ? r.spf->result
                  : "permerror");
      close(out, 3, "spf");
    }
    close(out, 2, "auth_results");
    close(out, 1, "record");
  }
  out += "</feedback>\n";
  return out;
}

std::string gzip(std::string_view data) {
  z_stream stream{};
  // 15 + 16: a gzip header and trailer (RFC 1952) instead of zlib's.
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("zlib: deflateInit2 failed");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  const uLong written = stream.total_out;
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate failed");
  out.resize(written);
  return out;
}

std::string report_file_name(std::string_view receiver, std::string_view policy_domain,
                             std::int64_t begin, std::int64_t end, std::string_view unique_id) {
  std::string name(receiver);
  name += "!";
  name += policy_domain;
  name += "!" + std::to_string(begin) + "!" + std::to_string(end);
  std::string id;
  for (char c : unique_id) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      id.push_back(c);
    }
  }
  if (!id.empty()) name += "!" + id;
  name += ".xml.gz";
  return name;
}

}  // namespace authmilter::report
