#include "host/config/table_reader.h"

#include <algorithm>

#include <fmt/format.h>

#include "host/base/suggest.h"
#include "host/calendar/duration.h"

namespace kiln {

std::string OrList(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += (i + 1 == words.size()) ? " or " : ", ";
    out += words[i];
  }
  return out;
}

TableReader::TableReader(const TomlNode& table, std::string_view where,
                         const std::vector<std::string>& known, Diagnostics* diag)
    : table_(table), diag_(diag) {
  for (const TomlEntry& e : table_.entries) {
    if (std::find(known.begin(), known.end(), e.key) != known.end()) continue;
    std::string msg = fmt::format("unknown key '{}' {}", e.key, where);
    if (auto s = Suggest(e.key, known)) msg += fmt::format(" (did you mean '{}'?)", *s);
    diag_->AtKey(e, std::move(msg));
  }
}

const TomlEntry* TableReader::Find(std::string_view key) const {
  for (const TomlEntry& e : table_.entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

bool TableReader::Expect(std::string_view key, const TomlNode& node, TomlNode::Kind kind) const {
  if (node.kind == kind) return true;
  diag_->At(node, fmt::format("{}: expected {}, found {}", key, TomlKindName(kind), TomlKindName(node.kind)));
  return false;
}

bool TableReader::String(std::string_view key, std::string* out) const {
  const TomlEntry* e = Find(key);
  if (e == nullptr || !Expect(key, e->value, TomlNode::Kind::kString)) return false;
  *out = e->value.text;
  return true;
}

bool TableReader::Boolean(std::string_view key, bool* out) const {
  const TomlEntry* e = Find(key);
  if (e == nullptr || !Expect(key, e->value, TomlNode::Kind::kBoolean)) return false;
  *out = e->value.boolean;
  return true;
}

bool TableReader::Integer(std::string_view key, int64_t lo, int64_t hi, int* out) const {
  const TomlEntry* e = Find(key);
  if (e == nullptr || !Expect(key, e->value, TomlNode::Kind::kInteger)) return false;
  const int64_t v = e->value.integer;
  if (v < lo || v > hi) {
    diag_->At(e->value, fmt::format("{}: {} is out of range {}..{}", key, v, lo, hi));
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool TableReader::Duration(std::string_view key, std::chrono::milliseconds* out) const {
  const TomlEntry* e = Find(key);
  if (e == nullptr || !Expect(key, e->value, TomlNode::Kind::kString)) return false;
  Status s = ParseDuration(e->value.text, out);
  if (!s.ok()) {
    diag_->At(e->value, fmt::format("{}: {}", key, s.message()));
    return false;
  }
  return true;
}

bool TableReader::Choice(std::string_view key, const std::vector<std::string>& choices, int* index) const {
  const TomlEntry* e = Find(key);
  if (e == nullptr || !Expect(key, e->value, TomlNode::Kind::kString)) return false;
  auto it = std::find(choices.begin(), choices.end(), e->value.text);
  if (it == choices.end()) {
    diag_->At(e->value, fmt::format("{} '{}': expected {}", key, e->value.text, OrList(choices)));
    return false;
  }
  *index = static_cast<int>(it - choices.begin());
  return true;
}

bool TableReader::StringArray(std::string_view key, std::vector<const TomlNode*>* out) const {
  const TomlEntry* e = Find(key);
  if (e == nullptr) return false;
  if (e->value.kind != TomlNode::Kind::kArray) {
    diag_->At(e->value, fmt::format("{}: expected an array of strings, found {}", key, TomlKindName(e->value.kind)));
    return false;
  }
  bool all_good = true;
  out->clear();
  for (const TomlNode& item : e->value.items) {
    if (Expect(key, item, TomlNode::Kind::kString)) out->push_back(&item);
    else all_good = false;
  }
  return all_good;
}

}  // namespace kiln
