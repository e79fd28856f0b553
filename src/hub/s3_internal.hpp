// Private to src/hub/: helpers shared by the S3 face's files (s3_face.cpp, s3_list.cpp).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/context.hpp"

namespace hubgate::hub {

// An S3 XML error (docs/spec/s3.md §1.5): `<Error><Code>…` with Message, the extra elements,
// Resource and RequestId; `Content-Type: application/xml`, `x-amz-request-id`. No body on HEAD.
http::Response s3_error(const Ctx& c, int status, std::string_view code, const std::string& message,
                        const std::vector<std::pair<std::string, std::string>>& extra = {});
// A Hub error reply (JSON, X-Error-Code/X-Error-Message) as the S3 error a client expects:
// 401/403 AccessDenied (the gate's reason kept), 404 NoSuchKey, 416 InvalidRange, 400
// InvalidArgument, 503 ServiceUnavailable, other statuses InternalError.
http::Response s3_error_from_hub(const Ctx& c, const http::Response& hub);
// `&`, `<`, `>`, `"`, `'` as XML entities.
std::string xml_escape(std::string_view s);
http::Response s3_xml(const Ctx& c, int status, std::string body);

// ORG/NAME/REST of a decoded key or prefix; false when it has fewer than three parts.
struct S3RepoKey {
  repo::RepoId id;
  std::string org_name;  // "ORG/NAME" as written in the key
  std::string rest;      // after "ORG/NAME/"
};
bool s3_repo_key(std::string_view bucket, std::string_view key, S3RepoKey& out);

// The commit's date as "YYYY-MM-DDTHH:MM:SS.000Z" (hosted: the catalog; pull-through: upstream's
// commit-pinned info, cached by the edge); "" when unknown.
std::string s3_commit_date(Ctx& c, const repo::RepoId& id, const std::string& commit);

// ListObjectsV2 (s3_list.cpp).
http::Response s3_list_objects(Ctx& c, const std::string& bucket);

}  // namespace hubgate::hub
