// The text an item is embedded from. Order: title, brand, categories, description, joined by ". ":
// the model reads at most 128 tokens, so the short identifying fields come before a long description.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gensar::data {
class Dataset;
}

namespace gensar::text {

std::string compose_item_text(std::string_view title, std::string_view description, std::string_view brand,
                              std::string_view categories);
// One text / key per dense item index.
std::vector<std::string> dataset_item_texts(const data::Dataset& dataset);
std::vector<std::string> dataset_item_keys(const data::Dataset& dataset);

}  // namespace gensar::text
