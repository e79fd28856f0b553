// The S3 settings shared by `serve --store s3://…` and `store migrate --to-store s3://…`:
// credentials and region from the environment first (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN, AWS_REGION), else from the given (TOML) values; endpoint default AWS's.
#pragma once

#include <string>

#include "store/s3_client.hpp"

namespace hubgate::cli {

struct S3Settings {
  std::string url;                 // s3://BUCKET[/PREFIX]
  std::string endpoint;            // "" = https://s3.REGION.amazonaws.com
  std::string addressing = "path";  // path | virtual
  std::string region, access_key, secret_key;  // fallbacks behind the environment
};

// Errc::invalid_argument for a malformed URL, endpoint or addressing, or missing credentials.
Result<store::S3Config> s3_config(const S3Settings& s);

}  // namespace hubgate::cli
