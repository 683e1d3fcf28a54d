#include "authmilter/dkim/canonicalize.h"

#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define AUTHMILTER_RELAXED_AVX512 1
#endif

#include "authmilter/util/ascii.h"

namespace authmilter::dkim {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::optional<Canonicalization> parse_one(std::string_view value) {
  if (util::iequals_ascii(value, "simple")) return Canonicalization::kSimple;
  if (util::iequals_ascii(value, "relaxed")) return Canonicalization::kRelaxed;
  return std::nullopt;
}

std::string_view trim_wsp(std::string_view text) {
  while (!text.empty() && (is_wsp(text.front()) || text.front() == '\r' || text.front() == '\n'))
    text.remove_prefix(1);
  while (!text.empty() && (is_wsp(text.back()) || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::optional<CanonicalizationPair> parse_canonicalization(std::string_view value) {
  CanonicalizationPair pair;
  if (value.empty()) return pair;
  const std::size_t slash = value.find('/');
  const auto header = parse_one(value.substr(0, slash));
  if (!header) return std::nullopt;
  pair.header = *header;
  if (slash != std::string_view::npos) {
    const auto body = parse_one(value.substr(slash + 1));
    if (!body) return std::nullopt;
    pair.body = *body;
  }
  return pair;
}

void append_canonical_header(std::string& out, Canonicalization canon, std::string_view name,
                             std::string_view raw_value) {
  if (canon == Canonicalization::kSimple) {
    out.append(name);
    out.push_back(':');
    // Line ends as CRLF: the milter hands folds over with bare LF.
    for (std::size_t i = 0; i < raw_value.size(); ++i) {
      const char c = raw_value[i];
      if (c == '\n' && (i == 0 || raw_value[i - 1] != '\r')) out.push_back('\r');
      out.push_back(c);
    }
    out.append("\r\n");
    return;
  }
  for (char c : trim_wsp(name)) out.push_back(lower(c));
  out.push_back(':');
  bool pending_space = false;
  bool started = false;
  for (char c : raw_value) {
    if (c == '\r' || c == '\n') continue;  // unfold
    if (is_wsp(c)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    started = true;
    out.push_back(c);
  }
  out.append("\r\n");
}

std::vector<const mail::HeaderField*> select_signed_fields(
    std::span<const mail::HeaderField> headers, std::string_view h_tag) {
  std::vector<const mail::HeaderField*> selected;
  std::vector<bool> used(headers.size(), false);
  std::size_t start = 0;
  while (start <= h_tag.size()) {
    std::size_t end = h_tag.find(':', start);
    if (end == std::string_view::npos) end = h_tag.size();
    const std::string_view name = trim_wsp(h_tag.substr(start, end - start));
    start = end + 1;
    if (name.empty()) continue;
    for (std::size_t i = headers.size(); i-- > 0;) {
      if (!used[i] && util::iequals_ascii(trim_wsp(headers[i].name), name)) {
        used[i] = true;
        selected.push_back(&headers[i]);
        break;
      }
    }
  }
  return selected;
}

std::string without_b_value(std::string_view raw_value) {
  std::string out;
  out.reserve(raw_value.size());
  std::size_t start = 0;
  while (start <= raw_value.size()) {
    std::size_t end = raw_value.find(';', start);
    if (end == std::string_view::npos) end = raw_value.size();
    const std::string_view spec = raw_value.substr(start, end - start);
    const std::size_t equals = spec.find('=');
    if (equals != std::string_view::npos && trim_wsp(spec.substr(0, equals)) == "b") {
      out.append(spec.substr(0, equals + 1));
    } else {
      out.append(spec);
    }
    if (end < raw_value.size()) out.push_back(';');
    start = end + 1;
  }
  return out;
}

std::string signed_header_data(std::span<const mail::HeaderField> headers, std::string_view h_tag,
                               Canonicalization canon, const mail::HeaderField& signature) {
  std::string data;
  for (const mail::HeaderField* field : select_signed_fields(headers, h_tag)) {
    append_canonical_header(data, canon, field->name, field->raw_value);
  }
  append_canonical_header(data, canon, signature.name, without_b_value(signature.raw_value));
  data.resize(data.size() - 2);  // the signature field's own CRLF is not signed
  return data;
}

BodyHasher::BodyHasher(Canonicalization canon, const EVP_MD* digest, std::uint64_t limit)
    : canon_(canon), md_(digest), limit_(limit), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || md_ == nullptr || EVP_DigestInit_ex(ctx_.get(), md_, nullptr) != 1) {
    throw std::runtime_error("OpenSSL: cannot set up the body digest");
  }
}

void BodyHasher::out_slow(const char* data, std::size_t size) {
  if (size == 0 || length_ >= limit_) return;
  const std::uint64_t room = limit_ - length_;
  const std::size_t take = room < size ? static_cast<std::size_t>(room) : size;
  length_ += take;
  // Long runs go to the digest where they lie; short pieces (words between WSP runs, held
  // line ends, the one SP) are gathered first: an EVP update costs more than copying them.
  if (take >= kDirectRun) {
    flush_stage();
    EVP_DigestUpdate(ctx_.get(), data, take);
    return;
  }
  if (staged_ + take > stage_.size()) flush_stage();
  std::memcpy(stage_.data() + staged_, data, take);
  staged_ += take;
}

void BodyHasher::flush_stage() {
  if (staged_ == 0) return;
  EVP_DigestUpdate(ctx_.get(), stage_.data(), staged_);
  staged_ = 0;
}

void BodyHasher::out_line_ends(std::size_t count) {
  // Held line ends come from a static block: a million empty lines cost a few updates.
  static constexpr std::string_view kCrlfs =
      "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
      "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
  constexpr std::size_t kPerBlock = kCrlfs.size() / 2;
  while (count > 0 && length_ < limit_) {
    const std::size_t n = count < kPerBlock ? count : kPerBlock;
    out(kCrlfs.data(), 2 * n);
    count -= n;
  }
}

void BodyHasher::flush_run(const char* data, std::size_t cur) {
  out(data + run_begin_, confirmed_ - run_begin_);
  held_line_ends_ += (cur - confirmed_) / 2;
  run_begin_ = confirmed_ = cur;
}

void BodyHasher::update(std::string_view chunk) {
  if (finished_ || chunk.empty() || length_ >= limit_) return;
  const char* data = chunk.data();
  const std::size_t size = chunk.size();
  std::size_t pos = 0;
  if (pending_cr_) {
    pending_cr_ = false;
    if (data[0] == '\n') {
      pending_wsp_ = false;  // WSP before a line end is dropped
      ++held_line_ends_;
      pos = 1;
    } else {
      release_held();
      out("\r", 1);  // a bare CR is line content
      any_content_ = true;
    }
  }
  if (pending_wsp_) {
    // WSP continuing the last chunk's run belongs to the one SP already owed.
    while (pos < size && is_wsp(data[pos])) ++pos;
  }
  run_begin_ = confirmed_ = pos;
  if (canon_ == Canonicalization::kSimple) {
    update_simple(data, size, pos);
  } else {
    update_relaxed(data, size, pos);
  }
}

namespace {

// Whether [pos, size) has an LF not preceded by a CR in the chunk (an LF at `pos` counts:
// the caller has already taken the LF of a CR from the last chunk).
bool has_bare_lf(const char* data, std::size_t pos, std::size_t size) {
  if (pos < size && data[pos] == '\n') return true;
  std::size_t at = pos + 1;
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  while (at + 16 <= size) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + at));
    const __m128i before = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + at - 1));
    const __m128i bare = _mm_andnot_si128(_mm_cmpeq_epi8(before, cr), _mm_cmpeq_epi8(v, lf));
    if (_mm_movemask_epi8(bare) != 0) return true;
    at += 16;
  }
