// Position p of the global training stream -> the sample trained at p, with length bucketing.
//
// The base stream is data::SampleOrder over EpochSamples (a pure function of (seed, epoch)). With
// bucketing on, the stream is cut into windows of `window_batches` global batches; inside a window
// the samples are sorted by input length (ties by base position), cut into global batches, and the
// batches are visited in a (seed, window)-keyed random order. That is a bijection of the window's
// positions, so every epoch still covers every sample exactly once; the result depends only on
// (seed, global batch size, window), never on the DP size or on where a run was resumed, and each
// global batch holds inputs of nearly one length, so the encoder pads little (docs/training.md,
// "Length bucketing"). DP rank r takes its usual contiguous slice of each global batch.
#pragma once

#include <cstdint>
#include <vector>

#include "core/train/sample_builder.h"
#include "data_pipeline/sample_order.h"

namespace gensar::train {

struct SampleStreamOptions {
  int64_t global_batch = 64;
  int64_t window_batches = 50;  // global batches sorted together; <= 1 turns bucketing off
  uint64_t seed = 2024;
};

class SampleStream {
 public:
  SampleStream(const SampleBuilder& builder, const TaskMixOptions& mix, SampleStreamOptions options);
  int64_t epoch_size() const { return epoch_size_; }
  // The sample at global stream position `position` (built, or taken from the window cache).
  Sample at(int64_t position);
  // The base-stream position whose sample is trained at `position` (identity without bucketing).
  int64_t source_position(int64_t position);

 private:
  Sample build_base(int64_t base_position);
  void load_window(int64_t window);
  const EpochSamples& epoch(int64_t e);

  const SampleBuilder& builder_;
  TaskMixOptions mix_;
  SampleStreamOptions options_;
  int64_t epoch_size_ = 0;
  data::SampleOrder order_;
  std::unique_ptr<EpochSamples> epoch_samples_;
  int64_t window_ = -1;              // loaded window
  std::vector<Sample> window_samples_;  // by base offset inside the window
  std::vector<int64_t> window_source_;  // stream offset in window -> base offset in window
};

// Share of the encoder's input tokens that is padding over the first `batches` global batches of
// `global_batch` samples (each batch padded to its longest input): what bucketing is for.
double encoder_padding_share(SampleStream& stream, int64_t global_batch, int64_t batches);

}  // namespace gensar::train
