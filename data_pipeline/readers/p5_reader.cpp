#include "data_pipeline/readers/p5_reader.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "core/common/check.h"
#include "core/common/log.h"
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
    // item id (as in the .txt) -> item key
    std::unordered_map<std::string, std::string> id2item;
    std::unordered_map<std::string, std::string> id2user;
    const bool have_maps = std::filesystem::exists(prefix_ + "_datamaps.json");
    if (have_maps)
      read_items_with_datamaps(sink, id2item, id2user);
    else
      read_items_without_datamaps(sink, id2item);
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
        // Without datamaps the key is the id's number, so "007" and "7" name one item.
        int64_t n = 0;
        if (!have_maps && parse_id(token, &n)) token = std::to_string(n);
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
  // P5 release: keys are the ASINs and reviewer ids, attribute names are words.
  void read_items_with_datamaps(RawSink& sink, std::unordered_map<std::string, std::string>& id2item,
                                std::unordered_map<std::string, std::string>& id2user) {
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
        for (const std::string& aid : attribute_ids(item_attrs, id, *found->second)) {
          auto name = attribute_names.find(aid);
          GENSAR_INPUT_CHECK(name != attribute_names.end(),
                             "{}:{}: item '{}': unknown attribute '{}' (field 'id2attribute' of {})",
                             item_attrs.path, item_attrs.line_of_key(id), id, aid, maps.path);
          if (!item.categories.empty()) item.categories += ", ";
          item.categories += name->second;
        }
      }
      id2item.emplace(id, item.id);
      sink.item(std::move(item));
    }
  }

  // S3-Rec release (NAME.txt + NAME_item2attributes.json, no datamaps): the ids are the only keys
  // there are, and attribute ids stand in for category words ("attr12"). The item set is every id
  // of item2attributes plus every id of the .txt, so a sequence never names an unknown item.
  void read_items_without_datamaps(RawSink& sink,
                                   std::unordered_map<std::string, std::string>& id2item) {
    JsonFile item_attrs = load_json_file(prefix_ + "_item2attributes.json");
    GENSAR_INPUT_CHECK(item_attrs.doc.is_object(), "{}:1: expected an object of items",
                       item_attrs.path);
    std::map<int64_t, std::string> categories;  // numeric id order = the dense index order
    for (const auto& [id, list] : item_attrs.doc.items()) {
      int64_t n = 0;
      GENSAR_INPUT_CHECK(parse_id(id, &n), "{}:{}: item key '{}' is not an integer id",
                         item_attrs.path, item_attrs.line_of_key(id), id);
      std::string words;
      for (const std::string& aid : attribute_ids(item_attrs, id, list)) {
        int64_t a = 0;
        GENSAR_INPUT_CHECK(parse_id(aid, &a), "{}:{}: item '{}': attribute '{}' is not an integer id",
                           item_attrs.path, item_attrs.line_of_key(id), id, aid);
        if (!words.empty()) words += ", ";
        words += "attr" + std::to_string(a);
      }
      categories[n] = std::move(words);
    }
    const std::string path = prefix_ + ".txt";
    std::ifstream in(path);
    GENSAR_INPUT_CHECK(in.good(), "{}: cannot open", path);
    std::string line, token;
    int64_t line_no = 0, only_in_txt = 0;
    while (std::getline(in, line)) {
      ++line_no;
      std::istringstream tokens(line);
      tokens >> token;  // the user id
      for (int64_t position = 1; tokens >> token; ++position) {
        int64_t n = 0;
        GENSAR_INPUT_CHECK(parse_id(token, &n), "{}:{}: field 'item' {}: '{}' is not an integer id",
                           path, line_no, position, token);
        only_in_txt += categories.emplace(n, std::string()).second;
      }
    }
    GENSAR_WARN("ingest",
                "{}_datamaps.json not found: items and users are keyed by their numeric ids and an "
                "item's categories are its attribute ids (attrN), so derived search queries are "
                "opaque tokens, not words ({} items, {} of them only in {} and without attributes)",
                prefix_, categories.size(), only_in_txt, path);
    for (auto& [n, words] : categories) {
      RawItem item;
      item.id = std::to_string(n);
      item.categories = std::move(words);
      id2item.emplace(item.id, item.id);
      sink.item(std::move(item));
    }
  }

  // An item's attribute list as id strings (the files write them as numbers or strings).
  static std::vector<std::string> attribute_ids(const JsonFile& f, const std::string& item,
                                                const nlohmann::json& list) {
    GENSAR_INPUT_CHECK(list.is_array(), "{}:{}: item '{}': attributes are not a list", f.path,
                       f.line_of_key(item), item);
    std::vector<std::string> out;
    for (const auto& a : list) {
      GENSAR_INPUT_CHECK(a.is_string() || a.is_number_integer(),
                         "{}:{}: item '{}': attribute {} is neither an integer nor a string", f.path,
                         f.line_of_key(item), item, a.dump());
      out.push_back(a.is_string() ? a.get<std::string>() : std::to_string(a.get<int64_t>()));
    }
    return out;
  }

  std::string prefix_;
};

}  // namespace

std::unique_ptr<RawReader> make_p5_reader(const std::string& input) {
  return std::make_unique<P5Reader>(input);
}

}  // namespace gensar::data