#endif
  for (; at < size; ++at) {
    if (data[at] == '\n' && data[at - 1] != '\r') return true;
  }
  return false;
}

}  // namespace

void BodyHasher::update_simple(const char* data, std::size_t size, std::size_t cur) {
  if (cur < size && !has_bare_lf(data, cur, size)) {
    // Lines end in CRLF only: the chunk is its own canonical form but for its trailing line
    // ends (held) and a final CR (the next chunk says whether it ends a line).
    std::size_t end = size;
    if (data[size - 1] == '\r') {
      end = size - 1;
      pending_cr_ = true;
    }
    std::size_t content_end = end;
    while (content_end - cur >= 2 && data[content_end - 2] == '\r' && data[content_end - 1] == '\n')
      content_end -= 2;
    if (content_end > cur) confirm(content_end);
    flush_run(data, end);
    return;
  }
  while (cur < size) {
    const void* found = std::memchr(data + cur, '\n', size - cur);
    if (found == nullptr) {
      std::size_t end = size;
      if (data[size - 1] == '\r') {
        end = size - 1;  // CRLF split by the chunk boundary, or a bare CR: the next chunk says
        pending_cr_ = true;
      }
      if (end > cur) confirm(end);
      cur = end;
      break;
    }
    const std::size_t lf = static_cast<std::size_t>(static_cast<const char*>(found) - data);
    const bool crlf = lf > cur && data[lf - 1] == '\r';
    const std::size_t content_end = crlf ? lf - 1 : lf;
    if (content_end > cur) confirm(content_end);
    if (crlf) {
      cur = lf + 1;  // a tentative CRLF, output as it is if content follows
    } else {
      flush_run(data, lf);  // bare LF: becomes a held CRLF
      ++held_line_ends_;
      cur = run_begin_ = confirmed_ = lf + 1;
    }
  }
  flush_run(data, cur);
}

