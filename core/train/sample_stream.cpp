#include "core/train/sample_stream.h"

#include <algorithm>
#include <numeric>

#include "core/common/check.h"

namespace gensar::train {

namespace {
// Salt of the batch-order permutation, so it never coincides with the sample order's own keys.
constexpr uint64_t kWindowSalt = 0xB0C4E7A1u;
}  // namespace

SampleStream::SampleStream(const SampleBuilder& builder, const TaskMixOptions& mix,
                           SampleStreamOptions options)
    : builder_(builder),
      mix_(mix),
      options_(options),
      epoch_size_(epoch_sample_count(builder, mix)),
      order_(std::max<int64_t>(epoch_size_, 1), options.seed) {
  GENSAR_INPUT_CHECK(epoch_size_ > 0, "no training samples: every task is off or the dataset has "
                     "no training examples");
  GENSAR_INPUT_CHECK(options_.global_batch >= 1, "global batch must be >= 1 (got {})",
                     options_.global_batch);
}

const EpochSamples& SampleStream::epoch(int64_t e) {
  if (!epoch_samples_ || epoch_samples_->epoch() != e)
    epoch_samples_ = std::make_unique<EpochSamples>(builder_, mix_, e);
  return *epoch_samples_;
}

Sample SampleStream::build_base(int64_t base_position) {
  const auto& samples = epoch(order_.epoch_of(base_position));
  return builder_.build(samples[order_.sample_at(base_position)]);
}

void SampleStream::load_window(int64_t window) {
  const int64_t g = options_.global_batch;
  const int64_t m = g * options_.window_batches;
  const int64_t start = window * m;
  window_samples_.clear();
  window_samples_.reserve(m);
  for (int64_t q = 0; q < m; ++q) window_samples_.push_back(build_base(start + q));
  std::vector<int64_t> sorted(m);
  std::iota(sorted.begin(), sorted.end(), 0);
  std::stable_sort(sorted.begin(), sorted.end(), [&](int64_t a, int64_t b) {
    return window_samples_[a].input.size() < window_samples_[b].input.size();
  });
  const data::EpochPermutation batch_order(options_.window_batches,
                                           data::mix_seed(options_.seed, kWindowSalt), window);
  window_source_.resize(m);
  for (int64_t o = 0; o < m; ++o) window_source_[o] = sorted[batch_order(o / g) * g + o % g];
  window_ = window;
}

int64_t SampleStream::source_position(int64_t position) {
  GENSAR_CHECK(position >= 0, "negative stream position {}", position);
  if (options_.window_batches <= 1) return position;
  const int64_t m = options_.global_batch * options_.window_batches;
  const int64_t window = position / m;
  if (window != window_) load_window(window);
  return window * m + window_source_[position % m];
}

Sample SampleStream::at(int64_t position) {
  if (options_.window_batches <= 1) return build_base(position);
  const int64_t m = options_.global_batch * options_.window_batches;
  const int64_t source = source_position(position);
  return window_samples_[source - (position / m) * m];
}

double encoder_padding_share(SampleStream& stream, int64_t global_batch, int64_t batches) {
  int64_t real = 0, padded = 0;
  for (int64_t b = 0; b < batches; ++b) {
    size_t longest = 0;
    for (int64_t i = 0; i < global_batch; ++i) {
      const size_t len = stream.at(b * global_batch + i).input.size();
      real += static_cast<int64_t>(len);
      longest = std::max(longest, len);
    }
    padded += static_cast<int64_t>(longest) * global_batch;
  }
  return padded > 0 ? 1.0 - static_cast<double>(real) / static_cast<double>(padded) : 0.0;
}

}  // namespace gensar::train
