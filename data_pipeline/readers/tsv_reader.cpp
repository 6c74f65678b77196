#include "data_pipeline/readers/tsv_reader.h"

#include <fstream>
#include <unordered_map>

#include "core/common/check.h"

namespace gensar::data {

std::vector<std::string_view> split_tab_fields(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

std::string unescape_tsv_field(std::string_view field, const SourceLocation& where) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    GENSAR_INPUT_CHECK(i + 1 < field.size(), "{}:{}: field '{}' ends with a lone backslash",
                       where.file, where.line, where.field);
    char e = field[++i];
    switch (e) {
      case 't': out.push_back('\t'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case '\\': out.push_back('\\'); break;
      default:
        throw InputError(fmt::format("{}:{}: field '{}' has unknown escape '\\{}' (allowed: \\t \\n \\r \\\\)",
                                     where.file, where.line, where.field, e));
    }
  }
  return out;
}

namespace {

// A TSV file whose first line names its columns; rows are checked against the header width.
class HeaderedTsv {
 public:
  HeaderedTsv(const std::string& path, const std::vector<std::string>& required) : path_(path) {
    in_.open(path);
    GENSAR_INPUT_CHECK(in_.good(), "{}: cannot open file", path);
    GENSAR_INPUT_CHECK(static_cast<bool>(std::getline(in_, line_)), "{}:1: empty file (expected a header)",
                       path);
    line_no_ = 1;
    auto names = split_tab_fields(line_);
    for (size_t i = 0; i < names.size(); ++i) column_.emplace(std::string(names[i]), i);
    width_ = names.size();
    for (const auto& name : required) {
      GENSAR_INPUT_CHECK(column_.count(name), "{}:1: header lacks column '{}' (header: '{}')", path, name,
                         line_);
    }
  }

  size_t column(const std::string& name) const { return column_.at(name); }

  // Advances to the next non-empty row; false at end of file.
  bool next() {
    while (std::getline(in_, line_)) {
      ++line_no_;
      if (line_.empty() || line_ == "\r") continue;
      fields_ = split_tab_fields(line_);
      GENSAR_INPUT_CHECK(fields_.size() == width_, "{}:{}: row has {} fields, header has {} (field '{}')",
                         path_, line_no_, fields_.size(), width_,
                         fields_.size() < width_ ? header_name(fields_.size()) : std::string("<extra>"));
      ++rows_;
      return true;
    }
    return false;
  }

  std::string field(size_t column, const char* name) const {
    return unescape_tsv_field(fields_[column], SourceLocation{path_, line_no_, name});
  }
  std::string required_field(size_t column, const char* name) const {
    std::string value = field(column, name);
    GENSAR_INPUT_CHECK(!value.empty(), "{}:{}: field '{}' is empty", path_, line_no_, name);
    return value;
  }
  const std::string& path() const { return path_; }
  int64_t line_no() const { return line_no_; }
  int64_t rows() const { return rows_; }

 private:
  std::string header_name(size_t index) const {
    for (const auto& [name, i] : column_)
      if (i == index) return name;
    return "?";
  }

  std::string path_;
  std::ifstream in_;
  std::string line_;
  int64_t line_no_ = 0;
  int64_t rows_ = 0;
  size_t width_ = 0;
  std::unordered_map<std::string, size_t> column_;
  std::vector<std::string_view> fields_;
};

int64_t parse_timestamp(const std::string& text, const HeaderedTsv& tsv) {
  if (text.empty()) return -1;
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  GENSAR_INPUT_CHECK(used == text.size() && used > 0,
                     "{}:{}: field 'timestamp' is not an integer number of seconds: '{}'", tsv.path(),
                     tsv.line_no(), text);
  return value;
}

class TsvReader : public RawReader {
 public:
  explicit TsvReader(TsvLogOptions options) : options_(std::move(options)) {
    GENSAR_INPUT_CHECK(!options_.events_path.empty(), "tsv reader: no events file given");
    GENSAR_INPUT_CHECK(!options_.items_path.empty(), "tsv reader: no items file given");
  }

  void read(RawSink& sink) override {
    read_items(sink);
    read_events(sink);
  }
  std::string source() const override { return "tsv:" + options_.events_path + "," + options_.items_path; }
  bool has_search_events() const override { return true; }

 private:
  void read_items(RawSink& sink) {
    HeaderedTsv tsv(options_.items_path, {"item", "title", "description", "brand", "categories"});
    const size_t c_item = tsv.column("item"), c_title = tsv.column("title"),
                 c_desc = tsv.column("description"), c_brand = tsv.column("brand"),
                 c_cat = tsv.column("categories");
    while (tsv.next()) {
      RawItem item;
      item.id = tsv.required_field(c_item, "item");
      item.title = tsv.field(c_title, "title");
      item.description = tsv.field(c_desc, "description");
      item.brand = tsv.field(c_brand, "brand");
      item.categories = tsv.field(c_cat, "categories");
      sink.item(std::move(item));
    }
    GENSAR_INPUT_CHECK(tsv.rows() > 0, "{}:{}: no item rows after the header", tsv.path(), tsv.line_no());
  }

  void read_events(RawSink& sink) {
    HeaderedTsv tsv(options_.events_path, {"user", "item", "timestamp", "kind", "query"});
    const size_t c_user = tsv.column("user"), c_item = tsv.column("item"), c_time = tsv.column("timestamp"),
                 c_kind = tsv.column("kind"), c_query = tsv.column("query");
    while (tsv.next()) {
      RawEvent event;
      event.user = tsv.required_field(c_user, "user");
      event.item = tsv.required_field(c_item, "item");
      event.timestamp = parse_timestamp(tsv.field(c_time, "timestamp"), tsv);
      event.position = tsv.line_no();  // file order breaks timestamp ties
      std::string kind = tsv.field(c_kind, "kind");
      if (kind == "rec") {
        event.kind = EventKind::kRec;  // a query on a rec row is ignored (documented)
      } else if (kind == "search") {
        event.kind = EventKind::kSearch;
        event.query = tsv.required_field(c_query, "query");
      } else {
        throw InputError(fmt::format("{}:{}: field 'kind' must be 'rec' or 'search', got '{}'", tsv.path(),
                                     tsv.line_no(), kind));
      }
      sink.event(std::move(event));
    }
    GENSAR_INPUT_CHECK(tsv.rows() > 0, "{}:{}: no event rows after the header", tsv.path(), tsv.line_no());
  }

  TsvLogOptions options_;
};

}  // namespace

std::unique_ptr<RawReader> make_tsv_reader(const TsvLogOptions& options) {
  return std::make_unique<TsvReader>(options);
}

}  // namespace gensar::data
