// Text from outside (a config, a plugin, a parser) made fit for a one-line
// message: every control character shown as '?'. Status messages and config
// errors promise one line each; a quoted "a\nb" would break that.
#ifndef KILN_HOST_BASE_PRINTABLE_H_
#define KILN_HOST_BASE_PRINTABLE_H_

#include <string>
#include <string_view>

namespace kiln {

inline std::string Printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace kiln

#endif  // KILN_HOST_BASE_PRINTABLE_H_
