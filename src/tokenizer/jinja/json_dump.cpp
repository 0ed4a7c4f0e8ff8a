#include "tokenizer/jinja/json_dump.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "tokenizer/utf8.h"

namespace kvtier::tokenizer::jinja {
namespace {

class Dumper {
 public:
  explicit Dumper(const JsonDumpOptions& o)
      : o_(o), item_sep_(o.item_separator.value_or(o.indent ? "," : ", ")) {}

  void dump(const Value& v, int level, std::string& out) const {
    using K = Value::Kind;
    switch (v.kind()) {
      case K::kNone: out += "null"; return;
      case K::kBool: out += v.as_bool() ? "true" : "false"; return;
      case K::kInt: out += std::to_string(v.as_int()); return;
      case K::kFloat: {
        const double x = v.as_double();
        if (std::isnan(x)) out += "NaN";
        else if (std::isinf(x)) out += x < 0 ? "-Infinity" : "Infinity";
        else out += float_repr(x);
        return;
      }
      case K::kString: quote(v.as_string(), out); return;
      case K::kList: {
        const auto& items = v.as_list();
        if (items.empty()) {
          out += "[]";
          return;
        }
        out += '[';
        for (size_t i = 0; i < items.size(); ++i) {
          if (i > 0) out += item_sep_;
          newline(level + 1, out);
          dump(items[i], level + 1, out);
        }
        newline(level, out);
        out += ']';
        return;
      }
      case K::kDict: {
        std::vector<const std::pair<std::string, Value>*> entries;
        for (const auto& e : v.as_dict().entries()) entries.push_back(&e);
        if (entries.empty()) {
          out += "{}";
          return;
        }
        if (o_.sort_keys) {
          std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
        }
        out += '{';
        for (size_t i = 0; i < entries.size(); ++i) {
          if (i > 0) out += item_sep_;
          newline(level + 1, out);
          quote(entries[i]->first, out);
          out += o_.key_separator;
          dump(entries[i]->second, level + 1, out);
        }
        newline(level, out);
        out += '}';
        return;
      }
      default:
        throw TemplateError(fmt::format("Object of type {} is not JSON serializable", v.type_name()));
    }
  }

 private:
  void newline(int level, std::string& out) const {
    if (!o_.indent) return;
    out += '\n';
    for (int i = 0; i < level; ++i) out += *o_.indent;
  }

  void quote(std::string_view s, std::string& out) const {
    out += '"';
    size_t i = 0;
    while (i < s.size()) {
      const char32_t cp = next_code_point(s, i);
      switch (cp) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (cp < 0x20) {
            out += fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
          } else if (o_.ensure_ascii && cp > 0x7E) {
            if (cp >= 0x10000) {
              const char32_t v = cp - 0x10000;
              out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            } else {
              out += fmt::format("\\u{:04x}", static_cast<uint32_t>(cp));
            }
          } else {
            append_utf8(out, cp);
          }
      }
    }
    out += '"';
  }

  const JsonDumpOptions& o_;
  std::string item_sep_;
};

}  // namespace

std::string json_dumps(const Value& v, const JsonDumpOptions& options) {
  std::string out;
  Dumper(options).dump(v, 0, out);
  return out;
}

}  // namespace kvtier::tokenizer::jinja
