// FillProducer: a response body that streams a byte range of a running fill (edge.hpp,
// make_fill_producer). Each pull delivers the next bytes as soon as the fill has them, as a
// slice of the fill's file (sendfile, no copy), waiting through a fill subscription, never by
// blocking a server thread. A failed fill ends the body with an error chunk; a security block
// carries the line that names it.
#include <unistd.h>

#include <mutex>

#include "upstream/body_chunks.hpp"
#include "upstream/edge.hpp"

namespace hubgate::upstream {

namespace {

// The line a chunked body ends with when the security gate blocked its file after the head went
// out (the bytes of the error chunk: the server writes them where the next chunk size belongs):
// the error code and the reason, header-safe, without the ';' that would start a chunk
// extension.
std::string blocked_line(const std::string& message) {
  // Starts with a character that is no hex digit, so parsers refuse it at its first byte (Node's
  // undici keeps the refused bytes, from there, in its error's `data`).
  std::string line = "hubgate: BlockedBySecurityPolicy: " + message;
  for (char& ch : line) {
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) >= 0x7f) ch = ' ';
    if (ch == ';') ch = ',';
  }
  if (line.size() > 1000) line.resize(1000);
  return line;
}

class FillProducer final : public http::BodyProducer, public std::enable_shared_from_this<FillProducer> {
 public:
  FillProducer(std::shared_ptr<Fill> fill, std::uint64_t first, std::uint64_t length, Metrics* m)
      : fill_(std::move(fill)), pos_(first), end_(first + length), metrics_(m) {}

  void pull(std::function<void(http::Chunk)> deliver) override {
    if (!fill_) {
      deliver(end_chunk());
      return;
    }
    if (ready()) {
      deliver(next());
      return;
    }
    // Wait without blocking: the fill thread calls back on progress. The waiter's mutex is held
    // across subscribe() so the callback cannot run before the subscription id is stored.
    auto w = std::make_shared<Waiter>();
    w->deliver = std::move(deliver);
    auto self = shared_from_this();
    std::unique_lock lock(w->mu);
    w->id = fill_->subscribe([self, w] { self->on_progress(w); });
    lock.unlock();
    on_progress(w);  // progress between ready() and subscribe() must not be missed
  }

 private:
  struct Waiter {
    std::mutex mu;
    bool done = false;
    Fill::SubscriptionId id = 0;
    std::function<void(http::Chunk)> deliver;
  };

  bool ready() const {
    if (pos_ >= end_) return true;
    auto st = fill_->status();
    return st.state != FillState::running || st.available > pos_;
  }

  void on_progress(const std::shared_ptr<Waiter>& w) {
    std::function<void(http::Chunk)> deliver;
    {
      std::lock_guard lock(w->mu);
      if (w->done || !ready()) return;
      w->done = true;
      deliver = std::move(w->deliver);
    }
    fill_->unsubscribe(w->id);
    deliver(next());
  }

  // The next slice of the fill's file that is available (sent with sendfile, no copy here).
  http::Chunk next() {
    if (pos_ >= end_) return end_chunk();
    auto st = fill_->status();
    if (st.state == FillState::failed) {
      http::Chunk c = error_chunk(st.error ? *st.error : Error(Errc::unavailable, "fill failed"));
      if (c.error->code == Errc::permission_denied) c.data = blocked_line(c.error->message);
      return c;
    }
    std::uint64_t n = std::min<std::uint64_t>({end_ - pos_, st.available > pos_ ? st.available - pos_ : 0, kMaxSlice});
    if (!file_) {
      int fd = ::dup(fill_->read_fd());
      if (fd < 0) return error_chunk(os_error("dup", "fill " + fill_->key().str(), errno));
      file_ = std::make_shared<http::FileHandle>(fd);
    }
    http::Chunk c;
    c.file = http::FileBody{file_, pos_, n};
    pos_ += n;
    c.end = pos_ >= end_;
    return c;
  }

  static constexpr std::uint64_t kMaxSlice = 16u << 20;
  std::shared_ptr<Fill> fill_;
  std::shared_ptr<http::FileHandle> file_;  // dup of the fill's read descriptor
  std::uint64_t pos_, end_;
  Metrics* metrics_;
};

}  // namespace

std::shared_ptr<http::BodyProducer> make_fill_producer(std::shared_ptr<Fill> fill, std::uint64_t first,
                                                       std::uint64_t length, Metrics* metrics) {
  return std::make_shared<FillProducer>(std::move(fill), first, length, metrics);
}

}  // namespace hubgate::upstream
