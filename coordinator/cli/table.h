// A plain-text table: left-aligned columns two spaces apart, widths from the
// widest cell (counted in UTF-8 code points, so "×" is one column).
#pragma once

#include <string>
#include <vector>

namespace spindle::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header);
  // Cells beyond the header's count are dropped; missing ones are empty.
  void AddRow(std::vector<std::string> cells);
  // Header and rows, each line ending in '\n', no trailing spaces.
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] = header
};

}  // namespace spindle::cli
