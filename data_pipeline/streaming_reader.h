// StreamingReader<T>: yields one data-parallel rank's batches in the stateless sample order,
// built by a user-supplied batch builder, optionally on a background prefetch thread.
//
//   data::SampleOrder order(num_samples, seed);
//   data::ReaderOptions options;
//   options.consumed_samples = resumed;            // from the checkpoint
//   options.total_samples = epochs * num_samples;
//   data::StreamingReader<MyBatch> reader(order, {global_batch, dp_rank, dp_size},
//       [&](const std::vector<int64_t>& samples) { return build(samples); }, options);
//   while (auto item = reader.next()) { train(item->batch); save_point = item->consumed_after; }
//
// The builder runs on the prefetch thread (prefetch > 0) or on the caller's thread (prefetch == 0),
// always in stream order, so a builder that draws randomness from mix_seed(seed, sample, epoch) is
// deterministic either way. An exception thrown by the builder is delivered by the next() call that
// would have returned that batch. Destroying the reader stops and joins the thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "data_pipeline/sample_order.h"

namespace gensar::data {

struct ReaderOptions {
  int64_t consumed_samples = 0;  // global resume point (positions already consumed by all ranks)
  int64_t total_samples = -1;    // stop once this many global positions are consumed; -1 = endless
  int prefetch = 2;              // batches built ahead on the background thread; 0 = no thread
};

template <typename T>
struct ReaderBatch {
  T batch;
  std::vector<int64_t> samples;  // this rank's sample indices, in stream order
  int64_t epoch = 0;             // epoch of the batch's first position
  int64_t consumed_after = 0;    // the global resume point once this batch is consumed
};

template <typename T>
class StreamingReader {
 public:
  using Builder = std::function<T(const std::vector<int64_t>& sample_indices)>;
  // For builders whose randomness depends on the epoch (e.g. negatives drawn per (epoch, sample)):
  // `epoch` is the epoch of the batch's first position.
  using EpochBuilder = std::function<T(const std::vector<int64_t>& sample_indices, int64_t epoch)>;

  StreamingReader(SampleOrder order, RankSlice slice, Builder builder, ReaderOptions options = {})
      : StreamingReader(std::move(order), slice,
                        EpochBuilder([b = std::move(builder)](const std::vector<int64_t>& s,
                                                              int64_t) { return b(s); }),
                        options) {}

  StreamingReader(SampleOrder order, RankSlice slice, EpochBuilder builder, ReaderOptions options = {})
      : order_(std::move(order)), slice_(slice), builder_(std::move(builder)), options_(options),
        next_consumed_(options.consumed_samples) {
    slice_.validate();
    if (options_.prefetch > 0) worker_ = std::thread([this] { produce(); });
  }

  StreamingReader(const StreamingReader&) = delete;
  StreamingReader& operator=(const StreamingReader&) = delete;

  ~StreamingReader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    space_.notify_all();
    if (worker_.joinable()) worker_.join();
  }

  // The next batch of this rank, or nullopt once total_samples are consumed. Rethrows the builder's
  // exception for the batch where it happened.
  std::optional<ReaderBatch<T>> next() {
    if (options_.prefetch == 0) {
      if (finished(next_consumed_)) return std::nullopt;
      ReaderBatch<T> out = build_at(next_consumed_);
      next_consumed_ = out.consumed_after;
      return out;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) return std::nullopt;
    Slot slot = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    space_.notify_one();
    if (slot.error) std::rethrow_exception(slot.error);
    return std::move(slot.batch);
  }

  const SampleOrder& order() const { return order_; }
  const RankSlice& slice() const { return slice_; }

 private:
  struct Slot {
    std::optional<ReaderBatch<T>> batch;
    std::exception_ptr error;
  };

  bool finished(int64_t consumed) const {
    // A final global batch that would overrun total_samples is not started: every rank stops on
    // the same step, whatever its position within the batch.
    return options_.total_samples >= 0 &&
           consumed + slice_.global_batch_size > options_.total_samples;
  }

  ReaderBatch<T> build_at(int64_t consumed) const {
    ReaderBatch<T> out;
    out.samples = rank_batch(order_, slice_, consumed);
    out.epoch = order_.epoch_of(consumed);
    out.consumed_after = consumed + slice_.global_batch_size;
    out.batch = builder_(out.samples, out.epoch);
    return out;
  }

  void produce() {
    int64_t consumed = options_.consumed_samples;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        space_.wait(lock, [this] { return stop_ || static_cast<int>(queue_.size()) < options_.prefetch; });
        if (stop_) break;
      }
      if (finished(consumed)) break;
      Slot slot;
      try {
        slot.batch = build_at(consumed);
        consumed = slot.batch->consumed_after;
      } catch (...) {
        slot.error = std::current_exception();
      }
      const bool failed = static_cast<bool>(slot.error);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        queue_.push_back(std::move(slot));
      }
      ready_.notify_one();
      if (failed) break;  // the stream stops at the failing batch
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    ready_.notify_all();
  }

  const SampleOrder order_;
  const RankSlice slice_;
  const EpochBuilder builder_;
  const ReaderOptions options_;
  int64_t next_consumed_;  // synchronous mode only

  std::mutex mutex_;
  std::condition_variable ready_;
  std::condition_variable space_;
  std::deque<Slot> queue_;
  bool stop_ = false;
  bool done_ = false;
  std::thread worker_;
};

}  // namespace gensar::data
