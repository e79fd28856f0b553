#include "cli/object_storage.hpp"

#include <cstdlib>

namespace hubgate::cli {

Result<store::S3Config> s3_config(const S3Settings& in) {
  store::S3Config s;
  HG_TRY_VOID(store::parse_s3_url(in.url, s));
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v ? v : "");
  };
  s.region = !env("AWS_REGION").empty() ? env("AWS_REGION") : !in.region.empty() ? in.region : "us-east-1";
  s.endpoint = !in.endpoint.empty() ? in.endpoint : store::aws_endpoint(s.region);
  if (!s.endpoint.starts_with("http://") && !s.endpoint.starts_with("https://"))
    return fail(Errc::invalid_argument, "--s3-endpoint must be an http(s) URL");
  if (in.addressing == "virtual") s.addressing = store::S3Addressing::virtual_host;
  else if (in.addressing != "path") return fail(Errc::invalid_argument, "--s3-addressing wants path or virtual");
  s.access_key = !env("AWS_ACCESS_KEY_ID").empty() ? env("AWS_ACCESS_KEY_ID") : in.access_key;
  s.secret_key = !env("AWS_SECRET_ACCESS_KEY").empty() ? env("AWS_SECRET_ACCESS_KEY") : in.secret_key;
  s.session_token = env("AWS_SESSION_TOKEN");
  if (s.access_key.empty() || s.secret_key.empty())
    return fail(Errc::invalid_argument, "--store " + in.url + " needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or TOML [store])");
  return s;
}

}  // namespace hubgate::cli
