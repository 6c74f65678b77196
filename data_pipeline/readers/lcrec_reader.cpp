#include "data_pipeline/readers/lcrec_reader.h"

#include <filesystem>
#include <unordered_set>

#include "core/common/check.h"
#include "data_pipeline/readers/json_file.h"
#include "data_pipeline/readers/path_prefix.h"

namespace gensar::data {
namespace {

// "A,B , C" -> "A, B, C" (RawItem's level separator).
std::string normalize_path(const std::string& categories) {
  std::string out, level;
  auto flush = [&] {
    size_t b = level.find_first_not_of(" \t"), e = level.find_last_not_of(" \t");
    if (b != std::string::npos) {
      if (!out.empty()) out += ", ";
      out += level.substr(b, e - b + 1);
    }
    level.clear();
  };
  for (char c : categories) {
    if (c == ',') flush(); else level.push_back(c);
  }
  flush();
  return out;
}

std::string text_field(const JsonFile& f, const nlohmann::json& entry,
                       const std::string& key, const char* field, bool required) {
  auto it = entry.find(field);
  if (it == entry.end() || it->is_null()) {
    GENSAR_INPUT_CHECK(!required, "{}:{}: item '{}' has no field '{}'", f.path, f.line_of_key(key),
                       key, field);
    return "";
  }
  GENSAR_INPUT_CHECK(it->is_string(), "{}:{}: item '{}': field '{}' is not a string", f.path,
                     f.line_of_key(key), key, field);
  return it->get<std::string>();
}

class LcrecReader : public RawReader {
 public:
  explicit LcrecReader(const std::string& input)
      : prefix_(resolve_prefix(input, ".inter.json", "lcrec")) {}

  void read(RawSink& sink) override {
    std::unordered_set<std::string> items;
    {
      JsonFile f = load_json_file(prefix_ + ".item.json");
      GENSAR_INPUT_CHECK(f.doc.is_object(), "{}:1: expected an object of items", f.path);
      for (const auto& key : f.keys) {
        const auto& entry = f.doc[key];
        GENSAR_INPUT_CHECK(entry.is_object(), "{}:{}: item '{}' is not an object", f.path,
                           f.line_of_key(key), key);
        RawItem item;
        item.id = key;
        item.title = text_field(f, entry, key, "title", true);
        item.description = text_field(f, entry, key, "description", false);
        item.brand = text_field(f, entry, key, "brand", false);
        item.categories = normalize_path(text_field(f, entry, key, "categories", false));
        items.insert(key);
        sink.item(std::move(item));
      }
      GENSAR_INPUT_CHECK(!items.empty(), "{}:1: no items", f.path);
    }
    JsonFile f = load_json_file(prefix_ + ".inter.json");
    GENSAR_INPUT_CHECK(f.doc.is_object(), "{}:1: expected an object of user sequences", f.path);
    int64_t users = 0;
    for (const auto& user : f.keys) {
      const auto& seq = f.doc[user];
      GENSAR_INPUT_CHECK(seq.is_array(), "{}:{}: user '{}': the sequence is not an array", f.path,
                         f.line_of_key(user), user);
      int64_t position = 0;
      for (const auto& v : seq) {
        std::string item;
        if (v.is_string()) item = v.get<std::string>();
        else if (v.is_number_integer()) item = std::to_string(v.get<int64_t>());
        else
          throw InputError(fmt::format("{}:{}: user '{}': item {} is not an id", f.path,
                                       f.line_of_key(user), user, position));
        GENSAR_INPUT_CHECK(items.count(item), "{}:{}: user '{}': unknown item '{}' (not in {}.item.json)",
                           f.path, f.line_of_key(user), user, item, prefix_);
        RawEvent e;
        e.user = user;
        e.item = std::move(item);
        e.position = position++;
        sink.event(std::move(e));
      }
      ++users;
    }
    GENSAR_INPUT_CHECK(users > 0, "{}:1: no users", f.path);
  }

  std::string source() const override { return "lcrec:" + prefix_; }

 private:
  std::string prefix_;
};

}  // namespace

std::unique_ptr<RawReader> make_lcrec_reader(const std::string& input) {
  return std::make_unique<LcrecReader>(input);
}

}  // namespace gensar::data