namespace {

// The next byte relaxed canonicalization must look at: a control byte (CR, LF, HTAB, and
// conservatively the rest), or an SP followed by a byte <= SP or by the end of the chunk.
// Any other byte is output as it is.
std::size_t next_relaxed_special(const char* data, std::size_t pos, std::size_t size) {
#if defined(__SSE2__)
  const __m128i k1f = _mm_set1_epi8(0x1f);
  const __m128i k20 = _mm_set1_epi8(0x20);
  while (pos + 17 <= size) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + pos));
    const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + pos + 1));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, k1f), v);
    const __m128i space = _mm_cmpeq_epi8(v, k20);
    const __m128i next_low = _mm_cmpeq_epi8(_mm_min_epu8(next, k20), next);
    const int mask = _mm_movemask_epi8(_mm_or_si128(control, _mm_and_si128(space, next_low)));
    if (mask != 0)
      return pos + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    pos += 16;
  }
#endif
  for (; pos < size; ++pos) {
    const auto c = static_cast<unsigned char>(data[pos]);
    if (c < 0x20) return pos;
    if (c == 0x20 && (pos + 1 == size || static_cast<unsigned char>(data[pos + 1]) <= 0x20)) {
      return pos;
    }
  }
  return size;
}

#if defined(AUTHMILTER_RELAXED_AVX512)
// Relaxed canonicalization of 64-byte blocks by compaction (AVX-512 BW + VBMI2 vpcompressb),
// for blocks of ordinary text: bytes >= SP, HTAB, and CR LF pairs. A byte is kept if it is
// content (> SP), part of a CRLF, or the last WSP of a run that content follows (as SP); the
// byte after the block is looked at so a WSP run's fate is always known and nothing is owed
// between blocks. Line ends after the block's last kept content are not output but counted as
// held (they are dropped if the body ends there). Anything else (bare CR or LF, other control
// bytes, a CR at the end of the chunk) stops it and the scalar loop takes the block.
enum class FastStop { kBlock, kStageFull, kManyHeld };

struct RelaxedSink {
  char* stage;
  std::size_t& staged;
  std::size_t capacity;
  std::uint64_t& held;
  std::uint64_t& length;
  bool& any_content;
};

// Held line ends written inline before a block; more go through out_line_ends().
constexpr std::uint64_t kInlineHeld = 32;

