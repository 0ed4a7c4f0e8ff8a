#include "tokenizer/jinja/lexer.h"

#include <cstdlib>

#include <cstring>

#include <fmt/format.h>

#include "tokenizer/jinja/value.h"
#include "tokenizer/unicode.h"
#include "tokenizer/utf8.h"

namespace kvtier::tokenizer::jinja {
namespace {

std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

bool all_space(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (!is_python_space(next_code_point(s, i))) return false;
  }
  return true;
}

// Length of the whitespace run at the start of s.
size_t space_run(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!is_python_space(next_code_point(s, j))) break;
    i = j;
  }
  return i;
}

std::string rstrip_space(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
    size_t j = start;
    if (!is_python_space(next_code_point(s, j))) break;
    end = start;
  }
  return std::string(s.substr(0, end));
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {}

  std::vector<Segment> run() {
    std::string text;
    while (pos_ < src_.size()) {
      const size_t open = find_open(pos_);
      if (open == std::string::npos) {
        text.append(src_, pos_, std::string::npos);
        advance_to(src_.size());
        break;
      }
      text.append(src_, pos_, open - pos_);
      advance_to(open);
      const char kind = src_[open + 1];  // '{', '%' or '#'
      const int tag_line = line_;
      size_t p = open + 2;
      char left = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) left = src_[p++];
      strip_before(text, kind, left);
      flush_text(text);
      advance_to(p);
      if (kind == '#') {
        lex_comment(tag_line);
      } else {
        lex_tag(kind, tag_line);
      }
    }
    flush_text(text);
    return std::move(segments_);
  }

 private:
  size_t find_open(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string::npos;
  }

  void advance_to(size_t p) {
    for (size_t i = pos_; i < p; ++i) line_ += src_[i] == '\n';
    pos_ = p;
  }

  [[noreturn]] void fail(const std::string& message, int line) const { throw TemplateError(message, line); }

  // `-` strips all whitespace before the tag; otherwise lstrip_blocks removes the indentation
  // before a block or comment tag that starts its line.
  void strip_before(std::string& text, char kind, char modifier) const {
    if (modifier == '-') {
      text = rstrip_space(text);
      return;
    }
    if (kind == '{' || modifier == '+') return;
    const size_t nl = text.rfind('\n');
    const size_t line_start = nl == std::string::npos ? 0 : nl + 1;
    if ((line_start > 0 || line_starting_) && all_space(std::string_view(text).substr(line_start))) {
      text.resize(line_start);
    }
  }

  // After `-` all whitespace is skipped; after a block or comment tag trim_blocks drops one \n.
  void strip_after(char kind, char modifier) {
    if (modifier == '-') {
      const size_t n = space_run(std::string_view(src_).substr(pos_));
      line_starting_ = n > 0 && src_[pos_ + n - 1] == '\n';
      advance_to(pos_ + n);
      return;
    }
    if (kind != '{' && modifier != '+' && pos_ < src_.size() && src_[pos_] == '\n') {
      advance_to(pos_ + 1);
      line_starting_ = true;
      return;
    }
    line_starting_ = false;
  }

  void flush_text(std::string& text) {
    if (!text.empty()) segments_.push_back(Segment{Segment::Kind::kText, std::move(text), {}, line_});
    text.clear();
  }

  void lex_comment(int tag_line) {
    const size_t close = src_.find("#}", pos_);
    if (close == std::string::npos) fail("missing end of comment tag '#}'", tag_line);
    const char modifier = close > pos_ && (src_[close - 1] == '-' || src_[close - 1] == '+') ? src_[close - 1] : 0;
    advance_to(close + 2);
    strip_after('#', modifier);
  }

  void lex_tag(char kind, int tag_line) {
    Segment seg{kind == '{' ? Segment::Kind::kVariable : Segment::Kind::kBlock, "", {}, tag_line};
    const char close_char = kind == '{' ? '}' : '%';
    int depth = 0;
    char modifier = 0;
    for (;;) {
      advance_to(pos_ + space_run(std::string_view(src_).substr(pos_)));
      if (pos_ >= src_.size()) {
        fail(kind == '{' ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'",
             tag_line);
      }
      if (depth == 0) {
        std::string_view rest = std::string_view(src_).substr(pos_);
        const std::string close = std::string(1, close_char) + "}";
        if (rest.substr(0, 2) == close) {
          advance_to(pos_ + 2);
          break;
        }
        if ((rest[0] == '-' || (rest[0] == '+' && kind == '%')) && rest.substr(1, 2) == close) {
          modifier = rest[0];
          advance_to(pos_ + 3);
          break;
        }
      }
      Token t = next_token();
      if (t.type == TokenType::kOperator) {
        if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
        if ((t.text == ")" || t.text == "]" || t.text == "}") && depth > 0) --depth;
      }
      seg.tokens.push_back(std::move(t));
    }
    const bool raw = kind == '%' && seg.tokens.size() == 1 && seg.tokens[0].type == TokenType::kName &&
                     seg.tokens[0].text == "raw";
    if (raw) {
      lex_raw(modifier, tag_line);
      return;
    }
    if (seg.tokens.empty()) fail(kind == '{' ? "empty expression in '{{ }}'" : "empty tag '{% %}'", tag_line);
    segments_.push_back(std::move(seg));
    strip_after(kind, modifier);
  }

  // {% raw %}...{% endraw %}: the content is text, tags and all.
  void lex_raw(char open_modifier, int tag_line) {
    if (open_modifier == '-') strip_after('%', '-');
    size_t search = pos_;
    for (;;) {
      const size_t open = src_.find("{%", search);
      if (open == std::string::npos) fail("missing '{% endraw %}' for '{% raw %}'", tag_line);
      size_t p = open + 2;
      char left = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) left = src_[p++];
      p += space_run(std::string_view(src_).substr(p));
      if (src_.compare(p, 6, "endraw") != 0) {
        search = open + 2;
        continue;
      }
      p += 6;
      p += space_run(std::string_view(src_).substr(p));
      char right = 0;
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) right = src_[p++];
      if (src_.compare(p, 2, "%}") != 0) {
        search = open + 2;
        continue;
      }
      std::string text = src_.substr(pos_, open - pos_);
      advance_to(open);
      strip_before(text, '%', left);
      flush_text(text);
      advance_to(p + 2);
      strip_after('%', right);
      return;
    }
  }

  Token next_token() {
    const char c = src_[pos_];
    Token t{TokenType::kOperator, "", 0, 0.0, line_};
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = pos_ + 1;
      while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
      t.type = TokenType::kName;
      t.text = src_.substr(pos_, e - pos_);
      advance_to(e);
      return t;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number();
    if (c == '\'' || c == '"') return lex_string();
    static const char* kOperators[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[",
                                       "]",  "(",  ")",  "{",  "}",  ">",  "<", "=", ".", ":", "|", ",", ";"};
    for (const char* op : kOperators) {
      const size_t n = std::strlen(op);
      if (src_.compare(pos_, n, op) == 0) {
        t.text = op;
        advance_to(pos_ + n);
        return t;
      }
    }
    size_t i = pos_;
    const char32_t cp = next_code_point(src_, i);
    fail(fmt::format("unexpected character U+{:04X} in a tag", static_cast<uint32_t>(cp)), line_);
  }

  Token lex_number() {
    Token t{TokenType::kInteger, "", 0, 0.0, line_};
    auto digits = [&](size_t p) {  // digits with single underscores between them
      size_t e = p;
      while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) ||
                                 (src_[e] == '_' && e + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e + 1])) && e > p))) {
        ++e;
      }
      return e;
    };
    size_t e = digits(pos_);
    bool is_float = false;
    // A float needs digits after the dot (after an attribute dot, `x.0.1`, Jinja reads integers).
    const bool after_dot = pos_ > 0 && src_[pos_ - 1] == '.';
    if (!after_dot && e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      e = digits(e + 1);
      is_float = true;
    }
    if (!after_dot && e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t p = e + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        e = digits(p);
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = pos_; i < e; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    advance_to(e);
    if (is_float) {
      t.type = TokenType::kFloat;
      // strtod, not stod: a literal beyond a double is inf (and one too small 0.0), as Python's
      // float() makes it, where stod would throw out_of_range out of the parser.
      t.number = std::strtod(text.c_str(), nullptr);
    } else {
      try {
        t.integer = std::stoll(text);
      } catch (const std::out_of_range&) {
        fail("integer literal " + text + " does not fit in 64 bits", t.line);
      }
    }
    t.text = text;
    return t;
  }

  Token lex_string() {
    Token t{TokenType::kString, "", 0, 0.0, line_};
    const char quote = src_[pos_];
    size_t i = pos_ + 1;
    std::string out;
    for (;;) {
      if (i >= src_.size()) fail("unterminated string literal", t.line);
      const char c = src_[i];
      if (c == quote) {
        ++i;
        break;
      }
      if (c != '\\' || i + 1 >= src_.size()) {
        out += c;
        ++i;
        continue;
      }
      // Python's unicode-escape codec, as Jinja2 decodes string literals.
      const char e = src_[i + 1];
      i += 2;
      auto hex = [&](int n) -> std::optional<char32_t> {
        if (i + n > src_.size()) return std::nullopt;
        char32_t v = 0;
        for (int k = 0; k < n; ++k) {
          const char h = src_[i + k];
          if (!std::isxdigit(static_cast<unsigned char>(h))) return std::nullopt;
          v = v * 16 + static_cast<char32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        i += n;
        return v;
      };
      switch (e) {
        case '\n': break;  // line continuation
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'a': out += '\a'; break;
        case 'x':
        case 'u':
        case 'U': {
          const auto v = hex(e == 'x' ? 2 : e == 'u' ? 4 : 8);
          if (!v || *v > 0x10FFFF || (*v >= 0xD800 && *v <= 0xDFFF)) fail(fmt::format("bad \\{} escape in a string literal", e), line_);
          append_utf8(out, *v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            char32_t v = static_cast<char32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k) v = v * 8 + static_cast<char32_t>(src_[i++] - '0');
            append_utf8(out, v);
          } else {
            out += '\\';  // unknown escapes stay as written
            out += e;
          }
      }
    }
    t.text = std::move(out);
    advance_to(i);
    return t;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;  // the text to come starts a line (lstrip_blocks)
  std::vector<Segment> segments_;
};

}  // namespace

std::vector<Segment> lex_template(std::string_view source) { return Lexer(normalize_newlines(source)).run(); }

}  // namespace kvtier::tokenizer::jinja
