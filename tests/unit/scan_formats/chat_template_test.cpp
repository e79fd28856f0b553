#include <gtest/gtest.h>

#include "helpers.hpp"

namespace hubgate::scan {
namespace {

using namespace test;

Report tmpl(std::string_view t) {
  std::string s(t);
  return run([s](Context& ctx, ByteView) { check_chat_template(ctx, s, "chat_template"); }, "");
}

TEST(ChatTemplate, RealTemplatesAreClean) {
  // Shapes from Llama 3, ChatML, Mistral and Gemma templates.
  const char* ok[] = {
      "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
      "message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
      "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
      "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
      "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
      "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
      "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
      "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}",
      "{% set ns = namespace(system='') %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.system = m.content %}"
      "{% endif %}{% endfor %}{{ ns.system }}{{ tools | tojson }}{{ positions.x }}",
  };
  for (const char* t : ok) {
    auto r = tmpl(t);
    EXPECT_TRUE(r.findings.empty()) << t << "\n" << dump(r);
  }
}

TEST(ChatTemplate, InjectionPayloadsAreDangerous) {
  const char* bad[] = {
      "{{ self.__init__.__globals__.__builtins__.__import__('os').popen('id').read() }}",  // CVE-2024-34359
      "{{ ''.__class__.__mro__[1].__subclasses__() }}",
      "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
      "{{ x['__weakref__'] }}",
      "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
      "{% for c in [].__class__.__base__.__subclasses__() %}{% endfor %}",
      "{{ joiner.__init__ }}",
      "{{ os.system('id') }}",
  };
  for (const char* t : bad) {
    auto r = tmpl(t);
    ASSERT_TRUE(has(r, "template.injection")) << t << "\n" << dump(r);
    EXPECT_EQ(r.verdict(), Severity::dangerous) << t;
  }
}

TEST(ChatTemplate, SstiEntryPointsAreSuspicious) {
  EXPECT_TRUE(has(tmpl("{{ lipsum.x }}"), "template.suspicious"));
  EXPECT_TRUE(has(tmpl("{{ request.application }}"), "template.suspicious"));
  EXPECT_TRUE(has(tmpl("{{ x|attr(name) }}"), "template.suspicious"));
}

}  // namespace
}  // namespace hubgate::scan

namespace hubgate::scan {
namespace {

TEST(TextConfigs, DispatchedByNameThroughScanBytes) {
  std::string cfg = R"({"chat_template": [{"name": "default", "template": "{{ m }}"},
                        {"name": "rag", "template": "{{ lipsum.__globals__ }}"}]})";
  Report r = scan_bytes(as_bytes(cfg), "repo/tokenizer_config.json");
  ASSERT_EQ(test::count(r, "template.injection"), 1) << test::dump(r);
  EXPECT_EQ(test::find(r, "template.injection")->subject, "chat_template.rag");
  EXPECT_TRUE(scan_bytes(as_bytes(std::string(R"({"chat_template": "{{ m }}"})")), "tokenizer_config.json").findings.empty());
  r = scan_bytes(as_bytes(std::string("{{ x.__class__ }}")), "chat_template.jinja");
  EXPECT_TRUE(test::has(r, "template.injection")) << test::dump(r);
  r = scan_bytes(as_bytes(std::string(R"({"weight_map": {"a": "../x.safetensors"}})")), "model.safetensors.index.json");
  EXPECT_TRUE(test::has(r, "safetensors.index-path")) << test::dump(r);
  // Other text is not judged.
  EXPECT_TRUE(scan_bytes(as_bytes(std::string("{{ x.__class__ }}")), "README.md").findings.empty());
}

}  // namespace
}  // namespace hubgate::scan