__attribute__((target("avx512f,avx512bw,avx512vbmi2,popcnt,lzcnt,bmi,bmi2"))) FastStop
relaxed_blocks_avx512(const char* data, std::size_t& pos, std::size_t size, RelaxedSink sink) {
  static constexpr char kCrlfs[2 * kInlineHeld + 1] =
      "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
      "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
  const __m512i sp = _mm512_set1_epi8(' ');
  const __m512i tab = _mm512_set1_epi8('\t');
  const __m512i cr = _mm512_set1_epi8('\r');
  const __m512i lf = _mm512_set1_epi8('\n');
  while (size - pos >= 65) {
    const __m512i v = _mm512_loadu_si512(data + pos);
    const __m512i next = _mm512_loadu_si512(data + pos + 1);
    const __mmask64 is_cr = _mm512_cmpeq_epi8_mask(v, cr);
    const __mmask64 is_lf = _mm512_cmpeq_epi8_mask(v, lf);
    const __mmask64 is_tab = _mm512_cmpeq_epi8_mask(v, tab);
    const __mmask64 is_wsp = _mm512_cmpeq_epi8_mask(v, sp) | is_tab;
    const __mmask64 control = _mm512_cmplt_epu8_mask(v, sp);
    if ((control & ~(is_cr | is_lf | is_tab)) != 0) return FastStop::kBlock;
    // Every LF follows a CR in the block, every CR is followed by an LF (the last one by the
    // byte after the block, which is then skipped with it).
    if (is_lf != (is_cr << 1)) return FastStop::kBlock;
    const std::size_t advance = 64 + (is_cr >> 63);
    if ((is_cr >> 63) != 0 && data[pos + 64] != '\n') return FastStop::kBlock;
    // A WSP run reaching the block's end is dropped unless content follows; the byte after
    // must then be content, WSP, an LF, or a CR of a CRLF (a bare CR or a control byte would
    // be content: the scalar loop decides).
    if ((is_wsp >> 63) != 0) {
      const auto after = static_cast<unsigned char>(data[pos + 64]);
      if (after < 0x20 && after != '\t' && after != '\n' &&
          (after != '\r' || size - pos < 66 || data[pos + 65] != '\n'))
        return FastStop::kBlock;
    }
    const __mmask64 content = _mm512_cmpgt_epu8_mask(v, sp);
    const __mmask64 content_next = _mm512_cmpgt_epu8_mask(next, sp);
    const __mmask64 items = content | (is_wsp & content_next);
    if (items == 0) {  // only WSP and line ends: all of them held or dropped
      sink.held += static_cast<std::uint64_t>(__builtin_popcountll(is_cr));
      pos += advance;
      continue;
    }
    if (sink.held > kInlineHeld) return FastStop::kManyHeld;
    if (sink.staged + 2 * sink.held + 64 > sink.capacity) return FastStop::kStageFull;
    if (sink.held != 0) {
      const std::size_t bytes = static_cast<std::size_t>(2 * sink.held);
      std::memcpy(sink.stage + sink.staged, kCrlfs, bytes);
      sink.staged += bytes;
      sink.length += bytes;
    }
    const int last_item = 63 - __builtin_clzll(items);
    const __mmask64 through_last =
        last_item == 63 ? ~__mmask64{0} : (__mmask64{2} << last_item) - 1;
    const __mmask64 keep = (items | is_cr | is_lf) & through_last;
    const __m512i canonical = _mm512_mask_mov_epi8(v, is_tab, sp);
    // Compress in a register and store all 64 bytes: a masked compress-store to memory is
    // slow on some CPUs; the stage has room for the whole vector.
    _mm512_storeu_si512(sink.stage + sink.staged, _mm512_maskz_compress_epi8(keep, canonical));
    const auto kept = static_cast<std::size_t>(__builtin_popcountll(keep));
    sink.staged += kept;
    sink.length += kept;
    sink.any_content = true;
    sink.held = static_cast<std::uint64_t>(__builtin_popcountll(is_cr & ~through_last));
    pos += advance;
  }
  return FastStop::kBlock;
}

bool cpu_has_relaxed_avx512() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi2") && __builtin_cpu_supports("popcnt") &&
           __builtin_cpu_supports("bmi2");
  }();
  return has;
}
#endif

// Without the compaction the scalar loop keeps its long runs whole (hashed where they lie).
bool relaxed_blocks_available() {
#if defined(AUTHMILTER_RELAXED_AVX512)
  return cpu_has_relaxed_avx512();
#else
  return false;
#endif
}

}  // namespace

