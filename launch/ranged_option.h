// Numeric options with a valid range, for boost::program_options: `ranged<int64_t>(0)` instead of
// `po::value<int64_t>()`. launch/config.cpp checks every ranged value as it is stored, so an out-of-
// range number is rejected naming the flag, or the config file and line it came from. Floating-point
// values must also be finite; unsigned values reject a leading '-' (which lexical_cast would wrap
// around to a huge number).
#pragma once

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace gensar {

// Implemented by ranged values: "" when `value` is acceptable, else why not.
class RangeCheck {
 public:
  virtual ~RangeCheck() = default;
  virtual std::string violation(const boost::any& value) const = 0;
};

template <class T>
class RangedValue : public boost::program_options::typed_value<T>, public RangeCheck {
 public:
  RangedValue(T lo, T hi) : boost::program_options::typed_value<T>(nullptr), lo_(lo), hi_(hi) {}

  void xparse(boost::any& out, const std::vector<std::string>& tokens) const override {
    if constexpr (std::is_unsigned_v<T>) {
      for (const auto& t : tokens)
        if (t.find('-') != std::string::npos)
          throw boost::program_options::invalid_option_value(t);
    }
    boost::program_options::typed_value<T>::xparse(out, tokens);
  }

  std::string violation(const boost::any& value) const override {
    const T* v = boost::any_cast<T>(&value);
    if (!v) return "";
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(*v)) return fmt::format("{} is not a finite number", *v);
    }
    if (*v >= lo_ && *v <= hi_) return "";
    if (hi_ == std::numeric_limits<T>::max()) return fmt::format("{} is below the minimum {}", *v, lo_);
    return fmt::format("{} is outside [{}, {}]", *v, lo_, hi_);
  }

 private:
  T lo_, hi_;
};

template <class T>
RangedValue<T>* ranged(T lo, T hi = std::numeric_limits<T>::max()) {
  return new RangedValue<T>(lo, hi);
}

}  // namespace gensar
