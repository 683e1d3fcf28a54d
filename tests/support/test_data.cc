#include "test_data.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace authmilter::test_support {

std::string data_path(std::string_view relative) {
  return std::string(AUTHMILTER_TEST_DATA_DIR) + "/" + std::string(relative);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TsvRow split_tsv_line(std::string_view line) {
  TsvRow row;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = line.find('\t', start);
    row.emplace_back(line.substr(start, tab - start));
    if (tab == std::string_view::npos) return row;
    start = tab + 1;
  }
}

std::vector<TsvRow> read_tsv(const std::string& path, bool has_header) {
  std::istringstream in(read_file(path));
  std::vector<TsvRow> rows;
  bool header = has_header;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.front() == '#') continue;
    if (header) {
      header = false;
      continue;
    }
    rows.push_back(split_tsv_line(line));
  }
  return rows;
}

}  // namespace authmilter::test_support