std::size_t BodyHasher::update_relaxed_blocks(const char* data, std::size_t size, std::size_t pos) {
#if defined(AUTHMILTER_RELAXED_AVX512)
  for (;;) {
    const FastStop stop = relaxed_blocks_avx512(
        data, pos, size,
        RelaxedSink{stage_.data(), staged_, stage_.size(), held_line_ends_, length_, any_content_});
    if (stop == FastStop::kStageFull) {
      flush_stage();
    } else if (stop == FastStop::kManyHeld) {
      // The next block has content: the held line ends are real.
      out_line_ends(static_cast<std::size_t>(held_line_ends_));
      held_line_ends_ = 0;
    } else {
      return pos;
    }
  }
#else
  (void)data;
  (void)size;
  return pos;
#endif
}

void BodyHasher::update_relaxed(const char* data, std::size_t size, std::size_t cur) {
  // Where the block compaction is tried next: after it stopped on a block, the scalar loop
  // goes past that block first.
  std::size_t try_blocks_at = relaxed_blocks_available() ? cur : size;
  while (cur < size) {
    if (cur >= try_blocks_at && !pending_wsp_ && limit_ == kNoLimit && size - cur >= 65) {
      flush_run(data, cur);
      cur = update_relaxed_blocks(data, size, cur);
      run_begin_ = confirmed_ = cur;
      try_blocks_at = cur + 64;
    }
    const std::size_t special = next_relaxed_special(data, cur, size);
    if (special > cur) {
      confirm(special);
      cur = special;
    }
    if (special == size) break;
    const char c = data[special];
    if (c == '\n') {  // bare LF
      flush_run(data, special);
      pending_wsp_ = false;
      ++held_line_ends_;
      cur = run_begin_ = confirmed_ = special + 1;
    } else if (c == '\r') {
      if (special + 1 == size) {
        pending_cr_ = true;  // decided by the next chunk
        break;
      }
      if (data[special + 1] == '\n') {
        pending_wsp_ = false;  // WSP before a line end is dropped
        cur = special + 2;     // tentative CRLF
      } else {
        confirm(special + 1);  // bare CR: content
        cur = special + 1;
      }
    } else if (is_wsp(c)) {
      std::size_t end = special;
      while (end < size && is_wsp(data[end])) ++end;
      const bool content_follows = (end < size) && (static_cast<unsigned char>(data[end]) > 0x20);
      if (c == ' ' && end == special + 1 && content_follows) {
        confirm(end);  // one SP before content: output as it is
        cur = end;
      } else {
        // Owed as one SP if content follows on this line, dropped at a line end.
        flush_run(data, special);
        pending_wsp_ = true;
        cur = run_begin_ = confirmed_ = end;
      }
    } else {
      confirm(special + 1);  // another control byte: content
      cur = special + 1;
    }
  }
  flush_run(data, cur);
}

const std::string& BodyHasher::finish() {
  if (finished_) return digest_;
  if (pending_cr_) {
    pending_cr_ = false;
    release_held();
    out("\r", 1);
    any_content_ = true;
  }
  if (any_content_ || canon_ == Canonicalization::kSimple) {
    out("\r\n", 2);  // the last line's end; RFC 6376 §3.4.3: an empty body is one CRLF
  }
  flush_stage();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &md_len);
  digest_.assign(reinterpret_cast<const char*>(md), md_len);
  finished_ = true;
  return digest_;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (is_wsp(c) || c == '\r' || c == '\n') continue;
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
    clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  const std::size_t first_pad = clean.find('=');
  if (first_pad != std::string::npos &&
      (clean.size() - first_pad > 2 ||
       clean.find_first_not_of('=', first_pad) != std::string::npos))
    return std::nullopt;
  std::string out(clean.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(n);
  const std::size_t pads = first_pad == std::string::npos ? 0 : clean.size() - first_pad;
  size -= pads;  // EVP_DecodeBlock counts padding as zero bytes
  out.resize(size);
  return out;
}

}  // namespace authmilter::dkim
