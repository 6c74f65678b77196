#include "core/text/item_text.h"

#include "core/common/strings.h"
#include "data_pipeline/dataset.h"

namespace gensar::text {

std::string compose_item_text(std::string_view title, std::string_view description, std::string_view brand,
                              std::string_view categories) {
  std::string text;
  for (std::string_view part : {title, brand, categories, description}) {
    part = trim_view(part);
    if (part.empty()) continue;
    if (!text.empty()) text += ". ";
    text.append(part.data(), part.size());
  }
  return text;
}

std::vector<std::string> dataset_item_texts(const data::Dataset& dataset) {
  std::vector<std::string> texts;
  texts.reserve(dataset.num_items());
  for (int32_t i = 0; i < dataset.num_items(); ++i)
    texts.push_back(compose_item_text(dataset.item_title(i), dataset.item_description(i), dataset.item_brand(i),
                                      dataset.item_categories(i)));
  return texts;
}

std::vector<std::string> dataset_item_keys(const data::Dataset& dataset) {
  std::vector<std::string> keys;
  keys.reserve(dataset.num_items());
  for (int32_t i = 0; i < dataset.num_items(); ++i) keys.emplace_back(dataset.item_key(i));
  return keys;
}

}  // namespace gensar::text
