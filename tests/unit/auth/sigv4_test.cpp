// SigV4 verification against the examples AWS publishes for S3 ("Signature Calculations for the
// Authorization Header" GET Object, and "Authenticating Requests: Using Query Parameters"), plus
// refusals: a changed header, an unsigned x-amz header, clock skew, expiry, a SigV2 header.
#include <gtest/gtest.h>


#include "auth/auth.hpp"
#include "auth/sigv4.hpp"
#include "crypto/sha.hpp"

using namespace hubgate;
using namespace hubgate::auth;

namespace {

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::int64_t k20130524 = 1369353600;  // 2013-05-24T00:00:00Z

http::Request aws_get_object() {
  http::Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.headers.add("Host", "examplebucket.s3.amazonaws.com");
  r.headers.add("Range", "bytes=0-9");
  r.headers.add("x-amz-content-sha256", std::string(kEmptyPayloadSha256));
  r.headers.add("x-amz-date", "20130524T000000Z");
  r.headers.add("Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  return r;
}

http::Request aws_presigned() {
  http::Request r;
  r.method = "GET";
  r.path = "/test.txt";
  r.query =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  r.headers.add("Host", "examplebucket.s3.amazonaws.com");
  return r;
}

}  // namespace

TEST(SigV4, AwsHeaderExampleVerifies) {
  auto req = aws_get_object();
  auto claim = sigv4_claim(req);
  ASSERT_TRUE(claim && *claim);
  EXPECT_EQ((*claim)->access_key, "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ((*claim)->region, "us-east-1");
  auto canonical = sigv4_canonical_request(req, **claim);
  ASSERT_TRUE(canonical);
  EXPECT_EQ(*canonical,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sigv4_verify(req, **claim, kSecret, k20130524 + 60), std::nullopt);
}

TEST(SigV4, AwsPresignedExampleVerifies) {
  auto req = aws_presigned();
  auto claim = sigv4_claim(req);
  ASSERT_TRUE(claim && *claim);
  EXPECT_TRUE((*claim)->presigned);
  EXPECT_EQ((*claim)->expires, 86400);
  EXPECT_EQ(sigv4_verify(req, **claim, kSecret, k20130524 + 3600), std::nullopt);
  auto expired = sigv4_verify(req, **claim, kSecret, k20130524 + 86401);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->code, "AccessDenied");
}

TEST(SigV4, RefusesTamperingSkewAndUnsignedHeaders) {
  auto req = aws_get_object();
  auto claim = **sigv4_claim(req);
  auto wrong_key = sigv4_verify(req, claim, "not-the-secret", k20130524);
  ASSERT_TRUE(wrong_key);
  EXPECT_EQ(wrong_key->code, "SignatureDoesNotMatch");
  EXPECT_EQ(wrong_key->status, 403);

  auto ranged = aws_get_object();
  ranged.headers.set("Range", "bytes=0-10");
  EXPECT_EQ(sigv4_verify(ranged, claim, kSecret, k20130524)->code, "SignatureDoesNotMatch");

  auto extra = aws_get_object();
  extra.headers.add("x-amz-checksum-mode", "ENABLED");
  EXPECT_EQ(sigv4_verify(extra, claim, kSecret, k20130524)->code, "AccessDenied");

  EXPECT_EQ(sigv4_verify(req, claim, kSecret, k20130524 + kSigV4MaxSkewSeconds + 1)->code, "RequestTimeTooSkewed");
  EXPECT_EQ(sigv4_verify(req, claim, kSecret, k20130524 - kSigV4MaxSkewSeconds - 1)->code, "RequestTimeTooSkewed");
  EXPECT_EQ(sigv4_verify(req, claim, kSecret, k20130524 + kSigV4MaxSkewSeconds), std::nullopt);
}

TEST(SigV4, ClaimsAndMalformedHeaders) {
  http::Request anon;
  anon.method = "GET";
  anon.path = "/models/a/b/main/x";
  auto none = sigv4_claim(anon);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);

  auto v2 = anon;
  v2.headers.add("Authorization", "AWS AKID:c2ln");
  ASSERT_FALSE(sigv4_claim(v2));
  EXPECT_EQ(sigv4_claim(v2).error().status, 400);

  auto bad_scope = aws_get_object();
  bad_scope.headers.set("Authorization",
                        "AWS4-HMAC-SHA256 Credential=AKID/20130524/us-east-1/ec2/aws4_request, "
                        "SignedHeaders=host;x-amz-date, Signature=" + std::string(64, 'a'));
  ASSERT_FALSE(sigv4_claim(bad_scope));
  EXPECT_EQ(sigv4_claim(bad_scope).error().code, "AuthorizationHeaderMalformed");

  auto no_host = aws_get_object();
  no_host.headers.set("Authorization",
                      "AWS4-HMAC-SHA256 Credential=AKID/20130524/auto/s3/aws4_request, "
                      "SignedHeaders=x-amz-date, Signature=" + std::string(64, 'a'));
  EXPECT_FALSE(sigv4_claim(no_host));

  // Another region and spaces after the commas: read as sent.
  auto spaced = aws_get_object();
  spaced.headers.set("Authorization",
                     "AWS4-HMAC-SHA256 Credential=AKID/20130524/auto/s3/aws4_request, "
                     "SignedHeaders=host;x-amz-date, Signature=" + std::string(64, 'a'));
  auto c = sigv4_claim(spaced);
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->region, "auto");
  EXPECT_EQ((*c)->signed_headers, (std::vector<std::string>{"host", "x-amz-date"}));
}

TEST(SigV4, CanonicalPathAndQueryEncoding) {
  http::Request r;
  r.method = "GET";
  r.path = "/models/org/na%6De/main/dir/a%20b+c.txt";
  r.query = "prefix=org%2Fname%2F&list-type=2&delimiter=%2F&encoding-type=url";
  r.headers.add("Host", "127.0.0.1:9000");
  SigV4Claim claim;
  claim.signed_headers = {"host"};
  auto canonical = sigv4_canonical_request(r, claim);
  ASSERT_TRUE(canonical);
  EXPECT_EQ(*canonical,
            "GET\n/models/org/name/main/dir/a%20b%2Bc.txt\n"
            "delimiter=%2F&encoding-type=url&list-type=2&prefix=org%2Fname%2F\nhost:127.0.0.1:9000\n\nhost\n" +
                std::string(kEmptyPayloadSha256));
}
