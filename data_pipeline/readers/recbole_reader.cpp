#include "data_pipeline/readers/recbole_reader.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unordered_set>
#include <vector>

#include "core/common/check.h"
#include "core/common/strings.h"
#include "data_pipeline/readers/tsv_reader.h"

namespace gensar::data {
namespace {

namespace fs = std::filesystem;

enum class FieldType { kToken, kTokenSeq, kFloat, kFloatSeq };

struct Column {
  std::string name;
  FieldType type;
};

// One atomic file: parses the `name:type` header and checks each row's width.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path) : path_(path) {
    in_.open(path);
    GENSAR_INPUT_CHECK(in_.good(), "{}: cannot open file", path);
    GENSAR_INPUT_CHECK(static_cast<bool>(std::getline(in_, line_)), "{}:1: empty file (expected a header)",
                       path);
    line_no_ = 1;
    for (std::string_view spec : split_tab_fields(line_)) {
      size_t colon = spec.rfind(':');
      GENSAR_INPUT_CHECK(colon != std::string_view::npos && colon > 0,
                         "{}:1: header field '{}' is not 'name:type'", path, spec);
      std::string name(spec.substr(0, colon));
      std::string_view type = spec.substr(colon + 1);
      FieldType t;
      if (type == "token") t = FieldType::kToken;
      else if (type == "token_seq") t = FieldType::kTokenSeq;
      else if (type == "float") t = FieldType::kFloat;
      else if (type == "float_seq") t = FieldType::kFloatSeq;
      else
        throw InputError(fmt::format("{}:1: field '{}' has unknown type '{}' (token, token_seq, float, float_seq)",
                                     path, name, type));
      columns_.push_back({name, t});
    }
  }

  // Index of the column called `name`, or -1.
  int find(const std::string& name) const {
    for (size_t i = 0; i < columns_.size(); ++i)
      if (columns_[i].name == name) return static_cast<int>(i);
    return -1;
  }
  int require(const std::string& name) const {
    int i = find(name);
    GENSAR_INPUT_CHECK(i >= 0, "{}:1: header lacks field '{}' (header: '{}')", path_, name, header_text());
    return i;
  }
  const Column& column(int i) const { return columns_[i]; }

  bool next() {
    while (std::getline(in_, line_)) {
      ++line_no_;
      if (line_.empty() || line_ == "\r") continue;
      fields_ = split_tab_fields(line_);
      GENSAR_INPUT_CHECK(fields_.size() == columns_.size(),
                         "{}:{}: row has {} fields, header has {} (field '{}')", path_, line_no_,
                         fields_.size(), columns_.size(),
                         fields_.size() < columns_.size() ? columns_[fields_.size()].name : "<extra>");
      ++rows_;
      return true;
    }
    return false;
  }
  std::string_view value(int i) const { return fields_[i]; }
  std::string required(int i) const {
    GENSAR_INPUT_CHECK(!fields_[i].empty(), "{}:{}: field '{}' is empty", path_, line_no_, columns_[i].name);
    return std::string(fields_[i]);
  }
  const std::string& path() const { return path_; }
  int64_t line_no() const { return line_no_; }
  int64_t rows() const { return rows_; }

 private:
  std::string header_text() const {
    std::string out;
    for (const auto& c : columns_) out += (out.empty() ? "" : " ") + c.name;
    return out;
  }

  std::string path_;
  std::ifstream in_;
  std::string line_;
  int64_t line_no_ = 0;
  int64_t rows_ = 0;
  std::vector<Column> columns_;
  std::vector<std::string_view> fields_;
};

// A category path "broad, ..., narrow": comma lists (RecBole's Amazon conversions write
// "'Beauty', 'Skin Care'") split at commas; a token_seq without commas splits at spaces.
std::string category_path(std::string_view value, FieldType type) {
  std::vector<std::string> levels;
  char sep = value.find(',') != std::string_view::npos ? ',' : (type == FieldType::kTokenSeq ? ' ' : '\0');
  if (sep == '\0') {
    levels.push_back(trim(value, " \t'\"[]"));
  } else {
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find(sep, start);
      if (end == std::string_view::npos) end = value.size();
      std::string level = trim(value.substr(start, end - start), " \t'\"[]");
      if (!level.empty()) levels.push_back(std::move(level));
      start = end + 1;
    }
  }
  std::string out;
  for (const auto& level : levels) {
    if (level.empty()) continue;
    if (!out.empty()) out += ", ";
    out += level;
  }
  return out;
}

