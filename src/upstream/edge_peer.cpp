// Edge::serve_content: the body of one content key for another node of the cluster (the peer
// route of src/cluster/), from the running fill or the cache. Ranges as for resolve.
#include <unistd.h>

#include "http/range.hpp"
#include "upstream/edge.hpp"

namespace hubgate::upstream {

http::Response Edge::serve_content(const ContentKey& key, const http::Request& req) {
  std::shared_ptr<Fill> fill = fills_->find(key);
  std::optional<BlobHandle> cached;
  std::uint64_t size = 0;
  if (fill) size = fill->size();
  else if ((cached = cache_->open(key))) size = cached->size();
  else return error_response(404, "EntryNotFound", "no fill of " + key.str() + " on this node");
  auto sel = http::select_range(req.headers.get("Range"), size);
  if (!sel) return error_response(400, "", sel.error().message);
  http::Response res;
  res.status = sel->status;
  if (sel->content_range) res.headers.set("Content-Range", *sel->content_range);
  res.headers.set("Content-Type", "application/octet-stream");
  res.headers.set("Accept-Ranges", "bytes");
  if (sel->status == 416 || size == 0 || req.method == "HEAD") {
    res.body = std::string();
    return res;
  }
  if (fill) {
    res.body = make_fill_producer(fill, sel->first, sel->length, &metrics_);
    res.producer_length = sel->length;
    return res;
  }
  int fd = ::dup(cached->fd());
  if (fd < 0) return error_response(500, "", "dup of a cached file failed");
  auto pin = std::make_shared<BlobHandle>(std::move(*cached));  // no eviction while it is served
  std::shared_ptr<http::FileHandle> fh(new http::FileHandle(fd), [pin](http::FileHandle* p) { delete p; });
  res.body = http::FileBody{fh, sel->first, sel->length};
  return res;
}

}  // namespace hubgate::upstream
