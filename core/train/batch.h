// Collating samples into padded tensors for teacher-forced T5 training.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "core/train/sample_builder.h"

namespace gensar::train {

struct Batch {
  torch::Tensor input_ids;          // [B, S] int64, right-padded with pad
  torch::Tensor attention_mask;     // [B, S] int64, 1 = real token
  torch::Tensor decoder_input_ids;  // [B, T]: decoder start token, then target[:-1]
  torch::Tensor labels;             // [B, T]: target, -100 where padded
  std::vector<Task> tasks;          // per row
  int64_t label_tokens = 0;         // labelled tokens in the batch
};

Batch collate(const std::vector<Sample>& samples, int64_t pad_id, int64_t decoder_start_id);

// Inputs alone (for decoding): [B, S] ids and mask.
void collate_inputs(const std::vector<std::vector<int64_t>>& inputs, int64_t pad_id,
                    torch::Tensor* input_ids, torch::Tensor* attention_mask);

}  // namespace gensar::train
