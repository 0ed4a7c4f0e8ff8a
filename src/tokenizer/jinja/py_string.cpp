#include "tokenizer/jinja/py_string.h"

#include <algorithm>

#include <utf8proc.h>

#include "tokenizer/jinja/value.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer::jinja {
namespace {

char32_t decode(std::string_view ch) {
  size_t i = 0;
  return next_code_point(ch, i);
}

std::string title_char(char32_t cp) {
  std::string out;
  if (cp == 0xDF) return "Ss";
  append_utf8(out, static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(cp))));
  return out;
}

bool in_set(std::string_view ch, const std::optional<std::string>& chars) {
  if (!chars) return is_python_space(decode(ch));
  for (std::string_view c : code_points(*chars)) {
    if (c == ch) return true;
  }
  return false;
}

}  // namespace

std::vector<std::string_view> code_points(std::string_view s) {
  std::vector<std::string_view> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const size_t b = i;
    next_code_point(s, i);
    out.push_back(s.substr(b, i - b));
  }
  return out;
}

size_t py_len(std::string_view s) { return count_code_points(s); }

std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  std::vector<std::string_view> cps = code_points(s);
  size_t b = 0;
  size_t e = cps.size();
  while (left && b < e && in_set(cps[b], chars)) ++b;
  while (right && e > b && in_set(cps[e - 1], chars)) --e;
  std::string out;
  for (size_t i = b; i < e; ++i) out += cps[i];
  return out;
}

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) throw TemplateError("empty separator");
    size_t start = 0;
    for (;;) {
      const size_t at = maxsplit == 0 ? std::string_view::npos : s.find(*sep, start);
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
      if (maxsplit > 0) --maxsplit;
    }
    out.emplace_back(s.substr(start));
    return out;
  }
  std::vector<std::string_view> cps = code_points(s);
  size_t i = 0;
  for (;;) {
    while (i < cps.size() && is_python_space(decode(cps[i]))) ++i;
    if (i >= cps.size()) break;
    if (maxsplit == 0) {
      std::string tail;
      for (size_t k = i; k < cps.size(); ++k) tail += cps[k];
      out.push_back(std::move(tail));
      break;
    }
    std::string word;
    while (i < cps.size() && !is_python_space(decode(cps[i]))) word += cps[i++];
    out.push_back(std::move(word));
    if (maxsplit > 0) --maxsplit;
  }
  return out;
}

std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  if (maxsplit < 0) return py_split(s, sep, maxsplit);
  std::vector<std::string> out;
  if (sep) {
    if (sep->empty()) throw TemplateError("empty separator");
    size_t end = s.size();
    while (maxsplit > 0) {
      const size_t at = end < sep->size() ? std::string_view::npos : s.rfind(*sep, end - sep->size());
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
      --maxsplit;
    }
    out.emplace_back(s.substr(0, end));
    std::reverse(out.begin(), out.end());
    return out;
  }
  std::vector<std::string_view> cps = code_points(s);
  size_t e = cps.size();
  for (;;) {
    while (e > 0 && is_python_space(decode(cps[e - 1]))) --e;
    if (e == 0) break;
    if (maxsplit == 0) {
      std::string head;
      for (size_t k = 0; k < e; ++k) head += cps[k];
      out.push_back(std::move(head));
      break;
    }
    size_t b = e;
    while (b > 0 && !is_python_space(decode(cps[b - 1]))) --b;
    std::string word;
    for (size_t k = b; k < e; ++k) word += cps[k];
    out.push_back(std::move(word));
    e = b;
    --maxsplit;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s, bool keepends) {
  std::vector<std::string> out;
  std::vector<std::string_view> cps = code_points(s);
  std::string line;
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t cp = decode(cps[i]);
    const bool brk = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || (cp >= 0x1C && cp <= 0x1E) ||
                     cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (!brk) {
      line += cps[i];
      continue;
    }
    std::string end(cps[i]);
    if (cp == '\r' && i + 1 < cps.size() && cps[i + 1] == "\n") {
      end += "\n";
      ++i;
    }
    if (keepends) line += end;
    out.push_back(std::move(line));
    line.clear();
  }
  if (!line.empty()) out.push_back(std::move(line));
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view with, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `with` between characters (and at both ends), up to count times.
    std::vector<std::string_view> cps = code_points(s);
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || static_cast<int64_t>(i) < count) out += with;
      if (i < cps.size()) out += cps[i];
    }
    return out;
  }
  size_t start = 0;
  for (;;) {
    if (count == 0) break;
    const size_t at = s.find(old, start);
    if (at == std::string_view::npos) break;
    out.append(s.substr(start, at - start));
    out.append(with);
    start = at + old.size();
    if (count > 0) --count;
  }
  out.append(s.substr(start));
  return out;
}

int64_t py_find(std::string_view s, std::string_view sub, bool reverse) {
  const size_t at = reverse ? s.rfind(sub) : s.find(sub);
  if (at == std::string_view::npos) return -1;
  return static_cast<int64_t>(count_code_points(s.substr(0, at)));
}

int64_t py_count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<int64_t>(count_code_points(s)) + 1;
  int64_t n = 0;
  for (size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
  return n;
}

std::string py_title(std::string_view s) {
  std::string out;
  bool previous_cased = false;
  size_t i = 0;
  while (i < s.size()) {
    const char32_t cp = next_code_point(s, i);
    if (previous_cased) {
      append_utf8(out, lower_char(cp));
    } else {
      out += title_char(cp);
    }
    previous_cased = is_cased(cp);
  }
  return out;
}

std::string py_capitalize(std::string_view s) {
  if (s.empty()) return "";
  size_t i = 0;
  const char32_t first = next_code_point(s, i);
  return title_char(first) + to_lower(s.substr(i));
}

std::string py_swapcase(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const char32_t cp = next_code_point(s, i);
    append_utf8(out, is_upper(cp) ? lower_char(cp) : is_lower(cp) ? upper_char(cp) : cp);
  }
  return out;
}

std::string jinja_title(std::string_view s) {
  auto separator = [](char32_t cp) {
    return cp == '-' || cp == '(' || cp == '{' || cp == '[' || cp == '<' || is_python_space(cp);
  };
  std::string out;
  bool word_start = true;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    const char32_t cp = next_code_point(s, i);
    if (separator(cp)) {
      append_utf8(out, cp);
      word_start = true;
    } else if (word_start) {
      out += to_upper(s.substr(start, i - start));
      word_start = false;
    } else {
      append_utf8(out, lower_char(cp));
    }
  }
  return out;
}

std::string py_pad(std::string_view s, int64_t width, std::string_view fill, char align) {
  const auto len = static_cast<int64_t>(count_code_points(s));
  if (width <= len) return std::string(s);
  const int64_t total = width - len;
  int64_t left = 0;
  if (align == '>') left = total;
  // str.center's split of an odd padding: the extra character goes left when the width is odd.
  if (align == '^') left = total / 2 + (total & width & 1);
  std::string out;
  for (int64_t k = 0; k < left; ++k) out += fill;
  out += s;
  for (int64_t k = 0; k < total - left; ++k) out += fill;
  return out;
}

std::string py_zfill(std::string_view s, int64_t width) {
  const auto len = static_cast<int64_t>(count_code_points(s));
  if (width <= len) return std::string(s);
  std::string out;
  size_t start = 0;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    out += s[0];
    start = 1;
  }
  out += std::string(static_cast<size_t>(width - len), '0');
  out += s.substr(start);
  return out;
}

}  // namespace kvtier::tokenizer::jinja
