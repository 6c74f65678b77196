// Logging tagged by subsystem and rank: "2026-11-25 18:00:00 I [data r0] message".
// The rank comes from the launcher's environment at start-up (OpenMPI, PMIx, Slurm) and may be
// overridden once the process mesh exists. Level from GENSAR_LOG_LEVEL (debug|info|warn|error).
#pragma once

#include <fmt/format.h>

#include <string>

namespace gensar::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void set_level(Level level);
Level level();
bool parse_level(const std::string& name, Level* out);
void set_rank(int rank);
int rank();
// Only rank 0 logs INFO by default, so N ranks do not print N copies; warnings come from all ranks.
void set_all_ranks_info(bool on);
void write(Level level, const char* subsystem, const std::string& message);
bool enabled(Level level);

}  // namespace gensar::log

#define GENSAR_LOG_AT(lvl, subsystem, ...)                                   \
  do {                                                                       \
    if (::gensar::log::enabled(lvl))                                         \
      ::gensar::log::write(lvl, subsystem, ::fmt::format(__VA_ARGS__));      \
  } while (0)
#define GENSAR_DEBUG(subsystem, ...) GENSAR_LOG_AT(::gensar::log::Level::kDebug, subsystem, __VA_ARGS__)
#define GENSAR_INFO(subsystem, ...) GENSAR_LOG_AT(::gensar::log::Level::kInfo, subsystem, __VA_ARGS__)
#define GENSAR_WARN(subsystem, ...) GENSAR_LOG_AT(::gensar::log::Level::kWarn, subsystem, __VA_ARGS__)
#define GENSAR_ERROR(subsystem, ...) GENSAR_LOG_AT(::gensar::log::Level::kError, subsystem, __VA_ARGS__)
