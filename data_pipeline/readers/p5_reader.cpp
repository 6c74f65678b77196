#include "data_pipeline/readers/p5_reader.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "core/common/check.h"
#include "data_pipeline/readers/json_file.h"
#include "data_pipeline/readers/path_prefix.h"

namespace gensar::data {
namespace {

std::string decode_entities(std::string s) {
  // The attribute names keep one HTML escape from the crawl ("Crabtree &amp; Evelyn").
  size_t pos = 0;
  while ((pos = s.find("&amp;", pos)) != std::string::npos) {
    s.replace(pos, 5, "&");
    ++pos;
  }
  return s;
}

bool parse_id(const std::string& s, int64_t* out) {
  if (s.empty() || s.size() > 18) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

const nlohmann::json& member(const JsonFile& f, const char* name) {
  auto it = f.doc.find(name);
  GENSAR_INPUT_CHECK(it != f.doc.end() && it->is_object(), "{}:1: missing object field '{}'", f.path,
                     name);
  return *it;
}

class P5Reader : public RawReader {
 public:
  explicit P5Reader(const std::string& input)
      : prefix_(resolve_prefix(input, "_item2attributes.json", "p5")) {}

  void read(RawSink& sink) override {
    // item id (as in the .txt) -> dense position in `item_keys`
    std::unordered_map<std::string, std::string> id2item;
    std::unordered_map<std::string, std::string> id2user;
    {
      JsonFile maps = load_json_file(prefix_ + "_datamaps.json");
      GENSAR_INPUT_CHECK(maps.doc.is_object(), "{}:1: expected an object", maps.path);
      const auto& items = member(maps, "id2item");
      const auto& attrs = member(maps, "id2attribute");
      auto users_it = maps.doc.find("id2user");
      if (users_it != maps.doc.end() && users_it->is_object()) {
        for (const auto& [id, name] : users_it->items())
          if (name.is_string()) id2user.emplace(id, name.get<std::string>());
      }
      std::unordered_map<std::string, std::string> attribute_names;
      for (const auto& [id, name] : attrs.items()) {
        GENSAR_INPUT_CHECK(name.is_string(), "{}:{}: field 'id2attribute': '{}' is not a string",
                           maps.path, maps.line_of_key(id), id);
        attribute_names.emplace(id, decode_entities(name.get<std::string>()));
      }
      JsonFile item_attrs = load_json_file(prefix_ + "_item2attributes.json");
      GENSAR_INPUT_CHECK(item_attrs.doc.is_object(), "{}:1: expected an object of items",
                         item_attrs.path);

      // Items in numeric id order, so the dense index follows the dataset's own numbering.
      // (json lookups are linear: index both documents once.)
      std::vector<std::pair<int64_t, std::string>> ids;
      std::unordered_map<std::string, std::string> asins;
      for (const auto& [id, asin] : items.items()) {
        int64_t n = 0;
        GENSAR_INPUT_CHECK(parse_id(id, &n) && asin.is_string(),
                           "{}:{}: field 'id2item': entry '{}' is not an integer id -> string",
                           maps.path, maps.line_of_key(id), id);
        ids.emplace_back(n, id);
        asins.emplace(id, asin.get<std::string>());
      }
      std::unordered_map<std::string, const nlohmann::json*> attributes_of;
      for (const auto& [id, list] : item_attrs.doc.items()) attributes_of.emplace(id, &list);
      GENSAR_INPUT_CHECK(!ids.empty(), "{}:1: field 'id2item' is empty", maps.path);
      std::sort(ids.begin(), ids.end());
      for (const auto& [n, id] : ids) {
        RawItem item;
        item.id = asins.at(id);
        auto found = attributes_of.find(id);
        if (found != attributes_of.end()) {
          const nlohmann::json* attrs_it = found->second;
          GENSAR_INPUT_CHECK(attrs_it->is_array(), "{}:{}: item '{}': attributes are not a list",
                             item_attrs.path, item_attrs.line_of_key(id), id);
          for (const auto& a : *attrs_it) {
            std::string aid = a.is_string() ? a.get<std::string>()
                              : a.is_number_integer() ? std::to_string(a.get<int64_t>())
                                                      : std::string();
            auto name = attribute_names.find(aid);
            GENSAR_INPUT_CHECK(name != attribute_names.end(),
                               "{}:{}: item '{}': unknown attribute '{}' (field 'id2attribute' of {})",
                               item_attrs.path, item_attrs.line_of_key(id), id, a.dump(), maps.path);
            if (!item.categories.empty()) item.categories += ", ";
            item.categories += name->second;
          }
        }
        id2item.emplace(id, item.id);
        sink.item(std::move(item));
      }
    }

    std::string path = prefix_ + ".txt";
    std::ifstream in(path);
    GENSAR_INPUT_CHECK(in.good(), "{}: cannot open", path);
    std::string line, token;
    int64_t line_no = 0, users = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      std::istringstream tokens(line);
      std::string user;
      tokens >> user;
      auto named = id2user.find(user);
      std::string user_key = named != id2user.end() ? named->second : user;
      int64_t position = 0;
      while (tokens >> token) {
        auto item = id2item.find(token);
        GENSAR_INPUT_CHECK(item != id2item.end(),
                           "{}:{}: field 'item' {}: unknown item '{}' (not in id2item of {}_datamaps.json)",
                           path, line_no, position + 1, token, prefix_);
        RawEvent e;
        e.user = user_key;
        e.item = item->second;
        e.position = position++;
        sink.event(std::move(e));
      }
      GENSAR_INPUT_CHECK(position > 0, "{}:{}: field 'items': user '{}' has no items", path, line_no,
                         user);
      ++users;
    }
    GENSAR_INPUT_CHECK(users > 0, "{}:{}: empty file (no user lines)", path, std::max<int64_t>(line_no, 1));
  }

  std::string source() const override { return "p5:" + prefix_; }

 private:
  std::string prefix_;
};

}  // namespace

std::unique_ptr<RawReader> make_p5_reader(const std::string& input) {
  return std::make_unique<P5Reader>(input);
}

}  // namespace gensar::data
