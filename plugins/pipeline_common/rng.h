// A deterministic random source: std::mt19937_64 (whose output sequence the
// C++ standard fixes) with every distribution written out here, because the
// standard library's distributions differ between implementations. Only raw
// engine output, integer arithmetic, + - * / and std::exp are used, so a seed
// gives the same numbers with any standard library on the same platform.
#ifndef KILN_PLUGINS_PIPELINE_COMMON_RNG_H_
#define KILN_PLUGINS_PIPELINE_COMMON_RNG_H_

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>

namespace kiln::pipeline {

class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }
  // Uniform in [0, 1), 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double Between(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [0, n), unbiased (rejection sampling); n > 0.
  uint64_t Below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = Next();
    while (x >= limit);
    return x % n;
  }
  bool Chance(double p) { return Uniform() < p; }
  // Approximately standard normal: Irwin-Hall, the sum of 12 uniforms minus 6
  // (mean 0, variance 1, bounded by +-6).
  double Normalish() {
    double s = 0;
    for (int i = 0; i < 12; ++i) s += Uniform();
    return s - 6.0;
  }
  // Poisson(lambda): Knuth's product of uniforms; lambda <= 60 keeps
  // exp(-lambda) far from underflow. Larger lambdas use a rounded normal.
  int Poisson(double lambda) {
    if (lambda <= 0) return 0;
    if (lambda > 60) {
      const double x = lambda + std::sqrt(lambda) * Normalish();
      return x < 0 ? 0 : static_cast<int>(x + 0.5);
    }
    const double limit = std::exp(-lambda);
    int k = 0;
    double p = Uniform();
    while (p > limit) {
      ++k;
      p *= Uniform();
    }
    return k;
  }
  // Binomial(n, p) as n Bernoulli trials.
  int Binomial(int n, double p) {
    int k = 0;
    for (int i = 0; i < n; ++i) k += Chance(p) ? 1 : 0;
    return k;
  }

 private:
  std::mt19937_64 engine_;
};

// FNV-1a, to fold a text (a partition date) into a seed.
inline uint64_t Fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace kiln::pipeline

#endif  // KILN_PLUGINS_PIPELINE_COMMON_RNG_H_
