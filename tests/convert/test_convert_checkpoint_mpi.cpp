// mpirun -np 2: a TP 1 checkpoint converted to TP 2 and loaded as two shards (one per rank, the
// trainer's loader) gives the logits of the original loaded in one process.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "core/train/checkpoint_convert.h"
#include "distributed/communicator.h"
#include "tests/convert/convert_fixture.h"

namespace fs = std::filesystem;
using namespace gensar;

namespace {

TEST(ConvertMpi, Tp2ShardsGiveTp1Logits) {
  auto world = dist::world();
  ASSERT_EQ(world->size(), 2) << "run under mpirun -np 2";
  std::string root;
  for (bool tied : {true, false}) {
    const auto config = test::tiny_config(tied);
    std::string source, tp2;
    if (world->rank() == 0) {
      root = (fs::temp_directory_path() / ("gensar_convert_mpi_" + std::to_string(::getpid()))).string();
      fs::remove_all(root);
      source = test::write_tiny_checkpoint(root + "/run", config, 5);
      tp2 = root + "/tp2";
      train::convert_checkpoint(source, tp2, 2);
    }
    source = world->broadcast_bytes(source, 0);
    tp2 = world->broadcast_bytes(tp2, 0);

    auto whole = model::T5Model(config, nullptr, 123);
    train::load_checkpoint_weights(source, *whole, 0, 1);
    auto sharded = model::T5Model(config, world, 456);
    train::load_checkpoint_weights(tp2, *sharded, world->rank(), 2);
    whole->eval();
    sharded->eval();

    auto input = torch::tensor({{5, 9, 12, 1, 0}, {7, 3, 1, 0, 0}}, torch::kLong);
    auto mask = (input != 0).to(torch::kLong);
    mask.index_put_({torch::indexing::Slice(), 0}, 1);
    auto decoder_in = torch::tensor({{0, 4, 8}, {0, 6, 2}}, torch::kLong);
    torch::NoGradGuard ng;
    auto expected = whole->forward(input, mask, decoder_in, {}).logits;
    auto local = sharded->forward(input, mask, decoder_in, {}).logits;
    EXPECT_EQ(local.size(-1), config.vocab_size / 2);
    auto got = sharded->gather_logits(local);
    ASSERT_EQ(got.sizes(), expected.sizes());
    EXPECT_TRUE(torch::allclose(got, expected, 1e-5, 1e-5))
        << "tied=" << tied << " max diff " << (got - expected).abs().max().item<float>();
    world->barrier();
  }
  if (world->rank() == 0) fs::remove_all(root);
}

}  // namespace
