// Distributed evaluation (2 ranks under mpirun) equals one process: same records in the same order,
// same metrics, for both protocols, the ToyScorer model and a baseline.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/eval/baselines.h"
#include "core/eval/evaluator.h"
#include "distributed/communicator.h"
#include "tests/eval/eval_fixture.h"

namespace gensar::train {
using namespace ::gensar::eval;
namespace {

void expect_same(const EvalResult& parallel, const EvalResult& single) {
  ASSERT_EQ(parallel.records.size(), single.records.size());
  for (size_t i = 0; i < single.records.size(); ++i) {
    const auto& a = parallel.records[i];
    const auto& b = single.records[i];
    EXPECT_EQ(a.case_id, b.case_id);
    EXPECT_EQ(a.protocol, b.protocol);
    EXPECT_EQ(a.task, b.task);
    EXPECT_EQ(a.rank, b.rank);
    EXPECT_EQ(a.items, b.items);
    EXPECT_EQ(a.scores, b.scores);  // bit-identical: batches hold the same cases on any rank count
  }
  EXPECT_EQ(parallel.metrics, single.metrics);
}

TEST(EvaluatorMpi, TwoRanksEqualOneProcess) {
  torch::set_num_threads(1);
  auto world = dist::world();
  ASSERT_EQ(world->size(), 2) << "run under mpirun -np 2";
  auto f = testing::make_eval_fixture("mpi");
  EvalOptions o;
  o.protocols = {Protocol::kCandidates, Protocol::kFull};
  o.beams = 4;
  o.batch_size = 2;  // 6 cases per task: 3 batches, rank 0 gets two and rank 1 one
  EvalResult parallel = evaluate(*f.scorer, *f.run.pieces.builder, f.candidates.get(), o, world.get());
  EXPECT_EQ(parallel.cases, static_cast<int64_t>(
                                2 * (f.run.pieces.dataset->examples(data::Task::kRec, data::Split::kTest).size() +
                                     f.run.pieces.dataset->examples(data::Task::kSearch, data::Split::kTest).size())));
  const auto& ds = *f.run.pieces.dataset;
  auto ranker = popularity_ranker(ds, 4);
  EvalResult parallel_pop = evaluate_with(ranker, ds, f.candidates.get(), o, world.get());
  if (world->rank() == 0) {
    EvalResult single = evaluate(*f.scorer, *f.run.pieces.builder, f.candidates.get(), o, nullptr);
    ASSERT_FALSE(single.records.empty());
    expect_same(parallel, single);
    expect_same(parallel_pop, evaluate_with(ranker, ds, f.candidates.get(), o, nullptr));
  } else {
    EXPECT_TRUE(parallel.records.empty());
    EXPECT_TRUE(parallel.metrics.empty());
  }
  world->barrier();
}

}  // namespace
}  // namespace gensar::train
