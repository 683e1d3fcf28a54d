// Test support (authmilter_test_support): the test data directory and the plain formats the
// suites in it use.
//
// What: data_path() names a file under tests/data (AUTHMILTER_TEST_DATA_DIR, set by CMake to
//   ${PROJECT_SOURCE_DIR}/tests/data: tests read nothing outside the checkout, see
//   tests/data/README.md); read_file() reads a whole file byte for byte; read_tsv() reads a
//   tab-separated table (DMARC and DKIM suite tables, key lists).
// Limits: files are read whole into memory (test data is small).
// Security: never linked into the daemon.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace authmilter::test_support {

// AUTHMILTER_TEST_DATA_DIR + "/" + relative.
std::string data_path(std::string_view relative);

// The file's bytes; throws std::runtime_error naming the path when it cannot be read.
std::string read_file(const std::string& path);

using TsvRow = std::vector<std::string>;

// The fields of one line split at every tab (empty fields kept).
TsvRow split_tsv_line(std::string_view line);

// The rows of a tab-separated file: a CR before the line end is dropped, empty lines and
// lines starting with '#' are skipped and, when `has_header`, so is the first other line
// (the column names). Throws std::runtime_error when the file cannot be read.
std::vector<TsvRow> read_tsv(const std::string& path, bool has_header = true);

}  // namespace authmilter::test_support
