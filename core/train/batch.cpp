#include "core/train/batch.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/common/check.h"

namespace gensar::train {

void collate_inputs(const std::vector<std::vector<int64_t>>& inputs, int64_t pad_id,
                    torch::Tensor* input_ids, torch::Tensor* attention_mask) {
  const int64_t b = static_cast<int64_t>(inputs.size());
  size_t s = 1;
  for (const auto& in : inputs) s = std::max(s, in.size());
  *input_ids = torch::full({b, static_cast<int64_t>(s)}, pad_id, torch::kInt64);
  *attention_mask = torch::zeros({b, static_cast<int64_t>(s)}, torch::kInt64);
  auto ids = input_ids->accessor<int64_t, 2>();
  auto mask = attention_mask->accessor<int64_t, 2>();
  for (int64_t r = 0; r < b; ++r)
    for (size_t j = 0; j < inputs[r].size(); ++j) {
      ids[r][j] = inputs[r][j];
      mask[r][j] = 1;
    }
}

Batch collate(const std::vector<Sample>& samples, int64_t pad_id, int64_t decoder_start_id) {
  GENSAR_CHECK(!samples.empty(), "empty batch");
  Batch batch;
  std::vector<std::vector<int64_t>> inputs;
  size_t t = 1;
  for (const auto& s : samples) {
    inputs.push_back(s.input);
    batch.tasks.push_back(s.task);
    t = std::max(t, s.target.size());
  }
  collate_inputs(inputs, pad_id, &batch.input_ids, &batch.attention_mask);
  const int64_t b = static_cast<int64_t>(samples.size());
  batch.decoder_input_ids = torch::full({b, static_cast<int64_t>(t)}, pad_id, torch::kInt64);
  batch.labels = torch::full({b, static_cast<int64_t>(t)}, int64_t{-100}, torch::kInt64);
  auto dec = batch.decoder_input_ids.accessor<int64_t, 2>();
  auto lab = batch.labels.accessor<int64_t, 2>();
  for (int64_t r = 0; r < b; ++r) {
    const auto& target = samples[r].target;
    dec[r][0] = decoder_start_id;
    for (size_t j = 0; j < target.size(); ++j) {
      lab[r][j] = target[j];
      if (j + 1 < target.size()) dec[r][j + 1] = target[j];
    }
    batch.label_tokens += static_cast<int64_t>(target.size());
  }
  return batch;
}

}  // namespace gensar::train
