#include "core/common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>

#include "core/common/check.h"

namespace gensar {
namespace detail {
void throw_check_failure(const char* cond, const char* file, int line, const std::string& message) {
  if (cond && *cond) {
    throw Error(fmt::format("{} (check `{}` failed at {}:{})", message, cond, file, line));
  }
  throw Error(fmt::format("{} (at {}:{})", message, file, line));
}
}  // namespace detail

namespace log {
namespace {

int rank_from_env() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"}) {
    if (const char* v = std::getenv(name)) return std::atoi(v);
  }
  return 0;
}

Level level_from_env() {
  Level l = Level::kInfo;
  if (const char* v = std::getenv("GENSAR_LOG_LEVEL")) parse_level(v, &l);
  return l;
}

std::atomic<int> g_level{static_cast<int>(level_from_env())};
std::atomic<int> g_rank{rank_from_env()};
std::atomic<bool> g_all_ranks_info{false};
std::mutex g_mutex;

}  // namespace

bool parse_level(const std::string& name, Level* out) {
  if (name == "debug") *out = Level::kDebug;
  else if (name == "info") *out = Level::kInfo;
  else if (name == "warn" || name == "warning") *out = Level::kWarn;
  else if (name == "error") *out = Level::kError;
  else return false;
  return true;
}

void set_level(Level l) { g_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(g_level.load()); }
void set_rank(int r) { g_rank = r; }
int rank() { return g_rank.load(); }
void set_all_ranks_info(bool on) { g_all_ranks_info = on; }

bool enabled(Level l) {
  if (static_cast<int>(l) < g_level.load()) return false;
  if (l <= Level::kInfo && g_rank.load() != 0 && !g_all_ranks_info.load()) return false;
  return true;
}

void write(Level l, const char* subsystem, const std::string& message) {
  static const char kLetters[] = {'D', 'I', 'W', 'E'};
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  std::string line = fmt::format("{} {} [{} r{}] {}\n", stamp, kLetters[static_cast<int>(l)],
                                 subsystem, g_rank.load(), message);
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace log
}  // namespace gensar
