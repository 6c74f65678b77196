// Errors that carry context. GENSAR_CHECK(cond, "shard {} has {} rows, manifest says {}", ...)
// throws gensar::Error with the formatted message and the source location, so a failure deep in a
// stage surfaces at the top level with what was being processed (file, field, line) attached.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace gensar {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A user-facing input problem (bad file, bad flag): reported without the source location.
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(what) {}
};

namespace detail {
[[noreturn]] void throw_check_failure(const char* cond, const char* file, int line,
                                      const std::string& message);
}  // namespace detail

}  // namespace gensar

#define GENSAR_CHECK(cond, ...)                                                          \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      ::gensar::detail::throw_check_failure(#cond, __FILE__, __LINE__,                   \
                                            ::fmt::format(__VA_ARGS__));                 \
    }                                                                                    \
  } while (0)

// For bad user input: the message must name the file, field and line; no source location.
#define GENSAR_INPUT_CHECK(cond, ...)                                                    \
  do {                                                                                   \
    if (!(cond)) throw ::gensar::InputError(::fmt::format(__VA_ARGS__));                 \
  } while (0)

#define GENSAR_FAIL(...) \
  ::gensar::detail::throw_check_failure("", __FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
