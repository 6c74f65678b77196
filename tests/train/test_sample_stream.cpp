// SampleStream (length bucketing): inside each window the trained positions are a permutation of
// the base stream's, so every epoch still covers every sample once; the mapping is a pure function
// of (seed, global batch, window), so a stream created at any position (a resumed run, another DP
// size) gives the same samples; and sorted windows cut the encoder's padding.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/train/sample_stream.h"

#include "train_fixture.h"

using namespace gensar;
using namespace gensar::train;
using namespace gensar::train::testing;

TEST(SampleStream, WindowsPermuteTheBaseStreamAndAreReproducible) {
  TinyRun run = make_tiny_run("stream");
  TaskMixOptions mix;
  const int64_t g = 8, window = 5, m = g * window;
  SampleStream stream(*run.pieces.builder, mix, {g, window, 2024});
  const int64_t total = 3 * m + 11;
  std::vector<int64_t> sources;
  for (int64_t p = 0; p < total; ++p) sources.push_back(stream.source_position(p));
  for (int64_t w = 0; w * m < total; ++w) {
    std::set<int64_t> seen;
    for (int64_t p = w * m; p < std::min(total, (w + 1) * m); ++p) {
      EXPECT_GE(sources[p], w * m);
      EXPECT_LT(sources[p], (w + 1) * m);
      EXPECT_TRUE(seen.insert(sources[p]).second) << "position " << p << " repeats a source";
    }
  }
  // A stream created mid-way (a resume, or another DP rank's slice) agrees position by position.
  SampleStream resumed(*run.pieces.builder, mix, {g, window, 2024});
  for (int64_t p = total - 1; p >= 2 * m - 3; --p) {
    EXPECT_EQ(resumed.source_position(p), sources[p]);
    const Sample a = resumed.at(p), b = stream.at(p);
    EXPECT_EQ(a.input, b.input);
    EXPECT_EQ(a.target, b.target);
  }
  // Another seed orders the batches differently; bucketing off is the identity.
  SampleStream other(*run.pieces.builder, mix, {g, window, 7});
  bool differs = false;
  for (int64_t p = 0; p < m; ++p) differs |= other.source_position(p) != sources[p];
  EXPECT_TRUE(differs);
  SampleStream plain(*run.pieces.builder, mix, {g, 0, 2024});
  for (int64_t p = 0; p < m; ++p) EXPECT_EQ(plain.source_position(p), p);
}

TEST(SampleStream, SortedWindowsCutPadding) {
  TinyRun run = make_tiny_run("stream-pad");
  TaskMixOptions mix;
  const int64_t g = 8;
  SampleStream plain(*run.pieces.builder, mix, {g, 0, 2024});
  SampleStream bucketed(*run.pieces.builder, mix, {g, 20, 2024});
  const double before = encoder_padding_share(plain, g, 20);
  const double after = encoder_padding_share(bucketed, g, 20);
  EXPECT_LT(after, before / 2) << "padding " << before << " -> " << after;
}