int find_any(const AtomicFile& file, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    int i = file.find(name);
    if (i >= 0) return i;
  }
  return -1;
}

class RecboleReader : public RawReader {
 public:
  explicit RecboleReader(RecboleOptions options) : options_(std::move(options)) {
    GENSAR_INPUT_CHECK(!options_.prefix.empty(), "recbole reader: no path prefix given");
    std::string prefix = options_.prefix;
    while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
    if (fs::is_directory(prefix)) prefix = (fs::path(prefix) / fs::path(prefix).filename()).string();
    inter_path_ = prefix + ".inter";
    item_path_ = prefix + ".item";
    GENSAR_INPUT_CHECK(fs::exists(inter_path_), "{}: interaction file not found (recbole prefix '{}')",
                       inter_path_, options_.prefix);
  }

  void read(RawSink& sink) override {
    if (fs::exists(item_path_)) {
      read_items(sink);
    } else {
      emit_items_seen_in_inter(sink);
    }
    read_events(sink);
  }
  std::string source() const override { return "recbole:" + inter_path_; }

 private:
  void read_items(RawSink& sink) {
    AtomicFile file(item_path_);
    const int c_id = file.require(options_.item_field);
    const int c_title = find_any(file, {"title", "movie_title", "item_name", "name"});
    const int c_desc = find_any(file, {"description", "desc", "item_description"});
    const int c_brand = find_any(file, {"brand", "manufacturer"});
    const int c_cat = find_any(file, {"categories", "category", "genre", "genres"});
    while (file.next()) {
      RawItem item;
      item.id = file.required(c_id);
      if (c_title >= 0) item.title = std::string(file.value(c_title));
      if (c_desc >= 0) item.description = std::string(file.value(c_desc));
      if (c_brand >= 0) item.brand = std::string(file.value(c_brand));
      if (c_cat >= 0) item.categories = category_path(file.value(c_cat), file.column(c_cat).type);
      sink.item(std::move(item));
    }
    GENSAR_INPUT_CHECK(file.rows() > 0, "{}:{}: no item rows after the header", file.path(), file.line_no());
  }

  void emit_items_seen_in_inter(RawSink& sink) {
    AtomicFile file(inter_path_);
    const int c_item = file.require(options_.item_field);
    std::unordered_set<std::string> seen;
    while (file.next()) {
      std::string id = file.required(c_item);
      if (seen.insert(id).second) {
        RawItem item;
        item.id = std::move(id);
        sink.item(std::move(item));
      }
    }
  }

  void read_events(RawSink& sink) {
    AtomicFile file(inter_path_);
    const int c_user = file.require(options_.user_field);
    const int c_item = file.require(options_.item_field);
    const int c_time = file.find(options_.time_field);
    if (c_time >= 0) {
      GENSAR_INPUT_CHECK(file.column(c_time).type == FieldType::kFloat, "{}:1: field '{}' must be of type float",
                         file.path(), options_.time_field);
    }
    while (file.next()) {
      RawEvent event;
      event.user = file.required(c_user);
      event.item = file.required(c_item);
      event.position = file.line_no();  // file order breaks timestamp ties
      event.kind = EventKind::kRec;
      if (c_time >= 0) event.timestamp = parse_time(file, c_time);
      sink.event(std::move(event));
    }
    GENSAR_INPUT_CHECK(file.rows() > 0, "{}:{}: no interaction rows after the header", file.path(),
                       file.line_no());
  }

  int64_t parse_time(const AtomicFile& file, int column) const {
    std::string text(file.value(column));
    if (text.empty()) return -1;
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    GENSAR_INPUT_CHECK(end == text.c_str() + text.size() && std::isfinite(value),
                       "{}:{}: field '{}' is not a number: '{}'", file.path(), file.line_no(),
                       options_.time_field, text);
    return static_cast<int64_t>(std::floor(value));
  }

  RecboleOptions options_;
  std::string inter_path_;
  std::string item_path_;
};

}  // namespace

std::unique_ptr<RawReader> make_recbole_reader(const RecboleOptions& options) {
  return std::make_unique<RecboleReader>(options);
}

}  // namespace gensar::data
