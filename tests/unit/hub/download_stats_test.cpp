// The Hub's download-count rule: default query files, library queries, diffusers, GGUF.
#include <gtest/gtest.h>

#include "hub/download_stats.hpp"

using namespace hubgate::hub;

TEST(DownloadQuery, TermsAndOperators) {
  EXPECT_TRUE(query_matches(R"(path:"config.json")", "config.json"));
  EXPECT_FALSE(query_matches(R"(path:"config.json")", "sub/config.json"));
  EXPECT_TRUE(query_matches(R"(path_extension:"pt")", "ckpt/model.pt"));
  EXPECT_TRUE(query_matches(R"(path_extension:".pth")", "w.pth"));  // a leading dot is tolerated
  EXPECT_FALSE(query_matches(R"(path_extension:"pt")", "model.pth"));
  EXPECT_TRUE(query_matches(R"(path_filename:"config" AND path_extension:"json")", "a/config.json"));
  EXPECT_FALSE(query_matches(R"(path_filename:"config" AND path_extension:"json")", "a/config.yaml"));
  EXPECT_TRUE(query_matches(R"(path_extension:"pt" AND path_prefix:"checkpoints/")", "checkpoints/x.pt"));
  EXPECT_FALSE(query_matches(R"(path_extension:"pt" AND path_prefix:"checkpoints/")", "x.pt"));
  EXPECT_TRUE(query_matches(R"(path_filename:"model" AND path_extension:"mil" AND _exists_:"path_prefix")", "a/model.mil"));
  EXPECT_FALSE(query_matches(R"(path_filename:"model" AND path_extension:"mil" AND _exists_:"path_prefix")", "model.mil"));
  EXPECT_TRUE(query_matches(R"(path_extension:"gguf" OR (path_filename:"config" AND path_extension:"json"))", "config.json"));
  EXPECT_TRUE(query_matches(R"(path:"a" OR path:"b" AND path_extension:"x")", "a"));  // AND binds tighter
  EXPECT_FALSE(query_matches(R"(path:"a)", "a"));       // malformed: never matches
  EXPECT_FALSE(query_matches(R"(unknown:"a")", "a"));
}

TEST(DownloadQuery, ModelQueryFiles) {
  for (const char* f : {"config.json", "config.yaml", "hyperparams.yaml", "params.json", "meta.yaml"})
    EXPECT_TRUE(model_query_file("", f)) << f;
  EXPECT_FALSE(model_query_file("", "model.safetensors"));
  EXPECT_FALSE(model_query_file("transformers", "sub/config.json"));
  EXPECT_TRUE(model_query_file("transformers", "config.json"));  // no own rule: the defaults
  EXPECT_TRUE(model_query_file("timm", "model.safetensors"));    // timm's own rule replaces them
  EXPECT_FALSE(model_query_file("timm", "config.json"));
  EXPECT_TRUE(model_query_file("nemo", "x.nemo"));
  EXPECT_TRUE(model_query_file("diffusers", "model_index.json"));
  EXPECT_TRUE(model_query_file("diffusers", "lora.safetensors"));
  EXPECT_FALSE(model_query_file("diffusers", "unet/diffusion_pytorch_model.safetensors"));
  EXPECT_TRUE(model_query_file("timm", "q/model-q4_k_m.gguf"));  // GGUF always
}
